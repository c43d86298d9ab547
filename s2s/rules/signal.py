"""Rules for 1-d signals, polynomials and statistics: np.convolve, np.correlate, np.trapezoid, np.polyval,
np.average, np.cov (helpers in s2s/runtime/signal.py and statistics.py).

np.average differentiates `a` and `weights` (`returned=True` refused); np.cov differentiates `m` with
rowvar, bias and ddof (`y`, `fweights`, `aweights` and `dtype` refused).
"""

from s2s import runtime as rt
from s2s.rules import defrule, family
from s2s.rules import result_shapes as shapes
from s2s.rules.runtime_rules import defrule_for as helper_rule

family(elementwise=False)

# ---- convolution and correlation (real 1-d arrays; each mode a window of the 'full' result)
defrule("np.convolve(a, v, mode='full')", zero=("mode",), result_shape=shapes.convolved("full"),
        a="s2s.grad_convolve(g, a, v, mode, 0)", v="s2s.grad_convolve(g, a, v, mode, 1)",
        a_dot="np.convolve(s2s.broadcast_like(a_dot, a), v, mode)",
        v_dot="np.convolve(a, s2s.broadcast_like(v_dot, v), mode)")
defrule("np.correlate(a, v, mode='valid')", zero=("mode",), result_shape=shapes.convolved("valid"),
        a="s2s.grad_correlate(g, a, v, mode, 0)", v="s2s.grad_correlate(g, a, v, mode, 1)",
        a_dot="np.correlate(s2s.broadcast_like(a_dot, a), v, mode)",
        v_dot="np.correlate(a, s2s.broadcast_like(v_dot, v), mode)")
# the adjoints are bilinear: each one's tangent in the other argument is the same helper
for _helper in (rt.grad_convolve, rt.grad_correlate):
    helper_rule(_helper, f"{_helper.__name__}(g, a, v, mode, which)",
                a_dot=f"s2s.{_helper.__name__}(g, s2s.broadcast_like(a_dot, a), v, mode, which) if which == 1 else 0.0",
                v_dot=f"s2s.{_helper.__name__}(g, a, s2s.broadcast_like(v_dot, v), mode, which) if which == 0 else 0.0",
                linear=("g",), result_shape=shapes.convolved_back)

# ---- the trapezoidal rule: sum(d * (y[1:] + y[:-1]) / 2) with d = diff(x) (or dx): bilinear in y and d
# (scipy.integrate.trapezoid computes the same: its rule is this one, s2s/rules/scipy_linalg.py)
TRAPEZOID = dict(zero=("axis",),
                 y="s2s.grad_trapezoid(g, y, x, dx, axis, 0)", x="s2s.grad_trapezoid(g, y, x, dx, axis, 1)",
                 dx="s2s.grad_trapezoid(g, y, x, dx, axis, 2)",
                 y_dot="np.trapezoid(s2s.broadcast_like(y_dot, y), x, dx, axis)",
                 x_dot="np.trapezoid(y, s2s.broadcast_like(x_dot, x), dx, axis)",
                 dx_dot="np.trapezoid(y, x, s2s.broadcast_like(dx_dot, dx), axis) if x is None else 0.0")
defrule("np.trapezoid(y, x=None, dx=1.0, axis=-1)", **TRAPEZOID)
helper_rule(rt.grad_trapezoid, "grad_trapezoid(g, y, x, dx, axis, which)",
            y_dot="s2s.grad_trapezoid(g, s2s.broadcast_like(y_dot, y), x, dx, axis, which) if which != 0 else 0.0",
            x_dot="s2s.grad_trapezoid(g, y, s2s.broadcast_like(x_dot, x), dx, axis, which) if which == 0 else 0.0",
            dx_dot="s2s.grad_trapezoid(g, y, x, s2s.broadcast_like(dx_dot, dx), axis, which) "
                   "if which == 0 and x is None else 0.0",
            linear=("g",))

# ---- np.interp(x, xp, fp): piecewise linear in x and xp, linear in fp (period= refused); x outside
# [xp[0], xp[-1]] takes left / right, fp's ends where they are None
defrule("np.interp(x, xp, fp, left=None, right=None, period=None)", default_only=("period",),
        result_shape=shapes.like(0, 3), real=shapes.real_of_all(3),
        x="s2s.grad_interp(g, x, xp, fp, left, right, 0)", xp="s2s.grad_interp(g, x, xp, fp, left, right, 1)",
        fp="s2s.grad_interp(g, x, xp, fp, left, right, 2)", left="s2s.grad_interp(g, x, xp, fp, left, right, 3)",
        right="s2s.grad_interp(g, x, xp, fp, left, right, 4)",
        x_dot="s2s.broadcast_like(x_dot, x) * s2s.interp_slope(x, xp, fp)",
        xp_dot="s2s.interp_xp_tangent(x, xp, fp, xp_dot)",
        fp_dot="np.interp(x, xp, s2s.broadcast_like(fp_dot, fp), None if left is None else 0.0, "
               "None if right is None else 0.0)",
        left_dot="np.where(np.asarray(x) < np.ravel(xp)[0], left_dot, 0.0) if left is not None else 0.0",
        right_dot="np.where(np.asarray(x) > np.ravel(xp)[-1], right_dot, 0.0) if right is not None else 0.0")

# ---- polynomials: p highest power first; d/dx is np.polyval of the derivative's coefficients
defrule("np.polyval(p, x)",
        p="np.sum(np.reshape(g * np.ones_like(x), (-1, 1)) * np.reshape(x, (-1, 1)) ** s2s.polyval_powers(p), axis=0)",
        x="g * np.polyval(s2s.polyder_coefficients(p), x)",
        p_dot="np.polyval(s2s.broadcast_like(p_dot, p), x)",
        x_dot="s2s.broadcast_like(x_dot, x) * np.polyval(s2s.polyder_coefficients(p), x)")
helper_rule(rt.polyder_coefficients, "polyder_coefficients(p)", linear=("p",))
helper_rule(rt.polyval_powers, "polyval_powers(*args)", nondiff=True)

# ---- averages: sum(a * w, axis) / sum(w, axis), w the weights spread over a's shape (ones for None)
_W = "s2s.average_weights(weights, a, axis)"
_S = f"np.sum({_W}, axis=axis, keepdims=keepdims)"
defrule("np.average(a, axis=None, weights=None, returned=False, keepdims=False)", reduction=True,
        zero=("axis", "returned", "keepdims"), default_only=("returned",),
        a=f"s2s.expand_reduced(g / {_S}, a, axis, keepdims) * {_W}",
        weights=f"s2s.grad_average_weights(s2s.expand_reduced(g / {_S}, a, axis, keepdims) * "
                "(a - s2s.keep(ans, a, axis, keepdims)), weights, a, axis)",
        a_dot=f"np.sum(s2s.broadcast_like(a_dot, a) * {_W}, axis=axis, keepdims=keepdims) / {_S}",
        weights_dot="np.sum((a - s2s.keep(ans, a, axis, keepdims)) * "
                    f"s2s.average_weights(s2s.broadcast_like(weights_dot, weights), a, axis), "
                    f"axis=axis, keepdims=keepdims) / {_S}")
helper_rule(rt.average_weights, "average_weights(weights, a, axis)", shape_only=("a",), linear=("weights",))
helper_rule(rt.grad_average_weights, "grad_average_weights(g, weights, a, axis)", shape_only=("weights", "a"),
            linear=("g",))

# ---- covariance: C = Xc Xc^T / n with Xc the centred rows; the adjoint (G + G^T) Xc / n is linear in m too
defrule("np.cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, dtype=None)",
        zero=("rowvar", "bias", "ddof"), default_only=("y", "fweights", "aweights", "dtype"),
        m="s2s.grad_cov(g, m, rowvar, bias, ddof)",
        m_dot="s2s.cov_cross(s2s.broadcast_like(m_dot, m), m, rowvar, bias, ddof)")
helper_rule(rt.grad_cov, "grad_cov(g, m, rowvar, bias, ddof)",
            m_dot="s2s.grad_cov(g, s2s.broadcast_like(m_dot, m), rowvar, bias, ddof)", linear=("g",))
helper_rule(rt.cov_cross, "cov_cross(t, m, rowvar, bias, ddof)",
            m_dot="s2s.cov_cross(t, s2s.broadcast_like(m_dot, m), rowvar, bias, ddof)", linear=("t",))

# ---- np.gradient: linear in f (central differences inside, one-sided at the ends); the spacings and coordinates
# are not differentiated (refused where they carry a derivative), several axes give a tuple of arrays
defrule("np.gradient(f, *varargs, axis=None, edge_order=1)", structured=True, zero=("axis", "edge_order"),
        f="s2s.grad_gradient(g, f, varargs, axis, edge_order)",
        f_dot="s2s.gradient_tangent(f_dot, f, varargs, axis, edge_order)")
helper_rule(rt.grad_gradient, "grad_gradient(g, f, varargs, axis, edge_order)", shape_only=("f",), structured=True,
            linear=("g",))
helper_rule(rt.gradient_tangent, "gradient_tangent(t, f, varargs, axis, edge_order)", shape_only=("f",),
            structured=True, linear=("t",))

# ---- np.vander(x, N, increasing): the powers of x, highest first (lowest with increasing=True); the adjoint of each
# column x ** k is g * k * x ** (k - 1), exactly 0 for k = 0 (s2s.power_slope), summed over the columns
_POWERS = "s2s.vander_powers(x, N, increasing)"
defrule("np.vander(x, N=None, increasing=False)", zero=("N", "increasing"),
        x=f"np.sum(g * s2s.power_slope(np.asarray(x)[:, None], {_POWERS}), axis=-1)",
        x_dot=f"s2s.broadcast_like(x_dot, x)[:, None] * s2s.power_slope(np.asarray(x)[:, None], {_POWERS})")
helper_rule(rt.vander_powers, "vander_powers(x, N, increasing)", nondiff=True)  # (exponents: constants)
