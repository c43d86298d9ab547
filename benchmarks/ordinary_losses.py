"""Twelve ordinary scientific programs of issue 16's kinds, each with a hand-written NumPy gradient (the adjoint
of the same loop where the primal is a loop), written for a stop-51 performance review (helper 163): a layer
norm before a linear map, a softmax attention, a 1-d convolution as a loop over taps, a scalar Kalman filter's
likelihood, logistic regression with L1 and L2, soft k-means, Horner's rule, a 1-d Gaussian mixture, a 2-d spring
chain (`np.diff`, `np.linalg.norm` along an axis), a log-barrier, a Poisson fit with a clip, damped pendulums.

programs() has ordinary.py's format (name, f, args, wrt); HAND maps each function to its hand-written gradient.
The runner (ordinary_kinds.py's) checks every gradient against central differences, then times primal, hand,
s2s general and compile=True in interleaved rounds.

Run: .venv/bin/python benchmarks/ordinary_losses.py [--rounds 9] [--only NAME] [--no-compile]
"""

from __future__ import annotations

import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402

LOG2PI = np.log(2.0 * np.pi)


# A. layer norm + linear ---------------------------------------------------------------
def layernorm_linear(gamma, W, X, Y):
    mu = np.mean(X, axis=1, keepdims=True)
    xc = X - mu
    var = np.mean(xc ** 2, axis=1, keepdims=True)
    h = xc / np.sqrt(var + 1e-5) * gamma
    out = h @ W
    return 0.5 * np.sum((out - Y) ** 2)


def layernorm_linear_hand(gamma, W, X, Y):
    mu = X.mean(axis=1, keepdims=True)
    xc = X - mu
    var = (xc * xc).mean(axis=1, keepdims=True)
    xh = xc / np.sqrt(var + 1e-5)
    h = xh * gamma
    R = h @ W - Y
    dW = h.T @ R
    dh = R @ W.T
    dgamma = np.einsum('ij,ij->j', dh, xh)
    return dgamma, dW


def layernorm_linear_args(n, rng):
    d = 16 if n < 100 else 32
    return rng.normal(size=d), rng.normal(size=(d, 4)) * 0.3, rng.normal(size=(n, d)), rng.normal(size=(n, 4))


# B. attention softmax -------------------------------------------------------------------
def attention(Wq, Wk, X, T):
    d = Wq.shape[1]
    Q = X @ Wq
    K = X @ Wk
    S = Q @ K.T / np.sqrt(d)
    S = S - np.max(S, axis=1, keepdims=True)
    E = np.exp(S)
    P = E / np.sum(E, axis=1, keepdims=True)
    out = P @ X
    return np.sum(out * T)


def attention_hand(Wq, Wk, X, T):
    d = Wq.shape[1]
    c = 1.0 / np.sqrt(d)
    Q = X @ Wq
    K = X @ Wk
    S = (Q @ K.T) * c
    S -= S.max(axis=1, keepdims=True)
    P = np.exp(S)
    P /= P.sum(axis=1, keepdims=True)
    dP = T @ X.T
    dS = P * (dP - np.einsum('ij,ij->i', dP, P)[:, None])
    dS *= c
    dWq = X.T @ (dS @ K)
    dWk = X.T @ (dS.T @ Q)
    return dWq, dWk


def attention_args(n, rng):
    d = 8 if n < 100 else 16
    return (rng.normal(size=(d, d)) * 0.3, rng.normal(size=(d, d)) * 0.3,
            rng.normal(size=(n, d)), rng.normal(size=(n, d)))


# C. 1-D convolution as a loop over taps -----------------------------------------------
def conv1d(w, x, y):
    k = w.shape[0]
    m = x.shape[0] - k + 1
    out = np.zeros(m)
    for j in range(k):
        out = out + w[j] * x[j:j + m]
    return np.sum((out - y) ** 2)


def conv1d_hand(w, x, y):
    k = w.shape[0]
    m = x.shape[0] - k + 1
    win = sliding_window_view(x, m)  # (k, m)
    r = 2.0 * (w @ win - y)
    return win @ r


def conv1d_args(n, rng):
    return rng.normal(size=5), rng.normal(size=n + 4), rng.normal(size=n)


# D. scalar Kalman filter NLL ------------------------------------------------------------
def kalman(q, r, zs):
    x = 0.0
    P = 1.0
    nll = 0.0
    for t in range(zs.shape[0]):
        P = P + q
        S = P + r
        e = zs[t] - x
        K = P / S
        x = x + K * e
        P = (1.0 - K) * P
        nll = nll + np.log(S) + e * e / S
    return nll


def kalman_hand(q, r, zs):
    T = zs.shape[0]
    zl = zs.tolist()
    Ps, Ss, es = [0.0] * T, [0.0] * T, [0.0] * T
    x, P = 0.0, 1.0
    for t in range(T):
        P = P + q
        S = P + r
        e = zl[t] - x
        K = P / S
        Ps[t], Ss[t], es[t] = P, S, e
        x = x + K * e
        P = (1.0 - K) * P
    gq = gr = 0.0
    gx = gP = 0.0  # adjoints of x and P after step t
    for t in range(T - 1, -1, -1):
        P, S, e = Ps[t], Ss[t], es[t]
        K = P / S
        # nll += log S + e^2/S ; x_new = x + K e ; P_new = (1-K) P
        gS = 1.0 / S - e * e / (S * S)
        ge = 2.0 * e / S + gx * K
        gK = gx * e - gP * P
        gPp = gP * (1.0 - K) + gK / S   # through P_new and K = P/S (P part)
        gS += -gK * P / (S * S)
        gPp += gS                        # S = P + r
        gr += gS
        gx = gx - ge                     # e = z - x ; x_new = x + ...
        gq += gPp                        # P = P_prev + q
        gP = gPp
    return gq, gr


def kalman_args(n, rng):
    return 0.3, 0.5, np.cumsum(rng.normal(size=n)) * 0.3


# E. logistic regression, L1 + L2 --------------------------------------------------------
def logreg_l1l2(w, X, y, lam1, lam2):
    z = X @ w
    data = np.sum(np.logaddexp(0.0, z) - y * z) / X.shape[0]
    return data + lam1 * np.sum(np.abs(w)) + lam2 * np.sum(w ** 2)


def logreg_l1l2_hand(w, X, y, lam1, lam2):
    z = X @ w
    p = 0.5 + 0.5 * np.tanh(0.5 * z)
    return ((p - y) @ X) / X.shape[0] + lam1 * np.sign(w) + (2.0 * lam2) * w


def logreg_l1l2_args(n, rng):
    d = 8 if n < 100 else 32
    return rng.normal(size=d), rng.normal(size=(n, d)), (rng.random(n) < 0.5).astype(float), 0.01, 0.1


# F. soft k-means (log-sum-exp over clusters) -------------------------------------------
def soft_kmeans(C, X, beta):
    D = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=2)
    L = -beta * D
    m = np.max(L, axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(L - m), axis=1))
    return -np.sum(lse)


def soft_kmeans_hand(C, X, beta):
    D = (X * X).sum(1)[:, None] - 2.0 * (X @ C.T) + (C * C).sum(1)[None, :]
    L = -beta * D
    L -= L.max(axis=1, keepdims=True)
    R = np.exp(L)
    R /= R.sum(axis=1, keepdims=True)
    # d(-lse)/dD = beta * R ; dD/dC_k = -2 (x - C_k)
    return (-2.0 * beta) * (R.T @ X - R.sum(0)[:, None] * C)


def soft_kmeans_args(n, rng):
    return rng.normal(size=(4, 3)), rng.normal(size=(n, 3)), 2.0


# G. Horner polynomial fit ---------------------------------------------------------------
def horner(c, x, y):
    p = np.zeros_like(x)
    for i in range(c.shape[0] - 1, -1, -1):
        p = p * x + c[i]
    return np.sum((p - y) ** 2)


def horner_hand(c, x, y):
    """The adjoint of horner's own loop (issue 16's reference where the primal is a loop)."""
    p = np.zeros_like(x)
    for i in range(c.shape[0] - 1, -1, -1):
        p = p * x + c[i]
    p_bar = 2.0 * (p - y)
    g = np.empty_like(c)
    for i in range(c.shape[0]):
        g[i] = p_bar.sum()
        p_bar = p_bar * x
    return g


def horner_args(n, rng):
    return rng.normal(size=8) * 0.3, rng.uniform(-1, 1, size=n), rng.normal(size=n)


# H. 1-D Gaussian mixture negative log-likelihood ---------------------------------------
def gmm_nll(mu, logs, logit, x):
    logw = logit - np.max(logit)
    logw = logw - np.log(np.sum(np.exp(logw)))
    z = (x[:, None] - mu[None, :]) / np.exp(logs)[None, :]
    lp = logw - 0.5 * z ** 2 - logs - 0.5 * LOG2PI
    m = np.max(lp, axis=1, keepdims=True)
    ll = m[:, 0] + np.log(np.sum(np.exp(lp - m), axis=1))
    return -np.sum(ll)


def gmm_nll_hand(mu, logs, logit, x):
    w = np.exp(logit - logit.max())
    w /= w.sum()
    s = np.exp(logs)
    z = (x[:, None] - mu) / s
    lp = np.log(w) - 0.5 * z * z - logs
    lp -= lp.max(axis=1, keepdims=True)
    R = np.exp(lp)
    R /= R.sum(axis=1, keepdims=True)       # responsibilities (n, K)
    Rz = R * z
    Nk = R.sum(0)
    gmu = -(Rz.sum(0) / s)
    glogs = -((Rz * z).sum(0) - Nk)
    glogit = -(Nk - x.shape[0] * w)
    return gmu, glogs, glogit


def gmm_nll_args(n, rng):
    return rng.normal(size=3), rng.normal(size=3) * 0.2, rng.normal(size=3), rng.normal(size=n) * 2


# I. spring-mass chain in 2-D (np.diff + np.linalg.norm along an axis) -------------------
def spring_chain(x, k, L0):
    d = np.diff(x, axis=0)
    ln = np.linalg.norm(d, axis=1)
    return 0.5 * np.sum(k * (ln - L0) ** 2) + 9.81 * np.sum(x[:, 1])


def spring_chain_hand(x, k, L0):
    d = x[1:] - x[:-1]
    ln = np.sqrt((d * d).sum(1))
    F = (k * (ln - L0) / ln)[:, None] * d
    g = np.zeros_like(x)
    g[1:] += F
    g[:-1] -= F
    g[:, 1] += 9.81
    return g


def spring_chain_args(n, rng):
    x = np.cumsum(rng.normal(size=(n, 2)) * 0.2 + np.array([1.0, 0.0]), axis=0)
    return x, rng.uniform(1, 2, size=n - 1), 1.0


# J. log-barrier objective ----------------------------------------------------------------
def log_barrier(x, A, b, c, t):
    s = b - A @ x
    return t * (c @ x) - np.sum(np.log(s)) + 0.5 * np.sum(x ** 2)


def log_barrier_hand(x, A, b, c, t):
    s = b - A @ x
    return t * c + (1.0 / s) @ A + x


def log_barrier_args(n, rng):
    d = 8 if n < 100 else 32
    return rng.normal(size=d) * 0.05, rng.normal(size=(n, d)), rng.uniform(1, 2, size=n), rng.normal(size=d), 2.0


# K. Poisson regression with a clip -------------------------------------------------------
def poisson_clip(w, X, y, alpha):
    eta = np.clip(X @ w, -20.0, 20.0)
    lam = np.exp(eta)
    return np.sum(lam - y * eta) + 0.5 * alpha * np.sum(w * w)


def poisson_clip_hand(w, X, y, alpha):
    z = X @ w
    eta = np.clip(z, -20.0, 20.0)
    r = np.exp(eta) - y
    r *= (z >= -20.0) & (z <= 20.0)
    return r @ X + alpha * w


def poisson_clip_args(n, rng):
    d = 8 if n < 100 else 32
    X = rng.normal(size=(n, d))
    return rng.normal(size=d) * 0.2, X, rng.poisson(1.0, size=n).astype(float), 0.1


# L. damped pendulums, semi-implicit Euler with np.sin/np.cos ----------------------------
def pendulum(th0, om0, k, target):
    th = th0
    om = om0
    for _ in range(40):
        om = om - 0.05 * (k * np.sin(th) + 0.1 * om)
        th = th + 0.05 * om
    return np.sum(1.0 - np.cos(th - target))


def pendulum_hand(th0, om0, k, target):
    dt = 0.05
    ths = []
    th, om = th0, om0
    for _ in range(40):
        ths.append(th)
        om = om - dt * (k * np.sin(th) + 0.1 * om)
        th = th + dt * om
    gth = np.sin(th - target)
    gom = np.zeros_like(om0)
    a = 1.0 - 0.1 * dt
    for step in range(39, -1, -1):
        # th_new = th + dt * om_new ; om_new = a * om - dt * k * sin(th)
        gom = gom + dt * gth            # om_new's adjoint
        gth = gth - (dt * gom) * (k * np.cos(ths[step]))
        gom = a * gom
    return gth, gom


def pendulum_args(n, rng):
    return rng.uniform(-1, 1, size=n), rng.normal(size=n) * 0.1, rng.uniform(1, 3, size=n), rng.normal(size=n) * 0.5


_MADE = {
    "layer norm, then a linear map": (layernorm_linear, (0, 1), layernorm_linear_hand, layernorm_linear_args),
    "softmax attention, QK^T / sqrt(d)": (attention, (0, 1), attention_hand, attention_args),
    "1-d convolution, a loop over taps": (conv1d, 0, conv1d_hand, conv1d_args),
    "Kalman filter, scalar state, zs[t]": (kalman, (0, 1), kalman_hand, kalman_args),
    "logistic regression, L1 and L2": (logreg_l1l2, 0, logreg_l1l2_hand, logreg_l1l2_args),
    "soft k-means, log-sum-exp": (soft_kmeans, 0, soft_kmeans_hand, soft_kmeans_args),
    "Horner's rule, a loop": (horner, 0, horner_hand, horner_args),
    "1-d Gaussian mixture": (gmm_nll, (0, 1, 2), gmm_nll_hand, gmm_nll_args),
    "2-d spring chain, np.diff and norms": (spring_chain, 0, spring_chain_hand, spring_chain_args),
    "log-barrier": (log_barrier, 0, log_barrier_hand, log_barrier_args),
    "Poisson fit, np.clip, 0.5 * alpha": (poisson_clip, 0, poisson_clip_hand, poisson_clip_args),
    "damped pendulums, 40 steps": (pendulum, (0, 1), pendulum_hand, pendulum_args),
}
HAND = {f: hand for f, _, hand, _ in _MADE.values()}


def programs(small=False):
    """(name, f, args, wrt) of every program, with fixed data (`small`: 24 points, else 512)."""
    n = 24 if small else 512
    return [(name, f, make(n, np.random.default_rng(2026)), wrt) for name, (f, wrt, _, make) in _MADE.items()]


def check(name, f, args, wrt, got, eps=1e-6):
    """Assert `got` (the gradient for `wrt`, as s2s.grad returns it) matches central differences of f."""
    from ordinary import _differences

    for k, w in enumerate(wrt if isinstance(wrt, tuple) else (wrt,)):
        mine = got[k] if isinstance(wrt, tuple) else got
        # (atol 1e-5: the 512-mass spring chain's differences of a sum near 1e4 carry 1.6e-6 of rounding)
        assert np.allclose(mine, _differences(f, list(args), w, eps), rtol=1e-5, atol=1e-5), (name, w)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import ordinary_kinds  # noqa: E402

    ordinary_kinds.programs, ordinary_kinds.HAND, ordinary_kinds.check = programs, HAND, check
    ordinary_kinds.main()
