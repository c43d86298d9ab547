"""Where a call through a function value is, and the code of a local function passed as a value, belong to
the generated code that reads them (transforms/refusals.py), as the errors of run-time checks do.

`s2s.call_vjp(f, site, (0,), x)` and `g = s2s.local_function(g_code, (w,))` read records bound in the
generated function's closure: each function's call raises its error at its own line, nothing in the
runtime grows with each transform, forward over reverse reads the first derivative's records, and printed
code defines them (the local function's code as `LocalCode(f, 'g', line)`) so it runs when pasted.
"""

import ast
import linecache

import numpy as np
import pytest

import s2s
from s2s.runtime import LocalCode, calls, desugared
from tests.helpers_fd import assert_close, fd_grad


def bump(v):
    v += 1.0
    return v


def apply_here(f, x):
    return np.sum(f(x) * x)  # apply_here's call


def apply_there(f, x):
    y = x * 2.0
    return np.sum(f(y))  # apply_there's call


def wave(x, w):
    g = lambda t: w * np.sin(t)  # noqa: E731 - the local function passed as a value
    return apply_here(g, x)


def wave_of_x(x):
    w = x[0] * 1.0
    g = lambda t: w * np.sin(t)  # noqa: E731 - a closure over a differentiated value
    return apply_here(g, x)


def _line(func, marker):
    import inspect
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, text in enumerate(lines) if marker in text)


X, W = np.array([0.3, -0.7, 1.1]), 1.5


def test_each_function_raises_its_own_error_at_its_own_line():
    for func in (apply_here, apply_there):
        g = s2s.grad(func, wrt=1)
        assert_close(g(np.tanh, X), fd_grad(lambda x: func(np.tanh, x), (X,)))
        with pytest.raises(s2s.UnsupportedSyntaxError, match="updates its argument `v` in place") as info:
            g(bump, X)
        assert info.value.lineno == _line(func, f"{func.__name__}'s call")


def test_the_records_are_in_the_derivatives_closure():
    text = s2s.source(s2s.grad(wave, wrt=(0, 1)))
    assert "s2s.local_function(g_code, " in text and "s2s.call_closure_vjp(f, site, " in text
    assert f"g_code = LocalCode(wave, '<lambda>', {_line(wave, 'the local function')})" in text
    call_line = _line(apply_here, "apply_here's call")
    assert f"'lineno': {call_line}" in text


def _fresh(k):
    """A function of its own file (a cell of a notebook), with a call through a function value and a
    local function passed as a value."""
    name = f"<s2s-call-records-{k}>"
    text = (f"import numpy as np\n\ndef apply(f, x):\n    return f(x) * {k}.0\n\n"
            f"def outer(x, w):\n    g = lambda t: w * np.sin(t) + {k}.0\n    return np.sum(apply(g, x))\n")
    linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    namespace = {}
    exec(compile(text, name, "exec"), namespace)  # noqa: S102 - a test's own source
    return namespace["outer"]


def test_nothing_in_the_runtime_grows_with_each_transform():
    def lists():
        return {(m.__name__, n): len(v) for m in (calls, desugared) for n, v in vars(m).items()
                if isinstance(v, list)}
    before = lists()
    for k in range(1, 21):
        outer = _fresh(k)
        gx, gw = s2s.grad(outer, wrt=(0, 1))(X, W)
        assert_close(gx, k * W * np.cos(X))
        assert_close(gw, k * np.sum(np.sin(X)))
    assert lists() == before


def test_forward_over_reverse_through_the_local_function():
    h = s2s.hessian(wave_of_x)(X)
    expected = np.stack([fd_grad(lambda x, i=i: s2s.grad(wave_of_x)(x)[i], (X,)) for i in range(len(X))])
    assert_close(h, expected, rtol=1e-5, atol=1e-6)
    v = np.array([0.2, -0.4, 0.5])
    assert_close(s2s.hvp(wave_of_x)(X, v), expected @ v, rtol=1e-5, atol=1e-6)


def test_forward_over_reverse_raises_the_first_derivatives_error():
    h = s2s.hessian(apply_there, wrt=1)
    assert_close(h(np.sin, X), np.diag(-4.0 * np.sin(2.0 * X)), rtol=1e-6, atol=1e-8)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="in place") as info:
        h(bump, X)
    assert info.value.lineno == _line(apply_there, "apply_there's call")


def _pasted(text):
    """Run printed code as a user pasting it into a file; returns its last function (the derivative)."""
    namespace = {}
    exec(compile(text, "<printed>", "exec"), namespace)  # noqa: S102 - the text s2s printed
    last = [n.name for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)][-1]
    return namespace[last], namespace


def test_printed_code_runs_and_gives_the_same_numbers():
    g = s2s.grad(wave, wrt=(0, 1))
    text = s2s.source(g)
    assert f"from {__name__} import wave" in text
    pasted, namespace = _pasted(text)
    assert isinstance(namespace["g_code"], LocalCode) and namespace["g_code"] == LocalCode(
        wave, "<lambda>", _line(wave, "the local function"))
    for got, want in zip(pasted(X, W), g(X, W)):
        assert_close(got, want)
    assert_close(pasted(X, W)[1], fd_grad(wave, (X, W), wrt=1))


def test_printed_code_raises_the_error_at_the_users_line():
    g = s2s.grad(apply_there, wrt=1)
    pasted, _ = _pasted(s2s.source(g))
    assert_close(pasted(np.tanh, X), g(np.tanh, X))
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        pasted(bump, X)
    assert info.value.lineno == _line(apply_there, "apply_there's call")


def test_a_closure_that_local_function_did_not_make_is_refused():
    made = calls.local_function(LocalCode(wave, "<lambda>", _line(wave, "the local function")), (W,))
    assert made(0.5) == W * np.sin(0.5)
    plain = (lambda w: lambda t: w * np.sin(t))(W)
    assert calls._made_by_local_function(made) and not calls._made_by_local_function(plain)
