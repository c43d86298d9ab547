"""A loop's `else:` clause as the code after the loop, run where no `break` ended it.

Python runs a `for` or `while` loop's `else` block once the loop ends by running out of items (or its test
turning false), not where a `break` ends it; a `return` inside leaves the function and skips it too. Written
with a flag the loop's own breaks set, the rest of s2s sees a loop with breaks and an `if`:

    for x in xs:                    broke = False
        if x > limit:               for x in xs:
            break                       if x > limit:
        s = s + x                           broke = True
    else:                                   break
        s = s * 2.0                     s = s + x
                                    if not broke:
                                        s = s * 2.0

A loop with no `break` of its own (one in a nested loop ends that loop) runs its `else` block every time it
ends: the block goes after the loop as it is.
"""

from __future__ import annotations

import ast

from .names import NameAllocator, load, store
from .walk import fix_locations, walk


def write_loop_else(tree: ast.FunctionDef, alloc: NameAllocator) -> None:
    """Write each loop's `else:` clause in `tree` after its loop (the module docstring), in place.

        >>> tree = ast.parse("def f(xs):\\n    for x in xs:\\n        break\\n    else:\\n        x = 0\\n    return x").body[0]
        >>> write_loop_else(tree, NameAllocator({"f", "xs", "x"}))
        >>> print(ast.unparse(tree))
        def f(xs):
            broke = False
            for x in xs:
                broke = True
                break
            if not broke:
                x = 0
            return x
    """
    for holder in list(walk(tree)):
        if holder is not tree and isinstance(holder, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue  # (a local function's loops are written where it is expanded or differentiated)
        for field in ("body", "orelse", "finalbody"):
            block = getattr(holder, field, None)
            if isinstance(block, list) and any(isinstance(s, ast.For | ast.While) and s.orelse for s in block):
                setattr(holder, field, _written(block, alloc))
    fix_locations(tree)


def _written(block: list, alloc: NameAllocator) -> list:
    out = []
    for s in block:
        if not (isinstance(s, ast.For | ast.While) and s.orelse):
            out.append(s)
            continue
        tail, s.orelse = s.orelse, []
        breaks = list(own_breaks(s.body))
        if not breaks:
            out += [s, *tail]
            continue
        flag = alloc.fresh("broke")
        for holder, k in breaks:
            holder[k:k + 1] = [ast.copy_location(ast.Assign(targets=[store(flag)], value=ast.Constant(True)),
                                                 holder[k]), holder[k]]
        start = ast.copy_location(ast.Assign(targets=[store(flag)], value=ast.Constant(False)), s)
        after = ast.copy_location(ast.If(test=ast.UnaryOp(op=ast.Not(), operand=load(flag)), body=tail, orelse=[]),
                                  tail[0])
        out += [start, s, after]
    return out


def own_breaks(stmts: list):
    """(the list holding it, its position) for each `break` that ends the loop whose body is `stmts` (not one of a
    nested loop or function), the last first, so that inserting before each keeps the positions of the others.

        >>> loop = ast.parse("for x in xs:\n    if x:\n        break\n    for y in x:\n        break").body[0]
        >>> len(list(own_breaks(loop.body)))
        1
    """
    found = []

    def visit(block):
        for k, s in enumerate(block):
            if isinstance(s, ast.Break):
                found.append((block, k))
            elif isinstance(s, ast.For | ast.AsyncFor | ast.While):
                visit(s.orelse)  # (a break in a nested loop's `else` ends this loop)
            elif not isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    inner = getattr(s, field, None)
                    if isinstance(inner, list):
                        if field == "handlers":
                            for handler in inner:
                                visit(handler.body)
                        else:
                            visit(inner)
                if isinstance(s, ast.Match):
                    for case in s.cases:
                        visit(case.body)
    visit(stmts)
    return reversed(found)
