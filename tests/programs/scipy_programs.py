"""Small programs that use SciPy (special functions, distributions, triangular solves).

tests/test_real_programs.py differentiates each with s2s and compares the gradient with
autograd's on the same source (loaded with autograd.numpy and autograd.scipy instead).
"""

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import gammaln, logsumexp
from scipy.stats import norm
from scipy.stats import t as student_t

# ---------------------------------------------------------------- mixture model


def mixture_nll(params, data):
    log_w = params["logits"] - logsumexp(params["logits"])
    per_component = []
    for k in range(params["means"].shape[0]):
        z = (data - params["means"][k]) / np.exp(params["log_scales"][k])
        log_pdf = -0.5 * np.sum(z**2, axis=1) - np.sum(params["log_scales"][k]) - 0.5 * data.shape[1] * np.log(2 * np.pi)
        per_component.append(log_w[k] + log_pdf)
    return -np.sum(logsumexp(np.stack(per_component), axis=0))


# ---------------------------------------------------------------- ICA with heavy-tailed sources


def ica_nll(w, X, nu=3.0):
    d = X.shape[1]
    W = np.reshape(w, (d, d))
    S = X @ W.T
    log_p = gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * np.log(nu * np.pi) - (nu + 1) / 2 * np.log1p(S**2 / nu)
    _, logdet = np.linalg.slogdet(W)
    return -np.mean(np.sum(log_p, axis=1)) - logdet


def ica_nll_stats(w, X, log_noise):
    d = X.shape[1]
    W = np.reshape(w, (d, d))
    return -np.mean(student_t.logpdf(X @ W.T, 2.5, 0.0, np.exp(log_noise)))


# ---------------------------------------------------------------- GP with a Cholesky and triangular solves


def gp_nlml_cholesky(theta, X, y):
    n = y.shape[0]
    d = (X[:, None, :] - X[None, :, :]) / np.exp(theta[0])
    K = np.exp(2.0 * theta[1]) * np.exp(-0.5 * np.sum(d**2, axis=-1)) + (np.exp(2.0 * theta[2]) + 1e-6) * np.eye(n)
    L = np.linalg.cholesky(K)
    v = solve_triangular(L, y, lower=True)
    return 0.5 * np.dot(v, v) + np.sum(np.log(np.diag(L))) + 0.5 * n * np.log(2.0 * np.pi)


# ---------------------------------------------------------------- regression with a Gaussian likelihood


def gaussian_regression_nll(params, x, y):
    pred = np.tanh(x @ params[0]) @ params[1]
    return -np.sum(norm.logpdf(y, pred, 0.3)) - np.sum(norm.logpdf(params[0], 0.0, 2.0))
