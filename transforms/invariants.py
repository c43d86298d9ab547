"""Numbers that every trip of a loop computes alike are computed once, before the loop.

`t2 = -k` inside `for _ in range(100)`, with `k` an argument the function never rebinds, gives
the same number on every trip; so does the copy the tape pass puts at the top of the backward
loop (`transforms/tape.py` recomputes such numbers instead of taping them). Both become one
`t2 = -k` before the first loop:

    for _ in range(100):            t2 = -k
        t2 = -k                     for _ in range(100):
        a = t2 * x - 0.1 * v   ->       a = t2 * x - 0.1 * v
    ...                             ...
    for _ in reversed(range(100)):  for _ in reversed(range(100)):
        t2 = -k                         x_bar = x_bar + a_bar * t2
        x_bar = x_bar + a_bar * t2

Why it computes the same values: every assignment of `t2` anywhere in the function computes
the same expression `e`, and `e` reads only names that hold one value from before the loop on
(arguments never rebound, or names bound once by a statement of the function's top level that
comes before the loop), so wherever the original program read `t2` it read `e`'s value, which the
hoisted statement has put there. `e` must be a number (shape `()`: a Python or NumPy number is
immutable, so sharing one object between trips changes nothing) that the shapes pass proves
cannot raise (`specialize._pure`: real floating-point arithmetic without division or power on
numbers), so computing it even when the loop runs no trip changes nothing either.
"""

from __future__ import annotations

import ast

from .names import loaded_names
from .walk import fix_locations, walk

__all__ = ["hoist_loop_invariants"]


def hoist_loop_invariants(fdef: ast.FunctionDef, shapes, pure) -> bool:
    """Hoist invariant number computations out of the function's top-level loops (see the module docstring).

    `shapes` are the shapes inferred over `fdef`; `pure(node, shapes)` says whether evaluating `node`
    cannot raise (`transforms.specialize._pure`). Returns whether anything changed.
    """
    if any(isinstance(n, ast.FunctionDef | ast.Lambda) for n in walk(fdef) if n is not fdef):
        return False  # (a nested function could read or bind the names at other times)
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    stores, plain = {}, {}  # name -> count of bindings; name -> its plain `name = e` statements
    for node in walk(fdef):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            plain.setdefault(node.targets[0].id, []).append(node)
    changed = False
    position = 0
    while position < len(fdef.body):
        loop = fdef.body[position]
        if not isinstance(loop, ast.For | ast.While) or loop.orelse:
            position += 1
            continue
        fixed = {p for p in params if p not in stores}
        fixed |= {s.targets[0].id for s in fdef.body[:position] if isinstance(s, ast.Assign) and len(s.targets) == 1
                  and isinstance(s.targets[0], ast.Name) and stores.get(s.targets[0].id) == 1}
        later = {id(n) for s in fdef.body[position:] for n in walk(s)}
        hoisted = None
        for stmt in walk(loop):
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                continue
            name = stmt.targets[0].id
            copies = plain.get(name, [])
            if name in params or len(copies) != stores.get(name) or any(id(c) not in later for c in copies) \
                    or any(ast.dump(c.value) != ast.dump(stmt.value) for c in copies):
                continue  # bound otherwise too, or before the loop, or to different expressions
            if not loaded_names(stmt.value) <= fixed or name in loaded_names(stmt.value):
                continue
            if shapes.of(stmt.value) != () or not pure(stmt.value, shapes):
                continue
            hoisted = (name, stmt, copies)
            break
        if hoisted is None:
            position += 1
            continue
        name, stmt, copies = hoisted
        _remove(fdef, {id(c) for c in copies})
        fdef.body.insert(position, ast.copy_location(
            ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=stmt.value), stmt))
        stores[name] = 1
        plain[name] = [fdef.body[position]]
        changed = True
        position = 0  # the hoisted name is fixed now: what reads it may go next
    if changed:
        fix_locations(fdef)
    return changed


def _remove(tree, ids):
    """Delete the statements whose id is in `ids` from every block of `tree` (an emptied block gets `pass`)."""
    for node in walk(tree):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                kept = [s for s in block if id(s) not in ids]
                if len(kept) != len(block):
                    setattr(node, field, kept or [ast.Pass()])
