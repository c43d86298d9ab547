"""Rules for NumPy's elementwise functions (ufuncs and friends)."""

import ast

import numpy as np

from s2s.rules import defrule, family, nondifferentiable, power_rules
from s2s.rules import result_shapes as shapes

family(elementwise=True, tangent_from_adjoint=True)  # a tangent is written only where it is not the adjoint with g renamed

# one argument
defrule("np.sin(x)", x="g * np.cos(x)", real=True, safe=True, sympy="sympy.sin(x)")
defrule("np.cos(x)", real=True, safe=True, sympy="sympy.cos(x)", x="-g * np.sin(x)")
defrule("np.tan(x)", real=True, safe=True, sympy="sympy.tan(x)", x="g / np.cos(x) ** 2")
defrule("np.arcsin(x)", sympy="sympy.asin(x)", x="g / np.sqrt(1 - x * x)")
defrule("np.arccos(x)", sympy="sympy.acos(x)", x="-g / np.sqrt(1 - x * x)")
defrule("np.arctan(x)", real=True, safe=True, sympy="sympy.atan(x)", x="g / (1 + x * x)")
defrule("np.sinh(x)", real=True, safe=True, sympy="sympy.sinh(x)", x="g * np.cosh(x)")
defrule("np.cosh(x)", real=True, safe=True, sympy="sympy.cosh(x)", x="g * np.sinh(x)")
defrule("np.tanh(x)", real=True, safe=True, sympy="sympy.tanh(x)", x="g * (1 - ans * ans)")
defrule("np.arcsinh(x)", sympy="sympy.asinh(x)", x="g / np.sqrt(x * x + 1)")
defrule("np.arccosh(x)", sympy="sympy.acosh(x)", x="g / np.sqrt(x * x - 1)")
defrule("np.arctanh(x)", sympy="sympy.atanh(x)", x="g / (1 - x * x)")
defrule("np.exp(x)", real=True, safe=True, sympy="sympy.exp(x)", x="g * ans")
defrule("np.exp2(x)", sympy="2 ** sympy.sympify(x)", x="g * ans * np.log(2)")
defrule("np.expm1(x)", real=True, safe=True, sympy="sympy.exp(x) - 1", x="g * (ans + 1)")
defrule("np.log(x)", real=True, safe=True, sympy="sympy.log(x)", x="g / x")
defrule("np.log1p(x)", real=True, safe=True, sympy="sympy.log(1 + x)", x="g / (1 + x)")
defrule("np.log2(x)", sympy="sympy.log(x, 2)", x="g / (x * np.log(2))")
defrule("np.log10(x)", sympy="sympy.log(x, 10)", x="g / (x * np.log(10))")
defrule("np.sqrt(x)", real=True, safe=True, sympy="sympy.sqrt(x)", x="g * 0.5 / ans")
defrule("np.cbrt(x)", sympy="sympy.real_root(x, 3)", x="g / (3 * ans * ans)")
defrule("np.square(x)", real=True, safe=True, sympy="sympy.sympify(x) ** 2", x="g * 2 * x")
defrule("np.reciprocal(x)", sympy="1 / sympy.sympify(x)", x="-g * ans * ans")
defrule("np.negative(x)", real=True, safe=True, sympy="-x", x="-g")
defrule("np.positive(x)", sympy="x", x="g")
defrule("np.abs(x)", real=True, safe=True, sympy="sympy.Abs(x)", x="g * np.sign(x)")
defrule("np.fabs(x)", sympy="sympy.Abs(x)", x="g * np.sign(x)")
defrule("np.sinc(x)",
        x="g * np.where(x == 0, 0.0, (np.cos(np.pi * x) - ans) / np.where(x == 0, 1.0, x))")
defrule("np.deg2rad(x)", x="g * (np.pi / 180)")
defrule("np.rad2deg(x)", x="g * (180 / np.pi)")
defrule("np.degrees(x)", sympy="x * 180 / sympy.pi", x="g * (180 / np.pi)")
defrule("np.radians(x)", sympy="x * sympy.pi / 180", x="g * (np.pi / 180)")
# complex values are refused elsewhere: on real arrays these are the identity (conj, real_if_close) or constant
defrule("np.conjugate(x)", methods=("conj", "conjugate"), sympy="x", x="g")
defrule("np.real_if_close(a, tol=100)", elementwise=False, returns_view=True, zero=("tol",), a="g")
defrule("np.real(val)", returns_view=True, val="s2s.real_part(g, val)")
# with a dtype given, an integer or boolean one truncates: no derivative flows (the variants check the result)
_asarray_cast = defrule("np.asarray(a, dtype=None)", register=False,
                        a="g if s2s.is_float_dtype(ans.dtype) else 0.0",
                        a_dot="s2s.as_array_like(a_dot, dtype) if s2s.is_float_dtype(ans.dtype) "
                              "else s2s.dense_tangent(0.0, ans)")
_array_cast = defrule("np.array(object, dtype=None)", register=False,
                      object="s2s.array_grad(g, object) if s2s.is_float_dtype(ans.dtype) else 0.0",
                      object_dot="np.array(object_dot, dtype=dtype) if s2s.is_float_dtype(ans.dtype) "
                                 "else s2s.dense_tangent(0.0, ans)")


def _dtype_given(cast):
    def variant(bound):
        d = bound.get("dtype")
        return cast if d is not None and not (isinstance(d, ast.Constant) and d.value is None) else None
    return variant


defrule("np.asarray(a, dtype=None)", returns_view=True, a="g", result_shape=shapes.array_of_items, real=shapes.real_items,
        a_dot="s2s.as_array_like(a_dot, dtype)").variant = _dtype_given(_asarray_cast)
# (asanyarray is asarray for the arrays and numbers s2s differentiates; it keeps a subclass, which s2s refuses)
defrule("np.asanyarray(a, dtype=None)", returns_view="sometimes", a="g", result_shape=shapes.array_of_items,
        real=shapes.real_items, a_dot="s2s.as_array_like(a_dot, dtype)").variant = _dtype_given(_asarray_cast)
# (an array of at least one dimension, in memory in C or Fortran order: the same values; a number becomes (1,))
for _name in ("ascontiguousarray", "asfortranarray"):
    defrule(f"np.{_name}(a, dtype=None)", returns_view="sometimes", default_only=("dtype",), a="np.reshape(g, np.shape(a))",
            a_dot=f"np.{_name}(a_dot)")
# copy=True is np.array's default; copy=False (the argument itself, or an error where a copy is needed) and
# copy=None are refused: the rule is for a new array
defrule("np.array(object, dtype=None, copy=True)", object="s2s.array_grad(g, object)", default_only=("copy",),
        result_shape=shapes.array_of_items, real=shapes.real_items,
        object_dot="np.array(object_dot, dtype=dtype)").variant = _dtype_given(_array_cast)
# (of an array: an array of its shape; of a number: a number; of an array of its own dtype, that array itself,
# hence returns_view: `z = np.float64(y); z[0] = v` changes y)
defrule("np.float64(x)", result_shape=shapes.copy, real=True, returns_view="sometimes",
        x="s2s.cast_back(g, x)", x_dot="np.float64(x_dot)")
defrule("np.float32(x)", result_shape=shapes.copy, real=True, returns_view="sometimes",
        x="s2s.cast_back(g, x)", x_dot="np.float32(x_dot)")
defrule("np.copy(a)", methods=("copy",), real=shapes.real_of_one, a="g", a_dot="s2s.copy(a_dot)")
# NumPy 2's function form of x.astype (to an integer or boolean dtype: no derivative flows; copy=False may give
# x itself back)
if hasattr(np, "astype"):
    defrule("np.astype(x, dtype, copy=True)", returns_view="sometimes", zero=("dtype", "copy"),
            result_shape=shapes.astype, x="s2s.cast_back(g, x) if s2s.is_float_dtype(dtype) else 0.0",
            x_dot="s2s.astype(x_dot, dtype) if s2s.is_float_dtype(dtype) else s2s.dense_tangent(0.0, ans)")
# copy=False (x changed in place and given back) is refused: the adjoint reads x's entries that were not finite
# (not `g * np.isfinite(x)`: a NaN or infinite g there, the tangent of a mean over nothing, stays NaN)
defrule("np.nan_to_num(x, copy=True)", returns_view="sometimes", default_only=("copy",),
        x="np.where(np.isfinite(x), g, 0.0)")

# two arguments
defrule("np.add(x1, x2)", real=True, safe=True, x1="unbroadcast(g, x1)", x2="unbroadcast(g, x2)",
        x1_dot="x1_dot", x2_dot="x2_dot")
defrule("np.subtract(x1, x2)", real=True, safe=True, x1="unbroadcast(g, x1)", x2="unbroadcast(-g, x2)",
        x1_dot="x1_dot", x2_dot="-x2_dot")
defrule("np.multiply(x1, x2)", real=True, safe=True, x1="unbroadcast(g * x2, x1)", x2="unbroadcast(g * x1, x2)",
        x1_dot="x1_dot * x2", x2_dot="x1 * x2_dot")
defrule("np.divide(x1, x2)", real=True, safe=True, x1="unbroadcast(g / x2, x1)", x2="unbroadcast(-g * ans / x2, x2)",
        x1_dot="x1_dot / x2", x2_dot="-x2_dot * ans / x2")
defrule("np.true_divide(x1, x2)", real=True, safe=True,  # (np.divide itself)
        x1="unbroadcast(g / x2, x1)", x2="unbroadcast(-g * ans / x2, x2)",
        x1_dot="x1_dot / x2", x2_dot="-x2_dot * ans / x2")
power_rules("np.power(x1, x2)", "x1", "x2", sympy="sympy.sympify(x1) ** x2",
            x2="unbroadcast(g * ans * np.log(np.where(np.greater(x1, 0), x1, 1)), x2)",
            x2_dot="x2_dot * ans * np.log(np.where(np.greater(x1, 0), x1, 1))")
# float_power is power computed in float64 (or complex128): the same slopes
power_rules("np.float_power(x1, x2)", "x1", "x2",
            x2="unbroadcast(g * ans * np.log(np.where(np.greater(x1, 0), x1, 1)), x2)",
            x2_dot="x2_dot * ans * np.log(np.where(np.greater(x1, 0), x1, 1))")
defrule("np.arctan2(x1, x2)", real=True, safe=True, sympy="sympy.atan2(x1, x2)", x1="unbroadcast(g * x2 / (x1 * x1 + x2 * x2), x1)",
        x2="unbroadcast(-g * x1 / (x1 * x1 + x2 * x2), x2)",
        x1_dot="x1_dot * x2 / (x1 * x1 + x2 * x2)", x2_dot="-x2_dot * x1 / (x1 * x1 + x2 * x2)")
defrule("np.hypot(x1, x2)", real=True, safe=True, sympy="sympy.sqrt(x1 ** 2 + x2 ** 2)",
        x1="unbroadcast(g * s2s.safe_div(x1, ans), x1)",  # 0 at the origin, as for norm
        x2="unbroadcast(g * s2s.safe_div(x2, ans), x2)",
        x1_dot="x1_dot * s2s.safe_div(x1, ans)", x2_dot="x2_dot * s2s.safe_div(x2, ans)")
defrule("np.logaddexp(x1, x2)", real=True, safe=True, sympy="sympy.log(sympy.exp(x1) + sympy.exp(x2))",
        x1="unbroadcast(g * np.exp(x1 - ans), x1)",
        x2="unbroadcast(g * np.exp(x2 - ans), x2)",
        x1_dot="x1_dot * np.exp(x1 - ans)", x2_dot="x2_dot * np.exp(x2 - ans)")
defrule("np.logaddexp2(x1, x2)", real=True, safe=True, x1="unbroadcast(g * 2.0 ** (x1 - ans), x1)",
        x2="unbroadcast(g * 2.0 ** (x2 - ans), x2)",
        x1_dot="x1_dot * 2.0 ** (x1 - ans)", x2_dot="x2_dot * 2.0 ** (x2 - ans)")
defrule("np.maximum(x1, x2)", real=True, safe=True, sympy="sympy.Max(x1, x2)", x1="unbroadcast(g * s2s.balanced_eq(x1, ans, x2), x1)",
        x2="unbroadcast(g * s2s.balanced_eq(x2, ans, x1), x2)",
        x1_dot="x1_dot * s2s.balanced_eq(x1, ans, x2)", x2_dot="x2_dot * s2s.balanced_eq(x2, ans, x1)")
defrule("np.minimum(x1, x2)", real=True, safe=True, sympy="sympy.Min(x1, x2)", x1="unbroadcast(g * s2s.balanced_eq(x1, ans, x2), x1)",
        x2="unbroadcast(g * s2s.balanced_eq(x2, ans, x1), x2)",
        x1_dot="x1_dot * s2s.balanced_eq(x1, ans, x2)", x2_dot="x2_dot * s2s.balanced_eq(x2, ans, x1)")
defrule("np.fmax(x1, x2)", real=True, safe=True, sympy="sympy.Max(x1, x2)", x1="unbroadcast(g * s2s.balanced_eq(x1, ans, x2), x1)",
        x2="unbroadcast(g * s2s.balanced_eq(x2, ans, x1), x2)",
        x1_dot="x1_dot * s2s.balanced_eq(x1, ans, x2)", x2_dot="x2_dot * s2s.balanced_eq(x2, ans, x1)")
defrule("np.fmin(x1, x2)", real=True, safe=True, sympy="sympy.Min(x1, x2)", x1="unbroadcast(g * s2s.balanced_eq(x1, ans, x2), x1)",
        x2="unbroadcast(g * s2s.balanced_eq(x2, ans, x1), x2)",
        x1_dot="x1_dot * s2s.balanced_eq(x1, ans, x2)", x2_dot="x2_dot * s2s.balanced_eq(x2, ans, x1)")
defrule("np.where(condition, x, y)", result_shape=shapes.broadcasting(3), real=shapes.real_choice, safe=True,
        sympy="sympy.Piecewise((x, condition), (y, True))", zero=("condition",),
        x="s2s.grad_where(g, condition, x, True)",
        y="s2s.grad_where(g, condition, y, False)",
        x_dot="np.where(condition, x_dot, 0.0)", y_dot="np.where(condition, 0.0, y_dot)")
defrule("np.remainder(x1, x2)", x1="unbroadcast(g, x1)", x2="unbroadcast(-g * np.floor_divide(x1, x2), x2)",
        x1_dot="s2s.broadcast_like(x1_dot, ans)", x2_dot="-x2_dot * np.floor_divide(x1, x2)")
defrule("np.mod(x1, x2)", x1="unbroadcast(g, x1)", x2="unbroadcast(-g * np.floor_divide(x1, x2), x2)",
        x1_dot="s2s.broadcast_like(x1_dot, ans)", x2_dot="-x2_dot * np.floor_divide(x1, x2)")
# fmod truncates the quotient (C's fmod: the result has x1's sign) where mod floors it
defrule("np.fmod(x1, x2)", x1="unbroadcast(g, x1)", x2="unbroadcast(-g * np.trunc(x1 / x2), x2)",
        x1_dot="s2s.broadcast_like(x1_dot, ans)", x2_dot="-x2_dot * np.trunc(x1 / x2)")
defrule("np.divmod(x1, x2)", structured=True, x1="s2s.grad_divmod(g, ans, x1, 0)", x2="s2s.grad_divmod(g, ans, x2, 1)",
        x1_dot="s2s.divmod_tangent(x1_dot, ans, 0)", x2_dot="s2s.divmod_tangent(x2_dot, ans, 1)")
# copysign(x1, x2) is |x1| with x2's sign: slope sign(x1) * sign(x2) (0 at x1 == 0, as for abs); x2 only flips it
defrule("np.ldexp(x1, x2)", zero=("x2",), x1="unbroadcast(g * np.ldexp(1.0, x2), x1)",  # (x1 * 2**x2, x2 an int)
        x1_dot="s2s.broadcast_like(x1_dot * np.ldexp(1.0, x2), ans)")
defrule("np.copysign(x1, x2)", zero=("x2",), x1="unbroadcast(g * np.sign(x1) * np.copysign(1.0, x2), x1)",
        x1_dot="s2s.broadcast_like(x1_dot * np.sign(x1) * np.copysign(1.0, x2), ans)")
# heaviside(x1, x2) is 0 or 1 away from x1 == 0 and x2 where x1 == 0
defrule("np.heaviside(x1, x2)", zero=("x1",), x2="unbroadcast(g * (x1 == 0), x2)",
        x2_dot="s2s.broadcast_like(x2_dot * (x1 == 0), ans)")
# creation functions: the values of the fill, start, stop and step arguments flow into the result
defrule("np.full(shape, fill_value, dtype=None, order='C')", elementwise=False, result_shape=shapes.creation(3),
        real=shapes.real_fill,
        zero=("shape", "dtype", "order"),
        fill_value="s2s.grad_fill(g, ans, fill_value)", fill_value_dot="s2s.fill_tangent(fill_value_dot, ans)")
defrule("np.full_like(a, fill_value, dtype=None, order='K', subok=True, shape=None)", elementwise=False,
        real=shapes.real_of_first(2),
        zero=("a", "dtype", "order", "subok", "shape"),
        fill_value="s2s.grad_fill(g, ans, fill_value)", fill_value_dot="s2s.fill_tangent(fill_value_dot, ans)")
defrule("np.linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0)", elementwise=False, structured=True,
        zero=("num", "endpoint", "retstep", "dtype", "axis"),
        start="s2s.grad_linspace(g, ans, start, num, endpoint, retstep, axis, 0)",
        stop="s2s.grad_linspace(g, ans, stop, num, endpoint, retstep, axis, 1)",
        start_dot="s2s.linspace_tangent(start_dot, ans, num, endpoint, retstep, axis, 0)",
        stop_dot="s2s.linspace_tangent(stop_dot, ans, num, endpoint, retstep, axis, 1)")
# element i of np.arange is start + i * step; the length is taken as fixed (see s2s.runtime.grad_arange)
defrule("np.arange(*args, start=None, stop=None, step=None, dtype=None)", elementwise=False, zero=("stop", "dtype"),
        result_shape=shapes.arange,
        args="s2s.grad_arange_args(g, ans, args, stop)", start="s2s.grad_arange(g, ans, 'start')",
        step="s2s.grad_arange(g, ans, 'step')",
        args_dot="s2s.arange_args_tangent(ans, args, args_dot, stop)",
        start_dot="s2s.arange_tangent(start_dot, ans, 'start')", step_dot="s2s.arange_tangent(step_dot, ans, 'step')")
# np.clip(a, lo, hi) is np.minimum(np.maximum(a, lo), hi): lo is the result where a < lo <= hi, hi where
# a > hi or lo > hi (bounds given the wrong way round give hi everywhere); s2s.clip_mask(x, lo, hi) is lo <= x <= hi
_CLIP_LO = "((a < a_min) & s2s.clip_mask(a_min, None, a_max))"
_CLIP_HI = "~(s2s.clip_mask(a_max, a, None) & s2s.clip_mask(a_max, a_min, None))"
defrule("np.clip(a, a_min=None, a_max=None)", methods=("clip",), result_shape=shapes.clipped, real=shapes.real_clipped,
        aliases={"min": "a_min", "max": "a_max"},
        a="s2s.grad_clip(g, a, a_min, a_max)",
        a_min=f"unbroadcast(g * {_CLIP_LO}, a_min)", a_max=f"unbroadcast(g * {_CLIP_HI}, a_max)",
        a_dot="s2s.broadcast_like(a_dot * s2s.clip_mask(a, a_min, a_max), ans)",
        a_min_dot=f"s2s.broadcast_like(a_min_dot * {_CLIP_LO}, ans)",
        a_max_dot=f"s2s.broadcast_like(a_max_dot * {_CLIP_HI}, ans)")

# np.sign, np.imag and np.angle of a real array: 0 (np.imag of a complex array is a view of it), and 0 or pi,
# derivative zero; of a complex value (x + 1j, an active one) their derivative is not zero: s2s.zero_of_real
# refuses it when it runs (declared constant, they gave a zero derivative there)
defrule("np.sign(x)", real=True, safe=True, sympy="sympy.sign(x)", x="s2s.zero_of_real(g, x)")
defrule("np.imag(val)", elementwise=False, returns_view=True, val="s2s.zero_of_real(g, val)")
defrule("np.angle(z, deg=False)", elementwise=False, zero=("deg",), z="s2s.zero_of_real(g, z)")
nondifferentiable("np.floor(x)", sympy="sympy.floor(x)")
nondifferentiable("np.ceil(x)", sympy="sympy.ceiling(x)")
nondifferentiable("np.round(a, decimals=0)", methods=("round",))
nondifferentiable(
    "np.rint(x)",
    "np.trunc(x)", "np.fix(x)", "np.isnan(x)", "np.isinf(x)", "np.isfinite(x)", "np.signbit(x)",
    "np.greater(x1, x2)", "np.less(x1, x2)", "np.equal(x1, x2)", "np.not_equal(x1, x2)",
    "np.greater_equal(x1, x2)", "np.less_equal(x1, x2)", "np.logical_and(x1, x2)",
    "np.logical_or(x1, x2)", "np.logical_not(x)", "np.logical_xor(x1, x2)",
    "np.floor_divide(x1, x2)", "np.isclose(a, b)",
    "np.spacing(x)",  # (the gap to the next float: constant between powers of two)
)
nondifferentiable(  # not elementwise: whole-array answers and creation functions
    "np.allclose(a, b)", "np.array_equal(a1, a2)", "np.empty_like(a, dtype=None)",
    elementwise=False,
)
nondifferentiable("np.eye(N, M=None, k=0)", "np.identity(n)", "np.tri(N, M=None, k=0)", elementwise=False,
                  result_shape=shapes.eye, real=shapes.real_alone)  # float64 N x M (another dtype only where passed)
nondifferentiable("np.zeros_like(a, dtype=None)", "np.ones_like(a, dtype=None)", elementwise=False,
                  result_shape=shapes.like(0, 1), real=shapes.real_of_one)  # (a's dtype: real where a is)
# float64 arrays of the shape given (another dtype only where one is passed)
nondifferentiable("np.zeros(shape, dtype=None)", "np.ones(shape, dtype=None)", "np.empty(shape, dtype=None)",
                  elementwise=False, result_shape=shapes.creation(2), real=shapes.real_alone)
