"""helper-70, an adversary of transforms/symmetric.py and cheaper_chains' reuse of a computed product: an array
symmetric by construction changed in place in ways transforms/unchanged.py did not see (a container that holds it
through an item assignment, a store into a view a method call made, an `out` passed by position,
`np.nan_to_num(x, copy=False)`) kept `S.T` read as `S`. Not reached from s2s.grad's code in the programs tried
(its front end refuses or copies each of these), so these rewrite the code directly."""

import ast
import builtins

import numpy as np
import pytest
from s2s.transforms.specialize import Context
from s2s.transforms.unchanged import aliases, changed_in_place
from test_symmetric_products import _args, _rewrite, _same_values

import s2s.pipeline  # noqa: F401  (installs the transforms' context)
from s2s import runtime

SHAPES = {"A": (4, 3), "D": (4, 6)}


@pytest.mark.parametrize("between", [
    "d = {}\n    d['s'] = S\n    d['s'][0, 1] = 5.0",             # a dict item holds S
    "L = [None]\n    L[0] = S\n    T = L[0]\n    T[0, 1] = 5.0",  # a list item holds S, read back
    "S.ravel()[1] = 9.0",                                       # a store into a view a method call made
    "S.reshape(16)[1] += 9.0",
    "np.dot(D[:, :4].T, D[:, :4] * 2.0 + 1.0, S)",              # `out` passed by position
    "np.cumsum(S, 0, None, S)",
    "np.sum(D[:, :4].reshape(4, 1, 4) * np.ones((4, 4, 1)), 0, None, S)",
])
def test_changed_in_place_keeps_the_transpose(between):
    src = f"""
def f(A, D):
    S = A @ A.T
    {between}
    return S.T @ D
"""
    out, before, after = _rewrite(src, **SHAPES)
    assert "S.T @ D" in out, out
    _same_values(before, after, _args(0, **SHAPES))


@pytest.mark.parametrize("between", [
    "d = {}\n    d['n'] = N\n    d['n'][0, 1] = 5.0",
    "N.ravel()[1] = 9.0",
    "np.dot(M, M.T, N)",
])
def test_a_computed_product_changed_in_place_is_not_read(between):
    src = f"""
def f(M, D, W):
    N = M @ D.T
    {between}
    r = M @ (D.T @ W)
    return r + N[0, 0]
"""
    out, before, after = _rewrite(src, M=(5, 5), D=(5, 5), W=(5, 3))
    assert "N @ W" not in out, out
    _same_values(before, after, _args(1, M=(5, 5), D=(5, 5), W=(5, 3)))


@pytest.mark.parametrize("stmt, changed", [
    ("np.nan_to_num(T, copy=False)", True),
    ("np.nan_to_num(T, copy=True)", False),
    ("np.nan_to_num(T)", False),
    ("np.dot(X, X, T)", True),
    ("np.dot(T, X)", False),
    ("np.cumsum(X, 0, None, T)", True),
    ("np.cumsum(T, 0)", False),
    ("T.ravel().fill(0.0)", True),
])
def test_changed_in_place_sees_these_writes(stmt, changed):
    fdef = ast.parse(f"def f(X):\n    S = X * 2.0\n    T = S\n    {stmt}\n    return S").body[0]
    names = {"np": np, "s2s": runtime}
    ctx = Context({"X": (3, 3)}, lambda n: names.get(n, getattr(builtins, n, None)), "np", {"X": "d"})
    shapes = ctx.shapes(fdef)
    assert changed_in_place(fdef.body[2], aliases(fdef, "S", shapes), shapes) is changed


def test_a_statement_that_changes_the_matrix_keeps_its_transpose():
    # (the view S.T is read before np.cumsum writes into S, and `+` then reads the written array)
    src = """
def f(A, D):
    S = A @ A.T
    Y = S.T + np.cumsum(D[:, :4], 0, None, S)
    return Y @ D
"""
    out, before, after = _rewrite(src, **SHAPES)
    assert "S.T +" in out, out
    _same_values(before, after, _args(2, **SHAPES))


@pytest.mark.parametrize("statement", [
    "r = np.cumsum(u, 1, None, u)[0, 0] + M @ (D.T @ W)",  # the statement writes N before its chain reads it
    "r = np.cumsum(M, 0, None, M)[0, 0] + M @ (D.T @ W)",  # ... or a factor
])
def test_no_computed_product_where_the_reading_statement_changes_a_value(statement):
    from test_symmetric_products import CSE, CSE_SHAPES
    src = CSE.replace("    r = M @ (D.T @ W)", f"    {statement}")
    out, before, after = _rewrite(src, **CSE_SHAPES)
    assert "u @ W" not in out, out
    _same_values(before, after, _args(7, **CSE_SHAPES))
