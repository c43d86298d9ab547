"""NumPy functions given a list display of numbers (`np.cumsum([x[0], x[1] * 2.0])`): NumPy reads the list as an array,
and so do the adjoint and tangent helpers (`s2s.numpy_shape`). Before stop 68, np.cumsum's, np.diff's and np.tile's
adjoints and np.sort's and np.cumprod's tangents read the list's shape as a number's, (), and raised; a ufunc's
tangent took the list of the items' tangents as it is (`s2s.array_tangent` makes it an array). A ufunc given a list
(`np.power([a, b], 3.0)`, `np.arctan2([a, b], 2.0)`) raised in every mode before stop 69: its rules' adjoints computed
with the list itself (`[a, b] ** 2.0`); the code now gives the ufunc the array NumPy makes of it (`np.array([a, b])`)
for a display, a comprehension, either of two, a name bound only to those and a call of a module-level function
of yours every `return` of which returns one; since stop 70 NumPy's other elementwise functions too (`np.sinc([a, b])`
raised in every mode), and lists made as `[a] + [b]`, `[a] * 2`, `list(...)`, by a local function of one `return` or
given by keyword (`np.sinc(x=[a, b])`). Each function, grad (general,
specialised, compiled), jacfwd, the Hessian and its products, against central differences."""

import warnings

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s
from s2s.compiled import CompiledFallbackWarning


def cumsum_of_numbers(x):
    return np.sum(np.cumsum([x[0], x[1] * 2.0]) ** 2)


def cumprod_of_numbers(x):
    return np.sum(np.cumprod([x[0], x[1] * 2.0, 1.5]))


def diff_of_numbers(x):
    return np.sum(np.diff([x[0], x[1] ** 2, 3.0]) ** 2)


def sorted_numbers(x):
    return np.sum(np.sort([x[1], x[0] * 3.0]) * np.array([1.0, 2.0]))


def tiled_numbers(x):
    return np.sum(np.tile([x[0], x[1]], 2) ** 2 * np.arange(1.0, 5.0))


def rolled_numbers(x):
    return np.sum(np.roll([x[0], x[1], 1.0], 1) * np.array([1.0, 2.0, 3.0]))


def repeated_numbers(x):
    return np.sum(np.repeat([x[0], x[1]], 2) ** 2)


def spread_of_numbers(x):
    return np.std([x[0], x[1] ** 2, 0.5])


def rooted_numbers(x):
    return np.sum(np.sqrt([x[0], x[1]]))


def power_of_numbers(x):
    a, b = x[0], x[1]
    return np.sum(np.power([a, b], 3.0))


def angles_of_numbers(x):
    return np.sum(np.arctan2([x[0], x[1]], 2.0))


def product_of_numbers(x):
    a = x[0]
    return np.sum(np.multiply([a, x[1]], a))


def logs_of_numbers(x):
    return np.sum(np.log([x[0], 2 * x[0] + x[1]]))


def exp_of_nested_numbers(x):
    m = [[x[0], x[1]], [x[1], 2.0]]
    return np.sum(np.exp(m)) + m[0][1] * 3.0


def maximum_of_a_tuple(x):
    return np.sum(np.maximum((x[0], x[1] * 2), 0.5))


def named_numbers(x):
    v = [x[0], x[1] * 2.0]
    return np.sum(np.power(v, 2.5)) + v[0]


def either_numbers(x):
    v = [x[0], x[1]] if x[0] > 0 else (x[1], x[0])
    return np.sum(np.arctan2(v, 1.5))


def comprehended_numbers(x):
    return np.sum(np.power([x[i] ** 2 for i in range(2)], 1.5))


def stacked_arrays(x):
    return np.sum(np.power([x, 2.0 * x], 2.0))


def appended_numbers(x):
    v = [x[0]]
    v.append(x[1] * 3.0)
    return np.sum(np.power(v, 2.0))


def larger_of_numbers(x):
    return np.sum(np.fmax([x[0], x[1]], [x[1], 0.5]) ** 2)


def pair_of(a):
    return [a[0], a[1] + 1.0]


def pair_or_swapped(a, swap):
    if swap:
        return (a[1], a[0])
    return [a[0] * 2.0, a[1]]


def numbers_of_a_helper(x):
    return np.sum(np.power(pair_of(x), 3.0)) + np.sum(np.arctan2(pair_or_swapped(x, x[0] > 1.0), 2.0))


def sinc_of_numbers(x):
    return np.sum(np.sinc([x[0], x[1] * x[0]]))


def clipped_numbers(x):
    return np.sum(np.clip([x[0] * 2.0, x[1]], 0.1, 3.0) ** 2) + np.sum(np.clip(x, [x[1], 0.0], 5.0))


def chosen_numbers(x):
    v = [x[0], x[1] * 3.0]
    return np.sum(np.where(x > 0.5, v, [x[1] ** 2, 1.0]) ** 2)


def rounded_and_real_numbers(x):
    return np.sum(np.round([x[0], x[1]]) * x) + np.sum(np.real([x[0], x[1] ** 2]) ** 2) \
        + np.sum(np.nan_to_num([x[0] * x[1], 2.0]))


def chained_names_of_numbers(x):
    v = u = [x[0], x[1] * 2.0]
    return np.sum(np.sinc(v)) + np.sum(np.exp(u)) + u[0]


def numbers_of_a_local_helper(x):
    def pair(a):
        if a[0] > 0:
            return [a[0], a[1] * 2.0]
        return (a[1], a[0])
    return np.sum(np.sin(pair(x)))


C3 = np.array([0.2, 0.5])


def chained_names_of_arrays(x):
    v = u = [x, C3]  # (forward mode's tangent [x_dot, 0.0] of the second name: review 237)
    w = v
    return np.sum(np.sinc(u)) + np.sum(np.exp(w))


def numbers_of_a_local_function_of_one_return(x):
    def pair(a):
        return [a[0], a[1] * 2.0]
    return np.sum(np.sinc(pair(x))) + np.sum(np.power(pair(x), 3.0))


def numbers_given_by_keyword(x):
    return np.sum(np.sinc(x=[x[0], x[1]])) + np.sum(np.clip(x, a_min=[x[1], 0.0], a_max=5.0) ** 2)


def joined_and_repeated_numbers(x):
    return np.sum(np.sinc([x[0]] + [x[1] * 2.0])) + np.sum(np.exp([x[1]] * 2)) + np.sum(np.sinc(list(x))) \
        + np.sum(np.tanh(tuple(v * 2.0 for v in x)))


def arrays_joined_with_a_constant_list(x):
    feats = [np.ones(2)] + [x * 2.0]  # (forward mode's tangent [0.0, x_dot * 2.0] read as an array: review 239)
    return np.sum(np.sin(np.array(feats))) + np.sum(np.cos(np.array([x[0]] * 2 + [x[1]])))


FUNCTIONS = [cumsum_of_numbers, cumprod_of_numbers, diff_of_numbers, sorted_numbers, tiled_numbers, rolled_numbers,
             repeated_numbers, spread_of_numbers, rooted_numbers, power_of_numbers, angles_of_numbers,
             product_of_numbers, logs_of_numbers, exp_of_nested_numbers, maximum_of_a_tuple, named_numbers,
             either_numbers, comprehended_numbers, stacked_arrays, appended_numbers, larger_of_numbers,
             numbers_of_a_helper, sinc_of_numbers, clipped_numbers, chosen_numbers, rounded_and_real_numbers,
             chained_names_of_numbers, numbers_of_a_local_helper, chained_names_of_arrays,
             numbers_of_a_local_function_of_one_return, numbers_given_by_keyword, joined_and_repeated_numbers,
             arrays_joined_with_a_constant_list]


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("options", [{"optimize": False}, {}, {"compile": True}], ids=["general", "specialised",
                                                                                      "compiled"])
def test_the_gradient_reads_the_list_as_numpy_does(f, options):
    x = np.array([0.7, 1.3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompiledFallbackWarning)
        got = s2s.grad(f, **options)(x)
    np.testing.assert_allclose(got, fd_grad(f, (x,)), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
def test_forward_mode_reads_the_list_as_numpy_does(f):
    x = np.array([0.7, 1.3])
    np.testing.assert_allclose(s2s.jacfwd(f)(x), fd_grad(f, (x,)), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
def test_the_hessian_reads_the_list_as_numpy_does(f):
    x, h = np.array([0.7, 1.3]), 1e-5
    want = np.array([(s2s.grad(f)(x + h * e) - s2s.grad(f)(x - h * e)) / (2 * h) for e in np.eye(2)])
    np.testing.assert_allclose(s2s.hessian(f)(x), want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
def test_hessian_vector_products_read_the_list_as_numpy_does(f):
    x, v, h = np.array([0.7, 1.3]), np.array([0.3, -0.4]), 1e-5
    want = (s2s.grad(f)(x + h * v) - s2s.grad(f)(x - h * v)) / (2 * h)
    np.testing.assert_allclose(s2s.hvp(f)(x, v), want, rtol=1e-4, atol=1e-6)


def test_a_ufunc_is_given_the_array_numpy_makes_of_the_list():
    src = s2s.source(s2s.grad(power_of_numbers), np.array([0.7, 1.3]))
    assert "np.array(t)" in src and "t = [a, b]" in src, src
    assert power_of_numbers(np.array([0.7, 1.3])) == s2s.value_and_grad(power_of_numbers)(np.array([0.7, 1.3]))[0]
