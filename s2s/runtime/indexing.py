"""Adjoints and tangents of indexing: x[i], x[i] = v (functional, NumPy's last-write-wins for
repeated indices), L.append(v), x.item(), np.r_ / np.c_ and np.s_ (rules in s2s/rules/shape.py and
runtime_rules.py).
"""

from __future__ import annotations

import operator

import numpy as np

from s2s.runtime.adjoint import _refuse_complex, add, cast_back
from s2s.runtime.arrays import _arr, _float_dtype, _in_library_of, _zeros_like, is_array, is_foreign, shape_of
from s2s.runtime.shape import _pieces
from s2s.runtime.zero import ZERO, is_zero, linear_in_g, zero_safe


def getitem_grad(g, x, index):
    """Adjoint of `x[index]`: `g` placed into a zero structure shaped like `x` (a string's characters, a
    range's ints, a dict's keys among them, carry none)."""
    if isinstance(x, str | bytes | range):
        return ZERO
    if isinstance(x, list | tuple):
        out = [ZERO] * len(x)
        if isinstance(index, slice):
            if not is_zero(g):  # the zero adjoint of a slice (an empty one, or one not read) leaves zeros
                out[index] = g
        else:
            out[index] = g
        return out
    if isinstance(x, dict):
        return {index: g}
    if is_foreign(x) or is_foreign(g):
        return _scatter_add(g, x, index)
    out = np.zeros(shape_of(x), dtype=np.result_type(x, g, 1.0))
    if all(_is_basic(i) for i in (index if type(index) is tuple else (index,))):
        out[index] = g  # (ints, slices, None, ...: each item picked once, so placing is the sum: 1 us, not add.at's 5)
    else:
        np.add.at(out, index, g)
    return out


def _is_basic(i) -> bool:
    return i is None or i is Ellipsis or isinstance(i, int | np.integer | slice) and not isinstance(i, bool)


def _scatter_add(g, x, index):
    """`getitem_grad` for arrays of other libraries, without leaving the library.

    Basic indices (integers, slices, None, ...) select each element at most once, so an
    assignment into fresh zeros is exact (lazy on Dask, on the device for CuPy). Integer and
    boolean index arrays go through np.add.at where the library has it (CuPy), otherwise they
    are summed with a one-hot contraction (Dask), which handles repeated indices.
    """
    dtype = _float_dtype(x, g)
    out = _zeros_like(x, dtype, g)
    parts = index if isinstance(index, tuple) else (index,)
    if all(_is_basic(i) for i in parts):
        out[index] = g
        return out
    try:
        np.add.at(out, index, g)
        return out
    except TypeError:  # the library has no ufunc.at (Dask)
        pass
    return _onehot_scatter(g, x, parts, dtype, out)


def _onehot_scatter(g, x, parts, dtype, out):
    arrays = [k for k, i in enumerate(parts) if not _is_basic(i)]
    plain = slice(None)
    if len(arrays) != 1 or any(not (isinstance(i, slice) and i == plain) for k, i in enumerate(parts) if k != arrays[0]):
        from s2s.errors import NoDerivativeRuleError
        raise NoDerivativeRuleError(
            f"s2s has no gradient of x[index] for a {type(x).__module__}.{type(x).__name__} with this index "
            "(several index arrays, or an index array next to integers or partial slices)",
            hint="index with one integer or boolean array and plain ':' slices, or use np.where / np.take")
    axis = arrays[0]
    idx = _arr(parts[axis])
    n = shape_of(x)[axis]
    if idx.dtype == bool:
        if isinstance(idx, np.ndarray) and idx.ndim == 1:
            idx = np.flatnonzero(idx)
        else:
            from s2s.errors import NoDerivativeRuleError
            raise NoDerivativeRuleError(
                f"s2s has a gradient of x[mask] for a {type(x).__module__}.{type(x).__name__} only for a 1-d NumPy "
                "mask along one axis", hint="write np.where(mask, x, 0) instead of x[mask]")
    if isinstance(idx, np.ndarray):  # concrete indices: combine repeats, then assign unique positions
        flat = idx.reshape(-1) % n
        unique, inverse = np.unique(flat, return_inverse=True)
        onehot = (inverse[:, None] == np.arange(len(unique))).astype(dtype)
        g2 = np.reshape(g, shape_of(g)[:axis] + (len(flat),) + shape_of(g)[axis + idx.ndim:])
        summed = np.moveaxis(np.tensordot(g2, _in_library_of(onehot, x, g), axes=([axis], [0])), -1, axis)
        out[(slice(None),) * axis + (unique,)] = summed
        return out
    onehot = ((idx % n)[..., None] == _in_library_of(np.arange(n), idx)).astype(dtype)  # lazy indices: all n
    axes_g = list(range(axis, axis + idx.ndim))
    summed = np.tensordot(g, onehot, axes=(axes_g, list(range(idx.ndim))))
    return np.moveaxis(summed, -1, axis)


def setitem(x, index, v):
    """Functional `x[index] = v` on a copy, used where the original is still needed."""
    if isinstance(x, list):
        out = list(x)
    elif isinstance(x, dict):
        out = dict(x)
    elif isinstance(x, tuple | str):  # (Python's own error for `t[0] = v`)
        raise TypeError(f"'{type(x).__name__}' object does not support item assignment")
    else:
        out = x.copy()
        if (getattr(v, "dtype", None) is not None and v.dtype.kind == "c" or isinstance(v, complex)) and \
                getattr(out, "dtype", None) is not None and out.dtype.kind != "c":
            _refuse_complex()  # NumPy would drop the imaginary part (a tangent's, too) with only a warning
    out[index] = v
    return out


def added_at(a, indices, b):
    """`np.add.at(a, indices, b)` on a copy of the array `a`: repeated indices add once per occurrence.

    >>> added_at(np.zeros(3), [0, 2, 0], 1.0)
    array([2., 0., 1.])
    """
    out = _copy_for_at(a, b)
    np.add.at(out, indices, b)
    return out


def subtracted_at(a, indices, b):
    """`np.subtract.at(a, indices, b)` on a copy of the array `a`.

    >>> subtracted_at(np.ones(2), [1, 1], 0.25)
    array([1. , 0.5])
    """
    out = _copy_for_at(a, b)
    np.subtract.at(out, indices, b)
    return out


def _copy_for_at(a, b):
    if not isinstance(a, np.ndarray):  # (ufunc.at's own TypeError for a list or a number)
        np.add.at(a, (), 0)
    if (getattr(b, "dtype", None) is not None and b.dtype.kind == "c" or isinstance(b, complex)) and \
            a.dtype.kind != "c":
        _refuse_complex()
    return a.copy()


def slice_kept(x, index, v):
    """`v`, where `x[index] = v` keeps the length of the list `x` (anything else than a list sliced: `v`).

    The reverse sweep's `setitem_grads` reads the list after the write: it can split that list's adjoint into
    the old list's and v's only where the write replaced as many items as it put in. A slice assignment that
    grows or shrinks a list (`L[0:1] = [a, b]`, `L[1:1] = [c]`, `L[-1:] = []`) is refused here, at the user's
    line, before it runs. A one-pass iterable (a generator) is read into a list once, and that list given on.
    """
    if not isinstance(x, list) or not isinstance(index, slice) or is_array(v) and np.ndim(v) == 0:
        return v  # (a 0-d array is no iterable: Python's own TypeError follows)
    if not hasattr(v, "__len__"):
        try:
            v = list(v)
        except TypeError:
            return v  # (no iterable: Python's own TypeError follows)
    replaced, given = len(range(*index.indices(len(x)))), len(v)
    if replaced != given and index.step not in (None, 1):
        return v  # (an extended slice never changes a list's length: Python's own ValueError follows)
    if replaced != given:
        from s2s.errors import UnsupportedSyntaxError
        raise UnsupportedSyntaxError(
            f"s2s differentiates a slice assignment into a list (L[i:j] = v) only where it replaces as many items "
            f"as it puts in; this one replaces {replaced} item(s) of a list of {len(x)} with {given}, changing the "
            "list's length",
            hint="build the new list instead: L = L[:i] + list(v) + L[j:]")
    return v


def written_into(t, x):
    """The tangent or adjoint of a value written into `x` (`x[i] = v`): zero where the array x holds
    integers or booleans, which truncate v (a step function), else `t`.

        >>> written_into(2.0, np.zeros(3)), written_into(2.0, np.arange(3))
        (2.0, 0.0)
    """
    if getattr(getattr(x, "dtype", None), "kind", None) in ("b", "i", "u"):  # (a NumPy, CuPy or Dask array)
        return ZERO
    return t


@linear_in_g(zero=lambda x, index: (ZERO, ZERO))
def setitem_grads(g, x, index):
    """Adjoints of `y = setitem(x, index, v)`: (adjoint for x, adjoint for v).

    Where an index repeats (`y[[0, 0]] = v`) NumPy keeps one write per element, so only that
    write's part of v gets the element's adjoint; the overwritten ones get zero.
    """
    if isinstance(g, list | dict):
        gv = g.get(index, ZERO) if isinstance(g, dict) else g[index]  # (a dict's adjoint holds the keys read)
        gx = list(g) if isinstance(g, list) else dict(g)
        # a list's slice: as many zeros as it took items (s2s.slice_kept saw that the write kept the length)
        gx[index] = [ZERO] * len(gv) if isinstance(g, list) and isinstance(index, slice) else ZERO
        return gx, gv
    if isinstance(g, np.generic | float | int):
        g = np.array(g)  # a 0-d array's adjoint may come as a NumPy scalar, which cannot be assigned into
    gv = g[index]
    gx = g.copy()
    gx[index] = 0
    if _index_repeats(index) and not isinstance(x, list | dict):
        kept = _winners(x, index)
        if kept is not None:
            gv = gv * _in_library_of(kept, gv)
    return gx, written_into(gv, x)


@linear_in_g(zero=lambda: (ZERO, ZERO))
def append_grads(g):
    """Adjoints of `L.append(v)`: (adjoint of the list before, adjoint of v)."""
    return list(g[:-1]), g[-1]


def append_grads_owned(g):
    """`append_grads(g)` of a list adjoint that no other name holds (transforms/list_adjoints.py): its last
    item popped in place, one step instead of a copy of the rest; anything but a list as `append_grads`."""
    if type(g) is list:
        return g, g.pop()
    return append_grads(g)


def add_item_grad(acc, g, x, index):
    """`add(acc, getitem_grad(g, x, index))`, the adjoint of a read `x[index]` added into `acc`, with the item
    put into acc's list in place where `acc` is 0.0 or a list this helper made that no other name holds
    (transforms/list_adjoints.py proves that of the code it writes this into): one step per read instead of
    a new list as long as x's. Anything else (an array or dict x, an index other than an int) as `add`.

        >>> acc = add_item_grad(0.0, 2.0, [1.0, 5.0, 7.0], 1)
        >>> add_item_grad(acc, 3.0, [1.0, 5.0, 7.0], 1)
        [0.0, 5.0, 0.0]
    """
    if type(index) is int and isinstance(x, list | tuple):
        if is_zero(acc):
            acc = [ZERO] * len(x)
        elif type(acc) is not list or len(acc) != len(x):
            return add(acc, getitem_grad(g, x, index))
        old = acc[index]  # (what add does item by item: the zero adjoint gives way to the other term)
        acc[index] = g if old is ZERO else old if g is ZERO else add(old, g)
        return acc
    return add(acc, getitem_grad(g, x, index))


def _index_repeats(index) -> bool:
    """Whether `x[index] = v` may write one element twice (an integer index array is present)."""
    parts = index if isinstance(index, tuple) else (index,)
    for i in parts:
        if _is_basic(i):
            continue
        if isinstance(i, list):
            i = np.asarray(i)
        if is_array(i) and i.dtype.kind in "iu":
            return True
        if not is_array(i):  # anything else NumPy accepts as an index: ask the scatter below
            return True
    return False


def _winners(x, index):
    """For `x[index] = v`: a mask over x[index] of the positions whose write NumPy keeps.

    NumPy keeps one write per element when an index repeats (`y[[0, 0]] = v` keeps the last one);
    the same assignment of positions into an index map tells which one. None when every write is kept.
    """
    def host(i):  # an index array of another library, brought to NumPy (indices only, never the data)
        if isinstance(i, list):
            return np.asarray(i)
        if is_foreign(i):
            return i.get() if hasattr(i, "get") else np.asarray(i)  # CuPy copies with .get(), Dask computes
        return i

    index = tuple(host(i) for i in index) if isinstance(index, tuple) else host(index)
    holder = np.full(shape_of(x), -1, dtype=np.intp)
    taken = holder[index]
    order = np.arange(np.size(taken), dtype=np.intp).reshape(np.shape(taken))
    holder[index] = order
    kept = holder[index] == order
    return None if np.all(kept) else kept


def index_concat(obj, *items):
    """`np.r_[a, b, ...]` / `np.c_[...]` as a call (lowering writes these subscripts so)."""
    return obj[items[0] if len(items) == 1 else items]


def _concat_pieces(obj, items):
    """What each item of np.r_[...] / np.c_[...] becomes in the result, and the joining axis."""
    from s2s.errors import NoDerivativeRuleError
    if any(isinstance(i, str) for i in items):
        raise NoDerivativeRuleError(
            f"s2s does not differentiate {_trick_name(obj)}[...] with a string directive",
            hint="write np.concatenate([a, b], axis=...) or np.stack(...) instead")
    return [obj[i] for i in items], obj.axis


def _trick_name(obj):
    return "np.c_" if obj is np.c_ else "np.r_" if obj is np.r_ else type(obj).__name__


@linear_in_g(zero=lambda obj, items: [ZERO] * len(items))
def grad_index_concat(g, obj, items):
    """Adjoints of np.r_[...] / np.c_[...] for each item: `g` cut back into the pieces
    (a slice item is a constant range: no adjoint)."""
    pieces, axis = _concat_pieces(obj, items)
    parts = _pieces(g, [np.shape(p)[axis] for p in pieces], axis)
    return [ZERO if isinstance(i, slice) else np.reshape(part, np.shape(i)) for i, part in zip(items, parts)]


def index_concat_tangent(obj, items, tangents):
    """Tangent of np.r_[...] / np.c_[...]: the items' tangents joined as the items are."""
    pieces, axis = _concat_pieces(obj, items)
    tangents = [ZERO] * len(items) if is_zero(tangents) else tangents
    dense = [np.zeros_like(p, dtype=_float_dtype(p)) if isinstance(i, slice) or is_zero(t)
             else np.reshape(t + np.zeros(np.shape(i)), np.shape(p))
             for i, t, p in zip(items, tangents, pieces)]
    return np.concatenate(dense, axis=axis)


def index_item(obj, key):
    """`np.s_[...]`, `np.index_exp[...]`, `np.mgrid[...]`, `np.ogrid[...]` as a call: no derivative rule
    for the key (the rule refuses a varied key)."""
    return obj[key]


@zero_safe
def item_grad(g, x, index):
    """Adjoint of `x.item(*index)`."""
    if not hasattr(x, "shape") or x.shape == ():
        return cast_back(g, x)
    out = _zeros_like(x, _float_dtype(x), g)
    if not index:  # x.item() of a one-entry array
        index = (0,) * x.ndim
    elif len(index) == 1 and isinstance(index[0], tuple):  # x.item((i, j))
        index = index[0]
    elif len(index) == 1 and x.ndim != 1:  # x.item(k): k counts the flattened entries, as in x.flat[k]
        index = np.unravel_index(operator.index(index[0]) % x.size, x.shape)
    out[tuple(index)] = g
    return out
