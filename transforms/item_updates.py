"""An item assignment into an array that nothing else holds runs in place.

s2s runs the user's `y[i] = v` as `y = s2s.setitem(y, i, v)`: a copy of `y` with the item set, so that
the old array stays what it was for whatever still reads it (the tape, the adjoint of an earlier read,
another name). A loop that fills an array item by item then copies the whole array at every step, and
its cost grows like n² where the user's loop costs n. The adjoint of the assignment,
`y_bar, g = s2s.setitem_grads(y_bar, y, i)`, copies the adjoint array the same way.

In the specialised code, once the tape keeps only what the backward sweep reads, this pass shows for
each name `y` updated that way that no one but the name itself can see its array, and then writes the
update in place:

    y = s2s.setitem(y, i, t7)                          ->   y[i] = t7
    y_bar, g = s2s.setitem_grads(...)                  ->   g = y_bar[i]
                                                            y_bar[i] = 0.0
    y_bar = y_bar + s2s.getitem_grad(t_bar, y, i)      ->   y_bar[i] += t_bar

The adjoint is split first (`split_item_adjoints`, where the index selects each item at most once, so
the adjoint of the item is `y_bar[i]` and nothing else reads `y`), then each name is rewritten where:

- its value where it is updated has a known array shape (an ndarray, not a list or a dict), and the
  value put in is real or a number literal (a complex one is refused by `s2s.setitem`; in place NumPy
  would drop its imaginary part with a warning only) and reads the array, if at all, only by items that
  are numbers (`y[t] = a * y[t - 1] + x[t]`: copies made before the write); an index adjoint added in
  has the array's shape and is real (`getitem_grad`'s zeros have the dtype of the array and the adjoint,
  which adding in place keeps where the adjoint array has it; a float64 term added into a float32 adjoint
  array is rounded to float32 there, where the copying code would go on in float64 and round at the end:
  float32 gradients computed in float32, as in JAX);
- every binding of the name makes an array no one else holds: arithmetic on arrays, a NumPy function
  that makes an array (`np.zeros(n)`), an update of its own (`y = s2s.setitem(y, ...)`, `y += e`), a
  number (no array), or a copy `y = u` outside loops of a name `u` whose own bindings are of those kinds
  and whose other reads make new values at once, in the same block, before the copy or after it with
  no statement between naming `y`; never a parameter, a loop variable, a value restored from the tape,
  or a tuple's item;
- every read of the name consumes the array at once, making a new value: an operand of arithmetic or
  a comparison, an argument of a NumPy ufunc or reduction, of `s2s.balanced_eq`, or of a runtime helper
  that reads it only for its shape (`unbroadcast(g, y)`), `.shape`/`.ndim`/`.size`/`.dtype`, an item or
  a slice read (a slice bound to a name is copied: it would be a view), a name the ownership check
  `s2s.unshared` compares with others (it keeps none), an update through the name
  (`y[j] += e`), the updates' own `y`, or the `return`. A push on the tape, a copy to another name, any
  other call, and a nested function each keep the array, and leave the copies in place (the code says
  which, above the update: `explain_copies`).

Each read of the name then sees what it would have seen in the copying code: the name holds the one
array, and every update is seen only through the name, after the update, as it would be.

Where the backward sweep reads earlier values of the array, the tape saved the whole array before the
update and gave it back; for one update at an index of loop counters (`x[i] = s / A[i, i]` in a
Gauss-Seidel sweep) the tape saves the item it overwrites instead, and the backward sweep writes it back
in place (`_item_tape`):

    stack.append(x); x = s2s.setitem(x, i, v)   ->   x_item = x[i]; stack.append(x_item); x[i] = v
    x = stack.pop()                              ->   x_item = stack.pop(); x[i] = x_item
"""

from __future__ import annotations

import ast
import copy

import numpy as np

from .context import ctx
from .index_adjoints import add_in_place, as_slice, basic_index, reads_consumed_within
from .shapes import hashable
from .tape import _is_pop, _is_push, _reversed_range_of
from .walk import child_parent_pairs, fix_locations, parent_map, walk, walk_nodes

__all__ = ["drop_restored_items", "drop_restored_items_copying", "explain_copies", "split_item_adjoints",
           "update_items_in_place"]

# NumPy functions that make a new array from their arguments and keep no reference to them (never a view of an
# argument: not reshape, transpose, einsum)
_MAKERS = (np.zeros, np.ones, np.empty, np.full, np.zeros_like, np.ones_like, np.empty_like, np.full_like,
           np.eye, np.identity, np.arange, np.linspace, np.copy, np.outer, np.kron, np.concatenate, np.stack,
           np.vstack, np.hstack, np.column_stack, np.tile, np.repeat, np.cumsum, np.cumprod, np.diff)
_CONSUMERS = (np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.dot, np.matmul, np.copy, np.var,
              np.std, np.trace, np.linalg.norm, np.count_nonzero, np.all, np.any)
_READ_ATTRIBUTES = ("shape", "ndim", "size", "dtype")


def split_item_adjoints(fdef: ast.FunctionDef, shapes) -> bool:
    """`a, g = s2s.setitem_grads(y_bar, y, i)` becomes `g = y_bar[i]` and `a = s2s.setitem(y_bar, i, 0.0)`
    where `y_bar` and `y` are arrays of one known shape and `i` selects each item at most once (ints and
    slices): the same values, and `y` (read by the helper only to find repeated indices) is not read.
    Returns whether anything changed.

        >>> # y_bar, g = s2s.setitem_grads(y_bar, y, i)  ->  g = y_bar[i]; y_bar = s2s.setitem(y_bar, i, 0.0)
    """
    changed = False
    for node in list(walk_nodes(fdef)):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if not isinstance(block, list):
                continue
            for k in range(len(block) - 1, -1, -1):
                split = _split(block[k], shapes)
                if split is not None:
                    block[k:k + 1] = split
                    changed = True
    if changed:
        fix_locations(fdef)
    return changed


def _split(stmt, shapes):
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Tuple)
            and len(stmt.targets[0].elts) == 2 and all(isinstance(e, ast.Name) for e in stmt.targets[0].elts)):
        return None
    call = stmt.value
    if not (isinstance(call, ast.Call) and len(call.args) == 3 and not call.keywords
            and isinstance(call.func, ast.Attribute) and shapes.helpers.get(shapes.callee(call)) == "setitem_grads"):
        return None
    g, x, index = call.args
    adjoint, item = (e.id for e in stmt.targets[0].elts)
    g_shape = shapes.of(g)
    if not isinstance(g, ast.Name) or adjoint == item or g_shape in (None, ()) or not isinstance(g_shape, tuple) \
            or shapes.of(x) != g_shape or not shapes.real(x) or not basic_index(_as_slices(index, shapes), shapes) \
            or any(isinstance(n, ast.Name) and n.id == item for n in walk(index)) or g.id == item:
        return None
    read = ast.Assign(targets=[ast.Name(id=item, ctx=ast.Store())],
                      value=ast.Subscript(value=ast.Name(id=g.id, ctx=ast.Load()), slice=_as_slices(_copy(index), shapes),
                                          ctx=ast.Load()))
    setitem = ast.Attribute(value=call.func.value, attr="setitem", ctx=ast.Load())
    zeroed = ast.Assign(targets=[ast.Name(id=adjoint, ctx=ast.Store())],
                        value=ast.Call(func=setitem, args=[ast.Name(id=g.id, ctx=ast.Load()), _copy(index),
                                                           ast.Constant(0.0)], keywords=[]))
    return [ast.copy_location(read, stmt), ast.copy_location(zeroed, stmt)]


def _as_slices(index, shapes):
    """The index with each `slice(a, b, c)` of ints written `a:b:c` (the adjoint's index, `u[1:-1] = v`)."""
    if isinstance(index, ast.Tuple):
        return ast.Tuple(elts=[as_slice(e, shapes) for e in index.elts], ctx=ast.Load())
    return as_slice(index, shapes)


def _copy(node):
    return ast.parse(ast.unparse(node), mode="eval").body


def update_items_in_place(fdef: ast.FunctionDef, shapes, params: set, np_name: str = "np",
                           accumulate: bool = False, stack: str | None = None) -> bool:
    """Write `y = s2s.setitem(y, i, v)` as `y[i] = v`, and (with `accumulate`)
    `y_bar = y_bar + s2s.getitem_grad(g, y, i)` as `y_bar[i] += g` (`np.add.at` for an index that may
    repeat), for every name the module docstring's conditions hold for. `shapes` are the shapes inferred
    over `fdef`; `params` its parameters; `stack` the tape, whose saves of a whole array before an item
    assignment become saves of the item (`_item_tape`). Returns whether anything changed.

        >>> # y = np.zeros(n); for i in range(n): y = s2s.setitem(y, i, t)  ->  ... y[i] = t
    """
    found = _updates(fdef, shapes, accumulate)
    if found is None:
        return False
    nodes, parents, updates = found
    changed = False
    for name, steps in updates.items():
        undo = _item_tape(fdef, name, steps, parents, shapes, stack)
        views = _owned_reads(name, steps, list(walk(fdef)) if undo else nodes,
                             parent_map(fdef) if undo else parents, shapes, params)
        if isinstance(views, str):
            if undo:
                undo()
            for stmt in steps:  # (an update of an array made just before holds where other bindings of the name do not)
                if _made_just_before(stmt, name, parents, shapes):
                    _in_place(stmt, name, shapes, np_name, parents)
                    changed = True
            continue
        if undo:
            nodes, parents = list(walk(fdef)), parent_map(fdef)
        views = [sub for sub in views if not _read_before_writes(sub, name, fdef, parents, shapes)]
        for sub in views:  # a slice bound to a name would see the later updates: copied
            _replace(parents[id(sub)], sub, ast.Call(func=ast.Attribute(value=sub, attr="copy", ctx=ast.Load()),
                                                     args=[], keywords=[]))
        for stmt in steps:
            _in_place(stmt, name, shapes, np_name, parents)
        changed = True
    if changed:
        fix_locations(fdef)
    return changed


def _item_tape(fdef, name, steps, parents, shapes, stack):
    """Where the tape saves the whole array `y` before its one item assignment and gives it back in the backward
    sweep (`stack.append(y); y = s2s.setitem(y, i, v)` ... `y = stack.pop()`), save and give back the item
    alone: `y_item = y[i]; stack.append(y_item)` ... `y_item = stack.pop(); y[i] = y_item`. Returns a function
    that undoes it (for the ownership check to decide), or None where it does not apply.

    Why the restored array is the same: the backward sweep gives back saved values in the reverse order of the
    saves, so where it gives back this one, `y` holds what it held right after this assignment (every later
    assignment of an item of it given back already); writing the saved item back gives what it held before.
    That needs the index to be the same number there: ints, int literals and the indices of the loops around
    the assignment, each bound by its loop and the backward loop over the same range reversed around the
    give-back (`tape._reversed_range_of`), and nothing else. The item is a number (a copy), not a view."""
    updates = [s for s in steps if _update(s, shapes) is not None]
    if stack is None or len(updates) != 1:
        return None
    update = updates[0]
    pushes = [n for n in walk(fdef) if _is_push(n, stack) and n.value.args[0].id == name]
    pops = [n for n in walk(fdef) if _is_pop(n, stack) and n.targets[0].id == name]
    if len(pushes) != 1 or len(pops) != 1:
        return None
    push, pop = pushes[0], pops[0]
    block = next((getattr(parents.get(id(update)), f) for f in ("body", "orelse")
                  if update in getattr(parents.get(id(update)), f, ())), None)
    if block is None or block.index(update) == 0 or block[block.index(update) - 1] is not push:
        return None
    index = update.value.args[1]
    shape = shapes.of(update.value.args[0])
    items = index.elts if isinstance(index, ast.Tuple) else [index]
    if not isinstance(shape, tuple) or len(items) != len(shape):
        return None
    counters = _matched_counters(fdef, push, pop, parents)
    defs = _index_names(fdef, block[:block.index(push)], counters)
    if counters is None or not all(_index_of(i, counters, defs) for i in items):
        return None
    back = next((getattr(parents.get(id(pop)), f) for f in ("body", "orelse")
                 if pop in getattr(parents.get(id(pop)), f, ())), None)
    if back is None:
        return None
    taken = {n.id for n in walk(fdef) if isinstance(n, ast.Name)}
    item = next(f"{name}_item{k or ''}" for k in range(len(taken) + 1) if f"{name}_item{k or ''}" not in taken)
    # a name pushed and popped, as the tape's other entries (compiled code types the tape by its names)
    read = ast.Assign(targets=[ast.Name(id=item, ctx=ast.Store())],
                      value=ast.Subscript(value=ast.Name(id=name, ctx=ast.Load()), slice=copy.deepcopy(index),
                                          ctx=ast.Load()))
    write = ast.Assign(targets=[ast.Subscript(value=ast.Name(id=name, ctx=ast.Load()), slice=_written_out(index, defs),
                                              ctx=ast.Store())],  # (the index written out of counters and literals)
                       value=ast.Name(id=item, ctx=ast.Load()))
    saved_push, saved_pop_target = push.value.args[0], pop.targets[0]
    block.insert(block.index(push), read)
    push.value.args[0] = ast.Name(id=item, ctx=ast.Load())
    pop.targets[0] = ast.Name(id=item, ctx=ast.Store())
    back.insert(back.index(pop) + 1, write)
    fix_locations(fdef)

    def undo():
        block.remove(read)
        back.remove(write)
        push.value.args[0] = saved_push
        pop.targets[0] = saved_pop_target

    return undo


def _matched_counters(fdef, push, pop, parents):
    """The indices of the `for` loops around `push` each matched by a loop around `pop` over its range reversed
    under the same name, both loops the name's only bindings; None where a loop around either is anything else."""
    def loops(node):
        out = []
        while id(node) in parents:
            node = parents[id(node)]
            if isinstance(node, ast.For | ast.While):
                out.append(node)
        return out
    forward, backward = loops(push), loops(pop)
    stores = {}
    for n in walk(fdef):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            stores[n.id] = stores.get(n.id, 0) + 1
    counters = set()
    for f in (f for f in forward if isinstance(f, ast.For)):  # (a while loop has no index)
        b = next((b for b in backward if isinstance(b, ast.For) and _reversed_range_of(b, f)), None)
        if b is not None and stores.get(f.target.id) == 2:
            counters.add(f.target.id)
    return counters


def _index_of(node, counters, defs=None) -> bool:
    """An int index made of int literals and the `counters` by + - * // % (the same number where they are), or
    of names `defs` binds to such (`i3 = 5 - i`, how the lowering names `v[n - 1 - i]`'s index)."""
    if isinstance(node, ast.Constant):
        return type(node.value) is int
    if isinstance(node, ast.Name):
        return node.id in counters or defs is not None and node.id in defs
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.FloorDiv | ast.Mod):
        return _index_of(node.left, counters, defs) and _index_of(node.right, counters, defs)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _index_of(node.operand, counters, defs)
    return False


def _index_names(fdef, before, counters):
    """name -> its value, for the names bound by a statement of `before` (the statements ahead of the save, in
    its block) to int arithmetic of the `counters`, where every binding of the name in the function is that same
    expression: where the save reads it, and where the give-back would, it is that expression's number."""
    values = {}
    for n in walk(fdef):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            values.setdefault(n.id, [])
    for n in walk(fdef):
        if isinstance(n, ast.Assign):
            for t in n.targets:
                for m in walk(t):
                    if isinstance(m, ast.Name) and isinstance(m.ctx, ast.Store):
                        values[m.id].append(n.value if t is m else None)
    out = {}
    for s in before:
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
            name, bound = s.targets[0].id, values.get(s.targets[0].id, [])
            if _index_of(s.value, counters) and all(v is not None and ast.dump(v) == ast.dump(s.value) for v in bound) \
                    and sum(1 for n in walk(fdef) if isinstance(n, ast.Name) and n.id == name
                            and not isinstance(n.ctx, ast.Load)) == len(bound):
                out[name] = s.value
    return out


def _written_out(index, defs):
    """`index` with the names of `defs` replaced by their values (a copy)."""
    class Put(ast.NodeTransformer):
        def visit_Name(self, node):
            return copy.deepcopy(defs[node.id]) if node.id in defs and isinstance(node.ctx, ast.Load) else node
    return Put().visit(copy.deepcopy(index))


def _updates(fdef, shapes, accumulate):
    """(the nodes of `fdef`, each node's parent by id, name -> its item assignments and, with `accumulate`, its
    index adjoints added in), or None for code with a nested function (a pullback) that may hold an array."""
    nodes = list(walk(fdef))
    if any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) for n in nodes if n is not fdef):
        return None
    parents = {id(child): parent for parent in nodes for child in ast.iter_child_nodes(parent)}
    updates = {}
    for n in nodes:
        if _update(n, shapes) is not None or accumulate and _accumulation(n, shapes) is not None:
            updates.setdefault(_target(n).id, []).append(n)
    return nodes, parents, updates


def _made_just_before(stmt, name, parents, shapes) -> bool:
    """Whether `stmt`, `y = s2s.setitem(y, i, v)` or `y = y + s2s.getitem_grad(g, x, i)`, updates an array the
    last statement before it in its block that names `y` made (`y = np.zeros_like(u)`, `y = y + t`: arithmetic on
    arrays), the statements between only updating items of `y` through its name with values that do not read it
    (what this pass writes of the updates before: `y[:-2] += g`); the index not naming `y`, the value real and
    reading `y` only by items that are numbers. Nothing but `y` can hold that array, whatever else `y` is bound
    to elsewhere (the tape's save of an earlier trip's array, before `y` was made again: a wave step's
    `lap = np.zeros_like(u); lap[1:-1] = ...`, its adjoint's `u_bar = u_bar + t * 2.0` and three slices added in).

        >>> # lap = np.zeros_like(u); lap = s2s.setitem(lap, slice(1, -1), t4)  ->  lap[1:-1] = t4
    """
    if _update(stmt, shapes) is not None:
        _, index, value = stmt.value.args
        if _put_in_why_not(index, value, name, shapes) is not None:
            return False
    else:
        added = _accumulation(stmt, shapes)
        if added is None or _reads(added[0], name) or _reads(added[2], name):
            return False
    block = _block_of(stmt, parents)
    if block is None:
        return False
    for j in range(next(j for j, s in enumerate(block) if s is stmt) - 1, -1, -1):
        made = block[j]
        if not _reads(made, name):
            continue
        if _through_the_name(made, name) or _checks_only(made, name, shapes):
            continue
        return isinstance(made, ast.Assign) and len(made.targets) == 1 and isinstance(made.targets[0], ast.Name) \
            and made.targets[0].id == name and fresh_array(made.value, shapes)
    return False


def _put_in_why_not(index, value, name, shapes):
    """Why `name[index] = value` may not be written in place as to what it puts in (None where it may): the value
    or the index reads `name` other than by number items, or the value may not be real."""
    if _reads(index, name) or not _item_reads_only(value, name, shapes):
        return f"the value put in reads {name} other than by number items"
    if not (shapes.real(value) or isinstance(value, ast.Constant) and type(value.value) in (int, float)):
        return "the value put in may not be real"
    return None


def _block_of(stmt, parents):
    """The statement list that holds `stmt` (a body, an `else`, a `finally`), else None."""
    holder = parents.get(id(stmt))
    return next((b for b in (getattr(holder, f, None) for f in ("body", "orelse", "finalbody"))
                 if isinstance(b, list) and any(s is stmt for s in b)), None)


def _checks_only(stmt, name, shapes) -> bool:
    """`t2 = s2s.unshared(t, site, deep, new, u)` naming `name` only among the names the ownership check compares
    (it keeps none of them)."""
    check = getattr(ctx().runtime, "unshared", None)
    call = stmt.value if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
        and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id != name else None
    return isinstance(call, ast.Call) and check is not None and shapes.callee(call) is check and not call.keywords \
        and len(call.args) > 3 and not any(_reads(a, name) for a in call.args[:3])


def _through_the_name(stmt, name) -> bool:
    """`y[i] = v` or `y[i] += v` (`-=`), `v` and `i` not naming `y`: an item update that leaves `y` the one array."""
    target = stmt.target if isinstance(stmt, ast.AugAssign) else stmt.targets[0] \
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else None
    return isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id == name \
        and not _reads(target.slice, name) and not _reads(stmt.value, name)


def _in_place(stmt, name, shapes, np_name, parents):
    if _update(stmt, shapes) is not None:
        _, index, value = stmt.value.args
        stmt.targets = [ast.Subscript(value=ast.Name(id=name, ctx=ast.Load()), slice=as_slice(index, shapes),
                                      ctx=ast.Store())]
        stmt.value = value
        return
    g, _, index = _accumulation(stmt, shapes)
    new = add_in_place(name, as_slice(index, shapes), g, shapes, np_name)  # (`np.add.at` where indices may repeat)
    _replace(parents[id(stmt)], stmt, ast.copy_location(new, stmt))


def _target(stmt):
    return stmt.target if isinstance(stmt, ast.AugAssign) else stmt.targets[0]


def _update(node, shapes):
    """`y = s2s.setitem(y, i, v)` of an array `y` (its arguments), else None."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
        return None
    call = node.value
    if not (isinstance(call, ast.Call) and len(call.args) == 3 and not call.keywords
            and isinstance(call.args[0], ast.Name) and call.args[0].id == node.targets[0].id
            and shapes.helpers.get(shapes.callee(call)) == "setitem"):
        return None
    shape = shapes.of(call.args[0])
    return call.args if isinstance(shape, tuple) and shape != () else None


def _accumulation(node, shapes):
    """`a = a + s2s.getitem_grad(g, x, i)` (or `s2s.add(a, ...)`) where `a` and `x` are arrays of one known
    shape, `g` is real and the index is not a bool array: (g, x, i), else None."""
    if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) and isinstance(node.target, ast.Name):
        name, value = node.target.id, ast.BinOp(left=ast.Name(id=node.target.id, ctx=ast.Load()), op=ast.Add(),
                                                right=node.value)  # (`a += e` is `a = a + e` on its own array)
    elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        name, value = node.targets[0].id, node.value
    else:
        return None
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
        left, right = value.left, value.right
    elif isinstance(value, ast.Call) and len(value.args) == 2 and not value.keywords \
            and shapes.helpers.get(shapes.callee(value)) == "add":
        left, right = value.args
    else:
        return None
    if not (isinstance(left, ast.Name) and left.id == name and isinstance(right, ast.Call) and len(right.args) == 3
            and not right.keywords and shapes.helpers.get(shapes.callee(right)) == "getitem_grad"):
        return None
    g, x, index = right.args
    shape = shapes.of(left)
    in_place = isinstance(node, ast.AugAssign)  # (already adding into its array: the same casts either way)
    if not isinstance(shape, tuple) or shape == () or shapes.of(x) != shape or not shapes.real(g) \
            or not (in_place or shapes.real(left)) or _reads(g, name) or _reads(index, name) \
            or not _plain_index(index, shapes):
        return None
    return g, x, index


def _plain_index(index, shapes):
    """An index of ints, slices and int arrays (what `np.add.at` and `+=` take alike); not a bool mask."""
    items = index.elts if isinstance(index, ast.Tuple) else [index]
    return all(basic_index(i, shapes) or shapes.is_int_array(i) or as_slice(i, shapes) is not i
               for i in items)


def _owned_reads(name, steps, nodes, parents, shapes, params):
    """The item reads of `name` to copy (slices bound to names) where only `name` can see its array (the
    module docstring), else why not (a string)."""
    if name in params:
        return f"{name} is a parameter (the caller's array)"
    own = set()
    for stmt in steps:
        own.add(id(_target(stmt)))
        if _update(stmt, shapes) is None:  # an accumulation `a = a + s2s.getitem_grad(g, x, i)` (or `a += ...`)
            value = stmt.value
            if isinstance(stmt, ast.Assign):
                own.add(id(value.left if isinstance(value, ast.BinOp) else value.args[0]))
            continue
        _, index, value = stmt.value.args
        why = _put_in_why_not(index, value, name, shapes)
        if why is not None:
            return why
        own.add(id(stmt.value.args[0]))
    views = []
    for n in nodes:
        if not (isinstance(n, ast.Name) and n.id == name) or id(n) in own:
            continue
        parent = parents.get(id(n))
        if isinstance(n.ctx, ast.Store):
            if not _owned_binding(n, parent, parents, nodes, shapes, params):
                return _taped(parent, name) or f"{_statement_text(n, parents)} may share the array"
        elif isinstance(n.ctx, ast.Load):
            if _inside_return(n, parents):
                continue
            kind = _consumed(n, parent, parents, shapes)
            if kind is None:
                return _taped(parent, name) or f"{_statement_text(n, parents)} keeps the array"
            if kind == "view":
                views.append(parent)
        else:
            return f"{_statement_text(n, parents)} deletes {name}"
    updated, others = _checked_names(nodes, shapes)
    if views and name in others:  # (`w = u[:4]; z = w[1:]; z += a`: another name's update may change u's array)
        return f"an array updated in place under another name may be {name}'s"
    seeing = _checked_names(nodes, shapes, name)[1]
    kept = [parents[id(sub)].targets[0].id for sub in views if _kept_whole(parents[id(sub)].targets[0].id, nodes,
                                                                           parents)]
    if kept and seeing:  # (adv222: `L.append(y[1:]); y[1] = 0.0`: a copy of the slice in L would pass L's check)
        return f"{', '.join(sorted(seeing))} may hold `{kept[0]}`, a view of {name}, which its check must see"
    for sub in views:  # (`w = u[:4]; w += a`: the update through the view changes u, which its check must see)
        view = parents[id(sub)].targets[0].id
        if view in updated | others:
            return f"`{view}`, a slice of {name}, is updated in place"
    return views


def _kept_whole(view, nodes, parents) -> bool:
    """Whether the slice bound to `view` may be kept as it is somewhere (appended, put in a display, passed to a
    call, bound to another name): every read of it that is not an operand of arithmetic or a comparison, nor the
    value of an in-place update (`a += view`), each of which makes a new value of its entries."""
    for n in nodes:
        if isinstance(n, ast.Name) and n.id == view and isinstance(n.ctx, ast.Load):
            parent = parents.get(id(n))
            if not (isinstance(parent, ast.BinOp | ast.UnaryOp | ast.Compare)
                    or isinstance(parent, ast.AugAssign) and parent.value is n):
                return True
    return False


def _checked_names(nodes, shapes, updated=None) -> tuple[set, set]:
    """The names the ownership checks `s2s.unshared(value, site, deep, updated, *others)` ask about: (those updated,
    those that may see an update); with `updated`, of the checks of an update of that name alone."""
    check = getattr(ctx().runtime, "unshared", None)
    calls = [n for n in nodes if isinstance(n, ast.Call) and check is not None and shapes.callee(n) is check
             and (updated is None or len(n.args) > 3 and isinstance(n.args[3], ast.Name) and n.args[3].id == updated)]
    return ({n.args[3].id for n in calls if len(n.args) > 3 and isinstance(n.args[3], ast.Name)},
            {a.id for n in calls for a in n.args[4:] if isinstance(a, ast.Name)})


def _read_before_writes(sub, name, fdef, parents, shapes) -> bool:
    """Whether the slice `sub` of `name`, bound by `t = name[S]`, is read only before the next statement that names
    `name` (the update of its items, `y[S] = t + v`): every read of `t` in the function is in the assignment's
    block, after it and before that statement (statements binding other slices of `name` change nothing), an
    operand of arithmetic (a new value made at once) or the value of `a += t` into an array or number `a`, and `t`
    is bound nowhere else. The view then holds the slice's values wherever it is read, as a copy would."""
    stmt = parents.get(id(sub))
    if not (isinstance(stmt, ast.Assign) and stmt.value is sub and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)):
        return False
    t = stmt.targets[0].id
    block = _block_of(stmt, parents)
    if block is None:
        return False
    k = next(j for j, s in enumerate(block) if s is stmt)
    end = next((j for j in range(k + 1, len(block)) if _reads(block[j], name)
                and not _binds_a_view_of(block[j], name)), len(block))
    window = {id(n) for s in block[k + 1:end] for n in walk(s)}
    if any(isinstance(n, ast.Name) and n.id == t and not isinstance(n.ctx, ast.Load) and n is not stmt.targets[0]
           for n in walk(fdef)):
        return False
    return reads_consumed_within(fdef, t, window, parents, also=lambda n, parent: isinstance(parent, ast.AugAssign)
                                 and parent.value is n and isinstance(shapes.of(parent.target), tuple))


def _binds_a_view_of(stmt, name) -> bool:
    """`t2 = name[S]` (another slice bound, changing nothing): a statement the reads of a view may pass."""
    return isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
        and stmt.targets[0].id != name and isinstance(stmt.value, ast.Subscript) \
        and isinstance(stmt.value.value, ast.Name) and stmt.value.value.id == name and not _reads(stmt.value.slice, name)


def _taped(node, name):
    """The reason to give where `node` is a tape's push or pop of `name` (`stack.append(y)`, `y = stack.pop()`)."""
    call = node.value if isinstance(node, ast.Assign) else node
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in ("append", "pop"):
        return f"the backward sweep reads earlier values of {name} (the tape keeps them)"
    return None


def _statement_text(node, parents):
    while not isinstance(node, ast.stmt) and id(node) in parents:
        node = parents[id(node)]
    text = ast.unparse(node).splitlines()[0] if isinstance(node, ast.stmt) else ast.unparse(node)
    return f"`{text if len(text) <= 60 else text[:57] + '...'}`"


def _item_reads_only(value, name, shapes):
    """Whether `value` reads `name` only by items that are numbers (`y[i - 1]`: a copy, made before the
    update writes), if at all."""
    for n in walk(value):
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and n.value.id == name:
            if shapes.of(n) != ():
                return False
        elif isinstance(n, ast.Name) and n.id == name and not any(
                isinstance(m, ast.Subscript) and m.value is n and shapes.of(m) == () for m in walk(value)):
            return False
    return True


def _inside_return(node, parents):
    while id(node) in parents:
        node = parents[id(node)]
        if isinstance(node, ast.Return):
            return True
        if isinstance(node, ast.stmt):
            return False
    return False


def _consumed(n, parent, parents, shapes):
    """How a read of the array consumes it: "use" (a new value made at once), "view" (a slice bound to a
    name, to copy), or None (the array may be kept)."""
    if isinstance(parent, ast.BinOp | ast.UnaryOp | ast.Compare):
        return "use"
    if isinstance(parent, ast.AugAssign) and parent.value is n:
        return "use"
    if isinstance(parent, ast.Attribute) and parent.attr in _READ_ATTRIBUTES:
        return "use"
    if isinstance(parent, ast.Call) and n in parent.args and (_consumer(parent, shapes)
                                                               or _read_by_helper(parent, n, shapes)):
        return "use"
    if isinstance(parent, ast.Subscript) and parent.value is n and isinstance(parent.ctx, ast.Store):
        return "use"  # (`y[j] += e`: its own array, changed in place through the name)
    if isinstance(parent, ast.Call) and parent.args and parent.args[0] is n and _adds_at(parent, shapes) \
            and isinstance(parents.get(id(parent)), ast.Expr) \
            and not any(isinstance(m, ast.Name) and m.id == n.id for a in parent.args[1:] for m in walk(a)):
        return "use"  # (`np.add.at(y, idx, g)`, index_adjoints' scatter: changed in place through the name)
    if isinstance(parent, ast.Subscript) and parent.value is n and isinstance(parent.ctx, ast.Load):
        above = parents.get(id(parent))
        if shapes.of(parent) == () or isinstance(above, ast.BinOp | ast.UnaryOp | ast.Compare) \
                or isinstance(above, ast.Call) and parent in above.args and _consumer(above, shapes):
            return "use"  # (an item of a 1-d array is a NumPy scalar: a copy)
        if isinstance(above, ast.Assign) and above.value is parent and len(above.targets) == 1 \
                and isinstance(above.targets[0], ast.Name):
            return "view"
    return None


def _adds_at(call, shapes) -> bool:
    """Whether `call` is `np.add.at(...)` (NumPy's unbuffered scatter-add, in place into its first argument)."""
    callee = shapes.callee(call)
    return not call.keywords and len(call.args) == 3 and getattr(callee, "__self__", None) is np.add \
        and getattr(callee, "__name__", None) == "at"


# runtime helpers that make a new value from an argument, or read only its shape (at that position)
_HELPER_READS = {"balanced_eq": (0, 1, 2), "unbroadcast": (1,), "expand_reduced": (1,), "getitem_grad": (1,),
                 "reduced_size": (0,), "copy": (0,)}  # (s2s.copy of an array: `x.copy()`)


def _read_by_helper(call, arg, shapes):
    callee = shapes.callee(call)
    name = shapes.helpers.get(callee) if callee is not None and hashable(callee) else None
    if callee is not None and callee is getattr(ctx().runtime, "unshared", None):
        # (the object updated and the names it is checked against: compared, kept by none)
        return not call.keywords and any(a is arg for a in call.args[3:])
    return not call.keywords and any(k < len(call.args) and call.args[k] is arg for k in _HELPER_READS.get(name, ()))


def _consumer(call, shapes):
    if any(k.arg in (None, "out") for k in call.keywords):
        return False
    callee = shapes.callee(call)
    return isinstance(callee, np.ufunc) or any(callee is f for f in _CONSUMERS)


def _owned_binding(n, parent, parents, nodes, shapes, params):
    """Whether a binding of the name gives it an array no one else holds."""
    if isinstance(parent, ast.AugAssign) and parent.target is n:
        return True  # (its own array, changed in place)
    if not (isinstance(parent, ast.Assign) and any(t is n for t in parent.targets)):
        return False
    value = parent.value
    if isinstance(value, ast.Constant) and (value.value is None or type(value.value) in (int, float)):
        return True  # a tape's placeholder (`d = f2 = None`, one for several names), or a number: no array
    if len(parent.targets) != 1:
        return False
    if fresh_array(value, shapes):
        return True
    if isinstance(value, ast.Name) and value.id not in params and not _in_loop(parent, parents):
        source = value.id
        reads = [m for m in nodes if isinstance(m, ast.Name) and m.id == source and isinstance(m.ctx, ast.Load)]
        stores = [m for m in nodes if isinstance(m, ast.Name) and m.id == source and not isinstance(m.ctx, ast.Load)]
        return all(m is value or _read_apart(m, parent, n.id, parents, shapes) for m in reads) and bool(stores) \
            and all(isinstance(parents.get(id(m)), ast.AugAssign) and parents[id(m)].target is m
                    or isinstance(parents.get(id(m)), ast.Assign) and parents[id(m)].targets == [m]
                    and fresh_array(parents[id(m)].value, shapes) for m in stores)
    return False


def _read_apart(read, copy, name, parents, shapes):
    """Whether another read of the array copied by `copy` (`name = u`) cannot see `name`'s updates: it
    makes a new value at once, in a statement of the same block, before the copy or after it with no
    statement from the copy up to it naming `name`."""
    if _consumed(read, parents.get(id(read)), parents, shapes) != "use":
        return False
    stmt = read
    while not isinstance(stmt, ast.stmt):
        stmt = parents[id(stmt)]
    block = next((getattr(parents.get(id(copy)), f) for f in ("body", "orelse")
                  if copy in getattr(parents.get(id(copy)), f, ())), None)
    if block is None or stmt not in block:
        return False
    at, here = block.index(copy), block.index(stmt)
    return here < at or not any(_reads(s, name) for s in block[at + 1:here + 1])


def fresh_array(value, shapes) -> bool:
    """Arithmetic on arrays, or a NumPy function that makes an array: a new array no one else holds.

        >>> # fresh_array(<np.zeros(3)>, shapes), fresh_array(<x.T>, shapes) == (True, False)
    """
    if isinstance(value, ast.BinOp | ast.UnaryOp):
        shape = shapes.of(value)
        return isinstance(shape, tuple) and shape != ()
    if isinstance(value, ast.Call) and not any(k.arg in (None, "out", "copy", "like") for k in value.keywords):
        callee = shapes.callee(value)
        if shapes.helpers.get(callee) == "copy":  # s2s.copy(u), the user's `u.copy()`: an array's is `u.copy()`
            shape = shapes.of(value)
            return isinstance(shape, tuple) and shape != ()
        return any(callee is f for f in _MAKERS) or isinstance(callee, np.ufunc) and len(value.args) == callee.nin
    return False


def _in_loop(node, parents):
    while id(node) in parents:
        node = parents[id(node)]
        if isinstance(node, ast.For | ast.While):
            return True
    return False


def _reads(node, name):
    return any(isinstance(n, ast.Name) and n.id == name for n in walk(node))


def _replace(parent, old, new):
    for field, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, field, new)
        elif isinstance(value, list):
            for k, item in enumerate(value):
                if item is old:
                    value[k] = new


def explain_copies(fdef: ast.FunctionDef, shapes, params: set) -> bool:
    """Put `# s2s: y[i] = ... copies y: <why>` above each item assignment of an array that stays a copy
    (`s2s.setitem`) in specialised code, naming what keeps it from running in place. Returns whether a
    note was added.

        >>> # s2s: y[i] = ... copies y: `stack.append(y)` keeps the array
    """
    from .reverse import Comment  # (the comment node the code printer renders as a `#` line)

    found = _updates(fdef, shapes, accumulate=False)
    if found is None:
        return False
    nodes, parents, updates = found
    added = False
    for name, steps in updates.items():
        why = _owned_reads(name, steps, nodes, parents, shapes, params)
        if not isinstance(why, str):
            continue
        for stmt in steps:
            block = next((getattr(parents.get(id(stmt)), f) for f in ("body", "orelse", "finalbody")
                          if stmt in getattr(parents.get(id(stmt)), f, ())), None)
            if block is None:
                continue
            note = Comment(f"s2s: {name}[...] = ... copies {name}: {why}")
            note.lineno = getattr(stmt, "lineno", 1)
            block.insert(block.index(stmt), note)
            added = True
    return added


def drop_restored_items(fdef: ast.FunctionDef) -> bool:
    """The adjoint of `y[i] += v` (`t = y[i]; y[i] = t + v`) in place is

        g = y_bar[i]           (the item's adjoint, for v and t)
        y_bar[i] = 0.0         (the write's: the item's old value is overwritten)
        ...                    (g times v's derivatives: nothing naming y_bar)
        y_bar[i] += g          (the read's: t's adjoint is g)

    which leaves y_bar[i] what it was (`g = y_bar[i].copy()` too, a row's or a slice's). The zeroing and the
    adding back go where the index is the same value both times: the same names and constants, or names the
    block bound before to the same sums of those (`t3 = i + 3`, `t8 = i + 3`: `y_bar[i:t8]` and `y_bar[i:t3]`),
    none of them bound between; g is bound only by the first statement, and
    y_bar is named nowhere from the first to the last but by these statements: every read of y_bar then sees
    what it saw (y_bar[i] is g after the adding either way), nor g changed in place between (`g[0] = v`).
    Returns whether anything was dropped."""
    return _blocks_rewritten(fdef, lambda block: _restored_items_dropped(block, fdef))


def _blocks_rewritten(fdef, rewrite) -> bool:
    """Each statement list of `fdef` (a body or an `else`) replaced by `rewrite(block)` where that gives one (not
    None); whether any was."""
    changed = False
    for node in walk(fdef):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                kept = rewrite(block)
                if kept is not None:
                    setattr(node, field, kept)
                    changed = True
    return changed


def drop_restored_items_copying(fdef: ast.FunctionDef, shapes) -> bool:
    """`drop_restored_items` for the adjoint of `y[i] += v` as `split_item_adjoints` writes it, before any update
    runs in place:

        g = y_bar[i]
        a = s2s.setitem(y_bar, i, 0.0)            ->    a = y_bar   (nothing where a is y_bar)
        ...
        a = a + s2s.getitem_grad(g, y, i)         ->    (nothing)

    `a` is then y_bar's values: y_bar with the items at i zeroed and g, those items, added back into zeros of y's
    shape, which is y_bar's (both known, and equal). Done where the index is the same value both times (as in
    `drop_restored_items`), g is bound only by the first statement, y_bar and g are not bound again or changed in
    place from there to the last, and nothing between names `a`. `y` is then not read: the tape need not keep
    it, and its updates may run in place. Returns whether anything was dropped."""
    changed = _blocks_rewritten(fdef, lambda block: _copied_restores_dropped(block, shapes))
    if changed:
        fix_locations(fdef)
    return changed


def _zeroed_items(stmt, shapes):
    """(a, y_bar, the index) of `a = s2s.setitem(y_bar, i, 0.0)`, else None."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
        return None
    call = stmt.value
    if not (isinstance(call, ast.Call) and len(call.args) == 3 and not call.keywords
            and isinstance(call.func, ast.Attribute) and shapes.helpers.get(shapes.callee(call)) == "setitem"
            and isinstance(call.args[0], ast.Name) and isinstance(call.args[2], ast.Constant)
            and type(call.args[2].value) is float and call.args[2].value == 0.0):
        return None
    return stmt.targets[0].id, call.args[0], call.args[1]


def _added_back(stmt, a, shapes):
    """(g, y, the index) of `a = a + s2s.getitem_grad(g, y, i)` (or `s2s.add(a, ...)`), else None."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id == a):
        return None
    v = stmt.value
    if isinstance(v, ast.BinOp) and isinstance(v.op, ast.Add) and isinstance(v.left, ast.Name) and v.left.id == a:
        e = v.right
    elif isinstance(v, ast.Call) and len(v.args) == 2 and not v.keywords and isinstance(v.args[0], ast.Name) \
            and v.args[0].id == a and shapes.helpers.get(shapes.callee(v)) == "add":
        e = v.args[1]
    else:
        return None
    if not (isinstance(e, ast.Call) and len(e.args) == 3 and not e.keywords
            and shapes.helpers.get(shapes.callee(e)) == "getitem_grad" and isinstance(e.args[0], ast.Name)):
        return None
    return e.args


def _copied_restores_dropped(block, shapes):
    drop, copies = set(), {}
    for k, s in enumerate(block):
        zeroed = _zeroed_items(s, shapes)
        if zeroed is None:
            continue
        a, adjoint, index = zeroed
        sums = _index_sums(block, k)
        item = _plain_item(ast.Subscript(value=adjoint, slice=index, ctx=ast.Load()), sums)
        shape = shapes.of(adjoint)
        if item is None or not isinstance(shape, tuple) or shape == ():
            continue
        name = adjoint.id
        index_names = _names(index)
        index_names |= {n for m in index_names & sums.keys() for n in _names(sums[m])}
        # `g = y_bar[i]` before it, y_bar and the index's names not bound or changed between
        first = _item_read_before(block, k, item, sums,
                                  lambda t: _binds(t) & (index_names | {name}) or _changes(t, name))
        if first is None:
            continue
        g = block[first].targets[0].id
        if g in (name, a) or g in index_names or any(_binds(u) & {g, name} or _changes(u, g) or _changes(u, name)
                                                    for u in block[first + 1:k]):  # (a is y_bar itself, or another)
            continue
        for j in range(k + 1, len(block)):
            t = block[j]
            back = _added_back(t, a, shapes)
            if back is not None and back[0].id == g and shapes.of(back[1]) == shape \
                    and _plain_item(ast.Subscript(value=adjoint, slice=back[2], ctx=ast.Load()), sums) == item:
                drop.add(j)
                copies[k] = ast.copy_location(ast.Assign(targets=[ast.Name(id=a, ctx=ast.Store())],
                                                         value=ast.Name(id=name, ctx=ast.Load())), s)
                break
            if a in _names(t) or _binds(t) & (index_names | {g, name}) or _changes(t, g) or _changes(t, name):
                break
    if not drop:
        return None
    return [copies.get(k, s) for k, s in enumerate(block) if k not in drop
            and not (k in copies and copies[k].targets[0].id == copies[k].value.id)]  # (`a = a`: nothing)


def _plain_item(node, sums=None):
    """(name, the index's text) of `y[i]` whose index is names, int constants and slices of those, else None;
    with `sums` (name -> the sum a block bound it to), each name that has one written as that sum."""
    if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)):
        return None
    node = _SliceCalls().visit(copy.deepcopy(node))  # (`y[slice(i, t, None)] = v`, as s2s writes a slice it set)
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    for item in items:
        parts = [item.lower, item.upper, item.step] if isinstance(item, ast.Slice) else [item]
        for p in parts:
            if p is not None and not isinstance(p, ast.Name) and not (isinstance(p, ast.Constant)
                                                                        and type(p.value) is int):
                return None
    if sums:  # (node is a copy already)
        return node.value.id, ast.dump(_Substituted(sums).visit(node.slice))
    return node.value.id, ast.dump(node.slice)


class _SliceCalls(ast.NodeTransformer):
    """`slice(a, b, c)` in an index written `a:b:c` (a `None` left out), as the generated code's `slice` is the
    builtin's."""

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id == "slice" and 2 <= len(node.args) <= 3 \
                and not node.keywords and not any(isinstance(a, ast.Starred) for a in node.args):
            parts = [None if isinstance(a, ast.Constant) and a.value is None else a for a in node.args]
            return ast.Slice(*parts)
        return node


class _Substituted(ast.NodeTransformer):
    def __init__(self, sums):
        self.sums = sums

    def visit_Name(self, node):
        return copy.deepcopy(self.sums[node.id]) if node.id in self.sums else node


def _index_sums(block, upto):
    """name -> `a + b` / `a - b` of names and int constants, for each name the statements `block[:upto]` bind
    once, at their top level, to such a sum whose names none of them binds after it: what the name holds from
    there to `block[upto]` (`t3 = i + 3` in a backward loop's body)."""
    counts = {}
    for s in block[:upto]:
        for name in _binds(s):
            counts[name] = counts.get(name, 0) + 1
    sums = {}
    for k, s in enumerate(block[:upto]):
        if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
                and counts[s.targets[0].id] == 1 and isinstance(s.value, ast.BinOp)
                and isinstance(s.value.op, ast.Add | ast.Sub)):
            continue
        parts = (s.value.left, s.value.right)
        if all(isinstance(p, ast.Name) or isinstance(p, ast.Constant) and type(p.value) is int for p in parts) \
                and not any(_names(s.value) & _binds(t) for t in block[k + 1:upto]):
            sums[s.targets[0].id] = s.value
    return sums


def _item_read_before(block, k, item, sums, stops):
    """The position of the latest `g = y[i]` (`_item_read` of `item`) among `block[:k]`, looking back no further
    than a statement `stops(statement)` is true of; None where there is none."""
    for j in range(k - 1, -1, -1):
        t = block[j]
        if isinstance(t, ast.Assign) and len(t.targets) == 1 and isinstance(t.targets[0], ast.Name) \
                and _item_read(t.value, sums) == item:
            return j
        if stops(t):
            return None
    return None


def _item_read(value, sums):
    """The `_plain_item` of `y[i]` or `y[i].copy()` (g, the item's adjoint, read before its zeroing), else None."""
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "copy" \
            and not value.args and not value.keywords:
        value = value.func.value
    return _plain_item(value, sums)


def _names(stmt):
    return {n.id for n in walk(stmt) if isinstance(n, ast.Name)}


def _restored_items_dropped(block, fdef):
    drop, views = set(), []
    for k, s in enumerate(block):
        # `y_bar[i] = 0.0`
        if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.value, ast.Constant)
                and type(s.value.value) is float and s.value.value == 0.0):
            continue
        sums = _index_sums(block, k)
        item = _plain_item(s.targets[0], sums)
        if item is None:
            continue
        name = item[0]
        index_names = _names(s.targets[0].slice)
        index_names |= {n for m in index_names & sums.keys() for n in _names(sums[m])}
        # `g = y_bar[i]` before it, y_bar and the index's names untouched between
        first = _item_read_before(block, k, item, sums, lambda t: name in _names(t) or _binds(t) & index_names)
        if first is None:
            continue
        g = block[first].targets[0].id
        if g == name or g in index_names:
            continue
        # `y_bar[i] += g` after it, with nothing between naming y_bar or binding g or the index's names
        for j in range(k + 1, len(block)):
            t = block[j]
            if isinstance(t, ast.AugAssign) and isinstance(t.op, ast.Add) and _plain_item(t.target, sums) == item \
                    and isinstance(t.value, ast.Name) and t.value.id == g:
                if not any(_binds(u) & {g} or _changes(u, g) for u in block[first + 1:k]):
                    drop.update((k, j))
                    views.append((first, j, g))
                break
            if name in _names(t) or _binds(t) & (index_names | {g}) or _changes(t, g):
                break
    if not drop:
        return None
    for first, last, g in views:
        _copy_to_view(block, first, last, g, fdef)
    return [s for k, s in enumerate(block) if k not in drop]


def _copy_to_view(block, first, last, g, fdef):
    """`g = y_bar[i].copy()` becomes `g = y_bar[i]` where the copy is no longer needed: y_bar is named nowhere
    from there to `block[last]` (the adding back, dropped: `_restored_items_dropped` checked), and every read of
    g in the function is there, an operand of arithmetic that makes a new value (`k_bar += g * t`, `g @ k`):
    the view holds the same numbers while anything reads it, and nothing keeps it."""
    value = block[first].value
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "copy"):
        return
    inside = {id(n) for s in block[first + 1:last] for n in walk(s)}
    added_back = {id(n) for n in walk(block[last])}
    parents = {id(child): parent for child, parent in child_parent_pairs(fdef)}
    if reads_consumed_within(fdef, g, inside, parents, skip=added_back):
        block[first].value = value.func.value


def _changes(stmt, name):
    """Whether `stmt` may change the array `name` holds in place (`g[0] = v`, `g[0] += v`, a method of it called)."""
    for n in walk(stmt):
        if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store | ast.Del) and isinstance(n.value, ast.Name) \
                and n.value.id == name:
            return True
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name) \
                and n.func.value.id == name:
            return True
    return False


def _binds(stmt):
    return {n.id for n in walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del)}
