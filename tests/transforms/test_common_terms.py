"""transforms/common_terms.py: a term a later assignment names, computed once. Source in, source out, where it
moves and where it must not; and a fuzzer of straight-line number code, run before and after (the same values,
bit for bit, and the same errors)."""

from __future__ import annotations

import ast
import random
import textwrap

import numpy as np
import pytest
from s2s.transforms.common_terms import share_common_terms


def _shared(src: str) -> str:
    fdef = ast.parse(textwrap.dedent(src)).body[0]
    share_common_terms(fdef)
    return ast.unparse(fdef)


def test_recomputed_values_read_the_name_of_their_common_term():
    got = _shared("""
        def f(P2, r):
            t5 = 1.0 - P2 / (P2 + r)
            K = P2 / (P2 + r)
            S = P2 + r
            return t5 * K * S
    """)
    assert got == textwrap.dedent("""\
        def f(P2, r):
            S = P2 + r
            K = P2 / S
            t5 = 1.0 - K
            return t5 * K * S""")


@pytest.mark.parametrize("src", [
    # an operand rebound between the first use and the name
    "def f(a, b):\n    t = (a + b) * 2.0\n    a = a * 3.0\n    s = a + b\n    return t + s",
    # the name read (its old value) between
    "def f(a, b, s):\n    t = (a + b) * s\n    s = a + b\n    return t + s",
    # a call between (it may raise or change something first)
    "def f(a, b):\n    t = (a + b) * 2.0\n    u = g(a)\n    s = a + b\n    return t + s + u",
    # an item read between (it may raise)
    "def f(a, b, x):\n    t = (a + b) * x[0]\n    s = a + b\n    return t + s",
    # the term reads the name it is bound to
    "def f(a, b):\n    t = (a + b) * 2.0\n    a = a + b\n    return t + a",
], ids=["rebound", "name read", "call", "item", "self"])
def test_nothing_moves_where_the_value_could_change(src):
    assert _shared(src) == ast.unparse(ast.parse(src))


def _random_block(rnd, names, size):
    """Straight-line assignments of arithmetic on `names` (and new temporaries), some terms written twice."""
    live = list(names)
    lines, terms = [], []
    for k in range(size):
        if terms and rnd.random() < 0.5:
            term = rnd.choice(terms)
        else:
            a, b = rnd.choice(live), rnd.choice(live + ["1.5", "2", "0.5"])
            term = f"({a} {rnd.choice('+-*/')} {b})"
            terms.append(term)
        other = rnd.choice(live)
        value = rnd.choice([term, f"{term} * {other}", f"1.0 - {term}", f"-{term}", f"{other} / {term}"])
        target = rnd.choice(live) if rnd.random() < 0.3 else f"t{k}"
        lines.append(f"    {target} = {value}")
        if target not in live:
            live.append(target)
        if rnd.random() < 0.25:  # an update in place: of an array, it changes every name of that array
            lines.append(f"    {rnd.choice(live)} += {rnd.choice(live)}")
    return "def f(" + ", ".join(names) + "):\n" + "\n".join(lines) + "\n    return (" + ", ".join(live) + ",)\n"


def _run(src, args):
    ns = {"np": np}
    exec(compile(src, "<fuzz>", "exec"), ns)
    try:
        with np.errstate(all="ignore"):
            return ns["f"](*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
    except (ZeroDivisionError, OverflowError) as exc:
        return type(exc).__name__


@pytest.mark.parametrize("arrays", [False, True], ids=["numbers", "arrays"])
@pytest.mark.parametrize("seed", range(40))
def test_fuzzed_blocks_compute_the_same(seed, arrays):
    rnd = random.Random(seed)
    names = ["a", "b", "c"]
    src = _random_block(rnd, names, rnd.randint(3, 9))
    fdef = ast.parse(src).body[0]
    share_common_terms(fdef)
    after = ast.unparse(fdef)
    for _ in range(5):
        args = [rnd.choice([0.0, 1.0, -2.5, rnd.uniform(-3, 3)]) for _ in names]
        if arrays:
            args = [np.array([v, rnd.uniform(-3, 3)]) for v in args]
        before_out, after_out = _run(src, args), _run(after, args)
        same = isinstance(before_out, str) and before_out == after_out or isinstance(before_out, tuple) and all(
            np.array_equal(x, y, equal_nan=True) for x, y in zip(before_out, after_out))
        assert same, (src, after, args, before_out, after_out)


def test_a_term_that_is_a_whole_value_is_not_shared():
    """`k3 = g * 2` after `k2 = g * 2` stays: `k3 = k2` would make one array of two, and `k3 += v` would change k2
    (the RK4 loop's adjoints: a wrong gradient before this test)."""
    src = "def f(g, v):\n    k2 = g * 2\n    k3 = g * 2\n    k3 += v\n    return k2, k3"
    assert _shared(src) == ast.unparse(ast.parse(src))


def test_a_moved_assignment_takes_the_line_of_the_statement_it_moves_before():
    """An error of the term is Python's at the line that computed it first: the moved statement says that line."""
    got = ast.parse("def f(x, n):\n    t = x * (x + 1.0 / n)\n    w = x + 1.0 / n\n    return t + w").body[0]
    share_common_terms(got)
    assert ast.unparse(got.body[0]) == "w = x + 1.0 / n" and got.body[0].lineno == 2


def test_long_runs_are_looked_at_in_windows():
    """A term named further back than WINDOW statements is left as it is (the pass stays linear in the run)."""
    from s2s.transforms.common_terms import WINDOW
    lines = ["    t = (a + b) * 2.0"] + [f"    u{k} = a * {k}.5" for k in range(WINDOW + 2)] + ["    s = a + b"]
    src = "def f(a, b):\n" + "\n".join(lines) + "\n    return t + s"
    assert _shared(src) == ast.unparse(ast.parse(src))


def test_a_later_term_reads_the_name_bound_to_it_first():
    got = _shared("""
        def f(S, t8, g):
            t7_bar = 1.0 / S
            S_bar = -t8 / S
            S_bar = S_bar + 1.0 / S
            S = S * 2.0
            h = g + 1.0 / S
            return t7_bar, S_bar, h
    """)
    assert got == textwrap.dedent("""\
        def f(S, t8, g):
            t7_bar = 1.0 / S
            S_bar = -t8 / S
            S_bar = S_bar + t7_bar
            S = S * 2.0
            h = g + 1.0 / S
            return (t7_bar, S_bar, h)""")


@pytest.mark.parametrize("src", [
    # the name bound again between: its new value is another
    "def f(a, b):\n    n = a + b\n    n = n * 2.0\n    t = (a + b) * 3.0\n    return n + t",
    # a whole value: `m = n` would make one array of two names
    "def f(a, b):\n    n = a + b\n    m = a + b\n    m += 1.0\n    return n + m",
    # an update in place between ends the run
    "def f(a, b):\n    n = a + b\n    a += 1.0\n    t = (a + b) * 3.0\n    return n + t",
], ids=["rebound", "whole value", "update"])
def test_a_later_term_keeps_its_own_value_where_the_name_may_differ(src):
    assert _shared(src) == ast.unparse(ast.parse(src))
