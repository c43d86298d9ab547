"""The source s2s differentiates is the source of the code that runs, or s2s refuses.

s2s compiles the current text of the function's file (or notebook cell) and compares the code
Python makes of it with the live code object: several lambdas on one line are told apart by
their code, and a file edited after import is refused rather than differentiated as new text.
"""

from __future__ import annotations

import importlib
import itertools
import linecache
import os
import sys

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s

_names = itertools.count()


def _module(tmp_path, monkeypatch, text):
    name = f"s2s_source_mod_{next(_names)}"
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    module = importlib.import_module(name)
    monkeypatch.setitem(sys.modules, name, module)
    return module, path


def _edit(path, text):
    st = os.stat(path)
    path.write_text(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))  # a new mtime, whatever the clock


def _cell(ns, source, name=None):
    name = name or f"<ipython-input-{next(_names)}-0123456789ab>"
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    exec(compile(source, name, "exec"), ns)
    return ns


def _grads(f, x):
    return s2s.grad(f)(x), s2s.value_and_grad(f)(x)[1]


# ---- lambdas on one line -------------------------------------------------------------------------

LAMBDAS = """import numpy as np

sq, cube = lambda x: x * x, lambda x: x * x * x
same_a, same_b = lambda x: x * x, lambda x: x * x
trig = (lambda y: np.sin(y) * y, lambda y: np.cos(y) * y)
spread = (lambda x:
          x * x * x, lambda x: 2.0 * x)
"""


def test_two_lambdas_on_one_line(tmp_path, monkeypatch):
    m, _ = _module(tmp_path, monkeypatch, LAMBDAS)
    assert _grads(m.cube, 2.0) == (12.0, 12.0)
    assert _grads(m.sq, 2.0) == (4.0, 4.0)
    assert _grads(m.same_b, 3.0) == (6.0, 6.0)
    for f in m.trig:
        for g in _grads(f, 0.7):
            assert np.isclose(g, fd_grad(f, (0.7,)))
    assert _grads(m.spread[0], 2.0) == (12.0, 12.0)
    assert _grads(m.spread[1], 2.0) == (2.0, 2.0)


def test_two_lambdas_on_one_line_in_a_cell():
    ns = _cell({"np": np}, "sq, cube = lambda x: x * x, lambda x: x * x * x\n")
    assert _grads(ns["cube"], 2.0) == (12.0, 12.0)
    assert _grads(ns["sq"], 2.0) == (4.0, 4.0)
    assert s2s.derivative(ns["cube"])(2.0) == 12.0
    assert s2s.derivative(ns["sq"])(2.0) == 4.0


def test_lambdas_on_an_edited_line(tmp_path, monkeypatch):
    m, path = _module(tmp_path, monkeypatch, LAMBDAS)
    _edit(path, LAMBDAS.replace("sq, cube = lambda x: x * x,", "sq, cube = lambda x: x * x * x * x,"))
    assert _grads(m.cube, 2.0) == (12.0, 12.0)  # its own text is still there
    with pytest.raises(s2s.SourceUnavailableError, match="changed since"):
        s2s.grad(m.sq)(2.0)


# ---- files edited after import -------------------------------------------------------------------

MODULE = """import numpy as np


def f(x):
    return np.sin(x) * x


def other(x):
    return x * x
"""


def test_file_edited_after_import_is_refused(tmp_path, monkeypatch):
    m, path = _module(tmp_path, monkeypatch, MODULE)
    _edit(path, MODULE.replace("np.sin(x) * x", "np.cos(x) * x"))
    for make in (s2s.grad, s2s.value_and_grad, s2s.derivative):
        with pytest.raises(s2s.SourceUnavailableError, match="changed since") as info:
            make(m.f)(0.5)
        assert "importlib.reload" in str(info.value) and "restart" in str(info.value)
        assert info.value.filename == str(path) and info.value.lineno == 4
    with pytest.raises(s2s.SourceUnavailableError, match="changed since"):
        s2s.vjp(m.f, 0.5)


def test_file_edited_after_a_gradient_is_refused(tmp_path, monkeypatch):
    m, path = _module(tmp_path, monkeypatch, MODULE)
    g = s2s.grad(m.f)
    assert np.isclose(g(0.5), np.cos(0.5) * 0.5 + np.sin(0.5))
    _edit(path, MODULE.replace("np.sin(x) * x", "np.cos(x) * x"))
    importlib.reload(m)  # the new f; the old one still runs the old code
    assert np.isclose(s2s.grad(m.f)(0.5), -np.sin(0.5) * 0.5 + np.cos(0.5))


def test_lines_inserted_above_are_refused(tmp_path, monkeypatch):
    m, path = _module(tmp_path, monkeypatch, MODULE)
    _edit(path, MODULE.replace("import numpy as np\n", "import numpy as np\nSCALE = 2.0\n\n"))
    with pytest.raises(s2s.SourceUnavailableError, match="changed since"):
        s2s.grad(m.f)(0.5)


def test_file_edited_elsewhere_is_fine(tmp_path, monkeypatch):
    m, path = _module(tmp_path, monkeypatch, MODULE)
    _edit(path, MODULE.replace("return x * x", "return x * x * x") + "\n\ndef added(x):\n    return x\n")
    for g in _grads(m.f, 0.5):
        assert np.isclose(g, np.cos(0.5) * 0.5 + np.sin(0.5))


def test_file_that_no_longer_compiles_is_refused(tmp_path, monkeypatch):
    m, path = _module(tmp_path, monkeypatch, MODULE)
    _edit(path, MODULE + "\ndef broken(:\n")
    with pytest.raises(s2s.SourceUnavailableError, match="does not compile now"):
        s2s.grad(m.f)(0.5)


def test_text_that_is_not_what_was_compiled_is_refused():
    name = "<s2s-test-mismatch>"
    ns = {}
    exec(compile("def f(x):\n    return x * x\n", name, "exec"), ns)
    text = "def f(x):\n    return x * x * x\n"
    linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    with pytest.raises(s2s.SourceUnavailableError, match="changed since"):
        s2s.grad(ns["f"])(2.0)


def test_the_later_of_two_defs_of_one_name(tmp_path, monkeypatch):
    text = "def f(x):\n    return x * x\n\n\ndef f(x):\n    return x * x * x\n"
    m, _ = _module(tmp_path, monkeypatch, text)
    assert _grads(m.f, 2.0) == (12.0, 12.0)


# ---- what must keep working ----------------------------------------------------------------------

KINDS = """from __future__ import annotations

import numpy as np
import s2s


@s2s.grad
def decorated(x: float) -> float:
    return np.sin(x) * x


class Model:
    def __init__(self):
        self.__w = 3.0

    def loss(self, x: float) -> float:
        return self.__w * x * x

    class Inner:
        def f(self, x):
            return x * x * x


def factory(a):
    def inner(x):
        return np.sin(a * x) + a
    return inner
"""


def test_decorated_methods_nested_and_closures(tmp_path, monkeypatch):
    m, _ = _module(tmp_path, monkeypatch, KINDS)
    assert np.isclose(m.decorated(0.5), np.cos(0.5) * 0.5 + np.sin(0.5))
    assert _grads(m.Model().loss, 2.0) == (12.0, 12.0)
    assert _grads(m.Model.Inner().f, 2.0) == (12.0, 12.0)
    inner = m.factory(2.0)
    for g in _grads(inner, 0.3):
        assert np.isclose(g, 2.0 * np.cos(0.6))


def with_assert(x):
    assert x > 0.0  # pytest rewrites the asserts of test modules: the code that runs is the rewritten one
    return x * x


def test_function_with_assert_in_a_pytest_module():
    assert _grads(with_assert, 3.0) == (6.0, 6.0)


def test_notebook_cells():
    ns = _cell({"np": np, "s2s": s2s}, "def h(x):\n    return np.exp(x)\n")
    _cell(ns, "@s2s.grad\ndef dh(x):\n    return h(x) * x\n")
    assert np.isclose(ns["dh"](1.0), 2 * np.e)
    _cell(ns, "def h(x):\n    return x * x\n")  # the cell edited and run again
    assert np.isclose(ns["dh"](1.0), 3.0)


def test_generated_code_differentiated_again():
    def f(x):
        return np.sin(x) * x

    assert np.isclose(s2s.grad(s2s.grad(f))(0.5), 2 * np.cos(0.5) - 0.5 * np.sin(0.5))
    assert np.allclose(s2s.hessian(lambda v: np.sum(v ** 3))(np.array([1.0, 2.0])), np.diag([6.0, 12.0]))
