"""Loops over layers of different sizes written out (transforms/unroll.py) where their number of trips is
builtin `min`/`max` of known ints or `len(range(...))`: `for W, b in zip(Ws[:-1], bs[:-1])` (a zip runs to
`min(len(a), len(b))`), `n = min(len(Ws) - 1, len(bs) - 1); for i in range(n)`, zip of three lists, of a list and
a range, `enumerate(zip(...))` and `zip(Ws, Ws[1:])`. Each program's gradient is checked against central
differences and autograd, lists of different lengths (zip stops at the shortest) and empty ones included; a
module's own `min` is not taken for the builtin; the written-out code keeps no general helper."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import s2s
from tests.fixtures import shadowed_min
from tests.helpers_fd import assert_close, autograd_version, fd_grad

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from ordinary_review import mlp_zip  # noqa: E402 - the review's MLP over zip(Ws[:-1], bs[:-1]), benchmarked there

RNG = np.random.default_rng(5)


def mlp_min(Ws, bs, X, y):
    h = X
    n = min(len(Ws) - 1, len(bs) - 1)
    for i in range(n):
        h = np.maximum(h @ Ws[i] + bs[i], 0.0)
    z = h @ Ws[-1] + bs[-1]
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -np.mean(logp[np.arange(X.shape[0]), y])


def nested_min_max(Ws, bs, X):
    h = X
    for i in range(max(min(len(Ws), len(bs)) - 1, 0)):
        h = np.tanh(h @ Ws[i] + bs[i])
    return np.sum(h ** 2)


def min_of_a_tuple(Ws, bs, X):
    h = X
    for i in range(min((len(Ws), len(bs), 3))):
        h = np.tanh(h @ Ws[i] + bs[i])
    return np.sum(h ** 2)


def zip_of_three(Ws, bs, cs, X):
    h = X
    for W, b, c in zip(Ws, bs, cs):
        h = np.tanh(h @ W + b) * c
    return np.sum(h ** 2)


def zip_with_range(Ws, bs, X):
    h = X
    for W, i in zip(Ws, range(len(bs))):
        h = np.tanh(h @ W + bs[i])
    return np.sum(h ** 2)


def zip_with_stepped_range(Ws, bs, X):
    h = X
    for i, W in zip(range(len(bs) - 1, -1, -1), Ws[::-1]):
        h = np.tanh(h @ W.T + bs[i][:W.shape[0]]) * (i + 1)
    return np.sum(h ** 2)


def enumerate_zip(Ws, bs, X):
    h = X
    for i, (W, b) in enumerate(zip(Ws, bs), 1):
        h = np.tanh(h @ W + b) * i
    return np.sum(h ** 2)


def zip_with_next(Ws, X):
    total = np.sum(X ** 2)
    for A, B in zip(Ws, Ws[1:]):
        total = total + np.sum(np.tanh(A @ B))
    return total


def layers(sizes, dtype=np.float64):
    Ws = [(RNG.normal(size=(a, b)) / np.sqrt(a)).astype(dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [(RNG.normal(size=b) * 0.1).astype(dtype) for b in sizes[1:]]
    return Ws, bs


def fd_list(f, args, p):
    """Central differences of `f` for each array of the list argument at `p`."""
    out = []
    for i, leaf in enumerate(args[p]):
        def at(v, i=i):
            items = list(args[p])
            items[i] = v
            return f(*args[:p], items, *args[p + 1:])
        out.append(fd_grad(at, [leaf]))
    return out


def check(f, args, wrt, use_autograd=True):
    """s2s.grad(f, wrt) against central differences and autograd, array by array; the s2s gradient."""
    got = s2s.grad(f, wrt=wrt)(*args)
    got = got if isinstance(wrt, tuple) else (got,)
    for p, g in zip(wrt if isinstance(wrt, tuple) else (wrt,), got):
        if isinstance(args[p], list):
            assert isinstance(g, list) and len(g) == len(args[p])
            for gi, ei, a in zip(g, fd_list(f, args, p), args[p]):
                assert np.shape(gi) == a.shape
                assert_close(gi, ei, rtol=1e-5, atol=1e-6)
        else:
            assert_close(g, fd_grad(f, args, p), rtol=1e-5, atol=1e-6)
        if use_autograd:
            import autograd
            expected = autograd.grad(autograd_version(f), p)(*args)
            for gi, ei in zip(g if isinstance(g, list) else [g], expected if isinstance(g, list) else [expected]):
                assert_close(gi, ei, rtol=1e-7, atol=1e-9)
    return got


def kept_notes(f, args, wrt):
    return [line.strip() for line in s2s.source(s2s.grad(f, wrt=wrt), *args).splitlines()
            if line.strip().startswith("# s2s:") and " kept" in line]


def body(f, args, wrt):
    """The generated code without its comment lines."""
    src = s2s.source(s2s.grad(f, wrt=wrt), *args)
    return "\n".join(line for line in src.splitlines() if not line.strip().startswith("#"))


def mlp_args(sizes=(6, 5, 4, 3), batch=7):
    Ws, bs = layers(list(sizes))
    return Ws, bs, RNG.normal(size=(batch, sizes[0])), RNG.integers(0, sizes[-1], batch)


@pytest.mark.parametrize("f", [mlp_zip, mlp_min])
def test_the_mlp_over_zip_or_min_is_written_out(f):
    args = mlp_args()
    check(f, args, (0, 1))
    assert kept_notes(f, args, (0, 1)) == []
    code = body(f, args, (0, 1))
    assert "for " not in code
    for helper in ("unbroadcast(", "grad_matmul", "expand_reduced", "stack"):
        assert helper not in code


def test_the_zip_mlp_of_the_perf_review_prints_no_kept_note():
    args = mlp_args((64, 48, 32, 10), 64)
    assert kept_notes(mlp_zip, args, (0, 1)) == []
    assert kept_notes(mlp_zip, args, 0) == []
    gz, gr = s2s.grad(mlp_zip, wrt=(0, 1))(*args), s2s.grad(mlp_min, wrt=(0, 1))(*args)
    for a, b in zip(gz[0] + gz[1], gr[0] + gr[1]):
        assert_close(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("f", [nested_min_max, min_of_a_tuple])
@pytest.mark.parametrize("nb", [3, 2, 1, 0])
def test_nested_min_and_max_of_known_ints(f, nb):
    Ws, bs = layers([5, 4, 3, 2])
    args = (Ws, bs[:nb], RNG.normal(size=(3, 5)))
    check(f, args, (0, 2))
    if nb >= 2:
        assert kept_notes(f, args, (0, 2)) == []
        assert "for " not in body(f, args, (0, 2))


@pytest.mark.parametrize("lengths", [(3, 3, 3), (3, 2, 3), (2, 3, 1), (3, 3, 0)])
def test_zip_of_three_lists_stops_at_the_shortest(lengths):
    Ws, bs = layers([5, 4, 3, 2])
    cs = [RNG.normal(size=W.shape[1]) for W in Ws]
    args = (Ws[:lengths[0]], bs[:lengths[1]], cs[:lengths[2]], RNG.normal(size=(3, 5)))
    check(zip_of_three, args, (0, 1, 2, 3))
    if min(lengths) >= 2:
        assert kept_notes(zip_of_three, args, (0, 1)) == []
        assert "for " not in body(zip_of_three, args, (0, 1))


@pytest.mark.parametrize("nb", [3, 2, 0])
def test_zip_of_a_list_and_a_range(nb):
    Ws, bs = layers([5, 4, 3, 2])
    args = (Ws, bs[:nb], RNG.normal(size=(3, 5)))
    check(zip_with_range, args, (0, 1, 2))
    if nb >= 2:
        assert kept_notes(zip_with_range, args, (0, 1)) == []
        assert "for " not in body(zip_with_range, args, (0, 1))


def test_zip_of_a_stepped_range_and_a_reversed_list():
    Ws, bs = layers([5, 5, 5, 5])
    Ws = [Ws[0], RNG.normal(size=(5, 4)), RNG.normal(size=(4, 5))]  # items of different shapes
    args = (Ws, bs, RNG.normal(size=(3, 5)))
    check(zip_with_stepped_range, args, (0, 1, 2))
    assert "for " not in body(zip_with_stepped_range, args, (0, 1))


@pytest.mark.parametrize("nb", [3, 2, 0])
def test_enumerate_of_zip(nb):
    Ws, bs = layers([5, 4, 3, 2])
    args = (Ws, bs[:nb], RNG.normal(size=(3, 5)))
    check(enumerate_zip, args, (0, 1, 2))
    if nb >= 2:
        assert kept_notes(enumerate_zip, args, (0, 1)) == []
        assert "for " not in body(enumerate_zip, args, (0, 1))


@pytest.mark.parametrize("n", [4, 2, 1, 0])
def test_zip_of_a_list_and_its_tail(n):
    Ws, _ = layers([5, 4, 3, 2, 6])
    args = (Ws[:n], RNG.normal(size=(3, 5)))
    check(zip_with_next, args, (0, 1))
    if n >= 3:
        assert "for " not in body(zip_with_next, args, 0)


def test_empty_lists():
    X = RNG.normal(size=(3, 5))
    for f, args in [(zip_of_three, ([], [], [], X)), (enumerate_zip, ([], [], X)), (zip_with_range, ([], [], X)),
                    (nested_min_max, ([], [], X))]:
        g = s2s.grad(f, wrt=(0, len(args) - 1))(*args)
        assert g[0] == []
        assert_close(g[1], 2 * X)


def test_a_module_of_its_own_min():
    Ws, bs = layers([5, 4, 3, 2])
    X = RNG.normal(size=(3, 5))
    # its min(3 - 2, 1) is 2: two layers, not Python's one
    g = check(shadowed_min.trips_by_own_min, (Ws, bs, X), (0, 1))
    assert np.any(g[0][1] != 0)
    assert_close(g[0][2], np.zeros_like(Ws[2]))
    # the zip's own min is Python's: two trips over lists of 3 and 2
    g = check(shadowed_min.zipped_layers, (Ws, bs[:2], X), (0, 1))
    assert np.any(g[0][1] != 0)
    assert_close(g[0][2], np.zeros_like(Ws[2]))
    assert "for " not in body(shadowed_min.zipped_layers, (Ws, bs[:2], X), 0)


@pytest.mark.parametrize("f", [mlp_zip, mlp_min])
def test_float32_layers(f):
    Ws, bs = layers([6, 5, 4, 3], np.float32)
    X, y = RNG.normal(size=(7, 6)).astype(np.float32), RNG.integers(0, 3, 7)
    g32 = s2s.grad(f, wrt=(0, 1))(Ws, bs, X, y)
    g64 = s2s.grad(f, wrt=(0, 1))([W.astype(float) for W in Ws], [b.astype(float) for b in bs], X.astype(float), y)
    assert all(W.dtype == np.float32 for W in Ws + bs)
    for a, b in zip(g32[0] + g32[1], g64[0] + g64[1]):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert kept_notes(f, (Ws, bs, X, y), (0, 1)) == []


# ---- items read through a slice are the argument's own (item_reads.read_items_through_slices) -----------

def tails_and_strides(Ws, x):
    h = x
    for W in Ws[1:]:
        h = np.tanh(h @ W)
    s = 0.0
    for W in Ws[::2]:
        s = s + np.sum(W * W)
    for W in Ws[-2::-1]:
        s = s + np.sum(np.sin(W))
    return np.sum(h) + s * len(Ws[:-1])


def first_changed(Ws, x):
    Ws[0] = Ws[0] * 2.0  # the argument changed: no read through its slices is the argument's item
    h = x
    for W in Ws[:-1]:
        h = np.tanh(h @ W)
    return np.sum(h)


def test_the_zip_mlp_gives_each_layer_its_own_adjoint():
    args = mlp_args()
    code = body(mlp_zip, args, (0, 1))
    for helper in ("grad_iterated", "getitem_grad", "s2s.add("):
        assert helper not in code, code


@pytest.mark.parametrize("as_type", [list, tuple])
def test_slices_with_steps_and_negative_bounds(as_type):
    sizes = [(3, 4), (4, 4), (4, 2), (2, 2)]
    Ws = as_type(RNG.normal(size=s) * 0.5 for s in sizes)
    x = RNG.normal(size=(5, 4))
    if as_type is list:
        check(tails_and_strides, (Ws, x), 0)
    got = s2s.grad(tails_and_strides)(Ws, x)
    assert type(got) is as_type and len(got) == 4
    want = s2s.grad(tails_and_strides, optimize=False)(Ws, x)
    for a, b in zip(got, want):
        assert_close(a, b, rtol=1e-12, atol=1e-14)
    assert "getitem_grad" not in body(tails_and_strides, (Ws, x), 0)


def test_an_argument_changed_in_place_keeps_its_slices_read_through_the_slice():
    Ws = [RNG.normal(size=(3, 3)) * 0.5 for _ in range(3)]
    x = RNG.normal(size=(2, 3))
    got = s2s.grad(first_changed)([w.copy() for w in Ws], x)
    want = s2s.grad(first_changed, optimize=False)([w.copy() for w in Ws], x)
    for a, b in zip(got, want):
        assert_close(a, b, rtol=1e-12, atol=1e-14)
