"""Rules for scipy.linalg: solve_triangular, cho_factor/cho_solve, cholesky, sqrtm, solve_sylvester, against central
differences of SciPy's own functions (which read one triangle) and autograd; tangents; Hessians."""

import numpy as np
import pytest
from conftest import rng
from test_rules_scipy_special import check_scipy

import s2s

sl = pytest.importorskip("scipy.linalg", reason="the SciPy rules need SciPy (the scipy extra)")

W33 = rng(600).normal(size=(3, 3))
W32 = rng(601).normal(size=(3, 2))


def _tri(lower, seed):
    a = rng(seed).normal(size=(3, 3)) + 4.0 * np.eye(3)
    return np.tril(a) if lower else np.triu(a)


def _spd(n, seed):
    a = rng(seed).normal(size=(n, n))
    return a @ a.T + n * np.eye(n)


@pytest.mark.parametrize("trans", [0, 1, 2, "N", "T", "C"])
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("unit", [False, True])
@pytest.mark.parametrize("bshape", [(3,), (3, 2)], ids=str)
def test_solve_triangular(trans, lower, unit, bshape):
    def f(a, b):
        x = sl.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit)
        return np.sum(x * (W32 if x.ndim == 2 else W32[:, 0])) + np.sum(x * x)
    # a full matrix: the triangle not read (and a unit diagonal) gets no gradient, as differences see
    a = rng(602).normal(size=(3, 3)) + 4.0 * np.eye(3)
    check_scipy(f, a, rng(603).normal(size=bshape), wrt=(0, 1), ag=False)


def test_solve_triangular_against_autograd():
    def f(a, b):
        return np.sum(sl.solve_triangular(a, b, 1, True) * W32)
    a, b = _tri(True, 604), rng(605).normal(size=(3, 2))
    g = check_scipy(f, a, b, wrt=(0, 1), ag=False)
    import autograd
    from test_rules_scipy_special import ag_twin
    np.testing.assert_allclose(g[1], autograd.grad(ag_twin(f), 1)(a, b), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(g[0], np.tril(autograd.grad(ag_twin(f), 0)(a, b)), rtol=1e-7, atol=1e-9)


def test_solve_triangular_positional_and_hessian():
    b = rng(606).normal(size=3)
    check_scipy(lambda a: np.sum(sl.solve_triangular(a, b, 0, True) ** 2), _tri(True, 607), ag=False, hessian=True)
    a = _tri(False, 608)
    check_scipy(lambda b: np.sum(sl.solve_triangular(a, b * b, trans="T") ** 2), b, ag=False, hessian=True)


@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("bshape", [(3,), (3, 2)], ids=str)
def test_cho_factor_cho_solve(lower, bshape):
    def f(a, b):
        c = sl.cho_factor(a, lower=lower)
        x = sl.cho_solve(c, b)
        return np.sum(x * (W32 if x.ndim == 2 else W32[:, 0]))
    # a symmetric a: the gradient is in the triangle cho_factor reads, as differences of SciPy's function see
    check_scipy(f, _spd(3, 609), rng(610).normal(size=bshape), wrt=(0, 1), ag=False)


def test_cho_solve_matches_autograd_solve_on_a_symmetric_parameterisation():
    def f(p, b):
        a = p @ p.T + 3.0 * np.eye(3)
        return np.sum(sl.cho_solve(sl.cho_factor(a), b) * W32)

    def twin(p, b):
        import autograd.numpy as anp
        a = anp.dot(p, p.T) + 3.0 * anp.eye(3)
        return anp.sum(anp.linalg.solve(a, b) * W32)
    import autograd
    p, b = rng(611).normal(size=(3, 3)), rng(612).normal(size=(3, 2))
    g = check_scipy(f, p, b, wrt=(0, 1), ag=False)
    for i in (0, 1):
        np.testing.assert_allclose(g[i], autograd.grad(twin, i)(p, b), rtol=1e-7, atol=1e-9)


def test_cho_factor_alone():
    """The factor itself, both triangles (the other one is a copy of a's), lower and upper."""
    for lower in (True, False):
        def f(a):
            c, low = sl.cho_factor(a, lower=lower)
            return np.sum(c * W33)
        check_scipy(f, _spd(3, 613), ag=False)


def test_cho_factor_unpacked_and_repacked():
    def f(a, b):
        c, low = sl.cho_factor(a, True)
        return np.sum(sl.cho_solve((c, low), b) ** 2)
    check_scipy(f, _spd(3, 614), rng(615).normal(size=3), wrt=(0, 1), ag=False)


@pytest.mark.parametrize("lower", [False, True])
def test_cholesky_hessians(lower):
    b = rng(620).normal(size=3)

    def in_a(a):
        return np.sum(sl.cho_solve(sl.cho_factor(a, lower=lower), b) ** 2)

    def factor_only(a):
        c, low = sl.cho_factor(a, lower)
        return np.sum(c ** 3 * W33)

    def in_b(v):
        return np.sum(sl.cho_solve(sl.cho_factor(_spd(3, 621), lower), v * v) ** 2)
    check_scipy(in_a, _spd(3, 622), ag=False, hessian=True)
    check_scipy(factor_only, _spd(3, 623), ag=False, hessian=True)
    check_scipy(in_b, b, ag=False, hessian=True)


def test_sqrtm():
    def f(a):
        return np.sum(sl.sqrtm(a) * W33)
    check_scipy(f, _spd(3, 616), ag=True, hessian=True)


def test_solve_sylvester():
    def f(a, b, q):
        return np.sum(sl.solve_sylvester(a, b, q) * W33)
    a, b, q = _spd(3, 617), _spd(3, 618), rng(619).normal(size=(3, 3))
    check_scipy(f, a, b, q, wrt=(0, 1, 2), ag=True)
    check_scipy(lambda q: np.sum(sl.solve_sylvester(a, b, q * q) ** 2), q, ag=False, hessian=True)


@pytest.mark.parametrize("lower", [False, True])
def test_cholesky(lower):
    def f(a):
        return np.sum(sl.cholesky(a, lower=lower) * W33) + np.sum(np.log(np.diag(sl.cholesky(a, lower))))
    # not symmetric: SciPy reads one triangle (the upper one by default), and differences see only that one
    a = _spd(3, 624) + np.triu(rng(625).normal(size=(3, 3)), 1) * 0.5
    check_scipy(f, a, ag=False, hessian=True)


def test_cholesky_against_autograd_on_the_lower_triangle():
    import autograd
    import autograd.numpy as anp

    def f(a):
        return np.sum(sl.cholesky(a, lower=True) ** 2 * W33)

    def twin(a):  # (autograd's scipy.linalg.cholesky has no derivative; NumPy's reads the same triangle)
        return anp.sum(anp.linalg.cholesky(a) ** 2 * W33)
    a = _spd(3, 626)
    sym = autograd.grad(twin)(a)  # autograd's is symmetric: folded onto the lower triangle it is the same
    np.testing.assert_allclose(s2s.grad(f)(a), np.tril(sym + sym.T) - np.diag(np.diag(sym)), rtol=1e-7, atol=1e-9)


def test_cholesky_of_a_gaussian_process_kernel():
    # a GP's negative log marginal likelihood in its hyperparameters, as published GP regression examples write it
    x = rng(627).uniform(1.0, 5.0, size=(6, 1))
    y = np.sin(x) + 0.1 * rng(628).normal(size=(6, 1))

    def nll(log_amp, log_ls):
        d = (x - x.T) / np.exp(log_ls)
        chol = sl.cholesky(np.exp(log_amp) * np.exp(-0.5 * d ** 2) + 0.1 * np.eye(6), lower=True)
        alpha = sl.solve_triangular(chol.T, sl.solve_triangular(chol, y, lower=True))
        return 0.5 * np.sum(y * alpha) + np.sum(np.log(np.diag(chol)))
    check_scipy(nll, 0.3, -0.2, wrt=(0, 1), ag=False, hessian=True)


@pytest.mark.parametrize("bshape", [(3,), (3, 2)], ids=str)
def test_solve_inv_det_of_a_general_matrix(bshape):
    def f(a, b):
        x = sl.solve(a, b)
        return np.sum(x * (W32 if x.ndim == 2 else W32[:, 0])) + np.sum(sl.inv(a) * W33) + sl.det(a) ** 2
    a, b = rng(629).normal(size=(3, 3)) + 3.0 * np.eye(3), rng(630).normal(size=bshape)
    g = check_scipy(f, a, b, wrt=(0, 1), ag=False, hessian=True)
    import autograd
    import autograd.numpy as anp

    def twin(a, b):  # (autograd's scipy.linalg has no solve, inv, det: NumPy's are the same functions)
        x = anp.linalg.solve(a, b)
        return anp.sum(x * (W32 if x.ndim == 2 else W32[:, 0])) + anp.sum(anp.linalg.inv(a) * W33) + \
            anp.linalg.det(a) ** 2
    for i in (0, 1):
        np.testing.assert_allclose(g[i], autograd.grad(twin, i)(a, b), rtol=1e-7, atol=1e-9)


def solve_pos(a, b):
    return np.sum(sl.solve(a, b, assume_a="pos") * W32)


def solve_pos_lower(a, b):
    return np.sum(sl.solve(a, b, assume_a="pos", lower=True) * W32)


def solve_sym(a, b):
    return np.sum(sl.solve(a, b, assume_a="sym") ** 2)


def solve_positive_definite_lower(a, b):
    return np.sum(sl.solve(a, b, lower=True, assume_a="positive definite") * W32)


@pytest.mark.parametrize("f", [solve_pos, solve_pos_lower, solve_sym, solve_positive_definite_lower],
                         ids=lambda f: f.__name__)
def test_solve_of_a_symmetric_matrix_reads_one_triangle(f):
    # not symmetric: SciPy reads the triangle named by lower, and differences see only that one
    a = _spd(3, 631) + np.triu(rng(632).normal(size=(3, 3)), 1) * 0.4
    check_scipy(f, a, rng(633).normal(size=(3, 2)), wrt=(0, 1), ag=False, hessian=True)


def test_solve_with_other_structures_is_refused():
    def banded(a, b):
        return np.sum(sl.solve(a, b, assume_a="diagonal"))

    def given(a, b, kind):
        return np.sum(sl.solve(a, b, assume_a=kind))
    a, b = _spd(3, 634), np.ones(3)
    with pytest.raises(s2s.NoDerivativeRuleError):
        s2s.grad(banded)(a, b)
    with pytest.raises(s2s.NoDerivativeRuleError):
        s2s.grad(given)(a, b, "pos")  # (an assume_a not written as a literal)


def eigh_default(a):
    w, v = sl.eigh(a)
    return np.sum(w ** 2) + np.sum(np.abs(v[:, 0]) * W33[0])


def eigh_upper_values(a):
    return np.sum(sl.eigh(a, lower=False, eigvals_only=True) ** 3)


def eigh_upper(a):
    w, v = sl.eigh(a, lower=False)
    return np.sum((v * v) @ W33) + np.sum(np.sin(w))


@pytest.mark.parametrize("f", [eigh_default, eigh_upper_values, eigh_upper], ids=lambda f: f.__name__)
def test_eigh_reads_one_triangle(f):
    a = _spd(3, 635) + np.triu(rng(636).normal(size=(3, 3)), 1) * 0.5  # not symmetric: one triangle is read
    check_scipy(f, a, ag=False, hessian=True)


def test_eigh_against_numpy_eigh():
    import autograd
    import autograd.numpy as anp

    def twin(a):  # (autograd's scipy.linalg has no eigh; NumPy's reads the same lower triangle)
        w, v = anp.linalg.eigh(a)
        return anp.sum(w ** 2) + anp.sum(anp.abs(v[:, 0]) * W33[0])
    a = _spd(3, 637)
    sym = autograd.grad(twin)(a)
    np.testing.assert_allclose(s2s.grad(eigh_default)(a), np.tril(sym + sym.T) - np.diag(np.diag(sym)),
                               rtol=1e-6, atol=1e-8)


def test_generalized_eigh_is_refused():
    def f(a):
        return np.sum(sl.eigh(a, np.eye(3))[0])
    with pytest.raises(s2s.S2SError, match="b=None"):
        s2s.grad(f)(_spd(3, 638))


def test_every_scipy_linalg_rule_is_tested_here():
    import s2s.rules  # (run alone, nothing may have imported the rules yet)
    names = {r.name for r in s2s.rules._RULES.values() if r.name.startswith("scipy.linalg.")}
    assert names == {"scipy.linalg.solve_triangular", "scipy.linalg.cho_factor", "scipy.linalg.cho_solve",
                     "scipy.linalg.sqrtm", "scipy.linalg.solve_sylvester", "scipy.linalg.cholesky",
                     "scipy.linalg.expm", "scipy.linalg.solve", "scipy.linalg.inv", "scipy.linalg.det",
                     "scipy.linalg.eigh", "scipy.linalg.solve_banded"}  # (solve_banded: test_rules_autograd_gaps)


# ---- expm: the block-matrix Fréchet derivative (s2s/rules/scipy_matrix.py) -----------------------------------------

@pytest.mark.parametrize("k", [1, 2, 4])
@pytest.mark.parametrize("scale", [0.3, 2.0])
def test_expm(k, scale):
    a = rng(630 + k).normal(size=(k, k)) * scale
    wout = rng(631).normal(size=(k, k))

    def f(a):
        return np.sum(sl.expm(a) * wout) + np.sum(sl.expm(a.T @ a * 0.1) ** 2)
    check_scipy(f, a, ag=False, hessian=True)  # autograd's expm has no derivative: SciPy's own Fréchet derivative

    def g(a):
        return np.sum(sl.expm(a) * wout)
    np.testing.assert_allclose(s2s.grad(g)(a), sl.expm_frechet(a.T, wout, compute_expm=False), rtol=1e-10, atol=1e-12)


def test_expm_batched():
    a = rng(632).normal(size=(2, 3, 3))
    wout = rng(633).normal(size=(2, 3, 3))

    def f(a):
        return np.sum(sl.expm(a) * wout)
    check_scipy(f, a, ag=False, hessian=True)
