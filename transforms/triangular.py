"""Triangular solves in `s2s.grad`'s shape-specialised code: `np.linalg.solve(L, b)` with a factor known to be
triangular solved by substitution.

A Gaussian process's likelihood solves with its Cholesky factor, `np.linalg.solve(L, y)` and
`np.linalg.solve(L.T, ...)`, and the adjoints of those solves solve with `L.T` and `L` again. NumPy's solve
factors its matrix by LU each time (2n^3/3 operations), where substitution with a triangular matrix takes n^2
per right-hand side: at 256 x 256 the LU solve of one vector takes 0.63 ms, the substitution 0.013 ms. Where
the first argument of a solve is, by construction, triangular, it becomes

    np.linalg.solve(L, B)      ->  s2s.solve_lower(L, B, False, True)
    np.linalg.solve(L.T, B)    ->  s2s.solve_lower(L, B, True, True)     (L lower triangular)
    np.linalg.solve(U, B)      ->  s2s.solve_lower(U.T, B, True, True)   (U upper triangular)

(the runtime helper np.linalg.cholesky's own adjoint uses: SciPy's substitution where L is one float matrix,
else np.linalg.solve; the last True says the upper triangle is zero by construction, which the helper would
otherwise check when it runs, 0.14 ms at 256 x 256). A top-level name is lower triangular
where the binding its read sees is `np.linalg.cholesky(A)` or `np.tril(A)` (`np.tril(A, k)`, k <= 0), upper
where it is `np.triu(A)` (k >= 0), read through names bound to another's `.T` (`L_T = L.T`), and no statement
from that binding to the solve changes its array in place through any name (transforms/unchanged.py). Only real
square matrices of known shape (n, n), n > 32, with a right-hand side of shape (n,) or (n, k), in a simple
top-level statement, count: below that size the helper solves by LU anyway, and the code stays as written.

This is a change by rounding: substitution and LU with pivoting give the same solution with other rounding
errors, so the rewrite is undone where a value it changes decides anything (`transforms/rounding.py`), and is
made only in `s2s.grad`'s code, which returns the gradient alone (the function's value stays NumPy's).
"""

from __future__ import annotations

import ast

import numpy as np

from .products import _Body, _int_shape, _resolve
from .rounding import decides
from .walk import fix_locations, parent_map, replace_child, walk

__all__ = ["SUBSTITUTION_FROM", "triangular_solves"]

# the order from which s2s.solve_lower substitutes (below it, its LU solve costs as much and the call more)
SUBSTITUTION_FROM = 33

_SIMPLE = (ast.Assign, ast.AugAssign, ast.Return, ast.Expr)


def triangular_solves(fdef: ast.FunctionDef, shapes, runtime_name: str = "s2s") -> bool:
    """Each solve with a triangular matrix as the module docstring says; `shapes`: those inferred over `fdef`
    as it is. Returns whether anything changed.

        >>> # L = np.linalg.cholesky(K); a = np.linalg.solve(L.T, np.linalg.solve(L, y))    (K: 64 x 64)
        >>> # L = np.linalg.cholesky(K); a = s2s.solve_lower(L, s2s.solve_lower(L, y, False, True), True, True)
    """
    b = _Body(fdef, shapes)
    found = []
    for k, stmt in enumerate(b.body):
        if not isinstance(stmt, _SIMPLE):
            continue
        for node in walk(stmt):
            if isinstance(node, ast.Call) and shapes.callee(node) is np.linalg.solve and len(node.args) == 2 \
                    and not node.keywords and _fits(shapes, node):
                lower = _lower_form(b, node.args[0], k)
                if lower is not None:
                    found.append((node, lower))
    if not found:
        return False
    changed = False
    for call, (matrix, trans) in found:  # (a solve inside another's right-hand side: the outer one first)
        new = ast.copy_location(ast.Call(
            func=ast.Attribute(value=ast.Name(id=runtime_name, ctx=ast.Load()), attr="solve_lower", ctx=ast.Load()),
            args=[matrix, call.args[1], ast.Constant(value=trans), ast.Constant(value=True)], keywords=[]), call)
        parent = parent_map(fdef)[id(call)]
        replace_child(parent, call, new)
        if decides(fdef, [new], shapes):  # (reads only the callees' objects: the shapes stay good for it)
            replace_child(parent, new, call)
            continue
        changed = True
    if changed:
        fix_locations(fdef)
    return changed


def _fits(shapes, call) -> bool:
    """A real square matrix (n, n), n from SUBSTITUTION_FROM, and a right-hand side (n,) or (n, k)."""
    a, rhs = (shapes.of(arg) for arg in call.args)
    return _int_shape(a, 2) and a[0] == a[1] >= SUBSTITUTION_FROM and shapes.real(call.args[0]) \
        and _int_shape(rhs) and len(rhs) in (1, 2) and rhs[0] == a[0]


def _lower_form(b: _Body, node, at):
    """(lower-triangular matrix expression, trans) with `np.linalg.solve(node, B)` =
    `s2s.solve_lower(matrix, B, trans)`, where `node`, read at statement `at`, is triangular by construction
    and unchanged since; else None."""
    flip = False
    while isinstance(node, ast.Attribute) and node.attr == "T":
        node, flip = node.value, not flip
    if not isinstance(node, ast.Name):
        return None
    key = _resolve(b, node.id, flip, at)
    if key is None:
        return None
    name, flip, read_at = key
    q = b.reaching(name, read_at)
    if q is None or q < 0 or b.rebound(name, read_at, at) or b.changed(name, q + 1, at + 1):
        return None  # (a statement that changes the matrix may do so before it reads it: `at` itself counts)
    kind = _triangle(b, b.body[q], name)
    if kind is None:
        return None
    load = ast.Name(id=name, ctx=ast.Load())
    if kind == "lower":
        return load, flip
    return ast.Attribute(value=load, attr="T", ctx=ast.Load()), not flip  # (U.T is the lower one)


def _triangle(b: _Body, stmt, name):
    """"lower" or "upper" where `stmt` is `name = <a triangular matrix>`; else None."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id == name and isinstance(stmt.value, ast.Call)):
        return None
    call = stmt.value
    callee = b.shapes.callee(call)
    if callee is np.linalg.cholesky and len(call.args) == 1 and not call.keywords:
        return "lower"  # (NumPy 2's `upper=True` is a keyword: not taken)
    if callee in (np.tril, np.triu) and 1 <= len(call.args) <= 2 and not call.keywords:
        k = call.args[1] if len(call.args) == 2 else ast.Constant(value=0)
        if isinstance(k, ast.UnaryOp) and isinstance(k.op, ast.USub) and isinstance(k.operand, ast.Constant):
            k = ast.Constant(value=-k.operand.value)
        if not (isinstance(k, ast.Constant) and type(k.value) is int):
            return None
        if callee is np.tril and k.value <= 0:
            return "lower"
        if callee is np.triu and k.value >= 0:
            return "upper"
    return None
