"""np.linalg.qr: the adjoint and tangent of its factors (q and r as LAPACK gives them, of a full-rank matrix),
tall, square and wide, stacked, in modes 'reduced', 'complete' (where q is unique) and 'r', against central
differences; a program that orthonormalises with it; and the refusals (mode 'raw', q's extra columns of a
tall matrix under 'complete', a rank-deficient matrix)."""

import numpy as np
import pytest
from helpers_fd import assert_close, check_grad
from test_functions_as_values import jvp_check

import s2s

W = np.random.default_rng(11).normal(size=(2, 6, 6))


def both_factors(a):
    q, r = np.linalg.qr(a)
    return np.sum(np.sin(q) * W[0, : q.shape[-2], : q.shape[-1]]) + np.sum(r ** 2 * W[1, : r.shape[-2], : r.shape[-1]])


def r_only(a):
    r = np.linalg.qr(a, mode="r")
    return np.sum(np.cos(r) * W[1, : r.shape[-2], : r.shape[-1]])


def complete_of_a_wide_matrix(a):
    q, r = np.linalg.qr(a, "complete")
    return np.sum(np.sin(q) * W[0, : q.shape[-2], : q.shape[-1]]) + np.sum(r * W[1, : r.shape[-2], : r.shape[-1]])


def q_alone_by_field(a):
    return np.sum(np.linalg.qr(a).Q[..., 0] ** 3)


SHAPES = [(5, 3), (3, 3), (3, 5), (2, 4, 3), (2, 3, 4)]
CASES = [(f, shape) for f in (both_factors, r_only, q_alone_by_field) for shape in SHAPES] + \
    [(complete_of_a_wide_matrix, shape) for shape in SHAPES if shape[-2] <= shape[-1]]


@pytest.mark.parametrize("f, shape", CASES, ids=[f"{f.__name__}-{'x'.join(map(str, s))}" for f, s in CASES])
def test_against_differences(f, shape):
    a = np.random.default_rng(len(shape) * 10 + shape[-1]).normal(size=shape)
    g = s2s.grad(f)(a)
    check_grad(g, f, (a,))
    assert_close(s2s.derivative(f)(a), g, rtol=1e-10, atol=1e-12)
    jvp_check(f, (a,))


def gram_schmidt_loss(w, x):
    # orthonormal features from w's QR, a least-squares fit through them
    q, _ = np.linalg.qr(w)
    coef = q.T @ x
    return np.sum((q @ coef - x) ** 2) + 0.1 * np.sum(coef ** 2)


def test_a_program_through_an_orthonormal_basis():
    rng = np.random.default_rng(3)
    w, x = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    for wrt in (0, 1):
        check_grad(s2s.grad(gram_schmidt_loss, wrt=wrt)(w, x), gram_schmidt_loss, (w, x), wrt=wrt)


def raw_mode(a):
    h, tau = np.linalg.qr(a, mode="raw")
    return np.sum(h) + np.sum(tau)


def complete_of_a_tall_matrix(a):
    q, r = np.linalg.qr(a, mode="complete")
    return np.sum(q * q[::-1]) + np.sum(r)


def rank_deficient(a):
    q, r = np.linalg.qr(np.outer(a[:, 0], a[0]))
    return np.sum(q) + np.sum(r)


@pytest.mark.parametrize("f, needle", [(raw_mode, "mode='raw'"), (complete_of_a_tall_matrix, "not unique"),
                                       (rank_deficient, "rank-deficient")], ids=["raw", "complete-tall", "rank"])
def test_where_the_factors_have_no_derivative_it_is_refused(f, needle):
    a = np.random.default_rng(4).normal(size=(4, 3))
    with pytest.raises(s2s.NoDerivativeRuleError, match="np.linalg.qr") as err:
        s2s.grad(f)(a)
    assert needle in str(err.value)


def test_a_hessian_through_qr_is_refused_not_wrong():
    a = np.random.default_rng(6).normal(size=(4, 3))
    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        s2s.hessian(both_factors)(a)
    # (told at your line since stop 59, not at the generated code's)
    message = str(info.value)
    assert "test_qr.py\", line 17" in message and "q, r = np.linalg.qr(a)" in message and "grad_qr" in message


@pytest.mark.parametrize("second", [lambda f: s2s.jacfwd(s2s.jacrev(f)), lambda f: s2s.jacrev(s2s.jacrev(f)),
                                    lambda f: s2s.jacfwd(s2s.grad(f))], ids=["jacfwd-jacrev", "jacrev-jacrev",
                                                                              "jacfwd-grad"])
def test_composed_second_derivatives_through_qr_are_refused_at_your_line(second):
    """Stop 60: refused in the tangent code of the function, which has no comments to read your line from: the
    line map of the generated code gives it."""
    a = np.random.default_rng(6).normal(size=(4, 3))
    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        second(both_factors)(a)
    message = str(info.value)
    assert "test_qr.py\", line 17" in message and "q, r = np.linalg.qr(a)" in message and "<s2s" not in message


def test_the_specialised_code_knows_the_factors_shapes():
    a = np.random.default_rng(5).normal(size=(5, 3))
    text = s2s.source(s2s.grad(both_factors), a)
    assert "s2s.grad_qr(" in text and "unbroadcast" not in text


def complete_of_a_tall_matrix_read_for_r_and_q_s_first_columns(a):
    q, r = np.linalg.qr(a, mode="complete")
    return np.sum(np.sin(r) * W[1, : r.shape[-2], : r.shape[-1]]) + np.sum(q[..., : a.shape[-1]] ** 3)


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 2)], ids=["5x3", "2x4x2"])
def test_complete_mode_of_a_tall_matrix_where_q_s_last_columns_are_not_read(shape):
    # (r's last rows are zeros, q's first columns the reduced q: both have a derivative; q's last columns have none,
    # and reading them is refused, tests above)
    a = np.random.default_rng(7).normal(size=shape)
    f = complete_of_a_tall_matrix_read_for_r_and_q_s_first_columns
    check_grad(s2s.grad(f)(a), f, (a,))
