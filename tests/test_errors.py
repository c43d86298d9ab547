"""Constructs and calls s2s refuses, and the errors it raises for them (pointing at the user's line)."""

import inspect
import os

import numpy as np
import pytest

import s2s

COUNTER = 0.0


def with_try(x):
    y = x * 2.0
    try:
        y = y * x
    except ValueError:
        y = x
    return np.sum(y)


def with_with(x):
    y = x * 2.0
    with open(os.devnull) as fh:
        fh.read()
    return np.sum(y)


def with_yield(x):
    y = x * 2.0
    yield np.sum(y)


def with_global(x):
    global LATEST
    LATEST = x * 2.0  # (differentiated, then read back: a constant of the derivative)
    return np.sum(LATEST * x)


def make_nonlocal():
    c = 1.0

    def with_nonlocal(x):
        nonlocal c
        c = c * 2.0
        return np.sum(x * c)

    return with_nonlocal


with_nonlocal = make_nonlocal()


def with_class(x):
    class Box:
        pass

    return np.sum(x * x)


def with_del(x):
    y = x * x
    del y
    return np.sum(x)


async def with_async(x):
    return np.sum(x * x)


def with_fft(x):
    y = np.fft.fft(x)
    return np.sum(np.abs(y))


def vector_out(x):
    return x * 2.0


def list_out(x):
    return [np.sum(x), np.sum(x * x)]


def tuple_out(x):
    return np.sum(x), np.sum(x * x)


def matrix_out(x):
    return np.outer(x, x)


def two_params(x, y):
    return np.sum(x * y)


_ns = {}
exec("def made_by_exec(x):\n    return x * x\n", {"np": np}, _ns)
made_by_exec = _ns["made_by_exec"]


def calls_exec_built(x):
    return np.sum(made_by_exec(x))


def _line_of(func, marker):
    lines, first = inspect.getsourcelines(func)
    for k, text in enumerate(lines):
        if marker in text:
            return first + k
    raise AssertionError(f"{marker!r} not in the source of {func.__name__}")


UNSUPPORTED = [
    (with_try, "try:"),
    (with_with, "with open"),
    (with_yield, "yield np"),
    (with_global, "LATEST = "),
    (with_nonlocal, "nonlocal c"),
    (with_class, "class Box"),
    (with_del, "del y"),
]


@pytest.mark.parametrize("func,marker", UNSUPPORTED, ids=[f.__name__ for f, _ in UNSUPPORTED])
def test_unsupported_syntax_points_at_file_and_line(func, marker):
    x = np.array([1.0, 2.0])
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.grad(func)(x)
    text = str(info.value)
    assert __file__ in text or os.path.basename(__file__) in text
    assert f"line {_line_of(func, marker)}" in text
    assert info.value.lineno == _line_of(func, marker)
    assert isinstance(info.value, s2s.S2SError)


def test_async_function_points_at_file_and_line():
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.grad(with_async)(np.array([1.0, 2.0]))
    text = str(info.value)
    assert os.path.basename(__file__) in text
    assert f"line {_line_of(with_async, 'async def')}" in text


def test_async_function_is_refused():
    with pytest.raises(s2s.UnsupportedSyntaxError):
        s2s.grad(with_async)(np.array([1.0, 2.0]))


def test_unsupported_syntax_also_from_vjp():
    with pytest.raises(s2s.UnsupportedSyntaxError):
        s2s.vjp(with_del, np.array([1.0, 2.0]))


def test_no_derivative_rule_names_the_function():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        s2s.grad(with_fft)(x)
    assert "fft" in str(info.value)
    assert isinstance(info.value, s2s.S2SError)


def test_source_unavailable_for_exec_function():
    with pytest.raises(s2s.SourceUnavailableError) as info:
        s2s.grad(made_by_exec)(2.0)
    assert "made_by_exec" in str(info.value)
    assert isinstance(info.value, s2s.S2SError)


def test_source_unavailable_for_exec_function_called_from_user_code():
    with pytest.raises((s2s.SourceUnavailableError, s2s.NoDerivativeRuleError)) as info:
        s2s.grad(calls_exec_built)(np.array([1.0, 2.0]))
    assert "made_by_exec" in str(info.value)




@pytest.mark.parametrize("func", [
    vector_out,
    list_out,
    tuple_out,
    matrix_out,
], ids=["vector", "list", "tuple", "matrix"])
def test_non_scalar_output(func):
    with pytest.raises(s2s.NonScalarOutputError) as info:
        s2s.grad(func)(np.array([1.0, 2.0]))
    assert isinstance(info.value, s2s.S2SError)
    assert func.__name__ in str(info.value)


def test_non_scalar_output_from_value_and_grad():
    with pytest.raises(s2s.NonScalarOutputError):
        s2s.value_and_grad(vector_out)(np.array([1.0, 2.0]))


def test_vjp_accepts_non_scalar_output():
    value, pullback = s2s.vjp(vector_out, np.array([1.0, 2.0]))
    np.testing.assert_allclose(value, [2.0, 4.0])
    np.testing.assert_allclose(pullback(np.array([1.0, -3.0])), [2.0, -6.0])


@pytest.mark.parametrize("wrt", [2, -3, 10, (0, 2)])
def test_wrt_out_of_range(wrt):
    with pytest.raises((IndexError, ValueError)):
        s2s.grad(two_params, wrt=wrt)(np.ones(2), np.ones(2))


@pytest.mark.parametrize("wrt", ["z", ("x", "nope")])
def test_wrt_unknown_name(wrt):
    with pytest.raises(ValueError):
        s2s.grad(two_params, wrt=wrt)(np.ones(2), np.ones(2))


def test_wrt_bad_type():
    with pytest.raises(TypeError):
        s2s.grad(two_params, wrt=1.5)


def test_source_of_plain_function_is_an_error():
    with pytest.raises(s2s.S2SError):
        s2s.source(two_params)


def test_error_hierarchy():
    for cls in (s2s.UnsupportedSyntaxError, s2s.NoDerivativeRuleError, s2s.SourceUnavailableError,
                s2s.NonScalarOutputError):
        assert issubclass(cls, s2s.S2SError)
