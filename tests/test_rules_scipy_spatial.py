"""scipy.spatial.distance.cdist (s2s/rules/scipy_spatial.py): squared Euclidean, Euclidean and city-block distances
between rows, in reverse and forward mode, against differences and autograd's broadcast formula (helper 187 found a
GP with an ARD kernel by cdist refused)."""

import numpy as np
import pytest
import scipy.spatial.distance as ssd
from conftest import numeric_grad, rng
from scipy.spatial.distance import cdist
from test_rules_scipy_special import check_scipy

import s2s

XA, XB = rng(1).normal(size=(5, 3)), rng(2).normal(size=(4, 3))


def squared(XA, XB):
    return np.sum(np.sin(cdist(XA, XB, "sqeuclidean")))


def euclidean(XA, XB):
    D = cdist(XA, XB)
    return np.sum(np.exp(-D) * D)


def city_block(XA, XB):
    return np.sum(ssd.cdist(XA, XB, metric="cityblock") ** 2)


def ard_evidence(log_ell, X, y):
    Z = X / np.exp(log_ell)
    K = np.exp(-0.5 * cdist(Z, Z, "sqeuclidean")) + 0.1 * np.eye(X.shape[0])
    return y @ np.linalg.solve(K, y) + np.linalg.slogdet(K)[1]


@pytest.mark.parametrize("f", [squared, euclidean, city_block])
@pytest.mark.parametrize("wrt", [0, 1, (0, 1)])
def test_gradients_and_tangents(f, wrt):
    check_scipy(f, XA, XB, wrt=wrt, ag=False)


def test_against_the_broadcast_formula():
    def by_hand(XA, XB):
        D = np.sqrt(np.sum((XA[:, None, :] - XB[None, :, :]) ** 2, axis=-1))
        return np.sum(np.exp(-D) * D)
    np.testing.assert_allclose(s2s.grad(euclidean, wrt=(0, 1))(XA, XB)[1], s2s.grad(by_hand, wrt=1)(XA, XB),
                               rtol=1e-12)


def test_a_gaussian_process_with_an_ard_kernel():
    X, y = rng(3).normal(size=(6, 3)), rng(4).normal(size=6)
    check_scipy(ard_evidence, np.array([0.2, -0.1, 0.3]), X, y, ag=False)


def test_zero_distances_take_the_zero_subgradient():
    """cdist(X, X)'s diagonal is 0, where the Euclidean distance has no derivative: its share is 0, as np.abs's."""
    X = rng(5).normal(size=(4, 2))
    g = s2s.grad(lambda X: np.sum(cdist(X, X)))(X)
    diff = X[:, None, :] - X[None, :, :]
    norms = np.sqrt(np.sum(diff ** 2, axis=-1))
    expected = 2 * np.sum(diff / np.where(norms > 0, norms, 1.0)[..., None], axis=1)
    np.testing.assert_allclose(g, expected, rtol=1e-12)
    assert np.all(np.isfinite(g))


def cosine(XA, XB):
    return np.sum(cdist(XA, XB, "cosine"))


def into_out(XA, XB):
    out = np.zeros((5, 4))
    return np.sum(cdist(XA, XB, "sqeuclidean", out=out))


def by_variable(XA, XB, metric):
    return np.sum(cdist(XA, XB, metric))


def test_other_metrics_and_out_are_refused():
    """A literal metric s2s has no adjoint for is refused where the gradient is made, at its line, with the hint
    (it was refused when the gradient ran, with no line); one in a variable when the gradient runs."""
    with pytest.raises(s2s.UnsupportedSyntaxError, match="'cosine'") as info:
        s2s.grad(cosine)(XA, XB)
    message = str(info.value)
    assert "line 67" in message and "cdist(XA, XB, \"cosine\")" in message and "np.sum((XA[:, None, :]" in message
    with pytest.raises(s2s.NoDerivativeRuleError, match="'cosine'") as info:
        s2s.grad(by_variable)(XA, XB, "cosine")
    assert "test_rules_scipy_spatial.py\", line 76" in str(info.value)  # (at your line since stop 60)
    np.testing.assert_allclose(s2s.grad(by_variable)(XA, XB, "euclidean"), s2s.grad(euclidean_sum)(XA, XB))
    # (SciPy's other names for the metrics, in any case: helper 195 found 'SQEUCLIDEAN' refused)
    for name in ("Euclidean", "eu", "EUCLID"):
        np.testing.assert_allclose(s2s.grad(by_variable)(XA, XB, name), s2s.grad(euclidean_sum)(XA, XB))

    def by_alias(XA, XB):
        return np.sum(np.sin(cdist(XA, XB, "SQE")))

    np.testing.assert_allclose(s2s.grad(by_alias)(XA, XB), s2s.grad(squared)(XA, XB))
    with pytest.raises((s2s.NoDerivativeRuleError, s2s.UnsupportedSyntaxError), match="out"):
        s2s.grad(into_out)(XA, XB)


def _hessian_by_differences(f, wrt, args):
    g = s2s.grad(f, wrt=wrt)
    x = args[wrt]

    def item(v, i):
        moved = list(args)
        moved[wrt] = v
        return g(*moved).ravel()[i]
    return np.array([numeric_grad(lambda v: item(v, i), (x,)).ravel() for i in range(x.size)])


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cityblock"])
@pytest.mark.parametrize("wrt", [0, 1])
def test_hessians_go_through_the_adjoints_tangent(metric, wrt):
    """grad_cdist_dot: the adjoint's tangent in the distances and both arrays (refused before stop 59), with the
    distances of X to itself (zeros on the diagonal) beside those to Y."""
    def f(X, Y):
        D = cdist(X, Y, metric)
        return np.sum(np.exp(-0.3 * D) * np.arange(20.0).reshape(5, 4)) + np.sum(cdist(X, X, metric) ** 2)

    H = s2s.hessian(f, wrt=wrt)(XA, XB)
    n = (XA, XB)[wrt].size
    np.testing.assert_allclose(H.reshape(n, n), _hessian_by_differences(f, wrt, (XA, XB)), rtol=1e-5, atol=1e-6)


def test_close_points_far_from_the_origin_keep_their_digits():
    """Helper 190: the adjoint was `s.sum(1) * XA - s @ XB`, which cancels large coordinates of close points (0.7%
    off at 1e12); it sums over the rows' differences, as SciPy subtracts them."""
    a = np.array([[1e12 + 0.3, 0.0]])
    b = np.array([[1e12 + 0.31, 0.0], [1e12 + 0.32, 0.01]])

    def by_hand(a, b):
        return np.sum(np.sqrt(np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)))
    for wrt in (0, 1):
        np.testing.assert_allclose(s2s.grad(euclidean_sum, wrt=wrt)(a, b), s2s.grad(by_hand, wrt=wrt)(a, b),
                                   rtol=1e-9)
    v = np.array([[0.5, -0.25]])
    _, t = s2s.jvp(euclidean_sum, (a, b), (v, np.zeros_like(b)))
    _, want = s2s.jvp(by_hand, (a, b), (v, np.zeros_like(b)))
    np.testing.assert_allclose(t, want, rtol=1e-9)


def euclidean_sum(XA, XB):
    return np.sum(cdist(XA, XB))
