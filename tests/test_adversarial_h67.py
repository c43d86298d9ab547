"""Programs written against tape.recompute_from_restored (a number of a loop recomputed in the backward loop, not
taped): chains of recomputed numbers, a number read again after the trip's last use, names taped before and
after it, a name changed after the number is computed. Each gradient is checked against central differences,
on the NumPy path and twice (the second call runs the hot code)."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad


def chain(a):
    x = a
    for _ in range(5):
        t = a / x
        u = t * x + a  # recomputed from a recomputed number
        x = np.sin(x) * t * u
    return x


def square_of_recomputed(a):
    x = a
    for _ in range(5):
        t = a / x
        u = t * t
        x = np.sin(x) * u + t
    return x


def earlier_changed_after(a):
    x = a
    y = a
    for _ in range(4):
        y = np.cos(x)
        t = y * a  # y taped before t, then rebound (renamed) after it
        x = np.sin(x) * t
        y = y * 2.0
    return x + y


def last_statement(a):
    x = a
    s = 0.0
    for _ in range(4):
        x = np.sin(x) + a
        t = a * x
        s = s + np.cos(t)
    return s


def rebound_after(a):
    x = a
    for _ in range(4):
        t = a * x
        x = np.sin(x) * t
        x = x * x
    return x


def unary(a):
    x = a
    for _ in range(4):
        t = -x * a + 2
        x = np.sin(t) * x
    return x


def read_again_after(a):
    x = a
    t = 0.5
    for _ in range(4):
        t = a * x
        x = np.sin(x) * t
        t = t * x
    return x + t


@pytest.mark.parametrize("f", [chain, square_of_recomputed, earlier_changed_after, last_statement, rebound_after,
                               unary, read_again_after], ids=lambda f: f.__name__)
def test_recomputed_numbers_give_the_finite_difference_gradient(f):
    g = s2s.grad(f)
    want = fd_grad(f, (0.7,))
    assert g(0.7) == pytest.approx(want, rel=1e-6, abs=1e-9)
    assert g(0.7) == pytest.approx(want, rel=1e-6, abs=1e-9)
