"""Shape facts per program point, and index adjoints accumulated in place (issue 16).

Each program is checked against central finite differences, autograd and the general code
(s2s.derivative), and its specialised source is checked for the rewrite it should now get.
"""

import numpy as np
import pytest
from helpers_fd import check_all, check_all_and_general
from tape_text import taped

import s2s
from s2s import pipeline  # noqa: F401  (installs the context the shape tests below need)

# ---------------------------------------------------------------- programs (module level: s2s reads source)


def rnn_local(Wh, Wx, xs):
    h = np.zeros(Wh.shape[0])
    for t in range(xs.shape[0]):
        h = np.tanh(Wh @ h + Wx @ xs[t])
    return np.sum(h * h)


def euler(k, x0):
    x, v = x0, 0.0
    for _ in range(20):
        a = -k * x - 0.1 * v
        x = x + 0.1 * v
        v = v + 0.1 * a
    return x * x + v * v


def euler_arrays(k, x0):
    x, v = x0, 0.0  # v is a number before the loop and an array after its first step
    for _ in range(5):
        a = -k * x - 0.1 * v
        x = x + 0.1 * v
        v = v + 0.1 * a
    return np.sum(x * x + v * v)


def euler_until(k, x0):
    x, v, t = x0, 0.0, 0.0  # as euler_arrays, for a time the loop cannot know in advance
    while t < 0.45:
        a = -k * x - 0.1 * v
        x = x + 0.1 * v
        v = v + 0.1 * a
        t = t + 0.1
    return np.sum(x * x + v * v)


def gru_concatenated(Wz, Wh, xs):
    h = np.zeros(Wz.shape[0])
    for t in range(xs.shape[0]):
        zin = np.concatenate([h, xs[t]])
        z = 1.0 / (1.0 + np.exp(-(Wz @ zin)))
        hc = np.tanh(Wh @ np.concatenate((z * h, xs[t]), axis=0))
        h = (1 - z) * h + z * hc
    return np.sum(np.stack([h, h * h], axis=1) ** 2)


def picked_by_labels(theta, feats, actions):
    total = 0.0
    for t in range(feats.shape[0]):
        p = np.exp(feats[t] @ theta)
        p = p / np.sum(p)
        total = total + np.log(p[actions[t]])  # an item of an int array is an int index
    return -total


def collected_states(W, U, xs):
    h = np.zeros(W.shape[0])
    hs = []
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
        hs.append(h)
    H = np.stack(hs)
    return np.sum(H.mean(axis=0) ** 2) + H.var() + np.sum(np.array(hs)[1:] ** 3)


def collected_sometimes(W, xs):
    h = np.zeros(W.shape[0])
    hs = []
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
        if t % 2 == 0:
            hs.append(h)
    return np.sum(np.stack(hs) ** 2)


def path_length(P):
    e = 0.0
    for i in range(P.shape[0] - 1):
        d = P[i + 1] - P[i]
        e = e + np.linalg.norm(d)
    return e


def rows_and_slices(P, w):
    s = 0.0
    n = P.shape[0]
    for i in range(n - 1):
        s = s + np.sum(P[i] * w) * np.sum(P[n - 1 - i, ::-1] * w) + np.sum(P[i:i + 2] ** 2)
    return s + np.sum(P[-1])


def fancy_repeats(P, idx):
    s = 0.0
    for i in range(3):
        s = s + np.sum(P[idx] ** 2) * (i + 1) + np.sum(P[idx, 0]) + P[i, 1] * P[i + 1, 0]
    return s


def shape_changes(x):
    v = 0.0
    s = 0.0
    for i in range(3):
        v = v + x * (i + 1)  # a number first, then x's shape
        s = s + np.sum(v * v)
    if s > 0:
        u = np.sum(x)
    else:
        u = x
    return s + np.sum(u * 2.0)


def local_matrix_state(W, x):
    n = x.shape[0]
    acc = np.zeros((n, n))
    for i in range(2):
        acc = acc + np.outer(x, W @ x) * (i + 1)
    return np.sum(acc * acc) / n


def view_rows(P):
    Q = P[::2]
    s = 0.0
    for i in range(Q.shape[0]):
        s = s + np.sum(Q[i] * Q[i])
    return s


def _seg(a, b):
    return np.linalg.norm(a - b)


def rows_through_a_helper(P):
    e = 0.0
    for i in range(P.shape[0] - 1):
        e = e + _seg(P[i + 1], P[i])
    return e


def strided_views(P):
    s = 0.0
    for i in range(2):
        s = s + np.sum(P[::-1][i] * P[i, ::-1]) + np.sum(P[i + 1, ::-2] ** 2)
    return s


def _gate_step(W, x, h, c):
    z = np.hstack([x, h]) @ W
    n = h.shape[0]  # read in the loop of the caller, from state the loop carries
    f = np.tanh(z[:n])
    c = f * c + np.tanh(z[n:2 * n])
    return np.tanh(c), c


def gated_loop(W, xs):
    h, c = np.zeros(3), np.zeros(3)
    for k in range(xs.shape[0]):
        h, c = _gate_step(W, xs[k], h, c)
    return np.sum(h ** 2)


def gated_over_rows(W, xs):
    h, c = np.zeros(3), np.zeros(3)
    for x in xs:
        h, c = _gate_step(W, x, h, c)
    return np.sum(h ** 2) + np.sum(c)


def skipped_trips(W, xs):
    h = np.zeros(3)
    for k in range(xs.shape[0]):
        if k == 0:
            continue  # the loop may leave a trip before binding n: n is not bound after it
        n = h.shape[0]
        h = np.tanh(W[:n] @ np.hstack([xs[k], h]))
    return np.sum(h ** 2)


def _rng(seed=0):
    return np.random.default_rng(seed)


def two_loops_one_counter(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.sum(np.sin(x[i]) * w)
    t = 0.0
    for i in range(x.shape[0]):  # (the same counter: the tape saves and restores it between the loops)
        t = t + np.sum(np.cos(x[i] * w))
    return s * t


def windows_of_two_loops(x, w):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s = s + np.sum(x[i:i + 2] * w)
    t = 0.0
    for i in range(x.shape[0] - 1):
        t = t + np.sum(np.sin(x[i:i + 2]))
    return s * t + np.sum(x[i:i + 2])  # (the window of the last trip, after the loops)


def oscillator_pairs(k, c, x0, v0):
    dt = 0.01
    x, v = x0, v0
    traj = np.zeros((30, x0.shape[0]))
    for t in range(30):
        a = -k * x - c * v
        x, v = x + dt * v, v + dt * a  # (v_bar is 0.0 in the first backward trip: v_bar * dt is 0.0 too)
        traj[t] = x
    return np.sum(traj ** 2) * dt


def leaky_scan(c, x):
    s = np.zeros(x.shape[0])
    for i in range(1, x.shape[0]):
        s[i] = c * s[i - 1] + np.maximum(x[i], 0.1 * x[i])  # (two numbers: the mask is their comparison)
    return np.sum(s ** 2)


def windows_added_into(k, x):
    y = np.zeros(x.shape[0] + 3)
    for i in range(x.shape[0]):
        y[i:i + 3] += x[i] * k  # (the window's bounds: computed again in the backward loop, not restored)
    return np.sum(np.tanh(y) ** 2)


CASES = {
    "leaky_scan": (leaky_scan, lambda r: (0.7, r.normal(size=12)), (0, 1)),
    "leaky_scan_ties": (leaky_scan, lambda r: (0.7, np.where(r.random(12) < 0.3, 0.0, r.normal(size=12))), (0, 1)),
    "oscillator_pairs": (oscillator_pairs, lambda r: (r.uniform(1, 4, size=5), r.uniform(0.1, 0.5, size=5),
                                                      r.normal(size=5), r.normal(size=5)), (0, 1, 2, 3)),
    "windows_added_into": (windows_added_into, lambda r: (r.normal(size=3), r.normal(size=7)), (0, 1)),
    "rnn_local": (rnn_local, lambda r: (r.normal(size=(5, 5)) * 0.3, r.normal(size=(5, 3)), r.normal(size=(4, 3))), 0),
    "euler_k": (euler, lambda r: (1.3, 0.8), 0),
    "euler_x0": (euler, lambda r: (1.3, 0.8), 1),
    "euler_arrays": (euler_arrays, lambda r: (r.random(4) + 0.5, r.normal(size=4)), (0, 1)),
    "euler_until": (euler_until, lambda r: (r.random(4) + 0.5, r.normal(size=4)), (0, 1)),
    "path_length": (path_length, lambda r: (r.normal(size=(7, 3)),), 0),
    "rows_and_slices": (rows_and_slices, lambda r: (r.normal(size=(5, 3)), r.normal(size=3)), (0, 1)),
    "fancy_repeats": (fancy_repeats, lambda r: (r.normal(size=(5, 3)), np.array([0, 2, 0, 4])), 0),
    "shape_changes": (shape_changes, lambda r: (r.normal(size=3),), 0),
    "local_matrix_state": (local_matrix_state, lambda r: (r.normal(size=(4, 4)), r.normal(size=4)), (0, 1)),
    "gru_concatenated": (gru_concatenated, lambda r: (r.normal(size=(4, 7)) * 0.4, r.normal(size=(4, 7)) * 0.4,
                                                      r.normal(size=(5, 3))), (0, 1, 2)),
    "picked_by_labels": (picked_by_labels, lambda r: (r.normal(size=(3, 4)) * 0.4, r.normal(size=(6, 3)),
                                                      r.integers(0, 4, size=6)), 0),
    "collected_states": (collected_states, lambda r: (r.normal(size=(4, 4)) * 0.4, r.normal(size=(4, 3)) * 0.4,
                                                      r.normal(size=(6, 3))), (0, 1)),
    "collected_sometimes": (collected_sometimes, lambda r: (r.normal(size=(3, 3)) * 0.4, r.normal(size=(5, 3))), 0),
    "view_rows": (view_rows, lambda r: (r.normal(size=(5, 2)),), 0),
    "rows_through_a_helper": (rows_through_a_helper, lambda r: (r.normal(size=(4, 3)),), 0),
    "one_row_helper": (rows_through_a_helper, lambda r: (r.normal(size=(1, 3)),), 0),
    "strided_views": (strided_views, lambda r: (r.normal(size=(4, 3)),), 0),
    "gated_loop": (gated_loop, lambda r: (r.normal(size=(5, 6)) * 0.5, r.normal(size=(4, 2))), 0),
    "gated_over_rows": (gated_over_rows, lambda r: (r.normal(size=(5, 6)) * 0.5, r.normal(size=(4, 2))), (0, 1)),
    "gated_no_rows": (gated_loop, lambda r: (r.normal(size=(5, 6)) * 0.5, np.zeros((0, 2))), 0),
    "windows_of_two_loops": (windows_of_two_loops, lambda r: (r.normal(size=6), r.normal(size=2)), (0, 1)),
    "two_loops_one_counter": (two_loops_one_counter, lambda r: (r.normal(size=(5, 3)), r.normal(size=3)), (0, 1)),
    "skipped_trips": (skipped_trips, lambda r: (r.normal(size=(3, 5)) * 0.5, r.normal(size=(4, 2))), 0),
}


# (autograd cannot write into arrays: central differences alone)
IN_PLACE = {"windows_added_into", "oscillator_pairs", "leaky_scan", "leaky_scan_ties"}


def test_slices_of_known_bounds_keep_the_specialised_path():
    src = _source("strided_views")
    assert "unbroadcast" not in src and "expand_reduced" not in src and "# s2s:" not in src, src


def test_a_counter_of_two_loops_keeps_the_specialised_path():
    # `i` of both loops is saved before the second and restored after its backward loop: still an int where read
    for name in ("two_loops_one_counter", "windows_of_two_loops", "windows_added_into"):  # (a window of 2 or 3)
        src = _source(name)
        assert "unbroadcast" not in src and "expand_reduced" not in src and "# s2s:" not in src, src


def test_adjoints_zero_before_the_loop_times_a_number_keep_the_specialised_path():
    src = _source("oscillator_pairs")  # (x, v = x + dt * v, v + dt * a: v_bar * dt is 0.0 or an array)
    assert "unbroadcast" not in src and "s2s.add" not in src and "# s2s:" not in src, src


def test_the_mask_of_a_maximum_of_two_numbers_is_their_comparison():
    src = _source("leaky_scan")
    assert "balanced_eq" not in src and "0.5 if" in src, src


def test_no_rows_gives_an_empty_gradient():
    P = np.zeros((0, 3))
    for f in (path_length, rows_through_a_helper):
        g = s2s.grad(f)(P)
        assert g.shape == (0, 3) and g.dtype == np.float64


@pytest.mark.filterwarnings("ignore:Output seems independent of input")  # autograd, on one row
@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_is_right(name, seed):
    f, make, wrt = CASES[name]
    check_all_and_general(f, make(_rng(seed)), wrt=wrt, use_autograd=name not in IN_PLACE)


def _source(name, wrt=None):
    f, make, w = CASES[name]
    return s2s.source(s2s.grad(f, wrt=w if wrt is None else wrt), *make(_rng()))


def test_local_state_keeps_the_specialised_path():
    src = _source("rnn_local")
    assert "unbroadcast" not in src and "grad_matmul" not in src
    assert "np.outer(" not in src and "@ np.stack(rows_h)" in src  # (the outer products: one product after the loop)
    # t = Wh @ h is read by the backward sweep only for its shape: not on the tape
    assert len(taped(src)) == 1


def test_concatenated_and_stacked_state_keeps_the_specialised_path():
    src = _source("gru_concatenated")
    assert "unbroadcast" not in src and "grad_matmul" not in src and "# s2s:" not in src, src


def test_an_item_of_an_int_array_is_an_int_index():
    src = _source("picked_by_labels")
    assert "np.add.at" not in src and "p_bar[i] += " in src and "# s2s:" not in src, src


def test_states_collected_in_a_list_keep_the_specialised_path():
    src = _source("collected_states")  # one append per trip of a known range: np.stack(hs) has a shape
    assert "unbroadcast" not in src and "grad_matmul" not in src and "# s2s:" not in src, src


def test_states_collected_sometimes_are_not_counted():
    src = _source("collected_sometimes")  # (appended under an `if`: the number of items is not known)
    assert "# s2s:" in src


def test_tuple_assignment_keeps_the_specialised_path():
    src = _source("euler_k")
    assert "unbroadcast" not in src and "s2s.add" not in src


def test_a_number_that_becomes_an_array_keeps_its_unbroadcast():
    # v is 0.0 before the loop and an array after: the backward sweep's restore of v is either
    src = _source("euler_until")
    assert "unbroadcast(v_bar, v)" in src


def test_a_loop_of_known_trips_has_its_first_trip_peeled():
    # (transforms/unroll.py: the first trip written out, v an array at the loop's head)
    src = _source("euler_arrays")
    assert "unbroadcast" not in src and "range(1, 5)" in src


def test_index_reads_accumulate_in_place():
    src = _source("path_length")
    assert "P_bar[i] -= d_bar" in src and "P_bar[i2] += d_bar" in src
    assert "getitem_grad" not in src
    src = _source("fancy_repeats")
    assert "np.add.at(P_bar, idx, " in src  # repeated fancy indices add up


def test_index_adjoint_accumulates_in_the_float32_arrays_dtype():
    # (until stop 33 float32 code kept getitem_grad: a dense adjoint per read, the cost growing like rows x size)
    f, make, _ = CASES["path_length"]
    P = make(_rng())[0].astype(np.float32)
    src = s2s.source(s2s.grad(f), P)
    assert "getitem_grad" not in src and "np.float32)" in src, src
    got = s2s.grad(f)(P)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, s2s.grad(f)(P.astype(float)), rtol=1e-5)
    np.testing.assert_allclose(got, s2s.derivative(f)(P), rtol=1e-5)


def test_the_returned_adjoint_array_is_a_fresh_one_each_call():
    f, make, _ = CASES["path_length"]
    P = make(_rng())[0]
    g = s2s.grad(f)
    a = g(P)
    b = g(P)
    assert a is not b and not np.shares_memory(a, b)
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- notes on what blocked a rewrite


def reshaped(W, x):
    t = W @ x
    u = np.tile(t, 1)  # (no shape rule: s2s does not know its shape)
    return np.sum((u * 2.0 + np.sin(u)) * x[:1])


def test_a_blocked_rewrite_says_which_line_blocked_it():
    W, x = np.ones((3, 3)), np.ones(3)
    src = s2s.source(s2s.grad(reshaped), W, x)
    line = reshaped.__code__.co_firstlineno + 2  # u = np.tile(t, 1)
    notes = [ln.strip() for ln in src.splitlines() if ln.strip().startswith("# s2s:")]
    assert notes, src
    assert all(f"(line {line}: u = np.tile(t, 1))" in n for n in notes), notes
    assert any(n.startswith("# s2s: grad_matmul_a kept: shape of t_bar unknown") for n in notes), notes
    np.testing.assert_allclose(s2s.grad(reshaped)(W, x), s2s.derivative(reshaped)(W, x))


def test_a_shape_that_changes_in_a_loop_is_named():
    src = _source("euler_until", wrt=0)
    line = euler_until.__code__.co_firstlineno + 2  # the while loop
    assert f"(line {line}: v has different shapes in different loop iterations)" in src


@pytest.mark.parametrize("name", ["rnn_local", "euler_k", "path_length", "local_matrix_state"])
def test_no_note_where_nothing_is_blocked(name):
    assert "# s2s:" not in _source(name)


# ---------------------------------------------------------------- max/min adjoints written out


def clamps(x, W):
    t = x @ W
    a = np.maximum(t, 0.0)
    b = np.minimum(0.5, t)
    c = np.maximum(-0.25, x)
    return np.sum(a * a) + np.sum(b * t) + np.sum(np.sin(c))


def lse_rows(z):
    m = np.max(z, axis=1, keepdims=True)  # (added once more: its adjoint is not zero, transforms/shifts.py keeps it)
    return np.sum(np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + 1.5 * m)


def test_clamp_adjoints_are_one_ufunc_and_right():
    rng = np.random.default_rng(3)
    x, W = rng.normal(size=(4, 3)), rng.normal(size=(3, 5))
    src = s2s.source(s2s.grad(clamps, wrt=(0, 1)), x, W)
    assert src.count("s2s.balanced_eq(") == 3 and src.count("np.count_nonzero(") == 3, src  # only at a tie
    check_all(clamps, (x, W), wrt=(0, 1))


def test_clamp_adjoints_at_ties_equal_the_general_code():
    # entries exactly at the clamp: the general code gives half the adjoint there, so must the rewrite
    x = np.array([[0.0, -0.25, 1.0], [-0.25, 0.5, -1.0]])
    W = np.eye(3)
    got = s2s.grad(clamps, wrt=(0, 1))(x, W)
    general = s2s.derivative(clamps, wrt=(0, 1))(x, W)
    for a, b in zip(got, general):
        np.testing.assert_array_equal(a, b)


def test_max_adjoint_with_ties_splits_evenly():
    z = np.array([[1.0, 3.0, 3.0], [2.0, 0.5, -1.0]])
    src = s2s.source(s2s.grad(lse_rows), z)
    assert "grad_extreme" not in src
    np.testing.assert_allclose(s2s.grad(lse_rows)(z), s2s.derivative(lse_rows)(z), rtol=1e-14, atol=1e-15)
    check_all(lse_rows, (np.random.default_rng(4).normal(size=(3, 4)),))


def relu_recurrence(W, X):
    h = np.zeros(X.shape[0])
    total = 0.0
    for j in range(X.shape[1]):
        h = 0.5 * h + np.maximum(W @ h + X[:, j], 0.0)  # (each trip's pre-activation comes back from the tape)
        total = total + np.sum(np.minimum(h, 1.0) ** 2)
    return total


def test_clamp_adjoints_in_a_loop_are_one_ufunc_and_right():
    rng = np.random.default_rng(5)
    W, X = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(3, 4))
    src = s2s.source(s2s.grad(relu_recurrence, wrt=(0, 1)), W, X)
    assert src.count("s2s.balanced_eq(") == 2 and src.count("np.count_nonzero(") == 2, src  # only at a tie
    check_all(relu_recurrence, (W, X), wrt=(0, 1))
    X[:, 0] = 0.0  # h is 0 after the first trip: a tie of every entry, half the adjoint there as in the general code
    got, general = s2s.grad(relu_recurrence, wrt=(0, 1))(W, X), s2s.derivative(relu_recurrence, wrt=(0, 1))(W, X)
    for a, b in zip(got, general):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["euler_k", "euler_x0", "path_length", "rnn_local"])
def test_folded_negations_give_the_general_codes_numbers_exactly(name):
    f, make, wrt = CASES[name]
    args = make(_rng(2))
    src = _source(name)
    assert "+ -" not in src
    if name == "rnn_local":  # (its sum of outer products over trips is one product after the loop: another order)
        np.testing.assert_allclose(s2s.grad(f, wrt=wrt)(*args), s2s.derivative(f, wrt=wrt)(*args), rtol=1e-13)
        return
    np.testing.assert_array_equal(s2s.grad(f, wrt=wrt)(*args), s2s.derivative(f, wrt=wrt)(*args))


# ---------------------------------------------------------------- facts per program point, directly


def _facts(body, **params):
    import ast
    import builtins

    from s2s.transforms.shapes import Shapes
    from s2s.transforms.specialize import runtime_helpers

    from s2s import runtime

    names = {"np": np, "s2s": runtime}
    lines = "\n".join("    " + line for line in body.strip().splitlines())
    fdef = ast.parse(f"def f({', '.join(params)}):\n{lines}\n").body[0]
    shapes = Shapes(fdef, params, lambda n: names[n] if n in names else getattr(builtins, n, None), runtime_helpers())
    reads = {}
    for node in ast.walk(fdef):  # the last read of each name in the return statement
        if isinstance(node, ast.Return):
            for n in ast.walk(node):
                if isinstance(n, ast.Name):
                    reads[n.id] = n
    return shapes, reads


def test_zero_adjoint_facts_hold_only_where_certain():
    shapes, reads = _facts("""
a = 0.0
b = a if c else 5.0
d = not a
e = -a
g = a
h = 0.0
for i in range(3):
    h = h + x
return a, b, d, e, g, h
""", x=(3,), c=())
    assert [shapes.is_zero(reads[n]) for n in "abdegh"] == [True, False, False, True, True, False]


def test_shapes_per_program_point():
    shapes, reads = _facts("""
v = 0.0
u = v
for i in range(k):
    v = v + x
z = 0.0
for j in range(3):
    z = z + x
w = np.zeros(x.shape[0])
t = x.shape
n, m = t[0], 2
if c > 0:
    y = x
else:
    y = 1.0
return u, v, w, n, m, y, z
""", x=(4,), c=(), k=())
    assert [shapes.of(reads[k]) for k in ("u", "v", "w", "n", "m", "y")] == [(), None, (4,), (), (), None]
    assert shapes.of(reads["v"]) is None and shapes.lost["v"] is not None  # a number, then x's shape
    assert shapes.of(reads["z"]) == (4,)  # (three trips, at least one: z is left an array)


def test_a_shape_read_from_state_a_loop_carries_keeps_the_specialised_path():
    """`n = h.shape[0]` in a helper the loop calls, h the loop's state: n is one int wherever it is read, since the
    loop over a range of known trips binds it on its first trip (the backward sweep reads it after the loop);
    the state's adjoint, 0.0 before the backward loop, is copied through the helper's returned tuple."""
    for name in ("gated_loop", "gated_over_rows"):
        src = _source(name)
        assert "n2" not in src and ".shape" not in src and "z2[:3]" in src, src
        assert "unbroadcast" not in src and "getitem_grad" not in src and "s2s.part" not in src and "# s2s:" not in src
        assert "grad_hstack" not in src and "hstack_bar[0:2], hstack_bar[2:5]" in src


def test_a_loop_that_may_skip_a_trip_does_not_bind_its_names_after_it():
    import re

    src = _source("skipped_trips")  # (the `continue` is a flag: n is bound under an `if`, its reads are not folded)
    assert re.search(r"\bn = t\d*\[0\]", src) and "W_bar[:n] += " in src, src
    assert s2s.grad(gated_loop)(np.ones((5, 6)), np.zeros((0, 2))).shape == (5, 6)  # no trips: no n, no error


def test_a_read_placed_in_two_program_points_gets_the_facts_of_each():
    """A pass may put one node in two places (the forward and the backward sweep); the facts are per place."""
    import ast

    shapes, _ = _facts("""
v = 0.0
a = v
v = x
b = v
return a, b
""", x=(4,))
    fdef = shapes._fdef
    first, second = fdef.body[1], fdef.body[3]
    second.value = first.value  # the same Name node read at both points
    shapes = type(shapes)(fdef, {"x": (4,)}, shapes.resolve, shapes.helpers)
    assert second.value is not first.value  # (copied: one node, one place)
    assert shapes.of(first.value) == () and shapes.of(second.value) == (4,)
    assert ast.unparse(fdef).count("= v") == 2


def test_container_items_are_known_real_through_aliases_shared_with_the_backward_sweep():
    """The reads of `params` in `params[-1]` and in its adjoint's `getitem_grad` were one node: the aliases
    `t5 = params[-1]` went unseen, so W and b were not known to be float arrays and the code kept np.sum."""
    import os
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
    from ordinary import mlp_layers as mlp

    r = _rng(4)
    params = [(r.normal(size=(3, 5)), r.normal(size=5)), (r.normal(size=(5, 5)), r.normal(size=5)),
              (r.normal(size=(5, 1)), r.normal(size=1))]
    X, y = r.normal(size=(8, 3)), r.normal(size=(8, 1))
    src = s2s.source(s2s.grad(mlp), params, X, y)
    assert "np.sum(" not in src and ".sum(axis=0)" in src
    got, want = s2s.grad(mlp)(params, X, y), s2s.derivative(mlp)(params, X, y)
    for (gw, gb), (ww, wb) in zip(got, want):
        np.testing.assert_allclose(gw, ww, rtol=1e-12)
        np.testing.assert_allclose(gb, wb, rtol=1e-12)


def stacked_outputs(W, xs):
    hs = []
    for t in range(xs.shape[0]):
        hs.append(np.tanh(W @ xs[t]))
    H = np.stack(hs)
    return np.sum(H * H)


def test_a_scalar_output_known_only_after_a_loop_of_appends_is_not_returned():
    """The output's shape is read where the forward sweep ends: there `hs` holds one item per trip, so
    `np.sum(np.stack(hs) ** 2)` is a number and s2s.grad neither returns the value nor checks it."""
    r = _rng(6)
    W, xs = r.normal(size=(3, 3)), r.normal(size=(5, 3))
    src = s2s.source(s2s.grad(stacked_outputs), W, xs)
    assert "value" not in src and "return s2s.finish(W_bar, W)" in src, src
    np.testing.assert_allclose(s2s.grad(stacked_outputs)(W, xs), s2s.derivative(stacked_outputs)(W, xs), rtol=1e-12)
    check_all(stacked_outputs, (W, xs))


def logreg_f32(w, b, X, y):
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    eps = np.float32(1e-6)
    return -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))


def test_a_number_made_by_np_float32_has_a_shape_and_is_real():
    """`eps = np.float32(1e-6)` is a number: the loss's adjoint is specialised (no expand_reduced, no
    unbroadcast), and the gradients stay float32."""
    r = _rng(7)
    args = (r.normal(size=5).astype(np.float32), np.float32(0.1), r.normal(size=(16, 5)).astype(np.float32),
            (r.random(16) < 0.5).astype(np.float32))
    src = s2s.source(s2s.grad(logreg_f32, wrt=(0, 1)), *args)
    assert "expand_reduced" not in src and "unbroadcast" not in src, src
    got = s2s.grad(logreg_f32, wrt=(0, 1))(*args)
    want = s2s.derivative(logreg_f32, wrt=(0, 1))(*args)
    assert got[0].dtype == np.float32 and np.asarray(got[1]).dtype == np.float32
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5)


def sums_of_states(W, xs):
    h = np.zeros(W.shape[0])
    outs = []
    for x in xs:
        h = np.tanh(W @ h + x)
        outs.append(h.sum())
    return np.sum(np.array(outs) ** 2)


def sums_of_states_in_one_loop(W, xs):
    h = np.zeros(W.shape[0])
    outs = []
    for x in xs:
        h = np.tanh(W @ h + x)
        outs.append(h.sum())
    return np.sum(np.array(outs) ** 2)


def test_a_number_added_to_an_adjoint_started_at_zero_is_broadcast_on_the_first_trip_only(monkeypatch):
    """`h_bar + np.broadcast_to(g, S)` of an adjoint that is 0.0 before the loop: the broadcast where h_bar is
    still 0.0, `h_bar + np.asarray(g)` after (a 0-d array of the broadcast's dtype: the same sum). (Made with the
    loop whole: with its last trip written out, h_bar is an array from the loop's start.)"""

    monkeypatch.setattr(pipeline, "_peeled_if_specialised", lambda gen, peeled: gen)
    r = _rng(9)
    W, xs = r.normal(size=(3, 3)) * 0.5, r.normal(size=(4, 3))
    src = s2s.source(s2s.grad(sums_of_states_in_one_loop), W, xs)
    assert "if s2s.is_zero(h_bar) else h_bar + np.asarray(g)" in src, src
    check_all(sums_of_states_in_one_loop, (W, xs))


def test_the_last_trip_written_out_starts_the_adjoint_as_an_array():
    """The same loop as it is made: h is not read after it, so its adjoint is 0.0 on the backward sweep's
    first trip alone; with that trip written out, the loop has no zero test left, and the same gradient."""
    r = _rng(9)
    W, xs = r.normal(size=(3, 3)) * 0.5, r.normal(size=(4, 3))
    src = s2s.source(s2s.grad(sums_of_states), W, xs)
    assert "is_zero" not in src and "for k in range(3):" in src, src
    check_all(sums_of_states, (W, xs))
    got = s2s.grad(sums_of_states)(W.astype(np.float32), xs.astype(np.float32))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, s2s.derivative(sums_of_states)(W, xs), rtol=1e-4)


def test_a_list_adjoint_of_its_own_is_popped_in_place():
    """`outs_bar, g = s2s.append_grads(outs_bar)` copies all items but the last each trip; outs_bar's list is
    made by s2s.array_grad and read by nothing else, so its last item is popped in place: the same gradient,
    call after call."""
    r = _rng(10)
    W, xs = r.normal(size=(3, 3)) * 0.5, r.normal(size=(6, 3))
    src = s2s.source(s2s.grad(sums_of_states), W, xs)
    assert "outs_bar, g = s2s.append_grads_owned(outs_bar)" in src, src
    grad = s2s.grad(sums_of_states)
    first = check_all(sums_of_states, (W, xs))
    np.testing.assert_array_equal(grad(W, xs), first)
    # (to rounding: the last trip's outer product is summed apart from the loop's)
    np.testing.assert_allclose(grad(W, xs), s2s.derivative(sums_of_states)(W, xs), rtol=1e-13, atol=1e-15)


def concatenated_heads(W, X):
    outs = []
    for k in range(W.shape[0]):
        outs.append(np.tanh(X @ W[k]))
    return np.sum(np.concatenate(outs, axis=1) ** 2)


def test_a_concatenated_lists_adjoint_is_popped_in_place_too():
    # (np.concatenate's adjoint, s2s.grad_concatenate, makes a new list of the pieces, as np.stack's does)
    r = _rng(11)
    W, X = r.normal(size=(3, 4, 2)), r.normal(size=(5, 4))
    src = s2s.source(s2s.grad(concatenated_heads), W, X)
    assert "s2s.append_grads_owned(outs_bar)" in src, src
    grad = s2s.grad(concatenated_heads)
    first = check_all(concatenated_heads, (W, X))
    np.testing.assert_array_equal(grad(W, X), first)
    np.testing.assert_allclose(grad(W, X), s2s.derivative(concatenated_heads)(W, X), rtol=1e-13)


def robust_rows(w, X, y):
    total = 0.0
    for i in range(X.shape[0]):
        r = X[i] @ w - y[i]
        total += r * r if abs(r) < 1.0 else 2.0 * abs(r) - 1.0  # (abs' adjoint: g * np.sign(r), real)
    return total / X.shape[0]


def test_a_dot_products_adjoint_is_the_product_in_float64_and_float32_stays_float32():
    """The adjoint of `X[i] @ w` (two vectors) for w is g * X[i] in float64 code (np.sign's adjoint of abs is real);
    float32 code keeps the helper (its 0.0 for the zero adjoint), and its gradient is float32 and matches the
    float64 one."""
    r = _rng(8)
    w, X, y = r.normal(size=4), r.normal(size=(6, 4)), r.normal(size=6) * 2
    assert "grad_matmul" not in s2s.source(s2s.grad(robust_rows), w, X, y)
    f32 = [a.astype(np.float32) for a in (w, X, y)]
    got = s2s.grad(robust_rows)(*f32)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, check_all(robust_rows, (w, X, y)), rtol=1e-4, atol=1e-5)


def patch_features(filters, images):
    n = images.shape[1] - filters.shape[1] + 1
    k = filters.shape[1]
    patches = np.stack([images[:, i:i + k, j:j + k] for i in range(n) for j in range(n)], axis=1)
    conv = np.einsum("bpij,fij->bpf", patches, filters)
    return np.mean(np.maximum(conv, 0.0).mean(axis=1) ** 2)


def test_a_list_appended_to_in_nested_loops_of_known_trips_has_known_items():
    """The patches list gets n * n items: its stack has a shape, so the loss's adjoint is specialised; and
    np.einsum's adjoint is computed for the filters alone (the images are data)."""
    r = _rng(8)
    args = (r.normal(size=(2, 3, 3)), r.normal(size=(4, 6, 6)))
    src = s2s.source(s2s.grad(patch_features), *args)
    assert "expand_reduced" not in src and "unbroadcast" not in src, src
    code = "\n".join(line.split("#")[0] for line in src.splitlines())
    assert "grad_einsum_parts" not in code and code.count("np.einsum(") == 2, src  # the forward, the filters' part
    np.testing.assert_allclose(s2s.grad(patch_features)(*args), s2s.derivative(patch_features)(*args), rtol=1e-12)
    check_all(patch_features, args)


def covariance_filter(q, A, H, ys):
    n = A.shape[0]
    P = np.eye(n)
    Q = q * np.eye(n)
    R = 0.5 * np.eye(H.shape[0])
    nll = 0.0
    for y in ys:
        P = A @ P @ A.T + Q
        S = H @ P @ H.T + R
        nll = nll + 0.5 * (y @ np.linalg.solve(S, y) + np.log(np.linalg.det(S)))
        K = P @ H.T @ np.linalg.inv(S)
        P = P - K @ H @ P
    return nll


def test_an_adjoint_zero_before_a_loop_and_a_matrix_after_its_first_trip_keeps_its_shape():
    """P_bar is 0.0 on the backward loop's first trip and a matrix after it: the matrix products' adjoints of it
    (helpers that give 0.0 for 0.0) are 0.0 or a matrix too, and the code computes them with @ under the helpers'
    own test of the zero (no note, no grad_matmul, no unbroadcast)."""
    r = _rng(9)
    args = (0.2, np.array([[1.0, 0.1], [0.0, 0.95]]), np.array([[1.0, 0.0]]), r.normal(size=(6, 1)))
    src = s2s.source(s2s.grad(covariance_filter), *args)
    assert "# s2s:" not in src and "grad_matmul" not in src and "unbroadcast" not in src, src
    np.testing.assert_allclose(s2s.grad(covariance_filter)(*args), s2s.derivative(covariance_filter)(*args),
                               rtol=1e-12)
    check_all(covariance_filter, args, wrt=(0, 1))


def lookup_by_int(G, qs):
    s = 0.0
    for p in range(qs.shape[0]):
        i = int(qs[p, 0])
        f = qs[p, 0] - i
        s += (1 - f) * G[i] ** 2 + f * G[i + 1] ** 2
    return s


def test_an_index_made_by_int_is_an_int():
    """`i = int(x)` is an int: G[i] is an item, its adjoint `G_bar[i] += ...`, no rewrite left blocked."""
    G, qs = np.linspace(0.5, 2.0, 6), np.array([[0.3], [2.7], [4.1]])
    src = s2s.source(s2s.grad(lookup_by_int, wrt=(0, 1)), G, qs)
    assert "# s2s:" not in src and "np.add.at" not in src, src
    check_all(lookup_by_int, (G, qs), wrt=(0, 1), use_autograd=False)


def product_updated(x, r):
    p = 1.0
    xk = x
    for k in range(1, 6):
        p *= 1.0 + r * xk / k
        xk *= x
    return p


def test_an_update_in_place_of_a_number_needs_no_ownership_check():
    """`xk = x; xk *= x` with x a float rebinds xk (a number never changes in place): no run-time check, and the
    shapes flow through it. With x a 0-d array, `xk *= x` would change x in Python: the check stays and refuses."""
    src = s2s.source(s2s.grad(product_updated, wrt=(0, 1)), 0.7, 0.4)
    assert "unshared" not in src and "# s2s:" not in src, src
    check_all(product_updated, (0.7, 0.4), wrt=(0, 1))
    with pytest.raises(s2s.UnsupportedSyntaxError, match="updates `xk` in place"):
        s2s.grad(product_updated)(np.array(0.7), 0.4)


def bending(P):
    e = 0.0
    for i in range(1, P.shape[0] - 1):
        a, b = P[i] - P[i - 1], P[i + 1] - P[i]
        th = np.arctan2(a[0] * b[1] - a[1] * b[0], a @ b)
        e += th * th
    return e


def test_arctan2_of_real_floats_is_real():
    """np.arctan2 (np.hypot, np.fmax...) of real floats is real: the adjoint of `a @ b` read by it is `g * b`,
    not the general helper."""
    P = np.cumsum(np.random.default_rng(3).normal(size=(7, 2)), axis=0)
    src = s2s.source(s2s.grad(bending), P)
    assert "grad_matmul" not in src and "# s2s:" not in src, src
    check_all(bending, (P,))


def neighbour_products(x):
    n = x.shape[0]
    acc = np.zeros(n)
    for i in range(n):
        acc[i] += x[i] * x[(i + 1) % n]
        acc += 0.1 * x
    return np.sum(acc ** 2)


def test_an_item_update_of_an_array_needs_no_ownership_check():
    """`acc[i] += v` of a local array, no other name holding it: the deep check (objects held in acc) finds
    nothing in an array of numbers, so the specialised code has none (compiled code can take it)."""
    x = np.array([0.3, -1.2, 0.8, 0.5, -0.4])
    src = s2s.source(s2s.grad(neighbour_products), x)
    assert "unshared" not in src, src
    check_all(neighbour_products, (x,), use_autograd=False)


def _clamped_newton(a):
    x = max(a, 1.0)
    for _ in range(6):
        x -= (x * x - a) / (2.0 * x)
    return x + min(-0.5, a) * min(a, x, 2)


@pytest.mark.parametrize("a", [3.0, 0.25, 1.0, -0.5, -2.0])
def test_builtin_max_and_min_with_number_literals_are_numbers(a):
    # `x = max(a, 1.0)` is a number, so `x -= ...` rebinds it (no ownership check), and the adjoint of max and
    # min of numbers and literals is a choice of numbers, not s2s.grad_select's list; ties and all
    src = s2s.source(s2s.grad(_clamped_newton), a)
    assert "unshared" not in src and "grad_select" not in src, src
    got = s2s.grad(_clamped_newton)(a)
    assert got == pytest.approx(s2s.derivative(_clamped_newton)(a), rel=1e-13)  # (at ties too: 1.0, -0.5)
    if a not in (1.0, -0.5):
        check_all(_clamped_newton, (a,))


def stacked_states_mean_square(W, xs):
    h = np.zeros(W.shape[0])
    hs = []
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
        hs.append(h)
    H = np.stack(hs)
    return np.sum(H ** 2) / H.shape[0]


def test_a_broadcast_read_beside_an_array_the_flow_knows_is_dropped():
    """`t_bar = np.broadcast_to(c, S)` read only as `t_bar * 2 * H`, where H's shape is S at that read (the stack
    of a list appended to by a loop of known trips: known only per program point) is `c * 2 * H`: the question
    "what if t_bar were a number" keeps the flow's facts of every other name (shapes.Overrides)."""
    rng = np.random.default_rng(3)
    W, xs = rng.normal(size=(4, 4)) * 0.3, rng.normal(size=(6, 4))
    src = s2s.source(s2s.grad(stacked_states_mean_square), W, xs)
    assert "broadcast_to" not in src, src
    assert s2s.grad(stacked_states_mean_square)(W, xs).dtype == np.float64
    np.testing.assert_allclose(s2s.grad(stacked_states_mean_square)(W, xs),
                               s2s.grad(stacked_states_mean_square, optimize=False)(W, xs), rtol=1e-13)
    check_all(stacked_states_mean_square, (W, xs))
    W32, xs32 = W.astype(np.float32), xs.astype(np.float32)
    g32 = s2s.grad(stacked_states_mean_square)(W32, xs32)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, s2s.grad(stacked_states_mean_square)(W, xs), rtol=2e-5, atol=1e-6)


def running_statistics(X):
    mu = np.zeros(X.shape[1])
    var = np.ones(X.shape[1])
    for i in range(X.shape[0]):
        row = X[i]
        mu = 0.9 * mu + 0.1 * row
        var = 0.9 * var + 0.1 * (row - mu) ** 2
    return np.sum(var) + np.sum(mu ** 2)


def test_a_state_only_the_value_reads_is_not_computed():
    """`var` is read by the value alone (the adjoint of `np.sum(var)` does not depend on it) and by its own next
    step: the chain goes, its start `np.ones(n)` (a new array of known shape, which cannot raise) with it."""
    X = np.random.default_rng(5).normal(size=(7, 3))
    src = s2s.source(s2s.grad(running_statistics), X)
    code = "\n".join(line for line in src.splitlines() if not line.strip().startswith("#"))
    assert "0.9 * var" not in code and "np.ones" not in code, src
    check_all(running_statistics, (X,))
    np.testing.assert_allclose(s2s.grad(running_statistics)(X), s2s.grad(running_statistics, optimize=False)(X),
                               rtol=1e-13)


def rows_normalised(X, w):
    Z = np.zeros_like(X)
    for i in range(X.shape[0]):
        Z[i] = X[i] / np.linalg.norm(X[i])
    return np.sum((Z @ w) ** 2)


def test_an_adjoint_made_by_np_outer_is_its_own_and_zeroed_in_place():
    """`Z_bar = np.outer(t, w)` is a new array no one else holds: the adjoint of `Z[i] = ...` zeroes its row in
    place, not a copy of the whole array per row (and, as no later trip reads that row, not at all:
    transforms/row_writes.py)."""
    rng = np.random.default_rng(12)
    args = (rng.normal(size=(6, 4)), rng.normal(size=4))
    src = s2s.source(s2s.grad(rows_normalised), *args)
    assert "np.outer" in src and "s2s.setitem" not in src and "Z_bar[i].copy()" not in src, src
    check_all(rows_normalised, args, wrt=(0, 1), use_autograd=False)  # (autograd has no item assignment)


def masked_hinge(W, X, y):
    S = X @ W
    M = np.maximum(0.0, S - S[np.arange(X.shape[0]), y][:, None] + 1.0)
    M = np.where(np.arange(W.shape[1])[None, :] == y[:, None], 0.0, M)
    return np.sum(M) / X.shape[0]


def test_a_number_chosen_by_np_where_is_not_broadcast_first():
    """The adjoint of `np.sum(M) / n` is the number 1/n everywhere; `np.where(mask, 0.0, it)` has the mask's shape
    either way, so the number goes in as it is (np.where broadcasts it), not an array of it."""
    rng = np.random.default_rng(13)
    args = (0.1 * rng.normal(size=(5, 4)), rng.normal(size=(8, 5)), rng.integers(0, 4, 8))
    src = s2s.source(s2s.grad(masked_hinge), *args)
    assert "broadcast_to" not in src and "np.where(" in src, src
    check_all(masked_hinge, args)


def carried_sum(X, k):
    v = np.zeros(X.shape[1])
    for i in range(X.shape[0]):
        v = 0.8 * v + X[i] / k
    return np.sum(v)


def carried_then_summed(X):
    v = np.zeros(X.shape[1])
    s = 0.0
    for i in range(X.shape[0]):
        v = 0.8 * v + X[i] ** 2
        s = s + np.sum(v)
    return s


def test_a_reduction_adjoint_carried_through_a_loop_is_a_number():
    """The adjoint of `np.sum(var)` carried back through `var = 0.9 * var + ...`: `var_bar = 1.0`, then
    `var_bar = var_bar * 0.9`, one number per trip (every use broadcasts back against a row at once)."""
    X = np.random.default_rng(14).normal(size=(7, 3))
    src = s2s.source(s2s.grad(running_statistics), X)
    assert "var_bar = 1.0" in src and "broadcast_to" not in src, src
    rng = np.random.default_rng(15)
    for f, args in ((carried_sum, (rng.normal(size=(5, 3)), 1.7)), (carried_then_summed, (rng.normal(size=(5, 3)),))):
        check_all(f, args)
        np.testing.assert_allclose(s2s.grad(f)(*args), s2s.grad(f, optimize=False)(*args), rtol=1e-13)


def test_float32_code_keeps_the_carried_broadcast():
    """A number times a float32 array stays float32 where the float64 broadcast made it float64: float32 code keeps
    the array (its gradient is float32 either way: finish casts)."""
    X = np.random.default_rng(16).normal(size=(7, 3)).astype(np.float32)
    got = s2s.grad(running_statistics)(X)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, s2s.grad(running_statistics)(X.astype(np.float64)), rtol=1e-5, atol=1e-6)
