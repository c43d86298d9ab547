"""Fresh, readable names that never collide with the user's."""

from __future__ import annotations

import ast
import builtins
import copy
import keyword
import re

from . import annotations
from .walk import walk, walk_nodes


class NameAllocator:
    """Hands out names like `t`, `t2`, `x_bar` that are not already taken."""

    def __init__(self, taken=()):
        self.taken = set(taken)

    def reserve(self, name: str) -> None:
        """Mark `name` as taken."""
        self.taken.add(name)

    def fresh(self, base: str) -> str:
        """A new name starting with `base` (made an identifier: `<lambda>` -> `lambda_`)."""
        base = re.sub(r"\W", "", base) or "t"
        if keyword.iskeyword(base) or base[0].isdigit():
            base = base + "_" if not base[0].isdigit() else "t" + base
        if base not in self.taken:
            self.taken.add(base)
            return base
        i = 2
        while f"{base}{i}" in self.taken:
            i += 1
        name = f"{base}{i}"
        self.taken.add(name)
        return name


def names_in(tree) -> set[str]:
    """Every identifier that appears in `tree` (loads, stores, parameters)."""
    out = set()
    for node in walk_nodes(tree):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
    return out


def load(name: str) -> ast.Name:
    """A Name node that reads `name`."""
    return ast.Name(id=name, ctx=ast.Load())


# the builtins code s2s writes itself may call (loops over trips and items, slices, lists of items)
BUILTINS_WRITTEN = ("range", "reversed", "len", "zip", "tuple", "list", "min", "max", "sorted", "slice", "dict", "bool",
                    "UnboundLocalError")


def builtin(name: str) -> ast.Name:
    """A Name node that reads the builtin `name` in code s2s writes itself (not the user's code): marked as
    s2s's own helper, so that the pipeline reads it by a name bound to the builtin itself. A module that
    defines its own `range` or `len` then changes the user's loops, as in Python, and not s2s's.

        >>> annotations.is_helper(builtin("range"))
        True
    """
    assert name in BUILTINS_WRITTEN, name
    return _as_builtin(load(name))


def _as_builtin(node: ast.Name) -> ast.Name:
    annotations.put(node, annotations.HELPER, True)
    annotations.put(node, annotations.GLOBAL, True)
    annotations.put(node, annotations.RESOLVED, getattr(builtins, node.id))
    return node


def mark_builtins(tree: ast.AST) -> ast.AST:
    """`tree` (code s2s wrote as text and parsed) with the builtins of BUILTINS_WRITTEN it calls marked as
    `builtin` marks them (the names it passes them are variables, whatever they are called)."""
    for call in walk(tree):
        node = call.func if isinstance(call, ast.Call) else None
        if isinstance(node, ast.Name) and node.id in BUILTINS_WRITTEN:
            _as_builtin(node)
    return tree


def store(name: str) -> ast.Name:
    """A Name node that assigns `name`."""
    return ast.Name(id=name, ctx=ast.Store())


def assign(target: str, value: ast.expr, like=None) -> ast.Assign:
    """`target = value`, located at `like` if given."""
    node = ast.Assign(targets=[store(target)], value=value, lineno=0)
    if like is not None:
        ast.copy_location(node, like)
    return node


def expr(text: str) -> ast.expr:
    """Parse a Python expression."""
    return ast.parse(text, mode="eval").body


def as_load(node: ast.expr) -> ast.expr:
    """A copy of the target `node` (`x`, `d[k]`, `self.h`) that reads it instead.

        >>> ast.unparse(as_load(ast.parse("d[k] = 1").body[0].targets[0]))
        'd[k]'
    """
    node = copy.deepcopy(node)
    for n in walk(node):
        if hasattr(n, "ctx"):
            n.ctx = ast.Load()
    return node


def loaded_names(node) -> set[str]:
    """Every name `node` reads (nested statements and expressions included)."""
    return {n.id for n in walk_nodes(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def name_counts(node) -> tuple[dict[str, int], dict[str, int]]:
    """({name: how many times `node` reads it}, {name: how many times it binds or deletes it}).

        >>> name_counts(ast.parse("x = x + y"))
        ({'x': 1, 'y': 1}, {'x': 1})
    """
    loads, stores = {}, {}
    for n in walk_nodes(node):
        if isinstance(n, ast.Name):
            counts = loads if isinstance(n.ctx, ast.Load) else stores
            counts[n.id] = counts.get(n.id, 0) + 1
    return loads, stores


def bound_values(node) -> dict[str, list]:
    r"""name -> what each binding of it in `node` binds: the value of `name = value`, None for every other binding
    (an item of a tuple target, `name op= v`, an annotation, a loop's, `with`'s or `:=`'s target). A name
    read inside a target (`i` of `y[i] = v`) counts as bound to None too: a caller asking "is every binding of
    it one I know" gets the careful answer.

        >>> values = bound_values(ast.parse("i = n + 1\nfor i, j in p:\n    pass"))
        >>> [v if v is None else ast.unparse(v) for v in values["i"]]
        ['n + 1', None]
    """
    values: dict = {}
    for n in walk_nodes(node):
        if isinstance(n, ast.Assign):
            for t in n.targets:
                for name in walk_nodes(t):
                    if isinstance(name, ast.Name):
                        values.setdefault(name.id, []).append(n.value if name is t else None)
        elif isinstance(n, ast.AugAssign | ast.AnnAssign | ast.For | ast.AsyncFor | ast.NamedExpr | ast.withitem):
            target = n.optional_vars if isinstance(n, ast.withitem) else n.target
            for name in walk_nodes(target) if target is not None else ():
                if isinstance(name, ast.Name):
                    values.setdefault(name.id, []).append(None)
    return values


def assigned_names(node) -> set[str]:
    """Every name `node` stores to (nested statements included)."""
    return {n.id for n in walk_nodes(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def bound_names(node) -> set[str]:
    """Every name `node` binds or unbinds (stores and `del`s, nested statements included).

        >>> sorted(bound_names(ast.parse("a = b; del c")))
        ['a', 'c']
    """
    return {n.id for n in walk_nodes(node) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}


def dotted_root(node: ast.expr) -> ast.Name | None:
    """The name a dotted expression starts from (`np` of `np.linalg.norm`, `relu` of `relu`), else None."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node if isinstance(node, ast.Name) else None


def called_name(call: ast.Call) -> str | None:
    """The last name of a call's function: `norm` of `np.linalg.norm(x)`, `f` of `f(x)`; None for `fs[0](x)`.

        >>> called_name(ast.parse("np.linalg.norm(x)", mode="eval").body)
        'norm'
    """
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None


def global_object(pf, node: ast.expr, local) -> object | None:
    """The object a dotted name of the module denotes (`np.tanh`, `relu`: its first name not among `local`),
    resolved through `pf` (so recorded: code that depends on it is stale when the name is bound again), or
    None where it is not one.

        >>> # global_object(pf, <np.tanh>, {"x"}) is np.tanh; global_object(pf, <x.T>, {"x"}) is None
    """
    root = dotted_root(node)
    if root is None or root.id in local:
        return None
    try:
        return pf.resolve_expr(node)
    except Exception:  # noqa: BLE001 - not a dotted name s2s can read
        return None


def substituted(expr: ast.expr, mapping: dict) -> ast.expr:
    """A copy of `expr` with each name of `mapping` it reads replaced by a copy of the expression mapped to (a
    local function's body as a call writes it: its parameters replaced by the arguments).

        >>> ast.unparse(substituted(ast.parse("v * v + w", mode="eval").body, {"v": ast.parse("x[0]").body[0].value}))
        'x[0] * x[0] + w'
    """
    class Replaced(ast.NodeTransformer):
        def visit_Name(self, node):
            if node.id in mapping and isinstance(node.ctx, ast.Load):
                return copy.deepcopy(mapping[node.id])
            return node

    return Replaced().visit(copy.deepcopy(expr))


def dotted_object(f: ast.expr, local, resolve):
    """The object a dotted name (`np.float32`, `int`) denotes, with `resolve(name)` giving a free name's value, or
    None: a name in `local` (the function's own), or not a dotted name.

        >>> import numpy as np
        >>> dotted_object(ast.parse("np.float32", mode="eval").body, set(), {"np": np}.get) is np.float32
        True
    """
    parts = []
    while isinstance(f, ast.Attribute):
        parts.append(f.attr)
        f = f.value
    if not isinstance(f, ast.Name) or f.id in local:
        return None
    obj = resolve(f.id)
    for p in reversed(parts):
        obj = getattr(obj, p, None)
    return obj


def int_constant(node):
    """The int a constant `3` or `-1` stands for, else None.

        >>> int_constant(ast.parse("-2", mode="eval").body), int_constant(ast.Constant(2.0))
        (-2, None)
    """
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = int_constant(node.operand)
        return None if inner is None else -inner
    return node.value if isinstance(node, ast.Constant) and type(node.value) is int else None
