"""A name rebound in straight-line code gets a fresh name for each value it takes there.

    s = t / sqrt                         s = t / sqrt
    m = np.max(s, axis=1, keepdims=True) m = np.max(s, axis=1, keepdims=True)
    s = s - m                  ->        s2 = s - m
    a = np.exp(s)                        a = np.exp(s2)
    a = a / np.sum(a, ...)               a2 = a / np.sum(a, ...)

A name that holds one value is one the reverse sweep never has to restore (no `stack.append(s)`, no
`s = stack.pop()`), and one the proofs over the primal program can follow (transforms/shifts.py
needs each value it follows bound once). The program is the same one, only with other names: every
read still sees the value it saw. That holds for a *range* of a name in a statement list: from an
assignment `x = ...` that is a statement of the list itself (so it runs whenever the list runs, in
order: lowered code has no `break`, `continue`, early `return` or `try` left, transforms/exits.py) up
to the value of the list's next such assignment. Every read in the range reads a value assigned in it
(the assignment that opens it, or stores nested in the range: a loop or branch inside it), and no read
outside it does. So the range's name can be changed, everywhere in it, nested statements and a while
loop's test statements included:

- in the function's body, every range after the first value (a parameter rebound, `x = layer(x)`,
  gets a fresh name from its first assignment on);
- in a nested list (a branch, a loop body), every range but the last: the value the list leaves
  behind (read after a branch, or by the next trip of a loop) keeps the name.

A name is left as it is where something reads it other than by its Name in this function's own code:
a lambda, local function or comprehension left in the program (it would read the name when it runs),
`global`/`nonlocal`/`del`, and the whole function is left where it may read its own local variables
by name (`locals()`, `vars()`, `eval`, `exec`, `dir()`, a frame's `f_locals`) or where it still has a
`break`, `continue` or a `return` before its end. The fresh name is the old one numbered (`s2`, or the
next number not taken), so the printed code keeps the user's name recognisable. In-place updates need
no care here: ownership and desugar (transforms/ownership.py, desugar.py) have already written them as
assignments of the updated value, and a changed name changes no object's identity.
"""

from __future__ import annotations

import ast

from . import annotations
from .names import NameAllocator
from .walk import walk

__all__ = ["rename_rebindings"]

_INTROSPECTION = frozenset({"locals", "vars", "eval", "exec", "dir"})
_FRAME_ATTRIBUTES = frozenset({"f_locals", "_getframe", "currentframe"})
_SCOPES = (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ListComp, ast.SetComp,
           ast.DictComp, ast.GeneratorExp)


def rename_rebindings(tree: ast.FunctionDef, alloc: NameAllocator) -> dict[str, str]:
    """Give each value a name takes in straight-line code a name of its own (see the module docstring),
    in place; returns {new name: the name it replaces}.

        >>> tree = ast.parse("def f(x):\\n    y = x * 2\\n    y = y + 1\\n    return y").body[0]
        >>> rename_rebindings(tree, NameAllocator({"f", "x", "y"})), ast.unparse(tree).splitlines()[2:]
        ({'y2': 'y'}, ['    y2 = y + 1', '    return y2'])
    """
    if not _plain(tree):
        return {}
    renamed = {}
    _Renamer(_blocked(tree), _params(tree), alloc, renamed).block(tree.body, top=True)
    return renamed


class _Renamer:
    def __init__(self, blocked, params, alloc, renamed):
        self.blocked, self.params, self.alloc, self.renamed = blocked, params, alloc, renamed

    def block(self, stmts, top):
        defs = {}  # name -> positions of the list's own assignments to it
        for i, s in enumerate(stmts):
            name = _defined(s)
            if name is not None and name not in self.blocked:
                defs.setdefault(name, []).append(i)
        for name, at in defs.items():
            for k, start in enumerate(at):
                last = k == len(at) - 1
                if top:  # the function's first value keeps its name (a parameter's is the argument)
                    keep = k == 0 and name not in self.params and not any(_stores(s, name) for s in stmts[:start])
                else:  # the list's last value keeps its name: it is what the code after the list reads
                    keep = last
                if not keep:
                    self.rename(stmts, name, start, None if last else at[k + 1])
        for s in stmts:
            for field in ("body", "orelse"):
                inner = getattr(s, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    self.block(inner, top=False)

    def rename(self, stmts, name, start, end):
        """Rename `name` from the target of stmts[start] to the value of stmts[end] (to the list's end if None)."""
        original = self.renamed.get(name, name)  # (a name renamed already is numbered after the user's: a3, not a22)
        new = self.alloc.fresh(original)
        self.renamed[new] = original
        stmts[start].targets[0].id = new
        for s in stmts[start + 1:end if end is not None else len(stmts)]:
            _rename_in(s, name, new)
        if end is not None:
            _rename_in(stmts[end].value, name, new)


def _defined(s):
    """The name `s` assigns as a whole (`x = ...`), else None."""
    if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
        return s.targets[0].id
    return None


def _nodes(node):
    """Every node of `node`, the statements of a while loop's test (held beside the loop) included."""
    for n in walk(node):
        yield n
        if isinstance(n, ast.While):
            for s in annotations.get(n, annotations.LOOP_TEST, None) or ():
                yield from _nodes(s)


def _own_nodes(tree):
    """The nodes of `tree`'s own code (not those of the functions, lambdas and classes defined in it)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if node is tree or not isinstance(node, _SCOPES):
            todo.extend(ast.iter_child_nodes(node))
            if isinstance(node, ast.While):
                todo.extend(annotations.get(node, annotations.LOOP_TEST, None) or ())


def _rename_in(node, name, new):
    for n in _nodes(node):
        if isinstance(n, ast.Name) and n.id == name:
            n.id = new


def _stores(node, name) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load) for n in _nodes(node))


def _params(tree) -> set[str]:
    return {a.arg for a in walk(tree.args) if isinstance(a, ast.arg)}


def _plain(tree) -> bool:
    """Whether statement lists of `tree` run in order to their end and no code reads its locals by name."""
    body = tree.body
    for n in _own_nodes(tree):
        if isinstance(n, ast.Break | ast.Continue | ast.Try | ast.With | ast.Match | ast.Yield | ast.YieldFrom) \
                or isinstance(n, ast.Return) and n is not body[-1] \
                or isinstance(n, ast.Name) and n.id in _INTROSPECTION \
                or isinstance(n, ast.Attribute) and n.attr in _FRAME_ATTRIBUTES:
            return False
    return not (hasattr(ast, "TryStar") and any(isinstance(n, ast.TryStar) for n in walk(tree)))


def _blocked(tree) -> set[str]:
    """Names read other than by a Name of this function's own code, or not local to it."""
    out = set()
    for n in _nodes(tree):
        if n is not tree and isinstance(n, _SCOPES):
            out.update(m.id if isinstance(m, ast.Name) else m.arg for m in walk(n) if isinstance(m, ast.Name | ast.arg))
        elif isinstance(n, ast.Global | ast.Nonlocal):
            out.update(n.names)
        elif isinstance(n, ast.Name) and (isinstance(n.ctx, ast.Del) or annotations.is_global(n)
                                          or annotations.is_helper(n)):
            out.add(n.id)
    return out
