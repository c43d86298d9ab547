"""Adjoints of matrix products and linear algebra (@, np.dot, tensordot, det, solve, trace; rules
in s2s/rules/linalg.py), and the tangents of those adjoints that Hessians need.
"""

from __future__ import annotations

import numpy as np

from s2s.runtime.adjoint import unbroadcast
from s2s.runtime.arrays import _arr, _as_array, _in_library_of, is_array, is_foreign
from s2s.runtime.zero import ZERO, is_zero, linear_in_g


@linear_in_g
def grad_matmul_a(g, a, b):
    """Adjoint of a @ b for a, with vectors and batches."""
    a, b, g = _arr(a), _arr(b), _arr(g)
    if np.ndim(b) == 1:
        if np.ndim(a) == 1:
            return g * b
        return unbroadcast(np.expand_dims(g, -1) * b, a)
    if np.ndim(a) == 1:
        if np.ndim(g) == 1:
            return b @ g
        return unbroadcast(np.matmul(b, np.expand_dims(g, -1))[..., 0] if np.ndim(g) > 0 else b @ g, a)
    return unbroadcast(np.matmul(g, np.swapaxes(b, -1, -2)), a)


@linear_in_g
def grad_matmul_b(g, a, b):
    """Adjoint of a @ b for b."""
    a, b, g = _arr(a), _arr(b), _arr(g)
    if np.ndim(a) == 1:
        if np.ndim(b) == 1:
            return g * a
        return unbroadcast(np.expand_dims(a, -1) * np.expand_dims(g, -2), b)
    if np.ndim(b) == 1:
        return np.tensordot(g, a, axes=(tuple(range(np.ndim(g))), tuple(range(np.ndim(g)))))
    return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g), b)


@linear_in_g
def grad_dot_a(g, a, b):
    """Adjoint of np.dot(a, b) for a."""
    a, b = _arr(a), _arr(b)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    if np.ndim(b) == 1 or np.ndim(a) == 1 and np.ndim(b) == 2:
        return grad_matmul_a(g, a, b)
    return np.tensordot(g, b, axes=(tuple(range(a.ndim - 1, np.ndim(g))), tuple(i for i in range(b.ndim) if i != b.ndim - 2)))


@linear_in_g
def grad_dot_b(g, a, b):
    """Adjoint of np.dot(a, b) for b."""
    a, b = _arr(a), _arr(b)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b)
    if np.ndim(b) <= 2:
        return grad_matmul_b(g, a, b)
    ga = np.tensordot(a, g, axes=(tuple(range(a.ndim - 1)), tuple(range(a.ndim - 1))))
    return np.moveaxis(ga, 0, -2) if ga.ndim > 1 else ga


@linear_in_g
def grad_tensordot(g, a, b, axes, which):
    """Adjoint of np.tensordot for operand 0 (a) or 1 (b)."""
    a, b = _as_array(a), _as_array(b)
    if not is_array(g):
        g = np.asarray(g, like=a if is_foreign(a) else b) if is_foreign(a) or is_foreign(b) else np.asarray(g)
    if isinstance(axes, int):
        ax_a = list(range(a.ndim - axes, a.ndim))
        ax_b = list(range(axes))
    else:
        ax_a, ax_b = [list(np.atleast_1d(v)) for v in axes]
        ax_a = [i % a.ndim for i in ax_a]
        ax_b = [i % b.ndim for i in ax_b]
    free_a = [i for i in range(a.ndim) if i not in ax_a]
    free_b = [i for i in range(b.ndim) if i not in ax_b]
    # tensordot leaves the uncontracted axes in increasing order, so the contracted
    # axes come out sorted by the *other* operand's axis numbers
    if which == 0:
        gb = np.tensordot(g, b, axes=(list(range(len(free_a), g.ndim)), free_b))
        order = free_a + [ax_a[ax_b.index(j)] for j in sorted(ax_b)]
        return np.transpose(gb, tuple(int(i) for i in np.argsort(order)))
    ga = np.tensordot(a, g, axes=(free_a, list(range(len(free_a)))))
    order = [ax_b[ax_a.index(i)] for i in sorted(ax_a)] + free_b
    return np.transpose(ga, tuple(int(i) for i in np.argsort(order)))


@linear_in_g
def grad_det(g, ans, a):
    """Adjoint of np.linalg.det."""
    scale = np.expand_dims(np.expand_dims(g, -1), -1)
    if np.all(ans != 0):
        try:
            return scale * np.expand_dims(np.expand_dims(ans, -1), -1) * np.swapaxes(np.linalg.inv(a), -1, -2)
        except np.linalg.LinAlgError:
            pass
    return scale * _cofactors(a)  # singular: det * inv(a).T has no inverse to use, but the cofactors exist


def _cofactors(a):
    """The cofactor matrix of each matrix in `a` (the derivative of det), also where `a` is singular.

    With a = U diag(s) V^T, the cofactors are det(U) det(V) U diag(c) V^T, c_i the product of the
    singular values other than s_i.
    """
    u, sv, vt = np.linalg.svd(a)
    n = sv.shape[-1]
    others = np.where(np.eye(n, dtype=bool), 1.0, sv[..., None, :])
    c = np.prod(others, axis=-1)
    sign = np.linalg.det(u) * np.linalg.det(vt)
    return np.expand_dims(np.expand_dims(sign, -1), -1) * (u * c[..., None, :]) @ vt


@linear_in_g
def grad_solve_b(g, a, b):
    """Adjoint of np.linalg.solve for b."""
    return np.linalg.solve(np.swapaxes(a, -1, -2), g)


@linear_in_g
def grad_solve_a(g, ans, a, b):
    """Adjoint of np.linalg.solve for a."""
    gb = grad_solve_b(g, a, b)
    if np.ndim(ans) == np.ndim(a) - 1:
        return -np.expand_dims(gb, -1) * np.expand_dims(ans, -2)
    return -np.matmul(gb, np.swapaxes(ans, -1, -2))


@linear_in_g
def grad_trace(g, x, offset, axis1, axis2):
    """Adjoint of np.trace."""
    x = _as_array(x)
    eye = _in_library_of(np.eye(x.shape[axis1], x.shape[axis2], k=offset), x, g)
    eye = np.expand_dims(eye, tuple(range(2, x.ndim)))
    eye = np.moveaxis(eye, (0, 1), (axis1, axis2))
    return eye * np.expand_dims(np.expand_dims(g, axis1 if axis1 < axis2 else axis1 - 1), axis1) if x.ndim > 2 else eye * g


def _solve_a_outer(gb, ans, a):
    if np.ndim(ans) == np.ndim(a) - 1:
        return -np.expand_dims(gb, -1) * np.expand_dims(ans, -2)
    return -np.matmul(gb, np.swapaxes(ans, -1, -2))


@linear_in_g
def grad_solve_a_dot(g, ans, a, a_dot):
    """Tangent of `grad_solve_a(g, ans, a, b)` for the tangent `a_dot` of a (ans held fixed)."""
    if is_zero(a_dot):
        return ZERO
    at = np.swapaxes(a, -1, -2)
    gb = np.linalg.solve(at, g)
    gb_dot = -np.linalg.solve(at, np.matmul(np.swapaxes(a_dot, -1, -2), gb))
    return _solve_a_outer(gb_dot, ans, a)
