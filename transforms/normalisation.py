"""The adjoint of a division by a sum over an axis (a softmax's `P = E / E.sum(axis=1, keepdims=True)`) in
one sum, and the quotient the forward sweep computed read instead of divided again.

The rules write the adjoint of `P = E / s` and of `s = E.sum(axis=a, keepdims=True)` as four array
operations and a sum, and the adjoint of `E = np.exp(S)` as one more product:

    E_bar = P_bar / s                                          E_bar = (P_bar - np.sum(P_bar * P, axis=a,
    s_bar = np.sum(-P_bar * P / s, axis=a, keepdims=True)  ->           keepdims=True)) / s
    E_bar = E_bar + s_bar
    S_bar = E_bar * E                                          S_bar = (P_bar - np.sum(...)) * P

1. `divided_sums`: three statements in a row of one block (comment lines between them aside), `D = g / s` (or `D = D + g / s`) and
   `b = np.sum(-g * P / s, axis=a, keepdims=True)` (either first; `(-g * P / s).sum(...)` and
   `-((g * P).sum(...) / s)`, s taken out of the sum by transforms/specialize.py, alike), then
   `D = D + b` (or `D += b`), are the one statement `D = (g - np.sum(g * P, axis=a, keepdims=True)) / s`
   (`D = D + (...) / s`). Why the value is the same: `s` has extent 1 along axis `a` of the shape of
   `g` and `P` (which are the same shape, and `s` broadcasts into it), so it is one number along each
   slice the sum runs over and comes out of the sum: `sum(-g * P / s) = -sum(g * P) / s`, and
   `g / s - sum(g * P) / s = (g - sum(g * P)) / s`; the result has g's shape either way. Up to
   rounding only: the same sums and quotients, grouped otherwise (one division by `s` where there
   were two). Required, beside the shapes: `g`, `P` and `s` real floating-point arrays (int arrays
   would compute `g * P` in ints), `P` bound once in the function, by `P = E / s` with the same `s`
   (so where a slice of `s` is 0 the primal's P is not finite there, and both forms give non-finite
   numbers in that slice, though not always the same ones), `b` and `D` names the code generator
   made up, `b` bound and read nowhere else, and the sum statement not reading `D`.
2. `shared_quotients`: `X = N / s` followed by `Y = X * E` (`E * X`, or `X *= E`), where X is made up,
   read nowhere else, and an earlier statement of the same block computed `P = E / s` with E, s and P
   unchanged since: each bound once, to a new array (arithmetic, a ufunc, an axis sum), and read only
   where no other name can come to hold it or a view of it (operands of arithmetic, `.T` read by
   arithmetic, the array of a sum or a ufunc), so nothing changes it in place: `Y = N * P`. The same
   product `N * E / s` grouped otherwise, `N * (E / s)` (rounding only), with one operation where
   there were two; the shape (the broadcast of N, E and s) and the dtype (NumPy's promotion of
   arrays is associative) are the same, all of N, E, s and P being real floating-point arrays of
   known shapes. This is what makes the softmax's adjoint `P * (P_bar - sum(P_bar * P))`.

Only the function's own blocks are searched (no nested function); a rewrite drops statements, so the
shapes are inferred again after it.
"""

from __future__ import annotations

import ast

import numpy as np

from .names import name_counts
from .shapes import broadcast
from .walk import fix_locations, parent_map, statement_lists, walk

__all__ = ["divided_sums", "normalisation_adjoints", "shared_quotients"]


def normalisation_adjoints(fdef: ast.FunctionDef, shapes, infer, np_name: str, made_up: set) -> bool:
    """Rewrite the adjoints of divisions by a sum (1. of the module docstring), then products with a
    quotient the code computed (2.). `shapes` are the shapes inferred over `fdef`, `infer(fdef)` infers
    them again (after a rewrite); `np_name` the generated code's name of NumPy; `made_up` the names the
    code generator made up. Returns whether anything changed."""
    if any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) for n in walk(fdef) if n is not fdef) \
            or not any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div) for n in walk(fdef)):
        return False
    changed = False
    if any(isinstance(n, ast.keyword) and n.arg == "keepdims" for n in walk(fdef)):
        for _ in range(16):
            if not divided_sums(fdef, shapes, np_name, made_up):
                break
            changed = True
            shapes = infer(fdef)
    for _ in range(16):
        if not shared_quotients(fdef, shapes, made_up):
            break
        changed = True
        shapes = infer(fdef)
    if changed:
        fix_locations(fdef)
    return changed


# ---- what the statements are ------------------------------------------------------------------------------

def _name(node, name=None) -> bool:
    return isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and (name is None or node.id == name)


def _target(stmt):
    """The name `stmt` binds, where it is `name = value` with one plain name target."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    return None


def _quotient(node, s=None):
    """(numerator, divisor name) of `x / s` with `s` a name (`s` given: that name); else None."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and _name(node.right, s):
        return node.left, node.right.id
    return None


def _axis_sum(node, shapes):
    """(the summed expression, the axis) of `np.sum(x, axis=a, keepdims=True)` or `x.sum(axis=a,
    keepdims=True)` of an int literal `a`; else None."""
    if not isinstance(node, ast.Call) or any(isinstance(a, ast.Starred) for a in node.args):
        return None
    keywords = {k.arg: k.value for k in node.keywords}
    if set(keywords) != {"axis", "keepdims"} or not (isinstance(keywords["keepdims"], ast.Constant)
                                                       and keywords["keepdims"].value is True):
        return None
    axis = keywords["axis"]
    if isinstance(axis, ast.UnaryOp) and isinstance(axis.op, ast.USub) and isinstance(axis.operand, ast.Constant) \
            and type(axis.operand.value) is int:
        a = -axis.operand.value
    elif isinstance(axis, ast.Constant) and type(axis.value) is int:
        a = axis.value
    else:
        return None
    if len(node.args) == 1 and shapes.callee(node) is np.sum:
        return node.args[0], a
    if not node.args and isinstance(node.func, ast.Attribute) and node.func.attr == "sum" \
            and _array(node.func.value, shapes):
        return node.func.value, a  # (an ndarray's method: the value is a real array of known shape)
    return None


def _array(node, shapes) -> bool:
    """Whether `node` certainly computes a real floating-point array of a known shape (not a number)."""
    shape = shapes.of(node)
    return type(shape) is tuple and len(shape) >= 1 and all(type(n) is int for n in shape) and shapes.real(node)


def _summed_quotient(value, s, shapes):
    """(g, P, s, axis) of the nodes of `np.sum(-g * P / s, axis=a, keepdims=True)` (`(-g * P / s).sum(...)`, the
    negation also around the product), or of the forms transforms/specialize.py writes it in, the negation taken out of
    the sum, `-np.sum(g * P / s, ...)`, and s too, `-(np.sum(g * P, ...) / s)`: g and P names, s the name `s`; else
    None."""
    negated = isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub)
    inside = value.operand if negated else value
    q = _quotient(inside, s) if negated else None
    summed = _axis_sum(q[0] if q is not None else inside, shapes)
    if summed is None:
        return None
    inner, axis = summed
    if q is None:
        q = _quotient(inner, s)
        if q is None:
            return None
        s_node, inner = inner.right, q[0]
    else:
        s_node = inside.right
    product = _negated_product(ast.UnaryOp(op=ast.USub(), operand=inner) if negated else inner)
    if product is None:
        return None
    g_node, p_node = (inner.left, inner.right) if negated else \
        ((inner.left.operand, inner.right) if isinstance(inner, ast.BinOp) else (inner.operand.left, inner.operand.right))
    return g_node, p_node, s_node, axis


def _negated_product(node):
    """(g, P) of `-g * P` or `-(g * P)` with g and P names; else None."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and isinstance(node.left, ast.UnaryOp) \
            and isinstance(node.left.op, ast.USub) and _name(node.left.operand) and _name(node.right):
        return node.left.operand.id, node.right.id
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.BinOp) \
            and isinstance(node.operand.op, ast.Mult) and _name(node.operand.left) and _name(node.operand.right):
        return node.operand.left.id, node.operand.right.id
    return None


def _private(fdef, name, shapes, parents) -> bool:
    """Whether `name` holds the one array it is bound to from its binding on, and no other name ever refers to
    that array or a view of it: bound once in `fdef`, by a plain assignment of a new array (arithmetic, a
    NumPy ufunc of its inputs alone, an axis sum), and read only as an operand of arithmetic (`x *= E` too), of `.T` read by
    arithmetic, or as the array an axis sum or a ufunc reads. Then nothing can change the array in place."""
    found = [n for n in walk(fdef) if isinstance(n, ast.Name) and n.id == name]
    stores = [n for n in found if not isinstance(n.ctx, ast.Load)]
    if len(stores) != 1 or any(isinstance(a, ast.arg) and a.arg == name for a in walk(fdef.args)):
        return False
    binding = parents.get(id(stores[0]))
    if not (isinstance(binding, ast.Assign) and len(binding.targets) == 1 and binding.targets[0] is stores[0]
            and (isinstance(binding.value, ast.BinOp | ast.UnaryOp) or _ufunc(binding.value, shapes)
                 or _axis_sum(binding.value, shapes) is not None)):
        return False
    for n in found:
        if n is stores[0]:
            continue
        parent = parents.get(id(n))
        if isinstance(parent, ast.Attribute) and parent.attr == "T":
            n, parent = parent, parents.get(id(parent))
        elif isinstance(parent, ast.Attribute) and parent.attr == "sum" and isinstance(parents.get(id(parent)), ast.Call) \
                and _axis_sum(parents[id(parent)], shapes) is not None:
            continue
        if isinstance(parent, ast.BinOp | ast.UnaryOp) or isinstance(parent, ast.AugAssign) and n is parent.value:
            continue  # (`x *= E` binds x to x's array: no name comes to hold E's)
        if isinstance(parent, ast.Call) and (_ufunc(parent, shapes) or _axis_sum(parent, shapes) is not None) \
                and any(a is n for a in parent.args):
            continue
        return False
    return True


def _ufunc(node, shapes) -> bool:
    """Whether `node` is a call of a NumPy ufunc with its inputs alone (no `out`): a new array of arrays."""
    if not (isinstance(node, ast.Call) and not node.keywords) or any(isinstance(a, ast.Starred) for a in node.args):
        return False
    callee = shapes.callee(node)
    return isinstance(callee, np.ufunc) and len(node.args) == callee.nin


def _bound_once_as(fdef, name, s):
    """E of the one binding of `name` in `fdef` where it is `name = E / s` (E a name); else None."""
    found = [n for n in walk(fdef) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load) and n.id == name]
    if len(found) != 1:
        return None
    for stmt in walk(fdef):
        if _target(stmt) == name and stmt.targets[0] is found[0]:
            q = _quotient(stmt.value, s)
            return q[0].id if q is not None and _name(q[0]) else None
    return None


# ---- 1. the adjoint of a division by a sum ---------------------------------------------------------------

def divided_sums(fdef, shapes, np_name: str, made_up: set) -> bool:
    """Rewrite 1. of the module docstring, once (the shapes are those of `fdef` before). Returns whether it did."""
    loads, stores = name_counts(fdef)
    for block in statement_lists(fdef):
        stmts = _code(block)
        for k in range(len(stmts) - 2):
            for first, second in ((k, k + 1), (k + 1, k)):
                new = _divided_sum(fdef, stmts[first], stmts[second], stmts[k + 2], shapes, np_name, made_up,
                                   loads, stores)
                if new is not None:
                    stmts[first].value = new
                    _remove(block, stmts[k + 2])
                    _remove(block, stmts[second])
                    return True
    return False


def _code(block):
    """The statements of `block` but the comments (`# ...` lines the code printer writes)."""
    from .reverse import Comment
    return [s for s in block if not isinstance(s, Comment)]


class _Body(list):
    """The statements of the function's own body (its comments aside)."""


def _remove(block, stmt):
    del block[next(k for k, s in enumerate(block) if s is stmt)]


def _divided_sum(fdef, div, total, add, shapes, np_name, made_up, loads, stores):
    """The new value of `div` where `div`, `total` and `add` are the three statements of rewrite 1; else None."""
    d, b = _target(div), _target(total)
    if d is None or b is None or d == b or d not in made_up or b not in made_up:
        return None
    value = div.value  # `D = g / s` or `D = D + g / s`
    accumulated = isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add) and _name(value.left, d)
    q = _quotient(value.right if accumulated else value)
    if q is None or not _name(q[0]):
        return None
    g, s = q[0].id, q[1]
    found = _summed_quotient(total.value, s, shapes)
    if found is None:
        return None
    g_node, p_node, s_node, axis = found
    product = (g_node.id, p_node.id)
    if product is None or product[0] != g:
        return None
    p = product[1]
    # `D = D + b`, `D = b + D` or `D += b`
    if isinstance(add, ast.AugAssign):
        if not (isinstance(add.target, ast.Name) and add.target.id == d and isinstance(add.op, ast.Add)
                and _name(add.value, b)):
            return None
    elif not (_target(add) == d and isinstance(add.value, ast.BinOp) and isinstance(add.value.op, ast.Add)
              and {(add.value.left.id if _name(add.value.left) else None),
                   (add.value.right.id if _name(add.value.right) else None)} == {d, b} and b != d):
        return None
    # b bound here and read only by `add`; the sum does not read D; nothing in the three rebinds g, P or s
    if loads.get(b, 0) != 1 or stores.get(b, 0) != 1 or any(_name(n, d) for n in walk(total.value)):
        return None
    if len({d, b, g, p, s}) != 5:
        return None
    # P is the quotient E / s, bound once
    if _bound_once_as(fdef, p, s) is None:
        return None
    # the shapes: g and P the same real arrays, s real and of extent 1 along the summed axis
    if not (_array(g_node, shapes) and _array(p_node, shapes) and _array(s_node, shapes)
            and _array(q[0], shapes) and _array(value.right if accumulated else value, shapes)):
        return None
    shape, s_shape = shapes.of(g_node), shapes.of(s_node)
    if shapes.of(p_node) != shape or shapes.of(q[0]) != shape or len(s_shape) > len(shape):
        return None
    if not -len(shape) <= axis < len(shape):
        return None
    axis %= len(shape)
    try:
        if broadcast(shape, s_shape) != shape:
            return None
    except (ValueError, TypeError):
        return None
    at = axis - (len(shape) - len(s_shape))
    if at >= 0 and s_shape[at] != 1:
        return None
    # (g - np.sum(g * P, axis=a, keepdims=True)) / s
    load = lambda name: ast.Name(id=name, ctx=ast.Load())  # noqa: E731
    summed_new = ast.Call(
        func=ast.Attribute(value=load(np_name), attr="sum", ctx=ast.Load()),
        args=[ast.BinOp(left=load(g), op=ast.Mult(), right=load(p))],
        keywords=[ast.keyword(arg="axis", value=ast.Constant(value=axis)),
                  ast.keyword(arg="keepdims", value=ast.Constant(value=True))])
    new = ast.BinOp(left=ast.BinOp(left=load(g), op=ast.Sub(), right=summed_new), op=ast.Div(), right=load(s))
    if accumulated:
        new = ast.BinOp(left=load(d), op=ast.Add(), right=new)
    return new


# ---- 2. a product with the quotient the forward sweep computed ---------------------------------------------

def shared_quotients(fdef, shapes, made_up: set) -> bool:
    """Rewrite 2. of the module docstring, once (the shapes are those of `fdef` before). Returns whether it did."""
    loads, stores = name_counts(fdef)
    for block in statement_lists(fdef):
        stmts = _code(block)
        if block is fdef.body:
            stmts = _Body(stmts)
        for k in range(1, len(stmts) - 1):
            new = _shared_quotient(fdef, stmts, k, shapes, made_up, loads, stores)
            if new is not None:
                target = stmts[k + 1].target if isinstance(stmts[k + 1], ast.AugAssign) else stmts[k + 1].targets[0]
                at = next(q for q, s in enumerate(block) if s is stmts[k])
                block[at] = ast.Assign(targets=[ast.Name(id=target.id, ctx=ast.Store())], value=new)
                _remove(block, stmts[k + 1])
                return True
    return False


def _shared_quotient(fdef, stmts, k, shapes, made_up, loads, stores):
    """`N * P` where `stmts[k]` and `stmts[k + 1]` are `X = N / s` and `Y = X * E` of rewrite 2; else None."""
    x, use = _target(stmts[k]), stmts[k + 1]
    q = _quotient(stmts[k].value) if x is not None else None
    if q is None or x not in made_up:
        return None
    again = isinstance(use, ast.AugAssign) and isinstance(use.target, ast.Name) and use.target.id == x \
        or _target(use) == x  # (`x *= E`, `x = x * E`: later reads of x read the product)
    if again:  # (then x is bound by these two statements of the function's body alone, not read before them)
        if type(stmts) is not _Body or stores.get(x, 0) != 2 or any(_name(n, x) for t in stmts[:k] for n in walk(t)):
            return None
    elif loads.get(x, 0) != 1:
        return None
    numerator, s = q
    if any(_name(n, x) for n in walk(numerator)):
        return None
    if isinstance(use, ast.AugAssign):  # `X *= E`
        if not (isinstance(use.target, ast.Name) and use.target.id == x and isinstance(use.op, ast.Mult)
                and _name(use.value)):
            return None
        e_node = use.value
    else:  # `Y = X * E` or `Y = E * X`
        if _target(use) is None or not (isinstance(use.value, ast.BinOp) and isinstance(use.value.op, ast.Mult)):
            return None
        left, right = use.value.left, use.value.right
        if _name(left, x) and _name(right) and right.id != x:
            e_node = right
        elif _name(right, x) and _name(left) and left.id != x:
            e_node = left
        else:
            return None
    e = e_node.id
    # the quotient P = E / s, an earlier statement of this block, with E, s, P unchanged since
    for i in range(k - 1, -1, -1):
        p = _target(stmts[i])
        if p is not None and p not in (e, s) and _quotient(stmts[i].value, s) is not None \
                and _name(stmts[i].value.left, e):
            break
    else:
        return None
    if x in (p, e, s):
        return None
    parents = parent_map(fdef)
    if not all(_private(fdef, name, shapes, parents) for name in (p, e, s)):
        return None
    if not all(_array(n, shapes) for n in (numerator, stmts[k].value.right, e_node, stmts[i].value)):
        return None
    return ast.BinOp(left=numerator, op=ast.Mult(), right=ast.Name(id=p, ctx=ast.Load()))
