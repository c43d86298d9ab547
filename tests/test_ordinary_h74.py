"""Ordinary programs nobody wrote for s2s (benchmarks/ordinary_more.py), checked against central differences on
the specialised NumPy path, twice (the second call runs the hot code)."""

from __future__ import annotations

import os
import sys

import numpy as np

import s2s
from tests.helpers_fd import fd_grad

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from ordinary_more import heat_explicit  # noqa: E402  (a while loop of u[1:-1] = f(un), un = u.copy())


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


def test_explicit_stepper_updates_its_copy_in_place():
    # `un = u.copy()` then `u[1:-1] = f(un)`: s2s.copy of a real array is real and fresh, reading u by
    # s2s.copy consumes it, and the adjoint's index slice(1, -1, None) selects each item once: the update and
    # its adjoint run in place (13x its primal before, copying u and u_bar at every step)
    u0 = np.sin(np.linspace(0, np.pi, 12))
    for f in (heat_for, heat_explicit):
        src = s2s.source(s2s.grad(f, wrt=(0, 1)), 1.0, u0)
        assert "s2s.setitem" not in src and "# s2s:" not in src, src
        g = s2s.grad(f, wrt=(0, 1))
        for _ in range(2):
            gk, gu = g(1.0, u0)
            assert np.allclose(gk, fd_grad(f, (1.0, u0), 0), rtol=1e-5, atol=1e-7)
            assert np.allclose(gu, fd_grad(f, (1.0, u0), 1), rtol=1e-5, atol=1e-7)


def snapshots(a, x):
    y = x.copy()
    s = 0.0
    for i in range(1, x.shape[0]):
        prev = y.copy()  # read after the update: must keep the values before it
        y[i] = a * y[i - 1] + x[i]
        s = s + np.sum(prev * y) + prev[i] * y[i]
    return s


def test_snapshot_copy_read_after_the_update():
    x = np.linspace(0.1, 1.0, 7)
    for wrt in (0, 1):
        g = s2s.grad(snapshots, wrt=wrt)
        for _ in range(2):
            assert np.allclose(g(0.5, x), fd_grad(snapshots, (0.5, x), wrt), rtol=1e-5, atol=1e-7)


def exp_fit(theta, t, y):
    a, b, c = theta
    r = a * np.exp(-b * t) + c - y
    return 0.5 * np.linalg.norm(r) ** 2 + 0.1 * np.linalg.norm(theta)


def test_norm_adjoint_is_real_and_items_add_in_place():
    # the norm's adjoint divides by (norm if norm != 0 else 1): a choice of a real and an int is real when
    # divided into, so theta's adjoint is a real array and a, b, c's adjoints add into it in place
    args = (np.array([1.0, 0.5, 0.1]), np.linspace(0, 4, 20), np.cos(np.arange(20.0)))
    src = s2s.source(s2s.grad(exp_fit), *args)
    assert "getitem_grad" not in src and "theta_bar[0] += " in src, src
    g = s2s.grad(exp_fit)
    for _ in range(2):
        assert np.allclose(g(*args), fd_grad(exp_fit, args, 0), rtol=1e-5, atol=1e-7)


def lse(a, axis=None):
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def hmm_forward(log_T, log_pi, log_E, obs):
    # (the caller itself never names np: the helper's np is the generated code's)
    log_T = log_T - lse(log_T, axis=1)[:, None]
    alpha = log_pi - lse(log_pi) + log_E[:, obs[0]]
    for t in range(1, len(obs)):
        alpha = lse(alpha[:, None] + log_T, axis=0) + log_E[:, obs[t]]
    return -lse(alpha)


def test_helper_using_np_is_adopted_by_a_caller_that_never_names_np_and_squeeze_adjoint_is_known():
    r = np.random.default_rng(3)
    args = (r.normal(size=(3, 3)), r.normal(size=3), r.normal(size=(3, 2)), np.array([0, 1, 1, 0, 1, 0, 0]))
    src = s2s.source(s2s.grad(hmm_forward, wrt=(0, 1, 2)), *args)
    assert "lse_vjp" not in src and "pullback" not in src and "np.reshape(" in src, src  # (a squeeze's adjoint)
    g = s2s.grad(hmm_forward, wrt=(0, 1, 2))
    for _ in range(2):
        got = g(*args)
        for k in range(3):
            assert np.allclose(got[k], fd_grad(hmm_forward, args, k), rtol=1e-5, atol=1e-7)
