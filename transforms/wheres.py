"""Two masked halves of one adjoint added up are one `np.where`; a `np.where` of numbers scaled by a number is one
`np.where` of the scaled numbers.

The adjoint of `a = np.where(c, h, 0.01 * h)` (a leaky ReLU) reaches `h` twice, once through each branch:

    h_bar = np.where(c, a_bar, 0.0)
    t2_bar = np.where(c, 0.0, a_bar)          ->     h_bar = np.where(c, a_bar, a_bar * 0.01)
    h_bar = h_bar + t2_bar * 0.01

three passes over the array and two temporaries where one pass does. The rewrite applies where the two
halves are bound in the same block before the sum, each read there and nowhere else, their condition the same
name, and nothing between them and the sum binds a name they read; their values are real arrays of one known
shape, which the condition's broadcasts to (so the result has the sum's shape and dtype).

Why the value is the same: where `c` holds, the sum is `A + 0.0 * k` and the `np.where` gives `A`; elsewhere
`0.0 + B * k` against `B * k`: the same numbers, but that the sign of a zero may differ (`-0.0 + 0.0` is
`0.0`), which no gradient reads, and that an infinite `k` made the sum NaN where `c` holds (`0.0 * inf`), where
the `np.where` gives `A`: the adjoint of the branch the mask took (a Huber loss with `delta=np.inf`, an ELU's
`np.exp(x)` overflowing on the branch not taken), where the general code, as autograd, gives NaN.

Where every array is float64 and the code names no other floating dtype, the halves may also be numbers, and
each may be scaled by real arrays (`np.where(c, s, 0.0) * taus + np.where(c, 0.0, s) * (taus - 1.0)`, a pinball
loss's, is `np.where(c, s * taus, s * (taus - 1.0))`): the products then have the sum's shape and dtype (a
`np.float32` number among them would make the where's Python floats float32, so it is not done there).

The second rewrite: the adjoint of a piecewise loss (`np.where(a <= delta, 0.5 * R ** 2, ...)`) starts as
`np.where(c, s, 0.0)` of the seed s, a number, and is then scaled by numbers the rules write (`* 0.5`, `* 2`):

    t4_bar = np.where(t2, t8_bar, 0.0)
    t3_bar = t4_bar * 0.5                     ->     R_bar = np.where(t2, t8_bar * 0.5 * 2, 0.0 * 0.5 * 2) * R
    R_bar = t3_bar * 2 * R

each scaling a pass over an array. `np.where(c, p, q) * k` is `np.where(c, p * k, q * k)` item by item (each
item is `p * k` or `q * k`, computed as before), for numbers p, q and k; the temporary is read once, there.
"""

from __future__ import annotations

import ast
import math

from .names import loaded_names, name_counts
from .reverse import Comment
from .walk import replace_child, statement_lists, walk

__all__ = ["merge_wheres", "negate_wheres", "scale_wheres"]


def merge_wheres(fdef: ast.FunctionDef, shapes, np_name: str, float64_only: bool = False) -> bool:
    """Rewrite each sum of two complementary masked halves in `fdef` as one `np.where` (the module doc);
    `shapes` are inferred over `fdef`. Where every array is float64 (`float64_only`), also halves scaled by real
    arrays or numbers on both sides, of numbers, and summed by `z = x * k; z += y * m`. Returns whether anything
    changed.

        >>> # x = np.where(c, a, 0.0); y = np.where(c, 0.0, b); z = x + y * 0.5   ->   z = np.where(c, a, b * 0.5)
    """
    changed = False
    loads, stores = name_counts(fdef)
    for block in statement_lists(fdef):
        i = 0
        while i < len(block):
            found = _halves_summed(block, i, shapes, np_name, loads, stores, float64_only)
            pair = _sum_of_a_pair(block, i) if found is None and float64_only else None
            if pair is not None:  # `z = x * k; z += y * m`, the pair taken as `z = x * k + y * m` at the second's place
                at, value = pair
                summed = ast.copy_location(ast.Assign(targets=[block[i].target], value=value), block[i])
                trial = block[:at] + block[at + 1:i] + [summed] + block[i + 1:]
                counts = _counts_without(loads, stores, block[i].target.id)
                found = _halves_summed(trial, i - 1, shapes, np_name, *counts, float64_only)
                if found is not None:
                    block[:] = trial
                    i -= 1
            if found is None:
                i += 1
                continue
            first, second, merged = found
            block[i] = ast.copy_location(ast.Assign(targets=block[i].targets, value=merged), block[i])
            gone = sorted((k for k in (first, second) if k is not None), reverse=True)
            for k in gone:
                del block[k]
            i -= len(gone)
            changed = True
            loads, stores = name_counts(fdef)
    return changed


def _sum_of_a_pair(block, i):
    """(the position of `z = x * k`, `x * k + y * m`) where `block[i]` is `z += y * m` and the statement before it
    (comments aside) `z = x * k`, z not read there, else None."""
    stmt, k = block[i], i - 1
    while k >= 0 and isinstance(block[k], Comment):  # (the user's line a statement of the sweep comes from)
        k -= 1
    before = block[k] if k >= 0 else None
    if not (isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, ast.Add) and isinstance(stmt.target, ast.Name)
            and isinstance(before, ast.Assign) and len(before.targets) == 1 and isinstance(before.targets[0], ast.Name)
            and before.targets[0].id == stmt.target.id and stmt.target.id not in loaded_names(before.value)
            and stmt.target.id not in loaded_names(stmt.value)):
        return None
    return k, ast.BinOp(left=before.value, op=ast.Add(), right=stmt.value)


def _counts_without(loads, stores, name):
    """The name counts once `z = a; z += b` is `z = a + b`: one binding and no read of `z` fewer."""
    loads, stores = dict(loads), dict(stores)
    loads[name] = loads.get(name, 0) - 1
    stores[name] = stores.get(name, 0) - 1
    return loads, stores


def _halves_summed(block, i, shapes, np_name, loads, stores, float64_only=False):
    """(the positions of the two halves' bindings, the merged `np.where`) where `block[i]` sums two halves, else
    None."""
    stmt = block[i]
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.BinOp) and isinstance(stmt.value.op, ast.Add)):
        return None
    target = stmt.targets[0].id
    for x_side, y_side in ((stmt.value.left, stmt.value.right), (stmt.value.right, stmt.value.left)):
        x_scaled = _scaled_name(x_side, shapes, float64_only, np_name)
        scaled = _scaled_name(y_side, shapes, float64_only, np_name)
        if x_scaled is None or scaled is None or (not float64_only and not isinstance(x_side, ast.Name)):
            continue
        (x, x_rescale), (y, rescale) = x_scaled, scaled
        if x == y or isinstance(x, ast.Call) and isinstance(y, ast.Call):
            continue
        # a half given by a name bound before (its binding goes), or written in the sum itself (with float64_only)
        halves = [(None, h) if isinstance(h, ast.Call) else _binding(block, i, h, target, loads, stores)
                  for h in (x, y)]
        if any(h is None for h in halves):
            continue
        (kx, wx), (ky, wy) = halves
        parts = [_half(w, np_name, shapes if float64_only else None) for w in (wx, wy)]
        if any(p is None for p in parts) or parts[0][0] != parts[1][0] or parts[0][2] == parts[1][2]:
            continue
        cond, a, a_true = parts[0]
        _, b, _ = parts[1]
        general = float64_only and _real_operands(shapes, a, b)
        bound = tuple(k for k in (kx, ky) if k is not None)
        if not (general or _one_shape(cond, a, b, shapes)) \
                or not _undisturbed(block, min(bound), i, bound, wx, wy, np_name):
            continue
        a_scaled, b_scaled = x_rescale(a), rescale(b)
        where = ast.Attribute(value=ast.Name(id=np_name, ctx=ast.Load()), attr="where", ctx=ast.Load())
        args = [ast.Name(id=cond, ctx=ast.Load()), a_scaled, b_scaled] if a_true else \
            [ast.Name(id=cond, ctx=ast.Load()), b_scaled, a_scaled]
        return kx, ky, ast.Call(func=where, args=args, keywords=[])
    return None


def _numpy_calls_alone(e, np_name) -> bool:
    """Whether every call in `e` is one of NumPy's functions (`np.sign(r)`: they change none of their arguments)
    without `out=`, and `e` holds no lambda, `:=`, `yield` or `await`."""
    for n in walk(e):
        if isinstance(n, ast.Call) and not (
                isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name)
                and n.func.value.id == np_name and not any(kw.arg in (None, "out") for kw in n.keywords)):
            return False
        if isinstance(n, ast.Lambda | ast.NamedExpr | ast.Yield | ast.Await):
            return False
    return True


def _real_operands(shapes, *operands) -> bool:
    """Whether each operand is a number literal or certainly real floats of a known shape."""
    return all(isinstance(e, ast.Constant) and type(e.value) in (int, float)
               or isinstance(shapes.of(e), tuple) and shapes.real(e) for e in operands)


def _scaled_name(e, shapes, arrays=False, np_name=None):
    """(y, a function making `e` of another operand) where `e` is `y`, `y * k` or `k * y` of a name y and a real
    number k (a number literal, or a name of a real number), else None. With `arrays`, k may also be any expression
    of real floats of a known shape whose calls are NumPy's (`np.sign(r)`), and y a `np.where` written there (the
    half itself, returned as the call)."""
    def operand(y):
        if isinstance(y, ast.Name):
            return y.id
        return y if arrays and _where_args(y, np_name) is not None else None

    if operand(e) is not None and isinstance(e, ast.Name):
        return e.id, lambda b: b
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Mult):
        for y, k, left in ((e.left, e.right, True), (e.right, e.left, False)):
            if operand(y) is not None and (_real_number(k, shapes) or arrays and _real_operands(shapes, k)
                                           and _numpy_calls_alone(k, np_name)):
                return operand(y), (lambda b, k=k, left=left:
                                    ast.BinOp(left=b, op=ast.Mult(), right=k) if left else
                                    ast.BinOp(left=k, op=ast.Mult(), right=b))
    return None


def _real_number(e, shapes) -> bool:
    if isinstance(e, ast.Constant):
        return type(e.value) in (int, float)
    return isinstance(e, ast.Name) and shapes.of(e) == () and shapes.real(e)


def _binding(block, i, name, target, loads, stores):
    """(position, value) of the latest assignment of `name` before `block[i]` in the block, where the sum is the
    only read of that value: `name` is a temporary read once and bound once, or the sum's own target (then no
    statement between reads it)."""
    if name != target and (loads.get(name) != 1 or stores.get(name) != 1):
        return None
    for k in range(i - 1, -1, -1):
        s = block[k]
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and s.targets[0].id == name:
            return k, s.value
        if name in loaded_names(s) or any(isinstance(n, ast.Name) and n.id == name for n in walk(s)):
            return None
    return None


def _half(value, np_name, shapes=None):
    """(the condition's name, the kept operand, whether it is kept where the condition holds) of
    `np.where(c, a, 0.0)` or `np.where(c, 0.0, a)`, else None. With `shapes`, a zero may also be `0.0 * k` of a
    real number k (a rule's adjoint of a branch the mask does not take, scaled)."""
    args = _where_args(value, np_name)
    if args is None:
        return None
    c, yes, no = args

    def zero(e):
        if isinstance(e, ast.Constant) and type(e.value) is float and e.value == 0.0:
            return True
        return shapes is not None and isinstance(e, ast.BinOp) and isinstance(e.op, ast.Mult) and any(
            zero(z) and _real_number(k, shapes) for z, k in ((e.left, e.right), (e.right, e.left)))
    if zero(no) and not zero(yes):
        return c.id, yes, True
    if zero(yes) and not zero(no):
        return c.id, no, False
    return None


def _where_args(value, np_name):
    """The three arguments of `np.where(c, a, b)` whose condition is a name, else None."""
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "where"
            and isinstance(value.func.value, ast.Name) and value.func.value.id == np_name
            and len(value.args) == 3 and not value.keywords and isinstance(value.args[0], ast.Name)):
        return None
    return tuple(value.args)


def _one_shape(cond, a, b, shapes) -> bool:
    """Whether `a` and `b` are real arrays of one known shape, which the condition `cond` broadcasts to."""
    sa, sb, sc = shapes.of(a), shapes.of(b), shapes.of(ast.Name(id=cond, ctx=ast.Load()))
    if not (isinstance(sa, tuple) and sa and sa == sb and shapes.real(a) and shapes.real(b)):
        return False
    return isinstance(sc, tuple) and len(sc) <= len(sa) and all(
        d in (1, e) for d, e in zip(sc[::-1], sa[::-1]))


def _undisturbed(block, start, end, halves, wx, wy, np_name) -> bool:
    """Whether the statements from `start` to `end` (the halves' bindings aside) leave the halves' operands as they
    were: each binds names alone, none a name the halves read, and changes no array in place (its calls are
    NumPy's functions without `out=`); and the halves read neither half's name."""
    read = loaded_names(wx) | loaded_names(wy)
    bound = {block[k].targets[0].id for k in halves}
    if read & bound:
        return False
    for k in range(start, end):
        if k in halves or isinstance(block[k], Comment):
            continue
        s = block[k]
        if not (isinstance(s, ast.Assign) and all(isinstance(t, ast.Name) for t in s.targets)) \
                or {t.id for t in s.targets} & (read | bound):
            return False
        if not _numpy_calls_alone(s.value, np_name):
            return False
    return True


def scale_wheres(fdef: ast.FunctionDef, shapes, np_name: str, python_floats=frozenset()) -> bool:
    """Rewrite each `u * k` or `k * u` of a temporary `u = np.where(c, p, q)` of real numbers p and q, read
    there alone, and a Python number k (a literal, or a name of `python_floats`: a NumPy number would make the
    scaled numbers NumPy's, and the where of a float32 one float32) as `np.where(c, p * k, q * k)` (the module
    doc). Returns whether anything changed.

        >>> # u = np.where(c, s, 0.0); v = u * 0.5 * R   ->   v = np.where(c, s * 0.5, 0.0 * 0.5) * R
    """
    changed = False
    loads, stores = name_counts(fdef)
    for block in statement_lists(fdef):
        i = 0
        while i < len(block):
            if _scale_one(block, i, shapes, np_name, loads, stores, python_floats):
                changed = True
                loads, stores = name_counts(fdef)
                i = max(i - 1, 0)
                continue
            i += 1
    return changed


def _scale_one(block, i, shapes, np_name, loads, stores, python_floats) -> bool:
    """Scale one where of numbers into its reader at `block[i]`; deletes the temporary's binding."""
    stmt = block[i]
    if not isinstance(stmt, ast.Assign | ast.AugAssign | ast.Return | ast.Expr) or stmt.value is None:
        return False
    for node in walk(stmt.value):
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)):
            continue  # (not a division: Python's `0.0 / 0.0` raises, where NumPy's array divided by 0.0 does not)
        sides = [(node.left, node.right), (node.right, node.left)]
        for u, k in sides:
            python_number = isinstance(k, ast.Constant) and type(k.value) in (int, float) \
                or isinstance(k, ast.Name) and k.id in python_floats
            if not (isinstance(u, ast.Name) and loads.get(u.id) == 1 and stores.get(u.id) == 1 and python_number):
                continue
            bound = _binding(block, i, u.id, None, loads, stores)
            if bound is None:
                continue
            at, value = bound
            parts = _where_of_numbers(value, shapes, np_name)
            if parts is None or not _undisturbed(block, at, i, (at,), value, value, np_name) \
                    or isinstance(k, ast.Name) and k.id in {t.id for s in block[at:i] if isinstance(s, ast.Assign)
                                                             for t in s.targets if isinstance(t, ast.Name)}:
                continue
            c, p, q = parts
            op = node.op

            def scaled(e, k=k, op=op, left=u is node.left):
                return ast.BinOp(left=e, op=type(op)(), right=k) if left else ast.BinOp(left=k, op=type(op)(), right=e)
            where = ast.Call(func=ast.Attribute(value=ast.Name(id=np_name, ctx=ast.Load()), attr="where",
                                                ctx=ast.Load()), args=[c, scaled(p), scaled(q)], keywords=[])
            parent = next(n for n in walk(stmt) if any(child is node for child in ast.iter_child_nodes(n)))
            replace_child(parent, node, where)  # (the product becomes the where)
            ast.fix_missing_locations(stmt)
            del block[at]
            return True
    return False


def _where_of_numbers(value, shapes, np_name):
    """(c, p, q) of `np.where(c, p, q)` whose p and q are real numbers (literals, or names of real numbers) and
    whose condition is a name, else None."""
    args = _where_args(value, np_name)
    if args is None or not (_number_expression(args[1], shapes) and _number_expression(args[2], shapes)):
        return None
    return args


def _number_expression(e, shapes) -> bool:
    """A real number (`_real_number`), or arithmetic of such (`t8_bar * 0.5`, this rewrite's own)."""
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
        return _number_expression(e.left, shapes) and _number_expression(e.right, shapes)
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
        return _number_expression(e.operand, shapes)
    return _real_number(e, shapes)


def negate_wheres(fdef: ast.FunctionDef, shapes, np_name: str) -> bool:
    """Rewrite each `y = -u` of a temporary `u = np.where(c, p, q)` read there alone, whose branches are numbers or
    arrays smaller than its result, as `y = np.where(c, -p, -q)`: a pass over the result saved, the negation
    taken by the small branches (a number factor's sign, `-s * taus`). The same numbers: negation is exact.
    Returns whether anything changed.

        >>> # u = np.where(c, s * taus, s * t6); y = -u   ->   y = np.where(c, -s * taus, -s * t6)
    """
    changed = False
    loads, stores = name_counts(fdef)
    for block in statement_lists(fdef):
        i = 0
        while i < len(block):
            stmt = block[i]
            negated = isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.value, ast.UnaryOp) \
                and isinstance(stmt.value.op, ast.USub) and isinstance(stmt.value.operand, ast.Name)
            bound = negated and _binding(block, i, stmt.value.operand.id, None, loads, stores)
            args = bound and _where_args(bound[1], np_name)
            if not args or not _undisturbed(block, bound[0], i, (bound[0],), bound[1], bound[1], np_name) \
                    or not all(_smaller(e, shapes.of(stmt.value.operand), shapes) for e in args[1:]):
                i += 1
                continue
            stmt.value = ast.Call(func=bound[1].func, args=[args[0], *(_negated(e, shapes) for e in args[1:])],
                                  keywords=[])
            ast.fix_missing_locations(stmt)
            del block[bound[0]]
            changed = True
            loads, stores = name_counts(fdef)
    return changed


def _smaller(e, result, shapes) -> bool:
    """Whether `e` is a number literal or real floats of a known shape with fewer items than `result`'s."""
    return _real_operands(shapes, e) and (isinstance(e, ast.Constant) or isinstance(result, tuple)
                                          and math.prod(shapes.of(e)) < math.prod(result))


def _negated(e, shapes):
    """`-e`, the sign on a number factor where `e` is a product with one first (`-s * taus`)."""
    if isinstance(e, ast.Constant):
        return ast.Constant(-e.value)
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Mult | ast.Div) and _real_number(e.left, shapes) \
            and not isinstance(e.left, ast.BinOp):
        return ast.BinOp(left=_negated(e.left, shapes), op=e.op, right=e.right)
    return ast.UnaryOp(op=ast.USub(), operand=e)
