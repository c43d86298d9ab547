"""Calls of your functions that update an argument in place, through every way the callee can be reached (stop 61,
found probing issue 16's "left" list): a helper run as it is by the derivative (its arguments carry no
derivative) changed an array the backward sweep reads later (`z = x * w`, then `double(w)`: a wrong gradient, now
passed a copy: transforms/raw_calls.py); a helper calling a function or method it is given (`apply(double, w)`,
`o.forward(w)`, `self.z.update(v)`) was summarised as changing nothing (wrong gradients, now settled by what the
caller passes: transforms/callees.py); a class's own `__new__` changing its argument went unread; a method of a
local object of your class named like an array's (`b.take(x)`) was read as NumPy's."""

import functools
import operator

import numpy as np
import pytest
from conftest import check_grad, numeric_grad

import s2s

X = np.array([0.7, -1.3, 2.1])


def double(a):
    a *= 2.0
    return 1.0


def double_and_return(a):
    a *= 2.0
    return a


def apply(f, v):
    return f(v)


def bump_first(items):
    items[0] *= 3.0
    return 0.5


# ---- run as it is: passed a copy --------------------------------------------------------------------------

def read_then_doubled(x):
    w = np.ones(3) * 1.5
    z = x * w
    c = double(w)
    return np.sum(z * x) * c


def read_then_doubled_and_rebound(x):
    w = np.ones(3) * 1.5
    z = x * w
    w = double_and_return(w)
    return np.sum(z * x) + np.sum(w * x)


def read_then_doubled_through_apply(x):
    w = np.ones(3) * 1.5
    z = x * w
    c = apply(double, w)
    return np.sum(z * x) * c


def read_then_doubled_through_a_lambda(x):
    w = np.ones(3) * 1.5
    z = x * w
    c = apply(lambda v: double(v), w)
    return np.sum(z * x) * c


def doubled_in_a_loop(x):
    w = np.ones(3)
    z = x * 1.0
    for _ in range(3):
        z = z * w
        w = double_and_return(w)
    return np.sum(z)


def an_item_of_a_list_changed(x):
    items = [np.ones(3) * 0.5, np.ones(3)]
    z = x * items[0]
    c = bump_first(items)
    return np.sum(z * x) * c


class Scaler:
    def __new__(cls, arr):
        arr *= 2.0
        return super().__new__(cls)

    def __init__(self, arr):
        self.a = 1.0


def made_by_a_new_that_changes_its_argument(x):
    w = np.ones(3) * 1.5
    z = x * w
    s = Scaler(w)
    return np.sum(z * x) * s.a


@pytest.mark.parametrize("f", [read_then_doubled, read_then_doubled_and_rebound, read_then_doubled_through_apply,
                               doubled_in_a_loop, an_item_of_a_list_changed,
                               made_by_a_new_that_changes_its_argument])
def test_a_helper_run_as_it_is_changes_a_copy(f):
    g = s2s.grad(f)(X)
    np.testing.assert_allclose(g, numeric_grad(f, (X,)), rtol=1e-6, atol=1e-8)
    _, t = s2s.jvp(f, (X,), (np.ones(3),))
    np.testing.assert_allclose(t, np.sum(numeric_grad(f, (X,))), rtol=1e-6, atol=1e-8)


def test_the_copy_is_in_the_printed_code():
    assert "s2s.call_copied(double, " in s2s.source(s2s.grad(read_then_doubled), X)


def test_a_function_that_changes_nothing_is_passed_as_it_is():
    def f(x):
        w = np.ones(3) * 1.5
        z = x * w
        c = apply(np.sin, w)
        return np.sum(z * x) * np.sum(c)
    check_grad(f, X, ag=False)
    assert "call_copied" not in s2s.source(s2s.grad(f), X)


# ---- refused: Python's change would be seen -------------------------------------------------------------

def doubled_through_apply_then_read(x):
    z = x * 1.0
    c = apply(double, z)
    return np.sum(z * x) * c


def test_a_change_through_apply_the_function_sees_is_refused():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="apply updates its argument"):
        s2s.grad(doubled_through_apply_then_read)(X)


class Holder:
    def __init__(self, g):
        self.g = g

    def forward(self, v):
        fn = self.g
        fn(v)
        return 1.0


class Z:
    def update(self, v):
        v *= 3.0


class HoldsAnObject:
    def __init__(self):
        self.z = Z()

    def forward(self, v):
        self.z.update(v)
        return 1.0


HOLDER = Holder(double_and_return)
HOLDS = HoldsAnObject()


def through_a_helper(o, w):
    return o.forward(w)


def a_global_object_through_a_helper(x):
    w = np.ones(3)
    z = x * w
    c = through_a_helper(HOLDER, w)
    return np.sum(z * x) * c


def a_held_object_s_method_through_a_helper(x):
    w = np.ones(3)
    z = x * w
    c = through_a_helper(HOLDS, w)
    return np.sum(z * x) * c


def a_local_object_s_method(x):
    o = Holder(double_and_return)
    w = np.ones(3)
    z = x * w
    c = o.forward(w)
    return np.sum(z * x) * c


@pytest.mark.parametrize("f", [a_global_object_through_a_helper, a_held_object_s_method_through_a_helper])
def test_a_method_that_changes_its_argument_through_what_its_object_holds_changes_a_copy(f):
    # (helper 200's c1/c2 forms: the summaries followed neither the function the object holds nor its object's
    # method; the object is known here, so the helper, run as it is, is given a copy of w)
    g = s2s.grad(f)(X)
    np.testing.assert_allclose(g, numeric_grad(f, (X,)), rtol=1e-6, atol=1e-8)
    assert "s2s.call_copied(" in s2s.source(s2s.grad(f), X)


def test_a_local_object_s_method_that_changes_its_argument_is_refused_when_it_runs():
    with pytest.raises(s2s.UnsupportedSyntaxError, match=r"Holder.forward\) updates its argument `v` in place "
                                                          r"\(through double_and_return"):
        s2s.grad(a_local_object_s_method)(X)


def passed_a_function_value(x, use_double):
    g = double_and_return if use_double else np.sin
    w = np.ones(3)
    z = x * w
    c = apply(g, w)
    return np.sum(z * x) + np.sum(c)


def test_a_function_value_passed_on_is_checked_when_the_call_runs():
    g = s2s.grad(passed_a_function_value)(X, False)
    np.testing.assert_allclose(g, numeric_grad(lambda v: passed_a_function_value(v, False), (X,)), rtol=1e-6)
    with pytest.raises(s2s.UnsupportedSyntaxError, match=r"\(apply\) updates its argument `v` in place \(through "
                                                          "double_and_return"):
        s2s.grad(passed_a_function_value)(X, True)


def test_a_lambda_that_changes_its_argument_is_refused():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="apply updates its argument"):
        s2s.grad(read_then_doubled_through_a_lambda)(X)


# ---- a method of your class named like an array's ----------------------------------------------------------

class Bag:
    def __init__(self, w):
        self.w = w

    def take(self, x):
        return self.w * x * x

    def dot(self, x):
        return self.w * x


def takes_from_a_local_bag(x):
    b = Bag(3.0)
    return np.sum(b.take(x)) + np.sum(b.dot(x))


def takes_from_a_bag_made_on_the_line(x):
    return np.sum(Bag(2.0).take(x))


BAG = Bag(1.5)
BAGS = [Bag(2.0)]
BAGGED = {"bag": Bag(0.5)}


def takes_from_a_global_bag(x):
    return np.sum(BAG.take(x))


def dots_with_a_bag_in_a_global_list(x):
    return np.sum(BAGS[0].dot(x))


def dots_with_a_bag_in_a_global_dict(x):  # (np.dot(bag, x): a TypeError at the user's line before)
    return np.sum(BAGGED["bag"].dot(x))


def takes_from_the_last_bag(x):
    return np.sum(BAGS[-1].take(x))


BAG_PAIR = (Bag(1.0), Bag(-2.0))


def sums_over_the_bags_of_a_global_list(x):
    total = 0.0
    for bag in BAG_PAIR:
        total = total + np.sum(bag.take(x))
    for bag in BAGS:
        total = total + np.sum(bag.dot(x))
    return total


@pytest.mark.parametrize("f", [takes_from_a_local_bag, takes_from_a_bag_made_on_the_line, takes_from_a_global_bag,
                               dots_with_a_bag_in_a_global_list, dots_with_a_bag_in_a_global_dict, takes_from_the_last_bag,
                               sums_over_the_bags_of_a_global_list])
def test_your_class_s_method_named_like_an_array_s(f):
    check_grad(f, X, ag=False)


def test_a_global_item_that_becomes_an_array_after_a_first_call_is_an_array_s_dot_then():
    """The item read when the code was made is noted: another object there makes the code again."""
    held = [Bag(2.0)]

    def dots(x):
        return np.sum(held[0].dot(x))

    df = s2s.grad(dots)
    assert np.allclose(df(X), 2.0)
    held[0] = np.array([1.0, 2.0, 4.0])
    assert np.allclose(df(X), [1.0, 2.0, 4.0])
    held[0] = Bag(-1.0)
    assert np.allclose(df(X), -1.0)


# ---- review 201: each of these gave a wrong gradient or crashed ---------------------------------------------

def double_first_sum_second(a, b):
    a *= 2.0
    return np.sum(b)


def one_array_under_two_names(x):
    w = np.ones(3) * 0.5
    z = x * w
    c = double_first_sum_second(w, w)  # (Python's b is the doubled a: the copies are made together)
    return np.sum(z * x) * c


def one_array_twice_in_a_list(x):
    w = np.ones(3) * 0.5
    z = x * w
    c = bump_first([w, w])
    return np.sum(z * x) * c


def apply_inside(f, v):
    def inner(u):
        return f(u)
    return inner(v)


def through_a_nested_def(x):
    w = np.ones(3) * 1.5
    z = x * w
    c = apply_inside(double, w)
    return np.sum(z * x) * c


class Runner:
    def run(self, a):
        a *= 2.0
        return 1.0


RUNNER = Runner()


def a_global_object_s_method_passed(x):
    w = np.ones(3) * 1.5
    z = x * w
    c = apply(RUNNER.run, w)
    return np.sum(z * x) * c


def copy_into(a):
    np.copyto(a, 4.0)
    return 1.0


def through_np_copyto_in_a_helper(x):
    w = np.ones(3) * 1.5
    z = x * w
    c = apply(copy_into, w)
    return np.sum(z * x) * c


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


doubled_and_logged = logged(double)


def through_a_wraps_decorator(x):
    w = np.ones(3) * 1.5
    z = x * w
    c = doubled_and_logged(w)
    return np.sum(z * x) * c


def in_an_assert(x):
    w = np.ones(3) * 1.5
    z = x * w
    assert apply(double, w) > 0.0
    return np.sum(z * x)


@pytest.mark.parametrize("f", [one_array_under_two_names, one_array_twice_in_a_list, through_a_nested_def,
                               a_global_object_s_method_passed, through_np_copyto_in_a_helper,
                               through_a_wraps_decorator, in_an_assert])
def test_review_201_programs_are_right(f):
    g = s2s.grad(f)(X)
    np.testing.assert_allclose(g, numeric_grad(f, (X,)), rtol=1e-6, atol=1e-8)


class Static:
    @staticmethod
    def run(a):
        a *= 2.0
        return 1.0


def a_staticmethod_then_read(x):
    w = np.ones(3) * 1.5
    c = Static.run(w)
    return np.sum(x * x * w) * c


def a_staticmethod_of_a_differentiated_value(x):
    z = x * 1.0
    c = Static.run(z)
    return np.sum(z * x) * c


def apply_many(f, *args):
    return f(*args)


def through_operator_setitem(x):
    w = np.ones(3) * 1.5
    z = x * w
    c = apply_many(operator.setitem, w, 0, 9.0)
    return np.sum(z * x) + 0.0 * (c is None)


def a_partial_holding_the_array(x):
    w = np.ones(3) * 1.5
    z = x * w
    g = functools.partial(double, w)
    c = g()
    return np.sum(z * x) * c


def call_it(f):
    return f()


def a_bound_method_of_a_local_array(x):
    w = np.array([3.0, 1.0, 2.0])
    z = x * w
    call_it(w.sort)
    return np.sum(z * x)


def test_a_library_function_that_changes_its_argument_passed_to_a_helper_changes_a_copy():
    g = s2s.grad(through_operator_setitem)(X)
    np.testing.assert_allclose(g, numeric_grad(through_operator_setitem, (X,)), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f", [a_staticmethod_then_read, a_staticmethod_of_a_differentiated_value,
                               a_partial_holding_the_array,
                               a_bound_method_of_a_local_array])
def test_review_201_programs_are_refused(f):
    with pytest.raises(s2s.UnsupportedSyntaxError, match="in place"):
        s2s.grad(f)(X)


def test_a_keyword_named_like_the_dispatcher_s_own_parameters():
    def h(v, f):
        return f(v)

    def pick():
        return np.sin

    def g(x):
        fn = pick()
        w = np.ones(3) * 1.5
        return np.sum(x * w) * np.sum(h(w, f=fn))
    check_grad(g, X, ag=False)


class Pot:
    def __init__(self, w):
        self.w = w

    def dot(self, v):
        return np.sum(v * self.w)


def a_pot_chosen_by_a_condition(x):
    p = Pot(2.0) if x[0] > 0 else Pot(3.0)
    return p.dot(x)


def test_your_class_s_dot_on_an_object_a_condition_chose():
    check_grad(a_pot_chosen_by_a_condition, X, ag=False)


DOUBLE_LATER = functools.partial(double_and_return)


def a_global_partial_then_read(x):
    w = np.ones(3) * 1.5
    c = DOUBLE_LATER(w)
    return np.sum(x * x * w) * np.sum(c)


def mapped_over_a_differentiated_value(x):
    z = x * 1.0
    c = list(map(double, [z]))[0]
    return np.sum(z * x) * c


def doubled_in_a_comprehension(x):
    z = x * 1.0
    c = [double(v) for v in [z]]
    return np.sum(z * x) * c[0]


@pytest.mark.parametrize("f", [a_global_partial_then_read, mapped_over_a_differentiated_value,
                               doubled_in_a_comprehension])
def test_review_201_changes_python_would_show_are_refused(f):
    with pytest.raises(s2s.UnsupportedSyntaxError, match="in place"):
        s2s.grad(f)(X)


def in_an_f_string(x):
    w = np.ones(3) * 1.5
    z = x * w
    s = f"{apply(double, w)}"
    return np.sum(z * x) * len(s)


def picked_from_a_list_in_a_helper(fs, v):
    return [f(v) for f in fs][0]


def through_a_comprehension_in_a_helper(x):
    w = np.ones(3) * 1.5
    z = x * w
    c = picked_from_a_list_in_a_helper([double], w)
    return np.sum(z * x) * c


@pytest.mark.parametrize("f", [in_an_f_string, through_a_comprehension_in_a_helper])
def test_review_201_calls_inside_expressions_change_a_copy(f):
    g = s2s.grad(f)(X)
    np.testing.assert_allclose(g, numeric_grad(f, (X,)), rtol=1e-6, atol=1e-8)


# ---- review 202: ordinary code that must stay accepted, and the last wrong gradients ------------------------

def rk4_like_step(f, y, h):
    return y + h * f(y + 0.5 * h * f(y))


class Solver:
    def __init__(self, f, h):
        self.f = f
        self.h = h

    def step(self, y):
        return rk4_like_step(self.f, y, self.h)

    def solve(self, y, n):
        for _ in range(n):
            y = self.step(y)
        return y


def decay(y):
    return -0.5 * y


SOLVER = Solver(decay, 0.1)


def solved_by_a_global_object(x):
    return np.sum(SOLVER.solve(x, 3) ** 2)


def solved_by_a_local_object(x):
    s = Solver(decay, 0.1)
    return np.sum(s.solve(x, 3) ** 2)


def scale(v, s=2.0):
    return v * s


def an_inline_partial_passed(x):
    return np.sum(apply(functools.partial(scale, s=3.0), x) * x)


def noise_into(buf, rng):
    buf += rng.normal(size=buf.shape)
    return buf


def a_fresh_buffer_and_a_generator(x):
    rng = np.random.default_rng(0)
    b = noise_into(np.zeros(3), rng)
    return np.sum(x * b)


@pytest.mark.parametrize("f", [solved_by_a_global_object, solved_by_a_local_object, an_inline_partial_passed,
                               a_fresh_buffer_and_a_generator])
def test_review_202_ordinary_programs_stay_accepted(f):
    g = s2s.grad(f)(X)
    np.testing.assert_allclose(g, numeric_grad(f, (X,)), rtol=1e-5, atol=1e-7)


def bump_then_call(v, g):
    v *= 2.0
    return g()


def a_closure_reads_the_changed_argument(x):
    w = np.ones(3) * 1.5
    z = x * w
    c = bump_then_call(w, lambda: np.sum(w))  # (Python's lambda reads the doubled w: the copy must not hide it)
    return np.sum(z * x) * c


def a_bound_method_reads_the_changed_argument(x):
    w = np.ones(3) * 1.5
    z = x * w
    c = bump_then_call(w, w.sum)
    return np.sum(z * x) * c


class Box:
    def __init__(self, a):
        self.a = a


def double_then_read_box(box, v):
    v *= 2.0
    return np.sum(box.a)


def an_object_holds_a_view_of_the_changed_argument(x):
    w = np.ones(3) * 1.5
    z = x * w
    c = double_then_read_box(Box(w[0:2]), w)
    return np.sum(z * x) * c


@pytest.mark.parametrize("f", [a_closure_reads_the_changed_argument, a_bound_method_reads_the_changed_argument,
                               an_object_holds_a_view_of_the_changed_argument])
def test_review_202_what_a_copy_would_hide_is_refused(f):
    with pytest.raises(s2s.UnsupportedSyntaxError, match="in place"):
        s2s.grad(f)(X)


def update_second(a, b):
    b *= 2.0
    return 1.0


def a_partial_s_keyword_given_again(x):
    w = np.ones(3) * 1.5
    u = np.ones(3)
    z = x * w
    g = functools.partial(update_second, b=u)
    c = g(np.ones(3), b=w)
    return np.sum(z * x) * c


def test_a_partial_s_keyword_given_again_is_checked_when_the_call_runs():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="update_second"):
        s2s.grad(a_partial_s_keyword_given_again)(X)


class Items(list):
    def total(self):
        return sum(np.sum(v) for v in self)


def make_step(flag):
    def g(v):
        return 1.0
    if flag:
        def g(v):
            v *= 2.0
            return 1.0
    return g


def run_made_step(factory, v):
    step = factory(True)
    return step(v)


def a_factory_s_def_shadowed_under_an_if(x):
    w = np.ones(3) * 1.5
    z = x * w
    c = run_made_step(make_step, w)
    return np.sum(z * x) * c


def test_review_202_a_factory_s_def_shadowed_under_an_if_is_right():
    f = a_factory_s_def_shadowed_under_an_if
    np.testing.assert_allclose(s2s.grad(f)(X), numeric_grad(f, (X,)), rtol=1e-6, atol=1e-8)


def test_the_copies_keep_their_class_and_one_object_stays_one():
    from s2s.runtime import call_copied
    w = np.ones(3)
    items = Items([w, w])
    seen = {}

    def record(a, b):
        seen["a"], seen["b"] = a, b
        a[0] *= 2.0
        return b

    out = call_copied(record, None, (0,), (), items, items)
    assert type(seen["a"]) is Items and seen["a"] is seen["b"] is out  # (the read-only argument is the same copy)
    assert seen["a"][0] is seen["a"][1] and np.all(w == 1.0)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="views of one another|view of an array"):
        call_copied(record, None, (0,), (), w, w[1:])


BUMPED = np.arange(3.0)


def bump_the_global():
    BUMPED[:] = BUMPED * 2.0


def reads_the_global_before_a_bump(x):
    z = x * BUMPED
    bump_the_global()
    return np.sum(z)


def test_a_summary_that_fails_inside_s2s_counts_as_changing_anything(monkeypatch):
    """A failure of s2s's own reading of a helper (a bug in transforms/ownership.py) is not "unknown", which a reader
    of changes outside took as "none": the helper's change of the global went unseen (a wrong gradient, [0, 2, 4])."""
    from s2s.transforms import ownership

    import s2s.pipeline  # noqa: F401 - installs the context the passes read

    def fails(*args, **kwargs):
        raise RuntimeError("a bug in the analysis")

    monkeypatch.setattr(ownership, "summarise", fails)
    BUMPED[:] = np.arange(3.0)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="bump_the_global could not be read by s2s"):
        s2s.grad(reads_the_global_before_a_bump)(np.ones(3))


def leave(v):
    return v


def right_then_refused(df, args, change):
    """`df(*args)` is w's gradient [0, 1, 2] (x is ones) until `change()`; then the call is refused, where the code or
    summary made before, kept, gave the doubled w's [0, 2, 4]."""
    assert np.allclose(df(*args), [0.0, 1.0, 2.0])
    change()
    with pytest.raises(s2s.UnsupportedSyntaxError, match="updates its argument"):
        df(*args)


CALLED = leave


def calls_the_global(v):
    CALLED(v)
    return 0.5


def runs_what_it_is_given(x, w, fn):
    z = x * w
    c = fn(w)  # (s2s.call_plain: what fn updates is read when the call runs)
    return np.sum(z) + c


def applies_what_it_is_given(x, w, fn):
    z = x * w
    c = apply(fn, w)
    return np.sum(z) + c


@pytest.mark.parametrize("f", [runs_what_it_is_given, applies_what_it_is_given])
def test_a_summary_kept_at_run_time_is_made_again_when_a_helper_it_reads_is_redefined(f, monkeypatch):
    """The run-time summaries were kept per function: after `CALLED = double`, calls_the_global's kept summary (it
    updates nothing) gave the gradient of the doubled w."""
    right_then_refused(s2s.grad(f), (np.ones(3), np.arange(3.0), calls_the_global),
                       lambda: monkeypatch.setitem(globals(), "CALLED", double))


class Hook:
    pass


HOOK = Hook()
HOOK.step = leave


def calls_what_it_holds(o, v):
    u = o.g(v)
    return 0.5 + 0.0 * np.sum(u)


def passes_a_global_holder(x, w):
    z = x * w
    c = calls_what_it_holds(HOOK, w)  # (settled when the code is made: HOOK.g read then)
    return np.sum(z) + c


class Activation:
    def act(self, v):
        return v


ACTIVATION = Activation()


def calls_its_method(o, v):
    u = o.act(v)
    return 0.5 + 0.0 * np.sum(u)


def passes_a_global_object(x, w):
    z = x * w
    c = calls_its_method(ACTIVATION, w)
    return np.sum(z) + c


@pytest.mark.parametrize("f, change", [(passes_a_global_holder, "attribute"), (passes_a_global_object, "method")])
def test_code_settled_through_an_object_s_attribute_is_stale_once_it_changes(f, change, monkeypatch):
    """transforms/callees.follow read `HOOK.g` and `ACTIVATION.act` without the derivative's cache noting them:
    after `HOOK.g = double` (or a new `Activation.act`) the code made before gave the doubled w's gradient."""
    monkeypatch.setattr(HOOK, "g", leave, raising=False)
    right_then_refused(s2s.grad(f), (np.ones(3), np.arange(3.0)),
                       lambda: monkeypatch.setattr(HOOK, "g", double) if change == "attribute"
                       else monkeypatch.setattr(Activation, "act", lambda self, v: double(v)))


class Ops:
    def dot(self, a, b):
        return 3.0 * (a @ b)

    def take(self, x, i, j):
        return x[i] * x[j]

    @staticmethod
    def dot_of(a, b):
        return 2.0 * (a @ b)


OPS = Ops()
SQUARE = np.arange(9.0).reshape(3, 3) / 9.0


def global_ops_with_array_named_methods(x):
    return np.sum(OPS.dot(SQUARE, x) ** 2) + OPS.take(x, 0, 2)


def local_ops_with_array_named_methods(x):
    o = Ops()
    return np.sum(o.dot(SQUARE, x) ** 2) + o.take(x, 0, 1)


def a_static_method_through_the_class(x):
    return np.sum(Ops.dot_of(SQUARE, x))


@pytest.mark.parametrize("f", [global_ops_with_array_named_methods, local_ops_with_array_named_methods,
                               a_static_method_through_the_class])
def test_your_method_named_like_an_array_s_is_not_given_numpy_s_out_argument(f):
    """`OBJ.dot(A, x)` was refused as NumPy's `dot(a, b, out)`: its argument 2 read as `out` (review 205)."""
    check_grad(f, X, ag=False)


def steps_through_settings(v):
    u = HOOK.step(v)
    return 0.5 + 0.0 * np.sum(u)


def applies_a_helper_reading_an_attribute(x, w):
    z = x * w
    c = apply(steps_through_settings, w)  # (ownership reads HOOK.step: noted for the cache)
    return np.sum(z) + c


@pytest.mark.parametrize("f, args", [
    (applies_a_helper_reading_an_attribute, ()),
    (runs_what_it_is_given, (steps_through_settings,)),  # (at run time: `fn(w)` kept the summary so too)
])
def test_code_made_from_an_attribute_a_helper_s_call_reads_is_stale_once_it_changes(f, args, monkeypatch):
    """ownership.resolve_call read `HOOK.step` unnoted: after `HOOK.step = double` the code made before gave the
    doubled w's gradient (review 206)."""
    monkeypatch.setattr(HOOK, "step", leave)
    right_then_refused(s2s.grad(f), (np.ones(3), np.arange(3.0), *args),
                       lambda: monkeypatch.setattr(HOOK, "step", double))
