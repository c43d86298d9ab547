"""Adversarial probes of module helpers adopted into the caller (transforms/adopt.py) and of the expansion
reading constant arguments as literals (transforms/inline.py): each was wrong or refused before its fix;
each is checked against central differences and autograd, and where the helper is expanded, that it is."""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import s2s
from tests.helpers_fd import assert_close, fd_grad

# ---- a helper's helper that returns a constant (its result's binding was propagated away) -------------


def constant_of(x, k=3.0):
    return k


def scaled_by_constant(x, k=2.0):
    return x * constant_of(x)


def calls_scaled_by_constant(x):
    return np.sum(scaled_by_constant(x))


def returns_only_if(x, c=1.5):
    if c:
        return c


def calls_returns_only_if(x):
    return np.sum(x * returns_only_if(x))


def ag_calls_scaled_by_constant(x):
    return anp.sum(x * 3.0)


def ag_calls_returns_only_if(x):
    return anp.sum(x * 1.5)


CONSTANT_RESULTS = [
    (calls_scaled_by_constant, ag_calls_scaled_by_constant),
    (calls_returns_only_if, ag_calls_returns_only_if),
]


@pytest.mark.parametrize("f, ag", CONSTANT_RESULTS, ids=[c[0].__name__ for c in CONSTANT_RESULTS])
def test_a_helper_returning_a_constant_argument_keeps_its_result(f, ag):
    x = np.array([0.5, -1.5, 2.0])
    value, got = s2s.value_and_grad(f)(x)
    assert_close(value, f(x))
    assert_close(got, autograd.grad(ag)(x), rtol=1e-12)
    assert_close(got, fd_grad(f, (x,), 0))
    assert "_vjp" not in s2s.source(s2s.grad(f), x)  # expanded, not called


# ---- `.T` in a single-expression helper (expanded by `lower`, after desugar read the caller's `.T`) -------


def transposed_times(A, v):
    return A.T @ v


def calls_transposed_times(A):
    return np.sum(transposed_times(A, np.ones(2)) ** 2)


def calls_transposed_of_a_row(A):
    return np.sum(transposed_times(A[0], A[1]))


def local_lambda_transposed(A):
    tr = lambda M: M.T @ np.ones(2)  # noqa: E731
    return np.sum(tr(A) ** 2)


def local_def_real_transposed(A):
    def tr(M):
        return M.real.T @ np.ones(2)
    return np.sum(tr(A) ** 2)


def ag_transposed(A):
    return anp.sum(anp.dot(A.T, anp.ones(2)) ** 2)


def ag_transposed_of_a_row(A):
    return anp.sum(A[0] * A[1])


TRANSPOSES = [
    (calls_transposed_times, ag_transposed, (2, 3)),
    (calls_transposed_of_a_row, ag_transposed_of_a_row, (2, 2)),
    (local_lambda_transposed, ag_transposed, (2, 3)),
    (local_def_real_transposed, ag_transposed, (2, 3)),
]


@pytest.mark.parametrize("f, ag, shape", TRANSPOSES, ids=[c[0].__name__ for c in TRANSPOSES])
def test_transpose_in_a_single_expression_helper(f, ag, shape):
    A = np.random.default_rng(2).normal(size=shape)
    got = s2s.grad(f)(A)
    assert_close(got, autograd.grad(ag)(A), rtol=1e-12)
    assert_close(got, fd_grad(f, (A,), 0))
    assert_close(s2s.jvp(f, (A,), (np.ones(shape),))[1], np.sum(got))


# ---- a module helper called inside a local function of the caller (a local helper may not call another) --

Z = 2.0


def times_global(x, k=1.0):
    y = x * Z
    return y * k


def times_global_plain(x):
    return x * Z


def local_def_calls_helper_with_default(x):
    def f(z):
        w = times_global(z) * 2.0
        return w
    return np.sum(f(x) ** 2)


def local_def_calls_plain_helper(x):
    def f(z):
        return times_global_plain(z)
    return np.sum(f(x) ** 2)


def ag_local_def_calls_helper_with_default(x):
    return anp.sum((x * 4.0) ** 2)


def ag_local_def_calls_plain_helper(x):
    return anp.sum((x * 2.0) ** 2)


LOCAL_CALLERS = [
    (local_def_calls_helper_with_default, ag_local_def_calls_helper_with_default),
    (local_def_calls_plain_helper, ag_local_def_calls_plain_helper),
]


@pytest.mark.parametrize("f, ag", LOCAL_CALLERS, ids=[c[0].__name__ for c in LOCAL_CALLERS])
def test_a_helper_called_in_a_local_function_stays_a_call(f, ag):
    x = np.array([0.5, -1.5, 2.0])
    got = s2s.grad(f)(x)
    assert_close(got, autograd.grad(ag)(x), rtol=1e-12)
    assert_close(got, fd_grad(f, (x,), 0))


# ---- `p is None` of a parameter given a number (compiled, `-0.5 is None` warns; an error under -W error) ---


def clipped(x, lo=None, hi=3.0):
    if lo is None:
        return np.minimum(x, hi)
    if hi is not None:
        return np.clip(x, lo, hi)
    return np.maximum(x, lo)


def calls_clipped(x):
    return np.sum(clipped(x) ** 2 + clipped(x, -0.5) ** 3 + clipped(x, 0.1, None))


def ag_calls_clipped(x):
    return anp.sum(anp.minimum(x, 3.0) ** 2 + anp.clip(x, -0.5, 3.0) ** 3 + anp.maximum(x, 0.1))


def test_identity_tests_of_constant_arguments_compile_without_warnings():
    import warnings
    x = np.array([0.7, -1.2, 2.3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = s2s.grad(calls_clipped)(x)
    assert_close(got, autograd.grad(ag_calls_clipped)(x), rtol=1e-12)
    assert_close(got, fd_grad(calls_clipped, (x,), 0))
