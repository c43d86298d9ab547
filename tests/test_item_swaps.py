"""Items of an array swapped in place, `y[i], y[j] = y[j], y[i]`: Python reads `y[j]` and `y[i]` before it writes
either. Of a 1-d array each read is a number, which the writes do not change: a swap. Of a matrix `y[i]` is a row,
a view, which the first write changes: both rows end up equal. s2s cannot know the axes when it transforms, so
the read is checked when the code runs (`s2s.item_number`): a number is differentiated, a row refused at your line;
the specialised code drops the check where the shapes say the item is a number."""

import os
import sys
import warnings

import numpy as np
import pytest
from conftest import rng
from helpers_fd import check_all_and_general, compiled_matches, fd_grad

import s2s
from s2s import compiled

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from ordinary_loops import bubble_sorted_weights as bubble_sorted  # noqa: E402  (swaps in a branch, nested loops)


def swapped_pair(x):
    y = x * 1.0
    y[0], y[2] = y[2], y[0]
    return np.sum(y * np.arange(4.0)) + y[0] * y[3]


def rotated(x):
    y = x + 0.0
    y[0], y[1], y[2] = y[1], y[2], y[0]
    return np.sum(y ** 2 * np.arange(1.0, 5.0))


def swapped_by_a_temporary(x):
    y = x * 2.0
    t = y[0]
    y[0] = y[3]
    y[3] = t
    return np.sum(y * np.arange(4.0)) + y[0] * t


def reversed_in_place(x):
    y = np.tanh(x)
    i, j = 0, len(y) - 1
    while i < j:
        y[i], y[j] = y[j], y[i]
        i += 1
        j -= 1
    return np.sum(y * np.arange(len(y)))


def swapped_at_computed_indices(x, order):
    y = x * 1.0
    for k in range(len(order) - 1):
        a, b = order[k], order[k + 1]
        y[a], y[b] = y[b] * 2.0, np.sin(y[a])
    return np.sum(y * y)


def inner_range_bound_after_its_loop(x):
    y = x * 1.0
    m = 3
    for k in range(4):
        for i in range(m):
            if y[i] < y[i + 1]:
                y[i], y[i + 1] = y[i + 1] * 0.9, y[i]
        m = 4 - k  # (the next trip's inner range: the backward sweep must not take this trip's)
    return np.sum(y * np.arange(len(y)) ** 2)


def numbers_of_a_list_swapped(x):
    L = [x[0] * 1.0, x[1] * 2.0, x[2] * 3.0]
    L[0], L[2] = L[2], L[0]
    return L[0] * 1.0 + L[1] * 2.0 + L[2] * 3.0


def rows_swapped(A):
    B = A * 1.0
    B[0], B[1] = B[1], B[0]
    return np.sum(B * np.arange(6.0).reshape(2, 3))


def rows_by_ellipsis(x):
    y = x * 1.0
    y[0, ...], y[1, ...] = y[1, ...], y[0, ...]
    return np.sum(y * np.arange(4.0))


def arrays_of_a_list_swapped(x):
    L = [x * 1.0, x * 2.0]
    L[0], L[1] = L[1], L[0]
    return np.sum(L[0] * 3.0 + L[1])


SWAPS = [(swapped_pair, 4), (rotated, 4), (swapped_by_a_temporary, 4), (bubble_sorted, 7),
         (reversed_in_place, 6), (inner_range_bound_after_its_loop, 6), (numbers_of_a_list_swapped, 3)]


@pytest.mark.parametrize("f,n", SWAPS, ids=[f.__name__ for f, _ in SWAPS])
def test_items_swapped_in_place_are_differentiated(f, n):
    x = rng(3).normal(size=n)
    check_all_and_general(f, (x,), use_autograd=False)  # (autograd takes no item assignment)
    value, _ = s2s.value_and_grad(f)(x)
    assert value == pytest.approx(f(x.copy()), rel=1e-12)
    t = rng(4).normal(size=n)
    _, tangent = s2s.jvp(f, (x,), (t,))
    assert tangent == pytest.approx(float(fd_grad(f, (x,)) @ t), rel=1e-5, abs=1e-7)
    hessian = s2s.hessian(f)(x)
    by_differences = np.array([(s2s.grad(f)(x + 1e-5 * e) - s2s.grad(f)(x - 1e-5 * e)) / 2e-5 for e in np.eye(n)])
    np.testing.assert_allclose(hessian, by_differences, rtol=1e-5, atol=1e-6)


def test_the_order_of_the_swaps_is_followed_at_computed_indices():
    x, order = rng(5).normal(size=5), [3, 0, 4, 1]
    got = s2s.grad(swapped_at_computed_indices)(x, order)
    np.testing.assert_allclose(got, fd_grad(swapped_at_computed_indices, (x, order)), rtol=1e-6, atol=1e-8)


def test_bubble_sort_follows_each_input_order():  # (a sorted input swaps nothing; others swap where they differ)
    for x in (np.arange(5.0), np.arange(5.0)[::-1].copy(), rng(6).normal(size=5)):
        np.testing.assert_allclose(s2s.grad(bubble_sorted)(x), fd_grad(bubble_sorted, (x,)), rtol=1e-6, atol=1e-8)


def test_a_bubble_sort_s_gradient_swaps_adjoints_in_place_and_compiles():
    # (the weights `np.arange(n) ** 2`, an int array, made the adjoint's realness unknown: the whole array was
    # copied and taped at every swap, 24x the primal at 20 entries and 53x at 100; the indices `i + 1` of the
    # swap, bound in the branch, were taped too, and numba could not index with them)
    x = rng(10).normal(size=12)
    src = s2s.source(s2s.grad(bubble_sorted), x)
    assert "s2s.setitem" not in src and "stack.append(y)" not in src, src
    assert "stack.append(i" not in src, src  # (recomputed in the backward branch: `i3 = i + 1`)
    compiled_matches(bubble_sorted, (x,))


def test_float32_items_keep_their_dtype():
    x = rng(7).normal(size=4).astype(np.float32)
    g = s2s.grad(swapped_pair)(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, s2s.grad(swapped_pair)(x.astype(np.float64)), rtol=1e-6)


def test_the_specialised_code_drops_the_check_and_the_general_code_keeps_it():
    x = rng(8).normal(size=4)
    assert "item_number" not in s2s.source(s2s.grad(swapped_pair), x)
    assert "s2s.item_number(" in s2s.source(s2s.derivative(swapped_pair))
    for f in (swapped_pair, swapped_by_a_temporary, rotated):  # (nothing left that numba cannot take)
        compiled_matches(f, (x,))


@pytest.mark.parametrize("f,shape,written", [(rows_swapped, (2, 3), "B[0]"), (rows_by_ellipsis, (4,), "y[0, ...]"),
                                             (arrays_of_a_list_swapped, (3,), "L[0]")],
                         ids=["rows", "ellipsis", "list of arrays"])
def test_an_item_that_is_not_a_number_is_refused_at_your_line(f, shape, written):
    x = rng(9).normal(size=shape)
    line = f.__code__.co_firstlineno + 2
    for derivative in (s2s.grad(f), s2s.derivative(f), s2s.value_and_grad(f)):
        with pytest.raises(s2s.UnsupportedSyntaxError, match="is an array here, not a number") as refused:
            derivative(x)
        assert refused.value.lineno == line
        assert f"`{written}.copy()`" in refused.value.hint
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", compiled.CompiledFallbackWarning)
        with pytest.raises(s2s.UnsupportedSyntaxError, match="is an array here"):
            s2s.grad(f, compile=True)(x)
    if f is rows_swapped:  # (the hint's own swap works when pasted)
        assert "`B[[0, 1]] = B[[1, 0]]`" in refused.value.hint
