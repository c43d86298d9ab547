"""Draws of a np.random.Generator argument have the shapes they ask for (transforms/shapes.py,
`RandomGenerator`), so a dropout mask or a reparameterised sample keeps the specialised code; written-out
layers that apply it to all but the last layer need no branch (transforms/unroll.py,
`fold_known_conditions`). Each gradient is checked against central differences with a generator made
afresh for every evaluation (the same draws), and against s2s's general code."""

import numpy as np
import pytest

import s2s
from tests.helpers_fd import assert_close, fd_grad

RNG = np.random.default_rng(5)


def dropout(W1, W2, X, rng, keep=0.8):
    h = np.maximum(X @ W1, 0.0)
    mask = rng.random(h.shape) < keep
    h = h * mask / keep
    return np.mean((h @ W2) ** 2)


def layers_but_last(params, X, rng, keep=0.7):
    h = X
    for i, (W, b) in enumerate(params):
        h = h @ W + b
        if i < len(params) - 1:
            h = np.tanh(h) * (rng.random(h.shape) < keep) / keep
    return np.sum(h ** 2)


def reparameterised(mu, log_sigma, rng):
    eps = rng.standard_normal(mu.shape)
    z = mu + np.exp(log_sigma) * eps
    noise = rng.normal(0.0, 0.1, size=(3,) + mu.shape)
    return np.sum(z ** 2) + np.sum(np.tanh(z + noise))


def draw_without_size(mu, loc, rng):
    return np.sum(np.sin(mu * rng.normal(loc, 1.0)))


def draw_float32(mu, rng):
    return np.sum(mu * rng.random(mu.shape, dtype=np.float32))


def generator_rebound(mu, rng):
    rng = np.random.default_rng(1)
    return np.sum(mu * rng.random(mu.shape))


def _seeded(f, seed=3):
    return lambda *a: f(*a, np.random.default_rng(seed))


def _check(f, args, wrt=0):
    g = s2s.grad(f, wrt=wrt)(*args, np.random.default_rng(3))
    assert_close(g, fd_grad(_seeded(f), args, wrt), rtol=1e-5, atol=1e-7)
    general = s2s.derivative(f, wrt=wrt)(*args, np.random.default_rng(3))
    np.testing.assert_allclose(g, general, rtol=1e-10, atol=1e-12)
    return s2s.source(s2s.grad(f, wrt=wrt), *args, np.random.default_rng(3))


def test_a_dropout_mask_keeps_the_specialised_code():
    src = _check(dropout, (RNG.normal(size=(4, 6)), RNG.normal(size=(6, 2)), RNG.normal(size=(5, 4))))
    assert "# s2s:" not in src and "unbroadcast" not in src, src


def test_layers_but_the_last_need_no_branch_and_no_tape():
    params = [(RNG.normal(size=(3, 5)), RNG.normal(size=5)), (RNG.normal(size=(5, 4)), RNG.normal(size=4)),
              (RNG.normal(size=(4, 1)), RNG.normal(size=1))]
    X = RNG.normal(size=(6, 3))
    g = s2s.grad(layers_but_last)(params, X, np.random.default_rng(3))
    eps, W = 1e-6, params[1][0]
    for index in [(0, 0), (2, 3), (4, 1)]:
        def at(v):
            W2 = W.copy()
            W2[index] += v
            changed = [params[0], (W2, params[1][1]), params[2]]
            return layers_but_last(changed, X, np.random.default_rng(3))
        assert_close(g[1][0][index], (at(eps) - at(-eps)) / (2 * eps), rtol=1e-5, atol=1e-7)
    src = s2s.source(s2s.grad(layers_but_last), params, X, np.random.default_rng(3))
    assert "if " not in src and "stack" not in src and "# s2s:" not in src, src


@pytest.mark.parametrize("f", [reparameterised, draw_without_size])
def test_draws_by_size_or_by_their_parameters_shapes(f):
    src = _check(f, (RNG.normal(size=4), RNG.normal(size=4)))
    assert "# s2s:" not in src, src


@pytest.mark.parametrize("f", [draw_float32, generator_rebound])
def test_draws_not_claimed_stay_general_and_right(f):
    src = _check(f, (RNG.normal(size=4),))
    assert "# s2s:" in src or "unbroadcast" in src or "s2s." in src, src


def test_a_legacy_random_state_is_not_claimed():
    def f(mu, rs):
        return np.sum(mu * rs.random_sample(mu.shape))

    mu = RNG.normal(size=3)
    g = s2s.grad(f)(mu, np.random.RandomState(0))
    assert_close(g, np.random.RandomState(0).random_sample(3))


# ---- hardening (adv-rnd): draws and folded conditions that held; each pinned against differences ----

def draw_params_broadcast(mu, rng):
    return np.sum(mu * rng.normal(np.zeros((2, 1)), np.ones(4))) + np.sum(mu * rng.normal(size=(2, 4), scale=1.5))


def draw_size_by_names(mu, rng):
    s = mu.shape
    return np.sum(mu * rng.standard_normal((3,) + s)) + np.sum(mu * rng.uniform(0.0, mu.shape[0], mu.shape) ** 2)


@pytest.mark.parametrize("f", [draw_params_broadcast, draw_size_by_names])
def test_draws_by_broadcast_parameters_or_built_sizes(f):
    _check(f, (RNG.normal(size=4),))


def count_down(X, params, rng):
    h = X
    n = len(params)
    for _i, (W, b) in enumerate(params):
        h = h @ W + b
        n = n - 1
        if n > 1:
            h = np.tanh(h) * (rng.random(h.shape) < 0.7)
    return np.sum(h ** 2)


def counted_in_a_while(X, params, rng):
    h = X
    n = 0
    for i, (W, b) in enumerate(params):
        h = h @ W + b
        k = 0
        while k < i:
            k = k + 1
            n = n + 1
        if n < 1:
            h = np.tanh(h)
    return np.sum(h ** 2)


def counted_by_draws(X, params, rng):
    h = X
    n = 0
    for _i, (W, b) in enumerate(params):
        h = h @ W + b
        if rng.random() < 0.5:
            n = n + 1
        if n < 1:
            h = np.tanh(h)
    return np.sum(h ** 2)


def flag_flipped(X, params, rng):
    h = X
    flag = True
    for _i, (W, b) in enumerate(params):
        h = h @ W + b
        if flag:
            h = np.tanh(h)
        flag = not flag
    return np.sum(h ** 2)


@pytest.mark.parametrize("f", [count_down, counted_in_a_while, counted_by_draws, flag_flipped])
def test_conditions_on_ints_rebound_through_written_out_trips(f):
    params = [(RNG.normal(size=(3, 5)), RNG.normal(size=5)), (RNG.normal(size=(5, 4)), RNG.normal(size=4)),
              (RNG.normal(size=(4, 1)), RNG.normal(size=1))]
    _check(lambda X, rng: f(X, params, rng), (RNG.normal(size=(6, 3)),))
    X = RNG.normal(size=(6, 3))
    g = s2s.grad(f)(X, params, np.random.default_rng(3))
    assert_close(g, fd_grad(lambda X: f(X, params, np.random.default_rng(3)), (X,)), rtol=1e-5, atol=1e-7)


def constant_draws(mu, rng):
    return np.sum(mu * rng.gumbel(size=mu.shape)) + np.sum(mu ** 2 * rng.normal(0.0, 2.0, size=4))


def test_a_draw_of_constants_alone_has_its_shape_too():
    src = _check(constant_draws, (RNG.normal(size=4),))
    assert "# s2s:" not in src and "unbroadcast" not in src, src


def drawn_inside(x, rng):
    e = rng.normal(size=x.shape)
    return np.sin(x * e) * x


def drawn_inside_summed(x, rng):
    e = rng.normal(size=x.shape)
    return np.sum(np.sin(x * e) * x)


@pytest.mark.parametrize("transform,more", [
    (lambda: s2s.hvp(drawn_inside_summed), (np.ones(4),)), (lambda: s2s.jacfwd(s2s.elementwise_grad(drawn_inside)), ()),
    (lambda: s2s.jacrev(s2s.elementwise_grad(drawn_inside)), ()),
    (lambda: s2s.hessian(s2s.elementwise_grad(drawn_inside_summed)), ()),
    (lambda: s2s.elementwise_grad(s2s.elementwise_grad(drawn_inside)), ())],
    ids=["hvp", "jacfwd", "jacrev", "hessian", "egrad"])
def test_derivatives_that_evaluate_a_drawing_function_again_are_refused(transform, more):
    # (adv230: hvp evaluated f once more for its value, the derivatives of elementwise_grad(f) per direction: each
    # saw other draws, and H @ v was [-1.04, 0.68, ...] for [0.25, -0.26, ...]; s2s.hessian(f) refused already)
    x = np.array([0.3, -0.7, 1.2, 0.5])
    with pytest.raises(s2s.UnsupportedSyntaxError, match="draws random numbers"):
        transform()(x, np.random.default_rng(0), *more)


def test_jvp_and_vjp_of_elementwise_grad_of_a_drawing_function_are_refused():
    x, v = np.array([0.3, -0.7, 1.2, 0.5]), np.ones(4)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="draws random numbers"):
        s2s.jvp(s2s.elementwise_grad(drawn_inside), (x, np.random.default_rng(0)), (v, None))
    with pytest.raises(s2s.UnsupportedSyntaxError, match="draws random numbers"):
        s2s.vjp(s2s.elementwise_grad(drawn_inside), x, np.random.default_rng(0))
    e = np.random.default_rng(0).normal(size=4)  # (elementwise_grad itself evaluates f once: right)
    np.testing.assert_allclose(s2s.elementwise_grad(drawn_inside)(x, np.random.default_rng(0)),
                               np.sin(x * e) + x * e * np.cos(x * e), rtol=1e-12)
