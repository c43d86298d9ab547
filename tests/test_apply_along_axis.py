"""np.apply_along_axis(f, axis, arr, *args) written as the comprehension over the rows it runs (transforms/
along_axis.py), the rows taken and the results placed by runtime helpers with rules: f of yours, a lambda or a
NumPy function, results of any one shape, any axis. Against central differences and NumPy's values; forward mode
and Hessians; NumPy's errors; refusals where the rows' results differ in shape or dtype or an argument would be
evaluated more than once. (Before stop 72: no derivative rule for numpy.apply_along_axis.)"""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s


def row_energy(r, w):
    return np.sum(np.tanh(r * w) ** 2)


def by_def(X, w):
    return np.sum(np.apply_along_axis(row_energy, 1, X, w) ** 2)


def by_lambda(X, w):
    return np.sum(np.sin(np.apply_along_axis(lambda r: np.sum(r ** 3) * w, 0, X)))


def by_numpy_function(X, w):
    return np.sum(np.apply_along_axis(np.linalg.norm, -1, X) * w)


def vector_results(X, w):
    return np.sum(np.cos(np.apply_along_axis(np.cumsum, 0, X * w)))


def three_axes(X, w):
    T = np.stack([X, X * w, np.exp(X)])  # (3, 4, 3)
    return np.sum(np.apply_along_axis(lambda r: np.outer(r, r), 1, T) ** 2)  # (3, 4, 4, 3)


def scaled_row(r, scale=1.0):
    return np.sum(np.sin(r) * scale)


def keyword_arguments(X, w):
    return np.sum(np.apply_along_axis(scaled_row, 1, X, scale=w) ** 2)


PROGRAMS = [by_def, by_lambda, by_numpy_function, vector_results, three_axes, keyword_arguments]


def _args(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(4, 3)), 0.7


@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("wrt", [0, 1])
def test_gradients_match_differences(f, wrt):
    X, w = _args()
    value, got = s2s.value_and_grad(f, wrt=wrt)(X, w)
    assert value == f(X, w)
    np.testing.assert_allclose(got, fd_grad(f, (X, w), wrt=wrt), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f", [by_def, vector_results, three_axes], ids=lambda f: f.__name__)
def test_forward_mode_and_hessians(f):
    X, w = _args(1)
    dX = np.random.default_rng(2).normal(size=X.shape)
    _, tangent = s2s.jvp(lambda X: f(X, w), (X,), (dX,))
    eps = 1e-6
    np.testing.assert_allclose(tangent, (f(X + eps * dX, w) - f(X - eps * dX, w)) / (2 * eps), rtol=1e-6)
    flat = X.ravel()
    g = s2s.grad(lambda z: f(z.reshape(4, 3), w))
    columns = [(g(flat + 1e-5 * e) - g(flat - 1e-5 * e)) / 2e-5 for e in np.eye(flat.size)]
    np.testing.assert_allclose(s2s.hessian(lambda z: f(z.reshape(4, 3), w))(flat), np.array(columns).T,
                               rtol=1e-5, atol=1e-6)


def test_numpy_s_errors():
    def on_empty_rows(X):
        return np.sum(np.apply_along_axis(np.sum, 1, X[:0]))  # noqa: F841

    def bad_axis(X):
        return np.sum(np.apply_along_axis(np.sum, 2, X))

    X = np.ones((2, 3))
    for f, error in ((on_empty_rows, ValueError), (bad_axis, np.exceptions.AxisError)):
        with pytest.raises(error) as numpy_s:
            f(X)
        with pytest.raises(error) as ours:
            s2s.grad(f)(X)
        assert str(ours.value) == str(numpy_s.value)


def test_rows_of_different_result_shapes_are_refused():
    def ragged(X):
        return np.sum(np.apply_along_axis(lambda r: r[r > 0] if r[0] > 0 else np.zeros(2), 1, X))

    X = np.array([[1.0, 2.0], [-1.0, 3.0]])
    with pytest.raises(s2s.UnsupportedSyntaxError, match="one shape and dtype"):
        s2s.grad(ragged)(np.array([[1.0, -2.0], [-1.0, 3.0]]))
    np.testing.assert_allclose(s2s.grad(ragged)(X), fd_grad(ragged, (X,)), atol=1e-8)


def test_computed_arguments():
    def computed(X, w):
        return np.sum(np.apply_along_axis(row_energy, 1, X @ X.T, np.tanh(w)) ** 2)

    X, w = _args(3)
    np.testing.assert_allclose(s2s.grad(computed)(X, w), fd_grad(computed, (X, w)), rtol=1e-6, atol=1e-8)
    assert "along_axis_rows(arr, 1)" in s2s.source(s2s.grad(computed), X, w)


def test_a_call_evaluated_on_some_paths_only_is_refused_with_a_hint():
    def conditional(X, w):
        return np.sum(X) if w > 0 else np.sum(np.apply_along_axis(np.sum, 1, X))

    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.grad(conditional)(np.ones((2, 2)), 2.0)
    assert "out = np.apply_along_axis(f, axis, arr)" in str(info.value)


def test_a_function_that_changes_its_row_is_refused():
    def zero_first(r):
        r[0] = 0.0
        return np.sum(r)

    def changes_rows(X):
        return np.sum(np.apply_along_axis(zero_first, 1, X) * X[:, 0])

    with pytest.raises(s2s.UnsupportedSyntaxError):
        s2s.grad(changes_rows)(np.ones((2, 3)))


# ---- review 245 ----------------------------------------------------------------------------------------------------

def test_rows_of_length_zero():
    """NumPy calls f on each empty row; the rows' reshape by -1 raised for an axis of length 0."""
    def empty_rows(x):
        return np.sum(np.apply_along_axis(lambda r: np.sum(r) + 1.0, 1, x[:, :0]) * x[:, 0])

    x = np.random.default_rng(5).normal(size=(3, 2))
    value, got = s2s.value_and_grad(empty_rows)(x)
    assert value == empty_rows(x)
    np.testing.assert_allclose(got, fd_grad(empty_rows, (x,)), atol=1e-8)


def test_a_keyword_named_as_apply_along_axis_s_own_parameter_is_refused():
    """Python raises TypeError (multiple values for 'axis'); s2s passed `axis=3` on to f."""
    def scaled(r, axis=0):
        return np.sum(r) * (axis + 1)

    def clash(x):
        return np.sum(np.apply_along_axis(scaled, 1, x, axis=3))

    with pytest.raises(TypeError):
        clash(np.ones((2, 2)))
    with pytest.raises(s2s.UnsupportedSyntaxError, match="multiple values for argument 'axis'"):
        s2s.grad(clash)(np.ones((2, 2)))


def test_the_array_updated_after_the_call_needs_no_name_of_s2s():
    """`arr = y` written before the call made `y[0, 0] = 0.0` after it refused as an alias (review 245)."""
    def updated_after(x):
        y = x * 1.0
        s = np.sum(np.apply_along_axis(np.cumsum, 1, y) ** 2)
        y[0, 0] = 0.0
        return s + np.sum(y ** 2)

    x = np.random.default_rng(6).normal(size=(3, 4))
    np.testing.assert_allclose(s2s.grad(updated_after)(x), fd_grad(updated_after, (x,)), atol=1e-8)
