"""Adversarial programs against compile=True's user lists (numba_lowering._user_lists: a list bound to [],
appended in loops and read whole by np.stack / np.array) and the zero-started adjoints that know a stacked
list's shape (compiled_tapes.array_kinds): each compiled gradient equals the NumPy code's and central
differences, and where the NumPy code raises, the compiled code raises the same error."""

import warnings

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad

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
