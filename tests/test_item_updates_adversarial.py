"""Programs a user could write that the in-place item updates (transforms/item_updates.py), the windows of
a loop counter (transforms/shapes.py, `Counted`) and the merged copies (transforms/merge.py) must get right.

Each is checked against central finite differences and against the general code (s2s.derivative).
"""

import ast
import builtins

import numpy as np
import pytest
from helpers_fd import check_grad
from s2s.transforms.shapes import Shapes
from s2s.transforms.specialize import runtime_helpers

import s2s
import s2s.pipeline  # noqa: F401 - installs the context the passes read rules through

# ---------------------------------------------------------------- programs (module level: s2s reads source)


def counter_moved_by_a_loop_with_no_body(w, x):
    for i in range(2):  # noqa: B007 (read after the loop)
        pass
    lo = i + 0
    for i in range(5, 7):  # noqa: B007 (i is 6 after it, not the 1 that `lo` was counted on)
        pass
    return np.sum(np.sin(x[lo:i + 1] * w))


def counter_moved_in_a_branch(w, x):
    for i in range(2):  # noqa: B007 (read after the loop)
        pass
    lo = i + 0
    if x[0] > -100.0:
        for i in range(4, 6):  # noqa: B007 (read after the loop)
            pass
    return np.sum(np.sin(x[lo:i + 1] * w))


def negated_counter(w, x):
    y = np.zeros(3)
    for i in range(3):  # x[3 - i:i + 4]: 1, 3 and 5 items, not the 1 of `-i + 3` read as `i + 3`
        y[i] = np.sum(w * x[-i + 3:i + 4])
    return np.sum(y ** 2)


def inverted_counter(w, x):
    y = np.zeros(3)
    for i in range(3):  # ~i + 4 is 3 - i
        y[i] = np.sum(w * x[~i + 4:i + 4])
    return np.sum(y ** 2)


def _rng(seed=0):
    return np.random.default_rng(seed)


CASES = {
    "counter_moved_by_a_loop_with_no_body": (counter_moved_by_a_loop_with_no_body,
                                             lambda r: (r.normal(size=6), r.normal(size=9))),
    "counter_moved_in_a_branch": (counter_moved_in_a_branch, lambda r: (r.normal(size=5), r.normal(size=9))),
    "negated_counter": (negated_counter, lambda r: (r.normal(size=1), r.normal(size=9))),
    "inverted_counter": (inverted_counter, lambda r: (r.normal(size=1), r.normal(size=9))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_is_right(name):
    f, make = CASES[name]
    args = make(_rng())
    got = s2s.grad(f, wrt=(0, 1))(*args)
    general = s2s.derivative(f, wrt=(0, 1))(*args)
    for p in (0, 1):
        check_grad(got[p], f, args, wrt=p)
        np.testing.assert_allclose(got[p], general[p], rtol=1e-10, atol=1e-12)


def counter_read_between_two_loops(w, x):
    i = 0
    for i in range(3):  # noqa: B007 (nothing to do, but i is 2 after it)
        pass
    j = i
    s = 0.0
    for i in range(2):
        s = s + w[0] * x[j] * x[i]
    return s


def test_a_loop_with_nothing_to_do_still_binds_its_counter():
    # (the tape pass dropped `for i in range(3): pass`, so x[j] read x[0]: a wrong derivative in both codes)
    w, x = np.array([0.7]), np.arange(1.0, 6.0)
    expected_x = np.array([0.7 * 3.0, 0.7 * 3.0, 0.7 * 3.0, 0.0, 0.0])  # d/dx of 0.7 * x[2] * (x[0] + x[1])
    for derivative in (s2s.grad, s2s.derivative):
        gw, gx = derivative(counter_read_between_two_loops, wrt=(0, 1))(w, x)
        np.testing.assert_allclose(gw, [3.0 * 3.0], rtol=1e-12)
        np.testing.assert_allclose(gx, expected_x, rtol=1e-12)
        check_grad(gx, counter_read_between_two_loops, (w, x), wrt=1)


STALE_TUPLE = """
def f(x):
    for i in range(1, 4):
        pass
    p = (i, 0)
    for i in range(1, 4):
        lo = p[0]
        t = i + 2
        window = x[lo:t]
"""


def test_a_tuple_holding_a_counter_forgets_it_when_the_counter_moves():
    # p[0] is 3 in every trip of the second loop, not its i: x[3:3], x[3:4], x[3:5] (0, 1, 2 items, not 2)
    fdef = ast.parse(STALE_TUPLE).body[0]
    shapes = Shapes(fdef, {"x": (9,)}, lambda n: {"np": np}.get(n, getattr(builtins, n, None)), runtime_helpers(), {})
    window = next(n for n in ast.walk(fdef) if isinstance(n, ast.Assign) and n.targets[0].id == "window")
    assert shapes.of(window.value) is None
    lo = next(n for n in ast.walk(fdef) if isinstance(n, ast.Assign) and n.targets[0].id == "lo")
    assert shapes.of(lo.value) == () and type(shapes.of(lo.value)) is tuple


def clamp(x):
    return max(0.0, min(x, 1.0)) * x


@pytest.mark.parametrize("x", [-0.5, 0.7, 1.5])
def test_a_clamp_by_max_and_min_outside_the_range(x):
    # (below the range max picks 0.0 and min's adjoint is the zero adjoint: its parts were read from 0.0,
    # TypeError: 'float' object is not subscriptable, in both codes)
    expected = {-0.5: 0.0, 0.7: 1.4, 1.5: 1.0}[x]
    for derivative in (s2s.grad, s2s.derivative):
        assert derivative(clamp)(x) == pytest.approx(expected, abs=1e-12)
    check_grad(s2s.grad(clamp)(x), clamp, (x,))


try:
    import dask.array as da
except ImportError:  # (the test below is skipped)
    da = None


def dask_int_filled(a):
    y = da.arange(3) * 1
    y[1] = a[0] * 2.7  # int(3.51): truncated, no derivative
    return np.sum(y * a)


@pytest.mark.skipif(da is None, reason="needs dask")
def test_a_float_written_into_a_dask_int_array_has_no_derivative():
    # (written_into looked at NumPy arrays only: 1.08 for a[0] in grad, derivative and jvp)
    a = da.from_array(np.array([1.3, 0.4, -2.0]))
    for derivative in (s2s.grad, s2s.derivative):
        np.testing.assert_allclose(np.asarray(derivative(dask_int_filled)(a)), [0.0, 3.0, 2.0])
    tangent = s2s.jvp(dask_int_filled, (a,), (da.from_array(np.array([1.0, 0.0, 0.0])),))[1]
    assert float(np.asarray(tangent)) == 0.0


def test_an_item_of_a_tuple_assigned_raises_pythons_error():
    # (helper 164: s2s's functional copy of the container raised AttributeError, 'tuple' has no copy)
    def f(x):
        t = (x * 2.0, x)
        t[0] = x
        return np.sum(t[0])

    with pytest.raises(TypeError, match="'tuple' object does not support item assignment"):
        f(np.ones(2))
    with pytest.raises(TypeError, match="'tuple' object does not support item assignment"):
        s2s.grad(f)(np.ones(2))
