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
