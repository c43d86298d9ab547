"""A dict's `d.get(k, default)` is read as `d[k] if k in d else default` (transforms/mappings.py get_as_index):
its adjoint goes into the entry, or into the default where the key is missing.

Only where s2s knows the receiver is a dict: a parameter given one in the call the code is made for (or one of
the dicts it holds, `params["l1"]`, checked when it runs by s2s.has_key), a local dict, a global dict. An object
of another class with a `.get` of its own (autograd's WeightsParser) is called as written, and a mapping of
another class (OrderedDict) is refused with a hint that works.
"""

from collections import OrderedDict

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import s2s

RS = np.random.RandomState(71)
X = RS.randn(4, 3)


def fd_dict(f, p, eps=1e-6):
    """Central differences of the scalar f(p) for each array of the dict p (one level)."""
    out = {}
    for k, v in p.items():
        g = np.zeros_like(v)
        for i in np.ndindex(v.shape):
            up, down = dict(p), dict(p)
            up[k], down[k] = v.copy(), v.copy()
            up[k][i] += eps
            down[k][i] -= eps
            g[i] = (f(up) - f(down)) / (2 * eps)
        out[k] = g
    return out


def assert_dicts_close(got, expected, atol=1e-6):
    assert set(got) == set(expected)
    for k in expected:
        np.testing.assert_allclose(got[k], expected[k], rtol=1e-5, atol=atol, err_msg=k)


def with_default(p):
    return np.sum(np.tanh(X @ p.get("w")) ** 2) + np.sum(p.get("b", np.zeros(4)) * (X @ p["w"]))


def default_is_an_entry(p):
    return np.sum(p.get("missing", p["w"]) ** 2)


def none_when_missing(p):
    b = p.get("b")
    return np.sum(p["w"] ** 3) + (np.sum(b * b) if b is not None else 0.0)


def in_a_loop(p):
    q = dict(p)
    s = 0.0
    for k in ["w", "b", "c"]:
        s = s + np.sum(np.sin(q.get(k, 0.5 * np.ones(3))))
    return s


def local_display(p):
    d = {"a": p["w"] * 2.0}
    return np.sum(d.get("a") * d.get("zz", 1.0))


def key_in_a_name(p):
    k = "w"
    return np.sum(np.exp(p.get(k, 0.0)))


def ag_with_default(p):
    return anp.sum(anp.tanh(anp.dot(X, p.get("w"))) ** 2) + anp.sum(p.get("b", anp.zeros(4)) * anp.dot(X, p["w"]))


@pytest.mark.parametrize("f", [with_default, default_is_an_entry, none_when_missing, in_a_loop, local_display,
                               key_in_a_name])
@pytest.mark.parametrize("keys", [("w",), ("w", "b")])
def test_get_of_a_dict_matches_finite_differences(f, keys):
    sizes = {"w": 3, "b": 4 if f is with_default else 3}
    p = {k: RS.randn(sizes[k]) for k in keys}
    assert_dicts_close(s2s.grad(f)(p), fd_dict(f, p))
    tangents = {k: RS.randn(*v.shape) for k, v in p.items()}
    g = s2s.grad(f)(p)
    _, dot = s2s.jvp(f, (p,), (tangents,))
    np.testing.assert_allclose(dot, sum(np.sum(g[k] * tangents[k]) for k in p), rtol=1e-9, atol=1e-12)


def test_get_of_a_dict_matches_autograd():
    p = {"w": RS.randn(3), "b": RS.randn(4)}
    assert_dicts_close(s2s.grad(with_default)(p), autograd.grad(ag_with_default)(p), atol=1e-10)
    assert_dicts_close(s2s.grad(with_default)({"w": p["w"]}), autograd.grad(ag_with_default)({"w": p["w"]}),
                       atol=1e-10)


def test_the_missing_key_gets_no_gradient_and_the_default_gets_it():
    p = {"w": RS.randn(3)}
    g = s2s.grad(default_is_an_entry)(p)
    np.testing.assert_allclose(g["w"], 2 * p["w"])
    g = s2s.grad(default_is_an_entry)({"w": p["w"], "missing": np.ones(3)})
    np.testing.assert_allclose(g["w"], 0.0)
    np.testing.assert_allclose(g["missing"], 2.0)


def nested_get(params, x):
    return np.sum(np.tanh(x @ params["l1"]["W"] + params["l1"].get("b", 0.0)))


def test_get_of_a_dict_inside_a_parameter():
    x = RS.randn(2)
    for params in ({"l1": {"W": RS.randn(2, 2), "b": RS.randn(2)}}, {"l1": {"W": RS.randn(2, 2)}}):
        got = s2s.grad(nested_get)(params, x)
        for k, v in params["l1"].items():
            expected = fd_dict(lambda q: nested_get({"l1": q}, x), params["l1"])[k]
            np.testing.assert_allclose(got["l1"][k], expected, rtol=1e-5, atol=1e-7)
            assert got["l1"][k].shape == v.shape


class Parser:
    def get(self, vect, name):  # (a `.get` of another meaning: the receiver is no dict)
        return vect[:2] if name == "a" else vect[2:]


PARSER = Parser()


def parsed(v):
    return np.sum(PARSER.get(v, "a") ** 2) + np.sum(PARSER.get(v, "b") ** 3)


def parsed_by_parameter(v, parser):
    return np.sum(parser.get(v, "a") ** 2)


def test_an_objects_own_get_is_called_as_written():
    v = RS.randn(4)
    np.testing.assert_allclose(s2s.grad(parsed)(v), np.concatenate([2 * v[:2], 3 * v[2:] ** 2]))
    np.testing.assert_allclose(s2s.grad(parsed_by_parameter)(v, PARSER), np.concatenate([2 * v[:2], [0.0, 0.0]]))


class ScaledDict(dict):
    def get(self, k, default=None):  # (a dict whose `.get` is its own: not the entry)
        return 10.0 * self[k] if k in self else default


def item_replaced_in_place(params, x):
    params["l1"] = ScaledDict(b=2.0)
    return np.sum(x * params["l1"].get("b", 1.0)) + np.sum(params["w"] ** 2)


def test_a_dict_the_function_replaces_is_checked_when_it_runs():
    """Review 240: `params["l1"]` replaced by a mapping with a `.get` of its own was read as a dict's entry (value
    1.2 for Python's 12.0): s2s.has_key refuses any object but a dict there."""
    x = RS.randn(3)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="ScaledDict"):
        s2s.grad(item_replaced_in_place)({"l1": {"b": 1.0}, "w": np.ones(2)}, x)
    # (params not differentiated: its `.get`s run as written, the object's own)
    np.testing.assert_allclose(s2s.grad(item_replaced_in_place, wrt=1)({"l1": {"b": 1.0}, "w": np.ones(2)}, x), 20.0)


def default_read_always(p):
    return np.sum(p.get("w", p["v"]) ** 2)


def test_the_default_is_evaluated_as_python_evaluates_it():
    """Review 240: `p.get("w", p["v"])` without "v" raises KeyError in Python; s2s evaluated the default only where
    the key was missing."""
    with pytest.raises(KeyError):
        default_read_always({"w": np.ones(2)})
    with pytest.raises(KeyError):
        s2s.grad(default_read_always)({"w": np.ones(2)})
    np.testing.assert_allclose(s2s.grad(default_read_always)({"w": np.ones(2), "v": np.ones(2)})["w"], 2.0)


def _layer(p, h):
    return np.tanh(h @ p["W"] + p.get("b", 0.0))


def through_a_helper(params, x):
    h = x
    for p in [params["l1"], params["l2"]]:
        h = _layer(p, h)
    return np.sum(h ** 2)


def by_names(params, x):
    h = x
    for name in ["l1", "l2"]:
        h = np.tanh(h @ params[name]["W"] + params[name].get("b", 0.0))
    return np.sum(h ** 2)


@pytest.mark.parametrize("f", [through_a_helper, by_names])
def test_get_of_a_layers_dict_in_a_helper_or_by_a_name(f):
    """Review 240: `.get` in a module helper given `params["l1"]`, in a loop over `[params["l1"], ...]`, or of
    `params[name]` was refused."""
    params = {"l1": {"W": RS.randn(2, 2), "b": RS.randn(2)}, "l2": {"W": RS.randn(2, 2)}}
    x = RS.randn(1, 2)
    got = s2s.grad(f)(params, x)
    for name in params:
        expected = fd_dict(lambda q: f({**params, name: q}, x), params[name])
        assert_dicts_close(got[name], expected)


def test_a_mapping_of_another_class_is_refused_with_a_hint_that_works():
    p = OrderedDict(w=RS.randn(3), b=RS.randn(4))
    with pytest.raises(s2s.UnsupportedSyntaxError, match=r"\.get\(\)") as info:
        s2s.grad(with_default)(p)
    assert "p[key] if key in p else default" in info.value.hint


def test_hessian_refusal_of_a_get_hints_at_indexing():
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.hessian(lambda w: with_default({"w": w}))(RS.randn(3))
    assert "d[k] if k in d else v" in info.value.hint


def constant_default(p):
    return np.sum(p.get("b", 1.0) * p["w"])


def test_the_printed_code_reads_the_entry():
    text = s2s.source(s2s.grad(constant_default), {"w": RS.randn(3)})
    assert "'b' in p" in text and "has_key" not in text
    assert "s2s.has_key(p, 'b', " in s2s.source(s2s.grad(with_default), {"w": RS.randn(3)})  # (evaluates the default)


def options(w, cfg):
    return np.sum(w ** 2) * cfg.get("scale", 1.0)


def test_a_dict_of_options_keeps_its_get():
    text = s2s.source(s2s.grad(options), np.ones(2), {"scale": 3.0})
    assert "cfg.get('scale', 1.0)" in text
