"""transforms/shifts.py: the adjoint of a max shift that the function's value does not depend on (the max
subtracted in a log-sum-exp) is not computed. Each way of writing the shift is checked for the rewrite (no
max adjoint left in the printed code) and for its gradient (central differences, autograd); each case where
the value does depend on the max keeps the adjoint and gives the right gradient too."""

import ast
import builtins
import textwrap

import numpy as np
import pytest
from helpers_fd import check_all
from s2s.transforms.shifts import shift_free
from s2s.transforms.specialize import Context

import s2s
from s2s import pipeline  # noqa: F401  (installs the context the shape inference reads)


def keepdims(z):
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + m)


def index_none(z):
    m = z.max(axis=1)
    return np.sum(m + np.log(np.exp(z - m[:, None]).sum(axis=1)))


def method_sum_index_zero(z):
    m = np.max(z, axis=-1, keepdims=True)
    return np.sum(np.log(np.exp(z - m).sum(axis=-1)) + m[:, 0])


def scalar_max(z):
    m = np.max(z)
    return np.log(np.sum(np.exp(z - m))) + m


def over_columns(z):
    m = np.amax(z, axis=0)
    return np.sum(np.log(np.sum(np.exp(z - m), axis=0)) + m)


def log_softmax(z, y):
    m = np.max(z, axis=1, keepdims=True)
    return -np.sum(y * (z - m - np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))))


def softmax_cross_entropy(z, y):
    m = np.max(z, axis=1, keepdims=True)
    e = np.exp(z - m)
    return -np.sum(y * np.log(e / e.sum(axis=1, keepdims=True)))


def subtracted_after_log(z):
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) - -m)


def log_mean_exp(z):
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(np.log(np.mean(np.exp(z - m), axis=1, keepdims=True)) + m)


def temperature(z):
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(0.5 * np.log(np.sum(np.exp(2.0 * (z - m)), axis=1, keepdims=True)) + m)


def min_shift(z):
    m = np.min(-z, axis=1, keepdims=True)  # -m is the row's max
    return np.sum(np.log(np.sum(np.exp(z + m), axis=1, keepdims=True)) - m)


def relu_net(W, X, y):
    h = np.maximum(X @ W, 0.0)
    m = np.max(h, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(h - m), axis=1, keepdims=True)) + m
    return np.mean(lse - np.sum(h * y, axis=1, keepdims=True))


def in_a_loop(z):
    s = 0.0
    for i in range(3):
        zi = z * (i + 1.0)
        m = np.max(zi, axis=1, keepdims=True)
        s = s + np.sum(np.log(np.sum(np.exp(zi - m), axis=1, keepdims=True)) + m)
    return s


def squared_softmax(z, y):
    m = np.max(z, axis=1, keepdims=True)
    e = np.exp(z - m) ** 2
    return -np.sum(y * np.log(e / np.sum(e, axis=1, keepdims=True)))


def batched_weights(z, w):
    m = np.max(z, axis=-1, keepdims=True)
    return np.sum(np.log(np.sum(w * np.exp(z - m), axis=-1)) + m[..., 0])


# ---- the value depends on the max: its adjoint stays

def squared_inside_only(z):
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(z - m) ** 2, axis=1, keepdims=True)) + m)


def softmax_times_exp_of_max(z):
    m = np.max(z, axis=1, keepdims=True)
    e = np.exp(z - m)
    return np.sum(e / np.sum(e, axis=1, keepdims=True) * np.exp(m))


def max_also_added(z):
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + m) + np.sum(m)


def summed_over_the_other_axis(z):
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(z - m), axis=0, keepdims=True)) + m)


def scaled_inside_only(z):
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(2.0 * (z - m)), axis=1, keepdims=True)) + m)


def transposed(z):
    m = np.max(z, axis=1)
    return np.sum(np.log(np.sum(np.exp(z.T - m), axis=0)) + m)


def weighted_by_an_array(z, w):
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(w * (z - m)), axis=1, keepdims=True)) + m)


def max_in_a_condition(z):
    m = np.max(z, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + m
    if np.sum(m) > 0.0:
        return np.sum(lse)
    return 2.0 * np.sum(lse)


def shift_read_by_a_square(z):
    m = np.max(z, axis=1, keepdims=True)
    t = z - m
    return np.sum(np.log(np.sum(np.exp(t), axis=1, keepdims=True)) + m) + np.sum(t * t)


def max_of_a_row(z):
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(z - m[0]), axis=1, keepdims=True)) + m)


def rebound_names(z):
    # one name for every step (z a parameter): each value gets a name of its own first (transforms/rebinding.py)
    z = z - np.max(z, axis=1, keepdims=True)
    z = np.exp(z)
    z = z / np.sum(z, axis=1, keepdims=True)
    return np.sum(z * z)


def stacked_in_a_loop(z):
    # the stacked list's shape is known after its loop only: the max's shape is read at its own line (the GMM of
    # benchmarks/ordinary_review.py)
    cols = []
    for j in range(z.shape[1]):
        cols.append(np.sin(z[:, j]) * 3.0)
    L = np.stack(cols, axis=1)
    m = np.max(L, axis=1, keepdims=True)
    return -np.sum(m[:, 0] + np.log(np.sum(np.exp(L - m), axis=1)))


def rebound_in_a_loop(z):
    # s = (z - m) / 4 after the loop: the value depends on m (read in another block: the proof stops)
    m = np.max(z, axis=1, keepdims=True)
    s = z - m
    for _ in range(2):
        s = s * 0.5
    return np.sum(np.log(np.sum(np.exp(s), axis=1)) + m[:, 0])


def _z(rng, shape):
    return rng.normal(size=shape) * 3.0


def _onehot(rng, shape):
    return np.eye(shape[1])[rng.integers(0, shape[1], size=shape[0])]


def _args(f, rng, shape):
    if f is relu_net:
        return rng.normal(size=(shape[1], shape[1])), rng.normal(size=shape), _onehot(rng, shape)
    if f in (log_softmax, softmax_cross_entropy):
        return _z(rng, shape), _onehot(rng, shape)
    if f is weighted_by_an_array:
        return _z(rng, shape), rng.normal(size=shape)
    if f is squared_softmax:
        return _z(rng, shape), _onehot(rng, shape)
    if f is batched_weights:  # w broadcasts z to a leading axis of 2
        return _z(rng, shape), rng.random(size=(2,) + shape) + 0.5
    if f is transposed:
        return (_z(rng, (shape[0], shape[0])),)
    return (_z(rng, shape),)


# transposed: z.T - m shifts row i of z by m[i] and the sum runs over that row (axis 0 of z.T): dropped since
# `.T` has a shape (it was kept while s2s did not know z.T's shape)
DROPPED = [keepdims, index_none, method_sum_index_zero, scalar_max, over_columns, log_softmax, softmax_cross_entropy,
           subtracted_after_log, log_mean_exp, temperature, min_shift, relu_net, in_a_loop, squared_softmax,
           batched_weights, transposed, rebound_names, stacked_in_a_loop]
KEPT = [max_also_added, summed_over_the_other_axis, scaled_inside_only, weighted_by_an_array,
        max_in_a_condition, shift_read_by_a_square, max_of_a_row, squared_inside_only, softmax_times_exp_of_max,
        rebound_in_a_loop]
SHAPES = [(5, 4), (3, 7), (1, 6)]


def _max_adjoint_left(f, args):
    src = s2s.source(s2s.grad(f), *args)
    return "_extreme" in src or "grad_extreme" in src


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("f", DROPPED, ids=lambda f: f.__name__)
def test_shift_adjoint_dropped_and_gradient_right(f, shape):
    args = _args(f, np.random.default_rng(sum(shape)), shape)
    assert not _max_adjoint_left(f, args), s2s.source(s2s.grad(f), *args)
    g = check_all(f, args)
    np.testing.assert_allclose(g, s2s.derivative(f)(*args), rtol=1e-12, atol=1e-13)  # the general code


@pytest.mark.parametrize("shape", SHAPES[:2], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("f", KEPT, ids=lambda f: f.__name__)
def test_value_depends_on_the_max_adjoint_kept(f, shape):
    args = _args(f, np.random.default_rng(sum(shape) + 1), shape)
    assert _max_adjoint_left(f, args), s2s.source(s2s.grad(f), *args)
    check_all(f, args)


def test_ties_and_a_row_of_one():
    # ties in a row: the max's share would be split between them, but it is zero; exact softmax either way
    z = np.array([[1.0, 3.0, 3.0], [2.0, 0.5, -1.0], [4.0, 4.0, 4.0]])
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(s2s.grad(keepdims)(z), e / e.sum(axis=1, keepdims=True), rtol=1e-15, atol=1e-16)
    one = np.array([[0.3], [-2.0]])
    np.testing.assert_array_equal(s2s.grad(keepdims)(one), np.ones((2, 1)))


def test_large_values_do_not_overflow():
    z = np.array([[1000.0, 999.0, -5.0], [-1000.0, -1001.0, -1000.0]])
    g = s2s.grad(log_softmax)(z, np.eye(3)[[0, 2]])
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(g, e / e.sum(axis=1, keepdims=True) - np.eye(3)[[0, 2]], rtol=1e-14, atol=1e-15)


def test_float32_keeps_its_dtype():
    z = np.random.default_rng(5).normal(size=(4, 3)).astype(np.float32)
    g = s2s.grad(keepdims)(z)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, s2s.derivative(keepdims)(z), rtol=1e-6)


# ---- the analysis on the primal program, directly

def _free(src, **shapes):
    fdef = ast.parse(textwrap.dedent(src)).body[0]
    context = Context(shapes, lambda n: {"np": np}.get(n, getattr(builtins, n, None)), "np", {p: "d" for p in shapes})
    return shift_free(fdef, context.shapes(fdef))


LSE = """
    def f(z):
        m = np.max(z, axis=1, keepdims=True)
        t = z - m
        e = np.exp(t)
        s = np.sum(e, axis=1, keepdims=True)
        log = np.log(s)
        out = log + m
        {extra}
        return out
"""


def test_proof_on_the_primal():
    assert _free(LSE.format(extra="pass"), z=(4, 3)) == {"m"}


@pytest.mark.parametrize("extra", [
    "print(m)",  # read by a call
    "m = m",  # bound twice
    "u = t[0]",  # an item along the axis the shift varies along
    "u = t > 0.0",  # a comparison
    "u = e + t",  # multiplicative plus additive
    "u = np.sum(t)",  # summed over the axis the shift varies along
])
def test_proof_stops(extra):
    assert _free(LSE.format(extra=extra), z=(4, 3)) == set()


def test_a_shift_carried_to_the_next_trip_stops_the_proof():
    # m holds this trip's shifted value and is read in the next trip (it is bound twice)
    src = """
    def f(z):
        out = 0.0
        m = 0.0
        for i in range(3):
            out = out + m
            m2 = np.max(z, axis=1, keepdims=True)
            m = m2 * 1.0
            t = z - m2
        return out
    """
    assert _free(src, z=(4, 3)) == set()


def test_an_integer_literal_index_along_a_constant_axis():
    src = """
    def f(z):
        m = np.max(z, axis=1, keepdims=True)
        e = np.exp(z - m)
        s = np.sum(e, axis=1)
        out = np.log(s) + m[:, 0]
        return out
    """
    assert _free(src, z=(4, 3)) == {"m"}
    assert _free(src.replace("m[:, 0]", "m[:, 1]"), z=(4, 3)) == set()  # out of range: an IndexError stays


COX = """
    def f(eta, events):
        m = np.max(eta)
        e = np.exp(eta - m)
        risk = np.cumsum(e[::-1]){axis}[::-1]
        out = -np.sum(events * (eta - m - np.log(risk)))
        return out
"""


def test_partial_sums_and_reversals_of_a_scalar_shift():
    """A Cox likelihood's risk sets, `np.cumsum(e[::-1])[::-1]` of `e = np.exp(eta - m)`: each partial sum is
    exp(-d) times the unshifted one, and a reversal or slice moves no d where d is the same everywhere."""
    assert _free(COX.format(axis=""), eta=(6,), events=(6,)) == {"m"}


@pytest.mark.parametrize("src", [
    # partial sums of an additive value: each adds -d once more
    """
    def f(eta):
        m = np.max(eta)
        c = np.cumsum(eta - m)
        out = np.sum(np.exp(c))
        return out
    """,
    # a slice along the axis the shift varies along (per row's max: rows sliced)
    """
    def f(z):
        m = np.max(z, axis=1, keepdims=True)
        e = np.exp(z - m)[1:]
        out = np.log(np.sum(e, axis=1)) + m[:, 0]
        return out
    """,
    # partial sums along the axis the shift varies along
    """
    def f(z):
        m = np.max(z, axis=0, keepdims=True)
        e = np.cumsum(np.exp(z - m), axis=1)
        out = np.log(e) + m
        return out
    """,
])
def test_partial_sums_and_slices_where_the_shift_varies_stop_the_proof(src):
    assert _free(src, eta=(6,), z=(4, 3)) == set()


def cox_partial_likelihood(w, X, events):
    eta = X @ w
    m = eta.max()
    e = np.exp(eta - m)
    risk = np.cumsum(e[::-1])[::-1]
    return -np.sum(events * (eta - m - np.log(risk)))


def test_the_cox_gradient_drops_the_max_adjoint():
    rng = np.random.default_rng(58)
    args = (rng.normal(size=4) * 0.3, rng.normal(size=(12, 4)), (rng.uniform(size=12) < 0.7).astype(float))
    src = s2s.source(s2s.grad(cox_partial_likelihood), *args)
    assert "no adjoint for m" in src and "eta == m" not in src, src
    g = check_all(cox_partial_likelihood, args)
    np.testing.assert_allclose(g, s2s.derivative(cox_partial_likelihood)(*args), rtol=1e-12, atol=1e-13)
