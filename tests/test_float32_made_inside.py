"""A float32 array the function makes itself, in a float64 function (review 229): NumPy computes `x[0] * w` in
float64, so d/dx[0] of np.sum(x[0] * w) is w's sum in float64. The specialised code replaced the seed's float64
broadcast by the number 1.0, which NumPy does not promote with, and summed w in float32: 2.5 where 3.5 is right.
`specialize.Context.float64_only` now reads the code too (transforms/precision.py); tests/test_fuzz_precision.py
tries the class."""

import warnings

import numpy as np
import pytest

import s2s
from s2s.compiled import CompiledFallbackWarning

DT = np.float32


def scaled_float32_weights(x, v):
    w = v.astype(np.float32)
    return np.sum(x[0] * w)


def module_dtype_weights(x, v):
    w = np.ones(5, DT) * v.astype(DT)
    return np.sum(x[0] * w)


def argument_dtype_weights(x, v, dt):
    w = v.astype(dt)
    s = 0.0
    for k in range(2):
        s = s + (x[k] * w).sum()
    return s


def float64_made_in_float32_code(x, v):
    t = x[0] + np.zeros(5)
    return np.sum(t * v)


def scaled_by_a_float32_number(x, v):
    return np.sum(x[0] * v.astype(np.float32)) * np.float32(1.0)


def scaled_by_a_float32_array(x, w, c):
    return np.sum(x[0] * w) * c


X, CANCELLING = np.array([0.7, 1.3]), np.array([1e8, 1.0, -1e8, 2.0, 0.5])  # (a float32 sum: 2.5; float64: 3.5)
EVERY_PATH = pytest.mark.parametrize("options", [{"optimize": False}, {}, {"compile": True}],
                                     ids=["general", "specialised", "compiled"])


def _gradient(f, options, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompiledFallbackWarning)
        return s2s.grad(f, **options)(*args)


@EVERY_PATH
def test_a_float32_adjoint_of_a_float64_sum_is_spread_in_float64(options):
    # (review 231: the seed times np.float32(1.0) is a float32 number, and its broadcast over the float64 product
    # summed w in float32, in the general code too; a broadcast takes the wider of the two dtypes now)
    assert _gradient(scaled_by_a_float32_number, options, X, CANCELLING)[0] == 3.5
    w, c = CANCELLING.astype(np.float32), np.array(1.0, np.float32)
    assert _gradient(scaled_by_a_float32_array, options, X, w, c)[0] == 3.5


@EVERY_PATH
def test_a_narrower_array_made_inside_is_reduced_in_float64(options):
    assert _gradient(scaled_float32_weights, options, X, CANCELLING)[0] == 3.5
    assert _gradient(module_dtype_weights, options, X, CANCELLING)[0] == 3.5
    assert list(_gradient(argument_dtype_weights, options, X, CANCELLING, "float32")) == [3.5, 3.5]
    x32, v32 = X.astype(np.float32), CANCELLING.astype(np.float32)
    assert _gradient(float64_made_in_float32_code, options, x32, v32)[0] == 3.5


def test_the_specialised_code_keeps_the_broadcast_and_says_why():
    text = s2s.source(s2s.grad(scaled_float32_weights), X, CANCELLING)
    assert "1.0 * w" not in text and "expand_reduced" in text
