"""Numeric differentiation: finite differences, complex step and Richardson extrapolation.

This is the contrast to what the rest of s2s does. Automatic differentiation applies the chain rule
to the program and is exact up to the rounding of the arithmetic it performs; numeric
differentiation only *evaluates* `f` near `x` and estimates the slope, so it works on any function
(no source needed) but pays with accuracy.

Two errors pull the step `h` in opposite directions:

* **Truncation error** comes from cutting off the Taylor series
  ``f(x + h) = f(x) + h f'(x) + h**2/2 f''(x) + ...``. The forward difference
  ``(f(x + h) - f(x)) / h`` is off by about ``h/2 |f''|`` (first order); the central difference
  ``(f(x + h) - f(x - h)) / (2h)`` cancels the even terms and is off by about ``h**2/6 |f'''|``
  (second order). It shrinks as `h` shrinks.
* **Rounding error** comes from subtracting two nearly equal floating-point numbers: each value of
  `f` carries a relative error of about ``eps`` (machine epsilon, 2.2e-16), so the difference has an
  absolute error of about ``eps |f|`` that is then divided by `h`. It grows as `h` shrinks.

Balancing ``h`` against ``eps / h`` gives the forward difference its best step near ``sqrt(eps)``
(about 1e-8, leaving ~8 correct digits); balancing ``h**2`` against ``eps / h`` gives the central
difference its best step near ``cbrt(eps)`` (about 6e-6, ~10-11 digits). Both are scaled by
``max(1, |x|)`` so the step stays meaningful relative to the magnitude of `x`.

The **complex step** ``Im f(x + ih) / h`` escapes the trade-off: for a real-analytic `f`,
``f(x + ih) = f(x) + ih f'(x) - h**2/2 f''(x) + ...``, so the imaginary part is ``h f'(x)`` up to
an ``h**3`` term and *no subtraction* happens. With ``h = 1e-20`` the truncation term vanishes below
rounding and the result is accurate to machine precision. The price: `f` must accept complex input
and be written with operations that extend analytically (no ``abs``, comparisons on the perturbed
value, ``np.real``/``np.conj``, ``float()``, or assignment into real arrays).

**Richardson extrapolation** (here in Ridders' form, a Neville tableau) evaluates central
differences at a sequence of halving steps and extrapolates them to ``h -> 0``, cancelling the
``h**2, h**4, ...`` truncation terms one by one; it starts from a comparatively large step, so the
rounding error stays small, and returns the tableau entry with the smallest error estimate.

    >>> import numpy as np
    >>> from s2s import numeric
    >>> numeric.gradient(np.sin, 1.0, method="complex")   # == cos(1.0) to the last digit
    0.5403023058681398
"""

from __future__ import annotations

import functools
import inspect
import warnings

import numpy as np

__all__ = ["METHODS", "ComplexStepError", "default_step", "error_curve", "gradient", "jacobian"]

METHODS = ("forward", "central", "complex", "richardson")

_EPS = np.finfo(float).eps
_BASE_STEP = {"forward": np.sqrt(_EPS), "central": np.cbrt(_EPS), "complex": 1e-20, "richardson": 1e-2}
_RICHARDSON_LEVELS = 6   # central differences at h0, h0/2, ..., h0/32

_ComplexWarning = getattr(np, "exceptions", np).ComplexWarning


class ComplexStepError(ValueError):
    """`f` cannot be evaluated at a complex point, so the complex step method does not apply."""


def _check_method(method):
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")


def default_step(method, x):
    """The step `gradient` uses for `method` at `x` when no `step` is given.

    Relative steps, ``base * max(1, |x|)`` per element, with ``base`` = ``sqrt(eps)`` (~1.5e-8) for
    "forward", ``cbrt(eps)`` (~6e-6) for "central" and 1e-2 (the first, largest step of the
    tableau) for "richardson"; "complex" uses the absolute step 1e-20, which needs no scaling since
    nothing is subtracted. Returns a float for a number or 0-d `x`, else an array shaped like `x`.
    """
    _check_method(method)
    x = np.asarray(x, dtype=float)
    if method == "complex":
        h = np.full(x.shape, _BASE_STEP["complex"])
    else:
        h = _BASE_STEP[method] * np.maximum(1.0, np.abs(x))
    return float(h) if h.ndim == 0 else h


def gradient(f, *args, wrt=0, method="central", step=None, kwargs=None):
    """Numeric derivative of ``f(*args, **kwargs)`` with respect to the argument(s) `wrt`.

    wrt: a position, a parameter name, or a tuple (or list) of them; a tuple gives a tuple of
        results, as for `s2s.grad`. Each argument is varied with the others held fixed.
    method: one of `METHODS` -- "forward" (one-sided difference, error O(h)), "central" (error
        O(h**2)), "complex" (complex step, ``Im f(x + ih) / h``, accurate to machine precision) or
        "richardson" (central differences at halving steps, extrapolated to h -> 0).
    step: a float (or an array broadcastable to the argument's shape) that replaces
        `default_step(method, x)`; for "richardson" it is the first, largest step.

    The argument is copied and converted to float (integers included) before it is perturbed, so the
    caller's arrays are never modified. A scalar output gives a result shaped like the argument: a
    float for a Python number or 0-d array, an array otherwise (also for a list argument). A
    non-scalar output gives the Jacobian, of shape ``out.shape + arg.shape``.

    The complex step needs a real-analytic `f` that accepts complex input. Code that uses ``abs()``,
    comparisons (``<``, ``max``, ``np.maximum``, branches) on the perturbed value, ``np.real``,
    ``np.conj``, ``.real``/``.imag`` or ``float()`` breaks the analytic extension and gives wrong
    derivatives; functions that raise on complex input (``math.sin``) or return a real value raise
    `ComplexStepError` (a ValueError). Use ``method="central"`` for those.
    """
    _check_method(method)
    kwargs = dict(kwargs or {})
    items = tuple(wrt) if isinstance(wrt, tuple | list) else (wrt,)
    results = tuple(_differentiate(f, args, kwargs, _locate(f, args, kwargs, w), method, step) for w in items)
    return results if isinstance(wrt, tuple | list) else results[0]


jacobian = gradient  # the same function: a non-scalar output gives the Jacobian


def error_curve(f, x, exact, steps, methods=("forward", "central", "complex")):
    """Absolute error of each method against the exact derivative, step by step.

    Returns ``{method: errors}`` where ``errors[i]`` is the largest absolute difference between
    ``gradient(f, x, method=method, step=steps[i])`` and `exact` (for an array `x`, the maximum over
    its elements). Plotted on log-log axes against `steps` this shows the V of truncation vs rounding
    error for "forward" and "central", while the "complex" error falls with h**2 down to machine
    precision and stays there for every smaller step.
    """
    for method in methods:
        _check_method(method)
    exact = np.asarray(exact, dtype=float)
    curves = {}
    for method in methods:
        errors = [np.max(np.abs(np.asarray(gradient(f, x, method=method, step=float(h))) - exact)) for h in steps]
        curves[method] = np.array(errors, dtype=float)
    return curves


def _locate(f, args, kwargs, w):
    """('pos', index) or ('kw', name) for the argument `w` names."""
    if isinstance(w, bool) or not isinstance(w, int | str):
        raise TypeError(f"wrt must be an int, a parameter name or a tuple of them, not {w!r}")
    if isinstance(w, int):
        if not -len(args) <= w < len(args):
            raise IndexError(f"wrt={w} is out of range: {len(args)} positional argument(s) were given")
        return "pos", w % len(args)
    if w in kwargs:
        return "kw", w
    try:
        params = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        raise TypeError(f"wrt={w!r}: cannot read the parameter names of {f!r}; pass a position") from None
    if w in params and params.index(w) < len(args):
        return "pos", params.index(w)
    raise ValueError(f"wrt={w!r} names no argument of this call; the parameters are {params}")


def _differentiate(f, args, kwargs, where, method, step):
    """The derivative (or Jacobian) with respect to one argument."""
    kind, key = where
    original = args[key] if kind == "pos" else kwargs[key]
    x0 = np.array(original, dtype=float)   # a fresh float copy: ints converted, caller untouched
    as_number = x0.ndim == 0 and not isinstance(original, np.ndarray)

    def call(value):
        value = value.item() if as_number else value
        if kind == "pos":
            return f(*args[:key], value, *args[key + 1:], **kwargs)
        return f(*args, **{**kwargs, key: value})

    h = default_step(method, x0) if step is None else step
    h = np.broadcast_to(np.asarray(h, dtype=float), x0.shape)
    if not np.all(np.isfinite(h) & (h > 0)):
        raise ValueError(f"step must be positive and finite, got {step!r}")
    base = functools.cache(lambda: _real(call(x0.copy())))   # f(x), evaluated once if a method needs it
    columns = [_DIFFERENCES[method](call, x0, k, h.flat[k], base) for k in range(x0.size)]
    jac = np.stack(columns, axis=-1).reshape(columns[0].shape + x0.shape)
    return float(jac) if jac.ndim == 0 else jac


def _real(value):
    return np.asarray(value, dtype=float)


def _moved(x0, k, delta):
    """A copy of `x0` with element `k` moved by `delta`."""
    x = x0.astype(np.result_type(x0, delta))
    x.flat[k] += delta
    return x


def _forward(call, x0, k, h, base):
    xp = _moved(x0, k, h)
    taken = xp.flat[k] - x0.flat[k]   # the step actually taken (x + h is rounded); read before f can modify xp
    return (_real(call(xp)) - base()) / taken


def _central(call, x0, k, h, base=None):
    xp, xm = _moved(x0, k, h), _moved(x0, k, -h)
    taken = xp.flat[k] - xm.flat[k]   # as in _forward: the rounded step, read before f can modify xp, xm
    return (_real(call(xp)) - _real(call(xm))) / taken


def _complex(call, x0, k, h, base=None):
    with warnings.catch_warnings():
        warnings.simplefilter("error", _ComplexWarning)
        try:
            out = np.asarray(call(_moved(x0, k, 1j * h)))
        except (TypeError, _ComplexWarning) as exc:
            raise ComplexStepError(f"the complex step needs a function that accepts complex input, but it failed with "
                                   f"{type(exc).__name__}: {exc}; use method='central' instead") from exc
    if not np.iscomplexobj(out):
        raise ComplexStepError("the complex step got a real value back for a complex input: the imaginary part that "
                               "carries the derivative was dropped (abs, np.real, float(), a real array, ...); "
                               "use method='central' instead")
    return out.imag / h


def _richardson(call, x0, k, h, base=None):
    """Ridders' method: a Neville tableau of central differences at steps h, h/2, h/4, ...

    Column j cancels the h**(2j) truncation term: T[i][j] = (4**j T[i][j-1] - T[i-1][j-1]) / (4**j - 1).
    Each entry's error is estimated from its neighbours; the best entry is returned, and the sweep stops
    once the diagonal starts to grow away from it (rounding error taking over).
    """
    best, best_err = None, np.inf
    previous = []
    for i in range(_RICHARDSON_LEVELS):
        row = [_central(call, x0, k, h / 2.0**i)]
        for j in range(1, i + 1):
            factor = 4.0**j
            row.append((factor * row[j - 1] - previous[j - 1]) / (factor - 1.0))
            err = max(np.max(np.abs(row[j] - row[j - 1]), initial=0.0), np.max(np.abs(row[j] - previous[j - 1]), initial=0.0))
            if err <= best_err:
                best, best_err = row[j], err
        if i and np.max(np.abs(row[i] - previous[i - 1]), initial=0.0) >= 2.0 * best_err:
            break
        previous = row
    return row[0] if best is None else best


_DIFFERENCES = {"forward": _forward, "central": _central, "complex": _complex, "richardson": _richardson}
