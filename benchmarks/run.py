"""`make bench`: time the primal, a hand-written gradient, s2s and (when installed) autograd.

Times are medians of interleaved repeats measured in one run; ratios are against the
hand-written gradient. Time to first derivative = transform + first call, caches cleared.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import problems as problem_set  # noqa: E402

import s2s  # noqa: E402
from s2s import pipeline  # noqa: E402


def _median_time(fn, args, repeats, number):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn(*args)
        times.append((time.perf_counter() - t0) / number)
    return float(np.median(times))


def _interleaved(candidates, args, repeats, number):
    samples = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            t0 = time.perf_counter()
            for _ in range(number):
                fn(*args)
            samples[name].append((time.perf_counter() - t0) / number)
    return {name: float(np.median(v)) for name, v in samples.items()}


def _autograd_version(f):
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return None
    module = importlib.import_module(f.__module__)
    saved = module.np
    module.np = anp
    try:
        g = autograd.grad(f)
    finally:
        pass

    def run(*args):
        module.np = anp
        try:
            return g(*args)
        finally:
            module.np = saved

    module.np = saved
    return run


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller logreg and fewer repeats")
    args = parser.parse_args(argv)
    scale = 0.1 if args.quick else 1.0
    repeats = 5 if args.quick else 15
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, NumPy {np.__version__}")
    header = f"{'problem':28} {'primal':>10} {'hand':>10} {'s2s':>10} {'s2s/hand':>9} {'autograd':>10} " \
             f"{'ag/hand':>8} {'first s2s':>10}"
    print(header)
    print("-" * len(header))
    for name, f, hand, fargs, wrt in problem_set.problems(scale):
        pipeline._cache.clear()
        f.__dict__.pop("__s2s_bound__", None)
        t0 = time.perf_counter()
        g = s2s.grad(f, wrt=wrt)
        first_value = g(*fargs)
        first = time.perf_counter() - t0
        np.testing.assert_allclose(first_value, hand(*fargs), rtol=1e-6, atol=1e-9)
        candidates = {"primal": f, "hand": hand, "s2s": g}
        ag = _autograd_version(f)
        if ag is not None:
            try:
                np.testing.assert_allclose(ag(*fargs), first_value, rtol=1e-6, atol=1e-9)
                candidates["autograd"] = ag
            except Exception:
                ag = None
        probe = _median_time(hand, fargs, 3, 1)
        number = max(1, int(0.02 / max(probe, 1e-7)))
        t = _interleaved(candidates, fargs, repeats, number)
        ag_t = t.get("autograd")
        print(f"{name:28} {t['primal'] * 1e6:9.1f}u {t['hand'] * 1e6:9.1f}u {t['s2s'] * 1e6:9.1f}u "
              f"{t['s2s'] / t['hand']:9.2f} "
              + (f"{ag_t * 1e6:9.1f}u {ag_t / t['hand']:8.2f}" if ag_t else f"{'n/a':>10} {'':>8}")
              + f" {first * 1e3:8.1f}ms")
    print("times in microseconds (u), medians of interleaved repeats; first s2s = transform + first call")


if __name__ == "__main__":
    main()
