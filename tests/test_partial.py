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
