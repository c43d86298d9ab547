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
    ]


__all__ = ["Problem", "problems", "square", "square_grad", "math", "REFERENCES"]
