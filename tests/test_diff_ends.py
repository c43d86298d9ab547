"""np.diff(a, n, axis, prepend=..., append=...) (helper 149: refused, "no parameter 'prepend'"): the values joined
at the ends as NumPy joins them (a number as one entry of a's other lengths), differentiated with respect to a
and to what is joined; reverse and forward mode against central differences, float32 kept."""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s

RNG = np.random.default_rng(4)
x = RNG.normal(size=6)
X = RNG.normal(size=(4, 3))


def prepend_zero(x):
    return np.sum(np.diff(x, prepend=0.0) ** 2)


def both_ends_of_x(x):
    return np.sum(np.diff(x, n=2, append=x[:2] * 3.0, prepend=x[0]) ** 3)


def rows_with_a_first_row(X):
    return np.sum(np.sin(np.diff(X, axis=0, prepend=X[:1] * 0.5)))


def ends_from_a_number(x, c):
    return np.sum(np.diff(x, prepend=c, append=c * 2.0) ** 2)


def columns_appended(X, C):
    return np.sum(np.diff(X, n=1, axis=1, append=C) ** 2)


CASES = [(prepend_zero, (x,), 0), (both_ends_of_x, (x,), 0), (rows_with_a_first_row, (X,), 0),
         (ends_from_a_number, (x, 0.7), 0), (ends_from_a_number, (x, 0.7), 1),
         (columns_appended, (X, RNG.normal(size=(4, 2))), 0), (columns_appended, (X, RNG.normal(size=(4, 2))), 1)]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=lambda v: getattr(v, "__name__", str(v)[:8]))
def test_gradient_and_tangent(f, args, wrt):
    want = fd_grad(f, args, wrt=wrt)
    np.testing.assert_allclose(s2s.grad(f, wrt=wrt)(*args), want, rtol=1e-6, atol=1e-7)
    direction = RNG.normal(size=np.shape(args[wrt]))
    tangents = [np.zeros_like(np.asarray(a, dtype=float)) for a in args]
    tangents[wrt] = direction
    _, tangent = s2s.jvp(f, tuple(args), tuple(tangents))
    np.testing.assert_allclose(tangent, np.sum(want * direction), rtol=1e-6, atol=1e-7)


def test_float32_stays_float32():
    g = s2s.grad(both_ends_of_x)(x.astype(np.float32))
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, s2s.grad(both_ends_of_x)(x), rtol=1e-3, atol=1e-3)


def no_difference_with_ends(a, p):
    return np.sum(np.diff(a, 0, prepend=p, append=p * 2.0) ** 2 * np.arange(1.0, a.size + 1))


@pytest.mark.parametrize("a", [np.array([3.0]), np.array([0.5, 1.5, -1.0, 2.0])], ids=["one", "four"])
@pytest.mark.parametrize("wrt", [0, 1])
def test_n_zero_joins_nothing(a, wrt):
    """np.diff(a, 0, prepend=p) is `a` itself: p's gradient is zero (helper 155: 6.0 where it is 0; a NumPy
    broadcast error where `a` had more than one entry)."""
    args = (a, 2.0)
    np.testing.assert_allclose(s2s.grad(no_difference_with_ends, wrt=wrt)(*args),
                               fd_grad(no_difference_with_ends, args, wrt=wrt), rtol=1e-6, atol=1e-7)
    tangents = (np.ones_like(a), 0.0) if wrt == 0 else (np.zeros_like(a), 1.0)
    _, tangent = s2s.jvp(no_difference_with_ends, args, tangents)
    assert tangent == pytest.approx(np.sum(fd_grad(no_difference_with_ends, args, wrt=wrt) * tangents[wrt]), abs=1e-6)
