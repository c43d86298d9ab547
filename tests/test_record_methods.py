"""Methods of namedtuples and dataclass instances the differentiated function builds: `p.forward(x)`, `p(x)`,
`layers[0](h)`, `for layer in layers: h = layer(h)`, and `self.other(...)` inside such a method
(transforms/objects.py `_known_receivers`). Each is C's function called with the object first, which s2s reads
like any function of yours; where Python might call another function (an instance's own attribute of the
method's name, `self` of another class), `s2s.receiver` refuses at the call. Checked against central
differences and autograd."""

import collections
import dataclasses

import numpy as np
import pytest
from conftest import check_grad, rng
from helpers_fd import fd_grad

import s2s
from s2s.errors import S2SError


@dataclasses.dataclass
class Dense:
    W: np.ndarray
    b: np.ndarray

    def forward(self, x):
        return np.tanh(x @ self.W + self.b)

    def __call__(self, x):
        return self.forward(x)

    def penalty(self, scale=0.1):
        return scale * np.sum(self.W ** 2)


_Affine = collections.namedtuple("_Affine", "W b")


class Affine(_Affine):
    __slots__ = ()

    def __call__(self, x):
        return x @ self.W + self.b

    def norm(self):
        return np.sum(self.W * self.W) + np.sum(self.b * self.b)


@dataclasses.dataclass
class Base:
    W: np.ndarray

    def apply(self, x):
        return np.sin(x @ self.W)


@dataclasses.dataclass
class Derived(Base):
    scale: float = 2.0

    def __call__(self, x):
        return self.scale * self.apply(x)


def built_and_called(W, b, x):
    layer = Dense(W, b)
    return np.sum(layer(x)) + layer.penalty()


def method_by_name(W, b, x):
    layer = Dense(W, b)
    return np.sum(layer.forward(x) ** 2) + layer.penalty(scale=0.5)


def namedtuple_called(W, b, x):
    layer = Affine(W, b)
    return np.sum(np.tanh(layer(x))) + layer.norm()


def inherited_method(W, b, x):
    layer = Derived(W, 3.0)
    return np.sum(layer(x)) + np.sum(b)


def layers_in_a_loop(W, b, x):
    layers = [Dense(W, b), Dense(W * 0.5, b - 1.0)]
    h = x
    for layer in layers:
        h = layer(h)
    return np.sum(h ** 2)


def layers_from_a_comprehension(W, b, x):
    layers = [Dense(W * k, b) for k in (1.0, 2.0, 3.0)]
    h = x
    for k in range(len(layers)):
        h = layers[k](h)
    return np.sum(h)


def layer_by_index(W, b, x):
    layers = (Affine(W, b), Affine(W.T, b))
    return np.sum(np.tanh(layers[1](layers[0](x))))


def built_each_trip(W, b, x):
    h = x
    for k in range(3):
        layer = Dense(W * (k + 1), b)
        h = layer(h)
    return np.sum(h)


PROGRAMS = [built_and_called, method_by_name, namedtuple_called, inherited_method, layers_in_a_loop,
            layers_from_a_comprehension, layer_by_index, built_each_trip]


def _args(seed=0):
    r = rng(seed)
    return r.normal(size=(3, 3)) * 0.5, r.normal(size=3), r.normal(size=(4, 3))


def _autograd_twin(f):
    """`f` with NumPy's functions traced by autograd: the classes read `np` from this module, so the twin runs the
    same source with this module's `np` swapped for autograd's."""
    import autograd.numpy as anp

    def twin(*args):
        global np
        saved, np = np, anp
        try:
            return f(*args)
        finally:
            np = saved
    return twin


@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
def test_methods_of_records_built_in_the_function_are_differentiated(f):
    check_grad(f, *_args(), wrt=(0, 1), ag=_autograd_twin(f))


def test_a_method_of_a_record_parameter_called_through_its_class():
    """The hint's form for a record passed in: `Dense.forward(p, x)`, and `self.forward` inside `__call__`."""
    def through_class(p, x):
        return np.sum(Dense.__call__(p, x) ** 2)

    W, b, x = _args(1)
    g = s2s.grad(through_class)(Dense(W, b), x)
    eps = 1e-6
    for name in ("W", "b"):
        value = getattr(Dense(W, b), name)
        fd = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[i] += eps
            down[i] -= eps
            fd[i] = (through_class(dataclasses.replace(Dense(W, b), **{name: up}), x)
                     - through_class(dataclasses.replace(Dense(W, b), **{name: down}), x)) / (2 * eps)
        np.testing.assert_allclose(getattr(g, name), fd, rtol=1e-5, atol=1e-7)


def test_the_generated_code_calls_the_class_s_function_with_the_object_first():
    text = s2s.source(s2s.grad(method_by_name), *_args())
    assert "forward_vjp(" in text and "s2s.receiver(layer, Dense, 'forward')" in text
    # (a namedtuple built here, its class's instances without a __dict__: nothing can hide its methods, no check)
    text = s2s.source(s2s.grad(namedtuple_called), *_args())
    assert "__call___vjp(layer, x)" in text and "receiver" not in text


def test_an_instance_s_own_attribute_of_the_method_s_name_is_refused_at_the_call():
    """Inside `Dense.__call__`, `self.forward(x)` of an instance holding an attribute `forward` calls that
    attribute, not Dense.forward: the derivative would be of the wrong code."""
    def through_class(p, x):
        return np.sum(Dense.__call__(p, x))

    W, b, x = _args()
    p = Dense(W, b)
    p.forward = lambda v: v * 0.0
    assert through_class(p, x) == 0.0
    with pytest.raises(S2SError, match="holds an attribute .forward of its own"):
        s2s.grad(through_class)(p, x)
    np.testing.assert_allclose(s2s.grad(through_class)(Dense(W, b), x).b,  # (a plain one: its derivative)
                               np.sum(1 - np.tanh(x @ W + b) ** 2, axis=0), rtol=1e-10)


def test_self_of_another_class_is_refused_where_its_method_differs():
    """`Dense.__call__(other, x)`: inside it, `self.forward` is other's, not Dense's."""
    @dataclasses.dataclass
    class Other:
        W: np.ndarray
        b: np.ndarray

        def forward(self, x):
            return x * 0.0

    def called(W, b, x):
        return np.sum(Dense.__call__(Other(W, b), x))

    with pytest.raises(S2SError, match="is not Dense's"):
        s2s.grad(called)(*_args())
    assert called(*_args()) == 0.0  # (what Python computes: Other.forward)


def test_a_subclass_instance_whose_method_is_the_same_is_differentiated():
    @dataclasses.dataclass
    class Mine(Dense):
        pass

    def called(W, b, x):
        return np.sum(Dense.__call__(Mine(W, b), x) ** 2)

    check_grad(called, *_args(2), wrt=(0, 1), ag=False)


def test_a_name_bound_to_a_record_and_to_something_else_keeps_the_refusal():
    def rebound(W, b, x, flag=True):
        layer = Dense(W, b)
        if flag:
            layer = Affine(W, b)
        return np.sum(layer(x))

    with pytest.raises(S2SError):
        s2s.grad(rebound)(*_args())


def test_a_comprehension_s_own_variable_of_the_same_name_keeps_the_refusal():
    """`[layer(x) for layer in others]` reads the comprehension's `layer`, a NumPy function here: s2s does not take
    the name for the record's (whose calls stay refused as before), nor the functions for records."""
    def shadowed(W, b, x):
        layer = Dense(W, b)
        others = [np.tanh, np.sin]
        return np.sum(layer(x)) + sum(np.sum(layer(x)) for layer in others)

    with pytest.raises(S2SError, match="it is a Dense"):
        s2s.grad(shadowed)(*_args(3))


def test_the_code_is_made_again_when_the_method_is_redefined():
    @dataclasses.dataclass
    class Scaled:
        W: np.ndarray

        def __call__(self, x):
            return x @ self.W

    def f(W, x):
        layer = Scaled(W)
        return np.sum(layer(x) ** 2)

    W, _, x = _args(4)
    g = s2s.grad(f)
    first = g(W, x)
    np.testing.assert_allclose(first, 2 * x.T @ (x @ W), rtol=1e-10)
    original = Scaled.__call__
    try:
        def tripled(self, x):
            return 3.0 * (x @ self.W)
        Scaled.__call__ = tripled
        np.testing.assert_allclose(g(W, x), 18 * x.T @ (x @ W), rtol=1e-10)
    finally:
        Scaled.__call__ = original
    np.testing.assert_allclose(g(W, x), first, rtol=1e-12)


class PlainLayer:
    def __init__(self, W, b):
        self.W = W
        self.b = b

    def __call__(self, x):
        return np.tanh(x @ self.W + self.b)


def test_an_object_of_a_plain_class_built_from_differentiated_values_is_refused_with_the_dataclass_hint():
    """Its __init__ may do anything with the values; the hint's dataclass of the same fields is differentiated
    (`built_and_called` above)."""
    def plain(W, b, x):
        layer = PlainLayer(W, b)
        return np.sum(layer(x))

    with pytest.raises(s2s.NoDerivativeRuleError, match="building an object of your class PlainLayer") as info:
        s2s.grad(plain)(*_args())
    assert "make PlainLayer a dataclass" in str(info.value)


def model_called(model, x):
    return np.sum(model(x) ** 2) + model.penalty()


def model_method(model, x, scale=0.5):
    return np.sum(model.forward(x) * scale)


def _record_fd(f, record, *rest, eps=1e-6):
    """Central differences of f with respect to each field of the dataclass `record`."""
    out = {}
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        fd = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[i] += eps
            down[i] -= eps
            fd[i] = (f(dataclasses.replace(record, **{field.name: up}), *rest)
                     - f(dataclasses.replace(record, **{field.name: down}), *rest)) / (2 * eps)
        out[field.name] = fd
    return out


@pytest.mark.parametrize("f", [model_called, model_method], ids=lambda f: f.__name__)
def test_methods_of_a_record_passed_in_are_differentiated(f):
    """`model(x)` of a Dense given as the argument: the code made for a Dense reads it as Dense.__call__ (a variant
    is keyed by its arguments' types); the gradient is a Dense of the fields' gradients."""
    W, b, x = _args(5)
    model = Dense(W, b)
    g = s2s.grad(f)(model, x)
    assert type(g) is Dense
    for name, fd in _record_fd(f, model, x).items():
        np.testing.assert_allclose(getattr(g, name), fd, rtol=1e-5, atol=1e-7)
    value, g2 = s2s.value_and_grad(f)(model, x)
    assert value == pytest.approx(f(model, x), rel=1e-12)
    np.testing.assert_allclose(g2.W, g.W, rtol=1e-12)


def test_a_record_of_another_class_gets_code_of_its_own():
    """The same function given a Dense, then a Derived (its `__call__` another function), then a Dense again."""
    def called(model, x):
        return np.sum(model(x))

    W, b, x = _args(6)
    g = s2s.grad(called)
    first = g(Dense(W, b), x)
    other = g(Derived(W, 3.0), x)
    np.testing.assert_allclose(other.W, x.T @ (3.0 * np.cos(x @ W)), rtol=1e-10)
    np.testing.assert_allclose(g(Dense(W, b), x).W, first.W, rtol=1e-12)


def test_a_record_passed_in_whose_class_the_function_cannot_name_keeps_the_refusal():
    """A class made inside a function: the derivative code could not name it, so the call stays refused, with the
    hint to call the method through the class."""
    def make():
        @dataclasses.dataclass
        class Hidden:
            W: np.ndarray

            def __call__(self, x):
                return x @ self.W
        return Hidden

    def called(model, x):
        return np.sum(model(x))

    W, _, x = _args(7)
    with pytest.raises(S2SError, match="Hidden.__call__"):
        s2s.grad(called)(make()(W), x)


def test_hessians_through_record_methods():
    """Forward mode over the reverse-mode code: a record built inside, and one passed as a constant argument."""
    def built(W, b, x):
        layer = Dense(W, b)
        return np.sum(layer(x) ** 3)

    def passed(x, model):
        return np.sum(model(x) ** 2)

    W, b, x = _args(8)
    model = Dense(W, b)
    for f, args in ((built, (W, b, x)), (passed, (x[0], model))):
        np.testing.assert_allclose(s2s.hessian(f)(*args), _hessian_by_differences(f, args), rtol=1e-5, atol=1e-6)


def _hessian_by_differences(f, args, wrt=0):
    """Central differences of s2s.grad(f, wrt=wrt) along each entry of args[wrt]."""
    a = args[wrt]
    out = np.zeros(a.shape + a.shape)
    for i in np.ndindex(a.shape):
        e = np.zeros_like(a)
        e[i] = 1e-5
        up, down = list(args), list(args)
        up[wrt], down[wrt] = a + e, a - e
        out[(Ellipsis,) + i] = (s2s.grad(f, wrt=wrt)(*up) - s2s.grad(f, wrt=wrt)(*down)) / 2e-5
    return out


_Pair = collections.namedtuple("_Pair", "a b")


class Pair(_Pair):
    __slots__ = ()

    def sum(self):  # (named like an array's method: still Pair's own, not NumPy's sum of the fields)
        return self.a * self.a + self.b


def pair_sum(p):
    return p.sum() * 2.0


def pair_built(x):
    p = Pair(x, 3.0 * x)
    return p.sum()


def test_a_record_s_method_named_like_an_array_s_is_its_own():
    assert s2s.grad(pair_sum)(Pair(1.5, 2.0)) == Pair(6.0, 2.0)
    assert s2s.grad(pair_built)(1.5) == pytest.approx(2 * 1.5 + 3.0)


class SquaresBag(list):
    def sum(self, *args, **kwargs):
        return float(np.sum(np.asarray(list(self)) ** 2))


class Config(dict):
    """An attribute dict: `cfg.scale` computes nothing s2s derives."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def bag_sum(bag):
    return bag.sum() * 2.0


def test_a_container_of_a_class_that_redefines_what_s2s_reads_is_refused():
    """`bag.sum()` of a list subclass with its own `sum` was read as NumPy's sum of the items: [2, 2] for the
    gradient [4, 8] of 2 * (1 + 4)."""
    with pytest.raises(s2s.NoDerivativeRuleError, match="a list of class SquaresBag, which redefines `sum`"):
        s2s.grad(bag_sum)(SquaresBag([1.0, 2.0]))
    with pytest.raises(s2s.NoDerivativeRuleError, match="a tuple of class Pair, which redefines `sum`"):
        s2s.grad(lambda ps: ps[0].sum())([Pair(1.0, 2.0)])  # (held in a list: its class is not known there)

    def scaled(x, cfg):
        return np.sum(x * cfg.scale)

    np.testing.assert_allclose(s2s.grad(scaled)(np.ones(3), Config(scale=2.0)), 2.0 * np.ones(3))


@dataclasses.dataclass
class Growing:
    W: np.ndarray

    def step(self, x):
        self.W = self.W * 2.0  # (changes the record: what the caller reads of it afterwards is the doubled W)
        return np.sum(x @ self.W)

    def record(self, x, acts):
        acts.append(np.tanh(x @ self.W))
        return acts[-1]


def test_a_method_that_changes_its_record_or_an_argument_is_refused():
    """Read as a function of the record, `layer.step(x)` lost the doubling the caller sees afterwards (a gradient
    half the right one), and `layer.record(x, acts)` the item it appends (reviews 207 and 208)."""
    def doubled(W, x):
        layer = Growing(W)
        s = layer.step(x)
        return s + np.sum(layer.W ** 2)

    def appended(W, x):
        layer = Growing(W)
        acts = []
        h = layer.record(x, acts)
        return np.sum(acts[0]) + np.sum(h)

    def passed(model, x):
        return model.step(x) + np.sum(model.W)

    W, _, x = _args(9)
    for f, args in ((doubled, (W, x)), (appended, (W, x)), (passed, (Growing(W), x))):
        with pytest.raises(S2SError, match=r"method Growing\.(step|record): it changes (self|acts) in place"):
            s2s.grad(f)(*args)


@dataclasses.dataclass
class Doubled(Dense):
    def __call__(self, x):
        return 2.0 * super().__call__(x)


class PlainBase:
    def __init__(self, W):
        self.W = W

    def loss(self, x):
        return np.sum(np.sin(x @ self.W))


class PlainScaled(PlainBase):
    def loss(self, x):
        return 3.0 * super().loss(x)


def test_super_of_a_differentiated_record_is_refused_and_of_a_constant_object_differentiated():
    """`super().__call__(x)` ran on the record without s2s seeing it passed (a zero gradient); written as
    `super(__class__, self)` it is refused where `self` is differentiated, and where it is a constant (a plain
    object's method, differentiated with respect to x) it runs as before."""
    def built(W, b, x):
        layer = Doubled(W, b)
        return np.sum(layer(x))

    W, b, x = _args(10)
    with pytest.raises(S2SError, match="BaseClass.__call__"):
        s2s.grad(built)(W, b, x)
    model = PlainScaled(W)
    np.testing.assert_allclose(s2s.grad(model.loss)(x), fd_grad(model.loss, (x,), 0), rtol=1e-5, atol=1e-7)


_Scaled = collections.namedtuple("_Scaled", "W b")


class IndexedTwice(_Scaled):
    __slots__ = ()

    def __getitem__(self, k):  # (`p[0]` is 3 W here, not W)
        return 3.0 * tuple.__getitem__(self, k)


def test_a_record_that_redefines_indexing_is_refused():
    def first(p, x):
        return np.sum(p[0] @ x)

    W, b, x = _args(11)
    with pytest.raises(s2s.NoDerivativeRuleError, match="a tuple of class IndexedTwice, which redefines `__getitem__`"):
        s2s.grad(first)(IndexedTwice(W, b), x[0])


MODEL = Dense(*_args(12)[:2])


def global_model(x):
    return np.sum(MODEL(x) ** 2)


def test_a_global_record_called_as_a_function_is_differentiated():
    """A dataclass instance is unhashable: looking it up among builtins crashed (TypeError)."""
    x = _args(12)[2]
    np.testing.assert_allclose(s2s.grad(global_model)(x), fd_grad(global_model, (x,), 0), rtol=1e-5, atol=1e-7)


def test_a_hessian_in_one_field_through_a_product_with_another():
    """The tangent of `layer.W` in a Hessian with respect to b alone met `x @ field_dot` as the zero marker (a
    ValueError in matmul): a field the direction does not move now has zeros of its shape."""
    def inline(W, b, x):
        layer = Dense(W, b)
        return np.sum(np.tanh(x @ layer.W + layer.b) ** 2)

    W, b, x = _args(13)
    for f in (inline, built_and_called):
        np.testing.assert_allclose(s2s.hessian(f, wrt=1)(W, b, x), _hessian_by_differences(f, (W, b, x), wrt=1),
                                   rtol=1e-5, atol=1e-6)


@dataclasses.dataclass
class Energy:
    W: np.ndarray

    def energy(self):
        return np.sum(self.W ** 2)


@dataclasses.dataclass
class TripledEnergy(Energy):
    def nested(self):
        other = TripledEnergy(3.0 * self.W)

        def of(o):
            return super().energy()  # (Python: super(__class__, o), o's energy, 9 times self's)
        return of(other)


def test_super_in_a_function_nested_in_a_method_runs_on_that_function_s_argument():
    """It was rewritten with the method's `self` (after the nested function was expanded): the value of self's
    energy and a zero gradient where Python computes other's; now it names `o`, and is refused (o is differentiated)."""
    def f(W):
        t = TripledEnergy(W)
        return t.nested()

    W = _args(14)[0]
    assert f(W) == pytest.approx(9.0 * np.sum(W ** 2))
    with pytest.raises(S2SError, match="BaseClass.energy"):
        s2s.grad(f)(W)


class Doubling(dict):
    """A dict of your class whose `values` doubles them: s2s read `d.values()` as a dict's (review 210: 4 for the
    gradient 8 of `sum(d.values()) * x`, the dict held constant)."""

    def values(self):
        return [2.0 * v for v in dict.values(self)]


class Counted(list):
    """A list of your class that only adds `index` and `count` of its own (called as they are): accepted."""

    def count(self, value):
        return 0


def test_a_container_that_redefines_a_builtin_method_is_refused_even_held_constant():
    def scaled(x, d):
        return sum(d.values()) * x

    with pytest.raises(s2s.NoDerivativeRuleError, match="a dict of class Doubling, which redefines `values`"):
        s2s.grad(scaled)(2.0, Doubling(a=1.5, b=2.5))

    def product(L):
        return L[0] * L[1]

    assert s2s.grad(product)(Counted([2.0, 3.0])) == [3.0, 2.0]


def test_a_typing_namedtuple_that_redefines_iteration_is_refused():
    import typing

    class Doubled(typing.NamedTuple):
        W: np.ndarray

        def __iter__(self):
            yield 2.0 * self.W

    def unpacked(p):
        (a,) = p
        return np.sum(a ** 2)

    with pytest.raises(s2s.NoDerivativeRuleError, match="a tuple of class Doubled, which redefines `__iter__`"):
        s2s.grad(unpacked)(Doubled(np.ones(2)))


def mlp_of_layers(layers, x):
    h = x
    for layer in layers:
        h = layer(h)
    return np.sum(h ** 2)


def ends_of_layers(layers, x):
    return np.sum(layers[-1](layers[0](x)))


def _layers_fd(f, layers, x, eps=1e-6):
    """Central differences of f with respect to each field of each Dense of the list `layers`."""
    out = []
    for k, layer in enumerate(layers):
        fields = {}
        for name in (field.name for field in dataclasses.fields(layer)):
            value = np.asarray(getattr(layer, name), dtype=float)
            fd = np.zeros_like(value)
            for i in np.ndindex(value.shape):
                up, down = value.copy(), value.copy()
                up[i] += eps
                down[i] -= eps
                up, down = (v if v.ndim else float(v) for v in (up, down))
                fd[i] = (f([*layers[:k], dataclasses.replace(layer, **{name: up}), *layers[k + 1:]], x)
                         - f([*layers[:k], dataclasses.replace(layer, **{name: down}), *layers[k + 1:]], x)) / (2 * eps)
            fields[name] = fd
        out.append(fields)
    return out


@pytest.mark.parametrize("f", [mlp_of_layers, ends_of_layers], ids=lambda f: f.__name__)
def test_methods_of_a_list_of_records_passed_in_are_differentiated(f):
    """`for layer in layers: h = layer(h)` of a list of Dense given as the argument; its gradient is a list of
    Dense. A later call with a list of another class whose `__call__` differs gets code of its own (a list of
    records is keyed by its items' classes and fields, s2s/argshapes.py; it was refused by s2s.receiver before)."""
    W, b, x = _args(15)
    layers = [Dense(W, b), Dense(W * 0.5, b - 1.0)]
    g = s2s.grad(f)(layers, x)
    assert type(g) is list and all(type(v) is Dense for v in g)
    for got, want in zip(g, _layers_fd(f, layers, x)):
        for name, fd in want.items():
            np.testing.assert_allclose(getattr(got, name), fd, rtol=1e-5, atol=1e-7)
    others = [Derived(W, 2.0), Derived(W * 0.5, 3.0)]
    g = s2s.grad(f)(others, x)
    assert all(type(v) is Derived for v in g)
    for got, want in zip(g, _layers_fd(f, others, x)):
        for name, fd in want.items():
            np.testing.assert_allclose(getattr(got, name), fd, rtol=1e-5, atol=1e-7)


@dataclasses.dataclass
class Layer:
    W: np.ndarray
    b: np.ndarray

    def __call__(self, x):
        return np.tanh(x @ self.W + self.b)

    def forward(self, x):
        h = x @ self.W
        h = h + self.b
        return np.maximum(h, 0.0)

    def twice(self, x):
        return self.forward(self.forward(x) @ self.W.T)


def layer_called(model, x):
    return np.sum(model(x) ** 2)


def layer_forward(model, x):
    return np.sum(model.forward(x) ** 2)


def layer_twice(model, x):
    return np.sum(model.twice(x) ** 2)


def layers_looped(layers, x):
    h = x
    for layer in layers:
        h = layer(h)
    return np.sum(h ** 2)


@pytest.mark.parametrize("f", [layer_called, layer_forward, layer_twice, layers_looped], ids=lambda f: f.__name__)
def test_a_record_s_method_is_expanded_in_the_caller_and_specialised(f):
    """`model(x)` of a record passed in was a helper of its own, made once without shapes (2.6x the hand-written
    gradient of a dense layer at 16 rows): a method that only reads its record's fields, and calls only methods
    of its record that do (`self.forward` in `twice`, each call's receiver checked), is expanded in the caller
    (transforms/adopt.py), so the code knows `model.W`'s shape. Checked against central differences."""
    r = rng(70)
    model = [Layer(r.normal(size=(4, 4)) * 0.5, r.normal(size=4) * 0.1) for _ in range(2)] \
        if f is layers_looped else Layer(r.normal(size=(4, 4)) * 0.5, r.normal(size=4) * 0.1)
    x = r.normal(size=(3, 4))
    text = s2s.source(s2s.grad(f, wrt=1), model, x)
    assert "_vjp(" not in text and "grad_matmul" not in text and "unbroadcast" not in text
    assert text.count("s2s.receiver(") == (3 if f is layer_twice else 1)  # (twice's own and its two of forward)
    for _ in range(3):  # (the first call, the variant's code, its hot code)
        g_model, g_x = s2s.grad(f, wrt=(0, 1))(model, x)
        np.testing.assert_allclose(g_x, fd_grad(f, (model, x), 1), rtol=1e-5, atol=1e-7)
        for layer, g_layer in zip(*((model, g_model) if f is layers_looped else ([model], [g_model]))):
            for name in ("W", "b"):
                def moved(v, layer=layer, name=name):
                    changed = dataclasses.replace(layer, **{name: v})
                    return f([changed if m is layer else m for m in model] if f is layers_looped else changed, x)
                np.testing.assert_allclose(getattr(g_layer, name), fd_grad(moved, (getattr(layer, name),), 0),
                                           rtol=1e-5, atol=1e-7)


def test_a_method_delegating_to_another_is_expanded_and_checks_both_receivers():
    """`Dense.__call__` returns `self.forward(x)`: both are expanded, and an instance holding its own `forward` is
    still refused where `__call__` calls it (as Python would call that attribute)."""
    W, b, x = _args(73)
    model = Dense(W, b)

    def called(model, x):
        return np.sum(model(x) ** 2)

    text = s2s.source(s2s.grad(called, wrt=1), model, x)
    assert "_vjp(" not in text and "s2s.receiver(" in text and "'forward'" in text
    df = s2s.grad(called, wrt=(0, 1))
    for _ in range(3):
        g_model, g_x = df(model, x)
        np.testing.assert_allclose(g_x, fd_grad(called, (model, x), 1), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(g_model.W, fd_grad(lambda W: called(Dense(W, b), x), (W,), 0), rtol=1e-5, atol=1e-7)
    model.forward = lambda v: v * 0.0
    with pytest.raises(S2SError, match="holds an attribute .forward of its own"):
        df(model, x)


def test_an_expanded_method_still_checks_its_receiver():
    """Expanded in the caller, `model.forward(x)` still goes through `s2s.receiver`: an instance holding its own
    `forward` is refused at the call, as Python would call that attribute."""
    r = rng(71)
    model, x = Layer(r.normal(size=(3, 3)), r.normal(size=3)), r.normal(size=(2, 3))
    df = s2s.grad(layer_forward, wrt=1)
    df(model, x)
    model.forward = lambda v: v * 0.0
    with pytest.raises(S2SError, match="holds an attribute .forward of its own"):
        df(model, x)


def reads_a_field_in_a_lambda(model, x):
    affine = lambda v: v.W @ x + v.b  # noqa: E731 - a local helper of one expression, expanded where it is called
    return np.sum(np.tanh(affine(model)) ** 2)


def reads_a_field_in_a_local_def(model, x):
    def affine(v):
        return v.W @ x + v.b
    return np.sum(np.tanh(affine(model)) ** 2)


@pytest.mark.parametrize("f", [reads_a_field_in_a_lambda, reads_a_field_in_a_local_def], ids=lambda f: f.__name__)
def test_a_local_helper_reading_a_record_s_field(f):
    """A single-expression local helper's `v.W` was expanded after objects' pass had read the function's attributes:
    "no derivative for the attribute .W" (refused); it is read as the caller's own `model.W`."""
    r = rng(72)
    model, x = Layer(r.normal(size=(3, 4)), r.normal(size=3)), r.normal(size=4)
    g_model, g_x = s2s.grad(f, wrt=(0, 1))(model, x)
    np.testing.assert_allclose(g_x, fd_grad(f, (model, x), 1), rtol=1e-5, atol=1e-7)
    for name in ("W", "b"):
        np.testing.assert_allclose(getattr(g_model, name), fd_grad(
            lambda v, name=name: f(dataclasses.replace(model, **{name: v}), x), (getattr(model, name),), 0),
            rtol=1e-5, atol=1e-7)


class Gauss(collections.namedtuple("Gauss", "mu log_sigma")):
    __slots__ = ()

    def flatten(self):  # (a method of the user's named like an array's)
        return np.exp(self.log_sigma)

    def penalty(self):
        s = self.flatten()
        return np.sum(s * s)


@dataclasses.dataclass
class Summed:
    W: np.ndarray

    def sum(self):
        return np.sum(self.W) * 2.0

    def total(self):
        return self.sum() + 1.0


def gauss_penalised(p, x):
    return p.penalty() * np.sum(x ** 2)


def summed_total(m, x):
    return m.total() * np.sum(x ** 2)


@pytest.mark.parametrize("f, record", [
    (gauss_penalised, Gauss(np.array([0.1, -0.2, 0.3]), np.array([0.5, -1.0, 0.2]))),
    (summed_total, Summed(np.array([1.0, 3.0])))], ids=["namedtuple", "dataclass"])
def test_a_method_calling_its_record_s_method_named_like_an_array_s_is_its_own(f, record):
    """`self.flatten()` / `self.sum()` in an expanded method was read as NumPy's function of the record (a silently
    wrong value and gradient; a TypeError for `sum(axis=...)`: review 219 of the first version): a method of the
    record called on `self` is the class's own, expanded as the caller's calls of it are (the namedtuple's was
    refused before this stop, as a method that changes `self`)."""
    x = np.array([1.0, 2.0, -0.5])
    for _ in range(3):
        value, g = s2s.value_and_grad(f, wrt=1)(record, x)
        assert value == pytest.approx(f(record, x), rel=1e-12)
        np.testing.assert_allclose(g, fd_grad(f, (record, x), 1), rtol=1e-6)
    g_record, _ = s2s.grad(f, wrt=(0, 1))(record, x)
    for name in record_fields(record):
        np.testing.assert_allclose(getattr(g_record, name), fd_grad(
            lambda v, name=name: f(_replaced(record, name, v), x), (getattr(record, name),), 0), rtol=1e-5, atol=1e-7)


class Counter:
    def __init__(self):
        self.calls = 0

    def scale(self, k):
        self.calls += 1
        return 2.0 * k


COUNTER = Counter()


def scaled_in_a_lambda(x):
    g = lambda v: v * COUNTER.scale(3.0)  # noqa: E731
    return np.sum(g(x) ** 2)


def test_a_local_helper_calling_a_global_object_s_method_runs_it_as_a_call():
    """A one-expression local helper's calls are left as they were (a global object's method changing its object
    runs as a call of a value), only its attribute reads are read as the caller's (review 219)."""
    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(s2s.grad(scaled_in_a_lambda)(x), 2 * 36.0 * x, rtol=1e-12)


def record_fields(record):
    return record._fields if isinstance(record, tuple) else [f.name for f in dataclasses.fields(record)]


def _replaced(record, name, value):
    return record._replace(**{name: value}) if isinstance(record, tuple) else dataclasses.replace(record, **{name: value})


_OTHER_MODULE = '''
import dataclasses

import numpy as np


def swish(z):  # (this module's own activation: not the caller's `swish`)
    return np.tanh(z) * 3.0


def layer(W, x):
    return swish(x @ W)


def Dense_forward(p, x):  # (a function of this module named as s2s names Dense.forward's calls while it adopts)
    return np.sin(x @ p.W)


@dataclasses.dataclass
class Dense:
    W: np.ndarray
    b: np.ndarray

    def __call__(self, x):
        h = self.forward(x)
        return self.act(h, x)

    def forward(self, x):
        return np.tanh(x @ self.W + self.b)

    def act(self, h, x):
        return h * Dense_forward(self, x)
'''

_CALLER = '''
import numpy as np

import helpers_of_another_module as other
from helpers_of_another_module import Dense


def swish(z):
    return z / (1.0 + np.exp(-z))


def through_a_module_helper(W, x):
    return np.sum(swish(other.layer(W, x)))


def through_a_method(m, x):
    return np.sum(m(x) ** 2)
'''


def test_names_given_while_adopting_are_no_globals_of_the_adopted_code_s_module(tmp_path, monkeypatch):
    """The names calls go by while adoption decides (`swish` of `other.swish`, `Dense_forward` of
    `self.forward(x)`) were left out of the check that the adopted code's globals mean the same in the caller's
    module, for every candidate: a helper of another module calling its own `swish` called the caller's (a wrong
    value and gradient, review 220 of the first version of the nested methods)."""
    import importlib

    (tmp_path / "helpers_of_another_module.py").write_text(_OTHER_MODULE)
    (tmp_path / "caller_of_another_module.py").write_text(_CALLER)
    monkeypatch.syspath_prepend(str(tmp_path))
    caller = importlib.import_module("caller_of_another_module")
    r = rng(74)
    W, b, x = r.normal(size=(3, 3)), r.normal(size=3), r.normal(size=(2, 3))
    f = caller.through_a_module_helper
    for _ in range(3):
        value, g = s2s.value_and_grad(f)(W, x)
        assert value == pytest.approx(f(W, x), rel=1e-12)
        np.testing.assert_allclose(g, fd_grad(f, (W, x), 0), rtol=1e-5, atol=1e-7)
    f, m = caller.through_a_method, caller.Dense(W, b)
    for _ in range(3):
        value, (g_m, g_x) = s2s.value_and_grad(f, wrt=(0, 1))(m, x)
        assert value == pytest.approx(f(m, x), rel=1e-12)
        np.testing.assert_allclose(g_x, fd_grad(f, (m, x), 1), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(g_m.W, fd_grad(lambda W: f(caller.Dense(W, b), x), (W,), 0), rtol=1e-5, atol=1e-7)


def test_a_record_s_gradient_holds_no_array_of_the_record():
    """`np.sum(p.a * p.c)`: the gradient's `a` was `p.c` itself (older, review 220), so an update of the gradient in
    place changed the argument; a field read of a record argument is copied as an array argument's is."""
    for cls in (Layer, collections.namedtuple("Two", "W b")):
        p = cls(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]))

        def product(p):
            return np.sum(p.W * p.b)

        for _ in range(3):
            g = s2s.grad(product)(p)
            assert g.W is not p.b and g.b is not p.W
            g.W[...] = 0.0
            np.testing.assert_array_equal(p.b, [4.0, 5.0, 6.0])


@dataclasses.dataclass
class SumNamed:
    W: np.ndarray
    b: np.ndarray

    def __call__(self, x):
        return self.sum(x) + self.sum(x * 0.5).sum()  # (`.sum()` of a result: this method stays a call)

    def sum(self, x):
        return np.tanh(x @ self.W + self.b) * 1.5


def test_a_linked_method_calling_its_record_s_method_named_like_an_array_s():
    """Linked (not expanded), `__call__`'s `self.sum(x)` was read as `np.sum(self, axis=x)`: a TypeError with
    respect to the record, a refusal naming `axis` with respect to x (older, review 220): `self` of a method of a
    record class is read as of that class, whose `sum` it calls."""
    W, b, x = _args(75)

    def called(model, x):
        return np.sum(model(x) ** 2)

    model = SumNamed(W, b)
    for _ in range(3):
        g_model, g_x = s2s.grad(called, wrt=(0, 1))(model, x)
        np.testing.assert_allclose(g_x, fd_grad(called, (model, x), 1), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(g_model.W, fd_grad(lambda W: called(SumNamed(W, b), x), (W,), 0),
                                   rtol=1e-5, atol=1e-7)


# ---- stop 71: a record's field holding a function, called -------------------------------------------------------

def _relu(z):
    return np.maximum(z, 0.0)


@dataclasses.dataclass
class HeldActivation:
    W: np.ndarray
    f: object = np.tanh

    def forward(self, x):
        return self.f(self.W @ x)


def held_by_method(p, x):
    return np.sum(p.forward(x) ** 2)


def held_read_first(p, x):
    fn = p.f
    return np.sum(fn(p.W @ x) ** 2)


@pytest.mark.parametrize("f", [held_by_method, held_read_first])
@pytest.mark.parametrize("act", [np.sin, np.tanh, _relu])
def test_a_function_a_record_holds_is_called_as_a_function_value(f, act):
    """Review 240: `self.f(self.W @ x)` of a dataclass field `f: object = np.tanh` was refused as an unknown
    method (with a hint to call `Act.f(self, ...)`), and `fn = p.f; fn(z)` as a function value depending on the
    differentiated input; such a function holds no value to differentiate."""
    W, x = np.array([[0.5, -0.2], [0.1, 0.3]]), np.array([0.4, -0.7])
    got = s2s.grad(f)(HeldActivation(W, act), x)
    expected = fd_grad(lambda w: f(HeldActivation(w, act), x), [W])
    np.testing.assert_allclose(got.W, expected, rtol=1e-6, atol=1e-8)
    _, dot = s2s.jvp(f, (HeldActivation(W, act), x), (HeldActivation(np.ones((2, 2)), act), None))
    np.testing.assert_allclose(dot, np.sum(got.W), rtol=1e-9)


def test_a_record_holding_a_closure_over_an_array_is_still_refused():
    scale = np.array([2.0, 3.0])
    W, x = np.array([[0.5, -0.2], [0.1, 0.3]]), np.array([0.4, -0.7])
    with pytest.raises(s2s.UnsupportedSyntaxError, match="function value"):
        s2s.grad(held_by_method)(HeldActivation(W, lambda z: z * scale), x)


@dataclasses.dataclass
class StackOfActivations:
    W: np.ndarray
    acts: list

    def __call__(self, x):
        for a in self.acts:
            x = a(x @ self.W)
        return x


def through_a_stack(m, x):
    return np.sum(m(x) ** 2)


def test_a_record_method_calling_the_functions_it_holds_is_differentiated():
    """A record's method looping over the functions a field holds (`for a in self.acts`) was refused as changing x
    (its deferred calls counted as changing everything, though each is checked where it runs)."""
    W, x = np.eye(2) * 0.7 + 0.1, np.array([0.3, -0.4])
    got = s2s.grad(through_a_stack)(StackOfActivations(W, [np.tanh, np.sin]), x)
    expected = fd_grad(lambda w: through_a_stack(StackOfActivations(w, [np.tanh, np.sin]), x), [W])
    np.testing.assert_allclose(got.W, expected, rtol=1e-6, atol=1e-8)


HeldOnly = collections.namedtuple("HeldOnly", ["W", "f"])  # (no method of its own: held functions are enough)


def held_field_without_methods(p, x):
    return np.sum(p.f(p.W @ x) ** 2)


@pytest.mark.parametrize("act", [np.tanh, np.sort, np.cumsum])
def test_a_record_with_no_methods_holding_a_function_is_called_through_the_field(act):
    """Review 242: `p.f(z)` of a record whose class defines no method was refused as an unknown method (the code was
    made for records with methods only), and a NumPy function that is no ufunc (np.sort, np.cumsum) as a function
    value depending on the input."""
    W, x = np.array([[0.5, -0.2], [0.1, 0.3]]), np.array([0.4, -0.7])
    got = s2s.grad(held_field_without_methods)(HeldOnly(W, act), x)
    expected = fd_grad(lambda w: held_field_without_methods(HeldOnly(w, act), x), [W])
    np.testing.assert_allclose(got.W, expected, rtol=1e-6, atol=1e-8)
