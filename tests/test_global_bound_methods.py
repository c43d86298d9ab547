"""A bound method kept in a global (`LOSS = net.loss`) and called by the function: the method's function with its
object first, as `net.loss(x)` of a global object is (since stop 72; a NoDerivativeRuleError naming the method
before). Rebinding the global between calls gives the new object's derivative; a method that changes its object is
refused."""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s


class Net:
    def __init__(self, W):
        self.W = W

    def loss(self, x):
        return np.sum(np.tanh(x @ self.W) ** 2)


class Other:
    def __init__(self, W):
        self.W = W

    def loss(self, x):
        return np.sum(np.sin(x @ self.W))


class Doubling:
    def __init__(self, W):
        self.W = W

    def loss(self, x):
        self.W = self.W * 2.0
        return np.sum(x @ self.W)


LOSS = Net(np.random.default_rng(0).normal(size=(3, 2))).loss


def scaled_loss(x):
    return LOSS(x) * 2.0


def test_a_global_bound_method_is_its_function_on_its_object():
    x = np.random.default_rng(1).normal(size=(4, 3))
    np.testing.assert_allclose(s2s.grad(scaled_loss)(x), fd_grad(scaled_loss, (x,)), atol=1e-8)


def test_rebinding_the_global_gives_the_new_object_s_derivative(monkeypatch):
    x = np.random.default_rng(2).normal(size=(4, 3))
    grad = s2s.grad(scaled_loss)
    grad(x)
    for obj in (Net(np.ones((3, 2))), Other(np.ones((3, 2)) * 0.5)):
        monkeypatch.setitem(globals(), "LOSS", obj.loss)
        np.testing.assert_allclose(grad(x), fd_grad(scaled_loss, (x,)), atol=1e-8)


def test_a_method_that_changes_its_object_is_refused(monkeypatch):
    monkeypatch.setitem(globals(), "LOSS", Doubling(np.ones((3, 2))).loss)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="Doubling.loss of a global object"):
        s2s.grad(scaled_loss)(np.ones((2, 3)))


class Config:
    def __init__(self, W, loss):
        self.W, self.loss = W, loss


CFG = Config(np.zeros((3, 2)), Net(np.random.default_rng(3).normal(size=(3, 2))).loss)


def through_a_holder(x):
    return CFG.loss(x)


def test_a_bound_method_held_by_another_object_is_called_on_its_own_object():
    """`CFG.loss = net.loss`: the method is net's, and CFG was passed as its self (review 245: value 0.0 for Python's
    1.21, read from CFG.W); before stop 72 too."""
    x = np.random.default_rng(4).normal(size=(4, 3))
    value, got = s2s.value_and_grad(through_a_holder)(x)
    assert value == through_a_holder(x)
    np.testing.assert_allclose(got, fd_grad(through_a_holder, (x,)), atol=1e-8)
