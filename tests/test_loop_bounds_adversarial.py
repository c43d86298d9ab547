# ruff: noqa: B007, B020, F841  (the programs are the patterns under test: unused counters and values, a loop over its own counter)
"""Loops whose headers read names the loop rebinds, and loops left with nothing to do (helper 96's review).

- `for i in range(i)`: the loop binds the name its own bounds read. Its backward sweep replayed
  `reversed(range(i))` after the loop had rebound `i`, one trip short (a wrong gradient, older than the
  review): such a loop now takes the general path, as one whose body rebinds its bounds does.
- A forward loop left with nothing the backward sweep reads goes only where its header cannot raise, and
  a statement is dropped as one that cannot raise only where that is certain: a counter of a range of
  bounds under 2**53 read by float arithmetic, int arithmetic of Python ints. Every program here raises in
  the user's function, and must raise in its gradient too (or, G, neither raises).
"""

import numpy as np
import pytest
from helpers_fd import check_all

import s2s

X = np.linspace(0.1, 0.6, 4)


def counter_bounds_its_own_loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sum(x)
    for i in range(i):
        s = s + np.sum(x ** 2)
    return s


def counter_plus_one_bounds_its_own_loop(x, n):
    s = 0.0
    i = n
    for t in range(2):
        for i in range(i + 1):
            s = s + np.sum(x ** 2) * (i + 0.5)
    return s


def bound_rebound_after_the_loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sum(x ** 2) * i
    n = n + 5
    for j in range(n):
        s = s + np.sum(x)
    return s


@pytest.mark.parametrize("optimize", [True, False])
def test_a_loop_whose_bounds_read_its_own_counter(optimize):
    got = s2s.grad(counter_bounds_its_own_loop, optimize=optimize)(X, 3)
    np.testing.assert_allclose(got, 3 + 2 * 2 * X, rtol=1e-14)  # the second loop runs range(2): two trips
    check_all(counter_bounds_its_own_loop, (X, 3))


@pytest.mark.parametrize("f", [counter_plus_one_bounds_its_own_loop, bound_rebound_after_the_loop])
def test_loop_bounds_read_after_other_bindings(f):
    for optimize in (True, False):
        np.testing.assert_allclose(s2s.grad(f, optimize=optimize)(X, 3), s2s.grad(f, optimize=False)(X, 3))
    check_all(f, (X, 3))


def range_of_an_int_array(x, n):
    for i in range(n):
        t = x * i
    return np.sum(x * x)


def range_of_a_numpy_sum_that_is_a_float(x, a, b):
    for t in range(2):
        k = a[t] + b[t]  # uint64 + int64 is float64
        for j in range(k):
            u = x * j
    return np.sum(x * x)


def narrow_int_overflows(x, a):
    s = 0.0
    for t in range(2):
        k = a[t] * 1000  # int8 item times 1000: OverflowError under NEP 50
        s = s + np.sum(x * x)
    return s


def counter_beyond_floats(x, n):
    for i in range(n, n + 1):
        t = x * i  # OverflowError: int too large to convert to float
    return np.sum(x * x)


def int_product_beyond_floats(x, z):
    k = int(z)
    k2 = k * k
    t = x * k2
    return np.sum(x * x)


RAISING = [
    (range_of_an_int_array, (X, np.array([3]))),
    (range_of_a_numpy_sum_that_is_a_float, (X, np.array([1, 2], np.uint64), np.array([1, 2]))),
    (narrow_int_overflows, (X, np.array([1, 2], np.int8))),
    (counter_beyond_floats, (X, 10 ** 400)),
    (int_product_beyond_floats, (X, 1e300)),
]


@pytest.mark.parametrize("f,args", RAISING, ids=[f.__name__ for f, _ in RAISING])
def test_what_raises_in_the_function_raises_in_its_gradient(f, args):
    with pytest.raises((TypeError, OverflowError)) as raised:
        f(*args)
    for grad in (s2s.grad(f), s2s.value_and_grad(f)):
        with pytest.raises(type(raised.value)):
            grad(*args)


def product_read_in_a_loop_of_no_trips(x, z, n):
    k = int(z)
    k2 = k * k
    s = 0.0
    for i in range(n):
        s = s + np.sum(x * x) * k2
    return s


def test_an_adjoint_that_would_overflow_stays_in_its_loop_of_no_trips():
    assert product_read_in_a_loop_of_no_trips(X, 1e300, 0) == 0.0
    np.testing.assert_array_equal(s2s.grad(product_read_in_a_loop_of_no_trips)(X, 1e300, 0), np.zeros(4))


def counter_read_unbound(x, n):
    s = np.sum(x * x)
    for i in range(n):
        t = x * i
    for j in range(i):
        u = x * j
    return s


def test_a_range_of_a_counter_a_loop_of_no_trips_left_unbound_raises():
    with pytest.raises(UnboundLocalError):
        counter_read_unbound(X, 0)
    with pytest.raises((UnboundLocalError, NameError, TypeError)):
        s2s.grad(counter_read_unbound)(X, 0)
    np.testing.assert_allclose(s2s.grad(counter_read_unbound)(X, 3), 2 * X)


def powers_of_a_bounded_counter(x):
    s = np.sum(x)
    for i in range(6):
        t = x ** (i + 1)  # read by nothing: a float array to a small int's power cannot raise
    return s


def test_a_forward_loop_computing_only_what_nothing_reads_goes():
    src = s2s.source(s2s.grad(powers_of_a_bounded_counter), X)
    assert "for " not in src and "x **" not in src, src
    np.testing.assert_array_equal(s2s.grad(powers_of_a_bounded_counter)(X), np.ones(4))


def times_an_int_literal_beyond_floats(x):
    t = x * 100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000  # noqa: E501
    return np.sum(x * x)  # (the literal is 10 ** 350 written out: x * it raises OverflowError)


def test_an_int_literal_beyond_floats_raises_in_the_gradient_too():
    with pytest.raises(OverflowError):
        times_an_int_literal_beyond_floats(X)
    with pytest.raises(OverflowError):
        s2s.grad(times_an_int_literal_beyond_floats)(X)


def length_of_a_name_a_loop_of_no_trips_left_unbound(x, n):
    s = np.sum(x * x)
    for i in range(n):
        xs = x * 2.0
    for j in range(len(xs)):
        u = x * j
    return s


def test_a_range_of_the_length_of_a_name_that_may_be_unbound_stays():
    with pytest.raises(UnboundLocalError):
        length_of_a_name_a_loop_of_no_trips_left_unbound(X, 0)
    with pytest.raises(UnboundLocalError):
        s2s.grad(length_of_a_name_a_loop_of_no_trips_left_unbound)(X, 0)
    np.testing.assert_allclose(s2s.grad(length_of_a_name_a_loop_of_no_trips_left_unbound)(X, 2), 2 * X)
