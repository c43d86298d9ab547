"""NumPy's functions that write into their first argument, run on a copy (transforms/ufunc_at.py writes
`np.fill_diagonal(a, v)` as `a[...] = s2s.filled_diagonal(a, v)`), and their adjoints.

Each helper calls NumPy's own function on a copy of the array, so every value, cast, repetition of the
values (`np.putmask` and `np.place` repeat a short `values`) and error is NumPy's. The adjoints read where
each entry of the result came from: the same function run on an array of -1 with the positions of the
values (`np.arange(v.size)` shaped as `v`) in place of the values, so an entry left as it was is -1 and an
entry written holds the position of the value written there (the last one where an index repeats, as NumPy
writes it).

    >>> filled_diagonal(np.ones((2, 2)), 5.0)
    array([[5., 1.],
           [1., 5.]])
    >>> written_values_grad(np.ones((2, 2)), "fill_diagonal", np.ones((2, 2)), (5.0,))
    array(2.)
"""

from __future__ import annotations

import numpy as np

from s2s.runtime.adjoint import _refuse_complex
from s2s.runtime.tangents import is_zero

# name -> (the NumPy function, the position of the values among its arguments after the array)
_WRITERS = {
    "fill_diagonal": (np.fill_diagonal, 0),
    "copyto": (np.copyto, 0),
    "putmask": (np.putmask, 1),
    "place": (np.place, 1),
    "put": (np.put, 1),
    "put_along_axis": (np.put_along_axis, 1),
}


# the writers that read their values one by one as they write (no buffer where the values share the array's
# memory: NumPy's `np.place(y, m, y)` sees its own earlier writes, which a copy of the array would not)
_UNBUFFERED = ("place", "fill_diagonal")


def _written(name, a, args, kwargs):
    if not isinstance(a, np.ndarray):  # (NumPy's own error for a list or a number)
        _WRITERS[name][0](a, *args, **kwargs)
    values = args[_WRITERS[name][1]] if len(args) > _WRITERS[name][1] else None
    if np.iscomplexobj(values) and a.dtype.kind != "c":
        _refuse_complex()
    if name in _UNBUFFERED and isinstance(values, np.ndarray) and np.may_share_memory(values, a):
        from s2s.errors import UnsupportedSyntaxError
        raise UnsupportedSyntaxError(
            f"s2s cannot differentiate np.{name}(a, ...) whose values share memory with `a`: NumPy reads them one by "
            "one as it writes, so later values are the ones it has just written",
            hint=f"pass a copy of the values: `np.{name}(a, ..., values.copy())`")
    out = a.copy()
    _WRITERS[name][0](out, *args, **kwargs)
    return out


def filled_diagonal(a, val, wrap=False):
    """`np.fill_diagonal(a, val, wrap)` on a copy of `a`.

    >>> filled_diagonal(np.zeros((2, 3)), [1.0, 2.0])
    array([[1., 0., 0.],
           [0., 2., 0.]])
    """
    return _written("fill_diagonal", a, (val, wrap), {})


def copied_to(dst, src, casting="same_kind", where=True):
    """`np.copyto(dst, src, casting, where)` on a copy of `dst`.

    >>> copied_to(np.zeros(3), 1.0, where=np.array([True, False, True]))
    array([1., 0., 1.])
    """
    return _written("copyto", dst, (src,), {"casting": casting, "where": where})


def putmasked(a, mask, values):
    """`np.putmask(a, mask, values)` on a copy of `a`.

    >>> putmasked(np.zeros(4), np.array([True, False, True, True]), [1.0, 2.0])
    array([1., 0., 1., 2.])
    """
    return _written("putmask", a, (mask, values), {})


def placed(arr, mask, vals):
    """`np.place(arr, mask, vals)` on a copy of `arr`.

    >>> placed(np.zeros(4), np.array([True, False, True, True]), [1.0, 2.0])
    array([1., 0., 2., 1.])
    """
    return _written("place", arr, (mask, vals), {})


def put_into(a, ind, v, mode="raise"):
    """`np.put(a, ind, v, mode)` (`a.put(ind, v, mode)`) on a copy of `a`.

    >>> put_into(np.zeros(3), [0, 2], 7.0)
    array([7., 0., 7.])
    """
    return _written("put", a, (ind, v), {"mode": mode})


def put_along(arr, indices, values, axis):
    """`np.put_along_axis(arr, indices, values, axis)` on a copy of `arr`.

    >>> put_along(np.zeros((2, 2)), np.array([[1], [0]]), 3.0, 1)
    array([[0., 3.],
           [3., 0.]])
    """
    return _written("put_along_axis", arr, (indices, values, axis), {})


def _sources(name, a, args, kwargs):
    """For each entry of the array the writer `name` makes of `a`: -1 where it keeps a's entry, else the flat
    position in the values of the value it writes there."""
    func, k = _WRITERS[name]
    values = args[k]
    which = np.full(np.shape(a), -1, dtype=np.intp)
    positions = np.arange(np.size(values), dtype=np.intp).reshape(np.shape(values))
    func(which, *args[:k], positions, *args[k + 1:], **_any_cast(name, kwargs))
    return which


def _any_cast(name, kwargs):
    """The writer's keywords with any cast allowed (positions or tangents written, not the user's values: np.copyto's
    `casting=` was checked where the values were)."""
    return {**kwargs, "casting": "unsafe"} if name == "copyto" else kwargs


def written_target_grad(g, name, a, args, kwargs=None):
    """The adjoint of the array a writer was given: `g` where the writer kept a's entry, 0 where it wrote.

    >>> written_target_grad(np.ones((2, 2)), "fill_diagonal", np.ones((2, 2)), (5.0,))
    array([[0., 1.],
           [1., 0.]])
    """
    # (the writer run on a copy of g with zeros for its values: one pass over g, no positions)
    k = _WRITERS[name][1]
    return written_tangent(name, np.broadcast_to(g, np.shape(a)), (*args[:k], 0.0, *args[k + 1:]), kwargs)


def written_values_grad(g, name, a, args, kwargs=None):
    """The adjoint of the values a writer wrote: each entry of `g` it wrote added to the value written there
    (a value written at several entries gets the sum of theirs), shaped as the values are.

    >>> written_values_grad(np.arange(4.0), "putmask", np.zeros(4), (np.array([1, 0, 1, 1], bool), [1.0, 2.0]))
    array([2., 3.])
    """
    which = _sources(name, a, args, kwargs or {})
    values = args[_WRITERS[name][1]]
    g = np.broadcast_to(g, which.shape)
    out = np.zeros(np.size(values), dtype=np.result_type(g))
    taken = which >= 0
    np.add.at(out, which[taken], g[taken])
    return out.reshape(np.shape(values))


def written_tangent(name, a_dot, args, kwargs=None):
    """The tangent of a writer's result: the writer run on the tangents (it is linear in the array and the
    values jointly); `a_dot` dense, the values' tangent a zero marker or an array of the values' shape.

    >>> written_tangent("fill_diagonal", np.ones((2, 2)), (0.0,))
    array([[0., 1.],
           [1., 0.]])
    """
    func, k = _WRITERS[name]
    out = np.array(a_dot, dtype=np.result_type(a_dot, float), copy=True)
    if is_zero(args[k]):  # (the zero marker: zeros written, however the writer repeats its values)
        args = (*args[:k], 0.0, *args[k + 1:])
    func(out, *args, **_any_cast(name, kwargs or {}))
    return out
