"""s2s.grad(f) called inside a function s2s differentiates (s2s/nested.py): second derivatives through its
reverse-mode and forward-mode derivatives, third derivatives through forward mode over the pullback.
Checked against autograd (which nests grad) and central differences of the lower derivative."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.scipy.special import gammaln as ag_gammaln
from scipy.special import gammaln

import s2s
from tests.helpers_fd import assert_close, fd_grad

# ---- autograd's example negative_binomial_maxlike: Newton's method on d/dr loglike(r, p(r)) ----------------

COUNTS = np.array([1.0, 3.0, 0.0, 7.0, 2.0, 4.0, 0.0, 9.0])


def negbin_loglike(r, p, x):
    return gammaln(r + x) - gammaln(r) - gammaln(x + 1) + x * np.log(p) + r * np.log(1 - p)


def loglike(r, p):
    return np.sum(negbin_loglike(r, p, COUNTS))


def p_of(r):
    return np.sum(COUNTS) / np.sum(r + COUNTS)


def rprime(r):
    return s2s.grad(loglike)(r, p_of(r))  # a gradient function made and called inside


def ag_loglike(r, p):
    x = COUNTS
    return anp.sum(ag_gammaln(r + x) - ag_gammaln(r) - ag_gammaln(x + 1) + x * anp.log(p) + r * anp.log(1 - p))


def ag_rprime(r):
    return autograd.grad(ag_loglike)(r, anp.sum(COUNTS) / anp.sum(r + COUNTS))


@pytest.mark.parametrize("r", [0.7, 2.0, 5.5])
def test_negative_binomial_second_and_third_derivatives(r):
    first = s2s.grad(rprime)(r)
    assert_close(first, autograd.grad(ag_rprime)(r), rtol=1e-12)
    assert_close(first, fd_grad(rprime, [r]), rtol=1e-6)
    second = s2s.grad(s2s.grad(rprime))(r)
    assert_close(second, autograd.grad(autograd.grad(ag_rprime))(r), rtol=1e-10)
    assert_close(second, fd_grad(s2s.grad(rprime), [r]), rtol=1e-6)


def test_negative_binomial_newton_step_converges_like_autograd():
    import scipy.optimize
    ours = scipy.optimize.newton(rprime, 1.0, fprime=s2s.grad(rprime), fprime2=s2s.grad(s2s.grad(rprime)))
    theirs = scipy.optimize.newton(ag_rprime, 1.0, fprime=autograd.grad(ag_rprime),
                                   fprime2=autograd.grad(autograd.grad(ag_rprime)))
    assert_close(ours, theirs, rtol=1e-10)
    assert abs(rprime(ours)) < 1e-8


# ---- a global gradient function, other parameters, keyword calls ---------------------------------------------

def smooth(r, p):
    return np.log(r) * p + r ** 2 * p ** 3 + np.sin(r * p)


def ag_smooth(r, p):
    return anp.log(r) * p + r ** 2 * p ** 3 + anp.sin(r * p)


D_SMOOTH = s2s.grad(smooth)
DP_SMOOTH = s2s.grad(smooth, wrt="p")


def calls_a_global_gradient(r):
    return D_SMOOTH(r, r / (r + 1.0))


def ag_calls_a_global_gradient(r):
    return autograd.grad(ag_smooth)(r, r / (r + 1.0))


def calls_by_keyword(a):
    return DP_SMOOTH(p=a, r=1.5) * a + s2s.grad(smooth, argnums=1)(a * a, 0.8)


def ag_calls_by_keyword(a):
    return autograd.grad(ag_smooth, 1)(1.5, a) * a + autograd.grad(ag_smooth, 1)(a * a, 0.8)


@pytest.mark.parametrize("f, ag", [(calls_a_global_gradient, ag_calls_a_global_gradient),
                                   (calls_by_keyword, ag_calls_by_keyword)], ids=["global", "keyword"])
def test_scalar_gradients_inside_match_autograd_to_third_order(f, ag):
    x = 0.9
    assert_close(s2s.grad(f)(x), autograd.grad(ag)(x), rtol=1e-12)
    assert_close(s2s.grad(s2s.grad(f))(x), autograd.grad(autograd.grad(ag))(x), rtol=1e-10)
    assert_close(s2s.grad(s2s.grad(f))(x), fd_grad(s2s.grad(f), [x]), rtol=1e-6)
    assert_close(s2s.jvp(f, (x,), (0.3,))[1], 0.3 * autograd.grad(ag)(x), rtol=1e-12)


# ---- arrays: the pullback as a Hessian-vector product, and forward over forward over forward ---------------

X = np.array([[1.0, 0.5, -0.3], [0.2, -0.7, 1.1]])
C = np.array([0.3, -1.2, 0.7])
W0 = np.array([0.2, -0.4, 0.9])


def vec_loss(w, s):
    return np.sum(np.tanh(X @ w) * s) + s ** 3 * np.sum(w ** 2)


def ag_vec_loss(w, s):
    return anp.sum(anp.tanh(anp.dot(X, w)) * s) + s ** 3 * anp.sum(w ** 2)


G_W = s2s.grad(vec_loss)
G_S = s2s.grad(vec_loss, wrt=1)


def through_vector_gradient(w):
    return np.sum(G_W(w, 1.3) * C) + np.sum(w ** 2)


def ag_through_vector_gradient(w):
    return anp.sum(autograd.grad(ag_vec_loss)(w, 1.3) * C) + anp.sum(w ** 2)


def vector_in_number_out(w):
    return G_S(w, np.sum(w) ** 2) ** 2


def ag_vector_in_number_out(w):
    return autograd.grad(ag_vec_loss, 1)(w, anp.sum(w) ** 2) ** 2


@pytest.mark.parametrize("f, ag", [(through_vector_gradient, ag_through_vector_gradient),
                                   (vector_in_number_out, ag_vector_in_number_out)], ids=["vector-out", "number-out"])
def test_vector_arguments_gradient_and_hessian(f, ag):
    g = s2s.grad(f)(W0)
    assert_close(g, autograd.grad(ag)(W0), rtol=1e-12)
    assert_close(g, fd_grad(f, [W0]), rtol=1e-6)
    h = s2s.hessian(f)(W0)
    assert_close(h, autograd.hessian(ag)(W0), rtol=1e-10)
    assert_close(h, np.stack([fd_grad(lambda w, i=i: s2s.grad(f)(w)[i], [W0]) for i in range(3)]), rtol=1e-6)
    t = np.array([0.5, -1.0, 2.0])
    assert_close(s2s.hvp(f)(W0, t), autograd.hessian(ag)(W0) @ t, rtol=1e-10)


def vector_held_constant(s):
    return np.sum(G_W(W0, s) * C) * s  # G differentiates w, an array; only s varies


def ag_vector_held_constant(s):
    return anp.sum(autograd.grad(ag_vec_loss)(W0, s) * C) * s


def test_number_argument_of_a_vector_gradient_to_third_order():
    s = 0.8
    assert_close(s2s.grad(vector_held_constant)(s), autograd.grad(ag_vector_held_constant)(s), rtol=1e-12)
    second = s2s.grad(s2s.grad(vector_held_constant))(s)
    assert_close(second, autograd.grad(autograd.grad(ag_vector_held_constant))(s), rtol=1e-10)
    assert_close(second, fd_grad(s2s.grad(vector_held_constant), [s]), rtol=1e-6)


def test_gradient_function_differentiated_at_the_top_level():
    value, pullback = s2s.vjp(G_W, W0, 1.3)
    assert_close(value, autograd.grad(ag_vec_loss)(W0, 1.3), rtol=1e-12)
    assert_close(pullback(C), autograd.grad(lambda w: anp.sum(autograd.grad(ag_vec_loss)(w, 1.3) * C))(W0),
                 rtol=1e-12)
    t = np.array([0.1, 0.2, -0.3])
    _, tangent = s2s.jvp(G_W, (W0, 1.3), (t, 0.5))
    assert_close(tangent, autograd.hessian(ag_vec_loss)(W0, 1.3) @ t
                 + 0.5 * autograd.jacobian(autograd.grad(ag_vec_loss), 1)(W0, 1.3), rtol=1e-12)


# ---- what stays refused, with the reason -------------------------------------------------------------------

def inside_with_aux(r):
    return s2s.grad(lambda a, b: (smooth(a, b), 0.0), has_aux=True)(r, 2.0)[0]


def inside_tuple_wrt(r):
    return s2s.grad(smooth, wrt=(0, 1))(r, 2.0)[0]


def inside_value_and_grad(r):
    return s2s.value_and_grad(smooth)(r, 2.0)[1]


def inside_grad_of_grad(r):
    return s2s.grad(s2s.grad(smooth))(r, 2.0)


def inside_jacobian_of_gradient(r):
    return s2s.jacobian(D_SMOOTH)(r, 2.0)


@pytest.mark.parametrize("f", [inside_with_aux, inside_tuple_wrt, inside_value_and_grad, inside_grad_of_grad,
                               inside_jacobian_of_gradient])
def test_other_derivative_functions_inside_stay_refused(f):
    assert np.isfinite(f(1.2))
    with pytest.raises(s2s.errors.NoDerivativeRuleError, match="derivative function it made") as info:
        s2s.grad(f)(1.2)
    assert "test_nested_grad.py" in str(info.value.filename)
    assert "s2s.grad(f, wrt=i)" in info.value.hint


def gradient_of_a_closure_over_the_input(a):
    return s2s.grad(lambda r: smooth(r, a))(1.5)


def test_gradient_of_a_closure_over_the_differentiated_input_is_refused():
    # (adv223: the message spoke of a functools.wraps wrapper; it says what carries the derivative, and the hint works)
    with pytest.raises(s2s.errors.NoDerivativeRuleError, match=r"call of s2s.grad itself.*reads, from the enclosing"):
        s2s.grad(gradient_of_a_closure_over_the_input)(0.7)
    got = s2s.grad(gradient_through_an_argument)(0.7)
    assert_close(got, (gradient_through_an_argument(0.7 + 1e-6) - gradient_through_an_argument(0.7 - 1e-6)) / 2e-6,
                 rtol=1e-6, atol=1e-8)


def jvp_inside(a):
    return s2s.jvp(lambda r: smooth(r, 2.0), (a,), (1.0,))[1]


def test_another_derivative_function_inside_says_which_are_differentiated():
    # (adv224: the closure message, with a hint that failed when followed, for s2s.jvp and s2s.hessian)
    with pytest.raises(s2s.errors.NoDerivativeRuleError, match=r"call of s2s.jvp inside.*s2s.grad\(f\) there") as e:
        s2s.grad(jvp_inside)(0.7)
    assert "top level" in str(e.value) and "reads, from the enclosing" not in str(e.value)


def gradient_through_an_argument(a):  # (the hint's form: the value passed in)
    return s2s.grad(lambda r, a: smooth(r, a))(1.5, a)


# ---- the derivative follows a rebound global of the function inside ------------------------------------------

ACT = np.sin


def uses_act(r, p):
    return np.sum(ACT(r * p)) * p


def calls_uses_act(r):
    return s2s.grad(uses_act)(r, r + 1.0)


def test_rebinding_a_global_of_the_inner_function_makes_the_derivatives_again():
    global ACT
    r = 0.4
    before, before2 = s2s.grad(calls_uses_act)(r), s2s.grad(s2s.grad(calls_uses_act))(r)
    try:
        ACT = np.cos
        after, after2 = s2s.grad(calls_uses_act)(r), s2s.grad(s2s.grad(calls_uses_act))(r)
        assert_close(after, fd_grad(calls_uses_act, [r]), rtol=1e-6)
        assert_close(after2, fd_grad(s2s.grad(calls_uses_act), [r]), rtol=1e-6)
    finally:
        ACT = np.sin
    assert not np.isclose(before, after) and not np.isclose(before2, after2)
    assert_close(s2s.grad(calls_uses_act)(r), before, rtol=1e-14)


# ---- a call that leaves out a parameter with a default value -------------------------------------------------

def with_default(r, p=0.3):
    return np.log(r) * p + r ** 3 * p


def ag_with_default(r, p=0.3):
    return anp.log(r) * p + r ** 3 * p


D_WITH_DEFAULT = s2s.grad(with_default)


def calls_with_default(r):
    return D_WITH_DEFAULT(r) * r


def ag_calls_with_default(r):
    return autograd.grad(ag_with_default)(r) * r


def test_parameter_left_to_its_default():
    r = 0.7
    assert_close(s2s.grad(calls_with_default)(r), autograd.grad(ag_calls_with_default)(r), rtol=1e-12)
    assert_close(s2s.grad(s2s.grad(calls_with_default))(r), autograd.grad(autograd.grad(ag_calls_with_default))(r),
                 rtol=1e-12)
    assert_close(s2s.jvp(calls_with_default, (r,), (2.0,))[1], 2.0 * autograd.grad(ag_calls_with_default)(r),
                 rtol=1e-12)


def test_a_gradient_made_again_is_the_same_function():
    # rprime makes grad(loglike) at every call: one function, so its derivatives are made once
    assert s2s.grad(smooth) is s2s.grad(smooth) is s2s.grad(smooth, wrt=0)
    assert s2s.grad(smooth, wrt=1) is not s2s.grad(smooth)
    assert s2s.grad(smooth, optimize=False) is not s2s.grad(smooth)
    assert s2s.grad(smooth, wrt=(0, 1)) is not s2s.grad(smooth, wrt=(0, 1))  # a tuple wrt: not kept


# ---- where forward mode over the gradient code is refused (a helper's pullbacks kept on the tape of a loop) ---

A = np.array([[1.0, 0.5, -0.3], [0.2, -0.7, 1.1]])


def squash(z, *, k=1.0):  # (keyword-only: s2s keeps it a call of its own, not expanded in looped: transforms/adopt.py)
    return np.tanh(z) * z * k


def looped(w, s):
    acc = 0.0
    for k in range(3):
        acc = acc + np.sum(squash(A @ w * (k + 1))) * s
    return acc + s ** 2 * np.sum(w ** 3)


def ag_looped(w, s):
    acc = 0.0
    for k in range(3):
        z = anp.dot(A, w) * (k + 1)
        acc = acc + anp.sum(anp.tanh(z) * z) * s
    return acc + s ** 2 * anp.sum(w ** 3)


G_LOOPED = s2s.grad(looped)


def through_looped(w):
    return np.sum(G_LOOPED(w, 0.9) * C)


def ag_through_looped(w):
    return anp.sum(autograd.grad(ag_looped)(w, 0.9) * C)


def test_forward_over_forward_where_forward_over_the_gradient_code_is_refused():
    with pytest.raises(s2s.errors.UnsupportedSyntaxError):  # what the fallback is for
        s2s.jvp(s2s.derivative(looped), (W0, 0.9), (C, None))
    assert_close(s2s.grad(through_looped)(W0), autograd.grad(ag_through_looped)(W0), rtol=1e-12)
    assert_close(s2s.jvp(through_looped, (W0,), (C,))[1], autograd.grad(ag_through_looped)(W0) @ C, rtol=1e-12)
    assert_close(s2s.hessian(through_looped)(W0), autograd.hessian(ag_through_looped)(W0), rtol=1e-10)


# ---- G called in a loop: its pullbacks are kept on a tape, so a third derivative is forward over forward ------

def in_a_loop(r):
    acc = 0.0
    for k in range(3):
        acc = acc + D_SMOOTH(r * (k + 1), r) * k
    return acc


def ag_in_a_loop(r):
    acc = 0.0
    for k in range(3):
        acc = acc + autograd.grad(ag_smooth)(r * (k + 1), r) * k
    return acc


def vector_in_a_loop(w):
    acc = 0.0
    for k in range(2):
        acc = acc + np.sum(G_W(w * (k + 1), np.sum(w)) * C) * (k + 1)
    return acc


def ag_vector_in_a_loop(w):
    acc = 0.0
    for k in range(2):
        acc = acc + anp.sum(autograd.grad(ag_vec_loss)(w * (k + 1), anp.sum(w)) * C) * (k + 1)
    return acc


def test_third_derivative_of_a_gradient_called_in_a_loop():
    r = 0.7
    assert_close(s2s.grad(in_a_loop)(r), autograd.grad(ag_in_a_loop)(r), rtol=1e-12)
    second = s2s.grad(s2s.grad(in_a_loop))(r)
    assert_close(second, autograd.grad(autograd.grad(ag_in_a_loop))(r), rtol=1e-10)
    assert_close(second, fd_grad(s2s.grad(in_a_loop), [r]), rtol=1e-6)
    assert_close(s2s.grad(vector_in_a_loop)(W0), autograd.grad(ag_vector_in_a_loop)(W0), rtol=1e-12)
    assert_close(s2s.hessian(vector_in_a_loop)(W0), autograd.hessian(ag_vector_in_a_loop)(W0), rtol=1e-10)


def two_arguments(w, s):
    return np.sum(G_W(w * 1.0, s) * C) + s * np.sum(w)


def ag_two_arguments(w, s):
    return anp.sum(autograd.grad(ag_vec_loss)(w * 1.0, s) * C) + s * anp.sum(w)


def test_mixed_blocks_and_a_tangent_on_one_argument_only():
    s = 1.3
    assert_close(s2s.jvp(two_arguments, (W0, s), (None, 1.0))[1], autograd.grad(ag_two_arguments, 1)(W0, s),
                 rtol=1e-12)
    blocks = s2s.hessian(two_arguments, wrt=(0, 1))(W0, s)
    assert_close(blocks[0][0], autograd.hessian(ag_two_arguments, 0)(W0, s), rtol=1e-10)
    assert_close(blocks[0][1], autograd.jacobian(autograd.grad(ag_two_arguments, 0), 1)(W0, s), rtol=1e-10)
    assert_close(blocks[1][1], autograd.hessian(ag_two_arguments, 1)(W0, s), rtol=1e-10)
