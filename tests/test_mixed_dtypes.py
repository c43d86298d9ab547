"""Adjoints in their values' dtypes (issue 16): a float64 value's adjoint is never computed in float32.

`s2s.grad`'s seed is the Python number 1.0, which NumPy treats as weak: `3.3 * w[i]` of a float32 item is float32.
Where the output is float64 and the code also holds float32 values, such an adjoint of a float64 value (`x[i] * w[i]`
of a float64 x) was rounded to float32: 1.5e-7 off. A conversion's adjoint kept the converted value's dtype
(`float(v)`, `v.astype(np.float32)`, `np.float32(v)`, `v.item()` of a float64 v: a Python number or float32). Each
function here is linear in its float64 argument x with float32 weights w, so its gradient is exactly `c * w`
computed in float64; every path (NumPy code, general code, compiled code, value_and_grad, a pullback given a Python
number) must give exactly that.
"""
import dataclasses
import functools
import warnings

import float32_weights_module
import numpy as np
import pytest

import s2s

C = 3.3


def loop_sum(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] * w[i]
    return C * s


def loop_in_place(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        s += w[i] * x[i]
    return s * C


def dot(x, w):
    return C * np.dot(x, w)


def vdot(x, w):
    return np.vdot(w, x) * C


def matmul(x, w):
    return C * (x @ w)


def matmul_right(x, w):
    return (w @ x) * C


def inner(x, w):
    return C * np.inner(x, w)


def weighted(a, b):
    return a @ b


def through_helper(x, w):
    return C * weighted(x, w)


def unpacked(x, w):
    value, scale = x @ w, C
    return value * scale


def conditional(x, w):
    t = x @ w if x.shape[0] > 1 else 0.0
    return C * t


def items_listed(x, w):
    terms = [x[i] * w[i] for i in range(x.shape[0])]
    return C * sum(terms)


def divided(x, w):
    return (x @ w) / (1.0 / C)


def as_float(x, w):
    return C * float(x @ w)


def as_item(x, w):
    return C * (x @ w).item()


def loop_of_floats(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + float(x[i] * w[i])
    return C * s


def narrowed_sum(x, w):
    return np.sum((C * (x * w)).astype(np.float32))


def narrowed_number(x, w):
    v = C * (x @ w)
    return np.float32(v) * np.float32(2.0) / np.float32(2.0)


def narrowed_items(x, w):
    t = (C * x * w).astype(np.float32)
    s = np.float32(0.0)
    for i in range(x.shape[0]):
        s = s + t[i]
    return s


FUNCTIONS = [loop_sum, loop_in_place, dot, vdot, matmul, matmul_right, inner, through_helper, unpacked, conditional,
             items_listed, divided, as_float, as_item, loop_of_floats, narrowed_sum, narrowed_number, narrowed_items]


def _data(n=5):
    rng = np.random.default_rng(16)
    return rng.normal(size=n), rng.normal(size=n).astype(np.float32)


def _exact(f, w):
    return (C * w.astype(np.float64)) if f is not divided else w.astype(np.float64) / (1.0 / C)


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("path", ["grad", "derivative", "value_and_grad", "vjp"])
def test_float64_gradient_beside_float32_weights_is_computed_in_float64(f, path):
    x, w = _data()
    if path == "grad":
        got = s2s.grad(f)(x, w)
    elif path == "derivative":
        got = s2s.derivative(f)(x, w)
    elif path == "value_and_grad":
        value, got = s2s.value_and_grad(f)(x, w)
        assert value == f(x, w)
    else:
        _, pullback = s2s.vjp(f, x, w)
        got = pullback(1.0)  # (a Python number for the cotangent: weak, as the seed)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _exact(f, w), rtol=1e-14, atol=0)


@pytest.mark.parametrize("f", [loop_sum, loop_in_place, dot, matmul, as_float, loop_of_floats, narrowed_sum,
                               narrowed_number], ids=lambda f: f.__name__)
def test_compiled_gradient_beside_float32_weights_is_computed_in_float64(f):
    x, w = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (a call numba cannot compile falls back to the NumPy code: the same numbers)
        got = s2s.grad(f, compile=True)(x, w)
    np.testing.assert_allclose(got, _exact(f, w), rtol=1e-14, atol=0)


def test_the_printed_code_says_why_the_seed_is_float64():
    x, w = _data()
    src = s2s.source(s2s.grad(loop_sum), x, w)
    assert "out_bar = np.float64(out_bar)" in src or "s_bar = np.float64(s_bar)" in src, src
    assert "# s2s: the seed in float64, the output's dtype" in src, src
    assert "stack" not in src and "saved" not in src, src  # (the output's value is not needed: no forward loop)


def test_one_dtype_code_keeps_the_number_seed():
    # float64 code and float32 code: the seed stays the number 1.0, folded away as before
    x, w = _data()
    for args in [(x, w.astype(np.float64)), (x.astype(np.float32), w)]:
        src = s2s.source(s2s.grad(loop_sum), *args)
        assert "seed_of" not in src and "np.float64(out_bar)" not in src and "the seed in" not in src, src
        got = s2s.grad(loop_sum)(*args)
        assert got.dtype == args[0].dtype


def test_seed_of_gives_a_number_the_output_dtype():
    from s2s import runtime
    assert type(runtime.seed_of(1.0, np.float64(2.0))) is np.float64
    assert type(runtime.seed_of(1.0, np.ones(3, np.float32))) is float  # (a narrower output's: weak, as given)
    assert runtime.seed_of((1.0, 0.0), (np.float64(2.0), 3.0)) == (1.0, 0.0)  # (has_aux's pair: each its own)
    assert type(runtime.seed_of((1.0, 0.0), (np.float64(2.0), 3.0))[0]) is np.float64
    assert type(runtime.seed_of(0.0, np.float64(2.0))) is float  # (the zero adjoint stays the zero adjoint)
    assert type(runtime.seed_of(1.0, 2.0)) is float  # (a Python output: the seed as given)
    g = np.ones(3, np.float32)
    assert runtime.seed_of(g, np.ones(3)) is g  # (an array cotangent: as given)
    assert type(runtime.seed_of(1.0, np.ones(3, np.int64))) is float


def round_trip_half(x):
    return np.sum(x.astype(np.float16).astype(np.float64) * 1e6)


def round_trip_single(x):
    return np.sum(x.astype(np.float32).astype(np.float64) * 1e-50)


@pytest.mark.parametrize("f, scale", [(round_trip_half, 1e6), (round_trip_single, 1e-50)], ids=["half", "single"])
def test_a_conversions_adjoint_is_widened_never_narrowed(f, scale):
    # (JAX rounds the adjoint to float16 or float32 on the way back: inf for 1e6, 0 for 1e-50; s2s widens only)
    x = np.linspace(0.3, 1.1, 3)
    np.testing.assert_allclose(s2s.grad(f)(x), np.full(3, scale), rtol=1e-15)


def float64_conversions(x):
    s = np.sum(x)
    return float(s) + s.item() + float(x[0] * x[1])


def float32_item(x):
    return np.sum(x).item() * 3.0


def float32_rows_written(x):
    acc = np.zeros_like(x)
    for i in range(x.shape[0]):
        acc[i] = x[i] * float(i)
    return np.sum(acc)


def float32_items_looped(x):
    s = 0.0
    for v in x:
        s = s + v * v
    return s


@pytest.mark.parametrize("f, dtype", [(float64_conversions, np.float64), (float32_item, np.float32),
                                      (float32_rows_written, np.float32), (float32_items_looped, np.float32)],
                         ids=lambda v: getattr(v, "__name__", None))
def test_code_of_one_dtype_prints_no_dtype_lines(f, dtype):
    # (the seed and the conversions' adjoints are idle where every floating value has one dtype: the code is the
    # code before stop 69, its seed folded, no guard of a conversion's adjoint, no forward sweep kept for the output)
    x = np.linspace(0.3, 1.1, 4).astype(dtype)
    src = s2s.source(s2s.grad(f), x)
    assert "seed_of" not in src and "cast_back" not in src and "is_zero" not in src, src
    assert "is 1.0 here" in src, src
    assert s2s.grad(f)(x).dtype == dtype


# float32 weights where the analysis cannot see their dtype: an object's attribute, an item of a module's dict or
# list, a keyword-only argument. The code is not proved float64 only then, so the seed keeps the output's dtype.
class Weights:
    def __init__(self, w):
        self.w = w


_, _W32 = _data()
WEIGHTS = {"w": _W32}
WEIGHT_LIST = [_W32]
MODEL = Weights(_W32)


def attribute(x, m):
    return C * np.dot(x, m.w)


def attribute_loop(x, m):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] * m.w[i]
    return C * s


def module_dict_item(x):
    return C * np.dot(x, WEIGHTS["w"])


def module_list_item(x):
    return C * (x @ WEIGHT_LIST[0])


def module_object(x):
    return C * float(x @ MODEL.w)


def keyword_only(x, *, w):
    return C * np.dot(x, w)


def closure_dict(weights):
    def f(x):
        return np.sum(C * x * weights["w"])
    return f


class Holder:
    w = _W32

    @staticmethod
    def loss(x):
        return C * np.dot(x, Holder.w)


def _weights_function():
    pass


_weights_function.w = _W32
BOUND = functools.partial(np.dot, _W32)


def module_attribute(x):
    return C * np.dot(x, float32_weights_module.W)


def module_attribute_dict(x):
    return C * np.dot(x, float32_weights_module.D["w"])


def class_attribute(x):
    return C * np.dot(x, Holder.w)


def function_attribute(x):
    return C * np.dot(x, _weights_function.w)


def partial_arguments(x):
    return C * np.dot(x, BOUND.args[0])


HIDDEN = [(attribute, (MODEL,), {}), (attribute_loop, (MODEL,), {}), (module_dict_item, (), {}),
          (module_list_item, (), {}), (module_object, (), {}), (keyword_only, (), {"w": _W32}),
          (closure_dict(WEIGHTS), (), {}), (module_attribute, (), {}), (module_attribute_dict, (), {}),
          (class_attribute, (), {}), (Holder.loss, (), {}), (function_attribute, (), {}), (partial_arguments, (), {})]


@pytest.mark.parametrize("f, rest, keywords", HIDDEN, ids=lambda v: getattr(v, "__name__", None))
@pytest.mark.parametrize("path", ["grad", "derivative", "value_and_grad"])
def test_float32_weights_the_analysis_cannot_see_keep_the_gradient_float64(f, rest, keywords, path):
    x, w = _data()
    if path == "grad":
        got = s2s.grad(f)(x, *rest, **keywords)
    elif path == "derivative":
        got = s2s.derivative(f)(x, *rest, **keywords)
    else:
        _, got = s2s.value_and_grad(f)(x, *rest, **keywords)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, C * w.astype(np.float64), rtol=1e-14, atol=0)


def test_the_printed_code_names_the_value_whose_dtype_is_not_known():
    x, _ = _data()
    src = s2s.source(s2s.grad(attribute), x, MODEL)
    assert "seed_of" in src and "the dtype of m is not known here" in src, src
    src = s2s.source(s2s.grad(module_attribute), x)
    assert "the dtype of float32_weights_module.W is not known here" in src, src


def by_mode(x, w, mode="sum"):
    t = np.sum(x * w) if mode == "sum" else np.mean(x * w)
    return t


def test_a_value_not_seen_costs_the_seed_line_alone():
    # (review 236: a string argument made the code lose every float64 rewrite, 37x slower; it keeps them, and the
    # seed takes the output's dtype where that is known)
    x, w = _data()
    w = w.astype(np.float64)
    src = s2s.source(s2s.grad(by_mode), x, w, "sum")
    code = [line for line in src.splitlines() if not line.strip().startswith("#")]
    assert not [line for line in code if "expand_reduced" in line or "x * w" in line], src
    np.testing.assert_allclose(s2s.grad(by_mode)(x, w, "sum"), w, rtol=1e-15)


@dataclasses.dataclass
class Record:
    w: np.ndarray


def test_a_float64_field_of_float32_code_gets_its_gradient_in_float64():
    x, _ = _data()
    x32, m = x.astype(np.float32), Record(np.linspace(0.5, 1.5, 5))
    got = s2s.grad(attribute, wrt=1)(x32, m)
    assert got.w.dtype == np.float64
    np.testing.assert_allclose(got.w, C * x32.astype(np.float64), rtol=1e-14, atol=0)


def _scaled_tanh(x, w):
    return np.tanh(x * w) * 3.3


def test_a_narrower_cotangent_is_pulled_back_in_the_outputs_dtype():
    """Review 236: a float32 cotangent given to the pullback of a float64 output computed the backward sweep in
    float32 (8e-8 off the float64 cotangent's result); it is widened to the output's dtype first."""
    x, w = np.linspace(0.1, 0.9, 5), 1.7
    out, pullback = s2s.vjp(_scaled_tanh, x, w, wrt=(0, 1))
    wide = pullback(np.ones(5))
    narrow = pullback(np.ones(5, dtype=np.float32))
    for a, b in zip(narrow, wide):
        assert np.asarray(a).dtype == np.float64
        np.testing.assert_array_equal(a, b)
    out32, pullback32 = s2s.vjp(_scaled_tanh, x.astype(np.float32), np.float32(w))
    assert pullback32(np.ones(5, dtype=np.float32)).dtype == np.float32  # (a float32 output keeps float32)
