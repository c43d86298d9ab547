"""Products of stacks of matrices (`a @ b` with more than two axes): their adjoints written out where the stack
shapes are equal (`g @ np.swapaxes(b, -1, -2)`) or b is one matrix (`X.reshape(-1, k).T @ g.reshape(-1, m)`), and
compiled (numba's `@` takes vectors and matrices only: `_s2s_matmul` multiplies the stacks). Broadcast stacks keep
the general helper (it sums over the broadcast axes). Each against central differences and autograd."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import check_all_and_general, compiled_matches

R = np.random.default_rng(1451)


def stacked(A, B):
    return np.sum(np.tanh(A @ B) ** 2)


def attention(Q, K, V):
    S = Q @ np.swapaxes(K, -1, -2) / 2.0
    S = S - S.max(axis=-1, keepdims=True)
    P = np.exp(S)
    P = P / P.sum(axis=-1, keepdims=True)
    return np.sum((P @ V) ** 2)


def shared_weights(X, W, b):
    return np.sum(np.tanh(X @ W + b) ** 2)


def broadcast_stacks(A, B):
    return np.sum((A @ B) ** 2)


CASES = {
    "stacked": (stacked, (R.normal(size=(2, 3, 4)), R.normal(size=(2, 4, 5))), (0, 1)),
    "four_axes": (stacked, (R.normal(size=(2, 2, 3, 4)), R.normal(size=(2, 2, 4, 3))), (0, 1)),
    "attention": (attention, tuple(R.normal(size=(2, 5, 4)) for _ in range(3)), (0, 1, 2)),
    "shared_weights": (shared_weights, (R.normal(size=(2, 3, 4)), R.normal(size=(4, 5)), R.normal(size=5)), (0, 1, 2)),
    "broadcast": (broadcast_stacks, (R.normal(size=(1, 3, 4)), R.normal(size=(2, 4, 2))), (0, 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match(name):
    f, args, wrt = CASES[name]
    check_all_and_general(f, args, wrt=wrt)


@pytest.mark.parametrize("name", ["stacked", "four_axes", "attention", "shared_weights"])
def test_adjoints_written_out(name):
    f, args, wrt = CASES[name]
    text = s2s.source(s2s.grad(f, wrt=wrt), *args)
    assert "grad_matmul" not in text, text


def test_broadcast_stacks_keep_the_helper():
    f, args, wrt = CASES["broadcast"]
    assert "grad_matmul_a" in s2s.source(s2s.grad(f, wrt=wrt), *args)


@pytest.mark.parametrize("name", ["stacked", "four_axes", "attention", "shared_weights"])
def test_compiled(name):
    pytest.importorskip("numba")
    f, args, wrt = CASES[name]
    compiled_matches(f, args, wrt=wrt)


def test_float32_stacks_keep_their_dtype():
    pytest.importorskip("numba")
    args = tuple(a.astype(np.float32) for a in CASES["shared_weights"][1])
    for mode in (False, "strict"):
        got = s2s.grad(shared_weights, wrt=(0, 1), compile=mode)(*args)
        assert [g.dtype for g in got] == [np.float32, np.float32]
        np.testing.assert_allclose(got[1], s2s.grad(shared_weights, wrt=1)(*(a.astype(np.float64) for a in args)),
                                   rtol=1e-4, atol=1e-5)
