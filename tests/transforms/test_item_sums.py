"""transforms/item_sums.py: the sums a loop adds into fixed items of a float64 adjoint array (`p_bar[2] -= e`, the
adjoint of a parameter vector read as `p[0]`, `p[1]`, `p[2]` in an ODE's loop) kept in local names through the
loop. Where it is made, the gradient is bit for bit that of the code without the NumPy path's rewrites; where an
item could be read while a local name holds its sum, where a float32 term would round otherwise, or the index is
not a literal, it is not made and the gradient is still right. With the math functions' results known to be real
floats, such a loop also keeps `p_bar[k] += g` in place of `s2s.getitem_grad` (26x the hand gradient before)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import s2s
from tests.conftest import check_grad
from tests.plain_code import plain_gradient


def _rhs(y, t, p):
    return -p[0] * y + p[1] * math.exp(-p[2] * t)


def heun(p, y0, obs):
    y, t, loss = y0, 0.0, 0.0
    for k in range(obs.shape[0]):
        k1 = _rhs(y, t, p)
        k2 = _rhs(y + 0.05 * k1, t + 0.05, p)
        y = y + 0.025 * (k1 + k2)
        t = t + 0.05
        loss += (y - obs[k]) ** 2
    return loss


def heun_until(p, y0, obs):
    """Heun's steps in a `while` loop: the reads of p's items stay in it (a `for` loop's move out before it, and
    their adjoints are sums in names from the start)."""
    y, t, loss = y0, 0.0, 0.0
    k = 0
    while k < obs.shape[0]:
        k1 = _rhs(y, t, p)
        k2 = _rhs(y + 0.05 * k1, t + 0.05, p)
        y = y + 0.025 * (k1 + k2)
        t = t + 0.05
        loss += (y - obs[k]) ** 2
        k += 1
    return loss


def last_item_negative(p, xs):
    s = 0.0
    for x in xs:
        s = s + np.sin(p[-1] * x) + p[0] * x * x
    return s


def matrix_items(W, xs):
    s = 0.0
    for k in range(xs.shape[0]):
        x = xs[k]
        s = s + math.tanh(W[0, 1] * x) * W[1, 0] + W[0, 0] * x
    return s


def with_a_break(p, xs):
    s = 0.0
    for k in range(xs.shape[0]):
        if s > 3.0:
            break
        s = s + p[1] * xs[k] ** 2 + math.sqrt(p[0] * p[0] + 1.0)
    return s


def read_whole_too(p, xs):
    s = 0.0
    for k in range(xs.shape[0]):
        s = s + p[0] * xs[k] + np.sum(p * p) * 0.1
    return s


def nested_loops(p, X):
    s = 0.0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            s = s + math.exp(p[0] * X[i, j]) * p[1]
    return s


def while_loop(p, xs):
    s, k = 0.0, 0
    while k < xs.shape[0]:
        s = s + p[1] * math.cos(p[0] * xs[k])
        k += 1
    return s


def chain(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def grid_pairs(X, w):
    s = 0.0
    for i in range(X.shape[0]):
        for j in range(X.shape[1] - 1):
            s = s + math.sin(X[i, j] * X[i, j + 1] * w[j])
    return s


def few_of_many(x):
    s = 0.0
    for k in range(3):
        s = s + x[k] * x[k + 1]
    return s


PROGRAMS = {
    # (reads of p's items at literals are hoisted out of the loop: their adjoints are sums in names from the start)
    "heun": (heun, lambda r: (np.array([0.7, 0.6, 0.35]), 1.1, r.normal(size=20)), (0, 1), False),
    "heun_until": (heun_until, lambda r: (np.array([0.7, 0.6, 0.35]), 1.1, r.normal(size=20)), (0, 1), True),
    "last_item_negative": (last_item_negative, lambda r: (r.normal(size=3), r.normal(size=9)), 0, False),
    "matrix_items": (matrix_items, lambda r: (r.normal(size=(2, 2)), r.normal(size=11)), 0, False),
    # (a loop with `break` is run as a while loop over `k = steps[step]`, an item of the range)
    "with_a_break": (with_a_break, lambda r: (np.array([0.4, 0.9]), r.normal(size=12)), 0, True),
    "nested_loops": (nested_loops, lambda r: (np.array([0.3, -0.8]), r.normal(size=(4, 5))), 0, False),
    "while_loop": (while_loop, lambda r: (np.array([0.3, -0.8]), r.normal(size=7)), 0, True),
    # the loop reads the whole adjoint array's value too (np.sum(p * p)'s adjoint adds into all of it)
    "read_whole_too": (read_whole_too, lambda r: (r.normal(size=3), r.normal(size=8)), 0, False),
    # items at indices the loop computes: in a list through the loop
    "chain": (chain, lambda r: (r.normal(size=12) * 0.5,), 0, "list"),
    "grid_pairs": (grid_pairs, lambda r: (r.normal(size=(3, 5)), r.normal(size=4)), (0, 1), "list"),
    # three trips' updates of 40 items: the list would cost more than it saves
    "few_of_many": (few_of_many, lambda r: (r.normal(size=40),), 0, False),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_sums_in_local_names_give_the_plain_codes_gradient(name):
    f, make, wrt, kept_in = PROGRAMS[name]
    args = make(np.random.default_rng(len(name)))
    src = s2s.source(s2s.grad(f, argnums=wrt), *args)
    in_names = "s2s.float_items(p_bar[" in src or "s2s.float_items(W_bar[" in src
    in_a_list = "_bar_items = s2s.float_items(" in src and "_bar[...] = " in src
    assert (in_names, in_a_list) == (kept_in is True, kept_in == "list"), src
    assert "getitem_grad" not in src, src
    got = s2s.grad(f, argnums=wrt)(*args)
    plain = plain_gradient(f, args, wrt)
    for g, p in zip(got if isinstance(wrt, tuple) else (got,), plain if isinstance(wrt, tuple) else (plain,)):
        np.testing.assert_array_equal(g, p)
    check_grad(f, *args, wrt=wrt, ag=False)


def short_loop(p, xs):
    s = 0.0
    for k in range(3):
        s = s + p[0] * xs[k] * xs[k]
    return s


def test_a_loop_of_few_counted_updates_keeps_them():
    """Three updates: reading the item and writing it back would cost more than they save."""
    args = (np.array([0.5, 2.0]), np.arange(3.0))
    assert "float_items(p_bar" not in s2s.source(s2s.grad(short_loop), *args)
    np.testing.assert_array_equal(s2s.grad(short_loop)(*args), plain_gradient(short_loop, args, 0))


def test_the_printed_code_sums_in_names_and_writes_them_back_after_the_loop():
    args = PROGRAMS["heun_until"][1](np.random.default_rng(0))
    src = s2s.source(s2s.grad(heun_until, argnums=(0, 1)), *args)
    lines = [line.strip() for line in src.splitlines()]
    start = lines.index("p_bar_0, p_bar_1, p_bar_2 = s2s.float_items(p_bar[[0, 1, 2]])")
    back = lines.index("p_bar[[0, 1, 2]] = p_bar_0, p_bar_1, p_bar_2")
    assert start < back and not any(line.startswith("p_bar[") and "=" in line for line in lines[start + 1:back]), src
    assert any(line.startswith("p_bar_2 -= ") for line in lines), src


def test_float32_arguments_keep_their_items_updates():
    """A Python float's sum with a float32 term is float32 (NEP 50), NumPy's float64 item's is float64: no rewrite."""
    p = np.array([0.7, 0.6, 0.35], dtype=np.float32)
    obs = np.linspace(0.0, 1.0, 12).astype(np.float32)
    src = s2s.source(s2s.grad(heun_until, argnums=0), p, np.float32(1.1), obs)
    assert "s2s.float_items(p_bar" not in src, src
    got = s2s.grad(heun_until, argnums=0)(p, np.float32(1.1), obs)
    np.testing.assert_array_equal(got, plain_gradient(heun_until, (p, np.float32(1.1), obs), 0))


def test_a_raising_error_state_sums_in_numpy_numbers():
    """Where NumPy's settings raise, `s2s.float_items` gives NumPy scalars: an overflowing sum raises as NumPy's."""
    def big(p, xs):
        s = 0.0
        k = 0
        while k < xs.shape[0]:  # (a `for` loop's `p[0]` is read once, before it)
            s = s + p[0] * xs[k]
            k += 1
        return s

    xs = np.full(10, 1e308)
    p = np.array([1.0])
    assert "s2s.float_items(p_bar" in s2s.source(s2s.grad(big), p, xs)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        s2s.grad(big)(p, xs)
    with np.errstate(over="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(s2s.grad(big)(p, xs)[0])


def test_ode_with_math_exp_reads_items_as_floats_and_adds_in_place():
    """`math.exp` gives a real float: the index adjoints of `p[k]` add in place (no s2s.getitem_grad), and the items
    of `p` and `obs` are read as Python floats."""
    args = PROGRAMS["heun"][1](np.random.default_rng(1))
    src = s2s.source(s2s.grad(heun, argnums=(0, 1)), *args)
    assert "p_items = s2s.float_items(p)" in src and "obs_items = s2s.float_items(obs)" in src, src
