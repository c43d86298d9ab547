"""Fourteen ordinary numerical programs (written for a stop-55 performance review by a helper acting as an outside
user, helper 174), each with a hand-written NumPy gradient (the adjoint of the same loop where the primal is a
loop): Student-t regression NLL, multi-quantile pinball loss by np.where, TD(lambda) returns by a reversed Python
loop writing G[t], a periodic 2-d mass-spring lattice by np.roll, a piecewise-linear interpolation fit by index
arithmetic, Lotka-Volterra RK4 with a tuple state and p[0]..p[3], a zero-inflated Poisson GLM (np.where,
logaddexp), a Cox partial likelihood by a reversed cumsum, a factorization machine, matrix factorisation by
gathers U[rows] * V[cols], an InfoNCE contrastive loss with row normalisation, a 3x3 convolution by a loop over
taps with slices and a ReLU, a damped 1-d wave equation by leapfrog steps with `lap[1:-1] = ...`, a linear-chain
CRF negative log likelihood (forward algorithm with a max-shifted logsumexp, gold path by fancy indexing).

programs() has ordinary.py's format (name, f, args, wrt); HAND maps each function to its hand-written gradient.

Run: .venv/bin/python benchmarks/ordinary_fits.py [--small] [--rounds 9] [--only NAME] [--no-compile]
(`--small`: 24 points, else 512)
"""

from __future__ import annotations

import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ordinary  # noqa: E402


def _sigmoid(z):
    return 0.5 + 0.5 * np.tanh(0.5 * z)


# 1. Student-t regression, negative log likelihood (location w, log-scale) ---------------------
def studentt_reg(w, log_s, X, y, nu=4.0):
    r = y - X @ w
    s = np.exp(log_s)
    return np.sum(0.5 * (nu + 1.0) * np.log1p(r ** 2 / (nu * s ** 2))) + X.shape[0] * log_s


def studentt_reg_hand(w, log_s, X, y, nu=4.0):
    r = y - X @ w
    q = r * r + nu * np.exp(2.0 * log_s)
    return -((nu + 1.0) * (r / q)) @ X, X.shape[0] - (nu + 1.0) * np.sum(r * r / q)


def studentt_reg_args(n, rng):
    d = 5 if n < 100 else 20
    X = rng.normal(size=(n, d))
    return rng.normal(size=d) * 0.3, -0.2, X, X @ rng.normal(size=d) * 0.3 + rng.standard_t(3, size=n)


# 2. multi-quantile (pinball) regression, np.where ---------------------------------------------
def pinball(W, b, X, y, taus):
    r = y[:, None] - (X @ W + b)
    return np.mean(np.where(r >= 0, taus * r, (taus - 1.0) * r))


def pinball_hand(W, b, X, y, taus):
    r = y[:, None] - (X @ W + b)
    G = (taus - (r < 0)) * (-1.0 / r.size)
    return X.T @ G, G.sum(0)


def pinball_args(n, rng):
    d = 4 if n < 100 else 16
    taus = np.array([0.1, 0.25, 0.5, 0.75, 0.9])
    X = rng.normal(size=(n, d))
    return (rng.normal(size=(d, 5)) * 0.3, np.linspace(-1, 1, 5), X, X @ rng.normal(size=d) + rng.normal(size=n),
            taus)


# 3. TD(lambda) returns, reversed Python loop writing G[t] --------------------------------------
def td_lambda(w, F, r, gamma=0.95, lam=0.8):
    T = r.shape[0]
    V = F @ w
    G = np.zeros(T)
    g = V[T]
    for t in reversed(range(T)):
        g = r[t] + gamma * ((1.0 - lam) * V[t + 1] + lam * g)
        G[t] = g
    return 0.5 * np.sum((G - V[:T]) ** 2)


def td_lambda_hand(w, F, r, gamma=0.95, lam=0.8):
    T = r.shape[0]
    V = F @ w
    Vl, rl = V.tolist(), r.tolist()
    G = [0.0] * T
    g = Vl[T]
    for t in range(T - 1, -1, -1):
        g = rl[t] + gamma * ((1.0 - lam) * Vl[t + 1] + lam * g)
        G[t] = g
    e = np.array(G) - V[:T]
    el = e.tolist()
    gV = [0.0] * (T + 1)
    c1, c2 = gamma * (1.0 - lam), gamma * lam
    gg = 0.0
    for t in range(T):
        gg += el[t]
        gV[t + 1] += c1 * gg
        gg *= c2
    gV[T] += gg
    gVa = np.array(gV)
    gVa[:T] -= e
    return gVa @ F


def td_lambda_args(n, rng):
    d = 6 if n < 100 else 16
    return rng.normal(size=d) * 0.3, rng.normal(size=(n + 1, d)), rng.normal(size=n)


# 4. periodic 2-d mass-spring lattice (displacements), np.roll ---------------------------------
def spring_lattice(U, k=1.0):
    E = 0.0
    for ax in (0, 1):
        D = np.roll(U, -1, axis=ax) - U
        D[..., ax] += 1.0
        L = np.sqrt(np.sum(D ** 2, axis=-1))
        E = E + 0.5 * k * np.sum((L - 1.0) ** 2)
    return E


def spring_lattice_hand(U, k=1.0):
    g = np.zeros_like(U)
    for ax in (0, 1):
        D = np.roll(U, -1, axis=ax) - U
        D[..., ax] += 1.0
        L = np.sqrt(np.sum(D * D, axis=-1))
        Fd = (k * (1.0 - 1.0 / L))[..., None] * D
        g += np.roll(Fd, 1, axis=ax) - Fd
    return g


def spring_lattice_args(n, rng):
    m = int(np.sqrt(n))
    return (0.1 * rng.normal(size=(m, m, 2)),)


# 5. piecewise-linear interpolation fit, index arithmetic --------------------------------------
def pl_interp(v, x, y, lam=1e-2):
    K = v.shape[0]
    s = x * (K - 1)
    i = np.minimum(s.astype(int), K - 2)
    f = s - i
    pred = (1.0 - f) * v[i] + f * v[i + 1]
    return np.mean((pred - y) ** 2) + lam * np.sum(np.diff(v, 2) ** 2)


def pl_interp_hand(v, x, y, lam=1e-2):
    K = v.shape[0]
    s = x * (K - 1)
    i = np.minimum(s.astype(int), K - 2)
    f = s - i
    e = (2.0 / x.shape[0]) * ((1.0 - f) * v[i] + f * v[i + 1] - y)
    fe = f * e
    g = np.bincount(i, e - fe, minlength=K) + np.bincount(i + 1, fe, minlength=K)
    d2 = (2.0 * lam) * (v[2:] - 2.0 * v[1:-1] + v[:-2])
    g[2:] += d2
    g[1:-1] -= 2.0 * d2
    g[:-2] += d2
    return g


def pl_interp_args(n, rng):
    K = 8 if n < 100 else 32
    x = rng.uniform(0.0, 1.0, size=n)
    return rng.normal(size=K) * 0.1, x, np.sin(2 * np.pi * x) + 0.1 * rng.normal(size=n)


# 6. Lotka-Volterra, RK4, tuple state, p[0]..p[3] ----------------------------------------------
def _lv(s, p):
    x, y = s
    return p[0] * x - p[1] * x * y, p[2] * x * y - p[3] * y


def lv_rk4(p, x0, y0, obs, dt=0.05):
    s = (x0, y0)
    loss = 0.0
    for k in range(obs.shape[0]):
        k1 = _lv(s, p)
        k2 = _lv((s[0] + 0.5 * dt * k1[0], s[1] + 0.5 * dt * k1[1]), p)
        k3 = _lv((s[0] + 0.5 * dt * k2[0], s[1] + 0.5 * dt * k2[1]), p)
        k4 = _lv((s[0] + dt * k3[0], s[1] + dt * k3[1]), p)
        s = (s[0] + dt / 6.0 * (k1[0] + 2.0 * k2[0] + 2.0 * k3[0] + k4[0]),
             s[1] + dt / 6.0 * (k1[1] + 2.0 * k2[1] + 2.0 * k3[1] + k4[1]))
        loss += (s[0] - obs[k, 0]) ** 2 + (s[1] - obs[k, 1]) ** 2
    return loss


def lv_rk4_hand(p, x0, y0, obs, dt=0.05):
    a, b, c, d = p.tolist()
    ol = obs.tolist()
    T = len(ol)
    h = 0.5 * dt

    def f(x, y):
        return a * x - b * x * y, c * x * y - d * y

    def stages(x, y):
        k1 = f(x, y)
        s1 = (x + h * k1[0], y + h * k1[1])
        k2 = f(*s1)
        s2 = (x + h * k2[0], y + h * k2[1])
        k3 = f(*s2)
        s3 = (x + dt * k3[0], y + dt * k3[1])
        k4 = f(*s3)
        return k1, k2, k3, k4, s1, s2, s3

    xs = [0.0] * T
    ys = [0.0] * T
    x, y = float(x0), float(y0)
    for k in range(T):
        xs[k], ys[k] = x, y
        k1, k2, k3, k4, _, _, _ = stages(x, y)
        x = x + dt / 6.0 * (k1[0] + 2.0 * k2[0] + 2.0 * k3[0] + k4[0])
        y = y + dt / 6.0 * (k1[1] + 2.0 * k2[1] + 2.0 * k3[1] + k4[1])
    ga = gb = gc = gd = 0.0
    gx = gy = 0.0
    for k in range(T - 1, -1, -1):
        x, y = xs[k], ys[k]
        k1, k2, k3, k4, s1, s2, s3 = stages(x, y)
        xn = x + dt / 6.0 * (k1[0] + 2.0 * k2[0] + 2.0 * k3[0] + k4[0])
        yn = y + dt / 6.0 * (k1[1] + 2.0 * k2[1] + 2.0 * k3[1] + k4[1])
        gx += 2.0 * (xn - ol[k][0])
        gy += 2.0 * (yn - ol[k][1])
        w1, w2 = dt / 6.0, dt / 3.0
        gk = [[w1 * gx, w1 * gy], [w2 * gx, w2 * gy], [w2 * gx, w2 * gy], [w1 * gx, w1 * gy]]
        pts = ((x, y), s1, s2, s3)
        steps = (h, h, dt)
        for j in (3, 2, 1, 0):
            u, v = pts[j]
            pu, pv = gk[j]
            # vjp of f at (u, v) with cotangent (pu, pv)
            gu = pu * (a - b * v) + pv * c * v
            gv = -pu * b * u + pv * (c * u - d)
            ga += pu * u
            gb -= pu * u * v
            gc += pv * u * v
            gd -= pv * v
            gx += gu
            gy += gv
            if j > 0:  # pts[j] = (x, y) + steps[j-1] * k_{j-1}
                gk[j - 1][0] += steps[j - 1] * gu
                gk[j - 1][1] += steps[j - 1] * gv
    return np.array([ga, gb, gc, gd]), gx, gy


def lv_rk4_args(n, rng):
    p = np.array([1.0, 0.5, 0.3, 0.8])
    obs = np.empty((n, 2))
    x, y = 2.0, 1.0
    for k in range(n):  # the truth: forward Euler of slightly different parameters, plus noise
        x, y = x + 0.05 * (1.1 * x - 0.5 * x * y), y + 0.05 * (0.3 * x * y - 0.8 * y)
        obs[k] = x, y
    return p, 2.1, 0.9, obs + 0.05 * rng.normal(size=(n, 2))


# 7. zero-inflated Poisson regression, np.where + logaddexp -----------------------------------
def zip_reg(b, c, X, y):
    eta = X @ b
    z = X @ c
    mu = np.exp(eta)
    ll = np.where(y == 0, np.logaddexp(z, -mu), y * eta - mu) - np.logaddexp(0.0, z)
    return -np.sum(ll)


def zip_reg_hand(b, c, X, y):
    eta = X @ b
    z = X @ c
    mu = np.exp(eta)
    zero = y == 0
    t = _sigmoid(z + mu)
    geta = np.where(zero, mu * (1.0 - t), mu - y)
    gz = _sigmoid(z) - np.where(zero, t, 0.0)
    return geta @ X, gz @ X


def zip_reg_args(n, rng):
    d = 4 if n < 100 else 12
    X = np.column_stack([np.ones(n), rng.normal(size=(n, d - 1)) * 0.5])
    mu = np.exp(X @ (rng.normal(size=d) * 0.4))
    y = np.where(rng.uniform(size=n) < 0.3, 0, rng.poisson(mu)).astype(float)
    return rng.normal(size=d) * 0.2, rng.normal(size=d) * 0.2, X, y


# 8. Cox proportional hazards partial likelihood, reversed cumsum --------------------------
def cox_ph(w, X, events):
    eta = X @ w
    m = eta.max()
    e = np.exp(eta - m)
    risk = np.cumsum(e[::-1])[::-1]
    return -np.sum(events * (eta - m - np.log(risk)))


def cox_ph_hand(w, X, events):
    eta = X @ w
    e = np.exp(eta - eta.max())
    risk = np.cumsum(e[::-1])[::-1]
    return (e * np.cumsum(events / risk) - events) @ X


def cox_ph_args(n, rng):
    d = 5 if n < 100 else 20
    return rng.normal(size=d) * 0.3, rng.normal(size=(n, d)), (rng.uniform(size=n) < 0.7).astype(float)


# 9. factorization machine regression ---------------------------------------------------------
def fm(w0, w, V, X, y):
    XV = X @ V
    inter = 0.5 * np.sum(XV ** 2 - (X ** 2) @ (V ** 2), axis=1)
    pred = w0 + X @ w + inter
    return np.mean((pred - y) ** 2)


def fm_hand(w0, w, V, X, y):
    XV = X @ V
    X2 = X * X
    pred = w0 + X @ w + 0.5 * np.sum(XV * XV - X2 @ (V * V), axis=1)
    g = (2.0 / X.shape[0]) * (pred - y)
    return g.sum(), g @ X, X.T @ (g[:, None] * XV) - (g @ X2)[:, None] * V


def fm_args(n, rng):
    d, k = (6, 3) if n < 100 else (24, 8)
    X = rng.normal(size=(n, d))
    return 0.1, rng.normal(size=d) * 0.1, rng.normal(size=(d, k)) * 0.1, X, rng.normal(size=n)


# 10. matrix factorisation on observed entries, U[rows] * V[cols] -----------------------------
def mf_gather(U, V, rows, cols, vals, lam=0.05):
    pred = np.sum(U[rows] * V[cols], axis=1)
    return np.sum((pred - vals) ** 2) + lam * (np.sum(U ** 2) + np.sum(V ** 2))


def mf_gather_hand(U, V, rows, cols, vals, lam=0.05):
    Ur, Vc = U[rows], V[cols]
    e = 2.0 * (np.sum(Ur * Vc, axis=1) - vals)
    gU = (2.0 * lam) * U
    gV = (2.0 * lam) * V
    np.add.at(gU, rows, e[:, None] * Vc)
    np.add.at(gV, cols, e[:, None] * Ur)
    return gU, gV


def mf_gather_args(n, rng):
    nu, ni, k = (10, 8, 3) if n < 100 else (120, 80, 10)
    return (rng.normal(size=(nu, k)) * 0.3, rng.normal(size=(ni, k)) * 0.3, rng.integers(0, nu, size=n),
            rng.integers(0, ni, size=n), rng.normal(size=n))


# 11. InfoNCE contrastive loss, row-normalised embeddings -------------------------------------
def infonce(W, X1, X2, tau=0.1):
    Z1 = X1 @ W
    Z2 = X2 @ W
    Z1 = Z1 / np.linalg.norm(Z1, axis=1, keepdims=True)
    Z2 = Z2 / np.linalg.norm(Z2, axis=1, keepdims=True)
    S = Z1 @ Z2.T / tau
    m = S.max(axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(S - m), axis=1)) + m[:, 0]
    return np.mean(lse - np.diag(S))


def infonce_hand(W, X1, X2, tau=0.1):
    A1, A2 = X1 @ W, X2 @ W
    n1 = np.sqrt(np.sum(A1 * A1, axis=1, keepdims=True))
    n2 = np.sqrt(np.sum(A2 * A2, axis=1, keepdims=True))
    Z1, Z2 = A1 / n1, A2 / n2
    S = Z1 @ Z2.T / tau
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    P[np.diag_indices_from(P)] -= 1.0
    P *= 1.0 / (tau * S.shape[0])
    G1, G2 = P @ Z2, P.T @ Z1
    G1 = (G1 - Z1 * np.sum(G1 * Z1, axis=1, keepdims=True)) / n1
    G2 = (G2 - Z2 * np.sum(G2 * Z2, axis=1, keepdims=True)) / n2
    return X1.T @ G1 + X2.T @ G2


def infonce_args(n, rng):
    d, k = (8, 4) if n < 100 else (32, 16)
    X1 = rng.normal(size=(n, d))
    return rng.normal(size=(d, k)) * 0.3, X1, X1 + 0.3 * rng.normal(size=(n, d))


# 12. 3x3 convolution by a loop over taps, ReLU -------------------------------------------------
def conv2d_taps(K, img, target):
    H = img.shape[0] - 2
    W = img.shape[1] - 2
    out = np.zeros((H, W))
    for i in range(3):
        for j in range(3):
            out += K[i, j] * img[i:i + H, j:j + W]
    act = np.maximum(out, 0.0)
    return np.sum((act - target) ** 2)


def conv2d_taps_hand(K, img, target):
    H = img.shape[0] - 2
    W = img.shape[1] - 2
    out = np.zeros((H, W))
    for i in range(3):
        for j in range(3):
            out += K[i, j] * img[i:i + H, j:j + W]
    g = np.where(out > 0.0, 2.0 * (out - target), 0.0)
    gK = np.empty((3, 3))
    gimg = np.zeros_like(img)
    for i in range(3):
        for j in range(3):
            gK[i, j] = np.vdot(g, img[i:i + H, j:j + W])
            gimg[i:i + H, j:j + W] += K[i, j] * g
    return gK, gimg


def conv2d_taps_args(n, rng):
    m = 12 if n < 100 else 64
    img = rng.normal(size=(m, m))
    return rng.normal(size=(3, 3)) * 0.4, img, np.abs(rng.normal(size=(m - 2, m - 2)))


# 13. damped 1-d wave equation, leapfrog, lap[1:-1] = ... ------------------------------------
def wave_leapfrog(c, u0, target, steps=30, dt=0.5, damp=0.05):
    u_prev = u0.copy()
    u = u0.copy()
    for _ in range(steps):
        lap = np.zeros_like(u)
        lap[1:-1] = u[2:] - 2.0 * u[1:-1] + u[:-2]
        u_next = (2.0 * u - (1.0 - damp * dt) * u_prev + (c * dt) ** 2 * lap) / (1.0 + damp * dt)
        u_prev = u
        u = u_next
    return np.sum((u - target) ** 2)


def wave_leapfrog_hand(c, u0, target, steps=30, dt=0.5, damp=0.05):
    q = 1.0 / (1.0 + damp * dt)
    bq = (1.0 - damp * dt) * q
    alpha = (c * dt) ** 2
    us = [u0, u0]
    for _ in range(steps):
        u, up = us[-1], us[-2]
        lap = np.zeros_like(u)
        lap[1:-1] = u[2:] - 2.0 * u[1:-1] + u[:-2]
        us.append((2.0 * u - (1.0 - damp * dt) * up + alpha * lap) * q)
    gn = 2.0 * (us[-1] - target)  # adjoint of u_{k+1}
    gc_ = np.zeros_like(u0)         # adjoint of u_k
    galpha = 0.0
    for k in range(steps, 0, -1):
        u = us[k]
        gi = q * gn[1:-1]
        galpha += gi @ (u[2:] - 2.0 * u[1:-1] + u[:-2])
        gk = gc_ + (2.0 * q) * gn
        gk[1:-1] -= 2.0 * alpha * gi
        gk[2:] += alpha * gi
        gk[:-2] += alpha * gi
        gc_, gn = -bq * gn, gk
    return galpha * 2.0 * c * dt * dt, gn + gc_


def wave_leapfrog_args(n, rng):
    x = np.linspace(0.0, 1.0, n)
    return 0.8, np.exp(-((x - 0.4) / 0.1) ** 2) + 0.01 * rng.normal(size=n), np.exp(-((x - 0.6) / 0.1) ** 2)


# 14. linear-chain CRF negative log likelihood ------------------------------------------------
def crf_nll(Tr, Ew, X, y):
    E = X @ Ew
    L = E.shape[0]
    alpha = E[0]
    for t in range(1, L):
        M = alpha[:, None] + Tr
        m = M.max(axis=0)
        alpha = m + np.log(np.sum(np.exp(M - m), axis=0)) + E[t]
    mz = alpha.max()
    logZ = mz + np.log(np.sum(np.exp(alpha - mz)))
    gold = np.sum(E[np.arange(L), y]) + np.sum(Tr[y[:-1], y[1:]])
    return logZ - gold


def crf_nll_hand(Tr, Ew, X, y):
    E = X @ Ew
    L, K = E.shape
    alphas = [E[0]]
    for t in range(1, L):
        M = alphas[-1][:, None] + Tr
        m = M.max(axis=0)
        alphas.append(m + np.log(np.sum(np.exp(M - m), axis=0)) + E[t])
    a = alphas[-1]
    ga = np.exp(a - a.max())
    ga /= ga.sum()
    gE = np.zeros_like(E)
    gTr = np.zeros_like(Tr)
    for t in range(L - 1, 0, -1):
        gE[t] = ga
        M = alphas[t - 1][:, None] + Tr
        P = np.exp(M - (alphas[t] - E[t]))  # column-softmax of M
        P *= ga
        gTr += P
        ga = P.sum(axis=1)
    gE[0] = ga
    gE[np.arange(L), y] -= 1.0
    np.add.at(gTr, (y[:-1], y[1:]), -1.0)
    return gTr, X.T @ gE


def crf_nll_args(n, rng):
    K, d = (4, 5) if n < 100 else (8, 16)
    return rng.normal(size=(K, K)) * 0.5, rng.normal(size=(d, K)) * 0.3, rng.normal(size=(n, d)), \
        rng.integers(0, K, size=n)


_MADE = {
    "Student-t regression NLL, log1p": (studentt_reg, (0, 1), studentt_reg_hand, studentt_reg_args),
    "multi-quantile pinball loss, np.where": (pinball, (0, 1), pinball_hand, pinball_args),
    "TD(lambda) returns, reversed loop G[t] = g": (td_lambda, 0, td_lambda_hand, td_lambda_args),
    "2-d spring lattice, np.roll, D[..., ax] += 1": (spring_lattice, 0, spring_lattice_hand, spring_lattice_args),
    "piecewise-linear interp fit, v[i], v[i+1]": (pl_interp, 0, pl_interp_hand, pl_interp_args),
    "Lotka-Volterra RK4, tuple state, p[k]": (lv_rk4, (0, 1, 2), lv_rk4_hand, lv_rk4_args),
    "zero-inflated Poisson GLM, where/logaddexp": (zip_reg, (0, 1), zip_reg_hand, zip_reg_args),
    "Cox partial likelihood, reversed cumsum": (cox_ph, 0, cox_ph_hand, cox_ph_args),
    "factorization machine regression": (fm, (0, 1, 2), fm_hand, fm_args),
    "matrix factorisation, U[rows] * V[cols]": (mf_gather, (0, 1), mf_gather_hand, mf_gather_args),
    "InfoNCE, normalised rows, logsumexp": (infonce, 0, infonce_hand, infonce_args),
    "3x3 conv by tap loop with slices, ReLU": (conv2d_taps, (0, 1), conv2d_taps_hand, conv2d_taps_args),
    "damped wave, leapfrog, lap[1:-1] = ...": (wave_leapfrog, (0, 1), wave_leapfrog_hand, wave_leapfrog_args),
    "linear-chain CRF NLL, forward algorithm": (crf_nll, (0, 1), crf_nll_hand, crf_nll_args),
}
HAND = {f: hand for f, _, hand, _ in _MADE.values()}


_TOL = {}  # name -> (rtol, atol, eps) for the central-difference check, where the default does not hold


def programs(small=False):
    """(name, f, args, wrt) of every program, with fixed data (`small`: n = 24, else n = 512)."""
    n = 24 if small else 512
    return [(name, f, make(n, np.random.default_rng(2055)), wrt) for name, (f, wrt, _, make) in _MADE.items()]


check = ordinary.differences_check(_TOL)


if __name__ == "__main__":
    ordinary.main_of_kinds(programs, HAND, check, sys.argv[1:])
