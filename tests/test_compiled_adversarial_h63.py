"""Adversarial programs against the compiled path's reductions, conditional updates and zero-started arrays
(compiled_tapes.zero_arrays): the compiled derivative gives the NumPy path's numbers, or falls back."""

from __future__ import annotations

import ast
import warnings

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad

numba = pytest.importorskip("numba")

from s2s.transforms import numba_lowering  # noqa: E402

from s2s import compiled, compiled_tapes  # noqa: E402


def _same(f, args, wrt=0):
    """compile=True's gradient equals the NumPy path's (with or without a fallback)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", compiled.CompiledFallbackWarning)
        got = s2s.grad(f, wrt=wrt, compile=True)(*args)
    want = s2s.grad(f, wrt=wrt)(*args)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    return got


def _two_zeros(x, w, n):
    a = 0.0
    for _i in range(n):
        a = a + w
    y = a + a  # 0.0 + 0.0 is the number 0.0 where the loop runs no trip: y + x[0] one number, not three
    return np.sum(y + x[0])


def test_a_sum_of_two_zero_started_names_is_not_an_array():
    x, w = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    np.testing.assert_array_equal(_same(_two_zeros, (x, w, 0)), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(_same(_two_zeros, (x, w, 2)), [3.0, 0.0, 0.0])


@pytest.mark.parametrize("read", ["y = a + a", "y = a * b", "y = b - a * 2.0", "y = a / -b"])
def test_a_read_against_another_zero_started_name_keeps_the_zero(read):
    text = ("def d(w, n):\n"
            "    a = 0.0\n"
            "    b = 0.0\n"
            "    for i in range(n):\n"
            "        a = a + w\n"
            "        b = b + w\n"
            f"    {read}\n"
            "    return y\n")
    assert "a" not in compiled_tapes.zero_arrays(ast.parse(text).body[0], {"w": np.ones(3)}, {"n": "int64"}, {"np"})


def _ratios(x, d):
    s = 0.0
    for i in range(3):
        s = s + x[i] / d[i]  # NumPy floats: x[i] / 0.0 is inf, numba's `/` raises
    return s


@pytest.mark.parametrize("mode", [True, "always", "strict"])
def test_a_division_by_zero_on_the_first_call_gives_numpy_s_inf(mode):
    x, d = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 2.0])
    with np.errstate(divide="ignore"):
        df = s2s.grad(_ratios, compile=mode)
        np.testing.assert_array_equal(df(x, d), [1.0, np.inf, 0.5])  # the first call measures the compiled code
        np.testing.assert_array_equal(df(x, d + 1.0), [0.5, 1.0, 1 / 3])
        np.testing.assert_array_equal(df(x, d), [1.0, np.inf, 0.5])


def _split_rows(x):
    y = x.T.reshape(2, 2, 3)  # numba reshapes the F-contiguous x.T in Fortran order
    return np.sum(y[0] * y[1] * np.arange(1.0, 4.0))


def _pool(x):
    return np.sum(np.tanh(x.reshape(2, 2, 3).max(axis=1)))


@pytest.mark.parametrize("mode", ["always", "strict"])
def test_a_reshape_of_a_transpose_reads_numpy_s_order(mode):
    x = np.arange(12.0).reshape(3, 4) * 0.1 + 0.05
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        got = s2s.grad(_split_rows, compile=mode)(x)
    np.testing.assert_allclose(got, s2s.grad(_split_rows)(x), rtol=1e-13)


def test_reshapes_of_arguments_of_any_layout_and_byte_order():
    x = np.arange(12.0).reshape(4, 3) * 0.1
    df = s2s.grad(_pool, compile="always")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", compiled.CompiledFallbackWarning)
        for a in (x, np.asfortranarray(x), x[::-1], x.astype(">f8")):  # (the last: the native float64's key)
            np.testing.assert_allclose(df(a), s2s.grad(_pool)(a), rtol=1e-13)


def _reshape_written_into(x):
    t = np.tanh(x)
    a = t.T
    b = a.reshape(12)
    b *= 2.0  # NumPy: a copy here (a transpose in C order), so t is unchanged
    return np.sum(b * b) + np.sum(t)


def test_a_reshape_whose_result_is_written_into_is_not_copied_by_the_helper():
    x = np.arange(12.0).reshape(3, 4) * 0.1 - 0.5
    want = s2s.grad(_reshape_written_into)(x)
    np.testing.assert_allclose(want, fd_grad(_reshape_written_into, (x,), 0), rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", compiled.CompiledFallbackWarning)
        got = s2s.grad(_reshape_written_into, compile=True)(x)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    fdef = ast.parse("def f(t, u):\n    a = t.T\n    b = a.reshape(12)\n    c = b\n    c[0] = 1.0\n"
                     "    d = u.T.reshape(12)\n    e = t.T.reshape(12)\n    return d + e").body[0]
    numba_lowering.reshapes(fdef, {"np"})
    assert "_s2s_reshape(a, 12, False)" in ast.unparse(fdef) and "_s2s_reshape(u.T, 12, True)" in ast.unparse(fdef)
    # (t's own array may be written through b, a view of it in NumPy: e, another view of t, is not copied)
    assert "_s2s_reshape(t.T, 12, False)" in ast.unparse(fdef)


@pytest.mark.parametrize("write, copy_ok", [
    ("c = b[2:]\n    c[0] = 1.0", False),  # through a view of the result
    ("c = b.T\n    d = c\n    d[0] = 1.0", False),
    ("b.fill(0.0)", False),  # a method that writes
    ("np.add(x, 1.0, b)", False),  # a ufunc's positional output
    ("s = b * 2.0\n    s += 1.0", True),  # arithmetic makes a new array: b itself is not written
    ("stack_b.append(b)\n    b = stack_b.pop()", True),  # a tape's push and pop write no array
])
def test_writes_into_a_reshape_s_result_through_every_binding(write, copy_ok):
    fdef = ast.parse(f"def f(t, x, stack_b):\n    b = t.T.reshape(12)\n    {write}\n    return b").body[0]
    numba_lowering.reshapes(fdef, {"np"})
    assert f"_s2s_reshape(t.T, 12, {copy_ok})" in ast.unparse(fdef)
