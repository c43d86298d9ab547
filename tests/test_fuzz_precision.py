"""Random programs that make an array of another floating dtype than their arguments' and reduce a product with it:
float32 or float16 arrays made inside a float64 function (`v.astype(np.float32)`, `np.asarray(v, "f4")`, a module's
`DT`, a dtype passed as an argument, `np.sqrt(v > 0)` and ufuncs of int8 arguments, which are float16), and float64
arrays made inside a float32 function (`x[0] + np.zeros(5)`). NumPy sums `x[0] * w` in float64 where x is float64;
specialised code that put a Python 1.0 (a weak scalar) in place of the float64 broadcast of the seed summed w in
float32 (review 229: 2.5 where 3.5 is right). The data cancel (1e8 + 1 - 1e8 in float32 is 0), so a sum in the
narrower dtype is off by whole units; float16's products overflow (NumPy sums float16 in float32).

A fourth generator (stop 69) gives a float64 function float32 weights as an argument and reduces `x * w` to a float64
number through a loop, `np.dot`, `@`, `np.vdot`, `float()`, `.item()`, a helper, a comprehension, a zip, tuple
unpacking or a conditional, scaled by a Python number: the seed 1.0 is weak in NumPy, and a float64 value's adjoint
`3.3 * w[i]` was float32 (1.5e-7 off), so these are checked to 1e-13. A fifth (stop 70) reads the weights where the
code does not show their dtype: an object's attribute, a module's object, dict, list or class (taken for float64
before, 3.2e-7 off).

The programs are linear in x, so the gradient is exactly `f(e_k) - f(0)` for each unit vector e_k, evaluated by
NumPy itself. `S2S_FUZZ=long` runs more programs."""

from __future__ import annotations

import os
import random
import re
import warnings

import numpy as np
import pytest
from fuzz.modules import module_from_text

import s2s
from s2s.compiled import CompiledFallbackWarning

COUNT = 240 if os.environ.get("S2S_FUZZ", "").lower() == "long" else 36
CANCELLING = np.array([1e8, 1.0, -1e8, 2.0, 0.5])  # (float32 sums to 2.5, float64 to 3.5)
SMALL_INTS = (np.array([4, 0, 0, 0, 0], np.int8), np.array([0, 0, 4, 0, 0], np.int8),
              np.array([0, 4, 0, 16, 1], np.int8))  # (sqrt: [2048, 1, -2048, 2, 0.5] in float16, whose w * w overflows)

# w, of another dtype than v's and x's, made from v (float64) inside the function
_NARROW_MAKERS = [
    "w = v.astype(np.float32)",
    "w = v.astype(DT)",
    "w = v.astype(dt)",
    "w = np.asarray(v, 'f4')",
    "w = np.array(v, dtype=F32)",
    "w = np.asarray(v, dt)",
    "w = np.zeros(5, 'float32')\n    w[:] = v",
    "w = np.empty_like(v, dtype=np.float32)\n    w[...] = v",
    "w = np.ones(5, DT) * v.astype(np.float32)",
    "w = (v * 1.0).astype('float32') + np.zeros(5, np.float32)",
    "w = np.sqrt(v > 1e7) * 2048.0 - np.sqrt(v < -1e7) * 2048.0 + np.sqrt((v > 0) & (v < 1e7))",
    "w = np.sqrt(k) * 1024.0 - np.sqrt(j) * 1024.0 + np.sqrt(m) * 0.5",
    "mask = v > 1e7\n    w = np.exp(mask * 0) * 0 + np.sqrt(mask) * 2048.0 - np.sqrt(v < -1e7) * 2048.0 + np.sqrt(m) * 0.5",
    # (booleans made otherwise: constants, np.full, .all, an outer comparison; review 231)
    "w = np.sqrt(np.where(v > 1e7, True, False)) * 2048.0 - np.sqrt(v < -1e7) * 2048.0 + np.sqrt(m) * 0.5",
    "w = np.sqrt(np.stack([v > 1e7, v > 0], axis=1).all(axis=1)) * 2048.0 - np.sqrt(v < -1e7) * 2048.0"
    " + np.sqrt(m) * 0.5",
    "w = np.sqrt(np.greater.outer(v, np.array([1e7]))[:, 0]) * 2048.0 - np.sqrt(v < -1e7) * 2048.0 + np.sqrt(m) * 0.5",
    "w = np.cos(np.full(5, False)) * 2048.0 * np.sqrt(v > 1e7) - np.sqrt(v < -1e7) * 2048.0 + np.sqrt(m) * 0.5",
]

# a use of w that is linear in x, its result reduced to a number
_USES = [
    "np.sum(x[0] * w)",
    "np.mean(x[0] * w) * 5.0",
    "(w * x[0]).sum()",
    "np.sum(x[0] * w + x[1] * w)",
    "np.sum(x[:, None] * w)",
    "np.sum((x[0] + 0.0 * x[1]) * w)",
    "np.dot(np.ones(5) * x[0], w)",
    "np.sum(w * x[1], axis=0)",
    "np.sum(x[0] * w * w)",
    "np.sum(w * (w * x[1]))",
    "sum(x[0] * w[i] for i in range(5))",  # (x[0] read once before the loop: its adjoint summed in its dtype, adv231)
]


def _bound(r: random.Random, maker: str, k: int) -> tuple[list[str], list[str]]:
    """The maker's statements, bound directly, through a helper, by tuple unpacking or in both branches of an `if`."""
    form = r.choice(["direct", "direct", "helper", "tuple", "branch"])
    if form == "helper" and "\n" not in maker:
        return [f"w = narrow{k}(v, dt, k, j, m)"], [maker.replace("w = ", "return ", 1)]
    if form == "tuple" and "\n" not in maker:
        return [maker.replace("w = ", "w, c = ", 1) + ", 1.0"], []
    if form == "branch" and "\n" not in maker:
        return ["if v[1] > 0:", f"    {maker}", "else:", f"    {maker}"], []
    return maker.split("\n    "), []


def _program(r: random.Random, k: int) -> str:
    maker = r.choice(_NARROW_MAKERS)
    body, helper = _bound(r, maker, k)
    use = r.choice(_USES)
    if r.random() < 0.3:
        body += ["s = 0.0", "for i in range(2):", f"    s = s + {use}", "return s"]
    else:
        body += [f"return {use}"]
    lines = []
    if helper:
        lines += [f"def narrow{k}(v, dt, k, j, m):", f"    {helper[0]}", "", ""]
    lines += [f"def p{k}(x, v, dt, k, j, m):"] + ["    " + line for line in body]
    return "\n".join(lines)


# w, float64, made inside a function whose arguments are float32
_WIDE_MAKERS = ["t = x[0] + np.zeros(5)", "t = x[0] * np.ones(5)", "t = np.asarray(x[0], 'float64') * np.ones(5, np.float32)",
                "t = x[0] * np.exp(0.0) * np.ones(5, np.float32)", "t = x[0] + np.linspace(0.0, 0.0, 5)",
                "t = np.full(5, 1.0) * x[0]"]
# t, float32 like the arguments: a number stands for the broadcast (the sums' order may differ from NumPy's: a dot
# product for a sum of products, so these programs read data that do not cancel)
_SAME_MAKERS = ["t = x[0] * np.ones(5, np.float32)", "t = np.zeros_like(v) + x[0]",
                "t = x[0] + np.zeros(5, dtype=x.dtype)", "t = x[0] + v * np.float32(0.0)",
                "h = np.zeros(5, np.float32)\n    for i in range(2):\n        h = np.tanh(h * 0.0) + x[0]\n    t = h",
                "t, u = x[0] * np.ones(5, np.float32), v\n    t = t * 1.0"]


def _wide_program(r: random.Random, k: int, makers=tuple(_WIDE_MAKERS)) -> str:
    maker = r.choice(makers)
    use = r.choice(["np.sum(t * v)", "np.mean(t * v) * 5.0", "(v * t).sum()", "np.sum(t * v + x[1] * v)"])
    return f"def q{k}(x, v):\n    {maker}\n    return {use}"


@pytest.fixture(scope="module")
def same_module(tmp_path_factory):
    r = random.Random(70)
    return _load(tmp_path_factory, "same_dtype_inside", "import numpy as np\n\n\n" + "\n\n\n".join(
        _wide_program(r, k, tuple(_SAME_MAKERS)) for k in range(COUNT // 2)))


# a float64 number linear in x from float64 x and float32 w (arguments), and what the function returns of it
_REDUCTIONS = [
    "s = 0.0\n    for i in range(5):\n        s = s + x[i] * w[i]",
    "s = 0.0\n    for i in range(5):\n        s += float(x[i] * w[i])",
    "s = 0.0\n    for a, b in zip(x, w):\n        s = s + a * b",
    "s = np.dot(x, w)", "s = x @ w", "s = np.vdot(w, x)", "s = np.inner(x, w)", "s = (x @ w).item()",
    "s = sum(x[i] * w[i] for i in range(5))", "terms = [x[i] * w[i] for i in range(5)]\n    s = sum(terms)",
    "s, t = x @ w, 1.0", "s = x @ w if x.shape[0] > 1 else 0.0", "s = inner{k}(x, w)", "s = np.sum(x * w)",
]
_RETURNS = ["return {c} * s", "return s * {c}", "return float({c} * s)", "return np.float64(s) * {c}",
            "v = {c} * s\n    return v", "return s / {c}"]


def _seeded_program(r: random.Random, k: int) -> str:
    reduction = r.choice(_REDUCTIONS).replace("{k}", str(k))
    result = r.choice(_RETURNS).replace("{c}", repr(r.choice([3.3, 0.1, 7.7, -2.9])))
    helper = f"def inner{k}(a, b):\n    return a @ b\n\n\n" if f"inner{k}" in reduction else ""
    return f"{helper}def r{k}(x, w):\n    {reduction}\n    {result}"


@pytest.fixture(scope="module")
def seeded_module(tmp_path_factory):
    r = random.Random(71)
    return _load(tmp_path_factory, "float32_weights_given",
                 "import numpy as np\n\n\n" + "\n\n\n".join(_seeded_program(r, k) for k in range(COUNT // 2)))


# where the fifth generator's float32 weights come from: places whose dtype the code does not show (stop 70: an
# object's attribute, a module's dict item or attribute were taken for float64, and the seed stayed weak)
_HOLDERS = ["m.w", "HOLDER.w", "WEIGHTS['w']", "LIST[0]", "Holder.w", "np.asarray(m.w)"]
_HELD_HEADER = """import numpy as np

W32 = np.random.default_rng(71).normal(size=(2, 5))[1].astype(np.float32)


class Held:
    def __init__(self, w):
        self.w = w


class Holder:
    w = W32


HOLDER = Held(W32)
WEIGHTS = {"w": W32}
LIST = [W32]


"""


def _held_program(r: random.Random, k: int) -> str:
    holder = r.choice(_HOLDERS)
    program = _seeded_program(r, k).replace(f"def r{k}(x, w):", f"def h{k}(x, m):")
    body = program[program.index(f"def h{k}"):]
    return program[:program.index(f"def h{k}")] + re.sub(r"\bw\b", holder, body)


@pytest.fixture(scope="module")
def held_module(tmp_path_factory):
    r = random.Random(70)
    return _load(tmp_path_factory, "float32_weights_held",
                 _HELD_HEADER + "\n\n\n".join(_held_program(r, k) for k in range(COUNT // 2)))


def _load(tmp_path_factory, name, text):
    return module_from_text(tmp_path_factory.mktemp("precision"), name, text + "\n")


@pytest.fixture(scope="module")
def narrow_module(tmp_path_factory):
    r = random.Random(68)
    header = "import numpy as np\nfrom numpy import float32 as F32\n\nDT = np.float32\n\n\n"
    return _load(tmp_path_factory, "narrow_made_inside", header + "\n\n\n".join(_program(r, k) for k in range(COUNT)))


@pytest.fixture(scope="module")
def wide_module(tmp_path_factory):
    r = random.Random(69)
    return _load(tmp_path_factory, "wide_made_inside",
                 "import numpy as np\n\n\n" + "\n\n\n".join(_wide_program(r, k) for k in range(COUNT // 2)))


def _exact_gradient(f, x, *rest):
    """f is linear in x: its gradient is f(e_k) - f(0), as NumPy computes f."""
    zero = f(np.zeros_like(x), *rest)
    return np.array([f(np.eye(len(x), dtype=x.dtype)[i], *rest) - zero for i in range(len(x))])


def _check(f, x, rest, compiled, tolerance=1e-6):
    want = _exact_gradient(f, x, *rest)
    for options in ({"optimize": False}, {}, *([{"compile": True}] if compiled else [])):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CompiledFallbackWarning)
            got = s2s.grad(f, **options)(x, *rest)
        assert got.dtype == x.dtype and np.allclose(got, want, rtol=tolerance, atol=tolerance), \
            (f.__name__, options, got, want)


def test_narrower_arrays_made_inside_are_reduced_as_numpy_does(narrow_module):
    x = np.array([0.7, 1.3])
    for n in range(COUNT):
        f = getattr(narrow_module, f"p{n}")
        dt = np.float32 if n % 2 else "float32"
        _check(f, x, (CANCELLING, dt, *SMALL_INTS), compiled=n % 9 == 0)


def test_wider_arrays_made_inside_float32_code_are_reduced_as_numpy_does(wide_module):
    x, v = np.array([0.7, 1.3], np.float32), CANCELLING.astype(np.float32)
    for n in range(COUNT // 2):
        _check(getattr(wide_module, f"q{n}"), x, (v,), compiled=n % 6 == 0)


def test_float32_code_throughout_keeps_its_numbers_and_is_right(same_module):
    x, v = np.array([0.7, 1.3], np.float32), np.array([0.5, -1.25, 2.0, 0.75, 1.5], np.float32)
    for n in range(COUNT // 2):
        f = getattr(same_module, f"q{n}")
        _check(f, x, (v,), compiled=n % 6 == 0, tolerance=1e-5)
    # (the specialised code of the plainest of them puts the seed itself in place of its broadcast)
    assert "expand_reduced" not in s2s.source(s2s.grad(same_module.q0), x, v)


def test_float64_values_beside_float32_weights_have_float64_adjoints(seeded_module):
    rng = np.random.default_rng(71)
    x, w = rng.normal(size=5), rng.normal(size=5).astype(np.float32)
    for n in range(COUNT // 2):
        _check(getattr(seeded_module, f"r{n}"), x, (w,), compiled=n % 6 == 0, tolerance=1e-13)


def test_the_data_tell_a_narrower_sum_from_a_float64_one():
    # (the oracle's premise: a sum in float32 or float16 of these data is off by a whole unit)
    assert np.sum(CANCELLING) == 3.5 and np.sum(CANCELLING.astype(np.float32)) == 2.5
    w16 = np.sqrt(SMALL_INTS[0]) * 1024.0 - np.sqrt(SMALL_INTS[1]) * 1024.0 + np.sqrt(SMALL_INTS[2]) * 0.5
    # (NumPy sums float16 in float32, but its products are float16: 2048 * 2048 overflows)
    assert w16.dtype == np.float16 and np.isinf(np.sum(w16 * w16)) and np.sum(w16.astype(np.float64) ** 2) == 8388613.25


def test_float32_weights_the_code_does_not_show_give_float64_adjoints(held_module):
    x = np.random.default_rng(71).normal(size=5)
    for n in range(COUNT // 2):
        _check(getattr(held_module, f"h{n}"), x, (held_module.HOLDER,), compiled=n % 6 == 0, tolerance=1e-13)
