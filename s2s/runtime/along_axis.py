"""`np.apply_along_axis(f, axis, arr, *args)` as s2s writes it (transforms/along_axis.py): the rows of `arr` along
`axis`, `f` called on each in a comprehension s2s differentiates, and the results placed as NumPy places them.

    >>> rows = along_axis_rows(np.arange(6.0).reshape(2, 3), 1)
    >>> along_axis_out(np.stack(along_axis_results([np.sum(r) for r in rows])), np.ones((2, 3)), 1)
    array([ 3., 12.])
"""

from __future__ import annotations

import math

import numpy as np

_EMPTY = "Cannot apply_along_axis when any iteration dimensions are 0"


def _axis(arr, axis):
    """`axis` of `arr` counted from 0 (NumPy's AxisError for one out of range)."""
    return np.lib.array_utils.normalize_axis_index(axis, np.ndim(arr))


def along_axis_rows(arr, axis):
    """The 1-d slices of `arr` along `axis`, in the order np.apply_along_axis visits them, as the rows of a 2-d
    array (NumPy's ValueError where another axis has length 0).

    >>> along_axis_rows(np.arange(6).reshape(2, 3), 0)
    array([[0, 3],
           [1, 4],
           [2, 5]])
    """
    arr = np.asanyarray(arr)
    moved = np.moveaxis(arr, _axis(arr, axis), -1)
    if 0 in moved.shape[:-1]:
        raise ValueError(_EMPTY)
    return moved.reshape(math.prod(moved.shape[:-1]), moved.shape[-1])  # (-1 is ambiguous for rows of length 0)


def along_axis_rows_grad(g, arr, axis):
    """The adjoint of `along_axis_rows(arr, axis)`: the rows' adjoints put back along `axis`.

    >>> along_axis_rows_grad(np.ones((3, 2)), np.zeros((2, 3)), 0).shape
    (2, 3)
    """
    axis = _axis(arr, axis)
    moved_shape = np.moveaxis(np.empty(np.shape(arr), dtype=bool), axis, -1).shape
    return np.moveaxis(np.reshape(g, moved_shape), -1, axis)


def along_axis_results(results):
    """`results`, the values f gave for each row, where NumPy's placing them is a stack: each of the first one's
    shape and dtype (NumPy casts later ones into the first's dtype and broadcasts them into its shape, which s2s
    does not differentiate: refused).

    >>> along_axis_results([1.0, 2.0])
    [1.0, 2.0]
    """
    first = np.asanyarray(results[0])
    for k, r in enumerate(results[1:], 1):
        r = np.asanyarray(r)
        if r.shape != first.shape or r.dtype != first.dtype:
            from s2s.errors import UnsupportedSyntaxError
            raise UnsupportedSyntaxError(
                f"s2s differentiates np.apply_along_axis where the function gives every row a value of one shape and "
                f"dtype; row {k} gave {r.dtype}{list(r.shape)} after {first.dtype}{list(first.shape)} for row 0 (NumPy "
                "casts and broadcasts it into the first's)",
                hint="make the function return the same shape and dtype for every row (`np.float64(...)`, "
                     "`np.asarray(..., dtype=float)`)")
    return results


def along_axis_out(stacked, arr, axis):
    """np.apply_along_axis's result from the stacked results (one per row, in row order): the axes of a result
    where `axis` was, the other axes of `arr` around them.

    >>> along_axis_out(np.zeros((3, 4)), np.zeros((2, 3)), 0).shape
    (4, 3)
    """
    axis = _axis(arr, axis)
    shape = np.shape(arr)
    outer = shape[:axis] + shape[axis + 1:]
    k = np.ndim(stacked) - 1
    buff = np.reshape(stacked, outer + np.shape(stacked)[1:])
    return np.moveaxis(buff, list(range(len(outer), len(outer) + k)), list(range(axis, axis + k)))


def along_axis_out_grad(g, stacked, arr, axis):
    """The adjoint of `along_axis_out(stacked, arr, axis)`: `g` read back in the stacked order.

    >>> along_axis_out_grad(np.ones((4, 3)), np.zeros((3, 4)), np.zeros((2, 3)), 0).shape
    (3, 4)
    """
    axis = _axis(arr, axis)
    outer = len(np.shape(arr)) - 1
    k = np.ndim(stacked) - 1
    moved = np.moveaxis(g, list(range(axis, axis + k)), list(range(outer, outer + k)))
    return np.reshape(moved, np.shape(stacked))
