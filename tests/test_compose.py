"""Derivative functions s2s made, given to another s2s transform (s2s/compose.py): jacfwd(jacrev(f)) and the
other spellings JAX and autograd users write, checked against autograd's nested jacobians and against central
differences of the lower-order derivative, for scalar and vector functions, argnums, structures."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import s2s
from s2s.errors import NonScalarOutputError

RNG = np.random.default_rng(15)
X = RNG.normal(size=3)
Y = RNG.normal(size=3)
V = RNG.normal(size=3)


def f_scalar(x):
    return np.sum(np.sin(x) * x[0])


def f_scalar_ag(x):
    return anp.sum(anp.sin(x) * x[0])


def f_vector(x):
    return np.sin(x) * x[0] + x ** 2 * np.cos(x[1])


def f_vector_ag(x):
    return anp.sin(x) * x[0] + x ** 2 * anp.cos(x[1])


def f_wide(x):
    return np.stack([np.sum(np.exp(x)), x[0] * x[1], np.sum(x ** 3), np.tanh(x[1]), x[0] * np.sin(x[1]),
                     np.cos(x[0])])


def f_wide_ag(x):
    return anp.stack([anp.sum(anp.exp(x)), x[0] * x[1], anp.sum(x ** 3), anp.tanh(x[1]), x[0] * anp.sin(x[1]),
                      anp.cos(x[0])])


def f_two(x, y):
    return np.tanh(x * y[0]) + np.cos(y) * x[1]


def f_two_ag(x, y):
    return anp.tanh(x * y[0]) + anp.cos(y) * x[1]


def helper(x):
    return np.sin(x) * x


def through_helper(x):
    return helper(x) ** 2


def through_helper_ag(x):
    return (anp.sin(x) * x) ** 2


def helper_in_loop(x):
    total = 0.0
    for k in range(3):
        total = total + np.sum(helper(x * (k + 1)))
    return total


def helper_in_loop_ag(x):
    total = 0.0
    for k in range(3):
        total = total + anp.sum(anp.sin(x * (k + 1)) * x * (k + 1))
    return total


def central(fn, x, eps=1e-6):
    """d fn / dx by central differences, of shape fn(x).shape + x.shape."""
    x = np.asarray(x, dtype=float)
    cols = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = eps
        e = e.reshape(x.shape)
        cols.append((np.asarray(fn(x + e)) - np.asarray(fn(x - e))) / (2 * eps))
    return np.moveaxis(np.array(cols), 0, -1).reshape(np.shape(fn(x)) + x.shape)


JACS = {"jacfwd": s2s.jacfwd, "jacrev": s2s.jacrev}
PAIRS = [(outer, inner) for outer in JACS for inner in JACS]


@pytest.mark.parametrize("outer,inner", PAIRS)
@pytest.mark.parametrize("name", ["scalar", "vector", "wide"])
def test_jacobian_of_jacobian(outer, inner, name):
    f, f_ag = {"scalar": (f_scalar, f_scalar_ag), "vector": (f_vector, f_vector_ag),
               "wide": (f_wide, f_wide_ag)}[name]
    got = JACS[outer](JACS[inner](f))(X)
    want = autograd.jacobian(autograd.jacobian(f_ag))(X)
    assert got.shape == want.shape == np.shape(f(X)) + (3, 3)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got, central(s2s.jacobian(f), X), rtol=1e-6, atol=1e-7)


def test_jacfwd_jacrev_is_the_hessian():
    np.testing.assert_allclose(s2s.jacfwd(s2s.jacrev(f_scalar))(X), s2s.hessian(f_scalar)(X), rtol=1e-12)
    np.testing.assert_allclose(s2s.jacfwd(s2s.jacrev(f_scalar))(X), autograd.hessian(f_scalar_ag)(X), rtol=1e-10)


@pytest.mark.parametrize("spelling", ["jacobian", "jacfwd", "jacrev"])
def test_jacobian_of_grad(spelling):
    got = getattr(s2s, spelling)(s2s.grad(f_scalar))(X)
    np.testing.assert_allclose(got, autograd.hessian(f_scalar_ag)(X), rtol=1e-10)
    np.testing.assert_allclose(got, central(s2s.grad(f_scalar), X), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("inner_arg,outer_arg", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_argnums(inner_arg, outer_arg):
    got = s2s.jacfwd(s2s.jacrev(f_two, argnums=inner_arg), argnums=outer_arg)(X, Y)
    want = autograd.jacobian(autograd.jacobian(f_two_ag, inner_arg), outer_arg)(X, Y)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    by_wrt = s2s.jacobian(s2s.jacobian(f_two, wrt="xy"[inner_arg]), wrt="xy"[outer_arg])(X, Y)
    np.testing.assert_allclose(by_wrt, want, rtol=1e-10, atol=1e-12)


def test_tuple_argnums_outside():
    got = s2s.jacrev(s2s.jacfwd(f_two), argnums=(0, 1))(X, Y)
    assert isinstance(got, tuple) and len(got) == 2
    for k in range(2):
        want = autograd.jacobian(autograd.jacobian(f_two_ag, 0), k)(X, Y)
        np.testing.assert_allclose(got[k], want, rtol=1e-10, atol=1e-12)


def test_third_order_tensor():
    # jax.hessian(jax.grad(f)): jacfwd(jacrev(D)) of the gradient, d3f / dx dx dx
    want = autograd.hessian(autograd.grad(f_scalar_ag))(X)
    for got in (s2s.hessian(s2s.grad(f_scalar))(X), s2s.jacfwd(s2s.jacrev(s2s.jacrev(f_scalar)))(X),
                s2s.jacobian(s2s.hessian(f_scalar))(X)):
        assert got.shape == (3, 3, 3)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(want, central(s2s.hessian(f_scalar), X), rtol=1e-6, atol=1e-7)


def test_hessian_of_a_vector_function():
    got = s2s.hessian(s2s.jacrev(f_vector))(X)  # (3, 3, 3, 3): d4 f / dx4 per output element
    want = autograd.hessian(autograd.jacobian(f_vector_ag))(X)
    assert got.shape == (3, 3, 3, 3)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)


def test_jvp_of_jacobian():
    value, tangent = s2s.jvp(s2s.jacrev(f_vector), (X,), (V,))
    np.testing.assert_allclose(value, autograd.jacobian(f_vector_ag)(X), rtol=1e-12)
    want = np.tensordot(autograd.jacobian(autograd.jacobian(f_vector_ag))(X), V, axes=1)
    np.testing.assert_allclose(tangent, want, rtol=1e-10, atol=1e-12)


def test_jvp_of_jacobian_two_tangents():
    value, tangent = s2s.jvp(s2s.jacfwd(f_two), (X, Y), (V, 2 * V))
    j2 = autograd.jacobian(autograd.jacobian(f_two_ag, 0), 0)(X, Y)
    j2y = autograd.jacobian(autograd.jacobian(f_two_ag, 0), 1)(X, Y)
    np.testing.assert_allclose(tangent, j2 @ V + j2y @ (2 * V), rtol=1e-10, atol=1e-12)


def test_vjp_of_jacobian():
    cotangent = RNG.normal(size=(3, 3))
    value, pullback = s2s.vjp(s2s.jacrev(f_vector), X)
    want = np.tensordot(cotangent, autograd.jacobian(autograd.jacobian(f_vector_ag))(X), axes=2)
    np.testing.assert_allclose(pullback(cotangent), want, rtol=1e-10, atol=1e-12)
    both = s2s.vjp(s2s.jacrev(f_two), X, Y, wrt=(0, 1))[1](cotangent)
    for k in range(2):
        want = np.tensordot(cotangent, autograd.jacobian(autograd.jacobian(f_two_ag, 0), k)(X, Y), axes=2)
        np.testing.assert_allclose(both[k], want, rtol=1e-10, atol=1e-12)


def test_grad_and_hvp_of_jacobian_of_a_number():
    def f(x):
        return np.sin(x) * x ** 2

    def f_ag(x):
        return anp.sin(x) * x ** 2

    want2 = autograd.grad(autograd.grad(f_ag))(0.7)
    want3 = autograd.grad(autograd.grad(autograd.grad(f_ag)))(0.7)
    np.testing.assert_allclose(s2s.grad(s2s.jacrev(f))(0.7), want2, rtol=1e-12)
    np.testing.assert_allclose(s2s.grad(s2s.hessian(f))(0.7), want3, rtol=1e-12)
    np.testing.assert_allclose(s2s.hvp(s2s.jacfwd(f))(0.7, 2.0), 2 * want3, rtol=1e-12)
    value, gradient = s2s.value_and_grad(s2s.jacrev(f))(0.7)
    np.testing.assert_allclose((value, gradient), (autograd.grad(f_ag)(0.7), want2), rtol=1e-12)


@pytest.mark.parametrize("x", [0.3, -1.1])
def test_third_and_fourth_grad_through_a_helper(x):
    g3 = s2s.grad(s2s.grad(s2s.grad(through_helper)))
    want3 = autograd.grad(autograd.grad(autograd.grad(through_helper_ag)))(x)
    np.testing.assert_allclose(g3(x), want3, rtol=1e-12)
    d2 = s2s.grad(s2s.grad(through_helper))
    np.testing.assert_allclose(want3, (d2(x + 1e-6) - d2(x - 1e-6)) / 2e-6, rtol=1e-6)
    want4 = autograd.grad(autograd.grad(autograd.grad(autograd.grad(through_helper_ag))))(x)
    np.testing.assert_allclose(s2s.grad(g3)(x), want4, rtol=1e-11)


def test_helper_on_a_tape():
    # the gradient code keeps the helper's pullbacks on a tape: forward over forward gives the numbers
    want = autograd.hessian(helper_in_loop_ag)(X)
    np.testing.assert_allclose(s2s.jacfwd(s2s.jacrev(helper_in_loop))(X), want, rtol=1e-10, atol=1e-12)
    want3 = autograd.jacobian(autograd.hessian(helper_in_loop_ag))(X)
    np.testing.assert_allclose(s2s.jacfwd(s2s.hessian(helper_in_loop))(X), want3, rtol=1e-10, atol=1e-12)


def structured(p):
    return np.sum(np.sin(p["w"]) * p["b"]) + p["b"] ** 3 * p["w"][0]


def structured_vector(p):
    return np.tanh(p["w"] * p["b"])


def test_structures_have_jax_layout():
    p = {"w": X[:2].copy(), "b": 0.4}
    got = s2s.jacfwd(s2s.jacrev(structured))(p)
    want = s2s.hessian(structured)(p)
    for a in ("w", "b"):
        for b in ("w", "b"):
            np.testing.assert_allclose(got[a][b], want[a][b], rtol=1e-12)
    for b in ("w", "b"):  # d/dp[b] of the gradient's block p["w"], by central differences
        def block(t, b=b):
            q = dict(p)
            q[b] = t
            return s2s.grad(structured)(q)["w"]
        np.testing.assert_allclose(got["w"][b], central(block, np.asarray(p[b], dtype=float)), rtol=1e-6, atol=1e-7)
    third = s2s.jacfwd(s2s.jacfwd(s2s.jacrev(structured_vector)))(p)
    assert third["w"]["b"]["w"].shape == (2, 2, 2)
    assert np.shape(third["w"]["w"]["b"]) == (2, 2, 2)

    def second_wb(t):
        return s2s.jacfwd(s2s.jacrev(structured_vector))({"w": t, "b": p["b"]})["w"]["b"]
    np.testing.assert_allclose(third["w"]["b"]["w"], central(second_wb, p["w"]), rtol=1e-6, atol=1e-7)


def test_refusals_say_what_to_do():
    with pytest.raises(NonScalarOutputError, match="jacobian"):
        s2s.grad(s2s.jacrev(f_vector))(X)
    with pytest.raises(TypeError, match="has_aux"):
        s2s.jacfwd(s2s.jacrev(f_vector), has_aux=True)(X)


def test_a_wrapper_of_a_derivative_function_is_not_taken_for_it():
    import functools

    jac = s2s.jacrev(f_scalar)

    @functools.wraps(jac)
    def twice(x):
        return 2 * jac(x)

    from s2s import compose
    assert compose.of(jac) is not None and compose.of(twice) is None


class Model:
    def __init__(self, scale):
        self.scale = scale

    def energy(self, x):
        return self.scale * through_helper(x)

    def field(self, x):
        return self.scale * f_vector(x)


def test_methods():
    model = Model(1.5)
    np.testing.assert_allclose(s2s.grad(s2s.grad(s2s.grad(model.energy)))(0.4),
                               1.5 * autograd.grad(autograd.grad(autograd.grad(through_helper_ag)))(0.4), rtol=1e-12)
    np.testing.assert_allclose(s2s.jacfwd(s2s.jacrev(model.field))(X),
                               1.5 * autograd.jacobian(autograd.jacobian(f_vector_ag))(X), rtol=1e-10, atol=1e-12)


def test_a_rule_written_as_python_functions_is_refused_by_name():
    @s2s.custom_vjp
    def cube(x):
        return x ** 3

    cube.defvjp(lambda x: (x ** 3, x), lambda x, g: (3 * x ** 2 * g,))

    def f(x):
        return np.sum(cube(x))

    np.testing.assert_allclose(s2s.jacrev(f)(X), 3 * X ** 2)
    with pytest.raises(s2s.NoDerivativeRuleError, match="cube, written as Python functions"):
        s2s.jacfwd(s2s.jacrev(f))(X)


def test_a_derivative_function_inside_a_differentiated_one_is_refused_honestly():
    jac = s2s.jacrev(f_vector)

    def inside(y):
        return jac(y)[0] @ V

    with pytest.raises(s2s.NoDerivativeRuleError, match="derivative function it made") as info:
        s2s.grad(inside)(X)
    assert "installed library" not in str(info.value)
    assert "s2s.jacfwd(s2s.jacrev(f))" in str(info.value)


def elementwise(x):
    return np.tanh(x) * x[0]


def elementwise_ag(x):
    return anp.tanh(x) * x[0]


@pytest.mark.parametrize("spelling", ["jacfwd", "jacrev"])
def test_jacobian_jvp_vjp_of_elementwise_grad(spelling):
    want = autograd.jacobian(autograd.elementwise_grad(elementwise_ag))(X)
    np.testing.assert_allclose(JACS[spelling](s2s.elementwise_grad(elementwise))(X), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s2s.jvp(s2s.elementwise_grad(elementwise), (X,), (V,))[1], want @ V, rtol=1e-10)
    np.testing.assert_allclose(s2s.vjp(s2s.elementwise_grad(elementwise), X)[1](V), V @ want, rtol=1e-10)
    np.testing.assert_allclose(want, central(s2s.elementwise_grad(elementwise), X), rtol=1e-6, atol=1e-7)


def test_hessian_of_a_vector_function_is_jax_and_autograd_hessian():
    got = s2s.hessian(f_vector)(X)  # jax.hessian and autograd.hessian take any output: (out, x, x)
    np.testing.assert_allclose(got, autograd.hessian(f_vector_ag)(X), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got, central(s2s.jacobian(f_vector), X), rtol=1e-6, atol=1e-7)
    blocks = s2s.hessian(f_two, wrt=(0, 1))(X, Y)
    for a in range(2):
        for b in range(2):
            want = autograd.jacobian(autograd.jacobian(f_two_ag, a), b)(X, Y)
            np.testing.assert_allclose(blocks[a][b], want, rtol=1e-10, atol=1e-12)


def two_scalar(x, y):
    return np.sum(np.sin(x) * y ** 2)


def two_scalar_ag(x, y):
    return anp.sum(anp.sin(x) * y ** 2)


def test_tuples_of_derivatives_nest_as_in_jax():
    # jax.hessian(f, argnums=(0, 1)) is jacfwd(jacrev(f, argnums=(0, 1)), argnums=(0, 1))
    got = s2s.jacfwd(s2s.jacrev(f_two, argnums=(0, 1)), argnums=(0, 1))(X, Y)
    for a in range(2):
        for b in range(2):
            want = autograd.jacobian(autograd.jacobian(f_two_ag, a), b)(X, Y)
            np.testing.assert_allclose(got[a][b], want, rtol=1e-10, atol=1e-12)
    mixed = s2s.jacobian(s2s.grad(two_scalar, wrt=(0, 1)), wrt=1)(X, Y)
    np.testing.assert_allclose(mixed[0], autograd.jacobian(autograd.grad(two_scalar_ag, 0), 1)(X, Y), rtol=1e-10)
    third = s2s.jacfwd(s2s.hessian(two_scalar, wrt=(0, 1)), argnums=1)(X, Y)
    want = autograd.jacobian(autograd.jacobian(autograd.grad(two_scalar_ag, 0), 1), 1)(X, Y)
    np.testing.assert_allclose(third[0][1], want, rtol=1e-10, atol=1e-12)


def test_jvp_and_vjp_of_a_tuple_of_jacobians():
    value, tangent = s2s.jvp(s2s.jacrev(f_two, argnums=(0, 1)), (X, Y), (V, None))
    for k in range(2):
        np.testing.assert_allclose(value[k], autograd.jacobian(f_two_ag, k)(X, Y), rtol=1e-12)
        want = autograd.jacobian(autograd.jacobian(f_two_ag, k), 0)(X, Y) @ V
        np.testing.assert_allclose(tangent[k], want, rtol=1e-10, atol=1e-12)
    cotangent = (RNG.normal(size=(3, 3)), RNG.normal(size=(3, 3)))
    got = s2s.vjp(s2s.jacrev(f_two, argnums=(0, 1)), X, Y, wrt=1)[1](cotangent)
    want = sum(np.tensordot(c, autograd.jacobian(autograd.jacobian(f_two_ag, k), 1)(X, Y), axes=2)
               for k, c in enumerate(cotangent))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    with pytest.raises(NonScalarOutputError, match="tuple of derivatives"):
        s2s.grad(s2s.grad(two_scalar, wrt=(0, 1)))(X, Y)
