"""A sum of the seed broadcast over a sum's terms is a count (transforms/specialize.py
`_sum_of_a_broadcast_number`): `np.sum(0.5 * z ** 2 + log_s)` gives log_s the adjoint `np.full((8,), n)`
without summing n rows of ones, and the product `0.5 * 2` the other term's adjoint carries is folded (helper 157:
a Gaussian loss 2.15x -> 1.60x its hand gradient). Only where every partial sum is exact: the count is the
general code's, bit for bit."""

import numpy as np
import pytest
from helpers_fd import check_all

import s2s


def gauss(mu, log_s, X):
    z = (X - mu) / np.exp(log_s)
    return np.sum(0.5 * z ** 2 + log_s)


def biased(w, b, X):
    return np.sum(np.tanh(X @ w) + b)


def kept_rows(a, c, X):
    return np.sum(np.sin(X * a) + c, axis=(0, 2)).sum() + np.sum(c ** 2)


def averaged(mu, log_s, X):
    z = (X - mu) / np.exp(log_s)
    return np.mean(0.5 * z ** 2 + log_s)  # (the seed 1/n: not a power of two, its sums are left as they are)


def code(src):
    return "\n".join(line for line in src.splitlines() if not line.strip().startswith("#"))


R = np.random.default_rng(7)
X = R.normal(size=(100, 8))


def test_a_sum_of_the_seed_is_a_count():
    args = (R.normal(size=8), 0.1 * R.normal(size=8), X)
    src = code(s2s.source(s2s.grad(gauss, wrt=(0, 1)), *args))
    assert "np.full((8,), 100.0)" in src and "broadcast_to" not in src and "0.5 * 2" not in src, src
    check_all(gauss, args, wrt=(0, 1))
    mu_bar, log_s_bar = s2s.grad(gauss, wrt=(0, 1))(*args)
    general = s2s.derivative(gauss, wrt=(0, 1))(*args)
    np.testing.assert_array_equal(mu_bar, general[0])
    # (log_s's other term divides by exp(log_s) out of its sum over the rows: rounded otherwise, docs/specialisation.md)
    np.testing.assert_allclose(log_s_bar, general[1], rtol=1e-12)


def test_a_scalar_bias_gets_the_count_as_a_number():
    args = (R.normal(size=8), 0.3, X)
    src = code(s2s.source(s2s.grad(biased, wrt=(0, 1)), *args))
    assert "np.float64(100.0)" in src or "100.0" in src, src
    w_bar, b_bar = s2s.grad(biased, wrt=(0, 1))(*args)
    assert b_bar == 100.0 and type(b_bar) in (float, np.float64)
    check_all(biased, args, wrt=(0, 1))


def test_sums_over_several_axes_and_kept_axes():
    a, c, Y = R.normal(size=(1, 4, 1)), R.normal(size=(1, 4, 1)), R.normal(size=(3, 4, 5))
    check_all(kept_rows, (a, c, Y), wrt=(0, 1))
    for got, general in zip(s2s.grad(kept_rows, wrt=(0, 1))(a, c, Y), s2s.derivative(kept_rows, wrt=(0, 1))(a, c, Y)):
        np.testing.assert_array_equal(got, general)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_mean_and_float32_give_the_general_codes_numbers(dtype):
    args = tuple(np.asarray(v, dtype=dtype) for v in (R.normal(size=8), 0.1 * R.normal(size=8), X))
    got = s2s.grad(averaged, wrt=(0, 1))(*args)
    general = s2s.derivative(averaged, wrt=(0, 1))(*args)
    for g, e in zip(got, general):
        assert g.dtype == e.dtype == dtype
        np.testing.assert_allclose(g, e, rtol=1e-6 if dtype == np.float32 else 1e-14)
    if dtype == np.float64:
        check_all(averaged, args, wrt=(0, 1))
