"""Records held by a record's fields, as Equinox writes models: a dataclass holding a list of dataclass layers
(`model.layers`) or layers of its own (`model.encoder`), differentiated as the argument. Each call of a layer
(`for layer in model.layers: x = layer(x)`, `model.layers[-1](x)`, `zip`, `reversed`, `enumerate(.., 1)`, a slice,
`model.encoder.forward(x)`, and the same inside the model's own `__call__`) is read as the layer class's method;
the gradient is a model of gradients, against central differences. Before: "a function value that depends on the
differentiated input: it is a Linear". Also objects of plain classes (PyTorch's way) whose methods loop over a
slice of their layers, call the last one, or zip them with activations, differentiated with respect to the input.
"""

import dataclasses

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s
from s2s import compiled


@dataclasses.dataclass
class Linear:
    W: np.ndarray
    b: np.ndarray

    def __call__(self, x):
        return x @ self.W + self.b

    def forward(self, x):
        return np.tanh(self(x))


@dataclasses.dataclass
class Scaled:  # (another layer class: a model holding these gets code of its own)
    W: np.ndarray
    s: float

    def __call__(self, x):
        return np.sin(x @ self.W) * self.s


@dataclasses.dataclass
class MLP:
    layers: list

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = np.tanh(layer(x))
        return self.layers[-1](x)


@dataclasses.dataclass
class Autoencoder:
    encoder: Linear
    decoder: Linear

    def __call__(self, x):
        return self.decoder(np.tanh(self.encoder(x)))


def mse(model, x, y):
    return np.mean((model(x) - y) ** 2)


def through_the_list(model, x):
    for layer in model.layers:
        x = np.tanh(layer(x))
    return np.sum(x ** 2)


def by_index(model, x):
    return np.sum(model.layers[-1](np.tanh(model.layers[0](x))) ** 2)


def zipped(model, x, scales):
    for layer, s in zip(model.layers, scales):
        x = np.tanh(layer(x)) * s
    return np.sum(x ** 2)


def reversed_layers(model, x):
    for layer in reversed(model.layers):
        x = np.tanh(layer(x))
    return np.sum(x ** 2)


def counted_from_one(model, x):
    for i, layer in enumerate(model.layers, 1):
        x = np.tanh(layer(x)) / i
    return np.sum(x ** 2)


def fields_and_methods(model, x):
    return np.sum((model.decoder.forward(model.encoder(x)) - x) ** 2)


def _mlp(seed, n=3, cls=Linear):
    rng = np.random.default_rng(seed)
    if cls is Linear:
        return MLP([Linear(rng.normal(size=(3, 3)), rng.normal(size=3)) for _ in range(n)])
    return MLP([Scaled(rng.normal(size=(3, 3)), 1.5) for _ in range(n)])


def _fd_of_model(f, model, *rest):
    """Central differences of f with respect to every array field of every layer `model` holds."""
    out = []
    for layer in (model.layers if hasattr(model, "layers") else [model.encoder, model.decoder]):
        fields = {}
        for name in (f.name for f in dataclasses.fields(layer)):
            value = getattr(layer, name)
            if not isinstance(value, np.ndarray):
                continue
            g = np.zeros_like(value)
            for i in np.ndindex(value.shape):
                old = value[i]
                value[i] = old + 1e-6
                up = f(model, *rest)
                value[i] = old - 1e-6
                down = f(model, *rest)
                value[i] = old
                g[i] = (up - down) / 2e-6
            fields[name] = g
        out.append(fields)
    return out


def _check(grad, f, model, *rest):
    layers = grad.layers if hasattr(grad, "layers") else [grad.encoder, grad.decoder]
    for got, want in zip(layers, _fd_of_model(f, model, *rest)):
        for name, fd in want.items():
            np.testing.assert_allclose(getattr(got, name), fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("f", [through_the_list, by_index, reversed_layers, counted_from_one],
                         ids=lambda f: f.__name__)
def test_layers_of_a_model_passed_in(f):
    model, x = _mlp(0), np.random.default_rng(1).normal(size=(4, 3))
    g = s2s.grad(f)(model, x)
    assert type(g) is MLP and all(type(layer) is Linear for layer in g.layers)
    _check(g, f, model, x)


def test_layers_zipped_with_numbers():
    model, x = _mlp(2), np.random.default_rng(3).normal(size=(4, 3))
    _check(s2s.grad(zipped)(model, x, [1.0, 0.5, 2.0]), zipped, model, x, [1.0, 0.5, 2.0])


def test_the_model_s_own_call_over_a_slice_and_its_last_layer():
    model = _mlp(4)
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    value, g = s2s.value_and_grad(mse)(model, x, y)
    assert value == mse(model, x, y)
    _check(g, mse, model, x, y)
    np.testing.assert_allclose(s2s.grad(mse, wrt=1)(model, x, y), fd_grad(mse, (model, x, y), wrt=1), atol=1e-8)


def test_a_model_of_another_layer_class_gets_code_of_its_own():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    first, other = _mlp(7), _mlp(8, cls=Scaled)
    _check(s2s.grad(mse)(first, x, y), mse, first, x, y)
    g = s2s.grad(mse)(other, x, y)
    assert all(type(layer) is Scaled for layer in g.layers)
    _check(g, mse, other, x, y)


def test_records_held_in_fields():
    rng = np.random.default_rng(9)
    model = Autoencoder(Linear(rng.normal(size=(3, 2)), rng.normal(size=2)),
                        Linear(rng.normal(size=(2, 3)), rng.normal(size=3)))
    x = rng.normal(size=(4, 3))
    for f in (fields_and_methods, lambda m, x: mse(m, x, x)):
        g = s2s.grad(f)(model, x)
        assert type(g) is Autoencoder and type(g.encoder) is Linear
        _check(g, f, model, x)


@dataclasses.dataclass
class Counting:
    W: np.ndarray
    calls: int = 0

    def __call__(self, x):
        self.calls += 1  # (changes the layer: what reads it after would carry no derivative)
        return x @ self.W


def test_a_layer_that_changes_itself_is_refused():
    model = MLP([Counting(np.eye(3)), Counting(np.eye(3) * 2.0)])
    with pytest.raises(s2s.UnsupportedSyntaxError, match="Counting"):
        s2s.grad(through_the_list)(model, np.ones((2, 3)))


def test_a_list_of_layers_of_two_classes_is_refused_or_right():
    rng = np.random.default_rng(10)
    model = MLP([Linear(rng.normal(size=(3, 3)), rng.normal(size=3)), Scaled(rng.normal(size=(3, 3)), 2.0)])
    x = rng.normal(size=(4, 3))
    with pytest.raises(s2s.UnsupportedSyntaxError, match="function value"):
        s2s.grad(through_the_list)(model, x)
    np.testing.assert_allclose(s2s.grad(through_the_list, wrt=1)(model, x), fd_grad(through_the_list, (model, x), wrt=1),
                               atol=1e-8)


# ---- PyTorch's way: plain classes, differentiated with respect to the input ------------------------------------------

class Dense:
    def __init__(self, W):
        self.W = W

    def __call__(self, x):
        return x @ self.W


class Tanh:
    def __call__(self, x):
        return np.tanh(x)


class Stack:
    def __init__(self, layers, acts):
        self.layers, self.acts = layers, acts

    def sliced(self, x):
        for layer in self.layers[:-1]:
            x = np.tanh(layer(x))
        return np.sum(self.layers[-1](x) ** 2)

    def zipped(self, x):
        for layer, act in zip(self.layers, self.acts):
            x = act(layer(x))
        return np.sum(x ** 2)

    def counted(self, x):
        for i, layer in enumerate(self.layers, 1):
            x = np.tanh(layer(x)) * i
        return np.sum(x ** 2)

    def backwards(self, x):
        for layer in reversed(self.layers):
            x = np.sin(layer(x))
        return np.sum(x ** 2)


@pytest.mark.parametrize("method", ["sliced", "zipped", "counted", "backwards"])
def test_methods_of_plain_objects_over_their_layers(method):
    rng = np.random.default_rng(11)
    net = Stack([Dense(rng.normal(size=(3, 3))) for _ in range(3)], [Tanh(), Tanh(), Tanh()])
    f = getattr(net, method)
    x = rng.normal(size=(4, 3))
    np.testing.assert_allclose(s2s.grad(f)(x), fd_grad(f, (x,)), rtol=1e-6, atol=1e-8)


# ---- review 244 ----------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class WithActivation:
    layers: list
    activation: object = np.tanh

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))  # (the layer's call an argument of the held function's)
        return self.layers[-1](x)


def test_the_usual_equinox_mlp_with_an_activation_field():
    rng = np.random.default_rng(12)
    model = WithActivation([Linear(rng.normal(size=(3, 3)), rng.normal(size=3)) for _ in range(3)])
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    _check(s2s.grad(mse)(model, x, y), mse, model, x, y)


def explicit_call(model, x):
    for layer in model.layers:
        x = layer.__call__(x)  # an attribute read: the layer's own `__call__` comes first
    return np.sum(x)


def test_an_explicit_dunder_call_checks_the_layer_s_own_attribute():
    """`layer.__call__(x)` of a layer holding its own `__call__` ran the class's (review 244: 3.0 for Python's 15.0);
    `layer(x)` looks it up on the class, as before."""
    layer = Linear(np.eye(3), np.zeros(3))
    layer.__call__ = lambda z: z * 0.0 + 5.0
    with pytest.raises(s2s.NoDerivativeRuleError, match="holds an attribute .__call__ of its own"):
        s2s.value_and_grad(explicit_call)(MLP([layer]), np.ones(3))
    np.testing.assert_allclose(s2s.grad(through_the_list)(MLP([layer]), np.ones(3)).layers[0].b,
                               fd_grad(lambda b: through_the_list(MLP([Linear(np.eye(3), b)]), np.ones(3)),
                                       (np.zeros(3),)), atol=1e-8)


@dataclasses.dataclass
class Gate:
    W: np.ndarray

    def __call__(self, x):
        return self.W * x


def gated(model, x):
    s = 0.0
    for layer in model.layers:
        s = s + np.sum(layer(x))
    return s


def test_gradients_are_not_the_caller_s_arrays():
    """Each layer's gradient here is x: it was x itself, for both layers (review 244: scaling one in place changed
    x and the other)."""
    x = np.array([1.0, 2.0, 3.0])
    g = s2s.grad(gated)(MLP([Gate(np.ones(3)), Gate(np.ones(3))]), x)
    assert not np.shares_memory(g.layers[0].W, x) and not np.shares_memory(g.layers[0].W, g.layers[1].W)
    np.testing.assert_array_equal(g.layers[1].W, x)


def test_compile_runs_the_numpy_code_with_a_warning():
    """compile=True refused the held layers' calls ("does not know the method .forward()"): the code is made for the
    records as grad's is, and a call of a layer's method, linked when it runs, makes it run the NumPy code."""
    rng = np.random.default_rng(13)
    model = Autoencoder(Linear(rng.normal(size=(3, 2)), rng.normal(size=2)),
                        Linear(rng.normal(size=(2, 3)), rng.normal(size=3)))
    x = rng.normal(size=(4, 3))
    with pytest.warns(compiled.CompiledFallbackWarning, match="runs the NumPy code"):
        g = s2s.grad(fields_and_methods, compile=True)(model, x)
    expected = s2s.grad(fields_and_methods)(model, x)
    for part in ("encoder", "decoder"):
        np.testing.assert_array_equal(getattr(g, part).W, getattr(expected, part).W)
