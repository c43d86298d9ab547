"""Adversarial programs against the relaxed aliasing and ownership checks: each derivative (and value) agrees
with Python's and finite differences, or the program is refused."""

from __future__ import annotations

import bisect
import heapq
import operator

import numpy as np
import pytest

import s2s
from s2s.errors import UnsupportedSyntaxError
from tests.helpers_fd import fd_grad

X3 = np.array([1.0, 2.0, 3.0])


def _right_or_refused(f, args):
    """grad, value_and_grad and derivative agree with f and finite differences, or all refuse f."""
    try:
        value, g = s2s.value_and_grad(f)(*args)
    except UnsupportedSyntaxError:
        for make in (s2s.grad, s2s.derivative):
            with pytest.raises(UnsupportedSyntaxError):
                make(f)(*args)
        return
    want = fd_grad(f, args)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    np.testing.assert_allclose(g, want, rtol=1e-6)
    np.testing.assert_allclose(s2s.grad(f)(*args), want, rtol=1e-6)
    np.testing.assert_allclose(s2s.derivative(f)(*args), want, rtol=1e-6)


# ------------------------------------------------- calls that may give back their argument itself

def diff_of_order_zero(x):
    y = x * 1.0
    z = y
    z = np.diff(z, 0)  # n=0: y itself
    z[0] = z[0] * 3.0
    return np.sum(y * x)


def float64_of_an_array(x):
    y = x * 1.0
    z = np.float64(y)  # of a float64 array: y itself
    z[0] = z[0] * 3.0
    return np.sum(y * x)


def nan_to_num_with_copy_by_position(x):
    y = x * 1.0
    z = y
    z = np.nan_to_num(z, False)  # copy=False: y itself
    z[0] = z[0] * 3.0
    return np.sum(y * x)


def matrix_power_one(x):
    y = np.reshape(x, (2, 2)) * 1.0
    z = y
    z = np.linalg.matrix_power(z, 1)  # y itself
    z[0, 0] = z[0, 0] * 3.0
    return np.sum(y * y)


@pytest.mark.parametrize("f, x", [(diff_of_order_zero, X3), (float64_of_an_array, X3),
                                  (nan_to_num_with_copy_by_position, X3),
                                  (matrix_power_one, np.array([1.0, 2.0, 3.0, 4.0]))])
def test_a_call_that_may_give_back_its_argument_is_no_new_object(f, x):
    # were: value 14.0 where Python gives 16.0, gradient [2, 4, 6] where it is [6, 4, 6] (matrix_power_one:
    # 30.0 vs 38.0, [2, 4, 6, 8] vs [18, 4, 6, 8]): the update of z was taken to leave y alone
    _right_or_refused(f, (x.copy(),))


# ------------------------------------------------- library functions that change an argument in place

def operator_iadd_rebinding(x):
    y = x * 1.0
    z = y
    z = operator.iadd(z, x)  # y += x: y is 2x
    return np.sum(y * x)


def heapify_with_its_result_bound(x):
    L = [x[2], x[0], x[1]]
    t = heapq.heapify(L)  # noqa: F841 (L is [x0, x2, x1]; t, None, is never read)
    return L[0] * 1.0 + L[1] * 2.0


def ndarray_iadd_slot(x):
    y = x * 1.0
    t = np.ndarray.__iadd__(y, x)  # noqa: F841 (y += x)
    return np.sum(y * x)


@pytest.mark.parametrize("f", [operator_iadd_rebinding, heapify_with_its_result_bound, ndarray_iadd_slot])
def test_a_library_call_that_changes_an_argument_is_refused(f):
    # were: gradients [3, 6, 9] where finite differences give [4, 8, 12] (operator_iadd_rebinding, ndarray_iadd_slot:
    # the call, its result unread, was dropped), [2, 0, 1] where they give [1, 0, 2] (heapify: L taken as unchanged)
    _right_or_refused(f, (X3.copy(),))
    with pytest.raises(UnsupportedSyntaxError, match="in place"):
        s2s.grad(f)(X3.copy())


def round_into_itself(x):
    y = x * 1.7
    z = y.round(0, y)  # out=y by position: y is rounded in place
    return np.sum(y * x) + 0.0 * np.sum(z)


def test_an_array_method_given_out_by_position_is_refused():
    # was: gradient [3.7, 6.4, 10.1] where finite differences give [2, 3, 5] (y taken as unchanged)
    _right_or_refused(round_into_itself, (X3.copy(),))
    with pytest.raises(UnsupportedSyntaxError, match="`out`"):
        s2s.grad(round_into_itself)(X3.copy())


def pop_of_an_inner_list(x):
    L = [[x[0], x[1], x[2]], [x[2]]]
    L[0].pop(0)  # L[0] is [x1, x2]
    return (L[0][0] + 2.0 * L[0][1]) * x[2]


def test_a_pop_of_a_list_held_in_a_list_is_refused():
    # was: IndexError (list index out of range) inside the generated derivative, where Python gives 24.0
    _right_or_refused(pop_of_an_inner_list, (X3.copy(),))
    with pytest.raises(UnsupportedSyntaxError, match="may be a view of `L`"):
        s2s.grad(pop_of_an_inner_list)(X3.copy())


def piecewise_linear(c, t):
    knots = [0.0, 1.0, 2.5, 4.0]
    k = bisect.bisect(knots, t) - 1  # (a search: it changes no list)
    lo, hi = knots[k], knots[k + 1]
    s = (t - lo) / (hi - lo)
    return (1.0 - s) * c[k] + s * c[k + 1]


def test_a_search_of_a_local_list_is_not_taken_for_an_update():
    """bisect.bisect reads its list and changes nothing: the check that refuses library functions that may change a
    local object in place (heapq.heapify, bisect.insort) lets it through; the gradient is right."""
    c = np.array([0.5, -1.0, 2.0, 0.25])
    for t in (0.4, 1.7, 3.2):
        got = s2s.grad(piecewise_linear)(c, t)
        np.testing.assert_allclose(got, fd_grad(piecewise_linear, (c, t), 0), rtol=1e-6, atol=1e-9)
    with pytest.raises(s2s.S2SError, match="in place"):
        s2s.grad(heap_sorted)(c)


def heap_sorted(c):
    L = [c[0], c[1], c[2]]
    bisect.insort(L, c[3])
    return L[0] * 2.0
