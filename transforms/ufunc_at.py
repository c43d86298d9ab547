"""`np.add.at(a, i, b)` and `np.subtract.at(a, i, b)` as an update of the whole array.

ufunc.at changes `a` in place, each occurrence of a repeated index adding its own `b` (`a[i] += b` adds
once per distinct index). s2s writes the call as the in-place update it is, of all of `a`, with a runtime
helper that computes the new values on a copy:

    np.add.at(counts, idx, w)    ->    counts[...] = s2s.added_at(counts, idx, w)

so the ownership and aliasing passes prove it as any other update of `a` (an array the function made:
differentiated; an argument, or a view another name also reaches: refused or copied as they decide), and
the helper's rule gives the adjoints (`g` for a, `g[idx]` summed to b's shape for b). An `a` that is an item
or attribute of a name (`d["w"]`, `out[k]`, `self.acc`) is read twice, which gives the same object; any other
(`get_buffer()`, `a.view()`) is refused with the hint to bind it to a name first. The method may go by any name
that resolves to it (`add_at = np.add.at` at module level, a closure's).
Other ufuncs' `.at` (multiply, maximum) stay refused by the ownership pass, with a loop as the hint.
"""

from __future__ import annotations

import ast
import copy

import numpy as np

from . import annotations
from .context import ctx
from .desugar import helper_attr
from .walk import fix_locations, statement_lists, walk

_HELPERS = {np.add: "added_at", np.subtract: "subtracted_at"}


def rewrite_ufunc_at(pf, tree: ast.FunctionDef) -> None:
    """Write each statement `np.add.at(a, i, b)` / `np.subtract.at(a, i, b)` of `tree` as `a[...] = ...`.

        >>> # np.add.at(out, idx, x)  ->  out[...] = s2s.added_at(out, idx, x)
    """
    for block in statement_lists(tree):
        k = 0
        while k < len(block):
            helper = _helper_of(pf, block[k])
            if helper is None:
                k += 1
                continue
            block[k] = _as_update(pf, block[k], helper)
            k += 1
    fix_locations(tree)


def _helper_of(pf, stmt) -> str | None:
    """The runtime helper's name for a statement that is only a call `np.add.at(a, i, b)`, else None."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return None
    call = stmt.value
    if not (isinstance(call.func, ast.Attribute | ast.Name) and len(call.args) == 3 and not call.keywords
            and not any(isinstance(a, ast.Starred) for a in call.args)):
        return None
    method = pf.resolve_expr(call.func)
    ufunc = getattr(method, "__self__", None)
    if not isinstance(ufunc, np.ufunc) or getattr(method, "__name__", None) != "at":
        return None
    return _HELPERS.get(ufunc)


def _as_update(pf, stmt: ast.Expr, helper: str) -> ast.Assign:
    target, indices, values = stmt.value.args
    if not _read_twice_alike(target) or any(isinstance(n, ast.NamedExpr) for n in walk(stmt)):
        text = ast.unparse(target)
        raise pf.error(ctx().unsupported, f"s2s differentiates `{ast.unparse(stmt.value.func)}(a, ...)` of a name or "
                       f"an item or attribute of one, not of `{text}`", stmt,
                       hint=f"bind it to a name first: `target = {text}`, then `{ast.unparse(stmt.value.func)}(target, "
                            f"{ast.unparse(indices)}, {ast.unparse(values)})`")
    func = helper_attr("s2s", helper, getattr(ctx().runtime, helper))
    new_values = ast.Call(func=func, args=[copy.deepcopy(target), indices, values], keywords=[])
    whole = ast.Subscript(value=_as_load(copy.deepcopy(target)), slice=ast.Constant(value=Ellipsis), ctx=ast.Store())
    update = ast.copy_location(ast.Assign(targets=[whole], value=new_values), stmt)
    annotations.put(update, annotations.WRITTEN_AS, ast.unparse(stmt))
    return update


_PLAIN_INDEX = (ast.Name, ast.Constant, ast.Tuple, ast.Slice, ast.UnaryOp, ast.BinOp, ast.unaryop, ast.operator,
                ast.expr_context)


def _read_twice_alike(node) -> bool:
    """Whether reading `node` again gives the same object: a name, or items and attributes of one by names and
    literals (`out`, `d["a"]`, `grid[k]`, `self.acc`), with no call to run twice."""
    while isinstance(node, ast.Subscript | ast.Attribute):
        if isinstance(node, ast.Subscript) and not all(isinstance(n, _PLAIN_INDEX) for n in walk(node.slice)):
            return False
        node = node.value
    return isinstance(node, ast.Name)


def _as_load(node):
    for n in walk(node):
        if hasattr(n, "ctx"):
            n.ctx = ast.Load()
    return node
