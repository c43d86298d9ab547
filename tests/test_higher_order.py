"""Second and third derivatives: hessian, hvp and nested grad, checked against finite differences of s2s.grad and autograd.

`s2s.hessian` runs forward mode over the reverse-mode code s2s generates, so every construct the
reverse pass emits (tapes, branches, loops run backwards, index-assignment adjoints, ...) has to be
differentiable again. Inputs are fixed by seeds and kept away from branch switching points.
"""

import math
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import test_control_flow as cf
import test_programs as tp
import test_rules_linalg as rl
import test_rules_math as rm
import test_rules_numpy as rn
import test_rules_reductions as rr
from conftest import autograd_twin
from helpers_fd import autograd_version

import s2s

# ---------------------------------------------------------------- reference Hessians


def fd_hessian(f, args, wrt=0, eps=1e-5):
    """Central differences of the s2s gradient (itself checked against autograd in the other test files)."""
    g = s2s.grad(f, wrt=wrt)
    x0 = np.asarray(args[wrt], dtype=float)
    scalar = np.ndim(args[wrt]) == 0
    out = np.zeros(x0.shape + x0.shape)
    for idx in np.ndindex(*x0.shape):
        xp, xm = x0.copy(), x0.copy()
        xp[idx] += eps
        xm[idx] -= eps
        ap, am = list(args), list(args)
        ap[wrt] = float(xp) if scalar else xp
        am[wrt] = float(xm) if scalar else xm
        out[(...,) + idx] = (np.asarray(g(*ap), dtype=float) - np.asarray(g(*am), dtype=float)) / (2 * eps)
    return out


def ag_hessian(twin, args, wrt=0):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Output seems independent of input")
        return np.asarray(autograd.hessian(twin, wrt)(*args), dtype=float)


def _close(actual, expected, what, rtol=1e-5, atol=1e-6):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale, err_msg=what)


def _square(h, x):
    n = int(np.size(x))
    return np.asarray(h, dtype=float).reshape(n, n)


def check_hessian(f, args, wrt=0, ag=None):
    """s2s.hessian against finite differences of s2s.grad, autograd (optional), and symmetry."""
    x = args[wrt]
    h = np.asarray(s2s.hessian(f, wrt=wrt)(*args), dtype=float)
    assert h.shape == np.shape(x) * 2
    assert np.all(np.isfinite(h))
    _close(h, fd_hessian(f, args, wrt), "s2s.hessian vs finite differences of s2s.grad", rtol=1e-5, atol=1e-6)
    hs = _square(h, x)
    _close(hs, hs.T, "Hessian symmetry", rtol=1e-9, atol=1e-10)
    if ag is not False:
        twin = ag if ag is not None else autograd_version(f)
        _close(h, ag_hessian(twin, args, wrt), "s2s.hessian vs autograd.hessian", rtol=1e-7, atol=1e-9)
    return h


def check_hvp(f, args, wrt=0, seed=0):
    x = args[wrt]
    h = np.asarray(s2s.hessian(f, wrt=wrt)(*args), dtype=float)
    rng = np.random.default_rng(seed)
    for _ in range(2):
        v = rng.normal(size=np.shape(x))
        v = float(v) if np.ndim(x) == 0 else v
        got = s2s.hvp(f, wrt=wrt)(*args, v)
        expected = (_square(h, x) @ np.reshape(v, -1)).reshape(np.shape(x))
        _close(got, expected, "hvp vs hessian @ v", rtol=1e-9, atol=1e-10)


# ---------------------------------------------------------------- extra subject functions


def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def softmax_weighted(x):
    e = np.exp(x - np.max(x))
    p = e / np.sum(e)
    return np.sum(p * np.arange(1.0, x.shape[0] + 1.0)) + np.sum(p * p)


def logsumexp_rows(m):
    mx = np.max(m, axis=1, keepdims=True)
    lse = mx[:, 0] + np.log(np.sum(np.exp(m - mx), axis=1))
    return np.sum(lse * np.array([1.0, -0.5, 2.0]))


W1 = np.random.default_rng(900).normal(size=(3, 4))
W2 = np.random.default_rng(901).normal(size=(4, 2))
XB = np.random.default_rng(902).normal(size=(5, 3))
YB = np.random.default_rng(903).normal(size=(5, 2))


def mlp_tanh_w(w1):
    h = np.tanh(XB @ w1)
    out = h @ W2
    return np.mean((out - YB) ** 2)


def mlp_tanh_x(x):
    h = np.tanh(x @ W1 + 0.1)
    return np.sum(np.tanh(h @ W2) ** 2)


def quad_form(x, a):
    return x @ a @ x + np.sum(np.sin(x))


def scalar_branches(x):
    if x > 1.0:
        return x ** 3
    elif x > 0.0:
        return math.sin(x) * x
    return math.exp(x)


def scalar_loop(x):
    s = 0.0
    for i in range(4):
        s = s + x ** (i + 1) / (i + 1)
    return s


def scalar_while(x):
    y = x
    while y < 10.0:
        y = y * 2.0 + x * x
    return y


def scalar_early_return(x):
    for i in range(5):
        if x * i > 2.0:
            return x * x * i
    return x


def scalar_augmented(x):
    s = x
    s *= x
    s += math.cos(x)
    return s


def two_scalars(x, y):
    return x * x * y + math.sin(x * y)


def poly(x):
    return 3.0 * x ** 4 - 2.0 * x ** 3 + x * x - 5.0 * x + 1.0


def math_sin(x):
    return math.sin(x)


# ---------------------------------------------------------------- cases


def _rng(seed):
    return np.random.default_rng(seed)


def _v(seed, n):
    return _rng(seed).normal(size=n)


def _m(seed, shape):
    return _rng(seed).normal(size=shape)


_A3 = _m(60, (3, 3))

# (id, function, args, wrt, compare-with-autograd)
CASES = [
    # ---- programs: defaults, containers, comprehensions, indexing, methods
    ("defaults", tp.defaults, (_v(1, 4),), 0, True),
    ("defaults_wrt_a", tp.defaults, (_v(1, 4), 0.7, 2.0), 1, True),
    ("containers", tp.containers, (_v(2, 4),), 0, True),
    ("list_append", tp.list_append, (_v(3, 4),), 0, True),
    ("builtin_sum", tp.builtin_sum, (_v(4, 3),), 0, True),
    ("comprehension_filtered", tp.comprehension_filtered, (_v(5, 5),), 0, True),
    ("indexing", tp.indexing, (_m(6, (3, 3)),), 0, True),
    ("fancy_indexing", tp.fancy_indexing, (_v(7, 4),), 0, True),
    ("methods_t_shape", tp.methods_t_shape, (_m(8, (3, 2)),), 0, True),
    ("methods_sum_axis", tp.methods_sum_axis, (_m(9, (3, 2)),), 0, True),
    ("methods_mean_max", tp.methods_mean_max, (_m(10, (3, 2)),), 0, True),
    ("methods_copy_astype", tp.methods_copy_astype, (_v(11, 3),), 0, False),
    ("methods_chain", tp.methods_chain, (_m(12, (2, 2)),), 0, False),
    ("mean_axis_keep", tp.mean_axis_keep, (_m(13, (3, 2)),), 0, True),
    ("x_T_dot_m", tp.x_T_dot, (_m(14, (2, 3)), _v(15, 2)), 0, False),
    ("x_T_dot_v", tp.x_T_dot, (_m(14, (2, 3)), _v(15, 2)), 1, False),
    ("max_method", tp.max_method, (_v(16, 4),), 0, False),
    ("int_args", tp.int_args, (_v(17, 3) * 0.5, 3, 2.0), 0, True),
    ("int_args_wrt_k", tp.int_args, (_v(17, 3) * 0.5, 3, 2.0), 2, True),
    ("aug_ops", tp.aug_ops, (_v(18, 3),), 0, True),
    ("listidx_assign", tp.listidx_assign, (_v(19, 3),), 0, True),
    # ---- index assignment
    ("setitem_scalar", tp.setitem_scalar, (_v(20, 3),), 0, False),
    ("setitem_slice", tp.setitem_slice, (_v(21, 3),), 0, False),
    ("setitem_overwrite", tp.setitem_overwrite, (_v(22, 4),), 0, False),
    ("aug_setitem", tp.aug_setitem, (_v(23, 4),), 0, False),
    ("column_scale", tp.column_scale, (_m(24, (2, 3)), 0.7), 0, False),
    ("column_scale_wrt_c", tp.column_scale, (_m(24, (2, 3)), 0.7), 1, False),
    ("slice_aug", tp.slice_aug, (_m(25, (3, 2)),), 0, False),
    ("loop_slice_assign", tp.loop_slice_assign, (_v(26, 3),), 0, False),
    # ---- models: least squares, MLP, softmax cross-entropy, RNN
    ("least_squares_w", tp.least_squares, (_v(27, 3), _m(28, (5, 3)), _v(29, 5), 0.1), 0, True),
    ("least_squares_a", tp.least_squares, (_v(27, 3), _m(28, (5, 3)), _v(29, 5), 0.1), 1, True),
    ("mlp_loss_w1", tp.mlp_loss, (_m(30, (3, 2)), _v(31, 2), _m(32, (2, 2)), _v(33, 2), _m(34, (4, 3)), _m(35, (4, 2))), 0, True),
    ("mlp_loss_b1", tp.mlp_loss, (_m(30, (3, 2)), _v(31, 2), _m(32, (2, 2)), _v(33, 2), _m(34, (4, 3)), _m(35, (4, 2))), 1, True),
    ("mlp_loss_w2", tp.mlp_loss, (_m(30, (3, 2)), _v(31, 2), _m(32, (2, 2)), _v(33, 2), _m(34, (4, 3)), _m(35, (4, 2))), 2, True),
    ("softmax_xent", tp.softmax_xent, (_m(36, (3, 4)) * 2.0, np.array([0, 2, 1])), 0, True),
    ("rnn_loss_wh", tp.rnn_loss, (_m(37, (2, 2)) * 0.5, _m(38, (2, 3)), _m(39, (3, 3)), _v(40, 2)), 0, True),
    ("rnn_loss_h0", tp.rnn_loss, (_m(37, (2, 2)) * 0.5, _m(38, (2, 3)), _m(39, (3, 3)), _v(40, 2)), 3, True),
    ("logsumexp", logsumexp, (_v(41, 5),), 0, True),
    ("softmax_weighted", softmax_weighted, (_v(42, 4),), 0, True),
    ("logsumexp_rows", logsumexp_rows, (_m(43, (3, 4)),), 0, True),
    ("mlp_tanh_w", mlp_tanh_w, (W1 * 0.5,), 0, True),
    ("mlp_tanh_x", mlp_tanh_x, (_v(44, 3),), 0, True),
    ("quad_form", quad_form, (_v(45, 3), _A3), 0, True),
    # ---- branches (inputs away from switching points)
    ("nested_if_if", cf.nested_if, (np.array([2.0, 1.0, 0.5]), 1.0), 0, True),
    ("nested_if_elif", cf.nested_if, (np.array([-2.0, 0.3, 0.5]), 1.0), 0, True),
    ("nested_if_else_elif", cf.nested_if, (np.array([0.2, -0.2, 0.4]), 1.0), 0, True),
    ("nested_if_else_else", cf.nested_if, (np.array([0.2, -0.9, 0.4]), 1.0), 0, True),
    ("one_armed_if", cf.one_armed_if, (np.array([0.5, 1.0, -0.3]),), 0, True),
    ("conditional_expression", cf.conditional_expression, (np.array([0.5, 1.0, -0.3]),), 0, True),
    ("bool_ops_and", cf.bool_ops, (np.array([1.0, 1.0, 0.3]),), 0, True),
    ("bool_ops_or", cf.bool_ops, (np.array([1.0, -0.5, 0.3]),), 0, True),
    ("chained_comparison", cf.chained_comparison, (np.array([0.5, 2.0]),), 0, True),
    ("early_return_neg", cf.early_return, (np.array([-1.0, -2.0, 0.5]),), 0, True),
    ("early_return_pos", cf.early_return, (np.array([1.0, 2.0, -0.5]),), 0, True),
    # ---- for loops
    ("range_with_step", cf.range_with_step, (_v(46, 5),), 0, True),
    ("fixed_range_loop_w", cf.fixed_range_loop, (_v(47, 4), 1.7), 1, True),
    ("loop_over_rows", cf.loop_over_rows, (_m(48, (3, 2)),), 0, True),
    ("loop_over_tuple", cf.loop_over_tuple, (_v(49, 3),), 0, True),
    ("loop_enumerate", cf.loop_enumerate, (_v(50, 4),), 0, True),
    ("loop_zip_x", cf.loop_zip, (_v(51, 3), _v(52, 3)), 0, True),
    ("loop_zip_y", cf.loop_zip, (_v(51, 3), _v(52, 3)), 1, True),
    ("loop_reversed", cf.loop_reversed, (_v(53, 4),), 0, True),
    ("loop_overwrites", cf.loop_overwrites, (_m(54, (2, 2)),), 0, True),
    ("loop_augmented", cf.loop_augmented, (_v(55, 3),), 0, True),
    ("nested_loops_x", cf.nested_loops, (_m(56, (3, 3)), _v(57, 3)), 1, True),
    ("nested_loops_triangular", cf.nested_loops_triangular, (_v(58, 4),), 0, True),
    ("loop_continue", cf.loop_continue, (_v(59, 5),), 0, True),
    ("nested_break", cf.nested_break, (_m(61, (2, 3)) + 0.5,), 0, True),
    ("return_in_nested_loop", cf.return_in_nested_loop, (_m(62, (3, 3)) * 1.5,), 0, True),
    ("neg_step", cf.neg_step, (_v(63, 4),), 0, True),
    ("loopvar_after", cf.loopvar_after, (np.array([0.3, -1.0, 2.0]),), 0, True),
    ("prod", cf.prod, (_v(64, 4),), 0, True),
    ("zip_list_array", cf.zip_list_array, (_v(65, 3),), 0, True),
    ("if_in_loop", cf.if_in_loop, (_v(66, 3),), 0, True),
    ("cond_in_loop", cf.cond_in_loop, (_v(67, 4),), 0, True),
    # ---- while loops
    ("while_value_dependent", cf.while_value_dependent, (_rng(68).uniform(0.1, 1.0, size=3),), 0, True),
    ("while_with_break", cf.while_with_break, (np.array([0.3, -1.2, 2.0]),), 0, True),
    ("while_return", cf.while_return, (np.abs(_v(69, 3)) + 0.1,), 0, True),
    ("while_break_value", cf.while_break_value, (_v(70, 3) * 0.1,), 0, True),
    ("nested_while_for", cf.nested_while_for, (np.array([0.4, -1.1, 2.0]),), 0, True),
    # ---- rule functions (scalar output)
    ("np_chain", rn.f_chain, (_rng(71).uniform(-2.0, 2.0, size=(2, 3)),), 0, True),
    ("np_sinc", rn.f_sinc, (_rng(72).uniform(-2.3, 2.3, size=(3,)),), 0, True),
    ("np_logaddexp_y", rn.f_logaddexp, (_m(73, (2, 3)), _v(74, 3)), 1, True),
    ("np_arctan2_x", rn.f_arctan2, (_m(75, (2, 3)), _v(76, 3) + 2.0), 0, True),
    ("np_where", rn.f_where, (_rng(77).uniform(0.5, 1.5, size=(2, 3)) * np.array([1.0, -1.0, 1.0]), _v(78, 3)), 0, True),
    ("np_clip", rn.f_clip, (np.array([[-1.0, 0.1, 0.4], [1.2, -0.2, 0.5]]),), 0, True),
    ("red_var_axis0", rr.f_var, (_rng(79).normal(size=rr.SHAPE), 0, False), 0, True),
    ("red_std_all", rr.f_std, (_rng(80).normal(size=rr.SHAPE), None, True), 0, True),
    ("red_max_axis", rr.f_max, (_rng(81).normal(size=rr.SHAPE), (0, 2), False), 0, True),
    ("red_cumsum", rr.f_cumsum, (_rng(82).normal(size=rr.SHAPE), 1), 0, True),
    ("linalg_norm", rl.f_norm, (_v(83, 4),), 0, True),
    ("linalg_det", rl.f_det, (_m(84, (3, 3)) + 3.0 * np.eye(3),), 0, True),
    ("linalg_inv", rl.f_inv, (_m(85, (2, 2)) + 3.0 * np.eye(2),), 0, True),
    ("linalg_solve_b", rl.f_solve, (_m(86, (3, 3)) + 3.0 * np.eye(3), _v(87, 3)), 1, True),
    # ---- scalar (Python float) arguments
    ("math_chain", rm.f_chain, (0.7,), 0, "twin"),
    ("math_tanh", rm.f_tanh, (-0.4,), 0, "twin"),
    ("math_atan2_x", rm.f_atan2, (0.6, 1.3), 1, "twin"),
    ("math_pow_y", rm.f_pow, (1.4, 1.7), 1, "twin"),
    ("scalar_branches_mid", scalar_branches, (0.5,), 0, "twin"),
    ("scalar_branches_hi", scalar_branches, (1.5,), 0, "twin"),
    ("scalar_branches_lo", scalar_branches, (-0.7,), 0, "twin"),
    ("scalar_loop", scalar_loop, (0.7,), 0, "twin"),
    ("scalar_while", scalar_while, (1.3,), 0, "twin"),
    ("scalar_early_return", scalar_early_return, (0.9,), 0, "twin"),
    ("scalar_augmented", scalar_augmented, (0.9,), 0, "twin"),
    ("two_scalars_x", two_scalars, (0.8, 1.3), 0, "twin"),
    ("two_scalars_y", two_scalars, (0.8, 1.3), 1, "twin"),
]


def _ag_arg(f, ag):
    if ag is True:
        return None
    if ag == "twin":
        return autograd_twin(f)
    return False


@pytest.mark.parametrize("f, args, wrt, ag", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hessian(f, args, wrt, ag):
    check_hessian(f, args, wrt, ag=_ag_arg(f, ag))


@pytest.mark.parametrize("f, args, wrt, ag", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hvp_matches_hessian_times_v(f, args, wrt, ag):
    del ag
    check_hvp(f, args, wrt, seed=len(f.__name__))


def test_hessian_closed_forms():
    x = _v(88, 3)
    a = _A3
    h = s2s.hessian(quad_form)(x, a)
    _close(h, a + a.T - np.diag(np.sin(x)), "x A x + sum sin x")
    z = _v(89, 5)
    p = np.exp(z - logsumexp(z))
    _close(s2s.hessian(logsumexp)(z), np.diag(p) - np.outer(p, p), "logsumexp Hessian = diag(p) - p p^T")


def test_hessian_wrt_by_name():
    _close(s2s.hessian(two_scalars, wrt="y")(0.8, 1.3), -0.64 * math.sin(1.04), "d2/dy2 by name")


def test_hessian_of_integer_scalar_argument():
    assert float(s2s.hessian(poly)(2)) == pytest.approx(36 * 4 - 12 * 2 + 2)


def test_hessian_does_not_modify_arguments():
    x = _v(90, 4)
    before = x.copy()
    s2s.hessian(tp.aug_setitem)(x)
    s2s.hvp(tp.aug_setitem)(x, np.ones(4))
    np.testing.assert_array_equal(x, before)


# ---------------------------------------------------------------- nested grad


POLY_D = [
    lambda x: 12 * x ** 3 - 6 * x ** 2 + 2 * x - 5,
    lambda x: 36 * x ** 2 - 12 * x + 2,
    lambda x: 72 * x - 12,
]


@pytest.mark.parametrize("x", [0.7, -1.3, 2.0, 0.0])
def test_third_derivative_of_polynomial(x):
    d1 = s2s.grad(poly)
    d2 = s2s.grad(d1)
    d3 = s2s.grad(d2)
    assert float(d1(x)) == pytest.approx(POLY_D[0](x), rel=1e-12, abs=1e-12)
    assert float(d2(x)) == pytest.approx(POLY_D[1](x), rel=1e-12, abs=1e-12)
    assert float(d3(x)) == pytest.approx(POLY_D[2](x), rel=1e-12, abs=1e-12)


def test_fourth_derivative_of_polynomial():
    d4 = s2s.grad(s2s.grad(s2s.grad(s2s.grad(poly))))
    assert float(d4(0.3)) == pytest.approx(72.0)


@pytest.mark.parametrize("x", [0.7, -1.3, 2.5])
def test_third_derivative_of_math_sin(x):
    assert float(s2s.grad(math_sin)(x)) == pytest.approx(math.cos(x), rel=1e-12)
    assert float(s2s.grad(s2s.grad(math_sin))(x)) == pytest.approx(-math.sin(x), rel=1e-12)
    assert float(s2s.grad(s2s.grad(s2s.grad(math_sin)))(x)) == pytest.approx(-math.cos(x), rel=1e-12)


def test_third_derivative_of_exp_product():
    def f(x):
        return math.exp(2.0 * x) * x

    x = 0.7
    assert float(s2s.grad(s2s.grad(f))(x)) == pytest.approx(math.exp(2 * x) * (4 * x + 4), rel=1e-12)
    assert float(s2s.grad(s2s.grad(s2s.grad(f)))(x)) == pytest.approx(math.exp(2 * x) * (8 * x + 12), rel=1e-12)


def _fd_second(f, x, eps=1e-5):
    g = s2s.grad(f)
    return (float(g(x + eps)) - float(g(x - eps))) / (2 * eps)


NESTED = [
    (scalar_branches, 0.5), (scalar_branches, 1.5), (scalar_branches, -0.7),
    (scalar_loop, 0.7), (scalar_while, 1.3), (scalar_early_return, 0.9),
    (scalar_augmented, 0.9), (rm.f_chain, 0.7), (rm.f_tanh, -0.4),
]


@pytest.mark.parametrize("f, x", NESTED, ids=[f"{f.__name__}-{x}" for f, x in NESTED])
def test_grad_of_grad_vs_finite_differences(f, x):
    got = float(s2s.grad(s2s.grad(f))(x))
    assert got == pytest.approx(_fd_second(f, x), rel=1e-6, abs=1e-7)
    assert got == pytest.approx(float(s2s.hessian(f)(x)), rel=1e-12, abs=1e-12)
    twin = autograd_twin(f)
    assert got == pytest.approx(float(autograd.grad(autograd.grad(twin))(x)), rel=1e-9, abs=1e-12)


def test_grad_of_grad_third_order_vs_finite_differences():
    d2 = s2s.grad(s2s.grad(scalar_branches))
    eps = 1e-5
    for x in (0.5, 1.5, -0.7):
        fd = (float(d2(x + eps)) - float(d2(x - eps))) / (2 * eps)
        assert float(s2s.grad(d2)(x)) == pytest.approx(fd, rel=1e-6, abs=1e-7)


def test_mixed_second_derivative():
    x, y = 0.8, 1.3
    got = float(s2s.grad(s2s.grad(two_scalars), wrt=1)(x, y))
    assert got == pytest.approx(2 * x + math.cos(x * y) - x * y * math.sin(x * y), rel=1e-12)


def test_grad_of_grad_for_vector_argument_is_refused():
    def f(x):
        return np.sum(x ** 3)

    with pytest.raises(s2s.S2SError):
        s2s.grad(s2s.grad(f))(np.array([1.0, 2.0]))


# ---------------------------------------------------------------- refusals


def test_hessian_of_non_scalar_function_is_each_elements_hessian():
    # as jax.hessian and autograd.hessian: shape out.shape + x.shape + x.shape (tests/test_compose.py checks more)
    def f(x):
        return x ** 3

    x = np.array([1.0, 2.0])
    want = np.zeros((2, 2, 2))
    want[0, 0, 0], want[1, 1, 1] = 6 * x
    np.testing.assert_allclose(s2s.hessian(f)(x), want)


# Cases s2s may not handle at second order yet: the result must then be a clean S2SError,
# and if a later version handles them, the numbers must be right.
MAYBE_REFUSED = [
    ("calls_helper", tp.calls_helper, (_v(91, 4),)),
    ("calls_tuple_helper", tp.calls_tuple_helper, (_v(92, 4),)),
    ("calls_with_kwargs", tp.calls_with_kwargs, (_v(93, 3),)),
    ("uses_recursion", tp.uses_recursion, (_v(94, 3),)),
    ("shrink_rec", tp.shrink_rec, (_v(95, 3) * 3.0,)),
    ("unpacking", tp.unpacking, (_v(96, 4),)),
    ("helper_in_loop", tp.helper_in_loop, (_v(97, 3),)),
    ("pair_in_loop", tp.pair_in_loop, (_v(98, 3),)),
    ("comprehension", tp.comprehension, (_v(99, 4),)),
    ("setitem_in_loop", tp.setitem_in_loop, (_v(100, 4),)),
    ("aug_setitem_in_loop", tp.aug_setitem_in_loop, (_v(101, 4),)),
    ("setitem_self", tp.setitem_self, (_v(102, 4),)),
    ("dict_loop", tp.dict_loop, (_v(103, 3),)),
    ("range_computed_bounds", cf.range_computed_bounds, (_v(104, 5),)),
    ("loop_reversed_range", cf.loop_reversed_range, (_v(105, 4),)),
    ("while_counter", cf.while_counter, (_v(106, 4),)),
    ("loop_break", cf.loop_break, (np.array([1.5, 1.2, 0.3, 2.0]),)),
    ("return_in_loop", cf.return_in_loop, (np.array([0.5, 0.7, 1.5, 0.2]),)),
    ("while_continue", cf.while_continue, (_v(107, 4),)),
    ("early_return_in_while", cf.early_return_in_while, (np.array([0.1, 1.5, 0.3]),)),
    ("prod_all", rr.f_prod_all, (_rng(108).uniform(0.5, 1.5, size=4),)),
]


@pytest.mark.parametrize("f, args", [c[1:] for c in MAYBE_REFUSED], ids=[c[0] for c in MAYBE_REFUSED])
def test_hessian_is_right(f, args):
    h = s2s.hessian(f)(*args)
    _close(h, fd_hessian(f, args), "s2s.hessian vs finite differences of s2s.grad")


@pytest.mark.parametrize("f, args", [c[1:] for c in MAYBE_REFUSED[:4]], ids=[c[0] for c in MAYBE_REFUSED[:4]])
def test_hvp_is_right(f, args):
    v = np.ones(np.shape(args[0]))
    got = s2s.hvp(f)(*args, v)
    _close(got, fd_hessian(f, args) @ v, "s2s.hvp vs finite differences of s2s.grad")


def test_nested_grad_through_helper_is_right():
    # forward over the gradient code: the helper's pullback call gets its tangent (s2s.pullback_jvp)
    def helper(x):
        return x * x * x

    def f(x):
        return helper(x) + x

    got = s2s.grad(s2s.grad(f))(0.7)
    assert float(got) == pytest.approx(6 * 0.7)


def test_nested_grad_through_helper_twice_against_autograd():
    import autograd
    import autograd.numpy as anp

    def helper(x, c):
        return np.sin(x * c) * x

    def f(x):
        return helper(x, 2.0) * helper(x * x, x) + x

    def fa(x):
        return anp.sin(x * 2.0) * x * anp.sin(x * x * x) * x * x + x

    for x in (0.7, -1.3):
        assert float(s2s.grad(s2s.grad(f))(x)) == pytest.approx(float(autograd.grad(autograd.grad(fa))(x)), rel=1e-10)


# ---------------------------------------------------------------- bugs found


def _loop_over_list(x):
    s = 0.0
    for v in [x, 2.0 * x]:
        s = s + np.sum(v * v)
    return s


def _enumerate_rows(m):
    s = 0.0
    for i, row in enumerate(m):
        s = s + np.sum(row * row) * (i + 1)
    return s


CRASHES = [
    ("loop_over_list_minimal", _loop_over_list, (np.array([0.5, -1.0]),)),
    ("loop_over_list", cf.loop_over_list, (_v(110, 3),)),
    ("list_of_arrays_loop", tp.list_of_arrays_loop, (_v(111, 3),)),
    ("enumerate_rows_minimal", _enumerate_rows, (_m(112, (2, 3)),)),
    ("enumerate_rows", cf.enumerate_rows, (_m(113, (2, 3)),)),
]


@pytest.mark.parametrize("f, args", [c[1:] for c in CRASHES], ids=[c[0] for c in CRASHES])
def test_hessian_loop_over_list_of_arrays(f, args):
    check_hessian(f, args, ag=None)


def _mutates_setitem(x):
    x[0] = x[0] * 2.0
    return np.sum(x ** 3)


def _mutates_aug(x):
    x += 1.0
    return np.sum(x ** 3)


@pytest.mark.parametrize("f, expected", [
    (_mutates_setitem, np.diag([48.0, 12.0])),  # f = 8 x0^3 + x1^3 at (1, 2)
    (_mutates_aug, np.diag([12.0, 18.0])),      # f = sum (x + 1)^3 at (1, 2)
], ids=["setitem", "augmented"])
def test_hessian_of_function_mutating_its_argument(f, expected):
    x = np.array([1.0, 2.0])
    h = s2s.hessian(f)(x)
    np.testing.assert_array_equal(x, [1.0, 2.0])
    _close(h, expected, "Hessian at the point passed in")


@pytest.mark.parametrize("f", [_mutates_setitem, _mutates_aug], ids=["setitem", "augmented"])
def test_grad_and_hvp_of_function_mutating_its_argument(f):
    x = np.array([1.0, 2.0])
    expected = np.diag([48.0, 12.0]) if f is _mutates_setitem else np.diag([12.0, 18.0])
    got = s2s.hvp(f)(x, np.array([1.0, 1.0]))
    np.testing.assert_array_equal(x, [1.0, 2.0])
    _close(got, expected @ np.ones(2), "hvp at the point passed in")


def _tanh_helper(v, c):
    return np.tanh(v * c)


def _calls_helper(x):
    return np.sum(_tanh_helper(x, 2.0) ** 2) + np.sum(x ** 3)


def _recursive_sin(x, n):
    if n == 0:
        return x
    return np.sin(_recursive_sin(x, n - 1))


def test_hessian_through_helper_calls_and_recursion():
    x = np.array([0.2, -0.5, 0.9])
    h = s2s.hessian(_calls_helper)(x)
    g = s2s.grad(_calls_helper)
    eps = 1e-5
    numeric = np.stack([(g(x + eps * e) - g(x - eps * e)) / (2 * eps) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(h, numeric, atol=1e-6)
    d2 = s2s.hessian(_recursive_sin)(0.4, 3)
    numeric = (s2s.grad(_recursive_sin)(0.4 + eps, 3) - s2s.grad(_recursive_sin)(0.4 - eps, 3)) / (2 * eps)
    assert float(d2) == pytest.approx(numeric, abs=1e-7)


def test_hvp_through_helper_calls():
    rng = np.random.default_rng(5)
    x, v = rng.normal(size=3), rng.normal(size=3)
    h = s2s.hessian(_calls_helper)(x)
    np.testing.assert_allclose(s2s.hvp(_calls_helper)(x, v), h @ v, atol=1e-10)


# ---------------------------------------------------------------- powers of a run-time exponent at 0 (helper 99)


def power_of_k(x, k):
    return x ** k


def polynomial_by_loop(x):
    s = 0.0
    for i in range(4):
        s = s + x ** i
    return s


def summed_powers_of_k(x, k):
    return np.sum(x ** k)


@pytest.mark.parametrize("k,second,third", [(0, 0.0, 0.0), (1, 0.0, 0.0), (2, 2.0, 0.0), (3, 0.0, 6.0)])
def test_derivatives_of_a_run_time_power_at_zero_are_the_polynomials(k, second, third):
    """x ** k with k an int argument: the second derivative at 0 was 0 * inf = nan for k = 0 (the slope's slope
    `k * power_slope(x, k - 1)`); now `power_term(k * (k - 1), x, k - 2)`, 0 where its factor is."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # (no 0 * inf on the way either)
        assert s2s.hessian(power_of_k)(0.0, k) == second
        assert s2s.grad(s2s.grad(power_of_k))(0.0, k) == second
        assert s2s.grad(s2s.grad(s2s.grad(power_of_k)))(0.0, k) == third
    assert s2s.hessian(polynomial_by_loop)(0.0) == 2.0
    np.testing.assert_array_equal(s2s.hessian(summed_powers_of_k)(np.array([0.0, 0.5]), k),
                                  np.diag([second, k * (k - 1) * 0.5 ** (k - 2) if k >= 2 else 0.0]))


def test_second_derivatives_of_a_power_in_both_arguments_match_autograd():
    for x, k in [(1.3, 2.5), (0.7, -1.5), (2.0, 0.0), (0.4, 1.0)]:
        for wrt in (0, 1):
            got = s2s.hessian(power_of_k, wrt=wrt)(x, k)
            want = autograd.hessian(power_of_k, wrt)(x, k)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_a_hessian_of_what_reverse_mode_refuses_goes_forward_over_forward():
    """Helper 193 (Tangent's corpus, a stack ported to a list): list.pop() is differentiated in forward mode only;
    s2s.hessian refused it with reverse mode's error, whose hint named s2s.hessian. It goes forward over forward."""
    def stack_pushing(x):
        stack = []
        stack.append(x)
        top = stack.pop()
        return np.sum(x * x * top * top)

    x = np.array([0.7, -0.3])
    np.testing.assert_allclose(s2s.hessian(stack_pushing)(x), np.diag(12 * x ** 2))
    np.testing.assert_allclose(s2s.jacfwd(stack_pushing)(x), 4 * x ** 3)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="forward mode only") as info:
        s2s.grad(stack_pushing)(x)
    assert "s2s.jacfwd(f)` gives the gradient" in str(info.value)


def popped_pair(x, y):
    held = [x * 2.0, y]
    top = held.pop()
    return np.sum(top * x ** 2 * np.sin(y)) + np.sum(held[0] * y)


def popped_pair_twin(x, y):  # (the same function without the list, for autograd)
    return anp.sum(y * x ** 2 * anp.sin(y)) + anp.sum(2.0 * x * y)


def test_hessian_blocks_of_what_reverse_mode_refuses_go_forward_over_forward():
    """`s2s.hessian(f, wrt=(0, 1))` of a function with list.pop() refused with reverse mode's error (stop 59's
    fallback took one argument only): the blocks come from one forward-over-forward code over both arguments."""
    x, y = np.array([0.7, -0.3, 1.1]), np.array([0.4, 0.9, -0.6])
    got = s2s.hessian(popped_pair, wrt=(0, 1))(x, y)
    for a in (0, 1):
        for b in (0, 1):
            want = autograd.jacobian(autograd.grad(popped_pair_twin, a), b)(x, y)
            np.testing.assert_allclose(got[a][b], want, rtol=1e-10, atol=1e-12)


def popped_with_a_number(u, c):
    held = [u, c * u]
    top = held.pop()
    return np.sum(u) * c ** 2 + np.sum(top)


def test_hessian_blocks_forward_over_forward_with_a_number():
    """Helper 199: a number argument's zero tangent was an array of shape (1,)."""
    u = np.array([0.3, -0.4])
    for c in (0.7, np.array(0.7)):
        H = s2s.hessian(popped_with_a_number, wrt=(0, 1))(u, c)
        np.testing.assert_allclose(H[0][1], [2 * 0.7 + 1.0] * 2)
        np.testing.assert_allclose(H[1][1], 2 * np.sum(u))
        np.testing.assert_allclose(H[0][0], np.zeros((2, 2)))


def test_a_function_without_source_is_told_so_by_hessian():
    """Helper 195's probe: s2s.hessian of a lambda made by exec said it may draw random numbers (the effects
    reader found no source): the transform's own error says what is wrong."""
    namespace = {"np": np}
    exec("f = lambda x: np.abs(x) ** 2", namespace)  # noqa: S102
    for second in (s2s.hessian, s2s.jacfwd):
        with pytest.raises(s2s.errors.SourceUnavailableError, match="cannot find the source"):
            second(namespace["f"])(0.5)
