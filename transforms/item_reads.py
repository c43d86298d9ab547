"""Reads of a container argument's items by literal keys move out of the loops they are in.

    for t in range(n):                          t2 = params["Wh"]
        t2 = params["Wh"]            ->         for t in range(n):
        h = np.tanh(t2 @ h + ...)                   h = np.tanh(t2 @ h + ...)

In an RNN whose weights come in a dict, each trip reads `params["Wh"]` again; the name it binds is
bound again on every trip, so the reverse sweep saves and restores it on the tape, though it is the
same array each time. Where the code is specialised to the argument's structure and nothing can
change a container inside it (`Shapes._held_containers`), `params["Wh"]` is the same object on every
trip, and the read cannot fail (the structure has that key): reading it once, before the loop, is the
same program. A statement `n = P[k1][k2]...` at the top of a `for` loop's body moves before the loop
where `P` is such an argument, every key is a literal the structure has, `n` is bound nowhere else,
and nothing outside the loop reads `n` (a loop of no trips binds it nowhere). Inner loops first, so
a read moves out of every loop around it.
"""

from __future__ import annotations

import ast

from .shapes import Keyed, Seq, Shapes
from .walk import rewrite_statements, walk


def hoist_item_reads(fdef: ast.FunctionDef, shapes: Shapes) -> bool:
    """Move the item reads the module docstring describes out of their loops; returns whether any moved.

        for t in range(n): W = params["W"]; h = W @ h    ->    W = params["W"]; for t in range(n): h = W @ h
    """
    stores, loads = {}, {}
    for node in walk(fdef):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores).setdefault(node.id, []).append(node)
    changed = False

    def hoisted(s):
        nonlocal changed
        if isinstance(s, ast.For) and not s.orelse:
            inside = {id(n) for stmt in s.body for n in walk(stmt)}
            moved = [stmt for stmt in s.body if _movable(stmt, shapes, stores, loads, inside)]
            if moved and len(moved) < len(s.body):
                s.body = [stmt for stmt in s.body if not any(stmt is m for m in moved)]
                changed = True
                return moved + [s]
        return [s]

    rewrite_statements(fdef, hoisted)
    return changed


def _movable(stmt, shapes: Shapes, stores, loads, inside) -> bool:
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
        return False
    name = stmt.targets[0].id
    if len(stores.get(name, ())) != 1 or any(id(n) not in inside for n in loads.get(name, ())):
        return False
    node, keys = stmt.value, []
    while isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        if not (isinstance(node.slice, ast.Constant) and type(node.slice.value) in (str, int)):
            return False
        keys.append(node.slice.value)
        node = node.value
    if not keys or not isinstance(node, ast.Name) or node.id not in shapes.item_kinds \
            or node.id not in shapes.params_held:
        return False
    fact = shapes.env.get(node.id)
    for key in reversed(keys):
        if isinstance(fact, Keyed):
            if not any(k == key and type(k) is type(key) for k, _ in fact.items):
                return False
            fact = fact.get(key)
        elif isinstance(fact, Seq) and type(key) is int and -len(fact.items) <= key < len(fact.items):
            fact = fact.items[key]
        else:
            return False
    return True
