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
from .names import NameAllocator, assign, builtin, load
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
    return Exits(alloc).run(tree)


