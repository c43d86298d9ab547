"""Like terms of an adjoint's sum are added once, with their count as a coefficient.

The product rule writes one term per factor, so a factor that appears twice gives two equal terms:
the adjoint of `x * x` is `t_bar * x + t_bar * x`, of `3.0 * x * x` it is `t_bar * (3.0 * x) +
t_bar * x * 3.0`. Two rewrites add them once:

    x_bar = x_bar + t_bar * (3.0 * x) + t_bar * x * 3.0     ->   x_bar = x_bar + 6.0 * (t_bar * x)
    d_bar = d_bar + r_bar * d                               ->   d_bar = d_bar + 2.0 * (r_bar * d)
    d_bar = d_bar + r_bar * d

- In a sum of real numbers (shape `()`), each term is read as a sign, a number coefficient (the
  product of its number literals) and its other factors. Terms whose factors are the same (as a
  multiset) are one term, their coefficients added, written once where the first of them stood.
  Every term must be a product of real numbers or number literals that cannot raise
  (`specialize._pure`); a term with a literal outside 1/256..256 in magnitude is left alone (moving
  `1e-300` out of `(1e-300 * a) * b` could overflow `a * b`). A group whose coefficients add to 0 is left as it is (`inf * 0` is NaN).
- Statements in a row that add the same real expression that cannot raise and does not read the
  name to the same name (`v = v + e` or `v += e`, `-` alike) are one statement adding `k * e`, and
  `v = e` followed by such additions of `e` is `v = k * e` (the adjoint of `w @ w`).

Why the value is the same: the terms are the same numbers (each reads the same names at the same
point; nothing in a sum binds a name), multiplication is commutative and associative and `e + e`
is `2 * e`, up to rounding: the derivative is the same function, computed with fewer roundings.
Nothing new can raise (every term is pure) and a Python float coefficient keeps a float32 value's
dtype (NumPy's Python scalars are weak). One edge is not kept: near the largest float a combined term
may overflow where the original's partial sums did not (`t*x - z + t*x` with `t*x` and `z` about 1e308
is finite, `2.0 * (t*x) - z` is inf), as the factoring of transforms/products.py may.
"""

from __future__ import annotations

import ast

from .walk import child_parent_pairs, fix_locations, replace_child, statement_lists, walk

__all__ = ["combine_like_terms"]

_SIMPLE = (ast.Assign, ast.AugAssign, ast.Return, ast.Expr)
# the magnitudes of the number literals a term may have to be combined: moving 1e-300 out of `(1e-300 * a) * b`
# could overflow `a * b` where the term does not
_MOVABLE = (1 / 256, 256.0)


def combine_like_terms(fdef: ast.FunctionDef, shapes, pure) -> bool:
    """Add like terms of sums of real numbers once, and merge statements in a row that add the same real
    expression to a name (see the module docstring). `shapes` the shapes inferred over `fdef`, `pure(node,
    shapes)` whether evaluating `node` cannot raise. Returns whether anything changed.

        >>> fdef = ast.parse("def f(x, t):\\n return x + t * (3.0 * x) + t * x * 3.0").body[0]
        >>> class Numbers:
        ...     def of(self, node): return ()
        ...     def real(self, node): return True
        >>> combine_like_terms(fdef, Numbers(), lambda node, shapes: True)
        True
        >>> print(ast.unparse(fdef))
        def f(x, t):
            return x + 6.0 * (t * x)
    """
    changed = False
    for s in [s for s in walk(fdef) if isinstance(s, _SIMPLE) and s.value is not None]:
        changed |= _number_sums(s, shapes, pure)
    changed |= _repeated_accumulations(fdef, shapes, pure)
    if changed:
        fix_locations(fdef)
    return changed


# ---- sums of numbers ------------------------------------------------------------------------------------------

def _is_sum(node) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub)


def _number_sums(stmt, shapes, pure) -> bool:
    """Combine like terms in every outermost sum of `stmt`'s value."""
    parents = {id(c): p for c, p in child_parent_pairs(stmt)}
    tops = [n for n in walk(stmt.value) if _is_sum(n) and not _is_sum(parents.get(id(n)))]
    changed = False
    for top in reversed(tops):  # (the inner sums first: an outer one moves them whole)
        combined = _combined(top, shapes, pure)
        if combined is not None:
            if top is stmt.value:
                stmt.value = combined
            else:
                replace_child(parents[id(top)], top, combined)
            changed = True
    return changed


def _terms(node, sign, out):
    """The signed terms of the sum `node`: [(+1 or -1, term)]."""
    if _is_sum(node):
        _terms(node.left, sign, out)
        _terms(node.right, -sign if isinstance(node.op, ast.Sub) else sign, out)
    else:
        out.append((sign, node))
    return out


def _number(node) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _factors(node, out) -> int:
    """Put the factors of the product `node` (number literals among them) in `out`, in order; returns the
    sign its negations give (`-a * b`: -1)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return _factors(node.left, out) * _factors(node.right, out)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_factors(node.operand, out)
    out.append(node)
    return 1


def _combined(top, shapes, pure):
    """`top`, a sum of real numbers, with its like terms added once; None where no two terms are alike or
    the sum is not one this pass may change."""
    if shapes.of(top) != () or not shapes.real(top):
        return None
    terms = _terms(top, 1, [])
    read = []  # (the sign of the term in the sum, the sign of its value, coefficient, factors, key, term)
    for place_sign, term in terms:
        if shapes.of(term) != () or not pure(term, shapes):
            return None
        factors = []
        sign = place_sign * _factors(term, factors)  # (`a + (-b) * c`: the term stays `(-b) * c`, added)
        if not all(_number(f) or shapes.of(f) == () and shapes.real(f) for f in factors):
            return None
        coefficient, rest = 1, []
        for f in factors:
            if _number(f):
                coefficient *= f.value
            else:
                rest.append(f)
        moderate = all(_MOVABLE[0] <= abs(f.value) <= _MOVABLE[1] for f in factors if _number(f))
        key = tuple(sorted(ast.dump(f) for f in rest)) if moderate else ()
        read.append((place_sign, sign, coefficient, rest, key, term))
    groups: dict = {}
    for item in read:
        if item[4]:  # (number literals alone are left as they are)
            groups.setdefault(item[4], []).append(item)
    merged = {key: sum(s * c for _, s, c, *_ in group) for key, group in groups.items()
              if len(group) > 1 and sum(s * c for _, s, c, *_ in group) != 0}
    if not merged:
        return None
    out, done = None, set()
    for sign, _, _, rest, key, term in read:
        if key in merged:
            if key in done:
                continue
            done.add(key)
            total = merged[key]
            sign, term = (1 if total > 0 else -1), _product(abs(total), rest)
        out = _add(out, sign, term)
    return out


def _product(coefficient, factors):
    """`coefficient * (f1 * f2 * ...)`, or the product alone for a coefficient of 1."""
    product = factors[0]
    for f in factors[1:]:
        product = ast.BinOp(left=product, op=ast.Mult(), right=f)
    if coefficient == 1:
        return product
    return ast.BinOp(left=ast.Constant(value=float(coefficient)), op=ast.Mult(), right=product)


def _add(total, sign, term):
    if total is None and sign < 0 and isinstance(term, ast.BinOp) and isinstance(term.op, ast.Mult) \
            and isinstance(term.left, ast.Constant) and term.left.value > 0:  # (not `-(1.0 - y)`: -1.0 - y)
        term.left.value = -term.left.value  # (`-2.0 * (x * t)`, a negative coefficient first)
        return term
    if total is None:
        return term if sign > 0 else ast.UnaryOp(op=ast.USub(), operand=term)
    return ast.BinOp(left=total, op=ast.Add() if sign > 0 else ast.Sub(), right=term)


# ---- the same expression added in a row -------------------------------------------------------------------------

def _accumulation(stmt):
    """(name, +1 or -1, the expression added) of `v = v + e`, `v = v - e`, `v += e` or `v -= e`; else None."""
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name) and isinstance(stmt.op, ast.Add | ast.Sub):
        return stmt.target.id, (1 if isinstance(stmt.op, ast.Add) else -1), stmt.value
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
            and _is_sum(stmt.value) and isinstance(stmt.value.left, ast.Name) \
            and stmt.value.left.id == stmt.targets[0].id:
        return stmt.targets[0].id, (1 if isinstance(stmt.value.op, ast.Add) else -1), stmt.value.right
    return None


def _repeated_accumulations(fdef, shapes, pure) -> bool:
    changed = False
    for stmts in statement_lists(fdef):
        changed |= _repeated_in(stmts, shapes, pure)
    return changed


def _binding(stmt):
    """(name, +1, the value) of `v = e` where `e` does not read `v`; else None."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
            and not any(isinstance(n, ast.Name) and n.id == stmt.targets[0].id for n in walk(stmt.value)):
        return stmt.targets[0].id, 1, stmt.value
    return None


def _repeated_in(stmts, shapes, pure) -> bool:
    changed = False
    k = 0
    while k < len(stmts):
        if _binding(stmts[k]) is not None and k + 1 < len(stmts):  # `v = e` then `v += e`: `v = 2.0 * e`
            name, _, value = _binding(stmts[k])
            text, count = ast.dump(value), 1
            while k + count < len(stmts) and (other := _accumulation(stmts[k + count])) is not None \
                    and other[:2] == (name, 1) and ast.dump(other[2]) == text:
                count += 1
            if count > 1 and shapes.real(value) and shapes.of(value) is not None and pure(value, shapes):
                # (`2.0 * (lam * w)`, not `2.0 * lam * w`: 2.0 * lam may overflow where lam * w does not)
                stmts[k].value = ast.BinOp(left=ast.Constant(value=float(count)), op=ast.Mult(), right=value)
                del stmts[k + 1:k + count]
                changed = True
                k += 1
                continue
        first = _accumulation(stmts[k])
        count = 1
        if first is not None:
            name, sign, value = first
            text = ast.dump(value)
            while k + count < len(stmts):
                other = _accumulation(stmts[k + count])
                if other is None or other[:2] != (name, sign) or ast.dump(other[2]) != text \
                        or type(stmts[k + count]) is not type(stmts[k]):  # (`v += e` in place; `v = v + e` anew)
                    break
                count += 1
        if count > 1 and shapes.real(value) and shapes.of(value) is not None and pure(value, shapes) \
                and not any(isinstance(n, ast.Name) and n.id == name for n in walk(value)):
            scaled = ast.BinOp(left=ast.Constant(value=float(count)), op=ast.Mult(), right=value)
            if isinstance(stmts[k], ast.AugAssign):
                stmts[k].value = scaled
            else:
                stmts[k].value.right = scaled
            del stmts[k + 1:k + count]
            changed = True
        k += 1
    return changed
