"""The lecture examples s2s was built around, checked against finite differences and autograd."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from helpers_fd import assert_close, check_grad

import s2s

# ---------------------------------------------------------------- functions under test


def two_dot(x):
    y = 2 * np.dot(x, x)
    return y


def two_dot_ag(x):
    return 2 * anp.dot(x, x)


def plain_sum(x):
    return np.sum(x)


def sum_squares(x):
    return np.sum(x * x)


def sum_squares_ag(x):
    return anp.sum(x * x)


def detached(x):
    u = s2s.stop_gradient(x * x)
    z = u * x
    return np.sum(z)


def control_flow(a):
    b = a * 2
    while np.linalg.norm(b) < 1000:
        b = b * 2
    if np.sum(b) > 0:
        c = b
    else:
        c = 100 * b
    return c


def control_flow_sum(a):
    return np.sum(control_flow(a))


def control_flow_ag(a):
    b = a * 2
    while anp.linalg.norm(b) < 1000:
        b = b * 2
    if anp.sum(b) > 0:
        c = b
    else:
        c = 100 * b
    return c


# ---------------------------------------------------------------- tests


def test_two_dot_is_4x():
    x = np.arange(4.0)
    g = s2s.grad(two_dot)(x)
    assert_close(g, 4 * x)
    check_grad(g, two_dot, (x,))
    assert_close(g, autograd.grad(two_dot_ag)(x))


def test_decorator_form_two_dot():
    df = s2s.grad(two_dot)
    x = np.arange(4.0)
    assert_close(df(x), np.array([0.0, 4.0, 8.0, 12.0]))
    assert "def " in s2s.source(df)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sum_gives_ones(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=tuple(rng.integers(1, 5, size=rng.integers(1, 3))))
    g = s2s.grad(plain_sum)(x)
    assert_close(g, np.ones_like(x))
    check_grad(g, plain_sum, (x,))
    assert_close(g, autograd.grad(lambda v: anp.sum(v))(x))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sum_squares_gives_2x(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=int(rng.integers(1, 9)))
    g = s2s.grad(sum_squares)(x)
    assert_close(g, 2 * x)
    check_grad(g, sum_squares, (x,))
    assert_close(g, autograd.grad(sum_squares_ag)(x))


def test_value_and_grad_sum_squares():
    x = np.array([1.0, -2.0, 3.0])
    v, g = s2s.value_and_grad(sum_squares)(x)
    assert v == pytest.approx(14.0)
    assert_close(g, 2 * x)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stop_gradient_detach(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=int(rng.integers(2, 7)))
    g = s2s.grad(detached)(x)
    u = x * x
    assert_close(g, u)
    # the value is unchanged by stop_gradient
    assert s2s.value_and_grad(detached)(x)[0] == pytest.approx(np.sum(x ** 3))


@pytest.mark.parametrize("seed", range(8))
def test_control_flow_scalar_grad_equals_f_over_a(seed):
    rng = np.random.default_rng(seed)
    sign = 1.0 if seed % 2 == 0 else -1.0
    a = sign * float(rng.uniform(0.1, 5.0))
    g = s2s.grad(control_flow)(a)
    assert float(g) == pytest.approx(control_flow(a) / a, rel=1e-12)
    assert float(g) == pytest.approx(autograd.grad(control_flow_ag)(a), rel=1e-12)
    check_grad(g, control_flow, (a,), rtol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_control_flow_vector_vjp(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=int(rng.integers(2, 6)))
    if seed % 2:
        a = -np.abs(a)
    value, pullback = s2s.vjp(control_flow, a)
    assert_close(value, control_flow(a))
    k = control_flow(a)[0] / a[0]
    ones = np.ones_like(a)
    assert_close(pullback(ones), k * ones)
    cot = rng.normal(size=a.shape)
    assert_close(pullback(cot), k * cot)
    assert_close(pullback(cot), autograd.make_vjp(control_flow_ag)(a)[0](cot))


@pytest.mark.parametrize("seed", range(4))
def test_control_flow_through_helper_call(seed):
    rng = np.random.default_rng(seed)
    a = np.abs(rng.normal(size=3)) * (1.0 if seed % 2 else -1.0)
    g = s2s.grad(control_flow_sum)(a)
    check_grad(g, control_flow_sum, (a,))
    assert_close(g, autograd.grad(lambda v: anp.sum(control_flow_ag(v)))(a))
