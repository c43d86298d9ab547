"""Helpers that desugared user code calls (s2s rewrites methods, loops and in-place updates into
these): as_sequence, astype, item, copy, the ownership check `unshared`, the check `effect_free`
and the records of the errors those two raise (Refusal), stop_gradient.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator, Mapping
from typing import TypeVar

import numpy as np

from s2s import sharing
from s2s.runtime.arrays import is_array


def as_sequence(x):
    """What `for v in x` iterates over, as something indexable (dict keys, sets...)."""
    if isinstance(x, list | tuple | range) or hasattr(x, "shape") and not isinstance(x, Iterator):
        return x  # (an array; np.nditer and np.broadcast have a shape too, and are read item by item)
    return list(x)


_REITERABLE = (list, tuple, range, np.ndarray, dict, set, frozenset, str, bytes, type({}.keys()), type({}.values()),
               type({}.items()))


def mapping_keys(d) -> list:
    """The keys of the dict (or other mapping) `d`, as a list: what `d.keys()` gives, and what s2s reads
    `d.values()` and `d.items()` through (`[d[k] for k in mapping_keys(d)]`, transforms/mappings.py).

        >>> mapping_keys({"W": 1.0, "b": 2.0})
        ['W', 'b']
    """
    if not (isinstance(d, Mapping) or hasattr(d, "keys") and hasattr(d, "__getitem__")):
        from s2s.errors import UnsupportedSyntaxError
        raise UnsupportedSyntaxError(
            f"s2s reads .keys(), .values() and .items() as those of a dict, and this is a {type(d).__name__}",
            hint="give the function a dict (`dict(...)` of it), or call the method before the function")
    return list(d.keys())


def has_key(d, key, default=None) -> bool:
    """`key in d` for the dict `d`, the test s2s reads `d.get(key, default)` through: `d[key] if has_key(d, key,
    default) else default` (transforms/mappings.py), where `default` is evaluated here, as Python evaluates
    it for `.get` whether or not the key is there (its exceptions are Python's). The code was made for a dict: any
    other object (a mapping with a `.get` of its own) is refused.

        >>> has_key({"W": 1.0}, "W"), has_key({"W": 1.0}, "b")
        (True, False)
    """
    if type(d) is not dict:
        from s2s.errors import UnsupportedSyntaxError
        raise UnsupportedSyntaxError(
            f"s2s read .get() as a dict's (the code was made for a dict there), and this is a {type(d).__name__}",
            hint="give the function a dict, or call the method before the function and pass its result")
    return key in d


def astype(x, dtype, copy=True):
    """`x.astype(dtype)`; the derivative passes only through float/complex dtypes."""
    if not hasattr(x, "astype"):
        return dtype(x)
    return x.astype(dtype) if copy else x.astype(dtype, copy=False)


def item(x, *index):
    """`x.item()`."""
    return x.item(*index) if hasattr(x, "item") else x


def is_float_dtype(dtype) -> bool:
    """True for float and complex dtypes: whether a derivative passes a conversion to `dtype`.

    An object dtype holds any Python values (floats among them), so whether the derivative passes is
    not known: refused.

        >>> is_float_dtype(np.float32), is_float_dtype(int)
        (True, False)
    """
    dtype = np.dtype(dtype)
    if dtype == np.dtype(object):
        from s2s.errors import NoDerivativeRuleError
        raise NoDerivativeRuleError(
            "s2s does not differentiate through an object array (dtype=object): its elements may be any "
            "Python values, so whether a derivative passes the conversion is not known",
            hint="keep the values in a float array: np.asarray(v, dtype=float)")
    return np.issubdtype(dtype, np.inexact)


def copy(x):
    """`x.copy()` in x's own library (np.copy would turn a Dask or CuPy array into a NumPy one)."""
    return x.copy() if is_array(x) or isinstance(x, list | dict) else np.copy(x)


_T = TypeVar("_T")


class Refusal(dict):
    """The error a run-time check in generated code raises (`unshared`, `effect_free`): the keyword arguments
    of UnsupportedSyntaxError (message, filename, lineno, col, line, hint; for `unshared` also `names`, the
    names it checks, and `shown`, the text of the message that names them). The generated function holds its
    records in its closure, under the names its checks pass them by (transforms/refusals.py), and
    `s2s.source` prints them as dicts before the code.

        >>> Refusal(message="y is updated in place while z refers to it", lineno=3)["lineno"]
        3
    """


def unshared(value, where, deep, updated, *others):
    """`value`, once it is certain that updating `updated` in place is seen by no name in `others`.

    s2s runs `y[i] = v`, `y += v` and `L.append(v)` functionally; Python changes the object itself.
    The ownership analysis (transforms/ownership.py) guards an update with this where another live
    name may refer to the same array or list: if one really does (the same object, a view of the same
    memory, or a container holding it), the derivative would be wrong, so this raises the error for
    that line (`where`: its record, a Refusal or a dict). With `deep`, objects held in `updated` count
    too (`L[i] += v` changes the element L[i]), and two of them must not be one object; `deep` an
    attribute name: the object updated is that attribute of `updated` (`self.h += v`), and `updated`'s
    other attributes count as other names. "Refers to" follows
    attributes, closures, partials and containers (s2s/sharing.py). Numbers and tuples are never
    shared: nothing to check.

        >>> y = np.zeros(3)
        >>> unshared(1.0, Refusal(message="y is updated in place while z refers to it"), False, y, np.ones(3))
        1.0
    """
    if isinstance(deep, str):  # `obj.attr += v`: the object updated is obj.attr, which obj's other attributes may hold
        others = (*others, *sharing.fields_except(updated, deep))
        updated, deep = getattr(updated, deep, None), False
    targets = _mutable_parts(updated, deep)
    if not targets:
        return value
    if deep and len(targets) > 1 and _overlap(targets):
        _refuse_update(where)
    owned = targets[0] if len(targets) == 1 and type(targets[0]) is np.ndarray and targets[0].base is None else None
    for i, other in enumerate(others):
        if owned is not None and _apart(other, owned):
            continue
        if sharing.reaches(other, targets):
            _refuse_update(where, i)
    return value


_PLAIN_NUMBERS = frozenset({float, int, bool, np.float64, np.float32, np.int64, np.int32})


def _apart(other, owned) -> bool:
    """`sharing.reaches(other, [owned])` answered without its walk where that is quick and certain: a number
    holds nothing, and an array of numbers whose chain of bases ends in an array owning its memory other than
    `owned` (which owns its own) shares no memory with it."""
    if type(other) in _PLAIN_NUMBERS:
        return True
    if type(other) is not np.ndarray or other.dtype.hasobject:
        return False
    while type(other.base) is np.ndarray:
        other = other.base
    return other.base is None and other is not owned


def global_value(name):
    """The value of the global `name` of the code that calls it (the function's module: generated code runs with
    the function's globals), for a name the function declares `global` and assigns (transforms/global_names.py).

        >>> global_value("__name__")
        's2s.runtime.desugared'
    """
    frame = sys._getframe(1)
    if name in frame.f_globals:
        return frame.f_globals[name]
    if name in frame.f_builtins:
        return frame.f_builtins[name]
    raise NameError(f"name {name!r} is not defined")


def set_global(name, value):
    """Bind the global `name` of the code that calls it to `value` (`global name; name = value`).

        >>> set_global("_S2S_EXAMPLE", 1); global_value("_S2S_EXAMPLE")
        1
    """
    if not _immutable(value):
        from s2s.errors import UnsupportedSyntaxError
        raise UnsupportedSyntaxError(
            f"s2s cannot give the global `{name}` a {type(value).__name__}: the function could change it in place "
            "after, and s2s's derivative code changes copies (the global would not see it)",
            hint=f"give `{name}` numbers, strings, tuples of them or functions; keep arrays and lists in local names "
                 "and return them")
    sys._getframe(1).f_globals[name] = value


_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), np.generic, range, slice, frozenset, type,
              types.FunctionType, types.BuiltinFunctionType, types.ModuleType, np.ufunc)


def _immutable(value) -> bool:
    """Whether nothing the function does can change `value` in place: a number (NumPy's scalars too), a string,
    None, a tuple of such values, a function, class or module (what a global bound to one denotes).

        >>> _immutable((1, 2.5, np.cos)), _immutable(np.zeros(2)), _immutable([1.0])
        (True, False, False)
    """
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    if isinstance(value, types.BuiltinFunctionType) and not isinstance(getattr(value, "__self__", None),
                                                                        types.ModuleType | type(None)):
        return False  # (a bound method of an object, `lst.append`: calling it changes the object)
    return isinstance(value, _IMMUTABLE)


def missing_attribute(message):
    """Python's AttributeError where the function reads an attribute its module does not have (`np.trapz` on a NumPy
    without it, in a branch `hasattr(np, "trapz")` guards: transforms/missing_attributes.py); `message` is the one
    Python gives there.

        >>> missing_attribute("module 'numpy' has no attribute 'trapz'")
        Traceback (most recent call last):
        ...
        AttributeError: module 'numpy' has no attribute 'trapz'
    """
    raise AttributeError(message)


def numbers_or_arrays(value, name, methods=()):
    """Check that `value` (the function's `name`), which the function computes with, is no object of your class
    doing arithmetic of its own (`__mul__`, `__add__`...: transforms/operator_objects.py), nor one with a method of
    `methods` that NumPy's function of it calls by name (`"sqrt"`: `np.sqrt(r)` runs `r.sqrt()` of each object;
    `".sum"`: `np.sum(p)` runs `p.sum()`, operator_objects.numpy_methods), nor a list, tuple or array of objects
    holding one (NumPy makes an array of them and calls their methods): s2s would differentiate that
    arithmetic as a product or a sum of numbers. The error is told at the line of yours the check was written for
    (s2s/api.py `_note_user_line`).

        >>> numbers_or_arrays(np.ones(2), "x"), numbers_or_arrays([1.0, 2.0], "L", ("sqrt",))
        (None, None)
    """
    kind = type(value)
    if kind in _PLAIN_NUMBERS or kind is np.ndarray and not value.dtype.hasobject:
        return
    if (kind is list or kind is tuple) and all(
            type(v) in _PLAIN_NUMBERS or type(v) is np.ndarray and not v.dtype.hasobject for v in value):
        return  # (a model's list of weights)
    from s2s import argcheck
    found, method = argcheck.arithmetic_object(value), None
    if found is None and methods:
        from s2s.transforms.operator_objects import method_object
        found, method = method_object(value, methods) or (None, None)
    if found is not None:
        from s2s.errors import UnsupportedSyntaxError
        from s2s.transforms.operator_objects import hint_for, refusal
        raise UnsupportedSyntaxError(refusal(name, "is" if found is value else "holds", type(found), method),
                                     hint=hint_for(method))


def star_count(items, count, func_name):
    """Check that `items`, passed as `*items` to your function `func_name` whose parameters s2s bound from its items
    one by one (transforms/inline.py, `star_bindings`), holds the `count` items the call takes: Python's
    TypeError where it holds another number. An object without a length is left to the reads of its items.

        >>> star_count((1.0, 2.0), 2, "f")
    """
    try:
        have = len(items)
    except TypeError:
        return
    if have != count:
        raise TypeError(f"{func_name}() was given {have} positional arguments by `*` where its other arguments leave "
                        f"{count} parameters")


def unpack_count(items, count, starred):
    """Check that `items`, unpacked into `count` targets (`a, b = items`; with `starred`, `a, *rest, z = items`
    into at least `count`), holds as many items: Python's ValueError where it holds another number. s2s reads the
    targets from it by position (transforms/lower.py), which would take the first items of a longer value
    silently; a dict or set, whose items are not read by position, is refused.

        >>> unpack_count((1.0, 2.0), 2, False)
    """
    if isinstance(items, Mapping | set | frozenset):
        from s2s.errors import UnsupportedSyntaxError
        raise UnsupportedSyntaxError(
            f"s2s unpacks a tuple, list or array by position, and this is a {type(items).__name__}",
            hint="unpack a list of it (`a, b = list(d)`), as Python iterates over it")
    try:
        have = len(items)
    except TypeError:
        if hasattr(items, "__iter__") or hasattr(items, "__getitem__"):  # (an iterator: `a, b = islice(xs, 2)`)
            from s2s.errors import UnsupportedSyntaxError
            raise UnsupportedSyntaxError(
                f"s2s unpacks a tuple, list or array by position, and this is a {type(items).__name__}, whose items "
                "are taken one by one", hint="unpack a list of its items (`a, b = list(items)`)") from None
        raise TypeError(f"cannot unpack non-iterable {type(items).__name__} object") from None
    if have < count or have > count and not starred:
        raise ValueError(_unpack_message(have, count, starred))


def _unpack_message(have, count, starred) -> str:
    """Python's own words for unpacking `have` items into `count` targets."""
    if have > count:
        return f"too many values to unpack (expected {count})"
    return f"not enough values to unpack (expected {'at least ' if starred else ''}{count}, got {have})"


def effect_free(where, func):
    """Check, before a checkpointed loop runs, that the function value `func` it calls has no effect a second
    run would show (random draws, methods changing objects: transforms/effects.py); else raise the error
    `where` (its record, a Refusal, its message holding `{why}`) with the reason. s2s cannot know the value
    when it transforms.

        >>> effect_free(Refusal(message="act {why}"), np.tanh)
    """
    from s2s.transforms import effects
    why = effects.object_effect(func)
    if why is not None:
        _raise_record(where, "{why}", why)


def _raise_record(where, field, text):
    """Raise the error `where` (its record) at the user's line, `text` put in its message for `field`."""
    from s2s.errors import UnsupportedSyntaxError
    site = dict(where)
    raise UnsupportedSyntaxError(site.pop("message").replace(field, text), **site)


def not_an_iterator(items, where):
    """Check, before a loop that s2s runs over all the items of `items` taken at once (`s2s.as_sequence`), that
    `items` is not an iterator (a generator, `iter(...)`, `map`, `zip`...: one pass over it, also an object whose
    `iter()` gives the same iterator each time), whose items Python takes one per trip, while other code may take
    some too: else raise the error `where` (its record). s2s cannot know the value when it transforms.

        >>> not_an_iterator([1.0, 2.0], Refusal(message="m"))
    """
    if isinstance(items, _REITERABLE):
        return
    if not isinstance(items, Iterator):
        try:
            first = iter(items)
        except TypeError:
            return  # (not iterable: the loop raises Python's TypeError)
        if iter(items) is not first:
            return  # (each loop over it gets a new iterator: a list, a container of yours)
    _raise_record(where, "{kind}", type(items).__name__)


def zip_row(row, where):
    """A row of `zip(*rows)` as s2s reads it, by position (`row[k]`, transforms/inline.py): the row itself where
    that gives zip's items (a list, tuple, range or array), else the list of what iterating it gives (a dict's
    keys, a set's items); an iterator is refused with the error `where` (its record), as loops over one are.

        >>> zip_row({"a": 1.0, "b": 2.0}, Refusal(message="m"))
        ['a', 'b']
    """
    not_an_iterator(row, where)
    return as_sequence(row)


def item_number(value, where):
    """`value`, an item read from an array or list before the array is updated in place, once it is certain that
    it is a number (`y[i]` of a 1-d array), which the update cannot change; else raise the error `where` (its
    record): an item of an array with more axes than the index reads is a view of it, which the update changes,
    and an object held in a list may be changed through another name. s2s cannot know the axes when it
    transforms (`y[i], y[j] = y[j], y[i]`).

        >>> item_number(np.arange(3.0)[1], Refusal(message="m"))
        np.float64(1.0)
    """
    if isinstance(value, float | int | np.number | np.bool_):
        return value
    _raise_record(where, "{kind}", "an array" if isinstance(value, np.ndarray) else f"a {type(value).__name__}")


def _refuse_update(where, other=None):
    """Raise the error `where` (a record) of an update, naming the `other`-th name guarded where it is known."""
    from s2s.errors import UnsupportedSyntaxError
    site = dict(where)
    names, shown = site.pop("names", ()), site.pop("shown", None)
    message = site.pop("message")
    if other is not None and other < len(names) and shown:
        message = message.replace(f"here {shown} refers", f"here `{names[other]}` refers", 1)
    raise UnsupportedSyntaxError(message, **site)


def _mutable_parts(x, deep):
    """The mutable objects an update of `x` may change: x itself, and with `deep` what it holds.

    An object held twice is listed twice (so that `_overlap` finds it).
    """
    if not sharing.is_mutable(x):
        return []
    if not deep or not isinstance(x, list | dict):
        return [x]
    out, seen, todo = [], set(), [x]
    while todo:
        obj = todo.pop()
        if not sharing.is_mutable(obj) and not isinstance(obj, tuple):
            continue
        if id(obj) in seen:
            out.append(obj)
            continue
        seen.add(id(obj))
        if not isinstance(obj, tuple):
            out.append(obj)
        if isinstance(obj, list | tuple):
            todo.extend(obj)
        elif isinstance(obj, dict):
            todo.extend(obj.values())
    return out


def _overlap(targets) -> bool:
    """Whether two of the objects (arrays sharing memory, or one list twice) are one."""
    groups = {}
    for t in targets:
        groups.setdefault(id(sharing.owner(t)) if is_array(t) else id(t), []).append(t)
    for group in groups.values():
        for i, a in enumerate(group):
            if any(sharing.same_memory(a, b) for b in group[i + 1:]):
                return True
    return False


def stop_gradient(x: _T) -> _T:
    """Detach: the value passes unchanged and its derivative is zero (`jax.lax.stop_gradient`).

    Example::

        def f(x):
            return x * s2s.stop_gradient(x)   # differentiated as x * c with c = x held fixed

        s2s.grad(f)(3.0)                      # 3.0, not 6.0
    """
    return x


_IN_PLACE_OPS = {"+": "__iadd__", "-": "__isub__", "*": "__imul__", "/": "__itruediv__", "//": "__ifloordiv__",
                 "%": "__imod__", "**": "__ipow__", "@": "__imatmul__", "&": "__iand__", "|": "__ior__",
                 "^": "__ixor__", "<<": "__ilshift__", ">>": "__irshift__"}


def inplace_check(target, value, op):
    """Check that `target op= value` (`op` "+", "*", "@"...) of a NumPy array would succeed in Python, which
    changes the array in place: NumPy raises where the result does not fit it, a ValueError where the value
    would broadcast it to another shape (`Y += c` of Y (3,) and c (2, 3)) and a UFuncTypeError where the result
    cannot be cast back to its dtype with same_kind casting (a float added into an int array). s2s computes
    `target = target op value` (transforms/desugar.py, transforms/lower.py), which would give a new array instead.

    Anything but an ndarray is left alone: a number (a Python float, a NumPy scalar) is never changed in place,
    `s += x` rebinds s. Where the quick test of shapes and dtypes below cannot vouch for the update, the update
    itself is tried on a copy of the target, and raises what NumPy raises (or passes: NumPy knows best).
    Specialised code drops the check where the shapes prove it passes (transforms/specialize.py).

        >>> inplace_check(np.zeros(3), np.ones(3), "+")
        >>> inplace_check(1.0, np.ones(3), "+")   # a number: rebound, nothing to check
        >>> inplace_check(np.zeros(3), np.ones((2, 3)), "+")
        Traceback (most recent call last):
        ValueError: non-broadcastable output operand with shape (3,) doesn't match the broadcast shape (2,3)
    """
    if type(target) is np.ndarray:
        if op != "@" and _fits(target, value, op):
            return
    elif type(target) is list and op == "+" and not isinstance(value, list | np.ndarray | np.generic):
        # (Python extends L by any iterable where `L + value` raises; s2s computes `L + value`. Of an array or a
        # NumPy number, `L += v` and `L + v` are both NumPy's sum: ndarray.__radd__ comes before the extend)
        from s2s.errors import UnsupportedSyntaxError
        raise UnsupportedSyntaxError(
            f"s2s differentiates `L += v` of a list where v is a list too, and this v is a {type(value).__name__}",
            hint="make it a list: `L += list(v)`")
    elif not isinstance(target, np.ndarray):  # (a subclass, np.matrix...: its own in-place operation, tried below)
        return
    getattr(target.copy(), _IN_PLACE_OPS[op])(value)  # raises NumPy's own error, if any


def _fits(target, value, op) -> bool:
    """Whether the elementwise `target op= value` certainly keeps target's shape and dtype (same_kind casting)."""
    if type(value) is np.ndarray or isinstance(value, np.generic):
        shape, dtype = value.shape, value.dtype
        if shape != target.shape:
            if len(shape) > target.ndim or any(v != 1 and v != t for v, t in zip(reversed(shape),
                                                                                   reversed(target.shape))):
                return False
    elif type(value) in (float, int, bool):
        dtype = type(value)
    else:
        return False
    kind = target.dtype.kind
    if kind == "f":  # a real float array takes any real value (same_kind: float64 into float32 too)
        return dtype in (float, int, bool) or isinstance(dtype, np.dtype) and dtype.kind in "biuf"
    if kind == "c":
        return dtype in (float, int, bool) or isinstance(dtype, np.dtype) and dtype.kind in "biufc"
    if kind in "iu" and op != "/":  # an int array takes ints (true division gives floats)
        if dtype in (int, bool):
            return True
        return isinstance(dtype, np.dtype) and (dtype.kind == "b" or dtype.kind in "iu" and np.can_cast(
            np.result_type(target.dtype, dtype), target.dtype, "same_kind"))
    return False  # bools, Python complex numbers, other objects: the update itself tells
