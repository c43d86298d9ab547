"""Python's division by zero in adjoints where the function itself computes in NumPy numbers.

`np.log(0.0)` is -inf and `np.sum(x) / x.size` of an empty array is NaN (NumPy numbers), but the adjoints
`1.0 / x` and `1.0 / x.size` were divisions of Python numbers, which raise ZeroDivisionError. s2s.grad and
s2s.value_and_grad (and compile=True) now give NumPy's infinity or NaN there, as autograd and JAX do, where the
function itself gives a number (api.in_numpy_numbers); where the function raises, so does its gradient.
"""

import warnings

import numpy as np
import pytest

import s2s


def mean_of_squares(x):
    return np.sum(x ** 2) / x.size


def mean_by_len(x, w):
    return w * np.sum(x) / len(x)


def log_of(x):
    return np.log(x)


def scaled(x, n):
    return x / n


def reciprocal(x):
    return 1.0 / x


def log_of_first(xs):
    return np.log(xs[0]) + 3.0 * xs[1]


def by_type(x):
    # a different value for np.float64 than for float: the second run must not be taken for the first's
    return np.log(x) if type(x) is float else 2.0 * x


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def test_mean_of_an_empty_array_has_an_empty_gradient():
    g = s2s.grad(mean_of_squares)(np.zeros(0))
    assert g.shape == (0,) and g.dtype == np.float64
    g32 = s2s.grad(mean_of_squares)(np.zeros(0, np.float32))
    assert g32.shape == (0,) and g32.dtype == np.float32


def test_mean_by_len_gives_nan_for_the_weight():
    value, (gx, gw) = s2s.value_and_grad(mean_by_len, wrt=(0, 1))(np.zeros(0), 2.0)
    assert np.isnan(value) and gx.shape == (0,) and np.isnan(gw) and type(gw) is float


def test_log_at_zero_is_infinite_and_a_python_float():
    g = s2s.grad(log_of)(0.0)
    assert g == np.inf and type(g) is float
    value, g = s2s.value_and_grad(log_of)(0.0)
    assert value == -np.inf and g == np.inf
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        s2s.grad(log_of)(0.0)


def test_numpy_number_divided_by_int_zero():
    g = s2s.grad(scaled)(np.float64(1.0), 0)
    assert g == np.inf


def test_floats_in_a_list_argument():
    g = s2s.grad(log_of_first)([0.0, 1.0])
    assert g[0] == np.inf and g[1] == 3.0 and all(type(v) is float for v in g)


def test_a_function_that_raises_has_a_gradient_that_raises():
    with pytest.raises(ZeroDivisionError):
        reciprocal(0.0)
    with pytest.raises(ZeroDivisionError):
        s2s.grad(reciprocal)(0.0)


def test_a_second_run_with_another_value_is_not_taken():
    assert by_type(0.0) == -np.inf and by_type(np.float64(0.0)) == 0.0
    with pytest.raises(ZeroDivisionError):
        s2s.grad(by_type)(0.0)


def test_ordinary_points_are_unchanged():
    for x in (0.5, 2.0):
        assert s2s.grad(log_of)(x) == pytest.approx(1.0 / x)
    x = np.random.default_rng(0).normal(size=5)
    assert np.allclose(s2s.grad(mean_of_squares)(x), 2.0 * x / 5)


def test_the_hot_call_after_a_normal_one():
    df = s2s.grad(log_of)
    assert df(2.0) == 0.5 and df(2.0) == 0.5  # the second call runs the hot code
    assert df(0.0) == np.inf and df(4.0) == 0.25


def test_compiled():
    pytest.importorskip("numba")
    from s2s.compiled import CompiledFallbackWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompiledFallbackWarning)
        g = s2s.grad(mean_of_squares, compile=True)(np.zeros(0))
        assert g.shape == (0,)
        df = s2s.grad(log_of, compile=True)
        assert df(2.0) == 0.5 and df(0.0) == np.inf


# ---- helper 108: the second run must not run anything whose result or effect may differ the second time

def draws(x, y, rng):
    return np.log(x) + rng.normal() * y


def draws_globally(x, y):
    return np.log(x) + np.random.normal() * y


class Counter:
    def __init__(self):
        self.k = 0.0

    def loss(self, x, y):
        self.k = self.k + 1.0
        return np.log(x) + self.k * y


def appends(x, y, acc):
    acc.append(1.0)
    return np.log(x) + len(acc) * y


def by_type_with_the_same_value(x, y):
    return np.log(x) + (y if type(y) is float else 2.0 * y)


@pytest.mark.parametrize("call", [
    lambda: s2s.grad(draws, wrt=(0, 1))(0.0, 1.0, np.random.default_rng(0)),
    lambda: s2s.grad(draws_globally, wrt=(0, 1))(0.0, 1.0),
    lambda: s2s.grad(appends, wrt=(0, 1))(0.0, 1.0, []),
    lambda: s2s.grad(by_type_with_the_same_value, wrt=(0, 1))(0.0, 1.0),
])
def test_no_second_run_where_it_may_differ(call):
    # (each gave a wrong derivative for y: a second draw, k counted twice, the list appended twice, the other branch)
    with pytest.raises(ZeroDivisionError):
        call()


def test_a_second_run_leaves_the_generator_and_the_object_as_one_call_does():
    rng = np.random.default_rng(0)
    with pytest.raises(ZeroDivisionError):
        s2s.grad(draws, wrt=(0, 1))(0.0, 1.0, rng)
    # (since stop 70 the seed takes the output's dtype where the code reads a value whose dtype s2s does not see,
    # `self.k`: the adjoints are NumPy numbers, 1 / 0.0 is NumPy's inf in the one run, and no second run is needed)
    counter = Counter()
    with np.errstate(divide="ignore"):
        x_bar, y_bar = s2s.grad(counter.loss, wrt=(0, 1))(0.0, 1.0)
    assert x_bar == np.inf and y_bar == 1.0 and counter.k == 1.0
