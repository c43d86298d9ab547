"""Frozen scipy.stats distributions (`d = st.norm(m, s); d.logpdf(x)`) read as the distributions' own methods
(transforms/frozen_distributions.py): gradients against central differences, Hessians, and what stays refused."""

import re

import numpy as np
import pytest
from conftest import numeric_grad
from test_rules_scipy_special import check_scipy

import s2s

st = pytest.importorskip("scipy.stats", reason="the SciPy rules need SciPy (the scipy extra)")

X = np.array([0.1, 0.5, -0.3])
M = np.array([0.2, 1.3, 0.9])


def frozen_by_position(m):
    d = st.norm(m[0], m[1])
    return np.sum(d.logpdf(X)) + d.cdf(0.2)


def made_and_used_at_once(m):
    return np.sum(st.gamma(m[2] + 1.0, scale=m[1]).logpdf(X + 1.0)) + st.norm(m[0]).sf(0.4)


def multivariate(m):
    d = st.multivariate_normal(m[:2], np.diag(m[1:] ** 2))
    return d.logpdf(X[:2]) + d.entropy() + d.pdf(X[1:])


def arguments_rebound_after(m):
    d = st.norm(m[0], m[1])
    m = m * 2.0  # (d keeps the values it was made with)
    return np.sum(d.pdf(X)) + np.sum(m)


def by_keyword_in_a_loop(m):
    d = st.t(df=m[2] + 2.0, loc=m[0], scale=m[1])
    out = 0.0
    for x in X:
        out = out + d.logpdf(x)
    return out


def a_call_inside_another(m):  # (adv228: the inner call was left as it was, reading a module's `d`, or unbound)
    d = st.norm(m[0], m[1] + 1.0)
    return np.sum(d.logpdf(d.cdf(X)))


def one_distribution_s_call_inside_another_s(m):
    e = st.norm(m[0], 2.0)
    q = st.laplace(0.0, m[1])
    return np.sum(e.logpdf(q.cdf(X)))


def a_call_among_the_frozen_arguments(m):  # (adv228: the rewrite of e moved d's call away from where d's looked)
    if m[0] > 0:
        d = st.norm(m[0], 2.0)
    e = st.norm(d.cdf(0.3), 1.0 + m[1])
    return np.sum(e.logpdf(X))


def read_through_a_copy(m):  # (stop 68: the copy's methods were refused)
    d = st.norm(m[0], m[1])
    e = d
    return np.sum(e.logpdf(X)) + e.cdf(0.1)


d = st.norm(5.0, 1.0)  # (a module's name `d`: read by none of the functions above)


@pytest.mark.parametrize("f", [frozen_by_position, made_and_used_at_once, multivariate, arguments_rebound_after,
                               by_keyword_in_a_loop, a_call_inside_another, one_distribution_s_call_inside_another_s,
                               a_call_among_the_frozen_arguments, read_through_a_copy], ids=lambda f: f.__name__)
def test_frozen_distribution_methods(f):
    check_scipy(f, M, ag=False, hessian=f is not multivariate)  # (entropy's Hessian: tests/test_rules_autograd_gaps)
    src = "\n".join(line for line in s2s.source(s2s.grad(f), M).splitlines() if not line.strip().startswith("#"))
    assert re.search(r"st\.\w+\.(logpdf|pdf)\(", src) and not re.search(r"st\.\w+\(", src), src


def passed_on(m):
    d = st.norm(m[0], m[1])
    return _logpdf_of(d)


def _logpdf_of(d):
    return np.sum(d.logpdf(X))


def method_with_a_keyword(m):
    d = st.norm(m[0], m[1])
    return np.sum(d.logpdf(X, loc=3.0))  # (a TypeError in Python: the frozen method takes x alone)


def random_draws(m):
    d = st.norm(m[0], m[1])
    return np.sum(d.rvs(size=3, random_state=0))


def arguments_that_act(m):  # (adv224: written at once, x was evaluated before the frozen arguments: swapped)
    vals = [m[2] + 1.0, m[1] + 0.5]
    return st.gamma(vals.pop()).logpdf(vals.pop())


def seeded(m):  # (adv224: seed= went into the method call)
    d = st.multivariate_normal(m[:2], np.diag(m[1:] ** 2), seed=0)
    return d.logpdf(X[:2])


@pytest.mark.parametrize("f", [passed_on, method_with_a_keyword, random_draws, arguments_that_act, seeded],
                         ids=lambda f: f.__name__)
def test_other_uses_stay_refused(f):
    with pytest.raises(s2s.S2SError):
        s2s.grad(f)(M)
    with pytest.raises(s2s.S2SError):
        s2s.jvp(f, (M,), (np.ones(3),))


def test_the_refusal_of_a_frozen_distribution_says_what_to_write():
    with pytest.raises(s2s.S2SError, match=r"frozen distribution made here") as err:
        s2s.jvp(arguments_that_act, (M,), (np.ones(3),))
    assert "st.gamma.logpdf(x, *args)" in str(err.value)


def test_a_name_of_the_function_is_not_the_module():
    def shadowed(m):
        st = {"norm": None}  # noqa: F841 - (a local `st`: `st.norm(...)` is no distribution here)
        return np.sum(m ** 2)
    np.testing.assert_allclose(s2s.grad(shadowed)(M), numeric_grad(shadowed, [M]), rtol=1e-6)
