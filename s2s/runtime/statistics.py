"""Adjoint helpers for np.average with weights and np.cov."""

from __future__ import annotations

import numpy as np

from s2s.runtime.adjoint import unbroadcast
from s2s.runtime.zero import linear_in_g


def _refuse(message, hint):
    from s2s.errors import NoDerivativeRuleError
    raise NoDerivativeRuleError(message, hint=hint)


def average_weights(weights, a, axis):
    """The weights of np.average(a, axis, weights) spread over a's shape, as NumPy reads them (ones for
    None; a 1-d array along `axis`). Linear in `weights`.

        >>> average_weights(np.array([1.0, 2.0]), np.zeros((3, 2)), 1)[0]
        array([1., 2.])
    """
    shape = np.shape(a)
    if weights is None:
        return np.ones(shape)
    w = np.asarray(weights)
    if w.shape == shape:
        return w
    if w.ndim == 0:
        return np.broadcast_to(w, shape)
    if w.ndim != 1 or not isinstance(axis, int | np.integer):
        _refuse("s2s differentiates np.average with weights shaped like a, or 1-d weights along one integer axis",
                "spread the weights over a's shape first (np.broadcast_to)")
    along = [1] * len(shape)
    along[axis] = w.shape[0]
    return np.broadcast_to(np.reshape(w, along), shape)


@linear_in_g
def grad_average_weights(g, weights, a, axis):
    """Adjoint of `average_weights(weights, a, axis)` for `weights`: `g` summed back to their shape."""
    w = np.asarray(weights)
    if np.shape(g) == w.shape:
        return g
    if w.ndim == 1 and np.ndim(a) > 1:
        others = tuple(i for i in range(np.ndim(a)) if i != axis % np.ndim(a))
        return np.sum(g, axis=others)
    return unbroadcast(g, weights)


def _centred(m, rowvar, bias, ddof):
    """np.cov's variables as rows, centred, whether they were transposed, and the divisor."""
    x = np.array(m, ndmin=2, dtype=np.result_type(m, np.float64))
    if x.ndim > 2:
        _refuse("np.cov takes 1-d or 2-d arrays (NumPy raises for others)", "pass a 1-d or 2-d array")
    transposed = not rowvar and np.ndim(m) != 1
    if transposed:
        x = x.T
    if ddof is None:
        ddof = 1 if bias == 0 else 0
    return x - np.mean(x, axis=1, keepdims=True), transposed, x.shape[1] - ddof


@linear_in_g
def grad_cov(g, m, rowvar, bias, ddof):
    """Adjoint of np.cov(m, rowvar=rowvar, bias=bias, ddof=ddof) for m: (G + G^T) Xc / n with Xc the
    centred variables (centring is a projection that Xc already lies in). Linear in m as well.

        >>> grad_cov(np.eye(2), np.array([[1.0, 3.0], [0.0, 2.0]]), True, False, None)
        array([[-2.,  2.],
               [-2.,  2.]])
    """
    xc, transposed, n = _centred(m, rowvar, bias, ddof)
    k = xc.shape[0]
    g = np.reshape(g, (k, k))
    x_bar = (g + g.T) @ xc / n
    return np.reshape(x_bar.T if transposed else x_bar, np.shape(m))


def cov_cross(t, m, rowvar, bias, ddof):
    """(Tc Xc^T + Xc Tc^T) / n, shaped as np.cov's result: the tangent of np.cov(m, ...) for the tangent
    `t` of m (bilinear in t and m).

        >>> cov_cross(np.array([0.0, 1.0]), np.array([0.0, 1.0]), True, False, None)
        array(1.)
    """
    tc, _, _ = _centred(t, rowvar, bias, ddof)
    xc, _, n = _centred(m, rowvar, bias, ddof)
    return np.squeeze((tc @ xc.T + xc @ tc.T) / n)
