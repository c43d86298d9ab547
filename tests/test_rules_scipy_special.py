"""Rules for scipy.special: gradients against central differences and autograd.scipy.special,
tangents (s2s.jvp) against directional differences, Hessians against differences of s2s.grad."""

import types
import warnings

import numpy as np
import pytest
from conftest import check_grad, rng

import s2s
import s2s.rules  # (s2s.rules.lookup below: the rules package is not imported by `import s2s` alone)

sp = pytest.importorskip("scipy.special", reason="the SciPy rules need SciPy (the scipy extra)")
st = pytest.importorskip("scipy.stats")
sl = pytest.importorskip("scipy.linalg")

W3 = rng(300).normal(size=3)
W23 = rng(301).normal(size=(2, 3))


def ag_twin(f):
    """`f` with np, sp, st and sl in its globals bound to autograd's (autograd.scipy's) modules."""
    import autograd.numpy as anp
    import autograd.scipy.linalg as asl
    import autograd.scipy.special as asp
    import autograd.scipy.stats as ast_
    glb = dict(f.__globals__)
    glb.update(np=anp, sp=asp, st=ast_, sl=asl)
    return types.FunctionType(f.__code__, glb, f.__name__, f.__defaults__, f.__closure__)


def check_scipy(f, *args, wrt=0, ag=True, jvp=True, hessian=False, rtol=1e-5, atol=1e-6):
    """s2s.grad against differences (and autograd where `ag`), s2s.jvp against directional differences,
    and where `hessian`, s2s.hessian against differences of s2s.grad. Returns the gradient."""
    got = check_grad(f, *args, wrt=wrt, rtol=rtol, atol=atol, ag=ag_twin(f) if ag else False)
    wrts = wrt if isinstance(wrt, tuple) else (wrt,)
    if jvp:
        tangents = [None] * len(args)
        for i, w in enumerate(wrts):
            tangents[w] = rng(400 + i).normal(size=np.shape(args[w])) if np.ndim(args[w]) else 0.7
        eps = 1e-6

        def along(s):
            return f(*[a if t is None else a + s * t for a, t in zip(args, tangents)])
        _, tangent = s2s.jvp(f, tuple(args), tuple(tangents))
        expected = (along(eps) - along(-eps)) / (2 * eps)
        np.testing.assert_allclose(tangent, expected, rtol=max(rtol, 1e-5), atol=max(atol, 1e-6))
    if hessian:
        for w in wrts:
            h = np.asarray(s2s.hessian(f, wrt=w)(*args), dtype=float)
            grad = s2s.grad(f, wrt=w)
            x = np.asarray(args[w], dtype=float)
            expected = np.zeros(x.shape + x.shape)
            for idx in np.ndindex(x.shape):
                e = np.zeros_like(x)
                e[idx] = 1e-5
                plus = [a if i != w else x + e for i, a in enumerate(args)]
                minus = [a if i != w else x - e for i, a in enumerate(args)]
                expected[(Ellipsis,) + idx] = (np.asarray(grad(*plus)) - np.asarray(grad(*minus))) / 2e-5
            np.testing.assert_allclose(h.reshape(expected.shape), expected, rtol=1e-4, atol=1e-5)
    return got


def _in(lo, hi, shape, seed):
    x = rng(seed).uniform(lo, hi, size=shape)
    return x if shape != () else float(x)


# ---- one-argument functions: (name, domain, autograd has it) ----------------------------------

UNARY = [
    ("expit", (-3.0, 3.0), True), ("logit", (0.1, 0.9), True), ("erf", (-1.5, 1.5), True),
    ("erfc", (-1.5, 1.5), True), ("erfinv", (-0.9, 0.9), True), ("erfcinv", (0.1, 1.9), True),
    ("ndtr", (-2.0, 2.0), False), ("ndtri", (0.05, 0.95), False), ("log_ndtr", (-4.0, 3.0), False),
    ("gammaln", (0.3, 5.0), True), ("digamma", (0.3, 5.0), True), ("psi", (0.3, 5.0), True),
    ("gamma", (0.3, 3.0), True), ("rgamma", (0.3, 3.0), True), ("i0", (-2.0, 2.0), True),
    ("i1", (-2.0, 2.0), True), ("i0e", (0.1, 3.0), False), ("i1e", (-3.0, -0.1), False),
    ("j0", (0.1, 5.0), True), ("j1", (0.1, 5.0), True), ("y0", (0.3, 5.0), True), ("y1", (0.3, 5.0), True),
    ("log_expit", (-4.0, 4.0), False), ("softplus", (-4.0, 4.0), False), ("erfcx", (-1.0, 2.0), False),
    ("expm1", (-1.0, 1.0), False), ("log1p", (-0.5, 2.0), False), ("entr", (0.1, 2.0), False),
    ("loggamma", (0.3, 5.0), False),
]


def _unary(name):
    def f(x):
        return np.sum(getattr(sp, name)(x * 1.0) * W3)
    return f


def f_expit(x):
    return np.sum(sp.expit(x) * W3)


@pytest.mark.parametrize("name,domain,ag", UNARY, ids=[u[0] for u in UNARY])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)], ids=str)
def test_unary(name, domain, ag, shape):
    func = getattr(sp, name)
    assert s2s.rules.lookup(func) is not None, f"scipy.special.{name} has no rule"

    def f(x):
        return np.sum(func(x) * W3)
    x = _in(*domain, shape, seed=len(name))
    check_scipy(f, x, ag=False, hessian=shape == (3,))
    if ag:  # autograd's twin of the same computation
        import autograd.numpy as anp
        import autograd.scipy.special as asp
        twin_func = getattr(asp, name)
        import autograd
        expected = autograd.grad(lambda v: anp.sum(twin_func(v) * W3))(x)
        np.testing.assert_allclose(s2s.grad(f)(x), expected, rtol=1e-7, atol=1e-9)


def test_unary_through_the_module_name():
    """Written as a user writes it: `sp.expit(x)` resolved through the module alias."""
    x = _in(-2.0, 2.0, (3,), 1)
    check_scipy(f_expit, x, hessian=True)


def test_expit_float32_and_zero_d():
    x32 = np.array([0.3, -1.2, 2.0], dtype=np.float32)
    g = s2s.grad(f_expit)(x32)
    np.testing.assert_allclose(g, W3 * sp.expit(x32) * (1 - sp.expit(x32)), rtol=1e-5)
    g0 = s2s.grad(lambda x: sp.expit(x) * 2.0)(np.array(0.4))
    np.testing.assert_allclose(g0, 2.0 * sp.expit(0.4) * (1 - sp.expit(0.4)))


# ---- functions of an order and x, and of two arguments ------------------------------------------


def f_polygamma(x):
    return np.sum(sp.polygamma(2, x) * W3) + np.sum(sp.polygamma(0, x * x))


def f_jn(x):
    return np.sum(sp.jn(2, x) * W3 + sp.yn(1, x) + sp.jv(1.5, x))


def f_iv(x):
    return np.sum(sp.iv(1.5, x) * W3 + sp.ive(2, x))


@pytest.mark.parametrize("f,ag", [(f_polygamma, True), (f_jn, False), (f_iv, False)], ids=lambda v: getattr(v, "__name__", ""))
def test_order_and_x(f, ag):
    check_scipy(f, _in(0.5, 3.0, (3,), 7), ag=ag, hessian=True)


def test_jn_yn_against_autograd():
    def f(x):
        return np.sum(sp.jn(2, x) * W3 + sp.yn(1, x) + sp.iv(1, x))
    check_scipy(f, _in(0.5, 3.0, (3,), 8), ag=True)


def test_a_varied_order_is_refused():
    def f(v, x):
        return np.sum(sp.jv(v, x))
    with pytest.raises(s2s.NoDerivativeRuleError, match="'v'"):
        s2s.grad(f, wrt=0)(1.5, np.ones(3))


def f_beta(a, b):
    return np.sum(sp.beta(a, b) * W23) + np.sum(sp.betaln(a, b) ** 2)


def f_xlogy(x, y):
    return np.sum(sp.xlogy(x, y) * W23) + np.sum(sp.xlog1py(x, y) ** 2)


PAIRS = [((2, 3), (2, 3)), ((3,), (2, 3)), ((2, 3), ()), ((), (3,)), ((2, 1), (1, 3))]


@pytest.mark.parametrize("shapes", PAIRS, ids=str)
def test_beta_betaln(shapes):
    a, b = _in(0.5, 3.0, shapes[0], 11), _in(0.5, 3.0, shapes[1], 12)
    check_scipy(f_beta, a, b, wrt=(0, 1), ag=True)


@pytest.mark.parametrize("shapes", PAIRS, ids=str)
def test_xlogy_xlog1py(shapes):
    x, y = _in(-1.0, 2.0, shapes[0], 13), _in(0.3, 2.0, shapes[1], 14)
    check_scipy(f_xlogy, x, y, wrt=(0, 1), ag=False)


def test_xlogy_against_its_formula_and_hessian():
    x, y = _in(-1.0, 2.0, (3,), 15), _in(0.3, 2.0, (3,), 16)
    g = check_scipy(lambda x, y: np.sum(sp.xlogy(x, y) ** 2), x, y, wrt=(0, 1), ag=False, hessian=True)
    np.testing.assert_allclose(g[0], 2 * sp.xlogy(x, y) * np.log(y))


def test_beta_hessian():
    check_scipy(lambda a: np.sum(sp.beta(a, a * a + 1.0)) + np.sum(sp.betaln(a, 2.0)), _in(0.5, 2.0, (3,), 17),
                ag=True, hessian=True)


# ---- logsumexp, softmax, log_softmax --------------------------------------------------------------


def lse_all(x):
    return sp.logsumexp(x) * 1.5


def lse_axis0(x):
    return np.sum(sp.logsumexp(x, axis=0) * W3)


def lse_axis1_keep(x):
    return np.sum(sp.logsumexp(x, axis=1, keepdims=True) ** 2)


def lse_neg_axis(x):
    return np.sum(sp.logsumexp(x, -1) ** 2)


def lse_tuple_axis(x):
    return sp.logsumexp(x, axis=(0, 1)) ** 2


def lse_keep_all(x):
    return np.sum(sp.logsumexp(x, keepdims=True) * 2.0)


@pytest.mark.parametrize("f", [lse_all, lse_axis0, lse_axis1_keep, lse_neg_axis, lse_tuple_axis, lse_keep_all],
                         ids=lambda f: f.__name__)
def test_logsumexp_axis_keepdims(f):
    check_scipy(f, rng(20).normal(size=(2, 3)), ag=True, hessian=True)


def lse_b(x, b):
    return np.sum(sp.logsumexp(x, axis=1, b=b) * W3[:2])


def lse_b_keep(x, b):
    return np.sum(sp.logsumexp(x, axis=0, b=b, keepdims=True) ** 2)


def lse_b_all(x, b):
    return sp.logsumexp(x, b=b) ** 2


@pytest.mark.parametrize("f", [lse_b, lse_b_keep, lse_b_all], ids=lambda f: f.__name__)
@pytest.mark.parametrize("bshape", [(2, 3), (3,), (2, 1), ()], ids=str)
def test_logsumexp_with_b(f, bshape):
    x = rng(21).normal(size=(2, 3))
    b = _in(0.5, 2.0, bshape, 22)
    check_scipy(f, x, b, wrt=(0, 1), ag=False)  # autograd's logsumexp cannot trace a b of its own
    import autograd
    import autograd.numpy as anp
    twin = autograd.grad(lambda x: anp.sum(anp.log(anp.sum(b * anp.exp(x), axis=1)) * W3[:2]))
    if f is lse_b:  # the same sum written out, for autograd
        np.testing.assert_allclose(s2s.grad(f)(x, b), twin(x), rtol=1e-7, atol=1e-9)


def test_logsumexp_b_broadcasts_beyond_a():
    """b of more dimensions than a: the sum runs over the broadcast shape."""
    def f(x, b):
        return np.sum(sp.logsumexp(x, axis=1, b=b) ** 2)
    check_scipy(f, rng(23).normal(size=(3,)), _in(0.5, 2.0, (2, 3), 24), wrt=(0, 1), ag=False)


def test_logsumexp_b_hessian():
    b = _in(0.5, 2.0, (2, 3), 25)
    check_scipy(lambda x: np.sum(sp.logsumexp(x, axis=0, b=b) ** 2), rng(26).normal(size=(2, 3)), ag=False,
                hessian=True)


def test_logsumexp_keyword_a_and_b_passed_by_name():
    def f(x):
        return sp.logsumexp(a=x, b=x * x, axis=None)
    check_scipy(f, _in(0.5, 2.0, (4,), 27), ag=False)


def test_logsumexp_b_a_name_holding_none():
    def f(x):
        w = None
        return sp.logsumexp(x, b=w) * 2.0
    x = rng(28).normal(size=4)
    check_scipy(f, x, ag=False, hessian=True)
    np.testing.assert_allclose(s2s.grad(f)(x), 2.0 * sp.softmax(x))


def test_logsumexp_b_by_position():
    def f(x, b):
        return np.sum(sp.logsumexp(x, 1, b, True) ** 2)
    check_scipy(f, rng(29).normal(size=(2, 3)), _in(0.5, 2.0, (3,), 30), wrt=(0, 1), ag=False)


def test_logsumexp_return_sign_is_refused():
    def f(x):
        return sp.logsumexp(x, return_sign=True)[0]
    with pytest.raises(s2s.S2SError, match="return_sign"):
        s2s.grad(f)(np.ones(3))


def sm_axis1(x):
    return np.sum(sp.softmax(x, axis=1) * W23)


def sm_all(x):
    return np.sum(sp.softmax(x) * W23)


def lsm_axis0(x):
    return np.sum(sp.log_softmax(x, axis=0) * W23)


def lsm_all(x):
    return np.sum(sp.log_softmax(x) ** 2)


@pytest.mark.parametrize("f", [sm_axis1, sm_all, lsm_axis0, lsm_all], ids=lambda f: f.__name__)
def test_softmax_log_softmax(f):
    check_scipy(f, rng(30).normal(size=(2, 3)), ag=False, hessian=True)


def test_softmax_against_autograd_formula():
    import autograd
    import autograd.numpy as anp
    x = rng(31).normal(size=(2, 3))
    expected = autograd.grad(lambda v: anp.sum(anp.exp(v - asp_lse(v)) * W23))(x)
    np.testing.assert_allclose(s2s.grad(sm_axis1)(x), expected, rtol=1e-7, atol=1e-9)


def asp_lse(v):
    import autograd.scipy.special as asp
    return asp.logsumexp(v, axis=1, keepdims=True)


def f_incomplete(x):
    return np.sum(sp.gammainc(1.5, x * 3.0) * W3) + np.sum(sp.gammaincc(2.5, x) ** 2) + \
        np.sum(sp.betainc(2.0, 3.5, x / 3.0) * W3)


def test_incomplete_gamma_and_beta_in_the_upper_limit():
    check_scipy(f_incomplete, _in(0.2, 2.5, (3,), 41), ag=True, hessian=True)


def test_incomplete_gamma_shape_parameter_is_refused():
    with pytest.raises(s2s.NoDerivativeRuleError, match="'a'"):
        s2s.grad(lambda a: np.sum(sp.gammainc(a, 1.5)))(2.0)


def f_multigammaln(a):
    return np.sum(sp.multigammaln(a, 3) * W3[: np.size(a)]) if np.ndim(a) else sp.multigammaln(a, 3) ** 2


@pytest.mark.parametrize("shape", [(), (3,)], ids=str)
def test_multigammaln(shape):
    check_scipy(f_multigammaln, _in(2.0, 5.0, shape, 42), ag=True, hessian=shape == (3,))


def test_every_scipy_special_rule_is_tested_here():
    """A rule added to s2s/rules/scipy_special.py must join this file (each name here calls its rule)."""
    from s2s.rules import scipy_special  # noqa: F401
    names = {r.name for r in s2s.rules._RULES.values() if r.name.startswith("scipy.special.")}
    tested = {f"scipy.special.{u[0]}" for u in UNARY if u[0] != "psi"} | {
        "scipy.special.polygamma", "scipy.special.jv", "scipy.special.yn", "scipy.special.iv", "scipy.special.ive",
        "scipy.special.yv", "scipy.special.beta", "scipy.special.betaln", "scipy.special.xlogy",
        "scipy.special.xlog1py", "scipy.special.logsumexp", "scipy.special.softmax", "scipy.special.log_softmax",
        "scipy.special.gammainc", "scipy.special.gammaincc", "scipy.special.betainc", "scipy.special.multigammaln"}
    assert names == tested


def test_yv_directly():
    check_scipy(lambda x: np.sum(sp.yv(0.5, x) * W3), _in(0.5, 3.0, (3,), 40), ag=False, hessian=True)


def test_no_warning_noise():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s2s.grad(lse_axis0)(rng(41).normal(size=(2, 3)))
