"""Names a function declares `global` and assigns: read and written in its module, as Python does.

    CALLS = 0
    def loss(w):
        global CALLS
        CALLS += 1              # s2s.set_global('CALLS', s2s.global_value('CALLS') + 1)
        return np.sum(w ** 2)

Each read of such a name becomes `s2s.global_value('CALLS')` and each assignment `s2s.set_global('CALLS', v)`:
the generated code runs with the function's globals, so a derivative counts, logs and keeps values in the
module as the function does, once per call of it. No name of the program is the global, so no pass saves,
restores or renames it. A value read back is a constant of the derivative: `refuse_differentiated_writes_not_last`
(after the analysis) refuses a value that depends on what is differentiated written anywhere but as the function's
last step, and `s2s.set_global` one that
could change in place (an array, a list). Other bindings of the name, and changes of a written global's object,
are refused here. A name declared `global` and never assigned is an ordinary read of a global (its statement is
dropped).

    >>> tree = ast.parse("def f(x):\\n    global N\\n    N += 1\\n    return x * N").body[0]
    >>> written = rewrite_global_names(tree, lambda what: ast.Name(what, ast.Load()), lambda node, why: None)
    >>> written, print(ast.unparse(tree))
    def f(x):
        set_global('N', global_value('N') + 1)
        return x * global_value('N')
    ({'N'}, None)
"""

from __future__ import annotations

import ast

from .analysis import atom_names
from .annotations import is_helper
from .walk import fix_locations, own_scope_nodes, walk

_BINDS_ELSEWHERE = "is bound another way here (s2s writes a global by `name = value` and `name op= value` alone)"


def rewrite_global_names(fdef: ast.FunctionDef, helper, refuse) -> set[str]:
    """Rewrite the reads and plain assignments of the names `fdef` declares global and assigns; drop its `global`
    statements. `helper(name)` gives the expression of s2s's helper `name`, `refuse(node, why)` raises. Returns the
    names written."""
    declared = {}
    for node in own_scope_nodes(fdef):
        if isinstance(node, ast.Global):
            for name in node.names:
                declared.setdefault(name, node)
    if not declared:
        return set()
    written = set()
    for node in own_scope_nodes(fdef):
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name) and t.id in declared:
                    if isinstance(node, ast.Assign) and len(targets) > 1:
                        refuse(node, f"the global `{t.id}` is one of several targets of one assignment")
                    if isinstance(node, ast.AnnAssign) and node.value is None:
                        refuse(node, f"the global `{t.id}` is annotated with no value")
                    written.add(t.id)
    for node in own_scope_nodes(fdef):  # (`def n(...)`, `class n`, `import m as n` of a declared name bind it too)
        names = [node.name] if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else \
            [(a.asname or a.name).split(".")[0] for a in node.names] if isinstance(node, ast.Import | ast.ImportFrom) \
            else [node.name] if isinstance(node, ast.ExceptHandler) and node.name else []
        for name in names:
            if name in declared:
                refuse(node, f"`{name}`, declared global, {_BINDS_ELSEWHERE}")
    for node in own_scope_nodes(fdef):  # (any other binding of a written global: a loop's, an unpacking's)
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load) and node.id in declared \
                and not _plain_target(node, fdef):
            refuse(node, f"`{node.id}`, declared global, {_BINDS_ELSEWHERE}")
    for node in own_scope_nodes(fdef):  # (`log.append(v)`, `log[0] = v` of a written global: its object changes)
        if isinstance(node, ast.Attribute | ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id in written and (not isinstance(node.ctx, ast.Load) or _called(node, fdef)):
            refuse(node, f"the global `{node.value.id}` the function assigns has its object changed or a method "
                         "called here (s2s's derivative code changes copies; the module's object would not change)")
    for node in walk(fdef):  # (a function or lambda inside that binds the name has a local of its own)
        if node is not fdef and isinstance(node, ast.FunctionDef | ast.Lambda | ast.comprehension) \
                and _binds(node, written):
            refuse(node, "a function or comprehension inside binds a name the function declares global")
    _Rewrite(written, helper).visit(fdef)
    fdef.body = [s for s in fdef.body if not isinstance(s, ast.Global)] or [ast.Pass()]
    for block in _blocks(fdef):
        block[:] = [s for s in block if not isinstance(s, ast.Global)] or [ast.Pass()]
    fix_locations(fdef)
    return written


def refuse_differentiated_writes_not_last(fdef: ast.FunctionDef, varied, refuse) -> None:
    """Refuse (`refuse(node, why, hint)`) a global the lowered `fdef` gives a value of a `varied` name (one that
    depends on what is differentiated) unless that is the function's last step: any code after it could read the
    value back (the function, a helper of yours, a partial, a property, an item read of an object of yours), and a
    value read back is a constant of the derivative. After it, only the `return` and plain copies of names, and
    other globals given values."""
    for i, top in enumerate(fdef.body):
        for call in (n for n in walk(top) if _global_write(n)):
            if not varied.intersection(atom_names(call.args[1])):
                continue
            if not (isinstance(top, ast.Expr) and top.value is call and all(_inert(s) for s in fdef.body[i + 1:])):
                name = call.args[0].value
                refuse(call, f"the global `{name}` is given a value that depends on what is differentiated, and code "
                             "runs after it that could read it back (a value read back is a constant of the "
                             "derivative); s2s stores such a value as the function's last step only",
                       f"move the assignment last, just before the return (`{name} = loss` then `return loss`), "
                       "outside any loop or branch, or return the value beside the result")


def _global_write(n) -> bool:
    """Whether `n` is s2s's `set_global('name', value)`."""
    return isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "set_global" \
        and is_helper(n.func.value) and len(n.args) == 2 and isinstance(n.args[0], ast.Constant)


def _atoms(e) -> bool:
    return e is None or isinstance(e, ast.Name | ast.Constant) \
        or isinstance(e, ast.Tuple) and all(isinstance(v, ast.Name | ast.Constant) for v in e.elts)


def _inert(s) -> bool:
    """A lowered statement that reads nothing back: a `return` or copy of names and constants, another global's
    write of one, `pass`."""
    return isinstance(s, ast.Pass) or isinstance(s, ast.Return) and _atoms(s.value) \
        or isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
        and _atoms(s.value) or isinstance(s, ast.Expr) and _global_write(s.value) and _atoms(s.value.args[1])


def _called(node, fdef) -> bool:
    return any(isinstance(c, ast.Call) and c.func is node for c in own_scope_nodes(fdef))


def _plain_target(name_node, fdef) -> bool:
    return any(isinstance(s, ast.Assign | ast.AnnAssign | ast.AugAssign) and (
        any(t is name_node for t in s.targets) if isinstance(s, ast.Assign) else s.target is name_node)
        for s in own_scope_nodes(fdef))


def _binds(scope, names) -> bool:
    if isinstance(scope, ast.comprehension):
        return any(isinstance(n, ast.Name) and n.id in names for n in walk(scope.target))
    args = scope.args
    params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs} | {
        a.arg for a in (args.vararg, args.kwarg) if a is not None}
    stores = {n.id for n in walk(scope) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    return bool((params | stores) & names)


def _blocks(fdef):
    for node in own_scope_nodes(fdef):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield block


class _Rewrite(ast.NodeTransformer):
    def __init__(self, written, helper):
        self.written, self.helper = written, helper

    def _read(self, name, like):
        call = ast.Call(func=self.helper("global_value"), args=[ast.Constant(name)], keywords=[])
        return ast.copy_location(call, like)

    def _write(self, name, value, like):
        call = ast.Call(func=self.helper("set_global"), args=[ast.Constant(name), value], keywords=[])
        return ast.copy_location(ast.Expr(value=ast.copy_location(call, like)), like)

    def visit_Name(self, node):
        return self._read(node.id, node) if isinstance(node.ctx, ast.Load) and node.id in self.written else node

    def visit_Assign(self, node):
        target = node.targets[0]
        if len(node.targets) == 1 and isinstance(target, ast.Name) and target.id in self.written:
            return self._write(target.id, self.visit(node.value), node)
        return self.generic_visit(node)

    def visit_AnnAssign(self, node):
        if isinstance(node.target, ast.Name) and node.target.id in self.written:
            return self._write(node.target.id, self.visit(node.value), node)
        return self.generic_visit(node)

    def visit_AugAssign(self, node):
        if isinstance(node.target, ast.Name) and node.target.id in self.written:
            value = ast.copy_location(ast.BinOp(left=self._read(node.target.id, node.target), op=node.op,
                                                right=self.visit(node.value)), node)
            return self._write(node.target.id, value, node)
        return self.generic_visit(node)
