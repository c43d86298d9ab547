"""Copy propagation in generated code.

After `g = y_bar`, reads of the temporary `g` are replaced by `y_bar` for as
long as neither name is assigned again; the copy itself is then dead and
`eliminate_dead_code` removes it, and a self-assignment `y_bar = y_bar` is
dropped. Only copies *into* names s2s made up (adjoints, temporaries) are
propagated, so the user's own variable names stay in the forward sweep.
"""

from __future__ import annotations

import ast

from .names import assigned_names
from .walk import fix_locations


class _Replace(ast.NodeTransformer):
    def __init__(self, copies):
        self.copies = copies

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load) and node.id in self.copies:
            return ast.copy_location(ast.Name(self.copies[node.id], ast.Load()), node)
        return node

    def visit_FunctionDef(self, node):
        return node  # a nested function reads its free names when called, not here


def _kill(copies, node):
    """`copies` without the pairs that name a name `node` assigns (`node` is not walked where there are none)."""
    if not copies:
        return {}
    names = assigned_names(node)
    return {a: b for a, b in copies.items() if a not in names and b not in names}


def _substitute(node, copies):
    return _Replace(copies).visit(node) if copies else node


def _block(stmts, copies, removable):
    out = []
    for s in stmts:
        if isinstance(s, ast.If):
            s.test = _substitute(s.test, copies)
            copies = _kill(copies, s)
            s.body = _block(s.body, dict(copies), removable)
            s.orelse = _block(s.orelse, dict(copies), removable)
        elif isinstance(s, ast.For | ast.While):
            copies = _kill(copies, s)  # a loop body sees its own later assignments
            if isinstance(s, ast.For):
                s.iter = _substitute(s.iter, copies)
            else:
                s.test = _substitute(s.test, copies)
            s.body = _block(s.body, dict(copies), removable)
        elif isinstance(s, ast.FunctionDef):
            copies = _kill(copies, s)
        else:
            if isinstance(s, ast.Assign):
                s.value = _substitute(s.value, copies)
                s.targets = [t if isinstance(t, ast.Name) else _substitute(t, copies) for t in s.targets]
                target = s.targets[0] if len(s.targets) == 1 else None
                if isinstance(target, ast.Name) and isinstance(s.value, ast.Name) and target.id == s.value.id:
                    continue  # y = y
                copies = _kill(copies, s)
                if isinstance(target, ast.Name) and isinstance(s.value, ast.Name) and target.id in removable:
                    copies[target.id] = s.value.id
            else:
                s = _substitute(s, copies)
                copies = _kill(copies, s)
        out.append(s)
    return out


def propagate_copies(fdef: ast.FunctionDef, removable: set[str]) -> ast.FunctionDef:
    """Replace reads of copies into `removable` names by the original name (see module doc)."""
    fdef.body = _block(fdef.body, {}, set(removable))
    return fix_locations(fdef)
