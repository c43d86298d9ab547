"""Slice assignment into a Python list (`L[i:j] = v`): the reverse sweep reads the list after the write, so
its adjoint splits into the old list's and v's only where the write replaced as many items as it put in
(s2s.slice_kept checks that at run time, where the name may hold a list; s2s.setitem_grads then zeroes the
replaced items). A write that grows or shrinks the list is refused at the user's line with a hint that works
(`L = L[:i] + list(v) + L[j:]`); forward mode (jvp) takes every form. Arrays (`Y[1:3] = v`) as before.
"""

import numpy as np
import pytest
from helpers_fd import assert_close, fd_grad

import s2s

X = np.array([0.3, 0.9, 0.6, 1.7])


def replace(x):
    L = [x[0], x[1], x[2], x[3]]
    L[0:2] = [x[2], x[0]]
    return L[0] + L[1] * 10 + L[2] * 100 + L[3] * 1000


def negative_bounds_tuple(x):
    L = [x[0], x[1], x[2], x[3]]
    L[-3:-1] = (x[3] * 2, x[0] ** 2)
    return L[0] + L[1] * 10 + L[2] * 100 + L[3] * 1000


def bounds_from_variables(x):
    L = [x[0], x[1], x[2], x[3]]
    i = 1
    j = i + 2
    L[i:j] = [x[3] * x[0], L[0] * 3]
    return L[0] + L[1] * 10 + L[2] * 100 + L[3] * 1000


def in_a_loop(x):
    L = [x[0], x[1], x[2], x[3]]
    for k in range(3):
        L[k:k + 2] = [L[k + 1] * 2, L[k] * x[k]]
    return L[0] + L[1] * 10 + L[2] * 100 + L[3] * 1000


def step_slices_in_while(x):
    L = [x[0], x[1], x[2], x[3]]
    k = 0
    while k < 2:
        L[k:k + 3:2] = [L[k + 1] * 2, L[k] * x[k]]
        k += 1
    L[::-2] = [L[0] * 3, x[1] * L[3]]
    return L[0] + L[1] * 10 + L[2] * 100 + L[3] * 1000


def extended_slice(x):
    L = [x[0], x[1], x[2]]
    L[::2] = [x[2], x[0]]
    return L[0] + L[1] * 10 + L[2] * 100


def array_on_the_right(x):
    L = [x[0], x[1], x[2], x[3]]
    L[0:2] = np.array([x[2], x[2] * 2])
    L[2:] = x[:2] * x[3]
    return L[0] + L[1] * 10 + L[2] * 100 + L[3] * 1000


def slice_object(x):
    L = [x[0], x[1], x[2], x[3]]
    s = slice(1, 3)
    L[s] = [x[0] * 4, x[3]]
    return L[0] + L[1] * 10 + L[2] * 100 + L[3] * 1000


def whole_then_constants(x):
    L = [x[0], x[1], x[2], x[3]]
    L[:] = [L[3], L[2], L[1], L[0]]
    L[1:3] = [1.0, 2.0]
    return L[0] + L[1] * 10 + L[2] * 100 + L[3] * 1000


def empty_writes(x):
    L = [x[0], x[1], x[2], x[3]]
    L[5:] = []
    L[2:1] = []
    return L[0] + L[1] * 10 + L[2] * 100 + L[3] * 1000


def from_list_of_array(x):
    L = list(x)
    L[1:3] = [x[3], x[0] * x[1]]
    return sum(L) + L[2] * 3


def source_list_changed_after(x):
    t = [x[0], x[1]]
    L = [x[2]] * 3
    L[1:3] = t
    t[0] = x[2] * 9
    return L[1] * 10 + L[2] * 100 + t[0]


def arrays(x):
    Y = np.zeros(4)
    Y[1:3] = x[:2] * 2
    Y[::2] = x[2:]
    return np.sum(Y * np.arange(4.0))


SUPPORTED = [replace, negative_bounds_tuple, bounds_from_variables, in_a_loop, step_slices_in_while,
             extended_slice, array_on_the_right, slice_object, whole_then_constants, empty_writes,
             from_list_of_array, source_list_changed_after, arrays]


@pytest.mark.parametrize("f", SUPPORTED, ids=lambda f: f.__name__)
def test_gradient_matches_finite_differences(f):
    x = X[:3] if f is extended_slice else X
    assert_close(s2s.grad(f)(x.copy()), fd_grad(f, [x.copy()]))


@pytest.mark.parametrize("f", SUPPORTED, ids=lambda f: f.__name__)
def test_value_and_grad(f):
    value, g = s2s.value_and_grad(f)(X.copy() if f is not extended_slice else X[:3].copy())
    x = X[:3] if f is extended_slice else X
    assert value == pytest.approx(f(x.copy()))
    assert_close(g, fd_grad(f, [x.copy()]))


def test_arrays_keep_their_code():
    """An array proven an array is not checked (no s2s.slice_kept): its slice writes stay as they were."""
    assert "slice_kept" not in s2s.source(s2s.grad(arrays), X)
    assert "slice_kept" in s2s.source(s2s.grad(replace), X)


def write_into(L, c):
    L[0:2] = [c * 2, c * 3]
    return L[0] + L[1] * 10 + L[2] * 100


@pytest.mark.parametrize("make", [list, np.array], ids=["list", "array"])
def test_parameter_list_or_array(make):
    """The same function given a list or an array: right for both."""
    L = make([1.0, 2.0, 3.0])
    assert s2s.grad(write_into, wrt=1)(L, 0.7) == pytest.approx(fd_grad(write_into, [make([1.0, 2.0, 3.0]), 0.7], wrt=1))
    gL = s2s.grad(write_into, wrt=0)(make([1.0, 2.0, 3.0]), 0.7)
    assert_close(gL, [0.0, 0.0, 100.0])


def test_jvp_takes_every_form():
    for f in SUPPORTED + [grows, shrinks, inserts, past_the_end, deletes]:
        x = X[:3] if f is extended_slice else X
        jac = fd_grad(f, [x.copy()])
        for i in range(len(x)):
            _, t = s2s.jvp(f, (x.copy(),), (np.eye(len(x))[i],))
            assert t == pytest.approx(jac[i], rel=1e-5, abs=1e-6), f.__name__


def test_hessian():
    x = X.copy()
    H = s2s.hessian(in_a_loop)(x)
    cols = [fd_grad(lambda y, i=i: s2s.grad(in_a_loop)(y)[i], [x.copy()]) for i in range(4)]
    assert_close(H, np.array(cols), rtol=1e-4, atol=1e-5)


# refused: a slice write that changes the list's length (the backward sweep cannot tell the old length)

def grows(x):
    L = [x[0], x[1], x[2]]
    L[0:1] = [x[1] * 2, x[2] * 3, x[0] * 5]
    return L[0] + L[1] * 10 + L[2] * 100 + L[3] * 1000 + L[4] * 7


def shrinks(x):
    L = [x[0], x[1], x[2]]
    L[1:3] = [x[0] * 4]
    return L[0] + L[1] * 10


def inserts(x):
    L = [x[0], x[1], x[2]]
    L[1:1] = [x[2] * 2]
    return L[0] + L[1] * 10 + L[2] * 100 + L[3] * 1000


def past_the_end(x):
    L = [x[0], x[1], x[2]]
    L[5:] = [x[1]]
    return L[3] * 3 + L[0]


def deletes(x):
    L = [x[0], x[1], x[2]]
    L[-1:] = []
    return L[0] + L[-1] * 10


def grows_in_a_loop(x):
    L = [x[0]]
    for k in range(3):
        L[len(L):] = [L[-1] * x[k]]
    return L[-1]


@pytest.mark.parametrize("f", [grows, shrinks, inserts, past_the_end, deletes, grows_in_a_loop],
                         ids=lambda f: f.__name__)
def test_length_change_refused_at_the_line(f):
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.grad(f)(X.copy())
    message = str(info.value)
    assert "slice assignment into a list" in message and "changing the list's length" in message
    assert "L = L[:i] + list(v) + L[j:]" in message
    # the user's line (raised when the gradient runs: told as the transform's refusals are, since stop 60)
    assert info.value.filename == __file__ and "L[" in info.value.line and "] = " in info.value.line, message


def grows_rewritten(x):
    L = [x[0], x[1], x[2]]
    L = L[:0] + list([x[1] * 2, x[2] * 3, x[0] * 5]) + L[1:]
    return L[0] + L[1] * 10 + L[2] * 100 + L[3] * 1000 + L[4] * 7


def test_the_hint_works():
    assert grows_rewritten(X) == pytest.approx(grows(X))
    assert_close(s2s.grad(grows_rewritten)(X.copy()), fd_grad(grows, [X.copy()]))


def test_an_extended_slice_of_another_length_raises_pythons_error():
    def f(x):
        L = [x[0], x[1], x[2], x[3]]
        L[::-2] = [x[0]]
        return L[0] + L[1]

    with pytest.raises(ValueError, match="extended slice"):
        f(np.ones(4))
    with pytest.raises(ValueError, match="extended slice"):
        s2s.grad(f)(np.ones(4))
