"""In-place methods of lists and dicts the function builds (transforms/container_methods.py): `L.extend(items)`
is `L += list(items)`, the same list, longer, seen so by every name that holds it; `d.update(a=u, b=v)` is
`d["a"], d["b"] = u, v`. `L += v` of a list where v is not a list, which Python allows, is refused at run time
with a hint (s2s computes `L + v`); extending a list, or updating a dict, the caller gave is refused (the
caller's would change), with a hint that works. Gradients against central differences."""

import numpy as np
import pytest
from helpers_fd import fd_grad, gradient_and_value_match

import s2s
from s2s.errors import UnsupportedSyntaxError

X = np.array([0.3, -0.7, 1.1, 0.4])


def extend_by_comprehension(x):
    L = [x[0]]
    L.extend([v * 2.0 for v in x[1:3]])
    return sum(L) * L[-1]


def extend_by_rows_in_a_loop(x):
    L = []
    for i in range(3):
        L.extend(x[i:i + 2] ** 2)
    return sum(L) * L[-1]


def extend_by_itself_then_a_tuple(x):
    L = [x[0]]
    L.extend(L)
    L.extend((x[1], x[2] * x[3]))
    return L[0] * L[1] + L[-1] * L[-2]


def extend_after_plus_equals(x):
    L = [x[0]]
    L += [x[1]]
    L.extend([x[2] ** 3])
    return L[0] * L[2] + L[1]


def extend_in_a_branch(x):
    L = [x[0], x[1]]
    if x[0] > 0:
        L.extend([np.sin(x[2])])
    else:
        L.extend([np.cos(x[3]), x[2]])
    return sum(v * v for v in L) + len(L)


@pytest.mark.parametrize("f", [extend_by_comprehension, extend_by_rows_in_a_loop, extend_by_itself_then_a_tuple,
                               extend_after_plus_equals, extend_in_a_branch], ids=lambda f: f.__name__)
def test_extend(f):
    for x in (X, -X):
        gradient_and_value_match(f, x)


def extend_seen_through_another_name(x):
    L = [x[0]]
    M = L
    L.extend([x[1]])
    return sum(M)


def extend_the_callers_list(x, L):
    L.extend([x[1]])
    return sum(L)


def plus_equals_a_tuple(x, L):
    L = L[:1]  # (a slice of the caller's list: a list, but not one of the function's displays)
    L += (x[1], x[2])
    return sum(L) * L[-1]


def test_extend_seen_through_another_name_is_refused():
    with pytest.raises(UnsupportedSyntaxError, match="`M` refers to the same"):
        s2s.grad(extend_seen_through_another_name)(X)


def test_extend_of_the_callers_list_is_refused():
    with pytest.raises(UnsupportedSyntaxError, match="extend"):
        s2s.grad(extend_the_callers_list)(X, [1.0])


def test_plus_equals_a_tuple_is_refused_with_a_hint_that_works():
    with pytest.raises(UnsupportedSyntaxError, match=r"L \+= list\(v\)"):
        s2s.grad(plus_equals_a_tuple)(X, [1.0, 2.0])

    def as_hinted(x):
        L = [x[0]]
        L += list((x[1], x[2]))
        return sum(L) * L[-1]
    np.testing.assert_allclose(s2s.grad(as_hinted)(X), fd_grad(as_hinted, (X,)), rtol=1e-6, atol=1e-6)


def update_a_record_in_a_loop(x):
    state = {"h": x[0], "c": x[1]}
    for _ in range(3):
        state.update(h=np.tanh(state["h"] + state["c"]), c=state["h"] * x[2])
    return state["h"] * state["c"]


def update_reads_the_old_values(x):
    d = {"a": x[0]}
    d.update({"b": x[1] ** 2, "a": d["a"] * 3.0})
    return d["a"] * d["b"] + x[3]


def update_a_copy_of_the_callers_dict(x, d):
    d = {k: d[k] for k in d}
    for k in ("a",):
        d[k] = x[0] * 2.0
    return d["a"] * d["b"] * x[1]


def plus_equals_other_iterables(x):
    L = [x[0]]
    L += (x[1], x[2] * 2.0)
    L += list(range(2))
    return sum(v * v for v in L) * L[-2]


def plus_equals_an_array(x):
    L = [x[0], x[1]]
    L += x[2:4] ** 2  # (in Python an array sum, [x0 + x2**2, x1 + x3**2]: ndarray.__radd__ comes first)
    return np.sum(L * x[:2])


@pytest.mark.parametrize("f", [update_a_record_in_a_loop, update_reads_the_old_values, plus_equals_other_iterables,
                               plus_equals_an_array],
                         ids=lambda f: f.__name__)
def test_update(f):
    for x in (X, -X):
        np.testing.assert_allclose(s2s.grad(f)(x), fd_grad(f, (x,)), rtol=1e-6, atol=1e-6)


def test_update_of_the_callers_dict_is_refused_with_a_hint_that_works():
    def updates_the_callers_dict(x, d):
        d.update(a=x[0] * 2.0)
        return d["a"] * d["b"] * x[1]
    d = {"a": 1.0, "b": 3.0}
    with pytest.raises(UnsupportedSyntaxError, match=r"d = \{k: d\[k\] for k in d\}"):
        s2s.grad(updates_the_callers_dict)(X, d)
    np.testing.assert_allclose(s2s.grad(update_a_copy_of_the_callers_dict)(X, d),
                               fd_grad(update_a_copy_of_the_callers_dict, (X, d)), rtol=1e-6, atol=1e-6)
    assert d == {"a": 1.0, "b": 3.0}


def extend_after_the_list_became_an_array(x):
    L = [x[0], x[1]]
    L += x[2:4]
    L.extend([x[0]])  # (Python: AttributeError, L is an array now)
    return np.sum(L)


def test_extend_of_what_plus_equals_made_an_array_is_not_rewritten():
    with pytest.raises(Exception) as python_error:
        extend_after_the_list_became_an_array(X)
    with pytest.raises(Exception) as s2s_error:
        s2s.grad(extend_after_the_list_became_an_array)(X)
    assert isinstance(python_error.value, AttributeError)
    assert "extend" in str(s2s_error.value)
