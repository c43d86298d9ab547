"""np.sign, np.angle and np.imag of a real array have the zero derivative (`s2s.zero_of_real`, which refuses a
complex value): where the shapes show the value real, the specialised code adds nothing for them, and the
adjoints around keep their shapes (a recurrent loop clipping its state with `c * np.sign(z)` kept
`unbroadcast` and general matrix-product adjoints, and its compiled code fell back). Checked against central
differences, autograd and the general code."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import s2s
from tests.helpers_fd import check_all_and_general, compiled_matches

R = np.random.default_rng(49)


def clipped_recurrence(W, h0, xs, c):
    h = h0
    for t in range(xs.shape[0]):
        z = W @ h + xs[t]
        h = np.tanh(np.where(np.abs(z) > c, c * np.sign(z), z))
    return np.sum(h ** 2)


def soft_sign_loss(w, X):
    r = X @ w
    return np.sum(np.sign(r) * r ** 2) + np.sum(np.angle(r) * w[0])


def imag_of_real(x):
    return np.sum(np.imag(x) + x ** 2)


def sign_times_itself(x):
    s = np.sign(x)
    return np.sum(s * x * np.exp(x))


CASES = {
    "clipped": (clipped_recurrence, (R.normal(size=(6, 6)) * 0.6, R.normal(size=6), R.normal(size=(7, 6)), 0.8),
                (0, 1, 2)),
    "soft_sign": (soft_sign_loss, (R.normal(size=3), R.normal(size=(8, 3))), (0, 1)),
    "imag": (imag_of_real, (R.normal(size=5),), 0),
    "sign_times": (sign_times_itself, (R.normal(size=5),), 0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_differences_autograd_and_the_general_code(name):
    f, args, wrt = CASES[name]
    check_all_and_general(f, args, wrt=wrt)


def test_the_clipped_recurrence_is_specialised():
    f, args, wrt = CASES["clipped"]
    src = s2s.source(s2s.grad(f, wrt=wrt), *args)
    for general in ("zero_of_real", "unbroadcast", "grad_matmul", "grad_where", "+ 0.0"):
        assert general not in src, src


def clipped_by_np_clip(W, h0, xs, c):
    h = h0
    for t in range(xs.shape[0]):
        z = W @ h + xs[t]
        h = np.tanh(np.clip(z, -c, c))
    return np.sum(h ** 2)


def test_the_recurrence_clipped_by_np_clip_compiles():
    pytest.importorskip("numba")
    _, args, _ = CASES["clipped"]
    compiled_matches(clipped_by_np_clip, args, wrt=0)


def test_the_sign_clipped_recurrence_compiled_gives_the_numpy_code_s_numbers():
    """(its mask `np.abs(z) > c` is on a list tape whose first push is the placeholder None: numba types it
    Optional, and its np.where takes no Optional; compile=True then runs the NumPy code, with a warning)"""
    pytest.importorskip("numba")
    f, args, _ = CASES["clipped"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = s2s.grad(f, compile=True)(*args)
    np.testing.assert_allclose(got, s2s.grad(f)(*args), rtol=1e-12)
