"""Rules for the scalar functions of the `math` module."""

from s2s.rules import defrule, family, nondifferentiable, power_rules
from s2s.rules import result_shapes as shapes

# a tangent is written only where it is not the adjoint with g renamed; every function of `math` gives a number,
# and every differentiable one a Python float whatever its argument (or it raises)
family(elementwise=True, tangent_from_adjoint=True, result_shape=shapes.number, real=shapes.python_float)

defrule("math.sin(x)", x="g * math.cos(x)", sympy="sympy.sin(x)")
defrule("math.cos(x)", sympy="sympy.cos(x)", x="-g * math.sin(x)")
defrule("math.tan(x)", sympy="sympy.tan(x)", x="g / math.cos(x) ** 2")
# s2s.fdiv divides as NumPy does (inf or nan with a warning), where a Python float would raise ZeroDivisionError:
# at the ends of a domain (asin at 1, sqrt and acosh at their lower ends) the slope is infinite, not an error
defrule("math.asin(x)", sympy="sympy.asin(x)", x="s2s.fdiv(g, math.sqrt(1 - x * x))")
defrule("math.acos(x)", sympy="sympy.acos(x)", x="s2s.fdiv(-g, math.sqrt(1 - x * x))")
defrule("math.atan(x)", sympy="sympy.atan(x)", x="g / (1 + x * x)")
defrule("math.atan2(y, x)", sympy="sympy.atan2(y, x)", y="s2s.fdiv(g * x, x * x + y * y)", x="s2s.fdiv(-g * y, x * x + y * y)")
defrule("math.sinh(x)", sympy="sympy.sinh(x)", x="g * math.cosh(x)")
defrule("math.cosh(x)", sympy="sympy.cosh(x)", x="g * math.sinh(x)")
defrule("math.tanh(x)", sympy="sympy.tanh(x)", x="g * (1 - ans * ans)")
defrule("math.asinh(x)", sympy="sympy.asinh(x)", x="g / math.sqrt(x * x + 1)")
defrule("math.acosh(x)", sympy="sympy.acosh(x)", x="s2s.fdiv(g, math.sqrt(x * x - 1))")
defrule("math.atanh(x)", sympy="sympy.atanh(x)", x="g / (1 - x * x)")
defrule("math.exp(x)", sympy="sympy.exp(x)", x="g * ans")
defrule("math.expm1(x)", sympy="sympy.exp(x) - 1", x="g * (ans + 1)")
_natural_log = defrule("math.log(x, base=None)", register=False, sympy="sympy.log(x)", x="g / x")
_log = defrule("math.log(x, base=None)", sympy="sympy.log(x) if base is None else sympy.log(x, base)",
               x="g / (x * s2s.log_scale(base))", base="-g * ans / (base * s2s.log_scale(base))")
# (no base written: the natural log's `g / x`, without the call that gives its scale 1.0)
_log.variant = lambda bound: _natural_log if bound.get("base") is None else None
defrule("math.log1p(x)", sympy="sympy.log(1 + x)", x="g / (1 + x)")
defrule("math.log2(x)", sympy="sympy.log(x, 2)", x="g / (x * math.log(2))")
defrule("math.log10(x)", sympy="sympy.log(x, 10)", x="g / (x * math.log(10))")
defrule("math.sqrt(x)", sympy="sympy.sqrt(x)", x="s2s.fdiv(g * 0.5, ans)")
power_rules("math.pow(x, y)", "x", "y", scalar=True, sympy="sympy.sympify(x) ** y",
            y="g * ans * math.log(x) if x > 0 else 0.0")
# at the origin hypot has no derivative: 0 there (the minimum-norm subgradient), as for np.linalg.norm
defrule("math.hypot(*coords)", sympy="sympy.sqrt(sum(c ** 2 for c in coords))",
        coords="[g * s2s.safe_div(c, ans) for c in coords]",
        coords_dot="s2s.safe_div(sum(c * d for c, d in zip(coords, coords_dot)), ans)")
defrule("math.fabs(x)", sympy="sympy.Abs(x)", x="g * math.copysign(1.0, x) if x != 0 else 0.0")
defrule("math.erf(x)", sympy="sympy.erf(x)", x="g * 2 / math.sqrt(math.pi) * math.exp(-x * x)")
defrule("math.erfc(x)", sympy="sympy.erfc(x)", x="-g * 2 / math.sqrt(math.pi) * math.exp(-x * x)")
# fsum is the sum correctly rounded: the same slopes as builtin sum's (each item's adjoint is g)
defrule("math.fsum(seq)", elementwise=False, tangent_from_adjoint=False, seq="s2s.grad_builtin_sum(g, seq)",
        seq_dot="s2s.builtin_sum_tangent(seq_dot, seq)", result_shape=shapes.number)
defrule("math.degrees(x)", x="g * (180 / math.pi)")
defrule("math.radians(x)", x="g * (math.pi / 180)")
# copysign(x, y) is |x| with y's sign: slope sign(x) * sign(y) (0 at x == 0, as for fabs); y only flips it
defrule("math.copysign(x, y)", zero=("y",), x="g * math.copysign(1.0, x) * math.copysign(1.0, y) if x != 0 else 0.0")
nondifferentiable("math.floor(x)", sympy="sympy.floor(x)")
nondifferentiable("math.ceil(x)", sympy="sympy.ceiling(x)")
nondifferentiable("math.trunc(x)", "math.isnan(x)",
                  "math.isinf(x)", "math.isfinite(x)", "math.factorial(x)",
                  "math.isclose(a, b)", "math.gcd(a, b)", "math.comb(n, k)")
