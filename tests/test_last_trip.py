"""The last trip of a loop written out (transforms/unroll.py `peel_last_trips`), tried where a loop carries an
array that nothing after it reads: the backward sweep's first trip starts that array's adjoint as the number 0.0,
and it is an array on every other. Each program is checked against central differences and autograd; where the
pass applies, the code must have lost the general helpers and the zero tests, and the compiled code must run.

Also here: the lists of numbers in a tuple that `np.concatenate` joins (`np.concatenate((t, [0.0]))`), whose
shapes are known where nothing reaches the list through the tuple, and `np.outer`'s adjoints of vectors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import s2s
from tests.helpers_fd import check_all, compiled_matches

R = np.random.default_rng(46)
A3 = np.array([[0.9, 0.2, 0.0], [-0.1, 0.8, 0.1], [0.0, 0.05, 0.95]])


def filter_loss(A, q, ys):
    """A scalar-observation filter: the state and its covariance go on to a next step the loss never reads."""
    x = np.zeros(3)
    P = np.eye(3)
    nll = 0.0
    for t in range(ys.shape[0]):
        x = A @ x
        P = A @ P @ A.T + q * np.eye(3)
        S = P[0, 0] + 1.0
        v = ys[t] - x[0]
        nll = nll + v * v / S + np.log(S)
        gain = P[:, 0] / S
        x = x + gain * v
        P = P - np.outer(gain, P[0])
    return nll


def counter_read_after(w, xs):
    h = np.ones(4)
    s = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(w * h + xs[t])
        s = s + np.sum(h)
    return s * t


def stepped_range(w, xs):
    h = np.ones(4)
    s = 0.0
    for t in range(1, xs.shape[0], 2):
        h = np.sin(w @ h) + xs[t]
        s = s + h[0] * h[1]
    return s


def branch_on_the_last_trip(w, xs):
    h = np.ones(4)
    s = 0.0
    n = xs.shape[0]
    for t in range(n):
        h = np.tanh(w * h) + xs[t]
        if t == n - 1:
            s = s + 2.0 * np.sum(h * h)
        else:
            s = s + np.sum(h)
    return s


def temporary_read_after(w, xs):
    h = np.ones(4)
    s = 0.0
    for t in range(xs.shape[0]):
        z = w * h + xs[t]
        h = np.cos(z)
        s = s + np.sum(z * h)
    return s + np.sum(z)


def two_loops(w, xs):
    h = np.ones(4)
    s = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(w * h) + xs[t]
        s = s + np.sum(h ** 2)
    g = np.ones(4)
    for t in range(xs.shape[0]):
        g = np.sin(w * g) - xs[t]
        s = s + np.sum(g)
    return s


def state_read_after(w, xs):
    h = np.ones(4)
    s = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(w * h) + xs[t]
        s = s + np.sum(h)
    return s + np.sum(h * h)


CASES = {
    "filter": (filter_loss, (A3, 0.1, R.normal(size=12)), (0, 1)),
    "counter_read_after": (counter_read_after, (0.7, R.normal(size=(6, 4))), 0),
    "stepped_range": (stepped_range, (R.normal(size=(4, 4)) * 0.4, R.normal(size=(7, 4))), (0, 1)),
    "branch_on_the_last_trip": (branch_on_the_last_trip, (0.6, R.normal(size=(5, 4))), (0, 1)),
    "temporary_read_after": (temporary_read_after, (0.6, R.normal(size=(5, 4))), (0, 1)),
    "two_loops": (two_loops, (0.6, R.normal(size=(5, 4))), (0, 1)),
    "two_trips": (filter_loss, (A3, 0.1, R.normal(size=2)), (0, 1)),
    "one_trip": (filter_loss, (A3, 0.1, R.normal(size=1)), (0, 1)),
    "no_trip": (filter_loss, (A3, 0.1, np.zeros(0)), (0, 1)),
    "state_read_after": (state_read_after, (0.6, R.normal(size=(5, 4))), (0, 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_differences_autograd_and_the_general_code(name):
    f, args, wrt = CASES[name]
    got = check_all(f, args, wrt=wrt)
    general = s2s.derivative(f, wrt=wrt)(*args)
    for a, b in zip(got if isinstance(wrt, tuple) else (got,), general if isinstance(wrt, tuple) else (general,)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["filter", "counter_read_after", "stepped_range", "branch_on_the_last_trip",
                                  "temporary_read_after", "two_trips"])
def test_the_last_trip_is_written_out_and_the_loop_specialised(name):
    f, args, wrt = CASES[name]
    src = s2s.source(s2s.grad(f, wrt=wrt), *args)
    for general in ("unbroadcast(", "grad_matmul", "is_zero(", "s2s.add(", "kept:"):
        assert general not in src, src


def test_both_loops_written_out():
    f, args, wrt = CASES["two_loops"]
    src = s2s.source(s2s.grad(f, wrt=wrt), *args)
    assert src.count("for t in range(4):") == 2 and "is_zero(" not in src, src


def test_a_state_read_after_the_loop_keeps_it_whole():
    f, args, wrt = CASES["state_read_after"]
    src = s2s.source(s2s.grad(f, wrt=wrt), *args)
    assert "for t in range(5):" in src and "for t in range(4):" not in src, src


def _compiled_matches(f, args, wrt):
    compiled_matches(f, args, wrt=wrt)


@pytest.mark.parametrize("name", ["filter", "stepped_range", "branch_on_the_last_trip"])
def test_compiled_code_runs_and_matches(name):
    pytest.importorskip("numba")
    _compiled_matches(*CASES[name])


def test_float32_state_keeps_its_dtype():
    f = counter_read_after
    args = (np.float32(0.7), R.normal(size=(6, 4)).astype(np.float32))
    got = s2s.grad(f)(*args)
    assert np.asarray(got).dtype == np.float32
    np.testing.assert_allclose(got, s2s.grad(f)(0.7, args[1].astype(np.float64)), rtol=1e-4)


# ---- np.outer's adjoints of vectors ---------------------------------------------------------------------


def outer_loss(a, b):
    return np.sum(np.sin(np.outer(a, b)))


def test_outer_adjoints_of_vectors_are_products():
    args = (R.normal(size=3), R.normal(size=4))
    check_all(outer_loss, args, wrt=(0, 1))
    src = s2s.source(s2s.grad(outer_loss, wrt=(0, 1)), *args)
    assert "ravel" not in src and "reshape" not in src, src


def test_outer_adjoints_of_matrices_keep_the_ravel():
    args = (R.normal(size=(2, 3)), R.normal(size=4))
    check_all(outer_loss, args, wrt=(0, 1), use_autograd=False)  # (autograd's adjoint of a 2-d a comes out raveled)
    src = s2s.source(s2s.grad(outer_loss, wrt=(0, 1)), *args)
    assert "np.reshape(" in src, src


# ---- lists of numbers in a tuple np.concatenate joins ------------------------------------------------------


def chain_forces(k, x):
    t = k * np.diff(x)
    force = np.concatenate((t, [0.0])) - np.concatenate(([0.0], t)) - 0.1 * x ** 3
    return np.sum(force * x)


def list_changed_through_the_tuple(k, x):
    t = k * np.diff(x)
    pad = [0.0]
    parts = (t, pad)
    parts[1].append(1.0)
    return np.sum(np.concatenate(parts) * x[:-1].repeat(2)[: t.size + 2])


def list_changed_after_the_tuple(k, x):
    t = k * np.diff(x)
    pad = [0.0]
    parts = (t, pad)
    pad.append(2.0)
    return np.sum(np.concatenate(parts) ** 2)


def test_a_list_of_numbers_in_a_joined_tuple_has_a_shape():
    args = (R.uniform(0.5, 1.5, size=5), R.normal(size=6))
    check_all(chain_forces, args, wrt=(0, 1))
    src = s2s.source(s2s.grad(chain_forces, wrt=(0, 1)), *args)
    assert "unbroadcast" not in src and "grad_concatenate" not in src, src


def test_a_list_of_numbers_in_a_joined_tuple_compiles():
    pytest.importorskip("numba")
    _compiled_matches(chain_forces, (R.uniform(0.5, 1.5, size=5), R.normal(size=6)), (0, 1))


@pytest.mark.parametrize("f", [list_changed_through_the_tuple, list_changed_after_the_tuple])
def test_a_list_changed_after_it_went_into_the_tuple_stays_right(f):
    args = (R.uniform(0.5, 1.5, size=5), R.normal(size=6))
    try:
        got = s2s.grad(f, wrt=(0, 1))(*args)
    except s2s.S2SError as exc:  # (refused, with the line, is right too)
        assert "line" in str(exc)
        return
    from tests.helpers_fd import fd_grad

    for g, w in zip(got, (0, 1)):
        np.testing.assert_allclose(g, fd_grad(f, args, wrt=w), rtol=1e-5, atol=1e-7)


def hstack_of_a_list_of_numbers(k, x):
    t = k * np.diff(x)
    return np.sum(np.hstack((t, [1.0, 2.0])) ** 2)


def hstack_of_the_parameter_in_a_list(k, x):
    t = k * np.diff(x)
    return np.sum(np.hstack(([k], t)) ** 2)


def vstack_of_a_list_of_numbers(k, x):
    t = k * np.diff(x)
    return np.sum(np.vstack((t, [1.0] * t.size)) ** 2)


def column_stack_of_a_list_of_numbers(k, x):
    """(helper 140: grad_column_stack reshaped the list's piece to ())"""
    t = k * x
    return np.sum(np.column_stack([t, [1.0] * t.size]) ** 2)


def column_stack_of_the_parameter_in_a_list(k, x):
    t = k * x
    return np.sum(np.column_stack([t, [k, 2.0 * k, 1.0, k * k, 0.5, k]]) ** 2)


@pytest.mark.parametrize("f", [hstack_of_a_list_of_numbers, hstack_of_the_parameter_in_a_list,
                               vstack_of_a_list_of_numbers, column_stack_of_a_list_of_numbers,
                               column_stack_of_the_parameter_in_a_list])
def test_hstack_and_vstack_of_lists_of_numbers(f):
    """(their adjoints reshaped each piece to the shape of a list read as a number's, (), and raised; helper 136)"""
    # (autograd's adjoint of k put in a list inside np.hstack is off by 2k: central differences alone judge it)
    check_all(f, (0.7, R.normal(size=6)), wrt=(0, 1), use_autograd=f not in (
        hstack_of_the_parameter_in_a_list, column_stack_of_the_parameter_in_a_list))


def monotone_curve(logstep, c0, y):
    steps = np.exp(logstep)
    curve = np.concatenate([[c0], c0 + np.cumsum(steps)])
    return np.sum((curve - y) ** 2)


def list_in_a_list_changed(logstep, c0, y):
    steps = np.exp(logstep)
    head = [c0]
    parts = [head, c0 + np.cumsum(steps)]
    parts[0].append(c0 * 2.0)
    return np.sum((np.concatenate(parts)[:y.size] - y) ** 2)


def test_a_list_of_a_number_in_a_list_joined_has_a_shape():
    """(a list display holding the list, read by np.concatenate alone: no one reaches the inner list either)"""
    args = (np.log(R.uniform(0.05, 0.2, 8)), 0.1, R.normal(size=9))
    check_all(monotone_curve, args, wrt=(0, 1), use_autograd=False)  # (autograd drops c0's term in `[c0]`)
    src = s2s.source(s2s.grad(monotone_curve, wrt=(0, 1)), *args)
    assert "kept:" not in src and "unbroadcast" not in src, src


def test_a_list_changed_through_the_list_holding_it_stays_right():
    args = (np.log(R.uniform(0.05, 0.2, 8)), 0.1, R.normal(size=9))
    try:
        got = s2s.grad(list_in_a_list_changed, wrt=(0, 1))(*args)
    except s2s.S2SError as exc:
        assert "line" in str(exc)
        return
    from tests.helpers_fd import fd_grad

    for g, w in zip(got, (0, 1)):
        np.testing.assert_allclose(g, fd_grad(list_in_a_list_changed, args, wrt=w), rtol=1e-5, atol=1e-7)


def _pair_forces(q, m):
    D = q[None, :, :] - q[:, None, :]
    r2 = np.sum(D * D, axis=-1) + 0.05
    return np.sum(m[None, :, None] * D * r2[:, :, None] ** -1.5, axis=1)


def pairwise_leapfrog(q0, p0, m):
    q, p = q0, p0
    F = _pair_forces(q, m)
    for _ in range(12):
        p_half = p + 0.005 * F
        q = q + 0.01 * p_half
        F = _pair_forces(q, m)
        p = p_half + 0.005 * F
    return np.sum(q ** 2) + 0.5 * np.sum(p ** 2)


def test_a_force_nothing_reads_after_the_loop_compiles_with_the_last_trip_written_out():
    """Its NumPy code keeps no general helper, so it keeps the loop whole (`F_bar` starts as 0.0 and is an array
    after the backward sweep's first trip); numba refuses that, and the compiled path makes the code again with
    the last trip written out, which it compiles. `s2s show --compile` prints that code."""
    pytest.importorskip("numba")
    from s2s import compiled

    r = np.random.default_rng(12)
    args = (r.normal(size=(5, 2)), r.normal(size=(5, 2)) * 0.2, r.uniform(0.5, 1.5, 5))
    want = check_all(pairwise_leapfrog, args, wrt=(0, 1, 2))
    assert "for _ in range(12):" in s2s.source(s2s.grad(pairwise_leapfrog, wrt=(0, 1, 2)), *args)
    got = s2s.grad(pairwise_leapfrog, wrt=(0, 1, 2), compile="strict")(*args)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)
    shown = compiled.source(pairwise_leapfrog, *args, wrt=(0, 1, 2))
    assert "range(11)" in shown and "range(12)" not in shown, shown


def reduced_force(q0, p0, steps=3):
    q, p = q0, p0
    F = _pair_forces(q, np.ones(q.shape[0]))
    for _ in range(steps):
        p = p + 0.01 * F
        q = q + 0.01 * p
        F = _pair_forces(q, np.ones(q.shape[0]))
    return np.sum(q ** 2) + np.sum(p * q)


def test_the_written_out_trip_compiled_where_the_trip_count_is_a_default_left_out():
    pytest.importorskip("numba")
    r = np.random.default_rng(3)
    args = (r.normal(size=(4, 2)), r.normal(size=(4, 2)) * 0.2)
    want = check_all(reduced_force, args, wrt=(0, 1))
    got = s2s.grad(reduced_force, wrt=(0, 1), compile="strict")(*args)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("steps", [0, 1, 2, 5])
def test_a_trip_count_passed_as_an_int_falls_back_with_the_reason(steps):
    """(an int argument's value is not part of the code's key: the trip count is unknown, no trip is written out,
    and numba's refusal of `F_bar` is the warning; the numbers are the NumPy code's, for any count)"""
    pytest.importorskip("numba")
    from s2s import compiled

    r = np.random.default_rng(steps)
    args = (r.normal(size=(4, 2)), r.normal(size=(4, 2)) * 0.2, steps)
    want = check_all(reduced_force, args, wrt=(0, 1))
    with pytest.warns(compiled.CompiledFallbackWarning, match="F_bar"):
        got = s2s.grad(reduced_force, wrt=(0, 1), compile="always")(*args)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def scaled_state(x0, ys):
    """(helper 140: compile=True crashed with an AttributeError in the compiled tapes' zero-array claims, a
    `None == None` taken for a known shape)"""
    x = x0
    loss = 0.0
    for t in range(ys.shape[0]):
        x = np.sin(x) * ys[t]
        loss = loss + np.sum(x * x0)
        x = x * 0.7
    return loss


@pytest.mark.parametrize("trips", [1, 2, 3])
def test_a_state_scaled_after_its_last_read_compiles_or_falls_back_right(trips):
    pytest.importorskip("numba")
    args = (np.array([0.3, -0.2, 0.5]), R.normal(size=trips))
    want = check_all(scaled_state, args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = s2s.grad(scaled_state, compile=True)(*args)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_a_loop_of_one_trip_is_written_out_for_numba():
    pytest.importorskip("numba")
    compiled_matches(scaled_state, (np.array([0.3, -0.2, 0.5]), np.array([0.8])))
