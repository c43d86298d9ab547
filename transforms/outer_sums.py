"""A loop's sum of outer products as one matrix product after the loop.

The adjoint of `W @ x` for a vector `x` is `W_bar += np.outer(g, x)`; in the backward loop of an RNN that
is one small array made and added per trip and per weight matrix. The sum over trips is the product of
the trips' vectors stacked as columns and as rows, one BLAS call after the loop:

    for t7_bar_saved ... in reversed(saved):       rows_t7_bar, rows_h = [], []
        ...                                          for ... in reversed(saved):
        U_bar += np.outer(t7_bar, h)          ->         ...
        ...                                              rows_t7_bar.append(t7_bar)
                                                         rows_h.append(h)
                                                     if rows_t7_bar:
                                                         U_bar += np.stack(rows_t7_bar, axis=1) @ np.stack(rows_h)

A vector the trip makes afresh and fills in place before the sum (an LSTM's gate adjoint `z_bar = np.zeros(S)`,
then `z_bar[30:] += g`) is listed too: nothing after the sum changes it, and the next trip fills a new one. An item
store into a float array copies values: the array does not hold the stored object.

A vector name read by two sums with a binding between them (an RNN's output and recurrent weights read `h`
before and after the backward trip restores it) gets a list per value, appended where the first sum of that
value reads it.

Why the values are the same (up to the order the sum is added in): `U_bar` is read and bound nowhere else
in the loop, so the loop's other statements do not see its partial sums; the vectors are 1-d arrays of
one known shape on every trip (so they stack), and each trip's vectors keep their values until the
stack after the loop. That last fact is proved, not assumed: no array the loop changes in place
(`b_bar += e`, `P_bar[i] += e`, `out=`) may be one a listed vector holds. Each name's possible sources are
followed through every binding in the function (copies, items, views, tuples unpacked, lists appended
to, calls that may give back an argument); a name whose every binding makes a new array (arithmetic,
a ufunc, `np.outer`) has no source but itself. The rewrite is made only where the sources of every
listed vector and of every name changed in place are apart. A loop that runs no trip leaves the sum
as it was, as the loop did.

Made only in the code the NumPy path runs (numba compiles the loop of outer products as it is).
"""

from __future__ import annotations

import ast

import numpy as np

from .names import BUILTINS_WRITTEN, NameAllocator, assigned_names, load, names_in
from .walk import binding_counts, fix_locations, statement_lists, walk

__all__ = ["batch_outer_sums", "sums_outer_products"]

# NumPy functions whose result is always a new array (given no `out=`)
_NEW_ARRAY_FUNCTIONS = (np.outer, np.dot, np.matmul, np.zeros, np.ones, np.full, np.empty, np.eye, np.zeros_like,
                        np.ones_like, np.full_like, np.stack, np.concatenate, np.sum, np.mean, np.prod, np.max,
                        np.min, np.where, np.clip, np.copy, np.tensordot, np.cumsum)  # (not einsum: 'ii->i' is a view)
# methods that change an array (or list) in place
_CHANGING_METHODS = {"fill", "sort", "put", "resize", "itemset", "partition", "setfield", "byteswap", "setflags",
                     "at"}
# NumPy functions that change their first argument in place (`np.copyto(dst, src)`)
_CHANGING_FUNCTIONS = {"copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis", "shuffle"}
_BUILTINS = {*BUILTINS_WRITTEN, "enumerate", "float", "int", "abs", "bool"}  # (the function binds none of these)
_READING_METHODS = {"copy", "sum", "mean", "max", "min", "prod", "dot", "reshape", "ravel", "transpose", "astype",
                    "flatten", "squeeze", "item", "tolist", "conj", "conjugate", "var", "std", "cumsum", "clip",
                    "any", "all", "argmax", "argmin", "trace", "round"}
_LIST_METHODS = {"append", "extend", "insert"}  # (what they are given, the list now holds)


def batch_outer_sums(fdef: ast.FunctionDef, shapes, np_name: str = "np") -> bool:
    """Rewrite each loop's `A += np.outer(u, v)` sums as one product after the loop (module docstring).

        >>> # for ...: W_bar += np.outer(g, x)   ->   rows_g.append(g); rows_x.append(x) in the loop, and
        >>> # after it: if rows_g: W_bar += np.stack(rows_g, axis=1) @ np.stack(rows_x)

    `shapes` are the shapes inferred over `fdef`. Returns whether anything changed.
    """
    if not sums_outer_products(fdef):
        return False
    if any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.Global | ast.Nonlocal)
           for n in walk(fdef) if n is not fdef):
        return False  # (a nested function could bind or change names at other times)
    flows = _Flows(fdef, shapes)
    if _BUILTINS & set(flows.bindings):
        return False  # (a local named like a builtin: its calls are not the builtin's)
    names = NameAllocator(names_in(fdef))
    changed = False
    for block in statement_lists(fdef):
        position = 0
        while position < len(block):
            loop = block[position]
            if isinstance(loop, ast.For) and not loop.orelse:
                made = _batch(loop, shapes, np_name, flows, names)
                if made is not None:
                    before, after = made
                    block[position:position + 1] = [*before, loop, after]
                    position += len(before) + 1
                    changed = True
            position += 1
    if changed:
        fix_locations(fdef)
    return changed


def sums_outer_products(fdef: ast.FunctionDef) -> bool:
    """Whether `fdef` calls some `.outer` inside a `for` loop (the cheap test before shapes are inferred)."""
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "outer"
               for loop in walk(fdef) if isinstance(loop, ast.For) for n in walk(loop))


def _batch(loop: ast.For, shapes, np_name, flows, names):
    """Rewrite `loop`'s outer-product sums in place; (the statements to put before it, the one after it), or None
    where nothing is rewritten."""
    sums = [(i, s) for i, s in enumerate(loop.body) if _outer_sum(s, np_name) is not None]
    if not sums or any(isinstance(n, ast.Break | ast.Continue | ast.Return | ast.Try | ast.Yield | ast.YieldFrom)
                       for n in walk(loop)):
        return None  # (every trip must reach every append: the lists stack side by side)
    changed_in_place = _changed_in_place(loop, shapes)
    if changed_in_place is None:
        return None  # (a call that may change its arguments)
    accepted = []
    for i, s in sums:
        total, u, v = _outer_sum(s, np_name)
        mentions = sum(1 for n in walk(loop) if isinstance(n, ast.Name) and n.id == total)
        into = [t for _, t in sums if _outer_sum(t, np_name)[0] == total]  # (an RK4 step's four products into W_bar)
        if mentions != sum(2 if isinstance(t, ast.Assign) else 1 for t in into) \
                or total in assigned_names(loop.target):
            continue  # (the loop reads its partial sums, or binds the name otherwise)
        if not all(_one_vector(n, shapes) for n in (u, v)):
            continue
        if any(flows.sources(n.id) & flows.sources(m) and not _settled(loop, n.id, m, i, flows, shapes)
               for n in (u, v) for m in changed_in_place):
            continue
        accepted.append((i, s, total, u, v))
    if not accepted:
        return None
    # one list per value of a vector name: per name and the statement of the body that last bound it before the
    # sum (-1: the trip's start), appended where the first sum of that value reads it (the V and U adjoints of an
    # RNN read `h` before and after the backward trip restores it: two lists)
    values = {(n, i): (n, max((k for k in range(i) if n in binding_counts([loop.body[k]])), default=-1))
              for i, _, _, u, v in accepted for n in (u.id, v.id)}  # (before the body changes)

    def value(n, i):
        return values[(n, i)]
    rows = {}
    for i, _, _, u, v in accepted:
        for n in (u.id, v.id):
            if value(n, i) not in rows:
                rows[value(n, i)] = names.fresh(f"rows_{n}")
    drop = {id(s) for _, s, *_ in accepted}
    appends = {}
    for key in rows:
        i = min(i for i, _, _, u, v in accepted if key in (value(u.id, i), value(v.id, i)))
        appends.setdefault(i, []).append(key)
    body = []
    for i, s in enumerate(loop.body):
        for key in appends.get(i, []):
            body.append(ast.Expr(ast.Call(ast.Attribute(load(rows[key]), "append", ast.Load()), [load(key[0])], [])))
        if id(s) not in drop:
            body.append(s)
    loop.body[:] = body
    columns, after_body = {}, []
    for i, s, total, u, v in accepted:
        ku, kv = value(u.id, i), value(v.id, i)
        if ku not in columns:
            columns[ku] = names.fresh(f"{u.id}_columns")
            after_body.append(ast.Assign([ast.Name(columns[ku], ast.Store())], _stack(np_name, rows[ku], axis=1)))
        product = ast.BinOp(load(columns[ku]), ast.MatMult(), _stack(np_name, rows[kv]))
        if isinstance(s, ast.AugAssign):
            after_body.append(ast.AugAssign(ast.Name(total, ast.Store()), ast.Add(), product))
        else:
            after_body.append(ast.Assign([ast.Name(total, ast.Store())], ast.BinOp(load(total), ast.Add(), product)))
    made = [ast.Assign([ast.Name(r, ast.Store())], ast.List([], ast.Load())) for r in rows.values()]
    guard = ast.If(load(next(iter(rows.values()))), after_body, [])
    return made, guard


def _settled(loop, name, changed, i, flows, shapes) -> bool:
    """Whether `name`, which holds the array of a name the loop changes in place (`changed`: `name` itself, or the
    one name `name` is bound to, `t16_bar = hc_bar`), holds at the sum at `loop.body[i]` an array no later statement
    changes: every binding of `changed` makes a new array (its sources are itself alone), the trip binds it at its
    top level once, before any change of it (`z_bar = np.zeros(S)`, then `z_bar[30:] += g`), binds `name` (where
    another) once, to it, before the sum, and nothing from the sum to the trip's end changes either in place (an
    LSTM's gate adjoints filled in, a GRU's tanh adjoint scaled in place, then read by the weights' outer products:
    each trip's array stays as it was listed)."""
    if flows.sources(changed) != {changed}:
        return False
    body = loop.body
    copies = [k for k, st in enumerate(body) if name in binding_counts([st])]
    if name != changed:
        if len(copies) != 1 or copies[0] >= i or len(flows.bindings.get(name, ())) != 1 \
                or not _bound_to(body[copies[0]], name, changed):
            return False
    found = [_changed_in_place(st, shapes) for st in body]  # (None: a call that may change anything)
    changes = [k for k, names in enumerate(found) if names is None or changed in names or name in names]
    binds = [k for k, st in enumerate(body) if changed in binding_counts([st])
             and not (isinstance(st, ast.AugAssign) and k in changes)]  # (`hc_bar *= ...` of an array: a change)
    if not changes or len(binds) != 1:
        return False
    bound = body[binds[0]]
    if name != changed and not binds[0] < copies[0]:
        return False  # (`name` would hold the array of the trip before)
    return isinstance(bound, ast.Assign) and len(bound.targets) == 1 and isinstance(bound.targets[0], ast.Name) \
        and binds[0] < min(changes) and max(changes) < i


def _bound_to(stmt, name, other) -> bool:
    """Whether `stmt` is `name = other` of two names."""
    return isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
        and stmt.targets[0].id == name and isinstance(stmt.value, ast.Name) and stmt.value.id == other


def _stack(np_name, rows, axis=0):
    keywords = [ast.keyword("axis", ast.Constant(axis))] if axis else []
    return ast.Call(ast.Attribute(load(np_name), "stack", ast.Load()), [load(rows)], keywords)


def _outer_sum(s, np_name):
    """(total, u, v) of `total += np.outer(u, v)` or `total = total + np.outer(u, v)` with names u, v; else None."""
    if isinstance(s, ast.AugAssign) and isinstance(s.op, ast.Add) and isinstance(s.target, ast.Name):
        total, value = s.target.id, s.value
    elif isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
            and isinstance(s.value, ast.BinOp) and isinstance(s.value.op, ast.Add):
        total, sides = s.targets[0].id, (s.value.left, s.value.right)
        value = next((b for a, b in (sides, sides[::-1]) if isinstance(a, ast.Name) and a.id == total), None)
        if value is None:
            return None
    else:
        return None
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "outer"
            and isinstance(value.func.value, ast.Name) and value.func.value.id == np_name
            and len(value.args) == 2 and not value.keywords
            and all(isinstance(a, ast.Name) for a in value.args)):
        return None
    return total, value.args[0], value.args[1]


def _one_vector(node, shapes) -> bool:
    """A real 1-d array of one known length wherever `node` is read."""
    shape = shapes.of(node)
    return type(shape) is tuple and len(shape) == 1 and type(shape[0]) is int and shapes.real(node)


def _changed_in_place(loop, shapes):
    """The names whose objects the loop's statements (or one statement's) may change in place; None where a call
    may change any of its arguments (a call of anything but NumPy, s2s's runtime helpers (which never change their
    arguments) and a few builtins)."""
    out = set()
    for node in walk(loop):
        if isinstance(node, ast.AugAssign):
            out |= _roots(node.target)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                for part in walk(t):
                    if isinstance(part, ast.Subscript | ast.Attribute) and isinstance(part.ctx, ast.Store):
                        out |= _roots(part)
        elif isinstance(node, ast.Delete):
            out |= {r for t in node.targets for r in _roots(t)}
        elif isinstance(node, ast.Call):
            f = node.func
            for k in node.keywords:
                if k.arg == "out" or k.arg is None:
                    out |= {n.id for n in walk(k.value) if isinstance(n, ast.Name)}
            if isinstance(f, ast.Attribute) and (f.attr in _CHANGING_METHODS or f.attr in _CHANGING_FUNCTIONS):
                out |= _roots(f.value) | {n.id for a in node.args[:1] for n in walk(a) if isinstance(n, ast.Name)}
            elif isinstance(f, ast.Attribute) and f.attr in _LIST_METHODS | {"pop", "remove", "clear", "reverse"}:
                continue  # (a list's change: no array has these methods, and the arrays a list holds stay as they are)
            elif not (_known_callee(f) or _array_method(f, shapes)):
                return None
    return out


def _array_method(f, shapes) -> bool:
    """A method of NumPy's that reads its array (`h_bar[1:].copy()`, `x.sum()`), of an array of known shape."""
    return isinstance(f, ast.Attribute) and f.attr in _READING_METHODS and type(shapes.of(f.value)) is tuple


def _known_callee(f) -> bool:
    """NumPy's functions (`np.tanh`, `np.linalg.norm`), s2s's runtime helpers (`s2s.add`), builtins s2s writes."""
    root = f
    while isinstance(root, ast.Attribute):
        root = root.value
    if isinstance(f, ast.Name):
        return f.id in _BUILTINS
    return isinstance(root, ast.Name) and root.id in {"np", "numpy", "s2s"}


def _binding_targets(node) -> list:
    if isinstance(node, ast.Assign):
        return node.targets
    if isinstance(node, ast.AugAssign | ast.AnnAssign | ast.NamedExpr | ast.For | ast.comprehension):
        return [node.target]
    if isinstance(node, ast.With):
        return [i.optional_vars for i in node.items if i.optional_vars is not None]
    if isinstance(node, ast.ExceptHandler) and node.name:
        return [ast.Name(node.name, ast.Store())]
    if isinstance(node, ast.Import | ast.ImportFrom):
        return [ast.Name((a.asname or a.name).split(".")[0], ast.Store()) for a in node.names]
    return []


def _roots(node) -> set:
    while isinstance(node, ast.Subscript | ast.Attribute | ast.Starred):
        node = node.value
    return {n.id for n in walk(node) if isinstance(n, ast.Name)}


class _Flows:
    """For each name, the names whose objects it may come to hold (itself included), through every binding
    in the function: a name bound only to new arrays (arithmetic of known shape, ufuncs, `np.outer`) and
    numbers has itself alone. The parameters count as one source: the caller may pass one object twice."""

    def __init__(self, fdef, shapes):
        self.shapes = shapes
        self.direct: dict[str, set] = {}
        self.bindings: dict[str, list] = {}  # name -> the statements (or other nodes) that bind it
        for node in walk(fdef):
            for target in _binding_targets(node):
                for n in walk(target):  # (`x[i] = v` leaves x the object it was: not a binding of x)
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                        self.bindings.setdefault(n.id, []).append(node)
        params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
        for p in params:
            self.direct.setdefault(p, set()).update(params)
        for node in walk(fdef):
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    self._bind(t, node.value)
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                self._bind(node.target, node.value)
            elif isinstance(node, ast.AugAssign):
                if not self._number_or_array(node.target):
                    self._bind(node.target, node.value)
            elif isinstance(node, ast.For | ast.comprehension):
                self._bind(node.target, node.iter)
            elif isinstance(node, ast.NamedExpr):
                self._bind(node.target, node.value)
            elif isinstance(node, ast.With):
                for item in node.items:
                    if item.optional_vars is not None:
                        self._bind(item.optional_vars, item.context_expr)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in _LIST_METHODS | {"__setitem__", "update", "setdefault"}:
                for r in _roots(node.func.value):
                    for a in node.args:
                        self.direct.setdefault(r, set()).update(self._from(a))
        self._closed: dict[str, set] = {}

    def _bind(self, target, value):
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) \
                and type(self.shapes.of(target.value)) is tuple and self.shapes.of(target.value) != () \
                and self.shapes.real(target.value):
            return  # (`z[:10] -= g` of a float array: g's values copied in, not g's object held)
        sources = self._from(value)
        for r in _roots(target):  # (`x[i] = v`, `o.a = v`: the container now holds v)
            self.direct.setdefault(r, set()).update(sources)

    def _number_or_array(self, target) -> bool:
        """Whether the name `x` of `x += e` holds a number or an array there, so that it comes to hold `e`'s
        object in neither case (`+=` of a number makes a new one; of an array, adds in place): every binding
        of `x` in the function is a number literal or a number or array of known shape, or adds one."""
        if not isinstance(target, ast.Name):
            return False
        return all(self._numeric(b) for b in self.bindings.get(target.id, [None]))

    def _numeric(self, binding) -> bool:
        if isinstance(binding, ast.AugAssign):
            return type(self.shapes.of(binding.value)) is tuple
        if isinstance(binding, ast.Assign) and len(binding.targets) == 1 and isinstance(binding.targets[0], ast.Name):
            v = binding.value
            return isinstance(v, ast.Constant) and type(v.value) in (int, float) or type(self.shapes.of(v)) is tuple
        return False

    def _from(self, value) -> set:
        """The names whose objects `value` may be (or hold)."""
        if isinstance(value, ast.Constant):
            return set()
        if isinstance(value, ast.Name):
            return {value.id}
        if isinstance(value, ast.BinOp | ast.UnaryOp | ast.Compare | ast.BoolOp) and type(self.shapes.of(value)) is tuple \
                and not isinstance(value, ast.BoolOp):
            return set()  # (NumPy arithmetic makes a new array; a number is never changed in place)
        if isinstance(value, ast.Call) and not any(k.arg in ("out", None) for k in value.keywords) \
                and type(self.shapes.of(value)) is tuple and self._new_array(value):
            return set()
        return {n.id for n in walk(value) if isinstance(n, ast.Name)}

    def _new_array(self, call) -> bool:
        obj = self.shapes.callee(call)
        return isinstance(obj, np.ufunc) or any(obj is f for f in _NEW_ARRAY_FUNCTIONS)

    def sources(self, name: str) -> set:
        """Every name `name` may hold the object of (transitively), itself included."""
        if name not in self._closed:
            seen, todo = {name}, [name]
            while todo:
                for m in self.direct.get(todo.pop(), ()):
                    if m not in seen:
                        seen.add(m)
                        todo.append(m)
            self._closed[name] = seen
        return self._closed[name]
