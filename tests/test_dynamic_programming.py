"""Tables filled item by item in nested loops (dynamic programming, Gauss-Seidel sweeps), in specialised code:
builtin min/max of numbers have a shape and are real, their adjoint s2s.grad_select is written out as a tuple of
choices, np.full of a real fill is real, setitem_grads' item adjoint has g[index]'s shape, and index
arithmetic of nested loops (`i - 1` in `for j`) is recomputed, not taped. Each against central differences."""

import os
import sys

import numpy as np
from helpers_fd import check_all

import s2s

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from ordinary_loops import gauss_seidel, soft_dtw  # noqa: E402  (a table filled by min of three; x[i] = ... sweeps)


def hard_dtw(a, b):
    n, m = len(a), len(b)
    D = np.full((n + 1, m + 1), np.inf)
    D[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            D[i, j] = abs(a[i - 1] - b[j - 1]) + min(D[i - 1, j - 1], D[i - 1, j], D[i, j - 1])
    return D[n, m]


def max_of_three(x, y):
    return max(x * y, x + y, 2.0 * x) + min(x, y, 1.0 - x)


def tie_to_the_first(x):
    return max(x, x, 0.5 * x)  # the first of the tied arguments gets the adjoint


def test_tables_filled_in_loops_match_central_differences():
    g = np.random.default_rng(21)
    a, b = g.normal(size=6), g.normal(size=5)
    check_all(soft_dtw, (a, b), wrt=(0, 1), use_autograd=False)  # (autograd cannot write into R)
    check_all(hard_dtw, (a, b), wrt=(0, 1), use_autograd=False)
    A = np.eye(5) * 4 + g.normal(size=(5, 5)) * 0.3
    check_all(gauss_seidel, (A, g.normal(size=5)), wrt=(0, 1), use_autograd=False)
    for args in ((0.7, 1.9), (-0.3, 0.4), (1.5, 2.5)):
        check_all(max_of_three, args, wrt=(0, 1))
    assert s2s.grad(tie_to_the_first)(1.5) == s2s.derivative(tie_to_the_first)(1.5) == 1.0


def test_soft_dtw_is_specialised_throughout():
    g = np.random.default_rng(22)
    a, b = g.normal(size=6), g.normal(size=5)
    code = s2s.source(s2s.grad(soft_dtw, wrt=(0, 1)), a, b)
    assert "# s2s:" not in code, code  # no rewrite blocked
    assert "grad_select" not in code and "setitem" not in code, code  # the choice written out, R updated in place
    assert "stack.append(i" not in code, code  # no index arithmetic on the tape
    for got, want in zip(s2s.grad(soft_dtw, wrt=(0, 1))(a, b), s2s.derivative(soft_dtw, wrt=(0, 1))(a, b)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


# ---- the tape saves the item an assignment overwrites, not the whole array (item_updates._item_tape)

def stencil_in_place(u, c):
    v = u * 1.0
    for _ in range(3):
        for i in range(1, v.shape[0] - 1):
            v[i] = v[i] + c * (v[i - 1] - 2.0 * v[i] + v[i + 1])
    return np.sum(v ** 2)


def reversed_index(u):
    v = np.zeros(u.shape[0])
    n = u.shape[0]
    for i in range(n):
        v[n - 1 - i] = np.sin(u[i]) + 0.5 * np.sum(v * u)  # (the backward sweep reads the whole v)
    return np.sum(v * v)


def conditional_update(u):
    v = u * 2.0
    for i in range(v.shape[0]):
        s = np.sum(v * v)  # (the backward sweep reads the whole v)
        if v[i] > 0.0:
            v[i] = v[i] * v[i] + s
    return np.sum(v)


def held_by_the_gradient(u):
    v = u * 1.0
    for i in range(v.shape[0]):
        s = np.sum(v * v)
        v[i] = v[i] * s
    return np.sum(v * u)  # u's adjoint is v's final array itself: restored in place, it would change


def indexed_by_data(u, idx):
    v = u * 1.0
    for i in range(idx.shape[0]):
        v[idx[i]] = v[idx[i]] * v[i] + 1.0  # the index is data: the whole array stays on the tape
    return np.sum(v ** 2)


def two_updates(u):
    v = u * 1.0
    for i in range(1, v.shape[0]):
        v[i] = v[i] * v[i - 1]
        v[i - 1] = v[i - 1] + v[i]
    return np.sum(v)


def test_item_assignments_in_loops_tape_the_item_alone():
    g = np.random.default_rng(23)
    u = g.normal(size=6) * 0.5
    cases = [(stencil_in_place, (u, 0.2), (0, 1), True), (reversed_index, (u,), 0, True),
             (conditional_update, (u,), 0, True), (held_by_the_gradient, (u,), 0, False),
             (indexed_by_data, (u, np.array([2, 0, 2, 5])), 0, False), (two_updates, (u,), 0, False)]
    for f, args, wrt, item_taped in cases:
        check_all(f, args, wrt=wrt, use_autograd=False)  # (autograd cannot write into arrays)
        got = s2s.grad(f, wrt=wrt)(*args)
        want = s2s.derivative(f, wrt=wrt)(*args)
        for a, b in zip(got if isinstance(wrt, tuple) else (got,), want if isinstance(wrt, tuple) else (want,)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        code = s2s.source(s2s.grad(f, wrt=wrt), *args)
        assert ("_item = stack.pop()" in code) is item_taped, (f.__name__, code)


def min_with_a_nan(x, y):
    return min(x * 0.0 + np.nan, y, 2.0 * y) + max(y, x * 0.0 + np.nan)


def test_min_and_max_of_numbers_give_the_adjoint_as_the_helper_does_where_a_nan_is_chosen():
    # builtin min/max keep a NaN only where it comes first: that argument is the one chosen
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = s2s.grad(min_with_a_nan, wrt=(0, 1))(0.5, 1.5)
        want = s2s.derivative(min_with_a_nan, wrt=(0, 1))(0.5, 1.5)
    np.testing.assert_array_equal(np.array(got), np.array(want))
    code = s2s.source(s2s.grad(min_with_a_nan, wrt=(0, 1)), 0.5, 1.5)
    assert "grad_select" not in code, code
