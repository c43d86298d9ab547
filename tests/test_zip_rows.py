"""`zip(*rows)` with rows of every kind Python's zip takes: s2s reads each row by position
(transforms/inline.py), so a row whose indexing is not its iteration (a dict's keys, a set, a string, an
object of yours) goes through `s2s.zip_row`, and a row that is an iterator is refused. Against central
differences, and forward mode where the value passes a row."""

import numpy as np
import pytest
from helpers_fd import assert_close, check_grad
from test_functions_as_values import jvp_check

import s2s


def int_keyed_dict_row(x):
    # zip takes the dict's keys (0, 1), not its values: an index read gave 3.0 and 5.0
    rows = [{0: 3.0, 1: 5.0, 2: 7.0}, [x[0], x[1]]]
    s = 0.0
    for a, b in zip(*rows):
        s = s + a * b
    return s


WEIGHTS = frozenset({3, 1, 2})  # (a set display is refused in the function; one made before it is read)


def set_row(x):
    rows = [WEIGHTS, list(x[:3])]
    return sum(a * np.sin(b) for a, b in zip(*rows))


def string_row(x):
    return sum((a == "b") * b ** 2 + b for a, b in zip(*["abc", x]))


def range_and_tuple_rows(x):
    rows = (range(1, 5), (x[0], x[1] * 2.0, x[2]), x)
    return sum(a * b * c for a, b, c in zip(*rows))


def array_rows(m):
    return sum(np.exp(a) * b for a, b in zip(*m))


class Steps:
    """Iterable, each `iter()` a new generator: zip reads it as a list would be."""

    def __iter__(self):
        yield 2.0
        yield -1.0


class Squares:
    """Iterable through `__getitem__` alone (Python's old iteration protocol)."""

    def __getitem__(self, k):
        if k >= 3:
            raise IndexError(k)
        return float(k * k)


def own_iterable_rows(x):
    return sum(a * b + c * b for a, b, c in zip(*[Steps(), x, Squares()]))


def tuple_keys_of_an_outer_dict(x):
    pairs = {(0, 1): "first", (2, 3): "second"}
    return sum(x[i] * x[j] for i, j in zip(*pairs))


def columns_listed(x):
    cols = list(zip(*[{1: "a", 0: "b"}, x]))
    return cols[0][0] * cols[0][1] + cols[1][0] * cols[1][1] ** 2


CASES = [
    (int_keyed_dict_row, np.array([0.3, -1.2])),
    (set_row, np.array([0.5, 1.5, -0.7, 2.0])),
    (string_row, np.array([0.5, 1.5, -0.7])),
    (range_and_tuple_rows, np.array([0.5, 1.5, -0.7, 2.0])),
    (array_rows, np.arange(6.0).reshape(2, 3) / 5.0),
    (own_iterable_rows, np.array([0.5, 1.5, -0.7])),
    (tuple_keys_of_an_outer_dict, np.array([0.5, 1.5, -0.7, 2.0])),
    (columns_listed, np.array([0.5, 1.5])),
]


@pytest.mark.parametrize("f, x", CASES, ids=[c[0].__name__ for c in CASES])
def test_rows_read_as_zip_reads_them(f, x):
    value, grad = s2s.value_and_grad(f)(x)
    assert_close(value, f(x), rtol=1e-12, atol=0.0)
    check_grad(grad, f, (x,))
    assert_close(s2s.derivative(f)(x), grad, rtol=1e-12, atol=0.0)  # the general code agrees


@pytest.mark.parametrize("f, x", CASES[:4], ids=[c[0].__name__ for c in CASES[:4]])
def test_forward_mode_reads_the_same_rows(f, x):
    jvp_check(f, (x,))


def test_a_dict_row_gives_its_keys_not_its_values():
    x = np.array([0.3, -1.2])
    # f = 0 * x0 + 1 * x1: the gradient holds the keys
    np.testing.assert_allclose(s2s.grad(int_keyed_dict_row)(x), [0.0, 1.0])


def reversed_row(x):
    rows = [reversed([1.0, 2.0]), x]
    return sum(a * b for a, b in zip(*rows))


def iter_row(x):
    rows = [iter([1.0, 2.0]), x]
    s = 0.0
    for a, b in zip(*rows):
        s = s + a * b
    return s


def map_row(x):
    return sum(a * b for a, b in zip(*[x, map(float, [1, 2, 3])]))


def zip_object_row(x):
    rows = [zip([1.0, 2.0], [3.0, 4.0]), x]
    return sum(a[0] * b for a, b in zip(*rows))


@pytest.mark.parametrize("f", [reversed_row, iter_row, map_row, zip_object_row],
                         ids=["reversed", "iter", "map", "zip"])
def test_a_row_that_is_an_iterator_is_refused_at_the_zip(f):
    x = np.array([0.5, 1.5, -0.7])
    with pytest.raises(s2s.UnsupportedSyntaxError) as err:
        s2s.grad(f)(x)
    text = str(err.value)
    assert "zip(*" in text and "an iterator" in text and "list(row)" in text
    assert err.value.lineno is not None and "zip(*" in err.value.line
