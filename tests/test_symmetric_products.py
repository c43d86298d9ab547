"""transforms/symmetric.py: `S.T` read as `S` where S is symmetric by construction; transforms/products.py's
cheaper_chains: a product an earlier statement computed into a name is read from it and costs nothing when a
chain is grouped. Each where it applies and where it must not, against autograd and central differences."""


import autograd
import numpy as np
import pytest
from helpers_fd import autograd_version, fd_grad
from test_gram_adjoint import _args, _rewrite  # (the rewrite of a source, the functions before and after)

import s2s
import s2s.pipeline  # noqa: F401  (installs the transforms' context)


def _same_values(before, after, args, rtol=1e-10):
    a = after(*[x.copy() for x in args])
    b = before(*[x.copy() for x in args])
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.max(np.abs(b)))


# ---- 1. symmetric by construction: `S.T` read as `S` -------------------------------------------------------

SYM = """
def f(A, B, C, D):
    At = A.T
    S = A @ At
    E = np.eye(4)
    S += 0.5 * E
    S_inv = np.linalg.inv(S)
    return S_inv.T @ D
"""
SHAPES = {"A": (4, 3), "B": (4, 4), "C": (4, 3), "D": (4, 6)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("variant", [
    lambda s: s,
    lambda s: s.replace("S = A @ At", "S = At.T @ A.T"),            # X.T @ X, X read through the alias
    lambda s: s.replace("S += 0.5 * E", "S = 2.0 * S - E / 3.0"),    # c * S, S1 - S2, S / c
    lambda s: s.replace("S += 0.5 * E", "T = S\n    S = -T + np.identity(4) * 3.0"),  # a name bound to one
    lambda s: s.replace("return S_inv.T @ D", "S[0, 1] += 1.0\n    return S_inv.T @ D"),  # S written after inv
    lambda s: s.replace("return S_inv.T @ D", "T = S_inv.T\n    return T @ D"),  # a name nothing writes into
])
def test_transpose_of_a_symmetric_matrix_is_the_matrix(variant, dtype):
    src = variant(SYM)
    kinds = {p: np.dtype(dtype).char for p in SHAPES}
    out, before, after = _rewrite(src, kinds=kinds, **SHAPES)
    assert "S_inv.T" not in out, out
    args = _args(0, dtype, **SHAPES)
    _same_values(before, after, args, rtol=1e-4 if dtype == np.float32 else 1e-10)


@pytest.mark.parametrize("variant", [
    lambda s: s.replace("S = A @ At", "S = A @ C.T"),                  # X @ Y.T with another Y
    lambda s: s.replace("S = A @ At", "S = B @ B"),                    # not symmetric
    lambda s: s.replace("S = A @ At", "A = A * 2.0\n    S = A @ At"),  # A rebound between the alias and the product
    lambda s: s.replace("S = A @ At", "C = A * 1.0\n    Ct = C.T\n    C[0, 1] = 3.0\n    S = C @ Ct"),  # written
    lambda s: s.replace("S += 0.5 * E", "S += B"),                     # a non-symmetric term
    lambda s: s.replace("S += 0.5 * E", "S = S + B[0]"),               # a row broadcast
    lambda s: s.replace("S += 0.5 * E", "S[0, 1] += 1.0"),             # S written in place before its inverse
    lambda s: s.replace("S += 0.5 * E", "T = S\n    T[0, 1] += 1.0"),  # ... through another name
    lambda s: s.replace("S += 0.5 * E", "S = np.eye(4, k=1) + S"),     # not the identity
    lambda s: s.replace("return S_inv.T @ D", "T = S_inv.T\n    T[0, 1] = 1.0\n    return T @ D + S_inv[1, 0]"),
    # (a value the rewrite rounds otherwise decides a branch)
    lambda s: s.replace("return S_inv.T @ D", "T = S_inv.T @ D\n    if T[0, 1] > 0.0:\n        return D\n    return T"),
])
def test_no_symmetry_where_it_is_not_proven(variant):
    src = variant(SYM)
    out, before, after = _rewrite(src, **SHAPES)
    assert "S_inv.T" in out, out
    _same_values(before, after, _args(1, **SHAPES))


def test_no_symmetry_for_a_parameter_or_complex():
    out, _, _ = _rewrite("""
    def f(S, D):
        S_inv = np.linalg.inv(S)
        return S_inv.T @ D
    """, S=(4, 4), D=(4, 6))
    assert "S_inv.T" in out
    out, _, _ = _rewrite(SYM, kinds=dict.fromkeys(SHAPES, "D"), **SHAPES)
    assert "S_inv.T" in out


def test_a_symmetric_matrix_written_after_its_inverse_keeps_its_own_transpose():
    src = SYM.replace("return S_inv.T @ D", "S[0, 1] += 1.0\n    return S_inv.T @ D + S.T @ D")
    out, before, after = _rewrite(src, **SHAPES)
    assert "S_inv @ D" in out and "S.T @ D" in out, out
    _same_values(before, after, _args(2, **SHAPES))


# ---- 2. a product computed before, read from its name ------------------------------------------------------

CSE = """
def f(M, D, W):
    Dt = D.T
    u = M @ Dt
    r = M @ (D.T @ W)
    return r + u[0, 0]
"""
CSE_SHAPES = {"M": (5, 5), "D": (200, 5), "W": (200, 5)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_computed_product_is_read_and_costs_nothing(dtype):
    kinds = {p: np.dtype(dtype).char for p in CSE_SHAPES}
    out, before, after = _rewrite(CSE, kinds=kinds, **CSE_SHAPES)
    assert "r = u @ W" in out, out
    _same_values(before, after, _args(3, dtype, **CSE_SHAPES), rtol=1e-4 if dtype == np.float32 else 1e-10)
    src = CSE.replace("r = M @ (D.T @ W)", "r = W.T @ D @ M.T")  # (W.T @ D) @ M.T: D @ M.T is u.T
    out, before, after = _rewrite(src, kinds=kinds, **CSE_SHAPES)
    assert "r = W.T @ u.T" in out, out
    _same_values(before, after, _args(4, dtype, **CSE_SHAPES), rtol=1e-4 if dtype == np.float32 else 1e-10)


@pytest.mark.parametrize("between", [
    "u = u * 2.0",       # u bound again
    "u[0, 0] = 1.0",     # u written in place
    "v = u\n    v += 1.0",  # ... through another name
    "M = M * 2.0",       # a factor bound again
    "M[0, 0] = 1.0",     # ... written in place
    "Dt[0, 0] = 1.0",    # ... through the view the product read
])
def test_no_computed_product_where_a_value_changes_between(between):
    src = CSE.replace("    r = M @", f"    {between}\n    r = M @")
    out, before, after = _rewrite(src, **CSE_SHAPES)
    assert "u @ W" not in out, out
    _same_values(before, after, _args(5, **CSE_SHAPES))


def test_no_computed_product_of_other_arrays_or_in_a_loop():
    out, _, _ = _rewrite(CSE.replace("u = M @ Dt", "u = M @ W.T"), **CSE_SHAPES)
    assert "u @ W" not in out
    loop = CSE.replace("    r = M @ (D.T @ W)", "    r = 0.0\n    for i in range(2):\n        r = r + M @ (D.T @ W)\n"
                       "        u = u * 2.0")
    out, before, after = _rewrite(loop, **CSE_SHAPES)
    assert "u @ W" not in out, out
    _same_values(before, after, _args(6, **CSE_SHAPES))


# ---- end to end: s2s.grad against autograd and central differences -----------------------------------------

def gauss_nll(A, X, mu):
    n, d = X.shape
    S = A @ A.T + 0.1 * np.eye(d)
    sign, logdet = np.linalg.slogdet(S)
    D = X - mu
    quad = np.sum(D * np.linalg.solve(S, D.T).T)
    return 0.5 * quad + 0.5 * n * logdet + 0.5 * n * d * np.log(2 * np.pi)


def gram_left_nll(A, X, mu):
    S = A.T @ A + np.eye(A.shape[1])
    sign, logdet = np.linalg.slogdet(S)
    D = X - mu
    return np.sum(D * np.linalg.solve(S, D.T).T) + 3.0 * logdet


def inverse_weights(A, X, mu):
    S = 2.0 * (A @ A.T) - 0.5 * np.eye(A.shape[0]) + np.eye(A.shape[0]) * 3.0
    Si = np.linalg.inv(S)
    return np.sum(np.sin(Si) * (X.T @ X)) + np.sum(mu @ Si)


def not_symmetric(A, X, mu):
    S = A @ A + 4.0 * np.eye(A.shape[0])
    return np.sum(X * np.linalg.solve(S, X.T).T) + np.linalg.slogdet(S)[1]


def another_array(A, X, mu):
    B = A[::-1] + 2.0 * np.eye(A.shape[0])
    S = A @ B.T + 5.0 * np.eye(A.shape[0])
    return np.sum(X * np.linalg.solve(S, X.T).T) + np.linalg.slogdet(S)[1]


def rebound_between(A, X, mu):
    At = A.T
    A = A + np.outer(mu, np.ones(A.shape[1]))
    S = A @ At + 3.0 * np.eye(A.shape[0])
    return np.sum(X * np.linalg.solve(S, X.T).T) + np.linalg.slogdet(S)[1]


def written_before_inverse(A, X, mu):
    S = A @ A.T + np.eye(A.shape[0])
    S[0, 1] += 0.5
    return np.sum(X * np.linalg.solve(S, X.T).T) + np.linalg.slogdet(S)[1]


def written_after_inverse(A, X, mu):
    S = A @ A.T + np.eye(A.shape[0])
    Si = np.linalg.inv(S)
    S[0, 1] += 0.5
    return np.sum(X @ Si * X) + np.sum(np.linalg.solve(S, X.T))


# (autograd cannot write into an array: these have their own versions)
def _written_before_inverse_ag(A, X, mu):
    import autograd.numpy as anp
    S = A @ A.T + anp.eye(A.shape[0]) + anp.array([[0.0, 0.5] + [0.0] * (A.shape[0] - 2)] + [[0.0] * A.shape[0]] *
                                                   (A.shape[0] - 1))
    return anp.sum(X * anp.linalg.solve(S, X.T).T) + anp.linalg.slogdet(S)[1]


def _written_after_inverse_ag(A, X, mu):
    import autograd.numpy as anp
    S = A @ A.T + anp.eye(A.shape[0])
    Si = anp.linalg.inv(S)
    S = S + anp.array([[0.0, 0.5] + [0.0] * (A.shape[0] - 2)] + [[0.0] * A.shape[0]] * (A.shape[0] - 1))
    return anp.sum(X @ Si * X) + anp.sum(anp.linalg.solve(S, X.T))


AUTOGRAD = {written_before_inverse: _written_before_inverse_ag, written_after_inverse: _written_after_inverse_ag}
PROGRAMS = [gauss_nll, gram_left_nll, inverse_weights, not_symmetric, another_array, rebound_between,
            written_before_inverse, written_after_inverse]


def _inputs(f, dtype):
    rng = np.random.default_rng(7)
    A = (rng.normal(size=(4, 4)) * 0.5 + np.eye(4)).astype(dtype)
    return A, rng.normal(size=(30, 4)).astype(dtype), (rng.normal(size=4) * 0.1).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("f", PROGRAMS, ids=[f.__name__ for f in PROGRAMS])
def test_gradients_against_autograd_and_differences(f, dtype):
    args = _inputs(f, dtype)
    g = s2s.grad(f)(*[a.copy() for a in args])
    assert g.shape == args[0].shape and g.dtype == dtype
    wide = [a.astype(np.float64) for a in args]
    ref = autograd.grad(AUTOGRAD.get(f) or autograd_version(f))(*wide)
    tol = 1e-9 if dtype == np.float64 else 2e-3
    np.testing.assert_allclose(g, ref, rtol=tol, atol=tol * np.max(np.abs(ref)))
    if dtype == np.float64:
        fd = fd_grad(lambda *a: f(*[x.copy() for x in a]), wide)
        np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6 * np.max(np.abs(fd)))


def _code(f):
    args = _inputs(f, np.float64)
    g = s2s.grad(f)
    g(*[a.copy() for a in args])
    return s2s.source(g, *args)


def test_benchmark_nll_reads_its_solve():
    code = _code(gauss_nll)
    assert "S_bar = -0.5 * (solve @ solve.T)" in code and "S_inv.T" not in code, code


@pytest.mark.parametrize("f, kept", [(not_symmetric, "S_inv.T @"), (another_array, "S_inv.T @"),
                                     (rebound_between, "S_inv.T @"), (written_before_inverse, "solve(S.T,")])
def test_no_symmetric_rewrite_where_not_proven(f, kept):
    code = _code(f)
    assert kept in code, code


def test_complex_arguments_right_or_refused():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)) * 0.1 + 2.0 * np.eye(4)

    def f(A):
        S = A @ A.T + np.eye(4)
        return np.real(np.sum(np.linalg.inv(S)))

    try:
        g = s2s.grad(f)(A)
    except s2s.S2SError:
        return
    np.testing.assert_allclose(g, autograd.grad(autograd_version(f))(A), rtol=1e-9, atol=1e-12)
