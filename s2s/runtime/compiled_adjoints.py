"""numba versions of more runtime helpers (squeeze, where, var, det, copy), for compiled derivatives.

The same scheme as `compiled_helpers` (which imports these into its HELPERS): a Python stub that raises
outside compiled code, and a numba `overload` choosing the code from the argument types at compile time.
A type they do not cover is a typing error (the compiled path falls back to the NumPy code, with a
warning); a run-time shape they do not cover raises `ValueError(FALLBACK + ...)`, the same fallback.

Each computes what the NumPy helper of the same name computes, in the same order of operations and
in the same dtype (a float32 adjoint stays float32: numba's `float32 array * 2.0` is float64, so the
constants are made in the array's own dtype).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.cpython.unsafe.tuple import tuple_setitem
from numba.np import numpy_support
from numba.np.unsafe.ndarray import to_fixed_tuple

from s2s.runtime.compiled_helpers import (
    FALLBACK,
    FALLBACK_CALL,
    _blocks,
    _constant_axis,
    _dtype_of,
    _is_array,
    _is_number,
    _overload,
    _plain,
    _refuse,
    _some,
    expand_reduced,
    reduce_axis,
    unbroadcast,
)

# ------------------------------------------------------------------------------------------- squeeze

def grad_squeeze(g, x, axis):
    """Adjoint of np.squeeze (runtime.grad_squeeze): `g` reshaped to `x`'s shape."""
    raise NotImplementedError("only inside compiled code")


_SQUEEZE_ADJOINT_SIZE = FALLBACK + "the adjoint of a squeeze of another size than the squeezed array"


@_overload(grad_squeeze)
def _grad_squeeze(g, x, axis):
    if _is_number(x) and _is_number(g):
        return lambda g, x, axis: g  # (a number is its own squeeze)
    if not _is_array(x):
        _refuse("grad_squeeze", g, x, axis)
    if _is_number(g):
        dtype = _plain(g)  # np.reshape(number, shape): an array of the number's own type

        def full(g, x, axis):
            if x.size != 1:
                raise ValueError(_SQUEEZE_ADJOINT_SIZE)
            return np.full(x.shape, g, dtype)
        return full
    if not _is_array(g):
        _refuse("grad_squeeze", g, x, axis)

    def impl(g, x, axis):
        if g.size != x.size:  # (NumPy raises its own error: the NumPy code's)
            raise ValueError(_SQUEEZE_ADJOINT_SIZE)
        return np.ascontiguousarray(g).reshape(x.shape)
    return impl


# --------------------------------------------------------------------------------------------- where

def grad_where(g, cond, x, take_x):
    """Adjoint of np.where(cond, x, y) for x (take_x) or y (runtime.grad_where)."""
    raise NotImplementedError("only inside compiled code")


@_overload(grad_where, prefer_literal=True)
def _grad_where(g, cond, x, take_x):
    if not (isinstance(take_x, types.BooleanLiteral) and (_is_number(g) or _is_array(g))
            and (_is_number(x) or _is_array(x))):
        _refuse("grad_where", g, cond, x, take_x)
    c = _plain(cond)
    if not (isinstance(c, types.Boolean) or (isinstance(c, types.Array) and isinstance(c.dtype, types.Boolean))):
        _refuse("grad_where", g, cond, x, take_x)  # (a mask of numbers: NumPy's truth of each, not compiled)
    dtype = _dtype_of(g)
    if not isinstance(dtype, types.Float):
        _refuse("grad_where", g, cond, x, take_x)
    zero = dtype(0.0)  # np.where(mask, g, 0.0): the 0.0 takes g's dtype (float32 stays float32)
    if take_x.literal_value:
        return lambda g, cond, x, take_x: unbroadcast(np.where(cond, g, zero), x)
    return lambda g, cond, x, take_x: unbroadcast(np.where(cond, zero, g), x)


# ----------------------------------------------------------------------------------------------- var

def grad_var(g, x, axis, ddof, keepdims):
    """Adjoint of np.var (runtime.grad_var): `g` spread over the axis, times 2 (x - mean) / (n - ddof)."""
    raise NotImplementedError("only inside compiled code")


@_overload(grad_var, prefer_literal=True)
def _grad_var(g, x, axis, ddof, keepdims):
    if not (_is_array(x) and isinstance(_plain(x).dtype, types.Float) and (_is_number(g) or _is_array(g))
            and isinstance(_plain(ddof), types.Integer) and isinstance(keepdims, types.BooleanLiteral)):
        _refuse("grad_var", g, x, axis, ddof, keepdims)
    nd = _plain(x).ndim
    ax = _constant_axis(axis, nd)
    if ax is False:
        _refuse("grad_var", g, x, axis, ddof, keepdims)
    if _is_array(g) and not isinstance(_plain(g).dtype, types.Float):
        _refuse("grad_var", g, x, axis, ddof, keepdims)
    blocks = _blocks(nd, ax)
    # NumPy's dtype of expand_reduced(g) * 2.0 * (x - mean) / (n - ddof): float32 only where g and x are
    dtype = types.float32 if _dtype_of(g) == types.float32 and _plain(x).dtype == types.float32 else types.float64
    two = dtype(2.0)
    if ax is None:
        def impl(g, x, axis, ddof, keepdims):
            pre, n, post = blocks(x.shape)
            mean = reduce_axis(x, "mean", None, True)
            return expand_reduced(g, x, None, keepdims) * two * (x - mean) / dtype(max(n - ddof, 0))
        return impl

    def impl_axis(g, x, axis, ddof, keepdims):
        pre, n, post = blocks(x.shape)
        mean = reduce_axis(x, "mean", ax, True)
        return expand_reduced(g, x, ax, keepdims) * two * (x - mean) / dtype(max(n - ddof, 0))
    return impl_axis


# ---------------------------------------------------------------------------------------------- diff

def grad_diff(g, a, n, axis):
    """Adjoint of np.diff(a, n, axis) (runtime.grad_diff): n times, `g` added into the later entries along the
    axis and taken from the earlier ones; an array of `a`'s shape, in `g`'s dtype (float64 for a number)."""
    raise NotImplementedError("only inside compiled code")


_DIFF_ADJOINT_SHAPE = FALLBACK + "the adjoint of np.diff of another shape than the difference's"


@_overload(grad_diff)
def _grad_diff(g, a, n, axis):
    if not (_is_array(a) and (_is_number(g) or _is_array(g)) and isinstance(_plain(n), types.Integer)
            and isinstance(_plain(axis), types.Integer)):
        _refuse("grad_diff", g, a, n, axis)
    dtype = _plain(g).dtype if _is_array(g) else types.float64
    if not isinstance(dtype, types.Float):
        _refuse("grad_diff", g, a, n, axis)
    nd = _plain(a).ndim
    spread = _is_number(g)

    def impl(g, a, n, axis):
        k = axis % nd
        pre, length, post = 1, 1, 1
        for d in range(nd):
            if d < k:
                pre *= a.shape[d]
            elif d == k:
                length = a.shape[d]
            else:
                post *= a.shape[d]
        if length - n < 0:  # fewer than n entries: NumPy's difference is empty
            return np.zeros(a.shape, dtype)
        if spread:
            cur = np.full((pre, length - n, post), g, dtype)
        else:
            if g.size != pre * (length - n) * post:
                raise ValueError(_DIFF_ADJOINT_SHAPE)
            cur = np.ascontiguousarray(g).reshape((pre, length - n, post))
        for _ in range(n):
            m = cur.shape[1]
            out = np.zeros((pre, m + 1, post), dtype)
            for i in range(pre):
                for j in range(m):
                    for q in range(post):
                        out[i, j + 1, q] += cur[i, j, q]
                        out[i, j, q] -= cur[i, j, q]
            cur = out
        return cur.reshape(a.shape)
    return impl


# ------------------------------------------------------------------------------------------- cumprod

def grad_cumprod(g, x, axis, ans=None):
    """Adjoint of np.cumprod(x, axis) (runtime.grad_cumprod): along the axis, the products of the entries before
    each one times the sum over the later entries of g times the products between (no division: exact where an
    entry is 0, as the NumPy helper's loop is). `ans`, the forward products, is not needed here."""
    raise NotImplementedError("only inside compiled code")


_CUMPROD_ADJOINT_SHAPE = FALLBACK + "the adjoint of np.cumprod of another shape than the products'"
_CUMPROD_OUT_OF_RANGE = FALLBACK_CALL + "np.cumprod's adjoint with products or sums out of the float range on the way"


@_overload(grad_cumprod)
def _grad_cumprod(g, x, axis, ans=None):
    if not (_is_array(x) and _is_array(g) and isinstance(_plain(x).dtype, types.Float)
            and isinstance(_plain(g).dtype, types.Float) and _plain(g).dtype == _plain(x).dtype
            and (isinstance(axis, types.NoneType) or isinstance(_plain(axis), types.Integer))):
        _refuse("grad_cumprod", g, x, axis)
    dtype = _plain(x).dtype
    nd = _plain(x).ndim
    flat = isinstance(axis, types.NoneType)

    tiny = dtype(np.finfo(numpy_support.as_dtype(dtype)).tiny)

    def impl(g, x, axis, ans=None):
        if g.size != x.size or (not flat and g.shape != x.shape):
            raise ValueError(_CUMPROD_ADJOINT_SHAPE)
        pre, length, post = _lanes(x.shape, nd, -1 if flat else axis % nd, x.size)
        xs = np.ascontiguousarray(x).reshape((pre, length, post))
        gs = np.ascontiguousarray(g).reshape((pre, length, post))
        out = np.empty((pre, length, post), dtype)
        read = np.empty(length, np.bool_)
        finite = np.isfinite(xs).all() and np.isfinite(gs).all()
        for i in range(pre):
            for q in range(post):
                tail = dtype(0.0)  # sum over the later entries of g times the products after the entry
                later = False  # whether g is not 0 at the entry or a later one (else the adjoint is exactly 0)
                lost = False  # a product or sum on the way out of range (the NumPy code keeps it: it runs)
                for j in range(length - 1, -1, -1):
                    tail = gs[i, j, q] + (xs[i, j + 1, q] * tail if j + 1 < length else tail)
                    later = later or gs[i, j, q] != 0
                    lost = lost or abs(tail) < tiny and (tail != 0 or later)
                    out[i, j, q] = tail
                    read[j] = later
                before = dtype(1.0)  # the products of the entries before
                zero_before = False
                for j in range(length):
                    lost = lost or abs(before) < tiny and (before != 0 or not zero_before)
                    out[i, j, q] = out[i, j, q] * before if read[j] else dtype(0.0)
                    lost = lost or not np.isfinite(out[i, j, q])
                    before *= xs[i, j, q]
                    zero_before = zero_before or xs[i, j, q] == 0
                if lost and finite:
                    raise ValueError(_CUMPROD_OUT_OF_RANGE)
        return out.reshape(x.shape)
    return impl


def grad_cumsum(g, x, axis):
    """Adjoint of np.cumsum(x, axis) (runtime.grad_cumsum): the running sums of g from the end, along the axis
    (of the flattened array for None), in g's dtype."""
    raise NotImplementedError("only inside compiled code")


@_overload(grad_cumsum)
def _grad_cumsum(g, x, axis):
    if not (_is_array(x) and _is_array(g) and isinstance(_plain(g).dtype, types.Float)
            and (isinstance(axis, types.NoneType) or isinstance(_plain(axis), types.Integer))):
        _refuse("grad_cumsum", g, x, axis)
    dtype = _plain(g).dtype
    nd = _plain(x).ndim
    flat = isinstance(axis, types.NoneType)

    def impl(g, x, axis):
        if g.size != x.size or (not flat and g.shape != x.shape):
            raise ValueError(_CUMPROD_ADJOINT_SHAPE)
        pre, length, post = _lanes(x.shape, nd, -1 if flat else axis % nd, x.size)
        gs = np.ascontiguousarray(g).reshape((pre, length, post))
        out = np.empty((pre, length, post), dtype)
        for i in range(pre):
            for q in range(post):
                tail = dtype(0.0)
                for j in range(length - 1, -1, -1):
                    tail += gs[i, j, q]
                    out[i, j, q] = tail
        return out.reshape(x.shape)
    return impl


def cumulative(x, op, axis):
    """np.cumsum(x, axis) / np.cumprod(x, axis) (`op` "sum" or "prod") along an int axis: numba's take none
    (numba_lowering.cumulatives writes the calls)."""
    raise NotImplementedError("only inside compiled code")


@_overload(cumulative, prefer_literal=True)
def _cumulative(x, op, axis):
    if not (_is_array(x) and isinstance(op, types.StringLiteral) and op.literal_value in ("sum", "prod")
            and isinstance(_plain(axis), types.Integer) and isinstance(_plain(x).dtype, types.Float)):
        _refuse("cumulative", x, op, axis)
    dtype = _plain(x).dtype
    nd = _plain(x).ndim
    product = op.literal_value == "prod"

    def impl(x, op, axis):
        pre, length, post = _lanes(x.shape, nd, axis % nd, x.size)
        xs = np.ascontiguousarray(x).reshape((pre, length, post))
        out = np.empty((pre, length, post), dtype)
        for i in range(pre):
            for q in range(post):
                acc = dtype(1.0) if product else dtype(0.0)
                for j in range(length):
                    acc = acc * xs[i, j, q] if product else acc + xs[i, j, q]
                    out[i, j, q] = acc
        return out.reshape(x.shape)
    return impl


def diff_along(x, n, axis):
    """np.diff(x, n, axis) along a constant int axis: numba's diff takes none (numba_lowering.cumulatives writes
    the calls)."""
    raise NotImplementedError("only inside compiled code")


@_overload(diff_along)
def _diff_along(x, n, axis):
    if not (_is_array(x) and isinstance(_plain(x).dtype, types.Float) and isinstance(_plain(n), types.Integer)
            and isinstance(_plain(axis), types.Integer)):
        _refuse("diff_along", x, n, axis)
    dtype = _plain(x).dtype
    nd = _plain(x).ndim

    def impl(x, n, axis):
        k = axis % nd
        pre, length, post = _lanes(x.shape, nd, k, x.size)
        cur = np.ascontiguousarray(x).reshape((pre, length, post)).copy()
        for _ in range(n):
            m = cur.shape[1] - 1
            if m < 0:
                break
            nxt = np.empty((pre, m, post), dtype)
            for i in range(pre):
                for j in range(m):
                    for q in range(post):
                        nxt[i, j, q] = cur[i, j + 1, q] - cur[i, j, q]
            cur = nxt
        # (the axis n shorter, empty where it had n entries or fewer)
        return cur.reshape(_with_length(x.shape, k, cur.shape[1]))
    return impl


@numba.njit
def _with_length(shape, k, length):
    """`shape` with its axis k of `length` entries."""
    out = shape
    for d in range(len(shape)):
        if d == k:
            out = tuple_setitem(out, d, length)
    return out


@numba.njit
def _lanes(shape, nd, k, size):
    """(entries before the axis, along it, after it) of an array of `shape` along axis k (-1: flattened)."""
    if k < 0:
        return 1, size, 1
    pre, post = 1, 1
    for d in range(nd):
        if d < k:
            pre *= shape[d]
        elif d > k:
            post *= shape[d]
    return pre, shape[k], post


# ------------------------------------------------------------------------------------------ convolve

def grad_convolve(g, a, v, mode, which):
    """Adjoint of np.convolve(a, v, mode) for a (which 0) or v (runtime.grad_convolve): `g` placed in the 'full'
    result's window of the mode, correlated with the other argument; float64, as NumPy's padding makes it."""
    raise NotImplementedError("only inside compiled code")


_MODE_CODES = {"full": 0, "valid": 1, "same": 2}


@_overload(grad_convolve, prefer_literal=True)
def _grad_convolve(g, a, v, mode, which):
    if not (isinstance(mode, types.StringLiteral) and mode.literal_value in _MODE_CODES
            and isinstance(which, types.IntegerLiteral) and which.literal_value in (0, 1)
            and _is_array(a) and _plain(a).ndim == 1 and _is_array(v) and _plain(v).ndim == 1
            and (_is_number(g) or _is_array(g) and _plain(g).ndim == 1)
            and all(isinstance(_dtype_of(t), types.Float) for t in (g, a, v))):
        _refuse("grad_convolve", g, a, v, mode, which)
    code, of_a = _MODE_CODES[mode.literal_value], which.literal_value == 0

    def impl(g, a, v, mode, which):
        n, m = a.shape[0], v.shape[0]
        lo, hi = min(n, m), max(n, m)
        start, length = (0, n + m - 1) if code == 0 else (lo - 1, hi - lo + 1) if code == 1 else ((lo - 1) // 2, hi)
        full = np.zeros(n + m - 1)
        full[start:start + length] = g
        other, size = (v, n) if of_a else (a, m)
        out = np.zeros(size)
        for i in range(size):  # np.correlate(full, other, "valid")
            total = 0.0
            for j in range(other.shape[0]):
                total += full[i + j] * other[j]
            out[i] = total
        return out
    return impl


# ------------------------------------------------------------------------- divisions, clips, item sets

def safe_div(a, b):
    """a / b, 0 where b == 0 (runtime.safe_div): of numbers, and of float64 arrays and numbers."""
    raise NotImplementedError("only inside compiled code")


def _float64_or_number(t) -> bool:
    return _is_number(t) and not isinstance(_plain(t), types.Complex) or \
        _is_array(t) and _plain(t).dtype == types.float64


@_overload(safe_div)
def _safe_div(a, b):
    if not (_float64_or_number(a) and _float64_or_number(b)):
        _refuse("safe_div", a, b)
    if _is_number(a) and _is_number(b):
        def impl(a, b):
            if b == 0:
                return 0.0
            return a / b
        return impl
    return lambda a, b: np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


def clip_mask(a, lo, hi):
    """True where np.clip(a, lo, hi) passed `a` through (runtime.clip_mask): bools of the shape `a` and the bounds
    broadcast to (a bool of numbers), a bound None, a number or an array."""
    raise NotImplementedError("only inside compiled code")


@_overload(clip_mask)
def _clip_mask(a, lo, hi):
    def none(t):
        return isinstance(t, types.NoneType | types.Omitted)
    if not all(_is_number(t) or _is_array(t) for t in (a,) + tuple(t for t in (lo, hi) if not none(t))) \
            or any(isinstance(_dtype_of(t), types.Complex) for t in (a, lo, hi) if not none(t)):
        _refuse("clip_mask", a, lo, hi)
    # (`(a == a) | True` is True, or an array of a's shape of them: NaN entries too, as NumPy's ones_like)
    if none(lo) and none(hi):
        return lambda a, lo, hi: (a == a) | True
    if none(lo):
        return lambda a, lo, hi: ((a == a) | True) & (a <= hi)
    if none(hi):
        return lambda a, lo, hi: ((a == a) | True) & (a >= lo)
    return lambda a, lo, hi: ((a == a) | True) & (a >= lo) & (a <= hi)


def setitem(x, index, v):
    """`x[index] = v` on a copy of the array x (runtime.setitem)."""
    raise NotImplementedError("only inside compiled code")


@_overload(setitem)
def _setitem(x, index, v):
    if not (_is_array(x) and (_is_number(v) or _is_array(v))):
        _refuse("setitem", x, index, v)

    def impl(x, index, v):
        out = x.copy()
        out[index] = v
        return out
    return impl


def setitem_grads(g, x, index):
    """The adjoints of `setitem(x, ..., v)`, the update of a whole array (runtime.setitem_grads): zeros for the
    array before, all of `g` for v (`a[...] = ...`, as np.add.at of your code is written); other indices are
    refused (the NumPy code runs)."""
    raise NotImplementedError("only inside compiled code")


@_overload(setitem_grads)
def _setitem_grads(g, x, index):
    if not (_is_array(g) and _is_array(x) and isinstance(_plain(x).dtype, types.Float)
            and isinstance(index, types.EllipsisType)):
        _refuse("setitem_grads", g, x, index)

    def impl(g, x, index):
        return np.zeros_like(g), g.astype(x.dtype)  # (written into x: in its dtype, as NumPy's)
    return impl


# ----------------------------------------------------------------------------------------------- det

def det_adjoint(g, ans, a):
    """`g * det(a) * inv(a).T` for a matrix `a`, the cofactors where `a` is singular (runtime.det_adjoint)."""
    raise NotImplementedError("only inside compiled code")


@numba.njit
def _cofactors(a):
    """The cofactor matrix of `a` (runtime.linalg._cofactors), from its SVD: det(U) det(V^T) U diag(c) V^T, c_i
    the product of the singular values other than the i-th."""
    u, sv, vt = np.linalg.svd(a)
    n = sv.shape[0]
    c = np.empty(n, sv.dtype)
    for i in range(n):
        p = sv.dtype.type(1.0)
        for j in range(n):
            p *= sv[j] if j != i else sv.dtype.type(1.0)
        c[i] = p
    sign = np.linalg.det(u) * np.linalg.det(vt)
    return sign * (u * c.reshape((1, n))) @ vt


_DET_NOT_SQUARE = FALLBACK + "the determinant of a matrix that is not square"


@_overload(det_adjoint)
def _det_adjoint(g, ans, a):
    if not (_is_array(a) and _plain(a).ndim == 2 and isinstance(_plain(a).dtype, types.Float)
            and _is_number(g) and _is_number(ans)):
        _refuse("det_adjoint", g, ans, a)  # (a stack of matrices: numba's inv and det take one)

    def impl(g, ans, a):
        if a.shape[0] != a.shape[1]:
            raise ValueError(_DET_NOT_SQUARE)
        b = np.ascontiguousarray(a)
        if ans != 0:
            ok = True
            try:
                inv = np.linalg.inv(b)
            except Exception:  # singular to machine precision (NumPy's LinAlgError): the cofactors
                ok = False
                inv = b
            if ok:
                return g * ans * inv.T
        return g * _cofactors(b)
    return impl


# ---------------------------------------------------------------------------------------------- copy

def copy(x):
    """`x.copy()` of an array, or the number itself (runtime.copy; lists and dicts are not compiled)."""
    raise NotImplementedError("only inside compiled code")


@_overload(copy)
def _copy(x):
    if _is_array(x):
        return lambda x: np.copy(x)
    if _is_number(x):
        return lambda x: x
    _refuse("copy", x)




# ------------------------------------------------------------------------------- squeeze, var, std

def squeeze(x, axis):
    """`np.squeeze(x, axis)` for a constant int `axis` (that axis, of length 1, taken out), or `axis` None where
    `x` has one item (the number it holds: numba's 0-d arithmetic gives numbers). numba has no np.squeeze,
    and the rank of a squeeze over every axis depends on the shape; numba_lowering.squeezes writes the
    calls, with None only where `x` is a reduction over every axis with its dims kept. Another length
    raises the marked fallback (NumPy's error, from the NumPy code)."""
    return np.squeeze(x, axis=axis)


_SQUEEZE_ALL_OF_MANY = FALLBACK + "a squeeze over every axis of an array of more than one item"
_SQUEEZE_LONG_AXIS = FALLBACK + "a squeeze of an axis whose length is not 1"


@_overload(squeeze, prefer_literal=True)
def _squeeze(x, axis):
    if not _is_array(x):
        _refuse("squeeze", x, axis)
    nd = _plain(x).ndim
    if isinstance(axis, types.NoneType | types.Omitted):
        def one(x, axis):
            if x.size != 1:
                raise ValueError(_SQUEEZE_ALL_OF_MANY)
            return np.ascontiguousarray(x).reshape(1)[0]
        return one
    ax = _constant_axis(axis, nd)
    if ax is None or ax is False:
        _refuse("squeeze", x, axis)
    if nd == 1:
        return _squeeze(x, None)
    out_nd = nd - 1

    def impl(x, axis):
        if x.shape[ax] != 1:
            raise ValueError(_SQUEEZE_LONG_AXIS)
        dims = np.empty(out_nd, np.int64)
        j = 0
        for i in range(nd):
            if i != ax:
                dims[j] = x.shape[i]
                j += 1
        return np.ascontiguousarray(x).reshape(to_fixed_tuple(dims, out_nd))
    return impl


def variance(x, op, axis, keepdims, ddof):
    """`np.var(x, axis=axis, keepdims=keepdims, ddof=ddof)` (`op` "var"), or np.std's (`op` "std"): numba's take no
    axis, keepdims or ddof. `op`, `axis` (an int or None), `keepdims` must be constants of the code
    (numba_lowering.reductions writes the calls). NumPy's order: the mean, then the sum of the squared
    differences from it, divided by n - ddof (a division by 0 is NumPy's inf or NaN). `op` "norm" is
    `np.linalg.norm(x, axis=axis, keepdims=keepdims)`: the square root of the sum of the squares (ddof unread)."""
    if op == "norm":
        return np.linalg.norm(x, axis=axis, keepdims=keepdims)
    return getattr(np, op)(x, axis=axis, keepdims=keepdims, ddof=ddof)


@_overload(variance, prefer_literal=True)
def _variance(x, op, axis, keepdims, ddof):
    if not (_is_array(x) and isinstance(_plain(x).dtype, types.Float) and isinstance(op, types.StringLiteral)
            and op.literal_value in ("var", "std", "norm") and isinstance(keepdims, types.BooleanLiteral)
            and isinstance(_plain(ddof), types.Integer)):
        _refuse("variance", x, op, axis, keepdims, ddof)
    nd = _plain(x).ndim
    ax = _constant_axis(axis, nd)
    if ax is False:
        _refuse("variance", x, op, axis, keepdims, ddof)
    whole, keep, root = ax is None, keepdims.literal_value, op.literal_value != "var"
    spread = op.literal_value != "norm"  # (about the mean; a norm's squares are the entries')
    blocks = _blocks(nd, ax)
    out_nd = nd if keep else 0 if whole else nd - 1

    @numba.njit
    def fold(a, pre, n, post, ddof):
        out = np.empty((pre, post), a.dtype)
        zero = a.dtype.type(0.0)
        for i in range(pre):
            for k in range(post):
                mean = zero
                if spread:
                    total = zero
                    for j in range(n):
                        total += a[i, j, k]
                    mean = total / a.dtype.type(n) if n else a.dtype.type(np.nan)
                squares = zero
                for j in range(n):
                    d = a[i, j, k] - mean
                    squares += d * d
                count = max(n - ddof, 0)
                if not spread:
                    v = squares
                elif count:
                    v = squares / a.dtype.type(count)
                else:  # NumPy's x / 0: inf, or NaN for 0 / 0 (numba's `/` raises)
                    v = a.dtype.type(np.nan) if squares == 0 or squares != squares else a.dtype.type(np.inf)
                out[i, k] = np.sqrt(v) if root else v
        return out

    @numba.njit
    def folded(x, ddof):
        pre, n, post = blocks(x.shape)
        return fold(np.ascontiguousarray(x).reshape((pre, n, post)), pre, n, post, ddof)

    if out_nd == 0:
        return lambda x, op, axis, keepdims, ddof: folded(x, ddof)[0, 0]

    def impl(x, op, axis, keepdims, ddof):
        shape = x.shape
        dims = np.empty(out_nd, np.int64)
        j = 0
        for i in range(nd):
            if keep:
                dims[j] = 1 if whole or i == ax else shape[i]
                j += 1
            elif not whole and i != ax:
                dims[j] = shape[i]
                j += 1
        return folded(x, ddof).reshape(to_fixed_tuple(dims, out_nd))
    return impl


# ------------------------------------------------------------------- zero adjoints started as None

def add_zero(a, b):
    """`a + b` where one of them (an adjoint that starts as None, numba_lowering._zero_accumulators) may still
    be None, the zero adjoint: then the other plus 0.0 in its own dtype (NumPy's `0.0 + e`, -0.0 made 0.0)."""
    raise NotImplementedError("only inside compiled code")


def _plus_zero(e):
    raise NotImplementedError("only inside compiled code")


@_overload(_plus_zero)
def _plus_zero_impl(e):
    if _is_array(e) and isinstance(_plain(e).dtype, types.Float):
        zero = _plain(e).dtype(0.0)
        return lambda e: e + zero
    if _is_number(e) and isinstance(_plain(e), types.Float):
        return lambda e: e + 0.0
    _refuse("add_zero", e)


@_overload(add_zero, keep_optional=(0, 1))
def _add_zero(a, b):
    for maybe, other in ((a, b), (b, a)):
        if isinstance(maybe, types.NoneType) and not isinstance(other, types.NoneType | types.Optional):
            if maybe is a:
                return lambda a, b: _plus_zero(b)
            return lambda a, b: _plus_zero(a)
        if isinstance(maybe, types.Optional) and not isinstance(other, types.NoneType | types.Optional):
            if maybe is a:
                def left(a, b):
                    if a is None:
                        return _plus_zero(b)
                    return _some(a) + b
                return left

            def right(a, b):
                if b is None:
                    return _plus_zero(a)
                return a + _some(b)
            return right
    if not isinstance(a, types.NoneType | types.Optional) and not isinstance(b, types.NoneType | types.Optional):
        return lambda a, b: a + b
    _refuse("add_zero", a, b)  # (both may be the zero: a number or an array, not one type)


def present(x):
    """`x`, where x is an adjoint that starts as None (the zero adjoint) and is read where NumPy raises for the
    number 0 (a reduction over an axis): a None raises the marked fallback, and the NumPy code its error."""
    raise NotImplementedError("only inside compiled code")


_REDUCTION_OF_ZERO = FALLBACK + "a reduction over an axis of the zero adjoint"


@_overload(present, keep_optional=(0,))
def _present(x):
    if isinstance(x, types.NoneType):
        def none(x):
            raise ValueError(_REDUCTION_OF_ZERO)
        return none
    if isinstance(x, types.Optional):
        def maybe(x):
            if x is None:
                raise ValueError(_REDUCTION_OF_ZERO)
            return _some(x)
        return maybe
    return lambda x: x


# ------------------------------------------------------------------------------------ weak numbers

def weak(number, like):
    """`number` (a Python number in NumPy's code) as NumPy converts it for an operation with `like`: a float32 where
    `like` is a float32 array or number, else itself (numba_lowering.weak_numbers writes the calls)."""
    return number


@_overload(weak, keep_optional=(1,))  # (`like` is read for its type only: an Optional one is its inner type)
def _weak(number, like):
    if not _is_number(number):
        _refuse("weak", number, like)
    if types.unliteral(like) == types.none:
        # `like` is a list tape's placeholder, typed before what the tape holds is (`n = None` ... `n = L.pop()`):
        # no type yet, or numba unifies this call's int64 with the float32 it gives once `like` is Optional
        return None
    if _dtype_of(like) == types.float32:
        return lambda number, like: np.float32(number)
    if _narrow_int(_dtype_of(like)) and isinstance(_plain(number), types.Integer):
        return _in_dtype(_dtype_of(like))
    return lambda number, like: number


def _narrow_int(t):
    t = types.unliteral(t)
    return isinstance(t, types.Integer) and t != types.int64


_INT_OUT_OF_DTYPE = FALLBACK_CALL + "a Python int out of the range of the integer array it meets"


def _in_dtype(dtype):
    """`(number, like) -> number` converted to the integer `dtype`, as NumPy converts a Python int for an operation
    with an array or number of that dtype (NEP 50); one out of its range raises the fallback for this call (NumPy
    raises OverflowError, numba would wrap around)."""
    dtype = types.unliteral(dtype)
    info = np.iinfo(numpy_support.as_dtype(dtype))
    low, high, scalar = int(info.min), int(info.max), getattr(np, numpy_support.as_dtype(dtype).name)

    def impl(number, like):
        if number < low or number > high:
            raise ValueError(_INT_OUT_OF_DTYPE)
        return scalar(number)
    return impl


def weak_op(a, b, op, left):
    """`a op b` (`op` one of + - * / // % **, a constant), where `a` (`left`) or `b` is a Python number in NumPy's code,
    converted as `weak` converts it: NumPy's float32 arithmetic of a float32 operand and a Python number."""
    raise NotImplementedError("only inside compiled code")


_WEAK_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
             "//": lambda a, b: a // b, "%": lambda a, b: a % b, "**": lambda a, b: a ** b}


# inlined by numba, not only by LLVM (which is all the other helpers need): its integer operations are then in the
# typed code of the caller, which s2s/compiled.py's check of integer products reads
@_overload(weak_op, prefer_literal=True, inline="always")
def _weak_op(a, b, op, left):
    if not (isinstance(op, types.StringLiteral) and op.literal_value in _WEAK_OPS
            and isinstance(left, types.BooleanLiteral)):
        _refuse("weak_op", a, b, op, left)
    apply = numba.njit(_WEAK_OPS[op.literal_value], inline="always")
    number, other = (a, b) if left.literal_value else (b, a)
    if _is_number(number) and _narrow_int(_dtype_of(other)) and isinstance(_plain(number), types.Integer):
        convert = numba.njit(_in_dtype(_dtype_of(other)), inline="always")
        if left.literal_value:
            return lambda a, b, op, left: apply(convert(a, b), b)
        return lambda a, b, op, left: apply(a, convert(b, a))
    if not _is_number(number) or _dtype_of(other) != types.float32 or _dtype_of(number) == types.float32:
        return lambda a, b, op, left: apply(a, b)
    if left.literal_value:
        return lambda a, b, op, left: apply(np.float32(a), b)
    return lambda a, b, op, left: apply(a, np.float32(b))


def strong_op(a, b, op, a_numpy, b_numpy):
    """`a op b` of two operands neither of which is a Python number, as NumPy 2 computes it: a float32 operand with an
    integer array of 32 bits or more, or with a NumPy int of 32 bits or more (`a_numpy` / `b_numpy`, constants: the
    operand is a name that holds one), in float64, where numba computes float32 (weak_numbers writes the calls)."""
    raise NotImplementedError("only inside compiled code")


def _wide_int(t, numpy_number) -> bool:
    d = _dtype_of(t)
    return isinstance(d, types.Integer) and d.bitwidth >= 32 and (_is_array(t) or numpy_number)


@_overload(strong_op, prefer_literal=True, inline="always")  # (inlined: see weak_op)
def _strong_op(a, b, op, a_numpy, b_numpy):
    if not (isinstance(op, types.StringLiteral) and op.literal_value in _WEAK_OPS
            and isinstance(a_numpy, types.BooleanLiteral) and isinstance(b_numpy, types.BooleanLiteral)):
        _refuse("strong_op", a, b, op, a_numpy, b_numpy)
    apply = numba.njit(_WEAK_OPS[op.literal_value], inline="always")
    if _dtype_of(a) == types.float32 and _wide_int(b, b_numpy.literal_value):
        widen = _to_float64(a)
        return lambda a, b, op, a_numpy, b_numpy: apply(widen(a), b)
    if _dtype_of(b) == types.float32 and _wide_int(a, a_numpy.literal_value):
        widen = _to_float64(b)
        return lambda a, b, op, a_numpy, b_numpy: apply(a, widen(b))
    return lambda a, b, op, a_numpy, b_numpy: apply(a, b)


def _to_float64(t):
    """A compiled function that converts a float32 array (or number) of type `t` to float64."""
    return numba.njit((lambda x: x.astype(np.float64)) if _is_array(t) else (lambda x: np.float64(x)),
                      inline="always")


def matmul(a, b):
    """`a @ b`; for arrays of two dtypes, both converted to the one NumPy's promotion gives (numba's matmul takes one
    dtype), as NumPy's matmul converts them; stacks of matrices too (`batched_matmul`)."""
    return a @ b


# inlined by numba too: a one-line body, typed again where it is called, costs less than a dispatcher of its own
# per pair of argument types (time to first derivative of the mlp benchmarks)
@_overload(matmul, inline="always")
def _matmul(a, b):
    if _is_array(a) and _is_array(b) and _plain(a).dtype != _plain(b).dtype:
        common = numpy_support.from_dtype(np.result_type(numpy_support.as_dtype(_plain(a).dtype),
                                                         numpy_support.as_dtype(_plain(b).dtype)))
        return lambda a, b: batched_matmul(a.astype(common), b.astype(common))
    return lambda a, b: batched_matmul(a, b)


_STACKS_OF_OTHER_SHAPES = FALLBACK_CALL + "a product of stacks of matrices whose stack shapes differ (NumPy broadcasts)"


def batched_matmul(a, b):
    """`a @ b` of arrays of one dtype; where one has more than two axes, a stack of matrices: the products of the
    matrices of two stacks of one shape, or of each matrix of a stack and one matrix (numba's `@` takes vectors
    and matrices only; NumPy broadcasts other stack shapes: the NumPy code runs those)."""
    raise NotImplementedError("only inside compiled code")


@_overload(batched_matmul)
def _batched_matmul(a, b):
    if not (_is_array(a) and _is_array(b)) or max(_plain(a).ndim, _plain(b).ndim) <= 2:
        return lambda a, b: a @ b
    nda, ndb = _plain(a).ndim, _plain(b).ndim
    if not (nda >= 2 and ndb >= 2 and isinstance(_plain(a).dtype, types.Float)):
        _refuse("batched_matmul", a, b)
    if ndb == 2:  # each matrix of the stack times b: one product of the stack's rows
        def rows(a, b):
            out = np.ascontiguousarray(a).reshape((-1, a.shape[-1])) @ np.ascontiguousarray(b)
            return out.reshape(a.shape[:-1] + (b.shape[-1],))
        return rows
    if nda != ndb:
        _refuse("batched_matmul", a, b)

    def stacks(a, b):
        if a.shape[:-2] != b.shape[:-2] or a.shape[-1] != b.shape[-2]:
            raise ValueError(_STACKS_OF_OTHER_SHAPES)
        n, k, m = a.shape[-2], a.shape[-1], b.shape[-1]
        count = 1
        for d in a.shape[:-2]:
            count *= d
        left = np.ascontiguousarray(a).reshape((count, n, k))
        right = np.ascontiguousarray(b).reshape((count, k, m))
        out = np.empty((count, n, m), a.dtype)
        for i in range(count):
            out[i] = left[i] @ right[i]
        return out.reshape(a.shape[:-1] + (m,))
    return stacks


# ------------------------------------------------------------------------------------------- lists

def stack_list(items, axis=0):
    """np.stack(items, axis) (and np.array(items)) of a list of arrays of one shape, or of numbers, along a new axis
    (the lowering's `_s2s_stack_list`: numba's np.stack takes tuples only); `axis` an int constant."""
    raise NotImplementedError("only inside compiled code")


def _moved(ndim, source, target):
    """The axes order of np.transpose that moves axis `source` of an array of `ndim` axes to `target`."""
    order = [d for d in range(ndim) if d != source]
    order.insert(target, source)
    return tuple(order)


_STACK_NOTHING = FALLBACK_CALL + "np.stack or np.array of an empty list (np.stack raises; np.array's is float64)"
_STACK_SHAPES = FALLBACK_CALL + "np.stack of arrays of different shapes (NumPy raises)"


@_overload(stack_list, prefer_literal=True)
def _stack_list(items, axis=0):
    given = getattr(axis, "literal_value", 0 if isinstance(axis, types.Omitted | int) or axis is None else None)
    if isinstance(axis, types.Omitted):
        given = axis.value
    if not isinstance(items, types.List) or type(given) is not int:
        _refuse("stack_list", items, axis)
    item = items.dtype
    if _is_number(item):
        dtype = _dtype_of(item)
        if given not in (0, -1):
            _refuse("stack_list", items, axis)

        def numbers(items, axis=0):
            if len(items) == 0:  # (np.stack raises where np.array gives float64: the NumPy code tells them apart)
                raise ValueError(_STACK_NOTHING)
            out = np.empty(len(items), dtype)
            for k in range(len(items)):
                out[k] = items[k]
            return out
        return numbers
    if not _is_array(item):
        _refuse("stack_list", items)

    nd = item.ndim + 1
    if not -nd <= given < nd:
        _refuse("stack_list", items, axis)
    order = _moved(nd, 0, given % nd)  # (the new first axis moved to `axis`)
    first_axis = given % nd == 0

    def arrays(items, axis=0):
        if len(items) == 0:
            raise ValueError(_STACK_NOTHING)
        first = items[0]
        out = np.empty((len(items),) + first.shape, first.dtype)
        for k in range(len(items)):
            if items[k].shape != first.shape:
                raise ValueError(_STACK_SHAPES)
            out[k] = items[k]
        if first_axis:
            return out
        return np.ascontiguousarray(np.transpose(out, order))
    return arrays


def concat_list(items, axis):
    """np.concatenate(items, axis) of a list of arrays along a constant axis (the lowering's `_s2s_concat_list`:
    numba's concatenate takes tuples only)."""
    raise NotImplementedError("only inside compiled code")


_CONCAT_SHAPES = FALLBACK_CALL + "np.concatenate of an empty list, or of arrays whose other axes differ (NumPy raises)"


@_overload(concat_list, prefer_literal=True)
def _concat_list(items, axis):
    if not (isinstance(items, types.List) and _is_array(items.dtype) and isinstance(axis, types.IntegerLiteral)):
        _refuse("concat_list", items, axis)
    nd = items.dtype.ndim
    if not -nd <= axis.literal_value < nd:
        _refuse("concat_list", items, axis)
    k = axis.literal_value % nd
    first_axis, back = _moved(nd, k, 0), _moved(nd, 0, k)
    dtype = items.dtype.dtype

    def impl(items, axis):
        if len(items) == 0:
            raise ValueError(_CONCAT_SHAPES)
        parts = [np.ascontiguousarray(np.transpose(item, first_axis)) for item in items]
        total = 0
        for p in parts:
            if p.shape[1:] != parts[0].shape[1:]:
                raise ValueError(_CONCAT_SHAPES)
            total += p.shape[0]
        out = np.empty((total,) + parts[0].shape[1:], dtype)
        start = 0
        for p in parts:
            out[start:start + p.shape[0]] = p
            start += p.shape[0]
        return np.ascontiguousarray(np.transpose(out, back))
    return impl


def grad_concatenate(g, arrays, axis):
    """Adjoint of np.concatenate of a list along a constant axis (runtime.grad_concatenate): `g` cut back into
    pieces of the items' lengths along it, one new array each."""
    raise NotImplementedError("only inside compiled code")


_CONCAT_ADJOINT = FALLBACK + "np.concatenate's adjoint of another length than its pieces'"


@_overload(grad_concatenate, prefer_literal=True)
def _grad_concatenate(g, arrays, axis):
    if not (_is_array(g) and isinstance(arrays, types.List) and _is_array(arrays.dtype)
            and isinstance(axis, types.IntegerLiteral)):
        _refuse("grad_concatenate", g, arrays, axis)
    nd = _plain(g).ndim
    if not -nd <= axis.literal_value < nd:
        _refuse("grad_concatenate", g, arrays, axis)
    k = axis.literal_value % nd
    first_axis, back = _moved(nd, k, 0), _moved(nd, 0, k)

    def impl(g, arrays, axis):
        h = np.ascontiguousarray(np.transpose(g, first_axis))
        out = []
        start = 0
        for a in arrays:
            n = a.shape[k]
            out.append(np.ascontiguousarray(np.transpose(h[start:start + n], back)))
            start += n
        if start != h.shape[0]:
            raise ValueError(_CONCAT_ADJOINT)
        return out
    return impl


def grad_stack(g, arrays, axis):
    """Adjoint of np.stack along an axis (runtime.grad_stack): the slices of `g` along it, one new array each."""
    raise NotImplementedError("only inside compiled code")


_STACK_ADJOINT = FALLBACK + "np.stack's adjoint along another axis than 0, or of another length"


@_overload(grad_stack, prefer_literal=True)
def _grad_stack(g, arrays, axis):
    if not (_is_array(g) and isinstance(arrays, types.List) and isinstance(_plain(axis), types.Integer)):
        _refuse("grad_stack", g, arrays, axis)
    if _plain(g).ndim == 1:
        def numbers(g, arrays, axis):
            if (axis != 0 and axis != -1) or g.shape[0] != len(arrays):
                raise ValueError(_STACK_ADJOINT)
            return [g[k] for k in range(g.shape[0])]
        return numbers

    nd = _plain(g).ndim
    if isinstance(axis, types.IntegerLiteral) and axis.literal_value % nd != 0:
        order = _moved(nd, axis.literal_value % nd, 0)  # (the stacked axis first: its rows are the items)

        def along(g, arrays, axis):
            h = np.ascontiguousarray(np.transpose(g, order))
            if h.shape[0] != len(arrays) or h.shape[0] == 0:
                raise ValueError(_STACK_ADJOINT)
            out = [h[0].copy()]
            for k in range(1, h.shape[0]):
                out.append(h[k].copy())
            return out
        return along

    def rows(g, arrays, axis):
        if axis % nd != 0 or g.shape[0] != len(arrays) or g.shape[0] == 0:
            raise ValueError(_STACK_ADJOINT)
        out = [np.ascontiguousarray(g[0]).copy()]
        for k in range(1, g.shape[0]):
            out.append(np.ascontiguousarray(g[k]).copy())
        return out
    return rows


def array_grad(g, obj):
    """Adjoint of np.array(obj) of a list (runtime.array_grad): g's items, one per item of the list (a number
    each of a 1-d g, a new array each of g's rows otherwise)."""
    raise NotImplementedError("only inside compiled code")


@_overload(array_grad)
def _array_grad(g, obj):
    # (np.stack's adjoint along axis 0: numbers of a 1-d g for a list of numbers, rows for a list of arrays)
    if not (_is_array(g) and isinstance(obj, types.List)
            and (_is_number(obj.dtype) and _plain(g).ndim == 1
                 or _is_array(obj.dtype) and _plain(g).ndim == _plain(obj.dtype).ndim + 1)):
        _refuse("array_grad", g, obj)
    return lambda g, obj: grad_stack(g, obj, 0)


def append_grads(g):
    """Adjoints of `L.append(v)` (runtime.append_grads): (a new list of all but the last item, the last)."""
    raise NotImplementedError("only inside compiled code")


def append_grads_owned(g):
    """`append_grads` of a list adjoint no other name holds (runtime.append_grads_owned): the last popped."""
    raise NotImplementedError("only inside compiled code")


@_overload(append_grads)
def _append_grads(g):
    if not isinstance(g, types.List):
        _refuse("append_grads", g)
    return lambda g: (g[:-1], g[-1])


@_overload(append_grads_owned)
def _append_grads_owned(g):
    if not isinstance(g, types.List):
        _refuse("append_grads_owned", g)

    def impl(g):
        last = g.pop()
        return g, last
    return impl


# the runtime helpers generated code calls by these names (`s2s.grad_where`), and the lowering's
HELPERS = {f.__name__: f for f in (grad_squeeze, grad_where, grad_var, det_adjoint, copy, grad_stack, array_grad,
                                   append_grads, append_grads_owned, grad_diff, grad_convolve, safe_div,
                                   clip_mask, setitem, setitem_grads, grad_cumprod, grad_cumsum, grad_concatenate)}
_WRITTEN = (cumulative, diff_along, concat_list, squeeze, variance, add_zero, present, weak, weak_op, strong_op, matmul, stack_list)


def _register():
    """This module's helpers as names of compiled_helpers, the module compiled code calls `s2s` (and in its
    HELPERS, those generated code calls)."""
    from s2s.runtime import compiled_helpers
    compiled_helpers.HELPERS.update(HELPERS)
    for f in (*HELPERS.values(), *_WRITTEN):
        setattr(compiled_helpers, f.__name__, f)
        if f.__name__ not in compiled_helpers.__all__:
            compiled_helpers.__all__.append(f.__name__)


_register()
