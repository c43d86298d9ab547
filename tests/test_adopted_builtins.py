"""A module helper that calls a builtin its caller does not (`range`, `len`) is expanded in the caller, as the
generated code binds that builtin to that name (helper 153: it stayed a call with a pullback of general code, a
convolution 7.3x its hand gradient); not where the helper's module has a `range` of its own."""

import adopted_builtin_helpers as helpers
import numpy as np
import pytest
import shadowed_range_helpers as shadowed
from helpers_fd import fd_grad

import s2s

T = np.linspace(0.0, 1.0, 8)


def uses_len(c):
    return np.sum(helpers.scaled_by_count(c, T) ** 2)


def uses_range(c):
    return np.sum(helpers.grown(c) ** 2)


def convolved(w, x):
    return np.sum(np.tanh(helpers.conv_valid(x, w)) ** 2)


def shadowed_range(c):
    return np.sum(shadowed.grown(c) ** 2)


RNG = np.random.default_rng(12)


@pytest.mark.parametrize("f, args", [(uses_len, (RNG.normal(size=(4, 2)),)), (uses_range, (RNG.normal(size=(4, 2)),)),
                                     (convolved, (RNG.normal(size=(3, 3)), RNG.normal(size=(7, 6))))],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_a_helper_calling_a_builtin_is_expanded(f, args):
    df = s2s.grad(f)
    np.testing.assert_allclose(df(*args), fd_grad(f, args), rtol=1e-6, atol=1e-8)
    text = s2s.source(df, *args)
    assert "_vjp(" not in text and "unbroadcast(" not in text


def test_a_helper_whose_module_shadows_range_reads_its_own_range():
    c = RNG.normal(size=(4, 2))
    np.testing.assert_allclose(s2s.grad(shadowed_range)(c), fd_grad(shadowed_range, (c,)), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(s2s.grad(shadowed_range)(c), 2 * 1.5 ** 4 * c, rtol=1e-12)  # (two trips, not three)
