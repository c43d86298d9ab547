"""The benchmark problems written in each peer's own idiom, and how to run each peer.

Every peer is optional. `PEERS` maps a column name to a `prepare(problem)` function that
returns a `Prepared`, or raises `Unavailable` (the peer is not installed: the whole column
is skipped with a note) or any other exception (the peer cannot do this problem: that cell
is skipped with a note).

Each version computes the same function as the NumPy original in benchmarks/problems.py,
written as a user of that library would write it:

- autograd: `autograd.numpy` in place of NumPy, `autograd.grad(f, argnum)`;
- PyTorch (CPU, eager): float64 tensors, the differentiated argument a leaf with
  `requires_grad=True`; each call clears `.grad`, runs the loss and `.backward()`;
- JAX: `jax.numpy` in place of NumPy (float64: `jax_enable_x64`), `jax.grad(f, argnums)`
  run eagerly, and `jax.jit(jax.grad(f, argnums))`; calls wait for the result
  (`block_until_ready`) since JAX dispatches asynchronously;
- tangent (tangent-ad, Google's source-to-source AD, maintained fork): `tangent.grad` on the
  very NumPy source s2s differentiates.
"""

from __future__ import annotations

import os
from typing import Callable, NamedTuple


class Unavailable(Exception):
    """The peer library cannot be imported."""


class Prepared(NamedTuple):
    make: Callable  # () -> gradient function; includes the peer's transform (jax.jit's compile happens on the first call)
    args: tuple  # the problem's arguments in the peer's own array type
    to_numpy: Callable  # peer gradient -> NumPy value
    clear: Callable  # forget what the peer cached, before a "time to first derivative" trial


def _nothing():
    return None


def numpy_like(xp):
    """The problems over a NumPy-like module `xp` (autograd.numpy, jax.numpy)."""

    def taylor_sin(x):
        term = x
        total = x
        for k in range(1, 25):
            term = -term * x * x / ((2 * k) * (2 * k + 1))
            total = total + term
        return total

    def mlp_loss(W1, W2, W3, X, Y):
        h1 = xp.tanh(X @ W1)
        h2 = xp.tanh(h1 @ W2)
        out = h2 @ W3
        return xp.mean((out - Y) ** 2)

    def rnn_loss(Wh, Wx, xs, h0):
        h = h0
        for t in range(len(xs)):
            h = xp.tanh(h @ Wh + xs[t] @ Wx)
        return xp.sum(h * h)

    def logreg_loss(w, X, y):
        z = X @ w
        return xp.sum(xp.logaddexp(0.0, z) - y * z)

    def seed_control(a):
        b = a * 2
        while xp.linalg.norm(b) < 1000:
            b = b * 2
        if xp.sum(b) > 0:
            c = b
        else:
            c = 100 * b
        return c

    def square(x):
        return x * x

    # issue 16's ordinary programs (the convolution assigns items: neither autograd nor jax.numpy can)
    def rnn_local_loss(Wh, Wx, xs):
        h = xp.zeros(32)
        for t in range(xs.shape[0]):
            h = xp.tanh(Wh @ h + Wx @ xs[t])
        return xp.sum(h * h)

    def euler(k, x0):
        x, v = x0, 0.0
        for _ in range(100):
            a = -k * x - 0.1 * v
            x = x + 0.01 * v
            v = v + 0.01 * a
        return x * x + v * v

    def relu_lse(W1, W2, X, Y):
        h = xp.maximum(X @ W1, 0.0)
        z = h @ W2
        m = xp.max(z, axis=1, keepdims=True)
        lse = xp.log(xp.sum(xp.exp(z - m), axis=1, keepdims=True)) + m
        return xp.mean(lse - xp.sum(z * Y, axis=1, keepdims=True))

    def path_length(P):
        e = 0.0
        for i in range(P.shape[0] - 1):
            d = P[i + 1] - P[i]
            e = e + xp.linalg.norm(d)
        return e

    def sigmoid(x):
        return 1.0 / (1.0 + xp.exp(-x))

    def lstm_loss(Wx, Wh, b, xs):
        H = Wh.shape[1]
        h = xp.zeros(H)
        c = xp.zeros(H)
        for t in range(xs.shape[0]):
            z = Wx @ xs[t] + Wh @ h + b
            i, f, o = sigmoid(z[:H]), sigmoid(z[H:2 * H]), sigmoid(z[2 * H:3 * H])
            c = f * c + i * xp.tanh(z[3 * H:])
            h = o * xp.tanh(c)
        return xp.sum(h ** 2)

    def mlp_xent(W1, b1, W2, b2, X, y):
        h = xp.tanh(X @ W1 + b1)
        logits = h @ W2 + b2
        logp = logits - xp.log(xp.sum(xp.exp(logits), axis=1, keepdims=True))
        return -xp.mean(logp[xp.arange(X.shape[0]), y])

    def lotka_volterra(u, theta):
        a, b, c, d = theta[0], theta[1], theta[2], theta[3]
        x, y = u[0], u[1]
        return xp.array([a * x - b * x * y, c * x * y - d * y])

    def rk4_lv(theta, u0):
        dt = 0.05
        u = u0
        for _ in range(50):
            k1 = lotka_volterra(u, theta)
            k2 = lotka_volterra(u + 0.5 * dt * k1, theta)
            k3 = lotka_volterra(u + 0.5 * dt * k2, theta)
            k4 = lotka_volterra(u + dt * k3, theta)
            u = u + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        return xp.sum((u - 1.0) ** 2)

    def gauss_nll(A, X, mu):
        n, d = X.shape
        S = A @ A.T + 0.1 * xp.eye(d)
        sign, logdet = xp.linalg.slogdet(S)
        D = X - mu
        quad = xp.sum(D * xp.linalg.solve(S, D.T).T)
        return 0.5 * quad + 0.5 * n * logdet + 0.5 * n * d * xp.log(2 * xp.pi)

    def attention(Wq, Wk, Wv, X):
        Q, K, V = X @ Wq, X @ Wk, X @ Wv
        s = Q @ K.T / xp.sqrt(Q.shape[1])
        s = s - xp.max(s, axis=1, keepdims=True)
        a = xp.exp(s)
        a = a / xp.sum(a, axis=1, keepdims=True)
        return xp.sum((a @ V) ** 2)

    return {f.__name__: f for f in (taylor_sin, mlp_loss, rnn_loss, logreg_loss, seed_control, square, rnn_local_loss,
                                    euler, relu_lse, path_length, lstm_loss, mlp_xent, rk4_lv, gauss_nll, attention)}


def torch_versions(torch):
    """The problems in PyTorch."""

    def taylor_sin(x):
        term = x
        total = x
        for k in range(1, 25):
            term = -term * x * x / ((2 * k) * (2 * k + 1))
            total = total + term
        return total

    def mlp_loss(W1, W2, W3, X, Y):
        h1 = torch.tanh(X @ W1)
        h2 = torch.tanh(h1 @ W2)
        out = h2 @ W3
        return torch.mean((out - Y) ** 2)

    def rnn_loss(Wh, Wx, xs, h0):
        h = h0
        for t in range(len(xs)):
            h = torch.tanh(h @ Wh + xs[t] @ Wx)
        return torch.sum(h * h)

    zero = torch.zeros((), dtype=torch.float64)

    def logreg_loss(w, X, y):
        z = X @ w
        return torch.sum(torch.logaddexp(zero, z) - y * z)

    def seed_control(a):
        b = a * 2
        while torch.linalg.norm(b) < 1000:
            b = b * 2
        if torch.sum(b) > 0:
            c = b
        else:
            c = 100 * b
        return c

    def square(x):
        return x * x

    return {f.__name__: f for f in (taylor_sin, mlp_loss, rnn_loss, logreg_loss, seed_control, square)}


def _import(name):
    try:
        return __import__(name, fromlist=["_"])
    except ImportError as exc:
        raise Unavailable(f"not installed ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - a peer that fails to import is reported, not fatal
        raise Unavailable(f"fails to import: {type(exc).__name__}: {exc}") from None


_cache: dict = {}


def _library(name):
    if name not in _cache:
        try:
            _cache[name] = _import(name)
        except Unavailable as exc:
            _cache[name] = exc
    value = _cache[name]
    if isinstance(value, Unavailable):
        raise value
    return value


def version(name):
    """The installed version of a peer's library, or None."""
    module = {"autograd": "autograd", "torch": "torch", "jax": "jax", "jax.jit": "jax", "tangent": "tangent"}[name]
    try:
        from importlib.metadata import version as dist_version
        dist = {"tangent": "tangent-ad"}.get(module, module)
        try:
            return dist_version(dist)
        except Exception:  # noqa: BLE001
            return dist_version(module)
    except Exception:  # noqa: BLE001
        return None


def prepare_autograd(problem):
    autograd = _library("autograd")
    anp = _library("autograd.numpy")
    f = numpy_like(anp)[problem.f.__name__]
    return Prepared(lambda: autograd.grad(f, problem.wrt), problem.args, lambda g: g, _nothing)


def prepare_torch(problem):
    torch = _library("torch")
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    f = torch_versions(torch)[problem.f.__name__]
    wrt = problem.wrt
    args = []
    for i, a in enumerate(problem.args):
        t = torch.from_numpy(a) if hasattr(a, "shape") else torch.tensor(a, dtype=torch.float64)
        args.append(t.requires_grad_(True) if i == wrt else t)

    def make():
        def grad(*args):
            leaf = args[wrt]
            leaf.grad = None
            f(*args).backward()
            return leaf.grad

        return grad

    return Prepared(make, tuple(args), lambda g: g.detach().numpy(), _nothing)


def _jax():
    jax = _library("jax")
    jax.config.update("jax_enable_x64", True)
    return jax, _library("jax.numpy")


def _jax_prepared(problem, jit):
    jax, jnp = _jax()
    f = numpy_like(jnp)[problem.f.__name__]
    args = tuple(jnp.asarray(a) if hasattr(a, "shape") else a for a in problem.args)

    def make():
        g = jax.grad(f, argnums=problem.wrt)
        if jit:
            g = jax.jit(g)

        def grad(*args):
            return g(*args).block_until_ready()

        return grad

    return Prepared(make, args, lambda g: g.__array__(), jax.clear_caches)


def prepare_jax(problem):
    return _jax_prepared(problem, jit=False)


def prepare_jax_jit(problem):
    return _jax_prepared(problem, jit=True)


def prepare_tangent(problem):
    # no persistent cache in the user's home: every run starts cold and leaves nothing behind
    os.environ["TANGENT_DISK_CACHE"] = "0"
    tangent = _library("tangent")
    f = problem.f
    return Prepared(lambda: tangent.grad(f, wrt=(problem.wrt,)), problem.args, lambda g: g, tangent.clear_cache)


PEERS = {
    "autograd": prepare_autograd,
    "torch": prepare_torch,
    "jax": prepare_jax,
    "jax.jit": prepare_jax_jit,
    "tangent": prepare_tangent,
}

TANGENT_ORIGINAL = ("the original `tangent` 0.1.9 does not import on Python 3.11 (with gast 0.7: AttributeError: "
                    "module 'gast' has no attribute 'Num'; with gast 0.2.2 it needs TensorFlow, and pip pulls tf-nightly)")


def tangent_note():
    """Which tangent the column measured."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version
    try:
        return (f"tangent: the column is tangent-ad {dist_version('tangent-ad')} (a fork of Google's tangent, "
                f"`pip install tangent-ad`), on the same NumPy source as s2s; " + TANGENT_ORIGINAL)
    except PackageNotFoundError:
        return "tangent: the column is Google's original tangent, on the same NumPy source as s2s"

INSTALL_HINT = {
    "autograd": "pip install autograd (in the dev extras)",
    "torch": "pip install torch==2.13.0 (a CPU build; see benchmarks/README.md)",
    "jax": "pip install -e '.[bench]' (jax, CPU)",
    "jax.jit": "pip install -e '.[bench]' (jax, CPU)",
    "tangent": "pip install tangent-ad; " + TANGENT_ORIGINAL,
}
