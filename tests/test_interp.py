"""np.interp(x, xp, fp, left, right) differentiated with respect to each argument (s2s/runtime/signal.py
`grad_interp`): piecewise linear in x and xp, linear in fp; outside [xp[0], xp[-1]] the value is left / right
(fp's ends where None), so x has no slope there. At a knot, where the slope jumps, x takes the interval after it.
period= and complex values are refused, and so is a Hessian through it (the adjoint helper has no derivative)."""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s
from s2s.errors import NoDerivativeRuleError, UnsupportedSyntaxError

XP = np.array([0.0, 0.5, 1.3, 2.0, 3.1])
FP = np.random.default_rng(51).normal(size=5)
X = np.array([-0.5, 0.2, 0.7, 1.9, 2.5, 3.5, 1.1])


def squared(x, xp, fp):
    return np.sum(np.interp(x, xp, fp) ** 2)


def with_ends(x, xp, fp, left, right):
    return np.sum(np.sin(np.interp(x, xp, fp, left, right)))


def on_a_grid(x, fp):
    return np.sum(np.interp(x, np.linspace(0.0, 3.0, 5), fp) * np.cos(x))


def periodic(x, fp):
    return np.sum(np.interp(x, XP, fp, period=3.0))


@pytest.mark.parametrize("k", [0, 1, 2])
def test_each_argument(k):
    args = (X, XP, FP)
    np.testing.assert_allclose(s2s.grad(squared, wrt=k)(*args), fd_grad(squared, args, wrt=k), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(s2s.derivative(squared, wrt=k)(*args), fd_grad(squared, args, wrt=k), rtol=1e-6,
                               atol=1e-7)


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4])
def test_left_and_right(k):
    args = (X, XP, FP, -0.3, 0.8)
    got = s2s.grad(with_ends, wrt=k)(*args)
    np.testing.assert_allclose(got, fd_grad(with_ends, args, wrt=k), rtol=1e-6, atol=1e-7)


def test_a_number_a_matrix_and_a_grid():
    assert s2s.grad(squared)(1.1, XP, FP) == pytest.approx(float(fd_grad(squared, (1.1, XP, FP))), rel=1e-6)
    x2 = X[:6].reshape(2, 3)
    np.testing.assert_allclose(s2s.grad(squared)(x2, XP, FP), fd_grad(squared, (x2, XP, FP)), rtol=1e-6, atol=1e-7)
    for k in (0, 1):
        np.testing.assert_allclose(s2s.grad(on_a_grid, wrt=k)(X, FP), fd_grad(on_a_grid, (X, FP), wrt=k),
                                   rtol=1e-6, atol=1e-7)


def test_tangents():
    t = (np.ones(7), 0.1 * np.arange(5.0), np.random.default_rng(52).normal(size=5))
    expected = sum(np.sum(fd_grad(squared, (X, XP, FP), wrt=k) * t[k]) for k in range(3))
    assert s2s.jvp(squared, (X, XP, FP), t)[1] == pytest.approx(expected, rel=1e-6)
    t5 = (*t, 0.7, -1.2)
    expected = sum(np.sum(fd_grad(with_ends, (X, XP, FP, -0.3, 0.8), wrt=k) * t5[k]) for k in range(5))
    assert s2s.jvp(with_ends, (X, XP, FP, -0.3, 0.8), t5)[1] == pytest.approx(expected, rel=1e-6)


def test_knots_nan_and_one_point():
    at_knots = XP.copy()  # (the slope after each knot; the last knot's, before it)
    slopes = np.diff(FP) / np.diff(XP)
    expected = 2 * FP * np.append(slopes, slopes[-1])
    np.testing.assert_allclose(s2s.grad(squared)(at_knots, XP, FP), expected, rtol=1e-12)
    with_nan = np.array([0.2, np.nan])
    g = s2s.grad(squared, wrt=(0, 2))(with_nan, XP, FP)
    assert g[0][1] == 0.0 and np.isfinite(g[0][0])  # (NaN x: the value is NaN, its slope taken as 0)
    one = s2s.grad(squared, wrt=2)(np.array([0.5, 1.0]), np.array([1.0]), np.array([2.0]))
    np.testing.assert_allclose(one, [8.0])  # (one point: fp[0] everywhere)


def test_period_complex_and_hessians_are_refused():
    with pytest.raises(UnsupportedSyntaxError, match="period"):
        s2s.grad(periodic)(X, FP)
    with pytest.raises(NoDerivativeRuleError):
        s2s.grad(squared, wrt=2)(X, XP, FP + 1j)
    with pytest.raises(NoDerivativeRuleError) as info:
        s2s.hessian(squared)(X, XP, FP)
    assert "test_interp.py\"" in str(info.value) and "np.interp(" in str(info.value).split("\n")[2]


def weighted(x, xp, fp):
    return np.sum(np.interp(x, xp, fp) * np.arange(1.0, 1.0 + np.size(x)))


def test_fp_gradient_at_infinite_nan_and_repeated_last_knot():
    # (helper 164: an x at ±inf made fp's gradient NaN everywhere, 0 * inf in its share; a repeated last knot, the
    # zero-width interval before it, 0 / 0; np.interp is linear in fp, so its gradient always exists)
    xp, fp = np.array([0.0, 1.0, 2.5, 4.0]), np.array([1.0, -2.0, 3.0, 0.5])
    np.testing.assert_array_equal(s2s.grad(weighted, wrt=2)(np.array([np.inf, -np.inf, 1.5]), xp, fp), [2, 2, 1, 1])
    np.testing.assert_array_equal(s2s.grad(weighted, wrt=2)(np.array([np.nan, 0.5, 1.5]), xp, fp), [1, 3, 1, 0])
    repeated, values = np.array([0.0, 1.0, 1.0]), np.array([0.0, 2.0, 5.0])
    x = np.array([1.0, 0.5])
    assert np.interp(1.0, repeated, values) == 5.0  # (NumPy gives fp[-1] at the last knot)
    np.testing.assert_array_equal(s2s.grad(weighted, wrt=2)(x, repeated, values), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(s2s.grad(weighted, wrt=2)(x, repeated, values), fd_grad(weighted, (x, repeated, values), 2))


def test_an_empty_x_gives_float_gradients():
    xp, fp = np.array([0.0, 1.0, 2.5]), np.array([1.0, -2.0, 3.0])
    for g in s2s.grad(weighted, wrt=(1, 2))(np.zeros(0), xp, fp):
        assert g.dtype == np.float64 and np.all(g == 0.0)
