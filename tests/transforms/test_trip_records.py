"""transforms/trip_records.py (a loop's trip saved as one tuple) and transforms/loop_tests.py (a `while`
loop's test in its header): the rewrites, where they are not made, and gradients bit for bit those of the
code without them, checked against central differences and autograd."""

from __future__ import annotations

import ast
import os
import sys
import textwrap

import numpy as np
import pytest
from s2s.transforms.loop_tests import inline_loop_tests
from s2s.transforms.trip_records import record_trips

import s2s
from tests.helpers_fd import check_all
from tests.plain_code import plain_gradient
from tests.tape_text import taped

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "benchmarks"))
from ordinary_kinds import log_product  # noqa: E402 - the *= product of the benchmark
from ordinary_kinds import newton_cuberoot as cube_root  # noqa: E402 - the benchmark's while loop


def _fdef(text):
    return ast.parse(textwrap.dedent(text)).body[0]


def _rewritten(text):
    fdef = _fdef(text)
    changed = record_trips(fdef, "stack")
    return changed, ast.unparse(fdef)


# ---- the rewrite, on generated code written out -----------------------------------------------------

def test_a_value_read_before_its_restore_gets_a_name_of_its_own():
    changed, out = _rewritten("""
        def g(a, *, x_bar=1.0):
            stack = []
            x = a
            dx = 1.0
            trips = 0
            while abs(dx) > 1e-12:
                trips = trips + 1
                stack.append(dx)
                dx = (x * x - a) / (2.0 * x)
                stack.append(x)
                x = x - dx
            a_bar = 0.0
            for _ in range(trips):
                x = stack.pop()
                t = x_bar * dx
                dx = stack.pop()
                a_bar = a_bar + t / x
            return a_bar
        """)
    assert changed
    assert "saved.append((dx, x))" in out and "for dx_saved, x in reversed(saved):" in out, out
    assert "dx = dx_saved" in out and "trips" not in out and "stack" not in out, out


def test_the_index_is_saved_where_the_backward_loop_reads_it():
    changed, out = _rewritten("""
        def g(x, n):
            stack = []
            for i in range(1, n):
                stack.append(x)
                x = x * i
            x_bar = 1.0
            for i in reversed(range(1, n)):
                x = stack.pop()
                x_bar = x_bar * i
            return x_bar
        """)
    assert changed and "saved.append((i, x))" in out and "for i, x in reversed(saved):" in out, out


@pytest.mark.parametrize("why, text", [
    ("a push under an if", """
        def g(x, n):
            stack = []
            for i in range(n):
                if x > 0:
                    stack.append(x)
                x = x * 2.0
            for i in reversed(range(n)):
                if x > 0:
                    x = stack.pop()
            return x
        """),
    ("a break", """
        def g(x, n):
            stack = []
            trips = 0
            while True:
                trips = trips + 1
                stack.append(x)
                x = x * 2.0
                if x > n:
                    break
            for _ in range(trips):
                x = stack.pop()
            return x
        """),
    ("pops in another order", """
        def g(x, y, n):
            stack = []
            for i in range(n):
                stack.append(x)
                stack.append(y)
                x, y = y, x * y
            for i in reversed(range(n)):
                x = stack.pop()
                y = stack.pop()
            return x
        """),
    ("a value rebound between the trip's first push and its own", """
        def g(x, y, n):
            stack = []
            for i in range(n):
                stack.append(x)
                y = y * x
                x = x + 1.0
                stack.append(y)
                y = y + 1.0
            for i in reversed(range(n)):
                y = stack.pop()
                x = stack.pop()
            return x
        """),
    ("the tape read other than by push and pop", """
        def g(x, n):
            stack = []
            for i in range(n):
                stack.append(x)
                x = x * 2.0
            m = len(stack)
            for i in reversed(range(n)):
                x = stack.pop()
            return x
        """),
    ("another range backwards", """
        def g(x, n):
            stack = []
            for i in range(n):
                stack.append(x)
                x = x * 2.0
            for i in reversed(range(n - 1)):
                x = stack.pop()
            return x
        """),
    ("a loop inside the loop pushes", """
        def g(x, n):
            stack = []
            for i in range(n):
                for j in range(n):
                    stack.append(x)
                    x = x * 2.0
            for i in reversed(range(n)):
                for j in reversed(range(n)):
                    x = stack.pop()
            return x
        """),
])
def test_left_as_it_is(why, text):
    changed, out = _rewritten(text)
    assert not changed, why
    assert out == ast.unparse(_fdef(text))


# ---- loop tests ---------------------------------------------------------------------------------------

def test_a_while_test_read_once_goes_into_the_header():
    fdef = _fdef("""
        def g(x):
            c = abs(x) > 1.0
            trips = 0
            saved = []
            while c:
                x = x / 2.0
                c = abs(x) > 1.0
            return x
        """)
    assert inline_loop_tests(fdef)
    out = ast.unparse(fdef)
    assert "while abs(x) > 1.0:" in out and "c =" not in out, out


@pytest.mark.parametrize("why, text", [
    ("a continue skips the test's recomputation", """
        def g(x):
            c = x > 1.0
            while c:
                x = x / 2.0
                if x > 5.0:
                    continue
                c = x > 1.0
            return x
        """),
    ("the test is read again", """
        def g(x):
            c = x > 1.0
            while c:
                x = x / 2.0
                c = x > 1.0
            return c
        """),
    ("another expression at the end of the trip", """
        def g(x):
            c = x > 1.0
            while c:
                x = x / 2.0
                c = x > 2.0
            return x
        """),
    ("a name the test reads bound between", """
        def g(x):
            c = x > 1.0
            x = 0.5
            while c:
                x = x / 2.0
                c = x > 1.0
            return x
        """),
])
def test_while_tests_left_as_they_are(why, text):
    fdef = _fdef(text)
    assert not inline_loop_tests(fdef), why


# ---- gradients: the same numbers as without the rewrite, and right ------------------------------------

def indexed(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        s = s * w + np.sin(x[i]) * i
    return s


def state_rows(W, xs):
    h = np.zeros(W.shape[0])
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
    return np.sum(h * h)


def two_loops_same_index(x, n):
    y = x
    for i in range(n):
        y = y * np.cos(y + i)
    for i in range(n):
        y = y + np.sin(y * i)
    return y


def zero_trips(x, n):
    y = x
    for i in range(n):
        y = y * y + float(i)
    k = 0
    while k < n:
        y = np.sin(y)
        k += 1
    return y * 3.0


CASES = {
    "product": (log_product, (0.7, 0.4), (0, 1)),
    "cube root": (cube_root, (5.0,), 0),
    "cube root below one": (cube_root, (0.3,), 0),
    "index read backwards": (indexed, (np.linspace(-1.0, 1.0, 7), 0.8), (0, 1)),
    "array state": (state_rows, (np.eye(4) * 0.3 + 0.05, np.arange(12.0).reshape(3, 4) / 10), (0, 1)),
    "two loops, one index name": (two_loops_same_index, (0.3, 4), 0),
    "zero trips": (zero_trips, (0.4, 0), 0),
    "some trips": (zero_trips, (0.4, 3), 0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_are_those_of_the_code_without_records(name):
    f, args, wrt = CASES[name]
    got = check_all(f, args, wrt=wrt)
    want = plain_gradient(f, args, wrt)
    for g, w in zip(got if isinstance(wrt, tuple) else (got,), want if isinstance(wrt, tuple) else (want,)):
        assert type(g) is type(w)
        # (equal but for rounding: a loop's outer products summed after it, as one product, add in another order
        # where the code without records keeps them in the loop)
        np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-15)
    value, again = s2s.value_and_grad(f, wrt=wrt)(*args)
    assert value == f(*args)
    for g, w in zip(again if isinstance(wrt, tuple) else (again,), got if isinstance(wrt, tuple) else (got,)):
        np.testing.assert_array_equal(g, w)


def test_the_rewrites_are_made_on_the_code_grad_runs():
    src = s2s.source(s2s.grad(cube_root), 5.0)
    assert "saved.append((dx, x))" in src and "while abs(dx) > 1e-12 * abs(x):" in src, src
    assert "stack" not in src and "trips" not in src, src
    assert taped(src) == ["dx", "x"]
    src = s2s.source(s2s.grad(indexed, wrt=(0, 1)), np.linspace(-1.0, 1.0, 7), 0.8)
    assert "in reversed(saved)" in src, src


def test_user_names_like_the_rewrites_own_stay_apart():
    def f(x, saved, trips):
        dx_saved = 0.5
        for _ in range(3):
            x = x * saved + dx_saved * x + trips
        return x
    check_all(f, (0.3, 1.2, 0.1), wrt=(0, 1, 2))
    src = s2s.source(s2s.grad(f, wrt=(0, 1, 2)), 0.3, 1.2, 0.1)
    assert "for x in reversed(saved2):" in src, src


def test_higher_derivatives_of_loops_are_unchanged():
    # grad of grad, hessian and jacobian differentiate code made without the records
    np.testing.assert_allclose(s2s.grad(s2s.grad(cube_root))(5.0), -2.0 / 9.0 * 5.0 ** (-5.0 / 3.0), rtol=1e-8)
    h = s2s.hessian(log_product, wrt=0)(0.7, 0.4)
    eps = 1e-5
    d = (s2s.grad(log_product)(0.7 + eps, 0.4) - s2s.grad(log_product)(0.7 - eps, 0.4)) / (2 * eps)
    np.testing.assert_allclose(h, d, rtol=1e-6)


def test_a_python_float_gradient_stays_a_python_float_and_others_keep_their_type():
    g = s2s.grad(cube_root)
    assert type(g(5.0)) is float
    assert "finish" not in s2s.source(g, 5.0)
    assert type(g(np.float64(5.0))) is type(s2s.grad(cube_root, optimize=False)(np.float64(5.0)))
    assert type(g(np.float32(5.0))) is type(s2s.grad(cube_root, optimize=False)(np.float32(5.0)))
    assert type(g(5)) is type(s2s.grad(cube_root, optimize=False)(5))
    got = g(np.array(5.0))
    want = s2s.grad(cube_root, optimize=False)(np.array(5.0))
    assert type(got) is type(want) and np.shape(got) == np.shape(want)


# ---- regressions (helper 110) ---------------------------------------------------------------------------

def inactive_state_restored(x, y):
    u = 0.5
    s = x * u  # the backward sweep needs u as it was here
    for _ in range(3):
        u = u * y  # no gradient flows through u: its backward loop only restores it
    return s * u


def test_a_backward_loop_left_with_comments_alone_still_runs():
    got = check_all(inactive_state_restored, (0.3, 0.7), wrt=0)
    np.testing.assert_allclose(got, 0.25 * 0.7 ** 3, rtol=1e-12)
    assert s2s.value_and_grad(inactive_state_restored)(0.3, 0.7)[1] == got


def times_an_int_item(x, a):
    k = a[0]  # an np.int64: x * k is an np.float64
    return x * k


def test_an_int_array_item_is_not_a_python_int():
    got = s2s.grad(times_an_int_item)(2.0, np.array([3, 4]))
    assert got == 3.0 and type(got) is type(s2s.grad(times_an_int_item, optimize=False)(2.0, np.array([3, 4])))
