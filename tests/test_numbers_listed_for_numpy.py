"""NumPy functions given a list display of numbers (`np.cumsum([x[0], x[1] * 2.0])`): NumPy reads the list as an array,
and so do the adjoint and tangent helpers (`s2s.numpy_shape`). Before stop 68, np.cumsum's, np.diff's and np.tile's
adjoints and np.sort's and np.cumprod's tangents read the list's shape as a number's, (), and raised; a ufunc's
tangent took the list of the items' tangents as it is (`s2s.array_tangent` makes it an array). Each function,
grad (general, specialised, compiled) and jacfwd, against central differences."""

import warnings

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s
from s2s.compiled import CompiledFallbackWarning


def cumsum_of_numbers(x):
    return np.sum(np.cumsum([x[0], x[1] * 2.0]) ** 2)


def cumprod_of_numbers(x):
    return np.sum(np.cumprod([x[0], x[1] * 2.0, 1.5]))


def diff_of_numbers(x):
    return np.sum(np.diff([x[0], x[1] ** 2, 3.0]) ** 2)


def sorted_numbers(x):
    return np.sum(np.sort([x[1], x[0] * 3.0]) * np.array([1.0, 2.0]))


def tiled_numbers(x):
    return np.sum(np.tile([x[0], x[1]], 2) ** 2 * np.arange(1.0, 5.0))


def rolled_numbers(x):
    return np.sum(np.roll([x[0], x[1], 1.0], 1) * np.array([1.0, 2.0, 3.0]))


def repeated_numbers(x):
    return np.sum(np.repeat([x[0], x[1]], 2) ** 2)


def spread_of_numbers(x):
    return np.std([x[0], x[1] ** 2, 0.5])


def rooted_numbers(x):
    return np.sum(np.sqrt([x[0], x[1]]))


FUNCTIONS = [cumsum_of_numbers, cumprod_of_numbers, diff_of_numbers, sorted_numbers, tiled_numbers, rolled_numbers,
             repeated_numbers, spread_of_numbers, rooted_numbers]


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("options", [{"optimize": False}, {}, {"compile": True}], ids=["general", "specialised",
                                                                                      "compiled"])
def test_the_gradient_reads_the_list_as_numpy_does(f, options):
    x = np.array([0.7, 1.3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompiledFallbackWarning)
        got = s2s.grad(f, **options)(x)
    np.testing.assert_allclose(got, fd_grad(f, (x,)), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
def test_forward_mode_reads_the_list_as_numpy_does(f):
    x = np.array([0.7, 1.3])
    np.testing.assert_allclose(s2s.jacfwd(f)(x), fd_grad(f, (x,)), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
def test_the_hessian_reads_the_list_as_numpy_does(f):
    x, h = np.array([0.7, 1.3]), 1e-5
    want = np.array([(s2s.grad(f)(x + h * e) - s2s.grad(f)(x - h * e)) / (2 * h) for e in np.eye(2)])
    np.testing.assert_allclose(s2s.hessian(f)(x), want, rtol=1e-4, atol=1e-6)
