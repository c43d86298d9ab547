"""transforms/adjoint_dtypes.py: the seed's and conversions' dtype lines go where the code's dtypes make them idle,
stay where they do not, and the seed of s2s.grad's code becomes a number of the output's dtype where that is known."""

import ast
import builtins
import textwrap

import numpy as np
import pytest
from s2s.transforms import context
from s2s.transforms.adjoint_dtypes import settle_adjoint_dtypes
from s2s.transforms.specialize import Context

import s2s.runtime
from s2s import pipeline


@pytest.fixture(autouse=True)
def _context():
    with context.using(pipeline.CONTEXT):
        yield


def _settled(source, kinds, seed_one=True):
    fdef = ast.parse(textwrap.dedent(source)).body[0]
    params = {a.arg: (3,) for a in fdef.args.args}
    resolve = {"np": np, "s2s": s2s.runtime}.get
    ctx = Context(params, lambda n: resolve(n) or getattr(builtins, n, None), "np", kinds, code=fdef,
                  seed="out_bar" if "out_bar" in source else None)
    settle_adjoint_dtypes(fdef, ctx, seed_one)
    notes = [f"# {s.text}" for s in fdef.body if type(s).__name__ == "Comment"]
    fdef.body = [s for s in fdef.body if type(s).__name__ != "Comment"]
    return "\n".join(notes + [ast.unparse(fdef)])


LOOP = """
def d(x, w, *, out_bar=1.0):
    s = 0.0
    for i in range(3):
        s = s + x[i] * w[i]
    out = 3.3 * s
    out_bar = s2s.seed_of(out_bar, out)
    s_bar = out_bar * 3.3
    x_bar = s_bar * w
    return x_bar
"""


def test_float64_code_and_float32_code_keep_the_number_seed():
    for kinds in ({"x": "d", "w": "d"}, {"x": "f", "w": "f"}):
        code = _settled(LOOP, kinds)
        assert "seed_of" not in code and "np.float" not in code, code


def test_mixed_code_gives_s2s_grads_seed_the_output_dtype_without_its_value():
    code = _settled(LOOP, {"x": "d", "w": "f"})
    assert "out_bar = np.float64(out_bar)" in code and "seed_of" not in code, code
    assert "# s2s: the seed in float64, the output's dtype" in code, code


def test_a_cotangent_that_may_be_given_keeps_the_runtime_line():
    code = _settled(LOOP, {"x": "d", "w": "f"}, seed_one=False)
    assert "out_bar = s2s.seed_of(out_bar, out)" in code, code
    assert "its cotangent may be given" in code, code


def test_an_output_of_unknown_dtype_keeps_the_runtime_line():
    source = LOOP.replace("out = 3.3 * s", "out = 3.3 * s if x[0] > 0 else np.float32(s)")
    code = _settled(source, {"x": "d", "w": "f"})
    assert "out_bar = s2s.seed_of(out_bar, out)" in code and "output's dtype is not known here" in code, code


CAST = """
def d(x, w, *, out_bar=1.0):
    v = x * w
    t = v.astype(np.float32)
    out = np.sum(t)
    t_bar = np.ones(3, np.float32)
    v_bar = s2s.cast_back(t_bar, v)
    x_bar = v_bar * w
    return x_bar
"""


def test_a_conversions_adjoint_takes_its_operands_dtype_only_where_that_is_wider():
    assert "s2s.cast_back(t_bar, v)" in _settled(CAST, {"x": "d", "w": "f"})  # (v is float64, t float32)
    assert "v_bar = t_bar" in _settled(CAST, {"x": "f", "w": "f"})  # (v is float32: the narrowest)
    # (float64 arguments, float32 made by the code: v is float64 and t's adjoint float32, so the line stays)
    assert "s2s.cast_back(t_bar, v)" in _settled(CAST, {"x": "d", "w": "d"})
    assert "v_bar = t_bar" in _settled(CAST.replace("np.float32", "np.float64"), {"x": "d", "w": "d"})


def test_runtime_cast_back_and_seed_of():
    from s2s import runtime
    assert runtime.cast_back(np.float32(0.1), np.ones(2)).dtype == np.float64
    assert runtime.cast_back(0.5, np.float64(2.0)).dtype == np.float64
    assert runtime.cast_back(np.ones(2), np.ones(2, np.float32)).dtype == np.float64  # (widened only: no overflow)
    assert runtime.cast_back(np.float32(1e6), np.float16(1.0)).dtype == np.float32
    assert type(runtime.cast_back(1e6, np.float16(1.0))) is float  # (a number stays weak beside a narrow value)
    assert runtime.cast_back(0.5, 2.0) == 0.5 and type(runtime.cast_back(0.5, 2.0)) is float
    assert runtime.cast_back(np.ones(2, np.float32), np.arange(2)).dtype == np.float32  # (an int value: as given)
