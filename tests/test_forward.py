"""Forward mode: `s2s.jvp`, `s2s.jacobian(mode="forward")` and `s2s.derivative(mode="forward")`.

The subjects are the functions the reverse-mode tests already use. For each one the
forward tangent along a random direction is compared to central finite differences
along that direction, and the forward Jacobian to the reverse one.
"""

import numpy as np
import pytest
import test_control_flow as cf
import test_programs as tp
import test_rules_linalg as rl
import test_rules_math as rm
import test_rules_numpy as rn
import test_rules_operators as ro
import test_rules_reductions as rr
import test_rules_shape as rs
import test_seed_examples as se

import s2s

# ---------------------------------------------------------------- helpers


def _rng(seed):
    return np.random.default_rng(seed)


def _vec(seed, lo=2, hi=7):
    rng = _rng(seed)
    return rng.normal(size=int(rng.integers(lo, hi)))


def _leaves(value):
    """The output as a flat list of float arrays (tuples, lists and dicts are walked)."""
    if isinstance(value, dict):
        return [leaf for k in sorted(value) for leaf in _leaves(value[k])]
    if isinstance(value, list | tuple):
        return [leaf for v in value for leaf in _leaves(v)]
    return [np.asarray(value, dtype=float)]


def _shift(args, tangents, eps):
    out = []
    for a, t in zip(args, tangents):
        if t is None:
            out.append(a)
        elif isinstance(a, float | int) and not isinstance(a, bool):
            out.append(float(a) + eps * float(t))
        else:
            out.append(np.asarray(a, dtype=float) + eps * np.asarray(t, dtype=float))
    return out


def fd_directional(f, args, tangents, eps=1e-6):
    """Central difference of f along `tangents` (None: not varied); a flat list, one array per output leaf."""
    plus = _leaves(f(*_shift(args, tangents, eps)))
    minus = _leaves(f(*_shift(args, tangents, -eps)))
    return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]


def _random_tangent(arg, rng):
    if isinstance(arg, float | int) and not isinstance(arg, bool):
        return float(rng.normal())
    return rng.normal(size=np.shape(arg))


def _assert_leaves_close(actual, expected, rtol=1e-5, atol=1e-6, what=""):
    actual, expected = _leaves(actual), list(expected)
    assert len(actual) == len(expected), f"{what}: {len(actual)} output leaves, expected {len(expected)}"
    for a, e in zip(actual, expected):
        assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
        scale = max(1.0, float(np.max(np.abs(e))) if e.size else 1.0)
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol * scale, err_msg=what)


def check_jvp(f, args, wrt, seed=0, rtol=1e-5, atol=1e-6):
    """s2s.jvp(f) along a random tangent for the positions `wrt` against finite differences and f itself."""
    rng = _rng(1000 + seed)
    tangents = [None] * len(args)
    for p in wrt:
        tangents[p] = _random_tangent(args[p], rng)
    value, tangent_out = s2s.jvp(f, args, tangents)
    _assert_leaves_close(value, _leaves(f(*args)), rtol=1e-12, atol=1e-12, what="primal value")
    _assert_leaves_close(tangent_out, fd_directional(f, args, tangents), rtol=rtol, atol=atol, what="tangent")
    return value, tangent_out


def check_jacobians(f, args, wrt, rtol=1e-9, atol=1e-10):
    for p in wrt:
        jf = s2s.jacobian(f, wrt=p, mode="forward")(*args)
        jr = s2s.jacobian(f, wrt=p, mode="reverse")(*args)
        expected_shape = np.shape(f(*args)) + np.shape(args[p])
        assert np.shape(jf) == expected_shape, f"forward jacobian shape {np.shape(jf)} != {expected_shape}"
        assert np.shape(jr) == expected_shape
        np.testing.assert_allclose(jf, jr, rtol=rtol, atol=atol, err_msg=f"argument {p}")
        if np.ndim(f(*args)) == 0:
            g = s2s.grad(f, wrt=p)(*args)
            np.testing.assert_allclose(np.reshape(jr, np.shape(g)), g, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- subjects


def _m(seed, lo=1, hi=5):
    rng = _rng(seed)
    return rng.normal(size=(int(rng.integers(lo, hi)), int(rng.integers(lo, hi))))


def _mlp_args(seed):
    rng = _rng(seed)
    n, d, h, o = (int(v) for v in rng.integers(2, 5, size=4))
    return (rng.normal(size=(d, h)), rng.normal(size=h), rng.normal(size=(h, o)), rng.normal(size=o),
            rng.normal(size=(n, d)), rng.normal(size=(n, o)))


def _softmax_args(seed):
    rng = _rng(seed)
    n, k = int(rng.integers(1, 6)), int(rng.integers(2, 5))
    return (rng.normal(size=(n, k)) * 3.0, rng.integers(0, k, size=n))


def _lsq_args(seed):
    rng = _rng(seed)
    m, n = int(rng.integers(3, 7)), int(rng.integers(1, 4))
    return (rng.normal(size=n), rng.normal(size=(m, n)), rng.normal(size=m), 0.1)


def _rnn_args(seed):
    rng = _rng(seed)
    h, d, t = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 5))
    return (rng.normal(size=(h, h)) * 0.5, rng.normal(size=(h, d)), rng.normal(size=(t, d)), rng.normal(size=h))


def _pair(seed, n=None):
    rng = _rng(seed)
    n = n or int(rng.integers(1, 7))
    return rng.normal(size=n), rng.normal(size=n)


def _nested_loops_args(seed):
    rng = _rng(seed)
    n = int(rng.integers(1, 5))
    return rng.normal(size=(n, n)), rng.normal(size=n)


def _dot_reshape_args(seed):
    rng = _rng(seed)
    n = 2 * int(rng.integers(1, 4))
    return rng.normal(size=n), rng.normal(size=n)


def _x_t_dot_args(seed):
    rng = _rng(seed)
    n, k = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    return rng.normal(size=(n, k)), rng.normal(size=n)


def _reduction_input():
    return rr.rng(3).uniform(0.5, 1.5, size=rr.SHAPE) * rr.rng(4).choice([-1.0, 1.0], size=rr.SHAPE)


# (id, function, args, positions to vary)
PROGRAMS = [
    # helpers and calls
    ("calls_helper", tp.calls_helper, (_vec(0),), (0,)),
    ("calls_tuple_helper", tp.calls_tuple_helper, (_vec(1),), (0,)),
    ("calls_tuple_helper_indexed", tp.calls_tuple_helper_indexed, (_vec(2),), (0,)),
    ("calls_with_kwargs", tp.calls_with_kwargs, (_vec(3),), (0,)),
    ("uses_recursion", tp.uses_recursion, (_vec(4),), (0,)),
    ("power_rec_scalar", tp.power_rec, (1.3, 4), (0,)),
    ("shrink_rec_small", tp.shrink_rec, (_vec(1) * 0.5,), (0,)),
    ("shrink_rec_deep", tp.shrink_rec, (_vec(1) * 20.0,), (0,)),
    ("defaults", tp.defaults, (_vec(5),), (0,)),
    ("defaults_all_args", tp.defaults, (_vec(6), 0.5, 2.0), (0, 1, 2)),
    ("documented", tp.documented, (_vec(4), 0.5), (0, 1)),
    ("tuple_return_helper_nested", tp.tuple_return_helper_nested, (_vec(4),), (0,)),
    ("helper_in_loop", tp.helper_in_loop, (_vec(7),), (0,)),
    ("pair_in_loop", tp.pair_in_loop, (_vec(0),), (0,)),
    ("rec_in_loop", tp.rec_in_loop, (_vec(0) * 2.0,), (0,)),
    # containers
    ("containers", tp.containers, (_vec(0, 3, 6),), (0,)),
    ("list_append", tp.list_append, (_vec(1),), (0,)),
    ("unpacking", tp.unpacking, (_vec(2),), (0,)),
    ("builtin_sum", tp.builtin_sum, (_vec(3),), (0,)),
    ("comprehension", tp.comprehension, (_vec(4),), (0,)),
    ("comprehension_inline", tp.comprehension_inline, (_vec(5),), (0,)),
    ("comprehension_filtered", tp.comprehension_filtered, (_vec(6),), (0,)),
    ("list_of_arrays_loop", tp.list_of_arrays_loop, (_vec(7),), (0,)),
    ("dict_loop", tp.dict_loop, (_vec(2),), (0,)),
    ("listidx_assign", tp.listidx_assign, (_vec(3, 3, 6),), (0,)),
    # indexing and methods
    ("indexing", tp.indexing, (_m(0, 2, 5),), (0,)),
    ("fancy_indexing", tp.fancy_indexing, (_vec(0, 3, 7),), (0,)),
    ("methods_t_shape", tp.methods_t_shape, (_m(1),), (0,)),
    ("methods_sum_axis", tp.methods_sum_axis, (_m(2),), (0,)),
    ("methods_mean_max", tp.methods_mean_max, (_m(3),), (0,)),
    ("methods_dot_reshape", tp.methods_dot_reshape, _dot_reshape_args(0), (0, 1)),
    ("methods_copy_astype", tp.methods_copy_astype, (_vec(8),), (0,)),
    ("methods_chain", tp.methods_chain, (_rng(1).normal(size=(3, 3)),), (0,)),
    ("mean_axis_keep", tp.mean_axis_keep, (_m(4),), (0,)),
    ("x_T_dot", tp.x_T_dot, _x_t_dot_args(1), (0, 1)),
    ("max_method", tp.max_method, (_vec(9),), (0,)),
    # in-place updates
    ("setitem_scalar", tp.setitem_scalar, (_vec(0, 3, 4),), (0,)),
    ("setitem_slice", tp.setitem_slice, (_vec(1, 3, 4),), (0,)),
    ("setitem_overwrite", tp.setitem_overwrite, (_vec(2, 3, 6),), (0,)),
    ("aug_setitem", tp.aug_setitem, (_vec(3, 3, 6),), (0,)),
    ("setitem_in_loop", tp.setitem_in_loop, (_vec(4),), (0,)),
    ("aug_setitem_in_loop", tp.aug_setitem_in_loop, (_vec(5),), (0,)),
    ("column_scale", tp.column_scale, (_m(5, 1, 4), 0.7), (0, 1)),
    ("int_args", tp.int_args, (_vec(6) * 0.5, 3, 2.0), (0, 2)),
    ("setitem_self", tp.setitem_self, (_vec(7),), (0,)),
    ("aug_ops", tp.aug_ops, (_vec(8),), (0,)),
    ("slice_aug", tp.slice_aug, (_m(6, 2, 4),), (0,)),
    ("loop_slice_assign", tp.loop_slice_assign, (_vec(9),), (0,)),
    # models
    ("mlp_loss", tp.mlp_loss, _mlp_args(0), (0, 1, 2, 3)),
    ("softmax_xent", tp.softmax_xent, _softmax_args(1), (0,)),
    ("least_squares", tp.least_squares, _lsq_args(2), (0, 1, 2, 3)),
    ("rnn_loss", tp.rnn_loss, _rnn_args(3), (0, 1, 2, 3)),
    # branches
    ("nested_if_if_if", cf.nested_if, (np.array([2.0, 1.0, 0.5]), 1.0), (0,)),
    ("nested_if_if_else", cf.nested_if, (np.array([2.0, -1.0, 0.5]), 1.0), (0,)),
    ("nested_if_elif", cf.nested_if, (np.array([-2.0, 0.3, 0.5]), 1.0), (0,)),
    ("nested_if_else_if", cf.nested_if, (np.array([0.2, 0.7, -0.4]), 1.0), (0,)),
    ("nested_if_else_elif", cf.nested_if, (np.array([0.2, -0.2, 0.4]), 1.0), (0,)),
    ("nested_if_else_else", cf.nested_if, (np.array([0.2, -0.9, 0.4]), 1.0), (0,)),
    ("one_armed_if_pos", cf.one_armed_if, (np.array([0.5, 1.0, -0.2]),), (0,)),
    ("one_armed_if_neg", cf.one_armed_if, (np.array([-0.5, -1.0, 0.2]),), (0,)),
    ("conditional_expression_pos", cf.conditional_expression, (np.array([0.5, 1.0, -0.2]),), (0,)),
    ("conditional_expression_neg", cf.conditional_expression, (np.array([-0.5, -1.0, 0.2]),), (0,)),
    ("bool_ops_and", cf.bool_ops, (np.array([1.0, 1.0, 0.3]),), (0,)),
    ("bool_ops_or", cf.bool_ops, (np.array([1.0, -0.5, 0.3]),), (0,)),
    ("bool_ops_not", cf.bool_ops, (np.array([-1.0, -2.0, 0.3]),), (0,)),
    ("bool_ops_else", cf.bool_ops, (np.array([-1.0, 0.5, 0.3]),), (0,)),
    ("chained_comparison_in", cf.chained_comparison, (np.array([0.5, 2.0]),), (0,)),
    ("chained_comparison_out", cf.chained_comparison, (np.array([3.0, 2.0]),), (0,)),
    # for loops
    ("range_computed_bounds", cf.range_computed_bounds, (_vec(0, 3, 8),), (0,)),
    ("range_with_step", cf.range_with_step, (_vec(1, 2, 8),), (0,)),
    ("fixed_range_loop", cf.fixed_range_loop, (np.array([0.5, -1.0, 2.0, 4.0]), 1.7), (0, 1)),
    ("loop_over_rows", cf.loop_over_rows, (_m(7, 1, 4),), (0,)),
    ("loop_over_list", cf.loop_over_list, (_vec(0, 1, 6),), (0,)),
    ("loop_over_tuple", cf.loop_over_tuple, (_vec(1, 1, 6),), (0,)),
    ("loop_enumerate", cf.loop_enumerate, (_vec(2, 1, 7),), (0,)),
    ("loop_zip", cf.loop_zip, _pair(3), (0, 1)),
    ("loop_reversed", cf.loop_reversed, (_vec(4, 1, 7),), (0,)),
    ("loop_reversed_range", cf.loop_reversed_range, (_vec(5, 1, 7),), (0,)),
    ("loop_overwrites", cf.loop_overwrites, (_rng(6).normal(size=(2, 3)),), (0,)),
    ("loop_augmented", cf.loop_augmented, (_vec(7, 1, 6),), (0,)),
    ("nested_loops", cf.nested_loops, _nested_loops_args(8), (0, 1)),
    ("nested_loops_triangular", cf.nested_loops_triangular, (_vec(9, 2, 6),), (0,)),
    ("neg_step", cf.neg_step, (_vec(10, 1, 6),), (0,)),
    ("loopvar_after", cf.loopvar_after, (np.array([0.3, -1.0, 2.0]),), (0,)),
    ("prod", cf.prod, (_vec(11, 1, 6),), (0,)),
    ("enumerate_rows", cf.enumerate_rows, (_m(12, 1, 4),), (0,)),
    ("zip_list_array", cf.zip_list_array, (_rng(3).normal(size=3),), (0,)),
    ("if_in_loop", cf.if_in_loop, (_vec(13, 1, 5),), (0,)),
    ("cond_in_loop", cf.cond_in_loop, (_vec(14, 1, 6),), (0,)),
    ("nested_while_for", cf.nested_while_for, (np.array([0.4, -1.1, 2.0]),), (0,)),
    # while loops
    ("while_value_dependent", cf.while_value_dependent, (_rng(0).uniform(0.1, 1.0, size=3),), (0,)),
    ("while_counter", cf.while_counter, (_vec(15, 1, 6),), (0,)),
    ("while_with_break", cf.while_with_break, (np.array([0.3, -1.2, 2.0]),), (0,)),
    ("while_return", cf.while_return, (np.abs(_vec(16, 1, 5)) + 0.1,), (0,)),
    ("while_break_value", cf.while_break_value, (_vec(17, 1, 5) * 0.1,), (0,)),
    ("while_continue", cf.while_continue, (_vec(18, 2, 7),), (0,)),
    # break / continue / return
    ("loop_break_no_break", cf.loop_break, (np.array([0.5, 0.5, 0.5, 0.5]),), (0,)),
    ("loop_break_breaks", cf.loop_break, (np.array([1.5, 1.2, 0.3, 2.0]),), (0,)),
    ("loop_continue", cf.loop_continue, (_vec(19, 2, 7),), (0,)),
    ("early_return_neg", cf.early_return, (np.array([-1.0, -2.0, 0.5]),), (0,)),
    ("early_return_pos", cf.early_return, (np.array([1.0, 2.0, -0.5]),), (0,)),
    ("return_in_loop_returns", cf.return_in_loop, (np.array([0.5, 0.7, 1.5, 0.2]),), (0,)),
    ("return_in_loop_falls_through", cf.return_in_loop, (np.array([0.5, 0.7, 0.2]),), (0,)),
    ("nested_break", cf.nested_break, (_rng(1).normal(size=(3, 4)) + 0.5,), (0,)),
    ("return_in_nested_loop", cf.return_in_nested_loop, (_rng(2).normal(size=(3, 4)) * 1.5,), (0,)),
    ("early_return_in_while_returns", cf.early_return_in_while, (np.array([0.1, 1.5, 0.3]),), (0,)),
    ("early_return_in_while_falls_through", cf.early_return_in_while, (np.array([0.1, 0.2]),), (0,)),
    # lecture examples
    ("two_dot", se.two_dot, (np.arange(4.0),), (0,)),
    ("plain_sum", se.plain_sum, (_rng(0).normal(size=(2, 3)),), (0,)),
    ("sum_squares", se.sum_squares, (_vec(20, 1, 9),), (0,)),
    ("control_flow_scalar_pos", se.control_flow, (1.7,), (0,)),
    ("control_flow_scalar_neg", se.control_flow, (-0.3,), (0,)),
    ("control_flow_vector", se.control_flow, (_vec(21, 2, 6),), (0,)),
    ("control_flow_vector_neg", se.control_flow, (-np.abs(_vec(22, 2, 6)),), (0,)),
    ("control_flow_sum", se.control_flow_sum, (np.abs(_rng(2).normal(size=3)),), (0,)),
]

# rules: one subject per rule family, scalar and array inputs
RULES = (
    [(f"np.{f.__name__}{shape}", f, (rn._in(dom, shape, seed=len(f.__name__) + len(shape)),), (0,))
     for f, dom in rn.UNARY for shape in [(), (2, 3)]]
    + [(f"np.{f.__name__}{shapes}", f,
        (rn._in(dx, shapes[0], seed=1), rn._in(dy, shapes[1], seed=2)), (0, 1))
       for f, dx, dy in rn.BINARY for shapes in [((2, 3), (3,)), ((), (2, 3))]]
    + [("np.f_where", rn.f_where, (_rng(3).normal(size=(2, 3)), _rng(4).normal(size=(3,))), (0, 1)),
       ("np.f_clip", rn.f_clip, (np.array([[-0.9, -0.2, 0.1], [0.5, 1.2, 0.3]]),), (0,))]
    + [(f"math.{f.__name__}({x})", f, (x,), (0,)) for f, xs in rm.UNARY for x in xs[-1:]]
    + [("math.f_atan2", rm.f_atan2, (0.7, -1.4), (0, 1)),
       ("math.f_pow", rm.f_pow, (1.3, 2.0), (0, 1)),
       ("math.f_hypot3", rm.f_hypot3, (-0.5, 0.4, 1.2), (0, 1, 2)),
       ("math.f_abs", rm.f_abs, (-1.3,), (0,)),
       ("math.f_max2", rm.f_max2, (3.0, -1.0), (0, 1)),
       ("math.f_min3", rm.f_min3, (0.3, 0.2), (0, 1)),
       ("math.f_max_list", rm.f_max_list, (1.5, 0.2), (0, 1)),
       ("math.f_sum_start", rm.f_sum_start, (1.0, 2.0), (0, 1)),
       ("math.f_float", rm.f_float, (0.5,), (0,))]
    + [(f"op.{f.__name__}{shapes}", f,
        ro._inputs(f, shapes[0], shapes[1], 3), (0, 1))
       for f in ro.OPS for shapes in [((2, 3), (3,)), ((), ())]]
    + [("op.f_matmul", ro.f_matmul, (_rng(5).normal(size=(2, 3)), _rng(6).normal(size=(3, 4))), (0, 1)),
       ("op.f_augmented", ro.f_augmented, (_rng(7).normal(size=(2, 3)), _rng(8).normal(size=(3,))), (0, 1)),
       ("op.f_int_power", ro.f_int_power, (_rng(9).normal(size=(2, 3)) + 3.0,), (0,))]
    + [(f"red.{f.__name__}(axis={axis},keepdims={keep})", f, (_reduction_input(), axis, keep), (0,))
       for f in rr.REDUCERS for axis, keep in [(None, False), (1, False), ((0, 2), True)]]
    + [("red.f_cumsum", rr.f_cumsum, (rr.rng(9).normal(size=rr.SHAPE), 1), (0,))]
    + [("lin.f_dot", rl.f_dot, (rl._r((2, 3), 1), rl._r((3, 4), 2)), (0, 1)),
       ("lin.f_outer", rl.f_outer, (rl._r((3,), 3), rl._r((2,), 4)), (0, 1)),
       ("lin.f_einsum2", rl.f_einsum2, ("ij,jk->ik", rl._r((2, 3), 5), rl._r((3, 2), 6)), (1, 2)),
       ("lin.f_trace", rl.f_trace, (rl._r((3, 3), 7),), (0,)),
       ("lin.f_norm", rl.f_norm, (rl._r((4,), 8),), (0,)),
       ("lin.f_inv", rl.f_inv, (rl._well_conditioned(3, 9),), (0,)),
       ("lin.f_det", rl.f_det, (rl._well_conditioned(3, 10),), (0,)),
       ("lin.f_solve", rl.f_solve, (rl._well_conditioned(3, 11), rl._r((3, 2), 12)), (0, 1))]
    + [("shape.f_reshape", rs.f_reshape, (rs._r((2, 3, 4), 1), (4, 6)), (0,)),
       ("shape.f_transpose", rs.f_transpose, (rs._r((2, 3, 4), 2), (2, 0, 1)), (0,)),
       ("shape.f_concatenate", rs.f_concatenate, (rs._r((2, 3), 3), rs._r((4, 3), 4), 0), (0, 1)),
       ("shape.f_stack", rs.f_stack, (rs._r((2, 3), 5), rs._r((2, 3), 6), 1), (0, 1)),
       ("shape.f_expand_dims", rs.f_expand_dims, (rs._r((2, 3), 7), 1), (0,)),
       ("shape.f_slice_2d", rs.f_slice_2d, (rs._r((4, 5), 8),), (0,)),
       ("shape.f_fancy_2d", rs.f_fancy_2d, (rs._r((4, 5), 9),), (0,)),
       ("shape.f_index_scalar_chain", rs.f_index_scalar_chain, (rs._r((4,), 10) + 3.0,), (0,))]
)

CASES = PROGRAMS + RULES

# Cases that fail because s2s's forward mode is wrong; kept (strict xfail) so that a fix shows up.
XFAIL_JVP = {}
XFAIL_JACOBIAN = {}


def _params(cases, xfail, with_name=False):
    out = []
    for name, f, args, wrt in cases:
        marks = []
        if name in xfail:
            reason, exc = xfail[name]
            marks = [pytest.mark.xfail(strict=True, raises=exc, reason=reason)]
        values = (name, f, args, wrt) if with_name else (f, args, wrt)
        out.append(pytest.param(*values, id=name, marks=marks))
    return out


@pytest.mark.parametrize("f, args, wrt", _params(CASES, XFAIL_JVP))
def test_jvp_matches_finite_differences(f, args, wrt):
    check_jvp(f, args, wrt)


@pytest.mark.parametrize("f, args, wrt", _params(CASES, XFAIL_JACOBIAN))
def test_forward_jacobian_equals_reverse(f, args, wrt):
    check_jacobians(f, args, wrt)


def test_case_count():
    assert len(CASES) >= 80


# ---------------------------------------------------------------- vector and tuple outputs


def sin_times(x, w):
    return np.sin(x) * w


def pair_out(x, y):
    a = np.sum(x * y)
    b = x * np.exp(y)
    return a, b


def pair_from_helper(x):
    m, v = tp.moments(x)
    return m * 2.0, v + x * x


def list_out(x, c):
    return [x * c, np.sum(np.cos(x)) * c]


def rows_out(m):
    out = []
    for i in range(m.shape[0]):
        out.append(np.tanh(m[i]) * (i + 1))
    return out[0] + out[-1]


VECTOR_CASES = [
    ("sin_times", sin_times, (_vec(30, 3, 6), 1.5), (0, 1)),
    ("sin_times_array_w", sin_times, _pair(31, 4), (0, 1)),
    ("rows_out", rows_out, (_m(32, 2, 5),), (0,)),
]

TUPLE_CASES = [
    ("pair_out", pair_out, _pair(33, 4), (0, 1)),
    ("pair_from_helper", pair_from_helper, (_vec(34, 2, 6),), (0,)),
    ("list_out", list_out, (_vec(35, 2, 6), 0.7), (0, 1)),
]


@pytest.mark.parametrize("f, args, wrt", _params(VECTOR_CASES + TUPLE_CASES, {}))
def test_jvp_structured_outputs(f, args, wrt):
    value, tangent = check_jvp(f, args, wrt, seed=7)
    if isinstance(f(*args), tuple | list):
        assert isinstance(tangent, tuple | list)
        assert len(tangent) == len(f(*args))
    else:
        assert np.shape(tangent) == np.shape(f(*args))


@pytest.mark.parametrize("f, args, wrt", _params(VECTOR_CASES, {}))
def test_vector_jacobian_forward_equals_reverse(f, args, wrt):
    check_jacobians(f, args, wrt)


def test_sin_times_tangent_closed_form():
    x, w = _pair(40, 5)
    tx, tw = _pair(41, 5)
    value, tangent = s2s.jvp(sin_times, (x, w), (tx, tw))
    np.testing.assert_allclose(value, np.sin(x) * w, rtol=1e-14)
    np.testing.assert_allclose(tangent, np.cos(x) * tx * w + np.sin(x) * tw, rtol=1e-12, atol=1e-14)


def test_pair_out_tangent_closed_form():
    x, y = _pair(42, 3)
    tx, ty = _pair(43, 3)
    value, tangent = s2s.jvp(pair_out, (x, y), (tx, ty))
    assert len(value) == 2 and len(tangent) == 2
    np.testing.assert_allclose(tangent[0], np.sum(tx * y + x * ty), rtol=1e-12)
    np.testing.assert_allclose(tangent[1], tx * np.exp(y) + x * np.exp(y) * ty, rtol=1e-12)


# ---------------------------------------------------------------- unvaried arguments and several tangents


def test_none_tangent_means_not_varied():
    x, w = _pair(50, 4)
    tx, tw = _pair(51, 4)
    _, only_x = s2s.jvp(sin_times, (x, w), (tx, None))
    _, only_w = s2s.jvp(sin_times, (x, w), (None, tw))
    _, both = s2s.jvp(sin_times, (x, w), (tx, tw))
    np.testing.assert_allclose(only_x, np.cos(x) * tx * w, rtol=1e-12)
    np.testing.assert_allclose(only_w, np.sin(x) * tw, rtol=1e-12)
    np.testing.assert_allclose(both, only_x + only_w, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name, f, args, wrt", _params([c for c in CASES if len(c[3]) >= 2], XFAIL_JACOBIAN, with_name=True))
def test_jvp_is_linear_in_tangents(name, f, args, wrt):
    """Varying several arguments at once gives the sum of varying each one (the others None)."""
    rng = _rng(60)
    tangents = [None] * len(args)
    for p in wrt:
        tangents[p] = _random_tangent(args[p], rng)
    _, together = s2s.jvp(f, args, tangents)
    total = 0.0
    for p in wrt:
        one = [None] * len(args)
        one[p] = tangents[p]
        total = total + np.asarray(s2s.jvp(f, args, one)[1], dtype=float)
    np.testing.assert_allclose(together, total, rtol=1e-9, atol=1e-10)


def test_jvp_with_scalar_and_unvaried_int_args():
    x = _vec(70) * 0.5
    tx = _rng(71).normal(size=x.shape)
    _, t = s2s.jvp(tp.int_args, (x, 3, 2.0), (tx, None, None))
    expected = fd_directional(tp.int_args, (x, 3, 2.0), (tx, None, None))
    _assert_leaves_close(t, expected)
    _, tk = s2s.jvp(tp.int_args, (x, 3, 2.0), (None, None, 1.0))
    assert float(tk) == pytest.approx(tp.int_args(x, 3, 1.0), rel=1e-12)


def test_all_tangents_none_gives_zero():
    x, w = _pair(72, 3)
    value, tangent = s2s.jvp(sin_times, (x, w), (None, None))
    np.testing.assert_allclose(value, np.sin(x) * w)
    np.testing.assert_array_equal(np.broadcast_to(tangent, (3,)), np.zeros(3))


def test_stop_gradient_blocks_tangent():
    x = _vec(73)
    t = _rng(74).normal(size=x.shape)
    value, tangent = s2s.jvp(se.detached, (x,), (t,))
    assert value == pytest.approx(np.sum(x ** 3))
    assert float(tangent) == pytest.approx(float(np.sum(x * x * t)), rel=1e-12)


def test_matmul_with_tangent_starting_at_zero():
    args = (np.eye(2) * 2.0, np.ones(2))
    _, tangent = s2s.jvp(matmul_from_unvaried, args, (np.eye(2), None))
    np.testing.assert_allclose(tangent, 2.0)


def matmul_from_unvaried(w, h0):
    h = h0
    h = w @ h
    return np.sum(h)


def test_max_axis_jvp():
    x = np.arange(6.0).reshape(2, 3)
    _, tangent = s2s.jvp(max_axis, (x,), (np.ones((2, 3)),))
    assert float(tangent) == pytest.approx(2.0)


def max_axis(x):
    return np.sum(np.max(x, axis=1))


def test_solve_jvp():
    a, b = np.eye(2) * 2.0, np.ones(2)
    _, tangent = s2s.jvp(solve_sum, (a, b), (np.eye(2), None))
    # d(a^-1 b) = -a^-1 da a^-1 b = -0.25 * b
    assert float(tangent) == pytest.approx(-0.5)


def solve_sum(a, b):
    return np.sum(np.linalg.solve(a, b))


# ---------------------------------------------------------------- the generated forward function


@pytest.mark.parametrize("f, args", [
    (cf.prod, (_vec(80),)),
    (cf.while_break_value, (_vec(81) * 0.1,)),
    (tp.list_append, (_vec(82),)),
    (tp.aug_setitem_in_loop, (_vec(83),)),
    (tp.rnn_loss, _rnn_args(83)),
    (se.control_flow, (_vec(84),)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_derivative_forward_source(f, args):
    df = s2s.derivative(f, mode="forward")
    text = s2s.source(df)
    assert "_dot" in text
    assert "stack" not in text
    assert f"def {f.__name__}_jvp(" in text
    t = _rng(85).normal(size=np.shape(args[0]))
    value, tangent = df(*args, **{s2s_dot_name(df): t})
    _assert_leaves_close(value, _leaves(f(*args)), rtol=1e-12, atol=1e-12)
    _assert_leaves_close(tangent, fd_directional(f, args, (t,) + (None,) * (len(args) - 1)))


def s2s_dot_name(df):
    code = df.__code__
    kwonly = code.co_varnames[code.co_argcount:code.co_argcount + code.co_kwonlyargcount]
    assert len(kwonly) == 1 and kwonly[0].endswith("_dot"), kwonly
    return kwonly[0]


def test_derivative_forward_keyword_is_x_dot():
    df = s2s.derivative(cf.prod, mode="forward")
    x = np.array([0.5, -2.0, 3.0])
    value, tangent = df(x, x_dot=np.array([1.0, 0.0, 0.0]))
    assert value == pytest.approx(-3.0)
    assert tangent == pytest.approx(-6.0)


def test_derivative_forward_wrt_second_argument():
    df = s2s.derivative(sin_times, mode="forward", wrt=1)
    x, w = _pair(86, 3)
    tw = _rng(87).normal(size=3)
    value, tangent = df(x, w, w_dot=tw)
    np.testing.assert_allclose(value, np.sin(x) * w)
    np.testing.assert_allclose(tangent, np.sin(x) * tw, rtol=1e-12)
    assert "stack" not in s2s.source(df)


_DIVISORS = np.array([1.5, 2.5, 3.5])


def scalar_mod_array(x):
    return np.sum(x % _DIVISORS)


def scalar_minus_array(x):
    return np.sum(x - _DIVISORS * 2.0)


@pytest.mark.parametrize("f", [scalar_mod_array, scalar_minus_array], ids=lambda f: f.__name__)
def test_a_passed_through_tangent_gets_the_broadcast_shape(f):
    """`x % Y` with a number x and an array Y: the tangent of x (its x_dot, passed through as by `+`) is
    broadcast to the result's shape (it was x_dot alone: 1.0 where the derivative is 3.0)."""
    check_jvp(f, (0.7,), (0,))
    assert s2s.jvp(f, (0.7,), (1.0,))[1] == pytest.approx(3.0)
