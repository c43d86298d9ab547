"""A list that starts as a display of items (`feats = [np.ones_like(x)]`) and is otherwise only appended to, or
read by functions that do not change it, has its items' shapes, as one started as `[]` (transforms/shapes.py
`_appended_lists`): the powers of a polynomial fit appended from the first are stacked with a known shape, and
the code after it is specialised. Each program is checked against central differences and autograd, the ones
where anything else changes the list too (an item stored, a pop, another name for it)."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import check_all, fd_grad

R = np.random.default_rng(48)


def poly_fit(c, x, y):
    feats = [np.ones_like(x)]
    for _ in range(1, len(c)):
        feats.append(feats[-1] * x)
    Phi = np.stack(feats, axis=1)
    r = Phi @ c - y
    return np.sum(r * r)


def two_starting_items(a, b):
    parts = [a, np.sin(b)]
    for _ in range(3):
        parts.append(parts[-1] * parts[0][:3])
    return np.sum(np.concatenate(parts) ** 2)


def argument_first(x):
    states = [x]
    for _ in range(4):
        states.append(np.tanh(states[-1] * 1.3))
    return np.sum(np.array(states) ** 2)


def item_stored(x):
    states = [x * 2.0]
    for _ in range(3):
        states.append(np.sin(states[-1]))
    states[0] = x ** 3
    return np.sum(np.stack(states))


def popped(x):
    states = [x, x * x]
    for _ in range(3):
        states.append(np.cos(states[-1]))
    last = states.pop()
    return np.sum(np.stack(states)) + np.sum(last)


def another_name(x):
    states = [x]
    alias = states
    for _ in range(3):
        alias.append(np.sin(states[-1]))
    return np.sum(np.stack(states))


def _poly_args(dtype=np.float64):
    x = np.linspace(-1.0, 1.0, 30).astype(dtype)
    return R.normal(size=5).astype(dtype), x, np.cos(3 * x)


CASES = {
    "poly_fit": (poly_fit, _poly_args(), (0, 1)),
    "two_starting_items": (two_starting_items, (R.normal(size=3), R.normal(size=3)), (0, 1)),
    "argument_first": (argument_first, (R.normal(size=4),), 0),
    "item_stored": (item_stored, (R.normal(size=4),), 0),
    "popped": (popped, (R.normal(size=4),), 0),
    "another_name": (another_name, (R.normal(size=4),), 0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_differences_and_autograd(name):
    f, args, wrt = CASES[name]
    try:
        check_all(f, args, wrt=wrt)
    except s2s.S2SError as exc:  # (refused, naming the line, is right too; a wrong number is not)
        assert "line" in str(exc), exc


def test_the_stacked_list_has_a_shape():
    f, args, wrt = CASES["poly_fit"]
    src = s2s.source(s2s.grad(f, wrt=wrt), *args)
    for general in ("unbroadcast", "grad_matmul", "expand_reduced", "kept:"):
        assert general not in src, src


def test_float32_powers_keep_their_dtype():
    args = _poly_args(np.float32)
    got = s2s.grad(poly_fit, wrt=(0, 1))(*args)
    assert all(g.dtype == np.float32 for g in got)
    want = [fd_grad(poly_fit, [a.astype(np.float64) for a in args], wrt=w) for w in (0, 1)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-3, atol=2e-3)


def test_compile_true_gives_the_numpy_code_s_numbers():
    pytest.importorskip("numba")
    from s2s import compiled

    f, args, wrt = CASES["poly_fit"]
    with pytest.warns(compiled.CompiledFallbackWarning):  # (a list the backward sweep pops: NumPy code)
        got = s2s.grad(f, wrt=wrt, compile=True)(*args)
    for g, w in zip(got, s2s.grad(f, wrt=wrt)(*args)):
        np.testing.assert_allclose(g, w, rtol=1e-12)
