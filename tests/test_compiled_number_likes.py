"""`np.zeros_like(x)` (np.ones_like) of a Python number is a 0-d array, which the first arithmetic turns into a
number: numba refused the name's two types and `compile=True` ran the NumPy code (a pendulum's state started with
`om = np.zeros_like(theta0)`: 117 us against 3.3 us compiled; helper 166). The compiled code reads it as the number
where nothing changes its array in place."""

import numpy as np
import pytest
from helpers_fd import compiled_matches

import s2s


def pendulum(L, theta0):
    th, om = theta0, np.zeros_like(theta0)
    for _ in range(50):
        om = om - 0.02 * 9.81 / L * np.sin(th)
        th = th + 0.02 * om
    return (L * np.sin(th) - 0.3) ** 2


def counted(x):
    total = np.ones_like(x)
    for k in range(5):
        total = total * (1.0 + x / (k + 1))
    return total * x


def updated_in_place(x):
    acc = np.zeros_like(x)
    acc += x * x  # (a 0-d array changed in place: it stays an array in the compiled code too)
    return acc * 3.0


@pytest.mark.parametrize("f, args", [(pendulum, (1.2, 0.4)), (counted, (0.7,))], ids=["pendulum", "counted"])
def test_a_number_like_a_number_compiles(f, args):
    compiled_matches(f, args, wrt=0)
    compiled_matches(f, args, wrt=len(args) - 1)


def test_one_changed_in_place_keeps_numpys_value():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (numba may take the 0-d array or fall back: the value is what is checked)
        got = s2s.grad(updated_in_place, compile=True)(0.7)
    np.testing.assert_allclose(got, 6 * 0.7, rtol=1e-12)
    np.testing.assert_allclose(s2s.grad(updated_in_place)(0.7), 6 * 0.7, rtol=1e-12)
