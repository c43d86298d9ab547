"""Code written for autograd, `import autograd.numpy as np` (and autograd.scipy), is differentiated as the NumPy and
SciPy code it runs: autograd's wrappers, given no autograd box, call NumPy's functions (s2s.frontend.autograd_twin).
Checked against autograd itself and central differences."""

import autograd
import numpy as np
import pytest
from autograd_written import mlp_loss, selected, shapes_and_moments
from conftest import numeric_grad, rng

import s2s


def test_an_autograd_program_gives_autograds_gradient():
    W, X = rng(2200).normal(size=(3, 2)), rng(2201).normal(size=(5, 3))
    t = np.eye(3)[[0, 1, 2, 1, 0]]
    got = s2s.grad(mlp_loss)(W, X, t)
    np.testing.assert_allclose(got, autograd.grad(mlp_loss)(W, X, t), rtol=1e-10)
    np.testing.assert_allclose(got, numeric_grad(mlp_loss, [W, X, t]), rtol=1e-6, atol=1e-8)


def test_autograds_own_array_and_stacking_functions():
    w = rng(2202).normal(size=3)
    got = s2s.grad(shapes_and_moments)(w)
    np.testing.assert_allclose(got, autograd.grad(shapes_and_moments)(w), rtol=1e-10)
    np.testing.assert_allclose(s2s.hessian(shapes_and_moments)(w), autograd.hessian(shapes_and_moments)(w),
                               rtol=1e-8, atol=1e-10)


def test_an_autograd_function_that_does_otherwise_stays_refused():
    # (autograd.numpy.select builds its result from a list of Python numbers: not NumPy's select, no rule)
    with pytest.raises(s2s.S2SError, match="select"):
        s2s.grad(selected)(np.array([0.3, -0.2]))
