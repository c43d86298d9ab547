"""Rules for np.average, np.convolve, np.correlate, np.trapezoid, np.polyval, np.cov and
np.linalg.matrix_power (s2s/rules/signal.py, matrix_functions.py; scipy.linalg.expm's, written the same
way, is tested in tests/test_rules_scipy_linalg.py).

Each gradient is compared with central finite differences and with autograd where autograd has the function;
each tangent (s2s.jvp) with a finite-difference directional derivative in every differentiated argument; each
Hessian (s2s.hessian) with central differences of s2s.grad. Random shapes and values come from fixed seeds.
"""

import autograd.numpy as anp
import numpy as np
import pytest
from conftest import check_grad, rng

import s2s
from s2s.errors import S2SError


def _jvp_check(f, args, wrt, rtol=1e-5, atol=1e-6, eps=1e-6):
    for i in wrt:
        t = rng(99 + i).normal(size=np.shape(args[i]))
        tangents = tuple(t if j == i else None for j in range(len(args)))
        _, got = s2s.jvp(f, tuple(args), tangents)
        plus = [a + eps * t if j == i else a for j, a in enumerate(args)]
        minus = [a - eps * t if j == i else a for j, a in enumerate(args)]
        expected = (f(*plus) - f(*minus)) / (2 * eps)
        np.testing.assert_allclose(np.asarray(got, dtype=float), expected, rtol=rtol, atol=atol,
                                   err_msg=f"tangent in argument {i}")


def _hessian_check(f, args, i, eps=1e-5):
    """s2s.hessian of f in argument i against central differences of s2s.grad."""
    x = np.asarray(args[i], dtype=float)
    grad = s2s.grad(f, wrt=i)

    def g(v):
        return grad(*[v if j == i else a for j, a in enumerate(args)])
    expected = np.zeros(x.shape + x.shape)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        expected[(Ellipsis,) + idx] = (g(x + e) - g(x - e)) / (2 * eps)
    got = s2s.hessian(f, wrt=i)(*args)
    np.testing.assert_allclose(np.asarray(got, dtype=float), expected, rtol=1e-5, atol=1e-6)


def check_all(f, *args, wrt=(0,), ag=None, hessian=True):
    check_grad(f, *args, wrt=wrt, ag=ag)
    _jvp_check(f, args, wrt)
    if hessian:
        for i in wrt:
            _hessian_check(f, args, i)


def _shape(seed, ndim):
    return tuple(int(n) for n in rng(seed).integers(2, 5, size=ndim))


# ---- np.average ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1)], ids=str)
def test_average_weights_like_a(seed, axis):
    shape = _shape(seed, 3 if axis == (0, 1) else 2)
    a, w = rng(seed + 10).normal(size=shape), rng(seed + 20).uniform(0.5, 2.0, size=shape)
    wout = rng(seed + 30).normal(size=np.shape(np.average(a, axis=axis)))

    def f(a, w):
        return np.sum(np.average(a, axis=axis, weights=w) * wout) + np.sum(np.average(a * a, axis=axis) * wout)

    def twin(a, w):  # autograd's np.average has no derivative: its formula
        return anp.sum(anp.sum(a * w, axis=axis) / anp.sum(w, axis=axis) * wout) + anp.sum(anp.mean(a * a, axis=axis) * wout)
    check_all(f, a, w, wrt=(0, 1), ag=twin)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_average_one_d_weights_along_axis(seed, axis):
    shape = _shape(seed, 3)
    a, w = rng(seed + 10).normal(size=shape), rng(seed + 20).uniform(0.5, 2.0, size=shape[axis])
    wout = rng(seed + 30).normal(size=np.shape(np.average(a, axis=axis)))

    def f(a, w):
        return np.sum(np.average(a, axis, w) ** 2 * wout)

    def twin(a, w):
        along = [1, 1, 1]
        along[axis] = -1
        w = anp.reshape(w, along)
        return anp.sum((anp.sum(a * w, axis=axis) / anp.sum(w + 0.0 * a, axis=axis)) ** 2 * wout)
    check_all(f, a, w, wrt=(0, 1), ag=twin)


def test_average_keepdims_and_no_weights():
    a = rng(40).normal(size=(3, 4))

    def f(a):
        return np.sum(np.average(np.sin(a), axis=1, keepdims=True) * a) + np.average(a ** 3)
    check_all(f, a, ag=False)  # autograd's average has no keepdims


def test_average_returned_is_refused():
    def f(a):
        avg, total = np.average(a, weights=a * a, returned=True)
        return avg
    with pytest.raises(S2SError, match="returned"):
        s2s.grad(f)(np.ones(3))


# ---- np.convolve, np.correlate --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", ["full", "valid", "same"])
@pytest.mark.parametrize("n,m", [(5, 3), (3, 5), (4, 4), (6, 1), (1, 4), (2, 5)], ids=str)
def test_convolve_correlate(fn, mode, n, m):
    op = getattr(np, fn)  # (autograd's twin runs NumPy's own function on arrays of its boxes)
    a, v = rng(n * 10 + m).normal(size=n), rng(n * 10 + m + 1).normal(size=m)
    wout = rng(m * 10 + n).normal(size=op(a, v, mode).shape)

    def f(a, v):
        return np.sum(op(a, v, mode=mode) * wout) + np.sum(op(np.sin(a), v * v, mode) ** 2)
    check_all(f, a, v, wrt=(0, 1))


def test_correlate_default_mode_and_scalar():
    def f(a, v):
        return np.sum(np.correlate(a, v) ** 2) + np.sum(np.convolve(a, 2.0 * v[0]) ** 2)
    check_all(f, rng(80).normal(size=6), rng(81).normal(size=3), wrt=(0, 1), ag=False)  # autograd: no correlate VJP


def test_convolve_bad_mode_is_refused():
    def f(a, v, mode):
        return np.sum(np.convolve(a, v, mode))
    with pytest.raises((S2SError, ValueError)):
        s2s.grad(f)(np.ones(3), np.ones(2), 2)


# ---- np.trapezoid ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("axis", [0, -1, 1])
def test_trapezoid_x_like_y(seed, axis):
    y = rng(seed + 90).normal(size=_shape(seed, 3))
    x = np.cumsum(rng(seed + 91).uniform(0.2, 1.0, size=y.shape), axis=axis)
    wout = rng(seed + 92).normal(size=np.shape(np.trapezoid(y, x, axis=axis)))

    def f(y, x):
        return np.sum(np.trapezoid(y * y, x, axis=axis) * wout) + np.sum(np.trapezoid(np.sin(y), x=x * x, axis=axis))
    check_all(f, y, x, wrt=(0, 1), ag=False)  # autograd has no trapezoid


@pytest.mark.parametrize("axis", [0, -1])
def test_trapezoid_one_d_x_and_dx(axis):
    y = rng(93).normal(size=(4, 5))
    x = np.cumsum(rng(94).uniform(0.2, 1.0, size=y.shape[axis]))
    wout = rng(95).normal(size=y.shape[1 - axis % 2])

    def f(y, x, dx):
        return np.sum(np.trapezoid(y ** 3, x, axis=axis) * wout) + np.sum(np.trapezoid(y, dx=dx * dx, axis=axis) ** 2)
    check_all(f, y, x, 0.7, wrt=(0, 1, 2), ag=False)


# ---- np.polyval ----------------------------------------------------------------------------------------------------

def _horner(p, x):
    y = 0.0 * x
    for i in range(len(p)):
        y = y * x + p[i]
    return y


@pytest.mark.parametrize("deg", [0, 1, 2, 4])
@pytest.mark.parametrize("xshape", [(), (5,), (2, 3)], ids=str)
def test_polyval(deg, xshape):
    p, x = rng(deg + 100).normal(size=deg + 1), rng(deg + 101).normal(size=xshape)
    wout = rng(102).normal(size=xshape)

    def f(p, x):
        return np.sum(np.polyval(p, x) * wout) + np.sum(np.polyval(p * p, np.sin(x)) ** 2)

    def twin(p, x):  # autograd has no derivative of polyval: Horner's scheme, as NumPy computes it
        return anp.sum(_horner(p, x) * wout) + anp.sum(_horner(p * p, anp.sin(x)) ** 2)
    check_all(f, p, x, wrt=(0, 1), ag=twin)


def test_polyval_at_zero_and_refused_poly1d():
    def f(p, x):
        return np.sum(np.polyval(p, x) ** 2)
    check_all(f, np.array([1.5, -2.0, 0.5]), np.array([0.0, 1.0]), wrt=(0, 1),
              ag=lambda p, x: anp.sum(_horner(p, x) ** 2))

    def g(x):
        return np.polyval(np.poly1d([1.0, 2.0]), x)
    with pytest.raises(S2SError, match="polyval"):
        s2s.grad(g)(0.5)


# ---- np.cov --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3, 5), (2, 4), (6,), (1, 5)], ids=str)
@pytest.mark.parametrize("rowvar", [True, False])
@pytest.mark.parametrize("bias,ddof", [(False, None), (True, None), (False, 2)], ids=str)
def test_cov(shape, rowvar, bias, ddof):
    m = rng(sum(shape) + 110).normal(size=shape)
    m = m if rowvar else m.T  # (observations along the other axis)
    wout = rng(111).normal(size=np.shape(np.cov(m, rowvar=rowvar, bias=bias, ddof=ddof)))

    def f(m):
        return np.sum(np.cov(m, rowvar=rowvar, bias=bias, ddof=ddof) * wout) + np.sum(np.cov(np.sin(m), None, rowvar) ** 2)
    check_all(f, m, ag=False)


def test_cov_against_autograd():
    def f(m):
        return np.sum(np.cov(m) ** 2) + np.sum(np.cov(m, bias=True) * m[:, :3])

    def twin(m):  # autograd has no derivative of cov: its formula
        c = m - anp.mean(m, axis=1, keepdims=True)
        return anp.sum((c @ c.T / 3.0) ** 2) + anp.sum(c @ c.T / 4.0 * m[:, :3])
    check_grad(f, rng(112).normal(size=(3, 4)), ag=twin)


def _cov_y(m):
    return np.sum(np.cov(m, np.ones(4)))


def _cov_aweights(m):
    return np.sum(np.cov(m, aweights=np.ones(4)))


def _cov_fweights(m):
    return np.sum(np.cov(m, fweights=np.ones(4, int)))


def _cov_dtype(m):
    return np.sum(np.cov(m, dtype=np.float64))


@pytest.mark.parametrize("f,keyword", [(_cov_y, "y"), (_cov_aweights, "aweights"), (_cov_fweights, "fweights"),
                                       (_cov_dtype, "dtype")], ids=lambda v: v if isinstance(v, str) else "")
def test_cov_other_keywords_refused(f, keyword):
    with pytest.raises(S2SError, match=f"np.cov\\(\\) is differentiated only with {keyword}=None"):
        s2s.grad(f)(np.ones((2, 4)))


# ---- np.linalg.matrix_power, scipy.linalg.expm: the block-matrix Fréchet derivative -----------------------------------

def _ag_power(a, n):
    b = a if n >= 0 else anp.linalg.inv(a)
    out = anp.eye(a.shape[-1]) + 0.0 * a
    for _ in range(abs(n)):
        out = out @ b
    return out


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, -1, -2])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_matrix_power(n, k):
    a = rng(120 + k).normal(size=(k, k)) * 0.6 + (1.5 * np.eye(k) if n < 0 else 0.0)
    wout = rng(121).normal(size=(k, k))

    def f(a):
        return np.sum(np.linalg.matrix_power(a, n) * wout) + np.sum(np.linalg.matrix_power(a @ a.T, n) ** 2)

    def twin(a):  # autograd has no derivative of matrix_power: products (of the inverse for n < 0)
        return anp.sum(_ag_power(a, n) * wout) + anp.sum(_ag_power(a @ a.T, n) ** 2)
    check_all(f, a, ag=twin)


def test_matrix_power_batched_and_n_held_in_a_variable():
    a = rng(122).normal(size=(2, 3, 3)) * 0.5
    wout = rng(123).normal(size=(2, 3, 3))

    def f(a, n):
        return np.sum(np.linalg.matrix_power(a, n) * wout)
    check_all(f, a, 4, ag=False)
