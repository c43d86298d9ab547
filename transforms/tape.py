"""Tape only what the backward sweep reads: drop restores nobody reads.

The reverse pass saves a value before it is overwritten (`stack.append(v)`) and
restores it in the backward sweep (`v = stack.pop()`) whenever some backward
code reads `v`. That decision is per name; this pass refines it per place. A
restore is *unread* when no code after it reads `v` (and, inside a loop, no
code of that loop either, since the next trip may read it). When every
restore of `v` is unread, the tape entries of `v` are dropped in pairs: each
push and each pop of `v`. Pushes and pops of `v` match one to one, so the
rest of the tape keeps its order. Loops left with nothing to do go too.
"""

from __future__ import annotations

import ast

from . import annotations, dce
from .names import assigned_names, loaded_names
from .walk import fix_locations, parent_map, walk, walk_nodes


def _is_push(s, stack):
    return isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and isinstance(s.value.func, ast.Attribute) \
        and s.value.func.attr == "append" and isinstance(s.value.func.value, ast.Name) \
        and s.value.func.value.id == stack and len(s.value.args) == 1 and isinstance(s.value.args[0], ast.Name)


def _is_pop(s, stack):
    return isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
        and isinstance(s.value, ast.Call) and isinstance(s.value.func, ast.Attribute) \
        and s.value.func.attr == "pop" and not s.value.args and isinstance(s.value.func.value, ast.Name) \
        and s.value.func.value.id == stack


class _Order(ast.NodeVisitor):
    """Every statement in program order, with the loops around it."""

    def __init__(self):
        self.items = []  # (statement, enclosing loops)
        self.loops = []

    def generic_visit(self, node):
        if isinstance(node, ast.stmt):
            self.items.append((node, tuple(self.loops)))
        is_loop = isinstance(node, ast.For | ast.While)
        if is_loop:
            self.loops.append(node)
        super().generic_visit(node)
        if is_loop:
            self.loops.pop()


def _own_loads(s) -> set[str]:
    """Names a statement reads itself, not counting the bodies of the statements nested in it."""
    if isinstance(s, ast.If | ast.While):
        return loaded_names(s.test)
    if isinstance(s, ast.For):
        return loaded_names(s.iter)
    if isinstance(s, ast.FunctionDef):
        return {d.id for d in s.args.defaults if isinstance(d, ast.Name)}
    return loaded_names(s)


def _unread_restores(fdef, stack):
    order = _Order()
    order.visit(fdef)
    items = order.items
    reads_after = [set() for _ in items]
    seen = set()
    for i in range(len(items) - 1, -1, -1):
        reads_after[i] = set(seen)
        seen |= _own_loads(items[i][0])
    pops = {}
    loop_loads = {}
    for i, (s, loops) in enumerate(items):
        if _is_pop(s, stack):
            name = s.targets[0].id
            for loop in loops:
                if id(loop) not in loop_loads:
                    loop_loads[id(loop)] = loaded_names(loop)
            read = name in reads_after[i] or any(name in loop_loads[id(loop)] for loop in loops)
            pops.setdefault(name, []).append(read)
    return {name for name, reads in pops.items() if not any(reads)}


def _read_in_own_loops(fdef) -> set[str]:
    """The names every read of which lies in the body of a `for` loop over that name: where nothing else
    reads them, dropping another loop over them changes no read (one nested in such a loop excepted)."""
    inside, reads = {}, {}
    for n in walk(fdef):
        if isinstance(n, ast.For) and isinstance(n.target, ast.Name):
            inside.setdefault(n.target.id, set()).update(
                id(m) for s in n.body for m in walk(s) if isinstance(m, ast.Name) and m.id == n.target.id)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            reads.setdefault(n.id, set()).add(id(n))
    return {name for name, ids in inside.items() if reads.get(name, set()) <= ids}


class _Drop(ast.NodeTransformer):
    """Drops the statements `skip` says (by default the pushes and pops of `names` on the tape `stack`), and the
    loops over ranges left with nothing to do."""

    def __init__(self, stack, names, counters, skip=None):
        self.stack, self.names, self.counters = stack, names, counters
        self.skip = skip or self._tape_entry
        self.around = []  # the targets of the `for` loops around the block being filtered

    def _tape_entry(self, s):
        return _is_push(s, self.stack) and s.value.args[0].id in self.names \
            or _is_pop(s, self.stack) and s.targets[0].id in self.names

    def visit_For(self, node):
        self.around.append(_target(node))
        node = self.generic_visit(node)
        self.around.pop()
        return node

    def _filter(self, stmts):
        out = []
        for s in stmts:
            if self.skip(s):
                continue
            s = self.visit(s)
            if isinstance(s, ast.For) and isinstance(s.iter, ast.Call) and idle(s.body) and \
                    not (assigned_names(ast.Module(body=[s], type_ignores=[])) - {_target(s)}) \
                    and _target(s) in self.counters and _target(s) not in self.around:
                continue  # a loop over a range with nothing left to do (its counter read nowhere else)
            out.append(s)
        return out

    def generic_visit(self, node):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                kept = self._filter(block)
                if idle(kept):  # comments alone are no statement
                    kept = [ast.Pass()] if field == "body" else []
                setattr(node, field, kept)
        return node


def _target(loop):
    return loop.target.id if isinstance(loop.target, ast.Name) else None


def idle(stmts) -> bool:
    """Whether `stmts` do nothing: `pass` and s2s's `# ...` comments (transforms/reverse.Comment) alone."""
    return all(isinstance(s, ast.Pass) or type(s).__name__ == "Comment" for s in stmts)


def _is_placeholder(s):
    """The tape's placeholder `t = t2 = None` the pipeline wrote (annotated): not a `buf = None` of the user's
    (a helper's default, expanded in place), which may sit right after the tape too."""
    return isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant) and s.value.value is None \
        and all(isinstance(t, ast.Name) for t in s.targets) and annotations.get(s, annotations.PLACEHOLDER, False)


def drop_unread_restores(fdef: ast.FunctionDef, stack: str | None) -> ast.FunctionDef:
    """Remove the push/pop pairs of names whose every restore is unread (see the module doc), and in a loop and
    its backward loop the pair of a restore bound again before anything reads it (`_dead_trip_restores`)."""
    if not stack:
        return fdef
    dead = _dead_trip_restores(fdef, stack)
    if dead:
        fdef = _Drop(stack, set(), set(), skip=lambda s: id(s) in dead).visit(fdef)
    names = _unread_restores(fdef, stack)
    if not names:
        return fix_locations(fdef) if dead else fdef
    fdef = _Drop(stack, names, _read_in_own_loops(fdef)).visit(fdef)
    still_used = any(isinstance(n, ast.Name) and n.id == stack and isinstance(n.ctx, ast.Load) for n in walk(fdef))
    body = []
    after_stack = False
    # in a split form the pullback's defaults read the placeholders: leave them there
    nested = any(isinstance(n, ast.FunctionDef) for n in walk(fdef) if n is not fdef)
    for s in fdef.body:  # the tape itself, `stack = []`, when nothing uses it any more
        is_stack = isinstance(s, ast.Assign) and len(s.targets) == 1 and \
            isinstance(s.targets[0], ast.Name) and s.targets[0].id == stack and isinstance(s.value, ast.List)
        if after_stack and not nested and _is_placeholder(s):
            # `t = t2 = None` right after the tape: values pushed before their first assignment
            s.targets = [t for t in s.targets if t.id not in names]
            if not s.targets:
                continue
        after_stack = is_stack
        if is_stack and not still_used:
            continue
        body.append(s)
    fdef.body = body
    return fix_locations(fdef)


def _dead_trip_restores(fdef, stack) -> set:
    """The ids of the push and the pop of each restore a backward loop binds again before anything reads it
    (`lap = stack.pop(); lap = stack.pop()`: the value `lap` had before `lap = s2s.setitem(lap, ...)` of a trip),
    in a loop of the function's body and its backward loop whose every push and pop is a statement of their
    bodies, matched trip by trip in the tape's order (trip_records: the backward loop runs once per trip and pops
    exactly what the trip pushed, in reverse). Dropping the pair leaves every other restore its own value.

        >>> # for _ in range(3): stack.append(a); a = f(a); stack.append(a); a = g(a)
        >>> # for _ in reversed(range(3)): a = stack.pop(); a = stack.pop(); ... -> the second push, the first pop
    """
    from .trip_records import _pairs, _plain_loop, _pop_of, _push_of, _runs_once_per_trip, _uses_stack
    dead = set()
    stores: dict[str, int] = {}
    for n in walk_nodes(fdef):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del):
            stores[n.id] = stores.get(n.id, 0) + 1
    for forward, backward in _pairs(fdef.body, stack):
        if not (isinstance(forward, ast.For | ast.While) and isinstance(backward, ast.For)
                and _plain_loop(forward) and _plain_loop(backward)
                and _runs_once_per_trip(forward, backward, stores)[0] is not None):
            continue
        fb, bb = forward.body, backward.body
        bound = {}  # (a restore bound again needs a second top-level binding of its name: the cheap test first)
        for s in bb:
            if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
                bound[s.targets[0].id] = bound.get(s.targets[0].id, 0) + 1
        if not any(_pop_of(s, stack) and bound[s.targets[0].id] > 1 for s in bb):
            continue
        pushes = [s for s in fb if _push_of(s, stack)]
        pops = [s for s in bb if _pop_of(s, stack)]
        if sum(_uses_stack(s, stack)[0] for s in fb) != len(pushes) or any(_uses_stack(s, stack)[1] for s in fb) \
                or any(_uses_stack(s, stack)[0] for s in bb) or sum(_uses_stack(s, stack)[1] for s in bb) != len(pops) \
                or [_push_of(s, stack) for s in pushes] != [_pop_of(s, stack) for s in reversed(pops)]:
            continue
        if _target_names(backward) & {_pop_of(s, stack) for s in pops}:
            continue
        for push, pop in zip(reversed(pushes), pops):
            if _bound_again_unread(bb[bb.index(pop) + 1:], _pop_of(pop, stack)):
                dead.update((id(push), id(pop)))
    return dead


def _target_names(loop) -> set:
    return {n.id for n in walk(loop.target) if isinstance(n, ast.Name)}


def _bound_again_unread(after, name) -> bool:
    """Whether a statement of `after` binds `name` (`name = ...`, reading nothing of it) before any reads it."""
    for s in after:
        if name in loaded_names(s):
            return False
        if name in assigned_names(s):
            return isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
    return False


def _bare_pop(s):
    """`items.pop()` as a statement of its own (the value is not read): the name, else None."""
    call = s.value if isinstance(s, ast.Expr) else None
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "pop" \
            and not call.args and not call.keywords and isinstance(call.func.value, ast.Name):
        return call.func.value.id
    return None


def _reads_items_only(shapes, call, arg) -> bool:
    """Whether `call` makes new values of the list `arg` it is given and keeps no hold on it: a NumPy function
    (it makes arrays), or a runtime helper whose rule says it reads that argument's shapes alone."""
    obj = shapes.callee(call)
    if getattr(obj, "__module__", None) == "numpy":
        return True
    params = shapes.fact(obj, "params", ())
    at = call.args.index(arg)
    return at < len(params) and params[at] in shapes.fact(obj, "shape_only", ())


def drop_write_only_lists(fdef: ast.FunctionDef, maybe_unbound=frozenset) -> bool:
    r"""Drop `L.append(v)` (of a name or a literal v) and bare `L.pop()` of a list the function binds once, to
    `[]`, and reads nowhere else: nothing sees what they put in or take out (a loss per step appended for a
    `sum(L)` the gradient does not compute). Not an append of a name that may be unbound there (`maybe_unbound()`
    gives the ids of such reads), which raises UnboundLocalError, as Python does. Returns whether anything changed.

        >>> f = ast.parse("def f(x):\n    L = []\n    L.append(x)\n    return x").body[0]
        >>> drop_write_only_lists(f), ast.unparse(f).splitlines()[1:]
        (True, ['    L = []', '    return x'])
    """
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    stores, made = {}, {}
    for n in walk(fdef):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            stores[n.id] = stores.get(n.id, 0) + 1
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) \
                and isinstance(n.value, ast.List) and not n.value.elts:
            made[n.targets[0].id] = made.get(n.targets[0].id, 0) + 1
    names = {n for n, k in made.items() if k == 1 and stores.get(n) == 1 and n not in params}
    if not names:
        return False
    writes = set()  # ids of the statements to drop
    appended = []  # (the list's name, the id of a name appended to it)
    parents = parent_map(fdef)
    for n in walk(fdef):
        if not (isinstance(n, ast.Name) and n.id in names and isinstance(n.ctx, ast.Load)):
            continue
        attr = parents.get(id(n))
        call = parents.get(id(attr))
        stmt = parents.get(id(call))
        if isinstance(attr, ast.Attribute) and isinstance(call, ast.Call) and call.func is attr \
                and isinstance(stmt, ast.Expr) and not call.keywords \
                and (attr.attr == "pop" and not call.args
                     or attr.attr == "append" and len(call.args) == 1 and isinstance(call.args[0], ast.Constant | ast.Name)):
            writes.add(id(stmt))
            if attr.attr == "append" and isinstance(call.args[0], ast.Name):
                appended.append((n.id, id(call.args[0])))
            continue
        names.discard(n.id)
    if any(name in names for name, _ in appended):  # (the reads that may be unbound: inferred only where needed)
        unbound = maybe_unbound()
        names -= {name for name, read in appended if read in unbound}
    drop = {id(s) for s in walk(fdef) if id(s) in writes and _list_of(s) in names}
    if not drop:
        return False
    _Drop(None, set(), _read_in_own_loops(fdef), skip=lambda s: id(s) in drop).visit(fdef)
    fix_locations(fdef)
    return True


def _list_of(stmt):
    """The name of the list `L` of `L.append(v)` / `L.pop()` as a statement."""
    return stmt.value.func.value.id


def drop_unread_list_pops(fdef: ast.FunctionDef, shapes) -> bool:
    """Drop the backward sweep's `items.pop()` of a list the function made (`items = []`, the forward sweep's
    list comprehension) where nothing reads the list after them, and the loops left doing nothing.

    The pops give the list back the length it had, for code after them that reads it; there is none here.
    Done for a list bound once, to `[]`, whose every read is an `append` or a bare `pop` of it, or an argument
    of a NumPy function (which makes arrays of its items and keeps no hold on the list); no read but a pop
    comes after the first pop, nor in a loop around a pop (its next trip). Returns whether anything changed.
    """
    order = _Order()
    order.visit(fdef)
    lists = {}
    for s, _ in order.items:
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and isinstance(s.value, ast.List) and not s.value.elts:
            lists[s.targets[0].id] = lists.get(s.targets[0].id, 0) + 1
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    stores = {}
    for n in walk(fdef):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            stores[n.id] = stores.get(n.id, 0) + 1
    names = {n for n, count in lists.items() if count == 1 and stores.get(n) == 1 and n not in params}
    if not names:
        return False
    parents = parent_map(fdef)
    for n in walk(fdef):  # every read: an append, a bare pop, or an argument of a NumPy function
        if not (isinstance(n, ast.Name) and n.id in names and isinstance(n.ctx, ast.Load)):
            continue
        parent = parents.get(id(n))
        if isinstance(parent, ast.Attribute) and parent.attr in ("append", "pop"):
            call = parents.get(id(parent))
            if isinstance(call, ast.Call) and call.func is parent and isinstance(parents.get(id(call)), ast.Expr):
                continue
        if isinstance(parent, ast.Call) and n in parent.args and _reads_items_only(shapes, parent, n):
            continue
        names.discard(n.id)
    popped = set()
    for s, loops in order.items:  # in program order: after a list's first pop, its pops alone
        name = _bare_pop(s)
        if name in names:
            popped.add(name)
            around = {m.id for loop in loops for m in walk(loop) if isinstance(m, ast.Name) and m.id == name
                      and not (isinstance(parents.get(id(m)), ast.Attribute) and parents[id(m)].attr == "pop")}
            names -= around
            continue
        if isinstance(s, ast.For | ast.While | ast.If):
            reads = loaded_names(s.test) if isinstance(s, ast.If | ast.While) else loaded_names(s.iter)
        else:
            reads = loaded_names(s)
        names -= reads & popped
    names &= popped
    if not names:
        return False
    _Drop(None, names, _read_in_own_loops(fdef), skip=lambda s: _bare_pop(s) in names).visit(fdef)
    fix_locations(fdef)
    return True


# ---- cheap loop-index arithmetic recomputed, not taped ----------------------------

def _int_of_index(node, index, defs, fixed=frozenset(), outer=frozenset()):
    """`node` written with the loop index `index` (and the indices `outer` of the loops around it), int literals
    and (for a number) the names of `fixed` only (`i + 1`, `2 * i - 1`, `-k`), the names of `defs` replaced by
    their expressions; None if it is something else."""
    if isinstance(node, ast.Constant):
        return node if type(node.value) is int or (fixed and type(node.value) is float) else None
    if isinstance(node, ast.Name):
        if node.id == index or node.id in fixed or node.id in outer:
            return ast.Name(id=node.id, ctx=ast.Load())
        return _copy(defs[node.id]) if node.id in defs else None
    ops = ast.Add | ast.Sub | ast.Mult | ast.FloorDiv | ast.Mod
    if isinstance(node, ast.BinOp) and isinstance(node.op, ops):
        left = _int_of_index(node.left, index, defs, fixed, outer)
        right = _int_of_index(node.right, index, defs, fixed, outer)
        return None if left is None or right is None else ast.BinOp(left=left, op=node.op, right=right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = _int_of_index(node.operand, index, defs, fixed, outer)
        return None if operand is None else ast.UnaryOp(op=node.op, operand=operand)
    return None


def _reversed_range_of(backward, forward):
    """`backward` iterates `reversed(<forward's range>)` under the same index name."""
    it = backward.iter
    return isinstance(backward.target, ast.Name) and isinstance(forward.target, ast.Name) \
        and backward.target.id == forward.target.id and isinstance(it, ast.Call) \
        and isinstance(it.func, ast.Name) and it.func.id == "reversed" and len(it.args) == 1 and not it.keywords \
        and ast.dump(it.args[0]) == ast.dump(forward.iter) and isinstance(forward.iter, ast.Call) \
        and isinstance(forward.iter.func, ast.Name) and forward.iter.func.id == "range"


def recompute_index_arithmetic(fdef: ast.FunctionDef, stack: str | None, shapes=None) -> ast.FunctionDef:
    """`v = i + 1` in a `for i in range(n)` loop is recomputed at the top of its backward loop, not taped.

    The forward loop pushes `v` before each assignment and the backward loop (`for i in
    reversed(range(n))`) pops it back; every read of `v` in the backward loop comes before the
    pop, so it wants this iteration's `v`, which is `i + 1` again. Done only where that holds:
    `v` is assigned once (and by the tape's placeholder and restore), from `i` and int literals,
    at the top level of the loop body and not read there before; nothing reads `v` after its pop
    in the backward loop or outside the two loops; the range's names and the index are not
    rebound elsewhere. With `shapes` (specialised code), a number computed from arguments
    never rebound and literals (`t = -k`) is recomputed the same way: one operation on
    numbers costs less than a push and a pop.
    """
    if not stack or any(isinstance(n, ast.FunctionDef) for n in walk_nodes(fdef) if n is not fdef):
        return fdef
    body = fdef.body
    loops = [s for s in body if isinstance(s, ast.For)]
    counts = {}
    for n in walk(fdef):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            counts[n.id] = counts.get(n.id, 0) + 1
    recomputed = set()
    for forward in loops:
        for backward in loops:
            if backward is forward or not _reversed_range_of(backward, forward) \
                    or body.index(backward) < body.index(forward) \
                    or any(counts.get(name, 0) > 1 for name in loaded_names(forward.iter)):
                continue
            recomputed |= _recompute_pairs(fdef, forward, backward, stack, counts, shapes)
            recomputed |= _nested_pairs(fdef, forward, backward, stack, counts, shapes, frozenset())
    _drop_idle_placeholders(fdef, stack, recomputed, _assigned_before_read(fdef))
    return fix_locations(fdef)


def _nested_pairs(fdef, forward, backward, stack, counts, shapes, outer):
    """`_recompute_pairs` for the loops at the top level of a forward loop's body and of its backward loop's that
    run over the same range reversed (`for j in range(1, i)` in `for i in range(n)`): their trips match one to
    one, and so do the values of the indices of the loops around them (`outer`, each bound by its two loops
    alone), which the index arithmetic may read too (`t = i - j`)."""
    if counts.get(forward.target.id, 0) != 2:
        return set()
    outer = outer | {forward.target.id}
    done = set()
    inner_forward = [s for s in forward.body if isinstance(s, ast.For)]
    inner_backward = [s for s in backward.body if isinstance(s, ast.For)]
    bounds = _bound_alike(fdef, forward, backward, outer)
    for f in inner_forward:
        for b in inner_backward:
            # (a name of `bounds` bound ahead of both loops: not the forward trip's after its loop, the last trip's)
            ahead = {n for n, (fs, bs) in bounds.items() if forward.body.index(fs) < forward.body.index(f)
                     and backward.body.index(bs) < backward.body.index(b)}
            if not _reversed_range_of(b, f) or any(counts.get(name, 0) > 1 and name not in outer | ahead
                                                   for name in loaded_names(f.iter)):
                continue
            done |= _recompute_pairs(fdef, f, b, stack, counts, shapes, outer)
            done |= _nested_pairs(fdef, f, b, stack, counts, shapes, outer)
    return done


def _bound_alike(fdef, forward, backward, outer) -> dict:
    """{name: its two statements} for the names bound in the whole function (the tape's placeholder aside) only by
    one statement at the top level of each of the two loops' bodies (the backward one's a recomputation, `n2 = 49 -
    k`), both to the same int arithmetic of the loop indices `outer` and literals: in a trip of either loop the name
    holds that trip's number after its statement, the same in both (an inner loop over `range(n2)` after both runs
    over the same numbers in each)."""
    def top(body):
        out = {}
        for s in body:
            if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
                out.setdefault(s.targets[0].id, []).append(s)
        return out
    ahead, back = top(forward.body), top(backward.body)
    stores = {}  # (the tape's placeholder `n2 = None` aside: read by nothing once the name is bound in both loops)
    for s in fdef.body:
        if not _is_placeholder(s):
            for n in walk(s):
                if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
                    stores[n.id] = stores.get(n.id, 0) + 1
    return {name: (made[0], back[name][0]) for name, made in ahead.items()
            if len(made) == 1 and len(back.get(name, ())) == 1 and stores.get(name) == 2
            and ast.dump(made[0].value) == ast.dump(back[name][0].value)
            and _int_of_index(made[0].value, next(iter(outer)), {}, outer=outer) is not None}


def _assigned_before_read(fdef):
    """Names of the tape's placeholder (`x = t = None`) that a top-level assignment binds before anything reads them."""
    out = set()
    loads, stores = {}, {}  # statement index -> the names it reads, stores (each statement walked once, not per name)
    for k, s in enumerate(fdef.body):
        if not _is_placeholder(s):
            continue
        for t in s.targets:
            for j in range(k + 1, len(fdef.body)):
                if j not in loads:
                    loads[j] = loaded_names(fdef.body[j])
                if t.id in loads[j]:
                    break
                later = fdef.body[j]
                if isinstance(later, ast.Assign):
                    if j not in stores:
                        stores[j] = assigned_names(later)
                    if t.id in stores[j]:
                        out.add(t.id)
                        break
    return out


def drop_dead_placeholders(fdef: ast.FunctionDef) -> bool:
    """The names of the tape's placeholder `t = t2 = None` that nothing reads before binding them again go
    (the loop that pushed them fused with its backward loop, without a tape: transforms/fusion.py); returns
    whether any went. A name bound to None alone there reads as neither an array nor real to the shapes pass.

        >>> # i = p = t3 = None; for t in range(n): t3 = X[t]; ...   ->   for t in range(n): t3 = X[t]; ...
    """
    live, changed, body = None, False, []
    for s in fdef.body:
        if _is_placeholder(s):
            live = dce.live_after(fdef) if live is None else live
            kept = [t for t in s.targets if t.id in live[id(s)]]
            changed |= len(kept) != len(s.targets)
            s.targets = kept
            if not kept:
                continue
        body.append(s)
    fdef.body = body
    return changed


def _drop_idle_placeholders(fdef, stack, unpushed, bound_first):
    """`t = t2 = None` after the tape binds names before the loop that pushes them: a name no longer pushed
    (`unpushed`), or bound at the top level before anything reads it (`bound_first`), needs none."""
    pushed = {n.value.args[0].id for n in walk_nodes(fdef) if _is_push(n, stack)}
    body = []
    for k, s in enumerate(fdef.body):
        if k > 0 and _is_placeholder(s) and isinstance(fdef.body[k - 1], ast.Assign) \
                and any(isinstance(t, ast.Name) and t.id == stack for t in fdef.body[k - 1].targets):
            s.targets = [t for t in s.targets
                         if t.id not in bound_first and not (t.id in unpushed and t.id not in pushed)]
            if not s.targets:
                continue
        body.append(s)
    fdef.body = body


def _recompute_pairs(fdef, forward, backward, stack, counts, shapes=None, outer=frozenset(), blocks=None):
    """`recompute_index_arithmetic` for the loops `forward` and `backward` (`blocks`: the two statement lists
    looked into, the loops' bodies or the bodies of a pair of their branches, `_branch_pairs`)."""
    index = forward.target.id
    done = set()
    if counts.get(index, 0) != 2:  # the two loops' targets only: nothing else rebinds the index
        return done
    fb, bb = blocks or (forward.body, backward.body)
    if blocks is None:
        for pair in _branch_pairs(fb, bb, stack):
            done |= _recompute_pairs(fdef, forward, backward, stack, counts, shapes, outer, pair)
    defs = {}  # names bound once, earlier in the body, to index arithmetic (t = 2 * i): their expressions
    for k in range(len(fb) - 1):
        push, assign = fb[k], fb[k + 1]
        if isinstance(push, ast.Assign) and len(push.targets) == 1 and isinstance(push.targets[0], ast.Name) \
                and counts.get(push.targets[0].id) == 1:
            value = _int_of_index(push.value, index, defs, outer=outer)
            if value is not None:
                defs[push.targets[0].id] = value
        if not (_is_push(push, stack) and isinstance(assign, ast.Assign) and len(assign.targets) == 1
                and isinstance(assign.targets[0], ast.Name) and assign.targets[0].id == push.value.args[0].id):
            continue
        value = _int_of_index(assign.value, index, defs, outer=outer)
        if value is None and shapes is not None and shapes.of(assign.value) == () and shapes.real(assign.value):
            fixed = {n.id for n in walk(assign.value) if isinstance(n, ast.Name) and counts.get(n.id, 0) == 0
                     and n.id in shapes.local}  # arguments never rebound
            value = _int_of_index(assign.value, index, defs, fixed, outer)
        if value is None:
            continue
        name = assign.targets[0].id
        pops = [s for s in bb if _is_pop(s, stack) and s.targets[0].id == name]
        all_pops = [n for n in walk(fdef) if _is_pop(n, stack) and n.targets[0].id == name]
        all_pushes = [n for n in walk(fdef) if _is_push(n, stack) and n.value.args[0].id == name]
        if len(pops) != 1 or len(all_pops) != 1 or len(all_pushes) != 1:
            continue
        # stores: the placeholder, the assignment, the pop
        if counts.get(name, 0) > 3 or any(name in loaded_names(s) for s in fb[:k]):
            continue
        at = bb.index(pops[0])
        if any(name in loaded_names(s) for s in bb[at + 1:]):
            continue
        inside = {id(n) for loop in (forward, backward) for n in walk(loop)}
        within = {id(n) for block in (fb, bb) for s in block for n in walk(s)}  # (a branch's: read nowhere else)
        if any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
               and (id(n) not in inside or blocks is not None and id(n) not in within) for n in walk(fdef)):
            continue
        del fb[k]  # the push (the assignment stays)
        del bb[at]
        bb.insert(0, ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=value))
        return done | {name} | _recompute_pairs(fdef, forward, backward, stack, counts, shapes, outer, (fb, bb))
    return done


def _branch_pairs(fb, bb, stack):
    """(forward branch body, backward branch body) for each `if c:` of the forward loop body `fb` whose test is a
    name the tape saves just before it is bound there (`stack.append(c); c = ...`) and gives back right after the
    one `if c:` of the backward loop body `bb` (`if c: ...` then `c = stack.pop()`): the backward branch runs in
    the trips whose forward branch ran, each the same trip (`else` bodies likewise). Index arithmetic bound in the
    forward branch is then that trip's where the backward branch reads it."""
    pairs = []
    for k, f in enumerate(fb):
        if not (isinstance(f, ast.If) and isinstance(f.test, ast.Name)):
            continue
        c = f.test.id
        bound = [j for j in range(1, k) if _is_push(fb[j - 1], stack) and fb[j - 1].value.args[0].id == c
                 and isinstance(fb[j], ast.Assign) and len(fb[j].targets) == 1
                 and isinstance(fb[j].targets[0], ast.Name) and fb[j].targets[0].id == c]
        if not bound or any(isinstance(t, ast.Name) and t.id == c and not isinstance(t.ctx, ast.Load)
                                for s in fb[bound[-1] + 1:k] for t in walk(s)):
            continue
        back = [j for j, b in enumerate(bb) if isinstance(b, ast.If) and isinstance(b.test, ast.Name) and b.test.id == c]
        after = [s for s in bb[back[0] + 1:] if type(s).__name__ != "Comment"] if len(back) == 1 else []
        if not after or not (_is_pop(after[0], stack) and after[0].targets[0].id == c):
            continue
        b = bb[back[0]]
        pairs.append((f.body, b.body))
        if f.orelse and b.orelse:
            pairs.append((f.orelse, b.orelse))
    return pairs


# ---- numbers of a loop recomputed from values the backward sweep restores ----------

_CHEAP_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div)


def _cheap_names(node, shapes, checked=False) -> set[str] | None:
    """The names of `node`, an expression of `+ - * /` and unary minus over names and number literals whose
    value is a number (shape ()); None where it is anything else. `checked`: its value is known to be a
    number (`_recompute_one` asked its shapes before `_through_temporaries` copied it), only its operations
    are looked at."""
    if not checked and shapes.of(node) != ():
        return None
    names = set()
    for n in walk(node):
        if isinstance(n, ast.Name):
            names.add(n.id)
        elif isinstance(n, ast.BinOp):
            if not isinstance(n.op, _CHEAP_OPS):
                return None
        elif isinstance(n, ast.UnaryOp):
            if not isinstance(n.op, ast.USub):
                return None
        elif isinstance(n, ast.Constant):
            if type(n.value) not in (int, float):
                return None
        elif not isinstance(n, ast.expr_context | ast.operator | ast.unaryop):
            return None
    return names


_MOST_OPERATIONS = 3  # a push and a pop cost about what three operations on numbers do (timeit: 56 ns, 39 ns)


def _through_temporaries(fb, at, value, shapes, pushes):
    """`value`, the expression `fb[at]` assigns (in a loop's body `fb`), with each name the tape does not save
    replaced by the expression the same trip last bound it to (`t3 = 1.0 + t2` after `t2 = r * xk / k` is
    `1.0 + r * xk / k`), again through those; a copy, or None where one replacement makes it longer than
    `_MOST_OPERATIONS` operations. Names that cannot be replaced are left as they are (`_recompute_one` then
    asks about each).

    Why it is the same value: the replaced name `u` was last bound by `u = e` at the top level of `fb`, with
    nothing from there to `fb[at]` storing `u`, writing into it, passing it or a name of `e` to a call, or
    leaving the trip (`_touches`), and `e`, of `+ - * /` over numbers (`_cheap_names`), reads none of its own
    target: at `fb[at]`, `e` still evaluates to what `u` holds."""
    value = _copy(value)
    for _ in range(_MOST_OPERATIONS):
        replaced = False
        for node in walk(value):
            for field, child in ast.iter_fields(node):
                if isinstance(child, ast.Name) and child.id not in pushes:
                    bound = _last_binding(fb, at, child.id, shapes)
                    if bound is not None:
                        setattr(node, field, _copy(bound))
                        replaced = True
            if replaced:
                break
        if isinstance(value, ast.Name) and value.id not in pushes:
            bound = _last_binding(fb, at, value.id, shapes)
            if bound is not None:
                value, replaced = _copy(bound), True
        if not replaced:
            return value
        if sum(isinstance(n, ast.BinOp | ast.UnaryOp) for n in walk(value)) > _MOST_OPERATIONS:
            return None
    return None


def _last_binding(fb, at, name, shapes):
    """The expression `e` of `name = e`, the last statement of `fb[:at]` that stores `name`, where `e` is of
    `+ - * /` over numbers, does not read `name`, and nothing in `fb` after it and up to `fb[at]` may change
    `name` or a name `e` reads (`_through_temporaries`); else None."""
    j = next((j for j in range(at - 1, -1, -1) if any(isinstance(n, ast.Name) and n.id == name
                                                      and not isinstance(n.ctx, ast.Load) for n in walk(fb[j]))), None)
    if j is None:
        return None
    s = fb[j]
    if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)):
        return None
    names = _cheap_names(s.value, shapes)
    if names is None or name in names:
        return None
    between = fb[j + 1:at + 1]
    if any(_touches(between, u) for u in names | {name}):
        return None
    return s.value


def _touches(statements, name) -> bool:
    """Whether `statements` may change what `name` holds: a store of it (`name = ...`, `name += ...`), a write
    into it (`name[...] = ...`), a call given it or one of its methods called; or leave the trip early."""
    for s in statements:
        for n in walk(s):
            if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load):
                return True
            if isinstance(n, ast.Subscript | ast.Attribute) and isinstance(n.value, ast.Name) \
                    and n.value.id == name and not (isinstance(n, ast.Attribute) and n.attr in ("shape", "dtype")):
                return True
            if isinstance(n, ast.Call) and any(isinstance(a, ast.Name) and a.id == name
                                               for a in [*n.args, *(k.value for k in n.keywords)]):
                return True
            if isinstance(n, ast.Break | ast.Continue | ast.Return | ast.Yield | ast.YieldFrom):
                return True
    return False


def recompute_from_restored(fdef: ast.FunctionDef, stack: str | None, shapes) -> bool:
    """`t = a / x` in a loop that also tapes `x` is recomputed in the backward loop, not taped:

        while cond:                      while cond:
            stack.append(t)                  t = a / x
            t = a / x                        stack.append(x)
            stack.append(x)          ->      x = 0.5 * (x + t)
            x = 0.5 * (x + t)            ...
        ...                              for _ in range(trips):
        for _ in range(trips):               x = stack.pop()
            x = stack.pop()                  t = a / x
            x_bar = ... t ...                x_bar = ... t ...
            t = stack.pop()

    Why it is the same value: `t` is a number computed by `+ - * /` from number literals, arguments
    the function never rebinds, locals bound once before the loop that nothing changes, the index of a `for`
    loop over a range the backward loop runs reversed, and names the same trip pushes after it with nothing
    changing them in between (through the numbers the trip computes without saving them:
    `_through_temporaries`); the backward loop's trip restores those names to the values they had when `t`
    was computed, so computing `t` again right after their last restore gives the value its pop gave. Done
    where every read of `t` in the backward loop comes after that point and before `t`'s pop, nothing outside
    the two loops reads `t` from the forward loop on (the backward loop's last pop no longer gives `t` back
    the value it had before the forward loop),
    and each of `t` and those names has one push and one pop in the function, at the top level of the loops'
    bodies (pushes and pops match one to one: the rest of the tape keeps its order). One number operation
    costs less than a push and a pop. Returns whether anything changed."""
    if not stack or shapes is None:
        return False
    stores, pushes, pops = {}, {}, {}
    for n in walk(fdef):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            stores[n.id] = stores.get(n.id, 0) + 1
        if isinstance(n, ast.stmt) and _is_push(n, stack):
            pushes.setdefault(n.value.args[0].id, []).append(n)
        if isinstance(n, ast.stmt) and _is_pop(n, stack):
            pops.setdefault(n.targets[0].id, []).append(n)
    params = {a.arg for a in fdef.args.args + fdef.args.kwonlyargs}
    # every loop, nested ones too (a trip's restores pair with its saves however deep the loop), by the statement
    # of the function's body that holds it
    top = {id(n): s for s in fdef.body for n in walk(s) if isinstance(n, ast.For | ast.While)}
    loops = [n for n in walk(fdef) if isinstance(n, ast.For | ast.While)]
    if not any(isinstance(n, ast.FunctionDef | ast.Lambda) for n in walk(fdef) if n is not fdef):
        for loop in loops:  # (a local function may read a name a statement does not mention)
            _restore_early(loop.body, stack)
    recomputed, again = set(), True
    while again:
        again = False
        for forward in loops:
            for k in range(len(forward.body) - 1):
                name = _recompute_one(fdef, forward, k, loops, stack, shapes, stores, pushes, pops, params, top)
                if name:
                    recomputed.add(name)
                    again = True
                    break  # the body changed: look at it again
    if recomputed:
        _drop_idle_placeholders(fdef, stack, recomputed, _assigned_before_read(fdef))
        fix_locations(fdef)
    return bool(recomputed)


def _same_counter(forward, backward, name, stores) -> bool:
    """`name` is the index of the `for` loop `forward` over a range of literals and names nothing binds, and
    `backward` runs that range reversed under the same name, the two loops the name's only bindings: in each
    backward trip it holds the value it held in the forward trip that trip undoes."""
    return isinstance(forward, ast.For) and isinstance(forward.target, ast.Name) and forward.target.id == name \
        and isinstance(backward, ast.For) and _reversed_range_of(backward, forward) and stores.get(name) == 2 \
        and all(isinstance(a, ast.Constant) or isinstance(a, ast.Name) and stores.get(a.id, 0) == 0
                for a in forward.iter.args)


def _restore_early(body, stack):
    """Move each restore (`x = stack.pop()`) at the top level of `body` up past the statements before it that
    neither read nor store `x` nor touch the tape: `x` then holds its restored value from the earliest
    point, where the numbers computed from it may be computed again (`_recompute_one`); the tape's order
    and every statement's values stay as they were."""
    for i in range(len(body)):
        if not _is_pop(body[i], stack):
            continue
        name, j = body[i].targets[0].id, i
        while j > 0 and not any(isinstance(n, ast.Name) and n.id in (name, stack) for n in walk(body[j - 1])):
            j -= 1
        body.insert(j, body.pop(i))


def _recompute_one(fdef, forward, k, loops, stack, shapes, stores, pushes, pops, params, top) -> str | None:
    """The name whose push at `forward.body[k]` and pop this recomputes (see recompute_from_restored), or None.
    `top`: id of a loop -> the statement of the function's body that holds it."""
    fb = forward.body
    push, assign = fb[k], fb[k + 1]
    if not (_is_push(push, stack) and isinstance(assign, ast.Assign) and len(assign.targets) == 1
            and isinstance(assign.targets[0], ast.Name) and assign.targets[0].id == push.value.args[0].id):
        return None
    name = assign.targets[0].id
    if len(pushes.get(name, ())) != 1 or len(pops.get(name, ())) != 1 or stores.get(name, 0) > 3:
        return None
    if shapes.of(assign.value) != ():  # a number: a list or array may change in place (`items.append(v)`)
        return None
    value = _through_temporaries(fb, k + 1, assign.value, shapes, pushes)
    used = None if value is None else _cheap_names(value, shapes, checked=True)
    if used is None or name in used:
        return None
    backward = next((b for b in loops if b is not forward and any(s is pops[name][0] for s in b.body)), None)
    if backward is None or fdef.body.index(top[id(backward)]) <= fdef.body.index(top[id(forward)]):
        return None
    outermost = top[id(forward)]
    bb = backward.body
    q = next(i for i, s in enumerate(bb) if s is pops[name][0])
    after, before = -1, q  # the recomputation goes after the pops of `later` names, before those of `earlier` ones
    for u in used:
        if u in params and stores.get(u, 0) == 0 or _bound_once_before(fdef, outermost, u, stores):
            continue  # an argument never rebound, or a local bound once before the loops (`c = params[1]`)
        if _same_counter(forward, backward, u, stores):
            continue  # the loops' index: each backward trip holds the forward trip's value (`r * xk / k`)
        if len(pushes.get(u, ())) != 1 or len(pops.get(u, ())) != 1 or _written_in(backward, u, pops[u][0]):
            return None
        at = next((j for j in range(len(fb)) if fb[j] is pushes[u][0]), None)
        p = next((i for i, s in enumerate(bb) if s is pops[u][0]), None)
        if at is None or p is None:
            return None
        if at > k + 1:
            # later: the trip tapes u after computing `name`, the backward trip restores it first. u holds the
            # same value from `name`'s assignment to its push
            if p > q or _touches(fb[k + 2:at], u):
                return None
            after = max(after, p)
        else:
            # earlier: u is stored once a trip, right after its push, and holds that value to the trip's end,
            # which is what it holds in the backward trip until its pop
            if p < q or not _stored_once_after_push(fdef, forward, fb, at, u, stores, outermost) \
                    or _touches(fb[k + 2:], u):
                return None
            before = min(before, p)
    if after >= before or any(name in loaded_names(s) for s in bb[:after + 1] + bb[q + 1:]):
        return None
    # reads of `name` outside the two loops, from the forward loop's statement on (those before it run before
    # anything here changes: the function's top-level statements run once each, in order)
    inside = {id(n) for loop in (forward, backward) for n in walk(loop)}
    if any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) and id(n) not in inside
           for s in fdef.body[fdef.body.index(outermost):] for n in walk(s)):
        return None
    del fb[k]
    del bb[q]
    bb.insert(after + 1, ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=value))
    pushes.pop(name)
    pops.pop(name)
    return name


def _bound_once_before(fdef, forward, name, stores) -> bool:
    """Whether `name` is bound once in the function, by an assignment to it alone at the top level before the
    loop `forward`, and nothing else may change what it holds (`_touches`; the final `return` read as the
    expression it returns): both sweeps read that one value."""
    if stores.get(name, 0) != 1:
        return False
    at = next((i for i, s in enumerate(fdef.body[:fdef.body.index(forward)]) if isinstance(s, ast.Assign)
               and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) and s.targets[0].id == name), None)
    if at is None:
        return False
    rest = [ast.Expr(value=s.value) if isinstance(s, ast.Return) and s.value is not None else s
            for s in fdef.body[:at] + fdef.body[at + 1:]] + [ast.Expr(value=fdef.body[at].value)]
    return not _touches(rest, name)


def _written_in(loop, name, pop) -> bool:
    """Whether anything in `loop` but the statement `pop` stores `name` or writes into it."""
    for n in walk(loop):
        if n is pop.targets[0]:
            continue
        if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load):
            return True
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and n.value.id == name \
                and not isinstance(n.ctx, ast.Load):
            return True
    return False


def _stored_once_after_push(fdef, forward, fb, at, name, stores, outermost=None) -> bool:
    """`fb[at]` pushes `name` and `fb[at + 1]` assigns it; the loop stores it nowhere else, and beside that
    assignment and its pop the function stores it at most once, before the loop (its first value; before
    `outermost`, the statement of the function's body that holds the loop, for a nested one)."""
    assign = fb[at + 1] if at + 1 < len(fb) else None
    if not (isinstance(assign, ast.Assign) and len(assign.targets) == 1 and isinstance(assign.targets[0], ast.Name)
            and assign.targets[0].id == name):
        return False
    in_loop = [n for n in walk(forward) if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load)]
    if in_loop != [assign.targets[0]]:
        return False
    first = fdef.body.index(forward if outermost is None else outermost)
    outside = stores.get(name, 0) - 2  # (the assignment in the loop, the pop)
    return outside == 0 or outside == 1 and any(
        isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load)
        for s in fdef.body[:first] for n in walk(s))


def _copy(node):
    import copy
    return copy.deepcopy(node)
