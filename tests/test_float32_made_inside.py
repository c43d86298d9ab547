"""A float32 array the function makes itself, in a float64 function (review 229): NumPy computes `x[0] * w` in
float64, so d/dx[0] of np.sum(x[0] * w) is w's sum in float64. The specialised code replaces the seed's float64
broadcast by the number 1.0, which NumPy does not promote with, and sums w in float32: 2.5 where 3.5 is right.
Known and not yet fixed (issue 16): the specialisation's float64-only test reads the arguments' dtypes alone."""

import numpy as np
import pytest

import s2s


def scaled_float32_weights(x, v):
    w = v.astype(np.float32)
    return np.sum(x[0] * w)


@pytest.mark.xfail(strict=True, reason="the seed's broadcast is replaced by 1.0 where a float32 array made inside "
                                       "is reduced: the sum is taken in float32")
def test_a_float32_array_made_inside_is_reduced_in_float64():
    x, v = np.array([0.7, 1.3]), np.array([1e8, 1.0, -1e8, 2.0, 0.5])
    assert s2s.grad(scaled_float32_weights, optimize=False)(x, v)[0] == 3.5  # (the general code is right)
    assert s2s.grad(scaled_float32_weights)(x, v)[0] == 3.5
