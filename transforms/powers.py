"""Cubes and fourth powers of arrays from squares, in `s2s.grad`'s shape-specialised code.

`np.power(x, 3)` calls the C library's `pow` for each entry (NumPy has fast paths for the exponents 2, 0.5, -1, 0
and 1 only): on a 512 x 512 array it takes about eight times as long as `x ** 2 * x`. A cube's adjoint reads the
square of the same array (`3 * x ** 2`), which the cube then shares:

    K = t ** 3                      ->      t_sq = t ** 2
    ...                                     K = t_sq * t
    t_bar = K_bar * 3 * t ** 2              ...
                                            t_bar = K_bar * 3 * t_sq

and `x ** 4` is `(x ** 2) ** 2` (its adjoint's cube `x ** 3` then `x_sq * x`). The numbers change by rounding only
(two roundings where `pow` makes one; infinities, NaN and signed zeros as `pow` gives them), so the rewrite is
made for real float64 arrays of known shape, in the code `s2s.grad` runs with NumPy (numba compiles integer powers
as products itself), and undone where the value decides anything (`transforms/rounding.py`). A square is shared
only between top-level statements where the array is certainly unchanged between (`products._Body.steady`).
"""

from __future__ import annotations

import ast

from .names import NameAllocator, load, names_in, store
from .products import _UNSUPPORTED, _Body, _int_shape
from .rounding import decides
from .walk import fix_locations, walk

_SIMPLE = (ast.Assign, ast.AugAssign, ast.Expr, ast.Return)


def powers_from_squares(fdef: ast.FunctionDef, infer) -> bool:
    """Rewrite the cubes and fourth powers of the module docstring, one at a time, inferring the shapes again
    after each (`infer(fdef)`). Returns whether anything changed.

        >>> # K = t ** 3; ...; g = K_bar * 3 * t ** 2   ->   t_sq = t ** 2; K = t_sq * t; ...; g = K_bar * 3 * t_sq
    """
    if any(isinstance(n, _UNSUPPORTED) for n in walk(fdef) if n is not fdef) or not any(
            _power_of(n) in (3, 4) for n in walk(fdef)):
        return False
    changed, names = False, NameAllocator(names_in(fdef))
    for _ in range(16):
        if not _rewrite_one(fdef, infer(fdef), names):
            break
        changed = True
    if changed:
        fix_locations(fdef)
    return changed


def _power_of(node):
    """n of `x ** n` (x a name, n an int literal), else None."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and isinstance(node.left, ast.Name) \
            and isinstance(node.right, ast.Constant) and type(node.right.value) is int:
        return node.right.value
    return None


def _rewrite_one(fdef, shapes, names) -> bool:
    b = _Body(fdef, shapes)
    for k, stmt in enumerate(b.body):
        if not isinstance(stmt, _SIMPLE):
            continue
        for node in walk(stmt):
            n = _power_of(node)
            if n not in (3, 4) or not (_int_shape(shapes.of(node.left)) and shapes.of(node.left) != ()
                                       and shapes.real(node.left)):
                continue
            x = node.left.id
            square = _square_before(b, x, k)
            later, powers = ([], False) if square is not None else _squares_after(b, x, k)
            # (asked before: the power's node stays where it is, as the product, and each square's place holds
            # the shared square)
            if decides(fdef, [node] + [v for _, _, v in later], shapes):
                continue
            _rewrite_power(b, k, node, n, square, later, powers, names)
            return True
    return False


def _rewrite_power(b, k, node, n, square, later, powers, names):
    """Rewrite the power `node` in statement k as a product of squares: of `square` bound before, else of one
    bound here where `later` squares read it or later `powers` will, else of `x ** 2` written in it."""
    x = node.left.id
    if square is None and (later or powers):
        square = names.fresh(f"{x}_sq")
        b.body.insert(k, ast.copy_location(ast.Assign(targets=[store(square)], value=_square(x)), b.body[k]))
    sq = load(square) if square is not None else _square(x)
    other = load(x) if n == 3 else (load(square) if square is not None else _square(x))
    new = ast.BinOp(left=sq, op=ast.Mult(), right=other) if n == 3 or square is not None \
        else ast.BinOp(left=sq, op=ast.Pow(), right=ast.Constant(2))
    node.left, node.op, node.right = new.left, new.op, new.right  # (the node itself becomes the product)
    for parent, field, _ in later:
        if isinstance(field, tuple):
            getattr(parent, field[0])[field[1]] = load(square)
        else:
            setattr(parent, field, load(square))


def _square(x):
    return ast.BinOp(left=load(x), op=ast.Pow(), right=ast.Constant(2))


def _square_before(b, x, k):
    """The name a top-level `s = x ** 2` before statement k binds, where x and s are unchanged from it to k."""
    for q in range(k - 1, -1, -1):
        s = b.body[q]
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and _power_of(s.value) == 2 and s.value.left.id == x and s.targets[0].id != x:
            name = s.targets[0].id
            return name if b.steady(x, q + 1, k) and b.steady(name, q + 1, k) else None
        if x in b.stores[q]:
            return None
    return None


def _squares_after(b, x, k):
    """([(parent, field, node) of each `x ** 2` read as an operand of arithmetic], whether another cube or fourth
    power of x is there) in the simple top-level statements from k on, up to where x may change (the statement k
    itself binding x: none after it). A square bound to a name as it is stays: that name's array may be updated in
    place (`t2 = x ** 2; t2 += 1.0`), which must not change the shared square."""
    found, powers = [], 0
    for j in range(k, len(b.body)):
        if j > k and not b.steady(x, k, j):
            break
        if not isinstance(b.body[j], _SIMPLE):
            continue
        for parent in walk(b.body[j]):
            for field, value in ast.iter_fields(parent):
                items = [((field, i), v) for i, v in enumerate(value)] if isinstance(value, list) else [(field, value)]
                for where, v in items:
                    if _power_of(v) == 2 and v.left.id == x and isinstance(parent, ast.BinOp | ast.UnaryOp):
                        found.append((parent, where, v))  # (an operand only: `t2 = x_sq` would alias the square)
                    elif _power_of(v) in (3, 4) and v.left.id == x:
                        powers += 1
    return found, powers > 1  # (the power rewritten now is one of them)
