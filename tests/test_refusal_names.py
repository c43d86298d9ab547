"""Refusals name the binding that is shared (helper 145): a helper that updates its argument names the caller's
name passed to it where that name is read after, not another parameter that may be the same array; an update of
a list's item says that another item may hold the array too (`L = [a, a]; L[0] += 1.0`)."""

from __future__ import annotations

import numpy as np
import pytest

import s2s


def bump(y, v):
    y += v
    return y


def passes_x_to_a_helper_that_updates_it(x, v):
    z = bump(x, v)
    return np.sum(x * z)


def updates_an_item_held_twice(x, v):
    a = x * v
    L = [a, a]
    L[0] += 1.0
    return np.sum(L[1] * x)


def test_the_name_passed_is_named():
    with pytest.raises(s2s.S2SError) as info:
        s2s.grad(passes_x_to_a_helper_that_updates_it, wrt=(0, 1))(np.arange(3.0), 0.5)
    first = str(info.value).splitlines()[0]
    assert "updates its argument `y` in place, which in Python changes `x` here too" in first, first


def test_an_item_update_names_the_other_items():
    with pytest.raises(s2s.S2SError) as info:
        s2s.grad(updates_an_item_held_twice, wrt=(0, 1))(np.arange(3.0), 0.5)
    assert "or another item of `L`" in str(info.value).splitlines()[0]
