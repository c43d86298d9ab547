"""Instantiate a derivative rule's template at one call site."""

from __future__ import annotations

import ast
import copy

from .names import load

_AST = ast.AST


def instantiate(template: ast.expr, mapping: dict, helpers: dict) -> ast.expr:
    """Copy `template`, replacing parameter names by `mapping` and helper modules by their
    names in the generated code (`np` may have become `np_` where the user has an `np` of their own).

        >>> ast.unparse(instantiate(ast.parse("np.cos(x) * g", mode="eval").body, {"x": load("a")}, {"np": "np_"}))
        'np_.cos(a) * g'
    """

    def copied(node):  # one pass: copy and substitute (a copy of what `mapping` gives is not looked into)
        cls = node.__class__
        if cls is ast.Name:
            if node.id in mapping:
                return copy.deepcopy(mapping[node.id])
            if node.id in helpers:
                return ast.copy_location(load(helpers[node.id]), node)
        new = cls.__new__(cls)
        fields = new.__dict__
        for key, value in node.__dict__.items():
            if value.__class__ is list:
                value = [copied(item) if isinstance(item, _AST) else item for item in value]
            elif isinstance(value, _AST):
                value = copied(value)
            fields[key] = value
        return new

    return copied(template)
