"""np.trace over any two axes of an array of three or four axes, at offsets, against central differences
and autograd (`s2s.grad_trace` put g back along the wrong axis where the traced axes were not next to each
other: a silent wrong gradient where they had one length, NumPy's broadcast error where not)."""

import itertools

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s


def traced(T, W, offset, axis1, axis2):
    return np.sum(np.trace(T, offset, axis1, axis2) * W)


def traced_by_items(T, W, offset, axis1, axis2):
    """The trace as a sum of T's items along the diagonal, for autograd (its trace and diagonal rules take
    the last or first two axes only)."""
    a1, a2 = axis1 % T.ndim, axis2 % T.ndim
    total = 0.0
    for i in range(max(0, -offset), min(T.shape[a1], T.shape[a2] - offset)):
        index = [slice(None)] * T.ndim
        index[a1], index[a2] = i, i + offset
        total = total + T[tuple(index)]
    return anp.sum(total * W)


CASES = [(shape, offset, a1, a2) for shape in ((3, 3, 3), (2, 3, 4), (2, 3, 4, 5))
         for offset in (0, 1, -1) for a1, a2 in itertools.permutations(range(-1, len(shape)), 2)
         if a1 % len(shape) != a2 % len(shape)]


@pytest.mark.parametrize("shape, offset, axis1, axis2", CASES, ids=str)
def test_trace_over_any_axes(shape, offset, axis1, axis2):
    rng = np.random.default_rng(len(shape) * 100 + offset * 10 + axis1 + 7 * axis2)
    T = rng.normal(size=shape)
    W = rng.normal(size=np.trace(T, offset, axis1, axis2).shape)
    got = s2s.grad(traced)(T, W, offset, axis1, axis2)
    np.testing.assert_allclose(got, fd_grad(traced, (T, W, offset, axis1, axis2)), atol=1e-6)
    np.testing.assert_allclose(got, autograd.grad(traced_by_items)(T, W, offset, axis1, axis2), atol=1e-12)
