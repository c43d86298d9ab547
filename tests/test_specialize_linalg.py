"""Linear algebra keeps the shape-specialised code: np.linalg.slogdet's pair, np.linalg.det, inv and solve
of square matrices and stacks of them have known shapes (s2s/rules/result_shapes.py), the adjoint of
`sign, logdet = np.linalg.slogdet(S)` reaches S as `logdet_bar * np.linalg.inv(S).T` without a list
adjoint, and solve's adjoints are the solves they compute. Numbers against central differences and
autograd (well and ill conditioned), float32 and stacks included; the general code gives the same."""

import numpy as np
import pytest
from helpers_fd import autograd_version, check_all

import s2s

GENERAL_HELPERS = ("unbroadcast(", "getitem_grad(", "s2s.add(", "grad_matmul_a(", "grad_matmul_b(", "grad_slogdet(",
                   "grad_solve_a(", "grad_solve_b(", "transpose_attr_grad(")


def gauss_nll(A, X, mu):
    n, d = X.shape
    S = A @ A.T + 0.1 * np.eye(d)
    sign, logdet = np.linalg.slogdet(S)
    D = X - mu
    quad = np.sum(D * np.linalg.solve(S, D.T).T)
    return 0.5 * quad + 0.5 * n * logdet + 0.5 * n * d * np.log(2 * np.pi)


def log_det(A):
    S = A @ A.T + np.eye(A.shape[0])
    return np.log(np.linalg.det(S)) + np.sum(S * S)


def inv_times(S, b):
    return np.sum(np.sin(np.linalg.inv(S) @ b))


def both_items(S):
    sign, logdet = np.linalg.slogdet(S)
    return sign * logdet + logdet * logdet


def sign_only(S):
    sign, logdet = np.linalg.slogdet(S)
    return sign * np.sum(S * S)


def item_by_index(S, w):
    r = np.linalg.slogdet(S)
    return r[1] * np.sum(w * w) + r[0]


def solve_vector(S, b):
    return np.sum(np.tanh(np.linalg.solve(S, b)))


def solve_columns(S, B):
    return np.sum(np.linalg.solve(S, B) ** 2)


def stacked_logdets(S, w):
    sign, logdet = np.linalg.slogdet(S)
    return np.sum(w * logdet)


def stacked_solve(S, B):
    return np.sum(np.cos(np.linalg.solve(S, B)))


def stacked_inv(S):
    return np.sum(np.linalg.inv(S) ** 2)


def chol_logdet(A, X):
    S = A @ A.T + np.eye(A.shape[0])
    L = np.linalg.cholesky(S)
    return 2.0 * np.sum(np.log(np.diag(L))) + np.sum(X * np.linalg.solve(S, X))


def stacked_det(S):
    return np.sum(np.linalg.det(S) ** 2)


rng = np.random.default_rng(16)


def spd(n, scale=1.0):
    a = rng.normal(size=(n, n))
    return a @ a.T / n + scale * np.eye(n)


def stack(k, n):
    return np.stack([spd(n) + 0.3 * rng.normal(size=(n, n)) for _ in range(k)])


CASES = [
    (gauss_nll, (rng.normal(size=(4, 4)) * 0.5, rng.normal(size=(30, 4)), rng.normal(size=4)), (0, 2)),
    (log_det, (rng.normal(size=(3, 3)),), (0,)),
    (inv_times, (spd(4), rng.normal(size=4)), (0, 1)),
    (both_items, (spd(3) + 0.2 * rng.normal(size=(3, 3)),), (0,)),
    (sign_only, (spd(3),), (0,)),
    (item_by_index, (spd(3), rng.normal(size=2)), (0, 1)),
    (solve_vector, (spd(4) + 0.2 * rng.normal(size=(4, 4)), rng.normal(size=4)), (0, 1)),
    (solve_columns, (spd(3) + 0.2 * rng.normal(size=(3, 3)), rng.normal(size=(3, 5))), (0, 1)),
    (stacked_logdets, (stack(3, 3), rng.normal(size=3)), (0, 1)),
    (stacked_solve, (stack(2, 3), rng.normal(size=(2, 3, 4))), (0, 1)),
    (stacked_det, (stack(2, 3),), (0,)),
    (stacked_inv, (stack(2, 3),), (0,)),
    (chol_logdet, (rng.normal(size=(3, 3)), rng.normal(size=(3, 2))), (0, 1)),
]
IDS = [c[0].__name__ for c in CASES]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=IDS)
def test_linear_algebra_is_specialised_and_right(f, args, wrt):
    src = s2s.source(s2s.grad(f, wrt=wrt), *args)
    left = [h for h in GENERAL_HELPERS if h in src]
    assert not left and "# s2s:" not in src, src
    check_all(f, args, wrt=wrt, rtol=1e-5, atol=1e-6)
    general = s2s.derivative(f, wrt=wrt)(*args)
    for got, expected in zip(s2s.grad(f, wrt=wrt)(*args), general if len(wrt) > 1 else (general,)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_the_slogdet_adjoint_is_the_inverse_transposed_without_a_list():
    A, X, mu = CASES[0][1]
    src = s2s.source(s2s.grad(gauss_nll), A, X, mu)
    # (the value is not computed; the solves read the inverse the slogdet adjoint needs: transforms/inverses.py)
    # (`* S_inv`, not `* S_inv.T`: S = A @ A.T + 0.1 * I is symmetric by construction, transforms/symmetric.py)
    assert "S_inv = np.linalg.inv(S)" in src and "* S_inv\n" in src and "slogdet" not in src.split("# return")[0], src
    src = s2s.source(s2s.grad(stacked_logdets), *CASES[8][1])
    assert "[..., None, None] * np.swapaxes(np.linalg.inv(S), -1, -2)" in src, src


def test_det_adjoint_of_a_number_is_an_array_and_right_for_a_singular_matrix():
    src = s2s.source(s2s.grad(log_det), *CASES[1][1])
    assert "s2s.det_adjoint(det_bar, det, S)" in src, src

    def det_squared(S):
        return np.linalg.det(S) ** 2 + np.sum(S)

    singular = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])  # det 0: the cofactors' branch
    got = s2s.grad(det_squared)(singular)
    np.testing.assert_allclose(got, np.ones((3, 3)), atol=1e-12)  # (2 det * cofactors is 0 here)
    np.testing.assert_array_equal(got, s2s.derivative(det_squared)(singular))


def test_the_cholesky_adjoint_solves_once():
    src = s2s.source(s2s.grad(chol_logdet), *CASES[-1][1])
    code = "\n".join(line for line in src.splitlines() if not line.strip().startswith("#"))
    # (the value's solve with S and its adjoint's, and two with L^T, by triangular substitution where SciPy is
    # there and L is large: six with L^T before)
    assert code.count("s2s.tril_fold(") == 1 and code.count("np.linalg.solve(") == 2, src
    assert code.count("s2s.solve_lower(") == 2, src


def test_the_inverse_s_adjoint_transposes_a_matrix_with_T():
    src = s2s.source(s2s.grad(inv_times), *CASES[2][1])
    assert "-inv.T @ inv_bar @ inv.T" in src and "swapaxes" not in src, src
    src = s2s.source(s2s.grad(lambda S: np.sum(np.linalg.inv(S) * S)), stack(2, 3))
    assert "np.swapaxes(inv, -1, -2)" in src, src  # (a stack keeps swapaxes: .T would reverse every axis)


def by_fields(S, w):
    r = np.linalg.slogdet(S)
    return r.sign * r.logabsdet * np.sum(w * w)


def in_a_loop(S, w):
    total = 0.0
    for i in range(3):
        sign, logdet = np.linalg.slogdet(S * (i + 1.0))
        total = total + w[i] * logdet
    return total


@pytest.mark.parametrize("f", [by_fields, in_a_loop])
def test_fields_of_the_result_and_slogdet_in_a_loop(f):
    S, w = spd(3) + 0.2 * rng.normal(size=(3, 3)), rng.normal(size=3)
    src = s2s.source(s2s.grad(f, wrt=(0, 1)), S, w)
    assert "grad_slogdet(" not in src and "# s2s:" not in src and "np.linalg.inv(" in src, src
    check_all(f, (S, w), wrt=(0, 1), use_autograd=False)  # (autograd's boxes have no .logabsdet)
    for got, expected in zip(s2s.grad(f, wrt=(0, 1))(S, w), s2s.derivative(f, wrt=(0, 1))(S, w)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    if f is by_fields:
        assert "s2s.field_grad(" not in src and "s2s.add(" not in src, src


def test_only_the_sign_read_gives_no_slogdet_adjoint():
    src = s2s.source(s2s.grad(sign_only), spd(3))
    assert "inv(" not in src, src


def ill_conditioned(n, cond):
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return q @ np.diag(np.logspace(0, -np.log10(cond), n)) @ q.T


@pytest.mark.parametrize("cond", [1e4, 1e8])
def test_ill_conditioned_matrices_give_the_general_code_s_numbers_and_autograd_s(cond):
    import autograd

    S = ill_conditioned(4, cond)
    b, B = S @ rng.normal(size=4), S @ rng.normal(size=(4, 3))  # (solutions of moderate size)
    for f, args in ((both_items, (S,)), (solve_vector, (S, b)), (solve_columns, (S, B)), (inv_times, (S, b))):
        got = s2s.grad(f)(*args)
        np.testing.assert_allclose(got, s2s.derivative(f)(*args), rtol=1e-12, atol=0)
        expected = autograd.grad(autograd_version(f))(*args)
        scale = np.max(np.abs(expected))
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-14 * scale * cond)
    if cond < 1e5:  # (central differences of step 1e-6 resolve the slopes of a matrix this well conditioned only)
        check_all(both_items, (S,), rtol=1e-4, atol=1e-4 * np.max(np.abs(s2s.grad(both_items)(S))))


@pytest.mark.parametrize("f, args, wrt", CASES, ids=IDS)
def test_float32_in_float32_out(f, args, wrt):
    args32 = tuple(np.asarray(a, dtype=np.float32) for a in args)
    got = s2s.grad(f, wrt=wrt)(*args32)
    expected = s2s.grad(f, wrt=wrt)(*args)
    for g32, g64 in zip(got, expected):  # (a tuple of wrt: a tuple of gradients)
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=2e-3, atol=2e-3 * np.max(np.abs(g64)))


def test_a_zero_log_det_adjoint_gives_zeros_as_the_general_code():
    A, _, mu = CASES[0][1]
    X = np.zeros((0, 4))  # n = 0: log|det|'s adjoint 0.5 * n is the number 0.0
    got = s2s.grad(gauss_nll)(A, X, mu)
    np.testing.assert_array_equal(got, s2s.derivative(gauss_nll)(A, X, mu))
    np.testing.assert_array_equal(got, np.zeros_like(A))


def test_a_tuple_adjoint_of_unknown_items_keeps_the_helper_and_says_why():
    def unknown(S, k):
        sign, logdet = np.linalg.slogdet(S[:k])  # (the rows k selects: a shape not known from the arguments)
        return logdet

    S = spd(3)
    src = s2s.source(s2s.grad(unknown), S, 3)
    assert "grad_slogdet(" in src and "# s2s: grad_slogdet kept: shape of slogdet_bar unknown" in src, src
    np.testing.assert_allclose(s2s.grad(unknown)(S, 3), np.linalg.inv(S).T, rtol=1e-12)


def gp_by_dict(params, X, y):
    K = np.exp(-params["ls"] * (X[:, None] - X[None, :]) ** 2) + 0.1 * np.eye(X.shape[0])
    sign, logdet = np.linalg.slogdet(K)
    return 0.5 * logdet + 0.5 * y @ np.linalg.solve(K, y)


def test_slogdet_beside_a_dict_argument_keeps_its_specialised_adjoint():
    """With a container argument every tuple adjoint is split item by item: slogdet's pair reaches its rule as
    the display `[0.0, 0.5]`, read as its second item, not through s2s.grad_slogdet."""
    r = np.random.default_rng(4)
    X, y = r.normal(size=6), r.normal(size=6)
    src = s2s.source(s2s.grad(gp_by_dict), {"ls": 0.7}, X, y)
    assert "grad_slogdet" not in src and "0.5 * np.linalg.inv(K).T" in src, src
    got = s2s.grad(gp_by_dict)({"ls": 0.7}, X, y)["ls"]
    eps = 1e-6
    want = (gp_by_dict({"ls": 0.7 + eps}, X, y) - gp_by_dict({"ls": 0.7 - eps}, X, y)) / (2 * eps)
    assert got == pytest.approx(want, rel=1e-6)
