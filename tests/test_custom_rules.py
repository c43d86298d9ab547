"""Derivative rules written as Python functions: s2s.custom_vjp / s2s.custom_jvp (JAX's decorators),
s2s.defvjp / s2s.defjvp with functions (autograd's form), and names inside string rules resolved in
the module where the rule was written.

Each rule is checked to be *used*: rules that differ from the true derivative (gradient clipping, a
straight-through estimator) give their own numbers, and rules for functions s2s cannot read make
grad work, against finite differences and, where the rule is the true derivative, autograd with the
same rule."""

import sys

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import scipy.integrate
from autograd.extend import defvjp as ag_defvjp
from autograd.extend import primitive

import s2s
from tests.helpers_fd import assert_close, fd_grad

RNG = np.random.default_rng(1551)


# ---------------------------------------------------------------- custom_vjp: gradient clipping


@s2s.custom_vjp
def clip_gradient(x, lo, hi):
    return x


def _clip_fwd(x, lo, hi):
    return x, (lo, hi)


def _clip_bwd(res, g):
    lo, hi = res
    return np.clip(g, lo, hi), None, None


clip_gradient.defvjp(_clip_fwd, _clip_bwd)


def clipped_loss(x):
    return np.sum(clip_gradient(x * 3.0, -1.0, 1.0) ** 2)


def test_custom_vjp_rule_is_used_not_the_true_derivative():
    x = np.array([0.1, -0.05, 2.0, -3.0])
    g = s2s.grad(clipped_loss)(x)
    expected = np.clip(2 * 3.0 * x, -1.0, 1.0) * 3.0  # the clipped cotangent, then d(3x)/dx
    assert_close(g, expected)
    assert not np.allclose(g, fd_grad(clipped_loss, (x,)))  # the true derivative differs
    assert f"s2s.custom.cotangents('{__name__}.clip_gradient'" in s2s.source(s2s.grad(clipped_loss))


def test_custom_vjp_in_a_loop_sees_each_iterations_values():
    @s2s.custom_vjp
    def scale_grad(x, s):
        return x

    scale_grad.defvjp(lambda x, s: (x, s), lambda s, g: (g * s, None))

    def f(x):
        for i in range(3):
            x = np.sin(scale_grad(x, float(i + 1)))
        return np.sum(x)

    x = RNG.normal(size=3)
    g = s2s.grad(f)(x)
    # by hand: each step multiplies the cotangent by cos(input) * (i + 1)
    xs = [x]
    for _ in range(3):
        xs.append(np.sin(xs[-1]))
    expected = np.ones(3)
    for i in reversed(range(3)):
        expected = expected * np.cos(xs[i]) * (i + 1)
    assert_close(g, expected)


def test_custom_vjp_directly_and_with_keywords_and_tuple_wrt():
    @s2s.custom_vjp
    def mul(x, y=2.0):
        return x * y

    mul.defvjp(lambda x, y=2.0: (x * y, (x, y)), lambda res, g: (g * res[1], np.sum(g * res[0])))
    assert np.isclose(s2s.grad(mul)(3.0, 4.0), 4.0)
    assert np.isclose(s2s.grad(mul, argnums=1)(3.0, 4.0), 3.0)

    def f(x, y):
        return np.sum(mul(x, y=y)) + np.sum(mul(x))

    x = RNG.normal(size=3)
    gx, gy = s2s.grad(f, wrt=(0, 1))(x, 0.5)
    assert_close(gx, fd_grad(f, (x, 0.5), wrt=0))
    assert np.isclose(gy, fd_grad(f, (x, 0.5), wrt=1))


def test_custom_vjp_nondiff_argnums_and_bwd_errors():
    @s2s.custom_vjp(nondiff_argnums=(0,))
    def apply(fn, x):
        return fn(x)

    def fwd(fn, x):
        return fn(x), x

    def bwd(fn, x, g):
        return (g * 2.0 * x,)  # d(x ** 2)/dx

    apply.defvjp(fwd, bwd)

    def square(v):
        return v ** 2

    def f(x):
        return np.sum(apply(square, x))

    x = RNG.normal(size=4)
    assert_close(s2s.grad(f)(x), 2 * x)

    @s2s.custom_vjp
    def bad(x):
        return x

    bad.defvjp(lambda x: (x, None), lambda res, g: g)  # not a tuple
    with pytest.raises(TypeError, match="must return a tuple with one cotangent per differentiable argument"):
        s2s.grad(lambda x: np.sum(bad(x)))(np.ones(2))


def test_custom_vjp_refuses_forward_mode():
    with pytest.raises(s2s.NoDerivativeRuleError, match="no forward-mode rule for clip_gradient"):
        s2s.jvp(clipped_loss, (np.ones(2),), (np.ones(2),))


def test_custom_vjp_without_defvjp_is_refused():
    @s2s.custom_vjp
    def nothing_yet(x):
        return x

    with pytest.raises(s2s.S2SError):
        s2s.grad(lambda x: np.sum(nothing_yet(x) ** 2))(np.ones(2))


# ---------------------------------------------------------------- autograd's defvjp form


def ste_round(x):
    return np.round(x)


s2s.defvjp(ste_round, lambda ans, x: lambda g: g)  # straight-through estimator


def test_straight_through_estimator():
    def f(x):
        return np.sum(ste_round(x * 3.0) ** 2)

    x = np.array([0.2, 0.7, -1.1])
    assert_close(s2s.grad(f)(x), 2 * np.round(3 * x) * 3.0)
    assert f"s2s.custom.vjp('{__name__}.ste_round', 0," in s2s.source(s2s.grad(f))


def _gauss_integral(a):
    # scipy's quad: C code s2s cannot read
    return scipy.integrate.quad(lambda t: np.exp(-a * t * t), 0.0, 1.0)[0]


def test_rule_for_a_function_s2s_cannot_read_makes_grad_work():
    def integral(a, b):
        return _gauss_integral(a) * b

    def f(a, b):
        return integral(a, b) ** 2

    with pytest.raises(s2s.S2SError):
        s2s.grad(f)(0.5, 2.0)

    def d_da(ans, a, b):
        slope = -scipy.integrate.quad(lambda t: t * t * np.exp(-a * t * t), 0.0, 1.0)[0] * b
        return lambda g: g * slope

    s2s.defvjp(integral, d_da, lambda ans, a, b: lambda g: g * ans / b)
    ga, gb = s2s.grad(f, argnums=(0, 1))(0.5, 2.0)
    assert np.isclose(ga, fd_grad(f, (0.5, 2.0), wrt=0), rtol=1e-6)
    assert np.isclose(gb, fd_grad(f, (0.5, 2.0), wrt=1), rtol=1e-6)

    # autograd with the same rule gives the same numbers
    prim = primitive(lambda a, b: _gauss_integral(a) * b)
    ag_defvjp(prim, d_da, lambda ans, a, b: lambda g: g * ans / b)
    assert np.isclose(ga, autograd.grad(lambda a, b: prim(a, b) ** 2, 0)(0.5, 2.0))
    assert np.isclose(gb, autograd.grad(lambda a, b: prim(a, b) ** 2, 1)(0.5, 2.0))


def test_autograd_form_with_argnums_and_a_missing_argument():
    def wsum(x, w):
        return np.sum(x * w)

    s2s.defvjp(wsum, lambda ans, x, w: lambda g: g * w, argnums=(0,))
    x, w = RNG.normal(size=3), RNG.normal(size=3)
    assert_close(s2s.grad(lambda x, w: wsum(x, w) ** 2)(x, w), 2 * np.sum(x * w) * w)
    with pytest.raises(s2s.NoDerivativeRuleError, match="with respect to its argument 'w'"):
        s2s.grad(lambda x, w: wsum(x, w) ** 2, wrt=1)(x, w)
    with pytest.raises(TypeError, match="one per argument number"):
        s2s.defvjp(wsum, lambda ans, x, w: None, argnums=(0, 1))


def test_autograd_form_defaults_and_keywords_reach_the_maker():
    seen = []

    def scaled(x, scale=3.0):
        return x * scale

    def maker(ans, x, scale=3.0):
        seen.append(scale)
        return lambda g: g * scale

    s2s.defvjp(scaled, maker)
    x = RNG.normal(size=2)
    assert_close(s2s.grad(lambda x: np.sum(scaled(x)))(x), [3.0, 3.0])
    assert_close(s2s.grad(lambda x: np.sum(scaled(x, scale=0.5)))(x), [0.5, 0.5])
    assert seen == [3.0, 0.5]


def test_autograd_form_maker_that_takes_only_what_the_call_passed():
    # autograd calls a maker with what the call passed: `lambda ans, x` for a ufunc (whose signature goes on
    # with `out=None, *, where=True, ...`) or for a function whose default the call left out
    def shifted(x, by=1.0, *, twice=False):
        return (x + by) * (2.0 if twice else 1.0)

    def act(x, out=None, *, where=True, casting="same_kind"):  # a ufunc's signature (np.tanh's, reduced)
        return np.tanh(x, out=out, where=where, casting=casting)

    s2s.defvjp(shifted, lambda ans, x: lambda g: g * 7.0)
    s2s.defvjp(act, lambda ans, x: lambda g: g * 5.0)
    x = RNG.normal(size=3)
    for _ in range(2):
        assert_close(s2s.grad(lambda x: np.sum(shifted(x)))(x), [7.0] * 3)
        assert_close(s2s.grad(lambda x: np.sum(act(x)))(x), [5.0] * 3)
    with pytest.raises(TypeError):  # a value the call passed that the maker has no parameter for (as autograd)
        s2s.grad(lambda x: np.sum(shifted(x, 2.0)))(x)


def test_removing_every_maker_gives_back_the_rule_before():
    x = RNG.normal(size=3)
    g = s2s.grad(lambda x: np.sum(np.tanh(x)))
    want = 1.0 - np.tanh(x) ** 2
    assert_close(g(x), want)
    try:
        s2s.defvjp(np.tanh, lambda ans, x: lambda g: g * 5.0)
        for _ in range(2):
            assert_close(g(x), [5.0] * 3)  # the same gradient function sees the rule (rules.version)
    finally:
        s2s.defvjp(np.tanh, None)  # s2s's own rule for np.tanh again
    for _ in range(2):
        assert_close(g(x), want)

    def cubed(x):
        return x ** 3

    s2s.defvjp(cubed, lambda ans, x: lambda g: g * 0.0)
    h = s2s.grad(lambda x: np.sum(cubed(x)))
    assert_close(h(x), [0.0] * 3)
    s2s.defvjp(cubed, None)  # no rule: its source is differentiated again
    assert_close(h(x), 3 * x ** 2)


def test_autograd_form_matches_autograd_on_a_true_rule():
    def logsumexp(x):
        return np.log(np.sum(np.exp(x)))

    s2s.defvjp(logsumexp, lambda ans, x: lambda g: g * np.exp(x - ans))

    def f(x):
        return logsumexp(x * 2.0) * np.sum(x)

    x = RNG.normal(size=4)

    @primitive
    def ag_lse(x):
        return anp.log(anp.sum(anp.exp(x)))

    ag_defvjp(ag_lse, lambda ans, x: lambda g: g * anp.exp(x - ans))
    assert_close(s2s.grad(f)(x), autograd.grad(lambda x: ag_lse(x * 2.0) * anp.sum(x))(x))
    assert_close(s2s.grad(f)(x), fd_grad(f, (x,)))


def test_defvjp_refuses_a_mix_of_forms():
    def h(x):
        return x

    with pytest.raises(TypeError, match="not both"):
        s2s.defvjp(h, lambda ans, x: lambda g: g, x="g")
    with pytest.raises(TypeError, match="needs rules"):
        s2s.defvjp(h)


# ---------------------------------------------------------------- forward mode: custom_jvp, defjvp


@s2s.custom_jvp
def softplus(x):
    return np.log1p(np.exp(x))


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus(x), t / (1.0 + np.exp(-x))


def test_custom_jvp_forward_mode_and_jacfwd():
    def f(x):
        return softplus(x * 2.0) * x

    x, t = RNG.normal(size=3), RNG.normal(size=3)
    value, tangent = s2s.jvp(f, (x,), (t,))
    assert_close(value, f(x))
    eps = 1e-6
    assert_close(tangent, (f(x + eps * t) - f(x - eps * t)) / (2 * eps), rtol=1e-5)
    jac = s2s.jacfwd(f)(x)
    sig = 1.0 / (1.0 + np.exp(-2.0 * x))
    assert_close(jac, np.diag(2.0 * sig * x + softplus(2.0 * x)))


def test_custom_jvp_rule_is_used_in_forward_and_reverse():
    @s2s.custom_jvp
    def f(x, y):
        return np.sin(x) * y

    @f.defjvp
    def f_jvp(primals, tangents):  # deliberately not sin's derivative: 10 * tx + ty
        (x, y), (tx, ty) = primals, tangents
        return f(x, y), 10.0 * tx + ty

    x, y = RNG.normal(size=3), RNG.normal(size=3)
    _, tangent = s2s.jvp(lambda x, y: f(x, y), (x, y), (np.ones(3), None))
    assert_close(tangent, 10.0 * np.ones(3))
    # reverse mode from the same rule (one jvp per element): the transposed map
    gx, gy = s2s.grad(lambda x, y: np.sum(f(x, y) * np.arange(3.0)), wrt=(0, 1))(x, y)
    assert_close(gx, 10.0 * np.arange(3.0))
    assert_close(gy, np.arange(3.0))


def test_autograd_defjvp_form():
    def cube(x):
        return x ** 3

    s2s.defjvp(cube, lambda g, ans, x: 3 * x ** 2 * g)
    assert np.allclose(s2s.jvp(cube, (2.0,), (1.0,)), (8.0, 12.0))
    x = RNG.normal(size=3)
    assert_close(s2s.jacfwd(lambda x: cube(x) * 2.0)(x), np.diag(6.0 * x ** 2))
    with pytest.raises(s2s.NoDerivativeRuleError):  # no reverse rule given
        s2s.grad(lambda x: np.sum(cube(x)))(x)


# ---------------------------------------------------------------- second order


def test_hessian_through_a_python_rule_is_refused_clearly():
    with pytest.raises(s2s.NoDerivativeRuleError, match=f"rule of {__name__}.clip_gradient, written as "
                                                        "Python functions"):
        s2s.hessian(clipped_loss)(np.ones(2))
    with pytest.raises(s2s.NoDerivativeRuleError, match="does not differentiate it again"):
        s2s.hvp(lambda x: np.sum(ste_round(x) ** 2))(np.ones(2), np.ones(2))


def test_hessian_through_a_string_rule_works():
    def cubic(x):
        return x ** 3

    s2s.defvjp(cubic, "x", x="g * 3.0 * x ** 2", x_dot="x_dot * 3.0 * x ** 2")

    def f(x):
        return np.sum(cubic(x) * x)

    x = RNG.normal(size=3)
    H = s2s.hessian(f)(x)
    expected = np.stack([fd_grad(lambda x, i=i: s2s.grad(f)(x)[i], (x,)) for i in range(3)])
    assert_close(H, expected, rtol=1e-5, atol=1e-6)
    assert_close(H, np.diag(12.0 * x ** 2))


# ---------------------------------------------------------------- names in string rules: where written


def test_names_in_a_string_rule_mean_what_they_mean_where_it_was_written(tmp_path, monkeypatch):
    (tmp_path / "my_rules_module.py").write_text(
        "import numpy as np\n"
        "import s2s\n"
        "def slope(x):\n"
        "    return 2.0 * x\n"
        "def prim(x):\n"
        "    return x * x\n"
        "s2s.defvjp(prim, 'x', x='g * slope(x)', x_dot='x_dot * slope(x)')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import my_rules_module
    prim = my_rules_module.prim

    def slope(x):  # a different `slope` where the differentiated function lives
        return -1000.0 * x

    def f(x):
        return np.sum(prim(x) * 3.0) + np.sum(slope(x) * 0.0)

    x = RNG.normal(size=3)
    assert_close(s2s.grad(f)(x), 6.0 * x)
    assert_close(s2s.jvp(f, (x,), (np.ones(3),))[1], np.sum(6.0 * x))
    assert "s2s.custom.name('my_rules_module', 'slope')" in s2s.source(s2s.grad(f))
    assert_close(s2s.hessian(f)(x), 6.0 * np.eye(3))
    sys.modules.pop("my_rules_module", None)


# ---------------------------------------------------------------- regressions


def test_a_rule_whose_function_returns_a_tuple_gets_the_whole_cotangent():
    # the tuple's adjoint was accumulated with `+`, concatenating the parts' lists (half the gradient)
    @s2s.custom_vjp
    def pair(x):
        return x * 2.0, x * 3.0

    pair.defvjp(lambda x: (pair(x), None), lambda res, g: (g[0] * 2.0 + g[1] * 3.0,))

    def pair2(x):
        return x * 2.0, x * 3.0

    s2s.defvjp(pair2, lambda ans, x: lambda g: g[0] * 2.0 + g[1] * 3.0)

    for fn in (pair, pair2):
        def f(x, fn=fn):
            a, b = fn(x)
            return np.sum(a * b) + np.sum(fn(x)[1])

        x = RNG.normal(size=3)
        assert_close(s2s.grad(f)(x), 12.0 * x + 3.0)
        assert_close(s2s.grad(f)(x), fd_grad(f, (x,)))


def test_custom_jvp_with_a_tuple_output():
    @s2s.custom_jvp
    def sincos(x):
        return np.sin(x), np.cos(x)

    @sincos.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        return sincos(x), (np.cos(x) * t, -np.sin(x) * t)

    def f(x):
        s, c = sincos(x)
        return s * c

    x, t = RNG.normal(size=3), RNG.normal(size=3)
    _, tangent = s2s.jvp(f, (x,), (t,))
    assert_close(tangent, np.cos(2 * x) * t)
    assert_close(s2s.grad(lambda x: np.sum(f(x)))(x), np.cos(2 * x))


def test_custom_rules_in_helpers_and_float32():
    @s2s.custom_vjp
    def double(x):
        return x * 2.0

    double.defvjp(lambda x: (x * 2.0, None), lambda res, g: (g * 2.0,))

    def helper(x):
        return np.sum(double(x) ** 2)

    def f(x):
        return helper(x * 2.0)

    x = RNG.normal(size=3)
    assert_close(s2s.grad(f)(x), 32.0 * x)
    g32 = s2s.grad(f)(x.astype(np.float32))
    assert g32.dtype == np.float32
    assert_close(g32, 32.0 * x.astype(np.float32), rtol=1e-5)
    assert np.isclose(s2s.grad(f)(0.5), 16.0)


def test_a_random_fwd_is_refused_not_paired_with_another_output():
    rng = np.random.default_rng(0)

    @s2s.custom_vjp
    def noisy(x):
        return x + rng.normal(size=np.shape(x))

    def fwd(x):
        noise = rng.normal(size=np.shape(x))
        return x + noise, noise

    noisy.defvjp(fwd, lambda noise, g: (g * (1.0 + noise),))  # a gradient that depends on the draw
    with pytest.raises(ValueError, match="must compute the function's own value and be deterministic"):
        s2s.grad(lambda x: np.sum(noisy(x) ** 2))(np.ones(3))


def test_names_in_a_string_rule_written_inside_a_function_are_its_locals():
    def register():
        def local_slope(x):
            return 3.0 * x ** 2

        def prim3(x):
            return x ** 3

        s2s.defvjp(prim3, "x", x="g * local_slope(x)")
        return prim3

    prim3 = register()
    x = RNG.normal(size=3)
    assert_close(s2s.grad(lambda x: np.sum(prim3(x)))(x), 3.0 * x ** 2)


def test_autograd_style_primitive_ports_by_changing_imports():
    @s2s.primitive
    def lse(x):
        m = np.max(x)
        return m + np.log(np.sum(np.exp(x - m)))

    def lse_vjp(ans, x):
        shape = x.shape
        return lambda g: np.full(shape, g) * np.exp(x - np.full(shape, ans))

    s2s.defvjp(lse, lse_vjp)

    def example(y):
        return np.sum(lse(y ** 2))

    y = RNG.normal(size=6)
    g = s2s.grad(example)(y)
    assert_close(g, fd_grad(example, (y,)))

    @primitive
    def ag_lse(x):
        m = anp.max(x)
        return m + anp.log(anp.sum(anp.exp(x - m)))

    ag_defvjp(ag_lse, lambda ans, x: lambda g: anp.full(x.shape, g) * anp.exp(x - anp.full(x.shape, ans)))
    assert_close(g, autograd.grad(lambda y: anp.sum(ag_lse(y ** 2)))(y))


def test_custom_vjp_bwd_cotangent_of_another_shape_refused():
    """As JAX: a scalar cotangent for a (3,) argument is a mistake in the rule, not broadcast (it gave [3 3 3])."""
    @s2s.custom_vjp
    def twice(a):
        return a * 2

    twice.defvjp(lambda a: (a * 2, None), lambda res, g: (np.sum(g),))
    with pytest.raises(s2s.errors.CustomRuleError, match=r"cotangent of shape \(\) for its argument 'a' of shape"):
        s2s.grad(lambda v: np.sum(twice(v)))(np.array([0.3, 0.7, 1.1]))

    @s2s.custom_vjp
    def twice_ok(a):
        return a * 2

    twice_ok.defvjp(lambda a: (a * 2, None), lambda res, g: (2 * g,))
    x = np.array([0.3, 0.7, 1.1])
    np.testing.assert_allclose(s2s.grad(lambda v: np.sum(twice_ok(v)))(x), 2 * np.ones(3))
    assert s2s.grad(lambda v: twice_ok(v))(0.5) == 2.0


def test_custom_vjp_nondiff_argument_depending_on_the_input_refused():
    """As JAX: the rule gives a nondiff_argnums argument no cotangent, so one that depends on the input would lose
    its part of the derivative (d/dv sum(v * v) came out as v instead of 2v)."""
    import functools

    @functools.partial(s2s.custom_vjp, nondiff_argnums=(1,))
    def scaled(a, arr):
        return a * arr

    scaled.defvjp(lambda a, arr: (a * arr, None), lambda arr, res, g: (g * arr,))
    x = np.array([0.3, 0.7, 1.1])
    with pytest.raises(s2s.UnsupportedSyntaxError, match="is in nondiff_argnums, but it depends on the input"):
        s2s.grad(lambda v: np.sum(scaled(v, v)))(x)
    c = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(s2s.grad(lambda v: np.sum(scaled(v, c)))(x), c)
    np.testing.assert_allclose(s2s.grad(lambda v: np.sum(scaled(v, s2s.stop_gradient(v))))(x), x)
