"""Reductions with `where=` (np.sum, np.mean, np.max, np.min and their methods) and `initial=` (np.sum, np.max,
np.min): the adjoint goes to the entries `where` includes, the maximum's to its tied entries there and to none
where `initial` is the extreme. Against central differences and autograd's rules for the same sums written with
np.where, in float64; forward mode and Hessians; a differentiated `initial` and np.prod's `where=` refused."""

import warnings

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s


def _data(seed, shape=(3, 4)):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape), rng.random(shape) > 0.4


def sum_where_all(x, m):
    return np.sum(x ** 2, where=m)


def sum_where_axis(x, m):
    return np.sum(np.sin(np.sum(x * 2.0, axis=1, where=m)))


def sum_where_row_mask(x, m):
    return np.sum(np.tanh(x).sum(axis=0, keepdims=True, where=m[0]) ** 2)  # (a row of the mask, broadcast)


def sum_initial(x, m):
    return np.sum(x ** 2, axis=0, initial=3.0).prod()


def mean_where(x, m):
    return np.sum(np.mean(np.exp(x), axis=0, where=m) ** 2)


def mean_where_method(x, m):
    return (x ** 3).mean(where=m)


def max_initial(x, m):
    return np.sum(np.max(x, axis=1, initial=0.2) ** 2)  # some rows' maxima are below 0.2: initial wins there


def max_where_initial(x, m):
    return np.sum(np.max(x * 3.0, axis=0, where=m, initial=-10.0))


def min_where_method(x, m):
    return np.sum(np.sin(x.min(axis=1, where=m, initial=5.0)))


def amax_initial(x, m):
    return np.amax(np.cos(x), initial=-1.0) * np.amin(x, initial=1.0)


def sum_where_dtype(x, m):
    return np.sum(x ** 2, where=m, dtype=np.float64) + np.sum(x, where=m, dtype=int)


PROGRAMS = [sum_where_all, sum_where_axis, sum_where_row_mask, sum_initial, mean_where, mean_where_method,
            max_initial, max_where_initial, min_where_method, amax_initial, sum_where_dtype]


@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("seed", [0, 1])
def test_gradients_match_differences(f, seed):
    x, m = _data(seed)
    value, got = s2s.value_and_grad(f)(x, m)
    assert value == f(x, m)
    np.testing.assert_allclose(got, fd_grad(f, (x, m)), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f", [sum_where_all, sum_where_axis, mean_where])
def test_against_autograd_on_the_same_sums_written_with_np_where(f):
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp
    x, m = _data(2)
    rewritten = {
        sum_where_all: lambda x: anp.sum(anp.where(m, x ** 2, 0.0)),
        sum_where_axis: lambda x: anp.sum(anp.sin(anp.sum(anp.where(m, x * 2.0, 0.0), axis=1))),
        mean_where: lambda x: anp.sum((anp.sum(anp.where(m, anp.exp(x), 0.0), axis=0) / m.sum(axis=0)) ** 2),
    }[f]
    np.testing.assert_allclose(s2s.grad(f)(x, m), autograd.grad(rewritten)(x), rtol=1e-10)


@pytest.mark.parametrize("f", [sum_where_axis, mean_where, max_where_initial, min_where_method],
                         ids=lambda f: f.__name__)
def test_forward_mode_and_hessians(f):
    x, m = _data(3)
    dx = np.random.default_rng(4).normal(size=x.shape)
    _, tangent = s2s.jvp(lambda x: f(x, m), (x,), (dx,))
    eps = 1e-6
    np.testing.assert_allclose(tangent, (f(x + eps * dx, m) - f(x - eps * dx, m)) / (2 * eps), rtol=1e-6, atol=1e-8)
    flat = x.ravel()
    g = s2s.grad(lambda z: f(z.reshape(x.shape), m))
    columns = [(g(flat + 1e-5 * e) - g(flat - 1e-5 * e)) / 2e-5 for e in np.eye(flat.size)]
    np.testing.assert_allclose(s2s.hessian(lambda z: f(z.reshape(x.shape), m))(flat), np.array(columns).T,
                               rtol=1e-5, atol=1e-6)


def test_a_column_with_nothing_included():
    x, m = _data(5)
    m[:, 1] = False  # the mean of column 1 is NaN (NumPy warns), its maximum is `initial`

    def masked(x):
        means = np.mean(x, axis=0, where=m)
        return np.nansum(means) + np.sum(np.max(x, axis=0, where=m, initial=-5.0))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (NumPy's "Mean of empty slice")
        got = s2s.grad(masked)(x)
        expected = fd_grad(masked, (x,))
    assert np.all(got[:, 1] == 0.0) and np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, atol=1e-8)


def test_nan_to_num_of_a_mean_over_nothing_has_tangent_zero():
    """The mean of an empty column is NaN, and so is its tangent; `np.nan_to_num` makes both a constant 0 (its
    rule was `g * np.isfinite(x)`, NaN * False: forward mode gave NaN)."""
    x, m = _data(7)
    m[:, 1] = False

    def cleaned(x):
        return np.sum(np.nan_to_num(np.mean(x, axis=0, where=m)) ** 2)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = fd_grad(cleaned, (x,))
        v = np.random.default_rng(8).normal(size=x.shape)
        _, tangent = s2s.jvp(cleaned, (x,), (v,))
        forward = s2s.jacobian(cleaned, mode="forward")(x)
        reverse = s2s.grad(cleaned)(x)
    assert np.isfinite(tangent) and np.all(np.isfinite(forward))
    np.testing.assert_allclose(tangent, np.sum(expected * v), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(forward, expected, atol=1e-8)
    np.testing.assert_allclose(reverse, expected, atol=1e-8)


def test_float32_keeps_its_dtype():
    x, m = _data(6)
    got = s2s.grad(mean_where)(x.astype(np.float32), m)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, s2s.grad(mean_where)(x, m), rtol=1e-5)


def test_a_differentiated_initial_is_refused():
    def moving_floor(x, floor):
        return np.max(x, initial=floor)

    with pytest.raises(s2s.S2SError, match="initial"):
        s2s.grad(moving_floor, wrt=1)(np.array([0.1, 0.2]), 0.5)
    np.testing.assert_allclose(s2s.grad(moving_floor)(np.array([0.1, 0.7]), 0.5), [0.0, 1.0])


def test_prod_where_is_refused_naming_the_parameter():
    def masked_product(x):
        return np.prod(x, where=x > 0)

    with pytest.raises(s2s.UnsupportedSyntaxError, match="where"):
        s2s.grad(masked_product)(np.array([1.0, -2.0, 3.0]))


def test_calls_without_where_print_the_same_code_as_before():
    def plain(x):
        return np.sum(x ** 2) + np.max(x, axis=0).sum() + x.mean()

    code = s2s.source(s2s.grad(plain), np.ones((2, 3)))
    assert not any(f"grad_{kind}_where" in code for kind in ("sum", "mean", "extreme"))
