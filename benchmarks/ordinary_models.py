"""Fourteen ordinary numerical models (written for a stop-54 performance review by a helper acting as an outside
user, helper 170), each with a
hand-written NumPy gradient (the adjoint of the same loop where the primal is a loop): an MLP with a stable
softplus and weight decay, Huber linear regression by np.where, a scalar ODE by Heun's RK2 reading parameters
from an array (math.exp), 1-d heat stepping with `u[1:-1] += a * (...)`, a GP marginal likelihood through
np.linalg.cholesky/solve, softmax regression picking `P[np.arange(n), y]`, a logistic-growth fit under a
`while`, a cumulative-sum CDF loss, a tanh RNN with `h = np.zeros(H)` and a linear readout, a Rosenbrock chain
over `enumerate(x[:-1])`, a Lennard-Jones double loop over i < j, an isotropic TV denoising objective with
np.diff, a polynomial-kernel ridge objective, an entropic OT cost by Sinkhorn iterations.

programs() has ordinary.py's format (name, f, args, wrt); HAND maps each function to its hand-written gradient.

Run: .venv/bin/python benchmarks/ordinary_models.py [--small] [--rounds 9] [--only NAME] [--no-compile]
(`--small`: 24 points, else 512)
"""

from __future__ import annotations

import math
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ordinary  # noqa: E402


def _sigmoid(z):
    return 0.5 + 0.5 * np.tanh(0.5 * z)


# 1. MLP, stable softplus, weight decay -------------------------------------------------------
def _softplus(z):
    return np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0.0)


def mlp_wd(W1, b1, w2, b2, X, y, lam=1e-3):
    H = _softplus(X @ W1 + b1)
    pred = H @ w2 + b2
    err = pred - y
    return np.mean(err ** 2) + lam * (np.sum(W1 ** 2) + np.dot(w2, w2))


def mlp_wd_hand(W1, b1, w2, b2, X, y, lam=1e-3):
    Z = X @ W1 + b1
    H = _softplus(Z)
    g = (2.0 / X.shape[0]) * (H @ w2 + b2 - y)
    gZ = np.outer(g, w2) * _sigmoid(Z)
    return X.T @ gZ + (2.0 * lam) * W1, gZ.sum(0), H.T @ g + (2.0 * lam) * w2, g.sum()


def mlp_wd_args(n, rng):
    d, h = (4, 8) if n < 100 else (16, 32)
    return (rng.normal(size=(d, h)) * 0.4, rng.normal(size=h) * 0.1, rng.normal(size=h) * 0.3, 0.1,
            rng.normal(size=(n, d)), rng.normal(size=n))


# 2. Huber linear regression via np.where ----------------------------------------------------
def huber_reg(w, b, X, y, delta=1.0):
    r = X @ w + b - y
    a = np.abs(r)
    loss = np.where(a <= delta, 0.5 * r ** 2, delta * (a - 0.5 * delta))
    return loss.mean()


def huber_reg_hand(w, b, X, y, delta=1.0):
    g = np.clip(X @ w + b - y, -delta, delta) / X.shape[0]
    return g @ X, g.sum()


def huber_reg_args(n, rng):
    d = 5 if n < 100 else 20
    X = rng.normal(size=(n, d))
    return rng.normal(size=d) * 0.3, 0.2, X, X @ rng.normal(size=d) * 0.3 + rng.standard_t(2, size=n)


# 3. scalar ODE, Heun's RK2, parameters read from an array ----------------------------------
def _rhs(y, t, p):
    return -p[0] * y + p[1] * math.exp(-p[2] * t)


def ode_rk2(p, y0, obs, dt=0.02):
    y = y0
    t = 0.0
    loss = 0.0
    for k in range(obs.shape[0]):
        k1 = _rhs(y, t, p)
        k2 = _rhs(y + dt * k1, t + dt, p)
        y = y + 0.5 * dt * (k1 + k2)
        t = t + dt
        loss += (y - obs[k]) ** 2
    return loss


def ode_rk2_hand(p, y0, obs, dt=0.02):
    a, b, c = p.tolist()
    T = obs.shape[0]
    ol = obs.tolist()
    ys, ts = [0.0] * T, [0.0] * T
    y, t = float(y0), 0.0
    for k in range(T):
        ys[k], ts[k] = y, t
        k1 = -a * y + b * math.exp(-c * t)
        k2 = -a * (y + dt * k1) + b * math.exp(-c * (t + dt))
        y = y + 0.5 * dt * (k1 + k2)
        t = t + dt
    ga = gb = gc = 0.0
    gy = 0.0
    for k in range(T - 1, -1, -1):
        y, t = ys[k], ts[k]
        e1, e2 = math.exp(-c * t), math.exp(-c * (t + dt))
        k1 = -a * y + b * e1
        ym = y + dt * k1
        ynew = y + 0.5 * dt * (k1 + (-a * ym + b * e2))
        gy += 2.0 * (ynew - ol[k])
        gk1 = gk2 = 0.5 * dt * gy
        # k2 = -a ym + b e2
        gym = -a * gk2
        ga -= gk2 * ym
        gb += gk2 * e2
        gc -= gk2 * b * (t + dt) * e2
        # ym = y + dt k1
        gk1 += dt * gym
        gy += gym
        # k1 = -a y + b e1
        gy -= a * gk1
        ga -= gk1 * y
        gb += gk1 * e1
        gc -= gk1 * b * t * e1
    return np.array([ga, gb, gc]), gy


def ode_rk2_args(n, rng):
    t = 0.02 * np.arange(1, n + 1)
    truth = np.exp(-0.8 * t) + 0.5 * (np.exp(-0.3 * t) - np.exp(-0.8 * t)) / 0.5
    return np.array([0.7, 0.6, 0.35]), 1.1, truth + 0.01 * rng.normal(size=n)


# 4. 1-d heat equation, explicit steps, u[1:-1] += ... ---------------------------------------
def heat_rod(a, u0, target, steps=25):
    u = u0.copy()
    for _ in range(steps):
        u[1:-1] += a * (u[2:] - 2.0 * u[1:-1] + u[:-2])
    return np.sum((u - target) ** 2)


def heat_rod_hand(a, u0, target, steps=25):
    us = [u0]
    u = u0
    for _ in range(steps):
        v = u.copy()
        v[1:-1] += a * (u[2:] - 2.0 * u[1:-1] + u[:-2])
        us.append(v)
        u = v
    gu = 2.0 * (u - target)
    ga = 0.0
    for s in range(steps - 1, -1, -1):
        u = us[s]
        gi = gu[1:-1].copy()
        ga += gi @ (u[2:] - 2.0 * u[1:-1] + u[:-2])
        gu[1:-1] -= (2.0 * a) * gi
        gu[2:] += a * gi
        gu[:-2] += a * gi
    return ga, gu


def heat_rod_args(n, rng):
    x = np.linspace(0.0, 1.0, n)
    return 0.2, np.sin(np.pi * x) + 0.1 * rng.normal(size=n), 0.8 * np.sin(np.pi * x)


# 5. GP marginal likelihood, Cholesky -------------------------------------------------------
def _sqdist(x):
    return (x[:, None] - x[None, :]) ** 2


def gp_chol(theta, x, y):
    ell, sf, sn = np.exp(theta)
    n = x.shape[0]
    K = sf ** 2 * np.exp(-0.5 * _sqdist(x) / ell ** 2) + sn ** 2 * np.eye(n)
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(L))) + 0.5 * n * np.log(2 * np.pi)


def gp_chol_hand(theta, x, y):
    ell, sf, sn = np.exp(theta)
    n = x.shape[0]
    D = _sqdist(x)
    Kf = sf ** 2 * np.exp(-0.5 * D / ell ** 2)
    K = Kf + sn ** 2 * np.eye(n)
    L = np.linalg.cholesky(K)
    Li = np.linalg.solve(L, np.eye(n))
    Kinv = Li.T @ Li
    alpha = Kinv @ y
    W = Kinv - np.outer(alpha, alpha)
    return 0.5 * np.array([np.sum(W * Kf * D) / ell ** 2, 2.0 * np.sum(W * Kf), 2.0 * sn ** 2 * np.trace(W)])


def gp_chol_args(n, rng):
    n = min(n, 256)
    x = np.sort(rng.uniform(0.0, 10.0, size=n))
    return np.log(np.array([1.2, 0.9, 0.3])), x, np.sin(x) + 0.3 * rng.normal(size=n)


# 6. softmax regression, P[np.arange(n), y] -------------------------------------------------
def softmax_reg(W, b, X, y):
    n = X.shape[0]
    Z = X @ W + b
    Z -= Z.max(axis=1, keepdims=True)
    P = np.exp(Z)
    P /= P.sum(axis=1, keepdims=True)
    return -np.mean(np.log(P[np.arange(n), y]))


def softmax_reg_hand(W, b, X, y):
    n = X.shape[0]
    Z = X @ W + b
    Z -= Z.max(axis=1, keepdims=True)
    G = np.exp(Z)
    G /= G.sum(axis=1, keepdims=True)
    G[np.arange(n), y] -= 1.0
    G /= n
    return X.T @ G, G.sum(0)


def softmax_reg_args(n, rng):
    d, k = (4, 3) if n < 100 else (20, 10)
    return rng.normal(size=(d, k)) * 0.3, np.zeros(k), rng.normal(size=(n, d)), rng.integers(0, k, size=n)


# 7. logistic growth, a while loop ------------------------------------------------------------
def logistic_growth(p, obs, dt=0.05):
    r, K = p[0], p[1]
    N = p[2]
    loss = 0.0
    k = 0
    while k < len(obs):
        N += dt * r * N * (1.0 - N / K)
        loss += (N - obs[k]) ** 2
        k += 1
    return loss / len(obs)


def logistic_growth_hand(p, obs, dt=0.05):
    r, K, N = p.tolist()
    T = len(obs)
    ol = obs.tolist()
    Ns = [0.0] * T
    for k in range(T):
        Ns[k] = N
        N = N + dt * r * N * (1.0 - N / K)
    gr = gK = 0.0
    gN = 0.0
    for k in range(T - 1, -1, -1):
        N = Ns[k]
        Nn = N + dt * r * N * (1.0 - N / K)
        gN += 2.0 * (Nn - ol[k]) / T
        gr += gN * dt * N * (1.0 - N / K)
        gK += gN * dt * r * N * N / (K * K)
        gN *= 1.0 + dt * r * (1.0 - 2.0 * N / K)
    return np.array([gr, gK, gN])


def logistic_growth_args(n, rng):
    t = 0.05 * np.arange(1, n + 1)
    true = 10.0 / (1.0 + 9.0 * np.exp(-0.5 * t))
    return np.array([0.45, 9.0, 1.2]), true * (1.0 + 0.05 * rng.normal(size=n))


# 8. cumulative-sum CDF loss over a batch of histograms ----------------------------------------
def cdf_loss(W, target_cdf):
    P = np.exp(W - W.max(axis=1, keepdims=True))
    P = P / P.sum(axis=1, keepdims=True)
    cdf = np.cumsum(P, axis=1)
    return np.sum((cdf - target_cdf) ** 2)


def cdf_loss_hand(W, target_cdf):
    P = np.exp(W - W.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    g = 2.0 * (np.cumsum(P, axis=1) - target_cdf)
    gP = np.cumsum(g[:, ::-1], axis=1)[:, ::-1]
    return P * (gP - np.einsum('ij,ij->i', P, gP)[:, None])


def cdf_loss_args(n, rng):
    x = np.linspace(-3, 3, n)
    target = 0.5 * (1.0 + np.tanh(x))
    return rng.normal(size=(8, n)) * 0.5, target


# 9. tanh RNN, h = np.zeros(H), linear readout -----------------------------------------------
def rnn_readout(Wx, Wh, v, xs, target):
    H = Wh.shape[0]
    h = np.zeros(H)
    for x in xs:
        h = np.tanh(np.dot(Wx, x) + np.dot(Wh, h))
    out = v @ h
    return (out - target) ** 2


def rnn_readout_hand(Wx, Wh, v, xs, target):
    hs = [np.zeros(Wh.shape[0])]
    for x in xs:
        hs.append(np.tanh(Wx @ x + Wh @ hs[-1]))
    e = 2.0 * (v @ hs[-1] - target)
    gv = e * hs[-1]
    gh = e * v
    gWx, gWh = np.zeros_like(Wx), np.zeros_like(Wh)
    for t in range(xs.shape[0] - 1, -1, -1):
        ga = gh * (1.0 - hs[t + 1] ** 2)
        gWx += np.outer(ga, xs[t])
        gWh += np.outer(ga, hs[t])
        gh = Wh.T @ ga
    return gWx, gWh, gv


def rnn_readout_args(n, rng):
    H, d, T = (6, 3, 8) if n < 100 else (16, 4, 64)
    return (rng.normal(size=(H, d)) * 0.4, rng.normal(size=(H, H)) * 0.25, rng.normal(size=H),
            rng.normal(size=(T, d)), 0.3)


# 10. Rosenbrock chain, for i, xi in enumerate(x[:-1]) ----------------------------------------
def rosen_chain(x):
    s = 0.0
    for i, xi in enumerate(x[:-1]):
        s += 100.0 * (x[i + 1] - xi ** 2) ** 2 + (1.0 - xi) ** 2
    return s


def rosen_chain_hand(x):
    xl = x.tolist()
    g = [0.0] * len(xl)
    for i in range(len(xl) - 1):
        d = xl[i + 1] - xl[i] ** 2
        g[i + 1] += 200.0 * d
        g[i] += -400.0 * d * xl[i] - 2.0 * (1.0 - xl[i])
    return np.array(g)


def rosen_chain_args(n, rng):
    return (rng.uniform(-1.0, 1.5, size=n),)


# 11. Lennard-Jones energy, double loop over i < j -------------------------------------------
def lj_pairs(P, eps=1.0, sigma=1.0):
    n = P.shape[0]
    E = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            d = P[i] - P[j]
            r2 = np.dot(d, d)
            s6 = (sigma * sigma / r2) ** 3
            E += 4.0 * eps * (s6 * s6 - s6)
    return E


def lj_pairs_hand(P, eps=1.0, sigma=1.0):
    n = P.shape[0]
    g = np.zeros_like(P)
    for i in range(n):
        for j in range(i + 1, n):
            d = P[i] - P[j]
            r2 = np.dot(d, d)
            s6 = (sigma * sigma / r2) ** 3
            f = 2.0 * 4.0 * eps * (2.0 * s6 * s6 - s6) * (-3.0 / r2)
            g[i] += f * d
            g[j] -= f * d
    return g


def lj_pairs_args(n, rng):
    m = 8 if n < 100 else 24
    grid = np.array([(i, j, k) for i in range(3) for j in range(3) for k in range(3)], dtype=float)[:m]
    return (1.12 * grid + 0.05 * rng.normal(size=(m, 3)),)


# 12. isotropic total-variation denoising, np.diff ------------------------------------------
def tv_denoise(u, f, lam=0.1, eps=1e-3):
    dx = np.diff(u, axis=1)[:-1, :]
    dy = np.diff(u, axis=0)[:, :-1]
    return 0.5 * np.sum((u - f) ** 2) + lam * np.sum(np.sqrt(eps + dx ** 2 + dy ** 2))


def tv_denoise_hand(u, f, lam=0.1, eps=1e-3):
    dx = u[:-1, 1:] - u[:-1, :-1]
    dy = u[1:, :-1] - u[:-1, :-1]
    s = lam / np.sqrt(eps + dx * dx + dy * dy)
    gx, gy = s * dx, s * dy
    g = u - f
    g[:-1, 1:] += gx
    g[1:, :-1] += gy
    g[:-1, :-1] -= gx + gy
    return g


def tv_denoise_args(n, rng):
    m = 8 if n < 100 else 64
    clean = np.zeros((m, m))
    clean[m // 4: 3 * m // 4, m // 4: 3 * m // 4] = 1.0
    f = clean + 0.1 * rng.normal(size=(m, m))
    return f + 0.05 * rng.normal(size=(m, m)), f


# 13. polynomial kernel ridge objective -----------------------------------------------------
def kernel_ridge(alpha, X, c, y, lam=0.1, degree=3):
    K = (X @ X.T + c) ** degree
    r = K @ alpha - y
    return 0.5 * r @ r + 0.5 * lam * alpha @ (K @ alpha)


def kernel_ridge_hand(alpha, X, c, y, lam=0.1, degree=3):
    G = X @ X.T + c
    Gd1 = G ** (degree - 1)
    K = Gd1 * G
    Ka = K @ alpha
    r = Ka - y
    D = degree * Gd1
    Da = D @ alpha
    return K @ r + lam * Ka, r @ Da + 0.5 * lam * (alpha @ Da)


def kernel_ridge_args(n, rng):
    d = 3 if n < 100 else 8
    X = rng.normal(size=(n, d)) / np.sqrt(d)
    return rng.normal(size=n) * 0.05, X, 1.0, np.sin(X.sum(1))


# 14. entropic optimal transport cost, Sinkhorn iterations ----------------------------------
def sinkhorn_cost(x, y, a, b, eps=0.5, iters=10):
    C = (x[:, None] - y[None, :]) ** 2
    K = np.exp(-C / eps)
    v = np.ones_like(b)
    for _ in range(iters):
        u = a / (K @ v)
        v = b / (K.T @ u)
    P = u[:, None] * K * v[None, :]
    return np.sum(P * C)


def sinkhorn_cost_hand(x, y, a, b, eps=0.5, iters=10):
    D = x[:, None] - y[None, :]
    C = D * D
    K = np.exp(-C / eps)
    vs, us, ss, ts = [np.ones_like(b)], [], [], []
    for _ in range(iters):
        s = K @ vs[-1]
        u = a / s
        t = K.T @ u
        ss.append(s)
        us.append(u)
        ts.append(t)
        vs.append(b / t)
    u, v = us[-1], vs[-1]
    KC = K * C
    gK = np.outer(u, v) * C
    gC = np.outer(u, v) * K
    gu = KC @ v
    gv = KC.T @ u
    for k in range(iters - 1, -1, -1):
        gt = -gv * vs[k + 1] / ts[k]
        gu += K @ gt
        gK += np.outer(us[k], gt)
        gs = -gu * us[k] / ss[k]
        gv = K.T @ gs
        gK += np.outer(gs, vs[k])
        gu = np.zeros_like(gu)
    gC -= gK * K / eps
    return 2.0 * np.sum(gC * D, axis=1)


def sinkhorn_cost_args(n, rng):
    m = n // 2
    return (rng.uniform(0.0, 3.0, size=n), rng.uniform(0.0, 3.0, size=m), np.full(n, 1.0 / n), np.full(m, 1.0 / m))


_MADE = {
    "MLP, stable softplus, weight decay": (mlp_wd, (0, 1, 2, 3), mlp_wd_hand, mlp_wd_args),
    "Huber linear regression, np.where": (huber_reg, (0, 1), huber_reg_hand, huber_reg_args),
    "scalar ODE, Heun RK2, p[k], math.exp": (ode_rk2, (0, 1), ode_rk2_hand, ode_rk2_args),
    "1-d heat, u[1:-1] += a * (...), 25 steps": (heat_rod, (0, 1), heat_rod_hand, heat_rod_args),
    "GP marginal likelihood, cholesky/solve": (gp_chol, 0, gp_chol_hand, gp_chol_args),
    "softmax regression, P[np.arange(n), y]": (softmax_reg, (0, 1), softmax_reg_hand, softmax_reg_args),
    "logistic growth fit, while loop, +=": (logistic_growth, 0, logistic_growth_hand, logistic_growth_args),
    "CDF loss, np.cumsum over a batch": (cdf_loss, 0, cdf_loss_hand, cdf_loss_args),
    "tanh RNN, h = np.zeros(H), readout": (rnn_readout, (0, 1, 2), rnn_readout_hand, rnn_readout_args),
    "Rosenbrock chain, enumerate(x[:-1])": (rosen_chain, 0, rosen_chain_hand, rosen_chain_args),
    "Lennard-Jones, double loop i < j": (lj_pairs, 0, lj_pairs_hand, lj_pairs_args),
    "TV denoising 2-d, np.diff, sqrt(eps + ..)": (tv_denoise, 0, tv_denoise_hand, tv_denoise_args),
    "polynomial kernel ridge, (XX^T + c)**3": (kernel_ridge, (0, 2), kernel_ridge_hand, kernel_ridge_args),
    "Sinkhorn OT cost, 10 iterations": (sinkhorn_cost, 0, sinkhorn_cost_hand, sinkhorn_cost_args),
}
HAND = {f: hand for f, _, hand, _ in _MADE.values()}
_TOL = {  # name -> (rtol, atol, eps) for the central-difference check
    "GP marginal likelihood, cholesky/solve": (1e-5, 1e-5, 1e-5),
    "Lennard-Jones, double loop i < j": (1e-4, 1e-5, 1e-6),
    "Rosenbrock chain, enumerate(x[:-1])": (1e-5, 5e-5, 1e-6),  # (differences of a 1e4 sum: 1e-5 of noise)
    "polynomial kernel ridge, (XX^T + c)**3": (1e-5, 1e-5, 1e-6),
}


def programs(small=False):
    """(name, f, args, wrt) of every program, with fixed data (`small`: 24 points, else 512)."""
    n = 24 if small else 512
    return [(name, f, make(n, np.random.default_rng(2027)), wrt) for name, (f, wrt, _, make) in _MADE.items()]


check = ordinary.differences_check(_TOL)


if __name__ == "__main__":
    ordinary.main_of_kinds(programs, HAND, check, sys.argv[1:])
