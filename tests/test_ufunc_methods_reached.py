"""Objects whose methods NumPy's functions call by name (review 253's last): `np.sqrt(r)` of an object runs
`r.sqrt()`, whatever that computes, where s2s differentiated it by the square root's rule. Refused wherever such an
object reaches such a function (transforms/operator_objects.py `ufunc_method`, s2s.numbers_or_arrays), and only
there: a class with methods named `log` or `exp` whose objects meet no `np.log` is differentiated as before."""

import numpy as np
import pytest
from helpers_fd import fd_grad
from s2s.transforms.operator_objects import ufunc_method

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
                       r"NumPy calls") as caught:
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
    assert (ufunc_method(np.sqrt), ufunc_method(np.exp), ufunc_method(np.conj)) == ("sqrt", "exp", "conjugate")
    assert ufunc_method(np.arctan2) == "arctan2"
    # (these go through operators or compare: the object's operator methods are checked for them)
    assert ufunc_method(np.square) is None and ufunc_method(np.negative) is None and ufunc_method(np.add) is None
