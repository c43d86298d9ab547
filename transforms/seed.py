"""The seed of `s2s.grad`'s code is the number 1.0: written as that number, and `1.0 * e` as `e`.

Reverse-mode code takes the output's adjoint as its last keyword (`out_bar=1.0`). `s2s.grad`
(form "grad" in `s2s.pipeline`) never passes it: its code always runs with the default, the
Python float 1.0. In that code the seed is therefore a constant, and where the shapes pass
proves the other operand a real float array (or a real float number, when every argument is
float64), `1.0 * e`, `e * 1.0` and `e / 1.0` are `e` exactly: IEEE multiplication and division
by one return the operand itself, signed zeros, infinities and NaN included, and NumPy keeps
the operand's dtype (float32 stays float32). Literal arithmetic left by the substitution
(`1.0 / 128`) is folded as Python would compute it at run time.

In a loop this removes one array operation per iteration: `d_bar = e_bar * d / norm` becomes
`d_bar = d / norm`.

Example::

    fold_unit_seed(fdef, "out_bar", shapes, float64_only=True)
    # t_bar = out_bar * d / n   ->   t_bar = d / n
"""

from __future__ import annotations

import ast

from .simplify import _fold
from .walk import fix_locations, walk

__all__ = ["fold_unit_seed", "unit_product_is_itself"]


def fold_unit_seed(fdef: ast.FunctionDef, seed: str, shapes, float64_only: bool) -> bool:
    """Read the seed keyword `seed` of `fdef` as the constant 1.0 and fold the products it is in.

    Only for code whose every caller leaves the seed at its default 1.0 (`s2s.grad`'s).
    `shapes` are the shapes inferred over `fdef` (`transforms.shapes.Shapes`): a product is
    folded only where they say the other operand is real floating point, of a known array
    shape, or a number where `float64_only` (NumPy may promote a float32 *scalar* times a
    Python float). Returns whether anything changed.
    """
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    if seed not in params:
        return False
    ones = _ones(fdef, seed, params)
    if not ones:
        return False

    def keeps_itself(node):
        return unit_product_is_itself(node, shapes, float64_only)

    class Fold(ast.NodeTransformer):
        changed = False

        def visit_Name(self, node):
            if node.id in ones and isinstance(node.ctx, ast.Load):
                self.changed = True
                return ast.copy_location(ast.Constant(1.0), node)
            return node

        def visit_BinOp(self, node):
            left_seed, right_seed = _is_one(node.left, ones), _is_one(node.right, ones)
            self.generic_visit(node)
            folded = _fold(node)
            if folded is not None:
                return folded
            if isinstance(node.op, ast.Mult) and left_seed and keeps_itself(node.right):
                return node.right
            if isinstance(node.op, ast.Mult | ast.Div) and right_seed and keeps_itself(node.left):
                return node.left
            return node

        def visit_IfExp(self, node):
            self.generic_visit(node)
            test = node.test  # `0.0 if s2s.is_zero(1.0) else e`, the guard of an adjoint that was the seed: e
            if isinstance(test, ast.Call) and test.args and isinstance(test.args[0], ast.Constant):
                guarded = shapes.zero_guarded(node)
                if guarded is not None:
                    return guarded
            return node

    fold = Fold()
    fold.visit(fdef)
    if fold.changed:
        from .reverse import Comment  # (the comment node the code printer renders as a `#` line)

        note = Comment(f"{seed} is 1.0 here: s2s.grad never passes it")
        note.lineno = getattr(fdef.body[0], "lineno", 1) if fdef.body else 1
        fdef.body.insert(0, note)
    if fold.changed:
        fix_locations(fdef)
    return fold.changed


def unit_product_is_itself(node, shapes, float64_only: bool) -> bool:
    """Whether `1.0 * node` is `node` exactly: real floating point of a known array shape, or a number where every
    argument is float64 (`float64_only`: NumPy may promote a float32 scalar times a Python float)."""
    shape = shapes.of(node)
    return shapes.real(node) and shape is not None and (shape != () or float64_only)


def _ones(fdef, seed, params):
    """The seed and the names that are copies of it: every binding of each is `name = one` with `one`
    among them (`g = out_bar`, `out_bar = out_bar`), so wherever they are read they hold 1.0.
    Empty where the seed itself is bound to anything else."""
    stores, assigns, sources, other = {}, {}, {}, set()
    for node in walk(fdef):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            assigns[name] = assigns.get(name, 0) + 1
            if isinstance(node.value, ast.Name):
                sources.setdefault(name, set()).add(node.value.id)
            else:
                other.add(name)
    copies_only = {n for n in sources if n not in other and assigns[n] == stores[n]}
    if seed in stores and seed not in copies_only:
        return set()
    ones, grown = {seed}, True
    while grown:
        grown = False
        for name in copies_only - ones:
            if (name not in params or name == seed) and sources[name] <= ones | {name}:
                ones.add(name)
                grown = True
    if seed in stores and not sources[seed] <= ones:
        return set()
    return ones


def _is_one(node, ones):
    return isinstance(node, ast.Name) and node.id in ones and isinstance(node.ctx, ast.Load)
