"""Adjoints of the NumPy functions that copy entries of an array to new places (np.repeat, np.take,
np.take_along_axis, np.diagonal, np.pad, np.sort, np.rollaxis, the np.split family, np.column_stack,
np.append, np.select, np.diff, np.meshgrid, np.delete, np.insert; rules in s2s/rules/shape.py).

Most of them are *gathers*: every entry of the result is a copy of one entry of the input (or a
constant). Their adjoint is the matching scatter-add, computed once for all of them by running the
function on the input's flat positions (`_gather_adjoint`): where position k lands in the result,
the adjoint there is added into entry k. That makes each adjoint exact by construction, repeated
positions included (np.repeat, np.take with repeated indices, np.pad's reflections).
"""

from __future__ import annotations

import operator

import numpy as np

from s2s.runtime.adjoint import unbroadcast
from s2s.runtime.arrays import _as_array, _float_dtype, is_foreign, numpy_shape, shape_of
from s2s.runtime.shape import _item_shape, _pieces
from s2s.runtime.zero import ZERO, is_zero, linear_in_g


def _no_foreign(*values):
    if any(is_foreign(v) for v in values):
        from s2s.errors import NoDerivativeRuleError
        raise NoDerivativeRuleError(
            "s2s computes this adjoint for NumPy arrays only (it scatters with np.bincount)",
            hint="convert to a NumPy array first, or use np.concatenate / indexing, which keep the array's library")


def _gather_adjoint(g, x, gather, missing=None):
    """Adjoint of `y = gather(x)` where each entry of y is a copy of one entry of x (or, where
    `gather` places `missing`, a constant): `g` summed back into the entries it was copied from."""
    _no_foreign(g, x)
    x = _as_array(x)
    n = x.size
    positions = np.asarray(gather(np.arange(n).reshape(x.shape)))
    g = np.broadcast_to(np.asarray(g), positions.shape)
    flat, weights = positions.ravel(), g.ravel()
    if missing is not None:
        keep = flat != missing
        flat, weights = flat[keep], weights[keep]
    out = np.bincount(flat, weights=weights, minlength=n) if flat.size else np.zeros(n)
    return out.reshape(x.shape).astype(_float_dtype(x, g), copy=False)


@linear_in_g
def grad_repeat(g, a, repeats, axis):
    """Adjoint of np.repeat(a, repeats, axis): the copies of each entry summed."""
    return _gather_adjoint(g, a, lambda i: np.repeat(i, repeats, axis))


@linear_in_g
def grad_take(g, a, indices, axis):
    """Adjoint of np.take(a, indices, axis) (repeated indices add up)."""
    return _gather_adjoint(g, a, lambda i: np.take(i, indices, axis))


@linear_in_g
def grad_delete(g, arr, obj, axis):
    """Adjoint of np.delete(arr, obj, axis): g back in the entries kept, 0 in those deleted."""
    return _gather_adjoint(g, arr, lambda i: np.delete(i, obj, axis))


@linear_in_g
def grad_insert(g, arr, obj, values, axis, which):
    """Adjoint of np.insert(arr, obj, values, axis) for `arr` (which 0: the entries it kept) or `values` (which 1:
    the inserted entries, summed where values was broadcast into several)."""
    if which == 0:
        return _gather_adjoint(g, arr, lambda i: np.insert(i, obj, -1, axis), missing=-1)
    holes = np.full(np.shape(arr), -1)
    return _gather_adjoint(g, values, lambda i: np.insert(holes, obj, i, axis), missing=-1)


@linear_in_g
def grad_take_along_axis(g, arr, indices, axis):
    """Adjoint of np.take_along_axis(arr, indices, axis)."""
    return _gather_adjoint(g, arr, lambda i: np.take_along_axis(i, indices, axis))


@linear_in_g
def grad_diagonal(g, a, offset, axis1, axis2):
    """Adjoint of np.diagonal(a, offset, axis1, axis2)."""
    return _gather_adjoint(g, a, lambda i: np.diagonal(i, offset, axis1, axis2))


_PAD_COPY_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _check_pad_mode(mode):
    if mode not in _PAD_COPY_MODES:
        from s2s.errors import NoDerivativeRuleError
        raise NoDerivativeRuleError(
            f"s2s has no derivative of np.pad with mode={mode!r}",
            hint="use mode='constant' (zeros), 'edge', 'reflect', 'symmetric' or 'wrap'")


@linear_in_g
def grad_pad(g, array, pad_width, mode):
    """Adjoint of np.pad(array, pad_width, mode) for the modes that copy entries (the constant fill
    of mode='constant' is 0 and carries no derivative)."""
    _check_pad_mode(mode)
    if mode in ("constant", "edge") and type(array) is np.ndarray and type(g) in (np.ndarray, float) + _NUMPY_FLOATS \
            and _int_widths(pad_width):
        return _pad_adjoint_by_slices(g, array, pad_width, mode)
    if mode == "constant":
        return _gather_adjoint(g, array, lambda i: np.pad(i, pad_width, mode="constant", constant_values=-1),
                               missing=-1)
    return _gather_adjoint(g, array, lambda i: np.pad(i, pad_width, mode=mode))


_NUMPY_FLOATS = (np.float64, np.float32, np.float16)


def _int_widths(pad_width) -> bool:
    """Whether np.pad's widths are an int, or a tuple or list (nested) of ints, as `_pad_adjoint_by_slices` reads
    them (a dict of widths per axis, NumPy 2's, takes the index gather)."""
    if type(pad_width) is int or isinstance(pad_width, np.integer):
        return True
    return isinstance(pad_width, tuple | list) and bool(pad_width) and all(_int_widths(w) for w in pad_width)


def _pad_adjoint_by_slices(g, array, pad_width, mode):
    """`grad_pad` of mode 'constant' or 'edge', axis by axis from the last (np.pad pads the first first): the
    entries that were the array's, plus, for 'edge', each side's copies summed into the entry at that end."""
    pairs = ((pad_width, pad_width),) * array.ndim if type(pad_width) is int or isinstance(pad_width, np.integer) \
        else np.broadcast_to(np.asarray(pad_width), (array.ndim, 2))
    padded = tuple(n + int(a) + int(b) for n, (a, b) in zip(array.shape, pairs))
    out = g if type(g) is np.ndarray and g.shape == padded else np.broadcast_to(np.asarray(g), padded)
    owned = False  # (whether `out` is a new array: else a view of g, copied at the end)
    for axis in reversed(range(array.ndim)):
        before, n = int(pairs[axis][0]), array.shape[axis]
        if out.shape[axis] == n:
            continue
        cut = [slice(None)] * array.ndim

        def part(lo, hi):
            cut[axis] = slice(lo, hi)
            return tuple(cut)
        inner = out[part(before, before + n)]
        owned = False
        if mode == "edge" and n:
            inner, owned = inner.copy(), True  # (the sums below go into it)
            inner[part(0, 1)] += out[part(0, before)].sum(axis=axis, keepdims=True)
            inner[part(n - 1, n)] += out[part(before + n, None)].sum(axis=axis, keepdims=True)
        out = inner
    return out.astype(_float_dtype(array, g), copy=not owned)


def pad_tangent(t, array, pad_width, mode):
    """Tangent of np.pad(array, pad_width, mode): the tangent padded the same way."""
    _check_pad_mode(mode)
    return np.pad(np.broadcast_to(t, numpy_shape(array)), pad_width, mode=mode)


def _sort_order(a, axis):
    """An order that sorts `a` (tied entries in any order: the adjoints share g between them)."""
    a = _as_array(a)
    if axis is None:
        return np.argsort(a.ravel())
    return np.argsort(a, axis=axis)


def _tie_mean(sorted_values, v, axis):
    """`v` (laid out like the sorted values) averaged over each run of tied sorted values along `axis`."""
    sv = np.moveaxis(np.asarray(sorted_values), axis, -1)
    vv = np.moveaxis(np.broadcast_to(v, np.shape(sorted_values)), axis, -1)
    n = sv.shape[-1]
    if n < 2 or not np.any(sv[..., 1:] == sv[..., :-1]):
        return v
    rows = sv.reshape(-1, n)
    starts = np.concatenate([np.ones((rows.shape[0], 1), dtype=bool), rows[:, 1:] != rows[:, :-1]], axis=1)
    group = np.cumsum(starts.ravel()) - 1
    sums = np.bincount(group, weights=vv.reshape(-1).astype(float))
    counts = np.bincount(group)
    mean = (sums / counts)[group].reshape(sv.shape).astype(_float_dtype(vv), copy=False)
    return np.moveaxis(mean, -1, axis)


@linear_in_g
def _axis_index(axis):
    """An axis as NumPy reads it: None, or an int (`True` is 1, `np.int64(0)` is 0)."""
    return None if axis is None else operator.index(axis)


def grad_sort(g, a, axis):
    """Adjoint of np.sort(a, axis): `g` put back where each sorted entry came from.

    Where entries tie, sort has a kink (no derivative); s2s shares the adjoint of the tied positions
    evenly between them, as np.max does between tied maxima (then sort(x)[-1] and np.max(x) agree)."""
    axis = _axis_index(axis)
    order = _sort_order(a, axis)
    flat = axis is None
    values = np.ravel(a)[order] if flat else np.take_along_axis(_as_array(a), order, axis)
    g = _tie_mean(values, np.broadcast_to(g, np.shape(values)), 0 if flat else axis)
    _no_foreign(g, a)
    out = np.empty(np.shape(a), dtype=_float_dtype(a, g))  # (order is a permutation: each entry written once)
    if flat:
        out.reshape(-1)[order] = g
    else:
        np.put_along_axis(out, order, g, axis)
    return out


def sort_tangent(t, a, axis):
    """Tangent of np.sort(a, axis): the tangent reordered as the values are (averaged over tied
    entries: the transpose of `grad_sort`)."""
    axis = _axis_index(axis)
    order = _sort_order(a, axis)
    t = np.broadcast_to(t, numpy_shape(a))
    if axis is None:
        return _tie_mean(np.ravel(a)[order], t.ravel()[order], 0)
    return _tie_mean(np.take_along_axis(_as_array(a), order, axis), np.take_along_axis(t, order, axis), axis)


def _sorted_layout(ans, axis):
    """The order that sorts np.partition's result `ans` along `axis` (all of it for None): where each partitioned
    entry stands in the sorted array. (NumPy's np.partition does not say where each entry came from, and
    np.argpartition lays entries out otherwise: from about 1,000 entries on they disagree within the parts.)"""
    return np.argsort(np.ravel(ans) if axis is None else ans, axis=-1 if axis is None else axis)


@linear_in_g
def grad_partition(g, ans, a, kth, axis):
    """Adjoint of `ans = np.partition(a, kth, axis)`: each partitioned entry is one entry of the sorted array, so
    `g` is laid out as the sorted values are and handed to np.sort's adjoint (`grad_sort`: tied entries share it
    evenly, whatever order partition left them in). Two argsorts, O(n log n).

        >>> grad_partition(np.array([10.0, 20.0, 30.0]), np.array([1.0, 2.0, 3.0]), np.array([3.0, 1.0, 2.0]), 1, -1)
        array([30., 10., 20.])
    """
    axis = _axis_index(axis)
    order = _sorted_layout(ans, axis)
    g = np.broadcast_to(g, np.shape(ans))
    return grad_sort(g.ravel()[order] if axis is None else np.take_along_axis(g, order, axis), a, axis)


@linear_in_g
def partition_tangent(t, ans, a, kth, axis):
    """Tangent of `ans = np.partition(a, kth, axis)`: np.sort's tangent read back in the partitioned order (the
    transpose of `grad_partition`)."""
    axis = _axis_index(axis)
    ranks = np.argsort(_sorted_layout(ans, axis), axis=-1 if axis is None else axis)
    sorted_t = sort_tangent(t, a, axis)
    return sorted_t[ranks] if axis is None else np.take_along_axis(sorted_t, ranks, axis)


def _rollaxis_axes(ndim, axis, start):
    """The permutation np.rollaxis(a, axis, start) applies, as np.transpose's `axes`."""
    axis = axis % ndim
    start = start + ndim if start < 0 else start
    order = list(range(ndim))
    if axis < start:
        start -= 1
    order.remove(axis)
    order.insert(start, axis)
    return tuple(order)


@linear_in_g
def grad_rollaxis(g, a, axis, start):
    """Adjoint of np.rollaxis(a, axis, start): the inverse permutation."""
    order = _rollaxis_axes(np.ndim(a), axis, start)
    return np.transpose(g, tuple(int(i) for i in np.argsort(order)))


def _split_axis(kind, ary, axis):
    if kind == "h":
        return 0 if np.ndim(ary) == 1 else 1
    return {"v": 0, "d": 2}.get(kind, axis)


@linear_in_g
def grad_split(g, ans, ary, axis, kind=None):
    """Adjoint of np.split / np.array_split / np.hsplit / np.vsplit / np.dsplit: the pieces'
    adjoints joined again (a piece nothing reached contributes zeros)."""
    axis = _split_axis(kind, ary, axis)
    dtype = _float_dtype(ary)
    parts = [np.zeros(shape_of(p), dtype=dtype) if is_zero(gi) else np.broadcast_to(gi, shape_of(p))
             for gi, p in zip(g, ans)]
    return np.concatenate(parts, axis=axis)


def split_tangent(t, ans, ary, indices_or_sections, axis, kind=None):
    """Tangent of the np.split family: the tangent split the same way."""
    axis = _split_axis(kind, ary, axis)
    t = np.broadcast_to(t, numpy_shape(ary))
    return np.array_split(t, indices_or_sections, axis=axis) if kind == "array" else \
        np.split(t, indices_or_sections, axis=axis)


def _meshgrid_axis(k, n, indexing):
    """The axis of np.meshgrid's outputs along which input k runs ('xy' swaps the first two)."""
    return 1 - k if indexing == "xy" and n >= 2 and k < 2 else k


@linear_in_g(zero=lambda ans, xi, indexing: [ZERO] * len(xi))
def grad_meshgrid(g, ans, xi, indexing):
    """Adjoints of np.meshgrid(*xi, indexing=indexing): output k is input k (flattened) broadcast along the other
    axes, so its adjoint summed over them, in input k's shape.

        >>> x, y = np.arange(3.0), np.arange(2.0)
        >>> [p.tolist() for p in grad_meshgrid(list(np.meshgrid(x, y)), np.meshgrid(x, y), [x, y], "xy")]
        [[0.0, 2.0, 4.0], [3.0, 6.0]]
    """
    parts = []
    for k, (gk, out, x) in enumerate(zip(g, ans, xi)):
        if is_zero(gk):
            parts.append(ZERO)
            continue
        axis = _meshgrid_axis(k, len(xi), indexing)
        gk = np.broadcast_to(gk, shape_of(out))  # (a number stands for every entry of its output)
        other = tuple(a for a in range(gk.ndim) if a != axis)
        parts.append(np.reshape(np.sum(gk, axis=other), shape_of(x)))
    return parts


def meshgrid_tangent(xi, t, sparse, indexing):
    """Tangent of np.meshgrid(*xi, sparse=sparse, indexing=indexing): the tangents laid out on the same grid (an
    input without one as zeros)."""
    t = [ZERO] * len(xi) if is_zero(t) else t
    dense = [np.zeros(shape_of(x), dtype=_float_dtype(x)) if is_zero(tk) else np.broadcast_to(tk, shape_of(x))
             for tk, x in zip(t, xi)]
    return np.meshgrid(*dense, sparse=sparse, indexing=indexing)


@linear_in_g(zero=lambda tup: [ZERO] * len(tup))
def grad_column_stack(g, tup):
    """Adjoints of np.column_stack: the columns of `g` cut back into the pieces."""
    shapes = [_item_shape(t) for t in tup]  # (a list of numbers: its length, as NumPy reads it)
    widths = [1 if len(s) < 2 else s[1] for s in shapes]
    return [np.reshape(p, s) for p, s in zip(_pieces(g, widths, 1), shapes)]


@linear_in_g
def grad_append(g, arr, values, axis, which):
    """Adjoint of np.append(arr, values, axis) for arr (which=0) or values (which=1)."""
    n = int(np.size(arr)) if axis is None else shape_of(_as_array(arr))[axis]
    if axis is None:
        flat = np.ravel(g)
        part = flat[:n] if which == 0 else flat[n:]
        return np.reshape(part, np.shape(arr) if which == 0 else np.shape(values))
    first, second = _pieces(g, [n, np.shape(g)[axis] - n], axis)
    return first if which == 0 else unbroadcast(second, values)


def append_tangent(t_arr, t_values, arr, values, axis):
    """Tangent of np.append(arr, values, axis)."""
    t_arr = np.zeros(np.shape(arr)) if is_zero(t_arr) else np.broadcast_to(t_arr, np.shape(arr))
    t_values = np.zeros(np.shape(values)) if is_zero(t_values) else np.broadcast_to(t_values, np.shape(values))
    return np.append(t_arr, t_values, axis)


def _choices_taken(condlist, n):
    """For np.select: which choice (0..n-1, or n for the default) each entry takes."""
    taken = np.full(np.broadcast_shapes(*[np.shape(c) for c in condlist]) if condlist else (), n)
    for k in range(len(condlist) - 1, -1, -1):
        taken = np.where(condlist[k], k, taken)
    return taken


@linear_in_g(zero=lambda condlist, choicelist, default, which: [ZERO] * len(choicelist) if which == 0 else ZERO)
def grad_np_select(g, condlist, choicelist, default, which):
    """Adjoints of np.select(condlist, choicelist, default): each choice (which=0, a list) gets `g`
    where it is the one taken, the default (which=1) where no condition holds."""
    taken = _choices_taken(condlist, len(choicelist))
    if which == 1:
        return unbroadcast(g * (taken == len(choicelist)), default)
    return [unbroadcast(g * (taken == k), c) for k, c in enumerate(choicelist)]


def np_select_tangent(condlist, choicelist, default, t_choices, t_default):
    """Tangent of np.select: the tangent of the choice each entry takes."""
    n = len(choicelist)
    t_choices = [ZERO] * n if is_zero(t_choices) else t_choices
    dense = [np.zeros(np.shape(c)) if is_zero(t) else t for t, c in zip(t_choices, choicelist)]
    shape = np.broadcast_shapes(*[np.shape(c) for c in condlist], *[np.shape(c) for c in choicelist],
                                np.shape(default))
    return np.broadcast_to(np.select(condlist, dense, 0.0 if is_zero(t_default) else t_default), shape)


def diff_ends(a, axis, prepend, append) -> list:
    """The pieces np.diff(a, n, axis, prepend=..., append=...) joins along the axis before it differences:
    [prepend, a, append], a number or 0-d array as a piece of length 1 of a's other lengths, None left out (as an
    empty piece), as NumPy builds them."""
    a = np.asanyarray(a)
    axis %= max(a.ndim, 1)
    out = []
    for end in (prepend, None, append):
        if end is None and len(out) != 1:
            shape = list(a.shape)
            shape[axis] = 0
            out.append(np.zeros(shape, dtype=a.dtype))
        elif len(out) == 1 and end is None:
            out.append(a)
        else:
            end = np.asanyarray(end)
            if end.ndim == 0:
                shape = list(a.shape)
                shape[axis] = 1
                end = np.broadcast_to(end, tuple(shape))
            out.append(end)
    return out


@linear_in_g
def grad_diff_ends(g, a, n, axis, prepend, append, which):
    """Adjoint of np.diff(a, n, axis, prepend=..., append=...) for the piece `which` (0 prepend, 1 a, 2 append):
    the adjoint of the difference of the joined pieces (`grad_diff`), that piece's part along the axis, summed to
    a number for a number prepended (or appended)."""
    if n == 0:  # (NumPy gives `a` itself, joining nothing)
        return (g if np.shape(g) == np.shape(a) else np.broadcast_to(g, np.shape(a)).copy()) if which == 1 else 0.0
    pieces = diff_ends(a, axis, prepend, append)
    joined = np.concatenate(pieces, axis=axis % max(np.ndim(a), 1))
    whole = grad_diff(g, joined, n, axis)
    k = axis % joined.ndim
    start = sum(p.shape[k] for p in pieces[:which])
    part = whole[(slice(None),) * k + (slice(start, start + pieces[which].shape[k]),)]
    own = (prepend, a, append)[which]
    return np.sum(part) if np.ndim(own) == 0 else part


def diff_ends_tangent(t, a, n, axis, prepend, append, which):
    """Tangent of np.diff(a, n, axis, prepend=..., append=...) for the piece `which`'s tangent `t` (the others held
    fixed): the difference of the pieces with that one's tangent in its place and zeros in the others'."""
    if n == 0:  # (NumPy gives `a` itself, joining nothing)
        return np.broadcast_to(t, np.shape(a)) * 1.0 if which == 1 else np.zeros(np.shape(a))
    pieces = diff_ends(a, axis, prepend, append)
    k = axis % max(np.ndim(a), 1)
    parts = [np.broadcast_to(np.asarray(t, dtype=float) if np.ndim(t) == 0 else t, p.shape) if i == which
             else np.zeros(p.shape) for i, p in enumerate(pieces)]
    return np.diff(np.concatenate(parts, axis=k), n, axis=axis)


@linear_in_g
def grad_diff(g, a, n, axis):
    """Adjoint of np.diff(a, n, axis): n times the adjoint of one difference, `g` added into the later entries and
    taken from the earlier ones (for CuPy and Dask arrays: -diff of `g` padded with a zero at both ends)."""
    if type(n) is int and n >= 1 and type(g) is np.ndarray and type(a) is np.ndarray and g.dtype.kind == "f" \
            and g.ndim == a.ndim and g.ndim and type(axis) is int and -a.ndim <= axis < a.ndim:
        k = axis % a.ndim  # (the common call: an array adjoint of the differences' shape)
        if g.shape == a.shape[:k] + (a.shape[k] - n,) + a.shape[k + 1:] and a.shape[k] >= n:
            later, earlier = (slice(None),) * k + (slice(1, None),), (slice(None),) * k + (slice(None, -1),)
            for _ in range(n):  # (as the loop below: one difference's adjoint at a time)
                y_bar = np.zeros(g.shape[:k] + (g.shape[k] + 1,) + g.shape[k + 1:], dtype=g.dtype)
                y_bar[later] += g
                y_bar[earlier] -= g
                g = y_bar
            return g
    out_shape = list(numpy_shape(a))  # (`np.diff([a, b, c])`: a list display as NumPy reads it)
    out_shape[axis % len(out_shape)] -= n
    if out_shape[axis % len(out_shape)] < 0:  # fewer than n entries: NumPy's difference is empty
        dtype = g.dtype if getattr(g, "dtype", None) is not None and g.dtype.kind == "f" else np.float64
        return np.zeros(numpy_shape(a), dtype=dtype)
    g = np.broadcast_to(g, tuple(out_shape))
    if is_foreign(g) or is_foreign(a):  # (CuPy, Dask: their own pad and diff)
        for _ in range(n):
            width = [(0, 0)] * np.ndim(g)
            width[axis % np.ndim(g)] = (1, 1)
            g = -np.diff(np.pad(g, width), axis=axis)
        return np.reshape(g, numpy_shape(a))
    k = axis % g.ndim
    later, earlier = (slice(None),) * k + (slice(1, None),), (slice(None),) * k + (slice(None, -1),)
    for _ in range(n):  # d = y[1:] - y[:-1] along the axis: y_bar[1:] += g, y_bar[:-1] -= g
        y_bar = np.zeros(g.shape[:k] + (g.shape[k] + 1,) + g.shape[k + 1:], dtype=g.dtype)
        y_bar[later] += g
        y_bar[earlier] -= g
        g = y_bar
    return np.reshape(g, numpy_shape(a))
