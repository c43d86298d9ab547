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


def _rewrite(src, **shapes):
    fdef = ast.parse(textwrap.dedent(src)).body[0]
    kinds = {p: ("?" if p.startswith("c") else "d") for p in shapes}
    ctx = Context(shapes, lambda n: NAMES.get(n, getattr(builtins, n, None)), "np", kinds)
    merge_wheres(fdef, ctx.shapes(fdef), "np")
    return ast.unparse(fdef)


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
