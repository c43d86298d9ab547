"""`global` names a function assigns: counters, logs and caches written in its module by the derivative as by the
function, once per call (transforms/global_names.py); a differentiated value written and read back is refused."""

import functools
import warnings

import autograd
import autograd.numpy as anp
import global_counter_module
import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s

CALLS = 0
LAST_LOSS = None
SCALE = 2.0
ACT = np.sin
W = np.array([0.5, 1.0, -2.0, 0.25])


def counted(w):
    global CALLS
    CALLS += 1
    return np.sum(w ** 2) * SCALE


def logged(w):
    global LAST_LOSS
    loss = np.sum(np.sin(w) * w)
    LAST_LOSS = loss  # (differentiated, never read back: the log holds the function's value)
    return loss


def counted_in_a_loop(w):
    global CALLS
    s = 0.0
    for i in range(3):
        CALLS = CALLS + 1
        s = s + np.sum(np.tanh(w * (i + 1)))
    return s


def branch_on_the_count(w):
    global CALLS
    CALLS += 1
    if CALLS > 10 ** 9:
        return np.sum(w)
    return np.sum(w ** 3)


def declared_and_only_read(w):
    global SCALE
    return SCALE * np.sum(np.exp(w))


def function_rebound(w):
    global ACT
    ACT = np.cos
    return np.sum(ACT(w) * w)


def calls_a_counted_helper(w):
    global CALLS
    CALLS += 1
    return global_counter_module.counted_square_sum(np.tanh(w)) * 3.0


def autograd_counted(w):
    return anp.sum(w ** 2) * SCALE


@pytest.fixture(autouse=True)
def _restore():
    global CALLS, LAST_LOSS, ACT
    CALLS, LAST_LOSS, ACT = 0, None, np.sin
    global_counter_module.CALLS = 0
    yield
    CALLS, LAST_LOSS, ACT = 0, None, np.sin


def test_a_counter_counts_each_call_of_the_derivative_once():
    g = s2s.grad(counted)
    np.testing.assert_allclose(g(W), autograd.grad(autograd_counted)(W), rtol=1e-12)
    assert CALLS == 1
    g(W)
    value, grad = s2s.value_and_grad(counted)(W)
    assert CALLS == 3 and value == counted(W) - 0.0 and CALLS == 4
    np.testing.assert_allclose(grad, fd_grad(counted, (W,)), rtol=1e-6)


def test_a_logged_differentiated_value_is_the_function_s_value():
    got = s2s.grad(logged)(W)
    assert LAST_LOSS == pytest.approx(np.sum(np.sin(W) * W), rel=1e-15)
    np.testing.assert_allclose(got, fd_grad(logged, (W,)), rtol=1e-6)


@pytest.mark.parametrize("f, per_call", [(counted_in_a_loop, 3), (branch_on_the_count, 1), (declared_and_only_read, 0),
                                         (function_rebound, 0)], ids=lambda v: getattr(v, "__name__", str(v)))
def test_gradients_and_counts_in_both_modes(f, per_call):
    global CALLS
    expected = fd_grad(f, (W,))
    CALLS = 0
    np.testing.assert_allclose(s2s.grad(f)(W), expected, rtol=1e-6, atol=1e-9)
    assert CALLS == per_call
    v = np.random.default_rng(1).normal(size=W.shape)
    CALLS = 0
    np.testing.assert_allclose(s2s.jvp(f, (W,), (v,))[1], np.sum(expected * v), rtol=1e-6)
    assert CALLS == per_call


def test_a_helper_that_rebinds_a_global_stays_refused_at_the_call():
    """A helper's global write is followed in the function that declares it, not through a call (its caller could
    read the value back): refused at the call, naming the helper's line, as before."""
    with pytest.raises(s2s.UnsupportedSyntaxError) as caught:
        s2s.grad(calls_a_counted_helper)(W)
    assert "counted_square_sum rebinds `CALLS`" in str(caught.value) and "a global name" in str(caught.value)
    assert CALLS == 0 and global_counter_module.CALLS == 0


def test_the_printed_code_writes_the_global():
    text = s2s.source(s2s.grad(counted_in_a_loop), W)
    assert "s2s.set_global('CALLS', " in text and "s2s.global_value('CALLS')" in text and "global " not in text


def test_a_missing_global_is_python_s_name_error():
    def reads_an_unknown_counter(w):
        global NEVER_DEFINED_COUNTER
        NEVER_DEFINED_COUNTER += 1
        return np.sum(w)

    with pytest.raises(NameError, match="NEVER_DEFINED_COUNTER"):
        s2s.grad(reads_an_unknown_counter)(W)


def read_back(w):
    global LAST_LOSS
    LAST_LOSS = w * 2.0
    return np.sum(LAST_LOSS * w)


def tuple_target(w):
    global CALLS
    CALLS, b = 1, 2.0
    return np.sum(w) * b


def loop_target(w):
    global CALLS
    for CALLS in range(2):  # noqa: B007
        w = w * 2.0
    return np.sum(w)


def walrus_target(w):
    global CALLS
    if (CALLS := 5) > 2:
        return np.sum(w)
    return 0.0


def two_targets(w):
    global CALLS
    CALLS = other = 1
    return np.sum(w) * other


def inner_binds(w):
    global CALLS
    CALLS = 1
    twice = lambda CALLS: CALLS * 2.0  # noqa: E731
    return np.sum(twice(w))


def reads_the_log(v):
    return v * LAST_LOSS


class LogReader:
    def __call__(self, v):
        return v * LAST_LOSS


LOG_READER = LogReader()


def helper_reads_it_back(w):
    global LAST_LOSS
    LAST_LOSS = w * 2.0
    return np.sum(reads_the_log(w))


def function_value_reads_it_back(w, fn=reads_the_log):
    global LAST_LOSS
    LAST_LOSS = w * 2.0
    return np.sum(fn(w))


def object_reads_it_back(w):
    global LAST_LOSS
    LAST_LOSS = w * 2.0
    return np.sum(LOG_READER(w))


def square(v):
    return v * v


def logs_in_its_loop(w):
    global LAST_LOSS
    s = 0.0
    for i in range(1, 3):
        s = s + np.sum(square(w * i))
        LAST_LOSS = s  # (the next trip runs code that could read it back: refused)
    return s


def logs_after_its_loop(w):
    global LAST_LOSS
    s = 0.0
    for i in range(1, 3):
        s = s + np.sum(square(w * i))
    LAST_LOSS = s
    return s


def test_a_differentiated_value_logged_as_the_last_step():
    got = s2s.grad(logs_after_its_loop)(W)
    assert LAST_LOSS == pytest.approx(5.0 * np.sum(W * W), rel=1e-14)
    np.testing.assert_allclose(got, fd_grad(logs_after_its_loop, (W,)), rtol=1e-6)


def partial_reads_it_back(w):
    global LAST_LOSS
    LAST_LOSS = w * 2.0
    return np.sum(functools.partial(reads_the_log)(w))


class PropertyReader:
    @property
    def scale(self):
        return LAST_LOSS


PROPERTY_READER = PropertyReader()


def property_reads_it_back(w):
    global LAST_LOSS
    LAST_LOSS = np.sum(w * 2.0)
    return np.sum(w * PROPERTY_READER.scale)


@pytest.mark.parametrize("f, marker, what", [
    (helper_reads_it_back, "LAST_LOSS = w", "code runs after it"),
    (function_value_reads_it_back, "LAST_LOSS = w", "code runs after it"),
    (object_reads_it_back, "LAST_LOSS = w", "code runs after it"),
    (partial_reads_it_back, "LAST_LOSS = w", "code runs after it"),
    (property_reads_it_back, "LAST_LOSS = np", "code runs after it"),
    (logs_in_its_loop, "LAST_LOSS = s", "code runs after it"),
    (read_back, "LAST_LOSS = w", "depends on what is differentiated"),
    (tuple_target, "CALLS, b", "bound another way"),
    (loop_target, "for CALLS", "bound another way"),
    (walrus_target, "CALLS := 5", "bound another way"),
    (two_targets, "CALLS = other", "several targets"),
    (inner_binds, "lambda CALLS", "binds a name the function declares global"),
], ids=lambda v: getattr(v, "__name__", None))
def test_what_is_refused_names_its_line(f, marker, what):
    import inspect
    lines, first = inspect.getsourcelines(f)
    line = first + next(k for k, text in enumerate(lines) if marker in text)
    with pytest.raises(s2s.UnsupportedSyntaxError) as caught:
        s2s.grad(f)(W)
    assert what in str(caught.value) and caught.value.lineno == line
    assert CALLS == 0 and LAST_LOSS is None  # (refused as it was made: nothing ran)


def test_a_hessian_of_a_counting_function_is_refused_with_a_hint():
    with pytest.raises(s2s.UnsupportedSyntaxError) as caught:
        s2s.hessian(counted)(W)
    assert "global" in str(caught.value) and "pass the global's value in" in caught.value.hint


def test_compiled_code_falls_back_with_a_warning_and_counts_once():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        got = s2s.grad(counted, compile=True)(W)
    assert any("global_value" in str(w.message) for w in seen)
    assert CALLS == 1
    np.testing.assert_allclose(got, 4.0 * W)


ARRAY_LOG = None
LIST_LOG = [0.0]


def keeps_an_array(w):
    global ARRAY_LOG
    local = np.ones(3)
    ARRAY_LOG = local  # (then changed in place: the global would see it in Python, not in s2s's copy)
    local[0] = 5.0
    return np.sum(w[:3] * ARRAY_LOG)


def appends_to_a_global_it_rebinds(w):
    global LIST_LOG
    LIST_LOG.append(1.0)
    LIST_LOG = LIST_LOG
    return np.sum(w)


def test_a_global_given_an_array_or_list_is_refused_when_it_runs():
    """(review 248: the array changed in place after it was stored stayed [1, 1, 1] in the global and the gradient)"""
    with pytest.raises(s2s.UnsupportedSyntaxError, match="cannot give the global `ARRAY_LOG` a ndarray"):
        s2s.grad(keeps_an_array)(W)
    assert ARRAY_LOG is None


def test_a_written_global_s_object_is_not_changed_in_place():
    """(review 248: `H.append(v)` of a global list was undone by the backward sweep's pop)"""
    with pytest.raises(s2s.UnsupportedSyntaxError, match="has its object changed or a method called"):
        s2s.grad(appends_to_a_global_it_rebinds)(W)
    assert LIST_LOG == [0.0]


def counts_then_raises(w):
    global CALLS
    CALLS += 1
    if w[0] > 0:
        raise ValueError("a positive first entry")
    return np.sum(w)


def counts_with_an_output_of_one_entry(w):
    global CALLS
    CALLS += 1
    return np.sum(w * w * CALLS, keepdims=True)


def test_the_function_is_not_run_again_where_the_derivative_raised():
    """(review 248: s2s ran it once more on copies of its arguments, to find its value: 2 counts for one call)"""
    with pytest.raises(ValueError, match="positive first entry"):
        s2s.grad(counts_then_raises)(W)
    assert CALLS == 1
    with pytest.raises(ValueError):
        s2s.value_and_grad(counts_then_raises)(W)
    assert CALLS == 2


def test_an_output_of_one_entry_is_refused_rather_than_run_twice():
    """(review 248: the code ran twice, counting twice, and the gradient of `w * w * CALLS` was twice the
    function's)"""
    with pytest.raises(s2s.NonScalarOutputError, match="binds a global name"):
        s2s.grad(counts_with_an_output_of_one_entry)(W)
    assert CALLS == 1


def appends_through_an_alias(w):
    global LIST_LOG
    log = LIST_LOG
    log.append(1.0)
    LIST_LOG = ()
    return np.sum(w)


def test_a_written_global_s_object_is_not_changed_through_another_name():
    """(the value `s2s.global_value` gives is the module's: an update of it through a local name is refused)"""
    global LIST_LOG
    with pytest.raises(s2s.UnsupportedSyntaxError, match="in place"):
        s2s.grad(appends_through_an_alias)(W)
    assert LIST_LOG == [0.0]


HANDLER = None
APPEND = None


def binds_by_def(w):
    global HANDLER

    def HANDLER(v):  # (review 249: the module's HANDLER stayed None)
        return v * 2.0
    return np.sum(HANDLER(w))


def keeps_a_bound_method(w):
    global APPEND
    items = [1.0]
    APPEND = items.append  # (review 249: calling it would change the list, which s2s's copies do not see)
    APPEND(2.0)
    return np.sum(w) * len(items)


def test_a_def_binding_a_declared_global_is_refused():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="declared global, is bound another way"):
        s2s.grad(binds_by_def)(W)
    assert HANDLER is None


def test_a_bound_method_of_an_object_is_not_given_to_a_global():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="cannot give the global `APPEND`"):
        s2s.value_and_grad(keeps_a_bound_method)(W)
    assert APPEND is None
