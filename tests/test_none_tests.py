"""Values initialised to None before a loop and tested with `is None` / `is not None` (issue 16): the shape facts
follow each branch (transforms/shapes.py `NoneOr`), a test they decide is folded (specialize.fold_known_tests),
and the specialised path stays. Each program is checked against central differences, autograd and the general
code."""

import numpy as np
import pytest
from helpers_fd import check_all_and_general

import s2s
from s2s import pipeline  # noqa: F401  (installs the context the shape tests below need)


def _code(src):
    return "\n".join(line for line in src.splitlines() if not line.strip().startswith("#"))


def smooth_frames(Y, a):
    prev = None
    loss = 0.0
    for t in range(Y.shape[0]):
        cur = np.tanh(a * Y[t])
        if prev is not None:
            loss = loss + np.sum((cur - prev) ** 2)
        prev = cur
    return loss


def lazy_state(W, xs):
    h = None
    for x in xs:
        if h is None:
            h = np.zeros(W.shape[0])
        h = np.tanh(W @ h + x)
    return np.sum(h * h)


def running_best(x):
    best = None
    total = 0.0
    for i in range(x.shape[0]):
        s = np.sin(x[i]) * x[i]
        if best is None or s > best:
            best = s
        total = total + s * best
    return total


def checked_shapes(W, X):
    if X.shape[1] != W.shape[0]:
        raise ValueError(f"X has {X.shape[1]} columns, W {W.shape[0]} rows")
    return np.sum(np.tanh(X @ W) ** 2)


def none_or_given(x, scale=None):
    if scale is None:
        scale = np.ones(x.shape[0])
    return np.sum(np.sin(x * scale))


def test_a_state_none_before_its_loop_keeps_the_specialised_path():
    """(was 2.0x its hand gradient: `prev = None` made every shape of the loop unknown, five unbroadcasts and an
    expand_reduced per trip, and the loss computed and pushed though the gradient does not read it)"""
    r = np.random.default_rng(0)
    args = (r.normal(size=(7, 4)), 0.8)
    src = _code(s2s.source(s2s.grad(smooth_frames, wrt=(0, 1)), *args))
    assert "unbroadcast" not in src and "expand_reduced" not in src and "is not None" not in src, src
    assert "np.sum(t" not in src, src  # (the loss: not computed)
    check_all_and_general(smooth_frames, args, wrt=(0, 1))
    one = (r.normal(size=(1, 4)), 0.8)  # one frame: no term, a zero gradient
    np.testing.assert_array_equal(s2s.grad(smooth_frames, wrt=(0, 1))(*one)[0], np.zeros((1, 4)))
    check_all_and_general(smooth_frames, (r.normal(size=(2, 3)), -1.3), wrt=(0, 1))


def test_a_state_made_on_the_first_trip_keeps_the_specialised_path():
    r = np.random.default_rng(1)
    args = (r.normal(size=(3, 3)) * 0.5, r.normal(size=(5, 3)))
    src = _code(s2s.source(s2s.grad(lazy_state, wrt=(0, 1)), *args))
    assert "unbroadcast" not in src and "is None" not in src, src
    check_all_and_general(lazy_state, args, wrt=(0, 1))


def test_a_none_test_among_others_is_right():
    """`best is None or s > best`: not folded (the facts know best only as None or a number), right."""
    x = np.random.default_rng(2).normal(size=6)
    check_all_and_general(running_best, (x,))
    check_all_and_general(running_best, (x[:1],))


def test_a_check_of_the_arguments_shapes_goes_and_compiles():
    """`X.shape[1] != W.shape[0]` of known shapes is False: the check and its f-string go (the compiled path fell
    back on the f-string), and the error still comes for arguments that fail it."""
    import warnings

    from s2s import compiled
    r = np.random.default_rng(3)
    W, X = r.normal(size=(3, 2)), r.normal(size=(4, 3))
    src = _code(s2s.source(s2s.grad(checked_shapes), W, X))
    assert "raise" not in src and "!=" not in src, src
    check_all_and_general(checked_shapes, (W, X), wrt=(0, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        got = s2s.grad(checked_shapes, compile="strict")(W, X)
    np.testing.assert_allclose(got, s2s.grad(checked_shapes)(W, X), rtol=1e-12)
    with pytest.raises(ValueError, match="X has 2 columns, W 3 rows"):
        s2s.grad(checked_shapes)(W, X[:, :2])


def test_a_default_none_replaced_in_the_function():
    x = np.random.default_rng(4).normal(size=5)
    check_all_and_general(none_or_given, (x,))
    check_all_and_general(none_or_given, (x, np.linspace(0.5, 1.5, 5)), wrt=(0, 1))


def ema_with_none(x, alpha):
    """The state and the loss both None before the loop, each set on the first trip (performance review h134)."""
    m = None
    loss = None
    for t in range(x.shape[0]):
        if m is None:
            m = x[t]
        else:
            m = alpha * x[t] + (1 - alpha) * m
        term = m @ m
        loss = term if loss is None else loss + term
    return loss


def ema_default_none(x, alpha, beta=None):
    if beta is None:
        beta = 1.0 - alpha
    m = x[0]
    loss = m @ m
    for t in range(1, x.shape[0]):
        m = alpha * x[t] + beta * m
        loss = loss + m @ m
    return loss


def window_or_all(x, n=None):
    """None read as None: `x[:n]` is all of x."""
    s = 0.0
    for k in range(2):
        s = s + np.sum(np.sin(x[:n]) * (k + 1))
    return s


def test_tests_that_always_take_one_branch_after_the_first_trip_go():
    """After the first trip (written out), `m is None` and `loss is None` are False on every trip: the flags the
    lowering binds (`cond = False`, saved on the tape and restored in the backward sweep) take one branch in both
    sweeps, and a restore of `m` has the shape `m` had where it was saved. Before stop 45 every adjoint of the
    loop stayed general (442 against 900 us on 50 x 8; the same loop written without None: 238)."""
    r = np.random.default_rng(5)
    args = (r.normal(size=(6, 4)), 0.3)
    src = _code(s2s.source(s2s.grad(ema_with_none, wrt=(0, 1)), *args))
    assert "if cond" not in src and "unbroadcast" not in src and "s2s.add" not in src, src
    assert "np.sum(" not in src and "m_bar @ m" in src, src  # (m real: its None is never read as a value)
    check_all_and_general(ema_with_none, args, wrt=(0, 1))
    check_all_and_general(ema_with_none, (args[0][:1], 0.3), wrt=(0, 1))


@pytest.mark.parametrize("beta", [(), (0.6,), (None,)])
def test_a_none_argument_is_a_fact_and_compiles(beta):
    """A None given or left to its default is known to be None: `if beta is None:` takes its branch in the code
    made for it (a call passing a number has code of its own), and compiled code takes it (it fell back:
    "cannot take a NoneType as an argument")."""
    import warnings

    from s2s import compiled
    r = np.random.default_rng(6)
    args = (r.normal(size=(5, 3)), 0.3, *beta)
    if not beta or beta[0] is None:
        src = _code(s2s.source(s2s.grad(ema_default_none, wrt=(0, 1)), *args))
        assert "is None" not in src and "np.sum(" not in src, src  # (beta, bound again to a float, is real)
    check_all_and_general(ema_default_none, args, wrt=(0, 1))
    df = s2s.grad(ema_default_none, wrt=(0, 1), compile="strict")
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        for _ in range(2):  # (the second call: the hot code)
            for got, want in zip(df(*args), s2s.grad(ema_default_none, wrt=(0, 1))(*args)):
                np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("n", [(), (None,), (2,)])
def test_a_none_argument_read_as_none(n):
    x = np.random.default_rng(7).normal(size=5)
    check_all_and_general(window_or_all, (x, *n))
    import warnings

    from s2s import compiled
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", compiled.CompiledFallbackWarning)
        got = s2s.grad(window_or_all, compile="always")(x, *n)
    np.testing.assert_allclose(got, s2s.grad(window_or_all)(x, *n), rtol=1e-12)


def flag_argument_reset_in_the_loop(x, use):
    s = 0.0
    for t in range(3):
        if use:
            s = s + np.sin(x) * (t + 1)
        else:
            s = s + x * x
        use = False  # (every binding in the body is False, but the argument's truth is the caller's)
    return s


@pytest.mark.parametrize("use", [True, False])
def test_a_flag_argument_bound_to_one_constant_in_the_loop_is_not_folded(use):
    check_all_and_general(flag_argument_reset_in_the_loop, (0.7, use), use_autograd=False)
