"""More of benchmarks/ordinary_more.py's programs under compile="strict" (tests/test_compiled_ordinary_more.py has the
others: numba takes seconds a program), and the programs that still fall back: each warning names the user's line
and the construct (or numba's reason)."""

from __future__ import annotations

import warnings

import pytest

import s2s

numba = pytest.importorskip("numba")

from s2s import compiled  # noqa: E402
from tests.test_compiled_ordinary_more import PROGRAMS, compiles_as_numpy  # noqa: E402


# (the matrix Kalman filter fell back, its covariance's adjoint 0.0 or an array in the backward loop, until its
# last trip was written out: transforms/unroll.py peel_last_trips)
@pytest.mark.parametrize("name", ["HMM forward algorithm", "polynomial fit", "logistic regression in float32",
                                  "matrix Kalman filter"])
def test_compiles_and_gives_the_numpy_code_s_gradient(name):
    compiles_as_numpy(name)


@pytest.mark.parametrize("name, line, construct", [
    ("2-layer softplus net", "params", "dict argument read as a whole"),  # (its keys, for the loop over items)
    # (the comprehension's list stacked along axis 1 compiles since stop 47: numba's missing einsum is next)
    ("small CNN via einsum over patches", "conv = np.einsum(", "numpy.einsum"),
])
def test_what_still_falls_back_names_the_line(name, line, construct):
    f, args, wrt = PROGRAMS[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = s2s.grad(f, wrt=wrt, compile=True)(*args)
    text = "\n".join(str(w.message) for w in caught if isinstance(w.message, compiled.CompiledFallbackWarning))
    assert "ordinary_more.py" in text and line in text and construct in text
    assert type(got) is type(s2s.grad(f, wrt=wrt)(*args))
