"""The programs of benchmarks/ordinary_kinds.py (RNNs with local state, integrators with tuple assignment,
`.shape` reads, float32 arguments, ReLU nets with a max-shifted log-sum-exp, loops over rows, scalar loops):
s2s's gradient and the hand-written one against central differences, at small shapes, float32 gradients
float32."""

from __future__ import annotations

import os
import sys

import pytest

import s2s

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import ordinary_kinds  # noqa: E402

PROGRAMS = ordinary_kinds.programs(small=True)


@pytest.mark.parametrize("name, f, args, wrt", PROGRAMS, ids=[p[1].__name__ for p in PROGRAMS])
def test_gradient_matches_differences(name, f, args, wrt):
    ordinary_kinds.check(name, f, args, wrt, s2s.grad(f, wrt=wrt)(*args))
    ordinary_kinds.check(name, f, args, wrt, ordinary_kinds.HAND[f](*args))
