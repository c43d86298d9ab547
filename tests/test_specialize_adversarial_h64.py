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


# ---- what held: np.array of numbers and np.concatenate read item by item (s2s.array_grad -> g, the tuple of
# g's slices), lists changed before and after, adjoints whose arrays other adjoints share

def list_changed_after(w):
    t = [w[0] * w[1], np.sin(w[2])]
    v = np.array(t)
    t[0] = w[2] * 5.0
    t.append(w[0])
    return np.sum(v * v) + t[0] + t[2] * 2.0


def list_changed_before(w):
    t = [w[0] * w[1], np.sin(w[2])]
    t[1] = w[0] * 3.0
    t.append(w[1] ** 2)
    return np.sum(np.array(t) ** 3)


def array_fed_back(w):
    v = np.array([w[0], w[1]])
    s = 0.0
    for _ in range(3):
        t = [v[1] * w[2], v[0] + v[1] * 0.5]
        s = s + np.sum(v * v)
        v = np.array(t)
    return np.sum(v ** 2) + s


def shared_adjoint(w):
    t = [w[0] * w[1], w[2]]
    u = w[:2] * 3.0
    q = u[0] * w[2]
    v = np.array(t)
    z = v + u
    return np.sum(z * z) + q


def same_array_twice(w):
    h = np.tanh(w[:3])
    z = np.concatenate([h, h, h[::-1]])
    return np.sum(z * z * np.arange(9.0))


def columns_negative_axis(w):
    a = np.reshape(w[:6], (2, 3))
    b = np.reshape(w[6:8], (2, 1))
    z = np.concatenate([np.tanh(a), b * b], axis=-1)
    return np.sum(z ** 3 * np.arange(4.0))


def rows_then_read_whole(w):
    a = np.reshape(w[:6], (2, 3))
    z = np.concatenate([a, a[:1] * 3.0, np.tanh(a)], axis=0)
    return np.sum(z ** 2 * np.arange(3.0)) + z[1, 2] * np.sum(z)


def reversed_stepped_range(w):
    s = w[0]
    for i in range(2, w.shape[0], 3):
        s = np.sin(s) * w[i] + s * w[i - 1]
    return s


W9 = np.array([0.3, -1.2, 0.7, 1.1, -0.4, 0.9, 0.25, -0.6, 1.3])


@pytest.mark.parametrize("f", [list_changed_after, list_changed_before, array_fed_back, shared_adjoint,
                               same_array_twice, columns_negative_axis, rows_then_read_whole, reversed_stepped_range])
def test_item_by_item_adjoints_give_the_derivative(f):
    got = s2s.grad(f)(W9)
    np.testing.assert_allclose(got, fd_grad(f, (W9,), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got, s2s.derivative(f, optimize=False)(W9), rtol=1e-12, atol=1e-15)


def same_array_joined(w):
    h = np.tanh(w[:3])
    z = np.concatenate([h, h])
    return np.sum(z * z * w[2:8])


def columns_joined_negative_axis(w):
    a = np.reshape(w[:6], (2, 3))
    b = np.reshape(w[6:8], (2, 1))
    z = np.concatenate([np.tanh(a), b * b], axis=-1)
    return np.sum(z ** 3)


@pytest.mark.parametrize("f", [same_array_joined, columns_joined_negative_axis, reversed_stepped_range])
def test_compiled_item_by_item_adjoints_are_the_numpy_code_s(f):
    pytest.importorskip("numba")
    for n in (W9, W9[:8], W9[:6]) if f is reversed_stepped_range else (W9,):
        got = s2s.grad(f, compile="strict")(n)
        np.testing.assert_allclose(got, s2s.grad(f)(n), rtol=1e-12)
        np.testing.assert_allclose(got, fd_grad(f, (n,), 0), rtol=1e-6, atol=1e-8)
