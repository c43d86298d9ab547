"""Index reads of an array the tape restores later: `y` built by one loop (`y = y + h[k] * x[k:k + n]`, pushed
and restored in that loop's backward sweep), then read item by item in a second loop (`y[i]`). The reads'
adjoints go into one array in place (`y_bar[i] += s_bar`), taking y's shape from the facts at each read
(one for all), where before the restore made s2s keep `y_bar += s2s.getitem_grad(...)`, a fresh array per
read: O(n^2) (helper 144: 13 ms against 0.8 ms at n = 4000) and a compile fallback (`float += array`)."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import check_all_and_general, compiled_matches

R = np.random.default_rng(1448)


def taps_then_smoothing(h, x):
    y = np.zeros(x.shape[0])
    for k in range(3):
        y = y + h[k] * x
    s = 0.0
    for i in range(x.shape[0]):
        s = 0.5 * s + y[i]
    return s * s


def filter_then_recursion(h, a, x, target):
    n = x.shape[0] - h.shape[0] + 1
    y = np.zeros(n)
    for k in range(h.shape[0]):
        y = y + h[k] * x[k:k + n]
    s = 0.0
    loss = 0.0
    for i in range(n):
        s = a * s + (1.0 - a) * y[i]
        loss = loss + (s - target[i]) ** 2
    return loss / n


def rebuilt_between_reads(w, x):
    y = x * w
    total = 0.0
    for i in range(x.shape[0]):
        total = total + y[i] ** 2
    for _ in range(2):
        y = np.sin(y) * w
    for i in range(x.shape[0] - 1):
        total = total + y[i] * y[i + 1]
    return total


CASES = {
    "taps": (taps_then_smoothing, (R.normal(size=3), R.normal(size=20)), 0),
    "filter": (filter_then_recursion, (R.normal(size=4) / 4, 0.6, R.normal(size=23), R.normal(size=20)), (0, 1)),
    "rebuilt": (rebuilt_between_reads, (R.normal(size=6), R.normal(size=6)), (0, 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_differences_autograd_and_the_general_code(name):
    f, args, wrt = CASES[name]
    check_all_and_general(f, args, wrt=wrt)


@pytest.mark.parametrize("name", ["taps", "filter"])
def test_reads_accumulate_in_place(name):
    f, args, wrt = CASES[name]
    text = s2s.source(s2s.grad(f, wrt=wrt), *args)
    assert "getitem_grad" not in text, text
    assert "y_bar[i] += " in text or "y_bar_items[i] += " in text, text  # (into the items' list: item_sums)


@pytest.mark.parametrize("name", ["taps", "filter"])
def test_compiled(name):
    pytest.importorskip("numba")
    f, args, wrt = CASES[name]
    compiled_matches(f, args, wrt=wrt)
