"""Objects whose methods NumPy's functions call by name (review 253's last, review 254): `np.sqrt(r)` of an object
runs `r.sqrt()`, `np.sum(p)` of a value that is no array runs `p.sum()`, whatever they compute, where s2s
differentiated them by the function's rule. Refused wherever such an object reaches such a function
(transforms/operator_objects.py `numpy_methods`, `method_object`; s2s.numbers_or_arrays), and only there: a class
with methods named `log` or `exp` whose objects meet no `np.log`, or that NumPy converts to numbers, is
differentiated as before."""

import dataclasses
from typing import NamedTuple

import numpy as np
import pytest
from helpers_fd import fd_grad
from s2s.transforms.operator_objects import numpy_methods

import s2s


class Cube:
    def __mul__(self, v):
        return v ** 3

    __rmul__ = __mul__


class Root:
    """(no operator method: NumPy's sqrt of it runs `sqrt`, which makes an object cubing what it multiplies)"""

    def sqrt(self):
        return Cube()

    def exp(self):
        return Cube()

    def conjugate(self):
        return Cube()

    def arctan2(self, other):
        return Cube()


class Dynamic:
    """(its methods come from `__getattr__`)"""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *args: Cube()


class Plain:
    pass


def with_a_method_of_its_own():
    obj = Plain()
    obj.sqrt = lambda: Cube()  # (an attribute of the object, which NumPy calls as well)
    return obj


class Holder:
    def __init__(self, op):
        self.op = op


ROOT = Root()
X = np.array([0.3, -0.7, 1.1])


def as_parameter(x, r):
    return np.sum(np.sqrt(r) * x)


def list_item(x, objs):
    return np.sum(np.exp(objs[0]) * x)


def attribute(x, h):
    return np.sum(np.sqrt(h.op) * x)


def object_array(x, a):
    return np.sum(np.sqrt(a) * x)


def global_object(x):
    return np.sum(np.sqrt(ROOT) * x)


def constructed(x):
    r = Root()
    return np.sum(np.sqrt(r) * x)


def conjugated(x, r):
    return np.sum(np.conj(r) * x)


def first_of_two(x, r):
    return np.sum(np.arctan2(r, 1.0) * x)


def _root(v):
    return np.sqrt(v)


def through_a_helper(x, r):
    return np.sum(_root(r) * x)


def loop_variable(x, objs):
    s = 0.0
    for r in objs:
        s = s + np.sum(np.sqrt(r) * x)
    return s


def chosen(x, r, flag):
    v = r if flag else 4.0
    return np.sum(np.sqrt(v) * x)


CASES = [(as_parameter, (Root(),), "sqrt"), (list_item, ([Root()],), "exp"),
         (attribute, (Holder(Root()),), "sqrt"), (object_array, (np.array([Root()] * 3, dtype=object),), "sqrt"),
         (global_object, (), "sqrt"), (constructed, (), "sqrt"), (conjugated, (Root(),), "conjugate"),
         (first_of_two, (Root(),), "arctan2"), (through_a_helper, (Root(),), "sqrt"),
         (loop_variable, ([Root()],), "sqrt"), (chosen, (Root(), True), "sqrt"), (as_parameter, (Dynamic(),), "sqrt"),
         (as_parameter, (with_a_method_of_its_own(),), "sqrt"), (as_parameter, ([Root(), Root(), Root()],), "sqrt")]
TRANSFORMS = {
    "grad": lambda f, rest: s2s.grad(f)(X, *rest),
    "value_and_grad": lambda f, rest: s2s.value_and_grad(f)(X, *rest),
    "jvp": lambda f, rest: s2s.jvp(lambda x: f(x, *rest), (X,), (np.ones(3),)),
    "vjp": lambda f, rest: s2s.vjp(f, X, *rest)[1](1.0),
    "hessian": lambda f, rest: s2s.hessian(f)(X, *rest),
}


@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
@pytest.mark.parametrize("f, rest, method", CASES, ids=[f"{f.__name__}-{i}" for i, (f, _, _) in enumerate(CASES)])
def test_an_object_whose_method_numpy_calls_is_refused(f, rest, method, transform):
    # (the object's method is what runs: x ** 3, not a product)
    assert not np.allclose(f(X, *rest) - f(X + 1e-3, *rest), 1e-3 * np.sum(f(np.ones(3), *rest)))
    message = "constructs a Root" if (f, transform) == (constructed, "hessian") else f"whose method `{method}`"
    with pytest.raises((s2s.UnsupportedSyntaxError, s2s.NoDerivativeRuleError), match=message):
        TRANSFORMS[transform](f, rest)


def test_the_refusal_names_the_line_and_the_method():
    with pytest.raises(s2s.UnsupportedSyntaxError, match=r"`r` is an object of your class Root, whose method `sqrt` "
                       r"NumPy's function calls by name") as caught:
        s2s.grad(as_parameter)(X, Root())
    assert "np.sqrt(r) * x" in caught.value.line and "r.sqrt()" in caught.value.hint


@pytest.mark.parametrize("f, rest", [(as_parameter, (4.0,)), (as_parameter, (np.array([1.0, 4.0, 9.0]),)),
                                     (list_item, ([0.5],)), (attribute, (Holder(np.array([2.0, 3.0, 5.0])),)),
                                     (chosen, (9.0, True)), (loop_variable, ([2.0, 3.0],)),
                                     (object_array, (np.array([4.0, 9.0, 16.0]),))])
def test_numbers_and_arrays_at_the_same_places_are_differentiated(f, rest):
    assert np.allclose(s2s.grad(f)(X, *rest), fd_grad(f, (X, *rest)), atol=1e-6)


class Model:
    """A model whose own methods are named like NumPy's functions (a logger's `log`, `exp`, `sqrt`): its objects
    meet no `np.log`, their fields do."""

    def __init__(self):
        self.W = np.array([[0.5, -0.2, 0.1], [0.3, 0.8, -0.4]])
        self.b = np.array([1.5, 2.0])
        self.lines = []

    def log(self, line):
        self.lines.append(line)

    def exp(self):
        return Cube()

    def sqrt(self):
        return Cube()

    def loss(self, x):
        z = np.exp(self.W @ x) + np.sqrt(self.b)
        return np.sum(np.log(z))


def model_loss(x, m):
    return np.sum(np.sqrt(m.b) * np.exp(m.W @ x)) + np.sum(np.log(m.b))


def test_a_model_with_methods_named_like_numpys_functions_is_differentiated():
    m = Model()
    numeric = fd_grad(lambda x: m.loss(x), (X,))
    assert np.allclose(s2s.grad(m.loss)(X), numeric, atol=1e-6)
    assert np.allclose(s2s.grad(model_loss)(X, m), fd_grad(model_loss, (X, m)), atol=1e-6)
    assert np.allclose(s2s.hessian(model_loss)(X, m).shape, (3, 3))


def test_numpy_is_asked_which_method_each_function_calls():
    assert numpy_methods(np.sqrt) == {"sqrt"} and numpy_methods(np.exp) == {"exp"}
    assert numpy_methods(np.conj) == {"conjugate"} and numpy_methods(np.arctan2) == {"arctan2"}
    assert numpy_methods(np.sum) == {".sum"} and numpy_methods(np.round) == {".round", "rint"}
    assert numpy_methods(np.real) == {".real"} and numpy_methods(np.vecdot) == {"conjugate"}
    # (these go through operators or compare: the object's operator methods are checked for them)
    assert not numpy_methods(np.square) and not numpy_methods(np.negative) and not numpy_methods(np.add)


# (review 254)
class Delegates:
    """(NumPy hands a value that is no array to its own method: `np.sum(d)` runs `d.sum()`)"""

    def sum(self, *args, **kwargs):
        return Cube()

    def round(self, *args, **kwargs):
        return Cube()

    def max(self, *args, **kwargs):
        return Cube()

    @property
    def real(self):
        return Cube()


class Pair(NamedTuple):
    a: float
    b: float

    def sum(self, axis=None, dtype=None, out=None, **kwargs):
        return self.a ** 2 + self.b ** 2


@dataclasses.dataclass
class Batch:
    a: float
    b: float

    def sum(self, axis=None, dtype=None, out=None, **kwargs):
        return self.a ** 2 + self.b ** 2


class Angle(float):
    def arctan2(self, other):
        return other ** 3


class Rounds:
    def rint(self):
        return Cube()


class Conjugated:
    def conjugate(self):
        return Cube()


def summed(x, d):
    return np.sum(np.sum(d) * x)


def rounded(x, d):
    return np.sum(np.round(d) * x)


def largest(x, d):
    return np.sum(np.max(d) * x)


def real_part(x, d):
    return np.sum(np.real(d) * x)


def pair_built_here(x):
    return np.sum(Pair(x[0], x[1])) + np.sum(x)


def batch_built_here(x):
    return np.sum(Batch(x[0], x[1])) + np.sum(x)


def angles_built_here(x):
    a = np.array([Angle(1.0)] * 3, dtype=object)
    return np.sum(np.arctan2(a, x))


def angles_given(x, a):
    return np.sum(np.arctan2(a, x))


def rounded_objects(x, objs):
    return np.sum(np.round(objs) * x)


def vector_dot(x, objs):
    return np.sum(np.vecdot(objs, np.ones(3)) * x)


def plain_dot(x, objs):
    return np.sum(np.vdot(objs, np.ones(3)) * x)


OBJECTS = np.array([Rounds(), Rounds(), Rounds()], dtype=object)
DELEGATED = [(summed, (Delegates(),), "sum"), (rounded, (Delegates(),), "round"), (largest, (Delegates(),), "max"),
             (real_part, (Delegates(),), "real"), (pair_built_here, (), "sum"), (batch_built_here, (), "sum"),
             (angles_built_here, (), "arctan2"), (angles_given, (np.array([Angle(1.0)] * 3, dtype=object),), "arctan2"),
             (rounded_objects, (OBJECTS,), "rint"),
             (vector_dot, (np.array([Conjugated()] * 3, dtype=object),), "conjugate"),
             (plain_dot, (np.array([Conjugated()] * 3, dtype=object),), "conjugate")]


@pytest.mark.parametrize("transform", ["grad", "jvp", "vjp", "jacfwd"])
@pytest.mark.parametrize("f, rest, method", DELEGATED, ids=[f"{f.__name__}-{i}" for i, (f, _, _) in enumerate(DELEGATED)])
def test_a_method_numpy_calls_on_the_value_or_its_objects_is_refused(f, rest, method, transform):
    run = {"grad": lambda: s2s.grad(f)(X, *rest), "jvp": lambda: s2s.jvp(lambda x: f(x, *rest), (X,), (np.ones(3),)),
           "vjp": lambda: s2s.vjp(f, X, *rest)[1](1.0), "jacfwd": lambda: s2s.jacfwd(lambda x: f(x, *rest))(X)}
    with pytest.raises((s2s.UnsupportedSyntaxError, s2s.NoDerivativeRuleError),
                       match=f"whose method `{method}`|made an adjoint of a (Pair|Batch)|constructs a Angle"):
        run[transform]()


class NamedExp(NamedTuple):
    a: float
    b: float

    def exp(self):
        return Cube()


class Meters(np.ndarray):
    pass


class Vector(list):
    def sqrt(self):
        return Cube()


class Wrapped:
    def __init__(self, v):
        self.v = np.asarray(v, dtype=float)

    def __array__(self, dtype=None, copy=None):
        return self.v

    def exp(self):
        return Cube()


def exp_of(x, v):
    return np.sum(np.exp(v) * x[:2])


def conj_of(x, v):
    return np.sum(np.conj(v) * x[:2])


def sqrt_of(x, v):
    return np.sum(np.sqrt(v) * x[:2])


@pytest.mark.parametrize("f, value", [(exp_of, NamedExp(0.5, 1.5)), (conj_of, np.array([1.0, 2.0]).view(Meters)),
                                      (sqrt_of, Vector([4.0, 9.0])), (exp_of, Wrapped([0.5, 1.5]))])
def test_a_value_numpy_converts_to_numbers_is_differentiated_whatever_its_methods(f, value):
    np.testing.assert_allclose(s2s.grad(f)(X, value), fd_grad(f, (X, value)), rtol=1e-6, atol=1e-8)


def test_numpy_is_not_asked_about_its_random_draws_or_its_objects_methods():
    np.random.seed(3)
    before = np.random.get_state()[1].copy()
    rng = np.random.default_rng(5)
    state = rng.bit_generator.state
    assert not numpy_methods(np.random.normal) and not numpy_methods(rng.normal)
    assert np.array_equal(np.random.get_state()[1], before) and rng.bit_generator.state == state


# (review 257)
R_GLOBAL = np.array([4.0, 9.0, 1.0])


def of_a_global_array(x):
    return np.sum(np.sqrt(R_GLOBAL) * x)


@pytest.mark.parametrize("transform", ["jvp", "jacfwd", "vjp", "grad"])
def test_a_global_array_rebound_to_objects_after_a_first_call_is_refused(transform, monkeypatch):
    run = {"jvp": lambda: s2s.jvp(of_a_global_array, (X,), (np.ones(3),)),
           "jacfwd": lambda: s2s.jacfwd(of_a_global_array)(X), "vjp": lambda: s2s.vjp(of_a_global_array, X)[1](1.0),
           "grad": lambda: s2s.grad(of_a_global_array)(X)}
    run[transform]()  # (made for the numbers the global held)
    monkeypatch.setattr(__import__(__name__), "R_GLOBAL", np.array([Root()] * 3, dtype=object))
    with pytest.raises(s2s.UnsupportedSyntaxError, match="`R_GLOBAL` (is or )?holds an object of your class Root"):
        run[transform]()


@dataclasses.dataclass
class Sized:
    w: float

    @property
    def size(self):
        return 3.0 * self.w


@dataclasses.dataclass
class Converted:
    w: float

    def __array__(self, dtype=None, copy=None):
        return np.asarray([self.w ** 3])


@dataclasses.dataclass
class Floated:
    w: float

    def __float__(self):
        return float(self.w ** 3)


def size_of(x):
    return np.size(Sized(x[0])) * x[1]


def converted(x):
    return np.sum(np.exp(Converted(x[0]))) + x[1]


def floated(x):
    return np.float64(Floated(x[0])) * x[1]


@pytest.mark.parametrize("f", [size_of, converted, floated])
def test_a_record_built_here_that_numpy_reads_through_code_of_yours_is_refused(f):
    x = np.array([0.3, 0.7])
    for transform in (s2s.grad(f), s2s.jacfwd(f), lambda v: s2s.jvp(f, (v,), (np.array([1.0, 0.0]),))):
        with pytest.raises(s2s.UnsupportedSyntaxError, match="whose method `(size|__array__|__float__)`"):
            transform(x)


class PlainArray(np.ndarray):
    pass


class Tagged(float):
    pass


class Triple(NamedTuple):
    a: float
    b: float
    c: float

    def exp(self):
        return Cube()


def sum_of(x, m):
    return np.sum(m * x)


def real_of(x, t):
    return np.sum(np.real(t) * x)


def triple_built_here(x):
    return np.sum(np.exp(Triple(x[0], x[1], x[2])))


def test_methods_inherited_from_numpys_or_pythons_types_and_converted_tuples_are_not_refused():
    m = np.array([1.0, 2.0, 3.0]).view(PlainArray)
    np.testing.assert_allclose(s2s.grad(sum_of)(X, m), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(s2s.grad(real_of)(X, Tagged(2.0)), [2.0, 2.0, 2.0])
    np.testing.assert_allclose(s2s.jvp(triple_built_here, (X,), (np.ones(3),))[1], np.sum(np.exp(X)), rtol=1e-12)


# (review 258)
class Later(NamedTuple):
    a: float
    b: float


def later_summed(x):
    p = Later(x[0], x[1])
    return np.sum(p)


def test_a_record_class_that_gains_a_method_numpy_calls_after_the_code_is_made_is_refused(monkeypatch):
    x = np.array([0.7, 1.3])
    assert s2s.jvp(later_summed, (x,), (np.array([1.0, 0.0]),))[1] == 1.0
    monkeypatch.setattr(Later, "sum", lambda self, *args, **kwargs: self.a ** 2 + self.b ** 2, raising=False)
    for transform in (lambda: s2s.jvp(later_summed, (x,), (np.array([1.0, 0.0]),)), lambda: s2s.jacfwd(later_summed)(x)):
        with pytest.raises(s2s.UnsupportedSyntaxError, match="`p` is an object of your class Later, whose method `sum`"):
            transform()
