"""transforms/rebinding.py: a name rebound in straight-line code gets a fresh name per value (`s = s - m` ->
`s2 = s - m`). Every binding form is checked for its gradient (central differences, autograd where it
traces the function), in reverse and forward mode and through Hessians; the cases where a rename would be
wrong (a lambda reading the name late, loops, branches, in-place updates, a name the user already has)
keep the right derivative; and the pass is checked on its own, source in, source out."""

import ast
import textwrap

import numpy as np
import pytest
from helpers_fd import assert_close, check_all, fd_grad
from s2s.transforms.names import NameAllocator, names_in
from s2s.transforms.rebinding import rename_rebindings

import s2s

X = np.array([0.3, -0.7, 1.1])
W = np.array([0.5, 0.2, -0.4])


# ---- binding forms, each against central differences and autograd

def straight_line(x):
    y = x * 2.0
    y = np.sin(y)
    y = y * y + x
    return np.sum(y)


def parameter_rebound(x, w):
    x = np.tanh(x)
    x = x * w
    x = x + w * w
    return np.sum(x * x)


def softmax_rebound(z):
    s = z * 2.0
    s = s - np.max(s, axis=1, keepdims=True)
    a = np.exp(s)
    a = a / np.sum(a, axis=1, keepdims=True)
    return np.sum(a ** 2)


def attention(Wq, Wk, X):
    Q = X @ Wq
    K = X @ Wk
    s = Q @ K.T / np.sqrt(Q.shape[1])
    s = s - np.max(s, axis=1, keepdims=True)
    a = np.exp(s)
    a = a / np.sum(a, axis=1, keepdims=True)
    out = a @ X
    return np.sum(out ** 2)


def loop_carried(x):
    a = x * 1.0
    a = a + 0.5
    for _ in range(3):
        b = a * 2.0
        a = np.sin(a)
        a = a * b
    a = a * x
    return np.sum(a)


def while_rebound(x):
    a = x * 1.0
    a = a + 1.0
    k = 0
    while np.sum(a * a) < 50.0 and k < 20:
        a = a * 1.5
        a = a + x
        k = k + 1
    a = a / 3.0
    return np.sum(a)


def branch_rebound(x, c):
    a = x * 2.0
    a = a + 1.0
    if c > 0:
        a = np.sin(a)
        a = a * 3.0
    else:
        a = a * x
    a = a * a
    return np.sum(a)


def in_place_updates(x):
    a = x * 1.0
    a += x
    a *= x
    a = a + 1.0
    a -= np.sin(x)
    return np.sum(a)


def old_value_kept(x):
    a = x * 2.0
    b = a
    a = a * x
    return np.sum(a * b)


def index_updates(x):
    y = x * 2.0
    y[0] = y[1] * x[0]
    y = y * y
    y[1] = 3.0 * y[0]
    return np.sum(y)


def swaps(x, w):
    a, b = x * 1.0, w * 2.0
    a, b = b, a * b
    a, b = b + a, a
    return np.sum(a * b)


def list_rebound(x):
    xs = [x]
    xs = xs + [x * 2.0]
    xs.append(np.sin(x))
    s = xs[0] * xs[1]
    s = s + xs[2]
    return np.sum(s)


def taken_name(x):
    a = x * 2.0
    a2 = a + 1.0
    a = a * a2
    a3 = a * 3.0
    a = a + a3
    return np.sum(a)


def comprehension(x):
    a = x * 2.0
    a = np.cos(a)
    ys = [a * i for i in range(3)]
    a = ys[1] + ys[2]
    return np.sum(a)


def early_exit(x):
    a = x * 1.0
    a = a * 2.0
    for _ in range(5):
        a = a * 0.9
        if np.sum(a) > 10.0:
            break
        a = a + x
    return np.sum(a)


def returns_early(x):
    a = x * 2.0
    a = np.sin(a)
    if np.sum(a) > 100.0:
        return np.sum(a)
    a = a * x
    return np.sum(a)


def function_rebound(x):
    act = np.tanh
    y = act(x)
    act = np.sin
    y = y + act(x)
    return np.sum(y)


def copied_then_updated(x):
    x = x.copy()
    x[0] = x[1] * x[2]
    x = x * x
    return np.sum(x)


FORMS = [straight_line, function_rebound, copied_then_updated, loop_carried, while_rebound, in_place_updates,
         old_value_kept, index_updates, list_rebound, taken_name, comprehension, early_exit, returns_early]


@pytest.mark.parametrize("f", FORMS, ids=lambda f: f.__name__)
def test_binding_forms(f):
    # (autograd has no item assignment)
    check_all(f, (X.copy(),), use_autograd=f not in (index_updates, copied_then_updated))
    assert_close(s2s.derivative(f)(X.copy()), fd_grad(f, (X.copy(),)))  # the general code
    _, pullback = s2s.vjp(f, X.copy())
    assert_close(pullback(1.0), fd_grad(f, (X.copy(),)))


@pytest.mark.parametrize("c", [1.0, -1.0])
def test_branch(c):
    check_all(branch_rebound, (X, c))


def test_parameters_and_tuples():
    check_all(parameter_rebound, (X, W), wrt=(0, 1))
    check_all(swaps, (X, W), wrt=(0, 1))


def test_straight_line_rebindings_need_no_tape():
    for f, args in [(straight_line, (X,)), (parameter_rebound, (X, W)), (in_place_updates, (X,))]:
        src = s2s.source(s2s.grad(f), *args)
        assert "stack" not in src and "_arg" not in src, src


def test_softmax_rebound_drops_the_max_adjoint():
    z = np.random.default_rng(0).normal(size=(4, 5)) * 3.0
    g = check_all(softmax_rebound, (z,))
    assert_close(s2s.derivative(softmax_rebound)(z), g)
    rng = np.random.default_rng(1)
    args = (rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), rng.normal(size=(6, 4)))
    check_all(attention, args, wrt=(0, 1, 2))
    for f, a in [(softmax_rebound, (z,)), (attention, args)]:
        src = s2s.source(s2s.grad(f), *a)
        assert "extreme" not in src and "stack" not in src, src
        assert "s2 = s - " in src  # the user's name, numbered


# ---- a name read late, by a closure: the value it reads is the one bound when it runs

def lambda_read_late(x):
    a = x * 1.0
    g = lambda y: a * y  # noqa: E731
    a = a * 2.0
    return np.sum(g(x))


def def_read_late(x):
    a = np.sin(x)

    def g(y):
        return a * y + x

    a = a * x
    b = g(x)
    a = a + 1.0
    return np.sum(b * g(a))


def apply(h, v):
    return h(v)


def passed_as_value(x):
    w = x * 3.0
    g = lambda y: w * y  # noqa: E731
    a = x * 1.0
    a = a * a
    return np.sum(apply(g, a))


@pytest.mark.parametrize("f", [lambda_read_late, def_read_late, passed_as_value], ids=lambda f: f.__name__)
def test_closures(f):
    check_all(f, (X,))
    assert_close(s2s.derivative(f)(X), fd_grad(f, (X,)))


# ---- other modes: forward, Hessians, helpers in split form, checkpointed and compiled loops

def _fd_jvp(f, x, v, h=1e-6):
    return (f(x + h * v) - f(x - h * v)) / (2 * h)


@pytest.mark.parametrize("f", [straight_line, loop_carried, in_place_updates, index_updates, lambda_read_late],
                         ids=lambda f: f.__name__)
def test_forward_mode(f):
    v = np.array([0.4, -1.0, 0.3])
    value, tangent = s2s.jvp(f, (X.copy(),), (v,))
    assert_close(value, f(X.copy()))
    assert_close(tangent, _fd_jvp(f, X.copy(), v))
    value, tangent = s2s.derivative(f, mode="forward")(X.copy(), x_dot=v)
    assert_close(tangent, _fd_jvp(f, X.copy(), v))


def test_rebound_parameter_forward_and_hessian():
    v = np.array([0.4, -1.0, 0.3])
    _, tangent = s2s.jvp(parameter_rebound, (X, W), (v, None))
    assert_close(tangent, _fd_jvp(lambda x: parameter_rebound(x, W), X, v))
    H = s2s.hessian(parameter_rebound)(X, W)
    grad = s2s.grad(parameter_rebound)
    assert_close(H, np.stack([_fd_jvp(lambda x: grad(x, W), X, e) for e in np.eye(3)]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("f", [straight_line, loop_carried, in_place_updates], ids=lambda f: f.__name__)
def test_hessian(f):
    H = s2s.hessian(f)(X.copy())
    grad = s2s.grad(f)
    expected = np.stack([_fd_jvp(grad, X.copy(), e) for e in np.eye(3)])
    assert_close(H, expected, rtol=1e-5, atol=1e-5)
    z = np.random.default_rng(2).normal(size=(2, 3))
    Hz = s2s.hessian(softmax_rebound)(z)
    g = s2s.grad(softmax_rebound)
    expected = np.stack([_fd_jvp(g, z, e.reshape(z.shape)) for e in np.eye(z.size)], axis=-1).reshape(Hz.shape)
    assert_close(Hz, expected, rtol=1e-5, atol=1e-5)


def test_grad_of_grad():
    g = s2s.grad(lambda x: np.sum(s2s.grad(straight_line)(x) ** 2))
    assert_close(g(X), fd_grad(lambda x: np.sum(s2s.grad(straight_line)(x) ** 2), (X,)))


def caller(x, w):
    y = parameter_rebound(x, w)
    y = y * straight_line(x)
    return y


def test_helpers_in_split_form():
    check_all(caller, (X, W), wrt=(0, 1))


def checkpointed(x):
    a = x * 1.0
    for _ in s2s.checkpoint(range(6), every=2):
        b = np.sin(a)
        b = b * x
        a = a + b
        a = a * 0.5
    return np.sum(a)


def test_checkpointed_loop():
    check_all(checkpointed, (X,), use_autograd=False)


def euler(k, x0):
    x, v = x0, 0.0
    for _ in range(20):
        a = -k * x
        a = a - 0.1 * v
        x = x + 0.01 * v
        v = v + 0.01 * a
    e = x * x
    e = e + v * v
    return e


def test_compiled():
    pytest.importorskip("numba")
    for wrt in (0, 1):
        assert_close(s2s.grad(euler, wrt=wrt, compile="strict")(1.3, 0.8), fd_grad(euler, (1.3, 0.8), wrt=wrt))


# ---- the pass on its own

def _renamed(src):
    tree = ast.parse(textwrap.dedent(src)).body[0]
    mapping = rename_rebindings(tree, NameAllocator(names_in(tree) | {tree.name}))
    return mapping, ast.unparse(tree)


def test_function_body_first_value_keeps_its_name():
    mapping, out = _renamed("""
    def f(x):
        y = x
        y = y + 1
        z = y
        y = y * z
        return y
    """)
    assert mapping == {"y2": "y", "y3": "y"}
    assert out == "def f(x):\n    y = x\n    y2 = y + 1\n    z = y2\n    y3 = y2 * z\n    return y3"


def test_parameter_and_a_name_stored_before():
    mapping, out = _renamed("""
    def f(x, c):
        if c:
            y = x
        y = x * 2
        x = x + y
        return x
    """)
    assert mapping == {"y2": "y", "x2": "x"}
    assert out.splitlines()[3:] == ["    y2 = x * 2", "    x2 = x + y2", "    return x2"]


def test_nested_lists_keep_the_last_value_under_the_name():
    mapping, out = _renamed("""
    def f(x):
        a = x
        for i in range(3):
            a = a * 2
            if i:
                a = a + 1
            a = a * a
        return a
    """)
    assert mapping == {"a2": "a"}
    assert out.splitlines()[3:7] == ["        a2 = a * 2", "        if i:", "            a2 = a2 + 1",
                                     "        a = a2 * a2"]


def test_a_range_over_a_while_loop_renames_its_test():
    tree = ast.parse("def f(x):\n    a = x\n    a = a * 2\n    cond = a < 3\n    while cond:\n"
                     "        a = a + 1\n    return a").body[0]
    from s2s.transforms import annotations
    test = [ast.parse("cond = a < 3").body[0]]
    annotations.put(tree.body[3], annotations.LOOP_TEST, test)
    rename_rebindings(tree, NameAllocator(names_in(tree) | {"f"}))
    assert ast.unparse(test[0]) == "cond = a2 < 3"
    assert ast.unparse(tree.body[3].body[0]) == "a2 = a2 + 1"


@pytest.mark.parametrize("src", [
    "def f(x):\n    a = x\n    g = lambda: a\n    a = a + 1\n    return g()",  # read by a lambda
    "def f(x):\n    a = x\n    ys = [a for _ in x]\n    a = a + 1\n    return a",  # by a comprehension
])
def test_names_read_by_another_scope_are_left(src):
    assert _renamed(src)[0] == {}


@pytest.mark.parametrize("src", [
    "def f(x):\n    a = x\n    a = a + 1\n    return locals()['a']",
    "def f(x):\n    a = x\n    a = a + 1\n    return eval('a')",
    "def f(x):\n    a = x\n    a = a + 1\n    return sys._getframe().f_locals['a']",
    "def f(x):\n    a = x\n    for i in x:\n        break\n    a = a + 1\n    return a",
    "def f(x):\n    a = x\n    if x:\n        return a\n    a = a + 1\n    return a",
])
def test_functions_that_may_read_their_locals_or_leave_a_list_early_are_left(src):
    assert _renamed(src)[0] == {}
