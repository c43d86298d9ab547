"""Numbers every loop trip computes alike are computed once, before the loop (transforms/invariants.py).

Each program: the source has the hoisted statement once, before its loop (or keeps it in the loop
where the proof does not hold), and the gradient equals the general code's (s2s.derivative)
exactly and agrees with central differences and autograd.
"""

import ast

import numpy as np
import pytest
from helpers_fd import check_all

import s2s


def euler(k, x0):
    x, v = x0, 0.0
    for _ in range(30):
        a = -k * x - 0.1 * v
        x = x + 0.01 * v
        v = v + 0.01 * a
    return x * x + v * v


def steps(k, xs):
    s = 0.0
    for i in range(xs.shape[0]):  # no trip at all for an empty xs
        s = s + (k * 2.0) * xs[i]
    return s * s


def divided(k, x0):
    x = x0
    for _ in range(5):
        x = x * (1.0 / k) + 0.5  # a division of numbers may raise: stays in the loop
    return x * x


def rebound(k, x0):
    x, c = x0, k
    for _ in range(5):
        c = c * 0.5  # c changes every trip: not invariant
        x = x + c * x
    return x * x


def array_invariant(W, x):
    s = 0.0
    for i in range(3):
        s = s + np.sum((-W) @ x * i)  # an array: one object shared between trips is not proven harmless
    return s


def _loops(src):
    fdef = ast.parse(src).body[-1]
    return [s for s in fdef.body if isinstance(s, ast.For)], fdef


def test_negated_argument_is_computed_once_before_both_loops():
    src = s2s.source(s2s.grad(euler), 1.3, 0.8)
    loops, fdef = _loops(src)
    assert ast.unparse(fdef).count("-k") == 1, src
    first = fdef.body.index(loops[0])
    assert any(ast.unparse(s).endswith("= -k") for s in fdef.body[:first]), src
    assert s2s.grad(euler)(1.3, 0.8) == s2s.derivative(euler)(1.3, 0.8)
    check_all(euler, (1.3, 0.8), wrt=(0, 1))


@pytest.mark.parametrize("n", [0, 1, 4])
def test_hoisted_number_with_loops_of_any_trip_count(n):
    xs = np.random.default_rng(n).normal(size=n)
    src = s2s.source(s2s.grad(steps), 0.7, xs)
    loops, fdef = _loops(src)
    assert not any(ast.unparse(s).endswith("= k * 2.0") for loop in loops for s in ast.walk(loop)
                   if isinstance(s, ast.Assign)), src
    assert s2s.grad(steps)(0.7, xs) == s2s.derivative(steps)(0.7, xs)
    check_all(steps, (0.7, xs))


def test_division_stays_in_its_loop():
    src = s2s.source(s2s.grad(divided), 1.7, 0.4)
    loops, _ = _loops(src)
    assert any("1.0 / k" in ast.unparse(loop) for loop in loops), src
    check_all(divided, (1.7, 0.4), wrt=(0, 1))


def test_rebound_name_stays_in_its_loop():
    src = s2s.source(s2s.grad(rebound), 0.3, 0.4)
    loops, _ = _loops(src)
    assert any("c * 0.5" in ast.unparse(loop) for loop in loops), src
    assert s2s.grad(rebound)(0.3, 0.4) == s2s.derivative(rebound)(0.3, 0.4)
    check_all(rebound, (0.3, 0.4), wrt=(0, 1))


def test_array_stays_in_its_loop():
    """(value_and_grad: s2s.grad's code computes nothing of the forward loop, whose value only the loss reads)"""
    rng = np.random.default_rng(7)
    W, x = rng.normal(size=(3, 3)), rng.normal(size=3)
    src = s2s.source(s2s.value_and_grad(array_invariant), W, x)
    loops, fdef = _loops(src)
    assert "-W" in ast.unparse(loops[0]) and all("-W" not in ast.unparse(s) for s in fdef.body if s not in loops), src
    assert "-W" not in ast.unparse(ast.parse(s2s.source(s2s.grad(array_invariant), W, x)))
    np.testing.assert_array_equal(s2s.grad(array_invariant)(W, x), s2s.derivative(array_invariant)(W, x))
    check_all(array_invariant, (W, x))
