"""transforms/missing_attributes.py: reads of attributes a module lacks become the call that raises Python's
AttributeError there; everything else is left as it is."""

import ast
import types

import numpy as np
from s2s.transforms.missing_attributes import raise_missing_attributes

MISSING = object()


def _resolve(namespace):
    def resolve(node):
        if isinstance(node, ast.Name):
            return namespace.get(node.id, MISSING)
        if isinstance(node, ast.Attribute):
            base = resolve(node.value)
            return MISSING if base is MISSING else getattr(base, node.attr, MISSING)
        return MISSING
    return resolve


def _rewritten(source, namespace):
    tree = ast.parse(source).body[0]
    changed = raise_missing_attributes(_resolve(namespace), tree, missing=MISSING,
                                       helper=lambda: ast.Name("raise_it", ast.Load()))
    return changed, ast.unparse(tree)


def test_a_call_of_a_missing_function_is_the_raise_without_its_arguments():
    changed, text = _rewritten("def f(x):\n    return np.trapz(g(x), x)", {"np": np})
    assert changed
    assert "raise_it(\"module 'numpy' has no attribute 'trapz'\")" in text and "g(x)" not in text


def test_a_missing_attribute_read_as_a_value_and_one_under_a_missing_one():
    module = types.ModuleType("mod")
    changed, text = _rewritten("def f(x):\n    t = mod.dtype_\n    return mod.sub.inner(x)", {"mod": module})
    assert changed
    assert text.count("raise_it(\"module 'mod' has no attribute") == 2 and "'sub'" in text and "inner" not in text


def test_attributes_that_exist_stores_and_objects_are_left_alone():
    class Holder:
        pass

    source = "def f(x):\n    mod.new = 1.0\n    y = np.trapezoid(x) + holder.missing(x)\n    return y"
    changed, text = _rewritten(source, {"np": np, "mod": types.ModuleType("mod"), "holder": Holder()})
    assert not changed
    assert text == ast.unparse(ast.parse(source).body[0])


def test_the_message_is_python_s():
    module = types.ModuleType("lazy")
    module.__getattr__ = lambda name: (_ for _ in ()).throw(AttributeError(f"{name} moved to lazy.other"))
    changed, text = _rewritten("def f(x):\n    return lazy.old(x)", {"lazy": module})
    assert changed and "raise_it('old moved to lazy.other')" in text
