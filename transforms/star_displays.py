"""Star-unpacking in list and tuple displays as the concatenation it is.

`[*a, b, *c]` evaluates `a` and takes its items, then `b`, then `c`'s items, left to right: that is what
`list(a) + [b] + list(c)` does, in the same order, and a tuple display the same with `tuple(...)`:

    shape = (*x.shape, 2)        ->   shape = tuple(x.shape) + (2,)
    layers = [*hidden, out]      ->   layers = list(hidden) + [out]

so the passes after it read a concatenation of sequences (shape arithmetic, list adjoints) where they refused
the star. A call's star arguments (`f(*a, b)`) and targets (`a, *rest = v`) are other constructs, left as they
are; so are set and dict displays.
"""

from __future__ import annotations

import ast

from .names import builtin
from .walk import fix_locations


def write_star_displays(tree: ast.FunctionDef) -> None:
    """Write each list or tuple display of `tree` that unpacks with `*` as a concatenation, in place.

        >>> # (*x.shape, 2)  ->  tuple(x.shape) + (2,)
    """
    class Displays(ast.NodeTransformer):
        def visit_List(self, node):
            return self._concatenated(node, "list", ast.List)

        def visit_Tuple(self, node):
            return self._concatenated(node, "tuple", ast.Tuple)

        def _concatenated(self, node, kind, display):
            self.generic_visit(node)
            if not isinstance(node.ctx, ast.Load) or not any(isinstance(e, ast.Starred) for e in node.elts):
                return node
            return ast.copy_location(concatenation(node.elts, kind), node)

    Displays().visit(tree)
    fix_locations(tree)


def concatenation(elements: list[ast.expr], kind: str = "tuple") -> ast.expr:
    """The display of `elements` (some of them `*a`) of `kind` ("tuple" or "list") as a concatenation:
    `[a, *b]` -> `[a] + list(b)`."""
    display = ast.Tuple if kind == "tuple" else ast.List
    parts, run = [], []
    for element in elements:
        if isinstance(element, ast.Starred):
            if run:
                parts.append(display(elts=run, ctx=ast.Load()))
                run = []
            parts.append(ast.Call(func=builtin(kind), args=[element.value], keywords=[]))
        else:
            run.append(element)
    if run or not parts:
        parts.append(display(elts=run, ctx=ast.Load()))
    out = parts[0]
    for part in parts[1:]:
        out = ast.BinOp(left=out, op=ast.Add(), right=part)
    return out
