"""Small programs of the kinds people differentiate, written with plain NumPy.

tests/test_real_programs.py differentiates each with s2s and compares the gradient with
autograd's on the same source (loaded with `import autograd.numpy as np` instead).
"""

import numpy as np

import s2s

# ---------------------------------------------------------------- logistic regression


def logistic_nll(w, X, y, l2=0.1):
    z = X @ w[1:] + w[0]
    p = 1.0 / (1.0 + np.exp(-z))
    ll = y * np.log(p) + (1 - y) * np.log1p(-p)
    return -np.mean(ll) + l2 * np.dot(w, w)


# ---------------------------------------------------------------- MLP, nonlinearity as a value


def softplus(z):
    return np.logaddexp(0.0, z)


def mlp_apply(layers, x, act=np.tanh):
    h = x
    for W, b in layers[:-1]:
        h = act(h @ W + b)
    W_out, b_out = layers[-1]
    return h @ W_out + b_out


def mlp_loss(layers, x, t, act=np.tanh):
    out = mlp_apply(layers, x, act)
    return 0.5 * np.mean((out - t) ** 2)


# ---------------------------------------------------------------- RNN with local helpers


def rnn_loss(params, seq, targets):
    def step(h, x):
        return np.tanh(h @ params["Wh"] + x @ params["Wx"] + params["b"])

    def log_probs(h):
        z = h @ params["Wo"]
        return z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))

    h = np.zeros((seq.shape[1], params["Wh"].shape[0]))
    outputs = [log_probs(h)]
    for t in range(seq.shape[0]):
        h = step(h, seq[t])
        outputs.append(log_probs(h))
    total = 0.0
    for t in range(len(targets)):
        total = total - np.sum(outputs[t + 1] * targets[t])
    return total / seq.shape[0]


# ---------------------------------------------------------------- LSTM with gate helpers


def lstm_loss(p, xs, ys):
    def sig(z):
        return 0.5 * (np.tanh(0.5 * z) + 1.0)

    def gate(name, x, h):
        return np.concatenate([x, h, np.ones((x.shape[0], 1))], axis=1) @ p[name]

    h = np.repeat(p["h0"], xs.shape[1], axis=0)
    c = np.zeros_like(h)
    loss = 0.0
    for x, y in zip(xs, ys):
        i, f, o = sig(gate("in", x, h)), sig(gate("forget", x, h)), sig(gate("out", x, h))
        c = f * c + i * np.tanh(gate("cell", x, h))
        h = o * np.tanh(c)
        loss = loss + np.sum((h @ p["readout"] - y) ** 2)
    return loss / len(xs)


# ---------------------------------------------------------------- GP marginal likelihood


def rbf_kernel(log_ell, log_sf, A, B):
    d = (A[:, None, :] - B[None, :, :]) / np.exp(log_ell)
    return np.exp(2.0 * log_sf) * np.exp(-0.5 * np.sum(d**2, axis=-1))


def gp_neg_log_marginal(theta, X, y):
    n = y.shape[0]
    K = rbf_kernel(theta[0], theta[1], X, X) + (np.exp(2.0 * theta[2]) + 1e-6) * np.eye(n)
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(K, y)
    return 0.5 * np.dot(y, alpha) + np.sum(np.log(np.diag(L))) + 0.5 * n * np.log(2.0 * np.pi)


# ---------------------------------------------------------------- variational objective


def banana_log_joint(z):
    return -0.5 * z[:, 0] ** 2 - 0.5 * (z[:, 1] - z[:, 0] ** 2) ** 2


def neg_elbo(lam, log_joint, rs, n_samples=16):
    d = lam.shape[0] // 2
    mu, log_sigma = lam[:d], lam[d:]
    shape = (n_samples, d)
    eps = rs.randn(*shape)
    z = mu + np.exp(log_sigma) * eps
    entropy = np.sum(log_sigma) + 0.5 * d * (1.0 + np.log(2.0 * np.pi))
    return -(np.mean(log_joint(z)) + entropy)


# ---------------------------------------------------------------- Euler ODE integrator


def damped_oscillator(y, t, theta):
    return np.array([y[1], -theta[0] * y[0] - theta[1] * y[1]])


def euler(f, y0, ts, theta):
    y = y0
    path = [y0]
    for i in range(len(ts) - 1):
        y = y + (ts[i + 1] - ts[i]) * f(y, ts[i], theta)
        path.append(y)
    return np.stack(path)


def ode_fit_loss(theta, y0, ts, observed):
    pred = euler(damped_oscillator, y0, ts, theta)
    return np.mean((pred - observed) ** 2)


# ---------------------------------------------------------------- nested dict/list parameters


def nested_loss(params, x):
    h = x
    for layer in params["layers"]:
        h = np.tanh(h @ layer["W"] + layer["b"])
    out = h @ params["head"][0] + params["head"][1]
    return np.sum(out**2) * np.exp(params["log_scale"])


def flat_l2_loss(params, x):
    flat, _ = s2s.flatten(params)
    return nested_loss(params, x) + 0.01 * np.dot(flat, flat)


# ---------------------------------------------------------------- fluid-like stencils


def diffuse(u, kappa, steps):
    for _ in range(steps):
        lap = np.roll(u, 1, axis=0) + np.roll(u, -1, axis=0) + np.roll(u, 1, axis=1) + np.roll(u, -1, axis=1) - 4.0 * u
        u = u + kappa * lap
    return u


def stencil_loss(u0, target):
    u = diffuse(u0, 0.1, 5)
    return np.mean((u - target) ** 2)


def advect(f, vx, vy):
    rows, cols = f.shape
    ys, xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    src_x = (xs - vx).ravel()
    src_y = (ys - vy).ravel()
    x0 = np.floor(src_x).astype(int)
    y0 = np.floor(src_y).astype(int)
    wx = src_x - x0
    wy = src_y - y0
    x0, y0 = np.mod(x0, cols), np.mod(y0, rows)
    x1, y1 = np.mod(x0 + 1, cols), np.mod(y0 + 1, rows)
    out = (1 - wy) * ((1 - wx) * f[y0, x0] + wx * f[y0, x1]) + wy * ((1 - wx) * f[y1, x0] + wx * f[y1, x1])
    return np.reshape(out, (rows, cols))


def advection_loss(v, smoke, target):
    half = v.shape[0] // 2
    vx, vy = v[:half], v[half:]
    for _ in range(3):
        smoke = advect(smoke, vx, vy)
    return np.mean((smoke - target) ** 2)


# ---------------------------------------------------------------- layer objects holding configuration


class Dense:
    def __init__(self, n_in, n_out):
        self.n_in, self.n_out = n_in, n_out
        self.size = n_in * n_out + n_out

    def forward(self, w, x):
        W = np.reshape(w[: self.n_in * self.n_out], (self.n_in, self.n_out))
        return np.tanh(x @ W + w[self.n_in * self.n_out :])


def layered_loss(w, layers, x):
    start = 0
    for layer in layers:
        x = layer.forward(w[start : start + layer.size], x)
        start = start + layer.size
    return np.sum(x**2)


# ---------------------------------------------------------------- a network whose middle layers may be none


def relu(x):
    return np.maximum(0.0, x)


def first_middle_last(params, x):
    W_in, b_in = params[0]
    h = relu(x @ W_in + b_in)
    for W, b in params[1:-1]:
        h = relu(h @ W + b)
    W_out, b_out = params[-1]
    return h @ W_out + b_out


def first_middle_last_loss(params, x):
    return np.mean(first_middle_last(params, x) ** 2)


# ---------------------------------------------------------------- a size-1 array as the objective


def improvement(mean, std, best):
    return best - (mean - best) * np.tanh(mean - best) + std * np.exp(-0.5 * (mean - best) ** 2)


def size_one_objective(x):
    mean = np.sin(3.0 * x)
    std = np.exp(0.1 * x)
    return -improvement(mean, std, 0.4)
