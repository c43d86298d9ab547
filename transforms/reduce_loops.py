"""`functools.reduce(f, items[, initial])` as the loop it runs.

reduce calls `f` on the running value and each item in turn; s2s does not read library code, so the call
is written out as that loop before anything else reads the function (a lambda given to it becomes a local
function defined once before the loop, which the inline pass expands as any other):

    h = reduce(lambda acc, W: np.tanh(acc @ W), weights, x)
->
    fn = lambda acc, W: np.tanh(acc @ W)
    items = weights
    h_acc = x
    for item in items:
        h_acc = fn(h_acc, item)
    h = h_acc

Python evaluates reduce's arguments in order (the function, the items, the initial value), then takes the
items one at a time; the loop does the same (a generator expression's items are listed first, as the
generators pass reads a generator consumed at once). Without an initial value, reduce starts from the first item
and raises `TypeError: reduce() of empty iterable with no initial value` for none: the loop lists the
items first (`list(items)`) and raises the same error. A reduce that is not the whole value of an
assignment to a name or of a `return` is refused with the hint to assign it first (its place in the
statement's order of evaluation would move).
"""

from __future__ import annotations

import ast
import builtins
import functools

from .context import ctx
from .names import NameAllocator, load, store
from .walk import fix_locations, walk

_EMPTY = "reduce() of empty iterable with no initial value"


def reduce_as_loops(pf, tree: ast.FunctionDef, alloc: NameAllocator) -> None:
    """Write each `functools.reduce(...)` of `tree` as its loop (the module docstring), in place.

        >>> # h = reduce(f, ws, x)  ->  items = ws; acc = x; for item in items: acc = f(acc, item); h = acc
    """
    if not any(isinstance(n, ast.Call) and _is_reduce(pf, n) for n in walk(tree)):
        return
    shadowed = [b for b in ("list", "len", "TypeError") if pf.resolve(b) is not getattr(builtins, b)]
    if shadowed:
        call = next(n for n in walk(tree) if isinstance(n, ast.Call) and _is_reduce(pf, n))
        raise pf.error(ctx().unsupported, f"s2s writes functools.reduce as a loop that calls the builtin "
                       f"{shadowed[0]}, which this function's module rebinds", call,
                       hint="write the loop yourself: `acc = start; for item in items: acc = f(acc, item)`")
    changed = True
    while changed:
        changed = False
        for holder in walk(tree):
            for field in ("body", "orelse", "finalbody"):
                block = getattr(holder, field, None)
                if not isinstance(block, list):
                    continue
                for k, stmt in enumerate(block):
                    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                        continue
                    found = _reduce_of(pf, stmt)
                    if found is not None:
                        block[k:k + 1] = _loop(pf, stmt, found, alloc)
                        changed = True
                        break
                if changed:
                    break
            if changed:
                break
    fix_locations(tree)


def _is_reduce(pf, node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute) \
        and pf.resolve_expr(node.func) is functools.reduce


def _own_nodes(stmt):
    """The nodes of `stmt` outside the local functions and lambdas in it (those are checked where they run)."""
    todo = [stmt]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
                todo.append(child)


def _reduce_of(pf, stmt):
    """The reduce call `stmt` evaluates first of its calls of the user's, unconditionally (`x = reduce(...)`,
    `np.sum(reduce(...) @ v)`, `if reduce(...) > 0:`), None where it makes none; refused where it makes one
    that the loop cannot be written before."""
    parts = [stmt.test] if isinstance(stmt, ast.If) else [stmt.iter] if isinstance(stmt, ast.For) else \
        [stmt] if isinstance(stmt, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Return | ast.Expr) else []
    calls = [n for n in _own_nodes(stmt) if isinstance(n, ast.Call) and _is_reduce(pf, n)]
    if not calls:
        return None
    call = calls[0]
    path = _path(parts, call)
    if path is None or len(calls) > 1 or call.keywords or not 2 <= len(call.args) <= 3 \
            or any(isinstance(a, ast.Starred) for a in call.args) \
            or any(isinstance(n, _CONDITIONAL) or isinstance(n, ast.Compare) and len(n.ops) > 1 for n in path) \
            or not _others_pure(pf, parts, call, path):
        raise pf.error(ctx().unsupported, "s2s differentiates functools.reduce(f, items[, initial]) where it can "
                       "write the loop reduce runs before the statement: evaluated once, unconditionally, after "
                       "no call of yours in that statement", call,
                       hint="assign it to a name first: `acc = reduce(f, items, start)`, then use `acc`")
    return call


_CONDITIONAL = (ast.IfExp, ast.BoolOp, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)


def _path(roots, target):
    """The nodes from one of `roots` down to `target` (both included), else None."""
    for root in roots:
        todo = [(root, [root])]
        while todo:
            node, path = todo.pop()
            if node is target:
                return path
            todo.extend((c, path + [c]) for c in ast.iter_child_nodes(node))
    return None


def _others_pure(pf, parts, call, path) -> bool:
    """Whether every other call the statement makes (but the reduce's enclosing calls, whose callees are only
    looked up first, and the calls inside its arguments) is of a NumPy, math or builtin function."""
    inside = {id(n) for n in walk(call)}
    enclosing = {id(n) for n in path}
    for part in parts:
        for n in walk(part):
            if isinstance(n, ast.Call) and id(n) not in inside and id(n) not in enclosing:
                obj = pf.resolve_expr(n.func) if isinstance(n.func, ast.Name | ast.Attribute) else None
                module = (getattr(obj, "__module__", None) or "").split(".")[0]
                if obj is None or module not in ("numpy", "math", "builtins") and not isinstance(obj, type):
                    return False
    return True


def _loop(pf, stmt, call, alloc):
    """The statements that compute `call` (a reduce) and then do what `stmt` did with its value."""
    f, items = call.args[0], call.args[1]
    made = []
    if not isinstance(f, ast.Name | ast.Attribute):  # (evaluated once, first, as reduce's argument is)
        fn = alloc.fresh("fn")
        made.append(ast.Assign(targets=[store(fn)], value=f))
        f = load(fn)
    if isinstance(items, ast.GeneratorExp):  # (its items computed first, as a list: the generators pass's reading)
        items = ast.ListComp(elt=items.elt, generators=items.generators)
    seq, acc, item = alloc.fresh("items"), alloc.fresh("acc"), alloc.fresh("item")
    if len(call.args) == 3:
        made += [ast.Assign(targets=[store(seq)], value=items), ast.Assign(targets=[store(acc)], value=call.args[2])]
    else:  # (the first item starts the sum: the items listed, the empty case raising reduce's error)
        listed = ast.Call(func=ast.Name(id="list", ctx=ast.Load()), args=[items], keywords=[])
        raise_empty = ast.Raise(exc=ast.Call(func=ast.Name(id="TypeError", ctx=ast.Load()),
                                             args=[ast.Constant(_EMPTY)], keywords=[]), cause=None)
        empty = ast.Compare(left=ast.Call(func=ast.Name(id="len", ctx=ast.Load()), args=[load(seq)], keywords=[]),
                            ops=[ast.Eq()], comparators=[ast.Constant(0)])
        made += [ast.Assign(targets=[store(seq)], value=listed), ast.If(test=empty, body=[raise_empty], orelse=[]),
                 ast.Assign(targets=[store(acc)], value=ast.Subscript(value=load(seq), slice=ast.Constant(0),
                                                                      ctx=ast.Load())),
                 ast.Assign(targets=[store(seq)], value=ast.Subscript(
                     value=load(seq), slice=ast.Slice(lower=ast.Constant(1), upper=None, step=None),
                     ctx=ast.Load()))]
    step = ast.Assign(targets=[store(acc)], value=ast.Call(func=f, args=[load(acc), load(item)], keywords=[]))
    made.append(ast.For(target=store(item), iter=load(seq), body=[step], orelse=[]))
    _replace(stmt, call, load(acc))
    made.append(stmt)
    return [ast.copy_location(s, stmt) for s in made]


def _replace(tree, old, new) -> None:
    for parent in walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, new)
                return
            if isinstance(value, list) and any(v is old for v in value):
                value[[id(v) for v in value].index(id(old))] = new
                return
