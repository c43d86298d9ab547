"""The adjoint of a list undoes each `L.append(v)` by popping in place where that list is the adjoint's own.

    L_bar = s2s.array_grad(g, L)                      L_bar = s2s.array_grad(g, L)
    for ...:                                    ->    for ...:
        L_bar, v_bar = s2s.append_grads(L_bar)            L_bar, v_bar = s2s.append_grads_owned(L_bar)

`s2s.append_grads(L_bar)` gives a new list of all items but the last (the general helper cannot know
whether another name holds the list it is given), a copy per trip: quadratic in the list's length.
Where every list `L_bar` ever holds is its own, the last item can be popped from it instead. That holds
for a local name bound only to

- `0.0` (the zero adjoint),
- `s2s.array_grad(g, L)` of an `L` the shapes pass knows to be a list or tuple (the helper then makes a new
  list, or gives 0.0), `s2s.grad_stack(g, L, axis)` and `s2s.grad_concatenate(g, L, axis)` (a new list of the
  pieces, or 0.0), `s2s.getitem_grad(g, L, index)` of such an `L` (a new list as long as it: `rets[::-1]`'s
  adjoint), and
- `L_bar, v = s2s.append_grads(L_bar)` (its list: a new one),

and read nowhere but as the argument of those `append_grads` calls (no copy of it under another name, no
tape push, no closure reading it): then no other name can see the list change.

The adjoint of a read `q = seq[k]` of a list accumulates the same way, item by item in place:

    seq_bar = s2s.add(seq_bar, s2s.getitem_grad(q_bar, seq, k))   ->   seq_bar = s2s.add_item_grad(seq_bar, q_bar, seq, k)

`getitem_grad` makes a new list as long as `seq` per read and `add` another (a loop `for q in qs` over a list
of n items pays n x n); `add_item_grad` puts the item into the list it made at the first read. That holds where
the list is seen by no one else while reads go into it: for a local name bound only to `0.0` and to those
accumulations (of a `seq` the shapes know to be a list appended to in a loop, or a list or tuple read at a
position that is not a literal), read nowhere but as their first argument, in the `return`, or in one
statement that the block follows at once with `seq_bar = 0.0` (the list handed on, as in
`qs_bar = s2s.add(qs_bar, s2s.grad_iterated(seq_bar, qs))`, and never changed after: the name holds a new
zero). The code is run, not differentiated again (the helper changes its argument).
"""

from __future__ import annotations

import ast

from .shapes import ListOf, Seq, Shapes, hashable
from .walk import statement_lists, walk, walk_nodes


def sum_adjoints_as_items(fdef: ast.FunctionDef, shapes: Shapes) -> bool:
    """The adjoint of `sum(L)` over a list appended to in a loop, `L_bar = s2s.grad_builtin_sum(c, L)`, is a list of
    `unbroadcast(c, v)`, one per item v, each popped back by `L_bar, g = s2s.append_grads(L_bar)`. Where every item
    has c's own shape (numbers, or arrays of c's shape: the shapes pass's `ListOf` or `Seq`), each is c itself: the pops are
    `g = c`, and the list adjoint goes (helper 139: `sum(losses)` of an RNN's per-step losses). Done where c is a
    number literal or a name bound once, at the function's top level before the sum's adjoint, the sum's adjoint is
    a statement of the function's body, and `L_bar` is bound by those statements alone and read only by the pops.
    Returns whether anything changed.

        losses_bar = s2s.grad_builtin_sum(1.0, losses)              (gone)
        for ...: losses_bar, g = s2s.append_grads(losses_bar)  ->  for ...: g = 1.0
    """
    binds, reads = _bindings(fdef), {}
    for node in walk(fdef):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            reads.setdefault(node.id, []).append(node)
    counts = {}
    for node in walk(fdef):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            counts[node.id] = counts.get(node.id, 0) + 1
    changed = False
    for at, start in enumerate(list(fdef.body)):
        if not (isinstance(start, ast.Assign) and len(start.targets) == 1 and isinstance(start.targets[0], ast.Name)
                and _helper_call(start.value, shapes, "grad_builtin_sum") and len(start.value.args) == 2):
            continue
        name, (c, listed) = start.targets[0].id, start.value.args
        fact = shapes.of(listed)
        items = [fact.item] if isinstance(fact, ListOf) else list(fact.items) if isinstance(fact, Seq) else [None]
        if not (all(type(v) is tuple and v == shapes.of(c) for v in items) and shapes.real(c)
                and _fixed(c, fdef, at, counts)):
            continue
        stmts = binds.get(name, [])
        pops = [st for st in stmts if _pop_of(st, name, shapes)]
        if any(st is not start and st not in pops for st in stmts) or not pops \
                or any(all(r is not p.value.args[0] for p in pops) for r in reads.get(name, ())):
            continue
        for pop in pops:
            _replace(fdef, pop, ast.copy_location(
                ast.Assign(targets=[ast.Name(id=pop.targets[0].elts[1].id, ctx=ast.Store())], value=_copy(c)), pop))
        fdef.body.remove(start)
        changed = True
    return changed


def _fixed(c, fdef, at, counts) -> bool:
    """A number literal, a parameter never bound again, or a name bound once, by a statement of the function's body
    before `fdef.body[at]`."""
    if isinstance(c, ast.Constant):
        return type(c.value) in (int, float)
    if not isinstance(c, ast.Name):
        return False
    params = {a.arg for a in fdef.args.args + fdef.args.posonlyargs + fdef.args.kwonlyargs}
    if c.id in params:
        return counts.get(c.id, 0) == 0
    if counts.get(c.id) != 1:
        return False
    return any(isinstance(n, ast.Name) and n.id == c.id and isinstance(n.ctx, ast.Store)
               for st in fdef.body[:at] for n in walk(st))


def _copy(node):
    import copy
    return copy.deepcopy(node)


def _replace(fdef, old, new) -> None:
    for block in statement_lists(fdef):
        for k, st in enumerate(block):
            if st is old:
                block[k] = new
                return


def pop_owned_list_adjoints(fdef: ast.FunctionDef, shapes: Shapes) -> bool:
    """Rewrite `L, v = s2s.append_grads(L)` as `s2s.append_grads_owned(L)` where the module docstring's
    conditions hold for L; returns whether anything changed."""
    owned_helper = _owned_helper(shapes)
    if owned_helper is None:
        return False
    binds, reads = _bindings(fdef), {}
    for node in walk(fdef):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            reads.setdefault(node.id, []).append(node)
    params = {a.arg for a in fdef.args.args + fdef.args.posonlyargs + fdef.args.kwonlyargs}
    changed = False
    for name, stmts in binds.items():
        pops = [s for s in stmts if _pop_of(s, name, shapes)]
        # (`N = s2s.add_item_grad(N, ...)`: N's own list, an item put in in place, or a new one)
        items = [s for s in stmts if s is not None and len(s.targets) == 1 and _item_added(s.value, name, shapes)]
        if not pops or name in params or not all(s in pops or s in items or _fresh(s, name, shapes) for s in stmts):
            continue
        read_in_pops = {id(s.value.args[0]) for s in pops + items}
        if any(id(r) not in read_in_pops for r in reads.get(name, ())):
            continue
        for s in pops:
            s.value.func.attr = owned_helper
        changed = True
    return changed


def _owned_helper(shapes):
    """The attribute name of `append_grads_owned` where the runtime has it (every s2s runtime does)."""
    return "append_grads_owned" if "append_grads_owned" in shapes.helpers.values() \
        and "append_grads" in shapes.helpers.values() else None


def _helper_call(node, shapes, name):
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.keywords):
        return False
    callee = shapes.callee(node)
    return callee is not None and hashable(callee) and shapes.helpers.get(callee) == name


def _item_added(value, name, shapes) -> bool:
    """`s2s.add_item_grad(name, g, seq, k)` (g, seq and k not reading name)."""
    return _helper_call(value, shapes, "add_item_grad") and len(value.args) == 4 \
        and isinstance(value.args[0], ast.Name) and value.args[0].id == name \
        and not any(isinstance(n, ast.Name) and n.id == name for a in value.args[1:] for n in walk(a))


def _pop_of(stmt, name, shapes, owned_too=False) -> bool:
    """`name, v = s2s.append_grads(name)` (or `append_grads_owned`, with `owned_too`)."""
    if stmt is None or len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Tuple):
        return False
    elts = stmt.targets[0].elts
    value = stmt.value
    return len(elts) == 2 and all(isinstance(e, ast.Name) for e in elts) and elts[0].id == name \
        and elts[1].id != name and (_helper_call(value, shapes, "append_grads")
                                    or owned_too and _helper_call(value, shapes, "append_grads_owned")) \
        and len(value.args) == 1 and isinstance(value.args[0], ast.Name) and value.args[0].id == name


def _fresh(stmt, name, shapes) -> bool:
    """`name = 0.0` or `name = s2s.array_grad(g, L)` of a list or tuple L: a list no other name holds, or 0.0."""
    if stmt is None or len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
        return False
    value = stmt.value
    if isinstance(value, ast.Constant):
        return type(value.value) is float and value.value == 0.0
    if (_helper_call(value, shapes, "grad_stack") or _helper_call(value, shapes, "grad_concatenate")) \
            and len(value.args) == 3:
        return True  # (np.stack's and np.concatenate's adjoints: a new list of the pieces, or the zero adjoint)
    if _helper_call(value, shapes, "getitem_grad") and len(value.args) == 3 \
            and isinstance(shapes.fact_at(value.args[1]) if isinstance(value.args[1], ast.Name) else None,
                           Seq | ListOf):
        return True  # (`rets[::-1]`'s adjoint, of a list: a new list as long as it, g's items put in)
    return _helper_call(value, shapes, "array_grad") and len(value.args) == 2 \
        and isinstance(shapes.of(value.args[1]), Seq)


def accumulate_item_adjoints(fdef: ast.FunctionDef, shapes: Shapes) -> bool:
    """Rewrite `N = s2s.add(N, s2s.getitem_grad(g, seq, k))` as `N = s2s.add_item_grad(N, g, seq, k)` for each
    name N the module docstring's conditions hold for; returns whether anything changed."""
    if "add_item_grad" not in shapes.helpers.values() or any(
            isinstance(n, ast.Try | ast.Global | ast.Nonlocal | ast.Lambda) or isinstance(n, ast.FunctionDef) and n is not fdef
            for n in walk(fdef)):
        return False
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    changed = False
    for name, stmts in _bindings(fdef).items():
        steps = [a for a in stmts if a is not None and len(a.targets) == 1 and isinstance(a.targets[0], ast.Name)
                 and _item_step(a.value, name, shapes)]
        pops = [a for a in stmts if _pop_of(a, name, shapes, owned_too=True)]
        if not steps or name in params or not all(a in steps or a in pops or _fresh(a, name, shapes) for a in stmts) \
                or not _list_seen_alone(fdef, name, steps, pops):
            continue
        for a in steps:
            read = a.value.args[1]
            a.value = ast.copy_location(ast.Call(
                func=ast.copy_location(ast.Attribute(value=a.value.func.value, attr="add_item_grad", ctx=ast.Load()),
                                       a.value.func),
                args=[a.value.args[0], *read.args], keywords=[]), a.value)
        changed = True
    return changed


def _bindings(fdef) -> dict:
    """name -> the assignments binding it (a tuple target's too), None for any other binding (a loop target,
    `del`, an augmented assignment)."""
    binds, assigned = {}, set()
    for node in walk_nodes(fdef):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for n in walk_nodes(target):
                    if isinstance(n, ast.Name):
                        binds.setdefault(n.id, []).append(node)
                        assigned.add(id(n))
    for node in walk_nodes(fdef):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load) and id(node) not in assigned:
            binds.setdefault(node.id, []).append(None)
    return binds


def _zero(value) -> bool:
    return isinstance(value, ast.Constant) and type(value.value) is float and value.value == 0.0


def _item_step(value, name, shapes) -> bool:
    """`s2s.add(name, s2s.getitem_grad(g, seq, k))` of a list or tuple `seq` (a name the shapes know as one) whose
    g and k do not read `name`."""
    if not (_helper_call(value, shapes, "add") and len(value.args) == 2 and isinstance(value.args[0], ast.Name)
            and value.args[0].id == name):
        return False
    read = value.args[1]
    if not (_helper_call(read, shapes, "getitem_grad") and len(read.args) == 3 and isinstance(read.args[1], ast.Name)
            and read.args[1].id != name):
        return False
    if any(isinstance(n, ast.Name) and n.id == name for e in (read.args[0], read.args[2]) for n in walk(e)):
        return False
    # (a tuple's or list's item by a literal position keeps getitem_grad: the shapes know that list item by item)
    seq, index = read.args[1], read.args[2]
    literal = isinstance(index, ast.Constant) or isinstance(index, ast.UnaryOp) and isinstance(index.operand, ast.Constant)
    return isinstance(shapes.of(seq), Seq) and not literal or type(shapes.fact_at(seq)) is ListOf


def _list_seen_alone(fdef, name, steps, pops=()) -> bool:
    """Whether every read of `name` is the first argument of one of `steps`, the argument of one of `pops` (which
    bind it to the list less its last item), in a `return`, in a simple statement the block follows at once
    with `name = 0.0` (the list it held handed on, the name made zero), or in a simple statement of the function's
    body after which nothing mentions the name (the list handed on at its last read)."""
    allowed = {id(a.value.args[0]) for a in [*steps, *pops]}
    for block in statement_lists(fdef):
        for i, s in enumerate(block):
            if isinstance(s, ast.Return) or isinstance(s, ast.Assign | ast.Expr | ast.AugAssign) and i + 1 < len(block) \
                    and _resets(block[i + 1], name):
                allowed.update(id(n) for n in walk(s))
    for i, s in enumerate(fdef.body):  # (the list handed on where nothing reads the name again: the last read)
        if isinstance(s, ast.Assign | ast.Expr) and not any(
                isinstance(n, ast.Name) and n.id == name for later in fdef.body[i + 1:] for n in walk(later)):
            allowed.update(id(n) for n in walk(s))
    return all(id(n) in allowed for n in walk(fdef) if isinstance(n, ast.Name) and n.id == name
               and isinstance(n.ctx, ast.Load))


def _resets(stmt, name) -> bool:
    return isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
        and stmt.targets[0].id == name and _zero(stmt.value)
