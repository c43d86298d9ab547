"""Helpers of elementwise rules (s2s/rules/numpy_elementwise.py, math_rules.py, operators.py):
safe slopes of powers, divisions as NumPy divides, masks of max/min/clip/where.
"""

from __future__ import annotations

import numpy as np

from s2s import patches
from s2s.runtime.adjoint import _refuse_complex, unbroadcast
from s2s.runtime.arrays import _arr, is_array
from s2s.runtime.zero import linear_in_g, zero_safe

_math = patches.genuine("math")  # math as s2s loaded it: a later math.log = ... is not read


@linear_in_g
def grad_where(g, cond, x, take_x):
    """Adjoint of np.where(cond, x, y) for x (take_x) or y."""
    mask = cond if take_x else np.logical_not(cond)
    return unbroadcast(np.where(mask, g, 0.0), x)


@linear_in_g
def grad_clip(g, x, lo, hi):
    """Adjoint of np.clip for x."""
    return unbroadcast(g * clip_mask(x, lo, hi), x)


def log_scale(base):
    """The factor `log(base)` of a logarithm's derivative; 1 for the natural log (base None)."""
    return 1.0 if base is None else np.log(base)


def balanced_eq(x, ans, other):
    """Mask for max/min adjoints: 1 where x won, 0.5 where it tied with `other`."""
    if isinstance(x, list | tuple):  # (np.maximum takes lists: a list's `x == other` is one False, not a mask)
        x = np.asarray(x)
    if isinstance(other, list | tuple):
        other = np.asarray(other)
    dtype = x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype
    one = np.result_type(dtype, 1.0).type(1.0)  # a NumPy scalar in x's precision (float32 stays float32)
    return (x == ans) / (one + (x == other))


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


def power_slope(x, y):
    """d(x ** y)/dx = y * x ** (y - 1), exactly 0 where y == 0 (x ** 0 is 1 for every x, 0 included).

    Elsewhere NumPy's values with its warnings: inf at x == 0 for 0 < y < 1 (where Python floats
    would raise ZeroDivisionError), nan where the power is not real.
    """
    x, y = _listed(x), _listed(y)
    return power_term(y, x, y - 1)


def _listed(v):
    """A list or tuple of numbers as the array NumPy reads it as (`np.power(x, [1, 2, 3])`), else v itself."""
    return np.asarray(v) if isinstance(v, list | tuple) else v


def power_term(c, x, y):
    """c * x ** y, exactly 0 where c == 0: the derivatives of a power, whose factor c is 0 where the term is
    (`power_slope(x, y)`'s derivative in x is `power_term(y * (y - 1), x, y - 2)`, 0 where y is 0 or 1, also at
    x == 0 where x ** (y - 2) is inf); its own derivative in x is `power_term(c * y, x, y - 1)`.

        >>> power_term(0.0, 0.0, -1), power_term(6.0, 2.0, 1)
        (0.0, 12.0)
    """
    c, x, y = _listed(c), _listed(x), _listed(y)
    if type(y) is int and not -2 ** 63 <= y < 2 ** 63:  # (NumPy would wrap it: np.where(zero, 1, 2 ** 64) is 0)
        return _power_term_of_a_big_int(c, x, y)
    if is_array(c) or is_array(x) or is_array(y):
        zero = c == 0
        return np.where(zero, 0.0, c * np.power(x, np.where(zero, 1, y)))
    if c == 0:
        return 0.0
    return c * float(np.power(np.float64(x), y))


def _power_term_of_a_big_int(c, x, y):
    """`power_term(c, x, y)` of an int y beyond int64: |x| ** float(y) (0, 1 or inf but where |x| is 1), its sign
    from y's parity where x is negative (float(y) is even: 2 ** 64 + 1 rounds to 2 ** 64)."""
    sign = -1.0 if y % 2 else 1.0
    magnitude = np.power(np.abs(np.asarray(x, dtype=float)), float(y))
    c = np.asarray(c if is_array(c) else float(c), dtype=float)  # (c an int as big as y, or an array of floats)
    out = np.where(c == 0, 0.0, c * np.where(np.asarray(x) < 0, sign, 1.0) * magnitude)
    return out if is_array(c) or is_array(x) else float(out)


def power_term_dy(c, x, y):
    """d(power_term(c, x, y))/dy = c * x ** y * log(x) for x > 0; 0 elsewhere (the exponent's derivative of a
    power is taken to be 0 where x <= 0, as in `power_slope_dy`) and where c == 0."""
    c, x, y = _listed(c), _listed(x), _listed(y)
    if is_array(c) or is_array(x) or is_array(y):
        keep = (x > 0) & (c != 0)
        safe = np.where(keep, x, 1.0)
        return np.where(keep, c * np.power(safe, y) * np.log(safe), 0.0)
    if x <= 0 or c == 0:
        return 0.0
    return c * x ** y * _math.log(x)


def power_slope_dy(x, y):
    """d(power_slope(x, y))/dy = x ** (y - 1) * (1 + y * log(x)) for x > 0; 0 elsewhere, as the
    exponent's derivative of `x ** y` is taken to be 0 where x <= 0."""
    x, y = _listed(x), _listed(y)
    if is_array(x) or is_array(y):
        pos = x > 0
        safe = np.where(pos, x, 1.0)
        return np.where(pos, np.power(safe, y - 1) * (1 + y * np.log(safe)), 0.0)
    if x <= 0:
        return 0.0
    return x ** (y - 1) * (1 + y * _math.log(x))


@zero_safe
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
