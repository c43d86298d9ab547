"""Logistic regression by gradient descent on a Dask array larger than the cluster's memory.

The loss is plain NumPy code; `s2s.value_and_grad` writes its gradient as plain NumPy code too,
and NumPy's dispatch protocols run that code on Dask arrays: every step builds a lazy task graph
(value and gradient together) that the cluster evaluates chunk by chunk. The data is generated
lazily with dask.array.random and is never held whole anywhere: each step regenerates the chunks
it needs from the seed, uses them and drops them (--persist keeps them in the workers' memory
instead, when they fit). Only the weights (one float per column) live in this process.

    python examples/dask_logreg.py                        # small, seconds (a CI-sized default)
    python examples/dask_logreg.py --rows 8_000_000 --cols 50 --chunk-rows 100_000 \\
        --workers 2 --memory-limit 1GB --steps 5           # 3.2 GB of data on 2 x 1 GB workers
    python examples/dask_logreg.py --scheduler-address tcp://SCHEDULER-HOST:8786 --rows 200_000_000

With --scheduler-address the example connects to an existing dask.distributed scheduler (the
workers must have numpy and dask; s2s is needed only here, on the client, because the gradient
is ordinary NumPy code in the task graph); otherwise it starts a LocalCluster with
--workers worker processes of --memory-limit each.
"""

from __future__ import annotations

import argparse
import sys
import time

import dask.array as da
import numpy as np
from dask.utils import format_bytes, parse_bytes

import s2s


def loss(w, X, y):
    """Mean logistic loss, written stably: log(1 + exp(-y * Xw)) = logaddexp(0, -y * Xw)."""
    z = X @ w
    return np.mean(np.logaddexp(0.0, -y * z))


def make_data(rows, cols, chunk_rows, seed):
    """A lazy (rows, cols) design matrix and +-1 labels from a hidden weight vector."""
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((rows, cols), chunks=(chunk_rows, cols))
    w_true = np.random.default_rng(seed + 1).normal(size=cols)
    noise = rng.standard_normal(rows, chunks=chunk_rows)
    y = np.where(X @ w_true + 0.5 * noise > 0, 1.0, -1.0)
    return X, y, w_true


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=lambda s: int(s.replace("_", "")), default=400_000, help="number of samples")
    p.add_argument("--cols", type=int, default=20, help="number of features")
    p.add_argument("--chunk-rows", type=lambda s: int(s.replace("_", "")), default=50_000, help="rows per Dask chunk")
    p.add_argument("--memory-limit", default="500MB", help="memory limit per worker of the local cluster, e.g. 500MB, 2GB")
    p.add_argument("--workers", type=int, default=2, help="worker processes of the local cluster")
    p.add_argument("--threads", type=int, default=1, help="threads per worker")
    p.add_argument("--steps", type=int, default=8, help="gradient-descent steps")
    p.add_argument("--lr", type=float, default=1.0, help="step size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--persist", action="store_true",
                   help="generate the data once and keep it in the workers' memory (only when it fits)")
    p.add_argument("--scheduler-address", default=None,
                   help="connect to this dask.distributed scheduler instead of starting a LocalCluster")
    p.add_argument("--progress", choices=["auto", "bar", "none"], default="auto",
                   help="a distributed progress bar per step (auto: when stdout is a terminal)")
    return p.parse_args(argv)


def start_client(args):
    from distributed import Client, LocalCluster

    if args.scheduler_address:
        return Client(args.scheduler_address), None
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=args.threads, processes=True,
                           memory_limit=args.memory_limit, dashboard_address=None)
    return Client(cluster), cluster


def memory_budget(client):
    """The sum of the workers' memory limits, in bytes."""
    return sum(w.get("memory_limit") or 0 for w in client.scheduler_info(n_workers=-1)["workers"].values())


def peak_worker_memory():
    """Peak resident memory of the worker process this runs in (Linux's VmHWM; elsewhere the current RSS)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import psutil

    return psutil.Process().memory_info().rss


def main(argv=None):
    args = parse_args(argv)
    client, cluster = start_client(args)
    try:
        return run(args, client)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run(args, client):
    from distributed import progress

    X, y, w_true = make_data(args.rows, args.cols, args.chunk_rows, args.seed)
    if args.persist:
        X, y = client.persist([X, y])
    limit = memory_budget(client)
    data_bytes = X.nbytes + y.nbytes
    print(f"data: {args.rows:,} x {args.cols} float64 = {format_bytes(data_bytes)} in {X.numblocks[0]} chunks "
          f"of {format_bytes(args.chunk_rows * args.cols * 8)}; cluster memory: {format_bytes(limit)} "
          f"({'larger' if data_bytes > limit else 'smaller'} than memory)")

    value_and_grad = s2s.value_and_grad(loss)
    show_bar = args.progress == "bar" or (args.progress == "auto" and sys.stdout.isatty())
    w = np.zeros(args.cols)
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        t0 = time.perf_counter()
        value, grad = value_and_grad(w, X, y)  # lazy: a task graph, nothing computed yet
        futures = client.compute([value, grad])
        if show_bar:
            progress(futures)
            print()
        value, grad = client.gather(futures)
        w = w - args.lr * grad
        rows_per_s = args.rows / (time.perf_counter() - t0)
        print(f"step {step:3d}  loss {float(value):.6f}  |grad| {np.linalg.norm(grad):.2e}  "
              f"{rows_per_s / 1e6:6.2f} M rows/s", flush=True)
    cosine = w @ w_true / (np.linalg.norm(w) * np.linalg.norm(w_true) + 1e-300)
    peak = max(client.run(peak_worker_memory).values())
    budget = "" if args.scheduler_address else f" of {format_bytes(parse_bytes(args.memory_limit))}"
    print(f"{args.steps} steps in {time.perf_counter() - start:.1f} s; cosine(w, w_true) = {cosine:.4f}; "
          f"peak memory of the largest worker {format_bytes(peak)}{budget}")
    return w


if __name__ == "__main__":
    main()
