"""transforms/tape.recompute_from_restored: a number of a loop computed by `+ - * /` from names the same trip
tapes after it is recomputed in the backward loop, not taped. Each program is checked against central
differences (and autograd where it runs it), and the printed code says whether the number was taped."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad
from tests.tape_text import taped

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from ordinary_loops import logistic_map  # noqa: E402  (r * x * (1.0 - x), 50 steps)

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")


def newton_sqrt(a):
    x = a
    steps = 0
    while abs(x * x - a) > 1e-12 and steps < 50:
        x = 0.5 * (x + a / x)
        steps += 1
    return x


def two_restored(a, b):
    x, y = a, b
    for _ in range(6):
        r = x * y - a / (x + 3.0)
        x, y = x + 0.1 * r * y, y - 0.05 * r
    return x * y


def changed_between(a):
    x = a
    for _ in range(5):
        t = a / x
        x = x + 0.5  # x changed after t is computed and before x is taped
        x = x * t + 1.0
    return x


def read_early(a):
    x = a
    s = 0.0
    for _ in range(5):
        t = a * x
        x = np.sin(x) + t * 0.1
        s = s + t * x
    return s


def escapes_the_loop(a):
    x = a
    t = 0.0
    for _ in range(4):
        t = x * a
        x = np.cos(x) * t
    return x + t


def with_break(a):
    x = a
    for k in range(8):
        t = a * x
        if k > 5:
            break
        x = np.sin(x) * t + 1.0
    return x


def array_state(a, w):
    h = a
    for i in range(w.shape[0]):
        t = a * 0.3
        h = np.tanh(w[i] * h + t * h)
    return h


def taylor_sin(x):
    term = x
    total = x
    for k in range(1, 25):
        term = -term * x * x / ((2 * k) * (2 * k + 1))
        total = total + term
    return total


def earlier_changed_after(a):
    x = a
    s = 0.0
    for _ in range(5):
        u = -x
        v = u * a
        u = u * v  # u changes after v is computed: its restore is not v's operand
        s = s + np.sin(v) * u
        x = x * 0.9 + 0.1 * u
    return s


def earlier_read_after_pop(a):
    x = a
    acc = 0.0
    for _ in range(4):
        u = x * 1.5
        v = u * a
        acc = acc + np.sin(v) + np.cos(u)
        x = np.sin(x) + v
    return acc


def _source(f, *args):
    return s2s.source(s2s.grad(f), *args)


def _check(f, args, oracle=None):
    g = s2s.grad(f)
    for _ in range(2):  # the general call, then the hot one
        out = g(*args)
        np.testing.assert_allclose(out, fd_grad(f, args), rtol=1e-6, atol=1e-9)
    if oracle is not None:
        np.testing.assert_allclose(out, autograd.grad(oracle)(*args), rtol=1e-10)
    return out


def test_newton_recomputes_the_quotient_instead_of_taping_it():
    for a in (0.3, 2.3, 17.0):
        np.testing.assert_allclose(_check(newton_sqrt, (a,)), 0.5 / np.sqrt(a), rtol=1e-9)
    code = _source(newton_sqrt, 2.3)
    assert len(taped(code)) == 1, code  # x only: a / x is recomputed from x's restore


def test_two_restored_names():
    def oracle(a, b):
        x, y = a, b
        for _ in range(6):
            r = x * y - a / (x + 3.0)
            x, y = x + 0.1 * r * y, y - 0.05 * r
        return x * y
    _check(two_restored, (0.7, 1.3), oracle)


def test_taylor_recomputes_the_product_from_a_value_taped_before_it():
    def oracle(x):
        term = x
        total = x
        for k in range(1, 25):
            term = -term * x * x / ((2 * k) * (2 * k + 1))
            total = total + term
        return total
    for x in (0.7, -2.1):
        _check(taylor_sin, (x,), oracle)
    code = _source(taylor_sin, 0.7)
    assert len(taped(code)) == 1, code


@pytest.mark.parametrize("f, args", [(changed_between, (1.7,)), (read_early, (0.4,)), (escapes_the_loop, (0.9,)),
                                     (with_break, (0.6,)), (earlier_changed_after, (0.8,)),
                                     (earlier_read_after_pop, (0.3,))])
def test_cases_it_must_not_rewrite_give_the_gradient(f, args):
    _check(f, args)


def test_array_state_loop():
    w = np.array([0.5, -1.0, 2.0])
    for a in (0.2, np.float32(0.2)):
        out = s2s.grad(array_state)(a, w)
        np.testing.assert_allclose(out, fd_grad(array_state, (float(a), w)), rtol=1e-4)


def restore_read_between(r, x0):
    x = x0
    s = 0.0
    for _ in range(10):
        a = r * x
        b = 1.0 - x
        s = s + a * b * x  # x read between the adjoints of a and b: its restore cannot move above this
        x = a * b
    return s


def test_a_restore_moves_above_adjoints_that_do_not_read_it():
    # the backward trip restores x before the adjoints that read r * x and 1.0 - x (tape._restore_early):
    # both are recomputed from it, and only x is taped
    _check(logistic_map, (3.2, 0.3), logistic_map)  # (arithmetic alone: autograd runs it as it is)
    code = _source(logistic_map, 3.2, 0.3)
    assert len(taped(code)) == 1, code
    _check(restore_read_between, (1.7, 0.4))


def test_a_counter_of_a_literal_range_divides_to_real_numbers():
    # term * x / k with k the loop's counter is a real number: the sum nothing reads is not computed
    def taylor_exp(x):
        term = 1.0
        s = 1.0
        for k in range(1, 20):
            term = term * x / k
            s = s + term
        return s
    np.testing.assert_allclose(_check(taylor_exp, (0.7,)), np.exp(0.7), rtol=1e-9)
    code = _source(taylor_exp, 0.7)
    assert "s = s + term" not in code.split("term_bar = 0.0")[0], code


def pairwise_energy(X):
    e = 0.0
    for i in range(X.shape[0]):
        for j in range(i + 1, X.shape[0]):
            d = X[i] - X[j]
            r = np.sqrt(d @ d + 0.1)
            e = e + 1.0 / r
    return e


def nested_earlier_changed_in_the_outer_loop(a):
    s = 0.0
    for i in range(3):
        x = a * (i + 1.0)
        for _ in range(4):
            x = np.sin(x) + 0.3
            t = 2.0 * x
            s = s + np.cos(t) * x
        x = x * 0.5  # x changes between the inner loops: not a value the backward trip may read back
        s = s + x
    return s


def test_numbers_of_nested_loops_are_recomputed_from_their_restores():
    g = np.random.default_rng(31)
    X = g.normal(size=(5, 3))
    _check(pairwise_energy, (X,))
    code = _source(pairwise_energy, X)
    backward = code.split("X_bar = np.zeros")[1]
    assert "1.0 / " in backward and not any(v.startswith("t") for v in taped(code)), code  # 1.0 / r computed again, not taped
    _check(nested_earlier_changed_in_the_outer_loop, (0.4,))


# ---- through numbers the trip does not tape, and the loop's index -----------------------------------
def log_product(x, r):
    p = 1.0
    xk = x
    for k in range(1, 12):
        p *= 1.0 + r * xk / k  # `t = r * xk / k` is not taped: `1.0 + t` is computed again through it
        xk *= x
    return np.log(p)


def cube_root(a):
    x = a if a > 1.0 else 1.0
    dx = 1.0
    while abs(dx) > 1e-12 * abs(x):
        dx = (x * x * x - a) / (3.0 * x * x)  # 3.0 * x * x computed again from x's restore
        x = x - dx
    return x


def read_before_the_loop(a):
    x = a + 1.0
    d = 1.0  # read before the loop by its test only: nothing reads what the backward loop leaves in d
    while abs(d) > 1e-12 * x:
        d = a / x - 0.5 * x
        x = x + d
    return x


def temporary_changed_before_use(x, a):
    s = 0.0
    for _ in range(1, 6):
        u = a * x
        x = x + 0.1  # x changes between u and t: t is not u's expression over the restored x
        t = u + x
        s = s + t * t
    return s


def read_before_the_loop_by_another_adjoint(a):
    dx = a * 0.5
    y = dx * a  # its adjoint, after the backward loop, reads the dx the loop started from
    x = a + 1.0
    while abs(dx) > 1e-10:
        dx = (x * x - a) / (2.0 * x)
        x = x - dx
    return x + y


def counter_rebound(x, r):
    p = 1.0
    for k in range(1, 6):
        k = k * 2 + 1  # the index rebound: the backward loop's k is not the value t read
        p = p * (1.0 + r * x / k)
    return p


def counter_of_an_outer_loop(x, r):
    p = 1.0
    for k in range(1, 4):
        for j in range(3):
            p = p * (1.0 + r * x / (k + j))
    return p


def index_with_an_early_exit(x, r):
    p = 1.0
    for k in range(1, 9):
        t = 1.0 + r * x / k
        p = p * t
        if p > 3.0:
            break
    return p


def test_numbers_through_untaped_temporaries_and_the_index_are_computed_again():
    def oracle(x, r):
        p = 1.0
        xk = x
        for k in range(1, 12):
            p = p * (1.0 + r * xk / k)
            xk = xk * x
        return anp.log(p)
    g = s2s.grad(log_product, wrt=(0, 1))
    for args in [(0.7, 0.4), (-1.3, 0.2)]:
        out = g(*args)
        for i in (0, 1):
            np.testing.assert_allclose(out[i], fd_grad(log_product, args, wrt=i), rtol=1e-6)
            np.testing.assert_allclose(out[i], autograd.grad(oracle, i)(*args), rtol=1e-12)
    code = s2s.source(g, 0.7, 0.4)
    assert len(taped(code)) == 2, code  # p and xk, as a hand-written adjoint tapes them
    np.testing.assert_allclose(_check(read_before_the_loop, (2.0,)), 0.5, rtol=1e-9)  # x = sqrt(2a)
    assert taped(_source(read_before_the_loop, 2.0)) == ["x"]  # x only
    for a in (0.4, 3.0, 27.0):
        np.testing.assert_allclose(_check(cube_root, (a,)), (1 / 3) * a ** (-2 / 3), rtol=1e-8)
    code = _source(cube_root, 3.0)
    # x and dx: 3.0 * x * x is computed again from x's restore; dx, five operations, costs more than its push
    assert len(taped(code)) == 2 and "t6 = 3.0 * x * x" in code, code


@pytest.mark.parametrize("f, args", [(temporary_changed_before_use, (0.6, 1.3)),
                                     (read_before_the_loop_by_another_adjoint, (2.0,)),
                                     (counter_rebound, (0.6, 0.5)), (counter_of_an_outer_loop, (0.6, 0.5)),
                                     (index_with_an_early_exit, (0.9, 1.5))])
def test_what_may_not_be_computed_again_gives_the_gradient(f, args):
    g = s2s.grad(f, wrt=tuple(range(len(args))))
    for _ in range(2):
        out = np.atleast_1d(g(*args))
        for i in range(len(args)):
            np.testing.assert_allclose(out[i], fd_grad(f, args, wrt=i), rtol=1e-6, atol=1e-9)


def test_a_pullback_with_numbers_computed_again_runs_twice():
    value, pullback = s2s.vjp(log_product, 0.7, 0.4, wrt=(0, 1))
    first, second = pullback(1.0), pullback(2.0)
    np.testing.assert_allclose(2.0 * np.array(first), second)
    np.testing.assert_allclose(first[0], fd_grad(log_product, (0.7, 0.4), wrt=0), rtol=1e-6)


def last_item_before_append(x, items):
    s = 0.0
    for k in range(3):
        t = items * 1  # a list: the backward trip's `items` still holds this trip's append
        items.append(x * k)
        s = s + t[-1] * x
    return s


def test_a_list_made_by_an_operation_is_not_computed_again():
    # items [1, 2]: s = 2x + 0x + x * x, ds/dx = 2 + 2x (the backward trip must not read the list after its append)
    out = s2s.grad(last_item_before_append)(0.7, [1.0, 2.0])
    np.testing.assert_allclose(out, 2.0 + 2 * 0.7, rtol=1e-12)
    np.testing.assert_allclose(out, fd_grad(lambda x: last_item_before_append(x, [1.0, 2.0]), (0.7,)), rtol=1e-6)
