"""Adversarial programs for transforms/products.py (helper 69): a binding the rewrites delete or inline, read
again after its one read by `name += v` (an AugAssign target is a Store name in the AST, yet reads the name)."""

import ast
import builtins
import textwrap

import numpy as np
import pytest
from s2s.transforms.products import products
from s2s.transforms.specialize import Context

import s2s.pipeline  # noqa: F401  (installs the transforms' context)
from s2s import runtime

SHAPES = {"D": (20, 3), "N": (2, 20), "v": (3,), "E": (20, 3)}


def _rewrite(src):
    names = {"np": np, "s2s": runtime}
    ctx = Context(SHAPES, lambda n: names.get(n, getattr(builtins, n, None)), "np", {p: "d" for p in SHAPES})
    src = textwrap.dedent(src)
    fdef = ast.parse(src).body[0]
    products(fdef, ctx.shapes)
    return src, ast.unparse(fdef)


def _run(src):
    ns = {"np": np}
    exec(src, ns)
    rng = np.random.default_rng(0)
    return ns["f"](*[rng.normal(size=s) for s in SHAPES.values()])


@pytest.mark.parametrize("src", [
    # the number factor: `X = 2.0 * D` inlined into its one read and deleted; `X += 1.0` then changed the
    # array bound to X before it (which Y holds): u + Y[:, 0] off by 1.0
    """
    def f(D, N, v, E):
        X = E * 1.0
        Y = X
        X = 2.0 * D
        u = X @ v
        X += 1.0
        return u + Y[:, 0]
    """,
    # ... with no binding before: UnboundLocalError
    """
    def f(D, N, v, E):
        t = 0.5 * D
        u = t @ v
        t += 1.0
        return u
    """,
    # the shared factor: `P = N @ D` deleted into `S = N @ (D + E)`; `P += 1.0` then raised UnboundLocalError
    """
    def f(D, N, v, E):
        P = N @ D
        Q = N @ E
        S = P + Q
        P += 1.0
        return S
    """,
])
def test_a_binding_updated_in_place_after_its_read_stays(src):
    before, after = _rewrite(src)
    np.testing.assert_allclose(_run(after), _run(before), rtol=1e-12, atol=1e-12)
    assert "+= 1.0" in after


@pytest.mark.parametrize("factor, moved", [(0.5, True), (200.0, True), (1e-300, False), (1e5, False)])
def test_only_factors_of_moderate_magnitude_move(factor, moved):
    # moving 1e-300 onto N @ D would overflow where N @ (1e-300 * D) does not, for D near the largest float
    src, out = _rewrite(f"""
    def f(D, N, v, E):
        t = {factor!r} * D
        u = N @ t
        return u @ v
    """)
    assert (f"{factor!r} * D" not in out) == moved, out
    ns = {"np": np}
    exec(out, ns)
    D = np.full((20, 3), 1e307)
    got = ns["f"](D, np.ones((2, 20)), np.ones(3), D)
    if factor == 1e-300:
        assert np.all(np.isfinite(got)), got
