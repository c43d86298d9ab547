"""The public API contract: wrt forms, shapes, caching, threads, source and linecache."""

import inspect
import linecache
import math
import threading

import numpy as np
import pytest

import s2s


def poly(x, y, z=2.0):
    return x * x * y + math.sin(y) * z


def quad(w):
    return np.sum(w * w)


def vector_out(x):
    return np.sin(x) * 2.0


def make_scaled(c):
    def scaled(x):
        return c * x * x
    return scaled


def test_wrt_by_position_name_and_tuple():
    x, y = 1.5, 0.7
    assert s2s.grad(poly)(x, y) == pytest.approx(2 * x * y)
    assert s2s.grad(poly, wrt="y")(x, y) == pytest.approx(x * x + math.cos(y) * 2.0)
    gx, gz = s2s.grad(poly, wrt=(0, "z"))(x, y)
    assert gx == pytest.approx(2 * x * y)
    assert gz == pytest.approx(math.sin(y))


def test_decorator_forms():
    @s2s.grad
    def f(x):
        return x ** 3

    @s2s.grad(wrt=1)
    def h(a, b):
        return a * b * b

    assert f(2.0) == pytest.approx(12.0)
    assert h(3.0, 2.0) == pytest.approx(12.0)


def test_gradient_shaped_like_argument():
    g = s2s.grad(quad)(np.ones((2, 3)))
    assert g.shape == (2, 3)
    assert isinstance(s2s.grad(poly)(1.0, 2.0), float)


def test_value_and_grad():
    v, g = s2s.value_and_grad(quad)(np.arange(3.0))
    assert v == pytest.approx(5.0)
    np.testing.assert_allclose(g, 2 * np.arange(3.0))


def test_vjp_pullback_can_be_called_twice():
    x = np.array([0.1, 0.2, 0.3])
    value, pullback = s2s.vjp(vector_out, x)
    np.testing.assert_allclose(value, np.sin(x) * 2)
    for ct in (np.ones(3), np.array([1.0, 0.0, 2.0])):
        np.testing.assert_allclose(pullback(ct), ct * 2 * np.cos(x))


def test_non_scalar_output_error():
    with pytest.raises(s2s.NonScalarOutputError, match="vjp"):
        s2s.grad(vector_out)(np.ones(3))
    assert issubclass(s2s.NonScalarOutputError, TypeError)


def test_wrt_errors():
    with pytest.raises(IndexError):
        s2s.grad(poly, wrt=5)
    with pytest.raises(ValueError):
        s2s.grad(poly, wrt="nope")


def test_integer_array_argument_refused():
    with pytest.raises(TypeError, match="dtype"):
        s2s.grad(quad)(np.arange(3))


def test_closures_with_different_values_never_share_a_derivative():
    f2, f3 = make_scaled(2.0), make_scaled(3.0)
    assert s2s.grad(f2)(1.0) == pytest.approx(4.0)
    assert s2s.grad(f3)(1.0) == pytest.approx(6.0)
    assert s2s.grad(f2)(1.0) == pytest.approx(4.0)


def test_first_use_from_many_threads():
    def cube_sum(x):
        return np.sum(x ** 3)

    results, errors = [], []

    def work():
        try:
            results.append(s2s.grad(cube_sum)(np.full(4, 2.0)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 16
    for r in results:
        np.testing.assert_allclose(r, np.full(4, 12.0))


def test_source_is_in_linecache_and_inspect():
    df = s2s.derivative(quad)
    text = s2s.source(df)
    assert text.startswith("import ") and "\ndef dquad_dw(" in text  # import lines first: it runs as printed
    assert "w_bar" in text
    filename = df.__code__.co_filename
    assert linecache.getlines(filename)
    assert "w_bar" in inspect.getsource(df)


def test_traceback_shows_generated_line():
    df = s2s.derivative(quad)
    with pytest.raises(TypeError) as info:
        df("not an array")
    frames = [f for f in info.traceback if f.path == df.__code__.co_filename or
              str(f.path) == df.__code__.co_filename]
    assert frames, "the generated function should appear in the traceback"


def test_stop_gradient_is_identity_on_values():
    x = np.arange(3.0)
    assert s2s.stop_gradient(x) is x


def test_defvjp_custom_rule():
    def softplus_sum(x):
        return np.sum(np.log1p(np.exp(x)))

    calls = []

    def my_logsumexp(x):
        calls.append(1)
        m = np.max(x)
        return m + np.log(np.sum(np.exp(x - m)))

    s2s.defvjp(my_logsumexp, "x", x="g * np.exp(x - ans)")

    def uses_it(x):
        return my_logsumexp(x) * 2.0

    x = np.array([0.5, -1.0, 2.0])
    g = s2s.grad(uses_it)(x)
    np.testing.assert_allclose(g, 2.0 * np.exp(x) / np.sum(np.exp(x)))
    assert "my_logsumexp" in s2s.source(s2s.grad(uses_it))
    assert s2s.grad(softplus_sum)(x) == pytest.approx(1 / (1 + np.exp(-x)))


def test_unshared_copies_only_a_repeated_array():
    # api._unshared's fast path (a tuple of distinct arrays and numbers, returned as it is) and its general one
    from s2s.api import _unshared
    a, b = np.ones(2), np.zeros(2)
    g = (a, b, 1.0, np.float32(2.0))
    assert _unshared(g) is g
    same = _unshared((a, a))
    assert same[0] is a and same[1] is not a and np.array_equal(same[1], a)
    nested = _unshared((a, [a, b]))
    assert nested[0] is a and nested[1][0] is not a and nested[1][1] is b
    view = a[:]
    assert _unshared((a, view))[1] is view  # (another array object: left as it is, as before)
    one = 3.5
    assert _unshared((one, one)) == (3.5, 3.5)
