"""transforms/negations.py: a negated operand of a product or quotient bound to a name (`t = -a / c`) is
pulled out where every read of the name takes the sign; left where one does not. Each rewrite checked to
give the same numbers bit for bit."""

import ast

import numpy as np
import pytest
from s2s.transforms.negations import spread_number_negations

import s2s.pipeline  # noqa: F401 - installs the context the passes read rules through


class _Numbers:
    """Shapes as spread_number_negations asks them: every name a real number."""

    def of(self, node):
        return ()

    def real(self, node):
        return True


def _rewritten(code, removable):
    fdef = ast.parse(code).body[0]
    changed = spread_number_negations(fdef, _Numbers(), removable)
    return changed, ast.unparse(fdef)


def _same_numbers(code, rewritten, names):
    r = np.random.default_rng(0)
    spaces = [{}, {}]
    exec(code, spaces[0])
    exec(rewritten, spaces[1])
    for _ in range(50):
        args = [float(v) for v in r.normal(size=len(names)) * 10.0 ** r.integers(-3, 4, size=len(names))]
        assert spaces[0]["f"](*args) == spaces[1]["f"](*args), (args, rewritten)


NEWTON = """def f(x_bar, a_bar, t6, dx, x):
    t4_bar = -x_bar / t6
    t6_bar = x_bar * dx / t6
    a_bar = a_bar - t4_bar
    x_bar = x_bar + 6.0 * (t6_bar * x) + 3.0 * (t4_bar * x * x)
    return x_bar, a_bar
"""


def test_the_sign_of_a_quotient_goes_where_its_reads_take_it():
    # (Newton's cube root's backward trip: one negation fewer a trip)
    changed, out = _rewritten(NEWTON, {"t4_bar", "t6_bar"})
    assert changed and "-x_bar" not in out and "a_bar = a_bar + t4_bar" in out, out
    assert "- 3.0 * (t4_bar * x * x)" in out, out
    _same_numbers(NEWTON, out, ["x_bar", "a_bar", "t6", "dx", "x"])


@pytest.mark.parametrize("code", [
    "def f(a, b, c, y):\n    t = -a * b / c\n    y *= t\n    return y + t\n",  # (`y *= t` takes no sign)
    "def f(a, b, c, y):\n    t = -a * b\n    u = t\n    return u + y\n",  # (a read that is a whole value)
    "def f(a, b, c, y):\n    t = -a * -b\n    return y - t\n",  # (two negations: not one to pull)
    "def f(a, b, c, y):\n    t = (-a + b) * c\n    return y - t\n",  # (a sum in the chain)
])
def test_left_where_a_read_cannot_take_the_sign(code):
    changed, out = _rewritten(code, {"t", "u"})
    assert not changed, out


def test_a_product_chain_with_a_negated_operand_inside():
    code = "def f(a, b, c, y):\n    t = b * -a / c\n    s = y - t * c\n    return s + t\n"
    changed, out = _rewritten(code, {"t", "s"})
    assert changed and "-a" not in out and "-" in out, out
    _same_numbers(code, out, ["a", "b", "c", "y"])


def barrier(x, A, b):
    return -np.sum(np.log(b - A @ x)) + 0.5 * np.sum(x ** 2)


def test_a_negated_quotient_read_negated_takes_the_sign_into_its_literal():
    """`s_bar = -1.0 / s; t2_bar = -s_bar` (the adjoint of `-np.sum(np.log(s))` read by that of `b - A @ x`) is
    `s_bar = 1.0 / s`, read as it is: one array operation fewer, the same numbers (`-(c / E)` is `(-c) / E`)."""
    from s2s.transforms.specialize import negate_into_literals

    from tests.plain_code import plain_gradient

    r = np.random.default_rng(3)
    args = (r.normal(size=4) * 0.05, r.normal(size=(9, 4)), r.uniform(1.0, 2.0, size=9))
    src = s2s.source(s2s.grad(barrier), *args)
    assert "= 1.0 / t2" in src and "-1.0 / t2" not in src and "= -t2_bar" not in src, src
    np.testing.assert_array_equal(s2s.grad(barrier)(*args), plain_gradient(barrier, args, 0))
    fdef = ast.parse("def f(s, t):\n a = 0 * s\n b = -a\n c = 2.0 * t\n d = -c\n return b + d").body[0]
    assert negate_into_literals(fdef, {"a", "b", "c", "d"})
    assert ast.unparse(fdef).splitlines()[1:5] == ["    a = 0 * s", "    b = -a", "    c = -2.0 * t", "    d = c"]
