"""A loop over a container's items with one trip (`for W, b in params[:-1]` of a two-layer list) is written out
(transforms/unroll.py), and a gradient of a list of `(W, b)` tuples is returned as made, each layer's tuple
built as `finish` would (transforms/finish.py): an MLP at n=10 1.42x -> 1.07x of its hand gradient (helper 157)."""

import numpy as np
import pytest
from helpers_fd import check_all

import s2s


def mlp(params, X, Y):
    h = X
    for W, b in params[:-1]:
        h = np.maximum(h @ W + b, 0.0)
    W, b = params[-1]
    z = h @ W + b
    m = np.max(z, axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(z - m), axis=1))
    return np.mean(lse - np.sum(Y * z, axis=1))


@pytest.mark.parametrize("outer, inner", [(list, tuple), (tuple, tuple), (list, list), (tuple, list)])
def test_two_layers_written_out_and_returned_as_made(outer, inner):
    rng = np.random.default_rng(21)
    params = outer(inner((rng.normal(size=a) * 0.5, rng.normal(size=a[1]) * 0.1)) for a in ((4, 6), (6, 3)))
    X, Y = rng.normal(size=(10, 4)), np.eye(3)[rng.integers(0, 3, 10)]
    src = s2s.source(s2s.grad(mlp), params, X, Y)
    assert "saved" not in src and "finish" not in src and "as_container_of(params[0]" in src, src
    got = s2s.grad(mlp)(params, X, Y)
    general = s2s.derivative(mlp)(params, X, Y)
    assert type(got) is outer and all(type(layer) is inner for layer in got)
    assert type(general) is outer and all(type(layer) is inner for layer in general)
    for layer, expected in zip(got, general):
        for g, e in zip(layer, expected):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)
    check_all(lambda W1, b1, W2, b2: mlp(outer([inner((W1, b1)), inner((W2, b2))]), X, Y),
              (*params[0], *params[1]), wrt=(0, 1, 2, 3), use_autograd=False)
