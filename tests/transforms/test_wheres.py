"""Unit tests of transforms/wheres.py: two complementary masked halves of an adjoint added up become one np.where,
with the same numbers; left alone wherever the halves may not be what the merged call computes."""

import ast
import builtins
import textwrap

import numpy as np
import pytest
from s2s.transforms.specialize import Context
from s2s.transforms.wheres import merge_wheres

import s2s
from s2s import pipeline, runtime  # noqa: F401  (pipeline installs the context the shape inference reads)
from tests.helpers_fd import check_all_and_general

NAMES = {"np": np, "s2s": runtime}
rng = np.random.default_rng(8)
A, C = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)) > 0


def applied(rewrite, src, *extra, **shapes):
    """The text of `src`'s function after `rewrite(fdef, shapes, "np", *extra)`, the parameters of the given
    shapes (those starting with `c` booleans, the others float64)."""
    fdef = ast.parse(textwrap.dedent(src)).body[0]
    kinds = {p: ("?" if p.startswith("c") else "d") for p in shapes}
    ctx = Context(shapes, lambda n: NAMES.get(n, getattr(builtins, n, None)), "np", kinds)
    rewrite(fdef, ctx.shapes(fdef), "np", *extra)
    return ast.unparse(fdef)


def _rewrite(src, **shapes):
    return applied(merge_wheres, src, **shapes)


def _run(text, args):
    namespace = dict(NAMES)
    exec(compile(text, "<test>", "exec"), namespace)
    return namespace["f"](*args)


def test_a_leaky_relu_s_halves_are_one_where():
    src = """
        def f(a_bar, c):
            h_bar = np.where(c, a_bar, 0.0)
            t2_bar = np.where(c, 0.0, a_bar)
            h_bar = h_bar + t2_bar * 0.01
            return h_bar
        """
    got = _rewrite(src, a_bar=(4, 3), c=(4, 3))
    assert got == textwrap.dedent("""
        def f(a_bar, c):
            h_bar = np.where(c, a_bar, a_bar * 0.01)
            return h_bar""").strip(), got
    np.testing.assert_array_equal(_run(got, (A, C)), _run(textwrap.dedent(src), (A, C)))


def test_the_halves_in_either_order_and_position():
    src = """
        def f(a_bar, b_bar, c):
            u = np.where(c, 0.0, a_bar)
            v = np.where(c, b_bar, 0.0)
            w = 2.0 * v + u
            return w
        """
    got = _rewrite(src, a_bar=(4, 3), b_bar=(4, 3), c=(4, 3))
    assert "w = np.where(c, 2.0 * b_bar, a_bar)" in got and "u =" not in got, got
    np.testing.assert_array_equal(_run(got, (A, -A, C)), _run(textwrap.dedent(src), (A, -A, C)))


@pytest.mark.parametrize("src, shapes", [
    # a half read again
    ("""
    def f(a_bar, c):
        x = np.where(c, a_bar, 0.0)
        y = np.where(c, 0.0, a_bar)
        z = x + y
        return (z, y)
    """, {"a_bar": (4, 3), "c": (4, 3)}),
    # two conditions
    ("""
    def f(a_bar, c, c2):
        x = np.where(c, a_bar, 0.0)
        y = np.where(c2, 0.0, a_bar)
        z = x + y
        return z
    """, {"a_bar": (4, 3), "c": (4, 3), "c2": (4, 3)}),
    # an operand changed in place between the halves and the sum
    ("""
    def f(a_bar, c):
        x = np.where(c, a_bar, 0.0)
        y = np.where(c, 0.0, a_bar)
        a_bar[0] += 1.0
        z = x + y
        return z
    """, {"a_bar": (4, 3), "c": (4, 3)}),
    # an operand bound again between
    ("""
    def f(a_bar, c):
        x = np.where(c, a_bar, 0.0)
        a_bar = a_bar * 2.0
        y = np.where(c, 0.0, a_bar)
        z = x + y
        return z
    """, {"a_bar": (4, 3), "c": (4, 3)}),
    # operands of two shapes (the sum broadcasts)
    ("""
    def f(a_bar, b_bar, c):
        x = np.where(c, a_bar, 0.0)
        y = np.where(c, 0.0, b_bar)
        z = x + y
        return z
    """, {"a_bar": (4, 3), "b_bar": (3,), "c": (4, 3)}),
    # an int zero (another dtype where the mask picks it)
    ("""
    def f(a_bar, c):
        x = np.where(c, a_bar, 0)
        y = np.where(c, 0, a_bar)
        z = x + y
        return z
    """, {"a_bar": (4, 3), "c": (4, 3)}),
    # both halves kept on the same side
    ("""
    def f(a_bar, c):
        x = np.where(c, a_bar, 0.0)
        y = np.where(c, a_bar, 0.0)
        z = x + y
        return z
    """, {"a_bar": (4, 3), "c": (4, 3)}),
])
def test_left_alone(src, shapes):
    assert _rewrite(src, **shapes) == textwrap.dedent(src).strip()


def leaky_relu_net(W, X):
    h = X @ W
    a = np.where(h > 0, h, 0.01 * h)
    return np.sum(np.tanh(a) ** 2)


def test_a_leaky_relu_network_s_gradient():
    args = (rng.normal(size=(3, 5)), rng.normal(size=(6, 3)))
    src = "\n".join(line for line in s2s.source(s2s.grad(leaky_relu_net), *args).splitlines()
                    if not line.strip().startswith("#"))
    assert src.count("np.where(") == 2, src  # (the forward one and the merged adjoint)
    check_all_and_general(leaky_relu_net, args)


def _scale(src, python_floats=frozenset(), **shapes):
    from s2s.transforms.wheres import scale_wheres
    return applied(scale_wheres, src, python_floats, **shapes)


def test_a_where_of_numbers_scaled_by_numbers_is_one_where():
    src = """
        def f(s, R, c, delta):
            t4_bar = np.where(c, s, 0.0)
            t3_bar = t4_bar * 0.5
            R_bar = t3_bar * 2 * R
            t7_bar = np.where(c, 0.0, s)
            return R_bar + t7_bar * delta
        """
    got = _scale(src, python_floats={"delta"}, s=(), R=(4, 3), c=(4, 3), delta=())
    assert got == textwrap.dedent("""
        def f(s, R, c, delta):
            R_bar = np.where(c, s * 0.5 * 2, 0.0 * 0.5 * 2) * R
            return R_bar + np.where(c, 0.0 * delta, s * delta)""").strip(), got
    for s, delta in ((0.3, 2.0), (np.inf, 0.0), (-1e308, 1e-308)):
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(_run(got, (s, A, C, delta)), _run(textwrap.dedent(src), (s, A, C, delta)))


@pytest.mark.parametrize("src", [
    # a NumPy number k (not a Python float): the scaled numbers would be NumPy's, a float32 one's where float32
    "def f(s, c, k):\n    u = np.where(c, s, 0.0)\n    return u * k",
    # read twice
    "def f(s, c):\n    u = np.where(c, s, 0.0)\n    return u * 2.0 + u",
    # a division (Python's 0.0 / 0.0 raises)
    "def f(s, c):\n    u = np.where(c, s, 0.0)\n    return u / 2.0",
    # an array branch
    "def f(R, c):\n    u = np.where(c, R, 0.0)\n    return u * 2.0",
    # a branch rebound between
    "def f(s, c):\n    u = np.where(c, s, 0.0)\n    s = s + 1.0\n    return u * 2.0",
])
def test_scaling_left_alone(src):
    assert _scale(src, s=(), c=(4, 3), k=(), R=(4, 3)) == ast.unparse(ast.parse(src))


def huber(W, X, Y, delta=1.0):
    R = X @ W - Y
    a = np.abs(R)
    per = np.where(a <= delta, 0.5 * R ** 2, delta * (a - 0.5 * delta))
    return np.sum(per) / X.shape[0]


def test_a_huber_loss_s_gradient():
    W, X, Y = rng.normal(size=(3, 2)), rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    code = [line for line in s2s.source(s2s.grad(huber), W, X, Y).splitlines() if not line.strip().startswith("#")]
    # (the branch's `g * 0.5 * 2` is g: its powers of two fold away, transforms/simplify.py; the two halves of the
    # adjoint are one np.where, and s2s.grad needs no value: tests/transforms/test_wheres_scaled.py)
    assert sum(line.count("np.where(") for line in code) == 1 and not any("0.5 * 2" in line for line in code)
    check_all_and_general(huber, (W, X, Y))
