"""Solves with a triangular factor by substitution in `s2s.grad`'s code (transforms/triangular.py).

Each program is checked against central finite differences and autograd (its twin written by conftest), and
the rewritten code against the code as it was (`s2s.derivative`, which is not shape-specialised): the same
gradient up to rounding. The source says which solves were rewritten and which were not, and why not: an
array changed in place, a value that decides a branch, a small matrix, `np.tril(A, 1)`.
"""

import autograd
import numpy as np
import pytest

import s2s
from s2s import runtime
from tests.conftest import autograd_twin, check_grad

N = 40  # (SciPy's substitution from 33 x 33: s2s.solve_lower's threshold)
R = np.random.default_rng(16)
A = R.normal(size=(N, N)) / N + 2.0 * np.eye(N)
SPD = A @ A.T + np.eye(N)
B = R.normal(size=N)
BM = R.normal(size=(N, 3))


def _code(f, *args):
    return "\n".join(line for line in s2s.source(s2s.grad(f), *args).splitlines()
                     if not line.strip().startswith("#"))


def _same_as_unspecialised(f, *args, wrt=0):
    got = s2s.grad(f, wrt=wrt)(*args)
    np.testing.assert_allclose(got, s2s.derivative(f, wrt=wrt)(*args), rtol=1e-9, atol=1e-12)
    return got


def chol_quadratic(K, y):
    L = np.linalg.cholesky(K)
    z = np.linalg.solve(L, y)
    w = np.linalg.solve(L.T, z)
    return np.sum(w * y) + np.sum(np.log(np.diag(L)))


def chol_through_names(K, y):
    L = np.linalg.cholesky(K)
    U = L.T
    Lt = U.T
    w = np.linalg.solve(U, np.linalg.solve(Lt, y))
    return w @ y


def lower_triangle(A, b):
    T = np.tril(A)
    return np.sum(np.linalg.solve(T, b) ** 2)


def lower_strict_below(A, b):
    T = np.tril(A, -1) + 3.0 * np.eye(A.shape[0])  # (a sum: not taken, only the factor's own binding is)
    return np.sum(np.linalg.solve(T, b) ** 2)


def upper_triangle(A, b):
    U = np.triu(A)
    x = np.linalg.solve(U, b)
    return np.sum(np.sin(x))


def upper_transposed(A, b):
    U = np.triu(A, 0)
    return np.sum(np.linalg.solve(U.T, b) ** 2)


@pytest.mark.parametrize("f, args", [
    (chol_quadratic, (SPD, B)), (chol_quadratic, (SPD, BM)), (chol_through_names, (SPD, B)),
    (lower_triangle, (A, B)), (upper_triangle, (A, B)), (upper_transposed, (A, BM)),
], ids=["chol", "chol-matrix-rhs", "chol-through-names", "tril", "triu", "triu-T"])
def test_the_gradient_matches_differences_autograd_and_the_code_before(f, args):
    for wrt in (0, 1):
        symmetric_input = wrt == 0 and f.__name__.startswith("chol")
        got = check_grad(f, *args, wrt=wrt, rtol=1e-5, atol=1e-6, ag=False if symmetric_input else None)
        if symmetric_input:  # (np.linalg.cholesky reads K's lower triangle; autograd's adjoint is symmetric)
            want = autograd.grad(autograd_twin(f), 0)(*args)
            np.testing.assert_allclose((got + got.T) / 2, want, rtol=1e-6, atol=1e-9)
        _same_as_unspecialised(f, *args, wrt=wrt)
    assert "np.linalg.solve(" not in _code(f, *args), _code(f, *args)


def test_the_factor_is_read_and_solves_say_which_triangle():
    code = _code(chol_quadratic, SPD, B)
    assert "s2s.solve_lower(L, y, False, True)" in code and "s2s.solve_lower(L, z, True, True)" in code, code
    code = _code(chol_through_names, SPD, B)  # (U = L.T and Lt = U.T read as L)
    assert "s2s.solve_lower(L, y, False, True)" in code and "s2s.solve_lower(L, solve, True, True)" in code, code
    code = _code(upper_triangle, A, B)
    assert "s2s.solve_lower(U.T, b, True, True)" in code, code
    code = _code(upper_transposed, A, BM)
    assert "s2s.solve_lower(U.T, b, False, True)" in code, code


def changed_after_cholesky(K, y):
    L = np.linalg.cholesky(K)
    L[0, 5] = 0.25  # (no longer triangular: LU, as written)
    return np.sum(np.linalg.solve(L, y) ** 2)


def changed_in_a_loop(K, y):
    L = np.linalg.cholesky(K)
    for i in range(3):
        L[i, i + 1] = 0.1 * i
    return np.sum(np.linalg.solve(L, y) ** 2)


def changed_by_augmented_assignment(K, y):
    L = np.linalg.cholesky(K)
    L += np.triu(K, 1)
    return np.sum(np.linalg.solve(L, y) ** 2)


def rebound_after_its_transpose(K, y):
    L = np.linalg.cholesky(K)
    U = L.T
    L = K + 1.0  # (U still holds the factor's transpose; L is another matrix)
    return np.sum(np.linalg.solve(U, y) ** 2) + np.sum(np.linalg.solve(L, y))


def strictly_upper_too(A, b):
    T = np.tril(A, 1)
    return np.sum(np.linalg.solve(T, b) ** 2)


@pytest.mark.parametrize("f, args, solves", [
    (changed_after_cholesky, (SPD, B), 1), (changed_in_a_loop, (SPD, B), 1),
    (changed_by_augmented_assignment, (SPD, B), 1), (strictly_upper_too, (A, B), 1), (lower_strict_below, (A, B), 1),
], ids=["item-assignment", "loop", "augmented", "tril-k1", "sum"])
def test_a_matrix_not_triangular_where_it_is_solved_keeps_the_lu_solve(f, args, solves):
    code = _code(f, *args)
    assert code.count("np.linalg.solve(") >= solves and "True, True)" not in code, code
    check_grad(f, *args, wrt=0, ag=False)  # (autograd cannot assign items)
    _same_as_unspecialised(f, *args)


def test_a_name_bound_again_reads_the_factor_it_held():
    code = _code(rebound_after_its_transpose, SPD, B)
    assert "s2s.solve_lower(L, y, True, True)" in code, code  # (the factor, renamed apart from the later L)
    assert "s2s.solve_lower(L, solve_bar, False, True)" in code and "np.linalg.solve(L2, y)" in code, code
    check_grad(rebound_after_its_transpose, SPD, B, wrt=0, ag=False)  # (autograd: a symmetric cholesky adjoint)
    _same_as_unspecialised(rebound_after_its_transpose, SPD, B)


def branches_on_the_solution(K, y):
    L = np.linalg.cholesky(K)
    z = np.linalg.solve(L, y)
    if z[0] > 0.0:  # (substitution rounds otherwise than LU: the branch must see LU's value)
        return np.sum(z ** 2)
    return np.sum(np.linalg.solve(L.T, y))


def test_a_solution_that_decides_a_branch_is_solved_as_written():
    code = _code(branches_on_the_solution, SPD, B)
    assert "z = np.linalg.solve(L, y)" in code, code
    check_grad(branches_on_the_solution, SPD, B, wrt=0, ag=False)
    _same_as_unspecialised(branches_on_the_solution, SPD, B)


def test_small_matrices_and_value_and_grad_keep_numpy_s_solve():
    small = SPD[:8, :8]
    assert "True, True)" not in _code(chol_quadratic, small, B[:8])
    code = s2s.source(s2s.value_and_grad(chol_quadratic), SPD, B)
    assert "z = np.linalg.solve(L, y)" in code, code  # (the value returned stays NumPy's)
    value, g = s2s.value_and_grad(chol_quadratic)(SPD, B)
    assert value == chol_quadratic(SPD, B)
    np.testing.assert_allclose(g, s2s.grad(chol_quadratic)(SPD, B), rtol=1e-9)


def test_float32_arguments_keep_their_dtype():
    K32, y32 = SPD.astype(np.float32), B.astype(np.float32)
    got = s2s.grad(chol_quadratic, wrt=(0, 1))(K32, y32)
    want = s2s.derivative(chol_quadratic, wrt=(0, 1))(K32, y32)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=2e-3, atol=1e-4)


def test_the_cholesky_adjoint_helpers_keep_dtype_and_match_their_definition():
    p = R.normal(size=(2, 5, 5)).astype(np.float32)
    half = runtime.tril_half_diagonal(p)
    want = np.tril(p) - 0.5 * np.eye(5) * p
    assert half.dtype == np.float32
    np.testing.assert_allclose(half, want, rtol=1e-6)
    folded = runtime.tril_fold(p)
    assert folded.dtype == np.float32
    np.testing.assert_allclose(folded, np.tril(p + np.swapaxes(p, -1, -2), -1) + np.eye(5) * p, rtol=1e-6)
    s = R.normal(size=(6, 6))
    L = np.linalg.cholesky(SPD[:6, :6])
    np.testing.assert_allclose(runtime.solve_lower(L, s, True, True), np.linalg.solve(L.T, s), rtol=1e-10)


def band_from_the_solution(K, y, M):
    L = np.linalg.cholesky(K)
    x = np.linalg.solve(L, y)
    T = np.tril(M, x[0])  # (a float k: NumPy steps at it, so a rounding of x[0] may change T)
    return np.sum(T * T) + np.sum(x)


def band_through_a_starred_call(K, y, M):
    L = np.linalg.cholesky(K)
    x = np.linalg.solve(L, y)
    T = np.tril(*(M, x[0]))
    return np.sum(T * T) + np.sum(x)


@pytest.mark.parametrize("f", [band_from_the_solution, band_through_a_starred_call])
def test_a_solution_np_tril_reads_as_its_diagonal_is_solved_as_written(f):
    """Helper 197: np.tril counted smooth in k too; substitution gave x[0] == 0.0 where LU gave 2.9e-15, and the
    gradient in M lost the first superdiagonal."""
    code = s2s.source(s2s.grad(f, wrt=2), SPD, B, A)
    assert "x = np.linalg.solve(L, y)" in code, code


def test_float16_is_refused_by_the_solve_as_numpy_refuses_it():
    """Helper 197: SciPy's substitution took float16 (and longdouble), where np.linalg raises."""
    A16, b16 = A.astype(np.float16), B.astype(np.float16)
    with pytest.raises(TypeError, match="unsupported in linalg"):
        lower_triangle(A16, b16)
    with pytest.raises(TypeError, match="unsupported in linalg"):
        s2s.grad(lower_triangle, wrt=1)(A16, b16)
