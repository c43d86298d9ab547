"""Adjoints of matrix products and linear algebra (@, np.dot, tensordot, det, solve, trace; rules
in s2s/rules/linalg.py), and the tangents of those adjoints that Hessians need.
"""

from __future__ import annotations

import numpy as np

from s2s import patches
from s2s.runtime.adjoint import unbroadcast
from s2s.runtime.arrays import _arr, _as_array, _in_library_of, is_array, is_foreign, is_sparse
from s2s.runtime.zero import ZERO, is_zero, linear_in_g
from s2s.transforms.triangular import SUBSTITUTION_FROM

_linalg = patches.genuine("numpy.linalg")  # np.linalg as s2s loaded it: a later np.linalg.inv = ... is not read


def _refuse_sparse_operand(x):
    from s2s.errors import NoDerivativeRuleError
    raise NoDerivativeRuleError(
        f"s2s cannot differentiate a matrix product with respect to a SciPy sparse {type(x).__name__}: its gradient "
        "would be dense where the matrix has no entries",
        hint="differentiate with respect to the values of its entries (`A.data`, rebuilt with the same pattern "
             "inside the function), or pass the matrix as a constant (not in wrt=)")


def _sparse_product_adjoint(g, sparse, dense, sparse_first):
    """The adjoint for the dense operand of `sparse @ dense` (`sparse_first`) or `dense @ sparse`: the sparse
    matrix's transpose applied to g, a plain ndarray."""
    g = np.asarray(g)
    if len(sparse.shape) == 1:  # (a 1-d sparse array, `v @ x`: its entries as a dense vector, as its gradient is)
        vector = np.asarray(sparse.toarray())
        return grad_matmul_b(g, vector, dense) if sparse_first else grad_matmul_a(g, dense, vector)
    if np.ndim(dense) > 2 or g.ndim > 2:
        from s2s.errors import NoDerivativeRuleError
        raise NoDerivativeRuleError("s2s differentiates products of a SciPy sparse matrix with vectors and matrices "
                                    "only", hint="loop over the batch axis")
    if sparse_first:
        return unbroadcast(np.asarray(sparse.T @ g), dense)
    return unbroadcast(np.asarray(sparse @ g) if g.ndim < 2 else np.asarray(sparse @ g.T).T, dense)


@linear_in_g
def grad_matmul_a(g, a, b):
    """Adjoint of a @ b for a, with vectors and batches."""
    if type(g) is np.ndarray and type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 and b.ndim == 2 \
            and g.shape == (a.shape[0], b.shape[1]):
        return g @ b.T  # (matrices: no batch axes to sum)
    if is_sparse(a):
        _refuse_sparse_operand(a)
    if is_sparse(b):
        return _sparse_product_adjoint(g, b, a, sparse_first=False)
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
    if type(g) is np.ndarray and type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 and b.ndim == 2 \
            and g.shape == (a.shape[0], b.shape[1]):
        return a.T @ g
    if is_sparse(b):
        _refuse_sparse_operand(b)
    if is_sparse(a):
        return _sparse_product_adjoint(g, a, b, sparse_first=True)
    a, b, g = _arr(a), _arr(b), _arr(g)
    if np.ndim(a) == 1:
        if np.ndim(b) == 1:
            return g * a
        return unbroadcast(np.expand_dims(a, -1) * np.expand_dims(g, -2), b)
    if np.ndim(b) == 1:
        return np.tensordot(g, a, axes=(tuple(range(np.ndim(g))), tuple(range(np.ndim(g)))))
    return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g), b)


def dot_method(a, b):
    """`a.dot(b)`, as Python runs it: np.dot for an array or number `a`, a SciPy sparse matrix's own product
    (np.dot would read the matrix as one object). Generated code calls it where `a`'s kind is not known.

        >>> dot_method(np.eye(2), np.ones(2))
        array([1., 1.])
    """
    if type(a) is np.ndarray:
        return np.dot(a, b)
    if is_sparse(a):
        return a.dot(b)
    method = getattr(type(a), "dot", None)
    if is_array(a) and method in (np.ndarray.dot, None) or isinstance(a, np.generic) or is_foreign(a) \
            or method is np.dot:
        return np.dot(a, b)  # (NumPy's, an array library's through NumPy's protocol, or np.dot held by the class)
    if not hasattr(a, "dot"):
        return a.dot  # (Python's AttributeError: a float, a list)
    from s2s.errors import NoDerivativeRuleError
    raise NoDerivativeRuleError(
        f"s2s reads `.dot(...)` as NumPy's product, but this {type(a).__name__} has a `.dot` of its own, which s2s "
        "cannot differentiate from here", hint="pass an array, or call the method through its class where s2s can "
                                               "read it (`Cls.dot(a, b)`)")


@linear_in_g
def grad_dot_a(g, a, b):
    """Adjoint of np.dot(a, b) (or `a.dot(b)`) for a."""
    if is_sparse(a):
        _refuse_sparse_operand(a)
    a, b = _arr(a), _arr(b)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    if np.ndim(b) == 1 or np.ndim(a) == 1 and np.ndim(b) == 2:
        return grad_matmul_a(g, a, b)
    return np.tensordot(g, b, axes=(tuple(range(a.ndim - 1, np.ndim(g))), tuple(i for i in range(b.ndim) if i != b.ndim - 2)))


@linear_in_g
def grad_dot_b(g, a, b):
    """Adjoint of np.dot(a, b) (or `a.dot(b)`) for b."""
    if is_sparse(a) and np.ndim(b) > 0:  # (`A.dot(x)` of a sparse A: its product; `A.dot(s)` of a number scales it)
        return _sparse_product_adjoint(g, a, b, sparse_first=True)
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
    return det_adjoint(g, ans, a)


def det_adjoint(g, ans, a):
    """`grad_det(g, ans, a)` as an array of a's shape also for a zero `g` (zeros then): the specialised code's
    form, where the shapes after it are known only if it is certainly an array."""
    scale = np.expand_dims(np.expand_dims(g, -1), -1)
    inverse = _nonsingular_inverse(ans, a)
    if inverse is not None:
        return scale * np.expand_dims(np.expand_dims(ans, -1), -1) * np.swapaxes(inverse, -1, -2)
    return scale * _cofactors(a)  # singular: det * inv(a).T has no inverse to use, but the cofactors exist


def _nonsingular_inverse(ans, a):
    """inv(a) where every determinant `ans` is nonzero and NumPy inverts `a`, else None (det_adjoint's test)."""
    if np.all(ans != 0):
        try:
            return _linalg.inv(a)
        except _linalg.LinAlgError:
            pass
    return None


def det_adjoint_dot_ans(g, ans, ans_dot, a):
    """Tangent of `det_adjoint(g, ans, a)` = `g ans inv(a).T` in the determinant `ans`: `g ans_dot inv(a).T`; 0 where
    a is singular, whose cofactors det_adjoint reads from `a` alone (`det_adjoint_dot_a` then gives the whole
    tangent, along `ans = det(a)`, the only values the helper is given)."""
    inverse = _nonsingular_inverse(ans, a)
    scale = np.expand_dims(np.expand_dims(g * ans_dot, -1), -1)
    if inverse is None:
        return scale * np.zeros_like(a, dtype=float)
    return scale * np.swapaxes(inverse, -1, -2)


def det_adjoint_dot_a(g, ans, a, a_dot):
    """Tangent of `det_adjoint(g, ans, a)` in `a`: `-g ans (inv(a) a_dot inv(a)).T`; where a is singular, g times
    the cofactors' own derivative (`_cofactors_tangent`: the cofactors are a polynomial in a's entries)."""
    inverse = _nonsingular_inverse(ans, a)
    if inverse is None:
        return np.expand_dims(np.expand_dims(g, -1), -1) * _cofactors_tangent(a, np.broadcast_to(a_dot, np.shape(a)))
    scale = np.expand_dims(np.expand_dims(g * ans, -1), -1)
    return -scale * np.swapaxes(inverse @ a_dot @ inverse, -1, -2)


def _cofactors_tangent(a, e):
    """The derivative of the cofactor matrix of each matrix in `a` in the direction `e`, also where `a` is
    singular: cofactor (i, j) is (-1)^(i+j) times the determinant of the minor without row i and column j,
    whose derivative is the minor's own cofactors against e's minor.

        >>> _cofactors_tangent(np.array([[1.0, 2.0], [2.0, 4.0]]), np.eye(2))
        array([[ 1., -0.],
               [-0.,  1.]])
    """
    n = np.shape(a)[-1]
    out = np.zeros(np.broadcast_shapes(np.shape(a), np.shape(e)), dtype=float)
    if n == 1:
        return out
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, axis=-2), j, axis=-1)
            moved = np.delete(np.delete(e, i, axis=-2), j, axis=-1)
            out[..., i, j] = (-1.0) ** (i + j) * np.sum(_cofactors(minor) * moved, axis=(-2, -1))
    return out


def _cofactors(a):
    """The cofactor matrix of each matrix in `a` (the derivative of det), also where `a` is singular.

    With a = U diag(s) V^T, the cofactors are det(U) det(V) U diag(c) V^T, c_i the product of the
    singular values other than s_i.
    """
    u, sv, vt = _linalg.svd(a)
    n = sv.shape[-1]
    others = np.where(np.eye(n, dtype=bool), 1.0, sv[..., None, :])
    c = np.prod(others, axis=-1)
    sign = _linalg.det(u) * _linalg.det(vt)
    return np.expand_dims(np.expand_dims(sign, -1), -1) * (u * c[..., None, :]) @ vt


_NUMPY_2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"


def solves_vectors(a, b) -> bool:
    """Whether np.linalg.solve(a, b) reads b as a vector (NumPy 2: b has one axis) or a stack of vectors (NumPy 1:
    b has one axis less than a), rather than a stack of matrices of columns; its solution then has a's axes but
    the last. The rule the adjoints follow is NumPy's own: a (2, 3, 3) stack and a b of shape (3,) solve one
    vector against each matrix, and a (3, 3, 3) stack and a (3, 3) b one matrix (NumPy 2), not 3 vectors.

        >>> solves_vectors(np.eye(3), np.ones(3)), solves_vectors(np.eye(3), np.ones((3, 2)))
        (True, False)
    """
    return np.ndim(b) == 1 if _NUMPY_2 else np.ndim(b) == np.ndim(a) - 1


def _solved_transposed(g, a, vectors):
    """solve(a^T, g) for g of the solution's shape (vectors: each against a's matrices; else matrices of
    columns), of that shape."""
    at = np.swapaxes(a, -1, -2)
    return _linalg.solve(at, np.expand_dims(g, -1))[..., 0] if vectors else _linalg.solve(at, g)


def _solve_a_outer(gb, ans, vectors):
    """-gb ans^T matrix by matrix: the adjoint of a, as wide as the solution's stack."""
    if vectors:
        return -np.expand_dims(gb, -1) * np.expand_dims(ans, -2)
    return -np.matmul(gb, np.swapaxes(ans, -1, -2))


@linear_in_g
def grad_solve_b(g, a, b):
    """Adjoint of np.linalg.solve for b: solve(a^T, g), summed over the axes the stacks broadcast b along."""
    return unbroadcast(_solved_transposed(g, a, solves_vectors(a, b)), b)


@linear_in_g
def grad_solve_b_dot(g, a, b, a_dot):
    """Tangent of `grad_solve_b(g, a, b)` for the tangent `a_dot` of a: -solve(a^T, a_dot^T solve(a^T, g))."""
    if is_zero(a_dot):
        return ZERO
    vectors = solves_vectors(a, b)
    gb = _solved_transposed(g, a, vectors)
    return unbroadcast(-_solved_transposed(_matrix_times(np.swapaxes(a_dot, -1, -2), gb, vectors), a, vectors), b)


@linear_in_g
def grad_solve_a(g, ans, a, b):
    """Adjoint of np.linalg.solve for a: -solve(a^T, g) ans^T, summed over the axes the stacks broadcast a along."""
    vectors = solves_vectors(a, b)
    return unbroadcast(_solve_a_outer(_solved_transposed(g, a, vectors), ans, vectors), a)


def _matrix_times(m, v, vectors):
    """m @ v of matrices m and v of the solution's kind (vectors: m times each vector)."""
    return np.matmul(m, np.expand_dims(v, -1))[..., 0] if vectors else np.matmul(m, v)


@linear_in_g
def grad_trace(g, x, offset, axis1, axis2):
    """Adjoint of np.trace."""
    x = _as_array(x)
    eye = _in_library_of(np.eye(x.shape[axis1], x.shape[axis2], k=offset), x, g)
    eye = np.expand_dims(eye, tuple(range(2, x.ndim)))
    eye = np.moveaxis(eye, (0, 1), (axis1, axis2))
    # (g's axes are x's less the two traced: a new axis of length 1 where each of those was)
    return eye * np.expand_dims(g, (axis1 % x.ndim, axis2 % x.ndim)) if x.ndim > 2 else eye * g


@linear_in_g
def grad_solve_a_dot(g, ans, a, a_dot):
    """Tangent of `grad_solve_a(g, ans, a, b)` for the tangent `a_dot` of a (ans held fixed)."""
    if is_zero(a_dot):
        return ZERO
    vectors = np.ndim(ans) == np.ndim(a) - 1  # (b is not given: the solution's axes tell)
    gb = _solved_transposed(g, a, vectors)
    gb_dot = -_solved_transposed(_matrix_times(np.swapaxes(a_dot, -1, -2), gb, vectors), a, vectors)
    return unbroadcast(_solve_a_outer(gb_dot, ans, vectors), a)


def solve_columns(x, a, b):
    """`x` of np.linalg.solve(a, b)'s solution's shape as matrices of columns: each vector a column of its own
    where solve read b as vectors (`solves_vectors`), else `x` itself. The tangent rule's form, one for both.

        >>> solve_columns(np.ones(3), np.eye(3), np.ones(3)).shape
        (3, 1)
    """
    return np.expand_dims(x, -1) if solves_vectors(a, b) else x


def solve_uncolumns(y, a, b):
    """`solve_columns` undone: the columns of `y` the vectors again where solve read b as vectors."""
    return y[..., 0] if solves_vectors(a, b) else y


def _refuse(message, hint):
    from s2s.errors import NoDerivativeRuleError
    raise NoDerivativeRuleError(message, hint=hint)


def _T(x):
    return np.swapaxes(x, -1, -2)


@linear_in_g
def grad_inner(g, a, b, which):
    """Adjoint of np.inner(a, b) for a (which=0) or b, a scalar argument included (then a product)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        other = b if which == 0 else a
        return unbroadcast(g * other, a if which == 0 else b)
    return grad_tensordot(g, a, b, ((-1,), (-1,)), which)


def _kron_layout(a, b):
    nd = max(np.ndim(a), np.ndim(b))
    sa = (1,) * (nd - np.ndim(a)) + tuple(np.shape(a))
    sb = (1,) * (nd - np.ndim(b)) + tuple(np.shape(b))
    return nd, sa, sb


@linear_in_g
def grad_kron(g, a, b, which):
    """Adjoint of np.kron(a, b) for a (which=0) or b: entry (i, k) of each axis pair of the result is
    a[i] * b[k], so `g` is read as interleaved axes (a's, b's, a's, ...) and summed against the other."""
    nd, sa, sb = _kron_layout(a, b)
    split = [n for pair in zip(sa, sb) for n in pair]
    gr = np.reshape(g, split)
    if which == 0:
        other = np.reshape(b, [n for s in sb for n in (1, s)])
        return np.reshape(np.sum(gr * other, axis=tuple(range(1, 2 * nd, 2))), np.shape(a))
    other = np.reshape(a, [n for s in sa for n in (s, 1)])
    return np.reshape(np.sum(gr * other, axis=tuple(range(0, 2 * nd, 2))), np.shape(b))


@linear_in_g
def grad_cross(g, a, b, which):
    """Adjoint of np.cross(a, b) (vectors along the last axis) for a (which=0) or b."""
    na, nb = np.shape(a)[-1], np.shape(b)[-1]
    if na == nb == 3:
        return unbroadcast(np.cross(b, g), a) if which == 0 else unbroadcast(np.cross(g, a), b)
    if na == nb == 2:  # the result is the z component a0 b1 - a1 b0
        g = np.expand_dims(g, -1)
        if which == 0:
            return unbroadcast(g * np.stack([b[..., 1], -b[..., 0]], -1), a)
        return unbroadcast(g * np.stack([-a[..., 1], a[..., 0]], -1), b)
    return _refuse("s2s has the derivative of np.cross for two 3-vectors or two 2-vectors, not a mix",
                   "give both vectors the same length (append a zero z component to the 2-vector)")


def _checked_rank(a, rcond):
    s = _linalg.svd(a, compute_uv=False)
    if np.any(s[..., -1:] <= rcond * s[..., :1]):
        _refuse("np.linalg.pinv of a rank-deficient matrix has no derivative (it jumps where the rank changes)",
                "add a small multiple of the identity, or use np.linalg.lstsq-free formulas such as "
                "np.linalg.solve(a.T @ a + lam * np.eye(n), a.T)")


def pinv_full_rank(value, a, rcond=1e-15):
    """`value` unchanged, once `a` is checked to have full rank (pinv's derivative exists only there)."""
    _checked_rank(_as_array(a), rcond)
    return value


@linear_in_g
def grad_slogdet(g, a):
    """Adjoint of np.linalg.slogdet (its sign is piecewise constant: only log|det| carries one)."""
    gl = g[1]
    if is_zero(gl):
        return ZERO
    return np.expand_dims(np.expand_dims(gl, -1), -1) * _T(_linalg.inv(a))


@linear_in_g
def grad_slogdet_dot(g, a, a_dot):
    """Tangent of `grad_slogdet(g, a)` for the tangent `a_dot` of a."""
    gl = g[1]
    if is_zero(gl) or is_zero(a_dot):
        return ZERO
    inv = _linalg.inv(a)
    return -np.expand_dims(np.expand_dims(gl, -1), -1) * _T(inv @ a_dot @ inv)


def slogdet_tangent(t, ans, a):
    """Tangent of np.linalg.slogdet: (0, trace(a^-1 t))."""
    sign = ans[0]
    zero = np.zeros_like(sign, dtype=float) if np.ndim(sign) else 0.0
    return zero, np.trace(_linalg.solve(a, t), axis1=-2, axis2=-1)


def slogdet_tangent_dot(t, ans, a, a_dot):
    """Tangent of `slogdet_tangent(t, ans, a)` for the tangent `a_dot` of a: (0, -trace(a^-1 a_dot a^-1 t))."""
    sign = ans[0]
    zero = np.zeros_like(sign, dtype=float) if np.ndim(sign) else 0.0
    if is_zero(t) or is_zero(a_dot):
        return zero, zero
    inv = _linalg.inv(a)
    return zero, -np.trace(inv @ a_dot @ inv @ t, axis1=-2, axis2=-1)


def _gap_inverse(w, what):
    """F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it; refused where two values coincide."""
    n = np.shape(w)[-1]
    diff = np.expand_dims(w, -2) - np.expand_dims(w, -1)
    off = ~np.eye(n, dtype=bool)
    if np.any(_ties(w)):
        _refuse(f"{what} has no derivative where two of its values coincide (the vectors that belong to "
                "them are not unique)",
                "perturb the input slightly, or differentiate only a function of the values that does not "
                "tell tied ones apart (np.sum, np.trace)")
    return np.where(off, 1.0 / np.where(off, diff, 1.0), 0.0)


def _ties(w):
    """A mask [..., i, j]: values i != j of `w` that coincide (to rounding)."""
    n = np.shape(w)[-1]
    diff = np.abs(np.expand_dims(w, -2) - np.expand_dims(w, -1))
    scale = np.max(np.abs(w), axis=-1, keepdims=True)[..., None] if n else 1.0
    return (diff <= 1e-12 * np.maximum(scale, 1e-300)) & ~np.eye(n, dtype=bool)


def _refuse_split_ties(w, wg, what):
    """Refuse an adjoint that treats two tied values differently: there the values are not
    differentiable one by one (only functions that do not tell them apart are, like their sum)."""
    wg = np.broadcast_to(wg, np.shape(w))
    if np.any(_ties(w) & (np.expand_dims(wg, -2) != np.expand_dims(wg, -1))):
        _refuse(f"{what} coincide here, and the function tells them apart: it has no derivative at this point",
                "perturb the input slightly, or use a function that treats tied values alike (np.sum, np.trace)")


def check_ties(g, w, what):
    """`g` unchanged, once checked not to tell tied values of `w` apart (see `_refuse_split_ties`)."""
    if not is_zero(g):
        _refuse_split_ties(w, g, what)
    return g


_LAPACK_REALS = (np.float32, np.float64)  # (np.linalg refuses float16 and longdouble: so must the substitution)


def solve_lower(L, B, trans, triangular=False):
    """`np.linalg.solve(L, B)` (`trans` False) or `np.linalg.solve(L.T, B)` (True, L's last two axes swapped) for
    np.linalg.cholesky's lower-triangular factor L: by triangular substitution where SciPy is installed, L is
    one float matrix and its strict upper triangle is zero (about a third of the LU solve's work at 256 x 256), else
    by np.linalg.solve. The same solution either way (L's upper triangle zero: SciPy reads the lower one).
    `triangular`: the caller has proved the upper triangle zero (transforms/triangular.py), not checked again.

        >>> L = np.array([[2.0, 0.0], [1.0, 1.0]])
        >>> solve_lower(L, np.array([2.0, 3.0]), False), solve_lower(L, np.array([2.0, 3.0]), True)
        (array([1., 2.]), array([-0.5,  3. ]))
    """
    if type(L) is np.ndarray and type(B) is np.ndarray and L.ndim == 2 and L.dtype in _LAPACK_REALS \
            and B.dtype in _LAPACK_REALS and B.ndim in (1, 2) and L.shape[0] == L.shape[1] == B.shape[0] \
            and L.shape[0] >= SUBSTITUTION_FROM and (triangular or not np.any(np.triu(L, 1))):
        try:
            from scipy.linalg import solve_triangular
        except ImportError:  # pragma: no cover - the dev extra installs SciPy
            pass
        else:
            return solve_triangular(L, B, trans=1 if trans else 0, lower=True, check_finite=False)
    return np.linalg.solve(np.swapaxes(L, -1, -2) if trans else L, B)


def tril_fold(s):
    """The adjoint of a function of a symmetric matrix that reads only its lower triangle, from the adjoint
    `s` of the full matrix: diag(s) below the strict lower part of s + s^T (np.linalg.cholesky's rule)."""
    return _lower(s, "L")


def tril_half_diagonal(p):
    """The lower triangle of `p` with its diagonal halved (Murray's Phi in np.linalg.cholesky's adjoint), one
    copy of p made; `p`'s dtype kept.

        >>> tril_half_diagonal(np.array([[2.0, 3.0], [4.0, 6.0]]))
        array([[1., 0.],
               [4., 3.]])
    """
    if type(p) is not np.ndarray:  # (Dask, CuPy: arithmetic they all have, no item assignment)
        return np.tril(p) - 0.5 * np.eye(np.shape(p)[-1]) * p
    out = np.tril(p)
    diagonal = np.arange(np.shape(p)[-1])
    out[..., diagonal, diagonal] *= 0.5
    return out


def _lower(s, uplo):
    """The adjoint of a function that reads only one triangle of a symmetric matrix, from its
    symmetric-input adjoint form `s`: diag(s) + the strict lower (or upper) part of s + s^T (s's dtype kept)."""
    both = s + _T(s)
    tri = np.tril(both, -1) if uplo == "L" else np.triu(both, 1)
    if type(tri) is not np.ndarray:  # (Dask, CuPy: arithmetic they all have, no item assignment)
        return tri + np.eye(np.shape(s)[-1]) * s
    diagonal = np.arange(np.shape(s)[-1])
    tri[..., diagonal, diagonal] = s[..., diagonal, diagonal]
    return tri


def _eigh_parts(g):
    wg, vg = (g[0], g[1]) if isinstance(g, list | tuple) else (g, ZERO)
    return wg, vg


@linear_in_g
def grad_eigh(g, ans, a, UPLO):
    """Adjoint of np.linalg.eigh(a, UPLO) (eigenvalues and eigenvectors; only one triangle of `a` is
    read, so the adjoint lives there, as finite differences of np.linalg.eigh see it)."""
    w, v = ans
    wg, vg = _eigh_parts(g)
    m = 0.0
    if not is_zero(wg):
        _refuse_split_ties(w, wg, "eigenvalues of np.linalg.eigh")
        m = m + np.expand_dims(wg, -1) * np.eye(np.shape(w)[-1])
    if not is_zero(vg):
        m = m + _gap_inverse(w, "np.linalg.eigh's eigenvectors") * (_T(v) @ vg)
    if is_zero(wg) and is_zero(vg):
        return ZERO
    return _lower(v @ m @ _T(v), UPLO)


@linear_in_g
def grad_eigh_dot(g, ans, ans_dot, UPLO):
    """Tangent of `grad_eigh(g, ans, a, UPLO)` for the tangent `ans_dot` = (w_dot, v_dot) of its result."""
    if is_zero(ans_dot):
        return ZERO
    w, v = ans
    w_dot, v_dot = ans_dot
    n = np.shape(w)[-1]
    wg, vg = _eigh_parts(g)
    w_dot = np.zeros_like(w) if is_zero(w_dot) else w_dot
    v_dot = np.zeros_like(v) if is_zero(v_dot) else v_dot
    m = np.zeros(np.shape(v))
    m_dot = np.zeros(np.shape(v))
    if not is_zero(wg):
        m = m + np.expand_dims(wg, -1) * np.eye(n)
    if not is_zero(vg):
        f = _gap_inverse(w, "np.linalg.eigh's eigenvectors")
        f_dot = -(np.expand_dims(w_dot, -2) - np.expand_dims(w_dot, -1)) * f * f
        m = m + f * (_T(v) @ vg)
        m_dot = f_dot * (_T(v) @ vg) + f * (_T(v_dot) @ vg)
    s_dot = v_dot @ m @ _T(v) + v @ m @ _T(v_dot) + v @ m_dot @ _T(v)
    return _lower(s_dot, UPLO)


def eigh_tangent(t, ans, UPLO):
    """Tangent of np.linalg.eigh(a, UPLO) for the tangent `t` of a: (w_dot, v_dot)."""
    w, v = ans
    sym = np.tril(t) + _T(np.tril(t, -1)) if UPLO == "L" else np.triu(t) + _T(np.triu(t, 1))
    p = _T(v) @ sym @ v
    w_dot = np.diagonal(p, axis1=-2, axis2=-1)
    v_dot = v @ (_gap_inverse(w, "np.linalg.eigh's eigenvectors") * p)
    return w_dot, v_dot


def eigh_tangent_dot(t, ans, ans_dot, UPLO):
    """Tangent of `eigh_tangent(t, ans, UPLO)` for the tangent `ans_dot` = (w_dot, v_dot) of the
    eigendecomposition (forward over forward mode: second derivatives of np.linalg.eigh)."""
    if is_zero(t) or is_zero(ans_dot):
        return ZERO, ZERO
    w, v = ans
    dw, dv = ans_dot
    dw = np.zeros_like(w) if is_zero(dw) else dw
    dv = np.zeros_like(v) if is_zero(dv) else dv
    sym = np.tril(t) + _T(np.tril(t, -1)) if UPLO == "L" else np.triu(t) + _T(np.triu(t, 1))
    p = _T(v) @ sym @ v
    dp = _T(dv) @ sym @ v + _T(v) @ sym @ dv
    f = _gap_inverse(w, "np.linalg.eigh's eigenvectors")
    df = -(np.expand_dims(dw, -2) - np.expand_dims(dw, -1)) * f * f
    return np.diagonal(dp, axis1=-2, axis2=-1), dv @ (f * p) + v @ (df * p + f * dp)


def _svd_check(a, full_matrices, s, need_vectors):
    m, n = np.shape(a)[-2:]
    if full_matrices and m != n and need_vectors:
        _refuse("s2s has no derivative of np.linalg.svd's u and vh with full_matrices=True for a non-square "
                "matrix (the extra columns are not unique)",
                "call np.linalg.svd(a, full_matrices=False)")
    if need_vectors and m != n and np.any(s[..., -1] <= 1e-12 * np.maximum(s[..., 0], 1e-300)):
        _refuse("np.linalg.svd's u and vh of a rank-deficient non-square matrix have no derivative",
                "differentiate only the singular values (compute_uv=False), or make the matrix full rank")


def _reduced_factors(ans, a, compute_uv):
    """The reduced factors (u, s, vh) of the call's own result: its vectors' signs (and, with
    hermitian=True, their choice) are the ones the derivative must follow, so they are never
    recomputed; without them (compute_uv=False) only sign-free products of them are used."""
    if not compute_uv:
        return _linalg.svd(a, full_matrices=False)
    u, s, vt = ans
    k = np.shape(s)[-1]
    return u[..., :k], s, vt[..., :k, :]


def hermitian_read(a, hermitian):
    """The matrix np.linalg.svd(a, hermitian=True) decomposes: eigh reads the lower triangle only, so it is
    that triangle mirrored (a itself where hermitian is False).

        >>> hermitian_read(np.array([[1.0, 5.0], [2.0, 3.0]]), True)
        array([[1., 2.],
               [2., 3.]])
    """
    if not hermitian:
        return a
    a = np.asarray(a)
    if np.iscomplexobj(a):
        _refuse("s2s has no derivative of np.linalg.svd(a, hermitian=True) for a complex matrix",
                "call np.linalg.svd(a) (without hermitian=True)")
    return np.tril(a) + _T(np.tril(a, -1))


def hermitian_read_adjoint(g, hermitian):
    """Adjoint of hermitian_read: what lands on the mirrored entry goes back to the lower triangle.

        >>> hermitian_read_adjoint(np.array([[1.0, 5.0], [2.0, 3.0]]), True)
        array([[1., 0.],
               [7., 3.]])
    """
    if not hermitian or is_zero(g):
        return g
    return np.tril(g) + _T(np.triu(g, 1))


def _svd_parts(g, compute_uv):
    if not compute_uv:
        return ZERO, g, ZERO
    return g[0], g[1], g[2]


@linear_in_g
def grad_svd(g, ans, a, full_matrices, compute_uv):
    """Adjoint of np.linalg.svd(a, full_matrices, compute_uv) (the singular values always; u and vh
    where they are unique: distinct nonzero singular values, reduced or square)."""
    gu, gs, gvt = _svd_parts(g, compute_uv)
    u, s, vt = _reduced_factors(ans, a, compute_uv)
    need_vectors = not (is_zero(gu) and is_zero(gvt))
    _svd_check(a, full_matrices, s, need_vectors)
    k = np.shape(s)[-1]
    eye = np.eye(k)
    inner = 0.0
    if not is_zero(gs):
        _refuse_split_ties(s, gs, "singular values of np.linalg.svd")
        inner = inner + np.expand_dims(gs, -1) * eye
    out = 0.0
    if need_vectors:
        f = _gap_inverse(s * s, "np.linalg.svd's u and vh")
        v = _T(vt)
        s_row, s_col = np.expand_dims(s, -2), np.expand_dims(s, -1)
        if not is_zero(gu):
            gu = gu[..., :k] if full_matrices else gu
            utgu = _T(u) @ gu
            inner = inner + f * (utgu - _T(utgu)) * s_row
            proj = np.eye(np.shape(u)[-2]) - u @ _T(u)
            out = out + proj @ gu / s_row @ vt
        if not is_zero(gvt):
            gv = _T(gvt[..., :k, :] if full_matrices else gvt)
            vtgv = _T(v) @ gv
            inner = inner + s_col * (f * (vtgv - _T(vtgv)))
            proj = np.eye(np.shape(v)[-2]) - v @ vt
            out = out + u @ (_T(gv) / s_col) @ proj
    if is_zero(gs) and not need_vectors:
        return ZERO
    return u @ inner @ vt + out


def svd_tangent(t, ans, a, full_matrices, compute_uv):
    """Tangent of np.linalg.svd for the tangent `t` of a."""
    u, s, vt = _reduced_factors(ans, a, compute_uv)
    _svd_check(a, full_matrices, s, compute_uv)
    v = _T(vt)
    p = _T(u) @ t @ v
    s_dot = np.diagonal(p, axis1=-2, axis2=-1)
    if not compute_uv:
        return s_dot
    f = _gap_inverse(s * s, "np.linalg.svd's u and vh")
    s_row, s_col = np.expand_dims(s, -2), np.expand_dims(s, -1)
    u_dot = u @ (f * (p * s_row + s_col * _T(p))) + (np.eye(np.shape(u)[-2]) - u @ _T(u)) @ t @ v / s_row
    v_dot = v @ (f * (s_col * p + _T(p) * s_row)) + (np.eye(np.shape(v)[-2]) - v @ vt) @ _T(t) @ u / s_row
    return u_dot, s_dot, _T(v_dot)


def _refuse_rank_deficient(s):
    if np.any(s <= 1e-12 * np.maximum(s[..., :1], 1e-300)):
        _refuse("np.linalg.norm(x, 'nuc') has no derivative where x is rank-deficient",
                "add a small multiple of the identity, or use the Frobenius norm")


def matrix_norm_slope(x, ord, axis):
    """The derivative of np.linalg.norm(x, ord, axis) of matrices (`axis` None or two axes) for the orders 2 and -2
    (the largest or smallest singular value: u v^T of its singular vectors, refused where it is tied with another or
    is 0, where the norm has a kink), 1 and -1 (the largest or smallest sum of a column's magnitudes: the signs of
    that column, split evenly between tied columns), inf and -inf (the same of rows); None for other orders (the
    nuclear norm's is `grad_nuclear`).

        >>> matrix_norm_slope(np.array([[3.0, 0.0], [0.0, 1.0]]), 2, None)
        array([[1., 0.],
               [0., 0.]])
    """
    axes = (-2, -1) if axis is None else tuple(axis)
    xm = np.moveaxis(np.asarray(x), axes, (-2, -1))
    if ord in (2, -2):
        u, s, vt = _linalg.svd(xm, full_matrices=False)
        k, other = (0, 1) if ord == 2 else (-1, -2)
        top = np.maximum(s[..., :1], 1e-300)
        if np.any(s[..., k] <= 1e-12 * top[..., 0]) or s.shape[-1] > 1 and np.any(
                np.abs(s[..., k] - s[..., other]) <= 1e-12 * top[..., 0]):
            _refuse(f"np.linalg.norm(x, {ord}) has no derivative where that singular value of x is 0 or tied with "
                    "another", "use the Frobenius norm, or the nuclear norm ('nuc') of a full-rank matrix")
        slope = u[..., :, k, None] * vt[..., None, k, :]
    elif ord in (1, -1, np.inf, -np.inf):
        along, across = (-2, -1) if ord in (1, -1) else (-1, -2)  # (1: sums of columns, over the rows; inf: of rows)
        sums = np.sum(np.abs(xm), axis=along, keepdims=True)
        extreme = (np.max if ord > 0 else np.min)(sums, axis=across, keepdims=True)
        hit = sums == extreme
        slope = np.sign(xm) * (hit / np.sum(hit, axis=across, keepdims=True))
    else:
        return None
    return np.moveaxis(slope, (-2, -1), axes)


def nuclear_checked(g, x):
    """`g` unchanged, once the matrix `x` is checked to have full rank (the nuclear norm has a kink elsewhere)."""
    if not is_zero(g):
        _refuse_rank_deficient(_linalg.svd(x, compute_uv=False))
    return g


@linear_in_g
def grad_nuclear(g, x, axis, keepdims):
    """Adjoint of np.linalg.norm(x, 'nuc'): g * u @ vh over each matrix (refused where a singular
    value is 0: the norm has a kink there)."""
    axes = (-2, -1) if axis is None else tuple(axis)
    xm = np.moveaxis(x, axes, (-2, -1))
    u, s, vt = _linalg.svd(xm, full_matrices=False)
    _refuse_rank_deficient(s)
    gm = np.asarray(g)
    if keepdims and gm.ndim >= 2:
        gm = np.moveaxis(gm, axes, (-2, -1))[..., 0, 0]
    return np.moveaxis(np.expand_dims(np.expand_dims(gm, -1), -1) * (u @ vt), (-2, -1), axes)


def eye_product(m, g, n, left):
    """`(g * np.eye(n)) @ m` (`left`) or `m @ (g * np.eye(n))`, g None for the identity alone
    (transforms/products.identity_products): g times a new copy of m where g and every entry of m are finite
    (the products with the zeros off the diagonal add exact zeros), the product itself elsewhere (0 * inf is NaN).

        >>> eye_product(np.array([[1.0, 2.0], [3.0, 4.0]]), 2.0, 2, True)
        array([[2., 4.],
               [6., 8.]])
    """
    if np.isfinite(m).all() and (g is None or np.isfinite(g)):
        return m.copy() if g is None else g * m
    e = np.eye(n) if g is None else g * np.eye(n)
    return e @ m if left else m @ e


def _lstsq_parts(g):
    """The four items of np.linalg.lstsq's adjoint (x, residuals, rank, s), each the zero where nothing reached it."""
    if is_zero(g):
        return ZERO, ZERO, ZERO, ZERO
    return tuple(g)


def grad_lstsq(g, ans, a, b, which):
    """Adjoint of np.linalg.lstsq(a, b) for `a` (which 0) or `b` (which 1), where `a` (m x n, m >= n) has full column
    rank n: there the solution is x = (a^T a)^-1 a^T b, and with z = (a^T a)^-1 g_x and r = b - a x, the adjoints
    are r z^T - (a z) x^T and a z; the residuals' (sum of squared r per column, where m > n) add -2 r x^T g_res and
    2 r g_res. Elsewhere (rank-deficient, m < n: the minimum-norm solution; the singular values read) refused.

        >>> a, b = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]), np.array([1.0, 2.0, 0.0])
        >>> np.round(grad_lstsq([np.ones(2), 0.0, 0.0, 0.0], np.linalg.lstsq(a, b), a, b, 1), 6).tolist()
        [0.666667, 0.333333, 0.333333]
    """
    gx, gres, _, gs = _lstsq_parts(g)
    x, _, rank, _ = ans
    a = np.asarray(a, dtype=np.result_type(a, float))
    m, n = a.shape
    if np.iscomplexobj(a) or np.iscomplexobj(b):
        _refuse("s2s differentiates np.linalg.lstsq of real arrays only", "solve the real system (stack the real and "
                "imaginary parts)")
    if m < n or rank < n:
        _refuse(f"s2s differentiates np.linalg.lstsq where a has full column rank (a is {m} x {n}, of rank {rank}): "
                "elsewhere the least-squares solution is the minimum-norm one, which jumps where the rank changes",
                "where a has full column rank, np.linalg.solve(a.T @ a, a.T @ b) is the same solution")
    if not is_zero(gs):
        _refuse("s2s has no derivative of the singular values np.linalg.lstsq returns",
                "take them from np.linalg.svd(a, compute_uv=False), whose derivative s2s has")
    vector = np.ndim(b) == 1
    x2 = x[:, None] if vector else x
    r = np.asarray(b, dtype=a.dtype)[:, None] - a @ x2 if vector else np.asarray(b, dtype=a.dtype) - a @ x2
    out_a, out_b = np.zeros_like(a), np.zeros_like(r)
    if not is_zero(gx):
        z = np.linalg.solve(a.T @ a, np.broadcast_to(gx, np.shape(x)).reshape(x2.shape))
        az = a @ z
        out_a = out_a + r @ z.T - az @ x2.T
        out_b = out_b + az
    if not is_zero(gres) and m > n:
        gr = np.broadcast_to(gres, (r.shape[1],)) if np.size(gres) != 1 else np.full(r.shape[1], float(np.ravel(gres)[0]))
        out_a = out_a - 2.0 * (r * gr) @ x2.T
        out_b = out_b + 2.0 * r * gr
    if which == 0:
        return out_a
    return out_b[:, 0] if vector else out_b


def lstsq_tangent(a_dot, b_dot, ans, a, b):
    """Tangent of np.linalg.lstsq(a, b) (full column rank, as grad_lstsq): (x_dot, residuals_dot, 0, 0)."""
    x, res, rank, s = ans
    a = np.asarray(a, dtype=np.result_type(a, float))
    m, n = a.shape
    if m < n or rank < n:
        _refuse(f"s2s differentiates np.linalg.lstsq where a has full column rank (a is {m} x {n}, of rank {rank})",
                "where a has full column rank, np.linalg.solve(a.T @ a, a.T @ b) is the same solution")
    vector = np.ndim(b) == 1
    x2 = x[:, None] if vector else x
    r = np.asarray(b, dtype=a.dtype).reshape(m, -1) - a @ x2
    da = np.zeros_like(a) if is_zero(a_dot) else np.broadcast_to(a_dot, a.shape)
    db = np.zeros_like(r) if is_zero(b_dot) else np.broadcast_to(b_dot, np.shape(b)).reshape(r.shape)
    dx = np.linalg.solve(a.T @ a, da.T @ r + a.T @ (db - da @ x2))
    dres = 2.0 * np.sum(r * (db - da @ x2 - a @ dx), axis=0) if m > n and np.size(res) else np.zeros(np.shape(res))
    return [dx[:, 0] if vector else dx, dres if np.size(res) else np.zeros(np.shape(res)), 0.0, np.zeros(np.shape(s))]


def _qr_factors(ans, a, mode, q_extra_read=True):
    """(q, r) of np.linalg.qr(a, mode) as the call gave them (mode 'r' gives r alone: q made again, the same
    LAPACK factorisation, its signs those of that r; mode 'complete' of a tall matrix: the reduced factors, its q's
    last columns, which are not unique, refused where `q_extra_read`); refused where they have no derivative."""
    m, n = np.shape(a)[-2:]
    if mode not in ("reduced", "complete", "r"):
        _refuse(f"s2s has no derivative of np.linalg.qr with mode={mode!r} (LAPACK's raw Householder factors)",
                "call np.linalg.qr(a) and use q and r")
    if mode == "complete" and m > n and q_extra_read:
        _refuse("s2s has no derivative of the last columns of q of np.linalg.qr(a, mode='complete') for a matrix "
                "with more rows than columns (they are not unique)", "call np.linalg.qr(a) (mode='reduced')")
    q, r = _linalg.qr(a) if mode == "r" else ans
    if mode == "complete" and m > n:
        q, r = q[..., :, :n], r[..., :n, :]  # (r's last rows are zeros whatever a is)
    k = min(m, n)
    d = np.abs(np.diagonal(r, axis1=-2, axis2=-1)[..., :k])
    if k and np.any(d <= 1e-12 * np.maximum(np.max(d, axis=-1, keepdims=True), 1e-300)):  # (as svd's check)
        _refuse("np.linalg.qr of a rank-deficient matrix has no derivative (r has a zero on its diagonal)",
                "make the matrix full rank, or differentiate a function that does not factor it")
    return q, r


def _copy_lower_up(x):
    """x's lower triangle, mirrored into the upper one."""
    return np.tril(x) + _T(np.tril(x, -1))


def _qr_square_adjoint(gq, gr, q, r):
    """The adjoint of the square-r QR of a matrix of at least as many rows as columns (Seeger et al.'s formula):
    (gq + q copyltu(r gr' - gq' q)) r^-T."""
    inner = _copy_lower_up(r @ _T(gr) - _T(gq) @ q)
    return _T(np.linalg.solve(r, _T(gq + q @ inner)))


def grad_qr(g, ans, a, mode):
    """Adjoint of np.linalg.qr(a, mode) (modes 'reduced', 'r', and 'complete', but for q's last columns of a tall
    matrix), for a of full rank: a wide a = [x | y] is the QR of its square part x with r's right part q' y.

        >>> a = np.array([[2.0, 1.0], [1.0, 3.0], [0.5, 1.0]])
        >>> np.round(grad_qr([0.0, np.eye(2)], np.linalg.qr(a), a, "reduced"), 3).shape
        (3, 2)
    """
    gq, gr = (ZERO, g) if mode == "r" else (g[0], g[1]) if isinstance(g, list | tuple) else (g, ZERO)
    if is_zero(gq) and is_zero(gr):
        return ZERO
    m, n = np.shape(a)[-2:]
    extra = mode == "complete" and m > n  # (of q's columns past n, only a zero adjoint is taken)
    q, r = _qr_factors(ans, a, mode, q_extra_read=extra and not is_zero(gq) and np.any(np.asarray(gq)[..., :, n:]))
    gq = np.zeros(np.shape(q)) if is_zero(gq) else np.broadcast_to(gq, np.shape(ans[0]))[..., :, :np.shape(q)[-1]]
    gr = np.zeros(np.shape(r)) if is_zero(gr) else np.broadcast_to(gr, np.shape(ans[1] if extra else r))[..., :np.shape(r)[-2], :]
    if m >= n:
        return _qr_square_adjoint(gq, gr, q, r)
    right = np.asarray(a)[..., :, m:]
    square = _qr_square_adjoint(gq + right @ _T(gr[..., :, m:]), gr[..., :, :m], q, r[..., :, :m])
    return np.concatenate([square, q @ gr[..., :, m:]], axis=-1)


def _qr_square_tangent(t, q, r):
    """(q_dot, r_dot) of the square-r QR for the tangent `t` of a (rows at least columns)."""
    b = _T(np.linalg.solve(_T(r), _T(_T(q) @ t)))  # q' t r^-1
    lower = np.tril(b, -1)
    r_dot = (b - lower + _T(lower)) @ r
    q_dot = _T(np.linalg.solve(_T(r), _T(t - q @ r_dot)))  # (t - q r_dot) r^-1
    return q_dot, r_dot


def qr_tangent(t, ans, a, mode):
    """Tangent of np.linalg.qr(a, mode) for the tangent `t` of a: [q_dot, r_dot] (r_dot alone for mode 'r')."""
    q, r = _qr_factors(ans, a, mode)
    m, n = np.shape(a)[-2:]
    if m >= n:
        q_dot, r_dot = _qr_square_tangent(t, q, r)
    else:
        q_dot, r_left = _qr_square_tangent(t[..., :, :m], q, r[..., :, :m])
        right = np.asarray(a)[..., :, m:]
        r_dot = np.concatenate([r_left, _T(q_dot) @ right + _T(q) @ t[..., :, m:]], axis=-1)
    return r_dot if mode == "r" else [q_dot, r_dot]


# ---- np.linalg.multi_dot: a chain of matrix products, its first and last items possibly vectors -----------------

def _as_matrices(arrays):
    """The items of a multi_dot as matrices (a first 1-d item a row, a last one a column), and the result's shape
    as those products make it: multi_dot's own reading of vectors."""
    mats = [np.asarray(a) for a in arrays]
    first_vector, last_vector = mats[0].ndim == 1, mats[-1].ndim == 1
    if first_vector:
        mats[0] = mats[0][None, :]
    if last_vector:
        mats[-1] = mats[-1][:, None]
    shape = (() if first_vector else (mats[0].shape[0],)) + (() if last_vector else (mats[-1].shape[1],))
    return mats, shape


def _chain(mats):
    """The product of `mats` (matrices) in NumPy's order for the chain, or None for none."""
    if not mats:
        return None
    return mats[0] if len(mats) == 1 else np.linalg.multi_dot(mats)


def _chain_tangent(mats, dots, skip=None):
    """The sum over j (not `skip`) of the chain `mats` with item j replaced by `dots[j]`: the chain's tangent;
    None for an empty chain."""
    if not mats:
        return None
    return sum(_chain(mats[:j] + [dots[j]] + mats[j + 1:]) for j in range(len(mats)) if j != skip)


@linear_in_g
def grad_multi_dot(g, arrays):
    """Adjoints of np.linalg.multi_dot(arrays): for item i, (the product before it)^T g (the product after it)^T,
    each shaped as its item.

        >>> [a.tolist() for a in grad_multi_dot(1.0, [np.array([1.0, 2.0]), np.eye(2), np.array([3.0, 4.0])])]
        [[3.0, 4.0], [[3.0, 4.0], [6.0, 8.0]], [1.0, 2.0]]
    """
    mats, _ = _as_matrices(arrays)
    g = np.reshape(g, (mats[0].shape[0], mats[-1].shape[1]))
    out = []
    for i, a in enumerate(arrays):
        before, after = _chain(mats[:i]), _chain(mats[i + 1:])
        adjoint = g if after is None else g @ after.T
        adjoint = adjoint if before is None else before.T @ adjoint
        out.append(np.reshape(adjoint, np.shape(a)))
    return out


def multi_dot_tangent(tangents, arrays):
    """The tangent of np.linalg.multi_dot(arrays) for the items' tangents: the sum over i of the chain with item i
    replaced by its tangent.

        >>> multi_dot_tangent([np.array([1.0, 0.0]), np.zeros((2, 2)), np.zeros(2)],
        ...                   [np.array([1.0, 2.0]), np.eye(2), np.array([3.0, 4.0])])
        3.0
    """
    mats, shape = _as_matrices(arrays)
    dots, _ = _as_matrices(tangents)
    total = sum(_chain(mats[:i] + [dots[i]] + mats[i + 1:]) for i in range(len(mats)))
    return total.reshape(shape) if shape else total.item()


@linear_in_g
def grad_multi_dot_dot(g, arrays, dots):
    """The tangent of grad_multi_dot(g, arrays) for the items' tangents `dots` (s2s.hessian through multi_dot):
    each adjoint's two products, before and after the item, differentiated."""
    mats, _ = _as_matrices(arrays)
    ds, _ = _as_matrices(dots)
    g = np.reshape(g, (mats[0].shape[0], mats[-1].shape[1]))
    out = []
    for i, a in enumerate(arrays):
        before, after = _chain(mats[:i]), _chain(mats[i + 1:])
        before_dot, after_dot = _chain_tangent(mats[:i], ds[:i]), _chain_tangent(mats[i + 1:], ds[i + 1:])
        total = 0.0
        if after_dot is not None:
            term = g @ after_dot.T
            total = total + (term if before is None else before.T @ term)
        if before_dot is not None:
            term = g if after is None else g @ after.T
            total = total + before_dot.T @ term
        out.append(np.reshape(total, np.shape(a)) if np.ndim(total) else np.zeros(np.shape(a)))
    return out


def multi_dot_tangent_dot(tangents, arrays, dots):
    """The tangent of multi_dot_tangent(tangents, arrays) for the items' tangents `dots`: the chains with two
    items replaced, one by its tangent and another by its `dots` entry."""
    mats, shape = _as_matrices(arrays)
    ts, _ = _as_matrices(tangents)
    ds, _ = _as_matrices(dots)
    total = 0.0
    for i in range(len(mats)):
        with_t = mats[:i] + [ts[i]] + mats[i + 1:]
        total = total + (_chain_tangent(with_t, ds, skip=i) if len(mats) > 1 else 0.0)
    total = np.asarray(total)
    return total.reshape(shape) if shape else total.item()
