"""transforms/unroll.py: a loop whose first trip starts from other shapes is peeled, and a loop over a
container argument's items of different shapes is written out, in code specialised to the arguments.
Each program is checked against central differences and autograd; where the pass applies, the code
must have lost the general helpers (and, written out, the tape); where it must not, the gradient stays right."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import check_all

RNG = np.random.default_rng(11)


def horner(coeffs, x):
    y = 0.0
    for c in coeffs:
        y = y * x + c
    return np.sum(y ** 2)


def decaying_sum(w, xs):
    total = 0.0
    for i in range(xs.shape[0]):
        total = 0.5 * total + np.tanh(xs[i] * w)
    return np.sum(total)


def counter_after_peeled_loop(w, xs):
    y = 0.0
    for k in range(xs.shape[0]):
        y = y * w + xs[k]
    return np.sum(y) * k


def branch_on_counter(w, xs):
    y = 0.0
    for k in range(xs.shape[0]):
        if k % 2 == 0:
            y = y * w + xs[k]
        else:
            y = y - xs[k] * w
    return np.sum(y ** 2)


def growing(w, x):
    y = np.zeros(0)
    for _ in range(3):
        y = np.concatenate([y, x * w])
    return np.sum(y ** 2)


def all_but_last_layer(params, X):
    h = X
    for W, b in params[:-1]:
        h = np.tanh(h @ W + b)
    W, b = params[-1]
    return np.sum((h @ W + b) ** 2)


def one_trip_counter_read_after(w, xs):
    y = 0.0
    for k in range(xs.shape[0]):
        y = y * w + xs[k]
    return np.sum(y * w) * (k + 1)


def one_trip_that_raises_past_the_end(w, xs):
    y = w
    for k in range(xs.shape[0]):
        y = y @ xs[k]
    return np.sum(y ** 2)


def general(f, *args) -> bool:
    src = s2s.source(s2s.grad(f), *args)
    return "unbroadcast(" in src or "expand_reduced" in src or "grad_matmul" in src


@pytest.mark.parametrize("f, args", [
    (horner, lambda: (RNG.normal(size=6), RNG.normal(size=5))),
    (decaying_sum, lambda: (RNG.normal(size=4), RNG.normal(size=(7, 4)))),
    (counter_after_peeled_loop, lambda: (RNG.normal(size=3), RNG.normal(size=(5, 3)))),
])
def test_first_trip_peeled(f, args):
    a = args()
    check_all(f, a)
    assert not general(f, *a)


@pytest.mark.parametrize("f, args", [
    (all_but_last_layer, lambda: ([(RNG.normal(size=(3, 4)), RNG.normal(size=4)), (RNG.normal(size=(4, 2)),
                                                                                   RNG.normal(size=2))],
                                  RNG.normal(size=(5, 3)))),
    (one_trip_counter_read_after, lambda: (RNG.normal(size=3), RNG.normal(size=(1, 3)))),
    (one_trip_that_raises_past_the_end, lambda: (RNG.normal(size=(2, 3)), RNG.normal(size=(1, 3, 4)))),
], ids=["all_but_last_layer", "counter_read_after", "matrix_chain"])
def test_a_loop_of_one_trip_is_its_body(f, args):
    a = args()
    if f is all_but_last_layer:
        from tests.test_container_params import check
        check(f, *a)
    else:
        check_all(f, a)
    src = s2s.source(s2s.grad(f), *a)
    assert not general(f, *a) and not any(line.lstrip().startswith("for ") for line in src.splitlines()), src


def test_a_peeled_loop_with_a_branch_on_its_counter():
    a = (RNG.normal(size=3), RNG.normal(size=(6, 3)))
    check_all(branch_on_counter, a)


def growing_long(w, x):
    y = np.zeros(0)
    for _ in range(12):
        y = np.concatenate([y, x * w])
    return np.sum(y ** 2)


def batches_with_a_remainder(w, X, y, batch=3):
    total = 0.0
    n = X.shape[0]
    for start in range(0, n, batch):
        xb = X[start:start + batch]
        yb = y[start:start + batch]
        total = total + np.sum((np.tanh(xb @ w) - yb) ** 2) * start
    return total / n + start


def test_a_short_loop_whose_shapes_keep_changing_is_written_out():
    a = (RNG.normal(size=3), RNG.normal(size=3))
    check_all(growing, a)
    src = s2s.source(s2s.grad(growing), *a)
    assert not general(growing, *a) and "for " not in src, src


def test_a_long_loop_whose_shapes_keep_changing_keeps_the_general_code():
    a = (RNG.normal(size=3), RNG.normal(size=3))
    check_all(growing_long, a)
    assert general(growing_long, *a)


@pytest.mark.parametrize("n", [7, 9, 2])
def test_batches_of_a_range_with_a_step_are_written_out(n):
    a = (RNG.normal(size=4), RNG.normal(size=(n, 4)), RNG.normal(size=n))
    check_all(batches_with_a_remainder, a)
    src = s2s.source(s2s.grad(batches_with_a_remainder), *a)
    assert not general(batches_with_a_remainder, *a), src
    assert ("for " in src) is (n == 9), src  # (batches all of 3 rows: one shape, the loop stays a loop)


def test_float32_and_one_trip():
    g = s2s.grad(horner)(RNG.normal(size=4).astype(np.float32), RNG.normal(size=3).astype(np.float32))
    assert g.dtype == np.float32
    check_all(horner, (RNG.normal(size=1), RNG.normal(size=5)))
    assert s2s.grad(horner)(np.zeros(0), RNG.normal(size=5)).shape == (0,)


def test_peeling_follows_the_call_shapes():
    grad = s2s.grad(horner)
    for n in (1, 2, 5):
        coeffs, x = RNG.normal(size=n), RNG.normal(size=4)
        eps = 1e-6
        fd = np.array([(horner(coeffs + eps * e, x) - horner(coeffs - eps * e, x)) / (2 * eps) for e in np.eye(n)])
        np.testing.assert_allclose(grad(coeffs, x), fd, rtol=1e-5, atol=1e-6)


def unbound_after_written_out(w, X, flag):
    total = 0.0
    for start in range(0, 7, 3):
        xb = X[start:start + 3]
        total = total + np.sum(np.tanh(xb @ w))
    if flag > 0.0:
        n = 3
    if n < 5:  # (n is unbound where flag <= 0: the function raises)
        total = total * 2.0
    return total


def test_a_condition_on_a_name_that_may_be_unbound_is_not_folded():
    # fold_known_conditions read n's one value (3) from the shapes, `n < 5` became True and the read
    # of n went: s2s.grad returned a gradient where the function raised UnboundLocalError
    a = (RNG.normal(size=3), RNG.normal(size=(7, 3)))
    check_all(unbound_after_written_out, a + (1.0,))
    with pytest.raises(UnboundLocalError):
        unbound_after_written_out(*a, -1.0)
    with pytest.raises(UnboundLocalError):
        s2s.grad(unbound_after_written_out)(*a, -1.0)
