"""Adversarial programs against the hot calls of calls that leave parameters out, the NumPy path's hot code
that returns tuples of gradients at once, the vector dot product's adjoint in float32 code and
`np.broadcast_to(a, S) op b` of two numbers made `np.full(S, a op b)`, and the broadcasts the specialiser makes
numbers: each call gives what a fresh `s2s.grad(f)` (the general call), the general derivative `s2s.derivative`
and finite differences give."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad

_ROWS = np.arange(6.0).reshape(2, 3)


def _rows_of_default(x, w=_ROWS):
    s = 0.0
    for i in range(w.shape[0]):
        s = s + np.sin(x * w[i, 0]) * w.shape[1]
    return s


def test_compiled_hot_call_follows_a_default_array_reshaped_in_place():
    # the compiled code is made for the default's shape (2, 3); `w.shape = (3, 2)` keeps the same array and
    # defaults tuple, so the hot code of calls that leave w out must test the default's shape as the key does
    # (it ran the code for (2, 3) on the (3, 2) array: 1.0198 for -6.8579)
    pytest.importorskip("numba")
    old = _rows_of_default.__defaults__
    w = np.arange(6.0).reshape(2, 3)
    _rows_of_default.__defaults__ = (w,)
    try:
        g = s2s.grad(_rows_of_default, compile="always")
        for _ in range(2):
            np.testing.assert_allclose(g(0.7), fd_grad(_rows_of_default, (0.7,)), rtol=1e-7)
        w.shape = (3, 2)
        for _ in range(2):
            np.testing.assert_allclose(g(0.7), fd_grad(_rows_of_default, (0.7,)), rtol=1e-7)
    finally:
        _rows_of_default.__defaults__ = old


def _mean_of_rows(x):
    return np.sum(np.mean(x, axis=1)) + np.sum(x * x)


def _mean_of_all(x):
    return np.mean(x) + np.sum(x)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # (the general derivative's mean of no elements)
@pytest.mark.parametrize("f, shape", [(_mean_of_all, (0,)), (_mean_of_rows, (3, 0)), (_mean_of_all, (2, 0))])
def test_mean_over_no_elements_has_an_empty_gradient(f, shape):
    # the mean's adjoint `np.broadcast_to(1.0, S) / 0` made `np.full(S, 1.0 / 0)`: Python's division raised
    # ZeroDivisionError where the broadcast's gives an empty array (the general derivative's)
    x = np.zeros(shape)
    for _ in range(2):
        got = s2s.grad(f)(x)
        assert got.shape == shape and got.dtype == np.float64
    np.testing.assert_array_equal(got, s2s.derivative(f, wrt="x")(x))


def _mean_of_row_means_over(x, c):
    return np.mean(np.mean(x, axis=1) / c)


@pytest.mark.parametrize("c", [np.float64(2.5), np.array(2.5), np.float32(2.5)], ids=["float64", "0-d", "float32"])
def test_row_means_scaled_by_a_numpy_number(c):
    # the adjoint of the row means, np.broadcast_to(0.5, (2,)) / c, becomes the number 0.5 / c, which is a
    # NumPy number for a NumPy c: s2s.expand_reduced expanded its dims (AxisError) where it broadcasts a
    # Python number as it is
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    got = s2s.grad(_mean_of_row_means_over)(x, c)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, s2s.derivative(_mean_of_row_means_over, wrt="x")(x, c), rtol=1e-6)
    np.testing.assert_allclose(got, fd_grad(_mean_of_row_means_over, (x.astype(float), float(c))), rtol=1e-5)


def _ones_over(x, c):
    w = np.broadcast_to(1.0, x.shape) / c
    return np.sum(w * x)


@pytest.mark.parametrize("f, wrt", [(_ones_over, 1), (_mean_of_row_means_over, 0)])
def test_broadcast_made_a_number_is_not_divided_by_a_python_zero(f, wrt):
    # `np.broadcast_to(1.0, S) / c` made `1.0 / c` (and the row means' adjoint `0.5 / c`): for c = 0.0 Python's
    # division raised ZeroDivisionError where the primal and the general derivative divide arrays (inf)
    x = np.array([[0.5, 1.0, 2.0], [1.0, 3.0, 0.25]])
    with np.errstate(divide="ignore", invalid="ignore"):
        got = s2s.grad(f, wrt=wrt)(x, 0.0)
        want = s2s.derivative(f, wrt="xc"[wrt])(x, 0.0)
    np.testing.assert_array_equal(got, want)
    assert np.isinf(got).all()


# ---- strong cases that pass: kept as regression tests ----

def _powers(x, c=2.0, n=3):
    s = 0.0
    for i in range(n):  # n left out: read as the literal 3 (transforms/defaults.py)
        s = s + np.sum(np.sin(x * c) ** (i + 1))
    return s


def test_calls_leaving_parameters_out_alternate_with_defaults_replaced():
    # each call kind twice (the general call, then its hot code), the defaults replaced between them: every
    # result is a fresh s2s.grad's, for x and for a left-out parameter (wrt=(0, 1): not hot, still right)
    x = np.array([0.3, -0.4, 0.9])
    old = _powers.__defaults__
    g, g01 = s2s.grad(_powers), s2s.grad(_powers, wrt=(0, 1))
    try:
        for defaults in (old, (3.0, 1), (0.5, 2), old):
            _powers.__defaults__ = defaults
            for args, kwargs in [((x,), {}), ((x, 1.5), {}), ((x,), {"n": 2}), ((x, 1.5, 2), {}), ((x,), {})]:
                for _ in range(2):
                    want = s2s.grad(_powers)(*args, **kwargs)
                    np.testing.assert_array_equal(g(*args, **kwargs), want)
                    np.testing.assert_allclose(want, fd_grad(_powers, args, kwargs=kwargs), rtol=1e-6)
                    for got, fresh in zip(g01(*args, **kwargs), s2s.grad(_powers, wrt=(0, 1))(*args, **kwargs)):
                        np.testing.assert_array_equal(got, fresh)
    finally:
        _powers.__defaults__ = old


def _sum_of_both(x, y):
    z = x + y
    return np.sum(z * z)


@pytest.mark.parametrize("transform", [s2s.grad, s2s.value_and_grad])
def test_hot_tuple_of_gradients_never_shares_an_array(transform):
    # the hot code returns a tuple of distinct arrays as it is: two gradients that are one array (z's adjoint
    # for x and y) must come back as two arrays, in the hot code as in the general call
    x = np.array([0.5, -1.0, 2.0])
    g = transform(_sum_of_both, wrt=(0, 1))
    for args in [(x, x), (x, 2 * x), (x, x)]:
        for _ in range(2):
            out = g(*args)
            gx, gy = out[1] if transform is s2s.value_and_grad else out
            assert not np.shares_memory(gx, gy)
            np.testing.assert_allclose(gx, 2 * (args[0] + args[1]))
            gx[0] = 99.0  # the caller's to change
            np.testing.assert_allclose(gy, 2 * (args[0] + args[1]))


def _switching_output(x, y):
    if y > 1.0:
        return np.sum(x * y)
    if y > 0.0:
        return x[:1] * y  # one element: as autograd, its gradient
    if y > -3.0:
        return np.float32(np.sum(x)) * np.float32(y)
    return x * y  # not a scalar: refused


def test_hot_value_check_follows_outputs_that_change_kind_between_calls():
    # one variant (same argument kinds) whose output is a float, a (1,) array, a float32 or an array: the hot
    # code returns the gradient at once only for a float value, else the general handling
    x = np.array([0.3, -0.4, 0.9])
    g, vg = s2s.grad(_switching_output), s2s.value_and_grad(_switching_output, wrt=(0, 1))
    for y in [2.0, 2.0, 0.5, 2.0, -2.5, -2.5, 2.0, 0.5]:
        for _ in range(2):
            want = y if y > 0.0 else np.float32(y)
            np.testing.assert_allclose(g(x, y), [want, 0.0, 0.0] if 0.0 < y <= 1.0 else [want] * 3, rtol=1e-7)
            value, (gx, gy) = vg(x, y)
            np.testing.assert_allclose(gy, x[0] if 0.0 < y <= 1.0 else np.sum(x), rtol=1e-6)
    for _ in range(2):
        with pytest.raises(s2s.NonScalarOutputError):
            g(x, -5.0)
    np.testing.assert_allclose(g(x, 2.0), [2.0] * 3)


def _dots(a, b, flags):
    s = 0.0
    for i in range(3):
        d = a @ b  # its adjoint g * b, g the zero 0.0 where flags[i] <= 0
        if flags[i] > 0:
            s = s + np.sin(d) * (i + 1)
        a = a * 0.9
    return s


@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float32, np.float64), (np.float16, np.float32)])
def test_dot_products_of_mixed_precisions_keep_each_arguments_dtype(dtypes):
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=3).astype(dtypes[0]), rng.normal(size=3).astype(dtypes[1])
    flags = np.array([1.0, -1.0, 1.0])
    ga, gb = s2s.grad(_dots, wrt=(0, 1))(a, b, flags)
    assert ga.dtype == dtypes[0] and gb.dtype == dtypes[1]
    want = s2s.derivative(_dots, wrt=("a", "b"))(a, b, flags)
    tol = 2e-3 if np.float16 in dtypes else 1e-5
    for got, general, p in zip((ga, gb), want, (0, 1)):
        np.testing.assert_allclose(got, general, rtol=tol, atol=tol)
        wide = [a.astype(float), b.astype(float), flags]
        np.testing.assert_allclose(got, fd_grad(_dots, wide, p), rtol=tol * 10, atol=tol * 10)
