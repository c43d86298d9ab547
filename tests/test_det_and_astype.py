"""np.linalg.det's derivative where the matrix is singular (the cofactors), and astype(copy=False)."""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s
from s2s.errors import UnsupportedSyntaxError


def det(A):
    return np.linalg.det(A)


def det_sum(A):
    return np.sum(np.linalg.det(A))


@pytest.mark.parametrize("A", [np.array([[1.0, 2.0], [2.0, 4.0]]), np.zeros((3, 3)), np.diag([1.0, 0.0, 2.0]),
                               np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]),
                               np.array([[2.0, 1.0], [0.5, 3.0]])],
                         ids=["rank1", "zero", "diagonal", "rank2", "regular"])
def test_det_gradient_is_the_cofactor_matrix(A):
    g = s2s.grad(det)(A)
    assert np.allclose(g, fd_grad(det, [A]), atol=1e-6)


SINGULAR = [np.array([[1.0, 2.0], [2.0, 4.0]]), np.zeros((3, 3)), np.diag([1.0, 0.0, 2.0]),
            np.arange(1.0, 10.0).reshape(3, 3),
            np.random.default_rng(4).normal(size=(4, 2)) @ np.random.default_rng(5).normal(size=(2, 4)),
            np.stack([np.arange(1.0, 10.0).reshape(3, 3), np.eye(3) + 0.1])]


def det_cubed(A):
    return np.sum(np.linalg.det(A) ** 3 + np.linalg.det(A) * 2.0)


@pytest.mark.parametrize("A", SINGULAR, ids=["rank1", "zero", "diagonal", "rank2", "rank2-4x4", "batch"])
def test_forward_mode_and_hessians_at_singular_matrices(A):
    """Helper 193 (Tangent's corpus, `det(sqm)` at [[1, 2], [2, 4]]): forward mode and every second derivative
    raised NumPy's LinAlgError there (det's tangent solved with a, its adjoint's tangents inverted it); det is a
    polynomial, and its derivatives are the cofactors and their own derivatives."""
    n = A.size
    g = s2s.grad(det_cubed)
    expected = np.array([fd_grad(lambda v: g(v).ravel()[i], [A]).ravel() for i in range(n)])
    for second in (s2s.hessian(det_cubed), s2s.jacfwd(s2s.jacrev(det_cubed)), s2s.jacrev(s2s.jacrev(det_cubed))):
        np.testing.assert_allclose(second(A).reshape(n, n), expected, atol=1e-5)
    direction = np.ones_like(A)
    _, tangent = s2s.jvp(det_cubed, (A,), (direction,))
    assert tangent == pytest.approx(np.sum(g(A) * direction), abs=1e-9)
    np.testing.assert_allclose(s2s.jacfwd(det_cubed)(A), g(A), atol=1e-9)


def test_batched_det_with_a_singular_member():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(3, 3, 3))
    A[1, 2] = A[1, 0]  # singular
    assert np.allclose(s2s.grad(det_sum)(A), fd_grad(det_sum, [A]), atol=1e-6)


def astype_without_copy(x):
    y = x.astype(np.float64, copy=False)
    return np.sum(y * y)


def astype_without_copy_updated(x):
    y = x * 1.0
    a = y.astype(float, copy=False)
    a *= 3.0
    return np.sum(y * y)


def test_astype_copy_false():
    x = np.array([1.0, 2.0])
    assert np.allclose(s2s.grad(astype_without_copy)(x), 2 * x)
    with pytest.raises(UnsupportedSyntaxError, match="in place"):  # a may be y itself
        s2s.grad(astype_without_copy_updated)(x)
