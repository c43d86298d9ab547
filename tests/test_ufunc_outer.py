"""The outer method of two-argument ufuncs (`np.subtract.outer(x, y)`): every one with a rule, against central
differences in reverse and forward mode, over shapes of zero to two axes each, through the ways a program names
the ufunc; and the generated adjoint (F's own, with `a` reshaped to broadcast against all of b's axes)."""

import numpy as np
import pytest
from helpers_fd import assert_close, check_grad
from numpy import subtract
from test_functions_as_values import jvp_check

import s2s
from s2s import rules

DIFFERENTIABLE = sorted((u for u in vars(np).values() if isinstance(u, np.ufunc) and u.nin == 2
                         and rules.lookup(u.outer) is not None and not rules.lookup(u.outer).nondiff),
                        key=lambda u: u.__name__)
SHAPES = [((3,), (4,)), ((2, 3), (4,)), ((3,), (2, 2)), ((), (3,)), ((2,), ())]


def _args(shapes, seed, ufunc=None):
    rng = np.random.default_rng(seed)
    a = 0.5 + rng.uniform(size=shapes[0])  # positive and away from 0 (power, logs, fmod's kinks at multiples)
    if ufunc is np.ldexp:  # (its exponents are ints: derivative zero)
        b = rng.integers(-3, 4, size=shapes[1])
        return (float(a) if shapes[0] == () else a), (int(b) if shapes[1] == () else b)
    b = 0.7 + rng.uniform(size=shapes[1])
    return (float(a) if shapes[0] == () else a), (float(b) if shapes[1] == () else b)


def _program(ufunc):
    def f(a, b):
        return np.sum(np.sin(ufunc.outer(a, b)) * np.cos(ufunc.outer(a, b) * 0.7))
    return f


def test_every_two_argument_ufunc_with_a_rule_has_its_outer_form():
    names = {u.__name__ for u in DIFFERENTIABLE}
    assert {"add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "hypot", "arctan2",
            "logaddexp"} <= names
    with pytest.raises(s2s.NoDerivativeRuleError):  # (a gufunc: numpy refuses its outer; no rule was made for it)
        s2s.grad(lambda a: np.sum(np.matmul.outer(a, a)))(np.ones(2))


@pytest.mark.parametrize("ufunc", DIFFERENTIABLE, ids=lambda u: u.__name__)
@pytest.mark.parametrize("shapes", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_gradients_against_differences(ufunc, shapes):
    f = _program(ufunc)
    a, b = _args(shapes, seed=len(ufunc.__name__) + 7 * len(shapes[0]) + len(shapes[1]), ufunc=ufunc)
    if ufunc is np.ldexp:
        check_grad(s2s.grad(f)(a, b), f, (a, b), wrt=0)
        return
    ga, gb = s2s.grad(f, wrt=(0, 1))(a, b)
    assert np.shape(ga) == np.shape(a) and np.shape(gb) == np.shape(b)
    check_grad(ga, f, (a, b), wrt=0)
    check_grad(gb, f, (a, b), wrt=1)
    general = s2s.derivative(f, wrt=(0, 1))(a, b)  # the general code computes the same numbers
    assert_close(general[0], ga, rtol=1e-10, atol=1e-12)
    assert_close(general[1], gb, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("ufunc", DIFFERENTIABLE, ids=lambda u: u.__name__)
def test_tangents_against_differences(ufunc):
    a, b = _args(((2, 3), (4,)), seed=3, ufunc=ufunc)
    if ufunc is np.ldexp:  # (int exponents: a tangent in the mantissas alone)
        jvp_check(lambda a: _program(ufunc)(a, b), (a,), 0)
        return
    jvp_check(_program(ufunc), (a, b), 0)
    jvp_check(_program(ufunc), (a, b), 1)


sub = np.subtract


def pairwise_energy(x, y):
    # the ufunc through another name, a list argument, and the outer result reduced along one axis
    d = sub.outer(x, y)
    near = np.exp(-np.multiply.outer(x, [1.0, 2.0]) ** 2)
    return np.sum(np.log1p(d ** 2), axis=1) @ near[:, 0] + np.sum(np.maximum.outer(x, y) * 0.3)


def softmin_distances(x, y):
    ops = {"diff": subtract}
    d = ops["diff"].outer(x, y) ** 2
    return -np.sum(np.log(np.sum(np.exp(-d), axis=1)))


@pytest.mark.parametrize("f", [pairwise_energy, softmin_distances], ids=lambda f: f.__name__)
def test_programs_using_outer(f):
    x = np.array([0.3, -1.1, 0.8, 1.9])
    y = np.array([0.5, -0.2, 1.4])
    for wrt in (0, 1):
        check_grad(s2s.grad(f, wrt=wrt)(x, y), f, (x, y), wrt=wrt)
    jvp_check(f, (x, y), 0)


def test_the_specialised_adjoint_sums_over_the_other_arguments_axes():
    def f(a, b):
        return np.sum(np.sin(np.multiply.outer(a, b)))

    a, b = np.ones(3), np.ones((2, 4))
    text = s2s.source(s2s.grad(f, wrt=(0, 1)), a, b)
    assert "a_bar = (outer_bar * b).sum(axis=(1, 2))" in text
    assert "outer_operand" not in text and "outer_reduced" not in text


def test_hessian_of_an_outer_product():
    def f(x):
        return np.sum(np.tanh(np.subtract.outer(x, x * x)) ** 2)

    x = np.array([0.3, -0.6, 0.9])
    h = s2s.hessian(f)(x)
    eps = 1e-5
    grad = s2s.grad(f)
    fd = np.array([(grad(x + eps * e) - grad(x - eps * e)) / (2 * eps) for e in np.eye(3)])
    assert_close(h, fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ufunc", [np.greater, np.equal, np.floor_divide], ids=lambda u: u.__name__)
def test_outer_of_a_comparison_carries_no_derivative(ufunc):
    def f(x):
        return np.sum(ufunc.outer(x, x[::-1]) * x)

    x = np.array([0.3, -1.1, 0.8, 1.9])
    check_grad(s2s.grad(f)(x), f, (x,))


def test_the_tangent_of_a_sum_outer_product_has_the_result_s_shape():
    # (helper 181: the tangent of `np.subtract.outer(x, c)` in x alone kept x's shape, so a sum over it was short)
    c = np.array([1.0, 2.0, 3.0])

    def f(x):
        return np.sum(np.subtract.outer(x, c).sum(axis=1) ** 2)

    x = np.array([0.5, 1.5])
    assert_close(s2s.hessian(f)(x), np.diag([18.0, 18.0]), rtol=1e-12, atol=1e-12)
    for ufunc in (np.add, np.subtract):
        def g(a, ufunc=ufunc):
            return np.sum(np.sin(ufunc.outer(c, a).T) * np.arange(6.0).reshape(2, 3))
        jvp_check(g, (x,), 0)
        jvp_check(lambda a, ufunc=ufunc: np.sum(ufunc.outer(a, c)), (x,), 0)


def test_a_list_exponent_or_base():
    x = np.array([1.0, 2.0, 3.0])
    for f in (lambda v: np.sum(np.power.outer(v, [1, 2, 3])), lambda v: np.sum(np.power(v, [1, 2, 3])),
              lambda v: np.sum(np.power([1.5, 2.0, 3.0], v)), lambda v: np.sum(np.float_power.outer([1.5, 2.0], v))):
        check_grad(s2s.grad(f)(x), f, (x,))
