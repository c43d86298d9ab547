"""Worklists: a list of indices the function pops from and appends to (`while stack: i = stack.pop()`).

A list's `pop` hands back one of its items, never the list itself (transforms/ownership.py), and in reverse mode
an item popped from a list the function appends to goes back in the backward sweep, where the appends are undone
by pops (transforms/reverse.py). Each program is checked against central differences and autograd, in reverse
and forward mode; the forms reverse mode cannot undo are refused there and taken by forward mode.
"""

import numpy as np
import pytest

import s2s
from tests.conftest import check_grad, numeric_grad

X = np.array([0.5, -1.2, 2.0, 0.3, 0.9])
V = np.array([0.2, -0.4, 0.1, 0.7, -0.3])
CHILDREN = [[1, 2], [3], [4], [], []]


def depth_first(x):
    stack = [0]
    total = 0.0
    while stack:
        i = stack.pop()
        total = total + x[i] ** 2 * (i + 1)
        for c in CHILDREN[i]:
            stack.append(c)
    return total


def breadth_first(x):
    queue = [0]
    total = 0.0
    while queue:
        i = queue.pop(0)
        total = total + np.sin(x[i]) * (i + 1)
        if 2 * i + 1 < len(x):
            queue.append(2 * i + 1)
        if 2 * i + 2 < len(x):
            queue.append(2 * i + 2)
    return total


def pairs_of_indices(x):
    work = [(0, 1), (1, 2)]
    s = 0.0
    while work:
        i, j = work.pop()
        s = s + x[i] * x[j]
        if i > 0:
            work.append((i - 1, j))
    return s


def popped_from_the_end(x):
    order = [0, 1, 2, 3]
    s = 0.0
    for r in range(3):
        i = order.pop(-2)
        s = s + x[i] ** 2 * (r + 1.0)
        order.append(i)
    return s


def countdown(x):
    todo = [0, 1, 2]
    s = 0.0
    while todo:  # (never appended to: nothing to undo)
        i = todo.pop()
        s = s + np.exp(x[i]) * x[i + 1]
    return s


@pytest.mark.parametrize("f", [depth_first, breadth_first, pairs_of_indices, popped_from_the_end, countdown])
def test_a_worklist_of_indices_differentiates_in_both_modes(f):
    check_grad(f, X)
    _, tangent = s2s.jvp(f, (X,), (V,))
    np.testing.assert_allclose(tangent, numeric_grad(f, (X,), 0) @ V, rtol=1e-6, atol=1e-8)
    assert s2s.grad(f)(X).shape == X.shape and not np.shares_memory(s2s.grad(f)(X), X)


def test_the_backward_sweep_puts_the_item_back():
    src = s2s.source(s2s.derivative(breadth_first), X)
    assert "queue.insert(0, i)" in src, src
    src = s2s.source(s2s.derivative(depth_first), X)
    assert "stack.append(i)" in src, src


def window_of_arrays(x):
    hs = [x * 1.0, x * 2.0]
    s = 0.0
    for _ in range(3):
        h = hs.pop()  # (an item that carries a derivative: its adjoint would need its place back)
        s = s + np.sum(h * x)
        hs.append(h * 1.5)
    return s


def popped_at_a_computed_place(x):
    order = [0, 1, 2, 3]
    s = 0.0
    for r in range(3):
        i = order.pop(r)  # (the place is a value: not written back)
        s = s + x[i] ** 2
        order.append(i)
    return s


@pytest.mark.parametrize("f, message", [
    (window_of_arrays, r"list.pop\(\) in forward mode only"),
    (popped_at_a_computed_place, r"in forward mode only where i is not an int written in the code"),
], ids=["differentiated-items", "computed-place"])
def test_what_reverse_mode_cannot_put_back_is_forward_mode_only(f, message):
    with pytest.raises(s2s.UnsupportedSyntaxError, match=message):
        s2s.grad(f)(X)
    np.testing.assert_allclose(s2s.jacfwd(f)(X), numeric_grad(f, (X,), 0), rtol=1e-6, atol=1e-8)
