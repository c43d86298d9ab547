"""Where `+` and `*` may be list or tuple concatenation and repetition, not arithmetic.

`[x] + [2 * x]` concatenates and `[x] * 2` repeats: their adjoints split or fold a list of
adjoints, where `x + y` on numbers and arrays adds them. Which one an operator is depends on
the values at run time, so s2s proves what it can: a name is *plain* (never a list or tuple)
when every value it is bound to is (a number literal, a NumPy or math result, arithmetic on
plain values, an element of an array...). Where the operands of `+` may both be sequences, or
those of `*` a sequence and an integer, the transforms use the rules "op:add_seq" and
"op:mult_seq", whose runtime helpers look at the operands and do whichever the operator did;
elsewhere they keep the plain rules (and the code stays as it was).

Parameters are not plain unless known to be numbers or arrays for this call (`plain_params`):
an argument may be a list. The names whose adjoints may then be lists are accumulated with
`s2s.add` (`+` would concatenate them).
"""

from __future__ import annotations

import ast

import numpy as np

from . import annotations
from .analysis import atom_names, is_append, is_pop, resolve_call
from .context import ctx, missing
from .walk import walk


# runtime helpers whose result is a number or an array whatever their arguments
def _plain_helpers():
    runtime = ctx().runtime
    return (runtime.astype, runtime.item, runtime.index_concat)
_PLAIN_BUILTINS = {float, int, abs, len, round, bool, pow}
_NOT_PLAIN_ATTRS = {"shape", "strides"}


class Sequences:
    """Which operators of one lowered function may act on lists or tuples."""

    def __init__(self, pf, tree, facts, plain_params=()):
        self.pf = pf
        params = [a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs]
        self.varied = facts.varied
        self.plain = self._plain_names(tree, set(plain_params) | (set(params) & facts.scalars), params)
        self.seq_ops = set()  # id() of the BinOps that may be concatenation or repetition
        linked = set()
        for s in walk(tree):
            if isinstance(s, ast.Assign) and isinstance(s.value, ast.BinOp) and self.may_be_sequence_op(s.value):
                self.seq_ops.add(id(s.value))
                linked.update(atom_names([s.value.left, s.value.right]))
                linked.update(atom_names(s.targets[0]))
        self.containers = self._closure(tree, linked) if linked else set()

    # -- plain names ------------------------------------------------------
    def _plain_names(self, tree, known_plain, params):
        bindings = []
        for s in walk(tree):
            if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
                bindings.append((s.targets[0].id, s.value))
            elif isinstance(s, ast.Assign) or isinstance(s, ast.Expr) and is_append(s.value):
                pass  # y[i] = v and L.append(v) keep what y and L are
            elif isinstance(s, ast.For):
                bindings.append((s.target.id, None))  # a range loop variable: an int
        plain = {t for t, _ in bindings} | set(known_plain)
        plain -= set(params) - set(known_plain)
        while True:
            drop = {t for t, v in bindings if t in plain and t not in known_plain and v is not None
                    and not self._plain_value(v, plain)}
            if not drop:
                return plain
            plain -= drop

    def _plain_atom(self, e, plain) -> bool:
        if isinstance(e, ast.Constant):
            return e.value is None or isinstance(e.value, int | float | complex | bool)
        if isinstance(e, ast.UnaryOp):
            return True
        if isinstance(e, ast.Name):
            if not annotations.is_global(e):
                return e.id in plain
            return self._plain_object(self.pf.resolve_expr(e))
        if isinstance(e, ast.Attribute):
            try:
                return self._plain_object(self.pf.resolve_expr(e))
            except Exception:  # noqa: BLE001 - unknown: not provably plain
                return False
        return False

    @staticmethod
    def _plain_object(obj) -> bool:
        return obj is not missing() and not isinstance(obj, list | tuple | dict)

    def _plain_value(self, v, plain) -> bool:
        if isinstance(v, ast.Constant | ast.Name | ast.UnaryOp):
            return self._plain_atom(v, plain)
        if isinstance(v, ast.BinOp):
            return not self._sequence_op(v, plain)  # lists and tuples have no other arithmetic
        if isinstance(v, ast.Compare):
            return True
        if isinstance(v, ast.Subscript):
            return self._plain_atom(v.value, plain)  # an element or slice of an array is an array
        if isinstance(v, ast.Attribute):
            return v.attr not in _NOT_PLAIN_ATTRS and self._plain_atom(v.value, plain)
        if isinstance(v, ast.Call) and not is_append(v) and not is_pop(v):
            obj = resolve_call(self.pf, v)
            if obj is missing():
                return False
            if any(obj is h for h in _plain_helpers()) or any(obj is b for b in _PLAIN_BUILTINS):
                return True
            module = getattr(obj, "__module__", None) or ""
            rule = ctx().lookup(obj)
            if rule is None or rule.structured or obj is np.shape or (obj is np.where and len(v.args) < 3):
                return False
            return module == "math" or module.startswith("numpy") or isinstance(obj, np.ufunc)
        return False

    # -- operators --------------------------------------------------------
    def may_be_sequence_op(self, node: ast.BinOp) -> bool:
        """`a + b` with both operands possibly sequences, `a * b` with a sequence and an integer, `a | b` with
        two possible dicts."""
        return self._sequence_op(node, self.plain)

    def _sequence_op(self, node, plain) -> bool:
        left, right = node.left, node.right
        seq_l = not self._plain_atom(left, plain)
        seq_r = not self._plain_atom(right, plain)
        if isinstance(node.op, ast.Add | ast.BitOr):  # (| merges dicts)
            return seq_l and seq_r
        if isinstance(node.op, ast.Mult):
            if isinstance(left, ast.Name) and isinstance(right, ast.Name) and left.id == right.id:
                return False  # a sequence times itself is a TypeError
            return (seq_l and self._may_be_int(right)) or (seq_r and self._may_be_int(left))
        return False

    def _may_be_int(self, e) -> bool:
        """Whether `e` may be an integer (a repetition count). A varied value is not: it depends
        differentiably on the arguments differentiated, which are floats (an integer argument
        differentiated as a count is caught at run time: s2s.unbroadcast and s2s.finish refuse an
        adjoint list whose length is not the value's)."""
        if isinstance(e, ast.Constant):
            return isinstance(e.value, int)  # bool is an int
        if isinstance(e, ast.UnaryOp) and isinstance(e.operand, ast.Constant):
            return isinstance(e.operand.value, int)
        return not (isinstance(e, ast.Name) and not annotations.is_global(e) and e.id in self.varied)

    def op_key(self, node) -> str | None:
        """The rule name for a BinOp that may be a sequence operation, else None."""
        if id(node) not in self.seq_ops or not isinstance(node.op, ast.Add | ast.Mult):
            return None  # (op:bitor handles dicts itself)
        return "op:add_seq" if isinstance(node.op, ast.Add) else "op:mult_seq"

    # -- adjoints that may be lists ----------------------------------------
    @staticmethod
    def _closure(tree, names):
        """`names` and the names a list adjoint reaches from them through plain copies and subscripts."""
        names = set(names)
        copies = []
        for s in walk(tree):
            if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name) and \
                    isinstance(s.value, ast.Name | ast.Subscript):
                src = atom_names(s.value.value if isinstance(s.value, ast.Subscript) else s.value)[:1]
                if src:
                    copies.append((s.targets[0].id, src[0]))
        changed = True
        while changed:
            changed = False
            for target, src in copies:
                if (target in names) != (src in names):
                    names |= {target, src}
                    changed = True
        return names




def joins_lists(e: ast.expr, listed) -> bool:
    """Whether `e` makes a list of lists by `+` or `*`: `a + b` of two operands `listed(a)` holds of, or `a * k`
    (`k * a`) of one and an int literal.

        >>> joins_lists(ast.parse("[a] + [b] * 2", mode="eval").body, lambda v: isinstance(v, ast.List))
        True
    """
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add):
        return listed(e.left) and listed(e.right)
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Mult):
        return listed(e.left) and _int_literal(e.right) or _int_literal(e.left) and listed(e.right)
    return False


def _int_literal(e) -> bool:
    return isinstance(e, ast.Constant) and type(e.value) is int
