"""np.linalg.cholesky's rule solves with its factor by triangular substitution where SciPy is installed and the
matrix is larger than 32 x 32 (`s2s.solve_lower`): the same gradient, tangent and Hessian as the LU solves it
replaced, at the sizes where it runs (a GP likelihood's gradient at 256 points spent most of its time there)."""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s
from s2s import runtime


def gp_evidence(theta, x, y):
    ell, sf, sn = np.exp(theta)
    K = sf ** 2 * np.exp(-0.5 * (x[:, None] - x[None, :]) ** 2 / ell ** 2) + sn ** 2 * np.eye(x.shape[0])
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(L)))


R = np.random.default_rng(58)
X = np.sort(R.uniform(0.0, 10.0, size=40))
Y = np.sin(X) + 0.3 * R.normal(size=40)
THETA = np.log(np.array([1.2, 0.9, 0.3]))


def test_the_gradient_matches_differences_and_the_general_code():
    g = s2s.grad(gp_evidence)(THETA, X, Y)
    np.testing.assert_allclose(g, fd_grad(gp_evidence, (THETA, X, Y)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g, s2s.derivative(gp_evidence)(THETA, X, Y), rtol=1e-10)


def test_the_tangent_and_the_hessian_match_differences():
    v = np.array([0.3, -0.2, 0.5])
    _, t = s2s.jvp(gp_evidence, (THETA, X, Y), (v, np.zeros(40), np.zeros(40)))
    eps = 1e-6
    np.testing.assert_allclose(t, (gp_evidence(THETA + eps * v, X, Y) - gp_evidence(THETA - eps * v, X, Y)) / (2 * eps),
                               rtol=1e-6)
    h = s2s.hessian(gp_evidence)(THETA, X, Y)
    rows = [fd_grad(lambda th, k=k: s2s.grad(gp_evidence)(th, X, Y)[k], (THETA,)) for k in range(3)]
    np.testing.assert_allclose(h, np.array(rows), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("n, trans", [(40, False), (40, True), (5, True), (64, False)])
def test_solve_lower_is_numpy_s_solve(n, trans):
    L = np.linalg.cholesky(np.cov(R.normal(size=(n, 3 * n))) + np.eye(n))
    B = R.normal(size=(n, 3))
    want = np.linalg.solve(L.T if trans else L, B)
    np.testing.assert_allclose(runtime.solve_lower(L, B, trans), want, rtol=1e-10, atol=1e-12)
    # (a matrix with an upper triangle is solved as it is, by NumPy)
    full = L + np.triu(np.ones((n, n)), 1) * 0.01
    np.testing.assert_allclose(runtime.solve_lower(full, B, trans), np.linalg.solve(full.T if trans else full, B),
                               rtol=1e-10, atol=1e-12)
