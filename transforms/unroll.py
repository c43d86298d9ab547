"""Loops over the items of a container argument whose items differ in shape become one copy of the body per item.

    seq = s2s.as_sequence(t)             seq = s2s.as_sequence(t)
    len_out = len(seq)                   len_out = len(seq)
    for k in range(len_out):     ->      k = 0
        t2 = seq[k]                      t2 = seq[0]
        W = t2[0]                        W = t2[0]
        h = np.tanh(h @ W)               h = np.tanh(h @ W)
                                         k = 1
                                         t2 = seq[1]
                                         ...

A list of `(W, b)` layers of different sizes gives the loop's names a different shape on every trip,
so no shape holds at the loop's head and the whole loop keeps the general code. Code specialised to the
argument's structure (s2s/argshapes.py) knows how many trips there are, and what each trip's items
are: written out, each trip's statements have shapes (and the straight-line copies need no tape).

A loop is written out where shape inference over the lowered primal proves its `range(n)` has a known
number of trips `n` (1 to MAX_TRIPS, `len` of a container argument nothing can change,
`Shapes._held_containers`), its body reads an item of such a container by the loop's counter, and those
items' facts are not all one (else the loop is specialised as it is), or where it has one trip (a list of two
layers, the last read apart: `for W, b in params[:-1]`), which costs no copy. The body must not bind the
counter, nor hold `break`, `continue`, `return`, a nested function or lambda (lowered code has none of
the first three left), and the copies stay under MAX_STATEMENTS statements. Each copy starts with
`k = i` (the counter's value, for a read after the loop), and reads of the counter in it are the
literal `i`: the same program, one trip after the other.
"""

from __future__ import annotations

import ast
import copy

from .shapes import Keyed, Seq, Shapes, items_of
from .walk import binding_counts, fix_locations, replace_nodes, rewrite_statements, walk, walk_with_tests

MAX_TRIPS = 8
MAX_STATEMENTS = 400


def unroll_item_loops(fdef: ast.FunctionDef, shapes: Shapes) -> bool:
    """Write out the loops over a container argument's items of different shapes (see the module
    docstring); returns whether any was.

        for k in range(2): W = seq[k]; h = h @ W    ->    k = 0; W = seq[0]; h = h @ W; k = 1; W = seq[1]; h = h @ W
    """
    changed = False

    def written_out(s):
        nonlocal changed
        trips = _trips(s, shapes)
        if trips is None:
            return [s]
        changed = True
        return _trip_copies(s, trips)

    rewrite_statements(fdef, written_out)
    return changed


def _trip_copies(loop: ast.For, trips, renamed=lambda trip: {}) -> list:
    """The body of `for k in range(trips)` written out (or of `for k in trips`, a list of the counter's ints): per
    trip `k = i`, then the body with k's reads the literal i and its names renamed by `renamed(trip)` (old ->
    new, for the trip's position)."""
    out = []
    for trip, i in enumerate(range(trips) if isinstance(trips, int) else trips):
        start = ast.Assign(targets=[ast.Name(id=loop.target.id, ctx=ast.Store())], value=ast.Constant(i))
        out.append(fix_locations(ast.copy_location(start, loop)))
        names = renamed(trip)
        out.extend(_renamed(_with_counter(stmt, loop.target.id, i), names) for stmt in loop.body)
    return out


def peel_first_trips(fdef: ast.FunctionDef, infer, fresh, shapes: Shapes | None = None) -> tuple[bool, Shapes]:
    """A loop at whose head a name's shape is lost because its first trip starts from another shape than
    the later ones (`y = 0.0` before `y = y * x + c`) gets that first trip written out before it:

        for k in range(n):        ->     body, k the literal 0
            body                         for k in range(1, n):
                                             body

    `infer(fdef)` gives the `Shapes` of the lowered primal (`shapes`, where given, are those of `fdef` as it
    is). A loop over `range(n)` of a known `n` of at
    least 2 (so the first trip certainly runs, and the loop after it too) whose body the module
    docstring allows is peeled where that leaves fewer names lost (a loop of one trip is its body,
    after `k = 0`) (tried, and undone otherwise); one
    loop at a time, a few at most. A name the loop's body binds before it reads it (`t = y * x`) holds
    in the first trip a value no later statement reads, so there it gets a name of its own (`fresh(name)`):
    the tape then never restores the first trip's value and a later trip's into one name.
    Returns whether any was, and the shapes of `fdef` as it is then."""
    shapes = infer(fdef) if shapes is None else shapes
    changed, given_up = False, set()
    for _ in range(4):
        for loop in _loops_losing_shapes(fdef, shapes):
            values = _range_values(loop, shapes)
            if not values or not _copyable(loop) or id(loop) in given_up:
                continue
            tried = None
            for rewrite in (_peeled, _written_out):
                undo = rewrite(fdef, loop, values, fresh)
                if undo is None:
                    continue
                tried = infer(fdef)
                if len(tried.lost) < len(shapes.lost) or rewrite is _written_out \
                        and len(tried.lost) <= len(shapes.lost) and len(tried.blame) < len(shapes.blame):
                    break
                undo()  # (the tree is the one `shapes` were inferred over again: its own nodes put back)
                tried = None
            if tried is not None:
                shapes, changed = tried, True
                break
            given_up.add(id(loop))
        else:
            break
    return changed, shapes


def peel_last_trips(fdef: ast.FunctionDef, infer, fresh, active, shapes: Shapes) -> tuple[bool, Shapes]:
    """A loop of the function's body that carries an array from trip to trip (`x = A @ x`) which nothing after
    it reads gets its last trip written out after it:

        for t in range(n):        ->     for t in range(n - 1):
            body                             body
                                         body, t the literal n - 1

    The backward sweep's first trip is the forward's last, where the adjoint of such a name is still the
    number 0.0 (the loss never read its final value); on every later one it is an array. In one loop the
    adjoint has no one shape, and every adjoint it reaches keeps the general code. Written out, the last
    trip's adjoints fold from that 0.0, and the loop starts with an array.

    `active(fdef)` gives the names of the function as it is that need an adjoint. A loop over `range` of known trips
    (one: the loop is its body, the counter bound where a later statement reads it)
    whose body the module docstring allows, of at most MAX_STATEMENTS statements; names the body binds before
    it reads them get names of their own in the copy, but those a later statement reads. The
    counter is bound to its last value where a later statement reads it. `infer(fdef)` gives the `Shapes` of
    the function as it is (`shapes`, as given). Returns whether any loop was peeled, and the shapes then.
    """
    changed = False
    for _ in range(4):  # (a loop peeled is not again: the copy after it reads what it carries)
        loop = last_trip_to_peel(fdef, shapes, active)
        if loop is None:
            break
        _peel_last(fdef, loop, _range_values(loop, shapes), fresh, shapes)
        shapes, changed = infer(fdef), True
    return changed, shapes


def last_trip_to_peel(fdef: ast.FunctionDef, shapes: Shapes, active):
    """The first loop of the function's body `peel_last_trips` writes the last trip of, or None.

        x = x0; for t in range(5): x = A @ x; s = s + x[0]; return s    ->    that loop (x is not read after it)
    """
    needing = None  # (`active(fdef)`, asked once, where a loop carries such an array)
    for at, loop in enumerate(fdef.body):
        values = _range_values(loop, shapes)
        if not values or not _copyable(loop) or _size(loop) > MAX_STATEMENTS:
            continue
        later = _later_reads(fdef.body[at + 1:])
        carried = [name for name in _carried_arrays(loop, shapes) if name not in later]
        if carried:
            needing = active(fdef) if needing is None else needing
            if needing & set(carried):
                return loop
    return None


def _later_reads(stmts) -> set:
    return {n.id for stmt in stmts for n in walk_with_tests(stmt) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}


def _peel_last(fdef, loop, values, fresh, shapes):
    """`loop`'s last trip written out after the loop over the others (see peel_last_trips)."""
    at = next(k for k, stmt in enumerate(fdef.body) if stmt is loop)
    later = _later_reads(fdef.body[at + 1:])
    counter = loop.target.id
    step = values[1] - values[0] if len(values) > 1 else 1
    bounds = [values[0], values[-1], step] if step != 1 else [values[0], values[-1]] if values[0] else [values[-1]]
    rest = copy.copy(loop)
    rest.iter = ast.copy_location(ast.Call(func=loop.iter.func, args=[ast.Constant(b) for b in bounds], keywords=[]),
                                  loop.iter)
    renamed = {name: fresh(name) for name in _bound_before_read(loop.body) if name not in later}
    last = [_renamed(_with_counter(stmt, counter, values[-1]), renamed) for stmt in loop.body]
    if _read_before_bound(fdef.body[at + 1:], counter, shapes):
        last.insert(0, ast.Assign(targets=[ast.Name(id=counter, ctx=ast.Store())], value=ast.Constant(values[-1])))
    fdef.body[at:at + 1] = ([fix_locations(rest)] if len(values) > 1 else []) + last  # (one trip: its body alone)
    fix_locations(fdef)


def _read_before_bound(stmts, name, shapes) -> bool:
    """Whether a statement of `stmts` may read `name` before one of them certainly binds it again (a plain
    assignment, or a loop over a range of known trips, one at least: `for t in range(5)` after a loop over t)."""
    for stmt in stmts:
        if isinstance(stmt, ast.For) and isinstance(stmt.target, ast.Name) and stmt.target.id == name \
                and name not in _later_reads([stmt.iter]) and _range_values(stmt, shapes):
            return False
        if isinstance(stmt, ast.Assign) and name not in _later_reads([stmt.value]) \
                and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
            return False
        if name in _later_reads([stmt]):
            return True
    return False


def _carried_arrays(loop, shapes: Shapes) -> list:
    """The names `loop`'s body reads before it binds them and binds again, whose value at that first read is an
    array of at least one dimension."""
    carried, bound = {}, set()
    for stmt in loop.body:
        for node in walk_with_tests(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound \
                    and node.id not in carried:
                shape = shapes.of(node)
                if isinstance(shape, tuple) and len(shape) >= 1:
                    carried[node.id] = node
        bound |= set(binding_counts([stmt]))
    return [name for name in carried if name in bound]


def _loops_losing_shapes(fdef, shapes) -> list:
    """The loops at whose head a name's shape is lost, then the range loops holding a statement whose value's
    shape is unknown (`xb = X[start:start + 3]` over `range(0, 7, 3)`: one shape per trip, none for all)."""
    lost = [s for s in dict.fromkeys(shapes.lost.values()) if isinstance(s, ast.For)]
    blamed = {id(s) for s in shapes.blame.values()}
    holding = [s for s in walk(fdef) if isinstance(s, ast.For) and s not in lost
               and any(id(n) in blamed for n in walk(s) if n is not s)]
    return lost + holding


def _peeled(fdef, loop, values, fresh):
    """The first trip of `for k in range(n)` written out before the loop over the rest (see peel_first_trips);
    a function that undoes it, or None where the loop is not of that form."""
    if len(loop.iter.args) != 1 or len(values) == 1:  # (a loop of one trip is its body: `_written_out`)
        return None
    rest = copy.copy(loop)
    rest.iter = ast.copy_location(ast.Call(func=loop.iter.func, args=[ast.Constant(1), loop.iter.args[0]],
                                           keywords=[]), loop.iter)
    renamed = {name: fresh(name) for name in _bound_before_read(loop.body)}
    # (no `k = 0`: the loop after the copy runs, and binds k for any read after it)
    first = [_renamed(_with_counter(stmt, loop.target.id, 0), renamed) for stmt in loop.body]
    return _replace(fdef, loop, first + [fix_locations(rest)])


def _written_out(fdef, loop, values, fresh):
    """Every trip of a loop of a few known trips written out (`for start in range(0, 7, 3)` over batches of 3, 3
    and 1 rows: each trip's shapes its own), where that stays small; a function that undoes it, or None."""
    if not values or len(values) > MAX_TRIPS or _size(loop) * len(values) > MAX_STATEMENTS:
        return None
    # Each trip but the last gets names of its own for what it binds before reading (`t2 = 0 + 3`, `xb =
    # X[0:t2]`): a name bound once has one value to the shapes pass. The last trip keeps the names, for the
    # reads after the loop (each trip binds them, so after the loop they hold the last trip's values).
    bound = _bound_before_read(loop.body)
    last = len(values) - 1
    return _replace(fdef, loop, _trip_copies(loop, values, lambda trip: {} if trip == last else {
        name: fresh(name) for name in bound}))


def _size(loop) -> int:
    """How many statements the body of `loop` holds, nested ones counted."""
    return sum(1 for stmt in loop.body for node in walk(stmt) if isinstance(node, ast.stmt))


_COMPARISONS = {ast.Lt: int.__lt__, ast.LtE: int.__le__, ast.Gt: int.__gt__, ast.GtE: int.__ge__,
                ast.Eq: int.__eq__, ast.NotEq: int.__ne__}
_ARITHMETIC = {ast.Add: int.__add__, ast.Sub: int.__sub__, ast.Mult: int.__mul__}


def fold_known_conditions(fdef: ast.FunctionDef, shapes: Shapes) -> bool:
    """`if cond:` where `cond = i < t` compares ints of known value there becomes the branch taken alone (and
    `cond = True`): a written-out loop over layers that applies a ReLU to all but the last needs no branch, and
    so no tape. The values are followed in order through each block (`t = 0 + 0`, `i = t`, `t4 = len_out2 - 1`:
    the copies of a written-out loop bind the same names again, each to the value of its trip); a name bound
    inside a loop or branch that is not folded is unknown after it, and a loop's or branch's body starts with
    nothing known. Ints otherwise come from the shapes (`len(params)`, `x.shape[0]`), not for a read that may
    find its name unbound. Returns whether any was.

        t = 0; i = t; cond = i < 1; if cond: h = relu(h)     ->     ...; cond = True; h = relu(h)
    """
    changed = False

    def block(stmts, known):
        nonlocal changed
        out = []
        for stmt in stmts:
            if isinstance(stmt, ast.If) and isinstance(stmt.test, ast.Name) and type(known.get(stmt.test.id)) is bool:
                out.extend(block(stmt.body if known[stmt.test.id] else stmt.orelse, known))
                changed = True
                continue
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                value = _known_int(stmt.value, known, shapes)
                if type(value) is bool and isinstance(stmt.value, ast.Compare):
                    stmt.value = ast.copy_location(ast.Constant(value), stmt.value)
                _forget(known, stmt)
                if value is not None:
                    known[stmt.targets[0].id] = value
                out.append(stmt)
                continue
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    setattr(stmt, field, block(inner, {}))
            _forget(known, stmt)
            out.append(stmt)
        return out


    fdef.body = block(fdef.body, {})
    if changed:
        fix_locations(fdef)
    return changed


def _forget(known: dict, stmt) -> None:
    """The names `stmt` binds are unknown after it (until bound again to a known int)."""
    for name in binding_counts([stmt]):
        known.pop(name, None)


def _known_int(node, known, shapes):
    """The int (or, of a comparison, the bool) `node` certainly evaluates to, given the names of `known`, or None."""
    unbound = shapes.maybe_unbound
    if isinstance(node, ast.Constant):
        return node.value if type(node.value) in (int, bool) else None
    if isinstance(node, ast.Name):
        if node.id in known:
            return known[node.id]
        # (the shapes' value is that of every binding: a read that may find the name unbound raises instead)
        value = None if id(node) in unbound else shapes.value_of(node)
        return value if type(value) is int else None
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        left, right = _known_int(node.left, known, shapes), _known_int(node.right, known, shapes)
        return _ARITHMETIC[type(node.op)](left, right) if type(left) is int and type(right) is int else None
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARISONS for op in node.ops):
        values = [_known_int(v, known, shapes) for v in [node.left, *node.comparators]]
        if any(type(v) is not int for v in values):
            return None
        return all(_COMPARISONS[type(op)](a, b) for op, a, b in zip(node.ops, values, values[1:]))
    if isinstance(node, ast.Call) and not any(isinstance(n, ast.Name) and (n.id in known or id(n) in unbound)
                                              for n in walk(node)):
        value = shapes.value_of(node)  # (`len(params)` of a container of known length)
        return value if type(value) is int else None
    return None



def _bound_before_read(body) -> list:
    """The names a statement list certainly binds, by a plain assignment of its own, before anything in it
    reads them."""
    read, bound = set(), []
    for stmt in body:
        read |= {n.id for n in walk_with_tests(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        if isinstance(stmt, ast.Assign):
            bound += [t.id for t in stmt.targets if isinstance(t, ast.Name) and t.id not in read and t.id not in bound]
    return bound


def _renamed(stmt, names: dict):
    """`stmt` with the names in `names` (old -> new) renamed, stores and reads (a while loop's test too)."""
    for node in walk_with_tests(stmt):
        if isinstance(node, ast.Name) and node.id in names:
            node.id = names[node.id]
    return stmt


def _replace(fdef, old, new: list):
    """Put the statements `new` where the statement `old` is; returns a function that puts `old` back."""
    for node in walk(fdef):
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list) and any(s is old for s in stmts):
                at = next(i for i, s in enumerate(stmts) if s is old)
                stmts[at:at + 1] = new

                def undo(stmts=stmts, at=at):
                    stmts[at:at + len(new)] = [old]
                return undo
    raise ValueError("the statement is not in the function")


def _range_trips(loop, shapes: Shapes):
    """The known number of trips of `for k in range(e)` (one argument), else None."""
    values = _range_values(loop, shapes)
    return len(values) if values is not None and len(loop.iter.args) == 1 else None


def _range_values(loop, shapes: Shapes):
    """The counter's values, in order, of `for k in range(...)` of known int arguments (one to three), else None."""
    if not (isinstance(loop, ast.For) and isinstance(loop.target, ast.Name) and not loop.orelse
            and isinstance(loop.iter, ast.Call) and isinstance(loop.iter.func, ast.Name) and loop.iter.func.id == "range"
            and shapes.callee(loop.iter) is range and 1 <= len(loop.iter.args) <= 3 and not loop.iter.keywords
            and not any(isinstance(a, ast.Starred) for a in loop.iter.args)):
        return None
    bounds = [shapes.value_of(a) for a in loop.iter.args]
    if any(type(b) is not int for b in bounds) or len(bounds) == 3 and bounds[2] == 0:
        return None
    values = range(*bounds)
    return list(values) if len(values) <= 10_000 else None


def _copyable(loop) -> bool:
    """Whether the body of `loop` may be copied out of it: no `break`, `continue`, `return`, nested function or
    lambda, `global`/`nonlocal`, nor a binding of the counter."""
    for node in (n for stmt in loop.body for n in walk_with_tests(stmt)):
        if isinstance(node, ast.Break | ast.Continue | ast.Return | ast.Yield | ast.YieldFrom | ast.Lambda
                      | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Global | ast.Nonlocal):
            return False
        if isinstance(node, ast.Name) and node.id == loop.target.id and not isinstance(node.ctx, ast.Load):
            return False
    return True


def _trips(loop, shapes: Shapes):
    """The number of trips of `loop` where it is one to write out, else None."""
    n = _range_trips(loop, shapes)
    if n is None or not 1 <= n <= MAX_TRIPS or not _copyable(loop):
        return None
    counter = loop.target.id
    size = _size(loop)
    differing = any(isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Name) and node.slice.id == counter
                    and isinstance(base := shapes.of(node.value), Seq | Keyed) and len(set(map(repr, items_of(base)))) > 1
                    for stmt in loop.body for node in walk(stmt))
    # (one trip: written out, the loop's tape and its container's general code go, and nothing is copied)
    return n if (differing or n == 1) and size * n <= MAX_STATEMENTS else None


def _with_counter(stmt, counter: str, value: int):
    """A copy of `stmt` whose reads of `counter` are the literal `value` (a while loop's test too)."""
    new = copy.deepcopy(stmt)
    replace_nodes(new, lambda n: ast.Constant(value) if isinstance(n, ast.Name) and n.id == counter
                  and isinstance(n.ctx, ast.Load) else None)
    return new
