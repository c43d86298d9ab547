"""`np.sum(x, axis=1)` of an array is written `x.sum(axis=1)`: the same reduction, without NumPy's wrapper.

For an `ndarray`, `np.sum`, `np.max`, `np.min`, `np.mean` and `np.prod` call the array's method
(through `numpy._core.fromnumeric`'s dispatch, which costs a few microseconds a call on small
arrays): `np.max(z, axis=1, keepdims=True)` runs `np.maximum.reduce` exactly as
`z.max(axis=1, keepdims=True)` does, so the two give the same array, bit for bit. The rewrite is
made where the shapes pass proves `x` a real floating-point array (a known shape other than `()`:
an argument array or the result of NumPy arithmetic on arrays, never a list, a number or another
library's array) and the call passes only `axis`, `keepdims` and `dtype` (the latter two by keyword),
which the methods take alike. Which functions these are, and their methods, the rules say
(`array_method`, s2s/rules/reductions.py); a method takes the function's parameters but `out`.
"""

from __future__ import annotations

import ast

from .context import ctx
from .walk import fix_locations

__all__ = ["reductions_as_methods"]

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
            if not isinstance(x, ast.Name) or not isinstance(shape, tuple) or shape == () or not shapes.real(x):
                return node
            self.changed = True
            return ast.copy_location(ast.Call(func=ast.Attribute(value=x, attr=method, ctx=ast.Load()),
                                              args=node.args[1:], keywords=node.keywords), node)

    methods = Methods()
    methods.visit(fdef)
    if methods.changed:
        fix_locations(fdef)
    return methods.changed
