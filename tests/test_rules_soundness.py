"""Right or refused (issue 13): rules that gave silently wrong derivatives, and the tables that keep
every rule honest.

* functions declared non-differentiable that are not (np.full, np.linspace, np.arange, copysign,
  np.heaviside's second argument, divmod), and a finite-difference check of every declaration that
  remains (a table with one sample call per primitive; a new declaration must join it);
* np.r_ / np.c_, einsum's sublist and '...' forms, powers at 0, np.std over a length-1 axis;
* np.matrix and complex arguments, complex values inside a function: refused;
* Hessians through every rule that has an adjoint (a table of sample calls, or a commented exclusion);
* assignment with repeated indices (`y[[0, 0]] = v`: the last write wins, its derivative too);
* list and tuple concatenation and repetition (`[x] + [2 * x]`, `out += [...]`, `[x] * 2`).

Each derivative is compared with central finite differences, and with autograd where autograd
has the rule; forward mode (s2s.jvp) with a finite-difference directional derivative.
"""

import ast
import collections
import dataclasses
import math
import warnings

import numpy as np
import pytest
from conftest import check_grad, rng

import s2s
from s2s import argcheck, rules, runtime
from s2s.errors import NoDerivativeRuleError, S2SError

W23 = np.random.default_rng(1300).normal(size=(2, 3))
pytestmark = pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")


def _r(shape, seed, lo=None, hi=None):
    g = rng(seed)
    x = g.normal(size=shape) if lo is None else g.uniform(lo, hi, size=shape)
    return x if shape != () else float(x)


def check_jvp(f, args, wrt=(0,), seed=0, rtol=1e-5, atol=1e-6, eps=1e-6):
    """s2s.jvp(f) against a central-difference directional derivative along random tangents."""
    g = rng(seed)
    tangents = []
    for i, a in enumerate(args):
        if i in wrt:
            t = g.normal(size=np.shape(a))
            tangents.append(t if np.ndim(a) else float(t))
        else:
            tangents.append(None)
    _, got = s2s.jvp(f, tuple(args), tuple(tangents))

    def at(s):
        return np.asarray(f(*[a if t is None else a + s * t for a, t in zip(args, tangents)]), dtype=float)

    expected = (at(eps) - at(-eps)) / (2 * eps)
    np.testing.assert_allclose(np.asarray(got, dtype=float), expected, rtol=rtol, atol=atol)
    return got


# ---- 1. creation functions whose values are differentiable -------------------------------------------------------


def full_shape(x):
    return np.sum(np.full((2, 3), x) * W23)


def full_like_fn(x):
    z = np.ones((2, 3))
    return np.sum(np.full_like(z, x) * W23)


def full_kw(x):
    return np.sum(np.sin(np.full(shape=(2, 3), fill_value=x)) * W23)


def full_int(x):
    return np.sum(np.full(4, x, dtype=int)) + 0.0 * np.sum(x)


@pytest.mark.parametrize("shape", [(), (3,), (2, 1), (1, 3), (2, 3)])
@pytest.mark.parametrize("f, autograd_has_it", [(full_shape, True), (full_like_fn, False), (full_kw, False)])
def test_full_fill_value_is_differentiable(f, autograd_has_it, shape):
    x = _r(shape, 11)
    check_grad(f, x, ag=None if autograd_has_it and shape == () else False)  # (autograd sums an array fill value)
    check_jvp(f, (x,))


def test_full_with_integer_dtype_has_zero_derivative():
    x = 2.3
    assert s2s.grad(full_int)(x) == 0.0
    check_grad(full_int, x, ag=False)


W7 = np.random.default_rng(1301).normal(size=7)
W6 = np.random.default_rng(1302).normal(size=6)
W243 = np.random.default_rng(1303).normal(size=(2, 4, 3))


def lin(a, b):
    return np.sum(np.linspace(a, b, 7) * W7)


def lin_open(a, b):
    return np.sum(np.sin(np.linspace(a, b, 6, endpoint=False)) * W6)


def lin_axis(a, b):
    return np.sum(np.linspace(a, b, 4, axis=1) ** 2 * W243)


def lin_step(a, b):
    s, step = np.linspace(a, b, 5, retstep=True)
    return np.sum(s * W7[:5]) + 3.0 * step * step


def lin_one(a, b):
    return np.sum(np.linspace(a, b, 1) * 2.0) + np.sum(np.linspace(b, a, num=2) * W7[:2])


def lin_const_start(b):
    return np.sum(np.linspace(0.0, b, 5) ** 2)


@pytest.mark.parametrize("f, shapes, autograd_has_it", [
    (lin, [(), ()], True), (lin_open, [(), ()], False), (lin_step, [(), ()], False),
    (lin_one, [(), ()], False), (lin_axis, [(3,), (2, 1)], False), (lin_axis, [(2, 3), ()], False),
])
def test_linspace_start_and_stop_are_differentiable(f, shapes, autograd_has_it):
    args = [_r(s, 20 + i) for i, s in enumerate(shapes)]
    check_grad(f, *args, wrt=(0, 1), ag=None if autograd_has_it else False)
    check_jvp(f, args, wrt=(0, 1))


def test_linspace_from_a_constant_start():
    check_grad(lin_const_start, 1.7)
    check_jvp(lin_const_start, (1.7,))


def ar_step(x):
    return np.sum(np.arange(0.0, 1.0, x) ** 2)


def ar_start(x):
    return np.sum(np.arange(x, 5.0) ** 2)


def ar_all(x, y):
    return np.sum(np.sin(np.arange(x, 4.0, y)))


def ar_keywords(x, y):
    return np.sum(np.arange(start=x, stop=3.0, step=y) ** 2)


def ar_stop_keyword(x):
    return np.sum(np.arange(x, stop=3.0) ** 2)


def ar_stop_only(x):
    return np.sum(np.arange(x) * 1.0) + 0.0 * x


@pytest.mark.parametrize("f, args, wrt", [
    (ar_step, (0.13,), (0,)), (ar_step, (0.3,), (0,)), (ar_start, (0.4,), (0,)), (ar_start, (-1.6,), (0,)),
    (ar_all, (0.2, 0.7), (0, 1)), (ar_keywords, (0.1, 0.45), (0, 1)), (ar_stop_keyword, (-0.35,), (0,)),
])
def test_arange_values_depend_on_start_and_step(f, args, wrt):
    # element i is start + i * step (the length is fixed away from the points where it jumps)
    check_grad(f, *args, wrt=wrt, ag=False)
    check_jvp(f, args, wrt=wrt)


def test_arange_derivative_by_hand():
    x = 0.13  # 0, x, ..., 7x: d/dx sum (i x)^2 = 2 x sum i^2
    assert s2s.grad(ar_step)(x) == pytest.approx(2 * x * sum(i * i for i in range(8)))
    assert s2s.grad(ar_stop_only)(4.5) == 0.0  # np.arange(stop) is 0, 1, 2, ...: no derivative


def csign(x, y):
    return math.copysign(x, y) ** 3 + math.copysign(x, y) * y


def np_csign(x, y):
    return np.sum(np.copysign(x, y) ** 3 * W23)


@pytest.mark.parametrize("x, y", [(1.3, 2.0), (1.3, -2.0), (-0.7, 2.0), (-0.7, -0.4)])
def test_math_copysign(x, y):
    g = check_grad(csign, x, y, wrt=(0, 1), ag=False)
    assert g[0] == pytest.approx(3 * x * x * math.copysign(1.0, x) * math.copysign(1.0, y)
                                 + math.copysign(1.0, x) * math.copysign(1.0, y) * y)
    check_jvp(csign, (x, y), wrt=(0, 1))


@pytest.mark.parametrize("sx, sy", [((2, 3), (2, 3)), ((2, 3), (3,)), ((), (2, 3)), ((2, 1), (1, 3))])
def test_np_copysign(sx, sy):
    x, y = _r(sx, 31), _r(sy, 32)
    check_grad(np_csign, x, y, wrt=(0, 1), ag=False)
    check_jvp(np_csign, (x, y), wrt=(0, 1))


X1 = np.array([[0.0, 1.2, -0.3], [0.0, 0.0, 2.0]])


def heavi(x1, x2):
    return np.sum(np.heaviside(x1, x2) * W23)


@pytest.mark.parametrize("shape", [(), (3,), (2, 1), (2, 3)])
def test_heaviside_second_argument(shape):
    # where x1 == 0 the result is x2: its derivative there is 1
    x2 = _r(shape, 40)
    g = check_grad(heavi, X1, x2, wrt=1, ag=False)
    expected = np.sum(np.broadcast_to((X1 == 0) * W23, (2, 3)).reshape((-1,) + np.shape(x2) if np.ndim(x2) else -1),
                      axis=0) if shape in ((), (2, 3)) else None
    if shape == ():
        assert g == pytest.approx(np.sum((X1 == 0) * W23))
    elif expected is not None:
        np.testing.assert_allclose(g, (X1 == 0) * W23)
    check_jvp(heavi, (X1, x2), wrt=(1,))


def test_heaviside_first_argument_away_from_zero():
    x1 = _r((2, 3), 41) + 0.5 * np.sign(_r((2, 3), 42))
    g = check_grad(heavi, x1, 0.5, wrt=0, ag=False)
    np.testing.assert_array_equal(g, np.zeros((2, 3)))


def dm(x, y):
    q, r = divmod(x, y)
    return 3.0 * q + r * r + r * y


def np_dm(x, y):
    q, r = np.divmod(x, y)
    return np.sum((3.0 * q + r * r + r * y) * W23)


def np_rem(x, y):
    return np.sum((np.remainder(x, y) ** 2 + np.mod(y, x)) * W23)


@pytest.mark.parametrize("x, y", [(5.3, 0.7), (-5.3, 0.7), (5.3, -0.7), (0.2, 1.9)])
def test_divmod(x, y):
    g = check_grad(dm, x, y, wrt=(0, 1), ag=False)
    q, r = divmod(x, y)
    assert g[0] == pytest.approx(2 * r + y)
    assert g[1] == pytest.approx(-q * (2 * r + y) + r)
    check_jvp(dm, (x, y), wrt=(0, 1))


@pytest.mark.parametrize("sx, sy", [((2, 3), (2, 3)), ((2, 3), ()), ((), (3,))])
def test_np_divmod_and_remainder(sx, sy):
    x, y = _r(sx, 50, 1.1, 4.0), _r(sy, 51, 0.3, 0.9)
    check_grad(np_dm, x, y, wrt=(0, 1), ag=False)
    check_grad(np_rem, x, y, wrt=(0, 1), ag=None if sx == sy else False)
    check_jvp(np_dm, (x, y), wrt=(0, 1))


# ---- 2. every remaining non-differentiable declaration: finite differences are zero there --------------------------
# One sample call per primitive declared non-differentiable, on float inputs (the callable's arguments, drawn at
# random), or the reason it cannot be called on floats. A new declaration must be added here
# (test_every_nondifferentiable_declaration_is_in_the_table).

def _bits(x):
    return (x > 0).astype(int)


NONDIFF_SAMPLES = {
    # numpy: piecewise constant, or integer / boolean results
    "np.floor": lambda x: np.floor(x), "np.ceil": lambda x: np.ceil(x),
    "np.round": lambda x: np.round(x, 2), "np.rint": lambda x: np.rint(x), "np.trunc": lambda x: np.trunc(x),
    "np.fix": lambda x: np.fix(x), "np.isnan": lambda x: np.isnan(x), "np.isinf": lambda x: np.isinf(x),
    "np.isfinite": lambda x: np.isfinite(x), "np.signbit": lambda x: np.signbit(x), "np.spacing": lambda x: np.spacing(x),
    "np.greater": lambda x, y: np.greater(x, y), "np.less": lambda x, y: np.less(x, y),
    "np.equal": lambda x, y: np.equal(x, y), "np.not_equal": lambda x, y: np.not_equal(x, y),
    "np.greater_equal": lambda x, y: np.greater_equal(x, y), "np.less_equal": lambda x, y: np.less_equal(x, y),
    "np.logical_and": lambda x, y: np.logical_and(x > 0, y), "np.logical_or": lambda x, y: np.logical_or(x > 0, y),
    "np.logical_not": lambda x: np.logical_not(x), "np.logical_xor": lambda x, y: np.logical_xor(x > 0, y > 0),
    "np.floor_divide": lambda x, y: np.floor_divide(x, y), "np.isclose": lambda x, y: np.isclose(x, y),
    "np.allclose": lambda x, y: np.allclose(x, y), "np.array_equal": lambda x, y: np.array_equal(x, y),
    "np.zeros_like": lambda x: np.zeros_like(x), "np.ones_like": lambda x: np.ones_like(x),
    "np.empty_like": lambda x: np.shape(np.empty_like(x)),  # its values are whatever memory held: compare the shape
    "np.zeros": "shape arguments are integers", "np.ones": "shape arguments are integers",
    "np.empty": "shape arguments are integers", "np.eye": "size arguments are integers",
    "np.identity": "size arguments are integers", "np.tri": "size arguments are integers",
    "np.triu_indices": "size arguments are integers", "np.tril_indices": "size arguments are integers",
    # reductions to indices, counts, booleans and shapes
    "np.searchsorted": lambda x: np.searchsorted(np.array([-0.5, 0.0, 0.5]), x),
    "np.digitize": lambda x: np.digitize(x, np.array([-0.5, 0.0, 0.5])), "np.isreal": lambda x: np.isreal(x),
    "np.argmax": lambda x: np.argmax(x), "np.argmin": lambda x: np.argmin(x), "np.argsort": lambda x: np.argsort(x),
    "np.count_nonzero": lambda x: np.count_nonzero(x > 0), "np.any": lambda x: np.any(x > 0),
    "np.all": lambda x: np.all(x > -1), "np.shape": lambda x: np.shape(x), "np.ndim": lambda x: np.ndim(x),
    "np.size": lambda x: np.size(x),
    # math
    "math.floor": lambda x: math.floor(x), "math.ceil": lambda x: math.ceil(x), "math.trunc": lambda x: math.trunc(x),
    "math.isnan": lambda x: math.isnan(x), "math.isinf": lambda x: math.isinf(x),
    "math.isfinite": lambda x: math.isfinite(x), "math.isclose": lambda x, y: math.isclose(x, y),
    "math.factorial": "defined on integers only", "math.gcd": "defined on integers only",
    "math.comb": "defined on integers only",
    # builtins
    "len": lambda x: len(x), "int": lambda x: int(x), "bool": lambda x: bool(x), "round": lambda x: round(x, 2),
    "range": "its arguments are integers", "isinstance": lambda x: isinstance(x, float), "type": lambda x: type(x),
    "print": lambda x: print(x), "str": "its result is text, not a number",
    # operators
    "op:floordiv": lambda x, y: x // y, "op:not_": lambda x: not x, "op:invert": lambda x: ~(x > 0),
    "op:compare": lambda x, y: x < y, "op:bitand": lambda x, y: _bits(x) & _bits(y),
    "op:bitxor": lambda x, y: _bits(x) ^ _bits(y),
    "op:lshift": lambda x: _bits(x) << 2, "op:rshift": lambda x: (_bits(x) + 4) >> 1,
    # s2s's own helpers
    "stop_gradient": "declared so on purpose: the user asks for no derivative through it",
    "reduced_size": lambda x: runtime.reduced_size(x, 0),
    "balanced_eq": lambda x, y: runtime.balanced_eq(x, np.maximum(x, y), y),
    "clip_mask": lambda x, lo, hi: runtime.clip_mask(x, np.minimum(lo, hi), np.maximum(lo, hi)),
    "is_float_dtype": lambda x: runtime.is_float_dtype(x.dtype), "shape_of": lambda x: runtime.shape_of(x),
    "layout_order": lambda x: runtime.shape.layout_order(x, "A"),  # 'C' or 'F', read off x's memory layout
    "zero_of_real": lambda g, x: runtime.zero_of_real(g, x),  # the zero adjoint of np.sign/imag/angle of a real x
    "polyval_powers": lambda x: runtime.polyval_powers(x[0]),  # the integer powers of x that np.polyval's p multiply
    "vander_powers": lambda x: runtime.vander_powers(x, 3, False),  # the exponents of np.vander's columns
    "is_record": lambda x: runtime.is_record(x),  # a boolean: is it a namedtuple or dataclass
    "mapping_keys": "its result is a list of a dict's keys, which carry no derivative",
    "missing_attribute": "it raises (Python's AttributeError of a module attribute that does not exist)",
    "global_value": "a global's value is a constant of the derivative (one given a differentiated value is stored "
                    "last: transforms/global_names.py)",
    "set_global": "it binds a global and returns None",
    "numbers_or_arrays": "a check that returns nothing: that a value computed with is no object doing arithmetic of "
                         "its own",
    "euclidean_norm": "a bool: whether a norm's order and axes make it the 2-norm or Frobenius norm",
    "has_key": "its result is a bool: whether a dict holds a key (`d.get(k, v)` read as `d[k] if k in d else v`)",
    "effect_free": "a check that returns nothing: it reads a function value before a checkpointed loop runs",
    "star_count": "a check that returns nothing: it counts the items `*p` passes to a helper s2s expanded",
    "shape_arguments": "the shape or axes `x.reshape(*t)` / `x.transpose(*t)` take: ints, no values to differentiate",
    "not_an_iterator": "a check that returns nothing: it tests the type of what a loop takes all the items of at once",
    "unpack_count": "a check that returns nothing: it counts the items `a, b = p` unpacks",
    "inplace_check": "a check that returns nothing: it reads the shapes and dtypes of `y op= v` (NumPy's error where the "
                     "result does not fit y)",
    "store_field": "the store obj.name = v itself (its value's derivative flows through the local variable the objects "
                   "pass reads back); tests/test_objects.py checks methods that store attributes",
}

def _outer_of(ufunc, signs=False):
    return (lambda x, y: ufunc.outer(x > 0, y > 0)) if signs else (lambda x, y: ufunc.outer(x, y))


NONDIFF_SAMPLES.update({f"np.{u.__name__}.outer": _outer_of(u) for u in (
    np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal, np.floor_divide)})
NONDIFF_SAMPLES.update({f"np.{u.__name__}.outer": _outer_of(u, signs=True) for u in (
    np.logical_and, np.logical_or, np.logical_xor)})

_SCALAR_ONLY = {"math.floor", "math.ceil", "math.trunc", "math.isnan", "math.isinf", "math.isfinite", "math.isclose",
                "int", "bool", "round", "isinstance", "op:not_"}


def _same(a, b):
    if isinstance(a, tuple | list) or type(a) is type:
        return a == b
    return np.array_equal(np.asarray(a), np.asarray(b))


def test_every_nondifferentiable_declaration_is_in_the_table():
    declared = {_rule_label(k, r) for k, r in _own_rules() if r.nondiff}
    assert declared - set(NONDIFF_SAMPLES) == set(), "add a sample call (or the reason there is none) to NONDIFF_SAMPLES"
    assert set(NONDIFF_SAMPLES) - declared == set(), "NONDIFF_SAMPLES names a primitive that is no longer declared"


@pytest.mark.parametrize("name", sorted(k for k, v in NONDIFF_SAMPLES.items() if callable(v)))
def test_nondifferentiable_declaration_is_true(name, capsys):
    """Central differences of every output are exactly zero at random points (no derivative is missed)."""
    f = NONDIFF_SAMPLES[name]
    nargs = f.__code__.co_argcount
    for seed in range(5):
        g = rng(1400 + seed)
        if name in _SCALAR_ONLY:
            args = [float(g.normal() * 3) for _ in range(nargs)]
        else:
            args = [g.normal(size=(2, 3)) * 3 for _ in range(nargs)]
        base = f(*args)
        for i in range(nargs):
            for h in (1e-7, -1e-7, 1e-5):
                moved = list(args)
                direction = g.normal(size=np.shape(args[i])) if np.ndim(args[i]) else float(g.normal())
                moved[i] = args[i] + h * direction
                assert _same(f(*moved), base), f"{name} changes when argument {i} moves by {h}: it has a derivative"
    capsys.readouterr()


def test_log_scale_is_no_longer_declared_constant():
    # math.log(x, base): the base's derivative is -ans / (base * log(base))
    def f(x, b):
        return math.log(x, b)
    check_grad(f, 2.5, 3.0, wrt=(0, 1))
    check_jvp(f, (2.5, 3.0), wrt=(0, 1))


# ---- 3. powers at 0, negative bases -------------------------------------------------------------------------------


def p0(x):
    return x ** 0


def p1(x):
    return x ** 1


def p2(x):
    return x ** 2


def pn(x, n):
    return np.sum(x ** n)


def p_np(x):
    return np.sum(np.power(x, 0) + np.power(x, 2))


def p_math(x):
    return math.pow(x, 0) + pow(x, 0) + math.pow(x, 2.0) + pow(x, 1)


def zero_base(y):
    return 0.0 ** y


@pytest.mark.parametrize("f, slope, curvature", [(p0, 0.0, 0.0), (p1, 1.0, 0.0), (p2, 0.0, 2.0),
                                                 (p_math, 1.0, 2.0)])
def test_powers_at_zero(f, slope, curvature):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0 * inf on the way
        assert s2s.grad(f)(0.0) == slope
        assert s2s.jvp(f, (0.0,), (1.0,))[1] == slope
        assert s2s.hessian(f)(0.0) == curvature


def test_power_with_a_varied_exponent_of_zero():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert s2s.grad(pn)(0.0, 0) == 0.0
        g = s2s.grad(pn)(np.zeros(3), np.array([0.0, 2.0, 1.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(s2s.grad(p_np)(np.zeros(3)), np.zeros(3))


def test_square_root_like_power_at_zero_is_inf_not_a_crash():
    def f(x):
        return x ** 0.5
    with pytest.warns(RuntimeWarning):
        assert s2s.grad(f)(0.0) == math.inf  # NumPy's value; a Python float would raise ZeroDivisionError


@pytest.mark.parametrize("x", [-2.0, -0.3, np.array([-1.5, 2.0, -0.1])])
@pytest.mark.parametrize("n", [2, 3, -1, -2])
def test_negative_base_integer_exponent(x, n):
    check_grad(pn, x, n)
    check_jvp(pn, (x, n))


def test_zero_base_varied_exponent():
    assert s2s.grad(zero_base)(2.0) == 0.0
    assert s2s.grad(zero_base)(0.5) == 0.0


# ---- 4. np.std where it is 0 ---------------------------------------------------------------------------------------


def std_rows(x):
    return np.sum(np.std(x, axis=1) * np.arange(1.0, np.shape(x)[0] + 1.0))


def test_std_over_a_length_one_axis_is_zero_not_nan():
    # NumPy's value is 0 for every input there: the derivative is exactly 0 (autograd agrees)
    x = _r((3, 1), 60)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = s2s.grad(std_rows)(x)
        h = s2s.hessian(std_rows)(x)
    np.testing.assert_array_equal(g, np.zeros((3, 1)))
    np.testing.assert_array_equal(h, np.zeros((3, 1, 3, 1)))
    check_grad(std_rows, x)
    assert s2s.jvp(std_rows, (x,), (np.ones((3, 1)),))[1] == 0.0


def test_std_of_equal_entries_uses_the_zero_subgradient():
    # std is a norm of the deviations: at all-equal entries it has no derivative; s2s gives 0 as for abs at 0
    x = np.array([[1.5, 1.5, 1.5], [0.2, 1.0, -0.4]])
    g = s2s.grad(std_rows)(x)
    np.testing.assert_array_equal(g[0], np.zeros(3))
    assert np.all(np.isfinite(g))
    check_grad(lambda v: np.sum(np.std(v, axis=1) * np.arange(1.0, 3.0)), x[1:], ag=False)


@pytest.mark.parametrize("shape, axis, ddof", [((4,), None, 0), ((2, 5), 1, 1), ((3, 2, 4), (0, 2), 0)])
def test_std_still_right_elsewhere(shape, axis, ddof):
    x = _r(shape, 61)

    def f(v):
        return np.sum(np.std(v, axis=axis, ddof=ddof) ** 2)
    check_grad(f, x)
    check_jvp(f, (x,))


# ---- 5. np.r_, np.c_, einsum's other forms --------------------------------------------------------------------------


def r_vec(x):
    return np.sum(np.r_[x, 2.0 * x, 3.0] ** 2 * np.arange(1.0, 2.0 * np.size(x) + 2.0))


def r_slice(x):
    return np.sum(np.r_[0:2, x] * np.arange(2.0, 2.0 + 2 + np.size(x)))


def r_rows(x):
    return np.sum(np.r_[x, x * x] * np.ones((1, 3)) * np.arange(1.0, 5.0)[:, None])


def c_cols(x):
    return np.sum(np.c_[x, x * x, np.sin(x)] * np.arange(9.0).reshape(3, 3))


def c_matrix(x, y):
    return np.sum(np.c_[x, y] ** 2 * np.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize("f, args, wrt", [
    (r_vec, (_r((3,), 70),), (0,)), (r_vec, (0.7,), (0,)), (r_slice, (_r((2,), 71),), (0,)),
    (r_rows, (_r((2, 3), 72),), (0,)), (c_cols, (_r((3,), 73),), (0,)),
    (c_matrix, (_r((2, 2), 74), _r((2,), 75)), (0, 1)),
])
def test_r_and_c(f, args, wrt):
    check_grad(f, *args, wrt=wrt if len(wrt) > 1 else wrt[0], ag=False)
    check_jvp(f, args, wrt=wrt)


def s_varied(x):
    s = np.s_[x]
    return s * 2.0


def r_directive(x):
    return np.sum(np.r_["0,2", x, x])


def mgrid_varied(x):
    return np.sum(np.mgrid[0:x:3j])


def s_constant(x):
    sl = np.s_[1:3]
    return np.sum(x[sl] ** 2)


def test_index_tricks_refused_where_their_key_is_varied():
    with pytest.raises(NoDerivativeRuleError, match=r"np\.s_\[\.\.\.\].*'key'"):
        s2s.grad(s_varied)(1.5)
    with pytest.raises(NoDerivativeRuleError, match=r"np\.mgrid"):
        s2s.grad(mgrid_varied)(2.0)
    with pytest.raises(NoDerivativeRuleError, match="string directive"):
        s2s.grad(r_directive)(np.ones(2))
    np.testing.assert_array_equal(s2s.grad(s_constant)(np.arange(4.0)), [0.0, 2.0, 4.0, 0.0])


def es_sub(a, b):
    return np.sum(np.sin(np.einsum(a, [0, 1], b, [1, 2], [0, 2])))


def es_sub_implicit(a, b):
    return np.sum(np.sin(np.einsum(a, [0, 1], b, [1, 2])))


def es_ellipsis(a, b):
    return np.sum(np.sin(np.einsum("...ij,jk->...ik", a, b)))


def es_ellipsis_sub(a, b):
    return np.sum(np.sin(np.einsum(a, [Ellipsis, 0], b, [0], [Ellipsis])))


def es_diag(a):
    return np.sum(np.sin(np.einsum("ii->i", a))) + np.einsum("ii", a) ** 2


def es_repeat_out(a, b):
    return np.sum(np.sin(np.einsum("iij,j->i", a, b)))


def es_summed_out(a):
    return np.sum(np.sin(np.einsum("ij->j", a)))


@pytest.mark.parametrize("f, shapes, autograd_has_it", [
    (es_sub, [(2, 3), (3, 4)], True), (es_sub_implicit, [(2, 3), (3, 4)], False),
    (es_ellipsis, [(2, 2, 3), (3, 4)], True), (es_ellipsis_sub, [(4, 2, 3), (3,)], False),
    (es_diag, [(3, 3)], False), (es_repeat_out, [(3, 3, 2), (2,)], False), (es_summed_out, [(3, 4)], True),
])
def test_einsum_forms(f, shapes, autograd_has_it):
    args = [_r(s, 80 + i) for i, s in enumerate(shapes)]
    wrt = tuple(range(len(args)))
    check_grad(f, *args, wrt=wrt if len(wrt) > 1 else 0, ag=None if autograd_has_it else False)
    check_jvp(f, args, wrt=wrt)


# ---- 6. np.matrix and complex numbers: refused -------------------------------------------------------------------------


def test_matrix_argument_refused_by_argcheck():
    def layer(x, W):
        return x * W

    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(NoDerivativeRuleError, match=r"np\.matrix") as info:
        argcheck.check_arguments((1.0, m), func=layer)
    assert "np.asarray(W)" in str(info.value)


@pytest.mark.parametrize("value", [1j, np.complex128(2 - 1j), np.ones(3, dtype=complex), [1.0, 2j],
                                   (np.ones(2), np.ones(2, dtype=np.complex64)), {"a": 1 + 0j}])
def test_complex_argument_refused_by_argcheck(value):
    with pytest.raises(NoDerivativeRuleError, match="complex"):
        argcheck.check_arguments((value,))


def test_real_arguments_pass_argcheck():
    argcheck.check_arguments((1.0, 2, np.ones((2, 2)), [np.ones(2), 3.0], {"a": np.zeros(1)}, "text", None),
                             {"k": np.float32(1.0), "flag": True})


def _argcheck_wired():
    from s2s import api
    return "argcheck" in vars(api)


@pytest.mark.xfail(not _argcheck_wired(), reason="s2s/api.py does not call s2s.argcheck yet", strict=True)
def test_matrix_and_complex_arguments_refused_at_call_time():
    def f(x, w):
        return np.sum(np.asarray(w * x))
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(NoDerivativeRuleError, match=r"np\.matrix"):
        s2s.grad(f)(np.ones((2, 2)), m)
    with pytest.raises(NoDerivativeRuleError, match="complex"):
        s2s.grad(f, wrt=0)(np.ones(2), np.ones(2) * 1j)


def complex_inside(x):
    return np.real(np.exp(1j * x))


def complex_sqrt(x):
    return np.sum(np.abs(np.sqrt(x + 0j)))


def complex_output(x):
    return np.sqrt(x - 4.0 + 0j)


@pytest.mark.parametrize("f", [complex_inside, complex_sqrt])
def test_complex_values_inside_a_function_refused(f):
    x = np.array([0.3, 1.2])
    for run in (lambda: s2s.grad(lambda v: np.sum(f(v)))(x), lambda: s2s.derivative(f)(x),
                lambda: s2s.jvp(f, (x,), (np.ones(2),))):
        with pytest.raises(S2SError, match="complex"):
            run()


def test_complex_output_from_real_input_refused():
    with pytest.raises(S2SError, match="complex"):
        s2s.jvp(complex_output, (1.0,), (1.0,))
    with pytest.raises(S2SError, match="complex"):
        s2s.vjp(complex_output, 1.0)[1](1.0)


# ---- 4. Hessians through every rule that has an adjoint ------------------------------------------------------------
# One scalar function per rule with an adjoint (a vjp template), built so that the rule's own second derivative
# and the chain rule through it both matter; s2s.hessian is compared with central differences of s2s.grad, and
# the sample must really call the rule (test_hessian_table_samples_use_their_rule). A new rule with an adjoint
# must join HESSIAN_SAMPLES or HESSIAN_EXCLUDED (test_every_rule_with_an_adjoint_is_in_the_hessian_table).

V3 = np.random.default_rng(1500).normal(size=3)
M23 = np.random.default_rng(1501).normal(size=(2, 3))
Z3 = np.array([0.0, 1.5, 0.0])
A22 = np.array([[3.0, 0.5], [-0.4, 2.5]])
_X3 = np.array([0.31, -0.52, 0.77])
_Pair = collections.namedtuple("_Pair", "w b")
_P3 = np.array([0.4, 0.7, 1.3])  # positive
_U3 = np.array([0.21, -0.35, 0.44])  # inside (-1, 1)
_G3 = np.array([1.2, 1.7, 2.3])  # above 1
_X23 = np.array([[0.31, -0.52, 0.77], [0.12, 0.93, -0.41]])
_X22 = np.array([[1.1, 0.3], [-0.2, 0.9]])


def _h_items(x):
    t = 0.0
    for v in [x, x * x, math.sin(x)]:
        t = t + v * v * v
    return t


def _h_zip_rows(x):
    return sum(a * b * b + math.sin(a) for a, b in zip(*[[x, x * x], (math.cos(x), 2.0)]))


def _merged(x):
    d = {"a": x, "b": x * x} | {"b": math.sin(x), "c": 2.0 * x}
    return (d["a"] * d["b"] + d["c"] * d["c"]) ** 2


@dataclasses.dataclass
class _Cubic:
    w: np.ndarray

    def value(self, x):
        return np.sum(self.w ** 3 * np.sin(x))


def _h_receiver(x):
    p = _Cubic(x * 2.0)
    return p.value(x)


def _h_unpack(x):
    q, r = divmod(x, 0.7)
    return r ** 3 + q * r * r


def _h_add_at(x):
    a = np.sin(x) * 0.5
    np.add.at(a, [0, 2, 0], x * x)
    return np.sum(a ** 3)


def _h_subtract_at(x):
    a = np.cos(x)
    np.subtract.at(a, [1, 1], x[:2] * x[2])
    return np.sum(a ** 3)


def _h_filled_diagonal(x):
    a = np.outer(np.sin(x), x) * 0.5
    np.fill_diagonal(a, x * x)
    return np.sum(a ** 3) + np.sum(a * np.cos(a))


def _h_copied_to(x):
    a = np.outer(np.sin(x), x) * 0.5
    np.copyto(a, np.exp(x), where=np.array([True, False, True]))
    return np.sum(a ** 3) + np.sum(a * np.cos(a))


def _h_putmasked(x):
    a = np.outer(np.sin(x), x) * 0.5
    np.putmask(a, np.arange(9).reshape(3, 3) % 2 == 0, x[:2] * x[2])
    return np.sum(a ** 3) + np.sum(a * np.cos(a))


def _h_placed(x):
    a = np.outer(np.sin(x), x) * 0.5
    np.place(a, np.arange(9).reshape(3, 3) % 3 == 1, np.tanh(x))
    return np.sum(a ** 3) + np.sum(a * np.cos(a))


def _h_put_into(x):
    a = np.outer(np.sin(x), x) * 0.5
    np.put(a, [0, 4, 0, 8], x * x[1])
    return np.sum(a ** 3) + np.sum(a * np.cos(a))


def _h_put_along(x):
    a = np.outer(np.sin(x), x) * 0.5
    np.put_along_axis(a, np.array([[2], [0], [1]]), x[:, None] ** 2, axis=1)
    return np.sum(a ** 3) + np.sum(a * np.cos(a))


def _h_along_axis(x):
    return np.sum(np.apply_along_axis(lambda r: np.outer(np.sin(r), r), 1, x.reshape(2, 3)) ** 2)


HESSIAN_SAMPLES = {
    # builtins and the helpers desugaring brings in
    "abs": (lambda x: abs(x) ** 3 + abs(x) * math.sin(x), -0.7),
    "float": (lambda x: float(x * x) ** 2, 0.8),
    "divmod": (_h_unpack, 2.3),
    "max": (lambda x: max(math.sin(x), x * x, 0.1) ** 3, 1.2),
    "min": (lambda x: min(math.cos(x), x * x) ** 3, 1.2),
    "pow": (lambda x: pow(x, 3.0) + pow(2.0, x) + pow(x, x), 1.3),
    "sum": (lambda x: sum([x, x * x, math.sin(x)]) ** 2, 0.6),
    "as_sequence": (_h_items, 0.9),
    "zip_row": (_h_zip_rows, 0.9),
    "astype": (lambda x: np.sum(np.sin(x.astype(float)) * x), _X3),
    "copy": (lambda x: np.sum(x.copy() ** 3), _X3),
    "as_given": (lambda x: np.sum(runtime.as_given(x) ** 3), _X3),  # (a record's fields as given; an array itself)
    "item": (lambda x: np.sin(x).item() ** 3, np.array([0.7])),
    "added_at": (_h_add_at, _X3),
    "subtracted_at": (_h_subtract_at, _X3),
    "filled_diagonal": (_h_filled_diagonal, _X3), "copied_to": (_h_copied_to, _X3),
    "putmasked": (_h_putmasked, _X3), "placed": (_h_placed, _X3), "put_into": (_h_put_into, _X3),
    "put_along": (_h_put_along, _X3),
    "along_axis_rows": (_h_along_axis, _X23.ravel()), "along_axis_results": (_h_along_axis, _X23.ravel()),
    "along_axis_out": (_h_along_axis, _X23.ravel()),
    # math
    "math.acos": (lambda x: math.acos(x) * x, 0.3), "math.acosh": (lambda x: math.acosh(x) * x, 1.7),
    "math.asin": (lambda x: math.asin(x) * x, 0.3), "math.asinh": (lambda x: math.asinh(x) * x, 0.6),
    "math.atan": (lambda x: math.atan(x) * x, 0.6), "math.atan2": (lambda x: math.atan2(x, x * x + 1.0), 0.6),
    "math.atanh": (lambda x: math.atanh(x) * x, 0.4), "math.copysign": (lambda x: math.copysign(x, -2.0) ** 3, 0.6),
    "math.cos": (lambda x: math.cos(x) * x, 0.6), "math.cosh": (lambda x: math.cosh(x) * x, 0.6),
    "math.fsum": (lambda x: math.fsum([x * x, math.sin(x), 2.0 * x]) ** 2, 0.6),
    "math.degrees": (lambda x: math.degrees(x) ** 3, 0.6), "math.erf": (lambda x: math.erf(x) * x, 0.6),
    "math.erfc": (lambda x: math.erfc(x) * x, 0.6), "math.gamma": (lambda x: math.gamma(x) * x, 1.6),
    "math.lgamma": (lambda x: math.lgamma(x) * x, 1.6),
    "math.exp": (lambda x: math.exp(x) * x, 0.6), "math.expm1": (lambda x: math.expm1(x) * x, 0.6),
    "math.fabs": (lambda x: math.fabs(x) ** 3, -0.6), "math.hypot": (lambda x: math.hypot(x, 2.0 * x + 1.0, 0.5) ** 3, 0.6),
    "math.log": (lambda x: math.log(x) * x + math.log(x, 3.0) + math.log(3.0, x), 1.7),
    "math.log10": (lambda x: math.log10(x) * x, 1.7), "math.log1p": (lambda x: math.log1p(x) * x, 0.6),
    "math.log2": (lambda x: math.log2(x) * x, 1.7), "math.pow": (lambda x: math.pow(x, 2.5) + math.pow(2.0, x), 1.7),
    "math.radians": (lambda x: math.radians(x) ** 3, 0.6), "math.sin": (lambda x: math.sin(x) * x, 0.6),
    "math.sinh": (lambda x: math.sinh(x) * x, 0.6), "math.sqrt": (lambda x: math.sqrt(x) * x, 1.7),
    "math.tan": (lambda x: math.tan(x) * x, 0.6), "math.tanh": (lambda x: math.tanh(x) * x, 0.6),
    # operators
    "op:add": (lambda x: np.sum((x + x * x) ** 3 + (x + 1.0) ** 2), _X3),
    "op:sub": (lambda x: np.sum((x - x * x) ** 3 - (2.0 - x) ** 2), _X3),
    "op:mult": (lambda x: np.sum(x * x * x * V3), _X3),
    "op:div": (lambda x: np.sum(x / (x * x + 1.0) + 1.0 / (x + 2.0)), _X3),
    "op:pow": (lambda x: np.sum(x ** 3 + x ** 2.5 * 0.0 + 2.0 ** x + (x * x + 1.0) ** x), _P3),
    "op:matmul": (lambda x: np.sum((x[:, None] * x[None, :]) @ x * V3) + (x @ x) ** 2, _X3),
    "op:mod": (lambda x: np.sum((x % 0.3) ** 3 + 1.5 % (x + 2.0)), _P3),
    "op:usub": (lambda x: np.sum(-(x * x) * x), _X3), "op:uadd": (lambda x: np.sum(+(x * x) * x), _X3),
    "op:add_seq": (lambda x: sum([x, x * x] + [math.sin(x)] + [1.0]) ** 2, 0.7),
    "op:bitor": (_merged, 0.7),
    "list": (lambda x: sum(list((x, x * x)) + list(np.sin(np.array([x, 2.0 * x])))) ** 2, 0.7),
    "tuple": (lambda x: sum(tuple([x, x * x]) + tuple(np.array([x, 3.0 * x]))) ** 2, 0.7),
    "op:mult_seq": (lambda x: sum([x, x * x] * 3 + 2 * [math.sin(x)]) ** 2, 0.7),
    # numpy, elementwise
    "np.abs": (lambda x: np.sum(np.abs(x) ** 3), _X3), "np.fabs": (lambda x: np.sum(np.fabs(x) ** 3), _X3),
    "np.add": (lambda x: np.sum(np.add(x, x * x) ** 3), _X3),
    "np.subtract": (lambda x: np.sum(np.subtract(x, x * x) ** 3), _X3),
    "np.multiply": (lambda x: np.sum(np.multiply(x, x * x) * V3), _X3),
    "np.true_divide": (lambda x: np.sum(np.divide(x, x * x + 1.0)), _X3),
    "np.power": (lambda x: np.sum(np.power(x, 3.0) + np.power(2.0, x) + np.power(x, x)), _P3),
    "np.arccos": (lambda x: np.sum(np.arccos(x) * x), _U3), "np.arccosh": (lambda x: np.sum(np.arccosh(x) * x), _G3),
    "np.arcsin": (lambda x: np.sum(np.arcsin(x) * x), _U3), "np.arcsinh": (lambda x: np.sum(np.arcsinh(x) * x), _X3),
    "np.arctan": (lambda x: np.sum(np.arctan(x) * x), _X3),
    "np.arctan2": (lambda x: np.sum(np.arctan2(x, x * x + 1.0)), _X3),
    "np.arctanh": (lambda x: np.sum(np.arctanh(x) * x), _U3),
    "np.cbrt": (lambda x: np.sum(np.cbrt(x) * x * x), _P3), "np.cos": (lambda x: np.sum(np.cos(x) * x), _X3),
    "np.cosh": (lambda x: np.sum(np.cosh(x) * x), _X3), "np.sin": (lambda x: np.sum(np.sin(x) * x), _X3),
    "np.sinh": (lambda x: np.sum(np.sinh(x) * x), _X3), "np.tan": (lambda x: np.sum(np.tan(x) * x), _X3),
    "np.tanh": (lambda x: np.sum(np.tanh(x) * x), _X3), "np.exp": (lambda x: np.sum(np.exp(x) * x), _X3),
    "np.exp2": (lambda x: np.sum(np.exp2(x) * x), _X3), "np.expm1": (lambda x: np.sum(np.expm1(x) * x), _X3),
    "np.log": (lambda x: np.sum(np.log(x) * x), _P3), "np.log10": (lambda x: np.sum(np.log10(x) * x), _P3),
    "np.log1p": (lambda x: np.sum(np.log1p(x) * x), _P3), "np.log2": (lambda x: np.sum(np.log2(x) * x), _P3),
    "np.sqrt": (lambda x: np.sum(np.sqrt(x) * x), _P3), "np.square": (lambda x: np.sum(np.square(x) * x), _X3),
    "np.reciprocal": (lambda x: np.sum(np.reciprocal(x) * x * x), _P3),
    "np.negative": (lambda x: np.sum(np.negative(x * x) * x), _X3),
    "np.positive": (lambda x: np.sum(np.positive(x * x) * x), _X3),
    "np.sinc": (lambda x: np.sum(np.sinc(x) * x), _X3),
    "np.deg2rad": (lambda x: np.sum(np.deg2rad(x) ** 3), _X3), "np.rad2deg": (lambda x: np.sum(np.rad2deg(x) ** 3), _X3),
    "np.real": (lambda x: np.sum(np.real(x * x) * x), _X3),
    "np.nan_to_num": (lambda x: np.sum(np.nan_to_num(x * x) * x), _X3),
    "np.hypot": (lambda x: np.sum(np.hypot(x, x * x + 1.0) ** 3), _X3),
    "np.logaddexp": (lambda x: np.sum(np.logaddexp(x, x * x)), _X3),
    "np.logaddexp2": (lambda x: np.sum(np.logaddexp2(x, x * x)), _X3),
    "np.maximum": (lambda x: np.sum(np.maximum(x, x * x - 0.5) ** 3), _X3),
    "np.minimum": (lambda x: np.sum(np.minimum(x, x * x - 0.5) ** 3), _X3),
    "np.fmax": (lambda x: np.sum(np.fmax(x, x * x - 0.5) ** 3), _X3),
    "np.fmin": (lambda x: np.sum(np.fmin(x, x * x - 0.5) ** 3), _X3),
    "np.where": (lambda x: np.sum(np.where(x > 0, x * x, np.sin(x)) * x), _X3),
    "np.clip": (lambda x: np.sum(np.clip(x * x, x - 1.0, 0.3) ** 3), _X3),
    "np.copysign": (lambda x: np.sum(np.copysign(x, -V3) ** 3), _X3),
    "np.heaviside": (lambda x: np.sum(np.heaviside(Z3, x) ** 3), _X3),
    "np.fmod": (lambda x: np.sum(np.fmod(x - 0.5, 0.3) ** 3 + np.fmod(1.5, x + 2.0) ** 2), _P3),
    "np.float_power": (lambda x: np.sum(np.float_power(x, 3.0) + np.float_power(x, x)), _P3),
    "np.mod": (lambda x: np.sum(np.mod(x, 0.3) ** 3 + np.mod(1.5, x + 2.0)), _P3),
    "np.divmod": (lambda x: np.sum(np.divmod(x, 0.3)[1] ** 3), _P3),
    # creation
    "np.asarray": (lambda x: np.sum(np.asarray(x * x) * x), _X3),
    "np.asanyarray": (lambda x: np.sum(np.asanyarray(x * x) * x), _X3),
    "np.ascontiguousarray": (lambda x: np.sum(np.ascontiguousarray((x * x)[::-1]) * x), _X3),
    "np.asfortranarray": (lambda x: np.sum(np.asfortranarray(np.outer(x, x)) ** 2), _X3),
    "np.array": (lambda x: np.sum(np.array([x[0] * x[1], x[2]]) ** 3), _X3),
    "np.copy": (lambda x: np.sum(np.copy(x * x) * x), _X3),
    "np.float64": (lambda x: np.float64(x * x) * x, 0.7),
    "np.float32": (lambda x: float(np.float32(x)) * 0.0 + x ** 3, 0.7),
    "np.astype": (lambda x: np.sum(np.astype(x * x, np.float64) ** 2 * np.astype(x, np.int64)), _X3 * 3),
    "np.full": (lambda x: np.sum(np.full(3, x * x) * V3) * x, 0.7),
    "np.full_like": (lambda x: np.sum(np.full_like(V3, x) ** 3 * V3), 0.7),
    "np.linspace": (lambda x: np.sum(np.linspace(x, x * x + 2.0, 5) ** 3), 0.7),
    "np.arange": (lambda x: np.sum(np.arange(x, 3.0, 0.5 * x) ** 3), 0.7),
    # reductions
    "np.sum": (lambda x: np.sum(x * x, axis=0) @ V3 + np.sum(np.sum(x ** 3, axis=1, keepdims=True) ** 2), _X23),
    "np.mean": (lambda x: np.sum(np.mean(x ** 3, axis=0) ** 2), _X23),
    "np.prod": (lambda x: np.prod(x) + np.sum(np.prod(x, axis=1) ** 2), _X23),
    "np.nansum": (lambda x: np.sum(np.nansum(x ** 3, axis=1) ** 2) + np.nansum(np.sin(x)) ** 2, _X23),
    "np.nanmean": (lambda x: np.sum(np.nanmean(x ** 3, axis=0) ** 2) + np.nanmean(x * x) ** 2, _X23),
    "np.nanmax": (lambda x: np.sum(np.nanmax(x ** 3, axis=1) ** 2), _X23),
    "np.nanmin": (lambda x: np.sum(np.nanmin(x ** 3, axis=0, keepdims=True) ** 2), _X23),
    "np.nanprod": (lambda x: np.sum(np.nanprod(x ** 3, axis=1) ** 2) + np.nanprod(np.sin(x)), _X23),
    "np.nanvar": (lambda x: np.sum(np.nanvar(x ** 3, axis=0) ** 2) + np.nanvar(x * x, ddof=1), _X23),
    "np.nanstd": (lambda x: np.sum(np.nanstd(x ** 3, axis=1, keepdims=True) ** 2) + np.nanstd(x * x), _X23),
    "np.diagflat": (lambda x: np.sum(np.diagflat(x * x, 1) ** 2 @ np.arange(4.0)), _X3),
    "np.ediff1d": (lambda x: np.sum(np.ediff1d(x ** 3) ** 2), _X23),
    "np.bincount": (lambda x: np.sum(np.bincount(np.array([1, 0, 1]), weights=x ** 3) ** 2), _X3),
    "np.cumulative_sum": (lambda x: np.sum(np.cumulative_sum(x * x, axis=1) ** 2), _X23),
    "np.cumulative_prod": (lambda x: np.sum(np.cumulative_prod(x + 2.0, axis=0) ** 2), _X23),
    "np.delete": (lambda x: np.sum(np.delete(x * x, 1, axis=1) ** 2), _X23),
    "np.insert": (lambda x: np.sum(np.insert(x * x, 1, x[0] ** 2, axis=0) ** 2), _X23),
    "np.vander": (lambda x: np.sum(np.vander(x * x, 4) ** 2), _X3),
    "np.quantile": (lambda x: np.sum(np.quantile(x ** 3, [0.2, 0.7], axis=1) ** 2) + np.quantile(np.sin(x), 0.4) ** 2, _X23),
    "np.percentile": (lambda x: np.sum(np.percentile(x * x, 35, axis=0) ** 2), _X23),
    "np.median": (lambda x: np.sum(np.median(x ** 3, axis=1) ** 2) + np.median(np.sin(x)) ** 2, _X23),
    "np.ptp": (lambda x: np.sum(np.ptp(x ** 3, axis=1) ** 2) + np.ptp(np.sin(x)) ** 2, _X23),
    "np.max": (lambda x: np.sum(np.max(x ** 3, axis=1) ** 2), _X23),
    "np.min": (lambda x: np.sum(np.min(x ** 3, axis=0) ** 2), _X23),
    "np.amax": (lambda x: np.amax(x ** 3) ** 2, _X23), "np.amin": (lambda x: np.amin(x ** 3) ** 2, _X23),
    "np.var": (lambda x: np.sum(np.var(x, axis=1) ** 2), _X23),
    "np.std": (lambda x: np.sum(np.std(x, axis=1, ddof=1) ** 3), _X23),
    "np.cumsum": (lambda x: np.sum(np.cumsum(x * x, axis=1) ** 2), _X23),
    # the reductions and accumulations of ufuncs (axis 0 where none is given)
    "np.add.reduce": (lambda x: np.sum(np.add.reduce(x * x) ** 2), _X23),
    "np.multiply.reduce": (lambda x: np.sum(np.multiply.reduce(x + 2.0, axis=1) ** 2), _X23),
    "np.maximum.reduce": (lambda x: np.sum(np.maximum.reduce(x ** 3, axis=1) ** 2), _X23),
    "np.minimum.reduce": (lambda x: np.sum(np.minimum.reduce(x ** 3) ** 2), _X23),
    "np.logaddexp.reduce": (lambda x: np.sum(np.logaddexp.reduce(x * x, axis=1) ** 2), _X23),
    "np.add.accumulate": (lambda x: np.sum(np.add.accumulate(x * x) ** 2), _X23),
    "np.maximum.accumulate": (lambda x: np.sum(np.maximum.accumulate(x ** 3) ** 2 * V3), _X3),
    "np.fmax.accumulate": (lambda x: np.sum(np.fmax.accumulate(x ** 3) ** 2 * V3), _X3),
    "np.fmin.accumulate": (lambda x: np.sum(np.fmin.accumulate(x ** 3) ** 2 * V3), _X3),
    "np.fmax.reduce": (lambda x: np.sum(np.fmax.reduce(x ** 3, axis=1) ** 2), _X23),
    "np.fmin.reduce": (lambda x: np.sum(np.fmin.reduce(x ** 3, axis=0) ** 2), _X23),
    "np.nancumsum": (lambda x: np.sum(np.nancumsum(x ** 3, axis=1) ** 2), _X23),
    "np.nancumprod": (lambda x: np.sum(np.nancumprod(x * x + 0.5, axis=0) ** 2), _X23),
    "np.ldexp": (lambda x: np.sum(np.ldexp(x, np.array([1, -2, 3])) ** 3), _X3),
    "np.ldexp.outer": (lambda x: np.sum(np.ldexp.outer(x, np.array([1, -2])) ** 3), _X3),
    "np.minimum.accumulate": (lambda x: np.sum(np.minimum.accumulate(np.sin(x), axis=1) ** 2), _X23),
    "np.multiply.accumulate": (lambda x: np.sum(np.multiply.accumulate(x + 2.0, axis=1) ** 2), _X23),
    # linear algebra
    "np.vdot": (lambda x: np.vdot(x, np.sin(x)) ** 2, _X3),
    "np.vecdot": (lambda x: np.sum(np.vecdot(x, np.sin(x) * M23, axis=0) ** 2), _X23),
    "np.dot": (lambda x: np.dot(x, np.sin(x)) ** 2, _X3),
    "dot_method": (lambda x: np.sum(x.dot(np.sin(x).T) ** 2), _X23),  # (`a.dot(b)` of a value of unknown kind)
    "np.matmul": (lambda x: np.sum(np.matmul(x, x.T) ** 2), _X23),
    "np.inner": (lambda x: np.inner(x, np.sin(x)) ** 2, _X3),
    "np.outer": (lambda x: np.sum(np.outer(x, np.sin(x)) ** 2), _X3),
    "np.tensordot": (lambda x: np.sum(np.tensordot(x, x, axes=([1], [1])) ** 2), _X23),
    "np.einsum": (lambda x: np.einsum("ij,kj->", x, x) ** 2 + np.sum(np.einsum(x, [0, 1], x, [2, 1], [0, 2]) ** 2),
                  _X23),
    "np.trace": (lambda x: np.trace(x @ x) ** 2, _X22),
    "np.linalg.norm": (lambda x: np.linalg.norm(x) ** 3 + np.sum(np.linalg.norm(x, axis=0) ** 3), _X23),
    "np.linalg.inv": (lambda x: np.sum(np.linalg.inv(x + A22) ** 2), _X22),
    "np.linalg.det": (lambda x: np.linalg.det(x + A22) ** 2, _X22),
    "np.linalg.solve": (lambda x: np.sum(np.linalg.solve(x + A22, x[:, 0] * x[:, 1]) ** 2), _X22),
    # shape
    "np.reshape": (lambda x: np.sum(np.reshape(x * x, (3, 2)) ** 2 * M23.T), _X23),
    "np.ravel": (lambda x: np.sum(np.ravel(x * x) ** 2), _X23),
    "np.transpose": (lambda x: np.sum(np.transpose(x * x) ** 2 * M23.T), _X23),
    "np.matrix_transpose": (lambda x: np.sum(np.matrix_transpose(x * x) ** 2 * M23.T), _X23),
    "np.swapaxes": (lambda x: np.sum(np.swapaxes(x * x, 0, 1) ** 2 * M23.T), _X23),
    "np.moveaxis": (lambda x: np.sum(np.moveaxis(x * x, 0, 1) ** 2 * M23.T), _X23),
    "np.squeeze": (lambda x: np.sum(np.squeeze(x[None] * x) ** 3), _X23),
    "np.expand_dims": (lambda x: np.sum(np.expand_dims(x * x, 0) ** 3), _X23),
    "np.broadcast_to": (lambda x: np.sum(np.broadcast_to(x * x, (2, 3)) ** 3 * M23), _X3),
    "np.atleast_1d": (lambda x: np.sum(np.atleast_1d(x * x) ** 3), 0.7),
    "np.atleast_2d": (lambda x: np.sum(np.atleast_2d(x * x) ** 3 * M23[:1]), _X3),
    "np.concatenate": (lambda x: np.sum(np.concatenate([x, x * x]) ** 3), _X3),
    "np.stack": (lambda x: np.sum(np.stack([x, x * x], axis=1) ** 3 * M23.T), _X3),
    "np.vstack": (lambda x: np.sum(np.vstack([x, x * x]) ** 3 * M23), _X3),
    "np.hstack": (lambda x: np.sum(np.hstack([x, x * x]) ** 3), _X3),
    "np.flip": (lambda x: np.sum(np.flip(x * x) ** 2 * V3), _X3),
    "np.tile": (lambda x: np.sum(np.tile(x * x, (2, 1)) ** 2 * M23), _X3),
    "np.diag": (lambda x: np.sum(np.diag(x * x) ** 2) + np.sum(np.diag(np.outer(x, x)) ** 3), _X3),
    "np.r_[...] / np.c_[...]": (lambda x: np.sum(np.r_[x, x * x] ** 3) + np.sum(np.c_[x, x * x] ** 3 * M23.T), _X3),
    # issue 15's rules (tests/test_rules_numpy_more.py has their gradients and tangents)
    "np.degrees": (lambda x: np.sum(np.degrees(x * x) ** 2), _X3), "np.radians": (lambda x: np.sum(np.radians(x) ** 3), _X3),
    "np.conjugate": (lambda x: np.sum(np.conj(x * x) * x), _X3),
    "np.real_if_close": (lambda x: np.sum(np.real_if_close(x * x) * x), _X3),
    "np.atleast_3d": (lambda x: np.sum(np.atleast_3d(x * x) ** 3), _X3),
    "np.flipud": (lambda x: np.sum(np.flipud(x * x) ** 2 * M23), _X23),
    "np.fliplr": (lambda x: np.sum(np.fliplr(x * x) ** 2 * M23), _X23),
    "np.rot90": (lambda x: np.sum(np.rot90(x * x) ** 2 * M23.T), _X23),
    "np.roll": (lambda x: np.sum(np.roll(x * x, 1, axis=1) ** 2 * M23), _X23),
    "np.rollaxis": (lambda x: np.sum(np.rollaxis(x * x, 1) ** 2 * M23.T), _X23),
    "np.tril": (lambda x: np.sum(np.tril(np.outer(x, x) * x) ** 2), _X3),
    "np.triu": (lambda x: np.sum(np.triu(np.outer(x, x) * x, 1) ** 2), _X3),
    "np.diagonal": (lambda x: np.sum(np.diagonal(np.outer(x, x ** 3)) ** 2), _X3),
    "np.repeat": (lambda x: np.sum(np.repeat(x * x, 2) ** 2 * np.repeat(V3, 2)), _X3),
    "np.take": (lambda x: np.sum(np.take(x * x, [2, 0, 2]) ** 2 * V3), _X3),
    "np.take_along_axis": (lambda x: np.sum(np.take_along_axis(x * x, np.argsort(x, axis=1), axis=1) ** 2 * M23),
                           _X23),
    "np.pad": (lambda x: np.sum(np.pad(x * x, (1, 2), mode="reflect") ** 3), _X3),
    "np.sort": (lambda x: np.sum(np.sort(x * x) ** 2 * V3), _X3),
    "np.partition": (lambda x: np.sum(np.partition(x * x * x, 1, axis=1) ** 2 * M23), _X23),
    "np.fft.fftshift": (lambda x: np.sum(np.fft.fftshift(x * x) ** 2 * M23), _X23),
    "np.fft.ifftshift": (lambda x: np.sum(np.fft.ifftshift(x * x, axes=1) ** 2 * M23), _X23),
    "np.diff": (lambda x: np.sum(np.diff(x ** 3) ** 2), _X3),
    "np.split": (lambda x: np.sum(np.split(x * x, 3)[0] ** 2) + np.sum(np.split(x, 3)[2] ** 3), _X3),
    "np.array_split": (lambda x: np.sum(np.array_split(x * x, 2)[0] ** 3), _X3),
    "np.hsplit": (lambda x: np.sum(np.hsplit(x * x, 3)[1] ** 3), _X23),
    "np.vsplit": (lambda x: np.sum(np.vsplit(x * x, 2)[1] ** 3), _X23),
    "np.dsplit": (lambda x: np.sum(np.dsplit(x[None] * x[None], 3)[2] ** 3), _X23),
    "np.gradient": (lambda x: np.sum(np.gradient(x * x, 0.5, edge_order=2) ** 2) + np.sum(np.gradient(x ** 3) * x), _X3),
    "np.meshgrid": (lambda x: np.sum(np.meshgrid(x * x, x[:2])[0] ** 2 * np.meshgrid(x, x[:2] ** 3)[1]), _X3),
    "np.column_stack": (lambda x: np.sum(np.column_stack([x, x * x]) ** 3 * M23.T), _X3),
    "np.append": (lambda x: np.sum(np.append(x, x[:2] * x[1:]) ** 3), _X3),
    "np.select": (lambda x: np.sum(np.select([x > 0, x < -0.6], [x ** 3, x * x], np.sin(x)) * x), _X3),
    "np.kron": (lambda x: np.sum(np.kron(x, x * x) ** 2), _X3),
    "np.cross": (lambda x: np.sum(np.cross(x, x * x + V3) ** 2), _X3),
    "np.cumprod": (lambda x: np.sum(np.cumprod(x * x + 0.5, axis=1) ** 2), _X23),
    "np.linalg.pinv": (lambda x: np.sum(np.linalg.pinv(x + M23) ** 2), _X23),
    "np.linalg.slogdet": (lambda x: np.linalg.slogdet(x + A22)[1] ** 2, _X22),
    "np.linalg.cholesky": (lambda x: np.sum(np.linalg.cholesky(x @ x.T + A22 @ A22.T) ** 3), _X22),
    "np.linalg.eigh": (lambda x: np.sum(np.linalg.eigh(x + x.T)[0] ** 3) + np.sum(np.linalg.eigh(x + x.T)[1][0] ** 2),
                       _X22),
    # (through u and vh s2s.hessian is refused: tests/test_rules_numpy_more.py checks that)
    "np.linalg.svd": (lambda x: np.sum(np.linalg.svd(x + M23, compute_uv=False) ** 3), _X23),
    "np.linalg.eigvalsh": (lambda x: np.sum(np.linalg.eigvalsh(x + x.T) ** 3), _X22),
}

HESSIAN_SAMPLES.update({
    # records (transforms/objects.py): a namedtuple built, read, replaced
    "record": (lambda x: np.sum(_Pair(x, x * 2.0).w ** 3 * np.sin(x)), _X3),
    "receiver": (_h_receiver, _X3),
    "field": (lambda x: np.sum(_Pair(np.sin(x), x).w * _Pair(x, x * x).b), _X3),
    "replace": (lambda x: np.sum(_Pair(x, x)._replace(w=x ** 2).w ** 2 * x), _X3),
    # `x.T` of a value (transforms/desugar.py): an array's transpose, or an object's own attribute T
    "transpose_attr": (lambda x: np.sum(np.sin(x.T) ** 3 * x.T) + np.sum((x.T @ x) ** 2), _X23),
})

HESSIAN_SAMPLES.update({
    # s2s/rules/signal.py and matrix_functions.py (more in tests/test_rules_numpy_signal.py)
    "np.average": (lambda x: np.sum(np.average(x ** 3, axis=1, weights=x * x + 1.0) ** 2)
                   + np.average(np.sin(x), axis=0, weights=V3[:2] ** 2) @ V3, _X23),
    "np.convolve": (lambda x: np.sum(np.convolve(x * x, np.sin(x), "same") ** 2), _X3),
    "np.correlate": (lambda x: np.sum(np.correlate(x ** 3, x + V3, "full") ** 2), _X3),
    "np.trapezoid": (lambda x: np.sum(np.trapezoid(x ** 3, np.cumsum(x * x, axis=1), axis=1) ** 2)
                     + np.trapezoid(np.sin(x[0]), dx=x[1, 0] ** 2) ** 2, _X23),
    "np.polyval": (lambda x: np.sum(np.polyval(x * x, np.sin(x) + V3) ** 2), _X3),
    "np.cov": (lambda x: np.sum(np.cov(x ** 3 + M23) ** 2) + np.sum(np.cov(x, rowvar=False, bias=True) * x[0]), _X23),
    "np.linalg.matrix_power": (lambda x: np.sum(np.linalg.matrix_power(x * x + A22, 3) ** 2)
                               + np.sum(np.linalg.matrix_power(x + A22, -2) * x), _X22),
    # (every item differentiated, vectors at both ends and matrices between: grad_multi_dot's and the tangent's
    # own tangents)
    "np.linalg.multi_dot": (lambda x: np.sum(np.linalg.multi_dot([x * x, A22, np.sin(x), x]) ** 2)
                            + np.linalg.multi_dot([x[0], x.T, A22, x[1] ** 2]) ** 2, _X22),
})

HESSIAN_SAMPLES.update({
    # derivative zero of a real argument, refused of a complex one (s2s.zero_of_real)
    "np.sign": (lambda x: np.sum(np.sign(x) * x ** 3), _X3),
    "np.imag": (lambda x: np.sum(np.imag(x) + x ** 3), _X3),
    "np.angle": (lambda x: np.sum(np.angle(x) * x ** 2 + x ** 3), _X3),
})

HESSIAN_SAMPLES.update({
    # np.linalg.solve's tangent's reshapes (a vector a column of its own where solve reads b as one, and back)
    "solve_columns": (lambda x: np.sum(runtime.solve_columns(x[0] ** 3, A22, x[:, 1]) * x), _X22),
    "solve_uncolumns": (lambda x: np.sum(runtime.solve_uncolumns(np.sin(x[:, :1]) * x, A22, x[:, 0]) ** 3), _X22),
})

def _outer_sample(ufunc):
    # np.F.outer of x against a positive row of another length (power and logs need positive bases)
    return (lambda x: np.sum(np.sin(ufunc.outer(x, np.array([0.5, 1.1]) + 0.4 * x[:2])) * 1.3), _P3)


HESSIAN_SAMPLES.update({f"np.{u.__name__}.outer": _outer_sample(u) for u in (
    np.add, np.subtract, np.multiply, np.divide, np.power, np.float_power, np.arctan2, np.hypot, np.logaddexp,
    np.logaddexp2, np.maximum, np.minimum, np.fmax, np.fmin, np.copysign, np.heaviside, np.fmod, np.remainder)})

HESSIAN_EXCLUDED = {
    "plain_attribute": "reads another attribute of an object whose method stores attributes (refusing computed ones "
                       "when it runs); Hessians of such methods: tests/test_objects.py",
    "field_if_set": "reads an attribute of self before the method stores it (an object, not an argument "
                    "hessian takes); Hessians of methods that store: tests/test_objects.py",
    # s2s.unshared(value, ...) is the identity on `value`: desugaring puts it where an in-place update must be
    # checked for sharing; its rule passes g and the tangent through, and the ownership tests run programs with it
    "unshared": "the identity on its value; exercised by tests/test_ownership.py",
    # s2s.item_number(value, site) is the identity on a number (an item read before an in-place update)
    "item_number": "the identity on its value; Hessians through it: tests/test_item_swaps.py",
    # s2s.slice_kept(x, index, v) is the identity on `v`, checking that a list's slice write keeps its length
    "slice_kept": "the identity on its value; Hessians through it: tests/test_list_slice_assignment.py",
    # np.interp's adjoints (s2s.grad_interp) have no derivative of their own: a Hessian through np.interp is
    # refused when it is made (tests/test_interp.py)
    "np.interp": "its adjoint helper has no rule: Hessians through it are refused (tests/test_interp.py)",
    # np.linalg.lstsq's helpers have no tangent in a, b or the solution (deleted from their rules, where the helper
    # rule's default would drop those terms): a Hessian through it is refused (tests/test_rules_numpy_more.py)
    "np.linalg.lstsq": "its helpers have no tangent in a, b or ans: Hessians through it are refused",
    "np.linalg.qr": "its helpers have no tangent in a or ans: Hessians through it are refused (tests/test_qr.py)",
    # s2s.solve_lower(L, B, trans) solves with np.linalg.cholesky's factor inside that rule's templates: the
    # Cholesky sample's Hessian runs through its rule, and so do tests/test_cholesky_solves.py's (at 40 x 40, by
    # SciPy's triangular substitution)
    "solve_lower": "np.linalg.cholesky's solves; Hessians through it: the Cholesky sample, tests/test_cholesky_solves.py",
}


def _rule_label(key, rule):
    return key if isinstance(key, str) else rule.name


def _own_rules():
    """(key, rule) for s2s's own rules: operators, NumPy, math, builtins and s2s's runtime helpers (not the
    rules other tests register for their own functions with s2s.defvjp)."""
    for key, rule in list(rules._RULES.items()):
        if isinstance(key, str):
            yield key, rule
            continue
        if rule.name.startswith("scipy."):  # SciPy's rules: their Hessians are in tests/test_rules_scipy_*.py
            continue
        obj = rules._KEYED.get(key)
        module = getattr(obj, "__module__", None) or type(obj).__module__
        if module in ("math", "builtins", "s2s.runtime") or module.startswith("numpy") or isinstance(obj, np.ufunc):
            yield key, rule


def test_every_rule_with_an_adjoint_is_in_the_hessian_table():
    with_adjoint = {_rule_label(k, r) for k, r in _own_rules() if r.vjp}
    missing = with_adjoint - set(HESSIAN_SAMPLES) - set(HESSIAN_EXCLUDED)
    assert missing == set(), "add a sample to HESSIAN_SAMPLES (or an exclusion with its reason)"
    assert set(HESSIAN_SAMPLES) - with_adjoint == set()


def _rules_called(f):
    """The rules the lowered program of `f` calls (operators included)."""
    from s2s.transforms.analysis import analyze, op_name, resolve_call
    from s2s.transforms.sequences import Sequences

    from s2s import pipeline
    from s2s.frontend import missing
    low = pipeline.lowered(f)
    params = [a.arg for a in low.tree.args.args]
    sequences = Sequences(low.pf, low.tree, analyze(low.pf, low.tree, params[:1]))
    used = set()
    for n in ast.walk(low.tree):
        if isinstance(n, ast.BinOp | ast.UnaryOp) and not isinstance(n.op, ast.Not):
            used.add((sequences.op_key(n) if isinstance(n, ast.BinOp) else None) or op_name(n.op))
        elif isinstance(n, ast.Call):
            obj = resolve_call(low.pf, n)
            rule = rules.lookup(obj) if obj is not missing() else None
            if rule is not None:
                used.add(next(_rule_label(k, r) for k, r in rules._RULES.items() if r is rule))
    return used


@pytest.mark.parametrize("name", sorted(HESSIAN_SAMPLES))
def test_hessian_table_samples_use_their_rule(name):
    f, _ = HESSIAN_SAMPLES[name]
    assert name in _rules_called(f)


def _fd_hessian(f, x, eps=1e-5):
    grad = s2s.grad(f)
    if np.ndim(x) == 0:
        return (grad(x + eps) - grad(x - eps)) / (2 * eps)
    x = np.asarray(x, dtype=float)
    out = np.zeros(x.shape + x.shape)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        out[(Ellipsis,) + idx] = (grad(x + e) - grad(x - e)) / (2 * eps)
    return out


@pytest.mark.parametrize("name", sorted(HESSIAN_SAMPLES))
def test_hessian_through_every_rule(name):
    f, x = HESSIAN_SAMPLES[name]
    h = s2s.hessian(f)(x)
    expected = _fd_hessian(f, x)
    np.testing.assert_allclose(np.asarray(h, dtype=float), expected, rtol=1e-5, atol=1e-6)
    if np.ndim(x):  # and the Hessian-vector product without the Hessian
        v = rng(1600).normal(size=np.shape(x))
        np.testing.assert_allclose(s2s.hvp(f)(x, v), np.tensordot(expected, v, axes=np.ndim(x)), rtol=1e-5, atol=1e-6)


# ---- 5. assignment with repeated indices: one write per element survives, and only its derivative ---------------------


def set_repeat(x, v):
    y = x * 1.0
    y[[0, 0, 2]] = v
    return np.sum(np.sin(y) * np.arange(1.0, 5.0))


def set_repeat_scalar_index_array(x, v):
    y = x * 1.0
    y[np.array([3, 1, 3, 3])] = v * v
    return np.sum(np.sin(y) * np.arange(1.0, 5.0))


def add_repeat(x, v):
    y = x * 1.0
    y[[0, 0]] += v
    return np.sum(np.sin(y) * np.arange(1.0, 5.0))


IDX = np.array([2, 0, 2, 1, 0, 2])


def add_repeat_random(x, v):
    y = x * x
    y[IDX] += v * y[IDX]
    return np.sum(np.sin(y) * np.arange(1.0, 5.0))


def set_mixed(x, v):
    y = x * 1.0
    y[[1, 0, 1], 1:] = v
    return np.sum(np.sin(y) * np.arange(1.0, 9.0).reshape(2, 4))


def set_two_arrays(x, v):
    y = x * 1.0
    y[[0, 1, 0], [2, 2, 2]] = v
    return np.sum(np.sin(y) * np.arange(1.0, 9.0).reshape(2, 4))


def set_mask(x, v):
    y = x * 1.0
    y[x > 0] = v
    return np.sum(np.sin(y) * np.arange(1.0, 9.0).reshape(2, 4))


def mul_repeat_rows(x, v):
    y = x * 1.0
    y[[1, 1]] *= v
    return np.sum(np.sin(y) * np.arange(1.0, 9.0).reshape(2, 4))


X4 = np.array([0.3, -0.8, 1.1, 0.45])
X24 = np.array([[0.3, -0.8, 1.1, 0.45], [-0.2, 0.6, -1.3, 0.9]])


@pytest.mark.parametrize("f, x, v", [
    (set_repeat, X4, np.array([1.5, -0.4, 0.25])), (set_repeat, X4, 0.7),
    (set_repeat_scalar_index_array, X4, np.array([0.2, 0.5, -0.6, 1.2])), (set_repeat_scalar_index_array, X4, 0.3),
    (add_repeat, X4, np.array([1.5, -0.4])), (add_repeat, X4, 0.7),
    (add_repeat_random, X4, np.array([0.2, 0.5, -0.6, 1.2, -0.1, 0.9])),
    (set_mixed, X24, np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]])), (set_mixed, X24, np.array([0.1, 0.2, 0.3])),
    (set_two_arrays, X24, np.array([0.5, -0.7, 1.9])),
    (set_mask, X24, 0.6), (mul_repeat_rows, X24, np.array([1.5, -0.5, 2.0, 0.25])),
])
def test_repeated_indices_follow_numpy(f, x, v):
    value, g = s2s.value_and_grad(f, wrt=(0, 1))(x, v)
    assert value == pytest.approx(f(x, v))  # the forward sweep assigns as NumPy does
    check_grad(f, x, v, wrt=(0, 1), ag=False)
    check_jvp(f, (x, v), wrt=(0, 1))


def test_repeated_index_gives_the_overwritten_write_no_adjoint():
    g = s2s.grad(set_repeat, wrt=1)(X4, np.array([1.5, -0.4, 0.25]))
    assert g[0] == 0.0  # y[0] = v[0] was overwritten by y[0] = v[1]
    assert g[1] == pytest.approx(np.cos(-0.4) * 1.0)
    g = s2s.grad(add_repeat, wrt=1)(X4, np.array([1.5, -0.4]))
    assert g[0] == 0.0  # y[[0, 0]] += v is y[0] = x[0] + v[1]: no accumulation
    assert g[1] == pytest.approx(np.cos(X4[0] - 0.4))


# ---- 6. list and tuple concatenation and repetition: `+` and `*` on sequences are not arithmetic -----------------------


def cat_lists(x):
    L = [x] + [2.0 * x]
    return L[1] * 3.0 + L[0] * L[0]


def cat_constant_first(x):
    L = [1.0] + [x]
    return L[0] * 3.0 + L[1] * 5.0 * L[1]


def cat_extend(x):
    out = [x]
    out += [2.0 * x]
    out += [x * x, 1.0]
    return out[1] * 3.0 + out[0] + out[2] * out[3]


def cat_in_loop(x):
    out = []
    for i in range(4):
        out += [x * i, x * x]
    return sum(out) + out[5] * out[6]


def rep_right(x):
    L = [x] * 2
    return L[1] * 3.0 + L[0] * 5.0 * L[1]


def rep_left(x):
    L = 3 * [x, x * x]
    return L[1] * 3.0 + L[4] * 5.0 + sum(L)


def rep_count_variable(x):
    n = len([1, 2, 3])
    L = [x * x] * n
    return sum(L) * L[2]


def tup_cat(x):
    t = (x,) + (2.0 * x, x * x)
    return t[1] * 3.0 + t[2] * t[0]


def tup_rep(x):
    t = (x, 2.0 * x) * 2
    return t[3] * 3.0 + t[0] * t[2]


def cat_to_numpy(x):
    L = [x, 2.0 * x] + [x * x]
    return np.sum(np.array(L) * np.array([1.0, 3.0, 5.0])) + np.sum(L) + np.mean(L) * np.max(L)


def cat_arrays(x):
    L = [x] + [x * x]
    return np.sum(L[0] * L[1]) + np.sum(np.concatenate(L))


def array_plus_list(x):
    return np.sum((np.ones(2) + [x, x * x]) ** 2)  # an array makes it elementwise


def nested_repeat(x):
    L = [[x, 2.0 * x]] * 2
    return L[1][0] * 3.0 + L[0][1]


@pytest.mark.parametrize("f", [cat_lists, cat_constant_first, cat_extend, cat_in_loop, rep_right, rep_left,
                               rep_count_variable, tup_cat, tup_rep, cat_to_numpy, array_plus_list, nested_repeat])
def test_sequence_operators_on_floats(f):
    x = 0.7
    check_grad(f, x, ag=None if f not in (cat_to_numpy, array_plus_list, cat_in_loop, cat_extend) else False)
    check_jvp(f, (x,))
    h = s2s.hessian(f)(x)
    g = s2s.grad(f)
    assert h == pytest.approx((g(x + 1e-5) - g(x - 1e-5)) / 2e-5, rel=1e-5, abs=1e-6)


def test_sequence_operators_on_arrays():
    x = _r((3,), 90)
    check_grad(cat_arrays, x)
    check_jvp(cat_arrays, (x,))


def list_param(xs):
    ys = xs + xs
    zs = xs * 2
    return ys[0] * ys[3] + zs[1] * 3.0 + sum(ys) * xs[2]


def tuple_param(t, w):
    u = t + (w,)
    return u[0] * u[1] + u[2] * u[2] * u[1]


def _fd_list(f, xs, *rest, eps=1e-6):
    out = []
    for i in range(len(xs)):
        up, dn = list(xs), list(xs)
        up[i] += eps
        dn[i] -= eps
        out.append((f(type(xs)(up), *rest) - f(type(xs)(dn), *rest)) / (2 * eps))
    return out


def test_list_and_tuple_arguments_concatenated():
    xs = [0.3, -1.2, 0.8]
    g = s2s.grad(list_param)(xs)
    assert isinstance(g, list)
    np.testing.assert_allclose(g, _fd_list(list_param, xs), rtol=1e-6)
    t = (0.4, 1.5)
    g = s2s.grad(tuple_param)(t, 0.9)
    assert isinstance(g, tuple)
    np.testing.assert_allclose(g, _fd_list(tuple_param, t, 0.9), rtol=1e-6)
    assert s2s.grad(tuple_param, wrt=1)(t, 0.9) == pytest.approx(2 * 0.9 * 1.5)


def repeat_by_argument(x, n):
    L = [x] * n
    return sum(L) * L[0]


def test_integer_argument_differentiated_as_a_repetition_count_is_refused():
    assert s2s.grad(repeat_by_argument)(0.5, 3) == pytest.approx(2 * 3 * 0.5)  # the count not differentiated: fine
    # (a count is an integer: s2s takes differentiated values for floats, so `[x] * n` is arithmetic to it here;
    # the list's adjoint then has the wrong length, or the count's adjoint multiplies two lists: an error either way)
    for wrt in (1, (0, 1)):
        with pytest.raises((NoDerivativeRuleError, TypeError), match="concatenated or repeated|can't multiply seq"):
            s2s.grad(repeat_by_argument, wrt=wrt)(0.5, 3)


# ---- 7. ends of domains: NumPy's inf / nan with a warning, not ZeroDivisionError; 0 where a norm is 0 ----------------


@pytest.mark.parametrize("f, x", [(math.sqrt, 0.0), (math.asin, 1.0), (math.acos, -1.0), (math.acosh, 1.0)])
def test_infinite_slope_at_the_end_of_a_domain_is_inf(f, x):
    def g(v):
        return f(v)
    with pytest.warns(RuntimeWarning):
        assert abs(s2s.grad(g)(x)) == math.inf
    with pytest.warns(RuntimeWarning):
        assert abs(s2s.jvp(g, (x,), (1.0,))[1]) == math.inf


def test_hypot_at_the_origin_uses_the_zero_subgradient():
    def f(x, y):
        return math.hypot(x, y) + np.sum(np.hypot(np.array([x, 0.0]), y))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert s2s.grad(f, wrt=(0, 1))(0.0, 0.0) == (0.0, 0.0)
    check_grad(f, 0.3, -0.4, wrt=(0, 1), ag=False)


def test_np_where_condition_carries_no_derivative():
    def f(x):
        return np.sum(np.where(x, x * x, 1.0))  # a float condition: its truth is piecewise constant
    x = np.array([0.5, 0.0, -1.2])
    np.testing.assert_allclose(s2s.grad(f)(x), [1.0, 0.0, -2.4])


@pytest.mark.parametrize("ord_, axis, shape", [(np.inf, None, (4,)), (-np.inf, 1, (2, 3)), (1, 0, (3, 2))])
def test_vector_norms(ord_, axis, shape):
    x = _r(shape, 95)

    def f(v):
        return np.sum(np.linalg.norm(v, ord=ord_, axis=axis) ** 2)
    check_grad(f, x, ag=False)  # (autograd: nan at the maximum for inf, no rule for -inf)
    check_jvp(f, (x,))


def test_a_p_norm_along_an_axis_read_from_closure_ints():
    # (ord and axis closure ints: the specialised code reads them as the literals they are, so the vector p-norm's
    # rule applies; the code for any values, forward mode's among them, refuses p = 3 as before)
    ord_, axis = 3, 0

    def f(v):
        return np.sum(np.linalg.norm(v, ord=ord_, axis=axis))
    check_grad(f, _r((3, 3), 97), ag=False)


@pytest.mark.parametrize("ord_, axis", [(2, None), (-2, None), (2, (0, 1))])
def test_norms_without_a_rule_are_refused(ord_, axis):
    # (the matrix 1-norm used to come out as the entrywise one, the spectral norm as the Frobenius one; since stop 74
    # their first derivatives have rules, tests/test_rules_matrix_norms.py, the spectral norms' second none)
    def f(v):
        return np.sum(np.linalg.norm(v, ord=ord_, axis=axis))
    with pytest.raises(NoDerivativeRuleError, match="np.linalg.norm with ord="):
        s2s.hessian(f)(_r((3, 3), 96))


def dict_merge(x):
    d = {"a": x, "b": 3.0} | {"b": 2.0 * x, "c": x * x}
    return d["a"] * d["b"] + d["c"]


def dict_merge_in_place(x):
    d = {"a": x}
    d |= {"b": 2.0 * x, "a": x * x}
    return d["a"] + d["b"] * 3.0


def int_bitor(x):
    n = int(x) | 2
    return x * n


@pytest.mark.parametrize("f", [dict_merge, dict_merge_in_place, int_bitor])
def test_dict_merge_operator(f):
    # `|` on dicts: the right operand's value wins a shared key, and its derivative with it
    check_grad(f, 1.7, ag=False)
    check_jvp(f, (1.7,))


def complex_into_real(x):
    y = np.zeros(2)
    y[0] = np.abs(x * (1.0 + 1.0j))
    return np.sum(y * y)


def test_complex_value_assigned_into_a_real_array_refused():
    # forward mode would drop the imaginary part of abs's complex tangent (and get sqrt(2) * ... wrong)
    for run in (lambda: s2s.grad(complex_into_real)(0.8), lambda: s2s.jvp(complex_into_real, (0.8,), (1.0,))):
        with pytest.raises(S2SError, match="complex"):
            run()


def cast_array_int(x):
    return np.sum(np.array(x, dtype=int) * 1.0) + np.sum(np.asarray(x * x, dtype=np.int64)) + np.sum(x)


def cast_list_int(x):
    return np.sum(np.array([x, 2.0 * x], dtype=np.int32)) + np.sum(np.array([x, x * x], dtype=float) ** 2)


def cast_float(x):
    return np.float64(x * x) * np.sum(np.asarray(x, dtype=np.float64))


@pytest.mark.parametrize("f, x", [(cast_array_int, np.array([1.5, -2.5, 0.3])), (cast_list_int, 1.3),
                                  (cast_float, 0.9)])
def test_casts_to_integer_dtypes_carry_no_derivative(f, x):
    # np.array(x, dtype=int) truncates: its derivative is 0, not 1
    check_grad(f, x, ag=False)
    check_jvp(f, (x,))


def test_float32_cast_passes_the_derivative():
    assert s2s.grad(lambda x: float(np.float32(x)) * 2.0)(0.7) == 2.0


def to_list_and_back(x, y):
    t = (x, y)
    t = t + t
    u = list(t[:3]) + [t[3] * x]
    v = tuple(u)
    return u[0] * u[1] + v[2] * v[3]


def rows_of_an_array(x):
    rows = list(x * x)
    return rows[0] * rows[2] + sum(rows) + sum(tuple(np.sin(x)))


def test_list_and_tuple_conversions():
    check_grad(to_list_and_back, 0.7, -1.3, wrt=(0, 1), ag=False)
    check_jvp(to_list_and_back, (0.7, -1.3), wrt=(0, 1))
    x = _r((3,), 97)
    check_grad(rows_of_an_array, x, ag=False)
    check_jvp(rows_of_an_array, (x,))


def test_repeated_dask_indices_keep_the_last_write():
    da = pytest.importorskip("dask.array")
    x = da.from_array(np.array([1.0, 2.0, 3.0]), chunks=2)
    index = da.from_array(np.array([0, 0, 2]), chunks=2)
    gx, gv = runtime.setitem_grads(da.from_array(np.arange(1.0, 4.0), chunks=2), x, index)
    np.testing.assert_array_equal(np.asarray(gv), [0.0, 1.0, 3.0])
    np.testing.assert_array_equal(np.asarray(gx), [0.0, 2.0, 0.0])
