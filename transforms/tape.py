"""Tape only what the backward sweep reads: drop restores nobody reads.

The reverse pass saves a value before it is overwritten (`stack.append(v)`) and
restores it in the backward sweep (`v = stack.pop()`) whenever some backward
code reads `v`. That decision is per name; this pass refines it per place. A
restore is *unread* when no code after it reads `v` (and, inside a loop, no
code of that loop either, since the next trip may read it). When every
restore of `v` is unread, the tape entries of `v` are dropped in pairs: each
push and each pop of `v`. Pushes and pops of `v` match one to one, so the
rest of the tape keeps its order. Loops left with nothing to do go too.
"""

from __future__ import annotations

import ast

from .names import assigned_names, loaded_names


def _is_push(s, stack):
    return isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and isinstance(s.value.func, ast.Attribute) \
        and s.value.func.attr == "append" and isinstance(s.value.func.value, ast.Name) \
        and s.value.func.value.id == stack and len(s.value.args) == 1 and isinstance(s.value.args[0], ast.Name)


def _is_pop(s, stack):
    return isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
        and isinstance(s.value, ast.Call) and isinstance(s.value.func, ast.Attribute) \
        and s.value.func.attr == "pop" and not s.value.args and isinstance(s.value.func.value, ast.Name) \
        and s.value.func.value.id == stack


class _Order(ast.NodeVisitor):
    """Every statement in program order, with the loops around it."""

    def __init__(self):
        self.items = []  # (statement, enclosing loops)
        self.loops = []

    def generic_visit(self, node):
        if isinstance(node, ast.stmt):
            self.items.append((node, tuple(self.loops)))
        is_loop = isinstance(node, ast.For | ast.While)
        if is_loop:
            self.loops.append(node)
        super().generic_visit(node)
        if is_loop:
            self.loops.pop()


def _own_loads(s) -> set[str]:
    """Names a statement reads itself, not counting the bodies of the statements nested in it."""
    if isinstance(s, ast.If | ast.While):
        return loaded_names(s.test)
    if isinstance(s, ast.For):
        return loaded_names(s.iter)
    if isinstance(s, ast.FunctionDef):
        return {d.id for d in s.args.defaults if isinstance(d, ast.Name)}
    return loaded_names(s)


def _unread_restores(fdef, stack):
    order = _Order()
    order.visit(fdef)
    items = order.items
    reads_after = [set() for _ in items]
    seen = set()
    for i in range(len(items) - 1, -1, -1):
        reads_after[i] = set(seen)
        seen |= _own_loads(items[i][0])
    pops = {}
    loop_loads = {}
    for i, (s, loops) in enumerate(items):
        if _is_pop(s, stack):
            name = s.targets[0].id
            for loop in loops:
                if id(loop) not in loop_loads:
                    loop_loads[id(loop)] = loaded_names(loop)
            read = name in reads_after[i] or any(name in loop_loads[id(loop)] for loop in loops)
            pops.setdefault(name, []).append(read)
    return {name for name, reads in pops.items() if not any(reads)}


class _Drop(ast.NodeTransformer):
    def __init__(self, stack, names):
        self.stack, self.names = stack, names

    def _filter(self, stmts):
        out = []
        for s in stmts:
            if _is_push(s, self.stack) and s.value.args[0].id in self.names:
                continue
            if _is_pop(s, self.stack) and s.targets[0].id in self.names:
                continue
            s = self.visit(s)
            if isinstance(s, ast.For) and isinstance(s.iter, ast.Call) and _idle(s.body) and \
                    not (assigned_names(ast.Module(body=[s], type_ignores=[])) - {_target(s)}):
                continue  # a loop over a range with nothing left to do
            out.append(s)
        return out

    def generic_visit(self, node):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                kept = self._filter(block)
                if _idle(kept):  # comments alone are no statement
                    kept = [ast.Pass()] if field == "body" else []
                setattr(node, field, kept)
        return node


def _target(loop):
    return loop.target.id if isinstance(loop.target, ast.Name) else None


def _idle(stmts):
    return all(isinstance(s, ast.Pass) or type(s).__name__ == "Comment" for s in stmts)


def _is_placeholder(s):
    return isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant) and s.value.value is None \
        and all(isinstance(t, ast.Name) for t in s.targets)


def drop_unread_restores(fdef: ast.FunctionDef, stack: str | None) -> ast.FunctionDef:
    """Remove the push/pop pairs of names whose every restore is unread (see the module doc)."""
    if not stack:
        return fdef
    names = _unread_restores(fdef, stack)
    if not names:
        return fdef
    fdef = _Drop(stack, names).visit(fdef)
    still_used = any(isinstance(n, ast.Name) and n.id == stack and isinstance(n.ctx, ast.Load) for n in ast.walk(fdef))
    body = []
    after_stack = False
    # in a split form the pullback's defaults read the placeholders: leave them there
    nested = any(isinstance(n, ast.FunctionDef) for n in ast.walk(fdef) if n is not fdef)
    for s in fdef.body:  # the tape itself, `stack = []`, when nothing uses it any more
        is_stack = isinstance(s, ast.Assign) and len(s.targets) == 1 and \
            isinstance(s.targets[0], ast.Name) and s.targets[0].id == stack and isinstance(s.value, ast.List)
        if after_stack and not nested and _is_placeholder(s):
            # `t = t2 = None` right after the tape: values pushed before their first assignment
            s.targets = [t for t in s.targets if t.id not in names]
            if not s.targets:
                continue
        after_stack = is_stack
        if is_stack and not still_used:
            continue
        body.append(s)
    fdef.body = body
    return ast.fix_missing_locations(fdef)
