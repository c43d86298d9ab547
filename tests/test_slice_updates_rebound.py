"""`y[i] += v` where the array is bound again after its updates (`f = f - c * v`): the adjoint of the update,
y_bar's items zeroed then added back (`transforms/item_updates.py` `drop_restored_items_copying`), is y_bar's
own values, so the backward sweep no longer reads y, the tape does not keep it, and the updates run in place.
Each program is checked against central differences and the general code; the ones whose update is not an
add (`*=`, a fancy index, another array's items) keep their adjoint and must stay right."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import compiled_matches, fd_grad

R = np.random.default_rng(48)


def spring_forces(k, x0):
    x, v = x0, np.zeros_like(x0)
    for _ in range(20):
        d = x[1:] - x[:-1] - 1.0
        f = np.zeros_like(x)
        f[:-1] += k * d
        f[1:] -= k * d
        f = f - 0.3 * v
        v = v + 0.05 * f
        x = x + 0.05 * v
    return np.sum(x ** 2)


def scaled_in_place(w, x0):
    """(`*=`: the item's adjoint is g times w, not g: nothing to drop)"""
    x = x0
    for _ in range(5):
        f = np.ones_like(x)
        f[1:] *= w * x[:-1]
        f = f * x
        x = np.tanh(f)
    return np.sum(x)


def fancy_index_add(w, x0):
    idx = np.array([0, 2, 2, 4])
    x = x0
    for _ in range(4):
        f = x * 1.0
        f[idx] += w
        f = np.sin(f)
        x = f
    return np.sum(x ** 2)


def another_array_s_items(w, x):
    """(the item read is of z, the update of f: `f[1:] = z[1:] + w`)"""
    z = np.cos(x)
    f = np.zeros_like(x)
    f[1:] = z[1:] + w
    f = f * z
    return np.sum(f ** 2)


def two_d_rows(W, X):
    H = X
    for _ in range(3):
        G = H @ W
        G[:, 1:] += G[:, :-1] * 0.5
        G = np.tanh(G)
        H = G
    return np.sum(H)


def item_read_between(w, x0):
    """(y_bar read between the zeroing and the adding back: a later read of the update's items)"""
    x = x0
    s = 0.0
    for _ in range(4):
        f = x * 2.0
        f[2:] += w
        s = s + np.sum(f[1:4] ** 2)
        f = f - x
        x = np.tanh(f)
    return s + np.sum(x)


def counter_index(w, x0):
    x = x0
    for i in range(4):
        f = x * 1.5
        f[i] += w[i]
        f[i + 1] -= w[i]
        f = f * 0.9
        x = np.sin(f)
    return np.sum(x)


CASES = {
    "spring": (spring_forces, (1.0 + R.random(11), np.arange(12.0) + 0.1 * R.normal(size=12)), (0, 1)),
    "scaled": (scaled_in_place, (0.7, R.normal(size=6)), (0, 1)),
    "fancy": (fancy_index_add, (0.3, R.normal(size=6)), (0, 1)),
    "other_array": (another_array_s_items, (0.4, R.normal(size=6)), (0, 1)),
    "rows": (two_d_rows, (R.normal(size=(4, 4)) * 0.5, R.normal(size=(3, 4))), (0, 1)),
    "read_between": (item_read_between, (0.2, R.normal(size=6)), (0, 1)),
    "counter": (counter_index, (R.normal(size=4) * 0.3, R.normal(size=6)), (0, 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_differences_and_the_general_code(name):
    f, args, wrt = CASES[name]
    got = s2s.grad(f, wrt=wrt)(*args)
    general = s2s.derivative(f, wrt=wrt)(*args)
    for g, w, h in zip(got, wrt, general):
        np.testing.assert_allclose(g, fd_grad(f, args, wrt=w), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(g, h, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["spring", "rows", "counter"])
def test_the_update_runs_in_place_and_the_array_is_not_taped(name):
    f, args, wrt = CASES[name]
    src = s2s.source(s2s.grad(f, wrt=wrt), *args)
    assert "setitem" not in src and "getitem_grad" not in src and "copies" not in src, src


def test_float32_spring_keeps_its_dtype():
    k, x0 = (a.astype(np.float32) for a in CASES["spring"][1])
    got = s2s.grad(spring_forces, wrt=(0, 1))(k, x0)
    assert all(g.dtype == np.float32 for g in got)
    want = s2s.grad(spring_forces, wrt=(0, 1))(k.astype(np.float64), x0.astype(np.float64))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-3, atol=1e-3)


def test_compiled_spring_matches():
    pytest.importorskip("numba")
    f, args, _ = CASES["spring"]
    compiled_matches(f, args, wrt=(0, 1))
