"""The adjoint of `P = E / E.sum(axis=a, keepdims=True)` in one sum, and the softmax's `(P_bar - sum(P_bar * P)) * P`
(transforms/normalisation.py): gradients against central differences and autograd, where the rewrite is made and
where it must not be (a sum of another array, a sum without keepdims), float32, and the printed code."""

import numpy as np
import pytest

import s2s
from tests.helpers_fd import assert_close, check_all, fd_grad


def softmax_rows(S, V):
    E = np.exp(S - S.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    return np.sum((P @ V) ** 2)


def softmax_cols(S, V):
    E = np.exp(S)
    P = E / np.sum(E, axis=0, keepdims=True)
    return np.sum(np.sin(P) * V)


def softmax_last(S, V):
    E = np.exp(S)
    s = np.sum(E, axis=-1, keepdims=True)
    P = E / s
    return np.sum(P * V)


def softmax_read_twice(S, V):
    E = np.exp(S)
    P = E / E.sum(axis=1, keepdims=True)
    return np.sum(P * V) + np.sum(P ** 2) + np.sum(E * V)  # (P and E read elsewhere too)


def normalised_square(S, V):
    E = S * S + 0.5
    P = E / E.sum(axis=1, keepdims=True)
    return np.sum(P * V)


def softmax_3d(S, V):
    E = np.exp(S)
    P = E / E.sum(axis=1, keepdims=True)
    return np.sum(P * V)


def other_sum(S, V):
    E = np.exp(S)
    P = E / np.exp(V).sum(axis=1, keepdims=True)  # (s a sum of another array: no rewrite 1)
    return np.sum(P * V) + np.sum(P)


def without_keepdims(S, V):
    E = np.exp(S)
    P = E / E.sum(axis=1)[:, None]
    return np.sum(P * V)


def attention(Wq, Wk, Wv, X, heads=2):
    T, D = X.shape
    dh = D // heads
    Q, K, V = X @ Wq, X @ Wk, X @ Wv
    outs = []
    for hd in range(heads):
        q = Q[:, hd * dh:(hd + 1) * dh]
        k = K[:, hd * dh:(hd + 1) * dh]
        v = V[:, hd * dh:(hd + 1) * dh]
        S = q @ k.T / np.sqrt(dh)
        S = S - S.max(axis=1, keepdims=True)
        P = np.exp(S)
        P = P / P.sum(axis=1, keepdims=True)
        outs.append(P @ v)
    return np.mean(np.concatenate(outs, axis=1) ** 2)


def _args(shape=(5, 5), seed=0):
    r = np.random.default_rng(seed)
    return r.normal(size=shape), r.normal(size=shape)


REWRITTEN = [softmax_rows, softmax_cols, softmax_last, softmax_read_twice, normalised_square]


@pytest.mark.parametrize("f", REWRITTEN + [other_sum, without_keepdims], ids=lambda f: f.__name__)
def test_gradients(f):
    check_all(f, _args(), wrt=(0, 1))


def test_three_axes():
    check_all(softmax_3d, _args((2, 3, 4)), wrt=(0, 1))


def test_attention():
    r = np.random.default_rng(3)
    args = tuple(r.normal(size=(8, 8)) / 3 for _ in range(3)) + (r.normal(size=(5, 8)),)
    check_all(attention, args, wrt=(0, 1, 2))
    code = s2s.source(s2s.grad(attention, wrt=(0, 1, 2)), *args)
    assert code.count("keepdims=True)) * P") == 2, code  # (both heads: the softmax's adjoint in one sum)
    assert "np.mean" not in code.replace("# return np.mean", "")  # (the unread loss is not computed)


@pytest.mark.parametrize("f", [softmax_rows, softmax_cols, softmax_read_twice], ids=lambda f: f.__name__)
def test_float32(f):
    S, V = (a.astype(np.float32) for a in _args())
    g = s2s.grad(f)(S, V)
    assert g.dtype == np.float32
    want = fd_grad(f, (S.astype(np.float64), V.astype(np.float64)), 0)
    assert_close(g, want, rtol=2e-3, atol=2e-4)
    assert "(P_bar * P).sum(axis=" in s2s.source(s2s.grad(f), S, V)


@pytest.mark.parametrize("f", REWRITTEN, ids=lambda f: f.__name__)
def test_rewritten(f):
    code = s2s.source(s2s.grad(f), *_args())
    assert "(P_bar * P).sum(axis=" in code, code
    assert "-P_bar * P" not in code, code


@pytest.mark.parametrize("f", [softmax_rows, softmax_cols, softmax_last], ids=lambda f: f.__name__)
def test_softmax_reads_the_quotient(f):
    code = s2s.source(s2s.grad(f), *_args())
    assert "keepdims=True)) * P\n" in code, code  # (`(P_bar - sum(P_bar * P)) * P`, no division left)
    assert "_bar * E" not in code, code


@pytest.mark.parametrize("f", [other_sum, without_keepdims], ids=lambda f: f.__name__)
def test_not_rewritten(f):
    code = s2s.source(s2s.grad(f), *_args())
    assert "(P_bar - (P_bar * P).sum(" not in code, code


def test_general_code_agrees():
    args = _args()
    for f in REWRITTEN:
        assert_close(s2s.grad(f)(*args), s2s.grad(f, optimize=False)(*args), rtol=1e-10, atol=1e-12)
