"""np.pad's adjoint in specialised code: for mode 'constant', int widths and an adjoint of the padded shape, the
entries that were the array's (`p_bar[1:11].copy()`) instead of s2s.grad_pad.
Each against central differences, autograd and the general code; other modes keep the helper. (numba has no
np.pad: compiled code of a pad falls back, with a warning.)"""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import check_all_and_general

R = np.random.default_rng(53)


def second_differences(x, w):
    p = np.pad(x, 1)
    d = np.diff(p, 2)
    return np.sum(w * d ** 2)


def padded_rows_and_columns(X):
    P = np.pad(X, ((1, 0), (0, 2)))
    return np.sum(np.sin(P) ** 2 * P)


def named_widths(x):
    widths = (2, 1)
    p = np.pad(x, widths, mode="constant")
    return np.sum(np.cumsum(p) ** 2)


def one_pair_for_all_axes(X):
    P = np.pad(X, (1, 2))
    return np.sum(np.tanh(P) * P[::-1])


def zero_widths(x):
    p = np.pad(x, 0)
    return np.sum(p ** 3)


def three_d(x):
    p = np.pad(x, ((0, 1), (1, 1), (2, 0)))
    return np.sum(np.exp(-p * p))


def edge_mode(x):
    p = np.pad(x, 2, mode="edge")
    return np.sum(p ** 2 * np.arange(1.0, p.size + 1.0))


CASES = {
    "second_differences": (second_differences, (R.normal(size=10), R.random(10)), (0, 1)),
    "rows_and_columns": (padded_rows_and_columns, (R.normal(size=(3, 4)),), 0),
    "named_widths": (named_widths, (R.normal(size=6),), 0),
    "one_pair": (one_pair_for_all_axes, (R.normal(size=(3, 4)),), 0),
    "zero_widths": (zero_widths, (R.normal(size=5),), 0),
    "three_d": (three_d, (R.normal(size=(2, 3, 2)),), 0),
    "edge": (edge_mode, (R.normal(size=5),), 0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_differences_autograd_and_the_general_code(name):
    f, args, wrt = CASES[name]
    # (autograd pads with zeros only, and needs the mode given: differences alone judge the others)
    check_all_and_general(f, args, wrt=wrt, use_autograd=name == "named_widths")


@pytest.mark.parametrize("name", ["second_differences", "rows_and_columns", "named_widths", "one_pair", "three_d"])
def test_the_constant_pad_s_adjoint_is_a_slice(name):
    f, args, wrt = CASES[name]
    src = s2s.source(s2s.grad(f, wrt=wrt), *args)
    assert "grad_pad" not in src and ".copy()" in src, src


def test_float32_keeps_its_dtype():
    x, w = (a.astype(np.float32) for a in CASES["second_differences"][1])
    g = s2s.grad(second_differences)(x, w)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, s2s.grad(second_differences)(x.astype(np.float64), w.astype(np.float64)),
                               rtol=1e-4, atol=1e-5)
