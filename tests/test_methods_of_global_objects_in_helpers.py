"""A helper calling a method of a global object through a local name (survey 256: autograd's convnet example was
refused since 504eebd): `layer = LAYERS[0]; layer.forward(x, w)`, `for layer in LAYERS: ...`, `enc = NET.encoder`
are read as `LAYERS[0].forward(x, w)` is, the method's own summary saying what it changes
(transforms/ownership.py `globally_held_method`); a method that does change an argument is still refused."""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s


class Layer:
    def __init__(self, k):
        self.k = k

    def forward(self, x, w):
        return np.tanh(x * w * self.k)


class Overwrites:
    def forward(self, x, w):
        w[0] = 5.0
        return x * w


class Net:
    def __init__(self):
        self.encoder = Layer(0.5)


LAYERS = [Layer(1.0), Layer(2.0)]
MIXED = [Layer(1.0), Overwrites()]
NET = Net()


def first_layer(w, x):
    layer = LAYERS[0]
    return layer.forward(x, w)


def every_layer(w, x):
    for layer in LAYERS:
        x = layer.forward(x, w)
    return x


def encoder_of_a_global(w, x):
    enc = NET.encoder
    return enc.forward(x, w)


def every_mixed_layer(w, x):
    for layer in MIXED:
        x = layer.forward(x, w)
    return x


def loss_of(helper):
    def loss(w, x):
        return np.sum(helper(w, x) ** 2)
    return loss


W, X = np.array([0.3, -0.5, 0.8]), np.array([0.1, 0.7, -1.2])


@pytest.mark.parametrize("helper", [first_layer, every_layer, encoder_of_a_global])
def test_a_method_of_a_global_object_reached_through_a_local_in_a_helper_is_differentiated(helper):
    loss = loss_of(helper)
    np.testing.assert_allclose(s2s.grad(loss)(W, X), fd_grad(loss, (W, X)), rtol=1e-6, atol=1e-9)


def test_a_method_that_changes_an_argument_is_still_refused_through_a_loop_over_a_global_list():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="updates its argument `w` in place"):
        s2s.grad(loss_of(every_mixed_layer))(W, X)
