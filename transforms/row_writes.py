"""Rows of an adjoint array that a backward loop touches once each: no zeroing nobody reads, one write.

The adjoint of `Z[i] = v` in a loop over rows is `g = Z_bar[i].copy(); Z_bar[i] = 0.0` (the row's
adjoint taken, the row zeroed: the old value of Z[i] was overwritten), and the adjoint of each read
of `X[i]` is `X_bar[i] += t_bar`. Where the backward loop's counter takes each value once (a loop over
`range(...)` of int literals none of which is negative, reversed or not, that binds it nowhere else), the
array is a name s2s made, bound before the loop by one statement to a new array, and touched nowhere else
after it (but by the `return`, for the second rewrite):

- a row zeroed after every read of it in the trip, `Z_bar[i] = 0.0`, is read by no later trip (they read
  other rows) and by nothing after the loop: the write goes, and the copy that kept the row's value from
  it with it (`g = Z_bar[i]`, a view nothing changes now);
- a row every trip only adds into, `X_bar[i] += a; X_bar[i] += b`, of an array bound to `np.zeros(S)` before
  the loop, holds zeros at the trip's first add (no other trip has its index): `X_bar[i] = a + b`, the same
  numbers (0.0 + a is a), one write instead of one per term.

In float64 code only (a float32 row takes float64 terms in place rounded; `a + b` would not), at the
function's top level.
"""

from __future__ import annotations

import ast

from .walk import fix_locations, walk

__all__ = ["write_rows_once"]


def write_rows_once(fdef: ast.FunctionDef, made_up: set) -> bool:
    """Apply the module docstring's two rewrites to every backward loop they hold for, on arrays of names s2s made
    (`made_up`) bound by one top-level statement before the loop to a new array; whether anything changed.

        >>> # for i, t_saved in reversed(saved): g = Z_bar[i].copy(); Z_bar[i] = 0.0 ...   ->   g = Z_bar[i] ...
    """
    if any(isinstance(n, ast.FunctionDef | ast.Lambda | ast.Global | ast.Nonlocal | ast.Try) and n is not fdef
           for n in walk(fdef)):
        return False
    changed = False
    for at, loop in enumerate(fdef.body):
        if not isinstance(loop, ast.For) or loop.orelse:
            continue
        counter = _distinct_counter(loop)
        if counter is None or any(isinstance(n, ast.Break | ast.Continue) for n in walk(loop)):
            continue
        after = fdef.body[at + 1:]
        for name in _row_arrays(loop, counter):
            made = [s for s in fdef.body[:at] if _mentions(s, name)]
            if name not in made_up or len(made) != 1 or not (_binds_new_array(made[0], name) or _binds_a_copy(
                    fdef.body[:at], made[0], name, made_up, loop, after)) \
                    or any(_mentions(s, name) for s in after if not _returns(s, name)):
                continue
            returned = any(_returns(s, name) for s in after)
            changed |= (not returned and _drop_dead_zeroing(loop, name, counter)) \
                | (_binds_zeros(made[0], name) and _first_add_as_write(loop, name, counter))
    if changed:
        fix_locations(fdef)
    return changed


def _distinct_counter(loop: ast.For) -> str | None:
    """The name that takes a different int at each trip of `loop`: its target over `range(...)` or
    `reversed(range(...))`, bound by nothing in the loop's body."""
    target, it = loop.target, loop.iter
    if not (isinstance(target, ast.Name) and (_range(it) or _call_of(it, "reversed") and _range(it.args[0]))):
        return None
    name = target.id
    bound = any(isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load)
                for s in loop.body for n in walk(s))
    return None if bound else name


def _row_arrays(loop, counter) -> list[str]:
    """The names `loop`'s body mentions only as rows `A[i]` of the counter (reads, `A[i] = c`, `A[i] += e`)."""
    rows, other = set(), set()
    for s in loop.body:
        for n in walk(s):
            if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and _is_counter(n.slice, counter):
                rows.add(n.value.id)
    for s in loop.body:
        row_bases = {id(n.value) for n in walk(s) if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name)
                     and _is_counter(n.slice, counter)}
        for n in walk(s):
            if isinstance(n, ast.Name) and n.id in rows and id(n) not in row_bases:
                other.add(n.id)
    return sorted(rows - other)


def _drop_dead_zeroing(loop, name, counter) -> bool:
    """`A[i] = 0.0` at the top level of the body after every read of `A[i]` in it: dropped, and a read
    `g = A[i].copy()` (the only one) becomes `g = A[i]`."""
    body = loop.body
    writes = [k for k, s in enumerate(body) if isinstance(s, ast.Assign) and len(s.targets) == 1
              and _row(s.targets[0], name, counter) and isinstance(s.value, ast.Constant)
              and type(s.value.value) in (int, float)]
    if len(writes) != 1:
        return False
    k = writes[0]
    reads = [j for j, s in enumerate(body) if j != k and _mentions(s, name)]
    if any(j > k for j in reads) or any(not _reads_rows_only(body[j], name, counter) for j in reads):
        return False
    del body[k]
    if len(reads) == 1 and _copied_row(body[reads[0]], name, counter):
        body[reads[0]].value = body[reads[0]].value.func.value
    return True


def _first_add_as_write(loop, name, counter) -> bool:
    """`A[i] += a` then `A[i] += b` (adjacent statements), the first at the top level of the body, every mention of A
    in the body such an add: `A[i] = a + b` (A bound to `np.zeros(...)` before the loop)."""
    body = loop.body
    adds = [k for k, s in enumerate(body) if _mentions(s, name)]
    if not adds or not all(_adds_to_row(body[k], name, counter) for k in adds):
        return False
    run = [adds[0]]
    for k in adds[1:]:
        if k != run[-1] + 1:
            break
        run.append(k)
    first = run[0]
    total = body[first].value
    for k in run[1:]:
        total = ast.BinOp(left=total, op=ast.Add(), right=body[k].value)
    body[first] = ast.copy_location(ast.Assign(targets=[body[first].target], value=total), body[first])
    for k in reversed(run[1:]):
        del body[k]
    return True


def _row(node, name, counter) -> bool:
    return isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == name \
        and _is_counter(node.slice, counter)


def _is_counter(node, counter) -> bool:
    return isinstance(node, ast.Name) and node.id == counter


def _adds_to_row(stmt, name, counter) -> bool:
    return isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, ast.Add) and _row(stmt.target, name, counter) \
        and not _mentions(stmt.value, name)


def _reads_rows_only(stmt, name, counter) -> bool:
    """No row of `name` written by `stmt` (its mentions of it are rows, `_row_arrays`)."""
    return not any(_row(n, name, counter) and not isinstance(n.ctx, ast.Load) for n in walk(stmt))


def _copied_row(stmt, name, counter) -> bool:
    """`g = A[i].copy()`."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
        return False
    v = stmt.value
    return isinstance(v, ast.Call) and not v.args and not v.keywords and isinstance(v.func, ast.Attribute) \
        and v.func.attr == "copy" and _row(v.func.value, name, counter)


def _binds_zeros(stmt, name) -> bool:
    v = stmt.value if isinstance(stmt, ast.Assign) else None
    return v is not None and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
        and stmt.targets[0].id == name and isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) \
        and v.func.attr == "zeros" and len(v.args) == 1 and not v.keywords


def _binds_new_array(stmt, name) -> bool:
    """`A = <a new array>` at the top level: arithmetic, or np.zeros / np.outer and the like (`A_bar = np.outer(t, w)`)."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id == name) or _mentions(stmt.value, name):
        return False
    v = stmt.value
    return isinstance(v, ast.BinOp | ast.UnaryOp) or isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) \
        and isinstance(v.func.value, ast.Name) and v.func.attr in ("zeros", "ones", "outer", "zeros_like")


def _binds_a_copy(before, stmt, name, made_up, loop, after) -> bool:
    """`A = t` where `t`, a name s2s made, is bound by one top-level statement of `before` to a new array and named
    neither in the loop nor after it (`t11 = G - t10; G_bar = t11; V_bar[:24] -= t11`): the rows the loop writes
    into through A are then seen by no one else either."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id == name and isinstance(stmt.value, ast.Name)):
        return False
    source = stmt.value.id
    made = [s for s in before if _mentions(s, source) and isinstance(s, ast.Assign)
            and any(_mentions(t, source) for t in s.targets)]
    return source in made_up and len(made) == 1 and _binds_new_array(made[0], source) \
        and not _mentions(loop, source) and not any(_mentions(s, source) for s in after)


def _returns(stmt, name) -> bool:
    return isinstance(stmt, ast.Return) and _mentions(stmt, name)


def _mentions(node, name) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in walk(node))


def _range(node) -> bool:
    """`range(...)` of int literals none of whose items is negative (`range(23, -1, -1)` of a reversed loop too):
    each trip a different row (an item -2 would reach row 2 of four, the same one as the item 2, on two trips)."""
    if not (_call_of(node, "range") and 1 <= len(node.args) <= 3
            and all(isinstance(a, ast.Constant) and type(a.value) is int for a in node.args)
            and (len(node.args) < 3 or node.args[2].value != 0)):
        return False
    items = range(*(a.value for a in node.args))
    return not items or min(items) >= 0


def _call_of(node, name) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name \
        and len(node.args) >= 1 and not node.keywords
