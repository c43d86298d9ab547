"""Tuple unpacking as the lowering writes it (`a = t[0]; b = t[1]`), against what Python does."""

from __future__ import annotations

import numpy as np
import pytest

import s2s


def unpack_into_itself(x):
    x, y = x  # Python takes both rows of the x it had before
    return np.sum(x * y)


def test_unpacking_a_name_into_itself_reads_the_value_before():
    # lowered as `x = x[0]; y = x[1]`, y was an item of the first row: a wrong value and gradient, silently
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    value, g = s2s.value_and_grad(unpack_into_itself)(X)
    assert value == unpack_into_itself(X) == 11.0
    assert np.allclose(g, [[3.0, 4.0], [1.0, 2.0]])
    assert np.allclose(s2s.jvp(unpack_into_itself, (X,), (np.ones((2, 2)),))[1], 10.0)


def three_items(x):
    return x, 2.0 * x, 3.0 * x


def unpack_a_tuple(x):
    a, b = (x, 2.0 * x, 3.0 * x)
    return np.sum(a * b)


def unpack_a_list(x):
    p = [x, 2.0 * x, 3.0 * x]
    a, b = p
    return np.sum(a * b)


def unpack_rows(x):
    a, b = x
    return np.sum(a * b)


def unpack_a_helpers_result(x):
    a, b = three_items(x)
    return np.sum(a * b)


def unpack_nested(x):
    (a, b), c = (x, x, x), x
    return np.sum(a * b * c)


def unpack_in_a_loop(x):
    s = 0.0
    for a, b in [(x, x, x), (x, x, x)]:
        s = s + np.sum(a * b)
    return s


def unpack_in_a_comprehension(x):
    return sum([np.sum(a * b) for a, b in zip(x, x, x)])


def unpack_starred(x):
    a, b, *_ = (x,)
    return np.sum(a * b)


def unpack_too_few(x):
    a, b = (x,)
    return np.sum(a * b)


WRONG_ARITY = [unpack_a_tuple, unpack_a_list, unpack_rows, unpack_a_helpers_result, unpack_nested, unpack_in_a_loop,
               unpack_in_a_comprehension, unpack_starred, unpack_too_few]


def _python_error(f, x):
    try:
        f(x)
    except ValueError as e:
        return str(e)
    raise AssertionError(f"{f.__name__} unpacks without an error in Python")


@pytest.mark.parametrize("f", WRONG_ARITY, ids=[f.__name__ for f in WRONG_ARITY])
def test_unpacking_another_number_of_items_raises_pythons_value_error(f):
    # lowered as `a = p[0]; b = p[1]`, a value of three items gave the gradient of a function Python refuses to run
    x = np.array([0.5, -1.0, 2.0])
    message = _python_error(f, x)
    for run in (s2s.grad(f), s2s.derivative(f), lambda x: s2s.jvp(f, (x,), (x,))):
        with pytest.raises(ValueError) as raised:
            run(x)
        assert str(raised.value) == message


@pytest.mark.filterwarnings("ignore")
def test_compiled_unpacking_of_three_rows_into_two_raises():
    with pytest.raises(ValueError, match="too many values to unpack"):
        s2s.grad(unpack_rows, compile=True)(np.ones((3, 2)))


def test_unpacking_a_dict_is_refused():
    # Python unpacks a dict's keys; s2s's reads by position (d[0], d[1]) would take its values
    def f(x):
        a, b = {0: x, 1: 2.0 * x}
        return a * x + b * x

    with pytest.raises(s2s.UnsupportedSyntaxError):
        s2s.grad(f)(1.5)


def pairs_with_index(x):
    s = 0.0
    for i, (a, b) in enumerate(x):
        head, *tail = (a, b, a * b)
        s = s + (i + 1.0) * head * tail[1]
    return s


def test_unpacking_of_the_right_number_keeps_its_gradient_and_the_specialised_code_has_no_check():
    import autograd
    x = np.array([[0.3, -1.2], [0.8, 0.5], [1.5, -0.4]])
    np.testing.assert_allclose(s2s.grad(pairs_with_index)(x), autograd.grad(pairs_with_index)(x), rtol=1e-12)
    np.testing.assert_allclose(s2s.derivative(pairs_with_index)(x), autograd.grad(pairs_with_index)(x), rtol=1e-12)
    assert "unpack_count" not in s2s.source(s2s.grad(rows_of_two), np.ones((2, 3)))


def rows_of_two(x):
    n, m = x.shape
    a, b = x
    return np.sum(a * b) * n * m
