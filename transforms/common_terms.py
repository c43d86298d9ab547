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
operations on the same operands, so the numbers are the same; only fewer of them are computed. The moved
statement takes the line of the statement it moves before (where Python raised an error of `E`). Then, the other
way, where `n = E` comes first, the later statements of its run that compute `E` in a larger expression read
`n` (`t7_bar = 1.0 / S` then `S_bar = S_bar + 1.0 / S` reads `t7_bar`), up to one that binds `n` or a name `E`
reads.
"""

from __future__ import annotations

import ast

from .walk import statement_lists, walk_nodes

__all__ = ["share_common_terms"]

_ARITHMETIC = (ast.BinOp, ast.UnaryOp, ast.Name, ast.Constant)


def share_common_terms(fdef: ast.FunctionDef) -> bool:
    """Move each `n = E` up to the first statement of its run computing `E`, which reads `n` instead (see the
    module's docstring); returns whether anything changed.

        >>> fdef = ast.parse("def f(a, b):\n    t = 1.0 - a / (a + b)\n    s = a + b\n    return t * s").body[0]
        >>> share_common_terms(fdef)
        True
        >>> print(ast.unparse(fdef.body[0]), ast.unparse(fdef.body[1]), sep="; ")
        s = a + b; t = 1.0 - a / s
    """
    changed = False
    for stmts in statement_lists(fdef):
        facts = {}  # id(statement) -> _Facts (made again for a statement whose value changed)
        for j in range(len(stmts)):  # (a move puts stmts[j] earlier and shifts those between: j + 1 is next)
            changed |= _share(stmts, j, facts)
        for j in range(len(stmts)):
            changed |= _reuse(stmts, j, facts)
    return changed


class _Facts:
    """What `_share` asks of one statement: whether it is plain, its target, the names its value reads, the text
    of its value and of each operator expression in it."""

    def __init__(self, stmt):
        self.plain = _plain(stmt)
        if not self.plain:
            return
        self.target = stmt.targets[0].id
        self.reads = {n.id for n in walk_nodes(stmt.value) if isinstance(n, ast.Name)}
        self.text = ast.dump(stmt.value)
        self.terms = {ast.dump(n) for n in walk_nodes(stmt.value) if isinstance(n, ast.BinOp)}


def _facts(stmt, facts) -> _Facts:
    found = facts.get(id(stmt))
    if found is None or found[0] is not stmt:
        found = facts[id(stmt)] = (stmt, _Facts(stmt))
    return found[1]


WINDOW = 32  # statements looked back over for a term (a longer run of straight-line code is looked at in windows)


def _plain(stmt) -> bool:
    """`name = arithmetic` on names and number literals."""
    return isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
        and all(isinstance(n, _ARITHMETIC) or isinstance(n, ast.operator | ast.unaryop | ast.expr_context)
                for n in ast.walk(stmt.value)) \
        and all(type(n.value) in (int, float) for n in ast.walk(stmt.value) if isinstance(n, ast.Constant))


def _share(stmts, j, facts) -> bool:
    """Move `stmts[j]`, `n = E`, up to the first statement of its run (within WINDOW) computing `E` in a larger
    expression; whether it moved. The moved statement takes that statement's line: an error of `E` is the error
    of the user's line that computed it first."""
    stmt = stmts[j]
    mine = _facts(stmt, facts)
    if not mine.plain or not isinstance(stmt.value, ast.BinOp) or mine.target in mine.reads:
        return False
    name, text = mine.target, mine.text
    first = None
    for i in range(j - 1, max(j - WINDOW, 0) - 1, -1):
        other = _facts(stmts[i], facts)
        if not other.plain or other.target in mine.reads or other.target == name or name in other.reads:
            break
        if other.text != text and text in other.terms:
            first = i
    if first is None:
        return False
    for s in stmts[first:j]:
        if _facts(s, facts).text != text:  # (`m = E` itself stays: `m = n` would make m the same array as n)
            s.value = _Replace(text, name).visit(s.value)
            facts.pop(id(s), None)
    for attr in ("lineno", "end_lineno"):
        if hasattr(stmts[first], attr):
            setattr(stmt, attr, getattr(stmts[first], attr))
    stmts.insert(first, stmts.pop(j))
    return True


def _reuse(stmts, j, facts) -> bool:
    """Where `stmts[j]` is `n = E`, the later statements of its run (within WINDOW) that compute `E` inside a larger
    expression read `n`, up to the first that binds `n` or a name `E` reads (that one still reads it: its value is
    computed before its name is bound); whether any changed."""
    stmt = stmts[j]
    mine = _facts(stmt, facts)
    if not mine.plain or not isinstance(stmt.value, ast.BinOp) or mine.target in mine.reads:
        return False
    changed = False
    for k in range(j + 1, min(j + 1 + WINDOW, len(stmts))):
        other = _facts(stmts[k], facts)
        if not other.plain:
            break
        if other.text != mine.text and mine.text in other.terms:
            stmts[k].value = _Replace(mine.text, mine.target).visit(stmts[k].value)
            facts.pop(id(stmts[k]), None)
            changed = True
        if other.target == mine.target or other.target in mine.reads:
            break
    return changed


class _Replace(ast.NodeTransformer):
    def __init__(self, text, name):
        self.text, self.name = text, name

    def visit_BinOp(self, node):
        if ast.dump(node) == self.text:
            return ast.copy_location(ast.Name(id=self.name, ctx=ast.Load()), node)
        return self.generic_visit(node)
