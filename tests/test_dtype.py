"""Gradients keep their argument's dtype (issue 16): float32 in, float32 out, as in JAX and PyTorch.

Across the rule families (elementwise, broadcasting, reductions, matrix products, indexing,
loops), for the shape-specialised code (s2s.grad) and the general code (s2s.derivative): the
gradient has the argument's dtype and agrees with the float64 gradient to the argument's
precision; the float64 gradient is checked against central finite differences and autograd.
"""

import numpy as np
import pytest
from helpers_fd import check_all

import s2s

W = np.random.default_rng(5).normal(size=(3, 5))


def elementwise(x):
    return np.sum(np.sin(x) * 2.0 + np.exp(-x * x) + np.tanh(x) ** 2)


def broadcasting(x):
    return np.sum((x + x[0]) * x[:, :1])


def reductions(x):
    return np.mean(x ** 2) + np.sum(np.max(x, axis=1)) + np.sum(np.sum(x, axis=0, keepdims=True) * x)


def matmul(x):
    return np.sum(np.tanh(x @ W.astype(x.dtype)) ** 2)


def indexing(x):
    return np.sum(x[1] * x[2]) + np.sum(x[[0, 0, 3], 1:] ** 2) + x[-1, -1] * 3.0


def loop_rows(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        d = x[i + 1] - x[i]
        s = s + np.linalg.norm(d)
    return s


def logsumexp(x):
    m = np.max(x, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(x - m), axis=1, keepdims=True)) + m)


def relu(x):
    return np.sum(np.maximum(x @ W.astype(x.dtype), 0.0) ** 2)


def dot_rows(x):
    # vector dot products in a loop, one of them read only on some rows (its adjoint is the zero 0.0 on
    # the others): the adjoint of `x[i] @ v` is g * x[i] in the specialised code, float32 for float32 rows
    v = x[0] * 0.5
    s = 0.0
    for i in range(1, x.shape[0]):
        d = x[i] @ v
        e = x[i] @ x[i - 1]
        if d > 0:
            s = s + d * d
        else:
            s = s + np.abs(e)
    return s


def row_items(x):
    # rows read in a loop, their items read again (`a[0] * b[1]`): the adjoint array of the argument takes each
    # read's adjoint in place, in the argument's dtype
    s = 0.0
    for i in range(1, x.shape[0] - 1):
        a = x[i] - x[i - 1]
        b = x[i + 1] - x[i]
        s = s + a[0] * b[1] - a[1] * b[0]
    return s + np.sum(x[[0, 0, 2]] ** 2)


def rows_weighted(x, w):
    # float64 weights mixed into a float32 argument's rows: float64 terms added into its float32 adjoint array
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.sum(np.tanh(x[i]) * w) * x[i, 0]
    return s


FUNCTIONS = [elementwise, broadcasting, reductions, matmul, indexing, loop_rows, logsumexp, relu, dot_rows, row_items]
TOLERANCE = {np.float32: 2e-4, np.float16: 5e-2}


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float16], ids=lambda d: d.__name__)
@pytest.mark.parametrize("api", ["grad", "derivative"])
def test_gradient_keeps_the_argument_dtype(f, dtype, api):
    x64 = np.random.default_rng(0).normal(size=(4, 3))
    expected = check_all(f, (x64,))  # float64: finite differences and autograd
    x = x64.astype(dtype)
    got = (s2s.grad(f) if api == "grad" else s2s.derivative(f))(x)
    assert got.dtype == dtype, got.dtype
    scale = np.max(np.abs(expected))
    np.testing.assert_allclose(got.astype(float), expected, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype] * scale)


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
def test_specialised_float32_code_does_not_cast_up(f):
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    src = s2s.source(s2s.grad(f), x)
    assert "float64" not in src, src


def test_float32_and_float64_arguments_each_keep_theirs():
    def mixed(a, b):
        return np.sum(a * b) + np.sum(np.sin(b))

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=3).astype(np.float32), rng.normal(size=3)
    ga, gb = s2s.grad(mixed, wrt=(0, 1))(a, b)
    assert ga.dtype == np.float32 and gb.dtype == np.float64
    np.testing.assert_allclose(gb, a.astype(float) + np.cos(b), rtol=1e-12)  # float64 not lowered to float32


def test_float32_loss_value_and_gradient():
    x = np.random.default_rng(2).normal(size=(4, 3)).astype(np.float32)
    value, g = s2s.value_and_grad(reductions)(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(value, reductions(x), rtol=1e-6)


def test_integer_array_argument_is_refused_as_before():
    def f(x):
        return np.sum(x * x * 1.5)

    with pytest.raises(TypeError, match="dtype int64"):
        s2s.grad(f)(np.arange(3))
    np.testing.assert_allclose(s2s.grad(f)(np.arange(3.0)), 3.0 * np.arange(3.0))


def _float64_locals(fn, *args):
    """Names of the generated code's local arrays that are float64 when it returns (read with a tracer)."""
    import sys

    found = set()

    def tracer(frame, event, arg):
        if frame.f_code.co_filename.startswith("<s2s") and frame.f_code.co_filename != "<s2s freshness check>":
            # (the cache's check reads the arrays the code was specialised to, a global W among them)
            def local(frame, event, arg):
                if event == "return":
                    found.update(k for k, v in frame.f_locals.items()
                                 if isinstance(v, np.ndarray) and v.dtype == np.float64)
                return local
            return local
        return None

    sys.settrace(tracer)
    try:
        fn(*args)
    finally:
        sys.settrace(None)
    return found


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("api", ["grad", "derivative"])
def test_float32_gradient_computes_in_float32(f, api):
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    g = s2s.grad(f) if api == "grad" else s2s.derivative(f)
    assert _float64_locals(g, x) == set()


def test_float32_index_adjoints_accumulate_in_place():
    # the gradient of a loop over rows costs like the loop (no dense adjoint per read) in float32 code too
    x = np.random.default_rng(1).normal(size=(6, 3)).astype(np.float32)
    src = s2s.source(s2s.grad(row_items), x)
    assert "np.zeros((6, 3), np.float32)" in src and "x_bar[i] +=" in src and "getitem_grad" not in src, src


def test_float64_terms_into_a_float32_adjoint_array():
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=3)
    g = s2s.grad(rows_weighted, wrt=(0, 1))
    gx, gw = g(x, w)
    assert gx.dtype == np.float32 and gw.dtype == np.float64
    assert "x_bar[i] +=" in s2s.source(g, x, w)
    want = s2s.grad(rows_weighted, wrt=(0, 1))(x.astype(np.float64), w)
    np.testing.assert_allclose(gx, want[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gw, want[1], rtol=1e-5, atol=1e-6)
    check_all(rows_weighted, (x.astype(np.float64), w), wrt=(0, 1))


def _state_in_float32(W, xs):
    h = np.zeros(W.shape[0], dtype=np.float32)  # (a dtype keyword: real floats, as np.zeros(n, np.float32))
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
        loss = loss + np.sum(h * h)
    return loss


def test_a_state_made_with_a_dtype_keyword_is_real_and_its_unread_loss_is_not_computed():
    r = np.random.default_rng(7)
    W, xs = (r.normal(size=(4, 4)) * 0.4).astype(np.float32), r.normal(size=(5, 4)).astype(np.float32)
    src = s2s.source(s2s.grad(_state_in_float32), W, xs)
    code = [line for line in src.splitlines() if not line.lstrip().startswith("#")]
    assert not any("np.sum(" in line or "loss = loss +" in line for line in code), src  # (nothing reads the loss)
    got = s2s.grad(_state_in_float32)(W, xs)
    assert got.dtype == np.float32
    want = s2s.derivative(_state_in_float32)(W.astype(float), xs.astype(float))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def row_means(W, x):
    s = 0.0
    for i in range(W.shape[0]):
        s = s + np.mean(W[i] * x[i])
    return s


def test_a_mean_of_mixed_precision_keeps_the_wider_arithmetic():
    # (helper 118) the mean's adjoint was a Python number times W's float32 row: x's float64 gradient rounded to
    # float32. A number stands for the broadcast only where every array argument has one floating dtype
    r = np.random.default_rng(0)
    W, x = r.normal(size=(4, 3)).astype(np.float32), r.normal(size=(4, 3))
    got = s2s.grad(row_means, wrt=1)(W, x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, W.astype(np.float64) / 3, rtol=1e-15, atol=1e-17)
    x32 = x.astype(np.float32)  # one dtype: the number stays a number, and the gradient float32
    src = s2s.source(s2s.grad(row_means, wrt=1), W, x32)
    assert "expand_reduced" not in src and "broadcast_to" not in src, src
    g32 = s2s.grad(row_means, wrt=1)(W, x32)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, W / 3, rtol=1e-6)
