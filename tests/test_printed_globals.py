"""Printed code runs as printed where a helper's module and the caller's module read one global name for two
values (helper 152): the second is imported under a new name, which its block reads (s2s/codegen.py
`_collect`), where both blocks read the first one before."""

import numpy as np
from printed_globals_helper import helper

import s2s

X = np.ones(3) * 100.0
M = 0.5


def caller(v):
    return helper(v) * np.sum(X) * M


def test_the_printed_code_of_a_caller_and_its_helper_runs_as_printed():
    v = np.array([0.3, -0.2, 0.4])
    df = s2s.grad(caller)
    text = s2s.source(df, v)
    assert "import X as X_2" in text and "import M as M_2" in text
    space = {}
    exec(compile(text, "<printed>", "exec"), space)
    name = next(line.split()[1].split("(")[0] for line in text.splitlines() if line.startswith("def dcaller"))
    value, grad = space[name](v)
    np.testing.assert_allclose(grad, df(v), rtol=1e-12)
    np.testing.assert_allclose(value, caller(v), rtol=1e-12)
