"""`s2s.finish(g, x)` is dropped where it would return the adjoint itself (transforms/finish.py)."""

import numpy as np
import pytest
from helpers_fd import check_all

import s2s


def matmul_loss(W, X):
    return np.sum(np.tanh(X @ W) ** 2)


def summed(x):
    return np.sum(x)  # the gradient is a broadcast of the seed: finish makes it an array of its own


def two(W, b, X):
    return np.sum(np.tanh(X @ W + b) ** 2)


def test_new_array_adjoint_is_returned_as_it_is():
    rng = np.random.default_rng(0)
    W, X = rng.normal(size=(3, 2)), rng.normal(size=(4, 3))
    src = s2s.source(s2s.grad(matmul_loss), W, X)
    assert "finish" not in src and src.rstrip().endswith("return W_bar"), src
    got = s2s.grad(matmul_loss)(W, X)
    assert type(got) is np.ndarray and got.dtype == np.float64 and got.shape == W.shape and got.flags.writeable
    np.testing.assert_array_equal(got, s2s.derivative(matmul_loss)(W, X))
    check_all(matmul_loss, (W, X), wrt=(0, 1))


def test_broadcast_adjoint_keeps_finish():
    x = np.ones((2, 3))
    src = s2s.source(s2s.grad(summed), x)
    assert "s2s.finish(" in src, src
    g = s2s.grad(summed)(x)
    assert g.flags.writeable and g.shape == (2, 3)
    g[0, 0] = 5.0  # an array of its own, not a read-only broadcast
    assert s2s.grad(summed)(x)[0, 0] == 1.0


def test_float32_argument_keeps_finish():
    rng = np.random.default_rng(1)
    W, X = rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=(4, 3)).astype(np.float32)
    assert "s2s.finish(" in s2s.source(s2s.grad(matmul_loss), W, X)
    assert s2s.grad(matmul_loss)(W, X).dtype == np.float32


def test_several_gradients():
    rng = np.random.default_rng(2)
    W, b, X = rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=(4, 3))
    got = s2s.grad(two, wrt=(0, 1))(W, b, X)
    for a, e in zip(got, s2s.derivative(two, wrt=(0, 1))(W, b, X)):
        np.testing.assert_array_equal(a, e)
    assert got[0].shape == W.shape and got[1].shape == b.shape
    check_all(two, (W, b, X), wrt=(0, 1, 2))


def bias_keepdims(W, b, X):  # b of shape (1, n): its adjoint is a sum with keepdims
    return np.sum(np.tanh(X @ W + b) ** 2)


def test_sum_over_an_axis_is_a_new_array_of_its_own():
    rng = np.random.default_rng(3)
    W, b, X = rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=(4, 3))
    src = s2s.source(s2s.grad(two, wrt=(0, 1)), W, b, X)
    assert "finish" not in src and "b_bar = " in src and ".sum(axis=0)" in src, src
    got = s2s.grad(two, wrt=(0, 1))(W, b, X)
    assert got[1].flags.writeable and got[1].dtype == np.float64 and got[1].base is None
    check_all(two, (W, b, X), wrt=(0, 1))


def test_sum_with_keepdims_of_the_arguments_shape_and_float32_keeps_finish():
    rng = np.random.default_rng(4)
    W, b, X = rng.normal(size=(3, 2)), rng.normal(size=(1, 2)), rng.normal(size=(4, 3))
    src = s2s.source(s2s.grad(bias_keepdims, wrt=1), W, b, X)
    assert "finish" not in src and "keepdims=True" in src, src
    got = s2s.grad(bias_keepdims, wrt=1)(W, b, X)
    assert got.shape == (1, 2) and got.flags.writeable
    check_all(bias_keepdims, (W, b, X), wrt=(1,))
    b32 = b.astype(np.float32)  # (a float32 argument's gradient is cast: finish stays)
    assert "s2s.finish(" in s2s.source(s2s.grad(bias_keepdims, wrt=1), W, b32, X)
    assert s2s.grad(bias_keepdims, wrt=1)(W, b32, X).dtype == np.float32


def logdet(A, X):
    n = X.shape[0]
    sign, value = np.linalg.slogdet(A @ A.T + 0.1 * np.eye(3))
    return 0.5 * np.sum(X * X) + 0.5 * n * value


def test_the_seed_guard_of_s2s_grad_is_folded():
    # `0.0 if s2s.is_zero(1.0) else ...`: the guard of an adjoint that is the seed, which s2s.grad leaves at 1.0
    rng = np.random.default_rng(5)
    A, X = rng.normal(size=(3, 3)), rng.normal(size=(4, 3))
    src = s2s.source(s2s.grad(logdet), A, X)
    assert "is_zero(1.0)" not in src and "is_zero" not in src, src
    check_all(logdet, (A, X), wrt=(0,))


def linear_in_x(a, x):
    return np.sum(a * x)


def linear_in_transpose(A, X):
    return np.sum(A.T * X)


def linear_in_items(params, x):
    return np.sum(params["W"] * x) + np.sum(params["b"])


def test_a_gradient_is_never_an_arguments_own_array():
    # the seed 1.0 folded, x's adjoint is `a` itself: handed back, `g *= 2` would change the caller's a
    a, x = np.ones(3), np.arange(3.0)
    g = s2s.grad(linear_in_x, wrt=1)(a, x)
    assert not np.shares_memory(g, a)
    np.testing.assert_array_equal(g, a)
    A, X = np.arange(6.0).reshape(2, 3), np.ones((3, 2))
    g = s2s.grad(linear_in_transpose, wrt=1)(A, X)
    assert not np.shares_memory(g, A)
    np.testing.assert_array_equal(g, A.T)
    value, g = s2s.value_and_grad(linear_in_x, wrt=(0, 1))(a, x)
    assert not np.shares_memory(g[0], x) and not np.shares_memory(g[1], a)
    x = np.arange(3.0)
    g = s2s.grad(linear_in_items, wrt=1)({"W": np.ones(3), "b": np.zeros(2)}, x)
    g = s2s.grad(linear_in_items)({"W": np.ones(3), "b": np.zeros(2)}, x)
    assert not np.shares_memory(g["W"], x)
    np.testing.assert_array_equal(g["W"], x)


def nested_item_times(ws, y):
    return np.sum(ws[0][0] * y)


def nested_dict_times(p, y):
    return np.sum(p["layer"]["W"] * y)


@pytest.mark.parametrize("f, make", [
    (nested_item_times, lambda: [[np.ones(3)]]),
    (nested_item_times, lambda: ([np.ones(3)],)),
    (nested_dict_times, lambda: {"layer": {"W": np.ones(3)}}),
])
def test_a_nested_containers_gradient_is_never_an_arguments_own_array(f, make):
    # its leaf's adjoint is `y` itself (helper 111): handed back, `g[0][0] *= 0.0` cleared the caller's y
    y = np.arange(3.0)
    g = s2s.grad(f)(make(), y)
    leaf = g[0][0] if f is nested_item_times else g["layer"]["W"]
    assert not np.shares_memory(leaf, y)
    np.testing.assert_array_equal(leaf, y)


def two_items_times(ws, y):
    return np.sum(ws[0][0] * y) + np.sum(ws[0][1] * y)


def item_in_a_branch(ws, y, flag):
    if flag:
        return np.sum(ws[0][0] * y)
    return np.sum(ws[0][1] * y)


def neighbour_products(Ws):
    s = 0.0
    for a, b in zip(Ws[:-1], Ws[1:]):
        s = s + np.sum(a * b)
    return s


def items_of_two_slices(Ws, Vs):
    t = Ws[1:]
    u = Vs[:1]
    return np.sum(t[0] * u[0])


def zipped_products(ws, ys):
    s = 0.0
    for w, y in zip(ws, ys):
        s = s + np.sum(w * y)
    return s


def zipped_heads(ws, ys):
    s = 0.0
    for w, y in zip(ws[:-1], ys[:-1]):
        s = s + np.sum(w * y.T)
    return s


def zipped_with_an_array(x, ys):
    s = 0.0
    for w, y in zip([x], ys):
        s = s + np.sum(w * y)
    return s


def beside_a_list_holding_itself(ws, meta, y):
    s = 0.0
    for k in range(len(ws)):
        s = s + np.sum(ws[k] * y)
    return s


def _holding_itself():
    meta = []
    meta.append(meta)
    return meta


def _leaves(g, seen=None):
    seen = set() if seen is None else seen
    if isinstance(g, list | tuple | dict):
        if id(g) in seen:  # (a list holding itself)
            return []
        seen.add(id(g))
        return [leaf for item in (g.values() if isinstance(g, dict) else g) for leaf in _leaves(item, seen)]
    return [g]


@pytest.mark.parametrize("f, args, wrt", [
    (two_items_times, lambda: ([[np.zeros(2), np.zeros(2)]], np.array([1.0, 2.0])), 0),
    (two_items_times, lambda: (((np.zeros(2), np.zeros(2)),), np.array([1.0, 2.0])), 0),
    (item_in_a_branch, lambda: ([[np.zeros(2), np.zeros(2)]], np.array([1.0, 2.0]), True), 0),
    (neighbour_products, lambda: ([np.ones(2), np.arange(2.0), np.arange(2.0) + 5],), 0),
    (items_of_two_slices, lambda: ([np.ones(2), np.ones(2)], [np.array([3.0, 4.0])]), (0, 1)),
    (zipped_products, lambda: ([np.ones(3), np.ones(3)], [np.arange(3.0), np.arange(3.0) + 1]), 0),
    (zipped_heads, lambda: ([np.ones((2, 2))] * 3, [np.arange(4.0).reshape(2, 2)] * 3), 0),
    (zipped_with_an_array, lambda: (np.ones(3), [np.arange(3.0)]), 0),
    (beside_a_list_holding_itself, lambda: ([np.ones(3), np.ones(3)], _holding_itself(), np.arange(3.0)), 0),
])
def test_a_container_gradient_made_at_run_time_holds_no_arguments_array(f, args, wrt):
    # item adjoints added by s2s.add, placed by getitem_grad or grad_iterated, or bound in branches: the leaves
    # that are an argument's own array are copied when the code runs (s2s.leaves_apart; helper 112)
    given = args()
    g = s2s.grad(f, wrt=wrt)(*given)
    arrays = [a for a in _leaves(list(given)) if isinstance(a, np.ndarray)]
    for leaf in _leaves(g):
        assert not any(np.shares_memory(leaf, a) for a in arrays)
    want = s2s.grad(f, wrt=wrt, optimize=False)(*args())
    for a, b in zip(_leaves(g), _leaves(want)):
        np.testing.assert_array_equal(a, b)


def test_the_runtime_finish_of_a_container_is_the_container_of_its_leaves_finished():
    """The list, tuple and dict fast path (each array's own adjoint taken without a call) gives what finishing
    leaf by leaf gives: a broadcast view copied, float32 kept, zeros and numbers made, list or tuple kept."""
    from s2s.runtime.adjoint import finish
    from s2s.runtime.zero import ZERO

    rng = np.random.default_rng(5)
    W, b, h = rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=4).astype(np.float32)
    view = np.broadcast_to(1.5, W.shape)
    leaves = [(rng.normal(size=W.shape), W), (view, W), (ZERO, b), (rng.normal(size=4), h), (2.0, 1.5), (3, 1),
              (rng.normal(size=(1, 2)), W), (np.float64(0.5), 2.0)]
    for kind in (list, tuple):
        g, x = kind(gi for gi, _ in leaves), kind(xi for _, xi in leaves)
        got = finish(g, x)
        assert type(got) is kind and len(got) == len(x)
        for out, (gi, xi) in zip(got, leaves):
            want = finish(gi, xi)
            assert type(out) is type(want) and np.shape(out) == np.shape(want)
            np.testing.assert_array_equal(out, want)
            assert getattr(out, "dtype", None) == getattr(want, "dtype", None)
            assert not isinstance(out, np.ndarray) or out.flags.writeable
        assert got[0] is g[0] and got[1] is not view
    g = {"W": view, "b": rng.normal(size=2), "h": rng.normal(size=4)}
    x = {"W": W, "b": b, "h": h, "k": 2.0}
    got = finish(g, x)
    assert list(got) == list(x) and got["b"] is g["b"] and got["k"] == 0.0 and got["h"].dtype == np.float32
    assert got["W"] is not view and got["W"].flags.writeable
    nested = finish([[W * 2, b * 2], (W * 3, b * 3)], [(W, b), [W, b]])
    assert type(nested[0]) is tuple and type(nested[1]) is list


# ---- a list, tuple or dict argument's gradient given as a display of adjoints of its own ----------------
def mlp_layers(Ws, bs, X):
    h = X
    for W, b in zip(Ws, bs):
        h = np.tanh(h @ W + b)
    return np.sum(h ** 2)


def mlp_dict(p, X):
    return np.sum(np.tanh(np.tanh(X @ p["W1"] + p["b1"]) @ p["W2"]) ** 2)


def _layers(r, kind=list, dtype=np.float64):
    Ws = kind(r.normal(size=s).astype(dtype) for s in ((3, 4), (4, 2)))
    bs = kind(r.normal(size=n).astype(dtype) for n in (4, 2))
    return Ws, bs, r.normal(size=(5, 3)).astype(dtype)


@pytest.mark.parametrize("kind", [list, tuple])
def test_a_list_or_tuple_gradient_of_adjoints_of_its_own_is_returned_as_made(kind):
    Ws, bs, X = _layers(np.random.default_rng(7), kind)
    src = s2s.source(s2s.grad(mlp_layers, wrt=(0, 1)), Ws, bs, X)
    assert "s2s.finish(" not in src and src.count("s2s.as_container_of(") == 2, src
    gWs, gbs = s2s.grad(mlp_layers, wrt=(0, 1))(Ws, bs, X)
    want = s2s.derivative(mlp_layers, wrt=(0, 1))(Ws, bs, X)
    assert type(gWs) is kind and type(gbs) is kind
    for got, expected in zip((*gWs, *gbs), (*want[0], *want[1])):
        assert got.flags.writeable and got.dtype == np.float64
        np.testing.assert_allclose(got, expected, rtol=1e-13)
    eps, W0 = 1e-6, np.array(Ws[0])
    up, down = W0.copy(), W0.copy()
    up[1, 2] += eps
    down[1, 2] -= eps
    numeric = (mlp_layers([up, Ws[1]], bs, X) - mlp_layers([down, Ws[1]], bs, X)) / (2 * eps)
    assert abs(gWs[0][1, 2] - numeric) < 1e-6 * max(1.0, abs(numeric))


def test_a_dict_gradient_is_a_display_in_the_arguments_key_order():
    r = np.random.default_rng(8)
    p = {"W2": r.normal(size=(4, 2)), "b1": r.normal(size=4), "W1": r.normal(size=(3, 4))}
    X = r.normal(size=(5, 3))
    src = s2s.source(s2s.grad(mlp_dict), p, X)
    assert "s2s.finish(" not in src, src
    got = s2s.grad(mlp_dict)(p, X)
    assert list(got) == list(p)  # (the argument's order, as finish gives it)
    want = s2s.derivative(mlp_dict)(p, X)
    for k in p:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-13)


def test_a_float32_list_keeps_finish():
    Ws, bs, X = _layers(np.random.default_rng(9), list, np.float32)
    src = s2s.source(s2s.grad(mlp_layers, wrt=(0, 1)), Ws, bs, X)
    assert "as_container_of" not in src, src
    gWs, gbs = s2s.grad(mlp_layers, wrt=(0, 1))(Ws, bs, X)
    assert all(g.dtype == np.float32 for g in (*gWs, *gbs))


def cast_to_float32(ps, X):
    W, b = ps
    z = np.float32(X @ W + b)  # float64 parameters, float32 terms: finish casts the gradient back to float64
    return np.sum(np.tanh(z) * X[:, :2])


def test_a_float64_list_with_float32_adjoints_keeps_finish():
    # (helper 117: the display of float32 adjoints was returned as made, float32 gradients for float64 leaves)
    r = np.random.default_rng(5)
    X = r.normal(size=(6, 3)).astype(np.float32)
    ps = [r.normal(size=(3, 2)), r.normal(size=2)]
    got = s2s.grad(cast_to_float32)(ps, X)
    want = s2s.grad(cast_to_float32, optimize=False)(ps, X)
    assert [g.dtype for g in got] == [g.dtype for g in want] == [np.float64, np.float64]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6)
