"""A broadcast adjoint made a number must not make an array's division a division of Python numbers by zero
(helper 98's review of shapes.Overrides).

`np.sum(x / d)` has the adjoint `t_bar / d` of a broadcast `t_bar`; where `d` is 0 the array division gives
inf (with a warning), as the function's own division does, and the unspecialised gradient is inf too. Where
the specialised code replaced the broadcast by the number itself, `1.0 / d` raised ZeroDivisionError. The
check of divisions now also looks at the expressions around each read of the names made numbers, not only
at their values.
"""

import warnings

import numpy as np
import pytest

import s2s


def stacked_over_k(x, n):
    hs = []
    for i in range(x.shape[0]):
        hs.append(np.sin(x[i]))
    H = np.stack(hs)
    k = n - 2
    return np.sum(H / k) + np.sum(H ** 2)


def stacked_over_len_minus_three(x):
    hs = []
    for i in range(x.shape[0]):
        hs.append(x[i] * 2.0)
    H = np.stack(hs)
    return np.sum(H / (len(hs) - 3)) + np.sum(H ** 2)


def over_d(x, d):
    return np.sum(x / d) + np.sum(x ** 2)


def over_rows_minus_three(x):
    return np.sum(x / (x.shape[0] - 3)) + np.sum(x ** 2)


def summed_over_d_in_a_loop(x, d):
    s = 0.0
    for _ in range(3):
        s = s + np.sum(x / d)
    return s + np.sum(x ** 2)


def mean_over_d(x, d):
    return np.mean(x / d) + np.mean(x ** 2)


X = np.full((3, 4), 0.5)
CASES = [
    (stacked_over_k, (X, 2)),
    (stacked_over_len_minus_three, (X,)),
    (over_d, (X, 0.0)),
    (over_d, (X, 0)),
    (over_rows_minus_three, (X,)),
    (summed_over_d_in_a_loop, (X, 0.0)),
    (mean_over_d, (X, 0.0)),
    (mean_over_d, (X.astype(np.float32), 0.0)),
]


@pytest.mark.parametrize("f,args", CASES, ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(CASES)])
def test_a_division_by_zero_gives_inf_as_the_unspecialised_gradient_does(f, args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isinf(f(*args))
        general = s2s.grad(f, optimize=False)(*args)
        for grad in (s2s.grad(f), lambda *a: s2s.value_and_grad(f)(*a)[1]):
            got = grad(*args)
            assert got.dtype == general.dtype == args[0].dtype and got.shape == args[0].shape
            np.testing.assert_array_equal(got, general)
            assert np.isinf(got).all()


def stacked_over_four(x):
    hs = []
    for i in range(x.shape[0]):
        hs.append(np.sin(x[i]))
    H = np.stack(hs)
    return np.sum(H / 4.0) + np.sum(H ** 2)


def test_the_broadcast_goes_where_the_divisor_is_a_literal_other_than_zero_and_stays_elsewhere():
    src = s2s.source(s2s.grad(stacked_over_four), X)
    assert "broadcast_to" not in src, src
    np.testing.assert_allclose(s2s.grad(stacked_over_four)(X), s2s.grad(stacked_over_four, optimize=False)(X),
                               rtol=1e-14)
    assert "broadcast_to" in s2s.source(s2s.grad(stacked_over_k), X, 4)  # (k = n - 2 may be 0)
