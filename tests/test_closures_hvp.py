"""Second derivatives through closures over differentiated values (s2s.runtime.closures_hvp): s2s.hessian,
s2s.hvp and grad of grad where the gradient code calls s2s.call_closure_vjp (forward over reverse), or the
tangent code s2s.call_closure_jvp (forward over forward, where a pullback is kept on a tape: loops calling
the closure, autograd's fixed_points). Against central differences of s2s.grad and autograd."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import test_closures as tc
from helpers_fd import assert_close

import s2s
from s2s import api
from s2s.errors import S2SError


def fd_hessian(f, x, eps=1e-5):
    """Central differences of s2s.grad, column by column."""
    g = s2s.grad(f)
    x = np.asarray(x, dtype=float)
    cols = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = eps
        cols.append((np.asarray(g(x + e)) - np.asarray(g(x - e))) / (2 * eps))
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0))


def forward_over_reverse(f, x, v):
    """The one-sweep tangent of the gradient code (raises where forward over reverse is refused)."""
    _, tangent = api.jvp(api.derivative(f, wrt=0), (x,), (v,))
    return tangent


def check(f, x, af=None, seed=5, one_sweep=None):
    """s2s.hessian and s2s.hvp of f against FD of s2s.grad (and autograd's af); `one_sweep` says whether
    forward over reverse takes it (True) or it falls back to forward over forward (False)."""
    v = np.random.default_rng(seed).normal(size=np.shape(x))
    fd = fd_hessian(f, x)
    H = s2s.hessian(f)(x)
    assert_close(H, fd, rtol=1e-6, atol=1e-7)
    assert_close(s2s.hvp(f)(x, v), fd @ v, rtol=1e-6, atol=1e-7)
    if af is not None:
        assert_close(H, autograd.hessian(af)(x), rtol=1e-10, atol=1e-12)
    if one_sweep is True:
        assert_close(forward_over_reverse(f, x, v), fd @ v, rtol=1e-6, atol=1e-7)
    elif one_sweep is False:
        with pytest.raises(S2SError):
            forward_over_reverse(f, x, v)


def sq_scaler(c):
    return lambda z: c * z ** 2


def the_briefs_example(x):
    return np.sum(sq_scaler(x[0])(x))


def a_the_briefs_example(x):
    return anp.sum(x[0] * x ** 2)


def test_closure_of_the_input_one_sweep():
    check(the_briefs_example, np.array([0.3, 0.5, -0.7]), a_the_briefs_example, one_sweep=True)


@pytest.mark.parametrize("f,n,one_sweep", [
    (tc.closure_of_the_input, 3, True), (tc.closure_of_the_input_on_a_constant, 3, True),
    (tc.closure_over_two_matrices, 12, True), (tc.closures_in_a_list, 3, True),
    (tc.closures_made_in_a_loop, 3, False), (tc.closure_chosen, 3, True),
    (tc.closure_aliased_and_composed, 3, True), (tc.closure_over_an_empty_slice, 4, True),
    (tc.closure_over_a_0d_sum, 4, True), (tc.closure_with_an_int_cell, 4, True),
    (tc.closure_of_a_closure_result, 4, True), (tc.closure_called_in_a_loop, 4, False)])
def test_closure_programs(f, n, one_sweep):
    check(f, np.random.default_rng(4).normal(size=n), one_sweep=one_sweep)


def make_layer(w, b):
    def g(z):
        return np.tanh(w * z + b)
    return g


def loop_through_a_closure(x):
    g = make_layer(x[1] ** 2, np.sin(x[0]))
    t = x
    for _ in range(3):
        t = g(t) * x
    return np.sum(t ** 2)


def a_loop_through_a_closure(x):
    w, b = x[1] ** 2, anp.sin(x[0])
    t = x
    for _ in range(3):
        t = anp.tanh(w * t + b) * x
    return anp.sum(t ** 2)


def test_loop_calling_the_closure_falls_back_to_forward_over_forward():
    check(loop_through_a_closure, np.array([0.2, -0.4, 0.3]), a_loop_through_a_closure, one_sweep=False)


def apply_twice(h, v):
    return h(h(v))


def closure_passed_to_a_helper(x):
    c = np.exp(x[2])
    h = lambda z: np.sin(c * z) + x[0] * z  # noqa: E731
    return np.sum(apply_twice(h, x)) * x[1]


def a_closure_passed_to_a_helper(x):
    c = anp.exp(x[2])
    h = lambda z: anp.sin(c * z) + x[0] * z  # noqa: E731
    return anp.sum(h(h(x))) * x[1]


def test_closure_passed_to_a_helper_one_sweep():
    check(closure_passed_to_a_helper, np.array([0.3, 0.4, 0.2]), a_closure_passed_to_a_helper, one_sweep=True)


def test_closure_called_with_keywords():
    def two(c):
        return lambda s, t: c * s + np.exp(t * c)

    def f(x):
        g = two(x[0])
        return np.sum(g(t=x, s=x ** 2))

    def af(x):
        return anp.sum(x[0] * x ** 2 + anp.exp(x * x[0]))

    check(f, np.random.default_rng(2).normal(size=4), af, one_sweep=True)


def test_closure_through_a_function_value_default_and_map():
    def through_default(x, ap=tc.apply_to):
        g = tc.scaler(x[0])
        return np.sum(ap(g, x))

    def mapped(x):
        g = tc.scaler(x[0])
        return np.sum(list(map(g, x)))

    x = np.random.default_rng(3).normal(size=4)
    check(through_default, x, lambda x: anp.sum(tc.a_scaler(x[0])(x) * x))
    check(mapped, x, lambda x: anp.sum(tc.a_scaler(x[0])(x)))


def distance(x, y):
    return np.abs(x - y)


def sqrt(a):
    return tc.fixed_point(tc.descent_step, a, 10.0, distance, 1e-4)


def a_sqrt(a):
    return tc.fixed_point(tc.descent_step, a, 10.0, lambda x, y: anp.abs(x - y), 1e-4)


@pytest.mark.parametrize("a", [2.0, 0.7, 5.0])
def test_grad_of_grad_of_a_fixed_point(a):
    # autograd's fixed_points example: the loop keeps the closure's pullbacks on its tape, so grad of grad
    # runs forward over forward of sqrt itself
    got = s2s.grad(s2s.grad(sqrt))(a)
    assert_close(got, autograd.grad(autograd.grad(a_sqrt))(a), rtol=1e-10, atol=1e-14)
    g, eps = s2s.grad(sqrt), 1e-6
    assert_close(got, (g(a + eps) - g(a - eps)) / (2 * eps), rtol=1e-5, atol=1e-8)
    assert_close(s2s.grad(s2s.grad(sqrt))(np.float64(a)), got, rtol=1e-15)  # the fallback, remembered


def test_hessian_of_a_vector_fixed_point():
    def f(x):
        root = tc.fixed_point(tc.descent_step, x, np.full(np.shape(x), 10.0),
                              lambda u, v: np.max(np.abs(u - v)), 1e-6)
        return np.sum(root * x)

    def af(x):
        root = tc.fixed_point(tc.descent_step, x, anp.full(anp.shape(x), 10.0),
                              lambda u, v: anp.max(anp.abs(u - v)), 1e-6)
        return anp.sum(root * x)

    check(f, np.array([2.0, 3.0, 1.5]), af, one_sweep=False)


@pytest.mark.parametrize("x", [0.7, -1.3])
def test_grad_of_grad_of_scalar_closures(x):
    def cube(x):
        return sq_scaler(x)(x)

    def layer(x, y):
        return make_layer(x, y)(x * y)

    assert_close(s2s.grad(s2s.grad(cube))(x), 6 * x, rtol=1e-12)
    expected = autograd.grad(autograd.grad(lambda x, y: anp.tanh(x * x * y + y)))(x, 0.9)
    assert_close(s2s.grad(s2s.grad(layer))(x, 0.9), expected, rtol=1e-10)
    mixed = autograd.grad(autograd.grad(lambda x, y: anp.tanh(x * x * y + y)), 1)(x, 0.9)
    assert_close(s2s.grad(s2s.grad(layer), wrt=1)(x, 0.9), mixed, rtol=1e-10)


def test_grad_of_grad_of_a_loop_with_another_parameter_stays_refused():
    # forward over forward stands in only for d2f/dx2 of f's own gradient: a mixed derivative through a
    # pullback kept on a tape is refused, not guessed
    def f(x, y):
        g = sq_scaler(y)
        t = x
        for _ in range(2):
            t = g(t) + x
        return t

    with pytest.raises(S2SError):
        s2s.grad(s2s.grad(f), wrt=1)(0.3, 0.8)


def test_float32():
    x = np.array([0.3, 0.5, -0.7], dtype=np.float32)
    H = s2s.hessian(tc.closure_called_in_a_loop)(x)
    assert_close(H, fd_hessian(tc.closure_called_in_a_loop, x.astype(np.float64)), rtol=2e-3, atol=2e-3)
    v = np.ones(3, dtype=np.float32)
    assert_close(s2s.hvp(the_briefs_example)(x, v), autograd.hessian(a_the_briefs_example)(x.astype(float)) @ v,
                 rtol=1e-5, atol=1e-5)


def test_closures_s2s_cannot_read_stay_refused():
    def over_a_list(x):
        g = tc.holder([x[0], x[1]])
        return np.sum(g(x))

    def over_a_closure(x):
        g = tc.doubled(x[0])
        return np.sum(g(x))

    for f in (over_a_list, over_a_closure):
        with pytest.raises(S2SError):
            s2s.hessian(f)(np.ones(3))
        with pytest.raises(S2SError):
            s2s.hvp(f)(np.ones(3), np.ones(3))


def test_mixed_derivative_through_a_closure_the_first_derivative_holds_constant():
    # grad with respect to x calls the closure over y as a plain function value (s2s.call_vjp); the second
    # derivative, with respect to y, differentiates through its cells (s2s.call_vjp_closure_jvp)
    def sin_scaler(c):
        return lambda z: c * np.sin(z) ** 2

    def f(x, y):
        g = sin_scaler(y)
        return np.sum(g(x) * x)

    def af(x, y):
        return anp.sum(y * anp.sin(x) ** 2 * x)

    assert_close(s2s.grad(s2s.grad(f), wrt=1)(0.3, 0.8), autograd.grad(autograd.grad(af), 1)(0.3, 0.8), rtol=1e-12)
    x, y = np.array([0.3, 0.5]), np.array([0.7, -0.2])
    H = s2s.hessian(f, wrt=(0, 1))(x, y)
    assert_close(H[0][1], autograd.jacobian(autograd.grad(af, 0), 1)(x, y), rtol=1e-12, atol=1e-14)
    assert_close(H[1][0], autograd.jacobian(autograd.grad(af, 1), 0)(x, y), rtol=1e-12, atol=1e-14)
    assert_close(H[0][0], autograd.hessian(af, 0)(x, y), rtol=1e-12, atol=1e-14)
    eps = 1e-6
    gx = s2s.grad(f)
    assert_close(H[0][1][:, 0], (gx(x, y + [eps, 0]) - gx(x, y - [eps, 0])) / (2 * eps), rtol=1e-6, atol=1e-8)
