"""Ownership before an in-place update: which other names could see it.

s2s runs every update functionally: `y[i] = v`, `y += v` and `L.append(v)`
rebind `y` (or `L`) to a new value, and nothing else changes. Python instead
changes the object itself, so every other reference to it sees the update.
The two agree exactly when no other reference to the updated object is read
afterwards. This pass proves that where it can, and says where it cannot:

* a points-to analysis gives, at each statement, the set of allocation sites
  each name may refer to (a fresh array made by `x * 2.0`, a list literal, a
  parameter or global: "external"), with the sites that containers and views
  may hold;
* a liveness analysis gives the names read after each statement (the names a
  loop iterates over stay live through its body);
* an update is *owned* when no other live name may reach the updated sites.

For an update that is not provably owned, the pass names the other live names
that may reach it. `desugar` then guards the update at run time
(`s2s.unshared(y, site, deep, *others)`), which raises an error naming the
user's line if the object really is shared, and costs nothing otherwise.
Updates whose safety cannot even be checked at run time (of a global array,
through a function that changes its arguments in place, with a name that may
be unbound) are refused here with the user's line.

    >>> # y = x * 1.0; a = b = y; a *= 3.0; return np.sum(y * y)
    >>> # `a *= 3.0` updates the array y and b refer to: guarded with (y,)
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import dis
import functools
import inspect
import operator
import textwrap
import types
import warnings
from dataclasses import dataclass

import numpy as np

from . import annotations, callees, context
from .names import substituted
from .walk import walk

EXTERNAL = "external"  # parameters, globals, closure values: anything the caller may also hold

# builtins that return one of their arguments or a new container holding their elements
_SELECTING_BUILTINS = {max, min, getattr, next, iter}
_CONTAINER_BUILTINS = {list, tuple, dict, sorted, reversed, zip, enumerate, map, filter}
_VALUE_BUILTINS = {len, range, int, float, bool, complex, abs, round, sum, str, repr, print, isinstance, type,
                   hash, id, divmod, pow, any, all}
_PURE_BUILTINS = {print, len, isinstance, repr, str, format, sorted, min, max}
# library calls that make a new object holding none of their arguments (a random generator seeded by a number)
_FRESH_OBJECTS = {np.random.default_rng, np.random.RandomState, np.random.Generator}
_VIEW_METHODS = {"reshape", "ravel", "transpose", "swapaxes", "squeeze", "view", "diagonal", "get", "pop",
                 "values", "items", "keys", "__getitem__", "item"}
_FRESH_METHODS = {"astype", "sum", "mean", "prod", "max", "min", "var", "std", "cumsum", "dot",
                  "flatten", "clip", "trace", "round", "any", "all", "argmax", "argmin", "tolist", "index", "count"}

# list, dict and ndarray methods that change their object; s2s itself differentiates append and pop
MUTATING_METHODS = {"append", "pop", "extend", "insert", "remove", "clear", "sort", "reverse", "fill", "resize",
                    "update", "setdefault", "popitem", "put", "itemset", "setfield", "partition", "byteswap",
                    "setflags", "shuffle", "__setitem__", "__iadd__", "__isub__", "__imul__", "__itruediv__", "discard", "add"}
_SUPPORTED_METHODS = {"append", "pop"}


def _attribute_hint(target) -> str | None:
    """The hint for a store into an object's attribute (`o.h = v`, `o.h[i] = v`), which `.copy()` does not help
    (an object of your class may have no copy method): a local name for the value, or a dict the function builds.
    None for other targets."""
    node = target
    while isinstance(node, ast.Subscript):
        node = node.value
    if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
        return None
    base, attr = node.value.id, node.attr
    return (f"keep the value in a local name instead of the attribute (`{base}_{attr} = ...`, read as "
            f"`{base}_{attr}`), or in a dict the function builds (`{base} = {{'{attr}': ...}}`, read as "
            f"`{base}['{attr}']`)")


@dataclass
class Update:
    """An in-place update the analysis could not prove owned: guard it against `others` at run time."""

    name: str  # the local name whose object is updated
    others: tuple  # live names that may reach the updated object
    deep: bool  # also objects held in it (`L[i] += v` updates the element L[i] itself)
    loops: tuple = ()  # enclosing `for` loops over an unnamed sequence that may hold the object


@dataclass
class Summary:
    """What a caller needs to know of a function it calls: whether its result is always new (holds
    nothing of its arguments or globals), and which parameters it may update in place."""

    returns_fresh: bool
    updated_params: frozenset
    returns_global: bool = True  # its result may be (or hold) a global or another outside value
    # what it changes outside itself, for a caller's refusal (`G[0] = 5.0` (line 3) changes `G`, a global or
    # captured value); "" where it changes nothing but its arguments
    changes_outside: str = ""
    # of updated_params, those whose update changes only the argument's own object (`z *= c`, `z[i] = v`),
    # never one it holds: the caller's `z = x * y` (new, though a list repetition would hold x's items) is
    # then all it changes
    shallow_params: frozenset = frozenset()
    # calls of a callee reached from a parameter (`f(v)`, `o.forward(v)`: transforms/callees.py), whose
    # parameters count among updated_params until a caller that knows what it passes settles them; `certain`:
    # the parameters updated whatever those callees are
    deferred: tuple = ()
    certain: frozenset = frozenset()


class OwnershipError(Exception):
    """An update that cannot be differentiated: (node, message, hint) for the caller to report."""

    def __init__(self, node, message, hint):
        super().__init__(message)
        self.node, self.message, self.hint = node, message, hint


def analyse(tree: ast.FunctionDef, resolve, rule_of=lambda obj: None, summary_of=lambda func: None,
            local_helpers=None, local_bodies=None, returns_view=lambda obj: False,
            mutates=lambda obj: None, mutable_defaults=None) -> dict[int, list[Update]]:
    """{id(statement): [Update, ...]} for each statement of `tree` with an update that needs a guard.

    `resolve(name)` gives what a free name denotes (to tell data from modules and functions) and
    `rule_of(obj)` the derivative rule of a function, or None (a function with a rule returns new
    values), `returns_view(obj)` whether a call of `obj` may return (a view of) an argument (the
    `returns_view` fact of its record in s2s/rules, with or without a rule: True or "sometimes"),
    `mutates(obj)` the hint for a function that changes its first argument in place (its record's
    `mutates` fact; such a call is refused), else None, `summary_of(func)` the Summary of a user function
    (None: assume the worst); `local_helpers` maps the names of local functions already taken out
    of the body to the names their bodies read, and `local_bodies` those that return one expression to
    (parameters, expression), which a call evaluates. Raises OwnershipError for updates it refuses.

        >>> tree = ast.parse("def f(x):\\n    y = x * 1.0\\n    a = y\\n    a += 1.0\\n    return y").body[0]
        >>> [u.others for u in analyse(tree, lambda n: None)[id(tree.body[2])]]
        [('y',)]
    """
    analysis = _Analysis(tree, resolve, rule_of, summary_of, local_helpers, local_bodies, returns_view, mutates)
    analysis.mutable_defaults = dict(mutable_defaults or {})
    return analysis.run()


def summarise(tree: ast.FunctionDef, resolve, rule_of=lambda obj: None, summary_of=lambda func: None,
              returns_view=lambda obj: False, mutates=lambda obj: None, mutable_defaults=None,
              owner: type | None = None, instance=None) -> Summary:
    """The Summary of a function for its callers (raises OwnershipError where `analyse` would); `owner`: the class
    whose method it is (`self.forward(x)` in it is read as that class's function, and its subclasses').

        >>> tree = ast.parse("def f(p):\\n    q = p\\n    q += 1.0\\n    return q * 2.0").body[0]
        >>> summarise(tree, lambda n: None)
        Summary(returns_fresh=True, updated_params=frozenset({'p'}))
    """
    analysis = _Analysis(tree, resolve, rule_of, summary_of, returns_view=returns_view, mutates=mutates)
    analysis.summarising = True
    analysis.owner = owner if instance is None else type(instance)
    analysis.defining = owner
    analysis.instance = instance
    analysis.mutable_defaults = dict(mutable_defaults or {})
    analysis.run()
    returned = analysis.reach(analysis.returned)
    fresh = not any(_is_external(site) for site in returned)
    outside = _rebound_outside(tree) or analysis.changes_outside or _nested_changes(tree, resolve)
    certain = frozenset(analysis.updated_params)
    deferred = tuple(analysis.deferred.values())
    given = frozenset().union(*(entry.params(callees.ALL) for entry in deferred))
    updated, shallow = certain | given, certain - analysis.deep_params - given
    return Summary(fresh, updated, EXTERNAL in returned, outside, shallow, deferred, certain)


def _rebound_outside(tree) -> str:
    """How `tree` rebinds a name outside itself (`global SAVED` ... `SAVED = v`), or ""."""
    declared = {n for s in walk(tree) if isinstance(s, ast.Global | ast.Nonlocal) for n in s.names}
    for n in walk(tree):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load) and n.id in declared:
            return f"rebinds `{n.id}` (line {n.lineno}), a {'global' if _declared_global(tree, n.id) else 'captured'} name"
    return ""


def _nested_changes(tree, resolve) -> str:
    """How a function or lambda defined inside `tree` may change something outside `tree`: a `global` or
    `nonlocal`, or a store into an item or attribute of, `+=` on, or a method that changes (`.append`) a name
    neither function binds (a global or captured object: `resolve` tells modules, `s2s.add(...)`, apart), or ""."""
    bound = {n.id for n in walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del)} \
        | {a.arg for a in walk(tree) if isinstance(a, ast.arg)}

    def outer(node):
        root = _root(node)
        return root is not None and root not in bound and not isinstance(resolve(root), types.ModuleType)

    for inner in walk(tree):
        if inner is tree or not isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        for n in walk(inner):
            stores = isinstance(n, ast.Subscript | ast.Attribute) and isinstance(n.ctx, ast.Store) and outer(n)
            updated = isinstance(n, ast.AugAssign) and outer(n.target)
            mutating = isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) \
                and n.func.attr in MUTATING_METHODS and outer(n.func.value)
            if stores or updated or mutating or isinstance(n, ast.Global | ast.Nonlocal):
                return f"defines a function that may change something (line {n.lineno}: `{ast.unparse(n)}`)"
    return ""


def _unread_summary(func, summary_of) -> Summary:
    """What a caller can tell, for changes outside it, of a function whose summary s2s could not make: a
    decorated wrapper (`functools.wraps`: `w(*a, **k)`, read as the function it wraps, the `__wrapped__` chain)
    changes what that function changes; of anything else nothing is known here (the caller's other checks
    stand)."""
    wrapped = getattr(func, "__wrapped__", None)
    for _ in range(4):
        if not isinstance(wrapped, types.FunctionType):
            break
        inner = summary_of(wrapped)
        if inner is not None:
            return Summary(False, frozenset(), True, inner.changes_outside and f"wraps {wrapped.__name__}, which "
                                                                              f"{inner.changes_outside}")
        wrapped = getattr(wrapped, "__wrapped__", None)
    return Summary(False, frozenset(), True, "")


def _declared_global(tree, name) -> bool:
    return any(isinstance(s, ast.Global) and name in s.names for s in walk(tree))


def _is_external(site) -> bool:
    return site == EXTERNAL or isinstance(site, tuple) and site[0] in ("param", "held")


def _params(tree):
    a = tree.args
    return [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x]]


def _stored_names(target) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Tuple | ast.List):
        return set().union(*(_stored_names(t) for t in target.elts)) if target.elts else set()
    if isinstance(target, ast.Starred):
        return _stored_names(target.value)
    return set()


def _loads(node, helpers=None) -> set[str]:
    names = {n.id for n in walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    for name in names & set(helpers or ()):
        names |= helpers[name]  # calling a local function reads what its body reads
    return names


def _store_targets(targets):
    """The subscript and attribute targets among `targets`, also inside tuple and list targets."""
    out = []
    for t in targets:
        if isinstance(t, ast.Tuple | ast.List):
            out += _store_targets(t.elts)
        elif isinstance(t, ast.Starred):
            out += _store_targets([t.value])
        elif not isinstance(t, ast.Name):
            out.append(t)
    return out


_CHANGED_WITHOUT_A_COPY = (np.nan_to_num,)  # functions that change their first argument in place given copy=False


def changes_without_a_copy(callee, call) -> bool:
    """Whether `call` of `callee` may change its first argument in place for want of a copy: `np.nan_to_num(x,
    copy=False)`, copy given by position, `*args` or `**options` (read by `transforms/unchanged.py` too)."""
    return any(callee is f for f in _CHANGED_WITHOUT_A_COPY) and _copy_maybe_false(call, 1)


def _copy_maybe_false(call, position: int) -> bool:
    """Whether `call` may pass `copy` other than True: a `copy=` keyword that is not the literal True, an argument
    at copy's `position`, or starred arguments or keywords (`*args`, `**options`) that may hold it."""
    return len(call.args) > position or _copy_keyword_maybe_false(call)


def _copy_keyword_maybe_false(call) -> bool:
    """`_copy_maybe_false` but for a positional `copy`: a `copy=` keyword not the literal True, `*args` or `**options`."""
    return any(isinstance(a, ast.Starred) for a in call.args) or any(
        k.arg is None or k.arg == "copy" and not (isinstance(k.value, ast.Constant) and k.value.value is True)
        for k in call.keywords)


# functions that return a container of their argument's items or views (the container is new, its items are not)
_LISTS_OF_VIEWS = tuple(f for f in (np.split, np.array_split, np.hsplit, np.vsplit, np.dsplit, getattr(np, "unstack", None),
                                    np.broadcast_arrays, list, tuple, sorted, reversed, dict, zip, enumerate, map, iter)
                        if f is not None)


def _base(node):
    """The node at the bottom of `a[i].b[j]` (a name, a call, a display...)."""
    while isinstance(node, ast.Subscript | ast.Attribute | ast.Starred):
        node = node.value
    return node


def _call_receiver_hint(method, receiver, call) -> str:
    """The hint for `f(x).method(...)` changing what a call gave back: a new value made by NumPy, under a name."""
    args = list(call.args)
    if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name) and receiver.func.id == "type" and args:
        receiver = args.pop(0)  # (`type(y).sort(y)`: the method of y's class, called on y)
    made = {"sort": f"np.sort({ast.unparse(receiver)})",
            "fill": f"np.full_like({ast.unparse(receiver)}, {ast.unparse(args[0]) if args else '...'})"}
    if method not in made:
        return (f"compute the new value from `{ast.unparse(receiver)}` with a function that returns it, give it a "
                "name and read that; where the array itself must change, assign its new entries to it (`y[...] = "
                "...`, y the array the call read)")
    return (f"compute the new value and give it a name (`v = {made[method]}`), then read `v`; where the array itself "
            "must change, assign its new entries to it (`y[...] = ...`, y the array the call read)")


def _root(node):
    """The name at the bottom of `a[i][j].b`, or None."""
    while isinstance(node, ast.Subscript | ast.Attribute | ast.Starred):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


class _Analysis:
    def __init__(self, tree, resolve, rule_of, summary_of, local_helpers=None, local_bodies=None,
                 returns_view=lambda obj: False, mutates=lambda obj: None):
        self.tree = tree
        self.local_helpers = dict(local_helpers or {})  # name -> names its body reads
        self.local_bodies = dict(local_bodies or {})  # name -> (parameters, returned expression)
        self.expanding = set()  # local functions being evaluated (one calling another is refused elsewhere)
        self.resolve = resolve
        self.rule_of = rule_of
        self.returns_view = returns_view
        self.mutates = mutates
        self.summary_of = summary_of
        self.returned = set()  # sites a return statement may give back
        self.updated_params = set()
        self.deep_params = set()  # updated parameters of which an object held in the argument may change
        self.params = _params(tree)
        self.locals = set(self.params) | set(self.local_helpers)
        self.loops = []  # enclosing `for` loops over unnamed sequences: (node, sites of their elements)
        for n in walk(tree):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                self.locals.add(n.id)
        self.contents: dict[object, set] = {EXTERNAL: {EXTERNAL}}
        self.live_after: dict[int, frozenset] = {}
        self.findings: dict[int, list[Update]] = {}
        self.recording = False
        self.current = None  # the statement being analysed
        self.summarising = False  # for a caller (summarise): a change outside is noted, not refused
        self.mutable_defaults = {}  # parameter -> the type name of its default, a list, dict, set or array
        self.env_now = None  # the points-to sets at the call being looked at (call_sites)
        self.changes_outside = ""
        self.read_only = {}  # site -> the call that made it, a view NumPy makes read-only (np.broadcast_to's)
        self.instances = {}  # site -> the class of yours `Model(...)` made it an object of
        self.owner = None  # summarising a method: its class
        self.defining = None  # summarising a method: the class that defines it (what `super()` follows)
        self.instance = None  # summarising a method for the object it is called on: that object
        self.containers = set()  # sites certainly a list, dict or set (a display, a comprehension, `list(...)`)
        self.deferred = {}  # id(call) -> callees.Deferred: a call of a callee reached from a parameter
        stored = [n.id for n in walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)]
        # (a function defined inside: a value of the function, called as one s2s cannot name)
        self.nested = {n.name for n in walk(tree) if isinstance(n, ast.FunctionDef) and n is not tree}
        self.rebound = set(self.params) & set(stored)  # parameters bound again in the body
        self.aliases = _callee_aliases(tree, stored)  # `fn = self.g` (bound once): fn -> ("self", steps)
        self.expanded_bodies = {}  # id(call of a local function of one expression) -> (call, its body as called)
        self.factories = self.made_by_factories(tree, stored)  # `f = make_scale(3.0)` (bound once): f -> make_scale

    # ---- liveness (backward) ------------------------------------------------------------------------
    def loads(self, node):
        return _loads(node, self.local_helpers)

    def liveness(self, stmts, out, loops):
        live = set(out)
        for s in reversed(stmts):
            live = self.live_stmt(s, live, loops)
        return live

    def live_stmt(self, s, out, loops):
        self.live_after[id(s)] = frozenset(out) | self.live_after.get(id(s), frozenset())
        if isinstance(s, ast.If):
            return self.loads(s.test) | self.liveness(s.body, out, loops) | self.liveness(s.orelse, out, loops)
        if isinstance(s, ast.For | ast.While):
            head = self.loads(s.iter if isinstance(s, ast.For) else s.test)
            state = set(out) | head
            while True:
                body_in = self.liveness(s.body, state, loops + [(frozenset(out), frozenset(state))])
                if isinstance(s, ast.For):
                    body_in = (body_in - _stored_names(s.target)) | head
                new = state | body_in | self.liveness(s.orelse, out, loops)
                if new == state:
                    return new
                state = new
        if isinstance(s, ast.Break | ast.Continue):
            return set().union(*(a | b for a, b in loops[-1:])) if loops else set(out)
        if isinstance(s, ast.Return):
            # the caller still holds the arguments: what they hold (`o.h = h`, then `h *= x`) is read after
            return (self.loads(s.value) if s.value is not None else set()) | set(self.params)
        if isinstance(s, ast.Raise):
            return self.loads(s)
        if isinstance(s, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            return (set(out) - {s.name}) | self.loads(s)
        defs = set()
        if isinstance(s, ast.Assign):
            for t in s.targets:
                defs |= _stored_names(t)
        elif isinstance(s, ast.AnnAssign) and s.value is not None:
            defs |= _stored_names(s.target)
        return (set(out) - defs) | self.loads(s) | ({s.target.id} if isinstance(s, ast.AugAssign) and
                                                 isinstance(s.target, ast.Name) else set())

    # ---- points-to (forward) ------------------------------------------------------------------------
    def run(self):
        self.liveness(self.tree.body, set(self.params), [])
        # each parameter is its own site, which may hold anything external; parameters and globals may
        # still be one object at run time, so an update of one counts as an update of all (see update())
        env = {p: frozenset({("param", p)}) for p in self.params}
        for p in self.params:  # what a parameter holds (its elements, at any depth) is held by it too
            self.contents[("param", p)] = {("held", p)}
            self.contents[("held", p)] = {("held", p)}
        bound = frozenset(self.params)
        while True:
            before = sum(len(v) for v in self.contents.values()), len(self.contents)
            self.block(self.tree.body, dict(env), bound)
            if (sum(len(v) for v in self.contents.values()), len(self.contents)) == before:
                break
        self.recording = True
        self.block(self.tree.body, dict(env), bound)
        return self.findings

    def block(self, stmts, env, bound):
        for s in stmts:
            self.current = s
            env, bound = self.stmt(s, env, bound)
        return env, bound

    @staticmethod
    def join(a, b):
        (env_a, bound_a), (env_b, bound_b) = a, b
        env = dict(env_a)
        for k, v in env_b.items():
            env[k] = env.get(k, frozenset()) | v
        return env, bound_a & bound_b

    def stmt(self, s, env, bound):
        if isinstance(s, ast.If):
            self.check_call_effects(s.test, env)  # (`if np.copyto(y, v) is None:` changes y as a statement would)
            self.pts(s.test, env)
            return self.join(self.block(s.body, dict(env), bound), self.block(s.orelse, dict(env), bound))
        if isinstance(s, ast.For | ast.While):
            unnamed = isinstance(s, ast.For) and not isinstance(s.iter, ast.Name) and not self.is_range(s.iter)
            self.check_call_effects(s.iter if isinstance(s, ast.For) else s.test, env)
            if isinstance(s, ast.For):
                elements = self.reach(self.pts(s.iter, env))
                if unnamed:
                    self.loops.append((s, elements))
            else:
                self.pts(s.test, env)
            state = (dict(env), bound)
            while True:
                entry_env = dict(state[0])
                entry_bound = state[1]
                if isinstance(s, ast.For):
                    entry_env, entry_bound = self.bind(s.target, elements, entry_env, entry_bound, unpack=True)
                after = self.block(s.body, entry_env, entry_bound)
                new = self.join(state, after)
                new = (new[0], state[1])  # a loop body may run zero times: nothing is bound by it for sure
                if new[0] == state[0]:
                    break
                state = new
            state = (state[0], bound)
            if unnamed:
                self.loops.pop()
            return self.block(s.orelse, *state) if s.orelse else state
        if isinstance(s, ast.Assign):
            self.check_call_effects(s.value, env, statement=s, bound=bound)
            value = self.pts(s.value, env)
            parts = self.parts(s.value, env)  # every right-hand side before any name is bound: `a, b = b, a`
            for t in _store_targets(s.targets):  # `y[i] = v`, also inside `y[i], b = v, w`
                self.update(s, t, env, bound, deep=False)
                root = _root(t)
                held = value if t in s.targets else self.elements(value)
                for site in env.get(root, ()):  # the container now holds the value
                    self.contents.setdefault(site, set()).update(held)
            for t in s.targets:
                env, bound = self.assign_pattern(t, s.value, value, parts, env, bound)
            return env, bound
        if isinstance(s, ast.AnnAssign):
            if s.value is None:
                return env, bound
            return self.stmt(ast.copy_location(ast.Assign(targets=[s.target], value=s.value), s), env, bound)
        if isinstance(s, ast.AugAssign):
            self.check_call_effects(s.value, env)
            value = self.pts(s.value, env)
            if isinstance(s.target, ast.Name):
                self.update(s, s.target, env, bound, deep=False)
                name = s.target.id
                old = env.get(name, frozenset({EXTERNAL}) if name not in self.locals else frozenset())
                # `a += b` keeps a's object where it is mutable (arrays, lists: which then hold b's
                # elements too) and makes a new one otherwise (numbers, tuples)
                site = ("new", id(s))
                for o in old | {site}:
                    self.contents.setdefault(o, set()).update(self.elements(value))
                env = dict(env)
                env[name] = old | {site}
                return env, bound | {name}
            self.update(s, s.target, env, bound, deep=True)
            return env, bound
        if isinstance(s, ast.Expr):
            self.check_call_effects(s.value, env, statement=s, bound=bound)
            self.pts(s.value, env)
            return env, bound
        if isinstance(s, ast.Return | ast.Raise | ast.Assert):
            for child in ast.iter_child_nodes(s):
                if isinstance(child, ast.expr):
                    self.check_call_effects(child, env)
                    sites = self.pts(child, env)
                    if isinstance(s, ast.Return):
                        self.returned |= sites
            return env, bound
        if isinstance(s, ast.FunctionDef):
            env = dict(env)
            env[s.name] = frozenset()
            return env, bound | {s.name}
        return env, bound

    def parts(self, value, env):
        """{id(node): sites} for the elements of a tuple or list display, at every depth."""
        out = {}
        if isinstance(value, ast.Tuple | ast.List):
            for v in value.elts:
                out[id(v)] = self.pts(v, env)
                out.update(self.parts(v, env))
        return out

    def assign_pattern(self, target, value, sites, parts, env, bound):
        """Bind `target` to `value` (whose sites are `sites`), element by element where both are displays."""
        if isinstance(target, ast.Tuple | ast.List) and isinstance(value, ast.Tuple | ast.List) and \
                len(target.elts) == len(value.elts) and \
                not any(isinstance(e, ast.Starred) for e in target.elts + value.elts):
            for t, v in zip(target.elts, value.elts):
                env, bound = self.assign_pattern(t, v, parts[id(v)], parts, env, bound)
            return env, bound
        return self.bind(target, sites, env, bound, unpack=True)

    def bind(self, target, sites, env, bound, unpack=False):
        """Bind `target` to an object among `sites` (`unpack`: to elements of it, for tuple targets)."""
        if isinstance(target, ast.Name):
            env = dict(env)
            env[target.id] = frozenset(sites)
            return env, bound | {target.id}
        if isinstance(target, ast.Tuple | ast.List):
            inner = self.elements(sites) if unpack else sites
            for t in target.elts:
                env, bound = self.bind(t, inner, env, bound, unpack=True)
            return env, bound
        if isinstance(target, ast.Starred):
            site = ("new", id(target))
            self.contents.setdefault(site, set()).update(sites)
            return self.bind(target.value, {site}, env, bound)
        return env, bound

    def elements(self, sites):
        """Sites that the elements of (or views into) an object among `sites` may be."""
        out = set(sites)
        for s in sites:
            out |= self.contents.get(s, set())
        return out

    def reach(self, sites):
        """Every site reachable from `sites` through containers and views."""
        out, todo = set(), list(sites)
        while todo:
            s = todo.pop()
            if s in out:
                continue
            out.add(s)
            todo.extend(self.contents.get(s, ()))
        return out

    def new(self, node, holds=()):
        site = ("new", id(node))
        self.contents.setdefault(site, set()).update(holds)
        return frozenset({site})

    def container(self, node, holds):
        """The site of a list, tuple, dict or set `node` makes, holding `holds`."""
        made = self.new(node, holds)
        self.containers.update(made)
        return made

    def name_sites(self, name, env):
        if name in env:
            return env[name]
        if name in self.locals:
            return frozenset()  # not bound yet on this path
        return frozenset() if not self.is_data(name) else frozenset({EXTERNAL})

    def is_data(self, name):
        """Whether a free name may refer to an array, list or other mutable value."""
        return _is_data_object(self.resolve(name))

    def pts(self, e, env) -> frozenset:
        """The sites the value of expression `e` may be."""
        if e is None or isinstance(e, ast.Constant):
            return frozenset()
        if isinstance(e, ast.Name):
            return self.name_sites(e.id, env)
        if isinstance(e, ast.Attribute):
            base = self.pts(e.value, env)
            if e.attr in ("shape", "ndim", "size", "dtype", "nbytes", "itemsize"):
                return frozenset()
            root = _root(e)
            if root is not None and root not in self.locals:  # an attribute of a module, class or global object
                obj = self.resolve_call(e)
                return frozenset({EXTERNAL}) if obj is _UNKNOWN or _is_data_object(obj) else frozenset()
            return frozenset(self.reach(base))
        if isinstance(e, ast.Subscript):
            self.pts(e.slice, env)
            return frozenset(self.reach(self.pts(e.value, env)))
        if isinstance(e, ast.BinOp):
            left, right = self.pts(e.left, env), self.pts(e.right, env)
            floats = any(isinstance(o, ast.Constant) and isinstance(o.value, float) for o in (e.left, e.right))
            if not isinstance(e.op, ast.Add | ast.Mult | ast.BitOr) or floats:
                return self.new(e)  # arithmetic: a new array or number
            # `+`, `*` and `|` also concatenate, repeat and merge lists, tuples and dicts: the result holds
            # their elements
            return self.new(e, self.elements(left) - left | self.elements(right) - right)
        if isinstance(e, ast.UnaryOp | ast.Compare):
            for child in ast.iter_child_nodes(e):
                if isinstance(child, ast.expr):
                    self.pts(child, env)
            return self.new(e)
        if isinstance(e, ast.BoolOp):
            return frozenset().union(*(self.pts(v, env) for v in e.values))
        if isinstance(e, ast.IfExp):
            self.pts(e.test, env)
            return self.pts(e.body, env) | self.pts(e.orelse, env)
        if isinstance(e, ast.List | ast.Tuple | ast.Set):
            holds = set()
            for elt in e.elts:
                sites = self.pts(elt, env)
                holds |= self.elements(sites) if isinstance(elt, ast.Starred) else sites
            return self.container(e, holds)
        if isinstance(e, ast.Starred):
            return self.pts(e.value, env)
        if isinstance(e, ast.Dict):
            holds = set()
            for k, v in zip(e.keys, e.values):
                self.pts(k, env)
                holds |= self.pts(v, env) if k is not None else self.elements(self.pts(v, env))
            return self.container(e, holds)
        if isinstance(e, ast.ListComp | ast.DictComp | ast.SetComp | ast.GeneratorExp | ast.Lambda):
            inner = set()
            for name in _loads(e):
                inner |= self.reach(self.name_sites(name, env))
            inner_env = self.comprehension_env(e, env)
            for call in walk(e):  # (`[cb(v) for v in xs]`: what the calls inside may change)
                if isinstance(call, ast.Call) and call is not e:
                    self.callees_change_outside(call)
                    if inner_env is not None:  # (`[f(v) for f in fs]`, `[double(v) for v in [z]]`)
                        self.comprehension_call(call, inner_env, env)
            if isinstance(e, ast.Lambda | ast.GeneratorExp):
                return self.new(e, inner | {EXTERNAL} if isinstance(e, ast.Lambda) else inner)
            return self.container(e, inner)
        if isinstance(e, ast.Call):
            return self.call_sites(e, env)
        if isinstance(e, ast.NamedExpr):
            return self.pts(e.value, env)
        if isinstance(e, ast.Yield | ast.YieldFrom):  # what a generator yields is what its caller collects
            sites = self.pts(e.value, env)
            self.returned |= sites if isinstance(e, ast.Yield) else self.elements(sites)
            return frozenset({EXTERNAL})  # the value sent in
        if isinstance(e, ast.JoinedStr | ast.FormattedValue | ast.Slice):
            for child in ast.iter_child_nodes(e):
                if isinstance(child, ast.expr):
                    self.pts(child, env)
            return frozenset()
        return frozenset({EXTERNAL})

    def call_sites(self, e, env):
        self.env_now = env
        args = [self.pts(a, env) for a in e.args] + [self.pts(k.value, env) for k in e.keywords]
        if self.summarising:
            self.note_unknown_callee(e, env, args)
        reached = set().union(*(self.reach(a) for a in args)) if args else set()
        func = e.func
        if isinstance(func, ast.Attribute) and func.attr == "global_value" and annotations.is_helper(func.value):
            return frozenset({EXTERNAL})  # (a global's value, `global H; H.append(v)`: the module's, not the function's)
        if isinstance(func, ast.Name) and func.id in self.local_bodies and func.id not in self.expanding \
                and not e.keywords and not any(isinstance(a, ast.Starred) for a in e.args):
            params, body = self.local_bodies[func.id]
            if len(params) == len(e.args):  # s2s expands the call in place: its value is the body's
                inner = dict(env)
                inner.update(zip(params, args))
                # (a parameter it calls is the function the call gives, `g(x, np.tanh)` of `def g(z, f): return
                # f(z)`; the others are its own names, not a global of that name)
                # (made once per call: the loops' fixed point reads the same nodes, whose sites are theirs)
                if id(e) not in self.expanded_bodies:
                    called = {n.func.id for n in walk(body) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
                    given = {p: a for p, a in zip(params, e.args) if p in called}
                    self.expanded_bodies[id(e)] = (e, substituted(body, given) if given else body)
                body = self.expanded_bodies[id(e)][1]
                shadowed = set(params) - self.locals
                self.expanding.add(func.id)
                self.locals |= shadowed
                try:
                    return self.pts(body, inner)
                finally:
                    self.expanding.discard(func.id)
                    self.locals -= shadowed
        if isinstance(func, ast.Attribute) and not self.is_module_path(func):
            held = self.resolve_call(func)  # a function held by a global namespace or class (`NS.bump()`)
            if isinstance(held, types.FunctionType):
                self.callee_changes_outside(e, held, self.summary_or_unread(held))
                summary = self.summary_of(held)
                instance = self.method_object(held, e) if summary is not None and not self.summarising else None
                if instance is not None:  # (`Net.forward(NET, W, x)`: what NET holds, `self.act = np.tanh`)
                    summary = self.reader.summary(held, instance=instance) or summary
                if summary is not None:  # (`Static.run(w)` may update w as a function called by name would)
                    self.callee_updates(e, held, summary, env)
            elif isinstance(held, types.MethodType) and isinstance(held.__func__, types.FunctionType) \
                    and not self.summarising:  # (`RUNNER.run(w)`: its object bound first)
                summary = self.reader.summary(
                    held.__func__, instance=held.__self__)
                if summary is not None:
                    with_self = ast.copy_location(ast.Call(func=e.func, args=[ast.Constant(None), *e.args],
                                                           keywords=e.keywords), e)
                    self.callee_updates(with_self, held.__func__, dataclasses.replace(
                        summary, updated_params=summary.updated_params - set(_params_of(held.__func__)[:1])), env)
            elif self.summarising and self.owner is not None:
                # in a method, `self.forward(x)` is its class's function or a subclass's (whose summaries say what
                # they change), `self.fn(v)` a function the object holds, which may change what it is given (under
                # any name: `self.get = np.ndarray.fill`)
                changes_arguments, changes_object = self.own_method_changes(func, e)
                given = set().union(*(self.reach(a) for a in args)) if changes_arguments and args else set()
                if EXTERNAL in given:
                    self.outside(e, f"passes a value to `{ast.unparse(func)}` (line {e.lineno}), a function s2s "
                                    "cannot see, and it may be a global or captured value")
                if changes_object:
                    given |= self.reach(self.pts(func.value, env))
                self.record_params(given - {EXTERNAL})
            receiver = self.pts(func.value, env)
            if any(k.arg == "copy" for k in e.keywords):
                return self.new(e, self.reach(receiver)) | self.reach(receiver)  # copy=False may hand x back
            # the receiver may be an object of yours, whose method of any name may hand back an argument
            # (`o.get(y)` is y): the arguments count among what the result may be (a global one only for
            # the dict methods that hand back their default, so that `x.dot(W)` of a global W stays new)
            if func.attr not in ("get", "pop", "setdefault"):
                reached = reached - {EXTERNAL}
            if func.attr in ("get", "pop", "setdefault") and receiver and receiver <= self.containers:
                # (a list's, dict's or set's own: one of its items, or the default given; not the object itself,
                # though an item put there in a way s2s does not follow, `list(map(L.append, xs))`, may be anything)
                items = set().union(*(self.contents.get(site, set()) for site in receiver))
                return frozenset(items) | reached | {EXTERNAL}
            if func.attr in _FRESH_METHODS:
                return self.new(e) | reached
            if func.attr == "copy":  # a new array, or a shallow copy of a list or dict: the same elements
                return self.new(e, self.elements(receiver) - receiver) | reached
            if func.attr in _VIEW_METHODS:
                return frozenset(self.reach(receiver)) | reached
            return self.new(e, self.reach(receiver) | reached | {EXTERNAL}) | self.reach(receiver) | {EXTERNAL}
        obj = self.resolve_call(func)
        if _hashable(obj) and obj in _CALLING_BUILTINS:
            # (sorted, min and max call their `key=` only: `min(i + k, n)` calls nothing)
            given = [k.value for k in e.keywords if k.arg == "key"] or (e.args[:1] if obj in _FIRST_CALLED else [])
            if given:  # (`map(f, [v])` calls f with v: as `f(*[v])` would)
                items = [a for a in [*e.args, *(k.value for k in e.keywords)] if a is not given[0]]
                # (map's iterables give the positional arguments in order; a key function takes one; reduce's
                # function gets its running value, the initial one or an item, and an item: either, at either key)
                if obj is functools.reduce and items:
                    items = [ast.copy_location(ast.Starred(value=items[0], ctx=ast.Load()), items[0]), *items[1:]]
                as_called = ast.copy_location(ast.Call(func=given[0], args=items, keywords=[]), e)
                value = self.resolve_call(given[0]) if isinstance(given[0], ast.Name | ast.Attribute) else _UNKNOWN
                if self.summarising:
                    self.note_unknown_callee(as_called, env, [self.pts(a, env) for a in items])
                elif value is not _UNKNOWN:
                    self.keys_updated(as_called, value, callees.changed_keys(value, self.reader), env)
        if self.summarising:
            self.note_dynamic_call(e, func, obj)
        else:
            self.refuse_changing_call(e, func, obj)
        for given in [*e.args, *(k.value for k in e.keywords)]:  # `sorted(xs, key=cb)`, `filter(cb, xs)`: cb is called
            value = self.resolve_call(given) if isinstance(given, ast.Name | ast.Attribute) else _UNKNOWN
            if isinstance(value, types.FunctionType):
                self.callee_changes_outside(e, value, self.summary_or_unread(value))
        made = self.static_value(func) if obj is _UNKNOWN and isinstance(func, ast.Call) else obj
        if obj is _UNKNOWN and isinstance(func, ast.Call) and made is _UNKNOWN \
                and isinstance(func.func, ast.Name | ast.Attribute) and not self.summarising:
            factory = self.resolve_call(func.func)  # (`get_double()(w)`: what the function it returns changes)
            if isinstance(factory, types.FunctionType):
                from .desugar import returned_function_keys
                found = returned_function_keys(factory)
                if found is not callees.ALL:  # (else a function value: checked where it runs, s2s.call_vjp)
                    self.keys_updated(e, factory, found, env)
        if not isinstance(made, types.FunctionType | type | types.ModuleType) and callable(made) \
                and (isinstance(made, functools.partial) or callees.is_callable_object(made)):
            # (`PARTIAL(w)` of `functools.partial(double)`, `functools.partial(apply, double)(w)`, a layer object)
            self.keys_updated(e, made, callees.changed_keys(made, self.reader), env)
        self.check_held_callee(e, obj)
        if obj is _UNKNOWN or isinstance(func, ast.Name) and func.id in self.locals:
            return self.new(e, reached | {EXTERNAL}) | reached | {EXTERNAL}
        if not _hashable(obj):
            return self.new(e, reached | {EXTERNAL}) | reached | {EXTERNAL}
        if isinstance(obj, np.ufunc) or _hashable(obj) and obj in _VALUE_BUILTINS:
            return self.new(e)
        if _hashable(obj) and obj in _SELECTING_BUILTINS:
            return frozenset(self.elements(set().union(*args))) if args else frozenset()
        if obj in (list, dict):
            return self.container(e, reached)
        if _hashable(obj) and obj in _CONTAINER_BUILTINS:
            return self.new(e, reached)
        if _is_stop_gradient(obj):
            return frozenset(reached)
        if self.returns_view(obj) or any(k.arg in ("copy", None) and not (isinstance(k.value, ast.Constant)
                                                                         and k.value.value is True)
                                         for k in e.keywords):  # copy=False (or `**opts`): maybe the argument
            made = self.new(e, reached)
            if obj is np.broadcast_to:
                self.read_only.update((site, e) for site in made)
            return made | reached
        if self.rule_of(obj) or isinstance(obj, types.BuiltinFunctionType) and getattr(obj, "__module__", "") == "math" \
                or _hashable(obj) and obj in _FRESH_OBJECTS:  # (`rng = np.random.default_rng(42)`: its own)
            return self.new(e)
        if _class_with_own_new(obj):  # (`__new__` may hand back anything; what it changes, its summary says)
            new = inspect.getattr_static(obj, "__new__")
            new = new.__func__ if isinstance(new, staticmethod) else new
            summary = self.summary_of(new) if isinstance(new, types.FunctionType) else None
            if summary is None:
                summary = Summary(False, frozenset(_params_of(new)), True, "", certain=frozenset(_params_of(new)))
            with_cls = ast.copy_location(ast.Call(func=e.func, args=[ast.Constant(None), *e.args],
                                                  keywords=e.keywords), e)
            if isinstance(new, types.FunctionType):
                self.callee_changes_outside(e, new, summary)
                self.callee_updates(with_cls, new, summary, env)
            self.check_init(e, obj, env, stores=False)  # (a namedtuple's fields are descriptors nothing stores into)
            return self.new(e, reached | {EXTERNAL}) | reached | {EXTERNAL}
        if _plain_record_class(obj):  # (a new dataclass, which holds what it is given, or a default factory's or its
            # methods' objects: transforms/objects.py builds it)
            return self.new(e, reached | {EXTERNAL})
        if _plain_class(obj):  # (a new object, which may hold the arguments or globals)
            self.check_init(e, obj, env)
            made = self.new(e, reached | {EXTERNAL})
            self.instances.update(dict.fromkeys(made, obj))
            return made
        summary = self.summary_of(obj) if isinstance(obj, types.FunctionType) else None
        instance = self.method_object(obj, e) if summary is not None and not self.summarising else None
        if instance is not None:  # (`forward(NET, W, x)` of a global object NET: its `self.act(v)` is what NET holds)
            summary = self.reader.summary(obj, instance=instance) or summary
        if summary is None and isinstance(obj, types.FunctionType):
            self.callee_changes_outside(e, obj, self.summary_or_unread(obj))
            wrapped = _wrapped_function(obj)  # (a functools.wraps wrapper passes its arguments on)
            inner = self.summary_of(wrapped) if wrapped is not None else None
            if inner is not None:
                self.callee_updates(e, wrapped, inner, env)
        if summary is not None:
            self.callee_changes_outside(e, obj, summary)
            self.callee_updates(e, obj, summary, env)
            if summary.returns_fresh:  # new objects, though one may be held twice (`[v * 1.0] * 2`)
                return self.new(e, {("new", id(e), "inner")})
            return self.new(e, reached | ({EXTERNAL} if summary.returns_global else set())) | reached | \
                ({EXTERNAL} if summary.returns_global else set())
        # a user function or anything else: may return (a part of) an argument or a global
        return self.new(e, reached | {EXTERNAL}) | reached | {EXTERNAL}

    # ---- callees this function cannot name (transforms/callees.py) -----------------------------------
    @property
    def reader(self) -> callees.Reader:
        from .desugar import returned_function_keys
        return callees.Reader(self.summary_of, self.rule_of, self.mutates, changes_nothing, changes_anything,
                              frozenset(MUTATING_METHODS), returned_function_keys)

    def param_names(self, sites) -> frozenset:
        """The parameters whose objects (or what they hold) `sites` may be."""
        return frozenset(site[1] for site in self.reach(sites)
                         if isinstance(site, tuple) and len(site) == 2 and site[0] in ("param", "held"))

    def note_unknown_callee(self, e, env, args):
        """Summarising: a call may change what it is given (a bound method, its object). Where its callee is
        reached from a parameter never rebound (`f(v)`, `o.forward(v)`, `fn = o.g; fn(v)`), the caller, which
        knows what it passes, settles it (a callees.Deferred entry); where the callee can be named here (a global
        object's method, the function of a local object's class), its summary tells; a callee of anything else
        (a function in a local list, a method of a value a call made) may change every parameter it is given."""
        func = e.func
        starred = any(isinstance(a, ast.Starred) for a in e.args) or any(k.arg is None for k in e.keywords)
        keys = [*range(len(e.args)), *(k.arg or "**" for k in e.keywords)]
        given = tuple((key, self.param_names(sites)) for key, sites in zip(keys, args) if self.param_names(sites))
        # (a method's object; a function value's own, which may hold what it changes: `f()` of `f = w.sort`)
        receiver = self.param_names(self.pts(func.value if isinstance(func, ast.Attribute | ast.Subscript) else func,
                                             env))
        if not given and not receiver:
            return
        changes = self.callee_keys(func, env)
        if changes == set():
            return
        path = self.path_of(func)
        entry = callees.Deferred(*(path or ("", ())), given, receiver, starred)
        if changes is _DEFER:
            if self.recording:
                self.deferred[id(e)] = entry
            return
        updated = entry.params(changes)
        self.updated_params |= updated
        self.deep_params |= updated

    def made_by_factories(self, tree, stored) -> dict:
        """{name: function} for the names bound once in `tree` to what a global function of yours returns."""
        out = {}
        for s in walk(tree):
            if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                    and stored.count(s.targets[0].id) == 1 and isinstance(s.value, ast.Call) \
                    and isinstance(s.value.func, ast.Name | ast.Attribute) and _root(s.value.func) not in self.locals:
                made_by = self.resolve_call(s.value.func)
                if isinstance(made_by, types.FunctionType):
                    out[s.targets[0].id] = made_by
        return out

    def unaliased(self, path):
        """`path` (root, steps) with a root bound once to a path of its own (`fn = self.g`) written as that path."""
        if path is None or path[0] not in self.aliases:
            return path
        root, steps = self.aliases[path[0]]
        return root, steps + path[1]

    def path_of(self, func):
        """(parameter, steps) of a callee reached from a parameter never rebound, through a name bound once to
        such a path (`fn = self.g`) too, else None."""
        path = self.unaliased(callees.callee_path(func))
        if path is None or path[0] not in self.params or path[0] in self.rebound:
            return None
        return path

    def callee_keys(self, func, env):
        """What a call of `func` may change (callees.changed_keys's keys, ALL), set() where other checks read
        it, or _DEFER where a caller settles it."""
        if isinstance(func, ast.Name) and func.id not in self.nested and (
                func.id not in self.locals or func.id in self.local_helpers or func.id in self.local_bodies):
            return set()  # (a global function: call_sites reads its summary; a local one is expanded)
        if isinstance(func, ast.Attribute):
            if self.is_module_path(func):
                return set()
            if _calls_super(func.value):  # `super().__call__(x)`: the function of a class after this one
                method = next((vars(c)[func.attr] for c in (self.defining.__mro__[1:] if self.defining else ())
                               if func.attr in vars(c)), None)
                if not isinstance(method, types.FunctionType):
                    return callees.ALL
                summary = self.summary_of(method)
                return callees.ALL if summary is None else callees.keys_of(method, summary.updated_params, 1)
            root = _root(func)
            if root is not None and root not in self.locals:  # a function or method of a global (`G.forward(v)`)
                held = self.resolve_call(func)
                return set() if held is _UNKNOWN else callees.changed_keys(held, self.reader)
            if self.owner is not None and isinstance(func.value, ast.Name) and func.value.id == self.params[0]:
                # (`self.m(...)`: own_method_changes reads it through the class, or the caller through the object)
                return _DEFER if self.object_decides(func) else set()
            held = self.globally_held_method(func)
            if held is not None:
                return held
            sites = env.get(func.value.id, ()) if isinstance(func.value, ast.Name) else ()
            if sites and all(site in self.instances for site in sites):  # a local object of your class
                return self.class_method_keys(sites, func.attr)
            if func.attr in _BUILTIN_METHOD_NAMES and (isinstance(func.value, ast.Name)
                                                        or func.attr not in MUTATING_METHODS):
                return set()  # (read as an array's, list's or dict's method: what those change is read by name)
        if isinstance(func, ast.Name) and func.id in self.nested:
            return self.nested_def_keys(func.id)
        if isinstance(func, ast.Lambda):  # (`reduce(lambda acc, W: np.tanh(acc @ W), ws, x)`: its body tells)
            return self.lambda_keys(func)
        path = self.path_of(func)
        if path is None and isinstance(func, ast.Name) and func.id in self.factories:
            # (`f = make_scale(3.0)`: what the function the factory returns changes, read from its body)
            from .desugar import returned_function_keys
            return returned_function_keys(self.factories[func.id])
        if path is None:  # (a function value the function makes itself, `f, g = fs`, `d.get("f")`: run as it is,
            return callees.ALL  # nothing checks it)
        if self.instance is not None and path[0] == self.params[0]:
            return callees.changed_keys(callees.follow(self.instance, path[1]), self.reader)
        return _DEFER

    def globally_held_method(self, func):
        """What `layer.forward(...)` may change where `layer` is a local bound once, to a global's item or attribute
        (`layer = LAYERS[0]`, `enc = NET.encoder`) or by a loop over a global list or tuple (`for layer in LAYERS:`):
        the keys of the method of each object it holds, read as `LAYERS[0].forward(...)` is; else None."""
        if not isinstance(func.value, ast.Name) or func.value.id not in self.locals or func.value.id in self.params:
            return None
        name = func.value.id
        stores = [n for n in walk(self.tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
                  and n.id == name]
        if len(stores) != 1:
            return None
        binding = next((s for s in walk(self.tree) if isinstance(s, ast.Assign | ast.For) and
                        (s.targets[0] if isinstance(s, ast.Assign) and len(s.targets) == 1 else getattr(s, "target", None))
                        is stores[0]), None)
        if binding is None:
            return None
        value = binding.value if isinstance(binding, ast.Assign) else binding.iter
        if _root(value) is None or _root(value) in self.locals:
            return None
        if isinstance(binding, ast.Assign):
            reads = [ast.Attribute(value=value, attr=func.attr, ctx=ast.Load())]
        else:
            items = self.resolve_call(value)
            if type(items) not in (list, tuple) or len(items) > 100:
                return None
            reads = [ast.Attribute(value=ast.Subscript(value=value, slice=ast.Constant(k), ctx=ast.Load()),
                                   attr=func.attr, ctx=ast.Load()) for k in range(len(items))]
        keys = set()
        for read in reads:
            held = self.resolve_call(read)
            if held is _UNKNOWN:
                return None
            found = callees.changed_keys(held, self.reader)
            if found is callees.ALL:
                return found
            keys |= found
        return keys

    def method_object(self, func, call):
        """The global object `call` passes first to `func` where `func` is a function of that object's class
        (`Net.forward(NET, W, x)` of a module's object NET), else None."""
        if not call.args or not isinstance(call.args[0], ast.Name) or call.args[0].id in self.locals:
            return None
        obj = self.resolve_call(call.args[0])
        if obj is _UNKNOWN or isinstance(obj, type | types.ModuleType | types.FunctionType):
            return None
        held = inspect.getattr_static(type(obj), func.__name__, None)
        return obj if getattr(held, "__func__", held) is func else None

    def local_function(self, name):
        """The lambda or def `name` is bound to where that is its one binding in the function (`f = lambda z: ...`,
        `def g(v): ...`), else None."""
        if name in self.params:
            return None
        defs = [n for n in walk(self.tree) if isinstance(n, ast.FunctionDef) and n is not self.tree and n.name == name]
        stores = [n for n in walk(self.tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
                  and n.id == name]
        if len(defs) == 1 and not stores:
            return defs[0]
        if not defs and len(stores) == 1:
            bound = [s for s in walk(self.tree) if isinstance(s, ast.Assign) and len(s.targets) == 1
                     and s.targets[0] is stores[0]]
            if bound and isinstance(bound[0].value, ast.Lambda):
                return bound[0].value
        return None

    def nested_def_keys(self, name):
        """What a call of the function `name` defined inside this one may change, read from its body
        (`def inner(v): return v * 2.0` changes nothing): callees.ALL where the name is bound otherwise too
        (twice, or also by an assignment), the def is decorated or takes `*args`, keywords only, `**kwargs` or
        defaults, or its body calls or changes a value of this function (`function_keys`)."""
        made = self.local_function(name)
        if not isinstance(made, ast.FunctionDef) or made.decorator_list:
            return callees.ALL
        args = made.args
        if args.vararg or args.kwarg or args.kwonlyargs or args.defaults:  # (a default: a value of this function)
            return callees.ALL
        return function_keys([a.arg for a in args.posonlyargs + args.args], made.body, self.resolve, self.rule_of,
                             self.summary_of, self.returns_view, self.mutates, frozenset(self.locals | self.nested))

    def method_named_like_an_arrays(self, func, env) -> bool:
        """Whether the method `func` (`OBJ.dot`, `Ops.dot`, `o.take` of `o = K()`) is certainly one of a class of yours
        (or its static or class method), not the array method of its name: its arguments are not NumPy's (`out`
        third)."""
        if isinstance(func.value, ast.Name) and func.value.id in self.locals:
            sites = env.get(func.value.id, ())
            return bool(sites) and all(
                site in self.instances and callees.defines_function(self.instances[site], func.attr) for site in sites)
        found = self.resolve_call(func)
        target = getattr(found, "__func__", found)
        return isinstance(target, types.FunctionType) and (target.__module__ or "").split(".")[0] not in (
            "numpy", "scipy", "s2s", "builtins")

    def method_of_yours(self, func) -> bool:
        """Summarising a method for its object: whether `func` (`self.z.update`) leads from it to a method of a
        class of yours, whose summary tells what it changes (not a dict's `update`)."""
        path = self.path_of(func)
        if self.instance is None or path is None or path[0] != self.params[0]:
            return False
        method = callees.follow(self.instance, path[1])
        return isinstance(method, types.MethodType) and isinstance(method.__func__, types.FunctionType)

    def settled(self, call, func, summary, env):
        """`summary` of the user function `func`, its calls of callees reached from its parameters settled by
        what `call` passes (`apply(np.sin, x)` changes nothing of x; `apply(double, x)` does); passed on, for
        a caller, where this function passes a parameter of its own."""
        if not summary.deferred:
            return summary
        try:
            bound = inspect.signature(func).bind_partial(*range(len(call.args)), **{
                k.arg: k.arg for k in call.keywords if k.arg is not None}).arguments
        except (TypeError, ValueError):
            return callees.settle(summary, lambda entry: callees.ALL)
        passed = {p: call.args[v] if isinstance(v, int) else next(k.value for k in call.keywords if k.arg == v)
                  for p, v in bound.items() if isinstance(v, int | str)}
        starred = any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords)

        def keys(entry):
            node = passed.get(entry.root)
            if starred:
                return set()  # (`f(x, *args)`: s2s.call_plain and s2s.call_vjp check it when the call runs)
            if node is None:
                default = inspect.signature(func).parameters.get(entry.root)
                if default is None or default.default is inspect.Parameter.empty:
                    return callees.ALL
                return callees.changed_keys(callees.follow(default.default, entry.steps), self.reader)
            return self.passed_keys(call, entry, node, entry.steps, passed, env)
        return callees.settle(summary, keys)

    def passed_keys(self, call, entry, node, steps, passed, env):
        """What the callee `steps` lead to from `node`, an argument of `call`, may change: a lambda or local
        function by its body, items of a list or tuple display one by one, a global by its summary, a local value
        as `passed_on` says; ALL where s2s cannot tell."""
        if isinstance(node, ast.List | ast.Tuple) and steps and not any(isinstance(e, ast.Starred) for e in node.elts):
            kind, key = steps[0]
            if kind == "each" or kind == "item" and isinstance(key, int) and -len(node.elts) <= key < len(node.elts):
                keys = set()
                for elt in (node.elts if kind == "each" else [node.elts[key]]):
                    found = self.passed_keys(call, entry, elt, steps[1:], passed, env)
                    if found is callees.ALL:
                        return callees.ALL
                    keys |= found
                return keys
        if isinstance(node, ast.Lambda) and not steps:
            return self.lambda_keys(node)
        if isinstance(node, ast.Name) and node.id in self.local_bodies and not steps:
            return self.body_keys(*self.local_bodies[node.id])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.local_bodies \
                and node.func.id not in self.expanding:  # (`get_double()` of a helper of one `return double`)
            self.expanding.add(node.func.id)
            try:
                return self.passed_keys(call, entry, _expanded(*self.local_bodies[node.func.id], node), steps,
                                        passed, env)
            finally:
                self.expanding.discard(node.func.id)
        if isinstance(node, ast.IfExp):  # (`f if c else g`: either)
            found = [self.passed_keys(call, entry, v, steps, passed, env) for v in (node.body, node.orelse)]
            return callees.ALL if callees.ALL in found else found[0] | found[1]
        if isinstance(node, ast.Name) and not steps:
            made = self.local_function(node.id)  # (`f = lambda z: z * 3.0; apply(f, w)`, `def g(v): ...; apply(g, w)`)
            if isinstance(made, ast.Lambda):
                return self.lambda_keys(made)
            if isinstance(made, ast.FunctionDef):
                return self.nested_def_keys(node.id)
        path = self.unaliased(callees.callee_path(node))  # (`for f in self.fns: apply(f, v)`)
        if path is not None and path[0] in self.locals:
            return self.passed_on(call, entry, passed, env, (path[0], path[1] + steps))
        if isinstance(node, ast.Call) and not steps and isinstance(node.func, ast.Name | ast.Attribute) \
                and isinstance(self.resolve_call(node.func), types.FunctionType):  # (`apply(get_double(), w)`)
            from .desugar import returned_function_keys
            found = returned_function_keys(self.resolve_call(node.func))
            return found if found is not callees.ALL or self.summarising else set()
        value = self.resolve_call(node) if path is not None else self.static_value(node)
        if value is _UNKNOWN:
            # (a value the function computes: checked where it runs, s2s.call_vjp or s2s.call_plain; for a
            # caller of this function, anything)
            return callees.ALL if self.summarising else set()
        return callees.changed_keys(callees.follow(value, steps), self.reader)

    def static_value(self, node):
        """The function an expression of globals and constants makes where s2s can tell without running your
        code (`functools.partial(scale, s=3.0)`, `getattr(np, "tanh")`), else _UNKNOWN."""
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name | ast.Attribute):
            return _UNKNOWN
        maker = self.resolve_call(node.func)
        parts = [*node.args, *(k.value for k in node.keywords)]
        values = [p.value if isinstance(p, ast.Constant) else self.resolve_call(p)
                  if isinstance(p, ast.Name | ast.Attribute) else _UNKNOWN for p in parts]
        if not (maker is functools.partial or maker is getattr) or any(v is _UNKNOWN for v in values) \
                or any(k.arg is None for k in node.keywords):
            return _UNKNOWN
        try:
            return maker(*values[:len(node.args)], **dict(zip((k.arg for k in node.keywords), values[len(node.args):])))
        except Exception:  # noqa: BLE001 - not a value s2s can make here
            return _UNKNOWN

    def passed_on(self, call, entry, passed, env, path):
        """Settle `entry` where what the call passes is reached from the local `path` (`g`, `o.run`): a local
        object of your class (its class's function); summarising, a parameter of this function (the entry
        passes to its callers); at the differentiated function's own level, a value only the run can tell
        (s2s.call_vjp or s2s.call_plain checks it then: transforms/raw_calls.py)."""
        name, steps = path
        sites = env.get(name, ())
        if sites and all(site in self.instances for site in sites) and len(steps) == 1 and steps[0][0] == "attr":
            return self.class_method_keys(sites, steps[0][1])
        if not self.summarising:
            return set()
        if self.instance is not None and name == self.params[0] and name not in self.rebound:
            return callees.changed_keys(callees.follow(self.instance, steps), self.reader)  # (`step(self.f, y)`)
        if name not in self.params or name in self.rebound:
            return callees.ALL
        mine = {p: self.param_names(self.pts(passed[p], env)) if p in passed else None
                for _, params in entry.given for p in params} | \
               {p: self.param_names(self.pts(passed[p], env)) if p in passed else None for p in entry.receiver}
        if any(v is None for v in mine.values()):
            return callees.ALL
        given = tuple((key, frozenset().union(*(mine[p] for p in params))) for key, params in entry.given)
        receiver = frozenset().union(*(mine[p] for p in entry.receiver))
        if self.recording:
            self.deferred[(id(call), entry)] = callees.Deferred(name, steps, given, receiver, entry.starred)
        return set()

    def class_method_keys(self, sites, name):
        """What `o.name(...)` may change, `o` a local object of a class of yours (one of those `sites` were made
        by): the argument keys of its class's function by its summary, ALL where there is none."""
        keys = set()
        for cls in {self.instances[site] for site in sites}:
            method = _class_function(cls, name)
            summary = self.summary_of(method) if method is not None else None
            found = callees.ALL if summary is None else callees.keys_of(method, summary.updated_params, 1)
            if found is callees.ALL:
                return callees.ALL
            keys |= found
        return keys

    def lambda_keys(self, node: ast.Lambda):
        """What a lambda passed to a helper changes of its arguments (ALL where it has defaults: a value of the
        function around it, `lambda v, w=a: ...`, which its body may change as a parameter)."""
        if node.args.defaults or any(d is not None for d in node.args.kw_defaults):
            return callees.ALL
        return self.body_keys([a.arg for a in node.args.posonlyargs + node.args.args], node.body)

    def body_keys(self, params, body: ast.expr):
        """What a local function of one expression (a lambda's, or a local def's `return`) changes of its arguments."""
        return function_keys(params, [ast.Return(value=body)], self.resolve, self.rule_of, self.summary_of,
                             self.returns_view, self.mutates, frozenset(self.locals))

    def check_init(self, e, obj, env, stores=True):
        """`Model(...)`: what its class's `__init__(self, ...)` changes of the arguments, and (`stores`) attribute
        stores that run code of the class."""
        init = inspect.getattr_static(obj, "__init__", None)
        if stores and _stores_through_code(obj):  # (`self.h = v` of a property's setter may write into an argument's array)
            what = f"constructs a {obj.__name__}, whose attribute stores run code of the class (a property's " \
                   "setter or `__setattr__`) that s2s does not follow"
            if self.summarising:
                self.outside(e, what)
            else:
                raise OwnershipError(e, f"s2s cannot differentiate `{ast.unparse(e)}`: it {what}",
                                     "make the class store plain attributes (or use a dataclass)")
        if isinstance(init, types.FunctionType):  # (what `__init__(self, ...)` changes of its arguments)
            try:
                summary = self.summary_of(init, fresh_first=True) or _unread_summary(init, self.summary_of)
            except TypeError:  # (a summary_of that knows no fresh first parameter)
                summary = self.summary_or_unread(init)
            with_self = ast.copy_location(ast.Call(func=e.func, args=[ast.Constant(None), *e.args],
                                                   keywords=e.keywords), e)
            self.callee_changes_outside(e, init, summary)
            self.callee_updates(with_self, init, summary, env)

    def is_range(self, node):
        return isinstance(node, ast.Call) and self.resolve_call(node.func) is range

    def note_dynamic_call(self, e, func, obj):
        """In a summarised function, a call s2s cannot follow to what it changes: `exec`, `setattr`, `globals()`,
        `operator.setitem`, a callee the function computes (`getattr(G, "__setitem__")(0, v)`), an `out=` array."""
        if self.changing_getattr(func):
            self.outside(e, f"calls `{ast.unparse(func)}` (line {e.lineno}), which s2s cannot follow")
        elif _hashable(obj) and obj in _CHANGING_BUILTINS:
            self.outside(e, f"calls `{ast.unparse(func)}` (line {e.lineno}), which may change anything")
        elif any(k.arg == "out" and not (isinstance(k.value, ast.Constant) and k.value.value is None)
                 and not self.own_new(k.value) for k in e.keywords):
            self.outside(e, f"writes into `out=` (line {e.lineno}: `{ast.unparse(e)}`), an array s2s cannot follow")

    def changing_getattr(self, func) -> bool:
        """`getattr(G, "__setitem__")` or `getattr(L, "append")` called: a method that changes its object, of
        anything but a module (`getattr(np, "tanh")(x)` reads a function)."""
        if not (isinstance(func, ast.Call) and isinstance(func.func, ast.Name) and func.func.id == "getattr"
                and self.resolve_call(func.func) is getattr and len(func.args) >= 2):
            return False
        name = func.args[1]
        if isinstance(self.resolve_call(func.args[0]), types.ModuleType):
            return False
        return not isinstance(name, ast.Constant) or not isinstance(name.value, str) \
            or name.value.startswith("__") or name.value in MUTATING_METHODS

    def own_new(self, node) -> bool:
        """Whether `node` names an object the summarised function made itself (`v = np.empty(n)`): no parameter,
        global or captured value can be it (the sites it may hold are all new ones)."""
        if not isinstance(node, ast.Name) or node.id not in self.locals:
            return False
        sites = self.env_now.get(node.id, frozenset()) if self.env_now is not None else frozenset()
        return bool(sites) and not any(_is_external(site) for site in self.reach(sites))

    def refuse_changing_call(self, e, func, obj):
        """At the differentiated function's own level: `operator.setitem(G, 0, v)`, `setattr(...)`, `exec(...)`,
        or a computed method of an object (`getattr(G, "__setitem__")(0, v)`) may change anything."""
        if self.changing_getattr(func) or _hashable(obj) and obj in _CHANGING_BUILTINS:
            raise OwnershipError(e, f"s2s cannot differentiate `{ast.unparse(e)}`: it may change an object in place "
                                    "(or a namespace), which s2s's derivative code does not follow",
                                 "write the update as an assignment s2s can read (`G[0] = v` on a local copy), or make "
                                 "the call outside the differentiated function")

    def check_held_callee(self, e, obj):
        """A function held in a global dict, list or namespace (`HELP["bump"]()`), a functools.partial of one, or
        an object whose `__call__` is yours: refused (noted, summarising) where it changes something outside it, or
        the object itself (a global one: its state, outside the function)."""
        import functools
        method = None
        if isinstance(obj, functools.partial):
            target = obj.func
        elif _hashable(obj) and not isinstance(obj, type | types.FunctionType | types.MethodType) and callable(obj) \
                and isinstance(next((vars(c)["__call__"] for c in type(obj).__mro__ if "__call__" in vars(c)), None),
                               types.FunctionType):  # (a class of yours defines it)
            target = method = type(obj).__call__
        elif isinstance(e.func, ast.Subscript):
            target = obj  # (`HELP["bump"]`: call_sites reads the summary of a function named, not of an item)
        else:
            return
        if not isinstance(target, types.FunctionType):
            return
        summary = self.summary_or_unread(target) if method is None else \
            self.reader.summary(target, instance=obj) \
            or _unread_summary(target, self.summary_of)  # (a callable object's `__call__`, read for that object)
        changes = summary.changes_outside or (
            f"updates {', '.join(sorted(summary.updated_params))} in place" if method and summary.updated_params else "")
        if not changes:
            return
        if self.summarising:
            self.outside(e, f"calls {target.__qualname__}, which {changes}")
            return
        raise OwnershipError(e, f"s2s cannot differentiate this call: {target.__qualname__} {changes}; s2s's "
                                "derivative code does not follow values through such objects",
                             "pass the object to the function and return the new value from it, or make the call "
                             "outside the differentiated function")

    def callees_change_outside(self, call):
        """For a call the points-to walk does not reach (inside a comprehension or lambda): the change outside of
        a function of yours it calls by name, or is given (`[cb(v) for v in xs]`, `sorted(xs, key=cb)`)."""
        for node in [call.func, *call.args, *(k.value for k in call.keywords)]:
            if isinstance(node, ast.Name | ast.Attribute) and _root(node) not in self.locals:
                value = self.resolve_call(node)
                if isinstance(value, types.FunctionType):
                    self.callee_changes_outside(call, value, self.summary_or_unread(value))

    def outside(self, node, what):
        """Note (the first) change of something outside the summarised function, for its callers' refusal."""
        self.changes_outside = self.changes_outside or what

    def summary_or_unread(self, func) -> Summary:
        """The Summary of the user function `func`, or where s2s cannot make one what `_unread_summary` tells."""
        return self.summary_of(func) or _unread_summary(func, self.summary_of)

    def check_mutable_default(self, s, name, updated):
        """Refuse (note, for a caller) an update of a parameter's default list, dict, set or array: Python's
        update changes the default for every later call that leaves the parameter out; s2s's code does not."""
        hit = sorted(p for kind, p in (site for site in updated if isinstance(site, tuple) and len(site) == 2)
                     if kind in ("param", "held") and p in self.mutable_defaults)
        if not hit:
            return
        p = hit[0]
        what = f"changes `{name}` in place (line {s.lineno}), which may be the default {self.mutable_defaults[p]} of " \
               f"`{p}`: Python's update changes that default for every later call"
        if self.summarising:
            self.outside(s, what)
            return
        raise OwnershipError(s, f"s2s cannot differentiate this: it {what}, which s2s's derivative code does not",
                             f"give `{p}` the default None and make a new value in the function: "
                             f"`if {p} is None: {p} = []` (or `np.zeros(...)`) at its top, then update that")

    def callee_changes_outside(self, call, func, summary):
        """A user function that changes a global or captured object (or rebinds a global): s2s's derivative code
        reads such objects as they are when it reads them, so what the call stores there has no derivative and a
        read before the call would see the change. Refused; noted for this function's own callers."""
        if not summary.changes_outside:
            return
        if self.summarising:
            self.outside(call, f"calls {func.__name__}, which {summary.changes_outside}")
            return
        raise OwnershipError(call, f"s2s cannot differentiate this call: {func.__name__} {summary.changes_outside}; "
                                   "s2s's derivative code does not follow values through such objects (what it "
                                   "stores there has no derivative, and an earlier read would see the change)",
                             f"pass the object to {func.__name__} and return the new value from it "
                             f"(`obj = {func.__name__}(obj, ...)`), or make the call outside the differentiated "
                             "function")

    def callee_updates(self, call, func, summary, env, outer_env=None):
        """A user function that updates an argument in place: Python's caller sees the change, s2s's would
        not. Refused when the caller can still read the argument; recorded for this function's own callers.
        `outer_env`: the points-to sets of the names read after the call, where `env` is a comprehension's own."""
        summary = self.settled(call, func, summary, env)
        if not summary.updated_params:
            return
        code = func.__code__
        params = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
        starred = code.co_flags & 0x0C or any(isinstance(a, ast.Starred) for a in call.args)
        for i, arg in enumerate(call.args + [k.value for k in call.keywords]):
            if i < len(call.args):
                param = params[i] if i < len(params) else None
            else:
                param = call.keywords[i - len(call.args)].arg
            if not (starred or param in summary.updated_params):
                continue
            shallow = not starred and param in summary.shallow_params
            updated = self.pts(arg, env) if shallow else self.reach(self.pts(arg, env))
            if not updated:
                continue
            made_of = next((self.instances[site] for site in updated if site in self.instances), None)
            if made_of is not None and not self.summarising:
                # (the helper's `m.append(v)` is written as a list's, and the class's own `append` may change v)
                raise OwnershipError(call, f"s2s cannot differentiate this call: {func.__name__} changes its argument "
                                           f"`{param or ast.unparse(arg)}`, an object of your class "
                                           f"{made_of.__name__}, whose changes s2s's derivative code does not follow",
                                     f"make {func.__name__} return the new values instead of changing the object")
            if self.summarising and EXTERNAL in updated:
                self.outside(call, f"passes `{ast.unparse(arg)}` (line {call.lineno}) to {func.__name__}, which updates "
                                   "its argument in place, and it may be a global or captured value")
            if self.recording:
                self.record_params(updated)
                passed = {n.id for n in ast.walk(arg) if isinstance(n, ast.Name)}
                name = self.read_after(call, updated, outer_env or env, first=passed)
                if name is not None:
                    raise OwnershipError(call, f"s2s cannot differentiate this call: {func.__name__} updates its "
                                               f"argument `{param or ast.unparse(arg)}` in place, which in Python "
                                               f"changes `{name}` here too",
                                         f"copy in the helper first (`{param} = {param}.copy()`), or write "
                                         f"`{param} = {param} + ...` there instead of an in-place update")

    def comprehension_env(self, e, env):
        """The points-to sets inside the comprehension `e`, its targets bound to the items of its sources (None
        for a lambda)."""
        if isinstance(e, ast.Lambda):
            return None
        inner = dict(env)
        for gen in e.generators:
            items = self.elements(self.reach(self.pts(gen.iter, inner)))
            for n in walk(gen.target):
                if isinstance(n, ast.Name):
                    inner[n.id] = frozenset(items)
        return inner

    def comprehension_call(self, call, env, outer_env=None):
        """A call inside a comprehension: summarising, noted as any call (`note_unknown_callee`); at the function's
        own level, a function of yours that updates an item in place is checked as a call by name is."""
        args = [self.pts(a, env) for a in call.args] + [self.pts(k.value, env) for k in call.keywords]
        if self.summarising:
            self.note_unknown_callee(call, env, args)
            return
        value = self.resolve_call(call.func) if isinstance(call.func, ast.Name | ast.Attribute) else _UNKNOWN
        summary = self.summary_of(value) if isinstance(value, types.FunctionType) and not self.rule_of(value) \
            else None
        if summary is not None:
            self.callee_updates(call, value, summary, env, outer_env)

    def keys_updated(self, call, callee, keys, env):
        """Refuse `call` of `callee`, which may update its arguments at `keys` (callees.changed_keys's), where the
        function reads one of them later; summarising, note them for its own callers."""
        if keys == set():
            return
        every = keys is callees.ALL or any(isinstance(a, ast.Starred) for a in call.args)
        hit = [a for i, a in enumerate(call.args) if every or i in keys] + \
              [k.value for k in call.keywords if every or k.arg in keys]
        updated = set().union(*(self.reach(self.pts(a, env)) for a in hit)) if hit else set()
        if not updated:
            return
        if self.summarising:
            self.record_params(updated)
            return
        other = self.read_after(call, updated, env) if self.recording else None
        if other is not None:
            name = getattr(callee, "__qualname__", None) or type(callee).__name__
            raise OwnershipError(call, f"s2s cannot differentiate this call: {name} updates an argument in "
                                       f"place, which in Python changes `{other}` here too",
                                 "make the function return the new value instead of updating its argument")

    def read_after(self, call, updated, env, first=frozenset()):
        """A name the function reads after `call` (or beside it, in its statement) that may reach the objects
        `updated` (or a parameter or global that may be one of them), those in `first` tried first; else None."""
        statement = self.current
        live = self.live_after.get(id(statement), frozenset()) if statement is not None else frozenset()
        live = (live | _read_around(statement, call)) - _rebound_by_result(statement, call)
        for name in sorted(live, key=lambda n: (n not in first, n)):
            if self.reach(self.name_sites(name, env)) & (updated | self.external_twins(updated)):
                return name
        return None

    def record_params(self, updated):
        self.updated_params |= {site[1] for site in updated if isinstance(site, tuple) and site[0] in ("param", "held")}
        self.deep_params |= {site[1] for site in updated if isinstance(site, tuple) and site[0] == "held"}
        if EXTERNAL in updated:  # through something a user function or a container handed back
            self.updated_params |= set(self.params)
            self.deep_params |= set(self.params)

    def external_twins(self, updated):
        """Parameters and globals may be one object at run time: an update of one may be an update of all."""
        if any(_is_external(site) for site in updated):
            return {EXTERNAL} | {(kind, p) for p in self.params for kind in ("param", "held")}
        return set()

    def is_module_path(self, node):
        root = node
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and annotations.is_helper(root):
            return True  # s2s's own handle on a module (`s2s.star_count(p, 3, 'f')`, a check it wrote)
        return isinstance(root, ast.Name) and root.id not in self.locals and \
            isinstance(self.resolve(root.id), types.ModuleType)

    def resolve_call(self, func):
        if isinstance(func, ast.Name):
            if func.id in self.locals:
                return _UNKNOWN
            obj = self.resolve(func.id)
            return _UNKNOWN if obj is None else obj
        if isinstance(func, ast.Attribute):
            if annotations.is_helper(func.value) and annotations.resolved(func) is not None:
                return annotations.resolved(func)  # s2s's own helper, written by a pass before this one
            base = self.resolve_call(func.value)
            if base is _UNKNOWN:
                return _UNKNOWN
            found = getattr(base, func.attr, _UNKNOWN)
            if found is not _UNKNOWN:  # (noted for the caches: code read from `MOD.g`, `HB.g` is stale once it changes)
                space = vars(base) if isinstance(base, types.ModuleType) else None
                if space is not None and space.get(func.attr, _UNKNOWN) is found:
                    context.note_read("d", space, func.attr, found)  # (as frontend notes a module's names)
                else:
                    context.note_read("a", base, func.attr, found)
            return found
        if isinstance(func, ast.Subscript) and isinstance(func.slice, ast.Constant):  # `HELP["bump"]`, `HL[0]`
            base = self.resolve_call(func.value)
            if type(base) in (dict, list, tuple):
                try:
                    found = base[func.slice.value]
                except (KeyError, IndexError, TypeError):
                    return _UNKNOWN
                context.note_read("d" if type(base) is dict else "i", base, func.slice.value, found)
                return found
        return _UNKNOWN

    # ---- updates ------------------------------------------------------------------------------------
    def update(self, s, target, env, bound, deep, call=None):
        """Check an update of the object `target` refers to (`y`, `y[i]`, `L[i][j]`, `obj.attr`)."""
        name = _root(target)
        if name is None and self.summarising and not isinstance(target, ast.Name):
            self.outside(s, f"stores into `{ast.unparse(target)}` (line {s.lineno}), whose object s2s cannot follow")
            return
        if name is None:
            return
        if name not in self.locals and self.summarising:
            self.outside(s, f"changes `{name}` (line {s.lineno}: `{ast.unparse(s).splitlines()[0]}`), a global or "
                            "captured value")
            return
        if name not in self.locals:
            raise OwnershipError(s, f"s2s cannot differentiate an in-place update of `{name}`, which is not a local "
                                    f"variable (a global or captured value): in Python it changes `{name}` outside "
                                    "the function too",
                                 _attribute_hint(target) or f"work on a copy: `{name}_local = {name}.copy()` at the "
                                 f"top of the function, and update `{name}_local`")
        sites = env.get(name, frozenset())
        made = next((self.read_only[site] for site in sites if site in self.read_only), None)
        if made is not None and not self.summarising and (isinstance(target, ast.Name) or isinstance(target, ast.Subscript)
                                                          and isinstance(target.value, ast.Name)):
            raise OwnershipError(s, f"s2s cannot differentiate this update of `{name}` in place: `{name}` may hold "
                                    f"the array `{ast.unparse(made)}` made, a read-only view (Python raises "
                                    "`ValueError: output array is read-only` here)",
                                 f"make it an array of its own where it is made: `{ast.unparse(made)}.copy()`")
        if isinstance(target, ast.Name):
            updated = set(sites)
        elif deep or not isinstance(target, ast.Subscript | ast.Attribute) or not isinstance(target.value, ast.Name):
            updated = self.reach(sites)  # `L[i] += v` may update the element itself; `L[i][j] = v` updates L[i]
            deep = True
        else:  # (`L[i] = v`, `o.h = v`: the object itself, not what it holds)
            updated = set(sites)
        if not updated:
            return
        self.check_mutable_default(s, name, updated)
        if self.summarising and EXTERNAL in updated and EXTERNAL not in sites:
            self.outside(s, f"changes `{name}` (line {s.lineno}: `{ast.unparse(s).splitlines()[0]}`), which may hold "
                            "a global or captured value")
        if EXTERNAL in sites and self.summarising:
            self.outside(s, f"changes `{name}` (line {s.lineno}: `{ast.unparse(s).splitlines()[0]}`), which may be a "
                            "global or captured value")
            return
        made_of = next((self.instances[site] for site in sites if site in self.instances), None)
        if made_of is not None and not isinstance(target, ast.Name) and _attribute_hint(target) is not None:
            raise OwnershipError(s, f"s2s cannot differentiate this store into `{ast.unparse(target)}`: `{name}` is an "
                                    f"object of your class {made_of.__name__}, and s2s's derivative code does not "
                                    "follow values through its attributes", _attribute_hint(target))
        if EXTERNAL in sites:
            raise OwnershipError(s, f"s2s cannot differentiate this update of `{name}` in place: `{name}` may be a "
                                    "global array (or one held by a module or class, or handed back by a function s2s "
                                    "cannot see into), which Python would change outside the function too",
                                 _attribute_hint(target) or f"work on a copy: `{name} = {name}.copy()` before updating it")
        if self.recording:
            self.record_params(updated)
        updated |= self.external_twins(updated)
        loops = tuple(node for node, elements in self.loops if elements & updated)
        others = []
        live = self.live_after.get(id(s), frozenset())
        if call is not None and call is not getattr(s, "value", None):  # `z = L.append(v) or L[0]`
            live = live | _read_around(s, call)
        for other in sorted(live):
            if other == name:
                continue
            if self.reach(self.name_sites(other, env)) & updated:
                others.append(other)
        holds_mutable = deep and bool(self.reach(sites) - set(sites))
        if not others and not holds_mutable and not loops:
            return
        unsure = [o for o in others if o in self.locals and o not in bound]
        if unsure and self.recording:
            raise OwnershipError(s, f"s2s cannot differentiate this in-place update of `{name}`: `{unsure[0]}` may "
                                    f"refer to the same object, and may not be set here",
                                 f"make an explicit copy first: `{name} = {name}.copy()`")
        if self.recording:
            self.record(s, Update(name, tuple(others), deep, loops))

    def record(self, s, update):
        """Keep `update` of statement `s`, merged into one of the same object found before: a loop's body is
        visited until its names' sites stop growing, and each visit finds the update again (one run-time
        check of the union of the names does the work of the several the visits would write)."""
        found = self.findings.setdefault(id(s), [])
        for k, old in enumerate(found):
            if (old.name, old.deep) == (update.name, update.deep):
                found[k] = Update(update.name, tuple(dict.fromkeys(old.others + update.others)), update.deep,
                                  tuple(dict.fromkeys(old.loops + update.loops)))
                return
        found.append(update)

    def fresh(self, base, direct: bool) -> bool:
        """Whether `base`, at the bottom of a method's receiver (`np.sort(y)` of `np.sort(y)[0].sort()`), is certainly
        a new array that nothing else holds: `.astype(t)` without copy=, a NumPy function certain to make one (a
        rule that never returns a view, copy= left as True), or, read directly, a `.copy()` (shallow of a list), a
        container of pieces (`sorted(L).reverse()`: its items are the argument's) or arithmetic (`(y * 2).sort()`;
        an item of it may be a list's item)."""
        if isinstance(base, ast.BinOp | ast.UnaryOp):
            return direct
        if not isinstance(base, ast.Call) or _copy_keyword_maybe_false(base):
            return False
        if isinstance(base.func, ast.Attribute) and not self.is_module_path(base.func):
            # (`.astype(t)` is an array's, a new one; `.copy()` of a list or dict is shallow: `L.copy()[0].sort()`
            # sorts L's item, so only read directly; not `.flatten()`: s2s reads it as np.ravel, a view)
            return base.func.attr == "astype" or base.func.attr == "copy" and direct
        obj = self.resolve_call(base.func)
        if any(obj is f for f in _LISTS_OF_VIEWS):
            return direct  # (`sorted(L).reverse()` changes the new list alone; `list(y)[0].sort()` changes y)
        module = getattr(obj, "__module__", None) or ""
        # (NumPy's: builtin max, sum and s2s.stop_gradient have rules and may hand back an argument itself)
        return obj is not _UNKNOWN and (module.split(".")[0] == "numpy" or isinstance(obj, np.ufunc)) \
            and self.rule_of(obj) is not None and not self.returns_view(obj)

    def check_call_effects(self, e, env, statement=None, bound=None):
        """Refuse calls that change an argument in place (np.copyto, ufunc.at, x.fill(...)), also in the body of a
        local function of one expression the call expands (`upd = lambda: a.fill(0.0)`, then `upd()`: s2s
        writes its body at the call, after this pass)."""
        for node in walk(e):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in self.local_bodies and func.id not in self.expanding:
                self.expanding.add(func.id)
                try:
                    body = _expanded(*self.local_bodies[func.id], node)
                    self.check_call_effects(body, env)
                    if self.recording:
                        # (the body as the call writes it: `apply(RUNNER.run, w)` of `apply = lambda f, v: f(v)`
                        # calls RUNNER.run(w), whose update of w the walk of the body, with f unknown there,
                        # does not see)
                        self.pts(body, env)
                finally:
                    self.expanding.discard(func.id)
            if isinstance(func, ast.Attribute) and not self.is_module_path(func) and not _a_string_s(node):
                receiver = _root(func.value)
                if func.attr in _SUPPORTED_METHODS and isinstance(func.value, ast.Name) and receiver in self.locals \
                        and not self.summarising and any(site in self.instances for site in env.get(receiver, ())):
                    cls = next(self.instances[site] for site in env[receiver] if site in self.instances)
                    raise OwnershipError(node, f"s2s cannot differentiate `{ast.unparse(node)}`: s2s writes "
                                               f"`.{func.attr}(...)` as a list's, and `{receiver}` may be an object "
                                               f"of your class {cls.__name__}",
                                         f"give the method another name (`{receiver}.{func.attr}_item(...)`), "
                                         "or keep the values in a list of the function's own")
                if receiver in self.locals:
                    own = not self.instance_method_reads_only(func, env)
                else:
                    own = receiver is not None and self.is_data(receiver) and not self.reads_only(func)
                if own and func.attr in MUTATING_METHODS and func.attr not in _SUPPORTED_METHODS \
                        and self.summarising and (isinstance(func.value, ast.Name) or self.path_of(func) is not None):
                    # (`self.z.update(v)`: changes self.z, held by self; what it does to v, the call's callee
                    # entry says, callees.Deferred; where the object is known and its method is yours, that alone)
                    # for a caller: the helper's own new object changed is nothing the caller sees; a
                    # parameter's is an update of that argument, anything else's a change outside
                    if self.method_of_yours(func):
                        continue
                    sites = self.reach(env.get(receiver, frozenset())) if receiver in self.locals else {EXTERNAL}
                    if any(_is_external(site) for site in sites):
                        self.record_params(sites)
                        if EXTERNAL in sites:
                            self.outside(node, f"changes `{receiver}` (line {node.lineno}: `.{func.attr}(...)`), "
                                               "which may be a global or captured value")
                    continue
                if own and func.attr in MUTATING_METHODS and func.attr not in _SUPPORTED_METHODS:
                    cls = next((self.instances[site] for site in env.get(receiver, ()) if site in self.instances), None)
                    if cls is not None:
                        raise OwnershipError(node, f"s2s cannot differentiate `{ast.unparse(node)}`: `{receiver}` may "
                                                   f"be an object of your class {cls.__name__}, whose `{func.attr}` "
                                                   "may change the object or what it is given in place",
                                             f"make {cls.__name__}.{func.attr} return new values and change nothing "
                                             "(no attribute stores, no calls of functions the object holds on "
                                             "its arguments)")
                    raise OwnershipError(node, f"s2s cannot differentiate `.{func.attr}(...)`: it changes "
                                               f"`{ast.unparse(func.value)}` in place", _method_hint(func.attr, func.value, node))
                base = _base(func.value)
                if func.attr in MUTATING_METHODS and func.attr not in _SUPPORTED_METHODS \
                        and not isinstance(base, ast.Name | ast.Constant | ast.JoinedStr) \
                        and not self.fresh(base, base is func.value):  # (a literal is no array anyone holds)
                    # (`y.reshape(-1).sort()`, `y.reshape(-1)[:].sort()`, `[y][0].sort()`, `np.split(y, 2)[0]`:
                    # what the method changes may be y, or a view of it)
                    what = f"`{ast.unparse(func.value)}`, which may be an array the function holds or a view of one"
                    if self.summarising:
                        self.outside(node, f"changes {what} (line {node.lineno}: `.{func.attr}(...)`)")
                        continue
                    raise OwnershipError(node, f"s2s cannot differentiate `.{func.attr}(...)` of {what}: the method "
                                               "would change it in place", _call_receiver_hint(func.attr, func.value, node))
                if not self.method_named_like_an_arrays(func, env):
                    _refuse_positional_out(node, func, _method_out_position(func.attr))
                if func.attr in MUTATING_METHODS and receiver is not None and receiver not in self.locals \
                        and not isinstance(func.value, ast.Name) and not self.is_module_path(func.value):
                    # `O.buf.append(v)`: a list held by a global or captured object
                    what = f"changes `{ast.unparse(func.value)}` (line {node.lineno}: `.{func.attr}(...)`), held by " \
                           f"`{receiver}`, a global or captured value"
                    if self.summarising:
                        self.outside(node, what)
                        continue
                    raise OwnershipError(node, f"s2s cannot differentiate `{ast.unparse(node)}`: it {what}, which "
                                               "s2s's derivative code does not follow",
                                         "work on a local list or array and store it on the object after the "
                                         "computation, or make the call outside the differentiated function")
                if func.attr in _SUPPORTED_METHODS and (statement or self.current) is not None \
                        and not isinstance(func.value, ast.Name) and receiver is not None and self.summarising:
                    # (`self.L.append(v)`, `d["L"].pop()`: a list the root holds changes; for a caller, the root
                    # and what it holds)
                    self.update(statement or self.current, func.value, env, bound or frozenset(), deep=True,
                                call=node)
                if func.attr in _SUPPORTED_METHODS and (statement or self.current) is not None \
                        and isinstance(func.value, ast.Name):
                    # (in a test or a return too: `return s.pop()` changes its caller's list)
                    self.update(statement or self.current, func.value, env, bound or frozenset(), deep=False,
                                call=node)
                    if func.attr == "append":  # the list now holds the value
                        held = set().union(*(self.pts(a, env) for a in node.args)) if node.args else set()
                        for site in env.get(func.value.id, ()):
                            self.contents.setdefault(site, set()).update(held)
                    continue
                local = [a for a in node.args + [k.value for k in node.keywords] if _root(a) in self.locals]
                if isinstance(statement, ast.Expr) and node is statement.value and local and \
                        func.attr not in _SUPPORTED_METHODS and not self.only_reports(func):
                    # (its object may be what it changes, `obj.step(x)` storing into `self`: both named)
                    changed = f"`{ast.unparse(local[0])}`" + (f" or `{receiver}`" if receiver in self.locals
                                                                and receiver != _root(local[0]) else "")
                    raise OwnershipError(node, f"s2s cannot tell whether `{ast.unparse(func)}(...)` changes "
                                               f"{changed} in place: its result is not used, so it "
                                               "is called for what it does",
                                         "compute the new value with functions s2s knows and assign it, or move the "
                                         "call outside the differentiated function")
                if isinstance(statement, ast.Expr) and node is statement.value and receiver in self.locals and \
                        func.attr not in _SUPPORTED_METHODS and self.used_elsewhere(receiver, node):
                    # `s.bump()` may do `self.v *= 3.0`: an array of s this function read (and its derivative
                    # code keeps) would change under it, which s2s's derivative does not see
                    raise OwnershipError(node, f"s2s cannot differentiate `{ast.unparse(node)}` here: its result is "
                                               f"not used, so it is called for what it does to `{receiver}`, and s2s "
                                               f"cannot tell whether that changes in place an array of `{receiver}` "
                                               "that this function also reads (its derivative would read the "
                                               "changed array)",
                                         f"call `{ast.unparse(node)}` outside the differentiated function (after "
                                         "the derivative is computed), or compute the new values in the function "
                                         "and assign them")
                continue
            obj = self.resolve_call(func)
            if isinstance(obj, np.ufunc) and len(node.args) > obj.nin:
                raise OwnershipError(node, f"s2s cannot differentiate `{ast.unparse(node)}`: its argument after the "
                                           f"first {obj.nin} is an output array that the ufunc writes into in place",
                                     out_hint(node, node.args[:obj.nin], node.args[obj.nin]))
            out = next((k.value for k in node.keywords if k.arg == "out"), None)
            if out is not None and not (isinstance(out, ast.Constant) and out.value is None) and not self.summarising:
                raise OwnershipError(node, f"s2s cannot differentiate `{ast.unparse(node)}`: `out=` is an array it "
                                           "writes its result into in place", out_hint(node, node.args, out))
            _refuse_positional_out(node, func, out_position(obj))
            hint = self.mutates(obj)  # changes its first argument in place: the hint its record states
            if hint is None and isinstance(func, ast.Attribute) and func.attr == "at" and \
                    isinstance(self.resolve_call(func.value), np.ufunc):
                hint = _ufunc_at_hint(self.resolve_call(func.value), node)
            if hint is None and changes_without_a_copy(obj, node):
                hint = f"leave copy out (`{ast.unparse(func)}(x)` makes a new array) and assign the result"
            if hint is not None and self.summarising and node.args:
                # for a caller: into the helper's own new array (`np.copyto(w, ...)` of `w = np.empty(n)`) nothing
                # the caller sees changes; into anything else, something outside may
                self.env_now = env
                target = node.args[0]
                if isinstance(target, ast.Name) and target.id in self.locals:
                    sites = self.reach(self.name_sites(target.id, env))
                    self.record_params(sites)  # (`np.copyto(v, 0.0)` of a parameter v: an update of v)
                    if EXTERNAL not in sites:
                        continue
                if not self.own_new(target):
                    self.outside(node, f"changes `{ast.unparse(target)}` in place (line {node.lineno}: "
                                       f"`{ast.unparse(func)}(...)`), which may be an argument, a global or a "
                                       "captured value")
                continue
            if hint is not None:
                raise OwnershipError(node, f"s2s cannot differentiate `{ast.unparse(func)}(...)`: it changes its "
                                           "first argument in place", hint)
            if isinstance(statement, ast.Expr) and node is statement.value and obj is _UNKNOWN \
                    and isinstance(func, ast.Name) and func.id in self.locals and func.id not in self.local_helpers \
                    and not (self.summarising and self.path_of(func) is not None):  # (a caller settles it)
                raise OwnershipError(node, f"s2s cannot differentiate `{ast.unparse(node)}`: `{func.id}` is a function "
                                           "value and its result is not used, so it is called for what it does, which "
                                           "s2s cannot see (a change of an object the function reads would carry no "
                                           "derivative)",
                                     f"return the new value from {func.id} and assign it, or make the call outside "
                                     "the differentiated function")
            settled_by_caller = self.summarising and isinstance(func, ast.Name) and self.path_of(func) is not None
            if isinstance(statement, ast.Expr) and node is statement.value and self.may_change_arguments(obj) \
                    and not settled_by_caller:
                local = [a for a in node.args + [k.value for k in node.keywords] if _root(a) in self.locals]
                if local and isinstance(obj, types.FunctionType):
                    raise OwnershipError(node, f"s2s cannot differentiate `{ast.unparse(node)}`: {obj.__name__} updates "
                                               "an argument in place and its result is not used, so it is called for "
                                               "that change, which s2s's functional code would not make",
                                         f"return the new value from {obj.__name__} and assign it, e.g. "
                                         f"`{ast.unparse(local[0])} = {ast.unparse(node)}`")
                if local:
                    raise OwnershipError(node, f"s2s cannot tell whether `{ast.unparse(func)}(...)` changes "
                                               f"`{ast.unparse(local[0])}` in place: it has no derivative rule and its "
                                               "result is not used, so it is called for what it does",
                                         "compute the new value with functions s2s knows and assign it, or move the "
                                         "call outside the differentiated function")
            self.check_foreign_call(node, obj)

    def reads_only(self, func) -> bool:
        """`OPS.add(a, b)` of a global object whose class defines `add` itself (not a list's or set's): its summary
        says it changes neither the object, nor its arguments, nor anything outside it."""
        method = self.resolve_call(func)
        target = getattr(method, "__func__", None)
        if not isinstance(method, types.MethodType) or not isinstance(target, types.FunctionType):
            return False
        try:
            summary = self.summary_of(target, instance=method.__self__)
        except TypeError:  # (a summary_of that knows no instance)
            summary = self.summary_of(target)
        return summary is not None and not summary.updated_params and not summary.changes_outside

    def own_method_changes(self, func, call=None) -> tuple[bool, bool]:
        """(whether it may change the arguments it is given, whether it may change the object) for `self.m(...)` in
        a method of the class `self.owner`: the function `m` of the object's class where the object is known, else
        the functions of the class and its subclasses that define it, each read once (where they differ, or the
        object may hold `m`, `object_decides` leaves the call to the caller); a name no class has a function of
        (`self.fn`, a function the object holds) may change both. (False, False) where the receiver is not the
        method's own object, or the object decides."""
        params = _params(self.tree)
        if not params or not isinstance(func.value, ast.Name) or func.value.id != params[0] \
                or self.object_decides(func):
            return False, False
        if self.instance is not None and _class_function(type(self.instance), func.attr) is None:
            held = callees.follow(self.instance, (("attr", func.attr),))  # (`self.act = np.tanh`)
            keys = callees.ALL if held is callees.UNKNOWN else callees.changed_keys(held, self.reader)
            if keys is not callees.ALL:
                passed = set(range(len(call.args))) | {k.arg for k in call.keywords} if call is not None else keys
                starred = call is not None and any(isinstance(a, ast.Starred) for a in call.args)
                return bool((keys - {callees.SELF}) & passed or starred and keys - {callees.SELF}), callees.SELF in keys
        # (the object's own class where it is known: `self.forward(x)` in a base class's `__call__` is the subclass's;
        # else those of the method's class and its subclasses that define the function)
        methods = [_class_function(type(self.instance), func.attr)] if self.instance is not None else \
            [m for m in self.hierarchy_functions(func.attr) if m is not None] or [None]
        arguments = obj = False
        for method in methods:
            summary = None if method is None else self.summary_of(method) if self.instance is None else \
                self.reader.summary(method, instance=self.instance)
            if summary is None or summary.changes_outside:
                return True, True
            if call is not None and self.env_now is not None and summary.deferred:
                # (its calls of what the object holds, `rk4_step(self.f, y)`: passed on as this method's own,
                # for a caller that knows the object)
                with_self = ast.copy_location(ast.Call(func=func, args=[func.value, *call.args],
                                                       keywords=call.keywords), call)
                summary = self.settled(with_self, method, summary, self.env_now)
            first = set(method.__code__.co_varnames[:1])
            arguments |= bool(summary.updated_params - first)
            obj |= bool(summary.updated_params & first)
        return arguments, obj

    def hierarchy_functions(self, name) -> list:
        """The function `name` of the method's class and of each subclass (None for one that has none of its own
        for every object: `_class_function`), each once, the class's first."""
        classes, todo = [], [self.owner]
        while todo:
            cls = todo.pop()
            classes.append(cls)
            todo.extend(cls.__subclasses__())
        return list(dict.fromkeys(_class_function(cls, name) for cls in classes))

    def object_decides(self, func) -> bool:
        """Summarising a method for no object in particular: whether `self.m(...)` calls a function only its object
        tells (one it holds, `self.act = np.tanh`, or its class's among several: a base class's `__call__` calling the
        `forward` each subclass defines). Such a call is deferred (callees.Deferred: a caller that has the object
        settles it, and until then it may change what it is given) instead of counting every subclass's changes."""
        if self.instance is not None or self.owner is None or self.params[0] in self.rebound:
            return False
        functions = self.hierarchy_functions(func.attr)
        return None in functions or len(functions) > 1

    def instance_method_reads_only(self, func, env) -> bool:
        """`m.update(x)` of a local `m = Model(...)`, an object of your class whose `update` is a function of the
        class (not a dict's or set's method of that name): its summary says it changes neither the object, nor its
        arguments, nor anything outside it."""
        if not isinstance(func.value, ast.Name):
            return False
        sites = env.get(func.value.id)
        if not sites or any(site not in self.instances for site in sites):
            return False
        for cls in {self.instances[site] for site in sites}:
            method = _class_function(cls, func.attr)
            summary = self.summary_of(method) if method is not None else None
            if summary is None or summary.updated_params or summary.changes_outside \
                    or not _calls_what_summaries_follow(method):
                return False
        return True

    def only_reports(self, func) -> bool:
        """`log.debug(...)`, `logging.info(...)`: a method of a `logging.Logger` (or of the logging module) that
        writes a message and changes none of its arguments."""
        import logging
        if func.attr not in _REPORTING:
            return False
        receiver = self.resolve_call(func.value)
        return isinstance(receiver, logging.Logger) or receiver is logging

    def check_foreign_call(self, node, obj):
        """Refuse a call, wherever it is, of a compiled function of a library other than NumPy, SciPy, math and
        the builtins that has no derivative rule and is handed a local object: it may change that object in place
        (`heapq.heapify(L)`, `bisect.insort(L, v)`, `np.ndarray.__iadd__(y, v)`), which s2s's functional code does
        not follow, whether or not its result is used (`t = heapq.heapify(L)` was dropped as dead code)."""
        if not isinstance(obj, _COMPILED_CALLABLES) or isinstance(obj, np.ufunc) or not self.may_change_arguments(obj) \
                or obj in _CONTAINER_BUILTINS or obj in _SELECTING_BUILTINS or obj in _READING_ONLY \
                or obj in _CALLING_BUILTINS:  # (what they call changes what it is given: read where they are called)
            return
        if isinstance(getattr(obj, "__self__", None), np.ufunc) and obj.__name__ != "at" \
                and not any(k.arg == "out" for k in node.keywords):
            return  # (`np.maximum.accumulate(x)` makes a new array: its missing rule is said where it is looked up)
        module = getattr(obj, "__module__", None) or ""
        if module.split(".")[0] in ("numpy", "scipy", "math", "builtins", "s2s") or obj is warnings.warn:
            return
        local = [a for a in node.args + [k.value for k in node.keywords] if _root(a) in self.locals]
        if local:
            raise OwnershipError(node, f"s2s cannot tell whether `{ast.unparse(node.func)}(...)` changes "
                                       f"`{ast.unparse(local[0])}` in place: it has no derivative rule, and s2s "
                                       "does not read its code",
                                 "compute the new value with functions s2s knows and assign it, or move the "
                                 "call outside the differentiated function")

    def used_elsewhere(self, name, call) -> bool:
        """Whether `name` occurs in the function other than as the receiver of `call`."""
        inside = {id(n) for n in walk(call.func)}
        return any(isinstance(n, ast.Name) and n.id == name and id(n) not in inside for n in walk(self.tree))

    def may_change_arguments(self, obj):
        """Whether a call to `obj` whose result is dropped may be there to change its arguments."""
        if isinstance(obj, types.FunctionType) and not self.rule_of(obj):
            # s2s reads a user function itself: one that updates an argument is called here for that
            # alone, which s2s's functional code does not do (and running it raw would change your arrays)
            summary = self.summary_of(obj)
            return summary is not None and bool(summary.updated_params)
        if obj is _UNKNOWN:
            return True
        if not _hashable(obj) or self.rule_of(obj) or obj in _VALUE_BUILTINS or obj in _PURE_BUILTINS:
            return False
        return not (getattr(obj, "__module__", None) or "").startswith("s2s")


_UNKNOWN = object()
_DEFER = object()  # what a callee reached from a parameter changes: its caller settles it (callees.Deferred)
_OUTER_VALUE = type("OuterValue", (), {})()  # a value of the function around a local function: data from outside
# builtins that call the function they are given on items (functools.reduce: on its running value and an item,
# either of which may be an item)
_CALLING_BUILTINS = {map, filter, sorted, min, max, functools.reduce}
_FIRST_CALLED = {map, filter, functools.reduce}  # (the others call their `key=`)
# names of the methods of arrays, lists, dicts, sets and strings: a method of these names of a value of unknown
# kind is read as theirs (what they change, the analysis reads by name: MUTATING_METHODS)
_BUILTIN_METHOD_NAMES = frozenset(name for kind in (np.ndarray, np.generic, list, dict, set, frozenset, str, bytes,
                                                    tuple, int, float, complex)
                                  for name in dir(kind) if not name.startswith("_"))
_REPORTING = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})
# builtins and operators that may change any object or namespace: a summarised function calling one changes
# something s2s cannot follow
_CHANGING_BUILTINS = {exec, eval, globals, vars, setattr, delattr, operator.setitem, operator.delitem, operator.iadd,
                      operator.isub, operator.imul, operator.itruediv, operator.ipow, operator.imatmul}
# compiled functions of the standard library that read their arguments and change none (a search, an operator)
_READING_ONLY = {bisect.bisect, bisect.bisect_left, bisect.bisect_right, operator.add, operator.sub, operator.mul,
                 operator.truediv, operator.floordiv, operator.mod, operator.pow, operator.matmul, operator.neg,
                 operator.pos, operator.abs, operator.getitem, operator.contains, operator.countOf,
                 operator.indexOf, operator.lt, operator.le, operator.eq, operator.ne, operator.ge, operator.gt,
                 operator.not_, operator.truth, operator.index}
# functions written in C (no code s2s could read), as opposed to classes, partials and other callable objects
_COMPILED_CALLABLES = (types.BuiltinFunctionType, types.WrapperDescriptorType, types.MethodDescriptorType,
                       types.MethodWrapperType, types.ClassMethodDescriptorType)


def function_keys(params, body, resolve, rule_of=lambda obj: None, summary_of=lambda func: None,
                  returns_view=lambda obj: False, mutates=lambda obj: None, outer=frozenset()):
    """The argument keys (callees.changed_keys's) a local function of yours with parameters `params` and the
    statements `body` (a lambda's: its `return`) may change, by its summary; callees.ALL where s2s cannot tell,
    also where it calls a value of the function around it (`outer`: its local names; `lambda u: f(u)` of a
    parameter f) or passes one to a function of yours.

        >>> function_keys(["v"], ast.parse("v.sort()").body, lambda n: None)
        {0, 'v'}
    """
    for call in (n for s in body for n in walk(s) if isinstance(n, ast.Call)):
        root = _root(call.func)
        if root in outer and root not in params:  # (`lambda u: f(u)` of the function's own f)
            return callees.ALL
    if outer:  # (the function's own values it reads are values from outside it, which it may not change)
        global_of = resolve
        resolve = lambda name: _OUTER_VALUE if name in outer and name not in params else global_of(name)  # noqa: E731
    tree = ast.FunctionDef(name="local", args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in params],
                                                            kwonlyargs=[], kw_defaults=[], defaults=[]),
                           body=list(body), decorator_list=[], returns=None, type_params=[])
    tree = ast.fix_missing_locations(ast.copy_location(tree, body[0]) if body else tree)
    try:
        summary = summarise(tree, resolve, rule_of, summary_of, returns_view, mutates)
    except OwnershipError:
        return callees.ALL
    if summary.changes_outside or summary.updated_params - set(params):
        return callees.ALL
    return {i for i, p in enumerate(params) if p in summary.updated_params} | set(summary.updated_params)


def changes_nothing(obj) -> bool:
    """Builtins and operators that change none of their arguments."""
    return _hashable(obj) and (obj in _VALUE_BUILTINS or obj in _PURE_BUILTINS or obj in _READING_ONLY
                               or obj in _SELECTING_BUILTINS or obj in _CONTAINER_BUILTINS)


def changes_anything(obj) -> bool:
    return _hashable(obj) and obj in _CHANGING_BUILTINS


def _wrapped_function(func):
    """The function a `functools.wraps` wrapper (`w(*a, **k)`) wraps, at the end of the `__wrapped__` chain."""
    wrapped = getattr(func, "__wrapped__", None)
    for _ in range(4):
        if isinstance(getattr(wrapped, "__wrapped__", None), types.FunctionType):
            wrapped = wrapped.__wrapped__
    return wrapped if isinstance(wrapped, types.FunctionType) else None


def _calls_super(node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super" \
        and not node.args


def _callee_aliases(tree, stored) -> dict:
    """{name: (root, steps)} for the names bound once in `tree`, by `name = <a name, attributes and constant
    items>` (`fn = self.g`; `a, b = self.pair`: its items), by a call of one (`step = f(a)`: its steps end
    ("result", None)) or as a loop's variable (`for layer in self.layers`, `for i, m in enumerate(...)`: ("each",
    None); `for m in self.mods.values()`, `for k, m in self.mods.items()`: ("values", None)): a call `fn(v)` calls
    what that path leads to."""
    once = {name for name in stored if stored.count(name) == 1}
    out = {}

    def path_of(node):  # (through a name bound so before: `for row in self.grid: for m in row`)
        path = callees.callee_path(node)
        if path is not None and path[0] in out:
            return out[path[0]][0], out[path[0]][1] + path[1]
        return path if path is not None and path[0] not in stored else None

    for s in walk(tree):
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and s.targets[0].id in once:
            call = s.value if isinstance(s.value, ast.Call) and not s.value.keywords else None
            path = path_of(call.func if call is not None else s.value)
            if path is not None:  # (`step = f(a)`: what a call of f returns)
                out[s.targets[0].id] = (path[0], path[1] + (("result", None),)) if call is not None else path
        elif isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Tuple):
            path = path_of(s.value)  # (`a, b = self.pair`: its items)
            for k, t in enumerate(s.targets[0].elts):
                if path is not None and isinstance(t, ast.Name) and t.id in once:
                    out[t.id] = path[0], path[1] + (("item", k),)
        elif isinstance(s, ast.For):
            target, iterated = s.target, s.iter
            step = ("each", None)
            if isinstance(iterated, ast.Call) and isinstance(iterated.func, ast.Attribute) and not iterated.args \
                    and iterated.func.attr in ("values", "items"):  # (`for m in self.mods.values()`)
                if iterated.func.attr == "items":
                    target = target.elts[1] if isinstance(target, ast.Tuple) and len(target.elts) == 2 else None
                iterated, step = iterated.func.value, ("values", None)
            elif _builtin_call(iterated, "enumerate", stored) and 1 <= len(iterated.args) + len(iterated.keywords) <= 2 \
                    and iterated.args and all(k.arg == "start" for k in iterated.keywords):
                # (`for i, m in enumerate(self.layers)`, `enumerate(self.layers, 1)`: the start is a number)
                target = target.elts[1] if isinstance(target, ast.Tuple) and len(target.elts) == 2 else None
                iterated = iterated.args[0]
            elif _builtin_call(iterated, "reversed", stored) and len(iterated.args) == 1 and not iterated.keywords:
                iterated = iterated.args[0]  # (`for m in reversed(self.layers)`: the same items)
            elif _builtin_call(iterated, "zip", stored) and isinstance(target, ast.Tuple) and not iterated.keywords \
                    and len(target.elts) == len(iterated.args) and not any(isinstance(a, ast.Starred) for a in iterated.args):
                for t, each in zip(target.elts, iterated.args):  # (`for layer, act in zip(self.layers, self.acts)`)
                    path = path_of(each)
                    if path is not None and isinstance(t, ast.Name) and t.id in once:
                        out[t.id] = path[0], path[1] + (step,)
                continue
            path = path_of(iterated)
            if path is not None and isinstance(target, ast.Name) and target.id in once:
                out[target.id] = path[0], path[1] + (step,)
    return out


def _builtin_call(node, name, stored) -> bool:
    """Whether `node` calls the builtin `name` (`enumerate(...)`, not a local of that name)."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name and name not in stored


def _refuse_positional_out(node, func, out_at) -> None:
    """Refuse the call `node` where it passes, by position `out_at` (None: the callee has no `out`), an `out` array
    other than None: the callee writes its result into that array in place."""
    if out_at is None or len(node.args) <= out_at or \
            isinstance(node.args[out_at], ast.Constant) and node.args[out_at].value is None:
        return
    raise OwnershipError(node, f"s2s cannot differentiate `{ast.unparse(node)}`: its argument "
                               f"{out_at + 1} is `out`, an array it writes its result into in place",
                         out_hint(node, node.args[:out_at], node.args[out_at]))


def _a_string_s(call: ast.Call) -> bool:
    """Whether a method call is certainly a string's, whose name an array's changing method shares:
    `spec.partition(":")` (an array's `partition` takes ints)."""
    return call.func.attr == "partition" and len(call.args) == 1 and isinstance(call.args[0], ast.Constant) \
        and isinstance(call.args[0].value, str)


def _expanded(params, body, call: ast.Call) -> ast.expr:
    """The body of a local function of one expression as the call writes it (its parameters replaced by the call's
    arguments: `lambda spec: spec.partition(":")` of `"a:b"` changes no name of the function), else as written."""
    if call.keywords or len(call.args) != len(params) or any(isinstance(a, ast.Starred) for a in call.args):
        return body
    return substituted(body, dict(zip(params, call.args)))


def _ufunc_at_hint(ufunc, call: ast.Call) -> str:
    """The hint for a `ufunc.at(...)` call that transforms/ufunc_at.py did not write as an update."""
    if ufunc in (np.add, np.subtract) or len(call.args) != 3:
        return (f"call it as a statement of its own with three arguments, `np.{ufunc.__name__}.at(a, indices, "
                "values)`: s2s differentiates np.add.at and np.subtract.at written so")
    a, i, v = (ast.unparse(arg) for arg in call.args)
    return (f"write it as a loop over the indices: `for k in range(len({i})): {a}[{i}[k]] = "
            f"np.{ufunc.__name__}({a}[{i}[k]], {v}[k])` (s2s differentiates np.add.at and np.subtract.at)")


def out_hint(call: ast.Call, kept_args, out) -> str:
    """The hint for `f(..., out=y)` (or y by position, `kept_args` the arguments before it): `y = f(...)`; with
    `where=w`, `y = np.where(w, f(...), y)`, as where w is False the call leaves y as it was.

        >>> out_hint(ast.parse("np.exp(x, out=y, where=m)").body[0].value, [ast.Name("x")], ast.Name("y"))
        'assign the result instead: `y = np.where(m, np.exp(x), y)`'
    """
    target = out.elts[0] if isinstance(out, ast.Tuple) and len(out.elts) == 1 else out
    if not isinstance(target, ast.Name | ast.Attribute | ast.Subscript):
        return "assign the result instead of passing out="
    where = next((k.value for k in call.keywords if k.arg == "where"), None)
    plain = ast.unparse(ast.Call(func=call.func, args=list(kept_args),
                                 keywords=[k for k in call.keywords if k.arg not in ("out", "where")]))
    y = ast.unparse(target)
    return f"assign the result instead: `{y} = {plain if where is None else f'np.where({ast.unparse(where)}, {plain}, {y})'}`"


def out_position(obj):
    """The position of a parameter named `out` that may be passed positionally (np.clip's 4th), or None."""
    import inspect
    if isinstance(obj, np.ufunc) or not callable(obj):
        return None
    try:
        params = list(inspect.signature(obj).parameters.values())
    except (TypeError, ValueError):
        return None
    for i, p in enumerate(params):
        if p.kind in (p.VAR_POSITIONAL, p.KEYWORD_ONLY, p.VAR_KEYWORD):
            return None
        if p.name == "out":
            return i
    return None


def _method_out_position(name):
    """The position, after the array itself, of `out` in the ndarray method `name` where it may be passed
    positionally (`y.round(0, y)`, `y.cumsum(0, None, y)` write into y), or None."""
    import inspect
    method = getattr(np.ndarray, name, None)
    if method is None or name.startswith("_"):
        return None
    try:
        params = list(inspect.signature(method).parameters.values())[1:]
    except (TypeError, ValueError):
        return None
    for i, p in enumerate(params):
        if p.kind in (p.VAR_POSITIONAL, p.KEYWORD_ONLY, p.VAR_KEYWORD):
            return None
        if p.name == "out":
            return i
    return None


def _plain_class(obj) -> bool:
    """A class of yours whose call makes a new object: Python's own `__new__` and metaclass call (not a
    singleton's), defined outside NumPy and the builtins."""
    return isinstance(obj, type) and type(obj).__call__ is type.__call__ and obj.__new__ is object.__new__ \
        and (getattr(obj, "__module__", None) or "builtins").split(".")[0] not in ("builtins", "numpy", "s2s") \
        and not dataclasses.is_dataclass(obj)  # (records: transforms/objects.py builds them, and refuses their code)


def _plain_record_class(obj) -> bool:
    """A dataclass whose call only stores its arguments as fields: the `__init__` dataclasses writes, no
    `__post_init__`, no `__new__` or metaclass call of its own."""
    if not (isinstance(obj, type) and dataclasses.is_dataclass(obj)) or type(obj).__call__ is not type.__call__:
        return False
    init = getattr(obj.__init__, "__code__", None)
    return init is not None and init.co_filename == "<string>" and obj.__dataclass_params__.init \
        and not hasattr(obj, "__post_init__") and not any("__new__" in c.__dict__ for c in obj.__mro__[:-1])


def _class_with_own_new(obj) -> bool:
    """A class of yours (outside NumPy and the builtins) with a `__new__` written in Python (not a namedtuple's,
    which makes a tuple of its arguments)."""
    if not isinstance(obj, type) or obj.__new__ is object.__new__ or issubclass(obj, tuple) or \
            (getattr(obj, "__module__", None) or "builtins").split(".")[0] in ("builtins", "numpy", "s2s"):
        return False
    new = inspect.getattr_static(obj, "__new__", None)
    return isinstance(new, staticmethod | types.FunctionType)


def _params_of(func) -> list:
    code = getattr(func, "__code__", None)
    return list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]) if code is not None else []


def _stores_through_code(cls) -> bool:
    """Whether storing an attribute on an object of `cls` may run code of the class: a `__setattr__` of its own or
    a data descriptor (a property with a setter; a read-only property's store raises Python's AttributeError).

        >>> class Box:
        ...     v = property(lambda self: 1.0)
        >>> class Kept:
        ...     v = property(lambda self: 1.0, lambda self, value: None)
        >>> _stores_through_code(Box), _stores_through_code(Kept)
        (False, True)
    """
    if cls.__setattr__ is not object.__setattr__:
        return True
    # (`__dict__`, `__weakref__` and `__slots__`' descriptors store plain attributes)
    return any(hasattr(value, "__set__") and not (type(value) is property and value.fset is None)
               for klass in cls.__mro__[:-1] for value in vars(klass).values()
               if not isinstance(value, types.FunctionType | types.GetSetDescriptorType | types.MemberDescriptorType))


def _calls_what_summaries_follow(method) -> bool:
    """Whether every call in `method`'s body is of a global name (a function, a builtin, a class), of a module's
    attribute (`np.tanh(v)`), `self.m(...)` of its own object (read through its class) or an array's or list's
    method of a value (`v.sum()`): not of a function held in a local, an item, `getattr(...)` or another object's
    attribute (`f = self.fn; f(v)`, `self.fns[0](v)`, `o.forward(v)`), whose changes a summary does not follow."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
    except (OSError, TypeError, SyntaxError):
        return False
    fdef = tree.body[0]
    if not isinstance(fdef, ast.FunctionDef) or not fdef.args.args:
        return False
    own, local = fdef.args.args[0].arg, {n.id for n in walk(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    local |= {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    for call in walk(fdef):
        if not isinstance(call, ast.Call):
            continue
        f = call.func
        if isinstance(f, ast.Name) and f.id not in local:
            continue
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and (f.value.id == own or f.value.id not in local):
            continue  # (`self.m(...)`, `np.tanh(...)`)
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) \
                and any(hasattr(kind, f.attr) for kind in (np.ndarray, list, dict, set, str)):
            continue  # (an array's or a list's method of a value, `v.sum()`: the summary reads what it changes)
        return False
    return True


def _class_function(cls, name):
    """The function `name` of class `cls` that `obj.name(...)` calls on every object of it, or None: not where
    the class reads attributes its own way (`__getattribute__`, `__getattr__`) or where one of its functions may
    store an attribute of that name on an object (`self.update = d.update` would hide the method; `setattr`,
    `__dict__` and `vars` may store any name)."""
    method = inspect.getattr_static(cls, name, None)
    if not isinstance(method, types.FunctionType) or cls.__getattribute__ is not object.__getattribute__ \
            or inspect.getattr_static(cls, "__getattr__", None) is not None:
        return None
    codes = [getattr(value, "__code__", None) for klass in cls.__mro__[:-1] for value in vars(klass).values()]
    while codes:
        code = codes.pop()
        if code is None:
            continue
        if {"setattr", "__setattr__", "__dict__", "vars"} & set(code.co_names) \
                or any(i.opname == "STORE_ATTR" and i.argval == name for i in dis.get_instructions(code)):
            return None  # (`self.__dict__.update(kw)`, `vars(self)[...]` may store one too)
        codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))  # (functions defined inside)
    return method


def _is_data_object(obj) -> bool:
    return not isinstance(obj, types.ModuleType | types.FunctionType | types.BuiltinFunctionType | type | np.ufunc |
                          int | float | complex | str | bool | type(None)) and not callable(obj)


def _hashable(obj):
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def _read_around(statement, call) -> set:
    """Names `statement` reads outside `call` (`z = h(u) + np.sum(u)`: u is read after h changed it, in the
    same statement, where liveness after the statement does not see it). Every such name counts, before or
    after the call: a name read before it is read again by the next run of a loop anyway."""
    if statement is None:
        return set()
    inside = {id(n) for n in walk(call)}
    return {n.id for n in walk(statement)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in inside}


def _rebound_by_result(statement, call) -> set:
    """Names `statement` binds to the result of `call` when the call is its whole right-hand side
    (`u, w = project(u, w)`): their old objects are not read again, whatever the helper did to them, and
    their new ones are the results, the same in Python and in s2s's functional code."""
    if not (isinstance(statement, ast.Assign) and statement.value is call):
        return set()
    out = set()
    for target in statement.targets:
        stack = [target]
        while stack:
            t = stack.pop()
            if isinstance(t, ast.Name):
                out.add(t.id)
            elif isinstance(t, ast.Tuple | ast.List):
                stack.extend(t.elts)
            elif isinstance(t, ast.Starred):
                stack.append(t.value)
            else:  # `L[0], u = ...`: a store into an object also happens; keep every name live
                return set()
    return out


def _is_stop_gradient(obj):
    return getattr(obj, "__name__", "") in ("stop_gradient", "checkpoint") and \
        getattr(obj, "__module__", "").startswith("s2s")


_METHOD_HINTS = {
    "fill": "{x} = np.full_like({x}, value)",
    "reverse": "{x} = {x}[::-1]", "extend": "{x} = {x} + list(items)", "insert": "{x} = {x}[:i] + [v] + {x}[i:]",
    "clear": "{x} = []", "resize": "{x} = np.resize({x}, shape)",
    "put": "flat = {x}.reshape(-1).copy(); flat[ind] = v; {x} = flat.reshape({x}.shape)",
    "itemset": "{x}[index] = value", "partition": "{x} = np.partition({x}, kth)",
}


def _method_hint(attr, receiver, call=None):
    x = ast.unparse(receiver)
    args = [ast.unparse(a) for a in getattr(call, "args", ())]
    if attr == "extend" and len(args) == 1:  # (the call's own arguments where the hint has their places)
        return f"build a new value instead: `{x} = {x} + list({args[0]})`"
    if attr == "update":
        return (f"set the items one at a time, `for k in other: {x}[k] = other[k]` (or `{x}['k'] = v`), on a dict the "
                f"function makes: `{x} = {{k: {x}[k] for k in {x}}}` first where it is the caller's")
    if attr == "sort":
        return f"build a new value instead: `{x} = np.sort({x})` (of a list: `{x} = sorted({x})`)"
    if attr == "insert" and len(args) == 2:
        return f"build a new value instead: `{x} = {x}[:{args[0]}] + [{args[1]}] + {x}[{args[0]}:]`"
    text = _METHOD_HINTS.get(attr)
    return f"build a new value instead: `{text.format(x=x)}`" if text else "build a new value instead of " \
                                                                          "changing this one in place"


