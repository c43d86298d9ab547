"""Random scalar programs of loops and branches, as source text: the kind whose gradients the loop-tape
rewrites touch (transforms/trip_records.py, loop_tests.py, finish.drop_float_finish).

Each program is `def p<k>(x, y, a, n)`: x and y numbers, `a` an int array, `n` an int. Its body assigns
three number variables from expressions of them (arithmetic, `np.sin`, `abs`, `float`, conditional
expressions, items of `a`, `n`), under `if`s, `for` loops over `range` (also of `n` and of 0), `while`
loops with a counter, `while True` with a `break`, and `+=`; a loop may overwrite a value no gradient
flows through (its backward loop then only restores it).

    >>> print(scalar_loop_module(random.Random(1), 1).splitlines()[2])
    def p0(x, y, a, n):
"""

from __future__ import annotations

import random

VARIABLES = ("s", "t", "u")


def _expression(rnd: random.Random, depth: int = 0, index: str | None = None) -> str:
    atoms = [*VARIABLES, "x", "y", "0.5", "1.5"] + ([index] if index else [])
    if depth > 2 or rnd.random() < 0.3:
        return rnd.choice(atoms)
    e = lambda: _expression(rnd, depth + 1, index)  # noqa: E731
    kind = rnd.choice(["+", "-", "*", "*", "ratio", "sin", "cos", "square", "item", "abs", "float", "n",
                       "negate", "choice", "cube"])
    forms = {
        "abs": lambda: f"abs({e()})",
        "float": lambda: f"float({e()})",
        "n": lambda: f"(n * {e()})",
        "negate": lambda: f"(-{e()})",
        "cube": lambda: f"({e()}) ** 3",
        "square": lambda: f"({e()}) ** 2",
        "choice": lambda: f"({e()} if {e()} > 0.2 else {e()})",
        "sin": lambda: f"np.sin({e()})",
        "cos": lambda: f"np.cos({e()})",
        "item": lambda: f"a[{index} % 3] * {e()}" if index else f"a[1] * {e()}",
        "ratio": lambda: f"{e()} / (1.0 + ({e()}) ** 2)",
    }
    return forms[kind]() if kind in forms else f"({e()} {kind} {e()})"


def _block(rnd: random.Random, indent: str, depth: int, index: str | None, exits: bool = False) -> list[str]:
    lines = []
    for _ in range(rnd.randint(1, 3)):
        r, v = rnd.random(), rnd.choice(VARIABLES)
        if exits and r >= 0.7 and depth <= 1:  # a loop (with a `break` or not) whose variable is read after it
            j, n = rnd.choice("ijk"), rnd.choice(["n", "0", "3"])
            lines.append(f"{indent}for {j} in range({n}):")
            lines += _block(rnd, indent + "    ", depth + 1, j, exits)
            if rnd.random() < 0.6:
                lines += [f"{indent}    if {_expression(rnd, 0, j)} > {rnd.choice(['0.3', '0.8', '-5.0'])}:",
                          f"{indent}        break"]
            lines.append(f"{indent}{v} = {v} + a[{j} % 3] * {_expression(rnd, 1)} + {j} * 0.1")
        elif r < 0.5 or depth > 1:
            lines.append(f"{indent}{v} = {_expression(rnd, 0, index)}")
        elif r < 0.6:
            lines.append(f"{indent}if {_expression(rnd, 0, index)} > 0.3:")
            lines += _block(rnd, indent + "    ", depth + 1, index, exits)
        elif r < 0.75:
            j, n = rnd.choice("ijk"), rnd.choice(["3", "n", "0", "1"])
            lines.append(f"{indent}for {j} in range({n}):")
            lines += _block(rnd, indent + "    ", depth + 1, j, exits)
        elif r < 0.82:
            c = rnd.choice("cm")
            lines += [f"{indent}{c} = 0", f"{indent}while {c} < {rnd.randint(0, 3)}:"]
            lines += _block(rnd, indent + "    ", depth + 1, index)
            lines.append(f"{indent}    {c} = {c} + 1")
        elif r < 0.87:  # a value no gradient flows through, overwritten in a loop after an earlier read
            lines += [f"{indent}w = 0.5", f"{indent}{v} = {v} * w", f"{indent}for _ in range(3):",
                      f"{indent}    w = w * y"]
        elif r < 0.92:
            lines.append(f"{indent}{v} = {v} * 0.9 + {_expression(rnd, 0, index)} * 0.1")
        elif r < 0.96:
            lines.append(f"{indent}{v} += {_expression(rnd, 0, index)}")
        else:
            c = rnd.choice("cm")
            lines += [f"{indent}{c} = 0", f"{indent}while True:"]
            lines += _block(rnd, indent + "    ", depth + 1, index)
            lines += [f"{indent}    {c} = {c} + 1", f"{indent}    if {c} >= {rnd.randint(1, 3)}:",
                      f"{indent}        break"]
    return lines


def scalar_loop_module(rnd: random.Random, count: int, exits: bool = False) -> str:
    """The source of a module of `count` such programs, `p0`, `p1`, ...; with `exits`, loops over `range(n)`, of 0
    and of 3, with a `break` or not, whose variable the statement after the loop reads (unbound where no trip ran
    and no earlier loop bound it: Python raises UnboundLocalError there; inside another loop, the value this
    run of the loop left)."""
    out = ["import numpy as np", ""]
    for k in range(count):
        body = ["    s = x", "    t = y", "    u = 0.5"] + _block(rnd, "    ", 0, None, exits)
        result = rnd.choice(["s + t * u", "s * t + u", "np.sin(s) + t + u * x"])
        out += [f"def p{k}(x, y, a, n):", *body, f"    return {result}", ""]
    return "\n".join(out)
