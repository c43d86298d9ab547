"""The adjoint of a max or min over all of an array's axes (`eta.max()`, `np.min(x)`) in float64 code:
`g / np.sum(x == m, dtype=x.dtype) * (x == m)`, one count instead of s2s.grad_extreme's (1, ..., 1) array. Its
value is the helper's at ties (g split evenly), at NaN (no hit: NaN everywhere, as the helper's 0 / 0) and at
infinities; float32 code keeps the helper (its Python float g times a mask is float64 there)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import s2s
from tests.conftest import check_grad


def shifted_log_partition(w, X):
    eta = X @ w
    m = eta.max()
    return np.log(np.sum(np.exp(eta - m))) + m + 0.1 * m * m


def smallest_entry(A):
    return np.min(A * A) * 3.0 + np.sum(A)


R = np.random.default_rng(41)


@pytest.mark.parametrize("f, args", [(shifted_log_partition, (R.normal(size=3), R.normal(size=(9, 3)))),
                                     (smallest_entry, (R.normal(size=(4, 5)) + 0.3,))],
                         ids=["max_of_a_vector", "min_of_a_matrix"])
def test_extreme_over_all_axes_is_one_count(f, args):
    g = s2s.grad(f)
    src = s2s.source(g, *args)
    assert "grad_extreme" not in src and ", dtype=" in src, src
    np.testing.assert_allclose(g(*args), s2s.grad(f, optimize=False)(*args), rtol=1e-13, atol=1e-14)
    check_grad(f, *args)


@pytest.mark.parametrize("A", [np.array([[1.0, 3.0], [3.0, -2.0]]), np.array([[1.0, np.nan], [0.5, 2.0]]),
                               np.array([[1.0, np.inf], [0.5, np.inf]])], ids=["tie", "nan", "inf"])
def test_ties_nan_and_infinities_are_the_helpers(A):
    def f(A):
        return np.max(A) * 2.0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got, general = s2s.grad(f)(A), s2s.grad(f, optimize=False)(A)
    np.testing.assert_array_equal(got, general)


def test_float32_code_keeps_the_helper():
    A = R.normal(size=(3, 3)).astype(np.float32)
    g = s2s.grad(lambda A: np.max(A) * 2.0)
    assert "grad_extreme" in s2s.source(g, A)
    assert g(A).dtype == np.float32
