"""Bad or unusual input never gives a wrong derivative: integers, functions that update their arguments,
NaN and infinity, deep recursion, long loops, many threads at once, decorated functions.

Each case ends in a correct answer or a clear error; s2s never changes the caller's arrays.
"""

import functools
import importlib.util
import os
import re
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s
from s2s import pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- integers ---------------------------------------------------------------------------------------------


def square(x):
    return x ** 2


def product(x, y):
    return x * y


def list_product(xs):
    return xs[0] * xs[1]


def gather(x, idx):
    return np.sum(x[idx] ** 2)


def halves(x):
    return x / 2 + x // 2  # floor division is piecewise constant: no derivative through it


def sum_squares(x):
    return np.sum(x * x)


def test_python_int_gives_a_float_gradient():
    g = s2s.grad(square)(3)
    assert g == 6.0 and isinstance(g, float)
    gx, gy = s2s.grad(product, wrt=(0, 1))(3, 4)
    assert (gx, gy) == (4.0, 3.0) and isinstance(gx, float) and isinstance(gy, float)
    assert s2s.grad(halves)(3) == 0.5


def test_int_mixed_with_float():
    assert s2s.grad(product)(3, 2.5) == 2.5
    assert s2s.grad(product, wrt=1)(3, 2.5) == 3.0


def test_numpy_integer_scalars():
    for x in (np.int64(3), np.int32(3), np.uint8(3)):
        g = s2s.grad(square)(x)
        assert float(g) == 6.0 and np.asarray(g).dtype.kind == "f"


def test_value_and_grad_and_higher_orders_with_int():
    value, g = s2s.value_and_grad(square)(3)
    assert value == 9 and g == 6.0
    assert s2s.grad(s2s.grad(square))(3) == 2.0
    assert float(s2s.hessian(square)(3)) == 2.0
    assert s2s.jvp(square, (3,), (1,)) == (9, 6.0)
    assert s2s.vjp(square, 3)[1](1.0) == 6.0


def test_list_of_ints():
    g = s2s.grad(list_product)([2, 5])
    assert g == [5.0, 2.0] and all(isinstance(v, float) for v in g)


def test_int_array_as_a_non_differentiated_argument():
    x = np.arange(4.0)
    np.testing.assert_allclose(s2s.grad(gather)(x, np.array([0, 2])), [0.0, 0.0, 4.0, 0.0])
    np.testing.assert_allclose(s2s.grad(gather)(x, np.array([2, 2])), [0.0, 0.0, 8.0, 0.0])


@pytest.mark.parametrize("x", [np.array([1, 2, 3]), np.array(3), np.array([[1, 2], [3, 4]], dtype=np.int32)],
                         ids=["vector", "0-d", "int32 matrix"])
def test_int_array_is_refused_with_a_clear_error(x):
    # refused today (test_int_array_gives_a_float_gradient below is the strict xfail for the float gradient)
    with pytest.raises(TypeError, match=r"'x'.*dtype int.*astype\(float\)"):
        s2s.grad(sum_squares)(x)


@pytest.mark.xfail(strict=True, reason="integer arrays are refused with TypeError instead of giving the float "
                                       "gradient (Python ints already do)")
@pytest.mark.parametrize("entry", ["grad", "vjp", "jacobian"])
def test_int_array_gives_a_float_gradient(entry):
    x = np.array([1, 2, 3])
    if entry == "grad":
        g = s2s.grad(sum_squares)(x)
    elif entry == "vjp":
        g = s2s.vjp(sum_squares, x)[1](1.0)
    else:
        g = s2s.jacobian(sum_squares)(x)
    assert np.asarray(g).dtype.kind == "f"
    np.testing.assert_allclose(g, [2.0, 4.0, 6.0])


# ---- functions that update their arguments -----------------------------------------------------------


def set_first(x):
    x[0] = 5.0
    return np.sum(x * x)


def add_in_place(x):
    x += 1.0
    return np.sum(x * x)


def scale_tail(x):
    x[1:] *= 3.0
    return np.sum(x * x)


def set_from_others(x):
    x[0] = x[1] * x[2]
    return np.sum(x * x)


def overwrite_all(x):
    x[:] = x * 2.0
    return np.sum(x * x)


def overwrite_row(x):
    x[0, :] = x[1, :] ** 2
    return np.sum(x * x)


def two_updated(x, y):
    x[0] = y[0]
    y *= 2.0
    return np.sum(x * y)


def updated_in_a_loop(x):
    for i in range(1, 3):
        x[i] = x[i - 1] * x[i]
    return np.sum(x)


def update_list(xs):
    xs[0] = xs[0] * 2.0
    return xs[0] * xs[1]


def append_to_list(xs):
    xs.append(3.0)
    return xs[0] * xs[2]


def alias_then_update(x):
    y = x
    y[0] = 3.0
    return np.sum(x * y)


def update_through_out(x):
    np.multiply(x, 2.0, out=x)
    return np.sum(x)


def update_through_a_view(x):
    v = x[0:2]
    v[0] = 7.0
    return np.sum(x * x)


MUTATING = [set_first, add_in_place, scale_tail, set_from_others, overwrite_all, updated_in_a_loop]


def _on_copies(f):
    """`f` run on copies of its array arguments: the function the user means, for finite differences."""
    def run(*args):
        return f(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
    return run


def _x():
    return np.array([1.0, 2.0, 3.0])


@pytest.mark.parametrize("f", MUTATING, ids=[f.__name__ for f in MUTATING])
def test_updating_an_argument_gives_the_right_gradient_and_leaves_it_alone(f):
    x = _x()
    g = s2s.grad(f)(x)
    np.testing.assert_array_equal(x, _x())
    np.testing.assert_allclose(g, fd_grad(_on_copies(f), [_x()]), rtol=1e-6, atol=1e-6)
    value, g2 = s2s.value_and_grad(f)(x)
    np.testing.assert_array_equal(x, _x())
    assert value == pytest.approx(f(_x()))
    np.testing.assert_allclose(g2, g)


@pytest.mark.parametrize("f", MUTATING, ids=[f.__name__ for f in MUTATING])
@pytest.mark.parametrize("entry", ["vjp", "jvp", "jacobian", "jacobian-forward", "hessian", "hvp", "derivative"])
def test_no_entry_point_changes_the_callers_array(f, entry):
    x = _x()
    v = np.array([0.5, -1.0, 2.0])
    expected = fd_grad(_on_copies(f), [_x()])
    if entry == "vjp":
        value, pullback = s2s.vjp(f, x)
        out = pullback(1.0)
        pullback(1.0)  # twice: the pullback must not consume or change anything either
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    elif entry == "jvp":
        _, tangent = s2s.jvp(f, (x,), (v,))
        assert tangent == pytest.approx(float(expected @ v), rel=1e-6, abs=1e-6)
    elif entry == "jacobian":
        np.testing.assert_allclose(s2s.jacobian(f)(x), expected, rtol=1e-6, atol=1e-6)
    elif entry == "jacobian-forward":
        np.testing.assert_allclose(s2s.jacobian(f, mode="forward")(x), expected, rtol=1e-6, atol=1e-6)
    elif entry == "hessian":
        s2s.hessian(f)(x)
    elif entry == "hvp":
        s2s.hvp(f)(x, v)
    else:
        s2s.derivative(f)(x)
        s2s.derivative(f, mode="forward")(x, x_dot=v)
    np.testing.assert_array_equal(x, _x())


def test_updating_two_arguments():
    x, y = _x(), _x() + 1.0
    gx, gy = s2s.grad(two_updated, wrt=(0, 1))(x, y)
    np.testing.assert_array_equal(x, _x())
    np.testing.assert_array_equal(y, _x() + 1.0)
    np.testing.assert_allclose(gx, fd_grad(_on_copies(two_updated), [_x(), _x() + 1.0], wrt=0), atol=1e-6)
    np.testing.assert_allclose(gy, fd_grad(_on_copies(two_updated), [_x(), _x() + 1.0], wrt=1), atol=1e-6)


def test_updating_a_matrix_row():
    x = np.arange(6.0).reshape(2, 3)
    g = s2s.grad(overwrite_row)(x)
    np.testing.assert_array_equal(x, np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(g, fd_grad(_on_copies(overwrite_row), [np.arange(6.0).reshape(2, 3)]), rtol=1e-6)


def test_updating_a_list_argument():
    xs = [1.0, 2.0]
    assert s2s.grad(update_list)(xs) == [4.0, 2.0]  # d/dx0 (2 x0 x1) = 2 x1, d/dx1 = 2 x0
    assert xs == [1.0, 2.0]
    ys = [1.0, 2.0]
    assert s2s.grad(append_to_list)(ys) == [3.0, 0.0]
    assert ys == [1.0, 2.0]


def test_update_seen_through_another_name_is_refused_and_changes_nothing():
    x = _x()
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.grad(alias_then_update)(x)
    assert "in-place update" in str(info.value) and "Hint: " in str(info.value)
    np.testing.assert_array_equal(x, _x())


@pytest.mark.parametrize("entry", ["grad", "vjp", "jvp"])
def test_out_argument_is_refused_and_the_callers_array_is_unchanged(entry):
    x = _x()
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        if entry == "grad":
            s2s.grad(update_through_out)(x)
        elif entry == "vjp":
            s2s.vjp(update_through_out, x)
        else:
            s2s.jvp(update_through_out, (x,), (np.ones(3),))
    message = str(info.value)
    assert "out=" in message and "test_bad_input.py" in message and "Hint: " in message
    np.testing.assert_array_equal(x, _x())


def test_update_through_a_view_is_refused():
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.value_and_grad(update_through_a_view)(_x())
    message = str(info.value)
    assert "view" in message and "v = x[0:2]" in message and "copy()" in message


# ---- NaN and infinity -----------------------------------------------------------------------------------


def dot_sum(x, y):
    return np.sum(x * y)


def sines(x):
    return np.sum(np.sin(x))


def roots(x):
    return np.sum(np.sqrt(x))


def branch_on(x):
    if x > 0:
        return x * x
    return -x


def double_until_big(x):
    while x < 10.0:
        x = x * 2.0
    return x


def test_nan_and_inf_propagate_into_array_gradients():
    x = np.array([np.nan, 1.0, 2.0])
    y = np.array([np.inf, 3.0, -np.inf])
    with np.errstate(invalid="ignore"):
        gx, gy = s2s.grad(dot_sum, wrt=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, y)  # d/dx = y: inf stays inf
    np.testing.assert_array_equal(gy, x)  # d/dy = x: nan stays nan
    with np.errstate(invalid="ignore"):
        g = s2s.grad(sines)(np.array([np.nan, 0.0, np.inf]))
    assert np.isnan(g[0]) and g[1] == 1.0 and np.isnan(g[2])


def test_infinite_gradient_at_a_singularity():
    with np.errstate(divide="ignore"):
        g = s2s.grad(roots)(np.array([0.0, 4.0]))
    assert np.isposinf(g[0]) and g[1] == pytest.approx(0.25)


@pytest.mark.parametrize("x,expected", [(float("nan"), "nan"), (float("inf"), "inf"), (-float("inf"), "-inf")])
def test_nan_and_inf_scalars(x, expected):
    g = s2s.grad(square)(x)
    assert repr(g) == repr(float(expected)) or (expected == "nan" and g != g)
    value, g2 = s2s.value_and_grad(square)(x)
    assert (value != value) if expected == "nan" else value == float("inf")


def test_nan_tangent_propagates_in_forward_mode():
    _, tangent = s2s.jvp(sines, (np.array([1.0, 2.0]),), (np.array([np.nan, 0.0]),))
    assert np.isnan(tangent)


def test_control_flow_on_nan_follows_python():
    nan = float("nan")
    assert branch_on(nan) != branch_on(nan)  # the else branch: -nan
    assert s2s.grad(branch_on)(nan) == -1.0
    assert s2s.grad(double_until_big)(nan) == 1.0  # nan < 10 is False: the loop never runs


# ---- deep recursion ---------------------------------------------------------------------------------------


def nested_sine(x, n):
    if n == 0:
        return x
    return np.sin(nested_sine(x, n - 1))


def _nested_sine_derivative(x, n):
    d = 1.0
    for _ in range(n):
        d *= np.cos(x)
        x = np.sin(x)
    return d


def test_moderate_recursion_is_differentiated():
    assert s2s.grad(nested_sine)(0.7, 300) == pytest.approx(_nested_sine_derivative(0.7, 300), rel=1e-12)


def test_recursion_deeper_than_python_allows_is_a_recursion_error():
    assert sys.getrecursionlimit() < 5000
    with pytest.raises(RecursionError):
        nested_sine(0.7, 5000)  # the function itself cannot run this deep
    with pytest.raises(RecursionError, match="maximum recursion depth"):
        s2s.grad(nested_sine)(0.7, 5000)
    # and s2s still works afterwards
    assert s2s.grad(nested_sine)(0.7, 3) == pytest.approx(_nested_sine_derivative(0.7, 3))


DEEP_SCRIPT = """\
import sys
import numpy as np
import s2s
import deep_case

sys.setrecursionlimit(40000)
g = s2s.grad(deep_case.nested_sine)(0.7, 5000)
d, x = 1.0, 0.7
for _ in range(5000):
    d *= np.cos(x)
    x = np.sin(x)
assert abs(g - d) <= 1e-12 * abs(d), (g, d)
print("ok", g)
"""


def test_recursion_at_depth_5000_with_a_raised_limit_does_not_crash(tmp_path):
    """With the recursion limit raised the user's function runs; so does its gradient, without a crash."""
    (tmp_path / "deep_case.py").write_text(textwrap.dedent("""\
        import numpy as np


        def nested_sine(x, n):
            if n == 0:
                return x
            return np.sin(nested_sine(x, n - 1))
        """))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT]))
    done = subprocess.run([sys.executable, "-c", DEEP_SCRIPT], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-3000:]}"
    assert done.stdout.startswith("ok")


# ---- long loops --------------------------------------------------------------------------------------------


def power_loop(x, n):
    for _ in range(n):
        x = x * 1.0000001
    return x


def damped_while(x, n):
    i = 0
    while i < n:
        x = np.sin(x) * 0.5 + x * 0.5
        i = i + 1
    return x


def damped_for(x, n):
    for _ in range(n):
        x = np.tanh(x) * 0.5 + x * 0.5
    return x


def _chain(step_derivative, step, x, n):
    d = 1.0
    for _ in range(n):
        d *= step_derivative(x)
        x = step(x)
    return d


def test_a_million_iterations_of_a_scalar_loop():
    n = 1_000_000
    assert s2s.grad(power_loop)(2.0, n) == pytest.approx(1.0000001 ** n, rel=1e-9)


def test_a_long_loop_with_a_tape():
    n = 200_000
    expected = _chain(lambda v: 0.5 * np.cos(v) + 0.5, lambda v: np.sin(v) * 0.5 + v * 0.5, 0.3, n)
    assert s2s.grad(damped_while)(0.3, n) == pytest.approx(expected, rel=1e-9)
    expected = _chain(lambda v: 0.5 * (1 - np.tanh(v) ** 2) + 0.5, lambda v: np.tanh(v) * 0.5 + v * 0.5, 0.3, n)
    assert s2s.grad(damped_for)(0.3, n) == pytest.approx(expected, rel=1e-9)


# ---- many threads at once -------------------------------------------------------------------------------


FRESH_SOURCE = """\
import numpy as np


def helper(v, w, *, scale=1.0):
    \"\"\"Module {tag}. (A keyword-only parameter: a callee transformed on its own, not expanded in fresh.)\"\"\"
    return np.tanh(v * w) * scale


def fresh(x, w):
    \"\"\"Module {tag}: the docstring makes the code object new to s2s's cache (code compares by value).\"\"\"
    y = helper(x, w)
    i = 0
    while i < 3:
        y = np.sin(y) + x
        i = i + 1
    return np.sum(y * y)
"""


def _fresh_module(tmp_path, name):
    path = tmp_path / f"{name}.py"
    path.write_text(FRESH_SOURCE.format(tag=name))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def parse_counter(monkeypatch):
    """Count how often s2s transforms each function (pipeline.lowered is the first step of every transform)."""
    counts = {}
    lock = threading.Lock()
    original = pipeline.lowered

    def counting(func, **options):
        with lock:
            key = getattr(getattr(func, "__code__", None), "co_filename", None), getattr(func, "__name__", None)
            counts[key] = counts.get(key, 0) + 1
        return original(func, **options)

    monkeypatch.setattr(pipeline, "lowered", counting)
    return counts


def _run_threads(n, work):
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # noqa: B036 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def _reference(module, x, w):
    return fd_grad(module.fresh, [x, w], eps=1e-6)


@pytest.mark.parametrize("shared", [False, True], ids=["grad-per-thread", "one-grad-shared"])
def test_concurrent_first_use_transforms_once(tmp_path, parse_counter, shared):
    module = _fresh_module(tmp_path, f"fresh_threads_{int(shared)}")
    x, w = np.array([0.1, 0.4, -0.3]), 0.8
    shared_grad = s2s.grad(module.fresh)
    n = 16
    results = _run_threads(n, lambda i: (shared_grad if shared else s2s.grad(module.fresh))(x.copy(), w))
    expected = _reference(module, x, w)
    for r in results:
        np.testing.assert_allclose(r, expected, rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(r, results[0])
    mine = {k: v for k, v in parse_counter.items() if k[0] == module.__file__}
    assert mine.get((module.__file__, "fresh")) == 1, mine
    assert mine.get((module.__file__, "helper")) == 1, mine


def test_concurrent_calls_with_different_inputs(tmp_path):
    module = _fresh_module(tmp_path, "fresh_threads_inputs")
    df = s2s.grad(module.fresh, wrt=(0, 1))
    rng = np.random.default_rng(7)
    inputs = [(rng.normal(size=3), float(rng.uniform(0.5, 1.5))) for _ in range(16)]
    results = _run_threads(16, lambda i: [df(*inputs[i]) for _ in range(20)])
    for (x, w), runs in zip(inputs, results):
        gx, gw = df(x, w)
        for rx, rw in runs:
            np.testing.assert_array_equal(rx, gx)
            assert rw == gw
        np.testing.assert_allclose(gx, fd_grad(module.fresh, [x, w], wrt=0), rtol=1e-6, atol=1e-7)


# ---- decorated functions and s2s's own wrappers -------------------------------------------------------------


def doubles_result(f):
    @functools.wraps(f)
    def wrapper(x):
        return 2.0 * f(x)
    return wrapper


@doubles_result
def doubled_square(x):
    return x * x


def cube_sum(x):
    return np.sum(x * x * x)


def cube(x):
    return x * x * x


def test_decorated_function_is_differentiated_with_its_decorator():
    assert doubled_square(3.0) == 18.0
    # s2s differentiates what runs: the wrapper, 2.0 * x * x, not only the undecorated x * x
    assert s2s.grad(doubled_square)(3.0) == pytest.approx(12.0)


def test_jacobian_of_a_gradient_is_the_hessian():
    x = np.array([1.0, 2.0])
    h = s2s.jacobian(s2s.grad(cube_sum))(x)
    np.testing.assert_allclose(h, np.diag(6.0 * x))


def test_jvp_of_a_gradient():
    x = np.array([1.0, 2.0])
    value, tangent = s2s.jvp(s2s.grad(cube_sum), (x,), (np.ones(2),))
    np.testing.assert_allclose(value, 3.0 * x * x)
    np.testing.assert_allclose(tangent, 6.0 * x)


def test_value_and_grad_of_a_gradient():
    value, g = s2s.value_and_grad(s2s.grad(cube))(2.0)
    assert (value, g) == (pytest.approx(12.0), pytest.approx(12.0))


def cube_sum_and_aux(x):
    return np.sum(x * x * x), "aux"


@pytest.mark.parametrize("made", ["value_and_grad", "grad with has_aux", "hvp"])
@pytest.mark.parametrize("compose", ["jacobian", "jvp", "grad"])
def test_composing_a_function_s2s_made_that_is_no_derivative_of_f_alone_is_refused(made, compose):
    # their wrappers call generated code by a function value and carry f's signature: s2s never reads them
    x = np.array([1.0, 2.0])
    inner = {"value_and_grad": s2s.value_and_grad(cube_sum), "grad with has_aux": s2s.grad(cube_sum_and_aux, has_aux=True),
             "hvp": s2s.hvp(cube_sum)}[made]
    with pytest.raises(s2s.NoDerivativeRuleError, match="does not differentiate this function it made"):
        if compose == "jacobian":
            s2s.jacobian(inner)(x)
        elif compose == "jvp":
            s2s.jvp(inner, (x,), (np.ones(2),))
        else:
            s2s.grad(inner)(x)


def test_a_wrapper_with_other_parameters_is_refused():
    # functools.wraps gives the wrapper x for a signature; its code has *args: a derivative of zero before
    def deco(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            return 2.0 * f(*args, **kwargs)
        return wrapper

    doubled = deco(cube)

    def calls_it(x):
        return doubled(x) + 1.0

    def apply(g, x):
        return g(x)

    def passes_it(x):
        return apply(doubled, x) * 1.0

    for call in (lambda: s2s.grad(doubled)(3.0), lambda: s2s.jvp(doubled, (3.0,), (1.0,)),
                 lambda: s2s.jacfwd(doubled)(np.ones(2)), lambda: s2s.grad(calls_it)(3.0),
                 lambda: s2s.jvp(calls_it, (3.0,), (1.0,)), lambda: s2s.grad(passes_it)(3.0),
                 lambda: s2s.jvp(passes_it, (3.0,), (1.0,))):
        with pytest.raises(s2s.S2SError, match=r"wrapper \(functools.wraps\) whose own parameters"):
            call()


def test_grad_of_grad_is_right():
    assert s2s.grad(s2s.grad(cube))(2.0) == pytest.approx(12.0)


# ---- functions that share their code ------------------------------------------------------------------------


def make_scaled(k):
    """Two closures from one factory share a code object but not their values."""
    def inner(x):
        return x * k

    def outer(x):
        return inner(x) * 1.0

    return outer


def make_calling(h):
    def outer(x):
        return h(x) * 1.0

    return outer


def times_two(v):
    return v * 2.0


def times_five(v):
    return v * 5.0


def make_direct(k):
    def direct(x):
        return x * k

    return direct


def test_closures_of_one_factory_without_callees():
    assert s2s.grad(make_direct(1.0))(1.0) == 1.0
    assert s2s.grad(make_direct(3.0))(1.0) == 3.0


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_closures_of_one_factory_calling_their_own_inner_function(mode):
    first, second = make_scaled(1.0), make_scaled(3.0)
    if mode == "reverse":
        assert s2s.grad(first)(1.0) == 1.0
        assert s2s.grad(second)(1.0) == 3.0
    else:
        assert s2s.jvp(first, (1.0,), (1.0,))[1] == 1.0
        assert s2s.jvp(second, (1.0,), (1.0,))[1] == 3.0


def test_closures_calling_different_functions():
    assert s2s.grad(make_calling(times_two))(1.0) == 2.0
    assert s2s.grad(make_calling(times_five))(1.0) == 5.0


SAME_TEXT = """\
SCALE = {scale}


def helper(v):
    return v * SCALE


def f(x):
    return helper(x) * 1.0
"""


def test_same_source_in_two_modules(tmp_path):
    modules = []
    for name, scale in (("same_text_a", 1.0), ("same_text_b", 3.0)):
        path = tmp_path / f"{name}.py"
        path.write_text(SAME_TEXT.format(scale=scale))
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    assert s2s.grad(modules[0].f)(1.0) == 1.0
    assert s2s.grad(modules[1].f)(1.0) == 3.0


def test_odd_inputs_refused_as_s2s_errors():
    """Decimal, structured and object arrays, wrt out of range, tangents/cotangents of another shape: S2SErrors
    (they were plain TypeError/IndexError, or NumPy's broadcasting ValueError from generated code)."""
    import decimal
    x = np.array([0.3, 0.7, 1.1])

    def two(a, b):
        return a * b

    def gathered(*xs):
        return sum(x * x for x in xs)

    cases = [
        (lambda: s2s.grad(lambda p: p ** 2)(decimal.Decimal("0.5")), s2s.errors.NotDifferentiableArgumentError,
         "Decimal"),
        (lambda: s2s.grad(lambda p: np.sum(p["a"] ** 2))(np.zeros(2, dtype=[("a", float)])),
         s2s.errors.NotDifferentiableArgumentError, "dtype"),
        (lambda: s2s.grad(lambda p: np.sum(p ** 2))(np.array([1.0, 2.0], dtype=object)),
         s2s.errors.NotDifferentiableArgumentError, "dtype object"),
        (lambda: s2s.grad(two, wrt=5)(1.0, 2.0), s2s.errors.WrtError, "out of range"),
        (lambda: s2s.grad(two, wrt=5)(1.0, 2.0), s2s.errors.WrtError, "wrt=0 to wrt=1), or name one: wrt="),
        (lambda: s2s.grad(gathered, wrt=1)(1.0, 2.0), s2s.errors.WrtError, "gathered by *xs are one parameter: wrt=0"),
        (lambda: s2s.grad(two, wrt="c")(1.0, 2.0), s2s.errors.WrtError, "names no parameter"),
        (lambda: s2s.jvp(lambda v: np.sum(v ** 2), (x,), (np.ones(2),)), s2s.errors.ShapeMismatchError, "(2,)"),
        (lambda: s2s.vjp(lambda v: v ** 2, x)[1](np.ones(2)), s2s.errors.ShapeMismatchError, "(3,)"),
        (lambda: s2s.vjp(lambda v: v * np.sum(v), x)[1](None), s2s.errors.ShapeMismatchError, "is None"),
        (lambda: s2s.hvp(lambda v: np.sum(v ** 3))(x, np.ones(2)), s2s.errors.ShapeMismatchError, "vector v"),
        (lambda: s2s.jvp(lambda v: np.sum(v ** 2), x, np.ones(3)), s2s.errors.NotDifferentiableArgumentError,
         "as tuples"),
    ]
    for call, cls, words in cases:
        with pytest.raises(cls, match=re.escape(words)):
            call()
    import fractions
    assert s2s.grad(lambda p: p ** 2)(fractions.Fraction(1, 2)) == 1.0
    np.testing.assert_allclose(s2s.jvp(lambda v: np.sum(v ** 2), (x,), (np.ones(3),))[1], np.sum(2 * x))
