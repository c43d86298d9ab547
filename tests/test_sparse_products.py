"""Products of a SciPy sparse matrix (a constant: a graph Laplacian, a finite-element stiffness matrix) with the
differentiated vectors and matrices, `A @ x` and `x @ A.T`: the adjoint applies the sparse matrix's transpose
(s2s/runtime/linalg.py `_sparse_product_adjoint`; NumPy's functions read a sparse matrix as one object, which
crashed the adjoint). Differentiating with respect to the sparse matrix itself is refused: its gradient would be
dense. Checked against central differences and against the same program on the dense matrix."""

import numpy as np
import pytest
from conftest import rng
from helpers_fd import fd_grad

import s2s

sparse = pytest.importorskip("scipy.sparse")

A = sparse.random(5, 4, density=0.5, random_state=3, format="csr")
L = sparse.diags([1.0, -2.0, 1.0], [-1, 0, 1], shape=(4, 4), format="csc")


def energy(x):
    return 0.5 * x @ (L @ x) + np.sum(np.cos(x))


def least_squares(x, y):
    r = A @ x - y
    return np.sum(r ** 2)


def row_products(X):
    return np.sum(np.tanh(X @ A.T))


def columns(X):
    return np.sum((A @ X) ** 2)


def laplacian_steps(u):
    for _ in range(3):
        u = u + 0.1 * (L @ u)
    return np.sum(u ** 3)


CASES = [(energy, lambda r: (r.normal(size=4),)), (least_squares, lambda r: (r.normal(size=4), r.normal(size=5))),
         (row_products, lambda r: (r.normal(size=(3, 4)),)), (columns, lambda r: (r.normal(size=(4, 2)),)),
         (laplacian_steps, lambda r: (r.normal(size=4),))]


@pytest.mark.parametrize("f, make", CASES, ids=[f.__name__ for f, _ in CASES])
def test_products_with_a_sparse_constant_are_differentiated(f, make):
    args = make(rng(0))
    g = s2s.grad(f)(*args)
    assert type(g) is np.ndarray and g.shape == np.shape(args[0])
    np.testing.assert_allclose(g, fd_grad(f, args, 0), rtol=1e-5, atol=1e-7)


def test_the_hessian_through_a_sparse_product_is_the_dense_one():
    x = rng(1).normal(size=4)
    dense = A.toarray()
    np.testing.assert_allclose(s2s.hessian(least_squares)(x, np.zeros(5)), 2 * dense.T @ dense, rtol=1e-10, atol=1e-12)


def test_a_gradient_with_respect_to_the_sparse_matrix_is_refused():
    def product(M, x):
        return np.sum((M @ x) ** 2)

    with pytest.raises(s2s.NoDerivativeRuleError, match="sparse csr_matrix"):
        s2s.grad(product)(A, np.ones(4))
    np.testing.assert_allclose(s2s.grad(product, wrt=1)(A, np.ones(4)), 2 * A.T @ (A @ np.ones(4)), rtol=1e-12)


def dotted(x):
    return np.sum(np.sin(A.dot(x)))


def test_a_global_sparse_matrix_s_dot_is_its_product():
    """`A.dot(x)` was read as `np.dot(A, x)`, which NumPy computes as an object array (a TypeError after it)."""
    x = rng(2).normal(size=4)
    np.testing.assert_allclose(s2s.grad(dotted)(x), fd_grad(dotted, (x,), 0), rtol=1e-5, atol=1e-7)


def dotted_argument(M, x):
    return np.sum(np.sin(M.dot(x)))


def dotted_transpose(M, x):
    Mt = M.T  # (a local: its kind is known only when it runs)
    return np.sum(Mt.dot(M.dot(x)) ** 2)


def dotted_from_a_list(mats, x):
    for M in mats:
        x = np.tanh(M.dot(x))
    return np.sum(x)


def dotted_in_a_loop(M, X):
    total = 0.0
    for i in range(X.shape[0]):
        total = total + np.sum(M.dot(X[i]) ** 2)
    return total


SQUARE = sparse.random(4, 4, density=0.6, random_state=5, format="csr")


@pytest.mark.parametrize("f, make", [
    (dotted_argument, lambda r: (A, r.normal(size=4))),
    (dotted_transpose, lambda r: (A, r.normal(size=4))),
    (dotted_from_a_list, lambda r: ([SQUARE, SQUARE.T.tocsr()], r.normal(size=4))),
    (dotted_in_a_loop, lambda r: (A, r.normal(size=(3, 4))))],
    ids=["argument", "transpose", "list", "loop"])
def test_a_sparse_matrix_s_dot_reached_as_a_value_is_its_product(f, make):
    """`M.dot(x)` of an argument, a local or a list's item was read as `np.dot(M, x)` (a TypeError, or a
    dimension mismatch in the adjoint): the kind is known when it runs, and `s2s.dot_method` is the method. The
    same function of arrays gets np.dot in its specialised code, and the gradient of the dense matrices."""
    args = make(rng(3))
    for _ in range(3):  # (the first call, the variant's code, its hot code)
        g = s2s.grad(f, wrt=1)(*args)
        np.testing.assert_allclose(g, fd_grad(f, args, 1), rtol=1e-5, atol=1e-7)
    dense = [m.toarray() for m in args[0]] if isinstance(args[0], list) else args[0].toarray()
    np.testing.assert_allclose(s2s.grad(f, wrt=1)(dense, args[1]), g, rtol=1e-10, atol=1e-12)
    if not isinstance(dense, list):
        source = s2s.source(s2s.grad(f, wrt=1), dense, args[1])
        assert "np.dot(" in source and "s2s.dot_method" not in source
    with pytest.raises(s2s.NoDerivativeRuleError, match="with respect to a SciPy sparse"):
        s2s.grad(f, wrt=0)(*args)


def scaled_by_a_number(M, s):
    return M.dot(s).sum() * s


def quadratic_through_dot(M, x):
    return np.sum(np.sin(M.dot(x)) * x)


def test_a_sparse_matrix_s_dot_of_a_number_and_a_sparse_vector_s():
    """`M.dot(s)` of a number scales the matrix (the sparse product's adjoint raised "Scalar operands are not
    allowed"); `v.dot(x)` of a 1-d sparse array is a number (the same error, older: review 218)."""
    s = 0.7
    want = (fd_grad(scaled_by_a_number, (A, s), 1))
    np.testing.assert_allclose(s2s.grad(scaled_by_a_number, wrt=1)(A, s), want, rtol=1e-5)
    v = sparse.coo_array(np.array([0.5, 0.0, 1.0, 0.0]))

    def vector_dot(v, x):
        return np.sin(v.dot(x)) + np.sin(v @ x)

    x = rng(4).normal(size=4)
    np.testing.assert_allclose(s2s.grad(vector_dot, wrt=1)(v, x), fd_grad(vector_dot, (v, x), 1), rtol=1e-5, atol=1e-8)


def test_the_hessian_through_a_sparse_argument_s_dot():
    """hessian/jacfwd refused `M.dot(x)` of a sparse argument as a method that may change its matrix (older); a
    sparse matrix's products only read it."""
    x = rng(5).normal(size=4)
    H = s2s.hessian(quadratic_through_dot, wrt=1)(SQUARE, x)
    dense = s2s.hessian(quadratic_through_dot, wrt=1)(SQUARE.toarray(), x)
    np.testing.assert_allclose(H, dense, rtol=1e-10, atol=1e-12)
    grad = s2s.grad(quadratic_through_dot, wrt=1)
    want = np.stack([(grad(SQUARE, x + 1e-6 * e) - grad(SQUARE, x - 1e-6 * e)) / 2e-6 for e in np.eye(4)], axis=1)
    np.testing.assert_allclose(H, want, rtol=1e-5, atol=1e-6)


class Scaled:
    """An operator with a `.dot` of its own (not NumPy's product)."""

    def __init__(self, M):
        self.M = M

    def dot(self, x):
        return 100.0 * (self.M @ x)


def test_an_argument_with_a_dot_of_its_own_is_refused():
    """`A.dot(x)` of an object with its own `.dot` was read as np.dot (a silently wrong value and gradient, older):
    refused when it runs, at the line."""
    with pytest.raises(s2s.NoDerivativeRuleError, match="has a `.dot` of its own") as info:
        s2s.grad(dotted_argument, wrt=1)(Scaled(np.eye(4)), np.ones(4))
    assert "test_sparse_products.py" in str(info.value)
