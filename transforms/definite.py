"""Definite assignment: which reads of a function's names may find them unbound, and the guards that make
the generated code raise Python's UnboundLocalError there.

A name bound in a loop of no trips, or in a branch not taken, is unbound after it, and Python raises where it
is read. The generated code may not: the reverse pass saves such a name on the tape from a placeholder
(`v = None` before the forward sweep), and a read of the value the gradient does not need is dropped. So
before each statement whose read of a name may find it unbound, `guard_unbound_reads` puts
`if not v_bound: raise UnboundLocalError(...)`, with `v_bound = False` at the start, `v_bound = True`
after each statement that binds it, and `v_bound = False` where the body of a helper expanded in place
(inline) starts: a call's locals are unbound at its start.
"""

from __future__ import annotations

import ast

from . import annotations
from .names import NameAllocator, assign, assigned_names, builtin, load
from .walk import fix_locations, walk, walk_nodes


def leaves_early(body) -> bool:
    """Whether a loop's body holds a `break` or `continue` (at any depth)."""
    return any(isinstance(n, ast.Break | ast.Continue) for s in body for n in walk_nodes(s))


def maybe_unbound_reads(fdef, local, runs_a_trip=lambda loop: False, fresh=False) -> set:
    """The ids of the Name reads of `local` names that may be unbound there (definite assignment: a name is
    bound after a statement that binds it on every path; a loop's body may run no trip, unless `runs_a_trip`
    says it runs one and its body leaves no trip early: what its body binds is then bound after it)."""
    out = set()
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    jumps = []  # [whether fdef holds a break or continue], found at the first loop (then no loop without is walked)

    def left_early(loop):
        if not jumps:
            jumps.append(any(isinstance(n, ast.Break | ast.Continue) for n in walk_nodes(fdef)))
        return jumps[0] and leaves_early(loop.body)

    def reads(node, bound):
        for n in walk_nodes(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in local and n.id not in bound:
                out.add(id(n))

    def block(stmts, bound):
        for s in stmts:
            bound = stmt(s, bound)
        return bound

    def stmt(s, bound):
        if fresh:  # (an expanded helper's body starts here: its locals are unbound, as a call's are)
            bound = bound - annotations.get(s, annotations.FRESH_LOCALS, frozenset())
        if isinstance(s, ast.If):
            reads(s.test, bound)
            return block(s.body, bound) & block(s.orelse, bound)
        if isinstance(s, ast.For):
            reads(s.iter, bound)
            end = block(s.body, bound | assigned_names(s.target))
            return block(s.orelse, end if not left_early(s) and runs_a_trip(s) else bound)
        if isinstance(s, ast.While):
            reads(s.test, bound)
            block(s.body, bound)
            return block(s.orelse, bound)
        if isinstance(s, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Expr | ast.Return):
            if isinstance(s, ast.AugAssign):
                reads(s.target, bound)
            if getattr(s, "value", None) is not None:
                reads(s.value, bound)
            targets = s.targets if isinstance(s, ast.Assign) else [s.target] if hasattr(s, "target") else []
            for t in targets:
                if not isinstance(t, ast.Name):
                    reads(t, bound)
            if isinstance(s.value, ast.Constant) and s.value.value is None \
                    and annotations.get(s, annotations.PLACEHOLDER, False):
                return bound  # (the tape's placeholder, `t = t2 = None`, stands for no value yet; `prev = None` binds)
            return bound | {n for t in targets for n in assigned_names(t)}
        if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return bound | {s.name}
        if isinstance(s, ast.Raise | ast.Assert | ast.Pass):
            reads(s, bound)
            return bound
        if isinstance(s, ast.Delete):  # (`del v` unbinds v; `del a[i]` reads a and i)
            reads(s, bound)
            return bound - {t.id for t in s.targets if isinstance(t, ast.Name)}
        # anything else (try, with...): every read in it counts as maybe unbound, nothing it binds counts
        reads(s, frozenset())
        return bound

    block(fdef.body, frozenset(params))
    return out


def guard_unbound_reads(fdef: ast.FunctionDef, alloc: NameAllocator) -> bool:
    """Put the guards of the module docstring into `fdef` (after the exits pass: no `break`, `continue` or early
    `return`) for each name a statement reads, wherever the statement runs, where it may be unbound. Not for
    names a nested function declares `nonlocal` or the function `global`, nor those bound inside an expression
    (`:=`). Returns whether anything changed.

        >>> f = ast.parse("def f(x, n):\n    for i in range(n):\n        v = x\n    return v").body[0]
        >>> guard_unbound_reads(f, NameAllocator({"f", "x", "n", "i", "v"}))
        True
        >>> print(ast.unparse(f))
        def f(x, n):
            v_bound = False
            for i in range(n):
                v = x
                v_bound = True
            if not v_bound:
                raise UnboundLocalError("cannot access local variable 'v' where it is not associated with a value")
            return v
    """
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    declared = {n for s in walk(fdef) if isinstance(s, ast.Global | ast.Nonlocal) for n in s.names}
    untracked = {n.target.id for n in walk_nodes(fdef) if isinstance(n, ast.NamedExpr)} \
        | {n.name for n in walk_nodes(fdef) if isinstance(n, ast.ExceptHandler | ast.MatchAs | ast.MatchStar)
           and n.name} | {n.rest for n in walk_nodes(fdef) if isinstance(n, ast.MatchMapping) and n.rest}
    local = _own_bound(fdef) - params - declared - untracked
    if not local:
        return False
    maybe = maybe_unbound_reads(fdef, local, _runs_a_trip, fresh=True)
    if not maybe:
        return False
    guarded = {}  # statement id -> the names it reads where they may be unbound
    for block in _own_blocks(fdef):
        for s in block:
            names = sorted({n.id for n in _sure_reads(s) if id(n) in maybe})
            if names:
                guarded[id(s)] = names
    if not guarded:
        return False
    flags = {name: alloc.fresh(f"{name}_bound") for name in sorted({n for names in guarded.values() for n in names})}
    for block in _own_blocks(fdef):
        new = []
        for s in block:
            new.extend(assign(flags[n], ast.Constant(False), like=s)
                       for n in sorted(annotations.get(s, annotations.FRESH_LOCALS, frozenset())) if n in flags)
            for name in guarded.get(id(s), ()):
                message = f"cannot access local variable '{_written(fdef, name)}' where it is not associated with a value"
                raise_ = ast.Raise(exc=ast.Call(func=builtin("UnboundLocalError"), args=[ast.Constant(message)],
                                                keywords=[]), cause=None)
                new.append(ast.copy_location(ast.If(test=ast.UnaryOp(op=ast.Not(), operand=load(flags[name])),
                                                    body=[ast.copy_location(raise_, s)], orelse=[]), s))
            new.append(s)
            if isinstance(s, ast.For):
                s.body[:0] = [assign(flags[n], ast.Constant(True), like=s)
                              for n in sorted(assigned_names(s.target) & set(flags))]
            elif not isinstance(s, ast.If | ast.While):
                stored = _own_stores(s)
                new.extend(assign(flags[n], ast.Constant(value), like=s)
                           for n, value in sorted(stored.items()) if n in flags)
        block[:] = new
    fdef.body[:0] = [assign(flag, ast.Constant(False), like=fdef.body[0]) for flag in flags.values()]
    fix_locations(fdef)
    return True


def _runs_a_trip(loop) -> bool:
    """Whether `loop` is over `range(...)` of int literals that is not empty (`for _ in range(10)`)."""
    it = loop.iter
    return isinstance(loop, ast.For) and isinstance(it, ast.Call) and isinstance(it.func, ast.Name) \
        and it.func.id == "range" and 1 <= len(it.args) <= 3 and not it.keywords \
        and all(isinstance(a, ast.Constant) and type(a.value) is int for a in it.args) \
        and (len(it.args) < 3 or it.args[2].value != 0) and len(range(*(a.value for a in it.args))) > 0


def _own_blocks(fdef):
    """The statement lists of `fdef` itself (not of the functions and classes defined in it)."""
    stack = [fdef]
    while stack:
        node = stack.pop()
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield block
                stack.extend(s for s in block if not isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef
                                                                   | ast.ClassDef))
        for handler in getattr(node, "handlers", ()):
            stack.append(handler)


def _own_bound(fdef) -> set:
    """The names the statements of `fdef` itself bind."""
    out = set()
    for block in _own_blocks(fdef):
        for s in block:
            out |= set(_own_stores(s))
            if isinstance(s, ast.For):
                out |= assigned_names(s.target)
    return out


def _own_stores(s) -> dict:
    """The names the simple statement `s` binds (True) or deletes (False), not those of its nested blocks."""
    if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {s.name: True}
    if isinstance(s, ast.Delete):
        return {n.id: False for t in s.targets for n in walk(t) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Del)}
    if isinstance(s, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0]: True for a in s.names}
    if isinstance(s, ast.If | ast.For | ast.While | ast.Try | ast.With):
        return {n: True for item in getattr(s, "items", ()) if item.optional_vars is not None
                for n in assigned_names(item.optional_vars)}
    out, stack = {}, [s]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            out[n.id] = True
        elif not isinstance(n, ast.Lambda | ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            stack.extend(ast.iter_child_nodes(n))
    return out


def _written(fdef, name: str) -> str:
    """The name you wrote for `name`: a helper's local renamed where the helper was expanded in place (through
    each helper it was expanded into)."""
    user_names = annotations.get(fdef, annotations.USER_NAMES, {})
    seen = set()
    while name in user_names and name not in seen:
        seen.add(name)
        name = user_names[name]
    return name


def _sure_reads(stmt) -> list:
    """The Name reads of `stmt`'s own expressions (a compound statement's test or iterable, not its body) that run
    wherever it runs: not in a branch of a conditional expression, an operand of `and`/`or` after the first, a
    comprehension's items or conditions, a lambda, a nested function."""
    if isinstance(stmt, ast.If | ast.While):
        parts = [stmt.test]
    elif isinstance(stmt, ast.For):
        parts = [stmt.iter]
    elif isinstance(stmt, ast.With):
        parts = [item.context_expr for item in stmt.items]
    elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Try):
        parts = list(stmt.decorator_list) if not isinstance(stmt, ast.Try) else []
    else:
        parts = [stmt]
    found, stack = [], list(parts)
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            found.append(n)
        elif isinstance(n, ast.IfExp):
            stack.append(n.test)
        elif isinstance(n, ast.BoolOp):
            stack.append(n.values[0])
        elif isinstance(n, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            stack.append(n.generators[0].iter)
        elif not isinstance(n, ast.Lambda):
            stack.extend(ast.iter_child_nodes(n))
    return found
