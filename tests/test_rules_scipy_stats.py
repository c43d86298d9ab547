"""Rules for scipy.stats distributions: gradients with respect to every float argument against central
differences and autograd.scipy.stats, by position and keyword, loc/scale broadcast; tangents; Hessians."""

import numpy as np
import pytest
from conftest import rng
from test_rules_scipy_special import check_scipy

import s2s
import s2s.rules  # (s2s.rules.lookup below: the rules package is not imported by `import s2s` alone)

st = pytest.importorskip("scipy.stats", reason="the SciPy rules need SciPy (the scipy extra)")
sp = pytest.importorskip("scipy.special")

W23 = rng(500).normal(size=(2, 3))


def _in(lo, hi, shape, seed):
    x = rng(seed).uniform(lo, hi, size=shape)
    return x if shape != () else float(x)


# ---- norm -----------------------------------------------------------------------------------------


def norm_logpdf(x, loc, scale):
    return np.sum(st.norm.logpdf(x, loc, scale) * W23)


def norm_pdf(x, loc, scale):
    return np.sum(st.norm.pdf(x, loc, scale) * W23)


def norm_cdf(x, loc, scale):
    return np.sum(st.norm.cdf(x, loc, scale) * W23)


def norm_keywords(x, loc, scale):  # (autograd's primitives do not trace keyword arguments)
    return np.sum(st.norm.pdf(x, loc=loc, scale=scale) * W23 + st.norm.cdf(x, loc, scale=scale) +
                  st.norm.logpdf(scale=scale, x=x, loc=loc))


def norm_logcdf(x, loc, scale):
    return np.sum(st.norm.logcdf(x, loc, scale) * W23)


def norm_sf(x, loc, scale):
    return np.sum(st.norm.sf(x, loc, scale) * W23)


def norm_logsf(x, loc, scale):
    return np.sum(st.norm.logsf(x, loc, scale) * W23)


LOC_SCALE = [((2, 3), (2, 3), (2, 3)), ((2, 3), (3,), ()), ((2, 3), (), (2, 1)), ((3,), (2, 3), (2, 3))]


@pytest.mark.parametrize("f", [norm_logpdf, norm_pdf, norm_cdf, norm_logcdf, norm_sf, norm_logsf],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("shapes", LOC_SCALE, ids=str)
def test_norm(f, shapes):
    x, loc, scale = _in(-2, 2, shapes[0], 1), _in(-0.5, 0.5, shapes[1], 2), _in(0.5, 2.0, shapes[2], 3)
    check_scipy(f, x, loc, scale, wrt=(0, 1, 2), ag=True)


@pytest.mark.parametrize("shapes", LOC_SCALE, ids=str)
def test_norm_by_keyword(shapes):
    x, loc, scale = _in(-2, 2, shapes[0], 1), _in(-0.5, 0.5, shapes[1], 2), _in(0.5, 2.0, shapes[2], 3)
    check_scipy(norm_keywords, x, loc, scale, wrt=(0, 1, 2), ag=False)


def test_norm_defaults_and_hessian():
    def f(x):
        return np.sum(st.norm.logpdf(x) + st.norm.logcdf(x, scale=2.0) + st.norm.cdf(x, 0.5))
    check_scipy(f, _in(-2, 2, (3,), 4), ag=True, hessian=True)


def test_norm_scale_hessian():
    def f(s):
        return np.sum(st.norm.logpdf(np.array([0.3, -1.0, 2.0]), 0.1, s) + st.norm.pdf(1.0, s, s * s))
    check_scipy(f, _in(0.5, 2.0, (3,), 5), ag=True, hessian=True)


def test_quantiles_given_as_lists():
    """SciPy takes lists for x (and k): the templates do too (np.subtract, not `-`, which a list lacks)."""
    def f(mu):
        return np.sum(st.norm.logpdf([0.5, 1.0, 2.0], mu, 2) + st.t.logpdf([0.5, 1.0, 3.0], 3.0, mu, 2.0) +
                      st.gamma.logpdf([1.5, 2.0, 2.5], 2.0, mu * 0.1) + st.beta.logpdf([0.3, 0.5, 0.6], 2.0, 3.0, mu * 0.01) +
                      st.norm.cdf([0.1, 0.2, 0.3], mu) + st.poisson.logpmf([1, 2, 3], mu + 1.0) +
                      st.poisson.cdf([1, 2, 4], mu + 1.0, 0))
    check_scipy(f, 0.3, ag=False, hessian=True)


def test_norm_spelled_every_way():
    """st.norm.logpdf, scipy.stats.norm.logpdf and `from scipy.stats import norm` find the same rule."""
    import scipy.stats
    from scipy.stats import norm

    def f1(x):
        return np.sum(norm.logpdf(x, 0.2, 1.3))

    def f2(x):
        return np.sum(scipy.stats.norm.logpdf(x, 0.2, 1.3))

    x = _in(-2, 2, (4,), 6)
    expected = -(x - 0.2) / 1.3 ** 2
    for f in (f1, f2):
        np.testing.assert_allclose(s2s.grad(f)(x), expected, rtol=1e-12)


def test_norm_through_a_local_name():
    """A call through a local variable runs through s2s/runtime/calls.py, which keeps the bound method whole."""
    def f(x):
        logpdf = st.norm.logpdf
        return np.sum(logpdf(x, 0.2, 1.3))
    x = _in(-2, 2, (4,), 6)
    np.testing.assert_allclose(s2s.grad(f)(x), -(x - 0.2) / 1.3 ** 2, rtol=1e-12)


# ---- t, gamma, beta, chi2 ---------------------------------------------------------------------------


def t_logpdf(x, df, loc, scale):
    return np.sum(st.t.logpdf(x, df, loc, scale) * W23)


def t_pdf(x, df, loc, scale):
    return np.sum(st.t.pdf(x, df, loc, scale) * W23)


@pytest.mark.parametrize("f", [t_logpdf, t_pdf], ids=lambda f: f.__name__)
@pytest.mark.parametrize("shapes", [((2, 3), (2, 3), (3,), ()), ((2, 3), (), (2, 1), (2, 3))], ids=str)
def test_t_density(f, shapes):
    x, df = _in(-2, 2, shapes[0], 7), _in(1.5, 6.0, shapes[1], 8)
    loc, scale = _in(-0.5, 0.5, shapes[2], 9), _in(0.5, 2.0, shapes[3], 10)
    check_scipy(f, x, df, loc, scale, wrt=(0, 1, 2, 3), ag=True)


def test_t_cdf_logcdf():
    def f(x, loc, scale):
        return np.sum(st.t.cdf(x, 3.5, loc, scale) * W23 + st.t.logcdf(x, 2.5, loc, scale))
    check_scipy(f, _in(-2, 2, (2, 3), 11), _in(-0.5, 0.5, (3,), 12), 1.3, wrt=(0, 1, 2), ag=False)
    check_scipy(lambda x: np.sum(st.t.cdf(x, 3.5) * W23), _in(-2, 2, (2, 3), 13), ag=True)


def test_t_cdf_df_is_refused():
    def f(df):
        return np.sum(st.t.cdf(np.ones(3), df))
    with pytest.raises(s2s.NoDerivativeRuleError, match="'df'"):
        s2s.grad(f)(3.0)


def test_t_hessian():
    check_scipy(lambda v: np.sum(st.t.logpdf(np.array([0.3, -1.0, 2.0]), v, 0.1, v * 0.5)), _in(1.5, 4.0, (3,), 14),
                ag=True, hessian=True)


def gamma_all(x, a, loc, scale):
    return np.sum(st.gamma.logpdf(x, a, loc, scale) * W23 + st.gamma.pdf(x, a, loc=loc, scale=scale))


def beta_all(x, a, b, loc, scale):
    return np.sum(st.beta.logpdf(x, a, b, loc, scale) * W23 + st.beta.pdf(x, a, b, loc, scale=scale))


def chi2_all(x, df, loc, scale):
    return np.sum(st.chi2.logpdf(x, df, loc, scale) * W23 + st.chi2.pdf(x, df, loc=loc, scale=scale))


def test_gamma_density():
    check_scipy(gamma_all, _in(1.0, 3.0, (2, 3), 15), _in(1.5, 4.0, (3,), 16), _in(-0.5, 0.5, (2, 1), 17),
                _in(0.5, 2.0, (), 18), wrt=(0, 1, 2, 3), ag=False)
    check_scipy(lambda x, a: np.sum(st.gamma.logpdf(x, a) * W23 + st.gamma.pdf(x, a)), _in(0.5, 3.0, (2, 3), 19),
                _in(1.5, 4.0, (2, 3), 20), wrt=(0, 1), ag=True)


def test_beta_density():
    check_scipy(beta_all, _in(0.2, 0.8, (2, 3), 21), _in(1.5, 4.0, (3,), 22), _in(1.5, 3.0, (2, 3), 23),
                _in(-0.1, 0.1, (), 24), _in(1.0, 1.5, (2, 1), 25), wrt=(0, 1, 2, 3, 4), ag=False)
    check_scipy(lambda x, a, b: np.sum(st.beta.logpdf(x, a, b) * W23 + st.beta.pdf(x, a, b)),
                _in(0.2, 0.8, (2, 3), 26), _in(1.5, 4.0, (3,), 27), _in(1.5, 3.0, (2, 3), 28), wrt=(0, 1, 2), ag=True)


def test_chi2_density():
    check_scipy(chi2_all, _in(1.0, 3.0, (2, 3), 29), _in(2.5, 5.0, (3,), 30), _in(-0.5, 0.5, (), 31),
                _in(0.5, 2.0, (2, 1), 32), wrt=(0, 1, 2, 3), ag=False)
    check_scipy(lambda x: np.sum(st.chi2.logpdf(x, 3.0) * W23 + st.chi2.pdf(x, 4.0)), _in(0.5, 3.0, (2, 3), 33),
                ag=True)


def gamma_cdf(x, loc, scale):
    return np.sum(st.gamma.cdf(x, 2.5, loc, scale) * W23 + st.gamma.logcdf(x, 2.5, loc=loc, scale=scale))


def beta_cdf(x, loc, scale):
    return np.sum(st.beta.cdf(x, 2.0, 3.0, loc, scale) * W23 + st.beta.logcdf(x, 2.0, 3.0, loc=loc, scale=scale))


def chi2_cdf(x, loc, scale):
    return np.sum(st.chi2.cdf(x, 3.5, loc, scale) * W23 + st.chi2.logcdf(x, 3.5, loc=loc, scale=scale))


@pytest.mark.parametrize("f,domain", [(gamma_cdf, (1.0, 3.0)), (beta_cdf, (0.2, 0.8)), (chi2_cdf, (1.0, 3.0))],
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_cdf_logcdf_in_x_loc_scale(f, domain):
    check_scipy(f, _in(*domain, (2, 3), 34), _in(-0.1, 0.1, (3,), 35), _in(0.9, 1.2, (), 36), wrt=(0, 1, 2),
                ag=False)


def test_cdf_against_autograd():
    def f(x):
        return np.sum(st.gamma.cdf(x, 2.5) * W23 + st.chi2.cdf(x, 3.5) + st.beta.cdf(x / 4.0, 2.0, 3.0))
    check_scipy(f, _in(1.0, 3.0, (2, 3), 37), ag=True)


def test_shape_parameter_hessians():
    check_scipy(lambda a: np.sum(st.gamma.logpdf(np.array([0.5, 1.5, 2.5]), a, scale=a)), _in(1.5, 4.0, (3,), 38),
                ag=False, hessian=True)
    check_scipy(lambda a: np.sum(st.beta.logpdf(np.array([0.2, 0.5, 0.7]), a, a + 1.0)), _in(1.5, 4.0, (3,), 39),
                ag=True, hessian=True)
    check_scipy(lambda a: np.sum(st.chi2.logpdf(np.array([0.5, 1.5, 2.5]), a)), _in(1.5, 4.0, (3,), 40),
                ag=False, hessian=True)  # (autograd has no chi2 derivative in df)


# ---- poisson --------------------------------------------------------------------------------------


def poisson_all(mu):
    k = np.array([[0.0, 1.0, 4.0], [2.0, 3.0, 7.0]])
    return np.sum(st.poisson.logpmf(k, mu) * W23 + st.poisson.pmf(k, mu) + st.poisson.cdf(k, mu) * W23)


def test_poisson():
    check_scipy(poisson_all, _in(0.5, 5.0, (3,), 41), ag=True, hessian=True)
    check_scipy(lambda mu: np.sum(st.poisson.logcdf(np.array([0.0, 2.0, 5.0]), mu) + st.poisson.pmf(3.0, mu, loc=1.0)),
                _in(0.5, 5.0, (3,), 42), ag=False, hessian=True)


def test_poisson_k_is_refused():
    def f(k):
        return np.sum(st.poisson.logpmf(k, 2.0))
    with pytest.raises(s2s.NoDerivativeRuleError, match="'k'"):
        s2s.grad(f)(np.array([1.0, 2.0]))


# ---- multivariate normal ----------------------------------------------------------------------------


def _spd(n, seed):
    a = rng(seed).normal(size=(n, n))
    return a @ a.T + n * np.eye(n)


def mvn_rows(x, mean, cov):
    return np.sum(st.multivariate_normal.logpdf(x, mean, cov) * np.arange(1.0, 5.0))


def mvn_one(x, mean, cov):
    return st.multivariate_normal.logpdf(x, mean, cov) * 1.5


def test_multivariate_normal_by_keyword():
    def f(x, mean, cov):
        return st.multivariate_normal.logpdf(x, mean=mean, cov=cov) * 1.5 + st.multivariate_normal.pdf(cov=cov, x=x)
    check_scipy(f, rng(54).normal(size=3), rng(55).normal(size=3), _spd(3, 56), wrt=(0, 1, 2), ag=False)


def mvn_pdf(x, mean, cov):
    return np.sum(st.multivariate_normal.pdf(x, mean, cov) * np.arange(1.0, 5.0))


@pytest.mark.parametrize("f,xshape", [(mvn_rows, (4, 3)), (mvn_one, (3,)), (mvn_pdf, (4, 3))],
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_multivariate_normal(f, xshape):
    x, mean, cov = rng(43).normal(size=xshape), rng(44).normal(size=3), _spd(3, 45)
    g = check_scipy(f, x, mean, cov, wrt=(0, 1, 2), ag=False)
    # autograd's cov gradient is the symmetric one; SciPy reads cov's lower triangle (as differences see)
    import autograd
    from test_rules_scipy_special import ag_twin
    ag = [autograd.grad(ag_twin(f), i)(x, mean, cov) for i in range(3)]
    np.testing.assert_allclose(g[0], ag[0], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(g[1], ag[1], rtol=1e-7, atol=1e-9)
    sym = ag[2]
    np.testing.assert_allclose(g[2], np.tril(sym + sym.T, -1) + np.diag(np.diag(sym)), rtol=1e-7, atol=1e-9)


def test_multivariate_normal_symmetric_covariance_from_parameters():
    """The usual program: cov built from parameters (a symmetric matrix), mean and cov defaulted."""
    def f(a, x):
        cov = a @ a.T + np.eye(3)
        return np.sum(st.multivariate_normal.logpdf(x, np.zeros(3), cov) ** 2)

    def g(a, x):
        cov = a @ a.T + np.eye(3)
        return st.multivariate_normal.logpdf(x[0], cov=cov) + np.sum(st.multivariate_normal.logpdf(x, None, cov))
    check_scipy(f, rng(46).normal(size=(3, 3)), rng(47).normal(size=(5, 3)), wrt=(0, 1), ag=True)
    check_scipy(g, rng(46).normal(size=(3, 3)), rng(47).normal(size=(5, 3)), wrt=(0, 1), ag=False)


def test_multivariate_normal_diagonal_and_scalar_cov():
    def f(x, d, c):
        return np.sum(st.multivariate_normal.logpdf(x, np.ones(3), d)) + np.sum(st.multivariate_normal.logpdf(x, np.zeros(3), c))
    check_scipy(f, rng(48).normal(size=(4, 3)), _in(0.5, 2.0, (3,), 49), 1.7, wrt=(0, 1, 2), ag=False)


def test_multivariate_normal_one_dimensional():
    def f(x, m, c):
        return np.sum(st.multivariate_normal.logpdf(x, m, c))
    check_scipy(f, rng(50).normal(size=(5,)), 0.3, 1.4, wrt=(0, 1, 2), ag=False)


def test_multivariate_normal_hessians():
    x, mean, cov = rng(57).normal(size=(4, 3)), rng(58).normal(size=3), _spd(3, 59)
    check_scipy(lambda x: np.sum(st.multivariate_normal.logpdf(x, mean, cov) ** 2), x, ag=False, hessian=True)
    check_scipy(lambda m: np.sum(st.multivariate_normal.pdf(x, m, cov)), mean, ag=False, hessian=True)
    check_scipy(lambda c: np.sum(st.multivariate_normal.logpdf(x, mean, c)), cov, ag=False, hessian=True)
    check_scipy(lambda d: np.sum(st.multivariate_normal.logpdf(x, mean, d * d)), _in(0.5, 2.0, (3,), 60), ag=False,
                hessian=True)
    check_scipy(lambda c: st.multivariate_normal.logpdf(x[0], None, c * c + 1.0) * 1.0, 0.7 * np.ones((3, 3)) +
                np.eye(3), ag=False, hessian=True)


def test_multivariate_normal_allow_singular_is_refused():
    def f(x):
        return st.multivariate_normal.logpdf(x, np.zeros(2), np.eye(2), allow_singular=True)
    with pytest.raises(s2s.S2SError, match="allow_singular"):
        s2s.grad(f)(np.ones(2))


# ---- dirichlet ------------------------------------------------------------------------------------


def dirichlet_of_logits(z, alpha):
    x = sp.softmax(z, axis=0)
    return np.sum(st.dirichlet.logpdf(x, alpha) * np.arange(1.0, 1.0 + np.size(x) // 3)) + st.dirichlet.pdf(x[:, 0], alpha)


def test_dirichlet_on_the_simplex():
    """x is on the simplex (SciPy checks it): x = softmax(z), differences in z and alpha."""
    check_scipy(dirichlet_of_logits, rng(51).normal(size=(3, 4)), _in(1.5, 3.0, (3,), 52), wrt=(0, 1), ag=False)


def test_dirichlet_against_autograd():
    def f(x, alpha):
        return st.dirichlet.logpdf(x, alpha) * 2.0 + st.dirichlet.pdf(x, alpha)
    x = np.array([0.2, 0.3, 0.5])
    import autograd
    from test_rules_scipy_special import ag_twin
    for i in (0, 1):
        np.testing.assert_allclose(s2s.grad(f, wrt=i)(x, np.array([1.5, 2.0, 3.0])),
                                   autograd.grad(ag_twin(f), i)(x, np.array([1.5, 2.0, 3.0])), rtol=1e-7)


def test_dirichlet_with_k_minus_1_components():
    """The last component left out (1 - the sum of the others): x is free, differences see it."""
    def f(x, alpha):
        return np.sum(st.dirichlet.logpdf(x, alpha) * np.array([1.0, -2.0]))
    check_scipy(f, np.array([[0.2, 0.3], [0.5, 0.1]]), _in(1.5, 3.0, (3,), 53), wrt=(0, 1), ag=False)


def test_dirichlet_hessians():
    alpha = _in(1.5, 3.0, (3,), 61)
    check_scipy(lambda a: np.sum(st.dirichlet.logpdf(sp.softmax(rng(62).normal(size=(3, 2)), axis=0), a) ** 2), alpha,
                ag=False, hessian=True)
    check_scipy(lambda z: st.dirichlet.pdf(sp.softmax(z), alpha) * 1.0, rng(63).normal(size=3), ag=False, hessian=True)
    check_scipy(lambda x: np.sum(st.dirichlet.logpdf(x, alpha)), np.array([[0.2, 0.3], [0.5, 0.1]]), ag=False,
                hessian=True)


def laplace_all(x, loc, scale):
    return np.sum(st.laplace.logpdf(x, loc, scale) + st.laplace.pdf(x, loc, scale) * 2.0
                  + st.laplace.cdf(x, loc=loc, scale=scale) ** 2 + st.laplace.logcdf(x, loc, scale))


def logistic_all(x, loc, scale):
    return np.sum(st.logistic.logpdf(x, loc, scale) + st.logistic.pdf(x, loc, scale) * 2.0
                  + st.logistic.cdf(x, loc=loc, scale=scale) ** 2 + st.logistic.logcdf(x, loc, scale))


def cauchy_all(x, loc, scale):
    return np.sum(st.cauchy.logpdf(x, loc, scale) + st.cauchy.pdf(x, loc, scale) * 2.0
                  + st.cauchy.cdf(x, loc=loc, scale=scale) ** 2 + st.cauchy.logcdf(x, loc, scale))


def expon_all(x, loc, scale):
    return np.sum(st.expon.logpdf(x, loc, scale) + st.expon.pdf(x, loc, scale) * 2.0
                  + st.expon.cdf(x, loc=loc, scale=scale) ** 2 + st.expon.logcdf(x, loc, scale))


@pytest.mark.parametrize("f", [laplace_all, logistic_all, cauchy_all, expon_all], ids=lambda f: f.__name__)
def test_location_scale_families_in_closed_form(f):
    # (autograd has none of them); x broadcast against loc (3,) and scale (2, 1)
    x, loc, scale = _in(0.5, 2.5, (2, 3), 50), _in(-0.3, 0.3, (3,), 51), _in(0.5, 2.0, (2, 1), 52)
    check_scipy(f, x, loc, scale, wrt=(0, 1, 2), ag=False)
    check_scipy(f, x, loc, scale, wrt=0, ag=False, hessian=True)


_ONE_METHOD = {  # (each method of each family alone, summed: the tangent reduced as it is)
    "laplace.logpdf": lambda x, loc, scale: np.sum(st.laplace.logpdf(x, loc, scale)),
    "laplace.pdf": lambda x, loc, scale: np.sum(st.laplace.pdf(x, loc, scale)),
    "laplace.cdf": lambda x, loc, scale: np.sum(st.laplace.cdf(x, loc, scale)),
    "laplace.logcdf": lambda x, loc, scale: np.sum(st.laplace.logcdf(x, loc, scale)),
    "logistic.logpdf": lambda x, loc, scale: np.sum(st.logistic.logpdf(x, loc, scale)),
    "logistic.pdf": lambda x, loc, scale: np.sum(st.logistic.pdf(x, loc, scale)),
    "logistic.cdf": lambda x, loc, scale: np.sum(st.logistic.cdf(x, loc, scale)),
    "logistic.logcdf": lambda x, loc, scale: np.sum(st.logistic.logcdf(x, loc, scale)),
    "cauchy.logpdf": lambda x, loc, scale: np.sum(st.cauchy.logpdf(x, loc, scale)),
    "cauchy.pdf": lambda x, loc, scale: np.sum(st.cauchy.pdf(x, loc, scale)),
    "cauchy.cdf": lambda x, loc, scale: np.sum(st.cauchy.cdf(x, loc, scale)),
    "cauchy.logcdf": lambda x, loc, scale: np.sum(st.cauchy.logcdf(x, loc, scale)),
    "expon.logpdf": lambda x, loc, scale: np.sum(st.expon.logpdf(x, loc, scale)),
    "expon.pdf": lambda x, loc, scale: np.sum(st.expon.pdf(x, loc, scale)),
    "expon.cdf": lambda x, loc, scale: np.sum(st.expon.cdf(x, loc, scale)),
    "expon.logcdf": lambda x, loc, scale: np.sum(st.expon.logcdf(x, loc, scale)),
    "norm.logpdf": lambda x, loc, scale: np.sum(st.norm.logpdf(x, loc, scale)),
    "norm.pdf": lambda x, loc, scale: np.sum(st.norm.pdf(x, loc, scale)),
    "norm.cdf": lambda x, loc, scale: np.sum(st.norm.cdf(x, loc, scale)),
    "norm.logcdf": lambda x, loc, scale: np.sum(st.norm.logcdf(x, loc, scale)),
}


@pytest.mark.parametrize("name", list(_ONE_METHOD))
@pytest.mark.parametrize("which", [0, 1, 2], ids=["x", "loc", "scale"])
def test_the_tangent_of_a_number_broadcast_against_arrays_has_the_result_s_shape(name, which):
    # (adv228: expon's slopes in x and loc read no other argument, `-1.0 / scale`: the tangent kept the number's
    # shape, and jvp and jacfwd of the sum took one term instead of one per entry: 0.769 for 3.077)
    f = _ONE_METHOD[name]
    args = [_in(0.5, 2.5, (2, 3), 53), _in(-0.3, 0.3, (3,), 54), _in(0.5, 2.0, (2, 1), 55)]
    args[which] = (0.9, 0.1, 1.3)[which]
    eps = 1e-6
    up, down = list(args), list(args)
    up[which], down[which] = args[which] + eps, args[which] - eps
    expected = (f(*up) - f(*down)) / (2 * eps)
    tangents = tuple(1.0 if k == which else None for k in range(3))
    assert s2s.jvp(f, tuple(args), tangents)[1] == pytest.approx(expected, rel=1e-6, abs=1e-8)
    assert s2s.jacfwd(f, which)(*args) == pytest.approx(expected, rel=1e-6, abs=1e-8)


def expon_cdf(x):
    return np.sum(st.expon.cdf(x, 0.5, 2.0) ** 2)


def test_exponential_cdf_is_flat_below_loc():
    x = np.array([-0.4, 0.2, 0.9, 1.7])
    g = check_scipy(expon_cdf, x, ag=False)
    assert g[0] == 0.0 and g[1] == 0.0


def test_every_scipy_stats_rule_is_tested_here():
    names = {r.name for r in s2s.rules._RULES.values() if r.name.startswith("scipy.stats.")}
    dists = {"norm": ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), "t": ("logpdf", "pdf", "cdf", "logcdf"),
             "gamma": ("logpdf", "pdf", "cdf", "logcdf"), "beta": ("logpdf", "pdf", "cdf", "logcdf"),
             "chi2": ("logpdf", "pdf", "cdf", "logcdf"), "poisson": ("logpmf", "pmf", "cdf", "logcdf"),
             "multivariate_normal": ("logpdf", "pdf"), "dirichlet": ("logpdf", "pdf"),
             **{d: ("logpdf", "pdf", "cdf", "logcdf") for d in ("laplace", "logistic", "cauchy", "expon")}}
    entropy = {"scipy.stats.multivariate_normal.entropy"}  # (tests/test_rules_autograd_gaps.py)
    assert names == {f"scipy.stats.{d}.{m}" for d, ms in dists.items() for m in ms} | entropy


# ---- a density at points outside its support is 0 there whatever the parameters: slope 0, not NaN (adv223) -------

X_OUTSIDE = np.array([0.5, 1.5, -0.2])  # (beta's support is [0, 1]; gamma's and chi2's, x >= 0)


def beta_pdf_outside(a, b):
    return np.sum(st.beta.pdf(X_OUTSIDE, a, b) * np.array([1.0, 2.0, 3.0]))


def gamma_pdf_outside(a, scale):
    return np.sum(st.gamma.pdf(X_OUTSIDE, a, scale=scale))


def chi2_pdf_outside(df, loc):
    return np.sum(st.chi2.pdf(X_OUTSIDE, df, loc))


@pytest.mark.parametrize("f, args", [(beta_pdf_outside, (2.5, 1.7)), (gamma_pdf_outside, (1.8, 1.3)),
                                     (chi2_pdf_outside, (3.5, -0.1))], ids=lambda v: getattr(v, "__name__", ""))
def test_density_outside_its_support(f, args):
    check_scipy(f, *args, wrt=(0, 1), ag=False, hessian=True)
