"""A negated number read several times is negated where it is read, where the reads absorb the sign.

The adjoint of a subtraction is a negation (`x = x - dx` gives `dx_bar = -x_bar`), and in a scalar
loop the negated name is often read more than once, so `fold_negations` (one read) leaves it:

    dx_bar = -x_bar                          t4_bar = -x_bar / t6
    t4_bar = dx_bar / t6                ->   t6_bar = x_bar * dx / t6
    t6_bar = -dx_bar * dx / t6

Each read of `t = -a` is replaced by `a` where its sign can be taken by what reads it: through a chain
of products and quotients (`(-a) * c` is `-(a * c)`, `c / (-a)` is `-(c / a)`) up to a unary minus
(`-(-a)` is `a`), the right operand of `+` or `-` (`v + -a` is `v - a`), the left one of `+`
(`-a + v` is `v - a`) or the value of `y += t`. A read with nothing to take its sign reads `-a`.
Exact in IEEE arithmetic: negation is exact and commutes with rounding of `*` and `/`, and `+` is
commutative. Done only where it leaves at most one negation (the one it replaces), so the code never
computes more, for a made-up name bound once to `-a` of a real number `a` whose reads all lie in later
simple statements of the same block, with neither name bound again before the last of them; never
where a read would become the whole value of an assignment (`u = -t` as `u = a` would share a 0-d
array).
"""

from __future__ import annotations

import ast

from .names import name_counts
from .walk import child_parent_pairs, fix_locations, replace_child, walk

__all__ = ["spread_number_negations"]

_SIMPLE = (ast.Assign, ast.AugAssign, ast.Return, ast.Expr)


def spread_number_negations(fdef: ast.FunctionDef, shapes, removable: set) -> bool:
    """Negate each read of a once-bound `t = -a` of a number `a` where the read absorbs the sign (see the
    module docstring). `shapes` the shapes inferred over `fdef`. Returns whether anything changed.

        >>> fdef = ast.parse("def f(x_bar, c):\\n t = -x_bar\\n u = t / c\\n return -t * c + u").body[0]
        >>> class Numbers:
        ...     def of(self, node): return ()
        ...     def real(self, node): return True
        >>> spread_number_negations(fdef, Numbers(), {"t", "u"})
        True
        >>> print(ast.unparse(fdef))
        def f(x_bar, c):
            u = -x_bar / c
            return x_bar * c + u
    """
    reads, stores = name_counts(fdef)
    changed = False

    def block(stmts):
        nonlocal changed
        for s in stmts:
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(s, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt) \
                        and not isinstance(s, ast.FunctionDef):
                    block(inner)
        k = 0
        while k < len(stmts):
            s = stmts[k]
            k += 1
            if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)):
                continue
            if _pull_sign(s, stmts[k:], shapes, removable, reads, stores):
                changed = True
                continue
            if not (isinstance(s.value, ast.UnaryOp) and isinstance(s.value.op, ast.USub)
                    and isinstance(s.value.operand, ast.Name)):
                continue
            t, a = s.targets[0].id, s.value.operand.id
            if t not in removable or t == a or stores.get(t) != 1 or reads.get(t, 0) < 2 \
                    or shapes.of(s.value.operand) != () or not shapes.real(s.value.operand):
                continue
            readers = _readers(stmts[k:], t, a, reads[t])
            if readers is None:
                continue
            plans = [_plan(r, t) for r in readers]
            if any(p is None for p in plans) or sum(1 for p in plans for absorbed in p if not absorbed) > 1:
                continue
            for r in readers:
                _rewrite(r, t, a)
            del stmts[k - 1]
            k -= 1
            changed = True

    block(fdef.body)
    if changed:
        fix_locations(fdef)
    return changed


def _pull_sign(s, after, shapes, removable, reads, stores) -> bool:
    """`t = -a / c` (a chain of products and quotients with one negated operand, of real numbers) becomes
    `t = a / c` where every read of `t` takes the sign (`v - t` is `v + t`): one negation fewer, the same
    numbers (negation is exact and commutes with the rounding of `*` and `/`). Returns whether it did."""
    t = s.targets[0].id
    negations = [n for n in _chain_operands(s.value) if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub)]
    if not (isinstance(s.value, ast.BinOp) and len(negations) == 1 and t in removable and stores.get(t) == 1
            and reads.get(t, 0) >= 1 and shapes.of(s.value) == () and shapes.real(s.value)
            and shapes.real(negations[0].operand) and not any(isinstance(n, ast.Name) and n.id == t
                                                             for n in walk(s.value))):
        return False
    readers = _readers(after, t, t, reads[t])
    if readers is None or not all(p is not None and all(p) for p in (_plan(r, t) for r in readers)):
        return False
    parents = {id(c): p for c, p in child_parent_pairs(s)}
    _replace(parents, negations[0], negations[0].operand)
    for r in readers:
        _rewrite(r, t, t)
    return True


def _chain_operands(node):
    """The operands of the chain of products and quotients `node` is the top of (itself where it is none)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div):
        return _chain_operands(node.left) + _chain_operands(node.right)
    return [node]


def _readers(after, t, a, count):
    """The statements of `after` (in order) that read `t`, `count` reads in all, each a simple statement,
    with no statement up to the last of them binding `t` or `a`; else None."""
    found, seen = [], 0
    for s in after:
        if seen == count:
            break
        mentions = [n for n in walk(s) if isinstance(n, ast.Name) and n.id in (t, a)]
        if not isinstance(s, _SIMPLE) or any(isinstance(n, ast.Lambda) for n in walk(s)):
            if mentions:
                return None
            continue
        here = sum(1 for n in mentions if n.id == t and isinstance(n.ctx, ast.Load))
        if here:
            found.append(s)
            seen += here
        if any(not isinstance(n.ctx, ast.Load) for n in mentions):
            return None if seen < count or _binds_before_read(s, t, a) else found
    return found if seen == count else None


def _binds_before_read(s, t, a) -> bool:
    """Whether `s`, which binds `t` or `a`, reads `t` in a way that sees the new binding (never for an
    assignment, whose value is evaluated before its targets are bound, unless a target reads `t`)."""
    if isinstance(s, ast.Assign):
        return any(isinstance(n, ast.Name) and n.id == t and isinstance(n.ctx, ast.Load)
                   for tg in s.targets for n in walk(tg))
    return True


def _plan(stmt, t):
    """For each read of `t` in `stmt`, whether its sign is absorbed; None where a read would become a
    statement's whole value (an alias) or sits in a target."""
    parents = {id(c): p for c, p in child_parent_pairs(stmt)}
    out = []
    for n in walk(stmt):
        if not (isinstance(n, ast.Name) and n.id == t and isinstance(n.ctx, ast.Load)):
            continue
        if isinstance(stmt, ast.Assign | ast.AugAssign) and any(n is m for tg in _targets(stmt) for m in walk(tg)):
            return None
        top, parent = _outward(n, parents)
        if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub):
            if top is n and parents.get(id(parent)) is stmt:
                return None
            out.append(True)
        else:
            out.append(_absorbs(top, parent, stmt))
    return out


def _targets(stmt):
    return stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]


def _outward(n, parents):
    """The top of the chain of products and quotients `n` is an operand of, and that top's parent."""
    top = n
    parent = parents.get(id(top))
    while isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Mult | ast.Div):
        top, parent = parent, parents.get(id(parent))
    return top, parent


def _absorbs(top, parent, stmt) -> bool:
    if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Add | ast.Sub) and parent.right is top:
        return True
    if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Add) and parent.left is top:
        return True
    return parent is stmt and isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, ast.Add | ast.Sub) \
        and stmt.value is top


def _rewrite(stmt, t, a):
    """Replace each read of `t` in `stmt` by `a` (`t` itself too), its sign taken by what reads it, or by `-a`."""
    for n in [m for m in walk(stmt) if isinstance(m, ast.Name) and m.id == t and isinstance(m.ctx, ast.Load)]:
        parents = {id(c): p for c, p in child_parent_pairs(stmt)}
        top, parent = _outward(n, parents)
        name = ast.Name(id=a, ctx=ast.Load())
        _replace(parents, n, name)
        top = name if top is n else top
        if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub):
            _replace(parents, parent, top)
        elif isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Add | ast.Sub) and parent.right is top:
            parent.op = ast.Sub() if isinstance(parent.op, ast.Add) else ast.Add()
        elif isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Add) and parent.left is top:
            parent.left, parent.right, parent.op = parent.right, top, ast.Sub()
        elif parent is stmt and isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, ast.Add | ast.Sub) \
                and stmt.value is top:
            stmt.op = ast.Sub() if isinstance(stmt.op, ast.Add) else ast.Add()
        else:
            _replace(parents, name, ast.UnaryOp(op=ast.USub(), operand=name))


def _replace(parents, old, new):
    parent = parents[id(old)]
    if not replace_child(parent, old, new):
        raise AssertionError("not a child")
    parents[id(new)] = parent
