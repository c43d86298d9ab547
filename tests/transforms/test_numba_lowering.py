"""Unit tests of transforms/numba_lowering.py on small generated functions: input source -> expected output
source, no numba needed. Where the output runs in plain Python it is run against the input, with the
compiled helpers it calls stood in for by what their docstrings say they compute (s2s/runtime/compiled_helpers.py).
"""

import ast
import textwrap

import numpy as np
import pytest
from s2s.transforms import numba_lowering

from s2s import runtime


def _tape_set(tape, n, value):
    tape[n] = value


def _accumulate(total, g):
    return g if total is None else total + g


HELPERS = {"np": np, "s2s": runtime, "_s2s_numpy": np, "_s2s_tape_set": _tape_set, "_s2s_accumulate": _accumulate,
           "_s2s_tape_stack": lambda n, dtype: np.empty(n, dtype),  # in the compiled function's frame
           "_s2s_accumulate_matmul": lambda total, a, b: _accumulate(total, a @ b),
           "_s2s_accumulate_outer": lambda total, a, b: _accumulate(total, np.outer(a, b))}


def _fdef(src):
    return ast.parse(textwrap.dedent(src)).body[0]


def _lower(src, expected, **kw):
    low = numba_lowering.lower(_fdef(src), **kw)
    got = ast.unparse(low.fdef)
    assert got == textwrap.dedent(expected).strip(), got
    return low


def _run(text, *args):
    namespace = dict(HELPERS)
    exec(compile(textwrap.dedent(text), "<test>", "exec"), namespace)
    return namespace["d"](*args)


TAPED = """
    def d(x, n, *, o_bar=1.0):
        stack = []
        for i in range(n):
            stack.append(x)
            stack.append(i)
            x = np.sin(x) * i
        x_bar = o_bar
        for i in reversed(range(n)):
            i = stack.pop()
            x = stack.pop()
            x_bar = x_bar * np.cos(x) * i
        return x_bar
    """


def test_one_tape_becomes_one_per_variable_and_reversed_counts_down():
    low = _lower(TAPED, """
        def d(x, n, o_bar):
            stack_x = []
            stack_i = []
            for i in range(n):
                stack_x.append(x)
                stack_i.append(i)
                x = np.sin(x) * i
            x_bar = o_bar
            for i in range(n - 1, 0 - 1, -1):
                i = stack_i.pop()
                x = stack_x.pop()
                x_bar = x_bar * np.cos(x) * i
            return x_bar
        """)
    assert low.params == ["x", "n", "o_bar"] and low.defaults == {"o_bar": 1.0}  # the seed is positional
    assert low.tapes == {"stack_x": "x", "stack_i": "i"} and low.array_tapes == {}
    assert low.free == ["range", "np"] and low.helper_attrs == {"np": {"sin", "cos"}}
    assert _run(ast.unparse(low.fdef), 0.3, 4, 1.0) == _run(TAPED, 0.3, 4)


def test_a_tape_of_known_numbers_is_a_preallocated_array():
    src = """
        def d(x, n, *, o_bar=1.0):
            stack = []
            for i in range(n):
                stack.append(x)
                x = x * x
            x_bar = o_bar
            for i in reversed(range(n)):
                x = stack.pop()
                x_bar = x_bar * 2.0 * x
            return x_bar
        """
    low = _lower(src, """
        def d(x, n, o_bar):
            stack_x = _s2s_numpy.empty(max(0, n - 0), _s2s_numpy.float64)
            stack_x_n = 0
            for i in range(n):
                _s2s_tape_set(stack_x, stack_x_n, x)
                stack_x_n += 1
                x = x * x
            x_bar = o_bar
            for i in range(n - 1, 0 - 1, -1):
                stack_x_n -= 1
                x = stack_x[stack_x_n]
                x_bar = x_bar * 2.0 * x
            return x_bar
        """, tape_types={"x": "float64"})
    assert low.array_tapes == {"stack_x": "float64"}
    assert _run(ast.unparse(low.fdef), 0.9, 3, 1.0) == _run(src, 0.9, 3)


def test_a_tape_of_constant_length_is_in_the_frame_within_its_room():
    src = """
        def d(x, *, o_bar=1.0):
            stack = []
            for i in range(2, 7):
                for k in range(3):
                    stack.append(x)
                    x = x * x + k
            stack.append(x)
            x = x * 0.5
            x_bar = o_bar
            x = stack.pop()
            x_bar = x_bar * 0.5
            for i in reversed(range(2, 7)):
                for k in reversed(range(3)):
                    x = stack.pop()
                    x_bar = x_bar * 2.0 * x
            return x_bar
        """
    low = numba_lowering.lower(_fdef(src), tape_types={"x": "float64"})
    text = ast.unparse(low.fdef)
    assert "stack_x = _s2s_tape_stack(16, _s2s_numpy.float64)" in text  # 5 * 3 + 1 pushes
    assert low.array_tapes == {"stack_x": "float64"}
    assert _run(text, 0.3, 1.0) == _run(src, 0.3)
    assert numba_lowering._constant_length("(5) * (3) + 1") == 16
    assert numba_lowering._constant_length("max(0, n - 0)") is None


def test_tapes_beyond_the_frames_room_are_allocated():
    n = numba_lowering.STACK_BYTES // 8  # float64 pushes that fill the room
    src = f"""
        def d(x, y, *, o_bar=1.0):
            stack = []
            for i in range({n}):
                stack.append(x)
                x = x * x
            for i in range(1):
                stack.append(y)
                y = y * x
            y_bar = o_bar
            for i in reversed(range(1)):
                y = stack.pop()
                y_bar = y_bar * x
            for i in reversed(range({n})):
                x = stack.pop()
            return y_bar
        """
    text = ast.unparse(numba_lowering.lower(_fdef(src), tape_types={"x": "float64", "y": "float64"}).fdef)
    assert f"stack_x = _s2s_tape_stack({n}, _s2s_numpy.float64)" in text  # the whole room
    assert "stack_y = _s2s_numpy.empty(1, _s2s_numpy.float64)" in text  # none left
    assert _run(text, 0.3, 0.2, 1.0) == _run(src, 0.3, 0.2)


def test_a_zero_adjoint_accumulated_starts_as_none():
    """(numba cannot give one variable the number 0.0 and then an array; None + g is g in the helpers)"""
    src = """
        def d(W, h, t_bar):
            W_bar = 0.0
            for i in range(3):
                W_bar = W_bar + np.outer(t_bar, h)
                W_bar += t_bar[:, None] @ h[None, :]
            return s2s.finish(W_bar, W)
        """
    low = _lower(src, """
        def d(W, h, t_bar):
            W_bar = None
            for i in range(3):
                W_bar = _s2s_accumulate(W_bar, np.outer(t_bar, h))
                W_bar = _s2s_accumulate_matmul(W_bar, t_bar[:, None], h[None, :])
            return s2s.finish(W_bar, W)
        """)
    assert numba_lowering.accumulate_outer(low.fdef, {"np"})
    assert "W_bar = _s2s_accumulate_outer(W_bar, t_bar, h)" in ast.unparse(low.fdef)
    args = (np.ones((2, 3)), np.array([1.0, -2.0, 0.5]), np.array([0.25, 3.0]))
    np.testing.assert_array_equal(_run(ast.unparse(low.fdef), *args), _run(src, *args))


def test_a_range_indexed_by_a_counter_is_arithmetic():
    src = """
        def d(a, n):
            s = 0.0
            steps = range(2, n)
            k = 0
            while k < len(steps):
                i = steps[k]
                k = k + 1
                s = s + a * i
            return s
        """
    low = _lower(src, """
        def d(a, n):
            s = 0.0
            steps = range(2, n)
            k = 0
            while k < max(0, n - 2):
                i = 2 + k
                k = k + 1
                s = s + a * i
            return s
        """)
    for n in (0, 2, 5):
        assert _run(ast.unparse(low.fdef), 1.5, n) == _run(src, 1.5, n)


def test_pushed_variables_in_order():
    assert numba_lowering.pushed_variables(_fdef(TAPED)) == ["x", "i"]


@pytest.mark.parametrize("body, what", [
    ("    f = lambda v: v\n    return f(x)\n", "a lambda"),
    ("    def pb(g):\n        return g\n    return pb\n", "a function defined inside"),
    ("    return x is None\n", "an `is` comparison"),
    ("    y = [x, x]\n    return y\n", "a Python list"),
    ("    for i in range(2):\n        x = x + 1\n    else:\n        x = 0\n    return x\n", "a loop with an else"),
    ("    stack = []\n    stack.append(x)\n    y = stack\n    return y\n", "used other than by push"),
    ("    stack = []\n    stack.append(x)\n    v = stack.pop()\n    n = len(stack)\n    return n\n",
     "used other than by push"),  # (popped: a tape, which len() may not read; a list appended only is the user's)
    # popped in the order pushed: the per-variable tapes would not give back what was pushed
    ("    stack = []\n    stack.append(x)\n    stack.append(y)\n    x = stack.pop()\n    y = stack.pop()\n"
     "    return x\n", None),
])
def test_what_numba_cannot_take_is_refused(body, what):
    with pytest.raises(numba_lowering.NotLowerable) as info:
        numba_lowering.lower(_fdef("def d(x, y):\n" + body))
    if what is not None:  # (named with the node it is at)
        assert what in info.value.message and info.value.node is not None


def test_reversed_ranges_of_negative_steps_count_up():
    # reversed(range(start, stop, k)) of a constant k < 0: from the last item up to start, every |k|
    for start, stop, k in [(25, 0, -1), (10, 1, -3), (0, 5, -1), (5, 5, -2), (7, -8, -4), (3, 2, -5)]:
        src = f"""
            def d(x):
                s = []
                for i in reversed(range({start}, {stop}, {k})):
                    s.append(i)
                return s
            """
        fdef = _fdef(src)
        numba_lowering._rewrite_reversed(fdef)
        text = ast.unparse(fdef)
        assert "reversed" not in text
        assert _run(text, 0.0) == list(reversed(range(start, stop, k))), (start, stop, k, text)


def test_a_users_list_stays_a_list_and_its_stack_a_helper():
    fdef = _fdef("def f(x):\n    hs = []\n    for i in range(3):\n        hs.append(x * i)\n    n = len(hs)\n"
                 "    return np.stack(hs, axis=0) * n + np.array(hs) + hs[0]\n")
    low = numba_lowering.lower(fdef, numpy_names=frozenset({"np"}))
    text = ast.unparse(low.fdef)
    assert "_s2s_stack_list(hs, 0)" in text and "_s2s_stack_list(hs)" in text and "hs.append(x * i)" in text \
        and not low.tapes
    other_axis = _fdef("def f(x):\n    hs = []\n    hs.append(x)\n    return np.stack(hs, axis=-1)\n")
    assert "_s2s_stack_list(hs, -1)" in ast.unparse(numba_lowering.lower(other_axis, numpy_names=frozenset({"np"})).fdef)
    named = _fdef("def f(x, k):\n    hs = []\n    hs.append(x)\n    return np.stack(hs, axis=k)\n")
    with pytest.raises(numba_lowering.NotLowerable, match="used other than by push"):
        numba_lowering.lower(named, numpy_names=frozenset({"np"}))  # (an axis that is no constant: not the form)


@pytest.mark.parametrize("text, want", [
    ("x.sum(axis=(0, 2), keepdims=True)", "_s2s_reduce(_s2s_reduce(x, 'sum', 0, True), 'sum', 2, True)"),
    ("np.sum(x, axis=(2, 0))", "_s2s_reduce(_s2s_reduce(x, 'sum', 2, False), 'sum', 0, False)"),
    ("x.max(axis=(-1, -3), keepdims=True)", "_s2s_reduce(_s2s_reduce(x, 'max', -1, True), 'max', -3, True)"),
    ("np.sum(x, axis=(0, -1))", "np.sum(x, axis=(0, -1))"),  # (one counted from the end, dropped axes: left)
    ("np.sum(x, axis=(1, 1))", "np.sum(x, axis=(1, 1))"),  # (NumPy raises: left as it is, for numba to refuse)
])
def test_a_reduction_over_a_tuple_of_axes_is_one_per_axis(text, want):
    """numba reduces over one axis at a time: the later axes first, so the earlier keep their numbers (any order
    with keepdims). The N-body leapfrog's force adjoint `(t * D).sum(axis=(0, 2), keepdims=True)` fell back."""
    fdef = ast.parse(f"def f(x):\n    return {text}").body[0]
    numba_lowering.reductions(fdef, {"np"})
    assert ast.unparse(fdef.body[0].value) == want
    if want.startswith("_s2s_reduce"):
        x = np.random.default_rng(3).normal(size=(2, 3, 4))

        def reduce(a, op, axis, keepdims):
            return getattr(np, op)(a, axis=axis, keepdims=keepdims)
        got = eval(want, {"_s2s_reduce": reduce, "x": x})
        np.testing.assert_allclose(got, eval(text, {"np": np, "x": x}), rtol=1e-14)
