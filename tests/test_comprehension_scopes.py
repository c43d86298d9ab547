"""A comprehension's first iterable is evaluated in the enclosing scope: `sum(np.sum(b ** 2) for b in [b * 2.0])`
reads the argument b there, not the loop variable (helper 146: s2s renamed the iterable's b to the loop
variable's new name and the code raised UnboundLocalError; had it run, the gradient lost b). The later
iterables, the conditions and the element read the loop variables. Against central differences and autograd."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers_fd import check_all

R = np.random.default_rng(1453)


def square(v):
    return v * v


def shadowing_generator(b):
    return sum(np.sum(b ** 2) for b in [b * 2.0])


def shadowing_list(b):
    L = [b * 3.0 for b in [b, b * 2.0]]
    return np.sum(L[0] * L[1])


def shadowing_with_a_helper(b):
    return np.sum(sum([square(b) for b in [b + 1.0, b]]))


def later_iterables_read_the_loop(b):
    return np.sum(sum([x * y for x in [b, 2.0 * b] for y in [x, b] if np.sum(x) != 0.0]))


@pytest.mark.parametrize("f", [shadowing_generator, shadowing_list, shadowing_with_a_helper,
                               later_iterables_read_the_loop])
def test_first_iterable_reads_the_enclosing_scope(f):
    check_all(f, (R.normal(size=3),))
