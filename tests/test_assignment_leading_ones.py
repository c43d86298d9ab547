"""An assigned value with leading axes of length 1 that NumPy's assignment drops (helper 103's review).

`Y[0] = c` with c.shape == (1, 3) writes a row of 3: NumPy drops c's leading axis. Its adjoint, the row of
Y's adjoint, has shape (3,); `unbroadcast` took c's axis 0 for a stretched one and summed the row into one
number, spread over c: a wrong gradient. A (1, 1) value crashed. Now the adjoint gets the dropped axes back.
"""

import numpy as np
import pytest

import s2s
from tests.helpers_fd import assert_close, fd_grad

X = np.arange(6.0).reshape(2, 3)
W = np.arange(1.0, 7.0).reshape(2, 3)


def row_from_a_one_row_matrix(c):
    Y = X.copy()
    Y[0] = c
    return np.sum(Y ** 2)


def column_from_a_one_row_matrix(c):
    Y = X.copy()
    Y[:, 1] = c
    return np.sum(Y ** 3)


def part_of_a_row(x):
    Y = np.zeros((2, 3))
    Y[0, 1:] = x[None, :2]
    return np.sum(Y * W)


def everything_from_two_added_axes(x):
    Y = np.zeros((2, 3))
    Y[:, :] = x[None, None, :]
    return np.sum(Y * W)


def row_from_one_number_in_a_matrix(c):
    Y = X.copy()
    Y[0] = c
    return np.sum(Y ** 2)


@pytest.mark.parametrize("f, arg", [
    (row_from_a_one_row_matrix, np.array([[0.7, 0.8, 0.9]])),
    (column_from_a_one_row_matrix, np.array([[0.7, 0.8]])),
    (part_of_a_row, np.array([0.3, 0.9, 0.6])),
    (everything_from_two_added_axes, np.array([0.3, 0.9, 0.6])),
    (row_from_one_number_in_a_matrix, np.array([[0.7]])),
])
def test_gradient_matches_differences(f, arg):
    g = s2s.grad(f)(arg.copy())
    assert g.shape == arg.shape
    assert_close(g, fd_grad(f, (arg.copy(),)))


def test_hessian_and_forward_mode():
    c = np.array([[0.7, 0.8, 0.9]])
    assert np.allclose(s2s.hessian(row_from_a_one_row_matrix)(c).reshape(3, 3), 2.0 * np.eye(3))
    assert np.allclose(s2s.jacobian(row_from_a_one_row_matrix, mode="forward")(c), 2.0 * c)
