"""`s2s.finish(g, x)` is `g` where `g` is certainly a new float64 array of the argument's shape.

The runtime's `finish` turns an accumulated adjoint into a gradient shaped like its argument:
a number broadcast, a float32 argument's gradient cast to float32, a read-only broadcast view
copied. Given a float64 array argument `x` of known shape and an adjoint `g` every binding of
which is arithmetic making a new real array of that very shape (an operator on arrays, a sum or
other reduction over an axis, `np.zeros` of the shape or `np.full` of it and a float literal) and
which is otherwise only updated in place (`g += e`, `g[i] += e`), `finish` returns `g` itself (same
shape, same dtype, writeable), so the call is dropped:

    return s2s.finish(W1_bar, W1)    ->    return W1_bar
"""

from __future__ import annotations

import ast
import copy

import numpy as np

from .context import ctx
from .names import called_name, loaded_names, name_counts
from .shapes import Keyed, Seq, hashable
from .walk import fix_locations, walk, walk_nodes

__all__ = ["copy_argument_views", "drop_container_finish", "drop_finish", "drop_float_finish", "inline_float_zero_tests",
           "returns_container_displays"]

# methods and NumPy functions that may give a view of their array (its memory, not a new array)
_VIEWS = frozenset({"reshape", "ravel", "view", "transpose", "swapaxes", "squeeze", "flatten_view", "diagonal",
                    "expand_dims", "moveaxis", "atleast_1d", "atleast_2d", "atleast_3d", "asarray", "real", "imag"})


# the runtime's helpers that may give back an adjoint they are given, or place it (or pieces of it, views) in a
# container they make, by the positions of those adjoints: the adjoints of a container's items, of a list's
# pieces, and the helpers that return their adjoint as it is where it already has its shape (`unbroadcast`,
# `expand_reduced`, `add` of a zero); their other arguments are read for shapes, structure or values
_PLACING = {"add": (0, 1), "add_item_grad": (0, 1)} | dict.fromkeys(
    ("getitem_grad", "grad_iterated", "grad_stack", "grad_concatenate", "append_grads", "append_grads_owned", "part",
     "array_grad", "grad_as_sequence", "grad_add_seq", "grad_mult_seq", "grad_dict_pairs", "unbroadcast",
     "expand_reduced", "field_grad"), (0,))


def drop_finish(fdef: ast.FunctionDef, shapes, kinds: dict, made_up: set, float64_only: bool) -> bool:
    """Replace the `finish` calls of the final `return` that the module docstring's proof covers.

    `kinds` maps parameters to their dtype characters ("d": float64). Returns whether anything changed.
    """
    if not float64_only or not fdef.body or not isinstance(fdef.body[-1], ast.Return):
        return False
    own = _own_adjoints(fdef, shapes, made_up)

    def returns_itself(call):
        if not _finishes(call, shapes):
            return False
        g, x = call.args
        return isinstance(g, ast.Name) and isinstance(x, ast.Name) and x.id in own.params \
            and kinds.get(x.id) == "d" and own(g, shapes.of(x))

    return _drop_returned(fdef, returns_itself)


def drop_container_finish(fdef: ast.FunctionDef, shapes, kinds: dict, made_up: set) -> bool:
    """`s2s.finish([W_bar, W2_bar], Ws)` of the final `return`, a list or tuple argument's gradient given as a
    display of adjoints each of which the module docstring's proof covers for its item (a float64 array of
    the item's shape), becomes `s2s.as_container_of(Ws, [W_bar, W2_bar])`: the list, or a tuple where `Ws`
    is one, which is what `finish` returns there; a dict argument's, `{'W': W_bar, ...}` in the argument's key
    order. Made only in the code the NumPy path runs (numba's lowering reads `finish`). Returns whether anything
    changed."""
    if not fdef.body or not isinstance(fdef.body[-1], ast.Return):
        return False
    own = _own_adjoints(fdef, shapes, made_up)
    # names bound once, at the top level, to `s2s.grad_iterated(display, x)`: a list's or tuple's `display` itself
    _, stores = name_counts(fdef)
    iterated = {}
    for s in fdef.body:
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and stores.get(s.targets[0].id) == 1 and isinstance(s.value, ast.Call) and len(s.value.args) == 2 \
                and not s.value.keywords and isinstance(s.value.args[0], ast.List | ast.Tuple) \
                and isinstance(s.value.args[1], ast.Name) and hashable(shapes.callee(s.value)) \
                and shapes.helpers.get(shapes.callee(s.value)) == "grad_iterated":
            iterated[s.targets[0].id] = {s.value.args[1].id: s.value.args[0]}

    displays = _returned_displays(fdef, stores)

    def leaf(e, shape, kind, item, runtime):
        """The gradient of the container's item `item` given its adjoint `e`: e itself where the module docstring's
        proof covers it, `s2s.finish(e, item)` of a number (a Python float's gradient a float: `finish` of the item
        alone is what `finish` of the container does for it, and quick); else None."""
        if kind == "d" and own(e, shape):
            return e
        if shape == ():
            return ast.Call(func=ast.Attribute(value=copy.deepcopy(runtime), attr="finish", ctx=ast.Load()),
                            args=[e, item], keywords=[])
        return None

    def items_made(g, shape, kind, x, runtime):
        """`s2s.as_container_of(x, [...])` of the display g of x's items' gradients, an item that is a list or
        tuple itself (`params_bar_0 = [W_bar, b_bar]` of a `(W, b)` layer) made so in turn; else None."""
        if not (len(g.elts) == len(shape.items) == len(kind.items)):
            return None
        items = []
        for k, (e, s, d) in enumerate(zip(g.elts, shape.items, kind.items)):
            inner = displays.get(e.id) if isinstance(e, ast.Name) else None
            if isinstance(s, Seq) and isinstance(d, Seq) and inner is not None:
                item = ast.Subscript(value=copy.deepcopy(x), slice=ast.Constant(k), ctx=ast.Load())
                made = items_made(inner, s, d, item, runtime)
            else:
                made = leaf(e, s, d, ast.Subscript(value=copy.deepcopy(x), slice=ast.Constant(k), ctx=ast.Load()),
                            runtime)
            if made is None:
                return None
            items.append(made)
        helper = ast.Attribute(value=copy.deepcopy(runtime), attr="as_container_of", ctx=ast.Load())
        return ast.Call(func=helper, args=[x, ast.List(elts=items, ctx=ast.Load())], keywords=[])

    def as_made(node):
        if not _finishes(node, shapes):
            return None
        g, x = node.args
        if not (isinstance(x, ast.Name) and x.id in own.params):
            return None
        shape, kind = shapes.of(x), kinds.get(x.id)
        if isinstance(g, ast.Name) and isinstance(shape, Seq):
            # (`Ws_bar = s2s.grad_iterated([W_bar, W2_bar], Ws)`, or the display itself where specialisation dropped
            # grad_iterated of a list)
            g = iterated.get(g.id, {}).get(x.id) or displays.get(g.id, g)
        if isinstance(g, ast.List | ast.Tuple) and isinstance(shape, Seq) and isinstance(kind, Seq):
            return items_made(g, shape, kind, x, node.func.value)
        if isinstance(g, ast.Dict) and isinstance(shape, Keyed) and isinstance(kind, Keyed) \
                and all(isinstance(k, ast.Constant) for k in g.keys):
            given = {k.value: v for k, v in zip(g.keys, g.values)}
            facts, dtypes = dict(shape.items), dict(kind.items)
            if len(given) == len(g.keys) and set(given) == set(facts) == set(dtypes):
                made = {k: leaf(given[k], facts[k], dtypes[k], ast.Subscript(value=copy.deepcopy(x), slice=ast.Constant(k),
                                                                           ctx=ast.Load()), node.func.value)
                        for k in facts}
                if all(v is not None for v in made.values()):
                    return ast.Dict(keys=[ast.Constant(k) for k, _ in shape.items], values=[made[k] for k, _ in shape.items])
        return None

    if not _replace_returned(fdef, as_made):
        return False
    read = loaded_names(fdef)  # (a `Ws_bar = s2s.grad_iterated(...)` nothing reads now goes)
    fdef.body = [s for s in fdef.body if not (isinstance(s, ast.Assign) and len(s.targets) == 1
                                              and isinstance(s.targets[0], ast.Name)
                                              and s.targets[0].id in iterated.keys() | displays.keys()
                                              and s.targets[0].id not in read)]
    return True


def _returned_displays(fdef, stores) -> dict:
    """name -> its list or tuple display, for a name bound once, at the top level, to a display of names, read only
    by the final `return`, and whose items no statement after that binding binds again (the display's items are
    the values those names hold at the return)."""
    last = fdef.body[-1] if fdef.body else None
    loads = {}
    for n in walk(fdef):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            loads[n.id] = loads.get(n.id, 0) + 1
    in_return = {}
    for n in walk(last) if last is not None else ():
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            in_return[n.id] = in_return.get(n.id, 0) + 1
    out = {}
    for k, s in enumerate(fdef.body[:-1]):
        if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
                and isinstance(s.value, ast.List | ast.Tuple) and all(isinstance(e, ast.Name) for e in s.value.elts)):
            continue
        name = s.targets[0].id
        later = {n.id for t in fdef.body[k + 1:] for n in walk(t) if isinstance(n, ast.Name)
                 and not isinstance(n.ctx, ast.Load)}
        if stores.get(name) == 1 and loads.get(name) == in_return.get(name) == 1 \
                and not later & {e.id for e in s.value.elts}:
            out[name] = s.value
    return out


def returns_container_displays(fdef: ast.FunctionDef) -> bool:
    """Whether the final `return` may hold a `finish` call `drop_container_finish` rewrites: one of a list, tuple or
    dict display, or of a name (the cheap test before shapes are inferred)."""
    last = fdef.body[-1] if fdef.body else None
    return isinstance(last, ast.Return) and any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "finish" and len(n.args) == 2
        and isinstance(n.args[0], ast.List | ast.Tuple | ast.Dict | ast.Name) for n in walk(last))


def _own_adjoints(fdef, shapes, made_up):
    """`own(g, shape)`: whether `g` is a name made up for an adjoint, every binding of which makes a new real
    array of `shape` (or updates it in place), so that `finish` gives it back as it is for a float64 array of
    that shape; `own.params`, the function's parameters."""
    params = {a.arg for a in walk_nodes(fdef.args) if isinstance(a, ast.arg)}
    stores = {}
    for node in walk_nodes(fdef):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores.setdefault(node.id, []).append(node)
    bindings = {}
    for node in walk_nodes(fdef):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            bindings.setdefault(node.targets[0].id, []).append(node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            bindings.setdefault(node.target.id, []).append(None)  # in place on an array

    def new_array(value, shape):
        if isinstance(value, ast.BinOp | ast.UnaryOp):
            return shapes.of(value) == shape and shapes.real(value)
        if isinstance(value, ast.Call) and (ctx().fact(shapes.callee(value), "reduction")
                                            or shapes.method_reduction(value) is not None) \
                and all(k.arg in ("axis", "keepdims") for k in value.keywords):
            return shapes.of(value) == shape and shapes.real(value)  # (an array: the shape is not ())
        if isinstance(value, ast.Call) and shapes.callee(value) is np.full and len(value.args) == 2 \
                and not value.keywords and isinstance(value.args[1], ast.Constant) and type(value.args[1].value) is float:
            return shapes.of(value) == shape  # (a float64 array of a float literal: a sum of a broadcast seed)
        return isinstance(value, ast.Call) and shapes.callee(value) is np.zeros and len(value.args) == 1 \
            and not value.keywords and shapes.of(value) == shape

    def own(g, shape):
        if not isinstance(g, ast.Name):
            return False
        values = bindings.get(g.id, [])
        return isinstance(shape, tuple) and shape != () and g.id in made_up and g.id not in params \
            and values and len(values) == len(stores.get(g.id, ())) \
            and any(v is not None for v in values) and all(v is None or new_array(v, shape) for v in values)

    own.params = params
    return own


def drop_float_finish(fdef: ast.FunctionDef, shapes, floats: set, names=None) -> bool:
    """`s2s.finish(g, x)` of the final `return` is `g` where `x` certainly holds a Python float (a parameter of
    `floats`, the ones given Python floats, never rebound to anything else) and `g` certainly computes one
    (`Shapes.python_float_names`, `names` where the caller has them): `finish` gives such a `g` back as it is.
    Returns whether anything changed.

        return s2s.finish(a_bar, a)    ->    return a_bar
    """
    if not floats or not fdef.body or not isinstance(fdef.body[-1], ast.Return):
        return False
    names = shapes.python_float_names(floats) if names is None else names

    def returns_itself(call):
        if not _finishes(call, shapes):
            return False
        g, x = call.args
        return isinstance(x, ast.Name) and x.id in floats and x.id in names \
            and shapes.python_number_kind(g, names) == "float"

    return _drop_returned(fdef, returns_itself)


def inline_float_zero_tests(fdef: ast.FunctionDef, shapes, names: set) -> bool:
    """`s2s.is_zero(g)` (the zero adjoint's guard, transforms/reverse.py) is `g == 0.0` where `g` certainly holds
    a Python float (of `names`, `Shapes.python_float_names`): `is_zero` of a float is that test, and the comparison
    costs a fraction of the call in every trip of a scalar loop. Returns whether anything changed.

        0.0 if s2s.is_zero(term_bar) else term_bar / t4    ->    0.0 if term_bar == 0.0 else term_bar / t4
    """
    changed = False
    for node in walk(fdef):
        g = shapes.zero_tested(node) if isinstance(node, ast.IfExp) else None
        if isinstance(g, ast.Name) and g.id in names:
            node.test = ast.copy_location(ast.Compare(left=g, ops=[ast.Eq()], comparators=[ast.Constant(0.0)]),
                                          node.test)
            changed = True
    return changed


def _finishes(call, shapes) -> bool:
    """Whether `call` is the runtime's `s2s.finish(g, x)`."""
    if not (isinstance(call, ast.Call) and len(call.args) == 2 and not call.keywords):
        return False
    callee = shapes.callee(call)
    return callee is not None and hashable(callee) and shapes.helpers.get(callee) == "finish"


def _drop_returned(fdef, returns_itself) -> bool:
    """Replace each call of the final `return` for which `returns_itself` holds by its first argument."""
    return _replace_returned(fdef, lambda call: call.args[0] if returns_itself(call) else None)


def _replace_returned(fdef, replacement) -> bool:
    """Replace each call of the final `return` by `replacement(call)` where that is not None (calls inside it
    first); returns whether any was replaced."""
    class Replace(ast.NodeTransformer):
        changed = False

        def visit_Call(self, node):
            self.generic_visit(node)
            new = replacement(node)
            if new is None:
                return node
            self.changed = True
            return new

    replace = Replace()
    fdef.body[-1] = replace.visit(fdef.body[-1])
    if replace.changed:
        fix_locations(fdef)
    return replace.changed


def copy_argument_views(fdef: ast.FunctionDef, shapes, np_name: str) -> bool:
    """In the final `return`, `s2s.finish(g, x)` (and each item of a dict or list display given to it) gets
    `g.copy()` where `g` may be an argument's own array or a view of one: `np.sum(a * x)`'s gradient for
    x is `a` once the seed 1.0 is folded, and handing the caller its own array back as a gradient would
    let an update of the gradient (`g *= lr`) change the argument. A copy is made only for a value the
    shapes say is an array (`()` may be a Python number, which no one can change); returns whether
    anything changed.

        return s2s.finish(a, x)    ->    return s2s.finish(a.copy(), x)
    """
    if not fdef.body or not isinstance(fdef.body[-1], ast.Return) or fdef.body[-1].value is None:
        return False
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    bindings, plain = {}, set()  # name -> the values assigned to it; ids of those assignments' targets
    stored = []
    for node in walk(fdef):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            bindings.setdefault(node.targets[0].id, []).append(node.value)
            plain.add(id(node.targets[0]))
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            plain.add(id(node.target))  # (`g += e` keeps g's object: what it may view, it still views)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stored.append(node)
    other = {n.id for n in stored if id(n) not in plain}  # bound some other way (a loop's target, unpacking)

    def may_view(node, seen=frozenset()):
        if isinstance(node, ast.Name):
            if node.id in params or node.id in other:
                return True
            values = bindings.get(node.id)
            if node.id in seen or not values:
                return False
            return any(may_view(v, seen | {node.id}) for v in values)
        if isinstance(node, ast.Attribute):
            return node.attr in ("T", "mT", "real", "imag", "flat") and may_view(node.value, seen)
        if isinstance(node, ast.Subscript):  # (an item of a container that may hold one: `t_bar[0]` of
            # `t_bar = s2s.grad_iterated([w_bar], t)`, a loop of one trip written out)
            return may_view(node.value, seen) or may_hold(node.value, seen)
        if isinstance(node, ast.Call):
            if hashable(shapes.callee(node)) and shapes.helpers.get(shapes.callee(node)) == "as_sequence":
                return bool(node.args) and may_view(node.args[0], seen)  # (a list or tuple is given back as it is)
            if any(shapes.callee(node) is r for r in field_readers):  # (`p.c` of a record argument: its own array)
                return bool(node.args) and (may_view(node.args[0], seen) or may_hold(node.args[0], seen))
            f = node.func
            if called_name(node) in _VIEWS:
                operand = f.value if isinstance(f, ast.Attribute) and not (isinstance(f.value, ast.Name)
                                                                           and f.value.id == np_name) \
                    else (node.args[0] if node.args else None)
                return operand is not None and may_view(operand, seen)
        return False

    def may_hold(node, seen=frozenset()):
        """Whether `node` may be a container holding an argument's array or a view of one: through names,
        displays and the runtime's helpers that place their arguments in containers (`s2s.add`,
        `s2s.getitem_grad`, ...; a NumPy function makes a new array, or a view `may_view` follows)."""
        if may_view(node, seen):
            return True
        if isinstance(node, ast.Name):
            values = bindings.get(node.id, ())
            return node.id not in seen and any(may_hold(v, seen | {node.id}) for v in values)
        if isinstance(node, ast.Call):
            helper = shapes.callee(node)
            places = _PLACING.get(shapes.helpers.get(helper), ()) if hashable(helper) else ()
            return any(may_hold(node.args[k], seen) for k in places if k < len(node.args))
        if isinstance(node, ast.List | ast.Tuple):
            return any(may_hold(e, seen) for e in node.elts)
        if isinstance(node, ast.Dict):
            return any(may_hold(e, seen) for e in node.values)
        return False

    def copied(g):
        shape = shapes.of(g)
        if isinstance(shape, tuple) and shape != () and may_view(g):
            return fix_locations(ast.copy_location(
                ast.Call(func=ast.Attribute(value=g, attr="copy", ctx=ast.Load()), args=[], keywords=[]), g))
        return g

    def copy_items(display, seen, runtime) -> bool:
        """Each item of a dict, list or tuple display copied where it may be an argument's array, to any depth:
        through displays and names bound once to one (`ws_bar_0 = [y]` of a list of lists' gradient)."""
        done = False
        items = display.values if isinstance(display, ast.Dict) else display.elts
        for k, item in enumerate(items):
            inner = item
            if isinstance(item, ast.Name) and item.id not in seen and item.id not in params and item.id not in other \
                    and len(bindings.get(item.id, ())) == 1:
                inner = bindings[item.id][0]
            if isinstance(inner, ast.Dict | ast.List | ast.Tuple):
                done |= copy_items(inner, seen | ({item.id} if isinstance(item, ast.Name) else set()), runtime)
                continue
            shape = shapes.of(item)
            new = copied(item) if isinstance(shape, tuple) else item
            if new is item and shape != () and may_hold(item):  # (a leaf made when the code runs: `s2s.part(...)`)
                new = apart(item, runtime)
            done |= new is not item
            items[k] = new
        return done

    def apart(g, runtime):
        """`s2s.leaves_apart(g, (the arguments,))`, `runtime` the name the code reads the runtime by: a container
        made when the code runs (`s2s.add` of item adjoints, branches), whose leaves are copied there where they
        may share an argument's memory."""
        arguments = [a.arg for a in fdef.args.posonlyargs + fdef.args.args]
        return fix_locations(ast.copy_location(ast.Call(
            func=ast.Attribute(value=ast.Name(id=runtime, ctx=ast.Load()), attr="leaves_apart", ctx=ast.Load()),
            args=[g, ast.Tuple(elts=[ast.Name(id=a, ctx=ast.Load()) for a in arguments], ctx=ast.Load())],
            keywords=[]), g))

    runtime_module = ctx().runtime
    field_readers = [getattr(runtime_module, name) for name in ("field", "field_if_set", "plain_attribute", "receiver")
                     if hasattr(runtime_module, name)]
    changed = False
    for call in walk(fdef.body[-1]):
        if not (isinstance(call, ast.Call) and len(call.args) == 2 and hashable(shapes.callee(call))
                and shapes.helpers.get(shapes.callee(call)) == "finish"):
            continue
        if not (isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)):
            continue
        runtime = call.func.value.id  # (`s2s` of `s2s.finish`)
        g = call.args[0]
        if isinstance(g, ast.Dict | ast.List | ast.Tuple):
            changed |= copy_items(g, frozenset(), runtime)
        elif isinstance(shapes.of(call.args[1]), tuple):  # an array argument
            call.args[0] = copied(g)
            if call.args[0] is g and shapes.of(g) != () and may_hold(g):  # (through `s2s.part` of a list's adjoint)
                call.args[0] = apart(g, runtime)
            changed |= call.args[0] is not g
        elif may_hold(g):  # a container's gradient made by the runtime (`s2s.add`, `getitem_grad`): asked when it runs
            call.args[0] = apart(g, runtime)
            changed = True
    return changed
