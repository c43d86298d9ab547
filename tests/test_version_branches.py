"""Code written for several versions of a library: a branch that names a function this version lacks, behind a
test (`if hasattr(np, "trapz"):`), is differentiated as the branch that runs; where the missing function is reached,
the derivative raises Python's AttributeError, as the function does (transforms/missing_attributes.py)."""

import warnings

import numpy as np
import pytest
import scipy.special as sp
from helpers_fd import fd_grad

import s2s

XS = np.linspace(0.0, 1.0, 7)
X = np.array([0.3, -0.5, 0.9, 1.4])


def area_if(a, xs):
    if hasattr(np, "trapz"):  # (NumPy 1; NumPy 2 removed it)
        return np.trapz(np.exp(-a * xs), xs)
    return np.trapezoid(np.exp(-a * xs), xs)


def area_ifexp(x):
    y = np.exp(-x * x)
    return np.trapz(y) if hasattr(np, "trapz") else np.trapezoid(y)


def dtype_attribute(x):
    if hasattr(np, "float_"):
        x = x.astype(np.float_)
    return np.sum(np.sin(x) ** 2)


def function_chosen(x):
    integrate = np.trapezoid if hasattr(np, "trapezoid") else np.trapz
    return integrate(x * x)


def version_string(x):
    if np.__version__.startswith("1."):
        return sp.logsumexp(np.product(x) * x)
    return sp.logsumexp(np.prod(x) * x)


def reached(x):
    return np.sum(np.trapz(x * x))


def helper_with_branch(y):
    if hasattr(np, "trapz"):
        return np.trapz(y)
    return np.trapezoid(y)


def calls_a_helper(x):
    return helper_with_branch(np.tanh(x)) ** 2


@pytest.mark.parametrize("f", [area_ifexp, dtype_attribute, function_chosen, version_string, calls_a_helper],
                         ids=lambda f: f.__name__)
def test_the_branch_that_runs_is_differentiated_in_every_mode(f):
    assert not hasattr(np, "trapz") and not hasattr(np, "product")  # (the NumPy this project installs: 2)
    expected = fd_grad(f, (X,))
    np.testing.assert_allclose(s2s.grad(f)(X), expected, rtol=1e-6, atol=1e-8)
    v = np.random.default_rng(3).normal(size=X.shape)
    np.testing.assert_allclose(s2s.jvp(f, (X,), (v,))[1], np.sum(expected * v), rtol=1e-6, atol=1e-8)
    flat = [(fd_grad(f, (X + 1e-5 * e,)) - fd_grad(f, (X - 1e-5 * e,))) / 2e-5 for e in np.eye(X.size)]
    np.testing.assert_allclose(s2s.hessian(f)(X), np.array(flat), rtol=1e-4, atol=1e-4)


def test_a_scalar_argument_and_its_gradient():
    got = s2s.grad(area_if)(0.7, XS)
    assert abs(got - fd_grad(lambda a: area_if(a, XS), (0.7,))) < 1e-8


def test_reaching_the_missing_function_raises_python_s_error():
    with pytest.raises(AttributeError, match="has no attribute 'trapz'|trapz"):
        reached(X)
    for transform in (s2s.grad, lambda f: (lambda x: s2s.jvp(f, (x,), (x,))), s2s.hessian):
        with pytest.raises(AttributeError) as caught:
            transform(reached)(X)
        assert not isinstance(caught.value, s2s.S2SError)
        with pytest.raises(AttributeError) as python:
            reached(X)
        assert str(caught.value) == str(python.value)


def test_the_derivative_follows_the_attribute_once_it_exists():
    g = s2s.grad(area_ifexp)
    before = g(X)
    np.trapz = lambda y: 2.0 * np.trapezoid(y)  # (a compatibility shim installed after the first call)
    try:
        np.testing.assert_allclose(g(X), 2.0 * before, rtol=1e-12)
        np.testing.assert_allclose(g(X), fd_grad(area_ifexp, (X,)), rtol=1e-6, atol=1e-8)
    finally:
        del np.trapz
    np.testing.assert_allclose(g(X), before, rtol=1e-12)


def test_the_printed_code_shows_the_raise():
    text = s2s.source(s2s.grad(area_ifexp), X)
    assert "s2s.missing_attribute(\"module 'numpy' has no attribute 'trapz'\")" in text
    assert "np.trapz" not in text.replace("# return np.trapz", "")


def test_compiled_code_gives_the_same_gradient():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (`hasattr` is not compiled: the NumPy code runs, with its warning)
        got = s2s.grad(area_ifexp, compile=True)(X)
    np.testing.assert_allclose(got, s2s.grad(area_ifexp)(X), rtol=1e-12)


class _Config:
    scale = 2.0


CONFIG = _Config()


def object_attribute(x):
    if hasattr(CONFIG, "shift"):
        return np.sum(CONFIG.shift(x))
    return np.sum(CONFIG.scale * x * x)


def test_an_object_s_missing_attribute_stays_refused_at_its_line():
    """Only modules: an object's attribute may be set on it later, or come from its `__getattr__` when the code
    runs, so s2s does not take it as missing; differentiating the call stays refused, naming it."""
    with pytest.raises(s2s.S2SError) as caught:
        s2s.grad(object_attribute)(X)
    assert "CONFIG.shift" in str(caught.value) and "test_version_branches.py" in str(caught.value)


def _backend():
    import types
    module = types.ModuleType("backend_of_a_test")
    module.trapz = lambda y, x: np.sum(y ** 2)
    return module


BACKEND = _backend()


def a_comprehension_s_own_np(y):
    return sum([np.trapz(y, XS[:4]) for np in [BACKEND]])


def test_a_comprehension_variable_named_like_the_module_is_not_the_module():
    """(review 248: `for np in [backend]` in a comprehension: its `np.trapz` was read as NumPy's, and raised)"""
    y = np.array([0.3, -0.7, 1.1, 2.0])
    np.testing.assert_allclose(s2s.grad(a_comprehension_s_own_np)(y), 2.0 * y)
