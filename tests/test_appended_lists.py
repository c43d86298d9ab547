"""Lists a differentiated function appends to, which the backward sweep pops back to their earlier lengths:
an auxiliary output holding one (in a namedtuple, a list made each trip, one bound in a branch, one held
twice) is what the function returned (s2s.lists_as_they_are), and a list argument is left as it was, as
every argument of s2s's derivatives is."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad

Record = collections.namedtuple("Record", "kept scale")


def in_a_namedtuple(x):
    kept = []
    for _ in range(3):
        x = np.sin(x) * 1.1
        kept.append(x)
    return np.sum(x), Record(kept, 1.0)


def one_list_per_trip(x):
    lists = []
    for _ in range(3):
        kept = []
        x = np.sin(x) * 1.1
        kept.append(x)
        lists.append(kept)
    return np.sum(x), lists


def bound_in_a_branch(x):
    if np.sum(x) > 0:
        kept = []
        for _ in range(3):
            x = np.sin(x) * 1.1
            kept.append(x)
    else:
        kept = [x]
    return np.sum(x), kept


def held_twice(x):
    kept = []
    for _ in range(2):
        x = np.cos(x) + x
        kept.append(x)
    outer = [kept, 1.0]
    return np.sum(x), (outer, outer)


def _same(got, want):
    if isinstance(want, list | tuple):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("f", [in_a_namedtuple, one_list_per_trip, bound_in_a_branch, held_twice])
@pytest.mark.parametrize("x", [0.7, np.array([0.4, -0.2])])
def test_an_auxiliary_output_is_what_the_function_returned(f, x):
    want = f(x)[1]
    grad, aux = s2s.grad(f, has_aux=True)(x)
    _same(aux, want)
    (value, aux_again), grad_again = s2s.value_and_grad(f, has_aux=True)(x)
    _same(aux_again, want)
    np.testing.assert_allclose(grad, fd_grad(lambda x: f(x)[0], (x,)), rtol=1e-6, atol=1e-9)
    if f is held_twice:
        assert aux[0] is aux[1] and aux_again[0] is aux_again[1]  # one object held twice, as returned


def logged(x, log):
    for _ in range(3):
        x = np.sin(x) * 1.1
        log.append(x)
    return np.sum(x)


def logged_and_returned(x, log):
    for _ in range(3):
        x = np.sin(x) * 1.1
        log.append(x)
    return np.sum(x), log


def test_a_list_argument_is_left_as_it_was_and_an_auxiliary_output_holds_what_was_appended():
    # s2s's derivatives never change their arguments (docs/api.md); the function's output is what it returned
    log = [-1.0]
    g = s2s.grad(logged)(0.7, log)
    assert log == [-1.0]
    np.testing.assert_allclose(g, fd_grad(lambda x: logged(x, []), (0.7,)), rtol=1e-6)
    want = [-1.0]
    logged(0.7, want)
    _, aux = s2s.grad(logged_and_returned, has_aux=True)(0.7, log)
    assert log == [-1.0] and len(aux) == 4
    _same(aux, want)


def test_higher_derivatives_of_a_function_appending_to_its_argument():
    log = []
    second = s2s.grad(s2s.grad(logged))(0.7, log)
    eps = 1e-5
    want = (s2s.grad(logged)(0.7 + eps, []) - s2s.grad(logged)(0.7 - eps, [])) / (2 * eps)
    np.testing.assert_allclose(second, want, rtol=1e-6)


def history_holding_itself(x):
    hist = []
    for _ in range(3):
        x = np.sin(x) * 1.1
        hist.append(x)
    hist.append(hist)
    return np.sum(x), hist


def test_an_auxiliary_list_holding_itself():
    want = history_holding_itself(0.7)[1]
    aux = s2s.grad(history_holding_itself, has_aux=True)(0.7)[1]
    assert len(aux) == 4 and aux[3] is aux
    np.testing.assert_array_equal(aux[:3], want[:3])


def appended_through_a_dict(x):
    d = {"vals": []}
    for _ in range(3):
        x = np.sin(x)
        d["vals"].append(x)
    return np.sum(x), d


def appended_to_a_part_of_your_own(x):  # the hint's rewrite of appended_through_a_dict
    d = {"vals": []}
    part = d["vals"].copy()
    for _ in range(3):
        x = np.sin(x)
        part.append(x)
    d["vals"] = part
    return np.sum(x), d


def test_an_update_through_a_dict_item_is_refused_in_your_words_and_the_hint_works():
    # the refusal named `t2`, a name s2s made for `d['vals']`, and hinted `t2 = d['vals'].copy()` (helper 114)
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.grad(appended_through_a_dict, has_aux=True)(0.7)
    message = str(info.value)
    assert "update of `d['vals']`" in message and "`part = d['vals'].copy()`" in message and "t2" not in message
    g, aux = s2s.grad(appended_to_a_part_of_your_own, has_aux=True)(0.7)
    want = appended_to_a_part_of_your_own(0.7)[1]
    assert list(aux) == ["vals"]
    _same(aux["vals"], want["vals"])
    np.testing.assert_allclose(g, fd_grad(lambda x: appended_to_a_part_of_your_own(x)[0], (0.7,)), rtol=1e-6)
