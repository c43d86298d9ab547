"""compile=True with parameters left to their defaults, and with several gradients (helper 102's review).

- A call that left a parameter to its default ran the NumPy fallback made for the default passed explicitly,
  which is not specialised to its value (a loop over `range(heads)` not written out): 2.4x slower than plain
  s2s.grad. The fallback is now s2s.grad's own code for the call as given, and a call passing another value
  gets a variant of its own.
- A tuple `wrt` had no hot code: every call went through the general call, and with a default left out
  through `inspect.signature(...).bind` (12-17 us a call). It now has one, which makes float32 numbers float32
  and copies a gradient array shared between two arguments, as the general call does.
"""

import warnings

import numpy as np
import pytest

import s2s
from tests.helpers_fd import assert_close, fd_grad

pytest.importorskip("numba")
from s2s import compiled  # noqa: E402


def weighted_rows(x, n=2):
    s = 0.0
    for k in range(n):
        s = s + np.sum(x[k] ** 2) * (k + 1)
    return s


def grows_a_list(x, n=3):  # falls back: a list of arrays of varying shape
    parts = []
    for i in range(n):
        parts.append(x[:i + 1] * 2.0)
    total = 0.0
    for v in parts:
        total = total + np.sum(v)
    return total


def two_arguments(x, y, c=2.0):
    return c * np.sum(x * y) + np.sum(y ** 2)


def one_sum(x, y):
    return np.sum(x + y)


@pytest.mark.parametrize("mode", [True, "always"])
def test_a_default_left_out_then_passed(mode):
    x = np.arange(1.0, 5.0)
    df = s2s.grad(weighted_rows, compile=mode)
    for args in [(x,), (x, 3), (x,), (x, 3), (x, 2), (x, 1)]:  # (the second call of a kind runs the hot code)
        assert_close(df(*args), fd_grad(weighted_rows, args))


def test_the_fallback_runs_the_code_of_the_call_as_given():
    x = np.arange(1.0, 6.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", compiled.CompiledFallbackWarning)
        df = s2s.grad(grows_a_list, compile=True)
        for args in [(x,), (x,), (x, 4), (x, 4), (x,), (x, 2)]:
            assert_close(df(*args), fd_grad(grows_a_list, args))
        printed = s2s.source(df, x)
    assert printed.startswith("# s2s.grad(f, compile=True) runs this NumPy code for these arguments")
    assert printed.split("\n", 1)[1] == s2s.source(s2s.grad(grows_a_list), x)


@pytest.mark.parametrize("args", [
    (np.arange(3.0), np.ones(3)),
    (np.arange(3.0), np.ones(3), 5.0),
    (np.float32(1.5), np.float32(2.0)),
    (1.5, 2.0),
])
def test_several_gradients_through_the_hot_code(args):
    df = s2s.grad(two_arguments, wrt=(0, 1), compile="always")
    want = s2s.grad(two_arguments, wrt=(0, 1))(*args)
    for _ in range(3):
        got = df(*args)
        assert type(got) is tuple and len(got) == 2
        for g, w in zip(got, want):
            assert_close(g, w)
            assert np.asarray(g).dtype == np.asarray(w).dtype


def test_one_argument_as_a_tuple():
    x = np.arange(3.0)
    df = s2s.grad(two_arguments, wrt=(0,), compile="always")
    for _ in range(3):
        got = df(x, np.ones(3))
        assert type(got) is tuple and len(got) == 1
        assert_close(got[0], 2.0 * np.ones(3))


def test_gradients_of_two_arguments_are_two_arrays():
    df = s2s.grad(one_sum, wrt=(0, 1), compile="always")
    for _ in range(3):
        gx, gy = df(np.ones(3), np.ones(3))
        assert gx is not gy
        gx += 1.0
        assert_close(gy, np.ones(3))


def moving_windows(x, y, k=5):
    """A window moving with the counter, its length a left-out default (performance review 9)."""
    loss = 0.0
    for i in range(x.shape[0] - k + 1):
        w = x[i:i + k]
        m = np.mean(w)
        loss = loss + (m - y[i]) ** 2 + 0.01 * np.sum((w - m) ** 2)
    return loss


def test_the_compiled_code_is_specialised_to_a_left_out_default():
    """A call leaving `k` out gets compiled code made for k = 5, as the NumPy code is: `x[i:i + k]` has a known
    length, so no runtime helper stays that numba cannot take ("strict" raises where one does)."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=20), rng.normal(size=20)
    strict = s2s.grad(moving_windows, wrt=(0, 1), compile="strict")
    mixed = s2s.grad(moving_windows, wrt=(0, 1), compile="always")  # k given: NumPy code (k is not a known int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", compiled.CompiledFallbackWarning)
        for df, args in [(strict, (x, y)), (strict, (x, y)), (mixed, (x, y, 3)), (mixed, (x, y)), (mixed, (x, y, 3)),
                         (mixed, (x, y))]:
            for got, want in zip(df(*args), [fd_grad(moving_windows, args, wrt=w) for w in (0, 1)]):
                assert_close(got, want)
    assert "reduced_size" not in compiled.source(moving_windows, x, y, wrt=(0, 1))


def test_a_changed_default_is_not_served_from_the_code_made_for_the_old_one():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=12), rng.normal(size=12)

    def local(x, y, k=4):
        loss = 0.0
        for i in range(x.shape[0] - k + 1):
            loss = loss + np.sum(x[i:i + k] * y[i]) ** 2
        return loss

    df = s2s.grad(local, compile="strict")
    for _ in range(2):
        assert_close(df(x, y), fd_grad(local, (x, y)))
    local.__defaults__ = (6,)
    for _ in range(2):
        assert_close(df(x, y), fd_grad(local, (x, y)))


def strided_windows(w, b, x, y, k=8, stride=4):
    loss = 0.0
    j = 0
    for i in range(0, x.shape[0] - k + 1, stride):
        s = x[i:i + k] @ w + b
        loss = loss + np.logaddexp(0.0, s) - y[j] * s
        j += 1
    return loss


def test_defaults_left_out_that_make_the_output_a_known_number_compile():
    """(with k and stride left out, the NumPy code knows the loss is a number and returns the gradient alone;
    the code it was compared with was made for k and stride passed, which returns the value beside it: a
    fallback "returns the value ... where the NumPy code does not" (helper 137's review))"""
    rng = np.random.default_rng(5)
    w, x = rng.normal(size=8) * 0.3, rng.normal(size=60)
    y = (rng.random(14) < 0.5).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        got = s2s.grad(strided_windows, wrt=(0, 1, 2), compile="strict")(w, 0.1, x, y)
    for g, wi in zip(got, (0, 1, 2)):
        assert_close(g, fd_grad(strided_windows, (w, 0.1, x, y), wrt=wi))
