"""Adversarial programs against the compiled path (s2s.grad(f, compile=...)): each gives the NumPy path's and
finite differences' numbers, or falls back with a warning naming why; nothing stale is served from the
variants' cache."""

from __future__ import annotations

import ast
import math
import warnings

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad

numba = pytest.importorskip("numba")

from s2s import compiled  # noqa: E402
from s2s.runtime.compiled_helpers import int_op  # noqa: E402


def _compiled(f, *args, mode="always", wrt=0, df=None):
    """(compiled gradient, the warnings' texts); `df` an earlier s2s.grad(f, compile=mode) to call again."""
    df = df or s2s.grad(f, wrt=wrt, compile=mode)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", compiled.CompiledFallbackWarning)
        got = df(*args)
    return got, [str(w.message) for w in caught if issubclass(w.category, compiled.CompiledFallbackWarning)]


def _right(f, args, got, wrt=0):
    want = s2s.grad(f, wrt=wrt)(*args)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got, fd_grad(f, args, wrt=wrt), rtol=1e-6)


# ------------------------------------------------------------------------ integer sums past 2**63

def doubling(x):
    k = 1
    s = 0.0
    for _ in range(70):
        k = k + k  # 2**70: numba's int64 wraps around where Python's int grows
        s = s + x * (k % 7)
    return s


def fibonacci_weight(x):
    a = 0
    b = 1
    for _ in range(95):
        a, b = b, a + b  # the 93rd Fibonacci number is past 2**63
    return x * (a % 1000)


def twice(x, n):
    m = n + n
    return x * (m % 7)


def test_integer_sums_that_may_wrap_around_are_checked():
    # compiled unchecked: 152.0 and 673.0 (int64 wrapped), where Python's ints give 163.0 and 905.0. Since stop
    # 45 the sums are checked (compiled_helpers.int_op): past 2**62 the call runs the NumPy code.
    for f in (doubling, fibonacci_weight):
        got, why = _compiled(f, 1.5)
        _right(f, (1.5,), got)
        assert not why and "_s2s_int_op(" in compiled.source(f, 1.5)


def test_an_int_argument_too_large_for_its_sums_runs_the_numpy_code():
    df = s2s.grad(twice, compile="always")
    got, why = _compiled(twice, 1.5, 3, df=df)
    assert got == 6.0 and not why  # compiled: n is checked to lie within +-2**31 at the top
    for n in (2 ** 62 + 5, 2 ** 63 - 1):  # compiled: 2.0 and 5.0 (n + n wrapped); the NumPy code runs these calls
        got, why = _compiled(twice, 1.5, n, df=df)
        assert got == (2 * n) % 7 * 1.0 and not why
    got, _ = _compiled(twice, 1.5, 4, df=df)
    assert got == 1.0


def conversions(x, y):
    return x * (int(y * 1e20) % 7) + x * (math.floor(y) % 5) + x * (round(y) % 3) + x * (math.ceil(-y) % 4)


def test_floats_converted_to_ints_beyond_int64_run_the_numpy_code():
    df = s2s.grad(conversions, compile="strict")
    got, why = _compiled(conversions, 1.5, 2e-20, df=df)
    _right(conversions, (1.5, 2e-20), got)  # compiled, every conversion within int64
    for y in (-2.5, 1e30):  # compiled: 12.0 and 9.0 (made-up int64s), where Python's ints give 8.0 and 5.0
        got, why = _compiled(conversions, 1.5, y, df=df)
        _right(conversions, (1.5, y), got)
        assert not why
    with pytest.raises(ValueError, match="NaN"):  # as Python's int(nan) does (compiled: a number)
        df(1.5, float("nan"))
    with pytest.raises(OverflowError):
        df(1.5, float("inf"))
    assert df(1.5, 0.25) == s2s.grad(conversions)(1.5, 0.25)


def doublings_until(x):
    k = 0  # (compiled: a zero adjoint started as None, whose `k + 1` had no helper: a fallback)
    s = x
    while s < 100.0:
        s = s * 2.0
        k += 1  # a counter: checked after each step, so `k + 1` is bounded
    return s * (k + 1)


def test_a_counter_still_compiles_and_its_bound_is_checked():
    got = s2s.grad(doublings_until, compile="strict")(1.5)
    _right(doublings_until, (1.5,), got)
    assert "_s2s_counter_check(k, " in compiled.source(doublings_until, 1.5)
    fdef = ast.parse("def f(n):\n    k = 0\n    j = 1\n    for i in range(n):\n        k += 1\n"
                     "        j = j + j\n        m = k * 2\n").body[0]
    bounds = compiled._int_bounds(fdef, set(), frozenset({"n"}))
    assert bounds["n"] == (-2 ** 31 + 1, 2 ** 31 - 1) and bounds["i"] == (0, 2 ** 31 - 2)
    assert "j" not in bounds and bounds["m"][1] < 2 ** 62  # k + k is no counter; k * 2 of a counter is small


def neighbours(x, ids):
    s = 0.0
    for k in range(ids.shape[0]):
        s = s + x[ids[k]] * x[ids[k] - 1]  # np.int64 in the NumPy code: it wraps around as numba's int64 does
    return s


def test_sums_with_items_of_an_int64_array_still_compile():
    x, ids = np.array([0.5, -1.5, 2.0, -2.0, 1.1]), np.array([1, 3, 0, 3])
    got = s2s.grad(neighbours, compile="strict")(x, ids)
    _right(neighbours, (x, ids), got)


# ------------------------------------------------------------------------ Python ints with narrow int arrays

def brightened(x, img, ids, c):
    return np.sum(x * (img + c)) + np.sum(x * ((ids * 100000) % 7))


def test_a_python_int_with_a_narrow_int_array_takes_the_array_s_dtype():
    # NumPy computes uint8 + 200 in uint8 and int32 * 100000 in int32 (wrapping, NEP 50); numba computed both in
    # int64: compiled [212, 301, 450] where NumPy gives [215, 45, 200]
    x = np.array([0.5, 1.5, 2.0])
    img, ids = np.array([10, 100, 250], dtype=np.uint8), np.array([50000, 3, 70000], dtype=np.int32)
    df = s2s.grad(brightened, compile="strict")
    got, _ = _compiled(brightened, x, img, ids, 200, df=df)
    _right(brightened, (x, img, ids, 200), got)
    np.testing.assert_array_equal(got, [215.0, 45.0, 200.0])
    with pytest.raises(OverflowError):  # NumPy: 300 is out of uint8's range (numba would wrap it)
        df(x, img, ids, 300)


# ------------------------------------------------------------------------ powers of Python floats

def float_powers(x, y, z):
    return x * y ** z + x * max(y, 0.5) ** 0.5


def test_a_python_float_power_python_does_not_compute_as_a_float_is_not_a_number():
    # Python's (-8.0) ** (1/3) is complex (the NumPy code refuses), 0.0 ** -1.0 and 10.0 ** 400.0 raise: the
    # compiled code gave nan, inf and inf
    df = s2s.grad(float_powers, compile="strict")
    got, _ = _compiled(float_powers, 1.5, 2.0, 0.5, df=df)
    _right(float_powers, (1.5, 2.0, 0.5), got)
    with pytest.raises(s2s.errors.NoDerivativeRuleError, match="complex"):
        df(1.5, -8.0, 1.0 / 3.0)
    with pytest.raises(ZeroDivisionError):
        df(1.5, 0.0, -1.0)
    with pytest.raises(OverflowError):
        df(1.5, 10.0, 400.0)
    got, _ = _compiled(float_powers, 1.5, -2.0, 3.0, df=df)  # an integral power of a negative float: a float
    _right(float_powers, (1.5, -2.0, 3.0), got)


def scaled_count(x, n):
    return x * ((n * 100000) % 7)


def test_an_int32_number_times_a_python_int_is_refused_naming_the_reason():
    # NumPy's np.int32(50000) * 100000 wraps around in int32; numba's int32 product is int64
    got, why = _compiled(scaled_count, 1.5, np.int32(50000))
    _right(scaled_count, (1.5, np.int32(50000)), got)
    # (since stop 67 the check of integers narrower than int64 names it first: numba's typing of the generated code)
    assert why and "narrower than int64" in why[0] and "wrap around" in why[0]


def math_of_floats(x, y):
    return x * math.sqrt(y) + x * math.exp(y) + math.cosh(x)


def test_a_math_function_python_raises_for_is_not_nan_or_inf():
    # the compiled code gave nan for math.sqrt(-0.5) and inf for math.exp(1000.0): Python's math raises
    df = s2s.grad(math_of_floats, compile="strict")
    got, _ = _compiled(math_of_floats, 1.5, 2.0, df=df)
    _right(math_of_floats, (1.5, 2.0), got)
    with pytest.raises(ValueError, match="math domain error"):
        df(1.5, -0.5)
    with pytest.raises(OverflowError):
        df(1.5, 1000.0)
    assert np.isnan(df(1.5, float("nan")))  # a NaN argument: Python's math gives NaN too
    got, _ = _compiled(math_of_floats, 1.5, 3.0, df=df)
    _right(math_of_floats, (1.5, 3.0), got)


def windowed(w, x):
    k = w.shape[0]
    y = np.zeros(x.shape[0] - k + 1)
    for i in range(y.shape[0]):
        y[i] = x[i:i + k] @ w  # (y[i] = ... reads i: it binds no i)
    return np.sum(np.tanh(y) ** 2)


def test_an_item_assignment_binds_no_index_of_its_own():
    """`y[i] = v` stores into y and reads i: the bounds of integers took it for a binding of i (unknown), so
    `i + k` of the window's end was an integer sum s2s could not bound, and the 1-d convolution loop fell back
    from numba (it compiled before integer sums were checked)."""
    fdef = ast.parse("def f(y, v):\n    for i in range(196):\n        t = i + 5\n        y[i] = v\n").body[0]
    assert compiled._int_bounds(fdef, set()) == {"i": (0, 195), "t": (5, 200)}
    w, x = np.array([0.3, -0.2, 0.5]), np.linspace(-1.0, 1.0, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        got = s2s.grad(windowed, compile="strict")(w, x)
    np.testing.assert_allclose(got, s2s.grad(windowed)(w, x), rtol=1e-12)
    np.testing.assert_allclose(got, fd_grad(windowed, (w, x), 0), rtol=1e-6)


@pytest.mark.parametrize("binding", ["for i, j in pairs:\n        pass", "with ctx as i:\n        pass",
                                     "if (i := 3):\n        pass", "for (i) in pairs:\n        pass"])
def test_a_name_bound_otherwise_too_is_no_numpy_int(binding):
    """`i = n[0] + 1` is an np.int64 (it wraps as numba's int64 does) only where nothing else binds i: a tuple
    loop target, a `with` target, `:=` bind it to something else (a Python int that does not wrap)."""
    text = f"def f(n, pairs, ctx):\n    i = n[0] + 1\n    {binding}\n    return i\n"
    assert "i" not in compiled._numpy_ints(ast.parse(text).body[0], {"n"}, set())
    alone = "def f(n, pairs, ctx):\n    i = n[0] + 1\n    return i\n"
    assert "i" in compiled._numpy_ints(ast.parse(alone).body[0], {"n"}, set())


# ------------------------------------------------------------------------ int arithmetic checked where unbounded

def sine_series_until_small(x):
    """A while loop's counter in a product of two: `(2 * n) * (2 * n - 1)` has no bound s2s can show (the
    counter's is 2**50), so it is checked; this program compiled only since stop 45 (helper 127's probe)."""
    s, term, n = 0.0, 1.0, 0
    while abs(term) > 1e-14 * abs(s) or n == 0:
        s += term
        n += 1
        term *= -x * x / ((2 * n) * (2 * n - 1))
    return s


def factorial_weights(x, k):
    f = 1
    s = 0.0
    for j in range(1, k + 1):
        f *= j  # 21! is past 2**63
        s = s + x ** j / f
    return s


def test_a_product_of_counters_compiles_checked():
    for x in (0.3, 1.3, -2.0):
        got = s2s.grad(sine_series_until_small, compile="strict")(x)
        _right(sine_series_until_small, (x,), got)
    assert "_s2s_int_op(" in compiled.source(sine_series_until_small, 1.3)


@pytest.mark.parametrize("k", [5, 20, 21, 30])
def test_a_product_past_2_62_runs_the_numpy_code_for_the_call(k):
    df = s2s.grad(factorial_weights, compile="strict")
    for _ in range(2):  # (the second call runs the hot code)
        got = df(0.9, k)
        np.testing.assert_allclose(got, s2s.grad(factorial_weights)(0.9, k), rtol=1e-12)
        np.testing.assert_allclose(got, fd_grad(factorial_weights, (0.9, k)), rtol=1e-6)


_HOW = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b, "pow": lambda a, b: a ** b,
        "lshift": lambda a, b: a << b}


_COMPILED = {
    "add": numba.njit(lambda a, b: int_op(a, b, "add")), "sub": numba.njit(lambda a, b: int_op(a, b, "sub")),
    "mul": numba.njit(lambda a, b: int_op(a, b, "mul")), "pow": numba.njit(lambda a, b: int_op(a, b, "pow")),
    "lshift": numba.njit(lambda a, b: int_op(a, b, "lshift"))}


def _int_op_of(a, b, how):
    return _COMPILED[how](a, b)


@pytest.mark.parametrize("how, a, b", [
    ("add", 3, -7), ("add", 2 ** 61, 2 ** 60), ("sub", -(2 ** 61), 2 ** 60), ("mul", 2 ** 30, 2 ** 31),
    ("mul", -(2 ** 40), 2 ** 21), ("mul", 0, 2 ** 61), ("pow", -3, 39), ("pow", 2, 61), ("pow", 5, 0),
    ("lshift", 3, 60), ("lshift", -1, 61), ("lshift", 7, 0)])
def test_int_op_gives_python_s_ints_within_2_62(how, a, b):
    got = _int_op_of(a, b, how)
    assert got == _HOW[how](a, b)


@pytest.mark.parametrize("how, a, b", [
    ("add", 2 ** 61, 2 ** 61), ("sub", -(2 ** 61), 2 ** 61), ("mul", 2 ** 31, 2 ** 31), ("mul", -(2 ** 32), 2 ** 30),
    ("pow", 3, 40), ("pow", 2, -1), ("lshift", 1, 62), ("lshift", 2, 61), ("lshift", 1, -1)])
def test_int_op_past_2_62_raises_the_marked_fallback(how, a, b):
    with pytest.raises(ValueError, match="cannot handle this call"):
        _int_op_of(a, b, how)


def test_int_op_of_floats_is_the_operation():
    @numba.njit
    def floats(a, b):
        return int_op(a, b, "mul"), int_op(a, b, "add"), int_op(a, 2.5, "pow"), int_op(a, 3, "sub")
    assert floats(1e50, 1e200) == (1e50 * 1e200, 1e50 + 1e200, 1e50 ** 2.5, 1e50 - 3)
