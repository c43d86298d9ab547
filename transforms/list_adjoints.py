"""The adjoint of a list undoes each `L.append(v)` by popping in place where that list is the adjoint's own.

    L_bar = s2s.array_grad(g, L)                      L_bar = s2s.array_grad(g, L)
    for ...:                                    ->    for ...:
        L_bar, v_bar = s2s.append_grads(L_bar)            L_bar, v_bar = s2s.append_grads_owned(L_bar)

`s2s.append_grads(L_bar)` gives a new list of all items but the last (the general helper cannot know
whether another name holds the list it is given), a copy per trip: quadratic in the list's length.
Where every list `L_bar` ever holds is its own, the last item can be popped from it instead. That holds
for a local name bound only to

- `0.0` (the zero adjoint),
- `s2s.array_grad(g, L)` of an `L` the shapes pass knows to be a list or tuple (the helper then makes a new
  list, or gives 0.0), `s2s.grad_stack(g, L, axis)` and `s2s.grad_concatenate(g, L, axis)` (a new list of the
  pieces, or 0.0), and
- `L_bar, v = s2s.append_grads(L_bar)` (its list: a new one),

and read nowhere but as the argument of those `append_grads` calls (no copy of it under another name, no
tape push, no closure reading it): then no other name can see the list change.
"""

from __future__ import annotations

import ast

from .shapes import Seq, Shapes, hashable
from .walk import walk


def pop_owned_list_adjoints(fdef: ast.FunctionDef, shapes: Shapes) -> bool:
    """Rewrite `L, v = s2s.append_grads(L)` as `s2s.append_grads_owned(L)` where the module docstring's
    conditions hold for L; returns whether anything changed."""
    owned_helper = _owned_helper(shapes)
    if owned_helper is None:
        return False
    binds, reads, assigned = {}, {}, set()
    for node in walk(fdef):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for n in walk(target):
                    if isinstance(n, ast.Name):
                        binds.setdefault(n.id, []).append(node)
                        assigned.add(id(n))
    for node in walk(fdef):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            reads.setdefault(node.id, []).append(node)
        elif isinstance(node, ast.Name) and id(node) not in assigned:
            binds.setdefault(node.id, []).append(None)  # a loop target, `del`, an augmented assignment's
    params = {a.arg for a in fdef.args.args + fdef.args.posonlyargs + fdef.args.kwonlyargs}
    changed = False
    for name, stmts in binds.items():
        pops = [s for s in stmts if _pop_of(s, name, shapes)]
        if not pops or name in params or not all(s in pops or _fresh(s, name, shapes) for s in stmts):
            continue
        read_in_pops = {id(s.value.args[0]) for s in pops}
        if any(id(r) not in read_in_pops for r in reads.get(name, ())):
            continue
        for s in pops:
            s.value.func.attr = owned_helper
        changed = True
    return changed


def _owned_helper(shapes):
    """The attribute name of `append_grads_owned` where the runtime has it (every s2s runtime does)."""
    return "append_grads_owned" if "append_grads_owned" in shapes.helpers.values() \
        and "append_grads" in shapes.helpers.values() else None


def _helper_call(node, shapes, name):
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.keywords):
        return False
    callee = shapes.callee(node)
    return callee is not None and hashable(callee) and shapes.helpers.get(callee) == name


def _pop_of(stmt, name, shapes) -> bool:
    """`name, v = s2s.append_grads(name)`."""
    if stmt is None or len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Tuple):
        return False
    elts = stmt.targets[0].elts
    value = stmt.value
    return len(elts) == 2 and all(isinstance(e, ast.Name) for e in elts) and elts[0].id == name \
        and elts[1].id != name and _helper_call(value, shapes, "append_grads") and len(value.args) == 1 \
        and isinstance(value.args[0], ast.Name) and value.args[0].id == name


def _fresh(stmt, name, shapes) -> bool:
    """`name = 0.0` or `name = s2s.array_grad(g, L)` of a list or tuple L: a list no other name holds, or 0.0."""
    if stmt is None or len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
        return False
    value = stmt.value
    if isinstance(value, ast.Constant):
        return type(value.value) is float and value.value == 0.0
    if (_helper_call(value, shapes, "grad_stack") or _helper_call(value, shapes, "grad_concatenate")) \
            and len(value.args) == 3:
        return True  # (np.stack's and np.concatenate's adjoints: a new list of the pieces, or the zero adjoint)
    return _helper_call(value, shapes, "array_grad") and len(value.args) == 2 \
        and isinstance(shapes.of(value.args[1]), Seq)
