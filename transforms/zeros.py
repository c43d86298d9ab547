"""Zero adjoints are never materialised.

An adjoint starts as the literal `0.0` and is then accumulated into:
`x_bar = x_bar + contribution`. Where `x_bar` is known to still hold that
literal zero, the addition is pointless and becomes `x_bar = contribution`;
the `x_bar = 0.0` that is then never read is removed by dead-code
elimination. The analysis is a forward data-flow over the structured code:
a name is known zero after `name = 0.0`, stops being so at any other
assignment, branches meet by intersection, and a loop is iterated until the
set at its head is stable (so a reset at the end of a loop body lets the
next trip's first accumulation be a plain assignment).
"""

from __future__ import annotations

import ast

from .names import assigned_names, loaded_names
from .simplify import is_number
from .walk import fix_locations, walk_nodes


def _zero_literal(node) -> bool:
    return is_number(node, 0) and isinstance(node.value, float)


def _transfer(stmts, zeros, rewrite, names, jumps=True):
    """Known-zero names after `stmts`, given those before; rewrites accumulations when `rewrite`. `jumps` false
    says the function holds no `break` or `continue` (so no loop's body is walked to look for one)."""
    zeros = set(zeros)
    for s in stmts:
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
            name = s.targets[0].id
            v = s.value
            if rewrite and name in zeros and name in names and isinstance(v, ast.BinOp) and isinstance(v.op, ast.Add) \
                    and isinstance(v.left, ast.Name) and v.left.id == name and name not in loaded_names(v.right):
                s.value = v.right
            zeros.discard(name)
            if _zero_literal(s.value) and name in names:
                zeros.add(name)
            elif zeros:  # (nothing known to take out of: no walk)
                zeros -= assigned_names(s)
        elif isinstance(s, ast.If):
            a = _transfer(s.body, zeros, rewrite, names, jumps)
            b = _transfer(s.orelse, zeros, rewrite, names, jumps)
            zeros = a & b
        elif isinstance(s, ast.For | ast.While) and jumps \
                and any(isinstance(n, ast.Break | ast.Continue) for n in walk_nodes(s)):
            zeros -= assigned_names(s)  # jumps: stay out
        elif isinstance(s, ast.For | ast.While):
            head = set(zeros)
            while True:
                after = _transfer(s.body, head, False, names, jumps)
                new_head = head & after
                if new_head == head:
                    break
                head = new_head
            _transfer(s.body, head, rewrite, names, jumps)
            zeros = head  # the loop may run zero times, and every trip ends in `after` ⊇ head
        elif isinstance(s, ast.FunctionDef):
            continue
        elif zeros:
            zeros -= assigned_names(s)
    return zeros



def drop_zero_accumulations(fdef: ast.FunctionDef, adjoints: set[str]) -> ast.FunctionDef:
    """Rewrite `a = a + e` to `a = e` wherever the adjoint `a` is known to be the literal 0.0."""
    # (the rewrites only replace an assignment's value: a loop's jumps stay as they are while they run)
    jumps = any(isinstance(n, ast.Break | ast.Continue) for n in walk_nodes(fdef))
    _transfer(fdef.body, set(), True, set(adjoints), jumps)
    return fix_locations(fdef)
