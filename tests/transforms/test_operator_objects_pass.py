"""The pass that follows operands back to where their values come from (transforms/operator_objects.py): which
checks it writes, and where, on the lowered program."""

import ast

import numpy as np
import pytest

from s2s import pipeline


class Cube:
    def __mul__(self, v):
        return v ** 3

    __rmul__ = __mul__


def make():
    return Cube()


def product(x, w, n):
    return np.sum(x * w) * len(n)


def read_by_fields(p, x):
    return np.sum(x @ p.W + p.b)


def from_a_helper_kept(x, flag):
    c = make() if flag else 2.0
    return np.sum(c * x)


def through_a_list(x, c):
    held = [c, 1.0]
    return np.sum(np.asarray(held) * x)


def _checks(func):
    tree = pipeline.lowered(func, stages=False).tree
    return [(ast.unparse(s), i) for i, s in enumerate(tree.body)
            if isinstance(s, ast.Expr) and "numbers_or_arrays" in ast.unparse(s)], tree


def test_parameters_computed_with_are_checked_before_the_statement_reading_them():
    checks, _ = _checks(product)
    # (`n` is only counted: len gives a number, whatever n is)
    assert checks == [("s2s.numbers_or_arrays(x, 'x')", 0), ("s2s.numbers_or_arrays(w, 'w')", 1)]


def test_a_parameter_read_by_its_fields_alone_has_its_fields_checked_where_read():
    """(a dataclass of parameters with `__add__` for its optimizer: no operand itself)"""
    checks, tree = _checks(read_by_fields)
    assert [text for text, _ in checks] == ["s2s.numbers_or_arrays(field, 'p.W')", "s2s.numbers_or_arrays(x, 'x')",
                                            "s2s.numbers_or_arrays(field2, 'p.b')"]
    lines = ast.unparse(tree).splitlines()
    assert lines.index("    s2s.numbers_or_arrays(field, 'p.W')") == lines.index("    field = s2s.field(p, 'W')") + 1


def test_a_value_s2s_cannot_follow_is_checked_after_its_binding():
    """(a helper kept as a call of its own, where its expansion is refused: `make()` constructs an object of a class
    doing arithmetic of its own)"""
    import s2s
    lines = s2s.source(s2s.derivative(from_a_helper_kept)).splitlines()
    call = next(i for i, line in enumerate(lines) if line.strip().endswith("= make()"))
    name = lines[call].split("=")[0].strip()
    assert lines[call + 1].strip() == f"s2s.numbers_or_arrays({name}, 'make()')"
    with pytest.raises(s2s.UnsupportedSyntaxError, match=r"`make\(\)` is an object of your class Cube"):
        s2s.grad(from_a_helper_kept)(np.ones(2), True)
    np.testing.assert_allclose(s2s.grad(from_a_helper_kept)(np.ones(2), False), [2.0, 2.0])


def test_a_constructed_object_is_refused_at_its_line_by_the_call_that_makes_it():
    with pytest.raises(Exception, match="`Cube\\(\\)` is or holds an object of your class Cube"):
        pipeline.lowered(from_a_helper_kept, stages=False)


def test_a_list_used_as_a_value_has_what_it_holds_checked():
    checks, _ = _checks(through_a_list)
    assert checks == [("s2s.numbers_or_arrays(c, 'c')", 0), ("s2s.numbers_or_arrays(x, 'x')", 3)]


def test_the_check_passes_numbers_and_arrays_and_names_what_it_refuses():
    from s2s import runtime
    runtime.numbers_or_arrays(np.ones(3), "x")
    runtime.numbers_or_arrays(2.0, "x")
    runtime.numbers_or_arrays([np.ones(2), 1.0], "L")
    with pytest.raises(Exception, match="`c` is an object of your class Cube"):
        runtime.numbers_or_arrays(Cube(), "c")
    with pytest.raises(Exception, match="`L` holds an object of your class Cube"):
        runtime.numbers_or_arrays([1.0, Cube()], "L")
    with pytest.raises(Exception, match="`o` holds an object of your class Cube"):
        runtime.numbers_or_arrays(np.array([[1.0], [Cube()]], dtype=object), "o")
