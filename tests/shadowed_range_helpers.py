"""A module whose global `range` is not Python's, for tests/test_adopted_builtins.py."""

import builtins


def range(n):  # noqa: A001 - the point: a helper here reads this range, not the builtin
    return builtins.range(n - 1)


def grown(P):
    for _ in range(3):
        P = P * 1.5
    return P
