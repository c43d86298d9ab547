"""Functions as values: passed as arguments and defaults, held in lists and dicts, returned by helpers,
functools.partial, methods of objects passed in. Each against central differences and autograd (which
supports functions as values natively), in reverse and forward mode."""

import functools

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from helpers_fd import assert_close, autograd_version, check_all, fd_grad

import s2s


def jvp_check(f, args, wrt=0):
    """s2s.jvp of `f` along a random direction against central differences."""
    rng = np.random.default_rng(7)
    x = args[wrt]
    v = rng.normal(size=np.shape(x))
    tangents = [np.zeros_like(np.asarray(a, dtype=float)) for a in args]
    tangents[wrt] = v
    _, tangent = s2s.jvp(f, tuple(args), tuple(tangents))
    expected = np.sum(fd_grad(f, args, wrt=wrt) * v)
    assert_close(tangent, expected, rtol=1e-5, atol=1e-6)


def X(n=4, seed=0):
    return np.random.default_rng(seed).normal(size=n)


# ---- a function as an argument, and as a default --------------------------------------------------------

def predict(w, x, nonlin=np.tanh):
    return np.sum(nonlin(w * x))


def predict_ag(w, x, nonlin=anp.tanh):
    return anp.sum(nonlin(w * x))


def apply(f, x):
    return f(x)


def use_apply(x):
    return np.sum(apply(np.sin, x) * apply(np.cos, 2.0 * x))


def twice(f, x):  # the same function value passed on and called twice
    return f(f(x))


def use_twice(x):
    return np.sum(twice(np.sin, x))


@pytest.mark.parametrize("wrt", [0, 1])
def test_default_function_argument(wrt):
    args = (X(seed=1), X(seed=2))
    g = s2s.grad(predict, wrt=wrt)(*args)
    assert_close(g, fd_grad(predict, args, wrt=wrt))
    assert_close(g, autograd.grad(predict_ag, wrt)(*args), rtol=1e-7, atol=1e-9)
    jvp_check(predict, args, wrt)


def test_function_passed_explicitly_overrides_the_default():
    args = (X(seed=1), X(seed=2))
    g = s2s.grad(lambda w, x: predict(w, x, np.sin))(*args)
    assert_close(g, autograd.grad(lambda w, x: predict_ag(w, x, anp.sin))(*args), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("f", [use_apply, use_twice])
def test_function_passed_to_a_helper(f):
    check_all(f, (X(seed=3),))
    jvp_check(f, (X(seed=3),))


# ---- chosen by a branch, looked up in a dict in a loop, from a list --------------------------------------

def chosen_by_branch(x, k):
    f = np.sin if k > 0 else np.cos
    return np.sum(f(x) * x)


def dict_in_loop(x):
    acts = {"tanh": np.tanh, "sin": np.sin, "exp": np.exp}
    total = 0.0
    for name in ["tanh", "sin", "exp", "sin"]:
        total = total + np.sum(acts[name](x * 0.5))
    return total


def list_of_functions(x):
    fs = [np.sin, np.cos, np.tanh]
    total = 0.0
    for f in fs:
        total = total + np.sum(f(x) ** 2)
    return total + np.sum(fs[1](x))


def tuple_of_functions(x):
    pair = (np.sin, np.exp)
    first, second = pair
    return np.sum(first(x) * second(x))


@pytest.mark.parametrize("f, args", [(chosen_by_branch, (X(seed=4), 1)), (chosen_by_branch, (X(seed=4), -1)),
                                     (dict_in_loop, (X(seed=5),)), (list_of_functions, (X(seed=6),)),
                                     (tuple_of_functions, (X(seed=7),))],
                         ids=["branch+", "branch-", "dict-loop", "list", "tuple"])
def test_functions_in_containers_and_branches(f, args):
    check_all(f, args)
    jvp_check(f, args)


# ---- user functions, lambdas and closures as values -----------------------------------------------------

def square_sum(v):
    y = v * v
    return np.sum(y) + np.sum(np.sin(y))


def make_scale(c):
    def scale(v):
        return c * np.sin(v)
    return scale


cube = lambda v: v ** 3  # noqa: E731 - a module-level lambda passed as a value


def user_function_as_value(x):
    return apply(square_sum, x) + np.sum(apply(cube, x))


def closure_from_helper(x):
    f = make_scale(3.0)  # the closure holds a constant: differentiable through its argument
    g = make_scale(-0.5)
    return np.sum(f(x) + g(x * x))


def closure_called_directly(x):
    return np.sum(make_scale(2.0)(x))


@pytest.mark.parametrize("f", [user_function_as_value, closure_from_helper, closure_called_directly])
def test_user_functions_and_closures_as_values(f):
    check_all(f, (X(seed=8),))
    jvp_check(f, (X(seed=8),))


def closure_over_the_input(x):
    f = make_scale(np.sum(x))  # the closure holds x itself
    return np.sum(f(x))


def test_a_closure_over_the_differentiated_input_is_differentiated_through_its_cells():
    check_all(closure_over_the_input, (X(),))  # more in tests/test_closures.py
    jvp_check(closure_over_the_input, (X(),))


def closure_over_a_constant_argument(x, c):
    f = make_scale(c)
    return np.sum(f(x))


def test_a_closure_over_another_argument_is_differentiated_through_either():
    args = (X(seed=9), 1.7)
    check_all(closure_over_a_constant_argument, args, wrt=0)
    check_all(closure_over_a_constant_argument, args, wrt=1)
    check_all(closure_over_a_constant_argument, args, wrt=(0, 1))


# ---- functools.partial ----------------------------------------------------------------------------------

def partial_called_at_once(x):
    return np.sum(functools.partial(np.power, x)(2))


def partial_of_the_input(x):
    p = functools.partial(np.multiply, x)
    return np.sum(p(3.0))


def partial_passed_on(x):
    p = functools.partial(np.power, exponent=3) if False else functools.partial(np.multiply, 2.0)
    return np.sum(apply(p, x))


def partial_with_keyword(x):
    p = functools.partial(np.sum, axis=0)
    return np.sum(p(x * x))


def test_partial_called_at_once_regression():
    # was a silent zero gradient: the call through the partial's result was not differentiated
    x = X(seed=10)
    check_all(partial_called_at_once, (x,), use_autograd=False)
    assert_close(s2s.grad(partial_called_at_once)(x), 2 * x)
    jvp_check(partial_called_at_once, (x,))


@pytest.mark.parametrize("f", [partial_passed_on, partial_with_keyword])
def test_partials_with_constant_contents(f):
    x = X(seed=11).reshape(2, 2)
    check_all(f, (x,), use_autograd=False)
    ag = autograd_version(f)
    assert_close(s2s.grad(f)(x), autograd.grad(ag)(x), rtol=1e-7, atol=1e-9)
    jvp_check(f, (x,))


def test_a_partial_holding_the_input_is_refused():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="depends on the differentiated input"):
        s2s.grad(partial_of_the_input)(X())  # a closure would be differentiated (tests/test_closures.py)


# ---- methods of objects passed in -----------------------------------------------------------------------

def noisy(w, rng):
    noise = rng.normal(size=np.shape(w))
    more = rng.randn(*np.shape(w)) if hasattr(rng, "randn") else rng.standard_normal(np.shape(w))
    return np.sum((w + 0.1 * noise) ** 2 + w * more)


@pytest.mark.parametrize("kind", ["RandomState", "Generator"])
def test_random_generator_methods_are_constants(kind):
    w = X(seed=12)

    def make():
        return np.random.RandomState(0) if kind == "RandomState" else np.random.default_rng(0)

    g = s2s.grad(noisy)(w, make())
    assert_close(g, fd_grad(lambda v: noisy(v, make()), (w,)))
    _, t = s2s.jvp(lambda v: noisy(v, make()), (w,), (np.ones_like(w),))
    assert_close(t, np.sum(fd_grad(lambda v: noisy(v, make()), (w,))))


class Model:
    def __init__(self, c):
        self.c = c

    def act(self, v):
        return self.c * np.tanh(v)


def bound_method_as_value(x, model):
    return np.sum(apply(model.act, x))


def test_a_bound_method_passed_as_a_value():
    x, model = X(seed=13), Model(1.5)
    g = s2s.grad(bound_method_as_value)(x, model)
    assert_close(g, fd_grad(bound_method_as_value, (x, model)))


# ---- refusals that name the user's line -----------------------------------------------------------------

def library_function_without_rule(x):
    f = np.fft.fft
    return np.sum(np.abs(f(x)))


def test_a_library_function_without_rule_is_refused_at_the_users_line():
    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        s2s.grad(library_function_without_rule)(X())
    assert info.value.filename == __file__
    assert "f(x)" in str(info.value)


def recursive(x, f, n):
    if n == 0:
        return np.sum(f(x))
    return recursive(x * 0.5, f, n - 1)


def test_recursion_through_a_function_value():
    # a function calling itself with a function value: recursion runs like any other call
    x = X(seed=14)
    g = s2s.grad(recursive)(x, np.sin, 3)
    assert_close(g, fd_grad(recursive, (x, np.sin, 3)))


# ---- local functions of any length inside expressions; map, filter, sorted ------------------------------

def local_function_in_expressions(x):
    def g(y):
        z = y * y
        if np.sum(z) > 1.0:
            return np.sin(z)
        return z * 0.5

    return np.sum(g(x) + g(3.0 * x) * g(g(x)))


def local_function_given_to_map(x, w):
    def layer(v):
        h = np.tanh(v * w)
        return h + v

    return np.sum(sum(map(layer, [x, 2.0 * x, x * x])))


def local_function_in_a_comprehension(x):
    def g(v):
        t = v * 2.0
        return np.exp(-t * t)

    return np.sum(np.array([g(x[i]) for i in range(len(x))]))


def map_filter_with_lambdas(x):
    ys = list(map(lambda v, k: v * k, [x, np.sin(x), x * x], [1.0, 2.0, 3.0]))
    big = list(filter(lambda v: np.sum(v) > -100.0, ys))
    return np.sum(sum(big)) + np.sum(sum(map(np.cos, ys)))


def sorted_by_key(x):
    items = [x[0] * 2.0, np.sin(x[1]), x[2] ** 2, x[3] - 1.0]
    ordered = sorted(items, key=lambda v: -v)
    weights = np.arange(1.0, 5.0)
    return np.sum(np.array(ordered) * weights)


def sorted_plain_and_reversed(x):
    items = [x[0], x[1] * 3.0, x[2] - x[3]]
    return sorted(items)[0] * 2.0 + sorted(items, reverse=True)[0] * 5.0


def sorted_by_a_module_function(x):
    vectors = [x, x * 2.0, -x]
    ordered = sorted(vectors, key=np.sum)
    return np.sum(ordered[0] * 3.0 + ordered[2])


def best_part_by_a_lambda(x):
    parts = [x[:2], x[2:4] * 2.0, np.sin(x)[1:3]]
    best = max(parts, key=lambda p: np.sum(p * p))
    worst = min(parts, key=lambda p: np.sum(p * p) + 1.0)
    return np.sum(best * np.arange(2.0)) + np.sum(np.exp(worst))


def part_score(p):
    return -np.abs(p)


def extremes_of_several_by_a_module_function(x):
    a, b, c = x[0] * 2.0, np.sin(x[1]), x[2] - x[3]
    return max(a, b, c, key=part_score) * 3.0 + min(a, c, key=part_score) ** 2


def extreme_with_a_default(x):
    kept = [v for v in (x[0], x[1], x[2]) if v > 10.0]  # (empty for these arguments)
    return max(kept, key=part_score, default=x[3] * 2.0) + max([x[0], x[1]], key=part_score, default=0.0)


@pytest.mark.parametrize("f, args", [
    (local_function_in_expressions, (X(seed=20),)), (local_function_in_expressions, (X(seed=21) * 0.1,)),
    (local_function_given_to_map, (X(seed=22), 0.8)), (local_function_in_a_comprehension, (X(seed=23),)),
    (map_filter_with_lambdas, (X(seed=24),)), (sorted_by_key, (X(seed=25),)),
    (sorted_plain_and_reversed, (X(seed=26),)), (sorted_by_a_module_function, (X(seed=27),)),
    (best_part_by_a_lambda, (X(seed=28),)), (extremes_of_several_by_a_module_function, (X(seed=29),)),
    (extreme_with_a_default, (X(seed=30),)),
], ids=["local-expr", "local-expr-other-branch", "local-map", "local-listcomp", "map-filter-lambda", "sorted-key",
        "sorted-plain", "sorted-np-key", "max-min-lambda-key", "max-min-several-key", "max-key-default"])
def test_local_functions_map_filter_sorted(f, args):
    check_all(f, args)
    jvp_check(f, args)


def map_kept_in_a_variable(x):
    m = map(np.sin, [x, x])  # a map object Python exhausts once: s2s does not turn it into a list
    return np.sum(sum(m))


def local_function_in_a_conditional_expression(x):
    def g(v):
        t = v * 2.0
        return t * t

    return np.sum(g(x) if np.sum(x) > 0 else x) + np.sum(x[2] > 0 and g(x[0]) or g(x[1]))


def local_function_as_a_sort_key(x):
    def score(v):
        t = np.sin(v)
        return -t

    return np.sum(np.array(sorted([x[0], x[1] * 2.0, x[2] + x[3]], key=lambda v: score(v))) * np.arange(3.0))


def local_recursion(x):
    def fact(n):
        if n <= 1:
            return 1.0
        return n * fact(n - 1)

    return np.sum(x) * fact(3)


def test_map_kept_in_a_variable_is_refused():
    with pytest.raises(s2s.NoDerivativeRuleError):
        s2s.grad(map_kept_in_a_variable)(X())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_local_functions_in_conditional_expressions_and_boolean_operators(seed):
    x = X(seed=seed)
    check_all(local_function_in_a_conditional_expression, (x,), use_autograd=False)
    jvp_check(local_function_in_a_conditional_expression, (x,))


def test_a_local_function_as_a_sort_key():
    check_all(local_function_as_a_sort_key, (X(seed=34),))
    jvp_check(local_function_as_a_sort_key, (X(seed=34),))


def test_local_recursion_is_refused_clearly():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="calls a local helper") as info:
        s2s.grad(local_recursion)(X())
    assert info.value.filename == __file__ and "module level" in info.value.hint


def global_partial(x):
    return np.sum(POWER_OF_TWO(x) + SCALED(x))


POWER_OF_TWO = functools.partial(np.power, 2.0)
SCALED = functools.partial(np.multiply, 3.0)


def test_a_global_partial_object():
    x = X(seed=28)
    assert_close(s2s.grad(global_partial)(x), np.log(2.0) * 2.0 ** x + 3.0)
    jvp_check(global_partial, (x,))


# ---- a function value that updates its argument in place ------------------------------------------------

def bump(v):
    v[0] += 1.0
    return v * 2.0


def passes_an_active_array_to_a_mutating_function(x, f):
    t = x * 1.0
    y = f(t)
    return np.sum(y * t)


def passes_a_constant_array_read_later(x, g):
    c = np.ones(3)
    z = np.sum(c * x)
    y = g(c)  # g changes c, which the derivative of z reads
    return z + np.sum(y)


@pytest.mark.parametrize("f", [passes_an_active_array_to_a_mutating_function, passes_a_constant_array_read_later])
def test_a_function_value_updating_its_argument_is_refused_regression(f):
    # the first gave a wrong gradient ([3.2, 2, 3.6] for [5.2, 2, 3.6]): s2s's derivative of bump worked on a
    # copy while Python's bump changed the caller's t
    x = np.array([0.3, 0.5, 0.9])
    with pytest.raises(s2s.UnsupportedSyntaxError, match="updates its argument `v` in place") as info:
        s2s.grad(f)(x, bump)
    assert info.value.filename == __file__
    with pytest.raises(s2s.UnsupportedSyntaxError, match="updates its argument `v` in place"):
        s2s.jvp(f, (x, bump), (np.ones(3), None))


# ---- local functions as values ---------------------------------------------------------------------------

def local_function_passed_on(x, w):
    def g(v):
        t = v * w
        return np.sin(t)

    sq = lambda v: v * v  # noqa: E731
    return np.sum(apply(g, x) + apply(sq, x) + g(x) + twice(sq, x))


def local_function_in_a_dict(x):
    def a(v):
        return np.tanh(v)

    def b(v):
        y = v ** 3
        return y - v

    table = {"a": a, "b": b}
    alias = b
    total = 0.0
    for name in ["a", "b", "a"]:
        total = total + np.sum(table[name](x))
    return total + np.sum(alias(x))


def local_function_chosen_by_a_branch(x, k):
    def up(v):
        return v * 2.0

    def down(v):
        return np.cos(v)

    f = up if k > 0 else down
    return np.sum(apply(f, x) * x)


@pytest.mark.parametrize("f, args", [(local_function_passed_on, (X(seed=30), 0.7)),
                                     (local_function_in_a_dict, (X(seed=31),)),
                                     (local_function_chosen_by_a_branch, (X(seed=32), 1)),
                                     (local_function_chosen_by_a_branch, (X(seed=32), -1))],
                         ids=["passed-on", "dict", "branch+", "branch-"])
def test_local_functions_as_values(f, args):
    check_all(f, args)


def test_local_function_as_a_value_reading_the_input():
    args = (X(seed=33), 0.7)
    check_all(local_function_passed_on, args, wrt=1)  # g reads w: its adjoint flows back to w
    jvp_check(local_function_passed_on, args, wrt=1)
    jvp_check(local_function_passed_on, args, wrt=0)


def rebound_after_definition(x):
    c = 2.0

    def g(v):
        return v * c

    c = 3.0  # Python's closure sees 3.0; s2s's copy would not, so it refuses
    return np.sum(apply(g, x))


def test_a_local_function_value_whose_names_are_rebound_is_refused():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="bound once, before it is defined"):
        s2s.grad(rebound_after_definition)(X())


def updated_in_place_after_definition(x):
    w = np.ones(4)

    def g(v):
        return v * w

    w[0] = 5.0  # Python's closure sees the change; the function value s2s made holds the array too
    return np.sum(apply(g, x))


def test_a_local_function_value_whose_array_is_updated_after_is_refused():
    with pytest.raises(s2s.UnsupportedSyntaxError):
        s2s.grad(updated_in_place_after_definition)(X())


# ---- Hessians through function values (forward over forward) ----------------------------------------------

def hessian_cases():
    return [(predict, lambda w, x: anp.sum(anp.tanh(w * x))),
            (lambda w, x: np.sum(apply(square_sum, w * x)),
             lambda w, x: anp.sum((w * x) ** 2) + anp.sum(anp.sin((w * x) ** 2))),
            (lambda w, x: closure_from_helper(w * x),
             lambda w, x: anp.sum(3.0 * anp.sin(w * x) - 0.5 * anp.sin((w * x) ** 2)))]


@pytest.mark.parametrize("case", range(3))
def test_hessian_through_a_function_value(case):
    f, f_ag = hessian_cases()[case]
    w, x = X(3, seed=40) * 0.5, X(3, seed=41)
    assert_close(s2s.hessian(f)(w, x), autograd.hessian(f_ag)(w, x), rtol=1e-6, atol=1e-8)
    v = X(3, seed=42)
    assert_close(s2s.hvp(f)(w, x, v), autograd.hessian(f_ag)(w, x) @ v, rtol=1e-6, atol=1e-8)


def loop_over_a_lazy_map(x):
    c = 1.0
    total = 0.0
    for v in map(lambda u: u * c, [x, x * 2.0, x * 3.0]):
        total = total + np.sum(v)
        c = c + 1.0  # Python's map sees the new c for the next item
    return total


def loop_over_a_map_that_reads_nothing_changed(x):
    total = 0.0
    for v, k in zip(map(np.sin, [x, 2.0 * x]), [1.0, 2.0]):
        total = total + np.sum(v) * k
    return total


def test_a_loop_over_a_lazy_map_whose_function_sees_the_loop_is_refused():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="one item at a time"):
        s2s.grad(loop_over_a_lazy_map)(X())


def test_a_loop_over_a_map():
    check_all(loop_over_a_map_that_reads_nothing_changed, (X(seed=43),))
    jvp_check(loop_over_a_map_that_reads_nothing_changed, (X(seed=43),))


def draws_before_a_local_function(x, rng):
    def g(v):
        t = v * rng.normal()
        return t * t

    return np.sum(rng.normal() + g(x))  # rng.normal() draws first in Python: s2s cannot move g before it


def pure_calls_around_a_local_function(x):
    def g(v):
        t = np.sin(v)
        return t * v

    return np.sum(np.cos(x) * g(x)) + np.sum(square_sum(x) + g(2.0 * x))


def test_a_local_function_after_a_call_with_side_effects_on_the_line_is_refused():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="runs before it"):
        s2s.grad(draws_before_a_local_function)(X(), np.random.default_rng(0))


def test_a_local_function_after_pure_calls_on_the_line():
    check_all(pure_calls_around_a_local_function, (X(seed=44),))


# ---- lambdas written where they are passed (named on a line of their own by the inline pass) ----------

def _layers(params, x, act=np.tanh):
    for W, b in params:
        x = act(x @ W + b)
    return x


def lambda_as_a_keyword_argument(params, x):
    return np.sum(_layers(params, x, act=lambda z: z / (1.0 + np.abs(z))) ** 2)


def _apply(f, x):
    return f(x)


def lambdas_as_positional_arguments(x):
    return (np.sum(_apply(np.sin, x) * _apply(lambda t: t * t, x))
            + np.sum(_apply(lambda t: np.exp(-t), x)))


def two_lambdas_on_one_line(x):
    return np.sum(_apply(np.sin, x) * _apply(lambda t: t * t, x)) + np.sum(_apply(lambda t: np.exp(-t), x))


def two_named_lambdas_on_one_line(x):
    sq = lambda t: t * t; ex = lambda t: np.exp(-t)  # noqa: E702, E731
    return np.sum(_apply(sq, x)) + np.sum(_apply(ex, x))


def lambda_in_a_list(x):
    fs = [np.sin, lambda z: z ** 3]
    s = 0.0
    for f in fs:
        s = s + np.sum(f(x))
    return s


def lambda_in_a_return(x):
    c = x[0] * 2.0
    return np.sum(_apply(lambda t: c * t, x))


def lambda_inside_a_loop_body(x):
    s = 0.0
    for k in range(2):
        s = s + np.sum(_apply(lambda t: t * k, x))
    return s


def test_lambdas_passed_where_they_are_written():
    rng = np.random.default_rng(31)
    x = rng.normal(size=3)
    params = [(rng.normal(size=(3, 3)), rng.normal(size=3)) for _ in range(2)]
    g = s2s.grad(lambda_as_a_keyword_argument)(params, x)
    want = autograd.grad(autograd_version(lambda_as_a_keyword_argument))(params, x)
    for (gw, gb), (ww, wb) in zip(g, want):
        assert_close(gw, ww, rtol=1e-10, atol=1e-12)
        assert_close(gb, wb, rtol=1e-10, atol=1e-12)
    for f in (lambdas_as_positional_arguments, lambda_in_a_list, lambda_in_a_return):
        check_all(f, (x,))
        _, tangent = s2s.jvp(f, (x,), (np.ones(3),))
        assert_close(tangent, np.sum(fd_grad(f, (x,))), rtol=1e-5)


def test_a_lambda_made_in_a_loop_body_is_still_refused():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="made again on each trip") as err:
        s2s.grad(lambda_inside_a_loop_body)(np.ones(3))
    assert "define it once before the loop" in str(err.value)


def powers_made_in_a_comprehension(w, x):
    fs = [lambda z, p=p: z ** p for p in range(3)]
    return np.sum(np.stack([f(x @ w) for f in fs]))


def counts_its_calls(w, x):
    calls = 0

    def step(z):
        nonlocal calls
        calls += 1
        return np.tanh(z @ w)
    return np.sum(step(x) ** 2) * calls


def gathers_its_arguments(w, x):
    def total(*parts, **weights):
        return sum(np.sum(p ** 2) for p in parts) * weights["scale"]
    return total(x @ w, w, scale=0.5)


def _total_of_module(*parts, **weights):
    return sum(np.sum(p ** 2) for p in parts) * weights["scale"]


def calls_a_module_helper_gathering_its_arguments(w, x):  # (the hint's form)
    return _total_of_module(x @ w, w, scale=0.5)


@pytest.mark.parametrize("f, why, hint", [
    (powers_made_in_a_comprehension, "made again on each trip of a loop or comprehension", "def power(z, p)"),
    (counts_its_calls, "rebinds a name of the function around it", "return the new one"),
    # (adv223: "could not expand this one")
    (gathers_its_arguments, "it takes *parts, **weights", "define the helper at module level"),
])
def test_a_local_function_not_expanded_says_why(f, why, hint):
    """Helper 187: the message said s2s expands only helpers whose body is a single return, which has long been
    untrue (helpers of any length are expanded): it names what stops this one."""
    with pytest.raises(s2s.UnsupportedSyntaxError, match="defined inside the differentiated function") as err:
        s2s.grad(f)(np.ones((3, 3)), np.ones((4, 3)))
    assert why in str(err.value) and hint in str(err.value) and "single return" not in str(err.value)


def test_a_module_helper_gathering_its_arguments():
    check_all(calls_a_module_helper_gathering_its_arguments, (np.ones((3, 3)) * 0.3, np.ones((4, 3)) * 0.2))


def test_two_functions_on_one_line_passed_as_values_are_refused():
    # their code objects share a name and a line: s2s took the first for both (a silent wrong gradient for
    # the named pair, found while adding the lambdas written where they are passed)
    for f in (two_lambdas_on_one_line, two_named_lambdas_on_one_line):
        with pytest.raises(s2s.UnsupportedSyntaxError, match="defined on this line"):
            s2s.grad(f)(np.ones(3))


def immediately_called_lambda(x):
    return np.sum((lambda v: v * 3.0)(x) * x)


def test_an_immediately_called_lambda():
    check_all(immediately_called_lambda, (np.array([0.3, -0.2]),))


# ---- a function made anew at each call: its derivative made once ----------------------------------------

def apply_twice(act, x):
    return act(act(x))


def fresh_lambda(x):
    act = lambda z: np.tanh(z)  # noqa: E731 - a new function object at every call
    return np.sum(apply_twice(act, x))


def fresh_closure(x, s):
    act = lambda z: np.sin(z * s)  # noqa: E731 - its cell holds this call's s
    return np.sum(apply_twice(act, x))


def closure_of_a_local(x):
    s = np.mean(x)  # a new object at each call: its cell's contents differ from the last call's
    act = lambda z: z * s  # noqa: E731
    return np.sum(apply_twice(act, x))


def test_a_lambda_made_at_each_call_is_differentiated_once():
    from s2s import pipeline
    built = []
    original = pipeline._build

    def counting(func, *args, **kwargs):
        built.append(func.__name__)
        return original(func, *args, **kwargs)

    grad = s2s.grad(fresh_lambda)
    x = X()
    grad(x)
    pipeline._build = counting
    try:
        for _ in range(3):
            check = grad(x)
    finally:
        pipeline._build = original
    assert built == []  # (each call made a wrapper and its derivative again: 5 ms a call)
    assert_close(check, fd_grad(fresh_lambda, [x]))


def test_lambdas_of_other_cells_are_not_confused():
    x = X()
    grad = s2s.grad(fresh_closure)
    for s in (2.0, 3.0, 2.0, np.float64(0.5)):
        assert_close(grad(x, s), fd_grad(fresh_closure, [x, s]))
    grad = s2s.grad(closure_of_a_local)
    for seed in (1, 2, 1):
        x = X(seed=seed)
        assert_close(grad(x), fd_grad(closure_of_a_local, [x]))


# ---- the first function of a code key is the one called: only where it still does what the new one does ----

def sum_through(x, fn):
    return np.sum(apply_twice(fn, x))


class _Scale:
    def __init__(self, w):
        self.w = w


def _scaled_by(obj):
    return lambda z: z * obj.w  # noqa: E731


def _times(a):
    return lambda z: z * a  # noqa: E731


def _times_default(c):
    def h(z, c=c):
        return z * c
    return h


def two_closures_of_one_code(x):
    fs = [_times(x[0]), _times(x[1] * 2.0)]
    return np.sum(fs[0](x)) + np.sum(fs[1](x) * 3.0)


def test_function_values_of_one_code_follow_their_own_state():
    x = X()
    grad = s2s.grad(sum_through)
    obj = _Scale(2.0)
    first = _scaled_by(obj)
    assert_close(grad(x, first), fd_grad(sum_through, [x, first]))
    obj.w = 5.0  # the object in the cells changed: both the old and a new function see 5.0
    for f in (_scaled_by(obj), first):
        assert_close(grad(x, f), fd_grad(sum_through, [x, f]))
    a = np.linspace(1.0, 3.0, len(x))
    kept = _times(a)
    assert_close(grad(x, kept), fd_grad(sum_through, [x, kept]))
    a[0] = 7.0  # an array in the cells changed in place
    assert_close(grad(x, _times(a)), fd_grad(sum_through, [x, _times(a)]))
    h = _times_default(2.0)
    assert_close(grad(x, h), fd_grad(sum_through, [x, h]))
    h.__defaults__ = (4.0,)  # the defaults of the kept function changed: a new function of 2.0 is not it
    for f in (h, _times_default(2.0)):
        assert_close(grad(x, f), fd_grad(sum_through, [x, f]))
    check_all(two_closures_of_one_code, (x,))


def tied_by_key(x):
    return max(x[0], x[1], key=part_score) * 3.0 + min([x[2], x[3]], key=part_score) * 5.0


def test_the_first_of_tied_items_takes_the_derivative():
    # (keys equal where the items differ: max gives the first of them, and so does its derivative)
    x = np.array([2.0, -2.0, 1.5, -1.5])
    np.testing.assert_allclose(s2s.grad(tied_by_key)(x), [3.0, 0.0, 5.0, 0.0])


def default_evaluated_always(x):
    seen = [x[0]]
    best = max([x[2]], key=part_score, default=seen.append(x[1]))  # (Python evaluates default= every time)
    return best + sum(seen)


def default_that_raises(x):
    return max([x[0], x[1]], key=part_score, default=x[10])


def test_default_is_evaluated_as_python_does():
    # (helper 126: the rewrite chose `items[at] if at >= 0 else default`, computing default only when empty)
    x = np.array([0.3, -0.9, 0.2])
    np.testing.assert_allclose(s2s.jvp(default_evaluated_always, (x,), (np.array([0.0, 1.0, 0.0]),))[1], 1.0)
    with pytest.raises(IndexError):
        s2s.grad(default_that_raises)(x)


def popped_by_key(x):
    items = [x[0], x[1], x[2]]
    return min((items.pop() for _ in range(2)), key=lambda t: len(items))


def test_a_generator_that_changes_what_the_key_reads_is_refused():
    # (min calls the key as each element comes: computing the elements first chose another; helper 126)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="each element as it comes"):
        s2s.jvp(popped_by_key, (np.array([0.3, -0.9, 0.2]),), (np.array([0.0, 1.0, 0.0]),))


def test_a_local_function_of_one_expression_that_changes_an_array_is_refused_where_called():
    """Helper 192: a lambda (or a def returning one expression) whose body changes an array in place, called by
    the function, was written at the call after the ownership pass, which never saw the change: zero or wrong
    gradients (`np.add.at(a, i, x)`, `a.fill(1.0)` of an `a` rebound before the call, `a.__setitem__(0, v)`).
    The same change as a statement of a local def is differentiated."""
    idx = np.array([0, 2, 2, 1, 0])

    def at_in_lambda(x):
        a = np.ones(3)
        upd = lambda: np.add.at(a, idx, x)  # noqa: E731
        upd()
        return np.sum(a ** 3)

    def fill_late_bound(x):
        a = np.zeros(3)
        upd = lambda: a.fill(1.0)  # noqa: E731
        a = a + x[:3]
        upd()
        return np.sum(a ** 2)

    def setitem_returned(x):
        a = np.zeros(3) + x[:3]

        def set0(v):
            return a.__setitem__(0, v)
        set0(x[4] * 3)
        return np.sum(a ** 2)

    def at_in_statement_helper(x):
        a = np.ones(3)

        def upd():
            np.add.at(a, idx, x)
        upd()
        return np.sum(a ** 3)

    x = np.array([0.3, -1.2, 0.7, 1.5, -0.4])
    for f in (at_in_lambda, fill_late_bound, setitem_returned):
        with pytest.raises(s2s.UnsupportedSyntaxError, match="in place"):
            s2s.grad(f)(x)
    np.testing.assert_allclose(s2s.grad(at_in_statement_helper)(x), fd_grad(at_in_statement_helper, [x]), rtol=1e-6)


def test_a_change_in_a_test_or_a_loop_header_is_seen():
    """Helper 195: a call that changes an array in place in an `if` or `while` test or a `for` header (directly,
    or through a local lambda) was not seen by the ownership pass: wrong gradients ([5.4, 1.4, 4.2] for
    [5.4, 12.2, 4.2]). Refused there, as it is as a statement."""
    def bump_in_if(x):
        y = x * 1.0
        bump = lambda: np.add.at(y, [0, 0], x[1])  # noqa: E731
        if bump() is None:
            return np.sum(y * x)
        return 0.0

    def copy_in_if(x):
        y = x * 2.0
        if np.copyto(y, 1.0) is None:
            return np.sum(y * x)
        return 0.0

    def sort_in_while(x):
        y = x * 1.0
        while y.sort() is not None:
            pass
        return np.sum(y * np.arange(3.0))

    def sort_in_for(x):
        y = x * 1.0
        for _ in [y.sort()]:
            pass
        return np.sum(y * np.arange(3.0))

    x = np.array([0.7, 0.2, 1.1])
    for f in (bump_in_if, copy_in_if, sort_in_while, sort_in_for):
        with pytest.raises(s2s.UnsupportedSyntaxError, match="in place"):
            s2s.grad(f)(x)


def test_a_lambda_reading_a_local_dict_and_a_literal_receiver():
    """Helper 195: a local lambda reading a local dict by a literal key raised NameError in the generated code (the
    dict had become one variable per key, which the lambda's body, taken out before, still read as a dict); a
    string literal's method (`"a:1".partition(":")`) in a lambda was refused as changing it in place."""
    def dict_in_lambda(x):
        params = {"w": x[:2], "b": x[2]}
        pred = lambda z: np.dot(params["w"], z) + params["b"]  # noqa: E731
        return pred(np.array([1.0, 2.0])) ** 2

    weights = {"a": 2.0, "b": 3.0}

    def literal_receiver(x):
        field = lambda spec: spec.partition(":")[0]  # noqa: E731
        return x[0] * weights[field("a:1")]

    x = np.array([0.3, -0.2, 0.5])
    np.testing.assert_allclose(s2s.grad(dict_in_lambda)(x), 2 * 0.4 * np.array([1.0, 2.0, 1.0]))
    np.testing.assert_allclose(s2s.grad(literal_receiver)(x), [2.0, 0.0, 0.0])


def test_string_methods_in_tests_and_a_popped_list_that_carries_derivatives():
    """Helper 196: a string's `.partition(":")` in an `if` test or `for` header was refused as an array's in-place
    partition (it takes a string); a list of differentiated values popped, the item used only in a test or not at
    all, crashed the backward sweep (IndexError): refused as a pop whose item is read (forward mode only)."""
    def partition_in_if(x, spec="relu:1"):
        if spec.partition(":")[0] == "relu":
            return np.sum(np.maximum(x, 0.0) ** 2)
        return np.sum(x)

    def popped_unused(x):
        items = [x[0] * 2.0, x[1] + 1.0, x[2]]
        items.pop()
        return items[0] * items[1]

    def popped_in_test(x):
        items = [x[0] * 2.0, x[1] + 1.0, x[2]]
        if items.pop() > 0:
            return items[0] * items[1]
        return 0.0

    x = np.array([0.3, 0.5, 0.7])
    np.testing.assert_allclose(s2s.grad(partition_in_if)(x), 2 * x)
    for f in (popped_unused, popped_in_test):
        with pytest.raises(s2s.UnsupportedSyntaxError, match="forward mode only"):
            s2s.grad(f)(x)
        np.testing.assert_allclose(s2s.jacfwd(f)(x), fd_grad(f, [x]), rtol=1e-6, atol=1e-8)
