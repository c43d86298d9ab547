"""Closures returned by helpers: a function value whose cells hold differentiated values (issue 15).

The call through such a value is differentiated with the closure's free variables as extra parameters
(s2s.call_closure_vjp); the function value's adjoint (a FunctionAdjoint, free name -> adjoint) flows back
to the values captured where the closure was made. Checked against central differences and autograd.
"""

import functools

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from helpers_fd import assert_close, fd_grad

import s2s
from s2s.errors import S2SError

RNG = np.random.default_rng(15)


def scaler(c):
    def h(t):
        return c * np.sin(t)
    return h


def a_scaler(c):
    def h(t):
        return c * anp.sin(t)
    return h


def affine(w, b):
    return lambda t: np.tanh(t @ w + b)


def a_affine(w, b):
    return lambda t: anp.tanh(anp.dot(t, w) + b)


def fixed_point(f, a, x0, distance, tol):
    step = f(a)
    x, x_prev = step(x0), x0
    while distance(x, x_prev) > tol:
        x, x_prev = step(x), x
    return x


def descent_step(a):
    return lambda x: x - 0.05 * (x ** 2 - a)


def check(f, af, *args, wrt=0):
    got = s2s.grad(f, wrt=wrt)(*args)
    assert_close(got, fd_grad(f, args, wrt=wrt), rtol=1e-5, atol=1e-6)
    assert_close(got, autograd.grad(af, wrt)(*args), rtol=1e-9, atol=1e-12)
    return got


@pytest.mark.parametrize("n", [1, 4, 7])
def test_closure_from_helper_over_an_argument_part(n):
    def f(x):
        g = scaler(x[0])
        return np.sum(g(x))

    def af(x):
        g = a_scaler(x[0])
        return anp.sum(g(x))

    check(f, af, RNG.normal(size=n))


def test_closure_over_two_matrices_called_twice():
    def f(w, b, x):
        layer = affine(w, b)
        return np.sum(layer(layer(x)) ** 2)

    def af(w, b, x):
        layer = a_affine(w, b)
        return anp.sum(layer(layer(x)) ** 2)

    w, b, x = RNG.normal(size=(3, 3)), RNG.normal(size=3), RNG.normal(size=(5, 3))
    for wrt in (0, 1, 2):
        check(f, af, w, b, x, wrt=wrt)


def test_fixed_point_of_a_closure_made_by_a_function_passed_in():
    def distance(x, y):
        return np.abs(x - y)

    def sqrt(a):
        return fixed_point(descent_step, a, 10.0, distance, 1e-4)

    def a_distance(x, y):
        return anp.abs(x - y)

    def a_sqrt(a):
        return fixed_point(descent_step, a, 10.0, a_distance, 1e-4)

    got = check(sqrt, a_sqrt, 2.0)
    assert abs(got - 0.5 / np.sqrt(2.0)) < 5e-3


def test_closure_made_in_the_function_itself_and_passed_to_a_helper():
    def apply(g, x):
        return g(x) * x

    def f(x):
        c = np.cos(x[1])
        g = lambda t: c * t ** 2  # noqa: E731
        return np.sum(apply(g, x))

    def af(x):
        c = anp.cos(x[1])
        g = lambda t: c * t ** 2  # noqa: E731
        return anp.sum(apply(g, x))

    check(f, af, RNG.normal(size=4))


def test_closure_unused_gives_zero_through_its_cells():
    def f(x):
        g = scaler(x[0])
        h = g if x[0] > 100 else None
        return np.sum(x ** 2) + (0.0 if h is None else 1.0)

    x = RNG.normal(size=3)
    assert_close(s2s.grad(f)(x), 2 * x)


def test_float32_closure():
    def f(x):
        g = scaler(x[0])
        return np.sum(g(x))

    x = RNG.normal(size=3).astype(np.float32)
    got = s2s.grad(f)(x)
    assert got.dtype == np.float32
    assert_close(got, fd_grad(f, (x.astype(np.float64),)), rtol=1e-4, atol=1e-5)


def holder(c):
    return lambda t: c[0] * t


def test_closure_over_a_list_is_refused():
    def f(x):
        g = holder([x[0], x[1]])
        return np.sum(g(x))

    with pytest.raises(S2SError, match="closure holds only|float numbers and arrays"):
        s2s.grad(f)(RNG.normal(size=3))


def test_partial_over_a_differentiated_value_is_refused():
    def mul(a, t):
        return a * t

    def f(x):
        g = functools.partial(mul, x[0])
        return np.sum(g(x))

    with pytest.raises(S2SError):
        s2s.grad(f)(RNG.normal(size=3))


def test_the_lambda_the_partial_refusal_proposes_works():
    def mul(a, t):
        return a * t

    def f(x):
        g = lambda t: mul(x[0], t)  # noqa: E731
        return np.sum(g(x))

    x = RNG.normal(size=3)
    got = s2s.grad(f)(x)
    assert_close(got, fd_grad(f, (x,)))
    assert_close(got, autograd.grad(f)(x))


def test_closure_called_with_keywords():
    def two(c):
        return lambda s, t: c * s + np.exp(t * c)

    def f(x):
        g = two(x[0])
        return np.sum(g(t=x, s=x ** 2))

    x = RNG.normal(size=4)
    got = s2s.grad(f)(x)
    assert_close(got, fd_grad(f, (x,)))
    assert_close(got, autograd.grad(lambda v: anp.sum(v[0] * v ** 2 + anp.exp(v * v[0])))(x), rtol=1e-9)


def doubled(c):
    g = scaler(c)
    return lambda t: g(t) * 2.0


def mutated_after(c):
    c2 = c * 1.0
    h = lambda t: np.sum(c2 * t)  # noqa: E731
    c2[0] = 5.0
    return h


def closures_in_a_list(x):
    fs = [scaler(x[0]), scaler(x[1])]
    return np.sum(fs[0](x) + fs[1](x))


def closures_made_in_a_loop(x):
    gs = []
    for i in range(3):
        gs.append(scaler(x[i]))
    total = 0.0
    for g in gs:
        total = total + np.sum(g(x))
    return total


def closure_chosen(x):
    g = scaler(x[0]) if x[1] > 0 else scaler(x[2])
    return np.sum(g(x))


def closure_aliased_and_composed(x):
    g, h = scaler(x[0]), scaler(x[1] ** 2)
    k = g
    return np.sum(k(h(x)) * g(x))


@pytest.mark.parametrize("f", [closures_in_a_list, closures_made_in_a_loop, closure_chosen,
                               closure_aliased_and_composed])
@pytest.mark.parametrize("seed", [0, 1])
def test_closures_through_containers_loops_branches_aliases(f, seed):
    x = np.random.default_rng(seed).normal(size=3)
    assert_close(s2s.grad(f)(x), fd_grad(f, (x,)), rtol=1e-5, atol=1e-6)


def test_closure_over_a_closure_holding_the_input_is_refused():
    def f(x):
        g = doubled(x[0])
        return np.sum(g(x))

    with pytest.raises(S2SError, match="holds `g`, a function"):
        s2s.grad(f)(RNG.normal(size=3))


def test_cell_updated_in_place_after_the_closure_is_made_is_refused():
    def f(x):
        h = mutated_after(x[:2] * 2.0)
        return h(x[:2])

    with pytest.raises(S2SError):
        s2s.grad(f)(RNG.normal(size=3))


def apply_to(g, x):
    return g(x) * x


def test_closure_passed_through_a_function_value_and_mapped():
    def through_default(x, ap=apply_to):
        g = scaler(x[0])
        return np.sum(ap(g, x))

    def mapped(x):
        g = scaler(x[0])
        return np.sum(list(map(g, x)))

    def a_through_default(x):
        return anp.sum(a_scaler(x[0])(x) * x)

    def a_mapped(x):
        return anp.sum(a_scaler(x[0])(x))

    x = RNG.normal(size=5)
    check(through_default, a_through_default, x)
    check(mapped, a_mapped, x)


def test_a_closure_made_outside_s2s_code_is_refused():
    import s2s.runtime as rt

    def made_outside(c):
        return lambda t: c * t

    outside = made_outside(np.float64(2.0))  # made by Python, not by s2s.local_function
    with pytest.raises(S2SError, match="was not made by a def or lambda"):
        rt.call_closure_vjp(outside, -1, (0,), np.ones(2))


def jvp_check(f, x, seed=3):
    v = np.random.default_rng(seed).normal(size=np.shape(x))
    _, tangent = s2s.jvp(f, (x,), (v,))
    assert_close(tangent, np.sum(fd_grad(f, (x,)) * v), rtol=1e-5, atol=1e-6)


def closure_of_the_input(x):
    g = scaler(x[0])
    return np.sum(g(x))


def closure_of_the_input_on_a_constant(x):
    g = scaler(x[0] * x[1])
    return np.sum(g(np.ones(3)))


def closure_over_two_matrices(x):
    layer = affine(np.reshape(x[:9], (3, 3)), x[9:12])
    return np.sum(layer(layer(np.ones((2, 3)))) ** 2)


@pytest.mark.parametrize("f,n", [(closure_of_the_input, 3), (closure_of_the_input_on_a_constant, 3),
                                 (closure_over_two_matrices, 12), (closures_in_a_list, 3),
                                 (closures_made_in_a_loop, 3), (closure_chosen, 3),
                                 (closure_aliased_and_composed, 3)])
def test_forward_mode_through_an_active_closure(f, n):
    jvp_check(f, RNG.normal(size=n))


def test_forward_mode_fixed_point():
    def distance(x, y):
        return np.abs(x - y)

    def sqrt(a):
        return fixed_point(descent_step, a, 10.0, distance, 1e-4)

    _, t = s2s.jvp(sqrt, (2.0,), (1.0,))
    assert_close(t, s2s.grad(sqrt)(2.0), rtol=1e-12)


def first_n(n, c):
    def h(t):
        return np.sum(c * t[:n])
    return h


def closure_over_an_empty_slice(x):
    g = scaler(x[:0])
    return np.sum(g(x[:0])) + np.sum(x)


def closure_over_a_0d_sum(x):
    g = scaler(np.sum(x))
    return g(np.float64(0.5))


def closure_with_an_int_cell(x):
    g = first_n(3, x[1:])
    return g(x)


def closure_of_a_closure_result(x):
    g = scaler(x[0])
    y = g(x)
    g2 = scaler(np.sum(y))
    return np.sum(g2(y))


def closure_called_in_a_loop(x):
    g = scaler(x[0])
    y = x
    for _ in range(3):
        y = g(y)
    return np.sum(y)


@pytest.mark.parametrize("f", [closure_over_an_empty_slice, closure_over_a_0d_sum, closure_with_an_int_cell,
                               closure_of_a_closure_result, closure_called_in_a_loop])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_closure_edge_cases_both_modes(f, dtype):
    x = np.random.default_rng(4).normal(size=4).astype(dtype)
    v = np.random.default_rng(5).normal(size=4).astype(dtype)
    tol = 1e-6 if dtype is np.float64 else 2e-3
    fd = fd_grad(f, (x.astype(np.float64),))
    got = s2s.grad(f)(x)
    assert got.dtype == dtype
    assert_close(got, fd, rtol=tol, atol=tol)
    _, t = s2s.jvp(f, (x,), (v,))
    assert_close(t, np.sum(fd * v.astype(np.float64)), rtol=tol, atol=tol)


def test_lambdas_made_in_a_loop_are_refused():
    def late(x):
        fs = []
        for i in range(3):
            fs.append(lambda t: t * x[i])  # Python's lambdas all see the last i
        return np.sum(fs[0](x))

    with pytest.raises(S2SError):
        s2s.grad(late)(RNG.normal(size=3))
