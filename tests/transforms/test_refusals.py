"""The errors of run-time checks belong to the generated code that raises them (transforms/refusals.py).

`s2s.unshared(t, site, ...)` passes its error record under a name the generated function's closure binds:
a caller and the helper it calls each raise their own error at their own line, forward over reverse
(hessian) raises the first derivative's, and printed code defines each record under a name of its own.
"""

import numpy as np
import pytest

import s2s
from s2s import codegen
from s2s.errors import NotCompilableError
from tests.helpers_fd import assert_close, fd_grad


def bump(x, y):
    x += 1.0  # bump's update
    return np.sum(x * x * y)


def caller(a, b, c):
    a += 2.0  # caller's update
    return bump(b * 1.0, c) + np.sum(a * a)


def _line(func, marker):
    import inspect
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, text in enumerate(lines) if marker in text)


A, B, C = np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([0.5, -1.0])


def _plain(a, b, c):
    return np.sum((b + 1.0) ** 2 * c) + np.sum((a + 2.0) ** 2)


def test_each_function_raises_its_own_error():
    g = s2s.grad(caller, wrt=(0, 1, 2))
    for got, wrt in zip(g(A, B, C), range(3)):
        assert_close(got, fd_grad(_plain, (A, B, C), wrt=wrt))
    with pytest.raises(s2s.UnsupportedSyntaxError, match="`a` in place") as info:
        g(A, A, C)
    assert info.value.lineno == _line(caller, "caller's update")
    with pytest.raises(s2s.UnsupportedSyntaxError, match="`x` in place") as info:
        s2s.grad(bump)(A, A)
    assert info.value.lineno == _line(bump, "bump's update")


def test_forward_over_reverse_raises_the_first_derivatives_error():
    h = s2s.hessian(bump)(A, C)
    expected = np.stack([fd_grad(lambda x, i=i: (2.0 * (x + 1.0) * C)[i], (A,)) for i in range(2)])
    assert_close(h, expected)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="`x` in place") as info:
        s2s.hessian(bump)(A, A)
    assert info.value.lineno == _line(bump, "bump's update")


def test_printed_code_defines_each_record_under_its_own_name():
    g = s2s.grad(caller, wrt=(0, 1, 2))
    text = s2s.source(g)
    namespace = {}
    exec(compile(text, "<printed>", "exec"), namespace)
    records = {name: value for name, value in namespace.items() if name.startswith("site")}
    assert sorted(r["lineno"] for r in records.values()) == [_line(bump, "bump's update"),
                                                             _line(caller, "caller's update")]
    pasted = namespace["dcaller_da_b_c"]
    for got, want in zip(pasted(A, B, C), g(A, B, C)):
        assert_close(got, want)
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        pasted(A, A, C)
    assert info.value.lineno == _line(caller, "caller's update")
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        namespace["bump_vjp"](A, A)
    assert info.value.lineno == _line(bump, "bump's update")


def test_renaming_touches_only_the_name():
    source = "def f(x):\n    y = s2s.unshared(x, site, False, x)  # site\n    return g(site=site, z='site', w=o.site)\n"
    assert codegen._renamed(source, {"site": "site_2"}) == (
        "def f(x):\n    y = s2s.unshared(x, site_2, False, x)  # site\n"
        "    return g(site=site_2, z='site', w=o.site)\n")


def test_compiled_code_names_the_check_it_cannot_take():
    pytest.importorskip("numba")
    with pytest.raises(NotCompilableError, match="run-time check of an in-place update"):
        s2s.grad(bump, compile="strict")(A, C)
