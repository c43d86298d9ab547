"""Whether an object can reach an array or list: the walk behind the run-time ownership guard.

s2s runs `y *= v` as `y = y * v` (a new array). That is Python's meaning only when nothing else still
live holds the old `y`: no other name, but also no attribute of an object (`self.h = y`), closure cell
(`g = make(y)`), `functools.partial`, bound method, dataclass field, container or a view of it. The
guard `s2s.unshared` (runtime/desugared.py) asks `reaches(other, targets)` for each other live value; this
walks everything `other` holds, by any of those routes, and answers True where a target (or memory
it shares) is among them. A walk that would visit more than `LIMIT` objects answers True: too big to
prove unshared, so the update is refused rather than risked.

    >>> import functools
    >>> y = np.zeros(3)
    >>> reaches(functools.partial(np.multiply, y), [y]), reaches([np.ones(2)], [y])
    (True, False)
"""

from __future__ import annotations

import functools
import gc
import types

import numpy as np

from s2s.runtime.arrays import is_array

LIMIT = 100_000  # objects one guard may visit

# objects that hold nothing a function could update: not walked
# a dict's views and read-only proxies, which follow the dict they were made from
_VIEWS = (type({}.keys()), type({}.values()), type({}.items()), types.MappingProxyType)
_OPAQUE = (types.ModuleType, type, types.BuiltinFunctionType, types.CodeType, np.ufunc, np.dtype, str, bytes,
           int, float, complex, bool, type(None), range, np.generic)


def array_of(x):
    """The array an update of `x` changes: `x` itself, or the array a `.flat` iterator writes into."""
    return x.base if isinstance(x, np.flatiter) else x


def is_mutable(x) -> bool:
    """Lists, dicts and arrays (and `.flat` iterators of arrays) can be changed in place."""
    return isinstance(x, list | dict | np.flatiter) or (is_array(x) and not isinstance(x, np.generic))


def same_memory(a, b) -> bool:
    """Whether two arrays are one or share memory (a view of the other, or both views of one)."""
    a, b = array_of(a), array_of(b)
    if a is b:
        return True
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if not np.may_share_memory(a, b):
            return False
        try:
            return bool(np.shares_memory(a, b, max_work=10_000))
        except Exception:  # noqa: BLE001 - numpy's TooHardError: too costly to decide, so count it as shared
            return True
    return owner(a) is owner(b) and is_array(a) and is_array(b)


def owner(a):
    """The array at the bottom of `a`'s chain of bases."""
    a = array_of(a)
    while getattr(a, "base", None) is not None and is_array(a.base):
        a = a.base
    return a


def held(obj):
    """The objects `obj` holds a reference to that code run later could read: elements of containers,
    attributes (`__dict__`, `__slots__`, dataclass fields), closure cells and defaults of functions, the
    function and arguments of a `functools.partial`, the object of a bound method, a generator's locals,
    the dict of a view (`d.keys()`, `d.values()`, `d.items()`) or of a `types.MappingProxyType`."""
    if isinstance(obj, list | tuple | set | frozenset):
        return list(obj)
    if isinstance(obj, dict):
        return list(obj.values())
    if isinstance(obj, _VIEWS):  # `d.keys()` holds d: an update of d shows through it
        return gc.get_referents(obj)
    if isinstance(obj, _OPAQUE) or is_array(obj):
        return []
    if isinstance(obj, types.FunctionType):
        out = []
        for cell in obj.__closure__ or ():
            try:
                out.append(cell.cell_contents)
            except ValueError:  # an empty cell
                pass
        return out + list(obj.__defaults__ or ()) + list((obj.__kwdefaults__ or {}).values())
    if isinstance(obj, types.MethodType):
        return [obj.__self__, obj.__func__]
    if isinstance(obj, functools.partial | functools.partialmethod):
        return [obj.func, *obj.args, *obj.keywords.values()]
    if isinstance(obj, types.GeneratorType):
        return list(obj.gi_frame.f_locals.values()) if obj.gi_frame is not None else []
    return [v for _, v in attributes(obj)]


def attributes(obj) -> list:
    """(name, value) for the attributes `obj` holds itself: its `__dict__` and its `__slots__`."""
    out = list(vars(obj).items()) if isinstance(getattr(obj, "__dict__", None), dict) else []
    for cls in type(obj).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for slot in (slots,) if isinstance(slots, str) else slots:
            if slot in ("__dict__", "__weakref__"):
                continue
            try:
                out.append((slot, object.__getattribute__(obj, slot)))
            except (AttributeError, TypeError):
                pass
    return out


def reaches(obj, targets, seen=None) -> bool:
    """Whether one of `targets` is `obj`, shares memory with it, or is held (at any depth, by any route
    `held` follows) in it."""
    seen = set() if seen is None else seen
    arrays = [array_of(t) for t in targets if is_array(array_of(t)) and not isinstance(t, np.generic)]
    owners = {id(owner(t)) for t in arrays}
    # where every target's memory belongs to a NumPy array that owns it, another array can share that
    # memory only by being a view of the same owner: one walk up `.base` decides (no np.may_share_memory)
    by_owner = all(isinstance(owner(t), np.ndarray) and owner(t).base is None for t in arrays)
    todo = [obj]
    while todo:
        o = todo.pop()
        if isinstance(o, np.ndarray) and o.dtype == object and id(o) not in seen:
            # (an object array holds objects, as a list does: `y = o[0]; y += v` changes the array o holds)
            seen.add(id(o))
            if any(o is t for t in targets) or any(same_memory(o, t) for t in arrays):
                return True
            todo.extend(o.ravel().tolist())
            continue
        if isinstance(o, np.ndarray | np.flatiter) or is_array(o) and not isinstance(o, np.generic):
            if by_owner and isinstance(o, np.ndarray):
                base = o
                while isinstance(base.base, np.ndarray):
                    base = base.base
                if base.base is None and id(base) not in owners:
                    continue
            if any(same_memory(o, t) for t in arrays):
                return True
            continue
        if isinstance(o, _OPAQUE) or id(o) in seen:
            continue
        seen.add(id(o))
        if len(seen) > LIMIT:
            return True
        if any(o is t for t in targets):
            return True
        todo.extend(held(o))
    return False


def fields_except(obj, name) -> list:
    """The values of `obj`'s attributes other than `name` (what else of `obj` may hold `obj.name`)."""
    return [v for k, v in attributes(obj) if k != name]
