"""Review 238 (real programs ported in their authors' style): the crash and the false refusals it found.

Each is checked against central differences: an ODE net's Euler steps calling `func(y, t, *args)` with layers of
different shapes under the Hessian (a TypeError, then a shape mismatch: the tangents' zero leaves were read as
arrays), a lambda a helper makes and hands to another helper (Newton's method on `f` and `df`), a base class's
`__call__` calling the `forward` its subclass defines (PyTorch's Module), and a method of a module's object reading the
function the object holds (`self.act = np.tanh`)."""

import collections

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s


def _layers(params, inputs):
    for W, b in params:
        outputs = np.dot(inputs, W) + b
        inputs = np.tanh(outputs)
    return outputs


def _dynamics(state, time, params):
    return _layers(params, state) * (1.0 + time)


def _euler(func, y0, ts, args):
    y = y0
    for i in range(len(ts) - 1):
        y = y + (ts[i + 1] - ts[i]) * func(y, ts[i], *args)
    return y


def ode_net_loss(w, x, ts):
    params = [(w[:12].reshape(3, 4), w[12:16]), (w[16:28].reshape(4, 3), w[28:31])]
    return np.sum(_euler(_dynamics, x, ts, (params,)) ** 2)


def test_hessian_vector_products_through_a_function_given_star_args_in_a_loop():
    rng = np.random.default_rng(238)
    w, v = rng.normal(size=31) * 0.5, rng.normal(size=31)
    x, ts = rng.normal(size=(1, 3)), np.linspace(0.0, 1.0, 4)
    step = 1e-5
    want = (s2s.grad(ode_net_loss)(w + step * v, x, ts) - s2s.grad(ode_net_loss)(w - step * v, x, ts)) / (2 * step)
    np.testing.assert_allclose(s2s.hvp(ode_net_loss)(w, x, ts, v), want, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(s2s.hessian(ode_net_loss)(w, x, ts) @ v, want, rtol=1e-6, atol=1e-7)


def _newton(f, df, x0, steps=20):
    x = x0
    for _ in range(steps):
        x = x - f(x) / df(x)
    return x


def _eccentric_anomaly(mean_anomaly, e):
    f = lambda E: E - e * np.sin(E) - mean_anomaly  # noqa: E731 - (as the program writes it)
    df = lambda E: 1 - e * np.cos(E)  # noqa: E731
    return _newton(f, df, mean_anomaly)


def orbit_radius(p):
    return 1.0 - p[1] * np.cos(_eccentric_anomaly(p[0], p[1]))


class _Module:
    def __call__(self, x):
        return self.forward(x)


class _Tanh(_Module):
    def forward(self, x):
        return np.tanh(x)


def through_a_module(x, layer):
    return np.sum(layer(x) ** 2)


class _Net:
    def __init__(self):
        self.act = np.tanh

    def forward(self, W, x):
        return self.act(x @ W)


NET = _Net()


def through_a_module_objects_method(W, x):
    return np.sum(_Net.forward(NET, W, x) ** 2) + np.sum(NET.forward(W, x))


@pytest.mark.parametrize("f, args", [
    (orbit_radius, (np.array([1.0, 0.3]),)),
    (through_a_module, (np.array([0.3, -0.4]), _Tanh())),
    (through_a_module_objects_method, (np.array([[0.5, -0.2], [0.1, 0.3]]), np.array([[1.0, 2.0]]))),
], ids=["lambdas to a helper", "subclass forward", "held function"])
def test_programs_refused_as_updating_an_argument_are_differentiated(f, args):
    # (each was refused: "updates its argument `f` (`self`) in place", which none of them does)
    np.testing.assert_allclose(s2s.grad(f)(*args), fd_grad(f, args), rtol=1e-6, atol=1e-8)


def _convolved(img, kernel):
    out = np.zeros((img.shape[0] - 1, img.shape[1] - 1))
    for i in range(img.shape[0] - 1):
        for j in range(img.shape[1] - 1):
            out[i, j] = np.sum(img[i:i + 2, j:j + 2] * kernel)
    return out


def features_of_a_helper(k, imgs):
    feats = []
    for img in imgs:
        feats.append(_convolved(img, k).ravel())
    return np.sum(np.sin(np.array(feats)))


def test_hessian_vector_products_of_an_array_made_of_a_helpers_results():
    # (refused: the forward code's `s2s.array_tangent` of the list had no rule to be differentiated again)
    rng = np.random.default_rng(2381)
    k, v, imgs = rng.normal(size=(2, 2)), rng.normal(size=(2, 2)), [rng.normal(size=(3, 3)) for _ in range(2)]
    step = 1e-5
    g = s2s.grad(features_of_a_helper)
    want = (g(k + step * v, imgs) - g(k - step * v, imgs)) / (2 * step)
    np.testing.assert_allclose(s2s.hvp(features_of_a_helper)(k, imgs, v), want, rtol=1e-6, atol=1e-7)


class _Holds:
    def __init__(self, act):
        self.act = act

    def forward(self, v):
        return self.act(v)


def _sorted_in_place(v):
    v.sort()
    return v


def runs_a_held_function(x, net):
    u = np.array([3.0, 1.0, 2.0])
    c = net.forward(u)  # (no derivative: run as written, once the object's own function is checked)
    return np.sum(x * u[0]) * np.sum(c)


def test_a_method_run_as_written_is_checked_by_the_function_its_object_holds():
    x = np.array([0.3, 0.7])
    u = np.array([3.0, 1.0, 2.0])
    np.testing.assert_allclose(s2s.grad(runs_a_held_function)(x, _Holds(np.tanh)), np.full(2, 3.0 * np.sum(np.tanh(u))),
                               rtol=1e-14)  # (refused as updating `self` before stop 70)
    with pytest.raises(s2s.UnsupportedSyntaxError, match=r"Holds.forward\) updates its argument `v` in place"):
        s2s.grad(runs_a_held_function)(x, _Holds(_sorted_in_place))  # (u[0] is read after the call: refused)
    net, g = _Holds(np.tanh), s2s.grad(runs_a_held_function)
    g(x, net)
    net.act = _sorted_in_place  # (the same object, rebound between calls: its summary is read again)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="updates its argument `v` in place"):
        g(x, net)


_Layer = collections.namedtuple("_Layer", "W b")


def _stack(y, params):
    for W, b in params:
        y = np.tanh(y @ W + b)
    return y


def _stepped(func, y, args):
    for _ in range(2):
        y = y + 0.5 * func(y, *args)
    return y


def layers_as_records(w, x):
    params = [_Layer(w[:4].reshape(2, 2), w[4:6]), _Layer(w[6:10].reshape(2, 2), w[10:12])]
    return np.sum(_stepped(_stack, x, (params,)) ** 2)


def test_hessian_vector_products_through_a_function_given_records():
    # (review 239: the zero tangents of a namedtuple's fields stayed the number 0.0, read as matrices)
    rng = np.random.default_rng(239)
    w, v, x = rng.normal(size=12) * 0.5, rng.normal(size=12), rng.normal(size=(1, 2))
    step = 1e-5
    g = s2s.grad(layers_as_records)
    want = (g(w + step * v, x) - g(w - step * v, x)) / (2 * step)
    np.testing.assert_allclose(s2s.hvp(layers_as_records)(w, x, v), want, rtol=1e-6, atol=1e-7)


def _batches(batch_size, features, labels, rng):
    indices = list(range(len(features)))
    rng.shuffle(indices)
    for i in range(0, len(features), batch_size):
        chosen = np.array(indices[i:i + batch_size])
        yield features[chosen], labels[chosen]


def minibatch_loss(w, features, labels, batch_size=10):
    rng = np.random.default_rng(42)  # (its own generator: the shuffle changes nothing the function reads again)
    total = 0.0
    for X, y in _batches(batch_size, features, labels, rng):
        total = total + np.sum((X @ w - y) ** 2)
    return total / len(features)


def test_a_generator_made_inside_and_shuffled_by_a_helper_is_the_functions_own():
    # (d2l's data_iter: refused as updating its argument `rng`, "which changes `batch_size` here too")
    rng = np.random.default_rng(2382)
    features, labels, w = rng.normal(size=(30, 2)), rng.normal(size=30), np.array([0.2, -0.1])
    np.testing.assert_allclose(s2s.grad(minibatch_loss)(w, features, labels),
                               fd_grad(minibatch_loss, (w, features, labels)), rtol=1e-6, atol=1e-8)
