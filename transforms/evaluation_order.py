"""The order Python evaluates a statement's expressions in, for passes that move one of them before it.

A pass that computes part of a statement first (functools.reduce's loop, a named expression's assignment)
may do so only where nothing the statement computes before that part could see the difference: these say
which expressions a statement evaluates itself, which come before a given one, and whether the way to it
passes through a conditional (`a if c else b`, `and`, a comprehension, a lambda).
"""

from __future__ import annotations

import ast
import types

from .walk import own_scope_nodes, walk

CONDITIONAL = (ast.IfExp, ast.BoolOp, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)


def header(stmt) -> list:
    """The expressions a statement evaluates itself (a compound statement's header; its blocks are statements of
    their own)."""
    if isinstance(stmt, ast.If | ast.While):
        return [stmt.test]
    if isinstance(stmt, ast.For):
        return [stmt.iter]
    if isinstance(stmt, ast.With):
        return [item.context_expr for item in stmt.items]
    if isinstance(stmt, ast.Try | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return []
    return [stmt]


def path_to(roots, target):
    """The nodes from one of `roots` down to `target` (both included), else None."""
    for root in roots:
        todo = [(root, [root])]
        while todo:
            node, path = todo.pop()
            if node is target:
                return path
            todo.extend((c, path + [c]) for c in ast.iter_child_nodes(node))
    return None


def evaluated_before(pf, stmt, parts, call, names: bool = False):
    """The values Python computes, in `stmt`, before it starts evaluating `call`, but literals, attributes of
    modules and (unless `names`) names, which a call made at `call` cannot change (None where `call` is not
    found): an augmented assignment reads its target first; operands, arguments and items go left to right.

        >>> stmt = ast.parse("y = a * b + reduce(f, xs)").body[0]
        >>> call = stmt.value.right
        >>> [ast.unparse(n) for n in evaluated_before(None, stmt, header(stmt), call)]
        ['a * b']
    """
    done = []

    def visit(node):
        if node is call:
            return True
        for child in in_order(node):
            if visit(child):
                return True
        if isinstance(node, ast.expr) and not isinstance(node, ast.Constant) \
                and (names or not isinstance(node, ast.Name)) \
                and not (isinstance(node, ast.Attribute) and module_attribute(pf, node)):
            done.append(node)  # (a value computed before the part moved: what it computes may change it)
        return False

    if isinstance(stmt, ast.AugAssign):
        if names or not isinstance(stmt.target, ast.Name):
            done.append(stmt.target)  # (read before the value: `s += (s := v)` adds v to the old s)
        return done if visit(stmt.value) else None
    if isinstance(stmt, ast.Assign | ast.AnnAssign):
        return done if visit(stmt.value) else None  # (the targets' subscripts are evaluated after the value)
    for part in parts:
        if visit(part):
            return done
    return None


def module_attribute(pf, node) -> bool:
    """Whether `node` is a dotted name of a module's (`np.linalg.norm`)."""
    base = node.value
    while isinstance(base, ast.Attribute):
        base = base.value
    return pf is not None and isinstance(base, ast.Name) and isinstance(pf.resolve(base.id), types.ModuleType)


def in_order(node):
    """The child expressions of `node` in the order Python evaluates them."""
    if isinstance(node, ast.Dict):
        return [x for pair in zip(node.keys, node.values) for x in pair if x is not None]
    if isinstance(node, ast.Call):
        return [node.func, *node.args, *(k.value for k in node.keywords)]
    return list(ast.iter_child_nodes(node))


def replace_node(tree, old, new) -> None:
    """Put `new` where the node `old` is in `tree` (the first place it is found)."""
    for parent in walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, new)
                return
            if isinstance(value, list) and any(v is old for v in value):
                value[[id(v) for v in value].index(id(old))] = new
                return


def movable_call(pf, stmt, matches):
    """(call, movable) for the first call `matches` accepts that `stmt` evaluates (of those in its header, the one
    Python reaches first), `movable` whether what the call needs may be computed in statements before `stmt`: it is
    evaluated once, unconditionally, not in a `while` test, with nothing but names and literals evaluated before
    it in the statement; None where `stmt` makes no such call.

        >>> is_reduce = lambda c: getattr(c.func, "id", None) == "reduce"
        >>> [movable_call(None, ast.parse(s).body[0], is_reduce)[1] for s in ("y = reduce(f, xs)", "y = g() + reduce(f, xs)")]
        [True, False]
    """
    parts = header(stmt)
    calls = [n for part in parts for n in (part, *own_scope_nodes(part)) if isinstance(n, ast.Call) and matches(n)]
    if not calls:
        return None
    call = next((c for c in calls if not any(isinstance(n, ast.Call) and matches(n)
                                             for b in evaluated_before(pf, stmt, parts, c) or () for n in walk(b))),
                calls[0])
    path = path_to(parts, call)
    before = None if path is None else evaluated_before(pf, stmt, parts, call)
    movable = not (isinstance(stmt, ast.While) or path is None or before is None or before
                   or any(isinstance(n, CONDITIONAL) or isinstance(n, ast.Compare) and len(n.ops) > 1 for n in path))
    return call, movable
