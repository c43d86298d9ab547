"""Golden tests: the printed derivative of small functions, so readability regressions show.

The printed text starts with the import lines it needs to run (s2s.source); the function after them
is what is pinned."""

import numpy as np

import s2s


def seed(x):
    y = 2 * np.dot(x, x)
    return y


def scalar(x):
    y = x * x
    return y + 3.0


GOLDEN_SEED = '''\
import numpy as np
import s2s.runtime as s2s

def dseed_dx(x, *, y_bar=1.0):
    s2s.numbers_or_arrays(x, 'x')
    dot = np.dot(x, x)
    y = 2 * dot
    y_bar = s2s.seed_of(y_bar, y)
    # y = 2 * np.dot(x, x)
    dot_bar = y_bar * 2
    x_bar = s2s.grad_dot_a(dot_bar, x, x)
    x_bar = x_bar + s2s.grad_dot_b(dot_bar, x, x)
    return s2s.finish(x_bar, x)
'''

GOLDEN_SCALAR = '''\
import s2s.runtime as s2s

def dscalar_dx(x, *, out_bar=1.0):
    s2s.numbers_or_arrays(x, 'x')
    y = x * x
    out = y + 3.0
    out_bar = s2s.seed_of(out_bar, out)
    # return y + 3.0
    y_bar = out_bar
    # y = x * x
    x_bar = y_bar * x
    x_bar = x_bar + y_bar * x
    return s2s.finish(x_bar, x)
'''


def test_seed_example_source():
    assert s2s.source(s2s.derivative(seed)) == GOLDEN_SEED


def test_scalar_source():
    assert s2s.source(s2s.derivative(scalar)) == GOLDEN_SCALAR


def loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + x * i
    return s


def test_fixed_range_loop_is_replayed_by_range_not_tape():
    text = s2s.source(s2s.derivative(loop))
    assert "reversed(range(n))" in text
    assert "stack.append(i)" not in text and "i = stack.pop()" not in text
    assert "trips" not in text  # no trip count recorded for a fixed range


def test_fixed_range_loop_on_python_numbers_has_no_tape():
    from s2s import pipeline
    text = pipeline.derivative_code(loop, ("x",), "flat", True, ("x", "n")).source
    assert "stack" not in text
    # the trips are independent in the backward sweep (it reads no value a trip binds): each trip's adjoint
    # follows its forward code in one loop (transforms/fusion.py), adding x_bar first trip first
    assert text.count("for i in") == 1 and "x_bar = x_bar + s_bar * i" in text, text
