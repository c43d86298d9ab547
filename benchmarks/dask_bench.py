"""Gradient throughput of s2s's generated code on Dask, larger than memory, vs NumPy on one chunk.

The problem is the mean logistic loss of examples/dask_logreg.py. Rows of the table:

- NumPy, one chunk in memory: `s2s.value_and_grad(loss)` on a (chunk_rows, cols) NumPy array
  that already exists (the gradient alone);
- NumPy, one chunk generated + gradient: the same, plus drawing the chunk with NumPy's
  generator, which is what a Dask task does for each chunk of data that is never stored;
- Dask, chunks already in memory: the generated code on a Dask array of a few such chunks held
  in memory, on the threaded scheduler (what Dask itself adds);
- Dask on a dask.distributed LocalCluster: the same generated code on a lazy (rows, cols) array
  of many such chunks, drawn with dask.array.random inside the graph, larger than the cluster's
  total memory (--workers x --memory-limit).

Each row gives the time of one gradient (value and gradient together), rows per second, and
the time per chunk (for Dask: the wall time divided by the number of chunks, all workers
together). Times are the minimum over --repeat runs (Dask) or a timeit batch (NumPy).

    python benchmarks/dask_bench.py            # 1.1 GiB of data on 2 x 400 MB workers
    python benchmarks/dask_bench.py --quick    # a smaller run, still larger than the budget
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import timeit

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread per worker thread, as in benchmarks/run.py

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import numpy as np  # noqa: E402
from dask.utils import format_bytes, parse_bytes  # noqa: E402

import s2s  # noqa: E402


def loss(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, -y * z))


def labels(X, w_true, noise):
    return np.where(X @ w_true + 0.5 * noise > 0, 1.0, -1.0)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=lambda s: int(s.replace("_", "")), default=3_000_000)
    p.add_argument("--cols", type=int, default=50)
    p.add_argument("--chunk-rows", type=lambda s: int(s.replace("_", "")), default=100_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="threads per worker")
    p.add_argument("--memory-limit", default="400MB", help="per worker")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="1.5M rows x 50 on 2 x 300 MB workers, one repeat")
    args = p.parse_args(argv)
    if args.quick:
        args.rows, args.memory_limit, args.repeat = 1_500_000, "300MB", 1
    return args


def numpy_rows(args, vg, w, w_true):
    rng = np.random.default_rng(0)
    n = args.chunk_rows

    def chunk():
        X = rng.standard_normal((n, args.cols))
        return X, labels(X, w_true, rng.standard_normal(n))

    X, y = chunk()
    v, g = vg(w, X, y)
    ref = s2s.grad(loss)(w, X, y)
    assert np.allclose(g, ref)

    def best(stmt):
        timer = timeit.Timer(stmt)
        number, _ = timer.autorange()
        return min(timer.repeat(repeat=5, number=number)) / number

    t_grad = best(lambda: vg(w, X, y))
    t_gen = best(lambda: vg(w, *chunk()))
    return [("NumPy, one chunk in memory", X.nbytes + y.nbytes, None, t_grad, n, 1),
            ("NumPy, one chunk generated + gradient", X.nbytes + y.nbytes, None, t_gen, n, 1)]


def dask_in_memory_row(args, vg, w, w_true, chunks=8):
    """The same generated code on Dask data already in memory (threaded scheduler): Dask's own overhead."""
    rng = np.random.default_rng(0)
    n = chunks * args.chunk_rows
    Xn = rng.standard_normal((n, args.cols))
    yn = labels(Xn, w_true, rng.standard_normal(n))
    X = da.from_array(Xn, chunks=(args.chunk_rows, args.cols))
    y = da.from_array(yn, chunks=args.chunk_rows)
    times = []
    for _ in range(max(args.repeat, 3)):
        t0 = time.perf_counter()
        v, g = vg(w, X, y)
        v, g = dask.compute(v, g, scheduler="threads", num_workers=args.workers * args.threads)
        times.append(time.perf_counter() - t0)
    assert np.allclose(g, s2s.grad(loss)(w, Xn, yn))
    name = f"Dask, {chunks} chunks already in memory, threaded scheduler ({args.workers * args.threads} threads), gradient"
    return (name, Xn.nbytes + yn.nbytes, None, min(times), n, chunks)


def dask_row(args, vg, w, w_true):
    from distributed import Client, LocalCluster

    rng = da.random.default_rng(0)
    X = rng.standard_normal((args.rows, args.cols), chunks=(args.chunk_rows, args.cols))
    y = labels(X, w_true, rng.standard_normal(args.rows, chunks=args.chunk_rows))
    budget = args.workers * parse_bytes(args.memory_limit)
    with LocalCluster(n_workers=args.workers, threads_per_worker=args.threads, processes=True,
                      memory_limit=args.memory_limit, dashboard_address=None) as cluster, Client(cluster) as client:
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            v, g = vg(w, X, y)  # lazy
            assert isinstance(g, da.Array)
            v, g = client.compute([v, g], sync=True)
            times.append(time.perf_counter() - t0)
        peak = max(client.run(_peak_rss).values())
    name = f"Dask, {args.workers} workers x {args.memory_limit} (larger than memory), generated + gradient"
    return (name, X.nbytes + y.nbytes, budget, min(times), args.rows, X.numblocks[0]), peak


def _peak_rss():
    """Peak resident memory of this (worker) process: Linux's VmHWM; elsewhere the current RSS."""
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
    r = np.random.default_rng(1)
    w_true = r.normal(size=args.cols)
    w = 0.1 * r.normal(size=args.cols)
    vg = s2s.value_and_grad(loss)
    rows = numpy_rows(args, vg, w, w_true)
    rows.append(dask_in_memory_row(args, vg, w, w_true))
    drow, peak = dask_row(args, vg, w, w_true)
    rows.append(drow)

    print(f"Python {platform.python_version()}, NumPy {np.__version__}, Dask {dask.__version__}, "
          f"{os.cpu_count()} cores, {args.cols} columns, chunks of {args.chunk_rows:,} rows "
          f"({format_bytes(args.chunk_rows * args.cols * 8)})")
    print()
    print("| run | data | memory budget | one gradient | rows/s | per chunk |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, nbytes, budget, t, n, chunks in rows:
        print(f"| {name} | {format_bytes(nbytes)} | {format_bytes(budget) if budget else 'n/a'} | "
              f"{_fmt_time(t)} | {n / t / 1e6:.2f} M | {_fmt_time(t / chunks)} |")
    print()
    print(f"peak resident memory of the largest Dask worker: {format_bytes(peak)} "
          f"(limit {args.memory_limit} per worker)")


def _fmt_time(t):
    return f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s"


if __name__ == "__main__":
    main()
