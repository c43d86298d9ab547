"""transforms/shapes.py: the shape of an index expression with new axes (`None`, `np.newaxis`) and `...`,
each claim checked against NumPy's; None where it is not certain."""

import ast
import builtins

import numpy as np
import pytest
from s2s.transforms.shapes import Shapes
from s2s.transforms.specialize import runtime_helpers

import s2s.pipeline  # noqa: F401 - installs the context the passes read rules through
import s2s.runtime

P = {"x": (5,), "y": (3, 4), "s": (), "u": None}


def _shape(expr):
    fdef = ast.parse(f"def f({', '.join(P)}):\n    out = {expr}\n").body[0]
    resolve = {"np": np}.get
    shapes = Shapes(fdef, dict(P), lambda n: resolve(n, getattr(builtins, n, None)), runtime_helpers(), {})
    return shapes.env["out"]


CLAIMED = ["x[:, None]", "x[None]", "x[None, :]", "x[..., None]", "x[:, None, None]", "x[...]", "y[0, None]",
           "y[None, ..., 1:]", "y[..., 0]", "y[:, np.newaxis, :]", "y[None, None]", "y[..., None, :]",
           "y[0, ..., None]", "y[-1, None, ::2]", "y[..., -1]", "y[1:, ...]", "y[None, 1, 2]"]


@pytest.mark.parametrize("expr", CLAIMED)
def test_shape_is_numpys(expr):
    values = {"x": np.zeros(5), "y": np.zeros((3, 4)), "np": np}
    assert _shape(expr) == np.shape(eval(expr, values))


@pytest.mark.parametrize("expr", [
    "s[None]",  # a Python number has no items
    "x[..., ...]",  # two ellipses: IndexError
    "y[0, 1, None, 2]",  # more axes taken than y has
    "u[:, None]",  # unknown base
    "y[x, None]",  # an array index is not followed
])
def test_not_claimed(expr):
    assert _shape(expr) is None


# ---- windows x[i:i + k] of a loop counter (`Counted`): claimed only where every trip's window has k items

def _window_shape(body, params=None):
    """The shape the flow facts give `w` where `use(w)` reads it, in `body` (a function of x, of shape (10,))."""
    src = "def f(x):\n" + "\n".join("    " + line for line in body.strip().splitlines()) + "\n"
    fdef = ast.parse(src).body[0]
    resolve = {"np": np, "s2s": s2s.runtime}.get
    shapes = Shapes(fdef, params or {"x": (10,)}, lambda n: resolve(n, getattr(builtins, n, None)),
                    runtime_helpers(), {})
    reads = [n for n in ast.walk(fdef) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "use"]
    return [shapes.of(r.args[0]) for r in reads]


def _run_windows(body):
    """What the windows really are: the body run with `use` recording each window's shape."""
    seen = []
    src = "def f(x):\n" + "\n".join("    " + line for line in body.strip().splitlines()) + "\n"
    scope = {"np": np, "s2s": s2s.runtime, "use": lambda w: seen.append(np.shape(w))}
    exec(src, scope)
    scope["f"](np.zeros(10))
    return set(seen)


WINDOWS = {
    "plain": "k = 3\nfor i in range(10 - k + 1):\n    w = x[i:i + k]\n    use(w)",
    "shifted": "for i in range(1, 8):\n    lo = i - 1\n    hi = lo + 3\n    w = x[lo:hi]\n    use(w)",
    "backwards": "for i in range(7, -1, -1):\n    w = x[i + 1:2 + i]\n    use(w)",
    "reversed": "for i in reversed(range(8)):\n    w = x[i:i + 2]\n    use(w)",
    "stepped": "for i in range(0, 8, 3):\n    w = x[i:i + 2]\n    use(w)",
    "after the loop": "for i in range(8):\n    pass\nw = x[i:i + 2]\nuse(w)",
}


@pytest.mark.parametrize("name", sorted(WINDOWS))
def test_window_of_a_counter_has_its_length(name):
    body = WINDOWS[name]
    real = _run_windows(body)
    assert len(real) == 1
    assert set(_window_shape(body)) == real


NOT_WINDOWS = {
    "clips at the end": "for i in range(10):\n    w = x[i:i + 3]\n    use(w)",
    "wraps at the start": "for i in range(10):\n    w = x[i - 1:i + 1]\n    use(w)",
    "bound from the step before": "hi = 3\nfor i in range(7):\n    w = x[i:hi]\n    use(w)\n    hi = i + 3",
    "counter bound twice": "for i in range(5):\n    i = i + 1\n    w = x[i:i + 2]\n    use(w)",
    "a continue": "for i in range(5):\n    t = i + 2\n    if i == 2:\n        continue\n    w = x[i:t]\n    use(w)",
    "bound kept across trips": "t = 2\nfor i in range(5):\n    w = x[i:t]\n    use(w)\n    t = i + 3",
}


@pytest.mark.parametrize("name", sorted(NOT_WINDOWS))
def test_window_that_may_change_is_not_claimed(name):
    shapes = _window_shape(NOT_WINDOWS[name])
    assert shapes and all(s is None for s in shapes), shapes



# ---- lists appended to once per trip of a loop over a known range (`Shapes.appended`, `ListOf`)

LISTS = {
    "once per trip": ("hs = []\nfor i in range(5):\n    hs.append(x[i:i + 2])\nw = np.stack(hs)\nuse(w)", (5, 2)),
    # (a list started with items has them first: stop 46)
    "after items": ("hs = [x[0:2]]\nfor i in range(4):\n    hs.append(x[i:i + 2])\nw = np.stack(hs)\nuse(w)", (5, 2)),
    "after items of another shape": ("hs = [x[0:3]]\nfor i in range(4):\n    hs.append(x[i:i + 2])\nw = hs[1]\nuse(w)",
                                     None),
    "empty range": ("hs = []\nfor i in range(3, 3):\n    hs.append(x[0:2])\nhs.append(x[1:3])\nw = np.stack(hs)\nuse(w)",
                    (1, 2)),
    "under an if": ("hs = []\nfor i in range(5):\n    if i > 1:\n        hs.append(x[0:2])\nw = np.stack(hs)\nuse(w)",
                    None),
    "twice a trip": ("hs = []\nfor i in range(3):\n    hs.append(x[0:2])\n    hs.append(x[1:3])\nw = np.stack(hs)\n"
                     "use(w)", (6, 2)),
    "in a nested loop": ("hs = []\nfor i in range(3):\n    for j in range(2):\n        hs.append(x[j:j + 2])\n"
                         "w = np.stack(hs)\nuse(w)", (6, 2)),
    "nested, under an if": ("hs = []\nfor i in range(3):\n    for j in range(2):\n        if j > i:\n"
                            "            hs.append(x[j:j + 2])\nw = np.stack(hs)\nuse(w)", None),
    "nested, popped": ("hs = []\nfor i in range(3):\n    for j in range(2):\n        hs.append(x[j:j + 2])\n"
                       "    hs.pop()\nw = np.stack(hs)\nuse(w)", None),
    "popped": ("hs = []\nfor i in range(4):\n    hs.append(x[0:2])\nhs.pop()\nw = np.stack(hs)\nuse(w)", (3, 2)),
    "copied": ("hs = []\nalias = hs\nfor i in range(4):\n    hs.append(x[0:2])\nalias.append(x[0:2])\n"
               "w = np.stack(hs)\nuse(w)", None),
    # a list read in the loop that appends to it (Gram-Schmidt's `for q in qs:`): its items, read by an index of
    # `s2s.as_sequence`'s, have the one shape; its reads append nothing; the empty range of the first trip runs none
    "read by the loop that appends": ("hs = []\nfor i in range(4):\n    v = x[0:3]\n    seq = s2s.as_sequence(hs)\n"
                                      "    for k in range(len(seq)):\n        q = seq[k]\n        v = v - (q @ v) * q\n"
                                      "    hs.append(v)\nw = np.stack(hs, axis=1)\nuse(w)", (3, 4)),
    "read by the loop, item": ("hs = []\nfor i in range(4):\n    seq = s2s.as_sequence(hs)\n"
                               "    for k in range(len(seq)):\n        w = seq[k]\n        use(w)\n    hs.append(x[1:3])",
                               (2,)),
    "shapes differ": ("hs = []\nfor i in range(4):\n    hs.append(x[0:i + 1])\nw = np.array(hs[0])\nuse(w)", None),
}


@pytest.mark.parametrize("name", sorted(LISTS))
def test_appended_list_facts(name):
    body, expected = LISTS[name]
    assert _window_shape(body) == [expected]
    if expected is not None:
        assert _run_windows(body) == {expected}


@pytest.mark.parametrize("trips, expected", [(2, (10,)), (0, ())])
def test_a_loop_with_trips_is_left_from_its_body_end(trips, expected):
    body = f"v = 0.0\nfor i in range({trips}):\n    v = v + x\nuse(v)"
    assert _window_shape(body) == [expected]  # (no trip: a range known empty, v is still the number 0.0)
    if expected is not None:
        assert _run_windows(body) == {expected}
