"""Adversarial cases for transforms/unroll.py (loops written out and first trips peeled in code specialised
to the arguments' shapes): each against central differences and autograd."""

from __future__ import annotations

import numpy as np

import s2s
from tests.helpers_fd import check_all

RNG = np.random.default_rng(23)


def while_test_reads_a_renamed_name(w, xs):
    lim = 0
    y = 0.0
    for k in range(xs.shape[0]):
        lim = k + 2  # bound before it is read: the peeled first trip names it anew
        s = 1.0
        if lim > 0:
            j = 0
            while j < lim:  # (the test after the first runs from statements held beside the loop)
                s = s * 0.5
                j = j + 1
        y = y * w + xs[k] * s
    return np.sum(y ** 2)


def while_test_reads_the_counter(w, xs):
    y = 0.0
    for k in range(xs.shape[0]):
        lim = k + 1
        s = 1.0
        while s > 0.5 ** lim:
            s = s * 0.5
        y = y * w + xs[k] * s
    return np.sum(y ** 2)


def test_a_peeled_first_trip_renames_and_counts_in_a_while_loops_test():
    a = (RNG.normal(size=3), RNG.normal(size=(3, 3)))
    assert np.isclose(s2s.value_and_grad(while_test_reads_a_renamed_name)(*a)[0], while_test_reads_a_renamed_name(*a))
    check_all(while_test_reads_a_renamed_name, a)
    check_all(while_test_reads_the_counter, (RNG.normal(size=3), RNG.normal(size=(4, 3))))


def helper_called_three_times(c, d, x):
    def hh(cc, xx):
        y = 0.0
        for k in range(cc.shape[0]):
            y = y * xx + cc[k]
        return y
    return np.sum(hh(c, x) ** 2 + hh(d, x) * hh(c, 2 * x))


def test_an_array_read_once_in_a_loop_is_not_updated_in_place():
    # the peeled third call's `xx = 2 * x` is read once in the code, by `y_bar = y_bar * xx` in the backward
    # loop: at every trip, so its array cannot take the product (transforms/reuse.py)
    for n in (3, 4):
        a = (RNG.normal(size=n), RNG.normal(size=3), RNG.normal(size=3))
        check_all(helper_called_three_times, a)
