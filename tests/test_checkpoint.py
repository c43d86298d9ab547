"""Checkpointed loops: `for t in s2s.checkpoint(range(n), every=k)`.

A checkpointed loop must give the same derivative as the same loop without the marker (and as
central differences and autograd), for every schedule and trip count; forward mode ignores the
marker; misuse is refused with the line; and the gradient of a long loop needs much less memory.

The gradient matrix is built from templates: each `CKPT[iterable]` loop header is written once
plainly and once per checkpoint schedule into a module of its own, so that every variant is an
ordinary function with source that s2s can read.
"""

import importlib.util
import inspect
import re
import tracemalloc
import warnings

import autograd
import numpy as np
import pytest
from helpers_fd import autograd_version, check_grad

import s2s

# ---------------------------------------------------------------- templates

HEADER = """\
import numpy as np

import s2s


def cell(h, W, x):
    z = h @ W + x
    return np.tanh(z) * 0.9 + 0.1 * h


def centre(h):
    m = np.mean(h)
    return h - m
"""

TEMPLATES = {
    # an RNN: array state, matrix parameter, one input row per step
    "rnn": """
def f(W, xs, h):
    for t in CKPT[range(xs.shape[0])]:
        h = np.tanh(h @ W + xs[t])
    return np.sum(h * h)
""",
    # scalars, a value-dependent if/elif/else, two carried variables
    "scalar_if": """
def f(x, y, n):
    s = x
    c = 0.0
    for i in CKPT[range(n)]:
        if s > 0.6:
            s = s * 0.5 + y
            c = c + s * s
        elif s < -0.6:
            s = -s * y + 0.1
        else:
            s = s + np.sin(i * y + s)
            c = c * 0.5 + s
    return s + c
""",
    # nested for loops inside the checkpointed one, one with a trip count depending on the outer index
    "nested_for": """
def f(x, w, n):
    s = x
    for i in CKPT[range(n)]:
        for j in range(3):
            s = np.tanh(s * w + j * 0.1)
        for j in range(i % 3):
            s = s + 0.1 * np.cos(s)
    return np.sum(s * s)
""",
    # calls to user helper functions
    "helpers": """
def f(W, xs, h):
    for t in CKPT[range(xs.shape[0])]:
        h = cell(h, W, xs[t])
        h = centre(h)
    return np.sum(np.sin(h))
""",
    # list.append inside, then the sum of the list
    "list_append": """
def f(x, w, n):
    outs = []
    h = x
    for i in CKPT[range(n)]:
        h = np.sin(h * w) + 0.5 * h
        outs.append(h * h)
    return sum(outs) + np.sum(h)
""",
    # index assignment into an array defined before the loop
    "setitem": """
def f(x, w, n):
    a = np.zeros(n + 1)
    h = x
    for i in CKPT[range(n)]:
        h = np.cos(h * w) + 0.3 * h
        a[i + 1] = h * w
    return np.sum(a * a) + h
""",
    # enumerate over an array, two arrays of state
    "enumerate": """
def f(x, ws):
    h = x
    c = x * 0.5
    for i, w in CKPT[enumerate(ws)]:
        c = c * 0.8 + np.sin(h * w)
        h = np.tanh(c) + 0.1 * i
    return np.sum(h + c)
""",
}

K = 3  # the every= of the "every3" variant: the trip counts below include K and K + 1
SCHEDULES = {
    "plain": None,
    "sqrt": "",
    "none": ", every=None",
    "every1": ", every=1",
    "every3": f", every={K}",
    "every17": ", every=17",
    "every1000": ", every=1000",
}
CHECKPOINTED = [v for v in SCHEDULES if v != "plain"]
TRIPS = [0, 1, 2, K, K + 1, 17]
AUTOGRAD_OK = {"rnn", "scalar_if", "nested_for", "helpers", "list_append", "enumerate"}  # autograd cannot setitem


def _render(template, schedule):
    def header(m):
        return f"{m.group(1)}:" if schedule is None else f"s2s.checkpoint({m.group(1)}{schedule}):"
    return re.sub(r"CKPT\[(.*)\]:$", header, template, flags=re.M)


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    """{case: {schedule: function}}, each case and schedule a module of its own."""
    root = tmp_path_factory.mktemp("ckpt_cases")
    out = {}
    for case, template in TEMPLATES.items():
        out[case] = {}
        for variant, schedule in SCHEDULES.items():
            name = f"ckpt_{case}_{variant}"
            path = root / f"{name}.py"
            path.write_text(HEADER + _render(template, schedule))
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            out[case][variant] = module.f
    return out


def _args(case, n, seed):
    """(arguments, positions to differentiate) for `case` with n trips; random shapes, fixed seed."""
    rng = np.random.default_rng(seed)
    d = int(rng.integers(2, 5))
    if case in ("rnn", "helpers"):
        W = rng.normal(size=(d, d)) / np.sqrt(d)
        return (W, rng.normal(size=(n, d)), rng.normal(size=d)), (0, 1, 2)
    if case == "scalar_if":
        return (float(rng.uniform(-1, 1)), float(rng.uniform(0.3, 1.2)), n), (0, 1)
    if case == "nested_for":
        return (rng.normal(size=d), rng.uniform(0.5, 1.5, size=d), n), (0, 1)
    if case in ("list_append", "setitem"):
        return (float(rng.uniform(-1, 1)), float(rng.uniform(0.5, 1.5)), n), (0, 1)
    if case == "enumerate":
        return (rng.normal(size=d), rng.normal(size=n)), (0, 1)
    raise AssertionError(case)


def _same(a, b, what):
    for x, y in zip(a, b):
        assert np.shape(x) == np.shape(y), what
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14, err_msg=what)


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("n", TRIPS)
@pytest.mark.parametrize("case", list(TEMPLATES))
def test_checkpointed_gradient_equals_plain_fd_and_autograd(variants, case, n):
    args, wrt = _args(case, n, seed=100 + 7 * n + len(case))
    plain = variants[case]["plain"]
    expected = s2s.grad(plain, wrt=wrt)(*args)
    for p, g in zip(wrt, expected):
        assert np.shape(g) == np.shape(args[p])
        if np.size(args[p]):
            check_grad(g, plain, args, wrt=p)
        if case in AUTOGRAD_OK and np.size(args[p]):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Output seems independent of input")
                ag = autograd.grad(autograd_version(plain), p)(*args)
            _same([g], [ag], f"{case} n={n}: s2s vs autograd, arg {p}")
    for variant in CHECKPOINTED:
        f = variants[case][variant]
        assert f(*args) == pytest.approx(plain(*args), rel=1e-13), f"{case}/{variant} runs as written"
        got = s2s.grad(f, wrt=wrt)(*args)
        _same(got, expected, f"{case}/{variant} n={n}")


@pytest.mark.parametrize("case", list(TEMPLATES))
def test_value_and_grad_and_optimize_off(variants, case):
    args, wrt = _args(case, 11, seed=5)
    plain = variants[case]["plain"]
    expected = s2s.grad(plain, wrt=wrt)(*args)
    for variant in ("sqrt", "every3"):
        f = variants[case][variant]
        value, grads = s2s.value_and_grad(f, wrt=wrt)(*args)
        assert value == pytest.approx(plain(*args), rel=1e-13)
        _same(grads, expected, f"value_and_grad {case}/{variant}")
        _same(s2s.grad(f, wrt=wrt, optimize=False)(*args), expected, f"optimize=False {case}/{variant}")


@pytest.mark.parametrize("case", list(TEMPLATES))
def test_forward_mode_ignores_the_marker(variants, case):
    """s2s.jvp on a checkpointed function: the tangent is <gradient, direction>."""
    args, wrt = _args(case, 7, seed=9)
    rng = np.random.default_rng(1)
    tangents = [None] * len(args)
    for p in wrt:
        tangents[p] = rng.normal(size=np.shape(args[p])) if np.ndim(args[p]) else float(rng.normal())
    grads = s2s.grad(variants[case]["plain"], wrt=wrt)(*args)
    expected = sum(float(np.sum(g * tangents[p])) for p, g in zip(wrt, grads))
    for variant in ("plain", "sqrt", "every3"):
        value, tangent = s2s.jvp(variants[case][variant], tuple(args), tuple(tangents))
        assert value == pytest.approx(variants[case]["plain"](*args), rel=1e-13)
        assert tangent == pytest.approx(expected, rel=1e-10, abs=1e-12), f"{case}/{variant}"


# ---------------------------------------------------------------- a vector-valued loop: vjp, jacobians, hessian


def rnn_state(W, xs, h):
    for t in s2s.checkpoint(range(xs.shape[0]), every=4):
        h = np.tanh(h @ W + xs[t])
    return h


def rnn_state_plain(W, xs, h):
    for t in range(xs.shape[0]):
        h = np.tanh(h @ W + xs[t])
    return h


def rnn_loss(W, xs, h):
    for t in s2s.checkpoint(range(xs.shape[0])):
        h = np.tanh(h @ W + xs[t])
    return np.sum(h * h)


def _rnn_inputs(seed, n=10, d=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(d, d)) / np.sqrt(d), rng.normal(size=(n, d)), rng.normal(size=d)


def test_vjp_pullback_twice_gives_the_same_result():
    W, xs, h = _rnn_inputs(21)
    value, pullback = s2s.vjp(rnn_state, W, xs, h, wrt=(0, 2))
    np.testing.assert_allclose(value, rnn_state_plain(W, xs, h), rtol=1e-14)
    ct = np.random.default_rng(3).normal(size=value.shape)
    first = pullback(ct)
    other = pullback(np.ones_like(ct))
    second = pullback(ct)
    _same(first, second, "pullback called twice")
    _, plain_pullback = s2s.vjp(rnn_state_plain, W, xs, h, wrt=(0, 2))
    _same(first, plain_pullback(ct), "checkpointed vs plain pullback")
    _same(other, plain_pullback(np.ones_like(ct)), "checkpointed vs plain pullback, second cotangent")


def test_jacobians_forward_and_reverse():
    W, xs, h = _rnn_inputs(22, n=9)
    expected = s2s.jacobian(rnn_state_plain, wrt=2)(W, xs, h)
    for mode in ("reverse", "forward"):
        got = s2s.jacobian(rnn_state, wrt=2, mode=mode)(W, xs, h)
        np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-13, err_msg=mode)
    fd = np.stack([(rnn_state_plain(W, xs, h + e) - rnn_state_plain(W, xs, h - e)) / 2e-6
                   for e in np.eye(h.size) * 1e-6], axis=-1)
    np.testing.assert_allclose(expected, fd, rtol=1e-5, atol=1e-7)


def test_hessian_through_a_checkpointed_loop():
    W, xs, h = _rnn_inputs(23, n=6)
    H = s2s.hessian(rnn_loss, wrt=2)(W, xs, h)
    g = s2s.grad(rnn_loss, wrt=2)
    fd = np.stack([(g(W, xs, h + e) - g(W, xs, h - e)) / 2e-6 for e in np.eye(h.size) * 1e-6], axis=-1)
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-7)


def test_checkpoint_is_the_identity_when_the_function_runs():
    r = range(5)
    assert s2s.checkpoint(r) is r
    assert s2s.checkpoint(r, every=2) is r
    W, xs, h = _rnn_inputs(24)
    np.testing.assert_array_equal(rnn_state(W, xs, h), rnn_state_plain(W, xs, h))


def checkpointed_helper_caller(W, xs, h):
    s = 0.0
    for _r in range(2):  # the helper's checkpointed loop is outermost in the helper
        h = rnn_state(W, xs, h) * 0.5
        s = s + np.sum(h)
    return s


def test_checkpointed_loop_in_a_helper_called_from_a_loop():
    W, xs, h = _rnn_inputs(25, n=5)
    gW, gh = s2s.grad(checkpointed_helper_caller, wrt=(0, 2))(W, xs, h)
    check_grad(gW, checkpointed_helper_caller, (W, xs, h), wrt=0)
    check_grad(gh, checkpointed_helper_caller, (W, xs, h), wrt=2)


# ---------------------------------------------------------------- memory


def long_rnn(W, xs, h):
    for t in range(xs.shape[0]):
        h = np.tanh(h @ W + xs[t])
    return np.sum(h * h)


def long_rnn_ckpt(W, xs, h):
    for t in s2s.checkpoint(range(xs.shape[0])):
        h = np.tanh(h @ W + xs[t])
    return np.sum(h * h)


def long_rnn_ckpt20(W, xs, h):
    for t in s2s.checkpoint(range(xs.shape[0]), every=20):
        h = np.tanh(h @ W + xs[t])
    return np.sum(h * h)


def _peak(fn, *args):
    fn(*args)  # generate the code outside the measurement
    tracemalloc.start()
    try:
        out = fn(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, out


def test_checkpointing_lowers_peak_memory():
    rng = np.random.default_rng(7)
    # long enough that the tape, not the fixed d x d temporaries of the gradient of W, sets the peak
    n, d = 1600, 64
    W, xs, h = rng.normal(size=(d, d)) / np.sqrt(d), rng.normal(size=(n, d)), rng.normal(size=d)
    base, expected = _peak(s2s.grad(long_rnn, wrt=(0, 2)), W, xs, h)
    assert base > n * d * 8, "the plain tape holds at least one hidden state per step"
    for f in (long_rnn_ckpt, long_rnn_ckpt20):
        peak, got = _peak(s2s.grad(f, wrt=(0, 2)), W, xs, h)
        _same(got, expected, f.__name__)
        assert peak < 0.5 * base, f"{f.__name__}: peak {peak} B with checkpointing, {base} B without"


# ---------------------------------------------------------------- refusals


def _line_of(func, text):
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, line in enumerate(lines) if text in line)


def ck_inside_for(x):
    s = x
    for i in range(3):
        for _j in s2s.checkpoint(range(4)):
            s = np.sin(s) + i
    return s


def ck_inside_while(x):
    s = x
    k = 0
    while k < 3:
        for _j in s2s.checkpoint(range(4), every=2):
            s = np.sin(s)
        k = k + 1
    return s


def ck_with_break(x):
    s = x
    for _i in s2s.checkpoint(range(4)):
        s = np.sin(s)
        if s < 0.1:
            break
    return s


def ck_with_return(x):
    s = x
    for _i in s2s.checkpoint(range(4)):
        s = np.sin(s)
        if s < 0.1:
            return s * 2.0
    return s


def ck_changes_its_bound(x, n):
    s = x
    for _i in s2s.checkpoint(range(n)):
        s = np.sin(s)
        n = n - 1
    return s


@pytest.mark.parametrize("func, marker", [
    (ck_inside_for, "s2s.checkpoint("),
    (ck_inside_while, "s2s.checkpoint("),
    (ck_with_break, "s2s.checkpoint("),
    (ck_with_return, "s2s.checkpoint("),
    (ck_changes_its_bound, "s2s.checkpoint("),
])
def test_refused_loops_name_their_line(func, marker):
    args = (0.5, 4) if func is ck_changes_its_bound else (0.5,)
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.grad(func)(*args)
    line = _line_of(func, marker)
    assert info.value.lineno == line
    assert f"line {line}" in str(info.value)
    assert "checkpoint" in str(info.value)
    if func in (ck_inside_for, ck_inside_while):
        assert "inside another loop" in str(info.value)
    else:
        assert "break or return" in str(info.value)
    assert func(*args) is not None  # and the function itself still runs


def every_zero(x):
    s = x
    for _i in s2s.checkpoint(range(4), every=0):
        s = np.sin(s)
    return s


def every_variable(x, k):
    s = x
    for _i in s2s.checkpoint(range(4), every=k):
        s = np.sin(s)
    return s


def every_float(x):
    s = x
    for _i in s2s.checkpoint(range(4), every=2.0):
        s = np.sin(s)
    return s


def every_negative(x):
    s = x
    for _i in s2s.checkpoint(range(4), every=-2):
        s = np.sin(s)
    return s


def every_bool(x):
    s = x
    for _i in s2s.checkpoint(range(4), every=True):
        s = np.sin(s)
    return s


def every_unknown_keyword(x):
    s = x
    for _i in s2s.checkpoint(range(4), step=2):
        s = np.sin(s)
    return s


@pytest.mark.parametrize("func", [every_zero, every_variable, every_float, every_negative, every_bool, every_unknown_keyword])
def test_bad_every_is_refused(func):
    args = (0.5, 2) if func is every_variable else (0.5,)
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.grad(func)(*args)
    line = _line_of(func, "s2s.checkpoint(")
    assert info.value.lineno == line
    assert f"line {line}" in str(info.value)
    assert "every=" in str(info.value)


# ---------------------------------------------------------------- known bugs (minimal reproducers)

WHILE_INSIDE_BUG = (
    "BUG: a while loop inside a checkpointed loop crashes the transform: TypeError: argument of type 'NoneType' is "
    "not iterable (reverse.py fwd: `counter not in self.needed` while self.needed is still None on the first run)"
)
INDEX_ASSIGN_BUG = (
    "BUG (silent wrong gradient): a container updated by index assignment inside a checkpointed loop (a[i] = ..., "
    "d['k'] = ...) is not part of the snapshot (carried() collects Name stores only), so the re-run of each segment"
    " starts from the final value; x^3 + x gives 2.0731 instead of 2.47 at x=0.7"
)
LIST_INSIDE_BUG = (
    "BUG: a list created inside a checkpointed loop (or a list comprehension, which lowers to one) crashes the "
    "gradient at run time: the first snapshot calls list(None) (TypeError: 'NoneType' object is not iterable)"
)
INNER_BREAK_BUG = (
    "BUG: a break of an inner loop makes the outer checkpointed loop refused as 'has break or return': "
    "exits._contains(stop_at_loops=True) does not stop at a loop that is itself a statement of the body, so the "
    "outer loop gets a break flag and becomes a while"
)
ZERO_TRIP_VJP_BUG = (
    "BUG: the split form (vjp, or a helper called by a differentiated function) of a loop that runs zero times "
    "raises UnboundLocalError: the pullback's defaults read the loop variables (`start=start, t=t`) that were never"
    " bound (the same for a plain loop's `t`)"
)


def while_inside(x):
    s = x
    for _i in s2s.checkpoint(range(4), every=2):
        k = 0
        while k < 2:
            s = s + 0.1 * s * s
            k = k + 1
    return s


def value_while_inside(x):
    s = x
    for _i in s2s.checkpoint(range(4), every=2):
        while s < 2.0:
            s = s * 1.5
        s = s - 1.5
    return s


@pytest.mark.parametrize("func", [while_inside, value_while_inside])
def test_while_loop_inside_a_checkpointed_loop(func):
    g = s2s.grad(func)(0.3)
    check_grad(g, func, (0.3,))


def setitem_read_inside(x):
    a = np.ones(2) * x
    for _i in s2s.checkpoint(range(2), every=1):
        a[0] = a[0] * a[1]
    return np.sum(a)


def dict_update_inside(x):
    d = {"a": x, "b": 1.0}
    for _i in s2s.checkpoint(range(3), every=2):
        d["a"] = np.sin(d["a"]) + d["b"]
        d["b"] = d["b"] * d["a"]
    return d["a"] + d["b"]


@pytest.mark.parametrize("func", [setitem_read_inside, dict_update_inside])
def test_index_assignment_read_back_inside_a_checkpointed_loop(func):
    g = s2s.grad(func)(0.7)
    check_grad(g, func, (0.7,))


def list_made_inside(x):
    s = x
    for _i in s2s.checkpoint(range(3), every=2):
        parts = []
        parts.append(s)
        parts.append(s * s)
        s = sum(parts) * 0.5
    return s


def comprehension_inside(x):
    s = x
    for _i in s2s.checkpoint(range(3), every=2):
        s = sum([s * j for j in range(3)]) * 0.5 + 0.1
    return s


@pytest.mark.parametrize("func", [list_made_inside, comprehension_inside])
def test_list_built_inside_a_checkpointed_loop(func):
    g = s2s.grad(func)(0.3)
    check_grad(g, func, (0.3,))


def inner_break(x):
    s = x
    for _i in s2s.checkpoint(range(4), every=2):
        for _j in range(5):
            s = np.sin(s) + 0.5
            if s > 1.2:
                break
    return s


def test_break_of_an_inner_loop_is_allowed():
    g = s2s.grad(inner_break)(0.3)
    check_grad(g, inner_break, (0.3,))


@pytest.mark.parametrize("func", [rnn_state, rnn_state_plain])
def test_vjp_of_a_loop_that_runs_zero_times(func):
    W, _, h = _rnn_inputs(26)
    xs = np.zeros((0, h.size))
    value, pullback = s2s.vjp(func, W, xs, h, wrt=2)
    np.testing.assert_array_equal(value, h)
    np.testing.assert_array_equal(pullback(np.ones_like(h)), np.ones_like(h))


def test_readme_example_source_shape():
    """The generated code keeps no tape in the forward sweep and re-records one segment at a time."""
    src = s2s.source(s2s.derivative(rnn_loss))
    forward, backward = src.split("# return", 1)
    assert "snapshots.append" in forward and "stack.append" not in forward
    assert "snapshots.pop()" in backward and "stack.append" in backward
    assert "isqrt" in forward
