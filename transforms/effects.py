"""Which calls may have effects another piece of code could observe (random draws, methods of objects).

s2s runs some code in another order than Python does: a generator or a `map` consumed at once is run to
its end before the loop consuming it, a checkpointed loop is run again for the derivative, and jacfwd or
hessian call the function once per direction. That is exact only where the code moved has no effect the
other code sees. `impure_calls` lists the calls in a piece of code that s2s cannot prove free of such
effects, each with the reason and the names it may change:

* random draws (`np.random.*`, the methods of a Generator / RandomState, the `random` module), `next()`;
* methods of objects that are not known array methods (`rng.normal()`, `sched.step()`);
* functions of the user's that s2s cannot read, or that do any of the above or store into an attribute
  or item (read recursively, a few calls deep); function values; callables of unknown libraries.

NumPy (outside numpy.random), math, builtins that only compute, and functions with derivative rules
are pure.

    >>> import ast
    >>> call = ast.parse("x * rng.normal()").body[0].value
    >>> [e.reason for e in impure_calls(None, call, {"x", "rng"})]
    ['calls rng.normal(), a method of an object (it may change the object)']
"""

from __future__ import annotations

import ast
import builtins
import contextvars
import functools
import inspect
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .context import ctx
from .frozen_distributions import PURE_METHODS, is_distribution
from .operator_calls import is_operator
from .walk import walk


def _frozen_only(pf, name, made_here, seen) -> bool:
    """Whether every value `name` is bound to is a frozen scipy.stats distribution (`st.norm(m, s)`), or a name
    bound only to such (`e = d`)."""
    if name in seen or not made_here.get(name):
        return False
    seen.add(name)
    return all(isinstance(v, ast.Call) and is_distribution(_resolved(pf, v.func))
               or isinstance(v, ast.Name) and _frozen_only(pf, v.id, made_here, seen) for v in made_here[name])


_PURE_BUILTINS = frozenset(getattr(builtins, n) for n in (
    "abs", "len", "range", "float", "int", "bool", "round", "min", "max", "sum", "list", "tuple", "zip", "enumerate",
    "sorted", "reversed", "isinstance", "dict", "pow", "map", "filter", "divmod", "complex", "print", "str", "repr",
    "any", "all", "hasattr", "getattr", "type", "set", "frozenset", "slice", "iter", "issubclass", "callable",
    "hash", "id", "format", "ord", "chr"))
# ndarray methods that update the array in place
_UPDATING_ARRAY = frozenset({"fill", "put", "itemset", "resize", "sort", "partition", "setfield", "setflags",
                             "byteswap", "tofile", "dump"})
_ARRAY_METHODS = frozenset(n for n in dir(np.ndarray) if not n.startswith("_")) - _UPDATING_ARRAY
# methods that only read their object: an array's, and a dict's views (which s2s reads as d[key] for each
# key of the dict, transforms/mappings.py)
_READING_METHODS = _ARRAY_METHODS | {"keys", "values", "items"}
_PURE_MODULES = ("numpy", "math", "cmath", "scipy", "operator", "s2s")
_RANDOM_MODULES = ("numpy.random", "random", "scipy.stats")
_DEPTH = 6
_LENIENT = contextvars.ContextVar("effects_lenient", default=False)
ANY = "*"  # in Effect.touches: may change anything (a helper s2s cannot read, a global)


@dataclass
class Effect:
    """A call that may have an effect: the call, why, and the names (of the code it stands in) it may change."""

    node: ast.Call
    reason: str
    touches: set = field(default_factory=set)


def _names(node) -> set:
    return {n.id for n in walk(node) if isinstance(n, ast.Name)}


def _random_object(obj) -> bool:
    import random
    return isinstance(obj, np.random.Generator | np.random.RandomState | np.random.BitGenerator | random.Random)


def _module(obj) -> str:
    return str(getattr(obj, "__module__", None) or "")


def object_effect(obj, _active=()) -> str | None:
    """Why calling the object `obj` may have an effect, or None where it is pure."""
    if obj is next:
        return "advances an iterator"
    made_from = _made_from(obj)
    if made_from is not None:  # a derivative s2s made (grad(L)): it runs L
        return function_effect(made_from, _active)
    if any(obj is b for b in _PURE_BUILTINS):
        return None
    if isinstance(obj, functools.partial):
        return object_effect(obj.func, _active)
    call = inspect.getattr_static(type(obj), "__call__", None)
    if not inspect.isfunction(obj) and not isinstance(obj, type) and inspect.isfunction(call) and \
            ctx().user_code(call) and not hasattr(obj, "__wrapped__"):  # a callable object of the user's class
        first = next(iter(inspect.signature(call).parameters), None)
        return function_effect(call, _active, {first: obj} if first else None)
    try:
        ruled = ctx().has_rule(obj)
    except TypeError:  # unhashable
        ruled = False
    own = obj if inspect.isfunction(obj) else getattr(obj, "__wrapped__", None)  # (s2s.custom_jvp objects)
    if ruled and inspect.isfunction(own) and ctx().user_code(own):
        # the user's own function with a rule (s2s.defvjp, s2s.custom_jvp): it runs as written, so what it
        # does counts; its calls s2s cannot read (the library it wraps) are left out, as for known_effect
        token = _LENIENT.set(True)
        try:
            return function_effect(own, _active)
        finally:
            _LENIENT.reset(token)
    if ruled or is_operator(obj):  # (st.norm.logpdf: a library object's method with a rule; operator.mul is `*`)
        return None
    self_ = getattr(obj, "__self__", None)
    if self_ is not None and not inspect.ismodule(self_):  # a bound method
        if _random_object(self_):
            return "draws random numbers"
        if isinstance(self_, np.ufunc):  # (reduce, outer, ... compute; called by name, `at` is read as the
            # update of its first argument it is: _call_effect; called as a value, s2s cannot see what it changes)
            return "changes its first argument in place" if getattr(obj, "__name__", "") == "at" else None
        if isinstance(self_, np.ndarray | np.generic):
            return None if getattr(obj, "__name__", "") in _ARRAY_METHODS else "updates an array in place"
        if (type(self_).__module__ or "").startswith("scipy.sparse") and getattr(obj, "__name__", "") in _SPARSE_READS:
            return None  # (a SciPy sparse matrix's products and copies make new matrices or arrays)
        if type(self_) in (dict, list, tuple, str, set, frozenset):
            return None if getattr(obj, "__name__", "") not in _CONTAINER_UPDATES else \
                f"updates a {type(self_).__name__} in place"
        func = getattr(obj, "__func__", None)
        if inspect.isfunction(func) and ctx().user_code(func):
            return function_effect(func, _active)
        return f"is a method of a {type(self_).__name__} object (it may change the object)"
    if isinstance(obj, np.ufunc):
        return None
    module = _module(obj)
    if is_distribution(obj):  # (st.norm(m, s) freezes the distribution: its `rvs` draws, not the call)
        return None
    if any(module == m or module.startswith(m + ".") for m in _RANDOM_MODULES) and callable(obj) and \
            not isinstance(obj, type):
        return "draws random numbers"
    if _makes_generator(obj):  # (seeded with a number it is pure: _call_effect reads the call's arguments)
        return "makes a random generator seeded with fresh entropy from the system (another one at each call)"
    if isinstance(obj, type):
        if module in ("builtins", "collections") or module.split(".")[0] == "numpy" or \
                issubclass(obj, tuple) or (hasattr(obj, "__dataclass_fields__") and
                                           not hasattr(obj, "__post_init__")):
            return None
        return f"constructs a {obj.__name__}, whose __init__ s2s does not read"
    if inspect.isfunction(obj) and ctx().user_code(obj):
        return function_effect(obj, _active)
    if module.split(".")[0] in _PURE_MODULES or inspect.isbuiltin(obj) and module in ("math", "cmath"):
        return None
    return "is a function s2s cannot read"


def _made_from(obj):
    """The user's function a derivative function s2s made (s2s.grad(L) and the like) evaluates, or None."""
    for mark in ("__s2s_nested__", "__s2s_derivative__"):
        found = getattr(obj, mark, None)
        func = getattr(found, "func", None)
        if inspect.isfunction(func) and func is not obj:
            return func
    return None


def function_effect(func, _active=(), bindings: dict | None = None) -> str | None:
    """Why calling the user's function `func` may have an effect (the first reason found), or None.

    `bindings` gives the objects some of its parameters are bound to (for methods called on them)."""
    found = first_effect(func, _active, bindings)
    return None if found is None else found[2]


def known_effect(func, bindings: dict | None = None):
    """first_effect, leaving out calls of functions s2s cannot read (library functions, function values): only
    effects s2s knows of (random draws, next(), methods of objects, attribute stores) are reported, since
    refusing every such call would refuse jacfwd of much code that draws nothing."""
    token = _LENIENT.set(True)
    try:
        return first_effect(func, bindings=bindings)
    finally:
        _LENIENT.reset(token)


def first_effect(func, _active=(), bindings: dict | None = None):
    """(parsed function, node, reason) of the first effect found in the user's function `func`, or None;
    the parsed function is None where s2s cannot read its source (see function_effect)."""
    code = getattr(func, "__code__", None)
    if code is None:
        return None, None, "is a function s2s cannot read"
    if code in _active:
        return None  # recursion: its effects are those of the rest of its body
    if len(_active) >= _DEPTH:
        return None, None, "calls functions too deep for s2s to read"
    from .desugar import _parsed
    try:
        pf = _parsed(func)
    except Exception:  # noqa: BLE001 - no source
        return None, None, "has no source s2s can read"
    tree = pf.tree
    local = {a.arg for a in walk(tree.args) if isinstance(a, ast.arg)}
    stored = {n.id for n in walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    local |= stored
    # a parameter assigned in the body (`seed = None`) is not the value it was given everywhere
    bindings = {k: v for k, v in (bindings or {}).items() if k not in stored}
    fresh = _attributes_written_first(pf, tree) if _LENIENT.get() and not _active else frozenset()
    for node in walk(tree):
        if isinstance(node, ast.Global | ast.Nonlocal):
            return pf, node, f"rebinds a {type(node).__name__.lower()} name"
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and \
                _attribute_key(node) not in fresh:
            return pf, node, "stores into an attribute"
    held = _module_iterator(pf, tree, local)
    if held is not None:
        return pf, held, (f"reads {held.id}, an iterator of its module's or a closure's: the first evaluation takes "
                          "its items, and the next would find them gone")
    params = {a.arg for a in walk(tree.args) if isinstance(a, ast.arg)}
    shared = _shared_updates(func, tree, bindings or {})
    if shared:
        node, name, default = shared
        whose = "whose default value is one object that every call shares (a mutable default)" if default else \
            "which is given the same list or dict in every call"
        return pf, node, f"updates its parameter `{name}` in place, {whose}: each call sees the last one's update"
    found = impure_calls(pf, tree, local, _active + (code,), bindings or {}, _local_sources(tree, local - params))
    if found:
        return pf, found[0].node, found[0].reason
    for node, cls, getter in _property_reads(pf, tree, local, bindings or {}):
        own = next(iter(inspect.signature(getter).parameters), None)
        receiver = _instance_without_init(cls)  # (its methods and properties, which the getter reads, are named)
        inner = first_effect(getter, _active + (code,),
                             bindings={own: receiver} if own is not None and receiver is not _MISSING else None)
        if inner is not None and not (_LENIENT.get() and inner[0] is None):
            return pf, node, f"reads the property {node.attr}, whose getter {inner[2]}"
    if _LENIENT.get():  # calls of function values are left out: so is taking a value whose calls would be seen
        held = _held_effect(pf, tree, local, bindings or {}, _active + (code,))
        if held is not None:
            return pf, *held
    return None


def _property_reads(pf, tree, local, bindings) -> list:
    """(node, class, getter) for the reads `v.area` in `tree` of a property of yours (its getter runs there, as a call
    would) on a value of a class s2s can name: one an argument or global is of (or a record's field holds), or one
    the function constructs."""
    classes = []
    for node in walk(tree):
        value = _static_value(pf, node, local, bindings) if isinstance(node, ast.Name) else _MISSING
        if value is not _MISSING:
            classes.append(type(value))
            fields = getattr(value, "__dict__", None)
            held = fields.values() if type(fields) is dict else value if isinstance(value, tuple) else ()
            classes += [type(v) for v in list(held)[:100]]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
            made = _static_value(pf, node.func, local, bindings)
            if isinstance(made, type):
                classes.append(made)
    found = []
    for node in walk(tree):
        if not isinstance(node, ast.Attribute) or not isinstance(node.ctx, ast.Load):
            continue
        for cls in dict.fromkeys(classes):
            prop = inspect.getattr_static(cls, node.attr, None)
            if type(prop) is property and inspect.isfunction(prop.fget) and ctx().user_code(prop.fget):
                found.append((node, cls, prop.fget))
    return found


def _instance_without_init(cls):
    """An object of the record class `cls` made without running its code (its fields None), for reading what its
    methods do; else _MISSING."""
    try:
        if issubclass(cls, tuple):
            return tuple.__new__(cls, (None,) * len(getattr(cls, "_fields", ())))
        return object.__new__(cls)
    except Exception:  # noqa: BLE001 - a class that cannot be made so: its methods are not named
        return _MISSING


def _module_iterator(pf, tree, local):
    """The first read of a module global or closure value that is an iterator (a generator, `iter(...)`, a map or
    zip object): `list(it)`, `sum(it)`, a loop over it take its items, which a second evaluation would not find."""
    for node in walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local:
            try:
                obj = pf.resolve(node.id)
            except Exception:  # noqa: BLE001
                continue
            if isinstance(obj, Iterator):
                return node
    return None


def _held_effect(pf, tree, local, bindings, _active):
    """(node, reason) of the first place the function takes, without calling it there, a random generator's
    method (`draw = rng.normal`), a random generator, or a function with a known effect (`g = act`,
    `helper(act)`): s2s does not follow function values (their calls are left out), so the draws would not
    be seen where the value is called."""
    calls = {id(n.func) for n in walk(tree) if isinstance(n, ast.Call)}
    receivers = {id(n.value) for n in walk(tree) if isinstance(n, ast.Attribute)}
    items = {id(n.value) for n in walk(tree) if isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Constant)}
    for node in walk(tree):
        if id(node) in calls or id(node) in items or not isinstance(getattr(node, "ctx", None), ast.Load):
            continue  # (of cfg["lr"], the item is read, not cfg)
        if isinstance(node, ast.Subscript) and id(node.value) in items:
            why = _held_value_effect(_static_value(pf, node, local, bindings), _active)
            if why is not None:
                return node, f"passes on {ast.unparse(node)}, which {why} (what it does there is not followed)"
        elif isinstance(node, ast.Attribute):
            obj = _static_value(pf, node.value, local, bindings)
            if _random_object(obj) and callable(_plain_attribute(obj, node.attr)):
                return node, f"takes {ast.unparse(node)}, a method of a random generator (calling it draws)"
            why = None if id(node) in receivers or obj is _MISSING or inspect.ismodule(obj) else \
                _held_value_effect(_plain_attribute(obj, node.attr), _active)
            if why is not None:  # (r = self.rng; r.normal())
                return node, f"passes on {ast.unparse(node)}, which {why} (what it does there is not followed)"
        elif isinstance(node, ast.Name):
            obj = _static_value(pf, node, local, bindings)
            held = [obj] if id(node) not in receivers else []
            if isinstance(obj, list | tuple | dict):  # (acts[t](x), with acts a list of functions)
                held += list(obj.values() if isinstance(obj, dict) else obj)[:100]
            for value in held:
                why = _held_value_effect(value, _active)
                if why is not None:
                    return node, f"passes on {node.id}, which {why} (what it does there is not followed)"
    return None


def _held_value_effect(value, _active, _depth=0):
    """Why a value a function passes on or keeps may have an effect where it is called: a random generator,
    or a callable with a known effect, or a list, tuple or dict holding one; None otherwise."""
    if isinstance(value, list | tuple | dict) and _depth < 2:
        for item in list(value.values() if isinstance(value, dict) else value)[:100]:
            why = _held_value_effect(item, _active, _depth + 1)
            if why is not None:
                return why
        return None
    if _random_object(value):
        return "is or holds a random generator"
    if callable(value) and not isinstance(value, type) and not inspect.ismodule(value):
        why = object_effect(value, _active)
        if why is not None and "cannot read" not in why:
            return f"is or holds a function which {why}"
    return None


_IMMUTABLE = (int, float, complex, str, bytes, bool, tuple, frozenset, range, type(None), np.generic)


# methods of a list, dict or set that only read it
_CONTAINER_READS = frozenset({"get", "keys", "values", "items", "copy", "count", "index", "__contains__",
                              "__getitem__", "__len__", "issubset", "issuperset", "isdisjoint", "union",
                              "intersection", "difference", "symmetric_difference"})


def _shared_updates(func, tree, bindings):
    """(node, name, whether from a default) of the first in-place update (`memo.append(v)`, `memo += v`,
    `memo[i] = v`, `memo.x = v`, a method call) of a parameter whose value outlives the call: a mutable
    default value (`def f(x, memo=[])`), one object kept by the function, or a list, dict or set `bindings`
    binds it to (jacfwd gives every evaluation the same one). Each call changes what the next one sees."""
    defaults = dict(getattr(func, "__kwdefaults__", None) or {})
    positional = [a.arg for a in tree.args.posonlyargs + tree.args.args]
    values = getattr(func, "__defaults__", None) or ()
    defaults.update(zip(positional[len(positional) - len(values):], values))
    names = {n for n, v in defaults.items() if n not in bindings and not isinstance(v, _IMMUTABLE) and
             not callable(v)}
    given = {n for n, v in bindings.items() if isinstance(v, list | dict | set | bytearray)}
    names |= given
    if not names:
        return None

    def root(node):
        while isinstance(node, ast.Subscript | ast.Attribute):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    for node in walk(tree):
        targets = []
        if isinstance(node, ast.AugAssign):
            targets = [node.target]
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = [t for t in getattr(node, "targets", [getattr(node, "target", None)])
                       if isinstance(t, ast.Subscript | ast.Attribute)]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Name) and \
                not (node.func.attr in _READING_METHODS and node.func.attr not in _CONTAINER_UPDATES) and \
                not (node.func.attr in _CONTAINER_READS and type(bindings.get(node.func.value.id, defaults.get(
                    node.func.value.id))) in (list, dict, set)):  # (`p.get(k, v)` of a dict it is given reads it)
            targets = [node.func.value]  # (methods of what it holds, memo[0].pop(): _computed_call_effect)
        for t in targets:
            if root(t) in names:
                return node, root(t), root(t) not in given
    return None


def _attribute_key(node: ast.Attribute):
    """('obj', 'name') for `obj.name`, else None."""
    return (node.value.id, node.attr) if isinstance(node.value, ast.Name) else None


def _attributes_written_first(pf, tree) -> frozenset:
    """The attributes `obj.name` that every evaluation of the function stores before anything reads them:
    stored by a plain assignment among the first statements of the body, with nothing before it (that
    assignment's value included) reading an attribute `name` of any object (`self.parent.name` may be it),
    using `obj` otherwise than through an attribute, reading attributes by a computed name (getattr,
    `__dict__`), or calling what could (a function of the user's, a method of an object). Evaluating such a function again
    sees none of the last evaluation's stores, so jacfwd and hessian may run it once per direction.

        >>> t = ast.parse("def f(self, x):\\n    self.h = self.W @ x\\n    return self.h @ self.h").body[0]
        >>> sorted(_attributes_written_first(None, t))
        [('self', 'h')]
    """
    rebound = {n.id for n in walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    written, read, escaped = set(), set(), set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring
        if not isinstance(stmt, ast.Assign) or _calls_unknown(pf, stmt.value) or _reads_by_name(stmt.value):
            break  # a loop, a branch, a call that may read the object: what follows is not first
        attribute_bases = set()
        for node in walk(stmt.value):
            if isinstance(node, ast.Attribute):
                # any `.name` read counts, whatever it is read from: `self.parent.h` or `objs[0].h` may be
                # self.h (the names only are compared)
                read.add(node.attr)
                if isinstance(node.value, ast.Name):
                    attribute_bases.add(id(node.value))
        escaped |= {n.id for n in walk(stmt.value) if isinstance(n, ast.Name) and id(n) not in attribute_bases}
        targets = [t for target in stmt.targets for t in
                   (target.elts if isinstance(target, ast.Tuple | ast.List) else [target])]
        if not all(isinstance(t, ast.Name) or isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                   for t in targets):
            break  # an item store, a starred target: left to the other checks
        for t in targets:
            key = _attribute_key(t) if isinstance(t, ast.Attribute) else None
            if key is not None and key[1] not in read and key[0] not in escaped and key[0] not in rebound:
                written.add(key)
    return frozenset(written)


_BY_NAME = frozenset({getattr, hasattr, vars, setattr, delattr})


def _reads_by_name(expr) -> bool:
    """Whether `expr` may read attributes s2s cannot name: getattr(o, n) and the like, `o.__dict__`."""
    for node in walk(expr):
        if isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            return True
        if isinstance(node, ast.Name) and any(getattr(builtins, node.id, None) is b for b in _BY_NAME):
            return True
    return False


def _calls_unknown(pf, expr) -> bool:
    """Whether `expr` calls something that may read the objects the function stores into: a method of an
    object, a function of the user's, a function value, anything s2s cannot resolve to a pure library."""
    for call in walk(expr):
        if not isinstance(call, ast.Call):
            continue
        root = call.func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name) or pf is None:
            return True
        try:
            obj = pf.resolve_expr(call.func)
        except Exception:  # noqa: BLE001
            return True
        if obj is ctx().missing or inspect.isfunction(obj) or \
                _module(obj).split(".")[0] not in _PURE_MODULES and not isinstance(obj, np.ufunc) and \
                not any(obj is b for b in _PURE_BUILTINS):
            return True
    return False


def impure_calls(pf, node: ast.AST, local: set, _active=(), bindings: dict | None = None,
                 made_here: frozenset = frozenset()) -> list[Effect]:
    """The calls in `node` that may have an effect (see the module docstring); `local` are the names local
    to the code `node` is part of (their objects are unknown unless in `bindings`). pf resolves the others."""
    bindings = bindings or {}
    out = []
    for call in walk(node):
        if not isinstance(call, ast.Call) or updates_local_container(call, local):
            continue  # (whether that list is shared is the callers' question: ownership, updated_params)
        effect = _call_effect(pf, call, local, _active, bindings, made_here)
        if effect is not None and not (_LENIENT.get() and "cannot read" in effect.reason):
            out.append(effect)
    return out


def _chain_of_fresh_iterables(pf, call, obj, local, bindings) -> bool:
    """Whether `call` is `itertools.chain(a, b, ...)` or `itertools.chain.from_iterable([a, b, ...])` of iterables
    that are no iterator another evaluation could find stepped: displays and comprehensions, `range(...)`, the
    function's arguments (jacfwd refuses iterator arguments: `s2s/repeated.py`), items and slices of array
    arguments and module values that are no iterator, and `zip`, `enumerate` or `reversed` of those (a new
    iterator each evaluation)."""
    if call.keywords:
        return False
    if obj is itertools.chain:
        parts = call.args
    elif obj == itertools.chain.from_iterable and len(call.args) == 1 \
            and isinstance(call.args[0], ast.List | ast.Tuple):
        parts = call.args[0].elts
    else:
        return False
    return all(_fresh_iterable(pf, p, local, bindings, 3) for p in parts)


def _fresh_iterable(pf, node, local, bindings, depth) -> bool:
    if isinstance(node, ast.List | ast.Tuple | ast.Set | ast.ListComp | ast.SetComp | ast.DictComp | ast.Dict):
        return not any(isinstance(e, ast.Starred) for e in getattr(node, "elts", ()))
    if isinstance(node, ast.Name):
        if node.id in bindings:
            return not isinstance(bindings[node.id], Iterator)
        if node.id in local or pf is None:
            return False  # (a local's object is not known here)
        try:
            obj = pf.resolve_expr(node)
        except Exception:  # noqa: BLE001
            return False
        return obj is not ctx().missing and not isinstance(obj, Iterator) and hasattr(obj, "__iter__")
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
            and isinstance(bindings.get(node.value.id), np.ndarray):
        return True  # (an item or slice of an array argument: an array or a number, no iterator)
    if isinstance(node, ast.Call) and depth > 0 and not node.keywords and isinstance(node.func, ast.Name) \
            and node.func.id not in local and pf is not None:
        made = pf.resolve_expr(node.func)
        if made is range:
            return True
        if made in (zip, enumerate, reversed) and node.args:
            return all(_fresh_iterable(pf, a, local, bindings, depth - 1) for a in node.args[:1 if made is not zip
                                                                                               else None])
    return False


# methods of a SciPy sparse matrix that only read it (each makes a new matrix or array)
_SPARSE_READS = frozenset({"dot", "multiply", "transpose", "toarray", "todense", "tocsr", "tocsc", "tocoo", "copy",
                           "sum", "mean", "diagonal", "getrow", "getcol", "power", "maximum", "minimum"})


def _call_effect(pf, call, local, _active, bindings, made_here):
    func = call.func
    root = func
    while isinstance(root, ast.Attribute):
        root = root.value
    touched = _names(call) - {n.id for n in walk(func) if isinstance(n, ast.Name)} | \
        (_names(func.value) if isinstance(func, ast.Attribute) else set())
    text = ast.unparse(func)
    if isinstance(root, ast.Name) and root.id in local:
        if root.id in bindings and isinstance(func, ast.Attribute):
            obj = bindings[root.id]
            for part in _attribute_path(func)[1:]:
                obj = _plain_attribute(obj, part) if obj is not _MISSING else obj
            why = object_effect(obj, _active) if obj is not _MISSING else \
                "is not a stored attribute of the object (a property, __getattr__ or none), which s2s does not run"
            return None if why is None else Effect(call, f"calls {text}(), which {why}", touched)
        if isinstance(func, ast.Attribute):
            if func.attr in _READING_METHODS:
                return None  # an array's method that computes (updating ones are refused by the callers)
            if func.attr in PURE_METHODS and pf is not None and _frozen_only(pf, root.id, made_here, set()):
                return None  # (d = st.norm(m, s); d.logpdf(x): a frozen distribution's density; `e = d` too)
            if _LENIENT.get() and root.id in made_here:  # a method of an object the function makes or takes
                return _method_of_local(pf, call, made_here[root.id], local, _active, bindings, made_here, text,
                                        touched)
            return Effect(call, f"calls {text}(), a method of an object (it may change the object)", touched)
        if root.id in bindings and callable(bindings[root.id]):  # a function passed in: read it
            why = object_effect(bindings[root.id], _active)
            return None if why is None else Effect(call, f"calls {text}(), which {why}", touched | {ANY})
        return Effect(call, f"calls the function value {text}, which s2s cannot read", touched | {ANY})
    if not isinstance(root, ast.Name):
        return _computed_call_effect(pf, call, local, _active, bindings, made_here, root, text, touched)
    try:
        obj = pf.resolve_expr(func) if pf is not None else ctx().missing
    except Exception:  # noqa: BLE001
        obj = ctx().missing
    if obj is ctx().missing:
        if isinstance(func, ast.Attribute) and func.attr in _READING_METHODS:
            return None
        return Effect(call, f"calls {text}, which s2s cannot read", touched | {ANY})
    if _seeded(pf, call, bindings):
        return None  # a generator seeded with a number: each evaluation makes the same one
    if _chain_of_fresh_iterables(pf, call, obj, local, bindings):
        return None  # (a chain of lists, arrays, ranges: iterating it steps no iterator that outlives the call)
    if obj is itertools.chain or obj == itertools.chain.from_iterable:
        return Effect(call, f"calls {text}() of a part that may be an iterator made outside it (a name of the "
                      "function's own, a module's iterator, or an item of an argument), whose items the first "
                      "evaluation would take", touched)
    if _ufunc_at(obj):
        return None  # (an update of its first argument, as `a[i] += b`: ownership proves or refuses it)
    if inspect.isfunction(obj) and ctx().user_code(obj):  # read it with the numbers it is called with
        why = function_effect(obj, _active, _constant_arguments(obj, call, bindings))
    else:
        why = object_effect(obj, _active)
    if why is None:
        return None
    if why == "draws random numbers" or why == "advances an iterator":
        touched = touched | {root.id}
    if inspect.isfunction(obj) or isinstance(obj, type) or why.startswith("is a function"):
        touched = touched | {ANY}
    return Effect(call, f"calls {text}(), which {why}", touched)


_MISSING = object()


def _ufunc_at(obj) -> bool:
    """Whether `obj` is a ufunc's `at` method (`np.add.at`), which updates its first argument in place."""
    return isinstance(getattr(obj, "__self__", None), np.ufunc) and getattr(obj, "__name__", "") == "at"


def _computed_call_effect(pf, call, local, _active, bindings, made_here, root, text, touched):
    """The effect of calling a method of an object s2s reaches through items or calls (`gens[0].normal()`,
    `self.rngs[0].normal()`, `factory().step()`, `getattr(rng, "normal")()`): read where the object is
    known (items of lists, tuples and dicts bound or global), else refused for a method that is not an
    array's, which may change its object."""
    func = call.func
    if isinstance(func, ast.Call) and isinstance(func.func, ast.Name) and pf is not None and \
            _resolved(pf, func.func) is getattr:
        return Effect(call, f"calls {text}(), a method of an object looked up by name (it may change the "
                            "object)", touched | {ANY})
    if not isinstance(func, ast.Attribute):
        callee = _static_value(pf, func, local, bindings)  # (acts[0](x), with acts an argument)
        why = object_effect(callee, _active) if callee is not _MISSING else "is a function s2s cannot read"
        return None if why is None else Effect(call, f"calls {text}(), which {why}", touched | {ANY})
    receiver = _static_value(pf, func.value, local, bindings)
    if receiver is not _MISSING:
        why = object_effect(_plain_attribute(receiver, func.attr), _active)
        return None if why is None else Effect(call, f"calls {text}(), which {why}", touched | {ANY})
    if func.attr in _READING_METHODS and func.attr not in _CONTAINER_UPDATES:
        return None  # a method of a computed value (w[:3].reshape(...))
    inner = _call_effect(pf, func.value, local, _active, bindings, made_here) \
        if isinstance(func.value, ast.Call) else None
    if inner is not None and not (_LENIENT.get() and "cannot read" in inner.reason):
        return None  # the call making the object is reported itself (RandomState().normal())
    made = _resolved(pf, func.value.func) if isinstance(func.value, ast.Call) and pf is not None else None
    if inner is None and func.attr in PURE_METHODS and is_distribution(made):
        return None  # (st.norm(m, s).logpdf(x): a frozen distribution's density)
    if inner is None and isinstance(made, type):  # a method of an object made here by a pure constructor
        if issubclass(made, tuple) or _module(made) in ("builtins", "collections") or \
                _module(made).split(".")[0] == "numpy":
            return None  # a new container of its own (set().add, a namedtuple's _replace)
        method = inspect.getattr_static(made, func.attr, None)
        if inspect.isfunction(method) and ctx().user_code(method):
            why = function_effect(method, _active)
            return None if why is None else Effect(call, f"calls {text}(), which {why}", touched | {ANY})
    if isinstance(func.value, ast.Call) and _makes_seeded(pf, func.value, bindings) or \
            isinstance(root, ast.Constant):
        return None  # a generator made here with a seed, a str's method
    return Effect(call, f"calls {text}(), a method of an object s2s cannot name (it may change the object)",
                  touched | {ANY})


_FRESH = (ast.List, ast.Dict, ast.Set, ast.Tuple, ast.ListComp, ast.DictComp, ast.SetComp, ast.Constant,
          ast.JoinedStr, ast.BinOp)


def _local_sources(tree, names) -> dict:
    """For each of the function's own `names`, what it is assigned: the value of `name = value`,
    ("for", iterable) for a loop's or comprehension's target, None for any other binding (unpacking, with,
    augmented assignment, import...), which s2s does not follow."""
    out = {n: [] for n in names}
    seen = set()  # the Name nodes bound by a plain assignment or a loop
    for node in walk(tree):
        if isinstance(node, ast.Assign):
            pairs = [(t, node.value) for t in node.targets]
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            pairs = [(node.target, ("for", node.iter))]
        else:
            continue
        for target, source in pairs:
            if isinstance(target, ast.Name) and target.id in out:
                out[target.id].append(source)
                seen.add(id(target))
    for node in walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in out and id(node) not in seen:
            out[node.id].append(None)
        elif isinstance(node, ast.ExceptHandler | ast.Import | ast.ImportFrom):  # (bound without a Name node)
            bound = [node.name] if isinstance(node, ast.ExceptHandler) else \
                [(a.asname or a.name).split(".")[0] for a in node.names]
            for n in bound:
                if n in out:
                    out[n].append(None)
    return out


def _method_of_local(pf, call, sources, local, _active, bindings, made_here, text, touched):
    """Leniently (jacfwd/hessian): the effect of `name.method()` with `name` the function's own: pure where
    every value `name` is given is made by the function (a literal, a container, a seeded generator, an object
    of a pure constructor whose method is pure) or is an item of a list s2s knows whose method is pure
    (`for layer in self.layers: layer.forward(h)`); else a method of an object s2s cannot name."""
    func = call.func
    path = _attribute_path(func)[1:]
    unknown = Effect(call, f"calls {text}(), a method of an object s2s cannot name (it may change the object)",
                     touched | {ANY})
    for source in sources or [None]:
        if source is None:
            return unknown
        if isinstance(source, tuple):  # a loop's target: the items of what it runs over
            seq = _static_value(pf, source[1], local, bindings)
            if not isinstance(seq, list | tuple):
                return unknown
            for item in seq[:100]:
                obj = item
                for part in path:
                    obj = _plain_attribute(obj, part) if obj is not _MISSING else obj
                why = object_effect(obj, _active) if obj is not _MISSING else "is not a stored attribute"
                if why is not None:
                    return Effect(call, f"calls {text}(), which {why}", touched | {ANY})
            continue
        if isinstance(source, _FRESH):
            continue  # a value made here: its methods change only it
        if not isinstance(source, ast.Call) or len(path) != 1:
            return unknown
        made = ast.Call(func=ast.Attribute(value=source, attr=path[0], ctx=ast.Load()), args=call.args,
                        keywords=call.keywords)
        found = _computed_call_effect(pf, made, local, _active, bindings, made_here, source, text, touched)
        if found is not None:
            return Effect(call, found.reason.replace(ast.unparse(made.func), text), found.touches)
    return None


def _makes_seeded(pf, call, bindings, depth=0) -> bool:
    """Whether `call` makes a new generator seeded with a number: `default_rng(7)`, or a call of the user's
    function every `return` of which is one (`rng(62)` with `def rng(seed): return default_rng(seed)`)."""
    if _seeded(pf, call, bindings):
        return True
    obj = _resolved(pf, call.func) if pf is not None else ctx().missing
    if depth > 2 or not (inspect.isfunction(obj) and ctx().user_code(obj)):
        return False
    from .desugar import _parsed
    try:
        inner = _parsed(obj)
    except Exception:  # noqa: BLE001 - no source
        return False
    returns = [n.value for n in walk(inner.tree) if isinstance(n, ast.Return)]
    given = _constant_arguments(obj, call, bindings)
    return bool(returns) and all(isinstance(r, ast.Call) and _makes_seeded(inner, r, given, depth + 1)
                                 for r in returns)


def _plain_attribute(obj, name):
    """obj.name where reading it runs none of the user's code (a stored value, a method bound), else _MISSING:
    a property or __getattr__ would run while s2s reads the function (and might draw)."""
    if inspect.ismodule(obj):
        return getattr(obj, name, _MISSING)
    found = inspect.getattr_static(obj, name, _MISSING)
    if found is _MISSING:
        return _MISSING
    if isinstance(found, property) or inspect.isfunction(getattr(type(found), "__get__", None)):
        return _MISSING  # a property or another descriptor written in Python (ndarray.T's runs no such code)
    try:
        return getattr(obj, name, _MISSING)
    except Exception:  # noqa: BLE001
        return _MISSING


def _resolved(pf, node):
    try:
        return pf.resolve_expr(node)
    except Exception:  # noqa: BLE001
        return ctx().missing


def _static_value(pf, node, local, bindings):
    """The object `node` denotes where s2s can know it without running code of the user's: a name bound
    (an argument) or global, its attributes, items of lists, tuples and dicts at literal keys; else _MISSING."""
    if isinstance(node, ast.Name):
        if node.id in bindings:
            return bindings[node.id]
        if node.id in local or pf is None:
            return _MISSING
        obj = _resolved(pf, node)
        return _MISSING if obj is ctx().missing else obj
    if isinstance(node, ast.Attribute):
        base = _static_value(pf, node.value, local, bindings)
        return _MISSING if base is _MISSING else _plain_attribute(base, node.attr)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        base = _static_value(pf, node.value, local, bindings)
        if isinstance(base, list | tuple | dict):
            try:
                return base[node.slice.value]
            except (KeyError, IndexError, TypeError):
                return _MISSING
    return _MISSING


def _known_value(node, bindings):
    """The value of `node` where it is a literal or a name bound to a value, else _MISSING."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in bindings:
        return bindings[node.id]
    return _MISSING


def _makes_generator(obj) -> bool:
    """Whether calling `obj` makes a random generator, bit generator or seed sequence (random.Random too)."""
    import random
    return obj is np.random.default_rng or isinstance(obj, type) and issubclass(
        obj, np.random.Generator | np.random.RandomState | np.random.BitGenerator | np.random.SeedSequence |
        random.Random)


def _seeded(pf, call, bindings) -> bool:
    """Whether `call` makes a generator the same way every time: default_rng(7), RandomState(7),
    Generator(PCG64(7)), each positional argument an int or itself such a call (no keywords). Without a
    seed (RandomState(), PCG64(), default_rng(None)) each call takes fresh entropy from the system."""
    try:
        obj = pf.resolve_expr(call.func) if pf is not None else ctx().missing
    except Exception:  # noqa: BLE001
        return False
    if not _makes_generator(obj) or not call.args or call.keywords:
        return False
    return all(_seeded(pf, a, bindings) if isinstance(a, ast.Call) else _is_seed(_known_value(a, bindings))
               for a in call.args)


def _is_seed(value) -> bool:
    """Whether `value` seeds a new generator the same way every time (an int; not None, which draws fresh
    entropy, nor a generator, which default_rng returns itself)."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _constant_arguments(func, call, bindings) -> dict:
    """The parameters of `func` that `call` gives numbers or strings (literals, or names bound to them)."""
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return {}
    out = {}
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    args = [(p.name, a) for p, a in zip(positional, call.args) if not isinstance(a, ast.Starred)]
    if any(isinstance(a, ast.Starred) for a in call.args):
        args = args[:next(i for i, a in enumerate(call.args) if isinstance(a, ast.Starred))]
    args += [(k.arg, k.value) for k in call.keywords if k.arg is not None]
    for name, node in args:
        value = _known_value(node, bindings)
        if isinstance(value, int | float | str | np.integer) and not isinstance(value, bool):
            out[name] = value
    return out


_CONTAINER_UPDATES = frozenset({"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault",
                                "popitem"})


def updates_local_container(call: ast.Call, local: set) -> bool:
    """Whether `call` is `name.append(...)` (or another list/dict update) of a local name: s2s rewrites those
    into new values (transforms/desugar.py), they draw nothing and step no outside object."""
    func = call.func
    return isinstance(func, ast.Attribute) and func.attr in _CONTAINER_UPDATES and \
        isinstance(func.value, ast.Name) and func.value.id in local


def _attribute_path(func):
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    parts.append(func.id)
    return parts[::-1]


def reads(node: ast.AST, pf=None) -> set:
    """The names `node` reads, leaving out those that denote modules, functions and classes."""
    out = set()
    for n in walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            obj = ctx().missing
            if pf is not None:
                try:
                    obj = pf.resolve(n.id)
                except Exception:  # noqa: BLE001
                    obj = ctx().missing
            if inspect.ismodule(obj) or inspect.isroutine(obj) or isinstance(obj, type | np.ufunc):
                continue
            out.add(n.id)
    return out


def conflict(producer: list[Effect], producer_reads: set, consumer: list[Effect], consumer_reads: set,
             names=("the producer", "the consumer")):
    """Whether code run step by step interleaved with other code (a generator and its loop body) may see
    another result when run to its end first: returns (node, why) or None; node is the consumer's call
    at fault, or None where the producer's is.

    Either side's effects must not reach what the other reads, and they must not both have effects (two
    sources of random numbers drawn in another order)."""
    if producer and consumer:
        return consumer[0].node, f"{names[0]} {producer[0].reason}, and {names[1]} {consumer[0].reason}"
    for effect in consumer:
        if ANY in effect.touches or effect.touches & producer_reads:
            return effect.node, f"{names[1]} {effect.reason}, which {names[0]} may read"
    for effect in producer:
        if ANY in effect.touches or effect.touches & consumer_reads:
            return None, f"{names[0]} {effect.reason}, which {names[1]} may read"
    return None
