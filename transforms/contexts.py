"""`with` blocks whose context manager changes no value: their bodies, run as they are.

    with np.errstate(divide="ignore"):
        y = np.log(x)
becomes
    y = np.log(x)

`np.errstate` set to 'ignore', 'warn' or 'print' and `np.printoptions` change how NumPy reports
floating-point events and prints, never a number it computes, and `contextlib.nullcontext()` does
nothing (`np.errstate(divide="raise")`, which raises where the body gives inf, is refused); a block
under them (with no `as` name) computes what its body computes, so s2s differentiates the body. The derivative code does not
run under the context manager: warnings the block silenced may show there. Other `with` statements
(files, locks, `warnings.catch_warnings`, `contextlib.suppress`, which changes control flow) are
left for desugar's check, which refuses them.

    >>> import ast, contextlib
    >>> tree = ast.parse("def f(x):\\n    with nullcontext():\\n        y = x * 2\\n    return y").body[0]
    >>> _ = unwrap_neutral_blocks(tree, lambda node: contextlib.nullcontext)
    >>> print(ast.unparse(tree))
    def f(x):
        y = x * 2
        return y
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Callable

import numpy as np

from .walk import walk

NEUTRAL = (np.errstate, np.printoptions, contextlib.nullcontext)


def unwrap_neutral_blocks(tree: ast.FunctionDef, resolve: Callable[[ast.expr], object]) -> ast.FunctionDef:
    """Replace, in place, each `with` of `tree` whose every context manager is a call of one in NEUTRAL
    (`resolve(expr)` gives the object an expression of the function names) by its body."""
    for node in walk(tree):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and any(_neutral(s, resolve) for s in block):
                setattr(node, field, _flattened(block, resolve))
    return tree


def _flattened(block, resolve):
    out = []
    for stmt in block:
        if _neutral(stmt, resolve):
            out.extend(_flattened(stmt.body, resolve))
        else:
            out.append(stmt)
    return out


def _neutral(stmt, resolve) -> bool:
    if not isinstance(stmt, ast.With):
        return False
    for item in stmt.items:
        call = item.context_expr
        if item.optional_vars is not None or not isinstance(call, ast.Call):
            return False
        try:
            made_by = resolve(call.func)
        except Exception:  # noqa: BLE001 - a name s2s cannot resolve: not known to be neutral
            return False
        if not any(made_by is neutral for neutral in NEUTRAL):
            return False
        if made_by is np.errstate and not _only_quiet(call):
            return False
    return True


_QUIET = ("ignore", "warn", "print")  # np.errstate settings that only say whether and how NumPy reports


def _only_quiet(call: ast.Call) -> bool:
    """Whether `np.errstate(...)` sets every error to a literal of _QUIET: 'raise' makes NumPy raise
    FloatingPointError where the body would give inf or nan (the derivative code, outside the block, would
    not), 'call' and 'log' run a function of yours, and a setting held in a name s2s cannot read."""
    return not call.args and all(k.arg is not None and k.arg != "call" and isinstance(k.value, ast.Constant)
                                 and k.value.value in _QUIET for k in call.keywords)
