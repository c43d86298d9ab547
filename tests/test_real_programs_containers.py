"""A sweep of whole programs of the kinds autograd's and JAX's example folders hold, with parameters
passed as such examples pass them: dicts of arrays, lists of `(W, b)` layers of different sizes,
tuples unpacked at the top, nested dicts and lists, a random generator passed in.

Each program is differentiated by `s2s.grad` and `s2s.value_and_grad` and checked against autograd
(the same source with `np` rebound to autograd.numpy) and central differences on deep copies; the
gradient must have the argument's container types, keys, shapes (and float32 where the leaves are);
each program runs on two structures (another layer count or hidden size) with one gradient object,
to catch code specialised to the first; and the printed code (`s2s.source`) must run when pasted.
"""

from __future__ import annotations

import ast
import copy

import autograd
import numpy as np
import pytest

import s2s
from s2s import api
from s2s.pytree import map_leaves
from tests.helpers_fd import autograd_version

# ---- shared helpers (module-level, as examples write them) ----------------------------------------


def logsumexp(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True)
    return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def log_softmax(x):
    return x - logsumexp(x)


def softplus(x):
    return np.logaddexp(0.0, x)


def sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def affine(x, *wb):
    W, b = wb
    return x @ W + b


def relu(x):
    return np.maximum(x, 0.0)


def one_hot(labels, k):
    return (labels[:, None] == np.arange(k)[None, :]).astype(float)


# ---- 1. MLP, dict of arrays, log-softmax cross-entropy -------------------------------------------


def mlp_dict_xent(params, X, labels):
    h = np.tanh(X @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    logp = log_softmax(logits)
    return -np.mean(np.sum(logp * one_hot(labels, logits.shape[1]), axis=1))


def make_mlp_dict(rng, v):
    d, h, k = (3, 4, 3) if v == 0 else (3, 6, 3)
    params = {"W1": rng.normal(size=(d, h)), "b1": rng.normal(size=h),
              "W2": rng.normal(size=(h, k)), "b2": rng.normal(size=k)}
    return params, rng.normal(size=(5, d)), rng.integers(0, k, 5)


# ---- 2. MLP, list of (W, b) of different sizes, last layer apart ---------------------------------


def mlp_layers(params, X, y):
    h = X
    for W, b in params[:-1]:
        h = np.tanh(h @ W + b)
    W, b = params[-1]
    out = h @ W + b
    return np.sum((out - y) ** 2) / X.shape[0]


def init_layers(rng, sizes, scale=0.5):
    return [(scale * rng.normal(size=(m, n)), scale * rng.normal(size=n)) for m, n in zip(sizes[:-1], sizes[1:])]


def make_mlp_layers(rng, v):
    sizes = (3, 4, 2) if v == 0 else (3, 5, 4, 2)
    return init_layers(rng, sizes), rng.normal(size=(4, 3)), rng.normal(size=(4, 2))


# ---- 3. a tuple unpacked at the top ------------------------------------------------------------


def mlp_unpacked(params, X, y):
    W1, b1, W2, b2 = params
    h = relu(X @ W1 + b1) + 0.1 * X @ W1
    pred = (h @ W2 + b2)[:, 0]
    return np.mean(softplus(-y * pred))


def make_mlp_unpacked(rng, v):
    h = 4 if v == 0 else 2
    params = (rng.normal(size=(3, h)), rng.normal(size=h) + 0.3, rng.normal(size=(h, 1)), rng.normal(size=1))
    return params, rng.normal(size=(6, 3)), np.sign(rng.normal(size=6))


# ---- 4. nested dicts and lists, a number leaf ---------------------------------------------------


def nested_model(params, X):
    h = X
    for layer in params["enc"]:
        h = np.tanh(affine(h, layer["W"], layer["b"]))
    z = h * params["scale"]
    rec = z @ params["dec"]["W"] + params["dec"]["b"]
    return np.mean((rec - X) ** 2) + 0.01 * sum(np.sum(lay["W"] ** 2) for lay in params["enc"])


def make_nested(rng, v):
    sizes = (3, 4, 2) if v == 0 else (3, 2)
    enc = [{"W": rng.normal(size=(m, n)), "b": rng.normal(size=n)} for m, n in zip(sizes[:-1], sizes[1:])]
    params = {"enc": enc, "scale": 0.7, "dec": {"W": rng.normal(size=(sizes[-1], 3)), "b": rng.normal(size=3)}}
    return params, rng.normal(size=(4, 3))


# ---- 5. mini-batches by slicing -------------------------------------------------------------------


def minibatch_loss(params, X, y, batch=3):
    total = 0.0
    n = X.shape[0]
    for start in range(0, n, batch):
        xb = X[start:start + batch]
        yb = y[start:start + batch]
        pred = xb @ params["w"] + params["b"]
        total = total + np.sum(softplus(pred) - yb * pred)
    return total / n


def make_minibatch(rng, v):
    n = 7 if v == 0 else 9
    return ({"w": rng.normal(size=3), "b": np.array(0.2)}, rng.normal(size=(n, 3)),
            rng.integers(0, 2, n).astype(float))


# ---- 6. an RNN with concatenated state, params dict --------------------------------------------


def rnn_step(params, x, h):
    xh = np.concatenate([x, h])
    return np.tanh(xh @ params["W"] + params["b"])


def rnn_predict_loss(params, xs, targets):
    h = np.zeros(params["b"].shape[0])
    loss = 0.0
    for t in range(len(xs)):
        h = rnn_step(params, xs[t], h)
        logits = h @ params["Wout"] + params["bout"]
        loss = loss - np.sum(log_softmax(logits) * targets[t])
    return loss / len(xs)


def make_rnn(rng, v):
    d, hdim, k, T = (2, 3, 3, 4) if v == 0 else (2, 5, 3, 6)
    params = {"W": 0.5 * rng.normal(size=(d + hdim, hdim)), "b": 0.1 * rng.normal(size=hdim),
              "Wout": rng.normal(size=(hdim, k)), "bout": rng.normal(size=k)}
    targets = np.eye(k)[rng.integers(0, k, T)]
    return params, rng.normal(size=(T, d)), targets


# ---- 7. an LSTM over a sequence, gates from a helper returning a tuple, np.hstack of states --------


def lstm_gates(params, x, h):
    z = np.hstack([x, h]) @ params["W"] + params["b"]
    n = h.shape[0]
    i = sigmoid(z[:n])
    f = sigmoid(z[n:2 * n])
    o = sigmoid(z[2 * n:3 * n])
    g = np.tanh(z[3 * n:])
    return i, f, o, g


def lstm_loss(params, xs, y):
    n = params["Wy"].shape[0]
    h = np.zeros(n)
    c = np.zeros(n)
    for x in xs:
        i, f, o, g = lstm_gates(params, x, h)
        c = f * c + i * g
        h = o * np.tanh(c)
    pred = h @ params["Wy"]
    return np.sum((pred - y) ** 2)


def make_lstm(rng, v):
    d, n, T = (2, 3, 3) if v == 0 else (2, 4, 5)
    params = {"W": 0.5 * rng.normal(size=(d + n, 4 * n)), "b": 0.1 * rng.normal(size=4 * n),
              "Wy": rng.normal(size=(n, 2))}
    return params, rng.normal(size=(T, d)), rng.normal(size=2)


# ---- 8. a mixture density network: np.split of the outputs, Gaussian mixture log-likelihood --------


def mdn_nll(params, x, y):
    h = np.tanh(affine(x, *params["hidden"]))
    out = affine(h, *params["out"])
    logit_pi, mu, log_sigma = np.split(out, 3, axis=1)
    log_pi = log_softmax(logit_pi)
    z = (y - mu) / np.exp(log_sigma)
    log_comp = -0.5 * z ** 2 - log_sigma - 0.5 * np.log(2 * np.pi)
    return -np.mean(logsumexp(log_pi + log_comp, axis=1))


def make_mdn(rng, v):
    hdim, k = (4, 2) if v == 0 else (3, 3)
    params = {"hidden": (rng.normal(size=(1, hdim)), rng.normal(size=hdim)),
              "out": (0.5 * rng.normal(size=(hdim, 3 * k)), 0.1 * rng.normal(size=3 * k))}
    x = rng.normal(size=(6, 1))
    return params, x, np.sin(2 * x) + 0.1 * rng.normal(size=(6, 1))


# ---- 9. a Gaussian log-likelihood of (mu, log_sigma) --------------------------------------------


def gaussian_nll(theta, data):
    mu, log_sigma = theta
    var = np.exp(2 * log_sigma)
    return 0.5 * np.sum((data - mu) ** 2 / var) + data.shape[0] * np.sum(log_sigma)


def make_gaussian(rng, v):
    d = 2 if v == 0 else 3
    return (rng.normal(size=d), 0.3 * rng.normal(size=d)), rng.normal(size=(5, d))


# ---- 10. a convnet written with loops over the kernel offsets -----------------------------------


def conv2d_loops(img, K):
    kh, kw = K.shape[2], K.shape[3]
    H = img.shape[1] - kh + 1
    W = img.shape[2] - kw + 1
    out = np.zeros((K.shape[0], H, W))
    for i in range(kh):
        for j in range(kw):
            patch = img[:, i:i + H, j:j + W]
            out = out + np.einsum("chw,oc->ohw", patch, K[:, :, i, j])
    return out


def convnet_loops(params, imgs, labels):
    loss = 0.0
    for n in range(imgs.shape[0]):
        feat = relu(conv2d_loops(imgs[n], params["K"]) + params["kb"][:, None, None])
        logits = feat.reshape(-1) @ params["W"]
        loss = loss - log_softmax(logits)[labels[n]]
    return loss / imgs.shape[0]


def make_convnet_loops(rng, v):
    c_out, size = (2, 4) if v == 0 else (3, 5)
    K = 0.5 * rng.normal(size=(c_out, 1, 2, 2))
    flat = c_out * (size - 1) ** 2
    params = {"K": K, "kb": 0.1 * rng.normal(size=c_out), "W": 0.3 * rng.normal(size=(flat, 3))}
    return params, rng.normal(size=(2, 1, size, size)), rng.integers(0, 3, 2)


# ---- 11. a convnet with im2col-by-slicing and one np.einsum, max-pooling by reshape ---------------


def convnet_einsum(params, imgs, y):
    N, H, W = imgs.shape
    k = params["K"].shape[1]
    Ho, Wo = H - k + 1, W - k + 1
    cols = np.stack([imgs[:, i:i + Ho, j:j + Wo] for i in range(k) for j in range(k)], axis=-1)
    conv = np.einsum("nhwp,cp->nchw", cols, params["K"].reshape(params["K"].shape[0], -1))
    act = np.tanh(conv)
    pooled = act.reshape(N, act.shape[1], Ho // 2, 2, Wo // 2, 2).max(axis=(3, 5))
    pred = pooled.reshape(N, -1) @ params["W"]
    return np.mean((pred - y) ** 2)


def make_convnet_einsum(rng, v):
    c, size = (2, 5) if v == 0 else (3, 7)
    Ho = size - 1
    params = {"K": rng.normal(size=(c, 2, 2)), "W": rng.normal(size=(c * (Ho // 2) ** 2, 1))}
    return params, rng.normal(size=(2, size, size)), rng.normal(size=(2, 1))


# ---- 12. a Bayesian neural network: weights sampled with an rng passed in -------------------------


def sample_layers(var_params, rng):
    return [(mean_W + np.exp(logstd_W) * rng.standard_normal(mean_W.shape),
             mean_b + np.exp(logstd_b) * rng.standard_normal(mean_b.shape))
            for (mean_W, logstd_W), (mean_b, logstd_b) in var_params]


def bnn_elbo(var_params, X, y, rng, n_samples=2):
    loglik = 0.0
    for _ in range(n_samples):
        layers = sample_layers(var_params, rng)
        h = X
        for W, b in layers[:-1]:
            h = np.tanh(h @ W + b)
        W, b = layers[-1]
        pred = h @ W + b
        loglik = loglik - 0.5 * np.sum((pred - y) ** 2)
    entropy = sum(np.sum(lw) + np.sum(lb) for (_, lw), (_, lb) in var_params)
    return -(loglik / n_samples + entropy)


def make_bnn(rng, v):
    sizes = (2, 3, 1) if v == 0 else (2, 2, 2, 1)
    var = [((0.5 * rng.normal(size=(m, n)), -1 + 0.1 * rng.normal(size=(m, n))),
            (0.5 * rng.normal(size=n), -1 + 0.1 * rng.normal(size=n))) for m, n in zip(sizes[:-1], sizes[1:])]
    return var, rng.normal(size=(4, 2)), rng.normal(size=(4, 1)), np.random.default_rng(3)


# ---- 13. a Hamiltonian Monte Carlo leapfrog trajectory (hand-written potential gradient) --------


def potential(q, prec):
    return 0.5 * q @ prec @ q + 0.25 * np.sum(q ** 4)


def potential_grad(q, prec):
    return prec @ q + q ** 3


def leapfrog_energy(state, prec, step=0.1, n_steps=5):
    q, p = state
    p = p - 0.5 * step * potential_grad(q, prec)
    for _ in range(n_steps - 1):
        q = q + step * p
        p = p - step * potential_grad(q, prec)
    q = q + step * p
    p = p - 0.5 * step * potential_grad(q, prec)
    return potential(q, prec) + 0.5 * np.sum(p ** 2) + np.sum(q)


def make_hmc(rng, v):
    d = 2 if v == 0 else 4
    A = rng.normal(size=(d, d))
    return (rng.normal(size=d), rng.normal(size=d)), A @ A.T / d + np.eye(d)


# ---- 14. a physics integrator: velocity Verlet, tuple state, params dict -------------------------


def spring_forces(x, params):
    diff = x[1:] - x[:-1]
    stretch = diff - params["rest"]
    f = params["k"] * stretch
    return np.concatenate([f[:1], f[1:] - f[:-1], -f[-1:]])


def verlet_step(state, params, dt):
    x, v = state
    a = spring_forces(x, params) / params["mass"]
    x_new = x + dt * v + 0.5 * dt ** 2 * a
    a_new = spring_forces(x_new, params) / params["mass"]
    return x_new, v + 0.5 * dt * (a + a_new)


def simulate_chain(params, x0, v0, target, dt=0.05, steps=6):
    state = (x0, v0)
    for _ in range(steps):
        state = verlet_step(state, params, dt)
    x, v = state
    return np.sum((x - target) ** 2) + 0.1 * np.sum(v ** 2)


def make_physics(rng, v):
    n = 4 if v == 0 else 6
    params = {"k": 1 + rng.random(n - 1), "rest": 1 + 0.1 * rng.normal(size=n - 1), "mass": 1.5}
    x0 = np.arange(n, dtype=float) + 0.1 * rng.normal(size=n)
    return params, x0, rng.normal(size=n), x0 + 0.2


# ---- 15. a policy gradient with integer actions ------------------------------------------------


def reinforce_loss(policy, obs, actions, returns):
    h = np.tanh(obs @ policy["W1"] + policy["b1"])
    logp = log_softmax(h @ policy["W2"])
    chosen = logp[np.arange(actions.shape[0]), actions]
    baseline = np.mean(returns)
    return -np.mean(chosen * (returns - baseline))


def make_reinforce(rng, v):
    hdim, n_act = (3, 2) if v == 0 else (5, 4)
    T = 6
    policy = {"W1": rng.normal(size=(4, hdim)), "b1": rng.normal(size=hdim), "W2": rng.normal(size=(hdim, n_act))}
    return policy, rng.normal(size=(T, 4)), rng.integers(0, n_act, T), rng.normal(size=T)


# ---- 16. a helper returning a tuple (output and hidden), both used -------------------------------


def forward_with_hidden(params, X):
    hiddens = []
    h = X
    for W, b in params:
        h = np.tanh(h @ W + b)
        hiddens.append(h)
    return h, hiddens


def activity_regularised(params, X, y):
    out, hiddens = forward_with_hidden(params, X)
    reg = 0.0
    for hid in hiddens:
        reg = reg + np.mean(hid ** 2)
    return np.sum((out - y) ** 2) + 0.1 * reg


def make_activity(rng, v):
    sizes = (3, 4, 2) if v == 0 else (3, 3, 3, 3, 2)
    return init_layers(rng, sizes), rng.normal(size=(3, 3)), rng.normal(size=(3, 2))


# ---- 17. logistic regression with an L2 penalty over params.values() ----------------------------


def logreg_l2(params, X, y, lam=0.1):
    z = X @ params["w"] + params["b"]
    nll = np.sum(softplus(z) - y * z)
    return nll + lam * sum(np.sum(p ** 2) for p in params.values())


def make_logreg(rng, v):
    d = 3 if v == 0 else 5
    return {"w": rng.normal(size=d), "b": rng.normal(size=1)}, rng.normal(size=(8, d)), rng.integers(0, 2, 8)


# ---- 18. an autoencoder: encoder and decoder lists in a tuple -----------------------------------


def run_layers(layers, h, act):
    for W, b in layers:
        h = act(h @ W + b)
    return h


def autoencoder(params, X):
    enc, dec = params
    code = run_layers(enc, X, np.tanh)
    rec = run_layers(dec, code, lambda a: a)
    return np.mean(np.sum((rec - X) ** 2, axis=1))


def make_autoencoder(rng, v):
    enc = init_layers(rng, (4, 3, 2) if v == 0 else (4, 2))
    dec = init_layers(rng, (2, 3, 4) if v == 0 else (2, 3, 3, 4))
    return (enc, dec), rng.normal(size=(3, 4))


# ---- 19. a residual network: list of dicts, skip connections, layer norm ----------------------


def layer_norm(x, gain, bias, eps=1e-5):
    mu = np.mean(x, axis=-1, keepdims=True)
    var = np.mean((x - mu) ** 2, axis=-1, keepdims=True)
    return gain * (x - mu) / np.sqrt(var + eps) + bias


def resnet(params, X, y):
    h = X @ params["embed"]
    for block in params["blocks"]:
        h = h + np.tanh(layer_norm(h, block["g"], block["beta"]) @ block["W"])
    return np.mean((h @ params["head"] - y) ** 2)


def make_resnet(rng, v):
    n_blocks, width = (2, 3) if v == 0 else (3, 4)
    blocks = [{"W": 0.5 * rng.normal(size=(width, width)), "g": 1 + 0.1 * rng.normal(size=width),
               "beta": 0.1 * rng.normal(size=width)} for _ in range(n_blocks)]
    params = {"embed": rng.normal(size=(2, width)), "blocks": blocks, "head": rng.normal(size=(width, 1))}
    return params, rng.normal(size=(4, 2)), rng.normal(size=(4, 1))


# ---- 20. single-head self-attention, max-shifted softmax ----------------------------------------


def softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def attention_loss(params, X, y):
    Q, K, V = X @ params["Wq"], X @ params["Wk"], X @ params["Wv"]
    A = softmax(Q @ K.T / np.sqrt(Q.shape[1]))
    out = A @ V
    return np.sum((np.mean(out, axis=0) @ params["Wo"] - y) ** 2)


def make_attention(rng, v):
    d, T = (3, 4) if v == 0 else (2, 5)
    params = {name: rng.normal(size=(3, d)) for name in ("Wq", "Wk", "Wv")}
    params["Wo"] = rng.normal(size=(d, 2))
    return params, rng.normal(size=(T, 3)), rng.normal(size=2)


# ---- 21. a Gaussian process marginal likelihood, hyperparameters as numbers in a dict -----------


def gp_nll(hyp, X, y):
    sq = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    K = np.exp(2 * hyp["log_sf"]) * np.exp(-0.5 * sq / np.exp(2 * hyp["log_ell"]))
    K = K + np.exp(2 * hyp["log_noise"]) * np.eye(X.shape[0])
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(K, y)
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(L)))


def make_gp(rng, v):
    n = 5 if v == 0 else 7
    hyp = {"log_sf": 0.1, "log_ell": -0.2, "log_noise": -1.0}
    if v == 1:
        hyp = {"log_sf": np.array(0.2), "log_ell": np.array(0.1), "log_noise": np.array(-1.5)}
    return hyp, rng.normal(size=(n, 2)), rng.normal(size=n)


# ---- 22. black-box variational inference, (mean, log_std) tuple, eps passed in ----------------


def log_density(z):
    return -0.5 * np.sum(z[:, 0] ** 2) - 0.5 * np.sum((z[:, 1] - z[:, 0] ** 2) ** 2 / 0.5)


def elbo(var_params, eps):
    mean, log_std = var_params
    z = mean + np.exp(log_std) * eps
    entropy = np.sum(log_std)
    return -(log_density(z) / eps.shape[0] + entropy)


def make_bbvi(rng, v):
    S = 4 if v == 0 else 7
    return (rng.normal(size=2), 0.2 * rng.normal(size=2)), rng.normal(size=(S, 2))


# ---- 23. a neural ODE with Euler steps, the dynamics an MLP of a params list --------------------


def dynamics(z, params):
    h = z
    for W, b in params[:-1]:
        h = np.tanh(h @ W + b)
    W, b = params[-1]
    return h @ W + b


def neural_ode(params, z0, target, dt=0.1, steps=5):
    z = z0
    traj = [z]
    for _ in range(steps):
        z = z + dt * dynamics(z, params)
        traj.append(z)
    path = np.stack(traj)
    return np.sum((z - target) ** 2) + 0.01 * np.sum(path ** 2)


def make_neural_ode(rng, v):
    sizes = (2, 4, 2) if v == 0 else (2, 3, 3, 2)
    return init_layers(rng, sizes), rng.normal(size=(3, 2)), rng.normal(size=(3, 2))


# ---- 24. a GRU over a sequence, params dict, hidden size varies ---------------------------------


def gru_loss(p, xs, y):
    h = np.zeros(p["Uz"].shape[0])
    for t in range(xs.shape[0]):
        x = xs[t]
        z = sigmoid(x @ p["Wz"] + h @ p["Uz"])
        r = sigmoid(x @ p["Wr"] + h @ p["Ur"])
        cand = np.tanh(x @ p["Wh"] + (r * h) @ p["Uh"])
        h = (1 - z) * h + z * cand
    return np.sum((h @ p["out"] - y) ** 2)


def make_gru(rng, v):
    d, n, T = (2, 3, 4) if v == 0 else (2, 2, 6)
    p = {}
    for g in "zrh":
        p["W" + g] = 0.5 * rng.normal(size=(d, n))
        p["U" + g] = 0.5 * rng.normal(size=(n, n))
    p["out"] = rng.normal(size=(n, 1))
    return p, rng.normal(size=(T, d)), rng.normal(size=1)


# ---- 25. word2vec-style skip-gram with negative samples: gathers by integer index ---------------


def log_sigmoid(x):
    return -softplus(-x)


def skipgram(emb, centers, contexts, negatives):
    vc = emb["in"][centers]
    uo = emb["out"][contexts]
    un = emb["out"][negatives]
    pos = log_sigmoid(np.sum(vc * uo, axis=1))
    neg = np.sum(log_sigmoid(-np.einsum("bkd,bd->bk", un, vc)), axis=1)
    return -np.mean(pos + neg)


def make_skipgram(rng, v):
    vocab, dim = (5, 3) if v == 0 else (6, 2)
    emb = {"in": rng.normal(size=(vocab, dim)), "out": rng.normal(size=(vocab, dim))}
    return emb, rng.integers(0, vocab, 4), rng.integers(0, vocab, 4), rng.integers(0, vocab, (4, 2))


# ---- 26. a list of lists ([weights], [biases]) zipped ------------------------------------------


def zipped_lists(params, X, y):
    weights, biases = params
    h = X
    for i in range(len(weights)):
        h = np.sin(h @ weights[i] + biases[i])
    return np.sum((h - y) ** 2)


def make_zipped(rng, v):
    sizes = (2, 3, 2) if v == 0 else (2, 4, 4, 2)
    layers = init_layers(rng, sizes)
    return [[W for W, _ in layers], [b for _, b in layers]], rng.normal(size=(3, 2)), rng.normal(size=(3, 2))


# ---- 27. dropout with a fixed rng, mask drawn inside ------------------------------------------


def dropout_mlp(params, X, y, rng, keep=0.7):
    h = X
    for i, (W, b) in enumerate(params):
        h = h @ W + b
        if i < len(params) - 1:
            h = relu(h)
            mask = rng.random(h.shape) < keep
            h = h * mask / keep
    return np.mean((h - y) ** 2)


def make_dropout(rng, v):
    sizes = (3, 5, 1) if v == 0 else (3, 4, 4, 1)
    return init_layers(rng, sizes), rng.normal(size=(6, 3)), rng.normal(size=(6, 1)), np.random.default_rng(11)


# ---- 28. a heteroscedastic regression: mean and log-variance heads, np.hsplit -----------------


def hetero_nll(params, X, y):
    h = np.tanh(affine(X, params["W"], params["b"]))
    mean, log_var = np.hsplit(h @ params["head"], 2)
    return np.mean(0.5 * log_var + 0.5 * (y - mean) ** 2 / np.exp(log_var))


def make_hetero(rng, v):
    hdim = 3 if v == 0 else 5
    params = {"W": rng.normal(size=(2, hdim)), "b": rng.normal(size=hdim), "head": 0.5 * rng.normal(size=(hdim, 2))}
    return params, rng.normal(size=(5, 2)), rng.normal(size=(5, 1))


# ---- 29. a tuple of arguments differentiated together (wrt=(0, 1)), a while loop --------------


def bilinear_while(U, V, R, tol=1.0):
    err = R - U @ V.T
    loss = np.sum(err ** 2)
    k = 0
    while k < 3:
        U = U - 0.01 * (-2 * err @ V)
        err = R - U @ V.T
        k = k + 1
    return loss + np.sum(err ** 2) + tol * (np.sum(U ** 2) + np.sum(V ** 2))


def make_bilinear(rng, v):
    r = 2 if v == 0 else 3
    return rng.normal(size=(4, r)), rng.normal(size=(3, r)), rng.normal(size=(4, 3))


# ---- 30. an RNN classifier whose layers are a list of dicts, time steps in an inner loop -------


def stacked_rnn(params, xs, label):
    hs = [np.zeros(layer["U"].shape[0]) for layer in params["layers"]]
    for t in range(xs.shape[0]):
        inp = xs[t]
        new = []
        for layer, h in zip(params["layers"], hs):
            h = np.tanh(inp @ layer["W"] + h @ layer["U"])
            new.append(h)
            inp = h
        hs = new
    logits = hs[-1] @ params["out"]
    return -log_softmax(logits)[label]


def make_stacked_rnn(rng, v):
    widths = (2, 3, 3) if v == 0 else (2, 4)
    layers = [{"W": 0.5 * rng.normal(size=(m, n)), "U": 0.5 * rng.normal(size=(n, n))}
              for m, n in zip(widths[:-1], widths[1:])]
    return {"layers": layers, "out": rng.normal(size=(widths[-1], 3))}, rng.normal(size=(3, 2)), 1


# ---- 31. kernel regression with parameters in a dict of dicts and a star-args helper ----------


def rbf(A, B, *hyp):
    log_ell, log_amp = hyp
    d2 = np.sum(A ** 2, 1)[:, None] + np.sum(B ** 2, 1)[None, :] - 2 * A @ B.T
    return np.exp(log_amp) * np.exp(-0.5 * d2 / np.exp(2 * log_ell))


def kernel_regression(params, X, y, Z):
    k = params["kernel"]
    Kxz = rbf(X, Z, k["log_ell"], k["log_amp"])
    pred = Kxz @ params["weights"]["alpha"]
    return np.mean((pred - y) ** 2)


def make_kernel(rng, v):
    m = 3 if v == 0 else 5
    params = {"kernel": {"log_ell": np.array([0.1]), "log_amp": np.array([0.0])},
              "weights": {"alpha": rng.normal(size=m)}}
    return params, rng.normal(size=(6, 2)), rng.normal(size=6), rng.normal(size=(m, 2))


# ---- 32. a Kalman-style filter: predict/update from a helper returning a tuple ----------------


def kalman_step(mean, cov, obs, A, q, r):
    mean = A @ mean
    cov = A @ cov @ A.T + q * np.eye(A.shape[0])
    S = cov[0, 0] + r
    gain = cov[:, 0] / S
    resid = obs - mean[0]
    mean = mean + gain * resid
    cov = cov - np.outer(gain, cov[0, :])
    return mean, cov, -0.5 * (resid ** 2 / S + np.log(S))


def kalman_loglik(model, observations):
    A, q, r = model["A"], np.exp(model["log_q"]), np.exp(model["log_r"])
    d = A.shape[0]
    mean, cov = np.zeros(d), np.eye(d)
    total = 0.0
    for obs in observations:
        mean, cov, ll = kalman_step(mean, cov, obs, A, q, r)
        total = total + ll
    return -total


def make_kalman(rng, v):
    d, T = (2, 5) if v == 0 else (3, 4)
    model = {"A": np.eye(d) + 0.1 * rng.normal(size=(d, d)), "log_q": -1.0, "log_r": -0.5}
    return model, rng.normal(size=T)


# ---- registry --------------------------------------------------------------------------------------

# name -> (function, maker, wrt, float32 meaningful)
CASES = {
    "mlp_dict_xent": (mlp_dict_xent, make_mlp_dict, 0, True),
    "mlp_layers": (mlp_layers, make_mlp_layers, 0, True),
    "mlp_unpacked": (mlp_unpacked, make_mlp_unpacked, 0, True),
    "nested_model": (nested_model, make_nested, 0, False),
    "minibatch_loss": (minibatch_loss, make_minibatch, 0, True),
    "rnn_predict_loss": (rnn_predict_loss, make_rnn, 0, True),
    "lstm_loss": (lstm_loss, make_lstm, 0, True),
    "mdn_nll": (mdn_nll, make_mdn, 0, True),
    "gaussian_nll": (gaussian_nll, make_gaussian, 0, True),
    "convnet_loops": (convnet_loops, make_convnet_loops, 0, True),
    "convnet_einsum": (convnet_einsum, make_convnet_einsum, 0, True),
    "bnn_elbo": (bnn_elbo, make_bnn, 0, False),
    "leapfrog_energy": (leapfrog_energy, make_hmc, 0, True),
    "simulate_chain": (simulate_chain, make_physics, 0, False),
    "reinforce_loss": (reinforce_loss, make_reinforce, 0, True),
    "activity_regularised": (activity_regularised, make_activity, 0, True),
    "logreg_l2": (logreg_l2, make_logreg, 0, True),
    "autoencoder": (autoencoder, make_autoencoder, 0, True),
    "resnet": (resnet, make_resnet, 0, True),
    "attention_loss": (attention_loss, make_attention, 0, True),
    "gp_nll": (gp_nll, make_gp, 0, False),
    "elbo": (elbo, make_bbvi, 0, True),
    "neural_ode": (neural_ode, make_neural_ode, 0, True),
    "gru_loss": (gru_loss, make_gru, 0, True),
    "skipgram": (skipgram, make_skipgram, 0, True),
    "zipped_lists": (zipped_lists, make_zipped, 0, True),
    "dropout_mlp": (dropout_mlp, make_dropout, 0, True),
    "hetero_nll": (hetero_nll, make_hetero, 0, True),
    "bilinear_while": (bilinear_while, make_bilinear, (0, 1), True),
    "stacked_rnn": (stacked_rnn, make_stacked_rnn, 0, True),
    "kernel_regression": (kernel_regression, make_kernel, 0, True),
    "kalman_loglik": (kalman_loglik, make_kalman, 0, False),
}

# ---- checking ------------------------------------------------------------------------------------


def paths(tree, prefix=()):
    """(path, leaf) pairs of a tree of dicts, lists and tuples."""
    if isinstance(tree, dict):
        return [pl for k, v in tree.items() for pl in paths(v, prefix + (k,))]
    if isinstance(tree, list | tuple):
        return [pl for i, v in enumerate(tree) for pl in paths(v, prefix + (i,))]
    return [(prefix, tree)]


def replaced(tree, path, value):
    """A copy of `tree` with the leaf at `path` replaced."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(tree, dict):
        out = dict(tree)
        out[head] = replaced(tree[head], rest, value)
        return out
    items = list(tree)
    items[head] = replaced(tree[head], rest, value)
    return type(tree)(items)


def call(f, args):
    return float(f(*copy.deepcopy(args)))


def central(f, args, pos, eps=1e-6):
    """Central differences for each leaf of argument `pos`, on deep copies (an rng argument copied too)."""
    out = []
    for path, leaf in paths(args[pos]):
        base = np.asarray(leaf, dtype=float)
        g = np.zeros(base.shape)
        for i in np.ndindex(base.shape):
            vals = []
            for sign in (1, -1):
                bumped = base.copy()
                bumped[i] += sign * eps
                new = bumped if isinstance(leaf, np.ndarray) else float(bumped)
                a = list(args)
                a[pos] = replaced(args[pos], path, new)
                vals.append(call(f, a))
            g[i] = (vals[0] - vals[1]) / (2 * eps)
        out.append((path, g))
    return out


def same_structure(g, x, dtype=None):
    assert type(g) is type(x), (type(g), type(x))
    if isinstance(x, dict):
        assert list(g) == list(x)
        for k in x:
            same_structure(g[k], x[k], dtype)
    elif isinstance(x, list | tuple):
        assert len(g) == len(x)
        for a, b in zip(g, x):
            same_structure(a, b, dtype)
    else:
        assert np.shape(g) == np.shape(x), (np.shape(g), np.shape(x))
        if dtype is not None and isinstance(x, np.ndarray):
            assert g.dtype == dtype, (g.dtype, dtype)


def check_case(name, gf, vgf, variant, fd=True):
    f, make, wrt, _ = CASES[name]
    args = make(np.random.default_rng(100 + variant), variant)
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    before = copy.deepcopy(args)
    g = gf(*copy.deepcopy(args))
    value, g2 = vgf(*copy.deepcopy(args))
    grads = g if isinstance(wrt, tuple) else (g,)
    grads2 = g2 if isinstance(wrt, tuple) else (g2,)
    np.testing.assert_allclose(value, call(f, args), rtol=1e-12)
    expected = autograd.grad(autograd_version(f), wrt)(*copy.deepcopy(args))
    expected = expected if isinstance(wrt, tuple) else (expected,)
    for pos, gi, gi2, ei in zip(positions, grads, grads2, expected):
        same_structure(gi, args[pos])
        same_structure(gi2, args[pos])
        for (path, a), (_, b), (_, c) in zip(paths(gi), paths(gi2), paths(ei)):
            np.testing.assert_allclose(a, c, rtol=1e-7, atol=1e-9, err_msg=f"{name} {path} vs autograd")
            np.testing.assert_allclose(b, c, rtol=1e-7, atol=1e-9, err_msg=f"{name} {path} value_and_grad")
        if fd:
            for (path, a), (_, d) in zip(paths(gi), central(f, args, pos)):
                np.testing.assert_allclose(a, d, rtol=1e-5, atol=1e-6, err_msg=f"{name} {path} vs differences")
    # the arguments are unchanged
    for (_, a), (_, b) in zip(paths(args), paths(before)):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
    return args, grads


def converted(tree, source=np.float64, target=np.float32):
    """`tree` with its `source`-dtype array leaves as `target` arrays (the same containers)."""
    return map_leaves(lambda a: a.astype(target) if isinstance(a, np.ndarray) and a.dtype == source else a, tree)


def to_float32(tree):
    return converted(tree)


@pytest.mark.parametrize("name", list(CASES))
def test_program(name):
    f = CASES[name][0]
    wrt = CASES[name][2]
    gf, vgf = s2s.grad(f, wrt=wrt), s2s.value_and_grad(f, wrt=wrt)
    # two structures, then the first again, with the same gradient objects
    for variant, fd in ((0, True), (1, True), (0, False)):
        check_case(name, gf, vgf, variant, fd=fd)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c[3]])
def test_program_float32(name):
    f, make, wrt, _ = CASES[name]
    args = make(np.random.default_rng(100), 0)
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    args32 = list(args)
    for p in positions:
        args32[p] = to_float32(args[p])
    g32 = s2s.grad(f, wrt=wrt)(*copy.deepcopy(args32))
    args64 = [to_float32(a) if i in positions else a for i, a in enumerate(args)]
    args64 = [copy.deepcopy(a) for a in args64]
    for p in positions:
        args64[p] = replaced_all(args64[p])
    g64 = s2s.grad(f, wrt=wrt)(*args64)
    g32s = g32 if isinstance(wrt, tuple) else (g32,)
    g64s = g64 if isinstance(wrt, tuple) else (g64,)
    for p, a, b in zip(positions, g32s, g64s):
        same_structure(a, args32[p], dtype=np.float32)
        for (path, x), (_, y) in zip(paths(a), paths(b)):
            np.testing.assert_allclose(x, y, rtol=2e-3, atol=2e-4, err_msg=f"{name} {path} float32")


def replaced_all(tree):
    """float32 leaves back to float64 (the same values)."""
    return converted(tree, np.float32, np.float64)


@pytest.mark.parametrize("name", list(CASES))
def test_printed_code_runs(name):
    f, make, wrt, _ = CASES[name]
    args = make(np.random.default_rng(100), 0)
    src = s2s.source(s2s.grad(f, wrt=wrt), *copy.deepcopy(args))
    namespace = {}
    exec(compile(src, f"<s2s source {name}>", "exec"), namespace)
    main = [node.name for node in ast.parse(src).body if isinstance(node, ast.FunctionDef)][-1]
    got = namespace[main](*copy.deepcopy(args))
    if api._bound_for(f, wrt, "grad", True, copy.deepcopy(args))[0].__s2s_returns_value__:
        got = got[1]  # (the printed function also returns the value where its code computes it)
    expected = s2s.grad(f, wrt=wrt)(*copy.deepcopy(args))
    got = got if isinstance(wrt, tuple) else (got,)
    expected = expected if isinstance(wrt, tuple) else (expected,)
    for a, b in zip(got, expected):
        for (path, x), (_, y) in zip(paths(a), paths(b)):
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14, err_msg=f"{name} {path} printed code")


# ---- regressions found by the sweep ----------------------------------------------------------------
# 1. A list filled by appends and then put in a container or bound to another name was refused though
#    no update could follow ("a container holds `hiddens`" at `return h, hiddens`; "another name is bound
#    to `new`" at `hs = new` where `new = []` starts each trip), and the hint (`hs = list(hs)`) did not help.
#    The aliasing check now looks only at updates that may run after the alias is made, before the name is
#    bound to a new list; the cases below where one does run stay refused.


def appended_then_returned(x):
    hs = []
    for _ in range(3):
        x = np.sin(x)
        hs.append(x)
    return x, hs


def uses_appended(x):
    a, hs = appended_then_returned(x)
    return np.sum(a) + sum(np.sum(h * h) for h in hs)


def new_list_each_trip(x):
    hs = [x]
    for _ in range(3):
        new = []
        for h in hs:
            new.append(np.sin(h) * x)
        hs = new
    return np.sum(hs[0])


def rebound_then_updated(x):
    new = [x]
    hs = new
    new = [x * 2]
    new.append(x * 3)
    return np.sum(hs[-1]) + np.sum(new[-1])


@pytest.mark.parametrize("f", [uses_appended, new_list_each_trip, rebound_then_updated])
def test_aliases_made_after_the_last_update_are_accepted(f):
    x = np.array([0.3, -1.2, 2.0])
    g = s2s.grad(f)(x.copy())
    np.testing.assert_allclose(g, autograd.grad(autograd_version(f))(x.copy()), rtol=1e-12, atol=1e-14)


def updated_after_the_loop(x):
    hs = []
    new = []
    for t in range(2):
        new = []
        new.append(x * t)
        hs = new
    new.append(x * 5.0)
    return np.sum(hs[-1])


def updated_after_tuple(x):
    L = []
    t = (L, 1)
    L.append(x * 2)
    return np.sum(t[0][0])


def appended_on_the_next_trip(x):
    ts = []
    L = []
    for i in range(3):
        L.append(x * i)
        ts.append(L)
    return np.sum(ts[0][-1])


def alias_updated(x):
    L = [x]
    L.append(x * 2)
    a = L
    a.append(x * 3)
    return np.sum(L[-1])


def rebound_only_in_a_branch(x, c=True):
    new = [x]
    hs = new
    if c:
        new = []
    new.append(x * 3)
    return np.sum(hs[-1])


def rebound_in_while_updated_after(x):
    hs = [x]
    i = 0
    while i < 3:
        new = []
        for h in hs:
            new.append(h * x)
        hs = new
        i = i + 1
    new.append(x * 100.0)
    return np.sum(hs[-1])


@pytest.mark.parametrize("f", [updated_after_the_loop, updated_after_tuple, appended_on_the_next_trip, alias_updated,
                               rebound_only_in_a_branch, rebound_in_while_updated_after])
def test_aliases_an_update_may_follow_stay_refused(f):
    with pytest.raises(s2s.UnsupportedSyntaxError, match="visible through another name"):
        s2s.grad(f)(np.array([0.3, -1.2, 2.0]))


# 2. Printed code: two derivatives of one helper (one call differentiates its first argument, another its
#    first two) were both printed as `def run_layers_vjp`, the second replacing the first, so the pasted
#    code failed (IndexError) or could have run the wrong one. The second is now printed under a new name.


def helper_twice(params, X):
    code = run_layers(params[0], X, np.tanh)  # X is not differentiated
    rec = run_layers(params[1], code, np.sin)  # code is
    return np.sum(rec ** 2)


def test_two_derivatives_of_one_helper_print_under_two_names():
    rng = np.random.default_rng(0)
    args = ((init_layers(rng, (3, 2)), init_layers(rng, (2, 3))), rng.normal(size=(2, 3)))
    src = s2s.source(s2s.grad(helper_twice), *args)
    defs = [node.name for node in ast.parse(src).body if isinstance(node, ast.FunctionDef)]
    assert len(defs) == len(set(defs)), defs
    namespace = {}
    exec(compile(src, "<printed>", "exec"), namespace)
    got = namespace[defs[-1]](*args)
    if api._bound_for(helper_twice, 0, "grad", True, args)[0].__s2s_returns_value__:
        got = got[1]
    for (_, a), (_, b) in zip(paths(got), paths(autograd.grad(autograd_version(helper_twice))(*args))):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
