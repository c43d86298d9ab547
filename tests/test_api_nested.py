"""s2s's own API values inside differentiated functions: s2s.flatten and its unflatten, grad of a NumPy
primitive (grad(np.sqrt)), elementwise_grad of elementwise_grad, and gradient functions called inside
functions that are differentiated again. Checked against central differences and autograd."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.misc import flatten as ag_flatten

import s2s
from tests.helpers_fd import assert_close, fd_grad

RNG = np.random.default_rng(7)


def _params():
    return [(RNG.normal(size=(3, 2)), RNG.normal(size=2)), (RNG.normal(size=(2, 1)), 0.7)]


# ---- s2s.flatten inside a differentiated function -------------------------------------------------

def l2(params):
    flat, _ = s2s.flatten(params)
    return np.dot(flat, flat) + np.sum(flat ** 3)


def ag_l2(params):
    flat, _ = ag_flatten(params)
    return anp.dot(flat, flat) + anp.sum(flat ** 3)


def test_flatten_inside_matches_autograd_and_fd():
    params = _params()
    got = s2s.grad(l2)(params)
    want = autograd.grad(ag_l2)(params)
    assert isinstance(got, list) and isinstance(got[1], tuple) and isinstance(got[1][1], float)
    assert_close(s2s.flatten(got)[0], ag_flatten(want)[0], rtol=1e-12)
    flat, unflatten = s2s.flatten(params)
    assert_close(s2s.flatten(got)[0], fd_grad(lambda v: l2(unflatten(v)), [flat]))


def test_flatten_inside_forward_mode_and_hessian():
    params = {"a": RNG.normal(size=3), "b": 0.3}
    flat, unflatten = s2s.flatten(params)

    def f(v):
        return l2(unflatten(v))

    assert_close(s2s.jvp(f, (flat,), (np.ones(flat.size),))[1], autograd.grad(lambda v: ag_l2(ag_flatten(params)[1](v)))(flat).sum())
    assert_close(s2s.hessian(f)(flat), autograd.hessian(lambda v: ag_l2(ag_flatten(params)[1](v)))(flat), rtol=1e-10)


def test_flatten_inside_unused_vector_gives_zeros():
    def f(params, x):
        flat, _ = s2s.flatten(params)
        return x * 2.0 + 0.0 * flat.size

    g = s2s.grad(f)({"w": np.ones(2), "b": 1.0}, 3.0)
    assert_close(s2s.flatten(g)[0], np.zeros(3))


def test_flatten_float32_and_empty():
    p32 = {"w": RNG.normal(size=4).astype(np.float32)}
    g = s2s.grad(lambda p: np.sum(s2s.flatten(p)[0] ** 2))(p32)
    assert_close(g["w"], 2 * p32["w"], rtol=1e-6)
    g_empty, g_x = s2s.grad(lambda p, x: x * x + np.sum(s2s.flatten(p)[0]), wrt=(0, 1))({"e": np.zeros(0)}, 2.0)
    assert g_x == 4.0 and g_empty["e"].shape == (0,)


def test_unflatten_made_inside_from_the_differentiated_structure_is_refused():
    def f(params):
        flat, unflatten = s2s.flatten(params)
        q = unflatten(flat * 2.0)
        return np.sum(q["w"] ** 2)

    with pytest.raises(s2s.errors.UnsupportedSyntaxError, match="depends on the differentiated input"):
        s2s.grad(f)({"w": np.ones(3)})


# ---- unflatten (from flat, unflatten = s2s.flatten(params)) called inside -------------------------

PARAMS = {"w": RNG.normal(size=(2, 3)), "b": 2.0, "layers": [RNG.normal(size=2), (0.5, RNG.normal(size=1))]}
FLAT0, UNFLATTEN = s2s.flatten(PARAMS)
AG_UNFLATTEN = ag_flatten(PARAMS)[1]


def objective(v):
    p = UNFLATTEN(v)
    out = np.sum(np.tanh(p["w"]) ** 2) * p["b"]
    for layer in p["layers"]:
        out = out + np.sum(np.sin(s2s.flatten(layer)[0]))
    return out


def ag_objective(v):
    p = AG_UNFLATTEN(v)
    out = anp.sum(anp.tanh(p["w"]) ** 2) * p["b"]
    for layer in p["layers"]:
        out = out + anp.sum(anp.sin(ag_flatten(layer)[0]))
    return out


def test_unflatten_inside_matches_autograd_and_fd():
    v = FLAT0 + 0.1
    got = s2s.grad(objective)(v)
    assert_close(got, autograd.grad(ag_objective)(v), rtol=1e-12)
    assert_close(got, fd_grad(objective, [v]))


def test_unflatten_inside_hvp_and_forward():
    v = FLAT0 - 0.2
    u = RNG.normal(size=v.size)
    assert_close(s2s.hvp(objective)(v, u), autograd.hessian_tensor_product(ag_objective)(v, u), rtol=1e-9)
    assert_close(s2s.jvp(objective, (v,), (u,))[1], autograd.grad(ag_objective)(v) @ u, rtol=1e-10)


def test_unflatten_of_a_reassigned_structure_is_fresh():
    global UNFLATTEN
    old = UNFLATTEN
    try:
        v = FLAT0 * 0.5
        first = s2s.grad(objective)(v)
        UNFLATTEN = s2s.flatten({"b": 1.0, "layers": [], "w": np.ones((2, 3))})[1]  # another order of leaves
        v2 = np.arange(7.0) / 10
        assert_close(s2s.grad(objective)(v2), fd_grad(objective, [v2]))
        assert first.shape == (FLAT0.size,)
    finally:
        UNFLATTEN = old


def test_unflatten_wrong_size_is_refused():
    with pytest.raises(ValueError, match="unflatten needs a vector"):
        s2s.grad(objective)(np.ones(3))


# ---- grad of a primitive itself (grad(np.sqrt)) ---------------------------------------------------

@pytest.mark.parametrize("name", ["sqrt", "tanh", "exp", "log1p", "sin"])
def test_grad_of_ufunc_and_its_second_derivative(name):
    f, af = getattr(np, name), getattr(anp, name)
    x = 0.7
    assert_close(s2s.grad(f)(x), autograd.grad(af)(x), rtol=1e-12)
    assert_close(s2s.grad(s2s.grad(f))(x), autograd.grad(autograd.grad(af))(x), rtol=1e-10)
    assert_close(s2s.grad(f)(x), fd_grad(f, [x]))
    xs = RNG.uniform(0.2, 1.0, size=5)
    assert_close(s2s.elementwise_grad(f)(xs), autograd.elementwise_grad(af)(xs), rtol=1e-12)


def test_grad_of_binary_ufunc_and_reduction():
    assert_close(s2s.grad(np.arctan2, wrt=1)(0.3, 1.2), autograd.grad(anp.arctan2, 1)(0.3, 1.2), rtol=1e-12)
    x = RNG.normal(size=(3, 3))
    assert_close(s2s.grad(np.sum)(x), np.ones((3, 3)))
    assert_close(s2s.grad(np.linalg.det)(x), autograd.grad(anp.linalg.det)(x), rtol=1e-10)


def test_grad_of_nondifferentiable_primitive_is_refused():
    with pytest.raises(s2s.S2SError):
        s2s.grad(np.floor)(0.5)


# ---- an output of one element in an array (autograd accepts it; bayesian_optimization relies on it) -----

def _expected_gain(mean, std, best):
    return best - (mean - best) * np.tanh(mean / std) + std * np.exp(-mean ** 2)


def size_one(x):
    return _expected_gain(np.sin(3.0 * x), np.exp(0.1 * x), 0.4)


def ag_size_one(x):
    mean, std, best = anp.sin(3.0 * x), anp.exp(0.1 * x), 0.4
    return best - (mean - best) * anp.tanh(mean / std) + std * anp.exp(-mean ** 2)


@pytest.mark.parametrize("shape", [(1,), (1, 1)])
def test_size_one_output_through_a_helper(shape):
    x = np.full(shape, 0.3)
    value, g = s2s.value_and_grad(size_one)(x)
    want_value, want_g = autograd.value_and_grad(ag_size_one)(x)
    assert np.shape(value) == shape and g.shape == shape
    assert_close(value, want_value, rtol=1e-12)
    assert_close(g, want_g, rtol=1e-12)
    assert_close(s2s.grad(size_one)(x), want_g, rtol=1e-12)
    assert_close(g, fd_grad(lambda v: size_one(v)[(0,) * len(shape)], [x]))
    assert_close(s2s.value_and_grad(lambda v: -size_one(v))(x)[1], -want_g, rtol=1e-12)


def test_size_one_output_of_a_scalar_argument_and_larger_outputs_refused():
    g = s2s.grad(lambda a: size_one(a * np.ones(1)))(0.3)
    assert_close(g, autograd.grad(lambda a: ag_size_one(a * anp.ones(1)))(0.3), rtol=1e-12)
    with pytest.raises(s2s.errors.NonScalarOutputError):
        s2s.value_and_grad(size_one)(np.full(2, 0.3))
    with pytest.raises(s2s.errors.NonScalarOutputError):
        s2s.grad(size_one)(np.full(2, 0.3))


def test_flatten_of_a_structure_also_read_directly():
    def f(params, x):
        flat, _ = s2s.flatten(params)
        return np.sum(np.tanh(x @ params["w"])) * params["b"] + 0.1 * np.dot(flat, flat)

    def ag_f(params, x):
        flat, _ = ag_flatten(params)
        return anp.sum(anp.tanh(x @ params["w"])) * params["b"] + 0.1 * anp.dot(flat, flat)

    params, x = {"w": RNG.normal(size=(3, 2)), "b": 1.3}, RNG.normal(size=(4, 3))
    got, want = s2s.grad(f)(params, x), autograd.grad(ag_f)(params, x)
    assert_close(got["w"], want["w"], rtol=1e-12)
    assert_close(got["b"], want["b"], rtol=1e-12)


# ---- elementwise_grad of elementwise_grad (autograd's tanh example), of grad -----------------------

def tanh_by_exp(x):
    y = np.exp(-2.0 * x)
    return (1.0 - y) / (1.0 + y)


def ag_tanh_by_exp(x):
    y = anp.exp(-2.0 * x)
    return (1.0 - y) / (1.0 + y)


def test_elementwise_grad_nested_four_times():
    x = np.linspace(-2.0, 2.0, 9)
    s, a = tanh_by_exp, ag_tanh_by_exp
    for _ in range(4):
        s, a = s2s.elementwise_grad(s), autograd.elementwise_grad(a)
        assert_close(s(x), a(x), rtol=1e-9, atol=1e-12)
    e = s2s.elementwise_grad
    assert_close(e(e(np.tanh))(x), autograd.elementwise_grad(autograd.elementwise_grad(anp.tanh))(x), rtol=1e-12)
    second = e(e(tanh_by_exp))
    assert_close(second(x), [fd_grad(e(tanh_by_exp), [v]) for v in x], rtol=1e-6)
    assert_close(second(0.3), autograd.elementwise_grad(autograd.elementwise_grad(ag_tanh_by_exp))(0.3), rtol=1e-12)


def coupled(x, c):
    return np.sum(np.sin(x) * np.roll(x, 1) * c) + np.sum(x ** 3)


def ag_coupled(x, c):
    return anp.sum(anp.sin(x) * anp.roll(x, 1) * c) + anp.sum(x ** 3)


def test_elementwise_grad_of_grad_is_hessian_times_ones():
    x, c = RNG.normal(size=5), RNG.normal(size=5)
    got = s2s.elementwise_grad(s2s.grad(coupled))(x, c)
    assert_close(got, autograd.elementwise_grad(autograd.grad(ag_coupled))(x, c), rtol=1e-10)
    assert_close(got, autograd.hessian(ag_coupled)(x, c).sum(axis=0), rtol=1e-10)


def test_elementwise_grad_of_a_non_elementwise_function_nested():
    def f(x):
        return np.cumsum(np.sin(x)) * x[::-1]

    def ag_f(x):
        return anp.cumsum(anp.sin(x)) * x[::-1]

    x = RNG.normal(size=6)
    e, ae = s2s.elementwise_grad, autograd.elementwise_grad
    assert_close(e(e(f))(x), ae(ae(ag_f))(x), rtol=1e-10)


def test_elementwise_grad_of_grad_of_another_parameter_is_refused():
    with pytest.raises(s2s.errors.NoDerivativeRuleError, match="same parameter"):
        s2s.elementwise_grad(s2s.grad(coupled, wrt=0), wrt=1)(np.ones(3), np.ones(3))


def test_grad_of_elementwise_grad_at_a_scalar():
    got = s2s.grad(s2s.elementwise_grad(tanh_by_exp))(0.4)
    assert_close(got, autograd.grad(autograd.elementwise_grad(ag_tanh_by_exp))(0.4), rtol=1e-12)


def test_elementwise_grad_nested_of_a_structured_output_is_refused():
    def f(x):
        return {"a": np.sin(x), "b": x ** 2}

    x = RNG.normal(size=3)
    first = s2s.elementwise_grad(f)(x)  # the first derivative takes any output
    assert_close(first, np.cos(x) + 2 * x)
    with pytest.raises(TypeError, match="returns a number or an array"):
        s2s.elementwise_grad(s2s.elementwise_grad(f))(x)


# ---- a derivative function called inside a differentiated function: refused at the user's line ----------

def loglike(r, p):
    return np.log(r) * p + r ** 2 * p


D_LOGLIKE = s2s.grad(loglike)
E_TANH = s2s.elementwise_grad(tanh_by_exp, wrt=(0,))
VG_LOGLIKE = s2s.value_and_grad(loglike)


def calls_a_global_gradient(r):
    return D_LOGLIKE(r, r / (r + 1.0))


def makes_a_gradient_inside(r):
    return s2s.grad(loglike)(r, r / (r + 1.0))


def calls_elementwise_grad(x):
    return np.sum(E_TANH(x)[0])


def calls_value_and_grad(r):
    return VG_LOGLIKE(r, 2.0)[1]


def test_gradient_function_called_inside_is_differentiated():
    # s2s.grad(f) with one wrt is differentiated where it is called (s2s/nested.py, tests/test_nested_grad.py)
    def ag_loglike(r, p):
        return anp.log(r) * p + r ** 2 * p

    def ag_inside(r):
        return autograd.grad(ag_loglike)(r, r / (r + 1.0))

    for f in (calls_a_global_gradient, makes_a_gradient_inside):
        assert_close(s2s.grad(f)(2.0), autograd.grad(ag_inside)(2.0), rtol=1e-12)


@pytest.mark.parametrize("f, mode", [(calls_elementwise_grad, "forward"), (calls_value_and_grad, "reverse")])
def test_derivative_function_called_inside_is_refused_clearly(f, mode):
    assert np.isfinite(f(2.0))  # runs as plain Python
    with pytest.raises(s2s.errors.NoDerivativeRuleError, match="derivative function it made") as info:
        if mode == "reverse":
            s2s.grad(f)(2.0)
        else:
            s2s.jvp(f, (2.0,), (1.0,))
    assert info.value.lineno is not None and "test_api_nested.py" in str(info.value.filename)
    assert "s2s.hessian" in info.value.hint


def test_value_and_grad_function_is_named_as_made_by_s2s():
    from s2s import frontend
    for made in (VG_LOGLIKE, D_LOGLIKE, E_TANH, s2s.elementwise_grad(tanh_by_exp)):
        message, hint = frontend.no_rule_text(made)
        assert "derivative function it made" in message and "s2s.hvp" in hint
    assert "derivative function" not in frontend.no_rule_text(np.floor)[0]
