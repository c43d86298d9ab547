"""NumPy calls as published programs write them (keyword arguments, orders, bounds, flat indices), each
checked against central differences, autograd where it has the call, forward mode and the Hessian.

Found by a sweep in the manner of autograd's tests/test_systematic.py (every function over a grid of
shapes and keyword arguments), written for this project.
"""

import autograd
import numpy as np
import pytest
from conftest import autograd_twin, check_grad, rng

import s2s
from s2s.errors import S2SError

try:
    from scipy import linalg, special
except ImportError:  # SciPy is optional: its tests are skipped
    linalg = special = None

W6 = np.linspace(-1.0, 1.5, 6)


def check_jvp(f, args, seed=0):
    """s2s.jvp(f) along a random tangent of the first argument against a central difference."""
    t = np.empty_like(args[0])  # in the argument's layout (the order='A' rules follow it)
    t[...] = rng(seed).normal(size=np.shape(args[0]))
    _, got = s2s.jvp(f, tuple(args), (t,) + (None,) * (len(args) - 1))
    eps = 1e-6
    expected = (f(args[0] + eps * t, *args[1:]) - f(args[0] - eps * t, *args[1:])) / (2 * eps)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def fd_in_layout(f, a, *rest):
    """Central differences that keep `a`'s memory layout (a copy of `a` would be C-ordered)."""
    out = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        e = np.zeros_like(a)
        e[i] = 1e-6
        out[i] = (f(a + e, *rest) - f(a - e, *rest)) / 2e-6
    return out


def check_hessian(f, args, ag=None):
    """s2s.hessian(f) against autograd's Hessian of the same source, or differences of s2s.grad."""
    got = s2s.hessian(f)(*args)
    if ag is not False:
        expected = autograd.hessian(autograd_twin(f) if ag is None else ag)(*args)
    else:
        x = np.asarray(args[0], dtype=float)
        expected = np.zeros(x.shape + x.shape)
        for i in np.ndindex(x.shape):
            e = np.zeros_like(x)
            e[i] = 1e-5
            expected[(Ellipsis,) + i] = (s2s.grad(f)(x + e, *args[1:]) - s2s.grad(f)(x - e, *args[1:])) / 2e-5
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


# ---- reshape and ravel in Fortran order: the adjoint writes back in the order the call read -------------------------

def reshape_f(a):
    return np.sum(np.sin(np.reshape(a, (3, 2), order="F")) * W6.reshape(3, 2))


def reshape_method_f(a):
    return np.sum(np.sin(a.reshape((3, 2), order="F")) ** 2 * W6.reshape(3, 2))


def ravel_f(a):
    return np.sum(np.sin(np.ravel(a, order="F")) * W6)


def flatten_f(a):
    return np.sum(np.cos(a.flatten("F")) * W6)


def ravel_method_a(a):
    return np.sum(np.sin(a.ravel(order="A")) * W6)


def reshape_order_given(a, order):
    return np.sum(np.sin(np.reshape(a, (3, 2), order=order)) * W6.reshape(3, 2))


@pytest.mark.parametrize("f", [reshape_f, reshape_method_f, ravel_f, flatten_f])
def test_fortran_order_reshape_and_ravel(f):
    a = rng(0).normal(size=(2, 3))
    check_grad(f, a)
    check_jvp(f, (a,))
    check_hessian(f, (a,))


@pytest.mark.parametrize("order", ["C", "F", "A"])
@pytest.mark.parametrize("fortran", [False, True], ids=["c_array", "fortran_array"])
def test_order_given_as_a_value_follows_the_arrays_layout(order, fortran):
    a = rng(1).normal(size=(2, 3))
    a = np.asfortranarray(a) if fortran else a
    got = s2s.grad(reshape_order_given)(a, order)
    np.testing.assert_allclose(got, fd_in_layout(reshape_order_given, a, order), rtol=1e-6, atol=1e-8)
    check_jvp(reshape_order_given, (a, order))


def test_ravel_order_a_of_a_transposed_view():
    a = rng(2).normal(size=(3, 2)).T  # Fortran-contiguous: order 'A' reads it column by column
    # (autograd reads 'A' of the adjoint's layout instead)
    np.testing.assert_allclose(s2s.grad(ravel_method_a)(a), fd_in_layout(ravel_method_a, a), rtol=1e-6, atol=1e-8)
    check_jvp(ravel_method_a, (a,))


def ravel_k(a):
    return np.sum(np.sin(np.ravel(a, order="K")) * W6)


def test_ravel_order_k_of_a_strided_array_is_refused():
    a = rng(3).normal(size=(2, 6))[:, ::2]  # neither C- nor Fortran-contiguous
    with pytest.raises(S2SError, match="order='C' or order='F'"):
        s2s.grad(ravel_k)(a)
    a = np.asfortranarray(rng(3).normal(size=(2, 3)))
    np.testing.assert_allclose(s2s.grad(ravel_k)(a), fd_in_layout(ravel_k, a), rtol=1e-6, atol=1e-8)


# ---- x.item(k): k counts the flattened entries ---------------------------------------------------------------------

def item_flat(a):
    return a.item(4) * a.item(0) + a.item(-1) ** 2


def item_tuple(a):
    return np.sin(a.item((1, 0))) * a.item(0, 2)


@pytest.mark.parametrize("f", [item_flat, item_tuple])
def test_item_of_a_matrix(f):
    a = rng(4).normal(size=(2, 3))
    check_grad(f, a, ag=False)  # autograd has no .item()
    check_jvp(f, (a,))
    check_hessian(f, (a,), ag=False)


# ---- np.clip with array bounds, also given the wrong way round (lo > hi gives hi) ---------------------------------

def clip_both(a, lo, hi):
    return np.sum(np.clip(a, lo, hi) ** 2 * W6.reshape(2, 3))


def clip_lo_only(a, lo):
    return np.sum(np.clip(a, lo, None) ** 3)


def clip_hi_only(a, hi):
    return np.sum(np.clip(a, a_min=None, a_max=hi) ** 3)


def test_clip_bounds_crossing():
    a = np.array([[-1.5, 0.2, 1.4], [0.9, -0.3, 2.0]])
    lo = np.array([-1.0, 0.5, 1.2])  # lo[2] > hi[2]: np.clip gives hi there whatever a is
    hi = np.array([[0.8], [1.1]]) + np.array([0.0, 0.0, -0.6])
    for wrt in (0, 1, 2):
        check_grad(clip_both, a, lo, hi, wrt=wrt, ag=False)  # (autograd's clip sends lo's share to a there)
    _, got = s2s.jvp(clip_both, (a, lo, hi), (None, np.ones(3), None))
    eps = 1e-6
    np.testing.assert_allclose(got, (clip_both(a, lo + eps, hi) - clip_both(a, lo - eps, hi)) / (2 * eps), atol=1e-6)
    _, got = s2s.jvp(clip_both, (a, lo, hi), (None, None, np.ones((2, 3))))
    np.testing.assert_allclose(got, (clip_both(a, lo, hi + eps) - clip_both(a, lo, hi - eps)) / (2 * eps), atol=1e-6)


def test_clip_one_bound():
    a = rng(5).normal(size=(2, 3))
    check_grad(clip_lo_only, a, 0.1, wrt=(0, 1), ag=False)  # (autograd has no derivative in the bounds)
    check_grad(clip_hi_only, a, 0.1, wrt=(0, 1), ag=False)
    check_hessian(clip_lo_only, (a, 0.1))


def clip_method_lower_only(a, lo):
    # (np.clip(a, lo) would want an upper bound, and takes no max= beside a positional lower bound: adv224)
    return np.sum(a.clip(lo) ** 3) + np.sum(a.clip(lo, None) * a) + np.sum(a.clip(lo, max=0.8) ** 2) \
        + np.sum(a.clip(min=lo) * a.clip(max=0.5))


def test_clip_method_with_a_lower_bound_alone():  # (adv223: the method was written np.clip(a, lo): a TypeError)
    a = rng(6).normal(size=(2, 3))
    check_grad(clip_method_lower_only, a, 0.1, wrt=(0, 1), ag=False)
    check_jvp(clip_method_lower_only, (a, 0.1))


def clip_lower_twice(a):
    return np.sum(a.clip(0.0, min=0.5))


def clip_upper_twice(a):
    return np.sum(a.clip(None, 0.5, max=1.0))


@pytest.mark.parametrize("f", [clip_lower_twice, clip_upper_twice], ids=["min", "max"])
def test_clip_method_with_a_bound_given_twice_is_refused_as_numpy_raises(f):
    with pytest.raises(TypeError, match="multiple values"):
        f(np.ones(3))  # (NumPy's own error)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="bound twice") as refused:
        s2s.grad(f)(np.ones(3))
    assert "give the m" in refused.value.hint


def clip_bounds_popped_max_first(x):
    bounds = [-0.5, 0.5]
    return np.sum(x.clip(max=bounds.pop(), min=bounds.pop()) ** 2)  # (max=0.5, then min=-0.5)


def clip_bounds_named_max_first(x, lo, hi):
    return np.sum(x.clip(max=hi, min=lo) ** 2)


def test_clip_method_bounds_are_evaluated_in_python_s_order_or_refused():
    # (adv228: written np.clip(x, min, max), the pops ran the other way round: the bounds swapped, value 1.25 for
    # 0.8425 and a zero gradient)
    x = np.array([0.3, -0.7, 1.2, -2.1, 0.05])
    with pytest.raises(s2s.UnsupportedSyntaxError, match="max= first"):
        s2s.grad(clip_bounds_popped_max_first)(x)
    check_grad(clip_bounds_named_max_first, x, -0.5, 0.5, wrt=(0, 1, 2), ag=False)  # (names: the order changes nothing)


# ---- Hessians through a weighted sum: the adjoint of `W * y` has the zero tangent 0.0 (W is not varied) -----------
# (forward mode over the gradient handed that 0.0 to helpers that need an array: s2s.keep, solve_triangular)

def weighted_logsumexp_rows(a, W):
    return np.sum(W * special.logsumexp(a, axis=1))


def weighted_triangular_solve(a, b, W):
    return np.sum(W * linalg.solve_triangular(np.tril(a) + 3.0 * np.eye(3), b, lower=True))


def _with_autograd_scipy(f):
    """autograd's twin of `f`, with its scipy wrappers in place of SciPy's modules."""
    import autograd.scipy.linalg
    import autograd.scipy.special

    twin = autograd_twin(f)
    twin.__globals__.update(special=autograd.scipy.special, linalg=autograd.scipy.linalg)
    return twin


@pytest.mark.skipif(special is None, reason="SciPy is an optional dependency")
def test_hessian_of_a_weighted_sum_of_a_reduction_along_an_axis():
    a, W = rng(6).normal(size=(3, 4)), rng(7).normal(size=3)
    check_hessian(weighted_logsumexp_rows, (a, W), ag=_with_autograd_scipy(weighted_logsumexp_rows))


@pytest.mark.skipif(special is None, reason="SciPy is an optional dependency")
def test_hessian_of_a_weighted_sum_of_a_triangular_solve():
    a, b, W = rng(8).normal(size=(3, 3)), rng(9).normal(size=3), rng(10).normal(size=3)
    check_hessian(weighted_triangular_solve, (a, b, W), ag=_with_autograd_scipy(weighted_triangular_solve))


# ---- functions that had no rule: vdot, vecdot, matrix_transpose, ptp, fmod, float_power -----------------------------

M23 = np.array([[0.3, -1.2, 0.8], [1.1, 0.4, -0.6]])


def vdot_matrices(a, b):
    return np.vdot(a, np.sin(b)) ** 2 + np.vdot(a, a)


def vecdot_axis0(a, b):
    return np.sum(np.vecdot(a, b * M23, axis=0) ** 2) + np.sum(np.vecdot(a, b[0]) * np.arange(2.0))


def matrix_transpose_stack(a, b):
    return np.sum(np.matrix_transpose(np.stack([a, b])) ** 3 * M23.T)


def ptp_axes(a, b):
    return np.sum(np.ptp(a * b, axis=0) ** 2) + np.ptp(np.sin(a)) + np.sum(np.ptp(b, axis=1, keepdims=True) * a)


def fmod_signs(a, b):
    return np.sum(np.fmod(a * 3.0, b + 2.5) ** 2 * M23)  # a * 3 of both signs: fmod keeps the dividend's sign


def float_power_both(a, b):
    return np.sum(np.float_power(a * a + 0.5, b) * M23)


@pytest.mark.parametrize("f", [vdot_matrices, vecdot_axis0, matrix_transpose_stack, ptp_axes, fmod_signs,
                               float_power_both], ids=lambda f: f.__name__)
def test_numpy_functions_without_autograd_rules(f):
    a, b = rng(11).uniform(-1.0, 1.0, size=(2, 3)), rng(12).uniform(-1.0, 1.0, size=(2, 3))
    check_grad(f, a, b, wrt=(0, 1), ag=False)  # (autograd has no derivative of these)
    check_jvp(f, (a, b))
    check_hessian(f, (a, b), ag=False)


def hvp_reverse_over_reverse(f, x, v):  # the JAX autodiff cookbook's Hessian-vector product
    return s2s.grad(lambda x: np.vdot(s2s.grad(f)(x), v))(x)


def tanh_squares(x):
    return np.sum(np.tanh(x) ** 2)


def test_hessian_vector_product_written_with_vdot():
    x, v = rng(13).normal(size=(3, 4)), rng(14).normal(size=(3, 4))
    expected = np.tensordot(autograd.hessian(autograd_twin(tanh_squares))(x), v, 2)
    np.testing.assert_allclose(hvp_reverse_over_reverse(tanh_squares, x, v), expected, rtol=1e-7, atol=1e-9)


# ---- a trajectory collected in a list, then stacked under the same name (an explicit Euler integrator) -------------
# (the Hessian was refused: forward mode computes the stack's tangent from the list before the name is rebound,
# `traj = traj_new`, and the aliasing check took that hand-over for a second name bound to the list)

def euler_trajectory_misfit(theta, y0):
    y = y0
    traj = []
    for _ in range(15):
        dy = np.array([y[1], -theta[0] * np.sin(y[0]) - theta[1] * y[1]])
        y = y + 0.05 * dy
        traj.append(y)
    traj = np.stack(traj)
    return np.sum((traj[:, 0] - np.cos(0.05 * np.arange(15))) ** 2)


def test_hessian_of_a_trajectory_stacked_under_its_list_name():
    theta, y0 = np.array([1.5, 0.1]), np.array([1.0, 0.0])
    check_grad(euler_trajectory_misfit, theta, y0)
    check_jvp(euler_trajectory_misfit, (theta, y0))
    check_hessian(euler_trajectory_misfit, (theta, y0))


def aliased_then_appended(x):
    a = [x]
    b = a
    a.append(x * 2.0)  # b sees the append in Python
    return np.sum(np.stack(b) ** 2)


def handed_on_at_every_trip(x):
    t = x * 2.0
    for _ in range(3):
        L = t  # the same array at every trip: Python's update of L changes t, which the next trip reads
        L[0] = L[0] * x[1]
    return np.sum(L)


@pytest.mark.parametrize("f", [aliased_then_appended, handed_on_at_every_trip], ids=lambda f: f.__name__)
def test_a_second_name_for_an_updated_value_is_still_refused(f):
    with pytest.raises(S2SError, match="another name is bound to"):
        s2s.grad(f)(np.array([0.5, 1.5]))


# ---- NaN-ignoring reductions (data with missing values): NaN entries get no derivative -----------------------------

MISSING = np.array([[0.4, np.nan, 1.3], [np.nan, -0.7, 0.2]])
# (the NaN-ignoring reductions come first: an elementwise function of a NaN entry before them, x ** 2, has the
# adjoint 0 * nan = nan there, as in autograd and JAX)


def nan_reductions(a):
    x = a + MISSING  # NaN where a value is missing
    return np.nansum(x) ** 2 + np.sum(np.sin(np.nanmean(x, axis=0)) ** 2) + np.sum(np.nanmax(x, axis=1) ** 3) \
        + np.nanmin(x, axis=1, keepdims=True)[1, 0] ** 3 + np.nanmean(x) * np.nanmax(x)


def nan_reductions_on_the_observed(a):  # the same function written without NaNs
    obs = ~np.isnan(MISSING)
    x = np.where(obs, a + np.nan_to_num(MISSING), 0.0)
    col_means = np.sum(x, axis=0) / np.sum(obs, axis=0)
    row_max = np.array([np.max(x[i][obs[i]]) for i in range(2)])
    return np.sum(x) ** 2 + np.sum(np.sin(col_means) ** 2) + np.sum(row_max ** 3) + np.min(x[1][obs[1]]) ** 3 \
        + np.sum(x) / np.sum(obs) * np.max(x[obs])


def nan_spread(a):
    x = a + MISSING
    return np.sum(np.nanvar(x, axis=0) ** 2) + np.nanstd(x, ddof=1) + np.sum(np.nanprod(x, axis=1) ** 2) \
        + np.nanstd(x, axis=1, keepdims=True)[0, 0] * np.nanvar(x)


def nan_spread_on_the_observed(a):  # the same function written without NaNs
    obs = ~np.isnan(MISSING)
    x = a + np.nan_to_num(MISSING)
    cols = [x[:, j][obs[:, j]] for j in range(3)]
    rows = [x[i][obs[i]] for i in range(2)]
    every = x[obs]
    return sum(np.var(c) ** 2 for c in cols) + np.std(every, ddof=1) + sum(np.prod(r) ** 2 for r in rows) \
        + np.std(rows[0]) * np.var(every)


@pytest.mark.parametrize("f, on_the_observed, seed", [(nan_reductions, nan_reductions_on_the_observed, 15),
                                                      (nan_spread, nan_spread_on_the_observed, 16)],
                         ids=["sum mean max min", "var std prod"])
def test_nan_reductions_skip_missing_values(f, on_the_observed, seed):
    """The NaN-ignoring reductions (np.nanvar, np.nanstd and np.nanprod with ddof, axis and keepdims too): the
    gradient, tangent and Hessian of the same function written over the observed entries alone; 0 at each missing
    one."""
    a = rng(seed).uniform(0.5, 1.5, size=(2, 3))
    np.testing.assert_allclose(f(a), on_the_observed(a))
    got = s2s.grad(f)(a)
    np.testing.assert_allclose(got, s2s.grad(on_the_observed)(a), rtol=1e-10, atol=1e-12)
    assert got[0, 1] == 0.0 and got[1, 0] == 0.0
    check_grad(f, a, ag=False)  # (autograd has no nansum, nanvar)
    check_jvp(f, (a,))
    H = s2s.hessian(f)(a)
    np.testing.assert_allclose(H, s2s.hessian(on_the_observed)(a), rtol=1e-9, atol=1e-12)


def nansum_int_dtype(a):
    return np.nansum(a * 2.0, dtype=int) * 1.0


def test_nansum_with_a_dtype_is_refused():
    with pytest.raises(S2SError, match="dtype=None"):
        s2s.grad(nansum_int_dtype)(np.ones(3) * 1.3)


# ---- searchsorted / digitize steer (no derivative), bincount sums weights, diagflat and ediff1d flatten --------------

KNOTS = np.array([0.0, 0.5, 1.2, 2.0, 3.0])
VALUES = np.array([0.3, 1.1, 0.4, 2.2, 1.7])


def hand_interp(x):
    """Linear interpolation written by hand, as physics codes do: np.searchsorted finds the interval."""
    i = np.clip(np.searchsorted(KNOTS, x), 1, len(KNOTS) - 1)
    t = (x - KNOTS[i - 1]) / (KNOTS[i] - KNOTS[i - 1])
    return np.sum((VALUES[i - 1] * (1.0 - t) + VALUES[i] * t) ** 2) + np.sum(x * np.digitize(x, KNOTS))


def bin_sums(w):
    return np.sum(np.bincount(np.array([0, 2, 2, 1, 0, 4]), weights=w * w, minlength=6) * np.arange(1.0, 7.0) ** 2)


def flat_shapes(a):
    return np.sum(np.diagflat(a, 1) @ np.ones(5)) ** 2 + np.sum(np.ediff1d(np.sin(a)) ** 2)


@pytest.mark.parametrize("f,x", [(hand_interp, np.array([0.2, 0.9, 1.7, 2.6])), (bin_sums, np.linspace(-1, 1, 6)),
                                 (flat_shapes, np.array([[0.3, -0.4], [1.1, 0.6]]))],
                         ids=["searchsorted_digitize", "bincount", "diagflat_ediff1d"])
def test_indexing_helpers(f, x):
    check_grad(f, x, ag=False)  # (autograd has none of these but searchsorted)
    check_jvp(f, (x,))
    check_hessian(f, (x,), ag=False)


# ---- np.median: the middle entry (the mean of the two middle ones), piecewise linear as np.sort ---------------------

def median_losses(a):
    centred = a - np.median(a, axis=0, keepdims=True)  # 3 rows: the middle one
    return np.sum(np.sin(centred + 0.3) ** 2) + np.median(a) ** 2 + np.sum(np.median(a * a, axis=1) * np.arange(3.0))


def test_median_odd_and_even_lengths():
    a = rng(16).normal(size=(3, 4))  # axis 0: odd length; axis 1 and all 12 entries: even
    check_grad(median_losses, a, ag=False)  # (autograd has no median)
    check_jvp(median_losses, (a,))
    check_hessian(median_losses, (a,), ag=False)


def median_over_two_axes(a):
    return np.sum(np.median(a, axis=(0, 1)))


def test_median_over_a_tuple_of_axes_is_refused():
    with pytest.raises(S2SError, match="one axis"):
        s2s.grad(median_over_two_axes)(np.ones((2, 3, 2)))
