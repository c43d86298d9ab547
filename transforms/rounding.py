"""Whether a value that a rewrite computes with other rounding decides anything.

A rewrite that computes a value another way (transforms/inverses.py: `S_inv @ b` for
`np.linalg.solve(S, b)`) gives numbers that differ in the last bits. That is harmless where the value
only flows, through arithmetic and smooth functions, into the gradient; it is wrong where the value,
or anything made from it, decides something: at `np.linalg.solve(S, b) == [0, -2, 2]` exactly,
`S_inv @ b` gives -4.4e-16 first, and `if x[0] >= 0.0` goes the other way than the function did.
`decides` follows each such value through the names bound to it and answers whether any reader is
not arithmetic, `.T`, an item read, a container or a smooth function:

    >>> # x = S_inv @ b; y = 2.0 * x; return np.sum(y)      ->  False
    >>> # x = S_inv @ b; if x[0] >= 0.0: ...                 ->  True
"""

from __future__ import annotations

import ast

import numpy as np

from .shapes import hashable
from .unchanged import SHAPE_ATTRIBUTES, root
from .walk import parent_map, walk

__all__ = ["decides"]


# Functions whose value is a smooth function of their positional arguments, decided by no comparison of
# theirs (linear maps and smooth elementwise functions): a rounding of an argument rounds the value.
_SMOOTH = {np.sum, np.mean, np.outer, np.dot, np.matmul, np.inner, np.tensordot, np.kron, np.trace, np.transpose,
           np.swapaxes, np.reshape, np.ravel, np.squeeze, np.expand_dims, np.broadcast_to, np.atleast_1d,
           np.atleast_2d, np.diag, np.diagonal, np.concatenate, np.stack, np.hstack, np.vstack, np.cumsum,
           np.negative, np.add, np.subtract, np.multiply, np.exp, np.sin, np.cos, np.tanh, np.sinh, np.cosh,
           np.square, np.copy, np.asarray, np.array, float}
_SMOOTH_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.MatMult)
# smooth (linear) in their first argument only: NumPy takes a float k and steps at it (`np.tril(M, 1e-16)` keeps
# the whole first superdiagonal, `np.tril(M, 0.0)` none of it)
_SMOOTH_FIRST = {np.tril, np.triu}
# where those of `_SMOOTH` take a dtype by position: `np.asarray(x, int)` rounds to a step (2.9999999999999996
# is 2, 3.0 is 3), so a call given a dtype is not smooth
_DTYPE_POSITION = {np.array: 1, np.asarray: 1, np.sum: 2, np.mean: 2, np.cumsum: 2, np.trace: 4}


def decides(fdef, calls, shapes) -> bool:
    """Whether the value of any of `calls`, or of a name bound (on any path) to a value made from one, is
    read other than by arithmetic, `.T`, item reads, containers and the functions of `_SMOOTH` (and the
    runtime helpers in the arguments they are linear in) on its way to a binding or the return: by a
    comparison, a condition, an index, or any other function."""
    parents = parent_map(fdef)
    tainted, todo = set(), list(calls)
    while todo:
        node = todo.pop()
        while True:
            parent = parents.get(id(node))
            if parent is None:
                return True
            if isinstance(parent, ast.stmt):
                if isinstance(parent, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.For) \
                        and node is (parent.iter if isinstance(parent, ast.For) else parent.value):
                    targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
                    names = {root(t) for t in targets} | {n.id for t in targets for n in walk(t)
                                                          if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
                elif isinstance(parent, ast.Return | ast.Expr) or isinstance(parent, ast.Assign | ast.AugAssign) \
                        and isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
                    names = set()  # (the value returned, or an array the value is written into)
                else:
                    return True  # a condition, a loop's target, an index of a target...
                new = {n for n in names if n is not None} - tainted
                tainted |= new
                todo.extend(n for n in walk(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                            and n.id in new)
                break
            if isinstance(parent, ast.BinOp) and isinstance(parent.op, _SMOOTH_OPS) \
                    or isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Pow) and node is parent.left \
                    and isinstance(parent.right, ast.Constant) and type(parent.right.value) is int \
                    or isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub | ast.UAdd) \
                    or isinstance(parent, ast.Attribute) and parent.attr == "T" \
                    or isinstance(parent, ast.Subscript) and node is parent.value \
                    or isinstance(parent, ast.Tuple | ast.List | ast.Starred) \
                    or isinstance(parent, ast.IfExp) and node is not parent.test:
                node = parent
                continue
            if isinstance(parent, ast.Attribute) and parent.attr in SHAPE_ATTRIBUTES:
                break  # (its shape only)
            if isinstance(parent, ast.Call) and any(node is a for a in parent.args):
                callee = shapes.callee(parent)
                position = next(i for i, a in enumerate(parent.args) if a is node)
                if isinstance(node, ast.Starred) or any(isinstance(a, ast.Starred) for a in parent.args[:position]):
                    position = None  # (the place of the value among the arguments is not known)
                if callee is len or _helper(callee) == "is_zero":
                    break  # (a length; whether an adjoint is the zero one, where 0.0 stands for zeros)
                if _smooth_in(shapes, callee, position) and not _casts(parent, callee):
                    node = parent
                    continue
                f = parent.func
                if isinstance(f, ast.Attribute) and f.attr == "append" and len(parent.args) == 1 \
                        and root(f.value) is not None and callee is None:
                    new = {root(f.value)} - tainted  # (a tape: what is popped from it is made from the value)
                    tainted |= new
                    todo.extend(n for n in walk(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                                and n.id in new)
                    break
            return True
    return False


# Runtime helpers smooth in all their arguments (shapes, sums, products and solves)
_SMOOTH_HELPERS = {"unbroadcast", "expand_reduced", "finish", "grad_solve_a", "grad_solve_b", "grad_matmul_a",
                   "grad_matmul_b", "grad_dot_a", "grad_dot_b", "transpose_attr", "transpose_attr_grad",
                   "broadcast_like"}


def _helper(callee):
    """The name of the s2s runtime helper `callee` is, or None."""
    module = getattr(callee, "__module__", None) or ""
    return getattr(callee, "__name__", None) if module.startswith("s2s.runtime") else None


def _casts(call, callee) -> bool:
    """Whether `call` passes a dtype (`dtype=`, or by position to a function of `_DTYPE_POSITION`)."""
    return any(k.arg == "dtype" for k in call.keywords) \
        or hashable(callee) and callee in _DTYPE_POSITION and len(call.args) > _DTYPE_POSITION[callee]


def _smooth_in(shapes, callee, position) -> bool:
    """Whether the call's value is a smooth function of its argument at `position`: a function of
    `_SMOOTH`, the right-hand side of a solve, a helper of `_SMOOTH_HELPERS`, or a helper linear there
    (its rule says so: `getitem_grad(g, x, index)` in g)."""
    if callee is None or not hashable(callee):
        return False
    if callee in _SMOOTH or _helper(callee) in _SMOOTH_HELPERS:
        return True
    if position is None:
        return False
    if callee in _SMOOTH_FIRST and position == 0 or callee is np.linalg.solve and position == 1:
        return True
    params = shapes.fact(callee, "params", ()) if _helper(callee) else ()
    return position < len(params) and params[position] in shapes.fact(callee, "linear", ())
