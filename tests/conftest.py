"""Shared helpers for the derivative-rule tests.

`check_grad(f, *args, wrt=...)` compares `s2s.grad(f)` against a central
finite-difference gradient and against autograd. For autograd, `f` is
re-created with its globals `np` and `math` swapped for `autograd.numpy`
(and a small `math` look-alike built on it), unless an explicit equivalent
function `ag=...` is given; `ag=False` skips the autograd comparison.
"""

from __future__ import annotations

import math
import os
import types
import warnings

import autograd
import autograd.numpy as anp
import numpy as np

import s2s

# The compiled-derivative tests (compile=...) spend most of their time in numba's compiler, a third of it in LLVM's
# optimization passes (NUMBA_OPT=3). Those change no number here (s2s asks for no fastmath: IEEE
# arithmetic in the order written, at any level), only the speed of the machine code, which the tests'
# small arrays do not need: they compile unoptimized. (numba reads it when first imported, which s2s and
# this file do not do. `NUMBA_OPT=3 pytest` tests the optimized code.)
os.environ.setdefault("NUMBA_OPT", "0")

# ---- finite differences ----------------------------------------------------


def _perturbed(args, i, value):
    out = list(args)
    out[i] = value
    return out


def numeric_grad(f, args, wrt=0, eps=1e-6):
    """Central finite-difference gradient of scalar `f(*args)` w.r.t. args[wrt].

    `wrt` may be an int or a tuple of ints (then a tuple of gradients is
    returned). Works for Python floats and float ndarrays of any shape.
    """
    if isinstance(wrt, tuple):
        return tuple(numeric_grad(f, args, w, eps) for w in wrt)
    args = list(args)
    x = args[wrt]
    if isinstance(x, np.ndarray):
        x = x.astype(float)
        grad = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            xp = x.copy()
            xm = x.copy()
            h = eps * max(1.0, abs(float(x[idx])))
            xp[idx] += h
            xm[idx] -= h
            fp = float(f(*_perturbed(args, wrt, xp)))
            fm = float(f(*_perturbed(args, wrt, xm)))
            grad[idx] = (fp - fm) / (2 * h)
        return grad
    x = float(x)
    h = eps * max(1.0, abs(x))
    fp = float(f(*_perturbed(args, wrt, x + h)))
    fm = float(f(*_perturbed(args, wrt, x - h)))
    return (fp - fm) / (2 * h)


# ---- autograd twin ----------------------------------------------------------


def _math_shim():
    """A `math` namespace whose functions autograd can trace."""
    ns = types.SimpleNamespace(**{k: getattr(math, k) for k in dir(math) if not k.startswith("_")})
    for name, fn in {
        "sin": anp.sin, "cos": anp.cos, "tan": anp.tan, "asin": anp.arcsin, "acos": anp.arccos,
        "atan": anp.arctan, "atan2": anp.arctan2, "sinh": anp.sinh, "cosh": anp.cosh,
        "tanh": anp.tanh, "asinh": anp.arcsinh, "acosh": anp.arccosh, "atanh": anp.arctanh,
        "exp": anp.exp, "expm1": anp.expm1, "log1p": anp.log1p, "log2": anp.log2,
        "log10": anp.log10, "sqrt": anp.sqrt, "pow": anp.power, "fabs": anp.abs,
    }.items():
        setattr(ns, name, fn)
    ns.log = lambda x, base=None: anp.log(x) if base is None else anp.log(x) / anp.log(base)
    ns.hypot = lambda *c: anp.sqrt(sum(v * v for v in c))
    return ns


_AG_MATH = _math_shim()


def autograd_twin(f):
    """`f` with `np` and `math` in its globals replaced by autograd-traceable ones."""
    glb = dict(f.__globals__)
    glb["np"] = anp
    glb["math"] = _AG_MATH
    return types.FunctionType(f.__code__, glb, f.__name__, f.__defaults__, f.__closure__)


def _as_tuple(g, wrt):
    return g if isinstance(wrt, tuple) else (g,)


def _assert_close(actual, expected, rtol, atol, what):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=rtol, atol=atol, err_msg=what)


def check_grad(f, *args, wrt=0, rtol=1e-5, atol=1e-6, ag=None):
    """Check s2s.grad(f, wrt)(*args) against finite differences and autograd.

    `ag`: None derives the autograd version of `f` automatically, a function
    is used as the equivalent autograd.numpy function, False skips autograd.
    Returns the s2s gradient.
    """
    got = s2s.grad(f, wrt=wrt)(*args)
    got_t = _as_tuple(got, wrt)
    wrts = wrt if isinstance(wrt, tuple) else (wrt,)
    assert len(got_t) == len(wrts)
    for g, w in zip(got_t, wrts):
        x = args[w]
        assert np.shape(g) == np.shape(x), f"gradient for argument {w} has shape {np.shape(g)}, not {np.shape(x)}"
        assert np.all(np.isfinite(g)), f"non-finite gradient for argument {w}: {g}"

    num_t = _as_tuple(numeric_grad(f, args, wrt), wrt)
    for g, n, w in zip(got_t, num_t, wrts):
        # finite differences carry ~1e-9 absolute noise; allow a little slack on atol
        _assert_close(g, n, max(rtol, 1e-5), max(atol, 1e-6), f"s2s vs finite differences, argument {w}")

    if ag is not False:
        twin = autograd_twin(f) if ag is None else ag
        for g, w in zip(got_t, wrts):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Output seems independent of input")
                expected = autograd.grad(twin, w)(*args)
            _assert_close(g, expected, rtol, atol, f"s2s vs autograd, argument {w}")
    return got


def rng(seed):
    """A seeded generator (shorthand)."""
    return np.random.default_rng(seed)
