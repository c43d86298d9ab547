"""The programs of benchmarks/ordinary_review.py (fourteen programs of a stop-39 performance review: LSTM gate
slices, a GMM over a list, attention over heads, a secant `while`, a causal filter, an MLP over `zip`, ...):
s2s's gradient and the hand-written one against central differences, at small shapes."""

from __future__ import annotations

import os
import sys

import pytest

import s2s

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import ordinary_review  # noqa: E402

PROGRAMS = ordinary_review.programs(small=True)


@pytest.mark.parametrize("name, f, args, wrt", PROGRAMS, ids=[p[1].__name__ for p in PROGRAMS])
def test_gradient_matches_differences(name, f, args, wrt):
    ordinary_review.check(name, f, args, wrt, s2s.grad(f, wrt=wrt)(*args))
    ordinary_review.check(name, f, args, wrt, ordinary_review.HAND[f](*args))
