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
    ("loggamma", (0.3, 5.0), False), ("exp1", (0.2, 3.0), False), ("spence", (0.1, 3.0), False),
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
        "scipy.special.gammainc", "scipy.special.gammaincc", "scipy.special.betainc", "scipy.special.multigammaln",
        "scipy.special.kl_div", "scipy.special.rel_entr", "scipy.special.huber", "scipy.special.pseudo_huber",
        "scipy.special.expn", "scipy.special.kv", "scipy.special.kve", "scipy.special.zeta", "scipy.special.hyp2f1",
        "scipy.special.gammasgn"}  # (gammasgn, derivative zero: tests/test_rules_autograd_gaps.py)
    assert names == tested


# ---- divergences and Huber losses: both arguments, broadcasting --------------------------------------------------


def f_divergences(x, y):
    return np.sum(sp.kl_div(x, y) * W23) + np.sum(sp.rel_entr(x, y) ** 2)


@pytest.mark.parametrize("shapes", PAIRS, ids=str)
def test_kl_div_rel_entr(shapes):
    x, y = _in(0.2, 2.0, shapes[0], 50), _in(0.2, 2.0, shapes[1], 51)
    g = check_scipy(f_divergences, x, y, wrt=(0, 1), ag=False, hessian=True)
    if shapes == ((2, 3), (2, 3)):  # the formulas: d/dx x log(x / y) - x + y = log(x / y), d/dy = 1 - x / y
        r = sp.rel_entr(x, y)
        np.testing.assert_allclose(g[0], W23 * np.log(x / y) + 2 * r * (np.log(x / y) + 1), rtol=1e-12)
        np.testing.assert_allclose(g[1], W23 * (1 - x / y) - 2 * r * x / y, rtol=1e-12)


def test_kl_div_rel_entr_at_x_zero():
    """SciPy's conventions: kl_div(0, y) = y and rel_entr(0, y) = 0 (y >= 0), so their slopes in y are 1 and 0 there;
    in x the slope is the one-sided log(0) = -inf (as entr's at 0)."""
    x, y = np.array([0.0, 0.5]), np.array([2.0, 1.5])
    gy = s2s.grad(lambda x, y: np.sum(sp.kl_div(x, y)), wrt=1)(x, y)
    np.testing.assert_allclose(gy, [1.0, 1.0 - 0.5 / 1.5])
    np.testing.assert_allclose(s2s.grad(lambda x, y: np.sum(sp.rel_entr(x, y)), wrt=1)(x, y), [0.0, -0.5 / 1.5])
    with np.errstate(divide="ignore"):
        gx = s2s.grad(lambda x, y: np.sum(sp.kl_div(x, y)), wrt=0)(x, y)
    assert gx[0] == -np.inf and gx[1] == pytest.approx(np.log(0.5 / 1.5))


def f_huber(delta, r):
    return np.sum(sp.huber(delta, r) * W23) + np.sum(sp.pseudo_huber(delta, r) ** 2)


@pytest.mark.parametrize("shapes", PAIRS, ids=str)
def test_huber_pseudo_huber(shapes):
    delta, r = _in(0.3, 1.5, shapes[0], 52), rng(53).normal(scale=1.5, size=shapes[1])
    gap = np.abs(np.abs(r) - delta)
    assert np.min(gap) > 1e-3  # (differences of the gradient step away from the kink |r| = delta)
    check_scipy(f_huber, delta, r, wrt=(0, 1), ag=False, hessian=True)


def test_huber_both_pieces_and_the_boundary():
    """r^2 / 2 inside |r| <= delta, delta (|r| - delta / 2) beyond: slopes r, 0 inside; delta sign(r), |r| - delta
    beyond; equal at |r| = delta (C^1). delta = 0 gives huber = 0 and the slope in delta from above, |r|."""
    delta, r = np.array([1.0, 1.0, 0.5, 0.5, 0.0]), np.array([0.4, -3.0, -0.5, 0.5, 2.0])
    gd, gr = s2s.grad(lambda d, r: np.sum(sp.huber(d, r)), wrt=(0, 1))(delta, r)
    np.testing.assert_array_equal(gd, [0.0, 2.0, 0.0, 0.0, 2.0])
    np.testing.assert_array_equal(gr, [0.4, -1.0, -0.5, 0.5, 0.0])


def test_pseudo_huber_formulas():
    """delta^2 (sqrt(1 + (r / delta)^2) - 1): slopes delta r / s and s + delta^2 / s - 2 delta (s = hypot(delta, r)),
    the latter without cancellation for small r (r^4 / (4 delta^3)) and |r| for large r; the curvature in r is 1 at
    r = 0."""
    delta, r = _in(0.3, 2.0, (2, 3), 54), rng(55).normal(size=(2, 3))
    s = np.hypot(delta, r)
    gd, gr = s2s.grad(lambda d, r: np.sum(sp.pseudo_huber(d, r) * W23), wrt=(0, 1))(delta, r)
    np.testing.assert_allclose(gd, W23 * (s + delta ** 2 / s - 2 * delta), rtol=1e-10)
    np.testing.assert_allclose(gr, W23 * delta * r / s, rtol=1e-12)
    small = s2s.grad(lambda d: sp.pseudo_huber(d, 1e-5))(2.0)
    assert small == pytest.approx(1e-20 / 32, rel=1e-9)  # (s + delta^2 / s - 2 delta gives 0 or noise)
    assert s2s.grad(lambda d: sp.pseudo_huber(d, 1e200))(1.0) == pytest.approx(1e200)
    assert s2s.hessian(lambda r: sp.pseudo_huber(1.5, r))(0.0) == pytest.approx(1.0)


# ---- exponential integrals, the dilogarithm, K_v, Hurwitz zeta, 2F1: in x / z / q, not in the other parameters ----


def f_kv(z):
    return np.sum(sp.kv(1.5, z) * W3) + np.sum(sp.kve(np.array([0.0, 1.0, -2.5]), z) ** 2) + np.sum(sp.kv(2, z * z))


def f_expn(x):
    return np.sum(sp.expn(2, x) * W3) + np.sum(sp.expn(np.array([0, 1, 3]), x) ** 2) + np.sum(sp.exp1(x * x))


def f_zeta(q):
    return np.sum(sp.zeta(np.array([1.5, 2.0, 3.5]), q) * W3) + np.sum(sp.zeta(2.0, q * q) ** 2)


def f_hyp2f1(z):
    return np.sum(sp.hyp2f1(0.5, 1.5, np.array([2.5, 3.0, 1.2]), z) * W3) + np.sum(sp.hyp2f1(1.0, -0.5, 2.0, z) ** 2)


@pytest.mark.parametrize("f,domain", [(f_kv, (0.3, 3.0)), (f_expn, (0.2, 3.0)), (f_zeta, (0.4, 3.0)),
                                      (f_hyp2f1, (-2.0, 0.8))], ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize("shape", [(3,), (2, 3)], ids=str)
def test_in_the_argument_not_the_order(f, domain, shape):
    check_scipy(f, _in(*domain, shape, 60), ag=False, hessian=True)


def f_orders_broadcast(z):
    v = np.array([[0.5], [2.0]])  # (2, 1) orders against a (3,) argument: z's adjoint sums over the rows
    return np.sum(sp.kv(v, z) * W23 + sp.kve(v, z) + sp.expn(np.array([[1], [4]]), z) + sp.zeta(v + 1.5, z) +
                  sp.hyp2f1(v, 1.0, 3.0, z / 4.0))


def test_orders_broadcast_against_the_argument():
    check_scipy(f_orders_broadcast, _in(0.3, 2.0, (3,), 61), ag=False, hessian=True)


def test_formulas_of_the_argument_slopes():
    x = _in(0.3, 2.5, (4,), 62)
    v, a, b, c, s = 1.3, 0.7, -1.2, 2.2, 2.5
    cases = [(lambda t: sp.kv(v, t), -0.5 * (sp.kv(v - 1, x) + sp.kv(v + 1, x))),
             (lambda t: sp.kve(v, t), sp.kve(v, x) - 0.5 * (sp.kve(v - 1, x) + sp.kve(v + 1, x))),
             (lambda t: sp.exp1(t), -np.exp(-x) / x), (lambda t: sp.expn(3, t), -sp.expn(2, x)),
             (lambda t: sp.expn(0, t), -np.exp(-x) * (1 + x) / x ** 2), (lambda t: sp.zeta(s, t), -s * sp.zeta(s + 1, x)),
             (lambda t: sp.hyp2f1(a, b, c, t / 3), a * b / c * sp.hyp2f1(a + 1, b + 1, c + 1, x / 3) / 3),
             (lambda t: sp.spence(t), np.log(x) / (1 - x))]
    for f, expected in cases:
        np.testing.assert_allclose(s2s.grad(lambda t: np.sum(f(t)))(x), expected, rtol=1e-12)


def test_expn_at_zero_and_its_integer_order():
    """E_n(0) = 1 / (n - 1) for n >= 2, and E_n' = -E_{n-1}: -1 / (n - 2) at 0, -inf for n = 2; E_0 = exp(-x) / x.
    The order n is an integer (SciPy truncates a float one): derivative zero, not refused."""
    assert s2s.grad(lambda x: sp.expn(4, x))(0.0) == pytest.approx(-0.5)
    assert s2s.grad(lambda x: sp.expn(2, x))(0.0) == -np.inf
    assert s2s.hessian(lambda x: sp.expn(4, x))(0.0) == pytest.approx(1.0)
    assert s2s.grad(lambda x: sp.expn(0, x))(1.0) == pytest.approx(-2 * np.exp(-1.0))
    assert s2s.grad(lambda n, x: sp.expn(n, x) * x, wrt=0)(2, 1.5) == 0.0
    with warnings.catch_warnings():  # (a float n: SciPy truncates it, and says so)
        warnings.simplefilter("ignore", RuntimeWarning)
        g = s2s.grad(lambda n, x: np.sum(sp.expn(n, x)), wrt=(0, 1))(np.array([1.0, 2.7]), 1.5)
    np.testing.assert_array_equal(g[0], [0.0, 0.0])
    assert g[1] == pytest.approx(-sp.expn(0, 1.5) - sp.expn(1, 1.5))
    # (helper 195: n = 0.5 is n = 0 to SciPy, whose slope has E_0's own term; E_1's slope at 0 is -inf, not NaN)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert s2s.grad(lambda x: sp.expn(0.5, x))(0.7) == pytest.approx(s2s.grad(lambda x: sp.expn(0, x))(0.7))
    assert s2s.grad(lambda x: sp.expn(1, x))(0.0) == -np.inf


def test_spence_at_one():
    """spence(z) = the integral of log(t) / (1 - t) from 1 to z: the slope log(z) / (1 - z) is -1 at z = 1, where
    the series -1 + u/2 - u^2/3 + ... (u = z - 1) takes over, and gives the curvature 1/2 there."""
    assert s2s.grad(sp.spence)(1.0) == -1.0
    assert s2s.hessian(sp.spence)(1.0) == pytest.approx(0.5, rel=1e-12)
    for u in (5e-5, -5e-5, 2e-4, -2e-4, 1e-8):  # inside and outside the series' band |u| < 1e-4
        z = 1.0 + u
        assert s2s.grad(sp.spence)(z) == pytest.approx(np.log(z) / (1 - z), rel=1e-13)
        curvature = 0.5 - 2 * u / 3 + 0.75 * u * u - 0.8 * u ** 3
        assert s2s.hessian(sp.spence)(z) == pytest.approx(curvature, rel=1e-7)
    check_scipy(lambda z: np.sum(sp.spence(z) * W3), np.array([1.0, 1.00003, 0.9999]), ag=False, hessian=True)


def _kv_order(v, z):
    return np.sum(sp.kv(v, z))


def _kve_order(v, z):
    return np.sum(sp.kve(v, z))


def _zeta_x(x, q):
    return np.sum(sp.zeta(x, q))


def _riemann_zeta(x, q):
    return np.sum(sp.zeta(x) * q)


def _hyp2f1_a(a, z):
    return np.sum(sp.hyp2f1(a, 1.0, 2.0, z))


def _hyp2f1_b(b, z):
    return np.sum(sp.hyp2f1(0.5, b, 2.0, z))


def _hyp2f1_c(c, z):
    return np.sum(sp.hyp2f1(0.5, 1.0, c, z))


@pytest.mark.parametrize("f,name", [(_kv_order, "v"), (_kve_order, "v"), (_zeta_x, "x"), (_riemann_zeta, "x"),
                                    (_hyp2f1_a, "a"), (_hyp2f1_b, "b"), (_hyp2f1_c, "c")],
                         ids=lambda v: getattr(v, "__name__", v))
def test_parameters_without_a_closed_form_derivative_are_refused(f, name):
    """The order of K_v, zeta's x and 2F1's a, b, c have no closed-form derivative: refused, not zero, where
    differentiated (forward mode too), while the other argument is differentiated."""
    with pytest.raises(s2s.NoDerivativeRuleError, match=f"'{name}'"):
        s2s.grad(f, wrt=0)(1.5, np.array([0.3, 0.6]))
    with pytest.raises(s2s.NoDerivativeRuleError, match=f"'{name}'"):
        s2s.jvp(f, (1.5, np.array([0.3, 0.6])), (1.0, np.zeros(2)))
    assert np.all(np.isfinite(s2s.grad(f, wrt=1)(1.5, np.array([0.3, 0.6]))))


def test_yv_directly():
    check_scipy(lambda x: np.sum(sp.yv(0.5, x) * W3), _in(0.5, 3.0, (3,), 40), ag=False, hessian=True)


def test_no_warning_noise():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s2s.grad(lse_axis0)(rng(41).normal(size=(2, 3)))
