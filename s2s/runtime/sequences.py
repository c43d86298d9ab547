"""+, * and | where the operands may be lists, tuples or dicts (the rules op:add_seq, op:mult_seq,
op:bitor, list(x) and tuple(x)): concatenation, repetition and merges, adjoints and tangents; and
dict(pairs), what a dict comprehension becomes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from s2s.runtime.adjoint import _refuse_structure, add, unbroadcast, zeros_like_value
from s2s.runtime.arrays import _float_dtype, broadcast_to_like, is_array
from s2s.runtime.tangents import broadcast_like
from s2s.runtime.zero import ZERO, is_zero, linear_in_g


def _concatenates(x, y) -> bool:
    """Whether `x + y` is list or tuple concatenation (an array on either side makes it elementwise)."""
    return isinstance(x, list) and isinstance(y, list) or isinstance(x, tuple) and isinstance(y, tuple)


def _repeats(seq, count) -> bool:
    """Whether `seq * count` is repetition: a list or tuple and an integer (an array makes it elementwise)."""
    return isinstance(seq, list | tuple) and isinstance(count, int | np.integer)


def grad_add_seq(g, x, y, which):
    """Adjoint of `x + y` for x (which=0) or y where the operands may be lists or tuples: the part of
    the concatenation's adjoint that came from that operand; unbroadcast for arithmetic."""
    if not _concatenates(x, y):  # arithmetic, the common case: straight to unbroadcast (which keeps a zero)
        return unbroadcast(g, y if which else x)
    return _concatenation_part(g, len(x), which)


@linear_in_g
def _concatenation_part(g, n, which):
    return list(g[n:] if which else g[:n])


def grad_mult_seq(g, x, y, which):
    """Adjoint of `x * y` for x (which=0) or y where one operand may be a list or tuple repeated an integer
    number of times: the sum of the repeats' adjoints for the sequence, none for the count."""
    seq, count = (x, y) if _repeats(x, y) else (y, x) if _repeats(y, x) else (None, None)
    if seq is None:  # arithmetic, the common case
        return unbroadcast(g * (y if which == 0 else x), y if which else x)
    if (seq is y) != bool(which):
        return ZERO
    return _repeats_sum(g, len(seq), int(count))


@linear_in_g
def _repeats_sum(g, m, count):
    total = [ZERO] * m
    for k in range(count):
        for i in range(m):
            total[i] = add(total[i], g[k * m + i])
    return total


def add_seq_tangent(tx, ty, x, y, ans):
    """Tangent of `x + y` (one operand's tangent, the other 0.0) where the operands may be sequences."""
    if not _concatenates(x, y):
        return broadcast_like(tx if is_zero(ty) else ty, ans)
    parts = [zeros_like_value(x) if is_zero(tx) else list(tx), zeros_like_value(y) if is_zero(ty) else list(ty)]
    out = parts[0] + parts[1]
    return tuple(out) if isinstance(ans, tuple) else out


def mult_seq_tangent(t, x, y, which):
    """Tangent of `x * y` for the tangent `t` of x (which=0) or y where one operand may be a repeated sequence."""
    if _repeats(x, y) or _repeats(y, x):
        seq, count = (x, y) if _repeats(x, y) else (y, x)
        if (seq is y) != bool(which):
            return zeros_like_value(seq) * int(count)  # the count is an integer: no tangent
        t = zeros_like_value(seq) if is_zero(t) else list(t)
        out = t * int(count)
        return tuple(out) if isinstance(seq, tuple) else out
    return t * (y if which == 0 else x)


@linear_in_g
def grad_as_sequence(g, x):
    """Adjoint of list(x) / tuple(x): the elements' adjoints, stacked back for an array x; a dict's keys
    (what list(d) holds) have none."""
    if isinstance(x, dict) or isinstance(x, str):
        return ZERO
    if isinstance(x, list | tuple):
        if isinstance(g, list | tuple) and len(g) != len(x):
            _refuse_structure(g, x)
        return list(g)
    if is_array(x):
        if not isinstance(g, list | tuple):
            return g
        rows = [np.zeros_like(x[i], dtype=_float_dtype(x)) if is_zero(gi) else broadcast_to_like(gi, x[i])
                for i, gi in enumerate(g)]
        return np.stack(rows) if rows else np.zeros_like(x, dtype=_float_dtype(x))
    return ZERO


@linear_in_g
def grad_iterated(g, x):
    """Adjoint (and tangent) of as_sequence(x), what `for v in x` runs over: `g` itself, except for a dict,
    whose keys (what the loop gets) carry no derivative.

        >>> grad_iterated([1.0, 2.0], {"a": 0.5, "b": 0.1})
        0.0
    """
    return ZERO if isinstance(x, dict) else g


def as_sequence_tangent(t, x, as_tuple):
    """Tangent of list(x) / tuple(x)."""
    if isinstance(x, dict) or isinstance(x, str):
        return ZERO
    n = len(x)
    items = [ZERO] * n if is_zero(t) else list(t)
    return tuple(items) if as_tuple else items


@linear_in_g
def grad_bitor(g, x, y, which):
    """Adjoint of `x | y` for x (which=0) or y: for dicts, the adjoints of the keys each operand gave the
    merge (y wins a shared key); integers and booleans have none."""
    if not (isinstance(x, dict) and isinstance(y, dict)):
        return ZERO
    if which == 1:
        return {k: g[k] for k in y if k in g}
    return {k: g[k] for k in x if k in g and k not in y}


def bitor_tangent(tx, ty, x, y):
    """Tangent of `x | y` (one operand's tangent, the other 0.0): for dicts, the merged tangents."""
    if not (isinstance(x, dict) and isinstance(y, dict)):
        return ZERO
    tx = {} if is_zero(tx) else tx
    ty = {} if is_zero(ty) else ty
    out = {k: (ZERO if k in y else tx.get(k, ZERO)) for k in x}
    out.update({k: ty.get(k, ZERO) for k in y})
    return out


def _pairs(pairs) -> list:
    """The (key, value) pairs dict(pairs) read, which the derivative reads again: a list, tuple or mapping."""
    if isinstance(pairs, Mapping):
        return list(pairs.items())
    if not isinstance(pairs, list | tuple):
        from s2s.errors import NoDerivativeRuleError
        raise NoDerivativeRuleError(f"s2s differentiates dict(pairs) of a list or tuple of pairs, or of a dict; "
                                    f"this is a {type(pairs).__name__}, which dict() has used up",
                                    hint="make it a list first: dict(list(...))")
    return list(pairs)


@linear_in_g
def grad_dict_pairs(g, pairs):
    """Adjoint of dict(pairs) (a dict comprehension's result): each pair's value gets its key's part of `g`,
    the last pair of a repeated key only (the one dict() keeps); keys carry none.

        >>> grad_dict_pairs({"a": 1.0}, [("a", 5.0), ("b", 6.0), ("a", 7.0)])
        [(0.0, 0.0), (0.0, 0.0), (0.0, 1.0)]
    """
    items = _pairs(pairs)
    if isinstance(pairs, Mapping):
        return {k: g[k] for k in pairs if k in g}
    last = {k: i for i, (k, _) in enumerate(items)}
    return [(ZERO, g.get(k, ZERO) if last[k] == i else ZERO) for i, (k, _) in enumerate(items)]


def dict_pairs_tangent(t, pairs):
    """Tangent of dict(pairs) for the tangent `t` of the pairs (a list of (key, value) tangents).

        >>> dict_pairs_tangent([(0.0, 1.0), (0.0, 2.0)], [("a", 5.0), ("a", 7.0)])
        {'a': 2.0}
    """
    if is_zero(t):
        return ZERO
    items = _pairs(pairs)
    if isinstance(pairs, Mapping):
        return t
    out = {}
    for (key, _), ti in zip(items, t):
        out[key] = ZERO if is_zero(ti) else ti[1]
    return out


def lists_as_they_are(value):
    """`value` (a function's output) with every list it holds copied, to any depth: the backward sweep pops
    lists the function appended to back to their earlier lengths, and the output must keep what the function
    returned. A list held twice is one copy held twice; tuples, namedtuples and dicts holding a list are
    made again around the copies; arrays and other objects are the same objects.

        >>> items = [1.0, 2.0]
        >>> out = lists_as_they_are((3.0, items))
        >>> items.pop()
        2.0
        >>> out
        (3.0, [1.0, 2.0])
    """
    made = {}  # id of a container -> what stands for it in the output (one copy per object)

    def kept(v):
        kind = type(v)
        if kind is not list and kind is not dict and not isinstance(v, tuple):
            return v
        if id(v) in made:
            return made[id(v)]
        if kind is list:  # (made before its items: a list may hold itself)
            made[id(v)] = out = []
            out.extend(kept(item) for item in v)
            return out
        made[id(v)] = v  # (a dict or tuple that holds itself through a list: the copy holds the original)
        if kind is dict:
            items = {k: kept(item) for k, item in v.items()}
            out = v if all(items[k] is item for k, item in v.items()) else items
        else:
            items = [kept(item) for item in v]
            if all(a is b for a, b in zip(items, v)):
                out = v
            else:
                out = kind._make(items) if hasattr(kind, "_make") else kind(items)  # (a namedtuple: its fields)
        made[id(v)] = out
        return out

    return kept(value)

