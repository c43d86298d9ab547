"""A method that changes its array in place (`.sort()`, `.fill()`), called on something other than a name: refused
where that may be an array the function holds or a view of one (helpers 160, 161 and 162: each was accepted and
gave the gradient of the unchanged array; a shallow `.copy()` of a list or dict, builtin max and s2s.stop_gradient
hand back the array itself), accepted where it is certainly a new array nothing else holds."""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s
from s2s.errors import UnsupportedSyntaxError

X = np.random.default_rng(61).normal(size=(3, 4))


def through_reshape(x):
    y = x * 2.0
    y.reshape(-1).sort()
    return np.sum(y * np.arange(12.0).reshape(3, 4))


def through_a_slice_of_reshape(x):
    y = x * 2.0
    y.reshape(-1)[:].sort()
    return np.sum(y * np.arange(12.0).reshape(3, 4))


def through_split(x):
    y = x * 2.0
    np.split(y, 2, axis=1)[0].sort()
    return np.sum(y * np.arange(12.0).reshape(3, 4))


def through_array_without_a_copy(x):
    y = x * 2.0
    np.array(y, copy=False).sort()
    return np.sum(y * np.arange(12.0).reshape(3, 4))


def through_a_list(x):
    y = x * 2.0
    [y][0].sort()
    return np.sum(y * np.arange(12.0).reshape(3, 4))


def through_a_dict(x):
    y = x * 2.0
    {"a": y}["a"].sort()
    return np.sum(y * np.arange(12.0).reshape(3, 4))


def through_rows_of_a_list(x):
    y = x * 2.0
    list(y)[0].sort()
    return np.sum(y * np.arange(12.0).reshape(3, 4))


def through_flatten(x):
    y = x * 2.0
    y.flatten().sort()  # (a copy in NumPy; s2s computes flatten as np.ravel, a view: refused)
    return np.sum(y * np.arange(12.0).reshape(3, 4))


def through_a_shallow_copy(x):
    y = x * 2.0
    L = [y]
    L.copy()[0].sort()
    return np.sum(y * np.arange(12.0).reshape(3, 4))


def through_a_dicts_copy(x):
    y = x * 2.0
    {"a": y}.copy()["a"].fill(0.5)
    return np.sum(y * np.arange(12.0).reshape(3, 4))


def through_max_of_a_list(x):
    y = x * 2.0
    max([y]).sort()
    return np.sum(y * np.arange(12.0).reshape(3, 4))


def through_stop_gradient(x):
    y = x * 2.0
    s2s.stop_gradient(y).sort()
    return np.sum(y * np.arange(12.0).reshape(3, 4))


def through_a_copy_of_pieces(x):
    y = x * 2.0
    np.split(y, 3).copy()[0].sort()
    return np.sum(y * np.arange(12.0).reshape(3, 4))


def filled_through_swapaxes(x):
    y = x * 2.0
    y.swapaxes(0, 1)[0].fill(1.0)
    return np.sum(y * np.arange(12.0).reshape(3, 4))


def through_atleast_2d(x):
    y = x * 2.0
    np.atleast_2d(y).sort()
    return np.sum(y * np.arange(12.0).reshape(3, 4))


@pytest.mark.parametrize("f", [through_reshape, through_a_slice_of_reshape, through_split, through_array_without_a_copy,
                               through_a_list, through_a_dict, through_rows_of_a_list, filled_through_swapaxes,
                               through_atleast_2d, through_flatten, through_a_shallow_copy, through_a_dicts_copy,
                               through_max_of_a_list, through_stop_gradient, through_a_copy_of_pieces],
                         ids=lambda f: f.__name__)
def test_a_change_that_may_reach_the_functions_array_is_refused(f):
    with pytest.raises(UnsupportedSyntaxError, match="in place"):
        s2s.grad(f)(X)


def sorted_copy(x):
    y = x * 2.0
    rows = sorted([y[0], y[1]], key=lambda r: r[0])
    rows.reverse()
    y.T.copy().sort()
    np.sort(y)[0].sort()
    (y * 3.0).sort()
    y.astype(np.float64).sort()
    return np.sum(y * np.arange(12.0).reshape(3, 4)) + np.sum(rows[0] * rows[1])


def test_a_change_of_a_new_array_is_accepted():
    np.testing.assert_allclose(s2s.grad(sorted_copy)(X), fd_grad(sorted_copy, (X,)), rtol=1e-6, atol=1e-7)
