"""A pullback from s2s.vjp is the linear map at the point vjp evaluated: globals and closure values rebound between
`s2s.vjp(f, x)` and `pullback(ct)` do not reach it (adv225: the pullback read a rebound global K with the forward
values of the old one, a gradient of neither). As in autograd, an array changed in place afterwards is read as it is."""

import numpy as np
import pytest

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


class _Config:
    pass


CONFIG = _Config()
CONFIG.K = 7.0
CONFIG.inner = _Config()
CONFIG.inner.K = 2.0


def through_attributes(x):
    return np.sum(np.tanh(x * CONFIG.K) * x * CONFIG.inner.K)


def test_attributes_of_a_global_object_rebound_after_vjp():  # (adv226: read late, beside K = 7's forward values)
    _, pullback = s2s.vjp(through_attributes, X)
    expected = s2s.grad(through_attributes)(X)
    CONFIG.K, CONFIG.inner.K = 1.0, 5.0
    try:
        np.testing.assert_allclose(pullback(1.0), expected, rtol=1e-12)
    finally:
        CONFIG.K, CONFIG.inner.K = 7.0, 2.0


RATE = 7.0


def _rated(x):
    return np.sum(np.sin(x) * RATE)


def _rated_elementwise(x):
    return np.sin(x) * RATE


def _pullback_after_rebinding(derivative, cotangent):
    """The pullback of `s2s.vjp(derivative, X)` called after RATE is rebound (7.0 at vjp, 1.0 after)."""
    global RATE
    _, pullback = s2s.vjp(derivative, X)
    RATE = 1.0
    try:
        return pullback(cotangent)
    finally:
        RATE = 7.0


def test_vjp_of_derivative_functions_takes_the_globals_of_vjp():  # (adv226: made when the pullback was called)
    for derivative, cotangent in ((s2s.jacrev(_rated_elementwise), np.eye(3)), (s2s.jacfwd(_rated_elementwise), np.eye(3)),
                                  (s2s.elementwise_grad(_rated_elementwise), np.ones(3))):
        np.testing.assert_allclose(_pullback_after_rebinding(derivative, cotangent), -7.0 * np.sin(X), rtol=1e-12)


def test_vjp_of_a_gradient_function_refuses_a_pullback_after_its_globals_change():
    # (the pullback of vjp(grad(f)) computes f's second derivatives when it is called, s2s/nested.py's split form:
    # with the globals of then it gave -1.0 * sin(X) for -7.0 * sin(X); it refuses since stop 70)
    with pytest.raises(s2s.S2SError, match="rebound after the vjp") as info:
        _pullback_after_rebinding(s2s.grad(_rated), np.ones(3))
    assert "take the vjp again" in info.value.hint
    _, pullback = s2s.vjp(s2s.grad(_rated), X)  # (nothing rebound: as before)
    np.testing.assert_allclose(pullback(np.ones(3)), -7.0 * np.sin(X), rtol=1e-12)
    with pytest.raises(s2s.S2SError, match="rebound after the vjp"):  # (a function calling grad(f): the same)
        _pullback_after_rebinding(_calls_a_gradient, 1.0)


def _calls_a_gradient(x):
    return np.sum(s2s.grad(_rated)(x) * x)


CONFIG.n = 3


def looped_by_an_attribute(x):
    y = x
    for _ in range(CONFIG.n):  # (the forward and backward loops share this node: adv227, a NameError at vjp)
        y = np.sin(y) * CONFIG.K
    return np.sum(y)


def reads_a_name_bound_later(x, c):
    if c > 0:
        return np.sum(x * NOT_BOUND_YET)  # noqa: F821 - (read on the path not taken: adv227, a NameError at vjp)
    return np.sum(np.sin(x))


def test_vjp_with_an_attribute_in_a_loop_range_and_a_name_bound_later():
    _, pullback = s2s.vjp(looped_by_an_attribute, X)
    np.testing.assert_allclose(pullback(1.0), s2s.grad(looped_by_an_attribute)(X), rtol=1e-12)
    _, pullback = s2s.vjp(reads_a_name_bound_later, X, -1.0)
    np.testing.assert_allclose(pullback(1.0), np.cos(X), rtol=1e-12)
