"""np.diff, np.convolve and np.correlate in specialised and compiled code (performance review h134, program 9).

Their results had no shape rule, so every adjoint after them stayed general (`unbroadcast`, `s2s.add`,
`grad_matmul_b`), and np.diff's adjoint padded and differenced its argument (12-23 us on 60 numbers, against
about 1 us for two slice updates); compiled code fell back on `s2s.grad_diff`. Each program is checked against
central differences, autograd (where it has the function's VJP) and the general code.
"""

import numpy as np
import pytest
from helpers_fd import check_all_and_general

import s2s
from s2s.rules import result_shapes
from s2s.runtime.rearrange import grad_diff


def _code(src):
    return "\n".join(line for line in src.splitlines() if not line.strip().startswith("#"))


def smoothness(x, w):
    d = np.diff(x)
    return np.sum(w * d ** 2) + np.sum(x ** 2)


def second_differences(P, W):
    d2 = np.diff(P, 2, axis=0)  # rows: a polyline's bending
    return np.sum(np.tanh(d2 @ W) ** 2)


def smoothed_then_differenced(x, kern):
    sm = np.convolve(x, kern, mode="valid")
    c = np.cumsum(np.diff(sm) ** 2)
    return c[-1] + np.sum(np.correlate(x, kern, "same") * x)


def full_convolution(x, kern, W):
    y = np.convolve(x, kern)  # 'full': len(x) + len(kern) - 1
    return np.sum((W @ y) ** 2)


CASES = [
    (smoothness, lambda r: (r.normal(size=9), r.uniform(0.5, 1.5, 8)), (0, 1)),
    (second_differences, lambda r: (r.normal(size=(6, 3)), r.normal(size=(3, 2))), (0, 1)),
    (smoothed_then_differenced, lambda r: (r.normal(size=12), np.array([0.25, 0.5, 0.25])), (0, 1)),
    (full_convolution, lambda r: (r.normal(size=7), r.normal(size=3), r.normal(size=(4, 9))), (0, 1, 2)),
]


@pytest.mark.parametrize("f, make, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_the_specialised_code_keeps_no_general_helper(f, make, wrt):
    args = make(np.random.default_rng(1))
    src = _code(s2s.source(s2s.grad(f, wrt=wrt), *args))
    for helper in ("unbroadcast", "s2s.add", "grad_matmul", "expand_reduced"):
        assert helper not in src, src
    check_all_and_general(f, args, wrt=wrt, use_autograd=f not in _NO_AUTOGRAD)


_NO_AUTOGRAD = (smoothed_then_differenced, full_convolution)  # (autograd has no VJP of np.convolve)


@pytest.mark.parametrize("f, make, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_compiled(f, make, wrt):
    pytest.importorskip("numba")
    import warnings

    from s2s import compiled
    args = make(np.random.default_rng(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", compiled.CompiledFallbackWarning)  # (np.convolve's adjoint: NumPy code)
        got = s2s.grad(f, wrt=wrt, compile="always")(*args)
    for a, b in zip(got, s2s.grad(f, wrt=wrt)(*args)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_np_diff_alone_compiles():
    from helpers_fd import compiled_matches
    pytest.importorskip("numba")
    r = np.random.default_rng(3)
    compiled_matches(smoothness, (r.normal(size=9), r.uniform(0.5, 1.5, 8)), wrt=0)
    compiled_matches(row_differences, (r.normal(size=(3, 6)),), wrt=0)  # (numba's np.diff: the last axis alone)


def row_differences(A):
    return np.sum(np.diff(A, 2) ** 2 * np.arange(4.0))


@pytest.mark.parametrize("shape, n, axis", [((6,), 1, -1), ((6,), 3, 0), ((4, 5), 2, 0), ((4, 5), 1, 1),
                                            ((3,), 4, 0), ((2, 3, 4), 2, 1), ((0,), 1, 0), ((5,), 0, 0)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_grad_diff_is_the_transpose_of_np_diff(shape, n, axis, dtype):
    """<J^T g, e> = <g, J e> for every unit vector e; the compiled helper gives the same array, dtype included."""
    r = np.random.default_rng(4)
    a = r.normal(size=shape).astype(dtype)
    g = r.normal(size=np.diff(a, n, axis).shape).astype(dtype)
    got = grad_diff(g, a, n, axis)
    want = np.array([np.sum(np.diff(e.reshape(shape), n, axis) * g) for e in np.eye(a.size)]).reshape(shape)
    assert got.shape == a.shape and got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    numba = pytest.importorskip("numba")
    from s2s.runtime import compiled_helpers
    compiled = numba.njit(lambda g, a, n, axis: compiled_helpers.grad_diff(g, a, n, axis))
    np.testing.assert_array_equal(compiled(g, a, n, axis), got)
    assert compiled(g, a, n, axis).dtype == dtype
    np.testing.assert_array_equal(compiled(0.5, a, n, axis), grad_diff(0.5, a, n, axis))


class _Site:
    def __init__(self, shapes, literals, nargs, keywords=()):
        self._shapes, self._literals, self.nargs, self.keywords = shapes, literals, nargs, keywords

    def shape(self, which):
        return self._shapes.get(which)

    def literal(self, which, default=None):
        return self._literals.get(which, default)


@pytest.mark.parametrize("mode, n, m, want", [("full", 7, 3, 9), ("same", 7, 3, 7), ("valid", 7, 3, 5),
                                              ("valid", 3, 7, 5), ("same", 2, 5, 5), ("full", 1, 1, 1)])
def test_convolution_lengths_are_numpy_s(mode, n, m, want):
    site = _Site({0: (n,), 1: (m,)}, {2: mode}, 3)
    assert result_shapes.convolved("full")(site) == (want,) == np.convolve(np.ones(n), np.ones(m), mode).shape
    assert result_shapes.convolved("full")(_Site({0: (n,), 1: (0,)}, {}, 2)) is None  # (NumPy raises)
    assert result_shapes.convolved("full")(_Site({0: (n, 2), 1: (m,)}, {}, 2)) is None


@pytest.mark.parametrize("shape, n, axis", [((6,), 1, -1), ((6,), 7, 0), ((4, 5), 2, 0), ((4, 5), 0, 1)])
def test_difference_shapes_are_numpy_s(shape, n, axis):
    site = _Site({0: shape}, {1: n, 2: axis}, 3)
    assert result_shapes.differenced(site) == np.diff(np.ones(shape), n, axis).shape
    assert result_shapes.differenced(_Site({0: shape}, {1: -1}, 2)) is None  # (NumPy raises)


@pytest.mark.parametrize("n, m", [(7, 3), (3, 7), (5, 5), (1, 4), (4, 1)])
@pytest.mark.parametrize("mode", ["full", "valid", "same"])
def test_compiled_grad_convolve_is_the_runtime_s(n, m, mode):
    numba = pytest.importorskip("numba")
    from s2s.runtime import compiled_helpers
    from s2s.runtime.signal import grad_convolve
    r = np.random.default_rng(n * 10 + m)
    a, v = r.normal(size=n), r.normal(size=m)
    g = r.normal(size=np.convolve(a, v, mode).shape)
    both = numba.njit(lambda g, a, v: (compiled_helpers.grad_convolve(g, a, v, mode, 0),
                                       compiled_helpers.grad_convolve(g, a, v, mode, 1)))
    for got, want in zip(both(g, a, v), (grad_convolve(g, a, v, mode, 0), grad_convolve(g, a, v, mode, 1))):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_a_convolution_compiles():
    pytest.importorskip("numba")
    from helpers_fd import compiled_matches
    r = np.random.default_rng(5)
    args = (r.normal(size=7), r.normal(size=3), r.normal(size=(4, 9)))
    compiled_matches(full_convolution, args, wrt=(0, 1, 2))


# ---- np.pad (helper 137's review: its result had no shape, and its 'edge' adjoint went through an index gather)


def padded_smoothness(u, f):
    up = np.pad(u, 1, mode="edge")
    d2 = np.diff(up, 2)
    return 0.5 * np.sum((u - f) ** 2) + 0.5 * np.sum(np.sqrt(d2 * d2 + 1e-3))


def padded_image(X, W):
    P = np.pad(X, ((1, 2), (0, 1)))
    return np.sum(np.tanh(P @ W) ** 2)


@pytest.mark.parametrize("f, args", [
    (padded_smoothness, lambda r: (r.normal(size=12), r.normal(size=12))),
    (padded_image, lambda r: (r.normal(size=(4, 3)), r.normal(size=(4, 2)))),
])
def test_a_padded_array_has_a_shape(f, args):
    a = args(np.random.default_rng(46))
    check_all_and_general(f, a, wrt=(0, 1), use_autograd=False)  # (autograd pads in 'constant' mode alone)
    src = _code(s2s.source(s2s.grad(f, wrt=(0, 1)), *a))
    assert "unbroadcast" not in src and "expand_reduced" not in src and "grad_matmul" not in src, src


@pytest.mark.parametrize("shape", [(5,), (4, 3), (2, 3, 4), (1,), (3, 1)], ids=str)
@pytest.mark.parametrize("width", [1, (2,), (1, 3), ((1, 0),), ((0, 2),), 0, ((1, 2), (0, 1))], ids=str)
@pytest.mark.parametrize("mode", ["constant", "edge"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_pad_adjoint_by_slices_is_the_gather_s(shape, width, mode, dtype):
    from s2s.runtime import rearrange

    r = np.random.default_rng(7)
    x = r.normal(size=shape).astype(dtype)
    try:
        y = np.pad(x, width, mode=mode)
    except ValueError:
        return  # (a width NumPy does not take for this many axes)
    g = r.normal(size=y.shape).astype(dtype)
    got = rearrange.grad_pad(g, x, width, mode)
    missing = -1 if mode == "constant" else None
    want = rearrange._gather_adjoint(
        g, x, lambda i: np.pad(i, width, mode=mode, **({"constant_values": -1} if missing else {})), missing=missing)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype is np.float32 else 1e-14, atol=1e-6)
    assert got.flags.writeable and not np.shares_memory(got, g)  # (an adjoint of its own: added into in place)


def widths_appended(x):
    p = [1]
    p.append(3)  # pads (1, 3): y has 10 entries, not 8
    y = np.pad(x, p, mode="edge")
    return np.sum(y ** 2) / y.size


def widths_reversed(x):
    p = [[2, 0], [0, 0]]
    p.reverse()
    y = np.pad(x, p)
    return np.sum(y ** 2) * y.shape[0]


def widths_in_a_dict(x):
    return np.sum(np.sin(np.pad(x, {0: (1, 2)}, mode="edge")) * np.arange(9.0))


@pytest.mark.parametrize("f, shape", [(widths_appended, (6,)), (widths_reversed, (3, 4)), (widths_in_a_dict, (6,))])
def test_pad_widths_changed_after_they_are_written_or_in_a_dict(f, shape):
    """(helper 138: the shape claimed from `p = [1]` while `p.append(3)` made it (1, 3) gave a wrong gradient
    silently; a dict of widths raised in the adjoint by slices)"""
    from helpers_fd import fd_grad

    x = np.random.default_rng(9).normal(size=shape)
    np.testing.assert_allclose(s2s.grad(f)(x), fd_grad(f, (x,)), rtol=1e-6, atol=1e-8)
