"""transforms/products.py: two outer products with a shared factor added into one name are one outer product of a
sum (`shared_outer_factors`), and the sum of an outer product's entries times matrices is a quadratic form
(`summed_outer_products`): a polynomial kernel's adjoints, without the n x n arrays. Where each applies and where
it must not, on the rewritten source, and end to end against differences and autograd."""

import numpy as np
import pytest
from helpers_fd import check_all
from s2s.transforms.products import products
from test_gram_adjoint import _args, _compile, _context

import s2s
import s2s.pipeline  # noqa: F401  (installs the transforms' context)

SHAPES = {"a": (5,), "b": (5,), "c": (4,), "M": (5, 4), "W": (4, 4)}

SHARED = """
def f(a, b, c, M, W):
    X = np.outer(a, c)
    t = W @ c
    X += np.outer(b, c)
    return X @ t
"""

SUMMED = """
def f(a, b, c, M, W):
    X = np.outer(a + b, c)
    T = X * 3 * M ** 2
    s = T.sum(axis=(0, 1))
    return s + np.sum(W @ c)
"""


def _rewrite(src, kinds=None, **params):
    """(the rewritten source, the function before, the function after), for code of float64 values (the outer
    rewrites are made for those alone: `X += np.outer(b, c)` keeps a float32 X's dtype, the sum would not)."""
    import ast
    import textwrap
    src = textwrap.dedent(src)
    fdef = ast.parse(src).body[0]
    products(fdef, _context(kinds, **params).shapes, float64=True)
    out = ast.unparse(fdef)
    return out, _compile(src), _compile(out)


def _same(before, after, args):
    np.testing.assert_allclose(after(*[x.copy() for x in args]), before(*[x.copy() for x in args]), rtol=1e-12)


def test_two_outer_products_with_a_shared_factor_are_one():
    out, before, after = _rewrite(SHARED, **SHAPES)
    assert "np.outer(a + b, c)" in out and out.count("np.outer") == 1, out
    _same(before, after, _args(1, **SHAPES))


def test_the_sum_of_an_outer_product_times_a_matrix_is_a_quadratic_form():
    out, before, after = _rewrite(SUMMED, **SHAPES)
    assert "np.outer" not in out and "3 * ((a + b) @ M ** 2 @ c)" in out, out
    _same(before, after, _args(2, **SHAPES))


@pytest.mark.parametrize("src", [
    SHARED.replace("t = W @ c", "t = W @ c\n    c = c * 2.0"),            # the shared factor bound again between
    SHARED.replace("t = W @ c", "t = W @ X[0]"),                         # X read between
    SHARED.replace("X += np.outer(b, c)", "X += np.outer(b, a[:4])"),    # no shared factor
    SHARED.replace("t = W @ c", "t = W @ c\n    a[0] = 7.0"),             # a changed in place between
    # the accumulator one of the factors (helper 189): the second product reads the first's X
    """
def f(a, b, c, M, W):
    X = np.outer(a[:1], c)
    X = np.outer(a[:1], X)
    X += np.outer(b[:1], X)
    return X
""",
])
def test_shared_outer_factor_left_alone(src):
    out, before, after = _rewrite(src, **SHAPES)
    assert out.count("np.outer") == src.count("np.outer"), out
    _same(before, after, _args(3, **SHAPES))


@pytest.mark.parametrize("src", [
    SUMMED.replace("s = T.sum(axis=(0, 1))", "s = T.sum(axis=0)[0]"),         # a sum over one axis
    SUMMED.replace("s = T.sum(axis=(0, 1))", "s = T.sum() + X[0, 0]"),        # X read again
    SUMMED.replace("T = X * 3 * M ** 2", "T = X * 3 * M ** 2\n    M[0, 0] = 2.0"),  # M changed before the sum
    SUMMED.replace("T = X * 3 * M ** 2", "T = X * 3 + M"),                   # a sum, not a product
])
def test_summed_outer_product_left_alone(src):
    out, before, after = _rewrite(src, **SHAPES)
    assert "np.outer" in out, out
    _same(before, after, _args(4, **SHAPES))


def kernel_ridge(alpha, X, c, y, lam=0.1):
    K = (X @ X.T + c) ** 3
    r = K @ alpha - y
    return 0.5 * r @ r + 0.5 * lam * alpha @ (K @ alpha)


def test_the_kernel_ridge_gradient_makes_no_outer_product():
    rng = np.random.default_rng(58)
    args = (rng.normal(size=7), rng.normal(size=(7, 3)) / 2, 1.0, rng.normal(size=7))
    src = s2s.source(s2s.grad(kernel_ridge, wrt=(0, 2)), *args)
    assert "np.outer" not in src and "@ t_sq @ alpha" in src, src
    check_all(kernel_ridge, args, wrt=(0, 2))
