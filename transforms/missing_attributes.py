"""Attributes a module does not have, read by code that may not run: the AttributeError Python raises there.

Code written for several versions of a library names functions one of them lacks, behind a test:

    if hasattr(np, "trapz"):            # NumPy 1
        return np.trapz(y, x)
    return np.trapezoid(y, x)           # NumPy 2

`np.trapz` has no derivative on a NumPy without it, and needs none: that branch does not run. Each read of an
attribute its module lacks (a call of it: the call, whose arguments Python does not evaluate once the lookup
failed) becomes `s2s.missing_attribute(message)`, which raises the AttributeError Python raises there, with its
message. The derivative then raises where the function would and runs where it does; the module's missing
attribute is one of the facts the derivative is kept under (s2s/cache.py), so a later `np.trapz = ...` makes it
again. Only attributes of modules: an object's attribute may come from its `__getattr__` when the code runs.

    >>> import numpy as np
    >>> tree = ast.parse("def f(x):\\n    return np.not_a_function(x) if hasattr(np, 'x') else x").body[0]
    >>> resolve = lambda node: np if ast.unparse(node) == "np" else getattr(np, node.attr, None)
    >>> raise_missing_attributes(resolve, tree, missing=None, helper=lambda: ast.Name("raise_it", ast.Load()))
    True
    >>> print(ast.unparse(tree).splitlines()[1].strip())
    return raise_it("module 'numpy' has no attribute 'not_a_function'") if hasattr(np, 'x') else x
"""

from __future__ import annotations

import ast
import types

from . import annotations
from .context import ctx
from .context import missing as missing_object
from .walk import fix_locations, walk, walk_nodes

_NOT_FOUND = object()


def _missing_message(module, attr):
    """The message of the AttributeError Python raises for `module.attr`, or None where the module has it."""
    try:
        getattr(module, attr)
    except AttributeError as exc:
        return str(exc) or f"module {module.__name__!r} has no attribute {attr!r}"
    return None


def _root(node) -> str:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id


def raise_missing_attributes(resolve, tree: ast.AST, missing=_NOT_FOUND, helper=None) -> bool:
    """Replace in `tree` each read of an attribute its module lacks (`resolve(node)`: what a dotted name denotes,
    `missing` where nothing) by a call that raises Python's AttributeError there. Returns whether any was."""
    if missing is _NOT_FOUND:
        missing = missing_object()
    if helper is None:
        from .desugar import helper_attr

        def helper():
            return helper_attr("s2s", "missing_attribute", ctx().runtime.missing_attribute)

    modules = {}  # id(dotted name) -> the module it denotes, or None
    local = []  # [the names the function binds], found at the first missing attribute (most functions: never)

    def bound_here(name):
        """Whether the function binds `name` anywhere (a comprehension's `for np in ...` and a lambda's parameter
        included): it is not the module of that name there."""
        if not local:
            local.append({n.id for n in walk_nodes(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
                         | {a.arg for a in walk(tree) if isinstance(a, ast.arg)})
        return name in local[0]

    def module_of(node):
        """The module the dotted name `node` denotes (`np`, `np.linalg`), else None. Only names whose every part
        is a module are resolved: an object's attribute is not read here (it may change, or be a property)."""
        key = id(node)
        if key not in modules:
            if isinstance(node, ast.Name):
                obj = resolve(node)
            elif isinstance(node, ast.Attribute):
                base = module_of(node.value)
                obj = getattr(base, node.attr, None) if base is not None else None
            else:
                obj = None
            modules[key] = obj if isinstance(obj, types.ModuleType) else None
        return modules[key]

    found = {}  # id(node replaced) -> the message of its AttributeError
    for node in walk_nodes(tree):
        if not (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load)
                and isinstance(node.value, ast.Name | ast.Attribute)):
            continue
        if annotations.get(node, annotations.RESOLVED, None) is not None or annotations.is_helper(node.value):
            continue  # (s2s's own helpers, `s2s.along_axis_out`, written by the passes before: resolved already)
        module = module_of(node.value)
        if module is not None and node.attr not in module.__dict__ and resolve(node) is missing:
            # (`resolve` notes the attribute's absence among the facts the derivative is kept under)
            message = _missing_message(module, node.attr)
            if message is not None and not bound_here(_root(node)):
                found[id(node)] = message
    if not found:
        return False

    def first_missing(node):
        """The message of the first attribute of the dotted name `node` Python fails to find, or None."""
        message = None
        while isinstance(node, ast.Attribute):
            message = found.get(id(node), message)
            node = node.value
        return message

    class Raise(ast.NodeTransformer):
        def visit_Call(self, node):
            # (Python looks the function up first: where that fails, its arguments are never evaluated)
            message = first_missing(node.func)
            return self.generic_visit(node) if message is None else self._raising(node, message)

        def visit_Attribute(self, node):
            message = first_missing(node)  # (`mod.sub.inner` of a missing `mod.sub`: all of it)
            return self.generic_visit(node) if message is None else self._raising(node, message)

        @staticmethod
        def _raising(node, message):
            call = ast.Call(func=helper(), args=[ast.Constant(message)], keywords=[])
            return fix_locations(ast.copy_location(call, node))

    Raise().visit(tree)
    return True
