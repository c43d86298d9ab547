"""Compiled derivatives that computed another function's numbers (reviews 228 and 230): np.clip broadcast by its
bounds (numba's clip keeps `a`'s shape), integers of a dtype narrower than int64 (NumPy wraps around in their
dtype, numba widens), NumPy's booleans added (`or` in NumPy, 2 in numba), and the layouts numba's argsort,
argpartition and partition make of ties and of the two sides of the kth. Each compiled gradient is NumPy's
now: computed alike, or the NumPy code run with a CompiledFallbackWarning that says why."""

import warnings

import numpy as np
import pytest
from helpers_fd import compiled_matches, fd_grad

import s2s
from s2s.compiled import CompiledFallbackWarning

X5 = np.array([0.3, -0.7, 1.2, -2.1, 0.05])
HI = np.array([0.1, 0.5, 1.0])


def clipped_by_a_wider_bound(hi, x):
    return np.sum(np.clip(x[:, None], -0.5, hi) ** 2)


def clipped_below_by_the_method(lo, x):
    return np.sum(x[:, None].clip(lo) ** 2)


def clipped_by_a_constant_bound(w, x):
    return np.sum(np.clip(x[:, None], -0.5, HI) * w)


@pytest.mark.parametrize("f,p", [(clipped_by_a_wider_bound, HI), (clipped_below_by_the_method, HI),
                                 (clipped_by_a_constant_bound, np.array([1.0, 2.0, 3.0]))],
                         ids=["bound", "method", "constant"])
def test_clip_broadcast_by_its_bounds_compiles_to_numpy_s_values(f, p):
    compiled_matches(f, (p, X5))


def _falls_back(f, args, why):
    """The compiled gradient is the NumPy code's, with a fallback warning that says `why`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CompiledFallbackWarning)
        got = s2s.grad(f, compile=True)(*args)
    assert any(why in str(w.message) for w in caught if issubclass(w.category, CompiledFallbackWarning)), \
        [str(w.message) for w in caught]
    np.testing.assert_allclose(got, s2s.grad(f)(*args), rtol=1e-12)
    return got


def narrow_sum(x, k):
    return x * (k[0] + k[0])


def narrow_difference(x, k):
    return x * (k[0] - k[1])


def narrow_product(x, k):
    return x * (k[0] * k[1])


@pytest.mark.parametrize("f,k,expected", [(narrow_sum, np.array([100, 0], np.int8), -56.0),
                                          (narrow_difference, np.array([3, 5], np.uint8), 254.0),
                                          (narrow_product, np.array([300, 200], np.int16), -5536.0)],
                         ids=["int8", "uint8", "int16"])
def test_integers_narrower_than_int64_are_computed_as_numpy_does(f, k, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (NumPy's own overflow warning)
        assert _falls_back(f, (0.7, k), "narrower than int64") == expected


def narrow_indices(w, y):  # (an int32 array as an index alone, and with floats: compiled as it is)
    return np.sum(w[y] ** 2) + np.sum(w * y[0])


def test_narrow_integers_as_indices_and_with_floats_still_compile():
    w, y = np.arange(4.0) / 7.0, np.array([0, 3, 1], np.int32)
    compiled_matches(narrow_indices, (w, y))


def booleans_added(x, z):
    b = z[0] > 0
    return x * (b + b)  # (NumPy's booleans: `b or b`, True; Python's bools would give 2)


def test_booleans_added_are_not_compiled_as_ints():
    assert _falls_back(booleans_added, (0.7, np.array([0.5])), "arithmetic of two booleans") == 1.0


def ordered_by_ties(x, z):
    return np.sum(x[np.argsort(z)] * np.arange(x.size))


def ordered_by_a_stable_sort(x, z):
    return np.sum(x[np.argsort(z, kind="mergesort")] * np.arange(x.size))


def partitioned_positions(x, z):
    return np.sum(x[np.argpartition(z, 10)] * np.arange(x.size))


def partitioned_values(x):
    return np.sum(np.partition(x, 10) * np.arange(x.size))


def test_orders_numba_lays_out_otherwise_are_not_compiled():
    z, x = np.repeat([1.0, 0.0], 10), np.linspace(-1.0, 1.0, 20)
    expected = np.empty(20)
    expected[np.argsort(z)] = np.arange(20)
    np.testing.assert_array_equal(_falls_back(ordered_by_ties, (x, z), "argsort: numba orders equal entries"),
                                  expected)
    compiled_matches(ordered_by_a_stable_sort, (x, z))  # (a stable order is one order: numba's mergesort is NumPy's)
    rng = np.random.default_rng(9)
    x, z = rng.normal(size=40), rng.normal(size=40)
    _falls_back(partitioned_positions, (x, z), "argpartition")
    got = _falls_back(partitioned_values, (x,), "partition")
    np.testing.assert_allclose(got, fd_grad(partitioned_values, (x,)), rtol=1e-6, atol=1e-8)


def scaled_by_a_list_default(x, c=[2.0]):  # noqa: B006 - (the default read, never changed)
    return c[0] * np.sum(x ** 2)


def scaled_by_a_dict_default(x, c={"a": 2.0}):  # noqa: B006
    return c["a"] * np.sum(x ** 2)


@pytest.mark.parametrize("f", [scaled_by_a_list_default, scaled_by_a_dict_default], ids=["list", "dict"])
def test_a_container_default_does_not_crash_the_compiled_call(f):  # (adv230: AttributeError, 'list' has no dtype)
    x = np.array([0.3, -0.7, 1.2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompiledFallbackWarning)
        np.testing.assert_allclose(s2s.grad(f, compile=True)(x), 4.0 * x, rtol=1e-12)
