"""transforms/specialize.py (expand_as_broadcast): the adjoint of a reduction without keepdims, of known
shapes, is the adjoint with the reduced axes back as new axes (`g[:, None]`), not `s2s.expand_reduced`:
the general code's numbers bit for bit, and right against central differences and autograd."""

import numpy as np
import pytest
from helpers_fd import check_all

import s2s


def rows(x):
    return np.sum(np.sin(np.sum(x, axis=1)) ** 2)


def columns_mean(x):
    return np.sum(np.cos(np.mean(x, axis=0)) * x[0])


def last_axis(x):
    return np.sum(np.exp(np.sum(x * x, axis=-1)) * 0.1)


def two_axes(x):
    return np.sum(np.tanh(np.sum(x, axis=(0, 2))))


def method_sum(x):
    return np.sum(np.log1p(x.sum(axis=1) ** 2))


CASES = [(rows, (4, 3)), (columns_mean, (5, 3)), (last_axis, (3, 4)), (two_axes, (2, 3, 4)), (method_sum, (6, 2))]


@pytest.mark.parametrize("f, shape", CASES, ids=[f.__name__ for f, _ in CASES])
def test_reduction_adjoint_without_keepdims(f, shape):
    x = np.random.default_rng(len(shape) + shape[0]).normal(size=shape) * 0.5
    src = s2s.source(s2s.grad(f), x)
    assert "expand_reduced" not in src, src
    np.testing.assert_array_equal(s2s.grad(f)(x), s2s.derivative(f)(x))
    check_all(f, (x,))
