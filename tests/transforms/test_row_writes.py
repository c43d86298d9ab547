"""transforms/row_writes.py: rows of an adjoint array a backward loop touches once each. The rewrites on small
functions, where their proof blocks them, and gradients against central differences and the code without it."""

from __future__ import annotations

import ast
import textwrap

import numpy as np
import pytest
from s2s.transforms.row_writes import write_rows_once

import s2s
from tests.helpers_fd import check_all

LOOP = """
    def g(X, G):
        Z_bar = np.outer(G, G)
        X_bar = np.zeros((4, 4))
        for i in reversed(range(4)):
            t = Z_bar[i].copy()
            Z_bar[i] = 0.0
            X_bar[i] += t * 2.0
            X_bar[i] += t
        {after}
        return X_bar
"""


def _rewritten(text, made_up=("Z_bar", "X_bar", "t")):
    fdef = ast.parse(textwrap.dedent(text)).body[0]
    return write_rows_once(fdef, set(made_up)), fdef


def _run(fdef, *args):
    ns = {"np": np}
    exec(compile(ast.Module([fdef], []), "<test>", "exec"), ns)
    return ns[fdef.name](*args)


def test_a_row_zeroed_after_its_read_and_rows_added_once_are_written_once():
    text = LOOP.format(after="")
    changed, fdef = _rewritten(text)
    out = ast.unparse(fdef)
    assert changed and "Z_bar[i] = 0.0" not in out and "t = Z_bar[i]\n" in out, out
    assert "X_bar[i] = t * 2.0 + t" in out and "+=" not in out, out
    X, G = np.arange(16.0).reshape(4, 4), np.arange(4.0) - 1.5
    _, before = _rewritten(text, made_up=())
    np.testing.assert_array_equal(_run(fdef, X, G), _run(before, X, G))


LOOP_ONLY = LOOP.format(after="")


@pytest.mark.parametrize("text", [
    LOOP.format(after="t2 = Z_bar[0]"),  # the zeroed array read after the loop
    LOOP_ONLY.replace("t = Z_bar[i].copy()", "t = Z_bar[i - 1].copy()"),  # a row of another index
    LOOP_ONLY.replace("            X_bar[i] += t\n", "            X_bar[i] += Z_bar[i]\n"),  # a row read after zeroing
], ids=["read after the loop", "another index", "read after the zeroing"])
def test_a_zeroing_something_reads_stays(text):
    _, fdef = _rewritten(text)
    assert "Z_bar[i] = 0.0" in ast.unparse(fdef), ast.unparse(fdef)


@pytest.mark.parametrize("text", [
    LOOP_ONLY.replace("for i in reversed(range(4)):", "for i in reversed(range(4)):\n            i = 3 - i"),
    LOOP_ONLY.replace("X_bar = np.zeros((4, 4))", "X_bar = np.zeros((4, 4))\n        X_bar[0] = 1.0"),
    LOOP_ONLY.replace("X_bar = np.zeros((4, 4))", "X_bar = np.ones((4, 4))"),
], ids=["counter bound again", "touched before the loop", "not zeros"])
def test_adds_into_a_row_that_may_not_be_zero_stay(text):
    _, fdef = _rewritten(text)
    assert "X_bar[i] += t * 2.0" in ast.unparse(fdef), ast.unparse(fdef)


def test_arrays_the_user_named_are_left_as_they_are():
    changed, _ = _rewritten(LOOP.format(after=""), made_up=())
    assert not changed


def test_a_loop_over_anything_but_a_range_is_left_as_it_is():
    text = LOOP.format(after="").replace("for i in reversed(range(4)):", "for i in [0, 0, 1, 2]:")
    changed, _ = _rewritten(text)
    assert not changed


def normalised_rows(X, w):
    Z = np.zeros_like(X)
    for i in range(X.shape[0]):
        Z[i] = X[i] / np.linalg.norm(X[i])
    return np.sum((Z @ w) ** 2)


def scaled_rows(X, a):
    Y = np.zeros_like(X)
    for i in range(X.shape[0]):
        Y[i] = np.tanh(a * X[i]) * X[i]
    return np.sum(Y ** 2) + np.sum(Y[0] * Y[-1])


@pytest.mark.parametrize("f, make", [
    (normalised_rows, lambda r: (r.normal(size=(6, 4)), r.normal(size=4))),
    (scaled_rows, lambda r: (r.normal(size=(5, 3)), 0.7)),
])
def test_gradients_of_rows_written_in_a_loop(f, make):
    args = make(np.random.default_rng(17))
    got = check_all(f, args, wrt=(0, 1), use_autograd=False)  # (autograd has no item assignment)
    for a, b in zip(got, s2s.grad(f, wrt=(0, 1), optimize=False)(*args)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_the_row_normalisation_writes_each_row_once():
    X, w = np.random.default_rng(18).normal(size=(2, 6, 4))[0], np.ones(4)
    src = s2s.source(s2s.grad(normalised_rows), X, w)
    assert "Z_bar[i] = 0.0" not in src and ".copy()" not in src and "X_bar[i] = " in src, src


def rows_from_a_negative_start(x, w):
    Z = np.zeros((4, 3))
    for i in range(-2, 4):  # (rows 2 and 3 are written twice: -2 and 2 are one row)
        Z[i] = x[i] * w
    return np.sum(Z * Z)


def rows_added_from_a_negative_start(X):
    Z = np.zeros((4, 3))
    for i in range(-4, 4):
        Z[i] = Z[i] + X[i] * X[i]
    return np.sum(Z * Z)


def moving_average_first_entry(X, w):
    v = np.zeros(3)
    for t in range(5):
        v = 0.9 * v + X[t] * w
    return v[0]


@pytest.mark.parametrize("f, make, wrt", [
    (rows_from_a_negative_start, lambda r: (r.normal(size=(4, 3)), r.normal(size=3)), (0, 1)),
    (rows_added_from_a_negative_start, lambda r: (r.normal(size=(4, 3)),), (0,)),
    (moving_average_first_entry, lambda r: (r.normal(size=(5, 3)), r.normal(size=3)), (0, 1)),
], ids=["negative start", "negative start, added", "part of a state"])
def test_helper_122s_programs(f, make, wrt):
    """A range from a negative start reaches a row twice (no rewrite then); dead-code elimination after the rewrite
    kept `t2 += t4` but dropped the binding of t2 before it (`t += e` reads t)."""
    args = make(np.random.default_rng(19))
    check_all(f, args, wrt=wrt, use_autograd=f is moving_average_first_entry)
