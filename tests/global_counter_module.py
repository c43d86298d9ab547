"""A module of its own with a counter its helper declares global (tests/test_global_statements.py): the helper's
global is this module's, whoever calls it."""

import numpy as np

CALLS = 0


def counted_square_sum(v):
    global CALLS
    CALLS += 1
    return np.sum(v * v)
