"""Rules for the scalar functions of the `math` module."""

from s2s.rules import defrule, nondifferentiable, power_rules

defrule("math.sin(x)", x="g * math.cos(x)", x_dot="x_dot * math.cos(x)")
defrule("math.cos(x)", x="-g * math.sin(x)", x_dot="-x_dot * math.sin(x)")
defrule("math.tan(x)", x="g / math.cos(x) ** 2", x_dot="x_dot / math.cos(x) ** 2")
# s2s.fdiv divides as NumPy does (inf or nan with a warning), where a Python float would raise ZeroDivisionError:
# at the ends of a domain (asin at 1, sqrt and acosh at their lower ends) the slope is infinite, not an error
defrule("math.asin(x)", x="s2s.fdiv(g, math.sqrt(1 - x * x))", x_dot="s2s.fdiv(x_dot, math.sqrt(1 - x * x))")
defrule("math.acos(x)", x="s2s.fdiv(-g, math.sqrt(1 - x * x))", x_dot="s2s.fdiv(-x_dot, math.sqrt(1 - x * x))")
defrule("math.atan(x)", x="g / (1 + x * x)", x_dot="x_dot / (1 + x * x)")
defrule("math.atan2(y, x)", y="s2s.fdiv(g * x, x * x + y * y)", x="s2s.fdiv(-g * y, x * x + y * y)",
        y_dot="s2s.fdiv(y_dot * x, x * x + y * y)", x_dot="s2s.fdiv(-x_dot * y, x * x + y * y)")
defrule("math.sinh(x)", x="g * math.cosh(x)", x_dot="x_dot * math.cosh(x)")
defrule("math.cosh(x)", x="g * math.sinh(x)", x_dot="x_dot * math.sinh(x)")
defrule("math.tanh(x)", x="g * (1 - ans * ans)", x_dot="x_dot * (1 - ans * ans)")
defrule("math.asinh(x)", x="g / math.sqrt(x * x + 1)", x_dot="x_dot / math.sqrt(x * x + 1)")
defrule("math.acosh(x)", x="s2s.fdiv(g, math.sqrt(x * x - 1))", x_dot="s2s.fdiv(x_dot, math.sqrt(x * x - 1))")
defrule("math.atanh(x)", x="g / (1 - x * x)", x_dot="x_dot / (1 - x * x)")
defrule("math.exp(x)", x="g * ans", x_dot="x_dot * ans")
defrule("math.expm1(x)", x="g * (ans + 1)", x_dot="x_dot * (ans + 1)")
defrule("math.log(x, base=None)", x="g / (x * s2s.log_scale(base))", x_dot="x_dot / (x * s2s.log_scale(base))",
        base="-g * ans / (base * s2s.log_scale(base))", base_dot="-base_dot * ans / (base * s2s.log_scale(base))")
defrule("math.log1p(x)", x="g / (1 + x)", x_dot="x_dot / (1 + x)")
defrule("math.log2(x)", x="g / (x * math.log(2))", x_dot="x_dot / (x * math.log(2))")
defrule("math.log10(x)", x="g / (x * math.log(10))", x_dot="x_dot / (x * math.log(10))")
defrule("math.sqrt(x)", x="s2s.fdiv(g * 0.5, ans)", x_dot="s2s.fdiv(x_dot * 0.5, ans)")
power_rules("math.pow(x, y)", "x", "y", scalar=True, y="g * ans * math.log(x) if x > 0 else 0.0",
            y_dot="y_dot * ans * math.log(x) if x > 0 else 0.0")
# at the origin hypot has no derivative: 0 there (the minimum-norm subgradient), as for np.linalg.norm
defrule("math.hypot(*coords)", coords="[g * s2s.safe_div(c, ans) for c in coords]",
        coords_dot="s2s.safe_div(sum(c * d for c, d in zip(coords, coords_dot)), ans)")
defrule("math.fabs(x)", x="g * math.copysign(1.0, x) if x != 0 else 0.0",
        x_dot="x_dot * math.copysign(1.0, x) if x != 0 else 0.0")
defrule("math.erf(x)", x="g * 2 / math.sqrt(math.pi) * math.exp(-x * x)",
        x_dot="x_dot * 2 / math.sqrt(math.pi) * math.exp(-x * x)")
defrule("math.degrees(x)", x="g * (180 / math.pi)", x_dot="x_dot * (180 / math.pi)")
defrule("math.radians(x)", x="g * (math.pi / 180)", x_dot="x_dot * (math.pi / 180)")
# copysign(x, y) is |x| with y's sign: slope sign(x) * sign(y) (0 at x == 0, as for fabs); y only flips it
defrule("math.copysign(x, y)", zero=("y",), x="g * math.copysign(1.0, x) * math.copysign(1.0, y) if x != 0 else 0.0",
        x_dot="x_dot * math.copysign(1.0, x) * math.copysign(1.0, y) if x != 0 else 0.0")
nondifferentiable("math.floor(x)", "math.ceil(x)", "math.trunc(x)", "math.isnan(x)",
                  "math.isinf(x)", "math.isfinite(x)", "math.factorial(x)",
                  "math.isclose(a, b)", "math.gcd(a, b)", "math.comb(n, k)")
