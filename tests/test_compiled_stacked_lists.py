"""A list the user appends arrays to in a loop, stacked or joined along any constant axis (`np.stack(L, axis=1)`,
`np.concatenate(L, axis=1)`), in compiled code: `_s2s_stack_list(L, axis)`, `_s2s_concat_list(L, axis)` and the
numba `grad_stack` and `grad_concatenate` along that axis (a GMM's components stacked along axis 1 and a
multi-head attention's heads joined fell back). Against the NumPy code and central differences."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers_fd import compiled_matches
from tests.test_stacked_realness import gmm_components as mixture  # (the one GMM program of the tests)

pytest.importorskip("numba")
R = np.random.default_rng(57)


def last_axis(w, xs):
    cols = []
    for t in range(xs.shape[0]):
        cols.append(np.sin(w @ xs[t]))
    S = np.stack(cols, axis=-1)
    return np.sum(S[:, 1:] * S[:, :-1])


def middle_of_three(W, xs):
    slabs = []
    for t in range(xs.shape[0]):
        slabs.append(np.tanh(W * xs[t]))
    S = np.stack(slabs, 1)
    return np.sum(S ** 2 * np.arange(1.0, S.shape[1] + 1.0)[None, :, None])


def numbers_along_last(w, xs):
    vals = []
    for t in range(xs.shape[0]):
        vals.append(np.sum(np.sin(w * xs[t])))
    v = np.stack(vals, axis=-1)
    return np.sum(v[1:] * v[:-1])


def heads_joined(Wq, Wv, X):
    Q = X @ Wq
    V = X @ Wv
    outs = []
    for h in range(2):
        q = Q[:, 2 * h:2 * h + 2]
        v = V[:, 2 * h:2 * h + 2]
        P = np.exp(q @ q.T)
        P = P / P.sum(axis=1, keepdims=True)
        outs.append(P @ v)
    return np.sum(np.concatenate(outs, axis=1) ** 2)


def rows_joined(w, xs):
    parts = []
    for t in range(xs.shape[0]):
        parts.append(np.tanh(w * xs[t])[None, :])
    J = np.concatenate(parts)
    return np.sum(J[1:] * J[:-1])


def last_axis_joined(W, xs):
    parts = []
    for t in range(xs.shape[0]):
        parts.append(np.sin(W * xs[t])[:, :, None] * np.ones(t + 1))
    J = np.concatenate(parts, axis=-1)
    return np.sum(J ** 2 * np.arange(J.shape[-1]))


CASES = {
    "mixture": (mixture, (R.normal(size=3), R.normal(size=(3, 2)), R.normal(size=(3, 2)) * 0.3, R.normal(size=(8, 2))),
                (0, 1, 2)),
    "last_axis": (last_axis, (R.normal(size=(3, 4)), R.normal(size=(5, 4))), (0,)),
    "middle_of_three": (middle_of_three, (R.normal(size=(3, 2)), R.normal(size=(4, 3, 2))), (0, 1)),
    "numbers_along_last": (numbers_along_last, (R.normal(size=3), R.normal(size=(5, 3))), (0,)),
    "heads_joined": (heads_joined, (R.normal(size=(3, 4)) * 0.5, R.normal(size=(3, 4)), R.normal(size=(5, 3))), (0, 1)),
    "rows_joined": (rows_joined, (R.normal(size=3), R.normal(size=(4, 3))), (0,)),
    "last_axis_joined": (last_axis_joined, (R.normal(size=(2, 3)), R.normal(size=(3, 2, 3))), (0,)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_matches_the_numpy_code_and_differences(name):
    f, args, wrt = CASES[name]
    compiled_matches(f, args, wrt=tuple(wrt))  # (one compile for all the arguments)
