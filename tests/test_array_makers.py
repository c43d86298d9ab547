"""np.asanyarray, np.ascontiguousarray, np.asfortranarray, np.array(copy=True), np.nan_to_num(copy=...) and
math.fsum (a list, an array or a generator expression) are differentiated (helper 156: refused before); copy=False
of np.array and np.nan_to_num, which give the argument itself (changed in place by nan_to_num), is refused."""

import math

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s
from s2s.errors import UnsupportedSyntaxError

X = np.random.default_rng(11).normal(size=(2, 3))
V = np.random.default_rng(12).normal(size=4)
M = np.arange(6.0).reshape(3, 2)


def any_array(x):
    return np.sum(np.asanyarray(x) ** 2 * M.T)


def contiguous_transpose(x):
    return np.sum(np.ascontiguousarray(x.T) * M)


def fortran_cube(x):
    return np.sum(np.asfortranarray(x) ** 3)


def contiguous_number(x):
    return np.sum(np.ascontiguousarray(x[0, 1] * 2.0) * np.array([3.0]))  # (a number becomes shape (1,))


def array_copied(x):
    return np.sum(np.array(x, copy=True) ** 2 * M.T)


def finite_copied(x):
    return np.sum(np.nan_to_num(x * x, copy=True) * M.T) + np.sum(np.nan_to_num(x))


def fsum_list(v):
    return math.fsum([v[0] * v[1], v[1] ** 2, 3.0 * v[0]])


def fsum_array(v):
    return math.fsum(v * v * np.arange(1.0, 5.0))


def fsum_generator(v):
    return math.fsum(w * w for w in v)


@pytest.mark.parametrize("f", [any_array, contiguous_transpose, fortran_cube, contiguous_number, array_copied,
                               finite_copied], ids=lambda f: f.__name__)
def test_array_makers(f):
    got = s2s.grad(f)(X)
    assert got.shape == X.shape and got.dtype == X.dtype
    np.testing.assert_allclose(got, fd_grad(f, (X,)), rtol=1e-6, atol=1e-7)
    _, tangent = s2s.jvp(f, (X,), (M.T,))
    assert tangent == pytest.approx(np.sum(got * M.T), rel=1e-10)


@pytest.mark.parametrize("f", [fsum_list, fsum_array, fsum_generator], ids=lambda f: f.__name__)
def test_fsum(f):
    got = s2s.grad(f)(V)
    np.testing.assert_allclose(got, fd_grad(f, (V,)), rtol=1e-6, atol=1e-7)
    assert s2s.jvp(f, (V,), (np.ones(4),))[1] == pytest.approx(np.sum(got), rel=1e-10)


def test_fsum_hessian():
    np.testing.assert_allclose(s2s.hessian(fsum_array)(V), np.diag(2.0 * np.arange(1.0, 5.0)), atol=1e-12)


def array_view(x):
    return np.sum(np.array(x, copy=False) ** 2)


def finite_in_place(x):
    return np.sum(np.nan_to_num(x, copy=False) ** 2)


def finite_in_place_by_position(x):
    y = x * 1.0
    np.nan_to_num(y, False)
    return np.sum(np.sin(y))


@pytest.mark.parametrize("f", [array_view, finite_in_place, finite_in_place_by_position], ids=lambda f: f.__name__)
def test_copy_false_is_refused(f):
    """(helper 158: `np.nan_to_num(x, copy=False)` was accepted and its adjoint read x after NumPy had changed it:
    g where x had been inf)"""
    x = np.array([[1.0, np.inf, np.nan], [2.0, -0.5, 3.0]])
    with pytest.raises(UnsupportedSyntaxError, match="copy=True|changes its first argument in place"):
        s2s.grad(f)(x)
    with pytest.raises(UnsupportedSyntaxError, match="copy=True|changes its first argument in place"):
        s2s.jvp(f, (x,), (np.ones_like(x),))


def finite_by_keywords(x):
    y = np.log(x)
    np.nan_to_num(y, **{"copy": False, "neginf": 0.0})
    return np.sum(y * y)


def finite_by_star(x):
    y = np.log(x)
    args = (y, False, 0.0, 0.0, 0.0)
    np.nan_to_num(*args)
    return np.sum(y * y)


def _finite_in_place(a):
    np.nan_to_num(a, copy=False, neginf=0.0)


def finite_through_a_helper(x):
    y = np.log(x)
    _finite_in_place(y)
    return np.sum(y * y)


def finite_of_a_slice(x):
    y = np.log(x)
    np.nan_to_num(y[:2], copy=False, neginf=0.0)
    return np.sum(y * y)


def finite_in_a_comprehension(x):
    y = np.log(x)
    [np.nan_to_num(v, copy=False, neginf=0.0) for v in [y]]
    return np.sum(y * y)


def sorted_through_a_reshape(x):
    y = x * 1.0
    y.reshape(-1).sort()
    return np.sum(y * np.arange(3.0))


def sorted_through_a_ravel(x):
    y = x * 1.0
    y.ravel().sort()
    return np.sum(y * np.arange(3.0))


@pytest.mark.parametrize("f", [finite_by_keywords, finite_by_star, finite_through_a_helper, finite_of_a_slice,
                               finite_in_a_comprehension, sorted_through_a_reshape, sorted_through_a_ravel],
                         ids=lambda f: f.__name__)
def test_a_change_in_place_however_written_is_refused(f):
    """(helper 160: each gave NaN or the unsorted gradient where the derivative is 0 or permuted)"""
    x = np.array([0.5, 0.0, 2.0]) if "finite" in f.__name__ else np.array([3.0, 0.5, 2.0])
    with np.errstate(divide="ignore"), pytest.raises(UnsupportedSyntaxError):
        s2s.grad(f)(x)
