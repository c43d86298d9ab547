"""Slices whose length follows a loop's counter (`x[:i]`, `y[i:]`, `k[:n - i]`, `w[-i:]`): the shape inference
gives them an `Extent` (transforms/shapes.py), equal for two slices of one length, so the specialised code drops
the `unbroadcast`s and matrix-product helpers between them, also across the tape (a backward loop's restores hold
what the forward trip it undoes held). Each program is checked against central differences (and autograd where it
can run it) and the general code; slices whose length cannot be followed (clipped, counted from either end as the
counter moves) keep the general helpers and stay right."""

import os
import sys

import numpy as np
import pytest
from helpers_fd import check_all_and_general

import s2s

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from ordinary_review import autocorrelation_fit, causal_filter, forward_substitution, prefix_means, prefix_products  # noqa: E402


def back_substitution(U, b):
    n = b.shape[0]
    x = np.zeros(n)
    for i in reversed(range(n)):
        x[i] = (b[i] - U[i, i + 1:] @ x[i + 1:]) / U[i, i]
    return np.sum(np.sin(x))


def leading_blocks(A, v):
    s = 0.0
    for i in range(1, A.shape[0] + 1):
        s = s + v[:i] @ A[:i, :i] @ v[:i]
    return s


def tails_kept(x):
    out = []
    for i in range(x.shape[0] - 1):
        out.append(np.sum(np.exp(x[i:]) * x[i:]))
    return sum(out)


def middle(x, w):
    n = x.shape[0]
    s = 0.0
    for i in range(n // 2):
        d = x[i:n - i] - w[i:n - i] * x[n // 2]  # (9 - 2i items: a length of scale -2)
        s = s + np.sum(d * d)
    return s


def clipped(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.sum(x[i - 2:i] ** 2) * w[i]  # (x[-2:0] and x[-1:1] are empty, then 2 items: not i's length)
    return s


def both_ends(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.sum(np.tanh(x[-i:]) * x[:i + 1][-1])  # (x[-0:] is all of x: no length of i's)
    return s


def triangular_residuals(A, x, b):
    loss = 0.0
    for i in range(x.shape[0]):
        r = A[i, :i + 1] @ x[:i + 1] - b[i]
        loss += r * r  # (the seed's adjoint rebound in the loop: a number where the function starts)
    return loss


def _rng(seed=0):
    return np.random.default_rng(seed)


def _lower(r, n=6):
    return np.tril(r.normal(size=(n, n))) * 0.3 + 2.0 * np.eye(n)


CASES = {
    "causal_filter": (causal_filter, lambda r: (r.normal(size=9) * 0.3, r.normal(size=9)), (0, 1)),
    "prefix_products": (prefix_products, lambda r: (r.normal(size=7), r.normal(size=7)), (0, 1)),
    "forward_substitution": (forward_substitution, lambda r: (_lower(r), r.normal(size=6)), (0, 1)),
    "back_substitution": (back_substitution, lambda r: (_lower(r).T, r.normal(size=6)), (0, 1)),
    "leading_blocks": (leading_blocks, lambda r: (r.normal(size=(5, 5)), r.normal(size=5)), (0, 1)),
    "tails_kept": (tails_kept, lambda r: (r.normal(size=6) * 0.5,), 0),
    "middle": (middle, lambda r: (r.normal(size=9), r.normal(size=9)), (0, 1)),
    "prefix_means": (prefix_means, lambda r: (r.normal(size=12), r.normal(size=12)), (0, 1)),
    "autocorrelations": (autocorrelation_fit, lambda r: (r.normal(size=24), r.normal(size=10) * 0.1), (0, 1)),
    "triangular_residuals": (triangular_residuals, lambda r: (r.normal(size=(10, 10)) / 4, r.normal(size=10),
                                                              r.normal(size=10)), (0, 1, 2)),
    "clipped": (clipped, lambda r: (r.normal(size=40), r.normal(size=40)), (0, 1)),
    "both_ends": (both_ends, lambda r: (r.normal(size=40),), 0),  # (40 trips: a loop, not written out)
}
IN_PLACE = {"causal_filter", "forward_substitution", "back_substitution"}  # (autograd writes into no array)
FOLLOWED = ["causal_filter", "prefix_products", "forward_substitution", "back_substitution", "middle", "prefix_means",
            "autocorrelations", "triangular_residuals"]


@pytest.mark.filterwarnings("ignore:Output seems independent of input")
@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_is_right(name, seed):
    f, make, wrt = CASES[name]
    check_all_and_general(f, make(_rng(seed)), wrt=wrt, use_autograd=name not in IN_PLACE)


def _source(name):
    f, make, wrt = CASES[name]
    return s2s.source(s2s.grad(f, wrt=wrt), *make(_rng()))


@pytest.mark.parametrize("name", FOLLOWED)
def test_lengths_that_follow_the_counter_keep_the_specialised_path(name):
    src = _source(name)
    assert "unbroadcast" not in src and "grad_matmul" not in src and "expand_reduced" not in src, src
    assert "# s2s:" not in src and "Extent" not in src, src


def test_the_forward_trip_s_values_are_not_taped_for_their_shapes():
    src = _source("causal_filter")  # (y[i:] and the products were saved for unbroadcast alone)
    assert "g @ " in src or "@ g" in src, src  # (x[i]'s adjoint, a sum of a product of two slices: a dot product)
    saves = [line for line in src.splitlines() if "saved.append(" in line]
    assert "inplace_check" not in src and "copy()" not in src and len(saves) == 1, src
    assert saves[0].count(",") == 2, src  # (i, and the two values the backward sweep reads: x[i], k[:n - i])


@pytest.mark.parametrize("name", ["clipped", "both_ends"])
def test_lengths_that_do_not_follow_the_counter_are_not_claimed(name):
    src = _source(name)
    assert "unbroadcast" in src or "expand_reduced" in src or "# s2s:" in src, src


def prefix_deviation(x):
    loss = 0.0
    for i in range(1, x.shape[0]):
        loss = loss + (x[i] - np.mean(x[:i])) ** 2
    return loss


def hinge_mean(w, y):
    return 0.1 * np.mean(np.maximum(0.0, 1.0 - y * w))


def test_the_mean_of_a_prefix_divides_by_its_size_and_compiles():
    """(a review's `np.mean(x[:i])`: expand_reduced and reduced_size stayed, `shape of t3 unknown`, and the
    compiled path fell back on reduced_size; the size of a slice whose length follows the counter is `t.size`)"""
    from helpers_fd import compiled_matches
    x = np.random.default_rng(6).normal(size=9)
    src = s2s.source(s2s.grad(prefix_deviation), x)
    assert "reduced_size" not in src and "expand_reduced" not in src and ".size" in src, src
    check_all_and_general(prefix_deviation, (x,))
    compiled_matches(prefix_deviation, (x,))


def test_a_hinge_scaled_by_an_unfolded_factor_compiles():
    """(`0.1 / 50 * (balanced_eq(...) if ties else t > 0.0)`: numba could not unify the two branches' arrays; the
    factor now goes into each branch as a name or a constant did)"""
    from helpers_fd import compiled_matches
    w, y = np.linspace(-2, 2, 12), np.sign(np.linspace(-1, 1.1, 12))
    compiled_matches(hinge_mean, (w, y))
    check_all_and_general(hinge_mean, (w, y))
