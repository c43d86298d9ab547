"""Where a function differentiated as a whole returns no number: a `return` of None or of a string
literal, a bare `return`, or the end of the body reached without a `return` (a forgotten `return`, a
branch that falls off the end). s2s.api refuses such a function: its derivative would be a silent 0.

    >>> import ast
    >>> tree = ast.parse("def f(w):\\n    l = w * 2\\n").body[0]
    >>> no_number_output(tree) is tree
    True
"""

from __future__ import annotations

import ast

from .loop_else import own_breaks

__all__ = ["no_number_output"]


def no_number_output(fdef: ast.FunctionDef) -> ast.AST | None:
    """The first place where `fdef` returns None or a string: a `Return` node, or `fdef` itself where its body
    can end without a `return`. None where every way out returns something else (or the function yields)."""
    if any(isinstance(n, ast.Yield | ast.YieldFrom) for n in _own_nodes(fdef)):
        return None
    for node in _own_nodes(fdef):
        if isinstance(node, ast.Return) and _no_number(node.value):
            return node
    return None if _ends(fdef.body) else fdef


def _no_number(value: ast.expr | None) -> bool:
    return value is None or (isinstance(value, ast.Constant) and (value.value is None or isinstance(value.value, str)))


def _own_nodes(fdef):
    """The nodes of `fdef`'s body, not those of functions, lambdas or classes defined in it."""
    stack = list(fdef.body)
    while stack:
        node = stack.pop(0)
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        stack.extend(ast.iter_child_nodes(node))


def _ends(stmts) -> bool:
    """Whether running `stmts` cannot reach its end (it returns or raises first on every path)."""
    return any(_stmt_ends(s) for s in stmts)


def _stmt_ends(s) -> bool:
    if isinstance(s, ast.Return | ast.Raise):
        return True
    if isinstance(s, ast.Assert):
        return isinstance(s.test, ast.Constant) and not s.test.value
    if isinstance(s, ast.If):
        return _ends(s.body) and _ends(s.orelse)
    if isinstance(s, ast.For | ast.AsyncFor | ast.While) and s.orelse and _ends(s.orelse) and not _breaks(s.body):
        return True  # (ended by its `else:`, which runs where no break of its own ended the loop)
    if isinstance(s, ast.While):  # `while True:` without a `break` of its own
        return isinstance(s.test, ast.Constant) and bool(s.test.value) and not _breaks(s.body)
    if isinstance(s, ast.With | ast.AsyncWith):
        return _ends(s.body)
    if isinstance(s, ast.Try | ast.TryStar):
        if _ends(s.finalbody):
            return True
        return (_ends(s.body) or _ends(s.orelse)) and all(_ends(h.body) for h in s.handlers)
    if isinstance(s, ast.Match):
        last = s.cases[-1].pattern if s.cases else None
        irrefutable = isinstance(last, ast.MatchAs) and last.pattern is None and s.cases[-1].guard is None
        return irrefutable and all(_ends(c.body) for c in s.cases)
    return False


def _breaks(stmts) -> bool:
    """Whether a `break` of this loop (not of a loop inside it) is among `stmts`."""
    return any(True for _ in own_breaks(stmts))
