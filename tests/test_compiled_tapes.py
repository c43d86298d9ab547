"""Array tapes of rows for compiled derivatives (s2s/compiled_tapes.py, compiled_helpers.tape_set/tape_grow):
which variables are claimed to hold float64 arrays of one shape, the tapes the lowered code gets, the
same gradients as the NumPy code, and the run-time check that a row has the claimed shape."""

from __future__ import annotations

import ast
import os
import sys

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad

numba = pytest.importorskip("numba")

from s2s import compiled, compiled_tapes  # noqa: E402
from s2s.runtime import compiled_helpers  # noqa: E402
from tests.test_specialize_flow import oscillator_pairs  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import problems  # noqa: E402
from ordinary_kinds import kepler_drift, velocity_verlet  # noqa: E402  (tuple updates of a loop's state)


def _kinds(text, arrays, kinds=None):
    return compiled_tapes.array_kinds(ast.parse(text).body[0], arrays, kinds or {}, {"np"})


def test_shapes_follow_rows_arithmetic_products_and_loop_state():
    text = ("def d(P, W, h0):\n"
            "    h = h0\n"
            "    z = np.zeros(4)\n"
            "    for i in range(3):\n"
            "        r = P[i]\n"
            "        s = r - P[i + 1]\n"
            "        t = h @ W\n"
            "        t += 2.0 * t\n"
            "        h = np.tanh(t)\n"
            "        n = np.linalg.norm(s)\n"
            "        u = W @ z\n")
    arrays = {"P": np.zeros((5, 3)), "W": np.zeros((4, 4)), "h0": np.zeros((1, 4))}
    got = _kinds(text, arrays, {"i": "int64"})
    assert got == {"z": ("float64", (4,)), "r": ("float64", (3,)), "s": ("float64", (3,)),
                   "t": ("float64", (1, 4)), "h": ("float64", (1, 4)), "n": "float64", "u": ("float64", (4,))}


def test_no_claim_where_shapes_differ_or_are_unknown():
    text = ("def d(P, x, k):\n"
            "    a = P[0]\n"
            "    a = P\n"  # two shapes
            "    b = P[k]\n"  # k not known to be an integer
            "    c = x * 2.0\n"  # x is float32: numba's float32 * float is float64, not claimed
            "    e = P[0]\n"
            "    e //= 2.0\n"  # an operation not followed
            "    P2 = P\n"
            "    P = P[1:] * 2.0\n")  # a parameter bound again to another shape
    got = _kinds(text, {"P": np.zeros((5, 3)), "x": np.zeros(3, np.float32), "k": 1})
    assert got == {}


def test_a_parameter_bound_again_starts_as_its_argument():
    text = ("def d(h, W):\n"
            "    for t in range(3):\n"
            "        a = W @ h\n"
            "        h = np.tanh(a)\n"
            "    return h\n")
    assert _kinds(text, {"h": np.zeros(4), "W": np.zeros((4, 4))}) == {"a": ("float64", (4,)), "h": ("float64", (4,))}
    # another dtype than the program's arrays (float32 among float64): not claimed
    assert "h" not in _kinds(text, {"h": np.zeros(4, np.float32), "W": np.zeros((4, 4))})


def discounted_path_length(P):
    e = 0.0
    for i in range(P.shape[0] - 1):
        d = P[i + 1] - P[i]
        e = 0.9 * e + np.linalg.norm(d)  # (a recurrence: the rows stay on a tape)
    return e


def test_row_recurrence_gets_row_tapes_and_the_same_gradient():
    P = np.cumsum(np.random.default_rng(0).normal(size=(100, 3)), axis=0)
    text = compiled.source(discounted_path_length, P)
    # (the trip count P.shape[0] - 1 is the int 99 of these arguments: the tape has that many rows, made once)
    assert "stack_d = _s2s_numpy.empty((99, 3), _s2s_numpy.float64)" in text
    assert "d = stack_d[stack_d_n].copy()" in text and "[]" not in text
    got = s2s.grad(discounted_path_length, compile="strict")(P)
    np.testing.assert_allclose(got, s2s.grad(discounted_path_length)(P), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got, fd_grad(discounted_path_length, (P,), 0), rtol=1e-6, atol=1e-8)


def test_path_length_needs_no_tape():
    p = next(p for p in problems.problems(0.01) if p.name.startswith("path length"))
    text = compiled.source(p.f, *p.args)
    assert "stack" not in text  # (its trips are independent: one loop, each trip's adjoint in the trip)
    got = s2s.grad(p.f, compile="strict")(*p.args)
    np.testing.assert_allclose(got, s2s.grad(p.f)(*p.args), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got, fd_grad(p.f, p.args, 0), rtol=1e-6, atol=1e-8)


def rows_times_a_number(P, k):
    total = 0.0
    for i in range(3):
        r = P[i] * k
        total = total + np.sum(r * r)
    return total


def test_rows_tape_with_a_scalar_factor():
    P = np.arange(12.0).reshape(4, 3) / 10
    got = s2s.grad(rows_times_a_number, compile="strict")(P, 1.5)
    np.testing.assert_allclose(got, s2s.grad(rows_times_a_number)(P, 1.5), rtol=1e-12)
    np.testing.assert_allclose(got, fd_grad(rows_times_a_number, (P, 1.5), 0), rtol=1e-6, atol=1e-8)


@numba.njit
def _push(tape, n, value):
    compiled_helpers.tape_set(tape, n, value)
    return compiled_helpers.tape_grow(tape)


def test_tape_set_checks_the_row_shape_and_tape_grow_keeps_rows():
    tape = np.zeros((2, 3))
    bigger = _push(tape, 1, np.array([1.0, 2.0, 3.0]))
    assert bigger.shape == (20, 3) and bigger[1].tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match=compiled_helpers.FALLBACK.strip()):
        _push(tape, 0, np.array([1.0, 2.0, 3.0, 4.0]))
    with pytest.raises(ValueError, match="more pushes"):
        _push(tape, 2, np.array([1.0, 2.0, 3.0]))


def _zeros(text, arrays, kinds=None):
    return compiled_tapes.zero_arrays(ast.parse(text).body[0], arrays, kinds or {}, {"np"})


def test_zero_started_adjoints_read_after_their_block_made_them_arrays():
    """`c = 0.0` then, each trip, `c = c + h * 2.0` before `d = c * 0.5`: at that read c is an array in the
    program as written too, so np.zeros(4) in its place gives the same values. Not where the read comes first,
    nor where the assignment before it is an array only if c already is (`c = c * 2.0`)."""
    h = {"h": np.ones(4)}
    first = "def f(h):\n    c = 0.0\n    for i in range(3):\n        c = c + h * 2.0\n        d = c * 0.5\n"
    assert _zeros(first, h) == {"c": (4,)}
    read_first = "def f(h):\n    c = 0.0\n    for i in range(3):\n        d = c * 0.5\n        c = c + h * 2.0\n"
    assert _zeros(read_first, h) == {}
    scaled = "def f(h):\n    c = 0.0\n    for i in range(3):\n        c = c * 2.0\n        d = c * 0.5\n        c = c + h\n"
    assert _zeros(scaled, h) == {}
    in_place = "def f(h):\n    c = 0.0\n    for i in range(3):\n        c += h\n        d = c * 0.5\n"
    assert _zeros(in_place, h) == {"c": (4,)}
    branch = ("def f(h, k):\n    c = 0.0\n    for i in range(3):\n        c = c + h\n        if k:\n"
              "            c = 0.0\n        d = c * 0.5\n")
    assert _zeros(branch, h) == {}


def test_a_zero_started_adjoint_added_into_an_item_after_its_loop():
    """`X_bar[0] += s_bar` after the loop that made s_bar an array: an item of s_bar's shape takes zeros as it
    takes the number 0. Not into a value of another shape (the check asks for equal shapes)."""
    arrays = {"X": np.ones((5, 4), np.float32), "a": np.ones(4, np.float32)}
    text = ("def f(X, a):\n    X_bar = np.zeros((5, 4), np.float32)\n    s_bar = 0.0\n    for t in range(4, 0, -1):\n"
            "        s_bar = s_bar + X[t] * 2.0\n        s_bar = s_bar * a\n    X_bar[0] += s_bar\n")
    assert _zeros(text, arrays) == {"s_bar": (4,)}
    assert _zeros(text.replace("X_bar[0] += s_bar", "X_bar += s_bar"), arrays) == {}


def ema_float32(alpha, X, Y):
    s = X[0]
    loss = 0.0
    for t in range(1, X.shape[0]):
        s = alpha * X[t] + (1.0 - alpha) * s
        loss = loss + np.sum((s - Y[t]) ** 2)
    return loss


def test_a_float32_smoothing_whose_state_adjoint_starts_at_zero_compiles():
    """(was a fallback, 'Cannot unify float64 and array(float64, 1d, C)': s_bar = 0.0 before the backward loop,
    read after it by `X_bar[0] += s_bar`; a review's exponential smoothing)"""
    r = np.random.default_rng(5)
    args = (r.uniform(0.1, 0.9, 6).astype(np.float32), r.normal(size=(9, 6)).astype(np.float32),
            r.normal(size=(9, 6)).astype(np.float32))
    got = s2s.grad(ema_float32, wrt=(0, 1), compile="strict")(*args)
    wide = tuple(a.astype(np.float64) for a in args)
    for w, g in zip((0, 1), got):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, fd_grad(ema_float32, wide, wrt=w), rtol=2e-3, atol=2e-4)


def test_items_of_tuple_displays_and_hstack_of_lists_are_followed():
    text = ("def d(x, h, W):\n"
            "    t = [x, h]\n"
            "    s = np.hstack(t)\n"
            "    g = W @ s\n"
            "    parts = g[0:2], g[2:5]\n"
            "    h_bar = parts[1]\n"
            "    b = np.broadcast_to(2.0, (5,))\n")
    got = _kinds(text, {"x": np.ones(2), "h": np.ones(3), "W": np.ones((5, 5))})
    assert got["s"] == ("float64", (5,)) and got["h_bar"] == ("float64", (3,)) and got["b"] == ("float64", (5,))
    changed = text.replace("    s = np.hstack(t)\n", "    t.append(x)\n    s = np.hstack(t)\n")
    assert "s" not in _kinds(changed, {"x": np.ones(2), "h": np.ones(3), "W": np.ones((5, 5))})


def test_a_zero_started_operand_made_an_array_earlier_in_its_block_is_no_zero():
    """`c_bar + h_bar * k`, both adjoints started at 0.0: where the block made h_bar an array before, c_bar's read
    has an operand of its shape (the LSTM cell's c2_bar = c_bar + h_bar * (1 - tanh2 * tanh2))."""
    h = {"h": np.ones(4)}
    text = ("def f(h):\n    c = 0.0\n    a = 0.0\n    for i in range(3):\n        a = a + h * 2.0\n"
            "        b = c + a * 0.5\n        c = b * 1.0 + h\n")
    assert _zeros(text, h) == {"a": (4,), "c": (4,)}
    later = text.replace("        a = a + h * 2.0\n        b = c + a * 0.5\n", "        b = c + a * 0.5\n        a = a + h * 2.0\n")
    assert "c" not in _zeros(later, h)


def test_zero_started_adjoints_through_copies_negations_transposes_and_powers():
    """An adjoint that starts as 0.0 and is copied (`a2 = a`), negated after its loop (`t = -a`), or made by
    `@ A.T`, `np.eye`, `x ** 3` is an array of one shape: np.zeros in its place. Not where a copy or a negation
    of it is read by something other than + - * / of an array of that shape (`d @ h` of the number 0 is 0)."""
    h = {"h": np.ones(4)}
    copied = ("def f(h, n):\n    a = 0.0\n    for i in range(n):\n        a2 = a\n        a2 = a2 + h ** 3\n"
              "        a = a2 * 0.5\n    t = -a\n    u = t * 2.0 + h\n")
    assert _zeros(copied, h) == {"a": (4,), "a2": (4,)}
    matrices = ("def f(A, C):\n    E = np.eye(2)\n    T_bar = 0.0\n    for k in range(1, 4):\n"
                "        T_bar = T_bar + C\n        T_bar = T_bar @ A.T / k\n    u = E + T_bar\n")
    arrays = {"A": np.ones((2, 2)), "C": np.ones((2, 2))}
    assert _zeros(matrices, arrays, {"k": "int64"}) == {"T_bar": (2, 2)}
    read_by_matmul = "def f(h):\n    c = 0.0\n    for i in range(3):\n        d = -c\n        e = d @ h\n        c = c + h\n"
    assert _zeros(read_by_matmul, h) == {}


def test_velocity_verlet_compiles_with_its_adjoints_started_as_zeros():
    """(was a fallback: a_bar = 0.0, copied into a_next_bar and negated after the loop, could not unify with an
    array in numba)"""
    x0, v0 = np.array([0.3, -0.2, 0.5]), np.array([0.1, 0.4, -0.3])
    args = (x0, v0, 1.5, 0.05, 6)
    got = s2s.grad(velocity_verlet, wrt=(0, 1, 2), compile="strict")(*args)
    for w, g in zip((0, 1, 2), got):
        np.testing.assert_allclose(g, fd_grad(velocity_verlet, args, wrt=w), rtol=1e-6, atol=1e-8)


def test_zero_started_adjoints_scaled_by_norms_dot_products_and_guarded_divisions():
    """Numbers the kinds do not name: a norm, a dot product of vectors, an int power, `x if x != 0 else 1`, and
    locals made of those (an accumulation of itself included): a zero-started adjoint scaled by one is an
    array of its shape, and `q0_bar += q_bar` after the loop reads it as one. Not where the scale is a vector of
    another shape (`M @ q` of a 3 x 2 M) or a value these rules do not know (`q.max(axis=0)`). `q.sum()` of a float64
    vector is a float64 number (since stop 33), and so are `q.max()`, `q.min()`, `q.mean()`, `q.prod()`."""
    q = {"q": np.ones(2), "M": np.ones((3, 2))}
    text = ("def f(q, M):\n    e = 0.0\n    q_bar = 0.0\n    q0_bar = q * 2.0\n    for i in range(3):\n"
            "        r = np.linalg.norm(q)\n        d = q @ q\n        e = e - d * r ** 3\n"
            "        s = e / (r if r != 0 else 1)\n        q_bar = q_bar + s * q\n    q0_bar += q_bar\n")
    assert _zeros(text, q) == {"q_bar": (2,)}
    assert "q_bar" not in _zeros(text.replace("d = q @ q", "d = M @ q"), q)
    assert _zeros(text.replace("d = q @ q", "d = q.max(axis=0)"), q) == {}
    for total in ("q.sum()", "q.max()", "q.min()", "q.mean()", "q.prod()"):  # (max, min, mean, prod: stop 45)
        assert _zeros(text.replace("d = q @ q", f"d = {total}"), q) == {"q_bar": (2,)}
    assert _zeros(text.replace("d = q @ q", "d = M.sum(axis=0)"), q) == {}  # (a vector: not a number)


def test_a_kepler_orbit_compiles_with_its_adjoints_started_as_zeros():
    """(was a fallback: q_bar = 0.0 before the backward loop and scaled by norms' adjoints in it)"""
    args = (np.array([1.0, 0.1]), np.array([0.05, 1.1]), 0.01, 20)
    got = s2s.grad(kepler_drift, wrt=(0, 1), compile="strict")(*args)
    for w, g in zip((0, 1), got):
        np.testing.assert_allclose(g, fd_grad(kepler_drift, args, wrt=w), rtol=1e-5, atol=1e-9)


def test_adjoints_started_as_zeros_and_scaled_by_a_number_compile():
    """(was a fallback: `a_bar = v_bar * dt` of v_bar = 0.0 before the loop; `traj[t] = x` was taken for a binding
    of traj and t, `np.zeros(t3)` of `t3 = (25, 4)` had no shape, and the backward loop's counter was no int)"""
    r = np.random.default_rng(3)
    args = (r.uniform(1, 4, size=4), r.uniform(0.1, 0.5, size=4), r.normal(size=4), r.normal(size=4))
    got = s2s.grad(oscillator_pairs, wrt=(0, 1, 2, 3), compile="strict")(*args)
    for w, g in zip((0, 1, 2, 3), got):
        np.testing.assert_allclose(g, fd_grad(oscillator_pairs, args, wrt=w), rtol=1e-5, atol=1e-9)


def lookup_by_int(G, qs):
    s = 0.0
    for p in range(qs.shape[0]):
        i = int(qs[p, 0])
        f = qs[p, 0] - i
        s += ((1 - f) * G[i] + f * G[i + 1]) ** 2
    return s


def test_an_int_of_a_float_is_an_int_on_the_tape():
    """`i = int(x)` is an int64 (its tape an array of them), so G_bar[i] += ... compiles (was a fallback: a list
    tape of `i` started with its None placeholder, no type numba can index with)."""
    G, qs = np.linspace(0.5, 2.0, 6), np.array([[0.3], [2.7], [4.1]])
    got = s2s.grad(lookup_by_int, wrt=(0, 1), compile="strict")(G, qs)
    for w, g in zip((0, 1), got):
        np.testing.assert_allclose(g, fd_grad(lookup_by_int, (G, qs), wrt=w), rtol=1e-6, atol=1e-8)
