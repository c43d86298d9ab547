"""Bound methods, classmethods and staticmethods: derivatives with respect to the method's own arguments.

`wrt=0` is the first argument after `self` (or `cls`); `self` is passed through untouched. Every
entry point is checked against finite differences of the method itself.
"""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s
from s2s.errors import NotDifferentiableArgumentError


class Model:
    scale = 2.0

    def __init__(self, w):
        self.w = w
        self.calls = 0

    def loss(self, x, y):
        return x * y * y + self.w * np.sin(x)

    def vec(self, v):
        return np.sum(np.sin(v) * v) * self.w

    def field(self, v):
        return np.sin(v) * self.w + v * v

    def with_default(self, x, p=3.0):
        return self.w * x ** p

    @classmethod
    def cm(cls, x, y):
        return cls.scale * x * x * y

    @staticmethod
    def sm(x, y):
        return x * y * y

    @s2s.grad(wrt="x")
    def dloss_dx(self, x):
        return self.w * x * x

    @s2s.grad
    def wrong_wrt(self, x):
        return x * x


X, Y = 0.7, 1.3
V = np.array([0.3, -0.5, 1.1])


def fd(f, args, wrt=0):
    return fd_grad(f, args, wrt=wrt)


@pytest.fixture
def m():
    return Model(1.5)


def test_grad_of_a_bound_method(m):
    for wrt in (0, 1):
        want = fd(m.loss, (X, Y), wrt)
        assert np.isclose(s2s.grad(m.loss, wrt=wrt)(X, Y), want)
        value, g = s2s.value_and_grad(m.loss, wrt=wrt)(X, Y)
        assert np.isclose(value, m.loss(X, Y)) and np.isclose(g, want)
    assert np.isclose(s2s.grad(m.loss)(3.0, 4.0), 16.0 + 1.5 * np.cos(3.0))  # the example
    assert np.isclose(s2s.grad(m.loss, wrt="y")(X, Y), fd(m.loss, (X, Y), 1))
    gx, gy = s2s.grad(m.loss, wrt=(0, 1))(X, Y)
    assert np.isclose(gx, fd(m.loss, (X, Y), 0)) and np.isclose(gy, fd(m.loss, (X, Y), 1))
    assert np.isclose(s2s.grad(m.loss, wrt=-1)(X, Y), fd(m.loss, (X, Y), 1))


def test_self_is_passed_through_and_read_at_each_call(m):
    g = s2s.grad(m.vec)
    assert np.allclose(g(V), fd(m.vec, (V,)))
    m.w = -4.0  # the method reads self.w when it runs: so does its gradient
    assert np.allclose(g(V), fd(m.vec, (V,)))
    assert np.allclose(s2s.grad(m.with_default)(X), fd(m.with_default, (X,)))
    assert np.allclose(s2s.grad(m.with_default)(X, 2.0), fd(lambda x: m.with_default(x, 2.0), (X,)))


def test_classmethod_and_staticmethod(m):
    for f in (Model.cm, m.cm, Model.sm, m.sm):
        for wrt in (0, 1):
            assert np.isclose(s2s.grad(f, wrt=wrt)(X, Y), fd(f, (X, Y), wrt))
            assert np.isclose(s2s.value_and_grad(f, wrt=wrt)(X, Y)[1], fd(f, (X, Y), wrt))


def test_vjp_jvp_jacobian_of_a_method(m):
    jac = np.diag(np.cos(V) * m.w + 2 * V)
    value, pullback = s2s.vjp(m.field, V)
    assert np.allclose(value, m.field(V))
    ct = np.array([1.0, -2.0, 0.5])
    assert np.allclose(pullback(ct), ct @ jac)
    value, tangent = s2s.jvp(m.field, (V,), (ct,))
    assert np.allclose(value, m.field(V)) and np.allclose(tangent, jac @ ct)
    assert np.allclose(s2s.jacobian(m.field)(V), jac)
    assert np.allclose(s2s.jacobian(m.field, mode="forward")(V), jac)
    value, tangent = s2s.jvp(m.loss, (X, Y), (None, 1.0))
    assert np.isclose(tangent, fd(m.loss, (X, Y), 1))


def test_hessian_hvp_and_second_derivatives_of_a_method(m):
    h = s2s.hessian(m.vec)(V)
    want = np.diag(m.w * (2 * np.cos(V) - V * np.sin(V)))
    assert np.allclose(h, want)
    u = np.array([1.0, 0.5, -1.0])
    assert np.allclose(s2s.hvp(m.vec)(V, u), want @ u)
    d2 = s2s.grad(s2s.grad(m.loss, wrt=1), wrt=1)(X, Y)
    assert np.isclose(d2, 2 * X)
    assert np.isclose(s2s.grad(s2s.grad(m.loss))(X, Y), -m.w * np.sin(X))
    assert np.isclose(s2s.hessian(m.loss, wrt=1)(X, Y), 2 * X)


def test_derivative_and_source_of_a_method(m):
    df = s2s.derivative(m.loss, wrt=1)
    assert np.isclose(df(X, Y), fd(m.loss, (X, Y), 1))
    value, tangent = s2s.derivative(m.loss, mode="forward")(X, Y, x_dot=1.0)
    assert np.isclose(value, m.loss(X, Y)) and np.isclose(tangent, fd(m.loss, (X, Y), 0))
    assert "def dloss_dx(self, x, y" in s2s.source(s2s.grad(m.loss))
    assert "self" in s2s.source(s2s.grad(m.loss), X, Y)


def test_decorated_method_with_wrt_after_self(m):
    assert np.isclose(m.dloss_dx(2.0), 2 * m.w * 2.0)


def test_decorated_method_differentiated_with_respect_to_self_is_refused(m):
    with pytest.raises(NotDifferentiableArgumentError, match=r"with respect to 'self'.*wrt=0") as info:
        m.wrong_wrt(2.0)
    assert "@s2s.grad(wrt='x')" in str(info.value)


def test_object_argument_is_refused():
    def f(x, scale):
        return x * scale

    with pytest.raises(NotDifferentiableArgumentError, match="the argument for 'x' is a Model"):
        s2s.grad(f)(Model(1.0), 2.0)


def test_method_redefined_on_the_class_keeps_the_bound_one(m):
    bound = m.loss
    g = s2s.grad(bound)
    before = g(X, Y)
    Model.loss_saved = Model.loss
    try:
        Model.loss = lambda self, x, y: x * x  # the bound method object still calls the old function
        assert np.isclose(g(X, Y), before)
        assert np.isclose(s2s.grad(m.loss)(X, Y), 2 * X)  # a new bound method is the new function
    finally:
        Model.loss = Model.loss_saved
        del Model.loss_saved
