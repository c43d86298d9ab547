"""transforms/sliced_adjoints.py: a slice's adjoint (zeros, then one slice update) added into slices of another
adjoint is added there directly, at the slice of a slice, and only where neither update can change what the other
reads."""

import ast
import builtins
import textwrap

import numpy as np
import pytest
from s2s.transforms.sliced_adjoints import compose_slice_adjoints
from s2s.transforms.specialize import Context

import s2s
from s2s import pipeline, runtime  # noqa: F401  (pipeline installs the context the shape inference reads)
from tests.helpers_fd import check_all_and_general
from tests.transforms.test_wheres import NAMES, _run

rng = np.random.default_rng(58)


def _rewrite(src, **shapes):
    fdef = ast.parse(textwrap.dedent(src)).body[0]
    ctx = Context(shapes, lambda n: NAMES.get(n, getattr(builtins, n, None)), "np", {p: "d" for p in shapes})
    changed = compose_slice_adjoints(fdef, ctx.shapes(fdef))
    return changed, ast.unparse(fdef)


def test_two_slices_of_a_difference_s_adjoint_are_one_slice_each():
    src = """
        def f(u, h):
            t = u * 2.0
            d_bar = h * 1.0
            g = np.zeros((7, 8))
            g[:, :-1] += d_bar
            t[1:] += g
            t[:-1] -= g
            return t
        """
    args = (rng.normal(size=(8, 8)), rng.normal(size=(7, 7)))
    changed, got = _rewrite(src, u=(8, 8), h=(7, 7))
    assert changed
    assert "np.zeros" not in got and "t[1:, :-1] += d_bar" in got and "t[:-1, :-1] -= d_bar" in got, got
    np.testing.assert_allclose(_run(got, args), _run(textwrap.dedent(src), args), rtol=0, atol=0)


def test_inner_bounds_counted_from_the_outer_slice_start():
    src = """
        def f(u, h):
            t = u + 0.0
            d_bar = h * 3.0
            g = np.zeros((5, 4))
            g[1:3, 2:] += d_bar
            t[2:7, 1:5] += g
            return t
        """
    args = (rng.normal(size=(9, 6)), rng.normal(size=(2, 2)))
    changed, got = _rewrite(src, u=(9, 6), h=(2, 2))
    assert changed and "t[3:5, 3:5] += d_bar" in got, got
    np.testing.assert_allclose(_run(got, args), _run(textwrap.dedent(src), args), rtol=0, atol=0)


def test_updates_further_on_and_through_a_negation():
    """Statements between that neither bind nor read g or h, and `n = -g` read only by the next update (`A[r] += n`
    is `A[r] -= g` bit for bit)."""
    src = """
        def f(u, h, w):
            t = u * 2.0
            d_bar = h * 1.0
            g = np.zeros((7, 8))
            g[:, :-1] += d_bar
            e_bar = w * 3.0
            n = -g
            t[:-1] += n
            t[:, :2] -= e_bar
            t[1:] += g
            return t
        """
    args = (rng.normal(size=(8, 8)), rng.normal(size=(7, 7)), rng.normal(size=(8, 2)))
    changed, got = _rewrite(src, u=(8, 8), h=(7, 7), w=(8, 2))
    assert changed and "np.zeros" not in got and "n = -g" not in got, got
    assert "t[:-1, :-1] -= d_bar" in got and "t[1:, :-1] += d_bar" in got, got
    np.testing.assert_allclose(_run(got, args), _run(textwrap.dedent(src), args), rtol=0, atol=0)


@pytest.mark.parametrize("src", [
    # h changed between the update and a later use
    """
    def f(u, h):
        t = u * 2.0
        d_bar = h * 1.0
        g = np.zeros((7, 8))
        g[:, :-1] += d_bar
        t[1:] += g
        d_bar *= 3.0
        t[:-1] -= g
        return t
    """,
    # a view of h taken before, changed between
    """
    def f(u, h):
        t = u * 2.0
        d_bar = h * 1.0
        v = d_bar[0]
        g = np.zeros((7, 8))
        g[:, :-1] += d_bar
        t[1:] += g
        v += 5.0
        t[:-1] -= g
        return t
    """,
    # the update's value is a view of the array updated: the second update would read the first's result
    """
    def f(u, h):
        t = u * 2.0
        d_bar = t[:7, :7]
        g = np.zeros((7, 8))
        g[:, :-1] += d_bar
        t[1:] += g
        t[:-1] -= g
        return t
    """,
    # the array updated is a parameter (the caller's array, which may be the value's base)
    """
    def f(t, h):
        d_bar = h * 1.0
        g = np.zeros((7, 8))
        g[:, :-1] += d_bar
        t[1:] += g
        t[:-1] -= g
        return t
    """,
    # g read again after its updates: it must hold the zeros and the update
    """
    def f(u, h):
        t = u * 2.0
        d_bar = h * 1.0
        g = np.zeros((7, 8))
        g[:, :-1] += d_bar
        t[1:] += g
        return t + g.sum()
    """,
    # a stepped slice
    """
    def f(u, h):
        t = u * 2.0
        d_bar = h * 1.0
        g = np.zeros((7, 8))
        g[:, ::2] += d_bar
        t[1:] += g
        return t
    """,
    # g updated twice
    """
    def f(u, h):
        t = u * 2.0
        d_bar = h * 1.0
        g = np.zeros((7, 8))
        g[:, :-1] += d_bar
        g[:, 1:] += d_bar
        t[1:] += g
        return t
    """,
    # the value bound again between (a loop's name: not made by arithmetic every time)
    """
    def f(u, h):
        t = u * 2.0
        for d_bar in [h, h]:
            g = np.zeros((7, 8))
            g[:, :-1] += d_bar
            t[1:] += g
        return t
    """,
])
def test_left_alone_where_it_may_not_be_the_same(src):
    args = (rng.normal(size=(8, 8)), rng.normal(size=(7, 7)) if "::2" not in src else rng.normal(size=(7, 4)))
    changed, got = _rewrite(src, u=(8, 8), t=(8, 8), h=np.shape(args[1]))
    assert not changed, got
    np.testing.assert_allclose(_run(got, args), _run(textwrap.dedent(src), args), rtol=0, atol=0)


def total_variation(u, f, lam=0.1, eps=1e-3):
    dx = np.diff(u, axis=1)[:-1, :]
    dy = np.diff(u, axis=0)[:, :-1]
    return 0.5 * np.sum((u - f) ** 2) + lam * np.sum(np.sqrt(eps + dx ** 2 + dy ** 2))


def laplacian_energy(u):
    inner = u[1:-1, 1:-1]
    lap = u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4.0 * inner
    return np.sum(np.diff(u, axis=0)[1:, 2:] ** 2) + 0.5 * np.sum(lap ** 2)


@pytest.mark.parametrize("f, shape", [(total_variation, (8, 8)), (total_variation, (5, 9)),
                                      (laplacian_energy, (6, 7))])
def test_finite_difference_objectives_keep_their_gradients(f, shape):
    args = (rng.normal(size=shape),) + ((rng.normal(size=shape),) if f is total_variation else ())
    check_all_and_general(f, args)


def test_the_total_variation_gradient_adds_each_difference_into_the_result():
    u, f = rng.normal(size=(8, 8)), rng.normal(size=(8, 8))
    src = s2s.source(s2s.grad(total_variation), u, f)
    assert "np.zeros" not in src and "grad_diff" not in src, src
    assert "[1:, :-1] += dy_bar" in src and "[:-1, 1:] += dx_bar" in src, src


def test_a_negation_of_unsigned_ints_stays():
    """Helper 189: `n = -g; t[1:] += n` of a uint8 g (whose negation wraps) must not become `t[1:] -= g`."""
    src = """
        def f(u, g):
            t = u * 2.0
            n = -g
            t[1:] += n
            return t
        """
    fdef = ast.parse(textwrap.dedent(src)).body[0]
    ctx = Context({"u": (4,), "g": (3,)}, lambda n: NAMES.get(n, getattr(builtins, n, None)), "np",
                  {"u": "d", "g": "B"})
    compose_slice_adjoints(fdef, ctx.shapes(fdef))
    assert "n = -g" in ast.unparse(fdef)


def total_variation_with_a_float32_weight(u, f, lam=0.1, eps=1e-3):
    dx = np.diff(u, axis=1)[:-1, :] * np.float32(1.5)
    dy = np.diff(u, axis=0)[:, :-1]
    return 0.5 * np.sum((u - f) ** 2) + lam * np.sum(np.sqrt(eps + dx ** 2 + dy ** 2))


def test_code_that_makes_float32_values_keeps_the_zeros():
    """`A[r] += g` of g = 0.0 + h in float64 is `A[r] += h` only where no value is float32 (a float32 A would add
    h in float32 where it added g in float64): a float32 number made in the function leaves the pass out."""
    u, f = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    np.testing.assert_allclose(s2s.grad(total_variation_with_a_float32_weight)(u, f),
                               s2s.derivative(total_variation_with_a_float32_weight)(u, f), rtol=1e-6)
    src = s2s.source(s2s.grad(total_variation_with_a_float32_weight), u, f)
    assert "np.zeros" in src or "grad_diff" in src, src
