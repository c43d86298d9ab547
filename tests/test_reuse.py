"""An array temporary read once by elementwise arithmetic takes the result in place (transforms/reuse.py).

Each program: the source shows the in-place update (or keeps the new array where the proof does
not hold), and the gradient equals the general code's (s2s.derivative) exactly and agrees with
central differences and autograd.
"""

import ast

import numpy as np
from helpers_fd import check_all

import s2s


def relu_layer(W, X):
    return np.sum((np.maximum(X @ W, 0.0) - 0.5) ** 2)  # (of its square, the mask would go: test_extremes.py)


def tanh_mlp(W1, W2, X):
    h = np.tanh(X @ W1)
    return np.sum(np.tanh(h @ W2) ** 2)


def broadcast_grows(w, X):
    return np.sum(np.sin(w) * X)  # w (3,), X (4, 3): the product is larger than w's adjoint


def squared_error(W1, W2, x, y):
    h = np.tanh(x @ W1)
    return np.mean((h @ W2 - y) ** 2)  # h @ W2 - y into h @ W2's array, then its adjoint into that one again


def carried(W, x):
    s = 0.0
    u = np.zeros(3)
    for _ in range(3):
        a = W @ x
        s = s + np.sum(u * x)  # u of the previous trip, read before this trip's u
        u = a * x
    return s + np.sum(u)


def float32_case(W, X):
    return np.sum(np.tanh(X @ W) ** 2)


def _aug(src):
    fdef = ast.parse(src).body[-1]
    return [ast.unparse(s) for s in ast.walk(fdef) if isinstance(s, ast.AugAssign)]


def test_relu_mask_multiplies_in_place_and_ties_are_kept():
    rng = np.random.default_rng(0)
    W, X = rng.normal(size=(3, 4)), rng.normal(size=(5, 3))
    src = s2s.source(s2s.grad(relu_layer), W, X)
    assert any("*= " in line for line in _aug(src)), src
    np.testing.assert_array_equal(s2s.grad(relu_layer)(W, X), s2s.derivative(relu_layer)(W, X))
    check_all(relu_layer, (W, X), wrt=(0, 1))
    Xt = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])  # X @ W has entries exactly 0: the ReLU's ties
    np.testing.assert_array_equal(s2s.grad(relu_layer)(W, Xt), s2s.derivative(relu_layer)(W, Xt))


def test_tanh_layers_multiply_in_place():
    rng = np.random.default_rng(1)
    W1, W2, X = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(5, 3))
    src = s2s.source(s2s.grad(tanh_mlp), W1, W2, X)
    assert len([line for line in _aug(src) if "*= " in line]) >= 2, src
    np.testing.assert_array_equal(s2s.grad(tanh_mlp)(W1, W2, X), s2s.derivative(tanh_mlp)(W1, W2, X))
    check_all(tanh_mlp, (W1, W2, X), wrt=(0, 1))


def test_a_chain_of_reuses_reads_the_array_it_ended_in():
    rng = np.random.default_rng(4)
    W1, W2, x, y = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    src = s2s.source(s2s.grad(squared_error, wrt=(0, 1)), W1, W2, x, y)
    assert len(_aug(src)) >= 3, src
    for g, e in zip(s2s.grad(squared_error, wrt=(0, 1))(W1, W2, x, y), s2s.derivative(squared_error, wrt=(0, 1))(W1, W2, x, y)):
        np.testing.assert_array_equal(g, e)
    check_all(squared_error, (W1, W2, x, y), wrt=(0, 1))


def test_loop_carried_result_keeps_its_own_name():
    rng = np.random.default_rng(5)
    W, x = rng.normal(size=(3, 3)), rng.normal(size=3)
    # (W's adjoint, a sum of outer products over trips, is one product after the loop: added in another order)
    np.testing.assert_allclose(s2s.grad(carried, wrt=(0, 1))(W, x)[0], s2s.derivative(carried, wrt=(0, 1))(W, x)[0],
                               rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(s2s.grad(carried, wrt=(0, 1))(W, x)[1], s2s.derivative(carried, wrt=(0, 1))(W, x)[1])
    check_all(carried, (W, x), wrt=(0, 1))


def test_no_reuse_where_the_result_is_larger():
    rng = np.random.default_rng(2)
    w, X = rng.normal(size=3), rng.normal(size=(4, 3))
    np.testing.assert_array_equal(s2s.grad(broadcast_grows)(w, X), s2s.derivative(broadcast_grows)(w, X))
    check_all(broadcast_grows, (w, X), wrt=(0, 1))


def test_float32_code_is_not_rewritten_in_place():
    rng = np.random.default_rng(3)
    W, X = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(5, 3)).astype(np.float32)
    assert _aug(s2s.source(s2s.grad(float32_case), W, X)) == []
    got = s2s.grad(float32_case)(W, X)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, s2s.derivative(float32_case)(W, X))


def stencil(u0, r):
    u = u0.copy()
    for _ in range(3):
        un = u.copy()
        u[1:-1] = un[1:-1] + r * (un[2:] - 2 * un[1:-1] + un[:-2])
    return np.sum(u ** 2)


def test_a_negation_scaled_in_place_is_one_product():
    """`t = -a; t *= 2` (the adjoint of `2 * v` read by `... - t`) is written `t = -2 * a`: one pass."""
    u0, r = np.sin(np.linspace(0.0, 3.0, 9)), 0.3
    src = s2s.source(s2s.grad(stencil, wrt=(0, 1)), u0, r)
    assert any(" = -2 * " in line for line in src.splitlines()) and "*= 2" not in src, src
    for g, e in zip(s2s.grad(stencil, wrt=(0, 1))(u0, r), s2s.derivative(stencil, wrt=(0, 1))(u0, r)):
        np.testing.assert_allclose(g, e, rtol=1e-13)
    check_all(stencil, (u0, r), wrt=(0, 1), use_autograd=False)
