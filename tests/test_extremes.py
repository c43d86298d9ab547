"""The adjoint of a max or min over an axis counts the hits per slice only where a slice may tie
(transforms/extremes.py). Ties and NaN slices give the general code's numbers exactly."""

import numpy as np
import pytest
from helpers_fd import check_all, check_all_and_general, compiled_matches

import s2s


def lse_rows(z):
    # m counts half as much again beyond the log-sum-exp, so that its adjoint is not zero (transforms/shifts.py
    # drops the adjoint of a shift the value does not depend on: tests/transforms/test_shifts.py)
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + 1.5 * m)


def min_columns(z, w):
    m = np.min(z, axis=0, keepdims=True)
    return np.sum(np.sin(m) * w) + np.sum(z * z)


TIES = np.array([[1.0, 3.0, 3.0], [2.0, 0.5, -1.0], [4.0, 4.0, 4.0]])
NAN = np.array([[1.0, np.nan, 3.0], [2.0, 0.5, -1.0], [0.0, -0.0, -2.0]])


def test_source_counts_only_where_slices_may_tie():
    z = np.random.default_rng(0).normal(size=(5, 4))
    src = s2s.source(s2s.grad(lse_rows), z)
    assert "z_extreme = z == m" in src, src
    assert "np.count_nonzero(z_extreme) == 5 and np.count_nonzero(np.isnan(m)) == 0" in src, src
    assert src.count("z == m") == 1, src


@pytest.mark.parametrize("z", [np.random.default_rng(1).normal(size=(6, 5)), TIES, NAN], ids=["random", "ties", "nan"])
def test_max_adjoint_equals_the_general_code(z):
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_array_equal(s2s.grad(lse_rows)(z), s2s.derivative(lse_rows)(z))


def test_ties_split_evenly():
    g = s2s.grad(lse_rows)(TIES)
    e = np.exp(TIES - TIES.max(axis=1, keepdims=True))
    soft = e / e.sum(axis=1, keepdims=True)
    hits = TIES == TIES.max(axis=1, keepdims=True)
    expected = soft + (1.5 - soft.sum(axis=1, keepdims=True)) * hits / hits.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(g, expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("z", [np.random.default_rng(2).normal(size=(4, 3)),
                               np.array([[1.0, -2.0], [-2.0, 0.5], [0.0, -2.0]])], ids=["random", "ties"])
def test_min_over_columns(z):
    w = np.random.default_rng(3).normal(size=(1, z.shape[1]))
    src = s2s.source(s2s.grad(min_columns, wrt=(0, 1)), z, w)
    assert "np.count_nonzero(z_extreme) ==" in src, src
    for a, b in zip(s2s.grad(min_columns, wrt=(0, 1))(z, w), s2s.derivative(min_columns, wrt=(0, 1))(z, w)):
        np.testing.assert_array_equal(a, b)


def test_against_finite_differences_and_autograd():
    rng = np.random.default_rng(4)
    check_all(lse_rows, (rng.normal(size=(5, 4)),))
    check_all(min_columns, (rng.normal(size=(4, 3)), rng.normal(size=(1, 3))), wrt=(0, 1))


def hinge_rows(W, X):
    M = np.maximum(0.0, X @ W - 0.5)
    return np.sum(M) + 0.5 * np.sum(W * W)


def hinge_steps(w, xs):
    h = np.zeros(w.shape[0])
    for x in xs:
        h = np.minimum(np.tanh(h + w * x), 0.25)
    return np.sum(h * h)


def test_the_tie_branch_computes_the_extreme_again_instead_of_keeping_it():
    """`np.maximum(0.0, t)` whose value the gradient does not need: the adjoint's mask is `t > 0.0`, and at a
    tie the extreme is computed from t again, so the forward sweep keeps no M (a loop pushes none)."""
    r = np.random.default_rng(2)
    W, X = r.normal(size=(3, 4)), r.normal(size=(6, 3))
    src = s2s.source(s2s.grad(hinge_rows), W, X)
    code = "\n".join(line for line in src.splitlines() if not line.strip().startswith("#"))
    assert "s2s.balanced_eq(t" in code and code.count("np.maximum(") == 1, src
    check_all(hinge_rows, (W, X), wrt=(0, 1))
    Xt = np.array([[0.5, 0.0, 0.0], [0.0, 0.0, 0.0]])  # rows of X @ W - 0.5 exactly 0 where W's first row is 1
    Wt = np.vstack([np.ones(4), r.normal(size=(2, 4))])
    np.testing.assert_array_equal(s2s.grad(hinge_rows)(Wt, Xt), s2s.derivative(hinge_rows)(Wt, Xt))
    w, xs = r.normal(size=4), r.normal(size=(5, 4))
    loop = s2s.source(s2s.grad(hinge_steps), w, xs)
    assert "np.minimum(t" in loop.split("reversed")[-1], loop  # computed again in the backward loop's tie branch
    check_all(hinge_steps, (w, xs), wrt=(0, 1))
    capped = (np.full(4, np.arctanh(0.25)), np.ones((3, 4)))  # tanh(h + w * x) == 0.25 on the first step: ties
    np.testing.assert_allclose(s2s.grad(hinge_steps)(*capped), s2s.derivative(hinge_steps)(*capped), rtol=1e-12)


def pinball(W, X, y, taus):
    r = y[:, None] - X @ W
    return np.mean(np.maximum(taus * r, (taus - 1.0) * r))


def clipped_pair(a, b):
    return np.sum(np.minimum(np.sin(a), b) ** 2) + np.sum(np.fmax(a * b, b))


def test_two_array_operands_share_one_tie_test():
    """np.maximum of two arrays, both differentiated: each operand's mask is a comparison where nothing ties,
    and the one count of ties is shared by both (transforms/specialize.py `_step`, transforms/shared_calls.py)."""
    r = np.random.default_rng(5)
    args = (r.normal(size=(3, 4)), r.normal(size=(6, 3)), r.normal(size=6), np.array([0.1, 0.3, 0.5, 0.9]))
    src = s2s.source(s2s.grad(pinball), *args)
    code = "\n".join(line for line in src.splitlines() if not line.strip().startswith("#"))
    assert code.count("np.count_nonzero(") == 1 and "else t3 > t" in code and "if ties else" in code, src
    check_all_and_general(pinball, args)
    check_all_and_general(clipped_pair, (r.normal(size=(4, 3)), r.normal(size=3)), wrt=(0, 1))


@pytest.mark.parametrize("case", ["ties", "nan", "inf", "float32"])
def test_two_array_operands_at_ties_nan_and_inf_give_the_general_codes_numbers(case):
    a = np.array([[0.5, 1.0, -2.0], [3.0, 0.25, 0.0]])
    b = np.array([0.5, 2.0, -2.0])  # ties with a's first row in two places
    if case == "nan":
        a[1, 1] = np.nan
    if case == "inf":
        a[0, 1], b[1] = np.inf, np.inf
    if case == "float32":
        a, b = a.astype(np.float32), b.astype(np.float32)
    f = s2s.grad(clipped_pair, wrt=(0, 1))
    general = s2s.derivative(clipped_pair, wrt=(0, 1))
    with np.errstate(invalid="ignore"):
        for got, expected in zip(f(a, b), general(a, b)):
            assert got.dtype == expected.dtype == a.dtype
            np.testing.assert_array_equal(got, expected)


def test_two_array_operands_compiled():
    r = np.random.default_rng(6)
    args = (r.normal(size=(3, 4)), r.normal(size=(6, 3)), r.normal(size=6), np.array([0.1, 0.3, 0.5, 0.9]))
    compiled_matches(pinball, args)


def row_max_weighted(z, w):
    return np.sum(np.max(z, axis=1) * w) + np.sum(np.min(np.abs(z), axis=0) ** 2)


def max_over_middle(t):
    return np.sum(np.sin(np.max(t, axis=-2)))


def test_max_without_keepdims_reads_the_axis_back():
    """np.max(z, axis=1) without keepdims (helper 157: its adjoint through s2s.grad_extreme was 18 us of a
    column-statistics gradient's 93): the mask compares z with `m[:, None]`, and the count runs only where a
    slice may tie."""
    r = np.random.default_rng(8)
    z, w = r.normal(size=(6, 5)), r.normal(size=6)
    src = s2s.source(s2s.grad(row_max_weighted, wrt=(0, 1)), z, w)
    assert "grad_extreme" not in src and "[:, None]" in src and "np.count_nonzero(" in src, src
    check_all_and_general(row_max_weighted, (z, w), wrt=(0, 1))
    t = r.normal(size=(3, 4, 2))
    assert "grad_extreme" not in s2s.source(s2s.grad(max_over_middle), t)
    check_all_and_general(max_over_middle, (t,))
    compiled_matches(row_max_weighted, (z, w), wrt=(0, 1))
    compiled_matches(max_over_middle, (t,))


@pytest.mark.parametrize("case", ["ties", "nan", "float32"])
def test_max_without_keepdims_at_ties_and_nan_gives_the_general_codes_numbers(case):
    z = np.array([[1.0, 3.0, 3.0], [2.0, 0.5, -1.0], [4.0, 4.0, 4.0], [-2.0, 0.0, -2.0]])
    w = np.array([0.5, -1.0, 2.0, 1.5])
    if case == "nan":
        z[1, 1] = np.nan
    if case == "float32":
        z, w = z.astype(np.float32), w.astype(np.float32)
    with np.errstate(invalid="ignore"):
        for got, expected in zip(s2s.grad(row_max_weighted, wrt=(0, 1))(z, w),
                                 s2s.derivative(row_max_weighted, wrt=(0, 1))(z, w)):
            assert got.dtype == expected.dtype == z.dtype
            np.testing.assert_array_equal(got, expected)


def squared_hinge(w, X, y):
    return np.mean(np.maximum(0.0, 1.0 - y * (X @ w)) ** 2)


def insensitive(w, X, y):
    e = np.maximum(np.abs(X @ w - y) - 0.5, 0.0)
    return 0.5 * np.sum(e ** 2) + np.sum(np.minimum(w, 0.0) ** 2)


def test_a_square_of_a_clamp_needs_no_mask():
    """`np.maximum(t, 0.0) ** 2`: the adjoint reaching the clamp is a product with the clamp's value, 0.0 (or
    NaN) wherever its mask is not 1, so the mask is dropped (helper 159: 1.6 us of 6.8 in an epsilon-insensitive
    loss; transforms/specialize.py `_product_with_a_zero_side`)."""
    r = np.random.default_rng(9)
    w, X, y = r.normal(size=3), r.normal(size=(12, 3)), np.sign(r.normal(size=12))
    for f in (squared_hinge, insensitive):
        src = s2s.source(s2s.grad(f), w, X, y)
        assert "balanced_eq" not in src and "count_nonzero" not in src, src
        check_all_and_general(f, (w, X, y))


@pytest.mark.parametrize("case", ["ties", "nan", "inf", "negative_zero"])
def test_a_square_of_a_clamp_at_ties_nan_and_inf_gives_the_general_codes_numbers(case):
    w = np.array([0.5, -1.0, 0.0])
    X = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0], [2.0, 0.5, -1.0], [1.0, 1.0, 1.0]])
    y = np.array([2.0, -1.0, 1.0, 0.5])  # X @ w - y hits the kink 0.5 and -0.5, y * (X @ w) hits 1.0
    if case == "nan":
        X[2, 0] = np.nan
    if case == "inf":
        X[3, 1] = np.inf
    if case == "negative_zero":
        w = np.array([-0.0, 0.0, -0.0])
    with np.errstate(invalid="ignore", over="ignore"):
        for f in (squared_hinge, insensitive):
            got, general = s2s.grad(f)(w, X, y), s2s.derivative(f)(w, X, y)
            np.testing.assert_array_equal(got, general)
            np.testing.assert_array_equal(np.signbit(got), np.signbit(general))


def builtin_min_of_an_array(x):
    return min(x ** 2)


def builtin_max_of_a_computed_array(x):
    y = np.sin(x)
    return max(y) * 2.0 + min(x)


@pytest.mark.parametrize("f", [builtin_min_of_an_array, builtin_max_of_a_computed_array], ids=lambda f: f.__name__)
def test_builtin_max_and_min_of_a_computed_vector(f):
    # (adv229: the adjoint of the vector was a list of its items' adjoints, and `t_bar * 2` repeated it: a crash)
    x = np.array([0.3, 1.2, 0.7, 0.5, 0.9])
    check_all_and_general(f, (x,), use_autograd=False)
    assert s2s.grad(f)(x.astype(np.float32)).dtype == np.float32
