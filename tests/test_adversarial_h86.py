"""Adversarial programs against the relaxed aliasing and ownership checks: each derivative (and value) agrees
with Python's and finite differences, or the program is refused."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from s2s.errors import UnsupportedSyntaxError
from tests.helpers_fd import fd_grad

X3 = np.array([1.0, 2.0, 3.0])


def _right_or_refused(f, args):
    """grad, value_and_grad and derivative agree with f and finite differences, or all refuse f."""
    try:
        value, g = s2s.value_and_grad(f)(*args)
    except UnsupportedSyntaxError:
        for make in (s2s.grad, s2s.derivative):
            with pytest.raises(UnsupportedSyntaxError):
                make(f)(*args)
        return
    want = fd_grad(f, args)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    np.testing.assert_allclose(g, want, rtol=1e-6)
    np.testing.assert_allclose(s2s.grad(f)(*args), want, rtol=1e-6)
    np.testing.assert_allclose(s2s.derivative(f)(*args), want, rtol=1e-6)


# ------------------------------------------------- calls that may give back their argument itself

def diff_of_order_zero(x):
    y = x * 1.0
    z = y
    z = np.diff(z, 0)  # n=0: y itself
    z[0] = z[0] * 3.0
    return np.sum(y * x)


def float64_of_an_array(x):
    y = x * 1.0
    z = np.float64(y)  # of a float64 array: y itself
    z[0] = z[0] * 3.0
    return np.sum(y * x)


def nan_to_num_with_copy_by_position(x):
    y = x * 1.0
    z = y
    z = np.nan_to_num(z, False)  # copy=False: y itself
    z[0] = z[0] * 3.0
    return np.sum(y * x)


def matrix_power_one(x):
    y = np.reshape(x, (2, 2)) * 1.0
    z = y
    z = np.linalg.matrix_power(z, 1)  # y itself
    z[0, 0] = z[0, 0] * 3.0
    return np.sum(y * y)


@pytest.mark.parametrize("f, x", [(diff_of_order_zero, X3), (float64_of_an_array, X3),
                                  (nan_to_num_with_copy_by_position, X3),
                                  (matrix_power_one, np.array([1.0, 2.0, 3.0, 4.0]))])
def test_a_call_that_may_give_back_its_argument_is_no_new_object(f, x):
    # were: value 14.0 where Python gives 16.0, gradient [2, 4, 6] where it is [6, 4, 6] (matrix_power_one:
    # 30.0 vs 38.0, [2, 4, 6, 8] vs [18, 4, 6, 8]): the update of z was taken to leave y alone
    _right_or_refused(f, (x.copy(),))
