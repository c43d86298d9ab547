"""Two gradients the generated code gives back as one array (`y = 1.0 * a; ... y + b`: a's and b's adjoints are one
array; a sum over axis 0 computed once for two arguments) are two arrays under `compile=True` too: numba boxed the
one buffer twice, as two objects, which the caller's copy of repeated objects did not see, so changing one gradient
changed the other (helper 165)."""

import numpy as np
import pytest
from helpers_fd import compiled_matches

import s2s


def one_adjoint_twice(a, b):
    y = 1.0 * a
    return np.sum(np.tanh(y + b))


def one_sum_twice(x, mu, c, d):
    z = x[:, None] - mu + c + d
    return np.sum(np.exp(-0.5 * z ** 2))


@pytest.mark.parametrize("f, args, wrt", [
    (one_adjoint_twice, (np.arange(4.0) / 5, np.arange(4.0) / 7), (0, 1)),
    (one_sum_twice, (np.linspace(-1, 1, 6), np.array([0.2, -0.3, 0.5]), np.array([0.1, 0.0, -0.1]),
                     np.array([0.05, 0.02, 0.0])), (2, 3)),
], ids=["one_adjoint_twice", "one_sum_twice"])
def test_compiled_gradients_are_distinct_arrays(f, args, wrt):
    first, second = compiled_matches(f, args, wrt=wrt)
    assert not np.shares_memory(first, second)
    kept = second.copy()
    first += 100.0
    np.testing.assert_array_equal(second, kept)
    numpy_first, numpy_second = s2s.grad(f, wrt=wrt)(*args)
    assert not np.shares_memory(numpy_first, numpy_second)
