"""s2s reads a function's lines as `inspect.getsourcelines` reads them (s2s/frontend.py `_source_lines`), without
inspect's search of every loaded module for the one that defines the file."""

import importlib.util
import inspect
import os
import textwrap

import numpy as np
import pytest

import s2s
from s2s import frontend

MODULE = textwrap.dedent('''\
    import functools

    import numpy as np


    def plain(x):
        return np.sin(x) * x


    square = lambda x: x * x  # noqa: E731


    @functools.lru_cache(maxsize=None)
    def decorated(n):
        return n + 1


    def outer(a):
        def inner(x):
            return a * x
        return inner


    pair = [lambda x: x + 1, lambda x: x - 1]


    class Holder:
        def method(self, x):
            return x ** 2
''')


def _load(path, name):
    """The module at `path`, loaded from its file and not put in sys.modules (as the fuzz tests load theirs)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def module(tmp_path):
    path = tmp_path / "source_lines_module.py"
    path.write_text(MODULE)
    return _load(path, "source_lines_module_unlisted")


def _codes(m):
    return {"plain": m.plain.__code__, "lambda": m.square.__code__, "decorated": m.decorated.__wrapped__.__code__,
            "nested": m.outer(2.0).__code__, "second lambda of a line": m.pair[1].__code__,
            "method": m.Holder.method.__code__}


def test_the_lines_are_inspect_s(module):
    for what, code in _codes(module).items():
        assert frontend._source_lines(code, module.__dict__) == inspect.getsourcelines(code), what


def test_a_file_edited_since_is_read_again(module, tmp_path):
    code = module.plain.__code__
    frontend._source_lines(code, module.__dict__)  # (the old text in linecache)
    path = tmp_path / "source_lines_module.py"
    path.write_text(MODULE.replace("np.sin(x) * x", "np.cos(x) + x  # edited"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # (a later time, as an editor's save gives)
    lines, _ = frontend._source_lines(code, module.__dict__)
    assert "edited" in "".join(lines) and frontend._source_lines(code, module.__dict__) == inspect.getsourcelines(code)
    with pytest.raises(s2s.SourceUnavailableError, match="cannot prove that the source it reads for 'plain' is the code"):
        s2s.grad(module.plain)(0.3)  # (the new text is not the code that runs)


def test_the_gradient_of_a_function_of_an_unlisted_module(module):
    assert s2s.grad(module.plain)(0.3) == pytest.approx(np.cos(0.3) * 0.3 + np.sin(0.3), rel=1e-12)
    assert s2s.grad(module.square)(1.5) == pytest.approx(3.0, rel=1e-12)
