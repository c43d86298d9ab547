"""`L.reverse()` of a list the function makes (transforms/container_methods.py): discounted returns built backwards and
turned round once were refused ("it changes `out` in place"; helper 133). Checked against central differences,
autograd and the general code; a list the function did not make stays refused."""

import numpy as np
import pytest
from helpers_fd import check_all_and_general

import s2s
from s2s.errors import S2SError


def discounted_returns(w, gamma, feats):
    G = 0.0
    out = []
    for t in range(feats.shape[0] - 1, -1, -1):
        G = np.tanh(feats[t] @ w) + gamma * G
        out.append(G)
    out.reverse()
    return np.sum(np.array(out) * np.arange(1.0, len(out) + 1.0))


def reversed_through_another_name(x):
    parts = [x[0] * 2.0, np.sin(x[1]), x[2] ** 2]
    same = parts
    parts.reverse()  # (`same` would see it reversed too: refused, as other in-place updates seen through a name)
    return same[0] * 3.0 + same[2]


def reversed_twice_in_a_loop(x):
    items = [x[0], x[1] * x[2], np.exp(x[2])]
    total = 0.0
    for k in range(3):
        items.reverse()
        total = total + items[0] * (k + 1)
    return total


def reverses_its_argument(xs):
    xs.reverse()
    return xs[0] * 2.0


@pytest.mark.parametrize("f, args, wrt", [
    (discounted_returns, lambda r: (r.normal(size=3), 0.9, r.normal(size=(6, 3))), (0, 1)),
    (reversed_twice_in_a_loop, lambda r: (r.normal(size=3),), 0),
])
def test_a_list_the_function_makes_is_reversed(f, args, wrt):
    check_all_and_general(f, args(np.random.default_rng(0)), wrt=wrt)


def test_a_list_argument_s_reversal_stays_refused():
    with pytest.raises(S2SError, match="reverse"):
        s2s.grad(reverses_its_argument)([1.0, 2.0])


def test_a_reversal_another_name_sees_is_refused():
    with pytest.raises(S2SError, match="another name"):
        s2s.grad(reversed_through_another_name)(np.array([0.3, 0.5, 0.7]))
