"""Long straight-line code, as unrolled or generated code is (helper 154): 400 statements of `y = np.sin(y)` made
the shape inference recurse through the backward sweep's chain of adjoints (`value_of`, RecursionError), and
`y = y * 0.999 + c` took 528 s to transform (`_facts_as_numbers` ran as many rounds as the group had names, at
every step of its growth). Each is differentiated now, against central differences."""

import importlib
import sys

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s

STATEMENTS = {"sin": "    y = np.sin(y)", "affine": "    y = y * 0.999 + 1e-4", "both": "    y = np.sin(y) * 0.999"}


@pytest.mark.parametrize("kind, n", [("sin", 400), ("affine", 250), ("both", 250)])
def test_long_straight_code(tmp_path, monkeypatch, kind, n):
    name = f"long_{kind}_{n}"
    (tmp_path / f"{name}.py").write_text("\n".join(
        ["import numpy as np", "", "", "def f(x):", "    y = x", *[STATEMENTS[kind]] * n, "    return np.sum(y)", ""]))
    monkeypatch.syspath_prepend(str(tmp_path))
    f = importlib.import_module(name).f
    try:
        x = np.array([0.3, -0.4])
        np.testing.assert_allclose(s2s.grad(f)(x), fd_grad(f, (x,)), rtol=1e-6, atol=1e-8)
    finally:
        sys.modules.pop(name, None)
