"""A loop whose trips are independent runs each trip's adjoint in the trip, without the tape
(transforms/fusion.py): fused where the analysis proves it, the two loops kept where it does not, and
the gradient right either way (central differences, autograd, the general code)."""

import os
import sys

import numpy as np
import pytest
from helpers_fd import check_all
from tape_text import backward_loops

import s2s

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from ordinary import softmax_policy  # noqa: E402  (a fused loop whose shapes the tape's placeholders hid)
from ordinary_kinds import huber_rows_f32 as rows_with_branch  # noqa: E402  (a loss summed over rows, a branch each)


# ---- fused: each trip adds a term to what is returned -------------------------------------------------
def segment_lengths(P, rest):
    E = 0.0
    L = 0.0
    for i in range(P.shape[0] - 1):
        seg = np.linalg.norm(P[i + 1] - P[i])
        E += (seg - rest) ** 2
        L += seg
    return E + 0.1 * L


def scaled_before_the_loop(x, y):
    w = 2.0 * x * x  # a local the loop reads: its adjoint is summed by the trips, then flows to x
    s = 0.0
    for i in range(y.shape[0]):
        s = s + np.sum(w * np.sin(y[i]))
    return s


def lookup_table(G, qs):
    s = 0.0
    for p in range(qs.shape[0]):
        x = qs[p, 0]
        i = int(x)
        fx = x - i
        v = (1 - fx) * G[i] + fx * G[i + 1]
        s += np.sum(v * v)
    return s


def two_sums(x):
    a = 0.0
    b = 0.0
    for i in range(x.shape[0]):
        t = np.tanh(x[i])
        a = a + t
        b = b - t * x[i]
    return a * 3.0 + b


FUSED = {
    "rows_with_branch": (rows_with_branch, lambda r: (r.normal(size=4), r.normal(size=(12, 4)), r.normal(size=12) * 2),
                         0),
    "segment_lengths": (segment_lengths, lambda r: (np.cumsum(r.normal(size=(9, 3)), axis=0), 1.0), (0, 1)),
    "scaled_before_the_loop": (scaled_before_the_loop, lambda r: (r.normal(size=3), r.normal(size=(5, 3))), (0, 1)),
    "lookup_table": (lookup_table, lambda r: (r.normal(size=(6, 2)), r.uniform(0, 4.99, size=(7, 1))), (0, 1)),
    "two_sums": (two_sums, lambda r: (r.normal(size=6),), 0),
}


# ---- not fused: the trips depend on each other, or the code after the loop reads what they bind --------
def recurrence(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = 0.5 * s + np.sin(x[i])
    return s


def squared_after_the_loop(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += np.sin(x[i])
    return s * s  # the adjoint of s needs s: known only after the loop


def item_written_in_the_loop(x):
    y = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        y[i] = x[i] * x[i]
    return np.sum(y * x)


def running_max(x):
    m = x[0]
    s = 0.0
    for i in range(x.shape[0]):
        m = max(m, x[i])
        s += m * x[i]
    return s


def previous_row(P):
    s = 0.0
    prev = P[0]
    for i in range(1, P.shape[0]):
        s += np.sum(prev * P[i])
        prev = P[i]  # the next trip reads this trip's row
    return s


KEPT = {
    "recurrence": (recurrence, lambda r: (r.normal(size=7),), 0),
    "squared_after_the_loop": (squared_after_the_loop, lambda r: (r.normal(size=7),), 0),
    "item_written_in_the_loop": (item_written_in_the_loop, lambda r: (r.normal(size=6),), 0),
    "running_max": (running_max, lambda r: (r.normal(size=6),), 0),
    "previous_row": (previous_row, lambda r: (r.normal(size=(5, 3)),), 0),
}


def _source(f, args, wrt):
    return s2s.source(s2s.grad(f, wrt=wrt), *args)


@pytest.mark.parametrize("name", sorted(FUSED))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fused_gradient_is_right(name, seed):
    f, make, wrt = FUSED[name]
    args = make(np.random.default_rng(seed))
    got = check_all(f, args, wrt=wrt, use_autograd=name != "lookup_table")  # (autograd: no int() of a box)
    want = s2s.derivative(f, wrt=wrt)(*args)
    for g, w in zip(got if isinstance(wrt, tuple) else (got,), want if isinstance(wrt, tuple) else (want,)):
        np.testing.assert_allclose(g, w, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("name", sorted(FUSED))
def test_independent_trips_are_one_loop_without_tape(name):
    f, make, wrt = FUSED[name]
    src = _source(f, make(np.random.default_rng(0)), wrt)
    assert "reversed(range(" not in src and "stack.append(" not in src and "stack.pop()" not in src, src


@pytest.mark.parametrize("name", sorted(KEPT))
@pytest.mark.parametrize("seed", [0, 1])
def test_dependent_trips_keep_both_loops(name, seed):
    f, make, wrt = KEPT[name]
    args = make(np.random.default_rng(seed))
    check_all(f, args, wrt=wrt, use_autograd=name != "item_written_in_the_loop")
    src = _source(f, args, wrt)
    assert backward_loops(src) >= 1, src


def test_fused_float32_keeps_its_dtype():
    r = np.random.default_rng(3)
    w, X, y = (r.normal(size=4).astype(np.float32), r.normal(size=(10, 4)).astype(np.float32),
               (r.normal(size=10) * 2).astype(np.float32))
    g = s2s.grad(rows_with_branch)(w, X, y)
    assert g.dtype == np.float32
    want = s2s.grad(rows_with_branch)(w.astype(float), X.astype(float), y.astype(float))
    np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-6)
    assert "reversed(range(" not in _source(rows_with_branch, (w, X, y), 0)


def test_fused_value_and_grad():
    r = np.random.default_rng(4)
    P = np.cumsum(r.normal(size=(8, 3)), axis=0)
    value, (gP, grest) = s2s.value_and_grad(segment_lengths, wrt=(0, 1))(P, 0.5)
    assert value == pytest.approx(segment_lengths(P, 0.5), rel=1e-12)
    want = s2s.derivative(segment_lengths, wrt=(0, 1))(P, 0.5)
    np.testing.assert_allclose(gP, want[0], rtol=1e-11)
    assert grest == pytest.approx(want[1], rel=1e-11)


@pytest.mark.parametrize("n", [0, 1])
def test_fused_loop_of_no_trip_or_one(n):
    r = np.random.default_rng(5)
    X, y, w = r.normal(size=(n, 3)), r.normal(size=n), r.normal(size=3)
    f = two_sums_over_rows
    got = s2s.grad(f, wrt=(0, 1))(X, y, w)
    want = s2s.derivative(f, wrt=(0, 1))(X, y, w)
    for g, v in zip(got, want):
        np.testing.assert_allclose(g, v, rtol=1e-12, atol=0)
        assert g.shape == (n, 3) or g.shape == (n,)


def two_sums_over_rows(X, y, w):
    s = 0.0
    for i in range(X.shape[0]):
        s += np.tanh(X[i] @ w) * y[i]
    return s + 1.0


def test_fused_loop_of_the_compiled_path_matches():
    pytest.importorskip("numba")
    from helpers_fd import compiled_matches
    r = np.random.default_rng(6)
    compiled_matches(segment_lengths, (np.cumsum(r.normal(size=(9, 3)), axis=0), 1.0), wrt=0)


def variance(x):
    n = x.shape[0]
    m = 0.0
    for i in range(n):
        m = m + x[i]
    m = m / n
    v = 0.0
    for i in range(n):
        d = x[i] - m
        v = v + d * d
    return v / n


@pytest.mark.parametrize("seed", [0, 1])
def test_a_later_backward_loop_over_the_same_counter_does_not_stop_fusion(seed):
    # the second loop's trips are independent; the first loop's backward loop (after the fused one) binds i
    # before it reads it. The first loop's adjoint needs the second loop's sum: it keeps its backward loop
    x = np.random.default_rng(seed).normal(size=6)
    check_all(variance, (x,), wrt=0)
    src = _source(variance, (x,), 0)
    assert src.count("reversed(range(") == 1 and src.count("for i in range(") == 2, src


# ---- after fusing, the placeholders the tape needed go, and the loop's shapes are known ------------------
def test_a_fused_loop_needs_no_placeholders_and_keeps_its_shapes():
    r = np.random.default_rng(6)
    args = (r.normal(size=(5, 3)) * 0.3, r.normal(size=(9, 5)), r.integers(0, 3, 9))
    check_all(softmax_policy, args, wrt=0)
    src = _source(softmax_policy, args, 0)
    assert "= None" not in src, src  # (`i = p = t3 = ... = None` read nothing: every trip binds them first)
    # so the loop's names have shapes: the sum's broadcast adjoint of a NumPy number goes, theta's outer
    # products are one product after the loop
    assert "broadcast_to" not in src and "np.outer" not in src and "@ np.stack(rows_" in src, src
    f32 = tuple(a.astype(np.float32) if a.dtype == float else a for a in args)
    g = s2s.grad(softmax_policy)(*f32)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, s2s.grad(softmax_policy)(*args), rtol=1e-4, atol=1e-5)
