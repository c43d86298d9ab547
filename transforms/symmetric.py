"""Symmetric matrices in `s2s.grad`'s shape-specialised code: `S.T` read as `S` where S is symmetric by
construction.

The adjoint of `np.linalg.solve(S, b)` or `np.linalg.inv(S)` reads `S_inv.T`; where S is `A @ A.T + c * I`
that is `S_inv` itself, and reading it so lets `transforms/products.py` see the products the code already
computed (`S_inv.T @ D.T` is the `solve = S_inv @ D.T` of the primal). A top-level name is symmetric at a
statement where the binding it reads there is, and no statement between changes its array in place
(through any name that may refer to it, `transforms/unchanged.py`); a value is symmetric where it is

- `X @ X.T` or `X.T @ X`, the same array on both sides (read through names bound to `X.T` too), not bound
  again or changed in place from where the names were read to the product;
- `np.eye(n)`, `np.identity(n)`;
- `-S`, `S.T`, a number, and `S1 + S2`, `S1 - S2`, `S1 * S2`, `S1 / S2` of symmetric values or numbers (a
  square result: a row or column broadcast is not symmetric); `S += T` of symmetric S and T;
- `np.linalg.inv(S)` of a symmetric S;
- a name symmetric there.

Only real 2-d square arrays of known shape count (a complex `X @ X.T` is symmetric too, but its adjoints read
conjugates; left alone). Only names are known symmetric: a parameter never is.

`S.T` becomes `S` only as an operand of arithmetic (which makes a new array) or as the whole value of an
assignment to a name whose array nothing changes in place afterwards (`T = S.T; T[0, 1] = 1.0` changes
`S[1, 0]`, `T = S; T[0, 1] = 1.0` would change `S[0, 1]`), in a top-level statement that is not compound.

This is a change by rounding: `X @ X.T` and a sum of symmetric matrices are symmetric exactly (each entry and
its mirror are the same sums), but the computed inverse of a symmetric matrix is symmetric only up to
rounding (LU with pivoting treats the two triangles differently), so `S_inv` and `S_inv.T` differ in the last
bits. Each rewrite is undone where a value it changes decides anything (`transforms/rounding.py`).
"""

from __future__ import annotations

import ast

import numpy as np

from .products import _Body, _factor, _int_shape, _replace_child
from .rounding import decides
from .walk import parent_map, walk

__all__ = ["symmetric_transposes"]

_ELEMENTWISE = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_SIMPLE = (ast.Assign, ast.AugAssign, ast.Return, ast.Expr)


class _Facts:
    """Which names are symmetric where, in the top-level statements of `b`."""

    def __init__(self, b: _Body):
        self.b, self.memo = b, {}

    def name(self, name, at) -> bool:
        """Whether `name`, read at statement `at`, holds a symmetric matrix."""
        key = (name, at)
        if key not in self.memo:
            self.memo[key] = False  # (a cycle proves nothing)
            self.memo[key] = self._name(name, at)
        return self.memo[key]

    def _name(self, name, at) -> bool:
        b = self.b
        q = b.reaching(name, at)
        if q is None or q < 0 or b.changed(name, q + 1, at):
            return False
        s = b.body[q]
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and s.targets[0].id == name:
            return self.value(s.value, q)
        if isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name) and s.target.id == name \
                and isinstance(s.op, _ELEMENTWISE):
            return self.name(name, q) and self.value(s.value, q)
        return False

    def _square(self, node, at) -> bool:
        shape = self.b.shapes.of(node)
        return _int_shape(shape, 2) and shape[0] == shape[1] and self.b.shapes.real(node)

    def value(self, node, at) -> bool:
        """Whether the expression `node`, evaluated at statement `at`, is a symmetric matrix or a number."""
        b = self.b
        shape = b.shapes.of(node)
        if shape == () and b.shapes.real(node):
            return True
        if not self._square(node, at):
            return False
        if isinstance(node, ast.Name):
            return self.name(node.id, at)
        if isinstance(node, ast.Attribute):
            return node.attr == "T" and self.value(node.value, at)
        if isinstance(node, ast.UnaryOp):
            return isinstance(node.op, ast.USub | ast.UAdd) and self.value(node.operand, at)
        if isinstance(node, ast.BinOp) and isinstance(node.op, _ELEMENTWISE):
            return self.value(node.left, at) and self.value(node.right, at)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            return self._gram(node, at)
        if isinstance(node, ast.Call):
            callee = b.shapes.callee(node)
            if callee in (np.eye, np.identity):
                return len(node.args) == 1 and all(k.arg == "dtype" for k in node.keywords)
            if callee is np.linalg.inv:
                return len(node.args) == 1 and not node.keywords and self.value(node.args[0], at)
        return False

    def _gram(self, node, at) -> bool:
        """`X @ X.T` or `X.T @ X`: one array, transposed on one side only, unchanged from its reads to `at`."""
        b = self.b
        left, right = _factor(b, node.left, at), _factor(b, node.right, at)
        if left is None or right is None or left.key is None or right.key is None:
            return False
        (x, fx, ax), (y, fy, ay) = left.key, right.key
        return x == y and fx != fy and b.steady(x, min(ax, ay), at)


def _fresh_reader(b: _Body, node, parent, k) -> bool:
    """Whether `parent` reads the value of `node` (in statement k) without keeping a view of it that anything
    changes in place afterwards."""
    if isinstance(parent, ast.BinOp | ast.UnaryOp):
        return True
    if isinstance(parent, ast.Assign) and parent.value is node and len(parent.targets) == 1 \
            and isinstance(parent.targets[0], ast.Name):
        return not b.changed(parent.targets[0].id, k + 1, len(b.body))
    return isinstance(parent, ast.AugAssign) and parent.value is node


def symmetric_transposes(fdef: ast.FunctionDef, shapes, infer) -> bool:
    """One `S.T` of a symmetric S read as `S` (the module docstring); whether one was. `shapes`: those inferred
    over `fdef` as it is; `infer(fdef)` infers them again."""
    b = _Body(fdef, shapes)
    facts, parents = _Facts(b), parent_map(fdef)
    for k, stmt in enumerate(b.body):
        if not isinstance(stmt, _SIMPLE):
            continue
        for node in walk(stmt):
            if not (isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.ctx, ast.Load)
                    and isinstance(node.value, ast.Name)):
                continue
            parent = parents[id(node)]
            if not _fresh_reader(b, node, parent, k) or not facts._square(node.value, k) \
                    or not facts.name(node.value.id, k) or b.changed(node.value.id, k, k + 1):
                continue  # (a statement that changes S may do so before it reads the view S.T)
            before = list(fdef.body)
            new = ast.copy_location(ast.Name(id=node.value.id, ctx=ast.Load()), node)
            _replace_child(parent, node, new)
            if decides(fdef, [new], shapes):
                _replace_child(parent, new, node)
                fdef.body = before
                continue
            return True
    return False

