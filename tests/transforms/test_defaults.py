"""Int parameters left to their defaults read as those ints (transforms/defaults.py), source to source."""

import ast

import numpy as np
import pytest
from s2s.transforms.defaults import read_fixed_params


def _fixed(src, values):
    fdef = ast.parse(src).body[0]
    read_fixed_params(fdef, values)
    return ast.unparse(fdef)


def test_reads_become_the_int():
    out = _fixed("def f(x, n=3):\n    return x[:n] * n", {"n": 3})
    assert out.endswith("return x[:3] * 3"), out


@pytest.mark.parametrize("src", [
    "def f(x, n=3):\n    n = n + 1\n    return x[:n]",
    "def f(x, n=3):\n    for n in range(2):\n        pass\n    return x[:n]",
    "def f(x, n=3):\n    g = lambda n: n\n    return x[:n]",
    "def f(x, n=3):\n    def g(n=1):\n        return n\n    return x[:n]",
    "def f(x, n=3):\n    del n\n    return x",
    "def f(x, n=3):\n    [n for n in x]\n    return x[:n]",
    # (adv-def) names bound by a string, not a Name: a nested def or class, an import, except-as, a case
    "def f(x, n=3):\n    t = x[:n]\n    def n(v):\n        return v\n    return t + n(x)",
    "def f(x, n=3):\n    t = x[:n]\n    class n:\n        pass\n    return t",
    "def f(x, n=3):\n    t = x[:n]\n    import numpy as n\n    return t",
    "def f(x, n=3):\n    try:\n        t = x[:n]\n    except ValueError as n:\n        t = x\n    return t",
    "def f(x, n=3):\n    t = x[:n]\n    match x:\n        case n:\n            pass\n    return t",
])
def test_a_name_bound_again_or_shadowed_is_left(src):
    assert "x[:3]" not in _fixed(src, {"n": 3})


def test_only_ints_and_parameters():
    assert "x[:n]" in _fixed("def f(x, n=True):\n    return x[:n]", {"n": True})
    assert "x[:m]" in _fixed("def f(x, n=3):\n    return x[:m]", {"m": 3})


def test_an_identity_test_of_the_int_is_its_value():
    """`axis is None` with axis fixed at -1 would be `-1 is None`, a SyntaxWarning when compiled (an error under
    `-W error`): it becomes the value itself; a test against no singleton (`n is k`) stays as written."""
    out = _fixed("def f(x, axis=-1, n=2):\n    a = axis is None\n    b = axis is not None\n    return x if n is n else x",
                 {"axis": -1, "n": 2})
    assert "a = False" in out and "b = True" in out and "2 is 2" in out, out


def test_a_closure_int_tested_for_none_compiles_without_a_warning():
    import warnings

    import numpy as np

    import s2s

    def make(axis):
        def f(x):
            return np.sum(np.sort(x, axis=axis)[:2] ** 2) if axis is None else np.sum(np.sin(x) * x)
        return f
    x = np.arange(1.0, 5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(s2s.grad(make(-1))(x), np.cos(x) * x + np.sin(x))
        np.testing.assert_allclose(s2s.grad(make(None))(x), [2.0, 4.0, 0.0, 0.0])
        # (adv221) a helper's default and a literal argument, read by a conditional expression of the helper
        np.testing.assert_allclose(s2s.grad(_sums_twice)(x), 2 * np.sin(x) + x * np.cos(x) + np.cos(x) * x)


def _sorted_sum(x, axis=-1):
    return np.sum(np.sin(np.sort(x, axis=axis)) * x) if axis is not None else 0.0


def _sums_twice(x):
    return _sorted_sum(x) + _sorted_sum(x, 0)
