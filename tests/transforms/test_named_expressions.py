"""Named expressions (transforms/named_expressions.py): `name := value` evaluated once, unconditionally, first in
its statement is the assignment before it (refused as "the walrus operator :=" before stop 59); elsewhere refused
with a hint that works."""

import numpy as np
import pytest

import s2s
from s2s import pipeline
from tests.conftest import check_grad

X = np.array([0.3, 0.9, 1.4, 0.6])


def in_an_if(x):
    if (s := np.sum(x ** 2)) > 1.0:
        return s * 2.0
    return s


def in_a_for_header(x):
    total = 0.0
    for v in (ys := x * 2.0):
        total = total + v ** 2
    return total + np.sum(ys)


def first_operand(x):
    y = (m := np.mean(x)) * np.sum((x - m) ** 2)
    return y


def in_an_elif(x):
    if x[0] > 10.0:
        return x[0]
    elif (r := x[1] * 3.0) > 0:
        return r * x[0]
    return np.sum(x)


def nested(x):
    return (a := (b := np.sum(x)) * 2.0) * b + a


@pytest.mark.parametrize("f", [in_an_if, in_a_for_header, first_operand, in_an_elif, nested])
def test_gradients_and_hessians(f):
    check_grad(f, X, ag=False)
    check_grad(f, X * 0.1, ag=False)
    H = s2s.hessian(f)(X)
    g = s2s.grad(f)
    eps = 1e-6
    columns = [(g(X + e) - g(X - e)) / (2 * eps) for e in np.eye(X.size) * eps]
    np.testing.assert_allclose(H, np.array(columns).T, rtol=1e-5, atol=1e-6)


def test_the_assignment_goes_before_the_statement():
    stage = dict(pipeline.stages(in_an_if, wrt=("x",)))["named expressions"]
    assert "s = np.sum(x ** 2)\n    if s > 1.0:" in stage


def rebound_in_its_statement(x):
    a = np.sum(x)
    return a + (a := a * 2.0)


def in_a_comprehension(x):
    return np.sum([(t := v * 2.0) + t for v in x])


def in_a_while_test(x):
    k = 0
    while (k := k + 1) < 3:
        x = x * 1.5
    return np.sum(x)


def while_as_hinted(x):
    k = 0
    while True:
        k = k + 1
        if not (k < 3):
            break
        x = x * 1.5
    return np.sum(x)


def in_a_lambda(x):
    h = lambda v: (w := v * 2.0) + w * w  # noqa: E731
    return np.sum(h(x))


def lambda_as_hinted(x):
    def h(v):
        w = v * 2.0
        return w + w * w
    return np.sum(h(x))


def behind_and(x):
    z = x[0] > 0 and (t := x[1] * 2.0) > 0
    return x[0] * t if z else x[1]


@pytest.mark.parametrize("f, hint", [
    (rebound_in_its_statement, "a_new = a * 2.0"),
    (in_a_comprehension, "`t = v * 2.0`"),
    (in_a_while_test, "`while True:` whose body starts with `k = k + 1` and `if not (k < 3): break`"),
    (behind_and, "`t = x[1] * 2.0`"),
    (in_a_lambda, "`def h(v):` with `w = v * 2.0` and `return w + w * w`"),
], ids=["rebound", "comprehension", "while", "and", "lambda"])
def test_refused_with_a_hint(f, hint):
    with pytest.raises(s2s.UnsupportedSyntaxError, match=":=") as info:
        s2s.grad(f)(X)
    assert hint in str(info.value) and "line" in str(info.value)


def test_the_while_hint_computes_the_same():
    assert while_as_hinted(X) == in_a_while_test(X)
    check_grad(while_as_hinted, X, ag=False)


def test_the_lambda_hint_computes_the_same():
    assert lambda_as_hinted(X) == in_a_lambda(X)
    check_grad(lambda_as_hinted, X)


def test_an_augmented_target_read_before_its_walrus_is_refused():
    """Helper 196: `s += (s := v)` reads the old s first; the assignment moved before the statement made it v + v
    (a wrong gradient, 4x for 1 + 2x)."""
    def added(x):
        s = np.sum(x)
        s += (s := np.sum(x ** 2))
        return s

    with pytest.raises(s2s.UnsupportedSyntaxError, match=":=") as info:
        s2s.grad(added)(X)
    assert "s_new = np.sum(x ** 2)" in str(info.value)
