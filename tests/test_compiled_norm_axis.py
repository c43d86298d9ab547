"""`np.linalg.norm(x, axis=k)` in compiled code (numba's norm takes no axis): the 2-norm along a constant axis,
keepdims or not, ord None or 2 (`numba_lowering._norm_along` -> `_s2s_variance(x, "norm", ...)`). Each against
the NumPy code and central differences (stop 47's note: a k-means or RBF distance fell back)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers_fd import compiled_matches

pytest.importorskip("numba")
R = np.random.default_rng(48)


def log_distances(mu, X):
    d = np.linalg.norm(X - mu, axis=1)
    return np.sum(np.log1p(d))


def kept_columns(A):
    n = np.linalg.norm(A, axis=0, keepdims=True)
    return np.sum((A / n) ** 3)


def last_axis_of_three(T, w):
    return np.sum(np.linalg.norm(T, 2, -1) * w)


def rbf_features(C, X, gamma=0.5):
    total = 0.0
    for i in range(X.shape[0]):
        r = np.linalg.norm(C - X[i], ord=None, axis=1)
        total += np.sum(np.exp(-gamma * r * r))
    return total


CASES = {
    "log_distances": (log_distances, (R.normal(size=4), R.normal(size=(10, 4))), 0),
    "kept_columns": (kept_columns, (R.normal(size=(5, 3)),), 0),
    "three_d": (last_axis_of_three, (R.normal(size=(2, 3, 4)), R.random((2, 3))), 0),
    "rbf_loop": (rbf_features, (R.normal(size=(6, 3)), R.normal(size=(4, 3))), 0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_norm_along_an_axis_matches(name):
    f, args, wrt = CASES[name]
    compiled_matches(f, args, wrt=wrt)


def test_float32_norms_keep_their_dtype():
    import s2s

    args = (R.normal(size=4).astype(np.float32), R.normal(size=(10, 4)).astype(np.float32))
    got = s2s.grad(log_distances, compile="strict")(*args)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, s2s.grad(log_distances)(*args), rtol=2e-5)


def test_a_zero_row_has_the_numpy_codes_adjoint():
    X = R.normal(size=(6, 4))
    mu = X[2].copy()
    import s2s
    got = s2s.grad(log_distances, compile="strict")(mu, X)
    np.testing.assert_allclose(got, s2s.grad(log_distances)(mu, X), rtol=1e-12)


def test_other_orders_and_matrix_norms_are_left_to_the_numpy_code():
    import ast

    from transforms.numba_lowering import _norm_along
    for text in ("np.linalg.norm(x, 1, axis=0)", "np.linalg.norm(x, axis=(0, 1))", "np.linalg.norm(x, axis=k)",
                 "np.linalg.norm(x, np.inf, 1)", "np.linalg.norm(x, axis=1, keepdims=flag)"):
        call = ast.parse(text).body[0].value
        assert not _norm_along(call), text
        assert ast.unparse(call) == text

