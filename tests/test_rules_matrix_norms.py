"""np.linalg.norm of matrices of orders 2, -2 (the largest and smallest singular values), 1, -1 (column sums of
magnitudes), inf, -inf (row sums) and 'nuc' given as a value (s2s/runtime/linalg.py `matrix_norm_slope`; refused
before stop 74, as autograd still does for all but 'nuc'): against central differences, autograd for 'nuc', in
both modes, batched over other axes, with keepdims; the spectral norm refused where its singular value is tied or 0,
and its second derivative refused; the piecewise-linear orders' second derivative zero."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s

ORDERS = [2, -2, 1, -1, np.inf, -np.inf, "nuc"]
RNG = np.random.default_rng(74)
A = RNG.normal(size=(4, 3))
B = RNG.normal(size=(2, 3, 4))




def matrix_norm(order):
    def f(x):
        return 1.5 * np.linalg.norm(x, order) + np.sum(x[0] ** 2)
    return f


def batched_norm(order):
    def f(x):
        return np.sum(np.linalg.norm(x, order, axis=(1, 2)) * np.array([1.0, -2.0]))
    return f


def kept_norm(order):
    def f(x):  # (the reduced axes in the other order, kept)
        return np.sum(np.linalg.norm(x, order, axis=(2, 0), keepdims=True) * np.arange(1.0, 4.0)[None, :, None])
    return f


@pytest.mark.parametrize("order", ORDERS, ids=str)
@pytest.mark.parametrize("make, x", [(matrix_norm, A), (batched_norm, B), (kept_norm, B)],
                         ids=["matrix", "batched", "keepdims"])
def test_matrix_norms_in_both_modes(order, make, x):
    f = make(order)
    want = fd_grad(f, (x,))
    for _ in range(2):  # (the code made, then the variant's)
        np.testing.assert_allclose(s2s.grad(f)(x), want, rtol=1e-6, atol=1e-7)
    v = RNG.normal(size=x.shape)
    np.testing.assert_allclose(s2s.jvp(f, (x,), (v,))[1], np.sum(want * v), rtol=1e-6, atol=1e-7)


def test_the_nuclear_norm_given_as_a_value_agrees_with_autograd():
    order = "nuc"
    np.testing.assert_allclose(s2s.grad(lambda x: np.linalg.norm(x, order))(A),
                               autograd.grad(lambda x: anp.linalg.norm(x, "nuc"))(A), rtol=1e-10)


@pytest.mark.parametrize("order", [2, -2], ids=str)
def test_a_tied_or_zero_singular_value_is_refused(order):
    with pytest.raises(s2s.NoDerivativeRuleError, match="tied with another"):
        s2s.grad(lambda x: np.linalg.norm(x, order))(np.diag([2.0, 2.0, 2.0]))
    if order == -2:
        with pytest.raises(s2s.NoDerivativeRuleError, match="is 0 or tied"):
            s2s.grad(lambda x: np.linalg.norm(x, order))(np.array([[1.0, 2.0], [2.0, 4.0]]))


@pytest.mark.parametrize("order", [1, -1, np.inf, -np.inf], ids=str)
def test_the_piecewise_linear_orders_have_no_curvature(order):
    f = matrix_norm(order)
    h = s2s.hessian(f)(A)
    want = np.zeros(A.shape * 2)
    want[0, :, 0, :] = 2.0 * np.eye(3)  # (of the sum of squares beside the norm)
    np.testing.assert_allclose(h, want, atol=1e-12)


@pytest.mark.parametrize("order", [2, -2, "nuc"], ids=str)
def test_the_second_derivative_of_a_singular_value_norm_is_refused(order):
    with pytest.raises(s2s.NoDerivativeRuleError, match="no second derivative of np.linalg.norm"):
        s2s.hessian(matrix_norm(order))(A)


def test_an_order_written_as_a_literal_too_large_for_a_float_is_the_max_norm():
    """(review 251: `ord=1e400` is inf to NumPy, and was taken for a p-norm of p = inf: NaN and zeros)"""
    def of_matrix(x):
        return np.linalg.norm(x, 1e400)

    def of_vector(v):
        return np.linalg.norm(v, 1e400)
    np.testing.assert_allclose(s2s.grad(of_matrix)(A), fd_grad(of_matrix, (A,)), atol=1e-7)
    v = RNG.normal(size=5)
    np.testing.assert_allclose(s2s.grad(of_vector)(v), fd_grad(of_vector, (v,)), atol=1e-7)


def test_f_is_the_frobenius_norm():
    order = "f"

    def f(x):
        return np.linalg.norm(x, order)
    np.testing.assert_allclose(s2s.grad(f)(A), A / np.linalg.norm(A), rtol=1e-12)
