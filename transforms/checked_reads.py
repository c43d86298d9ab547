"""An index read whose value nothing needs, where its adjoint checks the same index again.

In the code of `s2s.grad` the loss value is not computed, but an index read of the forward sweep
stays even where the backward sweep never reads its value, because it may raise (an index out of
range is an `IndexError`):

    t7 = logp[arange, y]                     (nothing reads t7)
    ...
    logp_bar[arange, y] += t7_bar

Its adjoint indexes an array of the same shape with the same index, and raises exactly where the
read would: NumPy checks an index against the shape it indexes, not against the values. So the read
is dropped, and with it what only it read (`logp = logits - log`, the log-softmax itself). This
holds where:

- the read `t = a[index]` is a top-level statement, `t` bound nowhere else, and its index only
  names, constants and slices (no call runs twice or once fewer);
- a later top-level statement is `a_bar[index] += v` or `np.add.at(a_bar, index, v)` with the same
  index, written alike, into an array whose shape there is `a`'s shape at the read (both known), or
  calls `s2s.getitem_grad(v, a, index)` of the same array unconditionally (it indexes zeros of a's
  shape with `np.add.at`);
- the names in the index are not bound again between the two, nor their arrays changed in place
  (transforms/unchanged.py), and nothing between can raise for the values it is given, nor be seen
  (`_quiet`): only assignments to names of arithmetic (`+ - * @`, division where NumPy does it),
  constants, names, `.shape`/`.T` and fresh arrays of constant shapes (`np.zeros`,
  `np.broadcast_to`). Where the read raised first in the user's function, no `assert`, no
  `np.linalg.inv` of a singular matrix (LinAlgError), no other index read or adjoint (an IndexError
  about another index), no print may come first in s2s.grad's code. The adjoint's own statement
  checks the index before anything else of it that could raise: `a_bar[index] += v` indexes before it
  evaluates `v`, and the value array of `np.add.at`, the other terms around `s2s.getitem_grad`, are
  quiet too.
"""

from __future__ import annotations

import ast

import numpy as np

from .context import ctx
from .reverse import Comment
from .unchanged import SHAPE_ATTRIBUTES, aliases, changed_in_place
from .walk import binding_counts, walk

__all__ = ["rechecked_index_reads"]


def rechecked_index_reads(fdef: ast.FunctionDef, shapes) -> set[str]:
    """The names bound by index reads that the module docstring's conditions let go where nothing reads them;
    `shapes` are those inferred over `fdef`.

        >>> # t7 = logp[arange, y]; ...; logp_bar[arange, y] += t7_bar   ->  {"t7"}
    """
    stores = binding_counts([fdef])
    body, found = fdef.body, set()
    for i, s in enumerate(body):
        read = _index_read(s, stores, shapes)
        if read is None:
            continue
        target, shape, index = read
        written, base = ast.dump(index), s.value.value.id
        for j in range(i + 1, len(body)):
            if _rechecks(body[j], shape, written, shapes) or _scatters(body[j], base, shape, written, shapes):
                between = body[i + 1:j]
                if _index_unchanged(fdef, index, base, between, shapes) and _quiet(between, shapes):
                    found.add(target)
                break
    return found


def _index_read(s, stores, shapes):
    """(target, shape of the array read, index) for `t = a[index]` as the module docstring says; else None."""
    if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
            and stores.get(s.targets[0].id) == 1 and isinstance(s.value, ast.Subscript)
            and isinstance(s.value.value, ast.Name)):
        return None
    shape = shapes.of(s.value.value)
    index = s.value.slice
    if not (isinstance(shape, tuple) and len(shape) >= 1 and _plain_index(index)) \
            or any(isinstance(n, ast.Name) and id(n) in shapes.maybe_unbound for n in walk(s.value)):
        return None
    return s.targets[0].id, shape, index


def _plain_index(node) -> bool:
    return all(isinstance(n, ast.Name | ast.Constant | ast.Tuple | ast.Slice | ast.Load | ast.UnaryOp | ast.USub)
               for n in walk(node))


def _rechecks(s, shape, written, shapes) -> bool:
    """`a_bar[index] += v` or `np.add.at(a_bar, index, v)` with the same index, into an array of `shape`."""
    if isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Subscript):
        array, index = s.target.value, s.target.slice
    elif isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and not s.value.keywords \
            and len(s.value.args) == 3 and shapes.callee(s.value) == np.add.at:
        array, index = s.value.args[0], s.value.args[1]
        if not _quiet_value(s.value.args[2], shapes):  # (evaluated before np.add.at checks the index)
            return False
    else:
        return False
    return isinstance(array, ast.Name) and ast.dump(index) == written and shapes.of(array) == shape


def _scatters(s, base, shape, written, shapes) -> bool:
    """`s` calls `s2s.getitem_grad(v, a, index)` of the read's own array and index, with `v` an array or a
    number (not the zero adjoint), where nothing inside `s` makes the call conditional, and nothing else
    in `s` may raise (another getitem_grad's index, `x_bar[k] += ...`'s target) before the call checks."""
    if not isinstance(s, ast.Assign | ast.AugAssign | ast.Expr) \
            or isinstance(s, ast.AugAssign) and not isinstance(s.target, ast.Name) \
            or any(isinstance(n, ast.IfExp | ast.BoolOp) for n in walk(s.value)):
        return False
    helper = getattr(ctx().runtime, "getitem_grad", None)

    def check(n):
        return isinstance(n, ast.Call) and not n.keywords and len(n.args) == 3 and helper is not None \
            and shapes.callee(n) is helper and isinstance(n.args[1], ast.Name) and n.args[1].id == base \
            and ast.dump(n.args[2]) == written and shapes.of(n.args[1]) == shape \
            and isinstance(shapes.of(n.args[0]), tuple)
    return any(check(n) for n in walk(s.value)) and _quiet_value(s.value, shapes, check)


def _index_unchanged(fdef, index, base, between, shapes) -> bool:
    """The index's names, and the array read, are not bound again in `between`, nor the index's arrays
    changed in place."""
    names = {n.id for n in walk(index) if isinstance(n, ast.Name)}
    if any(isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id == base for s in between for n in walk(s)):
        return False
    if any(isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id in names
           for s in between for n in walk(s)):
        return False
    seen = set().union(*(aliases(fdef, name, shapes) for name in names)) if names else set()
    return not any(changed_in_place(s, seen, shapes) for s in between)


# NumPy's functions that make a fresh array and raise only for a shape (constant here) or a dtype
_FRESH = {np.zeros, np.ones, np.empty, np.full, np.zeros_like, np.ones_like, np.empty_like, np.full_like,
          np.broadcast_to}
_SHAPE_ARGUMENT = {np.zeros: 0, np.ones: 0, np.empty: 0, np.full: 0, np.broadcast_to: 1}


def _quiet(between, shapes) -> bool:
    """Nothing in `between` can raise for the values it is given, nor be seen: assignments of quiet values
    to names, `+=`, `-=`, `*=` into names or constant slices (no assert, raise, branch, loop, index read
    or other call)."""
    def quiet(s):
        if isinstance(s, ast.Pass | Comment):
            return True
        if isinstance(s, ast.Assign):
            return all(isinstance(n, ast.Name | ast.Tuple | ast.Store) for t in s.targets for n in walk(t)) \
                and _quiet_value(s.value, shapes)
        return isinstance(s, ast.AugAssign) and isinstance(s.op, ast.Add | ast.Sub | ast.Mult) \
            and (isinstance(s.target, ast.Name) or _constant_slice(s.target, shapes)) and _quiet_value(s.value, shapes)
    return all(quiet(s) for s in between)


def _constant_slice(node, shapes) -> bool:
    """`x[1:3]`, `x[:, ::2]`: constant slices of a name whose array has at least as many axes (never raises)."""
    if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)):
        return False
    parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    shape = shapes.of(node.value)
    return isinstance(shape, tuple) and len(parts) <= len(shape) and id(node.value) not in shapes.maybe_unbound \
        and all(isinstance(p, ast.Slice) and all(b is None or isinstance(b, ast.Constant) and type(b.value) is int
                                                 for b in (p.lower, p.upper, p.step))
        and (p.step is None or p.step.value != 0) for p in parts)


def _quiet_value(node, shapes, allowed=lambda n: False) -> bool:
    """Evaluating `node` raises for no value and calls nothing the user sees (floating-point warnings
    aside); a call for which `allowed` holds may raise, its arguments quiet."""
    def quiet(n):
        if isinstance(n, ast.Constant):
            return True
        if isinstance(n, ast.Name):
            return id(n) not in shapes.maybe_unbound
        if isinstance(n, ast.Tuple | ast.List):
            return all(quiet(e) for e in n.elts)
        if isinstance(n, ast.Subscript):
            return _constant_slice(n, shapes)
        if isinstance(n, ast.Attribute):
            return n.attr in SHAPE_ATTRIBUTES | {"T"} and isinstance(n.value, ast.Name) \
                and isinstance(shapes.of(n.value), tuple) and quiet(n.value)
        if isinstance(n, ast.UnaryOp):
            return isinstance(n.op, ast.USub | ast.UAdd) and quiet(n.operand)
        if isinstance(n, ast.BinOp):
            if not (quiet(n.left) and quiet(n.right)):
                return False
            if isinstance(n.op, ast.Add | ast.Sub | ast.Mult | ast.MatMult):
                return True
            # a Python number divided by zero raises ZeroDivisionError, NumPy's arrays warn
            result = shapes.of(n)
            return isinstance(n.op, ast.Div) and (
                isinstance(result, tuple) and len(result) >= 1
                or isinstance(n.right, ast.Constant) and isinstance(n.right.value, int | float)
                and not isinstance(n.right.value, bool) and n.right.value != 0)
        if isinstance(n, ast.Call):
            if any(isinstance(a, ast.Starred) for a in n.args) or any(k.arg is None for k in n.keywords) \
                    or not all(quiet(a) for a in n.args) or not all(quiet(k.value) for k in n.keywords):
                return False
            if allowed(n):
                return True
            f = shapes.callee(n)
            if not any(f is g for g in _FRESH) or any(k.arg not in ("dtype", "shape") for k in n.keywords):
                return False
            at = next((k for g, k in _SHAPE_ARGUMENT.items() if f is g), None)
            shape = n.args[at] if at is not None and len(n.args) > at else \
                next((k.value for k in n.keywords if k.arg == "shape"), None)
            return at is None or shape is not None and all(isinstance(c, ast.Constant | ast.Tuple | ast.Load)
                                                           for c in walk(shape))
        return False
    return quiet(node)
