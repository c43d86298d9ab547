"""Code s2s runs in another order than Python (generators and maps consumed at once, checkpointed loops run
again, jacfwd/hessian/nested grad evaluating the function several times) is accepted only where no effect
(random draws, methods of objects, next()) can be seen: right against central differences with a fresh,
identical random generator per evaluation, or refused with a clear message (transforms/effects.py)."""

import functools
import itertools
import math

import numpy as np
import pytest

import s2s

X = np.array([0.3, 0.7, 1.1])
XV = np.array([0.3, 0.7, 1.1, -0.2, 0.9])


def fd(f, v, eps=1e-6):
    v = np.asarray(v, float)
    g = np.zeros_like(v)
    for i in np.ndindex(v.shape):
        e = np.zeros_like(v)
        e[i] = eps
        g[i] = (f(v + e) - f(v - e)) / (2 * eps)
    return g


def refused(thunk, *words):
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        thunk()
    for w in words:
        assert w in str(info.value), str(info.value)
    return str(info.value)


# ---- W3: generators consumed at once -------------------------------------------------------------------------

def gen_draws(x, rng):
    for _ in range(3):
        yield x * rng.normal()


def loop_draws_too(x, seed=0):
    rng = np.random.default_rng(seed)
    tot = 0.0
    for v in gen_draws(x, rng):
        tot = tot + np.sum(v) * rng.normal()
    return tot


class Sched:
    def __init__(self):
        self.lr = 1.0

    def step(self):
        self.lr = self.lr * 0.5


def gen_reads(x, s):
    for _ in range(3):
        yield x * s.lr


def loop_steps(x, s):
    tot = 0.0
    for v in gen_reads(x, s):
        tot = tot + np.sum(v ** 2)
        s.step()
    return tot


def advance(s):
    s.step()
    return 0.0


def loop_steps_in_helper(x, s):
    tot = 0.0
    for v in gen_reads(x, s):
        tot = tot + np.sum(v ** 2) + advance(s)
    return tot


def gen_next(x, it):
    for _ in range(3):
        yield x * next(it)


def loop_next(x):
    it = iter([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    tot = 0.0
    for v in gen_next(x, it):
        tot = tot + np.sum(v) * next(it)
    return tot


RS = np.random.RandomState(0)
COUNTER = itertools.count()


def gen_global(x):
    for _ in range(3):
        yield x * RS.randn()


def loop_global(x):
    tot = 0.0
    for v in gen_global(x):
        tot = tot + np.sum(v) * RS.randn()
    return tot


def gen_count(x):
    for _ in range(3):
        yield x * next(COUNTER)


def loop_count(x):
    tot = 0.0
    for v in gen_count(x):
        tot = tot + np.sum(v) * next(COUNTER)
    return tot


def comp_draws(x, rng):
    return sum([np.sum(v) * rng.normal() for v in gen_draws(x, rng)])


@pytest.mark.parametrize("call", [
    lambda: s2s.grad(loop_draws_too)(X),
    lambda: s2s.grad(loop_steps)(X, Sched()),
    lambda: s2s.grad(loop_steps_in_helper)(X, Sched()),
    lambda: s2s.grad(loop_next)(X),
    lambda: s2s.grad(loop_global)(X),
    lambda: s2s.grad(loop_count)(X),
    lambda: s2s.grad(comp_draws)(X, np.random.default_rng(0)),
], ids=["rng", "method", "method-in-helper", "next", "global-randomstate", "global-count", "comprehension"])
def test_generator_and_consumer_sharing_state_refused(call):
    refused(call, "generator", "runs it to its end first")


def gen_pure(x):
    for k in range(3):
        yield x * (k + 1)


def body_draws(x, rng):
    tot = 0.0
    for v in gen_pure(x):
        tot = tot + np.sum(v) * rng.normal()
    return tot


def body_pure(x, rng):
    tot = 0.0
    for v in gen_draws(x, rng):
        tot = tot + np.sum(np.sin(v))
    return tot


@pytest.mark.parametrize("f", [body_draws, body_pure], ids=["generator-pure", "body-pure"])
def test_generator_with_draws_on_one_side_only_is_right(f):
    got = s2s.grad(f)(X, np.random.default_rng(0))
    want = fd(lambda v: f(v, np.random.default_rng(0)), X)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


# ---- W13: map made eager -------------------------------------------------------------------------------------

def zip_of_two_drawing_maps(x, rng):
    return sum(a * b for a, b in zip(map(lambda v: v * rng.normal(), x), map(lambda v: v * rng.normal(), x)))


def map_with_break(v):
    tot = 0.0
    for a in map(math.sqrt, v):
        tot = tot + a
        if tot > 1.0:
            break
    return tot


def map_zipped_shorter(v, rng):
    tot = 0.0
    for a, _ in zip(map(lambda t: t * rng.normal(), v), range(2)):
        tot = tot + a
    return tot * rng.normal()


def map_and_body_draw(v, rng):
    return sum([a * rng.normal() for a in map(lambda t: t * rng.normal(), v)])


@pytest.mark.parametrize("call", [
    lambda: s2s.grad(zip_of_two_drawing_maps)(X, np.random.default_rng(0)),
    lambda: s2s.grad(map_with_break)(XV),
    lambda: s2s.grad(lambda v: sum(a for a, _ in zip(map(math.log, v), range(3))))(XV),
    lambda: s2s.grad(map_zipped_shorter)(XV, np.random.default_rng(0)),
    lambda: s2s.grad(map_and_body_draw)(X, np.random.default_rng(0)),
], ids=["zip-map-map", "break-math", "zip-range-math", "zip-range-rng", "comprehension-rng"])
def test_eager_map_that_python_runs_otherwise_refused(call):
    refused(call, "map(...)", "calls it on every item first")


def map_with_break_numpy(v):
    tot = 0.0
    for a in map(np.sqrt, v):
        tot = tot + a
        if tot > 1.0:
            break
    return tot


def zip_same_sequence_rng(v, rng):
    return sum(a * b for a, b in zip(map(lambda t: t * rng.normal(), v), v))


def map_local_lambda(v):
    sq = lambda t: t ** 2  # noqa: E731
    tot = 0.0
    for a in map(sq, v):
        tot = tot + a
    return tot


@pytest.mark.parametrize("f,rng", [
    (map_with_break_numpy, False), (zip_same_sequence_rng, True), (map_local_lambda, False),
    (lambda v: sum(map(np.sin, v)), False), (lambda v: sum(a * b for a, b in zip(map(np.sin, v), v)), False),
], ids=["break-numpy", "zip-same-length-rng", "local-lambda", "sum-map", "zip-same-length"])
def test_eager_map_python_runs_alike_is_right(f, rng):
    if rng:
        got = s2s.grad(f)(X, np.random.default_rng(0))
        want = fd(lambda v: f(v, np.random.default_rng(0)), X)
    else:
        got, want = s2s.grad(f)(X), fd(f, X)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


# ---- W12: checkpointed loops run again ---------------------------------------------------------------------

def ckpt_rng(h, rng):
    for _ in s2s.checkpoint(range(6)):
        h = np.sin(h * rng.normal(size=3)) + h
    return np.sum(h)


def ckpt_global(h):
    for _ in s2s.checkpoint(range(6)):
        h = np.sin(h * np.random.normal(size=3)) + h
    return np.sum(h)


def ckpt_noise(h, noise):
    for t in s2s.checkpoint(range(6)):
        h = np.sin(h * noise[t]) + h
    return np.sum(h)


def test_checkpoint_with_draws_refused():
    refused(lambda: s2s.grad(ckpt_rng)(X, np.random.default_rng(0)), "checkpointed loop", "rng.normal()")
    refused(lambda: s2s.grad(ckpt_global)(X), "checkpointed loop", "draws random numbers")


def test_checkpoint_with_noise_drawn_outside_is_right():
    noise = np.random.default_rng(0).normal(size=(6, 3))
    np.testing.assert_allclose(s2s.grad(ckpt_noise)(X, noise), fd(lambda v: ckpt_noise(v, noise), X),
                               rtol=1e-6, atol=1e-8)


def ckpt_function_value(h, act=np.tanh):
    for _ in s2s.checkpoint(range(6), every=2):
        h = act(h * 0.9) + h
    return np.sum(h)


def ckpt_function_value_rebound(h, acts):
    for t in s2s.checkpoint(range(2)):
        act = acts[t]
        h = act(h) + h
    return np.sum(h)


CKPT_RNG = np.random.default_rng(3)


def test_checkpoint_reads_the_function_value_it_calls_when_it_runs():
    """A function value passed in is read when the loop is about to run: a pure one is differentiated,
    one that draws refused at the call in the loop."""
    for act in (np.tanh, np.sin, lambda z: z ** 2 / 4):
        np.testing.assert_allclose(s2s.grad(ckpt_function_value)(X, act),
                                   fd(lambda v: ckpt_function_value(v, act), X), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(s2s.grad(ckpt_function_value)(X), fd(ckpt_function_value, X), rtol=1e-6, atol=1e-8)
    message = refused(lambda: s2s.grad(ckpt_function_value)(X, lambda z: z * CKPT_RNG.normal(size=3)),
                      "checkpointed loop", "function value act", "draws random numbers")
    assert "h = act(h * 0.9) + h" in message


def test_checkpoint_calling_a_function_value_bound_in_the_loop_refused():
    refused(lambda: s2s.grad(ckpt_function_value_rebound)(X, [np.sin, np.cos]), "checkpointed loop",
            "function value act")


# ---- W8: entry points evaluating the function several times ------------------------------------------------

def drawing(x, rng):
    n = rng.normal(size=3)
    a = np.sin(x * n)
    m = rng.normal(size=3)
    return np.sum(a ** 2 + m * x)


def inner_drawing(a, rng):
    return np.sum(a ** 2 * rng.normal(size=3))


def outer_nested(v, rng):
    return np.sum(s2s.grad(inner_drawing)(v, rng) * v)


def global_drawing(x):
    return np.sum(x ** 2 * np.random.normal(size=3))


@pytest.mark.parametrize("call", [
    lambda: s2s.jacfwd(drawing)(X, np.random.default_rng(1)),
    lambda: s2s.jacobian(drawing, mode="forward")(X, np.random.default_rng(1)),
    lambda: s2s.hessian(drawing)(X, np.random.default_rng(1)),
    lambda: s2s.jacfwd(s2s.jacrev(drawing))(X, np.random.default_rng(1)),
    lambda: s2s.grad(outer_nested)(X, np.random.default_rng(0)),
    lambda: s2s.hessian(global_drawing)(X),
], ids=["jacfwd", "jacobian-forward", "hessian", "jacfwd-of-jacrev", "nested-grad", "hessian-global-random"])
def test_repeated_evaluation_of_drawing_function_refused(call):
    refused(call, "draws random numbers", "jacrev")


def smooth(x, noise):
    return np.sum(np.sin(x * noise) ** 2)


class Model:
    def __init__(self):
        self.W = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.2], [0.3, 0.0, 1.0]])

    def forward(self, t):
        return self.W @ t


def through_model(x, m):
    return np.sum(np.sin(m.forward(x)))


def test_jacrev_of_drawing_function_still_right():
    got = s2s.jacrev(drawing)(X, np.random.default_rng(1))
    np.testing.assert_allclose(got, fd(lambda v: drawing(v, np.random.default_rng(1)), X), rtol=1e-6, atol=1e-8)


def test_jacfwd_and_hessian_with_noise_argument_or_pure_method_right():
    noise = np.random.default_rng(1).normal(size=3)
    np.testing.assert_allclose(s2s.jacfwd(smooth)(X, noise), fd(lambda v: smooth(v, noise), X), rtol=1e-6, atol=1e-8)
    grad = s2s.grad(smooth)
    np.testing.assert_allclose(s2s.hessian(smooth)(X, noise), np.stack(
        [fd(lambda v: grad(v, noise)[i], X) for i in range(3)]), rtol=1e-5, atol=1e-7)
    m = Model()
    np.testing.assert_allclose(s2s.jacfwd(through_model)(X, m), fd(lambda v: through_model(v, m), X),
                               rtol=1e-6, atol=1e-8)


RNG_FOR_VALUE = np.random.default_rng(0)


def through_function_argument(x, fn):
    return np.sum(x ** 2 * fn())


def test_jacfwd_reads_a_function_passed_in():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="draws random numbers"):
        s2s.jacfwd(through_function_argument)(X, lambda: RNG_FOR_VALUE.normal(size=3))
    c = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(s2s.jacfwd(through_function_argument)(X, lambda: c), 2 * X * c)


class Stateful:
    """Methods that store into self: right under repeated evaluation only where each evaluation stores an
    attribute before anything reads it."""

    def __init__(self):
        self.c = 0.5
        self.W = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.2], [0.3, 0.0, 1.0]])

    def written_first(self, x):
        self.h = np.tanh(self.W @ x)
        self.h = self.h * self.c + x
        return np.sum(self.h ** 2)

    def written_first_in_tuple(self, x):
        self.u, self.v = np.sin(x), np.cos(x) * self.c
        return np.sum(self.u * self.v)

    def read_then_store(self, x):
        y = self.c * x
        self.c = np.sum(x ** 2)
        return np.sum(y * self.c)

    def stored_through_alias(self, x):
        other = self
        self.c = np.sum(x ** 2) + other.c
        return self.c * np.sum(x)

    def method_reads_first(self, x):
        z = self.scaled(x)
        self.h = x * 2.0
        return np.sum(z * self.h)

    def scaled(self, x):
        return x * getattr(self, "h", 1.0)

    def stored_in_loop(self, x):
        for _ in range(2):
            self.c = self.c + np.sum(x ** 2)
        return self.c


@pytest.mark.parametrize("name", ["read_then_store", "stored_through_alias", "method_reads_first",
                                  "stored_in_loop"])
@pytest.mark.parametrize("transform", [s2s.hessian, s2s.jacfwd])
def test_repeated_evaluation_of_a_method_reading_its_last_store_refused(name, transform):
    refused(lambda: transform(getattr(Stateful(), name))(X), "stores into an attribute", "first statement")


@pytest.mark.parametrize("name", ["written_first", "written_first_in_tuple"])
def test_repeated_evaluation_of_a_method_storing_first_is_right(name):
    h = s2s.hessian(getattr(Stateful(), name))(X)
    want = np.stack([fd(lambda v, i=i: s2s.grad(getattr(Stateful(), name))(v)[i], X) for i in range(3)])
    np.testing.assert_allclose(h, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s2s.jacfwd(getattr(Stateful(), name))(X),
                               fd(lambda v: getattr(Stateful(), name)(v), X), rtol=1e-6, atol=1e-8)


class Linked:
    """self.parent and self.objs[0] are self: reading their .h reads self.h."""

    def __init__(self):
        self.h = np.array([1.0, 2.0, 3.0])
        self.parent = self
        self.objs = [self]

    def through_parent(self, x):
        self.h = self.parent.h * x
        return np.sum(self.h ** 2)

    def through_list(self, x):
        self.h = self.objs[0].h * x
        return np.sum(self.h ** 2)


@pytest.mark.parametrize("name", ["through_parent", "through_list"])
@pytest.mark.parametrize("transform", [s2s.hessian, s2s.jacfwd])
def test_store_reading_the_same_attribute_through_another_path_refused(name, transform):
    """`self.h = self.parent.h * x` with self.parent self reads the last evaluation's self.h: jacfwd gave
    [0.6, -1, 5.9] for [0.6, -4, 14.4]. Any `.h` read before the store (whatever it is read from) counts."""
    assert np.allclose(s2s.grad(getattr(Linked(), name))(X), 2 * Linked().h ** 2 * X)  # one evaluation: right
    refused(lambda: transform(getattr(Linked(), name))(X), "stores into an attribute", "first statement")


def counted(x, memo=[]):  # noqa: B006 - the mutable default is the point
    memo.append(1.0)
    return np.sum(np.tanh(x)) * len(memo)


def counted_in_array(x, memo=np.zeros(1)):  # noqa: B008
    memo += 1.0
    return np.sum(np.tanh(x)) * memo[0]


def ckpt_counted(h, act):
    for _ in s2s.checkpoint(range(6), every=2):
        h = act(h * 0.9) + h
    return np.sum(h)


def _memo_step(z, memo=[]):  # noqa: B006
    memo.append(1.0)
    return np.tanh(z) * len(memo)


@pytest.mark.parametrize("f", [counted, counted_in_array])
@pytest.mark.parametrize("transform", [s2s.hessian, s2s.jacfwd])
def test_repeated_evaluation_updating_a_mutable_default_refused(f, transform):
    """`def f(x, memo=[])` appending to memo: every evaluation appends to the one default list, and jacfwd's
    columns were tanh'(x) times 3, 4, 5 (hessian's second call differed from its first)."""
    refused(lambda: transform(f)(X), "parameter `memo` in place", "mutable default")


def test_repeated_evaluation_updating_a_list_given_in_refused():
    """jacfwd(counted)(x, L): every evaluation gets the same list L and appends to it: [0.92, 1.27, 1.08]
    for [0.92, 0.63, 0.36]."""
    refused(lambda: s2s.jacfwd(counted)(X, []), "parameter `memo` in place", "same list")
    np.testing.assert_allclose(s2s.grad(counted)(X, []), fd(lambda v: counted(v, []), X), rtol=1e-6)


def test_checkpoint_calling_a_function_value_with_a_mutable_default_refused():
    """The function value's default list grows at each call; the rerun for the derivative saw a longer one
    (33.8 for 7.30)."""
    refused(lambda: s2s.grad(ckpt_counted)(X, _memo_step), "checkpointed loop", "mutable default")


RULED_RNG = np.random.default_rng(5)


def ruled_noisy(x):
    return x * RULED_RNG.normal(size=np.shape(x))


s2s.defvjp(ruled_noisy, "x", x="g * ans / x", x_dot="x_dot * ans / x")


@s2s.custom_jvp
def jvp_noisy(x):
    return x * RULED_RNG.normal(size=np.shape(x))


@jvp_noisy.defjvp
def _jvp_noisy_jvp(primals, tangents):
    y = jvp_noisy(primals[0])
    return y, tangents[0] * y / primals[0]


@s2s.custom_jvp
def jvp_tanh(x):
    return np.tanh(x)


@jvp_tanh.defjvp
def _jvp_tanh_jvp(primals, tangents):
    y = np.tanh(primals[0])
    return y, tangents[0] * (1 - y ** 2)


def sin_of(x, act):
    return np.sum(np.sin(act(x)))


def sin_of_jvp_noisy(x):
    return np.sum(np.sin(jvp_noisy(x)))


@pytest.mark.parametrize("act", [ruled_noisy, jvp_noisy])
def test_a_function_of_the_users_with_a_rule_that_draws_refused(act):
    """A function with a derivative rule (s2s.defvjp, s2s.custom_jvp) was taken as pure: jacfwd of sin(act(x))
    and a checkpointed loop calling act mixed different draws. The user's own function is read."""
    refused(lambda: s2s.jacfwd(sin_of)(X, act), "draws random numbers")
    refused(lambda: s2s.grad(ckpt_function_value)(X, act), "checkpointed loop", "draws random numbers")
    refused(lambda: s2s.jacfwd(sin_of_jvp_noisy)(X), "draws random numbers")


def test_a_pure_function_with_a_rule_is_still_differentiated():
    np.testing.assert_allclose(s2s.grad(ckpt_function_value)(X, jvp_tanh),
                               fd(lambda v: ckpt_function_value(v, jvp_tanh), X), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(s2s.jacfwd(sin_of)(X, jvp_tanh), fd(lambda v: sin_of(v, jvp_tanh), X),
                               rtol=1e-6, atol=1e-8)


def draws_from_an_item(x, rngs):
    return np.sum(np.sin(x * rngs[0].normal(size=3)))


def draws_by_name(x, rng, method="normal"):
    return np.sum(np.sin(x * getattr(rng, method)(size=3)))


_SHARED_RNG = np.random.default_rng(2)


def _rng_factory():
    return _SHARED_RNG


def draws_from_a_returned_generator(x):
    return np.sum(np.sin(x * _rng_factory().normal(size=3)))


class HoldsGenerators:
    def __init__(self):
        self.rngs = [np.random.default_rng(1)]

    def f(self, x):
        return np.sum(np.sin(x * self.rngs[0].normal(size=3)))


def draws_from_a_seeded_inline_generator(x):
    return np.sum(np.sin(x * np.random.default_rng(5).normal(size=3)))


@pytest.mark.parametrize("call", [
    lambda t: t(draws_from_an_item)(X, (np.random.default_rng(0),)),
    lambda t: t(draws_from_an_item)(X, [np.random.default_rng(0)]),
    lambda t: t(draws_by_name)(X, np.random.default_rng(0)),
    lambda t: t(draws_from_a_returned_generator)(X),
    lambda t: t(HoldsGenerators().f)(X),
], ids=["tuple_item", "list_item", "getattr", "returned", "attribute_item"])
@pytest.mark.parametrize("transform", [s2s.hessian, s2s.jacfwd])
def test_a_method_of_an_object_reached_through_items_or_calls_refused(call, transform):
    """`rngs[0].normal()`, `getattr(rng, "normal")()`, `factory().normal()`: a method of an object reached
    otherwise than by a name was left out of the repeated-evaluation check, and jacfwd mixed draws."""
    refused(lambda: call(transform), "s2s." + transform.__name__)


def test_a_seeded_generator_made_inline_is_right():
    grad = s2s.grad(draws_from_a_seeded_inline_generator)
    np.testing.assert_allclose(s2s.hessian(draws_from_a_seeded_inline_generator)(X),
                               np.stack([fd(lambda v: grad(v)[i], X) for i in range(3)]), rtol=1e-5, atol=1e-7)


def draws_through_a_local_alias(x, rng):
    draw = rng.normal
    return np.sum(np.sin(x * draw(size=3)))


def draws_through_a_callee_chosen(x, rng, flag=True):
    return np.sum(np.sin(x * (rng.normal if flag else rng.uniform)(size=3)))


def calls_what_it_is_given(x, act):
    return np.sum(np.sin(x * act()))


def passes_it_on(x, act):
    return calls_what_it_is_given(x, act)


class DrawingCallable:
    def __init__(self):
        self.rng = np.random.default_rng(0)

    def __call__(self):
        return self.rng.normal(size=3)


class CountingCallable:
    def __init__(self):
        self.n = 0.0

    def __call__(self):
        self.n += 1.0
        return self.n


class PureCallable:
    def __init__(self):
        self.w = np.array([0.5, -1.0, 2.0])

    def __call__(self):
        return self.w * 2.0


@pytest.mark.parametrize("call", [
    lambda t: t(draws_through_a_local_alias)(X, np.random.default_rng(0)),
    lambda t: t(draws_through_a_callee_chosen)(X, np.random.default_rng(0)),
    lambda t: t(calls_what_it_is_given)(X, functools.partial(np.random.default_rng(0).normal, size=3)),
    lambda t: t(calls_what_it_is_given)(X, DrawingCallable()),
    lambda t: t(calls_what_it_is_given)(X, CountingCallable()),
    lambda t: t(passes_it_on)(X, DrawingCallable()),
], ids=["alias", "chosen", "partial", "callable_object", "counting_object", "passed_on"])
@pytest.mark.parametrize("transform", [s2s.hessian, s2s.jacfwd])
def test_a_drawing_function_value_taken_or_wrapped_refused(call, transform):
    """`draw = rng.normal; draw()`, a functools.partial of rng.normal, a callable object whose __call__ draws or
    counts, a drawing function value passed on to a helper: s2s leaves calls of function values out of the
    check, so these were accepted and jacfwd mixed draws."""
    refused(lambda: call(transform), "s2s." + transform.__name__)


def test_a_pure_callable_object_is_still_differentiated():
    want = fd(lambda v: calls_what_it_is_given(v, PureCallable()), X)
    np.testing.assert_allclose(s2s.jacfwd(calls_what_it_is_given)(X, PureCallable()), want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(s2s.jacfwd(passes_it_on)(X, PureCallable()), want,
                               rtol=1e-6, atol=1e-8)


def calls_an_item(x, acts, i=0):
    return np.sum(np.sin(x * acts[i]()))


def calls_a_literal_item(x, acts):
    return np.sum(np.sin(x * acts[0]()))


def reads_a_rate(x, cfg):
    return np.sum(np.sin(x * cfg["lr"]))


_ITEM_RNG = np.random.default_rng(4)


def _draw_three():
    return _ITEM_RNG.normal(size=3)


@pytest.mark.parametrize("call", [
    lambda t: t(calls_a_literal_item)(X, [_draw_three]),
    lambda t: t(calls_an_item)(X, [_draw_three], 0),
    lambda t: t(calls_an_item)(X, {"d": _draw_three}, "d"),
], ids=["literal_index", "index_argument", "dict"])
@pytest.mark.parametrize("transform", [s2s.hessian, s2s.jacfwd])
def test_a_drawing_function_called_from_a_container_refused(call, transform):
    """acts[i]() with acts a list of functions given in: a call s2s cannot read, left out of the check."""
    refused(lambda: call(transform), "s2s." + transform.__name__, "draws random numbers")


def test_a_container_holding_a_generator_beside_what_is_read_is_right():
    cfg = {"lr": 0.3, "rng": np.random.default_rng(0)}
    np.testing.assert_allclose(s2s.jacfwd(reads_a_rate)(X, cfg), fd(lambda v: reads_a_rate(v, cfg), X),
                               rtol=1e-6, atol=1e-8)


def _noise_reseeded(n, seed):
    seed = None  # the literal the caller gives is not what default_rng gets
    return np.random.default_rng(seed).normal(size=n)


def seeded_in_helper_then_reassigned(x):
    return np.sum(np.sin(x * _noise_reseeded(3, 7)))


def seed_argument_reassigned(x, seed):
    seed = None
    return np.sum(np.sin(x * np.random.default_rng(seed).normal(size=3)))


@pytest.mark.parametrize("call", [lambda t: t(seeded_in_helper_then_reassigned)(X),
                                  lambda t: t(seed_argument_reassigned)(X, 5)], ids=["helper", "argument"])
@pytest.mark.parametrize("transform", [s2s.hessian, s2s.jacfwd])
def test_a_seed_parameter_assigned_in_the_body_is_not_the_seed_given(call, transform):
    """`seed = None` in the body: the parameter was still read as the literal 7 the call gave, and
    default_rng(None) (fresh entropy in every evaluation) was taken as seeded."""
    refused(lambda: call(transform), "draws random numbers")


class _Layer:
    def __init__(self, w, rng=None):
        self.w = w
        self.rng = rng

    def forward(self, h):
        return np.tanh(self.w * h)

    def dropout(self, h):
        return h * (self.rng.random(3) > 0.5)


class Network:
    def __init__(self):
        self._rng = np.random.default_rng(0)
        self.layers = [_Layer(0.5), _Layer(1.5)]
        self.dropouts = [_Layer(0.5, np.random.default_rng(1))]

    @property
    def rng(self):
        return self._rng

    def through_property(self, x):
        r = self.rng
        return np.sum(np.sin(x * r.normal(size=3)))

    def through_attribute(self, x):
        r = self._rng
        return np.sum(np.sin(x * r.normal(size=3)))

    def with_dropout(self, x):
        h = x
        for layer in self.dropouts:
            h = layer.dropout(h)
        return np.sum(h ** 2)

    def forward(self, x):
        h = x
        for layer in self.layers:
            h = layer.forward(h)
        return np.sum(h ** 2)


@pytest.mark.parametrize("name", ["through_property", "through_attribute", "with_dropout"])
@pytest.mark.parametrize("transform", [s2s.hessian, s2s.jacfwd])
def test_a_method_of_a_local_name_for_a_shared_object_refused(name, transform):
    """`r = self.rng; r.normal()` and `for layer in self.dropouts: layer.dropout(h)`: a method of a local name
    was taken as one of an object the function makes itself, so jacfwd mixed draws."""
    refused(lambda: transform(getattr(Network(), name))(X), "s2s." + transform.__name__)


def test_a_method_of_the_items_of_a_known_list_is_read():
    net = Network()
    np.testing.assert_allclose(s2s.jacfwd(net.forward)(X), fd(net.forward, X), rtol=1e-6, atol=1e-8)
    grad = s2s.grad(net.forward)
    np.testing.assert_allclose(s2s.hessian(net.forward)(X), np.stack([fd(lambda v: grad(v)[i], X) for i in range(3)]),
                               rtol=1e-5, atol=1e-6)


class Activations:
    def __init__(self, acts):
        self.acts = acts

    def f(self, x):
        h = x
        for act in self.acts:
            h = act(h)
        return np.sum(h ** 2)


def test_a_list_attribute_of_drawing_functions_refused():
    """`for act in self.acts: h = act(h)` with a drawing function among self.acts: calls of function values
    are left out of jacfwd's check, and the list was not looked into."""
    drawing = Activations([np.tanh, lambda z: z * _ITEM_RNG.normal(size=3)])
    refused(lambda: s2s.jacfwd(drawing.f)(X), "draws random numbers")
    pure = Activations([np.tanh, np.sin])
    np.testing.assert_allclose(s2s.jacfwd(pure.f)(X), fd(pure.f, X), rtol=1e-6, atol=1e-8)


def _noise(n, seed):
    return np.random.default_rng(seed).normal(size=n)


def seeded_in_helper(x):
    return np.sum(np.sin(x * _noise(3, 7)))


def seeded_with_none(x):
    return np.sum(np.sin(x * np.random.default_rng(None).normal(size=3)))


def seeded_from_argument(x, g):
    return np.sum(np.sin(x * np.random.default_rng(g).normal(size=3)))


def test_a_generator_seeded_with_a_number_is_the_same_in_every_evaluation():
    """default_rng(7), also through a helper's parameter: each evaluation draws the same numbers."""
    grad = s2s.grad(seeded_in_helper)
    np.testing.assert_allclose(s2s.hessian(seeded_in_helper)(X),
                               np.stack([fd(lambda v: grad(v)[i], X) for i in range(3)]), rtol=1e-5, atol=1e-7)


def unseeded_random_state(x):
    return np.sum(np.sin(x * np.random.RandomState().normal(size=3)))


def unseeded_bit_generator(x):
    return np.sum(np.sin(x * np.random.Generator(np.random.PCG64()).normal(size=3)))


def seeded_bit_generator(x):
    return np.sum(np.sin(x * np.random.Generator(np.random.PCG64(5)).normal(size=3)))


@pytest.mark.parametrize("f", [unseeded_random_state, unseeded_bit_generator])
@pytest.mark.parametrize("transform", [s2s.hessian, s2s.jacfwd])
def test_a_generator_class_made_without_a_seed_refused(f, transform):
    """RandomState() and Generator(PCG64()) take fresh entropy at each call: they were read as pure classes
    of NumPy, and jacfwd's columns came from different random functions."""
    refused(lambda: transform(f)(X), "fresh entropy")


def test_a_generator_class_seeded_with_a_number_is_right():
    grad = s2s.grad(seeded_bit_generator)
    np.testing.assert_allclose(s2s.hessian(seeded_bit_generator)(X),
                               np.stack([fd(lambda v: grad(v)[i], X) for i in range(3)]), rtol=1e-5, atol=1e-7)


def test_a_generator_seeded_with_none_or_a_generator_refused():
    """default_rng(None) draws fresh entropy, default_rng(g) returns g itself: each evaluation differs."""
    refused(lambda: s2s.hessian(seeded_with_none)(X), "draws random numbers")
    refused(lambda: s2s.jacfwd(seeded_from_argument)(X, np.random.default_rng(0)), "draws random numbers")
