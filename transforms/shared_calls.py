"""A costly call computed twice on the same operands, computed once.

The adjoints of `np.linalg.solve(A, x)` both solve with A's transpose: `A_bar` reads
`np.linalg.solve(A.T, g)` and `x_bar` reads it again. Once specialised, both are written out, one
after the other, in the backward loop of a fixed-point or implicit-Euler iteration:

    A_bar = A_bar - np.outer(np.linalg.solve(A.T, solve_bar), solve)
    solve = solve_saved
    x_bar = x_bar + np.linalg.solve(A.T, solve_bar)

becomes

    solved = np.linalg.solve(A.T, solve_bar)
    A_bar = A_bar - np.outer(solved, solve)
    solve = solve_saved
    x_bar = x_bar + solved

The same call on the same arrays gives the same numbers, bit for bit. Done only where it is the same:

- the calls are a factorisation or solve of `np.linalg` (`_COSTLY`), a matrix product `@` or a reduction of an
  array of known shape over literal axes (`g.sum(axis=0)` in two adjoints of a Gaussian mixture), with the same
  text, in statements of one block (`=`, `+=`, an expression: no loop or branch between them);
- the first is evaluated each time its statement runs (not in a branch of `a if c else b`, nor after the
  first operand of `and` / `or`), so computing it first, just before that statement, computes it exactly
  when the code did (a singular matrix raises there, as before);
- no statement from the first to the last binds a name the call reads (its own target only after it is
  evaluated: the first statement's target may not be read by the call at all), and none may change in place
  an array one of them may refer to (`transforms/unchanged.py`: `+=`, item stores, `out=`, a method that
  changes its object, a function that is not NumPy's or s2s's own);
- the array shared is never changed in place afterwards through any name that may refer to it (the
  rewrite is undone where it would be: each reader had an array of its own).
"""

from __future__ import annotations

import ast
import copy

import numpy as np

from .names import NameAllocator, names_in
from .unchanged import aliases, changed_in_place
from .walk import child_parent_pairs, fix_locations, replace_child, statement_lists, walk

__all__ = ["repeats_a_reduction", "share_repeated_calls"]

_COSTLY = {np.linalg.solve: "solved", np.linalg.inv: "inverse", np.linalg.cholesky: "factor",
           np.linalg.pinv: "pseudo_inverse", np.linalg.lstsq: "least_squares", np.linalg.eigh: "eigen",
           np.linalg.svd: "singular", np.linalg.qr: "factors", np.linalg.slogdet: "logdet", np.linalg.det: "det",
           np.count_nonzero: "ties"}  # (the ties of both operands' masks of np.maximum: `transforms/specialize.py` `_step`)
_REDUCTIONS = {np.sum: "total", np.mean: "average", np.max: "largest", np.min: "smallest"}
_SIMPLE = (ast.Assign, ast.AugAssign, ast.Expr)


def share_repeated_calls(fdef: ast.FunctionDef, infer) -> bool:
    r"""Compute each repeated costly call once (see the module doc); `infer(fdef)` gives the shapes inferred
    over `fdef`. Whether anything changed.

        >>> # a = a - np.outer(np.linalg.solve(A.T, g), s); x = x + np.linalg.solve(A.T, g)
        >>> # solved = np.linalg.solve(A.T, g); a = a - np.outer(solved, s); x = x + solved
    """
    if any(isinstance(n, ast.FunctionDef | ast.Lambda) for n in walk(fdef) if n is not fdef):
        return False
    changed, shapes = False, infer(fdef)
    tried = set()
    while True:
        found = _next_repeat(fdef, shapes, tried)
        if found is None:
            break
        block, index, calls, base = found
        tried.add(ast.dump(calls[0]))
        before = copy.deepcopy(fdef.body)
        name = NameAllocator(names_in(fdef)).fresh(base)
        value = copy.deepcopy(calls[0])
        seen = {id(c) for c in calls}
        for stmt in block[index:]:
            _replace(stmt, seen, name)
        block.insert(index, ast.copy_location(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=value),
                                              block[index]))
        after = infer(fdef)
        reaching = aliases(fdef, name, after)
        if any(changed_in_place(stmt, reaching, after) for stmt in fdef.body):
            fdef.body = before  # (a reader changed its array in place: each needs one of its own)
            continue
        shapes, changed = after, True
    if changed:
        fix_locations(fdef)
    return changed


def _next_repeat(fdef, shapes, tried):
    """(block, index of the first statement, the calls in program order, a name for the value) of the first
    repeated costly call not in `tried`, else None."""
    for block in statement_lists(fdef):
        for index, first in enumerate(block):
            if not isinstance(first, _SIMPLE):
                continue
            for call in _unconditional_calls(first):
                base = _costly(call, shapes)
                if base is None or ast.dump(call) in tried:
                    continue
                calls = _repeats(block, index, call, shapes, fdef)
                if len(calls) > 1:
                    return block, index, calls, base
    return None


def _costly(node, shapes):
    """The name its value is given for a call of `_COSTLY` or a product `a @ b` (no keywords, no starred
    arguments), else None."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        return "product"
    if isinstance(node, ast.Call) and not node.keywords and not any(isinstance(a, ast.Starred) for a in node.args):
        callee = shapes.callee(node)
        for function, base in _COSTLY.items():
            if callee is function:
                return base
    if isinstance(node, ast.Call) and not any(isinstance(a, ast.Starred) for a in node.args) \
            and all(k.arg in ("axis", "keepdims") and isinstance(k.value, ast.Constant | ast.Tuple) for k in node.keywords):
        # (a sum over an axis of an array, `g.sum(axis=0)` in two adjoints: the same reduction, the same bits)
        method = shapes.method_reduction(node)
        callee = method[0] if method is not None else shapes.callee(node)
        array = method[1][0] if method is not None else node.args[0] if node.args else None
        if any(callee is f for f in _REDUCTIONS) and array is not None and shapes.of(array) not in (None, ()):
            return _REDUCTIONS[callee]
    return None


def repeats_a_reduction(fdef) -> bool:
    """Whether two calls of a reduction method or function (`sum`, `mean`, `max`, `min`) have the same text (the
    cheap test before `share_repeated_calls` infers shapes)."""
    seen = set()
    for n in walk(fdef):
        if isinstance(n, ast.Call) and getattr(n.func, "attr", getattr(n.func, "id", None)) in ("sum", "mean", "max", "min"):
            text = ast.dump(n)
            if text in seen:
                return True
            seen.add(text)
    return False


def _unconditional_calls(stmt):
    """The calls and products in `stmt` evaluated whenever it runs (not in a branch of an `if` expression,
    an operand of `and` / `or` after the first, a comprehension or a lambda), outermost first."""
    out, todo = [], [stmt]
    while todo:
        node = todo.pop(0)
        if isinstance(node, ast.Call | ast.BinOp):
            out.append(node)
        if isinstance(node, ast.IfExp):
            todo.append(node.test)
        elif isinstance(node, ast.BoolOp):
            todo.append(node.values[0])
        elif not isinstance(node, ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            todo.extend(ast.iter_child_nodes(node))
    return out


def _repeats(block, index, call, shapes, fdef):
    """The nodes with `call`'s text in `block[index:]` up to the first statement that is no simple statement,
    binds a name `call` reads or may change one of their arrays in place (the first statement: its target may
    not be read at all)."""
    text, kind = ast.dump(call), type(call)
    read = {n.id for n in walk(call) if isinstance(n, ast.Name)}

    def same_text(stmt, k):
        return [n for n in walk(stmt) if type(n) is kind and ast.dump(n) == text
                and (k or n in _unconditional_calls(stmt))]

    # (the statements up to the first that binds a name read hold every repeat: aliases, a walk over the whole
    # function, are found only where there are two calls to share)
    if len([n for k, stmt in enumerate(_up_to_a_binding(block[index:], read)) for n in same_text(stmt, k)]) < 2:
        return []
    reaching = set().union(*(aliases(fdef, n, shapes) for n in read)) | read
    found = []
    for k, stmt in enumerate(block[index:]):
        if not isinstance(stmt, _SIMPLE) or changed_in_place(stmt, reaching, shapes):
            break
        found.extend(same_text(stmt, k))
        if _binds(stmt) & read:
            if k == 0:
                return []  # (`x = f(x)`: the value read after it is another)
            break
    return found


def _up_to_a_binding(statements, read):
    """The simple statements of `statements` up to the first that is not one or binds a name in `read` (that one
    included, but for a first one that binds one: none then)."""
    for k, stmt in enumerate(statements):
        if not isinstance(stmt, _SIMPLE):
            return
        if _binds(stmt) & read:
            if k:
                yield stmt
            return
        yield stmt


def _binds(stmt) -> set:
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AugAssign) else []
    return {n.id for t in targets for n in walk(t) if isinstance(n, ast.Name)}


def _replace(tree, ids, name):
    """Each node of `tree` whose id is in `ids` replaced by a read of `name`."""
    for child, parent in list(child_parent_pairs(tree)):
        if id(child) in ids:
            replace_child(parent, child, ast.copy_location(ast.Name(id=name, ctx=ast.Load()), child))
