"""In-place updates are differentiated only where the updated object is owned (transforms/ownership.py).

Every program here is one a user could write. An update that another live name can see is refused
with the user's line (at transform time, or by the run-time guard when only the values can tell);
an owned update gives the right derivative and leaves the caller's arrays alone.
"""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s
from s2s.errors import UnsupportedSyntaxError


def numeric_grad(f, x):
    return fd_grad(f, [x])

G = np.ones(3)


def ident(v):
    return v


def pair(v):
    return v, 2.0


def global_array():
    return G


# ---- the same alias through every binding form: refused -------------------------------------------

def chained(x):
    y = x * 1.0
    a = b = y
    a *= 3.0
    return np.sum(y * y) + np.sum(b)


def conditional(x, c=True):
    y = x * 1.0
    a = y if c else 2.0 * y
    a *= 3.0
    return np.sum(y * y)


def ellipsis_view(x):
    y = x * 1.0
    a = y[...]
    a *= 3.0
    return np.sum(y * y)


def newaxis_view(x):
    y = x * 1.0
    a = y[None]
    a *= 3.0
    return np.sum(y * y)


def transpose_view(x):
    y = np.outer(x, x)
    a = y.T
    a *= 3.0
    return np.sum(y * x)


def reshape_view(x):
    y = x * 1.0
    a = y.reshape(-1)
    a += 1.0
    return np.sum(y * y)


def asarray_alias(x):
    y = x * 1.0
    a = np.asarray(y)
    a *= 3.0
    return np.sum(y * y)


def helper_returns_argument(x):
    y = x * 1.0
    a = ident(y)
    a *= 3.0
    return np.sum(y * y)


def helper_tuple_unpacking(x):
    y = x * 1.0
    a, _ = pair(y)
    a *= 3.0
    return np.sum(y * y)


def tuple_unpacking(x):
    y = x * 1.0
    a, b = y, 2.0
    a *= 3.0
    return np.sum(y * y) * b


def list_element(x):
    y = x * 1.0
    L = [y]
    L[0] *= 3.0
    return np.sum(y * y)


def dict_element(x):
    y = x * 1.0
    d = {"k": y}
    d["k"] *= 3.0
    return np.sum(y * y)


def enumerate_rows(x):
    Y = np.outer(x, x)
    for _i, r in enumerate(Y):
        r *= 3.0
    return np.sum(Y)


def zip_rows(x):
    Y = np.outer(x, x)
    for r, v in zip(Y, x):
        r *= v
    return np.sum(Y)


def row_view(x):
    Y = np.outer(x, x)
    r = Y[0]
    r *= 3.0
    return np.sum(Y)


def zero_d(x):
    z = x
    z += 1.0
    return x * z


def one_list_twice(x):
    y = x * 1.0
    L = [y, y]
    L[0] += 1.0
    return np.sum(L[1] * x)


def view_read_after_store(x):
    y = x * 1.0
    v = y[0:2]
    y[0] = 5.0
    return np.sum(v * x[:2])


def list_alias_append(x):
    L = [x[0]]
    M = L
    L.append(x[1])
    return len(M) * x[2]


def selected_by_max(x):
    y = x * 1.0
    z = x * 2.0
    a = max(y, z, key=np.sum)
    a += 1.0
    return np.sum(y * z)


def helper_returns_global(x):
    a = global_array()
    a += x
    return np.sum(G * x)


def local_lambda_ident(x):
    same = lambda v: v  # noqa: E731
    y = x * 1.0
    a = same(y)
    a *= 3.0
    return np.sum(y * y)


REFUSED = [chained, conditional, ellipsis_view, newaxis_view, transpose_view, reshape_view, asarray_alias,
           helper_returns_argument, helper_tuple_unpacking, tuple_unpacking, list_element, dict_element,
           enumerate_rows, zip_rows, row_view, one_list_twice, view_read_after_store, list_alias_append,
           selected_by_max, helper_returns_global, local_lambda_ident]


@pytest.mark.parametrize("f", REFUSED, ids=lambda f: f.__name__)
def test_update_seen_through_another_reference_is_refused(f):
    x = np.array([1.0, 2.0, 3.0])
    before = x.copy()
    with pytest.raises(UnsupportedSyntaxError, match="in place|updates the array it views") as info:
        s2s.grad(f)(x)
    assert info.value.filename.endswith("test_ownership.py") and info.value.lineno is not None
    assert np.array_equal(x, before)
    with pytest.raises(UnsupportedSyntaxError, match="in place|updates the array it views"):
        s2s.value_and_grad(f)(x)


def test_zero_d_array_alias_is_refused_and_numbers_are_not():
    with pytest.raises(UnsupportedSyntaxError, match="in place"):
        s2s.grad(zero_d)(np.array(2.0))
    assert s2s.grad(zero_d)(2.0) == pytest.approx(2 * 2.0 + 1.0)  # floats are immutable: z += 1 rebinds


def test_conditional_alias_depends_on_the_branch_taken():
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(UnsupportedSyntaxError):
        s2s.grad(conditional)(x, True)
    g = s2s.grad(conditional)(x, False)  # `a` is a new array: nothing else sees the update
    assert np.allclose(g, numeric_grad(lambda v: conditional(v, False), x))


def test_the_hint_works_when_followed():
    def copied(x):
        y = x * 1.0
        a = b = y
        a = a.copy()
        a *= 3.0
        return np.sum(y * y) + np.sum(b)

    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(UnsupportedSyntaxError, match=r"a = a.copy\(\)"):
        s2s.grad(chained)(x)
    assert np.allclose(s2s.grad(copied)(x), numeric_grad(copied, x))


# ---- in-place functions and methods: refused at transform time -------------------------------------

def uses_copyto(x):
    y = np.zeros(3)
    np.copyto(y, x)
    return np.sum(y * y)


def uses_fill_diagonal(x):
    y = np.zeros((3, 3))
    np.fill_diagonal(y, x[0])
    return np.sum(y)


def uses_put(x):
    y = x * 1.0
    np.put(y, [0], 5.0)
    return np.sum(y * x)


def uses_putmask(x):
    y = x * 1.0
    np.putmask(y, x > 1.5, 0.0)
    return np.sum(y * x)


def uses_place(x):
    y = x * 1.0
    np.place(y, x > 1.5, [0.0])
    return np.sum(y * x)


def uses_multiply_at(x):
    y = x * 1.0
    np.multiply.at(y, [0], 2.0)
    return np.sum(y * x)


def uses_fill_method(x):
    y = x * 1.0
    y.fill(2.0)
    return np.sum(y * x)


def uses_fill_function(x):
    y = x * 1.0
    np.ndarray.fill(y, 2.0)
    return np.sum(y * x)


def uses_sort_method(x):
    y = x * 1.0
    y.sort()
    return y[0] * x[0]


def uses_list_extend(x, L):
    L.extend([x[1]])  # (the caller's list; one the function builds is extended as `L += list(...)`)
    return L[0] * L[1]


def uses_shuffle(x):
    y = x * 1.0
    np.random.shuffle(y)
    return np.sum(y * x)


def updates_global(x):
    G[0] = x[0]
    return np.sum(G * x)


def augments_global_row(x):
    r = G[0:2]
    r += x[:2]
    return np.sum(r)


# (np.add.at is differentiated since stop 59: tests/transforms/test_ufunc_at.py; NumPy's writers since stop 72,
# as statements of their own: tests/test_numpy_writers.py)
NUMPY_WRITERS = [uses_copyto, uses_fill_diagonal, uses_put, uses_putmask, uses_place]
IN_PLACE_CALLS = [uses_multiply_at, uses_fill_method, uses_fill_function, uses_sort_method, uses_list_extend,
                  uses_shuffle, updates_global]


@pytest.mark.parametrize("f", IN_PLACE_CALLS, ids=lambda f: f.__name__)
def test_in_place_functions_are_refused_before_running(f):
    x = np.array([1.0, 2.0, 3.0])
    before, g_before = x.copy(), G.copy()
    with pytest.raises(UnsupportedSyntaxError, match="in place|not a local variable") as info:
        s2s.derivative(f)
    assert info.value.lineno is not None and info.value.hint
    assert np.array_equal(x, before) and np.array_equal(G, g_before)


@pytest.mark.parametrize("f", NUMPY_WRITERS, ids=lambda f: f.__name__)
def test_numpy_writers_on_an_array_the_function_made_are_differentiated(f):
    x = np.array([1.0, 2.0, 3.0])
    before = x.copy()
    np.testing.assert_allclose(s2s.grad(f)(x), numeric_grad(f, x), atol=1e-8)
    assert np.array_equal(x, before)


def test_update_of_a_view_of_a_global_is_refused():
    with pytest.raises(UnsupportedSyntaxError, match="in place|updates the array it views"):
        s2s.grad(augments_global_row)(np.array([1.0, 2.0, 3.0]))
    assert np.array_equal(G, np.ones(3))


# ---- owned updates: accepted, right, and the caller's arrays untouched ------------------------------

def fresh_accumulator(x):
    y = np.zeros(3)
    for i in range(3):
        y[i] += x[i] ** 2
    return np.sum(y * x)


def fresh_rows(x):
    total = np.zeros(3)
    for r in np.outer(x, x):
        total += r
    return np.sum(total * x)


def updates_its_parameter(x):
    x += 1.0
    x *= x
    return np.sum(x)


def updates_parameter_row(X):
    X[0] = X[0] * 2.0
    return np.sum(X * X)


def shared_numbers(x):
    a = b = 1.0
    a += x[0]
    return a * b * x[1]


def list_built_and_updated(x):
    L = [x[0] * 1.0, x[1] * 2.0]
    L[0] += x[2]
    L.append(x[0])
    return L[0] * L[1] + L[2]


def copy_then_update(x):
    y = x * 1.0
    a = y.copy()
    a *= 3.0
    return np.sum(y * a)


def alias_dead_after_update(x):
    y = x * 2.0
    a = y
    a += 1.0
    return np.sum(a * x)


def rebound_before_update(x):
    y = x * 1.0
    a = y
    a = a * 2.0
    a += 1.0
    return np.sum(y * a)


def loop_carried_update(x):
    h = x * 1.0
    for _ in range(3):
        h = np.tanh(h)
        h += 0.1 * x
    return np.sum(h)


OWNED = [fresh_accumulator, fresh_rows, updates_its_parameter, shared_numbers, list_built_and_updated,
         copy_then_update, alias_dead_after_update, rebound_before_update, loop_carried_update]


@pytest.mark.parametrize("f", OWNED, ids=lambda f: f.__name__)
def test_owned_updates_are_right_and_leave_arguments_alone(f):
    x = np.array([0.5, -1.0, 2.0])
    before = x.copy()
    expected = numeric_grad(lambda v: f(v.copy()), x)
    assert np.allclose(s2s.grad(f)(x), expected, atol=1e-5)
    assert np.allclose(s2s.jacobian(f, mode="forward")(x), expected, atol=1e-5)
    assert np.array_equal(x, before)


def test_parameter_row_update():
    X = np.arange(6.0).reshape(2, 3) / 3.0
    before = X.copy()
    expected = numeric_grad(lambda v: updates_parameter_row(v.copy()), X)
    assert np.allclose(s2s.grad(updates_parameter_row)(X), expected, atol=1e-5)
    assert np.array_equal(X, before)


def two_arguments(x, y):
    x += 1.0
    return np.sum(x * y)


def test_arguments_that_are_one_array_are_caught_at_run_time():
    a = np.array([1.0, 2.0])
    b = np.array([3.0, 4.0])
    assert np.allclose(s2s.grad(two_arguments)(a, b), b)
    with pytest.raises(UnsupportedSyntaxError, match="in place"):
        s2s.grad(two_arguments)(a, a)
    assert np.array_equal(a, [1.0, 2.0])


def test_no_guard_where_ownership_is_proved():
    text = s2s.source(s2s.grad(fresh_accumulator))
    assert "unshared" not in text
    assert "unshared" in s2s.source(s2s.grad(two_arguments))


# ---- through the functions a function calls --------------------------------------------------------

def updates_through_alias(p):
    q = p
    q += 1.0
    return np.sum(q)


def caller_reads_after_helper_update(x):
    y = x * 1.0
    s = updates_through_alias(y)
    return s * np.sum(y)


def fresh_layer(v, w):
    return np.tanh(v * w)


def update_of_fresh_helper_result(x):
    h = fresh_layer(x, 2.0)
    h += 1.0
    return np.sum(h * x)


def test_helper_that_updates_its_argument_through_an_alias_is_refused():
    with pytest.raises(UnsupportedSyntaxError, match="updates its argument"):
        s2s.grad(caller_reads_after_helper_update)(np.array([1.0, 2.0]))


def test_a_helper_whose_result_is_new_needs_no_guard():
    x = np.array([0.5, -1.0, 2.0])
    assert np.allclose(s2s.grad(update_of_fresh_helper_result)(x), numeric_grad(update_of_fresh_helper_result, x))
    assert "unshared" not in s2s.source(s2s.grad(update_of_fresh_helper_result))


# ---- found by an adversarial review: each was a silent wrong gradient ------------------------------

def history_of_appended_state(x):
    h = x * 1.0
    hist = []
    for _ in range(3):
        hist.append(h)
        h *= 2.0
    return np.sum(hist[0] * x)


def stored_into_list_then_updated(x):
    y = x * 1.0
    L = [None]
    L[0] = y
    L[0] *= 3.0
    return np.sum(y * y)


def shallow_list_copy(x):
    L = [x * 1.0, x * 2.0]
    M = L.copy()
    M[0] += 1.0
    return np.sum(L[0] * x)


def shallow_dict_copy(x):
    d = {"k": x * 1.0}
    e = d.copy()
    e["k"] *= 3.0
    return np.sum(d["k"] * x)


def nested_tuple_target(x):
    y = x * 1.0
    (a, b), c = (y, 1.0), 2.0
    a *= 3.0
    return np.sum(y * y) * b * c


def swapped_names(x):
    y = x * 1.0
    z = x * 2.0
    a, b = y, z
    a, b = b, a
    b += 1.0
    return np.sum(y * z)


def repeated_in_loop(x):
    s = 0.0
    for a in [x * 1.0] * 2:
        a *= 2.0
        s = s + np.sum(a * x)
    return s


def twice(v):
    return [v * 1.0] * 2


def fresh_helper_list_twice(x):
    L = twice(x)
    L[0] += 1.0
    return np.sum(L[1] * x)


def scale_in_place(p):
    p *= 2.0
    return 0.0


def alias_updated_by_callee(x):
    y = x * 1.0
    a = y
    s = scale_in_place(y)
    return s + np.sum(a * x)


def module_attribute_alias(x):
    a = np.random.__dict__.get("__s2s_missing__", G)
    a += x
    return np.sum(G * x)


def nan_to_num_no_copy(x):
    y = x * 1.0
    a = np.nan_to_num(y, copy=False)
    a *= 3.0
    return np.sum(y * y)


def ufunc_positional_out(x):
    y = x * 1.0
    np.tanh(y, y)
    return np.sum(y * x)


def local_function_reads_alias(x):
    y = x * 1.0
    get = lambda: y  # noqa: E731
    a = y
    a *= 3.0
    return np.sum(get() * x)


REVIEWED = [history_of_appended_state, stored_into_list_then_updated, shallow_list_copy, shallow_dict_copy,
            nested_tuple_target, swapped_names, repeated_in_loop, fresh_helper_list_twice, alias_updated_by_callee,
            module_attribute_alias, nan_to_num_no_copy, ufunc_positional_out, local_function_reads_alias]


@pytest.mark.parametrize("f", REVIEWED, ids=lambda f: f.__name__)
def test_reviewed_aliases_are_refused(f):
    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(UnsupportedSyntaxError, match="in place|in-place"):
        s2s.grad(f)(x)
    with pytest.raises(UnsupportedSyntaxError, match="in place|in-place"):
        s2s.jacobian(f, mode="forward")(x)


def common_first_lines(x):
    x = np.asarray(x, dtype=float)
    x *= 2.0
    y = (x * 2.0).reshape(3, 1)
    y += 1.0
    z = x * 1.0
    w = z[0:2]
    w += 1.0
    x = np.asarray(x)
    x[0] = 0.0
    return np.sum(x * x) + np.sum(y) + np.sum(w * w)


def test_common_safe_updates_are_accepted():
    x = np.array([0.5, -1.0, 2.0])
    expected = numeric_grad(lambda v: common_first_lines(v.copy()), x)
    assert np.allclose(s2s.grad(common_first_lines)(x.copy()), expected, atol=1e-5)


def generator_shuffle(x):
    y = x * 1.0
    np.random.default_rng(0).shuffle(y)
    return np.sum(y * x)


def global_fill(x):
    G.fill(x[0])
    return np.sum(G * x)


def result_dropped_without_rule(x):
    y = x * 1.0
    np.fft.fft(y)  # no rule: s2s cannot tell that it leaves y alone
    return np.sum(y * x)


def result_dropped_with_rule(x):
    y = x * 1.0
    np.sort(y)  # np.sort has a rule, which says it returns a new array: y is unchanged
    return np.sum(y * x)


def test_a_dropped_result_of_a_function_with_a_rule_is_no_update():
    x = np.array([0.5, -1.0, 2.0])
    assert np.allclose(s2s.grad(result_dropped_with_rule)(x), 2.0 * x)


def test_calls_kept_only_for_their_effect_are_refused():
    for f in (generator_shuffle, global_fill, result_dropped_without_rule):
        with pytest.raises(UnsupportedSyntaxError, match="in place"):
            s2s.derivative(f)
    assert np.array_equal(G, np.ones(3))


def prints_its_state(x):
    y = x * 2.0
    print("y is", y)
    return np.sum(y * x)


def test_print_is_not_an_update(capsys):
    x = np.array([0.5, -1.0, 2.0])
    assert np.allclose(s2s.grad(prints_its_state)(x), 4.0 * x)


def clip_into_itself(x):
    y = x * 1.0
    np.clip(y, 0.0, 1.5, y)
    return np.sum(y * y)


def cumsum_into_buffer(x):
    y = np.zeros(3)
    np.cumsum(x, 0, None, y)
    return np.sum(y * y)


@pytest.mark.parametrize("f", [clip_into_itself, cumsum_into_buffer], ids=lambda f: f.__name__)
def test_out_passed_by_position_is_refused(f):
    with pytest.raises(UnsupportedSyntaxError, match="`out`"):
        s2s.derivative(f)


def enumerate_start_keyword(x):
    s = 0.0
    for i, t in enumerate(x, start=1):
        s = s + i * t * t
    return s + sum([i * t for i, t in enumerate(x, start=2)])


def test_enumerate_start_by_keyword():
    x = np.array([1.0, 2.0, 0.5])
    assert np.allclose(s2s.grad(enumerate_start_keyword)(x), numeric_grad(enumerate_start_keyword, x))


def store_inside_tuple_target(x):
    y = x * 1.0
    a = y
    y[0], b = x[1] * 5.0, 2.0
    return np.sum(a * x) * b


def test_a_store_inside_a_tuple_target_is_checked():
    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(UnsupportedSyntaxError, match="in place"):
        s2s.grad(store_inside_tuple_target)(x)


# ---- a helper that updates its argument, called in a loop (a fluid solver's projection step) ---------

def _project(u, w):
    """Updates both arguments in place and returns them, as a Gauss-Seidel projection step would."""
    p = 0.25 * (u[::-1] - w)
    u -= 0.5 * p
    w -= 0.5 * p[::-1]
    return u, w


def loop_passing_dead_arguments(x):
    u, w = x * 1.0, x * 2.0
    for _ in range(3):
        u_new = np.tanh(u) * 1.5   # new arrays each step, read only by the call
        w_new = np.sin(w) + u
        u, w = _project(u_new, w_new)
    return np.sum(u * w)


def loop_reading_an_updated_argument(x):
    u, w = x * 1.0, x * 2.0
    for _ in range(3):
        u2, w2 = _project(u, w)   # Python changes u and w here too, and the next step reads them
        u = u2 + 0.0 * u
    return np.sum(u * w)


def test_helper_updating_arguments_that_are_dead_after_the_call_in_a_loop():
    x = np.linspace(0.1, 0.9, 5)
    g = s2s.grad(loop_passing_dead_arguments)(x)
    np.testing.assert_allclose(g, numeric_grad(loop_passing_dead_arguments, x), rtol=1e-6, atol=1e-8)
    import autograd
    import autograd.numpy as anp  # noqa: F401 - the oracle runs the same source on autograd's arrays

    def by_autograd(x):
        u, w = x * 1.0, x * 2.0
        for _ in range(3):
            p_u, p_w = anp.tanh(u) * 1.5, anp.sin(w) + u
            q = 0.25 * (p_u[::-1] - p_w)
            u, w = p_u - 0.5 * q, p_w - 0.5 * q[::-1]
        return anp.sum(u * w)
    np.testing.assert_allclose(g, autograd.grad(by_autograd)(x), rtol=1e-10)


def test_helper_updating_an_argument_read_in_the_next_step_is_refused():
    with pytest.raises(UnsupportedSyntaxError, match="updates its argument"):
        s2s.grad(loop_reading_an_updated_argument)(np.linspace(0.1, 0.9, 5))


def _doubles(p):
    p *= 2.0
    return np.sum(p)


def read_after_the_call_in_the_same_statement(x):
    u = x * 1.0
    return _doubles(u) + np.sum(u * u)   # Python reads the doubled u here


def test_a_read_after_an_updating_call_in_the_same_statement_is_refused():
    # liveness after the statement does not see this read of `u`
    with pytest.raises(UnsupportedSyntaxError, match="changes `u` here too"):
        s2s.grad(read_after_the_call_in_the_same_statement)(np.array([0.3, 0.5]))


# ---- a helper whose update changes only its argument's own object (a review's false refusal) -----------------
def _scaled_in_place(z, c):
    z *= c
    return z


def _first_item_scaled(L, c):
    L[0] *= c  # the object L holds at 0 changes (an array), not only L
    return L


def product_scaled_by_a_helper(x, y):
    z = x * y  # a new array (for lists a repetition: new, though holding x's items)
    z = _scaled_in_place(z, 2.0)
    return np.sum(z ** 2) + np.sum(x)


def view_scaled_by_a_helper(x, y):
    z = x[1:]  # a view: the update changes x
    z = _scaled_in_place(z, 2.0)
    return np.sum(z ** 2) + np.sum(x * y)


def repeated_list_item_scaled(x, y):
    L = [x] * 2  # holds x itself: the helper's `L[0] *= c` doubles x
    L = _first_item_scaled(L, 2.0)
    return np.sum(L[0] * y) + np.sum(x)


def test_a_helper_updating_a_new_product_in_place_is_differentiated():
    x, y = np.array([0.3, -0.5, 1.2]), np.array([0.7, 0.2, -0.4])
    g = s2s.grad(product_scaled_by_a_helper, wrt=(0, 1))(x, y)
    for got, want in zip(g, (8 * x * y * y + 1.0, 8 * x * x * y)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    for i in (0, 1):
        np.testing.assert_allclose(g[i], fd_grad(product_scaled_by_a_helper, (x, y), wrt=i), rtol=1e-6, atol=1e-8)


def test_a_helper_updating_a_view_of_a_live_argument_is_still_refused():
    with pytest.raises(UnsupportedSyntaxError, match="updates its argument `z` in place.*changes `x`"):
        s2s.grad(view_scaled_by_a_helper)(np.array([0.3, -0.5, 1.2]), np.ones(3))


def test_a_helper_updating_an_item_a_new_list_shares_is_still_refused():
    with pytest.raises(UnsupportedSyntaxError, match="updates its argument `L` in place.*changes `x`"):
        s2s.grad(repeated_list_item_scaled)(np.array([0.3, -0.5, 1.2]), np.ones(3))


# ---- a helper's own def: what it changes is read from its body ----------------------------------------

def _rows_by_a_local_def(a):
    def doubled(v):
        return v * 2.0
    return doubled(a[0]), a[1]


def _rows_by_a_local_def_of_two(a):
    def dot(v, w):
        return np.sum(v * w)
    return dot(a[0], a[1]), a[1]


def _row_doubled_in_place_by_a_local_def(a):
    def doubled(v):
        v *= 2.0
        return v
    return doubled(a[0]), a[1]


def _row_written_by_a_local_def(a):
    def first_set(v):
        v[0] = 7.0
        return v
    return first_set(a[0]), a[1]


def _local_def_chosen_in_a_branch(a, flag):
    if flag:
        def step(v):
            return v * 2.0
    else:
        def step(v):
            v[0] = 1.0
            return v
    return step(a[0]), a[1]


def _local_def_calling_a_given_function(a, fn):
    def step(v):
        return fn(v)
    return step(a[0]), a[1]


def _tripled_in_place(v):
    v *= 3.0
    return v


def _rows_product(helper, *extra):
    def f(x):
        p, q = helper(x, *extra)
        return np.sum(p * q) + np.sum(x)
    return f


@pytest.mark.parametrize("helper", [_rows_by_a_local_def, _rows_by_a_local_def_of_two], ids=lambda h: h.__name__)
def test_a_helper_calling_a_def_of_its_own_that_changes_nothing_is_differentiated(helper):
    # (s2s refused these as "updates its argument `a` in place" until stop 70: a local def was any function)
    f = _rows_product(helper)
    x = np.arange(1.0, 7.0).reshape(3, 2)
    np.testing.assert_allclose(s2s.grad(f)(x), fd_grad(f, (x,)), rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("helper, extra", [(_row_doubled_in_place_by_a_local_def, ()),
                                           (_row_written_by_a_local_def, ()),
                                           (_local_def_chosen_in_a_branch, (True,)),
                                           (_local_def_calling_a_given_function, (_tripled_in_place,))],
                         ids=["doubled", "written", "branch", "given"])
def test_a_helper_whose_own_def_may_change_a_row_is_still_refused(helper, extra):
    with pytest.raises(UnsupportedSyntaxError, match="updates its argument `a` in place.*changes `x`"):
        s2s.grad(_rows_product(helper, *extra))(np.arange(1.0, 7.0).reshape(3, 2))


# ---- stop 71: functools.reduce calls its function on its running value and the items ---------------------------

import functools  # noqa: E402


def _composed(*fs):
    return functools.reduce(lambda f, g: lambda z: g(f(z)), fs)


def through_a_composition(x):
    h = _composed(np.sin, np.cos)
    return np.sum(h(x))


def _changes_its_item(acc, v):
    v[0] = 0.0
    return acc + v


def _changes_its_running_value(acc, v):
    acc[0] = 0.0
    return acc + v


def reduce_changes_an_item(x):
    vs = [x * 1.0, x * 2.0]
    s = functools.reduce(_changes_its_item, vs)
    return np.sum(s) + np.sum(vs[1])


def reduce_changes_the_initial_value(x):
    init = x * 3.0
    s = functools.reduce(_changes_its_running_value, [x, x], init)
    return np.sum(s) + np.sum(init)


def reduce_of_a_sum(x):
    return np.sum(functools.reduce(lambda a, b: a * b, [x, x, x], x * 0.5))


def test_reduce_of_functions_that_change_nothing_is_differentiated():
    """Review 238: `functools.reduce` in a helper was refused as changing `fs` in place (s2s read it as a compiled
    function of another library); it calls its function on the running value and an item."""
    x = np.array([0.3, -0.7, 1.1])
    np.testing.assert_allclose(s2s.grad(through_a_composition)(x), -np.sin(np.sin(x)) * np.cos(x))
    np.testing.assert_allclose(s2s.grad(reduce_of_a_sum)(x), numeric_grad(reduce_of_a_sum, x), rtol=1e-6)


@pytest.mark.parametrize("f", [reduce_changes_an_item, reduce_changes_the_initial_value])
def test_reduce_of_a_function_that_changes_its_arguments_is_refused(f):
    with pytest.raises(UnsupportedSyntaxError, match="updates its argument"):
        s2s.grad(f)(np.array([0.3, -0.7, 1.1]))


def _layers_by_reduce(ws, x):
    return functools.reduce(lambda acc, W: np.tanh(acc @ W), ws, x)


def reduce_in_a_helper(x, ws):
    return np.sum(_layers_by_reduce(ws, x) ** 2)


def _adds_into_the_running_value(vs, x):
    return functools.reduce(lambda acc, v: np.add(acc, v, out=acc), vs, x)


def reduce_in_a_helper_changes_its_start(x):
    y = x * 1.0
    r = _adds_into_the_running_value([x * 2.0, x * 3.0], y)
    return np.sum(r * y)


def test_reduce_of_a_lambda_in_a_helper_is_read_by_its_body():
    rs = np.random.RandomState(71)
    ws, x = [rs.randn(3, 3) * 0.5 for _ in range(2)], rs.randn(3)
    np.testing.assert_allclose(s2s.grad(reduce_in_a_helper)(x, ws),
                               numeric_grad(lambda v: reduce_in_a_helper(v, ws), x), rtol=1e-6, atol=1e-9)
    with pytest.raises(UnsupportedSyntaxError, match="updates its argument"):
        s2s.grad(reduce_in_a_helper_changes_its_start)(x)


# ---- stop 71: min/max without key= call nothing; Python's random.shuffle of a helper's own list ------------------

import random  # noqa: E402


def _minibatches(size, X, y):
    order = list(range(len(X)))
    random.shuffle(order)  # (the helper's own list of ints: nothing of its caller's changes)
    for start in range(0, len(X), size):
        rows = np.array(order[start:min(start + size, len(X))])
        yield X[rows], y[rows]


def summed_over_minibatches(w, b, X, y, size=4):
    total = 0.0
    for Xb, yb in _minibatches(size, X, y):
        total = total + np.sum((Xb @ w + b - yb) ** 2) / 2
    return total


def test_a_shuffled_minibatch_generator_is_differentiated():
    """Review 238: a d2l-style minibatch generator was refused as updating `size` (`min(start + size, n)` was read
    as calling `start + size`) and as changing its list through `random.shuffle`, which s2s did not know."""
    rs = np.random.RandomState(71)
    X, w, b = rs.randn(10, 2), rs.randn(2), 0.3
    y = X @ np.array([2.0, -3.4]) + 4.2
    gw, gb = s2s.grad(summed_over_minibatches, wrt=(0, 1))(w, b, X, y)
    residual = X @ w + b - y  # (the sum over every row, whatever the order)
    np.testing.assert_allclose(gw, X.T @ residual)
    np.testing.assert_allclose(gb, np.sum(residual))


def shuffles_an_argument(x, order):
    random.shuffle(order)
    return np.sum(x[np.array(order)] * np.arange(len(order)))


def test_shuffling_an_argument_in_the_differentiated_function_is_refused():
    with pytest.raises(UnsupportedSyntaxError, match="first argument in place"):
        s2s.grad(shuffles_an_argument)(np.ones(3), [0, 1, 2])


# ---- stop 71: summaries read once per reading, recursion at its fixed point, the depth limit the worst -----------

def _mutual_a(v, n):
    if n > 0:
        _mutual_b(v, n - 1)
    v[0] = v[0] * 3.0
    return v


def _mutual_b(v, n):
    return _mutual_a(v, n)


def _calls_both(v):
    _mutual_a(v * 1.0, 1)  # (reads a, then b with a being read)
    _mutual_b(v, 1)  # (b changes v through a)
    return v


def mutual_recursion_changes(x):
    y = x * 1.0
    _calls_both(y)
    return np.sum(y * x)


def _swaps_and_changes(v, w, n):
    v[0] = 1.0
    if n > 0:
        _swaps_and_changes(w, v, n - 1)  # (changes w too, through the recursion)
    return 0.0


def recursion_changes_the_other(x):
    a, b = x * 1.0, x * 2.0
    _swaps_and_changes(np.zeros(3), b, 1)
    return np.sum(b * x) + np.sum(a)


def _deep(v, n):
    return v if n == 0 else _deep(v, n - 1) * 1.0  # (recursive, changes nothing)


def pure_recursion(x):
    y = x * 2.0
    z = _deep(y, 3)
    return np.sum(z * y)


def _changes(v):
    v[0] = 5.0
    return v


def _c3(v):
    return _changes(v)


def _c2(v):
    return _c3(v)


def _c1(v):
    return _c2(v)


def chain_to_a_change(x):
    y = x * 1.0
    _c1(y)
    return np.sum(y * x)


@pytest.mark.parametrize("f", [mutual_recursion_changes, recursion_changes_the_other, chain_to_a_change])
def test_changes_through_recursion_and_chains_are_refused(f):
    """Review 241: a summary read while a function it calls was being read (mutual recursion) was kept and used
    for a direct call, which then changed nothing (a wrong gradient, [5, -2, 4] for [9, -2, 4]); a function past
    the depth limit was read as changing nothing (wrong since before this stop)."""
    with pytest.raises(UnsupportedSyntaxError):
        s2s.grad(f)(np.array([0.5, -1.0, 2.0]))


def test_a_recursive_helper_that_changes_nothing_is_differentiated():
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(s2s.grad(pure_recursion)(x), numeric_grad(pure_recursion, x), rtol=1e-6)


def chain_to_nothing(x):
    y = x * 1.0
    z = _c1(y * 1.0)
    return np.sum(y * x) + np.sum(z)


def test_past_the_depth_limit_a_function_may_change_anything(monkeypatch):
    from s2s.transforms import desugar
    monkeypatch.setattr(desugar, "_SUMMARY_DEPTH", 2)
    with pytest.raises(UnsupportedSyntaxError):
        s2s.grad(chain_to_a_change)(np.array([0.5, -1.0, 2.0]))
    x = np.array([0.5, -1.0, 2.0])  # (a change of what only the chain holds: differentiated)
    np.testing.assert_allclose(s2s.grad(chain_to_nothing)(x), numeric_grad(chain_to_nothing, x), rtol=1e-6)
