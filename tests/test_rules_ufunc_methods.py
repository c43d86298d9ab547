"""The rules of ufuncs' reductions and accumulations (s2s/rules/reductions.py): np.add.reduce, np.multiply.reduce,
np.maximum.reduce, np.minimum.reduce, np.logaddexp.reduce (a log-sum-exp without SciPy), np.add.accumulate and
np.multiply.accumulate, each along axis 0 where none is given (np.sum's default is None). Gradients against
central differences, the shapes the shapes pass claims against NumPy's, and the words for a method without a rule."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.conftest import check_grad

R = np.random.default_rng(31)
W = R.normal(size=(3, 4))

PROGRAMS = {
    "add_reduce": lambda x: np.sum(np.add.reduce(x * x) * W[0]),
    "add_reduce_axis1": lambda x: np.sum(np.add.reduce(np.sin(x), axis=1) ** 2),
    "add_reduce_all_keepdims": lambda x: np.sum(np.add.reduce(x ** 3, axis=None, keepdims=True)),
    "multiply_reduce": lambda x: np.sum(np.multiply.reduce(x, 1) * W[:, 0]),
    "maximum_reduce": lambda x: np.sum(np.maximum.reduce(x * W) ** 2),
    "minimum_reduce_keepdims": lambda x: np.sum(np.minimum.reduce(x, axis=1, keepdims=True) * W),
    "logaddexp_reduce": lambda x: np.sum(np.logaddexp.reduce(x * W, axis=1)),
    "logaddexp_reduce_axis0": lambda x: np.sum(np.logaddexp.reduce(x) * W[1]),
    "add_accumulate": lambda x: np.sum(np.add.accumulate(x) ** 2 * W),
    "multiply_accumulate_axis1": lambda x: np.sum(np.multiply.accumulate(x, axis=1) * W),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_ufunc_method_gradients(name):
    x = R.normal(size=(3, 4)) + (2.0 if "multiply" in name else 0.0)
    check_grad(PROGRAMS[name], x, ag=False)  # (autograd has no ufunc methods)


def test_log_sum_exp_by_logaddexp_is_the_softmax():
    x = R.normal(size=(3, 4)) * 3.0
    g = s2s.grad(lambda x: np.sum(np.logaddexp.reduce(x, axis=1)))(x)
    np.testing.assert_allclose(g, np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_the_specialised_code_is_right_and_specialised(name):
    """The shapes the rules claim make the code specialised (no `unbroadcast`), and its gradient is the general
    code's (a wrong shape would drop an `unbroadcast` that was needed)."""
    f = PROGRAMS[name]
    x = R.normal(size=(3, 4)) + (2.0 if "multiply" in name else 0.0)
    g = s2s.grad(f)
    assert "unbroadcast(" not in s2s.source(g, x)
    np.testing.assert_allclose(g(x), s2s.grad(f, optimize=False)(x), rtol=1e-12, atol=1e-14)


def test_a_ufunc_method_without_a_rule_is_named():
    with pytest.raises(s2s.NoDerivativeRuleError, match=r"no derivative rule for np\.hypot\.accumulate"):
        s2s.grad(lambda x: np.sum(np.hypot.accumulate(x) ** 2))(np.arange(4.0))


def test_a_third_positional_argument_is_the_dtype_and_is_refused():
    """NumPy's order is `reduce(array, axis, dtype, out, keepdims)` (helper 176: a dtype read as keepdims gave
    wrong gradients): a dtype other than the default is refused, keepdims by keyword is followed."""
    x = R.normal(size=(3, 3))
    with pytest.raises(s2s.UnsupportedSyntaxError, match="dtype=None"):
        s2s.grad(lambda x: np.sum(np.add.reduce(x, 1, np.float64) * W[0, :3]))(x)
    check_grad(lambda x: np.sum(np.add.reduce(x, 1, None, None, True) * W[:, :1]), x, ag=False)


def test_reduceat_is_refused_as_a_function_without_a_rule():
    with pytest.raises(s2s.NoDerivativeRuleError, match=r"np\.add\.reduceat"):
        s2s.grad(lambda x: np.sum(np.add.reduceat(x, [0, 2], axis=1) ** 2))(R.normal(size=(2, 4)))


NAN_AT = (slice(None), 1)  # (one column of NaNs, one entry of another row too)


def _with_nans(x):
    y = np.array(x, dtype=float)
    y[NAN_AT] = np.nan
    y[0, 3] = np.nan
    return y


NAN_PROGRAMS = {  # (stop 59: the NaN-ignoring ufunc methods and scans, np.ldexp)
    "fmax_reduce": lambda x: np.sum(np.fmax.reduce(_with_nans(x) * W, axis=1) ** 2),
    "fmin_reduce_axis0": lambda x: np.nansum(np.fmin.reduce(_with_nans(x) ** 3)),  # (an all-NaN column: NaN)
    "fmax_accumulate": lambda x: np.sum(np.nan_to_num(np.fmax.accumulate(_with_nans(x) * W, axis=1)) ** 2),
    "fmin_accumulate": lambda x: np.sum(np.nan_to_num(np.fmin.accumulate(_with_nans(x))) * W),
    "nancumsum": lambda x: np.sum(np.nancumsum(_with_nans(x) * W, axis=1) ** 2),
    "nancumsum_flat": lambda x: np.sum(np.nancumsum(np.sin(_with_nans(x))) * np.arange(12.0)),
    "nancumprod": lambda x: np.sum(np.nancumprod(_with_nans(x) + 2.0, axis=0) * W),
    "ldexp": lambda x: np.sum(np.ldexp(x, np.array([1, -2, 0, 3])) ** 2),
    "ldexp_broadcast": lambda x: np.sum(np.sin(np.ldexp(x[:, :1], np.array([[0, 1, 2]]))) * W[:, :3]),
}


@pytest.mark.parametrize("name", sorted(NAN_PROGRAMS))
def test_nan_ignoring_methods_and_ldexp(name):
    """NaN entries (read as absent) get no adjoint; the others match central differences."""
    x = R.normal(size=(3, 4))
    check_grad(NAN_PROGRAMS[name], x, ag=False)
    assert np.all(np.isfinite(s2s.grad(NAN_PROGRAMS[name])(x)))


def test_nancumsum_matches_cumsum_of_the_numbers_and_spacing_is_constant():
    x = R.normal(size=(3, 4))
    mask = np.isnan(_with_nans(x))
    by_nan = s2s.grad(lambda x: np.sum(np.nancumsum(_with_nans(x), axis=1) * W))(x)
    by_hand = s2s.grad(lambda x: np.sum(np.cumsum(np.where(mask, 0.0, x), axis=1) * W))(x)
    np.testing.assert_allclose(by_nan, by_hand, rtol=1e-12)
    np.testing.assert_array_equal(s2s.grad(lambda x: np.sum(np.spacing(x) * 3.0 + x))(x), np.ones_like(x))


def test_clip_by_numpy_2_keywords():
    """Helper 196: `x.clip(min=0.2)` (NumPy 2.1's names of a_min and a_max) was refused as a parameter s2s did not
    know; both names bind the same bound (a rule's `aliases=`)."""
    def lower(x):
        return np.sum(x.clip(min=0.2) ** 2)

    def upper(x, hi):
        return np.sum(np.clip(x, max=hi) ** 2)

    def both(x):
        return np.sum(np.clip(x, min=0.2, max=0.8) * x)

    x = np.array([0.1, 0.5, 0.9, 0.3])
    check_grad(lower, x, ag=False)
    check_grad(upper, x, 0.6, ag=False)
    check_grad(upper, x, 0.6, wrt=1, ag=False)
    check_grad(both, x, ag=False)
    np.testing.assert_array_equal(s2s.grad(both)(x), s2s.grad(lambda x: np.sum(np.clip(x, 0.2, 0.8) * x))(x))
