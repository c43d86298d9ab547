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
        code = "\n".join(line.split("#")[0] for line in src.splitlines())
        assert code.count("np.einsum(") == 1 + len(wrt), src  # the forward call, and one per active operand
        general = s2s.source(s2s.derivative(chain, wrt=wrt))
        assert f", {tuple(w + 1 for w in wrt)})" in general, general
        got = s2s.grad(chain, wrt=wrt)(*args)
        want = s2s.derivative(chain, wrt=wrt)(*args)
        got, want = (v if isinstance(v, tuple) else (v,) for v in (got, want))
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-12)
        check_all(chain, args, wrt=wrt)


def with_summed_letter(a, b):
    return np.sum(np.einsum("ij,jk->i", a, b) ** 2)  # k is summed out of b alone: b's part spreads over it


def with_trace(a, b):
    return np.sum(np.einsum("ii,ij->j", a, b) ** 2)  # a repeated letter: a's part is a diagonal


def attention(Q, K, V):
    s = np.einsum("bqd,bkd->bqk", Q, K) / 2.0
    w = np.exp(s - np.max(s, axis=-1, keepdims=True))
    w = w / np.sum(w, axis=-1, keepdims=True)
    return np.sum(np.einsum("bqk,bkd->bqd", w, V) ** 2)


def test_einsum_parts_written_out_where_every_letter_is_the_operands_own():
    """Specialised code writes each part as one einsum of g with the other operands (specialize._einsum_parts)
    where the operand's letters are all its own; a summed-out letter or a repeated one keeps the helper."""
    from helpers_fd import check_all

    r = np.random.default_rng(12)
    cases = [(attention, (r.normal(size=(2, 3, 4)), r.normal(size=(2, 5, 4)), r.normal(size=(2, 5, 4))), (0, 1, 2), True),
             (with_summed_letter, (r.normal(size=(3, 4)), r.normal(size=(4, 2))), (0, 1), False),
             (with_trace, (r.normal(size=(3, 3)), r.normal(size=(3, 2))), (0, 1), False)]
    for f, args, wrt, written in cases:
        check_all(f, args, wrt=wrt, use_autograd=f is not with_trace)  # (autograd's einsum adjoint has no 'ii')
        src = s2s.source(s2s.grad(f, wrt=wrt), *args)
        assert ("grad_einsum_parts" not in src) is written, src
    Q, K, V = (a.astype(np.float32) for a in cases[0][1])
    got = s2s.grad(attention, wrt=(0, 1, 2))(Q, K, V)
    assert all(g.dtype == np.float32 for g in got)
