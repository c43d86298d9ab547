"""np.add.at / np.subtract.at (transforms/ufunc_at.py): an update of the whole array by a helper with a rule.

Checked against central finite differences and against autograd on a twin that scatters with a one-hot
matrix (autograd has no ufunc.at), over random shapes, repeated indices and broadcast values.
"""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import s2s
from s2s import pipeline
from s2s.errors import UnsupportedSyntaxError
from tests.conftest import check_grad, numeric_grad

G_TABLE = np.zeros(4)


def _scatter_matrix(shape, indices, values_shape):
    """S with `S @ b.ravel()` the flat array ufunc.at adds into an array of `shape` (b broadcast first)."""
    positions = np.arange(int(np.prod(shape))).reshape(shape)[indices]
    b_index = np.broadcast_to(np.arange(int(np.prod(values_shape))).reshape(values_shape), positions.shape)
    S = np.zeros((positions.size and int(np.prod(shape)), int(np.prod(values_shape))))
    np.add.at(S, (positions.ravel(), b_index.ravel()), 1.0)
    return S


def _cases():
    rng = np.random.default_rng(7)
    for seed in range(6):
        m, n, k = rng.integers(2, 5), rng.integers(2, 4), rng.integers(3, 8)
        rows = rng.integers(0, m, k)
        yield f"1d-{seed}", (m,), rows, (k,)
        yield f"1d-scalar-{seed}", (m,), rows, ()
        yield f"rows-{seed}", (m, n), rows, (k, n)
        yield f"rows-broadcast-{seed}", (m, n), rows, (n,)
        yield f"rows-column-{seed}", (m, n), rows, (k, 1)
        yield f"pairs-{seed}", (m, n), (rows, rng.integers(0, n, k)), (k,)


CASES = list(_cases())


@pytest.mark.parametrize("op", ["add", "subtract"])
@pytest.mark.parametrize("name, shape, indices, values_shape", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_finite_differences_and_autograd(op, name, shape, indices, values_shape):
    rng = np.random.default_rng(abs(hash(name)) % 1000)
    x = rng.normal(size=shape)
    b = rng.normal(size=values_shape)
    sign = 1.0 if op == "add" else -1.0
    ufunc_at = getattr(np, op).at

    def f(x, b):
        a = np.sin(x) * 2.0
        ufunc_at(a, indices, b * b)
        return np.sum(np.tanh(a) * np.cos(x))

    S = _scatter_matrix(shape, indices, values_shape)

    def twin(x, b):
        a = anp.sin(x) * 2.0
        a = a + sign * anp.reshape(anp.dot(S, anp.reshape(b * b, (-1,))), shape)
        return anp.sum(anp.tanh(a) * anp.cos(x))

    assert np.isclose(f(x, b), twin(x, b))
    for wrt in (0, 1):
        got = s2s.grad(f, wrt=wrt)(x, b)
        np.testing.assert_allclose(got, numeric_grad(f, (x, b), wrt=wrt), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got, autograd.grad(twin, wrt)(x, b), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op", ["add", "subtract"])
def test_hessian_and_forward_mode(op):
    rng = np.random.default_rng(3)
    idx = np.array([0, 2, 2, 1, 0, 2])
    x = rng.normal(size=6)
    ufunc_at = getattr(np, op).at

    def f(x):
        a = np.linspace(0.5, 1.5, 3)
        ufunc_at(a, idx, x ** 2)
        return np.sum(a ** 3)

    def values(x):
        a = np.zeros(3)
        ufunc_at(a, idx, np.exp(x))
        return a

    H = s2s.hessian(f)(x)
    g = s2s.grad(f)
    expected = np.array([numeric_grad(lambda v: g(v)[i], (x,)) for i in range(6)])
    np.testing.assert_allclose(H, expected, rtol=1e-5, atol=1e-6)
    J = s2s.jacfwd(values)(x)
    np.testing.assert_allclose(J, s2s.jacrev(values)(x), rtol=1e-12)
    assert J[2, 1] == pytest.approx((1.0 if op == "add" else -1.0) * np.exp(x[1]))
    assert J[0, 1] == 0.0


def test_in_loops_and_branches():
    idx = np.array([0, 3, 3, 1, 0])

    def f(x):
        acc = np.zeros(4)
        for k in range(3):
            if x[k] > 0:
                np.add.at(acc, idx, x * k)
            else:
                np.subtract.at(acc, idx[:2], x[:2] ** 2)
            acc = acc * x[0]
        return np.sum(acc ** 2)

    for seed in range(3):
        check_grad(f, np.random.default_rng(seed).normal(size=5), ag=False)


def test_float32_keeps_its_dtype_and_empty_indices_add_nothing():
    def f(x):
        a = np.zeros(3, dtype=np.float32)
        np.add.at(a, [0, 0, 2], x)
        np.add.at(a, np.array([], dtype=int), x[:0])
        return np.sum(a ** 2)

    g = s2s.grad(f)(np.array([1.0, 2.0, 3.0], np.float32))
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, [6.0, 6.0, 6.0])


def test_an_argument_updated_is_copied_as_an_index_update_is():
    idx = np.array([1, 1, 0])

    def by_at(x, a):
        np.subtract.at(a, idx, x)
        return np.sum(a ** 2)

    def by_loop(x, a):
        for k in range(3):
            a[idx[k]] -= x[k]
        return np.sum(a ** 2)

    x, a = np.array([0.5, 1.0, 2.0]), np.ones(2)
    np.testing.assert_allclose(s2s.grad(by_at)(x, a), s2s.grad(by_loop)(x, a))
    np.testing.assert_array_equal(a, np.ones(2))  # (the derivative ran on a copy, as for `a[i] -= v`)


def test_the_printed_code_shows_the_update():
    def f(x, idx):
        out = np.zeros(3)
        np.add.at(out, idx, x)
        return np.sum(out ** 2)

    stages = dict(pipeline.stages(f, wrt=("x",)))
    assert "out[...] = s2s.added_at(out, idx, x)" in stages["ufunc_at"]
    src = s2s.source(s2s.grad(f), np.ones(4), np.array([0, 1, 1, 2]))
    assert "s2s.added_at(out, idx, x)" in src and "x_bar = g[idx]" in src.replace("g2[idx]", "g[idx]"), src


def _refusal(f, *args):
    with pytest.raises(UnsupportedSyntaxError) as info:
        s2s.grad(f)(*args)
    return str(info.value)


def test_refusals_name_the_line_and_give_a_hint_that_works():
    x, idx = np.array([1.0, 2.0, 3.0]), np.array([0, 2, 0])

    def module_array(x):
        np.add.at(G_TABLE, idx, x)
        return np.sum(G_TABLE ** 2)

    def view(x):
        out = np.zeros((2, 3))
        np.add.at(out[1], idx, x)
        return np.sum(out ** 2)

    def product(x):
        a = np.ones(3)
        np.multiply.at(a, idx, x)
        return np.sum(a)

    def product_as_hinted(x):
        a = np.ones(3)
        for k in range(len(idx)):
            a[idx[k]] = np.multiply(a[idx[k]], x[k])
        return np.sum(a)

    def value_used(x):
        a = np.zeros(3)
        r = np.add.at(a, idx, x)
        return np.sum(a) if r is None else 0.0

    assert "not a local variable" in _refusal(module_array, x)
    assert np.all(G_TABLE == 0.0)
    message = _refusal(view, x)
    assert "np.add.at(out[1], idx, x)" in message and "`part = out[1].copy()`, `np.add.at(part, idx, x)`, " \
        "`out[1] = part`" in message

    def view_as_hinted(x):
        out = np.zeros((2, 3))
        part = out[1].copy()
        np.add.at(part, idx, x)
        out[1] = part
        return np.sum(out ** 2)

    check_grad(view_as_hinted, x, ag=False)
    message = _refusal(product, x)
    assert "np.multiply.at" in message and "line" in message.lower()
    assert "for k in range(len(idx)): a[idx[k]] = np.multiply(a[idx[k]], x[k])" in message
    check_grad(product_as_hinted, x, ag=False)
    assert product_as_hinted(x) == product(x)
    assert "as a statement of its own" in _refusal(value_used, x)

    def computed_target(x):
        a = np.zeros(3)
        np.add.at(a.reshape(3), idx, x)
        return np.sum(a ** 2)

    message = _refusal(computed_target, x)
    assert "not of `a.reshape(3)`" in message and "part = a.reshape(3).copy()" in message


def test_messages_quote_the_call_as_written():
    """Helper 192: a refusal of the rewritten update quoted `b[...] = s2s.added_at(b, ...)`, s2s's own code."""
    def aliased(x):
        a = np.zeros(3) + x
        b = np.ascontiguousarray(a)
        np.add.at(b, [1, 1, 2], x)
        return np.sum(a ** 2)

    message = _refusal(aliased, np.ones(3))
    assert "`np.add.at(b, [1, 1, 2], x)`" in message and "s2s.added_at" not in message


def test_integer_arrays_take_no_adjoint_and_function_values_are_refused():
    """Helper 192: an int array updated by np.add.at (NumPy casts unsafely) crashed the specialised code (its
    item adjoint is the zero adjoint, read as an array); np.add.at passed as a function value and called with
    its result assigned gave a zero gradient, and in a checkpointed loop a wrong one: refused when it runs."""
    idx = np.array([0, 2, 2, 1, 0])

    def into_ints(x):
        a = np.zeros(3, dtype=int)
        np.add.at(a, idx, x)
        return np.sum(a ** 2) + np.sum(x * x)

    x = np.array([0.3, -1.2, 0.7, 1.5, -0.4])
    for call in (s2s.grad(into_ints), s2s.grad(into_ints, optimize=False)):
        np.testing.assert_array_equal(call(x), 2 * x)

    def through_a_value(x, op):
        a = np.ones(3)
        r = op(a, [0, 1], x[:2] * 2.0)
        return np.sum(a ** 2) + (0.0 if r is None else 1.0)

    def checkpointed(x, op):
        a = np.ones(3)
        s = 0.0
        for k in s2s.checkpoint(range(3)):
            r = op(a, [k, 0], x[k] * 2.0)
            s = s + np.sum(a * x[k]) + (0.0 if r is None else 1.0)
        return s

    for f in (through_a_value, checkpointed):
        for op in (np.add.at, np.multiply.at, np.put):
            with pytest.raises(UnsupportedSyntaxError):
                s2s.grad(f)(x, op)


def test_compiled_gradients_take_the_update():
    """s2s.added_at / subtracted_at and the adjoint of a whole array's update have compiled versions (the NumPy code
    ran, with a fallback warning, before)."""
    from tests.helpers_fd import compiled_matches

    def scatter(x, idx):
        out = np.zeros(4)
        np.add.at(out, idx, x * 2.0)
        np.subtract.at(out, idx[:2], x[:2] ** 2)
        return np.sum(out ** 2)

    def pairs(W, rows, cols, v):
        A = np.zeros((4, 5))
        np.add.at(A, (rows, cols), W * v)
        return np.sum(np.tanh(A))

    rng = np.random.default_rng(11)
    compiled_matches(scatter, (rng.normal(size=6), np.array([0, 1, 1, 2, 0, 3])))
    compiled_matches(pairs, (rng.normal(size=7), rng.integers(0, 4, 7), rng.integers(0, 5, 7), 1.5))
