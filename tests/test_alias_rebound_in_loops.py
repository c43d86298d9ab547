"""An alias made before a loop or a branch whose body binds the name to a new array before updating it
(`z = x`, then `z = z.copy(); z[0] = ...` in the loop) is accepted: the update reaches the new array only
(transforms/aliasing.py follows the blocks in order). Where some way through reaches the update with the
alias still held (no trip, a break, a branch, an update before the new binding, a loop over the name) it
is refused. Accepted programs are checked against central differences and against Python's value."""

import numpy as np
import pytest
from helpers_fd import fd_grad, gradient_and_value_match

import s2s
from s2s.errors import UnsupportedSyntaxError

X = np.array([0.3, -0.7, 1.1, 0.4])


def copy_first_in_loop(x):
    z = x
    for _ in range(3):
        z = z.copy()
        z[0] = z[1] * z[2]
    return np.sum(z ** 2) + np.sum(x)


def new_array_first_in_while(x):
    z = x
    k = 0
    while k < 2:
        z = z * 1.5
        z[1] = z[0] + z[3]
        k += 1
    return np.sum(z * x)


def new_array_in_both_branches(x):
    z = x
    if x[0] > 0:
        z = np.sin(z)
    else:
        z = np.cos(z)
    z[2] = z[0] * z[1]
    return np.sum(z) + np.sum(x ** 2)


def copy_in_nested_loops(x):
    z = x
    for _ in range(2):
        for j in range(2):
            z = np.array(z)
            z[j] = z[j + 1] * 2.0
    return np.sum(z * x)


ACCEPTED = [copy_first_in_loop, new_array_first_in_while, new_array_in_both_branches, copy_in_nested_loops]


@pytest.mark.parametrize("f", ACCEPTED, ids=lambda f: f.__name__)
def test_accepted_and_exact(f):
    for x in (X, -X):
        gradient_and_value_match(f, x)


def update_before_the_copy(x):
    z = x
    for _ in range(3):
        z[0] = z[1] * 2.0
        z = z.copy()
    return np.sum(z) + np.sum(x)


def copy_in_one_branch(x):
    z = x
    if x[0] > 0:
        z = z.copy()
    z[0] = 5.0
    return np.sum(z) + np.sum(x)


def update_after_a_loop_that_may_not_run(x, n):
    z = x
    for _ in range(n):
        z = z.copy()
    z[0] = 5.0
    return np.sum(z) + np.sum(x)


def break_before_the_copy(x):
    z = x
    for _ in range(3):
        if x[1] < 0:
            break
        z = z.copy()
    z[0] = 5.0
    return np.sum(z) + np.sum(x)


def loop_over_the_name(x):
    z = x
    for z in [x, x]:
        z[0] = 2.0
    return np.sum(z) + np.sum(x)


@pytest.mark.parametrize("f, args", [
    (update_before_the_copy, (X,)), (copy_in_one_branch, (X,)),
    (update_after_a_loop_that_may_not_run, (X, 0)), (break_before_the_copy, (X,)),
    (loop_over_the_name, (X,)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_alias_still_held_is_refused(f, args):
    with pytest.raises(UnsupportedSyntaxError, match="in-place update"):
        s2s.grad(f)(*args)


def copy_in_a_loop_of_known_trips(x):
    z = x
    for _ in range(3):
        z = z.copy()
    z[0] = 5.0 * z[1]
    return np.sum(z * x)


def continue_before_the_copy(x):
    z = x
    for i in range(3):
        if i < 5:
            continue
        z = z.copy()
    z[0] = 5.0 * z[1]
    return np.sum(z * x)


def test_a_loop_of_known_trips_binds_before_the_update():
    np.testing.assert_allclose(s2s.grad(copy_in_a_loop_of_known_trips)(X), fd_grad(copy_in_a_loop_of_known_trips, (X,)),
                               rtol=1e-6, atol=1e-6)


def test_a_continue_before_the_copy_is_refused_naming_the_update():
    with pytest.raises(UnsupportedSyntaxError, match=r"the update at line \d+ \(`z\[0\] = 5.0 \* z\[1\]`\)"):
        s2s.grad(continue_before_the_copy)(X)
