"""transforms/powers.py: cubes and fourth powers of float64 arrays from squares (NumPy's pow per entry for any
other exponent than 2, 0.5, -1, 0 and 1), the square shared with the adjoint's where the array is unchanged."""

import ast
import builtins
import textwrap

import numpy as np
import pytest
from s2s.transforms.powers import powers_from_squares
from s2s.transforms.specialize import Context

import s2s
from s2s import pipeline, runtime  # noqa: F401  (pipeline installs the context the shape inference reads)
from tests.helpers_fd import check_all_and_general
from tests.transforms.test_wheres import NAMES, _run

rng = np.random.default_rng(581)


def _rewrite(src, kinds=None, **shapes):
    fdef = ast.parse(textwrap.dedent(src)).body[0]
    kinds = kinds or {p: "d" for p in shapes}
    ctx = Context(shapes, lambda n: NAMES.get(n, getattr(builtins, n, None)), "np", kinds)
    changed = powers_from_squares(fdef, ctx.shapes)
    return changed, ast.unparse(fdef)


def _same_numbers(got, src, args):
    """The rewritten function's numbers are the original's but for rounding (each run on its own copies)."""
    after, before = _run(got, [a.copy() for a in args]), _run(textwrap.dedent(src), [a.copy() for a in args])
    for a, b in zip(after, before):
        np.testing.assert_allclose(a, b, rtol=1e-15, atol=0)


def test_a_cube_shares_the_square_its_adjoint_reads():
    src = """
        def f(t, g):
            K = t ** 3
            return K, g * 3 * t ** 2
        """
    args = (rng.normal(size=(5, 4)), rng.normal(size=(5, 4)))
    changed, got = _rewrite(src, t=(5, 4), g=(5, 4))
    assert changed and "t_sq = t ** 2" in got and "K = t_sq * t" in got and "g * 3 * t_sq" in got, got
    _same_numbers(got, src, args)


def test_a_fourth_power_is_a_square_squared_and_its_adjoint_s_cube_reads_the_square():
    src = """
        def f(t, g):
            y = t ** 4
            return y, g * 4 * t ** 3
        """
    args = (rng.normal(size=7), rng.normal(size=7))
    changed, got = _rewrite(src, t=(7,), g=(7,))
    assert changed and "t_sq = t ** 2" in got and "y = t_sq * t_sq" in got and "g * 4 * (t_sq * t)" in got, got
    _same_numbers(got, src, args)


def test_a_square_after_the_array_changes_is_not_shared():
    src = """
        def f(t, g):
            K = t ** 3
            t += 1.0
            return K, g * t ** 2
        """
    args = (rng.normal(size=6), rng.normal(size=6))
    changed, got = _rewrite(src, t=(6,), g=(6,))
    assert changed and "K = t ** 2 * t" in got and "g * t ** 2" in got and "t_sq" not in got, got
    _same_numbers(got, src, args)


@pytest.mark.parametrize("src, kinds", [
    # the power's value decides an index: its rounding must not change
    ("""
    def f(t, g):
        K = t ** 3
        return g[np.argmax(K)]
    """, None),
    # an integer array (exact either way, and not a real value)
    ("""
    def f(t, g):
        return t ** 3 + g
    """, {"t": "l", "g": "d"}),
    # a number, not an array (Python's pow is fast)
    ("""
    def f(t, g):
        a = g.sum()
        return a ** 3
    """, None),
])
def test_left_alone(src, kinds):
    changed, got = _rewrite(src, kinds, t=(6,), g=(6,))
    assert not changed, got


def kernel_ridge(alpha, X, c, y, lam=0.1):
    K = (X @ X.T + c) ** 3
    r = K @ alpha - y
    return 0.5 * r @ r + 0.5 * lam * alpha @ (K @ alpha)


def quartic(x, w):
    return np.sum((x @ w) ** 4) + np.sum(np.cos(x) ** 3)


@pytest.mark.parametrize("f, args, wrt", [
    (kernel_ridge, (rng.normal(size=6), rng.normal(size=(6, 3)), 1.0, rng.normal(size=6)), (0, 2)),
    (quartic, (rng.normal(size=(4, 3)), rng.normal(size=3)), (0, 1)),
])
def test_gradients_through_powers_match_differences_autograd_and_the_general_code(f, args, wrt):
    check_all_and_general(f, args, wrt=wrt)


def test_the_kernel_ridge_gradient_computes_no_cube_by_pow():
    args = (rng.normal(size=6), rng.normal(size=(6, 3)), 1.0, rng.normal(size=6))
    src = s2s.source(s2s.grad(kernel_ridge, wrt=(0, 2)), *args)
    code = [line for line in src.splitlines() if not line.strip().startswith("#")]
    assert not any("** 3" in line for line in code) and "    t_sq = t ** 2" in code, src


def square_updated_in_place(x):
    return np.sum(x ** 3 * (x ** 2 + 1.0))


def square_scaled_in_place(x, w):
    a = x ** 3
    b = w * x ** 2
    c = x ** 4
    return np.sum(a * b + np.sin(c)) / np.sum(x ** 2 + 1.0)


@pytest.mark.parametrize("f, args, wrt", [
    (square_updated_in_place, (np.array([0.5, -1.2, 2.0]),), 0),
    (square_scaled_in_place, (rng.normal(size=5), rng.normal(size=5)), (0, 1)),
])
def test_a_square_the_code_binds_and_updates_in_place_is_not_the_shared_one(f, args, wrt):
    """Helper 186: the derivative code binds `t2 = x ** 2` and then updates t2 in place (`t2 += 1.0`): read as the
    shared square, that update changed it (a gradient of 4.81 for 1.06)."""
    check_all_and_general(f, args, wrt=wrt)
