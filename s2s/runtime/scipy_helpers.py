"""Runtime helpers for the SciPy rules (s2s/rules/scipy_*.py); imported only where SciPy is installed.

Inside generated code this module is `s2s.scipy_helpers`. Besides the adjoint helpers below it
re-exports the SciPy functions the rules' templates call (`s2s.scipy_helpers.digamma(x)`,
`s2s.scipy_helpers.t.logpdf(...)`): those have rules of their own, so an adjoint written with them
can be differentiated again (forward mode over reverse mode gives Hessians).

    >>> import numpy as np
    >>> lse_keep(np.zeros(2), np.ones((2, 3)), None, 1, False).shape
    (2, 1)
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_solve, solve_banded, solve_sylvester, solve_triangular  # noqa: F401 - templates call them
from scipy.signal import (  # noqa: F401 - templates call them
    convolve,
    convolve2d,
    correlate,
    correlate2d,
    fftconvolve,
    oaconvolve,
)
from scipy.special import (  # noqa: F401 - templates call them
    betaln,
    digamma,
    expn,
    gammaln,
    hyp2f1,
    i0,
    i0e,
    i1,
    i1e,
    iv,
    ive,
    j0,
    j1,
    jv,
    kv,
    kve,
    polygamma,
    y0,
    y1,
    yv,
    zeta,
)
from scipy.stats import beta, chi2, gamma, poisson, t  # noqa: F401 - templates call them

from s2s.runtime.adjoint import unbroadcast
from s2s.runtime.zero import ZERO, is_zero, linear_in_g

# ---- logsumexp with b -----------------------------------------------------------------------------


def lse_keep(v, a, b, axis, keepdims):
    """`v`, a result of logsumexp(a, axis, b=b), with the reduced axes kept as length 1 (it broadcasts
    against a and b). Linear in v; a and b give only the shape."""
    if keepdims:
        return v
    ndim = len(np.broadcast_shapes(np.shape(a), np.shape(lse_b(b))))
    if ndim == 0:
        return v
    axes = tuple(range(ndim)) if axis is None else tuple(x % ndim for x in np.atleast_1d(axis).tolist())
    return np.expand_dims(v, axes)


def lse_b(b):
    """logsumexp's weights b, 1.0 for None (no weights)."""
    return 1.0 if b is None else b


# ---- linear algebra -----------------------------------------------------------------------------


def flip_trans(trans):
    """The `trans` of solve_triangular that solves with the transposed matrix (real matrices)."""
    return 0 if trans in (1, 2, "T", "C") else 1


def _transposed(trans) -> bool:
    if trans in (0, "N"):
        return False
    if trans in (1, 2, "T", "C"):
        return True
    raise ValueError(f"solve_triangular: unknown trans {trans!r}")


def _mask(m, lower, unit_diagonal):
    """The part of `m` in the triangle solve_triangular reads (without the diagonal where it is unit)."""
    k = -1 if unit_diagonal else 0
    return np.tril(m, k) if lower else np.triu(m, -k)


def _col(v):
    return v[:, None] if np.ndim(v) == 1 else v


def tri_outer(bb, x, trans, lower, unit_diagonal):
    """The adjoint of solve_triangular's `a` from the adjoint `bb` of b and the solution x: -bb x^T (or -x bb^T
    where the transposed matrix was solved with), in the triangle read. Bilinear in bb and x."""
    if is_zero(bb) or is_zero(x):
        return ZERO
    outer = -(_col(x) @ _col(bb).T) if _transposed(trans) else -(_col(bb) @ _col(x).T)
    return _mask(outer, lower, unit_diagonal)


def tri_apply(m, x, trans, lower, unit_diagonal):
    """op(triangle of m) @ x: the tangent of solve_triangular's b side for a tangent `m` of a. Bilinear."""
    if is_zero(m) or is_zero(x):
        return ZERO
    tri = _mask(m, lower, unit_diagonal)  # a unit diagonal is 1 whatever a holds: no tangent there
    return (tri.T if _transposed(trans) else tri) @ x


# solve_banded: `ab` holds the diagonals of A in rows, A[i, j] = ab[u + i - j, j] (`l` diagonals below, `u` above);
# the entries of ab outside the matrix (its corners) are read by nothing. A^T's diagonals, the band of an outer
# product and A @ x are computed on the band alone (O(n (l + u)), never the dense n x n matrix).


def _band_count(v) -> int:
    """A number of diagonals as SciPy takes it (an int, or a float of an integer value)."""
    count = int(v)
    if count != v:
        raise ValueError(f"a number of diagonals must be an integer, not {v!r}")
    return count


def _band_sizes(l_and_u, ab=None) -> tuple[int, int]:
    """(l, u), checked: s2s differentiates solve_banded of one 2-d `ab` (a batch of them has no rule here)."""
    lower, upper = (_band_count(v) for v in l_and_u)
    if ab is not None and np.ndim(ab) != 2:
        from s2s.errors import NoDerivativeRuleError
        raise NoDerivativeRuleError(
            f"s2s differentiates scipy.linalg.solve_banded with a 2-d `ab` only (this one has {np.ndim(ab)} axes: "
            "a batch of banded matrices)", hint="solve the batch's matrices one by one in a loop")
    return lower, upper


def band_flip(l_and_u):
    """The (l, u) of A's transpose: (u, l)."""
    lower, upper = l_and_u
    return upper, lower


def _diagonals(n, lower, upper):
    """(d, first, stop) per diagonal d = i - j of a band that an n x n matrix has: its columns j in [first, stop)."""
    return [(d, max(0, -d), min(n, n - d)) for d in range(-upper, lower + 1) if -n < d < n]


def _systems(x):
    """b (or x) as SciPy's solve_banded reads it: a stack of n x k right-hand sides, shape (batch, n, k) (a 1-d b
    is one column; a 2-d one, k columns; more axes, a batch of them)."""
    x = np.asarray(x)
    return x.reshape(1, -1, 1) if x.ndim == 1 else x.reshape((-1,) + x.shape[-2:])


def band_transpose(v, l_and_u):
    """The diagonal-ordered form of A^T (its `l` and `u` swapped) from A's form `v`. Linear in v.

        >>> band_transpose(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 0.0]]), (1, 1))
        array([[0., 4.],
               [2., 3.],
               [1., 0.]])
    """
    lower, upper = _band_sizes(l_and_u, v)
    v = np.asarray(v)
    out = np.zeros_like(v, dtype=np.result_type(v, float))
    for d, first, stop in _diagonals(v.shape[-1], upper, lower):  # (A^T has u diagonals below, l above)
        out[lower + d, first:stop] = v[upper - d, first + d:stop + d]
    return out


def band_outer(v, x, l_and_u):
    """The band of v x^T (summed over the columns and the batch of v and x, shaped like b) in diagonal-ordered
    form: out[u + i - j, j] = sum of v_i x_j over the entries of an (l, u) band. Bilinear in v and x."""
    if is_zero(v) or is_zero(x):
        return ZERO
    lower, upper = _band_sizes(l_and_u)
    v, x = _systems(v), _systems(x)
    n = x.shape[1]
    out = np.zeros((lower + upper + 1, n), dtype=np.result_type(v, x, float))
    for d, first, stop in _diagonals(n, lower, upper):
        out[upper + d, first:stop] = np.einsum("bjk,bjk->j", v[:, first + d:stop + d], x[:, first:stop])
    return out


def band_matvec(m, x, l_and_u):
    """A @ x for the matrix A whose diagonal-ordered (l, u) form is `m`, x shaped like b. Bilinear in m and x."""
    if is_zero(m) or is_zero(x):
        return ZERO
    lower, upper = _band_sizes(l_and_u, m)
    m, shape = np.asarray(m), np.shape(x)
    x = _systems(x)
    out = np.zeros(x.shape, dtype=np.result_type(m, x, float))
    for d, first, stop in _diagonals(x.shape[1], lower, upper):
        out[:, first + d:stop + d] += m[upper + d, first:stop, None] * x[:, first:stop]
    return out.reshape(shape)


# cho_factor and cho_solve: their adjoints are written (s2s/rules/scipy_linalg.py) with solve_triangular,
# cho_solve, matmul and the helpers below, linear in their first argument (bilinear: neg_outer,
# cho_c_adjoint), which have rules: the adjoints can be differentiated again.


def cho_lower(c, lower):
    """The lower-triangular factor L (A = L L^T) that cho_factor's `c` holds in the triangle named by lower."""
    if is_zero(c):
        return ZERO
    return np.tril(c) if lower else np.transpose(np.triu(c))


def cho_rest(c, lower):
    """The triangle of c that cho_factor does not write (a copy of its argument's)."""
    if is_zero(c):
        return ZERO
    return np.triu(c, 1) if lower else np.tril(c, -1)


def cho_read(s, lower):
    """The adjoint of the triangle cho_factor reads, from the adjoint s of the symmetric matrix it stands for
    (an off-diagonal entry read stands for two)."""
    if is_zero(s):
        return ZERO
    both = s + np.transpose(s)
    return (np.tril(both, -1) if lower else np.triu(both, 1)) + np.diag(np.diag(s))


def phi(m):
    """The lower triangle of m with its diagonal halved."""
    if is_zero(m):
        return ZERO
    return np.tril(m) - 0.5 * np.diag(np.diag(m))


def first(g):
    """The first part of a pair's adjoint (cho_factor's (c, lower))."""
    return ZERO if is_zero(g) else g[0]


def neg_outer(u, v):
    """-u v^T (vectors as columns)."""
    if is_zero(u) or is_zero(v):
        return ZERO
    return -(_col(u) @ np.transpose(_col(v)))


def cho_c_adjoint(abar, c, lower):
    """The adjoint of cho_solve's (c, lower) from the adjoint abar of the matrix A = L L^T (or U^T U) it solves
    with: (A_bar + A_bar^T) L in L's triangle (U (A_bar + A_bar^T) in U's), and none for the flag."""
    if is_zero(abar) or is_zero(c):
        return ZERO, ZERO
    sym = abar + np.transpose(abar)
    return (np.tril(sym @ np.tril(c)) if lower else np.triu(np.triu(c) @ sym)), ZERO


def cho_a_dot(cd, c, lower):
    """The tangent of A = L L^T (or U^T U) for a tangent cd of cho_solve's c (bilinear in cd and c)."""
    if is_zero(cd) or is_zero(c):
        return ZERO
    f, fd = (np.tril(c), np.tril(cd)) if lower else (np.triu(c), np.triu(cd))
    return fd @ np.transpose(f) + f @ np.transpose(fd) if lower else np.transpose(fd) @ f + np.transpose(f) @ fd


def cho_sym(a, lower):
    """The symmetric matrix the triangle of `a` that cho_factor reads stands for."""
    if is_zero(a):
        return ZERO
    read = np.tril(a) if lower else np.transpose(np.triu(a))
    return read + np.transpose(np.tril(read, -1))


def cho_pack(ld, a, lower):
    """cho_factor's (c, lower) from the lower factor ld (transposed for an upper c) and the other triangle of
    `a`; linear in ld and a together (either may be the zero tangent)."""
    factor = 0.0 if is_zero(ld) else (ld if lower else np.transpose(ld))
    rest = 0.0 if is_zero(a) else (np.triu(a, 1) if lower else np.tril(a, -1))
    return factor + rest, 0.0


# ---- multivariate normal ----------------------------------------------------------------------------
# The rules (s2s/rules/scipy_stats.py) write the adjoints with np.linalg.inv, matmul, np.reshape and the
# helpers below, each linear in its first argument (rows_outer: in both), so they have rules and the
# adjoints can be differentiated again.


def _mvn_dim(mean, cov) -> int:
    if mean is None:
        return 1 if np.ndim(cov) == 0 else np.shape(cov)[0]
    return int(np.size(mean))


def mvn_cov(cov, mean):
    """The symmetric covariance matrix SciPy uses for `cov` (a scalar times I, a diagonal, or the symmetric
    matrix cov's lower triangle stands for: SciPy reads that triangle, eigh(lower=True))."""
    cov = np.asarray(cov, dtype=float)
    if cov.ndim == 0:
        return cov * np.eye(_mvn_dim(mean, cov))
    if cov.ndim == 1:
        return np.diag(cov)
    return np.tril(cov) + np.tril(cov, -1).T


def mvn_cov_adjoint(sym, cov):
    """The adjoint of `cov` in the form given, from the adjoint `sym` of the symmetric matrix it stands for
    (the transpose of mvn_cov)."""
    if is_zero(sym):
        return ZERO
    nd = np.ndim(cov)
    if nd == 0:
        return np.trace(sym)
    if nd == 1:
        return np.diag(sym).copy()
    return 2.0 * np.tril(sym, -1) + np.diag(np.diag(sym))


def mvn_mean(mean, cov):
    """The mean as a vector (zeros for None)."""
    if mean is None:
        return np.zeros(_mvn_dim(mean, cov))
    return np.reshape(np.asarray(mean, dtype=float), (-1,))


def mvn_rows(x, mean, cov):
    """x as rows of points, shape (..., d), as SciPy reads it (a 1-d x is one point, or n points when d == 1)."""
    if is_zero(x):
        return ZERO
    dim = _mvn_dim(mean, cov)
    xs = np.asarray(x, dtype=float)
    if xs.ndim == 0:
        return xs[None]
    if xs.ndim == 1:
        return xs[:, None] if dim == 1 else xs[None, :]
    return xs


def mvn_g(g, x, mean, cov):
    """The adjoint of the (squeezed) result as one value per row, with a trailing axis: shape (..., 1)."""
    if is_zero(g):
        return ZERO
    return np.reshape(g, np.shape(mvn_rows(x, mean, cov))[:-1] + (1,))


def mvn_sum_rows(v, mean):
    """The sum of rows (..., d) as the mean's adjoint, in the mean's shape."""
    if is_zero(v):
        return ZERO
    total = np.sum(np.reshape(v, (-1, np.shape(v)[-1])), axis=0)
    return np.reshape(total, np.shape(mean)) if mean is not None else total


def rows_outer(a, b):
    """The sum over rows of the outer products a_i b_i^T (a, b: shape (..., d))."""
    if is_zero(a) or is_zero(b):
        return ZERO
    return np.reshape(a, (-1, np.shape(a)[-1])).T @ np.reshape(b, (-1, np.shape(b)[-1]))


# ---- Dirichlet --------------------------------------------------------------------------------------
# x holds the components along its first axis, all K of them or the first K - 1 (the last is then one
# minus their sum); alpha has K entries.


def dir_full(x, alpha):
    """All K components of x (its first axis)."""
    x = np.asarray(x, dtype=float)
    if x.shape[0] == np.shape(alpha)[0]:
        return x
    return np.concatenate([x, 1.0 - np.sum(x, 0, keepdims=True)], 0)


def dir_full_dot(tan, alpha):
    """The tangent of dir_full for a tangent `tan` of x (linear)."""
    if is_zero(tan):
        return ZERO
    tan = np.asarray(tan, dtype=float)
    if tan.shape[0] == np.shape(alpha)[0]:
        return tan
    return np.concatenate([tan, -np.sum(tan, 0, keepdims=True)], 0)


def dir_x_adjoint(v, x):
    """The adjoint of x from the adjoint v of dir_full(x, alpha) (the transpose of dir_full_dot)."""
    if is_zero(v) or np.shape(v)[0] == np.shape(x)[0]:
        return v
    return v[:-1] - v[-1:]


def dir_alpha(alpha, x):
    """alpha with axes added so that it broadcasts against the components of x (axis 0)."""
    if is_zero(alpha):
        return ZERO
    return np.reshape(alpha, np.shape(alpha) + (1,) * (np.ndim(x) - 1))


def dir_g(g, x):
    """The adjoint of the (squeezed) result, shaped to broadcast against the components (a leading axis)."""
    if is_zero(g):
        return ZERO
    return np.reshape(g, (1,) + np.shape(x)[1:])


def dir_sum_alpha(v):
    """The adjoint of alpha: v summed over all but the components' axis."""
    if is_zero(v):
        return ZERO
    return np.sum(np.reshape(v, (np.shape(v)[0], -1)), axis=1)


# ---- scipy.integrate.odeint -------------------------------------------------------------------------


def _odeint_args(args) -> tuple:
    return args if isinstance(args, tuple) else (args,)


def _odeint_chosen(args) -> tuple:
    """The positions of odeint's extra arguments that hold floats (the others get no adjoint)."""
    def floats(a):
        if a is None or isinstance(a, bool | int | str):
            return False
        if isinstance(a, np.ndarray | np.generic):
            return np.issubdtype(a.dtype, np.floating)
        return True
    return tuple(i for i, a in enumerate(args) if floats(a))


@linear_in_g
def grad_odeint(g, ans, func, start, times, args, rtol, atol, mxstep, which):
    """Adjoint of ys = odeint(func, start, times, args) for start (which=0) or args (1), by the adjoint method: the
    system y' = func(y, t, *args) is integrated back from each time to the one before with the adjoint
    a (a' = -a^T df/dy) and the integral of a^T df/dargs, their products made by s2s.vjp of func. As exact
    as the solver's tolerances (rtol, atol) make it, as the forward solution is."""
    import scipy.integrate

    import s2s
    args = _odeint_args(args)
    yt = np.asarray(ans, dtype=float)
    steps, dim = yt.shape
    g = np.broadcast_to(np.asarray(g, dtype=float), yt.shape)
    times = np.asarray(times, dtype=float)
    chosen = _odeint_chosen(args) if which == 1 else ()
    wrt = (0,) + tuple(2 + i for i in chosen)
    flat0, unflatten = s2s.flatten(tuple(args[i] for i in chosen))

    def augmented(state, when):
        y, a_y = state[:dim], state[dim:2 * dim]
        dy, pullback = s2s.vjp(func, np.reshape(y, np.shape(start)) if np.ndim(start) else y, when, *args, wrt=wrt)
        grads = pullback(-np.reshape(a_y, np.shape(dy)))
        parts = [np.ravel(dy), np.ravel(grads[0])]
        if chosen:
            parts.append(s2s.flatten(tuple(grads[1:]))[0])
        return np.concatenate(parts)

    a_y, a_args = g[-1].copy(), np.zeros(np.size(flat0))
    for i in range(steps - 1, 0, -1):
        state = np.concatenate([yt[i], a_y, a_args])
        back = scipy.integrate.odeint(augmented, state, np.array([times[i], times[i - 1]]), rtol=rtol, atol=atol,
                                      mxstep=mxstep)[1]
        a_y, a_args = back[dim:2 * dim] + g[i - 1], back[2 * dim:]
    if which == 0:
        return np.reshape(a_y, np.shape(start))
    out = [ZERO] * len(args)
    for i, value in zip(chosen, unflatten(a_args)):
        out[i] = value
    return tuple(out)  # (SciPy takes args as a tuple only)


__all__ = ["unbroadcast"]  # the rest is reached by attribute from generated code


# ---- scipy.spatial.distance.cdist ----------------------------------------------------------------------------
CDIST_METRICS = ("sqeuclidean", "euclidean", "cityblock")
# the other names SciPy takes for them (in any case: SciPy lowers the name first)
_METRIC_ALIASES = {"sqeuclid": "sqeuclidean", "sqe": "sqeuclidean", "euclid": "euclidean", "eu": "euclidean",
                   "e": "euclidean", "cblock": "cityblock", "cb": "cityblock", "c": "cityblock"}
CDIST_HINT = ("compute the distances with NumPy, e.g. `np.sum((XA[:, None, :] - XB[None, :, :]) ** 2, axis=-1)` for "
              "squared Euclidean distances")


def known_metric(metric) -> bool:
    """'sqeuclidean', 'euclidean' or 'cityblock' (SciPy's other names and any case)"""
    return isinstance(metric, str) and _METRIC_ALIASES.get(metric.lower(), metric.lower()) in CDIST_METRICS


def _cdist_metric(metric):
    """The metric's own name ('sqeuclidean' of 'SQE'), or NoDerivativeRuleError for one without an adjoint."""
    if not known_metric(metric):
        from s2s.errors import NoDerivativeRuleError
        raise NoDerivativeRuleError(
            f"s2s differentiates scipy.spatial.distance.cdist with metric {', '.join(map(repr, CDIST_METRICS))}, "
            f"not {metric!r}", hint=CDIST_HINT)
    return _METRIC_ALIASES.get(metric.lower(), metric.lower())


def _per_distance(g, ans, metric):
    """`g` per distance as per half its squared distance, the factor its derivative takes: `2 g` for sqeuclidean,
    `g / D` for euclidean (0 where D is 0: the zero subgradient, as np.abs's at 0). The adjoint's and the
    tangent's."""
    if metric == "sqeuclidean":
        return 2.0 * g
    safe = np.where(ans > 0, ans, 1.0)
    return np.where(ans > 0, g / safe, 0.0)


def grad_cdist(g, ans, XA, XB, metric, which):
    """Adjoint of `cdist(XA, XB, metric)` for XA (`which` 0) or XB (1), for the metrics CDIST_METRICS.

        >>> XA, XB = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]])
        >>> grad_cdist(np.ones((1, 1)), np.array([[5.0]]), XA, XB, "euclidean", 0)
        array([[-0.6, -0.8]])
    """
    metric = _cdist_metric(metric)
    XA, XB, g = np.asarray(XA), np.asarray(XB), np.asarray(g)
    # (the differences of the rows themselves, as SciPy subtracts them: `s @ XB` against `s.sum(1) * XA` would
    # cancel large coordinates of close points, a relative error of 3e-3 at 1e12)
    diff = XA[:, None, :] - XB[None, :, :]
    s = np.sign(diff) * g[:, :, None] if metric == "cityblock" else _per_distance(g, ans, metric)[:, :, None] * diff
    return s.sum(axis=1) if which == 0 else -s.sum(axis=0)


def grad_cdist_dot(g, ans, ans_dot, XA, XB, XA_dot, XB_dot, metric, which):
    """Tangent of `grad_cdist(g, ans, XA, XB, metric, which)` for tangents of the distances and the arrays (0.0
    for none), g held: what s2s.hessian's forward sweep over the adjoint computes. City-block adjoints are
    piecewise constant (0).

        >>> XA, XB = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]])
        >>> grad_cdist_dot(np.ones((1, 1)), np.array([[25.0]]), 0.0, XA, XB, np.array([[1.0, 0.0]]), 0.0,
        ...                "sqeuclidean", 0)
        array([[2., 0.]])
    """
    metric = _cdist_metric(metric)
    XA, XB, g = np.asarray(XA), np.asarray(XB), np.asarray(g)
    if metric == "cityblock":
        return np.zeros_like(XA if which == 0 else XB, dtype=float)
    diff = XA[:, None, :] - XB[None, :, :]
    moved = np.broadcast_to(XA_dot, XA.shape)[:, None, :] - np.broadcast_to(XB_dot, XB.shape)[None, :, :]
    s = _per_distance(g, ans, metric)[:, :, None] * moved
    if metric == "euclidean":  # (g / D's own tangent, -g D' / D^2, where D > 0)
        safe = np.where(ans > 0, ans, 1.0)
        s = s + np.where(ans > 0, -g * ans_dot / (safe * safe), 0.0)[:, :, None] * diff
    return s.sum(axis=1) if which == 0 else -s.sum(axis=0)


def cdist_tangent(XA_dot, XB_dot, ans, XA, XB, metric):
    """Tangent of `cdist(XA, XB, metric)` for tangents XA_dot and XB_dot of XA and XB (0.0 for none)."""
    metric = _cdist_metric(metric)
    XA, XB = np.asarray(XA), np.asarray(XB)
    dA = np.broadcast_to(XA_dot, XA.shape)
    dB = np.broadcast_to(XB_dot, XB.shape)
    diff = XA[:, None, :] - XB[None, :, :]
    moved = dA[:, None, :] - dB[None, :, :]
    if metric == "cityblock":
        return np.sum(np.sign(diff) * moved, axis=-1)
    return _per_distance(np.sum(diff * moved, axis=-1), ans, metric)  # (of d/dt |a_i - b_j|^2 / 2)


# ---- scipy.signal's convolutions and correlations (s2s/rules/scipy_signal.py)
_CONVOLUTIONS = ("convolve", "fftconvolve", "oaconvolve", "convolve2d")  # (the others correlate)


def _signal_window(a_shape, v_shape, out_shape, mode, kind) -> tuple:
    """Where the `mode` result of scipy.signal's `kind` of arrays of shapes `a_shape`, `v_shape` starts in its
    'full' one, per axis: centred ('valid' and 'same'), but correlate2d's 'same' a half kernel in (SciPy's C code)."""
    full = [n + m - 1 for n, m in zip(a_shape, v_shape)]
    if kind == "correlate2d" and mode == "same":
        return tuple(m // 2 for m in v_shape)
    return tuple((f - o) // 2 for f, o in zip(full, out_shape))


def grad_signal(g, a, v, mode, which, kind, boundary="fill", fillvalue=0, axes=None):
    """Adjoint of scipy.signal's `kind` (convolve, correlate, fftconvolve, oaconvolve, convolve2d or correlate2d)
    of `a` and `v` in `mode` for a (which=0) or v: its 'full' result's adjoint (g placed in its window) correlated
    with the other argument (a correlation is the convolution with the kernel flipped). Refused for a boundary other
    than 'fill' with 0, and for fftconvolve's `axes`.

        >>> grad_signal(np.array([1.0, 0.0, 0.0]), np.array([1.0, 2.0]), np.array([3.0, 4.0]), "full", 0, "convolve")
        array([3., 0.])
    """
    if boundary != "fill" or np.any(np.asarray(fillvalue) != 0) or axes is not None:
        from s2s.errors import NoDerivativeRuleError
        raise NoDerivativeRuleError(
            f"s2s differentiates scipy.signal.{kind} with boundary='fill', fillvalue=0 and no axes only (its "
            f"values outside the arrays are zeros there), not boundary={boundary!r}, fillvalue={fillvalue!r}, "
            f"axes={axes!r}", hint="pad the array yourself (np.pad(a, k, mode='wrap')) and convolve in mode 'valid'")
    a_, v_, g_ = np.asarray(a), np.asarray(v), np.asarray(g)
    if a_.size == 0 or v_.size == 0:  # (SciPy's result of an empty array is empty: nothing reaches either array)
        return np.zeros(np.shape(a if which == 0 else v), dtype=np.result_type(g_, float))
    if mode not in ("full", "valid", "same") or a_.ndim != v_.ndim:
        raise ValueError(f"scipy.signal.{kind}: mode must be 'full', 'valid' or 'same', and both arrays of one rank")
    out_shape = g_.shape if g_.ndim == a_.ndim else np.shape(globals()[kind](a_, v_, mode))
    g_ = np.broadcast_to(g_, out_shape)
    full = np.zeros([n + m - 1 for n, m in zip(a_.shape, v_.shape)], dtype=np.result_type(g_, a_, v_, float))
    start = _signal_window(a_.shape, v_.shape, out_shape, mode, kind)
    full[tuple(slice(s, s + n) for s, n in zip(start, out_shape))] = g_
    if kind in _CONVOLUTIONS:
        return correlate(full, v_ if which == 0 else a_, "valid")
    if which == 0:  # (correlate(a, v) is convolve(a, flip(v)): a's adjoint correlates with flip(v), convolves with v)
        return convolve(full, v_, "valid")
    return np.flip(correlate(full, a_, "valid"))
