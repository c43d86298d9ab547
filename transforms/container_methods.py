"""In-place methods of a list or dict the function builds, written as the assignments s2s differentiates.

* `L.reverse()` is `L[:] = L[::-1]`: the same list, its items in the other order. A list of rewards or returns is
  often built backwards and turned round once (`out.append(G)` in a loop over `t` from the end, then
  `out.reverse()`). s2s differentiates a slice assignment that keeps a list's length (transforms/lower.py).
* `L.extend(items)` is `L += list(items)` (`L += [...]` where items is a list display or comprehension), and
  `L += (a, b)` is `L += [a, b]`: Python's `list.__iadd__` is `extend`, and s2s differentiates `L += v` of two
  lists in place, refusing it where another name holds the list (transforms/ownership.py). (`L += v` of an array v
  is not an extend in Python: ndarray's `__radd__` comes first, and adds the array to L's items, as `L + v` does.)
* `d.update({"a": u, "b": v})` and `d.update(a=u, b=v)` are `d["a"], d["b"] = u, v`: every value computed first,
  then stored in order, as `update` does (a dict local to the function whose keys are then known is one
  variable per key: transforms/records.py).

Every name that holds the list or dict sees the change, as in Python. Only where the name is a local bound only
to lists (or dicts) the function makes (a display or comprehension): another object's method may do anything.

    out.reverse()               ->    out[:] = out[::-1]
    out.extend(rows)            ->    out += list(rows)
    state.update(h=h2, c=c2)    ->    state['h'], state['c'] = h2, c2
"""

from __future__ import annotations

import ast

from .walk import walk

__all__ = ["rewrite_container_methods"]


def rewrite_container_methods(tree: ast.FunctionDef) -> ast.FunctionDef:
    """`tree` with each statement `L.reverse()` or `L.extend(items)` of a list the function makes, and
    `d.update(...)` of a dict it makes with a display of string keys or keywords, written as the assignment that
    does the same.

        >>> t = ast.parse("def f(x):\\n    L = [x, 2 * x]\\n    L.reverse()\\n    L.extend(x)\\n    return L[0]").body[0]
        >>> print("\\n".join(ast.unparse(rewrite_container_methods(t)).splitlines()[2:4]))
            L[:] = L[::-1]
            L += list(x)
    """
    lists, dicts = _made(tree, ast.List | ast.ListComp, ast.Add), _made(tree, ast.Dict | ast.DictComp, ast.BitOr)
    for node in walk(tree):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if not isinstance(block, list):
                continue
            for k, stmt in enumerate(block):
                if isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, ast.Add) and isinstance(stmt.target, ast.Name) \
                        and stmt.target.id in lists and isinstance(stmt.value, ast.Tuple) \
                        and not any(isinstance(e, ast.Starred) for e in stmt.value.elts):
                    # (`L += (a, b)` extends L by the tuple's items; not `L += v` of any v: of an array, Python adds
                    # the array to L's items, ndarray.__radd__, as s2s's `L + v` does)
                    stmt.value = _as_list(stmt.value)
                    continue
                name, method, items = _list_method(stmt)
                if name is None or name not in (dicts if method == "update" else lists):
                    continue
                if method == "update":
                    keys, values = items
                    target = ast.Tuple(elts=[ast.Subscript(value=ast.Name(id=name, ctx=ast.Load()),
                                                           slice=ast.Constant(k), ctx=ast.Store()) for k in keys],
                                       ctx=ast.Store())
                    new = ast.Assign(targets=[target], value=ast.Tuple(elts=values, ctx=ast.Load()))
                elif method == "reverse":
                    whole = ast.Slice(lower=None, upper=None, step=None)
                    backwards = ast.Slice(lower=None, upper=None, step=ast.UnaryOp(op=ast.USub(), operand=ast.Constant(1)))
                    new = ast.Assign(targets=[ast.Subscript(value=ast.Name(id=name, ctx=ast.Load()), slice=whole,
                                                            ctx=ast.Store())],
                                     value=ast.Subscript(value=ast.Name(id=name, ctx=ast.Load()), slice=backwards,
                                                         ctx=ast.Load()))
                else:
                    new = ast.AugAssign(target=ast.Name(id=name, ctx=ast.Store()), op=ast.Add(), value=_as_list(items))
                block[k] = ast.fix_missing_locations(ast.copy_location(new, stmt))
    return tree


def _list_call(node) -> bool:
    """`list(...)`: a list, by the builtin of that name."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "list"


def _as_list(items):
    """A list of `items`' elements: a list display or comprehension as it is, a tuple display as a list display,
    anything else as `list(items)`."""
    if isinstance(items, ast.List | ast.ListComp):
        return items
    if isinstance(items, ast.Tuple):
        return ast.copy_location(ast.List(elts=items.elts, ctx=ast.Load()), items)
    return ast.copy_location(ast.Call(func=ast.Name(id="list", ctx=ast.Load()), args=[items], keywords=[]), items)


def _list_method(stmt):
    """(L, "reverse", None) of a statement `L.reverse()`, (L, "extend", items) of `L.extend(items)`, (d, "update",
    (keys, values)) of `d.update(...)` (`_update_items`), else (None, None, None)."""
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name) \
            and not call.keywords:
        if call.func.attr == "reverse" and not call.args:
            return call.func.value.id, "reverse", None
        if call.func.attr == "extend" and len(call.args) == 1 and not isinstance(call.args[0], ast.Starred):
            return call.func.value.id, "extend", call.args[0]
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name) \
            and call.func.attr == "update":
        keys, values = _update_items(call)
        if keys:
            return call.func.value.id, "update", (keys, values)
    return None, None, None


def _update_items(call):
    """(keys, values) of `d.update({"a": u})`, `d.update(a=u)` or both, keys distinct strings written out; else
    ((), ())."""
    pairs = []
    if len(call.args) == 1 and isinstance(call.args[0], ast.Dict):
        pairs = list(zip(call.args[0].keys, call.args[0].values))
    elif call.args:
        return (), ()
    pairs += [(ast.Constant(k.arg) if k.arg is not None else None, k.value) for k in call.keywords]
    keys = [k.value if isinstance(k, ast.Constant) and type(k.value) is str else None for k, _ in pairs]
    if not keys or None in keys or len(set(keys)) != len(keys):
        return (), ()
    return keys, [v for _, v in pairs]


def _made(tree: ast.FunctionDef, kinds, extends) -> set[str]:
    """The names every binding of which in `tree` is an assignment of a display or comprehension of `kinds` or an
    update by the operator `extends` (`L += v`, `d |= v`: the same object) (not a parameter, a loop target, a
    tuple target...)."""
    params = {a.arg for a in tree.args.args + tree.args.posonlyargs + tree.args.kwonlyargs}
    params |= {a.arg for a in (tree.args.vararg, tree.args.kwarg) if a is not None}
    made_of = {id(t) for node in walk(tree) if isinstance(node, ast.Assign)
               and isinstance(node.value, kinds) for t in node.targets if isinstance(t, ast.Name)}
    # (`L += v` of an array v makes L an array: ndarray.__radd__ comes before the extend; of a display it extends)
    made_of |= {id(node.target) for node in walk(tree) if isinstance(node, ast.AugAssign)
                and isinstance(node.op, extends) and (isinstance(node.value, kinds | ast.Tuple) or _list_call(node.value))}
    made, other = set(), set(params)
    for node in walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            (made if id(node) in made_of else other).add(node.id)
    return made - other
