"""np.cumprod's adjoint where a running product or a tail sum leaves the float range while the adjoint does not
(helper 146): x = [1e-160, 1e-160, 1e160, 1e160] gave [inf, inf, ...] (the loop's tail sum overflowed where its
product with the tiny product before is 1e160) and a subnormal product before an entry kept 13 bits. Against
the exact derivative in rationals."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest

import s2s


def total(x):
    return np.sum(np.cumprod(x))


def weighted_columns(x, w):
    return np.sum(np.cumprod(x, axis=0) * w)


def _exact(x, w):
    """d/dx_j of sum_i w_i prod_{k <= i} x_k, in rationals, rounded once."""
    X, W = [Fraction(float(v)) for v in x], [Fraction(float(v)) for v in w]
    out = []
    for j in range(len(X)):
        s = Fraction(0)
        for i in range(j, len(X)):
            p = W[i]
            for k in range(i + 1):
                if k != j:
                    p *= X[k]
            s += p
        try:
            out.append(float(s))
        except OverflowError:  # (beyond the float range: the adjoint is inf)
            out.append(np.inf if s > 0 else -np.inf)
    return np.array(out)


def last_product(x):
    return np.cumprod(x)[-1]


@pytest.mark.parametrize("x", [[1e-160, 1e-160, 1e160, 1e160], [1e-200, 1e-200, 1e200, 1e200],
                               [1e-160, 0.0, 1e160, 1e160], [3.0, 1e-170, 1e-160, 1e165, 2.0],
                               # (helper 147: a zero before an overflowing tail; products of mixed range)
                               [3.0, 0.0, 1e200, 1e200], [1e160, 1e160, 1e-160, 1e-160], [2.0, 3.0, 1e-320, 1e300]])
def test_the_adjoint_keeps_its_range(x):
    x = np.array(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (an adjoint of inf overflows: NumPy's warning)
        got = s2s.grad(total)(x)
    np.testing.assert_allclose(got, _exact(x, np.ones_like(x)), rtol=1e-13, atol=0)


def test_along_an_axis_and_with_weights():
    x = np.array([[1e-160, 2.0], [1e-160, 0.5], [1e160, 3.0], [1e160, 0.0]])
    w = np.array([[1.0, 2.0], [-1.0, 1.0], [0.5, 1.0], [2.0, 1.0]])
    got = s2s.grad(weighted_columns)(x, w)
    for c in range(2):
        np.testing.assert_allclose(got[:, c], _exact(x[:, c], w[:, c]), rtol=1e-13, atol=0)


def test_a_tail_rounded_to_zero_on_the_way():
    # (helper 147: the tail sum 1e-400 underflowed, the adjoint of x[1] is 1e-200)
    x = np.array([1e200, 1e-200, 1e-200, 1e-200])
    np.testing.assert_allclose(s2s.grad(last_product)(x), [0.0, 1e-200, 1e-200, 1e-200], rtol=1e-13, atol=0)


@pytest.mark.parametrize("x", [[3.0, 0.0, 1e200, 1e200], [1e-160, 1e-160, 1e160, 1e160]])
def test_compiled_code_leaves_a_range_lost_to_the_numpy_code(x):
    pytest.importorskip("numba")
    x = np.array(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = s2s.grad(total, compile="always")(x)
    np.testing.assert_allclose(got, _exact(x, np.ones_like(x)), rtol=1e-13, atol=0)
