"""Adversarial probes (second round) of helpers expanded at their calls: a parameter given the caller's
parameter read as that name (transforms/inline.py `fixed_parameters`), helpers appending to their own lists
(transforms/adopt.py), and the pipeline's fallback to calls. Each was wrong before its fix; each is checked
against central differences and autograd."""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import s2s
from tests.helpers_fd import assert_close, fd_grad

# ---- a helper whose own local has the name of the caller's parameter passed to it --------------------------
# (the parameter read as the caller's `x`, then the helper's own `x` renamed, took the read with it:
# `x = 3.0; y = p * x` read 3.0 * 3.0, a value of 9.0 and a zero gradient)


def scaled_by_own_x(p):
    x = 3.0
    y = p * x
    return y


def calls_scaled_by_own_x(x):
    return np.sum(scaled_by_own_x(x))


def local_scaled_by_own_x(x):
    def loc(p):
        x = 3.0
        y = p * x
        return y
    return np.sum(loc(x))


def two_parameters_named_like_the_callers(p, x):
    s = p * 2.0
    return s + x


def calls_two_parameters(x, y):
    return np.sum(two_parameters_named_like_the_callers(x, y * 1.0) ** 2)


def ag_scaled(x):
    return anp.sum(x * 3.0)


def ag_two_parameters(x, y):
    return anp.sum((x * 2.0 + y) ** 2)


@pytest.mark.parametrize("f, ag", [(calls_scaled_by_own_x, ag_scaled), (local_scaled_by_own_x, ag_scaled)],
                         ids=["module helper", "local helper"])
def test_a_helper_local_named_like_the_callers_argument_stays_the_helpers(f, ag):
    x = np.array([0.3, -0.7, 1.1])
    value, got = s2s.value_and_grad(f)(x)
    assert_close(value, f(x))
    assert_close(got, autograd.grad(ag)(x), rtol=1e-12)
    assert_close(got, fd_grad(f, (x,), 0))


def test_a_helper_parameter_named_like_the_callers_argument_for_another():
    x, y = np.array([0.3, -0.7, 1.1]), np.array([1.5, 0.2, -0.4])
    value, got = s2s.value_and_grad(calls_two_parameters)(x, y)
    assert_close(value, calls_two_parameters(x, y))
    assert_close(got, autograd.grad(ag_two_parameters)(x, y), rtol=1e-12)
    assert_close(got, fd_grad(calls_two_parameters, (x, y), 0))
