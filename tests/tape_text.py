"""What a generated gradient saves for its backward sweep, read from its text, in either form of the tape:
`stack.append(v)` pushes, or a loop's trip records (`saved.append((i, p, x))`, transforms/trip_records.py)."""

from __future__ import annotations

import ast


def _tapes(fdef) -> set[str]:
    """The shared tape's name and the lists the backward loops iterate reversed (the trip records)."""
    names = {"stack"}
    for n in ast.walk(fdef):
        if isinstance(n, ast.For) and isinstance(n.iter, ast.Call) and isinstance(n.iter.func, ast.Name) \
                and n.iter.func.id == "reversed" and isinstance(n.iter.args[0], ast.Name):
            names.add(n.iter.args[0].id)
    return names


def taped(src: str) -> list[str]:
    """The names saved, in the order of the code: each push's, each record's items but its loop's index.

        >>> taped("def f(x):\\n    saved = []\\n    for i in range(3):\\n        saved.append((i, x))\\n"
        ...       "        x = x * x\\n    for i, x in reversed(saved):\\n        pass")
        ['x']
    """
    fdef = ast.parse(src).body[-1]
    tapes = _tapes(fdef)
    out = []

    def visit(node, index):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Expr) and isinstance(child.value, ast.Call) \
                    and isinstance(child.value.func, ast.Attribute) and child.value.func.attr == "append" \
                    and isinstance(child.value.func.value, ast.Name) and child.value.func.value.id in tapes:
                arg = child.value.args[0]
                items = [e.id for e in arg.elts] if isinstance(arg, ast.Tuple) else [arg.id]
                out.extend(items[1:] if items and items[0] == index else items)
            inner = child.target.id if isinstance(child, ast.For) and isinstance(child.target, ast.Name) else index
            visit(child, inner)

    visit(fdef, None)
    return out


def backward_loops(src: str) -> int:
    """How many loops run over something reversed: `reversed(range(n))`, or a loop's trip records."""
    return sum(1 for n in ast.walk(ast.parse(src)) if isinstance(n, ast.For) and isinstance(n.iter, ast.Call)
               and isinstance(n.iter.func, ast.Name) and n.iter.func.id == "reversed")
