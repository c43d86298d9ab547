"""Container arguments read through names bound to parts of them, and gradients built as lists of adjoints
(transforms/container_structs.py, before transforms/flat_params.py): resolved to items of constant keys, so that
the MLP over a list of (W, b) layers and the VAE's nested list of layers compile; the compiled gradient is the
NumPy code's (rtol 1e-10), with the argument's own types. Where an alias or a list adjoint is read otherwise the
code is left as it was, and the flattening says what it cannot take."""

from __future__ import annotations

import ast
import os
import sys
import warnings

import numpy as np
import pytest

import s2s

numba = pytest.importorskip("numba")

from s2s.transforms import container_structs, flat_params  # noqa: E402

from s2s import compiled  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import ordinary  # noqa: E402
import ordinary_more  # noqa: E402

# ------------------------------------------------------------------------- the rewrite

MLP = """def d(params, X):
    t = params[:-1]
    seq = s2s.as_sequence(t)
    len_out = len(seq)
    t2 = seq[0]
    W = t2[0]
    b = t2[1]
    t5 = params[-1]
    W2 = t5[0]
    h = X @ W + b
    W2_bar = h
    b_bar = X
    params_bar = s2s.getitem_grad([W2_bar, 0.0], params, -1)
    seq_bar_0 = [W, b_bar]
    t_bar = s2s.grad_iterated([seq_bar_0], t)
    params_bar = s2s.add(params_bar, s2s.getitem_grad(t_bar, params, slice(None, -1, None)))
    return s2s.finish(params_bar, params)"""


def _layers():
    return [(np.ones((3, 2)), np.ones(2)), (np.ones((2, 1)), np.ones(1))]


def test_aliases_and_list_adjoints_are_resolved():
    out = container_structs.resolve(ast.parse(MLP).body[0], {"params": _layers()}, "s2s")
    text = ast.unparse(out)
    assert "seq" not in text and "t2" not in text and "as_sequence" not in text and "getitem_grad" not in text
    assert "len_out = 1" in text and "W = params[0][0]" in text and "W2 = params[1][0]" in text
    # the leaves bound where the displays stood, in order; the zero of an item that nothing reached is 0.0
    assert text.endswith("return s2s.finish([[_s2s_c2, _s2s_c3], [_s2s_c1, 0.0]], params)")
    assert "_s2s_c1 = W2_bar" in text and "_s2s_c2 = W\n" in text and "_s2s_c3 = b_bar" in text


def test_flattened_by_paths_and_made_again():
    layers = _layers()
    flat = flat_params.flatten(ast.parse(MLP).body[0], {"params": layers}, "s2s", False)
    assert [a.arg for a in flat.fdef.args.args] == ["params_0_0", "params_0_1", "params_1_0", "params_1_1", "X"]
    assert flat.arguments((layers, 7))[:4] == [layers[0][0], layers[0][1], layers[1][0], layers[1][1]]
    leaves = tuple(np.full(np.shape(a), k + 1.0) for k, a in enumerate(flat.arguments((layers, 7))[:4]))
    back = flat.gradient(leaves, (layers, 7), s2s.runtime.finish)
    assert type(back) is list and all(type(item) is tuple for item in back)
    assert back[1][1][0] == 4.0 and back[0][0].shape == (3, 2)


@pytest.mark.parametrize("change", [
    ("    b = t2[1]\n", "    b = t2[1]\n    for k in range(2):\n        t2 = seq[k]\n"),  # an alias bound in a loop
    ("    h = X @ W + b\n", "    h = X @ W + b + helper(seq)\n"),  # an alias read as a whole
    ("    seq_bar_0 = [W, b_bar]\n", "    seq_bar_0 = [W, b_bar]\n    q = seq_bar_0[0]\n"),  # a list adjoint read
])
def test_left_as_it_was_where_read_otherwise(change):
    text = MLP.replace(*change)
    fdef = ast.parse(text).body[0]
    assert container_structs.resolve(fdef, {"params": _layers()}, "s2s") is fdef


def test_a_tuple_of_arrays_is_no_list_adjoint():
    text = ("def d(p, x):\n    t = p[0]\n    r = t, x\n    a = r[0]\n    g = [a, 0.0]\n"
            "    return s2s.finish([g, [0.0, 0.0]], p)")
    out = container_structs.resolve(ast.parse(text).body[0], {"p": _layers()}, "s2s")
    assert "r = (t, x)" in ast.unparse(out) and "a = r[0]" in ast.unparse(out)


def test_several_gradients_in_the_returned_tuple():
    text = "def d(p, x):\n    W = p[0]\n    return (s2s.finish([x, 0.0], p), s2s.finish(x, x))"
    pair = [np.ones(2), np.ones(2)]
    flat = flat_params.flatten(ast.parse(text).body[0], {"p": pair}, "s2s", False)
    assert ast.unparse(flat.fdef.body[-1]) == \
        "return ((s2s.finish(x, p_0), s2s.finish(0.0, p_1)), s2s.finish(x, x))"
    g = flat.gradient(((np.ones(2), np.zeros(2)), 3.0), (pair, 1.0), s2s.runtime.finish)
    assert type(g) is tuple and type(g[0]) is list and g[1] == 3.0


LOOP = """def d(blocks, x):
    seq = s2s.as_sequence(blocks)
    h = x
    for k in range(2):
        t = seq[k]
        h = h @ t[0]
    seq_bar = 0.0
    for k in reversed(range(2)):
        seq_bar = s2s.add(seq_bar, s2s.getitem_grad([h, 0.0], seq, k))
    blocks_bar = s2s.grad_iterated(seq_bar, blocks)
    return s2s.finish(blocks_bar, blocks)"""


def test_loops_over_parts_of_an_argument_are_written_out():
    out = ast.unparse(container_structs.resolve(ast.parse(LOOP).body[0], {"blocks": _layers()}, "s2s"))
    assert "for" not in out and "h = h @ blocks[0][0]" in out and "h = h @ blocks[1][0]" in out
    # the reversed loop's first trip is the last item's
    assert out.endswith("return s2s.finish([[_s2s_c2, 0.0], [_s2s_c1, 0.0]], blocks)")


@pytest.mark.parametrize("change", [("        h = h @ t[0]\n", "        h = h @ t[0]\n        if h[0] > 0:\n            break\n"),
                                    ("        h = h @ t[0]\n", "        h = h @ t[0]\n        k = 1\n"),
                                    ("range(2):\n        t", "range(n):\n        t")])
def test_loops_left_as_they_are(change):
    fdef = ast.parse(LOOP.replace(*change)).body[0]
    assert container_structs.resolve(fdef, {"blocks": _layers()}, "s2s") is fdef


# ------------------------------------------------------------------------- programs

def _leaves(g):
    if isinstance(g, dict):
        return [x for k in sorted(g) for x in _leaves(g[k])]
    if isinstance(g, list | tuple):
        return [g] + [x for v in g for x in _leaves(v)]
    return [g]


PROGRAMS = {name: (f, args, wrt) for name, f, args, wrt in ordinary.programs() + ordinary_more.programs()}


@pytest.mark.parametrize("name", ["MLP, list of (W, b), equal hidden layers", "MLP, list of (W, b), layers of other sizes",
                                  "VAE loss, helper returns (mu, logvar), noise arg",
                                  "residual blocks, helper returns (z, tanh z)"])
def test_compiles_and_gives_the_numpy_code_s_gradient(name):
    f, args, wrt = PROGRAMS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        got = s2s.grad(f, wrt=wrt, compile="strict")(*args)
    want = s2s.grad(f, wrt=wrt)(*args)
    for a, b in zip(_leaves(got), _leaves(want), strict=True):
        assert type(a) is type(b)
        if not isinstance(a, list | tuple):
            assert np.shape(a) == np.shape(b)
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
