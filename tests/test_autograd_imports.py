"""Code written for autograd, `import autograd.numpy as np` (and autograd.scipy), is differentiated as the NumPy and
SciPy code it runs: autograd's wrappers, given no autograd box, call NumPy's functions (s2s.frontend.autograd_twin).
Checked against autograd itself and central differences."""

import autograd
import numpy as np
import pytest
from autograd_written import chosen_and_normed, mlp_loss, round_ste, rounded, selected, shapes_and_moments
from conftest import numeric_grad, rng

import s2s
import s2s.rules


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


def test_a_primitive_of_the_user_s_with_autograd_s_vjp_is_not_read_as_the_numpy_function():
    # (adv228: primitive(np.round) read as np.round: its zero gradient, where autograd's defvjp says g)
    x = np.array([0.3, -0.7, 1.2])
    with pytest.raises(s2s.NoDerivativeRuleError, match="does not read the derivative autograd's defvjp") as refused:
        s2s.grad(rounded)(x)
    assert "s2s.defvjp(round_ste," in refused.value.hint
    try:
        s2s.defvjp(round_ste, "x", x="g")  # (the hint, pasted)
        np.testing.assert_allclose(s2s.grad(rounded)(x), autograd.grad(rounded)(x), rtol=1e-12)
    finally:  # (the rule is this test's)
        s2s.rules.restore(round_ste, None)


def test_autograds_where_and_norm_are_numpy_s():  # (adv228: refused as library functions without a rule)
    x = np.array([0.3, -0.7, 1.2, 0.6])
    np.testing.assert_allclose(s2s.grad(chosen_and_normed)(x), autograd.grad(chosen_and_normed)(x), rtol=1e-12)
    np.testing.assert_allclose(s2s.hessian(chosen_and_normed)(x), autograd.hessian(chosen_and_normed)(x),
                               rtol=1e-10, atol=1e-12)
