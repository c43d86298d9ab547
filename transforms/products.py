"""Cheaper matrix products in `s2s.grad`'s shape-specialised code: a shared factor taken out of a sum of
two products, a number factor moved onto the smallest array of a chain of linear operations, and a
chain of three matrix products multiplied in its cheaper order.

1. `shared_factors`: the adjoint of a Gram product `M = A @ A.T` is `M_bar @ A + (A.T @ M_bar).T`, two
   products, a transpose and a sum (the code reads A through the name `A_T = A.T` it computed the
   product with). With the product-of-transposes rule, `(A.T @ M_bar).T` is `M_bar.T @ A`, and the
   sum of two products with the same right factor is one product:

       X = G @ A_T.T; Y = A.T @ G; X += Y.T     ->    X = (G + G.T) @ A

   In general `E1 + E2` (or `X += E2` where X holds E1), each a product `P @ Q` written in place, in a
   name read only there, or transposed, with the same right (left) factor: `(P1 + P2) @ Q`
   (`P @ (Q1 + Q2)`). A factor is the same on both sides where it is the same name, read through
   names bound to its transpose (`A_T = A.T`) or not, with as many `.T` modulo 2, and no statement
   from the first product to the sum binds any name read (the alias, the array) again or changes an
   array that may be one of them in place (`transforms/unchanged.py`).

2. `scalars_outward`: `t = 0.5 * D` (D a real floating-point array, 0.5 a number literal), where t is
   read once, by a chain of operations linear in it (`.T`, `@`, `*`, `/` of it, a unary minus,
   `np.linalg.solve(M, t)`), through names each read once: the number multiplies the smallest array
   of the chain instead (`-(M @ t.T @ W)` with a (200, 5) D and a (5, 5) result: `-0.5 * (M @ D.T @
   W)`, a unary minus there folded into it).

3. `cheaper_chains`: `(P @ Q) @ R` of 2-d arrays as `P @ (Q @ R)` where that takes fewer multiplications
   (and the other way round). A product an earlier top-level `N = P @ Q` computed costs none and is read from
   N, where N and the factors (the same arrays, read through names bound to their transposes or not) are
   unchanged since: after `solve = S_inv @ D.T`, `S_inv @ (D.T @ solve.T)` is `solve @ solve.T`
   (`Q.T @ P.T` is `N.T`).

4. `shared_outer_factors`: `X = np.outer(a1, c)` and a later `X += np.outer(a2, c)` (X read nowhere between) are
   `X = np.outer(a1 + a2, c)`: the adjoints of a matrix read twice by products with one vector.

5. `summed_outer_products`: the sum of all entries of `np.outer(u, v) * c * M` is `c * (u @ M @ v)`, without the
   n x m arrays (a polynomial kernel's adjoint with respect to its offset).

Between them `transforms/symmetric.py` reads the transpose of a matrix symmetric by construction as the
matrix (`S_inv.T` as `S_inv` where `S_inv = np.linalg.inv(A @ A.T + c * I)`), which lets 3. see the product
the primal computed; the rewrites run again while one of them changes something.

Each rewrite changes the numbers by rounding only (the same sums and products, grouped otherwise; a moved
number factor, between 1/256 and 256 in magnitude, can also move where a product overflows), on
real floating-point values (a factor's or the array's shape known, 2-d where a product is
regrouped), and is undone where a value it rounds otherwise decides anything (`transforms/rounding.py`).
Only the top-level statements of a function with no nested function are rewritten.
"""

from __future__ import annotations

import ast
import copy
import math

import numpy as np

from .context import ctx
from .names import load, store
from .rounding import decides
from .unchanged import aliases, changed_in_place
from .walk import child_parent_pairs, fix_locations, parent_map, replace_child, walk, walk_with_tests

__all__ = ["cheaper_chains", "identity_products", "products", "scalars_outward", "shared_factors", "shared_outer_factors",
           "summed_outer_products"]

_UNSUPPORTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                ast.GeneratorExp, ast.NamedExpr, ast.Global, ast.Nonlocal, ast.With, ast.Try, ast.Delete,
                ast.ClassDef)


def products(fdef: ast.FunctionDef, infer, float64: bool = False) -> bool:
    """The rewrites of the module docstring (and transforms/symmetric.py's), each until nothing changes, all of them
    again while one changed something; `infer(fdef)` gives the shapes inferred over `fdef`. Returns whether
    anything changed.

    Each rewrite asks `rounding.decides` about the code it made with the shapes inferred before it: decides
    reads only the objects calls name (`shapes.callee`), which a rewrite that binds no new name leaves as
    they were (a name it no longer binds still counts as a local there: a call of it decides, the careful
    answer); inferring again for it took half of this step's time."""
    if any(isinstance(n, _UNSUPPORTED) for n in walk(fdef) if n is not fdef) \
            or not any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult) for n in walk(fdef)):
        return False
    from .symmetric import symmetric_transposes  # (it reads this module's analyses of the statements)

    changed, shapes = False, infer(fdef)
    rewrites = (scalars_outward, symmetric_transposes, cheaper_chains, shared_factors) \
        + ((identity_products, shared_outer_factors, summed_outer_products) if float64 else ())
    for _ in range(4):  # (a Gram adjoint made one product reads a transpose of a symmetric matrix again)
        changed_here = False
        for rewrite in rewrites:
            for _ in range(16):
                if not rewrite(fdef, shapes, infer):
                    break
                changed = changed_here = True
                shapes = infer(fdef)
        if not changed_here:
            break
    if changed:
        fix_locations(fdef)
    return changed


# ---- what the statements bind and read ------------------------------------------------------------

class _Body:
    """The top-level statements of a function, with the names each binds and reads."""

    def __init__(self, fdef, shapes):
        self.fdef, self.shapes, self.body = fdef, shapes, fdef.body
        self.params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
        self.stores, self.loads, self.updates = [], [], []
        for stmt in self.body:
            stores, loads, updates = set(), {}, set()
            for n in walk_with_tests(stmt):
                if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
                    updates.add(n.target.id)  # (`x += v` reads x too: a Store name in the AST)
                if isinstance(n, ast.Name):
                    if isinstance(n.ctx, ast.Load):
                        loads[n.id] = loads.get(n.id, 0) + 1
                    else:
                        stores.add(n.id)
            self.stores.append(stores)
            self.loads.append(loads)
            self.updates.append(updates)
        self._aliases = {}

    def reaching(self, name, at):
        """The index of the top-level statement before `at` that last binds `name`; -1 for a parameter bound
        before nowhere; None where it is not known (bound nowhere before, not a parameter)."""
        for q in range(at - 1, -1, -1):
            if name in self.stores[q]:
                return q
        return -1 if name in self.params else None

    def rebound(self, name, start, stop) -> bool:
        """Whether a statement from `start` to `stop` (excluded) binds `name`."""
        return any(name in self.stores[q] for q in range(start, stop))

    def read(self, name, start, stop) -> int:
        return sum(self.loads[q].get(name, 0) for q in range(start, stop))

    def changed(self, name, start, stop) -> bool:
        """Whether a statement from `start` to `stop` (excluded) may change `name`'s array in place, through
        any name that may refer to it (all the parameters' arrays, where it may be one of them)."""
        flags = self._aliases.get(name)
        if flags is None:  # per statement, whether it may change the array (asked for many ranges: once)
            names = aliases(self.fdef, name, self.shapes)
            if names & self.params:
                names |= self.params
            flags = self._aliases[name] = [None] * len(self.body)
            flags.append(names)
        names = flags[-1]
        for q in range(start, stop):
            if flags[q] is None:
                flags[q] = changed_in_place(self.body[q], names, self.shapes)
            if flags[q]:
                return True
        return False

    def steady(self, name, start, stop) -> bool:
        """`name` holds the same value at `stop` as at `start` (read there): not bound again, not changed."""
        return not self.rebound(name, start, stop) and not self.changed(name, start, stop)

    def single_def(self, name, at):
        """The statement index i of `name = value` (a plain assignment) that the read of `name` in statement
        `at` sees, where that read is the only read of that binding; else None."""
        i = self.reaching(name, at)
        if i is None or i < 0:
            return None
        s = self.body[i]
        if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
                and s.targets[0].id == name) or name in self.loads[i]:
            return None
        if self.read(name, i + 1, at) or self.loads[at].get(name, 0) != 1:
            return None
        if name not in self.stores[at] and (self.read(name, at + 1, len(self.body))
                                            or any(name in u for u in self.updates[at + 1:])):
            return None  # (read again after `at`, by `name += v` too: the binding stays)
        return i


def transposed_outers(fdef: ast.FunctionDef, np_name: str, removable: set) -> bool:
    """A made-up name bound only to outer products and read only transposed holds the products the other way
    round, read as they are: `X = np.outer(a, b); K_bar += X.T` becomes `X = np.outer(b, a); K_bar += X` (the
    adjoint of `K.T @ u` with respect to K). `np.outer(b, a)` is `np.outer(a, b).T` exactly (each item the
    same product), made in the order it is read: adding a transposed (512, 256) array strides across memory,
    five times slower than adding it as made. Returns whether anything changed.

        >>> fdef = ast.parse("def f(a, b, K):\\n X = np.outer(a, b)\\n K += X.T\\n return K").body[0]
        >>> transposed_outers(fdef, "np", {"X"}), [ast.unparse(s) for s in fdef.body[:2]]
        (True, ['X = np.outer(b, a)', 'K += X'])
    """
    plain = {id(s.targets[0]): s for s in walk(fdef) if isinstance(s, ast.Assign) and len(s.targets) == 1}
    bindings, reads = {}, {}  # (a binding other than `name = value` alone, a parameter's too: None)
    for n in walk(fdef):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            bindings.setdefault(n.id, []).append(plain.get(id(n)))
        elif isinstance(n, ast.arg):
            bindings.setdefault(n.arg, []).append(None)
    for child, parent in child_parent_pairs(fdef):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
            reads.setdefault(child.id, []).append(parent)
    changed = False
    for name, made in bindings.items():
        if name not in removable or not made or not all(s is not None and _outer_of_two(s.value, np_name) for s in made) \
                or not reads.get(name) or not all(isinstance(p, ast.Attribute) and p.attr == "T" for p in reads[name]):
            continue
        for s in made:
            s.value.args.reverse()
        for p in reads[name]:
            p.attr = "_s2s_untransposed"  # (marked, replaced below by the name itself)
        changed = True
    if changed:
        _Untranspose().visit(fdef)
        fix_locations(fdef)
    return changed


def _outer_of_two(value, np_name) -> bool:
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "outer" \
        and isinstance(value.func.value, ast.Name) and value.func.value.id == np_name and len(value.args) == 2 \
        and not value.keywords and all(isinstance(a, ast.Name | ast.Constant) for a in value.args)  # (no order of effects)


class _Untranspose(ast.NodeTransformer):
    def visit_Attribute(self, node):
        self.generic_visit(node)
        return node.value if node.attr == "_s2s_untransposed" else node


def _int_shape(shape, ndim=None) -> bool:
    return type(shape) is tuple and all(type(n) is int for n in shape) and (ndim is None or len(shape) == ndim)


def _T(node):
    return ast.Attribute(value=node, attr="T", ctx=ast.Load())


def _undo(fdef, before) -> bool:
    fdef.body = before
    return False


# ---- 1. a shared factor out of a sum of two products ----------------------------------------------

class _Factor:
    """One factor of a product: the expression read, its shape, (array name, transposed) where it is an
    array read through names and `.T` only, the statement it is read at, the names it reads."""

    __slots__ = ("node", "shape", "key", "at", "names")

    def __init__(self, node, shape, key, at, names):
        self.node, self.shape, self.key, self.at, self.names = node, shape, key, at, names

    def transposed(self):
        key = None if self.key is None else (self.key[0], not self.key[1], self.key[2])
        return _Factor(self.node, self.shape[::-1], key, self.at, self.names) if self.key is not None else \
            _Factor(_T(self.node), self.shape[::-1], None, self.at, self.names)

    def expression(self):
        if self.key is not None:
            name = ast.Name(id=self.key[0], ctx=ast.Load())
            return _T(name) if self.key[1] else name
        return copy.deepcopy(self.node)


_PLAIN = (ast.Name, ast.Load, ast.Attribute, ast.BinOp, ast.UnaryOp, ast.Add, ast.Sub, ast.USub, ast.Constant,
          ast.Mult)


def _factor(b: _Body, node, at):
    """`node` (read at statement `at`) as a factor: a real 2-d array of known shape, made of names, `.T` and
    elementwise arithmetic; else None."""
    shape = b.shapes.of(node)
    if not _int_shape(shape, 2) or not b.shapes.real(node) or not all(isinstance(n, _PLAIN) for n in walk(node)) \
            or any(isinstance(n, ast.Attribute) and n.attr != "T" for n in walk(node)):
        return None
    names = {n.id for n in walk(node) if isinstance(n, ast.Name)}
    if any(b.reaching(n, at) is None for n in names):
        return None
    key, inner, flip = None, node, False
    while isinstance(inner, ast.Attribute):
        inner, flip = inner.value, not flip
    if isinstance(inner, ast.Name):
        key = _resolve(b, inner.id, flip, at)
    return _Factor(node, shape, key, at, names)


def _resolve(b: _Body, name, flip, at):
    """(array name, transposed, the statement it is read at) of `name` read at `at`, through the names bound to
    another's `.T` (`A_T = A.T`)."""
    for _ in range(8):
        q = b.reaching(name, at)
        if q is None:
            return None
        s = b.body[q] if q >= 0 else None
        if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
                and isinstance(s.value, ast.Attribute) and s.value.attr == "T"):
            return name, flip, at
        inner, f = s.value, flip
        while isinstance(inner, ast.Attribute) and inner.attr == "T":
            inner, f = inner.value, not f
        if not isinstance(inner, ast.Name) or inner.id == name or not _int_shape(b.shapes.of(inner), 2):
            return name, flip, at
        name, flip, at = inner.id, f, q
    return None


def _term(b: _Body, node, at, target=None):
    """(left factor, right factor, index of the statement to delete or None) of `node` read at statement `at`:
    a product `P @ Q`, a name bound to one and read only here, either transposed; `target`: the name of an
    `X += E` at `at` (node is then that name)."""
    transposed = False
    if isinstance(node, ast.Attribute) and node.attr == "T":
        node, transposed = node.value, True
    delete = None
    if isinstance(node, ast.Name):
        if target is not None:
            i = b.reaching(node.id, at)
            if i is None or i < 0 or b.read(node.id, i + 1, at + 1):
                return None
            s = b.body[i]
            if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)) \
                    or node.id in b.loads[i]:
                return None
        else:
            i = b.single_def(node.id, at)
            if i is None:
                return None
        node, at, delete = b.body[i].value, i, i
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)):
        return None
    left, right = _factor(b, node.left, at), _factor(b, node.right, at)
    if left is None or right is None:
        return None
    if transposed:
        left, right = right.transposed(), left.transposed()
    return left, right, delete


def _same(b: _Body, x: _Factor, y: _Factor, k) -> bool:
    """Whether the factors are the same array (with the same transposition), unchanged up to statement k."""
    if x.key is None or y.key is None or x.key[:2] != y.key[:2] or x.shape != y.shape:
        return False
    name = x.key[0]
    return b.steady(name, min(x.key[2], y.key[2]), k)


def _steady_factor(b: _Body, f: _Factor, k) -> bool:
    """The factor's names hold the values at k they held where it was read."""
    if f.key is not None:
        return b.steady(f.key[0], f.key[2], k)
    return all(b.steady(n, f.at, k) for n in f.names)


def shared_factors(fdef: ast.FunctionDef, shapes, infer) -> bool:
    """One sum of two products with a shared factor as one product (the module docstring's 1.); whether one was.
    `shapes`: those inferred over `fdef` as it is; `infer(fdef)` infers them again."""
    b = _Body(fdef, shapes)
    for k, stmt in enumerate(b.body):
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
                and isinstance(stmt.value, ast.BinOp) and isinstance(stmt.value.op, ast.Add):
            target, sides = stmt.targets[0].id, [(stmt.value.left, None), (stmt.value.right, None)]
        elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, ast.Add) and isinstance(stmt.target, ast.Name) \
                and stmt.target.id not in b.loads[k]:
            target = stmt.target.id
            sides = [(ast.Name(id=target, ctx=ast.Load()), target), (stmt.value, None)]
        else:
            continue
        terms = [_term(b, node, k, t) for node, t in sides]
        if None in terms:
            continue
        (l1, r1, d1), (l2, r2, d2) = terms
        shape1, shape2 = (l1.shape[0], r1.shape[1]), (l2.shape[0], r2.shape[1])
        if shape1 != shape2 or d1 is not None and d1 == d2:
            continue
        if _same(b, r1, r2, k) and l1.shape == l2.shape and _steady_factor(b, l1, k) and _steady_factor(b, l2, k):
            new = ast.BinOp(left=ast.BinOp(left=l1.expression(), op=ast.Add(), right=l2.expression()),
                            op=ast.MatMult(), right=r1.expression())
        elif _same(b, l1, l2, k) and r1.shape == r2.shape and _steady_factor(b, r1, k) and _steady_factor(b, r2, k):
            new = ast.BinOp(left=l1.expression(), op=ast.MatMult(),
                            right=ast.BinOp(left=r1.expression(), op=ast.Add(), right=r2.expression()))
        else:
            continue
        before = list(fdef.body)
        fdef.body[k] = ast.copy_location(ast.Assign(targets=[ast.Name(id=target, ctx=ast.Store())], value=new), stmt)
        for i in sorted((d for d in (d1, d2) if d is not None), reverse=True):
            del fdef.body[i]
        if decides(fdef, [new], shapes):
            return _undo(fdef, before)
        return True
    return False


def shared_outer_factors(fdef: ast.FunctionDef, shapes, infer) -> bool:
    """`X = np.outer(a1, c)` and a later `X += np.outer(a2, c)` (X read nowhere between) as one
    `X = np.outer(a1 + a2, c)` where the second was (`np.outer(a, c1 + c2)` for a shared left factor): the two
    adjoints of a matrix read as `K @ alpha` twice, one product of n x n entries and one sum of them fewer. The
    shared factor and the first's other factor must be unchanged between the two (1-d real arrays of known shape,
    the same name); the sum is rounded once where two products were added. Whether one was rewritten."""
    b = _Body(fdef, shapes)
    for k, first in enumerate(b.body):
        if not (isinstance(first, ast.Assign) and len(first.targets) == 1 and isinstance(first.targets[0], ast.Name)
                and _outer_call(first.value, shapes)):
            continue
        name = first.targets[0].id
        for j in range(k + 1, len(b.body)):
            then = b.body[j]
            if isinstance(then, ast.AugAssign) and isinstance(then.op, ast.Add) and isinstance(then.target, ast.Name) \
                    and then.target.id == name and _outer_call(then.value, shapes):
                break
            if name in b.stores[j] or b.loads[j].get(name) or name in b.updates[j]:
                j = None
                break
        else:
            j = None
        if j is None or b.read(name, k + 1, j) or b.changed(name, k + 1, j) \
                or any(isinstance(n, ast.Name) and n.id == name for n in walk(first.value) if n is not first.targets[0]) \
                or b.loads[j].get(name):
            continue  # (X one of the factors: `X = np.outer(a, X)` reads the old X, the sum would not)
        (a1, c1), (a2, c2) = first.value.args, then.value.args
        for shared, one, other, left in ((c1, a1, a2, True), (a1, c1, c2, False)):
            twin = c2 if left else a2
            if not (isinstance(shared, ast.Name) and isinstance(twin, ast.Name) and shared.id == twin.id
                    and isinstance(one, ast.Name) and isinstance(other, ast.Name)
                    and shapes.of(one) == shapes.of(other) and _int_shape(shapes.of(one), 1)
                    and _int_shape(shapes.of(shared), 1) and all(shapes.real(v) for v in (one, other, shared))
                    and b.steady(shared.id, k + 1, j) and b.steady(one.id, k + 1, j)):
                continue
            total = ast.BinOp(left=load(one.id), op=ast.Add(), right=load(other.id))
            args = [total, load(shared.id)] if left else [load(shared.id), total]
            new = ast.Call(func=copy.deepcopy(first.value.func), args=args, keywords=[])
            if decides(fdef, [then.value], shapes):
                break
            before = list(fdef.body)
            fdef.body[j] = ast.copy_location(ast.Assign(targets=[store(name)], value=new), then)
            del fdef.body[k]
            if decides(fdef, [new], shapes):
                return _undo(fdef, before)
            return True
    return False


def summed_outer_products(fdef: ast.FunctionDef, shapes, infer) -> bool:
    """`X = np.outer(u, v)` (u and v arithmetic of names), `T = X * c * M` (number literals c, real matrices M of
    X's shape, arithmetic of names) and `S = T.sum()` (all axes), X and T read nowhere else, as
    `S = c * (u @ M @ v)` where the sum was: the sum of the entries of `u_i v_j M_ij` is the quadratic form,
    computed without the n x m arrays (a polynomial kernel's adjoint with respect to its offset). u, v and M must
    be unchanged from where they were read to the sum; the sum is rounded otherwise. Whether one was rewritten."""
    b = _Body(fdef, shapes)
    for r, total in enumerate(b.body):
        summed = _summed_name(total, shapes)
        if summed is None:
            continue
        q = b.single_def(summed, r)
        if q is None:
            continue
        factors, numbers = [], []
        _product_factors(b.body[q].value, factors, numbers)
        for outer_name in [f for f in factors if isinstance(f, ast.Name)]:
            k = b.single_def(outer_name.id, q)
            outer = b.body[k].value if k is not None else None
            if not (isinstance(outer, ast.Call) and shapes.callee(outer) is np.outer and len(outer.args) == 2
                    and not outer.keywords and all(isinstance(n, _PLAIN) for a in outer.args for n in walk(a))):
                continue
            u, v = outer.args
            others = [f for f in factors if f is not outer_name]
            shape = shapes.of(outer_name)
            read = {n.id for a in (u, v) for n in walk(a) if isinstance(n, ast.Name)}
            later = {n.id for f in others for n in walk(f) if isinstance(n, ast.Name)}
            if not (others and _int_shape(shape, 2) and shapes.of(u) == shape[:1] and shapes.of(v) == shape[1:]
                    and all(shapes.of(f) == shape and shapes.real(f) for f in others)
                    and all(isinstance(n, _PLAIN + (ast.Pow,)) for f in others for n in walk(f))
                    and shapes.real(u) and shapes.real(v)
                    and all(b.steady(n, k + 1, r) for n in read) and all(b.steady(n, q + 1, r) for n in later)):
                continue
            matrix = copy.deepcopy(others[0])
            for f in others[1:]:
                matrix = ast.BinOp(left=matrix, op=ast.Mult(), right=copy.deepcopy(f))
            form = ast.BinOp(left=ast.BinOp(left=copy.deepcopy(u), op=ast.MatMult(), right=matrix),
                             op=ast.MatMult(), right=copy.deepcopy(v))
            for c in numbers:
                form = ast.BinOp(left=copy.deepcopy(c), op=ast.Mult(), right=form)
            before = list(fdef.body)
            fdef.body[r] = ast.copy_location(ast.Assign(targets=[store(total.targets[0].id)], value=form), total)
            del fdef.body[q]
            del fdef.body[k]
            if decides(fdef, [form], shapes):
                return _undo(fdef, before)
            return True
    return False


def _summed_name(stmt, shapes):
    """T of `S = T.sum()` / `np.sum(T)` / either over `axis=(0, 1)` of a 2-d T (a name), else None."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Call)):
        return None
    call = stmt.value
    if isinstance(call.func, ast.Attribute) and call.func.attr == "sum" and isinstance(call.func.value, ast.Name) \
            and not call.args:
        operand = call.func.value
    elif shapes.callee(call) is np.sum and len(call.args) == 1 and isinstance(call.args[0], ast.Name):
        operand = call.args[0]
    else:
        return None
    if not _int_shape(shapes.of(operand), 2) or any(k.arg != "axis" for k in call.keywords):
        return None
    axis = [k.value for k in call.keywords]
    if axis and not (isinstance(axis[0], ast.Tuple) and [getattr(e, "value", None) for e in axis[0].elts] == [0, 1]):
        return None
    return operand.id


def _product_factors(node, factors, numbers):
    """The factors of a product chain `a * 3 * b`: number literals into `numbers`, the rest into `factors`."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        _product_factors(node.left, factors, numbers)
        _product_factors(node.right, factors, numbers)
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
        numbers.append(node)
    else:
        factors.append(node)


def _outer_call(value, shapes) -> bool:
    return isinstance(value, ast.Call) and shapes.callee(value) is np.outer and len(value.args) == 2 \
        and not value.keywords and all(isinstance(a, ast.Name) for a in value.args)


# ---- 2. a number factor onto the smallest array of a linear chain ---------------------------------

_MOVABLE = (1 / 256, 256.0)  # the magnitudes of a number factor scalars_outward moves


def _scaled(b: _Body, stmt):
    """(number, the array expression) of `t = c * X` / `t = X * c`, c a number literal between 1/256 and 256 in
    magnitude, X a real floating-point array of known shape; else None. (Moving c changes what the products
    between compute by the factor c: with c so bounded, a product overflows or underflows where the original
    did not only for values within 256 times the dtype's largest or smallest number, not only by rounding.)"""
    v = stmt.value
    if not (isinstance(v, ast.BinOp) and isinstance(v.op, ast.Mult)):
        return None
    for c, x in ((v.left, v.right), (v.right, v.left)):
        if isinstance(c, ast.Constant) and type(c.value) in (int, float) and _MOVABLE[0] <= abs(c.value) <= _MOVABLE[1] \
                and _int_shape(b.shapes.of(x)) and b.shapes.of(x) != () and b.shapes.real(x):
            return c.value, x
    return None


def _linear_parent(b: _Body, node, parent) -> bool:
    """Whether `parent`'s value is linear in its operand `node`."""
    if isinstance(parent, ast.Attribute):
        return parent.attr == "T" and _int_shape(b.shapes.of(parent))
    if isinstance(parent, ast.UnaryOp):
        return isinstance(parent.op, ast.USub)
    if isinstance(parent, ast.BinOp):
        if isinstance(parent.op, ast.MatMult | ast.Mult):
            return True
        return isinstance(parent.op, ast.Div) and parent.left is node
    if isinstance(parent, ast.Call):
        return b.shapes.callee(parent) is np.linalg.solve and len(parent.args) == 2 and not parent.keywords \
            and parent.args[1] is node
    return False


def identity_products(fdef: ast.FunctionDef, shapes, infer) -> bool:
    """`E @ M` (or `M @ E`) in a simple statement at the function's top level, where E is a name bound at the top
    level to `np.eye(n)` or a number times it (`g * np.eye(n)`, the adjoint of a trace), bound again nowhere
    between and unchanged since, and M a real 2-d array of a matching dimension: `s2s.eye_product(M, g, n, left)`,
    a new copy of M (times g) where M and g are finite, the product itself elsewhere (0 * inf is NaN): never M
    itself, which later passes may update in place. Only in float64 code (E's product is float64 where M may be
    float32). Returns whether anything changed."""
    runtime = _runtime_name(fdef, shapes)
    if runtime is None:
        return False
    b = _Body(fdef, shapes)
    for at, stmt in enumerate(b.body):
        # (a simple statement: in a loop or a branch, a name's binding before it need not be the one a read sees)
        if not isinstance(stmt, ast.Assign | ast.AugAssign | ast.Return | ast.Expr) \
                or not any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult) for n in walk(stmt)):
            continue
        parents = parent_map(stmt)
        for node in walk(stmt):
            if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)):
                continue
            for side, other, dim in (("left", node.right, 0), ("right", node.left, -1)):
                scale = _identity(b, getattr(node, side), at)
                shape = shapes.of(other)
                if scale is None or not (isinstance(shape, tuple) and len(shape) == 2 and shape[dim] == scale[0]
                                         and shapes.real(other)):
                    continue
                n, factor = scale
                new = ast.Call(func=ast.Attribute(value=ast.Name(id=runtime, ctx=ast.Load()), attr="eye_product",
                                                  ctx=ast.Load()),
                               args=[other, ast.Constant(None) if factor is None else copy.deepcopy(factor),
                                     ast.Constant(n), ast.Constant(side == "left")], keywords=[])
                _replace_child(parents[id(node)], node, new)
                return True
    return False


def _runtime_name(fdef, shapes):
    """The name the code reads s2s's runtime by (`s2s`), where it has one and the runtime has `eye_product`."""
    runtime = ctx().runtime
    if getattr(runtime, "eye_product", None) is None:
        return None
    names = {n.id for n in walk(fdef) if isinstance(n, ast.Name)} | {"s2s"}
    return next((name for name in sorted(names) if name not in shapes.local and shapes.resolve(name) is runtime), None)


def _identity(b: _Body, node, at):
    """(n, the number factor or None) where `node` is a name whose binding seen at statement `at` is
    `np.eye(n)` or `c * np.eye(n)` / `np.eye(n) * c` (c a real number: a literal, or a name not bound again
    since), the name not changed in place since; else None."""
    if not isinstance(node, ast.Name):
        return None
    i = b.reaching(node.id, at)
    if i is None or i < 0 or not b.steady(node.id, i + 1, at):
        return None
    stmt = b.body[i]
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
        return None
    value, factor = stmt.value, None
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult):
        eye_side = value.right if _is_eye(b, value.right) else value.left if _is_eye(b, value.left) else None
        if eye_side is None:
            return None
        factor = value.left if eye_side is value.right else value.right
        if not (b.shapes.of(factor) == () and b.shapes.real(factor)) or isinstance(factor, ast.Name) \
                and (b.reaching(factor.id, i + 1) is None or b.rebound(factor.id, i + 1, at)) \
                or not isinstance(factor, ast.Name | ast.Constant):
            return None
        value = eye_side
    if not _is_eye(b, value):
        return None
    return value.args[0].value, factor


def _is_eye(b: _Body, node) -> bool:
    """`np.eye(n)`, n an int literal."""
    return isinstance(node, ast.Call) and b.shapes.callee(node) is np.eye and len(node.args) == 1 \
        and not node.keywords and isinstance(node.args[0], ast.Constant) and type(node.args[0].value) is int


def scalars_outward(fdef: ast.FunctionDef, shapes, infer) -> bool:
    """One number factor moved onto the smallest array of the linear chain that reads it (the module docstring's
    2.); whether one was."""
    b = _Body(fdef, shapes)
    parents = parent_map(fdef)
    for i, stmt in enumerate(b.body):
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            continue
        found = _scaled(b, stmt)
        if found is None or stmt.targets[0].id in b.params:
            continue
        c, x = found
        chain, first, last = _chain(b, stmt, i, parents)
        if not chain:
            continue
        size = math.prod(b.shapes.of(x))
        best = min(range(len(chain)), key=lambda j: (math.prod(chain[j][1]), -j))
        if math.prod(chain[best][1]) >= size:
            continue
        # `t = X` of a name X (or X.T) makes t X's array (a view of it): read up to statement `last`, where
        # nothing may change it in place; arithmetic (`X - mu`) makes a new array
        base = x
        while isinstance(base, ast.Attribute) and base.attr == "T":
            base = base.value
        if isinstance(base, ast.Name):
            if b.changed(base.id, i + 1, last + 1):
                continue
        elif not isinstance(x, ast.BinOp | ast.UnaryOp):
            continue
        before = copy.deepcopy(fdef.body)
        node = chain[best][0]
        stmt.value = x
        if isinstance(x, ast.Name) and not b.rebound(x.id, i + 1, first):
            # (`t = X` read once, at statement `first`, where X still names that array: X read there)
            read = next(n for n in walk(b.body[first]) if isinstance(n, ast.Name) and n.id == stmt.targets[0].id
                        and isinstance(n.ctx, ast.Load))
            _replace_child(parents[id(read)], read, ast.Name(id=x.id, ctx=ast.Load()))
            x = parents[id(read)]
            del fdef.body[i]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            scaled = ast.BinOp(left=ast.Constant(-c), op=ast.Mult(), right=node.operand)
        else:
            scaled = ast.BinOp(left=ast.Constant(c), op=ast.Mult(), right=node)
        _replace_child(parents[id(node)], node, scaled)
        if decides(fdef, [x], shapes):
            fdef.body = before
            return False
        return True
    return False


def _chain(b: _Body, stmt, i, parents):
    """[(node, shape), ...]: the operations linear in the value `stmt` (statement i) binds, from its one read on,
    through names each bound once and read once; the index of the statement of that read, and of the last
    statement. ([], i, i) where the read is not linear or a shape is not known."""
    name = stmt.targets[0].id
    chain, at, first = [], i, None
    for _ in range(16):
        k = next((q for q in range(at + 1, len(b.body)) if name in b.loads[q] or name in b.stores[q]), None)
        if k is None or b.single_def(name, k) != at or name in b.stores[k] \
                or not isinstance(b.body[k], ast.Assign | ast.AugAssign | ast.Return | ast.Expr):
            return [], i, i  # (a loop would multiply by the number at each trip)
        first = k if first is None else first
        read = next(n for n in walk(b.body[k]) if isinstance(n, ast.Name) and n.id == name
                    and isinstance(n.ctx, ast.Load))
        node = read
        while True:
            parent = parents.get(id(node))
            if parent is None or not _linear_parent(b, node, parent):
                break
            shape = b.shapes.of(parent)
            if not _int_shape(shape):
                return [], i, i
            chain.append((parent, shape))
            node = parent
        s = b.body[k]
        if not (isinstance(parent, ast.Assign) and parent is s and len(s.targets) == 1
                and isinstance(s.targets[0], ast.Name)):
            return chain, first, k
        following = s.targets[0].id
        if following in b.params or any(following in b.stores[q] for q in range(k + 1, len(b.body))) \
                or sum(b.loads[q].get(following, 0) for q in range(len(b.body))) != 1:
            return chain, first, k
        name, at = following, k
    return chain, first, at


def _replace_child(parent, old, new):
    if not replace_child(parent, old, new):
        raise AssertionError("not a child")


# ---- 3. three matrix products in the cheaper order ------------------------------------------------

def cheaper_chains(fdef: ast.FunctionDef, shapes, infer) -> bool:
    """`(P @ Q) @ R` of real 2-d arrays as `P @ (Q @ R)` where that takes fewer multiplications, and the other
    way round, a product an earlier statement computed into a name that still holds it costing none and read
    from that name; whether one chain was regrouped or read so."""
    b = _Body(fdef, shapes)
    for k, stmt in enumerate(fdef.body):
        for node in walk(stmt):
            if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)):
                continue
            for inner_side in ("left", "right"):
                inner = getattr(node, inner_side)
                if not (isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.MatMult)):
                    continue
                p, q, r = (inner.left, inner.right, node.right) if inner_side == "left" else \
                    (node.left, inner.left, inner.right)
                sp, sq, sr = (shapes.of(n) for n in (p, q, r))
                if not all(_int_shape(s, 2) for s in (sp, sq, sr)) or not all(shapes.real(n) for n in (p, q, r)) \
                        or sp[1] != sq[0] or sq[1] != sr[0]:
                    continue
                (a, m), (_, n), (_, o) = sp, sq, sr
                # (a product computed before, in a top-level statement that is not compound: read, not computed)
                simple = isinstance(stmt, ast.Assign | ast.AugAssign | ast.Return | ast.Expr)
                known_pq = _computed(b, p, q, k) if simple else None
                known_qr = _computed(b, q, r, k) if simple else None
                left_first = (0 if known_pq is not None else a * m * n) + a * n * o
                right_first = (0 if known_qr is not None else m * n * o) + a * m * o
                if right_first < left_first:
                    to_side, known = "right", known_qr
                elif left_first < right_first:
                    to_side, known = "left", known_pq
                else:
                    to_side, known = inner_side, (known_pq if inner_side == "left" else known_qr)
                if to_side == inner_side and known is None:
                    continue
                before = copy.deepcopy(fdef.body)
                if to_side == "right":
                    moved = known if known is not None else ast.BinOp(left=q, op=ast.MatMult(), right=r)
                    node.left, node.right = p, moved
                else:
                    moved = known if known is not None else ast.BinOp(left=p, op=ast.MatMult(), right=q)
                    node.left, node.right = moved, r
                if decides(fdef, [moved], shapes):
                    fdef.body = before
                    return False
                return True
    return False


def _computed(b: _Body, left, right, k):
    """`N` where an earlier top-level `N = P @ Q` computed `left @ right` (read at statement k): P the same
    array as `left`, Q as `right`, each unchanged since, and N still holding that product; `N.T` where it
    computed `right.T @ left.T`; else None."""
    x, y = _factor(b, left, k), _factor(b, right, k)
    if x is None or y is None or x.key is None or y.key is None:
        return None
    if b.changed(x.key[0], k, k + 1) or b.changed(y.key[0], k, k + 1):
        return None  # (statement k may change a factor before its product is read: helper-70)
    for j in range(k):
        s = b.body[j]
        if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
                and isinstance(s.value, ast.BinOp) and isinstance(s.value.op, ast.MatMult)):
            continue
        name = s.targets[0].id
        p, q = _factor(b, s.value.left, j), _factor(b, s.value.right, j)
        if p is None or q is None or not b.steady(name, j + 1, k) or b.changed(name, k, k + 1):
            continue
        if _same(b, p, x, k) and _same(b, q, y, k):
            return ast.Name(id=name, ctx=ast.Load())
        if _same(b, q.transposed(), x, k) and _same(b, p.transposed(), y, k):
            return _T(ast.Name(id=name, ctx=ast.Load()))
    return None
