"""Parameters left to a default that is a Python number (`step=0.1`, `n_steps=5`) specialise the code as a
number passed positionally would (s2s/api.py, `_positional_values`). The code stays right when a call
passes the parameter by keyword (its key holds the keyword's name), positionally, or when the function's
defaults are replaced: each case is checked against central differences and autograd.
"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import s2s
from tests.helpers_fd import assert_close, fd_grad

RNG = np.random.default_rng(11)


def leapfrog(q, p, step=0.1, n_steps=4):
    p = p - 0.5 * step * q ** 3
    for _ in range(n_steps - 1):
        q = q + step * p
        p = p - step * q ** 3
    q = q + step * p
    return np.sum(q ** 2) + 0.5 * np.sum(p ** 2)


def leapfrog_ag(q, p, step=0.1, n_steps=4):
    p = p - 0.5 * step * q ** 3
    for _ in range(n_steps - 1):
        q = q + step * p
        p = p - step * q ** 3
    q = q + step * p
    return anp.sum(q ** 2) + 0.5 * anp.sum(p ** 2)


def _check(f, f_ag, args, kwargs=None, wrt=0):
    kwargs = kwargs or {}
    g = s2s.grad(f, wrt=wrt)(*args, **kwargs)
    assert_close(g, fd_grad(f, args, wrt, kwargs=kwargs), rtol=1e-5, atol=1e-7)
    if f_ag is not None:
        assert_close(g, autograd.grad(f_ag, wrt)(*args, **kwargs))
    return g


def test_a_number_default_is_specialised_like_a_positional_number():
    q, p = RNG.normal(size=3), RNG.normal(size=3)
    _check(leapfrog, leapfrog_ag, (q, p))
    src = s2s.source(s2s.grad(leapfrog), q, p)
    assert "unbroadcast" not in src and "# s2s:" not in src, src
    general = s2s.source(s2s.derivative(leapfrog))
    assert "unbroadcast" in general  # (what the defaults' kinds bought)


def test_a_keyword_replacing_a_default_gets_its_own_code():
    def f(x, scale=2.0):
        return np.sum(scale * x ** 2)

    x = RNG.normal(size=4)
    df = s2s.grad(f)
    assert_close(df(x), 4.0 * x)
    scale = RNG.normal(size=4)  # an array where the default was a number
    assert_close(df(x, scale=scale), 2.0 * scale * x)
    assert_close(df(x, scale=np.ones((2, 4))), 4.0 * x)  # broadcast: both rows summed into x's gradient
    assert_close(df(x), 4.0 * x)
    assert_close(df(x, np.ones((3, 4))), 6.0 * x)  # positionally


def test_keywords_on_both_sides_of_a_default():
    q, p = RNG.normal(size=2), RNG.normal(size=2)
    for kwargs in ({"step": 0.05}, {"n_steps": 2}, {"n_steps": 6, "step": 0.2}, {"step": np.full(2, 0.05)}):
        _check(leapfrog, leapfrog_ag, (q, p), kwargs)
    _check(leapfrog, leapfrog_ag, (q, p, 0.3))
    _check(leapfrog, leapfrog_ag, (q, p, 0.3, 1))


def test_the_gradient_with_respect_to_a_parameter_given_positionally_next_to_a_default():
    q, p = RNG.normal(size=3), RNG.normal(size=3)
    g = s2s.grad(leapfrog, wrt=1)(q, p)
    assert_close(g, fd_grad(leapfrog, (q, p), 1))


def test_replaced_defaults_are_seen():
    def f(x, k=2, c=1.5):
        return np.sum(c * x ** k)

    x = RNG.uniform(0.5, 1.5, size=3)
    df = s2s.grad(f)
    assert_close(df(x), 3.0 * x)
    f.__defaults__ = (3, np.array([1.0, 2.0, 3.0]))  # an int again, then an array where a float was
    assert_close(df(x), 3.0 * np.array([1.0, 2.0, 3.0]) * x ** 2)
    f.__defaults__ = (1, 0.5)
    assert_close(df(x), np.full(3, 0.5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_default_beside_float32_arguments(dtype):
    def f(x, w=0.5):
        return np.sum(np.tanh(w * x))

    x = RNG.normal(size=5).astype(dtype)
    g = s2s.grad(f)(x)
    assert g.dtype == dtype
    assert_close(g, 0.5 * (1 - np.tanh(0.5 * x.astype(float)) ** 2), rtol=1e-5 if dtype == np.float64 else 1e-3)


def test_a_bool_or_none_default_is_left_to_the_general_code():
    def f(x, flag=True, extra=None):
        y = x * 2.0 if flag else x
        if extra is not None:
            y = y + extra
        return np.sum(y ** 2)

    x = RNG.normal(size=3)
    assert_close(s2s.grad(f)(x), 8.0 * x)
    assert_close(s2s.grad(f)(x, False), 2.0 * x)
    assert_close(s2s.grad(f)(x, extra=np.ones(3)), 4.0 * (2.0 * x + 1.0))


def batched(w, X, batch=3):
    total = 0.0
    for start in range(0, X.shape[0], batch):
        total = total + np.sum(np.tanh(X[start:start + batch] @ w) ** 2)
    return total


def batched_ag(w, X, batch=3):
    total = 0.0
    for start in range(0, X.shape[0], batch):
        total = total + anp.sum(anp.tanh(X[start:start + batch] @ w) ** 2)
    return total


def test_an_int_left_to_its_default_is_read_as_that_int():
    w, X = RNG.normal(size=3), RNG.normal(size=(7, 3))
    _check(batched, batched_ag, (w, X))
    src = s2s.source(s2s.grad(batched), w, X)
    # (batches of 3, 3 and 1 rows: the loop of a known step written out, each trip its own shapes)
    assert "X[6:9]" in src and "for " not in src and "unbroadcast" not in src, src
    for args in ((w, X, 2), (w, X, 7)):  # positionally: code of its own, reading the parameter
        _check(batched, batched_ag, args)
    _check(batched, batched_ag, (w, X), {"batch": 4})
    _check(batched, batched_ag, (w, X))


def test_an_int_default_the_function_binds_again_is_read_as_its_name():
    def f(x, n=2):
        n = n + 1
        return np.sum(x[:n] ** 2)

    def g(x, n=2):
        scale = (lambda n: n * 2.0)(3.0)
        return np.sum(x[:n] ** 2) * scale

    x = RNG.normal(size=5)
    assert_close(s2s.grad(f)(x), np.r_[2 * x[:3], 0.0, 0.0])
    assert_close(s2s.grad(g)(x), np.r_[12.0 * x[:2], 0.0, 0.0, 0.0])


def test_an_int_default_the_gradient_is_taken_with_respect_to_keeps_its_adjoint():
    # (adv-def) grad with respect to an int parameter left to its default read it as the literal 3: 0.0
    def f(x, n=3):
        return np.sum(x) * n

    x = np.arange(1.0, 4.0)
    assert_close(s2s.grad(f, wrt="n")(x), 6.0)
    assert_close(s2s.grad(f, wrt=1)(x), 6.0)
    gx, gn = s2s.grad(f, wrt=("x", "n"))(x)
    assert_close(gx, np.full(3, 3.0))
    assert_close(gn, 6.0)
    assert_close(s2s.value_and_grad(f, wrt="n")(x)[1], 6.0)
    assert_close(s2s.grad(f)(x), np.full(3, 3.0))  # (with respect to x: n read as 3)
