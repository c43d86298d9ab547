"""`np.stack(items, axis=1)` / `np.concatenate(items, axis=...)` of a list of real floats is real (helper 102).

The realness of a stack called with `axis=` was unknown (the rule's `real` took no keywords), so everything
computed from it was not known to be real, and the index adjoint of `logw[k]` in a loop stayed a dense
`logw_bar = logw_bar + s2s.getitem_grad(t_bar, logw, k)` per trip, not `logw_bar[k] += ...` (an adjoint that may
be complex cannot go into one element of a real array: NumPy drops its imaginary part).
"""

import numpy as np
import pytest

import s2s
from tests.helpers_fd import assert_close, fd_grad


def gmm_components(logits, mus, log_sig, X):
    logw = logits - np.log(np.sum(np.exp(logits)))
    comps = []
    for k in range(mus.shape[0]):
        d = (X - mus[k]) / np.exp(log_sig[k])
        comps.append(logw[k] - 0.5 * np.sum(d ** 2, axis=1) - np.sum(log_sig[k]))
    L = np.stack(comps, axis=1)
    m = np.max(L, axis=1, keepdims=True)
    return -np.sum(m[:, 0] + np.log(np.sum(np.exp(L - m), axis=1)))


def concatenated_rows(w, X):
    rows = []
    for k in range(w.shape[0]):
        rows.append(np.tanh(X * w[k]))
    Z = np.concatenate(rows, axis=0)
    return np.sum(Z ** 2)


def data(seed=3):
    r = np.random.default_rng(seed)
    return r.normal(size=4), r.normal(size=(4, 2)), r.normal(size=(4, 2)) * 0.3, r.normal(size=(30, 2))


@pytest.mark.parametrize("wrt", [0, 1, 2])
def test_gmm_gradient(wrt):
    args = data()
    assert_close(s2s.grad(gmm_components, wrt=wrt)(*args), fd_grad(gmm_components, args, wrt=wrt))


def test_gmm_index_adjoint_accumulates_in_place():
    printed = s2s.source(s2s.grad(gmm_components, wrt=(0, 1, 2)), *data())
    in_place = "logw_bar[k] +=" in printed or "logw_bar_items[k] +=" in printed  # (into the items' list: item_sums)
    assert in_place and "getitem_grad(t" not in printed.split("logw_bar = np.zeros")[1]


def test_concatenate_with_axis():
    r = np.random.default_rng(4)
    args = (r.normal(size=3), r.normal(size=(5, 2)))
    assert_close(s2s.grad(concatenated_rows)(*args), fd_grad(concatenated_rows, args))
