"""A slice's adjoint added into a slice of another adjoint, with no array of zeros between.

The adjoint of `d = np.diff(u, axis=1)[:-1, :]` is made in two steps: the slice read's adjoint `g = np.zeros(S);
g[:-1, :] += d_bar` and np.diff's, which adds `g` into `u_bar` at two shifted slices (transforms/index_adjoints.py
`diff_adjoints_in_place`). Where `g` is read nowhere else, each of those updates takes `d_bar` at the slice of a
slice instead:

    g = np.zeros((8, 7))
    g[:-1, :] += d_bar                  ->      u_bar[:-1, 1:] += d_bar
    u_bar[:, 1:] += g                           u_bar[:-1, :-1] -= d_bar
    u_bar[:, :-1] -= g

the same numbers (adding the zeros of `g` changes no entry; the sign of a zero aside: `-0.0 + 0.0` is `0.0`), as
the hand-written adjoints of finite-difference code are written. It is done where it is certainly the same: every
shape is known, every index is a slice of literal bounds with no step, `g` has one binding (`np.zeros`), one update
and no other read, and both `u_bar` and `d_bar` are arrays made by arithmetic (never a view of another array, so
neither update can change what the other reads).
"""

from __future__ import annotations

import ast

import numpy as np

from .index_adjoints import made_by_arithmetic
from .names import load, name_counts
from .walk import child_parent_pairs, statement_lists, walk_nodes


def compose_slice_adjoints(fdef: ast.FunctionDef, shapes) -> bool:
    """Rewrite each `g = np.zeros(S); g[s] += h` read only by `A[r] += g` / `A[r] -= g` as `A[r][s] op= h` with the
    two slices written as one (`A[:-1, 1:] += h`). Returns whether anything was rewritten.

        >>> # g = np.zeros((7, 8)); g[:, :-1] += dy_bar; t[1:, :] += g; t[:-1, :] -= g
        >>> # -> t[1:, :-1] += dy_bar; t[:-1, :-1] -= dy_bar   (t of shape (8, 8))
    """
    changed = _negations_into_updates(fdef, shapes)
    reads, bindings = name_counts(fdef)
    for block in statement_lists(fdef):
        k = 0
        while k < len(block):
            made = _composed(block, k, shapes, reads, bindings, fdef)
            if made is None:
                k += 1
                continue
            for i, stmt in made.items():
                block[i] = stmt
            del block[k:k + 2]  # (the zeros and the update)
            changed = True
            reads, bindings = name_counts(fdef)
    return changed


def _negations_into_updates(fdef, shapes) -> bool:
    """`n = -g` of real floats read only by the next statement, `A[r] += n` (or `-=`), as `A[r] -= g` (`+=`):
    `a + (-b)` is `a - b` in floating point, bit for bit (an unsigned g's negation wraps, a bool's raises: not
    floats). Whether anything changed."""
    reads, bindings = name_counts(fdef)
    changed = False
    for block in statement_lists(fdef):
        k = 0
        while k + 1 < len(block):
            s, then = block[k], block[k + 1]
            if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                    and isinstance(s.value, ast.UnaryOp) and isinstance(s.value.op, ast.USub) \
                    and isinstance(s.value.operand, ast.Name) and _adds_whole(then, s.targets[0].id) \
                    and reads.get(s.targets[0].id) == 1 and bindings.get(s.targets[0].id) == 1 \
                    and then.target.value.id not in (s.targets[0].id, s.value.operand.id) \
                    and shapes.real(s.value.operand):
                then.op = ast.Sub() if isinstance(then.op, ast.Add) else ast.Add()
                then.value = load(s.value.operand.id)
                del block[k]
                changed = True
                continue
            k += 1
    return changed


def _composed(block, k, shapes, reads, bindings, fdef):
    """{index in the block: the update in its place} for each `A[r] op= g` where `block[k]` starts the pattern
    (its zeros and update then go), else None."""
    zeros = block[k]
    if not (isinstance(zeros, ast.Assign) and len(zeros.targets) == 1 and isinstance(zeros.targets[0], ast.Name)
            and isinstance(zeros.value, ast.Call) and shapes.callee(zeros.value) is np.zeros
            and k + 1 < len(block)):
        return None
    g = zeros.targets[0].id
    shape = _int_shape(shapes.of(zeros.targets[0]))
    update = block[k + 1]
    if shape is None or bindings.get(g) != 1 or not _slice_update(update, g):
        return None
    h = update.value
    inner = _slices(update.target.slice, shape)
    if not (isinstance(h, ast.Name) and h.id != g and inner is not None and shapes.real(h)
            and shapes.of(h) == tuple(b - a for a, b in inner) and made_by_arithmetic(fdef, h.id, shapes)):
        return None
    users, at, wanted = [], k + 2, reads.get(g, 0) - 1  # (every read of g but the update's own)
    while at < len(block) and len(users) < wanted:
        if _adds_whole(block[at], g):
            users.append(at)
        elif _mentions(block[at], (g, h.id)):
            return None  # (h must hold at each update what it held where g took it: not bound, not read, between)
        at += 1
    if not users or len(users) != wanted or not _read_by_arithmetic(fdef, h.id, update):
        return None
    new = {}
    for i in users:
        stmt = block[i]
        target, length = stmt.target.value.id, _int_shape(shapes.of(stmt.target.value))
        outer = _slices(stmt.target.slice, length)
        if target in (g, h.id) or outer is None or tuple(b - a for a, b in outer) != shape \
                or not made_by_arithmetic(fdef, target, shapes) or not shapes.real(stmt.target.value):
            return None
        from_end = [_from_end(a) or _from_end(b) for a, b in zip(_items(stmt.target.slice, length),
                                                                   _items(update.target.slice, shape))]
        index = _as_index([(a + c, a + d) for (a, _), (c, d) in zip(outer, inner)], length, from_end)
        new[i] = ast.copy_location(ast.AugAssign(target=ast.Subscript(value=load(target), slice=index, ctx=ast.Store()),
                                                 op=stmt.op, value=load(h.id)), stmt)
    return new


def _mentions(stmt, names) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in walk_nodes(stmt))


def _read_by_arithmetic(fdef, name, update) -> bool:
    """Whether every read of `name` but `update`'s is an operand of arithmetic or the value of an update in place
    (so no other name holds its array or a view of it, which a statement between could change)."""
    own = update.value
    for child, parent in child_parent_pairs(fdef):
        if isinstance(child, ast.Name) and child.id == name and isinstance(child.ctx, ast.Load) and child is not own \
                and not isinstance(parent, ast.BinOp | ast.UnaryOp | ast.Compare) \
                and not (isinstance(parent, ast.AugAssign) and parent.value is child):
            return False
    return True


def _slice_update(stmt, g) -> bool:
    return isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, ast.Add) \
        and isinstance(stmt.target, ast.Subscript) and isinstance(stmt.target.value, ast.Name) \
        and stmt.target.value.id == g


def _adds_whole(stmt, g) -> bool:
    """Whether `stmt` is `A[r] += g` or `A[r] -= g` (A a name)."""
    return isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, ast.Add | ast.Sub) \
        and isinstance(stmt.value, ast.Name) and stmt.value.id == g and isinstance(stmt.target, ast.Subscript) \
        and isinstance(stmt.target.value, ast.Name)


def _int_shape(shape):
    return shape if isinstance(shape, tuple) and shape and all(type(d) is int for d in shape) else None


def _slices(index, shape):
    """[(start, stop)] per axis of a subscript `index` of slices with int literal bounds and no step (the axes
    after them whole), over an array of `shape`, else None."""
    if shape is None:
        return None
    items = _items(index, shape)
    if items is None or not all(isinstance(e, ast.Slice) and e.step is None for e in items):
        return None
    out = []
    for e, n in zip(items, shape):
        bounds = [_literal(e.lower), _literal(e.upper)]
        if any(b is False for b in bounds):
            return None
        start, stop, _ = slice(*bounds).indices(n)
        out.append((start, max(start, stop)))
    return out


def _items(index, shape):
    """The items of a subscript over an array of `shape`, one per axis (`:` for those it leaves out), else None."""
    items = index.elts if isinstance(index, ast.Tuple) else [index]
    if len(items) > len(shape):
        return None
    return items + [ast.Slice(lower=None, upper=None, step=None)] * (len(shape) - len(items))


def _from_end(item) -> bool:
    """Whether a slice's stop is written counted from the end (`:-1`)."""
    return isinstance(item.upper, ast.UnaryOp) and isinstance(item.upper.op, ast.USub)


def _literal(node):
    """An int literal's value (`-1` too), None for no bound, False for anything else."""
    if node is None:
        return None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        value = node.operand.value
        return -value if type(value) is int else False
    return node.value if isinstance(node, ast.Constant) and type(node.value) is int else False


def _as_index(bounds, length, from_end):
    """The subscript of [(start, stop)] over axes of `length`, written as a person would (`1:`, `:`, and `:-1`
    where a slice composed counted its stop from the end)."""
    def bound(value, n, is_stop, back):
        if value == (n if is_stop else 0):
            return None
        if is_stop and back and 0 < value < n:
            return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(n - value))
        return ast.Constant(value)
    items = [ast.Slice(lower=bound(a, n, False, back), upper=bound(b, n, True, back), step=None)
             for (a, b), n, back in zip(bounds, length, from_end)]
    while len(items) > 1 and items[-1].lower is None and items[-1].upper is None:
        items.pop()
    return items[0] if len(items) == 1 else ast.Tuple(elts=items, ctx=ast.Load())
