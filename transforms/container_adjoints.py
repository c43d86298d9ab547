"""The adjoint of a container argument's items kept as one adjoint per item, not as a dict or list.

    params_bar = 0.0                                          params_bar_W = 0.0
    ...                                                       params_bar_b = 0.0
    params_bar = s2s.add(params_bar,                  ->      ...
                         s2s.getitem_grad(g, params, "W"))    params_bar_W = s2s.add(params_bar_W, g)
    return s2s.finish(params_bar, params)                     return s2s.finish({"W": params_bar_W,
                                                                                 "b": params_bar_b}, params)

The general code places each item's adjoint into a dict (or list) of the container's shape and adds
those structures: a new dict per read of `params["W"]`, and per trip of a loop that reads it. Where
the container's items are known (a dict, tuple or list argument whose structure the code is
specialised to and nothing changes, `Shapes._held_containers`), and an adjoint `A` is only ever

- `A = 0.0`,
- `A = s2s.getitem_grad(g, P, key)`, the adjoint of one item, or
- `A = s2s.add(A, s2s.getitem_grad(g, P, key))`, one item's added,

with one container `P` of one known structure and literal keys, `A` is one name per item instead:
`A_key = g` (the others `0.0`), `A_key = s2s.add(A_key, g)`. Each holds what `A[key]` held: the
general helpers add item by item, starting from the zero adjoint 0.0 (`s2s.add(0.0, g)` is `g`).
Every other read of `A` (`s2s.finish(A, P)`, the adjoint of an enclosing container) reads the dict
or list display of the items in the container's order, untouched items 0.0: the same structure as
far as `s2s.add` and `s2s.finish` can tell. Then each item's adjoint is an array of a known shape,
which the specialised code adds with `+` (and in place).
"""

from __future__ import annotations

import ast
import re

from .analysis import is_pop
from .shapes import Fields, Keyed, Record, Seq, Shapes, hashable
from .walk import fix_locations, rewrite_statements, walk


def split_container_adjoints(fdef: ast.FunctionDef, shapes: Shapes, displays_only: bool = False) -> set:
    """Rewrite the container adjoints the module docstring describes; returns the item adjoints' names. With
    `displays_only`, only those of local tuples and lists made by displays (`r = h, c` of a helper inlined),
    not of a library call's result (slogdet's `(sign, logdet)`), whose adjoint a rule reads whole.

        p_bar = s2s.getitem_grad(g, p, "W"); return s2s.finish(p_bar, p)
        ->  p_bar_W = g; p_bar_b = 0.0; return s2s.finish({"W": p_bar_W, "b": p_bar_b}, p)
    """
    helper = {}  # id(call) -> the runtime helper's name it calls

    def helper_of(node):
        if not isinstance(node, ast.Call):
            return None
        callee = shapes.callee(node)
        return shapes.helpers.get(callee) if callee is not None and hashable(callee) else None

    bindings = {}
    stores = {}  # name -> how many Name nodes store or delete it
    for node in walk(fdef):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            bindings.setdefault(node.targets[0].id, []).append(node)
        if isinstance(node, ast.Call):
            helper[id(node)] = helper_of(node)
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1
    plans = {}
    for name, assigns in bindings.items():
        plan = _plan(name, assigns, shapes, helper, stores.get(name, 0))
        if plan is not None:
            plans[name] = plan
    _resolve_copies(plans)
    if displays_only:
        made_by_displays = _made_by_displays(bindings, fdef)
        plans = {name: plan for name, plan in plans.items() if plan.container in made_by_displays}
        _resolve_copies(plans)
    if not plans:
        return set()
    taken = {n.id for n in walk(fdef) if isinstance(n, ast.Name)} | {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    for name, plan in plans.items():
        plan.names = {}
        for key in plan.keys:
            # (ASCII only: a key's other letters may be no identifier's (`x²`), or one the parser reads as
            # another (`ﬁ` is `fi` after NFKC normalisation), and the code runs from its text)
            base = f"{name}_{re.sub(r'[^0-9A-Za-z_]', '_', str(key))}"
            fresh, n = base, 1
            while fresh in taken:
                n += 1
                fresh = f"{base}{n}"
            taken.add(fresh)
            plan.names[key] = fresh
    _rewrite(fdef, plans)
    return {n for plan in plans.values() for n in plan.names.values()}


class _Plan:
    __slots__ = ("container", "structure", "copies", "add", "names")

    def __init__(self, container, structure, copies, add):
        self.container, self.structure, self.copies, self.add = container, structure, copies, add

    @property
    def keys(self):
        s = self.structure
        if isinstance(s, Record):
            return list(s.fields)
        return [k for k, _ in s.items] if isinstance(s, Keyed) else list(range(len(s.items)))

    @property
    def display(self):
        # (a dataclass's adjoint as a dict by field names, a namedtuple's as a list in its fields' order, as its
        # items' adjoint is where it is unpacked: what `s2s.finish` and `s2s.add` read of one)
        return "dict" if isinstance(self.structure, Keyed | Fields) else "list"


def _plan(name, assigns, shapes, helper, stores):
    """The plan for adjoint `name` (its container and structure, the other adjoints it adds or takes whole), or
    None where it is not one. Where it only takes others' (`mid_bar = s2s.add(mid_bar, state3_bar)` of the copy
    `state3 = mid`), its container and structure are theirs (`_resolve_copies`). `stores`: how many Name nodes of
    the function store the name."""
    container = structure = add = None
    copies = []
    for a in assigns:
        value = a.value
        if isinstance(value, ast.Constant) and type(value.value) is float and value.value == 0.0:
            continue
        if helper.get(id(value)) == "add" and len(value.args) == 2 and not value.keywords \
                and isinstance(value.args[0], ast.Name) and value.args[0].id == name:
            add = value.func
            value = value.args[1]
        if isinstance(value, ast.Name) and value.id != name:
            copies.append(value.id)  # another adjoint, of a copy of the container (`state2 = state`)
            continue
        if not (helper.get(id(value)) in ("getitem_grad", "field_grad") and len(value.args) == 3
                and not value.keywords and isinstance(value.args[1], ast.Name) and _item_key(value) is not _NO_KEY):
            return None
        fact = shapes.of(value.args[1])
        if not isinstance(fact, Keyed | Seq) or (container is not None and (value.args[1].id != container
                                                                            or fact != structure)):
            return None
        if (helper.get(id(value)) == "field_grad") != isinstance(fact, Record):
            return None  # (a record's adjoint by its fields' names, a container's by its keys)
        container, structure = value.args[1].id, fact
        if _key(structure, _item_key(value)) is None:
            return None
        if add is None and isinstance(value.func, ast.Attribute):  # (`s2s.getitem_grad`: the same module's add)
            add = ast.Attribute(value=value.func.value, attr="add", ctx=ast.Load())
    if container is None and not copies:
        return None
    # every store of the name is one of these assignments, and no read of it is a tape's push
    if stores != len(assigns):
        return None
    return _Plan(container, structure, copies, add)


def _resolve_copies(plans):
    """Drop from `plans` each plan taking another adjoint that has no plan or another structure; one that only
    takes others gets their container and structure. Until nothing changes: a dropped plan may be taken."""
    changed = True
    while changed:
        changed = False
        for name, plan in list(plans.items()):
            sources = [plans.get(other) for other in plan.copies]
            if any(s is None for s in sources) or any(s.structure is not None and plan.structure is not None
                                                      and s.structure != plan.structure for s in sources):
                del plans[name]
                changed = True
                continue
            known = next((s for s in sources if s.structure is not None), None)
            if plan.structure is None and known is not None:
                plan.container, plan.structure = known.container, known.structure
                changed = True
    for name in [n for n, plan in plans.items() if plan.structure is None]:  # (copies of each other alone)
        del plans[name]
    if any(other not in plans for plan in plans.values() for other in plan.copies):
        _resolve_copies(plans)


def _made_by_displays(bindings, fdef) -> set:
    """The names only ever bound to tuple or list displays, a tape's restore, the placeholder None, or another
    such name (`state2 = state`), each by an assignment to it alone."""
    stores = {}  # name -> its stores but those of the placeholder `t = t2 = None` (never read)
    for n in walk(fdef):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            stores[n.id] = stores.get(n.id, 0) + 1
        elif isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant) and n.value.value is None:
            for t in n.targets:
                if isinstance(t, ast.Name):
                    stores[t.id] = stores.get(t.id, 0) - 1
    names = {name for name, assigns in bindings.items()
             if stores.get(name) == sum(not (isinstance(a.value, ast.Constant) and a.value.value is None) for a in assigns)}
    while True:
        kept = {name for name in names if all(
            isinstance(a.value, ast.Tuple | ast.List) or is_pop(a.value)  # (a restore)
            or isinstance(a.value, ast.Constant) and a.value.value is None  # (the placeholder)
            or isinstance(a.value, ast.Name) and a.value.id in names for a in bindings[name])}
        if kept == names:
            return names
        names = kept


_NO_KEY = object()


def _literal(node):
    """The value of a literal key: a constant, or a negative int (`ps[-1]` is `-` applied to 1); else _NO_KEY."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and type(node.operand.value) is int:
        return -node.operand.value
    return _NO_KEY


def _item_key(call):
    """The literal key of `s2s.getitem_grad(g, p, key)`, or the one field name of `s2s.field_grad(g, p, [name])`;
    else _NO_KEY."""
    index = call.args[2]
    if isinstance(index, ast.List):
        return index.elts[0].value if len(index.elts) == 1 and isinstance(index.elts[0], ast.Constant) \
            and type(index.elts[0].value) is str else _NO_KEY
    return _literal(index)


def _key(structure, key):
    """`key` as the structure names it (a position counted from the start), or None where it has no such item."""
    if isinstance(structure, Record):
        return key if type(key) is str and structure.fields is not None and key in structure.fields else None
    if isinstance(structure, Keyed):
        return key if type(key) in (str, int) and any(k == key and type(k) is type(key) for k, _ in structure.items) \
            else None
    if type(key) is int and -len(structure.items) <= key < len(structure.items):
        return key % len(structure.items)
    return None


def _rewrite(fdef, plans):
    def display(plan):
        items = [ast.Name(id=plan.names[k], ctx=ast.Load()) for k in plan.keys]
        if plan.display == "dict":
            return ast.Dict(keys=[ast.Constant(k) for k in plan.keys], values=items)
        return ast.List(elts=items, ctx=ast.Load())

    def zero(target):
        return ast.Assign(targets=[ast.Name(id=target, ctx=ast.Store())], value=ast.Constant(0.0))

    def binding(stmt, plan, name):
        value = stmt.value
        if isinstance(value, ast.Constant):
            return [zero(plan.names[k]) for k in plan.keys]
        accumulates = isinstance(value, ast.Call) and len(value.args) == 2 and isinstance(value.args[0], ast.Name) \
            and value.args[0].id == name
        item = value.args[1] if accumulates else value
        if isinstance(item, ast.Name) and item.id in plans:  # another adjoint of this structure: item by item
            other = plans[item.id]
            return [ast.Assign(targets=[ast.Name(id=plan.names[k], ctx=ast.Store())],
                               value=ast.Call(func=plan.add, args=[ast.Name(id=plan.names[k], ctx=ast.Load()),
                                                                   ast.Name(id=other.names[k], ctx=ast.Load())],
                                              keywords=[]) if accumulates else ast.Name(id=other.names[k], ctx=ast.Load()))
                    for k in plan.keys]
        key = _key_of(item, plan)
        g = Reads(plans).visit(item.args[0])
        target = plan.names[key]
        if accumulates:
            new = ast.Call(func=plan.add, args=[ast.Name(id=target, ctx=ast.Load()), g], keywords=[])
            return [ast.Assign(targets=[ast.Name(id=target, ctx=ast.Store())], value=new)]
        out = [ast.Assign(targets=[ast.Name(id=target, ctx=ast.Store())], value=g)]
        return out + [zero(plan.names[k]) for k in plan.keys if k != key]

    def _key_of(item, plan):
        key = _item_key(item)
        if plan.display == "list" and type(key) is int:
            return key % len(plan.keys)
        return key

    class Reads(ast.NodeTransformer):
        def __init__(self, plans):
            self.plans = plans

        def visit_Name(self, node):
            if isinstance(node.ctx, ast.Load) and node.id in self.plans:
                return ast.copy_location(display(self.plans[node.id]), node)
            return node

    def rewritten(s):
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and s.targets[0].id in plans:
            name = s.targets[0].id
            return [fix_locations(ast.copy_location(n, s)) for n in binding(s, plans[name], name)]
        for field, value in ast.iter_fields(s):
            if isinstance(value, ast.expr):
                setattr(s, field, Reads(plans).visit(value))
            elif isinstance(value, list) and value and isinstance(value[0], ast.expr):
                setattr(s, field, [Reads(plans).visit(v) for v in value])
        return [s]

    rewrite_statements(fdef, rewritten)
