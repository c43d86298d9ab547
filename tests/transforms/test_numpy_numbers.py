"""`Shapes.numpy_number`: a value certainly a NumPy scalar (an item of a real array, arithmetic of one with numbers)
divides by zero or overflows a power to inf or NaN with a warning, where a Python float raises; so an unread
`e = (x[i] - y[i]) ** 2` of such values may go (`specialize._pure`), and a forward loop left with nothing else
to do fuses with its backward loop. A Python float's power stays where nothing reads it: it may raise, as the
function does."""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest

import s2s
from tests.conftest import check_grad
from tests.plain_code import plain_gradient


def squared_errors(p, y):
    s = 0.0
    for i in range(y.shape[0]):
        e = y[i] - p[0] - p[1] * i
        s = s + e ** 2 + (y[i] / p[2]) ** 2
    return s


def chain(x):
    s = 0.0
    for i, xi in enumerate(x[:-1]):
        s += 100.0 * (x[i + 1] - xi ** 2) ** 2 + (1.0 - xi) ** 2
    return s


def python_power(a, y):
    s = 0.0
    for i in range(y.shape[0]):
        unread = a ** 2  # noqa: F841  (a Python float's power: OverflowError for a = 1e200, as in the function)
        s = s + a * y[i]
    return s


def _dead_powers(src):
    """The names bound to a power that nothing in the code reads."""
    tree = ast.parse(src)
    reads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return [s.targets[0].id for s in ast.walk(tree) if isinstance(s, ast.Assign) and len(s.targets) == 1
            and isinstance(s.targets[0], ast.Name) and isinstance(s.value, ast.BinOp)
            and isinstance(s.value.op, ast.Pow) and s.targets[0].id not in reads]


@pytest.mark.parametrize("f, make", [
    (squared_errors, lambda r: (np.array([0.3, 0.2, 1.5]), r.normal(size=12))),
    (chain, lambda r: (r.normal(size=10) * 0.5,)),
], ids=["squared_errors", "chain"])
def test_unread_powers_of_numpy_numbers_go(f, make):
    args = make(np.random.default_rng(9))
    src = s2s.source(s2s.grad(f), *args)
    assert not _dead_powers(src), src
    np.testing.assert_allclose(s2s.grad(f)(*args), plain_gradient(f, args, 0), rtol=1e-14, atol=1e-14)
    check_grad(f, *args)


def test_a_slice_read_as_floats_has_known_items_and_its_adjoint_sums_in_a_list():
    args = (np.random.default_rng(2).normal(size=12) * 0.5,)
    src = s2s.source(s2s.grad(chain), *args)
    assert "t_items = s2s.float_items(t)" in src and "x_bar_items = s2s.float_items(x_bar)" in src, src
    assert "getitem_grad" not in src and "unbroadcast" not in src, src


def test_an_unread_power_of_a_python_float_stays_and_raises_as_the_function_does():
    y = np.arange(3.0)
    assert s2s.grad(python_power)(0.5, y) == pytest.approx(float(np.sum(y)))
    with pytest.raises(OverflowError):
        python_power(1e200, y)
    with pytest.raises(OverflowError):
        s2s.grad(python_power)(1e200, y)
    assert math.isfinite(s2s.grad(python_power)(1e100, y))
