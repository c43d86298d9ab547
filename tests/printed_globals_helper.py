"""A helper reading globals of its own module whose names the caller's module uses for other values, for
tests/test_printed_globals.py."""

import numpy as np

X = np.ones(3) * 2.0
M = 2


def helper(v):
    return np.sum(X * v) + v[M] ** 2
