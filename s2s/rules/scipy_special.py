"""Rules for scipy.special (registered only where SciPy is installed; see s2s/rules/__init__.py).

Templates reach SciPy through `s2s.scipy_helpers` (the runtime module s2s/runtime/scipy_helpers.py),
whose SciPy functions have rules here too, so every adjoint below can be differentiated again.
Numbers: 1.1283791670955126 = 2/sqrt(pi), 0.886226925452758 = sqrt(pi)/2, 0.3989422804014327 =
1/sqrt(2 pi), 2.5066282746310002 = sqrt(2 pi).
"""

import ast

import scipy.special  # noqa: F401 - the signatures below name it

from s2s.rules import defrule, family, nondifferentiable
from s2s.rules import result_shapes as shapes
from s2s.runtime import scipy_helpers

family(elementwise=True, tangent_from_adjoint=True)

H = "s2s.scipy_helpers."
# (a function of one real argument whose values are real floats, or NaN or inf, and which does not raise: the
# shape pass may claim its result real and drop it where nothing reads it, as NumPy's ufuncs)
REAL = {"real": True, "safe": True}
assert scipy_helpers.digamma is scipy.special.digamma and scipy_helpers.zeta is scipy.special.zeta


def binary(signature: str, zero=(), **slopes: str) -> None:
    """A broadcasting function of two or more arguments, from each differentiable argument's slope:
    adjoint `unbroadcast(g * slope, p)`, tangent `p_dot * slope`. `zero` names the parameters of derivative
    zero (integers); a parameter in neither is refused where it is differentiated."""
    templates = {}
    for p, slope in slopes.items():
        templates[p] = f"unbroadcast(g * ({slope}), {p})"
        templates[p + "_dot"] = f"{p}_dot * ({slope})"
    defrule(signature, _depth=2, zero=zero, **templates)


# the sign of the gamma function: +1 or -1 between its poles (piecewise constant)
nondifferentiable("scipy.special.gammasgn(x)")

# logistic, error functions and the normal distribution function
defrule("scipy.special.expit(x)", x="g * ans * (1 - ans)", **REAL)
defrule("scipy.special.logit(x)", x="g / (x * (1 - x))", **REAL)
defrule("scipy.special.erf(x)", x="g * 1.1283791670955126 * np.exp(-x * x)", **REAL)
defrule("scipy.special.erfc(x)", x="-g * 1.1283791670955126 * np.exp(-x * x)", **REAL)
defrule("scipy.special.erfinv(y)", y="g * 0.886226925452758 * np.exp(ans * ans)", **REAL)
defrule("scipy.special.erfcinv(y)", y="-g * 0.886226925452758 * np.exp(ans * ans)", **REAL)
defrule("scipy.special.ndtr(x)", x="g * 0.3989422804014327 * np.exp(-0.5 * x * x)", **REAL)
defrule("scipy.special.ndtri(y)", y="g * 2.5066282746310002 * np.exp(0.5 * ans * ans)", **REAL)
defrule("scipy.special.log_ndtr(x)", x="g * 0.3989422804014327 * np.exp(-0.5 * x * x - ans)", **REAL)

# log(expit(x)): its slope is expit(-x), written with tanh (no overflow for large |x|); exp(x^2) erfc(x)
defrule("scipy.special.log_expit(x)", x="g * (0.5 - 0.5 * np.tanh(0.5 * x))", **REAL)
defrule("scipy.special.softplus(x)", x="g * (0.5 + 0.5 * np.tanh(0.5 * x))", **REAL)  # log(1 + exp(x))
defrule("scipy.special.erfcx(x)", x="g * (2.0 * x * ans - 1.1283791670955126)", **REAL)
# SciPy's own expm1, log1p and the entropy term -x log(x)
defrule("scipy.special.expm1(x)", x="g * (ans + 1.0)", **REAL)
defrule("scipy.special.log1p(x)", x="g / (1.0 + x)", **REAL)
defrule("scipy.special.entr(x)", x="-g * (np.log(x) + 1.0)", **REAL)

# gamma and beta functions (psi is digamma: one object, one rule; loggamma of a real x > 0 is gammaln)
defrule("scipy.special.gammaln(x)", x=f"g * {H}digamma(x)", **REAL)
# math's gamma functions of a number: their slopes need the digamma function, which SciPy has and math has not
defrule("math.lgamma(x)", x=f"g * {H}digamma(x)", sympy="sympy.loggamma(x)", result_shape=shapes.number,
        real=shapes.python_float)
defrule("math.gamma(x)", x=f"g * ans * {H}digamma(x)", sympy="sympy.gamma(x)", result_shape=shapes.number,
        real=shapes.python_float)
defrule("scipy.special.loggamma(x)", x=f"g * {H}digamma(x)")
# the regularized incomplete gamma and beta functions in their upper limit (no derivative in the shape
# parameters: a varied a or b is refused): the slope is the density of the gamma / beta distribution
binary("scipy.special.gammainc(a, x)", x=f"np.exp((a - 1.0) * np.log(x) - x - {H}gammaln(a))")
binary("scipy.special.gammaincc(a, x)", x=f"-np.exp((a - 1.0) * np.log(x) - x - {H}gammaln(a))")
binary("scipy.special.betainc(a, b, x)",
       x=f"np.exp((a - 1.0) * np.log(x) + (b - 1.0) * np.log1p(-x) - {H}betaln(a, b))")
# log of the multivariate gamma function of dimension d: the sum of gammaln(a - j/2), j < d
defrule("scipy.special.multigammaln(a, d)", zero=("d",),
        a=f"g * np.sum({H}digamma(np.expand_dims(a, -1) - 0.5 * np.arange(d)), axis=-1)")
defrule("scipy.special.digamma(x)", x=f"g * {H}polygamma(1, x)", **REAL)
binary("scipy.special.polygamma(n, x)", x=f"{H}polygamma(n + 1, x)")
defrule("scipy.special.gamma(x)", x=f"g * ans * {H}digamma(x)", **REAL)
defrule("scipy.special.rgamma(x)", x=f"-g * ans * {H}digamma(x)", **REAL)
binary("scipy.special.beta(a, b)", a=f"ans * ({H}digamma(a) - {H}digamma(a + b))",
       b=f"ans * ({H}digamma(b) - {H}digamma(a + b))")
binary("scipy.special.betaln(a, b)", a=f"{H}digamma(a) - {H}digamma(a + b)", b=f"{H}digamma(b) - {H}digamma(a + b)")

# x log y
binary("scipy.special.xlogy(x, y)", x="np.log(y)", y="x / y")
binary("scipy.special.xlog1py(x, y)", x="np.log1p(y)", y="x / (1 + y)")

# Bessel functions (no derivative in the order v: a varied order is refused); K_v' = -(K_{v-1} + K_{v+1}) / 2
defrule("scipy.special.i0(x)", x=f"g * {H}i1(x)", **REAL)
defrule("scipy.special.i1(x)", x=f"g * 0.5 * ({H}i0(x) + {H}iv(2, x))", **REAL)
defrule("scipy.special.i0e(x)", x=f"g * ({H}i1e(x) - np.sign(x) * ans)", **REAL)
defrule("scipy.special.i1e(x)", x=f"g * (0.5 * ({H}i0e(x) + {H}ive(2, x)) - np.sign(x) * ans)", **REAL)
binary("scipy.special.iv(v, z)", z=f"0.5 * ({H}iv(v - 1, z) + {H}iv(v + 1, z))")
binary("scipy.special.ive(v, z)", z=f"0.5 * ({H}ive(v - 1, z) + {H}ive(v + 1, z)) - np.sign(z) * ans")
defrule("scipy.special.j0(x)", x=f"-g * {H}j1(x)", **REAL)
defrule("scipy.special.j1(x)", x=f"g * 0.5 * ({H}j0(x) - {H}jv(2, x))", **REAL)
defrule("scipy.special.y0(x)", x=f"-g * {H}y1(x)", **REAL)
defrule("scipy.special.y1(x)", x=f"g * 0.5 * ({H}y0(x) - {H}yv(2, x))", **REAL)
binary("scipy.special.jv(v, z)", z=f"0.5 * ({H}jv(v - 1, z) - {H}jv(v + 1, z))")  # also jn: the same ufunc
binary("scipy.special.yv(v, z)", z=f"0.5 * ({H}yv(v - 1, z) - {H}yv(v + 1, z))")
binary("scipy.special.yn(n, x)", x=f"0.5 * ({H}yv(n - 1, x) - {H}yv(n + 1, x))")
binary("scipy.special.kv(v, z)", z=f"-0.5 * ({H}kv(v - 1, z) + {H}kv(v + 1, z))")
binary("scipy.special.kve(v, z)", z=f"ans - 0.5 * ({H}kve(v - 1, z) + {H}kve(v + 1, z))")  # kv(v, z) exp(z)

# relative entropy x log(x / y) and the Kullback-Leibler divergence x log(x / y) - x + y (SciPy: 0 and y at
# x = 0, where the slope in x is the one-sided -inf; inf outside x >= 0, y > 0)
binary("scipy.special.rel_entr(x, y)", x="np.log(x / y) + 1.0", y="-x / y")
binary("scipy.special.kl_div(x, y)", x="np.log(x / y)", y="1.0 - x / y")
# the Huber loss r^2 / 2 where |r| <= delta, delta (|r| - delta / 2) beyond (C^1: both slopes meet at |r| = delta),
# and the pseudo-Huber loss delta^2 (sqrt(1 + (r / delta)^2) - 1) = delta (s - delta), s = hypot(delta, r): its
# slope in delta, s + delta^2 / s - 2 delta, written r^4 / ((delta + s)^2 s) (no cancellation for small r)
binary("scipy.special.huber(delta, r)", delta="np.where(np.abs(r) <= delta, 0.0, np.abs(r) - delta)",
       r="np.where(np.abs(r) <= delta, r, delta * np.sign(r))")
binary("scipy.special.pseudo_huber(delta, r)",
       delta="(r / (delta + np.hypot(delta, r))) ** 2 * (r / np.hypot(delta, r)) * r",
       r="delta * (r / np.hypot(delta, r))")

# exponential integrals: E_n(x) = the integral of exp(-x t) / t^n over t > 1, of slope -E_{n-1}(x) (E_1 = exp1).
# E_{-1}, which SciPy's expn does not take, is E_0 (1 + 1 / x), E_0 = exp(-x) / x: n = 0 adds ans / x (x replaced
# by 1 for the other n, whose slope stays finite at x = 0 for n >= 3). n is an integer (SciPy truncates a float
# n, and so do the slopes): derivative zero
defrule("scipy.special.exp1(x)", x="-g * np.exp(-x) / x", **REAL)
_N = "np.trunc(n)"  # (the order SciPy computes with: a float n truncated)
binary("scipy.special.expn(n, x)", zero=("n",),
       x=f"-{H}expn(np.maximum({_N} - 1, 0), x) - np.where({_N} == 0, ans / np.where({_N} == 0, x, 1.0), 0.0)")
# the dilogarithm as SciPy defines it: spence(z) = the integral of log(t) / (1 - t) from 1 to z, of slope
# log(z) / (1 - z), -1 at z = 1: within 1e-4 of 1, its series in u = z - 1, -1 + u/2 - u^2/3 + u^3/4 - u^4/5 (the
# quotient's own derivatives cancel there)
_U, _NEAR = "(z - 1.0)", "np.abs(z - 1.0) < 1e-4"
_SAFE = f"np.where({_NEAR}, 2.0, z)"
defrule("scipy.special.spence(z)", **REAL,
        z=f"g * np.where({_NEAR}, (((0.25 - 0.2 * {_U}) * {_U} - 1.0 / 3.0) * {_U} + 0.5) * {_U} - 1.0, "
          f"np.log({_SAFE}) / (1.0 - {_SAFE}))")
# Hurwitz zeta in q (no derivative in x, nor of the Riemann zeta(x): a varied x is refused), and the Gauss
# hypergeometric function in z (none in a, b, c: refused)
binary("scipy.special.zeta(x, q=None)", q=f"-x * {H}zeta(x + 1.0, q)")
binary("scipy.special.hyp2f1(a, b, c, z)", z=f"a * b / c * {H}hyp2f1(a + 1.0, b + 1.0, c + 1.0, z)")

# reductions over an axis. logsumexp's return_sign is not in the signature: a call passing it is refused (its
# result is then a pair); the variant below gives the template without `b` where no b is passed (and lse_b(b)
# is 1.0 where b is a name that holds None when the code runs).
_lse_plain = defrule("scipy.special.logsumexp(a, axis=None, b=None, keepdims=False)", register=False,
                     elementwise=False,
                     a="s2s.keep(g, a, axis, keepdims) * np.exp(a - s2s.keep(ans, a, axis, keepdims))",
                     a_dot="np.sum(a_dot * np.exp(a - s2s.keep(ans, a, axis, keepdims)), axis=axis, keepdims=keepdims)")
_KEEP = f"{H}lse_keep(ans, a, b, axis, keepdims)"
_lse = defrule("scipy.special.logsumexp(a, axis=None, b=None, keepdims=False)", elementwise=False,
               a=f"unbroadcast({H}lse_keep(g, a, b, axis, keepdims) * {H}lse_b(b) * np.exp(a - {_KEEP}), a)",
               b=f"unbroadcast({H}lse_keep(g, a, b, axis, keepdims) * np.exp(a - {_KEEP}), b)",
               a_dot=f"np.sum(a_dot * {H}lse_b(b) * np.exp(a - {_KEEP}), axis=axis, keepdims=keepdims)",
               b_dot=f"np.sum(b_dot * np.exp(a - {_KEEP}), axis=axis, keepdims=keepdims)")


def _without_b(bound):
    b = bound.get("b")
    return _lse_plain if b is None or (isinstance(b, ast.Constant) and b.value is None) else None


_lse.variant = _without_b
# softmax's Jacobian diag(s) - s s^T is symmetric: its tangent is its adjoint with g renamed (derived)
defrule("scipy.special.softmax(x, axis=None)", elementwise=False,
        x="ans * (g - np.sum(g * ans, axis=axis, keepdims=True))")
defrule("scipy.special.log_softmax(x, axis=None)", elementwise=False,
        x="g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True)",
        x_dot="x_dot - np.sum(np.exp(ans) * x_dot, axis=axis, keepdims=True)")
