"""Module constants (`np.pi`, `math.pi`, `np.inf`, `np.e`) as the first value of a name that later holds an active
one (helper 187: Newton's method for Kepler's equation started at `np.pi`, a running best from `-np.inf`): the
constant has no derivative, in reverse and in forward mode (NoDerivativeRuleError "no derivative for the attribute
.pi" before)."""

import math

import numpy as np
import pytest

import s2s
from tests.conftest import check_grad, numeric_grad


def kepler_anomaly(M, e):
    E = M if e < 0.8 else np.pi
    for _ in range(30):
        E = E - (E - e * np.sin(E) - M) / (1.0 - e * np.cos(E))
    return E


def relaxed_from_pi(x):
    E = np.pi
    for _ in range(3):
        E = E - 0.5 * (E - x)
    return E


def running_best(x):
    best = -np.inf
    for v in [np.sin(x), 2.0 * x, x * x]:
        if v > best:
            best = v
    return best


def branch_constant(x):
    if x < 0.8:
        E = x * 3.0
    else:
        E = math.pi
    return E * np.exp(x)


def euler_scaled(x):
    y = np.e
    y = y * x + np.cos(x)
    return y ** 2


@pytest.mark.parametrize("f, args, wrt", [
    (kepler_anomaly, (1.1, 0.3), (0, 1)), (kepler_anomaly, (2.0, 0.9), (0, 1)),
    (relaxed_from_pi, (0.7,), 0), (running_best, (0.4,), 0), (running_best, (1.7,), 0),
    (branch_constant, (0.3,), 0), (branch_constant, (1.3,), 0), (euler_scaled, (0.6,), 0),
])
def test_gradients(f, args, wrt):
    check_grad(f, *args, wrt=wrt, ag=False)


@pytest.mark.parametrize("f, x", [(relaxed_from_pi, 0.7), (euler_scaled, 0.6), (branch_constant, 0.3)])
def test_forward_mode_and_hessians(f, x):
    np.testing.assert_allclose(s2s.jacfwd(f)(x), numeric_grad(f, (x,)), rtol=1e-6)
    np.testing.assert_allclose(s2s.hessian(f)(x), numeric_grad(s2s.grad(f), (x,)), rtol=1e-5, atol=1e-8)


def test_relaxation_from_pi_forgets_its_start():
    assert s2s.grad(relaxed_from_pi)(0.7) == pytest.approx(1.0 - 0.5 ** 3, rel=1e-15)
