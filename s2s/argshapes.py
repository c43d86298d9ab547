"""The structure of a list, tuple or dict argument, which a derivative is specialised to like an array's shape.

A gradient function keys its generated code by what each argument is (s2s/api.py): an array by
its shape and dtype, a number by its type, and a container of arrays and numbers (`params["W1"]`,
a list of `(W, b)` layers) by its structure: `structure_key` walks it on every call, so it is
cheap and bounded (at most MAX_LEAVES leaves, three levels). `structure_facts` turns the key into
what shape inference starts from (transforms/shapes.py): a `Seq` (list, tuple) or `Keyed` (dict)
of the leaves' shapes, and one of their dtype characters.

    >>> structure_key({"W": np.zeros((2, 3)), "b": 0.5})
    ('{', ('W', ((2, 3), 'd')), ('b', <class 'float'>))
    >>> structure_facts(structure_key({"W": np.zeros((2, 3)), "b": 0.5}))
    (Keyed{'W': (2, 3), 'b': ()}, Keyed{'W': 'd', 'b': 'd'})
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from s2s.runtime.structures import read_as_stored
from s2s.transforms.shapes import Fields, Keyed, Record, Seq

MAX_LEAVES = 64  # a bigger container is not specialised: its walk would cost every call
MAX_DEPTH = 3
_NUMBER_KINDS = {float: "d", int: "l", bool: "?"}
# NumPy scalars (`np.log(0.5)` is an np.float64): numbers too, of their dtype
_NUMBER_KINDS.update({t: np.dtype(t).char for t in (np.float64, np.float32, np.float16, np.int64, np.int32,
                                                     np.bool_)})
_OPEN = {list: "[", tuple: "(", dict: "{"}
_NUMBERS = frozenset(_NUMBER_KINDS)
_KEY_TYPES = frozenset((str, int))


def structure_key(a):
    """The structure of the list, tuple or dict `a` (nested tuples: hashable, cheap to compare), or None
    where it holds anything but real arrays, numbers, strings and such containers (dicts keyed by str or int),
    or more than MAX_LEAVES leaves.

        >>> structure_key([(np.ones(3), 1.0)])
        ('[', ('(', ((3,), 'd'), <class 'float'>))
    """
    if type(a) is np.ndarray or type(a) in _NUMBER_KINDS:
        return None
    return _key(a, [MAX_LEAVES], 0)


def _key(a, budget, depth):
    kind = type(a)
    if kind in _OPEN and len(a) > budget[0]:
        return None  # (too many leaves: a long list is not walked on every call)
    if kind not in _OPEN:
        return _record_key(a, kind, budget, depth)
    if kind is dict:
        keys = tuple(map(type, a))
        if not _KEY_TYPES.issuperset(keys):
            return None
        values = a.values()
    elif kind is list or kind is tuple:
        values = a
    else:
        return None
    types = tuple(map(type, values))
    if _NUMBERS.issuperset(types):  # (a flat container of numbers, the common case, without a loop in Python)
        budget[0] -= len(types)
        if budget[0] < 0:
            return None
        return (_OPEN[kind], *zip(a, types)) if kind is dict else (_OPEN[kind], *types)
    items = []
    for v, t in zip(values, types):
        if t is np.ndarray:
            budget[0] -= 1
            if v.dtype.kind not in "biuf" or budget[0] < 0:
                return None
            items.append((v.shape, v.dtype.char))
        elif t in _NUMBER_KINDS or t is str:  # (a string, `{"loss": "huber", ...}`: a leaf with no shape)
            budget[0] -= 1
            if budget[0] < 0:
                return None
            items.append(t)
        else:
            item = _key(v, budget, depth + 1) if depth + 1 < MAX_DEPTH else None
            if item is None:
                return None
            items.append(item)
    return (_OPEN[kind], *zip(a, items)) if kind is dict else (_OPEN[kind], *items)


def _record_key(a, kind, budget, depth):
    """The key of a namedtuple (`("N", its class, items...)`) or a dataclass (`(".", its class, fields...)`) of
    arrays, numbers, strings and containers, read as Python reads its attributes: None for any other value, a
    dataclass whose class reads attributes its own way (`__getattribute__`, a descriptor named as a field, a field
    kept outside its `__dict__`), or one that is too big."""
    if isinstance(a, tuple):
        fields = getattr(kind, "_fields", None)
        if type(fields) is not tuple or len(fields) != len(a) or kind.__getattribute__ is not _TUPLE_GETATTRIBUTE:
            return None
        if not all(read_as_stored(kind, name) for name in fields):  # (`p.W` through a subclass's property)
            return None
        inner = _key(tuple(a), budget, depth)
        return None if inner is None else ("N", kind, *inner[1:])
    names = dataclass_fields(kind)
    held = getattr(a, "__dict__", None)
    if names is None or type(held) is not dict or kind.__getattribute__ is not _OBJECT_GETATTRIBUTE:
        return None
    values = []
    for name in names:
        value = held.get(name, _NO_FIELD)
        if value is _NO_FIELD or not read_as_stored(kind, name):  # (a descriptor named as the field: `p.W` reads it)
            return None
        values.append(value)
    inner = _key(values, budget, depth)
    return None if inner is None else (".", kind, *inner[1:])


_OBJECT_GETATTRIBUTE = object.__getattribute__
_TUPLE_GETATTRIBUTE = tuple.__getattribute__
_NO_FIELD = object()


def dataclass_fields(kind):
    """The names of the fields of the dataclass `kind` (what `dataclasses.fields` gives: no class variables or
    init-only ones), None for any other class."""
    try:
        return _dataclass_fields(kind)
    except TypeError:  # (a class whose metaclass makes it unhashable: read each time)
        return _dataclass_fields.__wrapped__(kind)


@functools.lru_cache(maxsize=256)
def _dataclass_fields(kind):
    if not dataclasses.is_dataclass(kind) or (kind.__module__ or "").partition(".")[0] in ("numpy", "scipy", "s2s"):
        return None
    return tuple(f.name for f in dataclasses.fields(kind))


def is_record(a) -> bool:
    """Whether `a` is a namedtuple or a dataclass, which `structure_key` may key by its fields.

        >>> import collections
        >>> is_record(collections.namedtuple("P", "W b")(1.0, 2.0)), is_record((1.0, 2.0))
        (True, False)
    """
    kind = type(a)
    return kind is not tuple and isinstance(a, tuple) and type(getattr(kind, "_fields", None)) is tuple \
        or dataclass_fields(kind) is not None


def structure_facts(key):
    """(shape fact, dtype fact) of a `structure_key`: `Seq`/`Keyed` of the leaves' shapes (`()` for a
    number) and of their dtype characters.

        >>> structure_facts(('[', ((3,), 'd'), float))
        (Seq((3,), ()), Seq('d', 'd'))
    """
    if key is str:
        return None, "U"  # (a string leaf: no shape is claimed for it)
    if type(key) is type:
        return (), _NUMBER_KINDS[key]
    if key[0] not in ("[", "(", "{", "N", "."):
        return key
    if key[0] in ("N", "."):  # (a namedtuple's or a dataclass's fields)
        fields = key[1]._fields if key[0] == "N" else dataclass_fields(key[1])
        facts = [structure_facts(item) for item in key[2:]]
        record = Record if key[0] == "N" else Fields
        return record((fact for fact, _ in facts), fields), record((kind for _, kind in facts), fields)
    if key[0] == "{":
        pairs = [(k, structure_facts(item)) for k, item in key[1:]]
        return Keyed((k, fact) for k, (fact, _) in pairs), Keyed((k, kind) for k, (_, kind) in pairs)
    facts = [structure_facts(item) for item in key[1:]]
    return Seq(fact for fact, _ in facts), Seq(kind for _, kind in facts)
