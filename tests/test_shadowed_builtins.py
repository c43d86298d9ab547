"""A module that defines its own `range`, `len`, `reversed` or `zip` changes the user's code, as in Python,
and not the loops s2s writes itself (transforms/names.builtin, pipeline.HELPER_VALUES)."""

import builtins
import importlib
import sys

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s

MODULE = '''
import numpy as np
import s2s


def loop(x):
    total = 0.0
    for k in range(4):
        total = total + np.sin(x * k)
    return total


def while_loop(x):
    total = 0.0
    k = 0
    while k < 4:
        total = total + np.sin(x * k)
        k = k + 1
    return total


def zipped(x, y):
    total = 0.0
    for a, b in zip(x, y):
        total = total + a * b
    return total


STEPS = list(range(12))  # (made before the test shadows range: the loop below names no builtin)


def checkpointed(x):
    h = x
    for _ in s2s.checkpoint(STEPS, every=3):
        h = np.tanh(h * 1.1)
    return np.sum(h)


def own_names(x, y):
    len = 2.0  # the user's variables named like the builtins s2s's loops call
    list = 3.0
    total = 0.0
    for a, b in zip(x, y):
        total = total + a * b * len * list
    return total
'''


@pytest.fixture
def module(tmp_path, monkeypatch):
    name = f"s2s_shadow_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    mod = importlib.import_module(name)
    yield mod
    sys.modules.pop(name, None)


def _close(got, f, args, wrt=0):
    np.testing.assert_allclose(got, fd_grad(f, args, wrt), rtol=1e-6, atol=1e-8)


def test_the_users_range_shadowed_before_the_first_call(module):
    module.range = lambda n: builtins.range(n - 1)  # the user's loop runs 3 trips; s2s's must too
    _close(s2s.grad(module.loop)(0.3), module.loop, (0.3,))
    assert "from builtins import range as range_" in s2s.source(s2s.grad(module.loop))


def test_range_shadowed_and_restored_between_calls(module):
    g = s2s.grad(module.loop)
    _close(g(0.3), module.loop, (0.3,))
    module.range = lambda n: builtins.range(n - 1)
    _close(g(0.3), module.loop, (0.3,))
    del module.range
    _close(g(0.3), module.loop, (0.3,))


def test_builtins_shadowed_after_the_transform_do_not_reach_s2s_loops(module):
    x, y = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    gw, gz, gc = s2s.grad(module.while_loop), s2s.grad(module.zipped), s2s.grad(module.checkpointed)
    before = gw(0.3), gz(x, y), gc(x)
    module.range = lambda *a: builtins.range(*a)[:1]
    module.reversed = lambda r: list(r)
    module.len = lambda s: 1
    module.min = lambda *a: 0
    after = gw(0.3), gz(x, y), gc(x)
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(after[1], y)


def test_user_variables_named_like_the_builtins_s2s_calls(module):
    x, y = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    got = s2s.grad(module.own_names)(x, y)
    np.testing.assert_allclose(got, 6.0 * y)
    _close(got, module.own_names, (x, y))


def test_printed_code_names_no_builtin_it_does_not_rename(module):
    text = s2s.source(s2s.grad(module.while_loop))
    assert "from builtins" not in text and "for _ in range(trips):" in text
