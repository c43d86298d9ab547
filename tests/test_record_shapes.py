"""Records passed in (namedtuples and dataclasses) are keyed by their fields' shapes, like a dict of arrays
(s2s/argshapes.py): the code made for them knows `model.W`'s shape and takes the specialised path. Each gradient
is checked against central differences; the code is made again (or the general path taken) wherever a field's
kind, shape or the way Python reads it changes."""

import collections
import copy
import dataclasses

import numpy as np
import pytest

import s2s
from s2s import argshapes
from s2s.errors import NoDerivativeRuleError


@dataclasses.dataclass
class Dense:
    W: np.ndarray
    b: np.ndarray


Pair = collections.namedtuple("Pair", "W b")
Swapped = collections.namedtuple("Swapped", "b W")  # (the same items' shapes, in the other order of names)


def affine_loss(model, x):
    return np.sum(np.tanh(x @ model.W + model.b) ** 2)


def fd_fields(f, model, x, eps=1e-6):
    """Central differences of f with respect to every array field of the record `model`."""
    out = {}
    for name in model._fields if isinstance(model, tuple) else [
            fd.name for fd in dataclasses.fields(model) if hasattr(model, fd.name)]:
        value = getattr(model, name)
        g = np.zeros(value.shape)
        for i in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[i] += eps
            down[i] -= eps
            g[i] = (f(_replaced(model, name, up), x) - f(_replaced(model, name, down), x)) / (2 * eps)
        out[name] = g
    return out


def _replaced(model, name, value):
    if isinstance(model, tuple):
        return model._replace(**{name: value})
    out = copy.copy(model)  # (not dataclasses.replace: it sets no `init=False` field)
    setattr(out, name, value)
    return out


def fd_x(f, model, x, eps=1e-6):
    g = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        g[i] = (f(model, up) - f(model, down)) / (2 * eps)
    return g


def check_record(f, model, x):
    """s2s's gradients with respect to the record and to x against central differences; the record's of its type."""
    g_model, g_x = s2s.grad(f, wrt=(0, 1))(model, x)
    assert type(g_model) is type(model)
    for name, want in fd_fields(f, model, x).items():
        np.testing.assert_allclose(getattr(g_model, name), want, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g_x, fd_x(f, model, x), rtol=1e-5, atol=1e-7)
    return g_model, g_x


def _model(cls, n_in=4, n_out=3, seed=0):
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)
    return cls(b, W) if cls is Swapped else cls(W, b)


@pytest.mark.parametrize("cls", [Dense, Pair], ids=["dataclass", "namedtuple"])
def test_a_record_s_fields_have_shapes_in_the_code(cls):
    """The general helpers (`unbroadcast`, `grad_matmul_b`) of `x @ model.W + model.b` are gone: the code knows
    the fields' shapes (it did not before: 2.4x slower at 16 x 32)."""
    model, x = _model(cls), np.random.default_rng(1).normal(size=(5, 4))
    text = s2s.source(s2s.grad(affine_loss, wrt=1), model, x)
    assert "unbroadcast" not in text and "grad_matmul" not in text and "shape of" not in text
    check_record(affine_loss, model, x)


@pytest.mark.parametrize("cls", [Dense, Pair], ids=["dataclass", "namedtuple"])
def test_another_shape_of_field_gets_its_own_code(cls):
    df = s2s.grad(affine_loss, wrt=1)
    rng = np.random.default_rng(2)
    for n_out, rows in [(3, 5), (1, 5), (3, 1), (3, 5)]:
        model, x = _model(cls, 4, n_out, seed=n_out), rng.normal(size=(rows, 4))
        np.testing.assert_allclose(df(model, x), fd_x(affine_loss, model, x), rtol=1e-5, atol=1e-7)


def test_a_field_changed_between_calls():
    """The same dataclass object, its field given another shape, a number, a refused array, then plain again:
    right each time, or refused."""
    model, x = _model(Dense), np.random.default_rng(3).normal(size=(5, 4))
    df = s2s.grad(affine_loss, wrt=1)
    for _ in range(3):  # (the runner's hot code tests the fields too)
        np.testing.assert_allclose(df(model, x), fd_x(affine_loss, model, x), rtol=1e-5, atol=1e-7)
    model.b = np.ones((5, 3))  # (broadcast the other way: one b per row)
    np.testing.assert_allclose(df(model, x), fd_x(affine_loss, model, x), rtol=1e-5, atol=1e-7)
    model.b = 0.5
    np.testing.assert_allclose(df(model, x), fd_x(affine_loss, model, x), rtol=1e-5, atol=1e-7)
    model.W = model.W.view(Tripled)
    with pytest.raises(NoDerivativeRuleError, match="Tripled"):
        df(model, x)
    model.W = np.asarray(model.W)
    np.testing.assert_allclose(df(model, x), fd_x(affine_loss, model, x), rtol=1e-5, atol=1e-7)


class Tripled(np.ndarray):
    def __matmul__(self, other):
        return 3.0 * (np.asarray(self) @ other)

    def __rmatmul__(self, other):
        return 3.0 * (other @ np.asarray(self))


def test_two_namedtuple_classes_of_the_same_shapes_in_another_order():
    """`Pair(W, b)` and `Swapped(b, W)` hold items of the same shapes in another order of names: the code made for
    one (reading `model.W` as item 0) is not the other's (the field names are part of the key and of the facts)."""
    x = np.random.default_rng(4).normal(size=(5, 4))
    df = s2s.grad(affine_loss, wrt=1)
    for cls in (Pair, Swapped, Pair):
        model = _model(cls)
        np.testing.assert_allclose(df(model, x), fd_x(affine_loss, model, x), rtol=1e-5, atol=1e-7)
        check_record(affine_loss, model, x)


class Shadowed(Pair):
    """A namedtuple whose `W` is a property of its own: `p.W` is not item 0."""

    __slots__ = ()

    @property
    def W(self):
        return self[0] * 2.0


@dataclasses.dataclass
class Described:
    W: np.ndarray
    b: np.ndarray


class Doubling:
    """A data descriptor set on the class after it was made a dataclass: `d.W` reads it, not the instance's dict."""

    def __init__(self, name):
        self.name = name

    def __get__(self, obj, kind=None):
        return self if obj is None else obj.__dict__[self.name] * 2.0

    def __set__(self, obj, value):
        obj.__dict__[self.name] = value


Described.W = Doubling("W")


@pytest.mark.parametrize("model", [Shadowed(np.ones((4, 3)), np.ones(3)), Described(np.ones((4, 3)), np.ones(3))],
                         ids=["namedtuple property", "dataclass descriptor"])
def test_a_field_python_reads_another_way_is_not_keyed(model):
    assert argshapes.structure_key(model) is None
    x = np.random.default_rng(5).normal(size=(5, 4))
    np.testing.assert_allclose(s2s.grad(affine_loss, wrt=1)(model, x), fd_x(affine_loss, model, x), rtol=1e-5,
                               atol=1e-7)


def stores_into_its_record(model, x):
    model.W = model.W * 2.0
    return np.sum(x @ model.W + model.b)


def reads_its_record_as_a_tuple(model, x):
    W, b = model
    return np.sum(np.tanh(x @ W + b) * model[1])


def test_a_record_the_function_changes_or_reads_as_a_tuple():
    x = np.random.default_rng(6).normal(size=(5, 4))
    model = _model(Dense)
    g = s2s.grad(stores_into_its_record, wrt=1)(model, x)
    np.testing.assert_allclose(model.W, _model(Dense).W * 2.0)  # (the store is made, as in Python)
    fresh = lambda m, v: stores_into_its_record(Dense(m.W.copy(), m.b), v)  # noqa: E731 (each call stores)
    np.testing.assert_allclose(g, fd_x(fresh, _model(Dense), x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s2s.grad(stores_into_its_record, wrt=1)(_model(Dense), x), g)
    pair = _model(Pair)
    check_record(reads_its_record_as_a_tuple, pair, x)


def test_a_list_of_records():
    rng = np.random.default_rng(7)
    layers = [Pair(rng.normal(size=(4, 4)), rng.normal(size=4)) for _ in range(3)]

    def mlp(layers, x):
        for layer in layers:
            x = np.tanh(x @ layer.W + layer.b)
        return np.sum(x ** 2)

    x = rng.normal(size=(5, 4))
    g = s2s.grad(mlp, wrt=(0, 1))(layers, x)
    np.testing.assert_allclose(g[1], fd_x(mlp, layers, x), rtol=1e-5, atol=1e-7)
    for k, layer in enumerate(layers):
        want = fd_fields(lambda lay, v: mlp([*layers[:k], lay, *layers[k + 1:]], v), layer, x)
        np.testing.assert_allclose(g[0][k].W, want["W"], rtol=1e-5, atol=1e-7)
    assert argshapes.structure_key(layers)[1][0] == "N"


@pytest.mark.parametrize("model", [Shadowed(np.ones((4, 3)), np.ones(3)), Described(np.ones((4, 3)), np.ones(3))],
                         ids=["namedtuple property", "dataclass descriptor"])
def test_a_gradient_for_a_field_python_reads_another_way_is_refused(model):
    """With respect to the record, `model.W` through a property is no field's value: its gradient was the field's
    read as the value (8x the right one for the doubling descriptor, review 213), refused now."""
    x = np.random.default_rng(5).normal(size=(5, 4))
    with pytest.raises(NoDerivativeRuleError, match="read through a property or descriptor"):
        s2s.grad(affine_loss)(model, x)


@dataclasses.dataclass
class WithState:
    W: np.ndarray
    b: np.ndarray
    stats: np.ndarray = dataclasses.field(init=False, repr=False)  # (set later, or never)


def test_a_field_not_set_on_a_later_instance():
    """The runner's hot code read every field of the class (`p.stats`): a later instance without `stats` raised an
    AttributeError there (review 213); it takes the general path now, as Python reads the fields it reads."""
    x = np.random.default_rng(8).normal(size=(5, 4))
    first = WithState(np.ones((4, 3)), np.ones(3))
    first.stats = np.zeros(3)
    later = WithState(np.full((4, 3), 0.5), np.ones(3))
    df = s2s.grad(affine_loss, wrt=1)
    for model in (first, first, first, later, later):
        np.testing.assert_allclose(df(model, x), fd_x(affine_loss, model, x), rtol=1e-5, atol=1e-7)


def test_a_field_never_set_with_respect_to_the_record():
    """`field(init=False)` never set: the gradient with respect to the record read every declared field of it (an
    AttributeError in `s2s.finish`, and in flattening it); its gradient has the fields the record holds."""
    x = np.random.default_rng(9).normal(size=(5, 4))
    unset = WithState(np.random.default_rng(1).normal(size=(4, 3)), np.ones(3))
    for _ in range(3):  # (the first call, the variant's code, its hot code)
        g_model, _ = check_record(affine_loss, unset, x)
        assert not hasattr(g_model, "stats")
    value, g = s2s.value_and_grad(affine_loss)(unset, x)
    assert value == affine_loss(unset, x) and not hasattr(g, "stats")
    flat, unflatten = s2s.pytree.flatten(unset)
    assert flat.size == 15 and not hasattr(unflatten(flat), "stats")
    set_later = WithState(unset.W, unset.b)
    set_later.stats = np.zeros(3)  # set: its gradient is zero
    g_model, _ = check_record(affine_loss, set_later, x)
    np.testing.assert_array_equal(g_model.stats, 0.0)
    layers = [unset, set_later]
    g_layers = s2s.grad(lambda ls, x: affine_loss(ls[0], x) + affine_loss(ls[1], x))(layers, x)
    assert not hasattr(g_layers[0], "stats") and np.all(g_layers[1].stats == 0.0)
    np.testing.assert_allclose(g_layers[0].W, g_model.W, rtol=1e-12)


@pytest.mark.parametrize("cls", [Dense, Pair, Swapped], ids=["dataclass", "namedtuple", "swapped namedtuple"])
def test_with_respect_to_the_record_the_code_knows_its_shapes(cls):
    """The record's adjoint is one name per field, returned as `s2s.finish({'W': ..., 'b': ...}, model)`, not a
    record per field read added record to record (`s2s.field_grad`, `s2s.add`: 45 against 23 us at 16 x 32)."""
    model, x = _model(cls), np.random.default_rng(9).normal(size=(5, 4))
    text = s2s.source(s2s.grad(affine_loss), model, x)
    assert "unbroadcast" not in text and "grad_matmul" not in text and "field_grad" not in text
    check_record(affine_loss, model, x)
    for _ in range(3):  # (the hot code)
        g = s2s.grad(affine_loss)(model, x)
        assert type(g) is cls
        np.testing.assert_allclose(g.W, fd_fields(affine_loss, model, x)["W"], rtol=1e-5, atol=1e-7)


def unpacked_and_read_by_name(layers, x):
    first = layers[0]
    W, b = layers[0]
    return np.sum(np.tanh(x @ first.W + b)) + np.sum(W * first.W)


def test_a_namedtuple_unpacked_through_one_name_and_read_by_field_through_another():
    """The unpacked copy's adjoint (a list by position) met the field reads' (a dict by name) in `s2s.add`: a
    crash (review 214). A namedtuple's adjoint by fields is a list in its fields' order now."""
    rng = np.random.default_rng(10)
    layers = [Pair(rng.normal(size=(4, 3)), rng.normal(size=3))]
    x = rng.normal(size=(5, 4))
    g = s2s.grad(unpacked_and_read_by_name)(layers, x)
    want = fd_fields(lambda layer, v: unpacked_and_read_by_name([layer], v), layers[0], x)
    assert type(g[0]) is Pair
    np.testing.assert_allclose(g[0].W, want["W"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g[0].b, want["b"], rtol=1e-5, atol=1e-7)


@dataclasses.dataclass
class Sized:
    W: np.ndarray
    b: np.ndarray

    def __post_init__(self):
        self.n = self.W.shape[0]  # (an attribute that is no field: the gradient carries the argument's)


class Clipped(Pair):
    """A namedtuple whose `__new__` changes its arguments: a gradient is no argument list to clip."""

    __slots__ = ()

    def __new__(cls, W, b):
        return super().__new__(cls, W, np.clip(b, -0.1, 0.1))


@pytest.mark.parametrize("model", [Sized(np.ones((4, 3)), np.ones(3)), Clipped(np.ones((4, 3)) * 0.5, np.ones(3))],
                         ids=["attribute beside the fields", "namedtuple with its own __new__"])
def test_a_record_s_gradient_is_made_as_its_fields(model):
    x = np.random.default_rng(11).normal(size=(5, 4))
    g, _ = check_record(affine_loss, model, x)
    if isinstance(model, Sized):
        assert g.n == 4


@dataclasses.dataclass
class Cell:
    Wh: np.ndarray
    Wx: np.ndarray
    b: np.ndarray


def rnn_of_a_cell(cell, xs):
    h = np.zeros(cell.b.shape[0])
    for t in range(xs.shape[0]):
        h = np.tanh(cell.Wh @ h + cell.Wx @ xs[t] + cell.b)
    return np.sum(h ** 2)


def test_an_rnn_whose_weights_are_a_record_s_fields():
    """The fields are read once before the loop (item_reads), their adjoints are added in place and the outer
    products summed after the loop, as for weights passed as arrays: 1139 us at the start of stop 64, 183 against
    150 us for the arrays (one run, 20 steps of 16)."""
    rng = np.random.default_rng(12)
    cell = Cell(rng.normal(size=(6, 6)) * 0.3, rng.normal(size=(6, 4)) * 0.3, rng.normal(size=6) * 0.1)
    xs = rng.normal(size=(5, 4))
    text = s2s.source(s2s.grad(rnn_of_a_cell), cell, xs)
    assert "field_grad" not in text and "np.stack" in text and "unbroadcast" not in text
    g = s2s.grad(rnn_of_a_cell)(cell, xs)
    for name, want in fd_fields(rnn_of_a_cell, cell, xs).items():
        np.testing.assert_allclose(getattr(g, name), want, rtol=1e-5, atol=1e-7)


@dataclasses.dataclass
class Encoder:
    W: np.ndarray
    b: np.ndarray


@dataclasses.dataclass
class Outer:
    enc: Encoder
    scale: float


def reads_a_nested_record(m, xs):
    h = np.zeros(m.enc.b.shape[0])
    for t in range(xs.shape[0]):
        h = np.tanh(m.enc.W @ h + xs[t] + m.enc.b) * m.scale
    return np.sum(h ** 2)


def test_a_nested_record_s_fields_have_shapes():
    """`m.enc.W` (`s2s.field(m, "enc", "W")`) has the inner field's shape (review 215 found the general helpers)."""
    rng = np.random.default_rng(13)
    m, xs = Outer(Encoder(rng.normal(size=(4, 4)) * 0.3, rng.normal(size=4)), 0.9), rng.normal(size=(5, 4))
    assert "grad_matmul" not in s2s.source(s2s.grad(reads_a_nested_record), m, xs)
    g = s2s.grad(reads_a_nested_record)(m, xs)
    want = fd_fields(lambda enc, v: reads_a_nested_record(Outer(enc, 0.9), v), m.enc, xs)
    np.testing.assert_allclose(g.enc.W, want["W"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g.enc.b, want["b"], rtol=1e-5, atol=1e-7)
    e = 1e-6
    assert np.isclose(g.scale, (reads_a_nested_record(Outer(m.enc, 0.9 + e), xs)
                                - reads_a_nested_record(Outer(m.enc, 0.9 - e), xs)) / (2 * e), rtol=1e-5)


@dataclasses.dataclass
class State:
    h: np.ndarray
    w: np.ndarray
    extra: np.ndarray = dataclasses.field(init=False)


def grows_its_state(cell, x):
    cell.h = np.concatenate([cell.h, x])  # (another shape: the caller's object holds it after the call)
    return np.sum(cell.h ** 2) + np.sum(cell.w * x)


def widens_its_state(cell, x):
    cell.h = np.outer(x[:2], cell.h)  # (3,) -> (2, 3): a gradient broadcast to it had the wrong shape, silently
    return np.sum(np.sin(cell.h)) + np.sum(cell.w)


def sets_a_field_it_was_not_given(cell, x):
    cell.extra = cell.h * x
    return np.sum(cell.extra ** 2)


def casts_its_state(cell, x):
    cell.h = (cell.h * x).astype(np.float64)
    return np.sum(cell.h ** 2)


@pytest.mark.parametrize("f", [grows_its_state, widens_its_state, sets_a_field_it_was_not_given, casts_its_state],
                         ids=lambda f: f.__name__)
def test_a_record_the_function_stores_a_field_of_another_shape_into(f):
    """The gradient with respect to a dataclass was finished against the record as the function left it (a
    ValueError for a longer field, a gradient of the stored field's shape where it broadcast): it is the gradient
    with respect to the fields as given (`s2s.as_given`), of their shapes and dtypes."""
    x = np.random.default_rng(10).normal(size=3)

    def given():
        return State(np.arange(1.0, 4.0, dtype=np.float32 if f is casts_its_state else np.float64), np.ones(3))

    df = s2s.grad(f, wrt=(0, 1))
    for _ in range(3):  # (the first call, the variant's code, its hot code)
        g_cell, g_x = df(given(), x)
        assert not hasattr(g_cell, "extra")
        for name in ("h", "w"):
            value = getattr(given(), name)
            want = np.zeros(value.shape)
            for i in np.ndindex(value.shape):
                up, down = given(), given()
                getattr(up, name)[i] += 1e-3
                getattr(down, name)[i] -= 1e-3
                want[i] = (f(up, x) - f(down, x)) / 2e-3
            got = getattr(g_cell, name)
            assert got.shape == value.shape and got.dtype == value.dtype
            np.testing.assert_allclose(got, want, rtol=1e-3 if value.dtype == np.float32 else 1e-5, atol=1e-5)
        want_x = [(f(given(), x + 1e-6 * e) - f(given(), x - 1e-6 * e)) / 2e-6 for e in np.eye(3)]
        np.testing.assert_allclose(g_x, want_x, rtol=1e-4, atol=1e-5)
    cell, python_s = given(), given()
    df(cell, x)
    f(python_s, x)  # (the store is made, as Python makes it)
    np.testing.assert_array_equal(cell.h, python_s.h)
    assert hasattr(cell, "extra") == hasattr(python_s, "extra")


def penalised_by_name(model, x):
    total = 0.0
    for name in ("W", "b"):  # (the name is known when it runs)
        total = total + 0.1 * np.sum(getattr(model, name) ** 2)
    return total + affine_loss(model, x)


class Settings:
    scale = 0.5


def scaled_by_a_setting(model, x, settings, which):
    return getattr(settings, which) * affine_loss(model, x)


def transposed_by_name(x, which):
    return np.sum(getattr(x, which) @ x)


def read_by_literal_names(model, x):
    n = getattr(x, "shape")[0]  # noqa: B009 - (a literal name: the attribute as written, `x.shape`)
    return affine_loss(model, x) * n + np.sum(getattr(model, "b"))  # noqa: B009


@pytest.mark.parametrize("cls", [Dense, Pair], ids=["dataclass", "namedtuple"])
def test_getattr_of_a_value_is_its_field(cls):
    """`getattr(model, name)` had no derivative rule (refused): it is the read `model.<name>`, `s2s.field`."""
    model, x = _model(cls), np.random.default_rng(11).normal(size=(5, 4))
    for _ in range(3):
        check_record(penalised_by_name, model, x)
    settings = Settings()
    g = s2s.grad(scaled_by_a_setting, wrt=(0, 1))(model, x, settings, "scale")
    np.testing.assert_allclose(g[1], 0.5 * fd_x(affine_loss, model, x), rtol=1e-5, atol=1e-7)
    check_record(read_by_literal_names, model, x)
    with pytest.raises(s2s.NoDerivativeRuleError, match=r"gradient for its attribute \.T"):
        s2s.grad(transposed_by_name)(np.eye(3) + 0.5, "T")  # (an array's attribute by name: refused, not wrong)


@dataclasses.dataclass
class Counted:
    h: np.ndarray
    n: int
    extra: np.ndarray = dataclasses.field(init=False)


def sets_its_unset_field(c, x):
    c.extra = np.outer(c.h, x) * c.n
    return np.sum(np.sin(c.extra))


def test_a_field_never_set_that_the_function_sets():
    """The gradient is of the fields as given (no `extra`); giving it the record's type read the fields of the record
    as the function left it (an AttributeError for `extra` in grad, value_and_grad and vjp: review 218)."""
    x = np.array([0.3, -0.7, 1.1])
    want = 2 * np.cos(2 * np.outer(np.arange(1.0, 4.0), x)) @ x
    for get in (lambda c: s2s.grad(sets_its_unset_field)(c, x), lambda c: s2s.value_and_grad(sets_its_unset_field)(c, x)[1],
                lambda c: s2s.vjp(sets_its_unset_field, c, x)[1](1.0)):
        c = Counted(np.arange(1.0, 4.0), 2)
        c.note = "kept by the caller"  # (an attribute beside the fields)
        g = get(c)
        np.testing.assert_allclose(g.h, want, rtol=1e-12)
        assert not hasattr(g, "extra") and hasattr(c, "extra")


def test_the_jacobian_with_respect_to_a_record_the_function_stores_into():
    """jacobian/jacrev cut their blocks by the argument as the function left it: a widened field gave an `h` block of
    shape (3, 2, 3), silently (older than this stop, review 218); they are of the fields as given."""
    x = np.array([0.3, -0.7, 1.1])

    def widens(c, x):
        c.h = np.outer(x[:2], c.h)
        return np.sin(c.h[0]) * np.sum(c.w * x)

    def given():
        return State(np.arange(1.0, 4.0), np.array([0.5, -1.0, 2.0]))

    for jac in (s2s.jacobian, s2s.jacrev):
        J = jac(widens, 0)(given(), x)
        for name in ("h", "w"):
            want = np.zeros((3, 3))
            for i in range(3):
                up, down = given(), given()
                getattr(up, name)[i] += 1e-6
                getattr(down, name)[i] -= 1e-6
                want[:, i] = (widens(up, x) - widens(down, x)) / 2e-6
            np.testing.assert_allclose(getattr(J, name), want, rtol=1e-5, atol=1e-7)


def test_compiled_gradients_key_a_record_by_its_fields():
    """compile=True keyed a record by its type alone, so a record whose field had another shape ran the NumPy code
    made for the first one (b of shape (1,), then (3,): a gradient summed to one entry and broadcast, silently wrong;
    a sparse field after a dense one, a TypeError): it is keyed by its fields, as without compile."""
    import warnings

    rng = np.random.default_rng(13)
    df = s2s.grad(affine_loss, compile=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", s2s.compiled.CompiledFallbackWarning)
        for n_b in (1, 3, 1):
            model, x = Dense(rng.normal(size=(4, 3)), rng.normal(size=n_b)), rng.normal(size=(2, 4))
            g = df(model, x)
            for name, want in fd_fields(affine_loss, model, x).items():
                np.testing.assert_allclose(getattr(g, name), want, rtol=1e-5, atol=1e-7)
