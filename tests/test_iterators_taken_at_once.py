"""`reversed`, `enumerate` and `itertools.chain` given to list, tuple, sum, min, max or sorted, and `reversed(y)`
beside other sequences in `zip` and `enumerate` (transforms/generators.py, transforms/loops.py).

`list(reversed(xs))` is `list([v for v in reversed(xs)])` in Python, a loop s2s differentiates; before stop 60
each was refused as "no derivative rule for builtins.reversed". Checked against central differences, autograd
and forward mode.
"""

import itertools

import numpy as np
import pytest

import s2s
from tests.conftest import check_grad, numeric_grad

X = np.array([0.5, -1.2, 2.0, 0.3])
V = np.array([0.3, -0.1, 0.7, 0.2])


def list_of_reversed_items(x):
    ys = list(reversed([x[0], x[1] * x[2], x[3]]))
    return ys[0] * 2.0 + ys[2] ** 2


def sum_of_reversed(x):
    return sum(reversed([x[0] * 2.0, x[1] ** 2]))


def tuple_of_reversed_array(x):
    ys = tuple(reversed(x))
    return ys[0] * 3.0 + ys[1] * ys[3]


def rows_reversed(x):
    rows = list(reversed(x.reshape(2, 2)))
    return np.sum(rows[0] * np.arange(2.0)) + np.sum(rows[1] ** 2)


def stacked_reversed(x):
    return np.sum(np.array(list(reversed(x))) * np.arange(4.0))


def list_of_enumerate(x):
    pairs = list(enumerate(x))
    return sum(i * v ** 2 for i, v in pairs)


def max_of_enumerate(x):
    return max(enumerate(x * np.array([1.0, -1.0, 1.0, 1.0])))[1] * 2.0


def sorted_reversed(x):
    s = sorted(reversed(x))
    return s[0] * 2.0 + s[-1]


def chained(x):
    ys = list(itertools.chain([x[0]], [x[1], x[2]]))
    return ys[0] * ys[2]


def chained_from_iterable(x):
    ys = list(itertools.chain.from_iterable([[x[0]], [x[1], x[3]]]))
    return ys[2] * ys[0] + ys[1]


def zip_with_reversed(x):
    return sum(v * w ** 2 for v, w in zip(x, reversed(x)))


def loop_over_zip_with_reversed(x):
    s = 0.0
    for a, b in zip(reversed(x), x[1:]):
        s = s + a * b ** 2
    return s


def enumerate_reversed(x):
    s = 0.0
    for i, v in enumerate(reversed(x), start=1):
        s = s + i * v ** 2
    return s


def list_of_enumerate_reversed(x):
    return sum(i * v for i, v in list(enumerate(reversed(x))))


PROGRAMS = [list_of_reversed_items, sum_of_reversed, tuple_of_reversed_array, rows_reversed, stacked_reversed,
            list_of_enumerate, max_of_enumerate, sorted_reversed, chained, chained_from_iterable, zip_with_reversed,
            loop_over_zip_with_reversed, enumerate_reversed, list_of_enumerate_reversed]


@pytest.mark.parametrize("f", PROGRAMS, ids=[f.__name__ for f in PROGRAMS])
def test_iterators_taken_at_once_differentiate(f):
    check_grad(f, X)
    _, tangent = s2s.jvp(f, (X,), (V,))
    np.testing.assert_allclose(tangent, numeric_grad(f, (X,), 0) @ V, rtol=1e-6, atol=1e-8)


def reversed_of_an_iterator(x):
    return sum(list(reversed(iter([x[0], x[1]]))))


def test_reversed_of_an_iterator_is_refused_as_python_refuses_it():
    with pytest.raises(TypeError):
        reversed_of_an_iterator(X)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="reversed"):
        s2s.grad(reversed_of_an_iterator)(X)
