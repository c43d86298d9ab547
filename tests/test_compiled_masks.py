"""Masks on compiled tapes: a loop that picks with `np.where(mask, a, b)` pushes its mask (`t3 = t2 > c`) on the
tape, first as the placeholder None. The mask is known to be bools of its array's shape
(`compiled_tapes.array_kinds`), so its tape is an array of rows and its placeholder an array of that type;
numba typed it Optional and refused `np.where` of it (stop 47's note: a clipped recurrence fell back)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers_fd import compiled_matches

pytest.importorskip("numba")
R = np.random.default_rng(148)


def clipped_recurrence(W, x0, c=1.0, steps=12):
    z = x0
    total = 0.0
    for _ in range(steps):
        z = W @ z
        z = np.where(np.abs(z) > c, c * np.sign(z), z)
        total += np.sum(z ** 2)
    return total


def relu_steps(W, h):
    for _ in range(5):
        a = W @ h
        h = np.where(a > 0.0, a, 0.01 * a)
    return np.sum(h ** 2)


def pick_between_arrays(W, x, y):
    for _ in range(4):
        u = np.tanh(W @ x)
        x = np.where(u < y, u, y * 0.5)
    return np.sum(x)


def band(W, z0):
    z = z0
    for _ in range(5):
        z = W @ z
        t = (z > -1.0) & ~(z > 1.0)
        z = np.where(t, z, 0.5 * np.tanh(z))
    return np.sum(z ** 2)


def threshold(W, z0, c):
    z = z0
    for _ in range(5):
        z = W @ z
        t = z > c
        z = np.where(t, z, 0.1 * z)
    return np.sum(z ** 2)


def logical_masks(W, z0):
    z = z0
    for _ in range(5):
        z = W @ z
        t = np.logical_and(z > -1.0, np.logical_not(z > 1.0)) | np.isnan(z)
        z = np.where(t, z, 0.5 * np.tanh(z))
    return np.sum(z ** 2)


CASES = {
    "clipped": (clipped_recurrence, (R.normal(size=(6, 6)) * 0.6, R.normal(size=6) * 2.0), (0, 1)),
    "relu": (relu_steps, (R.normal(size=(5, 5)), R.normal(size=5)), (0, 1)),
    "two_arrays": (pick_between_arrays, (R.normal(size=(4, 4)), R.normal(size=4), R.normal(size=4)), (0, 1, 2)),
    # (helper 146: a mask made with `&` and `~`, a threshold given as a 0-d array)
    "band": (band, (R.normal(size=(5, 5)) * 0.6, R.normal(size=5) * 2.0), (0, 1)),
    "logical": (logical_masks, (R.normal(size=(5, 5)) * 0.6, R.normal(size=5) * 2.0), (0, 1)),
    "threshold": (threshold, (R.normal(size=(5, 5)) * 0.6, R.normal(size=5) * 2.0, np.array(0.1)), (0, 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_masks_on_the_tape_compile(name):
    f, args, wrt = CASES[name]
    compiled_matches(f, args, wrt=wrt)


@pytest.mark.parametrize("name", ["clipped", "relu"])
def test_float32_masks_keep_the_dtype(name):
    # (`np.where(t, 0.0, z_bar)` picked in float64 in numba: 0.0 is made float32 as NumPy's weak number is)
    import s2s

    f = CASES[name][0]
    args = tuple(a.astype(np.float32) for a in CASES[name][1])
    got = s2s.grad(f, wrt=(0, 1), compile="strict")(*args)
    assert [g.dtype for g in got] == [np.float32, np.float32]
    for a, b in zip(got, s2s.grad(f, wrt=(0, 1))(*args)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_the_mask_is_claimed_as_bools_of_its_shape():
    import ast

    from s2s.compiled_tapes import array_kinds
    text = ("def f(W, z0, c):\n    t3 = None\n    z = z0\n    for t in range(3):\n        z2 = W @ z\n        t3 = np.abs(z2) > c\n"
            "        z = np.where(t3, c * np.sign(z2), z2)\n    return z")
    kinds = array_kinds(ast.parse(text).body[0], {"W": np.ones((3, 3)), "z0": np.ones(3)}, {"c": "float64"}, {"np"})
    assert kinds["t3"] == ("bool_", (3,))
    assert kinds["z"] == ("float64", (3,))
