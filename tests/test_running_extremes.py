"""np.maximum.accumulate and np.minimum.accumulate (running maxima, the drawdown of a series): against central
differences away from ties, in reverse and forward mode and along every axis; at ties, against np.max's own rule
applied to each prefix (the adjoint of each output split evenly between the entries so far that equal it)."""

import numpy as np
import pytest
from helpers_fd import assert_close, check_grad
from test_functions_as_values import jvp_check

import s2s

WEIGHTS = np.random.default_rng(5).normal(size=(3, 4, 5))


def drawdown(prices):
    peak = np.maximum.accumulate(prices)
    return np.max((peak - prices) / peak)


def smooth_running_max(x):
    return np.sum(np.sin(np.maximum.accumulate(x)) * np.arange(1.0, x.shape[0] + 1))


def running_min_rows(x):
    return np.sum(np.cos(np.minimum.accumulate(x, axis=1)) * WEIGHTS[0, : x.shape[0], : x.shape[1]])


def running_max_down_columns(x):
    return np.sum(np.maximum.accumulate(x, axis=-2) ** 2 * WEIGHTS[1, : x.shape[0], : x.shape[1]])


def running_max_of_a_cube(x):
    return np.sum(np.maximum.accumulate(x * x, 2) * WEIGHTS)


CASES = [
    (drawdown, np.array([1.0, 1.3, 1.1, 1.6, 1.2, 0.9, 1.7])),
    (smooth_running_max, np.random.default_rng(1).normal(size=9)),
    (running_min_rows, np.random.default_rng(2).normal(size=(3, 5))),
    (running_max_down_columns, np.random.default_rng(3).normal(size=(4, 3))),
    (running_max_of_a_cube, np.random.default_rng(4).normal(size=(3, 4, 5))),
]


@pytest.mark.parametrize("f, x", CASES, ids=[c[0].__name__ for c in CASES])
def test_against_differences(f, x):
    g = s2s.grad(f)(x)
    check_grad(g, f, (x,))
    assert_close(s2s.derivative(f)(x), g, rtol=1e-12, atol=0.0)
    jvp_check(f, (x,))


def prefix_maxima(x):
    # the same outputs written with np.max of each prefix: np.max's rule splits an output's adjoint between ties
    return [np.max(x[: i + 1]) for i in range(x.shape[0])]


def prefix_minima(x):
    return [np.min(x[: i + 1]) for i in range(x.shape[0])]


@pytest.mark.parametrize("x", [np.array([1.0, 3.0, 2.0, 3.0, 3.0, 5.0, 5.0]), np.array([2.0, 2.0, 2.0, 2.0]),
                               np.array([0.5, -1.0, 0.5, 0.5, 0.25])], ids=["ties", "constant", "tie-first"])
@pytest.mark.parametrize("which", ["maximum", "minimum"])
def test_ties_split_as_np_max_splits_each_prefix(x, which):
    w = np.arange(1.0, x.shape[0] + 1)
    ufunc, prefixes = (np.maximum, prefix_maxima) if which == "maximum" else (np.minimum, prefix_minima)

    def accumulated(v):
        return np.sum(ufunc.accumulate(v) * w)

    def by_prefix(v):
        return np.sum(np.array(prefixes(v)) * w)

    assert_close(s2s.grad(accumulated)(x), s2s.grad(by_prefix)(x), rtol=1e-12, atol=1e-14)
    t = np.random.default_rng(9).normal(size=x.shape)
    assert_close(s2s.jvp(accumulated, (x,), (t,))[1], s2s.jvp(by_prefix, (x,), (t,))[1], rtol=1e-12, atol=1e-14)


def test_float32_keeps_its_dtype_and_ties_are_exact():
    x = np.array([1.0, 3.0, 2.0, 3.0, 3.0, 5.0], dtype=np.float32)
    g = s2s.grad(lambda v: np.sum(np.maximum.accumulate(v)))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, [1.0, 1 + 1 + 1 / 2 + 1 / 3, 0.0, 1 / 2 + 1 / 3, 1 / 3, 1.0], rtol=1e-6)


def test_nan_and_empty_inputs_do_not_crash():
    f = lambda v: np.sum(np.maximum.accumulate(v))  # noqa: E731
    g = s2s.grad(f)(np.array([1.0, np.nan, 2.0, 0.5]))
    assert g[0] == 1.0 and g[2] == 0.0 and g[3] == 0.0  # everything after the NaN is NaN: its adjoint goes to the NaN
    assert s2s.grad(f)(np.zeros(0)).shape == (0,)


def test_hessian_is_zero_where_the_function_is_piecewise_linear():
    x = np.array([0.3, 1.2, -0.4, 2.0])
    h = s2s.hessian(lambda v: np.sum(np.maximum.accumulate(v) * np.array([1.0, 2.0, 3.0, 4.0])))(x)
    np.testing.assert_array_equal(h, np.zeros((4, 4)))


def test_axis_none_of_a_vector_is_its_one_axis():
    # (helper 181: NumPy takes axis=None of a 1-d array; the adjoint raised TypeError)
    x = np.array([0.3, 0.1, 0.5])
    f = lambda v: np.sum(np.maximum.accumulate(v, axis=None) * v)  # noqa: E731
    check_grad(s2s.grad(f)(x), f, (x,))
    jvp_check(f, (x,))
