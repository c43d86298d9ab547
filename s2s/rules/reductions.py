"""Rules for reductions and scans (axis and keepdims honoured).

With `dtype=` given, np.sum/mean/prod/var/std convert each element first: an integer or bool dtype
truncates, so no derivative flows (`_dtype_variant`; the result's dtype decides at run time).
"""

import ast
import dataclasses

import numpy as np

from s2s import runtime as rt
from s2s.rules import defrule, family, nondifferentiable
from s2s.rules.result_shapes import (
    accumulated,
    accumulated_along_first,
    accumulated_back,
    real_of_one,
    real_scatter,
    shape_of_array,
    sorted_positions,
)
from s2s.rules.result_shapes import reduction as reduction_shape
from s2s.rules.runtime_rules import defrule_for as helper_rule

family(elementwise=False)

# (the signatures a reduction's rule and its `where=` variant below share)
_SUM = "np.sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True)"
_MEAN = "np.mean(a, axis=None, dtype=None, out=None, keepdims=False, where=True)"
_EXTREME = "np.{}(a, axis=None, out=None, keepdims=False, initial=None, where=True)"

_sum = defrule(_SUM,
        reduction=True, array_method="sum", real=True, safe=True,
        methods=("sum",),
        a="s2s.expand_reduced(g, a, axis, keepdims)",
        a_dot="np.sum(a_dot, axis=axis, keepdims=keepdims)")
_mean = defrule(_MEAN,
        reduction=True, array_method="mean", real=True, safe=True,
        methods=("mean",),
        a="s2s.expand_reduced(g, a, axis, keepdims) / s2s.reduced_size(a, axis)",
        a_dot="np.mean(a_dot, axis=axis, keepdims=keepdims)")
_prod = defrule("np.prod(a, axis=None, dtype=None, out=None, keepdims=False)", reduction=True, array_method="prod", methods=("prod",),
        a="s2s.grad_prod(g, ans, a, axis, keepdims)",
        a_dot="np.sum(a_dot * s2s.grad_prod(1.0, ans, a, axis, True), axis=axis, keepdims=keepdims)")
# max and min of a real array are real; they raise on an empty one only
_max = defrule(_EXTREME.format("max"),
        reduction=True, array_method="max", real=real_of_one,
        safe_if_nonempty=True, methods=("max",),
        a="s2s.grad_extreme(g, ans, a, axis, keepdims)",
        a_dot="np.sum(a_dot * s2s.grad_extreme(1.0, s2s.keep(ans, a, axis, keepdims), a, axis, True), axis=axis, keepdims=keepdims)")
_min = defrule(_EXTREME.format("min"),
        reduction=True, array_method="min", real=real_of_one,
        safe_if_nonempty=True, methods=("min",),
        a="s2s.grad_extreme(g, ans, a, axis, keepdims)",
        a_dot="np.sum(a_dot * s2s.grad_extreme(1.0, s2s.keep(ans, a, axis, keepdims), a, axis, True), axis=axis, keepdims=keepdims)")
_amax = defrule(_EXTREME.format("amax"),
        reduction=True, array_method="max", real=real_of_one, safe_if_nonempty=True,
        a="s2s.grad_extreme(g, ans, a, axis, keepdims)",
        a_dot="np.sum(a_dot * s2s.grad_extreme(1.0, s2s.keep(ans, a, axis, keepdims), a, axis, True), axis=axis, keepdims=keepdims)")
_amin = defrule(_EXTREME.format("amin"),
        reduction=True, array_method="min", real=real_of_one, safe_if_nonempty=True,
        a="s2s.grad_extreme(g, ans, a, axis, keepdims)",
        a_dot="np.sum(a_dot * s2s.grad_extreme(1.0, s2s.keep(ans, a, axis, keepdims), a, axis, True), axis=axis, keepdims=keepdims)")
# the NaN-ignoring reductions: NaN entries get no adjoint (nanmean divides by the count of the others); nanmax and
# nanmin share max's adjoint, whose mask `a == ans` leaves NaN entries out already
_NOT_NAN = "np.logical_not(np.isnan(a))"
defrule("np.nansum(a, axis=None, dtype=None, out=None, keepdims=False)", reduction=True, default_only=("dtype",),
        a="np.where(np.isnan(a), 0.0, s2s.expand_reduced(g, a, axis, keepdims))",
        a_dot="np.sum(np.where(np.isnan(a), 0.0, a_dot), axis=axis, keepdims=keepdims)")
defrule("np.nanmean(a, axis=None, dtype=None, out=None, keepdims=False)", reduction=True, default_only=("dtype",),
        a=f"np.where(np.isnan(a), 0.0, s2s.expand_reduced(g, a, axis, keepdims) / "
          f"np.sum({_NOT_NAN}, axis=axis, keepdims=True))",
        a_dot=f"np.sum(np.where(np.isnan(a), 0.0, a_dot), axis=axis, keepdims=keepdims) / "
              f"np.sum({_NOT_NAN}, axis=axis, keepdims=keepdims)")
# np.nanprod is the product of the entries that are not NaN (np.prod's adjoint, NaNs read as 1, theirs 0); np.nanvar and
# np.nanstd are np.var and np.std over them: 2 (a - nanmean) / (count - ddof), over 2 std for std (0 where std is 0,
# the minimum-norm subgradient, as for np.std); a slice of NaNs alone gets no adjoint
_ONE_FOR_NAN = "np.where(np.isnan(a), 1.0, a)"
defrule("np.nanprod(a, axis=None, dtype=None, out=None, keepdims=False)", reduction=True, default_only=("dtype",),
        a=f"np.where(np.isnan(a), 0.0, s2s.grad_prod(g, ans, {_ONE_FOR_NAN}, axis, keepdims))",
        a_dot=f"np.sum(np.where(np.isnan(a), 0.0, a_dot * s2s.grad_prod(1.0, ans, {_ONE_FOR_NAN}, axis, True)), "
              "axis=axis, keepdims=keepdims)")
_NAN_SLOPE = ("2.0 * (a - np.nanmean(a, axis=axis, keepdims=True)) / "
              f"np.maximum(np.sum({_NOT_NAN}, axis=axis, keepdims=True) - ddof, 0)")
_NAN_VAR_DOT = (f"np.sum(np.where(np.isnan(a), 0.0, a_dot * {_NAN_SLOPE}), axis=axis, keepdims=keepdims)")
defrule("np.nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False)", reduction=True,
        default_only=("dtype",), zero=("ddof",),
        a=f"np.where(np.isnan(a), 0.0, s2s.expand_reduced(g, a, axis, keepdims) * {_NAN_SLOPE})", a_dot=_NAN_VAR_DOT)
defrule("np.nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False)", reduction=True,
        default_only=("dtype",), zero=("ddof",),
        a=f"np.where(np.isnan(a), 0.0, s2s.expand_reduced(s2s.safe_div(g, 2.0 * ans), a, axis, keepdims) * {_NAN_SLOPE})",
        a_dot=f"s2s.safe_div({_NAN_VAR_DOT}, 2.0 * ans)")
for _name in ("nanmax", "nanmin"):
    defrule(f"np.{_name}(a, axis=None, out=None, keepdims=False)", reduction=True,
            a="s2s.grad_extreme(g, ans, a, axis, keepdims)",
            a_dot="np.sum(a_dot * s2s.grad_extreme(1.0, s2s.keep(ans, a, axis, keepdims), a, axis, True), axis=axis, "
                  "keepdims=keepdims)")
# the median is the middle entry along axis (the mean of the two middle ones for an even length): piecewise
# linear, like np.sort; out= and overwrite_input=True refused
defrule("np.median(a, axis=None, out=None, overwrite_input=False, keepdims=False)", reduction=True,
        default_only=("overwrite_input",), a="s2s.grad_median(g, a, axis, keepdims)",
        a_dot="s2s.median_tangent(a_dot, a, axis, keepdims)")
helper_rule(rt.grad_median, "grad_median(g, a, axis, keepdims)", shape_only=("a",), linear=("g",))
helper_rule(rt.median_tangent, "median_tangent(t, a, axis, keepdims)", shape_only=("a",), linear=("t",))
# np.quantile / np.percentile with the default 'linear' method: the value interpolates two sorted entries, so each
# q's adjoint is shared between them (piecewise linear, like np.median, which is the quantile 0.5); q is not
# differentiated (refused where it carries a derivative); other methods, weights= and overwrite_input=True refused
for _name, _q in (("quantile", "q"), ("percentile", "np.true_divide(q, 100.0)")):
    defrule(f"np.{_name}(a, q, axis=None, out=None, overwrite_input=False, method='linear', keepdims=False, "
            "weights=None)", default_only=("overwrite_input", "method", "weights"), zero=("axis", "keepdims"),
            a=f"s2s.grad_quantile(g, a, {_q}, axis, keepdims)", a_dot=f"s2s.quantile_tangent(a_dot, a, {_q}, axis, keepdims)")
helper_rule(rt.grad_quantile, "grad_quantile(g, a, q, axis, keepdims)", shape_only=("a",), linear=("g",))
helper_rule(rt.quantile_tangent, "quantile_tangent(t, a, q, axis, keepdims)", shape_only=("a",), linear=("t",))
# ptp is max - min: the adjoints of both, the min's negated
_PTP = ("(s2s.grad_extreme({g}, np.max(a, axis=axis, keepdims={k}), a, axis, {k}) - "
        "s2s.grad_extreme({g}, np.min(a, axis=axis, keepdims={k}), a, axis, {k}))")
defrule("np.ptp(a, axis=None, out=None, keepdims=False)", reduction=True, a=_PTP.format(g="g", k="keepdims"),
        a_dot=f"np.sum(a_dot * {_PTP.format(g='1.0', k='True')}, axis=axis, keepdims=keepdims)")
_var = defrule("np.var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False)", reduction=True, methods=("var",),
        array_method="var", real=True, safe_if_nonempty=True,
        a="s2s.grad_var(g, a, axis, ddof, keepdims)",
        a_dot="np.sum(a_dot * s2s.grad_var(1.0, a, axis, ddof, True), axis=axis, keepdims=keepdims)")
_std = defrule("np.std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False)", reduction=True, methods=("std",),
        array_method="std", real=True, safe_if_nonempty=True,
        a="s2s.grad_std(g, ans, a, axis, ddof, keepdims)",
        a_dot="np.sum(a_dot * s2s.grad_std(1.0, s2s.keep(ans, a, axis, keepdims), a, axis, ddof, True), axis=axis, keepdims=keepdims)")


def _dtype_variant(rule):
    """`rule` at call sites that pass `dtype=`: each template guarded by the result's dtype, 0 where it
    is not a float (np.sum(v, dtype=int) truncates every element: derivative 0)."""
    def parse(text):
        return ast.parse(text, mode="eval").body

    def guard(template, zero):
        if template is None:
            return None
        return ast.IfExp(test=parse("s2s.is_float_dtype(np.result_type(ans))"), body=template, orelse=parse(zero))

    cast = dataclasses.replace(rule, variant=None,
                               vjp={p: guard(t, "0.0") for p, t in rule.vjp.items()},
                               jvp={p: guard(t, "s2s.dense_tangent(0.0, ans)") for p, t in rule.jvp.items()})

    def variant(bound):
        d = bound.get("dtype")
        return cast if d is not None and not (isinstance(d, ast.Constant) and d.value is None) else None
    rule.variant = variant


# `where=` (the entries a reduction reads) and `initial=` (a value it starts from): at call sites that pass one,
# the adjoint goes to the entries `where` includes (the maximum's to its tied entries there, none where `initial`
# is the extreme); the tangent is the reduction of the tangent with the same `where`. A differentiated `initial`
# is refused (no template), as is `where=` of np.prod, np.var and np.std (not in their signatures).
_EXTREME_WHERE = dict(
    a="s2s.grad_extreme_where(g, ans, a, axis, keepdims, where)",
    a_dot="np.sum(a_dot * s2s.grad_extreme_where(1.0, s2s.keep(ans, a, axis, keepdims), a, axis, True, where), "
          "axis=axis, keepdims=keepdims)")
_MASKED = [  # (the rule, its variant)
    (_sum, defrule(_SUM, register=False, reduction=True, real=True, a="s2s.grad_sum_where(g, a, axis, keepdims, where)",
                  a_dot="np.sum(a_dot, axis=axis, keepdims=keepdims, where=where)")),
    (_mean, defrule(_MEAN, register=False,
                   reduction=True, real=True, a="s2s.grad_mean_where(g, a, axis, keepdims, where)",
                   a_dot="np.mean(a_dot, axis=axis, keepdims=keepdims, where=where)")),
    *((_rule, defrule(_EXTREME.format(_name), register=False, reduction=True, real=real_of_one, **_EXTREME_WHERE))
      for _rule, _name in ((_max, "max"), (_min, "min"), (_amax, "amax"), (_amin, "amin"))),
]
helper_rule(rt.grad_sum_where, "grad_sum_where(g, a, axis, keepdims, where)", shape_only=("a",), linear=("g",),
            result_shape=lambda site: site.shape(1) if site.nargs == 5 else None)  # (a's shape)
helper_rule(rt.grad_mean_where, "grad_mean_where(g, a, axis, keepdims, where)", shape_only=("a",), linear=("g",),
            result_shape=lambda site: site.shape(1) if site.nargs == 5 else None)
helper_rule(rt.grad_extreme_where, "grad_extreme_where(g, ans, x, axis, keepdims, where)", shape_only=("x", "ans"),
            linear=("g",), result_shape=lambda site: site.shape(2) if site.nargs == 6 else None)  # (x's shape)


def _passed(bound, name) -> bool:
    value = bound.get(name)
    return value is not None and not (isinstance(value, ast.Constant) and value.value is None)


def _masked_variant(rule, masked):
    """`rule` at call sites that pass `where=` or `initial=`: `masked` (guarded by the dtype where `dtype=` is
    passed too); at other call sites the dtype variant, if any."""
    by_dtype = rule.variant
    if by_dtype is not None:
        _dtype_variant(masked)

    def variant(bound):
        if _passed(bound, "where") or _passed(bound, "initial"):
            return masked.at_site(bound)
        return by_dtype(bound) if by_dtype is not None else None
    rule.variant = variant


for _rule in (_sum, _mean, _prod, _var, _std):
    _dtype_variant(_rule)
for _rule, _masked in _MASKED:
    _masked_variant(_rule, _masked)
defrule("np.cumsum(a, axis=None)", methods=("cumsum",), a="s2s.grad_cumsum(g, a, axis)",
        result_shape=accumulated, real=real_of_one,
        a_dot="np.cumsum(a_dot, axis=axis)")
# np.cumprod: the adjoint and tangents by recurrences along the axis, without dividing (exact where entries are 0)
defrule("np.cumprod(a, axis=None)", methods=("cumprod",), a="s2s.grad_cumprod(g, a, axis, ans)",
        result_shape=accumulated, real=real_of_one,
        a_dot="s2s.cumprod_tangent(a_dot, a, axis)")
# np.nancumsum / np.nancumprod: np.cumsum / np.cumprod with NaN read as 0 / 1 (a NaN entry gets no adjoint)
defrule("np.nancumsum(a, axis=None, dtype=None, out=None)", default_only=("dtype",), result_shape=accumulated,
        real=real_of_one, a="np.where(np.isnan(a), 0.0, s2s.grad_cumsum(g, a, axis))",
        a_dot="np.cumsum(np.where(np.isnan(a), 0.0, a_dot), axis=axis)")
defrule("np.nancumprod(a, axis=None, dtype=None, out=None)", default_only=("dtype",), result_shape=accumulated,
        real=real_of_one, a=f"np.where(np.isnan(a), 0.0, s2s.grad_cumprod(g, {_ONE_FOR_NAN}, axis, ans))",
        a_dot=f"s2s.cumprod_tangent(np.where(np.isnan(a), 0.0, a_dot), {_ONE_FOR_NAN}, axis)")
# the reductions and accumulations of ufuncs along an axis, 0 where none is given (np.sum's is None): np.add.reduce
# is np.sum there, np.logaddexp.reduce a log-sum-exp (its adjoint the softmax weights), ...
_FIRST_AXIS = reduction_shape(keywords=("axis", "keepdims"), default_axis=0)
# (NumPy's order: `reduce(array, axis, dtype, out, keepdims)`: a third positional argument is a dtype)
_UFUNC_REDUCE = {"result_shape": _FIRST_AXIS, "real": real_of_one, "default_only": ("dtype", "out")}
_UFUNC_ACCUMULATE = {"result_shape": accumulated_along_first, "real": real_of_one, "default_only": ("dtype", "out")}
defrule("np.add.reduce(array, axis=0, dtype=None, out=None, keepdims=False)", **_UFUNC_REDUCE,
        array="s2s.expand_reduced(g, array, axis, keepdims)",
        array_dot="np.sum(array_dot, axis=axis, keepdims=keepdims)")
defrule("np.multiply.reduce(array, axis=0, dtype=None, out=None, keepdims=False)", **_UFUNC_REDUCE,
        array="s2s.grad_prod(g, ans, array, axis, keepdims)",
        array_dot="np.sum(array_dot * s2s.grad_prod(1.0, ans, array, axis, True), axis=axis, keepdims=keepdims)")
# (np.fmax / np.fmin leave NaNs out: the mask `array == ans` of max's adjoint never holds at a NaN)
for _extreme in ("maximum", "minimum", "fmax", "fmin"):
    defrule(f"np.{_extreme}.reduce(array, axis=0, dtype=None, out=None, keepdims=False)", **_UFUNC_REDUCE,
            array="s2s.grad_extreme(g, ans, array, axis, keepdims)",
            array_dot="np.sum(array_dot * s2s.grad_extreme(1.0, s2s.keep(ans, array, axis, keepdims), array, axis, "
                      "True), axis=axis, keepdims=keepdims)")
defrule("np.logaddexp.reduce(array, axis=0, dtype=None, out=None, keepdims=False)", **_UFUNC_REDUCE,
        array="s2s.keep(g, array, axis, keepdims) * np.exp(array - s2s.keep(ans, array, axis, keepdims))",
        array_dot="np.sum(array_dot * np.exp(array - s2s.keep(ans, array, axis, keepdims)), axis=axis, "
                  "keepdims=keepdims)")
defrule("np.add.accumulate(array, axis=0, dtype=None, out=None)", **_UFUNC_ACCUMULATE,
        array="s2s.grad_cumsum(g, array, axis)", array_dot="np.cumsum(array_dot, axis=axis)")
defrule("np.multiply.accumulate(array, axis=0, dtype=None, out=None)", **_UFUNC_ACCUMULATE,
        array="s2s.grad_cumprod(g, array, axis, ans)", array_dot="s2s.cumprod_tangent(array_dot, array, axis)")
# running maxima and minima: each output's adjoint split evenly between the entries so far that equal it (np.max's
# rule for each prefix); piecewise linear, so their helpers' weights carry no derivative (`shape_only`)
for _extreme in ("maximum", "minimum", "fmax", "fmin"):
    defrule(f"np.{_extreme}.accumulate(array, axis=0, dtype=None, out=None)", **_UFUNC_ACCUMULATE,
            array="s2s.grad_running_extreme(g, array, ans, axis)",
            array_dot="s2s.running_extreme_tangent(array_dot, array, ans, axis)")
helper_rule(rt.grad_running_extreme, "grad_running_extreme(g, x, ans, axis)", shape_only=("x", "ans"), linear=("g",),
            result_shape=accumulated_back, real=real_scatter)
helper_rule(rt.running_extreme_tangent, "running_extreme_tangent(t, x, ans, axis)", shape_only=("x", "ans"),
            linear=("t",), result_shape=accumulated_back, real=real_scatter)
# NumPy 2.1's np.cumulative_sum / np.cumulative_prod are np.cumsum / np.cumprod where include_initial and dtype are
# left as they are (include_initial=True puts the identity first: refused)
if hasattr(np, "cumulative_sum"):
    defrule("np.cumulative_sum(x, axis=None, dtype=None, out=None, include_initial=False)",
            default_only=("dtype", "include_initial"), zero=("axis",), result_shape=accumulated, real=real_of_one,
            x="s2s.grad_cumsum(g, x, axis)", x_dot="np.cumsum(x_dot, axis=axis)")
    defrule("np.cumulative_prod(x, axis=None, dtype=None, out=None, include_initial=False)",
            default_only=("dtype", "include_initial"), zero=("axis",), result_shape=accumulated, real=real_of_one,
            x="s2s.grad_cumprod(g, x, axis, ans)", x_dot="s2s.cumprod_tangent(x_dot, x, axis)")
helper_rule(rt.grad_cumprod, "grad_cumprod(g, x, axis, ans=None)",  # (ans: the products, to reuse; no tangent)
            x_dot="s2s.grad_cumprod_dot(g, x, x_dot, axis)", linear=("g",), result_shape=accumulated_back,
            real=real_scatter)
# (a rule without a tangent for x: forward over forward mode over cumprod_tangent_dot is refused)
_cumprod_t = helper_rule(rt.cumprod_tangent, "cumprod_tangent(t, x, axis)",
                         x_dot="s2s.cumprod_tangent_dot(t, x_dot, x, axis)", linear=("t",))
nondifferentiable("np.argmax(a, axis=None)", methods=("argmax",), result_shape=reduction_shape(keywords=("axis",)))
nondifferentiable("np.argmin(a, axis=None)", methods=("argmin",), result_shape=reduction_shape(keywords=("axis",)))
nondifferentiable("np.any(a, axis=None)", reduction=True, methods=("any",))
nondifferentiable("np.all(a, axis=None)", reduction=True, methods=("all",))
nondifferentiable("np.argsort(a, axis=-1)", result_shape=sorted_positions)
nondifferentiable("np.count_nonzero(a, axis=None)", "np.ndim(a)", "np.size(a, axis=None)")
nondifferentiable("np.shape(a)", result_value=shape_of_array)  # a tuple of ints, known with the array's shape
