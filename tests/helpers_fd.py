"""Central finite differences and comparison helpers shared by the program tests."""

import numpy as np


def _as_float(value):
    return float(np.asarray(value, dtype=float))


def fd_grad(f, args, wrt=0, eps=1e-6, kwargs=None):
    """Central finite-difference gradient of scalar `f(*args, **kwargs)` w.r.t. positional arg `wrt`."""
    kwargs = kwargs or {}
    args = list(args)
    x0 = args[wrt]
    if np.isscalar(x0) or np.ndim(x0) == 0:
        def at(v):
            a = list(args)
            a[wrt] = v
            return _as_float(f(*a, **kwargs))
        x0 = float(x0)
        return (at(x0 + eps) - at(x0 - eps)) / (2 * eps)
    x0 = np.array(x0, dtype=float)
    g = np.zeros_like(x0)
    it = np.nditer(x0, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        xp = x0.copy()
        xm = x0.copy()
        xp[idx] += eps
        xm[idx] -= eps
        ap = list(args)
        am = list(args)
        ap[wrt] = xp
        am[wrt] = xm
        g[idx] = (_as_float(f(*ap, **kwargs)) - _as_float(f(*am, **kwargs))) / (2 * eps)
    return g


def assert_close(actual, expected, rtol=1e-5, atol=1e-6):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, f"shape {actual.shape} != expected {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def check_grad(s2s_grad, f, args, wrt=0, kwargs=None, rtol=1e-5, atol=1e-6, eps=1e-6):
    """Compare an s2s gradient (already computed) to central finite differences."""
    expected = fd_grad(f, args, wrt=wrt, eps=eps, kwargs=kwargs)
    assert_close(s2s_grad, expected, rtol=rtol, atol=atol)


def autograd_version(f):
    """`f` re-bound so that the module's `np` means autograd.numpy (helpers in the same module too)."""
    import types

    import autograd.numpy as anp

    old = f.__globals__
    new = dict(old)
    new["np"] = anp
    for name, value in list(old.items()):
        if isinstance(value, types.FunctionType) and value.__globals__ is old:
            fn = types.FunctionType(value.__code__, new, value.__name__, value.__defaults__, value.__closure__)
            fn.__kwdefaults__ = value.__kwdefaults__
            new[name] = fn
    fn = types.FunctionType(f.__code__, new, f.__name__, f.__defaults__, f.__closure__)
    fn.__kwdefaults__ = f.__kwdefaults__
    return fn


def check_all(f, args, wrt=0, kwargs=None, use_autograd=True, rtol=1e-5, atol=1e-6):
    """s2s.grad(f, wrt) against central differences and (optionally) autograd; returns the s2s gradient."""
    import s2s

    kwargs = kwargs or {}
    g = s2s.grad(f, wrt=wrt)(*args, **kwargs)
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    grads = g if isinstance(wrt, tuple) else (g,)
    assert len(grads) == len(positions)
    for p, gi in zip(positions, grads):
        check_grad(gi, f, args, wrt=p, kwargs=kwargs, rtol=rtol, atol=atol)
        if use_autograd:
            import autograd
            expected = autograd.grad(autograd_version(f), p)(*args, **kwargs)
            assert_close(gi, expected, rtol=1e-7, atol=1e-9)
    return g


def check_all_and_general(f, args, wrt=0, use_autograd=True):
    """`check_all`, and the same gradient from the general code of s2s.derivative (to 1e-10): the specialised
    code computes the general code's numbers."""
    import s2s

    got = check_all(f, args, wrt=wrt, use_autograd=use_autograd)
    general = s2s.derivative(f, wrt=wrt)(*args)
    for a, b in zip(got if isinstance(wrt, tuple) else (got,), general if isinstance(wrt, tuple) else (general,)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def compiled_matches(f, args, wrt=0, rtol=1e-9, fd_rtol=1e-5):
    """s2s.grad(f, compile="strict") (no fallback warning) equals the NumPy code's gradient and central
    differences; the compiled gradient (a tuple of them for a tuple `wrt`)."""
    import warnings

    import s2s
    from s2s import compiled
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        got = s2s.grad(f, wrt=wrt, compile="strict")(*args)
    numpy_code = s2s.grad(f, wrt=wrt)(*args)
    for k, i in enumerate(wrt) if isinstance(wrt, tuple) else [(None, wrt)]:
        each, numpy_each = (got, numpy_code) if k is None else (got[k], numpy_code[k])
        np.testing.assert_allclose(each, numpy_each, rtol=rtol, atol=1e-12)
        np.testing.assert_allclose(each, fd_grad(f, args, i), rtol=fd_rtol, atol=1e-6)
    return got


def gradient_and_value_match(f, x, rtol=1e-6, atol=1e-6):
    """s2s.grad(f)(x) equals central differences, and s2s.value_and_grad's value what Python computes (on a copy of
    x: programs that update arrays in place must not reach the caller's)."""
    import pytest

    import s2s
    np.testing.assert_allclose(s2s.grad(f)(x), fd_grad(f, (x,)), rtol=rtol, atol=atol)
    value, _ = s2s.value_and_grad(f)(x)
    assert value == pytest.approx(f(x.copy()))
