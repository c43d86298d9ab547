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
  (transforms/unchanged.py), and every call between is NumPy's or s2s's own: nothing the user can
  see runs before the check that the read made first.
"""

from __future__ import annotations

import ast

import numpy as np

from .context import ctx
from .unchanged import aliases, changed_in_place, library_function
from .walk import walk

__all__ = ["rechecked_index_reads"]


def rechecked_index_reads(fdef: ast.FunctionDef, shapes) -> set[str]:
    """The names bound by index reads that the module docstring's conditions let go where nothing reads them;
    `shapes` are those inferred over `fdef`.

        >>> # t7 = logp[arange, y]; ...; logp_bar[arange, y] += t7_bar   ->  {"t7"}
    """
    stores = {}
    for n in walk(fdef):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            stores[n.id] = stores.get(n.id, 0) + 1
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
                if _index_unchanged(fdef, index, base, between, shapes) and _unseen(between, shapes):
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
    else:
        return False
    return isinstance(array, ast.Name) and ast.dump(index) == written and shapes.of(array) == shape


def _scatters(s, base, shape, written, shapes) -> bool:
    """`s` calls `s2s.getitem_grad(v, a, index)` of the read's own array and index, with `v` an array or a
    number (not the zero adjoint), where nothing inside `s` makes the call conditional."""
    if not isinstance(s, ast.Assign | ast.AugAssign | ast.Expr) \
            or any(isinstance(n, ast.IfExp | ast.BoolOp) for n in walk(s.value)):
        return False
    helper = getattr(ctx().runtime, "getitem_grad", None)
    return any(isinstance(n, ast.Call) and not n.keywords and len(n.args) == 3 and helper is not None
               and shapes.callee(n) is helper and isinstance(n.args[1], ast.Name) and n.args[1].id == base
               and ast.dump(n.args[2]) == written and shapes.of(n.args[1]) == shape
               and isinstance(shapes.of(n.args[0]), tuple) for n in walk(s.value))


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


def _unseen(between, shapes) -> bool:
    """Every call in `between` is NumPy's or s2s's own (no print, no user function)."""
    return all(library_function(shapes.callee(n)) for s in between for n in walk(s) if isinstance(n, ast.Call))
