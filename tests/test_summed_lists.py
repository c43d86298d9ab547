"""`sum(L)` of a list of numbers appended to in a loop: each item's adjoint is the sum's (`sum_adjoints_as_items`,
transforms/list_adjoints.py), so the list adjoint and its pops go; `sum(L)` itself is dropped where the gradient
needs no value (builtin sum of real numbers cannot raise), and then the appends of a list nobody reads
(`drop_write_only_lists`, transforms/tape.py). Helper 139's RNN summing per-step losses kept a list adjoint and
fell back under compile=True. Each against central differences, autograd and the general code."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from tests.helpers_fd import check_all_and_general, compiled_matches

R = np.random.default_rng(55)


def step_losses(Wh, Wx, xs, ys):
    h = np.zeros(Wh.shape[0])
    losses = []
    for t in range(xs.shape[0]):
        h = np.tanh(Wh @ h + Wx @ xs[t])
        losses.append(np.sum((h - ys[t]) ** 2))
    return sum(losses)


def scaled_sum(w, xs):
    terms = []
    for x in xs:
        terms.append(np.sin(w @ x))
    return 0.5 * sum(terms) + terms[-1] * w[0]


def sum_of_arrays(w, xs):
    """(items are arrays: each item's adjoint is the sum's array, not a number; kept general)"""
    rows = []
    for x in xs:
        rows.append(np.tanh(w * x))
    return np.sum(sum(rows) ** 2)


def value_needed(w, xs):
    terms = []
    for x in xs:
        terms.append(np.exp(-np.sum((x - w) ** 2)))
    total = sum(terms)
    return np.log(total)


ARGS = {
    "step_losses": (step_losses, (R.normal(size=(5, 5)) * 0.4, R.normal(size=(5, 3)) * 0.4, R.normal(size=(6, 3)),
                                  R.normal(size=(6, 5))), (0, 1)),
    "scaled_sum": (scaled_sum, (R.normal(size=3), R.normal(size=(4, 3))), 0),
    "sum_of_arrays": (sum_of_arrays, (R.normal(size=3), R.normal(size=(4, 3))), 0),
    "value_needed": (value_needed, (R.normal(size=3), R.normal(size=(4, 3))), 0),
}


@pytest.mark.parametrize("name", sorted(ARGS))
def test_gradients_match_differences_autograd_and_the_general_code(name):
    f, args, wrt = ARGS[name]
    check_all_and_general(f, args, wrt=wrt)


def test_the_list_adjoint_the_sum_and_the_appends_go():
    f, args, wrt = ARGS["step_losses"]
    src = s2s.source(s2s.grad(f, wrt=wrt), *args)
    code = "\n".join(line for line in src.splitlines() if not line.strip().startswith("#"))  # (not the comments)
    for general in ("grad_builtin_sum", "append_grads", "sum(losses)", "losses.append", "losses.pop"):
        assert general not in code, src


def test_value_and_grad_still_sums():
    f, args, _ = ARGS["step_losses"]
    value, _ = s2s.value_and_grad(f)(*args)
    assert value == pytest.approx(f(*args), rel=1e-12)


def test_compiled_matches():
    pytest.importorskip("numba")
    f, args, _ = ARGS["step_losses"]
    compiled_matches(f, args, wrt=(0, 1))


def unbound_append(w, xs):
    L = []
    for x in xs:
        if np.sum(x) > 100.0:
            v = np.sum(w * x)
        L.append(v)
    return np.sum(w ** 2)


def unbound_append_once(w, x):
    L = []
    if np.sum(x) > 100.0:
        v = np.sum(w * x)
    L.append(v)
    return np.sum(w ** 2)


@pytest.mark.parametrize("f, x", [(unbound_append, np.ones((2, 3))), (unbound_append_once, np.ones(3))])
def test_an_append_of_a_name_never_bound_raises_as_python_does(f, x):
    """(helper 143: the append to a list nobody reads was dropped, and its read of an unbound name with it)"""
    w = np.array([0.1, 0.2, 0.3])
    with pytest.raises(UnboundLocalError):
        f(w, x)
    with pytest.raises(UnboundLocalError):
        s2s.grad(f)(w, x)
    np.testing.assert_allclose(s2s.grad(f)(w, x * 100.0), 2 * w)  # (bound: the gradient of the sum of squares)
