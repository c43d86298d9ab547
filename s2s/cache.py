"""The one cache of generated derivatives: what an entry is keyed by, and when it may be used.

Every derivative s2s makes is kept here, at three levels that share one key and one validation scheme:

- by code (`CODE`): the transform's output (`pipeline.Generated`) for a key of the function's code
  object and file plus what was asked (`code_key`: wrt names, form, optimize, the parameters that
  are Python numbers, the shapes of array parameters). Closures made by one factory share code but
  may hold different objects, so a key keeps up to PER_KEY versions.
- by function object (`entry`): that code bound to one function (its closure, globals, defaults and
  the derivatives of the helpers it calls), a `Bound`, kept on the function itself
  (`func.__dict__["__s2s_bound__"]`, dropped with it) under the same key less the code.
- by call (`Memo`): what `s2s.grad` keeps per kind of arguments, so that a call finds its `Bound`
  without working the key out again.

Validation, the same at every level: an entry is used only while the rule registry has the version
it was made under (`rules.version`, bumped by every registration) and every object the transform
read still is what it was. The transform records each one (`frontend.recording`: a dependency is
(kind, container, key, object, mode)): the function's code, defaults and keyword defaults, every
global, closure cell and module attribute it resolved, transitively through the helpers it looked
into. Functions, modules and classes are compared by identity ("is"), data by type ("type": a global
array may change value, not kind; "shape": the type, shape and dtype of an array whose shape the code was
specialised to), the rest as `frontend` says. `Generated.valid_for` checks the
relative entries ("g": a global of the function, "c": its closure cell) against the function asking;
`Bound.fresh` checks a bound function's entries, its callees' included, in one compiled row of
comparisons before every call. Anything changed: the entry is made again (a function redefined in a
notebook cell, a rebound global helper, a closure over a new object, a rule registered later).

Every level is bounded (least recently used entries go first), so redefining a function thousands of
times or calling one with thousands of shapes keeps memory flat.

    >>> def f(x):
    ...     return x * x
    >>> import s2s; s2s.grad(f)(3.0)     # doctest: +SKIP
    6.0
    >>> len(f.__dict__["__s2s_bound__"]) # doctest: +SKIP
    1
"""

from __future__ import annotations

import types
import weakref

from s2s import argcheck, frontend, rules
from s2s.tables import TABLES, Table, lock

MISSING = frontend.missing()

CODE_MAX = 256  # code keys kept
PER_KEY = 4  # versions per code key (closures of one factory)
STORE_MAX = 64  # entries kept on one function object
SHAPE_VARIANTS = 16  # per function: beyond this many argument shapes, one generic variant serves the rest
BOUND_ATTRIBUTE = "__s2s_bound__"  # where a function's entries live, in its __dict__


def code_key(func, wrt_names, form, optimize_code, scalar_params, shaped_params=(), fixed_params=()) -> tuple:
    """The key of the derivative of `func`'s code: equal code objects from different files compare
    equal, so the file is part of it. What the closure cells and globals hold is checked against each
    version kept under it (`valid`). `fixed_params`: (name, int) for the int parameters a call leaves to
    their defaults, which the code reads as those ints."""
    code = func.__code__
    return (code, code.co_filename, tuple(wrt_names), form, optimize_code, tuple(scalar_params),
            tuple(shaped_params)) + ((tuple(fixed_params),) if fixed_params else ())


# ---- validation --------------------------------------------------------------------------------------------

def valid(gen, func) -> bool:
    """Whether the Generated `gen` may serve `func`: no rule registered since, every dependency holds."""
    return gen.version == rules.version and deps_hold(gen.deps, func)


def current(kind, container, key, func):
    """The object a dependency entry denotes now (MISSING when nothing)."""
    if kind == "g":
        return func.__globals__.get(key, MISSING)
    if kind == "d":
        return container.get(key, MISSING)
    if kind == "f":
        return container.__code__, container.__defaults__, container.__kwdefaults__
    if kind == "n":  # s2s.grad(functools.partial(...)): the derivative function it calls now (api._following)
        return container.__s2s_follows__()
    if kind == "i":  # an item of a list or tuple a callee was reached through (transforms/callees.follow)
        try:
            return container[key]
        except (IndexError, TypeError):
            return MISSING
    try:
        if kind == "c":
            return func.__closure__[key].cell_contents
        if kind == "C":
            return container.cell_contents
    except (ValueError, IndexError, TypeError):  # an empty cell
        return MISSING
    try:
        return getattr(container, key, MISSING)
    except Exception:  # noqa: BLE001 - a property that raises now: not what was read before
        return MISSING


def same(now, then, mode, seen=None) -> bool:
    """Whether the object a dependency denotes `now` is still what the code was made from (`then`), as `mode`
    says. `seen`: the parts of "held" values found plain so far in this check (argcheck.settled)."""
    if now is then:  # (a container or object of yours: what it holds may have become a value s2s refuses since)
        return mode != "held" or argcheck.still_plain(now, seen)
    if mode == "type":
        return type(now) is type(then)
    if mode == "eq":
        return type(now) is type(then) and now == then
    if mode == "shape":  # (then: the array's type, shape and dtype when the code was made from them)
        return type(now) is then[0] and now.shape == then[1] and now.dtype == then[2]
    if mode == "f":
        return all(a is b for a, b in zip(now, then))
    return False


def deps_hold(deps, func=None) -> bool:
    seen = {}  # (`NET` and `NET.layers`: what the first walk found plain is not walked again in this check)
    for kind, container, key, obj, mode in deps:
        if not same(current(kind, container, key, func), obj, mode, seen):
            return False
    return True


def deps_of(func, record) -> tuple:
    """What the names resolved while making a derivative of `func` denoted (frontend.recording): entries
    for `func`'s own globals and cells stay relative to it; those of other functions (helpers looked
    into) become absolute."""
    out = {}
    for owner, kind, container, key, obj, mode in record.values():
        if owner is not func and kind == "g":
            kind, container = "d", owner.__globals__
        elif owner is not func and kind == "c":
            kind, container, key = "C", owner.__closure__[key], None
        out.setdefault((kind, id(container), key), (kind, container, key, obj, mode))
    return tuple(out.values())


class Flat:
    """Dependencies with the relative entries made absolute, from a function and the helpers it links."""

    def __init__(self):
        self.funcs = {}  # id(func) -> (func, code, defaults, kwdefaults)
        self.ident = {}  # slot -> (dict, key, object), compared by identity
        self.rest = {}  # slot -> ("C" | "d" | "a", container, key, object, mode)

    def function(self, func):
        if id(func) not in self.funcs:
            kw = func.__kwdefaults__
            self.funcs[id(func)] = (func, func.__code__, func.__defaults__, kw)
            for k, v in (kw or {}).items():  # a keyword default changed in place
                self.ident[(id(kw), k)] = (kw, k, v)

    def add(self, deps, func):
        for kind, container, key, obj, mode in deps:
            if kind == "f":
                self.funcs.setdefault(id(container), (container,) + obj)
                continue
            if kind == "g":
                kind, container = "d", func.__globals__
            elif kind == "c":
                kind, container, key = "C", func.__closure__[key], None
            if kind == "d" and mode == "is":
                self.ident[(id(container), key)] = (container, key, obj)
            else:
                self.rest[(kind, id(container), key)] = (kind, container, key, obj, mode)

    def merge(self, bound):
        for entry in bound.funcs:
            self.funcs.setdefault(id(entry[0]), entry)
        for d, k, o in bound.ident:
            self.ident[(id(d), k)] = (d, k, o)
        for entry in bound.rest:
            self.rest[(entry[0], id(entry[1]), entry[2])] = entry

    def bound(self, fn, version):
        return Bound(fn, version, tuple(self.funcs.values()), tuple(self.ident.values()), tuple(self.rest.values()))


class Bound:
    """A generated function bound to one function object, with everything it was made from.

    `fresh()` runs before each use: true while the rule registry has the version it was made
    under, every function it was made from (the user's, and each helper it links to,
    transitively) still has its code and defaults, and every global, closure cell and module
    attribute the transforms resolved still holds the same object.
    """

    __slots__ = ("fn", "version", "funcs", "ident", "rest", "fresh", "__weakref__")

    def __init__(self, fn, version, funcs, ident, rest):
        self.fn = fn
        self.version = version
        self.funcs = funcs
        self.ident = ident
        self.rest = rest
        self.fresh = _checker(version, funcs, ident, rest)


_CHECKERS = Table("freshness checks", 64)  # shape of the check -> compiled maker


def _checker(version, funcs, ident, rest):
    """A function `() -> bool` that checks every dependency in a row of straight-line comparisons (its
    objects are default arguments, so fast locals): a call costs a few tens of nanoseconds per entry.
    Entries compared by type (data in a dict) and closure cells are inline too; attributes and
    bound methods go through `deps_hold`."""
    typed = tuple((c, k, type(o)) for kind, c, k, o, mode in rest if kind == "d" and mode == "type")
    cells = tuple((c, o) for kind, c, k, o, mode in rest if kind == "C" and mode == "is")
    # (arrays the code was specialised to, in a dict or a closure cell: (container, key, type, shape, dtype))
    shaped = tuple((c, k) + o for kind, c, k, o, mode in rest if kind in ("d", "C") and mode == "shape")
    inline = {("d", "type"), ("C", "is"), ("d", "shape"), ("C", "shape")}
    other = tuple(e for e in rest if (e[0], e[4]) not in inline)
    shape = (len(funcs), tuple(obj is MISSING for _, _, obj in ident), len(typed), len(cells),
             tuple(kind == "C" for kind, _, _, _, mode in rest if (kind, mode) in (("d", "shape"), ("C", "shape"))),
             bool(other))
    with lock:
        make = _CHECKERS.find(shape)
        if make is None:
            params = ["_rules", "_version", "_missing", "_hold", "_other"]
            tests = ["_rules.version == _version"]
            for i in range(len(funcs)):
                params += [f"f{i}", f"c{i}", f"d{i}", f"k{i}"]
                tests.append(f"f{i}.__code__ is c{i} and f{i}.__defaults__ is d{i} and f{i}.__kwdefaults__ is k{i}")
            for i, (_, _, obj) in enumerate(ident):  # (a subscript costs less than a call of .get)
                if obj is MISSING:
                    params += [f"g{i}", f"n{i}"]
                    tests.append(f"n{i} not in g{i}")
                else:
                    params += [f"g{i}", f"n{i}", f"o{i}"]
                    tests.append(f"g{i}[n{i}] is o{i}")
            for i in range(len(typed)):
                params += [f"tg{i}", f"tn{i}", f"tt{i}"]
                tests.append(f"type(tg{i}.get(tn{i}, _missing)) is tt{i}")
            for i in range(len(cells)):
                params += [f"cc{i}", f"co{i}"]
                tests.append(f"cc{i}.cell_contents is co{i}")
            for i, (container, _, _, _, _) in enumerate(shaped):
                params += [f"sc{i}", f"sk{i}", f"st{i}", f"ss{i}", f"sd{i}"]
                read = f"sc{i}.cell_contents" if isinstance(container, types.CellType) else f"sc{i}.get(sk{i}, _missing)"
                tests.append(f"type(sv{i} := {read}) is st{i} and sv{i}.shape == ss{i} and sv{i}.dtype == sd{i}")
            if other:
                tests.append("_hold(_other)")
            body = " and\\\n            ".join(tests)
            text = (f"def make({', '.join(params)}):\n"
                    f"    def fresh({', '.join(p + '=' + p for p in params)}):\n"
                    f"        try:\n"
                    f"            return {body}\n"
                    f"        except (ValueError, KeyError):  # a closure cell emptied, a name deleted\n"
                    f"            return False\n"
                    f"    return fresh\n")
            namespace = {}
            exec(compile(text, "<s2s freshness check>", "exec"), namespace)
            make = namespace["make"]
            _CHECKERS.put(shape, make)
    values = [rules, version, MISSING, deps_hold, other]
    for group in (funcs, ident, typed, cells, shaped):
        for entry in group:
            values.extend(entry[:2] if group is ident and entry[2] is MISSING else entry)
    return make(*values)


# ---- the code level ----------------------------------------------------------------------------------------

class CodeTable(Table):
    """code_key -> the versions made for that code, newest first; least recently used keys go first."""

    def find(self, key, func):
        """The version under `key` that is valid for `func`, or None."""
        for gen in self.get(key, ()):
            if valid(gen, func):
                self.move_to_end(key)
                return gen
        return None

    def put(self, key, gen) -> None:
        super().put(key, [gen] + [g for g in self.pop(key, ()) if g is not gen][:PER_KEY - 1])


CODE = CodeTable("derivatives by code", CODE_MAX)


# ---- the function level ------------------------------------------------------------------------------------

class Store(dict):
    """The entries made for one function object: (wrt names, form, optimize, scalar params, shaped params)
    -> Bound, oldest first. `shaped` holds the argument shapes it has specialised code for."""

    __slots__ = ("owner", "shaped")


def store(func) -> Store:
    """The Store of `func`, made on first use (a function without a __dict__ gets one that is not kept)."""
    space = getattr(func, "__dict__", None)
    found = space.get(BOUND_ATTRIBUTE) if space is not None else None
    # functools.wraps copies a function's __dict__ into its wrapper: a store is used only by its owner
    if found is None or found.owner() is not func:
        found = Store()
        found.owner = weakref.ref(func)
        found.shaped = set()
        if space is not None:
            space[BOUND_ATTRIBUTE] = found
    return found


def entry(func, key, make) -> Bound:
    """The Bound under `key` on `func` while it is fresh, else `make()`'s, kept in its place."""
    kept = store(func)
    found = kept.get(key)
    if found is None or not found.fresh():
        found = make()
        kept.pop(key, None)
        kept[key] = found
        while len(kept) > STORE_MAX:
            del kept[next(iter(kept))]
    return found


def shapes_for(func, shapes: tuple) -> tuple:
    """`shapes` while `func` has code specialised to fewer than SHAPE_VARIANTS argument shapes (or to
    these), else () (further shapes share the generic code)."""
    if not shapes:
        return shapes
    shaped = store(func).shaped
    if shapes not in shaped:
        if len(shaped) >= SHAPE_VARIANTS:
            return ()
        shaped.add(shapes)
    return shapes


# ---- the call level ----------------------------------------------------------------------------------------

class Memo(dict):
    """Per kind of arguments, what a gradient function found for them: values hold a Bound first, and a
    value is used only while that Bound is fresh (the caller checks `value[0].fresh()`). Emptied when it
    outgrows `limit`."""

    __slots__ = ("limit",)

    def __init__(self, limit: int = 4 * SHAPE_VARIANTS):
        super().__init__()
        self.limit = limit

    def put(self, key, value):
        if len(self) > self.limit:
            self.clear()
        self[key] = value
        return value


def clear(keep_sources: bool = False) -> None:
    """Forget every derivative made by code and everything else in TABLES (the call wrappers, lifted
    closures and numba dispatchers included); the ones kept on function objects go with their functions,
    their freshness checks unaffected. For benchmarks that time a first call: `keep_sources` keeps the
    parsed source files (a file is read and compiled once, for all the functions in it).

        >>> clear(); [t.name for t in TABLES if len(t)]
        []
    """
    with lock:
        for table in TABLES:
            if not (keep_sources and table is frontend.SOURCES):
                table.empty()

