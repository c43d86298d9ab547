"""The adjoints of np.where and np.clip in specialised code (s2s.grad_where, s2s.grad_clip: their result
shapes in s2s/rules/result_shapes.py `masked`, their rewrite in transforms/specialize.py `_masked`): the
mask written out where g has the shape of what it is the adjoint of, the helper kept where it sums down a
broadcast. Each against central differences and autograd, random shapes with broadcasting, fixed seeds."""

import numpy as np
import pytest
from conftest import check_grad, rng

import s2s


def leaky(W, X):
    z = X @ W
    return np.sum(np.where(z > 0, z, 0.01 * z) ** 2)


def where_broadcast_cond(x, y):
    return np.sum(np.where(x[:, :1] > 0, x, y) ** 2)  # cond (4, 1), x (4, 3), y (3,): summed down for y


def where_number_branch(x, c):
    return np.sum(np.where(x > 0.2, c, x) * x)  # c a number: its adjoint sums the chosen entries


def relu6(W, X):
    return np.sum(np.clip(X @ W, 0.0, 6.0) ** 2)


def clip_array_bounds(x, lo, hi):
    return np.sum(np.sin(np.clip(x, lo, hi)))  # lo (3,), hi a number


def clip_one_side(x):
    return np.sum(np.clip(x, None, 0.5) ** 3) + np.sum(np.clip(x, -0.25, None) * x)


CASES = [
    (leaky, lambda g: (g.normal(size=(5, 4)), g.normal(size=(6, 5))), 0, True),
    (where_broadcast_cond, lambda g: (g.normal(size=(4, 3)), g.normal(size=3)), (0, 1), False),
    (where_number_branch, lambda g: (g.normal(size=(3, 2)), 0.7), (0, 1), False),
    (relu6, lambda g: (g.normal(size=(5, 4)) * 3, g.normal(size=(6, 5))), 0, True),
    (clip_array_bounds, lambda g: (g.normal(size=(2, 3)), g.normal(size=3) * 0.3, 0.4), (0, 1, 2), False),
    (clip_one_side, lambda g: (g.normal(size=7),), 0, True),
]


# autograd's np.where adjoint does not sum a broadcast argument down, and it has no np.clip adjoint for the bounds
_NO_AUTOGRAD = (where_broadcast_cond, where_number_branch, clip_array_bounds)


@pytest.mark.parametrize("f, make, wrt, written_out", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_masked_adjoints_match_central_differences_and_autograd(f, make, wrt, written_out):
    for seed in (0, 1):
        args = make(rng(seed))
        check_grad(f, *args, wrt=wrt, ag=False if f in _NO_AUTOGRAD else None)
    code = s2s.source(s2s.grad(f, wrt=wrt), *args)
    helpers = "s2s.grad_where" in code or "s2s.grad_clip" in code
    assert helpers is not written_out, code


def test_the_written_out_masks_keep_float32():
    g = rng(2)
    W, X = g.normal(size=(5, 4)).astype(np.float32), g.normal(size=(6, 5)).astype(np.float32)
    for f in (leaky, relu6):
        out = s2s.grad(f)(W, X)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, s2s.derivative(f)(W.astype(float), X.astype(float)), rtol=1e-4, atol=1e-5)
