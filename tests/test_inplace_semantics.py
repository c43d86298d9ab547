"""`y op= v` of a NumPy array changes y in place, and NumPy refuses where the result does not fit y: a ValueError
where it has another shape (`Y += c` of Y (3,) and c (2, 3)), a UFuncTypeError where it cannot be cast back to y's
dtype with same_kind casting (a float added into an int array). s2s computes `y = y op v`, a new array, so it checks
first (s2s.inplace_check, written by transforms/lower.py): where Python raises, the gradient raises the same error;
where it does not, the gradient is the true one. Specialised code drops the check where the shapes prove it passes
(transforms/specialize.py, drop_inplace_checks), so that ordinary code pays nothing for it.

Found by an adversarial review: s2s returned a gradient for each of the raising functions here.
"""

import warnings

import numpy as np
import pytest

import s2s
from tests.helpers_fd import assert_close, fd_grad

W = np.arange(1.0, 4.0)
X = np.arange(6.0).reshape(2, 3)
M23 = np.arange(6.0).reshape(2, 3) / 10
M22 = np.array([[1.0, 0.5], [0.25, 2.0]])


# ---- functions that raise in Python ------------------------------------------------------------------------------

def wider(c):  # c (2, 3): the result (2, 3) does not fit Y (3,)
    Y = np.zeros(3)
    Y += c
    return np.sum(Y * W)


def float_into_int(c):
    Y = np.zeros(3, dtype=int)
    Y += c
    return np.sum(Y * c)


def leading_one(c):  # c (1, 3): Y * c is (1, 3), Y is (3,)
    Y = np.ones(3)
    Y *= c
    return np.sum(Y * W)


def column_into_row(c):  # c (3,): Y (2, 1) - c is (2, 3)
    Y = np.zeros((2, 1))
    Y -= c
    return np.sum(Y)


def row_of_matrix(c):  # c (1, 3): `Y[0] += c` raises, where `Y[0] = Y[0] + c` would drop the leading 1
    Y = X.copy()
    Y[0] += c
    return np.sum(Y ** 2)


def column_of_matrix(c):  # c (1, 2): Y[:, 1] is (2,)
    Y = X.copy()
    Y[:, 1] *= c
    return np.sum(Y ** 2)


def divided_int(c):  # true division of an int array gives floats
    Y = np.arange(1, 4)
    Y /= c
    return np.sum(Y * c)


def matmul_wider(c):  # Y (2, 2) @ M23 is (2, 3)
    Y = c * 1.0
    Y @= M23
    return np.sum(Y)


def no_axes(c):  # an array of no axes cannot take (3,)
    Y = np.zeros(())
    Y += c
    return np.sum(Y)


def in_a_loop(c):  # c (2, 3), the second trip's Y: (2, 3) again, the first's (3,)
    Y = np.zeros(3)
    for _ in range(2):
        Y += c
    return np.sum(Y * W)


def float_into_int_item_row(c):  # Y[0] of a 2-d int array is an int array: the update itself raises
    Y = np.zeros((2, 3), dtype=int)
    Y[0] += c
    return np.sum(Y * c)


RAISING = [
    (wider, np.full((2, 3), 0.5)),
    (float_into_int, np.full(3, 0.5)),
    (leading_one, np.full((1, 3), 0.5)),
    (column_into_row, np.full(3, 0.5)),
    (row_of_matrix, np.full((1, 3), 0.5)),
    (column_of_matrix, np.full((1, 2), 0.5)),
    (divided_int, np.full(3, 0.5)),
    (matmul_wider, np.full((2, 2), 0.5)),
    (no_axes, np.full(3, 0.5)),
    (in_a_loop, np.full((2, 3), 0.5)),
    (float_into_int_item_row, np.full(3, 0.5)),
]


def _python_error(f, c):
    with pytest.raises(Exception) as info:
        f(c.copy())
    return type(info.value)


@pytest.mark.parametrize("f, c", RAISING, ids=[f.__name__ for f, _ in RAISING])
def test_the_gradient_raises_what_python_raises(f, c):
    expected = _python_error(f, c)
    assert issubclass(expected, ValueError | TypeError)
    with pytest.raises(Exception) as info:
        s2s.grad(f)(c.copy())
    assert type(info.value) is expected, info.value


@pytest.mark.parametrize("f, c", RAISING, ids=[f.__name__ for f, _ in RAISING])
def test_the_compiled_gradient_raises_what_python_raises(f, c):
    pytest.importorskip("numba")
    expected = _python_error(f, c)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (it may run the NumPy code, with a warning)
        with pytest.raises(Exception) as info:
            s2s.grad(f, compile=True)(c.copy())
    assert type(info.value) is expected, info.value


def test_the_error_names_the_users_line():
    with pytest.raises(ValueError) as info:
        s2s.grad(wider)(np.full((2, 3), 0.5))
    notes = "".join(getattr(info.value, "__notes__", []))
    assert "comes from your line" in notes and "Y += c" in notes, notes


# ---- functions that do not raise ----------------------------------------------------------------------------------

def same_shape(c):
    Y = np.zeros(3)
    Y += c
    Y *= c
    return np.sum(Y * W)


def broadcast_into_bigger(c):  # c (3,) into (2, 3)
    Y = np.full((2, 3), 2.0)
    Y += c
    Y *= c[None, :]
    Y -= 2.0 * c
    Y /= 1.0 + c ** 2
    return np.sum(Y ** 2)


def float32_target(c):  # same_kind casting takes float64 into float32
    Y = np.ones(3, dtype=np.float32)
    Y += c
    return np.sum(Y * W)


def int_target_int_value(c):
    Y = np.arange(3)
    Y += np.array([2, 1, 0])
    Y *= 2
    return np.sum(Y * c)


def item_updates(c):  # Y[0] (3,) and Y[:, 1] (2,) take c[:3] and c[3:]
    Y = np.full((2, 3), 2.0)
    Y[0] += c[:3]
    Y[:, 1] *= c[3:]
    Y[1, 2] -= c[0]
    return np.sum(Y ** 2)


def number_target(c):  # a Python float is rebound: `s += c` makes it an array
    s = 0.0
    s += c
    t = np.sum(c)  # a NumPy scalar, rebound too
    t += c
    return np.sum(s * t)


def scalar_loop(x):
    p = 1.0
    s = 0.0
    for k in range(1, 6):
        p *= 1.0 + 0.3 * x / k
        s += x * k
    return p + s


def matmul_square(c):
    Y = c * 1.0
    Y @= M22
    return np.sum(Y ** 2)


def in_a_loop_fits(c):
    Y = np.zeros(3)
    for _ in range(3):
        Y += c
        Y *= 0.5
    return np.sum(Y * W)


FITTING = [
    (same_shape, np.array([0.3, -0.2, 0.7])),
    (broadcast_into_bigger, np.array([0.3, -0.2, 0.7])),
    (float32_target, np.array([0.3, -0.2, 0.7])),
    (int_target_int_value, np.array([0.3, -0.2, 0.7])),
    (item_updates, np.array([0.3, -0.2, 0.7, 1.1, 0.4])),
    (number_target, np.array([0.3, -0.2, 0.7])),
    (scalar_loop, 0.7),
    (matmul_square, np.array([[0.3, -0.2], [0.7, 1.1]])),
    (in_a_loop_fits, np.array([0.3, -0.2, 0.7])),
]


def _expected(f, c):
    if f is float32_target:  # (linear in c: a wide step keeps float32's rounding out of the difference)
        return fd_grad(f, [c], eps=1e-2)
    return fd_grad(f, [c])


@pytest.mark.parametrize("f, c", FITTING, ids=[f.__name__ for f, _ in FITTING])
def test_the_gradient_where_python_does_not_raise(f, c):
    f(np.copy(c))  # (Python takes it)
    assert_close(s2s.grad(f)(np.copy(c)), _expected(f, c), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("f, c", FITTING, ids=[f.__name__ for f, _ in FITTING])
def test_the_compiled_gradient_where_python_does_not_raise(f, c):
    pytest.importorskip("numba")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (it may run the NumPy code, with a warning)
        g = s2s.grad(f, compile=True)(np.copy(c))
    assert_close(g, _expected(f, c), rtol=1e-4, atol=1e-5)


# ---- what the check costs: nothing where the shapes prove it passes -----------------------------------------------

def plain(c):
    Y = np.zeros(3)
    Y += c
    return np.sum(Y * c)


def test_the_specialised_code_has_no_check_where_the_shapes_prove_it_passes():
    c = np.array([0.3, -0.2, 0.7])
    assert "inplace_check" not in s2s.source(s2s.grad(plain), c)
    assert "inplace_check" not in s2s.source(s2s.grad(scalar_loop), 0.7)
    assert "inplace_check" not in s2s.source(s2s.grad(item_updates), np.ones(5))
    assert "inplace_check" not in s2s.source(s2s.grad(broadcast_into_bigger), c)
    assert "inplace_check" in s2s.source(s2s.grad(plain))  # (the code for any shapes checks)
    assert "inplace_check" in s2s.source(s2s.grad(leading_one), np.ones((1, 3)))
    assert "inplace_check" in s2s.source(s2s.grad(float_into_int), c)  # (an int array)


def test_the_code_numba_compiles_has_no_check_where_the_shapes_prove_it_passes():
    pytest.importorskip("numba")
    c = np.array([0.3, -0.2, 0.7])
    assert "inplace_check" not in s2s.source(s2s.grad(plain, compile=True), c)


class _Held:
    W = W


def global_target(c):  # (a class attribute's shape is not known to the specialised code: the check stays, and
    Y = _Held.W * 1.0  # numba compiles it; a global array's is, since stop 49)
    Y *= c
    return np.sum(Y)


def test_a_check_numba_receives_compiles():
    pytest.importorskip("numba")
    c = np.array([0.3, -0.2, 0.7])
    df = s2s.grad(global_target, compile=True)
    assert "inplace_check" in s2s.source(df, c)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no fallback to the NumPy code)
        assert_close(df(c), W)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError):  # (the compiled check falls back, and the NumPy code raises)
            df(np.ones((1, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_close(df(c), W)  # (compiled again for the next call)
