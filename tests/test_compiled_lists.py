"""The user's own lists under compile=True (numba_lowering._user_lists): a list appended in a loop and read whole
(`np.stack(hs)`, `np.array(hs)`), by its length or by items, stays a numba list, and np.stack's adjoint pops its
rows; what numba cannot type falls back to the NumPy code. Each gradient equals the NumPy code's and central
differences."""

import warnings

import numpy as np
import pytest

import s2s
from tests.helpers_fd import compiled_matches, fd_grad

pytest.importorskip("numba")
from s2s import compiled  # noqa: E402


def rnn_states(W, U, xs):
    h = np.zeros(W.shape[0])
    hs = []
    for t in range(xs.shape[0]):
        h = np.tanh(W @ xs[t] + U @ h)
        hs.append(h)
    H = np.stack(hs)
    return np.sum(H ** 2) / H.shape[0]


def rows_as_array(w, X):
    rows = []
    for i in range(3):
        rows.append(np.sin(X[i] * w))
    for i in range(2):
        rows.append(X[i + 3] * w)
    return np.sum(np.array(rows) * X[:5])


def test_states_stacked_compile_and_match():
    r = np.random.default_rng(0)
    W, U, xs = r.normal(size=(4, 3)) * 0.5, r.normal(size=(4, 4)) * 0.3, r.normal(size=(6, 3))
    for wrt in (0, 1):
        compiled_matches(rnn_states, (W, U, xs), wrt=wrt)
    src = compiled.source_of(s2s.grad(rnn_states, compile="strict"), W, U, xs)
    assert "_s2s_stack_list(hs)" in src and "append_grads_owned" in src


def test_rows_made_an_array_compile_and_match():
    r = np.random.default_rng(1)
    compiled_matches(rows_as_array, (r.normal(size=4), r.normal(size=(6, 4))), wrt=0)


def appended_when(x, c):
    items = []
    for k in range(5):
        if x[k] > c:
            items.append(x[k] * x)
    if len(items) == 0:
        return np.sum(x)
    return np.sum(np.stack(items) ** 2)


def stacked_nothing(x):
    items = []
    for k in range(x.shape[0] - 3):
        items.append(x * k)
    return np.sum(np.stack(items))


def test_appends_under_a_branch_and_an_empty_stack_give_numpys_results():
    x = np.array([0.3, -1.2, 0.8, 1.5, -0.1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", compiled.CompiledFallbackWarning)
        g = s2s.grad(appended_when, compile=True)
        for c in (0.0, 0.5, 2.0):  # some appends, fewer, none
            np.testing.assert_allclose(g(x, c), s2s.grad(appended_when)(x, c), rtol=1e-12)
            np.testing.assert_allclose(g(x, c), fd_grad(appended_when, (x, c), 0), rtol=1e-6, atol=1e-8)
        h = s2s.grad(stacked_nothing, compile=True)
        np.testing.assert_allclose(h(np.arange(5.0)), fd_grad(stacked_nothing, (np.arange(5.0),), 0), atol=1e-6)
        for _ in range(2):  # np.stack of no arrays: NumPy's error, from the compiled code's fallback too
            with pytest.raises(ValueError, match="at least one array"):
                h(np.arange(3.0))


def leaky_scores(W, X):
    # a list of numbers made an array; np.maximum's adjoint and a column read in the loop; an adjoint that is
    # 0.0 before the backward loop and a number broadcast into it on the first trip
    h = np.zeros(W.shape[0])
    scores = []
    for j in range(X.shape[1]):
        h = 0.3 * h + np.maximum(W @ h + X[:, j], 0.0)
        scores.append(h.sum() * 0.5)
    return np.sum(np.array(scores) ** 2)


def test_numbers_made_an_array_compile_and_match():
    r = np.random.default_rng(2)
    W, X = r.normal(size=(5, 5)) * 0.3, r.normal(size=(5, 7))
    for wrt in (0, 1):
        compiled_matches(leaky_scores, (W, X), wrt=wrt)


def rnn_states_stacked(W, xs):
    """An RNN's states appended to a list and stacked, the loss scaled by `len(xs) / xs.size`: the size of an
    array of known shape is a known int, so the list's adjoint has a known shape (helper 127's probe)."""
    h = np.zeros(W.shape[0])
    hs = []
    for _t, x in enumerate(xs):
        h = np.tanh(W @ h + x)
        hs.append(h)
    H = np.array(hs)
    return np.mean(H ** 2) * len(xs) / xs.size


def test_states_stacked_from_a_list_compile():
    rng = np.random.default_rng(3)
    args = (rng.normal(size=(5, 5)) * 0.4, rng.normal(size=(8, 5)))
    compiled_matches(rnn_states_stacked, args, wrt=0)
    compiled_matches(rnn_states_stacked, args, wrt=1)
