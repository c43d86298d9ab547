"""Adversarial probes of the flow-aware aliasing rule (transforms/aliasing.py `_updated_later`): an alias,
container or append of a list, dict or array is accepted only where no update through that name may run
after it (rest of the block, the next trip of a loop, after the loop) before the name is bound to a new
display. Each program here is either refused with UnsupportedSyntaxError or differentiated exactly as
Python runs it (value, and gradient against central differences); a few must be accepted.
"""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s
from s2s.errors import UnsupportedSyntaxError

X = np.array([0.3, -0.7, 1.1])


def break_skips_the_new_list(x):
    L = [x[0]]
    for _ in range(2):
        b = L
        if x[0] > 0:
            break
        L = []
    L.append(x[1])
    return sum(b)


def continue_skips_the_new_list(x):
    L = [x[0]]
    b = L
    for i in range(3):
        L.append(x[i])
        b = L
        if x[0] > 0:
            continue
        L = []
    return sum(b) + 0.0 * sum(L)


def new_list_in_one_branch_only(x):
    L = [x[0]]
    b = L
    if x[0] > 0:
        L = []
    L.append(x[1])
    return sum(b)


def new_list_on_one_trip_only(x):
    L = [x[0]]
    out = 0.0
    for i in range(3):
        b = L
        if i == 1:
            L = [x[2]]
        L.append(x[i])
        out = out + sum(b)
    return out


def rebound_by_a_loop_target(x):
    L = [x[0]]
    L.append(x[1])
    b = L
    for L in ([x[2]], [x[1]]):
        L.append(x[0])
    return sum(b) + sum(L)


def alias_in_an_inner_loop(x):
    out = 0.0
    L = [x[0]]
    for _ in range(2):
        b = L
        for j in range(2):
            out = out + sum(b)
            L.append(x[j + 1])
    return out + sum(b)


def array_alias_then_update_next_trip(x):
    y = np.zeros(3)
    acc = 0.0
    for i in range(3):
        b = y
        y[i] = x[i] * 2.0
        acc = acc + np.sum(b * x)
    return acc


def alias_of_a_dict_then_view(x):
    d = {"a": x[0]}
    d["c"] = x[2]
    e = d
    v = d.values()
    e["b"] = x[1]
    return sum(v)


def helper_updates_and_returns_its_argument(x):
    L = [x[0]]
    L.append(x[2])
    b = L
    L = _push(L, x[1])
    return sum(b)


def _push(L, v):
    L.append(v)
    return L


def local_def_updates_after_the_alias(x):
    L = [x[0]]

    def push(v):
        L.append(v)
    L.append(x[2])
    b = L
    push(x[1])
    return sum(b)


# accepted: every update comes before the alias, or the name is bound to a new list first
def aliases_after_the_last_update(x):
    L = []
    for i in range(3):
        L.append(x[i] * x[i])
    b = L
    t = (L, 1)
    M = [L]
    return sum(b) + sum(t[0]) + sum(M[0])


def new_list_after_the_alias_each_trip(x):
    L = [x[0]]
    out = 0.0
    for i in range(3):
        L.append(x[i])
        b = L
        out = out + sum(b)
        L = [x[i] * 2.0]
    return out + sum(L)


def new_list_after_the_alias_while(x):
    L = [x[0]]
    out = 0.0
    i = 0
    while i < 3:
        L.append(x[i])
        b = L
        out = out + sum(b) * b[0]
        L = [x[i] * 2.0]
        i = i + 1
    return out + sum(L)


def array_alias_after_the_last_update(x):
    y = np.zeros(3)
    for i in range(3):
        y[i] = x[i] * 2.0
    b = y
    c = [y]
    return np.sum(b * c[0] * x)


def comprehension_rebound_each_trip(x):
    ps = [x, 2.0 * x]
    for _ in range(3):
        ps = [p * 0.5 + x for p in ps]
    return np.sum(ps[0] * ps[1])


def comprehension_read_then_rebound(x):
    s = 0.0
    ps = [x, x * x]
    for _ in range(3):
        for p in ps:
            s = s + np.sum(p ** 3)
        ps = [np.sin(p) + x for p in ps]
    return s


def comprehension_handed_on_then_appended(x):
    ps = [x]
    for _ in range(2):
        qs = [p * 0.5 for p in ps]
        ps = qs
        qs.append(x * 2.0)  # (ps is qs: Python appends to both)
    return sum(np.sum(p ** 2) for p in ps)


def comprehension_then_appended(x):
    ps = [x]
    for _ in range(3):
        ps = [p * 0.5 for p in ps]
        ps.append(x * x)
    return sum(np.sum(p ** 2) for p in ps)


def comprehension_then_item_set(x):
    ps = [x, 2.0 * x]
    for _ in range(2):
        ps = [np.sin(p) for p in ps]
        ps[0] = ps[0] * 3.0
    return np.sum(ps[0] * ps[1])


RIGHT_OR_REFUSED = [break_skips_the_new_list, continue_skips_the_new_list, new_list_in_one_branch_only,
                    new_list_on_one_trip_only, rebound_by_a_loop_target, alias_in_an_inner_loop,
                    array_alias_then_update_next_trip, alias_of_a_dict_then_view,
                    helper_updates_and_returns_its_argument, local_def_updates_after_the_alias,
                    comprehension_handed_on_then_appended]
# (a comprehension's list is a new list at each run: handed on to `ps`, it is never updated again)
ACCEPTED = [aliases_after_the_last_update, new_list_after_the_alias_each_trip, new_list_after_the_alias_while,
            array_alias_after_the_last_update, comprehension_rebound_each_trip, comprehension_read_then_rebound,
            comprehension_then_appended, comprehension_then_item_set]  # (the list, handed on, updated through ps)


def _matches_python(f, x):
    value, grad = s2s.value_and_grad(f)(x)
    np.testing.assert_allclose(value, f(x), rtol=1e-12)
    np.testing.assert_allclose(grad, fd_grad(f, [x]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s2s.grad(f)(x), fd_grad(f, [x]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("f", RIGHT_OR_REFUSED, ids=lambda f: f.__name__)
@pytest.mark.parametrize("x", [X, -X])
def test_right_or_refused(f, x):
    try:
        _matches_python(f, x)
    except UnsupportedSyntaxError:
        pass


@pytest.mark.parametrize("f", ACCEPTED, ids=lambda f: f.__name__)
@pytest.mark.parametrize("x", [X, -X])
def test_accepted_and_right(f, x):
    _matches_python(f, x)


def _first_of_a_display(x, y):
    w = x * y
    z = [w][0]
    z[0] = 3.0
    return np.sum(w ** 2)


def test_a_view_of_a_value_s2s_named_is_described_not_named():
    # (helper 124: the message named `t`, a temporary of the lowered code the user never wrote)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="may be a view of an array or list this line reads") as info:
        s2s.grad(_first_of_a_display)(np.ones(3), np.ones(3))
    assert "`t`" not in str(info.value)


def _reversed_running_sums_updated(x):
    c = np.cumsum(x[::-1])[::-1]
    c[0] = 3.0 * c[2]
    return np.sum(c ** 3)


def _reversed_running_sums_copied(x):
    c = np.cumsum(x[::-1])[::-1].copy()
    c[0] = 3.0 * c[2]
    return np.sum(c ** 3)


def test_a_view_of_a_temporary_named_like_a_numpy_function_is_differentiated():
    """(helper 141: the temporary `cumsum` of `np.cumsum(...)` counted as the user's name, an attribute in
    co_names; the hint said `c = cumsum[::-1].copy()`. Since stop 58 the update is taken: the temporary is a new
    array that only the view `c` reaches, so updating c changes nothing anyone else reads; tests/test_views_of_new_
    arrays.py refuses the view of an array that is read again.)"""
    x = np.arange(1.0, 6.0)
    for f in (_reversed_running_sums_updated, _reversed_running_sums_copied):
        np.testing.assert_allclose(s2s.grad(f)(x), fd_grad(f, (x,)), rtol=1e-6)
        np.testing.assert_allclose(s2s.grad(f)(x), s2s.derivative(f)(x), rtol=1e-12)


# ---- the new arrays of np.meshgrid, unpacked ------------------------------------------------------
def meshgrid_updated(x, y):
    A, B = np.meshgrid(x, y)
    A[0] = 0.0
    return np.sum(A * B ** 2)


def meshgrid_ij_added_into(x, y):
    A, B = np.meshgrid(x, y, copy=True, indexing="ij")
    B[:, 0] += A[:, 1]
    return np.sum(A * B ** 2)


def meshgrid_sparse_updated(x, y):
    A, B = np.meshgrid(x, y, sparse=True)
    A[0, 0] = 1.0
    return np.sum(A * B ** 2)


def meshgrid_views_updated(x, y):
    A, B = np.meshgrid(x, y, copy=False)  # views of x and y
    A[0] = 0.0
    return np.sum(A * B ** 2)


def meshgrid_one_item_twice(x, y):
    grids = np.meshgrid(x, y)
    A = grids[0]
    A2 = grids[0]  # the same array under two names
    A[0] = 0.0
    return np.sum(A2 * grids[1])


@pytest.mark.parametrize("f", [meshgrid_updated, meshgrid_ij_added_into, meshgrid_sparse_updated],
                         ids=lambda f: f.__name__)
def test_unpacked_meshgrid_arrays_are_new_and_may_be_updated(f):
    x, y = np.linspace(0.0, 1.0, 3), np.linspace(1.0, 2.0, 4)
    g = s2s.grad(f, argnums=(0, 1))(x, y)
    for k in range(2):
        np.testing.assert_allclose(g[k], fd_grad(f, (x, y), k), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("f", [meshgrid_views_updated, meshgrid_one_item_twice], ids=lambda f: f.__name__)
def test_meshgrid_views_and_shared_items_are_refused(f):
    x, y = np.linspace(0.0, 1.0, 3), np.linspace(1.0, 2.0, 4)
    with pytest.raises(UnsupportedSyntaxError, match="update"):
        s2s.grad(f, argnums=(0, 1))(x, y)


def meshgrid_copy_in_keywords(x, y):
    opts = {"copy": False}
    A, B = np.meshgrid(x, y, **opts)  # views of x and y: A[0] = 0.0 writes into x
    A[0] = 0.0
    return np.sum(A * B ** 2) + np.sum(x)


def ellipsis_view_updated(x):
    y = x[..., 0]  # a 0-d array viewing x, not a number
    y *= 3.0
    return np.sum(x * x) + y


def object_array_item_updated(x, o):
    y = o[0]  # the array o holds
    y += x[0]
    return np.sum(y * x) + np.sum(o[0] * x)


def test_copy_false_through_keywords_is_refused():
    with pytest.raises(UnsupportedSyntaxError, match="update"):
        s2s.grad(meshgrid_copy_in_keywords, argnums=(0, 1))(np.linspace(0.5, 1.5, 3), np.linspace(1.0, 2.0, 4))


def test_a_zero_d_view_is_no_number():
    with pytest.raises(UnsupportedSyntaxError, match="update"):
        s2s.grad(ellipsis_view_updated)(np.array([1.0, 2.0]))


def test_an_item_of_an_object_array_is_an_object_it_holds():
    o = np.array([np.array([1.0, 2.0]), None], dtype=object)
    with pytest.raises(UnsupportedSyntaxError, match="refers to the same"):
        s2s.grad(object_array_item_updated)(np.array([1.0, 2.0]), o)
