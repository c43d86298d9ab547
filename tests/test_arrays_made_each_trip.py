"""An array made again on every trip of a loop and then updated by item or slice (a wave step's
`lap = np.zeros_like(u); lap[1:-1] = ...`), and an adjoint made again before slices are added into it: the
update is written in place where the statement before it that names the array made it (transforms/
item_updates.py `_made_just_before`), though the tape keeps earlier trips' arrays under the same name; the tape
entry of a value the backward loop binds again before reading it goes (transforms/tape.py
`_dead_trip_restores`). Gradients against the code without the NumPy path's rewrites and central differences."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import s2s
from tests.conftest import check_grad
from tests.plain_code import plain_gradient

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from ordinary_fits import wave_leapfrog as wave_steps  # noqa: E402  (a damped wave by leapfrog, `lap[1:-1] = ...`)


def jacobi_sweeps(a, u0):
    u = u0
    for _ in range(6):
        new = np.zeros_like(u)
        new[0] = u[0]
        new[-1] = u[-1]
        new[1:-1] = 0.5 * (u[2:] + u[:-2]) + a * u[1:-1]
        u = new
    return np.sum(u ** 2)


def made_then_aliased(a, u0):
    u = u0
    total = 0.0
    for _ in range(4):
        lap = np.zeros_like(u)
        keep = lap  # the alias sees the update in Python
        lap[1:-1] = a * u[1:-1]
        total = total + np.sum(keep * u)
        u = u + lap
    return total


R = np.random.default_rng(11)
U24 = np.exp(-((np.linspace(0, 1, 24) - 0.4) / 0.1) ** 2)
PROGRAMS = {
    "wave_steps": (wave_steps, (0.8, U24, np.roll(U24, 3)), (0, 1), "lap", ["lap[1:-1] = ", "u_bar[:-2] += "]),
    "jacobi_sweeps": (jacobi_sweeps, (0.2, R.normal(size=10)), (0, 1), "new", ["new[1:-1] = ", "new[0] = "]),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_arrays_made_each_trip_are_updated_in_place_and_right(name):
    f, args, wrt, made, in_place = PROGRAMS[name]
    g = s2s.grad(f, argnums=wrt)
    src = s2s.source(g, *args)
    for text in in_place:
        assert text in src, src
    assert (f"{made} = s2s.setitem({made}," in src) == (not in_place) and "getitem_grad" not in src, src
    got = g(*args)
    plain = plain_gradient(f, args, wrt)
    for a, b in zip(got, plain):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    check_grad(f, *args, wrt=wrt, ag=False)  # (autograd has no item assignment)


def test_a_value_bound_again_before_it_is_read_leaves_the_tape():
    """The wave step's `lap` was saved twice a trip (before it was made, before its slice was set) and given back
    twice, the first given back bound again at once: one save a trip is left, in the trip's record."""
    src = s2s.source(s2s.grad(wave_steps, argnums=(0, 1)), *PROGRAMS["wave_steps"][1])
    assert "stack" not in src and "saved.append((lap, " in src, src


def test_an_array_made_then_bound_to_another_name_is_refused():
    """`keep = lap` before `lap[1:-1] = ...`: Python's alias sees the update; s2s says it cannot follow it."""
    with pytest.raises(s2s.UnsupportedSyntaxError, match="another name is bound to `lap`"):
        s2s.grad(made_then_aliased)(0.3, R.normal(size=9))
