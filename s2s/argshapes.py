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

import numpy as np

from s2s.transforms.shapes import Keyed, Seq

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
    if key[0] not in ("[", "(", "{"):
        return key
    if key[0] == "{":
        pairs = [(k, structure_facts(item)) for k, item in key[1:]]
        return Keyed((k, fact) for k, (fact, _) in pairs), Keyed((k, kind) for k, (_, kind) in pairs)
    facts = [structure_facts(item) for item in key[1:]]
    return Seq(fact for fact, _ in facts), Seq(kind for _, kind in facts)
