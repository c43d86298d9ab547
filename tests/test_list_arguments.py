"""A list (or tuple) given for a parameter the function reads both as an array (`np.sum(L)`) and by
items (`L[0]`, `max(L)`, `zip(L, L)`): the adjoints of those reads are lists, and are added with s2s.add
(transforms/reverse.py). With `+` two of them were concatenated: for L = [0.5], `np.sum(L) * L[0] * L[0]`
and `np.sum(L) * max(L) * min(L)` had the gradient 0.5 for 0.75 (no error: [g1] + [g2] broadcast with
the sum's adjoint), and longer lists crashed."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad


def cube_through_sum(L):
    s = np.sum(L)
    return s * L[0] * L[0]


def mean_times_ends(L):
    return np.mean(L) * L[0] * L[-1]


def sum_times_items(L):
    return np.sum(L) * L[0] * L[1] + L[2] ** 2


def sum_times_extremes(L):
    return np.sum(L) * max(L) * min(L)


def sum_times_zipped(L):
    return np.sum(L) * sum(a * b for a, b in zip(L, L))


CASES = [(cube_through_sum, [0.5]), (mean_times_ends, [0.5]), (mean_times_ends, [0.5, 1.5]),
         (sum_times_items, [0.3, -0.7, 1.2]), (sum_times_extremes, [0.5]), (sum_times_extremes, [0.3, -0.7, 1.2]),
         (sum_times_zipped, [0.5]), (sum_times_zipped, [0.3, -0.7]), (sum_times_items, (0.3, -0.7, 1.2))]


def _id(c):
    return c.__name__ if callable(c) else f"{type(c).__name__}{len(c)}"


@pytest.mark.parametrize(("f", "L"), CASES, ids=_id)
def test_item_adjoints_of_a_list_argument_match_central_differences(f, L):
    got = s2s.grad(f)(L)
    want = fd_grad(lambda v: f(type(L)(v)), (np.array(L),))
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(("f", "L"), CASES[:-1], ids=_id)
def test_list_argument_in_forward_mode_and_hessian(f, L):
    t = [1.0, -0.5, 0.25][:len(L)]
    _, tangent = s2s.jvp(f, (L,), (t,))
    eps = 1e-6
    want = (f([a + eps * d for a, d in zip(L, t)]) - f([a - eps * d for a, d in zip(L, t)])) / (2 * eps)
    np.testing.assert_allclose(tangent, want, rtol=1e-6, atol=1e-8)
    H = np.asarray(s2s.hessian(f)(L), dtype=float).reshape(len(L), len(L))
    grad = s2s.grad(f)
    cols = []
    for i in range(len(L)):
        e = [eps if j == i else 0.0 for j in range(len(L))]
        up = np.asarray(grad([a + d for a, d in zip(L, e)]), dtype=float)
        down = np.asarray(grad([a - d for a, d in zip(L, e)]), dtype=float)
        cols.append((up - down) / (2 * eps))
    np.testing.assert_allclose(H, np.array(cols).T, rtol=1e-5, atol=1e-6)
