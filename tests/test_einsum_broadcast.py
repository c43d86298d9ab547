"""np.einsum where an index has size 1 in one operand and n in another (NumPy broadcasts it).

Found by porting autograd's Bayesian neural net (`mnd,mdo->mno` with one input set against 20 weight
samples). The adjoint of a broadcast operand is summed back over its size-1 axes.
"""

import numpy as np
import pytest
from helpers_fd import autograd_version, fd_grad

import s2s

CASES = [
    ("mnd,mdo->mno", (1, 4, 3), (5, 3, 2)),
    ("mnd,mdo->mno", (5, 4, 3), (1, 3, 2)),
    ("...ij,...jk->...ik", (1, 3, 4), (5, 4, 2)),
    ("...ij,...jk->...ik", (3, 4), (2, 4, 2)),
    ("i,i->", (1,), (4,)),
    ("ij,ij->i", (3, 1), (3, 4)),
    ("ij,jk", (1, 2), (2, 3)),
]


def _loss(spec):
    def loss(a, b):
        return np.sum(np.einsum(spec, a, b) ** 2)
    return loss


def einsum_mnd(a, b):
    return np.sum(np.tanh(np.einsum("mnd,mdo->mno", a, b)) ** 2)


def einsum_batched(a, b):
    return np.sum(np.einsum("...ij,...jk->...ik", a, b) ** 2)


def einsum_dot(a, b):
    return np.sum(np.einsum("i,i->", a, b) ** 2)


def einsum_rows(a, b):
    return np.sum(np.einsum("ij,ij->i", a, b) ** 2)


def einsum_implicit(a, b):
    return np.sum(np.einsum("ij,jk", a, b) ** 2)


FUNCS = {"mnd,mdo->mno": einsum_mnd, "...ij,...jk->...ik": einsum_batched, "i,i->": einsum_dot,
         "ij,ij->i": einsum_rows, "ij,jk": einsum_implicit}


@pytest.mark.parametrize("spec, sa, sb", CASES)
def test_gradients_of_both_operands(spec, sa, sb):
    rng = np.random.default_rng(len(sa) * 10 + len(sb))
    a, b = rng.normal(size=sa), rng.normal(size=sb)
    f = FUNCS[spec]
    ga, gb = s2s.grad(f, wrt=(0, 1))(a, b)
    want_a, want_b = fd_grad(f, [a, b], wrt=0), fd_grad(f, [a, b], wrt=1)
    assert ga.shape == a.shape and gb.shape == b.shape
    np.testing.assert_allclose(ga, want_a, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gb, want_b, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("spec, sa, sb", CASES[:3])
def test_tangents_and_hessians(spec, sa, sb):
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=sa), rng.normal(size=sb)
    f = FUNCS[spec]
    ta, tb = rng.normal(size=sa), rng.normal(size=sb)
    _, tangent = s2s.jvp(f, (a, b), (ta, tb))
    eps = 1e-6
    np.testing.assert_allclose(tangent, (f(a + eps * ta, b + eps * tb) - f(a - eps * ta, b - eps * tb)) / (2 * eps),
                               rtol=1e-6, atol=1e-8)
    h = s2s.hessian(f)(a, b)
    grad = s2s.grad(f)
    fd = np.zeros(a.shape + a.shape)
    for idx in np.ndindex(a.shape):
        e = np.zeros_like(a)
        e[idx] = eps
        fd[(Ellipsis,) + idx] = (grad(a + e, b) - grad(a - e, b)) / (2 * eps)
    np.testing.assert_allclose(h, fd, rtol=1e-5, atol=1e-6)


def test_against_autograd():
    import autograd
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=(1, 4, 3)), rng.normal(size=(5, 3, 2))
    got = s2s.grad(einsum_mnd, wrt=(0, 1))(a, b)
    want = autograd.grad(autograd_version(einsum_mnd), (0, 1))(a, b)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_only_the_operands_differentiated_through_get_an_adjoint():
    """grad_einsum_parts(..., which) computes the parts of the active operands alone; the others are never read."""
    from helpers_fd import check_all

    def chain(A, X, B):
        return np.sum(np.tanh(np.einsum("ij,jk,kl->il", A, X, B)) ** 2)

    r = np.random.default_rng(9)
    args = (r.normal(size=(2, 3)), r.normal(size=(3, 4)), r.normal(size=(4, 2)))
    for wrt in ((0,), (1,), (0, 2), (0, 1, 2)):
        src = s2s.source(s2s.grad(chain, wrt=wrt), *args)
        assert f", {tuple(w + 1 for w in wrt)})" in src, src
        got = s2s.grad(chain, wrt=wrt)(*args)
        want = s2s.derivative(chain, wrt=wrt)(*args)
        got, want = (v if isinstance(v, tuple) else (v,) for v in (got, want))
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-12)
        check_all(chain, args, wrt=wrt)
