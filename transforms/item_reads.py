"""Reads of a container argument's items by literal keys move out of the loops they are in.

    for t in range(n):                          t2 = params["Wh"]
        t2 = params["Wh"]            ->         for t in range(n):
        h = np.tanh(t2 @ h + ...)                   h = np.tanh(t2 @ h + ...)

In an RNN whose weights come in a dict, each trip reads `params["Wh"]` again; the name it binds is
bound again on every trip, so the reverse sweep saves and restores it on the tape, though it is the
same array each time. Where the code is specialised to the argument's structure and nothing can
change a container inside it (`Shapes._held_containers`), `params["Wh"]` is the same object on every
trip, and the read cannot fail (the structure has that key): reading it once, before the loop, is the
same program. A statement `n = P[k1][k2]...` at the top of a `for` loop's body moves before the loop
where `P` is such an argument, every key is a literal the structure has, `n` is bound nowhere else,
and nothing outside the loop reads `n` (a loop of no trips binds it nowhere). Inner loops first, so
a read moves out of every loop around it.
"""

from __future__ import annotations

import ast

from .context import ctx
from .shapes import Fields, Keyed, Record, Seq, Shapes, field_fact
from .walk import fix_locations, replace_nodes, rewrite_statements, walk


def hoist_item_reads(fdef: ast.FunctionDef, shapes: Shapes) -> bool:
    """Move the item reads the module docstring describes out of their loops; returns whether any moved.

        for t in range(n): W = params["W"]; h = W @ h    ->    W = params["W"]; for t in range(n): h = W @ h
    """
    stores, loads = {}, {}
    for node in walk(fdef):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores).setdefault(node.id, []).append(node)
    changed = False
    parents = {id(c): p for p in walk(fdef) for c in ast.iter_child_nodes(p)}

    def hoisted(s):
        nonlocal changed
        if isinstance(s, ast.For) and not s.orelse:
            inside = {id(n) for stmt in s.body for n in walk(stmt)}
            moved = [stmt for stmt in s.body if _movable(stmt, shapes, stores, loads, inside, parents)]
            if moved and len(moved) < len(s.body):
                s.body = [stmt for stmt in s.body if not any(stmt is m for m in moved)]
                changed = True
                return moved + [s]
        return [s]

    rewrite_statements(fdef, hoisted)
    return changed


def _movable(stmt, shapes: Shapes, stores, loads, inside, parents) -> bool:
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
        return False
    name = stmt.targets[0].id
    if len(stores.get(name, ())) != 1 or any(id(n) not in inside for n in loads.get(name, ())):
        return False
    if _fixed_array_item(stmt.value, shapes, stores, loads, parents):
        return True
    node, keys, names = stmt.value, [], []
    field = getattr(ctx().runtime, "field", None)
    if isinstance(node, ast.Call) and node.args and not node.keywords and shapes.callee(node) is field \
            and len(node.args) > 1 and all(isinstance(a, ast.Constant) and type(a.value) is str for a in node.args[1:]):
        names = [a.value for a in node.args[1:]]  # (`s2s.field(model, "W")` of a record argument: its field)
        node = node.args[0]
    while isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        if not (isinstance(node.slice, ast.Constant) and type(node.slice.value) in (str, int)):
            return False
        keys.append(node.slice.value)
        node = node.value
    if not (keys or names) or not isinstance(node, ast.Name) or node.id not in shapes.item_kinds \
            or node.id not in shapes.params_held:
        return False
    fact = shapes.env.get(node.id)
    for key in reversed(keys):
        if isinstance(fact, Keyed):
            if not any(k == key and type(k) is type(key) for k, _ in fact.items):
                return False
            fact = fact.get(key)
        elif isinstance(fact, Seq) and not isinstance(fact, Fields) and type(key) is int \
                and -len(fact.items) <= key < len(fact.items):
            fact = fact.items[key]
        else:
            return False
    # (a field the key holds: the record's class reads it as the field, argshapes)
    return not names or isinstance(fact, Record) and field_fact(fact, names) is not None


def read_items_through_slices(fdef: ast.FunctionDef, shapes: Shapes) -> bool:
    """An item of a slice of a container argument is read as the argument's own item.

        t = Ws[:-1]                                 t = Ws[:-1]
        seq = s2s.as_sequence(t)        ->          seq = s2s.as_sequence(t)
        W = seq[1]                                  W = Ws[1]
        n = len(seq)                                n = 2

    `for W, b in zip(Ws[:-1], bs[:-1])`, written out for an argument of known structure, reads its layers
    through the slice; read so, each layer's adjoint is summed into a list for the slice, then spread back
    over the argument's items (`grad_iterated`, `getitem_grad`, `add`). The slice of a list or tuple holds
    the argument's own item objects, so `seq[1]` is `Ws[1]`, the same object: read as that, its adjoint is
    the item's own. Done where the argument's facts hold (`Shapes.params_held`: nothing changes it), its
    structure has a known length, the slice's bounds and step are int literals, the slice's name (and a
    name bound to `s2s.as_sequence` of it) is bound once, and the index is an int literal in range; `len`
    of such a name is its length. Returns whether anything changed."""
    stores: dict[str, int] = {}
    for node in walk(fdef):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1
    as_sequence = getattr(ctx().runtime, "as_sequence", None)
    items = {}  # name bound once to a slice of a held argument -> (the argument, its items' indices)
    for node in walk(fdef):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and stores.get(node.targets[0].id) == 1):
            continue
        value = node.value
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) \
                and value.value.id in shapes.params_held and isinstance(shapes.env.get(value.value.id), Seq) \
                and isinstance(value.slice, ast.Slice):
            bounds = [_int_literal(b) for b in (value.slice.lower, value.slice.upper, value.slice.step)]
            if all(b is not None or part is None for b, part in
                   zip(bounds, (value.slice.lower, value.slice.upper, value.slice.step))) and bounds[2] != 0:
                every = list(range(len(shapes.env[value.value.id].items)))
                items[node.targets[0].id] = (value.value.id, every[slice(*bounds)])
    for node in walk(fdef):  # `seq = s2s.as_sequence(t)`: the same list
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and stores.get(node.targets[0].id) == 1 and isinstance(node.value, ast.Call) \
                and as_sequence is not None and shapes.callee(node.value) is as_sequence \
                and len(node.value.args) == 1 and not node.value.keywords \
                and isinstance(node.value.args[0], ast.Name) and node.value.args[0].id in items:
            items[node.targets[0].id] = items[node.value.args[0].id]
    if not items:
        return False

    def through(node):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and isinstance(node.value, ast.Name) \
                and node.value.id in items:
            argument, indices = items[node.value.id]
            k = _int_literal(node.slice)
            if k is not None and -len(indices) <= k < len(indices):
                return ast.Subscript(value=ast.Name(id=argument, ctx=ast.Load()), slice=ast.Constant(indices[k]),
                                     ctx=ast.Load())
        if isinstance(node, ast.Call) and shapes.callee(node) is len and len(node.args) == 1 and not node.keywords \
                and isinstance(node.args[0], ast.Name) and node.args[0].id in items:
            return ast.Constant(len(items[node.args[0].id][1]))
        return None

    changed = replace_nodes(fdef, through)
    if changed:
        fix_locations(fdef)
    return changed


def _int_literal(node) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and type(node.operand.value) is int:
        return -node.operand.value
    return None


def _fixed_array_item(value, shapes: Shapes, stores, loads, parents) -> bool:
    """`p[2]` (`p[0, 1]`): an item at int literals within the shape of an array argument the function never binds
    and reads only by such items, as an operand of arithmetic or a comparison, or for its `.shape`, `.ndim`,
    `.size`: nothing can write into it (no view of it is made, no function is given it), so the item is the same
    number on every trip (the Lotka-Volterra step's `p[0]` .. `p[3]`, taped four times a stage)."""
    if not (isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name)):
        return False
    array = value.value.id
    shape = shapes.env.get(array)
    index = value.slice.elts if isinstance(value.slice, ast.Tuple) else [value.slice]
    if array in stores or array not in shapes.arguments or type(shape) is not tuple or len(index) != len(shape) \
            or not all(type(_int_literal(i)) is int and -n <= _int_literal(i) < n for i, n in zip(index, shape)):
        return False
    for read in loads.get(array, ()):
        parent = parents.get(id(read))
        if isinstance(parent, ast.Subscript) and parent.value is read:
            items = parent.slice.elts if isinstance(parent.slice, ast.Tuple) else [parent.slice]
            if len(items) != len(shape) or any(isinstance(i, ast.Slice) or not shapes._int_expr(i, shapes.ints)
                                               for i in items):
                return False  # (a slice is a view something may write through)
        elif isinstance(parent, ast.Attribute) and parent.attr in ("shape", "ndim", "size"):
            continue
        elif not isinstance(parent, ast.BinOp | ast.UnaryOp | ast.Compare):
            return False
    return True

