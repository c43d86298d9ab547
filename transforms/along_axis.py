"""`np.apply_along_axis(f, axis, arr, *args)` as the comprehension it runs.

NumPy calls `f` on each 1-d slice of `arr` along `axis` and places the results where that axis was. s2s does not
read NumPy's code, so the call is written out before anything else reads it, with runtime helpers that take the
rows and place the results (s2s/runtime/along_axis.py, each with a rule):

    y = np.apply_along_axis(score, 1, X, w)
->
    func1d = score; arr = X; arg = w
    y = s2s.along_axis_out(np.stack(s2s.along_axis_results([func1d(row, arg) for row in s2s.along_axis_rows(arr, 1)])),
                           arr, 1)

so `f` (a function of yours, a lambda, a NumPy function) is differentiated as any call in a comprehension. The
arguments are taken once each, in Python's order, in statements before the one that holds the call (a lambda is
written in the comprehension as its body); where that statement computes anything before the call, or evaluates
it on some paths only, or in a `while` test, it is refused with the hint to assign the call to a name first.
"""

from __future__ import annotations

import ast
import copy
import types

import numpy as np

from .context import ctx
from .desugar import helper_attr
from .evaluation_order import movable_call, replace_node
from .names import NameAllocator, load, store, substituted
from .walk import fix_locations, rewrite_statements_one_at_a_time, walk


def write_apply_along_axis(pf, tree: ast.FunctionDef, alloc: NameAllocator) -> None:
    """Write each `np.apply_along_axis(...)` of `tree` as its comprehension (the module docstring), in place.

        >>> # y = np.apply_along_axis(f, 1, X @ W)  ->  arr = X @ W; y = s2s.along_axis_out(np.stack(...), arr, 1)
    """
    if not any(_is_apply(pf, n) for n in walk(tree)):
        return
    rewrite_statements_one_at_a_time(tree, lambda stmt: _call_of(pf, stmt),
                                     lambda stmt, call: _written(pf, stmt, call, alloc))
    fix_locations(tree)


def _is_apply(pf, node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute) \
        and pf.resolve_expr(node.func) is np.apply_along_axis


def _call_of(pf, stmt):
    """The first np.apply_along_axis call `stmt` evaluates, where its arguments may be evaluated in a statement
    before it (evaluated once, unconditionally, with nothing but names read before it); None where it makes none;
    refused where it makes one that cannot be."""
    site = movable_call(pf, stmt, lambda n: _is_apply(pf, n))
    if site is None:
        return None
    call, movable = site
    if not movable:
        raise pf.error(ctx().unsupported, "s2s differentiates np.apply_along_axis where it can take its arguments "
                       "before the statement: evaluated once, unconditionally, with nothing but names read before "
                       "it in that statement", call,
                       hint="assign it to a name first: `out = np.apply_along_axis(f, axis, arr)`, then use `out`")
    if len(call.args) < 3 or any(isinstance(a, ast.Starred) for a in call.args) \
            or any(k.arg is None for k in call.keywords):
        raise pf.error(ctx().unsupported, "s2s differentiates np.apply_along_axis(func1d, axis, arr, *args, **kwargs) "
                       "written with its three first arguments by position and no * or **", call,
                       hint="write it as `np.apply_along_axis(f, axis, arr, ...)`")
    taken_twice = next((k.arg for k in call.keywords if k.arg in ("func1d", "axis", "arr")), None)
    if taken_twice is not None:  # (Python's TypeError: the keyword is apply_along_axis's own, not f's)
        raise pf.error(ctx().unsupported, f"np.apply_along_axis() got multiple values for argument '{taken_twice}' "
                       "(Python raises TypeError)", call,
                       hint=f"pass it to your function another way: `lambda r: f(r, {taken_twice}=...)`")
    return call


def _written(pf, stmt, call: ast.Call, alloc: NameAllocator) -> list:
    """The statements that take `call`'s arguments (each once, in Python's order) and then do what `stmt` did with
    the placed results."""
    made = []
    # (names and constants alone: read where the call is, as Python reads them, with no name of s2s's bound to the
    # array (`y[0, 0] = v` after it would see one); with a computed argument, each taken in turn before the statement)
    all_plain = all(isinstance(a, ast.Name | ast.Constant | ast.Lambda) or _of_a_module(pf, a)
                    for a in (*call.args, *(k.value for k in call.keywords)))

    def taken(node, name):
        if isinstance(node, ast.Constant) or all_plain and isinstance(node, ast.Name):
            return node
        held = alloc.fresh(name)
        made.append(ast.Assign(targets=[store(held)], value=node))
        return load(held)

    func = call.args[0] if isinstance(call.args[0], ast.Lambda) else taken(call.args[0], "func1d")
    axis, arr = taken(call.args[1], "axis"), taken(call.args[2], "arr")
    args = [taken(a, "arg") for a in call.args[3:]]
    keywords = [ast.keyword(arg=k.arg, value=taken(k.value, k.arg)) for k in call.keywords]
    row = alloc.fresh("row")
    called = ast.Call(func=func, args=[load(row), *args], keywords=keywords)
    if isinstance(func, ast.Lambda):  # (its body, the row and the arguments in place of its parameters: a lambda
        called = _lambda_body(pf, func, called)  # made again on each trip would be another function each time)
    results = ast.ListComp(
        elt=called,
        generators=[ast.comprehension(target=store(row), iter=_helper("along_axis_rows", arr, axis), ifs=[],
                                      is_async=0)])
    stacked = ast.Call(func=helper_attr("np", "stack", np.stack), args=[_helper("along_axis_results", results)],
                       keywords=[])
    replace_node(stmt, call, ast.copy_location(_helper("along_axis_out", stacked, copy.deepcopy(arr),
                                                       copy.deepcopy(axis)), call))
    made.append(stmt)
    return [ast.copy_location(s, stmt) for s in made]


def _of_a_module(pf, node) -> bool:
    """`np.cumsum`, `np.linalg.norm`: an attribute of a module, which reading runs nothing of yours."""
    root = node
    while isinstance(root, ast.Attribute):
        root = root.value
    try:
        return root is not node and isinstance(root, ast.Name) and isinstance(pf.resolve_expr(root), types.ModuleType)
    except Exception:  # noqa: BLE001 - a name that resolves to nothing here: not a module's
        return False


def _lambda_body(pf, func: ast.Lambda, called: ast.Call):
    """The body of the lambda `func` with `called`'s arguments (plain names and constants) for its parameters."""
    a = func.args
    params = [p.arg for p in a.posonlyargs + a.args]
    if a.vararg or a.kwarg or a.kwonlyargs or a.defaults or called.keywords or len(params) != len(called.args):
        raise pf.error(ctx().unsupported, "s2s differentiates np.apply_along_axis of a lambda whose parameters, "
                       "without defaults, take the row and the extra arguments by position", func,
                       hint="define the function with `def` before the call and pass its name")
    inner = {n.id for n in walk(func.body) if isinstance(n, ast.Name)} | {
        n.arg for n in walk(func.body) if isinstance(n, ast.arg)}
    bound_inside = {n.arg for n in walk(func.body) if isinstance(n, ast.arg)} | {
        n.id for n in walk(func.body) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    if inner & {n.id for arg in called.args for n in walk(arg) if isinstance(n, ast.Name)} - set(params) \
            or bound_inside & set(params):
        raise pf.error(ctx().unsupported, "s2s cannot write this lambda's body with the arguments np.apply_along_axis "
                       "gives it: a name of an argument is also a name of the body", func,
                       hint="define the function with `def` before the call and pass its name")
    return substituted(copy.deepcopy(func.body), dict(zip(params, called.args)))


def _helper(name, *args):
    return ast.Call(func=helper_attr("s2s", name, getattr(ctx().runtime, name)), args=list(args), keywords=[])
