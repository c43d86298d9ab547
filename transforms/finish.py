"""`s2s.finish(g, x)` is `g` where `g` is certainly a new float64 array of the argument's shape.

The runtime's `finish` turns an accumulated adjoint into a gradient shaped like its argument:
a number broadcast, a float32 argument's gradient cast to float32, a read-only broadcast view
copied. Given a float64 array argument `x` of known shape and an adjoint `g` every binding of
which is arithmetic making a new real array of that very shape (an operator on arrays, a sum or
other reduction over an axis, or `np.zeros` of the shape) and which is otherwise only updated in place (`g += e`,
`g[i] += e`), `finish` returns `g` itself (same shape, same dtype, writeable), so the call is
dropped:

    return s2s.finish(W1_bar, W1)    ->    return W1_bar
"""

from __future__ import annotations

import ast

import numpy as np

from .context import ctx
from .shapes import hashable
from .walk import fix_locations, walk

__all__ = ["drop_finish"]


def drop_finish(fdef: ast.FunctionDef, shapes, kinds: dict, made_up: set, float64_only: bool) -> bool:
    """Replace the `finish` calls of the final `return` that the module docstring's proof covers.

    `kinds` maps parameters to their dtype characters ("d": float64). Returns whether anything changed.
    """
    if not float64_only or not fdef.body or not isinstance(fdef.body[-1], ast.Return):
        return False
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    stores = {}
    for node in walk(fdef):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores.setdefault(node.id, []).append(node)
    bindings = {}
    for node in walk(fdef):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            bindings.setdefault(node.targets[0].id, []).append(node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            bindings.setdefault(node.target.id, []).append(None)  # in place on an array

    def new_array(value, shape):
        if isinstance(value, ast.BinOp | ast.UnaryOp):
            return shapes.of(value) == shape and shapes.real(value)
        if isinstance(value, ast.Call) and ctx().fact(shapes.callee(value), "reduction") \
                and all(k.arg in ("axis", "keepdims") for k in value.keywords):
            return shapes.of(value) == shape and shapes.real(value)  # (an array: the shape is not ())
        return isinstance(value, ast.Call) and shapes.callee(value) is np.zeros and len(value.args) == 1 \
            and not value.keywords and shapes.of(value) == shape

    def returns_itself(call):
        if not (isinstance(call, ast.Call) and len(call.args) == 2 and not call.keywords):
            return False
        callee = shapes.callee(call)
        if callee is None or not hashable(callee) or shapes.helpers.get(callee) != "finish":
            return False
        g, x = call.args
        if not (isinstance(g, ast.Name) and isinstance(x, ast.Name) and x.id in params and kinds.get(x.id) == "d"):
            return False
        shape = shapes.of(x)
        values = bindings.get(g.id, [])
        return isinstance(shape, tuple) and shape != () and g.id in made_up and g.id not in params \
            and values and len(values) == len(stores.get(g.id, ())) \
            and any(v is not None for v in values) and all(v is None or new_array(v, shape) for v in values)

    class Drop(ast.NodeTransformer):
        changed = False

        def visit_Call(self, node):
            self.generic_visit(node)
            if returns_itself(node):
                self.changed = True
                return node.args[0]
            return node

    drop = Drop()
    fdef.body[-1] = drop.visit(fdef.body[-1])
    if drop.changed:
        fix_locations(fdef)
    return drop.changed
