"""A name bound in a loop that runs no trip, or in a branch not taken, is unbound after it, and Python raises
UnboundLocalError where it is read. s2s.grad gave numbers there (helper 178): the gradient does not need the
value read (`return v`), so its read was dropped; the tape's placeholder `v = None` stood in for the value; a
loop-invariant binding was moved out of its loop. transforms/definite.py puts a guard before each statement whose
read may find the name unbound (`if not v_bound: raise UnboundLocalError(...)`); with trips, the gradients are as
before."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.conftest import check_grad

X = np.array([0.3, 0.7, 0.2, 0.9])


def two_loops_one_name(x, n):
    for i in range(n):
        v = x[i]
    for j in range(n):
        v = v + x[j]
    return v


def invariant_in_loop(x, n):
    for _ in range(n):
        v = x[0] * 2.0
    return v * x[1]


def while_with_break(x, n):
    k = 0
    while k < n:
        v = x[k]
        if v > 0.5:
            break
        k = k + 1
    return v


def bound_under_if(x, n):
    for i in range(n):
        if x[i] > 0.5:
            v = x[i]
    return v


def over_a_map(x, n):
    for _ in map(int, range(n)):
        v = x[0] * 2.0
    return np.sum(v + x)


def loop_variable_after(x, n):
    s = 0.0
    for v in x[:n]:
        s = s + v
    return s + v


def read_in_a_later_loop(x, n):
    for i in range(n):
        k = i
    s = 0.0
    for j in range(2):
        s = s + x[k] * x[j]
    return s


def bound_in_one_branch(x, c):
    if c > 0:
        v = np.sin(x)
    return np.sum(v * x)


PROGRAMS = [two_loops_one_name, invariant_in_loop, while_with_break, bound_under_if, over_a_map,
            loop_variable_after, read_in_a_later_loop]


@pytest.mark.parametrize("f", PROGRAMS + [bound_in_one_branch], ids=lambda f: f.__name__)
def test_raises_where_python_raises(f):
    with pytest.raises(UnboundLocalError):
        f(X, 0)
    for make in (lambda: s2s.grad(f, wrt=0), lambda: s2s.value_and_grad(f, wrt=0)):
        g = make()
        for _ in range(2):  # (the second call runs the code specialised to these shapes)
            with pytest.raises(UnboundLocalError, match="where it is not associated with a value"):
                g(X, 0)


@pytest.mark.parametrize("f", PROGRAMS + [bound_in_one_branch], ids=lambda f: f.__name__)
def test_with_trips_the_gradient_is_right(f):
    check_grad(f, X, 3, wrt=0, ag=False)


def test_the_guard_costs_a_flag_per_binding_and_one_test():
    g = s2s.grad(invariant_in_loop, wrt=0)
    text = s2s.source(g, X, 3)
    assert text.count("v_bound = True") == 1 and text.count("raise UnboundLocalError") == 1, text
    assert "_bound" not in s2s.source(s2s.grad(squares), X)


def squares(x):
    total = 0.0
    for v in x:
        total = total + v * v
    return total


# ---- a Jacobian of several arguments evaluates the function once per argument (helper 178) -----------------------

def two_items_stepped(x, y, it):
    return x[next(it)] * y[next(it)]


def two_with_a_draw(x, y, rng):
    return np.sum(x * y * rng.normal(size=4))


@pytest.mark.parametrize("f, extra", [(two_items_stepped, lambda: iter([0, 2, 1, 3])),
                                      (two_with_a_draw, lambda: np.random.default_rng(0))],
                         ids=["next", "random draw"])
def test_a_jacobian_of_two_arguments_refuses_what_would_differ_between_its_evaluations(f, extra):
    with pytest.raises(s2s.UnsupportedSyntaxError, match=r"s2s.jacobian\(\.\.\., wrt=\(0, 1\)\) evaluates"):
        s2s.jacobian(f, wrt=(0, 1))(X, X[::-1].copy(), extra())


def test_a_jacobian_of_two_arguments_of_a_plain_function():
    jx, jy = s2s.jacobian(lambda x, y: x * y + np.sin(x), wrt=(0, 1))(X, X[::-1].copy())
    np.testing.assert_allclose(jx, np.diag(X[::-1] + np.cos(X)))
    np.testing.assert_allclose(jy, np.diag(X))


# ---- a helper of yours expanded in a loop: its locals are unbound at each call (helper 179) ------------------------

def last_of(x, n):
    for i in range(n):
        v = x[i] * 2.0
    return v


def calls_it_in_a_loop(x):
    s = 0.0
    for k in range(2):
        s = s + last_of(x, 1 - k)  # (the second call runs no trip: `v` unbound, though the first call bound it)
    return s


def calls_it_with_trips(x):
    s = 0.0
    for k in range(2):
        s = s + last_of(x, 2 + k)
    return s


def test_a_helper_s_local_is_unbound_at_each_call():
    with pytest.raises(UnboundLocalError):
        calls_it_in_a_loop(X)
    with pytest.raises(UnboundLocalError):
        s2s.grad(calls_it_in_a_loop)(X)
    check_grad(calls_it_with_trips, X, wrt=0, ag=False)


# ---- an inner loop's variable read after it, in each trip of an outer loop (helper 180; older) ----------------------

def inner_variable_after_the_inner_loop(x):
    s = 0.0
    for j in range(2):
        for i in range(2 + j):  # noqa: B007 - read after the loop
            pass
        s = s + x[i]  # (x[1], then x[2]: the backward sweep read the value its own replay left, x[2] twice)
    return s


def inner_variable_with_work(x):
    s = 0.0
    for j in range(2):
        for i in range(2 + j):
            s = s + x[i] * 0.5
        s = s + x[i] * x[j]
    return s


def last_index(x, n):
    for i in range(n):  # noqa: B007 - read after the loop
        pass
    return x[i]


def helper_loop_in_a_loop(x):
    s = 0.0
    for j in range(2):
        s = s + last_index(x, 2 + j)
    return s


@pytest.mark.parametrize("f", [inner_variable_after_the_inner_loop, inner_variable_with_work, helper_loop_in_a_loop],
                         ids=lambda f: f.__name__)
def test_an_inner_loop_s_variable_read_after_it_has_this_trip_s_value(f):
    check_grad(f, X, wrt=0, ag=False)


def last_tripled(x, n):
    for i in range(n):
        w = x[i]
    return w * 3.0


def calls_it_in_its_loop(x, n):
    s = x[0]
    for j in range(2):
        s = s + last_tripled(x, n - j)  # (n = 1: the second call runs no trip)
    return s


def through_another_helper(x, n):
    return calls_it_in_its_loop(x, n)


def test_a_helper_s_local_is_unbound_at_each_call_inside_another_helper():
    """(The reset's names are renamed with the helper expanded around it: helper 180.)"""
    with pytest.raises(UnboundLocalError):
        through_another_helper(X, 1)
    with pytest.raises(UnboundLocalError):
        s2s.grad(through_another_helper)(X, 1)
    check_grad(through_another_helper, X, 3, wrt=0, ag=False)


def _last_multiple(x, n):
    for i in range(n):
        last = x * i
    return last


def _twice_the_last(x, n):
    s = _last_multiple(x, n)
    return s * 2.0


def _outer_of_two_helpers(x, n):
    return _twice_the_last(x, n) + x


def test_the_message_names_the_variable_as_written_in_an_expanded_helper():
    # (a helper expanded in place has its locals renamed: the message named `last2`)
    for f in (_twice_the_last, _outer_of_two_helpers):
        with pytest.raises(UnboundLocalError, match="local variable 'last' where"):
            s2s.grad(f)(1.5, 0)
        check_grad(f, 1.5, 3)


def _over_an_empty_display(x):
    for v in []:
        y = v * x
    return x + y


def _over_an_empty_tuple_then_bound(x):
    for v in ():
        y = v
    y = 2.0 * x
    return y


def test_a_loop_over_an_empty_display_makes_its_names_local():
    # (the loop was written out as no copies: `y` was no local, and s2s raised NameError)
    with pytest.raises(UnboundLocalError, match="local variable 'y'"):
        s2s.grad(_over_an_empty_display)(1.5)
    assert s2s.grad(_over_an_empty_tuple_then_bound)(1.5) == 2.0
