"""Ordinary user programs through the shape-specialised s2s.grad / s2s.value_and_grad.

Each program is checked, for two seeds and random shapes (broadcasting, size-1 dims), against central
finite differences, the general code of s2s.derivative, autograd, and its own value; the same gradient
is then called with other shapes and with the first ones again, and the caller's arrays must not change.
"""

import copy
import inspect
import types
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import s2s

# ---------------------------------------------------------------- programs (module level: s2s reads source)


def softmax_xent(W, X, Y):
    logits = X @ W
    z = logits - np.max(logits, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(np.sum(Y * (z - lse), axis=1))


def layer_norm(x, g, b):
    mu = np.mean(x, axis=-1, keepdims=True)
    var = np.mean((x - mu) ** 2, axis=-1, keepdims=True)
    y = (x - mu) / np.sqrt(var + 1e-5) * g + b
    return np.sum(y * y * 0.5 + np.sin(y))


def mlp(W1, b1, W2, b2, X, y):
    h = np.maximum(0, X @ W1 + b1)
    out = h @ W2 + b2
    return np.mean((out - y) ** 2)


def softmax_rows(s):
    s = s - np.max(s, axis=1, keepdims=True)
    e = np.exp(s)
    return e / np.sum(e, axis=1, keepdims=True)


def attention(Q, K, V):
    return np.sum(softmax_rows(Q @ K.T / np.sqrt(Q.shape[1])) @ V)


def rnn(Wh, Wx, h0, xs):
    h = h0
    hs = []
    for t in range(xs.shape[0]):
        h = np.tanh(Wh @ h + Wx @ xs[t])
        hs.append(h)
    H = np.stack(hs)
    return np.sum(H ** 2) + np.sum(H[-1])


def horner(x, c):
    acc = 0.0
    for i in range(len(c)):
        acc = acc * x + c[i]
    return acc


def horner_iter(x, c):
    acc = 0.0
    for ci in c:
        acc = acc * x + ci
    return np.sum(acc)


def _affine(W, x, b):
    return W @ x + b


def uses_helper(W, x, b):
    h = np.tanh(_affine(W, x, b))
    return np.sum(h * h) + np.sum(_affine(W, x, 0.0) * b)


def with_kwargs(x, w, scale=2.0, *, shift=0.5, power=2):
    return np.sum((x * w * scale + shift) ** power)


def elementwise_mix(x, y):
    a = np.where(x > 0, x, 0.1 * x)
    b = np.clip(y, -0.5, 0.5)
    c = np.log(1.0 + np.exp(-np.abs(x)))
    return np.sum(a * b + c) + np.sum(np.exp(0.3 * y) * np.abs(y))


def shape_mix(x, v):
    t = x.T
    col = x[:, 0]
    tail = x[1:]
    flat = x.reshape(-1)
    cat = np.concatenate([col, v])
    o = np.outer(col, v)
    s = np.sum(x, axis=1, keepdims=True)
    m0 = np.mean(x, axis=0)
    return (np.sum(o * x) + np.dot(v, v) * np.sum(np.dot(x, v)) + np.sum(cat ** 2)
            + np.sum(tail * m0) + np.sum(s * x) + np.sum(flat ** 3) + np.dot(np.dot(t, col), v))


def vec_forms(A, u, v):
    return u @ A @ v + np.sum(A @ v) + np.sum(u @ A) + u @ u + np.sum(np.dot(A.T, u) * v)


def while_halving(x):
    s = 0.0
    y = x
    while np.sum(y * y) > 0.05:
        y = 0.5 * y + 0.1 * np.sin(y)
        s = s + np.sum(y)
    return s + np.sum(y * y)


def branchy(x, w):
    if np.sum(x) > 0:
        z = np.sin(x) * w
    else:
        z = x * x * w
    return np.sum(z)


def gather_rows(w, idx, X):
    r = X[idx] @ w
    return np.sum(r ** 2) + np.sum(X[idx[0]] * w)


def f32_model(x, W):
    return np.sum(np.tanh(x @ W) ** 2)


def zero_d(a, x):
    return np.sum(a * x ** 2) + a ** 2 * np.sum(x) + np.sin(a)


def mixed_scalars(x, alpha, n, beta):
    return alpha * np.sum(x ** n) + beta * alpha ** 2 + n * np.sum(x) / beta


def logreg(w, X, y):
    z = X @ w
    return np.sum(np.logaddexp(0.0, z) - y * z)


def logaddexp_forms(z, a):
    return (np.sum(np.logaddexp(z, 0.0)) + 2.0 * np.sum(np.logaddexp(a, z))
            + np.sum(np.logaddexp(1.0, z)) + np.sum(np.exp(z - np.logaddexp(0.0, z))))


def unit_axes(z, W, c):
    # reads that drop an axis of length 1 (`lse[:, 0]`, `W[0]` of one row, `z[..., -1]` of one column) and
    # means scaled by numbers (np.broadcast_to of a number, then `/ n` or `* c`: np.full in the specialised code)
    m = z.max(axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))
    first = W[0]
    last = W[:, -1]
    return np.mean(lse[:, 0]) * 2.0 + c * np.mean(first * first) + np.sum(last) / 3 + np.mean(z) * c


def mse_bcast(w, X, y):
    p = X @ w
    return np.mean((p - y) ** 2)


def acc_loop(x, W):
    acc = np.zeros_like(x)
    h = x
    loss = 0.0
    for i in range(3):
        h = np.tanh(h @ W)
        acc = acc + h * (i + 1)
        loss = loss + np.sum(acc * h)
    acc = acc * 2.0
    return loss


def acc_grows(X, w, b):
    acc = 0.0
    s = b
    for i in range(len(X)):
        acc = acc + X[i] * w
        s = s * 0.5 + X
    return np.sum(acc ** 2) + np.mean(s * s)


def alias_adjoints(x, w):
    a = x * w
    b = a
    c = a + b
    d = c
    d = d * a
    return np.sum(d) + np.sum(np.sin(b)) + np.sum(c * c)


def early_exit(x, w):
    s = 0.0
    for i in range(len(x)):
        if x[i] > 1.5:
            return s * x[i]
        s = s + np.sum(np.tanh(x[i] * w))
        if s > 3.0:
            break
    return s


def batched(A, B):
    return np.sum((A @ B) ** 2) + np.sum(A.T * 0.5)


def setitem_fn(x):
    out = np.zeros(x.shape[0] + 1)
    out[0] = np.sum(x)
    out[1:] = x * 2.0
    return np.sum(out ** 2)


# ---------------------------------------------------------------- cases
# make(r, d, k) -> (args, kwargs): r a Generator, d six random dims in 1..4, k the call number (varies broadcasting)


def _n(r, *shape, scale=1.0):
    return r.normal(size=shape) * scale


def _onehot(r, n, c):
    return np.eye(c)[r.integers(0, c, size=n)]


def _huge_rows(r, n, d):
    return _n(r, n, d) * np.where(np.arange(n) % 2 == 0, 800.0, 1.0)[:, None]  # every other row: |z| in the hundreds


def _kw(r, d, k):
    if k % 2:
        return (_n(r, d[0], 1), _n(r, d[0])), {"shift": 0.3}
    return (_n(r, d[0]), _n(r, d[0]), 1.5), {"shift": -0.2, "power": 3}


def _branch(r, d, k):
    x = np.abs(_n(r, d[0])) + 0.1
    return ((x if k % 2 == 0 else -x), _n(r, 1 if k % 3 == 2 else d[0])), {}


# name: (function, make, wrt, rtol against finite differences, rtol against the general code)
CASES = {
    "softmax_xent": (softmax_xent, lambda r, d, k: ((_n(r, d[1], d[2] + 1), _n(r, d[0], d[1]),
                                                      _onehot(r, d[0], d[2] + 1)), {}), (0, 1), 1e-5, 1e-10),
    "layer_norm": (layer_norm, lambda r, d, k: ((_n(r, d[0], d[1]), _n(r, *[(d[1],), (1, d[1]), (1,)][k % 3]),
                                                  _n(r, d[1])), {}), (0, 1, 2), 1e-5, 1e-10),
    "mlp": (mlp, lambda r, d, k: ((_n(r, d[1], d[2]), _n(r, d[2]), _n(r, d[2], d[3]), _n(r, 1 if k % 2 else d[3]),
                                    _n(r, d[0], d[1]), _n(r, d[0], d[3])), {}), (0, 1, 2, 3, 4), 1e-5, 1e-10),
    "attention": (attention, lambda r, d, k: ((_n(r, d[0], d[2]), _n(r, d[1], d[2]), _n(r, d[1], d[3])), {}),
                  (0, 1, 2), 1e-5, 1e-10),
    "rnn": (rnn, lambda r, d, k: ((_n(r, d[0], d[0], scale=0.5), _n(r, d[0], d[1]), _n(r, d[0]), _n(r, d[2], d[1])), {}),
            (0, 1, 2, 3), 1e-5, 1e-10),
    "horner_x": (horner, lambda r, d, k: ((float(r.normal()), _n(r, d[0] + k % 2)), {}), 0, 1e-5, 1e-10),
    "horner_c": (horner, lambda r, d, k: ((float(r.normal()), _n(r, d[0] + k % 2)), {}), 1, 1e-5, 1e-10),
    "horner_iter": (horner_iter, lambda r, d, k: ((_n(r, d[0], scale=0.7), _n(r, d[1] + 1)), {}), (0, 1), 1e-5, 1e-10),
    "uses_helper": (uses_helper, lambda r, d, k: ((_n(r, d[0], d[1]), _n(r, d[1]), _n(r, 1 if k % 2 else d[0])), {}),
                    (0, 1, 2), 1e-5, 1e-10),
    "with_kwargs": (with_kwargs, _kw, ("x", "w", "shift"), 1e-5, 1e-10),
    "elementwise_mix": (elementwise_mix, lambda r, d, k: ((_n(r, d[0], d[1]), _n(r, *[(d[0], d[1]), (1, d[1]), (d[0], 1),
                                                                                   (d[1],)][d[2] - 1])), {}),
                        (0, 1), 1e-5, 1e-10),
    "shape_mix": (shape_mix, lambda r, d, k: ((_n(r, d[0], d[1], scale=0.5), _n(r, d[1])), {}), (0, 1), 1e-5, 1e-10),
    "vec_forms": (vec_forms, lambda r, d, k: ((_n(r, d[0], d[1]), _n(r, d[0]), _n(r, d[1])), {}), (0, 1, 2), 1e-5, 1e-10),
    "while_halving": (while_halving, lambda r, d, k: ((_n(r, d[0], d[1]) + 0.5,), {}), 0, 1e-5, 1e-10),
    "branchy": (branchy, _branch, (0, 1), 1e-5, 1e-10),
    "gather_rows": (gather_rows, lambda r, d, k: ((_n(r, d[1]), r.integers(0, d[0], size=d[2] + 2), _n(r, d[0], d[1])), {}),
                    (0, 2), 1e-5, 1e-10),
    "f32_model": (f32_model, lambda r, d, k: ((_n(r, d[0], d[1]).astype(np.float32),
                                                _n(r, d[1], d[2]).astype(np.float32)), {}), (0, 1), 2e-3, 1e-5),
    "zero_d": (zero_d, lambda r, d, k: ((np.array(r.normal()), _n(r, *(() if k % 2 else (d[0], d[1])))), {}),
               (0, 1), 1e-5, 1e-10),
    "mixed_scalars": (mixed_scalars, lambda r, d, k: ((np.abs(_n(r, d[0])) + 0.5, float(r.normal()), d[1],
                                                        float(r.uniform(1, 2))), {}), (0, 1, 3), 1e-5, 1e-10),
    "logreg_huge": (logreg, lambda r, d, k: ((_n(r, d[1]), _huge_rows(r, d[0] + 1, d[1]),
                                               r.integers(0, 2, size=d[0] + 1).astype(float)), {}), (0, 1), 1e-5, 1e-10),
    "logaddexp_forms": (logaddexp_forms, lambda r, d, k: ((_n(r, d[0], scale=300.0), _n(r, *[(d[0],), (1,), ()][k % 3])), {}),
                        (0, 1), 1e-5, 1e-10),
    "mse_bcast": (mse_bcast, lambda r, d, k: ((_n(r, d[1]), _n(r, d[0], d[1]), _n(r, d[0], 1)), {}), (0, 1, 2), 1e-5, 1e-10),
    "acc_loop": (acc_loop, lambda r, d, k: ((_n(r, d[0], d[1]), _n(r, d[1], d[1])), {}), (0, 1), 1e-5, 1e-10),
    "acc_grows": (acc_grows, lambda r, d, k: ((_n(r, d[0], d[1]), _n(r, d[1]), _n(r, *[(d[1],), (1, d[1]), (d[0], 1),
                                                                                   ()][k % 4])), {}),
                  (0, 1, 2), 1e-5, 1e-10),
    "alias_adjoints": (alias_adjoints, lambda r, d, k: ((_n(r, d[0]), _n(r, d[0] if k % 2 else 1)), {}), (0, 1), 1e-5, 1e-10),
    "early_exit": (early_exit, lambda r, d, k: ((_n(r, d[0] + 2), _n(r, d[1])), {}), (0, 1), 1e-5, 1e-10),
    "batched_3d": (batched, lambda r, d, k: ((_n(r, d[0], d[1], d[2]), _n(r, 1 if k % 2 else d[0], d[2], d[3])), {}),
                   (0, 1), 1e-5, 1e-10),
    "unit_axes": (unit_axes, lambda r, d, k: ((_n(r, d[0], d[1]), _n(r, 1 if k % 2 else d[2], 1 if k % 3 else d[3]),
                                                float(r.normal())), {}), (0, 1, 2), 1e-5, 1e-10),
    "setitem": (setitem_fn, lambda r, d, k: ((_n(r, d[0]),), {}), 0, 1e-5, 1e-10),
}
NO_AUTOGRAD = {"setitem"}  # autograd cannot trace item assignment
XFAIL = {}  # name: reason, for wrong gradients found (kept strict)

# ---------------------------------------------------------------- references


def _names(f, wrt):
    params = list(inspect.signature(f).parameters)
    return tuple(params[w] if isinstance(w, int) else w for w in (wrt if isinstance(wrt, tuple) else (wrt,)))


def _bind(f, args, kwargs):
    bound = inspect.signature(f).bind(*args, **kwargs)
    bound.apply_defaults()
    return bound


def fd_grad(f, args, kwargs, name, rel=1e-6):
    """Central differences of f w.r.t. parameter `name`, in float64, step rel * max(1, |x_i|)."""
    bound = _bind(f, [a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype == np.float32 else a
                      for a in args], kwargs)
    x0 = bound.arguments[name]

    def at(v):
        bound.arguments[name] = v
        return float(f(*bound.args, **bound.kwargs))

    if not isinstance(x0, np.ndarray):
        h = rel * max(1.0, abs(x0))
        return (at(x0 + h) - at(x0 - h)) / (2 * h)
    g = np.zeros(x0.shape)
    for i in np.ndindex(x0.shape):
        h = rel * max(1.0, abs(float(x0[i])))
        xp, xm = x0.astype(float), x0.astype(float)
        xp[i] += h
        xm[i] -= h
        g[i] = (at(xp) - at(xm)) / (2 * h)
    return g


def _autograd_twin(f):
    """`f` with `np` meaning autograd.numpy, its module-level helpers re-bound the same way."""
    glb = dict(f.__globals__)
    glb["np"] = anp
    for key, value in f.__globals__.items():
        if isinstance(value, types.FunctionType) and value.__globals__ is f.__globals__:
            glb[key] = types.FunctionType(value.__code__, glb, value.__name__, value.__defaults__)
            glb[key].__kwdefaults__ = value.__kwdefaults__
    return glb[f.__name__]


def _tuple(g, wrt):
    return g if isinstance(wrt, tuple) else (g,)


def _close(actual, expected, rtol, what):
    expected = np.asarray(expected, dtype=float)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(np.asarray(actual, dtype=float), expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def _check_call(f, fns, args, kwargs, wrt, fd_tol, gen_tol, use_autograd):
    g, vg, df = fns
    saved = copy.deepcopy((args, kwargs))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. no overflow in logaddexp's adjoint
        got = _tuple(g(*args, **kwargs), wrt)
        value, got_v = vg(*args, **kwargs)
        general = _tuple(df(*args, **kwargs), wrt)
        expected_value = f(*args, **kwargs)
    for a, b in zip(saved[0], args):
        np.testing.assert_array_equal(a, b, err_msg="grad modified a caller's argument")
        assert np.asarray(a).dtype == np.asarray(b).dtype
    assert saved[1] == kwargs
    _close(value, expected_value, gen_tol, "value_and_grad value != f(*args)")
    names, params = _names(f, wrt), list(inspect.signature(f).parameters)
    assert len(got) == len(names)
    for name, gi, gv, gg in zip(names, got, _tuple(got_v, wrt), general):
        x = _bind(f, args, kwargs).arguments[name]
        assert np.shape(gi) == np.shape(x), f"{name}: gradient shape {np.shape(gi)} != {np.shape(x)}"
        if isinstance(x, float):
            assert isinstance(gi, float), f"{name}: gradient of a float is {type(gi)}"
        assert not any(isinstance(a, np.ndarray) and np.shares_memory(gi, a) for a in args), f"{name}: aliases an argument"
        _close(gi, fd_grad(f, args, kwargs, name), fd_tol, f"{name}: s2s.grad vs finite differences")
        _close(gi, gg, gen_tol, f"{name}: s2s.grad vs s2s.derivative (general code)")
        _close(gv, gi, gen_tol, f"{name}: value_and_grad vs grad")
        if use_autograd and params.index(name) < len(args):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Output seems independent of input")
                ag = autograd.grad(_autograd_twin(f), params.index(name))(*args, **kwargs)
            _close(gi, ag, max(gen_tol, 1e-8), f"{name}: s2s.grad vs autograd")


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=XFAIL[n]))
                                  if n in XFAIL else n for n in CASES])
def test_program(name, seed):
    f, make, wrt, fd_tol, gen_tol = CASES[name]
    rng = np.random.default_rng(seed)
    first = make(rng, tuple(rng.integers(1, 5, size=6)), seed)
    for _ in range(20):  # a second call with other shapes (the same gradient function)
        second = make(rng, tuple(rng.integers(1, 5, size=6)), seed + 1)
        if [np.shape(a) for a in second[0]] != [np.shape(a) for a in first[0]]:
            break
    fns = s2s.grad(f, wrt=wrt), s2s.value_and_grad(f, wrt=wrt), s2s.derivative(f, wrt=wrt)
    for args, kwargs in (first, second, first):  # new shapes, then the first variant again
        _check_call(f, fns, args, kwargs, wrt, fd_tol, gen_tol, name not in NO_AUTOGRAD)


def test_float32_arguments_get_the_general_codes_dtypes():
    # specialising to the shapes changes no dtype: the general code computes float32 models' gradients
    # in float32 (a mean's adjoint is broadcast in the data's precision), and so does the specialised code
    rng = np.random.default_rng(0)
    x, W = _n(rng, 3, 2).astype(np.float32), _n(rng, 2, 4).astype(np.float32)
    got = s2s.grad(f32_model, wrt=(0, 1))(x, W)
    general = s2s.derivative(f32_model, wrt=(0, 1))(x, W)
    assert [a.dtype for a in got] == [a.dtype for a in general] == [np.float32, np.float32]
    for a, b in zip(got, general):
        np.testing.assert_allclose(a, b, rtol=1e-5)


def mixed_precision(x32, w64):
    return np.sum(np.sin(w64)) + np.sum(x32 * w64)


def test_mixed_precision_keeps_float64():
    # regression: the specialised gradient of a float64 argument came back float32 (a Python-number
    # adjoint times float32 data, then float64 terms added in place)
    rng = np.random.default_rng(0)
    x32, w = _n(rng, 5).astype(np.float32), _n(rng, 5)
    got = s2s.grad(mixed_precision, wrt=1)(x32, w)
    general = s2s.derivative(mixed_precision, wrt=1)(x32, w)
    exact = np.cos(w) + x32.astype(np.float64)
    np.testing.assert_allclose(general, exact, rtol=1e-14)
    assert got.dtype == w.dtype
    np.testing.assert_allclose(got, exact, rtol=1e-12)


def not_scalar(x):
    return x * 2.0


def not_scalar_axis(x, W):
    return np.sum(x @ W, axis=0)


@pytest.mark.parametrize("f, args", [
    (not_scalar, (np.ones(3),)), (not_scalar_axis, (np.ones((2, 3)), np.ones((3, 4)))),
])
@pytest.mark.parametrize("api", [s2s.grad, s2s.value_and_grad])
def test_non_scalar_output_raises(f, args, api):
    # (an output of one element, shape (1,), is differentiated as autograd does since cf4453b: test_specialize)
    with pytest.raises(s2s.NonScalarOutputError):
        api(f)(*args)


def unused_sizes(W, X):
    n, d = X.shape  # read, never used: the specialised code drops them
    k = W.shape[1]  # noqa: F841 - as users write it
    return np.sum(np.tanh(X @ W) ** 2) / 7.0


def sizes_of_a_number(a, x):
    n = np.shape(x)
    return a * a * 3.0 + len(n)


def test_unused_shape_reads_are_dropped_where_they_cannot_raise():
    rng = np.random.default_rng(3)
    W, X = rng.normal(size=(4, 3)), rng.normal(size=(5, 4))
    g = s2s.grad(unused_sizes)
    np.testing.assert_allclose(g(W, X), autograd.grad(
        lambda W: anp.sum(anp.tanh(anp.dot(X, W)) ** 2) / 7.0)(W), rtol=1e-10)
    code = s2s.source(g, W, X)
    assert ".shape" not in code.split("def ", 1)[1].split("# return", 1)[0], code
    assert s2s.grad(sizes_of_a_number)(2.0, 1.5) == 12.0
    with pytest.raises(AttributeError):  # a number's .shape raises in the function: so it does in its gradient
        s2s.grad(unused_sizes)(W, 2.0)
