"""Adjoints of reads that take every entry once in another order (`x[::-1]`, `P[:, ::-1]`): the adjoint array
is the reversed copy of the read's adjoint (`g[::-1].copy()`), not zeros written over by `x_bar[::-1] += g`.
Each program is checked against central differences, autograd and the general code; the float32 ones keep
their dtype; the compiled code runs where numba is installed."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import check_all_and_general, compiled_matches, fd_grad

R = np.random.default_rng(47)


def cox_partial_likelihood(beta, X, events):
    eta = X @ beta
    w = np.exp(eta)
    risk = np.cumsum(w[::-1])[::-1]
    return -np.sum(events * (eta - np.log(risk)))


def reversed_columns(P, v):
    Q = P[:, ::-1]
    return np.sum(np.tanh(Q @ v) ** 2)


def reversed_rows_and_a_slice(P):
    """(two reads of P: the reversed copy, then the slice added into it)"""
    A = P[::-1]
    B = P[1:]
    return np.sum(A[:-1] * B) + np.sum(A ** 3)


def reversed_both_axes(P):
    Q = P[::-1, ::-1]
    return np.sum(np.sin(Q) ** 3 - Q)


def whole_slice_forward(x):
    y = x[::1]
    z = x[:]
    return np.sum(y * z * x)


def reversed_in_a_loop(x, W):
    h = x
    s = 0.0
    for _ in range(3):
        h = np.tanh(W @ h[::-1])
        s = s + np.sum(h * h)
    return s


def reversed_then_written(x):
    """(the reversed read is x's last: its adjoint array is the function's own, the earlier reads' adjoints go into
    it in place)"""
    a = x[2:] ** 2
    b = x[-1] * 3.0
    y = x[::-1]
    return np.sum(y ** 2) + y[0] * b + np.sum(a * y[:-2])


CASES = {
    "cox": (cox_partial_likelihood, (R.normal(size=4) * 0.2, R.normal(size=(30, 4)), (R.uniform(size=30) < 0.6) * 1.0),
            0),
    "columns": (reversed_columns, (R.normal(size=(5, 4)), R.normal(size=4)), (0, 1)),
    "rows_and_slice": (reversed_rows_and_a_slice, (R.normal(size=(5, 3)),), 0),
    "both_axes": (reversed_both_axes, (R.normal(size=(4, 3)),), 0),
    "whole_forward": (whole_slice_forward, (R.normal(size=6),), 0),
    "loop": (reversed_in_a_loop, (R.normal(size=5), R.normal(size=(5, 5)) * 0.5), (0, 1)),
    "then_written": (reversed_then_written, (R.normal(size=7),), 0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_differences_autograd_and_the_general_code(name):
    f, args, wrt = CASES[name]
    check_all_and_general(f, args, wrt=wrt)


@pytest.mark.parametrize("name", ["cox", "columns", "both_axes", "then_written"])
def test_the_adjoint_is_a_reordered_copy(name):
    """(rows_and_slice's reversal is its first read: its adjoint is added to the slice's, as before)"""
    f, args, wrt = CASES[name]
    src = s2s.source(s2s.grad(f, wrt=wrt), *args)
    assert "[::-1].copy()" in src or "::-1].copy()" in src, src


def test_a_reversed_read_of_a_float32_argument_keeps_its_dtype():
    x = R.normal(size=7).astype(np.float32)
    g = s2s.grad(reversed_then_written)(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, fd_grad(reversed_then_written, (x.astype(np.float64),)), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["cox", "columns", "then_written"])
def test_compiled_code_matches(name):
    pytest.importorskip("numba")
    f, args, wrt = CASES[name]
    compiled_matches(f, args, wrt=wrt)
