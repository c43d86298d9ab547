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
from .walk import walk, walk_with_tests

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
    plain, blocked = _scan(tree)
    if not plain:
        return {}
    renamed = {}
    _Renamer(blocked, _params(tree), alloc, renamed).block(tree.body, top=True)
    return renamed


class _Renamer:
    def __init__(self, blocked, params, alloc, renamed):
        self.blocked, self.params, self.alloc, self.renamed = blocked, params, alloc, renamed

    def block(self, stmts, top):
        """One pass over the list, each statement read once: `current` holds the names of the ranges open."""
        defs = {}  # name -> positions of the list's own assignments to it
        for i, s in enumerate(stmts):
            name = _defined(s)
            if name is not None and name not in self.blocked:
                defs.setdefault(name, []).append(i)
        current = {}  # a name -> its name in the range open here (where that is another)
        stored = set()  # the names stored so far in the list
        for i, s in enumerate(stmts):
            name = _defined(s)
            at = defs.get(name) if name is not None else None
            if not at or (len(at) == 1 and not top):  # not an assignment that opens a range to rename
                if current or top:  # (what a nested list stores matters only in the function's body)
                    _rename_in(s, current, stored)
                continue
            _rename_in(s.value, current, stored)  # (the value reads the range before)
            k = at.index(i)
            if top:  # the function's first value keeps its name (a parameter's is the argument)
                keep = k == 0 and name not in self.params and name not in stored
            else:  # the list's last value keeps its name: it is what the code after the list reads
                keep = k == len(at) - 1
            current.pop(name, None)
            if not keep:
                original = self.renamed.get(name, name)  # (a name renamed already is numbered after the user's)
                current[name] = self.alloc.fresh(original)
                self.renamed[current[name]] = original
                s.targets[0].id = current[name]
            stored.add(name)
        for s in stmts:
            for field in ("body", "orelse"):
                inner = getattr(s, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    self.block(inner, top=False)


def _defined(s):
    """The name `s` assigns as a whole (`x = ...`), else None."""
    if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
        return s.targets[0].id
    return None


def _rename_in(node, names, stored):
    """Rename the Names of `node` by `names` (old -> new); add the names it stores (before renaming) to `stored`."""
    for n in walk_with_tests(node):
        if isinstance(n, ast.Name):
            if not isinstance(n.ctx, ast.Load):
                stored.add(n.id)
            if n.id in names:
                n.id = names[n.id]


def _params(tree) -> set[str]:
    return {a.arg for a in walk(tree.args) if isinstance(a, ast.arg)}


_LEAVING = (ast.Break, ast.Continue, ast.Try, ast.With, ast.Match, ast.Yield, ast.YieldFrom) + \
    ((ast.TryStar,) if hasattr(ast, "TryStar") else ())


def _scan(tree):
    """(whether the statement lists of `tree` run in order to their end and no code reads its locals by name,
    the names read other than by a Name of its own code or not local to it)."""
    blocked, inner, plain = set(), set(), True
    for n in walk_with_tests(tree):
        if n is not tree and isinstance(n, _SCOPES) and id(n) not in inner:
            for m in walk(n):
                inner.add(id(m))
                if isinstance(m, ast.Name | ast.arg):
                    blocked.add(m.id if isinstance(m, ast.Name) else m.arg)
        elif isinstance(n, ast.Global | ast.Nonlocal):
            blocked.update(n.names)
        elif isinstance(n, ast.Name):
            if isinstance(n.ctx, ast.Del) or annotations.is_global(n) or annotations.is_helper(n):
                blocked.add(n.id)
            plain = plain and n.id not in _INTROSPECTION
        elif isinstance(n, ast.Attribute):
            plain = plain and n.attr not in _FRAME_ATTRIBUTES
        elif isinstance(n, _LEAVING) or isinstance(n, ast.Return) and n is not tree.body[-1] and id(n) not in inner:
            plain = False
    return plain, blocked
