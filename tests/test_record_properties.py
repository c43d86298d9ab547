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


# (review 255)
@dataclasses.dataclass
class Cubed:
    a: np.ndarray

    @property
    def cube(self):
        return self.a ** 3


@dataclasses.dataclass
class Holds:
    inner: Cubed


def held_in_a_field(x):
    net = Holds(Cubed(x * 1.0))
    return np.sum(net.inner.cube)


def item_of_a_list(x):
    layers = [Cubed(x * 1.0), Cubed(x * 2.0)]
    return np.sum(layers[1].cube)


@pytest.mark.parametrize("f", [held_in_a_field, item_of_a_list])
def test_a_property_read_s2s_does_not_rewrite_is_refused_by_every_transform(f):
    # (forward mode took its getter's tangent once, which a second derivative did not differentiate again: zeros)
    for transform in (s2s.grad(f), s2s.jacobian(s2s.grad(f)), s2s.jacobian(s2s.jacobian(f)),
                      lambda x: s2s.jvp(f, (x,), (np.ones(2),))):
        with pytest.raises(s2s.NoDerivativeRuleError, match=r"\.cube is not one"):
            transform(np.array([0.5, -0.7]))


class Slotted(collections.namedtuple("Slotted", "r")):
    __slots__ = ()

    @property
    def area(self):
        return np.pi * self.r ** 2

    @property
    def area_squared(self):
        return self.area ** 2

    def mass(self):
        return np.sum(self.r ** 2)

    @property
    def mass_read(self):
        return self.mass()


def slotted_area(x):
    d = Slotted(x * 1.0)
    return np.sum(d.area_squared) + d.mass_read


def test_a_slotted_record_built_here_has_its_getters_made_for_its_class():
    x = np.array([0.5, -0.7])
    want = 4 * np.pi ** 2 * x ** 3 + 2 * x
    np.testing.assert_allclose(s2s.grad(slotted_area)(x), want, rtol=1e-10)
    np.testing.assert_allclose(s2s.jacobian(s2s.grad(slotted_area))(x), np.diag(12 * np.pi ** 2 * x ** 2 + 2),
                               rtol=1e-10)
    np.testing.assert_allclose(s2s.hessian(slotted_area)(x), np.diag(12 * np.pi ** 2 * x ** 2 + 2), rtol=1e-10)


@dataclasses.dataclass
class Drawn:
    a: np.ndarray

    @property
    def noisy(self):
        return self.a ** 2 * np.random.normal()


def drawn(x):
    r = Drawn(x * 1.0)
    return np.sum(r.noisy)


def test_a_getter_that_draws_is_refused_where_the_function_is_evaluated_per_direction():
    for transform in (s2s.hessian, s2s.hvp, lambda f: s2s.jacobian(s2s.grad(f))):
        with pytest.raises(s2s.UnsupportedSyntaxError, match="reads the property noisy, whose getter"):
            args = (X[:2],) if transform is not s2s.hvp else (X[:2], np.ones(2))
            transform(drawn)(*args)


class Logged(property):
    """(a property whose stores run code of its own: `__set__` writes into the array it is given)"""

    def __set__(self, obj, value):
        obj.__dict__["v"] = value
        obj.target[:] = value


class Stores:
    v = Logged(lambda self: self.__dict__["v"])

    def __init__(self, target, v):
        self.target = target
        self.v = v


def stores_into_an_argument(x):
    a = np.zeros(2)
    Stores(a, x ** 2)
    return np.sum(a * x)


def test_a_property_subclass_with_its_own_store_still_counts_as_code_run_on_stores():
    with pytest.raises(s2s.UnsupportedSyntaxError, match=r"Stores\("):
        s2s.grad(stores_into_an_argument)(X[:2])


@dataclasses.dataclass
class Scored:
    a: np.ndarray

    def log_prob(self, v):
        return np.sum(-0.5 * v ** 2)

    @property
    def score(self):
        return self.log_prob(self.a)


def scored(x):
    s = Scored(x * 2.0)
    return s.score


def test_a_getter_calling_a_method_of_its_record_is_differentiated():
    np.testing.assert_allclose(s2s.grad(scored)(X), -4.0 * X, rtol=1e-12)


@dataclasses.dataclass
class Falls:
    a: np.ndarray

    @property
    def p(self):
        raise AttributeError("not available")

    def __getattr__(self, name):
        return self.a ** 3


def falls_back(x):
    g = Falls(x * 1.0)
    return np.sum(g.p)


def test_a_getter_whose_attribute_error_falls_back_to_getattr_is_refused():
    assert np.isclose(falls_back(X), np.sum(X ** 3))
    with pytest.raises(s2s.NoDerivativeRuleError, match=r"\.p is not one"):
        s2s.grad(falls_back)(X)


@dataclasses.dataclass
class Squared:
    a: np.ndarray

    @property
    def p(self):
        return self.a ** 2


@dataclasses.dataclass
class Cubes(Squared):
    @property
    def p(self):
        return self.a ** 3


def over_layers(layers, x):
    t = 0.0
    for layer in layers:
        t = t + np.sum(layer.p * x)
    return t


def calls_what_it_is_given(x, layers, fn):
    return fn(layers, x)


def test_a_function_value_given_lists_of_records_of_two_classes_has_code_for_each():
    # (its code was kept by the arguments' types, `list` for both: the second class's call was refused)
    x, a = np.array([0.5, -0.7]), np.array([0.3, 0.9])
    grad = s2s.grad(calls_what_it_is_given)
    np.testing.assert_allclose(grad(x, [Cubes(a)], over_layers), a ** 3, rtol=1e-12)
    np.testing.assert_allclose(grad(x, [Squared(a)], over_layers), a ** 2, rtol=1e-12)
