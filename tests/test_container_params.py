"""Parameters passed in containers (a dict `params["W1"]`, a list of `(W, b)` layers, a tuple unpacked):
the derivative is specialised to the container's structure (s2s/argshapes.py) where shape inference
proves no statement can change a container inside the argument (transforms/shapes.py,
`Shapes._held_containers`); elsewhere the general code runs. Either way the gradient is right:
each case is checked against central differences and autograd.
"""

from __future__ import annotations

import ast
import linecache

import autograd
import numpy as np
import pytest

import s2s
from s2s.pytree import leaves
from tests.helpers_fd import autograd_version
from tests.tape_text import backward_loops

RNG = np.random.default_rng(7)


def fd_tree(f, tree, *rest, eps=1e-6):
    """Central differences of `f(tree, *rest)` for every leaf of `tree` (arrays changed in place, restored)."""
    out = []
    for leaf in leaves(tree):
        if isinstance(leaf, np.ndarray):
            g = np.zeros(leaf.shape)
            for i in np.ndindex(leaf.shape):
                old = leaf[i]
                leaf[i] = old + eps
                up = f(tree, *rest)
                leaf[i] = old - eps
                down = f(tree, *rest)
                leaf[i] = old
                g[i] = (up - down) / (2 * eps)
            out.append(g)
        else:
            out.append(None)  # (a number leaf: checked by autograd)
    return out


def check(f, tree, *rest):
    """s2s's gradient for `tree` against central differences and autograd; returns it."""
    g = s2s.grad(f)(tree, *rest)
    assert type(g) is type(tree)
    got = leaves(g)
    for a, b in zip(got, fd_tree(f, tree, *rest)):
        if b is not None:
            assert np.shape(a) == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    expected = leaves(autograd.grad(autograd_version(f))(tree, *rest))
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    return g


def specialised(f, *args) -> bool:
    """Whether the code for these arguments lost the general helpers (shapes known throughout)."""
    src = s2s.source(s2s.grad(f), *args)
    return "unbroadcast(" not in src and "grad_matmul" not in src and "expand_reduced" not in src


# ---- programs ------------------------------------------------------------------------------------------

def mlp_dict(params, X, y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    out = h @ params["W2"] + params["b2"]
    return np.mean((out - y) ** 2)


def layers_loop(params, x):
    for W, b in params:
        x = np.tanh(x @ W + b)
    return np.sum(x ** 2)


def layers_indexed(params, x):
    for i in range(len(params)):
        x = np.tanh(x @ params[i][0] + params[i][1])
    return np.sum(x)


def layers_of_dicts(params, x):
    for layer in params:
        x = np.tanh(x @ layer["W"] + layer["b"])
    return np.mean(x)


def unpacked(params, X, y):
    W1, b1, W2, b2 = params
    h = np.tanh(X @ W1 + b1)
    return np.mean((h @ W2 + b2 - y) ** 2)


def last_apart(params, X):
    h = X
    for W, b in params[:-1]:
        h = np.maximum(h @ W + b, 0.0)
    W, b = params[-1]
    return np.sum((h @ W + b) ** 2)


def nested(params, x):
    enc = params["enc"]
    return np.sum(np.tanh(x @ enc[0] + enc[1]) * params["scale"]) + params["bias"] ** 2


def mlp_l2_over_values(params, X, y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    fit = np.mean((h @ params["W2"] + params["b2"] - y) ** 2)
    return fit + 0.1 * sum(np.sum(w * w) for w in params.values()) + 0.01 * len(list(params.keys()))


def mlp_l2_over_items(params, X, y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    fit = np.mean((h @ params["W2"] + params["b2"] - y) ** 2)
    return fit + sum(0.1 * np.sum(w * w) for name, w in params.items() if name.startswith("W"))


def X_y(n=6, d=4, k=1):
    return RNG.normal(size=(n, d)), RNG.normal(size=(n, k))


def dict_params(d=4, h=5, k=1, dtype=float):
    return {"W1": RNG.normal(size=(d, h)).astype(dtype), "b1": RNG.normal(size=h).astype(dtype),
            "W2": RNG.normal(size=(h, k)).astype(dtype), "b2": RNG.normal(size=k).astype(dtype)}


def equal_layers(n=3, d=4):
    return [(RNG.normal(size=(d, d)) * 0.5, RNG.normal(size=d)) for _ in range(n)]


def sized_layers(sizes=(4, 5, 3, 2)):
    return [(RNG.normal(size=(a, b)) * 0.5, RNG.normal(size=b)) for a, b in zip(sizes[:-1], sizes[1:])]


# ---- right, and specialised ---------------------------------------------------------------------------

def test_dict_of_arrays():
    X, y = X_y()
    params = dict_params()
    check(mlp_dict, params, X, y)
    assert specialised(mlp_dict, params, X, y)


@pytest.mark.parametrize("f", [mlp_l2_over_values, mlp_l2_over_items])
def test_keys_values_and_items_read_a_dict_without_changing_it(f):
    X, y = X_y()
    params = dict_params()
    check(f, params, X, y)
    src = s2s.source(s2s.grad(f), params, X, y)
    assert "grad_matmul" not in src, src  # the items read by literal keys keep their shapes


def test_list_of_equal_layers_is_specialised_through_the_loop():
    x = RNG.normal(size=(3, 4))
    params = equal_layers()
    check(layers_loop, params, x)
    check(layers_indexed, params, x)
    assert specialised(layers_loop, params, x)
    assert specialised(layers_indexed, params, x)


def test_layers_of_other_sizes():
    x = RNG.normal(size=(3, 4))
    params = sized_layers()
    check(layers_loop, params, x)
    check(last_apart, params, x)


def test_list_of_dicts():
    x = RNG.normal(size=(3, 4))
    params = [{"W": RNG.normal(size=(4, 4)) * 0.5, "b": RNG.normal(size=4)} for _ in range(2)]
    check(layers_of_dicts, params, x)
    assert specialised(layers_of_dicts, params, x)


def test_tuple_unpacked():
    X, y = X_y()
    p = dict_params()
    params = (p["W1"], p["b1"], p["W2"], p["b2"])
    check(unpacked, params, X, y)
    assert specialised(unpacked, params, X, y)
    check(unpacked, list(params), X, y)


def test_nested_containers_with_number_leaves():
    x = RNG.normal(size=(3, 4))
    params = {"enc": (RNG.normal(size=(4, 2)), RNG.normal(size=2)), "scale": 0.7, "bias": 1.5}
    g = check(nested, params, x)
    assert type(g["scale"]) is float and type(g["enc"]) is tuple


def test_float32_leaves_keep_their_dtype():
    X, y = X_y()
    params = dict_params(dtype=np.float32)
    g = s2s.grad(mlp_dict)(params, X.astype(np.float32), y.astype(np.float32))
    assert all(g[k].dtype == np.float32 for k in params)
    g64 = s2s.grad(mlp_dict)({k: v.astype(float) for k, v in params.items()}, X.astype(np.float32), y.astype(np.float32))
    for k in params:
        np.testing.assert_allclose(g[k], g64[k], rtol=1e-3, atol=1e-4)


def test_zero_d_and_empty_leaves():
    def f(params, x):
        return np.sum(x * params["a"]) + np.sum(params["e"]) * params["a"]
    params = {"a": np.array(1.5), "e": np.zeros(0)}
    g = s2s.grad(f)(params, RNG.normal(size=3))
    assert g["a"].shape == () and g["e"].shape == (0,)
    check(f, {"a": np.array(1.5), "e": RNG.normal(size=2)}, RNG.normal(size=3))


def test_empty_list_of_layers():
    x = RNG.normal(size=(3, 4))
    assert s2s.grad(layers_loop)([], x) == []


# ---- a change of structure between calls gets code of its own -----------------------------------------

def test_structure_changes_between_calls():
    X, y = X_y(d=4)
    grad = s2s.grad(mlp_dict)
    first = grad(dict_params(h=5), X, y)
    assert first["W1"].shape == (4, 5)
    wider = dict_params(h=7)
    g = grad(wider, X, y)
    assert g["W1"].shape == (4, 7) and g["b1"].shape == (7,)
    check(mlp_dict, wider, X, y)
    # a broadcast bias, then a full one: shapes that make unbroadcast matter
    p = dict_params()
    p["b1"] = np.array([0.3])
    g = grad(p, X, y)
    assert g["b1"].shape == (1,)
    check(mlp_dict, p, X, y)
    x = RNG.normal(size=(3, 4))
    layer_grad = s2s.grad(layers_loop)
    for params in (equal_layers(2), equal_layers(3), sized_layers()):
        assert [w.shape for w, _ in layer_grad(params, x)] == [w.shape for w, _ in params]


def test_a_leaf_broadcast_only_in_some_layers():
    x = RNG.normal(size=(3, 4))
    params = equal_layers(3)
    params[1] = (params[1][0], np.array([0.2]))  # a bias of one item: its adjoint is summed
    g = check(layers_loop, params, x)
    assert g[1][1].shape == (1,)


# ---- what no proof covers runs the general code, and is right -----------------------------------------

def appends_a_layer(params, x):
    params.append((np.eye(4), np.zeros(1)))
    for W, b in params:
        x = np.tanh(x @ W + b)
    return np.sum(x)


def replaces_an_item(params, x):
    params["b1"] = np.zeros(1) + params["b1"][0]
    return np.sum(np.tanh(x @ params["W1"] + params["b1"]))


def _widen(layer):
    layer[1] = np.zeros(1) + layer[1][0]


def helper_changes_a_layer(params, x):
    _widen(params[0])
    W, b = params[0]
    return np.sum(np.tanh(x @ W + b))


def fd_fresh(f, tree, *rest, eps=1e-6):
    """`fd_tree` for a function that changes its argument: each evaluation gets a copy of it."""
    import copy
    return fd_tree(lambda t, *r: f(copy.deepcopy(t), *r), tree, *rest, eps=eps)


def check_fresh(f, tree, *rest, refused=False):
    """s2s's value and gradient of `f` (which changes its argument) against a run on a copy and central
    differences (or, with `refused`, that s2s refuses it); returns the gradient."""
    import copy
    if refused:
        with pytest.raises(s2s.S2SError):
            s2s.value_and_grad(f)(copy.deepcopy(tree), *rest)
        return None
    expected_value = f(copy.deepcopy(tree), *rest)
    value, g = s2s.value_and_grad(f)(copy.deepcopy(tree), *rest)
    assert np.isclose(value, expected_value)
    for a, b in zip(leaves(g), fd_fresh(f, tree, *rest)):
        assert np.shape(a) == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    return g


def test_a_changed_container_is_not_specialised():
    x = RNG.normal(size=(3, 4))
    g = check_fresh(appends_a_layer, equal_layers(2), x)
    assert len(g) == 2  # the list the caller passed had two layers
    p = dict_params()
    p["b1"] = RNG.normal(size=5)
    g = check_fresh(replaces_an_item, p, x)
    assert g["b1"].shape == (5,)


def test_a_helper_that_changes_a_layer_in_place_is_refused():
    x = RNG.normal(size=(3, 4))
    check_fresh(helper_changes_a_layer, [[RNG.normal(size=(4, 4)), RNG.normal(size=4)]], x, refused=True)


@pytest.mark.parametrize("mutation, refused", [
    ("params.pop()", True), ("params.insert(0, params[0])", True), ("params.reverse()", True),
    ("params.sort(key=len)", True), ("del params[-1]", True),
    ("layer = params[0]; layer[1] = np.zeros(1) + layer[1][0]", True), ("q = params; q[1] = q[0]", True),
    ("params[0] = (params[0][0], np.zeros(1) + params[0][1][0])", False), ("params += [params[0]]", False),
    ("params = params[::-1]", False), ("params = params[:2] + [(params[2][0] * 2, params[2][1][:1])]", False),
])
def test_list_changes_in_every_form(mutation, refused):
    src = (f"def f(params, x):\n    {mutation}\n    for W, b in params:\n        x = np.tanh(x @ W + b)\n"
           "    return np.sum(x)\n")
    namespace = {"np": np}
    name = f"<s2s-test-mutation-{mutation}>"
    linecache.cache[name] = (len(src), None, src.splitlines(True), name)
    exec(compile(src, name, "exec"), namespace)
    params = equal_layers(3)
    if "layer[1]" in mutation:
        params = [list(p) for p in params]
    check_fresh(namespace["f"], params, RNG.normal(size=(3, 4)), refused=refused)


# ---- loops over layers of different sizes are written out (transforms/unroll.py) ---------------------

def counter_after(params, x):
    for i in range(len(params)):
        x = np.tanh(x @ params[i][0] + params[i][1])
    return np.sum(x) * (i + 1)


def breaks_early(params, x):
    for W, b in params:
        x = np.tanh(x @ W + b)
        if np.sum(x) > 1e9:
            break
    return np.sum(x ** 2)


def layers_over_time(params, xs):
    total = 0.0
    for t in range(xs.shape[0]):
        h = xs[t]
        for W, b in params:
            h = np.tanh(h @ W + b)
        total = total + np.sum(h)
    return total


def collects_layers(params, x):
    outs = []
    for W, b in params:
        x = np.tanh(x @ W + b)
        outs.append(np.sum(x))
    return sum(outs)


def test_layers_of_other_sizes_are_written_out():
    x = RNG.normal(size=(3, 4))
    params = sized_layers()
    for f in (layers_loop, last_apart, layers_indexed, counter_after, collects_layers):
        check(f, params, x)
        assert specialised(f, params, x), f.__name__
    src = s2s.source(s2s.grad(layers_loop), params, x)
    assert "    for " not in src.replace("# for ", "") and "stack" not in src  # three copies of the body, no tape


def test_loops_that_are_not_written_out_stay_right():
    x = RNG.normal(size=(3, 4))
    check(breaks_early, sized_layers(), x)
    many = sized_layers((4,) + (5, 3) * 5)  # ten layers: over MAX_TRIPS, the loop stays
    check(layers_loop, many, x)
    assert backward_loops(s2s.source(s2s.grad(layers_loop), many, x)) == 1
    check(layers_over_time, sized_layers(), RNG.normal(size=(3, 4)))


# ---- item adjoints kept one per item; item reads out of loops -----------------------------------------

def rnn_dict(params, xs):
    h = np.zeros(params["Wh"].shape[0])
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(params["Wh"] @ h + params["Wx"] @ xs[t] + params["b"])
        loss = loss + np.sum((params["Wo"] @ h) ** 2)
    return loss


def keys_iterated(params, x):
    total = 0.0
    for k in params:
        total = total + np.sum(np.tanh(x * params[k]))
    return total


def last_read_after_loop(params, xs):
    s = 0.0
    for t in range(xs.shape[0]):
        W = params["W"]
        s = s + np.sum(np.tanh(xs[t] @ W))
    return s + np.sum(W)


def rnn_params():
    return {"Wh": RNG.normal(size=(5, 5)) * 0.4, "Wx": RNG.normal(size=(5, 3)) * 0.4, "b": RNG.normal(size=5) * 0.1,
            "Wo": RNG.normal(size=(2, 5)) * 0.4}


def test_item_adjoints_are_one_per_item():
    X, y = X_y()
    params = dict_params()
    src = s2s.source(s2s.grad(mlp_dict), params, X, y)
    assert "getitem_grad" not in src and "s2s.add(" not in src
    assert "return {'W1': " in src  # (each item an adjoint of its own: the dict as made, transforms/finish.py)
    xs = RNG.normal(size=(6, 3))
    check(rnn_dict, rnn_params(), xs)
    src = s2s.source(s2s.grad(rnn_dict), rnn_params(), xs)
    assert "getitem_grad" not in src and "s2s.add(" not in src and "# s2s:" not in src


def test_item_reads_leave_the_loop():
    xs = RNG.normal(size=(6, 3))
    src = s2s.source(s2s.grad(rnn_dict), rnn_params(), xs)
    loops = [n for n in ast.walk(ast.parse(src)) if isinstance(n, ast.For)]
    assert loops and not any(isinstance(n, ast.Name) and n.id == "params" for loop in loops for n in ast.walk(loop))
    # (read once, before the loop: nothing of them on the tape)
    check(last_read_after_loop, {"W": RNG.normal(size=(3, 2))}, RNG.normal(size=(4, 3)))


def test_a_loop_of_no_trips_binds_nothing():
    # W is read after the loop: its read stays in the loop, and with no trip it is unbound, as in Python
    params, xs = {"W": RNG.normal(size=(3, 2))}, np.zeros((0, 3))
    with pytest.raises(UnboundLocalError):
        last_read_after_loop(params, xs)
    with pytest.raises((UnboundLocalError, NameError)):
        s2s.value_and_grad(last_read_after_loop)(params, xs)
    with pytest.raises((UnboundLocalError, NameError)):  # (the unread np.sum(W) kept: it may raise)
        s2s.grad(last_read_after_loop)(params, xs)


def test_items_by_computed_keys_stay_general_and_right():
    x = RNG.normal(size=3)
    check(keys_iterated, {"a": RNG.normal(size=3), "b": RNG.normal(size=3)}, x)
    check(keys_iterated, {"a": RNG.normal(size=3), "b": RNG.normal(size=1)}, x)


def gaussian_fit(params, x):
    sigma = np.exp(params["log_sigma"])
    return np.sum(((x - params["mu"]) / sigma) ** 2) / 2 + x.shape[0] * params["log_sigma"]


def test_numpy_scalar_leaves_are_numbers_of_their_dtype():
    # `np.log(0.5)` is an np.float64: the dict is specialised, as with a Python float there
    x = RNG.normal(size=20)
    params = {"mu": np.float64(0.3), "log_sigma": np.log(0.8)}
    assert type(params["log_sigma"]) is np.float64
    g = check(gaussian_fit, params, x)
    assert set(g) == {"mu", "log_sigma"}
    assert specialised(gaussian_fit, params, x)
    g32 = s2s.grad(gaussian_fit)({"mu": np.float32(0.3), "log_sigma": np.float32(-0.2)}, x.astype(np.float32))
    np.testing.assert_allclose([g32["mu"], g32["log_sigma"]],
                               [s2s.grad(gaussian_fit)({"mu": 0.3, "log_sigma": -0.2}, x)[k] for k in ("mu", "log_sigma")],
                               rtol=1e-3)


def _last_layer_by_negative_index(ps, x):
    h = np.tanh(ps[0] @ x + ps[1])
    return np.sum(np.tanh(ps[-1] @ h) ** 2)


def test_an_item_read_by_a_negative_index_has_an_adjoint_of_its_own():
    """`ps[-1]` (a unary minus in the AST, not a constant): its adjoint is one name, as ps[0]'s, not a list
    placed into ps's structure and added."""
    ps = [RNG.normal(size=(4, 3)), RNG.normal(size=4), RNG.normal(size=(2, 4))]
    x = RNG.normal(size=3)
    src = s2s.source(s2s.grad(_last_layer_by_negative_index), ps, x)
    assert "getitem_grad" not in src and "s2s.add" not in src, src
    got = s2s.grad(_last_layer_by_negative_index)(ps, x)
    for g, want in zip(got, fd_tree(_last_layer_by_negative_index, ps, x)):
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-8)


from tests.test_unroll import all_but_last_layer as _layers_loop  # noqa: E402


def test_the_items_of_a_layer_tuple_read_from_a_container_argument_have_adjoints_of_their_own():
    """`W, b = params[-1]`: the tuple read from the argument is no display, and its adjoint is still split item by
    item where a container argument is there (the adjoints of local tuples made by displays are split without
    one), so each layer's adjoint is the list display [W_bar, b_bar], not each item placed into a list and added."""
    params = [(RNG.normal(size=(3, 3)) * 0.5, RNG.normal(size=3)) for _ in range(3)]
    X = RNG.normal(size=(4, 3))
    src = s2s.source(s2s.grad(_layers_loop), params, X)
    assert "[W2_bar, b2_bar]" in src and "[W_bar, b_bar]" in src and "getitem_grad(b2_bar" not in src, src
    got = s2s.grad(_layers_loop)(params, X)
    for g, want in zip(leaves(got), fd_tree(_layers_loop, params, X)):
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-8)
