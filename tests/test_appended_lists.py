"""Programs that append real values to a list in a loop and stack it (`states.append(h)`, `np.stack(states)`,
`np.array(energies)`): the stacked value is known real, so its unread loss is not computed and the
adjoints the list's items pass back are added in place (transforms/shapes.py, `Site.items_real`,
`Shapes._list_adjoints`). Each gradient against central differences and autograd, in float64 and float32,
and lists of other items (ints, pairs) right as before.
"""

import numpy as np
import pytest
from helpers_fd import check_all

import s2s


def history_loss(W, U, xs):
    h = np.zeros(W.shape[0])
    states = []
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
        states.append(h)
    S = np.stack(states)
    return np.sum(S[1:] * S[:-1])


def path_energy(x, w):
    energies = []
    p = x
    for _k in range(w.shape[0]):
        p = p - 0.1 * np.sin(p)
        energies.append(np.sum(p * p))
    return np.dot(np.array(energies), w)


def counted_steps(x):
    values = []
    h = x
    for i in range(3):
        h = np.sin(h)
        values.append(h)
        values.append(i)  # an int among the floats: the list is not known real
    return np.sum(np.array(values) ** 2)


def paired_states(x):
    pairs = []
    h = x
    for _i in range(3):
        h = np.cos(h) * 0.9
        pairs.append([h, 2.0 * h])  # lists in the list: np.array makes a matrix, its adjoint gives lists back
    return np.sum(np.array(pairs) ** 3)


def _rnn_args(dtype=np.float64):
    r = np.random.default_rng(7)
    return (0.5 * r.normal(size=(5, 5))).astype(dtype), r.normal(size=(5, 3)).astype(dtype), \
        r.normal(size=(7, 3)).astype(dtype)


def test_stacked_states_give_the_gradient_and_add_in_place():
    args = _rnn_args()
    check_all(history_loss, args, wrt=(0, 1))
    code = s2s.source(s2s.grad(history_loss, wrt=(0, 1)), *args)
    lines = [line for line in code.splitlines() if not line.strip().startswith("#")]
    assert not any("np.sum(" in line or " * t" in line for line in lines), code  # the loss itself is never read
    assert "W_bar += np.outer(" in code and "U_bar += np.outer(" in code, code


def test_float32_states_keep_their_dtype():
    args32 = _rnn_args(np.float32)
    gW, gU = s2s.grad(history_loss, wrt=(0, 1))(*args32)
    assert gW.dtype == gU.dtype == np.float32
    want = s2s.grad(history_loss, wrt=(0, 1))(*(a.astype(np.float64) for a in args32))
    np.testing.assert_allclose(gW, want[0], rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(gU, want[1], rtol=2e-4, atol=2e-5)


def test_appended_numbers_stacked_by_np_array():
    r = np.random.default_rng(3)
    args = (r.normal(size=4), r.normal(size=6))
    check_all(path_energy, args)
    code = s2s.source(s2s.grad(path_energy), *args)
    assert "unbroadcast" not in code and "s2s.add(" not in code and "expand_reduced" not in code, code


@pytest.mark.parametrize("f, x", [(counted_steps, 0.4), (counted_steps, 1.3),
                                  (paired_states, np.linspace(0.1, 0.7, 4))])
def test_lists_of_other_items_stay_right(f, x):
    check_all(f, (x,))


def test_compiled_matches_the_numpy_code():
    pytest.importorskip("numba")
    args = _rnn_args()
    want = s2s.grad(history_loss, wrt=(0, 1))(*args)
    got = s2s.grad(history_loss, wrt=(0, 1), compile="strict")(*args)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
