"""scipy.signal's convolutions and correlations (s2s/rules/scipy_signal.py, since stop 74; refused before as having
no rule): convolve, correlate, fftconvolve, oaconvolve, convolve2d and correlate2d, in every mode, of either array,
against central differences in both modes (and autograd's scipy.signal.convolve where it has the same function),
batched 3-d arrays, a kernel larger than the image, Hessians; other boundaries refused."""

import autograd
import autograd.scipy.signal as autograd_signal
import numpy as np
import pytest
import scipy.signal
from helpers_fd import fd_grad

import s2s

RNG = np.random.default_rng(17)
NAMES = ["convolve", "correlate", "fftconvolve", "oaconvolve", "convolve2d", "correlate2d"]
SHAPES = [((5, 6), (2, 3)), ((4, 4), (3, 3)), ((6, 3), (4, 2)), ((3, 3), (4, 5))]




def _cases():
    for name in NAMES:
        for shapes in SHAPES:
            for mode in ("full", "same", "valid"):
                a, v = np.zeros(shapes[0]), np.zeros(shapes[1])
                try:
                    getattr(scipy.signal, name)(a, v, mode)
                except ValueError:  # (SciPy's own: 'valid' needs one array inside the other)
                    continue
                yield name, shapes, mode


@pytest.mark.parametrize("name, shapes, mode", list(_cases()), ids=lambda v: str(v).replace(" ", ""))
def test_each_array_in_both_modes(name, shapes, mode):
    fun = getattr(scipy.signal, name)
    a, v = RNG.normal(size=shapes[0]), RNG.normal(size=shapes[1])
    w = RNG.normal(size=fun(a, v, mode).shape)

    def of_image(x):
        return np.sum(fun(x, v, mode) * w)

    def of_kernel(k):
        return np.sum(np.tanh(fun(a, k, mode)) * w)

    for f, x in ((of_image, a), (of_kernel, v)):
        want = fd_grad(f, (x,))
        np.testing.assert_allclose(s2s.grad(f)(x), want, rtol=1e-6, atol=1e-7)
        t = RNG.normal(size=x.shape)
        np.testing.assert_allclose(s2s.jvp(f, (x,), (t,))[1], np.sum(want * t), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("mode", ["full", "valid"])
def test_convolve_agrees_with_autograd(mode):
    a, v = RNG.normal(size=(5, 6)), RNG.normal(size=(2, 3))
    w = RNG.normal(size=scipy.signal.convolve(a, v, mode).shape)
    got = s2s.grad(lambda x, k: np.sum(scipy.signal.convolve(x, k, mode) * w), wrt=(0, 1))(a, v)
    want = autograd.grad(lambda x, k: (autograd_signal.convolve(x, k, mode=mode) * w).sum(), (0, 1))(a, v)
    for g, h in zip(got, want):
        np.testing.assert_allclose(g, h, rtol=1e-10, atol=1e-12)


def test_batched_three_dimensional_arrays():
    a, v = RNG.normal(size=(2, 5, 4)), RNG.normal(size=(1, 3, 2))

    def f(x):
        return np.sum(scipy.signal.fftconvolve(x, v, "same") ** 2)
    np.testing.assert_allclose(s2s.grad(f)(a), fd_grad(f, (a,)), rtol=1e-6, atol=1e-7)


def test_a_hessian_through_a_convolution_of_the_array_with_itself():
    a = RNG.normal(size=(4, 4))

    def f(x):
        return np.sum(scipy.signal.convolve2d(x, x[:2, :2], "same") ** 2)
    grad = s2s.grad(f)
    want = np.zeros((4, 4, 4, 4))
    for i in np.ndindex(4, 4):
        up, down = a.copy(), a.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        want[:, :, i[0], i[1]] = (grad(up) - grad(down)) / 2e-6
    np.testing.assert_allclose(s2s.hessian(f)(a), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("keywords", [{"boundary": "wrap"}, {"boundary": "symm"}, {"fillvalue": 1.0}])
def test_a_boundary_other_than_zeros_is_refused(keywords):
    v = RNG.normal(size=(2, 2))
    with pytest.raises(s2s.NoDerivativeRuleError, match="boundary='fill', fillvalue=0"):
        s2s.grad(lambda x: np.sum(scipy.signal.convolve2d(x, v, "same", **keywords)))(RNG.normal(size=(4, 4)))


def test_fftconvolve_over_some_axes_is_refused():
    v = RNG.normal(size=(1, 3))
    with pytest.raises(s2s.NoDerivativeRuleError, match="no axes"):
        s2s.grad(lambda x: np.sum(scipy.signal.fftconvolve(x, v, "same", axes=1)))(RNG.normal(size=(4, 4)))


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_forward_mode_with_a_fill_value_leaves_it_out_of_the_image_s_tangent(name):
    """(review 251: the image's tangent was convolved with the fill value's padding, off by its constant part)"""
    fun = getattr(scipy.signal, name)
    a, v, t = RNG.normal(size=(4, 5)), RNG.normal(size=(2, 3)), RNG.normal(size=(4, 5))

    def f(x):
        return np.sum(fun(x, v, "same", fillvalue=1.5) ** 2)
    want = np.sum(fd_grad(f, (a,)) * t)
    np.testing.assert_allclose(s2s.jvp(f, (a,), (t,))[1], want, rtol=1e-6)


def test_an_empty_array_has_a_zero_adjoint():
    """(review 251: the adjoint correlated with an empty array, and raised)"""
    k = np.array([1.0, 2.0, 3.0])

    def f(a, k):
        return np.sum(scipy.signal.fftconvolve(a, k)) + np.sum(k ** 2)
    np.testing.assert_allclose(s2s.grad(f, wrt=1)(np.zeros(0), k), 2.0 * k)
    assert s2s.grad(f, wrt=0)(np.zeros(0), k).shape == (0,)
