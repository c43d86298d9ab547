"""Rules for Python's arithmetic operators on arrays and scalars, with broadcasting."""

import autograd.numpy as anp
import numpy as np
import pytest
from conftest import check_grad, rng

W = np.random.default_rng(400).normal(size=(4, 2, 3))  # broadcasts against every shape below


def f_add(x, y):
    r = x + y
    return np.sum(r * np.sin(r) * W)


def f_sub(x, y):
    r = x - y
    return np.sum(r * np.sin(r) * W)


def f_mul(x, y):
    r = x * y
    return np.sum(r * np.sin(r) * W)


def f_div(x, y):
    r = x / y
    return np.sum(r * np.sin(r) * W)


def f_pow(x, y):
    r = x ** y
    return np.sum(r * np.sin(r) * W)


def f_neg(x, y):
    r = -x * y
    return np.sum(r * np.sin(r) * W)


def f_pos(x, y):
    r = +x - (-y)
    return np.sum(r * np.sin(r) * W)


def f_combo(x, y):
    r = (x * y - x / (1.0 + y * y)) ** 2 + -y
    return np.sum(r * W)


def f_self(x, y):
    r = x * x + x / (x * x + 1.0) - x - x ** 3
    return np.sum(r * W) + np.sum(y * 0.0)


SHAPE_PAIRS = [((2, 3), (2, 3)), ((3,), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((4, 1, 3), (2, 1)),
               ((), (2, 3)), ((2, 3), ()), ((), ()), ((1,), (4, 2, 3)), ((4, 2, 3), (1, 1))]

OPS = [f_add, f_sub, f_mul, f_div, f_pow, f_neg, f_pos, f_combo, f_self]


def _ag_pos(x, y):  # autograd's boxes do not support unary +
    r = x - (-y)
    return anp.sum(r * anp.sin(r) * W)


AG = {f_pos: _ag_pos}


def _inputs(f, sx, sy, seed):
    g = rng(seed)
    if f is f_pow:
        x, y = g.uniform(0.4, 2.0, size=sx), g.uniform(-1.5, 1.5, size=sy)
    elif f is f_div:
        x, y = g.uniform(-2.0, 2.0, size=sx), g.uniform(0.5, 2.0, size=sy) * g.choice([-1.0, 1.0], size=sy)
    else:
        x, y = g.uniform(-2.0, 2.0, size=sx), g.uniform(-2.0, 2.0, size=sy)
    return (x if sx != () else float(x)), (y if sy != () else float(y))


@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
@pytest.mark.parametrize("f", OPS, ids=[f.__name__ for f in OPS])
def test_operator(f, shapes):
    x, y = _inputs(f, *shapes, seed=len(shapes[0]) * 10 + len(shapes[1]))
    check_grad(f, x, y, wrt=(0, 1), ag=AG.get(f))


@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((3,), (2, 3)), ((), (2, 3))], ids=str)
@pytest.mark.parametrize("f", OPS, ids=[f.__name__ for f in OPS])
def test_operator_single_wrt(f, shapes):
    x, y = _inputs(f, *shapes, seed=99)
    check_grad(f, x, y, wrt=0, ag=AG.get(f))
    check_grad(f, x, y, wrt=1, ag=AG.get(f))


# ---- constants on either side -------------------------------------------------------


def f_const_left(x):
    r = 2.0 + x
    r = 3.0 - r
    r = 0.5 * r
    r = 1.5 / (r + 4.0)
    r = 2.0 ** r
    return np.sum(r * W)


def f_const_right(x):
    r = x + 2.0
    r = r - 3.0
    r = r * 0.5
    r = r / 4.0
    r = (r * r + 1.0) ** 1.5
    return np.sum(r * W)


def f_int_power(x):
    return np.sum(x ** 2 * W + x ** 3 - x ** -1)


def f_array_const(x):
    return np.sum((x + W) * (W - x) / (W * W + 1.0) + W ** 2 * x)


@pytest.mark.parametrize("f", [f_const_left, f_const_right, f_int_power, f_array_const])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (4, 2, 3)], ids=str)
def test_constant_operands(f, shape):
    x = rng(5).uniform(0.5, 1.5, size=shape)
    check_grad(f, x if shape != () else float(x))


def test_pow_negative_base_integer_exponent():
    x = rng(6).uniform(-2.0, -0.5, size=(2, 3))
    check_grad(f_int_power, x)


def f_pow_zero_base(x, y):
    return np.sum(x ** y)


def test_pow_exponent_gradient_at_zero_base():
    # d/dy 0**y = 0 for y > 0; the rule must not produce nan from log(0)
    import s2s
    x = np.array([0.0, 1.5, 2.0])
    y = np.array([2.0, 1.5, 0.5])
    gy = s2s.grad(f_pow_zero_base, wrt=1)(x, y)
    assert np.all(np.isfinite(gy))
    np.testing.assert_allclose(gy, np.where(x > 0, x ** y * np.log(np.where(x > 0, x, 1.0)), 0.0))


# ---- matmul operator ------------------------------------------------------------------


def f_matmul(a, b):
    r = a @ b
    return np.sum(r * np.sin(r))


def f_matmul_chain(a, b):
    r = a @ b @ b.T
    return np.sum(r * r)


def f_matmul_const(a):
    return np.sum((a @ W[0].T) ** 2) + np.sum((W[0] @ a.T) ** 2)


@pytest.mark.parametrize("sa, sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)),
                                    ((4, 2, 3), (3, 2)), ((4, 2, 3), (4, 3, 2)), ((1, 2, 3), (4, 3, 2))], ids=str)
def test_matmul_operator(sa, sb):
    check_grad(f_matmul, rng(7).normal(size=sa), rng(8).normal(size=sb), wrt=(0, 1))


def test_matmul_chain_and_transpose():
    check_grad(f_matmul_chain, rng(9).normal(size=(2, 3)), rng(10).normal(size=(3, 4)), wrt=(0, 1),
               ag=lambda a, b: anp.sum((a @ b @ anp.transpose(b)) ** 2))


def test_matmul_constant():
    check_grad(f_matmul_const, rng(11).normal(size=(5, 3)))


# ---- augmented assignment ---------------------------------------------------------------


def f_augmented(x, y):
    r = x * 1.0
    r += y
    r *= x
    r -= 0.5 * y
    r /= (1.0 + y * y)
    r **= 2
    return np.sum(r * W)


def _ag_augmented(x, y):  # autograd cannot trace in-place updates of a plain ndarray
    r = x * 1.0
    r = r + y
    r = r * x
    r = r - 0.5 * y
    r = r / (1.0 + y * y)
    r = r ** 2
    return anp.sum(r * W)


@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 2, 3), ())], ids=str)
def test_augmented_assignment(shapes):
    sx, sy = shapes
    x = rng(12).normal(size=sx)
    y = rng(13).normal(size=sy) if sy != () else 0.3
    check_grad(f_augmented, x, y, wrt=(0, 1), ag=_ag_augmented)
