"""np.concatenate of a tuple display (`(u[:1], inner, u[-1:])`) or of items that are lists of floats
(`([0.0], x)`) is known to give real floats (transforms/shapes.py `_tuple_items`, `joined_items_real`): the
specialised code drops the loss value nothing reads and writes the slices' adjoints into one array, where it
kept `s2s.getitem_grad` (a dense array per slice) and computed the loss. Gradients against central
differences; the printed code read for what it no longer does."""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s


def heat_rod(u0, c, target, steps=4):
    u = u0
    for _ in range(steps):
        inner = u[1:-1] + c * (u[2:] - 2.0 * u[1:-1] + u[:-2])
        u = np.concatenate((u[:1], inner, u[-1:]))
    return np.sum((u - target) ** 2)


def moving_average(x, target, w=3):
    c = np.cumsum(np.concatenate(([0.0], x)))
    ma = (c[w:] - c[:-w]) / w
    return np.sum((ma - target) ** 2) + 0.1 * np.sum(np.diff(x) ** 2)


def stacked_rows(x):
    rows = np.stack((x, [1.0, 2.0, 3.0], x ** 2))
    return np.sum(rows[1:] * rows[:-1])


RNG = np.random.default_rng(3)
CASES = [
    (heat_rod, (RNG.normal(size=12), 0.2, RNG.normal(size=12)), (0, 1)),
    (moving_average, (RNG.normal(size=10), RNG.normal(size=8)), 0),
    (stacked_rows, (RNG.normal(size=3),), 0),
]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_joined_tuples_are_specialised(f, args, wrt):
    df = s2s.grad(f, wrt=wrt)
    got = df(*args)
    for k, g in zip(wrt if isinstance(wrt, tuple) else (wrt,), got if isinstance(wrt, tuple) else (got,)):
        np.testing.assert_allclose(g, fd_grad(f, args, wrt=k), rtol=1e-6, atol=1e-7)
    text = s2s.source(df, *args)
    assert "getitem_grad" not in text and "unbroadcast(" not in text
    assert "out = " not in text  # (the loss value: read by nothing)


def test_float32_stays_float32():
    x, t = RNG.normal(size=10).astype(np.float32), RNG.normal(size=8).astype(np.float32)
    g = s2s.grad(moving_average)(x, t)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, s2s.grad(moving_average)(x.astype(float), t.astype(float)), rtol=1e-4, atol=1e-5)
