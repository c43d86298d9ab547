"""Random loops carrying their state as a tuple (`state = (x, v)`): copies of the state (`c = state`), unpacking,
indexing, a helper returning a tuple, branches that rebind or keep the state, a mid-point tuple and its copy read
together. The adjoint of such a state is split item by item (transforms/container_adjoints.py: copies and
accumulations of another split adjoint), its items' numbers may be recomputed rather than taped
(transforms/tape.py) and its temporaries merged (transforms/merge.py): each program's gradient is checked
against central differences and against the general code (`s2s.derivative`), for number and array states."""

from __future__ import annotations

import importlib.util
import random
import warnings

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s


def _expr(r, names, depth=0):
    if depth > 1 or r.random() < 0.35:
        return r.choice(names) if r.random() < 0.75 else repr(round(r.uniform(0.1, 0.9), 2))
    op = r.choice(["+", "-", "*", "*", "sin", "tanh"])
    a = _expr(r, names, depth + 1)
    if op in ("sin", "tanh"):
        return f"np.{op}({a})"
    return f"({a} {op} {_expr(r, names, depth + 1)})"


def program(seed):
    """The source of `f(a, x)` (and its helpers) for `seed`: a loop stepping a tuple state."""
    r = random.Random(seed)
    n = r.choice([2, 2, 3])
    helpers, lines = [], ["def f(a, x):"]
    lines.append(f"    state = ({', '.join(r.choice(['x', 'a', '0.0', 'x * a', '1.0']) for _ in range(n))},)")
    lines.append("    out = 0.0")
    loop = r.choice(["for", "for", "while"])
    lines += [f"    for i in range({r.randint(1, 4)}):"] if loop == "for" else \
        ["    i = 0", f"    while i < {r.randint(1, 4)}:"]
    ind, cur = "        ", "state"
    for step in range(r.randint(1, 4)):
        kind = r.choice(["copy", "unpack", "index", "helper", "branch", "mid", "acc"])
        items = [f"{cur}[{j}]" for j in range(n)]
        if kind == "copy":
            lines.append(f"{ind}c{step} = {cur}")
            cur = f"c{step}"
            continue
        if kind == "unpack":
            vs = [f"u{step}_{j}" for j in range(n)]
            lines.append(f"{ind}{', '.join(vs)} = {cur}")
            lines.append(f"{ind}state = ({', '.join(_expr(r, vs + ['a']) for _ in range(n))},)")
        elif kind == "index":
            lines.append(f"{ind}state = ({', '.join(_expr(r, items + ['a']) for _ in range(n))},)")
        elif kind == "helper":
            hv = [f"p{j}" for j in range(n)]
            helpers.append(f"def h{step}(s, k):\n    {', '.join(hv)} = s\n"
                           f"    return {', '.join(_expr(r, hv + ['k']) for _ in range(n))}\n")
            lines.append(f"{ind}d{step} = h{step}({cur}, a)")
            lines.append(f"{ind}state = ({', '.join(f'{cur}[{j}] + 0.1 * d{step}[{j}]' for j in range(n))},)")
        elif kind == "branch":
            lines.append(f"{ind}if np.sum({cur}[0]) > {round(r.uniform(-0.5, 1.0), 2)}:")
            lines.append(f"{ind}    state = ({', '.join(_expr(r, items + ['a']) for _ in range(n))},)")
            lines.append(f"{ind}else:")
            perm = r.sample(range(n), n)
            lines.append(f"{ind}    state = {cur}" if r.random() < 0.5 else
                         f"{ind}    state = ({', '.join(items[p] for p in perm)},)")
        elif kind == "mid":
            lines.append(f"{ind}mid{step} = ({', '.join(_expr(r, items + ['a']) for _ in range(n))},)")
            lines.append(f"{ind}m{step} = mid{step}")
            lines.append(f"{ind}state = ({', '.join(f'{cur}[{j}] + m{step}[{j}] * mid{step}[{(j + 1) % n}]' for j in range(n))},)")
        else:
            lines.append(f"{ind}out = out + np.sum({_expr(r, items + ['a', 'out'])})")
            continue
        cur = "state"
    if cur != "state":
        lines.append(f"{ind}state = {cur}")
    lines.append(f"{ind}out = out + np.sum(state[{r.randrange(n)}]) * {r.choice(['a', 'np.sum(state[0])', '1.0'])}")
    if loop == "while":
        lines.append(f"{ind}i += 1")
    lines.append(f"    return out + np.sum(state[{r.randrange(n)}])")
    return "import numpy as np\n\n" + "\n".join(helpers) + "\n" + "\n".join(lines) + "\n"


def _load(src, path):
    path.write_text(src)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


def check(seed, x, tmp_path):
    f = _load(program(seed), tmp_path / f"tuple_state_{seed}.py")
    args = (0.7, x)
    got = s2s.grad(f, wrt=(0, 1))(*args)
    general = s2s.derivative(f, wrt=(0, 1))(*args)
    for p in (0, 1):
        np.testing.assert_allclose(got[p], fd_grad(f, args, wrt=p), rtol=1e-5, atol=1e-6, err_msg=program(seed))
        np.testing.assert_allclose(got[p], general[p], rtol=1e-9, atol=1e-12, err_msg=program(seed))


@pytest.mark.parametrize("seed", [0, 3, 8, 11])
def test_number_states(seed, tmp_path):
    check(seed, 0.3, tmp_path)


@pytest.mark.parametrize("seed", [1, 5, 13, 100])
def test_array_states(seed, tmp_path):
    check(seed, np.array([0.3, -0.4]), tmp_path)


def _step(s, k):
    p0, p1 = s
    return ((p1 + k) + (p0 * 0.21)), ((p1 - p1) * p0)


def names_of_each_other(a, x):
    state = (x * a, x * a,)
    out = 0.0
    for _ in range(4):
        d0 = _step(state, a)
        state = (state[0] + 0.1 * d0[0], state[1] + 0.1 * d0[1],)
        u1_0, u1_1 = state
        state = (a, u1_0,)
        mid2 = (a, (state[0] * np.tanh(a)),)
        m2 = mid2
        state = (state[0] + m2[0] * mid2[1], state[1] + m2[1] * mid2[0],)
        out = out + np.sum(state[1]) * 1.0
    return out + np.sum(state[1])


def test_names_bound_to_displays_of_each_other_are_valued_once():
    """Shapes.value_of walked a name once per path through the names bound to displays of each other (the
    state, its copies and items, four bindings of `state`): exponentially many, so this gradient never came
    (seed 100 of the generator above, with an array state). Each name is valued once per question now."""
    args = (0.7, np.array([0.3, -0.4]))
    got = s2s.grad(names_of_each_other, wrt=(0, 1))(*args)
    for p in (0, 1):
        np.testing.assert_allclose(got[p], fd_grad(names_of_each_other, args, wrt=p), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 3, 8, 11, 21, 34])
def test_float32_number_states_keep_their_dtype(seed, tmp_path):
    """The same programs at np.float32 numbers: each gradient is a np.float32 (also where an adjoint stayed the
    Python float 0.0 or 1.0: runtime.finish) and agrees with the float64 one, on the NumPy path and compiled."""
    f = _load(program(seed), tmp_path / f"tuple_state32_{seed}.py")
    want = s2s.grad(f, wrt=(0, 1))(0.7, 0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for compiled in (False, True):
            got = s2s.grad(f, wrt=(0, 1), compile=compiled)(np.float32(0.7), np.float32(0.3))
            for g, w in zip(got, want):
                assert type(g) is np.float32, (compiled, type(g), program(seed))
                np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-4, err_msg=program(seed))
