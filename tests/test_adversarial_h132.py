"""What the second adversarial review of stop 45 (helper 132, /tmp/h136) found, each a wrong number before."""

import numpy as np
import pytest

import s2s
from s2s.errors import NoDerivativeRuleError

MASKED_WEIGHTS = np.ma.array([1.0, 2.0, 3.0], mask=[False, True, False])
MATRIX_WEIGHTS = np.matrix([[1.0, 2.0], [3.0, 4.0]])


def mean_with_masked_global(x):
    return np.mean(x * MASKED_WEIGHTS)


def product_with_matrix_global(x):
    return np.sum(x * MATRIX_WEIGHTS)


@pytest.mark.parametrize("f, name", [(mean_with_masked_global, "MASKED_WEIGHTS"),
                                     (product_with_matrix_global, "MATRIX_WEIGHTS")])
@pytest.mark.parametrize("mode", [False, True])
def test_a_refused_kind_read_from_the_module_is_refused(f, name, mode):
    """A masked array read as a global gave [0.33, --, 1.0] for np.mean(x * MW), [0.5, 0, 1.5] being right: the
    argument check (s2s/argcheck.py) saw only arguments. The function's reads of globals and closure cells are
    checked where the transform resolves them."""
    x = np.array([0.5, 1.0, 2.0]) if f is mean_with_masked_global else np.eye(2)
    df = s2s.grad(f, compile=True) if mode else s2s.grad(f)
    with pytest.raises(NoDerivativeRuleError, match=name) as refused:
        df(x)
    assert f"{name}.filled(0.0)" in str(refused.value) or f"np.asarray({name})" in str(refused.value)


def test_a_refused_kind_in_a_closure_is_refused():
    weights = np.ma.array([1.0, 2.0], mask=[True, False])

    def f(x):
        return np.mean(x * weights)
    with pytest.raises(NoDerivativeRuleError, match="weights"):
        s2s.grad(f)(np.ones(2))


WEIGHTS = {"masked": np.ma.array([1.0, 2.0, 3.0], mask=[False, True, False]), "matrix": np.matrix([[1.0, 2.0],
                                                                                                   [3.0, 4.0]])}


class Holder:
    masked = np.ma.array([1.0, 2.0, 3.0], mask=[False, True, False])


def masked_weights():
    return WEIGHTS["masked"]


def mean_through_a_dict_item(x):
    return np.mean(x * WEIGHTS["masked"])


def mean_through_a_class_attribute(x):
    return np.mean(x * Holder.masked)


def mean_through_a_helper(x):
    return np.mean(x * masked_weights())


def mean_of_one_made_inside(x):
    w = np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False])
    return np.mean(x * w)


def product_through_a_dict_item(x):
    return np.sum(WEIGHTS["matrix"] * x)


def product_of_one_made_inside(x):
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    return np.sum(m * x)


@pytest.mark.parametrize("f", [mean_through_a_dict_item, mean_through_a_class_attribute, mean_through_a_helper,
                               mean_of_one_made_inside, product_through_a_dict_item, product_of_one_made_inside])
@pytest.mark.parametrize("mode", [False, True])
def test_a_refused_kind_reached_another_way_is_refused_at_the_gradient(f, mode):
    """Reached through a container item, a class attribute, a helper's result or made inside, the value is not seen
    by the transform; the gradient comes out masked (or a matrix), and `finish` refuses it ([0.33, 0.33, 1] for
    [0.5, 0, 1.5] before; a matrix's `*` differentiated elementwise)."""
    x = np.eye(2) if "product" in f.__name__ else np.array([0.5, 1.0, 2.0])
    df = s2s.grad(f, compile=True) if mode else s2s.grad(f)
    with pytest.raises(NoDerivativeRuleError, match="masked array|np.matrix"):
        df(x)


def scaled_by_a_default(x, beta=None):
    if beta is None:
        beta = 2.0
    return np.sum(beta * x ** 2)


@pytest.mark.parametrize("make", [lambda: s2s.grad(scaled_by_a_default, wrt=1),
                                  lambda: s2s.value_and_grad(scaled_by_a_default, wrt=1),
                                  lambda: s2s.grad(scaled_by_a_default, wrt=1, compile=True)])
def test_differentiating_by_a_none_default_left_out_is_refused(make):
    """It gave 0.0 where None passed explicitly was refused (NotDifferentiableArgumentError). (s2s.derivative is the
    raw generated function, which checks no argument.)"""
    from s2s.errors import NotDifferentiableArgumentError
    with pytest.raises(NotDifferentiableArgumentError, match="beta"):
        make()(np.array([0.5, -1.2]))
    np.testing.assert_allclose(s2s.grad(scaled_by_a_default, wrt=1)(np.array([0.5, -1.2]), 2.0), 1.69)
