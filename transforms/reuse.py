"""An array temporary read once, by elementwise arithmetic, lends its array to the result.

    h_bar = z_bar @ W2.T                     h_bar = z_bar @ W2.T
    t_bar = h_bar * (t > 0.0)       ->       h_bar *= t > 0.0
    W1_bar = X.T @ t_bar                     W1_bar = X.T @ h_bar

The product is computed into the array `h_bar` already has instead of a new one: no allocation,
and memory that is already in the cache. Done where the shapes pass proves it the same values:

- `h_bar` is a name the code generator made up, bound once, by arithmetic that makes a new array
  (an operator on arrays: nothing else refers to that array), and read once, here, in the same loop
  (a read in a loop the binding is outside of runs on every trip: `t = 2 * x` before a loop whose
  body has `g = g * t` must keep `t`);
- the result has `h_bar`'s shape (the other operand broadcasts into it) and its dtype: every
  argument is float64, `h_bar` is real, and the other operand is real or a comparison (a mask);
- the operator is `+`, `-`, `*` or `/` with `h_bar` on the left, or `+` or `*` with it on the
  right (IEEE addition and multiplication are commutative, so `b * a` is `a * b` bit for bit).

A negation scaled so (`t = -a` then `t *= 2`) is one product, `t = -2 * a`: negation is exact.

`a op= b` then runs the same ufunc on the same numbers as `a op b`, writing into `a`, which
nothing reads again; outside loops, where the result's name is one the code generator made and
binds nowhere else, it is read as `a` from there on.
"""

from __future__ import annotations

import ast

from .names import name_counts
from .shapes import hashable
from .walk import fix_locations, statement_lists, walk, walk_nodes

__all__ = ["rebind_in_place", "reuse_dead_operands"]

_IN_PLACE = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_COMMUTATIVE = (ast.Add, ast.Mult)


def reuse_dead_operands(fdef: ast.FunctionDef, shapes, made_up: set, float64_only: bool) -> bool:
    """Rewrite `y = a op b` as `a op= b` (and `y = a`, or `y` read as `a`) where the module docstring's
    conditions hold.

    `shapes` are the shapes inferred over `fdef`; `made_up` the names the code generator made.
    Returns whether anything changed.
    """
    if not float64_only or any(isinstance(n, ast.FunctionDef | ast.Lambda) for n in walk_nodes(fdef) if n is not fdef) \
            or any(isinstance(n, ast.Constant) and isinstance(n.value, complex) for n in walk_nodes(fdef)):
        return False
    params = {a.arg for a in walk_nodes(fdef.args) if isinstance(a, ast.arg)}
    loads, stores = name_counts(fdef)
    binding = {node.targets[0].id: node.value for node in walk_nodes(fdef)
               if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)}
    bound_in = {}  # name -> the innermost loop around its assignment (None: none)

    def loops(stmts, loop):
        for s in stmts:
            if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
                bound_in[s.targets[0].id] = loop
            for field in ("body", "orelse"):
                inner = getattr(s, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    loops(inner, s if isinstance(s, ast.For | ast.While) else loop)

    loops(fdef.body, None)

    def own_array(name, loop):
        value = binding.get(name)
        return name in made_up and name not in params and stores.get(name) == 1 and loads.get(name) == 1 \
            and bound_in.get(name, False) is loop \
            and isinstance(value, ast.BinOp | ast.UnaryOp) and shapes.of(value) not in (None, ()) \
            and shapes.real(value)

    changed = False

    def block(stmts, top, loop):
        nonlocal changed
        out = []
        for s in stmts:
            for field in ("body", "orelse"):
                inner = getattr(s, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    setattr(s, field, block(inner, False, s if isinstance(s, ast.For | ast.While) else loop))
            pick = _operand(s, lambda name: own_array(name, loop), shapes)
            if pick is None and _negation_of_a_scale(s, out, renamed, lambda name: own_array(name, loop), shapes):
                # (`t *= 0.005; y = -t` is `t *= -0.005`, y read as t: one pass over the array, not two)
                y, array = s.targets[0].id, renamed.get(s.value.operand.id, s.value.operand.id)
                if top and y in made_up and y not in params and stores.get(y) == 1:
                    renamed[y] = array
                else:
                    out.append(ast.copy_location(ast.Assign(targets=s.targets, value=ast.Name(id=array, ctx=ast.Load())),
                                                 s))
                changed = True
                continue
            if pick is None:
                out.append(s)
                continue
            a, b = pick
            array = renamed.get(a.id, a.id)  # (a result read under the name of the array it was computed into)
            if not _scale_the_negation(out, array, s.value.op, b):
                out.append(ast.copy_location(ast.AugAssign(target=ast.Name(id=array, ctx=ast.Store()),
                                                           op=s.value.op, value=b), s))
            y = s.targets[0].id
            if top and y in made_up and y not in params and stores.get(y) == 1:
                # read as that array's name from here on: y is bound nowhere else, and outside loops no read of
                # y comes before this statement (in a loop, a read early in the next trip wants this trip's y)
                renamed[y] = array
            else:
                out.append(ast.copy_location(ast.Assign(targets=s.targets, value=ast.Name(id=array, ctx=ast.Load())), s))
            changed = True
        return out

    renamed = {}
    fdef.body = block(fdef.body, True, None)
    for node in walk_nodes(fdef):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in renamed:
            node.id = renamed[node.id]
    if changed:
        fix_locations(fdef)
    return changed


def rebind_in_place(fdef: ast.FunctionDef, shapes, made_up: set, float64_only: bool) -> bool:
    """`y = a op b` then `y = y op c` (y a made-up name, nothing reading y between): the second is `y op= c`, into the
    new array the first made, where the result has y's shape and dtype. Not where another name is bound to y as a
    whole (`solve_bar = x_bar`): its arrays are left as they are made, so that the passes after, which see the two
    as one array wherever they may be, find none changed in place. Whether anything changed.

        >>> # X_bar = t_bar + (X - mu) * c; X_bar = X_bar + m / 32   ->   X_bar = t_bar + ...; X_bar += m / 32
    """
    if not float64_only or any(isinstance(n, ast.FunctionDef | ast.Lambda) for n in walk(fdef) if n is not fdef) \
            or any(isinstance(n, ast.Constant) and isinstance(n.value, complex) for n in walk(fdef)):
        return False
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    copied = {n.value.id for n in walk(fdef) if isinstance(n, ast.Assign) and isinstance(n.value, ast.Name)}
    changed = False
    for stmts in statement_lists(fdef):
        fresh = set()  # made-up names bound in this block to a new array no statement has read since
        for k, s in enumerate(stmts):
            again = _rebinding(s, fresh, shapes)
            fresh -= {n.id for n in walk(s) if isinstance(n, ast.Name)}
            if again is not None:
                stmts[k] = ast.copy_location(ast.AugAssign(target=ast.Name(id=again[0], ctx=ast.Store()),
                                                           op=s.value.op, value=again[1]), s)
                fresh.add(again[0])
                changed = True
            elif isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                    and s.targets[0].id in made_up and s.targets[0].id not in params and s.targets[0].id not in copied \
                    and isinstance(s.value, ast.BinOp | ast.UnaryOp) and shapes.of(s.value) not in (None, ()) \
                    and shapes.real(s.value):
                fresh.add(s.targets[0].id)
    if changed:
        fix_locations(fdef)
    return changed


def _rebinding(s, fresh, shapes):
    """(y, b) for `y = y op b` (or `y = b op y`, op commutative) where y is in `fresh` (bound just before in this
    block to a new array nothing has read since), `b` does not read y, and the result has y's shape and dtype;
    else None."""
    if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
            and s.targets[0].id in fresh and isinstance(s.value, ast.BinOp) and isinstance(s.value.op, _IN_PLACE)):
        return None
    y = s.targets[0].id
    left, right, op = s.value.left, s.value.right, s.value.op
    for a, b in ((left, right), (right, left) if isinstance(op, _COMMUTATIVE) else (None, None)):
        if isinstance(a, ast.Name) and a.id == y and not any(isinstance(n, ast.Name) and n.id == y for n in walk(b)) \
                and shapes.of(s.value) == shapes.of(a) and _real_or_mask(b, shapes):
            return y, b
    return None


def _negation_of_a_scale(s, out, renamed, own_array, shapes) -> bool:
    """Whether `s` is `y = -t` of a temporary `t` whose array was last scaled in place by a real number (`t *= c` or
    `t /= c`, the statement just before): then that number is negated there, exactly (negation commutes with
    rounding: `(c * a)` negated is `(-c) * a` bit for bit, `a / c` negated `a / (-c)`). Rewrites `out[-1]`."""
    if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
            and isinstance(s.value, ast.UnaryOp) and isinstance(s.value.op, ast.USub)
            and isinstance(s.value.operand, ast.Name) and own_array(s.value.operand.id) and out):
        return False
    array = renamed.get(s.value.operand.id, s.value.operand.id)
    last = out[-1]
    if not (isinstance(last, ast.AugAssign) and isinstance(last.target, ast.Name) and last.target.id == array
            and isinstance(last.op, ast.Mult | ast.Div) and shapes.of(last.value) == () and shapes.real(last.value)):
        return False
    last.value = ast.copy_location(ast.UnaryOp(op=ast.USub(), operand=last.value), last.value)
    return True


def _scale_the_negation(out, array, op, b) -> bool:
    """`t = -a` just before `t *= 2` is `t = -2 * a` (and `t /= 2` is `t = a / -2`): one pass over the array
    instead of two. Exact: negation is exact, so `(-a) * c` is `a * (-c)` bit for bit; c is a nonzero number
    literal (with 0, `(-a) * 0` and `a * -0` differ in the sign of a zero). Rewrites `out[-1]` in place."""
    if not (out and isinstance(out[-1], ast.Assign) and len(out[-1].targets) == 1
            and isinstance(out[-1].targets[0], ast.Name) and out[-1].targets[0].id == array
            and isinstance(out[-1].value, ast.UnaryOp) and isinstance(out[-1].value.op, ast.USub)
            and isinstance(op, ast.Mult | ast.Div) and isinstance(b, ast.Constant)
            and type(b.value) in (int, float) and b.value != 0):
        return False
    negated, operand = ast.Constant(value=-b.value), out[-1].value.operand
    out[-1].value = ast.BinOp(left=negated, op=ast.Mult(), right=operand) if isinstance(op, ast.Mult) else \
        ast.BinOp(left=operand, op=ast.Div(), right=negated)
    return True


def _operand(s, own_array, shapes):
    """(the temporary whose array takes the result, the other operand) for `y = a op b`, or None."""
    if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
            and isinstance(s.value, ast.BinOp) and isinstance(s.value.op, _IN_PLACE)):
        return None
    left, right, op = s.value.left, s.value.right, s.value.op
    result = shapes.of(s.value)
    for a, b in ((left, right), (right, left) if isinstance(op, _COMMUTATIVE) else (None, None)):
        if isinstance(a, ast.Name) and own_array(a.id) and result == shapes.of(a) and _real_or_mask(b, shapes) \
                and not (isinstance(b, ast.Name) and b.id == a.id):
            return a, b
    return None


def _real_or_mask(node, shapes):
    """Real floating point (float64 here), or booleans: the result of `a op node` keeps a's float64."""
    if isinstance(node, ast.Compare):
        return True
    if isinstance(node, ast.Constant):
        return type(node.value) in (int, float)
    if isinstance(node, ast.IfExp):
        return _real_or_mask(node.body, shapes) and _real_or_mask(node.orelse, shapes)
    callee = shapes.callee(node) if isinstance(node, ast.Call) else None
    if callee is not None and hashable(callee) and shapes.helpers.get(callee) == "balanced_eq" and node.args:
        return shapes.real(node.args[0])  # a mask in its first argument's float dtype
    return shapes.real(node)
