"""Rules for shape manipulation and indexing reads."""

import autograd.numpy as anp
import numpy as np
import pytest
from conftest import check_grad, rng

W = np.random.default_rng(300).normal(size=(24,))


def _r(shape, seed):
    return rng(seed).normal(size=shape)


# Every function ends in np.sum(r * np.sin(r)) (or a weighted sum), so the adjoint that
# reaches the rule under test is different for every entry.


def f_reshape(x, shape):
    r = np.reshape(x, shape)
    return np.sum(r * np.sin(r) * np.arange(r.size).reshape(r.shape))


def f_reshape_method(x):
    r = x.reshape(4, -1)
    return np.sum(r * np.sin(r) * np.arange(r.size).reshape(r.shape))


def f_reshape_method_tuple(x):
    r = x.reshape((2, 12))
    return np.sum(r[0] * np.cos(r[1]))


@pytest.mark.parametrize("shape", [(24,), (4, 6), (2, 3, 4), (-1, 2), (3, -1, 2), (1, 24, 1)], ids=str)
def test_reshape(shape):
    check_grad(f_reshape, _r((2, 12), 1), shape)


def test_reshape_method():
    check_grad(f_reshape_method, _r((2, 3, 4), 2),
               ag=lambda x: anp.sum(anp.reshape(x, (4, -1)) * anp.sin(anp.reshape(x, (4, -1)))
                                    * np.arange(24).reshape(4, 6)))
    check_grad(f_reshape_method_tuple, _r((4, 6), 3))


def f_transpose(x, axes):
    r = np.transpose(x, axes)
    return np.sum(r * np.sin(r) * np.arange(r.size).reshape(r.shape))


def f_transpose_default(x):
    r = np.transpose(x)
    return np.sum(r * np.sin(r) * np.arange(r.size).reshape(r.shape))


def f_dot_T(x):
    r = x.T
    return np.sum(r * np.sin(r) * np.arange(r.size).reshape(r.shape))


def f_transpose_method(x):
    r = x.transpose(1, 2, 0)
    return np.sum(r * np.sin(r) * np.arange(r.size).reshape(r.shape))


def _ag_transpose(x, axes):  # autograd's transpose VJP mishandles negative axes
    r = anp.transpose(x, [a % x.ndim for a in axes])
    return anp.sum(r * anp.sin(r) * np.arange(r.size).reshape(r.shape))


@pytest.mark.parametrize("axes", [(1, 0, 2), (2, 0, 1), (1, 2, 0), (0, 1, 2), (-1, 0, 1)], ids=str)
def test_transpose(axes):
    check_grad(f_transpose, _r((2, 3, 4), 4), axes, ag=_ag_transpose)


@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 3, 4)], ids=str)
def test_transpose_default_and_T(shape):
    x = _r(shape, 5)
    check_grad(f_transpose_default, x)
    check_grad(f_dot_T, x, ag=lambda a: anp.sum(anp.transpose(a) * anp.sin(anp.transpose(a))
                                                 * np.arange(a.size).reshape(a.shape[::-1])))


def test_transpose_method():
    x = _r((2, 3, 4), 6)
    check_grad(f_transpose_method, x, ag=False)


def f_swapaxes(x, a1, a2):
    r = np.swapaxes(x, a1, a2)
    return np.sum(r * np.sin(r) * np.arange(r.size).reshape(r.shape))


@pytest.mark.parametrize("a1, a2", [(0, 1), (0, 2), (2, 1), (-1, 0), (1, 1)])
def test_swapaxes(a1, a2):
    check_grad(f_swapaxes, _r((2, 3, 4), 7), a1, a2)


def f_squeeze(x, axis):
    r = np.squeeze(x, axis)
    return np.sum(r * np.sin(r) * np.arange(r.size).reshape(r.shape))


def f_squeeze_default(x):
    r = np.squeeze(x)
    return np.sum(r * np.sin(r) * np.arange(r.size).reshape(r.shape))


@pytest.mark.parametrize("axis", [0, 2, (0, 2), -1, None], ids=str)
def test_squeeze(axis):
    check_grad(f_squeeze, _r((1, 3, 1, 1), 8), axis)


def test_squeeze_default():
    check_grad(f_squeeze_default, _r((1, 3, 1, 2), 9))


def f_expand_dims(x, axis):
    r = np.expand_dims(x, axis)
    return np.sum(r * np.sin(r) * np.arange(r.size).reshape(r.shape))


@pytest.mark.parametrize("axis", [0, 1, 2, -1, (0, 2), (0, -1)], ids=str)
def test_expand_dims(axis):
    check_grad(f_expand_dims, _r((2, 3), 10), axis)


def f_concatenate(x, y, axis):
    r = np.concatenate([x, y * y, x], axis=axis)
    return np.sum(r * np.sin(r) * np.arange(r.size).reshape(r.shape))


def f_concatenate_tuple_default(x, y):
    r = np.concatenate((x, np.sin(y)))
    return np.sum(r * r * np.arange(r.size).reshape(r.shape))


def f_concatenate_none(x, y):
    r = np.concatenate([x, y], axis=None)
    return np.sum(r * np.sin(r) * np.arange(r.size))


@pytest.mark.parametrize("axis, sx, sy", [(0, (2, 3), (4, 3)), (1, (2, 3), (2, 1)), (-1, (2, 2, 3), (2, 2, 2)),
                                          (0, (3,), (5,))], ids=str)
def test_concatenate(axis, sx, sy):
    check_grad(f_concatenate, _r(sx, 11), _r(sy, 12), axis, wrt=(0, 1))


def test_concatenate_tuple_default_axis():
    check_grad(f_concatenate_tuple_default, _r((2, 3), 13), _r((1, 3), 14), wrt=(0, 1))


def _ag_concatenate_none(x, y):  # autograd cannot differentiate concatenate(axis=None)
    r = anp.concatenate([anp.ravel(x), anp.ravel(y)])
    return anp.sum(r * anp.sin(r) * np.arange(r.size))


def test_concatenate_axis_none():
    check_grad(f_concatenate_none, _r((2, 3), 15), _r((4,), 16), wrt=(0, 1),
               ag=_ag_concatenate_none)


def f_stack(x, y, axis):
    r = np.stack([x, np.exp(y), x * y], axis=axis)
    return np.sum(r * np.sin(r) * np.arange(r.size).reshape(r.shape))


def f_stack_default(x, y):
    r = np.stack((x, y))
    return np.sum(r * np.sin(r) * np.arange(r.size).reshape(r.shape))


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack(axis):
    check_grad(f_stack, _r((2, 3), 17), _r((2, 3), 18), axis, wrt=(0, 1))


def test_stack_default():
    check_grad(f_stack_default, _r((3,), 19), _r((3,), 20), wrt=(0, 1))


def f_broadcast_to(x, shape):
    r = np.broadcast_to(x, shape)
    return np.sum(r * np.sin(r) * np.arange(np.prod(shape)).reshape(shape))


# autograd's broadcast_to adjoint cannot add leading dimensions, so those cases use finite
# differences alone.


@pytest.mark.parametrize("sx, shape", [
    ((3,), (2, 3)),
    ((2, 1), (2, 4)),
    ((1, 3), (4, 2, 3)),
    ((), (2, 2)),
    ((2, 1, 3), (2, 4, 3)),
    ((2, 3), (2, 3)),
], ids=str)
def test_broadcast_to(sx, shape):
    x = _r(sx, 21) if sx != () else 0.7
    check_grad(f_broadcast_to, x, shape, ag=None if len(sx) == len(shape) else False)


def f_ravel(x):
    r = np.ravel(x)
    return np.sum(r * np.sin(r) * W[: r.size])


def f_ravel_method(x):
    r = x.ravel()
    return np.sum(r * np.sin(r) * W[: r.size])


def f_flatten_method(x):
    r = x.flatten()
    return np.sum(r * np.sin(r) * W[: r.size])


@pytest.mark.parametrize("shape", [(6,), (2, 3), (2, 3, 4)], ids=str)
def test_ravel(shape):
    x = _r(shape, 22)
    check_grad(f_ravel, x)
    check_grad(f_ravel_method, x, ag=lambda a: anp.sum(anp.ravel(a) * anp.sin(anp.ravel(a)) * W[: a.size]))


def test_flatten_method():
    x = _r((2, 3), 23)
    check_grad(f_flatten_method, x, ag=lambda a: anp.sum(anp.ravel(a) * anp.sin(anp.ravel(a)) * W[: a.size]))


# ---- indexing reads -----------------------------------------------------------------


def f_int_index(x):
    return x[1] * 3.0 + x[-1] ** 2


def f_int_index_2d(x):
    return np.sum(x[1] * np.sin(x[0])) + x[2, 3] * x[0, -1]


def f_slice(x):
    r = x[1:4]
    return np.sum(r * np.sin(r)) + np.sum(x[::2] ** 2) + np.sum(x[::-3])


def f_slice_2d(x):
    r = x[:, 1:3]
    return np.sum(r * np.sin(r)) + np.sum(x[1:, ::2] ** 2) + np.sum(x[..., -1] * 2.0)


def f_none_index(x):
    r = x[None, :, None] * x[:, None]
    return np.sum(r * np.sin(r))


def f_fancy(x):
    idx = np.array([0, 2, 2, 4, -1])
    r = x[idx]
    return np.sum(r * np.sin(r))


def f_fancy_list(x):
    r = x[[1, 1, 3]]
    return np.sum(r * np.arange(1.0, 4.0) * np.sin(r))


def f_fancy_2d(x):
    rows = np.array([0, 2, 1, 2])
    cols = np.array([1, 3, 3, 1])
    r = x[rows, cols]
    return np.sum(r * np.sin(r)) + np.sum(x[rows] ** 2) + np.sum(x[:, cols] * 0.5)


def f_bool_mask(x):
    r = x[x > 0.1]
    return np.sum(r * np.sin(r))


def f_bool_mask_const(x):
    mask = np.array([True, False, True, True, False, True])
    r = x[mask]
    return np.sum(r * r * np.arange(1.0, 5.0))


def f_bool_mask_rows(x):
    r = x[np.array([True, False, True])]
    return np.sum(r * np.sin(r))


def f_mixed_index(x):
    r = x[1:, np.array([0, 2])]
    return np.sum(r * np.sin(r)) + np.sum(x[0, 1:] ** 2)


INDEX_CASES = [
    (f_int_index, (5,)),
    (f_int_index_2d, (3, 4)),
    (f_slice, (7,)),
    (f_slice_2d, (3, 4)),
    (f_none_index, (4,)),
    (f_fancy, (6,)),
    (f_fancy_list, (5,)),
    (f_fancy_2d, (3, 4)),
    (f_bool_mask, (4, 3)),
    (f_bool_mask_const, (6,)),
    (f_bool_mask_rows, (3, 2)),
    (f_mixed_index, (3, 4)),
]


@pytest.mark.parametrize("f, shape", INDEX_CASES, ids=[f.__name__ for f, _ in INDEX_CASES])
def test_indexing(f, shape):
    x = _r(shape, 24)
    if f is f_bool_mask:  # keep entries away from the mask threshold for finite differences
        x[np.abs(x - 0.1) < 0.05] = 0.3
    check_grad(f, x)


def f_index_scalar_chain(x):
    return x[0] * x[1] - x[2] / x[3]


def test_index_repeated_reads_accumulate():
    x = np.array([1.5, -0.5, 2.0, 3.0])
    check_grad(f_index_scalar_chain, x)


def f_index_list_of_arrays(xs):
    return np.sum(xs[0] * xs[1])


def test_index_into_list_argument():
    import s2s
    a, b = _r((3,), 25), _r((3,), 26)
    ga, gb = s2s.grad(f_index_list_of_arrays)([a, b])
    np.testing.assert_allclose(ga, b)
    np.testing.assert_allclose(gb, a)
