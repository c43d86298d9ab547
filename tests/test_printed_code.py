"""Printed code runs as printed: what `s2s.source` shows, saved to a file of its own and imported, gives
the numbers s2s gives.

Each program is written to a module of its own in a temporary directory (the user's file), imported,
differentiated; `s2s.source(...)` of the derivative is written to a second file, which is imported with
only the user's module importable, and its function called. The printed text brings its own import lines
(`import s2s.runtime as s2s`: inside generated code `s2s` is the runtime), the user's globals from the
user's module, and the generated derivatives of the user's functions it calls.
"""

import ast
import importlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import s2s
from s2s import api

USER_MODULE = '''
import math

import numpy as np

import s2s

SCALE = 2.5
W = np.array([[1.0, 2.0], [0.5, -1.0], [0.0, 3.0]])


def poly(x):
    return 3.0 * x ** 3 - 2.0 * x + 1.0


def loop_sum(x, n=4):
    s = 0.0
    for i in range(n):
        s = s + np.sin(x * i)
    return np.sum(s)


def branches(x):
    if np.sum(x) > 0:
        y = x * x
    else:
        y = -x
    return np.sum(y)


def while_loop(a):
    k = 0
    while a < 10.0 and k < 20:
        a = a * 1.5 + 0.1
        k += 1
    return a


def scaled(u, *, factor=1.0):  # (keyword-only: a derivative of its own, not expanded: transforms/adopt.py)
    return np.tanh(u) * SCALE * factor


def twice(u):
    return scaled(u) + scaled(2.0 * u)


def with_helpers(x):
    return np.sum(twice(x) * x)


def matrix(w, x):
    h = np.tanh(W @ w + x)
    return np.dot(h, h)


def scalar_math(x, y):
    return math.sin(x) * math.exp(y) + math.log(1.0 + x * x)


def lists(x):
    out = []
    for i in range(3):
        out.append(x[i] * x[i + 1])
    return sum(out)


def updates(x):
    y = np.zeros(4)
    for i in range(4):
        y[i] = x[i] * SCALE
    y[1:3] += x[:2]
    return np.sum(y * y)


def reductions(x):
    return np.max(x) + np.var(x) + np.mean(np.exp(x))


def checkpointed(x):
    for _ in s2s.checkpoint(range(12), every=4):
        x = np.sin(x) + 0.5 * x
    return np.sum(x)


def cube(x):
    return x ** 3 * math.sin(x)


def logsumexp(x):
    return np.log(np.sum(np.exp(x)))


s2s.defvjp(logsumexp, "x", x="g * np.exp(x - ans)", x_dot="np.sum(x_dot * np.exp(x - ans))")
act = np.tanh


def primitive_and_alias(x):
    return logsumexp(act(x)) + np.linalg.norm(x)
'''

X3 = np.array([0.3, -0.7, 1.2])
X5 = np.array([0.3, -0.7, 1.2, 0.4, -0.1])

# (name, args, wrt, how the derivative is printed: "general" = source(derivative(f)), "specialised" =
# source(grad(f), *args), "forward" = source(derivative(f, mode="forward")))
CASES = [
    ("poly", (1.3,), 0, "general"),
    ("poly", (1.3,), 0, "specialised"),
    ("loop_sum", (X3,), 0, "general"),
    ("loop_sum", (X3,), 0, "specialised"),
    ("branches", (X3,), 0, "specialised"),
    ("branches", (-X3 - 1.0,), 0, "general"),
    ("while_loop", (0.7,), 0, "general"),
    ("with_helpers", (X3,), 0, "general"),
    ("with_helpers", (X3,), 0, "specialised"),
    ("matrix", (np.array([0.1, -0.2]), X3), 0, "specialised"),
    ("matrix", (np.array([0.1, -0.2]), X3), (0, 1), "general"),
    ("scalar_math", (0.4, -0.3), (0, 1), "general"),
    ("lists", (X5,), 0, "general"),
    ("updates", (X5,), 0, "general"),
    ("updates", (X5,), 0, "specialised"),
    ("reductions", (X5,), 0, "specialised"),
    ("checkpointed", (X3,), 0, "general"),
    ("primitive_and_alias", (X3,), 0, "general"),
    ("primitive_and_alias", (X3,), 0, "specialised"),
    ("primitive_and_alias", (X3,), 0, "forward"),
    ("poly", (1.3,), 0, "forward"),
    ("loop_sum", (X3,), 0, "forward"),
    ("with_helpers", (X3,), 0, "forward"),
    ("scalar_math", (0.4, -0.3), 0, "forward"),
]


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    directory = tmp_path_factory.mktemp("printed")
    (directory / "printed_user_module.py").write_text(USER_MODULE)
    sys.path.insert(0, str(directory))
    try:
        module = importlib.import_module("printed_user_module")
        yield module, directory
    finally:
        sys.path.remove(str(directory))
        for name in [n for n in sys.modules if n.startswith(("printed_user_module", "printed_code_"))]:
            del sys.modules[name]


def _main_function(text):
    """The name of the function a printed text is for: its last top-level def."""
    return [node.name for node in ast.parse(text).body if isinstance(node, ast.FunctionDef)][-1]


def _load(directory, name, text):
    (directory / f"{name}.py").write_text(text)
    module = importlib.import_module(name)
    return getattr(module, _main_function(text))


def _close(a, b):
    if isinstance(b, tuple | list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    return np.allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_printed_code_gives_the_same_numbers(case, user):
    module, directory = user
    name, args, wrt, kind = CASES[case]
    f = getattr(module, name)
    if kind == "forward":
        text = s2s.source(s2s.derivative(f, mode="forward", wrt=wrt))
        printed = _load(directory, f"printed_code_{case}", text)
        tangent = np.ones_like(np.asarray(args[wrt], dtype=float)) * 0.5
        dot = api._dot_kwargs(s2s.derivative(f, mode="forward", wrt=wrt), {f"{f.__code__.co_varnames[wrt]}_dot": None})
        got = printed(*args, **{next(iter(dot)): tangent if np.ndim(args[wrt]) else 0.5})
        tangents = [None] * len(args)
        tangents[wrt] = tangent if np.ndim(args[wrt]) else 0.5
        want = s2s.jvp(f, args, tangents)
    else:
        if kind == "general":
            text = s2s.source(s2s.derivative(f, wrt=wrt))
            returns_value = False
        else:
            text = s2s.source(s2s.grad(f, wrt=wrt), *args)
            returns_value = api._bound_for(f, wrt, "grad", True, args)[0].__s2s_returns_value__
        printed = _load(directory, f"printed_code_{case}", text)
        got = printed(*args)
        if returns_value:
            got = got[1]
        want = s2s.grad(f, wrt=wrt)(*args)
    code = "\n".join(line.split("#")[0] for line in text.splitlines())  # (comments name s2s.grad)
    assert "import s2s.runtime as s2s" in text or "s2s." not in code
    assert _close(got, want), f"{name} ({kind}):\n{text}\ngot {got}\nwant {want}"


def test_printed_code_starts_with_its_imports(user):
    module, _ = user
    text = s2s.source(s2s.grad(module.with_helpers), X3)
    head = text.split("\ndef ", 1)[0]
    assert "import numpy as np" in head and "import s2s.runtime as s2s" in head
    assert "from printed_user_module import SCALE" in head  # read by the helper's derivative
    # scaled's derivative printed too (twice, called by with_helpers alone, is expanded in it: transforms/adopt.py)
    assert text.count("\ndef ") + text.startswith("def ") >= 2 and "def scaled_vjp" in text


def test_grad_of_grad_prints_runnable_code(user):
    module, directory = user
    d2 = s2s.grad(s2s.grad(module.cube))
    printed = _load(directory, "printed_code_second", s2s.source(d2))
    assert np.isclose(printed(0.8), d2(0.8), rtol=1e-12)


def test_printed_code_runs_in_a_fresh_interpreter(user):
    """No state of this process: a new Python imports the printed file and the user's module from disk."""
    module, directory = user
    text = s2s.source(s2s.grad(module.with_helpers), X3)
    (directory / "printed_fresh.py").write_text(text)
    script = textwrap.dedent(f"""
        import numpy as np
        import printed_fresh
        out = printed_fresh.{_main_function(text)}(np.array({X3.tolist()}))
        print(repr(np.asarray(out[1] if isinstance(out, tuple) else out).tolist()))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=directory, timeout=120)
    assert out.returncode == 0, out.stderr
    got = np.array(ast.literal_eval(out.stdout.strip().splitlines()[-1]))
    assert np.allclose(got, s2s.grad(module.with_helpers)(X3), rtol=1e-12)


def test_what_cannot_be_imported_is_named_in_a_comment(tmp_path):
    def outer():
        k = np.array([1.0, 2.0, 3.0])

        def inner(x):
            return np.sum(k * x * x)
        return inner

    text = s2s.source(s2s.derivative(outer()))
    assert "# k: a ndarray from the function's enclosing scope" in text
