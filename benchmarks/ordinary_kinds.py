"""Programs of the kinds issue 16 names, each with a hand-written NumPy gradient (the adjoint of the same
loop where the primal is a loop): RNNs whose state is allocated inside (`np.zeros_like(b)`, a list of
states then `np.stack`, a float32 Elman net with a step helper), integrators with tuple assignment
(velocity Verlet `x, v, a = ...`, a Kepler orbit, a damped oscillator with `n = len(ts)`), a ReLU
classifier with a max-shifted log-sum-exp (`keepdims`), polyline loops over rows (turning angles,
a spring chain's `np.linalg.norm(P[i + 1] - P[i])`), scalar loops (a product with `*=`, Newton's cube
root under a value-dependent `while`), a 2x2 matrix exponential by its Taylor loop, bilinear
interpolation with `int(x)`, an HMM forward pass in log space, a ReLU recurrence over columns
`X[:, j]`, a float32 Huber regression with a branch per row.

programs() has ordinary.py's format (name, f, args, wrt); HAND maps each function to its hand-written
gradient. The runner checks every gradient (hand, s2s general, compile=True) against central
differences and the dtype of float32 gradients, then times in interleaved rounds: primal, hand, s2s
general (`s2s.grad(f)`), s2s compiled (`s2s.grad(f, compile=True)`, the code it keeps), and prints
general/hand, general/primal, compile=True/general, the `# s2s:` notes of the specialised code
(blocked rewrites) and any compile fallback.

Run: .venv/bin/python benchmarks/ordinary_kinds.py [--rounds 9] [--only NAME] [--no-compile]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402


# ---------------------------------------------------------------- RNNs with state allocated inside
def rnn_stacked(W, U, b, xs):
    h = np.zeros_like(b)
    hs = []
    for t in range(xs.shape[0]):
        h = np.tanh(W @ xs[t] + U @ h + b)
        hs.append(h)
    H = np.stack(hs)
    return np.sum(H ** 2) / H.shape[0]


def rnn_stacked_grad(W, U, b, xs):
    steps = xs.shape[0]
    hs = [np.zeros_like(b)]
    for t in range(steps):
        hs.append(np.tanh(W @ xs[t] + U @ hs[-1] + b))
    gW, gU, gb = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    h_bar = np.zeros_like(b)
    for t in range(steps - 1, -1, -1):
        h_bar = h_bar + 2.0 * hs[t + 1] / steps
        a_bar = h_bar * (1.0 - hs[t + 1] ** 2)
        gW += np.outer(a_bar, xs[t])
        gU += np.outer(a_bar, hs[t])
        gb += a_bar
        h_bar = U.T @ a_bar
    return gW, gU, gb


def _elman_step(W, U, V, x, h):
    h = np.tanh(W @ x + U @ h)
    return h, V @ h


def elman_f32(W, U, V, xs, ys):
    n = U.shape[0]
    h = np.zeros(n, dtype=np.float32)
    loss = 0.0
    for t in range(len(xs)):
        h, y = _elman_step(W, U, V, xs[t], h)
        loss = loss + np.sum((y - ys[t]) ** 2)
    return loss


def elman_f32_grad(W, U, V, xs, ys):
    hs = [np.zeros(U.shape[0], dtype=np.float32)]
    for t in range(len(xs)):
        hs.append(np.tanh(W @ xs[t] + U @ hs[-1]))
    gW, gU, gV = np.zeros_like(W), np.zeros_like(U), np.zeros_like(V)
    h_bar = np.zeros_like(hs[0])
    for t in range(len(xs) - 1, -1, -1):
        y_bar = 2.0 * (V @ hs[t + 1] - ys[t])
        gV += np.outer(y_bar, hs[t + 1])
        h_bar = h_bar + V.T @ y_bar
        a_bar = h_bar * (1.0 - hs[t + 1] ** 2)
        gW += np.outer(a_bar, xs[t])
        gU += np.outer(a_bar, hs[t])
        h_bar = U.T @ a_bar
    return gW, gU, gV


def relu_columns(W, X):
    n, steps = X.shape
    h = np.zeros(n)
    outs = []
    for j in range(steps):
        h = 0.5 * h + np.maximum(W @ h + X[:, j], 0.0)
        outs.append(h.sum())
    return np.sum(np.array(outs) ** 2)


def relu_columns_grad(W, X):
    n, steps = X.shape
    hs, outs = [np.zeros(n)], []
    for j in range(steps):
        hs.append(0.5 * hs[-1] + np.maximum(W @ hs[-1] + X[:, j], 0.0))
        outs.append(hs[-1].sum())
    gW, gX = np.zeros_like(W), np.zeros_like(X)
    h_bar = np.zeros(n)
    for j in range(steps - 1, -1, -1):
        h_bar = h_bar + 2.0 * outs[j]
        a_bar = h_bar * (W @ hs[j] + X[:, j] > 0)
        gW += np.outer(a_bar, hs[j])
        gX[:, j] = a_bar
        h_bar = 0.5 * h_bar + W.T @ a_bar
    return gW, gX


# ---------------------------------------------------------------- integrators with tuple assignment
def velocity_verlet(x0, v0, k, dt=0.01, steps=50):
    x, v, a = x0, v0, -k * x0 - x0 ** 3
    for _ in range(steps):
        x_next = x + dt * v + 0.5 * dt * dt * a
        a_next = -k * x_next - x_next ** 3
        x, v, a = x_next, v + 0.5 * dt * (a + a_next), a_next
    return np.sum(x ** 2) + 0.5 * np.sum(v ** 2)


def velocity_verlet_grad(x0, v0, k, dt=0.01, steps=50):
    xs = [x0]
    x, v, a = x0, v0, -k * x0 - x0 ** 3
    for _ in range(steps):
        x_next = x + dt * v + 0.5 * dt * dt * a
        a_next = -k * x_next - x_next ** 3
        x, v, a = x_next, v + 0.5 * dt * (a + a_next), a_next
        xs.append(x)
    x_bar, v_bar, a_bar, k_bar = 2.0 * x, v.copy(), np.zeros_like(x), 0.0
    for s in range(steps, 0, -1):
        a_next_bar = a_bar + 0.5 * dt * v_bar
        x_bar = x_bar + a_next_bar * (-k - 3.0 * xs[s] ** 2)
        k_bar -= np.sum(a_next_bar * xs[s])
        a_bar = 0.5 * dt * v_bar + 0.5 * dt * dt * x_bar
        v_bar = v_bar + dt * x_bar
    x_bar = x_bar + a_bar * (-k - 3.0 * x0 ** 2)
    k_bar -= np.sum(a_bar * x0)
    return x_bar, v_bar, k_bar


def damped_oscillator(ts, x0, c, k):
    n = len(ts)
    x, v = x0, 0.0
    e = s = 0.0
    for i in range(n - 1):
        dt = ts[i + 1] - ts[i]
        v = v + dt * (-c * v - k * x)
        x = x + dt * v
        e += x * x * dt
        s += x
    return e + 0.1 * s * s


def damped_oscillator_grad(ts, x0, c, k):
    xs, vs = [x0], [0.0]
    x, v, s = x0, 0.0, 0.0
    for i in range(len(ts) - 1):
        dt = ts[i + 1] - ts[i]
        v = v + dt * (-c * v - k * x)
        x = x + dt * v
        s += x
        xs.append(x)
        vs.append(v)
    s_bar = 0.2 * s
    x_bar = v_bar = c_bar = k_bar = 0.0
    for i in range(len(ts) - 2, -1, -1):
        dt = ts[i + 1] - ts[i]
        x_bar = x_bar + 2.0 * xs[i + 1] * dt + s_bar
        v_bar = v_bar + dt * x_bar
        c_bar -= dt * vs[i] * v_bar
        k_bar -= dt * xs[i] * v_bar
        x_bar = x_bar - dt * k * v_bar
        v_bar = v_bar * (1.0 - dt * c)
    return x_bar, c_bar, k_bar


def kepler_drift(q0, p0, dt=0.01, steps=60):
    q, p = q0, p0
    E0 = 0.5 * p0 @ p0 - 1.0 / np.linalg.norm(q0)
    drift = 0.0
    for _ in range(steps):
        r = np.linalg.norm(q)
        q, p = q + dt * p, p - dt * q / r ** 3
        E = 0.5 * p @ p - 1.0 / np.linalg.norm(q)
        drift += (E - E0) ** 2
    return drift


def kepler_drift_grad(q0, p0, dt=0.01, steps=60):
    E0 = 0.5 * p0 @ p0 - 1.0 / np.linalg.norm(q0)
    qs, ps, Es = [q0], [p0], []
    q, p = q0, p0
    for _ in range(steps):
        r = np.linalg.norm(q)
        q, p = q + dt * p, p - dt * q / r ** 3
        qs.append(q)
        ps.append(p)
        Es.append(0.5 * p @ p - 1.0 / np.linalg.norm(q))
    q_bar, p_bar, E0_bar = np.zeros_like(q0), np.zeros_like(p0), 0.0
    for s in range(steps, 0, -1):
        E_bar = 2.0 * (Es[s - 1] - E0)
        E0_bar -= E_bar
        q_bar = q_bar + E_bar * qs[s] / np.linalg.norm(qs[s]) ** 3
        p_bar = p_bar + E_bar * ps[s]
        q, r = qs[s - 1], np.linalg.norm(qs[s - 1])
        q_bar, p_bar = q_bar - dt * (p_bar / r ** 3 - 3.0 * q * (q @ p_bar) / r ** 5), p_bar + dt * q_bar
    q_bar = q_bar + E0_bar * q0 / np.linalg.norm(q0) ** 3
    p_bar = p_bar + E0_bar * p0
    return q_bar, p_bar


# ---------------------------------------------------------------- a ReLU classifier, max-shifted log-sum-exp
def relu_classifier(W1, b1, W2, b2, X, y):
    n = X.shape[0]
    h = np.maximum(X @ W1 + b1, 0.0)
    z = h @ W2 + b2
    m = z.max(axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))
    return np.mean(lse[:, 0] - z[np.arange(n), y])


def relu_classifier_grad(W1, b1, W2, b2, X, y):
    n = X.shape[0]
    pre = X @ W1 + b1
    h = np.maximum(pre, 0.0)
    z = h @ W2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    z_bar = e / e.sum(axis=1, keepdims=True)
    z_bar[np.arange(n), y] -= 1.0
    z_bar /= n
    h_bar = (z_bar @ W2.T) * (pre > 0)
    return X.T @ h_bar, h_bar.sum(axis=0), h.T @ z_bar, z_bar.sum(axis=0)


# ---------------------------------------------------------------- loops over the rows of a polyline
def turning_angles(P):
    bend = 0.0
    for i in range(1, P.shape[0] - 1):
        a = P[i] - P[i - 1]
        b = P[i + 1] - P[i]
        cross = a[0] * b[1] - a[1] * b[0]
        th = np.arctan2(cross, a @ b)
        bend += th * th
    return bend


def turning_angles_grad(P):
    G = np.zeros_like(P)
    for i in range(1, P.shape[0] - 1):
        a = P[i] - P[i - 1]
        b = P[i + 1] - P[i]
        cross, dot = a[0] * b[1] - a[1] * b[0], a @ b
        th_bar = 2.0 * np.arctan2(cross, dot)
        r2 = cross * cross + dot * dot
        cross_bar, dot_bar = th_bar * dot / r2, -th_bar * cross / r2
        a_bar = cross_bar * np.array([b[1], -b[0]]) + dot_bar * b
        b_bar = cross_bar * np.array([-a[1], a[0]]) + dot_bar * a
        G[i] += a_bar - b_bar
        G[i - 1] -= a_bar
        G[i + 1] += b_bar
    return G


def spring_chain(P, rest):
    E = 0.0
    L = 0.0
    for i in range(P.shape[0] - 1):
        seg = np.linalg.norm(P[i + 1] - P[i])
        L += seg
        E += (seg - rest) ** 2
    return E + 0.1 * L


def spring_chain_grad(P, rest):
    G = np.zeros_like(P)
    rest_bar = 0.0
    for i in range(P.shape[0] - 2, -1, -1):
        d = P[i + 1] - P[i]
        seg = np.linalg.norm(d)
        seg_bar = 2.0 * (seg - rest) + 0.1
        rest_bar -= 2.0 * (seg - rest)
        G[i + 1] += seg_bar * d / seg
        G[i] -= seg_bar * d / seg
    return G, rest_bar


# ---------------------------------------------------------------- scalar loops
def log_product(x, r):
    p = 1.0
    xk = x
    for k in range(1, 20):
        p *= 1.0 + r * xk / k
        xk *= x
    return np.log(p)


def log_product_grad(x, r):
    ps, xks = [1.0], [x]
    for k in range(1, 20):
        ps.append(ps[-1] * (1.0 + r * xks[-1] / k))
        xks.append(xks[-1] * x)
    p_bar, xk_bar, x_bar, r_bar = 1.0 / ps[-1], 0.0, 0.0, 0.0
    for k in range(19, 0, -1):
        x_bar += xk_bar * xks[k - 1]
        xk_bar = xk_bar * x
        f_bar = p_bar * ps[k - 1]
        p_bar = p_bar * (1.0 + r * xks[k - 1] / k)
        r_bar += f_bar * xks[k - 1] / k
        xk_bar += f_bar * r / k
    return x_bar + xk_bar, r_bar


def newton_cuberoot(a):
    x = a if a > 1.0 else 1.0
    dx = 1.0
    while abs(dx) > 1e-12 * abs(x):
        dx = (x * x * x - a) / (3.0 * x * x)
        x = x - dx
    return x


def newton_cuberoot_grad(a):
    x = a if a > 1.0 else 1.0
    xs = [x]
    dx = 1.0
    while abs(dx) > 1e-12 * abs(x):
        dx = (x * x * x - a) / (3.0 * x * x)
        x = x - dx
        xs.append(x)
    x_bar, a_bar = 1.0, 0.0
    for j in range(len(xs) - 2, -1, -1):
        x = xs[j]
        a_bar += x_bar / (3.0 * x * x)
        x_bar = x_bar * (2.0 / 3.0 - 2.0 * a / (3.0 * x ** 3))
    return a_bar + (x_bar if a > 1.0 else 0.0)


# ---------------------------------------------------------------- small matrices and tables
def expm_taylor(A, C):
    n = A.shape[0]
    E = np.eye(n)
    T = np.eye(n)
    for k in range(1, 18):
        T = T @ A / k
        E = E + T
    return np.sum(E * C)


def expm_taylor_grad(A, C):
    Ts = [np.eye(A.shape[0])]
    for k in range(1, 18):
        Ts.append(Ts[-1] @ A / k)
    A_bar, T_bar = np.zeros_like(A), np.zeros_like(A)
    for k in range(17, 0, -1):
        T_bar = T_bar + C
        A_bar += Ts[k - 1].T @ T_bar / k
        T_bar = T_bar @ A.T / k
    return A_bar


def bilinear_fit(G, qs, target):
    s = 0.0
    for p in range(qs.shape[0]):
        x, y = qs[p, 0], qs[p, 1]
        i, j = int(x), int(y)
        fx, fy = x - i, y - j
        v = ((1 - fx) * (1 - fy) * G[i, j] + fx * (1 - fy) * G[i + 1, j]
             + (1 - fx) * fy * G[i, j + 1] + fx * fy * G[i + 1, j + 1])
        s += (v - target[p]) ** 2
    return s


def bilinear_fit_grad(G, qs, target):
    G_bar, q_bar = np.zeros_like(G), np.zeros_like(qs)
    for p in range(qs.shape[0]):
        x, y = qs[p, 0], qs[p, 1]
        i, j = int(x), int(y)
        fx, fy = x - i, y - j
        g00, g10, g01, g11 = G[i, j], G[i + 1, j], G[i, j + 1], G[i + 1, j + 1]
        v = (1 - fx) * (1 - fy) * g00 + fx * (1 - fy) * g10 + (1 - fx) * fy * g01 + fx * fy * g11
        v_bar = 2.0 * (v - target[p])
        G_bar[i, j] += v_bar * (1 - fx) * (1 - fy)
        G_bar[i + 1, j] += v_bar * fx * (1 - fy)
        G_bar[i, j + 1] += v_bar * (1 - fx) * fy
        G_bar[i + 1, j + 1] += v_bar * fx * fy
        q_bar[p, 0] = v_bar * ((1 - fy) * (g10 - g00) + fy * (g11 - g01))
        q_bar[p, 1] = v_bar * ((1 - fx) * (g01 - g00) + fx * (g11 - g10))
    return G_bar, q_bar


def hmm_log_forward(logA, logE, logpi):
    alpha = logpi + logE[0]
    for t in range(1, logE.shape[0]):
        M = alpha[:, None] + logA
        m = np.max(M, axis=0, keepdims=True)
        alpha = m[0] + np.log(np.sum(np.exp(M - m), axis=0)) + logE[t]
    mx = np.max(alpha)
    return mx + np.log(np.sum(np.exp(alpha - mx)))


def hmm_log_forward_grad(logA, logE, logpi):
    alphas = [logpi + logE[0]]
    for t in range(1, logE.shape[0]):
        M = alphas[-1][:, None] + logA
        m = np.max(M, axis=0, keepdims=True)
        alphas.append(m[0] + np.log(np.sum(np.exp(M - m), axis=0)) + logE[t])
    e = np.exp(alphas[-1] - np.max(alphas[-1]))
    alpha_bar = e / e.sum()
    A_bar, E_bar = np.zeros_like(logA), np.zeros_like(logE)
    for t in range(logE.shape[0] - 1, 0, -1):
        E_bar[t] = alpha_bar
        M = alphas[t - 1][:, None] + logA
        W = np.exp(M - np.max(M, axis=0, keepdims=True))
        W /= W.sum(axis=0, keepdims=True)
        A_bar += W * alpha_bar[None, :]
        alpha_bar = W @ alpha_bar
    E_bar[0] = alpha_bar
    return A_bar, E_bar, alpha_bar


def huber_rows_f32(w, X, y, delta=1.0):
    s = 0.0
    for i in range(X.shape[0]):
        d = X[i] @ w - y[i]
        if abs(d) <= delta:
            s += 0.5 * d * d
        else:
            s += delta * (abs(d) - 0.5 * delta)
    return s / X.shape[0]


def huber_rows_f32_grad(w, X, y, delta=1.0):
    g = np.zeros_like(w)
    n = X.shape[0]
    for i in range(n - 1, -1, -1):
        d = X[i] @ w - y[i]
        d_bar = d if abs(d) <= delta else delta * np.sign(d)
        g += (d_bar / n) * X[i]
    return g


HAND = {
    rnn_stacked: rnn_stacked_grad, elman_f32: elman_f32_grad, relu_columns: relu_columns_grad,
    velocity_verlet: velocity_verlet_grad, damped_oscillator: damped_oscillator_grad,
    kepler_drift: kepler_drift_grad, relu_classifier: relu_classifier_grad,
    turning_angles: turning_angles_grad, spring_chain: spring_chain_grad, log_product: log_product_grad,
    newton_cuberoot: newton_cuberoot_grad, expm_taylor: expm_taylor_grad, bilinear_fit: bilinear_fit_grad,
    hmm_log_forward: hmm_log_forward_grad, huber_rows_f32: huber_rows_f32_grad,
}


def programs(small=False):
    """(name, f, args, wrt) of every program, with fixed data (`small`: shapes for fast tests)."""
    r = np.random.default_rng(16)
    T, n, d = (5, 4, 3) if small else (30, 32, 16)
    f32 = np.float32
    logits = r.normal(size=(T, 4))
    logE = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    logA = np.log(r.dirichlet(np.ones(4), size=4))
    return [
        ("vanilla RNN, zeros_like, np.stack of states", rnn_stacked,
         (r.normal(size=(n, d)) * 0.3, r.normal(size=(n, n)) * 0.2, r.normal(size=n) * 0.1, r.normal(size=(T, d))),
         (0, 1, 2)),
        ("Elman net float32, step helper", elman_f32,
         (r.normal(size=(n, d)).astype(f32) * f32(0.3), r.normal(size=(n, n)).astype(f32) * f32(0.2),
          r.normal(size=(2, n)).astype(f32) * f32(0.3), r.normal(size=(T, d)).astype(f32),
          r.normal(size=(T, 2)).astype(f32)), (0, 1, 2)),
        ("ReLU recurrence over columns X[:, j]", relu_columns,
         (r.normal(size=(n, n)) * 0.1, r.normal(size=(n, T))), (0, 1)),
        ("velocity Verlet, x, v, a = ...", velocity_verlet,
         (r.normal(size=n), r.normal(size=n), 1.5), (0, 1, 2)),
        ("damped oscillator, n = len(ts), e = s = 0.0", damped_oscillator,
         (np.sort(r.uniform(0, 5, 40 if small else 200)), 1.0, 0.3, 2.0), (1, 2, 3)),
        ("Kepler orbit, q, p = q + dt * p, ...", kepler_drift,
         (np.array([1.0, 0.1]), np.array([0.05, 1.1])), (0, 1)),
        ("ReLU classifier, max keepdims lse", relu_classifier,
         (r.normal(size=(d, n)) * 0.3, np.zeros(n), r.normal(size=(n, 5)) * 0.3, np.zeros(5),
          r.normal(size=(8 if small else 64, d)), r.integers(0, 5, 8 if small else 64)), (0, 1, 2, 3)),
        ("turning angles of a polyline, arctan2", turning_angles,
         (np.cumsum(r.normal(size=(12 if small else 60, 2)), axis=0),), 0),
        ("spring chain in 3-D, norm(P[i+1]-P[i])", spring_chain,
         (np.cumsum(r.normal(size=(12 if small else 80, 3)), axis=0), 1.0), (0, 1)),
        ("product with *=, scalar loop", log_product, (0.7, 0.4), (0, 1)),
        ("Newton cube root, while abs(dx) > tol", newton_cuberoot, (5.0,), 0),
        ("2x2 matrix exponential, Taylor loop", expm_taylor,
         (r.normal(size=(2, 2)) * 0.5, r.normal(size=(2, 2))), 0),
        ("bilinear interpolation, int(x)", bilinear_fit,
         (r.normal(size=(8, 8)), r.uniform(0, 6.99, size=(10 if small else 50, 2)),
          r.normal(size=10 if small else 50)), (0, 1)),
        ("HMM forward in log space, keepdims", hmm_log_forward,
         (logA, logE, np.log(np.full(4, 0.25))), (0, 1, 2)),
        ("Huber regression float32, branch per row", huber_rows_f32,
         (r.normal(size=d).astype(f32), r.normal(size=(T, d)).astype(f32),
          (r.normal(size=T) * 3).astype(f32)), 0),
    ]


def _widened(args):
    return [a.astype(np.float64) if getattr(a, "dtype", None) == np.float32 else a for a in args]


def check(name, f, args, wrt, got, eps=1e-6):
    """Assert `got` (the gradient for `wrt`, as s2s.grad returns it) matches central differences of f in
    float64, and is float32 where a differentiated argument is."""
    from ordinary import _differences
    single = any(getattr(a, "dtype", None) == np.float32 for a in args)
    for k, w in enumerate(wrt if isinstance(wrt, tuple) else (wrt,)):
        mine = got[k] if isinstance(wrt, tuple) else got
        want = _differences(f, _widened(args), w, eps)
        assert np.allclose(mine, want, rtol=1e-3 if single else 1e-5, atol=1e-5 if single else 1e-7), (name, w)
        if getattr(args[w], "dtype", None) == np.float32:
            assert np.asarray(mine).dtype == np.float32, (name, w, np.asarray(mine).dtype)


def _rounds(methods, args, rounds, batch_s=0.01):
    sizes = {}
    for key, fn in methods.items():
        t0 = time.perf_counter()
        fn(*args)
        sizes[key] = max(1, int(batch_s / max(time.perf_counter() - t0, 1e-7)))
    best = dict.fromkeys(methods, float("inf"))
    names = list(methods)
    for r in range(rounds):
        for key in names[r % len(names):] + names[:r % len(names)]:
            fn, n = methods[key], sizes[key]
            t0 = time.perf_counter()
            for _ in range(n):
                fn(*args)
            best[key] = min(best[key], (time.perf_counter() - t0) / n)
    return best


def main(argv=None):
    import s2s
    from s2s import compiled

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--only", help="programs whose name contains this")
    ap.add_argument("--no-compile", action="store_true", help="leave out the compile=True column")
    opts = ap.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f}; min of {opts.rounds} interleaved rounds; s2s {s2s.__version__}")
    head = (f"{'program':44s} {'primal':>9s} {'hand':>9s} {'general':>9s} {'compiled':>9s} "
            f"{'gen/hand':>8s} {'gen/prim':>8s} {'comp/gen':>8s} notes keeps")
    print(head)
    print("-" * len(head))
    fallbacks = []
    for name, f, args, wrt in programs():
        if opts.only and opts.only not in name:
            continue
        hand = HAND[f]
        general = s2s.grad(f, wrt=wrt)
        check(name, f, args, wrt, hand(*args))
        check(name, f, args, wrt, general(*args))
        methods = {"primal": f, "hand": hand, "general": general}
        keeps = "-"
        if not opts.no_compile:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", compiled.CompiledFallbackWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                fast = s2s.grad(f, wrt=wrt, compile=True)
                check(name, f, args, wrt, fast(*args))
            fallbacks += [f"{name}: {str(w.message).splitlines()[0]}" for w in caught
                          if issubclass(w.category, compiled.CompiledFallbackWarning)]
            methods["compiled"] = fast
            keeps = "numba" if all(v.call is not None for v in fast.__s2s_variants__.values()) else "numpy"
        best = _rounds(methods, args, opts.rounds)
        src = s2s.source(general, *args)
        notes = sum(1 for line in src.splitlines() if line.strip().startswith("# s2s:"))
        comp = best.get("compiled", float("nan"))
        print(f"{name[:44]:44s} {best['primal'] * 1e6:7.1f}us {best['hand'] * 1e6:7.1f}us "
              f"{best['general'] * 1e6:7.1f}us {comp * 1e6:7.1f}us {best['general'] / best['hand']:8.2f} "
              f"{best['general'] / best['primal']:8.2f} {comp / best['general']:8.2f} {notes:5d} {keeps}")
    for line in fallbacks:
        print("fell back: " + line)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
