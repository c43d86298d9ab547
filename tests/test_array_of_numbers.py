"""`np.array([e1, e2, ...])` of numbers, the right-hand side of an ODE written by hand: its adjoint
`s2s.array_grad(g, items)` is `[g[0], g[1], ...]`; read only item by item (`x_bar[0]`), the specialised
code reads g's items instead (the list is then not kept for the backward sweep), and compiled code makes
the array of a tuple (numba has no type for the list it could pass around)."""

from __future__ import annotations

import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad


def lotka(u, theta):
    x, y = u[0], u[1]
    a, b, c, d = theta[0], theta[1], theta[2], theta[3]
    return np.array([a * x - b * x * y, c * x * y - d * y])


def integrate(theta, u0):
    u = u0
    for _ in range(6):
        k1 = lotka(u, theta)
        k2 = lotka(u + 0.05 * k1, theta)
        u = u + 0.1 * (k1 + k2) / 2.0
    return np.sum(u ** 2)


def ag_lotka(u, theta):
    x, y = u[0], u[1]
    a, b, c, d = theta[0], theta[1], theta[2], theta[3]
    return anp.array([a * x - b * x * y, c * x * y - d * y])


def ag_integrate(theta, u0):
    u = u0
    for _ in range(6):
        k1 = ag_lotka(u, theta)
        k2 = ag_lotka(u + 0.05 * k1, theta)
        u = u + 0.1 * (k1 + k2) / 2.0
    return anp.sum(u ** 2)


def list_read_twice(w):
    items = [w[0] * w[1], np.sin(w[2])]
    v = np.array(items)
    return np.sum(v * v) + items[0] * 3.0 + len(items)


def nested(w):
    m = np.array([[w[0], w[1] * w[0]], [w[2], 1.0]])
    return np.sum(m @ m)


def through_a_helper_result(w):
    parts = [w[0] ** 2, w[1] * w[2], w[2]]
    arr = np.asarray(parts)
    first = parts[0]
    return np.sum(np.tanh(arr)) * first


THETA, U0 = np.array([1.1, 0.4, 0.1, 0.4]), np.array([10.0, 5.0])


def test_the_ode_s_adjoint_reads_g_s_items_and_keeps_no_list():
    g = s2s.grad(integrate)
    got = g(THETA, U0)
    np.testing.assert_allclose(got, autograd.grad(ag_integrate)(THETA, U0), rtol=1e-10)
    np.testing.assert_allclose(got, fd_grad(integrate, (THETA, U0), 0), rtol=1e-5)
    text = s2s.source(g, THETA, U0)
    assert "array_grad" not in text
    assert not any(line.strip().startswith("stack.append(t") and "[" in line for line in text.splitlines())


@pytest.mark.parametrize("f", [list_read_twice, nested, through_a_helper_result])
def test_lists_read_otherwise_keep_their_adjoints(f):
    w = np.array([0.3, -1.2, 0.7])
    got = s2s.grad(f)(w)
    np.testing.assert_allclose(got, fd_grad(f, (w,), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got, s2s.derivative(f)(w), rtol=1e-12)  # the general code


def test_the_ode_compiles_with_a_tuple():
    pytest.importorskip("numba")
    from s2s import compiled
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        got = s2s.grad(integrate, compile="strict")(THETA, U0)
    np.testing.assert_allclose(got, s2s.grad(integrate)(THETA, U0), rtol=1e-12)
    assert "= (a2 * x2 - " in compiled.source(integrate, THETA, U0)  # (the list, a tuple)


def test_a_list_read_only_by_np_array_is_lowered_as_a_tuple():
    import ast

    from s2s.transforms import numba_lowering
    fdef = ast.parse("def f(a, b):\n    t = [a * b, b]\n    u = np.array(t)\n    w = np.asarray([a, 2.0])\n"
                     "    return u + w").body[0]
    low = numba_lowering.lower(fdef, numpy_names=frozenset({"np"}))
    assert [ast.unparse(s) for s in low.fdef.body[:3]] == ["t = (a * b, b)", "u = np.array(t)",
                                                           "w = np.asarray((a, 2.0))"]
    for other in ("v = t[0]", "v = len(t)", "v = other.array(t)"):
        fdef = ast.parse(f"def f(a, b, other):\n    t = [a, b]\n    u = np.array(t)\n    {other}\n"
                         "    return u").body[0]
        with pytest.raises(numba_lowering.NotLowerable, match="Python list"):
            numba_lowering.lower(fdef, numpy_names=frozenset({"np"}))


def test_a_list_read_otherwise_falls_back_with_the_same_numbers():
    pytest.importorskip("numba")
    from s2s import compiled
    w = np.array([0.3, -1.2, 0.7])
    with pytest.warns(compiled.CompiledFallbackWarning, match="list"):
        got = s2s.grad(list_read_twice, compile=True)(w)
    np.testing.assert_allclose(got, s2s.grad(list_read_twice)(w), rtol=1e-12)
