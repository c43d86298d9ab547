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


def doubles_its_second(p, q):
    q = q * 2.0
    return p * q


def caller_q_given_for_p(q, x):
    return np.sum(doubles_its_second(q, x) * q)


def ag_caller_q_given_for_p(q, x):
    return anp.sum(q * (x * 2.0) * q)


def local_helper_binding_the_callers_name(x, y):
    def loc(a, b):
        y = a * 3.0
        return y + b
    return np.sum(loc(x, y))


def ag_local_helper_binding_the_callers_name(x, y):
    return anp.sum(x * 3.0 + y)


def same_names_as_the_caller(x, n):
    y = x * n
    return np.sin(y)


def calls_same_names_as_the_caller(x, n):
    return np.sum(same_names_as_the_caller(x, n))


@pytest.mark.parametrize("f, ag", [(caller_q_given_for_p, ag_caller_q_given_for_p),
                                   (local_helper_binding_the_callers_name, ag_local_helper_binding_the_callers_name),
                                   (calls_two_parameters, ag_two_parameters)],
                         ids=["a parameter the helper binds again", "a local of a local helper", "another parameter"])
def test_a_callers_parameter_passed_where_the_helper_binds_its_name(f, ag):
    x, y = np.array([0.3, -0.7, 1.1]), np.array([1.5, 0.2, -0.4])
    for wrt in (0, 1):
        value, got = s2s.value_and_grad(f, wrt=wrt)(x, y)
        assert_close(value, f(x, y))
        assert_close(got, autograd.grad(ag, wrt)(x, y), rtol=1e-12)
        assert_close(got, fd_grad(f, (x, y), wrt))


def test_a_parameter_given_the_callers_parameter_of_its_own_name_reads_it():
    x = np.array([0.3, -0.7, 1.1])
    got = s2s.grad(calls_same_names_as_the_caller)(x, 3.0)
    assert_close(got, 3.0 * np.cos(3.0 * x), rtol=1e-12)
    code = s2s.source(s2s.grad(calls_same_names_as_the_caller), x, 3.0)
    assert "_vjp" not in code and "= x\n" not in code, code  # expanded, and no alias `x2 = x`


# ---- `L.append(v)` used as a value (a comprehension of appends, `is None`): the update ran with no adjoint -----
# (lowered to `append = L.append(t)`, which no pass read as the list's update: a zero gradient; a helper
# appending to its own list this way, adopted or not, gave the same)


def appends_in_a_comprehension(x):
    hidden = []
    [hidden.append(x * k) for k in range(3)]
    return np.sum(hidden[-1]) * len(hidden)


def appends_in_a_kept_comprehension(x):
    hidden = []
    z = [hidden.append(x * k) for k in range(3)]
    return np.sum(hidden[-1]) * len(z)


def appends_in_a_test(x):
    hidden = []
    if hidden.append(x * 2.0) is None:
        hidden.append(hidden[0] * x)
    return np.sum(hidden[-1])


def appends_in_a_filter(x):
    hidden = []
    z = [x * k for k in range(3) if hidden.append(x * k) is None]
    return np.sum(hidden[-1]) * len(z)


def appends_or_reads(x):
    hidden = []
    z = hidden.append(x * 2.0) or hidden[0]
    return np.sum(z)


def appends_in_a_while_test(x):
    hidden = []
    while hidden.append(x * len(hidden)) is None and len(hidden) < 3:
        pass
    return np.sum(hidden[-1]) * len(hidden)


def helper_appending_in_a_comprehension(x):
    hidden = []
    z = [hidden.append(x * k) for k in range(3)]  # noqa: F841
    return hidden


def calls_helper_appending_in_a_comprehension(x):
    lst = helper_appending_in_a_comprehension(x)
    return np.sum(lst[-1]) * len(lst)


def ag_appends(x):
    return anp.sum(x * 2.0) * 3


APPENDS_AS_VALUES = [
    (appends_in_a_comprehension, ag_appends),
    (appends_in_a_kept_comprehension, ag_appends),
    (appends_in_a_test, lambda x: anp.sum(x * 2.0 * x)),
    (appends_in_a_filter, ag_appends),
    (appends_or_reads, lambda x: anp.sum(x * 2.0)),
    (appends_in_a_while_test, ag_appends),
    (calls_helper_appending_in_a_comprehension, ag_appends),
]


@pytest.mark.parametrize("f, ag", APPENDS_AS_VALUES, ids=[c[0].__name__ for c in APPENDS_AS_VALUES])
def test_an_append_used_as_a_value_updates_the_list(f, ag):
    x = np.array([0.3, -0.7, 1.1])
    value, got = s2s.value_and_grad(f)(x)
    assert_close(value, f(x))
    assert_close(got, autograd.grad(ag)(x), rtol=1e-12)
    assert_close(got, fd_grad(f, (x,), 0))
    t = np.array([1.0, 0.5, -2.0])
    _, tangent = s2s.jvp(f, (x,), (t,))
    assert_close(tangent, got @ t)
