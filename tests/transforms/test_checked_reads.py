"""An index read whose value the gradient does not need goes where its adjoint checks the same index again
(transforms/checked_reads.py): the same errors for a bad index, the same gradient, nothing the user sees
runs before the check."""

import numpy as np
import pytest
from helpers_fd import check_all

import s2s


def xent(W, X, y):
    logits = np.tanh(X @ W)
    logp = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(X.shape[0]), y])


def pairs(x, rows, cols):
    v = x[rows, cols]
    return np.sum(v) + np.sum(x[1:3] * 2.0)


def pairs_and_squares(x, rows, cols):
    v = x[rows, cols]
    return np.sum(v) + np.sum(x ** 2)


def printed_between(x, idx):
    v = x[idx]
    print("after the read")
    return np.sum(v) + np.sum(x ** 2)


def index_rebound(x, idx):
    v = x[idx]
    idx = idx[::-1]
    return np.sum(v * 0.0 + 1.0) + np.sum(x[idx] ** 2)


def _code(f, *args):
    src = s2s.source(s2s.grad(f), *args)
    return "\n".join(line for line in src.splitlines() if not line.lstrip().startswith("#"))


rng = np.random.default_rng(11)
W, X, y = rng.normal(size=(5, 4)), rng.normal(size=(8, 5)), rng.integers(0, 4, size=8)
x2, rows, cols = rng.normal(size=(4, 3)), np.array([0, 3, 3]), np.array([2, 0, 0])


def test_the_log_softmax_is_not_computed():
    src = _code(xent, W, X, y)
    assert "logp[" not in src and "np.log(" not in src and "logp_bar[arange, y] +=" in src, src


def test_the_pair_read_goes_where_add_at_checks_it():
    src = _code(pairs, x2, rows, cols)
    assert "x[rows, cols]" not in src and "np.add.at(x_bar, (rows, cols)" in src, src
    src = _code(pairs_and_squares, x2, rows, cols)
    assert "x[rows, cols]" not in src, src
    # (x_bar = 2.0 * x, an array of its own the index adjoint is added into in place, or the general helper; the
    # adjoint of `v * 0.0 + 1.0`'s sum is the number 1.0, added at each position the index names, repeats too)
    assert "s2s.getitem_grad(v_bar, x, (rows, cols))" in src or "np.add.at(x_bar, (rows, cols), v_bar)" in src \
        or "np.add.at(x_bar, (rows, cols), 1.0)" in src, src


@pytest.mark.parametrize("f, args", [(xent, (W, X, y)), (pairs, (x2, rows, cols)),
                                     (pairs_and_squares, (x2, rows, cols))], ids=["xent", "pairs", "squares"])
def test_same_gradient_as_the_general_code_and_the_oracles(f, args):
    np.testing.assert_allclose(s2s.grad(f)(*args), s2s.derivative(f)(*args), rtol=1e-12, atol=1e-14)
    check_all(f, args)


@pytest.mark.parametrize("labels", [np.array([0, 1, 2, 3, 4, 0, 1, 2]), np.arange(8) * 0.5,
                                    np.array([0, 1, 2, 3, -5, 0, 1, 2])], ids=["out-of-range", "float", "negative"])
def test_a_bad_label_raises_index_error_as_the_function_does(labels):
    with pytest.raises(IndexError):
        xent(W, X, labels)
    s2s.grad(xent)(W, X, y)  # (the code for these shapes is built first)
    with pytest.raises(IndexError):
        s2s.grad(xent)(W, X, labels)


@pytest.mark.parametrize("f", [pairs, pairs_and_squares])
def test_a_bad_pair_raises_index_error(f):
    s2s.grad(f)(x2, rows, cols)
    with pytest.raises(IndexError):
        s2s.grad(f)(x2, np.array([0, 4, 1]), cols)


def test_nothing_printed_before_the_check(capsys):
    x = rng.normal(size=5)
    assert "v = x[idx]" in _code(printed_between, x, np.array([0, 2]))
    with pytest.raises(IndexError):
        s2s.grad(printed_between)(x, np.array([0, 7]))
    assert "after the read" not in capsys.readouterr().out


def test_an_index_bound_again_keeps_the_read():
    x = rng.normal(size=5)
    idx = np.array([0, 2, 4])
    np.testing.assert_allclose(s2s.grad(index_rebound)(x, idx), s2s.derivative(index_rebound)(x, idx), rtol=1e-12)
    with pytest.raises(IndexError):
        s2s.grad(index_rebound)(x, np.array([0, 9, 4]))


def asserted_between(x, idx):
    v = x[idx]
    assert np.all(x > 0)
    return np.sum(v) + np.sum(x ** 2)


def inverse_between(A, idx):
    v = A[idx]
    B = np.linalg.inv(A)
    return np.sum(v) + np.sum(B)


def cholesky_between(A, idx):
    v = A[idx]
    L = np.linalg.cholesky(A)
    return np.sum(v) + np.sum(L)


def divided_between(x, idx, n):
    v = x[idx]
    r = x * (1.0 / n)
    return np.sum(v) + np.sum(r)


_x5 = np.array([1.0, 2.0, 3.0, 4.0, 5.0])


@pytest.mark.parametrize("f, good, bad", [
    (asserted_between, (_x5, np.array([0, 2])), (-_x5, np.array([0, 7]))),  # (AssertionError came first)
    (inverse_between, (np.eye(3) + 1.0, np.array([0, 2])), (np.ones((3, 3)), np.array([0, 7]))),  # (LinAlgError)
    (cholesky_between, (2.0 * np.eye(3), np.array([0, 2])), (-np.eye(3), np.array([0, 7]))),  # (LinAlgError)
    (divided_between, (_x5, np.array([0, 2]), 2.0), (_x5, np.array([0, 7]), 0.0)),  # (ZeroDivisionError)
], ids=["assert", "inv", "cholesky", "python-division"])
def test_nothing_that_may_raise_runs_before_the_check(f, good, bad):
    """The read raised first in the function: a statement between it and its adjoint that may raise
    (an assert, a singular matrix's inverse, a Python float divided by zero) keeps the read."""
    np.testing.assert_allclose(s2s.grad(f)(*good), s2s.derivative(f)(*good), rtol=1e-12)
    with pytest.raises(IndexError):
        f(*bad)
    with pytest.raises(IndexError):
        s2s.grad(f)(*bad)


def two_reads(x, i, j):
    v = x[i]
    w = x[j]
    return np.sum(v) + np.sum(w) + np.sum(x ** 2)


def test_the_first_bad_index_is_the_one_reported():
    """Both reads went, and the adjoints run in reverse: `j`'s error ("index 9") came before `i`'s ("index 7")."""
    s2s.grad(two_reads)(_x5, np.array([0, 2]), np.array([1, 1]))
    with pytest.raises(IndexError, match="index 7 "):
        two_reads(_x5, np.array([0, 7]), np.array([9, 1]))
    with pytest.raises(IndexError, match="index 7 "):
        s2s.grad(two_reads)(_x5, np.array([0, 7]), np.array([9, 1]))
    np.testing.assert_allclose(s2s.grad(two_reads)(_x5, np.array([0, 2]), np.array([1, 1])),
                               s2s.derivative(two_reads)(_x5, np.array([0, 2]), np.array([1, 1])), rtol=1e-12)
