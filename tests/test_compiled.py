"""Compiled derivatives (s2s.grad(f, compile=...), s2s/compiled.py): the numba code gives the NumPy code's
gradient (and finite differences', and autograd's where it runs), keeps dtypes, stays fresh, and refuses
or falls back, with the user's line, where numba cannot go.

numba compiles each function in seconds: the programs here are few and each is compiled once.
"""

from __future__ import annotations

import ast
import os
import sys
import warnings

import numpy as np
import pytest

import s2s
from tests.helpers_fd import fd_grad

numba = pytest.importorskip("numba")

from s2s.transforms import numba_lowering  # noqa: E402

from s2s import compiled  # noqa: E402
from s2s.errors import NotCompilableError  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import problems  # noqa: E402


def _check(f, args, wrt=0, rtol=1e-7, fd_rtol=1e-5):
    """compile="strict" (no fallback) equals the NumPy gradient and central differences."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        got = s2s.grad(f, wrt=wrt, compile="strict")(*args)
    ref = s2s.grad(f, wrt=wrt)(*args)
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(got, fd_grad(f, args, wrt), rtol=fd_rtol, atol=1e-6)
    return got


# ------------------------------------------------------------------------- the benchmark problems

@pytest.mark.parametrize("name", ["taylor", "euler", "rnn 30", "rnn, local", "path length"])
def test_benchmark_problems(name):
    p = next(p for p in problems.problems(0.01) if p.name.startswith(name))
    got = _check(p.f, p.args, p.wrt)
    np.testing.assert_allclose(got, p.hand(*p.args), rtol=1e-7, atol=1e-12)


def test_weight_adjoint_of_an_outer_product_is_accumulated_in_place():
    p = next(p for p in problems.problems(0.01) if p.name.startswith("rnn 30"))
    text = compiled.source(p.f, *p.args)
    assert "Wh_bar = _s2s_accumulate_matmul(Wh_bar, h.T, t5_bar)" in text  # no (32, 32) temporary per step
    p = next(p for p in problems.problems(0.01) if p.name.startswith("rnn, local"))
    assert "Wh_bar = _s2s_accumulate_outer(Wh_bar, t6_bar, h)" in compiled.source(p.f, *p.args)  # np.outer


def test_taylor_tape_is_a_preallocated_array():
    text = compiled.source(problems.taylor_sin, 0.7)
    # 24 trips of range(1, 25), known at compile time: the tape is in the compiled function's frame
    assert "_s2s_tape_stack(24, _s2s_numpy.float64)" in text
    assert ".append(" not in text and "stack = []" not in text and ".empty(" not in text
    # the adjoint's division by the int (2k)(2k + 1) leaves the chain of term_bar's dependent operations
    # (since stop 33 the once-read numbers are written into their readers: `term_bar + 1.0`, `t * x * x`)
    assert "t3_bar = (term_bar + 1.0) * (1.0 / t7)" in text and "term = t * x * x * (1.0 / t7)" in text


def _reciprocals(text, floats, ints):
    fdef = ast.parse(text).body[0]
    numba_lowering.reciprocal_divisions(fdef, frozenset(floats), frozenset(ints), "s2s")
    return ast.unparse(fdef)


def test_a_division_by_an_int_becomes_a_product_only_where_its_value_flows_into_the_gradient():
    flows = "def d(x, g):\n    a = g / k\n    b = a * x + 1.0\n    b += a\n    return s2s.finish(b, x)"
    assert "a = g * (1.0 / k)" in _reciprocals(flows, {"a", "b"}, {"k"})
    assert "a = g / k" in _reciprocals(flows, {"a", "b"}, set())  # k not known to be an int
    assert "a = g / y" in _reciprocals(flows.replace("g / k", "g / y"), {"a", "b"}, {"k"})
    assert "a = g * (1.0 / (2 * k + 1))" in _reciprocals(flows.replace("g / k", "g / (2 * k + 1)"), {"a", "b"}, {"k"})
    for reader in ("    if b > 0.0:\n        x = x + 1.0\n",  # decides a branch: the rounding could change it
                   "    y[k] = b\n",  # written into an array
                   "    stack.append(b)\n",  # taped
                   "    c, e = b, 1.0\n",
                   "    z = x[int(b)]\n"):
        text = flows.replace("    return", reader + "    return")
        assert "a = g / k" in _reciprocals(text, {"a", "b"}, {"k"}), reader
    returned = "def d(x, g):\n    a = g / k\n    return a, s2s.finish(a, x)"  # the value, as f computes it
    assert "a = g / k" in _reciprocals(returned, {"a"}, {"k"})
    taped = ("def d(x, g):\n    a = g / k\n    _s2s_tape_set(tape, n, a)\n    b = tape[n] * x\n"
             "    return s2s.finish(b, x)")  # a tape of numbers: what is read back flows on
    assert "a = g * (1.0 / k)" in _reciprocals(taped, {"a", "b"}, {"k"})
    for reader in ("    if tape[n] > 0.0:\n        x = x + 1.0\n", "    z = tape\n", "    y[0] = tape[n]\n"):
        text = taped.replace("    return", reader + "    return")
        assert "a = g / k" in _reciprocals(text, {"a", "b"}, {"k"}), reader


def tapes_in_the_frame(x, y):
    """Scalar tapes of constant lengths: nested loops (3 * 4 pushes of a), the outer loop (3 of b), ints."""
    a = x
    b = y
    for i in range(3):
        b = b * a + 0.3
        for k in range(1, 5):
            a = a * b / (i * k + 1) + 0.1
    return a * b


def long_loop(x):
    """3000 pushes of a float: 24 kB, more than the frame's room for tapes (numba_lowering.STACK_BYTES)."""
    a = x
    for _ in range(3000):
        a = a * 0.999 + a * a * 0.0001
    return a


def test_tapes_of_constant_length_live_in_the_frame():
    text = compiled.source(tapes_in_the_frame, 0.7, 0.3)
    assert "_s2s_tape_stack(12, _s2s_numpy.float64)" in text  # a: pushed 3 * 4 times
    assert "_s2s_tape_stack(3, _s2s_numpy.float64)" in text  # b
    assert ".empty(" not in text and ".append(" not in text
    for wrt in (0, 1):
        _check(tapes_in_the_frame, (0.7, 0.3), wrt=wrt, rtol=1e-12)
        _check(tapes_in_the_frame, (-1.1, 0.4), wrt=wrt, rtol=1e-12)


def test_a_tape_too_long_for_the_frame_is_allocated():
    assert numba_lowering.STACK_BYTES < 3000 * 8
    text = compiled.source(long_loop, 0.5)
    assert "_s2s_numpy.empty(3000, _s2s_numpy.float64)" in text and "_s2s_tape_stack" not in text
    _check(long_loop, (0.5,), rtol=1e-12)


# ------------------------------------------------------------------------- control flow, dtypes, 0-d

def while_and_branches(a, x):
    """A while loop whose trip count depends on the values, a branch inside, a scalar argument."""
    y = x
    s = 0.0
    while np.sum(y * y) < 50.0:
        if np.sum(y) > 0:
            y = y * a + 0.1
        else:
            y = y * a - 0.1
        s = s + np.sum(np.sin(y))
    return s + np.sum(y * y)


def test_while_loop_with_branches():
    x = np.array([0.3, -0.2, 0.5])
    _check(while_and_branches, (1.7, x), wrt=0)
    _check(while_and_branches, (1.7, x), wrt=1)


def test_same_code_other_arguments_and_branch_taken():
    df = s2s.grad(while_and_branches, compile="strict")
    for x in (np.array([-0.3, -0.2, -0.5]), np.array([2.0, 1.0, 1.5])):  # the other arm; fewer trips
        np.testing.assert_allclose(df(1.3, x), s2s.grad(while_and_branches)(1.3, x), rtol=1e-9)


def nested_loops(W, v):
    h = v
    for _ in range(3):
        for i in range(W.shape[0]):
            h = np.tanh(W[i] * h) + h
    return np.sum(h * h)


def test_nested_loops_float32_keeps_dtype():
    rng = np.random.default_rng(1)
    W = (rng.normal(size=(4, 4)) * 0.3).astype(np.float32)
    v = (rng.normal(size=4) * 0.3).astype(np.float32)
    got = s2s.grad(nested_loops, compile="strict")(W, v)
    assert got.dtype == np.float32
    ref = s2s.grad(nested_loops)(W.astype(float), v.astype(float))
    np.testing.assert_allclose(got, ref, rtol=2e-3, atol=1e-4)


def damped(v):
    for _ in range(3):
        v = v * 0.5 + np.sin(v)
    return np.sum(v)


def test_float32_state_times_a_python_float_stays_float32():
    # numba makes float32 * 0.5 a float64 array (NumPy keeps float32): the loop's state had two types, and the code
    # fell back; the number is now made float32 first, as NumPy makes it (numba_lowering.weak_numbers)
    v = np.linspace(-1, 1, 5).astype(np.float32)
    got = s2s.grad(damped, compile="strict")(v)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, s2s.grad(damped)(v), rtol=1e-6)  # (numba's float32 sin: an ulp apart)


def test_zero_dimensional_argument():
    x = np.array(0.8)
    got = s2s.grad(problems.taylor_sin, compile="strict")(x)
    assert np.shape(got) == ()
    np.testing.assert_allclose(got, np.cos(0.8), rtol=1e-12)


# ------------------------------------------------------------------------- freshness

SCALE = 2.0


def reads_global(x):
    total = 0.0
    for k in range(5):
        total = total + SCALE * np.sin(x * k)
    return total


def test_global_data_is_read_live_and_code_stays_fresh():
    global SCALE
    df = s2s.grad(reads_global, compile="strict")
    first = df(0.4)
    SCALE = 3.0
    try:
        np.testing.assert_allclose(df(0.4), first * 1.5, rtol=1e-12)  # numba would have frozen 2.0 in
    finally:
        SCALE = 2.0
    code = reads_global.__code__
    try:  # the user's function changes: s2s's freshness check makes (and compiles) the new derivative
        reads_global.__code__ = (lambda x: x * x).__code__
        np.testing.assert_allclose(df(0.4), 0.8, rtol=1e-12)
    finally:
        reads_global.__code__ = code
    np.testing.assert_allclose(df(0.4), first, rtol=1e-12)


# ------------------------------------------------------------------------- what numba cannot do

def takes_dict(p):
    return p["a"] * 2.0


def uses_object(x, obj):
    return x * obj.scale


def grows_a_list(x):
    parts = []
    for i in range(3):
        parts.append(x[:i + 1] * 2.0)
    total = 0.0
    for v in parts:
        total = total + np.sum(v)
    return total


class _Obj:
    scale = 3.0


def reads_the_whole_dict(p):
    return p["a"] * 2.0 * len(list(p.keys()))


def test_dict_argument_read_as_a_whole_is_refused_strict_and_falls_back_with_a_warning():
    """A dict read only by constant keys is passed by its items (tests/test_compiled_containers.py); one read
    whole (`p.keys()`) is refused, naming it, or runs the NumPy code with a warning. (`len(p)` is a constant of
    the code: its variants are keyed by the dict's keys.)"""
    with pytest.raises(NotCompilableError, match="dict argument read as a whole"):
        s2s.grad(reads_the_whole_dict, compile="strict")({"a": 1.0})
    with pytest.warns(compiled.CompiledFallbackWarning, match="reads_the_whole_dict"):
        got = s2s.grad(reads_the_whole_dict, compile=True)({"a": 1.0})
    assert got == s2s.grad(reads_the_whole_dict)({"a": 1.0}) == {"a": 2.0}
    assert s2s.grad(takes_dict, compile="strict")({"a": 1.0}) == {"a": 2.0}


def test_object_attribute_is_refused():
    with pytest.raises(NotCompilableError):
        s2s.grad(uses_object, compile="strict")(1.5, _Obj())
    with pytest.warns(compiled.CompiledFallbackWarning):
        assert s2s.grad(uses_object, compile=True)(1.5, _Obj()) == 3.0


def test_list_of_arrays_of_varying_shape_names_the_line():
    x = np.arange(4.0)
    with pytest.raises(NotCompilableError) as info:
        s2s.grad(grows_a_list, compile="strict")(x)
    assert info.value.lineno is not None and "test_compiled.py" in str(info.value.filename)
    with pytest.warns(compiled.CompiledFallbackWarning):
        got = s2s.grad(grows_a_list, compile=True)(x)
    np.testing.assert_allclose(got, s2s.grad(grows_a_list)(x))


def test_bad_mode():
    with pytest.raises(ValueError, match="compile must be"):
        compiled.grad(problems.taylor_sin, mode="fast")


# ------------------------------------------------------------------------- the tape split (no numba)

def _lower(text):
    return numba_lowering.lower(ast.parse(text).body[0])


def test_tape_split_per_variable_and_reversed_range():
    low = _lower("def d(x, *, o_bar=1.0):\n    stack = []\n    for i in range(3):\n        stack.append(x)\n"
                 "        stack.append(i)\n        x = x * 2\n    for i in reversed(range(3)):\n"
                 "        i = stack.pop()\n        x = stack.pop()\n    return x\n")
    text = ast.unparse(low.fdef)
    assert "stack_x.append(x)" in text and "x = stack_x.pop()" in text and "reversed" not in text
    assert low.params == ["x", "o_bar"] and low.defaults == {"o_bar": 1.0}


@pytest.mark.parametrize("backward", [
    "        x = stack.pop()\n        i = stack.pop()\n",  # popped in the order pushed: not mirrored
    "        x = stack.pop()\n",  # one pop short
])
def test_tape_that_does_not_mirror_is_refused(backward):
    text = ("def d(x):\n    stack = []\n    for i in range(3):\n        stack.append(x)\n        stack.append(i)\n"
            "    for i in range(3):\n" + backward + "    return x\n")
    with pytest.raises(numba_lowering.NotLowerable):
        _lower(text)


def test_tape_read_otherwise_is_refused():
    with pytest.raises(numba_lowering.NotLowerable):
        _lower("def d(x):\n    stack = []\n    stack.append(x)\n    n = len(stack)\n    x = stack.pop()\n    return n\n")


def with_break(x, n):
    s = 0.0
    for i in range(n):
        if s > 3.0:
            break
        if i % 2 == 0:
            continue
        s = s + np.sin(x * i) ** 2 + x
    return s


def test_loop_with_break_and_continue():
    _check(with_break, (0.3, 10))
    np.testing.assert_allclose(s2s.grad(with_break, compile="strict")(0.3, 0), 0.0)  # no trip


def powers_of_three(x):
    s = 0.0
    p = 1
    for _ in range(40):
        p = p * 3  # 3 ** 40 > 2 ** 63: numba's int64 would wrap around
        s = s + x * x / p
    return s


def test_integer_products_that_may_overflow_run_the_numpy_code():
    """The product is checked (`_s2s_int_op`): past 2**62 the call runs the NumPy code, with Python's ints (it was
    refused before stop 45)."""
    assert "p = _s2s_int_op(p, 3, 'mul')" in compiled.source(powers_of_three, 0.5)
    df = s2s.grad(powers_of_three, compile="strict")
    for _ in range(2):
        assert df(0.5) == s2s.grad(powers_of_three)(0.5)


def test_bounded_integer_products_compile():
    assert "t7 = " in compiled.source(problems.taylor_sin, 0.7)  # (2k)(2k + 1) for k < 25: bounded, compiled
    bounds = compiled._int_bounds(ast.parse("def f(n):\n    p = 1\n    for k in range(3, 9):\n        q = 2 * k\n"
                                            "        p = p * q\n").body[0], set())
    assert bounds["k"] == (3, 8) and bounds["q"] == (6, 16) and "p" not in bounds


def test_cli_show_compile(capsys):
    from s2s import cli
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "problems.py")
    assert cli.main(["show", "--compile", f"{path}:euler"]) == 0
    out = capsys.readouterr().out
    assert "@numba.njit" in out and "_s2s_tape_stack(100, _s2s_numpy.float64)" in out
    assert cli.main(["show", "--compile", "--shape", "P=5x3", f"{path}:path_length"]) == 0
    assert "def dpath_length_dP(P, e_bar=1.0):" in capsys.readouterr().out


def _ratio_to_first(x):
    s = x[0]
    return np.sum(x) / s


def _pole(a):
    return 1.0 / (a - 1.0)


def test_division_by_zero_gives_numpy_s_numbers_or_python_s_error():
    # numba's `/` raises ZeroDivisionError for NumPy floats as well, where NumPy gives inf or NaN: that call
    # runs the NumPy code, the general call and the hot one alike, and the compiled code stays for the next
    x = np.array([0.0, 1.0, 2.0])
    want = s2s.grad(_ratio_to_first)(x)
    g = s2s.grad(_ratio_to_first, compile="strict")
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(3):
            np.testing.assert_array_equal(g(x), want)
        y = np.array([2.0, 1.0, 2.0])
        np.testing.assert_allclose(g(y), s2s.grad(_ratio_to_first)(y), rtol=1e-12)
    for grad in (s2s.grad(_pole), s2s.grad(_pole, compile="strict")):
        for _ in range(2):
            with pytest.raises(ZeroDivisionError):
                grad(1.0)
        assert np.isclose(grad(3.0), -0.25)
