"""Which names may reach an array, and which statements may change it in place (transforms/unchanged.py)."""

import ast

import numpy as np
import pytest
from s2s.transforms.unchanged import aliases, changed_in_place


class Names:
    """The two questions the analysis asks of the shapes: a call's function, and an expression's shape
    (unknown here: every operation may then hand its operand on)."""

    def callee(self, call):
        parts, f = [], call.func
        while isinstance(f, ast.Attribute):
            parts.append(f.attr)
            f = f.value
        obj = {"np": np}.get(getattr(f, "id", None))
        for p in reversed(parts):
            obj = getattr(obj, p, None)
        return obj

    def of(self, node):
        return None


def _aliases(src, name):
    return aliases(ast.parse(f"def f(S, b):\n{src}").body[0], name, Names())


def test_copies_views_and_containers_reach_the_array_both_ways():
    found = _aliases("    t2 = A\n    S = t2\n    T = S.T\n    L = [T]\n    k = S.shape\n", "S")
    assert found == {"S", "t2", "A", "T", "L"}


@pytest.mark.parametrize("stmt, changes", [
    ("T[0, 0] = 1.0", True),
    ("T += 1.0", True),
    ("T.fill(0.0)", True),
    ("np.add(b, 1.0, out=T)", True),
    ("np.add(b, 1.0, T)", True),
    ("np.copyto(T, b)", True),
    ("np.fill_diagonal(T, 0.0)", True),
    ("print(T)", True),
    ("y = np.add(T, 1.0)", False),
    ("y = np.linalg.solve(T, b)", False),
    ("b[0] = T[0, 0]", False),
])
def test_statements_that_may_change_it(stmt, changes):
    assert changed_in_place(ast.parse(stmt).body[0], {"S", "T"}, Names()) is changes


class Resolved(Names):
    """Names, with the code's locals and globals known and every expression an array of one shape."""

    local = {"S", "b", "t", "u", "K", "t8", "t10"}

    def resolve(self, name):
        return {"np": np}.get(name)

    def of(self, node):
        return (3,)


def test_a_module_is_no_array_and_an_update_in_place_keeps_its_array():
    # (stop 48: `np` of every `np.exp(...)` joined every NumPy call's result to every other's, and `t8 += t10` made
    # t8 a view of t10: a GP's inverse inside a loop was not shared)
    fdef = ast.parse("def f(S, b):\n    t = np.exp(S)\n    u = np.exp(b)\n    t8 = S * 2.0\n    t8 += t10\n"
                     "    K = t8\n").body[0]
    assert aliases(fdef, "t", Resolved()) == {"t", "S"}
    assert "t10" not in aliases(fdef, "K", Resolved()) and "u" not in aliases(fdef, "K", Resolved())
    # (shapes unknown: `a += v` may be a list extended by v's items, which it then holds)
    assert "t10" in aliases(fdef, "K", Names())
