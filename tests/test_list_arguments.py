"""A NumPy function given a Python list or tuple where it takes an array (`np.maximum([1.0, -2.0], 0.0)`): the
gradient is the array argument's, in the argument's own container, ties included. The generated code once compared
the list itself (`x > 0.0`: TypeError) and the general tie mask compared it too (`x == 1.0` of a list is one False:
the tied entry got all of the adjoint, not half), helper 164."""

import numpy as np
import pytest

import s2s

W = np.array([1.0, 2.0, 3.0])
X = [1.0, -2.0, 0.5]  # (x[0] ties with the bound 1.0, x[2] with 0.5)

FUNCTIONS = {
    "maximum": lambda x: np.sum(np.maximum(x, 1.0) * W),
    "maximum_of_two_lists": lambda x: np.sum(np.maximum(x, [1.0, 0.0, 0.5]) * W),
    "minimum": lambda x: np.sum(np.minimum(x, 1.0) * W),
    "fmax": lambda x: np.sum(np.fmax(x, 1.0) * W),
    "fmin": lambda x: np.sum(np.fmin(x, 0.5) * W),
    "clip": lambda x: np.sum(np.clip(x, -2.0, 1.0) * W),
    "where": lambda x: np.sum(np.where(np.asarray(x) > 0.7, x, 0.0) * W),
    "abs": lambda x: np.sum(np.abs(x) * W),
    "max": lambda x: np.max(x) * 3.0,
    "min": lambda x: np.min(x) * 3.0,
    "sort": lambda x: np.sum(np.sort(x) * W),
    "median": lambda x: np.median(x) * 2.0,
    "builtin_max": lambda x: max(x) * 2.0,
    "ptp": lambda x: np.ptp(x) * 2.0,
    "hypot": lambda x: np.sum(np.hypot(x, 1.0) * W),
    "relu_squared": lambda x: np.sum(np.maximum(x, 0.0) ** 2),
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
@pytest.mark.parametrize("make", [list, tuple], ids=["list", "tuple"])
def test_a_list_argument_has_the_arrays_gradient(name, make):
    f = FUNCTIONS[name]
    expected = s2s.grad(f)(np.array(X))
    got = s2s.grad(f)(make(X))
    assert type(got) is make
    np.testing.assert_array_equal(np.asarray(got, dtype=float), expected)


def test_the_tie_is_shared():
    np.testing.assert_array_equal(s2s.grad(FUNCTIONS["minimum"])(list(X)), [0.5, 2.0, 3.0])
