"""Adversarial checks of the item-by-item adjoints (np.array of numbers, np.concatenate's pieces, `for v in x`)
and of the compiled code's indexing (helper h64)."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad


def loop_past_the_end(w, n):
    s = 0.0
    for t in range(n):
        s = s + w[t] * w[t]
    return s


def wrapped_past_the_start(w, n):
    s = 0.0
    for t in range(n):
        s = s + w[-t] * w[t - 1]
    return s


def actions_past_the_end(w, acts):
    s = 0.0
    for t in range(3):
        a = acts[t]
        s = s + w[a] * w[t]
    return s


@pytest.mark.parametrize("mode", ["strict", True])
@pytest.mark.parametrize("f, bad, good", [
    (loop_past_the_end, 5, 3),
    (wrapped_past_the_start, 5, 4),
    (actions_past_the_end, np.array([0, 1, 7]), np.array([0, 2, 1])),
])
def test_compiled_code_raises_numpys_index_error_where_the_function_does(f, bad, good, mode):
    """numba's machine code did not check bounds: an index past the end read (and the adjoint wrote) memory
    past the array, giving a gradient (or a crash) where the function raises IndexError."""
    pytest.importorskip("numba")
    w = np.array([0.5, 1.5, 2.5])
    with pytest.raises(IndexError):
        f(w, bad)
    df = s2s.grad(f, compile=mode)
    expected = s2s.grad(f)(w, good)
    np.testing.assert_allclose(df(w, good), expected, rtol=1e-12)
    for _ in range(2):  # the first call and the hot code after it
        with pytest.raises(IndexError, match="out of bounds"):
            df(w, bad)
    np.testing.assert_allclose(df(w, good), expected, rtol=1e-12)
    np.testing.assert_allclose(df(w, good), fd_grad(f, (w, good), 0), rtol=1e-6)
