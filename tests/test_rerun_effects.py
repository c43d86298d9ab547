"""Where the derivative code divides a Python float by zero, s2s.grad runs it again in NumPy numbers only where a
second run changes nothing; it had already run the function once more on copies to learn its value before asking
that (helper 175): a function drawing from NumPy's global generator drew twice. It now asks first: the draw is
made once, and the ZeroDivisionError is raised (a rerun would draw again). A function that prints prints again
(documented in s2s/reruns.py: the value is NumPy's infinity)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import s2s


def draws(a, y):
    s = np.random.uniform() * 0.0
    for k in range(6):
        s = s + y[k] / a
    return s


def test_a_draw_is_not_made_again_after_a_division_by_zero():
    y = np.array([0.1, 0.25, 0.5, 0.95, 0.3, 0.45])
    np.random.seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        draws(0.0, y)
    expected = np.random.uniform()
    np.random.seed(0)
    with pytest.raises(ZeroDivisionError):
        s2s.grad(draws, argnums=(0, 1))(0.0, y)
    assert np.random.uniform() == expected


def floating_test(a, b, y):
    s = 0.0
    for k in range(3):
        s = s + y[k] / a
    if isinstance(a, np.floating):
        s = s + 5.0 * b
    return s


def test_a_test_of_numpy_scalar_types_is_not_run_again_in_numpy_numbers():
    """(helper 177) the rerun gives Python float arguments as np.float64: `isinstance(a, np.floating)` would take
    the other branch there, and its gradient (5.0 for b) was returned for a Python float's (0.0)."""
    y = np.array([0.5, 1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = s2s.grad(floating_test, argnums=(0, 1))(0.0, 1.0, y)
    assert got[0] == -np.inf and got[1] == 0.0
    assert s2s.grad(floating_test, argnums=1)(0.5, 1.0, y) == 0.0
