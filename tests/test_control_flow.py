"""Differentiating through Python control flow: if/elif/else, loops, break/continue, early returns."""

import numpy as np
import pytest
from helpers_fd import check_all

import s2s

# ---------------------------------------------------------------- branches


def nested_if(x, t):
    if x[0] > t:
        if x[1] > 0:
            y = x * x
        else:
            y = 3.0 * x
    elif x[0] < -t:
        y = np.sin(x) * x[1]
    else:
        if x[1] > 0:
            y = x ** 3
        elif x[1] > -0.5:
            y = np.exp(x)
        else:
            y = np.cos(x) * 2.0
    return np.sum(y)


def one_armed_if(x):
    y = x * 2.0
    if np.sum(x) > 0:
        y = y * x
    return np.sum(y)


def conditional_expression(x):
    y = x * 2.0 if np.sum(x) > 0 else x * x
    k = x[0] if x[0] > 0 else -x[0]
    return np.sum(y * k)


def bool_ops(x):
    if x[0] > 0 and x[1] > 0:
        s = np.sum(x * x)
    elif x[0] > 0 or not x[1] > -1:
        s = np.sum(np.sin(x)) * x[0]
    else:
        s = np.sum(x) ** 2
    return s


def chained_comparison(x):
    if -1.0 < x[0] < 1.0:
        return np.sum(x ** 2) * x[0]
    return np.sum(x)


# ---------------------------------------------------------------- for loops


def range_computed_bounds(x):
    n = len(x)
    s = 0.0
    for i in range(1, n - 1):
        s = s + x[i - 1] * x[i + 1]
    return s


def range_with_step(x):
    s = 0.0
    for i in range(0, x.shape[0], 2):
        s = s + x[i] ** 2 * x[-1]
    return s


def fixed_range_loop(x, w):
    s = 0.0
    for i in range(3):
        s = s + x[i] * w
    return s


def loop_over_rows(m):
    s = 0.0
    for row in m:
        s = s + np.sum(row ** 2) * row[0]
    return s


def loop_over_list(x):
    xs = [x, 2.0 * x, x * x]
    s = 0.0
    for v in xs:
        s = s + np.sum(np.sin(v))
    return s


def loop_over_tuple(x):
    s = 0.0
    for c in (1.0, 2.0, 3.0):
        s = s + c * np.sum(np.sin(c * x))
    return s


def loop_enumerate(x):
    s = 0.0
    for i, v in enumerate(x):
        s = s + i * v * v
    return s


def loop_zip(x, y):
    s = 0.0
    for a, b in zip(x, y):
        s = s + a * b * a
    return s


def loop_reversed(x):
    acc = 0.0
    for v in reversed(x):
        acc = acc * 0.5 + v * v
    return acc


def loop_reversed_range(x):
    acc = 1.0
    for i in reversed(range(len(x))):
        acc = acc * x[i] + 1.0
    return acc


def loop_overwrites(x):
    y = x
    for _ in range(4):
        y = np.tanh(y * 1.3)
    return np.sum(y)


def loop_augmented(x):
    s = 1.0
    p = 1.0
    for v in x:
        s += v * v
        p *= v
    return s * p


def nested_loops(a, x):
    s = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            s = s + a[i, j] * x[i] * x[j]
    return s


def nested_loops_triangular(x):
    s = 0.0
    for i in range(len(x)):
        for j in range(i):
            s = s + np.sin(x[i] - x[j])
    return s


# ---------------------------------------------------------------- while loops


def while_value_dependent(x):
    y = x
    while np.sum(y * y) < 100.0:
        y = y * 1.5 + 0.1
    return np.sum(y)


def while_counter(x):
    i = 0
    s = 0.0
    while i < len(x):
        s = s + x[i] * x[i] * (i + 1)
        i = i + 1
    return s


def while_with_break(x):
    y = x
    k = 0
    while True:
        y = np.sin(y) + y
        k = k + 1
        if k >= 3:
            break
    return np.sum(y)


# ---------------------------------------------------------------- break / continue / return


def loop_break(x):
    s = 0.0
    for i in range(len(x)):
        if s > 3.0:
            break
        s = s + x[i] ** 2
    return s


def loop_continue(x):
    s = 0.0
    for i in range(len(x)):
        if x[i] < 0:
            continue
        s = s + x[i] ** 3
    return s


def early_return(x):
    if np.sum(x) < 0:
        return np.sum(x * x)
    y = np.sin(x)
    return np.sum(y) * x[0]


def return_in_loop(x):
    s = 0.0
    for i in range(len(x)):
        if x[i] > 1.0:
            return s * x[i]
        s = s + x[i] * x[i]
    return s


def nested_break(a):
    s = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if a[i, j] < 0:
                break
            s = s + a[i, j] ** 2
        s = s * 1.1
    return s


def return_in_nested_loop(a):
    s = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if s > 4.0:
                return s * a[i, j]
            s = s + a[i, j] ** 2
    return s


def while_continue(x):
    i = 0
    s = 0.0
    while i < len(x):
        i = i + 1
        if x[i - 1] < 0:
            continue
        s = s + np.exp(x[i - 1])
    return s


# ---------------------------------------------------------------- more loops


def neg_step(x):
    acc = 0.0
    for i in range(len(x) - 1, -1, -1):
        acc = acc * x[i] + x[i]
    return acc


def loopvar_after(x):
    for i in range(len(x)):  # noqa: B007 - i is read after the loop
        pass
    return x[i] * x[0]


def prod(x):
    s = 1.0
    for i in range(len(x)):
        s = s * x[i]
    return s


def while_return(x):
    y = x
    while True:
        y = y * 1.7
        if np.sum(y * y) > 50:
            return np.sum(y * x)


def while_break_value(x):
    y = x
    n = 0
    while n < 100:
        y = np.sin(y) * 2.0 + 0.5
        n = n + 1
        if np.max(y) > 1.9:
            break
    return np.sum(y * y)


def enumerate_rows(m):
    s = 0.0
    for i, row in enumerate(m):
        s = s + np.sum(row * row) * (i + 1)
    return s


def zip_list_array(x):
    ws = [0.5, 1.5, 2.5]
    s = 0.0
    for w, v in zip(ws, x):
        s = s + w * v ** 2
    return s


def if_in_loop(x):
    y = x
    for _i in range(4):
        if np.sum(y) > 0:
            y = y * 0.5 - 1.0
        else:
            y = y * y
    return np.sum(y)


def cond_in_loop(x):
    s = 0.0
    for v in x:
        s = s + (v * v if v > 0 else np.sin(v))
    return s


def nested_while_for(x):
    s = 0.0
    k = 0
    while k < 2:
        for v in x:
            s = s + v * k + v * v
        k = k + 1
    return s


def early_return_in_while(x):
    i = 0
    while i < len(x):
        if x[i] > 1.0:
            return x[i] * np.sum(x)
        i += 1
    return np.sum(x * x)


# ---------------------------------------------------------------- tests


def _rng(seed):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("x,t", [
    ([2.0, 1.0, 0.5], 1.0),   # outer if, inner if
    ([2.0, -1.0, 0.5], 1.0),  # outer if, inner else
    ([-2.0, 0.3, 0.5], 1.0),  # elif
    ([0.2, 0.7, -0.4], 1.0),  # else / if
    ([0.2, -0.2, 0.4], 1.0),  # else / elif
    ([0.2, -0.9, 0.4], 1.0),  # else / else
])
def test_nested_if(x, t):
    x = np.array(x)
    check_all(nested_if, (x, t))


@pytest.mark.parametrize("seed", range(4))
def test_one_armed_if(seed):
    x = _rng(seed).normal(size=int(_rng(seed).integers(2, 6)))
    check_all(one_armed_if, (x,))


@pytest.mark.parametrize("seed", range(4))
def test_conditional_expression(seed):
    x = _rng(seed).normal(size=int(_rng(seed).integers(2, 6)))
    check_all(conditional_expression, (x,))


@pytest.mark.parametrize("x", [[1.0, 1.0, 0.3], [1.0, -0.5, 0.3], [-1.0, -2.0, 0.3], [-1.0, 0.5, 0.3]])
def test_and_or_not(x):
    check_all(bool_ops, (np.array(x),))


@pytest.mark.parametrize("x", [[0.5, 2.0], [3.0, 2.0]])
def test_chained_comparison(x):
    check_all(chained_comparison, (np.array(x),))


@pytest.mark.parametrize("seed", range(3))
def test_range_computed_bounds(seed):
    rng = _rng(seed)
    x = rng.normal(size=int(rng.integers(3, 8)))
    check_all(range_computed_bounds, (x,))


@pytest.mark.parametrize("seed", range(3))
def test_range_with_step(seed):
    rng = _rng(seed)
    x = rng.normal(size=int(rng.integers(2, 8)))
    check_all(range_with_step, (x,))


def test_fixed_range_loop_both_args():
    x = np.array([0.5, -1.0, 2.0, 4.0])
    gx, gw = check_all(fixed_range_loop, (x, 1.7), wrt=(0, 1))
    np.testing.assert_allclose(gx, [1.7, 1.7, 1.7, 0.0])
    assert float(gw) == pytest.approx(1.5)


def test_fixed_range_source_runs_range_backwards():
    text = s2s.source(s2s.grad(fixed_range_loop))
    assert "reversed(range(" in text


def test_fixed_range_loop_index_is_not_taped():
    # the loop index of a fixed range is recomputed by running the range backwards, not stored
    for wrt in (0, 1):
        text = s2s.source(s2s.grad(fixed_range_loop, wrt=wrt))
        assert "reversed(range(3))" in text
        assert "i = stack.pop()" not in text


@pytest.mark.parametrize("seed", range(3))
def test_loop_over_rows(seed):
    rng = _rng(seed)
    m = rng.normal(size=(int(rng.integers(1, 5)), int(rng.integers(1, 4))))
    check_all(loop_over_rows, (m,))


@pytest.mark.parametrize("seed", range(2))
def test_loop_over_list(seed):
    rng = _rng(seed)
    check_all(loop_over_list, (rng.normal(size=int(rng.integers(1, 6))),))


@pytest.mark.parametrize("seed", range(2))
def test_loop_over_tuple(seed):
    rng = _rng(seed)
    check_all(loop_over_tuple, (rng.normal(size=int(rng.integers(1, 6))),))


@pytest.mark.parametrize("seed", range(3))
def test_loop_enumerate(seed):
    rng = _rng(seed)
    check_all(loop_enumerate, (rng.normal(size=int(rng.integers(1, 7))),))


@pytest.mark.parametrize("seed", range(3))
def test_loop_zip(seed):
    rng = _rng(seed)
    n = int(rng.integers(1, 7))
    check_all(loop_zip, (rng.normal(size=n), rng.normal(size=n)), wrt=(0, 1))


@pytest.mark.parametrize("seed", range(3))
def test_loop_reversed(seed):
    rng = _rng(seed)
    check_all(loop_reversed, (rng.normal(size=int(rng.integers(1, 7))),))


@pytest.mark.parametrize("seed", range(3))
def test_loop_reversed_range(seed):
    rng = _rng(seed)
    check_all(loop_reversed_range, (rng.normal(size=int(rng.integers(1, 7))),))


@pytest.mark.parametrize("seed", range(2))
def test_loop_overwrites_value_needed_by_backward(seed):
    rng = _rng(seed)
    check_all(loop_overwrites, (rng.normal(size=(2, int(rng.integers(1, 4)))),))


@pytest.mark.parametrize("seed", range(3))
def test_loop_augmented_assignment(seed):
    rng = _rng(seed)
    check_all(loop_augmented, (rng.normal(size=int(rng.integers(1, 6))),))


@pytest.mark.parametrize("seed", range(3))
def test_nested_loops(seed):
    rng = _rng(seed)
    n = int(rng.integers(1, 5))
    a = rng.normal(size=(n, n))
    x = rng.normal(size=n)
    check_all(nested_loops, (a, x), wrt=(0, 1))


@pytest.mark.parametrize("seed", range(2))
def test_nested_loops_triangular(seed):
    rng = _rng(seed)
    check_all(nested_loops_triangular, (rng.normal(size=int(rng.integers(2, 6))),))


@pytest.mark.parametrize("seed", range(4))
def test_while_value_dependent(seed):
    rng = _rng(seed)
    x = rng.uniform(0.1, 1.0, size=int(rng.integers(1, 5)))
    check_all(while_value_dependent, (x,))


@pytest.mark.parametrize("seed", range(2))
def test_while_counter(seed):
    rng = _rng(seed)
    check_all(while_counter, (rng.normal(size=int(rng.integers(1, 6))),))


def test_while_true_with_break():
    check_all(while_with_break, (np.array([0.3, -1.2, 2.0]),))


@pytest.mark.parametrize("x", [[0.5, 0.5, 0.5, 0.5], [1.5, 1.2, 0.3, 2.0], [2.0, 0.1, 0.2]])
def test_loop_break(x):
    check_all(loop_break, (np.array(x),))


@pytest.mark.parametrize("seed", range(3))
def test_loop_continue(seed):
    rng = _rng(seed)
    check_all(loop_continue, (rng.normal(size=int(rng.integers(2, 7))),))


@pytest.mark.parametrize("x", [[-1.0, -2.0, 0.5], [1.0, 2.0, -0.5]])
def test_early_return(x):
    check_all(early_return, (np.array(x),))


@pytest.mark.parametrize("x", [[0.5, 0.7, 1.5, 0.2], [0.5, 0.7, 0.2], [2.0, 0.3]])
def test_return_inside_loop(x):
    check_all(return_in_loop, (np.array(x),))


@pytest.mark.parametrize("seed", range(3))
def test_nested_break(seed):
    rng = _rng(seed)
    a = rng.normal(size=(int(rng.integers(1, 4)), int(rng.integers(2, 5)))) + 0.5
    check_all(nested_break, (a,))


@pytest.mark.parametrize("seed", range(3))
def test_return_in_nested_loop(seed):
    rng = _rng(seed)
    a = rng.normal(size=(int(rng.integers(2, 4)), int(rng.integers(2, 5)))) * 1.5
    check_all(return_in_nested_loop, (a,))


@pytest.mark.parametrize("seed", range(3))
def test_while_continue(seed):
    rng = _rng(seed)
    check_all(while_continue, (rng.normal(size=int(rng.integers(2, 7))),))


def test_branch_choice_recomputed_per_call():
    df = s2s.grad(early_return)
    neg = np.array([-1.0, -2.0])
    pos = np.array([1.0, 2.0])
    np.testing.assert_allclose(df(neg), 2 * neg)
    np.testing.assert_allclose(df(pos), np.cos(pos) * pos[0] + np.array([np.sum(np.sin(pos)), 0.0]))
    np.testing.assert_allclose(df(neg), 2 * neg)


@pytest.mark.parametrize("seed", range(3))
def test_range_negative_step(seed):
    check_all(neg_step, (_rng(seed).normal(size=int(_rng(seed).integers(1, 6))),))


def test_loop_variable_used_after_loop():
    check_all(loopvar_after, (np.array([0.3, -1.0, 2.0]),))


@pytest.mark.parametrize("seed", range(3))
def test_running_product_needs_tape(seed):
    check_all(prod, (_rng(seed).normal(size=int(_rng(seed).integers(1, 6))),))


@pytest.mark.parametrize("seed", range(3))
def test_while_true_return_inside(seed):
    x = np.abs(_rng(seed).normal(size=int(_rng(seed).integers(1, 5)))) + 0.1
    check_all(while_return, (x,))


@pytest.mark.parametrize("seed", range(3))
def test_while_break_on_value(seed):
    x = _rng(seed).normal(size=int(_rng(seed).integers(1, 5))) * 0.1
    check_all(while_break_value, (x,))


@pytest.mark.parametrize("seed", range(2))
def test_enumerate_rows(seed):
    rng = _rng(seed)
    check_all(enumerate_rows, (rng.normal(size=(int(rng.integers(1, 4)), int(rng.integers(1, 4)))),))


@pytest.mark.parametrize("n", [1, 3, 5])
def test_zip_list_with_array(n):
    check_all(zip_list_array, (_rng(n).normal(size=n),))


@pytest.mark.parametrize("seed", range(4))
def test_if_inside_loop(seed):
    check_all(if_in_loop, (_rng(seed).normal(size=int(_rng(seed).integers(1, 5))),))


@pytest.mark.parametrize("seed", range(3))
def test_conditional_expression_in_loop(seed):
    check_all(cond_in_loop, (_rng(seed).normal(size=int(_rng(seed).integers(1, 6))),))


def test_for_nested_in_while():
    check_all(nested_while_for, (np.array([0.4, -1.1, 2.0]),))


@pytest.mark.parametrize("x", [[0.1, 0.2], [0.1, 1.5, 0.3], [2.0]])
def test_return_inside_while(x):
    check_all(early_return_in_while, (np.array(x),))


def skipped_broadcast_product(M, x):
    s = 0.0
    for i in range(3):
        a = M * x * (i + 1.0)
        if i == 1:
            continue
        s = s + np.sum(a ** 2)
    return s


def skipped_until(M, x):
    s = 0.0
    for i in range(2):
        a = M * x * (i + 1.0)
        if s < 3.0:
            continue
        s = s + np.sum(a)
    return s


@pytest.mark.parametrize("f", [skipped_broadcast_product, skipped_until])
def test_a_skipped_trip_leaves_a_zero_adjoint_of_a_broadcast_product(f):
    """On a trip `continue` skips, a's adjoint stays 0.0, and `0.0 * x` is zeros of x's shape, smaller than M:
    their sum down to M's shape is zeros of M (the runtime raised there, taking it for an adjoint of the wrong
    shape)."""
    rng = np.random.default_rng(11)
    check_all(f, (rng.normal(size=(3, 3)), rng.normal(size=3)), wrt=(0, 1))
