"""Number factors and repeated work the chain rule leaves in straight-line adjoints (helper 163's programs, written
afresh): the adjoint of `c * z ** 2` is `c * g * 2 * z`, of `-0.5 * z ** 2` is `-0.5 * g * 2 * z`, and a penalty
`0.5 * alpha * np.sum(w * w)` gives `2.0 * (0.5 * alpha * w)`. Where every number literal of a product is a power of
two they are multiplied into one, through a temporary read once by the next statement (transforms/simplify.py
`fold_power_of_two_factors`): exact, the general code's numbers bit for bit. A sum over an axis computed twice
(`-g.sum(axis=0)` and `g.sum(axis=0)`, a mixture's two parameters) is computed once (transforms/shared_calls.py).
A standardisation's adjoint reads the mean the function computed, takes a divisor constant along a sum out of it
and writes its last term into the array it made (transforms/specialize.py, transforms/reuse.py): rounded otherwise
(docs/specialisation.md), so checked against the general code to 1e-13."""

import re

import numpy as np
import pytest
from helpers_fd import check_all

import s2s


def springs(x, k, rest):
    d = np.diff(x, axis=0)
    length = np.sqrt(np.sum(d * d, axis=1))
    return 0.5 * np.sum(k * (length - rest) ** 2) + 9.81 * np.sum(x[:, 1])


def mixture(mu, log_s, logits, x):
    w = logits - np.max(logits)
    w = w - np.log(np.sum(np.exp(w)))
    z = (x[:, None] - mu[None, :]) / np.exp(log_s)[None, :]
    lp = w - 0.5 * z ** 2 - log_s
    m = np.max(lp, axis=1, keepdims=True)
    return -np.sum(m[:, 0] + np.log(np.sum(np.exp(lp - m), axis=1)))


def poisson_penalised(w, X, y, alpha):
    eta = X @ w
    return np.sum(np.exp(eta) - y * eta) + 0.5 * alpha * np.sum(w * w)


def standardised_fit(X, w):
    mu = np.mean(X, axis=0)
    sd = np.std(X, axis=0)
    Z = (X - mu) / (sd + 1e-8)
    return np.sum((Z @ w) ** 2) / X.shape[0]


def code(f, *args, wrt=0):
    src = s2s.source(s2s.grad(f, wrt=wrt), *args)
    return "\n".join(line for line in src.splitlines() if not line.strip().startswith("#"))


R = np.random.default_rng(61)


def test_powers_of_two_through_a_temporary():
    x, k = R.normal(size=(9, 2)), 1.5
    src = code(springs, x, k, 0.8)
    assert "0.5 * k" not in src and "* 2" not in src, src
    check_all(springs, (x, k, 0.8), use_autograd=False)  # (autograd: np.diff along an axis)
    # (np.diff's adjoint is added into x_bar in place, `x_bar[1:] += g; x_bar[:-1] -= g`: a sum in another order
    # than the general code's `x_bar + s2s.grad_diff(g, ...)`, so an ulp apart)
    np.testing.assert_allclose(s2s.grad(springs)(x, k, 0.8), s2s.derivative(springs)(x, k, 0.8), rtol=1e-15, atol=1e-14)


def test_a_negated_half_and_a_repeated_sum():
    args = (R.normal(size=3), 0.3 * R.normal(size=3), R.normal(size=3), R.normal(size=20))
    src = code(mixture, *args, wrt=(0, 1, 2))
    assert "-0.5 *" not in src and "* 2 *" not in src, src
    sums = re.findall(r"(\w+)\.sum\(axis=0\)", src)
    assert len(sums) == len(set(sums)), src  # (`-g.sum(axis=0)` and `g.sum(axis=0)`: one sum read twice)
    check_all(mixture, args, wrt=(0, 1, 2))
    for got, general in zip(s2s.grad(mixture, wrt=(0, 1, 2))(*args), s2s.derivative(mixture, wrt=(0, 1, 2))(*args)):
        np.testing.assert_allclose(got, general, rtol=1e-13, atol=1e-15)


def test_a_penalty_of_half_alpha():
    args = (0.1 * R.normal(size=4), R.normal(size=(12, 4)), R.poisson(2.0, size=12).astype(float), 0.7)
    src = code(poisson_penalised, *args)
    assert "w_bar = alpha * w" in src and "2.0 *" not in src, src
    check_all(poisson_penalised, args)
    np.testing.assert_array_equal(s2s.grad(poisson_penalised)(*args), s2s.derivative(poisson_penalised)(*args))


def test_standardisation_reads_its_mean_and_sums_before_dividing():
    X, w = R.normal(size=(16, 5)), R.normal(size=5)
    src = code(standardised_fit, X, w)
    assert "X.mean(axis=0, keepdims=True)" not in src and "(X - mu[None])" in src, src
    assert "(Z_bar * Z).sum(axis=0) / t2" in src and "X_bar +=" in src, src
    check_all(standardised_fit, (X, w))
    np.testing.assert_allclose(s2s.grad(standardised_fit)(X, w), s2s.derivative(standardised_fit)(X, w), rtol=1e-13,
                               atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_kept(dtype):
    x = R.normal(size=(9, 2)).astype(dtype)
    assert s2s.grad(springs)(x, 1.5, 0.8).dtype == dtype
    args = (0.1 * R.normal(size=4).astype(dtype), R.normal(size=(12, 4)).astype(dtype),
            R.poisson(2.0, size=12).astype(dtype), 0.7)
    assert s2s.grad(poisson_penalised)(*args).dtype == dtype


def test_an_int_factor_keeps_the_literals():
    def f(w, n):
        return np.sum(0.5 * (w * n) ** 2)  # (n an int array: n * 2 * 0.5 would be an int product without them)

    w, n = R.normal(size=3), np.array([1, 2, 3])
    np.testing.assert_allclose(s2s.grad(f)(w, n), w * n * n)


def barrier(x, A, b, c, t):
    s = b - A @ x
    return t * (c @ x) - np.sum(np.log(s)) + 0.5 * np.sum(x ** 2)


def test_a_folded_product_is_never_the_argument_itself():
    # (`x_bar = 0.5 * 2 * x` folded to `x_bar = x`, then `x_bar += t * c`, written in place before the fold: the
    # gradient was added into the caller's x)
    x, A = 0.05 * R.normal(size=4), R.normal(size=(10, 4))
    b, c = R.uniform(1.0, 2.0, size=10), R.normal(size=4)
    kept = x.copy()
    got = s2s.grad(barrier)(x, A, b, c, 2.0)
    np.testing.assert_array_equal(x, kept)
    np.testing.assert_allclose(got, 2.0 * c + (1.0 / (b - A @ x)) @ A + x, rtol=1e-12)
    assert got is not x


def ridge(w, X, y):
    r = np.tanh(X @ w) - y
    return np.sum(r * r) * 0.005 + 0.001 * np.sum(w * w)


def test_a_power_of_two_goes_into_a_literal_that_is_none():
    # (`2.0 * (0.001 * w)` is `0.002 * w`, `0.005 * (2.0 * e)` is `0.01 * e`: the literal that is no power of two
    # keeps its place, so the numbers are the same bit for bit; helper 166's float32 regression)
    w, X, y = R.normal(size=5), R.normal(size=(12, 5)), R.normal(size=12)
    src = code(ridge, w, X, y)
    assert "0.002 * w" in src and "2.0 *" not in src, src
    # (0.01 then moves onto the smaller array, `0.01 * (t_bar @ X)`: transforms/products.py, rounded otherwise)
    np.testing.assert_allclose(s2s.grad(ridge)(w, X, y), s2s.derivative(ridge)(w, X, y), rtol=1e-14, atol=1e-17)
    check_all(ridge, (w, X, y))



@pytest.mark.parametrize("expr, folded", [
    ("2.0 * (0.5 * alpha * w)", "alpha * w"), ("-0.5 * g * 2 * z", "-(g * z)"), ("2.0 * (0.001 * w)", "0.002 * w"),
    ("0.005 * (2.0 * (t @ X))", "0.01 * (t @ X)"), ("-(0.3 * x)", "-0.3 * x"), ("x / 2 * 2", "x"),
    # (the literal scaled is the chain's own, found by identity: the 0.3 inside the sum is another number)
    ("(z * 0.3 + 1.0) * (u * (v * 0.3)) * 2.0", "(z * 0.3 + 1.0) * (u * (v * 0.6))"),
    ("0.3 * x", None), ("a * 2", None), ("3.0 * x * 2.5", None),
])
def test_the_product_folds(expr, folded):
    import ast

    from s2s.transforms.simplify import _folded_product
    out = _folded_product(ast.parse(expr, mode="eval").body, lambda e: True)
    assert (None if out is None else ast.unparse(out)) == folded


def norm_penalty(u, f, lam=0.1):
    dx = u[1:, :] - u[:-1, :]
    dy = u[:, 1:] - u[:, :-1]
    return 0.5 * np.sum((u - f) ** 2) + lam * np.sum(np.sqrt(1e-3 + dx[:, :-1] ** 2 + dy[:-1, :] ** 2))


def test_a_factor_every_read_of_a_temporary_takes_goes_into_its_binding():
    """The adjoint of `np.sqrt(s)` scales by 0.5 / sqrt, each square's by 2: `t = lam * 0.5 / sqrt` read as
    `t * 2 * dx` and `t * 2 * dy` is `t = lam / sqrt`, read as `t * dx` and `t * dy`, bit for bit."""
    u, f = R.normal(size=(6, 7)), R.normal(size=(6, 7))
    src = code(norm_penalty, u, f)
    assert "0.5" not in src and "* 2 *" not in src and re.search(r"= lam / sqrt", src), src
    check_all(norm_penalty, (u, f))
    np.testing.assert_array_equal(s2s.grad(norm_penalty)(u, f), s2s.derivative(norm_penalty)(u, f))


@pytest.mark.parametrize("src, scaled", [
    ("t = a * 0.5 / s\ny = t * 2 * x\nz = t * 2 * w", "t = a / s"),
    # no factor the literal cancels: the product each read made, made once at the binding
    ("t = a / s\ny = t * 2 * x\nz = t * 2 * w", "t = a / s * 2"),
    # a read without the factor, another factor, a factor that is no power of two: left
    ("t = a * 0.5 / s\ny = t * 2 * x\nz = t * w", None),
    ("t = a * 0.5 / s\ny = t * 2 * x\nz = t * 4 * w", None),
    ("t = a * 0.5 / s\ny = t * 3 * x\nz = t * 3 * w", None),
    # bound twice: left
    ("t = a * 0.5 / s\ny = t * 2 * x\nt = a / s\nz = t * 2 * w", None),
])
def test_the_factor_goes_into_the_binding_only_where_every_read_takes_it(src, scaled):
    import ast

    from s2s.transforms.names import name_counts
    from s2s.transforms.simplify import _scale_into_bindings
    fdef = ast.parse("def f(a, s, x, w):\n" + "\n".join("    " + line for line in src.splitlines())).body[0]
    loads, stores = name_counts(fdef)
    changed = _scale_into_bindings(fdef, {"t"}, loads, stores, lambda e: True)
    assert changed == (scaled is not None)
    if scaled is not None:
        assert ast.unparse(fdef.body[0]) == scaled and "1.0 * t * x" in ast.unparse(fdef)


def log_penalty(x, y, lam):
    return lam * np.sum(np.log(1.0 + x ** 2 + y ** 2))


def test_a_factor_moved_into_a_binding_overflows_where_the_reads_did():
    """Helper 189: `t = lam / s` read as `t * 2 * x` once became `t = lam * 2 / s`, and `lam * 2` overflowed at
    lam = 1e308 where `lam / s * 2` does not (inf for 7.06e307)."""
    args = (np.array([1.5]), np.array([1.0]), 1e308)
    got = s2s.grad(log_penalty, wrt=(0, 1))(*args)
    want = s2s.derivative(log_penalty, wrt=(0, 1))(*args)
    for a, b in zip(got, want):
        assert np.all(np.isfinite(a))
        np.testing.assert_allclose(a, b, rtol=1e-15)
