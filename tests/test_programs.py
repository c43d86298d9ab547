"""Differentiating whole programs: helper calls, recursion, containers, array methods, in-place updates, models."""

import autograd
import numpy as np
import pytest
from helpers_fd import assert_close, autograd_version, check_all, check_grad, fd_grad

import s2s

# ---------------------------------------------------------------- helpers and calls


def square_sum(v):
    return np.sum(v * v)


def scaled(v, c=2.0):
    return v * c


def moments(v):
    m = np.mean(v)
    d = v - m
    return m, np.mean(d * d)


def calls_helper(x):
    return square_sum(np.sin(x)) + square_sum(x) * 0.5


def calls_tuple_helper(x):
    m, var = moments(x)
    return m * m + var * 3.0


def calls_tuple_helper_indexed(x):
    r = moments(x)
    return r[0] + r[1] * r[0]


def calls_with_kwargs(x):
    return np.sum(scaled(x) + scaled(x, c=3.0) * scaled(x, 0.5))


def power_rec(x, n):
    if n == 0:
        return 1.0
    return x * power_rec(x, n - 1)


def uses_recursion(x):
    return np.sum(power_rec(x, 3))


def shrink_rec(x):
    if np.sum(x * x) < 1.0:
        return np.sum(x)
    return shrink_rec(x * 0.5) * 2.0 + np.sum(x)


def defaults(x, a=2.0, b=None):
    if b is None:
        b = 1.0
    return np.sum(a * x * x + b * x)


def keyword_only(x, *, scale, shift=0.5):
    return np.sum(np.exp(x * scale) + shift * x)


def documented(x: np.ndarray, k: float = 2.0) -> float:
    """A docstring must not be differentiated.

    It mentions return and x.
    """
    y: np.ndarray = x * k
    return float(np.sum(y * y))


def containers(x):
    lst = [x[0], x[1] * 2.0, np.sum(x)]
    tup = (x * x, 3.0)
    d = {"a": x[0] * x[1], "b": np.sin(x)}
    return lst[0] * lst[1] + lst[-1] * tup[1] + np.sum(tup[0]) + d["a"] + np.sum(d["b"])


def list_append(x):
    out = []
    for i in range(len(x)):
        out.append(x[i] * x[i] * (i + 1))
    out.append(np.sum(x))
    return sum(out)


def unpacking(x):
    a, b = x[0], x[1]
    (c, d), e = (a * b, a + b), np.sum(x)
    p, q = moments(x * d)
    return c * d + e * a + p * q


def star_unpacking(x):
    a, b = x[0], x[1]
    first, *rest = [a, b, a * b]
    return first * rest[0] + rest[1]


def builtin_sum(x):
    return sum([x[0] * x[1], x[1] ** 2, np.sum(x)])


def comprehension(x):
    terms = [x[i] * x[i + 1] for i in range(len(x) - 1)]
    ys = [np.sin(v) for v in x]
    return sum(terms) + sum(ys)


def comprehension_inline(x):
    return sum([v * v for v in x]) + sum([np.sin(x[i]) * x[i + 1] for i in range(len(x) - 1)])


def comprehension_filtered(x):
    return sum([v * v for v in x if v > 0])


def indexing(m):
    return m[0, 1] * m[-1, 0] + np.sum(m[1:, :]) + np.sum(m[:, 0] * m[:, -1]) + np.sum(m[::2])


def fancy_indexing(x):
    idx = np.array([0, 2, 2])
    return np.sum(x[idx] ** 2) + np.sum(x[x > 0])


# ---------------------------------------------------------------- array methods


def methods_t_shape(m):
    n = m.shape[0]
    return np.sum(m.T @ m) / n + len(m) * m.sum()


def methods_sum_axis(m):
    return np.sum(m.sum(axis=0) ** 2) + np.sum(m.sum(axis=1) * m.mean(axis=1))


def methods_mean_max(m):
    return m.mean() * m.max() + np.max(m, axis=0).sum()


def methods_dot_reshape(x, y):
    return x.dot(y) + np.sum(x.reshape(2, -1) ** 2) + np.sum(y.reshape((-1, 1)) * y)


def methods_copy_astype(x):
    y = x.copy()
    z = x.astype(float)
    return np.sum(y * z * 2.0)


def methods_chain(m):
    return (m * 2.0).T.reshape(-1).dot(m.reshape(-1)) + m.T.sum(axis=1).max()


# ---------------------------------------------------------------- in-place updates


def setitem_scalar(x):
    y = np.zeros(3)
    y[0] = x[0] * x[1]
    y[2] = np.sin(x[2])
    return np.sum(y * x)


def setitem_slice(x):
    y = np.ones(4)
    y[1:3] = x[:2] * x[2]
    return np.sum(y * y)


def setitem_overwrite(x):
    y = x * 2.0
    y[0] = y[1] * y[0]
    y[1] = 3.0
    return np.sum(y ** 2)


def aug_setitem(x):
    y = x * 1.0
    y[1] += x[0] * x[2]
    y[0] -= y[1] * 2.0
    y[2] *= y[0]
    return np.sum(y * y)


def setitem_in_loop(x):
    y = np.zeros_like(x)
    for i in range(len(x)):
        y[i] = x[i] ** 2 + (y[i - 1] if i > 0 else 0.0)
    return np.sum(y)


def aug_setitem_in_loop(x):
    y = x.copy()
    for i in range(1, len(x)):
        y[i] += y[i - 1] * x[i]
    return np.sum(y * y)


def column_scale(m, c):
    y = m.copy()
    for j in range(m.shape[1]):
        y[:, j] *= c * (j + 1)
    return np.sum(np.sin(y))


def with_print(x):
    y = x * x
    print("y is", y)
    print(f"sum {np.sum(y):.3f}")
    return np.sum(y)


def int_args(x, n, k):
    s = 0.0
    for i in range(n):
        s = s + np.sum(x ** (i + 1)) * k
    return s


# ---------------------------------------------------------------- more programs


def setitem_self(x):
    y = x.copy()
    for i in range(len(x)):
        y[i] = y[i] * y[i] + y[i - 1]
    return np.sum(y)


def list_of_arrays_loop(x):
    hs = []
    h = x
    for i in range(3):
        h = np.tanh(h + i)
        hs.append(h)
    return sum([np.sum(v * v) for v in hs])


def dict_loop(x):
    d = {"a": x, "b": x * 2.0}
    s = 0.0
    for k in ["a", "b"]:
        s = s + np.sum(d[k] ** 2)
    return s


def aug_ops(x):
    y = x * 1.0
    y += 2.0
    y *= x
    y -= x ** 3
    y /= 2.0
    y **= 2
    return np.sum(y)


def listidx_assign(x):
    lst = [x[0], x[1], x[2]]
    lst[1] = lst[0] * lst[2]
    return lst[1] + lst[0]


def tuple_return_helper_nested(x):
    (a, b), c = helper_nested(x)
    return a * b + c


def helper_nested(x):
    return (x[0] * x[1], x[1]), np.sum(x)


def mean_axis_keep(m):
    return np.sum((m - m.mean(axis=0, keepdims=True)) ** 2) + m.max(axis=1).sum()


def x_T_dot(m, v):
    return np.sum(m.T.dot(v) ** 2) + v.dot(m.dot(m.T)).dot(v)


def max_method(x):
    return x.max() * x.min() + np.abs(x).sum()


def slice_aug(m):
    y = m.copy()
    y[1:, :] += m[:-1, :] * 2.0
    y[:, 0] *= 3.0
    return np.sum(y * y)


def loop_slice_assign(x):
    y = np.zeros((3, len(x)))
    for i in range(3):
        y[i, :] = x * (i + 1)
        y[i] = np.sin(y[i])
    return np.sum(y ** 2)


def loop_helper(v, c=1.5):
    return np.tanh(v * c) + v


def helper_pair(v):
    return v * v, np.sin(v)


def helper_in_loop(x):
    y = x
    for i in range(3):
        y = loop_helper(y, c=0.5 + i)
    return np.sum(y)


def pair_in_loop(x):
    s = 0.0
    y = x
    for _ in range(2):
        a, b = helper_pair(y)
        y = a * 0.3 + b
        s = s + np.sum(a * b)
    return s


def rec_in_loop(x):
    s = 0.0
    for i in range(2):
        s = s + shrink_rec(x * (i + 1))
    return s


# ---------------------------------------------------------------- models


def relu(z):
    return np.maximum(z, 0.0)


def mlp_loss(w1, b1, w2, b2, x, y):
    h = np.tanh(x @ w1 + b1)
    out = h @ w2 + b2
    return np.mean((out - y) ** 2)


def mlp_relu_loss(params, x, y):
    w1, b1, w2 = params
    h = relu(x @ w1 + b1)
    return 0.5 * np.sum((h @ w2 - y) ** 2)


def mlp_relu_w1(w1, params, x, y):
    return mlp_relu_loss((w1, params[1], params[2]), x, y)


def softmax_xent(logits, labels):
    z = logits - np.max(logits, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    n = logits.shape[0]
    return -np.sum(logp[np.arange(n), labels]) / n


def least_squares(w, a, b, lam):
    r = a @ w - b
    return np.dot(r, r) + lam * np.dot(w, w)


def rnn_loss(wh, wx, xs, h0):
    h = h0
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(wh @ h + wx @ xs[t])
        loss = loss + np.sum(h ** 2)
    return loss


# ---------------------------------------------------------------- tests


def _rng(seed):
    return np.random.default_rng(seed)


def _vec(seed, lo=2, hi=7):
    rng = _rng(seed)
    return rng.normal(size=int(rng.integers(lo, hi)))


@pytest.mark.parametrize("seed", range(3))
def test_helper_calls(seed):
    check_all(calls_helper, (_vec(seed),))


@pytest.mark.parametrize("seed", range(3))
def test_helper_returning_tuple(seed):
    check_all(calls_tuple_helper, (_vec(seed),))


@pytest.mark.parametrize("seed", range(2))
def test_helper_returning_tuple_indexed(seed):
    check_all(calls_tuple_helper_indexed, (_vec(seed),))


@pytest.mark.parametrize("seed", range(2))
def test_helper_with_default_and_keyword(seed):
    check_all(calls_with_kwargs, (_vec(seed),))




@pytest.mark.parametrize("seed", range(2))
def test_recursion_fixed_depth(seed):
    check_all(uses_recursion, (_vec(seed),))


@pytest.mark.parametrize("scale", [0.5, 3.0, 20.0])
def test_recursion_data_dependent_depth(scale):
    x = _vec(1) * scale
    check_all(shrink_rec, (x,))


def test_recursive_function_directly():
    g = s2s.grad(power_rec)(1.3, 4)
    assert float(g) == pytest.approx(4 * 1.3 ** 3)


@pytest.mark.parametrize("seed", range(2))
def test_default_args(seed):
    x = _vec(seed)
    check_all(defaults, (x,))
    check_all(defaults, (x, 0.5, 2.0))
    check_all(defaults, (x, 0.5, 2.0), wrt=(0, 1, 2))


def test_default_args_by_name():
    x = _vec(3)
    ga = s2s.grad(defaults, wrt="a")(x, 1.5)
    assert float(ga) == pytest.approx(np.sum(x * x))
    gb = s2s.grad(defaults, wrt="b")(x, b=2.0)
    assert float(gb) == pytest.approx(np.sum(x))


@pytest.mark.parametrize("seed", range(2))
def test_keyword_only_params(seed):
    x = _vec(seed) * 0.3
    check_all(keyword_only, (x,), kwargs={"scale": 1.5})
    g = s2s.grad(keyword_only)(x, scale=0.7, shift=2.0)
    check_grad(g, keyword_only, (x,), kwargs={"scale": 0.7, "shift": 2.0})
    gs = s2s.grad(keyword_only, wrt="scale")(x, scale=0.7)
    assert float(gs) == pytest.approx(np.sum(x * np.exp(0.7 * x)))


def test_docstring_and_annotations():
    x = _vec(4)
    check_all(documented, (x,), use_autograd=False)
    check_all(documented, (x, 0.5), wrt=(0, 1), use_autograd=False)


@pytest.mark.parametrize("seed", range(2))
def test_list_tuple_dict_literals(seed):
    check_all(containers, (_vec(seed, 3, 6),))


@pytest.mark.parametrize("seed", range(2))
def test_list_append(seed):
    check_all(list_append, (_vec(seed),))


@pytest.mark.parametrize("seed", range(2))
def test_unpacking(seed):
    check_all(unpacking, (_vec(seed),))


@pytest.mark.parametrize("seed", range(2))
def test_star_unpacking(seed):
    check_all(star_unpacking, (_vec(seed),))


@pytest.mark.parametrize("seed", range(2))
def test_builtin_sum_over_list(seed):
    check_all(builtin_sum, (_vec(seed),))


@pytest.mark.parametrize("seed", range(2))
def test_list_comprehension_inline(seed):
    check_all(comprehension_inline, (_vec(seed),))


@pytest.mark.parametrize("seed", range(2))
def test_list_comprehension(seed):
    check_all(comprehension, (_vec(seed),))


@pytest.mark.parametrize("seed", range(3))
def test_list_comprehension_with_filter(seed):
    check_all(comprehension_filtered, (_vec(seed),))


@pytest.mark.parametrize("seed", range(2))
def test_indexing_and_slicing(seed):
    rng = _rng(seed)
    m = rng.normal(size=(int(rng.integers(2, 5)), int(rng.integers(2, 5))))
    check_all(indexing, (m,))


@pytest.mark.parametrize("seed", range(2))
def test_fancy_and_boolean_indexing(seed):
    check_all(fancy_indexing, (_vec(seed, 3, 7),))


@pytest.mark.parametrize("seed", range(2))
def test_methods_transpose_shape_len(seed):
    rng = _rng(seed)
    m = rng.normal(size=(int(rng.integers(1, 5)), int(rng.integers(1, 5))))
    check_all(methods_t_shape, (m,))


@pytest.mark.parametrize("seed", range(2))
def test_methods_sum_axis_mean(seed):
    rng = _rng(seed)
    m = rng.normal(size=(int(rng.integers(1, 5)), int(rng.integers(1, 5))))
    check_all(methods_sum_axis, (m,))


@pytest.mark.parametrize("seed", range(2))
def test_methods_mean_max(seed):
    rng = _rng(seed)
    m = rng.normal(size=(int(rng.integers(1, 5)), int(rng.integers(1, 5))))
    check_all(methods_mean_max, (m,))


@pytest.mark.parametrize("seed", range(2))
def test_methods_dot_reshape(seed):
    rng = _rng(seed)
    n = 2 * int(rng.integers(1, 4))
    x, y = rng.normal(size=n), rng.normal(size=n)
    gx, gy = check_all(methods_dot_reshape, (x, y), wrt=(0, 1), use_autograd=False)  # ArrayBox has no .dot
    assert_close(gx, y + 2 * x)


@pytest.mark.parametrize("seed", range(2))
def test_methods_copy_astype(seed):
    check_all(methods_copy_astype, (_vec(seed),), use_autograd=False)


@pytest.mark.parametrize("seed", range(2))
def test_methods_chained(seed):
    rng = _rng(seed)
    n = int(rng.integers(1, 4))
    check_all(methods_chain, (rng.normal(size=(n, n)),), use_autograd=False)  # ArrayBox has no .dot


def test_setitem_scalar_index():
    check_all(setitem_scalar, (_vec(0, 3, 4),), use_autograd=False)


def test_setitem_slice():
    check_all(setitem_slice, (_vec(1, 3, 4),), use_autograd=False)


@pytest.mark.parametrize("seed", range(2))
def test_setitem_overwrites_value(seed):
    x = _vec(seed, 3, 6)
    check_all(setitem_overwrite, (x,), use_autograd=False)
    assert x.shape[0] >= 3  # the input was not mutated into something else
    np.testing.assert_array_equal(x, _vec(seed, 3, 6))


@pytest.mark.parametrize("seed", range(2))
def test_augmented_setitem(seed):
    check_all(aug_setitem, (_vec(seed, 3, 6),), use_autograd=False)


@pytest.mark.parametrize("seed", range(3))
def test_setitem_in_loop(seed):
    check_all(setitem_in_loop, (_vec(seed),), use_autograd=False)


@pytest.mark.parametrize("seed", range(3))
def test_augmented_setitem_in_loop(seed):
    x = _vec(seed)
    before = x.copy()
    check_all(aug_setitem_in_loop, (x,), use_autograd=False)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("seed", range(2))
def test_column_scale_in_loop(seed):
    rng = _rng(seed)
    m = rng.normal(size=(int(rng.integers(1, 4)), int(rng.integers(1, 4))))
    check_all(column_scale, (m, 0.7), wrt=(0, 1), use_autograd=False)


def test_print_calls_are_kept(capsys):
    x = np.array([1.0, 2.0])
    g = s2s.grad(with_print)(x)
    assert_close(g, 2 * x)
    out = capsys.readouterr().out
    assert "y is" in out
    assert "sum 5.000" in out


@pytest.mark.parametrize("seed", range(2))
def test_integer_args_not_differentiated(seed):
    x = _vec(seed) * 0.5
    check_all(int_args, (x, 3, 2.0))
    gx, gk = check_all(int_args, (x, 3, 2.0), wrt=(0, 2))
    assert np.shape(gk) == ()
    # asking for the gradient with respect to an integer array is an error, not a silent zero
    with pytest.raises(TypeError):
        s2s.grad(int_args)(np.arange(3), 3, 2.0)


def test_integer_arg_gradient_is_zero():
    # a Python int argument is a number like a float: its gradient is a float, here 0
    x = _vec(0) * 0.5
    g = s2s.grad(int_args, wrt=1)(x, 3, 2.0)
    assert float(g) == 0.0


@pytest.mark.parametrize("seed", range(2))
def test_mlp_loss(seed):
    rng = _rng(seed)
    n, d, h, o = (int(v) for v in rng.integers(2, 5, size=4))
    args = (rng.normal(size=(d, h)), rng.normal(size=h), rng.normal(size=(h, o)), rng.normal(size=o),
            rng.normal(size=(n, d)), rng.normal(size=(n, o)))
    check_all(mlp_loss, args, wrt=(0, 1, 2, 3))


def test_mlp_relu_with_param_tuple():
    rng = _rng(7)
    params = (rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(4, 2)))
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    g = s2s.grad(mlp_relu_loss)(params, x, y)
    expected = autograd.grad(autograd_version(mlp_relu_loss))(params, x, y)
    assert len(g) == 3
    for gi, ei in zip(g, expected):
        assert_close(gi, ei)
    # finite differences on the first weight matrix
    assert_close(g[0], fd_grad(mlp_relu_w1, (params[0], params, x, y)))


@pytest.mark.parametrize("seed", range(3))
def test_softmax_cross_entropy(seed):
    rng = _rng(seed)
    n, k = int(rng.integers(1, 6)), int(rng.integers(2, 5))
    logits = rng.normal(size=(n, k)) * 3.0
    labels = rng.integers(0, k, size=n)
    g = check_all(softmax_xent, (logits, labels))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(n), labels] -= 1.0
    assert_close(g, p / n)


@pytest.mark.parametrize("seed", range(3))
def test_least_squares(seed):
    rng = _rng(seed)
    m, n = int(rng.integers(3, 7)), int(rng.integers(1, 4))
    w, a, b = rng.normal(size=n), rng.normal(size=(m, n)), rng.normal(size=m)
    g = check_all(least_squares, (w, a, b, 0.1), wrt=(0, 1, 2, 3))
    assert_close(g[0], 2 * a.T @ (a @ w - b) + 0.2 * w)


@pytest.mark.parametrize("seed", range(2))
def test_rnn_loop(seed):
    rng = _rng(seed)
    h, d, t = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 5))
    args = (rng.normal(size=(h, h)) * 0.5, rng.normal(size=(h, d)), rng.normal(size=(t, d)), rng.normal(size=h))
    check_all(rnn_loss, args, wrt=(0, 1, 2, 3))


def test_value_and_grad_and_vjp_agree_on_mlp():
    rng = _rng(11)
    args = (rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=(2, 1)), rng.normal(size=1),
            rng.normal(size=(4, 3)), rng.normal(size=(4, 1)))
    v, g = s2s.value_and_grad(mlp_loss, wrt=(0, 2))(*args)
    assert v == pytest.approx(mlp_loss(*args))
    value, pullback = s2s.vjp(mlp_loss, *args, wrt=(0, 2))
    assert value == pytest.approx(v)
    g2 = pullback(2.0)
    assert_close(g2[0], 2 * g[0])
    assert_close(g2[1], 2 * g[1])


@pytest.mark.parametrize("seed", range(2))
def test_setitem_reads_overwritten_element(seed):
    check_all(setitem_self, (_vec(seed),), use_autograd=False)


@pytest.mark.parametrize("seed", range(2))
def test_list_of_arrays_built_in_loop(seed):
    check_all(list_of_arrays_loop, (_vec(seed),))


def test_dict_in_loop():
    check_all(dict_loop, (_vec(2),))


@pytest.mark.parametrize("seed", range(2))
def test_augmented_operators(seed):
    check_all(aug_ops, (_vec(seed),))


def test_list_element_assignment():
    check_all(listidx_assign, (_vec(3, 3, 6),))


def test_helper_returning_nested_tuple():
    check_all(tuple_return_helper_nested, (_vec(4),))


@pytest.mark.parametrize("seed", range(2))
def test_mean_keepdims_and_max_axis(seed):
    rng = _rng(seed)
    check_all(mean_axis_keep, (rng.normal(size=(int(rng.integers(1, 4)), int(rng.integers(1, 4)))),))


@pytest.mark.parametrize("seed", range(2))
def test_transpose_dot_methods(seed):
    rng = _rng(seed)
    n, k = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    check_all(x_T_dot, (rng.normal(size=(n, k)), rng.normal(size=n)), wrt=(0, 1), use_autograd=False)


@pytest.mark.parametrize("seed", range(2))
def test_max_min_abs_methods(seed):
    check_all(max_method, (_vec(seed),), use_autograd=False)


@pytest.mark.parametrize("seed", range(2))
def test_slice_augmented_assignment(seed):
    rng = _rng(seed)
    check_all(slice_aug, (rng.normal(size=(int(rng.integers(2, 4)), int(rng.integers(1, 4)))),), use_autograd=False)


@pytest.mark.parametrize("seed", range(2))
def test_row_assignment_in_loop(seed):
    check_all(loop_slice_assign, (_vec(seed),), use_autograd=False)




@pytest.mark.parametrize("seed", range(2))
def test_helper_called_inside_loop(seed):
    check_all(helper_in_loop, (_vec(seed),))


def test_tuple_helper_called_inside_loop():
    check_all(pair_in_loop, (_vec(0),))


def test_recursion_called_inside_loop():
    check_all(rec_in_loop, (_vec(0) * 2.0,))
