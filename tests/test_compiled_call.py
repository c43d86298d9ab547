"""The steady-state call of compiled gradients (s2s/compiled_call.py): the hot function of a variant gives the
NumPy code's gradient (and central differences'), sees every change the general freshness check sees
(its inline tests agree with `Bound.fresh`), goes to the general path for other kinds of arguments, and
falls back with a warning when the compiled code raises the marked fallback.

numba compiles each function in a second or two: the functions here are small and few.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad

numba = pytest.importorskip("numba")

from s2s import compiled, compiled_call, rules  # noqa: E402
from s2s.runtime import compiled_helpers  # noqa: E402

_OFFSET = 0.5
_ACT = np.sin


def with_globals(x):
    total = 0.0
    for k in range(3):
        total = total + _ACT(x) * k + _OFFSET * x
    return total


def scaled(x, c=2.0):
    total = 0.0
    for k in range(4):
        total = total + c * np.sin(x * k)
    return total


def series(x):
    term = x
    total = x
    for k in range(1, 8):
        term = -term * x * x / ((2 * k) * (2 * k + 1))
        total = total + term
    return total


def weights(W, v):
    h = v
    for _ in range(3):
        h = np.tanh(h @ W)
    return np.sum(h * h)


def _variant(df, key=float):
    return df.__s2s_variants__[key]


def _inline_fresh(entry):
    tests, values = compiled_call.freshness_tests(entry)
    check = eval("lambda: (" + " and ".join(tests) + ")", dict(values))  # noqa: S307 - the tests s2s writes

    def run():
        try:
            return bool(check())
        except (KeyError, ValueError):
            return False
    return run


def test_hot_function_gives_the_gradient_and_keeps_the_signature():
    df = s2s.grad(series, compile="always")
    for x in (0.3, 0.3, -1.2, np.float64(0.7)):  # the second call runs the hot function
        np.testing.assert_allclose(df(x), s2s.grad(series)(x), rtol=1e-13)
        np.testing.assert_allclose(df(x), fd_grad(series, (float(x),), 0), rtol=1e-6)
    assert _variant(df).hot[1]
    assert inspect.signature(df) == inspect.signature(series)
    with pytest.raises(TypeError):
        df(0.3, 0.4)


def test_float32_scalar_keeps_its_dtype():
    df = s2s.grad(series, compile="always")
    for _ in range(2):  # the general path, then the hot function (numba's entry point for a float32)
        got = df(np.float32(0.5))
        assert type(got) is np.float32
        np.testing.assert_allclose(got, s2s.grad(series)(0.5), rtol=1e-6)
    assert _variant(df, np.float32).hot[1]


def test_rebound_global_function_and_data_give_the_new_derivative():
    global _ACT, _OFFSET
    df = s2s.grad(with_globals, compile="strict")
    np.testing.assert_allclose(df(0.5), 3 * np.cos(0.5) + 0.5 * 3, rtol=1e-12)
    np.testing.assert_allclose(df(0.5), 3 * np.cos(0.5) + 0.5 * 3, rtol=1e-12)  # hot
    try:
        _ACT = np.cos  # a global the transform resolved: the hot function's tests see it
        np.testing.assert_allclose(df(0.5), -3 * np.sin(0.5) + 1.5, rtol=1e-12)
        _OFFSET = 1.0  # data: read on every call
        np.testing.assert_allclose(df(0.5), -3 * np.sin(0.5) + 3.0, rtol=1e-12)
        np.testing.assert_allclose(df(0.5), fd_grad(with_globals, (0.5,), 0), rtol=1e-6)
    finally:
        _ACT, _OFFSET = np.sin, 0.5
    np.testing.assert_allclose(df(0.5), 3 * np.cos(0.5) + 1.5, rtol=1e-12)


def test_redefined_function_gives_the_new_derivative():
    def f(x):
        total = 0.0
        for k in range(3):
            total = total + x * x * k
        return total

    df = s2s.grad(f, compile="strict")
    assert df(0.5) == df(0.5) == pytest.approx(3.0)

    def g(x):  # f redefined in place (a notebook's autoreload replaces the code like this)
        total = 0.0
        for k in range(3):
            total = total + x * x * x * k
        return total

    f.__code__ = g.__code__
    np.testing.assert_allclose(df(0.5), 3 * 3 * 0.25, rtol=1e-12)
    np.testing.assert_allclose(df(0.5), fd_grad(f, (0.5,), 0), rtol=1e-6)


def test_code_with_more_parameters_gives_the_new_derivative():
    def f(x):
        total = 0.0
        for k in range(3):
            total = total + x * x * k
        return total

    def g(x, y=2.0):
        total = 0.0
        for k in range(3):
            total = total + x * y * k
        return total

    df = s2s.grad(f, compile="strict")
    assert df(0.5) == df(0.5) == pytest.approx(3.0)
    f.__code__, f.__defaults__ = g.__code__, g.__defaults__  # an edited function reloaded in place
    for args, expected in (((0.5,), 6.0), ((0.5,), 6.0), ((0.5, 3.0), 9.0), ((0.5, 3.0), 9.0), ((0.5,), 6.0)):
        np.testing.assert_allclose(df(*args), expected, rtol=1e-12)
    np.testing.assert_allclose(df(0.5, 3.0), fd_grad(f, (0.5, 3.0), 0), rtol=1e-6)


def test_defaults_and_keywords():
    df = s2s.grad(scaled, compile="strict")
    ref = s2s.grad(scaled)
    for args, kwargs in (((0.3,), {}), ((0.3,), {}), ((0.3, 3.0), {}), ((), {"x": 0.3}), ((0.3,), {"c": 1.0})):
        np.testing.assert_allclose(df(*args, **kwargs), ref(*args, **kwargs), rtol=1e-12)
    try:
        scaled.__defaults__ = (5.0,)  # read at the call, as Python does
        np.testing.assert_allclose(df(0.3), ref(0.3, 5.0), rtol=1e-12)
        np.testing.assert_allclose(df(0.3), fd_grad(scaled, (0.3, 5.0), 0), rtol=1e-6)
    finally:
        scaled.__defaults__ = (2.0,)


def test_other_kinds_of_arguments_take_the_general_path():
    rng = np.random.default_rng(3)
    W, v = rng.normal(size=(4, 4)) * 0.5, rng.normal(size=(2, 4))
    df = s2s.grad(weights, compile="always")
    ref = s2s.grad(weights)
    np.testing.assert_allclose(df(W, v), ref(W, v), rtol=1e-12)
    Wf = np.asfortranarray(W)  # the same shape and dtype, another layout: numba compiles it anew
    np.testing.assert_allclose(df(Wf, v), ref(W, v), rtol=1e-12)
    Wv = np.zeros((4, 8))
    Wv[:, ::2] = W  # a strided view
    np.testing.assert_allclose(df(Wv[:, ::2], v), ref(W, v), rtol=1e-12)
    np.testing.assert_allclose(df(W, v[:1]), ref(W, v[:1]), rtol=1e-12)  # another shape: a variant of its own
    np.testing.assert_allclose(df(W, v), fd_grad(weights, (W, v), 0), rtol=1e-6, atol=1e-8)


def test_inline_tests_agree_with_bound_fresh():
    global _ACT
    df = s2s.grad(with_globals, compile="always")
    df(0.5)
    entry = _variant(df).entry
    inline = _inline_fresh(entry)
    assert inline() and entry.fresh()
    try:
        _ACT = np.cos
        assert not inline() and not entry.fresh()
    finally:
        _ACT = np.sin
    assert inline() and entry.fresh()
    code = with_globals.__code__
    try:
        with_globals.__code__ = scaled.__code__
        assert not inline() and not entry.fresh()
    finally:
        with_globals.__code__ = code
    version = rules.version
    try:
        rules.version = version + 1000
        assert not inline() and not entry.fresh()
    finally:
        rules.version = version
    assert inline() and entry.fresh()


def test_fallback_raised_in_the_steady_state_warns_and_runs_numpy(monkeypatch):
    def raises(*args):
        raise ValueError(compiled_helpers.FALLBACK + "a case the test makes up")

    monkeypatch.setattr(compiled_call, "_entry_point", lambda dispatcher, args: (raises, 1))
    df = s2s.grad(series, compile="always")
    first = df(0.4)  # the general path: the dispatcher itself
    with pytest.warns(compiled.CompiledFallbackWarning, match="a case the test makes up"):
        assert df(0.4) == pytest.approx(first, rel=1e-12)  # the hot function: the made-up fallback
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert df(0.4) == pytest.approx(first, rel=1e-12)  # the NumPy code from now on, no more warnings
    assert _variant_numpy(df)


def _variant_numpy(df):
    """Every variant runs the NumPy code: no dispatcher, and a hot code (if any) that calls the NumPy function."""
    return all(v.call is None and all(code is False or v.entry.fn in code.co_consts for code in v.hot.values())
               for v in df.__s2s_variants__.values())


def test_other_value_error_is_raised(monkeypatch):
    def raises(*args):
        raise ValueError("not a fallback")

    monkeypatch.setattr(compiled_call, "_entry_point", lambda dispatcher, args: (raises, 1))
    df = s2s.grad(series, compile="always")
    df(0.4)
    with pytest.raises(ValueError, match="not a fallback"):
        df(0.4)


def test_runner_runs_the_hot_code_of_the_kind_called_last():
    df = s2s.grad(series, compile="always")
    first = df.__code__
    ref = s2s.grad(series)
    for x in (0.3, 0.3, np.float32(0.3), np.float32(0.3), 0.3, 0.3):
        np.testing.assert_allclose(df(x), ref(float(x)), rtol=1e-6 if type(x) is np.float32 else 1e-13)
    assert df.__code__ is _variant(df).hot[1] is not first  # the float variant's, called last
    np.testing.assert_allclose(df(x=0.3), ref(0.3), rtol=1e-13)  # a keyword: the same code takes it
    with pytest.raises(TypeError):
        df()
    with pytest.raises(TypeError):
        df(0.3, 0.4)
    assert df.__code__.co_consts.count(s2s.compiled.dispatcher(df, 0.3)) == 1  # the dispatcher is kept alive


def test_runner_in_threads_gives_each_kind_its_gradient():
    import threading
    df = s2s.grad(series, compile="always")
    ref = s2s.grad(series)
    xs = [0.1 * i for i in range(1, 9)]
    want = {x: ref(x) for x in xs}
    bad = []

    def work(k):
        for i in range(200):
            x = xs[(i + k) % len(xs)]
            arg = np.float32(x) if (i + k) % 3 == 0 else x
            got = df(arg)
            if abs(got - want[x]) > 1e-5 * abs(want[x]) + 1e-7:
                bad.append((arg, got))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


def test_defaults_of_the_function_are_not_tested_where_every_parameter_is_given():
    df = s2s.grad(scaled, compile="strict")
    ref = s2s.grad(scaled)
    for _ in range(2):
        np.testing.assert_allclose(df(0.3, 3.0), ref(0.3, 3.0), rtol=1e-12)  # the second call: the hot code
    entry = _variant(df, (float, float)).entry
    assert "_s2s_f0.__defaults__" in " ".join(compiled_call.freshness_tests(entry)[0])
    assert "__defaults__" not in " ".join(compiled_call.freshness_tests(entry, scaled)[0])
    assert "__defaults__" not in " ".join(df.__code__.co_names)  # the runner's hot code: c is always given
    try:
        scaled.__defaults__ = (5.0,)  # cannot change a call that gives c
        np.testing.assert_allclose(df(0.3, 3.0), ref(0.3, 3.0), rtol=1e-12)
        np.testing.assert_allclose(df(0.3), ref(0.3, 5.0), rtol=1e-12)  # c left out: the general path reads it
        np.testing.assert_allclose(df(0.3, 3.0), fd_grad(scaled, (0.3, 3.0), 0), rtol=1e-6)
    finally:
        scaled.__defaults__ = (2.0,)


def test_defaults_stay_tested_where_the_function_names_itself():
    def calls_itself(x, c=2.0):
        if x > 100.0:
            return calls_itself(x / 2.0)
        return c * x

    entry = type("Entry", (), {"version": rules.version, "ident": (), "rest": (),
                               "funcs": ((calls_itself, calls_itself.__code__, calls_itself.__defaults__, None),)})
    assert "__defaults__" in " ".join(compiled_call.freshness_tests(entry, calls_itself)[0])


def test_short_calls_keep_the_gil_and_give_the_same_numbers(monkeypatch):
    monkeypatch.setattr(compiled_call, "_KEEP_GIL_S", 1.0)  # every call "short", however loaded the machine is
    df = s2s.grad(series, compile="always")
    df(0.4)
    dispatcher = s2s.compiled.dispatcher(df, 0.4)
    cres = next(iter(dispatcher.overloads.values()))
    kept, omitted = compiled_call._entry_point(dispatcher, (0.4,))
    assert kept is not cres.entry_point  # a few hundred nanoseconds: the wrapper that keeps the GIL
    for x in (0.4, -1.3, 2.5):
        assert kept(x, *[None] * omitted) == dispatcher(x) == cres.entry_point(x, *[None] * omitted)
    monkeypatch.setattr(compiled_call, "_KEEP_GIL_S", 0.0)  # every call "long": numba's entry point
    assert compiled_call._entry_point(dispatcher, (0.4,))[0] is cres.entry_point


def test_global_names_are_tested_as_python_reads_them(tmp_path):
    import builtins
    import importlib.util
    import math

    from s2s.errors import NoDerivativeRuleError
    path = tmp_path / "loop_module.py"
    path.write_text("import numpy as np\n\n\n"
                    "def loop(x):\n"
                    "    total = 0.0\n"
                    "    for k in range(4):\n"
                    "        total = total + np.sin(x * k)\n"
                    "    return total\n")
    spec = importlib.util.spec_from_file_location("loop_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # a module of its own, whose globals the test changes
    space, loop = module.__dict__, module.loop
    df = s2s.grad(loop, compile="always")
    want = sum(k * np.cos(0.3 * k) for k in range(4))
    for _ in range(2):
        np.testing.assert_allclose(df(0.3), want, rtol=1e-12)  # the second call: the hot code
    assert {"range", "np"} <= set(df.__code__.co_names)  # read as global names, not looked up in dicts
    try:
        space["range"] = lambda *a: builtins.range(*a)  # shadows the builtin: seen by the hot code
        with pytest.warns(compiled.CompiledFallbackWarning, match="range"):  # numba cannot call the lambda
            np.testing.assert_allclose(df(0.3), want, rtol=1e-12)
        assert _variant(df).call is None  # the NumPy code, from its own hot code on the next calls
        np.testing.assert_allclose(df(0.3), want, rtol=1e-12)
        assert _variant_numpy(df)
        del space["range"]
        np.testing.assert_allclose(df(0.3), want, rtol=1e-12)
        df(0.3)
        entry = _variant(df).entry
        space["np"] = math  # another module under the name: a new derivative (math.sin), made and compiled
        np.testing.assert_allclose(df(0.3), want, rtol=1e-12)
        assert _variant(df).entry is not entry and _variant(df).hot[1]
        del space["np"]
        with pytest.raises(NoDerivativeRuleError, match="np.sin"):  # the hot code's NameError: the general path
            df(0.3)
    finally:
        space["np"] = np
        space.pop("range", None)
    np.testing.assert_allclose(df(0.3), want, rtol=1e-12)


def test_need_value_gives_the_same_pair_from_the_hot_code():
    df = compiled.grad(series, mode="always", need_value=True)
    first, second = df(0.3), df(0.3)  # the general path, then the hot code
    assert type(first) is tuple and type(second) is tuple and first[0] == second[0]
    assert first[1] == second[1] == pytest.approx(s2s.grad(series)(0.3), rel=1e-13)
