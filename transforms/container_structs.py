"""A pre-pass of transforms/flat_params.py for compiled derivatives: container arguments read through aliases, and
the adjoints of their items built as Python lists, resolved to the items themselves.

The generated gradient of `for W, b in params[:-1]: ...` (unrolled: a loop of constant trips) reads the list
argument through names bound to parts of it, and builds its gradient as nested lists:

    t = params[:-1]                              W = params[0][0]
    seq = s2s.as_sequence(t)                     ...
    t2 = seq[0]                        ->        _s2s_c1 = W_bar
    W = t2[0]                                    _s2s_c2 = b_bar
    ...                                          ...
    seq_bar_0 = [W_bar, b_bar]                   return s2s.finish([[_s2s_c1, _s2s_c2], ...], params)
    t_bar = s2s.grad_iterated([seq_bar_0, ...], t)
    params_bar = s2s.add(params_bar, s2s.getitem_grad(t_bar, params, slice(None, -1, None)))
    return s2s.finish(params_bar, params)

numba has no type for such lists. Here every read of an item is a chain of constant keys from the argument
(flat_params makes each leaf a parameter), and every list of adjoints is evaluated while the code is
rewritten: its leaves are bound, where the display stood, to fresh names (the same values, evaluated in the same
order), `s2s.add` of two lists adds leaf by leaf (`s2s.add` of the leaves, or the one leaf where the other
is the zero, as runtime.add does), `getitem_grad` of a list puts the part at its constant index or slice among
zeros, `grad_iterated` of a list is its adjoint. Only statements of the function's top level (straight-line
code, each run once, in order) are read so; where any alias or list adjoint is read otherwise, the code is
left as it was (and flat_params says what it cannot take).
"""

from __future__ import annotations

import ast
import copy

from .walk import walk

ZERO = "zero"  # a part of an adjoint no contribution reached
UNROLL = 16  # at most this many trips of a loop over parts of an argument are written out


class _GiveUp(Exception):
    pass


def resolve(fdef: ast.FunctionDef, containers: dict, runtime: str) -> ast.FunctionDef:
    """`fdef` with the reads through aliases of the container arguments (name -> the list, tuple or dict given)
    and the list adjoints of them resolved, or `fdef` itself where that cannot be done throughout."""
    if not containers:
        return fdef
    try:
        return _Resolver(fdef, containers, runtime).run()
    except _GiveUp:
        return fdef


class _Alias:
    """A name bound to a part of a container argument: its value, and the path of keys from the argument to each
    of its items (a list for a list or tuple, a dict for a dict)."""

    def __init__(self, param, value, paths):
        self.param, self.value, self.paths = param, value, paths


def _is_container(v) -> bool:
    return type(v) in (list, tuple, dict)


def _paths_of(value, prefix):
    if type(value) is dict:
        return {k: prefix + (k,) for k in value}
    return [prefix + (k,) for k in range(len(value))]


class _Resolver:
    def __init__(self, fdef, containers, runtime):
        self.fdef = copy.deepcopy(fdef)
        self.runtime = runtime
        self.aliases = {p: _Alias(p, v, _paths_of(v, ())) for p, v in containers.items()}
        self.params = set(containers)
        self.structs: dict = {}  # name -> structure: a list of parts (ZERO, an ast.Name, or a structure)
        self.count = 0
        self.taken = {n.id for n in walk(fdef) if isinstance(n, ast.Name)} | {a.arg for a in walk(fdef.args)
                                                                             if isinstance(a, ast.arg)}
        self.changed = False
        self.returning = False  # (reading the returned expression)

    # ------------------------------------------------------------------ reading the argument

    def _value_at(self, param, path):
        v = self.aliases[param].value
        for k in path:
            v = v[k]
        return v

    def _key(self, alias, node):
        """The item of `alias` a constant subscript reads, or None."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
                and type(node.operand.value) is int:
            node = ast.Constant(-node.operand.value)
        if not isinstance(node, ast.Constant) or type(node.value) not in (int, str):
            return None
        if isinstance(alias.paths, dict):
            return node.value if node.value in alias.paths else None
        n = len(alias.paths)
        if type(node.value) is not int or not -n <= node.value < n:
            return None
        return node.value % n

    def _slice(self, alias, node):
        """The items of `alias` a constant slice reads (a list of indices), or None."""
        if isinstance(alias.paths, dict):
            return None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "slice":
            parts = list(node.args) + [ast.Constant(None)] * (3 - len(node.args))
            if node.keywords or len(node.args) > 3:
                return None
            lower, upper, step = parts
        elif isinstance(node, ast.Slice):
            lower, upper, step = node.lower, node.upper, node.step
        else:
            return None
        bounds = []
        for b in (lower, upper, step):
            if b is None or isinstance(b, ast.Constant) and b.value is None:
                bounds.append(None)
                continue
            k = self._int(b)
            if k is None:
                return None
            bounds.append(k)
        if bounds[2] == 0:
            return None
        return list(range(len(alias.paths)))[slice(*bounds)]

    @staticmethod
    def _int(node):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = _Resolver._int(node.operand)
            return None if inner is None else -inner
        return node.value if isinstance(node, ast.Constant) and type(node.value) is int else None

    def _alias_of(self, e):
        return self.aliases.get(e.id) if isinstance(e, ast.Name) else None

    def _runtime_call(self, e, name, nargs):
        return isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == name \
            and isinstance(e.func.value, ast.Name) and e.func.value.id == self.runtime and len(e.args) == nargs \
            and not e.keywords

    def _forward(self, value):
        """For an assigned value: ("alias", _Alias), ("leaf", a subscript chain of the argument), ("const", n),
        or None."""
        if isinstance(value, ast.Subscript) and self._alias_of(value.value) is not None:
            alias = self._alias_of(value.value)
            key = self._key(alias, value.slice)
            if key is not None:
                path = alias.paths[key]
                item = self._value_at(alias.param, path)
                if _is_container(item):
                    return "alias", _Alias(alias.param, item, _paths_of(item, path))
                chain = ast.Name(id=alias.param, ctx=ast.Load())
                for k in path:
                    chain = ast.Subscript(value=chain, slice=ast.Constant(k), ctx=ast.Load())
                return "leaf", chain
            picked = self._slice(alias, value.slice)
            if picked is not None:
                return "alias", _Alias(alias.param, type(alias.value)(alias.value[i] for i in picked),
                                       [alias.paths[i] for i in picked])
            return None
        if self._runtime_call(value, "as_sequence", 1) and self._alias_of(value.args[0]) is not None \
                and not isinstance(self._alias_of(value.args[0]).paths, dict):
            return "alias", self._alias_of(value.args[0])
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "len" \
                and len(value.args) == 1 and not value.keywords and self._alias_of(value.args[0]) is not None:
            return "const", len(self._alias_of(value.args[0]).paths)
        return None

    # ------------------------------------------------------------------ adjoints built as lists

    def _bind(self, e, out):
        """A name for the leaf value `e`, bound by a statement appended to `out` (a name or a constant as it is)."""
        if isinstance(e, ast.Constant) or self.returning:  # (in the return: evaluated there, once, in order)
            return e
        self.count += 1
        name = f"_s2s_c{self.count}"
        while name in self.taken:
            self.count += 1
            name = f"_s2s_c{self.count}"
        self.taken.add(name)
        out.append(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=e))
        return ast.Name(id=name, ctx=ast.Load())

    def _struct(self, e, out):
        """The structure the expression `e` evaluates to, its leaves bound by statements appended to `out`; None
        where `e` is no list adjoint of these."""
        if isinstance(e, ast.Name) and e.id in self.structs:
            return self.structs[e.id]
        if self._zero(e):
            return ZERO
        if isinstance(e, ast.List | ast.Tuple) and not any(isinstance(x, ast.Starred) for x in e.elts):
            parts = []
            for x in e.elts:
                if isinstance(x, ast.Constant) and type(x.value) in (int, float) and x.value == 0:
                    parts.append(ZERO)
                    continue
                inner = self._struct(x, out)
                parts.append(inner if inner is not None else self._bind(x, out))
            return parts
        if self._runtime_call(e, "grad_iterated", 2) and self._alias_of(e.args[1]) is not None \
                and not isinstance(self._alias_of(e.args[1]).paths, dict):
            inner = self._struct(e.args[0], out)
            if inner is None or len(inner) != len(self._alias_of(e.args[1]).paths):
                raise _GiveUp
            return inner
        if self._runtime_call(e, "getitem_grad", 3) and self._alias_of(e.args[1]) is not None \
                and not isinstance(self._alias_of(e.args[1]).paths, dict):
            alias = self._alias_of(e.args[1])
            parts = [ZERO] * len(alias.paths)
            key = self._key(alias, e.args[2])
            if key is not None:
                g = self._struct(e.args[0], out)
                item = self._value_at(alias.param, alias.paths[key])
                if g is None:
                    if _is_container(item):
                        raise _GiveUp  # (a number or array for a list's item: runtime's own business)
                    g = self._bind(e.args[0], out)
                elif not _is_container(item) or len(g) != len(item):
                    raise _GiveUp
                parts[key] = g
                return parts
            picked = self._slice(alias, e.args[2])
            g = self._struct(e.args[0], out) if picked is not None else None
            if g is None or len(g) != len(picked):
                raise _GiveUp
            for i, part in zip(picked, g):
                parts[i] = part
            return parts
        if self._runtime_call(e, "add", 2):
            a, b = (self._struct(x, out) for x in e.args)
            if a is ZERO and b is ZERO:
                return ZERO
            if not (isinstance(a, list) or isinstance(b, list)):
                return None  # (numbers and arrays: the helper's own)
            if a is None or b is None:
                raise _GiveUp  # (a list and a number or array: runtime's own business)
            return self._add(a, b, out)
        return None

    @staticmethod
    def _zero(x):
        return isinstance(x, ast.Constant) and type(x.value) in (int, float) and x.value == 0

    def _add(self, a, b, out):
        if a is ZERO:
            return b
        if b is ZERO:
            return a
        if isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                raise _GiveUp
            return [self._add(x, y, out) for x, y in zip(a, b)]
        if isinstance(a, list) or isinstance(b, list):
            raise _GiveUp
        call = ast.Call(func=ast.Attribute(value=ast.Name(id=self.runtime, ctx=ast.Load()), attr="add",
                                           ctx=ast.Load()), args=[a, b], keywords=[])
        return self._bind(call, out)

    def _display(self, s, value):
        """The nested display of the structure `s` for the argument part `value` (ZERO: a zero per leaf)."""
        if s is ZERO:
            if _is_container(value):
                items = value.values() if type(value) is dict else value
                return self._display_of(value, [self._display(ZERO, v) for v in items])
            return ast.Constant(0.0)
        if isinstance(s, list):
            if not _is_container(value) or type(value) is dict or len(s) != len(value):
                raise _GiveUp
            return self._display_of(value, [self._display(p, v) for p, v in zip(s, value)])
        if _is_container(value):
            raise _GiveUp
        return s

    @staticmethod
    def _display_of(value, parts):
        if type(value) is dict:
            return ast.Dict(keys=[ast.Constant(k) for k in value], values=parts)
        return ast.List(elts=parts, ctx=ast.Load())

    # ------------------------------------------------------------------ the pass

    def _candidates(self):
        """The names the function's top level binds to a list adjoint: to a display or an `add`, `getitem_grad`
        or `grad_iterated` of one, where every read of the name is such an adjoint's part (`s2s.add(X, ...)`, an
        item of a display that is one, the first argument of `getitem_grad`, `grad_iterated` or the returned
        `finish`). A tuple of arrays (`encoder_result = t9, t15`, read by `encoder_result[0]`) is none."""
        from .walk import parent_map
        parents = parent_map(self.fdef)
        helpers = {"add": (0, 1), "getitem_grad": (0,), "grad_iterated": (0,), "finish": (0,)}
        bound = {}
        for stmt in self.fdef.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                v = stmt.value
                if isinstance(v, ast.List | ast.Tuple) or self._zero(v) or any(
                        self._runtime_call(v, h, n) for h, n in (("add", 2), ("getitem_grad", 3), ("grad_iterated", 2))):
                    bound.setdefault(stmt.targets[0].id, []).append(stmt)
        candidates = set(bound)

        def context(node) -> bool:
            up = parents.get(id(node))
            if isinstance(up, ast.List | ast.Tuple):
                return context(up)
            if isinstance(up, ast.Call) and isinstance(up.func, ast.Attribute) and up.func.attr in helpers \
                    and isinstance(up.func.value, ast.Name) and up.func.value.id == self.runtime:
                return any(i < len(up.args) and up.args[i] is node for i in helpers[up.func.attr])
            return isinstance(up, ast.Assign) and any(isinstance(t, ast.Name) and t.id in candidates for t in up.targets)

        changed = True
        while changed:
            changed = False
            for n in walk(self.fdef):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in candidates and not context(n):
                    candidates.discard(n.id)
                    changed = True
            for name in list(candidates):  # (an assignment elsewhere than the top level: not read in order)
                stores = [n for n in walk(self.fdef) if isinstance(n, ast.Name) and n.id == name
                          and isinstance(n.ctx, ast.Store)]
                if len(stores) != len(bound[name]):
                    candidates.discard(name)
                    changed = True
        return candidates

    def _unroll(self):
        """Top-level loops `for k in range(c)` / `reversed(range(c))` of a constant count (at most UNROLL trips) whose
        body reads a part of a container argument at `k` (`t = seq[k]`, `s2s.getitem_grad(g, seq, k)`), written out
        trip by trip with `k` the constant: the reads become reads of constant keys. The same statements in the
        same order; only where the body neither binds `k` nor leaves the loop early (break, continue, return)."""
        sequences = set(self.params)
        for stmt in self.fdef.body:  # (names bound to parts of the arguments, as `_forward` reads them)
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                v = stmt.value
                if isinstance(v, ast.Subscript) and isinstance(v.value, ast.Name) and v.value.id in sequences \
                        or self._runtime_call(v, "as_sequence", 1) and isinstance(v.args[0], ast.Name) \
                        and v.args[0].id in sequences:
                    sequences.add(stmt.targets[0].id)
        body = []
        for stmt in self.fdef.body:
            trips = self._trips(stmt)
            k = stmt.target.id if trips is not None else None
            reads = trips is not None and any(
                isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and n.value.id in sequences
                and isinstance(n.slice, ast.Name) and n.slice.id == k
                or self._runtime_call(n, "getitem_grad", 3) and isinstance(n.args[1], ast.Name)
                and n.args[1].id in sequences and isinstance(n.args[2], ast.Name) and n.args[2].id == k
                for n in walk(stmt))
            if not reads:
                body.append(stmt)
                continue
            leaves = any(isinstance(n, ast.Break | ast.Continue | ast.Return | ast.Yield | ast.YieldFrom | ast.Try)
                         for s in stmt.body for n in walk(s))
            binds = any(isinstance(n, ast.Name) and n.id == k and not isinstance(n.ctx, ast.Load)
                        for s in stmt.body for n in walk(s))
            if not reads or leaves or binds or stmt.orelse:
                body.append(stmt)
                continue
            for value in trips:
                for s in stmt.body:
                    s = copy.deepcopy(s)
                    for n in walk(s):
                        for attr, child in ast.iter_fields(n):
                            if isinstance(child, ast.Name) and child.id == k:
                                setattr(n, attr, ast.copy_location(ast.Constant(value), child))
                            elif isinstance(child, list):
                                child[:] = [ast.copy_location(ast.Constant(value), c)
                                            if isinstance(c, ast.Name) and c.id == k else c for c in child]
                    body.append(s)
            # (the loop variable keeps its last value after the loop, as Python's does)
            if trips:
                body.append(ast.Assign(targets=[ast.Name(id=k, ctx=ast.Store())], value=ast.Constant(trips[-1])))
            self.changed = True
        self.fdef.body = body

    def _trips(self, stmt):
        """The values `k` takes in `for k in range(c)` (or reversed, or range(a, b)) of int constants, or None."""
        if not (isinstance(stmt, ast.For) and isinstance(stmt.target, ast.Name)):
            return None
        it, backwards = stmt.iter, False
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "reversed" and len(it.args) == 1:
            it, backwards = it.args[0], True
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"
                and 1 <= len(it.args) <= 2 and not it.keywords):
            return None
        bounds = [self._int(a) for a in it.args]
        if any(b is None for b in bounds):
            return None
        values = list(range(*bounds))
        if len(values) > UNROLL:
            return None
        return values[::-1] if backwards else values

    def run(self):
        self._unroll()
        self.candidates = self._candidates()
        # (names some loop or branch binds: an alias of them would not hold everywhere)
        self.nested = {n.id for stmt in self.fdef.body if not isinstance(stmt, ast.Assign) for n in walk(stmt)
                       if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        body = []
        for stmt in self.fdef.body:
            body.extend(self._statement(stmt))
        self.fdef.body = body
        if not self.changed:
            raise _GiveUp
        names = set(self.aliases) - self.params | set(self.structs)
        left = [n for n in walk(self.fdef) if isinstance(n, ast.Name) and n.id in names]
        if left:
            self.left = left
            raise _GiveUp  # an alias or a list adjoint read otherwise: the code as it was
        ast.fix_missing_locations(self.fdef)
        return self.fdef

    def _statement(self, stmt):
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name = stmt.targets[0].id
            if name in self.params:
                raise _GiveUp
            found = self._forward(stmt.value) if name not in self.nested else None  # (the value first: it may
            out = []                                                                 # read the name's old binding)
            s = None
            if found is None and name in self.candidates:  # (`seq_bar = 0.0`: the zero of a list adjoint)
                s = ZERO if self._zero(stmt.value) else self._struct(stmt.value, out)
            self.aliases.pop(name, None)
            self.structs.pop(name, None)
            if found is not None:
                self.changed = True
                kind, what = found
                if kind == "alias":
                    self.aliases[name] = what
                    return []
                stmt.value = ast.copy_location(what if kind == "leaf" else ast.Constant(what), stmt.value)
                return [stmt]
            if s is not None:
                self.changed = True
                self.structs[name] = s
                return out
            self._uses(stmt.value)
            return [stmt]
        if isinstance(stmt, ast.Return):
            stmt.value = self._finishes(stmt.value)
            return [stmt]
        self._uses(stmt)
        return [stmt]

    def _uses(self, node):
        """Leaf reads of the argument through an alias inside `node` (`W = seq[0][0]` in an expression)."""
        for n in list(walk(node)):
            for attr, value in ast.iter_fields(n):
                if isinstance(value, ast.Subscript):
                    found = self._forward(value)
                    if found is not None and found[0] == "leaf":
                        setattr(n, attr, ast.copy_location(found[1], value))
                        self.changed = True

    def _finishes(self, value):
        """`s2s.finish(<a list adjoint>, p)` of a container argument p, alone or in the returned tuple."""
        if isinstance(value, ast.Tuple):
            value.elts = [self._finishes(e) for e in value.elts]
            return value
        if self._runtime_call(value, "finish", 2) and isinstance(value.args[1], ast.Name) \
                and value.args[1].id in self.params:
            param = value.args[1].id
            out = []
            self.returning = True
            try:
                s = self._struct(value.args[0], out)
            finally:
                self.returning = False
            if out:
                raise _GiveUp  # (a sum made in the return itself: a statement would be needed before it)
            if s is not None:
                value.args[0] = self._display(s, self.aliases[param].value)
                self.changed = True
            return value
        self._uses(value)
        return value
