"""More ordinary programs (the kinds published as autograd/JAX examples, textbook numerics, small models),
written without s2s in mind: the same format as ordinary.py's programs(), run by its harness.

Run: .venv/bin/python benchmarks/ordinary_more.py [--rounds 9] [--only NAME]
"""

from __future__ import annotations

import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402


def softplus(x):
    return np.logaddexp(0.0, x)


def mlp_softplus_l2(params, X, y, lam=1e-3):
    h = softplus(X @ params["W1"] + params["b1"])
    out = (h @ params["W2"] + params["b2"]).ravel()
    penalty = 0.0
    for name, p in params.items():
        if name.startswith("W"):
            penalty = penalty + np.sum(p ** 2)
    return np.mean((out - y) ** 2) + lam * penalty


def lse(a, axis=None):
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def gmm_loglik(logits, mus, log_sigmas, x):
    logw = logits - lse(logits)
    z = (x[:, None] - mus[None, :]) / np.exp(log_sigmas)[None, :]
    comp = -0.5 * z ** 2 - log_sigmas - 0.5 * np.log(2 * np.pi)
    return -np.sum(lse(comp + logw, axis=1))


def spring_rhs(state, k, c):
    x, v = state
    return v, -k * x - c * v


def spring_rk2(params, x0, v0, dt=0.05, steps=100):
    k, c = params[0], params[1]
    state = (x0, v0)
    energy = 0.0
    for _ in range(steps):
        dx1, dv1 = spring_rhs(state, k, c)
        mid = (state[0] + 0.5 * dt * dx1, state[1] + 0.5 * dt * dv1)
        dx2, dv2 = spring_rhs(mid, k, c)
        state = (state[0] + dt * dx2, state[1] + dt * dv2)
        energy = energy + state[0] ** 2
    return energy * dt


def gauss_newton_residual(theta, t, y):
    a, b, c = theta
    model = a * np.exp(-b * t) + c
    r = model - y
    return 0.5 * np.linalg.norm(r) ** 2 + 0.1 * np.linalg.norm(theta)


def polyfit_loss(coeffs, x, y):
    pred = np.zeros_like(x)
    for i, c in enumerate(coeffs):
        pred += c * x ** i
    return np.mean((pred - y) ** 2)


def causal_attention(Wq, Wk, Wv, X):
    T, d = X.shape
    Q, K, V = X @ Wq, X @ Wk, X @ Wv
    scores = Q @ K.T / np.sqrt(d)
    mask = np.tril(np.ones((T, T))) > 0
    scores = np.where(mask, scores, -1e9)
    scores = scores - scores.max(axis=-1, keepdims=True)
    w = np.exp(scores)
    w = w / w.sum(axis=-1, keepdims=True)
    return np.sum((w @ V) ** 2)


def batchnorm_net(gamma, beta, W, X, y, eps=1e-5):
    h = X @ W
    mu = h.mean(axis=0)
    var = h.var(axis=0)
    hn = (h - mu) / np.sqrt(var + eps)
    out = np.maximum(gamma * hn + beta, 0.0)
    return np.mean((out.sum(axis=1) - y) ** 2)


def heat_explicit(kappa, u0, dx=0.1, dt=0.004, t_end=0.4):
    u = u0.copy()
    t = 0.0
    r = kappa * dt / dx ** 2
    while t < t_end:
        un = u.copy()
        u[1:-1] = un[1:-1] + r * (un[2:] - 2 * un[1:-1] + un[:-2])
        u[0] = 0.0
        u[-1] = 0.0
        t += dt
    return np.sum(u ** 2) * dx


def kalman_matrix(q, A, H, ys):
    n = A.shape[0]
    m = np.zeros(n)
    P = np.eye(n)
    Q = q * np.eye(n)
    R = 0.5 * np.eye(H.shape[0])
    nll = 0.0
    for y in ys:
        m = A @ m
        P = A @ P @ A.T + Q
        S = H @ P @ H.T + R
        v = y - H @ m
        Sinv_v = np.linalg.solve(S, v)
        nll = nll + 0.5 * (v @ Sinv_v + np.log(np.linalg.det(S)))
        K = P @ H.T @ np.linalg.inv(S)
        m = m + K @ v
        P = P - K @ H @ P
    return nll


def hmm_forward(log_T, log_E, log_pi, obs):
    log_T = log_T - lse(log_T, axis=1)[:, None]
    log_E = log_E - lse(log_E, axis=1)[:, None]
    alpha = log_pi - lse(log_pi) + log_E[:, obs[0]]
    for t in range(1, len(obs)):
        alpha = lse(alpha[:, None] + log_T, axis=0) + log_E[:, obs[t]]
    return -lse(alpha)


def cnn_einsum(filters, w_out, images, labels):
    B, H, W = images.shape
    F, k, _ = filters.shape
    n = H - k + 1
    patches = np.stack([images[:, i:i + k, j:j + k] for i in range(n) for j in range(n)], axis=1)
    conv = np.einsum("bpij,fij->bpf", patches, filters)
    feat = np.maximum(conv, 0.0).mean(axis=1)
    logits = feat @ w_out
    logits = logits - logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -np.mean(logp[np.arange(B), labels])


def encoder(params, x):
    h = np.tanh(x @ params[0][0] + params[0][1])
    return h @ params[1][0] + params[1][1], h @ params[2][0] + params[2][1]


def vae_loss(enc, dec, x, eps):
    mu, logvar = encoder(enc, x)
    z = mu + np.exp(0.5 * logvar) * eps
    Wd, bd = dec
    logits = z @ Wd + bd
    rec = np.sum(np.logaddexp(0.0, logits) - x * logits)
    kl = -0.5 * np.sum(1 + logvar - mu ** 2 - np.exp(logvar))
    return (rec + kl) / x.shape[0]


def logreg_f32(w, b, X, y):
    z = X @ w + b
    p = 1.0 / (1.0 + np.exp(-z))
    eps = np.float32(1e-6)
    return -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))


def weighted_centroid(w, P):
    acc = np.zeros(P.shape[1])
    total = 0.0
    for i in range(P.shape[0]):
        acc += np.exp(w[i]) * P[i]
        total += np.exp(w[i])
    c = acc / total
    return np.sum((P - c) ** 2)


def dense(x, W, b):
    z = x @ W + b
    return z, np.tanh(z)


def resnet_blocks(blocks, x, y):
    h = x
    pre = 0.0
    for W, b in blocks:
        z, a = dense(h, W, b)
        h = h + a
        pre = pre + np.mean(z ** 2)
    return np.mean((h.sum(axis=1) - y) ** 2) + 1e-3 * pre


def _layer(r, a, b):
    return (r.normal(size=(a, b)) / np.sqrt(a), r.normal(size=b) * 0.1)


def programs():
    """(name, f, args, wrt) of every program, with fixed data."""
    r = np.random.default_rng(1)
    T = 12
    obs = r.integers(0, 3, size=30)
    return [
        ("2-layer softplus net, L2 over a dict", mlp_softplus_l2,
         ({"W1": r.normal(size=(8, 32)) * 0.3, "b1": np.zeros(32), "W2": r.normal(size=(32, 1)) * 0.3,
           "b2": np.zeros(1)}, r.normal(size=(64, 8)), r.normal(size=64)), 0),
        ("Gaussian mixture log-likelihood, logsumexp", gmm_loglik,
         (r.normal(size=4), r.normal(size=4), r.normal(size=4) * 0.1, r.normal(size=200)), (0, 1, 2)),
        ("damped spring, RK2, tuple state, 100 steps", spring_rk2, (np.array([2.0, 0.3]), 1.0, 0.0), 0),
        ("exponential fit residual, np.linalg.norm", gauss_newton_residual,
         (np.array([1.0, 0.5, 0.1]), np.linspace(0, 4, 50), r.normal(size=50)), 0),
        ("polynomial fit, enumerate coefficients, +=", polyfit_loss,
         (r.normal(size=6), np.linspace(-1, 1, 100), r.normal(size=100)), 0),
        ("causal attention, np.where mask, axis=-1", causal_attention,
         (*(r.normal(size=(8, 8)) * 0.3 for _ in range(3)), r.normal(size=(T, 8))), (0, 1, 2)),
        ("batch norm + relu layer", batchnorm_net,
         (1.0 + 0.1 * r.normal(size=16), 0.1 * r.normal(size=16), r.normal(size=(8, 16)) * 0.3,
          r.normal(size=(64, 8)), r.normal(size=64)), (0, 1, 2)),
        ("1-d heat equation, explicit, while, u[1:-1]", heat_explicit, (1.0, np.sin(np.linspace(0, np.pi, 50))), 0),
        ("matrix Kalman filter, solve/det/inv", kalman_matrix,
         (0.2, np.array([[1.0, 0.1], [0.0, 0.95]]), np.array([[1.0, 0.0]]), r.normal(size=(30, 1))), 0),
        ("HMM forward algorithm, logsumexp loop", hmm_forward,
         (r.normal(size=(4, 4)), r.normal(size=(4, 3)), r.normal(size=4), obs), (0, 1, 2)),
        ("small CNN via einsum over patches", cnn_einsum,
         (r.normal(size=(4, 3, 3)) * 0.3, r.normal(size=(4, 3)) * 0.3, r.normal(size=(8, 8, 8)),
          r.integers(0, 3, size=8)), (0, 1)),
        ("VAE loss, helper returns (mu, logvar), noise arg", vae_loss,
         ([_layer(r, 10, 16), _layer(r, 16, 2), _layer(r, 16, 2)], _layer(r, 2, 10),
          (r.random((32, 10)) < 0.5).astype(float), r.normal(size=(32, 2))), (0, 1)),
        ("logistic regression in float32", logreg_f32,
         (r.normal(size=10).astype(np.float32) * 0.1, np.float32(0.0), r.normal(size=(128, 10)).astype(np.float32),
          (r.random(128) < 0.5).astype(np.float32)), (0, 1)),
        ("weighted centroid, += on a local array", weighted_centroid, (r.normal(size=20), r.normal(size=(20, 3))), 0),
        ("residual blocks, helper returns (z, tanh z)", resnet_blocks,
         ([_layer(r, 16, 16) for _ in range(3)], r.normal(size=(32, 16)), r.normal(size=32)), 0),
    ]


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import ordinary  # noqa: E402

    ordinary.programs = programs
    ordinary.main()
