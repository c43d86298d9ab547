"""A loop carrying its state as a tuple (`state = (x, v)`), stepped by a helper that returns a tuple: the
adjoint of the state is one number per item, so the specialised code is number arithmetic (no `s2s.add`,
`getitem_grad`, `unbroadcast` or `grad_add_seq` left), and values every trip computes alike are not taped."""

import ast
import os
import sys

import numpy as np
import pytest
from helpers_fd import check_all

import s2s

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from ordinary_more import spring_rk2 as rk2  # noqa: E402  (a loop over a tuple state, a helper returning one)


def euler_pairs(a, x0):
    state = (x0, 0.0)
    out = 0.0
    for _ in range(30):
        copy = state
        state = (copy[0] + 0.1 * copy[1], copy[1] - 0.1 * a * copy[0])
        out = out + copy[1] * state[0]
    return out


ARGS = (np.array([2.0, 0.3]), 1.0, 0.0, 0.05, 40)


def _general_helpers(src):
    calls = [n for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
    return sorted({c.func.attr for c in calls if c.func.attr in ("add", "getitem_grad", "unbroadcast", "grad_add_seq",
                                                                 "grad_mult_seq", "part")})


def test_a_tuple_state_gets_one_number_adjoint_per_item():
    src = s2s.source(s2s.grad(rk2), *ARGS)
    assert _general_helpers(src) == [], src
    assert "state_bar_0" in src and "state_bar_1" in src, src
    np.testing.assert_allclose(s2s.grad(rk2)(*ARGS), s2s.derivative(rk2)(*ARGS), rtol=1e-13)
    check_all(rk2, ARGS, wrt=(0, 1, 2))


def test_numbers_every_trip_computes_alike_are_computed_once_not_taped():
    """`c2 = c` (the helper's parameter bound to a local bound once before the loop) and `t = -k` are no
    longer pushed and popped each trip."""
    src = s2s.source(s2s.grad(rk2), *ARGS)
    pushed = [ast.unparse(n.args[0]) for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Call)
              and isinstance(n.func, ast.Attribute) and n.func.attr == "append"]
    fdef = ast.parse(src).body[-1]
    assigned = {t.id: ast.unparse(s.value) for s in ast.walk(fdef) if isinstance(s, ast.Assign)
                for t in s.targets if isinstance(t, ast.Name)}
    invariant = [name for name, value in assigned.items() if value in ("c", "-k")]
    assert invariant and not set(invariant) & set(pushed), src


def test_a_copy_of_a_tuple_state_shares_its_items_adjoints():
    src = s2s.source(s2s.grad(euler_pairs, wrt=(0, 1)), 0.7, 1.2)
    assert _general_helpers(src) == [], src
    got = s2s.grad(euler_pairs, wrt=(0, 1))(0.7, 1.2)
    want = s2s.derivative(euler_pairs, wrt=(0, 1))(0.7, 1.2)
    np.testing.assert_allclose(got, want, rtol=1e-13)
    check_all(euler_pairs, (0.7, 1.2), wrt=(0, 1))


def test_arrays_in_a_tuple_state_too():
    def leapfrog(W, q0, p0):
        state = (q0, p0)
        for _ in range(5):
            q, p = state
            p = p - 0.1 * (W @ q)
            state = (q + 0.1 * p, p)
        return np.sum(state[0] ** 2) + np.sum(state[1])

    r = np.random.default_rng(3)
    args = (r.normal(size=(3, 3)), r.normal(size=3), r.normal(size=3))
    np.testing.assert_allclose(s2s.grad(leapfrog, wrt=(0, 1, 2))(*args)[0],
                               s2s.derivative(leapfrog, wrt=(0, 1, 2))(*args)[0], rtol=1e-12)
    check_all(leapfrog, args, wrt=(0, 1, 2))


def test_compiled_a_tuple_state_gives_the_numpy_codes_numbers():
    """The shape and kind inferences of compiled code read an item of a tuple bound to displays made from that
    item (`state = (state[0] + dt * dx2, ...)` once temporaries are merged): they ran into a RecursionError;
    the zero guards of number adjoints compile (s2s.is_zero of a number)."""
    pytest.importorskip("numba")
    args = (np.array([2.0, 0.3]), 1.0, 0.0, 0.05, 6)
    got = s2s.grad(rk2, wrt=(0, 1, 2), compile="always")(*args)
    want = s2s.grad(rk2, wrt=(0, 1, 2))(*args)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-13)
