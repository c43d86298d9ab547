"""The adjoint of a max shift that the function's value does not depend on is zero: it is not computed.

A log-sum-exp subtracts the maximum first, so that `np.exp` cannot overflow:

    m = np.max(z, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + m

For any `m` constant along the summed axis, `lse` is the same number in exact arithmetic: `m` is
subtracted inside the exponential and added back outside the logarithm. So `lse` does not depend on
`m` at all, and neither do its derivatives: the adjoint that reaches `m` (one minus the sum of the
softmax, per row) is zero, and the max's adjoint that hands it to the row's largest entries
(`s2s.grad_extreme`, a mask, a count per row) adds zero. Here the primal program is read to prove
that the function's outputs do not depend on `m`, and where the proof goes through the max's
adjoint is deleted (`z_bar = z_bar + s2s.grad_extreme(m_bar, m, z, 1, True)`); the computation of
`m_bar` is then dead code. The gradient is the same function of the arguments, computed without a
sum that is zero up to rounding: the numbers differ from the general code's by that rounding.

The proof follows `m` forward through the statements of its block and keeps, for each value made
from it, how a shift `m + d` changes it, exactly, for every `d`:

- `v + k*d` (additive): `m` itself (k = 1), `z - m` (k = -1), sums, negations, products with a
  number literal, reductions over axes along which `d` is constant (`np.max`, `np.mean`, `np.sum`);
- `v * exp(k*d)` (multiplicative): `np.exp` of an additive value, its products and quotients with
  values that do not depend on `m`, sums over axes along which `d` is constant, powers by literals;
- `np.log` of a multiplicative value is additive again, with the same k;
- slices with literal bounds (`[::-1]`, `[1:]`) along an axis where `d` is constant keep k, and so do the
  partial sums of a multiplicative value along such an axis (`np.cumsum(e[::-1])[::-1]`: a Cox likelihood's
  risk sets).

A value whose k is 0 does not depend on `m`. `d` has `m`'s shape; each value also records along which
of its axes `d` varies (`m[:, None]`, broadcasting, `keepdims`), so that a sum over an axis along which
`d` varies, or two values whose `d` lie along different axes, stop the proof. So do: any other use of a
value that depends on `m` (a call, a comparison, a condition, the returned value, a read in another
block or before its assignment), and a name assigned more than once (a name rebound in straight-line
code, `s = s - m`, has a name per value by then: transforms/rebinding.py). The check `s2s.inplace_check(z, m, "-")` of
`z -= m` reads no value, only shapes and dtypes, which a shift keeps. Handled spellings include
`keepdims=True`, `m[:, None]`, a scalar max over all entries, `np.exp(z - m).sum(axis=1)`, the
log-softmax `z - m - np.log(...)`, the softmax `e / e.sum(...)` (its k is 0) and `-(-m)`.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .context import ctx
from .shapes import NOT_LITERAL, literal
from .walk import statement_lists, walk

__all__ = ["drop_shift_adjoints", "shift_free"]

_EXTREMA = ("max", "min", "amax", "amin")
_REDUCTIONS = (np.sum, np.mean, np.max, np.min, np.amax, np.amin)


def drop_shift_adjoints(fdef: ast.FunctionDef, primal: ast.FunctionDef, shapes_of) -> bool:
    """Delete, in the generated code `fdef`, the adjoint of every max or min of the primal program
    `primal` whose value the outputs do not depend on (`shift_free`). `shapes_of(fdef)` infers shapes
    (`specialize.Context.shapes`). Returns whether anything changed.

        >>> import numpy as np
        >>> import s2s.pipeline, s2s.runtime
        >>> from s2s.transforms import specialize
        >>> primal = ast.parse('''
        ... def f(z):
        ...     m = np.max(z)
        ...     t = z - m
        ...     e = np.exp(t)
        ...     s = np.sum(e)
        ...     log = np.log(s)
        ...     out = log + m
        ...     return out''').body[0]
        >>> code = ast.parse("def df(z):\\n    z_bar = z_bar + s2s.grad_extreme(m_bar, m, z, None, False)").body[0]
        >>> context = specialize.Context({"z": (5,)}, {"np": np, "s2s": s2s.runtime}.get, "np")
        >>> drop_shift_adjoints(code, primal, context.shapes), [type(s).__name__ for s in code.body]
        (True, ['Comment', 'Pass'])
    """
    if not any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in _EXTREMA
               for n in walk(primal)):
        return False  # (the cheap test: no max or min in the function)
    sites = [(block, i) for block in statement_lists(fdef) for i, s in enumerate(block) if _extreme_adjoint(s) is not None]
    if not sites:
        return False
    shapes = shapes_of(primal)
    free = shift_free(primal, shapes)
    from .reverse import Comment  # (the comment node the code printer renders as a `#` line)

    helper = ctx().runtime.grad_extreme
    changed = False
    for block, i in reversed(sites):
        target, call = _extreme_adjoint(block[i])
        ans, value = call.args[1], block[i].value
        if not (isinstance(ans, ast.Name) and ans.id in free and shapes.callee(call) is helper) \
                or value is not call and isinstance(value, ast.Call) and shapes.callee(value) is not ctx().runtime.add:
            continue
        note = Comment(f"s2s: no adjoint for {ans.id}: the value is the same for any shift {ans.id} (docs/specialisation.md)")
        note.lineno = getattr(block[i], "lineno", 1)
        if value is call:  # the first contribution: the adjoint stays zero
            block[i].value = ast.copy_location(ast.Constant(0.0), value)
            block.insert(i, note)
        else:
            block[i] = note
            if all(isinstance(s, Comment) for s in block):
                block.append(ast.Pass())
        changed = True
    return changed


def shift_free(primal: ast.FunctionDef, shapes) -> set[str]:
    """The names bound once to a max or min (`m = np.max(z, ...)`) in `primal` that its outputs do not
    depend on (see the module's docstring); `shapes` are those inferred over `primal`."""
    stores, loads = {}, {}
    for n in walk(primal):
        if isinstance(n, ast.Name):
            counts = loads if isinstance(n.ctx, ast.Load) else stores
            counts[n.id] = counts.get(n.id, 0) + 1
        elif isinstance(n, ast.Global | ast.Nonlocal):
            for name in n.names:
                stores[name] = stores.get(name, 0) + 2  # (never one of the names followed)
    params = {a.arg for a in walk(primal.args) if isinstance(a, ast.arg)}
    free = set()
    for block in statement_lists(primal):
        for i, s in enumerate(block):
            if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
                    and isinstance(s.value, ast.Call) and shapes.callee(s.value) in (np.max, np.min, np.amax, np.amin)):
                continue
            name = s.targets[0].id
            if name in params or stores.get(name) != 1:
                continue
            try:
                if _Proof(shapes, stores, loads, params).run(name, block[i + 1:], s.value):
                    free.add(name)
            except _Unproven:
                pass
    return free


class _Unproven(Exception):
    """The value may depend on the shift: leave its adjoint."""


@dataclass(frozen=True)
class _Shift:
    """How a shift `m + d` changes a value `v`: to `v + k*d` (additive) or `v * exp(k*d)` (multiplicative).

    `axes` has one entry per axis of `v`: the axis of `m` that `d` varies along there, or None where `d`
    is constant along it (every axis of `m` longer than 1 appears exactly once)."""

    multiplicative: bool
    k: Fraction
    axes: tuple
    shape: tuple  # v's shape


class _Proof:
    def __init__(self, shapes, stores, loads, params):
        self.shapes, self.stores, self.loads, self.params = shapes, stores, loads, params
        self.shifted = {}  # name -> _Shift
        self.read = {}  # name -> the reads of it followed

    def run(self, name, rest, value) -> bool:
        """Whether the outputs do not depend on `name`, bound to the max or min `value` (whose node has the
        facts of its program point: a name's facts over the whole function may join other shapes)."""
        shape = self._shape(value)
        self.shifted[name] = _Shift(False, Fraction(1), tuple(i if n != 1 else None for i, n in enumerate(shape)), shape)
        for s in rest:
            if not self._reads(s):
                continue
            if self._check(s):  # s2s.inplace_check(z, m, "-") of `z -= m`: it reads shapes and dtypes, no values
                for n in walk(s):
                    if isinstance(n, ast.Name) and n.id in self.shifted:
                        self.read[n.id] = self.read.get(n.id, 0) + 1
                continue
            if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)):
                raise _Unproven
            target = s.targets[0].id
            if target in self.params or self.stores.get(target) != 1:
                raise _Unproven
            shift = self._value(s.value)
            if shift is not None:
                self.shifted[target] = shift
        # every read of every value that depends on m was followed (none in another block, none earlier)
        return all(self.read.get(n, 0) == self.loads.get(n, 0) for n in self.shifted)

    def _check(self, s) -> bool:
        """Whether `s` is the check `s2s.inplace_check(y, v, op)` of `y op= v` (transforms/lower.py), or
        `s2s.numbers_or_arrays(m, 'm')` (transforms/operator_objects.py): whether it raises depends on the shapes
        and dtypes of y and v alone, or on the kind of value m is, which a shift `m + d` leaves as they are."""
        checks = (getattr(ctx().runtime, "inplace_check", None), getattr(ctx().runtime, "numbers_or_arrays", None))
        return isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) \
            and any(c is not None and self.shapes.callee(s.value) is c for c in checks)

    def _reads(self, node) -> bool:
        return any(isinstance(n, ast.Name) and n.id in self.shifted for n in walk(node))

    def _shape(self, node) -> tuple:
        shape = self.shapes.of(node)
        if not isinstance(shape, tuple) or not all(type(n) is int for n in shape):
            raise _Unproven
        return shape

    def _value(self, node) -> _Shift | None:
        """How `node` changes with the shift; None where it does not depend on m."""
        if not self._reads(node):
            return None
        if isinstance(node, ast.Name):
            self.read[node.id] = self.read.get(node.id, 0) + 1
            return self.shifted[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = self._value(node.operand)
            if inner is None:
                return None  # (read m, yet does not depend on it: `-(z - m - log(s))`)
            if inner.multiplicative:
                raise _Unproven
            return inner if isinstance(node.op, ast.UAdd) else _made(False, -inner.k, inner.axes, inner.shape)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise _Unproven

    def _binop(self, node):
        a, b = self._value(node.left), self._value(node.right)
        sa = a.shape if a is not None else self._shape(node.left)
        sb = b.shape if b is not None else self._shape(node.right)
        try:
            out = tuple(np.broadcast_shapes(sa, sb))
        except ValueError:
            raise _Unproven from None
        la, lb = _lifted(a, out), _lifted(b, out)
        op = node.op
        if isinstance(op, ast.Add | ast.Sub):
            sign = 1 if isinstance(op, ast.Add) else -1
            if all(s is None or not s.multiplicative for s in (a, b)) and (a is None or b is None or la == lb):
                k = (a.k if a is not None else 0) + sign * (b.k if b is not None else 0)
                return _made(False, k, la if a is not None else lb, out)
            raise _Unproven
        if isinstance(op, ast.Mult | ast.Div):
            sign = 1 if isinstance(op, ast.Mult) else -1
            if all(s is None or s.multiplicative for s in (a, b)) and (a is None or b is None or la == lb):
                k = (a.k if a is not None else 0) + sign * (b.k if b is not None else 0)
                return _made(True, k, la if a is not None else lb, out)
            number = _number(node.right) if a is not None else _number(node.left) if sign == 1 else None
            if number is not None and number != 0:  # an additive value times (or over) a number literal
                shift = a if a is not None else b
                return _made(False, shift.k * number if sign == 1 else shift.k / number, la if a is not None else lb,
                             out)
            raise _Unproven
        if isinstance(op, ast.Pow) and a is not None and a.multiplicative and b is None:
            number = _number(node.right)
            if number is not None:
                return _made(True, a.k * number, la, out)
        raise _Unproven

    def _subscript(self, node):
        if self._reads(node.slice):
            raise _Unproven
        shift = self._value(node.value)
        if shift is None:
            return None
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        axes, sizes = list(shift.axes), list(shift.shape)
        out, shape = [], []
        for n, item in enumerate(items):
            if isinstance(item, ast.Constant) and item.value is Ellipsis:
                rest = sum(1 for i in items[n + 1:] if not (isinstance(i, ast.Constant) and i.value is None))
                if rest > len(axes):
                    raise _Unproven
                keep = len(axes) - rest
                out, shape = out + axes[:keep], shape + sizes[:keep]
                axes, sizes = axes[keep:], sizes[keep:]
            elif isinstance(item, ast.Constant) and item.value is None:
                out.append(None)  # np.newaxis
                shape.append(1)
            elif isinstance(item, ast.Slice) and item.lower is None and item.upper is None and item.step is None:
                if not axes:
                    raise _Unproven
                out.append(axes.pop(0))
                shape.append(sizes.pop(0))
            elif _integer(item) and axes and axes[0] is None and -sizes[0] <= _number(item) < sizes[0]:
                axes.pop(0)  # an item along an axis where the shift is constant
                sizes.pop(0)
            elif isinstance(item, ast.Slice) and axes and axes[0] is None and _slice_bounds(item) is not None:
                axes.pop(0)  # a slice (`[::-1]`, `[1:]`) along an axis where the shift is constant: the same d
                out.append(None)
                shape.append(len(range(*slice(*_slice_bounds(item)).indices(sizes.pop(0)))))
            else:
                raise _Unproven
        return _Shift(shift.multiplicative, shift.k, tuple(out + axes), tuple(shape + sizes))

    def _call(self, node):
        callee = self.shapes.callee(node)
        if not node.args or any(isinstance(a, ast.Starred) for a in node.args) \
                or any(self._reads(a) for a in node.args[1:]) or any(self._reads(k.value) for k in node.keywords):
            raise _Unproven
        if callee is np.exp or callee is np.log:
            if len(node.args) != 1 or node.keywords:
                raise _Unproven
            inner = self._value(node.args[0])
            if inner is None:
                return None
            if inner.multiplicative != (callee is np.log):
                raise _Unproven
            return _Shift(callee is np.exp, inner.k, inner.axes, inner.shape)
        if any(callee is f for f in _REDUCTIONS):
            return self._reduction(node, callee)
        if callee is np.cumsum:
            return self._cumsum(node)
        raise _Unproven

    def _cumsum(self, node):
        """np.cumsum of a multiplicative value along an axis where the shift is constant (along every axis for
        axis None, which flattens): each partial sum of `v * exp(k*d)` is that of v times exp(k*d)."""
        keywords = {k.arg: k.value for k in node.keywords}
        if len(node.args) > 2 or set(keywords) - {"axis"} or (len(node.args) == 2 and "axis" in keywords):
            raise _Unproven
        inner = self._value(node.args[0])
        axis = _literal(node.args[1] if len(node.args) == 2 else keywords.get("axis"), None)
        if inner is None:
            return None
        if not inner.multiplicative:
            raise _Unproven  # (partial sums of v + k*d add k*d once per term: no shift form)
        if axis is None:
            if any(a is not None for a in inner.axes):
                raise _Unproven
            return _Shift(True, inner.k, (None,), (math.prod(inner.shape),))
        if type(axis) is not int or not -len(inner.shape) <= axis < len(inner.shape) \
                or inner.axes[axis % len(inner.shape)] is not None:
            raise _Unproven
        return inner

    def _reduction(self, node, callee):
        keywords = {k.arg: k.value for k in node.keywords}
        if len(node.args) > 2 or set(keywords) - {"axis", "keepdims"} or (len(node.args) == 2 and "axis" in keywords):
            raise _Unproven
        inner = self._value(node.args[0])
        if inner is None:
            return None
        shape = inner.shape
        axis = _literal(node.args[1] if len(node.args) == 2 else keywords.get("axis"), None)
        keepdims = _literal(keywords.get("keepdims"), False)
        if axis is None:
            axis = tuple(range(len(shape)))
        axis = axis if isinstance(axis, tuple) else (axis,)
        if type(keepdims) is not bool or not all(type(a) is int and -len(shape) <= a < len(shape) for a in axis):
            raise _Unproven
        summed = {a % len(shape) for a in axis}
        if any(inner.axes[a] is not None for a in summed):
            raise _Unproven  # over an axis along which the shift varies
        k = inner.k
        if callee is np.sum and not inner.multiplicative:
            k = k * math.prod(shape[a] for a in summed)  # n values, each shifted by k*d
        kept = [a for a in range(len(shape)) if keepdims or a not in summed]
        return _made(inner.multiplicative, k, tuple(None if a in summed else inner.axes[a] for a in kept),
                     tuple(1 if a in summed else shape[a] for a in kept))


def _slice_bounds(item):
    """(start, stop, step) of a slice of int literals (or none), step not 0; else None."""
    bounds = []
    for part in (item.lower, item.upper, item.step):
        if part is None:
            bounds.append(None)
        elif _integer(part):
            bounds.append(int(_number(part)))
        else:
            return None
    return None if bounds[2] == 0 else tuple(bounds)


def _made(multiplicative, k, axes, shape):
    return None if k == 0 else _Shift(multiplicative, Fraction(k), axes, shape)


def _lifted(shift, out):
    """`shift.axes` for its value broadcast to the shape `out` (None where the value does not depend on m)."""
    return None if shift is None else (None,) * (len(out) - len(shift.shape)) + shift.axes


def _number(node):
    """The value of a finite int or float literal (or its negation) as a Fraction, else None."""
    negate = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
    if negate:
        node = node.operand
    if not (isinstance(node, ast.Constant) and type(node.value) in (int, float) and math.isfinite(node.value)):
        return None
    return -Fraction(node.value) if negate else Fraction(node.value)


def _integer(node) -> bool:
    number = _number(node)
    inner = node.operand if isinstance(node, ast.UnaryOp) else node
    return number is not None and type(inner.value) is int


def _literal(node, default):
    value = literal(node, default)
    if value is NOT_LITERAL:
        raise _Unproven
    return value


def _extreme_adjoint(s):
    """(target, call) of `t = t + s2s.grad_extreme(...)`, `t = s2s.add(t, s2s.grad_extreme(...))` or
    `t = s2s.grad_extreme(...)`, else None."""
    if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)):
        return None
    target, value = s.targets[0].id, s.value
    call = value
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add) and _is_name(value.left, target):
        call = value.right
    elif isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "add" \
            and len(value.args) == 2 and not value.keywords and _is_name(value.args[0], target):
        call = value.args[1]
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "grad_extreme"
            and len(call.args) == 5 and not call.keywords) or any(_is_name(n, target) for n in walk(call)):
        return None
    return target, call


def _is_name(node, name) -> bool:
    return isinstance(node, ast.Name) and node.id == name
