"""A dict's views, `d.keys()`, `d.values()` and `d.items()`, as lists built by indexing the dict.

    for name, w in params.items(): ...
becomes
    for name, w in [(key, params[key]) for key in s2s.mapping_keys(params)]: ...

so that everything s2s knows of `d[key]` (its adjoint and tangent into the dict's entry, the
ownership analysis of what the value may alias, loops, comprehensions, forward mode, Hessians)
holds for the views too. `s2s.mapping_keys(d)` is `list(d.keys())`, for a dict or any mapping.

A view is a list here, made where the call is; Python's view follows the dict. The two differ only
where a view is kept in a name and the dict changes before the view is read, so a view kept in a
name of a dict the function updates is refused. The receiver must be a name or an attribute of one
(`params`, `self.params`): it is read twice.

    >>> import ast
    >>> call = ast.parse("d.items()").body[0].value
    >>> ast.unparse(view_as_list(call, "key", lambda args: ast.Call(ast.Name("keys"), args, [])))
    '[(key, d[key]) for key in keys(d)]'
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable

from .names import as_load
from .walk import walk

VIEWS = ("keys", "values", "items")
_UPDATING = frozenset({"update", "pop", "popitem", "setdefault", "clear", "__setitem__", "__delitem__"})
_STORING = frozenset({"append", "extend", "insert", "add", "update", "setdefault", "__setitem__"})  # keep an argument


def is_view_call(node: ast.AST) -> bool:
    """Whether `node` is `d.keys()`, `d.values()` or `d.items()` of a name or an attribute chain of one."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in VIEWS and
            not node.args and not node.keywords):
        return False
    root = node.func.value
    while isinstance(root, ast.Attribute):
        root = root.value
    return isinstance(root, ast.Name)


_ITERATING = ("list", "tuple", "sorted", "sum", "min", "max", "enumerate", "zip", "reversed")


def iterated_display_views(tree: ast.AST, builtin: Callable[[ast.expr, str], bool]) -> None:
    """Each view of a dict display that is only iterated (a `for`'s or a comprehension's source, or an argument
    of list, tuple, sorted, sum, min, max, enumerate, zip or reversed, `builtin(func, name)` telling those) becomes
    the list `display_view` gives, in place: a view compared (`==`, set-like for keys) or printed stays a view."""
    sources = []
    for node in walk(tree):
        if isinstance(node, ast.For | ast.comprehension):
            sources.append((node, "iter"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _ITERATING \
                and builtin(node.func, node.func.id):
            sources += [(node.args, k) for k in range(len(node.args))]
    for holder, key in sources:
        value = holder[key] if isinstance(holder, list) else getattr(holder, key)
        listed = display_view(value)
        if listed is not None:
            if isinstance(holder, list):
                holder[key] = listed
            else:
                setattr(holder, key, listed)


def display_view(call: ast.AST) -> ast.expr | None:
    """The list a view of a dict display is, `{"a": u, "b": v}.items()` -> `[("a", u), ("b", v)]` (`.values()`:
    `[u, v]`; `.keys()` where the values are names or constants, which nothing evaluates for an effect), where
    the keys are distinct constants and nothing is unpacked into it (`**d`); else None. Only where it is iterated
    is it the same (`iterated_display_views`).

        >>> ast.unparse(display_view(ast.parse("{'a': u, 'b': v}.items()").body[0].value))
        "[('a', u), ('b', v)]"
    """
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in VIEWS
            and not call.args and not call.keywords and isinstance(call.func.value, ast.Dict)):
        return None
    d = call.func.value
    if any(k is None or not isinstance(k, ast.Constant) or type(k.value) not in (str, int) for k in d.keys) \
            or len({(type(k.value), k.value) for k in d.keys}) != len(d.keys):
        return None
    if call.func.attr == "keys" and not all(isinstance(v, ast.Name | ast.Constant) for v in d.values):
        return None
    items = {"items": [ast.Tuple(elts=[k, v], ctx=ast.Load()) for k, v in zip(d.keys, d.values)],
             "values": list(d.values), "keys": list(d.keys)}[call.func.attr]
    return ast.copy_location(ast.List(elts=items, ctx=ast.Load()), call)


def view_as_list(call: ast.Call, key: str, keys_of: Callable[[list], ast.expr]) -> ast.expr:
    """The list `call` (a view call, see is_view_call) stands for, its comprehension's variable named `key`;
    `keys_of([receiver])` builds the call that lists the receiver's keys."""
    receiver = call.func.value
    keys = keys_of([copy.deepcopy(receiver)])
    if call.func.attr == "keys":
        return ast.copy_location(keys, call)
    entry = ast.Subscript(value=as_load(receiver), slice=ast.Name(key, ast.Load()), ctx=ast.Load())
    element = entry if call.func.attr == "values" else ast.Tuple([ast.Name(key, ast.Load()), entry], ast.Load())
    loop = ast.comprehension(target=ast.Name(key, ast.Store()), iter=keys, ifs=[], is_async=0)
    return ast.copy_location(ast.ListComp(elt=element, generators=[loop]), call)


def get_as_index(call: ast.Call, has_key: Callable[[list], ast.expr], effect_free: Callable[[ast.expr], bool]):
    """`d.get(k, default)` as `d[k] if has_key([d, k, default]) else default` (`d.get(k)`: None the default), the
    dict's entry read by indexing, as `d.items()` is read: its adjoint and tangent go into the entry; else None.
    The test evaluates the default, as Python does whether or not the key is there, and the receiver, the key
    and the default are read again, so each must be free of effects (`effect_free` tells); the receiver a name,
    its attributes or its items.

        >>> call = ast.parse("p.get('b', 0.0)").body[0].value
        >>> ast.unparse(get_as_index(call, lambda args: ast.Call(ast.Name("has"), args, []), lambda node: True))
        "p['b'] if has(p, 'b', 0.0) else 0.0"
    """
    if not (isinstance(call.func, ast.Attribute) and call.func.attr == "get" and 1 <= len(call.args) <= 2
            and not call.keywords and not any(isinstance(a, ast.Starred) for a in call.args)):
        return None
    root = call.func.value
    while isinstance(root, ast.Attribute | ast.Subscript):
        root = root.value
    if not isinstance(root, ast.Name) or not all(effect_free(a) for a in [*call.args, call.func.value]):
        return None
    receiver, key = call.func.value, call.args[0]
    default = call.args[1] if len(call.args) == 2 else ast.Constant(None)
    entry = ast.Subscript(value=as_load(receiver), slice=copy.deepcopy(key), ctx=ast.Load())
    test = has_key([copy.deepcopy(as_load(receiver)), copy.deepcopy(key), copy.deepcopy(default)])
    return ast.copy_location(ast.IfExp(test=test, body=entry, orelse=default), call)


def loop_over_keys(loop: ast.For, key: str, keys_of: Callable[[list], ast.expr]) -> bool:
    """Rewrite, in place, `for T in d.items():` into `for key in keys(d): T = key, d[key]` (`d.values()`:
    `T = d[key]`), where `d` is a name the loop never binds; False (nothing changed) for anything else.

    The entries are read where the loop reaches them instead of in a list made first: no list of pairs
    is built, taped and taken apart, and `d[key]` is a read of the dict's entry that every analysis
    knows. Python's loop reads the dict as it goes too; a loop that updates the dict it iterates is
    refused before this (loops.py).

        >>> loop = ast.parse("for k, v in d.items():\\n    s = s + v").body[0]
        >>> loop_over_keys(loop, "key", lambda args: ast.Call(ast.Name("keys"), args, []))
        True
        >>> print(ast.unparse(loop))
        for key in keys(d):
            k, v = (key, d[key])
            s = s + v
    """
    it = loop.iter
    if not (is_view_call(it) and it.func.attr in ("items", "values") and isinstance(it.func.value, ast.Name)):
        return False
    receiver = it.func.value.id
    if any(isinstance(n, ast.Name) and n.id == receiver and not isinstance(n.ctx, ast.Load)
           for part in (loop.target, *loop.body, *loop.orelse) for n in walk(part)):
        return False
    element = view_as_list(it, key, keys_of).elt
    bind = ast.copy_location(ast.Assign(targets=[loop.target], value=element), loop)
    loop.target = ast.copy_location(ast.Name(key, ast.Store()), loop.target)
    loop.iter = ast.copy_location(keys_of([ast.Name(receiver, ast.Load())]), it)
    loop.body = [bind, *loop.body]
    ast.fix_missing_locations(loop)
    return True


def stored_view_of_updated_mapping(tree: ast.FunctionDef):
    """The first view call kept in a name (`vals = d.values()`, or held in a display bound to one: `held =
    (d.values(), 1)`) whose dict the function updates, or None."""
    updated = _updated_receivers(tree)
    for node in walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr) and node.value is not None:
            view = _kept_view(node.value, {})
            if view is not None and ast.unparse(view.func.value) in updated:
                return view
    return None


def escaping_view(tree: ast.FunctionDef):
    """The first view call the function hands on to its caller, or None: returned or yielded, itself or
    through names and containers (`vals = d.values(); return vals`, `return d.items(), n`), or stored in
    an object (`self.vals = d.values()`, `out.append(d.values())`). Its caller may update the dict and read
    the view after, which Python's view shows and s2s's list of the entries would not.

        >>> escaping_view(ast.parse("def f(d):\\n    v = d.values()\\n    return v").body[0]) is not None
        True
        >>> escaping_view(ast.parse("def f(d):\\n    return sum(d.values())").body[0]) is None
        True
    """
    held = _names_holding_views(tree)
    for node in walk(tree):
        kept = None
        if isinstance(node, ast.Return | ast.Yield | ast.YieldFrom) and node.value is not None:
            kept = node.value
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None and any(
                not isinstance(t, ast.Name | ast.Tuple | ast.List)
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])):
            kept = node.value  # self.vals = d.values(), out[0] = d.values()
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _STORING:
            kept = ast.Tuple([*node.args, *(k.value for k in node.keywords)], ast.Load())
        view = None if kept is None else _kept_view(kept, held)
        if view is not None:
            return view
    return None


def view_read_as_set(tree: ast.FunctionDef):
    """The first view call (or name holding one, `ks = d.keys()`) that the function compares, combines,
    indexes or calls a method of (`d.keys() == e.keys()`, `d.keys() & other`, `ks.isdisjoint(s)`,
    `d.values()[0]`), or None. Python's keys and items views compare and combine as sets (`==` ignores the
    order; values views compare by identity) and have no items by position, which s2s's list of the
    entries does not; `key in d.keys()` is a list's membership too.

        >>> view_read_as_set(ast.parse("def f(d, e):\\n    return d.keys() == e.keys()").body[0]) is not None
        True
        >>> view_read_as_set(ast.parse("def f(d):\\n    return 'a' in d.keys()").body[0]) is None
        True
    """
    held = _names_holding_views(tree, containers=False)
    for node in walk(tree):
        operands = []
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for i, side in enumerate(sides):  # a view only as the container of `in` / `not in`
                if not (i > 0 and isinstance(node.ops[i - 1], ast.In | ast.NotIn)):
                    operands.append(side)
        elif isinstance(node, ast.BinOp):
            operands = [node.left, node.right]
        elif isinstance(node, ast.Attribute | ast.Subscript):  # (a view has no items by position: TypeError)
            operands = [node.value]
        for operand in operands:
            view = _kept_view(operand, held, containers=False)
            if view is not None:
                return view
    return None


def _names_holding_views(tree, containers=True) -> dict:
    """name -> the view call it may hold (bound to a view, to a name holding one, or, with `containers`, to a
    tuple, list, set or dict holding either)."""
    held = {}
    changed = True
    while changed:
        changed = False
        for node in walk(tree):
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr) and node.value is not None:
                view = _kept_view(node.value, held, containers)
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if view is not None and isinstance(target, ast.Name) and target.id not in held:
                        held[target.id] = view
                        changed = True
    return held


def _kept_view(expr, held, containers=True):
    """The view call `expr`'s value is or holds (itself, an element of a tuple, list, set or dict display
    where `containers`, either branch of a conditional, a name in `held`), or None."""
    if is_view_call(expr):
        return expr
    if isinstance(expr, ast.Name):
        return held.get(expr.id)
    if isinstance(expr, ast.Tuple | ast.List | ast.Set) and containers:
        parts = expr.elts
    elif isinstance(expr, ast.Dict) and containers:
        parts = [v for v in expr.values if v is not None]
    elif isinstance(expr, ast.IfExp):
        parts = [expr.body, expr.orelse]
    elif isinstance(expr, ast.BoolOp):
        parts = expr.values
    elif isinstance(expr, ast.NamedExpr):
        parts = [expr.value]
    else:
        return None
    for part in parts:
        view = _kept_view(part, held, containers)
        if view is not None:
            return view
    return None


def _updated_receivers(tree) -> set[str]:
    """The objects (as source text) the function updates in place: items stored or deleted, updating methods."""
    out = set()
    for node in walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for t in targets:
            for sub in walk(t):
                if isinstance(sub, ast.Subscript):
                    out.add(ast.unparse(sub.value))
        if isinstance(node, ast.AugAssign):  # d |= {...} updates the dict itself
            out.add(ast.unparse(node.target))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _UPDATING:
            out.add(ast.unparse(node.func.value))
    return out
