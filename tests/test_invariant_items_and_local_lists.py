"""Three rewrites of loops over scalar arithmetic, each checked against the code without the NumPy path's rewrites
and central differences:
- an item of an array argument at int literals (`p[0]` of an ODE's right-hand side), read in a `for` loop where
  nothing can write into the argument, is read once before the loop (transforms/item_reads.py): not read, nor
  saved on the tape, on every trip;
- a local float64 array bound once at the top level (`V = F @ w`, an adjoint `G_bar = t11`) whose items a loop
  reads is listed as Python floats where it is bound (transforms/float_items.py `_held_arrays`);
- the rows of an adjoint array a backward loop over `range(23, -1, -1)` zeroes after reading them are read by no
  one after: the zeroing goes (transforms/row_writes.py), and `t *= 1.0` goes (transforms/simplify.py)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import s2s
from tests.conftest import check_grad
from tests.plain_code import plain_gradient

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from ordinary_fits import td_lambda as returns_backwards  # noqa: E402  (TD(lambda) returns, `G[t] = g` reversed)


def _rates(x, y, p):
    return p[0] * x - p[1] * x * y, p[2] * x * y - p[3] * y


def predator_prey(p, x0, y0, obs, dt=0.05):
    x, y = x0, y0
    loss = 0.0
    for k in range(obs.shape[0]):
        a1, b1 = _rates(x, y, p)
        a2, b2 = _rates(x + dt * a1, y + dt * b1, p)
        x = x + 0.5 * dt * (a1 + a2)
        y = y + 0.5 * dt * (b1 + b2)
        loss += (x - obs[k, 0]) ** 2 + (y - obs[k, 1]) ** 2
    return loss


def matrix_entries(W, xs):
    s = 0.0
    for k in range(xs.shape[0]):
        s = s + np.tanh(W[0, 1] * xs[k]) * W[1, 0] + W[-1, -1] * xs[k] ** 2
    return s


R = np.random.default_rng(23)
PROGRAMS = {
    "predator_prey": (predator_prey, (np.array([1.1, 0.4, 0.1, 0.4]), 1.0, 0.5, R.uniform(0.5, 1.5, (16, 2))),
                      (0, 1, 2), ["t2 = p_items[0]"]),
    "matrix_entries": (matrix_entries, (R.normal(size=(2, 2)), R.normal(size=12)), (0, 1), []),
    "returns_backwards": (returns_backwards, (R.normal(size=5) * 0.3, R.normal(size=(21, 5)), R.normal(size=20)),
                          (0,), ["V_items = s2s.float_items(V)", "G_bar_items = s2s.float_items(G_bar)"]),
}


def _loop_body_text(src):
    """The lines of the printed code inside its first `for` loop."""
    lines = src.splitlines()
    start = next(k for k, line in enumerate(lines) if line.lstrip().startswith("for "))
    indent = len(lines[start]) - len(lines[start].lstrip())
    body = []
    for line in lines[start + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line)
    return "\n".join(body)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_loops_read_items_once_and_right(name):
    f, args, wrt, expected = PROGRAMS[name]
    g = s2s.grad(f, argnums=wrt)
    src = s2s.source(g, *args)
    for text in expected:
        assert text in src, src
    if name != "returns_backwards":  # (the argument's items: read before the loop, none in it)
        argument = f.__code__.co_varnames[0]
        assert f"{argument}[" not in _loop_body_text(src) and f"{argument}_items[" not in _loop_body_text(src), src
    else:
        assert "G_bar[t] = 0.0" not in src and "*= 1.0" not in src, src
    got = g(*args)
    plain = plain_gradient(f, args, wrt if len(wrt) > 1 else wrt[0])
    for a, b in zip(got, plain if len(wrt) > 1 else (plain,)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    check_grad(f, *args, wrt=wrt, ag=None if name != "returns_backwards" else False)  # (autograd: no `G[t] =`)


# ---- where an item may change, or its read may fail, it stays in the loop ------------------------------------
def rebinds_its_argument(p, xs):
    s = 0.0
    for k in range(xs.shape[0]):
        s = s + p[0] * xs[k]
        p = p * 0.9
    return s


def item_past_the_end(p, xs):
    s = 0.0
    for k in range(xs.shape[0]):
        s = s + p[3] * xs[k]  # p has three items
    return s


def passed_to_a_function(p, xs):
    s = 0.0
    for k in range(xs.shape[0]):
        s = s + p[0] * xs[k] + np.sum(p) * 0.1
    return s


@pytest.mark.parametrize("f", [rebinds_its_argument, passed_to_a_function], ids=lambda f: f.__name__)
def test_items_that_may_change_are_read_in_the_loop(f):
    args = (np.array([0.5, 1.5, -0.3]), R.normal(size=10))
    g = s2s.grad(f)
    src = s2s.source(g, *args)
    before = src.split("    for ")[0]
    assert "p[0]" not in before and "p_items[0]" not in before, src
    np.testing.assert_allclose(g(*args), plain_gradient(f, args, 0), rtol=1e-12, atol=1e-13)
    check_grad(f, *args)


def test_an_item_past_the_end_raises_as_the_function_does():
    args = (np.array([0.5, 1.5, -0.3]), R.normal(size=10))
    with pytest.raises(IndexError):
        item_past_the_end(*args)
    with pytest.raises(IndexError):
        s2s.grad(item_past_the_end)(*args)
