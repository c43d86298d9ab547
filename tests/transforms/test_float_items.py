"""transforms/float_items.py: items of float64 array arguments a loop reads, read as Python floats in the code
`s2s.grad` runs with NumPy. Where the rewrite is made, the gradient is bit for bit that of the code without it
(and checked against central differences and autograd); where a Python float could behave otherwise than
NumPy's float64 (a fractional power, bool arithmetic, another precision, an attribute, the returned value), it
is not made, and the gradient is still right; where a Python float divides by zero or overflows, s2s.grad runs
the code again in NumPy numbers and gives NumPy's infinities."""

from __future__ import annotations

import math
import os
import sys
import types
import warnings

import numpy as np
import pytest
from s2s.transforms.float_items import NUMPY_SAME

import s2s
from tests.conftest import check_grad
from tests.plain_code import plain_gradient

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "benchmarks"))
from ordinary_losses import kalman  # noqa: E402  (a scalar Kalman filter reading zs[t])


# ---- programs whose item reads become Python floats ------------------------------------------------------
def ar1(phi, sigma, y):
    n = y.shape[0]
    ll = 0.0
    for t in range(1, n):
        e = y[t] - phi * y[t - 1]
        ll = ll + e * e / (2.0 * sigma * sigma) + math.log(sigma)
    return ll


def smoothing(alpha, y):
    level = y[0]
    sse = 0.0
    for t in range(1, len(y)):
        err = y[t] - level
        sse = sse + err ** 2
        level = level + alpha * err
    return sse


def garch(omega, a, b, r):
    h = 1.0
    ll = 0.0
    for t in range(1, r.shape[0]):
        h = omega + a * r[t - 1] ** 2 + b * h
        ll = ll + np.log(h) + r[t] ** 2 / h
    return 0.5 * ll


def grid_walk(w, X):
    s = 0.0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            v = X[i, j] * w
            if v > 0.0:
                s = s + v * v
            else:
                s = s - abs(v) * 0.5
    return s


def clipped_steps(c, y):
    total = 0.0
    for t in range(y.shape[0]):
        d = min(max(y[t] - c, -1.0), 1.0)
        total = total + d * d + (y[t] % 1.5) * c + (y[t] // 0.5) * c
    return total


def items_and_their_array(w, y):
    s = 0.0
    for t in range(y.shape[0]):
        s = s + w * y[t] * y[t]
    return s + np.sum(w * y)


def history_list(a, y):
    hist = []
    x = 0.0
    for t in range(y.shape[0]):
        x = a * x + y[t]
        hist.append(x)
    h = np.array(hist)
    return np.sum(h * h)


def kalman_iterated(q, r, zs):
    x, P, ll = 0.0, 1.0, 0.0
    for z in zs:
        P = P + q
        S = P + r
        K = P / S
        e = z - x
        x = x + K * e
        P = (1 - K) * P
        ll -= 0.5 * (math.log(2 * math.pi * S) + e * e / S)
    return -ll


def growth(p, obs):
    r, K = p[0], p[1]  # (read before the loop: its arithmetic on them is on Python floats all the same)
    N, loss = p[2], 0.0
    for k in range(obs.shape[0]):
        N = N + 0.05 * r * N * (1.0 - N * K)
        loss = loss + (N - obs[k]) ** 2
    return loss


def chain_enumerated(x):
    s = 0.0
    for i, xi in enumerate(x[:-1]):
        s = s + 100.0 * (x[i + 1] - xi ** 2) ** 2 + (1.0 - xi) ** 2
    return s


def zipped_neighbours(a, x):
    s = 0.0
    for u, v in zip(x[:-1], x[1:]):
        s = s + a * (v - u) ** 2 + u * v
    return s


def slice_bound_twice(a, y):
    t = y[:-1]
    s = 0.0
    for k in range(7):
        s = s + a * t[k] * t[k]
    t = y[1:]  # (another slice after the loop: the lowering names it apart, so the first is bound once)
    return s + a * np.sum(t)


CONVERTED = {
    "kalman": (kalman, lambda r: (0.3, 0.5, np.cumsum(r.normal(size=24)) * 0.3), (0, 1)),
    "kalman_iterated": (kalman_iterated, lambda r: (0.3, 0.5, np.cumsum(r.normal(size=20)) * 0.3), (0, 1)),
    "kalman_all": (kalman, lambda r: (0.3, 0.5, np.cumsum(r.normal(size=12)) * 0.3), (0, 1, 2)),
    "ar1": (ar1, lambda r: (0.6, 1.3, r.normal(size=30)), (0, 1)),
    "smoothing": (smoothing, lambda r: (0.4, r.normal(size=20)), 0),
    "garch": (garch, lambda r: (0.2, 0.1, 0.7, r.normal(size=25)), (0, 1, 2)),
    "grid_walk": (grid_walk, lambda r: (0.7, r.normal(size=(4, 5))), 0),
    "clipped_steps": (clipped_steps, lambda r: (0.3, r.normal(size=16) * 2.0 + 0.1), 0),
    "items_and_their_array": (items_and_their_array, lambda r: (0.8, r.normal(size=10)), (0, 1)),
    "history_list": (history_list, lambda r: (0.5, r.normal(size=10)), (0, 1)),
    "growth": (growth, lambda r: (np.array([0.8, 0.5, 0.3]), r.uniform(0.2, 1.5, size=15)), 0),
    # (slices of an argument the loop runs over, `t = x[:-1]`: read like the argument)
    "chain_enumerated": (chain_enumerated, lambda r: (r.normal(size=12) * 0.5,), 0),
    "zipped_neighbours": (zipped_neighbours, lambda r: (0.7, r.normal(size=14)), (0, 1)),
    "slice_bound_twice": (slice_bound_twice, lambda r: (0.5, r.normal(size=8)), 0),
}


@pytest.mark.parametrize("name", sorted(CONVERTED))
def test_items_read_as_floats_give_the_plain_codes_gradient(name):
    f, make, wrt = CONVERTED[name]
    args = make(np.random.default_rng(len(name)))
    src = s2s.source(s2s.grad(f, argnums=wrt), *args)
    assert "float_items(" in src and "read as Python floats" in src, src
    got = s2s.grad(f, argnums=wrt)(*args)
    plain = plain_gradient(f, args, wrt)
    for g, p in zip(got if isinstance(wrt, tuple) else (got,), plain if isinstance(wrt, tuple) else (plain,)):
        assert type(g) is type(p)
        np.testing.assert_array_equal(g, p)
    check_grad(f, *args, wrt=wrt)


@pytest.mark.parametrize("f", [kalman, kalman_iterated], ids=lambda f: f.__name__)
def test_the_zero_guards_of_python_floats_are_comparisons(f):
    """The adjoints are Python floats now: the zero adjoint's guard is a comparison, `finish` of a float argument
    goes, and so does the check of `ll -= ...` (a number: `math.pi`, an item and `math.log` of numbers)."""
    args = CONVERTED["kalman"][1](np.random.default_rng(0))
    src = s2s.source(s2s.grad(f, argnums=(0, 1)), *args)
    assert "zs_items[" in src and "is_zero" not in src and "finish" not in src and "inplace_check" not in src, src


def test_the_value_stays_a_numpy_number():
    args = CONVERTED["kalman"][1](np.random.default_rng(1))
    value, g = s2s.value_and_grad(kalman, argnums=(0, 1))(*args)
    assert type(value) is type(kalman(*args)) and value == kalman(*args)
    assert type(g[0]) is float


# ---- programs whose items must stay NumPy numbers --------------------------------------------------------
def fractional_power(a, y):
    s = 0.0
    for t in range(y.shape[0]):
        s = s + (y[t] - a) ** 0.5  # NaN for y[t] < a in NumPy; complex in Python
    return s


def bool_sum(a, y):
    s = 0.0
    for t in range(y.shape[0]):
        hits = (y[t] > 0.0) + (y[t] > 1.0)  # np.True_ + np.True_ is True (logical or); True + True is 2
        s = s + a * hits
    return s


def float32_beside(a, y, w):
    s = 0.0
    for t in range(y.shape[0]):
        s = s + a * y[t] * w  # w float32: a Python float keeps it float32, np.float64 does not
    return np.sum(s)


def returned_sum(a, y):
    s = 0.0
    for t in range(y.shape[0]):
        s = s + a * y[t]
    return s


def item_method(a, y):
    s = 0.0
    for t in range(y.shape[0]):
        s = s + a * y[t].item()
    return s


def rebound(a, y):
    y = y * 2.0
    s = 0.0
    for t in range(y.shape[0]):
        s = s + a * y[t] * y[t]
    return s


def read_once(a, y):
    return a * y[0] * y[1]


def rounded(a, y):
    s = 0.0
    for t in range(y.shape[0]):
        s = s + a * round(y[t] * 3.0)
    return s


def complex_literal(a, y):
    s = 0.0
    for t in range(y.shape[0]):
        s = s + a * np.abs(y[t] * 1j + 1.0)  # complex128 from np.float64; complex from a Python float
    return s


def slice_in_the_loop(a, y):
    s = 0.0
    for k in range(7):
        t = y[1:]  # (bound in the loop: not a slice of the function's start)
        s = s + a * t[k] * t[k]
    return s


NOT_CONVERTED = {
    "fractional_power": (fractional_power, lambda r: (-0.5, r.uniform(0.0, 2.0, size=8))),
    "bool_sum": (bool_sum, lambda r: (0.5, r.normal(size=8) * 2.0)),
    "float32_beside": (float32_beside, lambda r: (0.5, r.normal(size=8), r.normal(size=3).astype(np.float32))),
    "item_method": (item_method, lambda r: (0.5, r.normal(size=8))),
    "rebound": (rebound, lambda r: (0.5, r.normal(size=8))),
    "read_once": (read_once, lambda r: (0.5, r.normal(size=8))),
    "rounded": (rounded, lambda r: (0.5, r.normal(size=8))),
    "complex_literal": (complex_literal, lambda r: (0.5, r.normal(size=8))),
    "slice_in_the_loop": (slice_in_the_loop, lambda r: (0.5, r.normal(size=8))),
}


@pytest.mark.parametrize("name", sorted(NOT_CONVERTED))
def test_items_stay_numpy_numbers_where_python_floats_may_differ(name):
    f, make = NOT_CONVERTED[name]
    args = make(np.random.default_rng(len(name)))
    g = s2s.grad(f)
    got = g(*args)
    assert "float_items(" not in s2s.source(g, *args)
    np.testing.assert_array_equal(got, plain_gradient(f, args, 0))


def test_a_returned_value_of_items_stays_numpy_but_the_gradient_alone_converts():
    args = (0.5, np.random.default_rng(3).normal(size=8))
    assert "float_items(" in s2s.source(s2s.grad(returned_sum), *args)  # (the value is not computed)
    value, g = s2s.value_and_grad(returned_sum)(*args)
    assert type(value) is np.float64 and value == returned_sum(*args)
    assert g == pytest.approx(float(np.sum(args[1])))


def test_bool_arithmetic_of_items_keeps_numpys_logic():
    args = (0.5, np.array([2.0, 0.5, -1.0, 3.0]))
    assert s2s.grad(bool_sum)(*args) == pytest.approx(float(bool_sum(1.0, args[1]) - bool_sum(0.0, args[1])))


# ---- Python floats' errors: the code runs again in NumPy numbers ---------------------------------------------
def reciprocal_sum(a, y):
    s = 0.0
    for t in range(y.shape[0]):
        s = s + a / (y[t] - 1.0)
    return s


def high_power(a, y):
    s = 0.0
    for t in range(y.shape[0]):
        s = s + a * y[t] ** 200
    return s


@pytest.mark.parametrize("f, y", [(reciprocal_sum, np.array([0.5, 1.0, 2.0, 3.0])),
                                  (high_power, np.array([0.5, 40.0, 2.0, 1.0]))], ids=["division", "overflow"])
def test_a_python_float_error_reruns_in_numpy_numbers(f, y):
    g = s2s.grad(f)
    assert "float_items(" in s2s.source(g, 0.5, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = g(0.5, y)
        expected = plain_gradient(f, (np.float64(0.5), y), 0)
    assert math.isinf(got) and got == expected


def test_another_ones_error_is_raised():
    def f(a, y):
        c = 1.0 / a  # two Python floats: the function itself raises
        s = 0.0
        for t in range(y.shape[0]):
            s = s + y[t] * c
        return s

    with pytest.raises(ZeroDivisionError):
        s2s.grad(f)(0.0, np.ones(4))


# ---- an adversarial review's programs (helper 167): each left in NumPy numbers, or right ---------------------
W32 = np.linspace(0.1, 1.0, 8).astype(np.float32)


def float32_by_string(a, y):
    w = np.full(8, 0.1, "float32")  # a weak Python float keeps float32; np.float64 makes float64
    s = np.float64(0.0)
    for t in range(8):
        s = s + a * y[t] * w[t]
    return s


def float32_in_an_object(a, y, cfg):
    s = 0.0
    for t in range(8):
        s = s + a * y[t] * cfg.w
    return float(s)


def isreal_counted(a, y):
    s = np.float64(0.0)
    for t in range(8):
        s = s + a * (np.isreal(y[t]) + np.isreal(y[t]))  # np.True_ + np.True_; True + True is 2
    return s


def repr_length(a, y):
    s = np.float64(0.0)
    for t in range(8):
        s = s + a * len("%r" % y[t])  # 'np.float64(0.5)' against '0.5'
    return s


def squeezed_value(a, y):
    s = 0.0
    for t in range(8):
        s = s + a * y[t] * y[t]
    return np.squeeze(s)  # np.float64 of a float64, a 0-d array of a Python float


def divided_with_draws(a, y, rng):
    s = np.float64(0.0)
    for t in range(8):
        s = s + a / y[t] + 0.0 * rng.normal()
    return s


def divided_and_printed(a, y):
    s = np.float64(0.0)
    for t in range(8):
        s = s + a / y[t]
    print("done")
    return s


def overflowing(a, y):
    s = np.float64(0.0)
    for t in range(8):
        s = s + a * (y[t] * y[t])
    return s


Y8 = np.linspace(0.5, 2.0, 8)
Y8_ZERO = np.where(np.arange(8) == 3, 0.0, Y8)
REVIEWED = {
    "float32_by_string": (float32_by_string, (0.7, Y8)),
    "float32_in_an_object": (float32_in_an_object, (0.7, Y8, types.SimpleNamespace(w=np.float32(0.1)))),
    "isreal_counted": (isreal_counted, (0.7, Y8)),
    "repr_length": (repr_length, (0.7, Y8)),
    "squeezed_value": (squeezed_value, (0.7, Y8)),
    "divided_with_draws": (divided_with_draws, (0.7, Y8_ZERO, None)),
    "divided_and_printed": (divided_and_printed, (0.7, Y8_ZERO)),
}


@pytest.mark.parametrize("name", sorted(REVIEWED))
def test_reviewed_programs_keep_numpy_numbers(name, capsys):
    f, args = REVIEWED[name]
    if name == "divided_with_draws":
        args = (*args[:2], np.random.default_rng(0))
    g = s2s.grad(f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if name == "divided_with_draws":
            args = (*args[:2], np.random.default_rng(0))
            got = g(*args)
            expected = plain_gradient(f, (*args[:2], np.random.default_rng(0)), 0)
        else:
            got = g(*args)
            expected = plain_gradient(f, args, 0)
    assert "float_items(" not in s2s.source(g, *args)
    assert got == expected or math.isnan(got) and math.isnan(expected)
    value = s2s.value_and_grad(f)(*args)[0] if name == "squeezed_value" else None
    assert value is None or type(value) is type(f(*args))


def test_numpy_error_settings_hold_in_converted_code():
    y = np.where(np.arange(8) == 1, 1e200, Y8)
    g = s2s.grad(overflowing)
    assert "float_items(" in s2s.source(g, 0.7, y)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        g(0.7, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert g(0.7, y) == plain_gradient(overflowing, (0.7, y), 0) == math.inf


@pytest.mark.parametrize("name", sorted(NUMPY_SAME))
def test_numpy_functions_counted_the_same_are_the_same_on_python_floats(name):
    f = np.linalg.norm if name == "norm" else getattr(np, name)
    for x in (1.5, -0.25, 0.0):
        args = (x > 0, x, 2.0) if name == "where" else (x, 0.0, 1.0) if name == "clip" \
            else (x, 1.5) if name in ("dot", "vdot", "inner", "outer", "isclose", "allclose", "full_like") else (x,)
        a, b = f(*args), f(*(np.float64(v) if type(v) is float else v for v in args))
        assert type(a) is type(b) and np.array_equal(a, b), (name, x)


DT = np.float32


def float32_by_a_global_name(w, xs):
    z = np.zeros(3, DT) + 0.1  # float32: a weak Python float keeps it so
    t = 0.0
    for i in range(3):
        t = t + np.sum(xs[i] * z) * w
    return t


def test_a_dtype_held_by_a_global_name_keeps_numpy_numbers():
    args = (1.0, np.array([1.1, 2.3, 3.7]))
    g = s2s.grad(float32_by_a_global_name)
    assert "float_items(" not in s2s.source(g, *args)
    value, got = s2s.value_and_grad(float32_by_a_global_name)(*args)
    assert type(value) is type(float32_by_a_global_name(*args)) and got == plain_gradient(float32_by_a_global_name,
                                                                                           args, 0)


def test_warnings_made_errors_hold_in_converted_code():
    y = np.where(np.arange(8) == 1, 1e200, Y8)
    g = s2s.grad(overflowing)
    assert "float_items(" in s2s.source(g, 0.7, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(RuntimeWarning, match="overflow"):
            g(0.7, y)


def sqrt_of_a_mask(a, y):
    s = np.float64(0.0)
    m = y > 1.0
    r = np.sqrt(m)  # float16: a weak Python float keeps it so, np.float64 makes float64
    for t in range(8):
        s = s + a * y[t] * r[t]
    return s


def test_a_float_ufunc_of_booleans_keeps_numpy_numbers():
    args = (0.7, Y8 * 1.001)
    g = s2s.grad(sqrt_of_a_mask)
    assert "float_items(" not in s2s.source(g, *args)
    assert g(*args) == plain_gradient(sqrt_of_a_mask, args, 0)
