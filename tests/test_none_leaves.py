"""A None in a list, tuple or dict argument has the gradient None, so the gradient keeps the argument's structure
(as JAX's does, and as s2s.flatten reads it: no number there); it was 0.0 (helper 156)."""

import numpy as np
import pytest

import s2s


def optional_bias(p):
    return np.sum(p["w"] ** 2) + (0.0 if p.get("b") is None else p["b"] ** 3)


def first_of_pair(ps):
    w, b = ps
    return np.sum(w ** 2)


@pytest.mark.parametrize("f, arg", [
    (optional_bias, {"w": np.array([1.0, 2.0]), "b": None}),
    (first_of_pair, (np.array([1.0, 2.0]), None)),
    (first_of_pair, [np.array([1.0, 2.0]), None]),
], ids=["dict", "tuple", "list"])
def test_a_none_leaf_keeps_none(f, arg):
    for grad in (s2s.grad(f)(arg), s2s.value_and_grad(f)(arg)[1], s2s.derivative(f)(arg)):
        assert type(grad) is type(arg)
        leaves = list(grad.values()) if isinstance(grad, dict) else list(grad)
        np.testing.assert_array_equal(leaves[0], [2.0, 4.0])
        assert leaves[1] is None
        assert s2s.flatten(grad)[0].size == s2s.flatten(arg)[0].size == 2
    assert optional_bias({"w": np.array([1.0, 2.0]), "b": 0.5}) == pytest.approx(5.125)
    assert s2s.grad(optional_bias)({"w": np.array([1.0, 2.0]), "b": 0.5})["b"] == pytest.approx(0.75)
