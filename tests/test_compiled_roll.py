"""np.roll's adjoint, `np.roll(g, np.negative(k), None)`, in compiled code: numba's roll takes no axis, and
the None axis is dropped (helper 139: a heat equation stepped with np.roll fell back). Rolls along an axis
keep numba's refusal and the NumPy code's numbers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import s2s
from tests.helpers_fd import check_all, compiled_matches

R = np.random.default_rng(51)


def heat_steps(u0, kappa, target):
    u = u0
    for _ in range(12):
        lap = np.roll(u, 1) - 2.0 * u + np.roll(u, -1)
        u = u + kappa * lap
    return np.sum((u - target) ** 2)


def heat_along_axes(u0, kappa):
    u = u0
    for _ in range(4):
        lap = np.roll(u, 1, axis=0) + np.roll(u, -1, axis=1) - 2.0 * u
        u = u + kappa * lap
    return np.sum(u ** 2)


def test_heat_steps_compile_and_match():
    pytest.importorskip("numba")
    args = (R.normal(size=16), 0.2, R.normal(size=16))
    check_all(heat_steps, args, wrt=(0, 1))
    compiled_matches(heat_steps, args, wrt=(0, 1))


def test_rolls_along_an_axis_give_the_numpy_code_s_numbers():
    pytest.importorskip("numba")
    args = (R.normal(size=(5, 6)), 0.1)
    want = check_all(heat_along_axes, args, wrt=(0, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = s2s.grad(heat_along_axes, wrt=(0, 1), compile=True)(*args)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)
