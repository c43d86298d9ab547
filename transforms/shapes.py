"""Shape inference over generated code, from the shapes the arguments have in one call.

Given the shape of each parameter (`()` for a number, the array's shape for
an array), `Shapes` gives every local name the one shape all its assignments
produce, or `None` where that is not certain: assignments that disagree, a
call it does not know, anything not an array or a number. Inference is flow
insensitive (one shape per name for the whole function, the join of all its
assignments, iterated to a fixed point through loops), so a shape it reports
holds wherever the name is read.

A shape of `()` may be a Python number, and the runtime treats the number
0.0 as a zero of any shape; rules over runtime helpers therefore only claim a
shape when the adjoint argument is certainly an array (a shape other than `()`).

Beside shapes it finds the names that certainly hold real floating-point values
(`reals`, from the parameters' dtypes): arithmetic on those cannot fail on a
dtype (a negative integer power, a boolean negation), which lets dead-code
elimination drop it and lets adjoints be accumulated in place.
"""

from __future__ import annotations

import ast
import builtins

import numpy as np

from .context import ctx
from .names import assigned_names

_SCALAR_BUILTINS = {len, float, int, abs, round, bool}


def broadcast(*shapes):
    """The broadcast of known shapes, or None (an unknown one, or shapes that do not broadcast)."""
    if any(s is None for s in shapes):
        return None
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def matmul(a, b):
    """The shape of `a @ b` for 1-d and 2-d operands, or None."""
    if a is None or b is None or not 1 <= len(a) <= 2 or not 1 <= len(b) <= 2:
        return None
    if a[-1] != b[0]:
        return None
    return a[:-1] + b[1:]


def _reduced(shape, axis, keepdims):
    if shape is None or not isinstance(keepdims, bool):
        return None
    if axis is None:
        axes = set(range(len(shape)))
    else:
        items = axis if isinstance(axis, tuple) else (axis,)
        if not all(isinstance(a, int) and not isinstance(a, bool) and -len(shape) <= a < len(shape) for a in items):
            return None
        axes = {a % len(shape) for a in items}
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _literal(node, default):
    """The value of a literal argument (None, an int, a bool, a tuple of ints), or `default` if absent."""
    if node is None:
        return default
    try:
        return ast.literal_eval(node)
    except ValueError:
        return _NOT_LITERAL


_NOT_LITERAL = object()


class Shapes:
    """Shapes of the names of one generated function (`self.env`) and of its expressions (`of`)."""

    def __init__(self, fdef: ast.FunctionDef, params: dict, resolve, runtime_helpers: dict, kinds=None,
                 tapes=frozenset()):
        self.resolve = resolve
        self.tapes = tapes  # the lists s2s saves values on (tape, checkpoint snapshots): a pop restores
        self.helpers = runtime_helpers  # runtime function -> its short name ("unbroadcast", ...)
        self.assigned, self.restored = set(), set()
        self._assigned_values = {}  # name -> the value expressions bound to it (None: not a plain binding)
        self._bindings, loops = {}, []
        for n in ast.walk(fdef):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                self.assigned.add(n.id)
                self._bindings[n.id] = self._bindings.get(n.id, 0) + 1
            elif isinstance(n, ast.Assign):
                for target in n.targets:
                    names = [target.id] if isinstance(target, ast.Name) else assigned_names(target)
                    for name in names:
                        self._assigned_values.setdefault(name, []).append(n.value if isinstance(target, ast.Name) else None)
                if len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) and self._is_pop(n.value):
                    self.restored.add(n.targets[0].id)
            elif isinstance(n, ast.For | ast.AugAssign | ast.NamedExpr):
                for name in assigned_names(n.target):
                    self._assigned_values.setdefault(name, []).append(None)
                if isinstance(n, ast.For):
                    loops.append(n)
        params_bound = {a.arg for a in ast.walk(fdef.args) if isinstance(a, ast.arg)}
        self.local = self.assigned | params_bound
        range_loops = {}
        for n in loops:
            if isinstance(n.target, ast.Name) and self._is_range(n.iter):
                range_loops[n.target.id] = range_loops.get(n.target.id, 0) + 1
        # an int: a name bound only ever by loops over ranges
        self.ints = {name for name, count in range_loops.items()
                     if self._bindings.get(name) == count and name not in params_bound}
        self.env = dict(params)
        self._params = set(params)
        self._infer(fdef)
        self.reals = self._real_names(kinds or {})

    # ---- names -----------------------------------------------------------
    def _infer(self, fdef):
        for _ in range(12):
            before = dict(self.env)
            self._block(fdef.body)
            if self.env == before:
                return
        for name in list(self.env):  # no fixed point in time: claim nothing beyond the parameters
            if name not in self._params:
                self.env[name] = None

    # ---- real floating-point values -----------------------------------------
    def _real_names(self, kinds):
        """Names that certainly hold real floating-point numbers or arrays (greatest fixed point)."""
        reals = {p for p, k in kinds.items() if k in "efdg"}  # dtype characters of real floating types
        candidates = {n for n, values in self._assigned_values.items()
                      if n not in self._params and all(v is not None for v in values)}
        while True:
            env = reals | candidates
            drop = {n for n in candidates
                    if not all(self._is_pop(v) or (isinstance(v, ast.Constant) and v.value is None and n in self.restored)
                               or self.real(v, env) for v in self._assigned_values[n])}
            if not drop:
                return env
            candidates -= drop

    def real(self, node, reals=None) -> bool:
        """True when `node` certainly computes real floating-point values (its operations then cannot fail on dtype)."""
        reals = self.reals if reals is None else reals
        if isinstance(node, ast.Constant):
            return type(node.value) is float
        if isinstance(node, ast.Name):
            return node.id in reals and node.id in self.local
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow | ast.MatMult):
                return False
            sides = [node.left, node.right]
            return any(self.real(x, reals) for x in sides) and all(self.real(x, reals) or _int_literal(x) for x in sides)
        if isinstance(node, ast.UnaryOp):
            return isinstance(node.op, ast.USub | ast.UAdd) and self.real(node.operand, reals)
        if isinstance(node, ast.Attribute):
            return node.attr == "T" and self.real(node.value, reals)
        if isinstance(node, ast.Call) and not node.keywords:
            obj = self.callee(node)
            if not ctx().fact(obj, "real"):  # the rule says: real floats in, real floats out, never raises
                return False
            return bool(node.args) and all(self.real(a, reals) or _int_literal(a) for a in node.args) \
                and any(self.real(a, reals) for a in node.args)
        return False

    def _join(self, name, shape):
        if name not in self.env:
            self.env[name] = shape
        elif self.env[name] != shape:
            self.env[name] = None

    def _block(self, stmts):
        for s in stmts:
            if isinstance(s, ast.Assign):
                self._assign(s)
            elif isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name):
                self._join(s.target.id, broadcast(self.env.get(s.target.id), self.of(s.value)))
            elif isinstance(s, ast.For):
                if isinstance(s.target, ast.Name) and s.target.id in self.ints:
                    self._join(s.target.id, ())
                else:
                    self._unknown(s.target)
                self._block(s.body)
                self._block(s.orelse)
            elif isinstance(s, ast.While | ast.If):
                self._block(s.body)
                self._block(s.orelse)
            elif isinstance(s, ast.Expr | ast.Return | ast.Pass | ast.Assert) or type(s).__name__ == "Comment":
                continue
            else:  # nested functions, with, try, ...: what they assign is not followed
                self._unknown(s)

    def _is_pop(self, node):
        """`tape.pop()`: a value saved earlier from the same name (a user's list may hold anything)."""
        return _is_pop(node, self.tapes)

    def _is_range(self, node):
        """A range (`range(...)`, reversed or sliced, or a name only ever bound to one): its items are ints."""
        if isinstance(node, ast.Name):
            values = self._assigned_values.get(node.id)
            return bool(values) and all(v is not None and self._is_range(v) for v in values)
        if isinstance(node, ast.Subscript):
            return isinstance(node.slice, ast.Slice) and self._is_range(node.value)
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or node.func.id in self.local:
            return False
        obj = self.resolve(node.func.id)
        if obj is range:
            return True
        return obj is reversed and len(node.args) == 1 and self._is_range(node.args[0])

    def _unknown(self, node):
        for name in assigned_names(node):
            self.env[name] = None

    def _assign(self, s):
        if self._is_pop(s.value) and all(isinstance(t, ast.Tuple) and all(isinstance(e, ast.Name) for e in t.elts)
                                    for t in s.targets):
            return  # a snapshot restored (`h, t = snapshots.pop()`): earlier values of the same names
        if isinstance(s.value, ast.Constant) and s.value.value is None \
                and all(isinstance(t, ast.Name) and t.id in self.restored for t in s.targets):
            return  # a placeholder for the tape (`t = t2 = None`), never read as a value
        if len(s.targets) != 1 or not isinstance(s.targets[0], ast.Name):
            for t in s.targets:
                if not isinstance(t, ast.Subscript | ast.Attribute):
                    self._unknown(t)
            return
        name, value = s.targets[0].id, s.value
        if self._is_pop(value):
            return  # restores an earlier value of the same name
        self._join(name, self.of(value))

    # ---- expressions -----------------------------------------------------
    def of(self, node, env=None):
        """The shape of expression `node`, or None when not certain."""
        env = self.env if env is None else env
        if isinstance(node, ast.Constant):
            v = node.value
            return () if isinstance(v, int | float | bool) else None
        if isinstance(node, ast.Name):
            return env.get(node.id) if node.id in self.local else None
        if isinstance(node, ast.BinOp):
            left, right = self.of(node.left, env), self.of(node.right, env)
            if isinstance(node.op, ast.MatMult):
                return matmul(left, right)
            return broadcast(left, right)
        if isinstance(node, ast.UnaryOp):
            inner = self.of(node.operand, env)
            return inner if not isinstance(node.op, ast.Not) or inner == () else None
        if isinstance(node, ast.Compare):
            return broadcast(self.of(node.left, env), *(self.of(c, env) for c in node.comparators))
        if isinstance(node, ast.IfExp):
            body, orelse = self.of(node.body, env), self.of(node.orelse, env)
            return body if body == orelse else None
        if isinstance(node, ast.Attribute):
            if node.attr == "T":
                inner = self.of(node.value, env)
                return None if inner is None else inner[::-1]
            return None
        if isinstance(node, ast.Subscript):
            return self._subscript(node, env)
        if isinstance(node, ast.Call):
            return self._call(node, env)
        return None

    def _subscript(self, node, env):
        base = self.of(node.value, env)
        index = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if base is None or len(index) > len(base):
            return None
        for i in index:  # integers only: a slice, an array or a bool index changes shapes otherwise
            if isinstance(i, ast.Constant) and type(i.value) is int:
                continue
            if isinstance(i, ast.Name) and i.id in self.ints and env.get(i.id) == ():
                continue
            return None
        return base[len(index):]

    def callee(self, node):
        """The object a call's function expression denotes, or None (a local, or not a dotted name)."""
        parts = []
        f = node.func
        while isinstance(f, ast.Attribute):
            parts.append(f.attr)
            f = f.value
        if not isinstance(f, ast.Name) or f.id in self.local:
            return None
        obj = self.resolve(f.id)
        for p in reversed(parts):
            obj = getattr(obj, p, None)
        return obj

    def _call(self, node, env):
        obj = self.callee(node)
        if obj is None:
            return None
        args = node.args
        kw = {k.arg: k.value for k in node.keywords}
        if any(isinstance(a, ast.Starred) for a in args) or None in kw:
            return None
        helper = self.helpers.get(obj) if hashable(obj) else None
        if helper is not None:
            return self._helper(helper, args, env)
        if obj is np.matmul or obj is np.dot:  # (np.matmul is a ufunc too, but not an elementwise one)
            return matmul(*(self.of(a, env) for a in args)) if len(args) == 2 and not kw else None
        if isinstance(obj, np.ufunc):
            if kw or len(args) != obj.nin or obj.nout != 1 or obj.signature is not None:
                return None
            return broadcast(*(self.of(a, env) for a in args))
        if hashable(obj) and obj in _SCALAR_BUILTINS and obj is getattr(builtins, obj.__name__, None):
            if obj is len:
                return ()
            return () if len(args) == 1 and not kw and self.of(args[0], env) == () else None
        if ctx().fact(obj, "reduction"):
            if len(args) < 1 or len(args) > 2 or set(kw) - {"axis", "keepdims"}:
                return None
            axis = _literal(args[1] if len(args) > 1 else kw.get("axis"), None)
            keepdims = _literal(kw.get("keepdims"), False)
            if axis is _NOT_LITERAL or keepdims is _NOT_LITERAL:
                return None
            return _reduced(self.of(args[0], env), axis, keepdims)
        if obj is np.outer and len(args) == 2 and not kw:
            a, b = (self.of(x, env) for x in args)
            return None if a is None or b is None else (int(np.prod(a)), int(np.prod(b)))
        if obj is np.where and len(args) == 3 and not kw:
            return broadcast(*(self.of(a, env) for a in args))
        if obj in (np.zeros_like, np.ones_like) and len(args) == 1 and not kw:
            return self.of(args[0], env)
        return None

    def _helper(self, name, args, env):
        shapes = [self.of(a, env) for a in args]
        g = shapes[0] if shapes else None
        array_g = g is not None and g != ()  # not a Python number: not the symbolic zero
        if name == "unbroadcast" and len(args) == 2:
            if g == () and shapes[1] == ():
                return ()
            return shapes[1] if array_g else None
        if name == "expand_reduced" and len(args) == 4:
            return shapes[1] if g is not None else None  # a number, even 0.0, is broadcast to x's shape
        if name == "reduced_size":
            return ()
        if name in ("grad_matmul_a", "grad_matmul_b") and len(args) == 3:
            target = shapes[1] if name == "grad_matmul_a" else shapes[2]
            return target if array_g and target not in (None, ()) else None
        if name == "add" and len(args) == 2:
            return broadcast(*shapes) if array_g and shapes[1] not in (None, ()) else None
        if name == "copy" and len(args) == 1:
            return g
        if name == "unshared" and len(args) >= 4:  # the ownership guard returns its first argument
            return g
        return None


def _int_literal(node):
    return isinstance(node, ast.Constant) and type(node.value) is int


def hashable(obj) -> bool:
    """Whether `obj` can be looked up in a set or dict (NumPy functions can; some objects cannot)."""
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def _is_pop(node, tapes):
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
        and isinstance(node.func.value, ast.Name) and node.func.value.id in tapes and node.func.attr == "pop" \
        and not node.args and not node.keywords
