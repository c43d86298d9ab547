"""A tuple an expanded helper returns, read by its items, is its items; a copy of a helper's own name is
that name (transforms/tuple_items.py): unit tests source to source, and a program whose helper returns
the list it built, checked against central differences."""

import ast

import numpy as np
import pytest
from s2s.transforms.tuple_items import inline_tuple_items

import s2s
from tests.helpers_fd import assert_close, fd_grad
from tests.test_real_programs_containers import activity_regularised, make_activity


def _run(src, tuples=frozenset({"r"}), renamable=frozenset({"L2", "h2"})):
    fdef = ast.parse(src).body[0]
    changed = inline_tuple_items(fdef, tuples, renamable)
    return changed, ast.unparse(fdef)


def test_a_returned_tuple_read_by_items_is_its_items():
    changed, out = _run("def f(x):\n    L2 = []\n    h2 = x\n    L2.append(h2)\n    r = (h2, L2)\n"
                        "    out = r[0]\n    L = r[1]\n    return out, L")
    assert changed and "r = " not in out and "L.append(out)" in out and "return (out, L)" in out, out


@pytest.mark.parametrize("src", [
    "def f(x, k):\n    h2 = x\n    L2 = [x]\n    r = (h2, L2)\n    return r[k]",  # an index not a literal
    "def f(x):\n    h2 = x\n    L2 = [x]\n    r = (h2, L2)\n    return r",  # the tuple itself read
    "def f(x):\n    h2 = x\n    L2 = [x]\n    r = (h2, L2)\n    h2 = 2 * x\n    return r[0]",  # an item bound again
    "def f(x):\n    h2 = x\n    L2 = [x]\n    r = (h2, L2)\n    return r[2]",  # out of range: Python raises
])
def test_tuples_that_stay(src):
    changed, out = _run(src)
    assert "r = (h2, L2)" in out, out


@pytest.mark.parametrize("src", [
    "def f(x):\n    pair = (x, x)\n    return pair[0]",  # your own tuple
    "def f(x):\n    y = x\n    return y",  # a parameter copied
    "def f(x):\n    z = x * 2\n    y = z\n    return y",  # your own name copied
    "def f(x):\n    L2 = [x]\n    L = L2\n    L = []\n    return L2",  # the copy's name bound again
    "def f(x):\n    L = [1]\n    L2 = [x]\n    L = L2\n    return L",  # the copy's name read before it
    "def f(x):\n    L2 = [x]\n    L = L2\n    L2 = [x, x]\n    return L",  # the helper's name bound after it
])
def test_names_that_stay(src):
    changed, out = _run(src, tuples=frozenset())
    assert not changed, out


@pytest.mark.parametrize("variant", [0, 1])
def test_a_list_a_helper_returns_is_followed_into_the_callers_loop(variant):
    # (the activity-regularised MLP: `out, hiddens = forward_with_hidden(params, X)`, then a loop over hiddens)
    layers, X, y = make_activity(np.random.default_rng(2), variant)
    g = s2s.grad(activity_regularised)(layers, X, y)
    for i, (W, _b) in enumerate(layers):
        def at_W(W_, i=i):
            changed = list(layers)
            changed[i] = (W_, changed[i][1])
            return activity_regularised(changed, X, y)
        assert_close(g[i][0], fd_grad(at_W, (W,)), rtol=1e-5, atol=1e-7)
    src = s2s.source(s2s.grad(activity_regularised), layers, X, y)
    loops = [line for line in src.splitlines() if line.lstrip().startswith("for ")]
    assert "# s2s:" not in src and "unbroadcast" not in src and not loops, src


# ---- a helper whose while loop's test reads the name the copy renames (adv-tup) ------------------------------
# (the statements computing a while loop's test sit beside the loop, not in its body: `walk` does not see them.
# `out = h2` renamed h2 to out in the body and left the test reading h2: NameError where it used to work)


def grow_until(x):
    L = []
    h = x
    while np.sum(h ** 2) < 50.0:
        h = h * 1.5
        L.append(h)
    return h, L


def sums_what_grows(x):
    out, L = grow_until(x)
    s = 0.0
    for v in L:
        s = s + np.sum(np.sin(v))
    return np.sum(out) + s


def test_a_name_read_by_a_while_loops_test_is_renamed_there_too():
    for x in (np.array([0.5, 0.3]), np.array([3.0, 2.0]), np.array([-1.0, 0.2])):
        value, g = s2s.value_and_grad(sums_what_grows)(x.copy())
        assert_close(value, sums_what_grows(x.copy()))
        assert_close(g, fd_grad(sums_what_grows, (x,)), rtol=1e-5, atol=1e-7)
        assert_close(g, s2s.derivative(sums_what_grows)(x.copy()), rtol=1e-9, atol=1e-12)


def test_the_unit_pass_renames_in_a_while_loops_test():
    from s2s.transforms import annotations
    fdef = ast.parse("def f(x):\n    h2 = x\n    c = h2 < 3\n    while c:\n        h2 = h2 * 2\n    out = h2\n"
                     "    return out").body[0]
    loop = fdef.body[2]
    annotations.put(loop, annotations.LOOP_TEST, [ast.parse("c = h2 < 3").body[0]])
    assert inline_tuple_items(fdef, frozenset({"r"}), frozenset({"h2"}))
    test = ast.unparse(annotations.get(loop, annotations.LOOP_TEST)[0])
    assert test == "c = out < 3", test
