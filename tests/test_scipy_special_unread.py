"""A scipy.special function of one real argument (gammaln, expit, erf, ...) is known to give real floats and
not to raise (`real`/`safe` in s2s/rules/scipy_special.py), as NumPy's ufuncs are: a term of the loss that
the gradient does not read, `gammaln(counts + 1.0)` of a Poisson likelihood, is no longer computed (it was,
with the loss value it made: 2.4x the hand gradient). Gradients against central differences."""

import numpy as np
import pytest
from helpers_fd import fd_grad

pytest.importorskip("scipy")
from scipy.special import erf, expit, gammaln, log_ndtr  # noqa: E402

import s2s  # noqa: E402


def poisson(beta, X, counts):
    eta = X @ beta
    return np.sum(np.exp(eta) - counts * eta + gammaln(counts + 1.0)) / len(counts)


def logistic_with_constant(w, X, y):
    p = expit(X @ w)
    return np.sum((p - y) ** 2) + np.sum(erf(y)) + np.sum(log_ndtr(y))


RNG = np.random.default_rng(5)


@pytest.mark.parametrize("f, args, unread", [
    (poisson, (0.1 * RNG.normal(size=4), RNG.normal(size=(30, 4)), RNG.poisson(2.0, 30).astype(float)), "gammaln"),
    (logistic_with_constant, (RNG.normal(size=3), RNG.normal(size=(20, 3)), RNG.random(20)), "erf("),
], ids=["poisson", "logistic"])
def test_an_unread_special_function_term_is_not_computed(f, args, unread):
    df = s2s.grad(f)
    np.testing.assert_allclose(df(*args), fd_grad(f, args), rtol=1e-6, atol=1e-8)
    code = "\n".join(line for line in s2s.source(df, *args).splitlines() if not line.strip().startswith("#"))
    assert unread not in code and "log_ndtr" not in code and "out = " not in code
