"""Numbers and arrays a function reads from its module or closure (`X` of `make_loss(X, y)`, a global
`DT = 0.01`) specialise its code as its arguments do (s2s/pipeline.py `_free_data`), and the code is stale
once one holds another type, shape or dtype (frontend.data_fact, cache mode "shape"): each change between
calls gives the gradient of the function as it reads them now, against central differences; and the
printed code has no general helper left where the shapes are known."""

import free_data_programs as programs
import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s

RNG = np.random.default_rng(11)


@pytest.fixture(autouse=True)
def restore_globals():
    saved = (programs.X, programs.DT, programs.STEPS, programs.VOCAB)
    yield
    programs.X, programs.DT, programs.STEPS, programs.VOCAB = saved


def test_a_global_array_specialises_the_code():
    programs.X = RNG.normal(size=(6, 3))
    w = RNG.normal(size=3)
    df = s2s.grad(programs.logistic_global)
    np.testing.assert_allclose(df(w), fd_grad(programs.logistic_global, (w,)), rtol=1e-6, atol=1e-8)
    text = s2s.source(df, w)
    assert "grad_matmul" not in text and "unbroadcast(" not in text and "expand_reduced" not in text


@pytest.mark.parametrize("new", [
    lambda: RNG.normal(size=(8, 3)),                        # another shape
    lambda: RNG.normal(size=(6, 3)).astype(np.float32),     # another dtype
    lambda: np.asfortranarray(RNG.normal(size=(6, 3))),     # another layout: the same facts
    lambda: RNG.normal(size=(6, 3)).tolist(),               # a list now
    lambda: RNG.normal(size=3),                             # one axis: X @ w a number
], ids=["shape", "dtype", "layout", "list", "vector"])
def test_a_global_changed_between_calls(new):
    programs.X = RNG.normal(size=(6, 3))
    w = RNG.normal(size=3)
    df = s2s.grad(programs.logistic_global)
    df(w)
    programs.X = new()
    want = fd_grad(programs.logistic_global, (w,))
    np.testing.assert_allclose(df(w), want, rtol=1e-4 if np.asarray(programs.X).dtype == np.float32 else 1e-6, atol=1e-6)


def test_an_array_resized_in_place():
    X = RNG.normal(size=(6, 3))
    programs.X = X
    w = RNG.normal(size=3)
    df = s2s.grad(programs.logistic_global)
    df(w)
    X.resize((4, 3), refcheck=False)
    np.testing.assert_allclose(df(w), fd_grad(programs.logistic_global, (w,)), rtol=1e-6, atol=1e-8)


def test_global_numbers_change_type():
    w = RNG.normal(size=3)
    programs.X = RNG.normal(size=(6, 3))
    df = s2s.grad(programs.logistic_global)
    df(w)
    for dt in (2, np.float32(0.25), np.float64(0.5), True, 0.3):
        programs.DT = dt
        np.testing.assert_allclose(df(w), fd_grad(programs.logistic_global, (w,)), rtol=1e-5, atol=1e-7)


def test_an_int_global_trip_count():
    programs.X = RNG.normal(size=(2, 3)) * 0.3
    x0 = RNG.normal(size=5)
    df = s2s.grad(programs.euler_global)
    for steps in (4, 0, 7):
        programs.STEPS = steps
        np.testing.assert_allclose(df(x0), fd_grad(programs.euler_global, (x0,)), rtol=1e-6, atol=1e-8)


def test_closures_of_one_factory_with_other_shapes():
    w = RNG.normal(size=3)
    for n in (4, 9, 4):
        loss = programs.make_loss(RNG.normal(size=(n, 3)), RNG.normal(size=n), 0.5)
        df = s2s.grad(loss)
        np.testing.assert_allclose(df(w), fd_grad(loss, (w,)), rtol=1e-6, atol=1e-8)
        assert "grad_matmul" not in s2s.source(df, w)


def test_a_closure_cell_rebound():
    w = RNG.normal(size=3)
    loss = programs.make_loss(RNG.normal(size=(4, 3)), RNG.normal(size=4), 0.5)
    df = s2s.grad(loss)
    df(w)
    cells = dict(zip(loss.__code__.co_freevars, loss.__closure__))
    cells["A"].cell_contents = RNG.normal(size=(7, 3))
    cells["y"].cell_contents = RNG.normal(size=7)
    np.testing.assert_allclose(df(w), fd_grad(loss, (w,)), rtol=1e-6, atol=1e-8)
    cells["c"].cell_contents = np.float32(2.0)
    np.testing.assert_allclose(df(w), fd_grad(loss, (w,)), rtol=1e-5, atol=1e-6)


def test_a_global_that_grows_every_call_stops_being_specialised():
    w = RNG.normal(size=3)
    df = s2s.grad(programs.logistic_global)
    for n in range(2, 40):
        programs.X = RNG.normal(size=(n, 3))
        np.testing.assert_allclose(df(w), fd_grad(programs.logistic_global, (w,)), rtol=1e-6, atol=1e-8)
    assert "grad_matmul" in s2s.source(df, w)  # (past the limit: code for any shape)


def test_reading_the_shape_of_a_free_array_keeps_the_code():
    """`X.shape[0]` of a global or closure array: the shape, a new tuple at each access, is compared by value, not
    identity (the code was made again at every call, 20 ms each: helper 153)."""
    import linecache
    w = RNG.normal(size=3)
    programs.X = RNG.normal(size=(6, 3))
    for f in (programs.mean_over_rows, programs.make_mean_over_rows(RNG.normal(size=(5, 3)))):
        df = s2s.grad(f)
        df(w)
        made = sum(1 for k in linecache.cache if k.startswith("<s2s "))
        for _ in range(3):
            np.testing.assert_allclose(df(w), fd_grad(f, (w,)), rtol=1e-6, atol=1e-8)
        assert sum(1 for k in linecache.cache if k.startswith("<s2s ")) == made
    programs.X = RNG.normal(size=(4, 3))  # (another shape: made again, and right)
    np.testing.assert_allclose(s2s.grad(programs.mean_over_rows)(w), fd_grad(programs.mean_over_rows, (w,)),
                               rtol=1e-6, atol=1e-8)


def test_free_ints_are_read_as_the_ints_they_are():
    """A global int used as a size or a trip count (`np.zeros(VOCAB)`, `range(STEPS)`) is read as its value, the
    code made again once it holds another (helper 153: `np.zeros(vocab)` had no shape, and every adjoint of the
    loop stayed general); past 16 values, read as a number again."""
    W, idx = RNG.normal(size=(4, 9)) * 0.5, np.array([0, 3, 1, 4, 2, 0, 1, 3])
    df = s2s.grad(programs.one_hot_rnn)
    programs.STEPS, programs.VOCAB = 3, 5
    np.testing.assert_allclose(df(W, idx), fd_grad(programs.one_hot_rnn, (W, idx)), rtol=1e-6, atol=1e-8)
    text = s2s.source(df, W, idx)
    assert "np.zeros(5)" in text and "range(3)" in text and "unbroadcast(" not in text
    for steps, vocab in [(4, 5), (4, 6), (2, 9)] + [(k % 7 + 1, 5) for k in range(20)]:
        programs.STEPS, programs.VOCAB = steps, vocab
        np.testing.assert_allclose(df(W, idx), fd_grad(programs.one_hot_rnn, (W, idx)), rtol=1e-6, atol=1e-8)
