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


# ---- fusion: a recomputation the backward code changes in place is kept -----------------------------------
class _Calls:
    """Shapes as fuse_independent_trips asks them: every value a number, every call NumPy's sum (pure)."""

    def of(self, node):
        return ()

    def callee(self, call):
        return np.sum


_ALIASED = '''
def g(x, w):
    stack = []
    c = t = v = None
    for i in range(3):
        stack.append(c)
        c = x[i]
        t = w * c
        stack.append(v)
        v = t
    x_bar = np.zeros(3)
    for i in reversed(range(3)):
        t = w * c
        t += 1.0
        x_bar[i] += np.sum(v * t)
        v = stack.pop()
        c = stack.pop()
    return x_bar'''


def test_fusion_keeps_a_recomputation_changed_in_place():
    # the backward `t = w * c` was dropped as the value t holds, so `t += 1.0` changed the forward's array,
    # which `v` shares: v * t read (w c + 1)^2 instead of w c (w c + 1)
    from transforms.fusion import fuse_independent_trips
    fdef = ast.parse(_ALIASED).body[0]
    fuse_independent_trips(fdef, "stack", _Calls(), lambda node, shapes: True)
    fused = ast.unparse(fdef)
    assert "reversed(" not in fused
    spaces = [{"np": np}, {"np": np}]
    exec(_ALIASED, spaces[0])
    exec(fused, spaces[1])
    x, w = np.array([1.0, 2.0, 3.0]), np.array([0.5, 1.5])
    want = [np.sum(w * c * (w * c + 1.0)) for c in x]
    np.testing.assert_allclose(spaces[0]["g"](x, w), want)
    np.testing.assert_allclose(spaces[1]["g"](x, w), want, err_msg=fused)


# ---- fusion: an array the trips read, changed in place by the code after the loop ---------------------------
def item_of_an_array_sum(x, w):
    s = np.zeros(3)
    for i in range(x.shape[0]):
        s = s + np.sin(x[i]) * w
    v = s[2]
    return v * v + np.sum(np.cos(w) * s)


def test_adjoint_changed_in_place_between_the_loops_is_not_fused():
    # s_bar = cos(w); s_bar[2] += 2 v between the loops: fused, the item was added after the trips read s_bar
    r = np.random.default_rng(0)
    x, w = r.normal(size=5), r.normal(size=3)
    want = fd_grad(item_of_an_array_sum, (x, w), wrt=0)
    np.testing.assert_allclose(s2s.grad(item_of_an_array_sum)(x, w), want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(s2s.derivative(item_of_an_array_sum)(x, w), want, rtol=1e-6, atol=1e-8)


_SUM_UNDER_ANOTHER_NAME = '''
def g(x):
    stack = []
    t = None
    for i in range(3):
        stack.append(t)
        t = x[i] * 2.0
    x_bar = np.zeros(3)
    y = x_bar
    for i in reversed(range(3)):
        x_bar[i] += 1.0 + t * np.sum(y)
        t = stack.pop()
    return x_bar'''


def test_fusion_refuses_a_sum_read_under_another_name():
    # each trip reads the sum through `y`: the trips' order is seen, the loops must stay two
    from transforms.fusion import fuse_independent_trips
    fdef = ast.parse(_SUM_UNDER_ANOTHER_NAME).body[0]
    fuse_independent_trips(fdef, "stack", _Calls(), lambda node, shapes: True)
    space = {"np": np}
    exec(ast.unparse(fdef), space)
    t = np.array([1.0, 2.0, 3.0]) * 2.0
    want = [1.0 + t[0] * (2.0 + t[1]), 1.0 + t[1], 1.0]  # trips last to first
    np.testing.assert_allclose(space["g"](np.array([1.0, 2.0, 3.0])), want, err_msg=ast.unparse(fdef))


# ---- fused and right: trips that only look dependent --------------------------------------------------------
def swapped_each_trip(x):
    a, b = 1.0, 2.0
    s = 0.0
    for i in range(x.shape[0]):
        a, b = b, a  # carried, but no trip's adjoint reads what another trip bound
        s += a * x[i]
    return s


def neighbour_differences(x):
    s = 0.0
    for i in range(1, x.shape[0]):
        s += (x[i] - x[i - 1]) ** 2
    return s


def repeated_indices(x, idx):
    s = 0.0
    for p in range(idx.shape[0]):
        k = idx[p]
        s += x[k] * x[k] * x[0]
    return s


def overlapping_slices(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += np.sum(x[i:i + 2] ** 2) * x[i]
    return s


def branch_each_side(x):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0:
            s += x[i] * x[i]
        else:
            s -= np.sin(x[i])
    return s


def rows_minus_one(A, b):
    s = 0.0
    for i in range(A.shape[0]):
        r = A[i] @ b - 1.0
        s += r * r * A[i, 0]
    return s


_R = np.random.default_rng(7)
FUSED = {
    "swapped_each_trip": (swapped_each_trip, (_R.normal(size=5),), 0),
    "neighbour_differences": (neighbour_differences, (_R.normal(size=6),), 0),
    "repeated_indices": (repeated_indices, (_R.normal(size=5), np.array([0, 3, 3, 1, 0])), 0),
    "overlapping_slices": (overlapping_slices, (_R.normal(size=5),), 0),
    "branch_each_side": (branch_each_side, (np.array([0.5, -1.2, 0.3, -0.4, 1.1]),), 0),
    "rows_minus_one": (rows_minus_one, (_R.normal(size=(4, 3)), _R.normal(size=3)), (0, 1)),
}


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_and_right(name):
    f, args, wrt = FUSED[name]
    src = s2s.source(s2s.grad(f, wrt=wrt), *args)
    assert "reversed(range(" not in src and "stack.pop()" not in src, src
    got = s2s.grad(f, wrt=wrt)(*args)
    general = s2s.derivative(f, wrt=wrt)(*args)
    for k, w in enumerate(wrt if isinstance(wrt, tuple) else (wrt,)):
        g = got[k] if isinstance(wrt, tuple) else got
        np.testing.assert_allclose(g, fd_grad(f, args, wrt=w), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(g, general[k] if isinstance(wrt, tuple) else general, rtol=1e-12, atol=1e-14)
