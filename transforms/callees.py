"""Calls whose callee a summary cannot name: what they may change, settled where the callee is known.

A helper that calls a function it is given (`def apply(f, v): return f(v)`) or a method of an object it is given
(`o.forward(v)`) changes whatever that callee changes, which its summary (transforms/ownership.py) cannot know
but its caller, passing `np.sin` or `Holder(double)`, often can. So the summary counts the parameters such a call
is given as updated, which keeps every reader of summaries safe, and keeps one `Deferred` entry per call: a caller
that knows what it passes settles them (`settle`), and the parameters given only to callees that change nothing
drop out.

    >>> import ast
    >>> callee_path(ast.parse("o.forward", mode="eval").body)
    ('o', (('attr', 'forward'),))
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import types
from dataclasses import dataclass

import numpy as np

from . import context
from .names import int_constant

ALL = None  # what `changed_keys` gives where it cannot tell: every argument and the callee's object may change
SELF = "self"  # the key of a bound method's own object
UNKNOWN = object()


@dataclass(frozen=True)
class Deferred:
    """A call of the callee reached from parameter `root` through `steps` (`(("attr", "forward"),)` for
    `o.forward(...)`, `(("item", 0),)` for `fs[0](...)`); `given`: per argument key (a position or a keyword
    name) the summarised function's parameters whose objects that argument may be or hold; `receiver`: those
    the callee's own object may be (a method that changes its object changes them); `starred`: the call has a
    `*args` or `**kw`, so any argument may be at any key."""

    root: str
    steps: tuple
    given: tuple
    receiver: frozenset
    starred: bool

    def params(self, keys) -> frozenset:
        """The parameters a call that changes the arguments at `keys` (ALL: any argument) may update; a method's
        own object only where `keys` says so (SELF), as a method call's result used is read elsewhere."""
        if keys is ALL:  # (a function value called itself, `f()` of `w.sort` or a partial, may change what it holds)
            return frozenset().union(*(p for _, p in self.given)) | (self.receiver if not self.steps else frozenset())
        out = set(self.receiver) if SELF in keys else set()
        for key, params in self.given:
            if self.starred and keys - {SELF} or key in keys:
                out |= params
        return frozenset(out)


def callee_path(func: ast.expr):
    """(root name, steps) of a callee written as a name followed by attributes, constant items and constant slices,
    else None.

        >>> callee_path(ast.parse("self.fs[0]", mode="eval").body)
        ('self', (('attr', 'fs'), ('item', 0)))
    """
    steps = []
    node = func
    while True:
        if isinstance(node, ast.Attribute):
            steps.append(("attr", node.attr))
            node = node.value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            steps.append(("item", node.slice.value))
            node = node.value
        elif isinstance(node, ast.Subscript) and int_constant(node.slice) is not None:  # (`self.layers[-1]`)
            steps.append(("item", int_constant(node.slice)))
            node = node.value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice) and _constant_slice(node.slice):
            steps.append(("slice", _constant_slice(node.slice)))  # (`self.layers[:-1]`)
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id, tuple(reversed(steps))
        else:
            return None


def _constant_slice(node: ast.Slice):
    """(lower, upper, step) of a slice written with int literals or nothing (`:-1`, `1:`, `::2`), else None."""
    written = (node.lower, node.upper, node.step)
    parts = tuple(None if part is None else int_constant(part) for part in written)
    if any(part is not None and value is None for part, value in zip(written, parts)) or parts[2] == 0:
        return None
    return parts


def defines_function(cls, name) -> bool:
    """Whether the class `cls` (or a base of it) defines `name` as a Python function of its own (a method, a static or
    class method), not another callable held as a class attribute (`dot = np.dot`, whose call is NumPy's).

        >>> class Bag:
        ...     def take(self, x): return x
        ...     dot = np.dot
        >>> defines_function(Bag, "take"), defines_function(Bag, "dot"), defines_function(Bag, "sum")
        (True, False, False)
    """
    for klass in cls.__mro__[:-1]:
        if name in vars(klass):
            value = vars(klass)[name]
            return isinstance(getattr(value, "__func__", value), types.FunctionType)
    return False


def follow(obj, steps):
    """The callee `steps` lead to from the object `obj`, without running code of it (no property, no
    `__getattr__`): a function the class defines comes bound to the object; an ("each", None) step (a loop's
    variable, `for layer in self.layers`) leads to every item, as a list of callees, a ("values", None) step to
    every value of a dict; UNKNOWN where it cannot tell.

        >>> follow({"act": np.tanh}, (("item", "act"),)) is np.tanh
        True
    """
    for at, (kind, key) in enumerate(steps):
        if kind == "result":  # (`step = f(a)`: what a call of it returns, read from its body by changed_keys)
            return Returned(obj) if not steps[at + 1:] else UNKNOWN
        if kind == "each":
            if not isinstance(obj, list | tuple):
                return UNKNOWN
            return Each(follow(item, steps[at + 1:]) for item in obj)
        if kind == "values":  # (a loop over a dict's values: `for m in self.mods.values()`)
            if type(obj) is not dict:
                return UNKNOWN
            return Each(follow(item, steps[at + 1:]) for item in obj.values())
        if kind == "slice":  # (`for layer in self.layers[:-1]`: the items it keeps, each as "each" reads them)
            if not isinstance(obj, list | tuple):
                return UNKNOWN
            obj = obj[slice(*key)]
            continue
        if kind == "item":
            if not isinstance(obj, dict | list | tuple):
                return UNKNOWN
            try:
                item = obj[key]
            except (KeyError, IndexError, TypeError):
                return UNKNOWN
            context.note_read("d" if isinstance(obj, dict) else "i", obj, key, item)
            obj = item
            continue
        if isinstance(obj, types.ModuleType):
            found = getattr(obj, key, UNKNOWN)
            context.note_read("a", obj, key, found)
            obj = found
            continue
        cls = obj if isinstance(obj, type) else type(obj)
        if inspect.getattr_static(cls, "__getattr__", None) is not None or \
                cls.__getattribute__ not in (object.__getattribute__, type.__getattribute__):
            return UNKNOWN
        found = inspect.getattr_static(obj, key, UNKNOWN)
        own = not isinstance(obj, type) and key in getattr(obj, "__dict__", {})
        if isinstance(found, staticmethod):
            found = found.__func__
        elif isinstance(found, classmethod):
            found = types.MethodType(found.__func__, cls)
        elif isinstance(found, types.FunctionType) and not own and not isinstance(obj, type):
            found = types.MethodType(found, obj)
        elif found is not UNKNOWN and not own and not isinstance(obj, type) and callable(found) \
                and hasattr(type(found), "__get__") and not hasattr(type(found), "__set__"):
            found = found.__get__(obj, type(obj))  # (a compiled method, `rng.normal`: bound as Python binds it)
        elif found is not UNKNOWN and not own and hasattr(type(found), "__get__") \
                and not isinstance(found, types.FunctionType | types.BuiltinFunctionType):
            return UNKNOWN  # (a property or another descriptor: code of the class decides)
        if found is not UNKNOWN:  # (what `getattr(obj, key)` gives now: `HOLDER.g = double`, `Net.act = ...` later
            context.note_read("a", obj, key, found)  # make code settled from it stale)
        obj = found
    return obj


@dataclass(frozen=True)
class Reader:
    """How to read what a callee changes: `summary_of(func, instance=None, fresh_first=False)`, the Summary of a
    user function (transforms/ownership.py; None: unknown); `rule_of` its derivative rule; `mutates` the hint of a
    library function that changes its first argument; `safe`/`unsafe`: library callables known to change none
    of their arguments / anything (`setattr`); `changing_methods`: the names of list, dict and array methods
    that change their object; `returned(factory)`: what the function a call of `factory` returns may change."""

    summary_of: object
    rule_of: object
    mutates: object
    safe: object = lambda obj: False
    unsafe: object = lambda obj: False
    changing_methods: frozenset = frozenset()
    returned: object = lambda factory: ALL  # what the function a call of `factory` returns may change

    def summary(self, func, **known):
        try:
            return self.summary_of(func, **known) if known else self.summary_of(func)
        except TypeError:  # (a summary_of that takes no instance)
            return self.summary_of(func)


class Each(list):
    """The callees of a loop's variable, one per item (`follow`)."""


@dataclass(frozen=True)
class Returned:
    """The function a call of `factory` returns (`follow` of a ("result", None) step)."""

    factory: object


def is_callable_object(obj) -> bool:
    """An object of a class of yours with a `__call__` written in Python (a layer called as `layer(x)`).

        >>> is_callable_object(np.tanh)
        False
    """
    return not isinstance(obj, type) and isinstance(inspect.getattr_static(type(obj), "__call__", None),
                                                    types.FunctionType)


def changed_keys(obj, reader: Reader):
    """The argument keys (positions, keyword names, SELF for a bound method's object) a call of `obj` may change
    in place, or ALL.

        >>> changed_keys(np.sum, Reader(lambda f: None, lambda f: None, lambda f: None))
        set()
    """
    if isinstance(obj, Returned):
        return reader.returned(obj.factory)
    if isinstance(obj, Each):
        keys = set()
        for one in obj:
            found = changed_keys(one, reader)
            if found is ALL:
                return ALL
            keys |= found
        return keys
    if _unsafe(reader, obj):
        return ALL
    if isinstance(obj, functools.partial):  # (its arguments come after those it holds; a change of those is its own)
        inner = changed_keys(obj.func, reader)
        if inner is ALL:
            return ALL
        n = len(obj.args)
        try:
            held = set(list(inspect.signature(obj.func).parameters)[:n]) | set(obj.keywords)
        except (TypeError, ValueError):
            held = set(obj.keywords)
        # (a keyword it holds may be passed again at the call, which then goes to the callee instead)
        return {k - n for k in inner if isinstance(k, int) and k >= n} | \
            {k for k in inner if isinstance(k, str) and k != SELF and (k not in held or k in obj.keywords)} | \
            ({SELF} if any(isinstance(k, int) and k < n or k in held for k in inner) else set())
    if isinstance(obj, np.ufunc):  # (an argument after its inputs is an output it writes into: `np.add(a, b, a)`)
        return set(range(obj.nin, obj.nin + obj.nout)) | {"out"}
    if reader.safe(obj):
        return set()
    try:
        rule = reader.rule_of(obj)
    except TypeError:
        rule = None
    module = (getattr(obj, "__module__", None) or "").split(".")[0]
    if rule is not None or module in _LIBRARIES and not isinstance(obj, types.MethodType | type):
        # (a function with a rule, a library's function: `np.copyto`'s `mutates` fact says it changes its first)
        return {0} if _mutates(reader, obj) else set()
    compiled = isinstance(obj, types.BuiltinMethodType) or \
        isinstance(obj, types.MethodType) and not isinstance(obj.__func__, types.FunctionType)
    if compiled and not isinstance(getattr(obj, "__self__", None), types.ModuleType):
        owner = obj.__self__
        if isinstance(owner, np.ufunc):  # (`np.add.reduce`; `np.add.at` changes its first argument)
            return {0} if obj.__name__ == "at" else set()
        if isinstance(owner, np.ndarray | np.generic | list | dict | set | str | bytes | tuple | int | float):
            return {SELF} if obj.__name__ in reader.changing_methods else set()
        if (type(owner).__module__ or "").split(".")[0] in _LIBRARIES:
            # (`rng.normal(mu)` changes the generator's state, no array the derivative reads; `rng.shuffle(v)`, v)
            return {0} if obj.__name__ in reader.changing_methods else set()
        return ALL
    instance = None
    if isinstance(obj, types.MethodType):
        obj, instance = obj.__func__, obj.__self__
    elif not isinstance(obj, type | types.FunctionType | types.BuiltinFunctionType) and callable(obj):
        call = inspect.getattr_static(type(obj), "__call__", None)
        if not isinstance(call, types.FunctionType):
            return ALL
        obj, instance = call, obj
    if isinstance(obj, type):
        return _constructor_keys(obj, reader)
    if not isinstance(obj, types.FunctionType):  # (a compiled function of another library: `heapq.heapify`)
        return ALL
    summary = reader.summary(obj, instance=instance) if instance is not None else reader.summary(obj)
    wrapped = getattr(obj, "__wrapped__", None)
    if summary is None and isinstance(wrapped, types.FunctionType) and instance is None:
        return changed_keys(wrapped, reader)  # (a functools.wraps wrapper, `w(*a, **k)`: what it wraps changes)
    if summary is None or summary.changes_outside:  # (`np.copyto(v, ...)` of a parameter is noted as outside)
        return ALL
    return keys_of(obj, summary.updated_params, 1 if instance is not None else 0)


_LIBRARIES = ("numpy", "scipy", "math", "builtins", "s2s", "cmath", "operator")


def _unsafe(reader, obj) -> bool:
    try:
        return bool(reader.unsafe(obj))
    except TypeError:  # unhashable
        return False


def _mutates(reader, obj) -> bool:
    try:
        return reader.mutates(obj) is not None
    except TypeError:
        return False


def _constructor_keys(cls, reader):
    """What `cls(...)` may change: its `__new__` and `__init__`, where they are Python functions of yours."""
    module = (getattr(cls, "__module__", None) or "builtins").split(".")[0]
    if module in ("builtins", "numpy", "s2s") or issubclass(cls, tuple):  # (a namedtuple holds its arguments)
        return set()
    if type(cls).__call__ is not type.__call__:
        return ALL
    keys = set()
    for name in ("__new__", "__init__"):
        method = inspect.getattr_static(cls, name, None)
        if isinstance(method, staticmethod):
            method = method.__func__
        if method in (object.__new__, object.__init__) or isinstance(method, types.WrapperDescriptorType) \
                or isinstance(method, types.BuiltinFunctionType):
            continue
        if not isinstance(method, types.FunctionType):
            return ALL
        summary = reader.summary(method, fresh_first=True) if name == "__init__" else reader.summary(method)
        if summary is None:
            return ALL
        keys |= keys_of(method, summary.updated_params, 1) - {SELF}
    return keys


def keys_of(func, updated, offset) -> set | None:
    """The argument keys of a call of `func` (its first `offset` parameters bound before the call: SELF) that
    reach its parameters in `updated`.

        >>> sorted(keys_of(lambda a, b: None, {"b"}, 0), key=str)
        [1, 'b']
    """
    if not updated:
        return set()
    code = func.__code__
    positional = list(code.co_varnames[:code.co_argcount])
    keyword_only = list(code.co_varnames[code.co_argcount:code.co_argcount + code.co_kwonlyargcount])
    named = set(positional) | set(keyword_only)
    if updated - named:  # (`*args`, `**kw` updated: any argument)
        return ALL
    keys = {SELF} if offset and positional and positional[0] in updated else set()
    for i, p in enumerate(positional[offset:]):
        if p in updated:
            keys |= {i, p}
    keys |= {p for p in keyword_only if p in updated}
    return keys


def settle(summary, keys_of):
    """`summary` with its deferred calls settled: `keys_of(entry)` the argument keys the callee of `entry` may
    change (ALL where unknown); the parameters given only to callees that change nothing are no longer updated.

        >>> # settle(summary of `def apply(f, v): return f(v)`, lambda entry: set()).updated_params == frozenset()
    """
    if not summary.deferred:
        return summary
    updated = set(summary.certain)
    for entry in summary.deferred:
        updated |= entry.params(keys_of(entry))
    updated = frozenset(updated)
    return dataclasses.replace(summary, updated_params=updated, shallow_params=summary.shallow_params & updated,
                               deferred=(), certain=updated)
