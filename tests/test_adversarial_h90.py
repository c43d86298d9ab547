"""Adversarial programs against the hot calls of calls that leave parameters out, the NumPy path's hot code
that returns tuples of gradients at once, the vector dot product's adjoint in float32 code and
`np.broadcast_to(a, S) op b` of two numbers made `np.full(S, a op b)`: each call gives what a fresh
`s2s.grad(f)` (the general call), the general derivative `s2s.derivative` and finite differences give."""

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
