"""Benchmark problems: each has the function, a hand-written gradient, and arguments."""

import math
from typing import NamedTuple

import numpy as np


def taylor_sin(x):
    """sin(x) by a 25-term Taylor series: a scalar Python loop."""
    term = x
    total = x
    for k in range(1, 25):
        term = -term * x * x / ((2 * k) * (2 * k + 1))
        total = total + term
    return total


def taylor_sin_grad(x):
    """Hand-written derivative of taylor_sin (the series of cos)."""
    term = 1.0
    total = 1.0
    for k in range(1, 25):
        term = -term * x * x / ((2 * k - 1) * (2 * k))
        total = total + term
    return total


def taylor_sin_adjoint(x):
    """Hand-written reverse sweep of taylor_sin's own loop (not the cosine series): what a person
    writing the adjoint of that loop would write; a reference for reverse mode's cost."""
    terms = []
    term = x
    for k in range(1, 25):
        terms.append(term)
        term = -term * x * x / ((2 * k) * (2 * k + 1))
    term_bar = 1.0  # the last term reaches the total once
    x_bar = 1.0  # total = x
    for k in range(24, 0, -1):
        prev = terms.pop()
        c = (2 * k) * (2 * k + 1)
        x_bar += term_bar * (-2.0 * prev * x / c)
        term_bar = term_bar * (-x * x / c) + (1.0 if k > 1 else 0.0)
    return x_bar + term_bar  # term = x


def mlp_loss(W1, W2, W3, X, Y):
    """MSE of a 64-64-10 tanh network."""
    h1 = np.tanh(X @ W1)
    h2 = np.tanh(h1 @ W2)
    out = h2 @ W3
    return np.mean((out - Y) ** 2)


def mlp_grad(W1, W2, W3, X, Y):
    """Hand-written gradient of mlp_loss with respect to W1."""
    h1 = np.tanh(X @ W1)
    h2 = np.tanh(h1 @ W2)
    out = h2 @ W3
    d_out = 2.0 * (out - Y) / out.size
    d_h2 = (d_out @ W3.T) * (1 - h2 * h2)
    d_h1 = (d_h2 @ W2.T) * (1 - h1 * h1)
    return X.T @ d_h1


def rnn_loss(Wh, Wx, xs, h0):
    """A 30-step tanh RNN; loss is the sum of squares of the last state."""
    h = h0
    for t in range(len(xs)):
        h = np.tanh(h @ Wh + xs[t] @ Wx)
    return np.sum(h * h)


def rnn_grad(Wh, Wx, xs, h0):
    """Hand-written backpropagation through time, gradient with respect to Wh."""
    hs = [h0]
    h = h0
    for t in range(len(xs)):
        h = np.tanh(h @ Wh + xs[t] @ Wx)
        hs.append(h)
    dh = 2 * h
    dWh = np.zeros_like(Wh)
    for t in reversed(range(len(xs))):
        da = dh * (1 - hs[t + 1] ** 2)
        dWh += np.outer(hs[t], da)
        dh = da @ Wh.T
    return dWh


def logreg_loss(w, X, y):
    """Logistic regression negative log-likelihood (memory-bound)."""
    z = X @ w
    return np.sum(np.logaddexp(0.0, z) - y * z)


def logreg_grad(w, X, y):
    """Hand-written gradient of logreg_loss."""
    z = X @ w
    return X.T @ (1.0 / (1.0 + np.exp(-z)) - y)


def seed_control(a):
    """The lecture's while/if function."""
    b = a * 2
    while np.linalg.norm(b) < 1000:
        b = b * 2
    if np.sum(b) > 0:
        c = b
    else:
        c = 100 * b
    return c


def seed_control_grad(a):
    """Hand-written: the function is linear in a along the path taken."""
    return seed_control(a) / a


def square(x):
    """The trivial function whose cached gradient call measures s2s's per-call overhead."""
    return x * x


def square_grad(x):
    """Hand-written derivative of square."""
    return 2 * x


def rnn_local_loss(Wh, Wx, xs):
    """A 30-step tanh RNN whose state is allocated inside the function (`h = np.zeros(32)`)."""
    h = np.zeros(32)
    for t in range(xs.shape[0]):
        h = np.tanh(Wh @ h + Wx @ xs[t])
    return np.sum(h * h)


def rnn_local_grad(Wh, Wx, xs):
    """Hand-written backpropagation through time of rnn_local_loss, gradient with respect to Wh."""
    hs = [np.zeros(32)]
    h = hs[0]
    for t in range(xs.shape[0]):
        h = np.tanh(Wh @ h + Wx @ xs[t])
        hs.append(h)
    dh = 2 * h
    dWh = np.zeros_like(Wh)
    for t in reversed(range(xs.shape[0])):
        da = dh * (1 - hs[t + 1] ** 2)
        dWh += np.outer(da, hs[t])
        dh = Wh.T @ da
    return dWh


def euler(k, x0):
    """100 explicit Euler steps of a damped spring, state started by tuple assignment; scalar loop."""
    x, v = x0, 0.0
    for _ in range(100):
        a = -k * x - 0.1 * v
        x = x + 0.01 * v
        v = v + 0.01 * a
    return x * x + v * v


def euler_grad(k, x0):
    """Hand-written adjoint of euler's loop (positions saved going forward), gradient with respect to k."""
    xs = []
    x, v = x0, 0.0
    for _ in range(100):
        xs.append(x)
        a = -k * x - 0.1 * v
        x = x + 0.01 * v
        v = v + 0.01 * a
    x_bar, v_bar, k_bar = 2.0 * x, 2.0 * v, 0.0
    for _ in range(100):
        a_bar = 0.01 * v_bar
        v_bar = v_bar + 0.01 * x_bar - 0.1 * a_bar
        k_bar -= a_bar * xs.pop()
        x_bar = x_bar - k * a_bar
    return k_bar


def relu_lse(W1, W2, X, Y):
    """A ReLU network with a max-shifted log-sum-exp (softmax cross-entropy) loss."""
    h = np.maximum(X @ W1, 0.0)
    z = h @ W2
    m = np.max(z, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + m
    return np.mean(lse - np.sum(z * Y, axis=1, keepdims=True))


def relu_lse_grad(W1, W2, X, Y):
    """Hand-written gradient of relu_lse with respect to W1 (softmax minus the targets)."""
    a = X @ W1
    h = np.maximum(a, 0.0)
    z = h @ W2
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    dz = (e / np.sum(e, axis=1, keepdims=True) - Y) / X.shape[0]
    return X.T @ ((dz @ W2.T) * (a > 0))


def path_length(P):
    """Length of a polyline: a Python loop reading rows P[i + 1] - P[i], a norm, a scalar sum."""
    e = 0.0
    for i in range(P.shape[0] - 1):
        d = P[i + 1] - P[i]
        e = e + np.linalg.norm(d)
    return e


def path_length_grad(P):
    """Hand-written adjoint of path_length's loop: each segment's unit vector into two rows."""
    G = np.zeros_like(P)
    for i in range(P.shape[0] - 1):
        d = P[i + 1] - P[i]
        u = d / np.linalg.norm(d)
        G[i + 1] += u
        G[i] -= u
    return G


def sigmoid(x):
    """The logistic function, a helper as people write it."""
    return 1.0 / (1.0 + np.exp(-x))


def lstm_loss(Wx, Wh, b, xs):
    """An LSTM cell unrolled over the sequence xs, state allocated inside; loss: sum of squares of h."""
    H = Wh.shape[1]
    h = np.zeros(H)
    c = np.zeros(H)
    for t in range(xs.shape[0]):
        z = Wx @ xs[t] + Wh @ h + b
        i = sigmoid(z[:H])
        f = sigmoid(z[H:2 * H])
        o = sigmoid(z[2 * H:3 * H])
        g = np.tanh(z[3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
    return np.sum(h ** 2)


def lstm_grad(Wx, Wh, b, xs):
    """Hand-written backpropagation through time of lstm_loss, gradient with respect to Wh."""
    H = Wh.shape[1]
    h = np.zeros(H)
    c = np.zeros(H)
    saved = []
    for t in range(xs.shape[0]):
        z = Wx @ xs[t] + Wh @ h + b
        i = sigmoid(z[:H])
        f = sigmoid(z[H:2 * H])
        o = sigmoid(z[2 * H:3 * H])
        g = np.tanh(z[3 * H:])
        c_prev = c
        c = f * c + i * g
        tc = np.tanh(c)
        saved.append((h, c_prev, i, f, o, g, tc))
        h = o * tc
    dh = 2 * h
    dc = np.zeros(H)
    dWh = np.zeros_like(Wh)
    dz = np.empty(4 * H)
    for t in reversed(range(xs.shape[0])):
        h_prev, c_prev, i, f, o, g, tc = saved[t]
        dc = dc + dh * o * (1 - tc * tc)
        dz[:H] = dc * g * i * (1 - i)
        dz[H:2 * H] = dc * c_prev * f * (1 - f)
        dz[2 * H:3 * H] = dh * tc * o * (1 - o)
        dz[3 * H:] = dc * i * (1 - g * g)
        dWh += np.outer(dz, h_prev)
        dh = Wh.T @ dz
        dc = dc * f
    return dWh


def mlp_xent(W1, b1, W2, b2, X, y):
    """A tanh MLP with softmax cross-entropy on integer labels: log-sum-exp and logp[np.arange(n), y]."""
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    logp = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(X.shape[0]), y])


def mlp_xent_grad(W1, b1, W2, b2, X, y):
    """Hand-written gradient of mlp_xent with respect to W1 (softmax minus one-hot)."""
    n = X.shape[0]
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    e = np.exp(logits)
    d = e / np.sum(e, axis=1, keepdims=True)
    d[np.arange(n), y] -= 1.0
    d /= n
    return X.T @ ((d @ W2.T) * (1 - h * h))


def lotka_volterra(u, theta):
    """The Lotka-Volterra vector field at state u = (prey, predator)."""
    a, b, c, d = theta
    x, y = u[0], u[1]
    return np.array([a * x - b * x * y, c * x * y - d * y])


def rk4_lv(theta, u0):
    """50 classic Runge-Kutta steps of Lotka-Volterra; loss: squared distance of the end state to (1, 1)."""
    dt = 0.05
    u = u0
    for _ in range(50):
        k1 = lotka_volterra(u, theta)
        k2 = lotka_volterra(u + 0.5 * dt * k1, theta)
        k3 = lotka_volterra(u + 0.5 * dt * k2, theta)
        k4 = lotka_volterra(u + dt * k3, theta)
        u = u + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return np.sum((u - 1.0) ** 2)


def _lv_vjp(u, theta, g):
    """(g^T df/du, g^T df/dtheta) of lotka_volterra at u."""
    a, b, c, d = theta
    x, y = u[0], u[1]
    gu = np.array([g[0] * (a - b * y) + g[1] * c * y, -g[0] * b * x + g[1] * (c * x - d)])
    gt = np.array([g[0] * x, -g[0] * x * y, g[1] * x * y, -g[1] * y])
    return gu, gt


def rk4_lv_grad(theta, u0):
    """Hand-written adjoint of rk4_lv's loop (stage inputs saved going forward), gradient w.r.t. theta."""
    dt = 0.05
    u = u0
    saved = []
    for _ in range(50):
        k1 = lotka_volterra(u, theta)
        u2 = u + 0.5 * dt * k1
        k2 = lotka_volterra(u2, theta)
        u3 = u + 0.5 * dt * k2
        k3 = lotka_volterra(u3, theta)
        u4 = u + dt * k3
        k4 = lotka_volterra(u4, theta)
        saved.append((u, u2, u3, u4))
        u = u + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    u_bar = 2.0 * (u - 1.0)
    th_bar = np.zeros(4)
    for t in range(49, -1, -1):
        u1, u2, u3, u4 = saved[t]
        k4_bar = dt / 6.0 * u_bar
        gu, gt = _lv_vjp(u4, theta, k4_bar)
        th_bar += gt
        k3_bar = dt / 3.0 * u_bar + dt * gu
        u_new = u_bar + gu
        gu, gt = _lv_vjp(u3, theta, k3_bar)
        th_bar += gt
        k2_bar = dt / 3.0 * u_bar + 0.5 * dt * gu
        u_new = u_new + gu
        gu, gt = _lv_vjp(u2, theta, k2_bar)
        th_bar += gt
        k1_bar = dt / 6.0 * u_bar + 0.5 * dt * gu
        u_new = u_new + gu
        gu, gt = _lv_vjp(u1, theta, k1_bar)
        th_bar += gt
        u_bar = u_new + gu
    return th_bar


def gauss_nll(A, X, mu):
    """Negative log-likelihood of the rows of X under N(mu, A A^T + 0.1 I), by slogdet and solve."""
    n, d = X.shape
    S = A @ A.T + 0.1 * np.eye(d)
    sign, logdet = np.linalg.slogdet(S)
    D = X - mu
    quad = np.sum(D * np.linalg.solve(S, D.T).T)
    return 0.5 * quad + 0.5 * n * logdet + 0.5 * n * d * np.log(2 * np.pi)


def gauss_nll_grad(A, X, mu):
    """Hand-written gradient of gauss_nll with respect to A."""
    n, d = X.shape
    S = A @ A.T + 0.1 * np.eye(d)
    Si = np.linalg.inv(S)
    D = X - mu
    B = D @ Si
    dS = 0.5 * n * Si - 0.5 * B.T @ B
    return 2.0 * dS @ A


def conv1d(w, x):
    """A 1-d convolution written as a Python loop over windows x[i:i+k] @ w; loss: sum of tanh squared."""
    k = w.shape[0]
    n = x.shape[0] - k + 1
    y = np.zeros(n)
    for i in range(n):
        y[i] = x[i:i + k] @ w
    return np.sum(np.tanh(y) ** 2)


def conv1d_grad(w, x):
    """Hand-written adjoint of conv1d's loop, gradient with respect to w."""
    k = w.shape[0]
    n = x.shape[0] - k + 1
    y = np.zeros(n)
    for i in range(n):
        y[i] = x[i:i + k] @ w
    t = np.tanh(y)
    dy = 2 * t * (1 - t * t)
    dw = np.zeros(k)
    for i in range(n):
        dw += dy[i] * x[i:i + k]
    return dw


def attention(Wq, Wk, Wv, X):
    """Single-head self-attention, softmax over scores Q @ K.T / sqrt(d); loss: sum of squares of the output."""
    Q = X @ Wq
    K = X @ Wk
    V = X @ Wv
    s = Q @ K.T / np.sqrt(Q.shape[1])
    s = s - np.max(s, axis=1, keepdims=True)
    a = np.exp(s)
    a = a / np.sum(a, axis=1, keepdims=True)
    out = a @ V
    return np.sum(out ** 2)


def attention_grad(Wq, Wk, Wv, X):
    """Hand-written gradient of attention with respect to Wq."""
    Q = X @ Wq
    K = X @ Wk
    V = X @ Wv
    scale = 1.0 / np.sqrt(Q.shape[1])
    s = Q @ K.T * scale
    a = np.exp(s - np.max(s, axis=1, keepdims=True))
    a /= np.sum(a, axis=1, keepdims=True)
    out = a @ V
    da = (2 * out) @ V.T
    ds = a * (da - np.sum(da * a, axis=1, keepdims=True))
    return X.T @ (ds @ K * scale)


# further hand-written references timed beside a problem (reported under the table, not as columns)
REFERENCES = {taylor_sin: ("a hand-written reverse sweep of the same loop", taylor_sin_adjoint)}


class Problem(NamedTuple):
    name: str
    f: object
    hand: object
    args: tuple
    wrt: int


def problems(scale=1.0):
    """Problem(name, f, hand gradient, args, wrt) for every benchmark problem.

    `scale` shrinks the logistic-regression data (`make bench` uses 1.0, `--quick` 0.1).
    The peers' versions of each `f` (benchmarks/peers.py) are keyed by `f.__name__`.
    """
    rng = np.random.default_rng(0)
    n_logreg = int(200_000 * scale)
    X = rng.normal(size=(64, 64))
    Y = rng.normal(size=(64, 10))
    W1, W2, W3 = (rng.normal(size=s) * 0.1 for s in ((64, 64), (64, 64), (64, 10)))
    Wh, Wx = rng.normal(size=(32, 32)) * 0.1, rng.normal(size=(8, 32)) * 0.1
    xs, h0 = rng.normal(size=(30, 1, 8)), np.zeros((1, 32))
    Xl = rng.normal(size=(n_logreg, 50))
    wl = rng.normal(size=50) * 0.1
    yl = (rng.random(n_logreg) < 0.5).astype(float)
    Wh1, Wx1, xs1 = rng.normal(size=(32, 32)) * 0.1, rng.normal(size=(32, 8)) * 0.1, rng.normal(size=(30, 8))
    Wr1, Wr2, Xr = rng.normal(size=(64, 64)) * 0.1, rng.normal(size=(64, 10)) * 0.1, rng.normal(size=(128, 64))
    Yr = np.eye(10)[rng.integers(0, 10, size=128)]
    P = rng.normal(size=(100, 3))
    Lx, Lh, Lb, Lxs = (rng.normal(size=(64, 8)) * 0.2, rng.normal(size=(64, 16)) * 0.2,
                       np.zeros(64), rng.normal(size=(20, 8)))
    C1, c1, C2, c2 = rng.normal(size=(32, 64)) * 0.2, np.zeros(64), rng.normal(size=(64, 10)) * 0.2, np.zeros(10)
    Xc, yc = rng.normal(size=(128, 32)), rng.integers(0, 10, size=128)
    theta, u0 = np.array([1.1, 0.4, 0.1, 0.4]), np.array([10.0, 10.0]) * 0.2
    Ag, Xg, mug = rng.normal(size=(5, 5)) * 0.5, rng.normal(size=(200, 5)), np.zeros(5)
    wc, xc = rng.normal(size=5), rng.normal(size=200)
    Wq, Wk, Wv = (rng.normal(size=(16, 16)) * 0.3 for _ in range(3))
    Xa = rng.normal(size=(32, 16))
    return [
        Problem("taylor, 25 terms (scalar loop)", taylor_sin, taylor_sin_grad, (0.7,), 0),
        Problem("mlp 64-64-10, batch 64", mlp_loss, mlp_grad, (W1, W2, W3, X, Y), 0),
        Problem("rnn 30 steps, hidden 32", rnn_loss, rnn_grad, (Wh, Wx, xs, h0), 0),
        Problem(f"logreg {n_logreg}x50", logreg_loss, logreg_grad, (wl, Xl, yl), 0),
        Problem("seed while/if (scalar a)", seed_control, seed_control_grad, (0.37,), 0),
        Problem("rnn, local state h = np.zeros(32)", rnn_local_loss, rnn_local_grad, (Wh1, Wx1, xs1), 0),
        Problem("euler 100 steps, x, v = x0, 0.0", euler, euler_grad, (1.3, 0.8), 0),
        Problem("relu net, log-sum-exp loss", relu_lse, relu_lse_grad, (Wr1, Wr2, Xr, Yr), 0),
        Problem("path length, rows P[i + 1] - P[i]", path_length, path_length_grad, (P,), 0),
        Problem("lstm 20 steps, hidden 16, local state", lstm_loss, lstm_grad, (Lx, Lh, Lb, Lxs), 1),
        Problem("mlp softmax xent, logp[arange(n), y]", mlp_xent, mlp_xent_grad, (C1, c1, C2, c2, Xc, yc), 0),
        Problem("rk4 lotka-volterra 50 steps", rk4_lv, rk4_lv_grad, (theta, u0), 0),
        Problem("gaussian nll, slogdet + solve", gauss_nll, gauss_nll_grad, (Ag, Xg, mug), 0),
        Problem("conv1d loop, y[i] = x[i:i+k] @ w", conv1d, conv1d_grad, (wc, xc), 0),
        Problem("attention 32x16, single head", attention, attention_grad, (Wq, Wk, Wv, Xa), 0),
    ]


__all__ = ["Problem", "problems", "square", "square_grad", "math", "REFERENCES"]
