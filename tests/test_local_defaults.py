"""Local functions with defaults and keyword-only parameters, called by their name (transforms/local_signatures.py):
each call is written with one positional argument per parameter, the defaults filled in, then expanded as any
local function is. Every form is checked against finite differences and forward mode; the forms where a call
might not see what the def saw are refused with the reason."""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s

X0 = np.linspace(0.2, 1.1, 4)


def keyword_only(x):
    def inner(y, *, scale=2.0, power=2):
        return np.sum((y * scale) ** power)
    return inner(x) + inner(x, power=3) + inner(x, scale=0.5, power=1)


def default_of_a_parameter(x, w=1.5):
    def g(z, w=w):
        return z * w
    return np.sum(g(x)) + np.sum(g(x, 2.0))


def lambda_with_default(x):
    g = lambda z, s=3.0: np.sin(z * s)  # noqa: E731
    return np.sum(g(x)) + np.sum(g(z=x, s=1.0))


def module_function_default(x):
    def act(z, fn=np.tanh):
        return fn(z)
    return np.sum(act(x)) + np.sum(act(x, np.sin))


def keyword_in_a_loop(x):
    def step(z, *, lr):
        z = z - lr * np.cos(z)
        return z
    for _ in range(3):
        x = step(x, lr=0.1)
    return np.sum(x ** 2)


def in_a_comprehension(x):
    def g(a, b=1.0):
        return a * b
    vals = [g(v) for v in x]
    return sum(vals) + np.sum(g(x, b=x))


def keywords_out_of_order_of_names(x):
    def g(a, *, b, c=0.5):
        return a * b + c * a
    y = np.cos(x)
    return np.sum(g(b=y, a=x))


@pytest.mark.parametrize("f", [keyword_only, default_of_a_parameter, lambda_with_default, module_function_default,
                               keyword_in_a_loop, in_a_comprehension, keywords_out_of_order_of_names])
def test_local_function_with_defaults_matches_finite_differences(f):
    g = s2s.grad(f)(X0.copy())
    np.testing.assert_allclose(g, fd_grad(f, [X0.copy()]), rtol=1e-6, atol=1e-8)
    t = np.linspace(-1.0, 1.0, 4)
    _, dot = s2s.jvp(f, (X0.copy(),), (t,))
    np.testing.assert_allclose(dot, g @ t, rtol=1e-9)


def rebound_after_the_def(x):
    w = 2.0
    def g(z, w=w):
        return z * w
    w = 5.0
    return np.sum(g(x)) + w


def used_as_a_value(x):
    def g(a, b=1.0):
        return a * b
    h = g
    return np.sum(h(x))


def keywords_out_of_order_with_calls(x):
    def g(a, *, b):
        return a * b
    return np.sum(g(b=np.sin(x), a=np.cos(x)))


@pytest.mark.parametrize("f, why", [(rebound_after_the_def, "its default `w` may not be the value"),
                                    (used_as_a_value, "`g` is used as a value"),
                                    (keywords_out_of_order_with_calls, "out of the parameters' order")])
def test_forms_a_call_might_see_otherwise_are_refused_with_the_reason(f, why):
    with pytest.raises(s2s.UnsupportedSyntaxError, match="defaults or keyword-only parameters") as info:
        s2s.grad(f)(X0.copy())
    assert why in str(info.value)


f = keyword_only  # (a global named as a local function's parameter: review 241)


def function_parameter(x):
    def g(z, f):
        return f(z)
    return np.sum(g(x, np.tanh)) + np.sum(g(x, np.sin))


def function_default(x):
    def act(z):
        return np.tanh(z)

    def layer(z, f=act, k=2.0):
        return f(z * k)
    return np.sum(layer(x)) + np.sum(layer(x, k=0.5))


@pytest.mark.parametrize("fn", [function_parameter, function_default])
def test_a_local_functions_parameter_is_its_own_not_a_global_of_that_name(fn):
    """Review 241: `def g(z, f): return f(z)` called as `g(x, np.tanh)` was read as calling the module's global `f`
    (here a function of this file), and refused as updating x."""
    np.testing.assert_allclose(s2s.grad(fn)(X0.copy()), fd_grad(fn, [X0.copy()]), rtol=1e-6, atol=1e-8)
