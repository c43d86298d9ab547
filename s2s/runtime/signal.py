"""Adjoint helpers for np.convolve, np.correlate, np.trapezoid and np.polyval (1-d signals and polynomials).

Each mode of np.convolve and np.correlate is a window of the 'full' result, so an adjoint pads `g` into
the full length and correlates it with the other argument (`_window` says where NumPy's window lies).
"""

from __future__ import annotations

import numpy as np

from s2s.runtime.adjoint import unbroadcast
from s2s.runtime.zero import linear_in_g

_MODES = ("full", "valid", "same")


def _refuse(message, hint):
    from s2s.errors import NoDerivativeRuleError
    raise NoDerivativeRuleError(message, hint=hint)


def _window(n: int, m: int, mode, correlate: bool) -> tuple[int, int]:
    """(start, length) of the `mode` result of np.convolve (np.correlate) of lengths n, m in its 'full' one."""
    if not isinstance(mode, str) or mode not in _MODES:
        _refuse(f"s2s differentiates np.{'correlate' if correlate else 'convolve'} with mode 'full', 'valid' or "
                f"'same', not {mode!r}", "write the mode as one of those strings")
    lo, hi = min(n, m), max(n, m)
    if mode == "full":
        return 0, n + m - 1
    if mode == "valid":
        return lo - 1, hi - lo + 1
    # 'same': NumPy centres the window; np.correlate with the longer second argument rounds the other way
    return ((lo - 1) // 2 if not correlate or n >= m else lo // 2), hi


def _one_d(a, what):
    if np.ndim(a) > 1:
        _refuse(f"{what} takes 1-d arrays (NumPy raises for others)", "pass 1-d arrays")
    return np.ravel(a)


def _padded(g, n, m, mode, correlate):
    start, length = _window(n, m, mode, correlate)
    full = np.zeros(n + m - 1, dtype=np.result_type(g, float))
    full[start:start + length] = g
    return full


@linear_in_g
def grad_convolve(g, a, v, mode, which):
    """Adjoint of np.convolve(a, v, mode) for a (which=0) or v: the full result's adjoint correlated
    with the other argument.

        >>> grad_convolve(np.array([1.0, 0.0, 0.0]), np.array([1.0, 2.0]), np.array([3.0, 4.0]), "full", 0)
        array([3., 0.])
    """
    a1, v1 = _one_d(a, "np.convolve"), _one_d(v, "np.convolve")
    full = _padded(g, len(a1), len(v1), mode, False)
    out = np.correlate(full, v1 if which == 0 else a1, "valid")
    return np.reshape(out, np.shape(a if which == 0 else v))


@linear_in_g
def grad_correlate(g, a, v, mode, which):
    """Adjoint of np.correlate(a, v, mode) for a (which=0) or v (real arguments): np.correlate(a, v) is
    np.convolve(a, v[::-1]) in the 'full' mode.

        >>> grad_correlate(np.array([0.0, 1.0, 0.0]), np.array([1.0, 2.0]), np.array([3.0, 4.0]), "full", 1)
        array([1., 2.])
    """
    a1, v1 = _one_d(a, "np.correlate"), _one_d(v, "np.correlate")
    full = _padded(g, len(a1), len(v1), mode, True)
    if which == 0:
        return np.reshape(np.correlate(full, v1[::-1], "valid"), np.shape(a))
    return np.reshape(np.correlate(full, a1, "valid")[::-1], np.shape(v))


def _spacing(y, x, dx, axis):
    """The spacing `d` np.trapezoid multiplies with (y[1:] + y[:-1]) / 2 along `axis`, as NumPy makes it."""
    if x is None:
        return dx
    x = np.asarray(x)
    if x.ndim == 1:
        shape = [1] * np.ndim(y)
        shape[axis] = x.shape[0] - 1
        return np.reshape(np.diff(x), shape)
    return np.diff(x, axis=axis)


def _grad_diff(d_bar, axis):
    """Adjoint of np.diff(x, axis=axis) (one difference)."""
    d_bar = np.moveaxis(d_bar, axis, -1)
    zero = np.zeros(d_bar.shape[:-1] + (1,), dtype=d_bar.dtype)
    return np.moveaxis(np.concatenate([zero, d_bar], -1) - np.concatenate([d_bar, zero], -1), -1, axis)


@linear_in_g
def grad_trapezoid(g, y, x, dx, axis, which):
    """Adjoint of np.trapezoid(y, x, dx, axis) = sum(d * (y[1:] + y[:-1]) / 2, axis) for y (which=0),
    x (1) or dx (2), where d is np.diff(x) along the axis (or dx where x is None).

        >>> grad_trapezoid(1.0, np.array([1.0, 2.0, 4.0]), None, 0.5, -1, 0)
        array([0.25, 0.5 , 0.25])
    """
    y = np.asarray(y)
    axis = axis % y.ndim
    d = _spacing(y, x, dx, axis)
    g = np.expand_dims(g, axis)
    lo = np.take(y, np.arange(y.shape[axis] - 1), axis=axis)
    hi = np.take(y, np.arange(1, y.shape[axis]), axis=axis)
    if which == 0:
        half = np.moveaxis(np.broadcast_to(g * d / 2.0, np.broadcast_shapes(np.shape(g * d), lo.shape)), axis, -1)
        zero = np.zeros(half.shape[:-1] + (1,), dtype=half.dtype)
        y_bar = np.concatenate([half, zero], -1) + np.concatenate([zero, half], -1)
        return unbroadcast(np.moveaxis(y_bar, -1, axis), y)
    d_bar = unbroadcast(g * (lo + hi) / 2.0, d)
    if which == 2:
        return d_bar if x is None else np.zeros_like(dx, dtype=float)
    if np.ndim(x) == 1:
        return _grad_diff(np.ravel(d_bar), 0)
    return _grad_diff(d_bar, axis)


def polyval_powers(p):
    """The powers of x that the coefficients `p` of np.polyval multiply, highest first (p checked 1-d).

        >>> polyval_powers(np.array([2.0, 0.0, 1.0]))
        array([2, 1, 0])
    """
    _check_coefficients(p)
    return np.arange(np.size(p) - 1, -1, -1)


def polyder_coefficients(p):
    """The coefficients of the derivative of the polynomial with coefficients `p` (np.polyder's, without
    its special case for a constant: an empty array, whose np.polyval is 0).

        >>> polyder_coefficients(np.array([1.0, 2.0, 3.0]))
        array([2., 2.])
    """
    _check_coefficients(p)
    p = np.asarray(p)
    return p[:-1] * np.arange(p.shape[0] - 1, 0, -1)


def _check_coefficients(p):
    if isinstance(p, np.poly1d) or np.ndim(p) != 1:
        _refuse("s2s differentiates np.polyval with a 1-d array (or list) of coefficients",
                "pass the coefficients as a 1-d array (p.coeffs of a np.poly1d)")


# ---- np.interp: piecewise linear in x, linear in fp; x outside [xp[0], xp[-1]] takes left / right (fp's ends)

def _interp_parts(x, xp, fp):
    """(j, t, inside, slope) of np.interp(x, xp, fp): x in [xp[j], xp[j + 1]] at fraction t, whether x is inside
    [xp[0], xp[-1]] (NaN is not), and fp's slope on that interval; an x at a knot takes the interval after it (the
    last knot, the one before), as NumPy's search does."""
    x, xp, fp = np.asarray(x, dtype=float), _one_d(xp, "np.interp's xp"), _one_d(fp, "np.interp's fp")
    if np.iscomplexobj(fp) or np.iscomplexobj(xp) or np.iscomplexobj(x):
        _refuse("s2s differentiates np.interp of real values only", "interpolate the real and imaginary parts apart")
    if len(xp) != len(fp) or len(xp) == 0:
        raise ValueError("fp and xp are not of the same length" if len(xp) != len(fp) else "array of sample points "
                         "is empty")
    inside = (x >= xp[0]) & (x <= xp[-1])
    if len(xp) == 1:  # (one point: fp[0] at that x, nothing to interpolate)
        zeros = np.zeros(x.shape, dtype=int)
        return zeros, np.zeros(x.shape), inside, np.zeros(x.shape)
    j = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, len(xp) - 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        h = xp[j + 1] - xp[j]
        # (outside, t is 0: an x at ±inf or NaN adds 0 * its share, not 0 * inf; an interval of width 0 is the last
        # one, where x is the last knot repeated: NumPy gives fp[-1] there, all of it from the knot after)
        t = np.where(inside, np.where(h == 0, 1.0, (x - xp[j]) / h), 0.0)
        slope = (fp[j + 1] - fp[j]) / h
    return j, t, inside, slope


def grad_interp(g, x, xp, fp, left, right, which):
    """Adjoint of np.interp(x, xp, fp, left, right) for its argument number `which` (0 x, 1 xp, 2 fp, 3 left,
    4 right): x's is g times fp's slope inside [xp[0], xp[-1]] and 0 outside (left and right are constants
    there); fp's and xp's add each x's share into the two knots around it; left's and right's are the sums of g
    where x is outside on their side. An x at a knot, where the slope jumps, takes the interval after it."""
    j, t, inside, slope = _interp_parts(x, xp, fp)
    g = np.broadcast_to(np.asarray(g, dtype=float), inside.shape)
    xp_, n = np.ravel(xp), len(np.ravel(xp))
    xv = np.asarray(x, dtype=float)
    if which == 0:
        out = np.where(inside, g * slope, 0.0)
        return out if np.ndim(x) else float(out)
    if which == 3:
        return float(np.sum(np.where(xv < xp_[0], g, 0.0))) if left is not None else 0.0
    if which == 4:
        return float(np.sum(np.where(xv > xp_[-1], g, 0.0))) if right is not None else 0.0
    share = np.where(inside, g, 0.0).ravel()
    j, t, slope = j.ravel(), t.ravel(), slope.ravel()
    if which == 1:
        if n == 1:
            return np.zeros(1)
        lower = np.where(share != 0, share * slope * (t - 1.0), 0.0)
        upper = np.where(share != 0, -share * slope * t, 0.0)
        return np.bincount(j, weights=lower, minlength=n) + np.bincount(j + 1, weights=upper, minlength=n) + 0.0
    out = np.bincount(j, weights=share * (1.0 - t), minlength=n) + 0.0  # (+ 0.0: an empty x's counts are ints)
    if n > 1:
        out = out + np.bincount(j + 1, weights=share * t, minlength=n)
    if left is None:  # (x below xp[0] takes fp[0])
        out[0] += np.sum(np.where(xv < xp_[0], g, 0.0))
    if right is None:
        out[-1] += np.sum(np.where(xv > xp_[-1], g, 0.0))
    return out


def interp_slope(x, xp, fp):
    """d np.interp(x, xp, fp) / dx: fp's slope on x's interval inside [xp[0], xp[-1]], 0 outside and at NaN."""
    _, _, inside, slope = _interp_parts(x, xp, fp)
    out = np.where(inside, slope, 0.0)
    return out if np.ndim(x) else float(out)


def interp_xp_tangent(x, xp, fp, xp_dot):
    """The tangent of np.interp(x, xp, fp) in the direction xp_dot of the knots."""
    j, t, inside, slope = _interp_parts(x, xp, fp)
    xp_dot = np.broadcast_to(np.asarray(xp_dot, dtype=float), np.shape(xp))
    if len(np.ravel(xp)) == 1:
        return np.zeros(inside.shape) if np.ndim(x) else 0.0
    out = np.where(inside, slope * ((t - 1.0) * xp_dot[j] - t * xp_dot[j + 1]), 0.0)
    return out if np.ndim(x) else float(out)


def _gradient_axes(f, axis):
    """The axes np.gradient(f, axis=axis) differentiates along, in order (all of them for None)."""
    ndim = np.ndim(f)
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, tuple | list) else (axis,)
    return tuple(int(a) % ndim for a in axes)


def _gradient_spacing(varargs, k):
    """The spacing np.gradient uses along its k-th axis: none, one for every axis, or one per axis."""
    if not varargs:
        return ()
    return (varargs[0],) if len(varargs) == 1 else (varargs[k],)


def _stencil_adjoint(g, n, spacing, edge_order):
    """g (..., n), the adjoint of np.gradient along the last axis, taken back to f's entries: np.gradient's output i
    reads f at three consecutive entries at most (two at an edge of order 1), so the coefficients of each residue
    class mod 3 are np.gradient of that class's indicator, and each output's share is added to the entry of its
    window with that residue."""
    g = np.asarray(g, dtype=np.result_type(g, float))
    rows = int(np.prod(g.shape[:-1], dtype=int))
    flat = np.reshape(g, (rows, n))
    i = np.arange(n)
    start = np.clip(i - 1, 0, max(n - (3 if edge_order == 2 else 2), 0))
    out = np.zeros(rows * n, dtype=g.dtype)
    for r in range(3):
        coefficients = np.gradient((i % 3 == r).astype(float), *spacing, edge_order=edge_order)
        column = start + (r - start) % 3
        inside = column < n  # (a window of two at an edge: no entry of the third residue, coefficient 0)
        weights = (flat * coefficients)[:, inside]
        index = (np.arange(rows)[:, None] * n + column[inside][None, :])
        out += np.bincount(index.ravel(), weights=weights.ravel(), minlength=rows * n).astype(g.dtype)
    return np.reshape(out, g.shape)


def grad_gradient(g, f, varargs, axis, edge_order):
    """Adjoint of np.gradient(f, *varargs, axis=axis, edge_order=edge_order) in f: each output's adjoint (a list of
    them for several axes, its items the zero where nothing reached them) taken back along its axis and added.

        >>> grad_gradient(np.ones(4), np.arange(4.0), (), None, 1).tolist()
        [-1.0, -0.5, 0.5, 1.0]
    """
    from s2s.runtime.zero import ZERO, is_zero
    axes = _gradient_axes(f, axis)
    parts = list(g) if len(axes) > 1 and isinstance(g, list | tuple) else [g]
    if np.iscomplexobj(f) or any(not is_zero(p) and np.iscomplexobj(p) for p in parts):
        _refuse("s2s differentiates np.gradient of real arrays only", "take the gradient of the real and imaginary "
                "parts apart")
    total = ZERO
    shape = np.shape(f)
    for k, (ax, part) in enumerate(zip(axes, parts)):
        if is_zero(part):
            continue
        moved = np.moveaxis(np.broadcast_to(part, shape), ax, -1)
        back = np.moveaxis(_stencil_adjoint(moved, shape[ax], _gradient_spacing(varargs, k), edge_order), -1, ax)
        total = back if is_zero(total) else total + back
    return total


def gradient_tangent(t, f, varargs, axis, edge_order):
    """Tangent of np.gradient(f, *varargs, axis=axis, edge_order=edge_order) in f: np.gradient of the tangent."""
    from s2s.runtime.zero import is_zero
    t = np.zeros(np.shape(f)) if is_zero(t) else np.broadcast_to(t, np.shape(f))
    return np.gradient(t, *varargs, axis=axis, edge_order=edge_order)


def vander_powers(x, N, increasing):
    """The exponents of np.vander(x, N, increasing)'s columns, as floats: N - 1 down to 0 (up, with increasing).

        >>> vander_powers(np.ones(3), None, False).tolist()
        [2.0, 1.0, 0.0]
    """
    n = len(x) if N is None else int(N)
    powers = np.arange(n, dtype=float)
    return powers if increasing else powers[::-1]
