"""Adjoints summed over broadcast axes of length 1 in compiled code (`unbroadcast` of `w[:, None] * x[None, :]`,
of `X * m` with `m` kept as (n, 1)): numba's helper sums them (it fell back, "an adjoint summed over a stretched
axis of length 1"). Against the NumPy code and central differences, float64 and float32."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import compiled_matches

pytest.importorskip("numba")
R = np.random.default_rng(58)


def outer_by_broadcast(w, xs):
    s = 0.0
    for t in range(xs.shape[0]):
        s = s + np.sum(np.tanh(w[:, None] * xs[t][None, :]))
    return s


def kept_row_sums(W, X):
    m = np.sum(W, axis=1, keepdims=True)
    return np.sum(np.sin(X * m + W))


def three_axes(a, b, c):
    return np.sum(np.cos(a[:, None, None] * b[None, :, None] + c[None, None, :]) ** 2)


def stretched_and_leading(v, X):
    """(g has a leading axis more than v's (1, m), and v's first axis is stretched)"""
    return np.sum(np.exp(-(X[None, :, :] - v) ** 2))


CASES = {
    "outer": (outer_by_broadcast, (R.normal(size=3), R.normal(size=(4, 2))), (0, 1)),
    "kept_rows": (kept_row_sums, (R.normal(size=(3, 4)), R.normal(size=(3, 4))), (0, 1)),
    "three_axes": (three_axes, (R.normal(size=2), R.normal(size=3), R.normal(size=4)), (0, 1, 2)),
    "leading": (stretched_and_leading, (R.normal(size=(1, 4)), R.normal(size=(3, 4))), (0,)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_matches_the_numpy_code_and_differences(name):
    f, args, wrt = CASES[name]
    compiled_matches(f, args, wrt=tuple(wrt))  # (one compile for all the arguments)


def test_float32_keeps_its_dtype():
    args = tuple(a.astype(np.float32) for a in CASES["kept_rows"][1])
    got = s2s.grad(kept_row_sums, compile="strict")(*args)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, s2s.grad(kept_row_sums)(*args), rtol=1e-4, atol=1e-5)
