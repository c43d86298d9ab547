"""compile=True on float32 programs: state allocated as float32 inside the function, adjoints that start as the
number 0 and are float32 arrays after, norms popped from list tapes, powers and max/min masks. Each compiles under
compile="strict" (no fallback) and gives the NumPy code's gradient, float32 as it is (rtol 1e-5: float32 sums in
another order), and the float64 versions give central differences' gradient. Float64 state in float32 data
compiles; state whose dtype changes from one step to the next falls back with its warning and the NumPy code's
numbers."""

from __future__ import annotations

import ast
import os
import sys
import warnings

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad

numba = pytest.importorskip("numba")

from s2s.transforms import numba_lowering  # noqa: E402

from s2s import compiled, compiled_tapes  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import ordinary_kinds  # noqa: E402  (Kepler's orbit: norms popped from list tapes)


def _step(W, U, x, h):
    h = np.tanh(W @ x + U @ h)
    return h, h[:2]


def elman(W, U, xs, ys):
    h = np.zeros(U.shape[0], dtype=np.float32)
    loss = 0.0
    for t in range(len(xs)):
        h, y = _step(W, U, xs[t], h)
        loss = loss + np.sum((y - ys[t]) ** 2)
    return loss


def softened_energy(pos, soft=0.1):
    vel = np.zeros_like(pos)
    for _ in range(3):
        r2 = pos ** 2 + soft ** 2  # soft ** 2: a Python number, weak as the arrays' float32
        vel = vel + 0.01 * pos * r2 ** -1.5  # ** of a weak exponent stays float32
        pos = pos + 0.01 * vel
    return np.sum(pos) + 0.5 * np.sum(vel ** 2)  # the sums' adjoints spread a Python float


def relu_net(W1, W2, X):
    h = np.maximum(X @ W1, 0.0)
    z = h @ W2
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(z - m), axis=1)) + m[:, 0]) / X.shape[0]


def power_iteration(S, iters=6):
    v = np.ones(S.shape[0], dtype=np.float32)
    for _ in range(iters):
        w = S @ v
        v = w / np.linalg.norm(w)
    return v @ S @ v


def mixed_state(W, xs):
    h = np.zeros(W.shape[0])  # float64 state: W @ h is float64
    for t in range(len(xs)):
        h = np.tanh(W @ h + xs[t])
    return np.sum(h ** 2)


def _data():
    r = np.random.default_rng(38)
    f32 = np.float32
    S = r.normal(size=(5, 5))
    X = r.normal(size=(6, 4))
    X[0, :] = 0.0  # rows of zeros: ties of np.maximum(X @ W1, 0.0)
    return {
        "elman": (elman, (r.normal(size=(6, 3)) * 0.4, r.normal(size=(6, 6)) * 0.3, r.normal(size=(5, 3)),
                          r.normal(size=(5, 2))), (0, 1)),
        "kepler": (ordinary_kinds.kepler_drift, (np.array([1.0, 0.1]), np.array([0.05, 0.9]), 0.05, 12), (0, 1)),
        "softened_energy": (softened_energy, (r.normal(size=(4, 3)),), 0),
        "relu_net": (relu_net, (r.normal(size=(4, 5)), r.normal(size=(5, 3)), X), (0, 1)),
        "power_iteration": (power_iteration, (S @ S.T + np.eye(5) * f32(0.5),), 0),
    }


PROGRAMS = _data()


def _as32(args):
    return tuple(a.astype(np.float32) if isinstance(a, np.ndarray) else a for a in args)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_float32_programs_compile_and_give_the_numpy_code_s_float32_gradient(name):
    f, args, wrt = PROGRAMS[name]
    args32 = _as32(args)
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        got = s2s.grad(f, wrt=wrt, compile="strict")(*args32)
    want = s2s.grad(f, wrt=wrt)(*args32)
    got, want = (got, want) if isinstance(wrt, tuple) else ((got,), (want,))
    for a, b in zip(got, want):
        assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["kepler", "relu_net"])
def test_the_float64_versions_compile_and_give_central_differences_gradient(name):
    f, args, wrt = PROGRAMS[name]
    got = s2s.grad(f, wrt=wrt, compile="strict")(*args)
    for k, p in enumerate(wrt):
        np.testing.assert_allclose(got[k], fd_grad(f, args, p), rtol=1e-5, atol=1e-7)


def test_float32_state_and_adjoints_start_as_float32_arrays_in_the_code_numba_compiles():
    f, args, wrt = PROGRAMS["elman"]
    text = s2s.source(s2s.grad(f, wrt=wrt, compile="strict"), *_as32(args))
    assert "np.zeros(6, dtype=np.float32)" in text  # the function's own state
    assert "_s2s_numpy.zeros((6,), _s2s_numpy.float32)" in text  # h_bar = 0.0, a float32 array after
    assert "_s2s_numpy.float32)" in text.split("for t in range")[0]  # float32 array tapes of the rows


def test_powers_and_spread_numbers_are_weak_and_the_source_shows_the_code_that_runs():
    """s2s.source(df, pos) of a function whose `soft` is left to its default prints the code given to numba (it
    looked up the variant without the default, and said the NumPy code ran)."""
    f, args, wrt = PROGRAMS["softened_energy"]
    text = s2s.source(s2s.grad(f, wrt=wrt, compile="strict"), *_as32(args))
    assert text.splitlines()[0].startswith("# ") and "@numba.njit" in text
    assert "_s2s_weak_op(r2, -1.5, '**', False)" in text
    assert "s2s.expand_reduced(_s2s_weak(1.0, pos), pos, None, False)" in text


def test_float64_state_in_float32_data_compiles_with_the_numpy_code_s_dtypes():
    """h = np.zeros(n) is float64 at every step (W @ h of float32 W and float64 h is float64, as in NumPy)."""
    r = np.random.default_rng(1)
    W, xs = r.normal(size=(4, 4)).astype(np.float32) * np.float32(0.3), r.normal(size=(3, 4)).astype(np.float32)
    want = s2s.grad(mixed_state)(W, xs)
    got = s2s.grad(mixed_state, compile="strict")(W, xs)
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_state_whose_dtype_changes_falls_back_with_the_numpy_code_s_numbers():
    """h = np.zeros(n, dtype=np.float32), then np.tanh(W @ x + U @ h) of float64 weights: float32 at the first
    step, float64 after, where numba gives a variable one type."""
    f, args, wrt = PROGRAMS["elman"]
    want = s2s.grad(f, wrt=wrt)(*args)
    with pytest.warns(compiled.CompiledFallbackWarning, match="elman"):
        got = s2s.grad(f, wrt=wrt, compile=True)(*args)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def spread_float64_total(x, a, y):
    u = np.tanh(x * a)  # float32: a is a Python float
    t = np.sum(y)  # an np.float64, which NumPy keeps float64 beside float32 arrays
    return np.sum(u) * t + np.sum(u * u) * t


def items_of_a_float64_vector(x, v):
    return np.sum((x * v[0] - x * v[1]) ** 2) * 1e18  # x * v[0] is float64 in NumPy (v[0] is np.float64)


def items_of_an_int64_vector(x, idx):
    k = idx[0]
    return np.sum(np.sin(x * k - x * (k - 1)))  # float64 in NumPy: x * k - x * (k - 1) is x exactly


def test_numpy_numbers_beside_float32_arrays_stay_float64_as_in_numpy():
    """Found by an adversarial review: an np.float64 total spread over a float32 array (expand_reduced) was
    rounded to float32 (inf above 3.4e38), and items of a float64 vector argument were converted like Python
    numbers (the gradient 0 where 1.2e10 is right)."""
    x = np.array([0.5, 1.0, 2.0], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        for y in (np.array([1e39, 1e39]), np.array([0.1, 0.2])):
            got = s2s.grad(spread_float64_total, wrt=1, compile="strict")(x, 0.7, y)
            want = s2s.grad(spread_float64_total, wrt=1)(x, 0.7, y)
            assert np.isfinite(got)
            np.testing.assert_allclose(got, want, rtol=1e-6)
        v = np.array([1.0, 1.0 + 1e-9])
        got = s2s.grad(items_of_a_float64_vector, wrt=1, compile="strict")(x[:2].copy(), v)
    want = s2s.grad(items_of_a_float64_vector, wrt=1)(x[:2].copy(), v)
    assert got.dtype == want.dtype == np.float64 and abs(want[0]) > 1e9
    np.testing.assert_allclose(got, want, rtol=1e-6)
    idx = np.array([10_000_001, 2])
    got = s2s.grad(items_of_an_int64_vector, compile="strict")(x, idx)  # (k - 1: int64 in the compiled code itself)
    np.testing.assert_allclose(got, np.cos(x.astype(np.float64)), rtol=1e-6)


def phases(w, pos):
    return np.sum(np.sin(w * pos))  # float32 w times int64 positions: float64 in NumPy


def shifted_by_an_item(x, iv):
    k = iv[0]
    return np.sum(((x + k) - k) ** 2)  # x + k of an np.int64 k: float64 in NumPy


def test_float32_with_32_bit_ints_is_computed_in_float64_as_in_numpy():
    """Found by an adversarial review: numba computes float32 with an int64 (int32) array or NumPy int in float32,
    NumPy in float64: the compiled phases' gradient was 78681.16 where 78661.09 is right (cos(w pos) pos)."""
    w = np.array([0.7, 1.3, 2.1], np.float32)
    pos = np.array([100001, 200003, 300007])
    for ints in (pos, pos.astype(np.int32)):
        got = s2s.grad(phases, compile="strict")(w, ints)
        want = s2s.grad(phases)(w, ints)
        assert got.dtype == want.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-6)
        np.testing.assert_allclose(got, np.cos(w.astype(np.float64) * ints) * ints, rtol=1e-5)
    x = np.array([0.12345, 0.7654, 0.3333], np.float32)
    got = s2s.grad(shifted_by_an_item, compile="strict")(x, np.array([9999, 2]))
    np.testing.assert_allclose(got, s2s.grad(shifted_by_an_item)(x, np.array([9999, 2])), rtol=1e-6)
    assert "_s2s_strong_op(" in s2s.source(s2s.grad(phases, compile="strict"), w, pos)
    assert "_s2s_strong_op(" not in s2s.source(s2s.grad(phases, compile="strict"), w, pos.astype(np.int16))


# ---------------------------------------------------------------- the analyses, source to source

def _fdef(text):
    return ast.parse(text).body[0]


def test_the_dtype_followed_is_float32_only_where_every_float_array_argument_is():
    f32, f64 = np.ones(3, np.float32), np.ones(3)
    assert compiled_tapes.array_dtype({"a": f32, "n": 3, "k": np.ones(2, np.int32)}) == "float32"
    assert compiled_tapes.array_dtype({"a": f32, "b": f64}) == "float64"
    assert compiled_tapes.array_dtype({"a": f32.astype(np.complex64)}) == "float64"
    assert compiled_tapes.array_dtype({"x": 2.0}) == "float64"


def test_float32_claims_take_float32_allocations_and_refuse_float64_ones():
    text = ("def f(x):\n    h = np.zeros(4, dtype=np.float32)\n    g = np.zeros(4)\n    e = np.eye(4)\n"
            "    for i in range(3):\n        h = np.tanh(h + x)\n        g = g + x\n")
    claims = compiled_tapes.array_kinds(_fdef(text), {"x": np.ones(4, np.float32)}, {}, {"np"})
    assert claims == {"h": ("float32", (4,))}
    claims64 = compiled_tapes.array_kinds(_fdef(text), {"x": np.ones(4)}, {}, {"np"})
    assert claims64 == {"g": ("float64", (4,)), "e": ("float64", (4, 4))}  # (h is float32 there)
    zero = "def f(x):\n    c = 0.0\n    for i in range(3):\n        c = c + x * 2.0\n        d = c * 0.5\n"
    assert compiled_tapes.zero_arrays(_fdef(zero), {"x": np.ones(4, np.float32)}, {}, {"np"}) == {"c": (4,)}
    low = numba_lowering.lower(_fdef(zero), zero_arrays={"c": (4,)}, numpy_names=frozenset({"np"}),
                               zero_dtype="float32")
    assert "c = _s2s_numpy.zeros((4,), _s2s_numpy.float32)" in ast.unparse(low.fdef)


def test_an_index_adjoint_is_an_array_like_the_array_read():
    text = "def f(x, g):\n    a = 0.0\n    for i in range(3):\n        a = a + s2s.getitem_grad(g, x, slice(None, 2))\n"
    assert compiled_tapes.zero_arrays(_fdef(text), {"x": np.ones(4, np.float32), "g": np.ones(2, np.float32)},
                                      {}, {"np"}) == {"a": (4,)}
    assert compiled_tapes.zero_arrays(_fdef(text), {"x": np.ones(4, np.float32), "g": np.ones(2)}, {}, {"np"}) == {}


def test_counters_are_python_ints_and_a_conditional_s_number_is_weak():
    text = ("def f(x, s):\n    n = 0\n    for i in range(3):\n        n += 1\n        j = i - 1\n        y = x[j] * 2.0\n"
            "        z = x / (s if s != 0 else 1)\n        w = x ** 2\n")
    fdef = _fdef(text)
    assert numba_lowering.python_ints(fdef) == {"n", "i", "j"}
    numba_lowering.weak_numbers(fdef, frozenset(), frozenset(), frozenset({"np"}))
    out = ast.unparse(fdef)
    assert "j = i - 1" in out and "n += 1" in out  # (int arithmetic stays in the caller's typed code)
    assert "s if s != 0 else _s2s_weak(1, s)" in out
    assert "_s2s_weak_op(x, 2, '**', False)" in out


def test_a_name_bound_otherwise_anywhere_is_no_python_int():
    text = ("def f(x):\n    k = 0\n    for i in range(3):\n        k = k + 1\n    for m in x:\n        pass\n"
            "    m = 1\n    j = 1\n    j /= 2\n    t = 1\n    t: float = 2.0\n    u = 1\n    u, v = x\n")
    assert numba_lowering.python_ints(_fdef(text)) == {"k", "i"}
