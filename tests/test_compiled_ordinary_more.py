"""benchmarks/ordinary_more.py's programs that compile: under compile="strict" (no fallback), each gives the NumPy
code's gradient (rtol 1e-10: the same operations, some sums in another order) with its types and shapes, and
central differences'. Each is compiled once (numba takes seconds a program)."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad

numba = pytest.importorskip("numba")

from s2s import compiled  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import ordinary_more  # noqa: E402

PROGRAMS = {name.split(",")[0]: (f, args, wrt) for name, f, args, wrt in ordinary_more.programs()}
COMPILED = ["Gaussian mixture log-likelihood", "causal attention", "batch norm + relu layer", "1-d heat equation"]
# (the HMM, the polynomial fit and the float32 logistic regression: tests/test_compiled_ordinary_more2.py)


def _leaves(g):
    if isinstance(g, dict):
        return [x for k in sorted(g) for x in _leaves(g[k])]
    if isinstance(g, list | tuple):
        return [x for v in g for x in _leaves(v)]
    return [g]


@pytest.mark.parametrize("name", COMPILED)
def test_compiles_and_gives_the_numpy_code_s_gradient(name):
    compiles_as_numpy(name)


def compiles_as_numpy(name):
    """The program `name` of ordinary_more.py compiles (no fallback) and gives the NumPy code's gradient."""
    f, args, wrt = PROGRAMS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        df = s2s.grad(f, wrt=wrt, compile="strict")
        got = df(*args)
        again = df(*args)  # (the hot code)
    want = s2s.grad(f, wrt=wrt)(*args)
    for a, b, c in zip(_leaves(got), _leaves(want), _leaves(again)):
        assert type(a) is type(b) and np.shape(a) == np.shape(b) and getattr(a, "dtype", None) == getattr(b, "dtype", None)
        # float32: NumPy's float32 operations (a Python number with a float32 array is float32, as in NumPy), some
        # sums in another order
        single = np.result_type(a) == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5 if single else 1e-10, atol=1e-7 if single else 1e-13)
        np.testing.assert_array_equal(a, c)
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    for k, p in enumerate(positions):
        g = got[k] if isinstance(wrt, tuple) else got
        if np.result_type(g) != np.float32:
            np.testing.assert_allclose(g, fd_grad(f, args, p), rtol=1e-5, atol=1e-6)


def test_float32_arithmetic_with_python_numbers_stays_float32():
    # numba computes `float32 array * 2.0` in float64 (and `z_bar @ X` then mixed float64 and float32, which numba's
    # matmul refuses); NumPy converts the Python number to float32 first: numba_lowering.weak_numbers does too, so
    # the compiled float32 gradient is NumPy's own float32 arithmetic, not a more precise one
    def f(w, X):
        z = X @ w
        z *= 0.1
        return np.sum(0.3 * z * z + 1 / (1.0 + z ** 2) + np.maximum(z, 0.2)) / X.shape[0]

    rng = np.random.default_rng(0)
    w, X = rng.normal(size=3).astype(np.float32), rng.normal(size=(6, 3)).astype(np.float32)
    got = s2s.grad(f, compile="strict")(w, X)
    want = s2s.grad(f)(w, X)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=2e-6)
    w64 = w.astype(np.float64)
    assert np.max(np.abs(s2s.grad(f)(w64, X.astype(np.float64)) - got)) > 0  # (float32's rounding, not float64's)
