"""s2s.symbolic: SymPy run over the lowered program, against s2s.grad and central differences."""

import importlib.util
import inspect
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy
from helpers_fd import assert_close, fd_grad

import s2s
from s2s import stop_gradient, symbolic
from s2s.symbolic import SymbolicControlFlowError, SymbolicUnsupportedError


def _load_fixture(name):
    path = Path(__file__).resolve().parent / "fixtures" / f"{name}.py"
    module_name = f"fixture_{name}"  # not "s2s...": symbolic treats s2s's own functions differently
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


helpers = _load_fixture("sym_helpers")
squash, bump, smooth_abs = helpers.squash, helpers.bump, helpers.smooth_abs


def line_of(func, text):
    """The file line number of the first line of `func` containing `text`."""
    lines, start = inspect.getsourcelines(func)
    for i, line in enumerate(lines):
        if text in line:
            return start + i
    raise AssertionError(f"{text!r} not in {func.__name__}")


def check_three_ways(f, args, wrt=0, simplify=False, rtol=1e-6, atol=1e-7, fd_rtol=1e-5, fd_atol=1e-6):
    """SymPy's derivative == s2s.grad == central differences at `args`; returns the SymbolicDerivative."""
    d = symbolic.derivative(f, *args, wrt=wrt, simplify=simplify, compare=False)
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    sym = d.function(*args)
    sym = sym if isinstance(wrt, tuple) else (sym,)
    ad = s2s.grad(f, wrt=wrt)(*args)
    ad = ad if isinstance(wrt, tuple) else (ad,)
    params = list(inspect.signature(f).parameters)
    for p, gs, ga in zip(positions, sym, ad):
        index = p if isinstance(p, int) else params.index(p)
        assert np.shape(gs) == np.shape(args[index])
        assert_close(gs, ga, rtol=rtol, atol=atol)
        assert_close(gs, fd_grad(f, args, wrt=index), rtol=fd_rtol, atol=fd_atol)
    return d


# ---- scalar math ----------------------------------------------------------------------------------


def m_trig(x):
    return math.sin(x) * math.cos(2.0 * x) + math.tan(x / 3.0) + math.atan2(x, 2.0)


def m_explog(x):
    return math.exp(-x * x) + math.log(1.0 + x * x) + math.sqrt(x) + math.log10(x) + math.log2(x)


def m_hyper(x):
    return math.tanh(x) * math.sinh(x) + math.cosh(x / 2.0) + math.hypot(x, 1.5) + math.erf(x)


def m_two(x, y):
    return x ** y + math.pow(x, 3) + abs(x - y) + max(x, y) * min(x, y) + math.expm1(x * y) + math.log1p(y)


def m_pi(x):
    return math.pi * x * x + math.e ** x - 1.0 / (x + 2.0)


@pytest.mark.parametrize("f, args, wrt", [
    (m_trig, (0.7,), 0),
    (m_explog, (1.3,), 0),
    (m_hyper, (0.4,), 0),
    (m_two, (1.2, 0.5), (0, 1)),
    (m_pi, (0.9,), 0),
], ids=lambda v: getattr(v, "__name__", None))
def test_scalar_math(f, args, wrt):
    d = check_three_ways(f, args, wrt)
    assert d.conditions == []
    grads = d.gradient
    assert all(isinstance(g, sympy.Basic) for g in grads)


def test_scalar_expression_without_point_is_exact():
    program = symbolic.expression(m_two)
    x, y = program.symbols
    expected = x ** y + x ** 3 + sympy.Abs(x - y) + sympy.Max(x, y) * sympy.Min(x, y) + sympy.exp(x * y) - 1 + sympy.log(1 + y)
    assert sympy.simplify(program.expression - expected) == 0
    assert not program.at_point_only
    assert "no value-dependent control flow" in program.note()


# ---- NumPy on arrays --------------------------------------------------------------------------------


def e_basic(x):
    return np.sum(np.sin(x) * np.exp(-x) + np.log1p(x * x) + np.sqrt(x * x + 1.0))


def e_more(x):
    y = np.tanh(x) + np.arctan(x) + np.square(x) + np.power(x * x + 1.0, 1.5) + np.reciprocal(x * x + 2.0)
    return np.sum(y * np.cosh(x / 4.0))


def e_kinks(x):
    return np.sum(np.maximum(x, 0.0) + np.clip(x, -0.5, 0.5) * x + np.abs(x) + np.minimum(x, 0.2) ** 2)


def l_mat(A, x):
    return np.sum(np.tanh(A @ x)) + np.dot(x, x) + x @ A.T @ A @ x


def r_red(X):
    return np.mean(X * X) + np.sum(np.sum(X, axis=0) ** 2) + X.sum() * np.prod(X[0]) + np.mean(np.cos(X), axis=1)[0]


def b_bc(x, y, s):
    return np.sum((x[:, None] - y[None, :]) ** 2 * s) + np.mean(x + s) + np.sum(np.exp(y) * s)


def loop_fixed(x, w):
    h = x
    for i in range(3):
        h = np.tanh(w * h + i)
    return np.sum(h * h)


def local_helper(u, k=2.0):
    return u * u * k


def calls_helpers(x, w):
    h = squash(x @ w, scale=2.0)
    return np.sum(h * h) + np.sum(smooth_abs(x)) + local_helper(w[0], k=3.0) + np.sum(local_helper(w))


def into_zeros(x):
    y = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        y[i] = x[i] * x[i] + np.sin(x[i])
    y[1] *= 3.0
    z = np.zeros((2, 2))
    z[0, :] = x[:2]
    z[:, 1] = z[:, 1] + x[-1]
    return np.sum(y) + np.sum(z * z)


def comprehension(x):
    terms = [x[i] * x[i + 1] for i in range(len(x) - 1)]
    return sum(terms) + sum([np.sin(v) for v in x])


def _rng_shapes(seed):
    rng = np.random.default_rng(seed)
    m, n = (int(v) for v in rng.integers(2, 5, size=2))
    return rng, m, n


def test_elementwise_on_arrays():
    rng, m, n = _rng_shapes(0)
    check_three_ways(e_basic, (rng.uniform(0.1, 1.0, size=(m, n)),))
    check_three_ways(e_more, (rng.normal(size=n),))
    check_three_ways(e_kinks, (rng.normal(size=m) + 0.01,))  # random points: almost surely away from the kinks


def test_dot_and_matmul():
    rng, m, n = _rng_shapes(1)
    A, x = rng.normal(size=(m, n)) / 2, rng.normal(size=n)
    d = check_three_ways(l_mat, (A, x), wrt=(0, 1))
    assert d.wrt == ("A", "x")
    assert np.shape(d.gradient[0]) == (m, n) and np.shape(d.gradient[1]) == (n,)


def test_sums_and_means():
    rng, m, n = _rng_shapes(2)
    check_three_ways(r_red, (rng.normal(size=(m, n)),))


def test_broadcasting():
    rng, m, n = _rng_shapes(3)
    args = (rng.normal(size=m), rng.normal(size=n), 0.7)
    check_three_ways(b_bc, args, wrt=(0, 1, 2))
    check_three_ways(b_bc, args, wrt="s")


def test_loop_with_fixed_bounds():
    rng, _, n = _rng_shapes(4)
    d = check_three_ways(loop_fixed, (rng.normal(size=n), rng.normal(size=n)), wrt=(0, 1))
    assert d.conditions == []  # range(3) is no value-dependent decision


def test_user_helpers_same_and_other_module():
    rng, m, n = _rng_shapes(5)
    check_three_ways(calls_helpers, (rng.normal(size=(m, n)), rng.normal(size=n)), wrt=(0, 1))


def test_index_assignment_into_zeros():
    rng = np.random.default_rng(6)
    check_three_ways(into_zeros, (rng.normal(size=4),))


def test_list_comprehension():
    rng = np.random.default_rng(7)
    check_three_ways(comprehension, (rng.normal(size=5),))


def tiny(x, y):
    return np.sin(x * y) * np.exp(x) + x ** 3 / y


def test_simplify_keeps_the_value():
    # sympy.simplify is slow on anything larger: keep it to small scalar expressions
    raw = symbolic.derivative(tiny, 0.4, 1.3, wrt=(0, 1), simplify=False, compare=False)
    simple = symbolic.derivative(tiny, 0.4, 1.3, wrt=(0, 1), simplify=True, compare=False)
    assert_close(raw.function(0.4, 1.3), simple.function(0.4, 1.3), rtol=1e-12)
    assert raw(0.4, 1.3) == raw.function(0.4, 1.3)  # __call__ is .function
    assert raw.ops_simplified == raw.ops


# ---- stop_gradient ----------------------------------------------------------------------------------


def detached(x):
    u = s2s.stop_gradient(x * x)
    return np.sum(u * x)


def detached_scalar(x):
    return stop_gradient(x * x) * x + x


def fully_detached(x):
    return np.sum(s2s.stop_gradient(np.sin(x)))


def test_stop_gradient_derivative_through_it_is_zero():
    x = np.random.default_rng(9).normal(size=4)
    d = symbolic.derivative(detached, x, simplify=False, compare=False)
    assert_close(d.function(x), x * x, rtol=1e-12)  # only the x outside stop_gradient is differentiated
    assert_close(d.function(x), s2s.grad(detached)(x))
    assert any(e.has(symbolic.StopGradient) for e in d.gradient[0].ravel())

    ds = symbolic.derivative(detached_scalar, 1.5, compare=False)
    assert ds.function(1.5) == pytest.approx(1.5 ** 2 + 1.0)
    assert ds.function(1.5) == pytest.approx(s2s.grad(detached_scalar)(1.5))

    dz = symbolic.derivative(fully_detached, x, compare=False)
    assert np.all(dz.function(x) == 0.0)
    assert np.all(s2s.grad(fully_detached)(x) == 0.0)


# ---- value-dependent control flow ---------------------------------------------------------------------


def seed(a):
    b = a * 2
    while np.linalg.norm(b) < 1000:
        b = b * 2
    if np.sum(b) > 0:
        c = b
    else:
        c = 100 * b
    return np.sum(c)


def seed_c(a):
    """The lecture function's `c` (numerically), to form the ratio c/a."""
    b = a * 2
    while np.linalg.norm(b) < 1000:
        b = b * 2
    return b if np.sum(b) > 0 else 100 * b


def branchy(x):
    if np.sum(x) > 0:
        y = np.sin(x)
    else:
        y = x * x
    while np.sum(y * y) < 10.0:
        y = y * 1.5
    return np.sum(y * x)


@pytest.mark.parametrize("a", [1.5, -0.3, np.array([0.2, -0.1, 0.4]), np.array([-0.5, 0.1])], ids=["pos", "neg", "vec+", "vec-"])
def test_seed_function_gives_ratio(a):
    d = symbolic.derivative(seed, a, simplify=False, compare=False)
    expected = seed_c(a) / a
    assert_close(d.function(a), expected, rtol=1e-12)
    assert_close(d.function(a), s2s.grad(seed)(a), rtol=1e-12)
    assert d.conditions and d.program.at_point_only
    outcomes = [c.outcome for c in d.conditions if c.line == line_of(seed, "if np.sum")]
    assert outcomes == [bool(np.sum(seed_c(a)) > 0)]


def test_value_dependent_if_and_while_at_a_point():
    rng = np.random.default_rng(10)
    for x in (rng.uniform(0.1, 0.5, size=3), -rng.uniform(0.1, 0.5, size=3)):
        d = check_three_ways(branchy, (x,))
        lines = {c.line for c in d.conditions}
        assert lines == {line_of(branchy, "if np.sum"), line_of(branchy, "while np.sum")}
        assert all(os.path.samefile(c.filename, __file__) for c in d.conditions)
        note = d.program.note()
        assert "valid only near the given point" in note
        for line in lines:
            assert f"{os.path.basename(__file__)}:{line}:" in note
        assert "while np.sum(y * y) < 10.0" in note
        assert "valid only near" in d.report()


@pytest.mark.parametrize("f, text, kind", [
    (seed, "while np.linalg.norm(b) < 1000", "branch"),
    (branchy, "if np.sum(x) > 0", "branch"),
])
def test_control_flow_without_point_raises(f, text, kind):
    with pytest.raises(SymbolicControlFlowError) as info:
        symbolic.derivative(f, compare=False)
    err = info.value
    line = line_of(f, text)
    assert os.path.samefile(err.filename, __file__) and err.lineno == line
    message = str(err)
    assert f'File "{err.filename}", line {line}' in message
    assert text in message and f"SymPy cannot follow this {kind}" in message
    assert isinstance(err, s2s.errors.S2SError)


def power_loop(x, n):
    for _ in range(n):
        x = x * x
    return x


def test_value_dependent_loop_bound():
    d = symbolic.derivative(power_loop, 1.1, 3, compare=False)
    assert d.function(1.1, 3) == pytest.approx(8 * 1.1 ** 7)
    assert d.function(1.1, 3) == pytest.approx(s2s.grad(power_loop)(1.1, 3))
    assert [c.outcome for c in d.conditions] == [3]
    with pytest.raises(SymbolicControlFlowError, match="loop bound") as info:
        symbolic.expression(power_loop)
    assert info.value.lineno == line_of(power_loop, "range(n)")


def halving(x):
    if x < 1.0:
        return np.sin(x)
    return x * halving(x / 2.0)


def test_recursion_with_value_dependent_base_case():
    d = check_three_ways(halving, (5.0,), simplify=True)
    # 5 -> 2.5 -> 1.25 -> 0.625: four decisions at the base-case test, the last one True
    assert [c.outcome for c in d.conditions] == [False, False, False, True]
    assert {c.line for c in d.conditions} == {line_of(halving, "if x < 1.0")}
    with pytest.raises(SymbolicControlFlowError):
        symbolic.derivative(halving, compare=False)


# ---- sizes --------------------------------------------------------------------------------------------


def test_operation_counts():
    d = symbolic.derivative(tiny, 0.4, 1.3, wrt=(0, 1))
    for count in (d.ops, d.ops_simplified, d.ops_cse, d.s2s_ops, d.s2s_lines):
        assert isinstance(count, int) and count > 0
    assert d.ops_cse <= d.ops_simplified
    report = d.report()
    assert f"count_ops raw          {d.ops}" in report
    assert f"count_ops after cse    {d.ops_cse}" in report
    assert f"{d.s2s_ops} operations in {d.s2s_lines} lines" in report
    assert set(d.seconds) == {"expression", "diff", "simplify", "lambdify"}
    assert symbolic.code_ops("y = np.sin(x) + 2 * x") == 3

    rng, m, n = _rng_shapes(11)  # arrays, without simplify
    d = symbolic.derivative(l_mat, rng.normal(size=(m, n)), rng.normal(size=n), wrt=(0, 1), simplify=False)
    assert d.ops > 0 and d.s2s_ops > 0 and 0 < d.ops_cse <= d.ops_simplified == d.ops


def sin1(x):
    return np.sin(x)


def sin2(x):
    return np.sin(np.sin(x))


def sin3(x):
    return np.sin(np.sin(np.sin(x)))


def sin4(x):
    return np.sin(np.sin(np.sin(np.sin(x))))


def sin5(x):
    return np.sin(np.sin(np.sin(np.sin(np.sin(x)))))


def sin6(x):
    return np.sin(np.sin(np.sin(np.sin(np.sin(np.sin(x))))))


def test_expression_swell_of_nested_sin():
    ops, cse = [], []
    for f in (sin1, sin2, sin3, sin4, sin5, sin6):
        d = symbolic.derivative(f, 0.3, simplify=False)
        assert d.function(0.3) == pytest.approx(s2s.grad(f)(0.3), rel=1e-12)
        ops.append(d.ops)
        cse.append(d.ops_cse)
    raw_steps = np.diff(ops)
    cse_steps = np.diff(cse)
    assert np.all(raw_steps > 0), ops  # the raw derivative grows with depth...
    assert np.all(np.diff(raw_steps) > 0), ops  # ...faster than linearly (the chain rule repeats the inner sines)
    assert np.all(np.array(cse) <= np.array(ops))
    assert np.all(cse_steps <= raw_steps) and cse_steps[-1] < raw_steps[-1], (ops, cse)


# ---- unsupported --------------------------------------------------------------------------------------


def sorts(x):
    y = x * 2.0
    z = np.sort(y)
    return np.sum(z * np.arange(3.0))


def ffts(x):
    return np.sum(np.real(np.fft.fft(x)))


@pytest.mark.parametrize("f, text", [(sorts, "z = np.sort(y)"), (ffts, "np.fft.fft(x)")])
def test_unsupported_operation_names_the_line(f, text):
    with pytest.raises(SymbolicUnsupportedError) as info:
        symbolic.derivative(f, np.array([0.3, -0.2, 0.5]), compare=False)
    err = info.value
    assert err.lineno == line_of(f, text)
    assert "SymPy could not run this line" in str(err) and text in str(err)


def test_bad_wrt_and_argument_count():
    with pytest.raises(ValueError, match="names no parameter"):
        symbolic.derivative(m_two, 1.0, 2.0, wrt="z")
    with pytest.raises(TypeError, match="missing a required argument"):
        symbolic.expression(m_two, 1.0)


def vector_out(x):
    return x * 2.0


def test_non_scalar_output_is_refused():
    with pytest.raises(TypeError, match="returns an array"):
        symbolic.derivative(vector_out, np.ones(3), compare=False)


# ---- bugs found (strict xfails: they pass once fixed) ---------------------------------------------------


def equality_branch(x):
    if x == 1.0:
        return x * 10.0
    return x * x


def test_equality_test_follows_the_branch_taken():
    d = symbolic.derivative(equality_branch, 1.0, compare=False)
    assert s2s.grad(equality_branch)(1.0) == pytest.approx(10.0)
    assert d.function(1.0) == pytest.approx(10.0)


def keyword_only_helper(t):
    return bump(t, width=3.0)


def test_keyword_only_argument_to_helper():
    check_three_ways(keyword_only_helper, (0.5,))


def cube_root(x):
    return np.sum(np.cbrt(x) * x)


def test_cbrt_at_negative_point():
    check_three_ways(cube_root, (np.array([-1.0, 2.0]),))


def sign_times(x):
    return np.sign(x) * x


def test_sign_derivative_evaluates():
    d = symbolic.derivative(sign_times, 0.5, compare=False)
    assert d.function(0.5) == pytest.approx(s2s.grad(sign_times)(0.5))


def floor_times(x):
    return np.floor(x) * x


def test_floor_derivative_evaluates():
    d = symbolic.derivative(floor_times, 0.5, compare=False)
    assert d.function(0.5) == pytest.approx(s2s.grad(floor_times)(0.5))


def with_default(x, k=2.0):
    return x ** k


def test_parameter_default_is_used():
    check_three_ways(with_default, (1.5,))


def through_module_attribute(x):
    return np.sum(helpers.squash(x))


def test_helper_called_through_module_attribute():
    check_three_ways(through_module_attribute, (np.array([0.3, -0.4]),))
