"""Programs aimed at this stop's rewrites of specialised code, each checked against central finite differences and
against the general code (s2s.derivative): the item tape (transforms/item_updates.py, `_item_tape`: the tape
saves the overwritten item, not a copy of the array), restores moved up and index arithmetic of nested loops
recomputed (transforms/tape.py), loops over a dict's items (transforms/mappings.py), the masks of np.where and
np.clip, np.einsum's parts and the choices of builtin min/max written out (transforms/specialize.py), and real
arrays of unknown shape reduced to numbers (transforms/shapes.py).
"""

import numpy as np
import pytest
from helpers_fd import check_grad

import s2s

# ---------------------------------------------------------------- programs (module level: s2s reads source)


def gauss_seidel(A, b):
    x = np.zeros(3)
    for _sweep in range(2):
        for i in range(3):
            s = b[i] - A[i] @ x + A[i, i] * x[i]
            x[i] = s / A[i, i]
    return np.sum(x ** 2)


def grid_from_neighbours(X0, w):
    X = X0.copy()
    for i in range(1, 3):
        for j in range(1, 3):
            X[i, j] = np.tanh(X[i - 1, j] * w + X[i, j - 1]) * X[i, j]
    return np.sum(X ** 2)


def index_bound_to_counters(X0, w):
    X = X0.copy()
    for i in range(3):
        for j in range(3):
            k = i + j
            X[i, j] = X[i, j] * np.sin(X[(k + 1) % 3, j]) + w
    return np.sum(X ** 2)


def negative_index_in_while(x0, w):
    x = x0.copy()
    t = 0
    while t < 2:
        for i in range(4):
            x[-1 - i] = np.cos(x[-1 - i]) * w + x[-i] * x[-1 - i]
        t += 1
    return np.sum(x ** 2)


def update_in_else_only(x0, w):
    x = x0.copy()
    for _t in range(3):
        for i in range(4):
            if x[(i + 2) % 4] > 0.05:
                pass
            else:
                x[i] = np.tanh(x[i] * x[(i + 1) % 4] + w * x[i])
    return np.sum(x ** 2)


def two_arrays_and_a_number(x0, w):
    x = x0.copy()
    y = x0 * 2.0
    s = 0.1
    for _t in range(2):
        for i in range(4):
            s = np.sin(s * x[i]) + w
            x[i] = x[i] * y[i] + s
            y[i] = y[i] * x[i] - w
    return np.sum(x ** 2 + y) + s


def lower_triangle(x0, w):
    x = x0.copy()
    for i in range(4):
        for j in range(i):
            x[j] = x[j] * x[i] + w
    return np.sum(x ** 2)


def index_read_after_inner_loop(a, v):
    s = 0.1
    for i in range(1, 4):
        for j in range(i):
            t = i - j
            s = s + np.sin(v[t] * a)
        s = s * np.cos(t * a)
    return s


def items_of_a_local_dict(x, w):
    d = {"a": x * 1.0, "b": x * w, "c": np.sin(x)}
    s = 0.0
    for _t in range(2):
        for _k, v in d.items():
            s = s + np.sum(v * v) * s * 0.1 + np.sum(v)
        d = {"a": d["b"] * w, "b": d["a"], "c": d["c"]}
    return s


def masks_and_parts(x, w):
    y = np.where(x > 0.0, x * w, x ** 2) + np.clip(x * w, -0.3, 0.3)
    return np.sum(np.einsum('i,j->ij', y, x) ** 2)


def max_and_min_of_numbers(a, b):
    s = 0.0
    for i in range(4):
        s = s + max(a * i, b) + min(s, a)
    return s


def max_of_a_number_computed_again(a, b):
    s = 0.0
    for i in range(4):
        s = s + max(a * i, b) + min(a * i, b, 0.5 * b)  # a * i is computed again in the backward sweep
    return s


def reduced_unknown_shapes(p, w):
    s = 0.0
    for v in p.values():
        s = s + np.max(v) * w + np.sum(v) ** 2 + np.std(v)
    return s


_rng = np.random.default_rng(80)
_x4 = np.array([0.31, -0.47, 0.83, 0.12])
_X3 = np.array([[0.31, -0.47, 0.83], [0.12, -0.23, 0.57], [-0.66, 0.21, 0.44]])
_P = {"a": _rng.normal(size=3), "b": _rng.normal(size=(2, 2)), "c": _rng.normal(size=5)}

CASES = {
    "gauss_seidel": (gauss_seidel, (_X3 + 3 * np.eye(3), _x4[:3]), (0, 1)),
    "grid_from_neighbours": (grid_from_neighbours, (_X3, 0.7), (0, 1)),
    "index_bound_to_counters": (index_bound_to_counters, (_X3, 0.7), (0, 1)),
    "negative_index_in_while": (negative_index_in_while, (_x4 * 0.5, 0.7), (0, 1)),
    "update_in_else_only": (update_in_else_only, (_x4, 0.7), (0, 1)),
    "two_arrays_and_a_number": (two_arrays_and_a_number, (_x4, 0.7), (0, 1)),
    "lower_triangle": (lower_triangle, (_x4, 0.7), (0, 1)),
    "index_read_after_inner_loop": (index_read_after_inner_loop, (0.7, _x4), (0, 1)),
    "items_of_a_local_dict": (items_of_a_local_dict, (_x4[:3], 0.7), (0, 1)),
    "masks_and_parts": (masks_and_parts, (_x4, 0.7), (0, 1)),
    "max_and_min_of_numbers": (max_and_min_of_numbers, (0.3, 0.5), (0, 1)),
    "reduced_unknown_shapes": (reduced_unknown_shapes, (_P, 0.7), (1,)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_specialised_gradient_matches_differences_and_general_code(name):
    f, args, wrts = CASES[name]
    for wrt in wrts:
        grad = s2s.grad(f, wrt=wrt)
        grad(*args)  # the first call may run general code; the second the specialised code
        got = grad(*args)
        check_grad(got, f, args, wrt=wrt, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got, s2s.derivative(f, wrt=wrt)(*args), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["gauss_seidel", "grid_from_neighbours", "two_arrays_and_a_number"])
def test_the_item_tape_applies(name):
    """Where the item tape is meant to apply it does, so the programs above test it and not the copies."""
    f, args, _ = CASES[name]
    grad = s2s.grad(f, wrt=0)
    grad(*args)
    grad(*args)
    source = s2s.source(grad, *args)
    assert "stack.append(x)" not in source and "stack.append(X)" not in source, source


@pytest.mark.parametrize("f", [max_and_min_of_numbers, max_of_a_number_computed_again])
@pytest.mark.parametrize("args", [(0.5, 0.5), (float("nan"), 0.5), (0.5, float("nan")), (float("nan"),) * 2,
                                  (0.0, -0.0)])
def test_max_of_numbers_ties_and_nans_as_the_general_code(f, args):
    """g goes to the first argument that is the one chosen or equals it, and to the first where the result is a
    NaN (builtin max and min keep a NaN only where it comes first), in specialised, compiled and general code
    alike. An argument the backward sweep computes again (`t = a * i`, tape.py's recomputed numbers) is another
    object: the runtime's grad_select found a NaN chosen by identity alone, and gave it no g (0.0 for the 11.0
    the general code gives max_and_min_of_numbers at a = nan)."""
    for wrt in (0, 1):
        want = s2s.derivative(f, wrt=wrt)(*args)
        for compile in (False, True):
            grad = s2s.grad(f, wrt=wrt, compile=compile)
            grad(*args)
            np.testing.assert_equal(np.asarray(grad(*args), float), np.asarray(want, float))


def test_select_helpers_give_a_nan_chosen_to_its_copy():
    """The runtime's choice for max/min (reverse and forward mode): a copy of a chosen NaN is the one chosen."""
    from s2s.runtime.reductions import grad_select, select_tangent

    nan = float("nan")
    chosen = max(nan, 0.5)
    copy = float(np.float64(chosen))  # another object
    assert copy is not chosen
    assert grad_select(1.0, chosen, [copy, 0.5])[0] == 1.0
    assert select_tangent(chosen, [copy, 0.5], [2.0, 3.0]) == 2.0
    ties = grad_select(1.0, 0.5, [0.5, 0.5])
    assert ties[0] == 1.0 and s2s.runtime.is_zero(ties[1])  # a tie: the first equal one
