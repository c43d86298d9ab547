"""s2s's derivatives of functools.partial objects of functions (JAX programs write `grad(partial(f, k=v))`):
the keywords become defaults of a copy of the function, the positional arguments are bound first (as `self`),
and `wrt` counts what the partial takes. Checked against autograd, which differentiates partials directly."""

import functools

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import s2s

P = functools.partial
X = np.array([0.3, -0.6, 1.1])
Y = np.array([1.5, 0.2, -0.7])


def model(x, y, scale=1.0, *, power=2):
    return scale * np.sum(np.sin(x * y) ** power)


def model_ag(x, y, scale=1.0, *, power=2):
    return scale * anp.sum(anp.sin(x * y) ** power)


def gp_like(params, x, y=None, marginal=False):
    """Returns a pair unless `marginal` (as jax's GP example, differentiated as partial(gp, marginal=True))."""
    k = np.exp(params[0]) * np.exp(-(x[:, None] - x[None, :]) ** 2) + np.exp(params[1]) * np.eye(len(x))
    alpha = np.linalg.solve(k, y)
    if marginal:
        return 0.5 * y @ alpha + 0.5 * np.linalg.slogdet(k)[1]
    return alpha, k


def gp_like_ag(params, x, y=None, marginal=False):
    k = anp.exp(params[0]) * anp.exp(-(x[:, None] - x[None, :]) ** 2) + anp.exp(params[1]) * anp.eye(len(x))
    alpha = anp.linalg.solve(k, y)
    if marginal:
        return 0.5 * anp.dot(y, alpha) + 0.5 * anp.linalg.slogdet(k)[1]
    return alpha, k


CASES = [  # (keywords and positional arguments bound, the call's arguments, wrt)
    ("keyword", (), {"scale": 3.0}, (X, Y), 0),
    ("keyword-only", (), {"power": 3}, (X, Y), 0),
    ("positional", (X,), {}, (Y,), 0),
    ("both", (X,), {"scale": 2.0, "power": 3}, (Y,), 0),
    ("second argument", (), {"scale": 3.0}, (X, Y), 1),
    ("a differentiable keyword", (), {"y": Y}, (X,), 0),
]


@pytest.mark.parametrize("args,kw,call,wrt", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_grad_of_a_partial(args, kw, call, wrt):
    got = s2s.grad(P(model, *args, **kw), wrt)(*call)
    np.testing.assert_allclose(got, autograd.grad(P(model_ag, *args, **kw), wrt)(*call), rtol=1e-10)
    value, again = s2s.value_and_grad(P(model, *args, **kw), argnums=wrt)(*call)
    assert value == pytest.approx(P(model, *args, **kw)(*call)) and np.allclose(again, got)


def test_a_keyword_picks_the_branch():
    params, x, y = np.array([0.2, -1.0]), np.linspace(0.0, 2.0, 5), np.sin(np.linspace(0.0, 2.0, 5))
    got = s2s.grad(P(gp_like, marginal=True))(params, x, y)
    np.testing.assert_allclose(got, autograd.grad(P(gp_like_ag, marginal=True))(params, x, y), rtol=1e-9)


def test_forward_mode_and_second_derivatives():
    f, fa = P(model, y=Y, scale=0.5), P(model_ag, y=Y, scale=0.5)
    np.testing.assert_allclose(s2s.hessian(f)(X), autograd.hessian(fa)(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(s2s.jacfwd(f)(X), autograd.jacobian(fa)(X), rtol=1e-10)
    np.testing.assert_allclose(s2s.jacrev(f)(X), autograd.jacobian(fa)(X), rtol=1e-10)
    _, t = s2s.jvp(f, (X,), (Y,))
    assert t == pytest.approx(np.dot(autograd.grad(fa)(X), Y))
    _, pullback = s2s.vjp(f, X)
    np.testing.assert_allclose(pullback(2.0), 2.0 * autograd.grad(fa)(X), rtol=1e-10)
    g2 = s2s.grad(s2s.grad(P(model, y=1.3, scale=2.0)))(0.4)
    assert g2 == pytest.approx(autograd.grad(autograd.grad(P(model_ag, y=1.3, scale=2.0)))(0.4))


def test_each_partial_keeps_its_own_values():  # one generated code, the values read from each partial
    for scale, y in [(1.0, Y), (2.0, -Y), (5.0, np.ones(3))]:
        got = s2s.grad(P(model, y=y, scale=scale))(X)
        np.testing.assert_allclose(got, autograd.grad(P(model_ag, y=y, scale=scale))(X), rtol=1e-10)


def test_nested_partials_and_methods():
    class Scaled:
        def __init__(self, k):
            self.k = k

        def loss(self, x, y, scale=1.0):
            return self.k * scale * np.sum(np.cos(x) * y)

    np.testing.assert_allclose(s2s.grad(P(P(model, scale=3.0), power=1))(X, Y),
                               autograd.grad(P(model_ag, scale=3.0, power=1))(X, Y), rtol=1e-10)
    np.testing.assert_allclose(s2s.grad(P(Scaled(2.0).loss, scale=3.0))(X, Y), -6.0 * np.sin(X) * Y, rtol=1e-12)


def test_has_aux():
    def with_aux(x, y, scale=1.0):
        return scale * np.sum(x * y), {"n": 3}

    g, aux = s2s.grad(P(with_aux, scale=2.0), has_aux=True)(X, Y)
    np.testing.assert_allclose(g, 2.0 * Y)
    assert aux == {"n": 3}


@pytest.mark.parametrize("partial", [P(model, x=X), P(np.sum, axis=0)], ids=["keyword before a required one",
                                                                            "a partial of a built-in"])
def test_partials_that_stay_refused(partial):
    with pytest.raises(s2s.S2SError):
        s2s.grad(partial)(Y)


def test_derivatives_of_a_partial_follow_its_state_changed_later():
    # grad(p) bound p's keywords and arguments into a copy of model when made: a later p.keywords[k] = v or
    # p.__setstate__, which p's own calls follow, gave the derivative of the partial p had been
    p = P(model, y=Y, scale=2.0)
    g, h, value_and_g = s2s.grad(p), s2s.hessian(p), s2s.value_and_grad(p)
    np.testing.assert_allclose(g(X), autograd.grad(P(model_ag, y=Y, scale=2.0))(X), rtol=1e-10)
    p.keywords["scale"] = 5.0
    p.keywords["power"] = 3
    expected = autograd.grad(P(model_ag, y=Y, scale=5.0, power=3))
    np.testing.assert_allclose(g(X), expected(X), rtol=1e-10)
    np.testing.assert_allclose(value_and_g(X)[1], expected(X), rtol=1e-10)
    np.testing.assert_allclose(h(X), autograd.hessian(P(model_ag, y=Y, scale=5.0, power=3))(X), rtol=1e-9, atol=1e-12)
    assert "power" in s2s.source(g, X)
    p.__setstate__((model, (-Y,), {"scale": 0.5}, None))  # now model(-Y, x, scale=0.5)
    np.testing.assert_allclose(g(X), autograd.grad(P(model_ag, -Y, scale=0.5))(X), rtol=1e-10)


def test_grad_of_grad_of_a_partial_follows_its_keywords():
    p = P(model, y=1.3, scale=2.0)
    gg = s2s.grad(s2s.grad(p))
    assert gg(0.4) == pytest.approx(autograd.grad(autograd.grad(P(model_ag, y=1.3, scale=2.0)))(0.4))
    p.keywords["scale"] = -3.0
    assert gg(0.4) == pytest.approx(autograd.grad(autograd.grad(P(model_ag, y=1.3, scale=-3.0)))(0.4))


def scaled_sines(x, y, scale=1.0):
    return scale * np.sum(np.sin(x * y))


def test_a_gradient_of_a_partial_called_inside_a_differentiated_function_follows_it():
    p = P(scaled_sines, y=Y, scale=2.0)
    inner = s2s.grad(p)

    def outer(x):
        return np.sum(inner(x) * x)

    def outer_ag(x, scale):
        return anp.sum(scale * Y * anp.cos(x * Y) * x)

    np.testing.assert_allclose(s2s.grad(outer)(X), autograd.grad(outer_ag)(X, 2.0), rtol=1e-10)
    p.keywords["scale"] = 3.0
    np.testing.assert_allclose(s2s.grad(outer)(X), autograd.grad(outer_ag)(X, 3.0), rtol=1e-10)


def _calm(x, k=1.0):
    return np.sin(x * k)


def _noisy(x, k=1.0):
    return np.sin(x * k * np.random.default_rng().normal())


STEP = P(_calm, k=2.0)


def stepped(x):
    s = x
    for _ in s2s.checkpoint(range(4), every=2):
        s = STEP(s)
    return s


def test_a_checkpointed_loop_calling_a_partial_given_another_function_is_refused_again():
    # the check that the loop's calls draw no random numbers read STEP.func when the derivative was made: a
    # STEP.__setstate__ with another function kept serving it, the loop run again drawing other numbers
    g = s2s.grad(stepped)
    expected = autograd.grad(lambda x: anp.sin(2.0 * anp.sin(2.0 * anp.sin(2.0 * anp.sin(2.0 * x)))))(0.3)
    assert g(0.3) == pytest.approx(expected)
    STEP.__setstate__((_noisy, (), {"k": 2.0}, None))
    try:
        with pytest.raises(s2s.UnsupportedSyntaxError, match="random"):
            g(0.3)
    finally:
        STEP.__setstate__((_calm, (), {"k": 2.0}, None))
