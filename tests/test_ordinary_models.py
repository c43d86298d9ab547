"""The programs of benchmarks/ordinary_models.py (fourteen models of a stop-54 performance review: an ODE fitted
through `p[k]` and `math.exp`, explicit heat steps `u[1:-1] += ...`, a GP likelihood, Sinkhorn iterations, a
Lennard-Jones double loop, ...): s2s's gradient and the hand-written one against central differences at small
shapes, the arguments left as they were."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import s2s

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import ordinary_models  # noqa: E402

PROGRAMS = ordinary_models.programs(small=True)


@pytest.mark.parametrize("name, f, args, wrt", PROGRAMS, ids=[p[1].__name__ for p in PROGRAMS])
def test_gradient_matches_differences(name, f, args, wrt):
    kept = [np.copy(a) for a in args]
    ordinary_models.check(name, f, args, wrt, s2s.grad(f, wrt=wrt)(*args))
    for a, b in zip(args, kept):
        np.testing.assert_array_equal(a, b)
    ordinary_models.check(name, f, args, wrt, ordinary_models.HAND[f](*args))
