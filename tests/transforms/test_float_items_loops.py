"""transforms/float_items.py in `while` loops and loops with `break`: an item read at a counter a `while` tests
against a literal bound (`while k < 24`, lowered to `cond = k < 24`), or at an item of the range a loop with a
`break` runs over (`k = steps[step]`), is within bounds and read as a Python float; where a read may be out of
bounds (the counter changed after the test, a `continue` skipping the test's binding, a bound past the end), the
array stays NumPy's and IndexError says NumPy's words. The rerun in NumPy numbers after a Python float's division
by zero is decided from the specialised code where the function's summary cannot tell (`N = p[2]; N += ...` may
update `p` where p[2] is a 0-d array): code that writes only into what it made changes nothing a rerun reads."""

from __future__ import annotations

import ast
import builtins
import math
import os
import sys
import warnings

import numpy as np
import pytest
from s2s.transforms.float_items import changes_nothing_outside
from s2s.transforms.shapes import Shapes
from s2s.transforms.specialize import runtime_helpers

import s2s
from tests.conftest import check_grad
from tests.plain_code import plain_gradient

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "benchmarks"))
from ordinary_models import logistic_growth as growth_fit  # noqa: E402  (`N = p[2]; N += ...` under a `while`)


def while_at_most(a, y):
    s = 0.0
    k = 1
    while k <= 9:
        s = s + a * y[k] * y[k - 1]
        k = k + 2
    return s


def break_on_threshold(p, xs):
    s = 0.0
    for k in range(xs.shape[0]):
        e = xs[k] - p[0] * k
        if e > 100.0:
            break
        s += e * e * p[1]
    return s


def break_in_a_while(a, y):
    s = 0.0
    k = 0
    while k < 12:
        if s > 50.0:
            break
        s = s + a * y[k] ** 2
        k += 1
    return s


def zipped_with_a_break(a, xs, ys):
    s = 0.0
    for x, y in zip(xs, ys):
        r = y - a * x
        s = s + r * r
        if s > 40.0:
            break
    return s


CONVERTED = {
    "growth_fit": (growth_fit, lambda r: (np.array([0.45, 9.0, 1.2]), 5.0 + r.normal(size=24)), 0, "obs"),
    "while_at_most": (while_at_most, lambda r: (0.7, r.normal(size=11)), (0, 1), "y"),
    "break_on_threshold": (break_on_threshold, lambda r: (np.array([0.3, 1.2]), r.normal(size=16)), (0, 1), "xs"),
    "break_in_a_while": (break_in_a_while, lambda r: (0.8, r.normal(size=12)), (0, 1), "y"),
    "zipped_with_a_break": (zipped_with_a_break, lambda r: (0.7, r.normal(size=50), r.normal(size=50)), (0, 1, 2),
                            "xs"),
}


@pytest.mark.parametrize("name", sorted(CONVERTED))
def test_reads_in_while_loops_read_python_floats(name):
    f, make, wrt, array = CONVERTED[name]
    args = make(np.random.default_rng(len(name)))
    g = s2s.grad(f, argnums=wrt)
    src = s2s.source(g, *args)
    assert f"{array}_items = s2s.float_items({array})" in src and "unbroadcast" not in src, src
    got = g(*args)
    plain = plain_gradient(f, args, wrt)
    for a, b in zip(got if isinstance(wrt, tuple) else (got,), plain if isinstance(wrt, tuple) else (plain,)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)
    check_grad(f, *args, wrt=wrt)


def test_a_break_loops_counter_is_an_int_of_known_shape():
    """`k = steps[step]` of the lowered loop is an int: the adjoints are specialised, nothing is unbroadcast."""
    args = CONVERTED["break_on_threshold"][1](np.random.default_rng(3))
    src = s2s.source(s2s.grad(break_on_threshold), *args)
    assert "unbroadcast" not in src and "getitem_grad" not in src, src


# ---- reads that may be out of bounds stay NumPy's --------------------------------------------------------
def bound_past_the_end(a, y):
    s = 0.0
    k = 0
    while k < 9:  # y has 8 items: the last trip raises
        s = s + a * y[k]
        k = k + 1
    return s


def changed_after_the_test(a, y):
    s = 0.0
    k = 0
    while k < 8:
        k = k + 1
        s = s + a * y[k - 1] + a * y[k] * 0.0  # y[8] on the last trip
    return s


def skipped_by_continue(a, y):
    s = 0.0
    k = 0
    while k < len(y):  # (lowered to `cond = k < 8`, bound again at the body's end)
        k = k + 1
        if k == 3:
            continue
        s = s + a * y[k - 1]
    return s


def counter_set_in_the_loop(a, y):
    s = 0.0
    k = 0
    while k < 8:
        s = s + a * y[k]
        k = k + 1
        if s > 100.0:
            k = -20  # (a negative value: no least bound)
    return s


@pytest.mark.parametrize("f", [bound_past_the_end, changed_after_the_test], ids=lambda f: f.__name__)
def test_a_read_that_may_pass_the_end_raises_numpys_error(f):
    y = np.linspace(0.5, 2.0, 8)
    g = s2s.grad(f)
    with pytest.raises(IndexError, match="out of bounds"):
        g(0.7, y)
    with pytest.raises(IndexError, match="out of bounds"):
        f(0.7, y)


@pytest.mark.parametrize("f", [skipped_by_continue, counter_set_in_the_loop], ids=lambda f: f.__name__)
def test_reads_not_proved_within_bounds_stay_numpys(f):
    """`y[k - 1]` after `k = k + 1`, a `continue`: the bounds at the read are not followed; a negative value
    bound to the counter: it has no least value."""
    y = np.linspace(0.5, 2.0, 8)
    g = s2s.grad(f, argnums=(0, 1))
    assert "y_items" not in s2s.source(g, 0.7, y)
    got = g(0.7, y)
    plain = plain_gradient(f, (0.7, y), (0, 1))
    np.testing.assert_array_equal(got[1], plain[1])
    assert got[0] == plain[0]
    check_grad(f, 0.7, y, wrt=(0, 1))


# ---- the rerun in NumPy numbers, decided from the specialised code --------------------------------------------
@pytest.mark.parametrize("p", [[0.45, 0.0, 1.2], [0.45, 0.0, 0.0], [1e200, 1e-200, 1e200]],
                         ids=["zero_capacity", "zero_both", "overflow"])
def test_a_division_by_zero_reruns_where_the_code_writes_nothing_it_did_not_make(p):
    p = np.array(p)
    obs = 5.0 + np.random.default_rng(0).normal(size=24)
    g = s2s.grad(growth_fit)
    assert "p_items = s2s.float_items(p)" in s2s.source(g, p, obs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = g(p, obs)
        expected = plain_gradient(growth_fit, (p, obs), 0)
    np.testing.assert_array_equal(got, expected)
    assert not np.all(np.isfinite(got))


def appends_to_its_log(a, y, log):
    s = 0.0
    for t in range(8):
        s = s + a / y[t]
    log.append(s)  # a second run would append again
    return s


def test_code_that_changes_an_argument_keeps_numpy_numbers_where_it_divides():
    y = np.linspace(0.0, 1.4, 8)  # y[0] == 0.0
    g = s2s.grad(appends_to_its_log)
    log = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        src = s2s.source(g, 0.5, y, [])
        got = g(0.5, y, log)
    assert "y_items" not in src, src
    assert math.isinf(got) and log == []  # (the backward sweep pops what the forward one appended)


def test_the_specialised_codes_own_writes_are_told_apart():
    """changes_nothing_outside: writes into arrays and lists the code made pass; into an argument, a name bound
    to one, an attribute, or through `out=`, do not."""
    def verdict(text):
        fdef = ast.parse(text).body[0]
        resolve = {"np": np}.get
        shapes = Shapes(fdef, {"p": (3,), "q": (3,)}, lambda n: resolve(n, getattr(builtins, n, None)),
                        runtime_helpers(), {})
        return changes_nothing_outside(fdef, shapes)

    assert verdict("def f(p):\n    g = np.zeros((3,))\n    g[2] += p[0]\n    L = []\n    L.append(g)\n    return g")
    assert not verdict("def f(p):\n    p[0] = 1.0\n    return p")
    assert not verdict("def f(p):\n    v = p[1:]\n    v += 1.0\n    return v")
    assert not verdict("def f(p, q):\n    np.add(p, 1.0, out=q)\n    return q")
    assert not verdict("def f(p, q):\n    q.append(p)\n    return p")
    assert not verdict("def f(p):\n    g = np.zeros((3,))\n    g = p\n    g[0] = 1.0\n    return g")


# ---- where the items stay NumPy's, the printed code says why -------------------------------------------------
def divides_and_prints(a, y):
    s = 0.0
    for t in range(8):
        s = s + a / y[t]
    print("done")
    return s


def formats_an_item(a, y):
    s = 0.0
    for t in range(8):
        s = s + a * len("%r" % y[t])
    return s


@pytest.mark.parametrize("f, words", [(divides_and_prints, "may divide by zero or overflow"),
                                      (formats_an_item, "a Python float may behave otherwise than NumPy's there")],
                         ids=["division", "format"])
def test_the_printed_code_says_why_items_stay_numpys(f, words, capsys):
    src = s2s.source(s2s.grad(f), 0.7, np.linspace(0.5, 2.0, 8))
    line = f.__code__.co_firstlineno + 3
    assert f"# the items of y stay NumPy numbers (line {line}: " in src and words in src, src
