"""The items of np.split (and its family), np.meshgrid, np.linalg.eigh and np.linalg.svd of real float arrays are
real floats of known shapes: the code over them is specialised as any array's is (the loss value nothing reads is
not computed, `1.0 * Y` is `Y`, no `unbroadcast` or `grad_matmul_*`). Their realness (and the decompositions' shapes,
and their adjoints') were unknown, so every statement over an item kept the general code."""

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


def covariance_spectrum(X, w):
    C = X.T @ X / X.shape[0]
    lam, V = np.linalg.eigh(C)
    return np.sum(lam[-2:]) + np.sum(V[:, -1] ** 4) + np.sum(w)


def low_rank(X, w):
    U, S, Vh = np.linalg.svd(X, full_matrices=False)
    return np.sum(S ** 2) + np.sum((U[:, :2] @ Vh[:2]) * w[:, None])


def nuclear(X, w):
    s = np.linalg.svd(X * w[:, None], compute_uv=False)
    return np.sum(s)


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


@pytest.mark.parametrize("f", [covariance_spectrum, low_rank, nuclear], ids=lambda f: f.__name__)
def test_decompositions_have_known_shapes(f):
    rng = np.random.default_rng(8)
    X, w = rng.normal(size=(6, 4)), rng.normal(size=6)
    src = code(f, X, w)
    assert "unbroadcast" not in src and "grad_matmul" not in src and "hermitian_read" not in src, src
    check_all_and_general(f, (X, w), use_autograd=False)  # (autograd: eigh's vectors and svd of a non-square matrix)


def test_integer_items_are_not_taken_for_real():
    def f(z):
        X, Y = np.meshgrid(np.arange(3), z)
        return np.sum(X * Y)

    z = np.array([0.5, -1.0])
    np.testing.assert_allclose(s2s.grad(f)(z), [3.0, 3.0])


@pytest.mark.parametrize("call", [lambda a: np.split(a, 2), lambda a: np.array_split(a, 3, axis=1),
                                  lambda a: np.hsplit(a, [1]), lambda a: np.vsplit(a, 2),
                                  lambda a: np.dsplit(a[..., None], 1), lambda a: np.meshgrid(a[0], a[1]),
                                  lambda a: np.meshgrid(a[0], a[1], indexing="ij", sparse=True),
                                  lambda a: np.linalg.eigh(a[:, :2] @ a[:, :2].T),
                                  lambda a: np.linalg.svd(a), lambda a: np.linalg.svd(a, full_matrices=False)])
def test_the_items_claimed_real_keep_a_real_dtype(call):
    for dtype in (np.float32, np.float64):
        for item in call(np.arange(1.0, 13.0, dtype=dtype).reshape(4, 3)[:2] + np.eye(2, 3, dtype=dtype)):
            assert item.dtype == dtype
