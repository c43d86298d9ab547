"""transforms/products.py: the adjoint of a Gram product as one product, number factors moved onto the smallest
array of a linear chain, three products in the cheaper order; and where none of them may be done."""

import ast
import builtins
import re
import textwrap

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from s2s.transforms.products import products
from s2s.transforms.specialize import Context

import s2s
import s2s.pipeline  # noqa: F401  (installs the transforms' context)
from s2s import runtime


def _context(kinds=None, **params):
    names = {"np": np, "s2s": runtime}
    kinds = kinds or {p: "d" for p in params}
    return Context(params, lambda n: names.get(n, getattr(builtins, n, None)), "np", kinds)


def _rewrite(src, kinds=None, **params):
    """(the rewritten source, the function before, the function after)."""
    src = textwrap.dedent(src)
    fdef = ast.parse(src).body[0]
    ctx = _context(kinds, **params)
    products(fdef, ctx.shapes)
    out = ast.unparse(fdef)
    return out, _compile(src), _compile(out)


def _compile(src):
    ns = {"np": np}
    exec(src, ns)
    return next(v for k, v in ns.items() if callable(v) and k != "np" and not k.startswith("__"))


def _args(seed, dtype=np.float64, **params):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype(dtype) for shape in params.values()]


GRAM = """
def f(A, G):
    A_T = A.T
    X = G @ A_T.T
    Y = A.T @ G
    X += Y.T
    return X
"""


def test_gram_adjoint_is_one_product():
    out, before, after = _rewrite(GRAM, A=(5, 3), G=(5, 5))
    assert "X = (G + G.T) @ A" in out and "Y" not in out
    args = _args(0, A=(5, 3), G=(5, 5))
    np.testing.assert_allclose(after(*args), before(*args), rtol=1e-12, atol=1e-12)


def test_shared_left_factor_and_assignment_form():
    src = """
    def f(A, G, H):
        X = A @ G
        Y = H.T @ A.T
        X = X + Y.T
        return X
    """
    out, before, after = _rewrite(src, A=(4, 3), G=(3, 6), H=(3, 6))
    assert "X = A @ (G + H)" in out
    args = _args(1, A=(4, 3), G=(3, 6), H=(3, 6))
    np.testing.assert_allclose(after(*args), before(*args), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("between", [
    "A = A * 2.0",          # A bound again between the alias and the products
    "A[0, 0] = 3.0",        # A written in place between
    "A_T[0, 0] = 3.0",      # ... through a view of it
    "G += 1.0",             # the other factor written in place between the products
    "G = G * 2.0",          # ... bound again
    "np.copyto(A, G[:, :3])",  # a NumPy function writing into A
])
def test_no_shared_factor_where_a_value_changes_between(between):
    src = f"""
    def f(A, G):
        A_T = A.T
        X = G @ A_T.T
        {between}
        Y = A.T @ G
        X += Y.T
        return X
    """
    out, before, after = _rewrite(src, A=(5, 3), G=(5, 5))
    assert "G.T) @" not in out and "Y.T" in out
    args = _args(2, A=(5, 3), G=(5, 5))
    np.testing.assert_allclose(after(*[a.copy() for a in args]), before(*[a.copy() for a in args]))


def test_no_shared_factor_for_another_array_complex_or_a_second_read():
    other = GRAM.replace("Y = A.T @ G", "Y = B.T @ G").replace("def f(A, G)", "def f(A, B, G)")
    out, _, _ = _rewrite(other, A=(5, 3), B=(5, 3), G=(5, 5))
    assert "Y.T" in out
    out, _, _ = _rewrite(GRAM, kinds={"A": "D", "G": "D"}, A=(5, 3), G=(5, 5))
    assert "Y.T" in out
    twice = GRAM.replace("return X", "return X + Y.T")
    out, _, _ = _rewrite(twice, A=(5, 3), G=(5, 5))
    assert "Y = A.T @ G" in out
    decided = GRAM.replace("return X", "if X[0, 0] > 0.0:\n        return X\n    return -X")
    out, _, _ = _rewrite(decided, A=(5, 3), G=(5, 5))
    assert "Y = A.T @ G" in out  # (a value that rounds otherwise decides a branch)


SCALED = """
def f(D, M, W):
    t = 0.5 * D
    u = t.T
    r = -(M @ u @ W)
    return r
"""


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_number_factor_onto_the_smallest_array(dtype):
    kinds = {p: np.dtype(dtype).char for p in "DMW"}
    out, before, after = _rewrite(SCALED, kinds=kinds, D=(200, 5), M=(5, 5), W=(200, 5))
    assert "u = D.T" in out and "r = -0.5 * (M @ (u @ W))" in out, out
    args = _args(3, dtype, D=(200, 5), M=(5, 5), W=(200, 5))
    a, b = after(*args), before(*args)
    assert a.dtype == b.dtype == dtype
    np.testing.assert_allclose(a, b, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("variant, kinds", [
    (lambda s: s.replace("return r", "return r + u[0, 0]"), None),  # u read twice
    (lambda s: s.replace("    u = t.T\n", "    u = t.T\n    D[0, 0] = 1.0\n"), None),  # D written while t is its array
    (lambda s: s.replace("    u = t.T\n", "    u = t.T\n    E = D\n    E *= 3.0\n"), None),  # ... through another name
    (lambda s: s, {"D": "l", "M": "d", "W": "d"}),  # integers
    (lambda s: s, {"D": "D", "M": "d", "W": "d"}),  # complex
])
def test_number_factor_stays(variant, kinds):
    src = variant(SCALED)
    out, before, after = _rewrite(src, kinds=kinds, D=(200, 5), M=(5, 5), W=(200, 5))
    assert "t = 0.5 * D" in out, out
    args = _args(4, D=(200, 5), M=(5, 5), W=(200, 5))
    np.testing.assert_allclose(after(*[a.copy() for a in args]), before(*[a.copy() for a in args]))


def test_number_factor_stays_where_nothing_is_smaller():
    src = """
    def f(D, W):
        t = 2.0 * D
        return t @ W
    """
    out, _, _ = _rewrite(src, D=(3, 4), W=(4, 50))
    assert "t = 2.0 * D" in out


def test_number_factor_stays_out_of_a_loop():
    src = """
    def f(D, M, W):
        t = 0.5 * D
        r = 0.0
        for i in range(3):
            r = r + M @ (t.T @ W)
        return r
    """
    out, _, _ = _rewrite(src, D=(200, 5), M=(5, 5), W=(200, 5))
    assert "t = 0.5 * D" in out


def test_cheaper_order_of_three_products():
    src = """
    def f(P, Q, R):
        return P @ Q @ R
    """
    out, before, after = _rewrite(src, P=(5, 5), Q=(5, 300), R=(300, 5))
    assert "P @ (Q @ R)" in out
    args = _args(5, P=(5, 5), Q=(5, 300), R=(300, 5))
    np.testing.assert_allclose(after(*args), before(*args), rtol=1e-12)
    out, _, _ = _rewrite(src, P=(300, 5), Q=(5, 300), R=(300, 5))
    assert "P @ (Q @ R)" in out
    out, _, _ = _rewrite(src, P=(5, 300), Q=(300, 5), R=(5, 300))
    assert "P @ (Q @ R)" not in out


# ---- end to end: gradients against central differences and autograd -------------------------------------

def _gram_right(A, X):
    S = A @ A.T + 0.1 * np.eye(A.shape[0])
    return np.sum(np.sin(S) * X)


def _gram_left(A, X):
    S = A.T @ A
    return np.sum(S * X) + np.sum(S ** 2)


def _gram_named(A, X):
    At = A.T
    S = A @ At
    return np.sum(np.tanh(S) * X)


def _gram_helper(A, X):
    def gram(M):
        return M @ M.T
    return np.sum(gram(A) * X)


def _gram_tuple(A, X):
    B, C = A, A.T
    S = B @ C
    return np.sum(S * X)


def _gram_rebound(A, X):
    S = A @ A.T
    A = A * 2.0
    return np.sum(S * X) + np.sum(A @ A.T)


def _not_gram(A, X):
    B = A[::-1]
    S = A @ B.T
    return np.sum(S * X)


def _nll(A, X):
    n, d = X.shape
    S = A @ A.T + 0.1 * np.eye(d)
    sign, logdet = np.linalg.slogdet(S)
    quad = np.sum(X * np.linalg.solve(S, X.T).T)
    return 0.5 * quad + 0.5 * n * logdet


def _scaled_chain(A, X):
    Y = 0.25 * X
    return np.sum(np.cos(A @ (Y.T @ X)))


def _autograd_version(f):
    src = {
        _gram_right: lambda A, X: anp.sum(anp.sin(A @ A.T + 0.1 * anp.eye(A.shape[0])) * X),
        _gram_left: lambda A, X: anp.sum((A.T @ A) * X) + anp.sum((A.T @ A) ** 2),
        _gram_named: lambda A, X: anp.sum(anp.tanh(A @ A.T) * X),
        _gram_helper: lambda A, X: anp.sum((A @ A.T) * X),
        _gram_tuple: lambda A, X: anp.sum((A @ A.T) * X),
        _gram_rebound: lambda A, X: anp.sum((A @ A.T) * X) + anp.sum((2.0 * A) @ (2.0 * A).T),
        _not_gram: lambda A, X: anp.sum((A @ A[::-1].T) * X),
        _nll: lambda A, X: 0.5 * anp.sum(X * anp.linalg.solve(A @ A.T + 0.1 * anp.eye(X.shape[1]), X.T).T)
        + 0.5 * X.shape[0] * anp.linalg.slogdet(A @ A.T + 0.1 * anp.eye(X.shape[1]))[1],
        _scaled_chain: lambda A, X: anp.sum(anp.cos(A @ ((0.25 * X).T @ X))),
    }
    return src[f]


CASES = [(_gram_right, (4, 3), (4, 4)), (_gram_left, (5, 3), (3, 3)), (_gram_named, (4, 6), (4, 4)),
         (_gram_helper, (3, 5), (3, 3)), (_gram_tuple, (4, 2), (4, 4)), (_gram_rebound, (4, 3), (4, 4)),
         (_not_gram, (4, 3), (4, 4)), (_nll, (5, 5), (40, 5)), (_scaled_chain, (6, 4), (30, 4))]


def _central(f, A, X, h):
    g = np.zeros_like(A, dtype=np.float64)
    for i in np.ndindex(A.shape):
        e = np.zeros_like(A)
        e[i] = h
        g[i] = (f(A + e, X) - f(A - e, X)) / (2 * h)
    return g


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("f, sa, sx", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradients_against_differences_and_autograd(f, sa, sx, dtype):
    rng = np.random.default_rng(11)
    A = (rng.normal(size=sa) * 0.5).astype(dtype)
    X = rng.normal(size=sx).astype(dtype)
    if f is _nll:
        A = A + np.eye(sa[0], dtype=dtype)
    g = s2s.grad(f)(A, X)
    assert g.shape == A.shape and g.dtype == dtype
    ref = autograd.grad(_autograd_version(f))(A.astype(np.float64), X.astype(np.float64))
    tol = 1e-9 if dtype == np.float64 else 2e-3
    np.testing.assert_allclose(g, ref, rtol=tol, atol=tol * np.max(np.abs(ref)))
    if dtype == np.float64:
        fd = _central(f, A, X, 1e-6)
        np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6 * np.max(np.abs(fd)))


def _source(f, *args):
    return s2s.source(s2s.grad(f), *args)


# (`(G + G) @ A` where G is symmetric by construction: transforms/symmetric.py reads its `.T` as G)
_ONE_PRODUCT = re.compile(r"\((\w+) \+ \1(?:\.T)?\) @ A\b|A @ \((\w+) \+ \2(?:\.T)?\)")


@pytest.mark.parametrize("f", [_gram_right, _gram_named, _gram_helper, _gram_tuple, _nll])
def test_gram_adjoints_are_one_product(f):
    sa, sx = next((sa, sx) for g, sa, sx in CASES if g is f)
    rng = np.random.default_rng(0)
    code = _source(f, rng.normal(size=sa), rng.normal(size=sx))
    assert _ONE_PRODUCT.search(code), code


def test_no_gram_rewrite_for_another_array_or_complex():
    rng = np.random.default_rng(0)
    A, X = rng.normal(size=(4, 3)), rng.normal(size=(4, 4))
    assert not _ONE_PRODUCT.search(_source(_not_gram, A, X))
    Ac = A + 1j * rng.normal(size=(4, 3))
    try:
        code = _source(_gram_right, Ac, X)
    except s2s.S2SError:
        return  # (complex arguments refused: nothing to rewrite)
    assert not _ONE_PRODUCT.search(code)


def test_benchmark_nll_code():
    """The benchmark's Gaussian NLL: one product for the Gram adjoint, the 0.5 on the 5x5 result."""
    rng = np.random.default_rng(0)
    A, X, mu = rng.normal(size=(5, 5)) * 0.5, rng.normal(size=(200, 5)), np.zeros(5)

    def gauss_nll(A, X, mu):
        n, d = X.shape
        S = A @ A.T + 0.1 * np.eye(d)
        sign, logdet = np.linalg.slogdet(S)
        D = X - mu
        quad = np.sum(D * np.linalg.solve(S, D.T).T)
        return 0.5 * quad + 0.5 * n * logdet + 0.5 * n * d * np.log(2 * np.pi)

    code = _source(gauss_nll, A, X, mu)
    assert "0.5 * D" not in code and "-0.5 * (" in code and _ONE_PRODUCT.search(code), code
    n, d = X.shape
    S = A @ A.T + 0.1 * np.eye(d)
    Si = np.linalg.inv(S)
    B = (X - mu) @ Si
    hand = 2.0 * (0.5 * n * Si - 0.5 * B.T @ B) @ A
    np.testing.assert_allclose(s2s.grad(gauss_nll)(A, X, mu), hand, rtol=1e-10, atol=1e-12)
