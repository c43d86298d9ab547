"""Lambdas and single-return functions defined inside the differentiated function."""

import numpy as np
import pytest
from helpers_fd import check_all

import s2s


def with_lambda_and_def(x, w):
    act = lambda z: np.tanh(z * w)  # noqa: E731 - the construct under test

    def sq(v):
        """Square."""
        return v * v

    return np.sum(act(x) + sq(act(2.0 * x)))


def late_binding(x):
    scale = 3.0
    h = lambda v: v * scale  # noqa: E731
    scale = 5.0  # a closure sees the latest value, and so does s2s
    return h(x) * x


def helper_in_loop(x):
    step = lambda v, k: np.sin(v) * k  # noqa: E731
    s = 0.0
    for k in range(3):
        s = s + np.sum(step(x, k + 1.0))
    return s


def multi_statement(x):
    def two(v):
        y = v * 2
        return y
    return two(x) * 3.0  # a multi-statement helper inside an expression


def statement_helper_in_loop(x, n):
    def step(v, k):
        """One step with an early return."""
        y = np.sin(v) * k
        if np.sum(y) > 0:
            return y * 2
        z = y - 1.0
        return z

    s = 0.0
    for i in range(n):
        t = step(x, i + 1.0)
        s = s + np.sum(t)
    return s


def statement_helper_shadowing(x):
    y = x * 3.0

    def helper(v):
        y = v * v  # the helper's own y: the enclosing y must not change
        y = y + v
        return y

    z = helper(x)
    return np.sum(z * y)


def passed_as_value(x):
    f = lambda v: v * v  # noqa: E731
    return sum(map(f, [x]))


@pytest.mark.parametrize("wrt", [0, 1])
def test_lambda_and_def_against_references(wrt):
    rng = np.random.default_rng(0)
    check_all(with_lambda_and_def, (rng.normal(size=4), 0.7), wrt=wrt)


def test_late_binding_matches_python():
    assert s2s.grad(late_binding)(1.5) == pytest.approx(2 * 5.0 * 1.5)


def test_helper_with_two_parameters_in_a_loop():
    check_all(helper_in_loop, (np.random.default_rng(1).normal(size=3),))


@pytest.mark.parametrize("seed", range(3))
def test_multi_statement_helper_with_early_return(seed):
    check_all(statement_helper_in_loop, (np.random.default_rng(seed).normal(size=3), 3))


def test_multi_statement_helper_keeps_its_locals_apart():
    check_all(statement_helper_shadowing, (np.random.default_rng(4).normal(size=3),))


@pytest.mark.parametrize("func", [multi_statement, passed_as_value])
def test_a_multi_statement_helper_in_an_expression_and_a_lambda_given_to_map(func):
    check_all(func, (1.3,))
