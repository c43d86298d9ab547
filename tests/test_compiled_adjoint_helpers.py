"""The compiled versions of more runtime helpers (s2s/runtime/compiled_adjoints.py, and the basic indices of
compiled_helpers.getitem_grad and add_at) against the NumPy helpers they stand for: the same numbers, shapes
and dtypes on random shapes (broadcast, 0-d, empty, float32), or the marked fallback / NumPy's error."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from s2s import runtime as rt  # noqa: E402
from s2s.runtime import compiled_helpers as ch  # noqa: E402
from s2s.runtime.compiled_helpers import FALLBACK  # noqa: E402


def _same(got, want, rtol=1e-13):
    assert np.shape(got) == np.shape(want)
    if isinstance(want, np.ndarray) and want.ndim:
        assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-300)


# ------------------------------------------------------------------------------------------ squeeze

@numba.njit
def _grad_squeeze(g, x):
    return ch.grad_squeeze(g, x, None)


@pytest.mark.parametrize("gshape, xshape", [((4,), (4, 1)), ((4,), (1, 4)), ((0,), (1, 0))])
def test_grad_squeeze(gshape, xshape):
    rng = np.random.default_rng(0)
    g, x = rng.normal(size=gshape), rng.normal(size=xshape)
    _same(_grad_squeeze(g, x), rt.grad_squeeze(g, x, None))


def test_grad_squeeze_of_a_number_and_of_another_size():
    _same(_grad_squeeze(2.5, np.ones((1, 1))), rt.grad_squeeze(2.5, np.ones((1, 1)), None))
    with pytest.raises(ValueError, match=FALLBACK):
        _grad_squeeze(np.ones(3), np.ones((2, 1)))


@numba.njit
def _squeezes(m, v):
    return ch.squeeze(m, 1), ch.squeeze(m, -1), ch.squeeze(v, None)


def test_squeeze():
    m, v = np.arange(3.0).reshape(3, 1), np.array([[7.0]])
    a, b, c = _squeezes(m, v)
    _same(a, np.squeeze(m, 1))
    _same(b, np.squeeze(m, -1))
    assert c == 7.0
    with pytest.raises(ValueError, match=FALLBACK):
        _squeezes(np.ones((3, 2)), v)
    with pytest.raises(ValueError, match=FALLBACK):
        _squeezes(m, np.ones((1, 2)))


# -------------------------------------------------------------------------------------------- where

@numba.njit
def _grad_where(g, cond, x):
    return ch.grad_where(g, cond, x, True), ch.grad_where(g, cond, x, False)


@pytest.mark.parametrize("dtype, gshape, cshape, xshape", [
    (np.float64, (3, 4), (3, 4), (3, 4)), (np.float64, (0, 2), (0, 2), (0, 2)),  # (one compiled version)
    (np.float64, (3, 4), (4,), (4,)),  # a condition broadcast, the adjoint summed over the rows
    (np.float32, (3, 4), (3, 4), (3, 4))])
def test_grad_where(dtype, gshape, cshape, xshape):
    rng = np.random.default_rng(1)
    g, x = rng.normal(size=gshape).astype(dtype), rng.normal(size=xshape).astype(dtype)
    cond = rng.random(cshape) < 0.5
    got = _grad_where(g, cond, x)
    _same(got[0], rt.grad_where(g, cond, x, True))
    _same(got[1], rt.grad_where(g, cond, x, False))


def test_grad_where_sums_over_a_stretched_axis():
    """(an axis of length 1 the condition stretched: summed, as the NumPy helper's unbroadcast does; it fell back
    before stop 47)"""
    rng = np.random.default_rng(3)
    g, cond, x = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)) > 0, np.ones((1, 4))
    got = _grad_where(g, cond, x)
    np.testing.assert_allclose(got[0], rt.grad_where(g, cond, x, True), rtol=1e-12)
    np.testing.assert_allclose(got[1], rt.grad_where(g, cond, x, False), rtol=1e-12)


def test_grad_where_of_shapes_that_do_not_broadcast_falls_back():
    with pytest.raises(ValueError, match=FALLBACK):  # (the NumPy code raises NumPy's error)
        _grad_where(np.ones((3, 4)), np.ones((3, 4), bool), np.ones((2, 4)))


# ---------------------------------------------------------------------------------------------- var

@numba.njit
def _grad_vars(g0, g1, gn, x):
    return (ch.grad_var(g0, x, 0, 0, False), ch.grad_var(g1, x, -1, 1, True), ch.grad_var(gn, x, None, 0, False))


@pytest.mark.parametrize("shape, dtype", [((5, 3), np.float64), ((1, 4), np.float64), ((2, 3, 4), np.float32)])
def test_grad_var(shape, dtype):
    rng = np.random.default_rng(2)
    x = rng.normal(size=shape).astype(dtype)
    g0 = rng.normal(size=x.var(axis=0).shape).astype(dtype)
    g1 = rng.normal(size=x.var(axis=-1, keepdims=True).shape).astype(dtype)
    gn = float(rng.normal())
    got = _grad_vars(g0, g1, gn, x)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    _same(got[0], rt.grad_var(g0, x, 0, 0, False), rtol)
    _same(got[1], rt.grad_var(g1, x, -1, 1, True), rtol)
    np.testing.assert_allclose(got[2], rt.grad_var(gn, x, None, 0, False), rtol=rtol)


@numba.njit
def _variances(x):
    return (ch.variance(x, "var", 0, False, 0), ch.variance(x, "std", -1, True, 1), ch.variance(x, "var", None, False, 0),
            ch.variance(x, "std", None, True, 0))


@pytest.mark.parametrize("shape", [(5, 3), (1, 4), (3, 0), (0, 3)])
def test_variance(shape):
    x = np.random.default_rng(3).normal(size=shape)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # (NumPy's for an empty axis or n - ddof <= 0)
        want = (np.var(x, axis=0), np.std(x, axis=-1, keepdims=True, ddof=1), np.var(x), np.std(x, keepdims=True))
    for got, w in zip(_variances(x), want):
        assert np.shape(got) == np.shape(w)
        np.testing.assert_allclose(got, w, rtol=1e-13)


# ---------------------------------------------------------------------------------------------- det

@numba.njit
def _det_adjoint(g, ans, a):
    return ch.det_adjoint(g, ans, a)


@pytest.mark.parametrize("a", [np.array([[2.0, 1.0], [0.5, 3.0]]), np.random.default_rng(4).normal(size=(4, 4)),
                               np.array([[1.0, 2.0], [2.0, 4.0]]),  # singular: the cofactors
                               np.zeros((3, 3)), np.array([[5.0]])])
def test_det_adjoint(a):
    ans = np.linalg.det(a)
    _same(_det_adjoint(0.7, ans, a), rt.det_adjoint(0.7, ans, a), rtol=1e-10)


# --------------------------------------------------------------------------------------------- copy

@numba.njit
def _copy(x, y):
    a = ch.copy(x)
    a[0] = -1.0
    return a, ch.copy(y)


def test_copy_is_a_copy():
    x = np.arange(3.0)
    a, b = _copy(x, 2.0)
    assert x[0] == 0.0 and a[0] == -1.0 and b == 2.0


# ------------------------------------------------------------------------- basic indices, add_at

@numba.njit
def _getitem_grads(g1, g2, g3, x, i):
    return (ch.getitem_grad(g1, x, (slice(None, None, None), i)), ch.getitem_grad(g2, x, (slice(1, -1, None), None)),
            ch.getitem_grad(g3, x, slice(0, 2, None)))


def test_getitem_grad_of_basic_indices():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 3))
    for i in (1, -1):
        g1, g2, g3 = rng.normal(size=4), rng.normal(size=(2, 1, 3)), rng.normal(size=(2, 3))
        got = _getitem_grads(g1, g2, g3, x, i)
        for k, (g, index) in enumerate(((g1, (slice(None), i)), (g2, (slice(1, -1), None)), (g3, slice(0, 2)))):
            _same(got[k], rt.getitem_grad(g, x, index))
    with pytest.raises(IndexError):
        _getitem_grads(g1, g2, g3, x, 3)
    with pytest.raises(ValueError, match=FALLBACK):  # g of another shape than the items read
        _getitem_grads(g1, rng.normal(size=(3, 1, 3)), g3, x, 0)


def test_getitem_grad_of_basic_indices_in_numpy_s_dtype():
    x = np.zeros((4, 3), np.float32)
    for g in (np.ones(4, np.float32), np.ones(4)):  # (a float64 adjoint makes NumPy's zeros float64)
        _same(_getitem_grads(g, np.ones((2, 1, 3), np.float32), np.ones((2, 3), np.float32), x, 1)[0],
              rt.getitem_grad(g, x, (slice(None), 1)))


@numba.njit
def _int_array_getitem_grad(g, x, rows, cols):
    return ch.getitem_grad(g, x, (rows, cols))


def test_getitem_grad_of_a_pair_of_int_arrays_adds_repeats():
    x, rows, cols = np.zeros((3, 2)), np.array([0, 2, 0]), np.array([1, 1, 1])
    g = np.array([1.0, 2.0, 4.0])
    _same(_int_array_getitem_grad(g, x, rows, cols), rt.getitem_grad(g, x, (rows, cols)))


@numba.njit
def _add_at_basic(a, v):
    ch.add_at(a, (None, slice(None, None, None)), v)
    return a


def test_add_at_of_basic_indices():
    a, v = np.arange(4.0), np.ones((1, 4))
    want = a.copy()
    np.add.at(want, (None, slice(None)), v)
    _same(_add_at_basic(a.copy(), v), want)


# ----------------------------------------------------------------------------- zero adjoints as None

@numba.njit
def _zero_started(n, e):
    total = None
    for _ in range(n):
        total = ch.accumulate(total, e)
    return ch.add_zero(total, e), ch.present(total)


def test_add_zero_and_present():
    e = np.array([-0.0, 1.5])
    added, total = _zero_started(2, e)
    _same(added, 3 * e)
    _same(total, 2 * e)
    with pytest.raises(ValueError, match=FALLBACK):  # the zero adjoint's reduction over an axis: NumPy raises
        _zero_started(0, e)


@numba.njit
def _add_zero_none(e):
    total = None
    return ch.add_zero(total, e)


def test_add_zero_of_none_is_numpy_s_zero_plus():
    e = np.array([-0.0, 2.0], np.float32)
    got, want = _add_zero_none(e), 0.0 + e
    _same(got, want)
    assert not np.signbit(got[0])


@numba.njit
def _reshape_number(x):
    return ch.reshape(x, (1,), False), ch.reshape(x, (1, 1), False)


def test_reshape_of_a_number():
    a, b = _reshape_number(-1.0)
    _same(a, np.reshape(-1.0, (1,)))
    _same(b, np.reshape(-1.0, (1, 1)))


@numba.njit
def _power_slope(x, y):
    return ch.power_slope(x, y)


@pytest.mark.parametrize("x, y", [(0.0, 0), (0.0, 1), (0.0, 2), (0.0, -1), (0.0, 0.5), (-2.0, 0.5), (2.0, 3),
                                  (np.float32(1.5), 2), (1.5, 2.5), (3, 2), (-1.5, -3)])
def test_power_slope_of_numbers_is_the_runtime_s(x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = rt.power_slope(x, y)
    got = _power_slope(x, y)
    np.testing.assert_array_equal(got, want)  # (inf and nan where the runtime's are)
    assert type(got) is float or isinstance(got, np.floating) and got.dtype == np.float64


@pytest.mark.parametrize("y", [0, 1, 2, -1, 0.5, 3.5])
def test_power_slope_of_an_array_is_the_runtime_s(y):
    x = np.array([0.0, 1.0, -2.0, 0.25])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = rt.power_slope(x, y)
    got = _power_slope(x, y)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@numba.njit
def _safe_div(a, b):
    return ch.safe_div(a, b)


@pytest.mark.parametrize("a, b", [(1.0, 0.0), (1.0, 2.0), (np.array([1.0, 2.0]), np.array([0.0, 4.0])),
                                  (np.array([1.0, 2.0]), 0.0), (3.0, np.array([0.0, 2.0])), (0.0, 0.0)])
def test_safe_div_is_the_runtime_s(a, b):
    np.testing.assert_array_equal(_safe_div(a, b), rt.safe_div(a, b))


@numba.njit
def _clip_mask(a, lo, hi):
    return ch.clip_mask(a, lo, hi)


@pytest.mark.parametrize("lo, hi", [(0.0, 1.0), (None, 1.0), (0.0, None), (None, None),
                                    (np.array([0.0, 0.6, 0.0, -3.0]), 1.5), (-0.5, np.array([1.0, 0.4, 3.0, 2.0]))])
def test_clip_mask_is_the_runtime_s(lo, hi):
    a = np.array([-1.0, 0.5, 2.0, 0.0])
    got = _clip_mask(a, lo, hi)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, rt.clip_mask(a, lo, hi))


@pytest.mark.parametrize("a, lo, hi", [(0.5, 0.0, 1.0), (0.5, np.array([0.0, 0.7]), None), (2.0, None, 1.0),
                                       (np.ones((2, 3)), np.zeros((2, 1)), None), (np.nan, None, None)])
def test_clip_mask_of_numbers_and_broadcast_bounds(a, lo, hi):
    got, want = _clip_mask(a, lo, hi), rt.clip_mask(a, lo, hi)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_array_equal(got, want)


@numba.njit
def _setitem(x, i, v):
    return ch.setitem(x, i, v)


def test_setitem_sets_a_copy():
    x = np.arange(6.0).reshape(2, 3)
    for index, v in [(1, np.ones(3)), ((0, 2), 7.0)]:
        got = _setitem(x, index, v)
        np.testing.assert_array_equal(got, rt.setitem(x, index, v))
    np.testing.assert_array_equal(x, np.arange(6.0).reshape(2, 3))  # (the argument unchanged)
