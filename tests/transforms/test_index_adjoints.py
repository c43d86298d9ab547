"""Unit tests of transforms/index_adjoints.py on small functions: input source -> expected output source,
and the same numbers before and after (the rewrite accumulates in place what `getitem_grad` adds up)."""

import ast
import builtins
import textwrap

import numpy as np
import pytest
from s2s.transforms.index_adjoints import accumulate_index_adjoints
from s2s.transforms.specialize import Context

from s2s import pipeline, runtime  # noqa: F401  (pipeline installs the context the shape inference reads)

NAMES = {"np": np, "s2s": runtime, "unbroadcast": runtime.unbroadcast}


def _rewrite(src, **shapes):
    """`src`'s function after the pass, for float64 parameters of the given shapes (P_bar the adjoint)."""
    fdef = ast.parse(textwrap.dedent(src)).body[0]
    ctx = Context(shapes, lambda n: NAMES.get(n, getattr(builtins, n, None)), "np", {p: "d" for p in shapes})
    return ast.unparse(accumulate_index_adjoints(fdef, ctx.shapes(fdef), {"P_bar"}, "np"))


def _run(text, args):
    namespace = dict(NAMES)
    exec(compile(text, "<test>", "exec"), namespace)
    return namespace["f"](*args)


def _check(src, expected, args):
    params = [a.arg for a in ast.parse(textwrap.dedent(src)).body[0].args.args]
    got = _rewrite(src, **{name: np.shape(a) for name, a in zip(params, args)})
    assert got == textwrap.dedent(expected).strip(), got
    np.testing.assert_allclose(_run(got, args), _run(textwrap.dedent(src), args), rtol=0, atol=0)


rng = np.random.default_rng(14)
P = rng.normal(size=(3, 2))


def test_an_int_index_in_a_loop_is_added_in_place():
    _check("""
        def f(P, t_bar):
            P_bar = 0.0
            for i in range(3):
                P_bar = s2s.add(P_bar, s2s.getitem_grad(t_bar * i, P, i))
            return P_bar
        """, """
        def f(P, t_bar):
            P_bar = np.zeros((3, 2))
            for i in range(3):
                P_bar[i] += t_bar * i
            return P_bar
        """, (P, rng.normal(size=2)))


def test_a_new_array_of_the_argument_s_shape_takes_the_steps_in_place():
    """`P_bar = 0.2 * P` before the loop (the adjoint of a term on the whole of P, met first in the backward sweep):
    arithmetic makes a new array, which no other name holds, so the rows' adjoints go into it in place (they went
    through getitem_grad's dense array of P's shape per step: a cost that grew as T squared; helper 130)."""
    _check("""
        def f(P, t_bar):
            P_bar = 0.2 * P
            for i in range(3):
                P_bar = s2s.add(P_bar, s2s.getitem_grad(t_bar * i, P, i))
            return P_bar
        """, """
        def f(P, t_bar):
            P_bar = 0.2 * P
            for i in range(3):
                P_bar[i] += t_bar * i
            return P_bar
        """, (P, rng.normal(size=2)))


def test_a_read_after_the_last_step_sees_the_whole_array():
    # `X_bar = s2s.grad_iterated(seq_bar, X)` after a loop over the rows of X
    _check("""
        def f(P, t_bar):
            P_bar = 0.0
            for i in range(3):
                P_bar = s2s.add(P_bar, s2s.getitem_grad(t_bar * i, P, i))
            y = P_bar * 2.0
            return (P_bar, y)
        """, """
        def f(P, t_bar):
            P_bar = np.zeros((3, 2))
            for i in range(3):
                P_bar[i] += t_bar * i
            y = P_bar * 2.0
            return (P_bar, y)
        """, (P, rng.normal(size=2)))


def test_a_fancy_index_goes_through_add_at_and_repeats_add_up():
    _check("""
        def f(P, t_bar):
            P_bar = 0.0
            P_bar = s2s.add(P_bar, s2s.getitem_grad(t_bar, P, [0, 2, 0]))
            P_bar = P_bar + P * 2.0
            return P_bar
        """, """
        def f(P, t_bar):
            P_bar = np.zeros((3, 2))
            np.add.at(P_bar, [0, 2, 0], t_bar)
            P_bar += P * 2.0
            return P_bar
        """, (P, rng.normal(size=(3, 2))))


@pytest.mark.parametrize("src, shapes", [
    # P_bar held by `y` between two steps: updated in place, y would see the second step
    ("""
    def f(P, t_bar):
        P_bar = 0.0
        P_bar = s2s.add(P_bar, s2s.getitem_grad(t_bar, P, 1))
        y = P_bar
        P_bar = s2s.add(P_bar, s2s.getitem_grad(t_bar, P, 0))
        return (P_bar, y)
    """, {"P": (3, 2), "t_bar": (2,)}),
    # ... and read inside the loop that holds the steps
    ("""
    def f(P, t_bar):
        P_bar = 0.0
        for i in range(3):
            P_bar = s2s.add(P_bar, s2s.getitem_grad(t_bar, P, i))
            t_bar = t_bar + P_bar[0]
        return P_bar
    """, {"P": (3, 2), "t_bar": (2,)}),
    # P a number: no array to index
    ("""
    def f(P, t_bar):
        P_bar = 0.0
        P_bar = s2s.add(P_bar, s2s.getitem_grad(t_bar, P, 1))
        return P_bar
    """, {"P": (), "t_bar": ()}),
    # a complex literal: a complex adjoint would not fit a float64 array
    ("""
    def f(P, t_bar):
        P_bar = 0.0
        P_bar = s2s.add(P_bar, s2s.getitem_grad(t_bar * 1j, P, 1))
        return P_bar
    """, {"P": (3, 2), "t_bar": (2,)}),
    # an accumulation of something of another shape than P's
    ("""
    def f(P, t_bar):
        P_bar = 0.0
        P_bar = s2s.add(P_bar, s2s.getitem_grad(t_bar, P, 1))
        P_bar = P_bar + t_bar
        return P_bar
    """, {"P": (3, 2), "t_bar": (2,)}),
    # P_bar not starting as the literal zero or a new array: P itself
    ("""
    def f(P, t_bar):
        P_bar = P
        P_bar = s2s.add(P_bar, s2s.getitem_grad(t_bar, P, 1))
        return P_bar
    """, {"P": (3, 2), "t_bar": (2,)}),
    # a new array, but of another shape (broadcast later)
    ("""
    def f(P, t_bar):
        P_bar = 2.0 * t_bar
        P_bar = s2s.add(P_bar, s2s.getitem_grad(t_bar, P, 1))
        return P_bar
    """, {"P": (3, 2), "t_bar": (2,)}),
    # a new array of P's shape that another name reads before the steps (it would see them)
    ("""
    def f(P, t_bar):
        P_bar = 2.0 * P
        Q = P_bar
        for i in range(3):
            P_bar = s2s.add(P_bar, s2s.getitem_grad(t_bar, P, i))
        return (P_bar, Q)
    """, {"P": (3, 2), "t_bar": (2,)}),
    # a new array made after the steps
    ("""
    def f(P, t_bar):
        for i in range(3):
            P_bar = s2s.add(P_bar, s2s.getitem_grad(t_bar, P, i))
        P_bar = 2.0 * P
        return P_bar
    """, {"P": (3, 2), "t_bar": (2,)}),
])
def test_left_alone_where_in_place_may_not_be_the_same(src, shapes):
    assert _rewrite(src, **shapes) == textwrap.dedent(src).strip()


def test_an_index_adjoint_goes_into_a_new_array_read_only_before():
    # (the multiclass SVM's adjoint of S read elementwise and by (np.arange(n), y): each position once)
    S, g, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), np.array([2, 0, 2, 1])
    _check_kinds("""
        def f(S, g, y):
            r = np.arange(4)
            A = g * (S > 0.0)
            c = -np.sum(A, axis=1)
            X = A + s2s.getitem_grad(c, S, (r, y))
            return X
        """, """
        def f(S, g, y):
            r = np.arange(4)
            A = g * (S > 0.0)
            c = -np.sum(A, axis=1)
            A[r, y] += c
            X = A
            return X
        """, (S, g, y), {"S": "d", "g": "d", "y": "l"})


def _check_kinds(src, expected, args, kinds):
    fdef = ast.parse(textwrap.dedent(src)).body[0]
    shapes = {name: np.shape(a) for name, a in zip(kinds, args)}
    ctx = Context(shapes, lambda n: NAMES.get(n, getattr(builtins, n, None)), "np", kinds)
    got = ast.unparse(accumulate_index_adjoints(fdef, ctx.shapes(fdef), set(), "np"))
    assert got == textwrap.dedent(expected).strip(), got
    np.testing.assert_allclose(_run(got, args), _run(textwrap.dedent(src), args), rtol=0, atol=0)


@pytest.mark.parametrize("src", [
    # A read after the statement: it would see the items added
    """
    def f(S, g, y):
        r = np.arange(4)
        A = g * 2.0
        X = A + s2s.getitem_grad(g[:, 0], S, (r, y))
        return (X, A)
    """,
    # A held by another name
    """
    def f(S, g, y):
        r = np.arange(4)
        A = g * 2.0
        B = A
        X = A + s2s.getitem_grad(g[:, 0], S, (r, y))
        return (X, B)
    """,
    # positions that may repeat (no arange among the index arrays)
    """
    def f(S, g, y):
        A = g * 2.0
        X = A + s2s.getitem_grad(g[:, 0], S, (y, y))
        return X
    """,
    # A a parameter's array, not a new one
    """
    def f(S, g, y):
        r = np.arange(4)
        X = g + s2s.getitem_grad(g[:, 0], S, (r, y))
        return X
    """,
])
def test_an_index_adjoint_stays_out_of_arrays_others_see(src):
    fdef = ast.parse(textwrap.dedent(src)).body[0]
    ctx = Context({"S": (4, 3), "g": (4, 3), "y": (4,)}, lambda n: NAMES.get(n, getattr(builtins, n, None)), "np",
                  {"S": "d", "g": "d", "y": "l"})
    out = ast.unparse(accumulate_index_adjoints(fdef, ctx.shapes(fdef), set(), "np"))
    assert "getitem_grad" in out and "+=" not in out and "add.at" not in out, out


def sliced_gates(W, xs):
    h = np.zeros(W.shape[0] // 2)
    total = 0.0
    for t in range(xs.shape[0]):
        z = W @ h + xs[t]
        h = np.tanh(z[:3]) * np.cos(z[3:])
        total = total + np.sum(h * h)
    return total


def test_a_value_read_only_through_its_index_adjoints_leaves_the_tape():
    """(`z_bar[:3] += ...` written in place reads no `z`: its pushes went only where the tape pass ran again;
    an LSTM's gate vector `g` was taped every step and never read back, helper 137's review)"""
    import s2s
    from tests.helpers_fd import check_all

    r = np.random.default_rng(8)
    args = (r.normal(size=(6, 3)) * 0.5, r.normal(size=(5, 6)))
    check_all(sliced_gates, args, wrt=(0, 1))
    src = s2s.source(s2s.grad(sliced_gates, wrt=(0, 1)), *args)
    tape = [line for line in src.splitlines() if "saved.append" in line]
    assert tape and all("z," not in line and "z)" not in line for line in tape), src
