"""A local dict used as a record of variables: one name per key.

    state = {"h": np.zeros(n), "loss": 0.0}          state_h = np.zeros(n)
    for x in xs:                                      state_loss = 0.0
        h = state["h"]                        ->      for x in xs:
        state["h"] = step(h, x)                           h = state_h
        state["loss"] += np.sum(state["h"] ** 2)          state_h = step(h, x)
    return state["loss"]                                  state_loss += np.sum(state_h ** 2)
                                                      return state_loss

A dict the function makes itself and reads and writes only by keys written as strings is the same
program as one variable per key: the display's values are evaluated in order and bound, each
`state["k"]` reads or binds the variable of "k". The derivative then follows the values as it follows
any variable (their shapes, in-place updates, adjoints), instead of a dict copied at every update
(`s2s.setitem`) and checked for shared items (`s2s.unshared`).

Only where it is certainly the same program: the name is bound once, to a dict display whose keys are
distinct string literals (no `**`), in a statement of the function's own body (not in a loop or a
branch), and every other occurrence of the name comes after that statement and is `name["k"]` with "k"
one of those keys, read or assigned (`name["k"] = v`, `name["k"] += v`; not deleted), `name.get("k")` or
`name.get("k", default)` with a default that is a name or a literal (the variable of "k", or the default where
"k" is no key), or `"k" in name` (known then). No other read (the dict passed on, returned, stored, iterated,
asked `.get` of a key in a variable), no nested function, lambda or comprehension naming it, no `global` or
`nonlocal` in the function.
"""

from __future__ import annotations

import ast

from . import annotations
from .walk import fix_locations, walk

__all__ = ["records_as_names"]

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
           ast.GeneratorExp, ast.ClassDef)


def records_as_names(tree: ast.FunctionDef, alloc, elsewhere: frozenset = frozenset()) -> bool:
    """Rewrite, in place, each local dict of `tree` used as a record (the module docstring); returns whether any
    was. `elsewhere`: the names code outside `tree.body` reads (the bodies of local helpers already taken out of
    it, written in at their calls later), whose dicts stay dicts."""
    if any(isinstance(n, ast.Global | ast.Nonlocal) for n in walk(tree)):
        return False
    params = {a.arg for a in walk(tree.args) if isinstance(a, ast.arg)}
    changed = False
    for stmt in list(tree.body):
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.Dict)):
            continue
        name, display = stmt.targets[0].id, stmt.value
        keys = [key.value if isinstance(key, ast.Constant) and type(key.value) is str else None for key in display.keys]
        if name in params or name in elsewhere or None in keys or len(set(keys)) != len(keys):
            continue
        position = tree.body.index(stmt)
        uses = _uses(tree, name, stmt, set(keys), position)
        if uses is None:
            continue
        variables = {key: alloc.fresh(f"{name}_{key}" if key.isidentifier() else name) for key in keys}
        # (names for values of your code, as an expanded helper's locals are: transforms/aliasing.py's `_yours`)
        annotations.put(tree, annotations.EXPANDED_NAMES,
                        annotations.get(tree, annotations.EXPANDED_NAMES, frozenset()) | set(variables.values()))
        annotations.put(tree, annotations.RECORD_ITEMS, {**annotations.get(tree, annotations.RECORD_ITEMS, {}),
                                                         **{v: f"{name}[{k!r}]" for k, v in variables.items()}})
        for sub, parent, field, at in uses:
            new = ast.copy_location(_written(sub, variables), sub)
            if at is None:
                setattr(parent, field, new)
            else:
                getattr(parent, field)[at] = new
        bindings = [fix_locations(ast.copy_location(ast.Assign(targets=[ast.Name(id=variables[key], ctx=ast.Store())],
                                                               value=value), stmt))
                    for key, value in zip(keys, display.values)]
        tree.body[position:position + 1] = bindings
        changed = True
    return changed


def _written(use, variables):
    """What a use of the record becomes: `name["k"]` and `name.get("k", default)` its variable (the default where
    "k" is none of its keys, None without one), `"k" in name` whether it is one."""
    if isinstance(use, ast.Subscript):
        return ast.Name(id=variables[use.slice.value], ctx=use.ctx)
    if isinstance(use, ast.Compare):
        inside = use.left.value in variables
        return ast.Constant(inside if isinstance(use.ops[0], ast.In) else not inside)
    key = use.args[0].value
    if key in variables:
        return ast.Name(id=variables[key], ctx=ast.Load())
    return use.args[1] if len(use.args) > 1 else ast.Constant(None)


def _other_use(child, name) -> bool:
    """Whether `child` is `name.get("k")`, `name.get("k", default)` (a default a name or literal: evaluating it
    does nothing) or `"k" in name` / `"k" not in name`, with "k" a string literal."""
    if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute) and child.func.attr == "get" \
            and isinstance(child.func.value, ast.Name) and child.func.value.id == name and not child.keywords \
            and 1 <= len(child.args) <= 2 and isinstance(child.args[0], ast.Constant) \
            and type(child.args[0].value) is str:
        return len(child.args) == 1 or isinstance(child.args[1], ast.Constant | ast.Name)
    return isinstance(child, ast.Compare) and len(child.ops) == 1 and isinstance(child.ops[0], ast.In | ast.NotIn) \
        and isinstance(child.left, ast.Constant) and type(child.left.value) is str \
        and isinstance(child.comparators[0], ast.Name) and child.comparators[0].id == name


def _uses(tree, name, binding, keys, position):
    """(the subscript, its parent, the parent's field, the index in that field or None) of every `name["k"]` of
    `tree` after the binding statement, else None where the name occurs otherwise (see the module docstring)."""
    inside_scopes = {id(n) for s in walk(tree) if s is not tree and isinstance(s, _SCOPES) for n in walk(s)}
    later = {id(n) for s in tree.body[position + 1:] for n in walk(s)}
    own = {id(n) for n in walk(binding)}
    found, ok_names = [], set()
    for parent in walk(tree):
        for field, value in ast.iter_fields(parent):
            children = [(value, None)] if isinstance(value, ast.AST) else \
                [(v, i) for i, v in enumerate(value) if isinstance(v, ast.AST)] if isinstance(value, list) else []
            for child, at in children:
                if isinstance(child, ast.Subscript) and isinstance(child.value, ast.Name) and child.value.id == name:
                    if not (isinstance(child.slice, ast.Constant) and child.slice.value in keys) \
                            or isinstance(child.ctx, ast.Del) or id(child) not in later or id(child) in inside_scopes:
                        return None
                    found.append((child, parent, field, at))
                    ok_names.add(id(child.value))
                elif _other_use(child, name):  # (d.get("k", 0.0), "k" in d)
                    if id(child) not in later or id(child) in inside_scopes:
                        return None
                    found.append((child, parent, field, at))
                    ok_names.add(id(child.func.value if isinstance(child, ast.Call) else child.comparators[0]))
    for n in walk(tree):
        if isinstance(n, ast.Name) and n.id == name and id(n) not in ok_names and id(n) not in own:
            return None  # read whole, bound again, or named in a nested scope
    if isinstance(tree.body[position].targets[0], ast.Name) and \
            sum(1 for n in walk(tree) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)) != 1:
        return None
    return found
