"""The programs of benchmarks/ordinary_losses.py (twelve programs of a stop-51 performance review: a layer norm,
attention, a Kalman filter, a Gaussian mixture, a spring chain, a log-barrier, ...): s2s's gradient and the
hand-written one against central differences at small shapes, the arguments left as they were (a folded
product once added the gradient into a barrier's x)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import s2s

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import ordinary_losses  # noqa: E402

PROGRAMS = ordinary_losses.programs(small=True)


@pytest.mark.parametrize("name, f, args, wrt", PROGRAMS, ids=[p[1].__name__ for p in PROGRAMS])
def test_gradient_matches_differences(name, f, args, wrt):
    kept = [np.copy(a) for a in args]
    ordinary_losses.check(name, f, args, wrt, s2s.grad(f, wrt=wrt)(*args))
    for a, b in zip(args, kept):
        np.testing.assert_array_equal(a, b)
    ordinary_losses.check(name, f, args, wrt, ordinary_losses.HAND[f](*args))
