"""A dict's views (`.keys()`, `.values()`, `.items()`) and dict comprehensions, differentiated
(transforms/mappings.py, transforms/desugar.py): against central differences and autograd, in reverse
and forward mode and under hessian; a view kept while its dict changes, and a view of what is not a
mapping, refused."""

from __future__ import annotations

import ast

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from s2s.transforms import mappings

import s2s
from tests.conftest import autograd_twin, rng


def _params(seed=0):
    g = rng(seed)
    return {"W": g.normal(size=(3, 2)), "b": g.normal(size=2), "c": float(g.normal())}


def _fd(f, p, eps=1e-6):
    """Central differences of f(p) for every entry of the dict p (arrays and numbers)."""
    out = {}
    for key, value in p.items():
        value = np.asarray(value, dtype=float)
        grad = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            moved = []
            for sign in (1, -1):
                q = {k: (np.array(v, dtype=float) if isinstance(v, np.ndarray) else v) for k, v in p.items()}
                entry = value.copy()
                entry[idx] += sign * eps
                q[key] = entry if isinstance(p[key], np.ndarray) else float(entry)
                moved.append(f(q))
            grad[idx] = (moved[0] - moved[1]) / (2 * eps)
        out[key] = grad if isinstance(p[key], np.ndarray) else float(grad)
    return out


def _close(got, want, rtol=1e-6, atol=1e-8):
    assert got.keys() == want.keys()
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=rtol, atol=atol, err_msg=k)


def items_loop(p):
    total = 0.0
    for name, value in p.items():
        total = total + np.sum(np.sin(value) * len(name))
    return total


def values_generator(p):
    return sum(np.sum(v ** 2) for v in p.values())


def keys_then_index(p):
    total = 0.0
    for k in p.keys():
        total = total + np.sum(p[k] * p[k] * p[k])
    return total


def values_listed(p):
    vals = list(p.values())
    return np.sum(vals[0] @ vals[1]) * vals[2]


def view_kept_unchanged(p):
    vals = p.values()
    return sum(np.sum(np.cos(v)) for v in vals)


def comprehension_scaled(p):
    q = {k: v * 2.0 for k, v in p.items()}
    return np.sum(np.tanh(q["W"]) @ q["b"]) + q["c"] ** 2


def comprehension_repeated_key(p):
    last = {"x": v for v in p.values() if np.ndim(v) == 1}  # noqa: B035 - only b: one key, the last value kept
    first_letter = {k[0]: np.sum(v) for k, v in p.items()}
    return np.sum(last["x"] ** 3) + first_letter["W"] * first_letter["c"]


def pairs_to_dict(p):
    q = dict([(k, v ** 2) for k, v in p.items()])
    r = dict(q)
    return np.sum(r["W"]) + np.sum(q["b"] * p["b"])


def comprehension_over_a_range(p):
    d = {k: p["b"] * k for k in range(3)}
    return np.sum(d[1] + d[2] ** 2)


def mlp_layers(layers, x):
    h = x
    for _, layer in layers.items():
        h = np.tanh(h @ layer["W"] + layer["b"])
    return np.sum(h ** 2)


def display_items_sorted(p):
    # (a view of a dict display is the list of its pairs; sorted in a generator's source: stop 60, refused before
    # as "no derivative rule for builtins.sorted" and ".items() called on `t4`")
    return sum(np.sum(v ** 2) * len(k) for k, v in sorted({"w": p["W"], "b": p["b"] * 2.0}.items()))


def display_values_loop(p):
    s = 0.0
    for v in {"a": p["b"], "c": p["W"][0]}.values():
        s = s + np.sum(np.sin(v))
    return s


def sorted_items_in_a_generator(p):
    return sum(np.sum(v * 3.0) for _, v in sorted(p.items()))


FUNCTIONS = [items_loop, values_generator, keys_then_index, values_listed, view_kept_unchanged,
             comprehension_scaled, comprehension_repeated_key, pairs_to_dict, comprehension_over_a_range,
             display_items_sorted, display_values_loop, sorted_items_in_a_generator]


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
def test_views_and_comprehensions_match_central_differences_and_autograd(f):
    p = _params()
    got = s2s.grad(f)(p)
    _close(got, _fd(f, p))
    _close(got, autograd.grad(autograd_twin(f))(p))


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
def test_views_and_comprehensions_in_forward_mode(f):
    p, t = _params(), _params(1)
    value, dot = s2s.jvp(f, (p,), (t,))
    g = s2s.grad(f)(p)
    np.testing.assert_allclose(value, f(p))
    np.testing.assert_allclose(dot, sum(np.sum(g[k] * t[k]) for k in p), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("f", [items_loop, comprehension_scaled, pairs_to_dict], ids=lambda f: f.__name__)
def test_views_and_comprehensions_under_hvp(f):
    p, v = _params(), _params(2)
    got = s2s.hvp(f)(p, v)
    grad = s2s.grad(f)
    eps = 1e-5
    plus = grad({k: p[k] + eps * v[k] for k in p})
    minus = grad({k: p[k] - eps * v[k] for k in p})
    _close(got, {k: (plus[k] - minus[k]) / (2 * eps) for k in p}, rtol=1e-5, atol=1e-6)


def test_nested_dict_of_layers():
    g = rng(3)
    layers = {"l1": {"W": g.normal(size=(2, 3)), "b": g.normal(size=3)},
              "l2": {"W": g.normal(size=(3, 2)), "b": g.normal(size=2)}}
    x = g.normal(size=2)
    got = s2s.grad(mlp_layers)(layers, x)
    want = autograd.grad(autograd_twin(mlp_layers))(layers, x)
    for name in layers:
        _close(got[name], want[name])


def updated_after_view(p):
    vals = p.values()
    p["W"] = p["W"] * 2.0
    return sum(np.sum(v) for v in vals)


def merged_into_after_view(p):
    vals = p.values()
    p |= {"W": p["W"] * 2.0}
    return sum(np.sum(v) for v in vals)


def updates_the_value_in_place(p):
    for _, v in p.items():
        v *= 2.0
    return np.sum(p["W"])


@pytest.mark.parametrize("f", [updated_after_view, merged_into_after_view], ids=lambda f: f.__name__)
def test_a_view_kept_while_its_dict_changes_is_refused(f):
    with pytest.raises(s2s.UnsupportedSyntaxError, match="kept in a name") as info:
        s2s.grad(f)(_params())
    assert "list(p.values())" in str(info.value)


def test_an_update_in_place_of_a_value_the_dict_holds_is_refused_and_the_dict_left_alone():
    p = _params()
    before = p["W"].copy()
    with pytest.raises(s2s.UnsupportedSyntaxError, match="in place"):
        s2s.grad(updates_the_value_in_place)(p)
    np.testing.assert_array_equal(p["W"], before)


class NotAMapping:
    def values(self):
        return [1.0, 2.0]


def reads_values_of(x, obj):
    return np.sum(x) * sum(obj.values())


def test_values_of_an_object_that_is_not_a_mapping_is_refused():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="NotAMapping"):
        s2s.grad(reads_values_of)(np.ones(2), NotAMapping())


def test_view_as_list_source():
    call = ast.parse("self.params.values()").body[0].value
    assert mappings.is_view_call(call)
    made = mappings.view_as_list(call, "key", lambda args: ast.Call(ast.Name("keys", ast.Load()), args, []))
    assert ast.unparse(made) == "[self.params[key] for key in keys(self.params)]"
    assert not mappings.is_view_call(ast.parse("f().values()").body[0].value)  # read twice: only names
    assert not mappings.is_view_call(ast.parse("d.values(1)").body[0].value)


def test_autograd_oracle_really_differentiates_the_dict():
    """The oracle twin is autograd's: a sanity check that the comparison above is not vacuous."""
    p = _params()
    g = autograd.grad(lambda q: anp.sum(q["W"] ** 2))(p)
    np.testing.assert_allclose(g["W"], 2 * p["W"])


def values_of(p):
    return p.values()


def items_kept_then_returned(p):
    its = p.items()
    return its, len(p)


def keys_of(p):
    return p.keys()


def updates_after_a_helper_returned_its_values(x):
    d = {"a": x[0], "b": x[1]}
    vals = values_of(d)
    d["a"] = x[2]
    return sum(vals)


def updates_after_a_helper_returned_its_items(x):
    d = {"a": x[0], "b": x[1]}
    its, _ = items_kept_then_returned(d)
    d["a"] = x[2]
    return sum(v for _, v in its)


def updates_after_a_helper_returned_its_keys(x):
    d = {"a": x[0], "b": x[1]}
    ks = keys_of(d)
    d["c"] = x[2]
    return sum(d[k] for k in ks)


@pytest.mark.parametrize("f", [updates_after_a_helper_returned_its_values, updates_after_a_helper_returned_its_items],
                         ids=lambda f: f.__name__)
def test_a_view_a_helper_hands_back_is_refused(f):
    # Python's view shows the caller's later update (gradient [0, 1, 1]); s2s's list of the entries
    # did not, and the gradient was [1, 1, 0]
    # (refused where the helper returns it, or, where s2s expands the helper in the caller, there)
    with pytest.raises(s2s.UnsupportedSyntaxError):
        s2s.grad(f)(np.array([0.3, -0.7, 1.2]))


def test_a_view_a_helper_without_derivative_hands_back_is_refused_when_its_dict_changes():
    # keys_of runs as Python's own code: its view follows the dict, and the run-time guard sees that
    # (it crashed with KeyError: 'c' in the adjoint of d['c'] = x[2])
    with pytest.raises(s2s.UnsupportedSyntaxError, match="in place"):
        s2s.grad(updates_after_a_helper_returned_its_keys)(np.array([0.3, -0.7, 1.2]))


def sums_the_values_a_helper_returns(p):
    return sum(np.sum(v ** 2) for v in list(values_of_copied(p)))


def values_of_copied(p):
    return list(p.values())


def test_a_list_of_the_entries_handed_back_is_differentiated():
    p = _params()
    got = s2s.grad(sums_the_values_a_helper_returns)(p)
    _close(got, _fd(sums_the_values_a_helper_returns, p), rtol=1e-5, atol=1e-7)


def test_a_dict_view_reaches_its_dict_for_the_run_time_guard():
    import types

    from s2s.sharing import reaches
    d, other = {"a": np.ones(2)}, {"a": np.ones(2)}
    assert reaches(d.keys(), [d]) and reaches(d.values(), [d]) and reaches(d.items(), [d])
    assert reaches(types.MappingProxyType(d), [d])
    assert not reaches(d.values(), [other])


def test_escaping_view_source():
    def first(src):
        return mappings.escaping_view(ast.parse(src).body[0])
    assert first("def f(d):\n    return d.values()") is not None
    assert first("def f(d):\n    v = d.items()\n    w = v\n    return (w, 1)") is not None
    assert first("def f(self, d):\n    self.v = d.values()\n    return 0.0") is not None
    assert first("def f(d, out):\n    out.append(d.keys())\n    return 0.0") is not None
    assert first("def f(d):\n    return sum(d.values())") is None
    assert first("def f(d):\n    return [*d.values()]") is None
    assert first("def f(d):\n    a, b = d.values()\n    return a * b") is None


def keeps_a_view_in_a_tuple(x):
    d = {"a": x[0], "b": x[1]}
    held = (d.values(), 1)
    d["a"] = x[2]
    return sum(held[0])


def test_the_refusal_names_no_value_s2s_made():
    # the list of the view is named `items` inside s2s; the message named it ("a container holds `items`");
    # now the view itself is refused where it is kept, with the user's expression
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.grad(keeps_a_view_in_a_tuple)(np.array([0.3, -0.7, 1.2]))
    assert "`items" not in str(info.value) and "view `d.values()`" in str(info.value)


def stores_a_key_never_read(x):
    d = {"a": x[0], "b": x[1]}
    d["b"] = x[2] * 3.0
    d["c"] = x[1] * x[2]
    return d["a"] * 2.0


def stores_into_a_copy_a_key_read_only_in_the_original(x):
    d = {"k0": x[0], "k1": x[1], "k2": x[2]}
    c = dict(d)
    c["k2"] = x[0] * 2.0
    return c["k1"] * c["k0"] + d["k1"]


@pytest.mark.parametrize("f", [stores_a_key_never_read, stores_into_a_copy_a_key_read_only_in_the_original],
                         ids=lambda f: f.__name__)
def test_a_key_stored_and_never_read_after(f):
    # a dict's adjoint holds the keys read; the adjoint of the store looked its key up and raised KeyError
    x = np.array([0.3, -0.7, 1.2])
    got = s2s.grad(f)(x)
    np.testing.assert_allclose(got, autograd.grad(autograd_twin(f))(x), rtol=1e-12, atol=1e-12)
    _, t = s2s.jvp(f, (x,), (np.array([0.2, 0.5, -1.0]),))
    np.testing.assert_allclose(t, got @ np.array([0.2, 0.5, -1.0]), rtol=1e-12, atol=1e-12)


def same_keys_in_another_order(x):
    d = {"a": x[0], "b": x[1]}
    e = {"b": x[2], "a": x[0]}
    if d.keys() == e.keys():  # True in Python (a set's equality); s2s's lists differ
        return d["a"] * e["b"]
    return d["a"] + e["b"]


def keys_against_a_list(x):
    d = {"a": x[0], "b": x[1]}
    return x[1] * 2.0 if d.keys() == ["a", "b"] else x[1] * 3.0  # False in Python: a view is no list


def values_compared(x):
    d = {"a": x[0], "b": x[1]}
    e = {"a": x[0], "b": x[1]}
    return x[1] * 2.0 if d.values() == e.values() else x[1] * 3.0  # False in Python: compared by identity


def kept_keys_asked_a_method(x):
    d = {"a": x[0], "b": x[1]}
    ks = d.keys()
    return x[1] * 2.0 if ks.isdisjoint({"z"}) else x[1] * 3.0


@pytest.mark.parametrize("f", [same_keys_in_another_order, keys_against_a_list, values_compared,
                               kept_keys_asked_a_method], ids=lambda f: f.__name__)
def test_a_view_read_as_a_set_is_refused(f):
    # same_keys_in_another_order had the gradient [1, 0, 1] for [1.2, 0, 0.3], keys_against_a_list 2 for 3
    with pytest.raises(s2s.UnsupportedSyntaxError, match="as sets") as info:
        s2s.grad(f)(np.array([0.3, -0.7, 1.2]))
    assert "sorted(" in str(info.value)


def sorted_keys_compared(x):
    d = {"a": x[0], "b": x[1]}
    e = {"b": x[2], "a": x[0]}
    if sorted(d.keys()) == sorted(e.keys()) and "a" in d.keys():
        return d["a"] * e["b"]
    return d["a"] + e["b"]


def test_what_the_hint_writes_is_differentiated():
    x = np.array([0.3, -0.7, 1.2])
    np.testing.assert_allclose(s2s.grad(sorted_keys_compared)(x), [1.2, 0.0, 0.3])


def values_indexed(x):
    d = {"a": x[0], "b": x[1]}
    return d.values()[0] * 2.0  # TypeError in Python: a view has no items by position


def test_a_view_indexed_is_refused():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="indexed"):
        s2s.grad(values_indexed)(np.array([0.3, -0.7, 1.2]))


def keeps_a_keys_view_in_a_dict(x):
    d = {"a": x[0], "b": x[1]}
    held = {"v": d.keys()}
    d["c"] = x[2]
    return len(held["v"]) * x[0]  # Python's view has three keys by now: 0.9, where a list of them gives 0.6


def test_a_view_held_in_a_display_of_an_updated_dict_is_refused():
    for f in (keeps_a_view_in_a_tuple, keeps_a_keys_view_in_a_dict):
        with pytest.raises(s2s.UnsupportedSyntaxError, match="view"):
            s2s.grad(f)(np.array([0.3, -0.7, 1.2]))


# ---- a loop over a dict's items or values reads each entry where it reaches it (mappings.loop_over_keys)

def l2_over_items(p, lam):
    penalty = 0.0
    for name, w in p.items():
        if name.startswith("W"):
            penalty = penalty + np.sum(w ** 2)
    return np.sum(np.tanh(p["W"]) @ p["b"]) + lam * penalty


def values_with_break(p):
    total = 0.0
    for v in p.values():
        total = total + np.sum(np.cos(v))
        if total > 2.0:
            break
    return total


def receiver_rebound_in_the_loop(p):
    d = p
    total = 0.0
    for k, v in d.items():
        total = total + np.sum(v * 1.5) * len(k)
        d = {"other": v}  # Python's loop still runs over the first dict
    return total + np.sum(d["other"])


def nested_items(p):
    outer = {"first": p, "second": {"W": p["W"] * 2.0}}
    total = 0.0
    for _, inner in outer.items():
        for key, v in inner.items():
            total = total + np.sum(np.sin(v)) * (2.0 if key == "W" else 1.0)
    return total


@pytest.mark.parametrize("f", [values_with_break, receiver_rebound_in_the_loop, nested_items],
                         ids=lambda f: f.__name__)
def test_loops_over_views_match_central_differences(f):
    p = _params(3)
    for g in (s2s.grad(f), s2s.derivative(f)):
        got = g(p)
        _close(got, _fd(f, p))


def test_a_loop_over_items_reads_the_entries_in_place_and_reduces_to_numbers():
    p = _params(4)
    g = s2s.grad(l2_over_items)
    _close(g(p, 0.3), _fd(lambda q: l2_over_items(q, 0.3), p))
    code = s2s.source(g, p, 0.3)
    assert ".append((" not in code and "as_sequence(items" not in code, code  # no list of pairs built
    # np.sum of an entry of unknown shape is a number: the penalty needs no unbroadcast
    assert "unbroadcast(" not in code, code


def test_loop_over_keys_source():
    loop = ast.parse("for k, v in d.items():\n    d2 = v").body[0]
    assert mappings.loop_over_keys(loop, "key", lambda args: ast.Call(ast.Name("keys"), args, []))
    assert ast.unparse(loop) == "for key in keys(d):\n    k, v = (key, d[key])\n    d2 = v"
    rebinding = ast.parse("for k, v in d.items():\n    d = v").body[0]
    assert not mappings.loop_over_keys(rebinding, "key", lambda args: ast.Call(ast.Name("keys"), args, []))


def views_compared(p):
    # (helper 199: a compared view is a view, not the list of its items: keys compare as sets)
    same = {"a": 1, "b": 2}.keys() == {"b": 1, "a": 2}.keys()
    return np.sum(p["b"] ** 2) if same else np.sum(p["b"])


def test_a_view_of_a_display_compared_stays_a_view():
    p = _params()
    _close(s2s.grad(views_compared)(p), _fd(views_compared, p))


def sorted_after_an_append(p):
    L = [1, 0]
    t = (L.append(2), sum(float(i) * np.sum(p["b"]) for i in sorted(L)))
    return t[1]


def test_sorted_after_a_call_on_its_line_is_refused():
    """Helper 199: the sorted source of a comprehension was listed before the statement, before `L.append(2)`
    ran (a wrong gradient: 1 + 0 where Python's is 1 + 0 + 2)."""
    with pytest.raises(s2s.UnsupportedSyntaxError, match="cannot take `sorted"):
        s2s.grad(sorted_after_an_append)(_params())


def sorted_in_a_while_test(p):
    L = [2, 1]
    s, n = 0.0, 0
    while sum(v for v in sorted(L)) + n < 6:  # (left where it is, as before stop 60)
        s = s + np.sum(p["b"]) * n
        n += 1
    return s


def test_sorted_in_a_while_test_s_comprehension_is_taken():
    p = _params()
    _close(s2s.grad(sorted_in_a_while_test)(p), _fd(sorted_in_a_while_test, p))
