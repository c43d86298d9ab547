"""The shape and `real` functions of the rule records (s2s/rules/result_shapes.py), as the shapes pass
(transforms/shapes.py) reads them: each call's shape from its rule, None where it is not certain."""

import ast
import builtins
import re

import numpy as np
import pytest
from s2s.transforms.shapes import NOT_LITERAL, Seq, Shapes, Site
from s2s.transforms.specialize import runtime_helpers

import s2s.pipeline  # noqa: F401 - installs the context the passes read rules through
from s2s import rules, runtime
from s2s.rules import result_shapes

_NAMES = {"np": np, "s2s": runtime, "unbroadcast": runtime.unbroadcast}
# parameter -> shape; `u` (and `n`, `k`) unknown
P = {"x": (2, 3), "v": (4,), "W": (3, 4), "b": (3,), "r": (1, 3), "s": (), "m": (2, 1), "g": (2, 3), "z": (),
     "u": None, "n": None, "k": None, "Q": (3, 3), "T": (2, 3, 3), "C": (3, 4), "V": (2, 3, 4)}


_UNKNOWN = re.compile(r"\b[unk]\b")


def _resolve(name):
    return _NAMES[name] if name in _NAMES else getattr(builtins, name, None)


def _shapes(expr, kinds=None):
    fdef = ast.parse(f"def f({', '.join(P)}):\n    out = {expr}\n").body[0]
    return Shapes(fdef, dict(P), _resolve, runtime_helpers(), kinds), fdef.body[0].value


def shape_of(expr):
    return _shapes(expr)[0].env["out"]


REDUCTIONS = [
    ("np.sum(x)", ()), ("np.sum(x, axis=None)", ()), ("np.sum(x, axis=None, keepdims=True)", (1, 1)),
    ("np.sum(x, 0)", (3,)), ("np.sum(x, -1)", (2,)), ("np.sum(x, axis=-1, keepdims=True)", (2, 1)),
    ("np.mean(x, axis=(0, 1))", ()), ("np.mean(x, axis=(0, -1), keepdims=True)", (1, 1)),
    ("np.max(x, axis=1)", (2,)), ("np.amin(x, -2, keepdims=True)", (1, 3)), ("np.prod(v)", ()),
    ("np.any(x, 0)", (3,)), ("np.sum(x, dtype=float)", ()),  # dtype= does not change the shape
    ("np.sum(x, 2)", None), ("np.sum(x, -3)", None),  # out of range
    ("np.sum(x, axis=k)", None), ("np.sum(x, keepdims=k)", None), ("np.sum(x, axis=0, keepdims=1)", None),
    ("np.sum(x, 0, None)", None), ("np.sum(u, axis=0)", None), ("np.sum(u)", None),
    # where= and initial= do not change the shape (since stop 72; unknown before)
    ("np.sum(x, where=x > 0)", ()), ("np.max(x, axis=1, initial=0.0)", (2,)),
    ("np.mean(x, axis=0, keepdims=True, where=x > 0)", (1, 3)),
]
NORMS = [
    ("np.linalg.norm(x)", ()), ("np.linalg.norm(x, 2, 0)", (3,)), ("np.linalg.norm(x, axis=-1, keepdims=True)", (2, 1)),
    ("np.linalg.norm(x, ord=2, axis=1)", (2,)), ("np.linalg.norm(x, None, None, True)", None),  # (not followed)
    ("np.linalg.norm(x, dtype=float)", None), ("np.linalg.norm(x, 2, 5)", None), ("np.linalg.norm(u, 2, 0)", None),
]
CREATION = [
    ("np.zeros(3)", (3,)), ("np.zeros((2, 4))", (2, 4)), ("np.ones(x.shape)", (2, 3)), ("np.empty(x.shape[0])", (2,)),
    ("np.zeros((2, 3), float)", (2, 3)), ("np.zeros(3, dtype=float)", (3,)), ("np.full((2, 2), 1.5)", (2, 2)),
    ("np.full(v.shape, 1.5, float)", (4,)), ("np.zeros(())", ()),
    ("np.zeros(n)", None), ("np.zeros(u.shape)", None), ("np.zeros(-1)", None), ("np.zeros(3, order='F')", None),
    ("np.zeros((2, 3), float, 'C')", None), ("np.zeros_like(x)", (2, 3)), ("np.ones_like(v)", (4,)),
    ("np.zeros_like(u)", None), ("np.zeros_like(x, dtype=int)", None),
    ("np.zeros(np.shape(x))", (2, 3)), ("np.ones(np.shape(x)[1])", (3,)),  # np.shape's result_value
    ("np.zeros(np.shape(s))", None), ("np.zeros(np.shape(u))", None), ("np.zeros(np.shape(x, 0))", None),
]
ACCUMULATIONS = [
    ("np.cumsum(x)", (6,)), ("np.cumsum(x, axis=1)", (2, 3)), ("np.cumsum(x, 0)", (2, 3)), ("np.cumsum(s)", (1,)),
    ("np.cumprod(v)", (4,)), ("np.cumprod(x, axis=-1)", (2, 3)), ("np.cumsum(x, axis=2)", None),
    ("np.cumsum(x, dtype=int)", None), ("np.cumsum(u)", None),
    ("s2s.grad_cumsum(g, x, 1)", (2, 3)), ("s2s.grad_cumsum(z, x, 1)", None),
]
JOINS = [
    ("np.concatenate((x, x))", (4, 3)), ("np.concatenate((x, g), axis=1)", (2, 6)), ("np.concatenate((v, b))", (7,)),
    ("np.concatenate((x, g), -1)", (2, 6)), ("np.concatenate((x, v))", None), ("np.concatenate((x, W))", None),
    ("np.concatenate((x, x), axis=None)", None), ("np.concatenate((x, u))", None), ("np.concatenate((s, s))", None),
    ("np.concatenate((x, x), axis=2)", None),
    ("np.stack((v, v))", (2, 4)), ("np.stack((x, g), axis=1)", (2, 2, 3)), ("np.stack((x, g), -1)", (2, 3, 2)),
    ("np.stack((x, W))", None), ("np.stack((s, s))", (2,)), ("np.stack((x, x), axis=3)", None),
]
PRODUCTS = [
    ("np.dot(v, v)", ()), ("np.dot(b, W)", (4,)), ("np.matmul(x, W)", (2, 4)), ("np.dot(x, W)", (2, 4)),
    ("np.dot(x, x)", None), ("np.matmul(x, u)", None), ("np.outer(x, v)", (6, 4)), ("np.outer(s, b)", (1, 3)),
    ("np.outer(u, v)", None), ("np.outer(x, v, out=u)", None),
]
MOVES = [
    ("np.squeeze(m)", (2,)), ("np.squeeze(m, -1)", (2,)), ("np.squeeze(m, axis=1)", (2,)), ("np.squeeze(r, (0,))", (3,)),
    ("np.squeeze(x)", (2, 3)), ("np.squeeze(m, 0)", None), ("np.squeeze(m, (1, 1))", None), ("np.squeeze(m, n)", None),
    ("np.squeeze(u)", None), ("x.astype(float)", (2, 3)), ("(x > 0).astype(float)", (2, 3)), ("u.astype(float)", None),
    ("x.astype(float, copy=False)", None), ("np.trace(Q)", ()), ("np.trace(T)", None), ("np.trace(Q, 1)", None),
    ("s2s.grad_squeeze(v[:2], m, 1)", (2, 1)), ("s2s.grad_squeeze(b, r, 0)", (1, 3)), ("s2s.grad_squeeze(s, r, 0)", None),
    # (an identity of Q's shape times s, or the zero 0.0 for a zero s: a ZeroOr, unknown as a plain shape)
    ("s2s.grad_trace(s, Q, 0, 0, 1)", None), ("s2s.grad_trace(b, T, 0, 1, 2)", None),
    ("np.split(x, 3)", None), ("np.vsplit(v, 2)", None), ("np.dsplit(W, 2)", None), ("np.split(x, n)", None),
    ("np.split(x, [1])", None), ("np.split(u, 2)", None),
    ("np.hstack([x, x])", (2, 6)), ("np.hstack((b, v))", (7,)), ("np.hstack([b, s])", (4,)), ("np.hstack([x, b])", None),
    ("np.hstack([x, u])", None), ("np.vstack([b, b])", (2, 3)), ("np.vstack((x, r))", (3, 3)), ("np.vstack([x, v])", None),
    ("np.vstack([s, s])", None), ("s2s.grad_add_seq(g, x, r, 1)", (1, 3)), ("s2s.grad_add_seq(g, x, r, 0)", (2, 3)),
    ("s2s.grad_add_seq(s, z, s, 0)", ()), ("s2s.grad_add_seq(s, x, r, 0)", None), ("s2s.grad_add_seq(g, x, u, 0)", None),
    ("s2s.grad_add_seq(g, x, r, k)", None),
    ("np.einsum('ij,jk->ik', x, W)", (2, 4)), ("np.einsum('bij,bjk->bik', T, T)", (2, 3, 3)),
    ("np.einsum('ij->', x)", ()), ("np.einsum('ij->ji', x)", (3, 2)), ("np.einsum('i,i->i', b, b)", (3,)),
    ("np.einsum('ij,jk', x, W)", None), ("np.einsum('...j,jk->...k', x, W)", None), ("np.einsum('ij,jk->ik', x, x)", None),
    ("np.einsum('ij,jk->ik', x, u)", None), ("np.einsum('ii->i', x)", None), ("np.einsum('ij->ii', x)", None),
    ("np.einsum(x, [0, 1], W, [1, 2])", None), ("np.einsum('ij,jk->ik', x, W, optimize=True)", None),
    ("s2s.grad_einsum_parts(s, ['ij,jk->ik', x, W], False)", None),
    ("s2s.grad_einsum_parts(np.ones((2, 4)), ['ij,jk->ik', x, u], False)", None),
    ("np.where(x > 0, x, 0.0)", (2, 3)), ("np.where(m > 0, r, s)", (2, 3)), ("np.where(x > 0, v, 0.0)", None),
    ("np.where(u, x, 0.0)", None), ("np.reshape(x, (3, -1))", (3, 2)), ("np.reshape(x, -1)", (6,)),
    ("np.reshape(x, 4)", None), ("np.reshape(x, n)", None), ("np.reshape(u, (3, 2))", None),
    ("np.ravel(x)", (6,)), ("np.ravel(u)", None), ("np.broadcast_to(b, (2, 3))", (2, 3)),
    ("np.broadcast_to(s, 5)", (5,)), ("np.broadcast_to(v, (2, 3))", None), ("np.broadcast_to(u, (2, 3))", None),
]
BUILTINS = [
    ("len(u)", ()), ("len(x)", ()), ("float(s)", ()), ("abs(s)", ()), ("int(s)", ()), ("round(s)", ()), ("bool(s)", ()),
    ("float(x)", None), ("abs(v)", None), ("round(s, 2)", None), ("float(u)", None),
]
HELPERS = [
    ("s2s.unbroadcast(g, b)", (3,)), ("s2s.unbroadcast(s, z)", ()), ("unbroadcast(g, r)", (1, 3)),
    ("s2s.unbroadcast(s, b)", None),  # s may be the zero adjoint 0.0, which stays a number
    ("s2s.unbroadcast(u, b)", None),
    ("s2s.expand_reduced(s, x, None, False)", (2, 3)), ("s2s.expand_reduced(u, x, None, False)", None),
    ("s2s.reduced_size(x, 0)", ()), ("s2s.add(g, x)", (2, 3)), ("s2s.add(x, r)", (2, 3)), ("s2s.add(s, z)", ()),
    ("s2s.add(s, x)", None), ("s2s.add(u, x)", None),
    ("s2s.grad_matmul_a(b, W, v)", (3, 4)), ("s2s.grad_matmul_b(b, W, v)", (4,)), ("s2s.grad_matmul_a(s, v, v)", None),
    ("s2s.grad_extreme(m, np.max(x, axis=1, keepdims=True), x, 1, True)", (2, 3)),
    ("s2s.grad_norm(m, np.linalg.norm(x, axis=1, keepdims=True), x, None, 1, True)", (2, 3)),
    ("s2s.grad_extreme(s, s, x, None, False)", None), ("s2s.grad_extreme(u, m, x, 1, True)", None),
    ("s2s.getitem_grad(s, x, 0)", (2, 3)), ("s2s.getitem_grad(s, u, 0)", None), ("s2s.getitem_grad(s, z, 0)", None),
    ("s2s.balanced_eq(x, m, r)", (2, 3)), ("s2s.balanced_eq(x, m, u)", None), ("s2s.copy(x)", (2, 3)),
    ("s2s.copy(u)", None),
]

LINALG = [  # square matrices Q and stacks of them T; C and V: columns for them
    ("np.linalg.inv(Q)", (3, 3)), ("np.linalg.inv(T)", (2, 3, 3)), ("np.linalg.inv(W)", None), ("np.linalg.inv(u)", None),
    ("np.linalg.det(Q)", ()), ("np.linalg.det(T)", (2,)), ("np.linalg.det(W)", None), ("np.linalg.det(b)", None),
    ("np.linalg.solve(Q, b)", (3,)), ("np.linalg.solve(Q, C)", (3, 4)), ("np.linalg.solve(T, V)", (2, 3, 4)),
    ("np.linalg.solve(Q, V)", (2, 3, 4)), ("np.linalg.solve(T, C)", None),  # (NumPy 1 and 2 read this C differently)
    ("np.linalg.solve(T, b)", None), ("np.linalg.solve(Q, v)", None), ("np.linalg.solve(W, b)", None),
    ("np.swapaxes(T, -1, -2)", (2, 3, 3)), ("np.swapaxes(V, 0, 2)", (4, 3, 2)), ("np.swapaxes(V, 0, n)", None),
    ("np.swapaxes(V, 0, 3)", None),
    ("s2s.grad_solve_a(C, np.linalg.solve(Q, C), Q, C)", (3, 3)), ("s2s.grad_solve_a(b, b, Q, b)", (3, 3)),
    ("s2s.grad_solve_a(V, V, T, V)", (2, 3, 3)), ("s2s.grad_solve_a(s, s, Q, b)", None),
    ("s2s.grad_solve_b(C, Q, C)", (3, 4)), ("s2s.grad_solve_b(b, Q, b)", (3,)), ("s2s.grad_solve_b(s, Q, b)", None),
    ("s2s.grad_det(np.linalg.det(T), np.linalg.det(T), T)", (2, 3, 3)),
    ("s2s.grad_det(s, np.linalg.det(Q), Q)", None),  # (a number: 0.0 or an array, which only `+` reads)
    ("s2s.grad_slogdet(s2s.getitem_grad(np.linalg.det(T), np.linalg.slogdet(T), 1), T)", (2, 3, 3)),
    ("s2s.grad_slogdet(s2s.getitem_grad(s, np.linalg.slogdet(T), 1), T)", None),
    ("s2s.grad_slogdet(s2s.getitem_grad(s, np.linalg.slogdet(Q), 1), Q)", None),  # (s may be 0.0: the helper's zero)
    ("x + 2 * np.pi", (2, 3)),
    ("s2s.det_adjoint(s, np.linalg.det(Q), Q)", (3, 3)),
    ("s2s.det_adjoint(np.linalg.det(T), np.linalg.det(T), T)", (2, 3, 3)),
    ("s2s.det_adjoint(s, np.linalg.det(T), T)", None), ("s2s.det_adjoint(u, np.linalg.det(Q), Q)", None),
    ("np.linalg.cholesky(Q @ Q.T)", (3, 3)), ("np.linalg.cholesky(np.linalg.inv(T) * 0.0 + np.eye(3))", (2, 3, 3)),
    ("np.linalg.cholesky(W)", None),
    ("np.diag(v)", (4, 4)), ("np.diag(v, 1)", (5, 5)), ("np.diag(v, k=-2)", (6, 6)), ("np.diag(W)", (3,)),
    ("np.diag(W, 1)", (3,)), ("np.diag(W, 2)", (2,)), ("np.diag(W, -1)", (2,)), ("np.diag(W, -5)", (0,)),
    ("np.diag(W, n)", None), ("np.diag(T)", None), ("np.diag(u)", None),
    ("np.tril(W)", (3, 4)), ("np.triu(T, -1)", (2, 3, 3)), ("np.tril(v)", None), ("np.tril(W, n)", None),
    ("s2s.grad_diag(b, W, 0)", (3, 4)), ("s2s.grad_diag(np.diag(v), v, 0)", (4,)), ("s2s.grad_diag(W, v, 0)", None),
    ("s2s.grad_diag(s, W, 0)", None), ("s2s.grad_diag(b, W, n)", None),
    ("np.eye(np.shape(T)[-1])", (3, 3)), ("np.zeros(np.shape(V)[-2:])", None),
]

# integer results: positions (the indices of a gather computed in the function)
POSITIONS = [
    ("np.searchsorted(v, x)", (2, 3)), ("np.searchsorted(v, b, side='right')", (3,)), ("np.searchsorted(v, s)", ()),
    ("np.searchsorted(v, u)", None), ("np.digitize(x, v)", (2, 3)), ("np.digitize(b, v, right=True)", (3,)),
    ("np.argsort(x)", (2, 3)), ("np.argsort(x, 0)", (2, 3)), ("np.argsort(x, axis=None)", (6,)),
    ("np.argsort(x, 2)", None), ("np.argsort(x, axis=k)", None), ("np.argsort(u)", None),
    ("np.argmax(x)", ()), ("np.argmax(x, axis=1)", (2,)), ("np.argmin(x, 0)", (3,)), ("np.argmin(x, axis=-1)", (2,)),
    ("np.argmax(x, 2)", None), ("np.argmax(u, 0)", None), ("np.argmax(x, axis=k)", None),
    # ufuncs' reductions and accumulations: axis 0 where none is given
    ("np.add.reduce(x)", (3,)), ("np.add.reduce(x, axis=1)", (2,)), ("np.maximum.reduce(x, 1, keepdims=True)", (2, 1)),
    ("np.logaddexp.reduce(x, axis=None)", ()), ("np.multiply.reduce(v)", ()), ("np.add.reduce(x, axis=k)", None),
    ("np.add.accumulate(x)", (2, 3)), ("np.multiply.accumulate(x, 1)", (2, 3)), ("np.add.accumulate(s)", None),
    # a reduction's result with its axes kept (the forward-mode and log-sum-exp templates' s2s.keep)
    ("s2s.keep(np.sum(x, axis=1), x, 1, False)", (2, 1)), ("s2s.keep(v, x, 0, False)", None),
    ("s2s.keep(np.max(x, 0), x, 0, False)", (1, 3)), ("s2s.keep(r, x, 0, True)", (1, 3)),
    ("s2s.keep(np.sum(x), x, None, False)", None), ("s2s.keep(np.sum(x, 1), x, k, False)", None),
]


@pytest.mark.parametrize("expr, expected", REDUCTIONS + NORMS + CREATION + ACCUMULATIONS + JOINS + PRODUCTS + MOVES + BUILTINS + HELPERS
                         + LINALG + POSITIONS)
def test_call_shapes(expr, expected):
    assert shape_of(expr) == expected


@pytest.mark.parametrize("expr, expected", [c for c in REDUCTIONS + NORMS + CREATION + ACCUMULATIONS + JOINS + PRODUCTS + MOVES + BUILTINS
                                            + HELPERS + LINALG + POSITIONS
                                            if c[1] is not None and not _UNKNOWN.search(c[0])])
def test_claimed_shapes_are_numpys(expr, expected):
    """Each shape claimed above is the one the call gives on arrays of those shapes."""
    rng = np.random.default_rng(0)
    values = {p: 0.5 if shape == () else rng.normal(size=shape) for p, shape in P.items() if shape is not None}
    values["z"] = 0.0
    assert np.shape(eval(expr, {**_NAMES, **values})) == expected


@pytest.mark.parametrize("expr, pieces", [
    ("np.meshgrid(v, b)", ((3, 4), (3, 4))), ("np.meshgrid(v, x, indexing='ij')", ((4, 6), (4, 6))),
    ("np.meshgrid(v, b, sparse=True)", ((1, 4), (3, 1))), ("np.meshgrid(v, b, s, indexing='ij', sparse=True)",
                                                          ((4, 1, 1), (1, 3, 1), (1, 1, 1))),
    ("np.meshgrid(v, b, s)", ((3, 4, 1),) * 3), ("np.meshgrid(v)", ((4,),)), ("np.meshgrid(x, copy=False)", ((6,),)),
])
def test_meshgrid_outputs_have_numpys_shapes(expr, pieces):
    assert shape_of(expr) == Seq(pieces)
    values = {p: np.ones(shape) for p, shape in P.items() if shape is not None}
    assert tuple(np.shape(p) for p in eval(expr, {**_NAMES, **values})) == pieces


@pytest.mark.parametrize("expr, expected", [
    ("np.linalg.eigh(Q)", Seq(((3,), (3, 3)))), ("np.linalg.eigh(T, 'U')", Seq(((2, 3), (2, 3, 3)))),
    ("np.linalg.svd(W)", Seq(((3, 3), (3,), (4, 4)))), ("np.linalg.svd(W, full_matrices=False)", Seq(((3, 3), (3,), (3, 4)))),
    ("np.linalg.svd(V, False)", Seq(((2, 3, 3), (2, 3), (2, 3, 4)))), ("np.linalg.svd(W, compute_uv=False)", (3,)),
    ("np.linalg.svd(W.T, False, True, False)", Seq(((4, 3), (3,), (3, 3)))), ("np.expand_dims(b, -1)", (3, 1)),
    ("np.expand_dims(x, (0, -1))", (1, 2, 3, 1)), ("np.expand_dims(x, axis=2)", (2, 3, 1)), ("np.expand_dims(s, 0)", (1,)),
])
def test_decompositions_and_expand_dims_have_numpys_shapes(expr, expected):
    assert shape_of(expr) == expected
    values = {p: np.ones(shape) + np.eye(*shape[-2:]) if len(shape) >= 2 else np.ones(shape)
              for p, shape in P.items() if shape is not None}
    out = eval(expr, {**_NAMES, **values})
    assert (tuple(np.shape(i) for i in out) if isinstance(expected, Seq) else np.shape(out)) == \
        (tuple(expected.items) if isinstance(expected, Seq) else expected)


@pytest.mark.parametrize("expr", ["np.linalg.eigh(x)", "np.linalg.eigh(u)", "np.linalg.svd(W, full_matrices=k)",
                                  "np.linalg.svd(v)", "np.expand_dims(x, (1, 1))", "np.expand_dims(x, 3)",
                                  "np.expand_dims(x, k)"])
def test_decompositions_and_expand_dims_unknown(expr):
    assert shape_of(expr) is None


@pytest.mark.parametrize("expr", ["np.meshgrid(v, u)", "np.meshgrid(v, b, indexing=k)", "np.meshgrid(v, b, sparse=k)",
                                  "np.meshgrid(v, b, order='C')"])
def test_meshgrid_shapes_unknown(expr):
    assert shape_of(expr) is None


@pytest.mark.parametrize("expr, pieces", [
    ("np.split(x, 2)", ((1, 3), (1, 3))), ("np.split(x, 3, axis=1)", ((2, 1),) * 3), ("np.split(x, 3, -1)", ((2, 1),) * 3),
    ("np.array_split(v, 3)", ((2,), (1,), (1,))), ("np.hsplit(W, 2)", ((3, 2), (3, 2))), ("np.hsplit(v, 2)", ((2,), (2,))),
    ("np.vsplit(T, 2)", ((1, 3, 3), (1, 3, 3))), ("np.dsplit(V, 2)", ((2, 3, 2), (2, 3, 2))),
])
def test_split_pieces_have_numpys_shapes(expr, pieces):
    assert shape_of(expr) == Seq(pieces)
    values = {p: np.ones(shape) for p, shape in P.items() if shape is not None}
    assert tuple(np.shape(p) for p in eval(expr, {**_NAMES, **values})) == pieces
    assert shape_of(f"s2s.grad_split(g, {expr}, {expr[expr.index('(') + 1:expr.index(',')]}, 0, None)") == \
        P[expr[expr.index('(') + 1:expr.index(',')]]


def test_einsum_adjoints_have_their_operands_shapes():
    expr = "s2s.grad_einsum_parts(np.ones((2, 4)), ['ij,jk->ik', x, W], False)"
    assert shape_of(expr) == Seq((None, (2, 3), (3, 4)))
    values = {p: np.ones(shape) for p, shape in P.items() if shape is not None}
    parts = eval(expr, {**_NAMES, **values})
    assert [np.shape(p) for p in parts[1:]] == [(2, 3), (3, 4)]


@pytest.mark.parametrize("expr, items", [
    ("s2s.grad_hstack(np.ones((2, 6)), [x, x])", ((2, 3), (2, 3))), ("s2s.grad_hstack(np.ones(4), [b, s])", ((3,), ())),
    ("s2s.grad_vstack(np.ones((3, 3)), (x, r))", ((2, 3), (1, 3))), ("s2s.grad_vstack(np.ones((2, 3)), [b, b])", ((3,), (3,))),
])
def test_stack_adjoints_have_their_items_shapes(expr, items):
    assert shape_of(expr) == Seq(items)
    values = {p: np.ones(shape) for p, shape in P.items() if shape is not None}
    values["s"] = 0.5
    assert tuple(np.shape(p) for p in eval(expr, {**_NAMES, **values})) == items


def test_adjoints_started_at_zero_through_tuples_and_adds():
    from s2s.transforms.shapes import ZERO_SCALAR, ZeroOr

    zero_or = ZeroOr((2, 3))
    assert result_shapes._add_items(zero_or, (2, 3)) == (2, 3) and result_shapes._add_items((2, 3), zero_or) == (2, 3)
    assert result_shapes._add_items(zero_or, ZeroOr((2, 3))) == zero_or
    assert result_shapes._add_items(zero_or, ZeroOr((3,))) is None and result_shapes._add_items(zero_or, (3,)) is None
    assert result_shapes._add_items(zero_or, ()) is None and result_shapes._add_items(ZERO_SCALAR, zero_or) == zero_or
    assert result_shapes._add_items(ZeroOr((1, 3)), (2, 3)) == (2, 3)  # broadcast into the array
    assert result_shapes._add_items(ZeroOr((2, 3)), (1, 3)) is None


def test_unbroadcast_keeps_an_adjoint_started_at_zero():
    from s2s.transforms.shapes import ZeroOr, ZeroScalar

    assert type(shape_of("s2s.unbroadcast(s2s.getitem_grad(s, np.linalg.slogdet(Q), 1)[0], x)")) is ZeroScalar
    # g is 0.0 on the loop's first trip, an array of x's shape after: unbroadcast(g, x) is 0.0 or x's shape
    src = ("def f(x, n, r):\n    g = 0.0\n    for i in range(n):\n        u = s2s.unbroadcast(g, x)\n"
           "        v = s2s.unbroadcast(-g, r)\n        g = x * 2.0\n    return u\n")
    fdef = ast.parse(src).body[0]
    shapes = Shapes(fdef, {"x": (2, 3), "n": (), "r": (1, 3)}, _resolve, runtime_helpers(), None)
    loop = fdef.body[1]
    assert shapes.of(loop.body[0].value) is None  # (a ZeroOr is not a shape)
    assert shapes._either(loop.body[0].value, None) == ((), (2, 3))
    assert shapes._either(loop.body[1].value, None) == ((), (1, 3))
    assert shapes._either(ast.parse("-g", mode="eval").body, {"g": ZeroOr((2, 3))}) == ((), (2, 3))


def test_tuples_of_linear_algebra_and_their_adjoints():
    from s2s.transforms.shapes import ZERO_SCALAR, Seq, ZeroOr, ZeroScalar

    assert shape_of("np.linalg.slogdet(Q)") == Seq(((), ())) and shape_of("np.linalg.slogdet(T)") == Seq(((2,), (2,)))
    assert shape_of("np.linalg.slogdet(W)") is None
    assert shape_of("np.linalg.slogdet(Q)").fields == ("sign", "logabsdet")
    assert shape_of("s2s.field(np.linalg.slogdet(T), 'logabsdet')") == (2,)
    assert shape_of("s2s.field(np.linalg.slogdet(T), 'other')") is None and shape_of("s2s.field(x, 'sign')") is None
    named = shape_of("s2s.field_grad(s, np.linalg.slogdet(Q), ['logabsdet'])")
    assert named == Seq((ZERO_SCALAR, ())) and type(named.items[0]) is ZeroScalar and named.fields[1] == "logabsdet"
    assert shape_of("s2s.field_grad(s, np.linalg.slogdet(Q), ['x'])") is None
    item = shape_of("s2s.getitem_grad(s, np.linalg.slogdet(Q), 1)")  # [0.0, s]: the other item is the zero adjoint
    assert item == Seq((ZERO_SCALAR, ())) and type(item.items[0]) is ZeroScalar and type(item.items[1]) is not ZeroScalar
    assert shape_of("s2s.getitem_grad(s, np.linalg.slogdet(Q), k)") is None
    assert shape_of("s2s.getitem_grad(s, np.linalg.slogdet(Q), 2)") is None
    both = shape_of("s2s.add(s2s.getitem_grad(s, np.linalg.slogdet(Q), 1), s2s.getitem_grad(z, np.linalg.slogdet(Q), 0))")
    assert both == Seq(((), ())) and not any(type(i) is ZeroScalar for i in both.items)
    assert type(shape_of("s2s.grad_slogdet(s2s.getitem_grad(s, np.linalg.slogdet(Q), 0), Q)")) is ZeroScalar
    shapes, value = _shapes("s2s.grad_det(s, np.linalg.det(Q), Q)")
    assert shapes._call(value, None) == ZeroOr((3, 3)) and shapes._either(value, None) == ((), (3, 3))
    assert shape_of("g + s2s.grad_det(s, np.linalg.det(Q), Q)") is None  # (2, 3) and (3, 3) do not broadcast
    assert shape_of("np.ones((3, 3)) + s2s.grad_det(s, np.linalg.det(Q), Q)") == (3, 3)


def test_module_constants_are_real_numbers():
    shapes, value = _shapes("2 * np.pi", {"x": "d"})
    assert shapes.of(value) == () and shapes.real(value)
    shapes, value = _shapes("np.newaxis")
    assert shapes.of(value) is None and not shapes.real(value)


@pytest.mark.parametrize("expr, expected", [
    ("np.sin(x)", (2, 3)), ("np.maximum(x, r)", (2, 3)), ("np.maximum(x, v)", None),  # ufuncs: NumPy's nin broadcast
    ("np.sin(x, out=u)", None), ("np.add.reduceat(x, v)", None), ("np.sin(*u)", None), ("f(x)", None),
])
def test_calls_without_a_shape_function(expr, expected):
    assert shape_of(expr) == expected


@pytest.mark.parametrize("expr, real", [
    ("np.max(x)", True), ("np.max(x, axis=1, keepdims=True)", True), ("np.min(v)", True), ("np.max(x, 1)", False),
    ("np.sum(x, 1)", True), ("np.sum(x, axis=1)", True), ("np.sum(x)", True), ("np.sum(x, dtype=int)", False),
    ("np.linalg.norm(x)", True), ("np.linalg.norm(x, 2)", True), ("np.zeros(3)", True), ("np.ones(x.shape)", True),
    ("np.zeros(3, int)", False), ("np.zeros(3, dtype=int)", False), ("np.outer(x, v)", True), ("np.outer(x, n)", False),
    ("np.dot(x, W)", True), ("np.matmul(x, 2)", False), ("np.dot(x, n)", False), ("s2s.balanced_eq(x, m, r)", True),
    ("s2s.balanced_eq(n, m, r)", False), ("np.sum(x > 0, axis=1, keepdims=True, dtype=x.dtype)", True),
    ("np.mean(x > 0, axis=0, dtype=x.dtype)", True), ("np.sum(x > 0, axis=1, dtype=n.dtype)", False),
    ("np.max(n)", False), ("np.sin(x)", True), ("np.floor(x)", False),
    ("np.ravel(x)", True), ("np.reshape(x, (3, 2))", True), ("np.roll(x, 1, 0)", True), ("np.ravel(n)", False),
    ("np.transpose(x)", True), ("np.reshape(x, (3, 2), order='F')", False),  # (keywords: not claimed)
    ("np.clip(x, 0.0, 6.0)", True), ("np.clip(x, None, 1)", True), ("np.clip(x, n, 1.0)", False),
    ("np.linalg.norm(x, axis=1)", True), ("np.linalg.norm(x, ord='fro', keepdims=True)", True),
    ("np.linalg.norm(n, axis=0)", False),  # (every norm of real floats is real; of ints, float64, not claimed)
])
def test_real_calls(expr, real):
    kinds = {p: "d" for p in P if p not in ("u", "n", "k")}
    shapes, value = _shapes(expr, kinds)
    assert shapes.real(value) is real


class _Site:
    """A call site of given argument shapes and literal keywords, without a program."""

    def __init__(self, shapes, **keywords):
        self.nargs, self.keywords, self._shapes, self._kw = len(shapes), keywords.keys(), shapes, keywords

    def shape(self, which):
        return self._shapes[which] if type(which) is int and which < self.nargs else None

    def literal(self, which, default=None):
        if type(which) is int:
            return self._shapes[which] if which < self.nargs else default
        return self._kw.get(which, default)


@pytest.mark.parametrize("shapes, keywords, expected", [
    (((4, 3),), {}, ()), (((4, 3),), {"axis": 0}, (3,)), (((4, 3),), {"axis": -1, "keepdims": True}, (4, 1)),
    (((4, 3),), {"axis": None, "keepdims": True}, (1, 1)), (((4, 3),), {"axis": (0, 1)}, ()),
    ((None,), {"axis": 0}, None), (((4, 3),), {"axis": NOT_LITERAL}, None), (((4, 3),), {"out": None}, None),
])
def test_reduction_alone(shapes, keywords, expected):
    assert result_shapes.reduction()(_Site(shapes, **keywords)) == expected


def test_the_records_hold_the_shape_functions():
    """Every call the shapes pass knows the shape of is its rule's `result_shape` (there is no other table)."""
    for func in (np.sum, np.max, np.any, np.linalg.norm, np.zeros, np.full, np.zeros_like, np.dot, np.matmul,
                 np.outer, np.where, np.reshape, np.ravel, np.broadcast_to, len, float, abs, runtime.unbroadcast,
                 runtime.expand_reduced, runtime.add, runtime.getitem_grad, runtime.balanced_eq, runtime.copy):
        assert callable(rules.record(func).result_shape), func
    assert rules.lookup(np.sin).result_shape is None  # a ufunc: its shape comes from NumPy's own description
    assert rules.lookup(np.max).safe_if_nonempty and not rules.lookup(np.max).safe
    assert callable(rules.lookup(np.max).real) and rules.lookup(np.sum).real is True
    assert callable(rules.lookup(np.shape).result_value)


def twice_rows(x):
    return np.concatenate([x, x])


@pytest.fixture
def twice_rows_rule():
    def shape(site):
        a = site.shape(0)
        return (2 * a[0],) + a[1:] if site.nargs == 1 and not site.keywords and a else None

    rule = rules.defrule_for(twice_rows, "twice_rows(x)", result_shape=shape, x="g[:len(x)] + g[len(x):]")
    try:
        yield rule
    finally:
        rules._RULES.pop(id(twice_rows), None)
        rules._KEYED.pop(id(twice_rows), None)
        rules.version += 1


def test_a_new_primitive_states_its_shape_in_its_record(twice_rows_rule):
    _NAMES["twice_rows"] = twice_rows
    try:
        assert shape_of("twice_rows(x)") == (4, 3) and shape_of("twice_rows(u)") is None
    finally:
        del _NAMES["twice_rows"]


def test_site_reads_arguments_by_position_and_keyword():
    fdef = ast.parse("def f(x, n):\n    out = g(x, 2, axis=(0, 1), shape=x.shape, flag=n)\n").body[0]
    shapes = Shapes(fdef, {"x": (2, 3), "n": None}, _resolve, runtime_helpers(), {"x": "d"})
    call = fdef.body[0].value
    site = Site(shapes, call.args, {k.arg: k.value for k in call.keywords}, None, shapes.reals)
    assert site.nargs == 2 and set(site.keywords) == {"axis", "shape", "flag"}
    assert site.shape(0) == (2, 3) and site.shape(1) == () and site.shape(2) is None and site.shape("axis") is None
    assert site.value(1) == 2 and site.value("shape") == (2, 3) and site.value("flag") is None
    assert site.literal("axis") == (0, 1) and site.literal("flag") is NOT_LITERAL and site.literal("out", 7) == 7
    assert site.real(0) and not site.real(1) and site.int_literal(1) and site.real_args()


@pytest.mark.parametrize("expr, expected", [
    ("s2s.grad_concatenate(np.zeros((4, 3)), (x, g), 0)", ((2, 3), (2, 3))),
    ("s2s.grad_concatenate(np.zeros((2, 6)), (x, g), 1)", ((2, 3), (2, 3))),
    ("s2s.grad_concatenate(np.zeros((5, 3)), (x, g), 0)", None),  # (not the concatenation's shape)
    ("s2s.grad_concatenate(z, (x, g), 0)", None),  # (a number: maybe the zero adjoint)
    ("s2s.grad_stack(np.zeros((2, 4)), (v, v), 0)", ((4,), (4,))),
    ("s2s.grad_stack(np.zeros((4, 2)), (v, v), 1)", ((4,), (4,))),
    ("s2s.grad_stack(np.zeros((4, 2)), (v, v), 0)", None),
])
def test_pieces_of_joined_arrays(expr, expected):
    got = shape_of(expr)
    assert (None if got is None else got.items) == expected
    if expected is not None:  # what the helper gives on arrays of those shapes
        values = {"x": np.zeros((2, 3)), "g": np.zeros((2, 3)), "v": np.zeros(4), "z": 0.0}
        assert tuple(np.shape(p) for p in eval(expr, {**_NAMES, **values})) == expected


def test_a_real_array_of_unknown_shape_reduced_over_all_axes_is_a_number():
    kinds = {p: "d" for p in P if p not in ("n", "k")}  # u: real floats of a shape not known
    for expr, expected in [("np.sum(u)", ()), ("np.mean(u ** 2)", ()), ("np.sum(u, axis=None)", ()),
                           ("np.sum(u, axis=0)", None), ("np.sum(u, keepdims=True)", None), ("np.sum(n)", None)]:
        shapes, _ = _shapes(expr, kinds)
        assert shapes.env["out"] == expected, expr


# one call of each NumPy function whose rule says it moves its first argument's entries (real_as_first)
_MOVES = {
    np.reshape: lambda a: np.reshape(a, (3, 2)), np.ravel: np.ravel, np.transpose: np.transpose,
    np.swapaxes: lambda a: np.swapaxes(a, 0, 1), np.matrix_transpose: np.matrix_transpose,
    np.moveaxis: lambda a: np.moveaxis(a, 0, 1), np.squeeze: lambda a: np.squeeze(a[:1]),
    np.expand_dims: lambda a: np.expand_dims(a, 0), np.broadcast_to: lambda a: np.broadcast_to(a, (4, 2, 3)),
    np.atleast_1d: np.atleast_1d, np.atleast_2d: np.atleast_2d, np.atleast_3d: np.atleast_3d, np.flip: np.flip,
    np.flipud: np.flipud, np.fliplr: np.fliplr, np.rot90: np.rot90, np.roll: lambda a: np.roll(a, 1),
    np.rollaxis: lambda a: np.rollaxis(a, 1), np.tril: np.tril, np.triu: np.triu, np.diagonal: np.diagonal,
    np.repeat: lambda a: np.repeat(a, 2), np.take: lambda a: np.take(a, [0, 2]),
    np.take_along_axis: lambda a: np.take_along_axis(a, np.array([[0], [1]]), 1), np.tile: lambda a: np.tile(a, 2),
    np.diag: np.diag, np.sort: np.sort, np.diff: np.diff, np.pad: lambda a: np.pad(a, 1, mode="edge"),
    np.delete: lambda a: np.delete(a, 1, axis=1), np.partition: lambda a: np.partition(a, 1),
    np.fft.fftshift: np.fft.fftshift, np.fft.ifftshift: lambda a: np.fft.ifftshift(a, axes=1),
}


def test_the_rules_said_to_move_entries_keep_a_real_dtype():
    claimed = [f for f in _MOVES if rules.lookup(f).real in (result_shapes.real_as_first, result_shapes.real_rolled,
                                                                         result_shapes.real_padded,
                                                                         result_shapes.real_differenced)]
    assert len(claimed) == len(_MOVES), set(_MOVES) - set(claimed)
    every = {f for f in vars(np).values() if callable(f) and rules.lookup(f) is not None
             and getattr(rules.lookup(f), "real", None) is result_shapes.real_as_first}
    assert every <= set(_MOVES), every - set(_MOVES)  # a new one must join the table
    for f, call in _MOVES.items():
        for dtype in (np.float32, np.float64):
            out = call(np.arange(6, dtype=dtype).reshape(2, 3))
            assert out.dtype == dtype, f.__name__


def test_clip_broadcasts_its_bounds_and_takes_none_for_no_bound():
    for expr, expected in [("np.clip(x, 0.0, 6.0)", (2, 3)), ("np.clip(x, None, r)", (2, 3)), ("np.clip(s, v, None)", (4,)),
                           ("np.clip(x, v, 1.0)", None), ("np.clip(x, 0.0, u)", None)]:
        assert shape_of(expr) == expected, expr


@pytest.mark.parametrize("expr, expected", [
    ("np.subtract.outer(x, v)", (2, 3, 4)), ("np.multiply.outer(v, s)", (4,)), ("np.add.outer(x, u)", None),
    ("np.linalg.qr(W)[1]", (3, 4)), ("np.linalg.qr(x, 'complete')[0]", (2, 2)), ("np.linalg.qr(T, mode='r')", (2, 3, 3)),
    ("np.arange(1.0, 5)", (4,)), ("np.arange(0.0, 1.0, 0.1)", (10,)), ("np.arange(2, 1.0, -0.25)", (4,)),
    ("np.arange(0.0, 1e12)", None),  # (not counted: too many to make)
])
def test_outer_methods_qr_and_float_ranges(expr, expected):
    assert shape_of(expr) == expected
