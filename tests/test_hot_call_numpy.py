"""The hot call of the NumPy path (api._runner with compiled_call.make_hot_numpy): after a call of one kind of
arguments, `s2s.grad(f)` runs inline tests of the arguments' kinds and of freshness, then the generated
function. It must give what the general call gives in every case: a redefinition, a rebound global or closure
value, other shapes and dtypes, keywords, left-out defaults, errors with the user's line, a one-element output,
a tuple of gradients, value_and_grad; and the code it swaps in must not keep a dropped gradient alive."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest

import s2s
from s2s import compiled_call
from s2s.errors import NonScalarOutputError, NotDifferentiableArgumentError
from tests.helpers_fd import fd_grad

_SCALE = 2.0
_W = np.array([1.0, -2.0, 0.5])


def _helper(x):
    return x * x


def uses_globals(x):
    return np.sum(_helper(x) * _W) * _SCALE


def newton_sqrt(a):
    x = a
    steps = 0
    while abs(x * x - a) > 1e-12 and steps < 50:
        x = 0.5 * (x + a / x)
        steps += 1
    return x


def with_default(x, c=3.0):
    return np.sum(np.sin(x) * c)


def divide(x, d):
    return x / d


def _hot(g):
    return g.__code__.co_filename == compiled_call.FILENAME and "_s2s_ok" in g.__code__.co_varnames


def test_second_call_runs_the_hot_code_and_gives_the_same_gradient():
    g = s2s.grad(newton_sqrt)
    first = g(2.3)
    assert _hot(g)
    assert g(2.3) == first
    assert abs(first - 0.5 / np.sqrt(2.3)) < 1e-12
    assert abs(g(5.0) - 0.5 / np.sqrt(5.0)) < 1e-12


def test_rebound_global_function_and_array_give_the_new_derivative():
    global _helper, _W, _SCALE
    x = np.array([0.3, -1.2, 2.0])
    g = s2s.grad(uses_globals)
    g(x)
    np.testing.assert_allclose(g(x), fd_grad(uses_globals, (x,)), rtol=1e-6)
    old = (_helper, _W, _SCALE)
    try:
        def _helper(x):  # noqa: F811 - rebound between calls, as a notebook cell does
            return x * x * x
        np.testing.assert_allclose(g(x), fd_grad(uses_globals, (x,)), rtol=1e-6)
        _W = np.array([3.0, 1.0, -1.0])
        np.testing.assert_allclose(g(x), fd_grad(uses_globals, (x,)), rtol=1e-6)
        _SCALE = -1.5
        np.testing.assert_allclose(g(x), fd_grad(uses_globals, (x,)), rtol=1e-6)
    finally:
        _helper, _W, _SCALE = old


def test_closure_value_changed_between_calls():
    def make():
        k = 2.0

        def f(x):
            return np.sum(x ** 2) * k

        def set_k(v):
            nonlocal k
            k = v
        return f, set_k

    f, set_k = make()
    g = s2s.grad(f)
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(g(x), 4.0 * x)
    np.testing.assert_allclose(g(x), 4.0 * x)
    set_k(5.0)
    np.testing.assert_allclose(g(x), 10.0 * x)


def test_redefined_code_gives_the_new_derivative():
    def f(x):
        return x * x
    g = s2s.grad(f)
    assert g(3.0) == 6.0 and g(3.0) == 6.0

    def other(x):
        return x * x * x
    f.__code__ = other.__code__
    assert g(3.0) == 27.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_other_shapes_and_dtypes_alternate(dtype):
    g = s2s.grad(with_default)
    for n in (3, 4, 3, 5, 4, 3):
        x = np.linspace(-1.0, 1.0, n).astype(dtype)
        out = g(x)
        assert out.dtype == dtype and out.shape == (n,)
        np.testing.assert_allclose(out, 3.0 * np.cos(x), rtol=1e-5)
    x = np.linspace(-1.0, 1.0, 3).reshape(3, 1)
    np.testing.assert_allclose(g(x), 3.0 * np.cos(x))


def test_keywords_defaults_and_extra_arguments():
    g = s2s.grad(with_default)
    x = np.array([0.1, 0.2])
    g(x)
    np.testing.assert_allclose(g(x, 2.0), 2.0 * np.cos(x))
    np.testing.assert_allclose(g(x, c=4.0), 4.0 * np.cos(x))
    np.testing.assert_allclose(g(x=x), 3.0 * np.cos(x))
    np.testing.assert_allclose(g(x), 3.0 * np.cos(x))
    with pytest.raises(TypeError):
        g(x, 2.0, 3.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        g(x, d=1.0)


def test_int_array_is_refused_after_a_float_call_and_float_works_after():
    g = s2s.grad(with_default)
    g(np.ones(3))
    g(np.ones(3))
    with pytest.raises(NotDifferentiableArgumentError):
        g(np.ones(3, dtype=int))
    np.testing.assert_allclose(g(np.ones(3)), 3.0 * np.cos(np.ones(3)))


def test_errors_from_the_hot_call_name_the_users_line():
    g = s2s.grad(divide)
    assert g(1.0, 2.0) == 0.5
    assert _hot(g)
    for _ in range(2):  # Python's float division raises, as the function does
        with pytest.raises(ZeroDivisionError) as info:
            g(1.0, 0.0)
        assert any("return x / d" in note for note in getattr(info.value, "__notes__", ())), info.value.__notes__
    assert g(1.0, 4.0) == 0.25


def test_one_element_output_and_non_scalar_output():
    def one(x):
        return x[:1] * 3.0

    def many(x):
        return x * 3.0
    x = np.array([1.0, 2.0])
    g = s2s.grad(one)
    for _ in range(3):
        np.testing.assert_allclose(g(x), [3.0, 0.0])
    h = s2s.grad(many)
    for _ in range(2):
        with pytest.raises(NonScalarOutputError):
            h(x)


def test_tuple_of_gradients_and_value_and_grad():
    def f(x, y):
        return np.sum(x * y)
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    g = s2s.grad(f, wrt=(0, 1))
    for _ in range(3):
        gx, gy = g(x, x)  # the same array twice: two gradient arrays, not one object
        assert gx is not gy
        np.testing.assert_allclose(gx, x)
        gx, gy = g(x, y)
        np.testing.assert_allclose(gx, y)
        np.testing.assert_allclose(gy, x)
    single = s2s.grad(f, wrt=(0,))
    for _ in range(2):
        (gx,) = single(x, y)
        np.testing.assert_allclose(gx, y)
    vg = s2s.value_and_grad(f)
    for _ in range(3):
        value, gx = vg(x, y)
        assert value == 11.0
        np.testing.assert_allclose(gx, y)


def test_hot_code_is_hashable_where_it_reads_unhashable_values():
    g = s2s.grad(uses_globals)
    g(np.ones(3))
    g(np.ones(3))
    assert _hot(g)
    hash(g.__code__)  # s2s keys tables by code objects (runtime/calls.py)
    assert g.__code__ == g.__code__


def test_a_dropped_gradient_is_freed():
    def f(x):
        return x * x * 3.0
    g = s2s.grad(f, wrt=0, optimize=True)
    g(2.0)
    g(2.0)
    assert _hot(g)
    ref = weakref.ref(g)
    s2s.cache.clear()  # s2s.grad keeps the last gradient of each function for nested calls (nested.remember)
    del g
    gc.collect()
    assert ref() is None


def test_threads_calling_two_kinds_each_get_their_gradient():
    g = s2s.grad(with_default)
    xs = {n: np.linspace(0.0, 1.0, n) for n in (2, 3)}
    errors = []

    def work(n):
        for _ in range(300):
            out = g(xs[n])
            if out.shape != (n,) or not np.allclose(out, 3.0 * np.cos(xs[n])):
                errors.append(n)

    threads = [threading.Thread(target=work, args=(n,)) for n in (2, 3, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def _recursive_through_alias(x, n=2, c=2.0):
    if n == 0:
        return x
    return c * _alias(x, n - 1)  # the recursive call leaves `c` out: it reads the function's defaults


_alias = _recursive_through_alias


def _recursive_through_a_cell():
    def inner(x, n=2, c=2.0):
        if n == 0:
            return x
        return c * other(x, n - 1)
    other = inner
    return inner


@pytest.mark.parametrize("make", [lambda: _recursive_through_alias, _recursive_through_a_cell],
                         ids=["global alias", "closure cell"])
def test_defaults_changed_reach_a_recursion_through_another_name(make):
    # every parameter is given, but the recursive call (by a name that is not the function's own) uses its
    # defaults: the hot code must test them, as the general call does (it gave the stale 6.0)
    f = make()
    old = f.__defaults__
    g = s2s.grad(f)
    try:
        assert g(1.0, 2, 3.0) == 6.0
        assert g(1.0, 2, 3.0) == 6.0
        assert _hot(g)
        f.__defaults__ = (2, 5.0)
        assert g(1.0, 2, 3.0) == 15.0
        assert g(1.0, 2, 3.0) == 15.0
    finally:
        f.__defaults__ = old


def test_compiled_gradient_that_keeps_its_numpy_code_calls_it_hot():
    pytest.importorskip("numba")
    import warnings

    def lse(W, X):
        return np.sum(np.log(np.sum(np.exp(X @ W), axis=1)))

    rng = np.random.default_rng(0)
    W, X = rng.normal(size=(4, 3)) * 0.1, rng.normal(size=(6, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = s2s.grad(lse, compile=True)
        want = s2s.grad(lse)(W, X)
        for _ in range(3):
            np.testing.assert_allclose(g(W, X), want, rtol=1e-12)
    variant = next(iter(g.__s2s_variants__.values()))
    if variant.call is None:  # compile=True kept the NumPy code (it ran faster): the NumPy function, hot
        assert _hot(g) and variant.entry.fn in g.__code__.co_consts
    ref = weakref.ref(g)
    del g, variant
    gc.collect()
    assert ref() is None


def test_code_replaced_by_code_with_other_parameter_names():
    def p(x, c):
        return c * x * x

    def q(y, scale):
        return scale * y ** 3

    g = s2s.grad(p)
    assert g(1.0, 2.0) == 4.0 and g(1.0, 2.0) == 4.0
    p.__code__ = q.__code__
    assert g(1.0, 2.0) == 6.0  # positionally: the new derivative
    with pytest.raises(TypeError, match="scale"):
        g(1.0, scale=2.0)  # the runner keeps p's first names (docs/internals.md)
    assert s2s.grad(p)(1.0, scale=2.0) == 6.0  # made again: the new names


def _scaled_sum(x, w=np.ones(3), c=2.0):  # noqa: B008 - a mutable default, on purpose
    return np.sum(x * w) * c


@pytest.mark.parametrize("compile", [False, True], ids=["numpy", "compiled"])
def test_left_out_defaults_run_hot_and_follow_their_changes(compile):
    # a call that leaves parameters out runs a hot code of its own (it went to the general path on every
    # call, 25 us of a 120 us gradient); the defaults it fills in are tested as the general call reads them
    if compile:
        pytest.importorskip("numba")
    f = _scaled_sum
    old = (f.__defaults__[0].copy(), f.__defaults__[1])
    g = s2s.grad(f, compile=compile)
    x = np.array([1.0, 2.0, 3.0])
    try:
        for _ in range(2):
            np.testing.assert_allclose(g(x), [2.0] * 3)
        assert g.__code__.co_filename == compiled_call.FILENAME and "_s2s_ok" in g.__code__.co_varnames
        f.__defaults__[0][:] = 5.0  # the same array, changed in place: read as the call reads it
        for _ in range(2):
            np.testing.assert_allclose(g(x), [10.0] * 3)
        f.__defaults__ = (np.ones(3), 3.0)  # new defaults: the derivative made again
        for _ in range(2):
            np.testing.assert_allclose(g(x), [3.0] * 3)
        for args, kwargs, want in [((x, np.ones(3)), {}, 3.0), ((x,), {}, 3.0), ((x,), {"c": 1.0}, 1.0),
                                   ((x, 2 * np.ones(3), 0.5), {}, 1.0), ((x,), {}, 3.0), ((x, np.ones(3)), {}, 3.0)]:
            for _ in range(2):  # each kind of call twice: the general call, then its hot code
                np.testing.assert_allclose(g(*args, **kwargs), [want] * 3)
        f.__defaults__ = (np.ones(3),)  # fewer defaults: c must be given
        with pytest.raises(TypeError):
            g(x)
        np.testing.assert_allclose(g(x, np.ones(3), 4.0), [4.0] * 3)
    finally:
        f.__defaults__ = (old[0], old[1])


def _log_of_product(x, r):
    p, xk = 1.0, x
    for k in range(1, 4):
        p *= 1.0 + r * xk / k
        xk *= x
    return np.log(p).item()  # (a value whose shape the code does not infer: returned, to be checked)


def test_hot_code_of_a_derivative_that_returns_its_value_checks_it():
    # the generated code returns (value, gradients) so that the call can check the value is a number: the hot
    # code returns the gradients at once where it is a float, and goes to the general handling otherwise
    g = s2s.grad(_log_of_product, wrt=(0, 1))
    assert "return value, " in s2s.source(g, 0.5, 0.25)
    for x, r in [(0.5, 0.25), (0.5, 0.25), (np.float64(0.3), 0.1), (np.float64(0.3), 0.1), (0.5, 0.25)]:
        got = g(x, r)
        assert type(got) is tuple and len(got) == 2
        np.testing.assert_allclose(got[0], fd_grad(_log_of_product, (float(x), r), 0), rtol=1e-7)
        np.testing.assert_allclose(got[1], fd_grad(_log_of_product, (float(x), r), 1), rtol=1e-7)
    assert _hot(g)
    want = fd_grad(_log_of_product, (0.5, 0.25), 0)
    for x in (np.float32(0.5), np.float32(0.5)):  # a float32 value: a float too
        np.testing.assert_allclose(g(x, 0.25)[0], want, rtol=1e-5)
    for _ in range(2):  # an array: `xk *= x` updates x itself, refused from the general handling each time
        with pytest.raises(s2s.UnsupportedSyntaxError, match="xk"):
            g(np.array([0.5]), 0.25)
    np.testing.assert_allclose(g(0.5, 0.25)[0], want, rtol=1e-7)


def layers(Ws, bs, x):
    h = x
    for W, b in zip(Ws, bs):
        h = np.tanh(W @ h + b)
    return np.sum(h ** 2)


def test_list_arguments_run_hot_while_their_structure_is_the_key():
    r = np.random.default_rng(5)
    Ws, bs, x = [r.normal(size=(3, 3)), r.normal(size=(2, 3))], [r.normal(size=3), r.normal(size=2)], r.normal(size=3)
    g = s2s.grad(layers, wrt=(0, 1))
    first = g(Ws, bs, x)
    assert _hot(g)  # the next call of this kind runs the hot code, which tests the lists' structure
    for changed in ([Ws[0] * 2.0, Ws[1]],  # same structure, other values: hot, read afresh
                    [Ws[0], Ws[1], r.normal(size=(2, 2))],  # one more layer: another variant
                    [Ws[0], Ws[1][:, :2]]):  # an item of another shape: refused by NumPy, as called
        bs_ = bs + [r.normal(size=2)] if len(changed) == 3 else bs
        try:
            want = s2s.grad(layers, wrt=(0, 1), optimize=False)(changed, bs_, x)
        except ValueError:
            with pytest.raises(ValueError):
                g(changed, bs_, x)
            continue
        got = g(changed, bs_, x)
        for got_part, want_part in zip(got, want):
            for a, b in zip(got_part, want_part):
                np.testing.assert_allclose(a, b, rtol=1e-12)
    again = g(Ws, bs, x)
    for got_part, want_part in zip(again, first):
        for a, b in zip(got_part, want_part):
            np.testing.assert_array_equal(a, b)
    Ws.append(r.normal(size=(2, 2)))  # the caller's list grown in place: its structure is not the key's
    bs.append(r.normal(size=2))
    assert len(g(Ws, bs, x)[0]) == 3


def layered(params, x):
    h = x
    for W, b in params["layers"]:
        h = np.tanh(W @ h + b)
    return np.sum(h ** 2) * params["scale"]


def test_nested_containers_are_tested_inline_item_by_item():
    # the hot code tests a small container's structure written out (type, length, keys in order, each leaf's
    # type, shape and dtype), exactly where argshapes.structure_key would equal the key
    from s2s.argshapes import structure_key
    r = np.random.default_rng(6)
    params = {"layers": [(r.normal(size=(3, 3)), r.normal(size=3)), (r.normal(size=(2, 3)), r.normal(size=2))],
              "scale": 0.5}
    x = r.normal(size=3)
    g = s2s.grad(layered)
    g(params, x)
    assert _hot(g)
    others = [
        {"scale": 0.5, "layers": params["layers"]},  # the keys in another order
        {"layers": [tuple(params["layers"][0]), list(params["layers"][1])], "scale": 0.5},  # a tuple become a list
        {"layers": params["layers"], "scale": 1},  # an int where a float was
        {"layers": params["layers"], "scale": np.float64(0.5)},
        {"layers": [params["layers"][0], (params["layers"][1][0].astype(np.float32), params["layers"][1][1])],
         "scale": 0.5},
        {"layers": params["layers"][:1], "scale": 0.5},
        params,
    ]
    for other in others:
        assert (structure_key(other) == structure_key(params)) == (other is params)
        got = g(other, x)
        want = s2s.grad(layered, optimize=False)(other, x)
        assert list(got) == list(want) and type(got["scale"]) is type(want["scale"])
        for (gW, gb), (wW, wb) in zip(got["layers"], want["layers"]):
            assert gW.dtype == wW.dtype
            np.testing.assert_allclose(gW, wW, rtol=1e-5)
            np.testing.assert_allclose(gb, wb, rtol=1e-5)
        assert type(got["layers"]) is type(other["layers"])
        assert [type(p) for p in got["layers"]] == [type(p) for p in other["layers"]]


def layers_by_einsum(Ws, x):
    h = x
    for W in Ws:
        h = np.tanh(np.einsum("ij,j->i", W, h))
    return np.sum(h ** 2)


def test_compiled_gradient_of_list_arguments_that_keeps_its_numpy_code_calls_it_hot():
    """(helper 139: compile=True of container arguments kept the NumPy code but never its hot call: every call
    took the general path, keys worked out twice, 8-13 us more than s2s.grad's own)"""
    pytest.importorskip("numba")
    import warnings

    r = np.random.default_rng(6)
    Ws, x = [r.normal(size=(3, 3)), r.normal(size=(2, 3))], r.normal(size=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (numba has no einsum: the NumPy code, with a warning)
        g = s2s.grad(layers_by_einsum, compile=True)
        first = g(Ws, x)
    want = s2s.grad(layers_by_einsum)(Ws, x)
    for a, b in zip(first, want):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert _hot(g)
    again = g([Ws[0] * 2.0, Ws[1]], x)  # the same structure, other values: hot, read afresh
    for a, b in zip(again, s2s.grad(layers_by_einsum)([Ws[0] * 2.0, Ws[1]], x)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    longer = [Ws[0], r.normal(size=(3, 3)), Ws[1]]  # another structure: another variant
    for a, b in zip(g(longer, x), s2s.grad(layers_by_einsum)(longer, x)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    got = g(Ws, x)
    got[0][...] = 0.0  # (the gradient returned is the caller's own: the next call's is not changed by this)
    np.testing.assert_allclose(g(Ws, x)[0], want[0], rtol=1e-12)
