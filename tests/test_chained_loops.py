"""Loops over `itertools.chain(a, b, ...)`, `itertools.chain(*parts)` and `itertools.chain.from_iterable(parts)`
(transforms/loops.py writes them as a loop over each part in turn): values and gradients against central
differences and the general code, through a for loop, a comprehension and a nested loop; what chain runs over is
read once, when the loop starts; a `break` ends the whole loop; and what is refused (a part that is an iterator, a
part updated while the loop runs)."""

import itertools
from itertools import chain

import numpy as np
import pytest
from helpers_fd import assert_close, check_grad

import s2s

X = np.arange(1.0, 7.0) / 3


def over_three_sequences(x):
    s = 0.0
    for v in itertools.chain([x[0], x[1]], (x[2],), x[3:]):
        s = s + np.sin(v) * v
    return s


def over_starred_parts(x):
    groups = [[x[0], x[1]], (x[2],), x[3:5]]
    s = 0.0
    for v in chain(*groups):
        s = s * 0.5 + v ** 2  # (the order of the items matters)
    return s


def comprehension_from_iterable(x):
    layers = [[x[0], x[1]], [x[2] * x[3]], []]
    return sum([v * 3.0 + v ** 3 for v in chain.from_iterable(layers)])


def parts_read_when_the_loop_starts(x):
    a = [x[0], x[1]]
    s = 0.0
    for v in chain(a, [x[2]]):
        s = s + v
        a = [x[4]]  # (chain holds the list a was bound to)
    return s * v


def arrays_chained_in_a_nested_loop(x):
    rows = [x[:2], x[2:4]]
    total = 0.0
    for w in (1.0, 2.0):
        for v in chain(rows[0], rows[1], [w * x[5]]):
            total = total + w * np.tanh(v)
    return total


def tuple_targets(x):
    s = 0.0
    for k, v in chain([(1.0, x[0])], zip([2.0, 3.0], x[1:3])):
        s = s + k * v ** 2
    return s


def breaks_in_the_second_part(x):
    # (a break of the loop sets a flag the parts after it test: the third part is never run)
    s = 0.0
    for v in chain([x[0]], [x[1], x[2]], x[3:]):
        if v > 0.9:
            break
        s = s + v * v
    return s


def breaks_out_of_starred_parts(x):
    groups = [[x[0], x[1]], [x[2], x[3]], [x[4]]]
    s = 0.0
    for v in chain(*groups):
        s = s + np.sin(v)
        if s > 1.5:
            break
    return s * v


def returns_from_a_part(x):
    s = 0.0
    for v in chain([x[0]], [x[1], x[2]]):
        if v > 0.6:
            return s * v
        s = s + v
    return s


def breaks_with_an_iterator_part_never_made_to_run(x):
    s = 0.0
    for v, w in chain([(x[0], 1.0)], zip(x[1:], x[:-1])):
        s = s + v * w
        if s > 0.2:
            break
    return s


CASES = [over_three_sequences, over_starred_parts, comprehension_from_iterable, parts_read_when_the_loop_starts,
         arrays_chained_in_a_nested_loop, tuple_targets, breaks_in_the_second_part, breaks_out_of_starred_parts,
         returns_from_a_part, breaks_with_an_iterator_part_never_made_to_run]


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_against_differences_and_the_general_code(f):
    value, grad = s2s.value_and_grad(f)(X)
    assert_close(value, f(X), rtol=1e-12, atol=0.0)
    check_grad(grad, f, (X,))
    assert_close(s2s.derivative(f)(X), grad, rtol=1e-12, atol=1e-14)


def an_iterator_part(x, weights):
    s = 0.0
    for v in chain(weights, [x[2]]):
        s = s + v * x[0]
    return s


def a_part_updated_in_the_loop(x):
    a = [x[0], x[1]]
    s = 0.0
    for v in chain(a, [x[2]]):
        if len(a) < 4:
            a.append(v * 2.0)
        s = s + v
    return s


@pytest.mark.parametrize("f, error, needle", [
    (an_iterator_part, s2s.UnsupportedSyntaxError, "iterator"),
    (a_part_updated_in_the_loop, s2s.UnsupportedSyntaxError, "updates `a` in place"),
], ids=["iterator", "updated"])
def test_refused(f, error, needle):
    args = (X, (w for w in (1.0, 2.0))) if f is an_iterator_part else (X,)
    with pytest.raises(error, match=needle):
        s2s.grad(f)(*args)


def an_iterator_part_of_a_name_rebound_in_the_body(x):
    # (helper 183: zip(b, b) was made after the first part's loop, reading the b the body bound)
    b = [x[0]]
    s = 0.0
    for v, w in chain([(x[1], x[1])], zip(b, b)):
        b = [x[2]]
        s = s + v * w
    return s


def a_nested_chain_of_a_rebound_name(x):
    b = [x[0]]
    s = 0.0
    for v in chain([x[1]], chain(b, [x[1]])):
        b = [x[2]]
        s = s + v * v
    return s


def draws_in_python_s_order(x):
    rng = np.random.default_rng(3)
    s = 0.0
    for v, w in chain([(x[0], 1.0)], zip(x, rng.normal(size=3))):
        s = s + v * w * rng.normal()
    return s


@pytest.mark.parametrize("f", [an_iterator_part_of_a_name_rebound_in_the_body, a_nested_chain_of_a_rebound_name,
                               draws_in_python_s_order], ids=lambda f: f.__name__)
def test_what_a_part_is_made_of_is_read_when_chain_is_called(f):
    value, grad = s2s.value_and_grad(f)(X)
    assert_close(value, f(X), rtol=1e-12, atol=0.0)
    check_grad(grad, f, (X,))


def an_ownership_guard_in_the_body(x, flag):
    y = x * 1.0
    L = [y] if flag else [x * 2.0]
    s = 0.0
    for v in chain(L, [x]):
        y += 1.0
        s = s + np.sum(v * v)
    return s + np.sum(y)


def test_a_body_whose_update_is_checked_against_the_loop_s_items_is_refused_not_broken():
    # (helper 183: the check named the sequence the loop over the whole chain would have had: NameError)
    for flag in (False, True):
        with pytest.raises(s2s.NoDerivativeRuleError, match="itertools.chain"):
            s2s.grad(an_ownership_guard_in_the_body)(X, flag)


def a_break_of_a_loop_in_the_body(x):
    # (a nested loop's own break leaves only that loop: the chained loop is still written out)
    s = 0.0
    for v in chain([x[0], x[1]], [x[2]]):
        for k in range(3):
            if k == 2:
                break
            s = s + k * v
    return s


def test_a_nested_loop_s_break_is_its_own():
    check_grad(s2s.grad(a_break_of_a_loop_in_the_body)(X), a_break_of_a_loop_in_the_body, (X,))


COUNTER = itertools.count(1)


def consumes_a_global_iterator(x):
    k = sum(itertools.islice(COUNTER, 1))  # (1 at the first call, 2 at the next...)
    return k * np.sum(x ** 3)


def test_evaluating_again_refuses_what_an_itertools_object_may_take_from_elsewhere():
    # (helper 184: with the making of itertools objects taken as free of effects, hessian's evaluations saw
    # k = 2, 3, 4: a wrong Hessian; an itertools object may step an iterator that outlives the call)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="itertools.islice"):
        s2s.hessian(consumes_a_global_iterator)(np.array([0.3, 0.5, 0.7]))


arg = abs  # (a module global that a fresh name of s2s's once read as: helper 185)


def _never_past_five(r):
    if r > 5.5:
        raise ValueError("Python never calls it on 6")
    return r * 1.0


def maps_your_function_in_a_loop_that_breaks(x):
    s = 0.0
    for v in chain([x], map(_never_past_five, [5, 6])):
        s = s + v * x
        if v > 4:
            break
    return s


def test_a_function_of_yours_mapped_in_a_part_is_checked_by_what_it_is():
    # (the check that refuses map of your function in a loop that may break read the fresh name `arg` it was bound
    # to, which the module's global `arg = abs` answered: s2s called it on 6, where Python stops at 5)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="may stop before"):
        s2s.grad(maps_your_function_in_a_loop_that_breaks)(2.0)


def enumerates_from_a_float(x):
    s = 0.0
    for i, v in enumerate([x, 2 * x], 1.5):
        s = s + v * i
    return s


def test_enumerate_s_start_is_an_int_as_python_asks():
    # (helper 185, older: s2s counted from 1.5 where Python raises TypeError)
    with pytest.raises(TypeError, match="cannot be interpreted as an integer"):
        s2s.grad(enumerates_from_a_float)(2.0)


GLOBAL_STEPS = [0.5, 1.5]
GLOBAL_ITERATOR = iter([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5])


def chain_of_arguments(x, y):
    s = 0.0
    for v in chain(x, y):
        s = s + np.sin(v) * v
    return s


def chain_of_displays_and_globals(x):
    s = 0.0
    for v in itertools.chain.from_iterable([x[:2], [x[2] ** 2], GLOBAL_STEPS, range(2)]):
        s = s + v * v * x[0]
    return s


def chain_of_zipped_arguments(x, y):
    s = 0.0
    for a, b in chain(zip(x, y), enumerate(y)):
        s = s + a * np.cos(b)
    return s


def chain_of_a_global_iterator(x):
    s = 0.0
    for v in chain(x, GLOBAL_ITERATOR):
        s = s + v * x[0]
        if v > 2.0:
            break
    return s


def chain_of_a_local_iterator(x):
    it = iter(x)
    s = 0.0
    for v in chain(it, [1.0]):
        s = s + v ** 3
    return s


@pytest.mark.parametrize("f, args", [
    (chain_of_arguments, (np.array([0.1, 0.5]), np.array([0.3]))),
    (chain_of_displays_and_globals, (np.array([0.4, -0.7, 1.1]),)),
    (chain_of_zipped_arguments, (np.array([0.4, -0.7]), np.array([1.1, 0.2]))),
])
def test_hessian_and_jacfwd_of_loops_over_chains_of_fresh_iterables(f, args):
    """Stop 57 left hessian and jacfwd refusing every loop over itertools.chain (making an itertools object
    may step an iterator that outlives the call); a chain of displays, ranges, arguments (jacfwd refuses
    iterator arguments) and module values that are no iterator steps none."""
    from helpers_fd import fd_grad
    np.testing.assert_allclose(s2s.jacfwd(f)(*args), s2s.grad(f)(*args), rtol=1e-12, atol=1e-14)
    hess = s2s.hessian(f)(*args)
    rows = [fd_grad(lambda x, k=k: s2s.grad(f)(x, *args[1:])[k], (args[0],)) for k in range(args[0].size)]
    np.testing.assert_allclose(hess, np.array(rows).reshape(hess.shape), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("f", [chain_of_a_global_iterator, chain_of_a_local_iterator])
def test_hessian_refuses_a_chain_that_may_step_an_iterator_it_does_not_make(f):
    with pytest.raises(s2s.UnsupportedSyntaxError, match="chain"):
        s2s.hessian(f)(np.array([0.3, 0.5, 0.7]))


MODULE_ITEMS = iter([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0])


def takes_a_module_iterator_s_items(x):
    k = sum(list(MODULE_ITEMS)[:1])
    return k * np.sum(x ** 3)


def loops_over_a_module_iterator(x):
    s = 0.0
    for v in MODULE_ITEMS:
        s = s + v * np.sum(x ** 2)
        break
    return s


@pytest.mark.parametrize("f", [takes_a_module_iterator_s_items, loops_over_a_module_iterator])
@pytest.mark.parametrize("transform", [s2s.hessian, s2s.jacfwd])
def test_evaluating_again_refuses_a_module_iterator(f, transform):
    """A silent wrong Hessian found at stop 58 (older): `list(GI)` of a module's iterator is a pure builtin call
    of a name, so hessian's evaluations took GI's items one after the other (a Hessian of zeros for
    [[1.8, 0], [0, 3.0]]); a function that reads a module's or a closure's iterator is refused."""
    with pytest.raises(s2s.UnsupportedSyntaxError, match="an iterator of its module"):
        transform(f)(np.array([0.3, 0.5]))


def takes_from_a_held_iterator(x, its):
    k = sum(list(its[0])[:1])
    return k * np.sum(x ** 3)


def test_evaluating_again_refuses_an_iterator_inside_an_argument():
    """As a module's iterator: an iterator in a list argument gave a Hessian of zeros (its items taken by the first
    evaluation); an argument that holds one is refused, one that holds lists is not."""
    x = np.array([0.3, 0.5])
    with pytest.raises(s2s.UnsupportedSyntaxError, match="holds a list_iterator"):
        s2s.hessian(takes_from_a_held_iterator)(x, [iter([1.0, 2.0, 3.0])])
    np.testing.assert_allclose(s2s.hessian(takes_from_a_held_iterator)(x, [[1.0, 2.0]]), np.diag(6.0 * x))
