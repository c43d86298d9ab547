"""Adjoints of shape functions (concatenate, stack, vstack, transpose, expand_dims, squeeze, tile,
diag, np.array of nested lists; rules in s2s/rules/shape.py).
"""

from __future__ import annotations

import numpy as np

from s2s import patches
from s2s.runtime.arrays import _float_dtype, _in_library_of, is_foreign, numpy_shape, shape_of
from s2s.runtime.zero import ZERO, is_zero, linear_in_g, zero_safe

_math = patches.genuine("math")  # math as s2s loaded it: a later math.prod = ... is not read


def shape_arguments(args: tuple):
    """What `x.reshape(*args)` / `x.transpose(*args)` take as the shape or axes: the one tuple or list given,
    else the arguments themselves (NumPy's methods take either), None for none.

        >>> shape_arguments(((2, 3),)), shape_arguments((2, 3))
        ((2, 3), (2, 3))
    """
    if len(args) == 1 and isinstance(args[0], tuple | list):
        return args[0]
    return args if args else None  # (`x.transpose(*())`: the axes reversed, as np.transpose(x, None))


@linear_in_g(zero=lambda arrays, axis: [ZERO] * len(arrays))
def grad_concatenate(g, arrays, axis):
    """Adjoints of np.concatenate: split `g` back into the pieces."""
    if axis is None:
        flat = np.ravel(g)
        return [np.reshape(p, np.shape(a)) for p, a in zip(_pieces(flat, [_math.prod(np.shape(a)) for a in arrays], 0), arrays)]
    return _pieces(g, [np.shape(a)[axis] for a in arrays], axis)


def _pieces(g, sizes, axis):
    """`g` cut along `axis` into consecutive pieces of the given sizes (np.split by slicing)."""
    axis = axis % np.ndim(g)
    out, start = [], 0
    for n in sizes:
        out.append(g[(slice(None),) * axis + (slice(start, start + n),)])
        start += n
    return out


@linear_in_g(zero=lambda arrays, axis: [ZERO] * len(arrays))
def grad_stack(g, arrays, axis):
    """Adjoints of np.stack: unstack `g` (a NumPy array's pieces are rows of one copy, each its own memory)."""
    if type(g) is np.ndarray and np.ndim(g) > 0 and g.shape[axis] == len(arrays):
        return list(np.moveaxis(g, axis, 0).copy())
    return [np.take(g, i, axis=axis) for i in range(len(arrays))]


@linear_in_g
def grad_transpose(g, axes):
    """Adjoint of np.transpose."""
    if axes is None:
        return np.transpose(g)
    return np.transpose(g, tuple(int(i) for i in np.argsort([a % np.ndim(g) for a in axes])))


@linear_in_g
def grad_expand_dims(g, axis):
    """Adjoint of np.expand_dims."""
    return np.squeeze(g, axis=axis)


@linear_in_g
def grad_squeeze(g, x, axis):
    """Adjoint of np.squeeze."""
    return np.reshape(g, shape_of(x))


@zero_safe
def array_grad(g, obj):
    """Adjoint of np.array(obj): nested lists get nested adjoints (a zero adjoint: zero parts)."""
    if is_zero(g):
        return ZERO
    if isinstance(obj, list | tuple):
        return [array_grad(g[i], o) for i, o in enumerate(obj)]
    return g


@linear_in_g
def grad_tile(g, a, reps):
    """Adjoint of np.tile."""
    a_shape = numpy_shape(a)  # (`np.tile([a, b], 2)`: a list display as NumPy reads it)
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


@linear_in_g
def grad_diag(g, v, k):
    """Adjoint of np.diag (both directions: vector to matrix and back)."""
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


@linear_in_g(zero=lambda tup: [ZERO] * len(tup))
def grad_vstack(g, tup):
    """Adjoint of np.vstack."""
    pieces = grad_concatenate(g, [np.atleast_2d(t) for t in tup], 0)
    return [np.reshape(p, _item_shape(t)) for p, t in zip(pieces, tup)]


def grad_hstack(g, tup):
    """Adjoint of np.hstack: 1-d items (and numbers) were joined along axis 0, others along axis 1."""
    arrays = [np.atleast_1d(t) for t in tup]
    pieces = grad_concatenate(g, arrays, 0 if np.ndim(arrays[0]) == 1 else 1)
    return [np.reshape(p, _item_shape(t)) for p, t in zip(pieces, tup)]


def _item_shape(t):
    """The shape of a joined item as NumPy read it: an array's, a number's (), a list's of numbers (its length)."""
    return np.shape(t) if isinstance(t, list | tuple) else shape_of(t)


def layout_order(a, order):
    """The index order, 'C' or 'F', in which np.reshape / np.ravel with `order` read `a`.

    'A' (and 'K' of a contiguous array) follows `a`'s memory layout, which the adjoint `g` need not
    share, so the rules of reshape and ravel pass the order resolved on `a` itself. In generated code
    this is `s2s.shape.layout_order`.

        >>> layout_order(np.ones((2, 3)).T, "A"), layout_order(np.ones((2, 3)), "K")
        ('F', 'C')
    """
    if order in ("C", "F", None):
        return order or "C"
    fortran = np.isfortran(np.asarray(a))
    if order == "A" or np.asarray(a).flags.forc:
        return "F" if fortran else "C"
    from s2s.errors import NoDerivativeRuleError

    raise NoDerivativeRuleError(
        f"s2s has no derivative of np.ravel(a, order={order!r}) for an array neither C- nor Fortran-contiguous:"
        " the order in memory of its entries is not one s2s follows. Hint: pass order='C' or order='F'.")


def outer_operand(a, b):
    """`a` with one axis of length 1 added at its end per axis of `b`: `np.F.outer(a, b)` is `F` of this and `b`
    (the rules of a ufunc's outer method, s2s/rules/ufunc_outer.py, are F's own with this operand).

        >>> outer_operand(np.ones(2), np.ones((3, 4))).shape
        (2, 1, 1)
    """
    return np.reshape(a, np.shape(a) + (1,) * np.ndim(b))


@zero_safe
@linear_in_g
def outer_reduced(g, a):
    """The adjoint of `outer_operand(a, b)`: `g`, of that operand's shape, reshaped to `a`'s.

        >>> outer_reduced(np.ones((2, 1, 1)), np.ones(2)).shape
        (2,)
    """
    return np.reshape(g, np.shape(a))
