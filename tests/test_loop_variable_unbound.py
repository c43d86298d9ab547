"""A `for` loop of no trips leaves its variable unbound, and Python raises UnboundLocalError where it is read. A
loop with `break`, `continue` or an early `return` is run as a `while` whose variable the tape saves from a
placeholder `k = None`, and `x[None]` is the whole array: s2s.grad gave all ones for `x[k]` after an empty loop
(helper 175). Each statement after the loop that reads the variable now tests a flag the loop sets where it binds
the variable (transforms/definite.py, since stop 56; the loop's counter before)."""

from __future__ import annotations

import numpy as np
import pytest

import s2s


def broken_loop(x, a):
    s = 0.0
    for k in range(len(x) - 6):  # no trip for six items
        if x[k] > a:
            break
        s = s + x[k] * a
    return s + x[k]


def summed_after(x, a):
    s = 0.0
    for k in range(len(x) - 6):
        if x[k] > a:
            break
        s = s + x[k] * a
    return s + np.sum(x[k])


def returns_early(x, a):
    s = 0.0
    for k in range(len(x) - 6):
        if x[k] > a:
            return s
        s = s + x[k] * a
    return s + np.sum(x[k])


def inner_loop_empty(X, a):
    s = 0.0
    for i in range(X.shape[0]):
        for k in range(X.shape[1]):
            if X[i, k] > a:
                break
            s = s + X[i, k] * a
        s = s + X[i, k]
    return s


@pytest.mark.parametrize("f, x", [(broken_loop, np.arange(6.0)), (summed_after, np.arange(6.0)),
                                  (returns_early, np.arange(6.0)), (inner_loop_empty, np.ones((2, 0)))],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_the_variable_of_an_empty_loop_is_unbound_as_in_python(f, x):
    with pytest.raises(UnboundLocalError, match="'k'"):
        f(x, 0.5)
    with pytest.raises(UnboundLocalError, match="'k'"):
        s2s.grad(f)(x, 0.5)
    with pytest.raises(UnboundLocalError, match="'k'"):
        s2s.value_and_grad(f, argnums=(0, 1))(x, 0.5)


def test_a_loop_with_trips_reads_its_last_value():
    x = np.array([0.1, 0.9, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])  # two trips, the second breaks
    g = s2s.grad(broken_loop)(x, 0.5)
    expected = np.zeros(8)
    expected[0] = 0.5
    expected[1] = 1.0  # the break's k: read after the loop
    np.testing.assert_allclose(g, expected)


def test_a_variable_bound_before_the_loop_keeps_that_value():
    def f(x, a):
        k = 1
        for k in range(len(x) - 6):
            if x[k] > a:
                break
        return x[k] * a

    x = np.arange(6.0)
    np.testing.assert_allclose(s2s.grad(f)(x, 2.0), [0.0, 2.0, 0.0, 0.0, 0.0, 0.0])


def test_an_inner_loop_of_no_trips_keeps_the_value_an_earlier_trip_bound():
    """Python keeps the inner loop's variable from an earlier outer trip where a later inner loop runs no trip."""
    def f(x, n):
        s = 0.0
        for j in range(3):
            for k in range(n[j]):
                if x[k] > 5.0:
                    break
                s = s + x[k]
            s = s + x[k] * 2.0
        return s

    x, n = np.arange(6.0), np.array([3, 0, 2])
    np.testing.assert_allclose(s2s.grad(f)(x, n), [2.0, 4.0, 5.0, 0.0, 0.0, 0.0])
    with pytest.raises(UnboundLocalError, match="'k'"):
        s2s.grad(f)(x, np.array([0, 0, 2]))


def read_in_one_branch(x, a):
    s = 0.0
    n = len(x) - 6
    for k in range(n):
        if x[k] > a:
            break
        s = s + x[k] * a
    return s + (x[k] * a if n > 0 else a)  # (Python reads k only where the loop ran)


def bound_again_after(x, a):
    s = 0.0
    for k in range(len(x) - 6):
        if x[k] > a:
            break
        s = s + x[k] * a
    s = s + np.sum(x[k]) * a  # (unbound here where no trip ran)
    k = 0
    return s + k


def enumerated_items(x, a):
    s = 0.0
    for i, v in enumerate(x[6:]):  # noqa: B007 - i is read after the loop
        if v > a:
            break
        s = s + v * a
    return s + x[i]


def test_a_read_that_may_not_run_raises_nothing():
    """(helper 177) the guard is not put before a statement whose read of the variable runs only on one branch."""
    x = np.arange(6.0) * 0.1
    assert read_in_one_branch(x, 0.5) == 0.5
    got = s2s.grad(read_in_one_branch, argnums=(0, 1))(x, 0.5)
    np.testing.assert_array_equal(got[0], np.zeros(6))
    assert got[1] == 1.0


@pytest.mark.parametrize("f", [bound_again_after, enumerated_items], ids=lambda f: f.__name__)
def test_names_bound_again_later_or_by_the_items_are_unbound_too(f):
    """(helper 177) the variable bound again after the read, and the names of `for i, v in enumerate(...)`."""
    x = np.arange(6.0) * 0.1
    with pytest.raises(UnboundLocalError):
        f(x, 0.5)
    with pytest.raises(UnboundLocalError):
        s2s.grad(f, argnums=(0, 1))(x, 0.5)
