"""Loops with `break` or `continue` in the shape-specialised code: the lowering runs such a `for` as a `while` over
`k = steps[step]` of `steps = range(...)`, and shape inference knows an item of a range is an int, so the
adjoints are specialised (no `unbroadcast`, no `getitem_grad`) as in the loop without the exit. Each gradient is
checked against the code without the NumPy path's rewrites and against central differences, with arguments that
leave the loop on its first trip, in its middle, and never."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.conftest import check_grad
from tests.plain_code import plain_gradient


def rows_until_large(W, X, limit):
    s = 0.0
    for x in X:
        h = np.tanh(W @ x)
        s = s + np.sum(h * h)
        if s > limit:
            break
    return s


def enumerate_until(p, xs, last):
    s = 0.0
    for i, x in enumerate(xs):
        if i > last:
            break
        s = s + (x - p[0]) ** 2 * p[1]
    return s


def recurrence_until_saturated(Wh, Wx, xs, limit):
    h = np.zeros(Wh.shape[0])
    for t in range(xs.shape[0]):
        h = np.tanh(Wh @ h + Wx @ xs[t])
        if np.max(np.abs(h)) > limit:
            break
    return np.sum(h ** 2)


def skip_outliers_then_stop(p, xs, cut):
    s = 0.0
    for k in range(xs.shape[0]):
        if xs[k] < -1.5:
            continue
        if s > cut:
            break
        s = s + p[0] * xs[k] ** 2 + p[1] * xs[k]
    return s


def updates_items_until(a, u, limit):
    v = u.copy()
    for k in range(1, v.shape[0]):
        v[k] += a * v[k - 1]
        if v[k] > limit:
            break
    return np.sum(v * v)


R = np.random.default_rng(5)
W, X = R.normal(size=(6, 6)) * 0.4, R.normal(size=(20, 6))
WH, WX, XS = R.normal(size=(8, 8)) * 0.3, R.normal(size=(8, 3)) * 0.5, R.normal(size=(15, 3))
P2, X40 = np.array([0.2, 1.1]), R.normal(size=40)
U = R.uniform(0.1, 1.0, size=12)
PROGRAMS = {
    # (arguments leaving on the first trip, in the middle, never)
    "rows_until_large": (rows_until_large, [(W, X, -1.0), (W, X, 8.0), (W, X, 1e9)], (0,)),
    "enumerate_until": (enumerate_until, [(P2, X40, -1), (P2, X40, 17), (P2, X40, 100)], (0,)),
    "recurrence_until_saturated": (recurrence_until_saturated, [(WH, WX, XS, 0.0), (WH, WX, XS, 0.8),
                                                                (WH, WX, XS, 2.0)], (0, 1)),
    "skip_outliers_then_stop": (skip_outliers_then_stop, [(P2, X40, -1.0), (P2, X40, 5.0), (P2, X40, 1e9)], (0,)),
    "updates_items_until": (updates_items_until, [(0.5, U, 0.0), (0.5, U, 1.5), (0.5, U, 1e9)], (0, 1)),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_loops_with_exits_are_specialised_and_right(name):
    f, calls, wrt = PROGRAMS[name]
    g = s2s.grad(f, argnums=wrt)
    for args in calls:
        src = s2s.source(g, *args)
        assert "unbroadcast" not in src and "getitem_grad" not in src, src
        got = g(*args)
        plain = plain_gradient(f, args, wrt)
        plain = plain if len(wrt) > 1 else (plain,)
        assert len(got) == len(plain) == len(wrt)
        for a, b in zip(got, plain):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        check_grad(f, *args, wrt=wrt, ag=None if name != "updates_items_until" else False)  # (autograd: no `+=`)
