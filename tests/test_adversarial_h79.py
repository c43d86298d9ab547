"""Found by helper-79's adversarial programs (merge, ZeroOr facts, tuple states, tapes, in-place updates,
float32 / 0-d inputs, the compiled path against the NumPy path). Each test is a minimised reproducer."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import s2s


def counted_once(x):
    acc = 0.0
    for i in range(2):
        if i == 0:
            acc = acc + x
    return acc


def product(x, k):
    return x * k


def test_float32_number_gets_a_float32_gradient_where_its_adjoint_stays_a_python_float():
    """finish returned the Python float adjoint (1.0, never multiplied by anything of x's dtype) as it was:
    a np.float32 argument got a float gradient here and a np.float32 one where the sweep touched x."""
    g = s2s.grad(counted_once)(np.float32(0.4))
    assert type(g) is np.float32 and g == 1.0
    assert type(s2s.grad(counted_once)(np.float16(0.4))) is np.float16
    assert type(s2s.grad(counted_once)(0.4)) is float


def test_compiled_gradients_of_several_float32_numbers_are_float32():
    """compile=True made a np.float32 number's gradient np.float32 again (numba returns a float) only where one
    argument was differentiated: wrt=(0, 1) gave Python floats."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gx, gk = s2s.grad(product, wrt=(0, 1), compile=True)(np.float32(0.4), np.float32(0.8))
        assert type(gx) is np.float32 and type(gk) is np.float32
        assert np.isclose(gx, 0.8) and np.isclose(gk, 0.4)
        gx, gk = s2s.grad(product, wrt=(0, 1), compile=True)(np.float32(0.4), 0.8)
        assert type(gx) is np.float32 and type(gk) is float


@pytest.mark.filterwarnings("ignore")
def test_compiled_float16_number_after_float32_one_falls_back_instead_of_crashing():
    """compile=True: the dispatcher is shared by identical lowered code; compiled for a np.float32 number, it
    failed inside numba (NotImplementedError: float16) for a np.float16 one, which _compile_for took for the
    code raising as the NumPy code would (the dispatcher had a signature, not this one): an uncaught crash."""
    g32 = s2s.grad(counted_once, compile=True)(np.float32(0.4))
    g16 = s2s.grad(counted_once, compile=True)(np.float16(0.3))
    assert g32 == 1.0 and g16 == 1.0 and type(g16) is np.float16


def scaled_power(x, k=1.0, p=2.0):
    return np.sum(k * x ** p)


def test_gradient_of_a_partial_follows_its_keywords_changed_later():
    import functools
    x = np.array([0.3, -0.7, 1.1])
    p = functools.partial(scaled_power, k=3.0)
    g = s2s.grad(p)
    np.testing.assert_allclose(g(x), 6.0 * x)
    p.keywords["k"] = 5.0  # p(x) is now 5 * sum(x ** 2)
    np.testing.assert_allclose(g(x), 10.0 * x)
