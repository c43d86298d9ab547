"""transforms/supers.py: each zero-argument `super()` given its own function's first argument."""

import ast

import pytest
from s2s.transforms.supers import write_super_arguments


def _written(source):
    tree = ast.parse(source).body[0]
    refused = []

    def refuse(node, why, hint):
        refused.append(why)
        raise ValueError(why)
    try:
        changed = write_super_arguments(tree, lambda node: True, refuse)
    except ValueError:
        changed = False
    return changed, ast.unparse(tree), refused


def test_a_method_s_super_names_its_self():
    changed, text, _ = _written("def f(self, x):\n    return super().g(x) + super(A, self).h()")
    assert changed and "super(__class__, self).g(x)" in text and "super(A, self).h()" in text


def test_a_nested_function_s_and_a_lambda_s_super_name_their_own_first_argument():
    _, text, _ = _written("def f(self, other):\n    def g(o):\n        return super().e()\n"
                          "    h = lambda p: super().e()\n    return g(other) + h(other)")
    assert "super(__class__, o).e()" in text and "super(__class__, p).e()" in text


@pytest.mark.parametrize("source", ["def f(self):\n    return [super().e() for _ in range(2)]",
                                    "def f():\n    return super().e()"])
def test_a_super_with_no_object_to_name_is_refused(source):
    _, _, refused = _written(source)
    assert refused and "no object of a method" in refused[0]


def test_super_in_a_comprehension_s_first_iterable_names_the_method_s_self():
    """Python evaluates the first `in` of a comprehension in the function itself."""
    _, text, refused = _written("def f(self, x):\n    return [v * 2.0 for v in super().vec(x)]")
    assert not refused and "super(__class__, self).vec(x)" in text
