"""Compiled derivatives: s2s.grad(f, compile=...) against the NumPy code, hand-written NumPy and hand-written numba.

For the Taylor loop, the RNNs (state passed in, and allocated inside), the Euler integrator, the MLP and the
path length of benchmarks/problems.py, in interleaved rounds (each method once per round, the min over
rounds of a batch of calls):

- primal, the hand-written NumPy gradient, s2s's general (NumPy) gradient, s2s compiled
  (`compile="always"`: the numba code even where NumPy is faster) and a hand-written numba gradient
  of the same computation (the reference for the compiled column), and which code `compile=True`
  keeps (it times both on the first calls and keeps the faster);
- jax.jit(jax.grad(f)) of a JAX port of the problem (float64), steady state with block_until_ready, where
  jax is installed (`pip install -e '.[bench]'`, CPU); without jax the column is skipped with a note;
- time to first derivative: s2s's caches and the compiled dispatchers cleared, then transform, numba
  compile and first call; beside it the compile time alone (the compiled variant's time minus the
  general variant's).

Run: .venv/bin/python benchmarks/compiled_bench.py [--rounds 7] [--batch-ms 20] [--only NAME] [--no-jax]
Every gradient is checked against the hand-written one before it is timed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numba  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402
import problems as P  # noqa: E402, N812

import s2s  # noqa: E402
from s2s import cache, compiled  # noqa: E402

# ------------------------------------------------------------------ hand-written numba gradients


taylor_grad_nb = numba.njit(cache=False)(P.taylor_sin_grad)  # the hand-written series of cos, compiled


@numba.njit(cache=False)
def taylor_adjoint_nb(x):
    """The reverse sweep of taylor_sin's own loop with an array tape (taylor_sin_adjoint), compiled."""
    terms = np.empty(24)
    term = x
    for k in range(1, 25):
        terms[k - 1] = term
        term = -term * x * x / ((2 * k) * (2 * k + 1))
    term_bar = 1.0
    x_bar = 1.0
    for k in range(24, 0, -1):
        prev = terms[k - 1]
        c = (2 * k) * (2 * k + 1)
        x_bar += term_bar * (-2.0 * prev * x / c)
        term_bar = term_bar * (-x * x / c) + (1.0 if k > 1 else 0.0)
    return x_bar + term_bar


@numba.njit(cache=False)
def mlp_grad_nb(W1, W2, W3, X, Y):
    h1 = np.tanh(X @ W1)
    h2 = np.tanh(h1 @ W2)
    out = h2 @ W3
    d_out = 2.0 * (out - Y) / out.size
    d_h2 = (d_out @ np.ascontiguousarray(W3.T)) * (1 - h2 * h2)
    d_h1 = (d_h2 @ np.ascontiguousarray(W2.T)) * (1 - h1 * h1)
    return np.ascontiguousarray(X.T) @ d_h1


@numba.njit(cache=False)
def rnn_grad_nb(Wh, Wx, xs, h0):
    T = xs.shape[0]
    hs = np.empty((T + 1, h0.shape[0], h0.shape[1]))
    hs[0] = h0
    h = h0.copy()
    for t in range(T):
        h = np.tanh(h @ Wh + np.ascontiguousarray(xs[t]) @ Wx)
        hs[t + 1] = h
    dh = 2 * h
    dWh = np.zeros_like(Wh)
    WhT = np.ascontiguousarray(Wh.T)
    for t in range(T - 1, -1, -1):
        da = dh * (1 - hs[t + 1] ** 2)
        dWh += np.ascontiguousarray(hs[t].T) @ da
        dh = da @ WhT
    return dWh


@numba.njit(cache=False)
def rnn_local_grad_nb(Wh, Wx, xs):
    T = xs.shape[0]
    hs = np.empty((T + 1, 32))
    hs[0] = 0.0
    h = np.zeros(32)
    for t in range(T):
        h = np.tanh(Wh @ h + Wx @ np.ascontiguousarray(xs[t]))
        hs[t + 1] = h
    dh = 2 * h
    dWh = np.zeros_like(Wh)
    WhT = np.ascontiguousarray(Wh.T)
    for t in range(T - 1, -1, -1):
        da = dh * (1 - hs[t + 1] ** 2)
        dWh += np.outer(da, hs[t])
        dh = WhT @ da
    return dWh


@numba.njit(cache=False)
def euler_grad_nb(k, x0):
    xs = np.empty(100)
    x, v = x0, 0.0
    for i in range(100):
        xs[i] = x
        a = -k * x - 0.1 * v
        x = x + 0.01 * v
        v = v + 0.01 * a
    x_bar, v_bar, k_bar = 2.0 * x, 2.0 * v, 0.0
    for i in range(99, -1, -1):
        a_bar = 0.01 * v_bar
        v_bar = v_bar + 0.01 * x_bar - 0.1 * a_bar
        k_bar -= a_bar * xs[i]
        x_bar = x_bar - k * a_bar
    return k_bar


path_length_grad_nb = numba.njit(cache=False)(P.path_length_grad)  # the hand-written adjoint, compiled


# ------------------------------------------------------------------ JAX ports (jax.jit(jax.grad(f)))


def jax_ports():
    """name of the problem's function -> its JAX port (benchmarks/peers.py's), or a str saying why there are none
    (jax not installed)."""
    try:
        jax, jnp = peers._jax()  # float64 (jax_enable_x64)
    except peers.Unavailable as exc:
        return f"jax.jit: {exc}; pip install -e '.[bench]'"
    return peers.numpy_like(jnp)


def jax_jit_grad(ports, p):
    """(a steady-state call of jax.jit(jax.grad(f)) on the problem's arguments, its first call's time), or None
    (no port, or control flow on values jit cannot trace)."""
    if isinstance(ports, str) or p.f.__name__ not in ports:
        return None
    jax, jnp = peers._jax()
    args = tuple(jnp.asarray(a) if hasattr(a, "shape") else a for a in p.args)
    g = jax.jit(jax.grad(ports[p.f.__name__], argnums=p.wrt))
    jax.clear_caches()
    start = time.perf_counter()
    try:
        g(*args).block_until_ready()
    except jax.errors.JAXTypeError:  # a `while` on a traced value (the lecture's while/if): jit cannot trace it
        return None
    first = time.perf_counter() - start
    return (lambda *_: g(*args).block_until_ready()), first


HAND_NUMBA = {P.taylor_sin: taylor_grad_nb, P.mlp_loss: mlp_grad_nb, P.rnn_loss: rnn_grad_nb,
              P.rnn_local_loss: rnn_local_grad_nb, P.euler: euler_grad_nb, P.path_length: path_length_grad_nb}
# the problems measured; those without a hand-written numba gradient leave its columns empty
CHOSEN = ("taylor", "mlp", "rnn 30", "rnn, local", "euler", "path length", "lstm", "mlp softmax", "rk4",
          "gaussian", "conv1d", "attention", "relu net", "seed while")


def clear(f):
    cache.clear(keep_sources=True)  # every table, the numba dispatchers included (problems.py is read once)
    f.__dict__.pop(cache.BOUND_ATTRIBUTE, None)


def first_derivative(f, args, **options):
    clear(f)
    start = time.perf_counter()
    s2s.grad(f, **options)(*args)
    return time.perf_counter() - start


def batch_time(fn, args, batch_s):
    fn(*args)
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn(*args)
        took = time.perf_counter() - start
        if took >= batch_s or n >= 1 << 20:
            return took / n, n
        n *= 2


def timed_rounds(methods, args, rounds, batch_s):
    sizes = {name: batch_time(fn, args, batch_s)[1] for name, fn in methods.items()}
    best = {name: float("inf") for name in methods}
    names = list(methods)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fn, n = methods[name], sizes[name]
            start = time.perf_counter()
            for _ in range(n):
                fn(*args)
            best[name] = min(best[name], (time.perf_counter() - start) / n)
    return best


def fmt(t):
    return f"{t * 1e6:9.1f} us" if t < 1e-2 else f"{t * 1e3:9.2f} ms"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--batch-ms", type=float, default=20.0)
    ap.add_argument("--only", help="problems whose name contains this")
    ap.add_argument("--no-jax", action="store_true",
                    help="skip the jax.jit column (XLA takes minutes to compile the RK4 port)")
    opts = ap.parse_args(argv)
    warnings.simplefilter("ignore", numba.NumbaPerformanceWarning)
    ports = "jax.jit: skipped (--no-jax)" if opts.no_jax else jax_ports()
    rows = []
    for p in P.problems(0.01):
        if not p.name.startswith(CHOSEN) or (opts.only and opts.only not in p.name):
            continue
        general = s2s.grad(p.f, wrt=p.wrt)
        ttfd_general = first_derivative(p.f, p.args, wrt=p.wrt)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", compiled.CompiledFallbackWarning)
            ttfd_compiled = first_derivative(p.f, p.args, wrt=p.wrt, compile="always")
            fast = s2s.grad(p.f, wrt=p.wrt, compile="always")
            auto = s2s.grad(p.f, wrt=p.wrt, compile=True)
            auto(*p.args)
        fell_back = [str(w.message).splitlines()[0] for w in caught]
        hand_nb = HAND_NUMBA.get(p.f)
        expected = p.hand(*p.args)
        for name, fn in (("general", general), ("compiled", fast), ("hand numba", hand_nb), ("compile=True", auto)):
            if fn is None:
                continue
            if not np.allclose(fn(*p.args), expected, rtol=1e-6, atol=1e-10):
                raise SystemExit(f"{p.name}: the {name} gradient differs from the hand-written one")
        methods = {"primal": p.f, "hand numpy": p.hand, "general": general, "compiled": fast, "compile=True": auto}
        if hand_nb is not None:
            methods["hand numba"] = hand_nb
        raw = compiled.dispatcher(fast, *p.args)  # the machine code alone, without s2s's per-call checks
        if raw is not None:
            methods["dispatcher"] = raw
        jitted = jax_jit_grad(ports, p)
        ttfd_jax = None
        if jitted is not None:
            methods["jax.jit"], ttfd_jax = jitted
            if not np.allclose(np.asarray(methods["jax.jit"]()), expected, rtol=1e-6, atol=1e-10):
                raise SystemExit(f"{p.name}: the jax.jit gradient differs from the hand-written one")
        best = timed_rounds(methods, p.args, opts.rounds, opts.batch_ms / 1e3)
        kept = auto.__s2s_variants__
        kept = "compiled" if all(v.call is not None for v in kept.values()) else "numpy"
        rows.append((p.name, best, ttfd_general, ttfd_compiled, ttfd_jax, kept, fell_back))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; numba {numba.__version__}; "
          f"min of {opts.rounds} rounds")
    head = (f"{'problem':36s} {'primal':>12s} {'hand numpy':>12s} {'general':>12s} {'compiled':>12s} "
            f"{'hand numba':>12s} {'jax.jit':>12s}  {'c/hand':>6s} {'c/gen':>6s} {'c/nb':>6s} {'d/nb':>6s} "
            f"{'c/jax':>6s} {'T/gen':>6s}  {'TTFD gen':>9s} {'TTFD comp':>9s} {'compile':>8s} {'TTFD jax':>9s}  compile=True keeps")
    print(head)
    print("-" * len(head))
    nan = float("nan")
    for name, b, tg, tc, tj, kept, fell_back in rows:
        c = b["compiled"]
        jax_time = fmt(b["jax.jit"]) if "jax.jit" in b else f"{'-':>12s}"
        print(f"{name[:36]:36s} {fmt(b['primal'])} {fmt(b['hand numpy'])} {fmt(b['general'])} {fmt(c)} "
              f"{fmt(b['hand numba']) if 'hand numba' in b else f'{chr(45):>12s}'} {jax_time}  "
              f"{c / b['hand numpy']:6.2f} {c / b['general']:6.2f} "
              f"{c / b.get('hand numba', nan):6.2f} {b.get('dispatcher', nan) / b.get('hand numba', nan):6.2f} "
              f"{c / b.get('jax.jit', nan):6.2f} {b['compile=True'] / b['general']:6.2f}  {tg:8.3f}s {tc:8.2f}s {max(0.0, tc - tg):7.2f}s "
              f"{f'{tj:8.2f}s' if tj is not None else f'{chr(45):>9s}'}  {kept}")
        for line in fell_back:
            print(f"    fell back: {line}")
    print("c/hand: compiled / hand-written NumPy gradient; c/gen: compiled / s2s's NumPy code; c/nb: compiled / "
          "hand-written numba gradient; d/nb: the compiled dispatcher alone (s2s.compiled.dispatcher: no freshness "
          "check, no argument handling) / hand-written numba; c/jax: compiled / jax.jit(jax.grad(f)) of a JAX port "
          "(steady state, block_until_ready); T/gen: s2s.grad(f, compile=True) (the code it keeps) / s2s's NumPy "
          "code. TTFD: time to first derivative with caches cleared (compiled: "
          "transform, numba compile, first call; jax: trace, XLA compile, first call); compile: TTFD compiled - "
          "TTFD general.")
    if isinstance(ports, str):
        print(ports)
    if any("taylor" in r[0] for r in rows):
        x = 0.7
        adj = timed_rounds({"adjoint nb": taylor_adjoint_nb}, (x,), opts.rounds, opts.batch_ms / 1e3)["adjoint nb"]
        print(f"taylor: a hand-written reverse sweep of the same loop, compiled (array tape): {fmt(adj)}")


if __name__ == "__main__":
    main()
