"""The items of np.split (and its family) and np.meshgrid of real float arrays are real floats: the items' code is
specialised as any array's is (the loss value nothing reads is not computed, `1.0 * Y` is `Y`). Their realness was
unknown, so every statement over an item kept the general code."""

import numpy as np
import pytest
from helpers_fd import check_all_and_general

import s2s


def split_halves(z, w):
    X, Y = np.split(z, 2)
    return np.sum(np.sin(X) * Y ** 2 + X * Y) + np.sum(w)


def array_split_thirds(z, w):
    a, b, c = np.array_split(z, 3, axis=0)
    return np.sum(a * c) + np.sum(np.tanh(b)) * np.sum(w)


def grid(z, w):
    X, Y = np.meshgrid(z, w)
    return np.sum(np.sin(X) * Y ** 2 + X * Y)


def sparse_grid(z, w):
    X, Y = np.meshgrid(z, w, indexing="ij", sparse=True)
    return np.sum(np.exp(-(X ** 2 + Y ** 2)))


def code(f, *args):
    src = s2s.source(s2s.grad(f), *args)
    return "\n".join(line for line in src.splitlines() if not line.strip().startswith("#"))


@pytest.mark.parametrize("f", [split_halves, array_split_thirds, grid, sparse_grid], ids=lambda f: f.__name__)
def test_items_are_real(f):
    rng = np.random.default_rng(7)
    z, w = rng.normal(size=6), rng.normal(size=4)
    src = code(f, z, w)
    assert "1.0 *" not in src and "out =" not in src and "np.sum(t" not in src, src
    check_all_and_general(f, (z, w), use_autograd=f in (split_halves, array_split_thirds))


def test_integer_items_are_not_taken_for_real():
    def f(z):
        X, Y = np.meshgrid(np.arange(3), z)
        return np.sum(X * Y)

    z = np.array([0.5, -1.0])
    np.testing.assert_allclose(s2s.grad(f)(z), [3.0, 3.0])
