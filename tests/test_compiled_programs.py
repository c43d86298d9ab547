"""Ordinary programs under compile="strict": the compiled code gives the NumPy code's gradient and central
differences'. Each program stands for a kind benchmarks/ordinary.py times (a gate reading a concatenated
state, Horner's rule over an array's items, mini-batches of a range with a step, a policy indexed by integer
actions); each is compiled once (numba takes seconds a program)."""

from __future__ import annotations

import ast

import numpy as np
import pytest

import s2s
from tests.helpers_fd import compiled_matches as _strict
from tests.helpers_fd import fd_grad

numba = pytest.importorskip("numba")

from s2s.transforms import numba_lowering  # noqa: E402

from s2s import compiled  # noqa: E402


def gate(W, xs):
    h = np.zeros(W.shape[0])
    for t in range(xs.shape[0]):
        z = np.concatenate([h, xs[t]])
        h = np.tanh(W @ z) * 0.5 + h * 0.5
    return np.sum(h ** 2)


def horner(coeffs, x):
    y = 0.0
    for c in coeffs:
        y = y * x + c
    return np.sum(y ** 2)


def batches(w, X, y):
    total = 0.0
    for start in range(0, X.shape[0], 4):
        Xb, yb = X[start:start + 4], y[start:start + 4]
        p = 1.0 / (1.0 + np.exp(-(Xb @ w)))
        total = total + np.sum((p - yb) ** 2)
    return total


def policy(theta, feats, actions):
    total = 0.0
    for t in range(feats.shape[0]):
        logits = feats[t] @ theta
        p = np.exp(logits - logits.max())
        p = p / p.sum()
        total = 0.99 * total + np.log(p[actions[t]])  # (discounted: a plain sum's trips need no tape)
    return -total


def side_by_side(a, b):
    m = np.concatenate([np.tanh(a), b * a[:, :1]], axis=1)
    return np.sum(m * m[:, ::-1])


RNG = np.random.default_rng(11)


def test_a_gate_reading_a_concatenated_state():
    # the list [h, xs[t]] is a tuple in compiled code, its adjoint the two slices of g; the popped state is
    # an Optional beside an accumulated adjoint that starts as None (compiled_helpers._unwrapping)
    text_numpy = s2s.source(s2s.grad(gate), RNG.normal(size=(3, 5)) * 0.5, RNG.normal(size=(4, 2)))
    assert "grad_concatenate" not in text_numpy
    _strict(gate, (RNG.normal(size=(3, 5)) * 0.5, RNG.normal(size=(4, 2))))


def test_the_adjoint_of_a_concatenation_along_another_axis_is_its_slices():
    a, b = RNG.normal(size=(3, 2)), RNG.normal(size=(3, 4))
    g = s2s.grad(side_by_side)
    np.testing.assert_allclose(g(a, b), fd_grad(side_by_side, (a, b), 0), rtol=1e-6)
    text = s2s.source(g, a, b)
    assert "grad_concatenate" not in text and "[:, 0:2]" in text and "[:, 2:6]" in text


def test_horner_over_an_array_s_items():
    coeffs, x = RNG.normal(size=6), RNG.normal(size=5) * 0.5
    assert "as_sequence" not in s2s.source(s2s.grad(horner), coeffs, x)
    _strict(horner, (coeffs, x))


def test_mini_batches_of_a_range_with_a_step():
    w, X, y = RNG.normal(size=3), RNG.normal(size=(10, 3)), RNG.random(10)  # batches of 4, 4 and 2
    _strict(batches, (w, X, y))


def test_a_policy_indexed_by_integer_actions():
    theta, feats = RNG.normal(size=(3, 4)), RNG.normal(size=(6, 3))
    actions = RNG.integers(0, 4, size=6)
    text = compiled.source(policy, theta, feats, actions)
    assert "stack_i = _s2s_tape_stack(6, _s2s_numpy.int64)" in text  # ints: an array tape, not a list
    _strict(policy, (theta, feats, actions))


@pytest.mark.parametrize("start, stop, step", [(0, 10, 4), (1, 10, 3), (0, 0, 2), (5, 3, 2), (2, 9, 1)])
def test_reversed_ranges_with_a_step_count_down_the_same_items(start, stop, step):
    fdef = ast.parse(f"def f(out):\n    for i in reversed(range({start}, {stop}, {step})):\n        out.append(i)")
    low = numba_lowering.lower(fdef.body[0])
    out = []
    exec(compile(ast.Module([low.fdef], []), "<low>", "exec"), namespace := {})
    namespace["f"](out)
    assert out == list(reversed(range(start, stop, step)))


def test_a_reversed_range_with_an_unknown_step_is_refused():
    fdef = ast.parse("def f(k):\n    for i in reversed(range(0, 10, k)):\n        pass").body[0]
    with pytest.raises(numba_lowering.NotLowerable, match="of a constant step"):
        numba_lowering.lower(fdef)


# ------------------------------------------------------------------------- reads at computed indices (np.add.at)

def embed(E, ids, W):
    h = E[ids]  # rows of E, a row read twice
    return np.sum(np.tanh(h @ W) ** 2)


def pairs(M, rows, cols):
    return np.sum(M[rows, cols] ** 2)


def pick(w, n):
    s = 0.0
    for t in range(3):
        k = (t + n) % 4
        s = s + w[k] * w[t]
    return s


def test_reads_at_indices_the_code_computes_compile():
    E, W, M = RNG.normal(size=(5, 3)), RNG.normal(size=(3, 2)), RNG.normal(size=(4, 4))
    for f, args in ((embed, (E, np.array([0, 2, 2, -1]), W)), (pairs, (M, np.array([0, 1, 1]), np.array([2, 3, 3]))),
                    (pick, (np.arange(1.0, 5.0), 3))):
        assert "_s2s_add_at(" in compiled.source(f, *args)
        _strict(f, args)


@numba.njit
def _add_at_cases(a1, a2, ids, v1, rows, cols):
    from_items = a1.copy()
    add_at(from_items, ids, v1)
    scalar = a1.copy()
    add_at(scalar, ids, 2.0)
    one = a2.copy()
    add_at(one, -1, v1[:3])
    per_row = a2.copy()
    add_at(per_row, ids, np.ones((ids.shape[0], 3)))
    same_row = a2.copy()
    add_at(same_row, ids, v1[:3])
    pair = a2.copy()
    add_at(pair, (rows, cols), v1[:rows.shape[0]])
    return from_items, scalar, one, per_row, same_row, pair


def _numpy_cases(a1, a2, ids, v1, rows, cols):
    out = [a1.copy(), a1.copy(), a2.copy(), a2.copy(), a2.copy(), a2.copy()]
    np.add.at(out[0], ids, v1)
    np.add.at(out[1], ids, 2.0)
    np.add.at(out[2], -1, v1[:3])
    np.add.at(out[3], ids, np.ones((ids.shape[0], 3)))
    np.add.at(out[4], ids, v1[:3])
    np.add.at(out[5], (rows, cols), v1[:rows.shape[0]])
    return out


from s2s.runtime.compiled_helpers import add_at  # noqa: E402


@numba.njit(boundscheck=True)
def _add_at_items(a, ids, v):
    add_at(a, ids, v)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_add_at_adds_every_index_repeats_included(dtype):
    a1, a2 = np.arange(5.0, dtype=dtype), np.arange(15.0, dtype=dtype).reshape(5, 3)
    ids, v1 = np.array([0, 2, 2, -1, 2]), np.linspace(1.0, 2.0, 5).astype(dtype)
    rows, cols = np.array([0, 4, 4]), np.array([1, 2, 2])
    for got, want in zip(_add_at_cases(a1, a2, ids, v1, rows, cols), _numpy_cases(a1, a2, ids, v1, rows, cols)):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_add_at_out_of_bounds_raises_and_the_gradient_raises_numpy_s_error():
    with pytest.raises(IndexError):
        _add_at_items(np.zeros(5), np.array([0, 5]), np.ones(2))
    for mode in ("strict", True):
        with pytest.raises(IndexError):
            s2s.grad(embed, compile=mode)(np.ones((5, 3)), np.array([0, 7]), np.ones((3, 2)))


@numba.njit
def _adjoint_of_a_read(g, x, i, j):
    from_row = getitem_grad(g[0], x, i)
    return from_row, getitem_grad(2.0, x, (i, j))


from s2s.runtime.compiled_helpers import getitem_grad  # noqa: E402


def test_getitem_grad_checks_its_index_as_numpy_does():
    # the helpers' code has no numba bounds checks, and the read whose adjoint this is may be dropped
    # (transforms/checked_reads.py): the helper itself raises NumPy's IndexError
    x, g = np.zeros((3, 4)), np.ones((1, 4))
    row, item = _adjoint_of_a_read(g, x, -1, -2)
    np.testing.assert_array_equal(row[2], np.ones(4))
    assert item[2, 2] == 2.0 and item.sum() == 2.0
    for i, j in ((3, 0), (0, 4), (-4, 0), (0, -5)):
        with pytest.raises(IndexError):
            _adjoint_of_a_read(g, x, i, j)


def swaps_and_branches(x, r):
    a, b, c = x, r, 0.5
    t1, t2, t3 = 0.1, 0.2, 0.3
    for k in range(6, 0, -2):
        t2, t3 = np.sin(t1 * x + a), t2
        c = (k / (k + 0.5) + a) * np.cos(t3 * a)
        a = np.tanh(3 * b + r * b)
        c = c * 0.9 + t3 * 0.1
        t2 = r
        t3 = np.tanh(k * t1) * 2.0 / (k + 0.5)
        if k % 2 == 0:
            if a > 0.5:
                t1 += r + t2
            else:
                t1 = 1.5
        c, a = t1, -c - (b * t1 - k / (1.0 + t3 * t3))
    return a * k


def test_a_sum_of_two_adjoints_started_as_zero_compiles():
    """(was an AssertionError inside s2s, from a fuzzed program: the generated code adds two adjoints that both
    start as 0.0, and the rewrite of the first took the sum the second's rewrite then looked for)"""
    got = s2s.grad(swaps_and_branches, wrt=(0, 1), compile="strict")(0.3, 0.7)
    for w, g in zip((0, 1), got):
        np.testing.assert_allclose(g, fd_grad(swaps_and_branches, (0.3, 0.7), wrt=w), rtol=1e-6, atol=1e-8)
