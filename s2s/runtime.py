"""The small runtime that generated derivative code calls.

Everything here works on any array type that follows NumPy's dispatch
protocols; nothing converts to a concrete NumPy array unless it must.
"""

from __future__ import annotations

import math

import numpy as np

ZERO = 0.0  # the adjoint of a value no contribution has reached yet


# ---- arrays of any library ------------------------------------------------
# Generated code and these helpers must work unchanged on NumPy, Dask and CuPy arrays (anything
# with NumPy's __array_function__ / __array_ufunc__ protocols). Rules for everything below:
# call np.* functions on the values (they dispatch to the value's library), never np.asarray /
# np.array / float() / .item() on an array value (a Dask array would be computed, a CuPy array
# copied to the host), allocate with np.zeros_like / np.ones_like (they dispatch) rather than
# np.zeros(shape), and write into an array only when it is a fresh one made here.

def is_array(x) -> bool:
    """True for an array of any library (NumPy, Dask, CuPy...) and NumPy scalars."""
    return hasattr(x, "shape") and hasattr(x, "dtype") and hasattr(x, "ndim")


def is_foreign(x) -> bool:
    """True for an array that is not NumPy's (Dask, CuPy...): it must stay in its own library."""
    return is_array(x) and not isinstance(x, np.ndarray | np.generic)


def _arr(x):
    """An array for `x`: arrays of any library and Python numbers pass unchanged, lists become NumPy arrays."""
    if is_array(x) or isinstance(x, int | float | complex):
        return x
    return np.asarray(x)


def _as_array(x):
    """An array for `x`: arrays of any library pass unchanged, anything else becomes a NumPy array."""
    return x if is_array(x) else np.asarray(x)


def _float_dtype(*xs):
    """The float (or complex) dtype a gradient of these values lives in."""
    return np.result_type(*[x.dtype if is_array(x) else x for x in xs], 1.0)


def _in_library_of(v, *xs):
    """`v` moved into the array library of the first foreign array among `xs`, when `v` is a NumPy array."""
    ref = next((x for x in xs if is_foreign(x)), None)
    if ref is not None and isinstance(v, np.ndarray):
        return np.asarray(v, like=ref)
    return v


def _zeros_like(x, dtype, *others):
    """Fresh zeros shaped like `x`, in the library of `x`, or else of the first foreign array in `others`."""
    if is_foreign(x):
        return np.zeros_like(x, dtype=dtype)
    return _in_library_of(np.zeros(shape_of(x), dtype=dtype), *others)


def broadcast_to_like(g, x):
    """`g` broadcast to the shape of `x`, as an array of x's library.

    For NumPy this is np.broadcast_to (a view). For other libraries it is a product with
    np.ones_like(x), so that the result is laid out like `x` (a Dask result gets x's chunks,
    instead of one huge broadcast chunk).
    """
    xs = shape_of(x)
    if not is_foreign(x):
        return np.broadcast_to(g, xs)
    if shape_of(g) == xs and is_foreign(g):
        return g
    if not is_array(g):  # a Python number: filled in x's layout, in x's precision where it fits
        return np.full_like(x, g, dtype=np.result_type(x.dtype, g))
    return _in_library_of(g, x) * np.ones_like(x, dtype=g.dtype)


def shape_of(x):
    """Shape of an array or scalar, () for Python numbers."""
    s = getattr(x, "shape", None)
    return () if s is None else s


def unbroadcast(g, x):
    """Sum the gradient `g` down to the shape of `x` (undo NumPy broadcasting)."""
    if is_zero(g):  # the zero adjoint stands for zeros of any shape
        return g
    if isinstance(x, list | tuple):  # NumPy took the list for an array of its shape
        if isinstance(g, list | tuple) and len(g) != len(x):
            _refuse_structure(g, x)
        return _sum_to_shape(g, _sequence_shape(x), x)
    gs = getattr(g, "shape", ())
    xs = getattr(x, "shape", ())
    if gs == xs:
        return g
    if xs == () and not hasattr(x, "shape"):
        return np.sum(g) if gs != () else g
    extra = len(gs) - len(xs)
    if extra > 0:
        g = np.sum(g, axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(xs) if n == 1 and g.shape[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    if getattr(g, "shape", ()) != xs:
        g = broadcast_to_like(g, x)
    return g


def _sequence_shape(x):
    """The shape NumPy gives a list or tuple, None for one it cannot make an array of (ragged)."""
    try:
        return np.shape(x)
    except ValueError:
        return None


def _sum_to_shape(g, xs, x):
    """`g` summed over the axes broadcasting added or stretched to reach shape `xs`."""
    if xs is None or getattr(g, "shape", ()) == xs or isinstance(g, list | tuple):
        return g
    gs = np.shape(g)
    extra = len(gs) - len(xs)
    if extra > 0:
        g = np.sum(g, axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(xs) if n == 1 and np.shape(g)[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return np.broadcast_to(g, xs) if np.shape(g) != xs else g


def is_zero(g) -> bool:
    """True for the symbolic zero adjoint."""
    return g is ZERO or (type(g) is float and g == 0.0)


def add(a, b):
    """Accumulate two adjoints; understands zeros, lists, tuples and dicts."""
    if is_zero(a):
        return b
    if is_zero(b):
        return a
    if isinstance(a, list | tuple):
        out = [add(x, y) for x, y in zip(a, b)]
        return tuple(out) if isinstance(a, tuple) else out
    if isinstance(a, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = add(out.get(k, ZERO), v)
        return out
    return a + b


def zeros_like_value(x):
    """A zero adjoint structured like the value `x`."""
    if isinstance(x, list | tuple):
        return [zeros_like_value(v) for v in x]
    if isinstance(x, dict):
        return {k: zeros_like_value(v) for k, v in x.items()}
    return ZERO


def finish(g, x):
    """Turn an accumulated adjoint into a gradient shaped like the argument `x`."""
    if type(g) is float and (type(x) is float or type(x) is int):  # the common scalar case, first and fast
        return g
    if isinstance(x, list | tuple):
        if is_zero(g):
            g = [ZERO] * len(x)
        elif isinstance(g, list | tuple) and len(g) != len(x):
            _refuse_structure(g, x)
        out = [finish(gi, xi) for gi, xi in zip(g, x)]
        return tuple(out) if isinstance(x, tuple) else out
    if isinstance(x, dict):
        g = {} if is_zero(g) else g
        return {k: finish(g.get(k, ZERO), v) for k, v in x.items()}
    if getattr(g, "dtype", None) is not None and g.dtype.kind == "c" or type(g) is complex:
        _refuse_complex()
    if is_array(x) and (x.shape != () or is_foreign(x)):
        dtype = _float_dtype(x)
        if is_zero(g):
            return np.zeros_like(x, dtype=dtype)
        if getattr(g, "shape", None) == x.shape:
            flags = getattr(g, "flags", None)  # a broadcast view (the gradient of a sum) is read-only: copy it
            return g if flags is None or getattr(flags, "writeable", True) else g.copy()
        if is_foreign(x) or is_foreign(g):  # stays lazy (Dask) / on the device (CuPy)
            return _in_library_of(g, x) + np.zeros_like(x, dtype=dtype)
        return np.broadcast_to(g, x.shape) + np.zeros_like(x, dtype=dtype)
    if isinstance(x, np.ndarray):  # 0-d array
        return np.asarray(g, dtype=_float_dtype(x)) if not is_foreign(g) else g.astype(_float_dtype(x))
    if is_foreign(g):  # a number argument whose gradient is a lazy / device scalar: leave it so
        return g
    return float(g) if isinstance(x, int | float) and np.ndim(g) == 0 and not isinstance(g, complex) else g


def _refuse_structure(g, x):
    from s2s.errors import NoDerivativeRuleError
    raise NoDerivativeRuleError(
        f"s2s made an adjoint of {len(g)} parts for a {type(x).__name__} of {len(x)}: a list or tuple was "
        "concatenated or repeated where s2s took + or * for arithmetic (an integer argument differentiated as a "
        "repetition count?)", hint="differentiate with respect to float arguments only, or build the list with "
                                   "append")


def _refuse_complex():
    from s2s.errors import NoDerivativeRuleError
    raise NoDerivativeRuleError(
        "s2s does not differentiate through complex numbers: a complex value came between the arguments and "
        "the output (a complex constant such as 1j, np.sqrt or np.fft of a complex array, a complex argument), "
        "and s2s has no complex derivative convention whose rules it can prove right",
        hint="compute with real arrays: carry the real and imaginary parts as two float arrays "
             "(re * re - im * im for the real part of a product)")


# ---- indexing -------------------------------------------------------------

def getitem_grad(g, x, index):
    """Adjoint of `x[index]`: `g` placed into a zero structure shaped like `x`."""
    if isinstance(x, list | tuple):
        out = [ZERO] * len(x)
        out[index] = g
        return out
    if isinstance(x, dict):
        return {index: g}
    if is_foreign(x) or is_foreign(g):
        return _scatter_add(g, x, index)
    out = np.zeros(shape_of(x), dtype=np.result_type(x, g, 1.0))
    np.add.at(out, index, g)
    return out


def _is_basic(i) -> bool:
    return i is None or i is Ellipsis or isinstance(i, int | np.integer | slice)


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


def part(g, index):
    """Read one part of a structured adjoint; a zero adjoint has zero parts."""
    if is_zero(g):
        return ZERO
    if isinstance(g, dict):  # a dict's adjoint holds only the keys something reached
        return g.get(index, ZERO)
    if not isinstance(g, list | tuple | dict) and np.ndim(g) == 0:
        from s2s.errors import NonScalarOutputError
        raise NonScalarOutputError(
            "grad needs a function with a scalar output, but this function returns a tuple, list or dict.",
            hint="use s2s.vjp(f, ...) with a cotangent of the same structure, or return a single number")
    return g[index]


def setitem(x, index, v):
    """Functional `x[index] = v` on a copy, used where the original is still needed."""
    if isinstance(x, list):
        out = list(x)
    elif isinstance(x, dict):
        out = dict(x)
    else:
        out = x.copy()
        if (getattr(v, "dtype", None) is not None and v.dtype.kind == "c" or isinstance(v, complex)) and \
                getattr(out, "dtype", None) is not None and out.dtype.kind != "c":
            _refuse_complex()  # NumPy would drop the imaginary part (a tangent's, too) with only a warning
    out[index] = v
    return out


def setitem_grads(g, x, index):
    """Adjoints of `y = setitem(x, index, v)`: (adjoint for x, adjoint for v).

    Where an index repeats (`y[[0, 0]] = v`) NumPy keeps one write per element, so only that
    write's part of v gets the element's adjoint; the overwritten ones get zero.
    """
    if is_zero(g):
        return ZERO, ZERO
    if isinstance(g, list | dict):
        gv = g[index]
        gx = list(g) if isinstance(g, list) else dict(g)
        gx[index] = ZERO
        return gx, gv
    gv = g[index]
    gx = g.copy()
    gx[index] = 0
    if _index_repeats(index) and not isinstance(x, list | dict):
        kept = _winners(x, index)
        if kept is not None:
            gv = gv * _in_library_of(kept, gv)
    return gx, gv


def append_grads(g):
    """Adjoints of `L.append(v)`: (adjoint of the list before, adjoint of v)."""
    if is_zero(g):
        return ZERO, ZERO
    return list(g[:-1]), g[-1]


# ---- reductions and shape helpers used by rule templates -----------------

def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % ndim for a in axis)


def expand_reduced(g, x, axis, keepdims):
    """Broadcast the gradient of a reduction back to the reduced array's shape."""
    if isinstance(x, list | tuple) and _sequence_shape(x) is not None:  # NumPy reduced it as an array
        x = np.zeros(_sequence_shape(x))
    xs = shape_of(x)
    if not keepdims and xs != () and is_array(g):  # (a Python number broadcasts as it is)
        for a in sorted(_axes(axis, len(xs))):
            g = np.expand_dims(g, a)
    return broadcast_to_like(g, x)


def reduced_size(x, axis):
    """Number of elements a reduction over `axis` combines."""
    xs = shape_of(x) if not isinstance(x, list | tuple) else (_sequence_shape(x) or ())
    n = 1
    for a in _axes(axis, len(xs)):
        n *= xs[a]
    return n


def grad_extreme(g, ans, x, axis, keepdims):
    """Adjoint of max/min: split `g` evenly between the tied extreme entries."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    a = expand_reduced(ans, x, axis, keepdims)
    mask = x == a
    count = np.sum(mask, axis=axis, keepdims=True)
    return expand_reduced(g, x, axis, keepdims) * mask / count


def grad_prod(g, ans, x, axis, keepdims):
    """Adjoint of np.prod, exact also where entries are zero."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    x = _as_array(x)
    if axis is None:
        flat = x.reshape(-1)
        return (g * _prod_others(flat, 0)).reshape(x.shape)
    ax = _axes(axis, x.ndim)
    moved = np.moveaxis(x, ax, tuple(range(len(ax))))
    flat = moved.reshape((-1,) + moved.shape[len(ax):])
    others = _prod_others(flat, 0).reshape(moved.shape)
    others = np.moveaxis(others, tuple(range(len(ax))), ax)
    return expand_reduced(g, x, axis, keepdims) * others


def _prod_others(x, axis):
    """Product of all other entries along `axis` (exclusive cumulative products)."""
    x = np.moveaxis(x, axis, 0)
    ones = np.ones_like(x[:1])
    left = np.cumprod(np.concatenate([ones, x[:-1]]), axis=0)
    right = np.cumprod(np.concatenate([ones, x[::-1][:-1]]), axis=0)[::-1]
    return np.moveaxis(left * right, 0, axis)


def grad_var(g, x, axis, ddof, keepdims):
    """Adjoint of np.var."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    n = reduced_size(x, axis)
    mean = np.mean(x, axis=axis, keepdims=True)
    return expand_reduced(g, x, axis, keepdims) * 2.0 * (x - mean) / (n - ddof)


def grad_std(g, ans, x, axis, ddof, keepdims):
    """Adjoint of np.std.

    Where the standard deviation is 0 (all entries equal; always so over a length-1 axis) it is
    a norm at its minimum: the derivative does not exist (autograd and JAX give nan) except over
    a length-1 axis, where std is identically 0 and its derivative is 0. s2s gives 0 at every such
    point, the minimum-norm subgradient, as for np.abs and np.linalg.norm at 0.
    """
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    return grad_var(safe_div(g, 2.0 * ans), x, axis, ddof, keepdims)


def grad_cumsum(g, x, axis):
    """Adjoint of np.cumsum: reversed cumulative sum."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    if axis is None:
        return np.cumsum(np.ravel(g)[::-1])[::-1].reshape(shape_of(x))
    return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)


def grad_norm(g, ans, x, ord, axis, keepdims):
    """Adjoint of np.linalg.norm: vector norms with ord None, 2, 1, inf and -inf (0 where the norm has
    no derivative: at 0, and split evenly between tied entries for inf), the Frobenius norm of matrices.
    Other orders (matrix 1-, 2-, inf- and nuclear norms, vector p-norms) are refused."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    matrix = (axis is None and np.ndim(x) == 2) or (isinstance(axis, tuple | list) and len(axis) == 2)
    if ord in (None, "fro") or (ord == 2 and not matrix):
        n = expand_reduced(ans, x, axis, keepdims)
        return expand_reduced(g, x, axis, keepdims) * x / np.where(n == 0, 1, n)
    if not matrix and ord == 1:
        return expand_reduced(g, x, axis, keepdims) * np.sign(x)
    if not matrix and ord in (np.inf, -np.inf):
        mag = np.abs(x)
        hit = mag == expand_reduced(ans, x, axis, keepdims)
        count = np.sum(hit, axis=axis, keepdims=True)
        return expand_reduced(g, x, axis, keepdims) * np.sign(x) * hit / count
    from s2s.errors import NoDerivativeRuleError
    raise NoDerivativeRuleError(
        f"s2s has no derivative of np.linalg.norm with ord={ord!r} for {'matrices' if matrix else 'vectors'}",
        hint="use ord=None (2-norm of vectors, Frobenius norm of matrices), ord=1 or ord=np.inf for vectors, or "
             "write the norm out (np.sum(np.abs(x) ** p) ** (1 / p))")


def grad_matmul_a(g, a, b):
    """Adjoint of a @ b for a, with vectors and batches."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    a, b, g = _arr(a), _arr(b), _arr(g)
    if np.ndim(b) == 1:
        if np.ndim(a) == 1:
            return g * b
        return unbroadcast(np.expand_dims(g, -1) * b, a)
    if np.ndim(a) == 1:
        if np.ndim(g) == 1:
            return b @ g
        return unbroadcast(np.matmul(b, np.expand_dims(g, -1))[..., 0] if np.ndim(g) > 0 else b @ g, a)
    return unbroadcast(np.matmul(g, np.swapaxes(b, -1, -2)), a)


def grad_matmul_b(g, a, b):
    """Adjoint of a @ b for b."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    a, b, g = _arr(a), _arr(b), _arr(g)
    if np.ndim(a) == 1:
        if np.ndim(b) == 1:
            return g * a
        return unbroadcast(np.expand_dims(a, -1) * np.expand_dims(g, -2), b)
    if np.ndim(b) == 1:
        return np.tensordot(g, a, axes=(tuple(range(np.ndim(g))), tuple(range(np.ndim(g)))))
    return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g), b)


def grad_dot_a(g, a, b):
    """Adjoint of np.dot(a, b) for a."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    a, b = _arr(a), _arr(b)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    if np.ndim(b) == 1 or np.ndim(a) == 1 and np.ndim(b) == 2:
        return grad_matmul_a(g, a, b)
    return np.tensordot(g, b, axes=(tuple(range(a.ndim - 1, np.ndim(g))), tuple(i for i in range(b.ndim) if i != b.ndim - 2)))


def grad_dot_b(g, a, b):
    """Adjoint of np.dot(a, b) for b."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    a, b = _arr(a), _arr(b)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b)
    if np.ndim(b) <= 2:
        return grad_matmul_b(g, a, b)
    ga = np.tensordot(a, g, axes=(tuple(range(a.ndim - 1)), tuple(range(a.ndim - 1))))
    return np.moveaxis(ga, 0, -2) if ga.ndim > 1 else ga


def grad_tensordot(g, a, b, axes, which):
    """Adjoint of np.tensordot for operand 0 (a) or 1 (b)."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    a, b = _as_array(a), _as_array(b)
    if not is_array(g):
        g = np.asarray(g, like=a if is_foreign(a) else b) if is_foreign(a) or is_foreign(b) else np.asarray(g)
    if isinstance(axes, int):
        ax_a = list(range(a.ndim - axes, a.ndim))
        ax_b = list(range(axes))
    else:
        ax_a, ax_b = [list(np.atleast_1d(v)) for v in axes]
        ax_a = [i % a.ndim for i in ax_a]
        ax_b = [i % b.ndim for i in ax_b]
    free_a = [i for i in range(a.ndim) if i not in ax_a]
    free_b = [i for i in range(b.ndim) if i not in ax_b]
    # tensordot leaves the uncontracted axes in increasing order, so the contracted
    # axes come out sorted by the *other* operand's axis numbers
    if which == 0:
        gb = np.tensordot(g, b, axes=(list(range(len(free_a), g.ndim)), free_b))
        order = free_a + [ax_a[ax_b.index(j)] for j in sorted(ax_b)]
        return np.transpose(gb, tuple(int(i) for i in np.argsort(order)))
    ga = np.tensordot(a, g, axes=(free_a, list(range(len(free_a)))))
    order = [ax_b[ax_a.index(i)] for i in sorted(ax_a)] + free_b
    return np.transpose(ga, tuple(int(i) for i in np.argsort(order)))


def grad_einsum(g, subscripts, operands, which):
    """Adjoint of np.einsum for the operand at position `which` (kept for old generated code: the rule
    now calls grad_einsum_parts, which also reads the sublist form, '...' and repeated indices)."""
    return grad_einsum_parts(g, [subscripts] + list(operands))[which + 1]


def grad_concatenate(g, arrays, axis):
    """Adjoints of np.concatenate: split `g` back into the pieces."""
    if is_zero(g):
        return [ZERO] * len(arrays)
    if axis is None:
        flat = np.ravel(g)
        return [np.reshape(p, np.shape(a)) for p, a in zip(_pieces(flat, [math.prod(np.shape(a)) for a in arrays], 0), arrays)]
    return _pieces(g, [np.shape(a)[axis] for a in arrays], axis)


def _pieces(g, sizes, axis):
    """`g` cut along `axis` into consecutive pieces of the given sizes (np.split by slicing)."""
    axis = axis % np.ndim(g)
    out, start = [], 0
    for n in sizes:
        out.append(g[(slice(None),) * axis + (slice(start, start + n),)])
        start += n
    return out


def grad_stack(g, arrays, axis):
    """Adjoints of np.stack: unstack `g`."""
    if is_zero(g):
        return [ZERO] * len(arrays)
    return [np.take(g, i, axis=axis) for i in range(len(arrays))]


def grad_transpose(g, axes):
    """Adjoint of np.transpose."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    if axes is None:
        return np.transpose(g)
    return np.transpose(g, tuple(int(i) for i in np.argsort([a % np.ndim(g) for a in axes])))


def grad_expand_dims(g, axis):
    """Adjoint of np.expand_dims."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    return np.squeeze(g, axis=axis)


def grad_squeeze(g, x, axis):
    """Adjoint of np.squeeze."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    return np.reshape(g, shape_of(x))


def grad_builtin_sum(g, x):
    """Adjoint of the builtin `sum` over a list, tuple or array."""
    if isinstance(x, list | tuple):
        return [unbroadcast(g, v) for v in x]
    return g * np.ones_like(_arr(x), dtype=_float_dtype(g))


def grad_select(g, chosen, args):
    """Adjoints of builtin max/min: `g` goes to the first argument that was chosen."""
    if len(args) == 1:  # max(iterable)
        items = list(args[0])
        return [_select(g, chosen, items)]
    return _select(g, chosen, args)


def _select(g, chosen, items):
    out = [ZERO] * len(items)
    for i, v in enumerate(items):
        if v is chosen or (np.ndim(v) == 0 and v == chosen):
            out[i] = g
            break
    return out


def grad_where(g, cond, x, take_x):
    """Adjoint of np.where(cond, x, y) for x (take_x) or y."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    mask = cond if take_x else np.logical_not(cond)
    return unbroadcast(np.where(mask, g, 0.0), x)


def grad_clip(g, x, lo, hi):
    """Adjoint of np.clip for x."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    return unbroadcast(g * clip_mask(x, lo, hi), x)


def grad_det(g, ans, a):
    """Adjoint of np.linalg.det."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    scale = np.expand_dims(np.expand_dims(g, -1), -1)
    if np.all(ans != 0):
        try:
            return scale * np.expand_dims(np.expand_dims(ans, -1), -1) * np.swapaxes(np.linalg.inv(a), -1, -2)
        except np.linalg.LinAlgError:
            pass
    return scale * _cofactors(a)  # singular: det * inv(a).T has no inverse to use, but the cofactors exist


def _cofactors(a):
    """The cofactor matrix of each matrix in `a` (the derivative of det), also where `a` is singular.

    With a = U diag(s) V^T, the cofactors are det(U) det(V) U diag(c) V^T, c_i the product of the
    singular values other than s_i.
    """
    u, sv, vt = np.linalg.svd(a)
    n = sv.shape[-1]
    others = np.where(np.eye(n, dtype=bool), 1.0, sv[..., None, :])
    c = np.prod(others, axis=-1)
    sign = np.linalg.det(u) * np.linalg.det(vt)
    return np.expand_dims(np.expand_dims(sign, -1), -1) * (u * c[..., None, :]) @ vt


def grad_solve_b(g, a, b):
    """Adjoint of np.linalg.solve for b."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    return np.linalg.solve(np.swapaxes(a, -1, -2), g)


def grad_solve_a(g, ans, a, b):
    """Adjoint of np.linalg.solve for a."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    gb = grad_solve_b(g, a, b)
    if np.ndim(ans) == np.ndim(a) - 1:
        return -np.expand_dims(gb, -1) * np.expand_dims(ans, -2)
    return -np.matmul(gb, np.swapaxes(ans, -1, -2))


def grad_trace(g, x, offset, axis1, axis2):
    """Adjoint of np.trace."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    x = _as_array(x)
    eye = _in_library_of(np.eye(x.shape[axis1], x.shape[axis2], k=offset), x, g)
    eye = np.expand_dims(eye, tuple(range(2, x.ndim)))
    eye = np.moveaxis(eye, (0, 1), (axis1, axis2))
    return eye * np.expand_dims(np.expand_dims(g, axis1 if axis1 < axis2 else axis1 - 1), axis1) if x.ndim > 2 else eye * g


def log_scale(base):
    """The factor `log(base)` of a logarithm's derivative; 1 for the natural log (base None)."""
    return 1.0 if base is None else np.log(base)


def balanced_eq(x, ans, other):
    """Mask for max/min adjoints: 1 where x won, 0.5 where it tied with `other`."""
    return (x == ans) / (1.0 + (x == other))


def clip_mask(a, lo, hi):
    """1 where np.clip passed `a` through, 0 where it clipped."""
    a = _arr(a)
    inside = None
    if lo is not None:
        inside = a >= lo
    if hi is not None:
        inside = a <= hi if inside is None else inside & (a <= hi)
    if inside is None:
        return np.ones_like(a, dtype=bool)
    return inside if np.shape(inside) == np.shape(a) else inside & np.ones_like(a, dtype=bool)


def as_array_like(x, dtype=None):
    """np.asarray for tangents, keeping zeros symbolic."""
    if is_zero(x):
        return x
    if is_foreign(x):
        return x if dtype is None or x.dtype == np.dtype(dtype) else x.astype(dtype)
    return np.asarray(x, dtype=dtype)


def array_grad(g, obj):
    """Adjoint of np.array(obj): nested lists get nested adjoints."""
    if isinstance(obj, list | tuple):
        return [array_grad(g[i], o) for i, o in enumerate(obj)]
    return g


def keep(ans, x, axis, keepdims):
    """A reduction's result with the reduced axes kept (for forward-mode templates)."""
    if keepdims or np.ndim(x) == 0:
        return ans
    return np.expand_dims(ans, _axes(axis, np.ndim(x)))


def dense_list(tangents, values):
    """Replace zero tangents in a list by explicit zero arrays."""
    if is_zero(tangents):
        tangents = [ZERO] * len(values)
    return [np.zeros_like(v, dtype=float) if is_zero(t) else t for t, v in zip(tangents, values)]


def grad_tile(g, a, reps):
    """Adjoint of np.tile."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    a_shape = shape_of(a)
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    nd = max(len(a_shape), len(reps))
    a_full = (1,) * (nd - len(a_shape)) + tuple(a_shape)
    reps = (1,) * (nd - len(reps)) + reps
    split = []
    for r, n in zip(reps, a_full):
        split += [r, n]
    g = np.reshape(g, split)
    g = np.sum(g, axis=tuple(range(0, 2 * nd, 2)))
    return np.reshape(g, a_shape)


def grad_diag(g, v, k):
    """Adjoint of np.diag (both directions: vector to matrix and back)."""
    if is_zero(g):  # a zero adjoint may stand for an array of any shape: it stays zero
        return ZERO
    if np.ndim(v) == 1:
        return np.diagonal(g, offset=k).copy()
    if is_foreign(v) or is_foreign(g):  # g along diagonal k of a zero matrix, without writing into it
        rows, cols = np.shape(v)
        eye = _in_library_of(np.eye(rows, cols, k=k, dtype=_float_dtype(g)), v, g)
        n = rows if k >= 0 else cols
        padded = np.pad(g, (0, n - np.shape(g)[0]))
        return eye * (padded[:, None] if k >= 0 else padded[None, :])
    out = np.zeros(np.shape(v), dtype=np.result_type(g, 1.0))
    n = len(g)
    rows = np.arange(n) + max(-k, 0)
    cols = np.arange(n) + max(k, 0)
    out[rows, cols] = g
    return out


def grad_vstack(g, tup):
    """Adjoint of np.vstack."""
    if is_zero(g):
        return [ZERO] * len(tup)
    pieces = grad_concatenate(g, [np.atleast_2d(t) for t in tup], 0)
    return [np.reshape(p, shape_of(t)) for p, t in zip(pieces, tup)]


# ---- creation functions, piecewise functions and powers (right or refused) ---

def _inexact(x) -> bool:
    """True when `x` holds floating-point (or complex) values: only those carry a derivative."""
    dtype = getattr(x, "dtype", None)
    if dtype is not None:
        return dtype.kind in "fc"
    return isinstance(x, float | complex)


def _zeros_of(x):
    """A zero tangent of the shape of the value `x` (a number for a number)."""
    return np.zeros_like(x, dtype=_float_dtype(x)) if is_array(x) and x.shape != () else ZERO


def power_slope(x, y):
    """d(x ** y)/dx = y * x ** (y - 1), exactly 0 where y == 0 (x ** 0 is 1 for every x, 0 included).

    Elsewhere NumPy's values with its warnings: inf at x == 0 for 0 < y < 1 (where Python floats
    would raise ZeroDivisionError), nan where the power is not real.
    """
    if is_array(x) or is_array(y):
        zero = y == 0
        return np.where(zero, 0.0, y * np.power(x, np.where(zero, 1, y - 1)))
    if y == 0:
        return 0.0
    return y * float(np.power(np.float64(x), y - 1))


def power_slope_dy(x, y):
    """d(power_slope(x, y))/dy = x ** (y - 1) * (1 + y * log(x)) for x > 0; 0 elsewhere, as the
    exponent's derivative of `x ** y` is taken to be 0 where x <= 0."""
    if is_array(x) or is_array(y):
        pos = x > 0
        safe = np.where(pos, x, 1.0)
        return np.where(pos, np.power(safe, y - 1) * (1 + y * np.log(safe)), 0.0)
    if x <= 0:
        return 0.0
    return x ** (y - 1) * (1 + y * math.log(x))


def real_part(t, val):
    """np.real's adjoint and tangent: `t` itself for a real `val`; a complex `val` is refused (np.real is
    where a complex computation would become real again, hiding a derivative s2s cannot vouch for)."""
    if getattr(val, "dtype", None) is not None and val.dtype.kind == "c" or isinstance(val, complex):
        _refuse_complex()
    return t


def fdiv(a, b):
    """a / b as NumPy divides (inf or nan with a RuntimeWarning at b == 0), also for Python floats,
    which would raise ZeroDivisionError: a derivative infinite at the end of a domain is not an error."""
    if b == 0 and not is_array(b) and not is_array(a):
        return float(np.float64(a) / np.float64(b))
    return a / b


def safe_div(a, b):
    """a / b, and 0 where b == 0 (for derivatives that are taken to be 0 where they do not exist)."""
    if is_array(a) or is_array(b):
        zero = b == 0
        return np.where(zero, 0.0, a / np.where(zero, 1.0, b))
    return 0.0 if b == 0 else a / b


def grad_fill(g, ans, fill_value):
    """Adjoint of np.full / np.full_like for the fill value: every element is a copy of it."""
    if is_zero(g) or not _inexact(ans):  # an integer result truncates: no derivative flows
        return ZERO
    return unbroadcast(expand_reduced(g, ans, (), True), fill_value)


def fill_tangent(t, ans):
    """Tangent of np.full / np.full_like for the fill value's tangent `t`."""
    if is_zero(t) or not _inexact(ans):
        return _zeros_of(ans)
    return broadcast_to_like(t, ans) + _zeros_of(ans) if is_array(ans) and ans.shape != () else t


def arange_roles(args, stop=None):
    """What each positional argument of np.arange is: "start", "stop", "step" or "dtype"."""
    if stop is not None:  # np.arange(1, stop=5): the positional argument is the start
        return ["start", "step", "dtype"][:len(args)]
    return {0: [], 1: ["stop"], 2: ["start", "stop"], 3: ["start", "stop", "step"],
            4: ["start", "stop", "step", "dtype"]}[len(args)]


def grad_arange(g, ans, role):
    """Adjoint of np.arange for one argument: element i is start + i * step.

    The number of elements is taken as fixed: it changes only where (stop - start) / step crosses
    an integer, and there the output's length jumps (no derivative exists; this is the one-sided
    derivative in the direction that keeps the length, as np.floor's derivative is taken to be 0).
    """
    if is_zero(g) or role not in ("start", "step") or not _inexact(ans):
        return ZERO
    if role == "start":
        return np.sum(g)
    return np.sum(g * _in_library_of(np.arange(shape_of(ans)[0], dtype=float), ans, g))


def grad_arange_args(g, ans, args, stop=None):
    """Adjoints of np.arange's positional arguments."""
    return [grad_arange(g, ans, role) for role in arange_roles(args, stop)]


def arange_tangent(t, ans, role):
    """Tangent of np.arange for the tangent `t` of one argument."""
    if is_zero(t) or role not in ("start", "step") or not _inexact(ans):
        return _zeros_of(ans)
    if role == "start":
        return t * np.ones_like(ans, dtype=_float_dtype(ans))
    return t * _in_library_of(np.arange(shape_of(ans)[0], dtype=_float_dtype(ans)), ans)


def arange_args_tangent(ans, args, tangents, stop=None):
    """Tangent of np.arange for the tangents of its positional arguments."""
    tangents = [ZERO] * len(args) if is_zero(tangents) else tangents
    total = _zeros_of(ans)
    for role, t in zip(arange_roles(args, stop), tangents):
        if not is_zero(t):
            total = total + arange_tangent(t, ans, role)
    return total


def _linspace_weights(num, endpoint):
    """t with samples = start + t * (stop - start), as np.linspace computes them (t = i / div)."""
    div = (num - 1) if endpoint else num
    i = np.arange(num, dtype=float)
    return (i / div if div > 0 else np.zeros(num)), div


def grad_linspace(g, ans, x, num, endpoint, retstep, axis, which):
    """Adjoint of np.linspace for start (which=0) or stop (which=1), the argument `x`.

    The samples are (1 - t) * start + t * stop; with retstep the step is (stop - start) / div.
    """
    if is_zero(g):
        return ZERO
    samples, (g_y, g_step) = (ans[0], g) if retstep else (ans, (g, ZERO))
    if not _inexact(samples):
        return ZERO
    t, div = _linspace_weights(num, endpoint)
    w = t if which == 1 else 1.0 - t
    out = ZERO
    if not is_zero(g_y):
        gy = np.moveaxis(broadcast_to_like(g_y, samples), axis, 0)
        out = unbroadcast(np.tensordot(_in_library_of(w, gy), gy, axes=(0, 0)), x)
    if not is_zero(g_step) and div > 0:
        out = add(out, unbroadcast(g_step / div if which == 1 else -g_step / div, x))
    return out


def linspace_tangent(t, ans, num, endpoint, retstep, axis, which):
    """Tangent of np.linspace for the tangent `t` of start (which=0) or stop (which=1)."""
    samples = ans[0] if retstep else ans
    if is_zero(t) or not _inexact(samples):
        return (_zeros_of(samples), ZERO) if retstep else _zeros_of(samples)
    tw, div = _linspace_weights(num, endpoint)
    w = tw if which == 1 else 1.0 - tw
    axis = axis % np.ndim(samples)
    rest = tuple(n for k, n in enumerate(shape_of(samples)) if k != axis)  # the shape of start and stop together
    t_full = np.broadcast_to(t, rest) if not is_foreign(t) else t * np.ones(rest)
    moved = np.reshape(_in_library_of(w, t_full), (-1,) + (1,) * len(rest)) * t_full
    dy = np.moveaxis(moved, 0, axis)
    if not retstep:
        return dy
    return dy, (t / div if which == 1 else -t / div) if div > 0 else ZERO


def grad_divmod(g, ans, x, which):
    """Adjoint of divmod(x, y) (and np.divmod) for x (which=0) or y: the quotient q is piecewise
    constant, the remainder is x - y * q."""
    if is_zero(g):
        return ZERO
    gr = g[1]
    if is_zero(gr):
        return ZERO
    return unbroadcast(gr if which == 0 else -gr * ans[0], x)


def divmod_tangent(t, ans, which):
    """Tangent of divmod(x, y) for the tangent `t` of x (which=0) or y: (0, t) or (0, -t * q)."""
    q, r = ans
    if is_zero(t):
        return _zeros_of(q), _zeros_of(r)
    dr = t if which == 0 else -t * q
    return _zeros_of(q), (broadcast_like(dr, r) if is_array(r) else dr)


def grad_prod_dot(g, x, x_dot, axis, keepdims):
    """Tangent of `grad_prod(g, ans, x, axis, keepdims)` for the tangent `x_dot` of x (exact at zeros)."""
    if is_zero(g) or is_zero(x_dot):
        return ZERO
    x = _as_array(x)
    x_dot = broadcast_to_like(x_dot, x)
    ax = tuple(range(x.ndim)) if axis is None else _axes(axis, x.ndim)
    moved = np.moveaxis(x, ax, tuple(range(len(ax))))
    moved_dot = np.moveaxis(x_dot, ax, tuple(range(len(ax))))
    flat = moved.reshape((-1,) + moved.shape[len(ax):])
    flat_dot = moved_dot.reshape(flat.shape)
    left, left_dot = _exclusive_cumprod_dot(flat, flat_dot)
    right, right_dot = _exclusive_cumprod_dot(flat[::-1], flat_dot[::-1])
    others_dot = (left_dot * right[::-1] + left * right_dot[::-1]).reshape(moved.shape)
    others_dot = np.moveaxis(others_dot, tuple(range(len(ax))), ax)
    return expand_reduced(g, x, axis, keepdims) * others_dot


def _exclusive_cumprod_dot(x, x_dot):
    """Products of the entries before each one along axis 0, and their tangents (no division)."""
    p, p_dot = np.ones_like(x[:1]), np.zeros_like(x[:1])
    ps, dots = [], []
    for k in range(x.shape[0]):
        ps.append(p)
        dots.append(p_dot)
        p, p_dot = p * x[k:k + 1], p_dot * x[k:k + 1] + p * x_dot[k:k + 1]
    if not ps:
        return x, x_dot
    return np.concatenate(ps), np.concatenate(dots)


def _solve_a_outer(gb, ans, a):
    if np.ndim(ans) == np.ndim(a) - 1:
        return -np.expand_dims(gb, -1) * np.expand_dims(ans, -2)
    return -np.matmul(gb, np.swapaxes(ans, -1, -2))


def grad_solve_a_dot(g, ans, a, a_dot):
    """Tangent of `grad_solve_a(g, ans, a, b)` for the tangent `a_dot` of a (ans held fixed)."""
    if is_zero(g) or is_zero(a_dot):
        return ZERO
    at = np.swapaxes(a, -1, -2)
    gb = np.linalg.solve(at, g)
    gb_dot = -np.linalg.solve(at, np.matmul(np.swapaxes(a_dot, -1, -2), gb))
    return _solve_a_outer(gb_dot, ans, a)


_EINSUM_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _einsum_spec(items):
    """np.einsum's arguments as (input subscripts, output subscripts, positions of the operands).

    Both forms: a subscripts string followed by the operands, or the sublist form
    (operand, [0, 1], operand, [1, 2], [0, 2]). '...' becomes explicit letters, and an
    implicit output (no '->') the letters used once, in alphabetical order, as NumPy does.
    """
    from s2s.errors import NoDerivativeRuleError
    if isinstance(items[0], str):
        text = items[0].replace(" ", "")
        lhs, arrow, out = text.partition("->")
        ins, positions = lhs.split(","), list(range(1, len(items)))
        explicit = bool(arrow)
    else:
        ins, positions = [], []
        k = 0
        while k + 1 < len(items):
            positions.append(k)
            ins.append(_sublist(items[k + 1]))
            k += 2
        explicit = k < len(items)
        out = _sublist(items[k]) if explicit else ""
    if len(ins) != len(positions):
        raise NoDerivativeRuleError("s2s cannot read this np.einsum call: the subscripts do not match the operands",
                                    hint="write np.einsum('ij,jk->ik', a, b)")
    used = set("".join(ins) + out)
    spare = [c for c in _EINSUM_LETTERS if c not in used]
    ell_dims = max([np.ndim(items[p]) - (len(s) - 3) for s, p in zip(ins, positions) if "..." in s] or [0])
    ell = "".join(spare[:ell_dims])
    ins = [s.replace("...", ell[len(ell) - (np.ndim(items[p]) - (len(s) - 3)):]) if "..." in s else s
           for s, p in zip(ins, positions)]
    if not explicit:
        counts = "".join(ins)
        out = ell + "".join(sorted(c for c in set(counts) if counts.count(c) == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    for s, p in zip(ins, positions):
        if len(s) != np.ndim(items[p]):
            raise NoDerivativeRuleError("s2s cannot read this np.einsum call: a subscript does not match its "
                                        "operand's number of axes", hint="write np.einsum('ij,jk->ik', a, b)")
    sizes = {}
    for s, p in zip(ins, positions):
        for c, n in zip(s, np.shape(items[p])):
            if sizes.setdefault(c, n) != n:
                raise NoDerivativeRuleError(
                    "s2s does not differentiate np.einsum where one index broadcasts (sizes "
                    f"{sizes[c]} and {n})", hint="broadcast the operands to equal sizes first (np.broadcast_to)")
    return ins, out, positions


def _sublist(sub):
    return "".join("..." if s is Ellipsis else _EINSUM_LETTERS[int(s)] for s in sub)


def _einsum_adjoint(g, ins, out, ops, which):
    """Adjoint of einsum(ins -> out, *ops) for operand `which` (repeated indices and sums included)."""
    target = ins[which]
    x = ops[which]
    others = [s for i, s in enumerate(ins) if i != which]
    other_ops = [o for i, o in enumerate(ops) if i != which]
    present = set(out) | {c for s in others for c in s}
    kept = "".join(dict.fromkeys(c for c in target if c in present))
    grad = np.einsum(",".join([out] + others) + "->" + kept, g, *other_ops)
    # spread over the target's own letters: a repeated letter is a diagonal (an identity factor per
    # extra occurrence), a letter found nowhere else was summed out (ones)
    used = set("".join(ins) + out)
    spare = iter(c for c in _EINSUM_LETTERS if c not in used)
    letters, factors, names = [], [], []
    seen = set()
    for c, n in zip(target, np.shape(x)):
        if c in seen:
            d = next(spare)
            factors.append(_in_library_of(np.eye(n), x, g))
            names.append(c + d)
            letters.append(d)
        elif c not in present:
            factors.append(_in_library_of(np.ones(n), x, g))
            names.append(c)
            letters.append(c)
            seen.add(c)
        else:
            letters.append(c)
            seen.add(c)
    return np.einsum(",".join([kept] + names) + "->" + "".join(letters), grad, *factors)


def grad_einsum_parts(g, items, optimize=False):
    """Adjoints of np.einsum for every positional argument (ZERO for subscripts and sublists)."""
    parts = [ZERO] * len(items)
    if is_zero(g):
        return parts
    ins, out, positions = _einsum_spec(items)
    ops = [items[p] for p in positions]
    for k, p in enumerate(positions):
        parts[p] = _einsum_adjoint(g, ins, out, ops, k)
    return parts


def einsum_jvp(items, tangents):
    """Tangent of np.einsum (either form): the product rule over the operands."""
    ins, out, positions = _einsum_spec(items)
    spec = ",".join(ins) + "->" + out
    ops = [items[p] for p in positions]
    tangents = [ZERO] * len(items) if is_zero(tangents) else tangents
    total = ZERO
    for k, p in enumerate(positions):
        if is_zero(tangents[p]):
            continue
        changed = list(ops)
        changed[k] = broadcast_to_like(tangents[p], ops[k])
        total = add(total, np.einsum(spec, *changed))
    return total


def _replaced(items, first, second):
    """Pairs (i, j), i != j, of operand positions both with tangents: items with i, j swapped in."""
    for i, ti in first:
        for j, tj in second:
            if i != j:
                changed = list(items)
                changed[i], changed[j] = ti, tj
                yield i, j, changed


def grad_einsum_parts_dot(g, items, items_dot, optimize=False):
    """Tangent of `grad_einsum_parts(g, items)` for the tangents of the operands."""
    parts = [ZERO] * len(items)
    if is_zero(g) or is_zero(items_dot):
        return parts
    ins, out, positions = _einsum_spec(items)
    for k, p in enumerate(positions):
        for j, q in enumerate(positions):
            if j == k or is_zero(items_dot[q]):
                continue
            ops = [items[r] for r in positions]
            ops[j] = broadcast_to_like(items_dot[q], ops[j])
            parts[p] = add(parts[p], _einsum_adjoint(g, ins, out, ops, k))
    return parts


def einsum_jvp_dot(items, tangents, items_dot):
    """Tangent of `einsum_jvp(items, tangents)` for the tangents of the operands (items held in tangents fixed)."""
    if is_zero(tangents) or is_zero(items_dot):
        return ZERO
    ins, out, positions = _einsum_spec(items)
    spec = ",".join(ins) + "->" + out
    total = ZERO
    for k, p in enumerate(positions):
        for j, q in enumerate(positions):
            if j == k or is_zero(tangents[p]) or is_zero(items_dot[q]):
                continue
            ops = [items[r] for r in positions]
            ops[k] = broadcast_to_like(tangents[p], ops[k])
            ops[j] = broadcast_to_like(items_dot[q], ops[j])
            total = add(total, np.einsum(spec, *ops))
    return total


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


def grad_index_concat(g, obj, items):
    """Adjoints of np.r_[...] / np.c_[...] for each item: `g` cut back into the pieces
    (a slice item is a constant range: no adjoint)."""
    if is_zero(g):
        return [ZERO] * len(items)
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


def _concatenates(x, y) -> bool:
    """Whether `x + y` is list or tuple concatenation (an array on either side makes it elementwise)."""
    return isinstance(x, list) and isinstance(y, list) or isinstance(x, tuple) and isinstance(y, tuple)


def _repeats(seq, count) -> bool:
    """Whether `seq * count` is repetition: a list or tuple and an integer (an array makes it elementwise)."""
    return isinstance(seq, list | tuple) and isinstance(count, int | np.integer)


def grad_add_seq(g, x, y, which):
    """Adjoint of `x + y` for x (which=0) or y where the operands may be lists or tuples: the part of
    the concatenation's adjoint that came from that operand; unbroadcast for arithmetic."""
    if not _concatenates(x, y):
        return unbroadcast(g, y if which else x)
    if is_zero(g):
        return ZERO
    n = len(x)
    return list(g[n:] if which else g[:n])


def grad_mult_seq(g, x, y, which):
    """Adjoint of `x * y` for x (which=0) or y where one operand may be a list or tuple repeated an integer
    number of times: the sum of the repeats' adjoints for the sequence, none for the count."""
    seq, count = (x, y) if _repeats(x, y) else (y, x) if _repeats(y, x) else (None, None)
    if seq is None:
        return unbroadcast(g * (y if which == 0 else x), y if which else x)
    if is_zero(g) or (seq is y) != bool(which):
        return ZERO
    m = len(seq)
    total = [ZERO] * m
    for k in range(int(count)):
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


def grad_as_sequence(g, x):
    """Adjoint of list(x) / tuple(x): the elements' adjoints, stacked back for an array x; a dict's keys
    (what list(d) holds) have none."""
    if is_zero(g) or isinstance(x, dict) or isinstance(x, str):
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


def as_sequence_tangent(t, x, as_tuple):
    """Tangent of list(x) / tuple(x)."""
    if isinstance(x, dict) or isinstance(x, str):
        return ZERO
    n = len(x)
    items = [ZERO] * n if is_zero(t) else list(t)
    return tuple(items) if as_tuple else items


def grad_bitor(g, x, y, which):
    """Adjoint of `x | y` for x (which=0) or y: for dicts, the adjoints of the keys each operand gave the
    merge (y wins a shared key); integers and booleans have none."""
    if is_zero(g) or not (isinstance(x, dict) and isinstance(y, dict)):
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


def index_item(obj, key):
    """`np.s_[...]`, `np.index_exp[...]`, `np.mgrid[...]`, `np.ogrid[...]` as a call: no derivative rule
    for the key (the rule refuses a varied key)."""
    return obj[key]


def as_sequence(x):
    """What `for v in x` iterates over, as something indexable (dict keys, sets...)."""
    if isinstance(x, list | tuple | range) or hasattr(x, "shape"):
        return x
    return list(x)


def astype(x, dtype, copy=True):
    """`x.astype(dtype)`; the derivative passes only through float/complex dtypes."""
    if not hasattr(x, "astype"):
        return dtype(x)
    return x.astype(dtype) if copy else x.astype(dtype, copy=False)


def item(x, *index):
    """`x.item()`."""
    return x.item(*index) if hasattr(x, "item") else x


def is_float_dtype(dtype) -> bool:
    """True for float and complex dtypes."""
    return np.issubdtype(np.dtype(dtype), np.inexact)


def copy(x):
    """`x.copy()` in x's own library (np.copy would turn a Dask or CuPy array into a NumPy one)."""
    return x.copy() if is_array(x) or isinstance(x, list | dict) else np.copy(x)


UPDATE_SITES: list[dict] = []  # the error (its keyword arguments) for each in-place update guarded by `unshared`


def unshared(value, where, deep, updated, *others):
    """`value`, once it is certain that updating `updated` in place is seen by no name in `others`.

    s2s runs `y[i] = v`, `y += v` and `L.append(v)` functionally; Python changes the object itself.
    The ownership analysis (transforms/ownership.py) guards an update with this where another live
    name may refer to the same array or list: if one really does (the same object, a view of the same
    memory, or a container holding it), the derivative would be wrong, so this raises the error for
    that line. With `deep`, objects held in `updated` count too (`L[i] += v` changes the element L[i]),
    and two of them must not be one object. Numbers and tuples are never shared: nothing to check.

        >>> y = np.zeros(3)
        >>> unshared(1.0, 0, False, y, np.ones(3))
        1.0
    """
    targets = _mutable_parts(updated, deep)
    if not targets:
        return value
    if deep and len(targets) > 1 and _overlap(targets):
        _refuse_update(where)
    for other in others:
        if _reaches(other, targets, set()):
            _refuse_update(where)
    return value


def _refuse_update(where):
    from s2s.errors import UnsupportedSyntaxError
    site = dict(UPDATE_SITES[where])
    raise UnsupportedSyntaxError(site.pop("message"), **site)


def _is_mutable(x) -> bool:
    return isinstance(x, list | dict) or (is_array(x) and not isinstance(x, np.generic))


def _mutable_parts(x, deep):
    """The mutable objects an update of `x` may change: x itself, and with `deep` what it holds.

    An object held twice is listed twice (so that `_overlap` finds it).
    """
    if not _is_mutable(x):
        return []
    if not deep or not isinstance(x, list | dict):
        return [x]
    out, seen, todo = [], set(), [x]
    while todo:
        obj = todo.pop()
        if not _is_mutable(obj) and not isinstance(obj, tuple):
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


def _same_memory(a, b) -> bool:
    if a is b:
        return True
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if not np.may_share_memory(a, b):
            return False
        try:
            return bool(np.shares_memory(a, b, max_work=10_000))
        except Exception:  # noqa: BLE001 - numpy's TooHardError: too costly to decide, so count it as shared
            return True
    return _owner(a) is _owner(b) and is_array(a) and is_array(b)


def _owner(a):
    while getattr(a, "base", None) is not None and is_array(a.base):
        a = a.base
    return a


def _overlap(targets) -> bool:
    """Whether two of the objects (arrays sharing memory, or one list twice) are one."""
    groups = {}
    for t in targets:
        groups.setdefault(id(_owner(t)) if is_array(t) else id(t), []).append(t)
    for group in groups.values():
        for i, a in enumerate(group):
            if any(_same_memory(a, b) for b in group[i + 1:]):
                return True
    return False


def _reaches(obj, targets, seen) -> bool:
    """Whether one of `targets` is `obj`, shares memory with it, or is held (at any depth) in it."""
    if isinstance(obj, list | tuple | dict):
        if id(obj) in seen:
            return False
        seen.add(id(obj))
        if any(obj is t for t in targets):
            return True
        items = obj.values() if isinstance(obj, dict) else obj
        return any(_reaches(v, targets, seen) for v in items)
    if is_array(obj) and not isinstance(obj, np.generic):
        return any(is_array(t) and _same_memory(obj, t) for t in targets)
    return False


def stop_gradient(x):
    """Detach: the value passes unchanged and its derivative is zero."""
    return x


def item_grad(g, x, index):
    """Adjoint of `x.item(*index)`."""
    if not hasattr(x, "shape") or x.shape == ():
        return g
    out = _zeros_like(x, _float_dtype(x), g)
    out[index if index else (0,) * x.ndim] = g
    return out


def broadcast_like(t, ans):
    """A tangent broadcast to the shape of the value it belongs to."""
    shape = getattr(ans, "shape", ())
    if getattr(t, "shape", ()) == shape:
        return t
    return broadcast_to_like(t, ans)


def dense_tangent(t, value):
    """A tangent that can be written into: zeros shaped like `value` for a zero tangent."""
    if not is_zero(t):
        return t
    if isinstance(value, list | dict):
        return zeros_like_value(value)
    if hasattr(value, "shape") and getattr(value, "dtype", None) is not None and value.dtype.kind in "biufc":
        return np.zeros_like(value, dtype=_float_dtype(value))
    return ZERO  # numbers, strings, None, zero adjoints: the zero marker keeps containers working


def builtin_sum_tangent(t, x):
    """Tangent of the builtin `sum` over a list, tuple or array."""
    if isinstance(t, list | tuple):
        total = ZERO
        for v in t:
            total = add(total, v)
        return total
    return np.sum(t, axis=0) if np.ndim(t) else t


def select_tangent(ans, args, tangents):
    """Tangent of builtin max/min: the tangent of the argument that was chosen."""
    if len(args) == 1:
        items, tans = list(args[0]), tangents[0]
        tans = [ZERO] * len(items) if is_zero(tans) else list(tans)
    else:
        items, tans = args, tangents
    for v, t in zip(items, tans):
        if v is ans or (np.ndim(v) == 0 and v == ans):
            return t
    return ZERO


def einsum_tangent(subscripts, operands, tangents):
    """Tangent of np.einsum: the product rule over the operands."""
    total = ZERO
    for i, t in enumerate(tangents):
        if is_zero(t):
            continue
        ops = list(operands)
        ops[i] = t
        total = add(total, np.einsum(subscripts, *ops))
    return total
