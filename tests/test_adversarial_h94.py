"""Adversarial review of a loop counter two loops share (transforms/shapes.py), of the ownership check's
result shape (s2s.unshared) and of fusion with later loops over the same counter (transforms/fusion.py):
the regressions found, and specialised programs whose gradients match central differences and the
general code."""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s


def _check(f, args, wrt):
    want = [fd_grad(f, args, wrt=w) for w in wrt]
    for got in (s2s.grad(f, wrt=wrt)(*args), s2s.derivative(f, wrt=wrt)(*args)):
        for g, fd in zip(got, want):
            np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7)


# ---- a value the name held before a loop over a range rebinds it gets no adjoint from after the loop -----
def counter_rebinds_a_number(a, b, n):
    i = a * b
    s = a
    for i in range(n):
        s = s * b + i
    return s * i  # i is the last counter (n > 0), or a * b (no trip)


def counter_rebinds_an_item(x, w):
    i = w[0] * 2.0
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] * w[1]
    return s * i


@pytest.mark.parametrize("n", [0, 3])
def test_a_loop_counter_stops_the_adjoint_of_what_the_name_held(n):
    # the backward loop over a range never reset i_bar: what flowed into it after the loop and in the trips
    # reached `i = a * b` (with n = 3 s2s.grad and s2s.derivative gave (21.06, 18.07) for (4.394, 9.098))
    a, b = 0.7, 1.3
    # n = 3: (a b^3 + b + 2) * 2; no trip: a * (a * b)
    want = (2 * b ** 3, 2 * (3 * a * b ** 2 + 1)) if n == 3 else (2 * a * b, a * a)
    _check(counter_rebinds_a_number, (a, b, n), (0, 1))
    got = s2s.grad(counter_rebinds_a_number, wrt=(0, 1))(a, b, n)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_a_loop_counter_stops_the_adjoint_of_an_item_it_held():
    r = np.random.default_rng(0)
    x, w = r.normal(size=4), r.normal(size=3)
    _check(counter_rebinds_an_item, (x, w), (0, 1))
    # (i is 3 at the return: nothing of w[0] reaches it; the general code gave 0.534, s2s.grad 0)
    assert s2s.derivative(counter_rebinds_an_item, wrt=1)(x, w)[0] == 0.0
