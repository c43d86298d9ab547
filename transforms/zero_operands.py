"""An array of zeros added to or subtracted from an array of the result's shape is the number 0.0.

    R = np.zeros((n, d))                        R = np.zeros((n, d))     (then unread: dead code)
    R += Z @ W.T                    ->          R2 = t4 + 0.0
    (desugared: R2 = R + t4)

`x + zeros` and `x + 0.0` are the same numbers bit for bit (a zero added turns -0.0 into +0.0 either way) where the
zeros broadcast into x's shape without growing it and the result's dtype is x's: every array argument float64, x
real floats, and no other dtype named in the code (`.astype`, `dtype=`, `np.float32`). The name must hold its zeros
wherever it is read: bound once, to `np.zeros(shape)` or `np.zeros_like(a)` without a dtype (float64 zeros, or a's
dtype: a real float64 array here), and never changed in place, through any name that may hold its array
(`transforms/unchanged.py`). A user's accumulator started at zeros and added to once (helper 166: a reconstruction
loss 3570 us -> 2210 us at 2000 x 64, the zeros' page faults gone).
"""

from __future__ import annotations

import ast

import numpy as np

from .unchanged import aliases, changed_in_place
from .walk import fix_locations, walk

__all__ = ["zeros_as_numbers"]


def zeros_as_numbers(fdef: ast.FunctionDef, shapes, float64_only: bool) -> bool:
    """Rewrite each `x + z`, `z + x`, `x - z` (and `x += z`, `x -= z`) of a name `z` that holds zeros (the module
    docstring) as `x + 0.0` (`x - 0.0`); whether anything changed.

        >>> # R = np.zeros((4, 3)); R2 = R + t4   ->   R = np.zeros((4, 3)); R2 = t4 + 0.0
    """
    if not float64_only or _names_a_dtype(fdef):
        return False
    zeros = _zero_names(fdef, shapes)
    if not zeros:
        return False
    changed = False
    for node in walk(fdef):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
            sides = [("right", node.left)] + ([("left", node.right)] if isinstance(node.op, ast.Add) else [])
            for field, other in sides:
                z = getattr(node, field)
                if isinstance(z, ast.Name) and z.id in zeros and _fits(other, z, node, shapes):
                    setattr(node, field, ast.copy_location(ast.Constant(0.0), z))
                    changed = True
                    break
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add | ast.Sub) \
                and isinstance(node.value, ast.Name) and node.value.id in zeros \
                and _fits(node.target, node.value, ast.BinOp(left=node.target, op=node.op, right=node.value), shapes):
            node.value = ast.copy_location(ast.Constant(0.0), node.value)
            changed = True
    if changed:
        fix_locations(fdef)
    return changed


def _names_a_dtype(fdef) -> bool:
    """Whether the code may make an array of another dtype than its float64 arguments' (`.astype(...)`, `dtype=`,
    `np.float32`): `x + zeros` of a float32 x is float64, `x + 0.0` float32."""
    return any(isinstance(n, ast.Attribute) and n.attr in ("astype", "float32", "float16", "half", "single", "view")
               or isinstance(n, ast.keyword) and n.arg == "dtype" for n in walk(fdef))


def _zero_names(fdef, shapes) -> set:
    """The names bound once, to float zeros of a known shape, whose array nothing changes in place."""
    stores, found = {}, {}
    for node in walk(fdef):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and isinstance(node.value, ast.Call) and not node.value.keywords and len(node.value.args) == 1 \
                and shapes.callee(node.value) in (np.zeros, np.zeros_like) and shapes.real(node.value) \
                and isinstance(shapes.of(node.value), tuple):
            found[node.targets[0].id] = node
    out = set()
    for name in found:
        if stores.get(name) != 1:
            continue
        reaching = aliases(fdef, name, shapes)
        if not any(changed_in_place(stmt, reaching, shapes) for stmt in fdef.body):
            out.add(name)
    return out


def _fits(other, zero, result, shapes) -> bool:
    """Whether `other op zero` has other's shape and is real floats (other real floats of a known shape)."""
    have, full = shapes.of(other), shapes.of(result)
    return isinstance(have, tuple) and have == full and shapes.real(other)
