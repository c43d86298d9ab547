"""Ordinary programs s2s had not seen (benchmarks/ordinary_wild.py): what made their gradients slow, each
checked against central differences on the specialised path and for the code it writes."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from ordinary_wild import rk4_lorenz  # noqa: E402  (a vector field returning a list, called with *p)


def field(s, a, b):
    x, y = s[0], s[1]
    return [a * y - b * x, -x]


def star_module_helper(p, s0):
    s = np.array(s0)
    for _ in range(4):
        k = np.array(field(s, *p))
        s = s + 0.1 * k
    return np.sum(s ** 2)


def star_local_helpers(p, s0):
    def step(s, a, b):  # statements: expanded where called
        x = s * a
        return x + b

    def short(a, b):  # one returned expression: expanded inside the expression
        return a * b

    return np.sum(step(s0, *p)) + short(*p) + np.sum(step(s0, *(p * 2.0)))


def star_in_the_middle(p, x):
    return field(x, *p[:1], p[1])[0] * 2.0


def _check(f, args, wrt=0):
    g = s2s.grad(f, wrt=wrt)
    for _ in range(2):  # (the second call runs the hot code)
        got = g(*args)
        assert np.allclose(got, fd_grad(f, args, wrt), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("f", [star_module_helper, star_local_helpers, star_in_the_middle])
def test_star_arguments_of_helpers_are_expanded(f):
    # `lorenz(s, *p)` of a module helper was left a call through s2s.call_star_vjp (a pullback closure per
    # call, shapes unknown after it: RK4 Lorenz 25x its primal), and a local helper called with `*p` refused
    p, s0 = np.array([0.7, 0.2]), np.array([1.0, -0.5])
    _check(f, (p, s0))
    src = s2s.source(s2s.grad(f), p, s0)
    assert "call_star_vjp" not in src and "# s2s:" not in src and "star_count" not in src, src
    general = s2s.derivative(f)  # the general code keeps the check of the count
    assert np.allclose(general(p, s0)[1] if isinstance(general(p, s0), tuple) else general(p, s0),
                       fd_grad(f, (p, s0), 0), rtol=1e-5, atol=1e-7)


def test_star_argument_of_another_length_raises_as_python_does():
    with pytest.raises(TypeError):
        star_module_helper(np.array([0.7, 0.2, 0.1]), np.ones(2))
    with pytest.raises(TypeError):
        s2s.grad(star_module_helper)(np.array([0.7, 0.2, 0.1]), np.ones(2))
    with pytest.raises(TypeError):
        s2s.grad(star_local_helpers)(np.array([0.7]), np.ones(2))


def test_rk4_over_a_list_returning_field_is_specialised():
    # np.array(s0) of an array has s0's shape; a helper's list result copied to the name the call is bound to
    # (`vf_value = vf_result`) keeps its items' shapes (Shapes._sealed_lists): no unbroadcast left
    p, s0 = np.array([10.0, 28.0, 8.0 / 3.0]), np.array([1.0, 1.0, 1.0])
    src = s2s.source(s2s.grad(rk4_lorenz, wrt=(0, 1)), p, s0, 0.01, 3)
    assert "# s2s:" not in src and "unbroadcast" not in src and "array_grad" not in src, src
    gp, gs = s2s.grad(rk4_lorenz, wrt=(0, 1))(p, s0, 0.01, 3)
    assert np.allclose(gp, fd_grad(rk4_lorenz, (p, s0, 0.01, 3), 0), rtol=1e-5)
    assert np.allclose(gs, fd_grad(rk4_lorenz, (p, s0, 0.01, 3), 1), rtol=1e-5)



def test_fem_assembly_updates_in_place_and_leaves_incremented_items_alone():
    # `K[e + 1, e] -= ke`: its index evaluated once (desugar names `e + 1`, read and write share it); the
    # adjoint of a slice read K[1:-1, 1:-1] (a tuple of slice(...) calls) adds in place, not np.add.at, so K_bar
    # is its own and K is no longer read by the backward sweep (no tape, no copy per update); the adjoint of each
    # `+=` no longer zeroes K_bar[i] and adds it back. 18x its primal before, 2.7x after
    from ordinary_wild import fem_1d
    args = (1.0 + np.linspace(0.0, 1.0, 8), np.cos(np.arange(8.0)))
    src = s2s.source(s2s.grad(fem_1d, wrt=(0, 1)), *args)
    assert "# s2s:" not in src and "stack" not in src and "setitem" not in src and "add.at" not in src, src
    assert "= 0.0" not in src, src
    g = s2s.grad(fem_1d, wrt=(0, 1))
    for _ in range(2):
        gk, gf = g(*args)
        assert np.allclose(gk, fd_grad(fem_1d, args, 0), rtol=1e-5, atol=1e-8)
        assert np.allclose(gf, fd_grad(fem_1d, args, 1), rtol=1e-5, atol=1e-8)


def _dropped(text):
    import ast
    import textwrap

    from s2s.transforms.item_updates import drop_restored_items
    tree = ast.parse(textwrap.dedent(text)).body[0]
    changed = drop_restored_items(tree)
    return changed, ast.unparse(tree)


def test_restored_items_dropped_only_where_nothing_sees_the_zero():
    changed, out = _dropped("""
        def f(y_bar, i, v):
            g = y_bar[i, 2]
            y_bar[i, 2] = 0.0
            v_bar = g * v
            y_bar[i, 2] += g
            return y_bar, v_bar""")
    assert changed and "= 0.0" not in out and "+=" not in out
    for between in ("w = y_bar[0, 0]", "i = i + 1", "g = g * 2.0", "g[0] = 1.0", "g.fill(0.0)"):
        # a read of y_bar, the index or g rebound, g changed in place
        changed, out = _dropped(f"""
            def f(y_bar, i, v):
                g = y_bar[i, 2]
                y_bar[i, 2] = 0.0
                {between}
                y_bar[i, 2] += g
                return y_bar, g""")
        assert not changed, between
    changed, _ = _dropped("""
        def f(y_bar, i, j, v):
            g = y_bar[i]
            y_bar[i] = 0.0
            y_bar[j] += g
            return y_bar""")
    assert not changed  # another index: not the same item


def test_power_iteration_adjoints_have_shapes_and_accumulate_in_place():
    # the adjoint of a whole vector's norm, s2s.grad_norm(g, ans, w, ...) of a number g, is 0.0 or w's shape
    # (`ZeroOr`): the loop's adjoints kept their shapes (4 notes before, grad_matmul and unbroadcast kept);
    # S_bar, a sum of np.outer over the loop's trips read after it by `S_bar + S_bar.T`, is one product after
    # the loop (transforms/outer_sums.py);
    # a reduction of arithmetic is an array method. 15x its primal before, under 4x after
    from ordinary_wild import top_eigenvalue
    r = np.random.default_rng(0)
    args = (r.normal(size=(6, 6)), r.normal(size=6), 8)
    src = s2s.source(s2s.grad(top_eigenvalue), *args)
    assert "# s2s:" not in src and "grad_norm" not in src and "np.sum(" not in src, src
    assert src.count("np.outer(") == 1 and "S_bar += w_bar_columns @ np.stack(rows_v)" in src, src  # (before the loop)
    assert "v_bar @ v" in src, src  # (np.sum(-v_bar * v / n): a dot product)
    g = s2s.grad(top_eigenvalue)
    for _ in range(2):
        assert np.allclose(g(*args), fd_grad(top_eigenvalue, args, 0), rtol=1e-5, atol=1e-7)


def record_state(x):
    state_h = 2.0  # (a name the record's variables must not take)
    state = {"h": x * 1.0, "n": 0.0, "odd key": 3.0}
    for _ in range(3):
        state["h"] = np.tanh(state["h"]) * state_h
        state["n"] += np.sum(state["h"]) * state["odd key"]
        state["h"][0] = 0.5
    return state["n"]


def _total(d):
    return np.sum(d["a"] ** 2)


def record_passed_on(x):
    d = {"a": x}
    d["a"] = d["a"] * 2.0
    return _total(d)


def record_with_new_key(x):
    d = {"a": x}
    d["b"] = d["a"] * 2.0  # a key the display does not make: stays a dict
    return np.sum(d["b"] * d["a"]) * len(d)


def record_swap_and_item(x):
    d = {"a": x * 1.0, "b": 2.0}
    d["a"][0] = 5.0  # (refused before: an item assignment into d["a"])
    d["a"], d["b"] = d["b"] * x, d["a"]  # both values read before either is bound, as Python does
    return np.sum(d["a"] * d["b"] ** 2)


def record_get_and_in(x):  # (adv223: d.get("p", 0.0) was refused as an unknown method)
    d = {"p": x[0], "q": x[1:] * 2.0}
    scale = 3.0
    extra = d.get("r", scale) * d.get("p") + (1.0 if "q" in d else 0.0) + (5.0 if "r" in d else 0.0)
    return d.get("p", 0.0) * np.sum(d["q"]) + extra + np.sum(d.get("q", x) ** 2) * (d.get("z") is None)


@pytest.mark.parametrize("f", [record_state, record_passed_on, record_with_new_key, record_swap_and_item,
                               record_get_and_in])
def test_local_dict_of_literal_keys_is_a_name_per_key(f):
    # the GRU of ordinary_wild.py keeps h and the loss in a dict it updates in its loop: the dict was copied at
    # every update (s2s.setitem), checked for shared items (s2s.unshared), and its items had no shapes (40
    # notes, 7.8x its primal); a name per key gives 0 notes and 2.1x. A dict passed on or asked otherwise stays
    x = np.array([0.3, -0.2, 0.9])
    _check(f, (x,))
    src = s2s.source(s2s.grad(f), x)
    if f is record_state:
        code = [line for line in src.splitlines() if not line.strip().startswith("#")]
        assert not any("unshared" in line or "{" in line for line in code), src


def test_gru_with_a_state_dict_is_specialised():
    from ordinary_wild import gru_state_dict
    r = np.random.default_rng(1)
    params = {k: r.normal(size=(2 if k[0] == "W" else 3, 3)) * 0.3 for k in ("Wz", "Uz", "Wr", "Ur", "Wh", "Uh")}
    xs = r.normal(size=(4, 2))
    src = s2s.source(s2s.grad(gru_state_dict), params, xs)
    assert "# s2s:" not in src and "setitem" not in src and "unshared" not in src, src
    got = s2s.grad(gru_state_dict)(params, xs)
    for key, value in params.items():
        def along(w, key=key):
            return gru_state_dict({**params, key: w}, xs)
        assert np.allclose(got[key], fd_grad(along, (value,), 0), rtol=1e-5, atol=1e-8), key


@pytest.mark.parametrize("name", ["configured_loss", "xy_energy", "black_scholes"])
def test_specialised_without_notes_and_without_the_unread_value(name):
    # configured_loss: a dict argument holding a string ({"loss": "huber", ...}) was not specialised at all (its
    # structure key refused strings; reading cfg["loss"] then dropped every container fact), nor one asked
    # cfg.get("l2", 0.0); np.where's adjoint s2s.grad_where had no shape (15 notes, 4.7x). xy_energy: np.roll had
    # no shape (8 notes). black_scholes: np.where of a comparison kept the price, which the gradient does not read
    import ordinary_wild
    f = getattr(ordinary_wild, name)
    r = np.random.default_rng(3)
    if name == "configured_loss":
        X = r.normal(size=(30, 4))
        args, wrt = (r.normal(size=4) * 0.1, X, X @ r.normal(size=4) + r.standard_t(2, size=30),
                     {"loss": "huber", "delta": 1.0, "l1": 1e-3, "l2": 1e-2}), 0
    elif name == "xy_energy":
        args, wrt = (r.uniform(-np.pi, np.pi, size=(6, 6)),), 0
    else:
        S = 100.0 * np.exp(0.1 * r.normal(size=12))
        args, wrt = (0.2 + 0.05 * r.random(12), S, np.full(12, 100.0), np.linspace(0.1, 2.0, 12)), (0, 1)
    src = s2s.source(s2s.grad(f, wrt=wrt), *args)
    assert "# s2s:" not in src and "unbroadcast" not in src and "grad_where" not in src, src
    assert "= np.sum(price)" not in src and "= np.where(t" not in src.split("_bar")[0], src
    for w in (wrt if isinstance(wrt, tuple) else (wrt,)):
        got = s2s.grad(f, wrt=w)(*args)
        assert np.allclose(got, fd_grad(f, args, w), rtol=1e-5, atol=1e-7), (name, w)
    if name == "configured_loss":  # another string gives other code, the key holding the string's type
        other = {**args[3], "loss": "squared"}
        got = s2s.grad(f)(*args[:3], other)
        assert np.allclose(got, fd_grad(f, (*args[:3], other), 0), rtol=1e-5, atol=1e-7)


def test_helpers_calling_array_methods_are_adopted():
    # layer_norm's x.mean(axis=-1, keepdims=True) and softmax's z.max(axis=-1, keepdims=True) kept both helpers
    # calls of their own (a pullback closure each, the caller's shapes lost after them: 23 notes, 5.2x); desugar
    # writes those methods as NumPy functions in the caller's code as in the helper's, so they are adopted
    from ordinary_wild import transformer_block
    r = np.random.default_rng(4)
    d = 4
    p = {"Wq": r.normal(size=(d, d)), "Wk": r.normal(size=(d, d)), "Wv": r.normal(size=(d, d)),
         "Wo": r.normal(size=(d, d)), "g1": np.ones(d), "b1": np.zeros(d), "g2": np.ones(d), "b2": np.zeros(d),
         "W1": r.normal(size=(d, 6)), "W2": r.normal(size=(6, d))}
    x = r.normal(size=(3, d))
    src = s2s.source(s2s.grad(transformer_block), p, x)
    assert "_vjp" not in src and "unbroadcast" not in src, src
    got = s2s.grad(transformer_block)(p, x)
    for key, value in p.items():
        def along(w, key=key):
            return transformer_block({**p, key: w}, x)
        assert np.allclose(got[key], fd_grad(along, (value,), 0), rtol=1e-4, atol=1e-7), key
