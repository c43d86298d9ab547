"""Twenty-two more ordinary programs, written by performance reviews (stops 39 and 42) that had not seen s2s's
benchmarks: an LSTM with gate slices, a 1-d convolution by slices, a Gaussian mixture over a list of
components, RK4 through a helper, multi-head attention over a loop of heads, a least-squares loop over points,
a secant solve under `while`, Clenshaw's recurrence with tuple updates, a causal filter `y[i:] += ...`, a
logistic regression with `np.logaddexp`, a 2-d heat stencil, Lennard-Jones pairs by broadcasting, an MLP over
`zip(Ws[:-1], bs[:-1])`, Holt smoothing; Gram-Schmidt over a growing list (`for q in Q` and `Q[i]`), log1p of
norms along an axis, running statistics over rows, weights of running products (`np.cumprod`), rows normalised
into a preallocated array, the trace of a product chain, a multiclass SVM loss. Each with a hand-written NumPy
gradient of the same algorithm.

The gradients are checked against central differences first, then timed as `ordinary_kinds.py` times its
programs (min of interleaved rounds; primal, hand, s2s general, s2s `compile=True`):

    python benchmarks/ordinary_review.py [--rounds 9] [--only NAME] [--no-compile]
"""

import os
import sys

import numpy as np


# ---------------------------------------------------------------- A. LSTM, gates sliced from one z, inline
def lstm_inline(Wx, Wh, b, xs, y):
    n = Wh.shape[1]
    h = np.zeros(n)
    c = np.zeros(n)
    for t in range(xs.shape[0]):
        z = Wx @ xs[t] + Wh @ h + b
        i = 1.0 / (1.0 + np.exp(-z[:n]))
        f = 1.0 / (1.0 + np.exp(-z[n:2 * n]))
        o = 1.0 / (1.0 + np.exp(-z[2 * n:3 * n]))
        g = np.tanh(z[3 * n:])
        c = f * c + i * g
        h = o * np.tanh(c)
    return np.sum((h - y) ** 2)


def lstm_inline_grad(Wx, Wh, b, xs, y):
    n = Wh.shape[1]
    h = np.zeros(n)
    c = np.zeros(n)
    tape = []
    for t in range(xs.shape[0]):
        z = Wx @ xs[t] + Wh @ h + b
        i = 1.0 / (1.0 + np.exp(-z[:n]))
        f = 1.0 / (1.0 + np.exp(-z[n:2 * n]))
        o = 1.0 / (1.0 + np.exp(-z[2 * n:3 * n]))
        g = np.tanh(z[3 * n:])
        c_prev, h_prev = c, h
        c = f * c + i * g
        tc = np.tanh(c)
        h = o * tc
        tape.append((h_prev, c_prev, i, f, o, g, tc))
    gWx, gWh, gb = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    h_bar = 2.0 * (h - y)
    c_bar = np.zeros(n)
    z_bar = np.empty(4 * n)
    for t in range(xs.shape[0] - 1, -1, -1):
        h_prev, c_prev, i, f, o, g, tc = tape[t]
        c_bar = c_bar + h_bar * o * (1.0 - tc * tc)
        z_bar[:n] = c_bar * g * i * (1.0 - i)
        z_bar[n:2 * n] = c_bar * c_prev * f * (1.0 - f)
        z_bar[2 * n:3 * n] = h_bar * tc * o * (1.0 - o)
        z_bar[3 * n:] = c_bar * i * (1.0 - g * g)
        c_bar = c_bar * f
        gWx += np.outer(z_bar, xs[t])
        gWh += np.outer(z_bar, h_prev)
        gb += z_bar
        h_bar = Wh.T @ z_bar
    return gWx, gWh, gb


# ---------------------------------------------------------------- B. 1-d convolution by shifted slices
def conv1d_taps(w, x, target):
    m = x.shape[0] - w.shape[0] + 1
    out = np.zeros(m)
    for k in range(w.shape[0]):
        out += w[k] * x[k:k + m]
    return np.mean((np.tanh(out) - target) ** 2)


def conv1d_taps_grad(w, x, target):
    K = w.shape[0]
    m = x.shape[0] - K + 1
    out = np.zeros(m)
    for k in range(K):
        out += w[k] * x[k:k + m]
    a = np.tanh(out)
    out_bar = (2.0 / m) * (a - target) * (1.0 - a * a)
    w_bar = np.empty(K)
    x_bar = np.zeros_like(x)
    for k in range(K - 1, -1, -1):
        w_bar[k] = out_bar @ x[k:k + m]
        x_bar[k:k + m] += w[k] * out_bar
    return w_bar, x_bar


# ---------------------------------------------------------------- C. Gaussian mixture, loop over components
def gmm_components(logits, mus, log_sig, X):
    logw = logits - np.log(np.sum(np.exp(logits)))
    comps = []
    for k in range(mus.shape[0]):
        d = (X - mus[k]) / np.exp(log_sig[k])
        comps.append(logw[k] - 0.5 * np.sum(d ** 2, axis=1) - np.sum(log_sig[k]) - np.log(2 * np.pi))
    L = np.stack(comps, axis=1)
    m = np.max(L, axis=1, keepdims=True)
    return -np.sum(m[:, 0] + np.log(np.sum(np.exp(L - m), axis=1)))


def gmm_components_grad(logits, mus, log_sig, X):
    K = mus.shape[0]
    logw = logits - np.log(np.sum(np.exp(logits)))
    ds = []
    L = np.empty((X.shape[0], K))
    for k in range(K):
        d = (X - mus[k]) / np.exp(log_sig[k])
        ds.append(d)
        L[:, k] = logw[k] - 0.5 * np.sum(d ** 2, axis=1) - np.sum(log_sig[k]) - np.log(2 * np.pi)
    R = np.exp(L - L.max(axis=1, keepdims=True))
    R /= R.sum(axis=1, keepdims=True)
    L_bar = -R
    logw_bar = L_bar.sum(axis=0)
    p = np.exp(logw)
    logits_bar = logw_bar - p * logw_bar.sum()
    mus_bar = np.empty_like(mus)
    ls_bar = np.empty_like(log_sig)
    for k in range(K - 1, -1, -1):
        d = ds[k]
        d_bar = -L_bar[:, k, None] * d
        mus_bar[k] = -np.sum(d_bar, axis=0) / np.exp(log_sig[k])
        ls_bar[k] = -np.sum(d_bar * d, axis=0) - logw_bar[k]
    return logits_bar, mus_bar, ls_bar


# ---------------------------------------------------------------- D. RK4 on a vector state, rhs helper
def rk4_rhs(A, u):
    return np.tanh(A @ u) - 0.1 * u


def rk4_net(A, u0, dt=0.05, steps=40):
    u = u0
    for _ in range(steps):
        k1 = rk4_rhs(A, u)
        k2 = rk4_rhs(A, u + 0.5 * dt * k1)
        k3 = rk4_rhs(A, u + 0.5 * dt * k2)
        k4 = rk4_rhs(A, u + dt * k3)
        u = u + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return np.sum(u ** 2)


def rk4_net_grad(A, u0, dt=0.05, steps=40):
    u = u0
    tape = []
    for _ in range(steps):
        v1 = u
        a1 = np.tanh(A @ v1)
        k1 = a1 - 0.1 * v1
        v2 = u + 0.5 * dt * k1
        a2 = np.tanh(A @ v2)
        k2 = a2 - 0.1 * v2
        v3 = u + 0.5 * dt * k2
        a3 = np.tanh(A @ v3)
        k3 = a3 - 0.1 * v3
        v4 = u + dt * k3
        a4 = np.tanh(A @ v4)
        k4 = a4 - 0.1 * v4
        tape.append((v1, a1, v2, a2, v3, a3, v4, a4))
        u = u + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    A_bar = np.zeros_like(A)
    u_bar = 2.0 * u
    for s in range(steps - 1, -1, -1):
        v1, a1, v2, a2, v3, a3, v4, a4 = tape[s]
        k4_bar = dt / 6.0 * u_bar
        k3_bar = dt / 3.0 * u_bar
        k2_bar = dt / 3.0 * u_bar
        k1_bar = dt / 6.0 * u_bar
        # k4 = rhs(v4), v4 = u + dt k3
        t = k4_bar * (1.0 - a4 * a4)
        A_bar += np.outer(t, v4)
        v_bar = A.T @ t - 0.1 * k4_bar
        u_bar = u_bar + v_bar
        k3_bar = k3_bar + dt * v_bar
        t = k3_bar * (1.0 - a3 * a3)
        A_bar += np.outer(t, v3)
        v_bar = A.T @ t - 0.1 * k3_bar
        u_bar = u_bar + v_bar
        k2_bar = k2_bar + 0.5 * dt * v_bar
        t = k2_bar * (1.0 - a2 * a2)
        A_bar += np.outer(t, v2)
        v_bar = A.T @ t - 0.1 * k2_bar
        u_bar = u_bar + v_bar
        k1_bar = k1_bar + 0.5 * dt * v_bar
        t = k1_bar * (1.0 - a1 * a1)
        A_bar += np.outer(t, v1)
        u_bar = u_bar + A.T @ t - 0.1 * k1_bar
    return A_bar, u_bar


# ---------------------------------------------------------------- E. multi-head attention, loop over heads
def mha(Wq, Wk, Wv, Wo, X, heads=4):
    T, D = X.shape
    dh = D // heads
    Q = X @ Wq
    K = X @ Wk
    V = X @ Wv
    outs = []
    for hd in range(heads):
        q = Q[:, hd * dh:(hd + 1) * dh]
        k = K[:, hd * dh:(hd + 1) * dh]
        v = V[:, hd * dh:(hd + 1) * dh]
        S = q @ k.T / np.sqrt(dh)
        S = S - S.max(axis=1, keepdims=True)
        P = np.exp(S)
        P = P / P.sum(axis=1, keepdims=True)
        outs.append(P @ v)
    Y = np.concatenate(outs, axis=1) @ Wo
    return np.mean(Y ** 2)


def mha_grad(Wq, Wk, Wv, Wo, X, heads=4):
    T, D = X.shape
    dh = D // heads
    Q, K, V = X @ Wq, X @ Wk, X @ Wv
    Ps = []
    C = np.empty((T, D))
    for hd in range(heads):
        sl = slice(hd * dh, (hd + 1) * dh)
        S = Q[:, sl] @ K[:, sl].T / np.sqrt(dh)
        P = np.exp(S - S.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        Ps.append(P)
        C[:, sl] = P @ V[:, sl]
    Y = C @ Wo
    Y_bar = 2.0 * Y / Y.size
    Wo_bar = C.T @ Y_bar
    C_bar = Y_bar @ Wo.T
    Q_bar, K_bar, V_bar = np.empty_like(Q), np.empty_like(K), np.empty_like(V)
    sc = 1.0 / np.sqrt(dh)
    for hd in range(heads - 1, -1, -1):
        sl = slice(hd * dh, (hd + 1) * dh)
        P = Ps[hd]
        O_bar = C_bar[:, sl]
        P_bar = O_bar @ V[:, sl].T
        V_bar[:, sl] = P.T @ O_bar
        S_bar = P * (P_bar - np.sum(P_bar * P, axis=1, keepdims=True)) * sc
        Q_bar[:, sl] = S_bar @ K[:, sl]
        K_bar[:, sl] = S_bar.T @ Q[:, sl]
    return X.T @ Q_bar, X.T @ K_bar, X.T @ V_bar, Wo_bar


# ---------------------------------------------------------------- F. least-squares residual, loop over points
def lsq_points(theta, t, y):
    s = 0.0
    for i in range(t.shape[0]):
        r = y[i] - (theta[0] * np.exp(-theta[1] * t[i]) + theta[2] * np.sin(theta[3] * t[i]))
        s += r * r
    return 0.5 * s


def lsq_points_grad(theta, t, y):
    g = np.zeros(4)
    for i in range(t.shape[0]):
        e = np.exp(-theta[1] * t[i])
        sn = np.sin(theta[3] * t[i])
        r = y[i] - (theta[0] * e + theta[2] * sn)
        g[0] -= r * e
        g[1] += r * theta[0] * t[i] * e
        g[2] -= r * sn
        g[3] -= r * theta[2] * t[i] * np.cos(theta[3] * t[i])
    return g


# ---------------------------------------------------------------- G. secant solve then a smooth function
def secant_then(a, b):
    x0, x1 = 0.0, 1.0
    f0 = x0 ** 3 + a * x0 - b
    f1 = x1 ** 3 + a * x1 - b
    while abs(x1 - x0) > 1e-9:
        x2 = x1 - f1 * (x1 - x0) / (f1 - f0)
        x0, f0 = x1, f1
        x1 = x2
        f1 = x1 ** 3 + a * x1 - b
    return np.sin(x1) * a + x1 ** 2


def secant_then_grad(a, b):
    x0, x1 = 0.0, 1.0
    f0 = x0 ** 3 + a * x0 - b
    f1 = x1 ** 3 + a * x1 - b
    tape = []
    while abs(x1 - x0) > 1e-9:
        tape.append((x0, x1, f0, f1))
        x2 = x1 - f1 * (x1 - x0) / (f1 - f0)
        x0, f0 = x1, f1
        x1 = x2
        f1 = x1 ** 3 + a * x1 - b
    x1_bar = np.cos(x1) * a + 2.0 * x1
    a_bar = np.sin(x1)
    b_bar = 0.0
    x0_bar = f0_bar = 0.0
    f1_bar = 0.0
    for x0, x1, f0, f1 in reversed(tape):
        # f1' = x1'^3 + a x1' - b  (x1' = x2): add f1_bar into x2_bar
        x2 = x1 - f1 * (x1 - x0) / (f1 - f0)
        x2_bar = x1_bar + f1_bar * (3.0 * x2 * x2 + a)
        a_bar += f1_bar * x2
        b_bar -= f1_bar
        # x0', f0' = x1, f1
        nx1_bar, nf1_bar = x0_bar, f0_bar
        # x2 = x1 - f1 * q, q = (x1 - x0) / (f1 - f0)
        dd = f1 - f0
        q = (x1 - x0) / dd
        f1_bar = nf1_bar - x2_bar * q
        q_bar = -x2_bar * f1
        x1_bar = nx1_bar + x2_bar + q_bar / dd
        x0_bar = -q_bar / dd
        f1_bar -= q_bar * q / dd
        f0_bar = q_bar * q / dd
    # initial f0, f1 of x0 = 0, x1 = 1
    a_bar += f0_bar * 0.0 + f1_bar * 1.0
    b_bar -= f0_bar + f1_bar
    return a_bar, b_bar


# ---------------------------------------------------------------- H. Clenshaw recurrence for a Chebyshev series
def clenshaw(c, x):
    b1 = np.zeros_like(x)
    b2 = np.zeros_like(x)
    for k in range(c.shape[0] - 1, 0, -1):
        b1, b2 = 2.0 * x * b1 - b2 + c[k], b1
    y = x * b1 - b2 + c[0]
    return np.sum((y - np.cos(3.0 * x)) ** 2)


def clenshaw_grad(c, x):
    K = c.shape[0]
    b1 = np.zeros_like(x)
    b2 = np.zeros_like(x)
    b1s = [b1]
    b2s = [b2]
    for k in range(K - 1, 0, -1):
        b1, b2 = 2.0 * x * b1 - b2 + c[k], b1
        b1s.append(b1)
        b2s.append(b2)
    y = x * b1 - b2 + c[0]
    y_bar = 2.0 * (y - np.cos(3.0 * x))
    c_bar = np.empty(K)
    c_bar[0] = y_bar.sum()
    x_bar = y_bar * (b1 + 3.0 * np.sin(3.0 * x))
    b1_bar = y_bar * x
    b2_bar = -y_bar
    j = len(b1s) - 1
    for k in range(1, K):
        j -= 1
        c_bar[k] = b1_bar.sum()
        x_bar += 2.0 * b1_bar * b1s[j]
        b1_bar, b2_bar = 2.0 * x * b1_bar + b2_bar, -b1_bar
    return c_bar, x_bar


# ---------------------------------------------------------------- I. causal filter, y[i:] += x[i] * k[:n - i]
def causal_filter(k, x):
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n):
        y[i:] += x[i] * k[:n - i]
    return np.sum(np.tanh(y) ** 2)


def causal_filter_grad(k, x):
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n):
        y[i:] += x[i] * k[:n - i]
    a = np.tanh(y)
    y_bar = 2.0 * a * (1.0 - a * a)
    k_bar = np.zeros_like(k)
    x_bar = np.empty_like(x)
    for i in range(n - 1, -1, -1):
        x_bar[i] = y_bar[i:] @ k[:n - i]
        k_bar[:n - i] += x[i] * y_bar[i:]
    return k_bar, x_bar


# ---------------------------------------------------------------- J. logistic regression, logaddexp, L2
def logreg_l2(w, b, X, y, lam=0.01):
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, -y * z)) + lam * (w @ w)


def logreg_l2_grad(w, b, X, y, lam=0.01):
    z = X @ w + b
    s = -y / (1.0 + np.exp(y * z)) / X.shape[0]
    return X.T @ s + 2.0 * lam * w, s.sum()


# ---------------------------------------------------------------- K. 2-d heat equation, slices of a copy
def heat2d(kappa, u0, steps=20):
    u = u0.copy()
    for _ in range(steps):
        lap = u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4.0 * u[1:-1, 1:-1]
        u[1:-1, 1:-1] = u[1:-1, 1:-1] + 0.1 * kappa * lap
    return np.sum(u ** 2)


def heat2d_grad(kappa, u0, steps=20):
    u = u0.copy()
    laps = []
    for _ in range(steps):
        lap = u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4.0 * u[1:-1, 1:-1]
        laps.append(lap)
        u[1:-1, 1:-1] = u[1:-1, 1:-1] + 0.1 * kappa * lap
    u_bar = 2.0 * u
    kappa_bar = 0.0
    for s in range(steps - 1, -1, -1):
        g = u_bar[1:-1, 1:-1].copy()
        kappa_bar += 0.1 * np.sum(g * laps[s])
        c = 0.1 * kappa * g
        u_bar[2:, 1:-1] += c
        u_bar[:-2, 1:-1] += c
        u_bar[1:-1, 2:] += c
        u_bar[1:-1, :-2] += c
        u_bar[1:-1, 1:-1] -= 4.0 * c
    return kappa_bar, u_bar


# ---------------------------------------------------------------- L. Lennard-Jones with a cutoff, broadcast pairs
def lj_cutoff(P, eps=1.0, sig=1.0, rc=2.5):
    n = P.shape[0]
    D = P[:, None, :] - P[None, :, :]
    r2 = np.sum(D ** 2, axis=-1) + np.eye(n)
    s6 = (sig ** 2 / r2) ** 3
    E = 4.0 * eps * (s6 ** 2 - s6)
    E = np.where(r2 < rc ** 2, E, 0.0)
    return 0.5 * np.sum(E * (1.0 - np.eye(n)))


def lj_cutoff_grad(P, eps=1.0, sig=1.0, rc=2.5):
    n = P.shape[0]
    D = P[:, None, :] - P[None, :, :]
    r2 = np.sum(D ** 2, axis=-1) + np.eye(n)
    s6 = (sig ** 2 / r2) ** 3
    M = (r2 < rc ** 2) * (1.0 - np.eye(n))
    r2_bar = M * (2.0 * eps) * (2.0 * s6 - 1.0) * (-3.0 * s6 / r2)
    D_bar = 2.0 * D * r2_bar[:, :, None]
    return D_bar.sum(axis=1) - D_bar.sum(axis=0)


# ---------------------------------------------------------------- M. MLP over a list of layers with zip
def mlp_zip(Ws, bs, X, labels):
    h = X
    for W, b in zip(Ws[:-1], bs[:-1]):
        h = np.maximum(h @ W + b, 0.0)
    z = h @ Ws[-1] + bs[-1]
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -np.mean(logp[np.arange(X.shape[0]), labels])


def mlp_zip_grad(Ws, bs, X, labels):
    hs = [X]
    pres = []
    for W, b in zip(Ws[:-1], bs[:-1]):
        pre = hs[-1] @ W + b
        pres.append(pre)
        hs.append(np.maximum(pre, 0.0))
    z = hs[-1] @ Ws[-1] + bs[-1]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    z_bar = e / e.sum(axis=1, keepdims=True)
    N = X.shape[0]
    z_bar[np.arange(N), labels] -= 1.0
    z_bar /= N
    gW = [None] * len(Ws)
    gb = [None] * len(bs)
    gW[-1] = hs[-1].T @ z_bar
    gb[-1] = z_bar.sum(axis=0)
    h_bar = z_bar @ Ws[-1].T
    for j in range(len(Ws) - 2, -1, -1):
        a_bar = h_bar * (pres[j] > 0)
        gW[j] = hs[j].T @ a_bar
        gb[j] = a_bar.sum(axis=0)
        if j > 0:
            h_bar = a_bar @ Ws[j].T
    return gW, gb


# ---------------------------------------------------------------- N. Holt's linear exponential smoothing
def holt(alpha, beta, y):
    level = y[0]
    trend = y[1] - y[0]
    sse = 0.0
    for t in range(1, y.shape[0]):
        pred = level + trend
        err = y[t] - pred
        sse += err * err
        new_level = alpha * y[t] + (1 - alpha) * pred
        trend = beta * (new_level - level) + (1 - beta) * trend
        level = new_level
    return sse / (y.shape[0] - 1)


def holt_grad(alpha, beta, y):
    n = y.shape[0]
    level = y[0]
    trend = y[1] - y[0]
    Ls, Ts = [level], [trend]
    for t in range(1, n):
        pred = level + trend
        new_level = alpha * y[t] + (1 - alpha) * pred
        trend = beta * (new_level - level) + (1 - beta) * trend
        level = new_level
        Ls.append(level)
        Ts.append(trend)
    L_bar = T_bar = 0.0
    a_bar = b_bar = 0.0
    sse_bar = 1.0 / (n - 1)
    for t in range(n - 1, 0, -1):
        L, T, nl = Ls[t - 1], Ts[t - 1], Ls[t]
        pred = L + T
        b_bar += T_bar * (nl - L - T)
        nl_bar = L_bar + beta * T_bar
        Lp_bar = -beta * T_bar
        Tp_bar = (1 - beta) * T_bar
        a_bar += nl_bar * (y[t] - pred)
        pred_bar = (1 - alpha) * nl_bar - 2.0 * (y[t] - pred) * sse_bar
        L_bar = Lp_bar + pred_bar
        T_bar = Tp_bar + pred_bar
    return a_bar, b_bar


# ---------------------------------------------------------------- O. Gram-Schmidt over a growing list, `for q in Q`
def gram_schmidt(A, C):
    Q = []
    for j in range(A.shape[1]):
        v = A[:, j]
        for q in Q:
            v = v - (q @ v) * q
        Q.append(v / np.linalg.norm(v))
    return np.sum(np.stack(Q, axis=1) * C)


def gram_schmidt_grad(A, C):
    k = A.shape[1]
    Q, before, norms = [], [], []  # before[j][i]: v before q_i was taken out of column j
    for j in range(k):
        v = A[:, j]
        seen = []
        for q in Q:
            seen.append(v)
            v = v - (q @ v) * q
        before.append(seen)
        norms.append(np.linalg.norm(v))
        Q.append(v / norms[j])
    Q_bar = [C[:, j].copy() for j in range(k)]
    A_bar = np.zeros_like(A)
    for j in range(k - 1, -1, -1):
        q = Q[j]
        v_bar = (Q_bar[j] - q * (q @ Q_bar[j])) / norms[j]
        for i in range(j - 1, -1, -1):
            c_bar = -(Q[i] @ v_bar)
            Q_bar[i] += -(Q[i] @ before[j][i]) * v_bar + c_bar * before[j][i]
            v_bar = v_bar + c_bar * Q[i]
        A_bar[:, j] = v_bar
    return A_bar


# ---------------------------------------------------------------- P. the same by index, `for i in range(len(Q))`
def gram_schmidt_by_index(A, C):
    Q = []
    for j in range(A.shape[1]):
        v = A[:, j]
        for i in range(len(Q)):
            v = v - (Q[i] @ v) * Q[i]
        Q.append(v / np.linalg.norm(v))
    return np.sum(np.stack(Q, axis=1) * C)


# ---------------------------------------------------------------- Q. distances through norms along an axis
def log_distances(mu, X):
    d = X - mu
    r = np.linalg.norm(d, axis=1)
    return np.sum(np.log1p(r))


def log_distances_grad(mu, X):
    d = X - mu
    r = np.linalg.norm(d, axis=1)
    return -np.sum(d * (1.0 / (r * (1.0 + r)))[:, None], axis=0)


# ---------------------------------------------------------------- R. running mean and variance over rows
def running_stats(X):
    n = X.shape[0]
    mu = np.zeros(X.shape[1])
    var = np.ones(X.shape[1])
    for i in range(n):
        row = X[i]
        mu = 0.9 * mu + 0.1 * row
        var = 0.9 * var + 0.1 * (row - mu) ** 2
    return np.sum(var) + np.sum(mu ** 2)


def running_stats_grad(X):
    n = X.shape[0]
    mu = np.zeros(X.shape[1])
    mus = np.empty_like(X)
    for i in range(n):
        mu = 0.9 * mu + 0.1 * X[i]
        mus[i] = mu
    X_bar = np.empty_like(X)
    mu_bar, var_bar = 2.0 * mu, 1.0
    for i in range(n - 1, -1, -1):
        d_bar = 0.2 * (X[i] - mus[i]) * var_bar
        var_bar = 0.9 * var_bar
        mu_bar = mu_bar - d_bar
        X_bar[i] = d_bar + 0.1 * mu_bar
        mu_bar = 0.9 * mu_bar
    return X_bar


# ---------------------------------------------------------------- S. weights of running products
def cumprod_weights(x, w):
    return np.sum(np.cumprod(x) * w)


def cumprod_weights_grad(x, w):
    p = np.cumprod(x)
    return np.cumsum((w * p)[::-1])[::-1] / x, p


# ---------------------------------------------------------------- T. rows normalised into a preallocated array
def row_normalize(X, w):
    n = X.shape[0]
    Z = np.zeros_like(X)
    for i in range(n):
        Z[i] = X[i] / np.linalg.norm(X[i])
    return np.sum((Z @ w) ** 2)


def row_normalize_grad(X, w):
    n = X.shape[0]
    Z, r = np.zeros_like(X), np.zeros(n)
    for i in range(n):
        r[i] = np.linalg.norm(X[i])
        Z[i] = X[i] / r[i]
    s = 2.0 * (Z @ w)
    X_bar = np.zeros_like(X)
    for i in range(n - 1, -1, -1):
        z_bar = s[i] * w
        X_bar[i] = (z_bar - Z[i] * (z_bar @ Z[i])) / r[i]
    return X_bar


# ---------------------------------------------------------------- U. trace of a product chain
def trace_chain(A, B, C):
    return np.trace(A @ B @ A.T @ C)


def trace_chain_grad(A, B, C):
    return C.T @ A @ B.T + C @ A @ B


# ---------------------------------------------------------------- V. multiclass SVM loss
def svm_loss(W, X, y):
    n = X.shape[0]
    S = X @ W
    correct = S[np.arange(n), y]
    M = np.maximum(0.0, S - correct[:, None] + 1.0)
    M = np.where(np.arange(W.shape[1])[None, :] == y[:, None], 0.0, M)
    return np.sum(M) / n + 0.5 * np.sum(W * W)


def svm_loss_grad(W, X, y):
    n = X.shape[0]
    S = X @ W
    margins = S - S[np.arange(n), y][:, None] + 1.0
    dS = (margins > 0).astype(W.dtype)
    dS[np.arange(n), y] = 0.0
    dS[np.arange(n), y] = -dS.sum(1)
    return X.T @ dS / n + W


# ---------------------------------------------------------------- W. forward substitution, L[i, :i] @ x[:i]
def forward_substitution(L, b):
    n = b.shape[0]
    x = np.zeros(n)
    for i in range(n):
        x[i] = (b[i] - L[i, :i] @ x[:i]) / L[i, i]
    return np.sum(x ** 2)


def forward_substitution_grad(L, b):
    n = b.shape[0]
    x = np.zeros(n)
    for i in range(n):
        x[i] = (b[i] - L[i, :i] @ x[:i]) / L[i, i]
    x_bar = 2.0 * x
    L_bar = np.zeros_like(L)
    b_bar = np.empty_like(b)
    for i in range(n - 1, -1, -1):
        r = x_bar[i] / L[i, i]
        b_bar[i] = r
        L_bar[i, i] = -r * x[i]
        L_bar[i, :i] = -r * x[:i]
        x_bar[:i] -= r * L[i, :i]
    return L_bar, b_bar


# ---------------------------------------------------------------- X. squared prefix products, x[:i] * w[-i:]
def prefix_products(x, w):
    s = 0.0
    for i in range(1, x.shape[0]):
        s = s + np.sum(x[:i] * w[-i:]) ** 2
    return s


def prefix_products_grad(x, w):
    x_bar, w_bar = np.zeros_like(x), np.zeros_like(w)
    for i in range(1, x.shape[0]):
        p = 2.0 * np.sum(x[:i] * w[-i:])
        x_bar[:i] += p * w[-i:]
        w_bar[-i:] += p * x[:i]
    return x_bar, w_bar


# ---------------------------------------------------------------- Y. squared errors of prefix means, np.sum(x[:i]) / i
def prefix_means(x, y):
    loss = 0.0
    for i in range(1, x.shape[0]):
        m = np.sum(x[:i]) / i
        loss = loss + (y[i] - m) ** 2
    return loss


def prefix_means_grad(x, y):
    x_bar, y_bar = np.zeros_like(x), np.zeros_like(y)
    for i in range(x.shape[0] - 1, 0, -1):
        e = 2.0 * (y[i] - np.sum(x[:i]) / i)
        y_bar[i] = e
        x_bar[:i] -= e / i
    return x_bar, y_bar


# ---------------------------------------------------------------- Z. autocorrelations fitted, np.dot(x[:n - lag], x[lag:])
def autocorrelation_fit(x, target):
    n = x.shape[0]
    loss = 0.0
    for lag in range(1, target.shape[0]):
        c = np.dot(x[:n - lag], x[lag:]) / (n - lag)
        loss = loss + (c - target[lag]) ** 2
    return loss


def autocorrelation_fit_grad(x, target):
    n = x.shape[0]
    x_bar, t_bar = np.zeros_like(x), np.zeros_like(target)
    for lag in range(target.shape[0] - 1, 0, -1):
        e = 2.0 * (np.dot(x[:n - lag], x[lag:]) / (n - lag) - target[lag])
        t_bar[lag] = -e
        d = e / (n - lag)
        x_bar[:n - lag] += d * x[lag:]
        x_bar[lag:] += d * x[:n - lag]
    return x_bar, t_bar


HAND = {}  # each program -> its hand-written gradient (filled below)


def programs(small=False):
    """(name, f, args, wrt) of every program, with fixed data (`small`: shapes for fast tests)."""
    r = np.random.default_rng(2026)
    n, d, T = (4, 3, 5) if small else (32, 16, 30)
    points, m, sizes = (20, 12, (4, 5, 6, 3)) if small else (200, 100, (16, 32, 32, 5))
    lat = np.stack(np.meshgrid(np.arange(3), np.arange(3), np.arange(4), indexing="ij"), -1).reshape(-1, 3) * 1.2
    mus = r.normal(size=(5, 2)) * 2
    Xg = mus[r.integers(0, 5, points)] + r.normal(size=(points, 2)) * 0.7
    ts = np.linspace(0, 4, m)
    Ws = [r.normal(size=(a, bb)) / np.sqrt(a) for a, bb in zip(sizes[:-1], sizes[1:])]
    bs = [r.normal(size=bb) * 0.1 for bb in sizes[1:]]
    Xlr = r.normal(size=(30, 4) if small else (500, 20))
    k = 8 if small else 32  # attention width (4 heads)
    return [
        ("A LSTM inline, z[:n] gate slices, 30 steps", lstm_inline,
         (r.normal(size=(4 * n, d)) * 0.2, r.normal(size=(4 * n, n)) * 0.2, r.normal(size=4 * n) * 0.1,
          r.normal(size=(T, d)), r.normal(size=n) * 0.5), (0, 1, 2)),
        ("B 1-d conv, out += w[k] * x[k:k+m]", conv1d_taps,
         (r.normal(size=7) * 0.4, r.normal(size=30 if small else 256), r.normal(size=24 if small else 250) * 0.5),
         (0, 1)),
        ("C GMM, loop over components, np.stack", gmm_components,
         (r.normal(size=5), mus + r.normal(size=(5, 2)) * 0.3, r.normal(size=(5, 2)) * 0.2, Xg), (0, 1, 2)),
        ("D RK4, vector state, rhs helper, 40 steps", rk4_net,
         (r.normal(size=(n, n)) * 0.4, r.normal(size=n)), (0, 1)),
        ("E multi-head attention, loop over heads", mha,
         (*(r.normal(size=(k, k)) / np.sqrt(k) for _ in range(4)), r.normal(size=(5 if small else 20, k))),
         (0, 1, 2, 3)),
        ("F least squares, loop over 100 points", lsq_points,
         (np.array([2.0, 0.7, 0.5, 2.0]), ts, 2.1 * np.exp(-0.6 * ts) + 0.4 * np.sin(2.1 * ts)
          + r.normal(size=m) * 0.05), 0),
        ("G secant solve (while), then smooth", secant_then, (1.3, 2.0), (0, 1)),
        ("H Clenshaw Chebyshev, tuple update", clenshaw,
         (r.normal(size=6 if small else 12) * 0.5, np.linspace(-1, 1, m if small else 200)), (0, 1)),
        ("I causal filter, y[i:] += x[i]*k[:n-i]", causal_filter,
         (r.normal(size=10 if small else 64) * 0.3, r.normal(size=10 if small else 64)), (0, 1)),
        ("J logistic regression, logaddexp, L2", logreg_l2,
         (r.normal(size=Xlr.shape[1]) * 0.1, 0.1, Xlr,
          np.sign(Xlr @ r.normal(size=Xlr.shape[1]) + r.normal(size=Xlr.shape[0]))), (0, 1)),
        ("K 2-d heat stencil, u[1:-1,1:-1] = ...", heat2d, (1.0, r.normal(size=(8, 8) if small else (32, 32))),
         (0, 1)),
        ("L Lennard-Jones cutoff, broadcast pairs", lj_cutoff, (lat + r.normal(size=lat.shape) * 0.1,), 0),
        ("M MLP, zip(Ws[:-1], bs[:-1]), xent", mlp_zip,
         (Ws, bs, r.normal(size=(10, sizes[0]) if small else (64, 16)), r.integers(0, sizes[-1], 10 if small else 64)),
         (0, 1)),
        ("N Holt level+trend smoothing, 100", holt,
         (0.4, 0.2, np.cumsum(r.normal(size=m)) + 5), (0, 1)),
        ("O Gram-Schmidt over a list, for q in Q", gram_schmidt,
         (r.normal(size=(6, 4) if small else (32, 8)), r.normal(size=(6, 4) if small else (32, 8))), 0),
        ("P Gram-Schmidt by index, Q[i]", gram_schmidt_by_index,
         (r.normal(size=(6, 4) if small else (32, 8)), r.normal(size=(6, 4) if small else (32, 8))), 0),
        ("Q log1p of norms along axis 1", log_distances,
         (r.normal(size=16), r.normal(size=(20, 16) if small else (128, 16))), 0),
        ("R running mean and variance, rows", running_stats, (r.normal(size=(10, 4) if small else (100, 32)),), 0),
        ("S weights of running products", cumprod_weights,
         (r.uniform(0.8, 1.2, 12 if small else 64), r.normal(size=12 if small else 64)), (0, 1)),
        ("T rows normalised into Z[i]", row_normalize,
         (r.normal(size=(8, 4) if small else (64, 32)), r.normal(size=4 if small else 32)), 0),
        ("U trace(A @ B @ A.T @ C)", trace_chain, tuple(r.normal(size=(5, 5) if small else (64, 64)) for _ in range(3)),
         0),
        ("V multiclass SVM loss", svm_loss,
         (r.normal(size=(6, 4) if small else (32, 10)) * 0.1, r.normal(size=(10, 6) if small else (128, 32)),
          r.integers(0, 4 if small else 10, 10 if small else 128)), 0),
        ("W forward substitution, L[i, :i] @ x[:i]", forward_substitution,
         (np.tril(r.normal(size=(6, 6) if small else (64, 64))) * 0.1 + 2.0 * np.eye(6 if small else 64),
          r.normal(size=6 if small else 64)), (0, 1)),
        ("X squared prefix products, x[:i] * w[-i:]", prefix_products,
         (r.normal(size=8 if small else 64), r.normal(size=8 if small else 64)), (0, 1)),
        ("Y squared errors of prefix means", prefix_means,
         (r.normal(size=10 if small else 128), r.normal(size=10 if small else 128)), (0, 1)),
        ("Z autocorrelations, np.dot(x[:n-lag], x[lag:])", autocorrelation_fit,
         (r.normal(size=16 if small else 256), r.normal(size=6 if small else 40) * 0.1), (0, 1)),
    ]


HAND.update({
    lstm_inline: lstm_inline_grad, conv1d_taps: conv1d_taps_grad, gmm_components: gmm_components_grad,
    rk4_net: rk4_net_grad, mha: mha_grad, lsq_points: lsq_points_grad, secant_then: secant_then_grad,
    clenshaw: clenshaw_grad, causal_filter: causal_filter_grad, logreg_l2: logreg_l2_grad, heat2d: heat2d_grad,
    lj_cutoff: lj_cutoff_grad, mlp_zip: mlp_zip_grad, holt: holt_grad, gram_schmidt: gram_schmidt_grad,
    gram_schmidt_by_index: gram_schmidt_grad, log_distances: log_distances_grad, running_stats: running_stats_grad,
    cumprod_weights: cumprod_weights_grad, row_normalize: row_normalize_grad, trace_chain: trace_chain_grad,
    svm_loss: svm_loss_grad, forward_substitution: forward_substitution_grad, prefix_products: prefix_products_grad,
    prefix_means: prefix_means_grad, autocorrelation_fit: autocorrelation_fit_grad,
})


def check(name, f, args, wrt, got, eps=1e-6):
    """Assert `got` (the gradient for `wrt`, as s2s.grad returns it) matches central differences of f, leaf by
    leaf for a list argument."""
    from ordinary import _differences

    from s2s.pytree import leaves
    for k, w in enumerate(wrt if isinstance(wrt, tuple) else (wrt,)):
        mine = got[k] if isinstance(wrt, tuple) else got
        for a, b in zip(leaves(mine), leaves(_differences(f, list(args), w, eps)), strict=True):
            assert np.allclose(a, b, rtol=1e-5, atol=1e-7), (name, w)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import ordinary_kinds  # noqa: E402

    ordinary_kinds.programs, ordinary_kinds.HAND, ordinary_kinds.check = programs, HAND, check
    ordinary_kinds.main()
