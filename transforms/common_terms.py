"""A term a later assignment names, computed once: the assignment moved up to the first statement that computes it.

The backward loop recomputes what the forward loop computed instead of saving it (transforms/tape.py), each value
from the restored ones, so the same term can be written out several times before the name that holds it:

    t5 = 1.0 - P2 / (P2 + r)                  S = P2 + r
    K = P2 / (P2 + r)                 ->      K = P2 / S
    S = P2 + r                                t5 = 1.0 - K

In a run of assignments to names whose values are arithmetic on names and number literals (no call, no item, no
attribute: nothing that may raise but the arithmetic itself, or change anything), `n = E` moves up to just before
the first statement of the run that computes `E` within a larger expression, and each such `E` between reads `n`,
where nothing between binds a name `E` reads, or binds or reads `n` (which would then see the new value). A
statement `m = E` is left as it is: `m = n` would make two names of one array, which an update in place of
either (`m += v`) would change for both. Repeated until nothing moves. The values are those of the same
operations on the same operands, so the numbers are the same; only fewer of them are computed.
"""

from __future__ import annotations

import ast

from .walk import statement_lists, walk_nodes

__all__ = ["share_common_terms"]

_ARITHMETIC = (ast.BinOp, ast.UnaryOp, ast.Name, ast.Constant)


def share_common_terms(fdef: ast.FunctionDef) -> bool:
    """Move each `n = E` up to the first statement of its run computing `E`, which reads `n` instead (see the
    module's docstring); returns whether anything changed.

        >>> fdef = ast.parse("def f(a, b):\\n    t = 1.0 - a / (a + b)\\n    s = a + b\\n    return t * s").body[0]
        >>> share_common_terms(fdef)
        True
        >>> print(ast.unparse(fdef.body[0]), ast.unparse(fdef.body[1]), sep="; ")
        s = a + b; t = 1.0 - a / s
    """
    changed = False
    for stmts in statement_lists(fdef):
        for _ in range(len(stmts)):
            if not _share_one(stmts):
                break
            changed = True
    return changed


def _plain(stmt) -> bool:
    """`name = arithmetic` on names and number literals."""
    return isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
        and all(isinstance(n, _ARITHMETIC) or isinstance(n, ast.operator | ast.unaryop | ast.expr_context)
                for n in ast.walk(stmt.value)) \
        and all(type(n.value) in (int, float) for n in ast.walk(stmt.value) if isinstance(n, ast.Constant))


def _share_one(stmts) -> bool:
    """Move one assignment up (the first that can be); whether one moved."""
    for j, stmt in enumerate(stmts):
        if not _plain(stmt) or not isinstance(stmt.value, ast.BinOp):
            continue
        name, term = stmt.targets[0].id, stmt.value
        text = ast.dump(term)
        reads = {n.id for n in walk_nodes(term) if isinstance(n, ast.Name)}
        if name in reads:
            continue
        first = None
        for i in range(j - 1, -1, -1):
            s = stmts[i]
            if not _plain(s) or s.targets[0].id in reads or s.targets[0].id == name \
                    or any(isinstance(n, ast.Name) and n.id == name for n in walk_nodes(s.value)):
                break
            if ast.dump(s.value) != text and any(type(n) is type(term) and ast.dump(n) == text
                                                 for n in walk_nodes(s.value)):
                first = i
        if first is None:
            continue
        for s in stmts[first:j]:
            if ast.dump(s.value) != text:  # (`m = E` itself stays: `m = n` would make m the same array as n)
                s.value = _Replace(text, name).visit(s.value)
        stmts.insert(first, stmts.pop(j))
        return True
    return False


class _Replace(ast.NodeTransformer):
    def __init__(self, text, name):
        self.text, self.name = text, name

    def visit_BinOp(self, node):
        if ast.dump(node) == self.text:
            return ast.copy_location(ast.Name(id=self.name, ctx=ast.Load()), node)
        return self.generic_visit(node)
