"""A number temporary read once is written into the statement that reads it.

Generated code is in A-normal form, one operation per statement, which in a scalar loop
costs a store and a load per operation:

    t2_bar = a_bar * x                  ->   k_bar = k_bar - a_bar * x
    k_bar = k_bar - t2_bar

Done for a name the code generator made up (an adjoint or a temporary, never a name of the
user's) whose value is read once, by a later simple statement of the same block (an assignment
or a return): a name assigned and read once, or one the reading statement assigns again
(`v_bar = v_bar + a; v_bar = v_bar - b` is `v_bar = v_bar + a - b`), where the value is a number (shape `()`) that the shapes pass
proves cannot raise (`specialize._pure`) and no statement in between binds a name the value
reads; or where the value is another name, of any kind, read by the very next statement
(`y_bar = y; y_bar = y_bar + y` is `y_bar = y + y`: no copy of the array left behind for a later
in-place rewrite to stumble on). Why the values are the same: the expression is evaluated once either way, on the same
numbers (nothing in between rebinds what it reads, and numbers are immutable), with the same
operations in the same order; it cannot raise and has no side effect, so evaluating it later,
after what the reading statement evaluates first, changes nothing.
"""

from __future__ import annotations

import ast

from .dce import live_after
from .names import loaded_names, name_counts
from .walk import fix_locations, walk

__all__ = ["merge_number_temporaries"]

_WINDOW = 40  # statements between a temporary and its read that are searched (keeps the pass linear)


def merge_number_temporaries(fdef: ast.FunctionDef, shapes, pure, made_up: set, stack: str | None = None) -> bool:
    """Write once-read number temporaries of `made_up` names into their reader (see the module docstring).

    `shapes` are the shapes inferred over `fdef`; `pure(node, shapes)` whether evaluating `node`
    cannot raise. Returns whether anything changed. A number that may raise (`t = a / x`) moves too
    where only pushes onto the tape `stack` lie between it and its reader, and the reader's value cannot
    raise but for it: it raises the same error, and the tape is the derivative's own.
    """
    if any(isinstance(n, ast.FunctionDef | ast.Lambda) for n in walk(fdef) if n is not fdef):
        return False
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    loads, stores = name_counts(fdef)
    changed = False
    live = live_after(fdef)  # (kept true: a value written into its reader makes what it reads live until there)
    seen = {}  # id(statement) -> (it, the names it reads (a count each), the names it binds): each walked once

    def block(stmts):
        nonlocal changed
        for s in stmts:
            for field in ("body", "orelse"):
                inner = getattr(s, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    block(inner)
        k = len(stmts) - 1
        while k >= 0:  # from the end: a temporary written into a later one moves on with it
            s = stmts[k]
            k -= 1
            if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)):
                continue
            name = s.targets[0].id
            if name not in made_up:
                continue
            if _tested_copy(s, stmts[k + 2] if k + 2 < len(stmts) else None, live):
                stmts[k + 2].test = s.value  # `c2 = c; if c2: ...` is `if c: ...` (c2 read nowhere else)
                del stmts[k + 1]
                stores[name] -= 1
                loads[name] -= 1
                changed = True
                continue
            reader = _reader(stmts, k + 1, name, loaded_names(s.value), seen)
            copied = isinstance(s.value, ast.Name) and k + 2 < len(stmts) and reader is stmts[k + 2]
            if reader is None or not copied and (shapes.of(s.value) != () or not (
                    pure(s.value, shapes) or _raises_alone(s.value, reader, stmts[k + 2:stmts.index(reader)],
                                                           stack, shapes, pure))):
                continue
            # a temporary read by `reader` alone: bound and read once, or dead after `reader` (a loop's test
            # computed before the loop and again at the end of its body binds its temporaries twice)
            once = name not in params and (
                loads.get(name) == 1 and stores.get(name) == 1 or name not in live.get(id(reader), (name,)))
            rebinds = isinstance(reader, ast.Assign) and any(
                isinstance(n, ast.Name) and n.id == name for t in reader.targets for n in walk(t))
            if not (once or rebinds):
                continue  # (`v = a + b; v = v - c` is `v = a + b - c`: the value dies where it is read)
            _substitute(reader, name, s.value)
            seen.pop(id(reader), None)  # (its reads changed)
            del stmts[k + 1]
            moved = loaded_names(s.value)  # read at `reader` now: live across the statements in between
            for between in stmts[k + 1:stmts.index(reader)]:
                live[id(between)] = live.get(id(between), frozenset()) | moved
            stores[name] -= 1
            loads[name] -= 1
            changed = True

    block(fdef.body)
    if changed:
        fix_locations(fdef)
    return changed


def _raises_alone(value, reader, between, stack, shapes, pure) -> bool:
    """Whether `value`, a number that may raise, may be evaluated at `reader` instead: only pushes onto the
    tape lie in `between`, and `reader`'s value (which reads the temporary, a real number) cannot raise."""
    pushes = all(isinstance(b, ast.Expr) and isinstance(b.value, ast.Call) and isinstance(b.value.func, ast.Attribute)
                 and b.value.func.attr == "append" and isinstance(b.value.func.value, ast.Name)
                 and b.value.func.value.id == stack and all(isinstance(a, ast.Name) for a in b.value.args)
                 for b in between)
    return stack is not None and pushes and shapes.real(value) and isinstance(reader, ast.Assign) \
        and pure(reader.value, shapes)


def _tested_copy(copy, nxt, live) -> bool:
    """Whether `copy` is `c2 = c` of names and `nxt` the `if c2:` right after it, where c2 is read nowhere in
    the `if` but its test and by nothing after it: the test reads c itself (before the branch runs)."""
    if not (isinstance(copy.value, ast.Name) and isinstance(nxt, ast.If) and isinstance(nxt.test, ast.Name)):
        return False
    name = copy.targets[0].id
    return nxt.test.id == name and copy.value.id != name and name not in live.get(id(nxt), (name,)) \
        and not any(isinstance(n, ast.Name) and n.id == name for s in nxt.body + nxt.orelse for n in walk(s))


def _reader(stmts, at, name, reads, seen):
    """The first statement after `stmts[at]` that mentions `name`, where it is a simple statement reading
    `name` once, in its value, and nothing in between binds `name` or `reads` (else None). `seen` keeps
    each statement's reads and binds (`_names`)."""
    for s in stmts[at + 1:at + 1 + _WINDOW]:
        if isinstance(s, ast.For | ast.While | ast.If | ast.With | ast.Try):
            return None
        known = seen.get(id(s))
        if known is None:
            known = seen[id(s)] = (s,) + _names(s)  # (s kept: its id stays its own)
        uses = known[1].get(name, 0)
        if uses:
            value = s.value if isinstance(s, ast.Assign | ast.AugAssign | ast.Return) else None
            in_value = value is not None and sum(1 for n in walk(value) if isinstance(n, ast.Name) and n.id == name) == 1
            return s if uses == 1 and in_value else None
        if name in known[2] or not known[2].isdisjoint(reads):
            return None
    return None


def _names(stmt):
    """({name: how many times `stmt` reads it}, the names it binds)."""
    reads, binds = {}, set()
    for n in walk(stmt):
        if isinstance(n, ast.Name):
            if isinstance(n.ctx, ast.Load):
                reads[n.id] = reads.get(n.id, 0) + 1
            elif isinstance(n.ctx, ast.Store):
                binds.add(n.id)
    return reads, binds


def _substitute(stmt, name, value):
    class Put(ast.NodeTransformer):
        def visit_Name(self, node):
            return value if node.id == name and isinstance(node.ctx, ast.Load) else node

    stmt.value = Put().visit(stmt.value)
