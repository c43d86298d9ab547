"""Structured exits: `break`, `continue` and early `return` become flags.

After this pass a function body has no `break` or `continue`, and its only
`return` is its last statement. Statements that may be skipped by an exit
are guarded by `if not flag:`, so the reverse sweep replays exactly the path
the forward sweep took by recording ordinary branch decisions. A `for` loop
that can exit early becomes a `while` loop.
"""

from __future__ import annotations

import ast

from . import annotations
from .names import NameAllocator, assign, bound_names, builtin, load
from .walk import fix_locations, walk


def _contains(stmts, kinds, stop_at_loops=False):
    for s in stmts:
        if stop_at_loops and isinstance(s, ast.For | ast.While):  # a loop of the body owns its own break
            nodes = (n for n in walk(s) if isinstance(n, ast.Return))
        else:
            nodes = _walk(s, stop_at_loops)
        for node in nodes:
            if isinstance(node, kinds):
                return True
    return False


def _walk(node, stop_at_loops):
    yield node
    for child in ast.iter_child_nodes(node):
        if stop_at_loops and isinstance(child, ast.For | ast.While):
            # nested loops own their break/continue, but a return still leaves them
            yield from (n for n in walk(child) if isinstance(n, ast.Return))
            continue
        yield from _walk(child, stop_at_loops)


def _not(flags):
    tests = [ast.UnaryOp(op=ast.Not(), operand=load(f)) for f in flags]
    return tests[0] if len(tests) == 1 else ast.BoolOp(op=ast.And(), values=tests)


def _true(flag, like):
    return assign(flag, ast.Constant(True), like=like)


class Exits:
    """Rewrites one function; see the module docstring."""

    def __init__(self, alloc: NameAllocator):
        self.alloc = alloc
        self.ret_flag = None
        self.ret_var = None
        self.converted = []  # (the while loop a `for` became, its counter's name, the `for`'s target and iterable)

    def run(self, tree: ast.FunctionDef) -> ast.FunctionDef:
        body = tree.body
        if _needs_flags(body):
            self.ret_flag = self.alloc.fresh("returned")
            self.ret_var = self.alloc.fresh("result")
            new, _ = self.block(body, loop=None)
            init = [assign(self.ret_flag, ast.Constant(False), like=body[0]),
                    assign(self.ret_var, ast.Constant(None), like=body[0])]
            tree.body = init + new + [ast.copy_location(ast.Return(value=load(self.ret_var)), body[-1])]
        else:
            new, _ = self.block(body, loop=None)
            tree.body = new
        fix_locations(tree)
        return tree

    def block(self, stmts, loop):
        """Returns (new statements, set of flags that may be set when the block ends)."""
        out, live = [], set()
        for i, s in enumerate(stmts):
            new, flags, always = self.stmt(s, loop)
            out.extend(new)
            if always:
                return out, live | flags
            if flags:
                live |= flags
                rest, rest_flags = self.block(stmts[i + 1:], loop)
                if rest:
                    out.append(ast.copy_location(ast.If(test=_not(sorted(flags)), body=rest, orelse=[]),
                                                 stmts[i + 1]))
                return out, live | rest_flags
        return out, live

    def stmt(self, s, loop):
        """Returns (statements, flags it may set, whether it always exits)."""
        if isinstance(s, ast.Return):
            if self.ret_flag is None:
                return [s], set(), True
            value = s.value or ast.Constant(None)
            return [assign(self.ret_var, value, like=s), _true(self.ret_flag, s)], {self.ret_flag}, True
        if isinstance(s, ast.Break):
            return [_true(loop["break"], s)], {loop["break"]}, True
        if isinstance(s, ast.Continue):
            return [_true(loop["continue"], s)], {loop["continue"]}, True
        if isinstance(s, ast.Raise):
            return [s], set(), True
        if isinstance(s, ast.If):
            body, f1 = self.block(s.body, loop)
            orelse, f2 = self.block(s.orelse, loop)
            s.body, s.orelse = body or [ast.copy_location(ast.Pass(), s)], orelse
            always = _always_exits(body) and _always_exits(orelse)
            return [s], f1 | f2, always
        if isinstance(s, ast.For | ast.While):
            return self.loop(s)
        return [s], set(), False

    def loop(self, s):
        has_break = _contains(s.body, ast.Break, stop_at_loops=True)
        has_continue = _contains(s.body, ast.Continue, stop_at_loops=True)
        has_return = self.ret_flag is not None and _contains(s.body, ast.Return)
        info = {"break": self.alloc.fresh("stop") if has_break else None,
                "continue": self.alloc.fresh("skip") if has_continue else None}
        body, _ = self.block(s.body, info)
        if has_continue:
            body.insert(0, assign(info["continue"], ast.Constant(False), like=s))
        exit_flags = [f for f in (info["break"], self.ret_flag if has_return else None) if f]
        before = []
        if info["break"]:
            before.append(assign(info["break"], ast.Constant(False), like=s))
        if isinstance(s, ast.For) and (exit_flags or _unstable_for(s)):
            s = self.for_to_while(s, body, before)
            body = s.body
        else:
            s.body = body
        if exit_flags:
            s.test = ast.BoolOp(op=ast.And(), values=[_not(exit_flags), s.test]) if isinstance(
                s, ast.While) else s.test
        fix_locations(s)
        return before + [s], ({self.ret_flag} if has_return else set()), False

    def for_to_while(self, s, body, before):
        rng = self.alloc.fresh("steps")
        k = self.alloc.fresh("step")
        before.append(assign(rng, s.iter, like=s))
        before.append(assign(k, ast.Constant(0), like=s))
        length = ast.Call(func=builtin("len"), args=[load(rng)], keywords=[])
        test = ast.Compare(left=load(k), ops=[ast.Lt()], comparators=[length])
        bind = [ast.copy_location(ast.Assign(targets=[s.target],
                                             value=ast.Subscript(value=load(rng), slice=load(k), ctx=ast.Load())), s),
                assign(k, ast.BinOp(left=load(k), op=ast.Add(), right=ast.Constant(1)), like=s)]
        loop = ast.While(test=test, body=bind + body, orelse=[])
        self.converted.append((loop, k, s.target, s.iter))
        if annotations.has(s, annotations.CHECKPOINT_EVERY):
            annotations.carry(s, loop, annotations.CHECKPOINT_EVERY)  # refused in reverse mode: a while cannot be checkpointed
        return ast.copy_location(loop, s)


def _always_exits(stmts):
    return bool(stmts) and isinstance(stmts[-1], ast.Return | ast.Break | ast.Continue | ast.Raise)


def _unstable_for(s: ast.For) -> bool:
    """A for-range loop whose bounds or target the body reassigns, or whose target is a name its bounds read
    (`for i in range(i)`: the backward sweep would read the bound after the loop rebound it), cannot be
    replayed by range."""
    bound_names = {n.id for n in walk(s.iter) if isinstance(n, ast.Name)}
    target_names = {n.id for n in walk(s.target) if isinstance(n, ast.Name)}
    assigned = {n.id for b in s.body for n in walk(b) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return bool(assigned & bound_names) or bool(assigned & target_names) or bool(target_names & bound_names)


def _needs_flags(body) -> bool:
    returns = [n for s in body for n in walk(s) if isinstance(n, ast.Return)]
    if not returns:
        return False
    return not (len(returns) == 1 and body[-1] is returns[0])


def structure_exits(tree: ast.FunctionDef, alloc: NameAllocator) -> ast.FunctionDef:
    """Apply the pass to a desugared function."""
    exits = Exits(alloc)
    tree = exits.run(tree)
    for loop, counter, target, iterable in exits.converted:
        _unbound_after(tree, loop, counter, target, iterable)
    return tree


def _unbound_after(tree, loop, counter, target, iterable) -> None:
    """A name a `for` loop binds (its variable, or a name its body binds) that nothing else binds is unbound after a
    loop of no trips, and Python raises UnboundLocalError where it is read. The `while` the loop became binds it in
    its body too, but the reverse pass saves it on the tape from a placeholder `k = None`, and `x[None]` is the
    whole array: so each statement after the loop that reads it wherever it runs (not in one branch of a
    conditional expression, after `and`/`or`, in a comprehension or a lambda) is preceded by
    `if step == 0: raise UnboundLocalError(...)` (the loop's counter: 0 where no trip ran), for a loop of the
    function's body; in another loop or a branch, a trip of no trips may leave the variable an earlier trip bound
    (and the counter is unbound where the branch did not run): there the variable of a loop over a `range`, whose
    items are never None, is tested, `if k is None: raise ...`. Not where the `range` is of int literals and not
    empty."""
    inner = iterable.args[0] if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name) \
        and iterable.func.id == "reversed" and len(iterable.args) == 1 else iterable
    of_range = isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == "range"
    if of_range and 1 <= len(inner.args) <= 3 and all(isinstance(a, ast.Constant) and type(a.value) is int
                                                      for a in inner.args) \
            and len(range(*(a.value for a in inner.args))) > 0:
        return
    top = next((k for k, s in enumerate(tree.body) if s is loop), None)
    if top is None and not of_range:
        return
    inside = {id(n) for n in walk(loop)}
    params = {a.arg for a in walk(tree.args) if isinstance(a, ast.arg)}
    names = (bound_names(loop) if top is not None else bound_names(target)) - params
    names -= {counter}
    active = {}  # id of a statement after the loop -> the names unbound there where the loop ran no trip
    if top is None:  # (the placeholder test: the variable must be the loop's alone)
        names = {name for name in names if not any(isinstance(n, ast.Name) and n.id == name and id(n) not in inside
                                                   and not isinstance(n.ctx, ast.Load) for n in walk(tree))}
        later = list(tree.body)
        active = {id(n): names for s in later for n in walk(s) if isinstance(n, ast.stmt)}
    else:  # (bound before the loop: not unbound after it; after a statement that binds it, maybe bound)
        names -= {name for s in tree.body[:top] for name in bound_names(s)}
        later = []
        for s in tree.body[top + 1:]:
            names = names - bound_names(s)
            if not names:
                break
            later.append(s)
            active.update((id(n), names) for n in walk(s) if isinstance(n, ast.stmt))
    if not active:
        return
    for node in [tree, *(n for s in later for n in walk(s))]:
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if not isinstance(block, list) or not block or not isinstance(block[0], ast.stmt) or id(node) in inside \
                    or node is tree and top is None:
                continue
            new = []
            for k, s in enumerate(block):
                read = sorted(_reads_where_it_runs(s, active[id(s)])) if id(s) in active and id(s) not in inside \
                    and not (node is tree and top is not None and k <= top) else []
                if read:
                    message = f"cannot access local variable '{read[0]}' where it is not associated with a value"
                    raise_ = ast.Raise(exc=ast.Call(func=builtin("UnboundLocalError"),
                                                    args=[ast.Constant(message)], keywords=[]), cause=None)
                    test = ast.Compare(left=load(counter), ops=[ast.Eq()], comparators=[ast.Constant(0)]) \
                        if top is not None else ast.Compare(left=load(read[0]), ops=[ast.Is()],
                                                            comparators=[ast.Constant(None)])
                    new.append(ast.copy_location(ast.If(test=test, body=[ast.copy_location(raise_, s)], orelse=[]), s))
                new.append(s)
            block[:] = new
    fix_locations(tree)


def _reads_where_it_runs(stmt, names) -> set:
    """The names of `names` that `stmt`'s own expressions (a compound statement's test or iterable, not its body)
    read wherever they run: not in a branch of a conditional expression, an operand of `and`/`or` after the
    first, a comprehension's items or conditions, a lambda, a nested function."""
    if isinstance(stmt, ast.If | ast.While):
        parts = [stmt.test]
    elif isinstance(stmt, ast.For):
        parts = [stmt.iter]
    elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Try | ast.With):
        parts = []
    else:
        parts = [stmt]
    found, stack = set(), list(parts)
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name) and n.id in names and isinstance(n.ctx, ast.Load):
            found.add(n.id)
        elif isinstance(n, ast.IfExp):
            stack.append(n.test)
        elif isinstance(n, ast.BoolOp):
            stack.append(n.values[0])
        elif isinstance(n, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            stack.append(n.generators[0].iter)
        elif not isinstance(n, ast.Lambda):
            stack.extend(ast.iter_child_nodes(n))
    return found
