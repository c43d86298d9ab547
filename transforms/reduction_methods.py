"""`np.sum(x, axis=1)` of an array is written `x.sum(axis=1)`: the same reduction, without NumPy's wrapper.

For an `ndarray`, `np.sum`, `np.max`, `np.min`, `np.mean`, `np.prod`, `np.var` and `np.std` call the array's method
(through `numpy._core.fromnumeric`'s dispatch, which costs a few microseconds a call on small
arrays): `np.max(z, axis=1, keepdims=True)` runs `np.maximum.reduce` exactly as
`z.max(axis=1, keepdims=True)` does, so the two give the same array, bit for bit. The rewrite is
made where the shapes pass proves `x` (a name, or arithmetic written in the call) a real floating-point array
(a known shape other than `()`: an argument array or the result of NumPy arithmetic on arrays, never a list, a
number or another library's array) and the call passes only `axis` and keywords the method takes alike (`keepdims`,
`dtype`, `ddof`). Which functions these are, and their methods, the rules say
(`array_method`, s2s/rules/reductions.py); a method takes the function's parameters but `out`.
"""

from __future__ import annotations

import ast

import numpy as np

from .context import ctx
from .walk import fix_locations, walk

__all__ = ["reads_a_reduction", "reductions_as_methods"]

def reads_a_reduction(fdef: ast.FunctionDef, np_name: str) -> bool:
    """Whether `fdef` reads `np.f` (`np_name` the generated code's name of NumPy) of a function whose rule
    names the array method it calls (np.sum, np.var, np.amax): the cheap test before inferring shapes.

        >>> from s2s import pipeline
        >>> from s2s.transforms.context import using
        >>> with using(pipeline.CONTEXT):
        ...     [reads_a_reduction(ast.parse(f"def f(x):\\n    return np.{f}(x)").body[0], "np") for f in ("var", "sin")]
        [True, False]
    """
    return any(isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == np_name
               and ctx().fact(getattr(np, n.attr, None), "array_method", None) is not None for n in walk(fdef))


def reductions_as_methods(fdef: ast.FunctionDef, shapes) -> bool:
    """Rewrite the NumPy reductions of real arrays in `fdef` as array methods; `shapes` are inferred over `fdef`.

    Returns whether anything changed.
    """

    class Methods(ast.NodeTransformer):
        changed = False

        def visit_Call(self, node):
            self.generic_visit(node)
            if not 1 <= len(node.args) <= 2 or any(isinstance(a, ast.Starred) for a in node.args):
                return node
            callee = shapes.callee(node)
            with shapes.symbolic():  # (it compares the vectors' lengths, writes none: `x[:i]`'s follows i)
                dot = _dot_of_sum(node, callee, shapes)
            if dot is not None:
                self.changed = True
                return ast.copy_location(dot, node)
            method = ctx().fact(callee, "array_method", None)
            if method is None:
                return node
            x = node.args[0]
            keywords = {k.arg for k in node.keywords}
            accepts = set(ctx().fact(callee, "params", ())[1:]) - {"out"}  # the method's keywords
            if None in keywords or not keywords <= accepts or ("axis" in keywords and len(node.args) == 2):
                return node
            shape = shapes.of(x)
            if not isinstance(x, ast.Name | ast.BinOp | ast.UnaryOp) or not isinstance(shape, tuple) or shape == () \
                    or not shapes.real(x):
                return node  # (a name, or arithmetic on arrays: `(-v_bar * v / n).sum(axis=0)`)
            self.changed = True
            return ast.copy_location(ast.Call(func=ast.Attribute(value=x, attr=method, ctx=ast.Load()),
                                              args=node.args[1:], keywords=node.keywords), node)

    methods = Methods()
    methods.visit(fdef)
    if methods.changed:
        fix_locations(fdef)
    return methods.changed


def _dot_of_sum(node, callee, shapes):
    """`np.sum(c * a * b / d)` (axis None or 0, no keepdims) of two real 1-d arrays a and b of one shape and real
    numbers c, d (a minus sign anywhere): `c * (a @ b) / d`, one pass and no temporary array (the adjoint of a
    number that scales a vector, `np.sum(-v_bar * v / n)`). Else None."""
    if callee is not np.sum or len(node.args) != 1 and not (len(node.args) == 2 and _zero(node.args[1])):
        return None
    if any(k.arg != "axis" or not _zero(k.value) for k in node.keywords) or len(node.args) + len(node.keywords) > 2:
        return None
    factors, divisors, negative = [], [], False

    def split(e):
        nonlocal negative
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
            negative = not negative
            return split(e.operand)
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Mult):
            return split(e.left) and split(e.right)
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Div):
            if shapes.of(e.right) != () or not shapes.real(e.right):
                return False
            divisors.append(e.right)
            return split(e.left)
        factors.append(e)
        return True

    x = node.args[0]
    if not split(x):
        return None
    arrays = [f for f in factors if shapes.of(f) != ()]
    numbers = [f for f in factors if shapes.of(f) == ()]
    if len(arrays) != 2 or not all(shapes.real(f) for f in factors) or any(shapes.of(f) is None for f in factors):
        return None
    a, b = arrays
    if shapes.of(a) != shapes.of(b) or not isinstance(shapes.of(a), tuple) or len(shapes.of(a)) != 1:
        return None
    out = ast.BinOp(left=a, op=ast.MatMult(), right=b)
    for n in numbers:
        out = ast.BinOp(left=n, op=ast.Mult(), right=out)
    for d in divisors:
        out = ast.BinOp(left=out, op=ast.Div(), right=d)
    return ast.UnaryOp(op=ast.USub(), operand=out) if negative else out


def _zero(node) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value == 0
