"""Subclasses of np.ndarray (s2s/argcheck.py): one that redefines a method or operator NumPy arrays have is refused
wherever it reaches a derivative (an argument, an item of one, a tangent, a cotangent, a vector, a global), since
s2s's rules are NumPy's; one that only adds attributes is differentiated as a plain array."""

import numpy as np
import pytest

import s2s
from s2s import argcheck
from s2s.errors import NoDerivativeRuleError
from tests.conftest import check_grad


class Tripled(np.ndarray):
    """`A.dot(x)` is three times NumPy's: read as NumPy's, the gradient would be a third of the right one."""

    def dot(self, other):
        return 3.0 * np.asarray(self).dot(other)


class DoubledProducts(np.ndarray):
    def __mul__(self, other):
        return 2.0 * np.multiply(np.asarray(self), other)

    __rmul__ = __mul__


class Base(np.ndarray):
    def sum(self, *args, **kwargs):
        return 2.0 * np.asarray(self).sum(*args, **kwargs)


class Derived(Base):
    """Redefines nothing itself: its base below np.ndarray does."""


class Interceptor(np.ndarray):
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = [np.asarray(v) for v in inputs]
        return 2.0 * getattr(ufunc, method)(*inputs, **kwargs)


class Labelled(np.ndarray):
    """The subclass NumPy's documentation teaches: a new attribute, kept through views; nothing of NumPy's redefined."""

    def __new__(cls, values, label=None):
        obj = np.asarray(values, dtype=float).view(cls)
        obj.label = label
        return obj

    def __array_finalize__(self, obj):
        self.label = getattr(obj, "label", None)

    def describe(self):
        return f"{self.label}: {self.shape}"


class Plain(np.ndarray):
    pass


def linear(A, x):
    return np.sum(A.dot(x))


def products(A, x):
    return np.sum(A * x)


def total(A):
    return A.sum() * 1.5


def squares(x):
    return x * x


def squares_sum(x):
    return np.sum(x * x)


A = np.arange(1.0, 7.0).reshape(2, 3)
X = np.array([0.5, -1.0, 2.0])


def test_the_names_a_subclass_redefines():
    assert argcheck.redefined_array_names(Tripled) == ["dot"]
    assert argcheck.redefined_array_names(DoubledProducts) == ["__mul__", "__rmul__"]
    assert argcheck.redefined_array_names(Derived) == ["sum"]
    assert argcheck.redefined_array_names(Interceptor) == ["__array_ufunc__"]
    assert argcheck.redefined_array_names(Labelled) == []
    assert argcheck.redefined_array_names(Plain) == []
    assert argcheck.redefined_array_names(np.ndarray) == []


CALLS = {
    "grad of the other argument": (lambda: s2s.grad(linear, wrt=1)(A.view(Tripled), X), "dot"),
    "grad of it": (lambda: s2s.grad(linear, wrt=0)(A.view(Tripled), X), "dot"),
    "operator": (lambda: s2s.grad(products, wrt=1)(A.view(DoubledProducts), X), "__mul__"),
    "a base's method": (lambda: s2s.grad(total)(A.view(Derived)), "sum"),
    "array_ufunc": (lambda: s2s.grad(products, wrt=1)(A.view(Interceptor), X), "__array_ufunc__"),
    "list item": (lambda: s2s.grad(lambda As, x: np.sum(As[0] * x), wrt=1)([A.view(DoubledProducts)], X),
                  "__mul__"),
    "dict item": (lambda: s2s.grad(lambda d, x: np.sum(d["A"] * x), wrt=1)({"A": A.view(DoubledProducts)}, X),
                  "__mul__"),
    "keyword": (lambda: s2s.grad(products, wrt=1)(x=X, A=A.view(DoubledProducts)), "__mul__"),
    "value_and_grad": (lambda: s2s.value_and_grad(squares_sum)(X.view(DoubledProducts)), "__mul__"),
    "jvp primal": (lambda: s2s.jvp(squares, (X.view(DoubledProducts),), (np.ones(3),)), "__mul__"),
    "jvp tangent": (lambda: s2s.jvp(squares, (X,), (np.ones(3).view(DoubledProducts),)), "__mul__"),
    "vjp cotangent": (lambda: s2s.vjp(squares, X)[1](np.ones(3).view(DoubledProducts)), "__mul__"),
    "hvp vector": (lambda: s2s.hvp(squares_sum)(X, np.ones(3).view(DoubledProducts)), "__mul__"),
    "jacobian": (lambda: s2s.jacobian(squares)(X.view(DoubledProducts)), "__mul__"),
    "hessian": (lambda: s2s.hessian(squares_sum)(X.view(DoubledProducts)), "__mul__"),
    "compiled": (lambda: s2s.grad(squares_sum, compile=True)(X.view(DoubledProducts)), "__mul__"),
}


@pytest.mark.parametrize("call, name", list(CALLS.values()), ids=list(CALLS))
def test_a_subclass_that_redefines_numpys_methods_is_refused(call, name):
    with pytest.raises(NoDerivativeRuleError, match=f"redefines .*`{name}`") as info:
        call()
    assert "np.asarray" in info.value.hint


def test_the_message_names_the_parameter_and_the_hint_works():
    with pytest.raises(NoDerivativeRuleError, match="argument 'A', an array of class Tripled") as info:
        s2s.grad(linear, wrt=1)(A.view(Tripled), X)
    assert "np.asarray(A)" in info.value.hint
    assert np.allclose(s2s.grad(linear, wrt=1)(np.asarray(A.view(Tripled)), X), A.sum(axis=0))


def test_a_global_of_such_a_class_is_refused_where_it_is_read():
    weights = A.view(DoubledProducts)

    def loss(x):
        return np.sum(weights * x)

    with pytest.raises(NoDerivativeRuleError, match="it reads 'weights', an array of class DoubledProducts"):
        s2s.grad(loss)(X)


def test_a_refused_class_after_a_plain_one_of_the_same_shape():
    df = s2s.grad(linear, wrt=1)
    assert np.allclose(df(A.view(Plain), X), A.sum(axis=0))
    with pytest.raises(NoDerivativeRuleError, match="Tripled"):
        df(A.view(Tripled), X)


@pytest.mark.parametrize("kind", [Labelled, Plain])
def test_a_subclass_that_only_adds_is_differentiated_as_an_array(kind):
    a = Labelled(A, "weights") if kind is Labelled else A.view(Plain)
    g = s2s.grad(products, wrt=(0, 1))(a, X)
    assert type(g[0]) is np.ndarray
    assert np.allclose(g[0], np.broadcast_to(X, A.shape)) and np.allclose(g[1], A.sum(axis=0))
    check_grad(products, a, X, wrt=(0, 1), ag=False)  # (autograd refuses subclasses)
    check_grad(lambda a: np.sum(np.tanh(a.T @ a)), a, ag=False)
