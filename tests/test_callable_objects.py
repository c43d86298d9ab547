"""Objects of your classes called as functions (`layer(x)` with a `__call__`), the PyTorch-style model:
global objects, objects in lists and attributes, subclasses calling `super().__call__`, objects passed
in, against central differences, in reverse and forward mode; and a parameter rebound by such calls
to another shape (`x = layer(x)`), whose gradient keeps the argument's shape."""

import numpy as np
import pytest
from helpers_fd import assert_close, fd_grad
from test_functions_as_values import jvp_check

import s2s

_RS = np.random.RandomState(4)


class Dense:
    def __init__(self, n_in, n_out):
        self.W = _RS.randn(n_in, n_out) * 0.4
        self.b = _RS.randn(n_out) * 0.1

    def __call__(self, x):
        return np.tanh(x @ self.W + self.b)


class ScaledDense(Dense):
    def __init__(self, n_in, n_out, scale):
        super().__init__(n_in, n_out)
        self.scale = scale

    def __call__(self, x):
        return super().__call__(x) * self.scale


class Model:
    def __init__(self):
        self.layers = [Dense(3, 5), ScaledDense(5, 2, 0.7)]

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def loss(self, x, y):
        return np.sum((self.forward(x) - y) ** 2)


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return x * self.calls


FIRST, SECOND, MODEL, COUNTER = Dense(3, 4), ScaledDense(4, 2, 0.5), Model(), Counter()
XS, YS = _RS.randn(6, 3), _RS.randn(6, 2)


def global_objects(x):
    return np.sum(SECOND(FIRST(x)) ** 2)


def objects_in_a_list(x):
    for layer in [FIRST, SECOND]:
        x = layer(x)
    return np.sum(x ** 2)


def objects_passed_in(x, layers):
    for layer in layers:
        x = layer(x)
    return np.sum(np.sin(x))


def model_loss(x):
    return MODEL.loss(x, YS)


CASES = [(global_objects, (XS,)), (objects_in_a_list, (XS,)), (objects_passed_in, (XS, [FIRST, SECOND])),
         (model_loss, (XS,))]


@pytest.mark.parametrize("f, args", CASES, ids=[c[0].__name__ for c in CASES])
def test_callable_objects_against_central_differences(f, args):
    g = s2s.grad(f)(*args)
    assert_close(g, fd_grad(f, args), rtol=1e-5, atol=1e-7)
    if len(args) == 1:
        jvp_check(f, args)
    else:  # the layers passed in carry no tangent
        t = np.random.default_rng(2).normal(size=args[0].shape)
        assert_close(s2s.jvp(lambda x: f(x, *args[1:]), (args[0],), (t,))[1], np.sum(g * t), rtol=1e-7, atol=1e-9)


def test_bound_method_of_a_model_of_layers():
    assert_close(s2s.grad(MODEL.loss)(XS, YS), fd_grad(model_loss, (XS,)), rtol=1e-5, atol=1e-7)


def test_a_callable_object_that_changes_itself_is_refused():
    def counted(x):
        return np.sum(COUNTER(x))
    with pytest.raises(s2s.UnsupportedSyntaxError, match="self"):
        s2s.grad(counted)(XS)


def widen(v):
    return v * np.ones(4)


def rebinds_its_parameter(x, layers):
    for layer in layers:
        x = layer(x)
    return x


def through_a_helper_that_rebinds(x):
    return np.sum(rebinds_its_parameter(x, [widen, np.sin]) * np.arange(4.0))


def test_a_parameter_rebound_to_another_shape_keeps_the_arguments_shape():
    """finish(x_bar, x) took the last value of x (shape (4,)) for the argument's (1,): a broadcast error, or
    a gradient of the wrong shape where the shapes broadcast."""
    x = np.array([0.3])
    got = s2s.grad(through_a_helper_that_rebinds)(x)
    assert got.shape == (1,)
    assert_close(got, fd_grad(through_a_helper_that_rebinds, (x,)), rtol=1e-6, atol=1e-8)
    pullback = s2s.vjp(rebinds_its_parameter, x, [widen, np.sin])[1]
    assert pullback(np.arange(4.0)).shape == (1,)
