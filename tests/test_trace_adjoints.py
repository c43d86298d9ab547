"""The adjoint of np.trace in specialised code: `g * np.eye(n)` written out (an array also for a zero g, where
the runtime helper gives the zero 0.0: the specialised code once multiplied that 0.0 by a matrix and raised),
a product with that identity folded (`transforms/products.identity_products`, float64 code only), and the
forward products only the value reads dropped (np.trace cannot raise on a matrix)."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import check_all


def zero_times_trace(A, C):
    return 0.0 * np.trace(A @ C) + np.sum(A)


def scaled_trace(A, C, s):
    return s * np.trace(A @ C) + np.sum(A * A)


def trace_chain(A, B, C):
    return np.trace(A @ B @ A.T @ C)


def offset_trace(A, B):
    return np.trace(A @ B, 1) + np.trace(B @ A, -1)


def _code(src):
    return "\n".join(line for line in src.splitlines() if not line.strip().startswith("#"))


def test_a_zero_adjoint_of_a_trace_is_a_matrix_of_zeros():
    A, C = np.random.default_rng(0).normal(size=(2, 3, 3))
    np.testing.assert_array_equal(s2s.grad(zero_times_trace)(A, C), np.ones((3, 3)))
    np.testing.assert_allclose(s2s.grad(scaled_trace)(A, C, 0.0), 2.0 * A, rtol=1e-15)


@pytest.mark.parametrize("f, make, wrt", [
    (scaled_trace, lambda r: (r.normal(size=(4, 4)), r.normal(size=(4, 4)), 0.7), (0, 1, 2)),
    (trace_chain, lambda r: tuple(r.normal(size=(5, 5)) for _ in range(3)), (0, 1, 2)),
    (offset_trace, lambda r: (r.normal(size=(4, 3)), r.normal(size=(3, 4))), (0, 1)),  # (offsets, non-square)
])
def test_trace_gradients(f, make, wrt):
    check_all(f, make(np.random.default_rng(1)), wrt=wrt)


def test_the_identity_is_multiplied_by_nothing():
    A, B, C = np.random.default_rng(3).normal(size=(3, 6, 6))
    g = s2s.grad(trace_chain)
    g(A, B, C)
    code = _code(s2s.source(g, A, B, C))
    assert "grad_trace" not in code and "np.eye" not in code and "np.trace" not in code, code
    assert "t2_bar = s2s.eye_product(C.T, None, 6, True)" in code, code  # (a new copy of C.T: no product)
    g = s2s.grad(scaled_trace)
    g(A, C, 0.5)
    code = _code(s2s.source(g, A, C, 0.5))
    assert "s2s.eye_product(C.T, s, 6, True)" in code and "np.eye" not in code, code


def test_float32_code_keeps_the_product_with_the_float64_identity():
    """`np.eye(n) @ M` of a float32 M is float64; M itself is not: the product stays."""
    A, B, C = (a.astype(np.float32) for a in np.random.default_rng(4).normal(size=(3, 5, 5)))
    got = s2s.grad(trace_chain)(A, B, C)
    want = s2s.grad(trace_chain)(*(a.astype(np.float64) for a in (A, B, C)))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-5)
    g = s2s.grad(trace_chain)
    g(A, B, C)
    assert "np.eye(5)" in _code(s2s.source(g, A, B, C))


def identity_then_loop(A, x):
    P = np.eye(3)
    y = P @ x
    for _ in range(3):
        y = y + P @ x
        P = A @ P
    return np.sum((P @ x) ** 2) + np.sum(y ** 2)


def test_an_identity_bound_again_in_a_loop_is_not_folded_there():
    """`P = np.eye(3)` at the top, then `P @ x` in a loop that binds P again: the binding a read in the loop sees
    is not the identity after the first trip (the loop is one top-level statement; only simple ones are folded)."""
    r = np.random.default_rng(6)
    args = (0.5 * r.normal(size=(3, 3)), r.normal(size=3))
    check_all(identity_then_loop, args, wrt=(0, 1))


# ---- a product with an identity is a new array: later passes update it in place (helper 121's reproducers)

def trace_beside_sines(M, C):
    return np.sum(np.sin(C)) + np.trace(M @ C)


def identity_then_update(M, C):
    E = np.eye(3)
    T = np.sin(M)
    return np.sum(T * C * C) + np.sum((E @ T) * C) + np.sum(np.sin(C))


def identity_then_item_write(M):
    E = np.eye(3)
    S = E @ M
    S[0, 0] = 0.0
    return np.sum(np.sin(S)) + np.sum(M * M)


def identity_beside_its_operand(M):
    E = np.eye(3)
    return np.sum(np.sin(M)) + np.sum(E @ M) + np.sum(M @ E)


def identity_times_other(M, C):
    E = np.eye(3)
    return np.sum((E @ M) * C)


def identity_of_a_nan(M):
    E = np.eye(3)
    return np.sum(np.sin(E @ M))


@pytest.mark.parametrize("f, wrt", [(trace_beside_sines, (0, 1)), (identity_then_update, (0, 1)),
                                    (identity_then_item_write, (0,)), (identity_beside_its_operand, (0,)),
                                    (identity_times_other, (0, 1))], ids=lambda v: getattr(v, "__name__", str(v)))
def test_identity_products_never_hand_out_an_argument(f, wrt):
    """Twice, with the same arrays: the arguments unchanged, the gradients right and sharing no memory with them."""
    rng = np.random.default_rng(20)
    args = tuple(rng.normal(size=(3, 3)) for _ in range(f.__code__.co_argcount))
    kept = [a.copy() for a in args]
    g = s2s.grad(f, wrt=wrt)
    first = g(*args)
    second = g(*args)
    for a, k in zip(args, kept):
        np.testing.assert_array_equal(a, k)
    for x, y in zip(first, second):
        np.testing.assert_array_equal(x, y)
        assert not any(np.shares_memory(x, a) for a in args)
    if f is not identity_then_item_write:  # (autograd has no item assignment)
        check_all(f, args, wrt=wrt)
    else:
        check_all(f, args, wrt=wrt, use_autograd=False)


def test_a_non_finite_factor_keeps_the_products_nans():
    """(E @ M) with an inf in M: 0 * inf is NaN across its column, as the product computes it (M alone would not)."""
    M = np.random.default_rng(21).normal(size=(3, 3))
    M[0, 0] = np.inf
    got = s2s.grad(identity_of_a_nan)(M)
    want = s2s.grad(identity_of_a_nan, optimize=False)(M)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
