"""Loops over a short list or tuple display of parameters written out (transforms/display_loops.py): each
program is checked against central differences and the general code, the written-out ones for the
straight-line code they get, and the ones that must keep their loop (an item rebound, the list read or changed
otherwise, a `break`) for their numbers."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import compiled_matches, fd_grad

R = np.random.default_rng(50)
L1 = (R.normal(size=(4, 6)) * 0.4, R.normal(size=6) * 0.1)
L2 = (R.normal(size=(6, 3)) * 0.4, R.normal(size=3) * 0.1)
X = R.normal(size=(5, 4))
Y = R.normal(size=(5, 3))


def layers_in_a_list(l1, l2, X, y):
    layers = [l1, l2]
    h = X
    for W, b in layers:
        h = np.tanh(h @ W + b)
    return np.mean((h - y) ** 2)


def layers_in_a_tuple_display(l1, l2, X, y):
    h = X
    for W, b in (l1, l2):
        h = np.tanh(h @ W + b)
    return np.mean((h - y) ** 2)


def layers_twice(l1, l2, X, y):
    layers = [l1, l2]
    h = X
    for W, b in layers:
        h = np.tanh(h @ W + b)
    s = 0.0
    for W, b in layers:
        s = s + np.sum(W ** 2) + np.sum(b ** 2)
    return np.mean((h - y) ** 2) + 0.1 * s


def scales_and_a_number(a, b, x):
    s = 0.0
    for c in [a, 2.0, b]:
        s = s + np.sum(np.sin(c * x))
    return s


def an_item_rebound_in_the_body(a, b, x):
    """(b is rebound by the body: the display holds the old b, a copy would read the new: kept a loop)"""
    s = 0.0
    for c in [a, b]:
        s = s + np.sum(np.sin(c * x))
        b = b * 3.0
    return s + b


def the_list_changed(a, b, x):
    cs = [a, b]
    cs.append(a * b)
    s = 0.0
    for c in cs:
        s = s + np.sum(np.sin(c * x))
    return s


def a_break(a, b, x):
    s = 0.0
    for c in [a, b]:
        s = s + np.sum(np.sin(c * x))
        if s > 100.0:
            break
    return s


def the_target_read_after(a, b, x):
    for c in (a, b):
        x = x * c
    return np.sum(x) * c


def an_empty_display(a, x):
    s = np.sum(a * x)
    for c in []:
        s = s + c
    return s


CASES = {
    "list": (layers_in_a_list, (L1, L2, X, Y), (0, 1)),
    "tuple": (layers_in_a_tuple_display, (L1, L2, X, Y), (0, 1)),
    "twice": (layers_twice, (L1, L2, X, Y), (0, 1)),
    "number": (scales_and_a_number, (0.3, 0.7, R.normal(size=5)), (0, 1)),
    "rebound": (an_item_rebound_in_the_body, (0.3, 0.7, R.normal(size=5)), (0, 1)),
    "changed": (the_list_changed, (0.3, 0.7, R.normal(size=5)), (0, 1)),
    "break": (a_break, (0.3, 0.7, R.normal(size=5)), (0, 1)),
    "target_after": (the_target_read_after, (0.3, 0.7, R.normal(size=5)), (0, 1)),
    "empty": (an_empty_display, (0.3, R.normal(size=5)), (0, 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_differences_and_the_general_code(name):
    f, args, wrt = CASES[name]
    got = s2s.grad(f, wrt=wrt)(*args)
    general = s2s.derivative(f, wrt=wrt)(*args)
    for g, w, h in zip(got, wrt, general):
        if isinstance(args[w], tuple):  # (a layer: against the general code here, differences below)
            for gi, hi in zip(g, h):
                np.testing.assert_allclose(gi, hi, rtol=1e-10, atol=1e-12)
            continue
        np.testing.assert_allclose(g, fd_grad(f, args, wrt=w), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(g, h, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["list", "tuple", "twice"])
def test_layers_match_differences(name):
    f, args, _ = CASES[name]
    W1, b1 = L1
    eps = 1e-6

    def loss(W1_):
        return f((W1_, b1), *args[1:])

    got = s2s.grad(f, wrt=0)(*args)[0]
    want = np.zeros_like(W1)
    for i in np.ndindex(W1.shape):
        d = np.zeros_like(W1)
        d[i] = eps
        want[i] = (loss(W1 + d) - loss(W1 - d)) / (2 * eps)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", ["list", "tuple", "twice", "number", "target_after"])
def test_written_out_with_no_tape(name):
    f, args, wrt = CASES[name]
    src = s2s.source(s2s.grad(f, wrt=wrt), *args)
    for general in ("as_sequence", "unpack_count", ".append(", "unbroadcast", "grad_matmul"):
        assert general not in src, src


@pytest.mark.parametrize("name", ["rebound", "changed", "break"])
def test_kept_a_loop_where_copies_would_differ(name):
    f, args, wrt = CASES[name]
    assert "for " in s2s.source(s2s.grad(f, wrt=wrt), *args)


def test_layers_in_a_list_compile():
    pytest.importorskip("numba")
    compiled_matches(scales_and_a_number, CASES["number"][1], wrt=0)


SCALE = 2.0


def a_global_item(a, x):
    """(a global may be bound again by a function the body calls: kept a loop)"""
    s = 0.0
    for c in (a, SCALE):
        s = s + np.sum(np.sin(c * x))
    return s


def read_before_bound(a, b, x):
    s = 0.0
    if a > 100.0:
        for c in cs:  # noqa: F821  (Python's UnboundLocalError where it runs)
            s = s + c
    cs = [a, b]
    for c in cs:
        s = s + np.sum(np.sin(c * x))
    return s


def test_a_global_item_keeps_the_loop():
    args = (0.3, R.normal(size=5))
    assert "for " in s2s.source(s2s.grad(a_global_item, wrt=(0, 1)), *args)
    np.testing.assert_allclose(s2s.grad(a_global_item)(*args), fd_grad(a_global_item, args), rtol=1e-6)


def test_a_loop_before_the_binding_keeps_the_name_unbound():
    args = (0.3, 0.7, R.normal(size=5))
    np.testing.assert_allclose(s2s.grad(read_before_bound)(*args), fd_grad(read_before_bound, args), rtol=1e-6)
    with pytest.raises(UnboundLocalError):
        s2s.grad(read_before_bound)(200.0, 0.7, args[2])
