"""Adversarial programs against compile=True's user lists (numba_lowering._user_lists: a list bound to [],
appended in loops and read whole by np.stack / np.array) and the zero-started adjoints that know a stacked
list's shape (compiled_tapes.array_kinds): each compiled gradient equals the NumPy code's and central
differences, and where the NumPy code raises, the compiled code raises the same error."""

import warnings

import numpy as np
import pytest

import s2s
from tests.helpers_fd import compiled_matches, fd_grad

pytest.importorskip("numba")
from s2s import compiled  # noqa: E402


def _stacked_no_numbers(x):
    outs = []
    for i in range(x.shape[0] - 3):
        outs.append(x[i] * 2.0)
    return np.sum(np.stack(outs)) + np.sum(x ** 2)


def _array_of_no_numbers(x):
    outs = []
    for i in range(x.shape[0] - 3):
        outs.append(x[i] * 2.0)
    return np.sum(np.array(outs)) + np.sum(x ** 2)


def test_np_stack_of_an_empty_list_of_numbers_raises_as_numpy_does():
    # the compiled stack_list made an empty float64 array of a list of no numbers, for np.stack as for np.array:
    # compile="always" gave [0.378, -1.045, -0.826] (2 x) where np.stack raises "need at least one array"
    x = np.array([0.189, -0.523, -0.413])
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        stacked = s2s.grad(_stacked_no_numbers, compile="always")
        made = s2s.grad(_array_of_no_numbers, compile="always")
        for _ in range(2):
            with pytest.raises(ValueError, match="at least one array"):
                stacked(x)
            np.testing.assert_allclose(made(x), 2 * x, rtol=1e-12)  # np.array of no numbers: empty, float64
        longer = np.array([0.189, -0.523, -0.413, 0.7, 1.1])
        np.testing.assert_allclose(stacked(longer), fd_grad(_stacked_no_numbers, (longer,)), rtol=1e-6)


# Programs the list lowering and the stacked shapes take (each compiled, no fallback): their gradients are the
# NumPy code's and central differences'.

def _appended_after_continue(x):
    hs = []
    for i in range(5):
        if i % 2 == 0:
            continue  # (appends whose count the shapes cannot know: no claim, the list still compiles)
        hs.append(np.cos(x * i))
    return np.sum(np.stack(hs) * np.arange(1.0, 3.0)[:, None])


def _nested_constant_appends(x, W):
    hs = []
    h = x
    for _outer in range(2):
        for _inner in range(2):
            h = np.tanh(W @ h) * 0.9
            hs.append(h)
        hs.append(h * 0.5)  # (2 x 2 + 2 = 6 rows, of two append sites)
    return np.sum(np.stack(hs) ** 2)


def _maximum_of_two_states(W, X):
    h = np.zeros(W.shape[0])
    outs = []
    for j in range(X.shape[1]):
        h = np.maximum(W @ h, X[:, j] * 0.5) * 0.9
        outs.append(h)
    return np.sum(np.stack(outs) ** 2)


def _sums_and_items(W, X):
    h = np.zeros(W.shape[0])
    scores = []
    for j in range(X.shape[1]):
        h = np.maximum(W @ h + X[:, j], X[:, j] * 0.2)
        scores.append(h.sum() * 0.5 + h[1] * 2.0)
    return np.sum(np.array(scores) ** 2) + np.sum(h ** 2)


def _middle_axis_read(W, X):
    h = np.zeros(W.shape[0])
    outs = []
    for j in range(X.shape[1]):
        h = np.tanh(W @ h + X[:, j, 0])
        outs.append(h)
    return np.sum(np.stack(outs) ** 2)


def _scaled_columns(X, w):
    hs = []
    for j in range(X.shape[1]):
        hs.append(X[:, j] * w)  # (columns: views of another layout)
    return np.sum(np.tanh(np.stack(hs)) ** 2)


@pytest.mark.parametrize("f, shapes, wrt", [
    (_appended_after_continue, [(3,)], 0),
    (_nested_constant_appends, [(3,), (3, 3)], 1),
    (_maximum_of_two_states, [(3, 3), (3, 4)], 0),
    (_sums_and_items, [(3, 3), (3, 4)], 0),
    (_middle_axis_read, [(3, 3), (3, 2, 4)], 1),
])
def test_lists_compiled_match_numpy_and_differences(f, shapes, wrt):
    r = np.random.default_rng(9)
    args = tuple(r.normal(size=s) * 0.5 for s in shapes)
    compiled_matches(f, args, wrt=wrt)


def test_stacked_columns_compile_for_each_shape():
    g = s2s.grad(_scaled_columns, compile="strict")
    r = np.random.default_rng(5)
    for shape in [(3, 4), (2, 5), (3, 4)]:
        X = r.normal(size=shape)
        np.testing.assert_allclose(g(X, 0.7), s2s.grad(_scaled_columns)(X, 0.7), rtol=1e-12)
        np.testing.assert_allclose(g(X, 0.7), fd_grad(_scaled_columns, (X, 0.7)), rtol=1e-6, atol=1e-8)
