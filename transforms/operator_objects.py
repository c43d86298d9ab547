"""Arithmetic on objects of your classes that define it (`__mul__`, `__add__`, ...): refused where s2s sees one.

s2s differentiates `a * b` by the product's rule, for numbers and arrays. An object whose class defines `__mul__`
computes what its method says (`Sq() * x` may be `x ** 3`), and the product's rule would give a wrong derivative.
An operand that is a global or closure object of such a class, or a local bound to a call of the class, is refused
at its line. (An object given as a parameter is not known when the code is made: docs/functions.md.)

    >>> class Sq:
    ...     def __mul__(self, v): return v ** 3
    >>> defines_arithmetic(Sq), defines_arithmetic(float), defines_arithmetic(list)
    (True, False, False)
"""

from __future__ import annotations

import ast
import numbers

import numpy as np

from .context import ctx
from .walk import walk_nodes

_DUNDERS = ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
            "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__", "__matmul__",
            "__rmatmul__", "__neg__", "__pos__", "__abs__", "__iadd__", "__isub__", "__imul__", "__itruediv__")
# (numbers, NumPy's arrays and scalars, and Python's sequences, whose `+` and `*` s2s knows)
_KNOWN = (numbers.Number, np.ndarray, np.generic, str, bytes, list, tuple, dict, set, frozenset, range)


def defines_arithmetic(cls) -> bool:
    """Whether objects of `cls` do arithmetic of their own: a class (not a number, array or Python sequence) with
    an operator method written in the user's code (a library's classes, SciPy's sparse matrices, have rules or
    are refused by s2s/argcheck.py)."""
    if not isinstance(cls, type) or issubclass(cls, _KNOWN):
        return False
    try:
        user_code = ctx().user_code
    except RuntimeError:  # (no context installed, the pass used on its own: every class is the user's)
        def user_code(func):
            return True
    for klass in cls.__mro__:
        if klass is object:
            continue
        if any(callable(vars(klass)[d]) and user_code(vars(klass)[d]) for d in _DUNDERS if d in vars(klass)):
            return True
    return False


def refuse_operator_objects(tree: ast.FunctionDef, resolve, refuse) -> None:
    """Refuse (`refuse(node, why, hint)`) each operand of `tree`'s arithmetic that is a global or closure object
    doing arithmetic of its own (`resolve(name)`: what a free name denotes), or a local bound to a call of such a
    class."""
    # (one walk: the names the function binds, the calls names are bound to, the operands of its arithmetic)
    bound = {a.arg for a in ast.walk(tree.args) if isinstance(a, ast.arg)}
    calls, operands = {}, []  # local name -> the functions of the calls it is bound to; operand Names
    for node in walk_nodes(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    calls.setdefault(t.id, []).append(node.value.func)
        elif isinstance(node, ast.BinOp):
            operands += (node.left, node.right)
        elif isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
            operands.append(node.operand)
        elif isinstance(node, ast.AugAssign):
            operands += (node.target, node.value)
    for operand in operands:
        if isinstance(operand, ast.Name):
            if operand.id in bound:
                cls = next((c for c in (_class_called(f, resolve) for f in calls.get(operand.id, ())) if c), None)
            else:
                cls = _class_of(resolve(operand.id))
            if cls is not None:
                refuse(operand, f"`{operand.id}` is an object of your class {cls.__name__}, which does arithmetic of "
                                "its own (its operator methods), and s2s differentiates arithmetic of numbers and "
                                "arrays only: its derivative would be the product's or the sum's",
                       f"call the method the operator runs, `{operand.id}.__mul__(x)` as a function of yours "
                       f"(`def apply(x): return x ** 3`), or compute with NumPy directly")


def _class_of(obj):
    cls = type(obj)
    return cls if defines_arithmetic(cls) else None


def _class_called(func, resolve):
    if isinstance(func, ast.Name):
        obj = resolve(func.id)
        return obj if isinstance(obj, type) and defines_arithmetic(obj) else None
    return None
