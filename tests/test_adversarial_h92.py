"""Adversarial programs against index adjoints accumulated in place (float32 code as float64 code), item
assignments' adjoints added in place in all code, and `np.add.at` as an update of an owned adjoint array: each
gradient matches finite differences on float64 copies and the general derivative `s2s.derivative`, or is refused
as the general derivative refuses it."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad

_RNG = np.random.default_rng(92)
_X = _RNG.normal(size=(5, 3))
_Y = _RNG.normal(size=6)


def _items_times_complex(x, y):
    w = np.sqrt(y.astype(np.complex64) - 10.0)  # complex, though no argument and no literal is
    s = 0.0
    for i in range(1, 5):
        s = s + np.abs(x[i, 0] * w[i] + x[i, 1])
    return s


def _local_items_times_complex(x, y):
    w = np.sqrt(y.astype(np.complex64) - 10.0)
    s = 0.0
    for i in range(1, 5):
        a = x[i] - x[i - 1]
        s = s + np.abs(a[0] * w[i] + a[1] * 0.5)
    return s


@pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize("f", [_items_times_complex, _local_items_times_complex])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_complex_adjoint_is_not_put_into_a_real_item(f, dtype):
    # `x_bar[i, 0] += t_bar` (an argument's item) and `a_bar[0] += t_bar` (a local's, its array made of a.dtype)
    # with a complex t_bar: NumPy cast the sum back into the real element with a warning, dropping the imaginary
    # part, and the gradient came out with the wrong sign in places (3.53 for -3.53); the general derivative
    # refuses complex values between the arguments and the output, and so must this one
    x, y = _X.astype(dtype), _Y.astype(dtype)
    with pytest.raises(s2s.NoDerivativeRuleError, match="complex"):
        s2s.derivative(f, wrt="x")(x, y)
    if f is _items_times_complex:
        with pytest.raises(s2s.NoDerivativeRuleError, match="complex"):
            s2s.grad(f)(x, y)
    else:  # (a complex row added into a real one raises in NumPy: no wrong number, if not yet s2s's refusal)
        with pytest.raises((s2s.NoDerivativeRuleError, TypeError)):
            s2s.grad(f)(x, y)


def _rows_scaled_by_half(x, h):
    y = x * 2.0
    s = 0.0
    for i in range(x.shape[0]):
        s = s + y[i] * x[i] * 1000.0
    return s + np.sum(y * h * 3.0)


def test_float32_terms_are_not_rounded_into_a_float16_adjoint_array():
    # y_bar = 3.0 * h is a float16 array of its own (h float16); `y_bar[i] += t_bar` put the float32 terms into
    # it in place, rounded to float16: x's float32 gradient was off by 1.5e-4 relative (2557.85 for 2557.47),
    # where `y_bar + s2s.getitem_grad(...)` carries them in float32
    x, h = _Y.astype(np.float32), _RNG.normal(size=6).astype(np.float16)
    got = s2s.grad(_rows_scaled_by_half)(x, h)
    assert got.dtype == np.float32
    want = fd_grad(_rows_scaled_by_half, (x.astype(np.float64), h.astype(np.float64)))
    np.testing.assert_allclose(got, want, rtol=2e-6)
    np.testing.assert_allclose(got, s2s.derivative(_rows_scaled_by_half, wrt="x")(x, h), rtol=2e-6)


# ---- cases that held (the strongest of those tried)

def _turns(x, idx):
    # a local's items in a loop, an argument's repeated fancy rows and its items by an int array's items
    s = np.sum(x[[0, 0, 2]] ** 2) + x[-1, -1] * x[-2, 0]
    for i in range(1, x.shape[0]):
        a = x[i] - x[i - 1]
        s = s + a[0] * a[1] - a[2] * a[0] + x[idx[i], 1] * x[idx[i - 1], 2]
    return s


def _gather_then_rows(x):
    r = x[[0, 2, 2, 4]]
    s = 0.0
    for i in range(r.shape[0]):
        s = s + np.sum(r[i] * x[i]) + r[i, 0] * r[i, 1]
    return s


@pytest.mark.parametrize("f, extra", [(_turns, (np.array([0, 3, 3, 1, 4]),)), (_gather_then_rows, ())])
def test_float32_index_adjoints_match_float64(f, extra):
    x = _X.astype(np.float32)
    got = s2s.grad(f)(x, *extra)
    assert got.dtype == np.float32
    want = fd_grad(f, (x.astype(np.float64), *extra))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got, s2s.grad(f)(x.astype(np.float64), *extra), rtol=1e-5, atol=1e-5)


def _weighted_rows(x, w):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s = s + np.sum(x[i] * w[i]) * x[i + 1, 0] + w[i, 1] * x[i, 2]
    return s


def test_mixed_float32_and_float64_arguments():
    # a float32 argument's adjoint array takes float64 terms (rounded to float32); the float64 one's stays float64
    x, w = _X.astype(np.float32), _RNG.normal(size=(5, 3))
    gx, gw = s2s.grad(_weighted_rows, wrt=(0, 1))(x, w)
    assert gx.dtype == np.float32 and gw.dtype == np.float64
    np.testing.assert_allclose(gx, fd_grad(_weighted_rows, (x.astype(np.float64), w)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gw, fd_grad(_weighted_rows, (x.astype(np.float64), w), wrt=1), rtol=1e-6, atol=1e-6)


def test_one_grad_follows_the_argument_dtype():
    # the code made for float32 (an adjoint array of np.float32) is not the code run for float64
    g = s2s.grad(_gather_then_rows)
    for dtype in (np.float32, np.float64, np.float32):
        got = g(_X.astype(dtype))
        assert got.dtype == dtype
        np.testing.assert_allclose(got, fd_grad(_gather_then_rows, (_X,)), rtol=1e-5 if dtype == np.float32 else 1e-8)
