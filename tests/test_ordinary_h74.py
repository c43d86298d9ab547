"""Ordinary programs nobody wrote for s2s (benchmarks/ordinary_more.py), checked against central differences on
the specialised NumPy path, twice (the second call runs the hot code)."""

from __future__ import annotations

import numpy as np

import s2s
from tests.helpers_fd import fd_grad


def heat_for(kappa, u0, dx=0.1, dt=0.004):
    u = u0.copy()
    r = kappa * dt / dx ** 2
    for _ in range(20):
        un = u.copy()
        u[1:-1] = un[1:-1] + r * (un[2:] - 2 * un[1:-1] + un[:-2])
        u[0] = 0.0
        u[-1] = 0.0
    return np.sum(u ** 2) * dx


def test_slice_update_in_a_loop_specialises():
    # Shapes.__init__ once reused `names` (the ids of Name nodes) for the names a tuple target binds: the
    # adjoint's `u_bar, g = s2s.setitem_grads(...)` made it a set, and inference raised AttributeError
    u0 = np.sin(np.linspace(0, np.pi, 12))
    g = s2s.grad(heat_for, wrt=(0, 1))
    for _ in range(2):
        gk, gu = g(1.0, u0)
        assert np.allclose(gk, fd_grad(heat_for, (1.0, u0), 0), rtol=1e-5, atol=1e-7)
        assert np.allclose(gu, fd_grad(heat_for, (1.0, u0), 1), rtol=1e-5, atol=1e-7)
