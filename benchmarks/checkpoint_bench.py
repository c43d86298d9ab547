"""Checkpointing: peak memory and time of the gradient of a long RNN loop, with and without s2s.checkpoint.

    .venv/bin/python benchmarks/checkpoint_bench.py [--steps 2000] [--hidden 64] [--rounds 5]

Each variant is the same loop, `h = np.tanh(h @ W + xs[t])`, differentiated with respect to the
recurrent matrix and the initial state. Peak memory is tracemalloc's peak over one gradient call
(the code generated beforehand); time is the min over `--rounds` interleaved rounds, every variant
once per round in a rotating order, measured without tracemalloc. Ratios are to the plain loop.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

import s2s


def plain(W, xs, h):
    for t in range(xs.shape[0]):
        h = np.tanh(h @ W + xs[t])
    return np.sum(h * h)


def ckpt_sqrt(W, xs, h):
    for t in s2s.checkpoint(range(xs.shape[0])):
        h = np.tanh(h @ W + xs[t])
    return np.sum(h * h)


def ckpt_10(W, xs, h):
    for t in s2s.checkpoint(range(xs.shape[0]), every=10):
        h = np.tanh(h @ W + xs[t])
    return np.sum(h * h)


def ckpt_100(W, xs, h):
    for t in s2s.checkpoint(range(xs.shape[0]), every=100):
        h = np.tanh(h @ W + xs[t])
    return np.sum(h * h)


VARIANTS = [("no checkpoint", plain), ("checkpoint (sqrt n)", ckpt_sqrt), ("checkpoint every=10", ckpt_10),
            ("checkpoint every=100", ckpt_100)]


def _peak(fn, *args):
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    n, d = args.steps, args.hidden
    rng = np.random.default_rng(0)
    W, xs, h = rng.normal(size=(d, d)) / np.sqrt(d), rng.normal(size=(n, d)), rng.normal(size=d)

    grads = [(label, s2s.grad(f, wrt=(0, 2))) for label, f in VARIANTS]
    reference = grads[0][1](W, xs, h)
    for label, g in grads:  # generate the code, and check every variant against the plain loop
        got = g(W, xs, h)
        for a, b in zip(got, reference):
            if not np.allclose(a, b, rtol=1e-10, atol=1e-12):
                raise SystemExit(f"{label}: gradient differs from the plain loop")

    peaks = {label: _peak(g, W, xs, h) for label, g in grads}
    best = {label: float("inf") for label, _ in grads}
    for r in range(args.rounds):
        for label, g in grads[r % len(grads):] + grads[:r % len(grads)]:
            t0 = time.perf_counter()
            g(W, xs, h)
            best[label] = min(best[label], time.perf_counter() - t0)

    base_mem, base_time = peaks[grads[0][0]], best[grads[0][0]]
    print(f"gradient of an RNN loop: {n} steps, hidden {d}, w.r.t. (W, h0); "
          f"time: min of {args.rounds} interleaved rounds")
    print(f"{'variant':<22} {'peak memory':>12} {'ratio':>7} {'time':>10} {'ratio':>7}")
    for label, _ in grads:
        print(f"{label:<22} {peaks[label] / 2**20:9.2f} MiB {peaks[label] / base_mem:6.2f}x "
              f"{best[label] * 1e3:7.1f} ms {best[label] / base_time:6.2f}x")
    print(f"(the tape of the plain loop: about {n} x {d} x 8 B = {n * d * 8 / 2**20:.2f} MiB of saved states)")


if __name__ == "__main__":
    main()
