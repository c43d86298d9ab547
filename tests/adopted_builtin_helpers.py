"""Helpers that call builtins (`range`, `len`) their callers do not, for tests/test_adopted_builtins.py."""

import numpy as np


def scaled_by_count(P, t):
    return P * len(t)


def grown(P):
    for _ in range(3):
        P = P * 1.5
    return P


def conv_valid(x, w):
    out = np.zeros((x.shape[0] - w.shape[0] + 1, x.shape[1] - w.shape[1] + 1))
    for i in range(w.shape[0]):
        for j in range(w.shape[1]):
            out = out + w[i, j] * x[i:i + out.shape[0], j:j + out.shape[1]]
    return out
