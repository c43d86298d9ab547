"""The tape holds only what the backward sweep reads (issue 16).

A value read by the backward sweep only for its shape is not taped where the shape is known,
loop-index arithmetic is recomputed rather than taped, and the gradients stay right (central
finite differences, autograd, and the general code).
"""

import numpy as np
import pytest
from helpers_fd import check_all
from tape_text import taped

import s2s


def rows_next(P):
    s = 0.0
    for i in range(P.shape[0] - 1):
        s = 0.9 * s + np.sum(P[i + 1] * P[i])  # (a recurrence: its trips are not fused into one loop)
    return s


def rows_strided(P):
    s = 0.0
    for i in range(P.shape[0] // 2):
        s = 0.9 * s + np.sum(np.sin(P[2 * i + 1]) * P[2 * i])
    return s


def index_from_previous_step(P):
    s = 0.0
    j = 0
    for i in range(P.shape[0]):
        s = s + np.sum(P[j] * P[i])  # j is the previous step's i + 1: not recomputable from this step's i
        j = i + 1 - 1
    return s


def index_rebound_in_the_loop(P):
    s = 0.0
    for i in range(P.shape[0] - 1):
        k = i + 1
        s = s + np.sum(P[k] ** 2)
        k = k - 1
        s = s + np.sum(P[k] * 3.0)
    return s


def index_read_after_the_loop(P):
    s = 0.0
    k = 0
    for i in range(P.shape[0] - 1):
        k = i + 1
        s = s + np.sum(P[k] * P[i])
    return s * k


def matvec_state(W, x):
    h = np.zeros(x.shape[0])
    for _ in range(3):
        h = np.tanh(W @ h + x)
    return np.sum(h * h)


CASES = {
    "rows_next": (rows_next, lambda r: (r.normal(size=(6, 3)),)),
    "rows_strided": (rows_strided, lambda r: (r.normal(size=(7, 2)),)),
    "index_from_previous_step": (index_from_previous_step, lambda r: (r.normal(size=(5, 3)),)),
    "index_rebound_in_the_loop": (index_rebound_in_the_loop, lambda r: (r.normal(size=(5, 3)),)),
    "index_read_after_the_loop": (index_read_after_the_loop, lambda r: (r.normal(size=(5, 3)),)),
    "matvec_state": (matvec_state, lambda r: (r.normal(size=(4, 4)) * 0.5, r.normal(size=4))),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_is_right(name, seed):
    f, make = CASES[name]
    args = make(np.random.default_rng(seed))
    got = check_all(f, args, wrt=0)
    np.testing.assert_allclose(got, s2s.derivative(f)(*args), rtol=1e-10, atol=1e-12)


def _source(name):
    f, make = CASES[name]
    return s2s.source(s2s.grad(f), *make(np.random.default_rng(0)))


@pytest.mark.parametrize("name, recomputed", [("rows_next", ["i2 = i + 1"]),
                                              # (`2 * i` once: transforms/common_terms.py)
                                              ("rows_strided", ["i3 = 2 * i", "i2 = i3 + 1"])])
def test_index_arithmetic_is_recomputed_not_taped(name, recomputed):
    src = _source(name)
    assert "i2" not in taped(src)
    backward = src[src.index("in reversed("):].splitlines()[1:]
    head = backward[:next(k for k, line in enumerate(backward) if line.lstrip().startswith("#"))]
    assert all(any(text in line for line in head) for text in recomputed)  # at the top of the backward loop


def test_index_from_the_previous_step_stays_on_the_tape():
    src = _source("index_from_previous_step")
    assert "j" in taped(src)


def test_value_read_only_for_its_shape_is_not_taped():
    src = _source("matvec_state")
    # W @ h is read by the backward sweep only for its shape, known here; h itself is taped
    assert taped(src) == ["h"]


def test_no_placeholder_left_for_a_recomputed_index():
    src = _source("rows_next")
    assert "i2 = None" not in src and " i2 = " not in src.split("for i in range(")[0]


def patches_stacked(images, filters):
    patches = np.stack([images[:, i:i + 2] for i in range(3)], axis=1)
    return np.sum(np.tanh(np.einsum("bpi,i->bp", patches, filters)))


def patches_read_again(images, filters):
    items = [images[:, i:i + 2] * filters for i in range(3)]
    first = np.stack(items, axis=1)
    return np.sum(np.tanh(first)) + np.sum(items[0] ** 2)  # read by item after the stack


def keep(items):
    return items


def patches_through_a_helper(images, filters):
    items = [images[:, i:i + 2] * filters for i in range(3)]
    held = keep(items)
    return np.sum(np.stack(held) ** 2) + len(items)


def test_pops_of_a_list_nothing_reads_after_are_dropped():
    g = np.random.default_rng(7)
    images, filters = g.normal(size=(4, 4)), g.normal(size=2)
    for f in (patches_stacked, patches_read_again, patches_through_a_helper):
        check_all(f, (images, filters), wrt=(0, 1))
    code = s2s.source(s2s.grad(patches_stacked, wrt=(0, 1)), images, filters)
    assert ".pop()" not in code, code  # the backward sweep's pops of the comprehension's list, with their loop
