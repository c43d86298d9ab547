"""np.linalg.multi_dot: a chain of matrix products whose first and last items may be vectors (s2s/rules/linalg.py).

Checked against central differences and against autograd on the same chain written with `@` (autograd has no
multi_dot), in reverse and forward mode and for second derivatives; random shapes, fixed seeds.
"""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import s2s
from tests.conftest import check_grad, numeric_grad

R = np.random.default_rng(60)


def _chain(shapes):
    return [R.normal(size=s) for s in shapes]


def three_matrices(A, B, C):
    return np.sum(np.sin(np.linalg.multi_dot([A, B, C])))


def three_matrices_twin(A, B, C):
    return anp.sum(anp.sin(A @ B @ C))


def vector_ends(v, B, C, w):
    return np.linalg.multi_dot([v, B, C, w]) ** 2


def vector_ends_twin(v, B, C, w):
    return (v @ B @ C @ w) ** 2


def two_in_a_tuple(A, B):
    return np.sum(np.linalg.multi_dot((A, B)) ** 3)


def two_in_a_tuple_twin(A, B):
    return anp.sum((A @ B) ** 3)


CASES = [(three_matrices, three_matrices_twin, [(3, 4), (4, 5), (5, 2)]),
         (vector_ends, vector_ends_twin, [(3,), (3, 4), (4, 2), (2,)]),
         (two_in_a_tuple, two_in_a_tuple_twin, [(2, 3), (3, 4)])]


@pytest.mark.parametrize("f, twin, shapes", CASES, ids=[c[0].__name__ for c in CASES])
def test_each_item_s_gradient_matches_differences_and_autograd(f, twin, shapes):
    args = _chain(shapes)
    for k in range(len(args)):
        check_grad(f, *args, wrt=k, ag=twin)
    tangents = _chain(shapes)
    _, dot = s2s.jvp(f, tuple(args), tuple(tangents))
    want = sum(np.sum(numeric_grad(f, args, k) * t) for k, t in enumerate(tangents))
    np.testing.assert_allclose(dot, want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(s2s.hessian(f, wrt=0)(*args), autograd.hessian(twin, 0)(*args), rtol=1e-8, atol=1e-10)


def test_the_specialised_code_knows_the_chain_s_shape_and_keeps_float32():
    args = [a.astype(np.float32) for a in _chain([(3, 4), (4, 5), (5, 2)])]
    code = s2s.source(s2s.grad(three_matrices), *args)
    assert "s2s.grad_multi_dot(" in code and "expand_reduced" not in code and "unbroadcast" not in code, code
    assert s2s.grad(three_matrices)(*args).dtype == np.float32


def test_out_is_refused():
    A, B = _chain([(2, 3), (3, 2)])

    def into_out(A, B):
        out = np.empty((2, 2))
        return np.sum(np.linalg.multi_dot([A, B], out=out))

    with pytest.raises((s2s.UnsupportedSyntaxError, s2s.NoDerivativeRuleError), match="out"):
        s2s.grad(into_out)(A, B)


def list_display_first(x):
    return np.sum(np.linalg.multi_dot([[1.0, 2.0, 3.0], np.ones((3, 4)) / 10, x.reshape(4, 4)]) ** 2)


def test_a_list_display_item_is_a_vector():
    """Helper 199: an item written as a list display crashed the result shape (a Seq has no len)."""
    x = R.normal(size=16)
    check_grad(list_display_first, x, ag=False)
