"""Adversarial programs for the specialised code's ints known from shapes (specialize.fold_known_ints,
Shapes.value_of) and the facts next to them. Each is checked against central differences and the
general code (s2s.derivative)."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import assert_close, fd_grad

X = np.array([0.5, -1.2, 2.0, 0.3, 0.7, 0.9])


def _check(f, *args):
    want = fd_grad(f, args)
    assert_close(s2s.grad(f)(*args), want, rtol=1e-4, atol=1e-5)
    assert_close(s2s.derivative(f)(*args), want, rtol=1e-4, atol=1e-5)


# ---- a `None` of your own is a value, not the tape's placeholder ---------------------------------------


def none_bound_in_loop(x):
    n = x.shape[0] - 2
    s = 0.0
    for _ in range(3):
        s = s + np.sum(x[:n] ** 2)  # x[:4] on the first trip, x[:None] (all of x) after
        n = None
    return s


def none_bound_in_branch(x):
    n = x.shape[0] - 2
    s = 0.0
    for i in range(3):
        s = s + np.sum(x[:n] ** 2) * i
        if i == 1:
            n = None
    return s


def none_index_in_loop(x):
    M = x.reshape(2, 3)
    k = 0
    s = 0.0
    for _ in range(2):
        s = s + np.sum(np.sin(M[k]))  # a row, then M[None] (all of M, a new axis)
        k = None
    return s


@pytest.mark.parametrize("f", [none_bound_in_loop, none_bound_in_branch, none_index_in_loop])
def test_none_of_your_own_is_read(f):
    _check(f, X)


# ---- a function given to a helper that names it itself ------------------------------------------------


def leaky(z):
    return np.maximum(z, 0.0) + 0.1 * z


def _layer_local_named_like(h, W, act):
    leaky = h @ W  # a local of the helper's named like the function its call gives
    return act(leaky)


def _layer_param_named_like(leaky, act):
    return act(leaky)


def given_named_like_helper_local(W, x):
    return np.sum(_layer_local_named_like(x, W, leaky) ** 2)


def given_named_like_helper_param(W, x):
    return np.sum(_layer_param_named_like(x @ W, leaky) ** 2)


@pytest.mark.parametrize("f", [given_named_like_helper_local, given_named_like_helper_param])
def test_function_given_named_like_the_helpers_own(f):
    W = np.array([[0.3, -0.5], [0.8, 0.1], [-0.2, 0.4]])
    x = np.array([[1.0, 2.0, -0.5], [0.3, -1.0, 0.7]])
    _check(f, W, x)


# ---- a pop of your own of a list the backward sweep takes apart ---------------------------------------


def pop_of_appended_list(x):
    hs = []
    for i in range(4):
        hs.append(x * (i + 1.0))  # (no derivative reads hs: the backward sweep still undoes each append)
    hs.pop()
    n = len(hs)
    return np.sum(x[:n] ** 3) * n


def pop_value_of_appended_list(x):
    hs = []
    for i in range(3):
        hs.append(x * (i + 1.0))
    last = hs.pop()
    return np.sum(x ** 2) + len(hs) + 0.0 * last.shape[0]


def test_a_popped_value_goes_back_into_the_list_in_the_backward_sweep():
    # (the backward sweep undoes each append with a pop: the item popped by the function is put back first, so
    # those pops stay in step; they were one item short before, an IndexError)
    want = fd_grad(pop_value_of_appended_list, (X,))
    assert_close(s2s.grad(pop_value_of_appended_list)(X), want, rtol=1e-4, atol=1e-5)
    assert s2s.jvp(pop_value_of_appended_list, (X,), (np.ones_like(X),))[1] == pytest.approx(np.sum(want))


def test_a_pop_whose_value_is_dropped_is_forward_mode_only():
    # (the backward sweep would need the dropped item to put it back)
    with pytest.raises(s2s.UnsupportedSyntaxError, match=r"list.pop\(\) in forward mode only"):
        s2s.grad(pop_of_appended_list)(X)
    want = fd_grad(pop_of_appended_list, (X,))
    assert s2s.jvp(pop_of_appended_list, (X,), (np.ones_like(X),))[1] == pytest.approx(np.sum(want))


# ---- `.size` and `.ndim` of arrays of known shape are known ints ------------------------------------------


def mean_by_size(x):
    M = x.reshape(2, 3)
    return np.sum(M ** 2) / M.size + x.ndim * np.sum(x)


def size_shrinking_in_loop(x):
    s = 0.0
    for _ in range(3):
        s = s + np.sum(x ** 2) / x.size  # 6, then 5, then 4 entries: one name, three sizes
        x = x[1:]
    return s


def size_in_branch(x):
    y = x[:2] if np.sum(x) > 0 else x
    s = 0.0
    for i in range(y.size):
        s = s + np.sin(y[i]) * (i + 1)
    return s + y.ndim


def rank_picks_a_path(x):
    M = x.reshape(3, 2) if x.ndim == 1 else x
    if M.ndim == 2:
        return np.sum(np.tanh(M) * M.size)
    return np.sum(M)


@pytest.mark.parametrize("f", [mean_by_size, size_shrinking_in_loop, size_in_branch, rank_picks_a_path])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_size_and_ndim_are_read_right(f, sign):
    _check(f, sign * X)


def test_size_of_a_known_shape_is_folded_into_the_code():
    source = "\n".join(line for line in s2s.source(s2s.grad(mean_by_size), X).splitlines()
                       if not line.strip().startswith("#"))
    assert "M.size" not in source and "x.ndim" not in source and "unbroadcast" not in source
