"""Arguments of kinds a review (helper 128) tried: a NumPy scalar beside an array with an axis of length 1, an int
beyond int64 for compiled code, an ndarray subclass (a masked array) for compiled code. Each gives the NumPy
code's numbers, checked against central differences."""

import warnings

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s
from s2s.runtime.adjoint import unbroadcast


def spring(k, x):
    v = x * 0.0
    s = 0.0
    for _ in range(4):
        a = k * x
        x = x + 0.1 * v
        v = v + 0.1 * a
        s = s + np.sum(x * x)
    return s


@pytest.mark.parametrize("k", [1.3, np.float64(1.3), np.array(1.3), np.float32(1.3)], ids=repr)
@pytest.mark.parametrize("shape", [(1,), (1, 3), (3, 1), (2,)])
def test_a_numpy_scalar_times_an_array_with_an_axis_of_one(k, shape):
    """(raised IndexError in unbroadcast: `0.0 * k` of a NumPy scalar k is a NumPy 0.0, no longer the zero adjoint,
    and unbroadcast of a number to shape (1,) read its shape)"""
    x = np.linspace(0.8, 0.2, int(np.prod(shape))).reshape(shape)
    got = s2s.grad(spring)(k, x)
    np.testing.assert_allclose(got, fd_grad(spring, (float(k), x)), rtol=1e-6 if k.__class__ is not np.float32 else 1e-4)


def test_unbroadcast_spreads_a_number_over_the_shape():
    assert unbroadcast(np.float64(2.0), np.ones((1, 3))).tolist() == [[2.0, 2.0, 2.0]]
    assert unbroadcast(2.0, np.ones(1)).tolist() == [2.0]
    assert unbroadcast(np.float32(2.0), np.ones((3, 1), np.float32)).dtype == np.float32


def times_an_int(x, n):
    s = 0.0
    for _ in range(3):
        s = s + x * n
    return s


@pytest.mark.parametrize("mode", [True, "always"])
def test_an_int_beyond_int64_runs_the_numpy_code(mode):
    """(raised OverflowError "int too big to convert" at the compiled code's call, before its own range check)"""
    df = s2s.grad(times_an_int, compile=mode)
    assert df(0.7, 3) == 9.0
    assert df(0.7, 10 ** 30) == s2s.grad(times_an_int)(0.7, 10 ** 30) == 3.0 * 10 ** 30
    assert s2s.grad(times_an_int, compile=mode)(0.7, -10 ** 25) == 3.0 * -10 ** 25


def weighted_squares(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] * x[i] * (i + 1)
    return s


class Tagged(np.ndarray):
    pass


@pytest.mark.parametrize("mode", [True, "always"])
def test_an_array_subclass_runs_the_numpy_code(mode):
    """(a masked array went to the compiled code once a variant for another subclass existed, which ignores the
    mask: [2, 8, 18] where the NumPy code gave [2, 0, 18]; masked arrays are refused since stop 45, below)"""
    x = np.array([1.0, 2.0, 3.0])
    tagged = x.view(Tagged)
    want = s2s.grad(weighted_squares)(tagged)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = s2s.grad(weighted_squares, compile=mode)
        df(x)
        got = df(tagged)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    np.testing.assert_allclose(np.asarray(want), fd_grad(weighted_squares, (x,)), rtol=1e-6)


def mean_of_squares(x):
    return np.mean(x ** 2)


def mean_method(x):
    return x.mean()


@pytest.mark.parametrize("f", [weighted_squares, mean_of_squares, mean_method, np.var])
@pytest.mark.parametrize("mode", [False, True, "always"])
def test_a_masked_array_is_refused(f, mode):
    """NumPy's masked reductions count the unmasked entries alone (np.mean of [1, --, 3] divides by 2): s2s gave
    [0.667, --, 2] for the gradient of np.mean(x ** 2), [1, --, 3] being right, and x.mean() a plain array of 1/3s
    (helper 131). Refused, in every mode, with a hint that works when pasted."""
    from s2s.errors import NoDerivativeRuleError
    masked = np.ma.array([1.0, 2.0, 3.0], mask=[False, True, False])
    df = s2s.grad(f, compile=mode) if mode else s2s.grad(f)
    with pytest.raises(NoDerivativeRuleError, match="masked-array arguments") as refused:
        df(masked)
    assert "masked.compressed()" in str(refused.value) or ".compressed()" in str(refused.value)
    data = masked.compressed()  # (the hint's first way: the unmasked entries)
    np.testing.assert_allclose(s2s.grad(mean_of_squares)(data), fd_grad(mean_of_squares, (data,)), rtol=1e-6)
