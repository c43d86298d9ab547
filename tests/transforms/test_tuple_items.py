"""A tuple an expanded helper returns, read by its items, is its items; a copy of a helper's own name is
that name (transforms/tuple_items.py): unit tests source to source, and a program whose helper returns
the list it built, checked against central differences."""

import ast

import numpy as np
import pytest
from s2s.transforms.tuple_items import inline_tuple_items

import s2s
from tests.helpers_fd import assert_close, fd_grad


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


def forward_collecting(layers, X):
    hiddens = []
    h = X
    for W, b in layers:
        h = np.tanh(h @ W + b)
        hiddens.append(h)
    return h, hiddens


def regularised(layers, X, y):
    out, hiddens = forward_collecting(layers, X)
    reg = 0.0
    for hid in hiddens:
        reg = reg + np.mean(hid ** 2)
    return np.sum((out - y) ** 2) + 0.1 * reg


def test_a_list_a_helper_returns_is_followed_into_the_callers_loop():
    rng = np.random.default_rng(2)
    layers = [(rng.normal(size=(3, 4)), rng.normal(size=4)), (rng.normal(size=(4, 2)), rng.normal(size=2))]
    X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    g = s2s.grad(regularised)(layers, X, y)
    for i, (W, _b) in enumerate(layers):
        def at_W(W_, i=i):
            changed = list(layers)
            changed[i] = (W_, changed[i][1])
            return regularised(changed, X, y)
        assert_close(g[i][0], fd_grad(at_W, (W,)), rtol=1e-5, atol=1e-7)
    src = s2s.source(s2s.grad(regularised), layers, X, y)
    loops = [line for line in src.splitlines() if line.lstrip().startswith("for ")]
    assert "# s2s:" not in src and "unbroadcast" not in src and not loops, src
