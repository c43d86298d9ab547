"""A copy of a list or dict (`L.copy()`, `d.copy()`, lowered to `s2s.copy`) holds lists or dicts too
(transforms/analysis.py): the adjoints of its items are lists or dicts and are added with s2s.add.
With `+` two lists of item adjoints were concatenated: the gradient of `M = L.copy(); M[0] * M[1]`
was [0, 0.3] for [-0.7, 0.3], and a dict's copy crashed (dict + dict)."""

from __future__ import annotations

import autograd
import numpy as np
import pytest

import s2s
from tests.conftest import autograd_twin
from tests.helpers_fd import fd_grad


class Holder:
    pass


def list_copy(x):
    L = [x[0], x[1], x[2]]
    M = L.copy()
    return M[0] * M[1] + L[2]


def dict_copy(x):
    d = {"a": x[0], "b": x[1], "c": x[2]}
    e = d.copy()
    return e["a"] * e["b"] + d["c"]


def dict_copy_updated(x):
    d = {"a": x[0], "b": x[1], "c": x[2]}
    e = d.copy()
    e["a"] = e["b"] * 5.0
    return sum(d.values()) * sum(e.values())


def item_copy(x):
    rows = [[x[0], x[1]], [x[2]]]
    M = rows[0].copy()
    return M[0] * M[1] + rows[1][0]


def make_list(x):
    return [x[0], x[1], x[2]]


def copy_of_a_result(x):
    M = make_list(x).copy()
    return M[0] * M[1] * M[2]


def copy_of_a_dict_item(x):
    d = {"a": [x[0], x[1]], "b": x[2]}
    M = d["a"].copy()
    return np.sin(M[0]) * M[1] + d["b"]


def attribute_copy(x, holder):
    holder.L = [x[0], x[1], x[2]]
    M = holder.L.copy()
    return M[0] * M[1] + holder.L[2]


PROGRAMS = [list_copy, dict_copy, dict_copy_updated, item_copy, copy_of_a_result, copy_of_a_dict_item]


def _x():
    return np.array([0.3, -0.7, 1.2])


@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
def test_copies_of_containers_match_central_differences_and_autograd(f):
    got = s2s.grad(f)(_x())
    np.testing.assert_allclose(got, fd_grad(f, (_x(),)), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got, autograd.grad(autograd_twin(f))(_x()), rtol=1e-10, atol=1e-12)


def test_copy_of_an_attribute_list_matches_central_differences():
    got = s2s.grad(attribute_copy)(_x(), Holder())
    np.testing.assert_allclose(got, fd_grad(attribute_copy, (_x(), Holder())), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
def test_copies_of_containers_in_forward_mode_and_hessians(f):
    t = np.array([0.2, 0.5, -1.0])
    _, tangent = s2s.jvp(f, (_x(),), (t,))
    eps = 1e-6
    np.testing.assert_allclose(tangent, (f(_x() + eps * t) - f(_x() - eps * t)) / (2 * eps), rtol=1e-6, atol=1e-8)
    # (hessian evaluates f once per direction: e.values() of the copy only reads it, transforms/effects.py)
    np.testing.assert_allclose(s2s.hessian(f)(_x()), autograd.hessian(autograd_twin(f))(_x()), rtol=1e-9, atol=1e-12)


def items_in_a_checkpointed_loop(x):
    d = {"h": x, "g": 0.5 * x}
    for _ in s2s.checkpoint(range(5), every=2):
        d = {k: np.sin(v) * 0.9 + 0.1 * v for k, v in d.items()}
    return np.sum(d["h"] ** 2) + np.sum(sum(d.values()))


def test_a_dict_view_in_a_checkpointed_loop_is_differentiated():
    # the loop runs again for the derivative; d.items() only reads d (it was refused as a method that may
    # change its object)
    got = s2s.grad(items_in_a_checkpointed_loop)(_x())
    np.testing.assert_allclose(got, fd_grad(items_in_a_checkpointed_loop, (_x(),)), rtol=1e-6, atol=1e-8)


def draws_through_a_view(x, rngs):
    s = 0.0
    for r in rngs.values():
        s = s + np.sum(x * r.normal(size=3))
    return s


def calls_through_a_view_in_a_checkpointed_loop(x, acts):
    h = x
    for _ in s2s.checkpoint(range(4)):
        for act in acts.values():
            h = act(h)
    return np.sum(h)


class Drawer:
    def __init__(self):
        self.rng = np.random.default_rng(0)

    def __call__(self, h):
        return h + self.rng.normal(size=np.shape(h))


def test_what_a_view_holds_is_still_read_for_effects():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="jacfwd"):
        s2s.jacfwd(draws_through_a_view)(_x(), {"a": np.random.default_rng(0)})
    with pytest.raises(s2s.UnsupportedSyntaxError, match="checkpointed loop"):
        s2s.grad(calls_through_a_view_in_a_checkpointed_loop)(_x(), {"d": Drawer()})
