"""transforms/list_adjoints.py, `accumulate_item_adjoints`: the adjoint of a list read item by item in a loop
(`for q in qs`, `hs[i]`) accumulated in place by `s2s.add_item_grad`; the runtime helper against what it
replaces, where the ownership proof blocks the rewrite, the shape facts it gives (`ZeroOrItems`), and
gradients against central differences, autograd and the code without it."""

from __future__ import annotations

import ast
import builtins
import textwrap

import numpy as np
import pytest
from s2s.transforms.list_adjoints import accumulate_item_adjoints
from s2s.transforms.shapes import ListOf, Shapes, ZeroOrItems
from s2s.transforms.specialize import runtime_helpers

import s2s
import s2s.pipeline  # noqa: F401 - installs the context the passes read rules through
import s2s.runtime as rt
from tests.helpers_fd import check_all
from tests.plain_code import plain_gradient

# ---- the runtime helper: the numbers of `add(acc, getitem_grad(g, x, index))`, read after read


def _reads(rng, n, shape, count):
    """Random reads of a list of n items: (index, g), g a fresh array, 0.0 or a number."""
    out = []
    for _ in range(count):
        k = int(rng.integers(-n, n))
        kind = rng.integers(3)
        g = 0.0 if kind == 0 else rng.normal(size=shape) if shape else float(rng.normal())
        out.append((k, g))
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("shape", [(), (3,), (2, 2)])
@pytest.mark.parametrize("as_tuple", [False, True])
def test_the_helper_gives_what_add_of_getitem_grad_gives(seed, shape, as_tuple):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5))
    x = [rng.normal(size=shape) for _ in range(n)]
    x = tuple(x) if as_tuple else x
    acc_new, acc_old = 0.0, 0.0
    for k, g in _reads(rng, n, shape, 7):
        acc_new = rt.add_item_grad(acc_new, g, x, k)
        acc_old = rt.add(acc_old, rt.getitem_grad(g, x, k))
    assert type(acc_new) is type(acc_old) is list and len(acc_new) == len(acc_old) == n
    for a, b in zip(acc_new, acc_old):
        assert type(a) is type(b)
        np.testing.assert_array_equal(a, b)


def test_the_helper_changes_only_the_list_it_made():
    x = [np.ones(2), np.ones(2)]
    first = rt.add_item_grad(0.0, np.full(2, 3.0), x, 1)
    g = np.full(2, 5.0)
    same = rt.add_item_grad(first, g, x, 0)
    assert same is first and same[0] is g  # (the read's adjoint itself, as add's zero gives way)
    rt.add_item_grad(same, np.ones(2), x, 0)
    np.testing.assert_array_equal(g, [5.0, 5.0])  # (an item is added to, never changed in place)


@pytest.mark.parametrize("acc, x, index", [
    (0.0, np.arange(3.0), 1),  # an array: getitem_grad's zeros
    (0.0, {"a": 1.0}, "a"),  # a dict: its key's adjoint
    (0.0, [1.0, 2.0, 3.0], slice(0, 2)),  # a slice
    ([1.0, 2.0], [1.0, 2.0, 3.0], 1),  # a list of another length: add's zip
    ((1.0, 2.0, 3.0), [1.0, 2.0, 3.0], 1),  # not a list this helper made
])
def test_anything_else_goes_to_add(acc, x, index):
    g = [4.0, 5.0] if isinstance(index, slice) else 4.0
    got = rt.add_item_grad(acc, g, x, index)
    want = rt.add(acc, rt.getitem_grad(g, x, index))
    assert type(got) is type(want)
    if isinstance(want, dict):
        assert got == want
    else:
        np.testing.assert_array_equal(np.asarray(got, dtype=float), np.asarray(want, dtype=float))


# ---- the rewrite and its proof

def _shapes(fdef, params):
    names = {"np": np, "s2s": s2s.runtime}
    return Shapes(fdef, params, lambda n: names.get(n, getattr(builtins, n, None)), runtime_helpers(),
                  {p: "d" for p in params})


def _rewritten(text, params):
    fdef = ast.parse(textwrap.dedent(text)).body[0]
    changed = accumulate_item_adjoints(fdef, _shapes(fdef, params))
    return changed, ast.unparse(fdef)


READS = """
    def g(xs, v_bar):
        qs = [xs[0], xs[1], xs[2]]
        seq = s2s.as_sequence(qs)
        qs_bar = 0.0
        seq_bar = 0.0
        for k in range(3):
            q_bar = v_bar * 2.0
            seq_bar = s2s.add(seq_bar, s2s.getitem_grad(q_bar, seq, k))
        {after}
        return qs_bar
"""
HANDED_ON = "qs_bar = s2s.add(qs_bar, s2s.grad_iterated(seq_bar, qs))\n        seq_bar = 0.0"


def test_a_list_adjoint_read_by_read_is_accumulated_in_place():
    changed, text = _rewritten(READS.format(after=HANDED_ON), {"xs": (3, 4), "v_bar": (4,)})
    assert changed, text
    assert "seq_bar = s2s.add_item_grad(seq_bar, q_bar, seq, k)" in text and "getitem_grad" not in text, text


def test_a_list_handed_on_at_its_last_read_is_accumulated_in_place():
    """(no statement after it mentions the name: no later read can change the list the other name holds)"""
    changed, text = _rewritten(READS.format(after="qs_bar = seq_bar"), {"xs": (3, 4), "v_bar": (4,)})
    assert changed and "seq_bar = s2s.add_item_grad(seq_bar, q_bar, seq, k)" in text, text


@pytest.mark.parametrize("after", [
    # held by another name, and not made zero after: the later read would change qs_bar's list
    "qs_bar = seq_bar\n        seq_bar = s2s.add(seq_bar, s2s.getitem_grad(v_bar, seq, 0))",
    "qs_bar = seq_bar\n        print(1)\n        seq_bar = 0.0",  # made zero, but not at once
    "seq_bar += 1.0",  # an augmented assignment binds it
    "seq_bar, other = seq_bar, 0.0",  # a tuple target binds it
])
def test_the_list_seen_by_another_name_is_left_as_it_is(after):
    changed, text = _rewritten(READS.format(after=after), {"xs": (3, 4), "v_bar": (4,)})
    assert not changed and "add_item_grad" not in text, text


def test_a_list_handed_on_then_made_zero_is_not_changed_by_later_reads():
    after = ("saved = [seq_bar]\n        seq_bar = 0.0\n"
             "        seq_bar = s2s.add(seq_bar, s2s.getitem_grad(v_bar, seq, k))\n        qs_bar = saved[0]")
    changed, text = _rewritten(READS.format(after=after), {"xs": (3, 4), "v_bar": (4,)})
    assert changed and text.count("add_item_grad") == 2, text
    fdef = ast.parse(text).body[0]
    ns = {"np": np, "s2s": rt}
    exec(compile(ast.Module([fdef], []), "<test>", "exec"), ns)
    xs, v_bar = np.arange(12.0).reshape(3, 4), np.ones(4)
    handed = ns["g"](xs, v_bar)  # the list made before the reset: each item's three reads, none of the later one
    assert len(handed) == 3 and all(np.array_equal(item, 2.0 * v_bar) for item in handed)


def test_an_array_read_by_index_is_not_a_list_adjoint():
    text = """
        def g(X, v_bar):
            X_bar = 0.0
            for k in range(3):
                X_bar = s2s.add(X_bar, s2s.getitem_grad(v_bar, X, k))
            return X_bar
    """
    changed, out = _rewritten(text, {"X": (3, 4), "v_bar": (4,)})
    assert not changed and "add_item_grad" not in out, out


def test_a_read_whose_adjoint_reads_the_list_adjoint_is_left_as_it_is():
    text = READS.format(after=HANDED_ON).replace("getitem_grad(q_bar, seq, k)", "getitem_grad(seq_bar, seq, k)")
    changed, out = _rewritten(text, {"xs": (3, 4), "v_bar": (4,)})
    assert not changed, out


DENSE = """
    def g(C, xs):
        Q = []
        for j in range(3):
            Q.append(xs[j] * 2.0)
        Q_bar = s2s.grad_stack(C, Q, 1)
        for j in reversed(range(3)):
            Q_bar, g = s2s.append_grads(Q_bar)
            Q.pop()
            for i in reversed(range(j)):
                t_bar = g * 2.0
                Q_bar = s2s.add(Q_bar, s2s.getitem_grad(t_bar, Q, i))
        return g
"""


def test_a_list_adjoint_of_its_own_takes_item_adjoints_in_place_and_is_popped_in_place():
    from s2s.transforms.list_adjoints import pop_owned_list_adjoints
    fdef = ast.parse(textwrap.dedent(DENSE)).body[0]
    assert accumulate_item_adjoints(fdef, _shapes_with_list(fdef))
    text = ast.unparse(fdef)
    assert "Q_bar = s2s.add_item_grad(Q_bar, t_bar, Q, i)" in text, text
    assert pop_owned_list_adjoints(fdef, _shapes_with_list(fdef)), ast.unparse(fdef)
    assert "s2s.append_grads_owned(Q_bar)" in ast.unparse(fdef)
    shapes = _shapes_with_list(fdef)
    reads = [n for n in ast.walk(fdef) if isinstance(n, ast.Name) and n.id == "Q_bar" and isinstance(n.ctx, ast.Load)]
    assert {shapes.fact_at(n) for n in reads} == {ListOf((4,))}  # (a list of arrays of its items' shape, each read)


def _shapes_with_list(fdef):
    return _shapes(fdef, {"C": (4, 3), "xs": (3, 4)})


@pytest.mark.parametrize("extra", [
    "        other = Q_bar",  # another name holds the list
    "        Q_bar.append(g)",  # changed by a method
])
def test_a_list_adjoint_another_name_sees_is_left_as_it_is(extra):
    later = "        Q_bar = s2s.add(Q_bar, s2s.getitem_grad(g, Q, 0))"  # (a read after it: the list would change)
    text = DENSE.replace("        return g", extra + "\n" + later + "\n        return g")
    fdef = ast.parse(textwrap.dedent(text)).body[0]
    assert not accumulate_item_adjoints(fdef, _shapes_with_list(fdef)), ast.unparse(fdef)


def test_item_adjoints_have_their_facts():
    fdef = ast.parse(textwrap.dedent(READS.format(after=HANDED_ON))).body[0]
    accumulate_item_adjoints(fdef, _shapes(fdef, {"xs": (3, 4), "v_bar": (4,)}))
    shapes = _shapes(fdef, {"xs": (3, 4), "v_bar": (4,)})
    reads = {n.id: shapes.fact_at(n) for n in ast.walk(fdef) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Load) and n.id in ("seq_bar",)}
    assert reads["seq_bar"] == ZeroOrItems((4,))
    assert ListOf((4,)) != ZeroOrItems((4,))  # (a list of arrays is not one whose items may be 0.0)


# ---- gradients

def gram_schmidt(A, C):
    qs = []
    for j in range(A.shape[1]):
        v = A[:, j]
        for q in qs:
            v = v - np.dot(q, v) * q
        qs.append(v / np.linalg.norm(v))
    return np.sum(np.stack(qs, axis=1) * C)


def layers_read_twice(W, xs):
    hs = []
    h = xs[0]
    for t in range(1, xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
        hs.append(h)
    total = 0.0
    for i in range(len(hs)):
        for j in range(i + 1):
            total = total + np.dot(hs[i], hs[j]) * hs[j][0]
    return total


def pairwise_in_a_list(P):
    pts = [P[i] * 1.5 for i in range(P.shape[0])]
    e = 0.0
    for a in pts:
        for b in pts:
            e = e + np.sum((a - b) ** 2) * np.sum(a)
    return e


def scalars_listed(x):
    xs = []
    for i in range(x.shape[0]):
        xs.append(x[i] * x[i])
    s = 0.0
    for v in xs:
        for w in xs:
            s = s + v * w
    return s


def gram_schmidt_by_index(A, C):
    Q = []
    for j in range(A.shape[1]):
        v = A[:, j]
        for i in range(len(Q)):
            v = v - (Q[i] @ v) * Q[i]
        Q.append(v / np.linalg.norm(v))
    return np.sum(np.stack(Q, axis=1) * C)


def last_items(xs):
    hs = [xs[0]]
    for t in range(1, xs.shape[0]):
        hs.append(np.sin(hs[-1]) + xs[t] * hs[t - 1])
    return np.sum(np.stack(hs) ** 2)


PROGRAMS = {
    "gram_schmidt": (gram_schmidt, lambda r: (r.normal(size=(7, 4)), r.normal(size=(7, 4)))),
    "gram_schmidt by index": (gram_schmidt_by_index, lambda r: (r.normal(size=(7, 4)), r.normal(size=(7, 4)))),
    "last items": (last_items, lambda r: (0.5 * r.normal(size=(6, 3)),)),
    "read twice": (layers_read_twice, lambda r: (0.3 * r.normal(size=(3, 3)), r.normal(size=(5, 3)))),
    "pairs": (pairwise_in_a_list, lambda r: (r.normal(size=(4, 2)),)),
    "numbers": (scalars_listed, lambda r: (r.normal(size=5),)),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_gradients_of_lists_read_item_by_item(name):
    f, make = PROGRAMS[name]
    args = make(np.random.default_rng(3))
    got = check_all(f, args)
    np.testing.assert_allclose(got, plain_gradient(f, args, 0), rtol=1e-12, atol=1e-13)


def test_the_gram_schmidt_gradient_has_no_list_made_per_read():
    A, C = np.random.default_rng(0).normal(size=(2, 9, 5))
    g = s2s.grad(gram_schmidt)
    g(A, C)
    text = s2s.source(g, A, C)
    assert "add_item_grad" in text and "getitem_grad" not in text, text
    assert "unbroadcast" not in text and "grad_dot" not in text, text  # (the item adjoints' shapes are known)
    assert "kept: shape of qs_bar unknown" not in text, text


def test_a_list_read_by_index_has_known_item_shapes_and_its_adjoint_popped_in_place():
    A, C = np.random.default_rng(1).normal(size=(2, 9, 5))
    g = s2s.grad(gram_schmidt_by_index)
    g(A, C)
    text = s2s.source(g, A, C)
    assert "Q_bar = s2s.add_item_grad(Q_bar" in text and "append_grads_owned(Q_bar)" in text, text
    assert "unbroadcast" not in text and "grad_matmul" not in text and "# s2s:" not in text, text
    assert "return A_bar" in text, text  # (the value is not returned to be checked: np.sum of a known stack)


def discounted_returns(w, feats, target, gamma=0.9):
    rewards = []
    for t in range(feats.shape[0]):
        rewards.append(np.tanh(feats[t] @ w))
    running = 0.0
    returns = []
    for r in reversed(rewards):
        running = r + gamma * running
        returns.append(running)
    return np.sum((np.array(returns[::-1]) - target) ** 2)


def test_discounted_returns_pop_and_accumulate_their_list_adjoints_in_place():
    """(`returns[::-1]`'s adjoint is a new list, popped in place; the rewards' adjoint, read by `reversed` item by
    item and handed on at its last read, is accumulated in place: each was a list made per trip before stop 46)"""
    r = np.random.default_rng(5)
    args = (r.normal(size=4) * 0.5, r.normal(size=(9, 4)), r.normal(size=9))
    got = check_all(discounted_returns, args)
    np.testing.assert_allclose(got, plain_gradient(discounted_returns, args, 0), rtol=1e-12, atol=1e-13)
    text = s2s.source(s2s.grad(discounted_returns), *args)
    assert "append_grads_owned(returns_bar)" in text and "add_item_grad(" in text, text
