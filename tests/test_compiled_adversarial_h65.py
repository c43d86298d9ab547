"""Adversarial inputs against the compiled helpers (s2s/runtime/compiled_helpers.py), whose own code has no
numba bounds checks, and against numba's failures while compiling: the compiled derivative gives the
NumPy path's numbers, falls back to it, or raises as it does; it never reads or writes past an array."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import s2s

numba = pytest.importorskip("numba")

from s2s import compiled  # noqa: E402
from s2s.runtime.compiled_helpers import FALLBACK, add_at, expand_reduced, grad_extreme  # noqa: E402


@numba.njit(boundscheck=True)
def _add_at(a, index, v):
    add_at(a, index, v)
    return a


def test_add_at_refuses_rows_of_another_length():
    # numba's in-place `a[i] += v` checks no shapes: a row of 2 values added into rows of 3 read past v's
    # end (garbage in the last column), one of 5 left two out; NumPy raises for both
    for index, v in ((np.array([0, 1]), np.arange(4.0).reshape(2, 2)), (np.array([0, 1]), np.ones((2, 5))),
                     (np.array([0, 1]), np.ones(2)), (1, np.ones(2)), (1, np.ones(5))):
        with pytest.raises(ValueError):
            np.add.at(np.zeros((5, 3)), index, v)
        with pytest.raises(ValueError, match=FALLBACK):
            _add_at(np.zeros((5, 3)), index, v)
    # what held: rows of the right length, per index or one for all
    np.testing.assert_array_equal(_add_at(np.zeros((3, 2)), np.array([0, 0]), np.ones((2, 2)))[0], [2.0, 2.0])
    np.testing.assert_array_equal(_add_at(np.zeros((3, 2)), np.array([2, 2]), np.ones(2))[2], [2.0, 2.0])
    np.testing.assert_array_equal(_add_at(np.zeros((3, 2)), -1, np.ones(2))[2], [1.0, 1.0])


@numba.njit
def _expand(g, x):
    return expand_reduced(g, x, 1, False)


@numba.njit
def _extreme(g, ans, x):
    return grad_extreme(g, ans, x, 1, False)


def test_the_adjoint_of_a_reduction_must_have_the_reduction_s_shape():
    # the helpers reshaped g to (before the axis, after it) whatever its shape: g of shape (1, 3) for a sum
    # over axis 1 of a (3, 4) array gave numbers where NumPy's broadcast raises; a number for a max over an
    # axis raised numba's own ValueError (not a fallback) where NumPy broadcasts it
    x = np.arange(12.0).reshape(3, 4)
    for g in (np.ones((1, 3)), np.ones(4), np.ones((3, 1, 1))):
        with pytest.raises(ValueError, match=FALLBACK):
            _expand(g, x)
    for g, ans in ((1.0, np.max(x, axis=1)), (np.ones(4), np.max(x, axis=1)), (np.ones(3), np.ones(4))):
        with pytest.raises(ValueError, match=FALLBACK):
            _extreme(g, ans, x)
    # what held: the reduction's shape, its dim kept or not
    np.testing.assert_array_equal(_expand(np.arange(3.0), x), np.repeat(np.arange(3.0)[:, None], 4, axis=1))
    np.testing.assert_array_equal(_expand(np.arange(3.0)[:, None], x), np.repeat(np.arange(3.0)[:, None], 4, axis=1))
    np.testing.assert_array_equal(_extreme(np.ones(3), np.max(x, axis=1), x), x == np.max(x, axis=1)[:, None])


def picks(x, ids):
    s = 0.0
    for t in range(ids.shape[0]):
        s = 0.5 * s + x[ids[t]] * x[ids[t]]  # (a recurrence: a plain sum's trips are fused, with no tape to type)
    return s


@pytest.mark.parametrize("dtype", [np.int32, np.uint8])
def test_a_crash_inside_numba_s_typing_is_a_fallback(dtype):
    # an int32 index array read item by item: numba's typing failed with an AttributeError of its own, which
    # reached the user from compile=True instead of running the NumPy code
    x, ids = np.array([0.5, -1.0, 2.0, 0.3]), np.array([0, 3, 3, 1], dtype)
    want = s2s.grad(picks)(x, ids)
    with pytest.warns(compiled.CompiledFallbackWarning):
        got = s2s.grad(picks, compile=True)(x, ids)
    np.testing.assert_array_equal(got, want)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", compiled.CompiledFallbackWarning)
        with pytest.raises(compiled.NotCompilableError):
            s2s.grad(picks, compile="strict")(x, ids)
