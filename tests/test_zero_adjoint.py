"""The zero adjoint reaching a rule whose template needs the adjoint's true shape.

An adjoint no contribution reached is the Python number 0.0 (`s2s.runtime.ZERO`), standing for zeros
of any shape. It reaches a rule at run time when a value is read in only some trips of a loop, or when
an item of a returned list is never read. Templates that hand `g` to a function (`np.reshape(g, ...)`)
or to a matrix product used to fail there with a NumPy error (`cannot reshape array of size 1`); they
now get a guard (`0.0 if s2s.is_zero(g) else ...`, `Rule.zero_guard`). Each case is checked against
central differences and autograd, in reverse mode, forward mode and under `hessian`.
"""

import numpy as np
import pytest
import scipy.linalg
import scipy.special
from conftest import check_grad, numeric_grad

import s2s
from s2s import rules

X6 = np.random.default_rng(2600).normal(size=6)
M33 = np.array([[2.0, 0.3, -0.2], [0.1, 1.7, 0.4], [-0.3, 0.2, 2.4]])


def reshape_first_trip(x):
    s = 0.0
    for i in range(3):
        y = x.reshape((2, 3))
        if i == 0:
            s = s + np.sum(np.sin(y) * y)
    return s


def ravel_first_trip(x):
    s = 0.0
    for i in range(2):
        y = np.ravel(np.outer(x, x))
        if i == 1:
            s = s + np.sum(y * y)
    return s


def swap_and_move(x):
    s = 0.0
    m = x.reshape((1, 2, 3))
    for i in range(3):
        a = np.swapaxes(m, 1, 2)
        b = np.moveaxis(m, 0, 2)
        if i == 0:
            s = s + np.sum(a * a)
        if i == 2:
            s = s + np.sum(np.cos(b))
    return s


def flips_and_rolls(x):
    s = 0.0
    m = x.reshape((2, 3))
    for i in range(4):
        a = np.flip(m, 1)
        b = np.rot90(m)
        c = np.roll(x, 2)
        d = np.fliplr(m)
        if i == 1:
            s = s + np.sum(a * np.arange(6.0).reshape((2, 3))) + np.sum(b ** 2)
        if i == 3:
            s = s + np.sum(c * np.arange(6.0)) + np.sum(np.sin(d))
    return s


def triangles_and_inverse(x):
    s = 0.0
    m = x[:3].reshape((3, 1)) * x[3:].reshape((1, 3)) + 3.0 * np.eye(3)
    for i in range(2):
        lo = np.tril(m)
        inv = np.linalg.inv(m)
        if i == 0:
            s = s + np.sum(lo * lo)
        else:
            s = s + np.sum(inv)
    return s


def softmax_some_trips(x):
    s = 0.0
    m = x.reshape((2, 3))
    for i in range(3):
        p = scipy.special.softmax(m, axis=1)
        q = scipy.special.log_softmax(m, axis=1)
        if i == 0:
            s = s + np.sum(p * np.arange(6.0).reshape((2, 3)))
        if i == 2:
            s = s + np.sum(q[:, 0])
    return s


def triangular_solve_some_trips(x):
    s = 0.0
    for i in range(2):
        y = scipy.linalg.solve_triangular(M33, x[:3], lower=False)
        if i == 1:
            s = s + np.sum(y * y)
    return s


SHAPES = [(2, 2), (1, 2)]  # 6 + 4 weights: an input of length 10


def layers_as_list(weights):
    out = []
    for m, n in SHAPES:
        out.append((weights[: m * n].reshape((m, n)), weights[m * n: m * n + n]))
        weights = weights[(m + 1) * n:]
    return out


def first_layer_only(weights):
    return np.sum(np.tanh(layers_as_list(weights)[0][0]))


def layers_lazily(weights):
    for m, n in SHAPES:
        yield weights[: m * n].reshape((m, n)), weights[m * n: m * n + n]
        weights = weights[(m + 1) * n:]


def first_generated_layer(weights):
    return np.sum(np.tanh(list(layers_lazily(weights))[0][0]))


C6 = np.arange(6.0)


def list_with_a_constant_item(x):
    """Forward mode: the tangent of the constant item is the zero tangent 0.0, reshaped and swapped."""
    items = []
    for i in range(2):
        if i == 0:
            items.append(x * 2.0)
        else:
            items.append(C6)
    s = 0.0
    for v in items:
        s = s + np.sum(np.swapaxes(v.reshape((2, 3)), 0, 1) ** 2)
    return s


CASES = [list_with_a_constant_item, reshape_first_trip, ravel_first_trip, swap_and_move, triangles_and_inverse, first_layer_only,
         first_generated_layer]
# autograd has no np.flip rule, and its SciPy lives under other names: finite differences only
NO_AUTOGRAD = [flips_and_rolls, softmax_some_trips, triangular_solve_some_trips]


X10 = np.random.default_rng(2602).normal(size=10)


def _input(f):
    return X10 if f in (first_layer_only, first_generated_layer) else X6


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_reverse_mode(f):
    check_grad(f, _input(f))


@pytest.mark.parametrize("f", NO_AUTOGRAD, ids=lambda f: f.__name__)
def test_reverse_mode_without_autograd(f):
    check_grad(f, _input(f), ag=False)


@pytest.mark.parametrize("f", CASES + NO_AUTOGRAD, ids=lambda f: f.__name__)
def test_forward_mode(f):
    x = _input(f)
    v = np.random.default_rng(2601).normal(size=x.shape)
    _, tangent = s2s.jvp(f, (x,), (v,))
    expected = numeric_grad(f, [x]) @ v
    np.testing.assert_allclose(tangent, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("f", [reshape_first_trip, swap_and_move, first_layer_only, list_with_a_constant_item],
                         ids=lambda f: f.__name__)
def test_hessian(f):
    x = _input(f)
    h = s2s.hessian(f)(x)
    grad = s2s.grad(f)
    eps = 1e-5
    expected = np.stack([(grad(x + eps * e) - grad(x - eps * e)) / (2 * eps) for e in np.eye(x.size)])
    np.testing.assert_allclose(h, expected, rtol=1e-5, atol=1e-6)


def test_generated_code_guards_only_where_needed():
    text = s2s.source(s2s.derivative(reshape_first_trip))
    assert "if s2s.is_zero(" in text and "np.reshape(" in text
    assert "is_zero" not in s2s.source(s2s.derivative(lambda_free_sine))


def lambda_free_sine(x):
    s = 0.0
    for i in range(3):
        y = np.sin(x)
        if i == 0:
            s = s + np.sum(y)
    return s


@pytest.mark.parametrize("name, param, guarded", [
    ("np.reshape", "a", True), ("np.swapaxes", "a", True), ("np.linalg.inv", "a", True),
    ("np.sin", "x", False), ("np.sum", "a", False), ("np.matmul", "a", False), ("np.transpose", "a", False),
])
def test_which_templates_are_guarded(name, param, guarded):
    """Arithmetic of `g` and helpers marked @zero_safe need no guard; anything else handed `g` does."""
    obj = eval(name, {"np": np})
    assert rules.lookup(obj).zero_guard(param) is guarded


def test_which_tangent_templates_are_guarded():
    assert rules.lookup(np.reshape).tangent_zero_guard("a")
    assert not rules.lookup(np.sin).tangent_zero_guard("x")
