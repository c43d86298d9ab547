"""Shapes: integer arrays the function computes (`i = np.minimum(s.astype(int), K - 2)`, `i + 1`,
np.searchsorted, np.argmin along an axis) are known to be integer arrays, so an array indexed by them has a known
shape and real values, and the adjoints are specialised (no `unbroadcast`, `expand_reduced`); anything that may
be a float or a bool array is not one."""

from __future__ import annotations

import ast
import builtins

import numpy as np
import pytest
from s2s.transforms.shapes import Shapes
from s2s.transforms.specialize import runtime_helpers

import s2s
import s2s.pipeline  # noqa: F401 - installs the context the passes read rules through
import s2s.runtime
from tests.conftest import check_grad
from tests.plain_code import plain_gradient


def int_arrays(body: str, params=None) -> set:
    text = "def f(x, v, K):\n" + "".join(f"    {line}\n" for line in body.splitlines()) + "    return x\n"
    fdef = ast.parse(text).body[0]
    resolve = {"np": np, "s2s": s2s.runtime}.get
    shapes = Shapes(fdef, params or {"x": (10,), "v": (8,), "K": 8},
                    lambda n: resolve(n, getattr(builtins, n, None)), runtime_helpers(), {"x": "d", "v": "d"})
    return {name for name in ("i", "j", "k") if shapes.is_int_array(ast.Name(id=name, ctx=ast.Load()))}


@pytest.mark.parametrize("body", [
    "i = s2s.astype(x, int)", "i = s2s.astype(x, np.int64)", "i = s2s.astype(x, 'i8')",
    "t = s2s.astype(x * 7, int)\nK2 = v.shape[0]\ni = np.minimum(t, K2 - 2)", "i = np.searchsorted(v, x)", "i = np.digitize(x, v)",
    "i = np.clip(s2s.astype(x, int), 0, 6)", "i = np.argsort(x)", "j = s2s.astype(x, int)\ni = j + 1",
    "j = s2s.astype(x, int)\ni = (j * 3) // 2 - 1", "j = np.arange(8)\ni = j ** 2", "j = np.arange(8)\ni = (j + 1) ** 3",
], ids=lambda b: b.replace("\n", "; "))
def test_computed_integer_arrays_are_known(body):
    assert "i" in int_arrays(body)


@pytest.mark.parametrize("body", [
    "i = s2s.astype(x, float)", "i = s2s.astype(x, bool)", "j = s2s.astype(x, int)\ni = np.minimum(j, 2.5)",
    "j = s2s.astype(x, int)\ni = j / 2", "i = np.bincount(s2s.astype(v, int), x)", "i = x > 0.5",
    "j = s2s.astype(x, int)\ni = j + x", "j = s2s.astype(x, int)\ni = j\ni = x", "j = np.arange(8)\ni = j ** 0.5",
    "j = np.arange(8)\ni = 2 ** j", "j = np.arange(8)\ni = j ** j", "j = np.arange(8)\ni = j ** x",
], ids=lambda b: b.replace("\n", "; "))
def test_what_may_be_floats_or_bools_is_not(body):
    assert "i" not in int_arrays(body)


def piecewise_linear(v, x, y):
    K = v.shape[0]
    s = x * (K - 1)
    i = np.minimum(s.astype(int), K - 2)
    f = s - i
    pred = (1.0 - f) * v[i] + f * v[i + 1]
    return np.mean((pred - y) ** 2)


def binned_table(w, x, edges):
    b = np.clip(np.searchsorted(edges, x) - 1, 0, w.shape[0] - 1)
    return np.sum(w[b] * x ** 2)


def nearest_centre(C, X):
    d = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=2)
    k = np.argmin(d, axis=1)
    return np.sum((X - C[k]) ** 2)


R = np.random.default_rng(17)
PROGRAMS = {
    "piecewise_linear": (piecewise_linear, (R.normal(size=8), R.uniform(0, 1, 30), R.normal(size=30))),
    "binned_table": (binned_table, (R.normal(size=6), R.uniform(0, 1, 25), np.linspace(0, 1, 7))),
    "nearest_centre": (nearest_centre, (R.normal(size=(4, 3)), R.normal(size=(20, 3)))),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_gathers_at_computed_indices_are_specialised_and_right(name):
    f, args = PROGRAMS[name]
    g = s2s.grad(f)
    src = s2s.source(g, *args)
    assert "unbroadcast" not in src and "expand_reduced" not in src, src
    np.testing.assert_allclose(g(*args), plain_gradient(f, args, 0), rtol=1e-12, atol=1e-14)
    check_grad(f, *args)
