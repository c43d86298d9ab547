"""Rules for the `math` module and for Python builtins, on scalar floats."""

import math

import autograd.numpy as anp
import numpy as np
import pytest
from conftest import check_grad

# ---- one-argument math functions -------------------------------------------


def f_sin(x):
    return math.sin(x) * 2.0


def f_cos(x):
    return math.cos(x) + x


def f_tan(x):
    return math.tan(x)


def f_asin(x):
    return math.asin(x)


def f_acos(x):
    return 3.0 * math.acos(x)


def f_atan(x):
    return math.atan(x) * x


def f_sinh(x):
    return math.sinh(x)


def f_cosh(x):
    return math.cosh(x)


def f_tanh(x):
    return math.tanh(x) ** 2


def f_exp(x):
    return math.exp(x)


def f_expm1(x):
    return math.expm1(x)


def f_log(x):
    return math.log(x)


def f_log_base(x):
    return math.log(x, 3.0)


def f_log1p(x):
    return math.log1p(x)


def f_log2(x):
    return math.log2(x)


def f_log10(x):
    return math.log10(x)


def f_sqrt(x):
    return math.sqrt(x)


def f_fabs(x):
    return math.fabs(x) * 1.5


def f_chain(x):
    return math.sin(math.exp(x)) + math.log(1.0 + x * x)


UNARY = [
    (f_sin, [-2.1, 0.0, 0.7, 3.3]),
    (f_cos, [-1.3, 0.0, 2.5]),
    (f_tan, [-1.2, 0.0, 0.4, 1.1]),
    (f_asin, [-0.9, 0.0, 0.35, 0.8]),
    (f_acos, [-0.7, 0.0, 0.6]),
    (f_atan, [-3.0, 0.0, 0.5, 10.0]),
    (f_sinh, [-2.0, 0.0, 1.5]),
    (f_cosh, [-1.5, 0.3, 2.0]),
    (f_tanh, [-1.0, 0.0, 0.8]),
    (f_exp, [-2.0, 0.0, 1.7]),
    (f_expm1, [-1e-3, 0.0, 0.5, 2.0]),
    (f_log, [0.05, 1.0, 7.5]),
    (f_log_base, [0.2, 1.0, 9.0]),
    (f_log1p, [-0.5, 0.0, 3.0]),
    (f_log2, [0.3, 2.0, 17.0]),
    (f_log10, [0.01, 1.0, 250.0]),
    (f_sqrt, [0.04, 1.0, 12.0]),
    (f_fabs, [-2.5, -0.1, 0.3, 4.0]),
    (f_chain, [-0.6, 0.0, 0.9]),
]


@pytest.mark.parametrize("f, x", [(f, x) for f, xs in UNARY for x in xs],
                         ids=[f"{f.__name__}-{x}" for f, xs in UNARY for x in xs])
def test_unary_math(f, x):
    check_grad(f, x)


def f_asinh(x):
    return math.asinh(x)


def f_acosh(x):
    return math.acosh(x)


def f_atanh(x):
    return math.atanh(x)


@pytest.mark.parametrize("f, x", [(f_asinh, -1.2), (f_asinh, 2.0), (f_acosh, 1.5), (f_acosh, 4.0),
                                  (f_atanh, -0.4), (f_atanh, 0.7)])
def test_inverse_hyperbolic_math(f, x):
    check_grad(f, x)


# ---- two-argument math functions ---------------------------------------------


def f_atan2(y, x):
    return math.atan2(y, x)


def f_pow(x, y):
    return math.pow(x, y)


def f_pow_const_exp(x):
    return math.pow(x, 3.0) + math.pow(x, 0.5)


def f_pow_const_base(y):
    return math.pow(2.5, y)


def f_hypot2(x, y):
    return math.hypot(x, y)


def f_hypot3(x, y, z):
    return math.hypot(x, y, z) * x


@pytest.mark.parametrize("y, x", [(1.0, 2.0), (-0.5, 0.3), (0.7, -1.4), (-2.0, -0.1), (0.0, 1.0)])
def test_atan2(y, x):
    check_grad(f_atan2, y, x, wrt=(0, 1))


@pytest.mark.parametrize("x, y", [(1.3, 2.0), (0.4, -1.5), (2.0, 0.5), (3.1, 3.7)])
def test_pow_both(x, y):
    check_grad(f_pow, x, y, wrt=(0, 1))


@pytest.mark.parametrize("x", [0.3, 1.0, 2.2])
def test_pow_constant_exponent(x):
    check_grad(f_pow_const_exp, x)


@pytest.mark.parametrize("y", [-1.0, 0.0, 2.5])
def test_pow_constant_base(y):
    check_grad(f_pow_const_base, y)


def test_pow_negative_base_integer_exponent():
    # only the base is differentiable here (the exponent derivative is undefined for x < 0)
    check_grad(f_pow, -1.7, 3.0, wrt=0)


@pytest.mark.parametrize("x, y", [(3.0, 4.0), (-1.0, 0.5), (0.2, -2.0)])
def test_hypot2(x, y):
    check_grad(f_hypot2, x, y, wrt=(0, 1))


@pytest.mark.parametrize("args", [(1.0, 2.0, 3.0), (-0.5, 0.4, 1.2)])
def test_hypot3(args):
    check_grad(f_hypot3, *args, wrt=(0, 1, 2))


def f_pow_builtin(x, y):
    return pow(x, y)


def f_pow_operator(x, y):
    return x ** y


@pytest.mark.parametrize("f", [f_pow_builtin, f_pow_operator])
@pytest.mark.parametrize("x, y", [(1.3, 2.0), (0.6, -0.7), (2.5, 1.5)])
def test_builtin_pow(f, x, y):
    check_grad(f, x, y, wrt=(0, 1), ag=lambda a, b: a ** b)


# ---- builtins ---------------------------------------------------------------


def f_abs(x):
    return abs(x) * x + abs(x - 1.0)


def f_max2(x, y):
    return max(x, y) * 2.0


def f_min2(x, y):
    return min(x, y) * 3.0 + x


def f_max3(x, y):
    return max(x * x, y, 0.5)


def f_min3(x, y):
    return min(x, 2.0 * y, 1.5)


def f_max_list(x, y):
    return max([x, y * y, -1.0])


def f_min_list(x, y):
    return min([x, y, 10.0]) + y


def f_sum_list(x, y):
    return sum([x, 2.0 * y, x * y])


def f_sum_start(x, y):
    return sum([x, y], 1.5 * x)


def f_sum_array(x):
    return np.sum(sum(x) ** 2)


def f_sum_vector(x):
    return sum(x * x)


def f_float(x):
    return float(x) * x


def f_float_array(x):
    return float(np.sum(x * x)) + 2.0


@pytest.mark.parametrize("x", [-1.3, 0.4, 2.0])
def test_abs(x):
    check_grad(f_abs, x)


def _ag_max2(x, y):
    return (x if x > y else y) * 2.0


def _ag_min2(x, y):
    return (x if x < y else y) * 3.0 + x


@pytest.mark.parametrize("x, y", [(1.0, 2.0), (3.0, -1.0), (-0.5, -0.25)])
def test_max_min_two_args(x, y):
    check_grad(f_max2, x, y, wrt=(0, 1), ag=False)
    check_grad(f_min2, x, y, wrt=(0, 1), ag=False)
    check_grad(f_max2, x, y, wrt=0, ag=_ag_max2)
    check_grad(f_min2, x, y, wrt=1, ag=_ag_min2)


@pytest.mark.parametrize("x, y", [(1.5, 0.2), (0.1, 1.0), (0.3, 0.2), (2.0, 0.4), (0.5, 2.5)])
def test_max_min_three_args(x, y):
    check_grad(f_max3, x, y, wrt=(0, 1), ag=False)
    check_grad(f_min3, x, y, wrt=(0, 1), ag=False)


@pytest.mark.parametrize("x, y", [(1.5, 0.2), (-2.0, -1.5), (0.1, 2.0), (20.0, 12.0)])
def test_max_min_iterable(x, y):
    check_grad(f_max_list, x, y, wrt=(0, 1), ag=False)
    check_grad(f_min_list, x, y, wrt=(0, 1), ag=False)


def test_max_tie_goes_to_one_argument():
    import s2s
    gx, gy = s2s.grad(f_max2, wrt=(0, 1))(1.0, 1.0)
    assert gx + gy == pytest.approx(2.0)


@pytest.mark.parametrize("x, y", [(1.0, 2.0), (-0.3, 0.7)])
def test_builtin_sum_list(x, y):
    check_grad(f_sum_list, x, y, wrt=(0, 1))
    check_grad(f_sum_start, x, y, wrt=(0, 1))


@pytest.mark.parametrize("shape", [(4,), (3, 2), (2, 3, 2)])
def test_builtin_sum_array(shape):
    x = np.random.default_rng(1).normal(size=shape)
    check_grad(f_sum_array, x)


def test_builtin_sum_vector():
    x = np.random.default_rng(2).normal(size=5)
    check_grad(f_sum_vector, x)


@pytest.mark.parametrize("x", [-1.5, 0.5])
def test_float_scalar(x):
    check_grad(f_float, x, ag=lambda a: a * a)


def test_float_of_array_sum():
    x = np.random.default_rng(3).normal(size=(3, 2))
    check_grad(f_float_array, x, ag=lambda a: anp.sum(a * a) + 2.0)


# ---- what the shape-specialised code knows of them ------------------------------------------------


def loglik_by_items(s, y):
    ll = 0.0
    for t in range(y.shape[0]):
        ll = ll + y[t] * s + math.log(s) + math.log(s, 2.0) + math.exp(-s) + math.floor(s)
    return ll


def test_math_functions_give_numbers_to_the_specialised_code():
    """Every function of `math` gives a number: a loss summing them keeps no general helper, and the natural log
    (no base) has the adjoint `g / x` (no call scaling it by 1.0)."""
    import s2s
    y = np.linspace(0.5, 1.5, 6)
    g = s2s.grad(loglik_by_items)
    src = s2s.source(g, 1.3, y)
    assert "unbroadcast" not in src and "# s2s:" not in src and src.count("log_scale") == 1, src
    check_grad(loglik_by_items, 1.3, y, ag=False)  # (autograd cannot floor a traced number)
    check_grad(lambda s: math.log(s) * s, 1.7)
