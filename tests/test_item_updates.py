"""Item assignments in place (transforms/item_updates.py) and windows `x[i:i + k]` of known length
(transforms/shapes.py, `Counted`).

Each program is checked against central finite differences and the general code (s2s.derivative);
autograd cannot assign into arrays, so it is no oracle here. The specialised source is checked for the
rewrite it should get, and for the copies it must keep where another reader could see the array.
"""

import numpy as np
import pytest
from helpers_fd import check_grad, fd_grad

import s2s

# ---------------------------------------------------------------- programs (module level: s2s reads source)


def conv(w, x):
    k = w.shape[0]
    n = x.shape[0] - k + 1
    y = np.zeros(n)
    for i in range(n):
        y[i] = x[i:i + k] @ w
    return np.sum(np.tanh(y) ** 2)


def shifted_windows(w, x):
    k = w.shape[0]
    y = np.zeros(x.shape[0] - k)
    for i in range(x.shape[0] - k - 1, -1, -1):
        y[i] = np.sum(x[1 + i:i + k + 1] * w)
    return np.sum(y * y)


def strided_windows(w, x):
    k = w.shape[0]
    y = np.zeros(x.shape[0])
    for i in range(1, x.shape[0] - k, 2):
        lo = i - 1
        hi = lo + k
        y[i] = x[lo:hi] @ w
    return np.sum(np.sin(y))


def clipped_windows(w, x):
    k = w.shape[0]
    y = np.zeros(x.shape[0])
    for i in range(x.shape[0]):  # the last windows are shorter: x[i:i + k] clips
        y[i] = np.sum(x[i:i + k] ** 2) * w[0]
    return np.sum(y ** 2)


def wrapping_windows(w, x):
    y = np.zeros(x.shape[0])
    for i in range(x.shape[0]):  # x[-1:1] at i = 0 is empty
        y[i] = np.sum(x[i - 1:i + 1]) * w[0]
    return np.sum(y ** 2)


def stale_bound(w, x):
    k = w.shape[0]
    y = np.zeros(x.shape[0] - k)
    hi = k
    for i in range(x.shape[0] - k):
        y[i] = np.sum(x[i:hi]) * w[0]  # hi is from the step before: the window shrinks
        hi = i + k
    return np.sum(y ** 2)


def after_the_loop(w, x):
    k = w.shape[0]
    for i in range(x.shape[0] - k + 1):  # noqa: B007 (read after the loop)
        pass
    return np.sum(x[i:i + k] * w) ** 2


def states(W, xs):
    T, d = xs.shape
    H = np.zeros((T, d))
    h = np.zeros(d)
    for t in range(T):
        h = np.tanh(W @ h + xs[t])
        H[t] = h
    return np.sum(H ** 2) + np.sum(H[1:] * H[:-1])


def recurrence(a, x):
    y = np.zeros(x.shape[0])
    y[0] = x[0]
    for i in range(1, x.shape[0]):
        y[i] = a[0] * y[i - 1] + x[i]
    return np.sum(y ** 2)


def shift_by_slices(a, x):
    y = x * 1.0
    for i in range(1, x.shape[0]):
        y[1:i + 1] = y[0:i] * a[0]  # reads a slice of the array it writes: the copy stays
    return np.sum(y ** 2)


def read_inside(a, x):
    y = np.zeros(x.shape[0])
    s = 0.0
    for i in range(x.shape[0]):
        y[i] = a[0] * x[i]
        s = s + np.sum(np.sin(y))  # the backward sweep reads each y: it stays on the tape
    return s


def float32_fill(a, x):
    y = np.zeros(x.shape[0], dtype=np.float32)
    for i in range(x.shape[0]):
        y[i] = a[0] * x[i]
    return np.sum(y * y)


def repeated_index(a, x):
    y = np.zeros(3)
    idx = np.array([0, 0, 2])
    y[idx] = a * x[:3]
    return np.sum(y ** 2)


def slice_kept(a, x):
    y = np.zeros(4)
    y[0] = a[0]
    first = y[0:2]  # a view: it sees the update below
    y[1] = a[1] * 2.0
    return np.sum(first ** 2) + np.sum(y)


def copy_kept(a, x):
    y = np.zeros(4)
    y[0] = a[0]
    first = y[0:2].copy()
    y[0] = a[1] * 3.0
    return np.sum(first ** 2) + np.sum(y ** 3)


def conv2d(W, X):
    k = W.shape[0]
    n = X.shape[0] - k + 1
    Y = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            Y[i, j] = np.sum(X[i:i + k, j:j + k] * W)
    return np.sum(np.maximum(Y, 0.0) ** 2)


def added_windows(k, x):
    y = np.zeros(x.shape[0] + 3)
    for i in range(x.shape[0]):
        y[i:i + 3] += x[i] * k  # (the zeroing writes y_bar[slice(i, t, None)], the adding back y_bar[i:t2])
        y[i + 1:i + 4] += np.sin(x[i]) * k
    return np.sum(np.tanh(y) ** 2)


def added_rows(k, x):
    y = np.zeros((x.shape[0] + 2, 3))
    for i in range(x.shape[0]):
        y[i] += x[i] * k
        y[i + 1] += y[i] * x[i]  # (reads y[i]: the first update's adjoint names y_bar between)
    return np.sum(np.tanh(y) ** 2)


def _rng(seed=0):
    return np.random.default_rng(seed)


CASES = {
    "conv2d": (conv2d, lambda r: (r.normal(size=(3, 3)), r.normal(size=(7, 7))), (0, 1)),
    "conv": (conv, lambda r: (r.normal(size=5), r.normal(size=30)), (0, 1)),
    "shifted_windows": (shifted_windows, lambda r: (r.normal(size=3), r.normal(size=12)), (0, 1)),
    "strided_windows": (strided_windows, lambda r: (r.normal(size=3), r.normal(size=13)), (0, 1)),
    "clipped_windows": (clipped_windows, lambda r: (r.normal(size=3), r.normal(size=9)), (0, 1)),
    "wrapping_windows": (wrapping_windows, lambda r: (r.normal(size=1), r.normal(size=7)), (0, 1)),
    "stale_bound": (stale_bound, lambda r: (r.normal(size=3), r.normal(size=9)), (0, 1)),
    "after_the_loop": (after_the_loop, lambda r: (r.normal(size=3), r.normal(size=9)), (0, 1)),
    "states": (states, lambda r: (r.normal(size=(3, 3)) * 0.5, r.normal(size=(5, 3))), (0, 1)),
    "recurrence": (recurrence, lambda r: (r.normal(size=1) * 0.5, r.normal(size=6)), (0, 1)),
    "shift_by_slices": (shift_by_slices, lambda r: (r.normal(size=1), r.normal(size=5)), (0, 1)),
    "read_inside": (read_inside, lambda r: (r.normal(size=1), r.normal(size=6)), (0, 1)),
    "repeated_index": (repeated_index, lambda r: (r.normal(size=3), r.normal(size=5)), (0, 1)),
    "added_windows": (added_windows, lambda r: (r.normal(size=3), r.normal(size=7)), (0, 1)),
    "added_rows": (added_rows, lambda r: (r.normal(size=3), r.normal(size=7) * 0.5), (0, 1)),
    "copy_kept": (copy_kept, lambda r: (r.normal(size=2), r.normal(size=2)), 0),
}


def _source(name):
    f, make, wrt = CASES[name]
    return s2s.source(s2s.grad(f, wrt=wrt), *make(_rng()))


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_is_right(name, seed):
    f, make, wrt = CASES[name]
    args = make(_rng(seed))
    got = s2s.grad(f, wrt=wrt)(*args)
    general = s2s.derivative(f, wrt=wrt)(*args)
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    got = got if isinstance(wrt, tuple) else (got,)
    general = general if isinstance(wrt, tuple) else (general,)
    for p, a, b in zip(positions, got, general):
        check_grad(a, f, args, wrt=p)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_a_filled_array_is_updated_in_place_both_ways():
    src = _source("conv")
    assert "s2s.setitem" not in src and "setitem_grads" not in src, src
    # (y_bar is a copy of the tanh's adjoint, named nowhere after the loop: its rows' zeroing is read by no one)
    assert "y[i] = " in src and "[i] = 0.0" not in src
    assert "stack.append(y)" not in src and "unbroadcast" not in src and "# s2s:" not in src


def test_a_2d_convolution_loop_fills_in_place():
    src = _source("conv2d")  # (the ReLU's mask reads Y: a new array, made at once)
    assert "Y[i, j] = " in src and "s2s.setitem" not in src and "# s2s:" not in src, src


def test_windows_of_offsets_have_their_length():
    for name in ("shifted_windows", "strided_windows"):
        src = _source(name)
        assert "unbroadcast" not in src and "# s2s:" not in src and "s2s.setitem" not in src, src


@pytest.mark.parametrize("name", ["clipped_windows", "wrapping_windows", "stale_bound"])
def test_windows_that_may_change_length_are_not_claimed(name):
    src = _source(name)
    # the note names the line that blocked it; or, for a loop of a few trips (7 windows), each trip is written
    # out with its own window's length (transforms/unroll.py), the gradient checked in test_gradient_is_right
    assert ("shape of" in src and "unknown" in src) or (name == "wrapping_windows" and "for " not in src), src


def test_an_added_window_leaves_its_adjoint_as_it_was():
    # `y[S] += v`: the adjoint of S is read, not zeroed and added back, and read as a view (nothing changes it)
    src = _source("added_windows")
    backward = src[src.index("reversed("):]
    assert "= 0.0" not in backward and "y_bar[" in backward and ".copy()" not in backward, src
    assert "unbroadcast" not in src and "# s2s:" not in src, src


def test_a_row_adjoint_taken_before_the_row_is_zeroed_is_a_copy():
    src = _source("states")
    assert "H[t] = h" in src and "H_bar[t].copy()" in src and "s2s.setitem" not in src, src


def test_a_recurrence_over_items_runs_in_place():
    src = _source("recurrence")  # y[i] = a * y[i - 1] + x[i]: the item read is a number, made before the write
    assert "s2s.setitem" not in src and "getitem_grad" not in src and "stack.append(y)" not in src, src
    assert "y_bar[i2] += " in src or "y_bar[i - 1] += " in src or "] += " in src


def test_an_update_reading_a_slice_of_its_own_array_keeps_the_copy():
    # the copy stays, or (the loop written out, its adjoint split) each slice of y read is copied before the write
    src = _source("shift_by_slices")
    reads = [line.split("=", 1)[1].strip() for line in src.splitlines()
             if "= y[" in line and "y_bar" not in line and not line.strip().startswith("#")]
    assert "s2s.setitem(y, " in src or reads and all(r.endswith(".copy()") for r in reads), src


def test_an_array_the_backward_sweep_reads_tapes_the_item_it_overwrites():
    # the tape saves y[i] before the write and the backward sweep writes it back: y runs in place, no copies
    src = _source("read_inside")
    assert "y_item = y[i]" in src and "stack.append(y_item)" in src and "y[i] = y_item" in src, src
    assert "s2s.setitem(y, i" not in src, src
    assert "y_bar[i] = 0.0" in src  # (its adjoint is the function's own)


def test_float32_fill_keeps_its_dtype_and_is_right():
    rng = _rng()
    a, x = rng.normal(size=1), rng.normal(size=6)
    g = s2s.grad(float32_fill)(a, x)
    np.testing.assert_allclose(g, fd_grad(float32_fill, (a, x), eps=1e-3), rtol=1e-4)  # (float32 values)
    np.testing.assert_allclose(g, s2s.derivative(float32_fill)(a, x), rtol=1e-12)


def test_a_slice_that_sees_a_later_update_is_followed():
    rng = _rng()
    a, x = rng.normal(size=2), rng.normal(size=2)
    try:
        g = s2s.grad(slice_kept)(a, x)
    except s2s.errors.S2SError as e:  # refused with the line: the view is read after the update
        assert "slice_kept" in str(e) or "line" in str(e)
        return
    check_grad(g, slice_kept, (a, x))


def test_an_int_array_takes_truncated_values_the_same_way():
    def f(a):
        y = np.arange(3)
        y[1] = a[0] * 2.7
        return np.sum(y * a)
    a = np.array([1.3, 0.4, -2.0])
    # y = [0, int(3.51), 2] = [0, 3, 2]: the update's value is cast to an int, which has no derivative
    np.testing.assert_allclose(s2s.grad(f)(a), [0.0, 3.0, 2.0])
    np.testing.assert_allclose(s2s.grad(f)(a), s2s.derivative(f)(a))
    value, tangent = s2s.jvp(f, (a,), (np.array([1.0, 0.0, 0.0]),))
    assert tangent == 0.0  # (forward mode: the same)


def test_a_float_array_takes_the_value_s_derivative():
    def f(a):
        y = np.zeros(3)
        y[1] = a[0] * 2.7
        y[2] = a[1]
        return np.sum(y * a)
    a = np.array([1.3, 0.4, -2.0])
    np.testing.assert_allclose(s2s.grad(f)(a), [1.08, 1.51, 0.4])
    np.testing.assert_allclose(s2s.jvp(f, (a,), (np.array([1.0, 0.0, 0.0]),))[1], 1.08)
