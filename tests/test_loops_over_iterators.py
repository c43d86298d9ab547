"""A loop over an iterator (`iter(...)`, `map`, a generator, an iterator argument) is run by s2s over all of its
items, taken before the loop runs (`s2s.as_sequence`). Where that shows, s2s gave silent wrong gradients (zeros,
or the items of a later loop missing): the loop leaves early and the code reads the rest of the iterator after it,
the body takes items of the iterator too (`next(it)`, a nested loop over it), `zip(it, it)` takes them in turn.
Those loops are refused now, at the loop's line, when the value turns out to be an iterator; loops where taking
the items first cannot show (the loop runs to its end and its body does not read the iterator, a fresh
`itertools.product`, a list or an array) still give their gradients, and the check is not in the specialised
code of a loop over an array or a list."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import s2s
from tests.conftest import check_grad

X = np.array([0.3, 0.7, 0.2, 0.9])


# ---- refused: taking all the items first would show -------------------------------------------------------------

def rest_read_after_break(x):
    it = iter(range(4))
    for i in it:
        if x[i] > 0.5:
            break
    return np.sum(x * len(list(it)))


def second_loop_takes_the_rest(x, it):
    s = 0.0
    for i in it:
        s = s + x[i]
        if s > 0.6:
            break
    for i in it:
        s = s * x[i]
    return s


def next_in_body(x):
    it = iter(range(4))
    s = 0.0
    for i in it:
        j = next(it)
        s = s + x[i] * x[j]
    return s


def nested_loop_over_it(x):
    it = iter(range(4))
    s = 0.0
    for i in it:
        for j in it:
            s = s + x[i] * x[j]
    return s


def zipped_with_itself(x):
    it = iter(range(4))
    s = 0.0
    for i, j in zip(it, it):
        s = s + x[i] * x[j]
    return s


def first_above(x, it):
    for i in it:
        if x[i] > 0.5:
            return x[i]
    return 0.0


def helper_returns_early(x):
    it = iter(range(4))
    s = first_above(x, it)
    return s * len(list(it))


def map_left_early(x):
    it = map(int, [0.0, 1.0, 2.0, 3.0])
    s = 0.0
    for i in it:
        s = s + x[i]
        if s > 0.6:
            break
    for i in it:
        s = s * x[i]
    return s


def comprehension_takes_next(x):
    it = iter(range(4))
    return sum([x[i] * x[next(it)] for i in it])


def reversed_iterator(x):
    s = 0.0
    for i in reversed(iter(range(4))):
        s = s * x[i] + x[i]
    return s


def zipped_with_counter(x):
    s = 0.0
    for i, v in zip(itertools.count(), x):
        s = s + v * i
    return s


REFUSED = [
    (rest_read_after_break, lambda: (X,), "may leave early (line"),
    (second_loop_takes_the_rest, lambda: (X, iter(range(4))), "may leave early (line"),
    (next_in_body, lambda: (X,), "body reads `it` too"),
    (nested_loop_over_it, lambda: (X,), "body reads `it` too"),
    (zipped_with_itself, lambda: (X,), "zip() takes"),
    (helper_returns_early, lambda: (X,), "may leave early (line"),
    (map_left_early, lambda: (X,), "here a map (an iterator)"),
    (comprehension_takes_next, lambda: (X,), "body reads `it` too"),
    (reversed_iterator, lambda: (X,), "reversed() takes a sequence"),
    (zipped_with_counter, lambda: (X,), "here a count (an iterator)"),
]


@pytest.mark.parametrize("f, args, words", REFUSED, ids=[f.__name__ for f, _, _ in REFUSED])
def test_refused_at_the_loop(f, args, words):
    with pytest.raises(s2s.UnsupportedSyntaxError) as caught:
        s2s.grad(f, wrt=0)(*args())
    text = str(caught.value)
    assert words in text
    assert "an iterator" in text and __file__ in text
    assert "items = list(" in text  # (the hint)


def test_the_refused_programs_run_in_python():
    """(Not programs Python itself refuses, but the reversed iterator: the others give numbers.)"""
    for f, args, _ in REFUSED:
        if f is reversed_iterator:
            with pytest.raises(TypeError):
                f(*args())
        else:
            assert np.isfinite(f(*args()))


# ---- differentiated: taking the items first cannot show ---------------------------------------------------------

def runs_to_its_end(x):
    it = iter(range(4))
    s = 0.0
    for i in it:
        s = s + x[i] * x[(i + 1) % 4]
    return s * (1.0 + len(list(it)))  # (empty after the loop, in Python and in s2s)


def map_to_its_end(x, index):
    s = 0.0
    for i in map(int, index):
        s = s + np.sin(x[i])
    return s


def product_left_early(x):
    s = 0.0
    for i, j in itertools.product(range(4), range(4)):
        s = s + x[i] * x[j]
        if s > 1.5:
            break
    return s


def comprehension_over_map(x, index):
    return np.sum(np.array([x[i] ** 2 for i in map(int, index)]))


def iterator_argument_to_its_end(x, it):
    s = 1.0
    for i in it:
        s = s * (1.0 + x[i])
    return s


def zip_of_lists_left_early(x):
    s = 0.0
    for a, b in zip([x[0], x[1], x[2]], [x[3], x[2], x[1]]):
        s = s + a * b
        if s > 0.5:
            break
    return s


@pytest.mark.parametrize("f, args", [
    (runs_to_its_end, lambda: (X,)),
    (map_to_its_end, lambda: (X, [0.0, 2.0, 3.0])),
    (product_left_early, lambda: (X,)),
    (comprehension_over_map, lambda: (X, [3.0, 1.0])),
    (zip_of_lists_left_early, lambda: (X,)),
], ids=["runs_to_its_end", "map_to_its_end", "product_left_early", "comprehension_over_map",
        "zip_of_lists_left_early"])
def test_differentiated_where_it_cannot_show(f, args):
    check_grad(f, *args(), wrt=0, ag=False)


def test_iterator_argument_run_to_its_end():
    got = s2s.grad(iterator_argument_to_its_end, wrt=0)(X, iter([0, 2, 3]))
    want = np.zeros(4)
    for i in (0, 2, 3):
        want[i] = np.prod([1.0 + X[j] for j in (0, 2, 3) if j != i])
    np.testing.assert_allclose(got, want)


def rows_left_early(X, w):
    s = 0.0
    for row in X:
        s = s + np.tanh(row @ w)
        if s > 100.0:
            break
    return s


def list_left_early(X, w):
    rows = [X[0], X[1], X[2]]
    s = 0.0
    for row in rows:
        s = s + np.tanh(row @ w)
        if s > 100.0:
            break
    return s


@pytest.mark.parametrize("f", [rows_left_early, list_left_early], ids=["rows", "list"])
def test_no_check_in_the_specialised_code_of_arrays_and_lists(f):
    Xs, w = np.random.default_rng(3).normal(size=(5, 3)), np.ones(3)
    g = s2s.grad(f, wrt=1)
    check_grad(f, Xs, w, wrt=1, ag=False)
    text = s2s.source(g, Xs, w)
    assert "not_an_iterator" not in text and "unbroadcast(" not in text
    assert "not_an_iterator" in s2s.source(g)  # (the general code tests it when it runs)
