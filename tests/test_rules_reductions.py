"""Rules for reductions and scans: axis None/int/negative/tuple, keepdims."""

import autograd.numpy as anp
import numpy as np
import pytest
from conftest import check_grad, rng

import s2s

SHAPE = (3, 4, 2)
C = np.random.default_rng(200).normal(size=SHAPE)  # weights so the output adjoint is not uniform

AXES = [None, 0, 1, 2, -1, (0, 2), (1, 0), (0, 1, 2)]
AXIS_IDS = [str(a) for a in AXES]


def f_sum(x, axis, keepdims):
    r = np.sum(x * C, axis=axis, keepdims=keepdims)
    return np.sum(r * r)


def f_mean(x, axis, keepdims):
    r = np.mean(x * C, axis=axis, keepdims=keepdims)
    return np.sum(r * r)


def f_prod(x, axis, keepdims):
    r = np.prod(x, axis=axis, keepdims=keepdims)
    return np.sum(r * np.sin(r))


def f_max(x, axis, keepdims):
    r = np.max(x, axis=axis, keepdims=keepdims)
    return np.sum(r * r * r)


def f_min(x, axis, keepdims):
    r = np.min(x, axis=axis, keepdims=keepdims)
    return np.sum(r * r * r)


def f_var(x, axis, keepdims):
    r = np.var(x, axis=axis, keepdims=keepdims)
    return np.sum(r * np.exp(-r))


def f_std(x, axis, keepdims):
    r = np.std(x, axis=axis, keepdims=keepdims)
    return np.sum(r * np.exp(-r))


REDUCERS = [f_sum, f_mean, f_prod, f_max, f_min, f_var, f_std]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=AXIS_IDS)
@pytest.mark.parametrize("f", REDUCERS, ids=[f.__name__ for f in REDUCERS])
def test_reduction(f, axis, keepdims):
    x = rng(3).uniform(0.5, 1.5, size=SHAPE) * rng(4).choice([-1.0, 1.0], size=SHAPE)
    check_grad(f, x, axis, keepdims)


# ---- positional axis / methods / defaults ---------------------------------------


def f_sum_positional(x):
    return np.sum(np.sum(x, 1) ** 2)


def f_mean_default(x):
    return np.mean(x * C) ** 2


def f_sum_method(x):
    return (x * C).sum() ** 2


def f_mean_method_axis(x):
    return np.sum(x.mean(axis=0) ** 2)


def f_max_method(x):
    return x.max() * 2.0 + np.sum(x.max(axis=1) ** 2)


@pytest.mark.parametrize("f", [f_sum_positional, f_mean_default, f_sum_method, f_mean_method_axis,
                               f_max_method])
def test_reduction_variants(f):
    x = rng(5).normal(size=SHAPE)
    check_grad(f, x)


def f_std_ddof(x, ddof):
    return np.sum(np.std(x, axis=0, ddof=ddof) * C[0])


def f_var_ddof(x, ddof):
    return np.sum(np.var(x, axis=1, ddof=ddof) * C[:, 0, :])


@pytest.mark.parametrize("ddof", [0, 1])
def test_var_std_ddof(ddof):
    x = rng(6).normal(size=SHAPE)
    check_grad(f_std_ddof, x, ddof)
    check_grad(f_var_ddof, x, ddof)


# ---- prod with zeros, max/min ties ---------------------------------------------


def f_prod_all(x):
    return np.prod(x)


def f_prod_axis(x):
    return np.sum(np.prod(x, axis=1) * C[:, :, 0].T[0])


def test_prod_with_zero_entries():
    x = rng(7).uniform(0.5, 2.0, size=(4,))
    x[2] = 0.0
    got = s2s.grad(f_prod_all)(x)
    expected = np.array([np.prod(np.delete(x, i)) for i in range(4)])
    np.testing.assert_allclose(got, expected)
    check_grad(f_prod_all, x, ag=False)  # autograd's prod VJP divides by x and gives nan here


def test_prod_two_zeros():
    x = np.array([0.0, 1.5, 0.0, 2.0])
    np.testing.assert_allclose(s2s.grad(f_prod_all)(x), np.zeros(4))


def test_prod_axis_with_zero():
    x = rng(8).uniform(0.5, 2.0, size=(3, 4))
    x[1, 2] = 0.0
    check_grad(f_prod_axis, x, ag=False)  # autograd's prod VJP divides by x and gives nan here
    x[1, 2] = 0.7
    check_grad(f_prod_axis, x, ag=lambda a: anp.sum(anp.prod(a, axis=1) * C[:, :, 0].T[0]))


def f_max_all(x):
    return np.max(x)


def f_min_axis(x):
    return np.sum(np.min(x, axis=0) * np.array([1.0, 2.0, 3.0]))


def test_max_ties_split_evenly():
    x = np.array([1.0, 3.0, 3.0, -2.0])
    np.testing.assert_allclose(s2s.grad(f_max_all)(x), [0.0, 0.5, 0.5, 0.0])


def test_min_axis_ties():
    x = np.array([[1.0, 2.0, 0.0], [1.0, 5.0, -1.0]])
    np.testing.assert_allclose(s2s.grad(f_min_axis)(x), [[0.5, 2.0, 0.0], [0.5, 0.0, 3.0]])


# ---- cumsum -----------------------------------------------------------------------


def f_cumsum(x, axis):
    r = np.cumsum(x, axis=axis)
    return np.sum(r * np.sin(r))


@pytest.mark.parametrize("axis", [None, 0, 1, -1, 2])
def test_cumsum(axis):
    x = rng(9).normal(size=SHAPE)
    check_grad(f_cumsum, x, axis)


def f_cumsum_default(x):
    return np.sum(np.cumsum(x) * np.arange(1.0, 7.0))


def test_cumsum_default_axis_2d():
    x = rng(10).normal(size=(2, 3))
    check_grad(f_cumsum_default, x)


def f_sum_plain(x, axis, keepdims):
    r = np.sum(x, axis=axis, keepdims=keepdims)
    return np.sum(r * np.sin(r))


def f_mean_plain(x, axis, keepdims):
    r = np.mean(x, axis=axis, keepdims=keepdims)
    return np.sum(r * np.sin(r))


SMALL = [f_sum_plain, f_mean_plain, f_prod, f_max, f_min, f_var, f_std]


@pytest.mark.parametrize("shape", [(5,), (1, 4), (4, 1)], ids=str)
@pytest.mark.parametrize("f", SMALL, ids=[f.__name__ for f in SMALL])
def test_reduction_small_shapes(f, shape):
    x = rng(11).uniform(0.5, 1.5, size=shape) * rng(12).choice([-1.0, 1.0], size=shape)
    for axis, keepdims in [(-1, False), (None, True), (0, True)]:
        if f is f_std and x.shape[axis if axis is not None else 0] == 1 and axis is not None:
            continue  # std over a single entry is 0, where it is not differentiable
        check_grad(f, x, axis, keepdims)
