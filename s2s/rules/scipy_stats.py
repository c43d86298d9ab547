"""Rules for scipy.stats distributions (registered only where SciPy is installed).

`scipy.stats.norm` is an object and `norm.logpdf` a bound method, made anew at each access: a rule
is keyed by the object and its function (s2s/rules/__init__.py's `_key`), so `scipy.stats.norm.logpdf`,
`from scipy.stats import norm; norm.logpdf` and `st.norm.logpdf` all find it. Each distribution's
`logpdf`/`pdf`/`cdf`/`logcdf` (`logpmf`/`pmf`/`cdf`/`logcdf` for poisson) takes its shape
parameters then `loc` and `scale`, by position or keyword. A parameter without a formula here (a
shape parameter of a cdf, poisson's k) is refused when it is differentiated.

In the slopes below z = (x - loc) / scale; a pdf's slope is its logpdf's times the pdf (`ans`), a
logcdf's is the cdf's divided by the cdf (a difference of logs, exponentiated).
"""

import scipy.stats  # noqa: F401 - the signatures below name it

from s2s.rules import defrule, family

family(elementwise=True)  # adjoints are unbroadcast(g * slope, p): tangents p_dot * slope are written out

H = "s2s.scipy_helpers."
Z = "(np.subtract(x, loc) / scale)"  # np.subtract: x may be a list, as SciPy allows


def slopes(signature: str, scale_by: str = "", **by_param: str) -> None:
    """The rule of a broadcasting function from each differentiable parameter's slope, times `scale_by` (`"ans"`:
    the density itself, whose slope is 0 where it is 0)."""
    templates = {}
    for p, slope in by_param.items():
        s = f"{scale_by} * ({slope})" if scale_by else f"({slope})"
        if scale_by == "ans":  # a density of 0 (x outside the support) is 0 nearby: slope 0, where log(z) is NaN
            s = f"np.where(ans == 0, 0.0, {s})"
        templates[p] = f"unbroadcast(g * {s}, {p})"
        # (broadcast to the result: a slope that reads no other argument, expon's `1.0 / scale`, keeps p's shape)
        templates[p + "_dot"] = f"s2s.broadcast_like({p}_dot * {s}, ans)"
    defrule(signature, _depth=2, **templates)


def family_of(name: str, params: str, logpdf: dict, cdf_x: str, log_density: str, pdf="pdf", logpdf_name="logpdf"):
    """logpdf, pdf, cdf and logcdf of one distribution. `logpdf`: slope of the log density per parameter;
    `cdf_x`: the density (the cdf's slope in x); `log_density`: its log (for logcdf)."""
    sig = f"scipy.stats.{name}.{{}}({params})"
    slopes(sig.format(logpdf_name), **logpdf)
    slopes(sig.format(pdf), "ans", **logpdf)
    loc_scale = {"x": cdf_x, "loc": f"-({cdf_x})", "scale": f"-({cdf_x}) * {Z}"}
    slopes(sig.format("cdf"), **loc_scale)
    ratio = f"np.exp({log_density} - ans)"
    slopes(sig.format("logcdf"), **{"x": ratio, "loc": f"-{ratio}", "scale": f"-{ratio} * {Z}"})


# normal: log density -z^2/2 - log(scale) - log(2 pi)/2
_NORM_LOG = f"(-0.5 * {Z} ** 2 - np.log(scale) - 0.9189385332046727)"
family_of("norm", "x, loc=0, scale=1",
          {"x": "-np.subtract(x, loc) / (scale * scale)", "loc": "np.subtract(x, loc) / (scale * scale)",
           "scale": f"({Z} ** 2 - 1) / scale"},
          cdf_x=f"np.exp({_NORM_LOG})", log_density=_NORM_LOG)
slopes("scipy.stats.norm.sf(x, loc=0, scale=1)", x=f"-np.exp({_NORM_LOG})", loc=f"np.exp({_NORM_LOG})",
       scale=f"np.exp({_NORM_LOG}) * {Z}")
slopes("scipy.stats.norm.logsf(x, loc=0, scale=1)", x=f"-np.exp({_NORM_LOG} - ans)",
       loc=f"np.exp({_NORM_LOG} - ans)", scale=f"np.exp({_NORM_LOG} - ans) * {Z}")

# Student's t: log density gammaln((df+1)/2) - gammaln(df/2) - log(df pi)/2 - log(scale) - (df+1)/2 log1p(z^2/df)
_TQ = f"(df + {Z} ** 2)"
family_of("t", "x, df, loc=0, scale=1",
          {"x": f"-(df + 1) * {Z} / (scale * {_TQ})", "loc": f"(df + 1) * {Z} / (scale * {_TQ})",
           "scale": f"((df + 1) * {Z} ** 2 / {_TQ} - 1) / scale",
           "df": f"0.5 * ({H}digamma(0.5 * (df + 1)) - {H}digamma(0.5 * df) - 1 / df - np.log1p({Z} ** 2 / df)"
                 f" + (df + 1) * {Z} ** 2 / (df * {_TQ}))"},
          cdf_x=f"{H}t.pdf(x, df, loc, scale)", log_density=f"{H}t.logpdf(x, df, loc, scale)")

# gamma: log density (a - 1) log z - z - gammaln(a) - log(scale)
family_of("gamma", "x, a, loc=0, scale=1",
          {"x": "(a - 1) / np.subtract(x, loc) - 1 / scale", "loc": "1 / scale - (a - 1) / np.subtract(x, loc)",
           "a": f"np.log({Z}) - {H}digamma(a)", "scale": f"({Z} - a) / scale"},
          cdf_x=f"{H}gamma.pdf(x, a, loc, scale)", log_density=f"{H}gamma.logpdf(x, a, loc, scale)")

# beta: log density (a - 1) log z + (b - 1) log(1 - z) - betaln(a, b) - log(scale)
_BX = f"(((a - 1) / {Z} - (b - 1) / (1 - {Z})) / scale)"
family_of("beta", "x, a, b, loc=0, scale=1",
          {"x": _BX, "loc": f"-{_BX}", "scale": f"-{Z} * {_BX} - 1 / scale",
           "a": f"np.log({Z}) - {H}digamma(a) + {H}digamma(a + b)",
           "b": f"np.log1p(-{Z}) - {H}digamma(b) + {H}digamma(a + b)"},
          cdf_x=f"{H}beta.pdf(x, a, b, loc, scale)", log_density=f"{H}beta.logpdf(x, a, b, loc, scale)")

# chi-squared: log density (df/2 - 1) log z - z/2 - (df/2) log 2 - gammaln(df/2) - log(scale)
_CX = f"(((0.5 * df - 1) / {Z} - 0.5) / scale)"
family_of("chi2", "x, df, loc=0, scale=1",
          {"x": _CX, "loc": f"-{_CX}", "scale": f"-{Z} * {_CX} - 1 / scale",
           "df": f"0.5 * (np.log(0.5 * {Z}) - {H}digamma(0.5 * df))"},
          cdf_x=f"{H}chi2.pdf(x, df, loc, scale)", log_density=f"{H}chi2.logpdf(x, df, loc, scale)")

# Poisson: log pmf (k - loc) log mu - mu - gammaln(k - loc + 1); cdf Q(floor(k - loc) + 1, mu)
slopes("scipy.stats.poisson.logpmf(k, mu, loc=0)", mu="np.subtract(k, loc) / mu - 1")
slopes("scipy.stats.poisson.pmf(k, mu, loc=0)", "ans", mu="np.subtract(k, loc) / mu - 1")
slopes("scipy.stats.poisson.cdf(k, mu, loc=0)", mu=f"-{H}poisson.pmf(np.floor(np.subtract(k, loc)), mu)")
slopes("scipy.stats.poisson.logcdf(k, mu, loc=0)", mu=f"-np.exp({H}poisson.logpmf(np.floor(np.subtract(k, loc)), mu) - ans)")

# multivariate normal: -(d log(2 pi) + log det S + r^T S^-1 r) / 2 per row r = x - mean, S the symmetric covariance
# (mvn_cov: SciPy reads a 2-d cov's lower triangle). allow_singular is not in the signature: a call passing it
# is refused (a singular covariance's pseudo-determinant has another derivative).
_S = f"{H}mvn_cov(cov, mean)"
_SOL = f"(({H}mvn_rows(x, mean, cov) - {H}mvn_mean(mean, cov)) @ np.linalg.inv({_S}))"  # rows of S^-1 r
_MVN = {
    "x": f"np.reshape(-{{G}} * {_SOL}, np.shape(x))",
    "mean": f"{H}mvn_sum_rows({{G}} * {_SOL}, mean)",
    "cov": f"{H}mvn_cov_adjoint(0.5 * ({H}rows_outer({{G}} * {_SOL}, {_SOL}) - np.sum({{G}}) * np.linalg.inv({_S})), cov)",
    "x_dot": f"np.reshape(-np.sum({_SOL} * {H}mvn_rows(x_dot, mean, cov), axis=-1), np.shape(ans))",
    "mean_dot": f"np.reshape(np.sum({_SOL} * {H}mvn_mean(mean_dot, cov), axis=-1), np.shape(ans))",
    "cov_dot": f"np.reshape(0.5 * (np.sum(({_SOL} @ {H}mvn_cov(cov_dot, mean)) * {_SOL}, axis=-1)"
               f" - np.trace(np.linalg.inv({_S}) @ {H}mvn_cov(cov_dot, mean))), np.shape(ans))",
}
# Dirichlet: sum((alpha - 1) log x) + gammaln(sum alpha) - sum gammaln(alpha), x's components along axis 0
_FULL = f"{H}dir_full(x, alpha)"
_DIR = {
    "x": f"{H}dir_x_adjoint({{G}} * ({H}dir_alpha(alpha, x) - 1) / {_FULL}, x)",
    "alpha": f"{H}dir_sum_alpha({{G}} * (np.log({_FULL}) + {H}digamma(np.sum(alpha)) - {H}digamma({H}dir_alpha(alpha, x))))",
    "x_dot": f"np.reshape(np.sum(({H}dir_alpha(alpha, x) - 1) / {_FULL} * {H}dir_full_dot(x_dot, alpha), axis=0), "
             "np.shape(ans))",
    "alpha_dot": f"np.reshape(np.sum((np.log({_FULL}) + {H}digamma(np.sum(alpha)) - {H}digamma({H}dir_alpha(alpha, x)))"
                 f" * {H}dir_alpha(alpha_dot, x), axis=0), np.shape(ans))",
}
for _name, _scale in (("logpdf", ""), ("pdf", "ans * ")):
    for _dist, _sig, _g, _templates in (
            ("multivariate_normal", "x, mean=None, cov=1", f"{H}mvn_g({_scale}g, x, mean, cov)", _MVN),
            ("dirichlet", "x, alpha", f"{H}dir_g({_scale}g, x)", _DIR)):
        defrule(f"scipy.stats.{_dist}.{_name}({_sig})", elementwise=False,
                **{p: (f"{_scale}{t}" if p.endswith("_dot") else t.format(G=_g)) for p, t in _templates.items()})

# the entropy (d log(2 pi e) + log det S) / 2 depends on the covariance alone (the mean only sets d)
defrule("scipy.stats.multivariate_normal.entropy(mean=None, cov=1)", elementwise=False, zero=("mean",),
        cov=f"{H}mvn_cov_adjoint(0.5 * g * np.linalg.inv({_S}), cov)",
        cov_dot=f"0.5 * np.trace(np.linalg.inv({_S}) @ {H}mvn_cov(cov_dot, mean))")

# location-scale families with closed forms (no SciPy function in their slopes). Laplace: log density
# -|z| - log(2 scale); logistic: -z - 2 log(1 + e^-z) - log(scale), whose z-slope is -tanh(z / 2); Cauchy:
# -log(pi scale) - log1p(z^2); exponential: -z - log(scale) on z >= 0 (its density is 0 below loc, so the cdf's
# slopes are masked there; the log density is -inf there and its slopes are those of the formula)
_LAPLACE_LOG = f"(-np.abs({Z}) - np.log(2.0 * scale))"
family_of("laplace", "x, loc=0, scale=1",
          {"x": f"-np.sign({Z}) / scale", "loc": f"np.sign({Z}) / scale", "scale": f"(np.abs({Z}) - 1) / scale"},
          cdf_x=f"np.exp({_LAPLACE_LOG})", log_density=_LAPLACE_LOG)
_LOGISTIC_LOG = f"(-{Z} - 2.0 * np.logaddexp(0.0, -{Z}) - np.log(scale))"
family_of("logistic", "x, loc=0, scale=1",
          {"x": f"-np.tanh(0.5 * {Z}) / scale", "loc": f"np.tanh(0.5 * {Z}) / scale",
           "scale": f"({Z} * np.tanh(0.5 * {Z}) - 1) / scale"},
          cdf_x=f"np.exp({_LOGISTIC_LOG})", log_density=_LOGISTIC_LOG)
_CAUCHY_LOG = f"(-np.log(3.141592653589793 * scale) - np.log1p({Z} ** 2))"
family_of("cauchy", "x, loc=0, scale=1",
          {"x": f"-2.0 * {Z} / (scale * (1 + {Z} ** 2))", "loc": f"2.0 * {Z} / (scale * (1 + {Z} ** 2))",
           "scale": f"({Z} ** 2 - 1) / (scale * (1 + {Z} ** 2))"},
          cdf_x=f"np.exp({_CAUCHY_LOG})", log_density=_CAUCHY_LOG)
_EXPON_LOG = f"(-{Z} - np.log(scale))"
family_of("expon", "x, loc=0, scale=1",
          {"x": "-1.0 / scale", "loc": "1.0 / scale", "scale": f"({Z} - 1) / scale"},
          cdf_x=f"np.where({Z} >= 0, np.exp({_EXPON_LOG}), 0.0)", log_density=_EXPON_LOG)
