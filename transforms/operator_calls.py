"""Calls of the `operator` module's functions as the operators they are.

`operator.mul(a, b)` is `a * b` in Python, by definition: the same methods run (`__mul__`, then `__rmul__`),
lists concatenate under `operator.add` as under `+`. s2s writes such a call as the operator, so every pass
after it reads it as it reads the operator (its rule, a list's concatenation, the specialised rewrites):

    h = functools.reduce(operator.mul, xs, 1.0)   ->   for item in xs: acc = acc * item
    r = operator.truediv(operator.neg(a), b)       ->   r = -a / b

The in-place forms (`operator.iadd`, which changes a list or array it is given) are left alone: s2s refuses
them where they are called, as it refuses any function of a library without a rule.
"""

from __future__ import annotations

import ast
import operator

from .names import load
from .walk import fix_locations, walk

_BINARY = {operator.add: ast.Add, operator.sub: ast.Sub, operator.mul: ast.Mult, operator.truediv: ast.Div,
           operator.floordiv: ast.FloorDiv, operator.mod: ast.Mod, operator.pow: ast.Pow,
           operator.matmul: ast.MatMult}
_UNARY = {operator.neg: ast.USub, operator.pos: ast.UAdd, operator.not_: ast.Not, operator.invert: ast.Invert}
_COMPARE = {operator.lt: ast.Lt, operator.le: ast.LtE, operator.eq: ast.Eq, operator.ne: ast.NotEq,
            operator.ge: ast.GtE, operator.gt: ast.Gt}


def write_operator_calls(pf, tree: ast.FunctionDef) -> None:
    """Write each call of `operator.add`, `.mul`, `.neg`, `.lt`, `.getitem`, ... in `tree` as its operator, in
    place (a name the function binds itself is its own, not the module's).

        >>> # operator.mul(acc, w)  ->  acc * w;  operator.getitem(x, 0)  ->  x[0]
    """
    own = {n.id for n in walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del)} | \
        {a.arg for a in walk(tree) if isinstance(a, ast.arg)}

    def yours(node) -> bool:  # (`operator.mul` of a name the function binds: its own, not the module's)
        while isinstance(node, ast.Attribute):
            node = node.value
        return isinstance(node, ast.Name) and node.id in own

    class Calls(ast.NodeTransformer):
        def visit_Call(self, node):
            # (inner calls first: operator.truediv(operator.neg(a), b); the function called is no value passed)
            node.args = [self.visit(a) for a in node.args]
            for k in node.keywords:
                k.value = self.visit(k.value)
            called = _called_argument(pf, node)  # (map(operator.mul, xs, ys), sorted(xs, key=operator.neg))
            if called == 0 and node.args:
                node.args[0] = self._value(node.args[0]) or node.args[0]
            for k in node.keywords:
                if called == "key" and k.arg == "key":
                    k.value = self._value(k.value) or k.value
            if not isinstance(node.func, ast.Name | ast.Attribute):
                node.func = self.visit(node.func)
                return node
            if isinstance(node.func, ast.Attribute):
                node.func.value = self.visit(node.func.value)
            if yours(node.func):
                return node
            return _as_operator(pf, node) or node

        def _value(self, node):
            """A function passed to a call that calls it (`map(operator.mul, xs, ys)`): the lambda of its operator
            (elsewhere a value keeps what it is: `op is operator.mul`, a default, a dict's key)."""
            if not isinstance(node, ast.Name | ast.Attribute) or not isinstance(node.ctx, ast.Load) or yours(node):
                return None
            try:
                func = pf.resolve_expr(node)
            except Exception:  # noqa: BLE001 - not a name s2s can read: not an operator function
                return None
            if not is_operator(func):
                return None
            params = ["_a", "_b"][:1 if func in _UNARY else 2]
            body = _as_operator(pf, ast.Call(func=node, args=[load(p) for p in params], keywords=[]),
                                func=func)
            args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in params], kwonlyargs=[],
                                 kw_defaults=[], defaults=[])
            return ast.copy_location(ast.Lambda(args=args, body=body), node)

    Calls().visit(tree)
    fix_locations(tree)


# the builtins that only call the function they are given: where it is given
_CALLING = {map: 0, filter: 0, sorted: "key", min: "key", max: "key"}


def _called_argument(pf, call):
    """0 for `map(f, xs)` / `filter(f, xs)`, "key" for `sorted(xs, key=f)`, `min`, `max`; else None."""
    if not isinstance(call.func, ast.Name):
        return None
    try:
        return _CALLING.get(pf.resolve_expr(call.func))
    except Exception:  # noqa: BLE001 - a local name, or unhashable: not the builtin
        return None


def is_operator(obj) -> bool:
    """Whether `obj` is one of the operator module's functions this pass writes as its operator (`operator.mul`),
    which changes nothing (not `operator.iadd`).

        >>> is_operator(operator.mul), is_operator(operator.iadd)
        (True, False)
    """
    try:
        return any(obj is f for table in (_BINARY, _UNARY, _COMPARE) for f in table) or obj is operator.getitem
    except TypeError:  # (unhashable)
        return False


def _as_operator(pf, node, func=None):
    """The operator expression a call of an operator function is (`func`, where the caller resolved it), else None."""
    if not (isinstance(node, ast.Call) and not node.keywords and not any(isinstance(a, ast.Starred) for a in node.args)):
        return None
    if func is None:
        try:
            func = pf.resolve_expr(node.func)
        except Exception:  # noqa: BLE001 - a local name, or one s2s cannot read: not an operator function
            return None
    try:
        args = node.args
        if func in _BINARY and len(args) == 2:
            new = ast.BinOp(left=args[0], op=_BINARY[func](), right=args[1])
        elif func in _UNARY and len(args) == 1:
            new = ast.UnaryOp(op=_UNARY[func](), operand=args[0])
        elif func in _COMPARE and len(args) == 2:
            new = ast.Compare(left=args[0], ops=[_COMPARE[func]()], comparators=[args[1]])
        elif func is operator.getitem and len(args) == 2:
            new = ast.Subscript(value=args[0], slice=args[1], ctx=ast.Load())
        else:
            return None
    except TypeError:  # (an unhashable object)
        return None
    return ast.copy_location(new, node)
