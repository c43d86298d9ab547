"""Namedtuples and dataclasses as parameters: attribute reads, unpacking, indexing, `_replace`,
records built inside the function; gradients of the parameter's own type. Each gradient is checked
against central differences and against autograd (which differentiates with respect to plain tuples:
its twin rebuilds the record from one), in reverse and forward mode."""

import dataclasses
from collections import namedtuple

import autograd
import numpy as np
import pytest
from helpers_fd import autograd_version

import s2s

P = namedtuple("P", "w b")
L = namedtuple("L", "W b")
Q = namedtuple("Q", "inner c")
PD = namedtuple("PD", "w b scale", defaults=(1.5,))


@dataclasses.dataclass
class D:
    w: np.ndarray
    b: float


@dataclasses.dataclass(frozen=True)
class F:
    w: np.ndarray
    b: np.ndarray


def _leaves(x):
    """The float arrays of a (nested) record, list or tuple, in order."""
    if dataclasses.is_dataclass(x) or isinstance(x, tuple | list):
        items = [getattr(x, f.name) for f in dataclasses.fields(x)] if dataclasses.is_dataclass(x) else list(x)
        return [leaf for v in items for leaf in _leaves(v)]
    return [x]


def _with_leaves(x, leaves):
    """`x` with its leaves replaced by `leaves` (an iterator), the same types all the way down."""
    if dataclasses.is_dataclass(x):
        return dataclasses.replace(x, **{f.name: _with_leaves(getattr(x, f.name), leaves)
                                         for f in dataclasses.fields(x)})
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)._make(_with_leaves(v, leaves) for v in x)
    if isinstance(x, tuple | list):
        return type(x)(_with_leaves(v, leaves) for v in x)
    return next(leaves)


def fd_structured(f, args, i, eps=1e-6):
    """Central differences of scalar f with respect to every leaf of args[i]: a structure like args[i]."""
    leaves = [np.array(v, dtype=float) for v in _leaves(args[i])]
    grads = []
    for k, leaf in enumerate(leaves):
        g = np.zeros_like(leaf)
        for idx in np.ndindex(leaf.shape):
            vals = []
            for sign in (1, -1):
                moved = [v.copy() for v in leaves]
                moved[k][idx] += sign * eps
                a = list(args)
                a[i] = _with_leaves(args[i], iter([m if np.ndim(orig) else float(m)
                                                   for m, orig in zip(moved, _leaves(args[i]))]))
                vals.append(float(f(*a)))
            g[idx] = (vals[0] - vals[1]) / (2 * eps)
        grads.append(g)
    return _with_leaves(args[i], iter(grads))


def assert_same_structure(got, want, rtol=1e-5, atol=1e-7):
    assert type(got) is type(want), (type(got), type(want))
    gl, wl = _leaves(got), _leaves(want)
    assert len(gl) == len(wl)
    for a, b in zip(gl, wl):
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def check(f, args, i=0, ag=True):
    """s2s.grad(f, wrt=i) against central differences and autograd; the gradient has args[i]'s type."""
    got = s2s.grad(f, wrt=i)(*args)
    assert_same_structure(got, fd_structured(f, args, i))
    if ag:
        rec = args[i]
        ag_f = autograd_version(f)

        def on_tuple(t, *rest):
            a = list(rest)
            a.insert(i, _with_leaves(rec, iter([t[k] for k in range(len(_leaves(rec)))])))
            return ag_f(*a)
        rest = [a for k, a in enumerate(args) if k != i]
        expected = autograd.grad(on_tuple)(tuple(_leaves(rec)), *rest)
        for a, b in zip(_leaves(got), expected):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    return got


def check_jvp(f, args, i=0, seed=5):
    """s2s.jvp along a random record tangent against central differences along it."""
    rs = np.random.RandomState(seed)
    rec = args[i]
    tangent = _with_leaves(rec, iter([rs.randn(*np.shape(v)) if np.ndim(v) else float(rs.randn())
                                      for v in _leaves(rec)]))
    tangents = [None] * len(args)
    tangents[i] = tangent
    value, dot = s2s.jvp(f, tuple(args), tuple(tangents))
    eps = 1e-6

    def moved(sign):
        a = list(args)
        a[i] = _with_leaves(rec, iter([v + sign * eps * t for v, t in zip(_leaves(rec), _leaves(tangent))]))
        return float(f(*a))
    np.testing.assert_allclose(value, f(*args))
    np.testing.assert_allclose(dot, (moved(1) - moved(-1)) / (2 * eps), rtol=1e-5, atol=1e-7)


def _p(seed=0, n=3, dtype=float):
    rs = np.random.RandomState(seed)
    return P(rs.randn(n).astype(dtype), float(rs.randn()))


# ---- functions under test ------------------------------------------------------------------------

def f_attrs(p, x):
    return np.sum(np.sin(p.w * x) + p.b * p.w)


def f_unpack(p, x):
    w, b = p
    return np.sum(np.tanh(w * x)) * b


def f_index(p, x):
    return np.sum(p[0] ** 2 * x) + p[1] * np.sum(p.w)


def f_replace(p, x):
    q = p._replace(w=p.w * 2.0)
    return np.sum(q.w * x) + q.b ** 2 + np.sum(p.w)


def f_dc_replace(d, x):
    e = dataclasses.replace(d, w=np.exp(d.w))
    return np.sum(e.w * x) * e.b


def f_build(w, x):
    q = P(w * 2.0, b=np.sum(w))
    return np.sum(q.w * x) * q.b + q[1]


def f_build_default(w, x):
    q = PD(w, np.sum(w * x))
    return np.sum(q.w * q.b) * q.scale


def f_nested(q, x):
    return np.sum(q.inner.w * x) + q.inner.b * q.c


def f_layers(params, x):
    for layer in params:
        x = np.tanh(layer.W @ x + layer.b)
    return np.sum(x ** 2)


def helper_affine(p, x):
    return p.w * x + p.b


def f_helper(p, x):
    return np.sum(helper_affine(p, x) ** 2)


def f_loop_accumulate(p, x):
    total = 0.0
    for i in range(3):
        total = total + np.sum(p.w * x ** i) * p.b
    return total


def f_dataclass(d, x):
    return np.sum(d.w ** 2 * x) * d.b


def f_frozen(d, x):
    return np.sum(d.w @ x + d.b)


def f_alias(p, x):
    r = p
    s = r
    return np.sum(s.w * r.w * x) + p.b


def f_ifexp(p, x):
    q = p if np.sum(x) > 0 else P(p.w * 2.0, p.b)
    return np.sum(q.w * x) + q.b


# ---- tests ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("f", [f_attrs, f_unpack, f_index, f_replace, f_helper,
                               f_loop_accumulate, f_alias, f_ifexp], ids=lambda f: f.__name__)
@pytest.mark.parametrize("n", [1, 4])
def test_namedtuple_param(f, n):
    p = _p(n, n)
    x = np.random.RandomState(10 + n).randn(n)
    g = check(f, (p, x))
    assert isinstance(g, P)
    check_jvp(f, (p, x))


def test_gradient_wrt_x_too():
    p, x = _p(1), np.random.RandomState(2).randn(3)
    gp, gx = s2s.grad(f_attrs, wrt=(0, 1))(p, x)
    assert_same_structure(gp, fd_structured(f_attrs, (p, x), 0))
    np.testing.assert_allclose(gx, fd_structured(f_attrs, (p, x), 1), rtol=1e-5)


def test_nested_namedtuple():
    q = Q(_p(3), 0.7)
    g = check(f_nested, (q, np.random.RandomState(4).randn(3)))
    assert isinstance(g.inner, P)
    check_jvp(f_nested, (q, np.random.RandomState(4).randn(3)))


def test_list_of_layer_records():
    rs = np.random.RandomState(0)
    params = [L(rs.randn(4, 3), rs.randn(4)), L(rs.randn(2, 4), rs.randn(2))]
    g = check(f_layers, (params, rs.randn(3)))
    assert isinstance(g, list) and all(isinstance(layer, L) for layer in g)
    check_jvp(f_layers, (params, rs.randn(3)))


@pytest.mark.parametrize("f", [f_build, f_build_default], ids=lambda f: f.__name__)
def test_record_built_inside(f):
    rs = np.random.RandomState(7)
    w, x = rs.randn(3), rs.randn(3)
    g = s2s.grad(f)(w, x)
    np.testing.assert_allclose(g, fd_structured(f, (w, x), 0), rtol=1e-5)
    np.testing.assert_allclose(g, autograd.grad(autograd_version(f))(w, x), rtol=1e-9)
    _, dot = s2s.jvp(f, (w, x), (np.ones(3), None))
    np.testing.assert_allclose(dot, np.sum(g), rtol=1e-9)


@pytest.mark.parametrize("cls,f", [(D, f_dataclass), (D, f_dc_replace), (F, f_frozen)],
                         ids=["dataclass", "dataclasses.replace", "frozen"])
def test_dataclass_param(cls, f):
    rs = np.random.RandomState(3)
    d = cls(rs.randn(3), rs.randn(3) if cls is F else 0.8)
    x = rs.randn(3)
    g = check(f, (d, x))
    assert isinstance(g, cls)
    check_jvp(f, (d, x))


def f_flat(w, b, x):
    return np.sum(np.sin(w * x) + b * w)


@pytest.mark.parametrize("b", [np.float32(1.5), np.array(1.5, dtype=np.float32), 1.5], ids=["f32", "0-d", "float"])
def test_float32_and_zero_d(b):
    """A record's gradient is what s2s gives the same arrays passed one by one (the array's dtype)."""
    p = P(np.float32([0.5, -0.2]), b)
    x = np.float32([1.0, 2.0])
    g = s2s.grad(f_attrs)(p, x)
    gw, gb = s2s.grad(f_flat, wrt=(0, 1))(p.w, p.b, x)
    assert isinstance(g, P) and g.w.dtype == gw.dtype and np.shape(g.b) == np.shape(gb)
    np.testing.assert_allclose(g.w, gw, rtol=1e-6)  # float32 arithmetic: summed in another order
    np.testing.assert_allclose(g.b, gb, rtol=1e-6)
    want = fd_structured(f_attrs, (P(p.w.astype(float), float(b)), x.astype(float)), 0)
    np.testing.assert_allclose(g.w, want.w, rtol=1e-4)
    np.testing.assert_allclose(g.b, want.b, rtol=1e-4)


def test_empty_field():
    p = P(np.zeros(0), 2.0)
    g = s2s.grad(f_attrs)(p, np.zeros(0))
    assert isinstance(g, P) and g.w.shape == (0,) and g.b == 0.0


def test_unused_field_gets_zero_of_its_shape():
    def f(p, x):
        return np.sum(p.w * x)
    g = s2s.grad(f)(P(np.ones(3), np.ones((2, 2))), np.arange(3.0))
    np.testing.assert_array_equal(g.b, np.zeros((2, 2)))
    np.testing.assert_array_equal(g.w, np.arange(3.0))


def test_vjp_of_a_function_returning_a_record():
    def f(p, x):
        return P(p.w * x, p.b * 2.0)
    p, x = _p(2), np.arange(3.0)
    value, pullback = s2s.vjp(f, p, x)
    assert isinstance(value, P)
    g = pullback(P(np.ones(3), 1.0))
    assert isinstance(g, P)
    np.testing.assert_allclose(g.w, x)
    assert g.b == 2.0


def test_hessian_wrt_array_with_record_constants():
    def f(p, x):
        return np.sum(p.w * x ** 3) + p.b * np.sum(x ** 2)
    p, x = _p(1), np.random.RandomState(5).randn(3)
    h = s2s.hessian(f, wrt=1)(p, x)
    np.testing.assert_allclose(h, np.diag(6 * p.w * x) + 2 * p.b * np.eye(3), rtol=1e-10)


def test_hessian_through_records_built_inside():
    def f(x):
        q = P(x * x, np.sum(x))
        return np.sum(q.w * q.b)
    x = np.array([0.5, -1.0, 2.0])
    h = s2s.hessian(f)(x)
    np.testing.assert_allclose(h, autograd.hessian(autograd_version(f))(x), rtol=1e-10)


# ---- refusals --------------------------------------------------------------------------------------

class Plain:
    def __init__(self, w):
        self.w = w


def test_attribute_of_a_plain_object_in_a_list_is_refused_when_differentiated():
    def f(objs, x):
        return np.sum(objs[0].w * x)
    with pytest.raises(s2s.NoDerivativeRuleError, match="namedtuples and dataclass"):
        s2s.grad(f)([Plain(np.ones(3))], np.ones(3))
    # not differentiated: a constant
    np.testing.assert_allclose(s2s.grad(f, wrt=1)([Plain(np.arange(3.0))], np.ones(3)), np.arange(3.0))


def test_update_through_a_field_alias_is_refused():
    def f(p, x):
        w = p.w
        w[0] = 5.0
        return np.sum(w * x) + np.sum(p.w)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="view of `p`") as info:
        s2s.grad(f)(P(np.ones(3), 2.0), np.ones(3))
    assert "w = p.w.copy()" in str(info.value)


@dataclasses.dataclass
class WithPost:
    w: np.ndarray

    def __post_init__(self):
        self.w = self.w * 2.0


@dataclasses.dataclass
class OwnInit:
    w: np.ndarray

    def __init__(self, w):  # dataclasses keeps an __init__ written in the class
        self.w = w * 2.0


class SubInit(D):
    def __init__(self, w, b):
        super().__init__(w * 3.0, b)


class NTNew(namedtuple("NTNew", "w")):
    def __new__(cls, w):
        return super().__new__(cls, w * 2.0)


@pytest.mark.parametrize("make", [lambda x: WithPost(x), lambda x: OwnInit(x), lambda x: SubInit(x, 1.0),
                                  lambda x: NTNew(x)], ids=["post_init", "own_init", "subclass_init", "new"])
def test_building_a_record_whose_constructor_runs_code_is_refused(make):
    cls = type(make(np.ones(1)))

    def f(x):
        return np.sum(cls(x).w)
    if cls is SubInit:
        def f(x):  # noqa: F811 - two positional fields
            return np.sum(cls(x, 1.0).w)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="runs code of its own"):
        s2s.grad(f)(np.ones(3))


def test_replace_with_positional_arguments_is_refused():
    def f(p):
        return np.sum(p._replace(*[p.w]).w)
    with pytest.raises(s2s.UnsupportedSyntaxError):
        s2s.grad(f)(P(np.ones(3), 2.0))


# ---- fields named like an array's attributes -------------------------------------------------------

S = namedtuple("S", "size w")


def test_a_field_named_like_an_array_attribute_is_refused():
    """`p.size` is read as an array's size (no derivative): a record with such a field is refused, never
    given a zero gradient for it."""
    def f(p, x):
        return np.sum(p.w * x) * p.size
    with pytest.raises(s2s.NoDerivativeRuleError, match="'size'"):
        s2s.grad(f)(S(2.0, np.ones(3)), np.ones(3))

    def g(x):
        q = S(np.sum(x), x)
        return np.sum(q.w) * q.size
    with pytest.raises(s2s.UnsupportedSyntaxError, match="size"):
        s2s.grad(g)(np.ones(3))


def test_an_array_attribute_without_derivative_is_still_refused():
    def f(x):
        return x.flat[0] * 2.0
    with pytest.raises(s2s.NoDerivativeRuleError, match=".flat"):
        s2s.grad(f)(np.ones(2))


class Rect(namedtuple("Rect", "w h")):
    __slots__ = ()

    @property
    def area(self):
        return self.w * self.h


@dataclasses.dataclass
class Box:
    w: float
    h: float
    scale = 2.0  # a class attribute, not a field

    @property
    def area(self):
        return self.w * self.h


@pytest.mark.parametrize("rec", [Rect(2.0, 3.0), Box(2.0, 3.0)], ids=["namedtuple", "dataclass"])
def test_a_property_of_a_record_is_differentiated_through_its_getter(rec):
    """`r.area` is the call of its getter, whose code s2s reads (since stop 75; before, refused, never taken as
    zero): d(w h x)/dw = h x, /dh = w x."""
    def f(r, x):
        return r.area * x

    g = s2s.grad(f)(rec, 1.5)
    assert (g.w, g.h) == (3.0 * 1.5, 2.0 * 1.5)
    assert s2s.jvp(f, (rec, 1.5), (type(rec)(1.0, 0.0), 0.0))[1] == 3.0 * 1.5
    assert s2s.grad(f, wrt=1)(rec, 1.5) == 6.0  # not differentiated: a constant


def test_a_class_attribute_of_a_dataclass_is_refused_when_differentiated():
    def f(b, x):
        return b.w * b.scale * x
    with pytest.raises(s2s.NoDerivativeRuleError, match="not one"):
        s2s.grad(f)(Box(2.0, 3.0), 1.5)


def f_store_into_dataclass(d, x):
    y = d.w * 2.0
    d.w = x * 3.0
    return np.sum(y) + np.sum(d.w * d.b)


def test_store_into_a_differentiated_dataclass():
    """A read before the store differentiates the field as it came in; one after, the value stored."""
    x = np.array([1.0, 2.0])
    gd, gx = s2s.grad(f_store_into_dataclass, wrt=(0, 1))(D(np.ones(2), 0.5), x)
    assert isinstance(gd, D)
    np.testing.assert_allclose(gd.w, [2.0, 2.0])
    assert np.isclose(gd.b, 9.0)
    np.testing.assert_allclose(gx, [1.5, 1.5])
    fresh = D(np.ones(2), 0.5)
    np.testing.assert_allclose(fd_structured(lambda d, v: f_store_into_dataclass(D(d.w, d.b), v), (fresh, x), 0).w,
                               gd.w, rtol=1e-6)
    _, dot = s2s.jvp(f_store_into_dataclass, (D(np.ones(2), 0.5), x), (D(np.ones(2), 1.0), np.zeros(2)))
    assert np.isclose(dot, 13.0)
    d = D(np.ones(2), 0.5)
    s2s.grad(f_store_into_dataclass)(d, x)
    np.testing.assert_allclose(d.w, 3.0 * x)  # the store is made, as in Python


def f_len_of_record(p, x):
    return np.sum(p.w * x) * len(p) + p.b


def test_a_record_passed_to_len():
    """len(p) (a rule without derivative) does not make s2s take p for a number: its adjoint parts are
    added field by field (it was refused as "4 parts for its 2 fields" where + joined them)."""
    args = (P(np.ones(2), 2.0), np.array([1.0, 3.0]))
    got = s2s.grad(f_len_of_record)(*args)
    want = fd_structured(f_len_of_record, args, 0)
    np.testing.assert_allclose(got.w, want.w, rtol=1e-6)
    assert np.isclose(got.b, want.b)


def helper_sin(p, x):
    return np.sum(np.sin(p.w * x)) * p.b


def f_records_through_helpers(w, x):
    q = P(w ** 2, np.sum(w))
    r = q._replace(b=q.b * 2.0)
    return helper_sin(r, x) + helper_sin(q, x)


def test_records_built_inside_and_passed_to_helpers():
    rs = np.random.RandomState(11)
    w, x = rs.randn(3), rs.randn(3)
    g = s2s.grad(f_records_through_helpers)(w, x)
    np.testing.assert_allclose(g, fd_structured(f_records_through_helpers, (w, x), 0), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(g, autograd.grad(autograd_version(f_records_through_helpers))(w, x), rtol=1e-9)
    t = rs.randn(3)
    _, dot = s2s.jvp(f_records_through_helpers, (w, x), (t, None))
    np.testing.assert_allclose(dot, g @ t, rtol=1e-9)
    h = s2s.hessian(f_records_through_helpers)(w, x)
    np.testing.assert_allclose(h, autograd.hessian(autograd_version(f_records_through_helpers))(w, x), rtol=1e-8)


def test_the_objects_stage_and_the_generated_code():
    """The lowered program reads fields through s2s.field (a helper with a rule); the generated code
    reads them as written, and differentiates them with s2s.field_grad."""
    from s2s import pipeline
    stage = pipeline.stages(f_attrs)["objects"]
    assert "s2s.field(p, 'w')" in stage and "s2s.field(p, 'b')" in stage
    code = s2s.source(s2s.derivative(f_attrs))
    assert "p.w" in code and "s2s.field_grad(" in code and "s2s.field(" not in code


def test_replacing_fields_of_a_record_with_its_own_constructor_is_refused():
    """dataclasses.replace runs the type's __init__: a hand-written one (w * 2.0) is not a field store."""
    def f(d, x):
        return np.sum(dataclasses.replace(d, w=x).w)
    with pytest.raises(s2s.NoDerivativeRuleError, match="code of its own"):
        s2s.grad(f, wrt=1)(OwnInit(np.ones(2)), np.ones(2))
    np.testing.assert_allclose(s2s.grad(f, wrt=1)(D(np.ones(2), 1.0), np.ones(2)), np.ones(2))
