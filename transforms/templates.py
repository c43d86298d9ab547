"""Instantiate a derivative rule's template at one call site."""

from __future__ import annotations

import ast
import copy

from .names import load


def instantiate(template: ast.expr, mapping: dict, helpers: dict) -> ast.expr:
    """Copy `template`, replacing parameter names by `mapping` and helper modules by their
    names in the generated code (`np` may have become `np_` where the user has an `np` of their own)."""

    class Substitute(ast.NodeTransformer):
        def visit_Name(self, node):
            if node.id in mapping:
                return copy.deepcopy(mapping[node.id])
            if node.id in helpers:
                return ast.copy_location(load(helpers[node.id]), node)
            return node

    return Substitute().visit(copy.deepcopy(template))
