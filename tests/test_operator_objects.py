"""Arithmetic on objects of your classes that define operator methods (`__mul__`, `__add__`, ...): refused at the
line where s2s sees one (transforms/operator_objects.py). Review 248: `SQ * x` of a global object whose
`__mul__` cubes gave the product's derivative, an object array of ones."""

import inspect

import numpy as np
import pytest
from s2s.transforms.operator_objects import defines_arithmetic

import s2s


class Cube:
    def __mul__(self, v):
        return v ** 3

    __rmul__ = __mul__


class Shifted(Cube):  # (the method inherited)
    pass


class Plain:
    scale = 2.0


CUBE = Cube()
SHIFTED = Shifted()
PLAIN = Plain()
X = np.array([0.3, -0.7, 1.1])


def global_object(x):
    return np.sum(CUBE * x)


def inherited(x):
    return np.sum(x * SHIFTED)


def made_here(x):
    cube = Cube()
    return np.sum(cube * x)


def in_place(x):
    acc = Cube()
    acc *= 2.0
    return np.sum(x)


def plain_object(x):
    return np.sum(PLAIN.scale * x)


@pytest.mark.parametrize("f, marker", [(global_object, "CUBE * x"), (inherited, "x * SHIFTED"),
                                       (made_here, "cube * x"), (in_place, "acc *= 2.0")],
                         ids=lambda v: getattr(v, "__name__", None))
def test_an_operand_doing_arithmetic_of_its_own_is_refused_at_its_line(f, marker):
    lines, first = inspect.getsourcelines(f)
    line = first + next(k for k, text in enumerate(lines) if marker in text)
    for transform in (s2s.grad, lambda g: (lambda x: s2s.jvp(g, (x,), (x,)))):
        with pytest.raises(s2s.UnsupportedSyntaxError, match="does arithmetic of its own") as caught:
            transform(f)(X)
        assert caught.value.lineno == line


def test_an_object_without_operator_methods_reads_as_before():
    np.testing.assert_allclose(s2s.grad(plain_object)(X), 2.0 * np.ones(3))


def test_which_classes_do_arithmetic_of_their_own():
    assert defines_arithmetic(Cube) and defines_arithmetic(Shifted)
    assert not any(defines_arithmetic(c) for c in (Plain, float, int, np.ndarray, np.float32, list, tuple, str))


def test_a_library_s_class_with_operators_is_not_taken_for_yours():
    """(SciPy's sparse matrices have operator methods, in a library: their products have rules; the first version
    of the pass refused them)"""
    import fractions

    import scipy.sparse
    assert not defines_arithmetic(type(scipy.sparse.eye(3).tocsr())) and not defines_arithmetic(fractions.Fraction)
