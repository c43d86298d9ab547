"""Reductions, norms, conditional updates and zero-started adjoints in compiled derivatives: numba's own
reductions take no keepdims (its max, min and mean no axis, none of them a number), its norm only
vectors and matrices, a conditional expression has one type, and a variable one type. The compiled
code gives NumPy's values (compiled_helpers.reduce_axis, compiled_helpers.norm), or falls back."""

from __future__ import annotations

import ast
import os
import sys
import warnings

import numpy as np
import pytest

import s2s
from tests.helpers_fd import compiled_matches as _strict

numba = pytest.importorskip("numba")

from s2s.transforms import numba_lowering  # noqa: E402

from s2s import compiled, compiled_tapes  # noqa: E402
from s2s.runtime.compiled_helpers import expand_reduced, grad_extreme, norm, reduce_axis, reduced_size  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import problems  # noqa: E402

# ------------------------------------------------------------------------- the helpers against NumPy

@numba.njit
def _every_reduction(x):
    return (reduce_axis(x, "sum", 0, False), reduce_axis(x, "sum", -1, True), reduce_axis(x, "prod", 1, False),
            reduce_axis(x, "mean", 1, True), reduce_axis(x, "max", 0, True), reduce_axis(x, "min", -1, False),
            reduce_axis(x, "max", None, True), reduce_axis(x, "mean", None, False))


def _numpy_reductions(x):
    return (x.sum(axis=0), x.sum(axis=-1, keepdims=True), x.prod(axis=1), x.mean(axis=1, keepdims=True),
            x.max(axis=0, keepdims=True), x.min(axis=-1), x.max(keepdims=True), x.mean())


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (5, 1), (1, 6)])
def test_reduce_axis_gives_numpy_s_values_and_shapes(shape):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    for got, want in zip(_every_reduction(x), _numpy_reductions(x)):
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=1e-12)


@numba.njit
def _empty_axis_reductions(x):
    return reduce_axis(x, "sum", 1, False), reduce_axis(x, "prod", 1, True), reduce_axis(x, "max", 0, False)


def test_reductions_over_an_empty_axis():
    x = np.zeros((3, 0))
    total, product, top = _empty_axis_reductions(x)
    np.testing.assert_array_equal(total, np.zeros(3))
    np.testing.assert_array_equal(product, np.ones((3, 1)))
    assert top.shape == (0,)
    with pytest.raises(ValueError, match="empty axis"):
        reduce_axis_max_1(x)


@numba.njit
def reduce_axis_max_1(x):
    return reduce_axis(x, "max", 1, False)


def test_reduce_axis_of_rank_one_and_float32_and_nan():
    @numba.njit
    def f(v):
        return reduce_axis(v, "max", 0, False), reduce_axis(v, "min", -1, True), reduce_axis(v, "sum", 0, False)

    v = np.array([1.0, np.nan, 3.0])
    top, low, total = f(v)
    assert np.isnan(top) and np.shape(low) == (1,) and np.isnan(low[0]) and np.isnan(total)
    w = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
    got = _every_reduction(w)
    for g, want in zip(got, _numpy_reductions(w)):  # (a scalar numba returns is a Python float)
        assert (not isinstance(g, np.ndarray) or g.dtype == np.float32) and np.shape(g) == np.shape(want)
        np.testing.assert_allclose(g, want, rtol=1e-6)


def test_reductions_of_numbers_and_of_int_arrays():
    @numba.njit
    def f(s, m):
        return reduce_axis(s, "sum", None, False), reduce_axis(s, "max", None, False), \
            reduce_axis(m, "sum", None, False), reduce_axis(m, "max", None, False)

    assert f(2.5, np.array([3, 1, 4])) == (2.5, 2.5, 8, 4)


def test_norm_of_a_number_and_of_any_rank():
    @numba.njit
    def f(s, v, m, t):
        return norm(s), norm(v), norm(m), norm(t)

    rng = np.random.default_rng(1)
    v, m, t = rng.normal(size=5), rng.normal(size=(3, 4)), rng.normal(size=(2, 3, 4))
    np.testing.assert_allclose(f(-2.5, v, m, t), [2.5, np.linalg.norm(v), np.linalg.norm(m), np.linalg.norm(t)],
                               rtol=1e-13)


# ------------------------------------------------------------------------- the rewrite

@pytest.mark.parametrize("text, want", [
    ("z.max(axis=1, keepdims=True)", "_s2s_reduce(z, 'max', 1, True)"),
    ("np.sum(z, -1)", "_s2s_reduce(z, 'sum', -1, False)"),
    ("np.amin(z, axis=0)", "_s2s_reduce(z, 'min', 0, False)"),
    ("np.mean(z)", "_s2s_reduce(z, 'mean', None, False)"),
    ("z.sum(keepdims=True)", "_s2s_reduce(z, 'sum', None, True)"),
    ("np.linalg.norm(z)", "_s2s_norm(z)"),
    ("la.norm(z)", "_s2s_norm(z)"),
    # left to numba: no axis on a method, another keyword, an axis not a constant, a tuple of axes, ord
    ("z.sum()", "z.sum()"),
    # a sum (product) in a dtype: the sum of the array in that dtype, as NumPy adds the converted items
    ("np.sum(z, axis=1, dtype=np.float32)", "_s2s_reduce(z.astype(np.float32), 'sum', 1, False)"),
    ("np.sum(z, axis=1, keepdims=True, dtype=x.dtype)", "_s2s_reduce(z.astype(x.dtype), 'sum', 1, True)"),
    ("np.mean(z, axis=1, dtype=np.float32)", "np.mean(z, axis=1, dtype=np.float32)"),
    ("np.sum(z, axis=1, dtype=np.float32, out=k)", "np.sum(z, axis=1, dtype=np.float32, out=k)"),
    # np.var, np.std: numba's take no axis, keepdims or ddof
    ("z.var(axis=0)", "_s2s_variance(z, 'var', 0, False, 0)"),
    ("np.std(z, 1, ddof=1, keepdims=True)", "_s2s_variance(z, 'std', 1, True, 1)"),
    ("np.var(z)", "_s2s_variance(z, 'var', None, False, 0)"),
    ("np.var(z, axis=k)", "np.var(z, axis=k)"),
    ("np.var(z, axis=0, dtype=np.float32)", "np.var(z, axis=0, dtype=np.float32)"),
    ("np.max(z, axis=k)", "np.max(z, axis=k)"),
    # (a tuple of axes: one per axis, the later first, since stop 46)
    ("np.sum(z, axis=(0, 1))", "_s2s_reduce(_s2s_reduce(z, 'sum', 1, False), 'sum', 0, False)"),
    ("np.sum(z, axis=(0, -1))", "np.sum(z, axis=(0, -1))"),
    ("np.linalg.norm(z, 1)", "np.linalg.norm(z, 1)"),
    ("z.sum(k, 1)", "z.sum(k, 1)"),
])
def test_reductions_rewrite(text, want):
    fdef = ast.parse(f"def f(z, k, other):\n    return {text}").body[0]
    numba_lowering.reductions(fdef, {"np"}, frozenset({"la"}))
    assert ast.unparse(fdef.body[0].value) == want


def test_a_conditional_update_becomes_a_branch():
    fdef = ast.parse("def f(a, t):\n    a *= s2s.balanced_eq(t, a, 0.0) if np.any(t == 0.0) else t > 0.0\n"
                     "    return a").body[0]
    low = numba_lowering.lower(fdef)
    assert ast.unparse(low.fdef.body[0]) == ("if np.any(t == 0.0):\n    a *= s2s.balanced_eq(t, a, 0.0)\n"
                                            "else:\n    a *= t > 0.0")


# ------------------------------------------------------------------------- adjoints that start as 0.0

def _zeros(text, arrays):
    return compiled_tapes.zero_arrays(ast.parse(text).body[0], arrays, {}, {"np"})


def test_a_zero_started_adjoint_with_a_known_shape_is_claimed():
    text = ("def d(h, z):\n"
            "    c_bar = 0.0\n"
            "    for t in range(3):\n"
            "        s = z[4:k]\n"
            "        c_bar = c_bar + h * 2.0\n"
            "        g = c_bar * s\n"
            "        c_bar = c_bar * h\n"
            "    return s2s.finish(c_bar, h)\n")
    text = text.replace("def d(h, z):\n", "def d(h, z):\n    k = 8\n")
    assert _zeros(text, {"h": np.ones(4), "z": np.ones(12)}) == {"c_bar": (4,)}


@pytest.mark.parametrize("read", [
    "y = c_bar + w",  # another shape: 0.0 + w is w, zeros((4,)) + w a (4, 4) array
    "y = c_bar * 2.0",  # a number: 0.0 against an array of zeros
    "y = np.sum(c_bar)",  # not an operand of arithmetic
    "y = -c_bar",
])
def test_a_read_that_would_differ_keeps_the_zero(read):
    text = ("def d(h, w):\n"
            "    c_bar = 0.0\n"
            f"    {read}\n"
            "    for t in range(3):\n"
            "        c_bar = c_bar + h * 2.0\n"
            "    return s2s.finish(c_bar, h)\n")
    assert _zeros(text, {"h": np.ones(4), "w": np.ones((4, 1))}) == {}


def test_an_lstm_s_cell_adjoint_compiles():
    p = next(p for p in problems.problems(0.01) if p.name.startswith("lstm"))
    text = compiled.source(p.f, *p.args)
    assert "c_bar = _s2s_numpy.zeros((16,))" in text
    got = _strict(p.f, p.args, p.wrt)
    np.testing.assert_allclose(got, p.hand(*p.args), rtol=1e-7, atol=1e-12)


# ------------------------------------------------------------------------- programs

@pytest.mark.parametrize("name", ["seed while", "relu net", "mlp softmax", "attention"])
def test_benchmark_problems_that_fell_back_compile(name):
    p = next(p for p in problems.problems(0.01) if p.name.startswith(name))
    got = _strict(p.f, p.args, p.wrt)
    np.testing.assert_allclose(got, p.hand(*p.args), rtol=1e-7, atol=1e-12)


def test_max_over_an_empty_axis_falls_back_to_numpy_s_error():
    def f(x):
        return np.sum(np.max(x, axis=0) ** 2)

    with pytest.raises(ValueError, match="zero-size array"), warnings.catch_warnings():
        warnings.simplefilter("ignore", compiled.CompiledFallbackWarning)
        s2s.grad(f, compile=True)(np.zeros((0, 3)))


def test_softmax_with_every_reduction_form():
    def f(W, X):
        z = X @ W
        z = z - np.max(z, axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
        return np.mean(np.log(np.amax(p, 1))) + np.linalg.norm(p) + np.sum(W, 0).min()

    rng = np.random.default_rng(3)
    _strict(f, (rng.normal(size=(4, 3)), rng.normal(size=(6, 4))))


def test_scalar_reductions_and_norm():
    def f(a):
        b = a * 2.0
        while np.linalg.norm(b) < 100.0:
            b = b * 1.5
        return np.sum(b) + np.max(b) * np.mean(a)

    _strict(f, (0.7,))


# ------------------------------------------------------------------------- adjoints of reductions over an axis

@numba.njit
def _compiled_adjoints(g0, g1k, x, top0, top1k):
    return (expand_reduced(g0, x, 0, False), expand_reduced(g1k, x, -1, True),
            grad_extreme(g0, top0, x, 0, False), grad_extreme(g1k, top1k, x, -1, True))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_expand_reduced_and_grad_extreme_match_the_runtime_with_ties_and_nan(dtype):
    from s2s.runtime import reductions
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [np.nan, 1.0, 0.0], [4.0, 5.0, -1.0]], dtype=dtype)
    with np.errstate(invalid="ignore"):
        top0, top1k = np.max(x, axis=0), np.max(x, axis=-1, keepdims=True)
        g0, g1k = np.arange(1.0, 4.0, dtype=dtype), np.arange(1.0, 5.0, dtype=dtype).reshape(4, 1)
        want = (reductions.expand_reduced(g0, x, 0, False), reductions.expand_reduced(g1k, x, -1, True),
                reductions.grad_extreme(g0, top0, x, 0, False), reductions.grad_extreme(g1k, top1k, x, -1, True))
        got = _compiled_adjoints(g0, g1k, x, top0, top1k)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)  # the NaN row and column included


def test_max_pooling_over_an_axis_compiles():
    def f(x, W):
        h = np.tanh(x @ W)
        pooled = h.reshape(4, 2, 3).max(axis=1)
        return np.sum(pooled ** 2) + np.min(h, axis=0).sum()

    rng = np.random.default_rng(5)
    _strict(f, (rng.normal(size=(8, 5)), rng.normal(size=(5, 3))), wrt=1)


def test_reductions_of_an_int_keep_it_an_int():
    @numba.njit
    def f(k, x):
        return reduce_axis(k, "sum", None, False), reduce_axis(k, "max", None, False), \
            reduce_axis(k, "mean", None, False), reduce_axis(x, "prod", None, False)

    total, top, mean, prod = f(7, 2.5)
    assert (total, top, mean, prod) == (7, 7, 7.0, 2.5)
    assert type(total) is int and type(mean) is float


# ------------------------------------------------------------------------- reductions of slices of unknown length

@numba.njit
def _sizes_and_spreads(x, g):
    return (reduced_size(x, None), reduced_size(x, 1), reduced_size(x, -1), reduced_size(2.5, None),
            expand_reduced(g, x, 0, False), expand_reduced(g, x, None, True))


@pytest.mark.parametrize("shape", [(3, 4), (0, 2), (2, 0)])
def test_reduced_size_and_a_number_spread_match_the_runtime(shape):
    from s2s.runtime import reductions
    x = np.ones(shape)
    got = _sizes_and_spreads(x, 0.25)
    want = (reductions.reduced_size(x, None), reductions.reduced_size(x, 1), reductions.reduced_size(x, -1),
            reductions.reduced_size(2.5, None), reductions.expand_reduced(0.25, x, 0, False),
            reductions.expand_reduced(0.25, x, None, True))
    assert got[:4] == want[:4]
    for g, w in zip(got[4:], want[4:]):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def window_means(x, k):
    """A window whose length `k` is an argument, and means over prefixes along an axis: slices of unknown
    length, whose reductions' adjoints divide by `reduced_size` (performance review 9)."""
    loss = 0.0
    for i in range(1, x.shape[0]):
        w = x[i:i + k]
        loss = loss + (np.mean(w) - x[i - 1]) ** 2 + np.mean(x[:i, None] * x[None, :i], axis=0).sum()
    return loss


@pytest.mark.parametrize("k", [1, 3, 9])
def test_means_of_slices_of_unknown_length_compile(k):
    x = np.random.default_rng(k).normal(size=8)
    _strict(window_means, (x, k))
