"""A loop over an iterator (`iter(...)`, `map`, a generator, an iterator argument) is run by s2s over all of its
items, taken before the loop runs (`s2s.as_sequence`). Where that shows, s2s gave silent wrong gradients (zeros,
or the items of a later loop missing): the loop leaves early and the code reads the rest of the iterator after it,
the body takes items of the iterator too (`next(it)`, through another name, a closure, a list holding it, a nested
loop), `zip(it, it)` takes them in turn (helpers 178 and 179). The value of a name, an attribute or a call of yours
that a loop runs over is now checked to be no iterator when the loop is about to run (`s2s.not_an_iterator`), and
refused at the loop's line where it is one (what else takes its items meanwhile cannot be told from the code:
NumPy functions take iterables, objects' methods run your code; helper 180); a new iterator made in the loop
statement (`map(int, xs)`, `iter(range(n))`, `np.ndindex(...)`, `itertools.product(...)`) is held by no
one else, and what it runs over is checked instead. The check is not in the specialised code of a loop over an
array or a list."""

from __future__ import annotations

import itertools
import re

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


def another_name_steps_it(x):
    it = iter(range(4))
    it2 = it
    s = 0.0
    for i in it:
        s = s + x[i] * x[next(it2, 0)]
    return s


def closure_steps_it(x):
    it = iter(range(4))
    take = lambda d: next(it, d)  # noqa: E731
    s = 0.0
    for i in it:
        s = s + x[i] * x[take(0)]
    return s


def list_holds_it(x):
    box = [iter(range(4))]
    s = 0.0
    for i in box[0]:
        s = s + x[i] * x[next(box[0], 0)]
    return s


def map_over_it_stepped(x):
    it = iter(range(4))
    s = 0.0
    for i in map(int, it):
        s = s + x[i] * x[next(it, 0)]
    return s


def runs_to_its_end(x):
    it = iter(range(4))
    s = 0.0
    for i in it:
        s = s + x[i] * x[(i + 1) % 4]
    return s * (1.0 + len(list(it)))


def iterator_argument_to_its_end(x, it):
    s = 1.0
    for i in it:
        s = s * (1.0 + x[i])
    return s


class OnePass:
    """Iterable once: each `iter()` gives the same iterator (not an Iterator itself)."""

    def __init__(self, n):
        self._items = iter(range(n))

    def __iter__(self):
        return self._items


def one_pass_iterable(x):
    c = OnePass(4)
    s = 0.0
    for i in c:
        s = s + x[i]
        if s > 0.5:
            break
    for i in c:
        s = s * x[i]
    return s


def over_nditer(x):
    s = 0.0
    for i in np.nditer(np.arange(4)):
        s = s + x[int(i)] ** 2
    return s


def lambda_map_left_early(x):
    s = 0.0
    for v in map(lambda i: x[i] * 2.0, range(4)):
        s = s + v
        if s > 0.5:
            break
    return s


def counted_forever(x):
    s = 0.0
    for i in itertools.count():
        s = s + x[i]
        if s > 0.5:
            break
    return s


ONCE = "which gives its items once (an iterator)"
REFUSED = [
    (rest_read_after_break, lambda: (X,), ONCE),
    (second_loop_takes_the_rest, lambda: (X, iter(range(4))), ONCE),
    (next_in_body, lambda: (X,), ONCE),
    (nested_loop_over_it, lambda: (X,), ONCE),
    (zipped_with_itself, lambda: (X,), ONCE),
    (helper_returns_early, lambda: (X,), ONCE),
    (second_loop_takes_the_rest, lambda: (X, map(int, [0.0, 1.0, 2.0, 3.0])), "here a map, " + ONCE),
    (comprehension_takes_next, lambda: (X,), ONCE),
    (another_name_steps_it, lambda: (X,), ONCE),
    (closure_steps_it, lambda: (X,), ONCE),
    (list_holds_it, lambda: (X,), ONCE),
    (map_over_it_stepped, lambda: (X,), ONCE),
    (one_pass_iterable, lambda: (X,), ONCE),
    (runs_to_its_end, lambda: (X,), ONCE),
    (iterator_argument_to_its_end, lambda: (X, iter([0, 2, 3])), ONCE),
    (over_nditer, lambda: (X,), "here a nditer, " + ONCE),
]
REFUSED_WHEN_TRANSFORMED = [
    (reversed_iterator, lambda: (X,), "reversed() takes a sequence, and iter(range(4)) is an iterator"),
    (zipped_with_counter, lambda: (X,), "itertools.count() has no end"),
    (counted_forever, lambda: (X,), "itertools.count() has no end"),
]


@pytest.mark.parametrize("f, args, words", REFUSED, ids=[f"{f.__name__}-{k}" for k, (f, _, _) in enumerate(REFUSED)])
def test_refused_at_the_loop(f, args, words):
    with pytest.raises(s2s.UnsupportedSyntaxError) as caught:
        s2s.grad(f, wrt=0)(*args())
    text = str(caught.value)
    assert words in text and __file__ in text
    assert "items = list(" in text  # (the hint)


@pytest.mark.parametrize("f, args, words", REFUSED_WHEN_TRANSFORMED,
                         ids=[f.__name__ for f, _, _ in REFUSED_WHEN_TRANSFORMED])
def test_refused_when_transformed(f, args, words):
    with pytest.raises(s2s.UnsupportedSyntaxError) as caught:
        s2s.grad(f, wrt=0)
        s2s.grad(f, wrt=0)(*args())
    assert words in str(caught.value) and __file__ in str(caught.value)


def test_the_refused_programs_run_in_python():
    """(Not programs Python itself refuses, but the reversed iterator: the others give numbers.)"""
    for f, args, _ in REFUSED + REFUSED_WHEN_TRANSFORMED:
        if f is reversed_iterator:
            with pytest.raises(TypeError):
                f(*args())
        else:
            assert np.isfinite(f(*args()))


# ---- differentiated: taking the items first cannot show ---------------------------------------------------------

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


def zip_of_lists_left_early(x):
    s = 0.0
    for a, b in zip([x[0], x[1], x[2]], [x[3], x[2], x[1]]):
        s = s + a * b
        if s > 0.5:
            break
    return s


def ndindex_reading_x(x):
    s = 0.0
    for idx in np.ndindex(x.shape):
        s = s + x[idx] ** 2
    return s


def fresh_iter_left_early(x):
    s = 0.0
    for i in iter(range(4)):
        s = s + x[i]
        if s > 0.5:
            break
    return s


def fresh_ndindex_left_early(x):
    s = 0.0
    for (i,) in np.ndindex(4):
        s = s + x[i] ** 2
        if s > 0.5:
            break
    return s


def zip_of_a_fresh_iterator(x):
    s = 0.0
    for k, (i, v) in enumerate(zip(iter(range(4)), x)):
        s = s + k * v * x[i]
    return s


def iter_of_a_dict_reading_it(x):
    d = {0: 1.0, 2: 3.0}
    s = 0.0
    for k in iter(d):
        s = s + d[k] * x[k]
    return s


@pytest.mark.parametrize("f, args", [
    (map_to_its_end, lambda: (X, [0.0, 2.0, 3.0])),
    (lambda_map_left_early, lambda: (X,)),  # (a list comprehension: `map` of a lambda is written as one)
    (ndindex_reading_x, lambda: (X,)),
    (fresh_iter_left_early, lambda: (X,)),
    (fresh_ndindex_left_early, lambda: (X,)),
    (zip_of_a_fresh_iterator, lambda: (X,)),
    (iter_of_a_dict_reading_it, lambda: (X,)),
    (product_left_early, lambda: (X,)),
    (comprehension_over_map, lambda: (X, [3.0, 1.0])),
    (zip_of_lists_left_early, lambda: (X,)),
], ids=["map_to_its_end", "lambda_map_left_early", "ndindex_reading_x",
        "fresh_iter_left_early", "fresh_ndindex_left_early",
        "zip_of_a_fresh_iterator", "iter_of_a_dict_reading_it", "product_left_early", "comprehension_over_map",
        "zip_of_lists_left_early"])
def test_differentiated_where_it_cannot_show(f, args):
    check_grad(f, *args(), wrt=0, ag=False)


def test_hessian_refuses_an_iterator_argument():
    """Evaluated once per row, a function would find the items gone after the first (before the loop's check)."""
    with pytest.raises(s2s.UnsupportedSyntaxError, match="an iterator: the first evaluation takes its items"):
        s2s.hessian(iterator_argument_to_its_end)(X, iter([0, 2, 3]))


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


# ---- helper 179: a generator reading what the body changes; islice of an endless iterator; np.ndindex(*shape) -----

def lazy_from_state(state):
    for _ in range(3):
        yield state[0]


def body_changes_what_it_reads(x, items, state):
    s = 0.0
    for i in items:
        state[0] = i + 1
        s = s + x[i] ** 2
    return s


def test_a_generator_argument_reading_what_the_body_changes_is_refused():
    state = [0]
    with pytest.raises(s2s.UnsupportedSyntaxError, match=re.escape("here a generator, " + ONCE)):
        s2s.grad(body_changes_what_it_reads, wrt=0)(X, lazy_from_state(state), state)


def first_of_endless(x):
    s = 0.0
    for i in itertools.islice(itertools.count(), 3):
        s = s + x[i] ** 2
    for j in itertools.islice(itertools.cycle([0, 1]), 1, 4):
        s = s + x[j] * x[3]
    return s


def ndindex_of_a_starred_shape(x):
    s = 0.0
    for idx in np.ndindex(*x.shape):
        s = s + np.sin(x[idx])
    return s


@pytest.mark.parametrize("f", [first_of_endless, ndindex_of_a_starred_shape], ids=lambda f: f.__name__)
def test_islice_ends_an_endless_iterator_and_ndindex_takes_a_starred_shape(f):
    check_grad(f, X, wrt=0, ag=False)



# ---- helper 180: what else may take an iterator's items cannot be told from the loop's body ------------------------

def numpy_takes_the_rest(x, it):
    s = 0.0
    for k in it:
        s = s + k * np.sum(np.tile(x, it))  # (np.tile reads the rest of `it` as its repetitions)
    return s


class Steps:
    """Its length steps the iterator it shares."""

    def __init__(self, it):
        self.it = it

    def __len__(self):
        return next(self.it, 0) + 1


def an_object_takes_them(x, it):
    t = Steps(it)
    s = 0.0
    for k in it:
        s = s + x[k] * len(t)
    return s


def target_is_an_item(x, it, a):
    s = 0.0
    for a[0] in it:
        s = s + x[a[0]]
    return s


@pytest.mark.parametrize("f, args", [(numpy_takes_the_rest, lambda: (X, iter([1, 2]))),
                                     (an_object_takes_them, lambda: (X, iter([0, 1, 2, 3]))),
                                     (target_is_an_item, lambda: (X, iter([0, 2]), [0]))],
                         ids=["np.tile", "len of an object", "item target"])
def test_any_iterator_is_refused_whatever_the_body_does(f, args):
    assert np.isfinite(f(*args()))
    with pytest.raises(s2s.S2SError, match=re.escape(ONCE)):
        s2s.grad(f, wrt=0)(*args())


def gram_schmidt_rows(A):
    basis = []
    for j in range(A.shape[0]):
        v = A[j]
        for q in basis:  # (a list the function made and appends to: no check left in the specialised code)
            v = v - (q @ v) * q
        basis.append(v / np.sqrt(v @ v))
    return np.sum(np.stack(basis) ** 3)


def test_no_check_of_a_list_the_function_makes():
    A = np.random.default_rng(5).normal(size=(3, 3))
    check_grad(gram_schmidt_rows, A, wrt=0, ag=False)
    assert "not_an_iterator" not in s2s.source(s2s.grad(gram_schmidt_rows), A)


def rebinds_its_argument(x, it):
    for _ in it:  # (an iterator argument, then a list bound to the same name: the first loop keeps its check)
        x = x * 1.0
    it = [0, 1]
    s = 0.0
    for i in it:
        s = s + x[i]
    return s


def test_a_parameter_rebound_to_a_list_keeps_the_check_where_it_holds_the_argument():
    with pytest.raises(s2s.S2SError, match=re.escape(ONCE)):
        s2s.grad(rebinds_its_argument, wrt=0)(X, iter([0, 1]))


WEIGHTS_LIST = [2.0, 3.0]


def _unpacks_an_iterator(x):
    a, b = itertools.islice(WEIGHTS_LIST, 2)
    return a * x[0] + b * x[1] ** 2


def test_unpacking_an_iterator_is_refused_with_a_hint_not_a_false_type_error():
    # (helper 184: s2s said "cannot unpack non-iterable islice object", which Python does unpack)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="list\\(items\\)"):
        s2s.grad(_unpacks_an_iterator)(np.array([0.3, 0.5]))
