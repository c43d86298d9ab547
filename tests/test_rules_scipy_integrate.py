"""scipy.integrate.odeint: gradients in y0 and in the extra arguments (arrays, numbers, nested tuples and lists)
by the adjoint method, against central differences and autograd's odeint; what is refused."""

import numpy as np
import pytest
from conftest import numeric_grad, rng

import s2s

integrate = pytest.importorskip("scipy.integrate", reason="the SciPy rules need SciPy (the scipy extra)")
odeint = integrate.odeint

TIMES = np.linspace(0.0, 1.5, 6)
TOL = {"rtol": 1e-10, "atol": 1e-10}


def rotating(y, t, a, b):
    return -a * y + np.sin(b * t) * y[::-1]


def loss_rotating(y0, a, b):
    ys = odeint(rotating, y0, TIMES, args=(a, b), rtol=1e-10, atol=1e-10)
    return np.sum(ys ** 2 * np.arange(1.0, 7.0)[:, None])


def test_gradient_in_y0_and_args():
    y0, a, b = np.array([1.0, 0.5]), np.array([0.7, 1.3]), 2.0
    g = s2s.grad(loss_rotating, wrt=(0, 1, 2))(y0, a, b)
    for i, gi in enumerate(g):
        np.testing.assert_allclose(gi, numeric_grad(loss_rotating, [y0, a, b], wrt=i), rtol=1e-5, atol=1e-7)
    import autograd
    import autograd.numpy as anp
    from autograd.builtins import tuple as ag_tuple
    from autograd.scipy.integrate import odeint as ag_odeint

    def twin(y0, a, b):
        def dyn(y, t, a, b):
            return -a * y + anp.sin(b * t) * y[::-1]
        ys = ag_odeint(dyn, y0, TIMES, ag_tuple((a, b)), rtol=1e-10, atol=1e-10)
        return anp.sum(ys ** 2 * np.arange(1.0, 7.0)[:, None])
    for i, gi in enumerate(g):
        np.testing.assert_allclose(gi, autograd.grad(twin, i)(y0, a, b), rtol=1e-6, atol=1e-8)


def mlp_dynamics(y, t, params):
    h = y
    for w, b in params:
        h = np.tanh(h @ w + b)
    return h - 0.1 * y


def ode_net_loss(params, y0):
    ys = odeint(mlp_dynamics, y0, TIMES, (params,), rtol=1e-9, atol=1e-9)
    target = np.stack([np.sin(TIMES), np.cos(TIMES)], axis=1)
    return np.mean((ys - target) ** 2)


def test_ode_net_with_a_list_of_layers():
    """The shape of autograd's ODE net example: the parameters a list of (W, b) tuples passed in args."""
    params = [(rng(800).normal(size=(2, 4)) * 0.5, rng(801).normal(size=4) * 0.1),
              (rng(802).normal(size=(4, 2)) * 0.5, rng(803).normal(size=2) * 0.1)]
    y0 = np.array([0.0, 1.0])
    g = s2s.grad(ode_net_loss)(params, y0)
    assert isinstance(g, list) and all(isinstance(layer, tuple) for layer in g)
    eps = 1e-6
    for li, layer in enumerate(params):
        for pi, p in enumerate(layer):
            expected = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                d = np.zeros_like(p)
                d[idx] = eps

                def moved(s):
                    new = [list(x) for x in params]
                    new[li][pi] = p + s * d
                    return ode_net_loss([tuple(x) for x in new], y0)
                expected[idx] = (moved(1) - moved(-1)) / (2 * eps)
            np.testing.assert_allclose(g[li][pi], expected, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(s2s.grad(ode_net_loss, wrt=1)(params, y0),
                               numeric_grad(ode_net_loss, [params, y0], wrt=1), rtol=1e-4, atol=1e-7)


def decay(y, t, k, n):
    return -k * y ** n


def loss_int_arg(k):
    return np.sum(odeint(decay, np.array([1.0, 2.0]), TIMES, (k, 2), rtol=1e-10, atol=1e-10))


def test_an_integer_argument_gets_no_adjoint():
    k = np.array([0.5, 0.2])
    np.testing.assert_allclose(s2s.grad(loss_int_arg)(k), numeric_grad(loss_int_arg, [k]), rtol=1e-5)


def test_a_function_closing_over_the_differentiated_value_is_refused():
    def loss(a):
        def dyn(y, t):
            return -a * y
        return np.sum(odeint(dyn, np.ones(2), TIMES))
    with pytest.raises(s2s.S2SError, match="func"):
        s2s.grad(loss)(np.array([0.5, 1.0]))


def plain(y, t):
    return -y


def test_times_full_output_and_forward_mode_are_refused():
    def loss_t(s):
        return np.sum(odeint(plain, np.ones(2), TIMES * s))

    def loss_full(y0):
        return np.sum(odeint(plain, y0, TIMES, full_output=1)[0])

    def loss(y0):
        return np.sum(odeint(plain, y0, TIMES))
    with pytest.raises(s2s.NoDerivativeRuleError, match="'t'"):
        s2s.grad(loss_t)(1.5)
    with pytest.raises(s2s.S2SError, match="full_output"):
        s2s.grad(loss_full)(np.ones(2))
    with pytest.raises(s2s.S2SError):
        s2s.jvp(loss, (np.ones(2),), (np.ones(2),))
    np.testing.assert_allclose(s2s.grad(loss)(np.ones(2)), np.full(2, np.sum(np.exp(-TIMES))), rtol=1e-6)


def test_trapezoid_is_numpy_s_rule_in_every_mode():
    """scipy.integrate.trapezoid computes what np.trapezoid does: its rule is that one (review 247: refused)."""
    xs = np.linspace(0.0, 2.0, 9)

    def area(a, x):
        return integrate.trapezoid(np.exp(-a * x) * x, x) + integrate.trapezoid(np.sin(a * x), dx=0.1) ** 2

    a = 0.7
    for wrt in (0, 1):
        expected = numeric_grad(area, [a, xs], wrt=wrt)
        np.testing.assert_allclose(s2s.grad(area, wrt=wrt)(a, xs), expected, rtol=1e-6, atol=1e-9)
    tangent = s2s.jvp(lambda b: area(b, xs), (a,), (1.0,))[1]
    np.testing.assert_allclose(tangent, numeric_grad(area, [a, xs], wrt=0), rtol=1e-6)
    h = 1e-4
    second = (numeric_grad(area, [a + h, xs], wrt=0) - numeric_grad(area, [a - h, xs], wrt=0)) / (2 * h)
    np.testing.assert_allclose(s2s.hessian(lambda b: area(b, xs))(a), second, rtol=1e-4)
