"""Generators in the user's code: generator functions consumed at once (for loops, list, tuple, sum, ...),
generator expressions given to consumers, map over functools.partial. Each against central differences and
autograd (which runs generators natively), in reverse and forward mode; and the refusals."""

import functools
import itertools
import time

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from helpers_fd import assert_close, autograd_version, check_all, fd_grad

import s2s

SHAPES = [(3, 4), (4, 2), (2, 1)]


def jvp_check(f, args, wrt=0):
    """s2s.jvp of `f` along a random direction against central differences."""
    rng = np.random.default_rng(7)
    v = rng.normal(size=np.shape(args[wrt]))
    tangents = [np.zeros_like(np.asarray(a, dtype=float)) for a in args]
    tangents[wrt] = v
    _, tangent = s2s.jvp(f, tuple(args), tuple(tangents))
    assert_close(tangent, np.sum(fd_grad(f, args, wrt=wrt) * v), rtol=1e-5, atol=1e-6)


def n_weights(shapes=SHAPES):
    return sum((m + 1) * n for m, n in shapes)


# ---- generator functions consumed by a for loop ------------------------------------------------------

def unpack_layers(weights):
    """Yields (W, b) per layer, slicing the consumed part off between yields (autograd's BNN example)."""
    for m, n in SHAPES:
        yield weights[: m * n].reshape((m, n)), weights[m * n: m * n + n]
        weights = weights[(m + 1) * n:]


def predict(weights, x):
    for W, b in unpack_layers(weights):
        x = np.tanh(x @ W + b)
    return np.sum(x ** 2)


def predict_with_accumulator(weights, x):
    penalty = 0.0
    for k, (W, b) in enumerate(unpack_layers(weights)):
        x = np.tanh(x @ W + b)
        penalty += (k + 1) * np.sum(W ** 2)
    return np.sum(x) + 0.1 * penalty


def make_net(shapes, np):
    """A factory whose local generator closes over `shapes` (the function differentiated closes over it)."""
    def unpack(weights):
        count = len(weights)
        for m, n in shapes:
            yield (weights[:, : m * n].reshape((count, m, n)), weights[:, m * n: m * n + n].reshape((count, 1, n)))
            weights = weights[:, (m + 1) * n:]

    def predictions(weights, inputs):
        inputs = np.repeat(np.expand_dims(inputs, 0), len(weights), axis=0)
        for W, b in unpack(weights):
            outputs = np.matmul(inputs, W) + b
            inputs = np.tanh(outputs)
        return np.sum(outputs ** 2)

    return predictions


def data(seed=0, rows=5):
    rng = np.random.default_rng(seed)
    return rng.normal(size=n_weights()), rng.normal(size=(rows, SHAPES[0][0]))


@pytest.mark.parametrize("f", [predict, predict_with_accumulator])
def test_for_loop_over_a_generator_function(f):
    w, x = data()
    check_all(f, (w, x))
    check_all(f, (w, x), wrt=1)
    jvp_check(f, (w, x))


def test_local_generator_of_a_factory_against_autograd():
    rng = np.random.default_rng(1)
    shapes = [(2, 3), (3, 1)]
    w = rng.normal(size=(4, n_weights(shapes)))
    x = rng.normal(size=(6, 2))
    g = s2s.grad(make_net(shapes, np))(w, x)
    assert_close(g, fd_grad(make_net(shapes, np), (w, x)))
    assert_close(g, autograd.grad(make_net(shapes, anp))(w, x), rtol=1e-7, atol=1e-9)
    jvp_check(make_net(shapes, np), (w, x))


# ---- consuming builtins -----------------------------------------------------------------------------------

def powers(x, n):
    for k in range(n):
        yield x ** (k + 1)


def scaled_rows(a):
    total = 0.0
    for row in a:
        total = total + np.sum(row)
        yield np.sin(row) * total


def summed(x):
    return np.sum(sum(powers(x, 3)))


def listed(x):
    return np.sum(np.stack(list(powers(x, 3))) * np.arange(3.0)[:, None])


def tupled(x):
    a, b = tuple(powers(x, 2))
    return np.sum(a * b)


def maxed(a):
    return max(np.sum(r) for r in scaled_rows(a)) + min(list(np.sum(r ** 2) for r in scaled_rows(a)))


def sorted_and_comprehension(a):
    values = sorted(np.sum(r) for r in scaled_rows(a))
    return values[0] * values[-1] + sum([np.sum(r ** 3) for r in scaled_rows(a) if np.size(r) > 0])


def early_return(x, n):
    yield x
    if n < 2:
        return
    for k in range(n):
        yield x * (k + 1.0)


def uses_early_return(x):
    return np.sum(sum(early_return(x, 3))) + np.sum(sum(early_return(x, 1)))


def stop_inside_loop(x, n):
    for k in range(10):
        if k == n:
            return
        yield x * (k + 1.0)


def uses_stop_inside_loop(x):
    return np.sum(np.stack(list(stop_inside_loop(x, 3))) ** 2)


def inner_generator(a):
    for r in scaled_rows(a):
        yield r * 2.0


def nested(a):
    return sum(np.sum(r ** 2) for r in inner_generator(a))


def nothing(x):
    for _ in range(0):
        yield x


def counting(x):
    k = 0
    seen = []
    while k < 3:
        seen.append(k)  # a list of its own, never yielded: updating it is fine
        n = len(seen)
        yield x * (k + n)
        k += 1


def uses_counting(x):
    return np.sum(sum(counting(x)) ** 2)


def empty_generator(x):
    return np.sum(x ** 2) + sum(nothing(x))


@pytest.mark.parametrize("f", [summed, listed, tupled, uses_early_return, uses_stop_inside_loop, empty_generator,
                               uses_counting])
def test_consumed_by_builtins(f):
    x = np.random.default_rng(2).normal(size=4)
    check_all(f, (x,))
    jvp_check(f, (x,))


@pytest.mark.parametrize("f", [maxed, sorted_and_comprehension, nested])
def test_generators_of_rows(f):
    a = np.random.default_rng(3).normal(size=(4, 3))
    check_all(f, (a,))
    jvp_check(f, (a,))


def test_float32_and_zero_d():
    x = np.float32(0.7)
    g = s2s.grad(summed)(x)
    assert_close(g, 1 + 2 * 0.7 + 3 * 0.49, rtol=1e-5)
    x = np.array(0.3)
    assert_close(s2s.grad(summed)(x), 1 + 2 * 0.3 + 3 * 0.09)


# ---- generator expressions ------------------------------------------------------------------------------

def gen_sum(xs):
    return sum(x ** 2 for x in xs)


def gen_filtered(xs):
    return sum(np.sin(x) * y for x, y in zip(xs, xs[::-1]) if x > -10.0)


def gen_tuple_and_list(xs):
    t = tuple(np.exp(x) for x in xs)
    stacked = np.stack(list(x * t[0] for x in xs))
    return np.sum(stacked) + t[-1]


def gen_min_max_sorted(xs):
    s = sorted((x * 3.0 for x in xs), key=lambda v: -v)
    return max(x ** 2 for x in xs) - min(np.cos(x) for x in xs) + s[0]


def gen_nested(a):
    return sum(sum(v * w for v in row) for row, w in zip(a, a[:, 0]))


@pytest.mark.parametrize("f", [gen_sum, gen_filtered, gen_tuple_and_list, gen_min_max_sorted])
def test_generator_expressions(f):
    xs = np.random.default_rng(4).normal(size=5)
    check_all(f, (xs,))
    jvp_check(f, (xs,))


def test_nested_generator_expressions():
    a = np.random.default_rng(5).normal(size=(3, 4))
    check_all(gen_nested, (a,))
    jvp_check(gen_nested, (a,))


# ---- map over functools.partial -----------------------------------------------------------------------

def log_partition(params, seq):
    a, b = params
    acc = a
    for y in seq:
        acc = np.log(np.sum(np.exp(acc[:, None] + b), axis=0)) + y
    return np.log(np.sum(np.exp(acc)))


def total_log_partition(params, seqs):
    return sum(map(functools.partial(log_partition, params), seqs))


def scaled_pairs(w, xs, ys):
    return sum(map(functools.partial(weighted, w, scale=2.0), xs, ys))


def weighted(w, x, y, scale=1.0):
    return scale * np.sum(np.sin(w * x) * y)


def test_map_over_partial_of_differentiated_params():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=3), rng.normal(size=(3, 3))
    seqs = [rng.normal(size=(4, 3)), rng.normal(size=(2, 3))]
    g = s2s.grad(total_log_partition)([a, b], seqs)
    expected = autograd.grad(autograd_version(total_log_partition))([a, b], seqs)
    assert_close(g[0], expected[0], rtol=1e-7, atol=1e-9)
    assert_close(g[1], expected[1], rtol=1e-7, atol=1e-9)
    assert_close(g[0], fd_grad(lambda v: total_log_partition([v, b], seqs), (a,)))


def test_map_over_partial_with_keyword_and_two_sequences():
    rng = np.random.default_rng(8)
    w = rng.normal(size=3)
    xs = [rng.normal(size=3) for _ in range(3)]
    ys = [rng.normal(size=3) for _ in range(3)]
    check_all(scaled_pairs, (w, xs, ys))
    jvp_check(scaled_pairs, (w, xs, ys))


# ---- refusals -------------------------------------------------------------------------------------------

def forever(x):
    k = 0.0
    while True:
        yield x * k
        k += 1.0


def with_break(x):
    total = 0.0
    for v in forever(x):
        total = total + np.sum(v)
        if total > 10.0:
            break
    return total


def with_return_in_loop(x):
    for v in powers(x, 3):
        return np.sum(v)
    return 0.0


def with_raise_in_loop(x):
    total = 0.0
    for v in powers(x, 3):
        if np.sum(v) > 1e9:
            raise ValueError("too big")
        total = total + np.sum(v)
    return total


def with_next(x):
    g = powers(x, 3)
    return np.sum(next(g))


def stored_twice(x):
    g = powers(x, 3)
    return np.sum(sum(g)) + np.sum(sum(g))


def passed_on(x):
    return np.sum(list(itertools.islice(forever(x), 3))[-1])


def delegating(x):
    yield from powers(x, 2)


def uses_delegating(x):
    return np.sum(sum(delegating(x)))


def receiving(x):
    y = yield x
    yield y


def uses_receiving(x):
    return np.sum(sum(receiving(x)))


def returning_value(x):
    yield x
    return 3.0


def uses_returning_value(x):
    return np.sum(sum(returning_value(x)))


def updates_in_loop(x):
    w = x * 1.0
    total = 0.0
    for v in powers(w, 3):
        w[0] = 2.0
        total = total + np.sum(v)
    return total


def augmented_update_of_passed(x):
    w = x * 1.0
    total = 0.0
    for v in powers(w, 3):
        w += 1.0
        total = total + np.sum(v)
    return total


def scale_in_place(a):
    a *= 2.0
    return a


def calls_updating_function(x):
    w = x * 1.0
    total = 0.0
    for v in powers(w, 3):
        scale_in_place(w)
        total = total + np.sum(v)
    return total


def any_of_generator(x):
    return np.sum(x) if any(np.sum(v) > 0 for v in [x, -x]) else 0.0


def numpy_sum_of_generator(x):
    return np.sum(v * v for v in [x, x])


def any_of_generator_function(x):
    return np.sum(x) if any(powers(x, 2)) else 0.0


def delegating_alone(x):  # (differentiated itself; no test consumes it)
    yield from powers(x, 2)


def counting_alone(x):
    k = 0.0
    while True:
        yield x * k
        k += 1.0


def zeroing(x):
    buf = x * 1.0
    for k in range(2):
        buf[k] = 0.0  # the value yielded before is this same array
        yield buf


def uses_zeroing(x):
    total = 0.0
    for v in zeroing(x):
        total = total + np.sum(v ** 2)
    return total


def shifting(x):
    buf = x * 1.0
    for _ in range(2):
        yield buf
        buf += 1.0


def uses_shifting(x):
    return np.sum(sum(shifting(x)))


REFUSED = [
    (with_break, "    break", "early (break)"),
    (with_return_in_loop, "return np.sum(v)", "early (return)"),
    (with_raise_in_loop, "raise ValueError", "early (raise)"),
    (with_next, "g = powers", "consumed at once and completely"),
    (stored_twice, "g = powers", "consumed at once and completely"),
    (passed_on, "islice", "consumed at once and completely"),
    (uses_delegating, "yield from", "yield from"),
    (uses_receiving, "y = yield", "send"),
    (uses_returning_value, "return 3.0", "returns a value"),
    (updates_in_loop, "w[0] = 2.0", "stores into an item"),
    (augmented_update_of_passed, "w += 1.0", "updates w in place"),
    (calls_updating_function, "scale_in_place(w)", "calls scale_in_place, which updates an argument in place"),
    (any_of_generator, "any(", "any() of a generator expression"),
    (numpy_sum_of_generator, "np.sum(v * v", "NumPy function"),
    (any_of_generator_function, "any(", "any(powers(...))"),
    (uses_zeroing, "buf[k] = 0.0", "generator that stores into an item"),
    (uses_shifting, "buf += 1.0", "generator that updates buf in place"),
    (delegating_alone, "yield from", "in the function it differentiates"),
    (counting_alone, "yield x * k", "in the function it differentiates"),
]


@pytest.mark.parametrize("f,marker,message", REFUSED, ids=[r[0].__name__ for r in REFUSED])
def test_refused_at_the_users_line(f, marker, message):
    import inspect
    where = {uses_delegating: delegating, uses_receiving: receiving, uses_returning_value: returning_value,
             uses_zeroing: zeroing, uses_shifting: shifting}
    lines, first = inspect.getsourcelines(where.get(f, f))
    line = first + next(k for k, text in enumerate(lines) if marker in text)
    start = time.perf_counter()
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.grad(f)(np.array([0.5, -0.25]))
    assert time.perf_counter() - start < 30.0  # an infinite generator does not hang the transform
    assert message in str(info.value)
    assert info.value.lineno == line
    assert info.value.hint


def test_any_written_as_a_list_is_differentiated():
    def f(x):
        return np.sum(x ** 2) if any([np.sum(v) > 0 for v in [x, -x]]) else 0.0
    x = np.array([0.5, -0.25, 2.0])
    assert_close(s2s.grad(f)(x), 2 * x)


# ---- second order ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("f", [predict, summed, uses_stop_inside_loop, gen_sum, nested])
def test_hessian_against_autograd(f):
    rng = np.random.default_rng(9)
    args = (data()[0], data()[1][:2]) if f is predict else \
        ((rng.normal(size=(3, 2)),) if f is nested else (rng.normal(size=3),))
    assert_close(s2s.hessian(f)(*args), autograd.hessian(autograd_version(f))(*args), rtol=1e-7, atol=1e-9)


# ---- found while testing generators (not theirs) ------------------------------------------------------

def first_layer_only(weights):
    return np.sum(list(unpack_layers(weights))[0][0])


def unpack_as_list(weights):
    out = []
    for m, n in SHAPES:
        out.append((weights[: m * n].reshape((m, n)), weights[m * n: m * n + n]))
        weights = weights[(m + 1) * n:]
    return out


def first_layer_of_a_list(weights):
    return np.sum(unpack_as_list(weights)[0][0])


@pytest.mark.parametrize("f", [first_layer_only, first_layer_of_a_list])
def test_unused_items_of_a_returned_list(f):
    check_all(f, (data()[0],))


G_STATE = np.array([1.0])


def bump_global():
    G_STATE[0] += 1.0
    return 0.0


def reads_global(x):
    for _ in range(3):
        yield x * G_STATE[0]


def calls_global_updater(x):
    t = 0.0
    for v in reads_global(x):
        t = t + np.sum(v) + bump_global()  # Python's generator sees G_STATE grow: 1, 2, 3
    return t


def test_a_loop_calling_a_function_that_updates_a_global_is_refused():
    # (bump_global changes a global: refused, by the generator's check or at the call itself)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="bump_global, which changes `G_STATE`|bump_global changes"):
        s2s.grad(calls_global_updater)(np.array([1.0, 2.0]))


def consumes_a_function_value(g, x):
    a = list(g(x))
    b = list(g(x))
    return np.sum(sum(a)) + np.sum(sum(b))


def passes_a_generator_function(x):
    return consumes_a_function_value(functools.partial(powers, n=2), x)


def test_a_generator_function_called_through_a_value_is_refused_at_the_call():
    summed(np.ones(2))  # (powers is consumed at once elsewhere: that must not make other uses pass)
    s2s.grad(summed)(np.ones(2))
    with pytest.raises(s2s.UnsupportedSyntaxError, match="consumed at once and completely") as info:
        s2s.grad(passes_a_generator_function)(np.array([0.5, 2.0]))
    assert "a = list(g(x))" in str(info.value)
