"""The NumPy rules issue 15 lists (shape moves, gathers, sort, splits, cumprod, kron, cross, pinv,
slogdet, cholesky, eigh, svd, p- and nuclear norms, np.inner with a number, dict(a=...)).

Each gradient of `np.sum(FUNC(x, ...) * w)` (or a function of the outputs) is compared with central
finite differences and with autograd where autograd has the rule; each tangent (s2s.jvp) with a
finite-difference directional derivative. Hessians of every rule with an adjoint are checked in
tests/test_rules_soundness.py (HESSIAN_SAMPLES); the refusals are checked here.
"""

import numpy as np
import pytest
from conftest import check_grad, rng

import s2s
from s2s.errors import NoDerivativeRuleError, S2SError


def _w(shape, seed):
    return rng(seed).normal(size=shape)


W34, W43, W33, W3, W4, W5, W10 = (_w((3, 4), 1), _w((4, 3), 2), _w((3, 3), 3), _w(3, 4), _w(4, 5), _w(5, 6),
                                  _w(10, 7))
W345 = _w((3, 4, 5), 8)
W68 = _w((6, 8), 9)
KR = np.array([[1.0, 2.0], [3.0, -1.0]])


def check_jvp(f, *args, rtol=1e-5, atol=1e-6, eps=1e-6):
    """s2s.jvp(f) in the first argument against a central-difference directional derivative."""
    t = rng(99).normal(size=np.shape(args[0]))
    tangents = (t,) + (None,) * (len(args) - 1)
    _, got = s2s.jvp(f, tuple(args), tangents)
    expected = (f(args[0] + eps * t, *args[1:]) - f(args[0] - eps * t, *args[1:])) / (2 * eps)
    np.testing.assert_allclose(np.asarray(got, dtype=float), expected, rtol=rtol, atol=atol)


# ---- the functions: each a scalar of one array -------------------------------------------------------------------

def degrees(x):
    return np.sum(np.degrees(x) * W34)


def radians(x):
    return np.sum(np.radians(x) * np.sin(x))


def conj(x):
    return np.sum(np.conj(x) * W34) + np.sum(x.conj() * np.conjugate(x))


def real_if_close(x):
    return np.sum(np.real_if_close(x * x) * W34)


def imag_angle(x):
    return np.sum(np.imag(x) * W34) + np.sum(np.angle(x) * W34) + np.sum(x * x)


def remainder(x):
    return np.sum(np.remainder(x, 0.7) * W34) + np.sum(np.mod(x, 1.3) ** 2)


def repeat(x):
    return np.sum(np.repeat(x, 2)[:10] * W10)


def repeat_axis(x):
    return np.sum(np.repeat(x, [1, 2, 0], axis=0) * W34)


def repeat_method(x):
    return np.sum(x.repeat(2, axis=1)[:, 1:5] * W34)


def diff(x):
    return np.sum(np.diff(x, axis=0) * W34[:2]) + np.sum(np.diff(x, n=2) ** 2)


def kron(x):
    return np.sum(np.kron(x, KR) * W68)


def kron_both(x):
    return np.sum(np.kron(x[0], x[1:, :2]) ** 2)


def sort(x):
    return np.sum(np.sort(x) * W34) + np.sum(np.sort(x, axis=0) ** 3 * W34) + np.sum(np.sort(x, axis=None) * np.arange(12))


def argsort_index(x):
    v = x[0]
    return np.sum(v[np.argsort(v)] * W4)


def tril_triu(x):
    return np.sum(np.tril(x) * W34) + np.sum(np.triu(x, 1) ** 2 * W34) + np.sum(np.tril(x[0], -1) * W4[:, None])


def roll(x):
    return np.sum(np.roll(x, 2) * W34) + np.sum(np.roll(x, (1, -1), axis=(0, 1)) ** 2 * W34)


def rollaxis(x):
    y = np.reshape(x, (3, 2, 2))
    return np.sum(np.rollaxis(y, 2) * np.transpose(W34.reshape(3, 2, 2), (2, 0, 1))) + np.sum(np.rollaxis(y, 0, 3) ** 2)


def rot90(x):
    return np.sum(np.rot90(x) * W43) + np.sum(np.rot90(x, 2) ** 2 * W34) + np.sum(np.rot90(x, -1, axes=(1, 0)) * W43)


def flips(x):
    return np.sum(np.flipud(x) * W34) + np.sum(np.fliplr(x) ** 2 * W34)


def cross(x):
    return np.sum(np.cross(x[:, :3], W33) * W33) + np.sum(np.cross(x[0, :2], x[1, 2:]) ** 2)


def splits(x):
    a, b = np.split(x, 2, axis=1)
    c, d, e = np.array_split(x[0], 3)
    f, g = np.hsplit(x, [1])
    h, k = np.vsplit(x, [2])
    return np.sum(a * W34[:, :2]) + np.sum(b * b) + np.sum(c * d) + np.sum(e ** 3) + np.sum(g * W33) \
        + np.sum(h * W34[:2]) + np.sum(f ** 2) + np.sum(k ** 3)


def meshgrid(x):
    X, Y = np.meshgrid(x[0], x[1, :3] ** 2)
    P, Q = np.meshgrid(x[2, :2], x[0], indexing="ij", sparse=True)
    A, B, C = np.meshgrid(x[1, :2], x[2], x[0, :3] * x[1, :3], indexing="ij")
    return np.sum(np.sin(X) * Y) + np.sum(P * Q ** 2 * W34[:2]) + np.sum(A * B * C ** 2)


def gradients(x):
    return np.sum(np.gradient(x ** 2, axis=1) * W34) + np.sum(np.gradient(np.sin(x[0])) ** 2)


def gradients_spaced(x):  # (autograd's np.gradient takes axis= alone, and along axis 0 of a 3x4 array it raises)
    gy, gx = np.gradient(x ** 2)
    ends = np.gradient(x[0], 0.3, edge_order=2)
    uneven = np.gradient(x[1], np.array([0.0, 0.5, 1.5, 1.7]), edge_order=2)
    return np.sum(gx * W34) + np.sum(gy ** 2) + np.sum(ends * W4[:4]) + np.sum(uneven ** 2) \
        + np.sum(np.gradient(x, 2.0, axis=1) * W34) + np.sum(np.gradient(x ** 3, axis=-2)[0])


def quantiles(x):
    return np.quantile(x, 0.3) * 2.0 + np.percentile(x[0], 90) + np.sum(np.quantile(x, [0.1, 0.5, 0.93], axis=0) ** 2) \
        + np.sum(np.percentile(x, np.array([25.0, 75.0]), axis=-1, keepdims=True) ** 2) + np.sum(np.quantile(x, 1.0, axis=1))


def cumulative(x):
    return np.sum(np.cumulative_sum(x, axis=1) * W34) + np.sum(np.cumulative_prod(x[0] + 2.0) ** 2) \
        + np.sum(np.cumulative_sum(x[1]) ** 2) + np.sum(np.cumulative_prod(x, axis=0) * W34)


def deleted_inserted(x):
    return np.sum(np.delete(x, [0, 2], axis=1) ** 2) + np.sum(np.delete(x, [1, 5]) * W10) \
        + np.sum(np.insert(x, 1, x[0, 1] * x[2], axis=0) ** 2) + np.sum(np.insert(x[0], [0, 3], 0.5) * np.arange(6.0))


def vandermonde(x):
    return np.sum(np.vander(x[0]) * W34[0]) + np.sum((np.vander(x[1], 3, increasing=True) @ W3) ** 2)


def least_squares(x):
    a = x.T @ x[:, :3] + np.eye(4, 3) * 2.0  # (4 x 3, full column rank)
    sol, residuals, rank, _ = np.linalg.lstsq(a, x[0] ** 2, rcond=None)
    fit, *_ = np.linalg.lstsq(x.T, np.stack([x[1], x[2] * x[0]], axis=1), rcond=None)
    return np.sum(sol ** 2) + np.sum(np.sin(sol)) + np.sum(residuals) + np.sum(fit * W3[:, None]) + rank * 0.0


def dsplit(x):
    a, b = np.dsplit(np.reshape(x, (2, 2, 3)), [1])
    return np.sum(a * W4.reshape(2, 2, 1)) + np.sum(b * b)


def column_stack(x):
    return np.sum(np.column_stack([x[0], x[1:].T, x[2] * x[0]]) * W34.T[:, :1].repeat(4, axis=1)[:, :4] @ W4[:4].reshape(4, 1))


def append(x):
    return np.sum(np.append(x, x[:1] * 2) * np.arange(16.0)) + np.sum(np.append(x, x[:1] ** 2, axis=0) ** 2)


def pad(x):
    total = np.sum(np.pad(x, 1) * np.arange(30.0).reshape(5, 6))
    for mode in ("edge", "reflect", "symmetric", "wrap"):
        total = total + np.sum(np.pad(x, ((1, 2), (0, 3)), mode=mode) ** 2 * np.arange(42.0).reshape(6, 7))
    return total


def select(x):
    return np.sum(np.select([x > 0.3, x < -0.5], [x * x, np.sin(x)], default=x ** 3) * W34)


def diagonal(x):
    return np.sum(np.diagonal(x) * W3) + np.sum(x.diagonal(1) ** 2 * W3) + np.sum(np.diagonal(x, -1, 1, 0) ** 3)


def atleast_3d(x):
    return np.sum(np.atleast_3d(x) ** 2 * W34[:, :, None]) + np.sum(np.atleast_3d(x[0]) * W4[None, :, None])


def take(x):
    return np.sum(np.take(x, [0, 2, 2, 11]) * W4) + np.sum(np.take(x, [0, 2, 2], axis=1) ** 2 * W33) \
        + np.sum(x.take([1, 1], axis=0) * W34[:2]) + np.take(x, 5) ** 2


def take_along_axis(x):
    return np.sum(np.take_along_axis(x, np.argsort(x, axis=1), axis=1) * W34) \
        + np.sum(np.take_along_axis(x, np.array([[0], [0], [2]]), axis=1) ** 2)


def cumprod(x):
    return np.sum(np.cumprod(x, axis=1) * W34) + np.sum(np.cumprod(x) * np.arange(12.0)) + np.sum(x.cumprod(axis=0) ** 2)


def clip_cumsum_prod(x):
    return np.sum(np.clip(x, -0.5, 0.5) * W34) + np.sum(np.cumsum(x, axis=1) ** 2) + np.prod(x[0])


def outer_tensordot_trace(x):
    return np.sum(np.outer(x[0], x[1]) ** 2) + np.sum(np.tensordot(x, W34, axes=([1], [1])) * W33) \
        + np.trace(x[:, :3] @ x[:, :3]) + np.sum(np.full_like(x, 2.0) * x)


def inner_scalar(x):
    return np.sum(np.inner(x, 2.5) * W34) + np.sum(np.inner(x[0, 0], x) ** 2) + np.inner(x[0], x[1])


def norm_p(x):
    return np.linalg.norm(x[0], ord=3) + np.sum(np.linalg.norm(x, 3, axis=1) * W3) \
        + np.sum(np.linalg.norm(x, ord=1.5, axis=0, keepdims=True) ** 2)


def norm_nuc(x):
    return np.linalg.norm(x, "nuc") + np.sum(np.linalg.norm(np.stack([x, 2 * x]), "nuc", axis=(1, 2)) * W3[:2])


def list_sum(x):
    return np.sum([x, x * x]) + np.mean([x[0], np.sin(x[1])]) + np.sum(np.sum([x, x ** 3], axis=0) * W34)


def dict_values(x):
    d = dict(a=x * 2.0, b=np.sin(x), c=3.0)
    return np.sum(d["a"] * d["b"]) * d["c"]


def einsum_forms(x):
    s = x[:, :3]
    return np.sum(np.einsum("...j,jk->...k", x, W43) * W33) + np.einsum("ii->", s) ** 2 \
        + np.sum(np.einsum("ii->i", s) * W3) + np.sum(np.einsum("ij,ij->i", x, x) * W3)


X34 = _w((3, 4), 20)
# (False: autograd has no rule for some call in the function: np.meshgrid, np.gradient's spacings, np.quantile,
# np.cumulative_sum and _prod (NumPy 2.1), np.delete, np.insert, np.vander, np.linalg.lstsq, a list of repeats, multi-dimensional
# sort, a tuple shift, rot90's axes, cumprod, 2-vectors in cross, diagonal offsets, take, einsum's 'ii->i', .conj()
# on its boxes, and its p-norm with keepdims gives a wrong shape; finite differences remain the oracle there)
ALL = [
    (degrees, True), (radians, True), (conj, False), (real_if_close, False), (imag_angle, False), (remainder, True),
    (repeat, True), (repeat_axis, False), (repeat_method, False), (diff, True), (kron, True), (kron_both, True),
    (sort, False), (argsort_index, True), (tril_triu, False), (roll, False), (rollaxis, True), (rot90, False),
    (flips, True), (cross, False), (splits, True), (meshgrid, False), (gradients, True), (gradients_spaced, False),
    (quantiles, False), (cumulative, False), (deleted_inserted, False), (vandermonde, False),
    (least_squares, False),
    (dsplit, True), (column_stack, True), (append, True),
    (pad, False), (select, True), (diagonal, False), (atleast_3d, True), (take, False), (take_along_axis, False),
    (cumprod, False), (clip_cumsum_prod, True), (outer_tensordot_trace, True), (inner_scalar, True),
    (norm_p, False), (norm_nuc, False), (list_sum, True), (dict_values, True), (einsum_forms, False),
]


@pytest.mark.parametrize("f, autograd_has_it", ALL, ids=[f.__name__ for f, _ in ALL])
def test_gradient(f, autograd_has_it):
    check_grad(f, X34, ag=None if autograd_has_it else False)


@pytest.mark.parametrize("f", [f for f, _ in ALL], ids=[f.__name__ for f, _ in ALL])
def test_tangent(f):
    check_jvp(f, X34)


@pytest.mark.parametrize("f", [degrees, sort, cumprod, kron, take, pad, dict_values, norm_p, splits, meshgrid,
                               gradients, gradients_spaced, quantiles],
                         ids=lambda f: f.__name__)
def test_float32(f):
    g = s2s.grad(f)(X34.astype(np.float32))
    np.testing.assert_allclose(g, s2s.grad(f)(X34), rtol=1e-3, atol=1e-3)


def test_cumprod_with_zeros_and_prod():
    x = np.array([[1.5, 0.0, -2.0, 0.7], [0.0, 0.0, 1.1, 2.0], [0.3, -1.0, 0.0, 1.2]])
    check_grad(cumprod, x, ag=False)  # (autograd has no rule for cumprod)
    check_jvp(cumprod, x)
    h = s2s.hessian(lambda v: np.sum(np.cumprod(v) ** 2))(x[0])
    expected = np.array([s2s.grad(lambda v: np.sum(np.cumprod(v) ** 2))(x[0] + 1e-6 * e)
                         - s2s.grad(lambda v: np.sum(np.cumprod(v) ** 2))(x[0] - 1e-6 * e) for e in np.eye(4)]) / 2e-6
    np.testing.assert_allclose(h, expected, rtol=1e-5, atol=1e-5)


def test_sort_ties_share_the_adjoint_as_max_does():
    x = np.array([[1.0, 0.5, 1.0], [2.0, 2.0, 2.0]])
    w = np.array([1.0, 2.0, 4.0])
    g = s2s.grad(lambda v: np.sum(np.sort(v) * w))(x)
    np.testing.assert_allclose(g, [[3.0, 1.0, 3.0], [7 / 3, 7 / 3, 7 / 3]])
    np.testing.assert_allclose(s2s.grad(lambda v: np.sort(v, axis=None)[-1])(x), s2s.grad(lambda v: np.max(v))(x))
    _, t = s2s.jvp(lambda v: np.sort(v) * w, (x,), (np.array([[1.0, 0.0, 3.0], [0.0, 3.0, 0.0]]),))
    np.testing.assert_allclose(t, [[0.0, 2.0 * 2.0, 2.0 * 4.0], [1.0, 2.0, 4.0]])
    # away from ties both are the plain permutation (checked against finite differences above)


def test_empty_and_zero_d():
    check_grad(lambda x: np.sum(np.repeat(x, 0)) + np.sum(np.sort(x) ** 2), np.array([0.4, -0.3]), ag=False)
    assert s2s.grad(lambda x: np.sum(np.diff(x) * 2.0))(np.array([1.0])).tolist() == [0.0]
    check_grad(lambda x: np.sum(np.atleast_3d(x) * 3.0) + np.sum(np.repeat(x, 3) ** 2), 0.7, ag=False)


# ---- linear algebra -------------------------------------------------------------------------------------------------

A33 = _w((3, 3), 30)
SPD = A33 @ A33.T + 3.0 * np.eye(3)


def pinv(x):
    return np.sum(np.linalg.pinv(x) * W43)


def pinv_wide(x):
    return np.sum(np.linalg.pinv(x.T) * W34)


def slogdet(x):
    sign, logdet = np.linalg.slogdet(x)
    return logdet * 2.0 + sign


def slogdet_batch(x):
    return np.sum(np.linalg.slogdet(np.stack([x, x @ x.T + np.eye(3)]))[1] * W3[:2])


def cholesky(x):
    return np.sum(np.linalg.cholesky(x) * W33)


def cholesky_sym(x):
    return np.sum(np.linalg.cholesky(x @ x.T + np.eye(3)) * W33)


def eigh_values(x):
    w, v = np.linalg.eigh(x)
    return np.sum(w * W3)


def eigh_vectors(x):
    w, v = np.linalg.eigh(x)
    return np.sum(w ** 2 * W3) + np.sum(v * np.sign(v[0]) * W33)


def eigh_upper(x):
    w, v = np.linalg.eigh(x, UPLO="U")
    return np.sum(w * W3) + np.sum(np.abs(v) * W33)


def eigh_sym(x):
    w, v = np.linalg.eigh(x + x.T)
    return np.sum(w * W3) + np.sum((v * np.sign(v[0])) * W33)


def eigvalsh(x):
    return np.sum(np.linalg.eigvalsh(x) ** 2 * W3)


def svd_values(x):
    return np.sum(np.linalg.svd(x, compute_uv=False) * W3)


def svd_reduced(x):
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    sign = np.sign(u[0])
    return np.sum(u * sign * W33) + np.sum(s ** 2 * W3) + np.sum(vt * sign[:, None] * W34)


def svd_wide(x):
    u, s, vt = np.linalg.svd(x.T, full_matrices=False)
    sign = np.sign(u[0])
    return np.sum(u * sign * W43) + np.sum(vt * sign[:, None] * W33)


def svd_square_full(x):
    u, s, vt = np.linalg.svd(x)
    return np.sum(np.abs(u) * W33) + np.sum(s) + np.sum(np.abs(vt) * W33)


LINALG = [
    (pinv, X34, True), (pinv_wide, X34, True), (slogdet, A33, True), (slogdet_batch, A33, False),
    (cholesky, SPD, False), (cholesky_sym, A33, True), (eigh_values, SPD, True), (eigh_vectors, SPD, False),
    (eigh_upper, SPD, False), (eigh_sym, A33, True), (eigvalsh, SPD, False), (svd_values, X34, True),
    (svd_reduced, X34, True), (svd_wide, X34, True), (svd_square_full, A33, False),
]


@pytest.mark.parametrize("f, x, autograd_has_it", LINALG, ids=[f.__name__ for f, _, _ in LINALG])
def test_linalg_gradient(f, x, autograd_has_it):
    # autograd's cholesky and eigh adjoints are symmetric, as for an input known to be symmetric; NumPy reads one
    # triangle, and s2s gives the derivative of what NumPy computes (they agree through x @ x.T, x + x.T)
    check_grad(f, x, ag=None if autograd_has_it else False)


@pytest.mark.parametrize("f, x", [(f, x) for f, x, _ in LINALG], ids=[f.__name__ for f, _, _ in LINALG])
def test_linalg_tangent(f, x):
    check_jvp(f, x)


def shifted(s):
    a = SPD + s  # a scalar's tangent reaches each function smaller than the matrix: broadcast first
    w, v = np.linalg.eigh(a)
    u, sv, vt = np.linalg.svd(a)
    return np.sum(np.linalg.pinv(a) * W33) + np.linalg.slogdet(a)[1] + np.sum(np.linalg.cholesky(a) * W33) \
        + np.sum(w * W3) + np.sum(np.abs(v) * W33) + np.sum(sv * W3) + np.sum(np.abs(u) * W33)


def test_linalg_tangent_of_a_broadcast_scalar():
    check_jvp(shifted, 0.3)


def test_linalg_hessians():
    for f, x in [(lambda v: np.linalg.slogdet(v)[1] ** 2, A33), (lambda v: np.sum(np.linalg.eigvalsh(v + v.T) ** 3), A33),
                 (lambda v: np.sum(np.linalg.pinv(v) ** 2), X34),
                 (lambda v: np.sum(np.linalg.svd(v, compute_uv=False) ** 3), X34),
                 (lambda v: np.linalg.norm(v, "nuc") ** 2 + np.linalg.norm(v[0], ord=3) ** 2, X34),
                 (lambda v: np.sum(np.linalg.svd(v.T, compute_uv=False) * W3), X34),
                 (lambda v: np.sum(np.linalg.cholesky(v @ v.T + np.eye(3)) ** 2), A33)]:
        h = s2s.hessian(f)(x)
        grad = s2s.grad(f)
        n = x.size
        fd = np.array([(grad(x + 1e-6 * e.reshape(x.shape)) - grad(x - 1e-6 * e.reshape(x.shape))) / 2e-6
                       for e in np.eye(n)]).reshape(x.shape + x.shape)
        np.testing.assert_allclose(np.asarray(h).reshape(n, n), np.moveaxis(fd.reshape(n, n), 0, 1),
                                   rtol=1e-4, atol=1e-5)


def two_args_linalg(a, b):
    m = a[:, :3] @ a[:, :3].T + b[:, :3] @ b[:, :3].T + np.eye(3)
    s, ld = np.linalg.slogdet(m)
    w, v = np.linalg.eigh(m)
    return np.sum(np.linalg.cholesky(m) * W33) + ld + np.sum(np.log(np.linalg.eigvalsh(m))) \
        + np.sum(v * np.sign(v[0]) * W33) + np.sum(w ** 2)


def two_args_cumprod(a, b):
    return np.sum(np.cumprod(a * b, axis=0) * W34) + np.sum(np.repeat(a, 2, axis=1) * np.repeat(b, 2, axis=1))


@pytest.mark.parametrize("f", [two_args_linalg, two_args_cumprod], ids=lambda f: f.__name__)
def test_hessians_of_two_argument_functions(f):
    # (s2s.hessian may run forward over forward mode here: the tangent helpers' own tangents are used)
    b = _w((3, 4), 40)
    grad = s2s.grad(f)
    h = np.asarray(s2s.hessian(f)(X34, b)).reshape(12, 12)
    fd = np.array([(grad(X34 + 1e-5 * e.reshape(3, 4), b) - grad(X34 - 1e-5 * e.reshape(3, 4), b)).ravel() / 2e-5
                   for e in np.eye(12)])
    np.testing.assert_allclose(h, fd.T, rtol=1e-4, atol=1e-5)


def svd_hermitian(x):
    u, s, vt = np.linalg.svd(x + x.T, hermitian=True)
    return np.sum(u * W33) + np.sum(vt * W33.T) + np.sum(s * W3)


@pytest.mark.parametrize("seed", [1, 5, 6])
def test_svd_follows_the_calls_own_vectors(seed):
    # regression: the adjoint and tangent recomputed u and vh with a plain np.linalg.svd, whose signs differ from
    # those hermitian=True returns (an eigendecomposition): wrong gradients for these seeds
    x = _w((3, 3), seed)
    check_grad(svd_hermitian, x, ag=False)
    check_jvp(svd_hermitian, x)


# ---- refused: where the derivative does not exist or s2s cannot give it right ---------------------------------------

def test_repeated_eigenvalues_refused_for_vectors():
    f = eigh_vectors
    with pytest.raises(NoDerivativeRuleError, match="coincide"):
        s2s.grad(f)(np.eye(3))
    assert np.allclose(s2s.grad(lambda x: np.sum(np.linalg.eigh(x)[0]))(np.eye(3)), np.eye(3))
    with pytest.raises(NoDerivativeRuleError, match="tells them apart"):
        s2s.grad(lambda x: np.linalg.eigvalsh(x)[0])(np.eye(3))
    with pytest.raises(NoDerivativeRuleError, match="tells them apart"):
        s2s.grad(lambda x: np.linalg.svd(x, compute_uv=False)[0])(np.eye(3))
    assert np.allclose(s2s.grad(lambda x: np.sum(np.linalg.svd(x, compute_uv=False)))(2 * np.eye(3)), np.eye(3))


def test_svd_refusals():
    with pytest.raises(NoDerivativeRuleError, match="full_matrices"):
        s2s.grad(lambda x: np.sum(np.linalg.svd(x)[0] * 1.0))(X34)
    with pytest.raises(NoDerivativeRuleError, match="coincide"):
        s2s.grad(svd_reduced)(np.diag([2.0, 2.0, 1.0]) @ np.eye(3, 4))
    with pytest.raises(S2SError, match="grad_svd"):
        s2s.hessian(lambda x: np.sum(np.linalg.svd(x, full_matrices=False)[1] ** 2))(X34)


def test_rank_deficient_refused():
    low = np.outer(W3, W4)
    with pytest.raises(NoDerivativeRuleError, match="rank"):
        s2s.grad(pinv)(low)
    with pytest.raises(NoDerivativeRuleError, match="rank"):
        s2s.grad(lambda x: np.linalg.norm(x, "nuc"))(low)


def test_pad_modes_that_do_not_copy_are_refused():
    with pytest.raises(NoDerivativeRuleError, match="mode='mean'"):
        s2s.grad(lambda x: np.sum(np.pad(x, 1, mode="mean")))(W4)
    with pytest.raises(S2SError, match="constant_values"):
        s2s.grad(lambda x: np.sum(np.pad(x, 1, constant_values=x[0])))(W4)


def test_in_place_sort_stays_refused():
    def f(x):
        y = x * 2.0
        y.sort()
        return np.sum(y * W4)
    with pytest.raises(S2SError):
        s2s.grad(f)(W4)


def test_dict_of_pairs():
    """dict([(key, value), ...]) (what a dict comprehension becomes): a repeated key keeps its last value."""
    g = s2s.grad(lambda x: np.sum(dict([("a", x), ("b", 2.0 * x), ("a", 3.0 * x)])["a"] * W4))(W4)
    np.testing.assert_allclose(g, 3.0 * W4)
    with pytest.raises(S2SError, match="not both"):
        s2s.grad(lambda x: np.sum(dict([("a", x)], b=x)["a"]))(W4)


def dict_unpacked(x):
    d = {"a": x * 2.0}
    return np.sum(dict(**d)["a"] * W4)


def test_dict_of_an_unpacked_mapping():
    # the rule itself refuses dict(**d) (it cannot name the keys); s2s's calls with ** unpacking pass the
    # keywords to it at run time instead, and the gradient is right (a refusal fails this test)
    g = s2s.grad(dict_unpacked)(W4)
    np.testing.assert_allclose(g, 2.0 * W4)


def dict_reserved(x):
    return np.sum(dict(g=x)["g"])


def test_dict_with_a_template_name_as_key_is_refused():
    with pytest.raises(S2SError, match="dict display"):
        s2s.grad(dict_reserved)(W4)


def test_dict_of_values_forward_and_hessian():
    def f(x):
        d = dict(a=x * x, b=np.sin(x))
        return np.sum(d["a"] * d["b"])
    check_jvp(f, W4)
    h = s2s.hessian(f)(W4)
    expected = np.diag(2 * np.sin(W4) + 4 * W4 * np.cos(W4) - W4 * W4 * np.sin(W4))
    np.testing.assert_allclose(h, expected, rtol=1e-7, atol=1e-9)


# ---- docs/rules.md lists the rules the registry holds ---------------------------------------------------------------

_LINALG = {"np.dot", "np.matmul", "np.inner", "np.outer", "np.tensordot", "np.einsum", "np.trace", "np.kron", "np.cross"}
_SIGNAL = {"np.convolve", "np.correlate", "np.trapezoid", "np.polyval", "np.cov"}
_FAMILIES = ("elementwise", "reductions and scans", "shape, indexing and creation", "linear algebra",
             "constant (derivative zero, or integer and boolean results)", "math", "builtins",
             "signals, polynomials and covariance")


def _family(name, rule):
    if name.startswith("math."):
        return "math"
    if not name.startswith("np."):
        return "builtins"
    if rule.nondiff:
        return _FAMILIES[4]
    if name.startswith("np.linalg.") or name in _LINALG:
        return "linear algebra"
    if name in _SIGNAL:
        return _FAMILIES[7]
    if rule.reduction or name in ("np.cumsum", "np.cumprod") or name.endswith((".reduce", ".accumulate")):
        return "reductions and scans"
    return "elementwise" if rule.elementwise or name.endswith(".outer") else "shape, indexing and creation"


def rules_listing() -> str:
    """The generated part of docs/rules.md: every NumPy, math and builtin function with a rule, by family."""
    from s2s import rules
    groups = {f: [] for f in _FAMILIES}
    for key, rule in list(rules._RULES.items()):
        if isinstance(key, str):
            continue
        obj = rules._KEYED.get(key)
        module = getattr(obj, "__module__", None) or type(obj).__module__
        if not (module in ("math", "builtins") or module.startswith("numpy")) or not \
                (rule.name.startswith(("np.", "math.")) or module == "builtins"):
            continue
        methods = " (" + ", ".join(f"`x.{m}()`" for m in rule.methods) + ")" if rule.methods else ""
        groups[_family(rule.name, rule)].append(f"`{rule.name}`{methods}")
    lines = []
    for fam in _FAMILIES:
        lines += [f"**{fam}** ({len(groups[fam])}): " + ", ".join(sorted(groups[fam])), ""]
    return "\n".join(lines).rstrip() + "\n"


_BEGIN, _END = "<!-- begin generated: python tests/test_rules_numpy_more.py -->\n", "<!-- end generated -->\n"


def _doc_path():
    import pathlib
    return pathlib.Path(__file__).resolve().parent.parent / "docs" / "rules.md"


def test_rules_page_lists_the_registry():
    text = _doc_path().read_text()
    listed = text[text.index(_BEGIN) + len(_BEGIN):text.index(_END)]
    assert listed == rules_listing(), "docs/rules.md is out of date: run python tests/test_rules_numpy_more.py"


if __name__ == "__main__":  # rewrite the generated part of docs/rules.md
    page = _doc_path().read_text()
    _doc_path().write_text(page[:page.index(_BEGIN) + len(_BEGIN)] + rules_listing() + page[page.index(_END):])


def _diff_of_short(a, n=2):
    return np.sum(np.diff(a, n) ** 2) + np.sum(a ** 2)


def _ediff_of_short(a):
    return np.sum(np.ediff1d(a) ** 2) + np.sum(a ** 2)


@pytest.mark.parametrize("m", [1, 2, 3])
def test_diff_of_fewer_entries_than_its_order(m):
    # np.diff(a, n) of fewer than n entries is empty; its adjoint broadcast to a negative length and crashed
    a = np.linspace(0.2, 1.0, m)
    check_grad(_diff_of_short, a, ag=False)  # (autograd's adjoint of np.diff has the wrong shape here)
    np.testing.assert_allclose(s2s.grad(_ediff_of_short)(np.zeros(0)), np.zeros(0))
    np.testing.assert_allclose(s2s.grad(_ediff_of_short)(np.array([0.7])), [1.4])


def _imag_of_complex(x):
    return np.sum(np.imag(x * (1.0 + 2.0j)))


def _angle_of_complex(x):
    return np.sum(np.angle(x + 1.0j))


def _sign_of_complex(x):
    return np.sum(np.real(np.sign(x + 1.0j) * (1.0 + 1.0j)))


def _imag_of_vdot(x):
    return np.imag(np.vdot(x * (1.0 + 2.0j), np.array([1.0 + 1.0j, 2.0, -1.0j])))


@pytest.mark.parametrize("f", [_imag_of_complex, _angle_of_complex, _sign_of_complex, _imag_of_vdot],
                         ids=lambda f: f.__name__)
def test_constant_of_a_real_value_is_refused_of_a_complex_one(f):
    # np.imag / np.angle / np.sign of a complex value have a nonzero derivative (differences: 2.0 for each
    # entry of _imag_of_complex); declared constant, s2s gave 0 for every entry
    x = np.array([0.3, -0.7, 1.2])
    with pytest.raises(NoDerivativeRuleError, match="complex"):
        s2s.grad(f)(x)
    with pytest.raises(NoDerivativeRuleError, match="complex"):
        s2s.jvp(f, (x,), (np.ones(3),))


def _constants_of_real(x):
    return np.sum(np.sign(x) * x ** 3 + np.imag(x) * x + np.angle(x) * x ** 2)


def test_sign_imag_angle_of_a_real_value_have_derivative_zero():
    x = np.array([0.3, -0.7, 1.2])
    check_grad(_constants_of_real, x)
    _, t = s2s.jvp(_constants_of_real, (x,), (np.ones(3),))
    np.testing.assert_allclose(t, np.sum(3 * np.sign(x) * x ** 2 + 2 * np.angle(x) * x))


def test_quantiles_refuse_other_methods_and_a_differentiated_q():
    with pytest.raises(S2SError, match="method='linear', its default"):
        s2s.grad(lambda x: np.quantile(x, 0.5, method="nearest"))(np.arange(5.0))
    with pytest.raises(NoDerivativeRuleError, match="'q'"):
        s2s.grad(lambda q, x: np.quantile(x, q))(0.3, np.arange(5.0))
    # (at a tie the entries the selection read get the weight, as np.median's: argsort's order)
    np.testing.assert_allclose(s2s.grad(lambda x: np.quantile(x, 0.25))(np.array([2.0, 1.0, 1.0, 3.0, 5.0])),
                               [0.0, 0.0, 1.0, 0.0, 0.0])


def test_least_squares_refuses_a_rank_deficient_or_wide_matrix_its_singular_values_and_hessians():
    a, b = np.random.default_rng(5).normal(size=(5, 3)), np.random.default_rng(6).normal(size=5)
    with pytest.raises(NoDerivativeRuleError, match="full column rank"):
        s2s.grad(lambda a, b: np.sum(np.linalg.lstsq(a, b, rcond=None)[0]))(a[:2], b[:2])  # (2 x 3: minimum norm)
    low = np.column_stack([a[:, 0], a[:, 0], a[:, 1]])
    with pytest.raises(NoDerivativeRuleError, match="of rank 2"):
        s2s.grad(lambda a, b: np.sum(np.linalg.lstsq(a, b, rcond=None)[0]))(low, b)
    with pytest.raises(NoDerivativeRuleError, match="singular values"):
        s2s.grad(lambda a, b: np.sum(np.linalg.lstsq(a, b, rcond=None)[3]))(a, b)
    with pytest.raises(NoDerivativeRuleError, match="grad_lstsq"):  # (its helpers have no tangent in a)
        s2s.hessian(lambda a, b: np.sum(np.linalg.lstsq(a, b, rcond=None)[0] ** 2))(a, b)
