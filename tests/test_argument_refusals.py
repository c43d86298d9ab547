"""np.matrix and complex arguments are refused by every entry point, before generated code runs (s2s/argcheck.py)."""

import warnings

import numpy as np
import pytest

import s2s
from s2s.errors import NoDerivativeRuleError


def squares(M):
    return np.sum(M * M)


def weighted(x, M):
    return np.sum(x * M)


def square(x):
    return x * x


pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix itself warns

with warnings.catch_warnings():
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    MATRIX = np.matrix([[1.0, 2.0], [3.0, 4.0]])

CALLS = {
    "grad matrix": lambda: s2s.grad(squares)(MATRIX),
    "grad matrix not differentiated": lambda: s2s.grad(weighted)(1.0, MATRIX),
    "value_and_grad matrix": lambda: s2s.value_and_grad(squares)(MATRIX),
    "grad complex number": lambda: s2s.grad(square)(1.0 + 2.0j),
    "grad complex array": lambda: s2s.grad(squares)(np.array([1.0 + 1.0j])),
    "grad complex in a list": lambda: s2s.grad(weighted)(1.0, [np.array([1.0j])]),
    "grad complex keyword": lambda: s2s.grad(weighted)(1.0, M=np.array([1.0j])),
    "vjp matrix": lambda: s2s.vjp(squares, MATRIX),
    "jvp complex": lambda: s2s.jvp(square, (1.0j,), (1.0,)),
    "jacobian matrix": lambda: s2s.jacobian(squares)(MATRIX),
    "hessian matrix": lambda: s2s.hessian(squares)(MATRIX),
    "hvp matrix": lambda: s2s.hvp(squares)(MATRIX, np.ones((2, 2))),
}


@pytest.mark.parametrize("call", list(CALLS.values()), ids=list(CALLS))
def test_refused_with_a_hint(call):
    with pytest.raises(NoDerivativeRuleError, match="np.matrix|complex") as info:
        call()
    assert "np.asarray" in info.value.hint or "np.real" in info.value.hint


def test_the_hint_works():
    g = s2s.grad(squares)(np.asarray(MATRIX))
    assert np.allclose(g, 2 * np.asarray(MATRIX))
    assert s2s.grad(square)(3.0) == 6.0
