"""`axis=` given as one of NumPy's integers (`np.int64(1)`, from `np.argmax` or an array of axes) reduces as an
int does: the runtime iterated over it (TypeError: 'numpy.int64' object is not iterable; helper 156)."""

import numpy as np
import pytest
import scipy.special
from helpers_fd import fd_grad

import s2s

W = np.arange(1.0, 13.0).reshape(3, 4)


def summed(x, ax):
    return np.sum(np.sum(x * W, axis=ax) ** 2)


def averaged(x, ax):
    return np.sum(np.mean(x * W, axis=ax) ** 2)


def largest(x, ax):
    return np.sum(np.max(x * W, axis=ax) ** 2)


def smallest_method(x, ax):
    return np.sum((x * W).min(axis=ax) ** 2)


def product(x, ax):
    return np.sum(np.prod(x, axis=ax) ** 2)


def spread(x, ax):
    return np.sum(np.var(x * W, axis=ax) ** 2) + np.sum(np.std(x * W, axis=ax))


def norms(x, ax):
    return np.sum(np.linalg.norm(x * W, axis=ax) ** 2)


def weighted_average(x, ax):
    return np.sum(np.average(x * W, axis=ax) ** 2)


def log_sum_exp(x, ax):
    return np.sum(scipy.special.logsumexp(x, axis=ax) ** 2)


def softmax_kept(x, ax):
    return np.sum(np.exp(x) / np.sum(np.exp(x), axis=ax, keepdims=True) * W)


@pytest.mark.parametrize("f", [summed, averaged, largest, smallest_method, product, spread, norms, weighted_average,
                               log_sum_exp, softmax_kept], ids=lambda f: f.__name__)
@pytest.mark.parametrize("ax", [np.int64(1), np.int32(0), np.int64(-1)], ids=["int64", "int32", "negative"])
def test_numpy_integer_axis(f, ax):
    x = np.random.default_rng(3).normal(size=(3, 4))
    got = s2s.grad(f)(x, ax)
    np.testing.assert_allclose(got, s2s.grad(f)(x, int(ax)), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(got, fd_grad(lambda v: f(v, ax), (x,)), rtol=1e-6, atol=1e-7)


def sorted_rows(x, ax):
    return np.sum(np.sort(x, axis=ax)[-1] ** 3)


@pytest.mark.parametrize("ax", [True, np.int64(1), np.int32(-1)], ids=["bool", "int64", "int32"])
def test_sort_along_an_axis_given_otherwise(ax):
    """(helper 161: np.sort(x, axis=True), which NumPy reads as 1, raised TypeError in the adjoint)"""
    x = np.random.default_rng(4).normal(size=(3, 4))
    np.testing.assert_allclose(s2s.grad(sorted_rows)(x, ax), fd_grad(lambda v: sorted_rows(v, ax), (x,)),
                               rtol=1e-6, atol=1e-7)
