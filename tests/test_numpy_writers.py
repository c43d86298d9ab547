"""NumPy's functions that write into their first argument (`np.fill_diagonal`, `np.copyto`, `np.putmask`,
`np.place`, `np.put`, `np.put_along_axis`) on an array the function made: written as an update of the whole
array (transforms/ufunc_at.py), each NumPy's own function run on a copy (s2s/runtime/writers.py). Gradients
against central differences, Hessians against differences of the gradient, the update seen through an alias,
and the refusals (an argument, a view of one, an array that is not a variable)."""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s


def tsne_kl(Y, P):  # t-SNE's objective as its NumPy implementations write it: a kernel with a zero diagonal
    sum_Y = np.sum(np.square(Y), 1)
    num = -2.0 * np.dot(Y, Y.T)
    num = 1.0 / (1.0 + np.add(np.add(num, sum_Y).T, sum_Y))
    np.fill_diagonal(num, 0.0)
    Q = np.maximum(num / np.sum(num), 1e-12)
    return np.sum(P * np.log(P / Q))


def diagonal_of_values(x, v):
    K = np.outer(x, x)
    np.fill_diagonal(K, v)  # one value per diagonal entry, differentiated
    return np.sum(np.sin(K))


def diagonal_repeated(x, v):
    K = np.outer(x, x)
    np.fill_diagonal(K, v[:2])  # two values repeated along four entries
    return np.sum(K ** 2)


def diagonal_wrapped(x, v):
    T = np.outer(np.concatenate([x, x, x]), x[:2])  # tall: wrap=True restarts the diagonal below it
    np.fill_diagonal(T, v[0] * 2.0, wrap=True)
    return np.sum(np.cos(T))


def diagonal_scalar_variable(x, v):
    K = np.outer(x, v)
    np.fill_diagonal(K, np.sum(v) ** 2)
    return np.sum(K * K)


def copied_broadcast(x, v):
    y = np.outer(x, x)
    np.copyto(y, v)  # v broadcast along the rows
    return np.sum(y ** 3)


def copied_where(x, v):
    y = np.outer(x, v)
    np.copyto(y, x[:, None] * 2.0, where=np.abs(y) > 0.3)
    return np.sum(np.tanh(y))


def putmasked_short(x, v):
    y = x * 1.5
    np.putmask(y, x > 0.0, v[:3])  # values repeated by flat position
    return np.sum(y ** 2)


def placed_short(x, v):
    y = np.exp(x)
    np.place(y, x < 0.5, v[:2])  # values repeated by their order among the entries chosen
    return np.sum(y * x)


def put_repeated(x, v):
    y = np.sin(x)
    np.put(y, [0, 3, 0, -1], v[:4])  # index 0 twice: the last write stays
    return np.sum(y ** 2)


def put_wrapped(x, v):
    y = x ** 2
    np.put(y, [1, 9, -8], v[:3], mode="wrap")
    return np.sum(y * v[0])


def put_along_rows(x, v):
    y = np.outer(x, v)
    np.put_along_axis(y, np.argmax(y, axis=1)[:, None], v[:1] * 3.0, axis=1)
    return np.sum(y ** 2)


def seen_through_an_alias(x, v):
    y = np.outer(x, x)
    z = y
    np.fill_diagonal(y, v)
    return np.sum(z * x)


def in_a_loop(x, v):
    K = np.outer(x, x)
    total = 0.0
    for k in range(3):
        np.fill_diagonal(K, v * k)
        total = total + np.sum(K ** 2)
    return total


def float32_target(x, v):
    K = np.outer(x, x).astype(np.float32)
    np.fill_diagonal(K, v)
    return np.sum(K * K)


PROGRAMS = [diagonal_of_values, diagonal_repeated, diagonal_wrapped, diagonal_scalar_variable, copied_broadcast,
            copied_where, putmasked_short, placed_short, put_repeated, put_wrapped, put_along_rows,
            in_a_loop]


def _args(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=4), rng.normal(size=4)


@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("wrt", [0, 1])
def test_gradients_match_differences(f, wrt):
    x, v = _args()
    got = s2s.grad(f, wrt=wrt)(x, v)
    np.testing.assert_allclose(got, fd_grad(f, (x, v), wrt=wrt), rtol=1e-6, atol=1e-8)


def test_the_primal_is_numpy_s():
    x, v = _args(1)
    for f in PROGRAMS:
        value, _ = s2s.value_and_grad(f)(x, v)
        assert value == f(x, v), f.__name__


@pytest.mark.parametrize("f", [diagonal_of_values, copied_where, putmasked_short, put_repeated, diagonal_wrapped],
                         ids=lambda f: f.__name__)
def test_hessians_match_differences_of_the_gradient(f):
    x, v = _args(2)
    z = np.concatenate([x, v])

    def joined(z):
        return f(z[:4], z[4:])

    g = s2s.grad(joined)
    eps = 1e-5
    columns = [(g(z + eps * e) - g(z - eps * e)) / (2 * eps) for e in np.eye(8)]
    np.testing.assert_allclose(s2s.hessian(joined)(z), np.array(columns).T, rtol=1e-5, atol=1e-6)


def test_tsne_objective():
    rng = np.random.default_rng(3)
    Y = rng.normal(size=(7, 2))
    P = rng.random((7, 7))
    P = P + P.T
    np.fill_diagonal(P, 1e-12)
    P /= P.sum()
    np.testing.assert_allclose(s2s.grad(tsne_kl)(Y, P), fd_grad(tsne_kl, (Y, P)), rtol=1e-6, atol=1e-9)


def test_a_float32_array_keeps_its_dtype():
    x, v = _args(4)
    x32, v32 = x.astype(np.float32), v.astype(np.float32)
    got = s2s.grad(float32_target, wrt=1)(x32, v32)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, 2.0 * v32, rtol=1e-6)  # (the diagonal is v: d/dv of sum(K * K) is 2 v)


def test_numpy_s_errors_are_numpy_s():
    def wrong_length(x):
        y = np.outer(x, x)
        np.copyto(y, x[:3])  # (4, 4) from (3,): NumPy's ValueError
        return np.sum(y)

    def three_axes_unequal(x):
        y = np.zeros((2, 3, 2)) + x[0]
        np.fill_diagonal(y, 1.0)
        return np.sum(y)

    x = np.arange(4.0)
    for f in (wrong_length, three_axes_unequal):
        with pytest.raises(ValueError) as numpy_s:
            f(x)
        with pytest.raises(ValueError) as ours:
            s2s.grad(f)(x)
        assert str(ours.value) == str(numpy_s.value)


def changes_its_argument(K, x):
    np.fill_diagonal(K, x[0])
    return np.sum(K * x)


@pytest.mark.parametrize("wrt", [0, 1])
def test_an_argument_is_written_on_a_copy_as_an_item_update_of_it_is(wrt):
    x = np.array([2.0, 3.0])
    got = s2s.grad(changes_its_argument, wrt=wrt)(np.ones((2, 2)), x)
    np.testing.assert_allclose(got, fd_grad(changes_its_argument, (np.ones((2, 2)), x), wrt=wrt), atol=1e-8)
    code = s2s.source(s2s.grad(changes_its_argument, wrt=wrt), np.ones((2, 2)), x)
    assert "K is a parameter (the caller's array)" in code


def test_an_argument_shared_with_the_values_is_refused_where_it_runs():
    K = np.ones((2, 2))
    with pytest.raises(s2s.UnsupportedSyntaxError, match="np.fill_diagonal"):
        s2s.grad(changes_its_argument, wrt=1)(K, K)


def test_an_alias_is_refused_naming_the_writer_s_line():
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.grad(seen_through_an_alias)(*_args())
    assert "another name is bound to `y`" in str(info.value) and "`np.fill_diagonal(y, v)`" in str(info.value)


def test_a_view_of_an_argument_is_refused_with_the_copy_as_hint():
    def through_a_view(x):
        y = x.reshape(2, 2)
        np.fill_diagonal(y, 0.0)
        return np.sum(x ** 2)

    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.grad(through_a_view)(np.arange(1.0, 5.0))
    assert "it may be a view of `x`" in str(info.value) and "`y = np.reshape(x, (2, 2)).copy()`" in str(info.value)


def test_an_array_that_is_no_variable_is_refused_with_a_hint_that_works():
    def item_of_a_list(x):
        parts = [np.outer(x, x), np.outer(x, x)]
        np.fill_diagonal(parts[0], 0.0)
        return np.sum(parts[0] * parts[1])

    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.grad(item_of_a_list)(np.ones(2))
    message = str(info.value)
    assert "part = parts[0].copy()" in message and "np.fill_diagonal(part, 0.0)" in message

    def as_hinted(x):
        parts = [np.outer(x, x), np.outer(x, x)]
        part = parts[0].copy()
        np.fill_diagonal(part, 0.0)
        parts[0] = part
        return np.sum(parts[0] * parts[1])

    x = np.array([0.5, -1.5])
    np.testing.assert_allclose(s2s.grad(as_hinted)(x), fd_grad(as_hinted, (x,)), atol=1e-8)


def test_a_complex_value_into_a_real_array_is_refused():
    def complex_diagonal(x):
        K = np.outer(x, x)
        np.fill_diagonal(K, 1j * x[0])
        return np.sum(K)

    with pytest.raises(s2s.NoDerivativeRuleError, match="complex"):
        s2s.grad(complex_diagonal)(np.ones(2))


def test_the_printed_code_calls_numpy_s_function_on_a_copy():
    x, v = _args()
    code = s2s.source(s2s.grad(diagonal_of_values), x, v)
    assert "s2s.filled_diagonal(K, v)" in code and "s2s.written_target_grad(" in code


def test_compiled_falls_back_with_the_reason_and_numpy_s_numbers():
    rng = np.random.default_rng(3)
    Y, P = rng.normal(size=(5, 2)), rng.random((5, 5)) + 0.1
    with pytest.warns(UserWarning) as warned:
        got = s2s.grad(tsne_kl, compile=True)(Y, P)
    assert any("filled_diagonal" in str(w.message) for w in warned)
    np.testing.assert_allclose(got, s2s.grad(tsne_kl)(Y, P), rtol=1e-12)


@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
def test_forward_mode_matches_differences(f):
    x, v = _args(6)
    dx, dv = _args(7)
    value, tangent = s2s.jvp(f, (x, v), (dx, dv))
    eps = 1e-6
    expected = (f(x + eps * dx, v + eps * dv) - f(x - eps * dx, v - eps * dv)) / (2 * eps)
    assert value == f(x, v)
    np.testing.assert_allclose(tangent, expected, rtol=1e-6, atol=1e-7)


def writes_an_output(x):
    y = np.outer(x, x)
    np.fill_diagonal(y, np.sin(x))
    np.putmask(y, y > 0.5, x[:2] * 3.0)
    return y


def test_jacobians_of_an_array_output_both_ways():
    x = np.array([0.9, -0.4, 0.7])
    eps = 1e-6
    expected = np.stack([(writes_an_output(x + eps * e) - writes_an_output(x - eps * e)) / (2 * eps)
                         for e in np.eye(3)], axis=-1)
    np.testing.assert_allclose(s2s.jacrev(writes_an_output)(x), expected, atol=1e-7)
    np.testing.assert_allclose(s2s.jacfwd(writes_an_output)(x), expected, atol=1e-7)


# ---- review 243 ----------------------------------------------------------------------------------------------------

def putmask_nothing(x):
    y = x * 1.5
    np.putmask(y, x > 0.0, x[:0])  # empty values: NumPy writes nothing
    return np.sum(np.sin(y))


def put_nothing(x):
    y = x * 1.5
    np.put(y, [0, 2], x[:0])
    return np.sum(np.sin(y))


def diagonal_nothing(x):
    K = np.outer(x, x)
    np.fill_diagonal(K, [])
    return np.sum(np.sin(K))


@pytest.mark.parametrize("f", [putmask_nothing, put_nothing, diagonal_nothing], ids=lambda f: f.__name__)
def test_empty_values_write_nothing_in_forward_mode_too(f):
    """The array's tangent term wrote a number 0.0 at every chosen entry, where empty values write nothing (review
    243: jvp 1.3507 for 2.9917, Hessians and jacfwd wrong)."""
    x = np.array([0.5, -0.3, 0.8])
    t = np.array([1.0, -0.5, 2.0])
    _, tangent = s2s.jvp(f, (x,), (t,))
    np.testing.assert_allclose(tangent, fd_grad(f, (x,)) @ t, rtol=1e-7)
    g = s2s.grad(f)
    columns = [(g(x + 1e-5 * e) - g(x - 1e-5 * e)) / 2e-5 for e in np.eye(3)]
    np.testing.assert_allclose(s2s.hessian(f)(x), np.array(columns).T, rtol=1e-5, atol=1e-6)


def place_its_own_values(x):
    y = np.sin(x)
    np.place(y, x > 0.0, y)  # NumPy reads the values as it writes them: later ones are its own writes
    return np.sum(y * np.arange(1.0, 6.0))


def diagonal_of_its_own_entries(x):
    K = np.outer(x, x)
    np.fill_diagonal(K, K.ravel()[2:])
    return np.sum(K * np.arange(9.0).reshape(3, 3))


@pytest.mark.parametrize("f, x", [(place_its_own_values, np.array([-1.0, 0.5, 0.7, -0.2, 0.9])),
                                  (diagonal_of_its_own_entries, np.array([0.5, 1.5, 2.5]))],
                         ids=["place", "fill_diagonal"])
def test_values_sharing_the_array_s_memory_are_refused_where_numpy_reads_them_unbuffered(f, x):
    """On a copy of the array the values would be read before the writes NumPy makes into them (review 243:
    1.3403 for NumPy's -10.0509). Refused where it runs, at the user's line; a copy of the values is right."""
    with pytest.raises(s2s.UnsupportedSyntaxError, match="share memory") as info:
        s2s.grad(f)(x)
    assert "values.copy()" in str(info.value)


def test_values_sharing_memory_where_numpy_buffers_them_are_right():
    def copies_its_transpose(x):
        K = np.outer(x, np.sin(x))
        np.copyto(K, K.T)
        np.putmask(K, K > 0.1, K[::-1])
        return np.sum(K * np.arange(9.0).reshape(3, 3))

    x = np.array([0.5, -1.5, 2.5])
    value, got = s2s.value_and_grad(copies_its_transpose)(x)
    assert value == copies_its_transpose(x)
    np.testing.assert_allclose(got, fd_grad(copies_its_transpose, (x,)), atol=1e-8)


def test_masked_array_putmask_is_refused():
    """np.ma.putmask writes into a plain array through a masked view of it (review 243: the write was missed, a
    gradient [1.62, -2.54, 6.26] for [14.61, 6.63, -8.26])."""
    def through_a_masked_view(x):
        K = np.outer(x, x)
        np.ma.putmask(K, K > 0.1, x[0] * 3.0)
        return np.sum(np.sin(K))

    with pytest.raises(s2s.UnsupportedSyntaxError, match="in place"):
        s2s.grad(through_a_masked_view)(np.array([0.5, -0.3, 0.8]))
