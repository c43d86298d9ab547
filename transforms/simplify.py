"""Algebraic simplification and constant folding of generated code.

`x * 1`, `1 * x`, `x / 1`, `x + 0`, `x - 0` become `x`; an operator applied
to two number literals is replaced by its value (`2 - 1` -> `1`); and
`x ** 1` inside a larger expression becomes `x`. Only literals are folded:
names could hold arrays whose shape a rewrite would change.
"""

from __future__ import annotations

import ast
import operator

from .names import loaded_names
from .walk import fix_locations, statement_lists

_FOLDABLE = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
             ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}


def is_number(node, value=None) -> bool:
    """True for an int/float literal (equal to `value` when given); booleans are not numbers here."""
    ok = isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool)
    return ok and (value is None or node.value == value)


def _fold(node):
    """The literal for `number op number`, or None when folding is unsafe (errors, huge powers)."""
    fn = _FOLDABLE.get(type(node.op))
    if fn is None or not (is_number(node.left) and is_number(node.right)):
        return None
    if isinstance(node.op, ast.Pow) and abs(node.right.value) > 64:
        return None
    try:
        value = fn(node.left.value, node.right.value)
    except (ArithmeticError, ValueError):
        return None
    if isinstance(value, complex):
        return None
    return _literal(value, node)


def _literal(value, like):
    # a negative number stays `-(2.0)`: a negative Constant prints as `-2.0`, which `** k` would bind first
    node = ast.Constant(abs(value)) if value < 0 else ast.Constant(value)
    if value < 0:
        node = ast.UnaryOp(op=ast.USub(), operand=node)
    return ast.copy_location(node, like)


class _Simplify(ast.NodeTransformer):
    def __init__(self):
        self.depth = 0  # > 0 inside an operand of another operator

    def visit_BinOp(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1
        folded = _fold(node)
        if folded is not None:
            return folded
        left, right, op = node.left, node.right, node.op
        if isinstance(op, ast.Mult) and is_number(left, 1):
            return right
        if isinstance(op, ast.Mult | ast.Div) and is_number(right, 1):
            return left
        if isinstance(op, ast.Add | ast.Sub) and is_number(right, 0):
            return left
        # `x ** 1` is x; as a whole right-hand side it would alias x, so only inside an expression
        if isinstance(op, ast.Pow) and is_number(right, 1) and self.depth > 0:
            return left
        return node

    def visit_UnaryOp(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.UnaryOp) and isinstance(node.operand.op, ast.USub):
            return node.operand.operand
        return node


class _FoldLiterals(ast.NodeTransformer):
    def __init__(self, keeps_itself):
        self.changed, self.keeps_itself = False, keeps_itself

    def visit_BinOp(self, node):
        self.generic_visit(node)
        folded = _fold(node)
        if folded is None and self.keeps_itself is not None and isinstance(node.op, ast.Mult):
            # (`1.0 * e` of an expression e, not a name: e's new array, which nothing else holds)
            for one, other in ((node.left, node.right), (node.right, node.left)):
                if is_number(one, 1) and type(one.value) is float and not isinstance(other, ast.Name) \
                        and self.keeps_itself(other):
                    folded = other
                    break
        if folded is None:
            return node
        self.changed = True
        return folded


def fold_literals(fdef: ast.FunctionDef, keeps_itself=None) -> bool:
    """Fold `number op number` of literals, as Python computes it at run time (`1.0 * 0.5 * 2 * z` is `1.0 * z`:
    left to right, the literals' product first); with `keeps_itself(e)` (whether `1.0 * e` is e exactly: a real
    float array, say), `1.0 * e` of an expression e is e. Whether anything changed.

        >>> f = ast.parse("def f(z): return 1.0 * 0.5 * 2 * z").body[0]
        >>> fold_literals(f), ast.unparse(f.body[0])
        (True, 'return 1.0 * z')
    """
    folder = _FoldLiterals(keeps_itself)
    folder.visit(fdef)
    if folder.changed:
        fix_locations(fdef)
    return folder.changed


def fold_unit_copies(fdef: ast.FunctionDef, keeps_itself) -> bool:
    r"""`t = 1.0 * e` (a copy of e's array that `t` may update in place) followed at once by `t op= v` becomes
    `t = e op v` (op one of + - * /): the same numbers (`1.0 * e` is e exactly, `keeps_itself(e)`: a real float
    array), one array made instead of a copy and an update. Whether anything changed.

        >>> f = ast.parse("def f(e, v):\n    t = 1.0 * e\n    t *= v\n    return t").body[0]
        >>> fold_unit_copies(f, lambda e: True), ast.unparse(f.body[0])
        (True, 't = e * v')
    """
    from .reverse import Comment  # (the `#` lines of generated code, between two statements)

    changed = False
    for block in statement_lists(fdef):
        k = 0
        while k < len(block):
            first, n = block[k], k + 1
            while n < len(block) and isinstance(block[n], Comment):
                n += 1
            then = block[n] if n < len(block) else None
            copied = _unit_copy(first)
            if copied is not None and isinstance(then, ast.AugAssign) and isinstance(then.target, ast.Name) \
                    and then.target.id == first.targets[0].id and isinstance(then.op, ast.Add | ast.Sub | ast.Mult | ast.Div) \
                    and copied.id != then.target.id and then.target.id not in loaded_names(then.value) \
                    and keeps_itself(copied):
                first.value = ast.BinOp(left=copied, op=then.op, right=then.value)
                del block[n]
                changed = True
            k += 1
    if changed:
        fix_locations(fdef)
    return changed


def _unit_copy(stmt):
    """e of `t = 1.0 * e` (or `e * 1.0`), e a name, t a name; else None."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.BinOp) and isinstance(stmt.value.op, ast.Mult)):
        return None
    for one, other in ((stmt.value.left, stmt.value.right), (stmt.value.right, stmt.value.left)):
        if is_number(one, 1) and type(one.value) is float and isinstance(other, ast.Name):
            return other
    return None


def simplify(fdef: ast.FunctionDef, names: set[str] | None = None) -> ast.FunctionDef:
    """Apply the rewrites above to assignments to `names` (all assignments when None).

    The user's own statements are left alone: `m = (x > 0) * 1.0` turns a mask into floats, and
    dropping the `* 1.0` would change its dtype. Adjoint code has no such idioms.
    """
    if names is None:
        return fix_locations(_Simplify().visit(fdef))

    class Targets(ast.NodeTransformer):
        def visit_Assign(self, node):
            if any(isinstance(t, ast.Name) and t.id in names for t in node.targets):
                node.value = _Simplify().visit(node.value)
            return node

    return fix_locations(Targets().visit(fdef))
