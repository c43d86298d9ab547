"""s2s.grad's seed is the number 1.0 in its shape-specialised code (transforms/seed.py).

Each program: the seed's product is gone from the source, the gradient equals the general
code's (s2s.derivative, which keeps the seed a keyword) exactly, and central differences and
autograd agree.
"""

import numpy as np
from helpers_fd import check_all

import s2s


def path_length(P):
    e = 0.0
    for i in range(P.shape[0] - 1):
        d = P[i + 1] - P[i]
        e = e + np.linalg.norm(d)
    return e


def mean_square(W, x):
    return np.mean((x @ W) ** 2)


def scaled(x, n):
    return x * n


def scaled_sum(x, c):
    return np.sum(x) * c


def _rng(seed):
    return np.random.default_rng(seed)


def test_norm_adjoint_loses_the_seed_product():
    P = _rng(0).normal(size=(12, 3))
    src = s2s.source(s2s.grad(path_length), P)
    assert "e_bar *" not in src and "* e_bar" not in src, src
    assert "d_bar = d / (norm if norm != 0 else 1)" in src, src
    assert "# e_bar is 1.0 here: s2s.grad never passes it" in src, src
    np.testing.assert_array_equal(s2s.grad(path_length)(P), s2s.derivative(path_length)(P))
    check_all(path_length, (P,))


def test_literal_arithmetic_of_the_seed_is_folded():
    W, x = _rng(1).normal(size=(4, 3)), _rng(2).normal(size=(5, 4))
    src = s2s.source(s2s.grad(mean_square), W, x)
    assert "mean_bar /" not in src and "mean_bar *" not in src, src
    np.testing.assert_array_equal(s2s.grad(mean_square)(W, x), s2s.derivative(mean_square)(W, x))
    check_all(mean_square, (W, x))


def test_float32_gradient_stays_float32():
    W, x = _rng(3).normal(size=(4, 3)).astype(np.float32), _rng(4).normal(size=(5, 4)).astype(np.float32)
    got = s2s.grad(mean_square)(W, x)
    assert got.dtype == np.float32
    # (the literals `1 / 15 * 2` folded, transforms/products.py moves the one factor past the product: the same
    # numbers but for float32 rounding)
    np.testing.assert_allclose(got, s2s.derivative(mean_square)(W, x), rtol=1e-6, atol=1e-7)


def test_an_integer_factor_keeps_the_float_gradient():
    # x_bar = out_bar * n: 1.0 * 3 is the float 3.0, so the product stays (n is an int, not a real float)
    g = s2s.grad(scaled)(2.5, 3)
    assert type(g) is float and g == 3.0
    got = s2s.grad(scaled_sum)(np.ones(3), 3)
    assert got.dtype == np.float64 and got.tolist() == [3.0] * 3


def test_number_seed_product_folded_only_where_float64():
    x = _rng(5).normal(size=4)
    assert s2s.grad(scaled_sum)(x, 2.0).tolist() == [2.0] * 4
    x32 = x.astype(np.float32)
    got = s2s.grad(scaled_sum)(x32, np.float32(2.0))
    assert got.dtype == np.float32 and got.tolist() == [2.0] * 4


def test_other_entry_points_still_take_the_seed():
    # the general code and vjp pass the output's adjoint: it is not taken for 1.0 there
    P = _rng(6).normal(size=(6, 3))
    np.testing.assert_allclose(s2s.derivative(path_length)(P, e_bar=2.0), 2.0 * s2s.grad(path_length)(P), rtol=1e-15)
    value, pullback = s2s.vjp(path_length, P)
    np.testing.assert_allclose(pullback(3.0)[0] if isinstance(pullback(3.0), tuple) else pullback(3.0),
                               3.0 * s2s.grad(path_length)(P), rtol=1e-15)
