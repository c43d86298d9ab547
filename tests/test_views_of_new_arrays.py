"""An update of a view of a new array that only the view reaches (`v = np.linspace(...).reshape(2, 2)` then
`v[0, 0] = x`): lowering names the new array, nothing else reads it, so the update changes nothing else anyone
sees; the long fuzzer found it refused (an over-caution since aliasing's view check, older). A view of an array
the function reads again, or of an argument, is still refused."""

import numpy as np
import pytest

import s2s
from tests.conftest import check_grad


def fills_a_reshaped_grid(x):
    v = np.linspace(0.0, 1.0, 4).reshape((2, 2))
    v[0, 0] = x[0] * 2.0
    v[1, :] = x[1:3] ** 2
    return np.sum(v * x[:2, None]) + np.sum(np.sin(v))


def fills_a_transposed_new_array(x):
    v = np.ones((3, 2)).T
    v[:, 1] = np.cos(x[:2])
    return np.sum(v ** 2 * x[2])


@pytest.mark.parametrize("f", [fills_a_reshaped_grid, fills_a_transposed_new_array])
def test_updates_of_a_view_of_a_new_array_are_differentiated(f):
    x = np.array([0.3, -0.7, 1.1])
    check_grad(f, x, ag=False)
    np.testing.assert_allclose(s2s.grad(f)(x), s2s.derivative(f)(x), rtol=1e-12)
    _, t = s2s.jvp(f, (x,), (np.ones(3),))
    np.testing.assert_allclose(t, np.sum(s2s.grad(f)(x)), rtol=1e-10)


def base_read_again(x):
    base = np.linspace(0.0, 1.0, 4)
    v = base.reshape((2, 2))
    v[0, 0] = x[0]
    return np.sum(base) * x[1]


def view_of_the_argument(x):
    v = x.reshape((3, 1))
    v[0, 0] = 2.0
    return np.sum(x)


@pytest.mark.parametrize("f", [base_read_again, view_of_the_argument])
def test_a_view_of_an_array_read_elsewhere_is_still_refused(f):
    with pytest.raises(s2s.UnsupportedSyntaxError, match="view"):
        s2s.grad(f)(np.array([0.3, -0.7, 1.1]))
