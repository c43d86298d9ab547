"""transforms/shapes.py: the shape of an index expression with new axes (`None`, `np.newaxis`) and `...`,
each claim checked against NumPy's; None where it is not certain."""

import ast
import builtins

import numpy as np
import pytest
from s2s.transforms.shapes import Shapes
from s2s.transforms.specialize import runtime_helpers

import s2s.pipeline  # noqa: F401 - installs the context the passes read rules through

P = {"x": (5,), "y": (3, 4), "s": (), "u": None}


def _shape(expr):
    fdef = ast.parse(f"def f({', '.join(P)}):\n    out = {expr}\n").body[0]
    resolve = {"np": np}.get
    shapes = Shapes(fdef, dict(P), lambda n: resolve(n, getattr(builtins, n, None)), runtime_helpers(), {})
    return shapes.env["out"]


CLAIMED = ["x[:, None]", "x[None]", "x[None, :]", "x[..., None]", "x[:, None, None]", "x[...]", "y[0, None]",
           "y[None, ..., 1:]", "y[..., 0]", "y[:, np.newaxis, :]", "y[None, None]", "y[..., None, :]",
           "y[0, ..., None]", "y[-1, None, ::2]", "y[..., -1]", "y[1:, ...]", "y[None, 1, 2]"]


@pytest.mark.parametrize("expr", CLAIMED)
def test_shape_is_numpys(expr):
    values = {"x": np.zeros(5), "y": np.zeros((3, 4)), "np": np}
    assert _shape(expr) == np.shape(eval(expr, values))


@pytest.mark.parametrize("expr", [
    "s[None]",  # a Python number has no items
    "x[..., ...]",  # two ellipses: IndexError
    "y[0, 1, None, 2]",  # more axes taken than y has
    "u[:, None]",  # unknown base
    "y[x, None]",  # an array index is not followed
])
def test_not_claimed(expr):
    assert _shape(expr) is None
