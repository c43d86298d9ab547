"""Refusals of updates seen through another name whose hints name what the user wrote and work when pasted
(helper 149): `T = B.T` (the hint said `s2s.transpose_attr(B)`), an item of a dict used as a record (it said
`d_a`, a name s2s made), a swap of rows through views (it said `B = B.copy()`, which changes nothing), an item
of a list holding one array twice (it said `L = L.copy()`, whose items are the same arrays); `del L[k]` (it said
to drop the del, which changes the list); `x.tolist()` (it said to call `np.tolist`, which NumPy has not); an
attribute of an object the function makes (it said `o = o.copy()`, a method the object has not; helper 156)."""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s
from s2s.errors import UnsupportedSyntaxError

A = np.array([[0.3, -0.7], [1.1, 0.4]])
X = np.array([0.3, -0.7, 1.1, 0.4])


def transpose_view(A):
    B = A * 1.0
    T = B.T
    T[0, 1] = 5.0 * T[0, 1]
    return np.sum(B * np.arange(4.0).reshape(2, 2))


def transpose_as_hinted(A):
    B = A * 1.0
    T = B.T.copy()
    T[0, 1] = 5.0 * T[0, 1]
    return np.sum(B * np.arange(4.0).reshape(2, 2)) + np.sum(T * A)


def record_item_alias(x):
    z = x * 1.0
    d = {"a": z}
    d["a"][0] = 7.0 * x[1]
    return np.sum(z * x)


def record_item_as_hinted(x):
    z = x * 1.0
    d = {"a": z}
    d['a'] = d['a'].copy()
    d["a"][0] = 7.0 * x[1]
    return np.sum(z * x) + np.sum(d["a"] ** 2)


def swap_rows(A):
    B = A * 1.0
    B[0], B[1] = B[1], B[0]
    return np.sum(B * np.arange(4.0).reshape(2, 2))


def swap_rows_as_hinted(A):
    B = A * 1.0
    B[0], B[1] = B[1], B[0].copy()
    return np.sum(B * np.arange(4.0).reshape(2, 2))


def swap_rows_by_index(A):
    B = A * 1.0
    B[[0, 1]] = B[[1, 0]]
    return np.sum(B * np.arange(4.0).reshape(2, 2))


def list_item_alias(x):
    z = x * 1.0
    L = [z, z]
    L[0] += 1.0
    return np.sum(z) + np.sum(L[0] * L[1])


def list_item_as_hinted(x):
    z = x * 1.0
    L = [z, z]
    L[0] = L[0] + 1.0
    return np.sum(z) + np.sum(L[0] * L[1])


def delete_item(x):
    L = [x, 2.0 * x, x * x]
    del L[-2]
    return np.sum(L[0] * L[1])


def delete_item_as_hinted(x):
    L = [x, 2.0 * x, x * x]
    L = L[:-2] + L[-2:][1:]
    return np.sum(L[0] * L[1])


def delete_items(x):
    L = [x, 2.0 * x, x * x, 3.0 * x]
    del L[1:3]
    return np.sum(L[0] * L[1])


def delete_items_as_hinted(x):
    L = [x, 2.0 * x, x * x, 3.0 * x]
    L = L[:1] + L[3:]
    return np.sum(L[0] * L[1])


def delete_every_other(x):
    L = [x, 2.0 * x, x * x, 3.0 * x]
    del L[::2]
    return np.sum(L[0] * L[1])


def delete_every_other_as_hinted(x):
    L = [x, 2.0 * x, x * x, 3.0 * x]
    L = [v for k, v in enumerate(L) if k not in range(len(L))[::2]]
    return np.sum(L[0] * L[1])


def delete_two(x):
    L = [x, 2.0 * x, x * x]
    del L[0], L[0]
    return np.sum(L[0] * x)


def delete_two_as_hinted(x):
    L = [x, 2.0 * x, x * x]
    L = L[:0] + L[0:][1:]
    L = L[:0] + L[0:][1:]
    return np.sum(L[0] * x)


def attribute_item(x, o):
    o.h = x * 1.0
    o.h[0] = 5.0
    return np.sum(o.h * x)


def attribute_item_as_hinted(x, o):
    o.h = x * 1.0
    new = o.h.copy()
    new[0] = 5.0
    o.h = new
    return np.sum(o.h * x)


def test_an_attributes_item_hint_names_the_object():
    """(helper 158: it said `self.h = new_h` of an object named o)"""
    with pytest.raises(UnsupportedSyntaxError) as info:
        s2s.grad(attribute_item)(X, State())
    assert "`new = o.h.copy()`" in info.value.hint and "self" not in info.value.hint
    np.testing.assert_allclose(s2s.grad(attribute_item_as_hinted)(X, State()),
                               fd_grad(lambda v: attribute_item_as_hinted(v, State()), (X,)), rtol=1e-6, atol=1e-7)


def delete_key(x):
    d = {"a": x, "b": x * x}
    del d["a"]
    return np.sum(sum(d.values()))


def delete_key_as_hinted(x):
    d = {"a": x, "b": x * x}
    d = {key: v for key, v in d.items() if key != 'a'}
    return np.sum(sum(d.values()))


def over_a_list(x):
    s = 0.0
    for v in x.tolist():
        s += v ** 2
    return s


def over_a_list_as_hinted(x):
    s = 0.0
    for v in x:
        s += v ** 2
    return s


class State:
    pass


def state_object(x):
    o = State()
    o.h = 0.0
    s = 0.0
    for k in range(x.shape[0]):
        o.h = o.h * 0.5 + x[k]
        s += o.h ** 2
    return s


def state_as_hinted(x):
    o = {'h': 0.0}
    s = 0.0
    for k in range(x.shape[0]):
        o['h'] = o['h'] * 0.5 + x[k]
        s += o['h'] ** 2
    return s


def read_only_broadcast(x):
    b = np.broadcast_to(x * 2.0, (2, 4))
    b += 1.0  # (Python: ValueError, output array is read-only; s2s once gave the gradient of `b = b + 1.0`)
    return np.sum(b * b)


def read_only_broadcast_as_hinted(x):
    b = np.broadcast_to(x * 2.0, (2, 4)).copy()
    b += 1.0
    return np.sum(b * b)


def read_only_broadcast_item(x):
    b = np.broadcast_to(x, (3, 4))
    b[0, 1] = 3.0
    return np.sum(b * x)


def read_only_broadcast_item_as_hinted(x):
    b = np.broadcast_to(x, (3, 4)).copy()
    b[0, 1] = 3.0
    return np.sum(b * x)


def out_where(x):
    y = np.ones(4)
    np.multiply(x, x, out=y, where=x > 0)
    return np.sum(y * np.arange(4.0))


def out_where_as_hinted(x):
    y = np.ones(4)
    y = np.where(x > 0, np.multiply(x, x), y)
    return np.sum(y * np.arange(4.0))


def out_by_position(x):
    y = np.zeros(4)
    np.add(x, 1.0, y)
    return np.sum(y ** 2)


def out_by_position_as_hinted(x):
    y = np.zeros(4)
    y = np.add(x, 1.0)
    return np.sum(y ** 2)


def sorted_in_place(x):
    z = x * 1.0
    z.sort()
    return np.sum(z * np.arange(4.0))


def sorted_as_hinted(x):
    z = x * 1.0
    z = np.sort(z)
    return np.sum(z * np.arange(4.0))


@pytest.mark.parametrize("refused, hinted, arg, hint", [
    (over_a_list, over_a_list_as_hinted, X, "`for v in x`"),
    (state_object, state_as_hinted, X, "`o = {'h': ...}`"),
    (delete_item, delete_item_as_hinted, X, "`L = L[:-2] + L[-2:][1:]`"),
    (delete_items, delete_items_as_hinted, X, "`L = L[:1] + L[3:]`"),
    (delete_key, delete_key_as_hinted, X, "build the dict without the key: `d = {key: v for key, v in d.items() if key != 'a'}`"),
    (delete_every_other, delete_every_other_as_hinted, X, "`L = [v for k, v in enumerate(L) if k not in range(len(L))[::2]]`"),
    (delete_two, delete_two_as_hinted, X, "one `del` per statement"),
    (transpose_view, transpose_as_hinted, A, "`T = B.T.copy()`"),
    (record_item_alias, record_item_as_hinted, X, "`d['a'] = d['a'].copy()`"),
    (swap_rows, swap_rows_as_hinted, A, "`B[0].copy()`"),
    (swap_rows, swap_rows_by_index, A, "`B[[0, 1]] = B[[1, 0]]`"),
    (list_item_alias, list_item_as_hinted, X, "`L[0] = L[0] + 1.0`"),
    (read_only_broadcast, read_only_broadcast_as_hinted, X, "`np.broadcast_to(x * 2.0, (2, 4)).copy()`"),
    (read_only_broadcast_item, read_only_broadcast_item_as_hinted, X, "`np.broadcast_to(x, (3, 4)).copy()`"),
    (out_where, out_where_as_hinted, X, "`y = np.where(x > 0, np.multiply(x, x), y)`"),  # (it said `x = np.multiply(x, 2.0)`)
    (out_by_position, out_by_position_as_hinted, X, "`y = np.add(x, 1.0)`"),
    (sorted_in_place, sorted_as_hinted, X, "`z = np.sort(z)` (of a list: `z = sorted(z)`)"),  # (prose inside the quotes)
], ids=lambda v: getattr(v, "__name__", None) or "")
def test_the_hint_works_when_pasted(refused, hinted, arg, hint):
    with pytest.raises(UnsupportedSyntaxError) as info:
        s2s.grad(refused)(arg)
    assert hint in info.value.hint and "transpose_attr" not in str(info.value) and "d_a" not in str(info.value)
    assert "L.copy()" not in info.value.hint
    np.testing.assert_allclose(s2s.grad(hinted)(arg), fd_grad(hinted, (arg,)), rtol=1e-6, atol=1e-7)


def update_through_a_view(x):
    z = x * 2.0
    v = z[1:3]
    v *= z[0]
    return np.sum(z ** 2)


def update_by_index(x):
    z = x * 2.0
    z[1:3] *= z[0]
    return np.sum(z ** 2)


def test_a_hint_that_would_leave_the_base_as_it_is_says_so():
    """(helper 154: the hint `v = v * z[0]` alone gave another function, z no longer changed, differentiated
    without a word)"""
    with pytest.raises(UnsupportedSyntaxError) as info:
        s2s.grad(update_through_a_view)(X)
    assert "to change `z` as Python does, update it by index" in info.value.hint
    assert "to leave it as it is, write `v = v * z[0]`" in info.value.hint
    assert update_by_index(X.copy()) == update_through_a_view(X.copy())
    np.testing.assert_allclose(s2s.grad(update_by_index)(X), fd_grad(update_by_index, (X,)), rtol=1e-6, atol=1e-7)
