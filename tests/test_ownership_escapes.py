"""In-place updates of an array that escaped into somewhere else: refused at the user's line, or right.

s2s runs `y *= v` as `y = y * v` (a new array). That is Python's meaning only where nothing else still
live holds the old array. Besides other names (tests/test_ownership.py), an array can be held by an
attribute (`self.h = h`), a closure cell or a `functools.partial` made by a helper, what a generator
yielded, a dataclass field (`w = d.w`, `dataclasses.replace`), the result of a method or of a function
with a rule of yours (which may be the argument itself), and a `.flat` iterator. Each such update is
refused with its line and a pasteable hint where the array really is shared (the run-time guard
`s2s.unshared` follows all these routes: s2s/sharing.py), and differentiated where it is not. A method
called for its effect on an object whose arrays the function reads is refused (it may update one in
place under the derivative code). Findings W1, W2, W4, W7, W9, W10, W11 of an adversarial review.
"""

import dataclasses
import functools
import inspect
from dataclasses import dataclass

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s
from s2s.errors import UnsupportedSyntaxError

X = np.array([0.3, 0.7, 1.1])


def refused_at(run, func, construct):
    """`run()` is refused at the line of `func` that holds `construct`, naming it, with a hint."""
    with pytest.raises(UnsupportedSyntaxError) as info:
        run()
    err = info.value
    lines, first = inspect.getsourcelines(func)
    expected = [first + i for i, text in enumerate(lines) if construct in text]
    assert err.lineno in expected, (err.lineno, expected, str(err))
    assert construct in err.line and construct in str(err) and err.hint
    assert err.filename.endswith("test_ownership_escapes.py")
    return err


def right(f, *args):
    """s2s's value and gradient (w.r.t. the first argument) equal Python's value and central differences."""
    value, grad = s2s.value_and_grad(f)(*args)
    assert np.allclose(value, f(*args))
    assert np.allclose(grad, fd_grad(f, list(args)), atol=1e-6)


# ---- W1: an attribute holds the array --------------------------------------------------------------

class StoresThenUpdates:
    def loss(self, x):
        h = x * 2.0
        self.h = h
        h *= x
        return np.sum(self.h)


class ReadsThenUpdates:
    def loss(self, x):
        self.h = x * 2.0
        h = self.h
        h *= x
        return np.sum(self.h)


class TwoAttributes:
    def loss(self, x):
        self.h = x * 2.0
        self.g = self.h
        self.g *= x
        return np.sum(self.h)


class Chained:
    def loss(self, x):
        self.a = self.b = x * 1.0
        self.a *= x
        return np.sum(self.b)


class ViewOfAttribute:
    def loss(self, x):
        self.h = x * 1.0
        v = self.h[:2]
        v *= x[:2]
        return np.sum(self.h)


class AttributeHoldsView:
    def loss(self, x):
        h = x * 1.0
        self.v = h[:2]
        h *= x
        return np.sum(self.v)


class ItemOfAttribute:
    def loss(self, x):
        self.d = {"k": x * 1.0}
        v = self.d["k"]
        v *= x
        return np.sum(self.d["k"])


class Net:
    def __init__(self):
        rng = np.random.default_rng(0)
        self.W, self.b = rng.normal(size=(3, 4)), rng.normal(size=4)

    def loss(self, x):
        h = x @ self.W
        self.pre = h
        h += self.b
        return np.sum(np.tanh(h) ** 2) + 0.1 * np.sum(self.pre ** 2)


class Box:
    pass


def stores_into_argument(x, o):
    h = x * 2.0
    o.h = h
    h *= x
    return np.sum(o.h)


@pytest.mark.parametrize("cls, construct", [
    (StoresThenUpdates, "h *= x"), (ReadsThenUpdates, "h *= x"), (TwoAttributes, "self.g *= x"),
    (Chained, "self.a *= x"), (ViewOfAttribute, "v *= x[:2]"), (AttributeHoldsView, "h *= x"),
    (ItemOfAttribute, "v *= x"), (Net, "h += self.b")])
def test_update_of_an_array_an_attribute_holds_is_refused(cls, construct):
    x = X if cls is not Net else np.random.default_rng(1).normal(size=(2, 3))
    refused_at(lambda: s2s.grad(cls().loss)(x), cls.loss, construct)


def test_update_of_an_array_stored_into_an_argument_object_is_refused():
    err = refused_at(lambda: s2s.grad(stores_into_argument)(X, Box()), stores_into_argument, "h *= x")
    assert "`o`" in str(err) and "h = h * x" in err.hint


def test_attribute_update_hint_writes_the_new_value():
    err = refused_at(lambda: s2s.grad(TwoAttributes().loss)(X), TwoAttributes.loss, "self.g *= x")
    assert "self.g" in str(err) and "another attribute of `self`" in str(err)
    assert "self.g = self.g * x" in err.hint


class OwnUpdates:
    def loss(self, x):
        h = x * 2.0
        h *= x  # before the store: the attribute gets the updated array
        self.h = h
        self.acc = x * 1.0
        self.acc += x  # an attribute's own array, held by nothing else
        return np.sum(self.h) + np.sum(self.acc ** 2)


def test_updates_nothing_else_holds_stay_right():
    value, grad = s2s.value_and_grad(OwnUpdates().loss)(X)
    assert np.isclose(value, OwnUpdates().loss(X))
    assert np.allclose(grad, fd_grad(lambda x: OwnUpdates().loss(x), [X]), atol=1e-6)


# ---- W2: a closure cell or a partial holds the array -----------------------------------------------

def make_scale(c):
    return lambda t: c * np.sin(t)


def closure_then_update(x):
    y = x * 1.0
    g = make_scale(y)
    y *= 3.0
    return np.sum(g(1.0))


def closure_then_item(x):
    y = x * 1.0
    g = make_scale(y)
    y[0] = 5.0
    return np.sum(g(1.0))


def partial_then_update(x):
    W = np.ones(3)
    p = functools.partial(np.multiply, W)
    W *= 2.0
    return np.sum(p(x) ** 2)


def partial_of_list_then_item(x):
    W = [1.0, 2.0]
    p = functools.partial(lambda L, t: L[0] * t, W)
    W[0] = 3.0
    return np.sum(p(x) ** 2)


def partial_of_argument(x, W):
    p = functools.partial(np.multiply, W)
    W *= 2.0
    return np.sum(p(x) ** 2)


@pytest.mark.parametrize("func, construct", [
    (closure_then_update, "y *= 3.0"), (closure_then_item, "y[0] = 5.0"), (partial_then_update, "W *= 2.0"),
    (partial_of_list_then_item, "W[0] = 3.0")])
def test_update_of_an_array_a_function_value_holds_is_refused(func, construct):
    refused_at(lambda: s2s.grad(func)(X), func, construct)


def test_update_of_an_array_a_function_value_holds_is_refused_in_forward_mode_too():
    refused_at(lambda: s2s.jvp(closure_then_item, (X,), (np.ones(3),)), closure_then_item, "y[0] = 5.0")


def test_update_of_an_argument_a_partial_holds_is_refused():
    refused_at(lambda: s2s.grad(partial_of_argument)(X, np.ones(3)), partial_of_argument, "W *= 2.0")


def closure_over_a_copy(x):
    y = x * 1.0
    g = make_scale(y.copy())
    y *= 3.0
    return np.sum(g(1.0)) + np.sum(y)


def test_closure_over_a_copy_stays_right():
    right(closure_over_a_copy, X)


# ---- W9: what a generator yielded --------------------------------------------------------------------

def yields_both(a, b):
    yield a
    yield b


def yields_view(a):
    yield a[:2]


def yields_rows(v):
    for row in v:
        yield row


def yields_new(a):
    yield a * 2.0


def collected_then_updated(x):
    y = x * 1.0
    zs = list(yields_both(y, x))
    y *= x
    return np.sum(zs[0])


def tuple_then_item(x):
    y = x * 1.0
    zs = tuple(yields_both(y, x))
    y[0] = 0.0
    return np.sum(zs[0] * x)


def yielded_view_then_updated(x):
    y = x * 1.0
    z = list(yields_view(y))[0]
    y *= x
    return np.sum(z)


def rows_then_updated(x):
    m = np.outer(x, x)
    rows = list(yields_rows(m))
    m *= 2.0
    return np.sum(rows[0])


@pytest.mark.parametrize("func, construct", [
    (collected_then_updated, "y *= x"), (tuple_then_item, "y[0] = 0.0"), (yielded_view_then_updated, "y *= x"),
    (rows_then_updated, "m *= 2.0")])
def test_update_of_an_array_a_generator_yielded_is_refused(func, construct):
    refused_at(lambda: s2s.grad(func)(X), func, construct)


def new_values_collected(x):
    y = x * 1.0
    zs = list(yields_new(y))
    y *= x
    return np.sum(zs[0]) + np.sum(y ** 2)


def test_update_after_collecting_new_values_stays_right():
    right(new_values_collected, X)


# ---- W10: a dataclass field holds the array ----------------------------------------------------------

@dataclass
class Params:
    w: np.ndarray
    b: float


def field_then_updated(v, p):
    w = p.w
    w *= v
    return np.sum(p.w)


def replaced_then_updated(x, d):
    y = x * 1.0
    e = dataclasses.replace(d, w=y)
    y *= x
    return np.sum(e.w)


def built_replaced_then_updated(x):
    y = x * 1.0
    d = Params(y, 1.0)
    e = dataclasses.replace(d, b=2.0)
    y *= x
    return np.sum(e.w)


def test_update_of_a_dataclass_field_is_refused():
    refused_at(lambda: s2s.grad(field_then_updated)(X, Params(np.ones(3), 1.0)), field_then_updated, "w *= v")
    refused_at(lambda: s2s.grad(replaced_then_updated)(X, Params(np.ones(3), 1.0)), replaced_then_updated, "y *= x")
    refused_at(lambda: s2s.grad(built_replaced_then_updated)(X), built_replaced_then_updated, "y *= x")


def field_copied_then_updated(v, p):
    w = p.w.copy()
    w *= v
    return np.sum(p.w * v) + np.sum(w ** 2)


def test_update_of_a_copied_field_stays_right():
    right(lambda v: field_copied_then_updated(v, Params(np.ones(3), 1.0)), X)


# ---- W11: a method's result, or a ruled function's, may be the argument itself ---------------------

class Identity:
    def get(self, a):
        return a


def method_result_updated(x, o):
    y = x * 1.0
    z = o.get(y)
    z *= x
    return np.sum(y)


@s2s.custom_vjp
def passthru(a):
    return a


passthru.defvjp(lambda a: (a, None), lambda res, g: (g,))


def custom_vjp_result_updated(x):
    y = x * 1.0
    z = passthru(y)
    z *= x
    return np.sum(y)


def ruled_identity(a):
    return a


s2s.defvjp(ruled_identity, lambda ans, a: lambda g: g)


def defvjp_result_updated(x):
    y = x * 1.0
    z = ruled_identity(y)
    z *= x
    return np.sum(y)


def test_update_of_a_method_result_that_is_the_argument_is_refused():
    err = refused_at(lambda: s2s.grad(method_result_updated)(X, Identity()), method_result_updated, "z *= x")
    assert "here `y` refers" in str(err)  # of the names guarded (o, x, y), the one that holds the array


@pytest.mark.parametrize("func", [custom_vjp_result_updated, defvjp_result_updated])
def test_update_of_a_ruled_function_result_that_is_the_argument_is_refused(func):
    refused_at(lambda: s2s.grad(func)(X), func, "z *= x")


@s2s.custom_vjp
def scaled(a):
    return a * 3.0


scaled.defvjp(lambda a: (a * 3.0, None), lambda res, g: (3.0 * g,))


def custom_vjp_result_new(x):
    y = x * 1.0
    z = scaled(y)
    z *= x
    return np.sum(y * z)


def test_update_of_a_new_ruled_result_stays_right():
    right(custom_vjp_result_new, X)


# ---- W7: a method changes, in place, an array the derivative reads --------------------------------

class Annealed:
    def __init__(self):
        self.v = np.array([1.0, 2.0, 3.0])

    def bump(self):
        self.v *= 3.0

    def loss(self, x):
        a = np.sin(x * self.v)
        self.bump()
        return np.sum(a ** 2)


def bumped_after_use(x, s):
    a = np.sin(x * s.v)
    s.bump()
    return np.sum(a ** 2)


class Linear:
    def __init__(self):
        self.W = np.ones(3)

    def fwd(self, t):
        return self.W * t


def updated_through_local_name(x, o):
    W = o.W
    W *= 2.0
    return np.sum(o.fwd(x) ** 2)


class RunningMean:
    def __init__(self):
        self.rm = np.zeros(3)

    def loss(self, x):
        m = np.mean(x, axis=0)
        rm = self.rm
        rm *= 0.9
        rm += 0.1 * m
        return np.sum((x - self.rm) ** 2)


def test_method_called_for_its_effect_on_an_object_the_function_reads_is_refused():
    refused_at(lambda: s2s.grad(bumped_after_use)(X, Annealed()), bumped_after_use, "s.bump()")
    refused_at(lambda: s2s.grad(Annealed().loss)(X), Annealed.loss, "self.bump()")


def test_update_of_an_object_array_through_a_local_name_is_refused():
    refused_at(lambda: s2s.grad(updated_through_local_name)(X, Linear()), updated_through_local_name, "W *= 2.0")
    x = np.random.default_rng(0).normal(size=(4, 3))
    refused_at(lambda: s2s.grad(RunningMean().loss)(x), RunningMean.loss, "rm *= 0.9")


class RunningMeanStored:
    def __init__(self):
        self.rm = np.zeros(3)

    def loss(self, x):
        m = np.mean(x, axis=0)
        self.rm *= 0.9  # the attribute's own array
        self.rm += 0.1 * m
        return np.sum((x - self.rm) ** 2)


def test_attribute_update_written_on_the_attribute_stays_right():
    x = np.random.default_rng(0).normal(size=(4, 3))
    g = s2s.grad(RunningMeanStored().loss)(x)
    assert np.allclose(g, fd_grad(lambda v: RunningMeanStored().loss(v), [x]), atol=1e-6)


# ---- W4: a `.flat` iterator writes into its array -----------------------------------------------------

def through_flat(x):
    y = x * 1.0
    w = y.flat
    w[1] = 0.0
    return np.sum(y * y)


def test_write_through_a_flat_iterator_is_refused():
    refused_at(lambda: s2s.grad(through_flat)(X), through_flat, "w[1] = 0.0")


# ---- the caller holds the arguments: what they hold is read after the function returns --------------

def stored_then_updated_unread(x, o):
    h = x * 2.0
    o.h = h
    h *= x
    return np.sum(h)


def appended_then_updated_unread(x, L):
    y = x * 1.0
    L.append(y)
    y *= 2.0
    return np.sum(y)


def test_update_of_an_array_an_argument_holds_is_refused_though_the_function_reads_it_no_more():
    """Python leaves o.h = 2x*x; s2s would leave the array stored before the update (its derivative is
    right, the object the caller reads afterwards is not)."""
    refused_at(lambda: s2s.grad(stored_then_updated_unread)(X, Box()), stored_then_updated_unread, "h *= x")
    refused_at(lambda: s2s.grad(appended_then_updated_unread)(X, []), appended_then_updated_unread, "y *= 2.0")


def stored_after_update(x, o):
    h = x * 2.0
    h *= x
    o.h = h
    return np.sum(h)


def test_update_before_the_store_stays_right_and_leaves_what_python_leaves():
    o, mine = Box(), Box()
    right(stored_after_update, X, Box())
    s2s.grad(stored_after_update)(X, mine)
    stored_after_update(X, o)
    assert np.allclose(mine.h, o.h)


def _doubles_every_value(p):
    for v in [p["W"], p["b"]]:
        v *= 2.0
    return np.sum(p["W"])


def test_a_refusal_at_run_time_leaves_the_callers_arrays_alone():
    """The run-time ownership check refuses `v *= 2.0` (v is p's array); s2s must not then run the function
    itself on the caller's dict (it did, to look for a one-element output, and doubled p's arrays)."""
    p = {"W": np.ones(2), "b": np.arange(2.0)}
    with pytest.raises(s2s.UnsupportedSyntaxError, match="in place"):
        s2s.grad(_doubles_every_value)(p)
    np.testing.assert_array_equal(p["W"], np.ones(2))
    np.testing.assert_array_equal(p["b"], np.arange(2.0))
