"""The programs of benchmarks/ordinary_losses.py (twelve programs of a stop-51 performance review: a layer norm,
attention, a Kalman filter, a Gaussian mixture, a spring chain, a log-barrier, ...) and of
benchmarks/ordinary_models.py (fourteen models of a stop-54 review: an ODE fitted through `p[k]` and `math.exp`,
explicit heat steps `u[1:-1] += ...`, a GP likelihood, Sinkhorn iterations, a Lennard-Jones double loop, ...) and of
benchmarks/ordinary_fits.py (fourteen programs of a stop-55 review: TD(lambda) returns, a piecewise-linear fit,
Lotka-Volterra RK4, a Cox likelihood, InfoNCE, a damped wave by leapfrog, a CRF, ...):
s2s's gradient and the hand-written one against central differences at small shapes, the arguments left as they
were (a folded product once added the gradient into a barrier's x)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import s2s

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import ordinary_fits  # noqa: E402
import ordinary_losses  # noqa: E402
import ordinary_models  # noqa: E402

PROGRAMS = [(module, *program) for module in (ordinary_losses, ordinary_models, ordinary_fits)
            for program in module.programs(small=True)]


@pytest.mark.parametrize("module, name, f, args, wrt", PROGRAMS,
                         ids=[f"{p[0].__name__}-{p[2].__name__}" for p in PROGRAMS])
def test_gradient_matches_differences(module, name, f, args, wrt):
    kept = [np.copy(a) for a in args]
    module.check(name, f, args, wrt, s2s.grad(f, wrt=wrt)(*args))
    for a, b in zip(args, kept):
        np.testing.assert_array_equal(a, b)
    module.check(name, f, args, wrt, module.HAND[f](*args))
