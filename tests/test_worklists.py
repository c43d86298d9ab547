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


def two_worklists(x):
    todo, extra = [0, 1, 2], []
    s = 0.0
    while extra or todo:  # (`extra or todo` is todo itself: the test reads its truth, stop 61)
        i = todo.pop()
        s = s + x[i] ** 2
        if i == 1 and not extra:
            extra.append(3)
            i = extra.pop()
            s = s + np.sin(x[i])
    return s


def bounded_worklist(x):
    todo = [0, 1, 2, 4]
    s = 0.0
    while todo and s < 5.0:
        i = todo.pop()
        s = s + x[i] ** 2
    return s


def popped_under_or(x):
    todo = [0, 1, 2]
    s = 0.0
    if todo or x[0] > 5.0:
        i = todo.pop()
        s = s + x[i] ** 3
    return s + x[todo[0]]


@pytest.mark.parametrize("f", [depth_first, breadth_first, pairs_of_indices, popped_from_the_end, countdown,
                               two_worklists, bounded_worklist, popped_under_or])
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


# ---- review 198's programs -------------------------------------------------------------------------------------

def popped_again_if_any_left(x):
    q = [0]
    s = 0.0
    for r in range(3):
        q.append(r + 1)
        i = q.pop()
        s = s + np.sin(x[i]) * s + x[i]
        if q:  # (the backward sweep must read this test as it was, not on the emptied list)
            j = q.pop()
            s = s * x[j]
    return s


def guarded_pops_of_a_fixed_list(x):
    q = [0, 1, 2]
    s = 0.0
    for _ in range(4):
        if q:
            i = q.pop()
            s = s + x[i] ** 2
    return s


def guarded_pops_of_a_dict(x):
    d = {"a": 0, "b": 1}
    s = 0.0
    for k in ("a", "b", "c"):
        if d:
            i = d.pop(k)
            s = s + x[i] ** 2
    return s


def guarded_pops_and_an_append(x):
    q = [0, 1]
    s = 0.0
    for r in range(4):
        if q:
            i = q.pop()
            s = s + x[i] ** 2 * (r + 1)
        if r == 1:
            q.append(3)
    return s


def an_index_in_a_name_that_held_a_value(x):
    q = [0, 1]
    s = 0.0
    i = x[0] * 2  # (i carries a derivative here, none after the pop)
    s = s + i
    for r in range(2):
        i = q.pop()
        s = s + x[i] * s
        q.append(r)
    return s


def underscore_of_its_own(x):
    s = 1.0
    k = 0
    while k < 3:
        _ = np.sin(x[k])  # (the backward sweep's trip loop took `_` for its counter)
        s = s * _ + 1.0
        k += 1
    return s


def appended_in_a_comprehension(x):
    stack = [0]
    total = 0.0
    while stack:
        i = stack.pop()
        total = total + x[i] ** 2 * (i + 1)
        _ = [stack.append(c) for c in CHILDREN[i]]
    return total


def popped_after_the_test(x):
    q = [0, 1]
    s = 1.0
    for _ in range(2):
        if q:  # (helper 199: the list changes after the `if`, before the backward sweep reads the test)
            s = s * x[1] + x[0]
        j = q.pop()
        s = s + x[j] * s
    return s


def ternary_then_pop(x):
    q = [2, 0]
    s = 0.0
    for _ in range(2):
        t = x[0] * 2.0 if q else x[1]
        s = s + t * x[q.pop()]
    return s


REVIEWED = [popped_after_the_test, ternary_then_pop, popped_again_if_any_left, guarded_pops_of_a_fixed_list,
            guarded_pops_of_a_dict, guarded_pops_and_an_append,
            an_index_in_a_name_that_held_a_value, underscore_of_its_own, appended_in_a_comprehension]


@pytest.mark.parametrize("f", REVIEWED, ids=[f.__name__ for f in REVIEWED])
def test_review_198_programs_differentiate_right(f):
    """Helper 198: wrong gradients (a test re-read after its branch popped the list, a user's `_` overwritten by
    the backward loop), an IndexError and a NameError (`q_dot`) in the generated code."""
    check_grad(f, X, ag=False)
    _, tangent = s2s.jvp(f, (X,), (V,))
    np.testing.assert_allclose(tangent, numeric_grad(f, (X,), 0) @ V, rtol=1e-6, atol=1e-8)


def appended_through_map(x):
    a = x * 2.0
    L = []
    list(map(L.append, [a]))  # (an item s2s's analysis does not see go in)
    v = L.pop()
    v[0] = 0.0  # (changes a)
    return np.sum(a * x)


def _pop_of(s):
    return s.pop()


def popped_by_a_helper(x):
    stack = [0]
    total = 0.0
    while stack:
        i = _pop_of(stack)
        total = total + x[i] ** 2
        if i + 1 < 3:
            stack.append(i + 1)
    return total


@pytest.mark.parametrize("f", [appended_through_map, popped_by_a_helper], ids=["map-append", "helper-pop"])
def test_what_the_analysis_cannot_follow_is_refused(f):
    """Helper 198: an update of an item put in by `map(L.append, ...)` was missed (a wrong gradient); a helper's
    `return s.pop()` was summarised as changing nothing (an IndexError in the backward sweep)."""
    with pytest.raises(s2s.UnsupportedSyntaxError):
        s2s.grad(f)(X)
