"""Star-unpacking in list and tuple displays as a concatenation (transforms/star_displays.py), and `x.reshape(*t)` /
`x.transpose(*axes)` (s2s.shape_arguments): `np.zeros((*x.shape, 2))` and `[*hidden, out]` were refused as
"star-unpacking (*args)", and `x.reshape(*t)` crashed with NumPy's TypeError (read as np.reshape(x, *t))."""

import numpy as np
import pytest

import s2s
from s2s import pipeline
from tests.conftest import check_grad

RNG = np.random.default_rng(590)
WS = [RNG.normal(size=(2, 3)), RNG.normal(size=(2, 3))]


def shape_of_zeros(x):
    y = np.zeros((*x.shape, 2)) + x[..., None] * np.array([1.0, -2.0])
    return np.sum(y ** 2)


def layers(x, ws):
    stack = [*ws, x * 2.0]
    return np.sum(stack[0] * stack[-1]) + np.sum(sum(stack))


def generated_items(x, ws):
    items = [*(w * x for w in ws), np.sin(x)]
    return np.sum(items[0] * items[-1]) + np.sum(items[1])


def unpacked_tuple(x, ws):
    a, b, c = (*ws, x)
    return np.sum(a * b * np.tanh(c))


def reshaped_by_star(x):
    return np.sum(np.sin(x.reshape(*x.shape[:-1], 3, -1)) * np.arange(6.0).reshape(1, 3, 2))


def one_tuple_by_star(x):
    shape = ((3, 2),)
    return np.sum(x.reshape(*shape) ** 3)


def transposed_by_star(x):
    axes = [1, 0]
    return np.sum(x.transpose(*axes) * np.arange(6.0).reshape(3, 2))


@pytest.mark.parametrize("f, args", [
    (shape_of_zeros, (RNG.normal(size=(2, 3)),)),
    (layers, (RNG.normal(size=(2, 3)), WS)),
    (generated_items, (RNG.normal(size=(2, 3)), WS)),
    (unpacked_tuple, (RNG.normal(size=(2, 3)), WS)),
    (reshaped_by_star, (RNG.normal(size=(1, 6)),)),
    (one_tuple_by_star, (RNG.normal(size=(2, 3)),)),
    (transposed_by_star, (RNG.normal(size=(2, 3)),)),
], ids=["zeros-shape", "list", "generator", "tuple", "reshape", "reshape-one-tuple", "transpose"])
def test_gradients_and_hessians_match_differences(f, args):
    check_grad(f, *args, ag=False)
    x = args[0]
    H = s2s.hessian(f)(*args).reshape(x.size, x.size)
    g = s2s.grad(f)
    eps = 1e-6
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = eps
        column = (g(x + e.reshape(x.shape), *args[1:]) - g(x - e.reshape(x.shape), *args[1:])) / (2 * eps)
        np.testing.assert_allclose(H[:, i], column.ravel(), rtol=1e-5, atol=1e-6)


def test_the_display_is_written_as_a_concatenation_in_order():
    stages = dict(pipeline.stages(layers, wrt=("x",)))
    assert "stack = list(ws) + [x * 2.0]" in stages["star displays"]
    stages = dict(pipeline.stages(shape_of_zeros, wrt=("x",)))
    assert "np.zeros(tuple(x.shape) + (2,))" in stages["star displays"]


def test_sets_and_targets_are_other_constructs():
    def set_display(x, ws):
        return np.sum(x) * len({*[1, 2], 3})

    with pytest.raises(s2s.UnsupportedSyntaxError, match="a set"):
        s2s.grad(set_display)(np.ones(2), WS)

    def starred_target(x):
        first, *rest = x
        return first * np.sum(np.array(rest) ** 2)

    check_grad(starred_target, np.array([0.5, 1.0, 2.0]), ag=False)


def test_transpose_of_no_axes_reverses_them():
    """Helper 196: `A.transpose(*())` became np.transpose(A, ()), NumPy's ValueError."""
    def transposed(A):
        axes = ()
        return np.sum(A.transpose(*axes) * np.arange(6.0).reshape(3, 2))

    check_grad(transposed, RNG.normal(size=(2, 3)), ag=False)
