"""Calls the derivative runs as they are: an argument the callee updates in place is passed as a copy.

A call of your function whose arguments carry no derivative (`c = double(w)` with `w = np.ones(2)`) is run as
written by the forward sweep. Where the function updates an argument in place, transforms/ownership.py has
proved that nothing the function reads afterwards sees the change (or refused); but the backward sweep runs
after the whole forward sweep and reads values read *before* the call (`z = x * w`: z's adjoint is
`z_bar * w`), which the call would have changed under it. So such an argument is passed as a copy: the callee
changes the copy, its result (which may be the copy) is what the function goes on with, and the values read
before the call stay as they were read. All its arguments are copied together (`s2s.call_copied`), so that two
names for one array stay one array.

    >>> # w = np.ones(2); z = x * w; c = double(w)  ->  c = s2s.call_copied(double, site, w)
"""

from __future__ import annotations

import ast
import copy
import inspect

from . import annotations, callees
from .analysis import resolve_call
from .context import missing
from .names import load
from .walk import walk


def copied_arguments(pf, s: ast.stmt, s2s_name: str) -> ast.stmt:
    """The statement `s` (run as it is by the forward sweep: an assignment, an `assert`) with each call in it
    made through `s2s.call_copied` where its callee may update an argument in place, through `s2s.call_plain`
    where what it does depends on a function value it is given; `s` itself where there is none.

        >>> # c = double(w)  ->  c = s2s.call_copied(double, site, (0,), (), w)
    """
    if not isinstance(s, ast.Assign | ast.Assert | ast.Expr):
        return s
    top = s.value if isinstance(s, ast.Assign | ast.Expr) else None
    calls = [n for n in walk(s) if isinstance(n, ast.Call)]
    if not calls:
        return s
    names = None

    def local_of(call):
        nonlocal names
        if call is top:
            return _local
        if names is None:  # (an `assert`, an f-string: kept as written by the lowering, its names carry no marks)
            from .desugar import local_names
            names = local_names(pf.tree)
        return lambda node: isinstance(node, ast.Name) and node.id in names

    checked = {id(c): new for c in calls if (new := _checked_call(pf, c, s2s_name, local_of(c))) is not c}
    if not checked:
        return s
    copied = copy.deepcopy(s)  # (the statement itself may be written again: a checkpointed loop's recomputation)
    twin = {id(a): b for a, b in zip(walk(s), walk(copied))}
    checked = {id(twin[id(c)]): checked[id(c)] for c in calls if id(c) in checked}

    class Calls(ast.NodeTransformer):
        def visit_Call(self, call):
            new = checked.get(id(call))
            self.generic_visit(call)
            if new is None:
                return call
            # (the copy's callee and arguments, their own calls checked in turn)
            held = 4 if new.func.attr == "call_copied" else 2
            return ast.copy_location(ast.Call(func=new.func, args=[call.func, *new.args[1:held], *call.args],
                                              keywords=call.keywords), call)

    return Calls().visit(copied)


def _checked_call(pf, call, s2s_name, local):
    root = call.func
    while isinstance(root, ast.Attribute):
        root = root.value
    callee = resolve_call(pf, call) if local is _local else missing() if local(root) else pf.resolve_expr(call.func)
    if callee is missing() or callee is None or _is_dispatch(callee):
        return call
    keys, unseen = _changed_keys(pf, callee, call, local)
    checked = bool(unseen)
    passed = set(range(len(call.args))) | {k.arg for k in call.keywords} | {callees.SELF}
    changes = keys is callees.ALL or bool(keys & passed) or _starred(call) and bool(keys)
    checked = checked or changes and _starred(call)  # (which argument goes where: s2s.call_plain reads it then)
    if not changes and not checked:
        return call
    from .reverse import call_site
    site = call_site(pf, call)
    if not changes:  # (only the run can tell: s2s.call_plain checks it then)
        new = ast.Call(func=ast.Attribute(value=load(s2s_name), attr="call_plain", ctx=ast.Load()),
                       args=[call.func, site, *call.args], keywords=call.keywords)
        return ast.copy_location(new, call)
    updated = None if keys is callees.ALL or _starred(call) else \
        tuple(sorted(k for k in keys & passed if isinstance(k, int))) + tuple(sorted(
            k for k in keys & passed if isinstance(k, str) and k != callees.SELF))
    new = ast.Call(func=ast.Attribute(value=load(s2s_name), attr="call_copied", ctx=ast.Load()),
                   args=[call.func, site, ast.Constant(updated), ast.Constant(tuple(sorted(unseen))), *call.args],
                   keywords=call.keywords)
    return ast.copy_location(new, call)


def _is_dispatch(callee) -> bool:
    """s2s's own runtime helpers (`s2s.call_plain`, `s2s.setitem`, ...): never a call of yours."""
    return (getattr(callee, "__module__", None) or "").split(".")[0] == "s2s"


def _starred(call) -> bool:
    """Calls with `*xs` or `**d` (their arguments are not one per key here)."""
    return any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords)


def _changed_keys(pf, callee, call, local):
    """(the argument keys of `call` its callee, a function or class of yours, may update in place, as the
    summary transforms/ownership.py checked the call by says, its calls of what it is given settled by the
    globals `call` passes (`apply(double, w)`); the parameters at which it is given a function value only the run
    can tell)."""
    from .desugar import callee_reader, summary_at
    if isinstance(callee, type):  # (its `__new__` and `__init__`, read as ownership reads them)
        keys = callees.changed_keys(callee, callee_reader())
        return (set() if keys is callees.ALL else keys), set()
    summary = summary_at(pf, callee, call, local) if inspect.isfunction(callee) else None
    if summary is None:  # (a method, a wrapper, a library's function that changes an argument: `operator.setitem`)
        keys = callees.changed_keys(callee, callee_reader())
        return (keys - {callees.SELF} if keys is not callees.ALL else keys), set()
    unseen = {entry.root for entry in summary.deferred}
    if summary.changes_outside:
        return callees.ALL, unseen
    return callees.keys_of(callee, summary.updated_params, 0), unseen


def _local(node) -> bool:
    return isinstance(node, ast.Name) and not annotations.is_global(node) and not annotations.is_helper(node)
