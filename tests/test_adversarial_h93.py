"""Adversarial review of the fusion of independent trips (transforms/fusion.py) and of spread negations
(transforms/negations.py): the regressions found, and fused programs whose gradients are checked against
central differences and the general code."""

import ast

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s
from transforms.negations import spread_number_negations


# ---- negations: a read of `t = -a` in `y *= t` takes no sign -----------------------------------------------
class _Numbers:
    """Shapes as spread_number_negations asks them: every name a real number."""

    def of(self, node):
        return ()

    def real(self, node):
        return True


def test_negation_read_in_a_product_in_place_keeps_its_sign():
    # `y *= t` was rewritten `y += a` (the branch for `y += t` took any op=)
    code = "def f(a, c, y):\n    t = -a\n    y *= t\n    u = c + t\n    return y + u\n"
    fdef = ast.parse(code).body[0]
    spread_number_negations(fdef, _Numbers(), {"t", "u"})
    rewritten = ast.unparse(fdef)
    spaces = [{}, {}]
    exec(code, spaces[0])
    exec(rewritten, spaces[1])
    want = (-1.5) * 2.0 + 0.25 + (-1.5)  # y * (-a) + c - a with a = 1.5, c = 0.25, y = 2.0
    assert spaces[0]["f"](1.5, 0.25, 2.0) == want
    assert spaces[1]["f"](1.5, 0.25, 2.0) == want, rewritten
