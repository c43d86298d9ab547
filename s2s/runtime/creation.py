"""Creation functions and piecewise functions, right or refused: np.full, np.arange, np.linspace,
divmod (adjoints and tangents; rules in s2s/rules/numpy_elementwise.py and builtin_rules.py).
"""

from __future__ import annotations

import numpy as np

from s2s.runtime.adjoint import add, unbroadcast
from s2s.runtime.arrays import _float_dtype, _in_library_of, _inexact, _zeros_of, broadcast_to_like, is_array, is_foreign, shape_of
from s2s.runtime.reductions import expand_reduced
from s2s.runtime.tangents import broadcast_like
from s2s.runtime.zero import ZERO, is_zero, linear_in_g


@linear_in_g
def grad_fill(g, ans, fill_value):
    """Adjoint of np.full / np.full_like for the fill value: every element is a copy of it."""
    if not _inexact(ans):  # an integer result truncates: no derivative flows
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


@linear_in_g
def grad_arange(g, ans, role):
    """Adjoint of np.arange for one argument: element i is start + i * step.

    The number of elements is taken as fixed: it changes only where (stop - start) / step crosses
    an integer, and there the output's length jumps (no derivative exists; this is the one-sided
    derivative in the direction that keeps the length, as np.floor's derivative is taken to be 0).
    """
    if role not in ("start", "step") or not _inexact(ans):
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


@linear_in_g
def grad_linspace(g, ans, x, num, endpoint, retstep, axis, which):
    """Adjoint of np.linspace for start (which=0) or stop (which=1), the argument `x`.

    The samples are (1 - t) * start + t * stop; with retstep the step is (stop - start) / div.
    """
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


@linear_in_g
def grad_divmod(g, ans, x, which):
    """Adjoint of divmod(x, y) (and np.divmod) for x (which=0) or y: the quotient q is piecewise
    constant, the remainder is x - y * q."""
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
