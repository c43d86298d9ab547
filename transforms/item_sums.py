"""Sums into items of an adjoint array, kept in Python floats through a loop.

A loop that reads a parameter vector by fixed indices (`-p[0] * y + p[1] * math.exp(-p[2] * t)` of an
ODE's right-hand side) has a backward sweep adding into the same items at every trip, and one that reads
`x[i + 1] - x[i] ** 2` adds into `x_bar[i]` at every trip's own index:

    p_bar = np.zeros((3,))                        p_bar = np.zeros((3,))
    for ... in reversed(saved):                   p_bar_0, p_bar_2 = s2s.float_items(p_bar[[0, 2]])
        p_bar[2] -= t20_bar * (t + dt)       ->   for ... in reversed(saved):
        p_bar[0] -= k1_bar * y                        p_bar_2 -= t20_bar * (t + dt)
                                                      p_bar_0 -= k1_bar * y
                                                  p_bar[[0, 2]] = p_bar_0, p_bar_2

    x_bar = np.zeros((24,))                       x_bar = np.zeros((24,))
    for k in reversed(range(23)):                 x_bar_items = s2s.float_items(x_bar)
        x_bar[i2] += t4_bar                  ->   for k in reversed(range(23)):
                                                      x_bar_items[i2] += t4_bar
                                                  x_bar[...] = x_bar_items

An update of one item of an array costs a read, an add on NumPy scalars and a write, some 150 ns; an add
into a Python float some 20, one into a list's item 40. The sums are the same: each item starts from its value
before the loop and takes the same terms in the same order, in IEEE doubles both ways, and is written back once
the loop ends. Done only where that is certain:

- the array is bound once, by `np.zeros(shape)` of a literal shape (float64) before the loop, in the
  function's own body, and named nowhere between that and the loop's end but as the target of an item's
  update (no view or other name of it can read the items while the Python floats hold them);
- every one of its names in the loop is `a[i] += e` or `a[i] -= e` with `e` a real number that does not read
  `a` and an index of one int per axis: int literals within the shape (each item's sum then in a name of its
  own), or int expressions (the items then in a list, `a.tolist()`, where the loop runs its updates a quarter
  as many times as the array has items at least, counted by the literal ranges of the loops; a list's index
  takes ints as NumPy's does, and one out of range raises IndexError either way, in the list's words); the
  loop holds no `return`, `yield` or `await`, and runs eight updates at least where its trips are counted;
- every value the function computes is float64 or an int (`float_items.one_float64_precision`), so a Python
  float's sum with it is float64's: under NEP 50 a Python float would take a float32 term's dtype.

`s2s.float_items` gives NumPy's scalars instead where NumPy's error settings ask more than a warning (the sums
then warn or raise as NumPy's); under the default settings a sum that overflows is inf without NumPy's warning.
"""

from __future__ import annotations

import ast
import math

from . import annotations
from .float_items import MAX_ITEMS, literal_range, one_float64_precision, range_trips
from .names import NameAllocator, names_in
from .specialize import _number
from .walk import fix_locations, walk, walk_nodes

__all__ = ["sum_items_in_names", "updates_fixed_items"]

MIN_UPDATES = 8  # (fewer updates, where the loops' trips are counted, cost less than the reads and write back)
_INSIDE_A_FRAME = (ast.Return, ast.Yield, ast.YieldFrom, ast.Await, ast.Global, ast.Nonlocal)


def sum_items_in_names(fdef: ast.FunctionDef, shapes, params: dict, kinds: dict, np_name: str) -> bool:
    """Keep the sums a top-level loop adds into fixed items of a float64 adjoint array in local names (see the
    module's docstring). `shapes`: `Shapes` of `fdef`; `params`, `kinds`: specialize.Context's. Returns whether
    anything changed.

        >>> # p_bar = np.zeros((3,)); for ...: p_bar[2] -= e  ->  p_bar_2, = s2s.float_items(p_bar[[2]]);
        >>> # for ...: p_bar_2 -= e; p_bar[[2]] = p_bar_2,
    """
    loops = [k for k, s in enumerate(fdef.body) if isinstance(s, ast.For | ast.While)]
    if not loops or not updates_fixed_items(fdef, np_name):
        return False
    if not one_float64_precision(fdef, params, kinds, np_name, shapes):
        return False
    names = NameAllocator({n.id for n in walk_nodes(fdef) if isinstance(n, ast.Name)}
                          | {a.arg for a in walk_nodes(fdef.args) if isinstance(a, ast.arg)})
    changed = False
    for loop in [fdef.body[k] for k in loops]:
        for array in sorted(_candidates(loop)):
            found = _sums(fdef, loop, array, shapes, np_name)
            if found is not None:
                (_in_names if found[0] == "names" else _in_a_list)(fdef, loop, array, found[1], names)
                changed = True
    if changed:
        fix_locations(fdef)
    return changed


def updates_fixed_items(fdef: ast.FunctionDef, np_name: str) -> bool:
    """The cheap test before inferring shapes: a loop of the function's body adds into an item (`a[2] += e`,
    `a[i, j] -= e`).

        >>> updates_fixed_items(ast.parse("def f(g):\\n for i in g:\\n  a[2] += i").body[0], "np")
        True
    """
    return any(isinstance(n, ast.AugAssign) and isinstance(n.op, ast.Add | ast.Sub) and isinstance(n.target, ast.Subscript)
               and isinstance(n.target.value, ast.Name) and not isinstance(n.target.slice, ast.Slice)
               for s in fdef.body if isinstance(s, ast.For | ast.While) for n in walk_nodes(s))


def _candidates(loop) -> set:
    return {n.target.value.id for n in walk_nodes(loop) if isinstance(n, ast.AugAssign)
            and isinstance(n.target, ast.Subscript) and isinstance(n.target.value, ast.Name)}


def _literal_index(index):
    """The ints of an index of int literals (`2`, `-1`, `(0, 3)`), else None."""
    items = [_number(i) for i in (index.elts if isinstance(index, ast.Tuple) else [index])]
    return tuple(items) if all(type(i) is int for i in items) else None


def _zeros_shape(value, np_name):
    """The shape of `np.zeros(n)` or `np.zeros((n, m))` of int literals (a float64 array), else None."""
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "zeros"
            and isinstance(value.func.value, ast.Name) and value.func.value.id == np_name
            and len(value.args) == 1 and not value.keywords):
        return None
    shape = value.args[0]
    items = shape.elts if isinstance(shape, ast.Tuple) else [shape]
    if not items or not all(isinstance(i, ast.Constant) and type(i.value) is int and i.value >= 0 for i in items):
        return None
    return tuple(i.value for i in items)


def _sums(fdef, loop, array, shapes, np_name):
    """("names", {normalised index: its updates}) where every update of `array` in `loop` is at literal indices,
    ("list", the updates) where some are at int expressions and the loop runs enough of them; None where the
    module's conditions do not hold."""
    at = next(k for k, s in enumerate(fdef.body) if s is loop)
    bindings = [n for n in walk(fdef) if isinstance(n, ast.Name) and n.id == array and not isinstance(n.ctx, ast.Load)]
    if len(bindings) != 1 or array in {a.arg for a in walk_nodes(fdef.args) if isinstance(a, ast.arg)}:
        return None
    made = next((k for k, s in enumerate(fdef.body[:at]) if isinstance(s, ast.Assign) and len(s.targets) == 1
                 and s.targets[0] is bindings[0]), None)
    shape = _zeros_shape(fdef.body[made].value, np_name) if made is not None else None
    if shape is None or any(isinstance(n, _INSIDE_A_FRAME) for n in walk(loop)):
        return None
    updates = {id(n.target.value): n for s in fdef.body[made + 1:at + 1] for n in walk(s)
               if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Subscript)
               and isinstance(n.target.value, ast.Name) and n.target.value.id == array
               and array not in names_in(n.target.slice) and array not in names_in(n.value)}
    for s in fdef.body[made + 1:at + 1]:  # before the loop and in it: only updates of items
        if any(isinstance(n, ast.Name) and n.id == array and id(n) not in updates for n in walk(s)):
            return None
    runs = _runs(loop)
    inside = [u for u in updates.values() if id(u) in runs]
    fixed, times, counted = {}, 0, True
    for update in inside:
        items = update.target.slice.elts if isinstance(update.target.slice, ast.Tuple) else [update.target.slice]
        if len(items) != len(shape) or not isinstance(update.op, ast.Add | ast.Sub) \
                or shapes.of(update.value) != () or not shapes.real(update.value) \
                or not all(shapes._int_expr(i, shapes.ints) for i in items):
            return None
        index = _literal_index(update.target.slice)
        if index is not None and not all(-n <= i < n for i, n in zip(index, shape)):
            return None  # (an IndexError of the update's own: left to it)
        if index is not None and fixed is not None:
            fixed.setdefault(tuple(i % n for i, n in zip(index, shape)), []).append(update)
        elif index is None:
            fixed = None
        times += runs[id(update)][0]
        counted = counted and runs[id(update)][1]
    if not inside or counted and times < MIN_UPDATES:
        return None  # (reading the items and writing them back would cost more than the updates)
    if fixed is not None:
        return "names", fixed
    size = math.prod(shape)
    return ("list", inside) if 4 * times >= size and 0 < size <= MAX_ITEMS else None


def _runs(loop) -> dict:
    """id of each node in `loop` -> (how many times it runs, counted by the literal ranges of the `for` loops around
    it, `loop`'s own included, another loop counting once; whether every loop around it was counted so)."""
    out = {}

    def visit(node, times, counted):
        out[id(node)] = times, counted
        for field, value in ast.iter_fields(node):
            inner = times, counted
            if isinstance(node, ast.For | ast.While) and field == "body":
                literal = isinstance(node, ast.For) and literal_range(node.iter) is not None
                inner = times * (range_trips(node.iter) if literal else 1), counted and literal
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    visit(child, *inner)

    visit(loop, 1, True)
    return out


def _in_names(fdef, loop, array, found: dict, names: NameAllocator) -> None:
    """Each item's sum in a name of its own: read before the loop, written back after it."""
    indices = sorted(found)
    sums = {index: names.fresh(f"{array}_{'_'.join(map(str, index))}") for index in indices}
    for index, updates in found.items():
        for update in updates:
            update.target = ast.copy_location(ast.Name(sums[index], ast.Store()), update.target)
    picked = ast.Subscript(value=ast.Name(array, ast.Load()), ctx=ast.Load(), slice=ast.Tuple(elts=[
        ast.List(elts=[ast.Constant(index[axis]) for index in indices], ctx=ast.Load())
        for axis in range(len(indices[0]))], ctx=ast.Load()) if len(indices[0]) > 1 else ast.List(
        elts=[ast.Constant(index[0]) for index in indices], ctx=ast.Load()))
    runtime = ast.Name("s2s", ast.Load())
    setattr(runtime, annotations.HELPER, True)  # (the runtime's name in the generated code: pipeline renames it)
    start = ast.Assign(targets=[ast.Tuple(elts=[ast.Name(sums[i], ast.Store()) for i in indices], ctx=ast.Store())],
                       value=ast.Call(func=ast.Attribute(runtime, "float_items", ast.Load()), args=[picked],
                                      keywords=[]))
    back = ast.Assign(targets=[ast.Subscript(value=ast.Name(array, ast.Load()), slice=picked.slice, ctx=ast.Store())],
                      value=ast.Tuple(elts=[ast.Name(sums[i], ast.Load()) for i in indices], ctx=ast.Load()))
    at = next(k for k, s in enumerate(fdef.body) if s is loop)
    for s in (start, back):
        ast.copy_location(s, loop)
    fdef.body[at:at + 1] = [start, loop, back]


def _in_a_list(fdef, loop, array, updates: list, names: NameAllocator) -> None:
    """The items in a list (`a.tolist()`) through the loop, updated at the same indices, written back after it."""
    items = names.fresh(f"{array}_items")
    for update in updates:
        index = update.target.slice.elts if isinstance(update.target.slice, ast.Tuple) else [update.target.slice]
        target = ast.Name(items, ast.Load())
        for i in index:
            target = ast.Subscript(value=target, slice=i, ctx=ast.Load())
        target.ctx = ast.Store()
        update.target = ast.copy_location(target, update.target)
    runtime = ast.Name("s2s", ast.Load())
    setattr(runtime, annotations.HELPER, True)
    start = ast.Assign(targets=[ast.Name(items, ast.Store())],
                       value=ast.Call(func=ast.Attribute(runtime, "float_items", ast.Load()),
                                      args=[ast.Name(array, ast.Load())], keywords=[]))
    back = ast.Assign(targets=[ast.Subscript(value=ast.Name(array, ast.Load()), slice=ast.Constant(Ellipsis),
                                             ctx=ast.Store())], value=ast.Name(items, ast.Load()))
    at = next(k for k, s in enumerate(fdef.body) if s is loop)
    for s in (start, back):
        ast.copy_location(s, loop)
    fdef.body[at:at + 1] = [start, loop, back]
