"""Zero-argument `super()` written with its arguments: `super(__class__, self)`.

Python's `super()` in a method is `super(__class__, self)`, with `self` the first argument of the function it is
written in (a method, or a function or lambda defined in one). Written out, the object the methods of `super()` run
on is an argument s2s sees: where that object is differentiated, a call of its method is refused (s2s does not know
the base class's method there; `Base.method(self, ...)` is read like any function of yours), instead of its
derivative lost; where it is a constant, the call runs as before. Done before local functions are expanded into
the function, so that each `super()` names its own function's first argument.

    def __call__(self, x):                         def __call__(self, x):
        return 2.0 * super().__call__(x)    ->         return 2.0 * super(__class__, self).__call__(x)
"""

from __future__ import annotations

import ast

from .walk import walk

__all__ = ["write_super_arguments"]

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_IMPLICIT_SCOPES = (*_COMPREHENSIONS, ast.ClassDef)


def write_super_arguments(tree: ast.FunctionDef, is_super, refuse) -> bool:
    """Give each `super()` of `tree` (and of the functions and lambdas in it) its arguments, in place; `is_super(node)`
    says whether a name denotes the builtin, `refuse(node, why, hint)` raises for a `super()` with no first argument
    to name (in a comprehension, or a function without parameters). Whether anything changed.

        >>> tree = ast.parse("def f(self, x):\\n    return super().g(x)").body[0]
        >>> write_super_arguments(tree, lambda node: True, None), ast.unparse(tree.body[0])
        (True, 'return super(__class__, self).g(x)')
    """
    changed = False
    for scope in [tree, *(n for n in walk(tree) if isinstance(n, _SCOPES) and n is not tree)]:
        params = scope.args.posonlyargs + scope.args.args
        for node, implicit in _own_nodes(scope):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
                    and not node.args and not node.keywords and is_super(node.func)):
                continue
            if implicit or not params:
                refuse(node, "super() here has no object of a method to run on that s2s can name",
                       "call the base class's method through the class, `BaseClass.method(obj, ...)`")
            node.args = [ast.copy_location(ast.Name(id="__class__", ctx=ast.Load()), node),
                         ast.copy_location(ast.Name(id=params[0].arg, ctx=ast.Load()), node)]
            changed = True
    return changed


def _own_nodes(scope):
    """(node, whether it is in a comprehension or class body) for the nodes of `scope`'s body, not looking into the
    functions and lambdas defined in it (their own scopes)."""
    todo = [(child, False) for child in (scope.body if isinstance(scope.body, list) else [scope.body])
            if not isinstance(child, _SCOPES)]
    while todo:
        node, implicit = todo.pop()
        yield node, implicit
        first = node.generators[0].iter if isinstance(node, _COMPREHENSIONS) else None
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.comprehension):  # (the first `in` runs in the function itself)
                todo.extend((part, implicit or part is not first) for part in ast.iter_child_nodes(child))
            elif not isinstance(child, _SCOPES):
                todo.append((child, implicit or isinstance(node, _IMPLICIT_SCOPES)))
