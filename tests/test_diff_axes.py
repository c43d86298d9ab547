"""np.diff along an axis given as a keyword (`np.diff(u, axis=0)`): real, so the specialised code drops the
loss's value nobody reads and adds in place; its adjoint's common call (one difference, an adjoint array of the
difference's shape) is two slice updates; compiled code takes it along any constant axis (`_s2s_diff`: numba's
diff takes none). Helper 142's total-variation objective ran at 1.9x its hand gradient and fell back."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
import s2s.runtime.rearrange as rearrange
from tests.helpers_fd import check_all_and_general, compiled_matches

R = np.random.default_rng(54)


def total_variation(u, y, lam):
    dx = np.diff(u, axis=0)
    dy = np.diff(u, axis=1)
    d2 = np.diff(u, 2, 0)
    smooth = np.sum(np.sqrt(1e-4 + dx ** 2)) + np.sum(np.sqrt(1e-4 + dy ** 2))
    return 0.5 * np.sum((u - y) ** 2) + lam * smooth + 0.01 * np.sum(d2 ** 2)


def rows_only(u):
    d = np.diff(u, axis=0)
    return np.sum(np.sqrt(1e-4 + d ** 2))


ARGS = (R.normal(size=(7, 6)), R.normal(size=(7, 6)), 0.3)


def test_gradients_match_differences_autograd_and_the_general_code():
    check_all_and_general(total_variation, ARGS, wrt=(0, 1, 2))
    check_all_and_general(rows_only, (R.normal(size=(5, 4)),))


def test_the_value_nobody_reads_is_not_computed():
    src = s2s.source(s2s.grad(rows_only), R.normal(size=(5, 4)))
    assert "= np.sum(" not in src and "out =" not in src, src


@pytest.mark.parametrize("shape, n, axis", [((7, 6), 2, 0), ((5,), 3, 0), ((3, 4, 5), 2, -1), ((2, 3), 2, 0)])
def test_several_differences_adjoint_is_the_transposed_jacobian(shape, n, axis):
    a = R.normal(size=shape)
    g = R.normal(size=np.diff(a, n, axis).shape)
    jacobian = np.stack([np.diff(e.reshape(shape), n, axis).ravel() for e in np.eye(a.size)], axis=1)
    np.testing.assert_allclose(rearrange.grad_diff(g, a, n, axis), (g.ravel() @ jacobian).reshape(shape), rtol=1e-12)


@pytest.mark.parametrize("shape, axis", [((6,), 0), ((4, 5), 0), ((4, 5), 1), ((4, 5), -1), ((2, 3, 4), 1), ((1, 3), 0)])
def test_the_adjoint_s_common_call_is_the_general_one_s(shape, axis):
    a = R.normal(size=shape)
    g = R.normal(size=np.diff(a, axis=axis).shape)
    k = axis % a.ndim
    want = np.zeros_like(a)  # (the general loop's numbers: g added into the later entries, taken from the earlier)
    want[(slice(None),) * k + (slice(1, None),)] += g
    want[(slice(None),) * k + (slice(None, -1),)] -= g
    np.testing.assert_array_equal(rearrange.grad_diff(g, a, 1, axis), want)
    assert rearrange.grad_diff(g.astype(np.float32), a, 1, axis).dtype == np.float32


def test_compiled_matches():
    pytest.importorskip("numba")
    compiled_matches(total_variation, ARGS, wrt=(0, 2))
    compiled_matches(rows_only, (R.normal(size=(1, 4)),))  # (one row: the difference is empty)


def test_one_difference_s_adjoint_goes_into_the_gradient_in_place():
    src = s2s.source(s2s.grad(total_variation), *ARGS)
    assert "[1:] += dx_bar" in src and "[:, :-1] -= dy_bar" in src and "grad_diff(dx_bar" not in src, src


def rows_of_one(u, w):
    d = np.diff(u, axis=0)
    return np.sum(u * w) + np.sum(d ** 2)


def test_an_axis_of_one_entry_adds_nothing():
    check_all_and_general(rows_of_one, (R.normal(size=(1, 4)), R.normal(size=(1, 4))))


def smoothness_penalty(v, x, y):
    return np.sum((v[:3] * x - y) ** 2) + 0.1 * np.sum(np.diff(v, 2) ** 2) + 0.05 * np.sum(np.diff(v) ** 2)


def columns_smoothed(W):
    return np.sum(np.diff(W, 2, axis=0) ** 2) + np.sum(np.diff(W, axis=0) ** 2)


@pytest.mark.parametrize("f, args", [(smoothness_penalty, (R.normal(size=7), R.normal(size=3), R.normal(size=3))),
                                     (columns_smoothed, (R.normal(size=(5, 3)),))],
                         ids=["second_difference", "along_axis_0"])
def test_a_difference_s_adjoint_that_makes_the_gradient_is_written_out(f, args):
    """`v_bar = s2s.grad_diff(g, v, 2, -1)`, the first binding of the gradient: `v_bar = np.zeros(S)` and the three
    slice updates of the second difference's adjoint (the helper: two zeros arrays and four updates)."""
    src = s2s.source(s2s.grad(f), *args)
    assert "grad_diff(" not in src and "-= 2.0 * " in src, src
    check_all_and_general(f, args, wrt=0)
