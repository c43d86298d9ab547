"""helper-71's adversarial cases for the hot call (api._runner, compiled_call.make_hot_numpy): the rule
registry changing after the hot code is installed, module attributes swapped, callables and objects passed as
arguments (keyed only by their type), the Memo emptied, and a function run with builtins of its own (exec with
a `__builtins__` dict), whose derivative read Python's builtins and was wrong (3.75 for 6.75) before it was
refused. Each gradient is compared with central differences on repeated calls (the second call runs the hot
code)."""

from __future__ import annotations

import builtins
import linecache
import types

import numpy as np
import pytest

import s2s
from s2s import cache
from s2s.errors import NoDerivativeRuleError
from tests.helpers_fd import fd_grad

_X = np.array([0.3, -0.7, 1.1])


def _close(g, f, args, wrt=0):
    for _ in range(2):  # the first call installs the hot code, the second runs it
        np.testing.assert_allclose(g(*args), fd_grad(f, args, wrt), rtol=1e-6, atol=1e-8)


def _cell(src, namespace, n):
    """exec `src` as a notebook cell does: a file name of its own whose lines linecache holds."""
    name = f"<ipython-input-h71-{n}>"
    linecache.cache[name] = (len(src), None, src.splitlines(True), name)
    exec(compile(src, name, "exec"), namespace)


def test_own_builtins_with_another_abs_are_refused_not_differentiated_as_pythons():
    own = dict(builtins.__dict__)
    own["abs"] = lambda v: v * v
    namespace = {"np": np, "__builtins__": own}
    _cell("def f(x):\n    return abs(x) * x\n", namespace, 1)
    assert namespace["f"](2.0) == 8.0
    with pytest.raises(NoDerivativeRuleError, match="builtins of its own"):
        s2s.grad(namespace["f"])(1.5)


def test_own_builtins_changed_after_the_hot_code_is_installed_are_seen():
    own = dict(builtins.__dict__)
    namespace = {"np": np, "__builtins__": own}
    _cell("def f(x):\n    return abs(x) * x\n", namespace, 2)
    g = s2s.grad(namespace["f"])
    assert g(1.5) == g(1.5) == 3.0
    own["abs"] = lambda v: v * v
    with pytest.raises(NoDerivativeRuleError, match="builtins of its own"):
        g(1.5)  # was 3.75: abs's rule, with the value of the function's own abs
    own["abs"] = builtins.abs
    assert g(1.5) == g(1.5) == 3.0


def _square(x):
    return x * x


def test_defvjp_registered_replaced_after_the_hot_code():
    def square(x):
        return x * x

    def f(x):
        return square(x) + 1.0

    g = s2s.grad(f)
    assert g(3.0) == g(3.0) == 6.0
    s2s.defvjp(square, lambda ans, x: lambda gg: gg * 100.0)
    assert g(3.0) == g(3.0) == 100.0
    s2s.defvjp(square, lambda ans, x: lambda gg: gg * 7.0)
    assert g(3.0) == g(3.0) == 7.0


def test_module_attribute_swapped_and_restored():
    mod = types.ModuleType("h71_mod")
    mod.helper = np.sin
    glob = {"mod": mod, "np": np}
    _cell("def f(x):\n    return np.sum(mod.helper(x))\n", glob, 3)
    f = glob["f"]
    g = s2s.grad(f)
    _close(g, f, (_X,))
    mod.helper = np.tanh
    _close(g, f, (_X,))
    mod.helper = np.sin
    _close(g, f, (_X,))


def _apply(x, act):
    return np.sum(act(x))


def test_callable_argument_swapped_between_calls():
    g = s2s.grad(_apply)
    for act in (np.tanh, np.sin, np.tanh, _square, lambda v: v ** 4, np.sin):
        _close(g, _apply, (_X, act))


class _Cfg:
    pass


def _configured(x, cfg):
    s = 0.0
    for i in range(cfg.n):
        s = s + cfg.scale * np.sum(x ** (i + 1))
    return s


def test_object_argument_attributes_changed_between_calls():
    cfg = _Cfg()
    cfg.scale, cfg.n = 2.0, 2
    g = s2s.grad(_configured)
    _close(g, _configured, (_X, cfg))
    cfg.scale = -3.0
    _close(g, _configured, (_X, cfg))
    cfg.n = 3
    _close(g, _configured, (_X, cfg))


def _cubic(x):
    return np.sum(x ** 2)


def test_memo_cleared_and_code_replaced_while_the_hot_code_stays():
    def cubed(x):
        return np.sum(x ** 3)

    g = s2s.grad(_cubic)
    saved = _cubic.__code__
    try:
        _close(g, _cubic, (_X,))
        cache.clear()
        _close(g, _cubic, (_X,))
        _cubic.__code__ = cubed.__code__
        cache.clear()
        _close(g, _cubic, (_X,))
    finally:
        _cubic.__code__ = saved
