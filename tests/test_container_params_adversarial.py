"""Container parameters (s2s/argshapes.py, transforms/shapes.py `Shapes._held_containers`) under attack:
each case here once gave a wrong gradient or a crash where the general code is right."""

from __future__ import annotations

import linecache
import warnings

import numpy as np
import pytest

import s2s

RNG = np.random.default_rng(11)


def _defined(src, namespace=None):
    """The function `f` that `src` defines (its source kept where s2s reads it)."""
    namespace = {"np": np} if namespace is None else namespace
    name = f"<s2s-test-adversarial-{abs(hash(src))}>"
    linecache.cache[name] = (len(src), None, src.splitlines(True), name)
    exec(compile(src, name, "exec"), namespace)
    return namespace["f"]


def dense(p, x):
    return np.sum(np.tanh(x @ p["W"] + p["b"]))


def test_compiled_gradient_follows_a_change_of_structure():
    """compile=True keyed its variants by `list`/`dict` alone while the NumPy code it runs for a container
    is specialised to the first call's structure: a bias of one item, then of two, got the first call's
    summed adjoint broadcast (b's gradient [2.92, 2.92] for [1.80, 1.12])."""
    pytest.importorskip("numba")
    x = RNG.normal(size=(3, 4))
    df = s2s.grad(dense, compile=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (containers run the NumPy code: a CompiledFallbackWarning)
        for width, size in ((2, 1), (2, 2), (3, 1), (3, 3)):
            p = {"W": RNG.normal(size=(4, width)), "b": RNG.normal(size=size)}
            g = df(p, x)
            t = 1 - np.tanh(x @ p["W"] + p["b"]) ** 2
            assert g["b"].shape == (size,)
            np.testing.assert_allclose(g["b"], t.sum(axis=0) if size > 1 else [t.sum()], rtol=1e-10)
            np.testing.assert_allclose(g["W"], x.T @ t, rtol=1e-10)


@pytest.mark.parametrize("pick", ["p[1:][0]", "p[1:2][-1]", "p[-2::-1][0]", "p[:-1][1]", "p[k:][0]"])
def test_an_item_of_a_slice_has_the_dtype_of_the_item_it_is(pick):
    """`p[1:][0]` was given the dtype of p[0] (a float array): the int array p[1] counted as real floats,
    and its product's adjoint was accumulated in place into ints (UFuncTypeError)."""
    src = (f"def f(p, x):\n    k = 1\n    v = {pick}\n"
           "    return np.sum((v * 2) * x) + np.sum(np.sin(x))\n")
    f = _defined(src)
    p = [np.ones(3), np.array([2, 0, 1]), np.ones(3)]
    x = RNG.normal(size=3)
    g = s2s.grad(f, wrt=1)(p, x)
    np.testing.assert_allclose(g, 2 * p[1] + np.cos(x), rtol=1e-12)


@pytest.mark.parametrize("body", [
    "s = slice(0, 2)\n    q = p[s]\n    return np.sum(np.sum(q) * x)",
    "s = slice(0, 2)\n    return np.mean(p[s]) * np.sum(x)",
    "s = slice(0, 2)\n    q = p[s]\n    return np.sum(x) * len(q) + np.sum(q[0] * x)",
])
def test_a_slice_object_index_is_not_an_item(body):
    """`p[s]` with `s = slice(0, 2)` was given the one shape all items of p share (an array of shape (3,)):
    its adjoint was an array where the list's was due (a refusal, an AttributeError, a ValueError)."""
    f = _defined(f"def f(p, x):\n    {body}\n")
    p = [RNG.normal(size=3) for _ in range(3)]
    x = RNG.normal(size=3)
    for wrt in (0, 1):
        g = s2s.grad(f, wrt=wrt)(p, x)
        flat = [g] if wrt == 1 else g
        bases = [x] if wrt == 1 else p
        for k, (gk, base) in enumerate(zip(flat, bases)):
            expected = np.zeros(base.shape)
            for i in np.ndindex(base.shape):
                up, down = [[v.copy() for v in p], x.copy()], [[v.copy() for v in p], x.copy()]
                for a, d in ((up, 1e-6), (down, -1e-6)):
                    (a[1] if wrt == 1 else a[0][k])[i] += d
                expected[i] = (f(*up) - f(*down)) / 2e-6
            np.testing.assert_allclose(gk, expected, rtol=1e-6, atol=1e-8)


def test_a_long_list_is_not_walked_on_every_call():
    """The structure key mapped `type` over every item of a list before it counted the leaves against
    MAX_LEAVES: a table of a million floats passed along cost each call some 25 ms."""
    import time

    from s2s import argshapes
    table = [float(i) for i in range(10**6)]
    assert argshapes.structure_key(table) is None
    assert argshapes.structure_key({"t": table, "w": 1.0}) is None
    start = time.perf_counter()
    for _ in range(10):
        argshapes.structure_key(table)
    assert time.perf_counter() - start < 0.05  # (a walk: some 250 ms)
    assert argshapes.structure_key([1.0] * argshapes.MAX_LEAVES) is not None
    assert argshapes.structure_key([[1.0] * 40, [2.0] * 24]) is not None
    assert argshapes.structure_key([[1.0] * 40, [2.0] * 25]) is None


UNICODE_KEYS = """
def f(p, x):
    s = 0.0
    for i in range(3):
        s = s + np.sum(np.sin(p[A]) * x) * i
    s = s + np.sum(p[A] ** 2)
    for i in range(3):
        s = s + np.sum(np.cos(p[B]) * x) * i
    return s + np.sum(p[B] ** 3)
"""


@pytest.mark.parametrize("keys", [("\ufb01", "fi"), ("x\u00b2", "b")])
def test_item_adjoint_names_of_keys_no_identifier_spells(keys):
    """An item's adjoint was named from its key by `\\W` -> `_`: `params_bar_x²` is no identifier (a
    SyntaxError where the general code runs), and `params_bar_ﬁ` is `params_bar_fi` to the parser (NFKC),
    so the adjoints of p["ﬁ"] and p["fi"] were one name: a wrong gradient ([-0.23, -3.25, 4.98] for
    [0.02, 0.14, 12.75])."""
    a, b = keys
    f = _defined(UNICODE_KEYS.replace("A", repr(a)).replace("B", repr(b)))
    p = {a: RNG.normal(size=3), b: RNG.normal(size=3)}
    x = RNG.normal(size=3)
    g = s2s.grad(f)(p, x)
    assert list(g) == [a, b]
    np.testing.assert_allclose(g[a], np.cos(p[a]) * x * 3 + 2 * p[a], rtol=1e-12)
    np.testing.assert_allclose(g[b], -np.sin(p[b]) * x * 3 + 3 * p[b] ** 2, rtol=1e-12)


def shared_sum(p, x):
    return np.sum(np.tanh(p["a"] + p["e"][0] + x))


def shared_sum_aux(p, x):
    return shared_sum(p, x), "aux"


def test_leaves_of_a_container_gradient_are_not_one_array():
    """The adjoints of `p["a"]` and `p["e"][0]` in `p["a"] + p["e"][0] + x` are one array in the code (and x's
    too): the gradient's leaves were that one array object, so `g["a"] *= 0.5` (clipping in place) halved
    g["e"][0] and x's gradient as well. Only a tuple of gradients was unshared."""
    p = {"a": RNG.normal(size=3), "e": [RNG.normal(size=3)]}
    x = RNG.normal(size=3)
    expected = 1 - np.tanh(p["a"] + p["e"][0] + x) ** 2
    runs = {"grad": lambda: s2s.grad(shared_sum)(p, x),
            "value_and_grad": lambda: s2s.value_and_grad(shared_sum)(p, x)[1],
            "has_aux": lambda: s2s.grad(shared_sum_aux, has_aux=True)(p, x)[0],
            "wrt=(0, 1)": lambda: s2s.grad(shared_sum, wrt=(0, 1))(p, x)}
    for name, run in runs.items():
        g = run()
        both = g if name == "wrt=(0, 1)" else (g, None)
        both[0]["a"] *= 0.0
        np.testing.assert_allclose(both[0]["e"][0], expected, rtol=1e-12, err_msg=name)
        if both[1] is not None:
            np.testing.assert_allclose(both[1], expected, rtol=1e-12, err_msg=name)
