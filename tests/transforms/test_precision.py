"""transforms/precision.py: which code is float64 only (no other floating dtype named or made), and the dtype each
name of a function's code certainly has (NumPy 2's promotion, run on samples). Each case against what NumPy itself
gives when the code runs."""

import ast
import textwrap

import numpy as np
import pytest
from s2s.transforms import context
from s2s.transforms.precision import Dtypes, names_only_float64, other_dtype_site

from s2s import pipeline


@pytest.fixture(autouse=True)
def _context():
    with context.using(pipeline.CONTEXT):  # (the runtime the passes know: `s2s.astype`)
        yield

DT = np.float32
FLOAT64_NAME = np.float64
F32_TEXT = "float32"


def _tree(source: str) -> ast.FunctionDef:
    return ast.parse(textwrap.dedent(source)).body[0]


def prepared(v):
    return v.astype(np.float32)  # (a function of the module's, not read: its value may be of any dtype)


def _resolve(name):
    return {"np": np, "DT": DT, "FLOAT64_NAME": FLOAT64_NAME, "F32_TEXT": F32_TEXT, "float32": np.float32,
            "prepared": prepared}[name]


@pytest.mark.parametrize("line", [
    "w = v.astype(np.float32)", "w = v.astype(DT)", "w = v.astype(dt)", "w = np.asarray(v, 'f4')",
    "w = np.asarray(v, F32_TEXT)", "w = float32(v)", "w = np.ones(5, DT)", "w = np.zeros(5, dtype='e')",
    "w = np.sqrt(v > 0)", "w = np.exp(mask)", "m = mask[1:]\n    w = np.exp(m)", "w = np.sqrt(k8 * 2)",
    "w = v.view(np.float32)", "w = np.zeros(5, dtype=np.dtype('f'))", "w = v * 1j",
    "w = np.sqrt(np.where(v > 0, True, False))", "w = np.exp(np.full(5, True))", "w = np.sqrt(np.ones(5, bool))",
    "w = np.sqrt(np.greater.outer(v, v))", "w = np.cos((v > 0).all(axis=0))", "w = np.sqrt(v.astype(np.int8))",
    "w = np.exp(np.int8(3)) * v", "w = prepared(v)", "w = dt(v)",
])
def test_code_that_may_make_another_dtype_is_not_float64_only(line):
    tree = _tree(f"def f(x, v, dt, mask, k8):\n    {line}\n    return np.sum(x[0] * w)")
    assert not names_only_float64(tree, "np", _resolve, narrow={"mask", "k8"})
    assert other_dtype_site(tree, "np", _resolve, {"mask", "k8"}) is not None


@pytest.mark.parametrize("line", [
    "w = v.astype(np.float64)", "w = v.astype(float)", "w = np.zeros(5) + v", "w = v.astype(x.dtype)",
    "w = np.asarray(v, FLOAT64_NAME)", "w = params['b1'] * v", "w = np.where(mask, v, 0.0)",
    "w = v * np.sum(mask)", "w = np.einsum('i,i->i', v, v)", "w = np.pad(v, 1, mode='edge')[1:-1]",
    "w = v * np.ones(5, bool)", "w = v[np.arange(5, dtype=np.int8)]", "w = v * (params.get('a') is None)",
    "w = v.astype('U8').astype(float)", "w = np.zeros(5, 'f8') + v",
])
def test_float64_code_is_float64_only(line):
    tree = _tree(f"def f(x, v, params, mask):\n    {line}\n    return np.sum(x[0] * w)")
    assert names_only_float64(tree, "np", _resolve, narrow={"mask"})


def test_float32_may_be_named_where_float32_is_the_narrowest():
    tree = _tree("def f(x):\n    eps = np.float32(1e-6)\n    return np.sum(np.log(x + eps))")
    assert other_dtype_site(tree, "np", _resolve) is not None
    assert other_dtype_site(tree, "np", _resolve, narrowest=np.dtype(np.float32)) is None
    half = _tree("def f(x):\n    return np.sum(x * np.ones(3, np.float16))")
    assert other_dtype_site(half, "np", _resolve, narrowest=np.dtype(np.float32)) is not None


def _dtype(source, name, kinds, weak=(), tapes=frozenset()):
    return Dtypes(_tree(source), kinds, set(weak), _resolve, tapes).of(ast.Name(name, ast.Load()))


@pytest.mark.parametrize("expression, want", [
    ("np.sin(x) * 2.0", np.float32), ("x + np.zeros(3)", np.float64), ("x * a", np.float32),
    ("x * np.float64(2.0)", np.float64), ("x * np.sqrt(2.0)", np.float64), ("x[0] + np.zeros(3, np.float32)", np.float32),
    ("np.zeros_like(x) + 1", np.float32), ("x @ y", np.float64), ("np.sum(x) * x", np.float32),
    ("x.T.sum() + x", np.float32), ("np.mean(k) * x", np.float64), ("x * k", np.float64),
    ("x / 3", np.float32), ("-x ** 2", np.float32), ("np.maximum(x, 0.0)", np.float32),
])
def test_a_names_dtype_is_numpys(expression, want):
    kinds = {"x": "f", "y": "d", "k": "l", "a": "d"}
    source = f"def f(x, y, k, a):\n    t = {expression}\n    return t"
    assert _dtype(source, "t", kinds, weak={"a"}) == np.dtype(want)
    samples = {"x": np.ones(3, np.float32), "y": np.ones((3, 3)), "k": np.arange(3), "a": 2.0}
    assert np.asarray(eval(expression, {"np": np}, samples)).dtype == np.dtype(want)  # (NumPy agrees)


@pytest.mark.parametrize("source", [
    "def f(x):\n    t = x\n    t = t + np.zeros(3)\n    return t",  # (two bindings of two dtypes)
    "def f(x, g):\n    t = g(x)\n    return t",  # (a function's result)
    "def f(x):\n    for i, t in enumerate(x):\n        pass\n    return t",  # (a loop's target from enumerate)
    "def f(x):\n    t = np.full(3, x[0])\n    return t",  # (np.full's dtype is its value's)
])
def test_a_dtype_the_code_does_not_say_is_unknown(source):
    assert _dtype(source, "t", {"x": "f"}) is None


@pytest.mark.parametrize("expression, want", [
    ("np.where(x > 0, x, 0.0)", np.float32), ("np.clip(x, 0.0, 1.0) * np.pi", np.float32), ("(x > 0) * x", np.float32),
    ("np.concatenate([x, x[:1]])", np.float32), ("np.array([x[0], 1.0])", np.float64), ("np.dot(x, W)", np.float32),
    ("np.roll(x, 1) - np.diff(x)[0]", np.float32), ("ps['W'] @ x", np.float32), ("ps['b'] + x", np.float64),
    ("np.linalg.norm(x) * x", np.float32), ("np.einsum('i,ij->j', x, W)", np.float32), ("ws[1] * 2", np.float32),
])
def test_numpy_calls_displays_and_containers_keep_numpys_dtypes(expression, want):
    from s2s.transforms.shapes import Keyed, Seq
    kinds = {"x": "f", "W": "f", "ps": Keyed([("W", "f"), ("b", "d")]), "ws": Seq(["d", "f"])}
    source = f"def f(x, W, ps, ws):\n    t = {expression}\n    return t"
    assert _dtype(source, "t", kinds) == np.dtype(want)
    samples = {"x": np.ones(3, np.float32), "W": np.ones((3, 3), np.float32),
               "ps": {"W": np.ones((3, 3), np.float32), "b": np.ones(3)}, "ws": [np.ones(3), np.ones(3, np.float32)]}
    assert np.asarray(eval(expression, {"np": np}, samples)).dtype == np.dtype(want)  # (NumPy agrees)


def test_a_loops_target_takes_its_iterables_items():
    source = "def f(x, ws):\n    s = 0.0\n    for w in ws:\n        t = w * x\n    return t"
    from s2s.transforms.shapes import Seq
    assert _dtype(source, "t", {"x": "f", "ws": Seq(["f", "f"])}) == np.float32
    assert _dtype(source, "t", {"x": "f", "ws": Seq(["f", "d"])}) is None
    rows = "def f(X):\n    for row in reversed(X):\n        t = row * 2.0\n    return t"
    assert _dtype(rows, "t", {"X": "f"}) == np.float32


def test_a_loops_state_keeps_its_dtype_and_a_tape_restores_it():
    loop = """
    def f(x, U):
        h = np.zeros(3, np.float32)
        t = None
        for i in range(4):
            saved.append((h, t))
            step = (np.tanh(U @ h + x), 0.0)
            h = step[0]
            t = h * 2.0
        for h_saved, t_saved in reversed(saved):
            t = t_saved
        return t
    """
    assert _dtype(loop, "t", {"x": "f", "U": "f"}, tapes={"saved"}) == np.float32
    assert _dtype(loop, "t", {"x": "f", "U": "d"}, tapes={"saved"}) is None  # (h: float32, then float64)
    assert _dtype(loop, "t", {"x": "f", "U": "f"}) is None  # (a restore from a list not known as a tape: unknown)


@pytest.mark.parametrize("source, kinds, want", [
    # (a number before a loop, a NumPy number after it: where it is NumPy's, its dtype)
    ("def f(x, w):\n    s = 0.0\n    for i in range(3):\n        s = s + x[i] * w[i]\n    t = 3.3 * s\n    return t",
     {"x": "d", "w": "f"}, np.float64),
    ("def f(x):\n    s = 0.0\n    for i in range(3):\n        s = s + np.linalg.norm(x[i])\n    t = s\n    return t",
     {"x": "f"}, np.float32),
    ("def f(x):\n    t = 0.0 if x.shape[0] > 3 else x[0]\n    return t", {"x": "f"}, np.float32),
    ("def f(x):\n    t = 2.0 * 3\n    return t", {"x": "f"}, float),  # (a Python number always)
    # (a NumPy function of a number is float64: both alternatives run)
    ("def f(x):\n    s = 0.0\n    for i in range(3):\n        s = s + x[i]\n    t = np.sin(s)\n    return t",
     {"x": "f"}, None),
])
def test_a_number_or_a_numpy_value_has_the_numpy_values_dtype_with_either(source, kinds, want):
    dtypes = Dtypes(_tree(source), kinds, set(), _resolve, either=True)
    got = dtypes.numpy_or_number(ast.Name("t", ast.Load()))
    assert got is want if want in (float, None) else got == np.dtype(want)
    assert Dtypes(_tree(source), kinds, set(), _resolve).of(ast.Name("t", ast.Load())) is None  # (not certain)


@pytest.mark.parametrize("line, want", [
    ("t = W.astype(x.dtype)", np.float32), ("d = x.dtype\n    t = s2s.astype(W, d)", np.float32),
    ("t = x.astype(np.float64)", np.float64), ("t = W.astype(np.float32) * x", np.float32),
])
def test_a_conversion_to_a_known_dtype_has_it(line, want):
    import s2s.runtime
    source = f"def f(x, W):\n    {line}\n    return t"
    dtypes = Dtypes(_tree(source), {"x": "f", "W": "d"}, set(), lambda n: {"s2s": s2s.runtime}.get(n) or _resolve(n))
    assert dtypes.of(ast.Name("t", ast.Load())) == np.dtype(want)


@pytest.mark.parametrize("line", ["n = x.shape[0]", "n, m = W.shape", "n = len(x)", "n = x.size", "n = W.shape[1:][0]"])
def test_shapes_and_lengths_are_ints(line):
    source = f"def f(x, W):\n    {line}\n    t = np.sum(x) / n\n    u = abs(t) + max(t, t)\n    return t"
    import builtins

    def resolve(name):  # (the builtins too, as the pipeline's resolve gives them)
        return getattr(builtins, name) if hasattr(builtins, name) else _resolve(name)

    for name in ("t", "u"):
        got = Dtypes(_tree(source), {"x": "f", "W": "f"}, set(), resolve).of(ast.Name(name, ast.Load()))
        assert got == np.float32


@pytest.mark.parametrize("expression", ["(x * y).sum(0, np.float64)", "np.sum(x, None, np.float64)",
                                        "np.cumsum(x, 0, np.float64)", "x.mean(0, np.float64)"])
def test_a_reductions_positional_dtype_is_not_its_arguments(expression):
    # (NumPy's positional dtype: float64 here, where the argument is float32; the analysis claims no dtype)
    source = f"def f(x, y):\n    t = {expression}\n    return t"
    assert _dtype(source, "t", {"x": "f", "y": "f"}) is None
    samples = {"x": np.ones(3, np.float32), "y": np.ones(3, np.float32)}
    assert np.asarray(eval(expression, {"np": np}, samples)).dtype == np.float64


def test_a_records_field_named_like_an_array_attribute_is_the_field():
    # (`p.size` of a namedtuple argument is its field, a float64 array here: not an int)
    from s2s.transforms.shapes import Keyed
    source = "def f(x, p):\n    t = x * p.size\n    return t"
    assert _dtype(source, "t", {"x": "f", "p": Keyed([("size", "d")])}) == np.float64


# ---- values whose dtype the code does not show (`hidden_read_site`) ------------------------------------------

class _Holder:
    w = np.ones(2, np.float32)


HELD = {"np": np, "G": {"w": np.ones(2, np.float32)}, "T": (1, 2.5, "a", None), "R": range(3), "H": _Holder,
        "S": np.float32(2.0), "N": np.float64(2.0), "L": [1.0], "NAME": "mean", "F": prepared}


@pytest.mark.parametrize("body, site", [
    ("return np.dot(x, m.w)", "m.w"), ("return np.dot(x, G['w'])", "G['w']"), ("return np.dot(x, H.w)", "H.w"),
    ("return x * S", "S"), ("return x * L[0]", "L[0]"), ("return np.dot(x, k)", "k"),
    ("return x * T[1] + R[1]", None), ("return x * N + np.pi", None), ("return x if NAME == 'mean' else x", None),
    ("return F(x)", None), ("return x.shape[0] * x", None)])
def test_the_first_read_of_a_value_whose_dtype_is_not_known(body, site):
    from s2s.transforms.precision import hidden_read_site
    tree = _tree(f"def f(x, m, *, k):\n    {body}")
    found = hidden_read_site(tree, HELD.__getitem__, {"x"})
    assert (None if found is None else ast.unparse(found)) == site
