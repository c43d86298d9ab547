"""Straight-line losses of small elementwise operations (helper 159): np.std / np.var's adjoint written out where
the shapes are known, an array broadcast where the statement's other operand broadcasts it anyway, `t = 1.0 * e`
then `t op= v` as `t = e op v`, and a tuple or dict argument's gradient with a Python float item returned as made
(`s2s.finish` of that item alone). The numbers are the general code's, bit for bit."""

import numpy as np
import pytest
from helpers_fd import check_all

import s2s


def standardize(X, C):
    mu = np.mean(X, axis=0)
    sd = np.std(X, axis=0)
    return np.sum(np.tanh((X - mu) / sd) * C)


def spread_rows(X, C):
    return np.sum(np.var(X, axis=1, ddof=1) * C[:, 0]) + np.sum(np.std(X, axis=-1, keepdims=True) * C)


def spread_all(X, C):
    return np.std(X * C) + np.var(X) ** 2


def huber_pair(params, X, y):
    w, b = params
    r = X @ w + b - y
    return np.mean(np.where(np.abs(r) <= 1.0, 0.5 * r * r, np.abs(r) - 0.5))


def pinball_dict(p, X, y):
    r = y - (X @ p["w"] + p["b"])
    return np.mean(np.where(r >= 0, 0.3 * r, -0.7 * r))


def code(f, *args):
    src = s2s.source(s2s.grad(f), *args)
    return "\n".join(line for line in src.splitlines() if not line.strip().startswith("#"))


R = np.random.default_rng(31)


@pytest.mark.parametrize("f", [standardize, spread_rows, spread_all], ids=lambda f: f.__name__)
def test_std_and_var_written_out(f):
    X, C = R.normal(size=(7, 4)), R.normal(size=(7, 4))
    src = code(f, X, C)
    assert "grad_std" not in src and "grad_var" not in src, src
    # (the number factors are taken on the reduced shape first, and a divisor constant along a sum comes out of it:
    # the general code's numbers up to rounding, docs/specialisation.md)
    np.testing.assert_allclose(s2s.grad(f)(X, C), s2s.derivative(f)(X, C), rtol=1e-13, atol=1e-15)
    check_all(f, (X, C))


@pytest.mark.parametrize("case", ["constant_column", "nan", "float32"])
def test_std_written_out_at_a_constant_column_nan_and_float32(case):
    rng = np.random.default_rng(58)  # (its own: the module's R gives data that depends on the tests run before)
    X, C = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    if case == "constant_column":
        X[:, 1] = 2.5  # (the deviation 0: safe_div's 0 there, as in the general code)
    if case == "nan":
        X[2, 2] = np.nan
    if case == "float32":
        X, C = X.astype(np.float32), C.astype(np.float32)
    def same_up_to_rounding(got, general):
        # (float32: rounding is relative to the sums' scale, not to an entry that cancels to a hundredth of it; 14% of
        # seeds gave such an entry a relative difference over 1e-6, always under 6e-8 of the largest entry)
        scale = 1e-6 * np.nanmax(np.abs(general)) if case == "float32" else 0.0
        np.testing.assert_allclose(got, general, rtol=1e-6 if case == "float32" else 1e-14, atol=scale, equal_nan=True)

    with np.errstate(invalid="ignore", divide="ignore"):
        got, general = s2s.grad(spread_rows)(X.T.copy(), C.T.copy()), s2s.derivative(spread_rows)(X.T.copy(), C.T.copy())
        assert got.dtype == general.dtype == X.dtype
        same_up_to_rounding(got, general)
        got, general = s2s.grad(standardize)(X, C), s2s.derivative(standardize)(X, C)
        same_up_to_rounding(got, general)


def test_a_mean_broadcast_where_the_sum_broadcasts_it_anyway():
    X, C = R.normal(size=(9, 4)), R.normal(size=(9, 4))
    assert "broadcast_to" not in code(standardize, X, C)


def test_a_container_with_a_python_float_is_returned_as_made():
    X, y = R.normal(size=(12, 3)), R.normal(size=12)
    pair = (R.normal(size=3), 0.25)
    src = code(huber_pair, pair, X, y)
    assert "as_container_of(params, [" in src and "params[1])" in src, src  # (finish of the float item alone)
    got = s2s.grad(huber_pair)(pair, X, y)
    assert type(got) is tuple and type(got[1]) is float and got[0].shape == (3,)
    general = s2s.derivative(huber_pair)(pair, X, y)
    np.testing.assert_array_equal(got[0], general[0])
    assert got[1] == general[1] and type(general[1]) is float
    p = {"w": R.normal(size=3), "b": -0.5}
    src = code(pinball_dict, p, X, y)
    assert "{'w':" in src, src
    got = s2s.grad(pinball_dict)(p, X, y)
    assert list(got) == ["w", "b"] and type(got["b"]) is float
    np.testing.assert_allclose(got["w"], s2s.derivative(pinball_dict)(p, X, y)["w"], rtol=1e-14)
    check_all(lambda w, b: pinball_dict({"w": w, "b": b}, X, y), (p["w"], p["b"]), wrt=(0, 1), use_autograd=False)


def more_freedom_than_entries(X):
    return np.sum(np.var(X, axis=1, ddof=4))


def test_ddof_above_the_count_divides_by_zero_as_numpy_does():
    """(helper 160: the adjoint divided by n - ddof = -1, a finite gradient of an infinite variance)"""
    X = np.arange(6.0).reshape(2, 3)
    with np.errstate(divide="ignore", invalid="ignore"), pytest.warns(RuntimeWarning):
        assert np.all(np.isinf(more_freedom_than_entries(X)) | np.isnan(more_freedom_than_entries(X)))
        for g in (s2s.grad(more_freedom_than_entries)(X), s2s.derivative(more_freedom_than_entries)(X)):
            assert not np.isfinite(g).any()


def relu_total(x):
    return np.sum(np.maximum(x, 0.0)) + np.sum(np.minimum(x, 1.0) * 2.0) + np.max(x)


@pytest.mark.parametrize("make", [list, tuple, np.array], ids=["list", "tuple", "array"])
def test_a_clamp_of_a_list_argument(make):
    # (helper 164: the mask `x > 0.0` was written on x itself, a list: TypeError in the generated code; and the
    # general helper's tie test `x == 1.0` of a list was one False, not a mask: x[0] at the tie got all of the
    # minimum's adjoint, not half)
    x = make([1.0, -2.0, 0.5])
    expected = [1.0 + 2.0 * 0.5 + 1.0, 0.0 + 2.0, 1.0 + 2.0]
    got = s2s.grad(relu_total)(x)
    assert type(got) is type(x)
    np.testing.assert_array_equal(np.asarray(got), expected)
