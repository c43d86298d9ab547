"""The lecture's complexity claims, measured on s2s's generated code.

1. For f: R^n -> R, a reverse-mode gradient costs about one evaluation of f whatever n is,
   while the forward-mode Jacobian needs n tangent sweeps (cost grows linearly in n).
2. Reverse mode stores the values its backward sweep needs (memory grows with the number of
   operations); forward mode keeps one tangent per live value (memory stays flat).
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

import s2s


def energy(x):
    """R^n -> R."""
    return np.sum(np.sin(x) * np.cos(x) + x * x)


def iterate(x, steps):
    """`steps` operations in a loop on a small vector."""
    h = x
    for _ in range(steps):
        h = np.tanh(h * 1.01 + 0.1)
    return np.sum(h)


def _time(fn, *args, repeats=5):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best


def _peak(fn, *args):
    fn(*args)  # warm: transform outside the measurement
    tracemalloc.start()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main():
    print("cost against input dimension n (f: R^n -> R)")
    print(f"{'n':>6} {'f':>10} {'reverse grad':>14} {'forward jacobian':>18}")
    grad = s2s.grad(energy)
    jac = s2s.jacobian(energy, mode="forward")
    for n in (10, 100, 1000):
        x = np.linspace(-1, 1, n)
        grad(x)
        jac(x)
        print(f"{n:>6} {_time(energy, x) * 1e6:9.1f}u {_time(grad, x) * 1e6:13.1f}u "
              f"{_time(jac, x, repeats=2) * 1e6:17.1f}u")
    print("\npeak extra memory against number of operations (tracemalloc, 8-element vector)")
    print(f"{'steps':>6} {'reverse grad':>14} {'forward jvp':>12}")
    x = np.linspace(-1, 1, 8)
    for steps in (10, 100, 1000):
        grad_it = s2s.grad(iterate)

        def reverse(x, steps=steps, g=grad_it):
            return g(x, steps)

        def forward(x, steps=steps):
            return s2s.jvp(iterate, (x, steps), (np.ones_like(x), None))

        print(f"{steps:>6} {_peak(reverse, x) / 1024:12.1f}KB {_peak(forward, x) / 1024:10.1f}KB")


if __name__ == "__main__":
    main()
