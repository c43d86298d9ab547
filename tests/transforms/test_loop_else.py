"""A loop's `else:` clause runs where no `break` of the loop ended it (transforms/loop_else.py): for and while
loops, breaks in branches and in a nested loop's `else`, a nested loop's own breaks (which end that loop only),
`return` inside, no break at all; each against Python's value and central differences."""

import ast

import numpy as np
import pytest
from conftest import rng
from helpers_fd import check_all_and_general, fd_grad
from s2s.transforms.loop_else import write_loop_else
from s2s.transforms.names import NameAllocator

import s2s


def searched(x, limit):
    s = 0.0
    for v in x:
        if v > limit:
            s = s * v
            break
        s = s + v * v
    else:
        s = s * 2.0
    return s


def while_with_else(x):
    i, s = 0, x[0]
    while i < len(x):
        s = s * 0.5 + x[i]
        if s > 1.5:
            break
        i += 1
    else:
        s = np.sin(s)
    return s * x[-1]


def no_break(x):
    s = 0.0
    for v in x:
        s = s + np.tanh(v)
    else:
        s = s * s
    return s


def inner_break_only(x):
    s = 0.0
    for i in range(len(x)):
        for j in range(len(x)):
            if j > i:
                break  # (ends the inner loop: the outer loop's else still runs)
            s = s + x[i] * x[j]
    else:
        s = s + 1.0
    return s


def break_in_the_inner_else(x, limit):
    s = 0.0
    for i in range(len(x)):
        for j in range(2):
            s = s + x[i] * (j + 1)
        else:
            if s > limit:
                break  # (in the inner loop's else: ends the outer loop)
    else:
        s = -s
    return s


def nested_elses(x):
    s = 1.0
    for _ in range(len(x)):
        for j in range(len(x)):
            if x[j] * s > 2.0:
                break
            s = s * 1.1 + x[j]
        else:
            s = s * 0.9
    else:
        s = s + np.sum(x)
    return s


def returned_inside(x):
    for v in x:
        if v > 1.0:
            return v * 3.0
    else:
        return np.sum(x ** 2)


CASES = [(searched, (0.4,)), (searched, (9.0,)), (while_with_else, ()), (no_break, ()), (inner_break_only, ()),
         (break_in_the_inner_else, (0.5,)), (break_in_the_inner_else, (99.0,)), (nested_elses, ()),
         (returned_inside, ())]


@pytest.mark.parametrize("f,rest", CASES, ids=[f"{f.__name__}-{k}" for k, (f, _) in enumerate(CASES)])
def test_a_loop_s_else_runs_where_no_break_ended_it(f, rest):
    for seed in (1, 2):
        x = rng(seed).uniform(0.1, 0.9, size=5)
        x[seed] = 1.3  # (a break, or none, on some paths)
        check_all_and_general(f, (x, *rest), use_autograd=False)
        value, _ = s2s.value_and_grad(f)(x, *rest)
        assert value == pytest.approx(f(x.copy(), *rest), rel=1e-12)
        _, tangent = s2s.jvp(f, (x, *rest), (np.ones(5),) + (None,) * len(rest))
        assert tangent == pytest.approx(float(np.sum(fd_grad(f, (x, *rest)))), rel=1e-5, abs=1e-7)


def test_the_flag_is_set_by_the_loop_s_own_breaks_alone():
    tree = ast.parse("def f(xs):\n"
                     "    for x in xs:\n"
                     "        for y in xs:\n"
                     "            break\n"
                     "        if x:\n"
                     "            break\n"
                     "    else:\n"
                     "        x = 0\n"
                     "    return x\n").body[0]
    write_loop_else(tree, NameAllocator({"f", "xs", "x", "y", "broke"}))
    text = ast.unparse(tree)
    assert text.count("broke2 = True") == 1 and "if not broke2:" in text, text
    inner = tree.body[1].body[0]
    assert ast.unparse(inner.body) == "break"  # (the inner loop's break sets nothing)


def test_the_printed_code_shows_the_flag():
    src = s2s.source(s2s.grad(searched), np.array([0.2, 0.5, 1.2]), 0.4)
    assert "broke = True" in src or "broke" in src, src
