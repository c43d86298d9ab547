"""Hessian-vector products and Hessians through calls of function values (s2s.call_vjp in the gradient
code): forward mode over the reverse-mode gradient, the pullback's tangent from the callee's seeded
gradient (s2s.runtime.calls_hvp). Against central differences of s2s.grad and autograd."""

import functools

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import s2s
from s2s import api
from s2s.errors import S2SError


def X(n=5, seed=0):
    return np.random.default_rng(seed).normal(size=n)


def fd_hvp(f, args, v, eps=1e-6):
    """Central differences of s2s.grad along v."""
    g = s2s.grad(f)
    x = args[0]
    plus = g(x + eps * v, *args[1:])
    minus = g(x - eps * v, *args[1:])
    return (np.asarray(plus) - np.asarray(minus)) / (2 * eps)


def check(f, fa, args, seed=1, forward_over_reverse=True):
    """s2s.hvp and s2s.hessian of f (function values among args) against FD of s2s.grad and autograd's fa."""
    x = args[0]
    v = np.random.default_rng(seed).normal(size=np.shape(x))
    got = s2s.hvp(f)(*args, v)
    np.testing.assert_allclose(got, fd_hvp(f, args, v), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, autograd.hessian_vector_product(fa)(x, v), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(s2s.hessian(f)(*args), autograd.hessian(fa)(x), rtol=1e-9, atol=1e-10)
    if forward_over_reverse:  # one forward sweep over the gradient code, not the n-sweep fallback
        df = api.derivative(f, wrt=0)
        _, tangent = api.jvp(df, tuple(args), (v,) + (None,) * (len(args) - 1))
        np.testing.assert_allclose(tangent, got, rtol=1e-12, atol=1e-12)


def act(z):
    return np.tanh(z) * z


def act_a(z):
    return anp.tanh(z) * z


def scaled(z, c=1.0):
    return np.sin(c * z) * z ** 2


def through(x, g):
    y = g(x * 2.0)
    return np.sum(y ** 2) + np.sum(np.exp(g(x)))


def test_function_value_argument():
    x = X()
    check(through, lambda x: anp.sum(act_a(x * 2.0) ** 2) + anp.sum(anp.exp(act_a(x))), (x, act))


def test_two_arguments_active_and_keyword():
    def f(x, g):
        y = g(x, c=x[0])
        return np.sum(y * x)

    def fa(x):
        return anp.sum(anp.sin(x[0] * x) * x ** 2 * x)

    check(f, fa, (X(4, 3), scaled))


def test_function_in_dict():
    def f(x, fs):
        return np.sum(fs["act"](x) ** 3) + fs["k"] * np.sum(x)

    check(f, lambda x: anp.sum(act_a(x) ** 3) + 2.0 * anp.sum(x), (X(), {"act": act, "k": 2.0}))


def make_scaled(c):
    def h(z):
        return np.cos(c * z) * z
    return h


def test_closure_without_active_capture():
    def f(x, h):
        return np.sum(h(x) * h(x ** 2))

    def fa(x):
        return anp.sum(anp.cos(1.5 * x) * x * anp.cos(1.5 * x ** 2) * x ** 2)

    check(f, fa, (X(), make_scaled(1.5)))


def test_partial():
    def f(x, h):
        return np.sum(h(x) ** 2)

    check(f, lambda x: anp.sum((anp.sin(3.0 * x) * x ** 2) ** 2), (X(), functools.partial(scaled, c=3.0)))


class Model:
    def __init__(self, w):
        self.w = w

    def energy(self, z):
        return np.sum(np.log1p(self.w * z ** 2))


def test_method_of_object():
    def f(x, e):
        return e(x) * np.sum(x)

    w = np.abs(X(5, 9)) + 0.5
    check(f, lambda x: anp.sum(anp.log1p(w * x ** 2)) * anp.sum(x), (X(), Model(w).energy))


def test_vector_output_callee_and_matrix():
    def f(W, g):
        return np.sum(g(W @ np.ones(3))) * np.sum(g(W.T @ np.arange(4.0)) ** 2)

    def fa(W):
        return anp.sum(act_a(W @ anp.ones(3))) * anp.sum(act_a(W.T @ anp.arange(4.0)) ** 2)

    W = np.random.default_rng(4).normal(size=(4, 3))
    check(f, fa, (W, act))


def test_callee_calling_a_function_value():
    def outer(z, g):
        return g(z) * z

    def f(x, g):
        return np.sum(outer(x, g))

    def f2(x, o):
        return np.sum(o(x, act) ** 2)

    check(f, lambda x: anp.sum(act_a(x) * x), (X(), act))
    check(f2, lambda x: anp.sum((act_a(x) * x) ** 2), (X(), outer))


def flatten_func(func, example):
    flat_example, unflatten = s2s.flatten(example)

    def flat_func(x, *args):
        return func(unflatten(x), *args)
    return flat_func, unflatten, flat_example


def test_flatten_func_star_call():
    def obj(p, scale):
        return np.sum(np.sin(p["a"]) * p["b"][0]) * scale + np.sum(p["b"] ** 3)

    example = {"a": np.ones(3), "b": np.arange(3.0)}
    ff, _, x0 = flatten_func(obj, example)
    from autograd.misc.flatten import flatten_func as ag_flatten_func
    fa_flat, _, ax0 = ag_flatten_func(lambda p, s: anp.sum(anp.sin(p["a"]) * p["b"][0]) * s
                                      + anp.sum(p["b"] ** 3), example)
    np.testing.assert_array_equal(ax0, x0)  # the same order of the parts
    v = X(6, 2)
    x = x0 + 0.3 * X(6, 5)
    got = s2s.hvp(ff)(x, 2.0, v)
    np.testing.assert_allclose(got, fd_hvp(ff, (x, 2.0), v), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, autograd.hessian_vector_product(fa_flat)(x, 2.0, v), rtol=1e-9)
    np.testing.assert_allclose(s2s.hessian(ff)(x, 2.0), np.reshape(autograd.hessian(fa_flat)(x, 2.0), (6, 6)), rtol=1e-9)


def test_loop_of_function_values():
    def f(x, g):
        t = x
        for _ in range(3):
            t = g(t) + x
        return np.sum(t ** 2)

    def fa(x):
        t = x
        for _ in range(3):
            t = act_a(t) + x
        return anp.sum(t ** 2)

    x, v = X(), X(5, 8)
    got = s2s.hvp(f)(x, act, v)  # forward over forward (the pullbacks sit on a tape); a refusal fails this test
    np.testing.assert_allclose(got, autograd.hessian_vector_product(fa)(x, v), rtol=1e-9)
    np.testing.assert_allclose(got, fd_hvp(f, (x, act), v), rtol=1e-5, atol=1e-6)


def test_active_callee_refused():
    def f(x):
        h = functools.partial(scaled, c=x[0])
        return np.sum(h(x))

    with pytest.raises(S2SError):
        s2s.hvp(f)(X(), X(5, 1))


def test_float32():
    x = X().astype(np.float32)
    v = X(5, 3).astype(np.float32)
    got = s2s.hvp(through)(x, act, v)
    expected = autograd.hessian_vector_product(
        lambda x: anp.sum(act_a(x * 2.0) ** 2) + anp.sum(anp.exp(act_a(x))))(x.astype(float), v.astype(float))
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3)


def test_zero_d_and_empty():
    def f(x, g):
        return np.sum(g(x) ** 2)

    check(f, lambda x: anp.sum(act_a(x) ** 2), (np.array(0.7), act))
    assert s2s.hvp(f)(np.zeros(0), act, np.zeros(0)).shape == (0,)


# ---- linked derivatives of user functions (helper_vjp) under forward mode, found on the way --------------


def h(z, c=2.0):
    return np.tanh(c * z) * z


def test_user_helpers_forward_over_reverse():
    def hs(*zs):
        return np.sum(zs[0] * np.sin(zs[1]))

    def hk(z, **kw):
        return np.sum(np.sin(z) * kw["c"])

    def f(x, unused):
        return hs(x, x ** 2) ** 2 + hk(x, c=x) * np.sum(h(x, 3.0)) + np.sum(h(h(x)))

    def fa(x):
        return (anp.sum(x * anp.sin(x ** 2)) ** 2 + anp.sum(anp.sin(x) * x) * anp.sum(anp.tanh(3 * x) * x)
                + anp.sum(anp.tanh(2 * anp.tanh(2 * x) * x) * anp.tanh(2 * x) * x))

    check(f, fa, (X(4, 6) / 3, None))


def test_helper_in_loop_falls_back_and_is_right():
    # the loop keeps the helper's pullbacks on its tape: forward over reverse is refused, hvp runs forward
    # over forward instead (same numbers)
    def f(x, g):
        t = x
        for _ in range(3):
            t = g(t) + x
        return np.sum(t ** 2)

    def fa(x):
        t = x
        for _ in range(3):
            t = anp.tanh(1.5 * t) * t + x
        return anp.sum(t ** 2)

    check(f, fa, (X(3, 2) / 3, functools.partial(h, c=1.5)), forward_over_reverse=False)


def test_grad_of_grad_through_function_value():
    def f(x, g):
        return g(x) * g(x * x)

    def fa(x):
        return anp.sin(x) * anp.sin(x * x)

    for x in (0.3, -1.1):
        got = s2s.grad(s2s.grad(f))(x, np.sin)
        assert float(got) == pytest.approx(float(autograd.grad(autograd.grad(fa))(x)), rel=1e-10)


def test_custom_rule_in_callee_refused():
    @s2s.custom_vjp
    def sq(x):
        return x ** 2

    sq.defvjp(lambda x: (x ** 2, x), lambda x, g: (2 * x * g,))

    def helper(z):
        return np.sum(sq(z) * z)

    def f(x, h):
        return h(x) * 2.0

    with pytest.raises(s2s.NoDerivativeRuleError, match="once more"):
        s2s.hvp(f)(X(3), helper, X(3, 1))
