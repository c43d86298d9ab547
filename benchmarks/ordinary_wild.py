"""Ordinary programs s2s had not seen (n-body, meta-learning, option pricing, finite elements, soft k-means,
a transformer block, lattice energies, ridge polynomials, Monte Carlo, fixed points, RK4 over a list, power
iteration, a Poisson GLM, a loss driven by a config dict), written without s2s in mind: the same format as
ordinary.py's programs(), run by its harness.

Run: .venv/bin/python benchmarks/ordinary_wild.py [--rounds 9] [--only NAME]
"""

from __future__ import annotations

import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402


def nbody(pos, vel, masses, dt=0.01, steps=10, soft=0.1):
    for _ in range(steps):
        diff = pos[None, :, :] - pos[:, None, :]
        dist2 = np.sum(diff ** 2, axis=-1) + soft ** 2
        inv3 = dist2 ** -1.5
        acc = np.sum(diff * (masses[None, :] * inv3)[:, :, None], axis=1)
        vel = vel + dt * acc
        pos = pos + dt * vel
    return np.sum(pos[:, 0]) + 0.5 * np.sum(masses[:, None] * vel ** 2)


def mse_grad(w, X, y):
    r = X @ w - y
    return X.T @ r / X.shape[0]


def meta_learning(w0, X_tr, y_tr, X_te, y_te, lr=0.1, inner_steps=5):
    w = w0
    for _ in range(inner_steps):
        w = w - lr * mse_grad(w, X_tr, y_tr)
    r = X_te @ w - y_te
    return 0.5 * np.mean(r ** 2)


def norm_cdf(x):
    # the tanh approximation of the normal CDF
    return 0.5 * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x ** 3)))


def black_scholes(sigma, S, K, T, r=0.02):
    sqrtT = np.sqrt(T)
    d1 = (np.log(S / K) + (r + 0.5 * sigma ** 2) * T) / (sigma * sqrtT)
    d2 = d1 - sigma * sqrtT
    disc = K * np.exp(-r * T)
    call = S * norm_cdf(d1) - disc * norm_cdf(d2)
    put = call - S + disc
    price = np.where(K > S, put, call)
    return np.sum(price)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def gru_state_dict(params, xs):
    state = {"h": np.zeros(params["Uz"].shape[0]), "loss": 0.0}
    for x in xs:
        h = state["h"]
        z = _sigmoid(x @ params["Wz"] + h @ params["Uz"])
        r = _sigmoid(x @ params["Wr"] + h @ params["Ur"])
        hh = np.tanh(x @ params["Wh"] + (r * h) @ params["Uh"])
        state["h"] = (1 - z) * h + z * hh
        state["loss"] += np.sum(state["h"] ** 2)
    return state["loss"]


def fem_1d(k, f, L=1.0):
    n = k.shape[0]
    h = L / n
    K = np.zeros((n + 1, n + 1))
    F = np.zeros(n + 1)
    for e in range(n):
        ke = k[e] / h
        K[e, e] += ke
        K[e, e + 1] -= ke
        K[e + 1, e] -= ke
        K[e + 1, e + 1] += ke
        F[e] += 0.5 * h * f[e]
        F[e + 1] += 0.5 * h * f[e]
    u = np.linalg.solve(K[1:-1, 1:-1], F[1:-1])
    return u @ F[1:-1]


def soft_kmeans(centers, X, beta=2.0, iters=3):
    for _ in range(iters):
        d2 = np.sum((X[:, None, :] - centers[None, :, :]) ** 2, axis=2)
        logits = -beta * d2
        logits -= logits.max(axis=1, keepdims=True)
        R = np.exp(logits)
        R /= R.sum(axis=1, keepdims=True)
        centers = (R.T @ X) / R.sum(axis=0)[:, None]
    d2 = np.sum((X[:, None, :] - centers[None, :, :]) ** 2, axis=2)
    return np.sum(R * d2)


def layer_norm(x, g, b, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return g * (x - mu) / np.sqrt(var + eps) + b


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def self_attention(x, p):
    q, k, v = x @ p["Wq"], x @ p["Wk"], x @ p["Wv"]
    a = softmax(q @ k.T / np.sqrt(q.shape[-1]))
    return a @ v @ p["Wo"]


def transformer_block(p, x):
    h = x + self_attention(layer_norm(x, p["g1"], p["b1"]), p)
    h = h + np.maximum(layer_norm(h, p["g2"], p["b2"]) @ p["W1"], 0.0) @ p["W2"]
    return np.mean(h ** 2)


def xy_energy(theta, J=1.0, field=0.1):
    right = np.roll(theta, -1, axis=1)
    down = np.roll(theta, -1, axis=0)
    E = -J * np.sum(np.cos(theta - right) + np.cos(theta - down))
    return E - field * np.sum(np.cos(theta))


def ridge_poly(log_lam, x, y, deg=5):
    cols = []
    for d in range(deg + 1):
        cols.append(x ** d)
    V = np.stack(cols, axis=1)
    A = V.T @ V + np.exp(log_lam) * np.eye(deg + 1)
    c = np.linalg.solve(A, V.T @ y)
    r = V @ c - y
    return r @ r / len(y)


def mc_option(params, noise, S0=100.0, K=105.0, dt=1 / 52):
    mu, sigma = params
    S = np.full(noise.shape[0], S0)
    for t in range(noise.shape[1]):
        S = S * np.exp((mu - 0.5 * sigma ** 2) * dt + sigma * np.sqrt(dt) * noise[:, t])
    payoff = np.maximum(S - K, 0.0)
    return np.exp(-mu) * np.mean(payoff)


def deq_fixed_point(W, b, tol=1e-10):
    x = np.zeros_like(b)
    diff = 1.0
    it = 0
    while diff > tol and it < 100:
        x_new = np.tanh(W @ x + b)
        diff = np.max(np.abs(x_new - x))
        x = x_new
        it += 1
    return np.sum(x ** 2)


def lorenz(s, sigma, rho, beta):
    x, y, z = s[0], s[1], s[2]
    return [sigma * (y - x), x * (rho - z) - y, x * y - beta * z]


def rk4_lorenz(p, s0, dt=0.01, steps=40):
    s = np.array(s0)
    for _ in range(steps):
        k1 = np.array(lorenz(s, *p))
        k2 = np.array(lorenz(s + 0.5 * dt * k1, *p))
        k3 = np.array(lorenz(s + 0.5 * dt * k2, *p))
        k4 = np.array(lorenz(s + dt * k3, *p))
        s = s + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return np.sum(s ** 2)


def top_eigenvalue(A, v0, iters=30):
    S = A + A.T
    v = v0 / np.linalg.norm(v0)
    for _ in range(iters):
        w = S @ v
        v = w / np.linalg.norm(w)
    return v @ S @ v


def poisson_glm(beta, X, counts, exposure):
    eta = X @ beta + np.log(exposure)
    mu = np.exp(eta)
    nll = np.sum(mu - counts * eta)
    return nll + np.sum(np.log1p(beta ** 2))


def configured_loss(w, X, y, cfg):
    z = X @ w
    if cfg["loss"] == "huber":
        d = cfg["delta"]
        r = z - y
        per = np.where(np.abs(r) <= d, 0.5 * r ** 2, d * (np.abs(r) - 0.5 * d))
    else:
        per = (z - y) ** 2
    loss = np.mean(per)
    if cfg["l1"] > 0:
        loss = loss + cfg["l1"] * np.sum(np.abs(w))
    if cfg.get("l2", 0.0):
        loss += cfg["l2"] * w @ w
    return loss


def programs():
    """(name, f, args, wrt) of every program, with fixed data."""
    r = np.random.default_rng(2)
    n_opt = 64
    S = 100.0 * np.exp(0.1 * r.normal(size=n_opt))
    Xg = r.normal(size=(200, 6)) * 0.3
    beta_true = r.normal(size=6) * 0.5
    expo = r.uniform(0.5, 2.0, size=200)
    counts = r.poisson(expo * np.exp(Xg @ beta_true)).astype(float)
    xp = np.linspace(-1, 1, 60)
    d_model = 16
    blk = {"Wq": r.normal(size=(d_model, d_model)) * 0.2, "Wk": r.normal(size=(d_model, d_model)) * 0.2,
           "Wv": r.normal(size=(d_model, d_model)) * 0.2, "Wo": r.normal(size=(d_model, d_model)) * 0.2,
           "g1": np.ones(d_model), "b1": np.zeros(d_model), "g2": np.ones(d_model), "b2": np.zeros(d_model),
           "W1": r.normal(size=(d_model, 32)) * 0.2, "W2": r.normal(size=(32, d_model)) * 0.2}
    gru_p = {k: r.normal(size=(4 if k[0] == "W" else 12, 12)) * 0.3 for k in ("Wz", "Uz", "Wr", "Ur", "Wh", "Uh")}
    Xh = r.normal(size=(100, 5))
    return [
        ("n-body gravity, 10 steps, pairwise broadcast", nbody,
         (r.normal(size=(12, 3)), r.normal(size=(12, 3)) * 0.1, r.uniform(0.5, 1.5, size=12)), (0, 2)),
        ("meta-learning, 5 unrolled inner GD steps", meta_learning,
         (r.normal(size=8) * 0.1, r.normal(size=(32, 8)), r.normal(size=32), r.normal(size=(32, 8)),
          r.normal(size=32)), 0),
        ("Black-Scholes, tanh CDF, np.where put/call", black_scholes,
         (0.2 + 0.05 * r.random(n_opt), S, np.full(n_opt, 100.0), np.linspace(0.1, 2.0, n_opt)), (0, 1)),
        ("GRU over a sequence, state in a dict", gru_state_dict, (gru_p, r.normal(size=(15, 4))), 0),
        ("1-d FEM stiffness assembly, K[e, e] += ke", fem_1d,
         (1.0 + r.random(20), r.normal(size=20)), (0, 1)),
        ("soft k-means, softmax assignments, 3 iters", soft_kmeans,
         (r.normal(size=(4, 2)), r.normal(size=(80, 2))), 0),
        ("transformer block: layer norm + attention", transformer_block, (blk, r.normal(size=(10, d_model))), 0),
        ("XY model energy, np.roll, 32x32", xy_energy, (r.uniform(-np.pi, np.pi, size=(32, 32)),), 0),
        ("ridge polynomial, columns in a loop, solve", ridge_poly,
         (np.log(0.1), xp, np.sin(3 * xp) + 0.1 * r.normal(size=60)), (0, 2)),
        ("Monte-Carlo option, fixed noise argument", mc_option,
         (np.array([0.05, 0.2]), r.normal(size=(500, 12))), 0),
        ("fixed point x = tanh(Wx + b), while tol", deq_fixed_point,
         (r.normal(size=(10, 10)) * 0.1, r.normal(size=10)), (0, 1)),
        ("RK4 Lorenz, vector field returns a list", rk4_lorenz,
         (np.array([10.0, 28.0, 8.0 / 3.0]), np.array([1.0, 1.0, 1.0])), (0, 1)),
        ("power iteration, top eigenvalue, 30 iters", top_eigenvalue,
         (r.normal(size=(20, 20)), r.normal(size=20)), 0),
        ("Poisson GLM, exp and log1p", poisson_glm, (r.normal(size=6) * 0.1, Xg, counts, expo), 0),
        ("loss configured by a string-keyed dict", configured_loss,
         (r.normal(size=5) * 0.1, Xh, Xh @ r.normal(size=5) + r.standard_t(2, size=100),
          {"loss": "huber", "delta": 1.0, "l1": 1e-3, "l2": 1e-2}), 0),
    ]


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import ordinary  # noqa: E402

    ordinary.programs = programs
    ordinary.main()
