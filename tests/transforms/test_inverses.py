"""One inverse per matrix (transforms/inverses.py): in s2s.grad's specialised code, solves with a matrix whose
inverse the code computes anyway read that inverse. Checked against the general code, central differences
and autograd, and where the conditions fail, that the solves stay."""

import numpy as np
import pytest
from helpers_fd import check_all

import s2s
from tests.test_specialize_linalg import gauss_nll  # (slogdet and a solve with 30 right-hand sides)


def vector_solve(M, b):
    S = M + 3.0 * np.eye(M.shape[0])
    x = np.linalg.solve(S, b)
    return np.sum(x * x) + np.sum(np.linalg.inv(S) * M)


def transposed_first(M, b):
    S = M + 3.0 * np.eye(M.shape[0])
    y = np.linalg.solve(S.T, b)
    return np.sum(np.sin(y)) + np.linalg.slogdet(S)[1]


def own_inverse_and_solve(M, B):
    Si = np.linalg.inv(M)
    Y = np.linalg.solve(M, B)
    return np.sum(Y ** 2) + np.sum(np.tanh(Si))


def solves_only(M, b):
    x = np.linalg.solve(M, b)
    return np.sum(x ** 3)


def conditional_first(M, b, flag):
    x = np.linalg.solve(M, b) if flag else b
    return np.sum(x * x) + np.linalg.slogdet(M)[1]


def updated_after(M, b):
    S = M * 1.0
    x = np.linalg.solve(S, b)
    S[0, 0] += 2.0
    return np.sum(x * x) + np.linalg.slogdet(S)[1]


def batched(M, b):
    x = np.linalg.solve(M, b)
    return np.sum(x * x) + np.sum(np.linalg.slogdet(M)[1])


def _code(f, *args):
    """The generated gradient's statements, without the comments that quote the user's lines."""
    src = s2s.source(s2s.grad(f), *args)
    return "\n".join(line for line in src.splitlines() if not line.lstrip().startswith("#"))


def _well_conditioned(rng, n):
    return rng.normal(size=(n, n)) * 0.3 + 2.0 * np.eye(n)


rng = np.random.default_rng(7)
CASES = {
    "gauss_nll": (gauss_nll, (rng.normal(size=(4, 4)) * 0.5, rng.normal(size=(30, 4)), rng.normal(size=4))),
    "vector_solve": (vector_solve, (rng.normal(size=(5, 5)), rng.normal(size=5))),
    "transposed_first": (transposed_first, (rng.normal(size=(3, 3)) * 0.2, rng.normal(size=(3, 2)))),
    "own_inverse_and_solve": (own_inverse_and_solve, (_well_conditioned(rng, 4), rng.normal(size=(4, 6)))),
}


@pytest.mark.parametrize("name", CASES)
def test_inverse_computed_once_and_solves_read_it(name):
    f, args = CASES[name]
    src = _code(f, *args)
    assert src.count("np.linalg.inv(") == 1, src
    assert "np.linalg.solve(" not in src, src


@pytest.mark.parametrize("name", CASES)
def test_same_gradient_as_the_general_code(name):
    f, args = CASES[name]
    np.testing.assert_allclose(s2s.grad(f)(*args), s2s.derivative(f)(*args), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_against_finite_differences_and_autograd(name):
    f, args = CASES[name]
    check_all(f, args, rtol=1e-5, atol=1e-7)


def test_the_inverse_is_of_the_matrix_the_first_use_factors():
    f, args = CASES["transposed_first"]
    assert "S_inv = np.linalg.inv(S.T)" in _code(f, *args)


def test_solves_alone_stay_solves():
    M, b = _well_conditioned(rng, 4), rng.normal(size=4)
    src = _code(solves_only, M, b)
    assert "np.linalg.inv(" not in src and src.count("np.linalg.solve(") == 2, src
    check_all(solves_only, (M, b))


def test_a_conditional_first_use_keeps_the_solves():
    M, b = _well_conditioned(rng, 3), rng.normal(size=3)
    for flag in (True, False):
        src = _code(conditional_first, M, b, flag)
        assert "np.linalg.solve(" in src or not flag, src
        check_all(conditional_first, (M, b, flag), use_autograd=False)


def test_a_matrix_changed_after_its_first_solve_keeps_the_solves():
    M, b = _well_conditioned(rng, 3), rng.normal(size=3)
    src = _code(updated_after, M, b)
    assert "_inv" not in src, src
    check_all(updated_after, (M, b), use_autograd=False)


def test_value_and_grad_keeps_the_solves_of_its_value():
    f, args = CASES["gauss_nll"]
    value, g = s2s.value_and_grad(f)(*args)
    assert value == f(*args)
    np.testing.assert_allclose(g, s2s.grad(f)(*args), rtol=1e-10, atol=1e-12)


def test_float32_and_stacks_are_left_alone():
    f, args = CASES["vector_solve"]
    args32 = tuple(a.astype(np.float32) for a in args)
    assert "_inv" not in _code(f, *args32)
    Ms = np.stack([_well_conditioned(rng, 3) for _ in range(2)])
    bs = rng.normal(size=(2, 3, 1))
    assert "_inv" not in _code(batched, Ms, bs)
    check_all(batched, (Ms, bs))


def test_a_singular_matrix_raises_as_the_general_code_does():
    M, b = np.zeros((3, 3)), np.ones(3)
    assert "_inv" in _code(vector_solve, M - 3.0 * np.eye(3), b)
    for grad in (s2s.grad(vector_solve), s2s.derivative(vector_solve)):
        with pytest.raises(np.linalg.LinAlgError):
            grad(M - 3.0 * np.eye(3), b)


def inverse_written_into(M, b):
    Si = np.linalg.inv(M)
    Si[0, 0] = 5.0
    x = np.linalg.solve(M, b)
    return np.sum(Si * Si) + np.sum(x ** 2)


def inverse_scaled_in_place(M, b):
    Si = np.linalg.inv(M)
    Si *= 2.0
    x = np.linalg.solve(M, b)
    return np.sum(Si * Si) + np.sum(x ** 2)


@pytest.mark.parametrize("f", [inverse_written_into, inverse_scaled_in_place])
def test_an_inverse_the_code_changes_in_place(f):
    M, b = _well_conditioned(rng, 3), rng.normal(size=3)
    np.testing.assert_allclose(s2s.grad(f)(M, b), s2s.derivative(f)(M, b), rtol=1e-10, atol=1e-12)
    check_all(f, (M, b), use_autograd=False)


def branch_on_a_solve(S, w, b):
    x = np.linalg.solve(S, b)
    if x[0] >= 0.0:
        r = np.sum(w * x)
    else:
        r = -3.0 * np.sum(w * x)
    return r + np.linalg.slogdet(S)[1]


def relu_of_a_solve(S, w, b):
    x = np.linalg.solve(S, b)
    return np.sum(w * np.maximum(x, 0.0)) + np.linalg.slogdet(S)[1]


def index_from_a_solve(S, w, b):
    x = np.linalg.solve(S, b)
    k = int(np.floor(x[0]))
    return w[k] * np.sum(x) + np.linalg.slogdet(S)[1]


# solve(S, b) is exactly [0, -2, 2] here; inv(S) @ b gives -4.4e-16 for the first item
_EXACT_S = np.array([[1.0, 5.0, -5.0], [0.0, 4.0, 3.0], [-1.0, 0.0, -1.0]])
_EXACT_B = np.array([-20.0, -2.0, -2.0])


@pytest.mark.parametrize("f", [branch_on_a_solve, relu_of_a_solve, index_from_a_solve])
def test_a_solve_whose_value_decides_stays_a_solve(f):
    """A product with the inverse rounds otherwise than the solve: where the value decides a branch, an index
    or a tie, the gradient would follow another way than the function took (f is linear in w here: the
    gradient in w was [0, 6, -6] for [0, -2, 2])."""
    w = np.array([1.0, 2.0, 3.0])
    src = s2s.source(s2s.grad(f, argnums=(0, 1)), _EXACT_S, w, _EXACT_B)
    assert "np.linalg.solve(" in src and "S_inv" not in src, src
    got = s2s.grad(f, argnums=(0, 1))(_EXACT_S, w, _EXACT_B)[1]
    np.testing.assert_array_equal(got, s2s.derivative(f, wrt=(0, 1))(_EXACT_S, w, _EXACT_B)[1])
    if f is branch_on_a_solve:
        np.testing.assert_array_equal(got, [0.0, -2.0, 2.0])


def inverse_in_a_branch(M, b, flag):
    S = M + np.eye(3)
    x = np.linalg.solve(S, b)
    r = np.sum(np.linalg.inv(S)) if flag else 0.0
    return np.sum(x * x) + r


def test_an_inverse_computed_only_in_a_branch_is_not_made_unconditional():
    M, b = _well_conditioned(rng, 3), rng.normal(size=3)
    for flag in (True, False):
        src = _code(inverse_in_a_branch, M, b, flag)
        assert "S_inv" not in src, src
        np.testing.assert_allclose(s2s.grad(inverse_in_a_branch)(M, b, flag),
                                   s2s.derivative(inverse_in_a_branch)(M, b, flag), rtol=1e-10, atol=1e-12)



def int_of_a_solve(S, b):
    k = np.asarray(np.linalg.solve(S, b), dtype=int)
    return np.linalg.slogdet(S)[1] + np.sum(S) * np.sum(k)


def int_of_a_solve_by_position(S, b):
    k = np.array(np.linalg.solve(S, b), int)
    return np.linalg.slogdet(S)[1] + np.sum(S) * np.sum(k)


# solve(S, b) is exactly [3, 3, 2] here; an item of inv(S) @ b is 2.9999999999999996, whose int is 2
_INT_S = np.array([[30.0, 7.0, -22.0], [7.0, 7.0, -1.0], [-22.0, -1.0, 67.0]])
_INT_B = np.array([67.0, 40.0, 65.0])


@pytest.mark.parametrize("f", [int_of_a_solve, int_of_a_solve_by_position])
def test_a_solve_cast_to_ints_stays_a_solve(f):
    """np.asarray(x, dtype=int) was taken as smooth in x (rounding.py): the product with the inverse gave
    k = [3, 3, 1] where the function's is [3, 3, 2], and a gradient in S off by one in every item."""
    src = s2s.source(s2s.grad(f), _INT_S, _INT_B)
    assert "np.linalg.solve(" in src and "S_inv" not in src, src
    np.testing.assert_array_equal(s2s.grad(f)(_INT_S, _INT_B), s2s.derivative(f)(_INT_S, _INT_B))
