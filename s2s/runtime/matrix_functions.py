"""Helpers for the derivatives of matrix functions (np.linalg.matrix_power, scipy.linalg.expm).

For a matrix function f given by a power series, the Fréchet derivative L_f(A, E) is the upper-right
block of f([[A, E], [0, A]]) (Higham, Functions of Matrices, thm. 3.6), and the adjoint of f at A
applied to G is L_f(A^T, G). `block_upper` builds that block matrix, `upper_right` reads the block.
"""

from __future__ import annotations

import numpy as np


def block_upper(a, e):
    """[[a, e], [0, a]] on the last two axes (leading axes batched). Linear in a and e together.

        >>> block_upper(np.eye(1), np.array([[2.0]]))
        array([[1., 2.],
               [0., 1.]])
    """
    shape = np.broadcast_shapes(np.shape(a), np.shape(e))
    dtype = np.result_type(a, e, float)
    a, e = np.broadcast_to(np.asarray(a, dtype), shape), np.broadcast_to(np.asarray(e, dtype), shape)
    top = np.concatenate([a, e], -1)
    return np.concatenate([top, np.concatenate([np.zeros(shape, dtype), a], -1)], -2)


def upper_right(m):
    """The upper-right quarter of the square matrices `m` (last two axes). Linear.

        >>> upper_right(np.arange(4.0).reshape(2, 2))
        array([[1.]])
    """
    k = np.shape(m)[-1] // 2
    return m[..., :k, k:]


try:  # SciPy is optional: scipy.linalg.expm's rule (s2s/rules/scipy_matrix.py) calls it as s2s.matrix_functions.expm
    from scipy.linalg import expm  # noqa: F401
except ImportError:  # pragma: no cover - the dev extra installs SciPy
    pass
