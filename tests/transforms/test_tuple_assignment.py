"""`a, b = e1, e2` is lowered item by item (transforms/lower.py: assign_items): every item is evaluated
before any target is assigned, as Python does, so swaps, items that read targets, calls and nested or
indexed targets keep Python's values. Gradients against central differences and the general code."""

import re

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s


def helper(v):
    return np.sin(v) * 2.0


def swap(a, b):
    for _ in range(3):
        a, b = b, a * b
    return a + 2.0 * b


def reads_and_calls(a, b):
    a, b = helper(a) + b, a * helper(b)
    return a * b


def nested(a, b, c):
    (a, b), c = (c, a * b), b + c
    return a * 3.0 + b * b + c


def rows_copied(x):
    Y = np.outer(x, x) * 1.0
    Y[0], Y[1] = Y[1].copy(), Y[0].copy()  # a true swap of rows
    return np.sum(Y * np.arange(9.0).reshape(3, 3))


def unequal_lengths_stay_refused_or_tuple(x):
    p, q = (x, x * 2.0)
    return p * q


CASES = [(swap, (0.7, 1.3)), (reads_and_calls, (0.4, -0.9)), (nested, (0.5, 1.5, -0.3)),
         (rows_copied, (np.array([0.2, -0.7, 1.1]),)), (unequal_lengths_stay_refused_or_tuple, (0.6,))]


@pytest.mark.parametrize("f, args", CASES, ids=[c[0].__name__ for c in CASES])
def test_item_by_item_keeps_pythons_values(f, args):
    wrt = tuple(range(len(args)))
    got = s2s.grad(f, wrt=wrt)(*args)
    general = s2s.derivative(f, wrt=wrt)(*args)
    general = general if len(wrt) > 1 else (general,)
    for i, (g, e) in enumerate(zip(got, general)):
        np.testing.assert_allclose(g, fd_grad(f, args, i), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)
    src = s2s.source(s2s.derivative(f, wrt=wrt))
    assert not re.search(r"^ *\w+ = \(?\w+, \w+\)?$", src, re.M), src  # no tuple made and taken apart


def rows_swapped(x):
    Y = np.outer(x, x) * 1.0
    Y[0], Y[1] = Y[1], Y[0]  # NumPy's pitfall: Y[1] gets the new Y[0], both rows are the old Y[1]
    return np.sum(Y * np.arange(9.0).reshape(3, 3))


def rows_swapped_through_a_tuple(x):
    Y = np.outer(x, x) * 1.0
    t = (Y[1], Y[0])  # views of Y, held by a tuple
    Y[0], Y[1] = t
    return np.sum(Y * np.arange(9.0).reshape(3, 3))


def items_swapped(x):
    y = x * 1.0
    y[0], y[1] = y[1] * 2.0, y[0]  # (of a vector, y[0] is a number; s2s cannot tell before the call)
    return np.sum(y * y)


@pytest.mark.parametrize("f", [rows_swapped, rows_swapped_through_a_tuple])
def test_views_read_after_the_update_they_see_are_refused(f):
    # rows_swapped_through_a_tuple had the gradient of a true swap ([4.7, 5.1, 3.7] for [0.6, -1.3, -3.8])
    with pytest.raises(s2s.UnsupportedSyntaxError, match="view taken before an update") as err:
        s2s.grad(f)(np.array([0.3, -1.2, 0.7]))
    if f is rows_swapped:  # (the item read is checked when the code runs: of a matrix, a row)
        assert "`Y[0]` is an array here, not a number" in str(err.value)


def test_items_of_a_vector_read_before_the_update_are_numbers():
    # (y[0] of a vector is a number, which the update does not change: checked when the code runs, tests/test_item_swaps.py)
    x = np.array([0.3, -1.2, 0.7])
    np.testing.assert_allclose(s2s.grad(items_swapped)(x), fd_grad(items_swapped, (x,)), rtol=1e-6, atol=1e-8)
