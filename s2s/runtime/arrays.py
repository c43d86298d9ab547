"""Array-library dispatch: what is an array, which library it belongs to, zeros and broadcasts in that library.

Generated code and the helpers must work unchanged on NumPy, Dask and CuPy arrays (anything
with NumPy's __array_function__ / __array_ufunc__ protocols). Rules for every runtime module:
call np.* functions on the values (they dispatch to the value's library), never np.asarray /
np.array / float() / .item() on an array value (a Dask array would be computed, a CuPy array
copied to the host), allocate with np.zeros_like / np.ones_like (they dispatch) rather than
np.zeros(shape), and write into an array only when it is a fresh one made here.
"""

from __future__ import annotations

import warnings

import numpy as np

from s2s.runtime.zero import ZERO


def is_array(x) -> bool:
    """True for an array of any library (NumPy, Dask, CuPy...) and NumPy scalars."""
    return hasattr(x, "shape") and hasattr(x, "dtype") and hasattr(x, "ndim")


def is_foreign(x) -> bool:
    """True for an array that is not NumPy's (Dask, CuPy...): it must stay in its own library."""
    return is_array(x) and not isinstance(x, np.ndarray | np.generic)


def is_sparse(x) -> bool:
    """True for a SciPy sparse matrix or array (2-d; NumPy's functions read it as one object, not as its entries).

        >>> is_sparse(np.eye(2))
        False
    """
    return (type(x).__module__ or "").startswith("scipy.sparse")


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
    return np.result_type(*[x.dtype if is_array(x) else np.asarray(x).dtype if isinstance(x, list | tuple) else x
                            for x in xs], 1.0)  # (a list of numbers, as np.max(L) takes, would read as a dtype)


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
        kind = getattr(getattr(x, "dtype", None), "kind", None)
        if type(g) is float and kind in ("f", "c"):  # in x's precision
            g = np.asarray(g, dtype=np.result_type(x.dtype, g))  # (float32 data keeps float32 adjoints)
        elif kind == "f" and getattr(getattr(g, "dtype", None), "kind", None) == "f" and g.dtype.itemsize < x.dtype.itemsize:
            # (a float32 adjoint of a float64 value, `np.sum(x0 * w) * np.float32(c)`'s, spread in the value's
            # precision: NumPy computed it in float64, and a float32 broadcast would sum w in float32, review 231)
            g = np.asarray(g, dtype=x.dtype)
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


def numpy_shape(x):
    """The shape NumPy gives `x`: an array's, () for a number, a list's or tuple's of numbers (`np.diff([a, b, c])`
    gets a list display as it is).

        >>> numpy_shape([1.0, 2.0, 3.0]), numpy_shape(np.zeros((2, 3))), numpy_shape(0.5)
        ((3,), (2, 3), ())
    """
    if isinstance(x, list | tuple):
        shape = _sequence_shape(x)
        return () if shape is None else shape
    return shape_of(x)


def _sequence_shape(x):
    """The shape NumPy gives a list or tuple, None for one it cannot make an array of (ragged)."""
    try:
        return np.shape(x)
    except ValueError:
        return None


def _inexact(x) -> bool:
    """True when `x` holds floating-point (or complex) values: only those carry a derivative."""
    dtype = getattr(x, "dtype", None)
    if dtype is not None:
        return dtype.kind in "fc"
    return isinstance(x, float | complex)


def _zeros_of(x):
    """A zero tangent of the shape of the value `x` (a number for a number)."""
    return np.zeros_like(x, dtype=_float_dtype(x)) if is_array(x) and x.shape != () else ZERO


try:  # (NumPy 2's floating-point error state: a new object whenever np.errstate or np.seterr changes it)
    from numpy._core._ufunc_config import _extobj_contextvar as _error_state
except ImportError:  # pragma: no cover - another NumPy: np.geterr() on every call
    _error_state = None
_ERRORS_SEEN = [object(), None, True]  # (the error state and warning filters last seen, whether both only warn)


def float_items(a):
    """The items of a float64 array as Python floats (`a.tolist()`), for scalar code whose arithmetic is several
    times faster on them than on NumPy's float64 (transforms/float_items.py). Where NumPy's error settings ask
    more than a warning (`np.errstate(over="raise")`, `np.seterr(all="call")`), or the warning filters make
    NumPy's RuntimeWarning an error (`python -W error`), a list of NumPy's scalars instead: the code's arithmetic
    is then NumPy's, with its errors.

        >>> type(float_items(np.ones(2))[0]), type(float_items(np.ones((2, 2)))[0][0])
        (<class 'float'>, <class 'float'>)
    """
    state = _error_state.get() if _error_state is not None else None
    filters = warnings.filters
    shown = (id(filters), len(filters), id(filters[0]) if filters else None)
    if state is not _ERRORS_SEEN[0] or shown != _ERRORS_SEEN[1] or state is None:
        _ERRORS_SEEN[:] = [state, shown, all(v in ("warn", "ignore") for v in np.geterr().values())
                           and _runtime_warnings_warn(filters)]
    return a.tolist() if _ERRORS_SEEN[2] else list(a)


def _runtime_warnings_warn(filters) -> bool:
    """Whether no warning filter that may apply to a RuntimeWarning of NumPy's makes it an error."""
    return not any(action == "error" and issubclass(RuntimeWarning, category)
                   for action, _message, category, _module, _line in filters)
