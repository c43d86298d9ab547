"""One inverse per matrix: where the gradient code computes `np.linalg.inv(S)` anyway, its solves with S
read that inverse instead of factoring S again.

The adjoint of `np.linalg.slogdet(S)` (and of `np.linalg.inv`) needs the inverse of S; the adjoints of
`np.linalg.solve(S, B)` solve again with S's transpose. In the code of `s2s.grad`, specialised to the
argument shapes of a call, this pass computes the inverse once, where S is first factored, and writes

    np.linalg.solve(S, B)      as  S_inv @ B
    np.linalg.solve(S.T, B)    as  S_inv.T @ B
    np.linalg.inv(S).T         as  S_inv.T

(a Gaussian log-likelihood by slogdet and solve: three factorisations of a 5x5 matrix become one, and
its solve with 200 right-hand sides a matrix product). Done only where it is the same computation:

- S is a real float64 square matrix of known shape (n, n), a parameter bound nowhere or a name bound
  once, at the top level of the function; each B is a vector (n,) or a matrix (n, k), so `S_inv @ B`
  has the shape and the meaning `np.linalg.solve(S, B)` has (NumPy reads a 1-d B as a vector);
- S's array is never changed in place: no name that may refer to it or to a view of it is updated
  (`+=`, an item assignment), given to a method that changes it or to a function other than NumPy's
  or s2s's own, or written through an `out=`;
- the first use is in a top-level statement and not under a condition inside it (`a if c else b`,
  `and`, `or`), so the inverse is computed exactly when that first factorisation was, of the same
  matrix (`np.linalg.inv(S.T)` where the first use factors S.T): a singular S raises
  `LinAlgError` there, as before;
- the inverse is already computed by the code, each time it runs (an `np.linalg.inv` in a simple top-level
  statement, under no condition): a solve's LU with few right-hand sides is cheaper than an inverse, so
  solves are never traded for an inverse that was not there, or only there in a branch;
- no value that rounds otherwise (a solve's, or `S_inv.T` for `np.linalg.inv(S)`), nor any value made from
  one, decides anything: each is read only by arithmetic, `.T`, item reads, containers, smooth NumPy
  functions and the runtime helpers smooth in it, on its way to a name or the return. A comparison, a
  condition, an index, `np.maximum`, `int(...)` or any other function reading it keeps the solves: at
  `np.linalg.solve(S, b) == [0, -2, 2]` exactly, `S_inv @ b` gives -4.4e-16 first, and a branch on its sign
  went the other way than the function's (a gradient [0, 6, -6] for [0, -2, 2]);
- the code returns only the gradient (`s2s.grad`): the values a solve feeds are the gradient's
  intermediates, never a value returned as the function's.

The numbers differ from the solves' by rounding: a product with the inverse has a forward error of the
order of the solve's, cond(S) times the machine epsilon, and the inverse already sets that order for
the slogdet adjoint. docs/specialisation.md has the measurements.
"""

from __future__ import annotations

import ast
import copy

import numpy as np

from .names import NameAllocator, names_in
from .rounding import decides
from .unchanged import aliases, changed_in_place
from .walk import binding_counts, fix_locations, statement_lists, walk

__all__ = ["share_inverses"]

_UNSUPPORTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                ast.GeneratorExp, ast.NamedExpr, ast.Global, ast.Nonlocal, ast.With, ast.Try, ast.Delete)


def share_inverses(fdef: ast.FunctionDef, infer, np_name: str) -> bool:
    """Rewrite the solves and inverses of each matrix as the module docstring says; `infer(fdef)` gives the
    shapes inferred over `fdef` (float64 arguments: the caller checks). Returns whether anything changed.

        >>> # solve = np.linalg.solve(S, D_T); ...; S_bar = S_bar + 100.0 * np.linalg.inv(S).T
        >>> # S_inv = np.linalg.inv(S); solve = S_inv @ D_T; ...; S_bar = S_bar + 100.0 * S_inv.T
    """
    if any(isinstance(n, _UNSUPPORTED) for n in walk(fdef) if n is not fdef):
        return False
    tried, changed, shapes = set(), False, infer(fdef)
    while True:
        transposes = _transposes(fdef)
        candidates = [(name, found) for name, found in _factorisations(fdef, shapes, transposes).items()
                      if name not in tried]
        if not candidates:
            break
        name, found = candidates[0]
        tried.add(name)
        after = _share_one(fdef, shapes, infer, np_name, name, found, transposes)
        if after is not None:  # (the shapes of the code as it is now; a refusal left it, and them, as they were)
            shapes, changed = after, True
    if changed:
        fix_locations(fdef)
    return changed


def _factorisations(fdef, shapes, transposes) -> dict:
    """matrix name -> [(call, callee, whether it factors the transpose), ...] in program order, for the names
    both inverted and solved with (`transposes`: the names bound to `S.T`, `_transposes`)."""
    uses = {}
    for node in walk(fdef):
        if isinstance(node, ast.Call) and not node.keywords:
            callee = shapes.callee(node)
            if (callee is np.linalg.inv and len(node.args) == 1) or (callee is np.linalg.solve and len(node.args) == 2):
                matrix = _matrix(node.args[0], shapes, transposes)
                if matrix is not None:
                    uses.setdefault(matrix[0], []).append((node, callee, matrix[1]))
    return {name: found for name, found in uses.items() if {callee for _, callee, _ in found}
            == {np.linalg.inv, np.linalg.solve}}


def _share_one(fdef, shapes, infer, np_name, name, found, transposes):
    """Compute `name`'s inverse once and read it at each of `found`, where the conditions hold; the shapes of
    the code then, or None where it is left as it was."""
    block = _binding_block(fdef, name, [call for call, _, _ in found])
    if block is None:
        return None
    where = _first_use(fdef, block, name, [call for call, _, _ in found])
    if where is None or any(transposes[t][0] == name and (block is not fdef.body or transposes[t][1] >= where[0])
                            for t in transposes) \
            or not _same_matrix_throughout(fdef, block, name, shapes, where[0]) \
            or not all(_solve_fits(call, shapes, name) for call, callee, _ in found if callee is np.linalg.solve):
        return None
    index, first = where
    transposed_first = next(t for call, _, t in found if call is first)
    if not any(callee is np.linalg.inv and _unconditional(block, call) for call, callee, _ in found):
        return None  # (an inverse computed only in a branch or an inner loop: the solves stay cheaper)
    # A product with the inverse rounds otherwise than the solve did (and `S_inv.T` otherwise than
    # `np.linalg.inv(S)`): where such a value, or one made from it, decides anything (a comparison, a branch,
    # an index, `np.maximum`...), the code would take another way than the function itself took.
    rounded = [call for call, callee, t in found if callee is np.linalg.solve or t != transposed_first]
    if decides(fdef, rounded, shapes):
        return None
    inverse = NameAllocator(names_in(fdef)).fresh(f"{name}_inv")
    matrix = ast.Name(id=name, ctx=ast.Load())
    if transposed_first:
        matrix = ast.Attribute(value=matrix, attr="T", ctx=ast.Load())
    compute = ast.Assign(targets=[ast.Name(id=inverse, ctx=ast.Store())], value=_call(np_name, "inv", [matrix]))
    replacements = {}
    for call, callee, transposed in found:
        read = ast.Name(id=inverse, ctx=ast.Load())
        if transposed != transposed_first:
            read = ast.Attribute(value=read, attr="T", ctx=ast.Load())
        replacements[id(call)] = (read, callee is np.linalg.solve)
    before = copy.deepcopy(fdef.body)
    _replace(fdef, replacements)
    block.insert(index, ast.copy_location(compute, block[index]))
    # An inverse the code made was a fresh array, which the code may change in place (`S_bar += t` after
    # `S_bar = np.linalg.inv(S).T`); the shared one must not be: where it would be, the rewrite is undone.
    after = infer(fdef)
    reaching = aliases(fdef, inverse, after)
    if any(changed_in_place(stmt, reaching, after) for stmt in fdef.body):
        fdef.body = before
        return None
    return after


def _call(np_name, function, args):
    linalg = ast.Attribute(value=ast.Name(id=np_name, ctx=ast.Load()), attr="linalg", ctx=ast.Load())
    return ast.Call(func=ast.Attribute(value=linalg, attr=function, ctx=ast.Load()), args=args, keywords=[])


def _transposes(fdef) -> dict:
    """name -> (S, index of its statement) for each name bound once in `fdef`, at the top level, to `S.T`."""
    stores = binding_counts([fdef])
    return {s.targets[0].id: (s.value.value.id, index) for index, s in enumerate(fdef.body)
            if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
            and stores[s.targets[0].id] == 1 and isinstance(s.value, ast.Attribute) and s.value.attr == "T"
            and isinstance(s.value.value, ast.Name)}


def _matrix(node, shapes, transposes):
    """(name, transposed) for `S`, `S.T`, `np.swapaxes(S, -1, -2)` or `np.transpose(S)` of a name S
    that is a real square matrix of known shape, or of a name bound once to `S.T` (`transposes`); None
    otherwise."""
    transposed = False
    if isinstance(node, ast.Attribute) and node.attr == "T":
        node, transposed = node.value, True
    elif isinstance(node, ast.Call) and not node.keywords and node.args:
        callee = shapes.callee(node)
        rest = [a.value if isinstance(a, ast.Constant) else a for a in node.args[1:]]
        if (callee is np.swapaxes and rest in ([-1, -2], [-2, -1], [0, 1], [1, 0])) \
                or (callee is np.transpose and rest == []):
            node, transposed = node.args[0], True
    if not isinstance(node, ast.Name):
        return None
    if node.id in transposes:  # (its binding comes before the first use: share_inverses checks)
        node, transposed = ast.Name(id=transposes[node.id][0], ctx=ast.Load()), not transposed
    shape = shapes.of(node)
    if not (isinstance(shape, tuple) and len(shape) == 2 and type(shape[0]) is int and shape[0] >= 1
            and shape[0] == shape[1] and shapes.real(node)):
        return None
    return node.id, transposed


def _solve_fits(call, shapes, name) -> bool:
    """`S_inv @ B` has the shape and meaning of `np.linalg.solve(S, B)`: B is (n,) or (n, k)."""
    n = shapes.of(ast.Name(id=name, ctx=ast.Load()))[0]
    shape = shapes.of(call.args[1])
    return isinstance(shape, tuple) and len(shape) in (1, 2) and shape[0] == n \
        and all(type(k) is int for k in shape)


def _binding_block(fdef, name, calls):
    """The statement list every one of `calls` is in (inside its statements): the function's body for a parameter,
    else the list holding `name`'s one binding (a loop's body, where each trip binds the matrix anew and uses it
    there: the inverse is computed in the trip); None where there is no such list."""
    if name in {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}:
        block = fdef.body
    else:
        stores = [n for n in walk(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id == name]
        holders = [b for b in statement_lists(fdef) if any(s is stores[0] for stmt in b
                                                           if isinstance(stmt, ast.Assign) for s in stmt.targets)] \
            if len(stores) == 1 else []
        if len(holders) != 1:
            return None
        block = holders[0]
    inside = {id(n) for stmt in block for n in walk(stmt)}
    return block if all(id(c) in inside for c in calls) else None


def _first_use(fdef, block, name, calls):
    """(index in `block`, call) of the first of `calls` in program order, where the statement of `block`
    holding it is a simple statement that evaluates it unconditionally and comes after `name`'s binding;
    None otherwise."""
    ids = {id(c) for c in calls}
    bound_before = name in {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    for index, stmt in enumerate(block):
        inside = [n for n in walk(stmt) if id(n) in ids]
        if inside:
            if not bound_before or not isinstance(stmt, ast.Assign | ast.AugAssign | ast.Expr | ast.Return):
                return None
            first = _evaluated_first(stmt, ids)
            return None if first is None else (index, first)
        if any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store) for n in walk(stmt)):
            bound_before = True
    return None


def _evaluated_first(stmt, ids):
    """The call of `ids` that `stmt` evaluates first, where no condition inside `stmt` guards it."""
    guarded = set()
    for n in walk(stmt):
        if isinstance(n, ast.IfExp | ast.BoolOp):
            guarded |= {id(m) for m in walk(n) if id(m) in ids and m is not n}
    order = []

    def visit(node):  # Python's evaluation order for the expressions s2s writes (operands left to right)
        if isinstance(node, ast.Assign | ast.AugAssign):
            visit(node.value)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)
        if id(node) in ids:
            order.append(node)

    visit(stmt)
    if not order or id(order[0]) in guarded:
        return None
    return order[0]


def _unconditional(block, call) -> bool:
    """Whether `call` is evaluated each time the statements of `block` run to their end: in a simple statement
    of the block, under no condition inside it."""
    for stmt in block:
        if any(n is call for n in walk(stmt)):
            return isinstance(stmt, ast.Assign | ast.AugAssign | ast.Expr | ast.Return) \
                and _evaluated_first(stmt, {id(call)}) is call
    return False


def _same_matrix_throughout(fdef, block, name, shapes, first_index) -> bool:
    """Whether `name` is bound at most once (by a statement of `block`, before the first use) and, from the first
    use on, the array it holds is never changed in place by any name that may refer to it or to a view of it."""
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    stores = [n for n in walk(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id == name]
    top_binding = [s for s in block[:first_index] if isinstance(s, ast.Assign) and len(s.targets) == 1
                   and isinstance(s.targets[0], ast.Name) and s.targets[0].id == name]
    if name in params and stores or name not in params and (len(stores) != 1 or len(top_binding) != 1):
        return False
    names = aliases(fdef, name, shapes)
    if names & params:  # the caller's array: no parameter may be changed in place, through any name
        names |= params
    # (changes before the first use are done when the inverse is computed; the inverse is read in the block)
    return not any(changed_in_place(stmt, names, shapes) for stmt in block[first_index:])


def _replace(fdef, replacements):
    """Each call of `replacements` (id -> (the inverse read, whether a solve)) as its inverse read, a solve
    as that read times its right-hand side (itself rewritten first, where it holds such a call)."""
    class Replace(ast.NodeTransformer):
        def visit_Attribute(self, node):  # (`np.linalg.inv(S).T` read as `S_inv.T.T` is `S_inv`)
            self.generic_visit(node)
            inner = node.value
            if node.attr == "T" and isinstance(inner, ast.Attribute) and inner.attr == "T" \
                    and any(inner is read for read, _ in replacements.values()):
                return inner.value
            return node

        def visit_Call(self, node):
            found = replacements.get(id(node))
            self.generic_visit(node)
            if found is None:
                return node
            read, solve = found
            return ast.BinOp(left=read, op=ast.MatMult(), right=node.args[1]) if solve else read

    Replace().visit(fdef)
