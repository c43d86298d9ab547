"""Tuple unpacking as the lowering writes it (`a = t[0]; b = t[1]`), against what Python does."""

from __future__ import annotations

import numpy as np

import s2s


def unpack_into_itself(x):
    x, y = x  # Python takes both rows of the x it had before
    return np.sum(x * y)


def test_unpacking_a_name_into_itself_reads_the_value_before():
    # lowered as `x = x[0]; y = x[1]`, y was an item of the first row: a wrong value and gradient, silently
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    value, g = s2s.value_and_grad(unpack_into_itself)(X)
    assert value == unpack_into_itself(X) == 11.0
    assert np.allclose(g, [[3.0, 4.0], [1.0, 2.0]])
    assert np.allclose(s2s.jvp(unpack_into_itself, (X,), (np.ones((2, 2)),))[1], 10.0)
