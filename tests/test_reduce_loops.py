"""functools.reduce(f, items[, initial]) written as the loop it runs (transforms/reduce_loops.py): helper 187
found `h = reduce(lambda acc, W: np.tanh(acc @ W), weights, x)` refused with a message naming a made-up name."""

import functools
from functools import reduce

import numpy as np
import pytest

import s2s
from tests.conftest import check_grad, numeric_grad

R = np.random.default_rng(187)
WEIGHTS = [R.normal(size=(3, 3)) * 0.8 for _ in range(3)]
X = R.normal(size=3)


def tanh_net(weights, x):
    h = reduce(lambda acc, W: np.tanh(acc @ W), weights, x)
    return np.sum(h ** 2)


def matrix_chain(mats, v):
    return np.sum(functools.reduce(np.dot, mats) @ v)


def running_product(xs):
    return reduce(lambda a, b: a * b, xs)


def leaky_layer(h, W):
    z = h @ W
    return np.maximum(z, 0.1 * z)


def layers_by_helper(weights, x):
    out = reduce(leaky_layer, weights, x)
    return np.sum(out)


def over_rows(A):
    return reduce(lambda acc, row: acc + np.sin(row) * acc, A, 1.0).sum()


def over_a_generator(xs):
    buf = [1.0]

    def f(a, b):
        buf.append(a)
        return a * b
    return reduce(f, (v + buf[-1] for v in xs), 1.0)


def in_branches(x):
    if np.sum(x) > 0:
        y = reduce(lambda a, b: a * b, x)
    else:
        y = reduce(lambda a, b: a + b * b, x, 1.0)
    return y


def per_row(A):
    s = 0.0
    for row in A:
        s = s + reduce(lambda a, b: a * np.cos(b), row, 1.0)
    return s


def over_enumerate_and_map(x):
    return reduce(lambda a, p: a + p[0] * p[1], enumerate(x), 0.0) * reduce(lambda a, b: a * b, map(np.sin, x))


def reduced_in_a_test(x):
    if reduce(lambda a, b: a + b, x, 0.0) > 0:
        return np.sum(x ** 2)
    return np.sum(x)


@pytest.mark.parametrize("f", [tanh_net, matrix_chain, layers_by_helper])
def test_gradients_of_the_list_of_weights(f):
    got = s2s.grad(f, wrt=0)(WEIGHTS, X)
    for k, W in enumerate(WEIGHTS):
        def of_one(Wk, k=k):
            return f(WEIGHTS[:k] + [Wk] + WEIGHTS[k + 1:], X)
        np.testing.assert_allclose(got[k], numeric_grad(of_one, (W,)), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f, args, wrt", [
    (tanh_net, (WEIGHTS, X), 1), (matrix_chain, (WEIGHTS, X), 1), (running_product, (np.array([1.5, 2.0, -0.5]),), 0),
    (layers_by_helper, (WEIGHTS, X), 1), (over_rows, (R.normal(size=(4, 3)),), 0),
    (reduced_in_a_test, (R.normal(size=4),), 0), (in_branches, (R.normal(size=4),), 0),
    (in_branches, (-np.abs(R.normal(size=4)),), 0), (per_row, (R.normal(size=(3, 4)),), 0),
    (over_enumerate_and_map, (R.normal(size=4),), 0),
])
def test_gradients_match_differences_and_autograd(f, args, wrt):
    check_grad(f, *args, wrt=wrt)


def test_forward_mode_and_hessian():
    x = R.normal(size=3)
    np.testing.assert_allclose(s2s.jacfwd(tanh_net, wrt=1)(WEIGHTS, x), numeric_grad(tanh_net, (WEIGHTS, x), 1),
                               rtol=1e-6)
    np.testing.assert_allclose(s2s.hessian(running_product)(np.array([1.5, 2.0, -0.5])),
                               [[0.0, -0.5, 2.0], [-0.5, 0.0, 1.5], [2.0, 1.5, 0.0]], atol=1e-12)


def test_no_items_and_no_initial_value_raise_reduce_s_error():
    with pytest.raises(TypeError, match="reduce\\(\\) of empty iterable with no initial value"):
        running_product(np.array([]))
    with pytest.raises(TypeError, match="reduce\\(\\) of empty iterable with no initial value"):
        s2s.grad(running_product)(np.array([]))


def test_the_loop_is_in_the_printed_code():
    src = s2s.source(s2s.grad(tanh_net, wrt=1), WEIGHTS, X)
    assert "for k in range(3)" in src and "np.tanh" in src and "reduce" not in src.split("# h = reduce")[0], src


def chosen_reduce(x, flag):
    return np.sum(x) if flag else reduce(lambda a, b: a + b, x, 0.0)


def after_a_call_of_yours(x):
    return leaky_layer(x, np.eye(3)).sum() + reduce(lambda a, b: a + b, x, 0.0)


def after_an_item_read(x):
    buf = [1.0]

    def f(acc, v):
        buf[0] = acc
        return acc * v
    return buf[0] * x[0] + reduce(f, x, 1.0)


def into_an_item(x):
    a = [0.5]

    def f(acc, v):
        a[0] = acc * 3.0
        return acc * v
    a[0] += reduce(f, x, 1.0)
    return a[0]


@pytest.mark.parametrize("f, args", [(chosen_reduce, (X, False)), (after_a_call_of_yours, (X,)),
                                     (after_an_item_read, (X,)), (into_an_item, (X,))])
def test_a_reduce_the_loop_cannot_go_before_is_refused_with_a_hint(f, args):
    """Helper 188: `buf[0] * x[0] + reduce(f, ...)` read buf[0] after f had changed it (a value of -1.456 for
    -0.469): what the statement computes before the reduce must be names, literals or modules' attributes."""
    with pytest.raises(s2s.UnsupportedSyntaxError, match="functools.reduce") as err:
        s2s.grad(f)(*args)
    assert "acc = reduce(f, items, start)" in str(err.value)


def test_a_generator_s_items_are_not_computed_ahead_of_the_calls():
    """Helper 188: the items of a generator expression were listed first, so one reading what f changes gave
    another value (-0.969 for -1.326); such a generator is refused, as a loop over one is."""
    with pytest.raises(s2s.UnsupportedSyntaxError, match="generator expression"):
        s2s.grad(over_a_generator)(X)
