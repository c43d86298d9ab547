"""The cheap-gradient principle on ordinary programs with no hand-written gradient: s2s.grad against the primal.

Programs of the kinds people write (a GRU that concatenates its state with the input, a 2-d convolution
as two loops over windows, a recurrence over the items of an array, Horner's rule over coefficients,
mini-batches of a logistic regression, a pairwise energy over points, a Gaussian-process likelihood, an
exponential smoother, an RNN that collects its states in a list, Newton's square root, a softmax policy
over integer actions, a scalar Kalman filter, small MLPs whose parameters come in a dict or a list of
`(W, b)` layers, an RNN whose weights come in a dict, a classifier whose log-softmax helper calls a
log-sum-exp helper with a default axis, a leapfrog integrator whose step sizes are left to defaults, an
LSTM whose step is a helper returning a tuple). For each, in one process:

- the gradient is checked against central differences first;
- primal and gradient are timed in interleaved rounds (min over rounds of a batch of calls), and the
  ratio gradient / primal is printed (the target: at most 4x, the cheap-gradient principle);
- the transform (the code s2s.grad runs for these arguments, caches cleared) is timed, the min of 3;
- the number of `# s2s:` notes in the printed code says how many rewrites a shape left blocked.

Run: .venv/bin/python benchmarks/ordinary.py [--rounds 9] [--only NAME]
"""

from __future__ import annotations

import argparse
import os
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import s2s  # noqa: E402
from s2s import cache  # noqa: E402
from s2s.pytree import leaves  # noqa: E402


def gru(Wz, Wr, Wh, xs):
    h = np.zeros(Wz.shape[0])
    for t in range(xs.shape[0]):
        zin = np.concatenate([h, xs[t]])
        z = 1.0 / (1.0 + np.exp(-(Wz @ zin)))
        r = 1.0 / (1.0 + np.exp(-(Wr @ zin)))
        hc = np.tanh(Wh @ np.concatenate([r * h, xs[t]]))
        h = (1 - z) * h + z * hc
    return np.sum(h ** 2)


def conv2d(W, X):
    k = W.shape[0]
    n = X.shape[0] - k + 1
    Y = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            Y[i, j] = np.sum(X[i:i + k, j:j + k] * W)
    return np.sum(np.maximum(Y, 0.0) ** 2)


def recurrence(a, x):
    y = np.zeros(x.shape[0])
    y[0] = x[0]
    for t in range(1, x.shape[0]):
        y[t] = a * y[t - 1] + (1 - a) * x[t]
    return np.sum((y - x) ** 2)


def horner(coeffs, x):
    y = 0.0
    for c in coeffs:
        y = y * x + c
    return np.sum(y ** 2)


def minibatch(w, X, y):
    total = 0.0
    for b in range(0, X.shape[0], 32):
        Xb = X[b:b + 32]
        yb = y[b:b + 32]
        p = 1.0 / (1.0 + np.exp(-(Xb @ w)))
        total = total - np.sum(yb * np.log(p) + (1 - yb) * np.log(1 - p))
    return total / X.shape[0]


def pair_energy(P):
    e = 0.0
    for i in range(P.shape[0]):
        for j in range(i + 1, P.shape[0]):
            d = P[i] - P[j]
            e = e + 1.0 / np.sqrt(np.sum(d * d))
    return e


def gp_nll(ls, X, y):
    D = X[:, None, :] - X[None, :, :]
    K = np.exp(-np.sum(D ** 2, axis=2) / (2 * ls ** 2)) + 1e-3 * np.eye(X.shape[0])
    alpha = np.linalg.solve(K, y)
    sign, logdet = np.linalg.slogdet(K)
    return 0.5 * y @ alpha + 0.5 * logdet


def smoother(a, x):
    s = x[0]
    out = 0.0
    for t in range(1, x.shape[0]):
        s = a * s + (1 - a) * x[t]
        out = out + (s - x[t]) ** 2
    return out


def collected_states(W, U, xs):
    h = np.zeros(W.shape[0])
    hs = []
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
        hs.append(h)
    H = np.stack(hs)
    return np.sum(H.mean(axis=0) ** 2) + H.var()


def newton_sqrt(a):
    x = a
    steps = 0
    while abs(x * x - a) > 1e-12 and steps < 50:
        x = 0.5 * (x + a / x)
        steps += 1
    return x


def softmax_policy(theta, feats, actions):
    total = 0.0
    for t in range(feats.shape[0]):
        logits = feats[t] @ theta
        logits = logits - logits.max()
        p = np.exp(logits)
        p = p / p.sum()
        total += np.log(p[actions[t]])
    return -total


def kalman(q, ys):
    m, P = 0.0, 1.0
    ll = 0.0
    for y in ys:
        P = P + q
        S = P + 0.5
        K = P / S
        ll = ll - 0.5 * ((y - m) ** 2 / S + np.log(S))
        m = m + K * (y - m)
        P = (1 - K) * P
    return ll


def mlp_dict(params, X, y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    out = h @ params["W2"] + params["b2"]
    return np.mean((out - y) ** 2)


def mlp_layers(params, X, y):
    h = X
    for W, b in params[:-1]:
        h = np.tanh(h @ W + b)
    W, b = params[-1]
    return np.mean((h @ W + b - y) ** 2)


def rnn_dict(params, xs, ys):
    h = np.zeros(params["Wh"].shape[0])
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(params["Wh"] @ h + params["Wx"] @ xs[t] + params["b"])
        loss = loss + np.sum((params["Wo"] @ h + params["bo"] - ys[t]) ** 2)
    return loss / xs.shape[0]


def logsumexp(z, axis=-1):
    m = np.max(z, axis=axis, keepdims=True)
    return m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))


def log_softmax(z, axis=-1):
    return z - logsumexp(z, axis=axis)


def classifier(params, X, labels):
    h = np.tanh(X @ params["W1"] + params["b1"])
    logp = log_softmax(h @ params["W2"] + params["b2"])
    return -np.mean(logp[np.arange(X.shape[0]), labels])


def leapfrog(q, p, prec, step=0.05, n_steps=10):
    p = p - 0.5 * step * (prec @ q)
    for _ in range(n_steps - 1):
        q = q + step * p
        p = p - step * (prec @ q)
    q = q + step * p
    return 0.5 * q @ prec @ q + 0.5 * np.sum(p ** 2)


def sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def lstm_step(params, x, h, c):
    z = np.hstack([x, h]) @ params["W"] + params["b"]
    n = h.shape[0]
    i, f, o = sigmoid(z[:n]), sigmoid(z[n:2 * n]), sigmoid(z[2 * n:3 * n])
    c = f * c + i * np.tanh(z[3 * n:])
    return o * np.tanh(c), c


def lstm(params, xs, y):
    n = params["Wy"].shape[0]
    h, c = np.zeros(n), np.zeros(n)
    for x in xs:
        h, c = lstm_step(params, x, h, c)
    return np.sum((h @ params["Wy"] - y) ** 2)


def _layers(r, sizes):
    return [(r.normal(size=(a, b)) / np.sqrt(a), r.normal(size=b) * 0.1) for a, b in zip(sizes[:-1], sizes[1:])]


def programs():
    """(name, f, args, wrt) of every program, with fixed data."""
    r = np.random.default_rng(0)
    return [
        ("GRU, 20 steps, concatenated state", gru, (*(r.normal(size=(16, 24)) * 0.3 for _ in range(3)),
                                                     r.normal(size=(20, 8))), 0),
        ("2-d convolution loop, 16x16, 3x3", conv2d, (r.normal(size=(3, 3)), r.normal(size=(16, 16))), 0),
        ("recurrence y[t] = a y[t-1] + ..., 400", recurrence, (0.3, r.normal(size=400)), (0, 1)),
        ("Horner's rule, 10 coefficients", horner, (r.normal(size=10), r.normal(size=50)), 0),
        ("logistic regression in mini-batches", minibatch, (r.normal(size=10) * 0.1, r.normal(size=(256, 10)),
                                                             (r.random(256) < 0.5).astype(float)), 0),
        ("pairwise energy, 30 points", pair_energy, (r.normal(size=(30, 3)),), 0),
        ("Gaussian-process NLL, 40 points", gp_nll, (1.3, r.normal(size=(40, 2)), r.normal(size=40)), 0),
        ("exponential smoother, 200", smoother, (0.3, r.normal(size=200)), 0),
        ("RNN collecting its states in a list", collected_states, (r.normal(size=(16, 16)) * 0.3,
                                                                   r.normal(size=(16, 4)) * 0.3,
                                                                   r.normal(size=(25, 4))), 0),
        ("Newton's square root (while loop)", newton_sqrt, (2.3,), 0),
        ("softmax policy over integer actions", softmax_policy, (r.normal(size=(6, 4)) * 0.3,
                                                                 r.normal(size=(40, 6)),
                                                                 r.integers(0, 4, size=40)), 0),
        ("scalar Kalman filter, 100", kalman, (0.3, r.normal(size=100)), 0),
        ("MLP, parameters in a dict", mlp_dict, ({"W1": r.normal(size=(10, 32)) * 0.3, "b1": r.normal(size=32) * 0.1,
                                                  "W2": r.normal(size=(32, 1)) * 0.3, "b2": r.normal(size=1) * 0.1},
                                                 r.normal(size=(64, 10)), r.normal(size=(64, 1))), 0),
        ("MLP, list of (W, b), equal hidden layers", mlp_layers, (_layers(r, (10, 32, 32, 32, 1)),
                                                                  r.normal(size=(64, 10)), r.normal(size=(64, 1))), 0),
        ("MLP, list of (W, b), layers of other sizes", mlp_layers, (_layers(r, (10, 64, 32, 1)),
                                                                    r.normal(size=(64, 10)), r.normal(size=(64, 1))), 0),
        ("RNN, 20 steps, weights in a dict", rnn_dict, ({"Wh": r.normal(size=(16, 16)) * 0.3,
                                                         "Wx": r.normal(size=(16, 4)) * 0.3, "b": np.zeros(16),
                                                         "Wo": r.normal(size=(2, 16)) * 0.3, "bo": np.zeros(2)},
                                                        r.normal(size=(20, 4)), r.normal(size=(20, 2))), 0),
        ("classifier, log_softmax calling logsumexp (axis default)", classifier,
         ({"W1": r.normal(size=(10, 32)) * 0.3, "b1": np.zeros(32), "W2": r.normal(size=(32, 5)) * 0.3,
           "b2": np.zeros(5)}, r.normal(size=(64, 10)), r.integers(0, 5, size=64)), 0),
        ("leapfrog, step sizes left to defaults", leapfrog, (r.normal(size=8), r.normal(size=8),
                                                             np.eye(8) + 0.1 * np.ones((8, 8))), 0),
        ("LSTM, a step helper returning (h, c), 20 steps", lstm,
         ({"W": r.normal(size=(20, 64)) * 0.2, "b": np.zeros(64), "Wy": r.normal(size=(16, 2)) * 0.3},
          r.normal(size=(20, 4)), r.normal(size=2)), 0),
    ]


def differences_check(tolerances: dict):
    """`check(name, f, args, wrt, got, eps=None)`: assert `got` (the gradient for `wrt`, as s2s.grad returns it)
    matches central differences of f, at the (rtol, atol, eps) `tolerances` gives the program (1e-5, 1e-6, 1e-6
    where it gives none): the check of ordinary_models.py and ordinary_fits.py."""
    def check(name, f, args, wrt, got, eps=None):
        rtol, atol, step = tolerances.get(name, (1e-5, 1e-6, 1e-6))
        for k, w in enumerate(wrt if isinstance(wrt, tuple) else (wrt,)):
            mine = got[k] if isinstance(wrt, tuple) else got
            want = _differences(f, list(args), w, eps or step)
            assert np.allclose(mine, want, rtol=rtol, atol=atol), (name, w, np.max(np.abs(np.asarray(mine) - want)))
    return check


def main_of_kinds(programs, hand, check, argv):
    """Time `programs(small)` (`--small` in `argv`: 24 points) as ordinary_kinds.py times its own, against `hand`."""
    import ordinary_kinds

    small = "--small" in argv
    ordinary_kinds.programs, ordinary_kinds.HAND, ordinary_kinds.check = lambda: programs(small), hand, check
    ordinary_kinds.main([a for a in argv if a != "--small"])


def _differences(f, args, wrt, eps=1e-6):
    """Central differences of f for argument `wrt` (a list of them, one per array leaf, for a container)."""
    args = list(args)
    if isinstance(args[wrt], list | tuple | dict):  # (the leaves changed in place, and restored)
        out = []
        for leaf in leaves(args[wrt]):
            g = np.zeros_like(leaf)
            for idx in np.ndindex(leaf.shape):
                old = leaf[idx]
                for sign in (1, -1):
                    leaf[idx] = old + sign * eps
                    g[idx] += sign * float(f(*args)) / (2 * eps)
                leaf[idx] = old
            out.append(g)
        return out
    x = np.array(args[wrt], dtype=float)
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        for sign in (1, -1):
            y = x.copy()
            y[idx] += sign * eps
            args[wrt] = y if y.shape else float(y)
            g[idx] += sign * float(f(*args)) / (2 * eps)
    return g


def _batch_time(fn, args, batch):
    t0 = time.perf_counter()
    for _ in range(batch):
        fn(*args)
    return (time.perf_counter() - t0) / batch


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--only", help="programs whose name contains this")
    opts = ap.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.1f}; min of {opts.rounds} interleaved rounds; s2s {s2s.__version__}")
    print(f"{'program':42s} {'primal':>10s} {'s2s.grad':>10s} {'grad/primal':>12s} {'transform':>10s} notes")
    worst = []
    for name, f, args, wrt in programs():
        if opts.only and opts.only not in name:
            continue
        g = s2s.grad(f, wrt=wrt)
        got = g(*args)
        # (float32 data: the differences of the program in float64, against a float32 gradient)
        single = any(getattr(a, "dtype", None) == np.float32 for a in args)
        wide = [a.astype(np.float64) if getattr(a, "dtype", None) == np.float32 else a for a in args]
        for k, w in enumerate(wrt if isinstance(wrt, tuple) else (wrt,)):
            mine = got[k] if isinstance(wrt, tuple) else got
            for a, b in zip(leaves(mine), leaves(_differences(f, wide, w))):
                assert np.allclose(a, b, rtol=1e-3 if single else 1e-4, atol=1e-6), (name, w)
        batch = max(1, int(0.01 / max(_batch_time(f, args, 3), 1e-7)))
        primal = grad = float("inf")
        for _ in range(opts.rounds):
            primal = min(primal, _batch_time(f, args, batch))
            grad = min(grad, _batch_time(g, args, batch))
        transform = float("inf")
        for _ in range(3):
            cache.clear(keep_sources=True)
            f.__dict__.pop(cache.BOUND_ATTRIBUTE, None)
            t0 = time.perf_counter()
            src = s2s.source(s2s.grad(f, wrt=wrt), *args)
            transform = min(transform, time.perf_counter() - t0)
        notes = sum(1 for line in src.splitlines() if line.strip().startswith("# s2s:"))
        ratio = grad / primal
        if ratio > 4:
            worst.append(f"{name} ({ratio:.2f}x)")
        print(f"{name:42s} {primal * 1e6:8.1f}us {grad * 1e6:8.1f}us {ratio:11.2f}x {transform * 1e3:8.1f}ms {notes:5d}")
    print("gradient over 4x its primal: " + (", ".join(worst) if worst else "none"))


if __name__ == "__main__":
    main()
