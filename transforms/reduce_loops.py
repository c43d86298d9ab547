"""`functools.reduce(f, items[, initial])` as the loop it runs.

reduce calls `f` on the running value and each item in turn; s2s does not read library code, so the call
is written out as that loop before anything else reads the function (a lambda's body written in the loop
with its parameters read as the running value and the item; any other function called there):

    h = reduce(lambda acc, W: np.tanh(acc @ W), weights, x)
->
    acc2 = x
    for item in weights:
        acc2 = np.tanh(acc2 @ item)
    h = acc2

Python evaluates reduce's arguments in order (the function, the items, the initial value), then takes the
items one at a time; the loop does the same (a generator expression kept in a name is refused further on, as
a loop over one is). Without an initial value the first item starts the running value, and no items raise
`TypeError: reduce() of empty iterable with no initial value`, as reduce does. The loop goes before the
statement that holds the reduce: where that statement computes anything before it (`buf[0] * x +
reduce(...)`, `a[0] += reduce(...)`: f may change what it reads) or evaluates it on some paths only, or in a
`while` test, it is refused with the hint to assign it to a name first.
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools

from .context import ctx
from .evaluation_order import module_attribute, movable_call, replace_node
from .names import NameAllocator, load, store
from .walk import fix_locations, rewrite_statements_one_at_a_time, walk

_EMPTY = "reduce() of empty iterable with no initial value"


def reduce_as_loops(pf, tree: ast.FunctionDef, alloc: NameAllocator) -> None:
    """Write each `functools.reduce(...)` of `tree` as its loop (the module docstring), in place.

        >>> # h = reduce(f, ws, x)  ->  items = ws; acc = x; for item in items: acc = f(acc, item); h = acc
    """
    if not any(isinstance(n, ast.Call) and _is_reduce(pf, n) for n in walk(tree)):
        return
    if pf.resolve("TypeError") is not builtins.TypeError:
        call = next(n for n in walk(tree) if isinstance(n, ast.Call) and _is_reduce(pf, n))
        raise pf.error(ctx().unsupported, "s2s writes functools.reduce as a loop that raises the builtin TypeError "
                       "where there are no items, which this function or its module binds to something else", call,
                       hint="write the loop yourself: `acc = start; for item in items: acc = f(acc, item)`")
    # (one at a time, the blocks found again: a lambda's body written in a loop may hold another)
    rewrite_statements_one_at_a_time(tree, lambda stmt: _reduce_of(pf, stmt),
                                     lambda stmt, call: _loop(pf, stmt, call, alloc))
    fix_locations(tree)


def _is_reduce(pf, node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute) \
        and pf.resolve_expr(node.func) is functools.reduce


def _reduce_of(pf, stmt):
    """The reduce call `stmt` evaluates before anything that a call of f could change (`x = reduce(...)`,
    `np.sum(reduce(...) @ v)`, `if reduce(...) > 0:`), None where it makes none; refused where it makes one that
    the loop cannot be written before."""
    site = movable_call(pf, stmt, lambda n: _is_reduce(pf, n))
    if site is None:
        return None
    call, movable = site
    if call.keywords or not 2 <= len(call.args) <= 3 or any(isinstance(a, ast.Starred) for a in call.args):
        raise pf.error(ctx().unsupported, "s2s differentiates functools.reduce(f, items) and reduce(f, items, "
                       "initial), given by position (Python's reduce takes no keywords)", call,
                       hint="call it as `reduce(f, items, start)`")
    if not movable:
        raise pf.error(ctx().unsupported, "s2s differentiates functools.reduce(f, items[, initial]) where it can "
                       "write the loop reduce runs before the statement: evaluated once, unconditionally, with "
                       "nothing but names read before it in that statement (f may change what else is read)", call,
                       hint="assign it to a name first: `acc = reduce(f, items, start)`, then use `acc`")
    return call


def _loop(pf, stmt, call, alloc):
    """The statements that compute `call` (a reduce) and then do what `stmt` did with its value."""
    f, items = call.args[0], call.args[1]
    made = []
    acc, item = alloc.fresh("acc"), alloc.fresh("item")
    body = _lambda_body(f, acc, item)
    if body is None and not isinstance(f, ast.Name | ast.Attribute):  # (evaluated once, first, as reduce's is)
        fn = alloc.fresh("reduced_with")
        made.append(ast.Assign(targets=[store(fn)], value=f))
        f = load(fn)
    step = ast.Assign(targets=[store(acc)], value=body if body is not None else
                      ast.Call(func=f, args=[load(acc), load(item)], keywords=[]))
    if len(call.args) == 3 and not _plain(pf, call.args[2]):  # (the items evaluated before the initial value)
        seq = alloc.fresh("items")
        made.append(ast.Assign(targets=[store(seq)], value=items))
        items = load(seq)
    if len(call.args) == 3:
        made += [ast.Assign(targets=[store(acc)], value=call.args[2]),
                 ast.For(target=store(item), iter=items, body=[step], orelse=[])]
    else:  # (the first item starts the running value; none raises reduce's error)
        first = alloc.fresh("first")
        take = [ast.Assign(targets=[store(acc)], value=load(item)),
                ast.Assign(targets=[store(first)], value=ast.Constant(False))]
        raise_empty = ast.Raise(exc=ast.Call(func=ast.Name(id="TypeError", ctx=ast.Load()),
                                             args=[ast.Constant(_EMPTY)], keywords=[]), cause=None)
        made += [ast.Assign(targets=[store(first)], value=ast.Constant(True)),
                 ast.For(target=store(item), iter=items, body=[ast.If(test=load(first), body=take, orelse=[step])],
                         orelse=[]),
                 ast.If(test=load(first), body=[raise_empty], orelse=[])]
    replace_node(stmt, call, load(acc))
    made.append(stmt)
    return [ast.copy_location(s, stmt) for s in made]


def _lambda_body(f, acc, item):
    """The body of `lambda a, b: e` with a and b read as `acc` and `item` (the call written where it is made,
    so that no function is defined in the loop); None for any other f, or a lambda whose body binds or
    reads those names in a scope of its own."""
    if not isinstance(f, ast.Lambda):
        return None
    a = f.args
    if a.posonlyargs or a.vararg or a.kwonlyargs or a.kwarg or a.defaults or len(a.args) != 2:
        return None
    names = {a.args[0].arg: acc, a.args[1].arg: item}
    if any(isinstance(n, ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp | ast.NamedExpr)
           for n in walk(f.body)):
        return None  # (a scope of its own, or a binding, may shadow the parameters)
    body = copy.deepcopy(f.body)
    for n in walk(body):
        if isinstance(n, ast.Name) and n.id in names:
            n.id = names[n.id]
    return body


def _plain(pf, node) -> bool:
    """Whether evaluating `node` computes nothing (a name, a literal, a module's attribute): evaluated before
    or after the items, the same."""
    return isinstance(node, ast.Name | ast.Constant) or isinstance(node, ast.Attribute) and module_attribute(pf, node)
