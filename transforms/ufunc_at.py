"""`np.add.at(a, i, b)`, `np.subtract.at(a, i, b)` and NumPy's writers (`np.fill_diagonal`, `np.copyto`,
`np.putmask`, `np.place`, `np.put`, `np.put_along_axis`) as an update of the whole array.

ufunc.at changes `a` in place, each occurrence of a repeated index adding its own `b` (`a[i] += b` adds
once per distinct index). s2s writes the call as the in-place update it is, of all of `a`, with a runtime
helper that computes the new values on a copy:

    np.add.at(counts, idx, w)    ->    counts[...] = s2s.added_at(counts, idx, w)

so the ownership and aliasing passes prove it as any other update of `a` (an array the function made:
differentiated; an argument, or a view another name also reaches: refused or copied as they decide), and
the helper's rule gives the adjoints (`g` for a, `g[idx]` summed to b's shape for b). `a` is a variable (a
local dict's item read by a literal key is one by then: transforms/records.py); an item, attribute or computed
array (`grid[1]`, `self.acc`, `a.view()`) is refused with the hint to update a copy and store it back. The method
may go by any name that resolves to it (`add_at = np.add.at` at module level, a closure's).
Other ufuncs' `.at` (multiply, maximum) stay refused by the ownership pass, with a loop as the hint.

The writers go the same way, each with a helper that calls NumPy's function on a copy (s2s/runtime/writers.py):

    np.fill_diagonal(D, 0.0)     ->    D[...] = s2s.filled_diagonal(D, 0.0)
    np.copyto(y, x, where=m)     ->    y[...] = s2s.copied_to(y, x, where=m)

with the arguments as written (keywords too, in their order), so every value, cast and error is NumPy's.
"""

from __future__ import annotations

import ast
import inspect

import numpy as np

from . import annotations
from .context import ctx
from .desugar import helper_attr
from .names import load
from .walk import fix_locations, statement_lists

_HELPERS = {np.add: "added_at", np.subtract: "subtracted_at"}
_WRITERS = {np.fill_diagonal: "filled_diagonal", np.copyto: "copied_to", np.putmask: "putmasked", np.place: "placed",
            np.put: "put_into", np.put_along_axis: "put_along"}


def rewrite_ufunc_at(pf, tree: ast.FunctionDef) -> None:
    """Write each statement `np.add.at(a, i, b)` / `np.subtract.at(a, i, b)` / `np.fill_diagonal(a, v)` (and
    NumPy's other writers) of `tree` as `a[...] = ...`.

        >>> # np.add.at(out, idx, x)  ->  out[...] = s2s.added_at(out, idx, x)
    """
    for block in statement_lists(tree):
        for k, stmt in enumerate(block):
            helper = _helper_of(pf, stmt)
            if helper is not None:
                block[k] = _as_update(pf, stmt, helper)
    fix_locations(tree)


def _helper_of(pf, stmt) -> str | None:
    """The runtime helper's name for a statement that is only a call `np.add.at(a, i, b)` or of a writer whose
    arguments bind to its parameters, else None."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return None
    call = stmt.value
    if not isinstance(call.func, ast.Attribute | ast.Name) or any(isinstance(a, ast.Starred) for a in call.args) \
            or any(k.arg is None for k in call.keywords) or not call.args:
        return None
    method = pf.resolve_expr(call.func)
    writer = next((helper for func, helper in _WRITERS.items() if method is func), None)
    if writer is not None:
        return writer if _binds(getattr(ctx().runtime, writer), call) else None
    if len(call.args) != 3 or call.keywords:
        return None
    ufunc = getattr(method, "__self__", None)
    if not isinstance(ufunc, np.ufunc) or getattr(method, "__name__", None) != "at":
        return None
    return _HELPERS.get(ufunc)


def _binds(helper, call: ast.Call) -> bool:
    """Whether the call's arguments bind to the writer's parameters (NumPy's own, which the helper takes): else the
    call is left as written (the ownership pass refuses it, with its hint)."""
    try:
        inspect.signature(helper).bind(*call.args, **{k.arg: k.value for k in call.keywords})
    except TypeError:
        return False
    return True


def _as_update(pf, stmt: ast.Expr, helper: str) -> ast.Assign:
    target = stmt.value.args[0]
    if not isinstance(target, ast.Name):
        text, called = ast.unparse(target), ast.unparse(stmt.value.func)
        rest = ", ".join(ast.unparse(a) for a in [*stmt.value.args[1:], *stmt.value.keywords])
        stored = f", `{text} = part`" if isinstance(target, ast.Subscript | ast.Attribute) else ""
        raise pf.error(ctx().unsupported, f"s2s differentiates `{called}(a, ...)` of an array named by a variable, "
                       f"not of `{text}`", stmt,
                       hint=f"update a copy and store it back: `part = {text}.copy()`, `{called}(part, {rest})`"
                            f"{stored}")
    func = helper_attr("s2s", helper, getattr(ctx().runtime, helper))
    new_values = ast.Call(func=func, args=list(stmt.value.args), keywords=list(stmt.value.keywords))
    whole = ast.Subscript(value=load(target.id), slice=ast.Constant(value=Ellipsis), ctx=ast.Store())
    update = ast.copy_location(ast.Assign(targets=[whole], value=new_values), stmt)
    annotations.put(update, annotations.WRITTEN_AS, ast.unparse(stmt))
    return update
