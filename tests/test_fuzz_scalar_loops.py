"""Random scalar loop programs (tests/fuzz/scalar_loops.py): `s2s.grad`'s code, with the rewrites of the code
it runs (a loop's trips saved as tuples, `while` tests in their headers, `s2s.finish` of a Python float
dropped), gives the gradients of the code made without the optimizer, of the same type, as do
`value_and_grad` and a tuple `wrt`; and the value is the function's. `S2S_FUZZ=long` runs more programs."""

from __future__ import annotations

import importlib.util
import os
import random
import warnings

import numpy as np
import pytest
from fuzz.scalar_loops import scalar_loop_module

import s2s
from tests.conftest import numeric_grad

COUNT = 400 if os.environ.get("S2S_FUZZ", "").lower() == "long" else 25
ARGUMENTS = [(0.3, 0.7, np.array([1, 2, 3]), 2), (np.float64(0.3), 0.7, np.array([1, 2, 3]), 3),
             (-1.1, 0.2, np.array([2, 0, 1]), 0)]


def _module(tmp_path, seed, exits=False):
    path = tmp_path / f"scalar_loops_{seed}{'_exits' if exits else ''}.py"
    path.write_text(scalar_loop_module(random.Random(seed), COUNT, exits))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _same(got, want):
    for g, w in zip(got if isinstance(want, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
        assert type(g) is type(w), (type(g), type(w))
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", [1, 2])
def test_scalar_loops_match_the_code_made_without_the_optimizer(tmp_path, seed):
    module = _module(tmp_path, seed)
    compared = 0
    for k in range(COUNT):
        f = getattr(module, f"p{k}")
        for args in ARGUMENTS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    want = s2s.grad(f, optimize=False)(*args)
                    want_both = s2s.grad(f, wrt=(0, 1), optimize=False)(*args)
                except (s2s.UnsupportedSyntaxError, ZeroDivisionError, OverflowError):
                    continue  # (refused, or the function itself fails at this point: nothing to compare)
                _same(s2s.grad(f)(*args), want)
                _same(s2s.grad(f, wrt=(0, 1))(*args), want_both)
                value, g = s2s.value_and_grad(f)(*args)
            assert value == f(*args)
            _same(g, want)
            compared += 1
    assert compared >= COUNT * len(ARGUMENTS) * 0.8, compared


@pytest.mark.parametrize("seed", [3])
def test_a_loop_variable_read_after_a_break_loop_is_bound_as_in_python(tmp_path, seed):
    """Programs whose loops with a `break` over `range(n)` (n = 0 in the third arguments) are followed by a read of
    their variable: where Python raises UnboundLocalError, so do the gradient and the code made without the
    optimizer (the tape's placeholder `j = None` once made `a[j % 3]` a TypeError and `x[j]` the whole array);
    elsewhere the gradients agree."""
    module = _module(tmp_path, seed, exits=True)
    raised = compared = smooth = 0
    for k in range(COUNT):
        f = getattr(module, f"p{k}")
        for args in ARGUMENTS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    f(*args)
                except UnboundLocalError:
                    for g in (s2s.grad(f), s2s.grad(f, optimize=False), s2s.grad(f, wrt=(0, 1))):
                        with pytest.raises(UnboundLocalError):
                            g(*args)
                    raised += 1
                    continue
                except (ZeroDivisionError, OverflowError):
                    continue
                try:
                    want = s2s.grad(f, optimize=False)(*args)
                except (s2s.UnsupportedSyntaxError, ZeroDivisionError, OverflowError):
                    continue
                _same(s2s.grad(f)(*args), want)
                # (and against differences where the function is smooth there, two steps agreeing: both codes once
                # read a nested loop's variable after it as the value the backward sweep's replay left)
                fine, coarse = numeric_grad(f, args, 0, eps=1e-6), numeric_grad(f, args, 0, eps=1e-5)
                if np.allclose(fine, coarse, rtol=1e-3, atol=1e-4):
                    np.testing.assert_allclose(want, fine, rtol=1e-4, atol=1e-5)
                    smooth += 1
                compared += 1
    assert raised > 0 and compared >= COUNT and smooth >= compared // 2, (raised, compared, smooth)
