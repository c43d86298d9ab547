"""Rules for linear algebra: dot, @, inner, outer, tensordot, einsum, trace, norm, inv, det, solve."""

import autograd.numpy as anp
import numpy as np
import pytest
from conftest import check_grad, rng

import s2s


def _r(shape, seed):
    x = rng(seed).normal(size=shape)
    return x if shape != () else float(x)


def _well_conditioned(n, seed, batch=()):
    a = rng(seed).normal(size=batch + (n, n))
    return a + 3.0 * np.eye(n)


# ---- dot / matmul / inner / outer ------------------------------------------------


def f_dot(a, b):
    r = np.dot(a, b)
    return np.sum(r * np.sin(r))


def f_matmul_op(a, b):
    r = a @ b
    return np.sum(r * np.sin(r))


def f_matmul_fn(a, b):
    r = np.matmul(a, b)
    return np.sum(r * np.sin(r))


def f_inner(a, b):
    r = np.inner(a, b)
    return np.sum(r * np.sin(r))


def f_outer(a, b):
    r = np.outer(a, b)
    return np.sum(r * np.sin(r))


DOT_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((), (3,)), ((2, 3), ()),
              ((2, 2, 3), (3,)), ((2, 3), (4, 3, 2)), ((2, 2, 3), (4, 3, 2))]
MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
                 ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2)), ((5, 2, 3), (3,)),
                 ((3,), (5, 3, 2))]
INNER_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (4, 3)), ((2, 3), (4, 3)), ((2, 2, 3), (4, 3))]
OUTER_SHAPES = [((3,), (4,)), ((2, 3), (4,)), ((3,), (2, 2)), ((2, 2), (3, 1))]


@pytest.mark.parametrize("shapes", DOT_SHAPES, ids=str)
def test_dot(shapes):
    a, b = _r(shapes[0], 1), _r(shapes[1], 2)
    check_grad(f_dot, a, b, wrt=(0, 1))


@pytest.mark.parametrize("f", [f_matmul_op, f_matmul_fn])
@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(f, shapes):
    a, b = _r(shapes[0], 3), _r(shapes[1], 4)
    check_grad(f, a, b, wrt=(0, 1))


@pytest.mark.parametrize("shapes", INNER_SHAPES, ids=str)
def test_inner(shapes):
    a, b = _r(shapes[0], 5), _r(shapes[1], 6)
    check_grad(f_inner, a, b, wrt=(0, 1))


def _ag_outer(a, b):  # autograd's outer VJP mishandles operands that are not 1-D
    r = anp.reshape(a, (-1, 1)) * anp.reshape(b, (1, -1))
    return anp.sum(r * anp.sin(r))


@pytest.mark.parametrize("shapes", OUTER_SHAPES, ids=str)
def test_outer(shapes):
    a, b = _r(shapes[0], 7), _r(shapes[1], 8)
    check_grad(f_outer, a, b, wrt=(0, 1), ag=_ag_outer)


def f_dot_method(a, b):
    return np.sum(a.dot(b) ** 2)


def test_dot_method():
    check_grad(f_dot_method, _r((2, 3), 9), _r((3, 2), 10), wrt=(0, 1),
               ag=lambda a, b: anp.sum(anp.dot(a, b) ** 2))  # autograd's boxes have no .dot


# ---- tensordot ------------------------------------------------------------------


def f_tensordot(a, b, axes):
    r = np.tensordot(a, b, axes)
    return np.sum(r * np.sin(r))


def f_tensordot_kw(a, b):
    r = np.tensordot(a, b, axes=([0, 2], [1, 0]))
    return np.sum(r * r)


def f_tensordot_default(a, b):
    r = np.tensordot(a, b)
    return np.sum(r * r)


TENSORDOT = [((2, 3, 4), (3, 4, 5), 2), ((2, 3), (3, 4), 1), ((2, 3), (4, 5), 0), ((2, 3), (2, 3), 2),
             ((2, 3, 4), (4, 2, 5), ([0, 2], [1, 0])), ((2, 3, 4), (3, 5), ((1,), (0,))),
             ((2, 3, 4), (5, 4), (-1, -1)), ((3, 4), (4, 3), ([1, 0], [0, 1]))]


@pytest.mark.parametrize("sa, sb, axes", TENSORDOT, ids=str)
def test_tensordot(sa, sb, axes):
    a, b = _r(sa, 11), _r(sb, 12)
    check_grad(f_tensordot, a, b, axes, wrt=(0, 1))


def test_tensordot_keyword_and_default():
    check_grad(f_tensordot_kw, _r((2, 3, 4), 13), _r((4, 2, 5), 14), wrt=(0, 1))
    check_grad(f_tensordot_default, _r((2, 3, 4), 15), _r((3, 4, 2), 16), wrt=(0, 1))


# ---- einsum ------------------------------------------------------------------------


def f_einsum2(spec, a, b):
    r = np.einsum(spec, a, b)
    return np.sum(r * np.sin(r))


def f_einsum1(spec, a):
    r = np.einsum(spec, a)
    return np.sum(r * np.sin(r))


def f_einsum3(spec, a, b, c):
    r = np.einsum(spec, a, b, c)
    return np.sum(r * np.sin(r))


EINSUM2 = [("ij,jk->ik", (2, 3), (3, 4)), ("ij,jk", (2, 3), (3, 4)), ("i,i->", (3,), (3,)),
           ("i,j->ij", (3,), (4,)), ("bij,bjk->bik", (2, 3, 4), (2, 4, 2)), ("ij,ij->i", (2, 3), (2, 3)),
           ("ij,kj->ki", (2, 3), (4, 3)), ("ijk,k->", (2, 3, 4), (4,)), ("ij,j->ij", (2, 3), (3,)),
           ("ij,k->ijk", (2, 3), (2,)), ("ij,kl->jl", (2, 3), (4, 5))]
EINSUM1 = [("ij->ji", (2, 3)), ("ij->i", (2, 3)), ("ijk->kj", (2, 3, 4)), ("ij->", (2, 3)), ("ij", (3, 2))]


@pytest.mark.parametrize("spec, sa, sb", EINSUM2, ids=[s for s, _, _ in EINSUM2])
def test_einsum_two_operands(spec, sa, sb):
    a, b = _r(sa, 17), _r(sb, 18)

    def ag(x, y):
        r = anp.einsum(spec, x, y)
        return anp.sum(r * anp.sin(r))

    s2s_grads = s2s.grad(f_einsum2, wrt=(1, 2))(spec, a, b)
    check_grad(f_einsum2, spec, a, b, wrt=(1, 2), ag=False)
    import autograd
    for g, w in zip(s2s_grads, (0, 1)):
        np.testing.assert_allclose(g, autograd.grad(ag, w)(a, b), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("spec, sa", EINSUM1, ids=[s for s, _ in EINSUM1])
def test_einsum_one_operand(spec, sa):
    check_grad(f_einsum1, spec, _r(sa, 19), wrt=1)


def test_einsum_three_operands():
    a, b, c = _r((2, 3), 20), _r((3, 4), 21), _r((4,), 22)
    check_grad(f_einsum3, "ij,jk,k->i", a, b, c, wrt=(1, 2, 3))


# ---- trace -------------------------------------------------------------------------


def f_trace(a):
    return np.trace(a) ** 2


def f_trace_offset(a, offset):
    return np.trace(a, offset) * np.trace(a)


def f_trace_axes(a):
    r = np.trace(a, axis1=1, axis2=2)
    return np.sum(r * np.sin(r))


def f_trace_batch(a):
    r = np.trace(a)
    return np.sum(r * r * np.array([1.0, 2.0, -1.0]))


@pytest.mark.parametrize("shape", [(3, 3), (3, 5), (4, 2)], ids=str)
def test_trace(shape):
    check_grad(f_trace, _r(shape, 23))


@pytest.mark.parametrize("offset", [-1, 0, 1, 2])
def test_trace_offset(offset):
    check_grad(f_trace_offset, _r((3, 4), 24), offset)


def _ag_trace_axes(a):  # autograd's trace takes no axis1/axis2
    r = anp.sum(a * np.eye(3), axis=(1, 2))
    return anp.sum(r * anp.sin(r))


def test_trace_axes():
    check_grad(f_trace_axes, _r((2, 3, 3), 25),
               ag=_ag_trace_axes)


def test_trace_batch_trailing():
    check_grad(f_trace_batch, _r((4, 4, 3), 26))


# ---- norm --------------------------------------------------------------------------


def f_norm(x):
    return np.linalg.norm(x) ** 3


def f_norm_axis(x, axis, keepdims):
    r = np.linalg.norm(x, axis=axis, keepdims=keepdims)
    return np.sum(r * np.sin(r))


def f_norm_ord(x, ord):
    return np.linalg.norm(x, ord) * 2.0


def f_norm_fro(x):
    return np.linalg.norm(x, "fro")


@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 3, 2)], ids=str)
def test_norm_default(shape):
    check_grad(f_norm, _r(shape, 27))


def _ag_norm_axis(x, axis, keepdims):
    r = anp.sqrt(anp.sum(x * x, axis=axis, keepdims=keepdims))
    return anp.sum(r * anp.sin(r))


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_norm_axis(axis, keepdims):
    # autograd's norm VJP returns a wrongly shaped gradient with keepdims=True
    check_grad(f_norm_axis, _r((3, 4), 28), axis, keepdims, ag=_ag_norm_axis)


@pytest.mark.parametrize("ord", [1, 2])
def test_norm_vector_ord(ord):
    ag = (lambda x, o: anp.sum(anp.abs(x)) * 2.0) if ord == 1 else None  # autograd lacks ord=1
    check_grad(f_norm_ord, _r((5,), 29), ord, ag=ag)


def test_norm_fro():
    check_grad(f_norm_fro, _r((3, 4), 30))


# ---- inv, det, solve ----------------------------------------------------------------------


def f_inv(a):
    r = np.linalg.inv(a)
    return np.sum(r * np.sin(r))


def f_det(a):
    return np.linalg.det(a) ** 2


def f_det_batch(a):
    return np.sum(np.linalg.det(a) * np.array([1.0, -2.0]))


def f_solve(a, b):
    r = np.linalg.solve(a, b)
    return np.sum(r * np.sin(r))


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_inv(n):
    check_grad(f_inv, _well_conditioned(n, 31))


def test_inv_batch():
    check_grad(f_inv, _well_conditioned(3, 32, batch=(2,)))


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_det(n):
    check_grad(f_det, _well_conditioned(n, 33))


def test_det_batch():
    check_grad(f_det_batch, _well_conditioned(3, 34, batch=(2,)))


@pytest.mark.parametrize("sb", [(3,), (3, 1), (3, 2)], ids=str)
def test_solve(sb):
    check_grad(f_solve, _well_conditioned(3, 35), _r(sb, 36), wrt=(0, 1))


def test_solve_batch_matrix_rhs():
    check_grad(f_solve, _well_conditioned(3, 37, batch=(2,)), _r((2, 3, 2), 38), wrt=(0, 1))


# NumPy 2 reads b as one vector where it has one axis (solved against each matrix of a stack), and as a stack of
# matrices of columns otherwise, its stack broadcast against a's. A (3, 3, 3) stack and a b of shape (3,) gave a
# wrong gradient silently (the adjoint solved a^T against g as one 3x3 matrix); other shapes raised.
_SOLVE_STACKS = [((2, 2, 2), (2,)), ((3, 3, 3), (3,)), ((2, 3, 3), (3,)), ((4, 2, 3, 3), (3,)),
                 ((2, 3, 3), (3, 2)), ((2, 3, 3), (5, 1, 3, 2)), ((3, 3), (4, 3, 2)), ((3, 3, 3), (3, 3))]


def _stack_args(sa, sb, seed):
    a = rng(seed).normal(size=sa) * 0.3 + 3.0 * np.eye(sa[-1])
    return a, rng(seed + 1).normal(size=sb)


@pytest.mark.parametrize("sa,sb", _SOLVE_STACKS, ids=str)
def test_solve_of_stacks_broadcast_as_numpy_reads_b(sa, sb):
    from helpers_fd import fd_grad

    a, b = _stack_args(sa, sb, 39)
    want = [fd_grad(f_solve, (a, b), wrt=w) for w in (0, 1)]
    for got in (s2s.grad(f_solve, wrt=(0, 1))(a, b), s2s.grad(f_solve, wrt=(0, 1))(a, b),
                s2s.derivative(f_solve, wrt=(0, 1))(a, b)):
        for g, w in zip(got, want):
            assert np.shape(g) == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("sa,sb", _SOLVE_STACKS[:3] + _SOLVE_STACKS[5:6], ids=str)
def test_solve_of_stacks_tangents_and_second_derivatives(sa, sb):
    from helpers_fd import fd_grad

    a, b = _stack_args(sa, sb, 41)
    for w in (0, 1):
        want = fd_grad(f_solve, (a, b), wrt=w)
        np.testing.assert_allclose(s2s.jacobian(f_solve, wrt=w, mode="forward")(a, b), want, rtol=1e-5, atol=1e-7)
        # the Hessian's rows, differences of the gradient
        hess = s2s.hessian(f_solve, wrt=w)(a, b)
        grad = s2s.grad(f_solve, wrt=w)
        x = (a, b)[w]
        for k in range(min(3, x.size)):
            step = np.zeros(x.size)
            step[k] = 1e-5
            plus, minus = list((a, b)), list((a, b))
            plus[w], minus[w] = x + step.reshape(x.shape), x - step.reshape(x.shape)
            row = (grad(*plus) - grad(*minus)) / 2e-5
            np.testing.assert_allclose(np.reshape(hess, (x.size, x.size))[k], row.ravel(), rtol=1e-4, atol=1e-6)


def attention_pool(X, q):
    s = X @ q
    m = np.max(s, axis=1, keepdims=True)
    e = np.exp(s - m)
    a = e / np.sum(e, axis=1, keepdims=True)
    return np.sum((a[:, :, None] * X).sum(axis=1) ** 2)


def test_a_stack_of_matrices_times_a_vector_has_a_shape():
    """`X @ q` of a (sets, items, features) stack and a vector: (sets, items). Before stop 46 only 1-d and 2-d
    products had shapes, and a pooling loss kept 16 general helpers (helper 137's review)."""
    X, q = _r((4, 6, 5), 42), _r((5,), 43)
    check_grad(attention_pool, X, q, wrt=(0, 1))
    src = s2s.source(s2s.grad(attention_pool, wrt=(0, 1)), X, q)
    assert "kept:" not in src and "unbroadcast" not in src and "grad_extreme" not in src, src
