"""A NumPy or math function replaced by assignment (s2s/patches.py): s2s's derivative formulas call
`np.cos`, `math.cos`, ... by name, so while one of them holds another object every derivative is refused,
including one cached before the assignment; restoring the name gives right derivatives again."""

import math
from unittest import mock

import numpy as np
import pytest

import s2s
from s2s import patches
from s2s.errors import NoDerivativeRuleError


def fd(f, x, eps=1e-6):
    return (f(x + eps) - f(x - eps)) / (2 * eps)


def sin_twice(x):
    return np.sin(x) * 2.0


def math_sin(x):
    return math.sin(x) * x


def test_a_cached_derivative_is_refused_while_a_name_its_formula_calls_is_replaced():
    g = s2s.grad(sin_twice)
    assert g(0.5) == pytest.approx(2 * np.cos(0.5))
    genuine = np.cos
    np.cos = np.tan
    try:
        with pytest.raises(NoDerivativeRuleError, match=r"np\.cos is replaced \(np\.cos is ufunc tan\)"):
            g(0.5)
        with pytest.raises(NoDerivativeRuleError, match="restore np.cos"):
            s2s.value_and_grad(sin_twice)(0.5)
    finally:
        np.cos = genuine
    assert g(0.5) == pytest.approx(2 * np.cos(0.5))


def test_the_function_the_source_calls_replaced_is_refused_not_differentiated_as_the_genuine_one():
    """np.sin = np.cos: the source's np.sin runs cos; the rule of cos calls np.sin, which is cos now."""
    g = s2s.grad(sin_twice)
    g(0.5)
    with mock.patch("numpy.sin", np.cos):
        assert sin_twice(0.5) == pytest.approx(2 * np.cos(0.5))
        with pytest.raises(NoDerivativeRuleError, match=r"np\.sin is replaced"):
            g(0.5)
        with pytest.raises(NoDerivativeRuleError, match=r"np\.sin is replaced"):
            s2s.grad(sin_twice)(0.5)
    assert g(0.5) == pytest.approx(fd(sin_twice, 0.5))


def test_a_replacement_made_before_the_first_derivative_is_refused():
    def fresh(x):
        return np.tanh(np.exp(x)) + np.cos(x)

    with mock.patch("numpy.exp", np.expm1):
        with pytest.raises(NoDerivativeRuleError, match=r"np\.exp is replaced"):
            s2s.grad(fresh)(0.3)
    assert s2s.grad(fresh)(0.3) == pytest.approx(fd(fresh, 0.3))


def test_a_python_function_put_in_numpy_is_refused():
    def my_sin(x):
        return x - x ** 3 / 6

    with mock.patch.object(np, "sin", my_sin):
        with pytest.raises(NoDerivativeRuleError, match=r"np\.sin is replaced \(np\.sin is function .*my_sin\)"):
            s2s.grad(sin_twice)(0.5)


def test_math_and_linalg_names_are_watched():
    g = s2s.grad(math_sin)
    assert g(0.4) == pytest.approx(fd(math_sin, 0.4))
    with mock.patch("math.cos", math.tan):
        with pytest.raises(NoDerivativeRuleError, match=r"math\.cos is replaced"):
            g(0.4)
    assert g(0.4) == pytest.approx(fd(math_sin, 0.4))

    def logdet(a):
        return np.linalg.slogdet(a @ a.T + np.eye(3))[1]

    a = np.random.default_rng(0).normal(size=(3, 3))
    expected = s2s.grad(logdet)(a)
    with mock.patch("numpy.linalg.inv", np.linalg.pinv):
        assert "np.linalg.inv" in [name for name, _ in patches.replaced()]
        with pytest.raises(NoDerivativeRuleError, match=r"np\.linalg\.inv is replaced"):
            s2s.grad(logdet)(a)
    np.testing.assert_allclose(s2s.grad(logdet)(a), expected)


def test_a_deleted_name_is_refused():
    genuine = np.cos
    del np.cos
    try:
        with pytest.raises(NoDerivativeRuleError, match=r"np\.cos is deleted"):
            s2s.grad(sin_twice)(0.5)
    finally:
        np.cos = genuine
    assert s2s.grad(sin_twice)(0.5) == pytest.approx(2 * np.cos(0.5))


def test_a_write_into_the_module_dict_is_refused_when_a_derivative_is_made():
    """Skipping the assignment skips the watch: a derivative made while it lasts is still refused."""
    def cube_sin(x):
        return np.sin(x) ** 3

    space = vars(np)
    genuine = space["cos"]
    space["cos"] = np.tan
    try:
        with pytest.raises(NoDerivativeRuleError, match=r"np\.cos is replaced"):
            s2s.grad(cube_sin)(0.5)
    finally:
        space["cos"] = genuine
    assert s2s.grad(cube_sin)(0.5) == pytest.approx(fd(cube_sin, 0.5))


def test_names_s2s_does_not_call_may_be_replaced(monkeypatch):
    """A name no formula or helper reads (np.bool, np.savetxt) or a new one leaves derivatives alone."""
    monkeypatch.setattr(np, "bool", bool)
    monkeypatch.setattr(np, "savetxt", lambda *a, **kw: None)
    monkeypatch.setattr(np, "s2s_test_new_name", 3.0, raising=False)
    assert patches.replaced() == []
    assert s2s.grad(sin_twice)(0.5) == pytest.approx(2 * np.cos(0.5))


def test_forward_mode_and_the_compiled_path_are_refused_too():
    pytest.importorskip("numba")
    g = s2s.grad(sin_twice, compile=True)
    assert g(0.5) == pytest.approx(2 * np.cos(0.5))
    with mock.patch("numpy.cos", np.sin):
        with pytest.raises(NoDerivativeRuleError, match=r"np\.cos is replaced"):
            g(0.5)
        with pytest.raises(NoDerivativeRuleError, match=r"np\.cos is replaced"):
            s2s.jvp(sin_twice, (0.5,), (1.0,))
    assert g(0.5) == pytest.approx(2 * np.cos(0.5))


def test_the_watched_modules_behave_as_modules():
    import types

    assert isinstance(np, types.ModuleType) and isinstance(math, types.ModuleType)
    assert repr(np).startswith("<module 'numpy'") and repr(math).startswith("<module 'math'")
    assert patches.replaced() == []


def test_math_and_linalg_keep_their_plain_class_and_a_cached_derivative_depends_on_what_it_reads():
    """A subclass of math's module would slow every `math.sin` read down: math and np.linalg keep their class,
    and a derivative depends on the `math.name` and `np.linalg.name` its code reads (here math.cos, which only
    the adjoint reads), checked before each call."""
    import types

    assert type(math) is types.ModuleType and type(np.linalg) is types.ModuleType
    g = s2s.grad(math_sin)
    g(0.4)
    g(0.4)  # the hot call
    with mock.patch("math.cos", math.tan):
        with pytest.raises(NoDerivativeRuleError, match=r"math\.cos is replaced"):
            g(0.4)
    assert g(0.4) == pytest.approx(fd(math_sin, 0.4))


def test_runtime_helpers_call_linalg_as_s2s_loaded_it():
    """The specialised adjoint of slogdet reads np.linalg.inv itself: refused while it is replaced. The general
    code calls the runtime helper grad_slogdet, which calls inv as s2s loaded it: a replacement made after the
    derivative was cached does not reach it, and the derivative stays right."""
    def logdet(a):
        return np.linalg.slogdet(a)[1]

    a = np.random.default_rng(3).normal(size=(3, 3)) + 3 * np.eye(3)
    expected = np.linalg.inv(a).T
    specialised, general = s2s.grad(logdet), s2s.grad(logdet, optimize=False)
    np.testing.assert_allclose(specialised(a), expected)
    np.testing.assert_allclose(general(a), expected)
    assert "grad_slogdet" in s2s.source(general) and "np.linalg.inv(a)" in s2s.source(specialised, a)
    with mock.patch("numpy.linalg.inv", lambda m: np.zeros_like(m)):
        np.testing.assert_allclose(general(a), expected)
        with pytest.raises(NoDerivativeRuleError, match=r"np\.linalg\.inv is replaced"):
            specialised(a)
    np.testing.assert_allclose(specialised(a), expected)
