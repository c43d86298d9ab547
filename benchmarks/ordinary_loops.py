"""Loops of the kinds the issue names, written as people write them: scalar iterations (series, maps,
Newton, fixed points), index reads and writes in loops (trapezoid rule, stencils, running sums, pairwise
sums), tables filled item by item (dynamic programming, Gauss-Seidel), recurrences with local state, items
swapped in place (a bubble sort).
The same format as ordinary.py's programs(), run by its harness.

Run: .venv/bin/python benchmarks/ordinary_loops.py [--rounds 9] [--only NAME]
"""

from __future__ import annotations

import math
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402


def horner(x, c):
    r = 0.0
    for i in range(len(c)):
        r = r * x + c[i]
    return r


def logistic_map(r, x0):
    x = x0
    s = 0.0
    for _ in range(50):
        x = r * x * (1.0 - x)
        s = s + x
    return s


def continued_fraction(x):
    r = x
    for k in range(25, 0, -1):
        r = x + k / (1.0 + r)
    return r


def sine_series(x):
    s, term = 0.0, x
    for k in range(1, 15):
        s = s + term
        term = -term * x * x / ((2 * k) * (2 * k + 1))
    return s


def fourier_sum(x):
    s = 0.0
    for k in range(1, 20):
        s = s + math.sin(k * x) / k
    return s


def pendulum(length, theta0):
    th, om = theta0, 0.0
    for _ in range(100):
        th, om = th + 0.01 * om, om - 0.01 * 9.81 / length * np.sin(th)
    return th


def trapezoid(y, x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 0.5 * (y[i] + y[i + 1]) * (x[i + 1] - x[i])
    return s


def second_differences(u):
    e = 0.0
    n = u.shape[0]
    for i in range(1, n - 1):
        d = u[i - 1] - 2.0 * u[i] + u[i + 1]
        e = e + d * d
    return e


def running_sum(x):
    out = np.zeros(x.shape[0])
    c = 0.0
    for i in range(x.shape[0]):
        c = c + x[i]
        out[i] = c
    return np.sum(out ** 2)


def smoothing(x):
    n = len(x)
    y = np.zeros(n)
    for i in range(1, n - 1):
        y[i] = 0.25 * x[i - 1] + 0.5 * x[i] + 0.25 * x[i + 1]
    return np.sum(y * y)


def pairwise_energy(X):
    n = X.shape[0]
    e = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            d = X[i] - X[j]
            e = e + 1.0 / np.sqrt(d @ d + 0.1)
    return e


def soft_dtw(a, b, gamma=0.5):
    n, m = len(a), len(b)
    R = np.full((n + 1, m + 1), 1e10)
    R[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            c = (a[i - 1] - b[j - 1]) ** 2
            r0, r1, r2 = R[i - 1, j - 1], R[i - 1, j], R[i, j - 1]
            mn = min(r0, r1, r2)
            s = np.exp(-(r0 - mn) / gamma) + np.exp(-(r1 - mn) / gamma) + np.exp(-(r2 - mn) / gamma)
            R[i, j] = c + mn - gamma * np.log(s)
    return R[n, m]


def gauss_seidel(A, b):
    n = b.shape[0]
    x = np.zeros(n)
    for _ in range(5):
        for i in range(n):
            s = b[i] - A[i] @ x + A[i, i] * x[i]
            x[i] = s / A[i, i]
    return np.sum(x ** 2)


def gru_local_state(Wz, Uz, Wh, Uh, xs):
    h = np.zeros(Uz.shape[0])
    for t in range(xs.shape[0]):
        z = 1.0 / (1.0 + np.exp(-(Wz @ xs[t] + Uz @ h)))
        hh = np.tanh(Wh @ xs[t] + Uh @ (z * h))
        h = (1 - z) * h + z * hh
    return np.sum(h ** 2)


def exponential_average(x, alpha):
    m = x[0]
    s = 0.0
    for i in range(1, len(x)):
        m = alpha * x[i] + (1 - alpha) * m
        s = s + m * m
    return s


def bubble_sorted_weights(x):
    y = x.copy()
    n = len(y)
    for k in range(n):
        for i in range(n - 1 - k):
            if y[i] > y[i + 1]:
                y[i], y[i + 1] = y[i + 1], y[i]
    return np.sum(y * np.arange(n) ** 2)


def programs():
    """(name, f, args, wrt) of every program, with fixed data."""
    r = np.random.default_rng(5)
    return [
        ("Horner's polynomial, scalar loop", horner, (0.7, np.linspace(0.1, 1, 12)), 0),
        ("logistic map, 50 steps", logistic_map, (3.2, 0.3), 0),
        ("continued fraction, reversed range", continued_fraction, (0.8,), 0),
        ("sine series, counter in the divisor", sine_series, (0.8,), 0),
        ("Fourier sum, math.sin", fourier_sum, (0.3,), 0),
        ("pendulum, tuple update, np.sin of a number", pendulum, (1.2, 0.5), 0),
        ("trapezoid rule over samples", trapezoid, (r.normal(size=40), np.sort(r.uniform(0, 1, 40))), (0, 1)),
        ("second differences, n = u.shape[0]", second_differences, (r.normal(size=50),), 0),
        ("running sum written item by item", running_sum, (r.normal(size=60),), 0),
        ("three-point smoothing into a local array", smoothing, (r.normal(size=60),), 0),
        ("pairwise energy, nested loops", pairwise_energy, (r.normal(size=(12, 3)),), 0),
        ("soft-DTW table, min of three", soft_dtw, (r.normal(size=8), r.normal(size=7)), (0, 1)),
        ("Gauss-Seidel sweeps, x[i] = ...", gauss_seidel,
         (np.eye(6) * 4 + r.normal(size=(6, 6)) * 0.3, r.normal(size=6)), (0, 1)),
        ("GRU cell, state allocated inside", gru_local_state,
         tuple(r.normal(size=s) * 0.3 for s in ((16, 8), (16, 16), (16, 8), (16, 16))) + (r.normal(size=(20, 8)),),
         (0, 1, 2, 3)),
        ("exponential moving average", exponential_average, (r.normal(size=50), 0.3), (0, 1)),
        ("bubble sort, items swapped in a branch", bubble_sorted_weights, (r.normal(size=40),), 0),
    ]


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import ordinary  # noqa: E402

    ordinary.programs = programs
    ordinary.main()
