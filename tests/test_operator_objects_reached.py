"""Objects doing arithmetic of their own reached other than as a global or a constructed local (review 249): a
parameter, an item of a list or dict, an attribute, a helper's result, a copy, a loop's variable, an array of
objects. Each was differentiated as a product (an object array of ones for 3x^2); each is refused now, when the
code is made or when it runs (transforms/operator_objects.py, s2s.numbers_or_arrays, s2s/argcheck.py), by every
transform. An object of such a class that the function only reads fields of (a pytree of parameters with `__add__`
for its optimizer) is differentiated as before."""

import array
import collections
import dataclasses
import functools
import inspect
import numbers
import types

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s


class Cube:
    """`c * x` is x ** 3: the product's rule would give c, not 3 x^2."""

    def __mul__(self, v):
        return v ** 3

    __rmul__ = __mul__

    def __add__(self, v):
        return v ** 2

    __radd__ = __add__

    def __neg__(self):
        return 2.0


class Holder:
    def __init__(self, op):
        self.op = op


class ClassHeld:
    """(a class attribute, read through an object: `h.op`)"""
    op = Cube()
    ops = [Cube()]


class Maker:
    def make(self):
        return Cube()


CUBE = Cube()
X = np.array([0.3, -0.7, 1.1])


def as_parameter(x, c):
    return np.sum(c * x)


def list_item(x, objs):
    return np.sum(objs[0] * x)


def dict_item(x, d):
    return np.sum(d["op"] * x)


def dict_get(x, d):
    return np.sum(d.get("op", 1.0) * x)


def tuple_unpacked(x, pair):
    a, _ = pair
    return np.sum(a * x)


def attribute(x, h):
    return np.sum(h.op * x)


def loop_variable(x, objs):
    s = 0.0
    for c in objs:
        s = s + np.sum(c * x)
    return s


def enumerated(x, objs):
    s = 0.0
    for _, c in enumerate(objs):
        s = s + np.sum(x * c)
    return s


def zipped(x, objs, ws):
    s = 0.0
    for c, w in zip(objs, ws):
        s = s + np.sum(c * x * w)
    return s


def comprehension(x, objs):
    return sum(np.sum(c * x) for c in objs)


def copied(x, c):
    d = c
    e = d
    return np.sum(e * x)


def chosen(x, c, flag):
    d = c if flag else 2.0
    return np.sum(d * x)


def negated(x, c):
    return np.sum(x + (-c))


def added(x, c):
    return np.sum(c + x)


def ufunc(x, c):
    return np.sum(np.add(c, x))


def as_array(x, c):
    return np.sum(np.asarray(c) * x)


def class_attribute(x, h):
    return np.sum(h.op * x)


def class_attribute_item(x, h):
    return np.sum(h.ops[0] * x)


def picked(objs):
    return objs[0]


def helper_result(x, objs):
    return np.sum(picked(objs) * x)


def method_result(x, m):
    return np.sum(m.make() * x)


def stored_then_read(x, objs):
    held = [None]
    held[0] = objs[0]
    return np.sum(held[0] * x)


def appended_global(x):
    held = []
    held.append(CUBE)
    return np.sum(held[0] * x)


def global_attribute(x):
    return np.sum(HOLDER.op * x)


def global_alias(x):
    h = HOLDER
    return np.sum(h.op * x)


HOLDER = Holder(CUBE)


def starred(x, *cs):
    return np.sum(cs[0] * x)


def keywords(x, **kw):
    return np.sum(kw["c"] * x)


def defaulted_then_rebound(x, c=None):
    if c is None:
        c = 2.0
    return np.sum(c * x)


def over_a_set(x, objs):
    total = 0.0
    for c in objs:
        total = total + np.sum(c * x)
    return total


class Computed:
    """(what an attribute or item read runs: a property, `__getattr__`, `__getitem__`)"""

    @property
    def op(self):
        return Cube()

    def __getattr__(self, name):
        return Cube()

    def __getitem__(self, k):
        return Cube()


def read_property(x, p):
    return np.sum(p.op * x)


def read_getattr(x, p):
    return np.sum(p.other * x)


def read_getitem(x, p):
    return np.sum(p[0] * x)


class Node:
    def __init__(self, child=None, op=None):
        self.child, self.op = child, op


def deep_attribute(x, n):
    return np.sum(n.child.child.child.child.op * x)


def last_of_a_long_list(x, objs):
    return np.sum(objs[-1] * x)


def items_of(objs, k):
    return objs[k]


def through_a_recursive_helper(x, objs, k=0):
    if k == len(objs) - 1:
        return np.sum(items_of(objs, k) * x)
    return np.sum(items_of(objs, k) * x) + through_a_recursive_helper(x, objs, k + 1)


def expanded_helper_refused(cs, v):
    return cs[0] * v


def calls_a_kept_helper(x):
    return np.sum(expanded_helper_refused([Cube()], x))


# (review 252)
def dot_of_objects(x, c):
    return x.dot([c, 1.0, 1.0])


class Bag:
    """(NumPy reads it as a sequence: `__len__` and `__getitem__`)"""

    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, k):
        return self.items[k]


def appended_then_whole(x, c):
    held = []
    held.append(c)
    return np.sum(np.asarray(held) * x)


def stored_in_an_object_array(x, c):
    held = np.empty(3, dtype=object)
    held[0] = c
    held[1:] = 1.0
    return np.sum(held * x)


def tolist_appended(x, zs, c):
    held = zs.tolist()
    held.append(c)
    return np.sum(held[2] * x)


class FloatCube(float):
    def __mul__(self, v):
        return v ** 3

    __rmul__ = __mul__


def float_subclass_made(x):
    c = FloatCube(1.0)
    return np.sum(c * x)


class NumberCube(numbers.Number):
    def __mul__(self, v):
        return v ** 3

    __rmul__ = __mul__


class Meta(type):
    def __mul__(cls, v):
        return v ** 3

    __rmul__ = __mul__


class Klass(metaclass=Meta):
    pass


def class_operand(x):
    return np.sum(Klass * x)


def type_of_an_argument(x, o):
    c = type(o)
    return np.sum(c * x)


# (review 253)
class TakesUfuncs:
    """(NumPy hands it `c * x` through `__array_ufunc__`)"""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return [v for v in inputs if v is not self][0] ** 3


def made_ufunc_taker(x):
    c = TakesUfuncs()
    return np.sum(c * x)


class Pipe:
    def __or__(self, v):
        return v ** 3

    __ror__ = __or__


def piped(x, c):
    return np.sum(c | x) + np.sum(x)


class Rounds:
    def __init__(self, v):
        self.v = v

    def __round__(self, n=None):
        return self.v ** 3


def rounded(x):
    return round(Rounds(x[0])) + np.sum(x)

CASES = [(as_parameter, (CUBE,)), (list_item, ([CUBE],)), (dict_item, ({"op": CUBE},)), (dict_get, ({"op": CUBE},)),
         (tuple_unpacked, ((CUBE, 1.0),)), (attribute, (Holder(CUBE),)),
         (class_attribute, (ClassHeld(),)), (class_attribute_item, (ClassHeld(),)), (loop_variable, ([CUBE],)),
         (enumerated, ([CUBE],)), (zipped, ([CUBE], [1.0])), (comprehension, ([CUBE],)), (copied, (CUBE,)),
         (chosen, (CUBE, True)), (negated, (CUBE,)), (added, (CUBE,)), (ufunc, (CUBE,)), (as_array, (CUBE,)),
         (as_array, (np.array([CUBE, CUBE, CUBE], dtype=object),)), (helper_result, ([CUBE],)),
         (method_result, (Maker(),)), (stored_then_read, ([CUBE],)), (appended_global, ()), (global_attribute, ()),
         # (review 250)
         (global_alias, ()), (starred, (CUBE,)), (defaulted_then_rebound, (CUBE,)), (over_a_set, ({CUBE},)),
         (over_a_set, (frozenset({CUBE}),)), (over_a_set, (collections.deque([CUBE]),)),
         (dict_item, (types.MappingProxyType({"op": CUBE}),)), (read_property, (Computed(),)),
         (read_getattr, (Computed(),)), (read_getitem, (Computed(),)),
         (deep_attribute, (Node(Node(Node(Node(Node(op=CUBE))))),)), (last_of_a_long_list, ([1.0] * 10_005 + [CUBE],)),
         (through_a_recursive_helper, ([1.0, CUBE],)), (calls_a_kept_helper, ()),
         (as_array, (np.array([[1.0], [CUBE]], dtype=object),)),
         # (review 252)
         (dot_of_objects, (CUBE,)), (as_array, (Bag([CUBE, 1.0, 1.0]),)), (appended_then_whole, (CUBE,)),
         (stored_in_an_object_array, (CUBE,)), (tolist_appended, (np.ones(2), CUBE)), (float_subclass_made, ()),
         (as_parameter, (NumberCube(),)), (as_parameter, (FloatCube(1.0),)), (class_operand, ()),
         (type_of_an_argument, (Klass(),)),
         # (review 253)
         (made_ufunc_taker, ()), (attribute, (Holder(TakesUfuncs()),)), (piped, (Pipe(),)), (rounded, ())]
REFUSED = (s2s.UnsupportedSyntaxError, s2s.NoDerivativeRuleError)
TRANSFORMS = {
    "grad": lambda f, rest: s2s.grad(f)(X, *rest),
    "value_and_grad": lambda f, rest: s2s.value_and_grad(f)(X, *rest),
    "has_aux": lambda f, rest: s2s.grad(lambda x, *r: (f(x, *r), 0.0), has_aux=True)(X, *rest),
    "jvp": lambda f, rest: s2s.jvp(lambda x: f(x, *rest), (X,), (np.ones(3),)),
    "vjp": lambda f, rest: s2s.vjp(f, X, *rest)[1](1.0),
    "hessian": lambda f, rest: s2s.hessian(f)(X, *rest),
}


def test_a_keyword_argument_holding_one_is_refused():
    with pytest.raises(s2s.UnsupportedSyntaxError, match=r"`kw\['c'\]` is an object of your class Cube"):
        s2s.grad(keywords)(X, c=CUBE)


def _wrapped(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        return method(*args, **kwargs)
    return wrapper


class Cached:
    @functools.lru_cache(maxsize=None)  # noqa: B019 - (a decorator users put on operator methods)
    def __mul__(self, v):
        return v ** 3

    __rmul__ = __mul__


class Wrapped:
    @_wrapped
    def __mul__(self, v):
        return v ** 3

    __rmul__ = __mul__


class Partial:
    def _power(self, v, k):
        return v ** k

    __mul__ = __rmul__ = functools.partialmethod(_power, k=3)


class Dispatched:
    @functools.singledispatchmethod
    def __mul__(self, v):
        return v ** 3

    __rmul__ = __mul__


@pytest.mark.parametrize("kind", [Cached, Wrapped, Partial, Dispatched], ids=lambda k: k.__name__)
def test_operator_methods_behind_decorators_are_read_through_them(kind):
    with pytest.raises(s2s.UnsupportedSyntaxError, match=f"object of your class {kind.__name__}"):
        s2s.grad(as_parameter)(X, kind())


def test_a_class_given_operator_methods_after_it_was_seen_is_refused():
    class Box:
        pass

    s2s.runtime.numbers_or_arrays(Box(), "b")  # (seen once: no arithmetic of its own then)
    Box.__mul__ = Box.__rmul__ = lambda self, v: v ** 3
    with pytest.raises(s2s.UnsupportedSyntaxError, match="object of your class Box"):
        s2s.grad(as_parameter)(X, Box())


# (refused first for another reason: the Hessian's evaluations would each construct their own object)
OTHER_REFUSAL = {("method_result", "hessian"): "constructs a Cube", ("calls_a_kept_helper", "hessian"): "constructs a Cube",
                 ("float_subclass_made", "hessian"): "constructs a FloatCube",
                 ("made_ufunc_taker", "hessian"): "constructs a TakesUfuncs", ("rounded", "hessian"): "constructs a Rounds",
                 # (its getter constructs the object: each evaluation its own, since stop 75's reading of getters)
                 ("read_property", "hessian"): "reads the property op, whose getter calls Cube"}


@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
@pytest.mark.parametrize("f, rest", CASES, ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(CASES)])
def test_an_object_doing_arithmetic_reached_any_way_is_refused(f, rest, transform):
    if f is not negated:  # (the object's arithmetic is read: x ** 3 or x ** 2)
        assert not np.allclose(f(X, *rest) - f(X + 1e-3, *rest), -1e-3 * X.size)
    # (a number subclass given as an argument is refused by the arguments' check, s2s/argcheck.py, as before)
    message = OTHER_REFUSAL.get((f.__name__, transform), "does arithmetic of its own|redefines `__mul__`")
    with pytest.raises(REFUSED, match=message):
        TRANSFORMS[transform](f, rest)


def test_the_refusal_of_a_parameter_names_the_line_that_computes_with_it():
    lines, first = inspect.getsourcelines(as_parameter)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="`c` is an object of your class Cube") as caught:
        s2s.grad(as_parameter)(X, CUBE)
    assert caught.value.lineno == first + 1 and "c * x" in caught.value.line


def test_an_item_read_is_refused_at_the_line_computing_with_it_named_as_written():
    lines, first = inspect.getsourcelines(list_item)
    with pytest.raises(s2s.UnsupportedSyntaxError, match=r"`objs\[0\]` is an object of your class Cube") as caught:
        s2s.grad(list_item)(X, [CUBE])
    assert caught.value.lineno == first + 1
    with pytest.raises(s2s.UnsupportedSyntaxError, match=r"`h.op` is an object of your class Cube"):
        s2s.grad(attribute)(X, Holder(CUBE))


@dataclasses.dataclass
class Params:
    """A pytree of parameters with arithmetic of its own for an optimizer's step (`p + (-lr) * g`)."""
    W: np.ndarray
    b: np.ndarray

    def __add__(self, other):
        return Params(self.W + other.W, self.b + other.b)

    def __rmul__(self, s):
        return Params(s * self.W, s * self.b)


def fit_loss(p, x, y):
    return np.mean((x @ p.W + p.b - y) ** 2)


def test_an_object_with_operator_methods_read_only_by_its_fields_is_differentiated():
    rng = np.random.default_rng(0)
    p = Params(rng.normal(size=(3, 2)), rng.normal(size=2))
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    g = s2s.grad(fit_loss)(p, x, y)
    eps = 1e-6
    for field in ("W", "b"):
        value = getattr(p, field)
        numeric = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[i] += eps
            down[i] -= eps
            numeric[i] = (fit_loss(dataclasses.replace(p, **{field: up}), x, y)
                          - fit_loss(dataclasses.replace(p, **{field: down}), x, y)) / (2 * eps)
        np.testing.assert_allclose(getattr(g, field), numeric, rtol=1e-6, atol=1e-8)
    stepped = p + (-0.1) * g  # (its own arithmetic, outside s2s)
    assert fit_loss(stepped, x, y) < fit_loss(p, x, y)




P = Params(np.array([[0.5, -0.2], [0.1, 0.3]]), np.array([0.05, -0.1]))
LAYERS = [P, P]


class Model:
    def __init__(self):
        self.params = P


class Config:
    def __init__(self):
        self.op, self.w = Cube(), 3.0


def params_listed(x, ps):
    return sum(np.sum(np.tanh(q.W @ x + q.b)) for q in ps)


def params_global(x):
    h = x
    for q in LAYERS:
        h = np.tanh(q.W @ h + q.b)
    return np.sum(h)


def params_held(x, m):
    return np.sum(np.tanh(m.params.W @ x))


def params_listed_here(x, p):
    ps = [p, p]
    return sum(np.sum(np.tanh(q.W @ x)) for q in ps)


def params_replaced(x, p):
    return np.sum(np.tanh(dataclasses.replace(p, b=0.0).W @ x))


def unused_object_beside(x, cfg):
    return np.sum(np.sin(cfg.w * x))


def params_or_array(x, p):
    w = p.W if isinstance(p, Params) else p
    return np.sum(np.tanh(w @ x))


def user_list(x, b):
    return np.sum(np.sin(np.asarray(b) * x))


@pytest.mark.parametrize("f, rest", [(params_listed, ([P, P],)), (params_global, ()), (params_held, (Model(),)),
                                     (params_listed_here, (P,)), (params_replaced, (P,)),
                                     (unused_object_beside, (Config(),)), (params_or_array, (P,)),
                                     (params_or_array, (P.W,)), (user_list, (collections.UserList([1.0, 2.0]),)),
                                     (user_list, (array.array("d", [1.0, 2.0]),))],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_objects_with_operator_methods_that_are_no_operands_are_differentiated(f, rest):
    """(review 250: each was refused by the first version of the check, which refused such an object wherever an
    argument or a global held it; review 252: a parameter checked where it starts, not where each branch reads it,
    and `collections.UserList`, whose `__iadd__` is in the standard library's frozen code, taken for yours)"""
    x = np.array([0.4, -0.3])
    for _ in range(2):
        np.testing.assert_allclose(s2s.grad(f)(x, *rest), fd_grad(lambda v: f(v, *rest), (x,)), rtol=1e-6, atol=1e-9)


class Namespace:
    pass


CFG = Namespace()
CFG.w = [1.0, 2.0, 3.0]


def global_attribute_list(x):
    return np.sum(np.asarray(CFG.w) * x)


def test_a_global_s_list_changed_in_place_after_the_first_call_is_checked_again():
    """(review 252: a global's attribute was looked into when the code was made only)"""
    g = s2s.grad(global_attribute_list)
    np.testing.assert_allclose(g(X), [1.0, 2.0, 3.0])
    CFG.w[0] = CUBE
    try:
        with pytest.raises(s2s.UnsupportedSyntaxError, match="`CFG.w` holds an object of your class Cube"):
            g(X)
    finally:
        CFG.w[0] = 1.0


def test_the_check_is_in_the_general_code_and_dropped_where_shapes_are_known():
    """(a parameter the code is made for as an array or a number cannot be such an object)"""
    general = s2s.source(s2s.grad(as_parameter))
    assert "s2s.numbers_or_arrays(c, 'c')" in general and "s2s.numbers_or_arrays(x, 'x')" in general
    assert "numbers_or_arrays" not in s2s.source(s2s.grad(as_parameter), X, 2.0)
    assert "numbers_or_arrays" not in s2s.source(s2s.grad(as_parameter), X, np.ones(3))
    np.testing.assert_allclose(s2s.grad(as_parameter)(X, np.full(3, 2.0)), np.full(3, 2.0))
    np.testing.assert_allclose(s2s.grad(as_parameter)(X, [2.0, 2.0, 2.0]), np.full(3, 2.0))
