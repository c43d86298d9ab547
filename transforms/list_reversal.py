"""`L.reverse()` of a list the function builds is `L[:] = L[::-1]`: the same list, its items in the other order.

A list of rewards or returns is often built backwards and turned round once (`out.append(G)` in a loop over
`t` from the end, then `out.reverse()`). s2s differentiates a slice assignment that keeps a list's length
(transforms/lower.py), so the in-place reversal becomes one: every name that holds the list sees it reversed, as
in Python. Only where `L` is a local bound only to lists the function makes (`[]`, a list display, a list
comprehension): another object's `reverse` method may do anything.

    out.reverse()    ->    out[:] = out[::-1]
"""

from __future__ import annotations

import ast

from .walk import walk

__all__ = ["reverse_lists"]


def reverse_lists(tree: ast.FunctionDef) -> ast.FunctionDef:
    """`tree` with each statement `L.reverse()` of a list the function makes written as `L[:] = L[::-1]`.

        >>> t = ast.parse("def f(x):\\n    L = [x, 2 * x]\\n    L.reverse()\\n    return L[0]").body[0]
        >>> print(ast.unparse(reverse_lists(t)).splitlines()[2])
            L[:] = L[::-1]
    """
    lists = _made_lists(tree)
    for node in walk(tree):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if not isinstance(block, list):
                continue
            for k, stmt in enumerate(block):
                name = _reversed_list(stmt)
                if name is not None and name in lists:
                    whole = ast.Slice(lower=None, upper=None, step=None)
                    backwards = ast.Slice(lower=None, upper=None, step=ast.UnaryOp(op=ast.USub(), operand=ast.Constant(1)))
                    block[k] = ast.fix_missing_locations(ast.copy_location(ast.Assign(
                        targets=[ast.Subscript(value=ast.Name(id=name, ctx=ast.Load()), slice=whole, ctx=ast.Store())],
                        value=ast.Subscript(value=ast.Name(id=name, ctx=ast.Load()), slice=backwards, ctx=ast.Load())),
                        stmt))
    return tree


def _reversed_list(stmt):
    """L of a statement `L.reverse()`, else None."""
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "reverse" \
            and isinstance(call.func.value, ast.Name) and not call.args and not call.keywords:
        return call.func.value.id
    return None


def _made_lists(tree: ast.FunctionDef) -> set[str]:
    """The names every binding of which in `tree` is an assignment of a list display or comprehension (not a
    parameter, a loop target, a tuple target...)."""
    params = {a.arg for a in tree.args.args + tree.args.posonlyargs + tree.args.kwonlyargs}
    params |= {a.arg for a in (tree.args.vararg, tree.args.kwarg) if a is not None}
    listed = {id(t) for node in walk(tree) if isinstance(node, ast.Assign)
              and isinstance(node.value, ast.List | ast.ListComp) for t in node.targets if isinstance(t, ast.Name)}
    made, other = set(), set(params)
    for node in walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            (made if id(node) in listed else other).add(node.id)
    return made - other
