"""Whole programs using SciPy's rules inside user functions with loops, helpers and broadcasting, compared
with autograd (the same source with np, sp, st and sl bound to autograd's modules) and central differences."""

import numpy as np
import pytest
from conftest import check_grad, rng
from test_rules_scipy_special import ag_twin, check_scipy

import s2s

sp = pytest.importorskip("scipy.special", reason="the SciPy rules need SciPy (the scipy extra)")
st = pytest.importorskip("scipy.stats")
sl = pytest.importorskip("scipy.linalg")

X = rng(700).normal(size=(12, 3))
Y = (rng(701).uniform(size=12) < 0.5) * 2.0 - 1.0
DATA = np.concatenate([rng(702).normal(-1.0, 0.5, size=10), rng(703).normal(1.5, 0.8, size=10)])


# ---- logistic regression in mini-batches, log-likelihood through logsumexp ---------------------------


def logistic_nll(w, b):
    total = 0.0
    for start in range(0, 12, 4):
        z = X[start:start + 4] @ w + b
        margins = -Y[start:start + 4] * z
        pair = np.stack([np.zeros_like(margins), margins])
        total = total + np.sum(sp.logsumexp(pair, axis=0))  # log(1 + exp(-y z))
    return total + 0.1 * np.sum(sp.expit(w) ** 2)


def test_logistic_regression_in_batches():
    check_scipy(logistic_nll, rng(704).normal(size=3), 0.3, wrt=(0, 1), ag=True, hessian=True)


# ---- Gaussian mixture: components in a loop, logsumexp over them --------------------------------------


def mixture_loglik(params):
    means, log_scales, logits = params[0], params[1], params[2]
    log_weights = sp.log_softmax(logits)
    rows = []
    for k in range(2):
        rows.append(st.norm.logpdf(DATA, means[k], np.exp(log_scales[k])) + log_weights[k])
    return np.sum(sp.logsumexp(np.stack(rows), axis=0))


def test_gaussian_mixture():
    params = np.array([[-0.8, 1.2], [-0.5, -0.1], [0.2, -0.3]])
    check_scipy(mixture_loglik, params, ag=False, hessian=True)
    # autograd has no log_softmax: the same program with it written out
    import autograd
    import autograd.numpy as anp
    import autograd.scipy.special as asp
    import autograd.scipy.stats as ast_

    def twin(params):
        lw = params[2] - asp.logsumexp(params[2])
        rows = [ast_.norm.logpdf(DATA, params[0][k], anp.exp(params[1][k])) + lw[k] for k in range(2)]
        return anp.sum(asp.logsumexp(anp.stack(rows), axis=0))
    np.testing.assert_allclose(s2s.grad(mixture_loglik)(params), autograd.grad(twin)(params), rtol=1e-7, atol=1e-9)


# ---- Gaussian process: kernel from parameters, marginal likelihood two ways -----------------------------


def _kernel(log_len, log_amp, x):
    d = x[:, None] - x[None, :]
    return np.exp(log_amp) * np.exp(-0.5 * d * d / np.exp(2.0 * log_len)) + 0.1 * np.eye(x.shape[0])


XS = np.linspace(-1.0, 1.0, 6)
YS = np.sin(2.0 * XS)


def gp_mvn(theta):
    k = _kernel(theta[0], theta[1], XS)
    return -st.multivariate_normal.logpdf(YS, np.zeros(6), k)


def gp_cholesky(theta):
    k = _kernel(theta[0], theta[1], XS)
    c = sl.cho_factor(k, lower=True)
    alpha = sl.cho_solve(c, YS)
    half_logdet = np.sum(np.log(np.diag(c[0])))
    return 0.5 * YS @ alpha + half_logdet + 3.0 * np.log(2.0 * np.pi)


def gp_triangular(theta):
    k = _kernel(theta[0], theta[1], XS)
    lower = np.linalg.cholesky(k)
    v = sl.solve_triangular(lower, YS, lower=True)
    return 0.5 * np.sum(v * v) + np.sum(np.log(np.diag(lower))) + 3.0 * np.log(2.0 * np.pi)


def test_gaussian_process_marginal_likelihood():
    theta = np.array([-0.3, 0.2])
    g = check_scipy(gp_mvn, theta, ag=True)
    for f in (gp_cholesky, gp_triangular):  # the same number, by Cholesky
        assert f(theta) == pytest.approx(gp_mvn(theta))
        np.testing.assert_allclose(check_scipy(f, theta, ag=False), g, rtol=1e-7, atol=1e-9)
    check_grad(gp_triangular, theta, ag=ag_twin(gp_triangular))  # autograd has solve_triangular
    h = check_scipy(gp_mvn, theta, ag=False, hessian=True)  # Hessians: the three ways agree
    for f in (gp_cholesky, gp_triangular):
        check_scipy(f, theta, ag=False, hessian=True)
        np.testing.assert_allclose(s2s.hessian(f)(theta), s2s.hessian(gp_mvn)(theta), rtol=1e-7, atol=1e-9)
    assert h is not None


# ---- robust regression with a Student t likelihood, the degrees of freedom learned too ----------------


def robust_regression(w, log_df):
    df = np.exp(log_df)
    total = 0.0
    for i in range(X.shape[0]):
        r = Y[i] - X[i] @ w
        total = total - st.t.logpdf(r, df, 0.0, 0.7)
    return total + np.sum(st.norm.logpdf(w, 0.0, 2.0)) * -1.0


def test_robust_regression_with_student_t():
    check_scipy(robust_regression, rng(705).normal(size=3), 0.8, wrt=(0, 1), ag=True)


# ---- a variational objective: Gaussian entropy, gammaln, digamma, a Dirichlet prior ------------------


def elbo(params):
    mean, log_std, logits = params[:3], params[3:6], params[6:]
    std = np.exp(log_std)
    samples = mean + std * np.array([0.3, -1.1, 0.7])
    loglik = np.sum(st.norm.logpdf(DATA[:3], samples, 1.0))
    entropy = np.sum(0.5 * np.log(2 * np.pi * np.e) + log_std)
    probs = sp.softmax(logits)
    prior = st.dirichlet.logpdf(probs, np.array([2.0, 3.0, 4.0])) + np.sum(sp.gammaln(std + 1.0) - sp.digamma(std + 1.0))
    return loglik + entropy + prior


def test_variational_objective():
    check_scipy(elbo, rng(706).normal(size=9) * 0.3, ag=False)
