"""Adversarial cases of compiled code for container arguments (transforms/flat_params.py): what the flattening
names and refuses, checked on the generated function's text (no numba compilation) but for one end-to-end
gradient."""

from __future__ import annotations

import ast
import warnings

import numpy as np
import pytest

import s2s

pytest.importorskip("numba")

from s2s.transforms import flat_params  # noqa: E402

from s2s import compiled  # noqa: E402


def _flatten(text, containers):
    return flat_params.flatten(ast.parse(text).body[0], containers, "s2s")


def test_a_key_not_ascii_gives_an_ascii_parameter_no_other_name_has():
    # `ﬁ` is `fi` to the parser (NFKC): `p_ﬁ` was the code's own local `p_fi` once the text was compiled
    text = ("def g(p, x):\n    p_fi = x * 2.0\n    t = p['ﬁ']\n    u = p['x²']\n    v = p['fi']\n"
            "    return s2s.finish({'ﬁ': t * p_fi, 'x²': u, 'fi': v}, p)")
    flat = _flatten(text, {"p": {"ﬁ": 1.0, "x²": 2.0, "fi": 3.0}})
    names = [a.arg for a in flat.fdef.args.args]
    assert all(n.isascii() and n.isidentifier() for n in names), names
    assert len(set(names)) == len(names) and "p_fi" not in names, names
    compile(ast.unparse(ast.Module(body=[flat.fdef], type_ignores=[])), "<test>", "exec")


def test_a_nested_function_with_a_parameter_of_the_arguments_name_is_refused():
    text = "def g(p, x):\n    h = lambda p: p[0] * 2.0\n    t = p[0]\n    return s2s.finish([t, x], p)"
    with pytest.raises(flat_params.NotFlattenable, match="nested function"):
        _flatten(text, {"p": [1.0, 2.0]})


def _ligature(p, x):
    p_fi = x * 2.0
    return np.sum(p["ﬁ"] ** 2 * p_fi)


def test_compiled_gradient_of_a_dict_with_a_ligature_key():
    r = np.random.default_rng(0)
    params, x = {"ﬁ": r.normal(size=3)}, r.normal(size=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        got = s2s.grad(_ligature, compile="strict")(params, x)
    np.testing.assert_allclose(got["ﬁ"], 2 * params["ﬁ"] * 2 * x, rtol=1e-12)


def _first_of_rest(W, *xs):
    return np.sum(np.tanh(W @ xs[0]))


def _keyword_only(W, x, *, c=2.0):
    return np.sum(np.tanh(W @ x)) * c


def _keywords(W, x, **k):
    return np.sum(np.tanh(W @ x)) * k["c"]


def test_keyword_only_and_variadic_parameters_run_the_numpy_code_as_called():
    # the compiled path's general call passed `_complete`'s tuple: `*xs` reached the NumPy code as one argument
    # (W @ [x, y], a wrong gradient where the shapes allow it) and `c` as a positional one (a TypeError)
    r = np.random.default_rng(1)
    W, x, y = r.normal(size=(3, 2)), r.normal(size=2), r.normal(size=2)
    for mode in (True, "always"):
        with pytest.warns(compiled.CompiledFallbackWarning, match="positional parameters only"):
            df = s2s.grad(_first_of_rest, compile=mode)
            np.testing.assert_allclose(df(W, x, y), s2s.grad(_first_of_rest)(W, x, y), rtol=1e-12)
        np.testing.assert_allclose(df(W, y, x), s2s.grad(_first_of_rest)(W, y, x), rtol=1e-12)
        with pytest.warns(compiled.CompiledFallbackWarning):
            got = s2s.grad(_keyword_only, compile=mode)(W, x, c=3.0)
        np.testing.assert_allclose(got, s2s.grad(_keyword_only)(W, x, c=3.0), rtol=1e-12)
        with pytest.warns(compiled.CompiledFallbackWarning):
            got = s2s.grad(_keywords, wrt=(0,), compile=mode)(W, x, c=3.0)
        assert type(got) is tuple and len(got) == 1
        np.testing.assert_allclose(got[0], s2s.grad(_keywords)(W, x, c=3.0), rtol=1e-12)
    from s2s.errors import NotCompilableError
    with pytest.raises(NotCompilableError, match="positional parameters only"):
        s2s.grad(_keyword_only, compile="strict")(W, x)


def test_the_gradient_returned_beside_the_value_is_flattened_too():
    text = "def g(p, x):\n    t = p['a']\n    value = t * x\n    return value, s2s.finish({'a': x, 'b': t}, p)"
    d = {"a": 1.0, "b": 2.0}
    flat = _flatten(text, {"p": d})
    assert flat.with_value and ast.unparse(flat.fdef.body[-1]) == \
        "return (value, (s2s.finish(x, p_a), s2s.finish(t, p_b)))"
    assert flat.gradient((7.0, (3.0, 4.0)), (d, 5.0), s2s.runtime.finish) == (7.0, {"a": 3.0, "b": 4.0})
    with pytest.raises(flat_params.NotFlattenable, match="read as a whole"):
        _flatten(text.replace("return value, s2s", "return value, value, s2s"), {"p": d})


_G = np.linspace(0.5, 1.5, 3)


def _beside_a_0d_array(p, s, x):
    return np.sum(np.tanh(p["W"] @ x) * _G) * s + np.sum(p["b"]) * s


def test_compiled_gradient_of_a_dict_beside_a_0d_array_whose_code_returns_the_value():
    r = np.random.default_rng(2)
    params, s, x = {"W": r.normal(size=(3, 3)), "b": r.normal(size=3)}, np.array(1.7), r.normal(size=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        got = s2s.grad(_beside_a_0d_array, compile="strict")(params, s, x)
    ref = s2s.grad(_beside_a_0d_array)(params, s, x)
    assert type(got) is dict and list(got) == ["W", "b"]
    for k in params:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-12)
    np.testing.assert_allclose(got["b"], np.full(3, 1.7), rtol=1e-12)


def _tagged(p, x):
    return np.sum(np.tanh(p["W"] @ x) ** 2) * p["s"]


def test_a_container_without_a_structure_key_is_not_flattened():
    # its variants are keyed by its type alone: code made for one such dict would run for the next
    from s2s.errors import NotCompilableError
    r = np.random.default_rng(3)
    for n in (3, 4):
        params, x = {"W": r.normal(size=(n, n)), "s": 0.7, "tag": "abc"}, r.normal(size=n)
        # (a dict holding a string has a structure key now; compiled code takes no string: refused either way)
        with pytest.raises(NotCompilableError, match="structure|a str"):
            s2s.grad(_tagged, compile="strict")(params, x)
        with pytest.warns(compiled.CompiledFallbackWarning, match="structure|a str"):
            got = s2s.grad(_tagged, compile="always")(params, x)
        np.testing.assert_allclose(got["W"], s2s.grad(_tagged)(params, x)["W"], rtol=1e-12)
