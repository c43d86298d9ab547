"""A Gaussian-process likelihood summed over tasks in a loop (`sign, logdet = np.linalg.slogdet(K)` and
`np.linalg.solve(K, y)` each trip; helper 141's g1): log|det|'s adjoint reads `logdet_bar` itself, not an item
of the list `s2s.getitem_grad` makes (its compiled code fell back on that list), and the trip's solves read the
one inverse the trip computes (transforms/inverses.py, within the loop's body). Against central differences
and autograd, the general code and the compiled code."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import check_all_and_general, compiled_matches

R = np.random.default_rng(1452)
XS = [R.normal(size=(5, 2)) for _ in range(3)]
YS = [R.normal(size=5) for _ in range(3)]


def tasks_nll(log_sn, log_ell, Xs, Ys):
    nll = 0.0
    for k in range(len(Xs)):
        X = Xs[k]
        y = Ys[k]
        D2 = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=2)
        K = np.exp(-0.5 * D2 / np.exp(2 * log_ell)) + np.exp(log_sn) * np.eye(len(X))
        sign, logdet = np.linalg.slogdet(K)
        alpha = np.linalg.solve(K, y)
        nll = nll + 0.5 * y @ alpha + 0.5 * logdet
    return nll


def inverse_in_a_branch(log_sn, X, y):
    total = 0.0
    for k in range(2):
        K = X @ X.T + np.exp(log_sn + k) * np.eye(len(X))
        alpha = np.linalg.solve(K, y)
        total = total + y @ alpha
        if k > 0:
            total = total + np.sum(np.linalg.inv(K))
    return total


def test_tasks_gradient():
    check_all_and_general(tasks_nll, (np.log(0.3), np.log(0.8), XS, YS), wrt=(0, 1))


def test_one_inverse_per_trip_and_no_list_adjoint():
    text = s2s.source(s2s.grad(tasks_nll, wrt=(0, 1)), np.log(0.3), np.log(0.8), XS, YS)
    text = "\n".join(line for line in text.splitlines() if not line.strip().startswith("#"))
    assert "getitem_grad" not in text and "slogdet_bar" not in text, text
    assert text.count("np.linalg.inv(K)") == 1 and "np.linalg.solve" not in text, text


def test_tasks_compiled():
    pytest.importorskip("numba")
    compiled_matches(tasks_nll, (np.log(0.3), np.log(0.8), np.stack(XS), np.stack(YS)), wrt=(0, 1))


def test_an_inverse_only_in_a_branch_leaves_the_solves():
    args = (np.log(0.5), R.normal(size=(4, 2)), R.normal(size=4))
    check_all_and_general(inverse_in_a_branch, args, wrt=0)
    text = s2s.source(s2s.grad(inverse_in_a_branch), *args)
    assert "np.linalg.solve(K" in "\n".join(line for line in text.splitlines() if not line.strip().startswith("#"))


def tasks_nll_clipped(log_sn, Xs, Ys):
    nll = 0.0
    for k in range(Xs.shape[0]):
        X = Xs[k]
        K = X @ X.T + np.exp(log_sn) * np.eye(X.shape[0])
        sign, logdet = np.linalg.slogdet(K)
        alpha = np.maximum(np.linalg.solve(K, Ys[k]), 0.0)
        nll = nll + 0.5 * Ys[k] @ alpha + 0.5 * logdet
    return nll


def test_a_placeholder_numba_cannot_type_is_named():
    # (helper 147: numba's own "'Optional' object has no attribute 'dtype'" was all the message said)
    pytest.importorskip("numba")
    from s2s.errors import NotCompilableError
    args = (np.log(0.3), np.stack(XS), np.stack(YS))
    try:
        got = s2s.grad(tasks_nll_clipped, compile="strict")(*args)
    except NotCompilableError as exc:
        assert "Optional" not in str(exc) or "placeholder" in str(exc), str(exc)
    else:
        np.testing.assert_allclose(got, s2s.grad(tasks_nll_clipped)(*args), rtol=1e-9)
