"""Fast paths of runtime helpers against the general arithmetic they stand for: `grad_norm` along an axis (the
quotient on the norms' shape) and `grad_cumprod` of running products that are normal numbers (a suffix sum
divided, no Python loop), with the cases that must take the general path (zeros, underflow, overflow); and
their gradients in generated code against central differences and autograd."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
import s2s.runtime as rt
import s2s.runtime.reductions as reductions
from tests.helpers_fd import check_all


def _general_norm_adjoint(g, ans, x, axis, keepdims):
    n = rt.expand_reduced(ans, x, axis, keepdims)
    return rt.expand_reduced(g, x, axis, keepdims) * x / np.where(n == 0, 1, n)


@pytest.mark.parametrize("shape, axis, keepdims", [((5, 4), 1, False), ((5, 4), 0, True), ((5, 4), -1, True),
                                                   ((3, 4, 2), 1, False), ((3, 4, 2), (0, 2), False)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_norm_adjoint_along_an_axis(shape, axis, keepdims, dtype):
    rng = np.random.default_rng(len(shape) + (axis if isinstance(axis, int) else 7))
    x = rng.normal(size=shape).astype(dtype)
    x[0] = 0.0  # (a norm of zeros along some axes: its adjoint there is 0)
    ans = np.linalg.norm(x, axis=axis, keepdims=keepdims)
    g = rng.normal(size=ans.shape).astype(dtype)
    got = rt.grad_norm(g, ans, x, None, axis, keepdims)
    want = _general_norm_adjoint(g, ans, x, axis, keepdims)
    assert got.dtype == want.dtype and got.shape == x.shape
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=0)


def distances(mu, X):
    d = X - mu
    return np.sum(np.log1p(np.linalg.norm(d, axis=1)))


def column_norms(X):
    return np.sum(np.linalg.norm(X, axis=0, keepdims=True) ** 3)


@pytest.mark.parametrize("f, make, oracle", [
    (distances, lambda r: (r.normal(size=4), r.normal(size=(6, 4))), True),
    (column_norms, lambda r: (r.normal(size=(5, 3)),), False),  # (autograd's keepdims norm adjoint has an extra axis)
])
def test_norms_along_an_axis_are_written_out(f, make, oracle):
    args = make(np.random.default_rng(0))
    check_all(f, args, use_autograd=oracle)
    g = s2s.grad(f)
    g(*args)
    text = s2s.source(g, *args)
    assert "grad_norm" not in text and "np.where(" in text, text


def test_a_zero_row_has_a_zero_norm_adjoint():
    X = np.random.default_rng(1).normal(size=(4, 3))
    mu = X[2].copy()  # (row 2 of d is zero: its norm is 0, where the norm has no derivative: 0)
    got = s2s.grad(distances)(mu, X)
    d = X - mu
    r = np.linalg.norm(d, axis=1)
    safe = np.where(r == 0, 1.0, r)
    np.testing.assert_allclose(got, -np.sum(d * (1.0 / (1.0 + r) / safe)[:, None], axis=0), rtol=1e-13)


# ---- cumprod

def _loop_tails(x, g):
    p, r = np.ones_like(x), np.zeros(x.shape, np.result_type(x, g))
    for j in range(1, x.shape[0]):
        p[j] = p[j - 1] * x[j - 1]
    r[-1] = g[-1]
    for j in range(x.shape[0] - 2, -1, -1):
        r[j] = g[j] + x[j + 1] * r[j + 1]
    return p, r


@pytest.mark.parametrize("seed", range(8))
def test_running_products_by_division_match_the_loop(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    shape = (n,) if seed % 2 else (n, 3)
    x = rng.normal(size=shape) * [1.0, 1e-3, 1e3][seed % 3]
    g = rng.normal(size=shape)
    assert reductions._tails_by_division(x, g) is not None
    quick = reductions._exclusive_and_tails(x, g)
    p, r = _loop_tails(x, g)
    np.testing.assert_array_equal(quick[0], p)  # (the same products in the same order)
    np.testing.assert_allclose(quick[1], r, rtol=1e-12, atol=1e-12 * np.max(np.abs(r)))
    if x.ndim == 1:
        np.testing.assert_allclose(rt.grad_cumprod(g, x, None), p * r, rtol=1e-12, atol=1e-12 * np.max(np.abs(p * r)))


@pytest.mark.parametrize("x", [
    np.array([1.0, 0.0, 2.0, 3.0]),  # a zero: no division by it
    np.array([1.0, np.nan, 2.0]),
])
def test_running_products_that_are_not_normal_numbers_take_the_loop(x):
    g = np.ones_like(x)
    assert reductions._tails_by_division(x, g) is None
    p, r = _loop_tails(x, g)
    np.testing.assert_array_equal(rt.grad_cumprod(g, x, None), p * r)


@pytest.mark.parametrize("x, exact", [
    # a running product rounded to zero on the way: the last entry's adjoint is 1e-200, not the loop's 0
    (np.array([1e-200, 1e-200, 1e200, 2.0]), np.array([4.0, 3.0, 0.0, 1e-200])),
    # one rounded to infinity: the last entry's adjoint is 1e200, not the loop's inf
    (np.array([1e200, 1e200, 1e-200, 2.0]), np.array([1e200, 1e200, np.inf, 1e200])),
])
def test_products_out_of_range_on_the_way_keep_the_adjoints_range(x, exact):
    g = np.ones_like(x)
    assert reductions._tails_by_division(x, g) is None
    np.testing.assert_allclose(rt.grad_cumprod(g, x, None), exact, rtol=1e-14, atol=0)


def test_a_sum_that_could_overflow_takes_the_loop():
    x, g = np.full(3, 1e150), np.full(3, 1e150)
    assert reductions._tails_by_division(x, g) is None


def cumulative(x, w):
    return np.sum(np.cumprod(x) * w) + np.sum(np.cumprod(x[:, None] * w, axis=0))


def test_cumprod_gradients():
    r = np.random.default_rng(4)
    # (autograd has no adjoint of cumprod: central differences alone)
    check_all(cumulative, (r.uniform(0.5, 1.5, size=7), r.normal(size=7)), wrt=(0, 1), use_autograd=False)
    x = r.uniform(0.5, 1.5, size=7)
    x[3] = 0.0
    check_all(cumulative, (x, r.normal(size=7)), wrt=(0, 1), use_autograd=False)


def test_the_forward_products_are_reused_where_they_fit():
    r = np.random.default_rng(5)
    x, g = r.uniform(0.5, 1.5, size=9), r.normal(size=9)
    alone = rt.grad_cumprod(g, x, None)
    np.testing.assert_array_equal(rt.grad_cumprod(g, x, None, np.cumprod(x)), alone)
    for other in (np.cumprod(x)[:-1], np.cumprod(x).astype(np.float32), [1.0] * 9):  # not the products: ignored
        np.testing.assert_array_equal(rt.grad_cumprod(g, x, None, other), alone)


def test_a_term_that_overflows_takes_the_loop():
    x, g = np.array([1e200, 1.0, 1.0]), np.array([1e200, 1.0, 1.0])  # (finite products, g * c infinite)
    assert reductions._tails_by_division(x, g) is None
    p, r = _loop_tails(x, g)
    np.testing.assert_array_equal(rt.grad_cumprod(g, x, None), p * r)


def products_changed_in_place(x, w):
    p = np.cumprod(x)
    p[1:] *= 2.0  # (the products the adjoint reuses are the forward sweep's, before this)
    s = np.sum(p * w)
    p += w
    return s + np.sum(np.cumprod(p) * w)


def test_products_changed_after_they_are_made():
    r = np.random.default_rng(6)
    check_all(products_changed_in_place, (r.uniform(0.5, 1.5, size=6), r.normal(size=6)), wrt=(0, 1),
              use_autograd=False)


@pytest.mark.parametrize("dtype, x", [(np.float64, [1e-300, 1e-5, 1e155, 1e155]), (np.float32, [1e-30, 1e-5, 1e20, 1e20])])
def test_adjoints_of_products_whose_parts_overflow_are_finite(dtype, x):
    # (helper 124: the exclusive products' prefix times suffix, and c[j - 1] times the sum over c[j], overflowed
    # where the adjoint is finite: 1e-300 times 1e310)
    x = np.array(x, dtype=dtype)
    expected = (np.prod(x.astype(np.float64)) / x.astype(np.float64)).astype(dtype)
    np.testing.assert_allclose(rt.grad_prod(1.0, np.prod(x), x, None, False), expected, rtol=1e-5)
    np.testing.assert_allclose(rt.grad_cumprod(np.array([0.0, 0.0, 0.0, 1.0], dtype), x, None), expected, rtol=1e-5)
    g = np.ones(4, dtype)
    cums = np.cumprod(x.astype(np.float64))
    by_sums = (np.cumsum(cums[::-1])[::-1] / x.astype(np.float64)).astype(dtype)
    np.testing.assert_allclose(rt.grad_cumprod(g, x, None), by_sums, rtol=1e-5)
    np.testing.assert_allclose(rt.grad_cumprod(np.stack([g, g]), np.stack([x, x]), 1)[1], by_sums, rtol=1e-5)
    assert np.isfinite(rt.grad_prod(1.0, np.prod(x), x, None, False)).all()


@pytest.mark.parametrize("axis", [0, 1, -1, 2, -3])
def test_cumprod_along_an_axis_divides_in_place_and_matches_the_loop(axis):
    """(along an axis the adjoint divides the running sums by x there, not in a copy with the axis moved first;
    a zero entry, an overflowing term: the loop, as before)"""
    r = np.random.default_rng(axis + 7)
    x, g = r.uniform(0.5, 1.5, size=(3, 4, 5)), r.normal(size=(3, 4, 5))
    xs, gs = reductions._along_first(x, axis), reductions._cumprod_g(g, reductions._along_first(x, axis), axis)
    p, tails = reductions._exclusive_and_tails(xs, gs)
    loop = reductions._back(p * tails, x, axis)
    np.testing.assert_allclose(rt.grad_cumprod(g, x, axis), loop, rtol=1e-12)
    np.testing.assert_array_equal(rt.grad_cumprod(g, x, axis, np.cumprod(x, axis=axis)), rt.grad_cumprod(g, x, axis))
    x[1, 2, 3] = 0.0
    assert reductions._cumprod_adjoint_along(x, g, axis) is None
    big = np.full((2, 3), 1e200)
    assert reductions._cumprod_adjoint_along(big, big, axis % 2) is None


def cumulative_rows(q, w):
    return np.sum(np.cumprod(q, axis=1) * w) + np.sum(np.cumprod(q, axis=-1)[:, -1])


def test_cumprod_along_rows_gradients():
    r = np.random.default_rng(8)
    q = r.uniform(0.5, 1.5, size=(4, 6))
    check_all(cumulative_rows, (q, r.normal(size=(4, 6))), wrt=(0, 1), use_autograd=False)
    q[2, 3] = 0.0
    check_all(cumulative_rows, (q, r.normal(size=(4, 6))), wrt=(0, 1), use_autograd=False)


def first_products(P):
    return np.sum(np.cumprod(P, axis=1)[:, :3]) + np.sum(np.cumprod(P[0])[:2])


@pytest.mark.parametrize("compile", [False, True])
def test_cumprod_entries_no_product_reads_have_a_zero_adjoint_past_an_overflow(compile):
    """(helper 141: where the forward products overflowed to inf, the entries the loss never reads got NaN,
    `inf * 0`, instead of 0)"""
    if compile:
        pytest.importorskip("numba")
    import warnings

    P = np.full((2, 400), 10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = s2s.grad(first_products, compile=compile)(P)
    want = np.zeros_like(P)
    want[:, :3] = [[111.0, 110.0, 100.0]] * 2
    want[0, :2] += [11.0, 10.0]
    np.testing.assert_array_equal(g, want)
