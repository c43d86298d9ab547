"""Loops over the items of an array (`for row in X`, `zip(x, y)`, `enumerate(x)`, `reversed(x)`) keep the
shape-specialised code: as_sequence(x) is x itself, the items' adjoints go into an array in place
(`seq_bar[k] += row_bar`), and a vector dot product's adjoint is a product. Numbers against central
differences and autograd; the general code gives the same."""

import numpy as np
import pytest
from helpers_fd import check_all

import s2s

GENERAL_HELPERS = ("unbroadcast(", "getitem_grad(", "s2s.add(", "grad_matmul_a(", "grad_matmul_b(", "grad_mult_seq(")


def rows(X, w):
    total = 0.0
    for row in X:
        total = total + np.tanh(row @ w)
    return total


def zipped(x, y):
    total = 0.0
    for a, b in zip(x, y):
        total = total + a * b * a
    return total


def enumerated(x):
    total = 0.0
    for i, a in enumerate(x, start=1):
        total = total + i * np.sin(a)
    return total


def backwards(X, v):
    h = v
    for row in reversed(X):
        h = np.tanh(row * h + 0.1)
    return np.sum(h * h)


def rows_of_matrix_product(X, W):
    total = 0.0
    for row in X:
        total = total + np.sum(np.tanh(row @ W) ** 2)
    return total


rng = np.random.default_rng(21)
CASES = [
    (rows, (rng.normal(size=(5, 3)), rng.normal(size=3)), (0, 1)),
    (zipped, (rng.normal(size=4), rng.normal(size=4)), (0, 1)),
    (enumerated, (rng.normal(size=6),), (0,)),
    (backwards, (rng.normal(size=(4, 3)), rng.normal(size=3)), (0, 1)),
    (rows_of_matrix_product, (rng.normal(size=(4, 3)), rng.normal(size=(3, 2))), (0, 1)),
]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_loops_over_items_are_specialised_and_right(f, args, wrt):
    src = s2s.source(s2s.grad(f, wrt=wrt), *args)
    left = [h for h in GENERAL_HELPERS if h in src]
    assert not left and "# s2s:" not in src, src
    check_all(f, args, wrt=wrt)
    general = s2s.derivative(f, wrt=wrt)(*args)  # the code for any shapes (one gradient: not in a tuple)
    for got, expected in zip(s2s.grad(f, wrt=wrt)(*args), general if len(wrt) > 1 else (general,)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_a_list_of_arrays_or_a_dict_keeps_the_general_code_and_is_right():
    def over_list(ws, x):
        total = 0.0
        for w in ws:
            total = total + np.sum(np.tanh(w * x))
        return total

    ws = [rng.normal(size=3) for _ in range(3)]
    x = rng.normal(size=3)
    got = s2s.grad(over_list, wrt=1)(ws, x)
    expected = sum(w / np.cosh(w * x) ** 2 for w in ws)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    check_all(over_list, (ws, x), wrt=(1,), use_autograd=False)
