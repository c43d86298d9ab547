"""Helpers that only forward-mode (tangent) code calls: zero tangents made dense, broadcasts to
the value's shape.
"""

from __future__ import annotations

import numpy as np

from s2s.runtime.adjoint import zeros_like_value
from s2s.runtime.arrays import _float_dtype, broadcast_to_like, is_foreign
from s2s.runtime.zero import ZERO, is_zero


def as_array_like(x, dtype=None):
    """np.asarray for tangents, keeping zeros symbolic."""
    if is_zero(x):
        return x
    if is_foreign(x):
        return x if dtype is None or x.dtype == np.dtype(dtype) else x.astype(dtype)
    return np.asarray(x, dtype=dtype)


def dense_list(tangents, values):
    """Replace zero tangents in a list by explicit zero arrays."""
    if is_zero(tangents):
        tangents = [ZERO] * len(values)
    return [np.zeros_like(v, dtype=float) if is_zero(t) else t for t, v in zip(tangents, values)]


def array_tangent(t, value):
    """The tangent of a list or tuple that NumPy reads as an array (`np.sqrt([a, b])`): an array of its items'
    tangents, zeros for zero ones; any other tangent (a ragged list's too) as it is.

        >>> array_tangent([1.0, 0.0], [2.0, 3.0])
        array([1., 0.])
    """
    if not isinstance(t, list | tuple) or not isinstance(value, list | tuple) or len(t) != len(value):
        return t
    try:
        return np.asarray(dense_list(t, value))
    except ValueError:  # (ragged: NumPy could not read the value as an array either)
        return t


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
