"""np.cumsum and np.cumprod in compiled code: along a constant axis (numba's take none: `_s2s_cumulative`),
and their adjoints `grad_cumsum` / `grad_cumprod` (numba versions, s2s/runtime/compiled_adjoints.py; the
cumprod adjoint without division, exact where an entry is 0). Each against the NumPy code and central
differences (helper 139: a bond price over discount factors fell back)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers_fd import compiled_matches

pytest.importorskip("numba")
R = np.random.default_rng(52)


def discounted_price(q, cash):
    D = np.cumprod(q, axis=1)
    return np.sum(cash * D)


def flat_products(x, w):
    return np.sum(np.cumprod(x) * w)


def columns_with_a_zero(x, w):
    return np.sum(np.cumprod(x, axis=0) * w)


def last_axis_sums(x, w):
    return np.sum(np.cumsum(x * x, axis=-1) * w) + np.sum(np.cumsum(x, 0) ** 2)


def three_d(x):
    return np.sum(np.cumprod(x, axis=1) * np.cumsum(x, axis=2))


def returns_by_reversal(r, w):
    g = np.cumsum(r[::-1] * w)[::-1]
    return np.sum(g ** 2)


CASES = {
    "price": (discounted_price, (1.0 - 0.02 * R.random((4, 9)), R.random((4, 9))), 0),
    "flat": (flat_products, (R.uniform(0.5, 1.5, size=(3, 4)), R.random(12)), 0),
    "last_axis": (last_axis_sums, (R.normal(size=(3, 5)), R.random((3, 5))), 0),
    "three_d": (three_d, (R.uniform(0.5, 1.5, size=(2, 3, 4)),), 0),
    "reversal": (returns_by_reversal, (R.normal(size=8), R.random(8)), 0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_matches_the_numpy_code_and_differences(name):
    f, args, wrt = CASES[name]
    compiled_matches(f, args, wrt=wrt)


def test_a_zero_entry_takes_the_products_without_division():
    x = R.uniform(0.5, 1.5, size=(5, 3))
    x[2, 1] = 0.0
    x[4, 2] = 0.0
    compiled_matches(columns_with_a_zero, (x, R.random((5, 3))), wrt=0)


def test_float32_products_keep_their_dtype():
    import s2s

    args = (R.uniform(0.5, 1.5, size=(3, 4)).astype(np.float32), R.random((3, 4)).astype(np.float32))
    got = s2s.grad(discounted_price, compile="strict")(*args)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, s2s.grad(discounted_price)(*args), rtol=2e-5)
