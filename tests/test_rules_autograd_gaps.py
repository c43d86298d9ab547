"""The real-valued primitives autograd had rules for and s2s lacked: np.fft.fftshift / ifftshift, np.partition,
np.astype, scipy.linalg.solve_banded, scipy.stats.multivariate_normal.entropy, scipy.special.gammasgn; each
against central differences, autograd where it has the case, tangents and Hessians. And the list itself: every
primitive of autograd's on a NumPy or SciPy function has an s2s rule, but the complex-valued ones."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from conftest import check_grad, numeric_grad, rng
from test_rules_scipy_special import check_scipy

import s2s
from s2s import rules

sl = pytest.importorskip("scipy.linalg", reason="the SciPy rules need SciPy (the scipy extra)")
st = pytest.importorskip("scipy.stats")
sp = pytest.importorskip("scipy.special")

W45 = rng(2100).normal(size=(4, 5))
W5 = W45[0]


# ---- np.fft.fftshift / ifftshift -------------------------------------------------------------------------------

@pytest.mark.parametrize("axes", [None, 0, 1, (0, 1), -1])
def test_fftshift_and_ifftshift(axes):
    def f(x):
        return np.sum(np.fft.fftshift(x * x, axes) * W45) + np.sum(np.fft.ifftshift(np.sin(x), axes=axes) * W45 ** 2)
    check_scipy(f, rng(2101).normal(size=(4, 5)), hessian=True)


def test_fftshift_undone_by_ifftshift_has_the_identity_adjoint():
    def f(x):
        return np.sum(np.fft.ifftshift(np.fft.fftshift(x)) * W5)
    np.testing.assert_array_equal(s2s.grad(f)(rng(2102).normal(size=5)), W5)


# ---- np.partition ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kth, axis", [(2, -1), (0, 0), ([1, 3], 1), (-1, -1), ((1, 6), None)], ids=str)
def test_partition_of_a_matrix(kth, axis):
    def f(x):
        p = np.partition(x ** 3, kth, axis=axis)
        return np.sum(p[:7] ** 2) if axis is None else np.sum(p * W45[:, :p.shape[1]])
    x = rng(2103).normal(size=(4, 5))
    # (autograd's partition has no rule beyond one axis; the entries fixed by kth are np.sort's, checked there)
    check_scipy(f, x, ag=False, hessian=True)


def test_partition_of_a_vector_against_autograd():
    def f(v):
        return np.sum(np.partition(np.sin(v) * v, 2) * W5) + np.partition(v, 4)[4]
    check_grad(f, rng(2104).normal(size=5))
    np.testing.assert_allclose(s2s.grad(f)(v := rng(2105).normal(size=5)),
                               autograd.grad(lambda v: anp.sum(anp.partition(anp.sin(v) * v, 2) * W5)
                                             + anp.partition(v, 4)[4])(v), rtol=1e-12)


def test_partition_of_a_long_vector():
    """From about 1,000 entries NumPy's np.partition and np.argpartition lay the parts out differently, so the
    permutation argpartition gives is not the one partition applied (autograd reads it: wrong here, on NumPy 2.4
    with x86's SIMD partition)."""
    n = 2000
    x, w, d = rng(2118).normal(size=n), rng(2119).normal(size=n), rng(2120).normal(size=n)

    def f(x):
        return np.sum(np.partition(x, 200) * w)
    along = (f(x + 1e-6 * d) - f(x - 1e-6 * d)) / 2e-6
    np.testing.assert_allclose(s2s.grad(f)(x) @ d, along, rtol=1e-7)
    np.testing.assert_allclose(s2s.jvp(f, (x,), (d,))[1], along, rtol=1e-7)


def test_partition_at_ties_shares_like_max():
    """At a tie partition has no derivative; s2s shares the adjoint between the tied entries as np.sort and
    np.max do, whatever order partition left them in."""
    x = np.array([1.0, 2.0, 2.0, 0.5, 2.0])
    np.testing.assert_allclose(s2s.grad(lambda x: np.partition(x, 4)[4])(x), s2s.grad(np.max)(x))
    np.testing.assert_allclose(s2s.grad(lambda x: np.sum(np.partition(x, 2) * np.arange(5.0)))(x),
                               s2s.grad(lambda x: np.sum(np.sort(x) * np.arange(5.0)))(x))


def test_partition_in_place_method_is_refused():
    def f(x):
        y = x * 2.0
        y.partition(1)
        return np.sum(y * W5)
    with pytest.raises(s2s.S2SError, match="np.partition"):
        s2s.grad(f)(rng(2106).normal(size=5))


# ---- np.astype (NumPy 2) ---------------------------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(np, "astype"), reason="np.astype is NumPy 2's")
def test_astype_function_form():
    def f(x):
        return np.sum(np.astype(x * x, np.float64) * W5) + np.sum(np.astype(x, np.int64) * x)
    x = rng(2107).normal(size=5) * 3
    got = s2s.grad(f)(x)
    np.testing.assert_allclose(got, 2 * x * W5 + np.trunc(x), rtol=1e-12)
    np.testing.assert_allclose(got, numeric_grad(f, [x]), rtol=1e-6, atol=1e-6)
    g32 = s2s.grad(lambda x: np.sum(np.astype(x, np.float32) ** 2))(x.astype(np.float32))
    assert g32.dtype == np.float32
    _, t = s2s.jvp(f, (x,), (W5,))
    np.testing.assert_allclose(t, np.sum((2 * x * W5 + np.trunc(x)) * W5), rtol=1e-10)


# ---- scipy.linalg.solve_banded ---------------------------------------------------------------------------------

def _banded(lower, upper, n, seed):
    ab = rng(seed).normal(size=(lower + upper + 1, n))
    ab[upper] += 5.0  # (a strong diagonal: well conditioned)
    return ab


@pytest.mark.parametrize("lower, upper", [(1, 1), (2, 1), (0, 2), (1, 0), (0, 0), (2, 3)], ids=str)
@pytest.mark.parametrize("bshape", [(6,), (6, 2)], ids=str)
def test_solve_banded(lower, upper, bshape):
    weights = rng(2108).normal(size=bshape)

    def f(ab, b):
        x = sl.solve_banded((lower, upper), ab, b)
        return np.sum(x * weights) + np.sum(x * x)
    ab, b = _banded(lower, upper, 6, 2109), rng(2110).normal(size=bshape)
    # (the corners of ab outside the matrix are read by nothing: gradient zero there, as differences see)
    check_scipy(f, ab, b, wrt=(0, 1), ag=False, hessian=True)


@pytest.mark.parametrize("lower, upper, n, bshape", [
    (3, 0, 2, (2,)), (0, 3, 2, (2, 2)), (5, 5, 3, (3,)), (4, 1, 2, (2,)),  # (adv221) more diagonals than rows
    (1, 1, 4, (2, 4, 1)), (0, 0, 4, (1, 4, 1)), (2, 1, 5, (3, 5, 2)),  # (adv221) a batch of right-hand sides
], ids=str)
def test_solve_banded_wide_bands_and_batches_of_b(lower, upper, n, bshape):
    weights = rng(2122).normal(size=bshape)

    def f(ab, b):
        return np.sum(sl.solve_banded((lower, upper), ab, b) * weights)
    check_scipy(f, _banded(lower, upper, n, 2123), rng(2124).normal(size=bshape), wrt=(0, 1), ag=False, hessian=True)


def test_solve_banded_counts_given_as_floats():
    def f(ab, b):
        return np.sum(sl.solve_banded((1.0, 1.0), ab, b) ** 2)
    check_scipy(f, _banded(1, 1, 4, 2125), rng(2126).normal(size=4), wrt=(0, 1), ag=False)


def test_solve_banded_against_autograd():
    import autograd.scipy.linalg as asl

    def f(ab, b):
        return np.sum(sl.solve_banded((1, 2), ab, b) ** 2)

    def twin(ab, b):
        return anp.sum(asl.solve_banded((1, 2), ab, b) ** 2)
    ab, b = _banded(1, 2, 5, 2111), rng(2112).normal(size=5)
    got = s2s.grad(f, wrt=(0, 1))(ab, b)
    for w in (0, 1):
        expected = autograd.grad(twin, w)(ab, b)
        if w == 0:  # (autograd's adjoint of ab fills the corners no entry of the matrix is read from)
            corners = np.zeros(ab.shape, dtype=bool)
            for r in range(ab.shape[0]):
                d = r - 2
                corners[r, :max(0, -d)] = corners[r, ab.shape[1] - max(0, d):] = True
            expected = np.where(corners, 0.0, expected)
        np.testing.assert_allclose(got[w], expected, rtol=1e-10, atol=1e-12)


def test_solve_banded_one_by_one_reads_row_u():
    def f(ab):
        return np.sum(sl.solve_banded((1, 1), ab, np.array([1.5])) ** 2)
    check_scipy(f, np.array([[0.3], [2.0], [0.7]]), ag=False)


def test_solve_banded_batch_is_refused():
    def f(ab, b):
        return np.sum(sl.solve_banded((1, 1), ab, b) ** 2)
    ab = np.stack([_banded(1, 1, 4, 2113), _banded(1, 1, 4, 2114)])
    with pytest.raises(s2s.S2SError, match="2-d `ab` only"):
        s2s.grad(f)(ab, rng(2115).normal(size=(2, 4, 1)))


def test_solve_banded_overwrite_is_refused():
    def f(ab, b):
        return np.sum(sl.solve_banded((1, 1), ab, b, overwrite_b=True) ** 2)
    with pytest.raises(s2s.S2SError, match="overwrite_b"):
        s2s.grad(f, wrt=1)(_banded(1, 1, 4, 2116), rng(2117).normal(size=4))


# ---- scipy.stats.multivariate_normal.entropy ------------------------------------------------------------------

@pytest.mark.parametrize("case", ["matrix", "diagonal", "scalar"])
def test_multivariate_normal_entropy(case):
    mean = np.zeros(3)
    cov = {"matrix": np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 1.5]]),
           "diagonal": np.array([1.0, 2.0, 0.5]), "scalar": 1.7}[case]

    def f(c):
        return st.multivariate_normal.entropy(mean, c * c) + st.multivariate_normal.entropy(mean, cov=c + 1.0)
    # (SciPy reads a matrix's lower triangle: differences see no slope in the upper one, nor does s2s)
    check_scipy(f, cov, ag=False, hessian=case != "scalar")


def test_multivariate_normal_entropy_against_autograd():
    import autograd.scipy.stats.multivariate_normal as amvn
    cov = np.array([[2.0, 0.3], [0.3, 1.0]])
    got = s2s.grad(lambda c: st.multivariate_normal.entropy(None, c))(cov)
    expected = autograd.grad(lambda c: amvn.entropy(None, c))(cov)
    # autograd's is the symmetric gradient; SciPy reads the lower triangle, which carries both halves
    np.testing.assert_allclose(got, np.tril(expected + expected.T - np.diag(np.diag(expected))), rtol=1e-10)


# ---- scipy.special.gammasgn ------------------------------------------------------------------------------------

def test_gammasgn_is_piecewise_constant():
    x = np.array([-2.5, -1.5, -0.5, 0.5, 3.0])

    def f(x):
        return np.sum(sp.gammasgn(x) * x ** 2)
    np.testing.assert_allclose(s2s.grad(f)(x), 2 * x * sp.gammasgn(x))
    np.testing.assert_allclose(numeric_grad(f, [x]), 2 * x * sp.gammasgn(x), atol=1e-6)


# ---- the list ----------------------------------------------------------------------------------------------------

# complex-valued: s2s refuses complex values (docs/rules.md), so it has no rule for these
COMPLEX_ONLY = {"numpy.fft.fft", "numpy.fft.ifft", "numpy.fft.fft2", "numpy.fft.ifft2", "numpy.fft.fftn",
                "numpy.fft.ifftn", "numpy.fft.rfft", "numpy.fft.irfft", "numpy.fft.rfft2", "numpy.fft.irfft2",
                "numpy.fft.rfftn", "numpy.fft.irfftn", "numpy.linalg.eig"}


def test_every_autograd_primitive_on_numpy_or_scipy_has_a_rule():
    import autograd.numpy.fft  # noqa: F401 - each import registers its module's primitives
    import autograd.scipy.linalg  # noqa: F401
    import autograd.scipy.signal  # noqa: F401
    import autograd.scipy.special  # noqa: F401
    import autograd.scipy.stats.multivariate_normal  # noqa: F401
    from autograd.core import primitive_vjps
    missing = set()
    for wrapped in primitive_vjps:
        fn = getattr(wrapped, "fun", None)
        module = getattr(fn, "__module__", None) or ""
        if isinstance(fn, np.ufunc) or module.startswith(("numpy", "scipy")):
            name = f"{module}.{fn.__name__}" if not isinstance(fn, np.ufunc) else f"ufunc.{fn.__name__}"
            if rules.lookup(fn) is None:
                missing.add(name.replace("scipy.linalg._basic.", "scipy.linalg.")
                            .replace("scipy.stats._multivariate.", "scipy.stats.multivariate_normal."))
    assert missing == COMPLEX_ONLY
