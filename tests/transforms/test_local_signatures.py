"""transforms/local_signatures.py: calls of local functions with defaults and keyword-only parameters, made
positional; the def made plain."""

import ast

import numpy as np
from s2s.transforms.local_signatures import bind_local_calls, why_not_plain


def bound(src, resolve=None):
    tree = ast.parse(src).body[0]
    made = bind_local_calls(tree, resolve) if resolve is not None else bind_local_calls(tree)
    return made, ast.unparse(tree)


def test_keywords_and_defaults_are_written_into_each_call():
    made, text = bound("def f(x):\n    def g(y, b=1.0, *, c=2):\n        return y * b + c\n"
                       "    return g(x) + g(x, c=3) + g(x, 4.0, c=5)")
    assert made == ["g"]
    assert "def g(y, b, c):" in text
    assert "return g(x, 1.0, 2) + g(x, 1.0, 3) + g(x, 4.0, 5)" in text


def test_a_module_attribute_default_is_kept_only_for_a_module():
    src = "def f(x):\n    g = lambda z, fn=np.tanh: fn(z)\n    return g(x)"
    assert bound(src, lambda name: np if name == "np" else object())[0] == ["g"]
    assert bound(src)[0] == []  # (np not known to be a module: its attribute may change)


def test_a_global_constant_default_is_kept_where_it_holds_a_number():
    src = "def f(x):\n    def g(z, eps=EPS):\n        return z + eps\n    return g(x)"
    assert bound(src, lambda name: 1e-8 if name == "EPS" else object())[0] == ["g"]
    assert bound(src, lambda name: [1e-8] if name == "EPS" else object())[0] == []  # (a list may change)


def test_nothing_changes_where_a_call_does_not_bind():
    src = "def f(x):\n    def g(y, *, c):\n        return y * c\n    return g(x)"
    made, text = bound(src)
    assert made == [] and "def g(y, *, c):" in text
    tree = ast.parse(src).body[0]
    assert "does not bind" in why_not_plain(tree, tree.body[0])


def test_a_name_of_a_nested_scope_stops_it():
    src = "def f(x):\n    def g(y, c=1.0):\n        return y * c\n    return [g(v) for g in [abs]]"
    assert bound(src)[0] == []


def test_plain_functions_are_left_alone():
    tree = ast.parse("def f(x):\n    def g(y):\n        return y\n    return g(x)").body[0]
    assert bind_local_calls(tree) == [] and why_not_plain(tree, tree.body[0]) is None
