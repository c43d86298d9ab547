"""Ordinary programs of the kinds people publish, through the specialised s2s.grad: module-level helpers
expanded in the caller (transforms/inline.adopt_module_helpers), adjoints started at 0.0 before a loop
(shapes.ZeroOr), lists made into arrays (`np.array([a * x, b])`), slices and integer-array indices
read in loops (index_adjoints' runs), `.T`, `np.eye`, `np.arange`. Each against central differences
and the general code of s2s.derivative; where a rewrite applies, the printed code says so."""

import numpy as np
import pytest

import s2s
from s2s import pipeline
from tests.helpers_fd import fd_grad

# ---------------------------------------------------------------- programs (module level: s2s reads source)


def sigmoid(x):
    """A helper of one expression."""
    return 1.0 / (1.0 + np.exp(-x))


def gate_loop(W, U, xs):
    H = W.shape[0] // 2
    h = np.zeros(H)
    c = np.zeros(H)
    for t in range(xs.shape[0]):
        z = W @ h + U @ xs[t]
        c = sigmoid(z[:H]) * c + np.tanh(z[H:2 * H])
        h = np.tanh(c)
    return np.sum(h * h)


def field(u, theta):
    """A helper of several statements, unpacking an array and returning a new one."""
    a, b = theta
    x, y = u[0], u[1]
    return np.array([a * x - b * x * y, b * x * y - a * y])


def integrate(theta, u0):
    u = u0
    for _ in range(8):
        k1 = field(u, theta)
        k2 = field(u + 0.05 * k1, theta)
        u = u + 0.05 * (k1 + k2)
    return np.sum(u ** 2)


def xent(W, X, y):
    logits = np.tanh(X @ W)
    logp = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(X.shape[0]), y])


def gauss(A, X):
    n, d = X.shape
    S = A @ A.T + 0.5 * np.eye(d)
    D = np.linalg.solve(S, X.T)
    return np.sum(X.T * D) + n * np.linalg.slogdet(S)[1]


def windows(w, x):
    k = w.shape[0]
    total = 0.0
    for i in range(x.shape[0] - k + 1):
        total = total + np.tanh(x[i:i + k] @ w)
    return total


scale = 2.0


def scaled(x):
    return scale * x


def shadowing(x):
    scale = 3.0  # the helper's `scale` is the global one: not expanded here
    return np.sum(scaled(x)) * scale


def recursive(x, n):
    return x if n == 0 else recursive(x * x, n - 1)


def calls_recursive(x):
    return np.sum(recursive(x, 2))


def passed_on(x):
    f = sigmoid  # a function value: calls through it stay calls
    return np.sum(f(x) * sigmoid(x))


def with_default(x, k=2.0):
    return k * x


def calls_default(x):
    return np.sum(with_default(x))


def with_keyword_only(x, *, k=2.0):
    return k * x


def calls_keyword_only(x):
    return np.sum(with_keyword_only(x, k=3.0))


def appended(a, x):
    parts = [a * x, x]
    parts.append(a)  # changed after it was made: its items' shapes are not the array's
    return np.sum(np.array(parts) ** 2)


rng = np.random.default_rng(3)
CASES = [
    (gate_loop, (rng.normal(size=(6, 3)) * 0.5, rng.normal(size=(6, 2)), rng.normal(size=(4, 2))), 0),
    (integrate, (np.array([0.9, 0.3]), np.array([1.2, 0.8])), 0),
    (xent, (rng.normal(size=(3, 4)), rng.normal(size=(6, 3)), rng.integers(0, 4, size=6)), 0),
    (gauss, (rng.normal(size=(3, 3)), rng.normal(size=(7, 3))), 0),
    (windows, (rng.normal(size=3), rng.normal(size=9)), 0),
    (shadowing, (rng.normal(size=3),), 0),
    (calls_recursive, (rng.normal(size=3),), 0),
    (passed_on, (rng.normal(size=3),), 0),
    (calls_default, (rng.normal(size=3),), 0),
    (calls_keyword_only, (rng.normal(size=3),), 0),
    (appended, (np.array([0.5, -1.0]), np.array([2.0, 0.25])), 0),
]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_against_differences_and_the_general_code(f, args, wrt):
    got = s2s.grad(f, wrt=wrt)(*args)
    np.testing.assert_allclose(got, fd_grad(f, args, wrt), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got, s2s.derivative(f, wrt=wrt)(*args), rtol=1e-12, atol=1e-14)


def _source(f, args, wrt=0):
    return s2s.source(s2s.grad(f, wrt=wrt), *args)


@pytest.mark.parametrize("f", [gate_loop, integrate], ids=["one expression", "statements"])
def test_helpers_of_the_module_are_expanded_and_specialised(f):
    args = dict((c[0], c[1]) for c in CASES)[f]
    code = _source(f, args)
    assert "_vjp" not in code and "pullback" not in code and "unbroadcast(" not in code, code
    assert "while" not in code  # a helper returning at its end runs straight on


@pytest.mark.parametrize("f, called", [(shadowing, "scaled_vjp"), (calls_recursive, "recursive_vjp"),
                                       (passed_on, "sigmoid_vjp"), (calls_keyword_only, "with_keyword_only_vjp")])
def test_helpers_that_may_mean_something_else_expanded_stay_calls(f, called):
    assert called in _source(f, dict((c[0], c[1]) for c in CASES)[f])


def test_an_adjoint_started_at_zero_keeps_its_shape_through_the_loop():
    code = _source(gate_loop, CASES[0][1])
    assert "c_bar + " in code and "s2s:" not in code, code


def test_slices_read_in_a_loop_go_into_one_fresh_array():
    code = _source(gate_loop, CASES[0][1])
    # (H = W.shape[0] // 2 is the int 3 of these arguments: the slices' bounds are literals)
    assert "getitem_grad" not in code and "np.add.at" not in code and "z_bar[:3] +=" in code.replace("-=", "+="), code


def test_rows_picked_by_arange_and_labels_are_added_in_place():
    code = _source(xent, CASES[2][1])
    assert "logp_bar[arange, y] += " in code and "getitem_grad" not in code, code


def test_transpose_eye_and_solve_have_shapes():
    code = _source(gauss, CASES[3][1])
    assert "transpose_attr = A.T" in code and "eye = np.eye(3)" in code and "grad_mult_seq" not in code, code
    assert "D_bar = transpose_attr3\n" in code  # the adjoint of X.T * D for D, with D's shape from solve


def test_a_list_changed_after_it_is_made_claims_no_shape():
    code = _source(appended, CASES[-1][1])
    assert "array_grad" in code  # (its adjoint stays the general one)


def square_helper(x):
    return x * x


def cube_helper(x):
    return x * x * x


def uses_a_helper(x):
    return np.sum(square_helper(x))


def test_a_helper_bound_again_is_read_again(monkeypatch):
    import sys

    x = np.array([0.5, -1.5])
    g = s2s.grad(uses_a_helper)
    np.testing.assert_allclose(g(x), 2 * x)
    monkeypatch.setattr(sys.modules[__name__], "square_helper", cube_helper)
    np.testing.assert_allclose(g(x), 3 * x * x)


def lse_transposed(z):
    m = np.max(z, axis=1)
    return np.sum(np.log(np.sum(np.exp(z.T - m), axis=0)) + m)


@pytest.mark.parametrize("shape", [(3, 5), (4, 2)])
def test_a_log_sum_exp_over_a_transpose(shape):
    z = np.random.default_rng(sum(shape)).normal(size=shape)
    got = s2s.grad(lse_transposed)(z)
    np.testing.assert_allclose(got, fd_grad(lse_transposed, (z,)), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got, s2s.derivative(lse_transposed)(z), rtol=1e-12, atol=1e-14)


def parallel(k, x0):
    x, v = x0, 0.0
    for _ in range(5):
        x, v = x + 0.1 * v, v - 0.1 * k * x  # reads its targets: the tuple is made first
    a, b = x * k, v
    return a * a + b


def swapped(p, q):
    p, q = q, p * 2.0
    return np.sum(p * np.sin(q))


@pytest.mark.parametrize("f, args", [(parallel, (1.3, 0.8)), (swapped, (np.array([0.3, 1.2]), np.array([0.5, -0.4])))],
                         ids=["parallel", "swapped"])
def test_tuple_assignments(f, args):
    got = s2s.grad(f)(*args)
    np.testing.assert_allclose(got, fd_grad(f, args), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got, s2s.derivative(f)(*args), rtol=1e-12, atol=1e-14)


def test_a_tuple_of_independent_items_is_two_assignments():
    code = _source(parallel, (1.3, 0.8))
    assert "x = x0\n" in code and "v = 0.0\n" in code, code
    args = (np.array([0.3, 1.2]), np.array([0.5, -0.4]))
    swap = _source(swapped, args)
    # `p, q = q, p * 2.0` reads p: every item is evaluated before p is assigned (lower.assign_items), no tuple;
    # then the rebound p and q are names of their own (transforms/rebinding.py), copies the clean-up drops
    lowered = pipeline.stages(swapped)["lower"]
    assert "[0]" not in lowered and "t2 = p * 2.0\n    p = t\n    q = t2" in lowered, lowered
    assert "[0]" not in swap and "t2 = p * 2.0\n" in swap, swap
    got = s2s.grad(swapped, wrt=(0, 1))(*args)
    for g, w in zip(got, (0, 1)):
        np.testing.assert_allclose(g, fd_grad(swapped, args, w), rtol=1e-6, atol=1e-7)


def int_item(x):
    v = np.array([x[0] * x[1], 2])  # an int item: the array is not known to be real floats
    return np.sum(v * x) + x[0] * v[1]


def test_an_array_of_real_items_is_real_and_its_reads_add_in_place():
    code = _source(integrate, CASES[1][1])
    assert "getitem_grad" not in code, code
    x = np.array([0.7, -1.2])
    got = s2s.grad(int_item)(x)
    np.testing.assert_allclose(got, fd_grad(int_item, (x,)), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got, s2s.derivative(int_item)(x), rtol=1e-12, atol=1e-14)


def softplus_of(p):
    return np.log(1.0 + np.exp(p))


def beside_a_method_call(x):
    b = x * 2.0
    return np.sum(softplus_of(b.reshape(3)) * x)  # b.reshape(...) runs first on the line: s2s cannot tell it is pure


def test_a_helper_beside_a_call_that_may_change_its_inputs_stays_a_call():
    x = np.array([0.3, -1.1, 0.8])
    got = s2s.grad(beside_a_method_call)(x)  # (was refused: "cannot take the call of the local function")
    np.testing.assert_allclose(got, fd_grad(beside_a_method_call, (x,)), rtol=1e-6, atol=1e-7)
    assert "softplus_of_vjp" in s2s.source(s2s.grad(beside_a_method_call), x)
