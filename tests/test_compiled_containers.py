"""Compiled derivatives of functions that take a dict, list or tuple of arrays (transforms/flat_params.py):
each item read by a constant key is a parameter of the compiled function of its own, and the gradient's
container is rebuilt from the items it returns, as the NumPy code's `finish` builds it."""

from __future__ import annotations

import ast
import warnings

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad

pytest.importorskip("numba")

from s2s.transforms import flat_params  # noqa: E402

from s2s import compiled  # noqa: E402
from s2s.errors import NotCompilableError  # noqa: E402


def _cell(params, x, h, c):
    z = np.hstack([x, h]) @ params["W"] + params["b"]
    n = h.shape[0]
    c = np.tanh(z[:n]) * c + np.tanh(z[n:])
    return np.tanh(c) * 0.5, c


def rnn(params, xs):
    """A gated cell in a helper that returns (h, c): the dict read item by item, `np.hstack` of the state, `n` read
    from the state's shape, the cell's adjoint 0.0 before the backward loop (an array of zeros when compiled)."""
    h, c = np.zeros(params["b"].shape[0] // 2), np.zeros(params["b"].shape[0] // 2)
    loss = 0.0
    for t in range(xs.shape[0]):
        h, c = _cell(params, xs[t], h, c)
        loss = loss + params["scale"] * np.sum(h ** 2)
    return loss


def layers(ps, x):
    h = np.tanh(ps[0] @ x + ps[1])
    return np.sum(np.tanh(ps[-1] @ h) ** 2)


def _strict(f, args):
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        return s2s.grad(f, compile="strict")(*args)


def _flat_check(got, ref, f, args):
    """got equals the NumPy code's gradient and central differences over the container's flattened items."""
    flat_got, flat_ref = s2s.flatten(got)[0], s2s.flatten(ref)[0]
    np.testing.assert_allclose(flat_got, flat_ref, rtol=1e-9, atol=1e-12)
    v, unflatten = s2s.flatten(args[0])
    by_vector = fd_grad(lambda w: f(unflatten(w), *args[1:]), (v,), 0)
    np.testing.assert_allclose(flat_got, by_vector, rtol=1e-5, atol=1e-7)


def test_a_dict_of_arrays_and_a_number_is_passed_by_its_items():
    r = np.random.default_rng(0)
    params = {"W": r.normal(size=(7, 8)) * 0.4, "b": r.normal(size=8), "scale": 0.7, "unused": np.ones(2)}
    xs = r.normal(size=(6, 3))
    got = _strict(rnn, (params, xs))
    ref = s2s.grad(rnn)(params, xs)
    assert type(got) is dict and list(got) == list(params) and type(got["scale"]) is float
    np.testing.assert_array_equal(got["unused"], np.zeros(2))  # read nowhere: zeros, as finish gives
    _flat_check(got, ref, rnn, (params, xs))
    text = compiled.source(rnn, params, xs)
    assert "def drnn_dparams(params_b, params_W, params_scale, params_unused, xs" in text, text
    assert "# params: passed by its items params['b'] as params_b, " in text and "{" not in text.split("@numba")[1]
    assert "unbroadcast" not in text and "getitem_grad" not in text and ".shape" not in text.split("@numba")[1]
    # the same structure with other keys: the compiled code reads params['Wh'] as the NumPy code does
    other = {"Wq": params["W"], "b": params["b"], "scale": 0.7, "unused": np.ones(2)}
    df = s2s.grad(rnn, compile=True)  # (not called with params first: one numba compilation in this test)
    with pytest.raises(KeyError), pytest.warns(compiled.CompiledFallbackWarning, match="does not have"):
        df(other, xs)
    with pytest.raises(NotCompilableError, match=r"a key the dict argument does not have \('W'"):
        s2s.grad(rnn, compile="strict")(other, xs)


def test_lists_and_tuples_by_constant_index_give_their_own_type():
    r = np.random.default_rng(1)
    x = r.normal(size=3)
    ps = [r.normal(size=(4, 3)), r.normal(size=4), r.normal(size=(2, 4))]
    got = _strict(layers, (ps, x))
    assert type(got) is list and len(got) == 3
    _flat_check(got, s2s.grad(layers)(ps, x), layers, (ps, x))
    flat = _flatten("def g(p, x):\n    t = p[0]\n    u = p[-1]\n    return s2s.finish((x, x), p)", {"p": tuple(ps[:2])})
    back = flat.gradient((np.ones(3), np.ones(4)), (tuple(ps[:2]), x), s2s.runtime.finish)
    assert type(back) is tuple and [b.shape for b in back] == [(4, 3), (4,)]  # a tuple's gradient is a tuple


def _flatten(text, containers):
    fdef = ast.parse(text).body[0]
    return flat_params.flatten(fdef, containers, "s2s")


def test_what_the_flattening_refuses():
    d = {"a": np.ones(2), "b": np.ones(2)}
    ok = "def g(p, x):\n    t = p['a']\n    u = p['b']\n    return s2s.finish({'a': x, 'b': x}, p)"
    flat = _flatten(ok, {"p": d})
    assert [a.arg for a in flat.fdef.args.args] == ["p_a", "p_b", "x"] and flat.arguments((d, 5)) == [d["a"], d["b"], 5]
    for text, why in [
            (ok.replace("t = p['a']", "t = p[k]"), "constant key"),
            (ok.replace("t = p['a']", "t = helper(p)"), "as a whole"),
            (ok.replace("t = p['a']", "t = p['c']"), "does not have"),
            (ok.replace("return s2s.finish({'a': x, 'b': x}, p)", "return (x, x, s2s.finish({'a': x}, p))"), "whole"),
            (ok.replace("{'a': x, 'b': x}", "g_bar"), "display"),
            (ok.replace("{'a': x, 'b': x}", "{'a': x, 'c': x}"), "keys"),
            (ok.replace("    t = p['a']\n", "    p = q\n"), "assigned")]:
        with pytest.raises(flat_params.NotFlattenable, match=why):
            _flatten(text, {"p": d})
    lst = [np.ones(2), np.ones(2)]
    with pytest.raises(flat_params.NotFlattenable, match="constant key"):
        _flatten("def g(p):\n    t = p[:-1]\n    return s2s.finish([t, t], p)", {"p": lst})
    # the length of a container argument is a constant of the code (its variants are keyed by the structure)
    flat = _flatten(ok.replace("t = p['a']", "t = len(p)"), {"p": d})
    assert ast.unparse(flat.fdef.body[0]) == "t = 2"


def test_a_list_read_by_a_slice_compiles_and_one_looped_over_with_a_break_falls_back_naming_it():
    # a constant slice of the list and the loop over it (written out: a constant count) read items of constant
    # keys (transforms/container_structs.py)
    def by_slice(ps, x):
        total = 0.0
        for W in ps[:-1]:
            total = total + np.sum(W @ x)
        return total * np.sum(ps[-1])

    def with_break(ps, x):
        total = 0.0
        for W in ps:
            total = total + np.sum(W @ x)
            if total > 100.0:
                break
        return total

    ps = [np.ones((2, 2)), np.ones((2, 2)) * 2.0, np.ones(3)]
    got = s2s.grad(by_slice, compile="strict")(ps, np.ones(2))
    assert type(got) is list
    for a, b in zip(got, s2s.grad(by_slice)(ps, np.ones(2))):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(NotCompilableError, match=r"list argument read as a whole"):
        s2s.grad(with_break, compile="strict")(ps[:2], np.ones(2))


def logistic_with_default(params, X, y, lam=1e-2):
    w, b = params
    z = X @ w + b
    return np.mean(np.log1p(np.exp(-y * z))) + lam * np.sum(w ** 2)


def test_a_container_argument_beside_a_parameter_with_a_default_compiles():
    """(was a fallback: 'positional parameters with defaults beside a container argument'; the call passes every
    positional argument, its defaults completed, so the flattened code needs none: helper 151)"""
    import warnings

    from s2s.compiled import CompiledFallbackWarning
    rng = np.random.default_rng(7)
    w, X, y = rng.normal(size=4), rng.normal(size=(30, 4)), np.sign(rng.normal(size=30))
    df = s2s.grad(logistic_with_default, compile=True)
    for extra in ((), (0.5,)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", CompiledFallbackWarning)
            got = df((w, 0.3), X, y, *extra)
        want = s2s.grad(logistic_with_default)((w, 0.3), X, y, *extra)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-12)


def layers_applied(params, X, T):
    h = X
    for W, b in params:
        h = np.tanh(h @ W + b)
    return np.sum((h - T) ** 2)


def test_the_gradient_of_an_array_beside_a_list_of_layers_compiles():
    """(review 238: it fell back warning that "compiled code cannot take the gradient of a container argument
    returned other than by one finish", where the container was not differentiated at all)"""
    import warnings

    from s2s.compiled import CompiledFallbackWarning
    rng = np.random.default_rng(238)
    params = [(rng.normal(size=(4, 3)), rng.normal(size=3)), (rng.normal(size=(3, 2)), rng.normal(size=2))]
    X, T = rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompiledFallbackWarning)
        got = s2s.grad(layers_applied, wrt=1, compile="strict")(params, X, T)
    np.testing.assert_allclose(got, s2s.grad(layers_applied, wrt=1)(params, X, T), rtol=1e-10, atol=1e-14)
