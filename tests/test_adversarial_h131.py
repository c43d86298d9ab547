"""What the adversarial review of stop 45 (helper 131, /tmp/h135) found: each a wrong number before, checked here
against central differences, autograd or the value worked out by hand."""

import warnings

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s


def tanh_energy(x):
    return np.sum(np.tanh(x) ** 2) + np.sum(x * x)


def test_compiled_code_past_the_shape_variants_returns_the_gradient():
    """After api.SHAPE_VARIANTS shapes the NumPy code is the generic one, which returns the value beside the
    gradient, while the compiled code was still made for the shape: the call unpacked the gradient as (value,
    gradient), and a gradient of 2 entries came back as its second entry (-2.34 for [1.13, -2.34]); other shapes
    raised. The compiled code is made from the generic code there too."""
    pytest.importorskip("numba")
    df = s2s.grad(tanh_energy, compile=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n in [*range(3, 3 + s2s.api.SHAPE_VARIANTS), 2, 19, 2, 19]:  # (the second call of a kind: hot code)
            x = np.linspace(-1.0, 1.0, n)
            got = df(x)
            assert np.shape(got) == (n,)
            np.testing.assert_allclose(got, fd_grad(tanh_energy, (x,)), rtol=1e-6, atol=1e-8)


def power_sum(x, n):
    return np.sum(x ** n)


def power(x, n):
    return x ** n


def _slope(x, n):
    """n * x ** (n - 1) for an int n of any size, worked out with Python's ints for the sign."""
    if x == 0.0:
        return 0.0
    magnitude = float(n) if abs(x) == 1.0 else float("inf") if abs(x) > 1.0 else 0.0  # (|x| ** n: 0 or inf)
    return -magnitude if x < 0 and (n - 1) % 2 else magnitude


@pytest.mark.parametrize("n", [2 ** 64, 2 ** 64 + 1, 2 ** 63 + 1, 2 ** 70 + 3])
def test_a_power_of_an_int_beyond_int64(n):
    """`x ** n` of a Python int n past int64: NumPy wrapped the exponent n - 1 inside the power's slope (3.7e19
    where the slope is 0 at x = 0.5), or swapped [0, inf] for [inf, 0]. The slope's sign follows n's parity."""
    points = [-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5]
    with np.errstate(over="ignore"):
        want = [_slope(v, n) for v in points]
        np.testing.assert_array_equal(s2s.grad(power_sum)(np.array(points), n), want)
        for v, w in zip(points, want):
            if abs(v) <= 1.0:  # (a Python float past 1 to such a power raises OverflowError in the function itself)
                assert s2s.grad(power)(v, n) == w


# ---- values of SciPy functions with poles, computed but not used on the path a call took ------------------------

_UNUSED = {
    "erfinv": ("sp.erfinv(x)", [1.0, 0.5, -1.0]),
    "erfcinv": ("sp.erfcinv(1.0 - x)", [0.0, 1.0, 0.5]),
    "ndtri": ("sp.ndtri(x)", [0.0, 1.0, 0.5]),
    "gammaln": ("sp.gammaln(x)", [0.0, -1.0, 0.5]),
    "digamma": ("sp.digamma(x)", [0.0, -1.0, 0.5]),
    "gamma": ("sp.gamma(x)", [0.0, -1.0, 0.5]),
    "y1": ("sp.y1(x)", [0.0, 1.0, 0.5]),
    "logit": ("sp.logit(x)", [0.0, 1.0, 0.5]),
    "xlogy": ("sp.xlogy(x, x)", [0.0, 1.0, 0.5]),
    "betaln": ("sp.betaln(x, 1.0)", [0.0, 1.0, 0.5]),
    "log_ndtr": ("sp.log_ndtr(x * 1e10)", [0.0, -1.0, 0.5]),
    "erfcx": ("sp.erfcx(-x * 1e3)", [1.0, 1.0, 0.5]),
}


@pytest.mark.parametrize("name", sorted(_UNUSED))
def test_an_unused_value_of_a_function_with_a_pole(name, tmp_path, monkeypatch):
    """`v = sp.f(x)` read only where `use` is true: with `use` false its adjoint is the zero 0.0, and its partial
    infinite at these points (erfinv at 1, gammaln at 0, erfcx overflowed): 0.0 times it was NaN in every entry
    the sum reached, where the gradient is 3 (autograd's too). The guard now knows these functions."""
    pytest.importorskip("scipy")
    module = tmp_path / f"unused_{name}.py"
    module.write_text("import numpy as np\nimport scipy.special as sp\n\n\n"
                      f"def f(x, use):\n    v = {_UNUSED[name][0]}\n    if use:\n        return np.sum(v)\n"
                      "    return np.sum(x * 3.0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    f = __import__(f"unused_{name}").f
    with np.errstate(all="ignore"):
        got = s2s.grad(f)(np.array(_UNUSED[name][1]), False)
    np.testing.assert_array_equal(got, [3.0, 3.0, 3.0])
    assert "is_zero" in s2s.source(s2s.grad(f))  # (the guard: the value's adjoint is differentiated, not dropped)


def test_a_power_term_of_an_int_beyond_int64_with_an_array_factor():
    """(the second derivatives pass power_term an array factor: `float(c)` of it raised)"""
    from s2s.runtime.elementwise import power_term
    got = power_term(np.array([0.0, 2.0, 3.0]), np.array([0.5, -1.0, -1.0]), 2 ** 64 + 1)
    np.testing.assert_array_equal(got, [0.0, -2.0, -3.0])
