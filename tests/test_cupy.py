"""s2s's generated derivative code on CuPy arrays: the gradient stays on the GPU.

CuPy refuses implicit conversion to NumPy (np.asarray on a CuPy array raises), so a
hidden host copy in generated code or the runtime fails these tests; where CuPy has
`cupyx.allow_synchronize`, a device synchronisation (float(), bool(), .item(), .get())
fails them too. Skipped unless CuPy and a CUDA GPU are present.
"""

import contextlib

import numpy as np
import pytest

import s2s

cp = pytest.importorskip("cupy", reason="CuPy is not installed")


def _gpu_count():
    try:
        return cp.cuda.runtime.getDeviceCount()
    except Exception:  # no driver, no device, CUDA runtime missing
        return 0


if _gpu_count() == 0:
    pytest.skip("CuPy is installed but no CUDA GPU is available", allow_module_level=True)


def no_sync():
    """Fail on a device synchronisation (a copy to the host) where CuPy can tell."""
    try:
        import cupyx
        return cupyx.allow_synchronize(False)
    except (ImportError, AttributeError):
        return contextlib.nullcontext()


def least_squares(w, X, y):
    return np.sum((X @ w - y) ** 2)


def logistic(w, X, y):
    z = X @ w
    return np.mean(np.log1p(np.exp(-y * z)))


def logistic_stable(w, X, y):
    return np.mean(np.logaddexp(0.0, -y * (X @ w)))


def mlp(W1, b1, W2, b2, X, y):
    h = np.tanh(X @ W1 + b1)
    out = h @ W2 + b2
    return np.mean((out - y) ** 2)


def reductions(x):
    return (np.sum(np.mean(x, axis=0) ** 2) + np.sum(np.max(x, axis=1)) + np.std(x)
            + np.sum(np.cumsum(x, axis=0) ** 2) + np.linalg.norm(x))


def indexing(x, idx):
    return np.sum(x[1:, 0] ** 2) + np.sum(x[idx] ** 3) + np.sum(np.where(x > 0, x, 0.1 * x))


def loop(x, w):
    s = 0.0
    for _ in range(3):
        x = np.tanh(x * w)
        s = s + np.sum(x ** 2)
    return s


N, D, H = 64, 5, 7


@pytest.fixture(scope="module")
def data():
    r = np.random.default_rng(0)
    X = r.normal(size=(N, D))
    w = r.normal(size=D)
    return dict(X=X, w=0.3 * w, y_reg=X @ w + 0.1 * r.normal(size=N),
                y_cls=np.where(X @ w > 0, 1.0, -1.0), Y2=r.normal(size=(N, 2)),
                params=(r.normal(size=(D, H)) / 2, r.normal(size=H) / 5, r.normal(size=(H, 2)) / 2, r.normal(size=2) / 5))


def gpu(*arrays):
    return tuple(cp.asarray(a) for a in arrays)


def assert_on_gpu_equal(got, want):
    assert isinstance(got, cp.ndarray), f"expected a CuPy array, got {type(got).__name__}"
    np.testing.assert_allclose(cp.asnumpy(got), want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("f", [least_squares, logistic, logistic_stable], ids=lambda f: f.__name__)
@pytest.mark.parametrize("wrt", [0, 1, 2])
def test_linear_models(data, f, wrt):
    y = data["y_reg"] if f is least_squares else data["y_cls"]
    args = (data["w"], data["X"], y)
    want = s2s.grad(f, wrt=wrt)(*args)
    with no_sync():
        got = s2s.grad(f, wrt=wrt)(*gpu(*args))
    assert_on_gpu_equal(got, want)


def test_mlp(data):
    args = (*data["params"], data["X"], data["Y2"])
    wrt = (0, 1, 2, 3, 4)
    want = s2s.grad(mlp, wrt=wrt)(*args)
    with no_sync():
        got = s2s.grad(mlp, wrt=wrt)(*gpu(*args))
    for g, w in zip(got, want):
        assert_on_gpu_equal(g, w)


def test_value_and_grad_value_stays_on_gpu(data):
    args = (data["w"], data["X"], data["y_cls"])
    v0, g0 = s2s.value_and_grad(logistic)(*args)
    with no_sync():
        v, g = s2s.value_and_grad(logistic)(*gpu(*args))
    assert_on_gpu_equal(v, v0)
    assert_on_gpu_equal(g, g0)


@pytest.mark.parametrize("case", ["reductions", "indexing", "loop"])
def test_rules(case):
    r = np.random.default_rng(1)
    x = r.uniform(-0.9, 0.9, size=(6, 3))
    if case == "reductions":
        f, args = reductions, (x,)
    elif case == "indexing":
        f, args = indexing, (x, np.array([0, 2, 2, 5]))
    else:
        f, args = loop, (x, r.normal(size=3))
    want = s2s.grad(f)(*args)
    got = s2s.grad(f)(*gpu(*args))
    assert_on_gpu_equal(got, want)


def test_forward_mode(data):
    args = (data["w"], data["X"], data["y_reg"])
    t = np.ones(D)
    v0, d0 = s2s.jvp(least_squares, args, (t, None, None))
    with no_sync():
        v, d = s2s.jvp(least_squares, gpu(*args), (cp.asarray(t), None, None))
    assert_on_gpu_equal(v, v0)
    assert_on_gpu_equal(d, d0)
