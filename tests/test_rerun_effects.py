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
