"""Ordinary programs of the performance review of stop 45 (helper 130, /tmp/h134) that kept general helpers or fell
back from compiled code; each is checked against central differences, autograd and the general code, and the
printed code is checked for what was kept."""

import warnings

import numpy as np
import pytest
from helpers_fd import check_all_and_general, compiled_matches

import s2s


def _code(src):
    return "\n".join(line for line in src.splitlines() if not line.strip().startswith("#"))


def rnn_language_model(Wxh, Whh, Why, xs, labels):
    """The state made inside, a max-shifted log-sum-exp loss per step (compiled: `h_bar` started as 0.0 and was
    an array after; `m = z.max()` was no number to the compiled claims)."""
    h = np.zeros(Whh.shape[0])
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(Wxh @ xs[t] + Whh @ h)
        z = Why @ h
        m = np.max(z)
        lse = m + np.log(np.sum(np.exp(z - m)))
        loss = loss + lse - z[labels[t]]
    return loss / xs.shape[0]


def discounted_rollout(A, B, u, x0):
    """A term on the whole of `u` beside its rows' reads: `u_bar = 0.2 * u` before the backward loop, then each
    row's adjoint added through getitem_grad's dense array (a cost growing as T squared)."""
    xs = []
    energies = []
    x = x0
    for t in range(u.shape[0]):
        x = A @ x + B @ u[t]
        xs.append(x)
        energies.append(np.sum(np.tanh(x)))
    X = np.stack(xs)
    disc = 0.9 ** np.arange(u.shape[0])
    return np.sum(X ** 2) + 0.1 * np.sum(u ** 2) + np.sum(np.array(energies) * disc)


def _rnn_args(r):
    return (r.normal(size=(5, 3)) * 0.4, r.normal(size=(5, 5)) * 0.4, r.normal(size=(4, 5)) * 0.4,
            r.normal(size=(6, 3)), r.integers(0, 4, 6))


def _rollout_args(r):
    return r.normal(size=(3, 3)) * 0.3, r.normal(size=(3, 2)), r.normal(size=(7, 2)), r.normal(size=3)


def test_rnn_language_model():
    args = _rnn_args(np.random.default_rng(0))
    check_all_and_general(rnn_language_model, args, wrt=(0, 1, 2))
    pytest.importorskip("numba")
    compiled_matches(rnn_language_model, args, wrt=(0, 1, 2))


def test_discounted_rollout_adds_the_rows_in_place():
    args = _rollout_args(np.random.default_rng(1))
    src = _code(s2s.source(s2s.grad(discounted_rollout, wrt=(0, 1, 2, 3)), *args))
    assert "getitem_grad" not in src and "u_bar[t] +=" in src, src
    check_all_and_general(discounted_rollout, args, wrt=(0, 1, 2, 3))


def test_discounted_rollout_compiled():
    pytest.importorskip("numba")
    from s2s import compiled
    args = _rollout_args(np.random.default_rng(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", compiled.CompiledFallbackWarning)
        got = s2s.grad(discounted_rollout, wrt=(0, 1, 2, 3), compile="always")(*args)
    for a, b in zip(got, s2s.grad(discounted_rollout, wrt=(0, 1, 2, 3))(*args)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def causal_attention(W, X):
    """A mask made by np.tri(n) (helper 133): it had no shape, so every adjoint after it stayed general."""
    n = X.shape[0]
    S = (X @ W) @ X.T
    S = np.where(np.tri(n) > 0, S, -1e9)
    A = np.exp(S - np.max(S, axis=1, keepdims=True))
    A = A / np.sum(A, axis=1, keepdims=True)
    return np.sum((A @ X) ** 2)


def test_causal_attention_with_np_tri():
    r = np.random.default_rng(3)
    args = (r.normal(size=(4, 4)) * 0.3, r.normal(size=(6, 4)))
    src = _code(s2s.source(s2s.grad(causal_attention, wrt=(0, 1)), *args))
    assert "kept" not in s2s.source(s2s.grad(causal_attention, wrt=(0, 1)), *args) and "unbroadcast" not in src, src
    check_all_and_general(causal_attention, args, wrt=(0, 1))


def clip_by_a_parameter(x, c):
    return np.sum(np.clip(x, -c, c) ** 2)


def lengths_by_hypot(P):
    return np.sum(np.hypot(P[:, 0], P[:, 1]))


def rows_centred(P, k):
    Q = P.copy()
    for i in range(Q.shape[0]):
        Q[i] = Q[i] - k * Q[i].mean()
    return np.sum(Q ** 2)


@pytest.mark.parametrize("f, args, wrt", [
    (clip_by_a_parameter, lambda r: (r.normal(size=6), 0.4), (0, 1)),
    (lengths_by_hypot, lambda r: (r.normal(size=(5, 2)),), 0),
    (rows_centred, lambda r: (r.normal(size=(4, 3)), 0.5), (0, 1)),
])
def test_compiled_helpers_helper_133_found_missing(f, args, wrt):
    """s2s.clip_mask (np.clip by a differentiated bound), s2s.safe_div (np.hypot), s2s.setitem (a row set in a
    loop) had no compiled versions: these fell back."""
    pytest.importorskip("numba")
    a = args(np.random.default_rng(4))
    compiled_matches(f, a, wrt=wrt)
