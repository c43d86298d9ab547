"""np.triu_indices / np.tril_indices of ints of known value have shapes (two int arrays as long as the
triangle has entries, s2s/rules/result_shapes.py `_triangle_indices`) and their items are int arrays
(transforms/shapes.py `_triangle_item`): a pair energy over `i, j = np.triu_indices(n, 1)` keeps no general
helper (`expand_reduced`, `unbroadcast`, `unpack_count`). Gradients against central differences; the lengths
against NumPy's for many sizes, offsets and widths."""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s
from s2s.rules import result_shapes


def pair_energy(X, a=1.5, r0=1.0):
    n = X.shape[0]
    i, j = np.triu_indices(n, 1)
    d = X[i] - X[j]
    r = np.sqrt(np.sum(d * d, axis=1))
    return np.sum((1.0 - np.exp(-a * (r - r0))) ** 2)


def lower_weights(W):
    rows, cols = np.tril_indices(W.shape[0], -1, W.shape[1])
    return np.sum(np.sin(W[rows, cols]) * np.arange(rows.shape[0]))


@pytest.mark.parametrize("f, shape", [(pair_energy, (7, 3)), (lower_weights, (5, 4)), (lower_weights, (3, 6))],
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_triangle_indices_are_specialised(f, shape):
    X = np.random.default_rng(sum(shape)).normal(size=shape) * 2.0
    df = s2s.grad(f)
    np.testing.assert_allclose(df(X), fd_grad(f, (X,)), rtol=1e-6, atol=1e-8)
    text = s2s.source(df, X)
    assert "expand_reduced" not in text and "unbroadcast(" not in text and "unpack_count" not in text


class _Site:
    """What `_triangle_indices` asks of a call site: its int arguments."""

    def __init__(self, *args, **kw):
        self.nargs, self.keywords, self._args, self._kw = len(args), kw.keys(), args, kw

    def value(self, which):
        return self._args[which] if type(which) is int else self._kw[which]


@pytest.mark.parametrize("n", [0, 1, 2, 5])
@pytest.mark.parametrize("k", [-3, -1, 0, 1, 2, 6])
@pytest.mark.parametrize("m", [None, 0, 1, 4, 7])
def test_lengths_are_numpys(n, k, m):
    site = _Site(n, k) if m is None else _Site(n, k, m=m)
    for rule, numpy_function in ((result_shapes.upper_indices, np.triu_indices),
                                 (result_shapes.lower_indices, np.tril_indices)):
        count = len(numpy_function(n, k, m)[0])
        assert rule(site).items == ((count,), (count,))
