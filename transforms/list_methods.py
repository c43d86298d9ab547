"""In-place methods of a list the function builds, written as the assignments s2s differentiates.

* `L.reverse()` is `L[:] = L[::-1]`: the same list, its items in the other order. A list of rewards or returns is
  often built backwards and turned round once (`out.append(G)` in a loop over `t` from the end, then
  `out.reverse()`). s2s differentiates a slice assignment that keeps a list's length (transforms/lower.py).
* `L.extend(items)` is `L += list(items)` (`L += [...]` where items is a list display or comprehension): Python's
  `list.__iadd__` is `extend`, and s2s differentiates `L += v` of a list in place, refusing it where another name
  holds the list (transforms/ownership.py).

Either way every name that holds the list sees the change, as in Python. Only where `L` is a local bound only to
lists the function makes (`[]`, a list display, a list comprehension): another object's method may do anything.

    out.reverse()         ->    out[:] = out[::-1]
    out.extend(rows)      ->    out += list(rows)
"""

from __future__ import annotations

import ast

from .walk import walk

__all__ = ["rewrite_list_methods"]


def rewrite_list_methods(tree: ast.FunctionDef) -> ast.FunctionDef:
    """`tree` with each statement `L.reverse()` or `L.extend(items)` of a list the function makes written as the
    assignment that does the same.

        >>> t = ast.parse("def f(x):\\n    L = [x, 2 * x]\\n    L.reverse()\\n    L.extend(x)\\n    return L[0]").body[0]
        >>> print("\\n".join(ast.unparse(rewrite_list_methods(t)).splitlines()[2:4]))
            L[:] = L[::-1]
            L += list(x)
    """
    lists = _made_lists(tree)
    for node in walk(tree):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if not isinstance(block, list):
                continue
            for k, stmt in enumerate(block):
                name, method, items = _list_method(stmt)
                if name is None or name not in lists:
                    continue
                if method == "reverse":
                    whole = ast.Slice(lower=None, upper=None, step=None)
                    backwards = ast.Slice(lower=None, upper=None, step=ast.UnaryOp(op=ast.USub(), operand=ast.Constant(1)))
                    new = ast.Assign(targets=[ast.Subscript(value=ast.Name(id=name, ctx=ast.Load()), slice=whole,
                                                            ctx=ast.Store())],
                                     value=ast.Subscript(value=ast.Name(id=name, ctx=ast.Load()), slice=backwards,
                                                         ctx=ast.Load()))
                else:
                    if not isinstance(items, ast.List | ast.ListComp):
                        items = ast.Call(func=ast.Name(id="list", ctx=ast.Load()), args=[items], keywords=[])
                    new = ast.AugAssign(target=ast.Name(id=name, ctx=ast.Store()), op=ast.Add(), value=items)
                block[k] = ast.fix_missing_locations(ast.copy_location(new, stmt))
    return tree


def _list_method(stmt):
    """(L, "reverse", None) of a statement `L.reverse()`, (L, "extend", items) of `L.extend(items)`, else
    (None, None, None)."""
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name) \
            and not call.keywords:
        if call.func.attr == "reverse" and not call.args:
            return call.func.value.id, "reverse", None
        if call.func.attr == "extend" and len(call.args) == 1 and not isinstance(call.args[0], ast.Starred):
            return call.func.value.id, "extend", call.args[0]
    return None, None, None


def _made_lists(tree: ast.FunctionDef) -> set[str]:
    """The names every binding of which in `tree` is an assignment of a list display or comprehension or `+=` (not a
    parameter, a loop target, a tuple target...)."""
    params = {a.arg for a in tree.args.args + tree.args.posonlyargs + tree.args.kwonlyargs}
    params |= {a.arg for a in (tree.args.vararg, tree.args.kwarg) if a is not None}
    listed = {id(t) for node in walk(tree) if isinstance(node, ast.Assign)
              and isinstance(node.value, ast.List | ast.ListComp) for t in node.targets if isinstance(t, ast.Name)}
    # (`L += v` keeps a list a list: the same object, extended)
    listed |= {id(node.target) for node in walk(tree) if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add)}
    made, other = set(), set(params)
    for node in walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            (made if id(node) in listed else other).add(node.id)
    return made - other
