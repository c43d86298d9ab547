"""Ordinary programs s2s had not seen (benchmarks/ordinary_wild.py): what made their gradients slow, each
checked against central differences on the specialised path and for the code it writes."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from ordinary_wild import rk4_lorenz  # noqa: E402  (a vector field returning a list, called with *p)


def field(s, a, b):
    x, y = s[0], s[1]
    return [a * y - b * x, -x]


def star_module_helper(p, s0):
    s = np.array(s0)
    for _ in range(4):
        k = np.array(field(s, *p))
        s = s + 0.1 * k
    return np.sum(s ** 2)


def star_local_helpers(p, s0):
    def step(s, a, b):  # statements: expanded where called
        x = s * a
        return x + b

    def short(a, b):  # one returned expression: expanded inside the expression
        return a * b

    return np.sum(step(s0, *p)) + short(*p) + np.sum(step(s0, *(p * 2.0)))


def star_in_the_middle(p, x):
    return field(x, *p[:1], p[1])[0] * 2.0


def _check(f, args, wrt=0):
    g = s2s.grad(f, wrt=wrt)
    for _ in range(2):  # (the second call runs the hot code)
        got = g(*args)
        assert np.allclose(got, fd_grad(f, args, wrt), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("f", [star_module_helper, star_local_helpers, star_in_the_middle])
def test_star_arguments_of_helpers_are_expanded(f):
    # `lorenz(s, *p)` of a module helper was left a call through s2s.call_star_vjp (a pullback closure per
    # call, shapes unknown after it: RK4 Lorenz 25x its primal), and a local helper called with `*p` refused
    p, s0 = np.array([0.7, 0.2]), np.array([1.0, -0.5])
    _check(f, (p, s0))
    _check(f, (p, s0), 1)
    src = s2s.source(s2s.grad(f), p, s0)
    assert "call_star_vjp" not in src and "# s2s:" not in src and "star_count" not in src, src
    general = s2s.derivative(f)  # the general code keeps the check of the count
    assert np.allclose(general(p, s0)[1] if isinstance(general(p, s0), tuple) else general(p, s0),
                       fd_grad(f, (p, s0), 0), rtol=1e-5, atol=1e-7)


def test_star_argument_of_another_length_raises_as_python_does():
    with pytest.raises(TypeError):
        star_module_helper(np.array([0.7, 0.2, 0.1]), np.ones(2))
    with pytest.raises(TypeError):
        s2s.grad(star_module_helper)(np.array([0.7, 0.2, 0.1]), np.ones(2))
    with pytest.raises(TypeError):
        s2s.grad(star_local_helpers)(np.array([0.7]), np.ones(2))


def test_rk4_over_a_list_returning_field_is_specialised():
    # np.array(s0) of an array has s0's shape; a helper's list result copied to the name the call is bound to
    # (`vf_value = vf_result`) keeps its items' shapes (Shapes._sealed_lists): no unbroadcast left
    p, s0 = np.array([10.0, 28.0, 8.0 / 3.0]), np.array([1.0, 1.0, 1.0])
    src = s2s.source(s2s.grad(rk4_lorenz, wrt=(0, 1)), p, s0, 0.01, 3)
    assert "# s2s:" not in src and "unbroadcast" not in src and "array_grad" not in src, src
    gp, gs = s2s.grad(rk4_lorenz, wrt=(0, 1))(p, s0, 0.01, 3)
    assert np.allclose(gp, fd_grad(rk4_lorenz, (p, s0, 0.01, 3), 0), rtol=1e-5)
    assert np.allclose(gs, fd_grad(rk4_lorenz, (p, s0, 0.01, 3), 1), rtol=1e-5)

