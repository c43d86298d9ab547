"""A pullback from s2s.vjp is the linear map at the point vjp evaluated: globals and closure values rebound between
`s2s.vjp(f, x)` and `pullback(ct)` do not reach it (adv225: the pullback read a rebound global K with the forward
values of the old one, a gradient of neither). As in autograd, an array changed in place afterwards is read as it is."""

import numpy as np

import s2s

SCALE = 7.0
A = np.array([1.0, 2.0, 3.0])
X = np.array([0.3, -0.7, 1.1])


def scaled(x):
    return np.tanh(x) * SCALE * x


def _helper(x):
    return np.sin(x) * A * x


def through_a_helper(x):
    return _helper(x) * 2.0


def _slope(k):
    return k * (np.tanh(X) + X / np.cosh(X) ** 2)


def test_a_global_rebound_after_vjp():
    global SCALE
    _, pullback = s2s.vjp(scaled, X)
    SCALE = 1.0
    try:
        np.testing.assert_allclose(pullback(np.ones(3)), _slope(7.0), rtol=1e-12)
        _, again = s2s.vjp(scaled, X)  # (a new vjp reads the new value)
        np.testing.assert_allclose(again(np.ones(3)), _slope(1.0), rtol=1e-12)
    finally:
        SCALE = 7.0


def test_a_closure_value_and_a_helpers_global_rebound_after_vjp():
    global A
    k = 3.0

    def g(x):
        return np.tanh(x) * k * x
    _, pullback = s2s.vjp(g, X)
    k = 1.0  # noqa: F841 - (the closure cell g reads)
    np.testing.assert_allclose(pullback(np.ones(3)), _slope(3.0), rtol=1e-12)
    _, pullback = s2s.vjp(through_a_helper, X)
    A = np.ones(3)
    try:
        np.testing.assert_allclose(pullback(np.ones(3)), 2 * np.array([1.0, 2.0, 3.0]) * (np.sin(X) + X * np.cos(X)),
                                   rtol=1e-12)
    finally:
        A = np.array([1.0, 2.0, 3.0])
