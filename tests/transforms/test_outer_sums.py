"""transforms/outer_sums.py (a loop's sum of outer products as one product after the loop): the rewrite,
where the alias proof blocks it, and gradients against central differences, autograd and the code
without it."""

from __future__ import annotations

import ast
import builtins
import os
import sys
import textwrap

import numpy as np
import pytest
from s2s.transforms.outer_sums import batch_outer_sums
from s2s.transforms.specialize import Context

import s2s
from tests.helpers_fd import check_all
from tests.plain_code import plain_gradient

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "benchmarks"))
from ordinary_kinds import rnn_stacked as rnn  # noqa: E402 - the benchmark's RNN, its states stacked


def _rewritten(text, shapes_of):
    """`text`'s function after the rewrite, with its parameters of the given shapes (float64)."""
    fdef = ast.parse(textwrap.dedent(text)).body[0]
    context = Context(shapes_of, lambda n: {"np": np}.get(n, getattr(builtins, n, None)), "np",
                      {p: "d" for p in shapes_of})
    changed = batch_outer_sums(fdef, context.shapes(fdef), "np")
    return changed, fdef


def _run(fdef, *args):
    ns = {"np": np}
    exec(compile(ast.Module([fdef], []), "<test>", "exec"), ns)
    return ns[fdef.name](*args)


SUM_OF_VIEWS = """
    def g(xs, ys):
        A = 0.0
        b = np.zeros(3)
        for t in range(4):
            v = xs[t]
            w = ys[t] * 2.0
            b += v
            A += np.outer(w, v)
        return A, b
"""


def test_the_sum_goes_after_the_loop_as_one_product():
    changed, fdef = _rewritten(SUM_OF_VIEWS, {"xs": (4, 3), "ys": (4, 2)})
    text = ast.unparse(fdef)
    assert changed, text
    assert "np.outer" not in text and "rows_w.append(w)" in text and "rows_v.append(v)" in text, text
    assert "A += w_columns @ np.stack(rows_v)" in text, text
    r = np.random.default_rng(0)
    xs, ys = r.normal(size=(4, 3)), r.normal(size=(4, 2))
    A, b = _run(fdef, xs, ys)
    np.testing.assert_allclose(A, sum(np.outer(2.0 * ys[t], xs[t]) for t in range(4)), rtol=1e-13)
    np.testing.assert_allclose(b, xs.sum(axis=0), rtol=1e-13)


BLOCKED = {
    "the vector's array is changed in place later in the loop": """
        def g(xs, ys):
            A = 0.0
            buf = np.zeros(3)
            for t in range(4):
                v = buf
                w = ys[t] * 2.0
                A += np.outer(w, v)
                buf += xs[t]
            return A
    """,
    "changed in place through a view of it": """
        def g(xs, ys):
            A = 0.0
            buf = np.zeros((2, 3))
            for t in range(4):
                v = buf[0]
                w = ys[t] * 2.0
                A += np.outer(w, v)
                buf[0, 1] += xs[t, 1]
            return A
    """,
    "changed in place through a list that holds it": """
        def g(xs, ys):
            A = 0.0
            buf = np.zeros(3)
            held = [buf]
            for t in range(4):
                v = held[0]
                w = ys[t] * 2.0
                A += np.outer(w, v)
                buf += xs[t]
            return A
    """,
    "changed in place under another name": """
        def g(xs, ys):
            A = 0.0
            buf = np.zeros(3)
            for t in range(4):
                v = buf
                other = v
                w = ys[t] * 2.0
                A += np.outer(w, v)
                other *= 0.5
                other += xs[t]
            return A
    """,
    "changed in place by out=": """
        def g(xs, ys):
            A = 0.0
            buf = np.zeros(3)
            for t in range(4):
                v = buf
                w = ys[t] * 2.0
                A += np.outer(w, v)
                np.add(buf, xs[t], out=buf)
            return A
    """,
    "changed in place by np.copyto": """
        def g(xs, ys):
            A = 0.0
            buf = np.zeros(3)
            for t in range(4):
                v = buf
                w = ys[t] * 2.0
                A += np.outer(w, v)
                np.copyto(buf, xs[t])
            return A
    """,
    "the vector is a view of the sum itself": """
        def g(xs, ys):
            A = np.zeros((2, 3))
            v = A[0]
            for t in range(4):
                w = ys[t] * 2.0
                A += np.outer(w, v)
            return A
    """,
    "the vector may be a view einsum gives": """
        def g(xs, ys):
            A = 0.0
            M = np.zeros((3, 3))
            for t in range(4):
                v = np.einsum("ii->i", M)
                w = ys[t] * 2.0
                A += np.outer(w, v)
                M += np.outer(xs[t], xs[t])
            return A
    """,
    "a call of the user's that may change its argument": """
        def g(xs, ys):
            A = 0.0
            for t in range(4):
                v = xs[t] * 1.0
                w = ys[t] * 2.0
                A += np.outer(w, v)
                helper(v)
            return A
    """,
    "the loop reads its partial sums": """
        def g(xs, ys):
            A = 0.0
            s = 0.0
            for t in range(4):
                v = xs[t] * 1.0
                w = ys[t] * 2.0
                A += np.outer(w, v)
                s = s + np.sum(A)
            return A, s
    """,
    "a trip may stop early": """
        def g(xs, ys):
            A = 0.0
            for t in range(4):
                v = xs[t] * 1.0
                w = ys[t] * 2.0
                if t == 2:
                    break
                A += np.outer(w, v)
            return A
    """,
}


@pytest.mark.parametrize("why", sorted(BLOCKED))
def test_left_as_it_is(why):
    changed, fdef = _rewritten(BLOCKED[why], {"xs": (4, 3), "ys": (4, 2)})
    assert not changed, ast.unparse(fdef)


def test_a_vector_bound_again_between_two_sums_gets_a_list_per_value():
    changed, fdef = _rewritten("""
        def g(xs, ys):
            A = 0.0
            B = 0.0
            for t in range(4):
                v = xs[t] * 1.0
                w = ys[t] * 2.0
                A += np.outer(w, v)
                v = v * v
                B += np.outer(w, v)
            return A, B
    """, {"xs": (4, 3), "ys": (4, 2)})
    text = ast.unparse(fdef)
    # (B's sum reads another value of v: a list of its own, appended after v is bound again; it was left in the
    # loop before stop 45, as an RNN's U adjoint, which reads h after the backward trip restores it)
    assert changed and text.count("np.outer") == 0 and text.count(".append(v)") == 2, text
    r = np.random.default_rng(1)
    xs, ys = r.normal(size=(4, 3)), r.normal(size=(4, 2))
    A, B = _run(fdef, xs, ys)
    np.testing.assert_allclose(A, sum(np.outer(2.0 * ys[t], xs[t]) for t in range(4)), rtol=1e-13)
    np.testing.assert_allclose(B, sum(np.outer(2.0 * ys[t], xs[t] ** 2) for t in range(4)), rtol=1e-13)


# ---- gradients of programs whose code gets the rewrite ----------------------------------------------

def _step(W, U, x, h):
    h = np.tanh(W @ x + U @ h)
    return h, np.sum(h)


def rnn_step_helper(W, U, xs):
    h = np.zeros(W.shape[0])
    total = 0.0
    for t in range(len(xs)):
        h, y = _step(W, U, xs[t], h)
        total = total + y * y
    return total


def state_updated_in_place(W, xs):
    h = np.zeros(W.shape[1])
    total = 0.0
    for t in range(xs.shape[0]):
        h[0] = xs[t, 0]
        h[1:] = 0.5 * h[1:] + xs[t, 1:]
        total = total + np.sum(np.tanh(W @ h))
    return total


def gram_sum(xs, A):
    S = np.zeros((A.shape[0], A.shape[0]))
    for t in range(xs.shape[0]):
        v = np.tanh(A @ xs[t])
        S = S + np.outer(v, v)
    return np.sum(S * S)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def gru(Wz, Uz, Wh, Uh, xs):
    h = np.zeros(Uz.shape[0])
    for x in xs:
        z = _sigmoid(Wz @ x + Uz @ h)
        hc = np.tanh(Wh @ x + Uh @ (z * h))
        h = (1 - z) * h + z * hc
    return np.sum(h ** 2)


def _field(x, W, gam):
    return np.tanh(W @ x) - gam * x


def rk2_fit(W, gam, x0, targets):
    x = x0
    loss = 0.0
    for i in range(targets.shape[0]):
        k1 = _field(x, W, gam)
        k2 = _field(x + 0.05 * k1, W, gam)
        x = x + 0.05 * (k1 + k2)
        loss = loss + np.sum((x - targets[i]) ** 2)
    return loss


def _rnn_args(r, T=5, n=4, d=3, dtype=np.float64):
    return [a.astype(dtype) for a in (r.normal(size=(n, d)) * 0.5, r.normal(size=(n, n)) * 0.4,
                                      r.normal(size=n) * 0.1, r.normal(size=(T, d)))]


CASES = {
    "rnn": (rnn, _rnn_args(np.random.default_rng(2)), (0, 1, 2, 3)),
    "rnn with a step helper": (rnn_step_helper, [a for i, a in enumerate(_rnn_args(np.random.default_rng(3)))
                                                 if i != 2], (0, 1, 2)),
    "state updated in place": (state_updated_in_place, [np.random.default_rng(4).normal(size=(3, 4)),
                                                        np.random.default_rng(5).normal(size=(6, 4))], (0, 1)),
    "gru": (gru, [np.random.default_rng(9).normal(size=s) * 0.5 for s in ((4, 3), (4, 4), (4, 3), (4, 4), (6, 3))],
            (0, 1, 2, 3)),
    "rk2": (rk2_fit, [np.random.default_rng(10).normal(size=(4, 4)) * 0.5, np.full(4, 0.3),
                      np.random.default_rng(11).normal(size=4), np.random.default_rng(12).normal(size=(6, 4))], (0, 1, 2)),
    "gram sum": (gram_sum, [np.random.default_rng(6).normal(size=(5, 3)),
                            np.random.default_rng(7).normal(size=(4, 3)) * 0.5], (0, 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients(name):
    f, args, wrt = CASES[name]
    got = check_all(f, args, wrt=wrt, use_autograd=name != "state updated in place")  # (autograd: no h[0] = ...)
    for g, w in zip(got, plain_gradient(f, args, wrt)):
        assert type(g) is type(w) and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_the_rnn_code_sums_its_outer_products_after_the_loop():
    src = s2s.source(s2s.grad(rnn, wrt=(0, 1, 2)), *CASES["rnn"][1])
    assert "np.outer" not in src and src.count("@ np.stack(rows_") == 2, src


def test_the_gru_sums_every_weight_s_outer_products_after_the_loop():
    """(the candidate's adjoint is scaled in place by tanh's slope, then named again: Wh's and Uh's products were
    left in the loop before stop 46)"""
    src = s2s.source(s2s.grad(gru, wrt=(0, 1, 2, 3)), *CASES["gru"][1])
    assert "np.outer" not in src and src.count("@ np.stack(rows_") == 4, src


def test_two_sums_into_one_total_both_go_after_the_loop():
    """(an RK step's stages each add an outer product into W_bar: the name's four mentions are all sums, none a
    read of a partial sum; before stop 46 each sum counted the others' mentions and stayed in the loop)"""
    src = s2s.source(s2s.grad(rk2_fit, wrt=(0, 1, 2)), *CASES["rk2"][1])
    assert "np.outer" not in src and src.count("W_bar += ") == 2, src


def test_a_state_changed_in_place_is_taped_as_copies_and_listed_too():
    # (the forward loop's `h[0] = ...` copies h where the backward sweep reads earlier values: the tape's arrays
    # are never changed, and the backward loop changes only its own adjoint arrays)
    src = s2s.source(s2s.grad(state_updated_in_place, wrt=(0, 1)), *CASES["state updated in place"][1])
    assert "np.outer" not in src and "rows_h.append(h)" in src, src


def test_float32_gradients_stay_float32():
    args = _rnn_args(np.random.default_rng(8), dtype=np.float32)
    got = s2s.grad(rnn, wrt=(0, 1))(*args)
    wide = s2s.grad(rnn, wrt=(0, 1))(*[a.astype(np.float64) for a in args])
    for g, w in zip(got, wide):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=2e-4, atol=1e-5)


def test_no_trips_leave_the_sum_zero():
    W, U, b, xs = _rnn_args(np.random.default_rng(9))
    g = s2s.grad(rnn_step_helper, wrt=(0, 1))
    g(W, U, xs)  # (made for these shapes first, then called with no steps)
    gW, gU = g(W, U, xs[:0])
    assert np.all(gW == 0.0) and np.all(gU == 0.0)


FILLED_IN_THE_TRIP = """
    def g(xs, ys):
        A = 0.0
        b = 0.0
        for t in range(4):
            z = np.zeros(5)
            z[:2] += ys[t] * 2.0
            z[2:] -= xs[t][:3]
            b += z
            v = xs[t] * 1.0
            A += np.outer(z, v)
            CHANGE_AFTER
        return A, b
"""


def _filled_want(xs, ys, after=False):
    A, b = np.zeros((5, 4)), np.zeros(5)
    for t in range(4):
        z = np.concatenate([ys[t] * 2.0, -xs[t][:3]])
        b = b + z
        A += np.outer(z, xs[t])
        if after:
            z[0] += 1.0
    return A, b


def test_a_vector_filled_in_place_in_its_trip_is_listed():
    """(an LSTM's gate adjoint `z_bar = np.zeros(S)`, filled by slices, then read by the weights' outer products;
    left in the loop before stop 45: the loop changes z_bar in place)"""
    changed, fdef = _rewritten(FILLED_IN_THE_TRIP.replace("CHANGE_AFTER", "pass"), {"xs": (4, 4), "ys": (4, 2)})
    text = ast.unparse(fdef)
    assert changed and "np.outer" not in text and "rows_z.append(z)" in text, text
    r = np.random.default_rng(2)
    xs, ys = r.normal(size=(4, 4)), r.normal(size=(4, 2))
    for got, want in zip(_run(fdef, xs, ys), _filled_want(xs, ys)):
        np.testing.assert_allclose(got, want, rtol=1e-13)


def test_a_vector_changed_after_the_sum_stays_in_the_loop():
    changed, fdef = _rewritten(FILLED_IN_THE_TRIP.replace("CHANGE_AFTER", "z[0] += 1.0"),
                               {"xs": (4, 4), "ys": (4, 2)})
    assert "np.outer(z" in ast.unparse(fdef)


SCALED_THEN_NAMED = """
    def g(xs, ys):
        A = 0.0
        w = np.ones(5)
        for t in range(4):
            u = ys[t] * 2.0
            u *= w
            MIDDLE
            v = xs[t] * 1.0
            A += np.outer(k, v)
            CHANGE_AFTER
        return A
"""


def _scaled_want(xs, ys, before=False):
    A, prev = np.zeros((5, 4)), None
    for t in range(4):
        u = ys[t] * 2.0
        k = prev if before else u
        if k is not None:
            A += np.outer(k, xs[t])
        prev = u
    return A


def test_a_name_for_a_vector_scaled_in_place_before_it_is_listed():
    """(a GRU's `hc_bar *= 1 - hc * hc; t16_bar = hc_bar`, then `Uh_bar += np.outer(t16_bar, t14)`: left in the loop
    before stop 46, the loop changing hc_bar in place)"""
    changed, fdef = _rewritten(SCALED_THEN_NAMED.replace("MIDDLE", "k = u").replace("CHANGE_AFTER", "pass"),
                               {"xs": (4, 4), "ys": (4, 5)})
    text = ast.unparse(fdef)
    assert changed and "np.outer" not in text and "rows_k.append(k)" in text, text
    r = np.random.default_rng(3)
    xs, ys = r.normal(size=(4, 4)), r.normal(size=(4, 5))
    np.testing.assert_allclose(_run(fdef, xs, ys), _scaled_want(xs, ys), rtol=1e-13)


@pytest.mark.parametrize("middle, after", [("k = u", "u += 1.0"), ("k = u", "k *= 2.0"), ("k = u\n            k = k", "pass")])
def test_a_name_for_a_vector_changed_after_the_sum_or_bound_twice_stays_in_the_loop(middle, after):
    changed, fdef = _rewritten(SCALED_THEN_NAMED.replace("MIDDLE", middle).replace("CHANGE_AFTER", after),
                               {"xs": (4, 4), "ys": (4, 5)})
    assert "np.outer(k" in ast.unparse(fdef)


def test_a_name_bound_before_the_vector_of_its_trip_stays_in_the_loop():
    text = SCALED_THEN_NAMED.replace("MIDDLE", "").replace("CHANGE_AFTER", "k = u")
    text = text.replace("for t in range(4):", "k = np.zeros(5)\n        for t in range(4):")
    changed, fdef = _rewritten(text, {"xs": (4, 4), "ys": (4, 5)})
    assert "np.outer(k" in ast.unparse(fdef)
