"""Calls of the operator module's functions written as the operators they are (transforms/operator_calls.py):
`functools.reduce(operator.mul, xs)` was refused ("no derivative rule for operator.mul"), and so was any direct
call. Against central differences and against the same program written with the operators."""

import functools
import operator
from operator import mul, neg

import numpy as np
import pytest

import s2s
from s2s import pipeline
from tests.conftest import check_grad

RNG = np.random.default_rng(59)


def product(xs):
    return functools.reduce(operator.mul, xs, 1.0)


def chained_matrices(x, W):
    return np.sum(functools.reduce(operator.matmul, [W, W, x]))


def mapped(x, y):
    return np.sum(list(map(operator.mul, x, y)))


def concatenated(x):
    items = operator.add([x[0], x[1]], [x[2] * 2.0])
    return sum(v ** 2 for v in items)


def imported_names(x):
    return np.sum(neg(mul(x, x)) + operator.truediv(x, operator.pow(x + 2.0, 2)))


def compared_and_indexed(x):
    return np.sum(np.where(operator.gt(x, 0.5), x ** 2, operator.getitem(x, 0)))


def by_operators(x):
    return np.sum(-(x * x) + x / (x + 2.0) ** 2)


def in_a_lambda(x):
    scale = lambda v: operator.mul(v, 2.0)  # noqa: E731
    return np.sum(scale(x) ** 2)


def reduce_of_a_map(x, y):
    return functools.reduce(operator.add, map(operator.mul, x, y))


def sum_of_a_map(x, y):
    return sum(map(operator.mul, x, y))


@pytest.mark.parametrize("f, args", [
    (in_a_lambda, (RNG.normal(size=3),)),
    (reduce_of_a_map, (RNG.normal(size=3), RNG.normal(size=3))),
    (sum_of_a_map, (RNG.normal(size=3), RNG.normal(size=3))),
    (product, (RNG.normal(size=4),)),
    (chained_matrices, (RNG.normal(size=3), RNG.normal(size=(3, 3)))),
    (mapped, (RNG.normal(size=3), RNG.normal(size=3))),
    (concatenated, (RNG.normal(size=3),)),
    (imported_names, (RNG.uniform(0.5, 1.5, size=(2, 3)),)),
    (compared_and_indexed, (np.array([0.2, 0.7, 1.3]),)),
], ids=["lambda", "reduce-of-map", "sum-of-map", "reduce-mul", "reduce-matmul", "map-mul", "list-add", "imported", "compare-getitem"])
def test_gradients_match_differences(f, args):
    for wrt in range(len(args)):
        check_grad(f, *args, wrt=wrt, ag=False)


def test_the_same_code_as_the_operators():
    x = RNG.uniform(0.5, 1.5, size=4)
    def code(f):  # (the comments quote each function's own line)
        lines = s2s.source(s2s.grad(f), x).replace(f"d{f.__name__}_dx", "df_dx").splitlines()
        return [line for line in lines if not line.strip().startswith("#")]

    assert code(imported_names) == code(by_operators)
    np.testing.assert_array_equal(s2s.grad(imported_names)(x), s2s.grad(by_operators)(x))
    stages = dict(pipeline.stages(product, wrt=("xs",)))
    assert "operator" not in stages["operator calls"].split("\n", 1)[1]
    assert s2s.hessian(product)(np.array([1.5, 2.0, 3.0]))[0, 1] == pytest.approx(3.0)


def test_names_of_the_function_s_own_are_not_the_module():
    class Ops:
        def mul(self, a, b):
            return a * b * 3.0

    def shadowed(x, operator):
        return np.sum(operator.mul(x, 2.0))

    np.testing.assert_array_equal(s2s.grad(shadowed)(np.ones(3), Ops()), np.full(3, 6.0))


def test_in_place_forms_stay_refused():
    def in_place(x):
        acc = np.zeros(3)
        operator.iadd(acc, x)
        return np.sum(acc ** 2)

    with pytest.raises((s2s.UnsupportedSyntaxError, s2s.NoDerivativeRuleError)):
        s2s.grad(in_place)(np.ones(3))


def test_operator_functions_as_values_keep_what_they_are():
    """Helper 196: every operator function named as a value had become a lambda, so `op is operator.mul`, a default
    `op=operator.mul` and a list of them were refused; only those given to map, filter or a key are lambdas."""
    def default_and_identity(x, op=operator.mul):
        scale = 2.0 if op is operator.mul else 3.0
        return np.sum(x * scale)

    def in_a_list(x):
        ops = [operator.add, operator.mul]
        return np.sum(x) * (2.0 if operator.mul in ops else 1.0)

    def sort_key(x):
        return np.sum(np.array(sorted(list(x), key=operator.neg)) * np.arange(3.0))

    x = np.array([0.3, -1.2, 0.7])
    np.testing.assert_array_equal(s2s.grad(default_and_identity)(x), np.full(3, 2.0))
    np.testing.assert_array_equal(s2s.grad(in_a_list)(x), np.full(3, 2.0))
    check_grad(sort_key, x, ag=False)
