"""Random loops of scaled recurrences, `s = s * 2.0 + x ** 2`, `m = 0.5 * m + 0.5 * x`: a running value scaled by a
power of two that the adjoint of the other term also carries. The optimizer's scaling of a binding (simplify's
`_scale_into_bindings`) once read such an adjoint before the loop's update of it, doubling or halving the gradient
(adv225, an exponential moving average 2x too large). s2s's gradient must be central differences'.
`S2S_FUZZ=long` runs more programs."""

from __future__ import annotations

import importlib.util
import os
import random

import numpy as np
import pytest

import s2s

COUNT = 200 if os.environ.get("S2S_FUZZ", "").lower() == "long" else 30
_SCALES = ["2.0", "0.5", "4.0", "0.25", "3.0"]
_TERMS = ["x ** 2", "np.sin(x)", "x * y", "x", "y ** 2 * x", "np.cos(y) * x", "x * x"]


def _update(r: random.Random, v: str) -> str:
    c, term = r.choice(_SCALES), r.choice(_TERMS)
    d = c if r.random() < 0.6 else r.choice(_SCALES)  # (the same scale on both terms: the case that was wrong)
    return r.choice([f"{v} = {v} * {c} + {term}", f"{v} = {c} * {v} + {d} * {term}", f"{v} = {v} * {c} + {term} * {d}",
                     f"{v} = {c} * ({v} + {term})", f"{v} = {v} * {c} - {d} * {term}"])


def _program(r: random.Random, k: int) -> str:
    names = ["s", "m"][:1 if r.random() < 0.7 else 2]  # (returning the running value itself: its adjoint is the seed)
    lines = [f"def p{k}(x, y):"] + [f"    {v} = {r.choice(['0.0', 'x', '1.0'])}" for v in names]
    loop = r.choice([f"for _ in range({r.randint(1, 4)}):", f"for w in [{r.uniform(0.5, 1.5):.2f}, 0.7]:",
                     "while m_count < 3:"])
    if loop.startswith("while"):
        lines.append("    m_count = 0")
    lines.append(f"    {loop}")
    lines += [f"        {_update(r, v)}" for v in names]
    if loop.startswith("while"):
        lines.append("        m_count += 1")
    lines.append(f"    return {' + '.join(names)}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def module(tmp_path_factory):
    r = random.Random(225)
    path = tmp_path_factory.mktemp("recurrences") / "scaled_recurrences.py"
    path.write_text("import numpy as np\n\n\n" + "\n\n\n".join(_program(r, k) for k in range(COUNT)) + "\n")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def test_scaled_recurrences_have_their_gradient(module):
    x, y, eps = 0.7, -0.4, 1e-6
    for k in range(COUNT):
        f = getattr(module, f"p{k}")
        got = s2s.grad(f, wrt=(0, 1))(x, y)
        want = ((f(x + eps, y) - f(x - eps, y)) / (2 * eps), (f(x, y + eps) - f(x, y - eps)) / (2 * eps))
        assert got == pytest.approx(want, rel=1e-6, abs=1e-7), (k, got, want)
        value, single = s2s.value_and_grad(f)(np.float64(x), y)
        assert value == pytest.approx(f(x, y), rel=1e-12) and single == pytest.approx(want[0], rel=1e-6, abs=1e-7), k


def doubling(x):  # (adv225: 4.9 for 9.8 at x = 0.7)
    s = 0.0
    for _ in range(3):
        s = s * 2.0 + x ** 2
    return s


def moving_average(xs):  # (adv225: every entry 2x too large)
    m = 0.0
    for v in xs:
        m = 0.5 * m + 0.5 * v
    return m


def test_the_reported_recurrences():
    assert s2s.grad(doubling)(0.7) == pytest.approx(14 * 0.7, rel=1e-12)
    assert s2s.grad(doubling, compile=True)(0.7) == pytest.approx(14 * 0.7, rel=1e-12)
    xs = np.array([1.0, 2.0, 0.5, -1.0])
    np.testing.assert_allclose(s2s.grad(moving_average)(xs), [0.0625, 0.125, 0.25, 0.5], rtol=1e-12)
