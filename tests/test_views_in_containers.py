"""A slice of an array kept in a container (list, dict, tuple, namedtuple, dataclass, a helper's returned tuple)
sees a later update of the array's items, as Python does: s2s refuses it (the run-time check of the update sees
the container share the array). The shape-specialised code once copied the slice where it was taken, so the check
passed and value and gradient were both of the stale copy (adv222). Without the update, or with a copy the user
took, the same programs are differentiated."""

from collections import namedtuple
from dataclasses import dataclass

import numpy as np
import pytest
from conftest import numeric_grad

import s2s

Pair = namedtuple("Pair", "head rest")


@dataclass
class Holder:
    part: np.ndarray


def _halves(v):
    return v[:1], v[1:]


def appended(x):
    y = x * 2.0
    kept = []
    kept.append(y[1:])
    y[1] = 0.5
    return np.sum(kept[0] * x[1:])


def rows_appended_in_a_loop(x):
    m = np.outer(x, x)
    rows = []
    for row in m:
        rows.append(row)
    m[0, 0] = 0.0
    return np.sum(rows[0] * x)


def rows_by_comprehension(x):
    m = np.outer(x, x)
    rows = [m[i] for i in range(3)]
    m[0] += x
    return np.sum(rows[0] * rows[0])


def dict_item(x):
    y = x * 2.0
    d = {}
    d["tail"] = y[1:]
    y[1] = 0.5
    return np.sum(d["tail"] * x[1:])


def dict_call(x):
    y = x * 2.0
    d = dict(tail=y[1:])
    y[1] = 0.5
    return np.sum(d["tail"] * x[1:])


def zipped_rows(x):
    m = np.outer(x, x)
    pairs = list(zip(m, x))
    m[0, 0] = 0.0
    return np.sum(pairs[0][0] * pairs[0][1])


def in_a_namedtuple(x):
    y = x * 2.0
    p = Pair(y[:1], y[1:])
    y[1] = 0.5
    return np.sum(p.rest * x[1:])


def in_a_dataclass(x):
    y = x * 2.0
    h = Holder(y[1:])
    y[1] = 0.5
    return np.sum(h.part * x[1:])


def from_a_helper(x):
    y = x * 2.0
    head, rest = _halves(y)
    y[1] = 0.5
    return np.sum(rest * x[1:]) + head[0]


def list_repeated(x):
    y = x * 2.0
    views = [y[:]] * 2
    y[1] = 0.5
    return np.sum(views[1] * x)


STALE = [appended, rows_appended_in_a_loop, rows_by_comprehension, dict_item, dict_call, zipped_rows,
         in_a_namedtuple, in_a_dataclass, from_a_helper, list_repeated]
X = np.array([0.3, 0.7, 1.4])


@pytest.mark.parametrize("f", STALE, ids=lambda f: f.__name__)
def test_a_kept_slice_then_an_update_is_refused(f):
    with pytest.raises(s2s.S2SError, match="refers to the same array|may be a view|changes too"):
        s2s.value_and_grad(f)(X.copy())
    with pytest.raises(s2s.S2SError, match="refers to the same array|may be a view|changes too"):
        s2s.grad(f, compile=True)(X.copy())


def kept_then_read_without_update(x):
    y = x * 2.0
    kept = [y[1:], y[:1]]
    d = {"tail": y[1:]}
    return np.sum(kept[0] * x[1:]) + np.sum(d["tail"] ** 2) + kept[1][0] * x[0]


def copied_by_the_user(x):
    y = x * 2.0
    kept = []
    kept.append(y[1:].copy())
    y[1] = 0.5
    return np.sum(kept[0] * x[1:]) + np.sum(y * x)


@pytest.mark.parametrize("f", [kept_then_read_without_update, copied_by_the_user], ids=lambda f: f.__name__)
def test_the_same_programs_without_the_shared_update_are_differentiated(f):
    value, grad = s2s.value_and_grad(f)(X.copy())
    assert value == pytest.approx(f(X.copy()), rel=1e-12)
    np.testing.assert_allclose(grad, numeric_grad(f, [X.copy()]), rtol=1e-6, atol=1e-8)
