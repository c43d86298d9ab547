"""Properties of records (transforms/objects.py `property_reads`): `p.area` of a namedtuple or dataclass of yours
whose `area` is a read-only property is the call of its getter, whose code s2s reads and differentiates as a
method's, on a record built in the function, given as an argument, or `self` of a method or another property.
Before, the read was a field's, refused when the derivative was made ("a property ... computes it in code s2s does
not read"), and building an object of a class with any property was refused as if its stores ran code."""

import collections
import dataclasses

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s


@dataclasses.dataclass
class Gaussian:
    mean: np.ndarray
    log_std: np.ndarray

    @property
    def std(self):
        return np.exp(self.log_std)

    @property
    def precision(self):
        return 1.0 / self.std ** 2  # (a property read in a property)

    def log_density(self, x):
        return np.sum(-0.5 * (x - self.mean) ** 2 * self.precision - self.log_std)


class Disc(collections.namedtuple("Disc", "r")):
    __slots__ = ()

    @property
    def area(self):
        return np.pi * self.r ** 2


def built_here(x):
    g = Gaussian(x[:2], 0.1 * x[2:])
    return np.sum(g.std * g.mean) + np.sum(g.precision)


def through_a_method(x):
    g = Gaussian(np.sin(x[:2]), x[2:] ** 2)
    return g.log_density(np.array([0.3, -0.2]))


def given(g, x):
    return np.sum(g.std * x) + g.log_density(x)


def namedtuple_property(x):
    d = Disc(x)
    return np.sum(d.area)


def in_a_loop(x):
    total = 0.0
    for k in range(3):
        g = Gaussian(x[:2] * k, x[2:])
        total = total + np.sum(g.precision)
    return total


X = np.array([0.4, -0.3, 0.2, 0.5])


@pytest.mark.parametrize("f", [built_here, through_a_method, namedtuple_property, in_a_loop])
def test_a_property_of_a_record_built_here_is_differentiated(f):
    want = fd_grad(f, (X,))
    np.testing.assert_allclose(s2s.grad(f)(X), want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(s2s.jvp(f, (X,), (np.ones(4),))[1], want.sum(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(s2s.hessian(f)(X), s2s.jacobian(s2s.grad(f))(X), rtol=1e-6, atol=1e-8)


def test_a_property_of_a_record_given_as_an_argument_is_differentiated():
    g, x = Gaussian(np.array([0.1, 0.2]), np.array([-0.3, 0.4])), np.array([0.5, -0.6])
    g_bar, x_bar = s2s.grad(given, wrt=(0, 1))(g, x)
    for name in ("mean", "log_std"):
        def along(v, name=name):
            return given(dataclasses.replace(g, **{name: v}), x)
        np.testing.assert_allclose(getattr(g_bar, name), fd_grad(along, (getattr(g, name),)), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(x_bar, fd_grad(lambda v: given(g, v), (x,)), rtol=1e-6, atol=1e-8)


def test_the_generated_code_calls_the_getter():
    text = s2s.source(s2s.grad(namedtuple_property))  # (a namedtuple with no instance dict: no receiver check)
    assert "def area_vjp(self):" in text and "area_vjp(d)" in text and "np.pi * t" in text
    text = s2s.source(s2s.grad(built_here))
    assert "s2s.receiver(g, Gaussian, 'std')" in text and "s2s.receiver(self, Gaussian, 'std')" in text


@dataclasses.dataclass
class Wider(Gaussian):
    @property
    def std(self):
        return 2.0 * np.exp(self.log_std)


def test_a_subclass_with_its_own_property_is_refused_where_the_code_is_made_for_the_base():
    g = Gaussian(np.array([0.1, 0.2]), np.array([-0.3, 0.4]))
    x = np.array([0.5, -0.6])
    grad = s2s.grad(given, wrt=0)
    grad(g, x)
    w = Wider(g.mean, g.log_std)
    g_bar = grad(w, x)  # (the code is made again for the subclass: its own property's derivative)
    along = fd_grad(lambda v: given(Wider(g.mean, v), x), (g.log_std,))
    np.testing.assert_allclose(g_bar.log_std, along, rtol=1e-6, atol=1e-8)


@dataclasses.dataclass
class Counting:
    v: np.ndarray
    reads: list

    @property
    def twice(self):
        self.reads.append(1)
        return 2.0 * self.v


def counted(x, log):
    c = Counting(x, log)
    return np.sum(c.twice)


def test_a_property_whose_getter_changes_its_record_is_refused():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="property Counting.twice: its getter changes"):
        s2s.grad(counted)(X, [])


@dataclasses.dataclass
class Settable:
    v: np.ndarray

    @property
    def scaled(self):
        return 3.0 * self.v

    @scaled.setter
    def scaled(self, value):
        self.v = value / 3.0


def settable(s, x):
    return np.sum(s.scaled * x)


def test_a_property_with_a_setter_is_read_as_before_and_refused_where_differentiated():
    s, x = Settable(np.array([1.0, 2.0])), np.array([0.5, 0.25])
    np.testing.assert_allclose(s2s.grad(settable, wrt=1)(s, x), 3.0 * s.v)  # (s not differentiated: a constant)
    with pytest.raises(s2s.NoDerivativeRuleError, match=r"\.scaled is not one"):
        s2s.grad(settable, wrt=0)(s, x)


class Plain:
    def __init__(self, v):
        self._v = v

    @property
    def v(self):
        return self._v


def plain_object(x):
    p = Plain(x)
    return np.sum(p.v ** 2)


def test_a_plain_class_with_a_read_only_property_is_refused_for_its_init_not_its_stores():
    with pytest.raises(s2s.NoDerivativeRuleError, match="its __init__ is code s2s does not follow"):
        s2s.grad(plain_object)(X)
