"""transforms/wheres.py where every array is float64: masked halves scaled by arrays on both sides, of numbers,
given in the sum itself, or summed by `z = x * k; z += y * m` (a piecewise loss's adjoint: the pinball and Huber
losses), merged into one np.where with the same numbers; left alone where the halves may not be what the merged
call computes, and where an array is not float64 (the merged call's dtype would differ)."""

import ast
import textwrap

import numpy as np
import pytest
from s2s.transforms.wheres import merge_wheres, negate_wheres

import s2s
from s2s import pipeline  # noqa: F401  (pipeline installs the context the shape inference reads)
from tests.helpers_fd import check_all_and_general
from tests.transforms.test_wheres import NAMES, _run, applied

rng = np.random.default_rng(18)
R, C, TAUS = rng.normal(size=(6, 5)), rng.normal(size=(6, 5)) > 0, rng.uniform(size=5)


def _rewrite(src, float64_only=True, **shapes):
    return applied(merge_wheres, src, float64_only, **shapes)


PINBALL = """
    def f(s, c, taus, r):
        t6 = taus - 1.0
        t5_bar = np.where(c, s, 0.0)
        t7_bar = np.where(c, 0.0, s)
        r_bar = t7_bar * t6
        r_bar += t5_bar * taus
        return r_bar
    """


def test_halves_of_numbers_scaled_by_arrays_and_summed_in_place():
    got = _rewrite(PINBALL, s=(), c=(6, 5), taus=(5,), r=(6, 5))
    assert got == textwrap.dedent("""
        def f(s, c, taus, r):
            t6 = taus - 1.0
            r_bar = np.where(c, s * taus, s * t6)
            return r_bar""").strip(), got
    for s in (0.25, -3.0):
        np.testing.assert_array_equal(_run(got, (s, C, TAUS, R)), _run(textwrap.dedent(PINBALL), (s, C, TAUS, R)))


def test_a_half_written_in_the_sum_and_a_scaled_zero():
    src = """
        def f(s, c, r, delta):
            t7_bar = np.where(c, 0.0 * delta, s * delta)
            r_bar = np.where(c, s * 0.5 * 2, 0.0 * 0.5 * 2) * r
            r_bar += t7_bar * np.sign(r)
            return r_bar
        """
    got = _rewrite(src, s=(), c=(6, 5), r=(6, 5), delta=())
    assert got == textwrap.dedent("""
        def f(s, c, r, delta):
            r_bar = np.where(c, s * 0.5 * 2 * r, s * delta * np.sign(r))
            return r_bar""").strip(), got
    np.testing.assert_array_equal(_run(got, (0.3, C, R, 1.5)), _run(textwrap.dedent(src), (0.3, C, R, 1.5)))


@pytest.mark.parametrize("src", [
    # a float32 array among them: left to the strict form (the merged where's dtype could differ)
    PINBALL,
])
def test_left_alone_unless_every_array_is_float64(src):
    assert _rewrite(src, float64_only=False, s=(), c=(6, 5), taus=(5,), r=(6, 5)) == ast.unparse(ast.parse(
        textwrap.dedent(src)))


@pytest.mark.parametrize("src", [
    # a scale read by a function that is not NumPy's (it may change what a half reads)
    """
    def f(s, c, taus, r):
        t5_bar = np.where(c, s, 0.0)
        t7_bar = np.where(c, 0.0, s)
        r_bar = t7_bar * taus
        r_bar += t5_bar * scale(taus)
        return r_bar
    """,
    # a half read twice
    """
    def f(s, c, taus, r):
        t5_bar = np.where(c, s, 0.0)
        t7_bar = np.where(c, 0.0, s)
        r_bar = t7_bar * taus
        r_bar += t5_bar * taus
        return r_bar + t5_bar
    """,
    # the first binding reads the sum's own name
    """
    def f(s, c, taus, r):
        t5_bar = np.where(c, s, 0.0)
        t7_bar = np.where(c, 0.0, s)
        r = t7_bar * r
        r += t5_bar * taus
        return r
    """,
    # two conditions
    """
    def f(s, c, c2, taus, r):
        t5_bar = np.where(c, s, 0.0)
        t7_bar = np.where(c2, 0.0, s)
        r_bar = t7_bar * taus
        r_bar += t5_bar * taus
        return r_bar
    """,
    # a half's operand rebound between its binding and the sum
    """
    def f(s, c, taus, r):
        t5_bar = np.where(c, s, 0.0)
        t7_bar = np.where(c, 0.0, s)
        s = s + 1.0
        r_bar = t7_bar * taus
        r_bar += t5_bar * taus
        return r_bar
    """,
])
def test_left_alone(src):
    NAMES["scale"] = lambda v: v
    assert _rewrite(src, s=(), c=(6, 5), c2=(6, 5), taus=(5,), r=(6, 5)) == ast.unparse(ast.parse(textwrap.dedent(src)))


def pinball(W, b, X, y, taus):
    r = y[:, None] - (X @ W + b)
    return np.mean(np.where(r >= 0, taus * r, (taus - 1.0) * r))


def huber(w, b, X, y, delta=1.0):
    r = X @ w + b - y
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r ** 2, delta * (a - 0.5 * delta)).mean()


def test_a_pinball_loss_s_gradient_has_one_adjoint_where():
    X = rng.normal(size=(8, 3))
    args = (rng.normal(size=(3, 5)), rng.normal(size=5), X, X @ rng.normal(size=3), TAUS)
    code = [line for line in s2s.source(s2s.grad(pinball, wrt=(0, 1)), *args).splitlines()
            if not line.strip().startswith("#")]
    assert sum(line.count("np.where(") for line in code) == 1, "\n".join(code)
    assert not any(line.strip().split(" = ")[-1].startswith("-") for line in code), "\n".join(code)  # (negate_wheres)
    check_all_and_general(pinball, args, wrt=(0, 1), use_autograd=False)


def test_a_huber_loss_s_gradient_has_one_adjoint_where():
    X = rng.normal(size=(9, 3))
    args = (rng.normal(size=3), 0.2, X, rng.normal(size=9) * 2)
    code = [line for line in s2s.source(s2s.grad(huber, wrt=(0, 1)), *args).splitlines()
            if not line.strip().startswith("#")]
    assert sum(line.count("np.where(") for line in code) == 1, "\n".join(code)
    check_all_and_general(huber, args, wrt=(0, 1))


def leaky_with_a_float32_slope(h):
    a = np.float32(0.2)
    return np.sum(np.where(h > 0, h, a * h)) / 7.0


def pinball_with_a_float32_level(r):
    tau = np.float32(0.9)
    return 0.1 * np.sum(np.where(r >= 0, tau * r, (tau - 1.0) * r))


def scaled_by_a_float32_number(h):
    return np.sum(np.where(h > 0, 2.0 * h, 0.01 * h)) * np.float32(0.3)


@pytest.mark.parametrize("f", [leaky_with_a_float32_slope, pinball_with_a_float32_level, scaled_by_a_float32_number],
                         ids=lambda f: f.__name__)
def test_a_float32_number_made_in_the_function_keeps_the_general_code_s_numbers(f):
    # (helper 182: the merged where of Python floats scaled by a np.float32 number was float32; finish was dropped
    # of a float32 adjoint, older)
    h = np.array([1.0, -1.0, 0.3])
    got, general = s2s.grad(f)(h), s2s.derivative(f)(h)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, general)


def test_an_infinite_scale_on_the_branch_not_taken_gives_the_taken_branch_s_adjoint():
    # (the general code gives NaN there, 0.0 * inf, as autograd does; the merged where the branch the mask took)
    r = np.array([0.5, -2.0, 3.0])
    got = s2s.grad(lambda w: huber(w, 0.0, np.eye(3), np.zeros(3), np.inf))(r)
    np.testing.assert_allclose(got, r / 3.0)


def _negate(src, **shapes):
    return applied(negate_wheres, src, **shapes)


def test_a_negated_where_of_small_branches_negates_the_branches():
    src = """
        def f(s, c, taus, r):
            u = np.where(c, s * taus, s * (taus - 1.0))
            y = -u
            return y
        """
    got = _negate(src, s=(), c=(6, 5), taus=(5,), r=(6, 5))
    assert got == textwrap.dedent("""
        def f(s, c, taus, r):
            y = np.where(c, -s * taus, -s * (taus - 1.0))
            return y""").strip(), got
    np.testing.assert_array_equal(_run(got, (0.3, C, TAUS, R)), _run(textwrap.dedent(src), (0.3, C, TAUS, R)))


@pytest.mark.parametrize("src", [
    # a branch as large as the result: negating it costs the pass the rewrite would save
    "def f(s, c, taus, r):\n    u = np.where(c, r, s * taus)\n    y = -u\n    return y",
    # the where read twice
    "def f(s, c, taus, r):\n    u = np.where(c, s * taus, s)\n    y = -u\n    return y + u",
])
def test_negation_left_alone(src):
    assert _negate(src, s=(), c=(6, 5), taus=(5,), r=(6, 5)) == ast.unparse(ast.parse(src))
