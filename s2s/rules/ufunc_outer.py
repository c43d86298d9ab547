"""Rules for the outer method of every two-argument ufunc with a rule (`np.subtract.outer(x, y)`, the pairwise
differences of a distance matrix): `F.outer(a, b)` is `F(s2s.outer_operand(a, b), b)`, `a` with one axis of
length 1 added per axis of `b`, so its rule is F's own with that operand for `a` (b is read once, by the call),
and the adjoint of `a` summed over b's axes by F's `unbroadcast` and reshaped back (`s2s.outer_reduced`):

    np.multiply.outer(x1, x2):  x1: s2s.outer_reduced(unbroadcast(g * x2, s2s.outer_operand(x1, x2)), x1)
                                x2: unbroadcast(g * s2s.outer_operand(x1, x2), x2)

A variant of F at a call site (`np.power.outer(x, 2)`) gets its outer form the same way.
"""

from __future__ import annotations

import ast
import copy
import dataclasses

import numpy as np

from s2s import runtime as rt
from s2s.rules import _key, _registered, lookup
from s2s.rules import result_shapes as shapes
from s2s.rules.runtime_rules import defrule_for


def _operand(node: ast.expr, other: str) -> ast.expr:
    """`s2s.outer_operand(node, other)`, as a template expression."""
    return _helper("outer_operand", node, ast.Name(id=other, ctx=ast.Load()))


class _WithOperand(ast.NodeTransformer):
    """Every read of the first parameter (and of its tangent) replaced by its outer operand."""

    def __init__(self, first: str, second: str):
        self.first, self.second = first, second

    def visit_Name(self, node):
        if node.id in (self.first, self.first + "_dot"):
            return _operand(node, self.second)
        return node


def _helper(name: str, *args: ast.expr) -> ast.Call:
    func = ast.Attribute(value=ast.Name(id="s2s", ctx=ast.Load()), attr=name, ctx=ast.Load())
    return ast.Call(func=func, args=list(args), keywords=[])


def _outer_templates(templates: dict, first: str, second: str, adjoints: bool) -> dict:
    """The templates of F with F's first argument its outer operand; the first argument's adjoint reshaped back
    to its shape, and each tangent broadcast to the result's (a term of one argument alone, `x1_dot` of `+`, has
    that argument's shape: F's elementwise broadcasting of it is the outer product's)."""
    out = {}
    for param, template in templates.items():
        if template is None:
            out[param] = None
            continue
        body = _WithOperand(first, second).visit(copy.deepcopy(template))
        if adjoints and param == first:  # (of the operand's shape: back to a's)
            body = _helper("outer_reduced", body, ast.Name(id=first, ctx=ast.Load()))
        elif not adjoints:
            body = _helper("broadcast_like", body, ast.Name(id="ans", ctx=ast.Load()))
        out[param] = ast.fix_missing_locations(body)
    return out


def outer_form(rule, name: str):
    """The rule of `F.outer` from `rule`, F's (None where F's rule does not take two plain arguments).

        >>> outer_form(lookup(np.multiply), "np.multiply.outer").params
        ['x1', 'x2']
    """
    if rule is None or rule.structured or rule.varargs or len(rule.params) != 2 or rule.defaults:
        return None
    first, second = rule.params
    out = dataclasses.replace(rule, name=name, elementwise=False, result_shape=shapes.ufunc_outer,
                              methods=(), array_method=None, sympy=None, result_value=None, returns_view=False,
                              vjp=_outer_templates(rule.vjp, first, second, True),
                              jvp=_outer_templates(rule.jvp, first, second, False))
    if rule.variant is not None:
        def variant(bound, base=rule.variant):
            at_site = base(bound)
            return None if at_site is None else outer_form(at_site, name)
        out.variant = variant
    return out


defrule_for(rt.outer_operand, "outer_operand(a, b)", shape_only=("b",), linear=("a",), result_shape=shapes.outer_operand,
            real=shapes.real_of_first(2))
defrule_for(rt.outer_reduced, "outer_reduced(g, a)", shape_only=("a",), linear=("g",), result_shape=shapes.outer_reduced,
            real=shapes.real_of_first(2))

for _ufunc in sorted((u for u in vars(np).values() if isinstance(u, np.ufunc) and u.nin == 2 and u.nout == 1
                      and u.signature is None),
                     key=lambda u: u.__name__):
    _outer = outer_form(lookup(_ufunc), f"np.{_ufunc.__name__}.outer")
    if _outer is not None:
        _registered(_key(_ufunc.outer), _outer, _ufunc.outer)
