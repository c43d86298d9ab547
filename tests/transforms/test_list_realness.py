"""transforms/shapes.py: which lists' items are claimed real floats (`Shapes.reals`, `Site.items_real`).

A list appended to in a loop (`hs.append(h)`, then `np.stack(hs)`) holds real floats where every value
appended is one and no one else can put an item in it; a list adjoint (`s2s.grad_stack`'s pieces,
popped by `s2s.append_grads_owned`) where its pieces are of a real `g` and no other name holds it.
A claim lets the optimizer drop unread values and add adjoints in place, so anything else must not
be claimed: ints, complex numbers, a list another name holds, one changed by a call or a
comprehension, or given an item by `extend` or an index.
"""

import ast
import builtins

import numpy as np
import pytest
from s2s.transforms.shapes import Shapes
from s2s.transforms.specialize import runtime_helpers

import s2s.pipeline  # noqa: F401 - installs the context the passes read rules through
import s2s.runtime


def _reals(body, params=None, kinds=None):
    """The names `Shapes` claims real in `body`, a function of x (float64, shape (4,)) and G (float64, (3, 4))."""
    src = "def f(x, G):\n" + "\n".join("    " + line for line in body.strip().splitlines()) + "\n"
    fdef = ast.parse(src).body[0]
    names = {"np": np, "s2s": s2s.runtime}
    shapes = Shapes(fdef, params or {"x": (4,), "G": (3, 4)}, lambda n: names.get(n, getattr(builtins, n, None)),
                    runtime_helpers(), kinds or {"x": "d", "G": "d"})
    return shapes.reals


APPENDED = """
hs = []
h = x
for i in range(3):
    h = np.tanh(h)
    hs.append({item})
{extra}
H = np.stack(hs)
"""


def test_a_list_appended_real_arrays_stacks_real():
    assert "H" in _reals(APPENDED.format(item="h", extra=""))
    assert "H" in _reals(APPENDED.format(item="2.0 * h", extra=""))
    assert "H" in _reals(APPENDED.format(item="h", extra="hs.pop()"))


@pytest.mark.parametrize("item, extra", [
    ("h * 1j", ""),  # complex
    ("h.astype(int)", ""),  # ints
    ("i", ""),  # a loop counter
    ("h > 0", ""),  # booleans
    ("h", "other = hs\nother.append(1j * x)"),  # another name holds the list
    ("h", "hs.extend([1j * x])"),
    ("h", "hs += [1j * x]"),
    ("h", "hs[0] = 1j * x"),
    ("h", "hs.insert(0, 1j * x)"),
    ("h", "change(hs)"),  # an unknown function may append anything
    ("h", "[hs.append(1j * x) for _ in range(1)]"),
    ("h", "hs = [1j * x, x, x]"),  # bound again
])
def test_anything_else_is_not_claimed(item, extra):
    assert "H" not in _reals(APPENDED.format(item=item, extra=extra))


ITEMS = """
hs = []
h = x
for i in range(3):
    h = np.tanh(h)
    hs.append({item})
{extra}
for i in range(3):
    seq = s2s.as_sequence(hs)
    by_index = hs[i]
    iterated = seq[i]
"""


def test_an_item_of_a_list_of_real_arrays_is_real():
    assert {"by_index", "iterated"} <= _reals(ITEMS.format(item="h", extra=""))


@pytest.mark.parametrize("item, extra", [
    ("h * 1j", ""),  # complex items
    ("h", "hs.append(1j * x)"),  # one complex item appended after
    ("h", "other = hs\nother.append(1j * x)"),  # another name holds the list
])
def test_an_item_of_any_other_list_is_not_claimed(item, extra):
    assert not {"by_index", "iterated"} & _reals(ITEMS.format(item=item, extra=extra))


def test_a_list_appended_to_nothing_is_not_claimed():
    assert "H" not in _reals("hs = []\nH = np.array(hs)")


ADJOINT = """
hs = [x, x, x]
L = s2s.grad_stack({g}, hs, 0)
{extra}
for i in range(3):
    L, g = s2s.append_grads_owned(L)
    out = g
"""


def test_the_last_piece_of_a_real_adjoint_is_real():
    assert {"g", "out"} <= _reals(ADJOINT.format(g="G", extra=""))
    assert "g" in _reals(ADJOINT.format(g="2.0 * G", extra="").replace("append_grads_owned", "append_grads"))


@pytest.mark.parametrize("g, extra", [
    ("G * 1j", ""),  # complex pieces
    ("G.astype(int)", ""),
    ("G", "M = L\nM.append(1j * x)"),  # another name holds the list adjoint
    ("G", "keep = [L]"),
    ("G", "L = [1j * x, x, x]"),  # bound to something else too
    ("G", "L.append(1j * x)"),
    ("G", "change(L)"),
])
def test_other_list_adjoints_are_not_claimed(g, extra):
    reals = _reals(ADJOINT.format(g=g, extra=extra))
    assert "g" not in reals and "out" not in reals


def test_the_list_itself_is_never_a_real_value():
    """A list is not a real float: `L + L` would join lists, not add numbers."""
    reals = _reals(ADJOINT.format(g="G", extra="") + "M = L\nN = M + M\n")
    assert not {"L", "M", "N"} & reals
    reals = _reals(APPENDED.format(item="h", extra="") + "N = np.stack(hs)\n")
    assert "hs" not in reals


ARRAY_ADJOINT = """
hs = []
for i in range(3):
    hs.append({item})
A = np.array(hs)
L = s2s.array_grad({g}, hs)
for i in range(3):
    L, g = s2s.append_grads_owned(L)
"""


def test_the_items_of_an_arrays_adjoint_are_real_where_the_list_s_items_are():
    assert "g" in _reals(ARRAY_ADJOINT.format(item="x[i]", g="G[0, :3]"))
    assert "g" in _reals(ARRAY_ADJOINT.format(item="2.0 * x", g="G"))


@pytest.mark.parametrize("item, g", [
    ("[x[i], x[i]]", "G[:, :2]"),  # lists in the list: array_grad gives lists of pieces
    ("(x[i], x[i])", "G[:, :2]"),
    ("i", "G[0, :3]"),  # ints: not known to be items of a real array's adjoint
    ("x[i]", "G[0, :3] * 1j"),
])
def test_other_arrays_adjoints_are_not_claimed(item, g):
    assert "g" not in _reals(ARRAY_ADJOINT.format(item=item, g=g))


def test_a_list_adjoint_read_twice_elsewhere_is_not_claimed():
    reals = _reals(ADJOINT.format(g="G", extra="M = L\nN = L"))
    assert "g" not in reals


# ---- powers: Python's (-2.0) ** 0.5 is complex, NumPy's nan

@pytest.mark.parametrize("body", [
    "v = -2.0\ny = v ** 0.5",  # a Python float to a non-integral power
    "v = x[0] * 1.0\nw = float(v)\ny = w ** 1.5",
    "v = -2.0\ny = (v + 1.0) ** 0.25",
])
def test_a_number_to_a_fractional_power_is_not_claimed(body):
    assert "y" not in _reals(body)


@pytest.mark.parametrize("body", [
    "y = x ** 0.5",  # an array: NumPy gives nan
    "y = G ** 1.5",
    "v = -2.0\ny = v ** 2",  # integral exponents
    "v = -2.0\ny = v ** 3.0",
    "y = 2.0 ** x[0]",  # a base not below 0
    "y = np.sum(x) ** 0.5",  # a NumPy scalar
    "y = np.exp(x[0]) ** 0.5",
])
def test_powers_that_cannot_be_complex_are_claimed(body):
    assert "y" in _reals(body)
