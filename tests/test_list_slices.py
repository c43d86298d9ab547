"""Loops over slices of a list of parameters (`for W, b in params[1:-1]`), the empty slice included.

A network of two layers has no hidden layers: the slice is empty and its adjoint is zero.
"""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import s2s


def net(params, x):
    W0, b0 = params[0]
    x = np.tanh(x @ W0 + b0)
    for W, b in params[1:-1]:
        x = np.tanh(x @ W + b)
    W1, b1 = params[-1]
    return np.sum((x @ W1 + b1) ** 2)


def net_by_autograd(params, x):
    W0, b0 = params[0]
    x = anp.tanh(anp.dot(x, W0) + b0)
    for W, b in params[1:-1]:
        x = anp.tanh(anp.dot(x, W) + b)
    W1, b1 = params[-1]
    return anp.sum((anp.dot(x, W1) + b1) ** 2)


def every_other(xs):
    return sum([v * v for v in xs[::2]]) + sum(xs[5:7])  # xs[5:7] is empty for short lists


@pytest.mark.parametrize("layers", [2, 3, 4])
def test_loop_over_a_slice_of_layers(layers):
    rng = np.random.default_rng(layers)
    sizes = [2] + [3] * (layers - 1) + [1]
    params = [(rng.normal(size=(m, n)), rng.normal(size=n)) for m, n in zip(sizes[:-1], sizes[1:])]
    x = rng.normal(size=(4, 2))
    got = s2s.grad(net)(params, x)
    want = autograd.grad(net_by_autograd)(params, x)
    assert len(got) == len(want)
    for (gw, gb), (ww, wb) in zip(got, want):
        np.testing.assert_allclose(gw, ww, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(gb, wb, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n", [3, 4, 6])
def test_empty_and_strided_slices_of_numbers(n):
    xs = [0.1 * (i + 1) for i in range(n)]
    got = s2s.grad(every_other)(xs)
    want = [2 * v if i % 2 == 0 else 0.0 for i, v in enumerate(xs)]
    for i in (5, 6):
        if i < n:
            want[i] += 1.0
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=1e-12)
