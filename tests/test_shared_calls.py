"""A costly call computed twice on the same operands is computed once (transforms/shared_calls.py): the two
adjoints of `np.linalg.solve(A, x)` both solve with A.T (helper 144: an implicit iteration's backward loop
solved twice per step, 294 us where sharing gives 216; its compiled code fell back, `A_bar` started as 0.0).
Each program against central differences and autograd; the pass itself on code it must leave alone."""

from __future__ import annotations

import ast
import builtins

import numpy as np
import pytest
from s2s.transforms.shapes import Shapes
from s2s.transforms.shared_calls import share_repeated_calls
from s2s.transforms.specialize import runtime_helpers

import s2s
import s2s.pipeline  # noqa: F401 - installs the context the passes read rules through
from tests.helpers_fd import check_all_and_general, compiled_matches

R = np.random.default_rng(1449)
A0 = np.eye(6) * 3 + R.normal(size=(6, 6)) * 0.3


def implicit_steps(A, b):
    x = b
    for _ in range(8):
        x = np.linalg.solve(A, x) + 0.1 * x
    return np.sum(x ** 2)


def solve_once(A, b):
    return np.sum(np.sin(np.linalg.solve(A, b)))


def solve_columns(A, B):
    return np.sum(np.linalg.solve(A, B) ** 2)


CASES = {
    "loop": (implicit_steps, (A0, R.normal(size=6)), (0, 1)),
    "once": (solve_once, (A0, R.normal(size=6)), (0, 1)),
    "columns": (solve_columns, (A0, R.normal(size=(6, 3))), (0, 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match(name):
    f, args, wrt = CASES[name]
    check_all_and_general(f, args, wrt=wrt)


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_solve_with_the_transpose(name):
    f, args, wrt = CASES[name]
    text = s2s.source(s2s.grad(f, wrt=wrt), *args)
    assert text.count("np.linalg.solve(A.T") == 1, text


def test_compiled_loop():
    pytest.importorskip("numba")
    compiled_matches(implicit_steps, CASES["loop"][1], wrt=0)


def _shared(text, shapes):
    fdef = ast.parse(text).body[0]
    resolve = lambda n: {"np": np}.get(n, getattr(builtins, n, None))  # noqa: E731
    changed = share_repeated_calls(fdef, lambda f: Shapes(f, shapes, resolve, runtime_helpers(), {}))
    return changed, ast.unparse(fdef)


SHAPES = {"A": (4, 4), "g": (4,), "s": (4,), "a": (4, 4), "x": (4,)}


def test_shared_when_nothing_between_changes():
    changed, text = _shared("def f(A, g, s, a, x):\n    a = a - np.outer(np.linalg.solve(A.T, g), s)\n"
                            "    s = g * 2.0\n    x = x + np.linalg.solve(A.T, g)\n    return (a, x)", SHAPES)
    assert changed and text.count("np.linalg.solve") == 1 and "x = x + solved" in text


@pytest.mark.parametrize("between", ["g = g * 2.0", "g += 1.0", "A[0, 0] = 1.0", "s2 = A.T\n    s2 += 1.0",
                                     "np.add(g, 1.0, g)", "g.sort()"])
def test_left_where_an_operand_changes_between(between):
    changed, text = _shared("def f(A, g, s, a, x):\n    a = a - np.outer(np.linalg.solve(A.T, g), s)\n"
                            f"    {between}\n    x = x + np.linalg.solve(A.T, g)\n    return (a, x)", SHAPES)
    assert not changed and text.count("np.linalg.solve") == 2


def test_left_where_the_first_is_conditional_or_in_a_branch():
    for first in ("a = a - (np.linalg.solve(A, g) if s[0] > 0 else s)", "a = s[0] > 0 and np.linalg.solve(A, g)"):
        changed, _ = _shared(f"def f(A, g, s, a, x):\n    {first}\n    x = x + np.linalg.solve(A, g)\n"
                             "    return (a, x)", SHAPES)
        assert not changed, first
    changed, _ = _shared("def f(A, g, s, a, x):\n    a = np.linalg.solve(A, g)\n    if s[0] > 0:\n"
                         "        x = np.linalg.solve(A, g)\n    return (a, x)", SHAPES)
    assert not changed


def test_undone_where_a_reader_changes_the_shared_array():
    changed, text = _shared("def f(A, g, s, a, x):\n    a = np.linalg.solve(A, g)\n    x = np.linalg.solve(A, g)\n"
                            "    x += 1.0\n    return (a, x)", SHAPES)
    assert not changed and text.count("np.linalg.solve") == 2


def test_a_call_that_rebinds_its_own_operand_is_left():
    changed, _ = _shared("def f(A, g, s, a, x):\n    g = np.linalg.solve(A, g)\n    x = np.linalg.solve(A, g)\n"
                         "    return (g, x)", SHAPES)
    assert not changed
