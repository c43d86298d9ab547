"""A-normal form: every statement becomes one primitive operation on names.

`y = 2 * np.dot(x, x)` becomes `t = np.dot(x, x); y = 2 * t`. Conditional
expressions, `and`/`or` and list comprehensions become statements; tuple
targets are unpacked one item at a time. The user's own names are kept for
the values the user named.
"""

from __future__ import annotations

import ast
import copy

from . import annotations, loops
from .context import ctx, missing
from .names import NameAllocator, builtin, load, store
from .walk import fix_locations, walk


def is_atom(e: ast.expr) -> bool:
    """Names, constants, and literal tuples of constants."""
    if isinstance(e, ast.Name | ast.Constant):
        return True
    if isinstance(e, ast.Tuple) and all(isinstance(x, ast.Constant) for x in e.elts):
        return True
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub) and isinstance(e.operand, ast.Constant):
        return True
    return False


def _module_attr(pf, e) -> bool:
    from .context import missing
    # (the root first: resolving `A.shape` of a local A would read a global A and make the code depend on it)
    return isinstance(e, ast.Attribute) and _root_is_global(e) and pf.resolve_expr(e) is not missing()


def _root_is_global(e):
    while isinstance(e, ast.Attribute):
        e = e.value
    return isinstance(e, ast.Name) and annotations.is_global(e)


class Lowerer:
    """Lowers one desugared function body."""

    def __init__(self, pf, alloc: NameAllocator, local_names: set[str]):
        self.pf = pf
        self.locals = local_names
        self.alloc = _LocalAllocator(alloc, self.locals)
        self.local_helpers = {}
        self.changed_in_place = set()  # names whose objects the function may change in place (`lower` sets it)
        self.has_try = False  # (a `try` could see the first of a parallel assignment made, the next raising)

    # -- expressions --------------------------------------------------------
    def atom(self, e, out, hint="t") -> ast.expr:
        """Lower `e` into statements appended to `out`; return an atom for its value."""
        if isinstance(e, ast.Name):
            if e.id not in self.locals:
                annotations.put(e, annotations.GLOBAL)
            return e
        if is_atom(e) or isinstance(e, ast.JoinedStr):
            return e
        if _module_attr(self.pf, self._mark(e)):
            return e
        simple = self.simple(e, out)
        if is_atom(simple):
            return simple
        name = self.alloc.fresh(_hint(simple, hint))
        out.append(ast.copy_location(ast.Assign(targets=[store(name)], value=simple), e))
        return load(name)

    def _mark(self, e):
        root = e
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and root.id not in self.locals:
            annotations.put(root, annotations.GLOBAL)
        return e

    def simple(self, e, out) -> ast.expr:
        """Lower `e` so that what is returned is one operation on atoms."""
        loc = e
        if is_atom(e) or isinstance(e, ast.JoinedStr):
            return self.atom(e, out) if isinstance(e, ast.Name) else e
        if isinstance(e, ast.BinOp):
            left, right = self.atom(e.left, out), self.atom(e.right, out)
            if annotations.has(e, annotations.IN_PLACE):  # `x op= v`: NumPy's error where the result does not fit x
                out.append(_inplace_check(left, right, annotations.get(e, annotations.IN_PLACE), e))
            return ast.copy_location(ast.BinOp(left=left, op=e.op, right=right), loc)
        if isinstance(e, ast.UnaryOp):
            return ast.copy_location(ast.UnaryOp(op=e.op, operand=self.atom(e.operand, out)), loc)
        if isinstance(e, ast.Compare):
            if len(e.ops) == 1:
                return ast.copy_location(ast.Compare(left=self.atom(e.left, out), ops=e.ops,
                                                     comparators=[self.atom(e.comparators[0], out)]), loc)
            parts, left = [], e.left
            for op, right in zip(e.ops, e.comparators):
                parts.append(ast.Compare(left=left, ops=[op], comparators=[right]))
                left = right
            return self.simple(ast.copy_location(ast.BoolOp(op=ast.And(), values=parts), loc), out)
        if isinstance(e, ast.BoolOp):
            return self.atom_of_boolop(e, out)
        if isinstance(e, ast.IfExp):
            return self.atom_of_ifexp(e, out)
        if isinstance(e, ast.Call):
            return self.call(e, out)
        if isinstance(e, ast.Subscript):
            trick = self.index_trick(e, out)
            if trick is not None:
                return trick
            return ast.copy_location(ast.Subscript(value=self.atom(e.value, out), slice=self.index(e.slice, out),
                                                   ctx=ast.Load()), loc)
        if isinstance(e, ast.Attribute):
            if _module_attr(self.pf, self._mark(e)):
                return e
            return ast.copy_location(ast.Attribute(value=self.atom(e.value, out), attr=e.attr, ctx=ast.Load()), loc)
        if isinstance(e, ast.Tuple | ast.List):
            elts = [self.atom(x, out) for x in e.elts]
            return ast.copy_location(type(e)(elts=elts, ctx=ast.Load()), loc)
        if isinstance(e, ast.Dict):
            if any(k is None for k in e.keys):
                raise self.pf.error(ctx().unsupported, "s2s cannot differentiate **-unpacking in a dict", e)
            return ast.copy_location(ast.Dict(keys=[self.atom(k, out) for k in e.keys],
                                              values=[self.atom(v, out) for v in e.values]), loc)
        if isinstance(e, ast.ListComp):
            return self.listcomp(e, out)
        raise self.pf.error(ctx().unsupported,
                            f"s2s cannot differentiate this expression ({type(e).__name__})", e)

    def index_trick(self, e, out):
        """`np.r_[a, b]`, `np.c_[...]` (and np.s_, np.index_exp, np.mgrid, np.ogrid) as calls of s2s helpers
        with rules: their "indices" are values that flow into the result. None for other subscripts."""
        import numpy as np

        from .desugar import helper_attr
        v = e.value
        root = v
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(v, ast.Name | ast.Attribute) or not isinstance(root, ast.Name) or root.id in self.locals:
            return None  # (`x.shape[0]` of a local x: not np.r_ and the like, nothing to resolve)
        runtime = ctx().runtime
        try:
            obj = self.pf.resolve_expr(self._mark(v))
        except Exception:  # noqa: BLE001 - anything unresolvable is an ordinary subscript
            return None
        if obj is missing() or not any(obj is t for t in (np.r_, np.c_, np.s_, np.index_exp, np.mgrid, np.ogrid)):
            return None
        items = list(e.slice.elts) if isinstance(e.slice, ast.Tuple) else [e.slice]
        atoms = []
        for item in items:
            if isinstance(item, ast.Slice):
                bounds = [b if b is not None else ast.Constant(None) for b in (item.lower, item.upper, item.step)]
                item = ast.copy_location(ast.Call(func=builtin("slice"), args=bounds, keywords=[]),
                                         e)
            atoms.append(self.atom(item, out, "i"))
        base = self.atom(v, out)
        if obj is np.r_ or obj is np.c_:
            call = ast.Call(func=helper_attr("s2s", "index_concat", runtime.index_concat), args=[base] + atoms,
                            keywords=[])
        else:
            key = atoms[0] if len(atoms) == 1 else ast.Tuple(elts=atoms, ctx=ast.Load())
            if isinstance(key, ast.Tuple):
                key = self.atom(key, out, "key")
            call = ast.Call(func=helper_attr("s2s", "index_item", runtime.index_item), args=[base, key], keywords=[])
        return ast.copy_location(call, e)

    def index(self, s, out):
        if isinstance(s, ast.Slice):
            return ast.Slice(lower=s.lower and self.atom(s.lower, out), upper=s.upper and self.atom(s.upper, out),
                             step=s.step and self.atom(s.step, out))
        if isinstance(s, ast.Tuple):
            return ast.Tuple(elts=[self.index(x, out) for x in s.elts], ctx=ast.Load())
        if isinstance(s, ast.Constant) or (isinstance(s, ast.Attribute) and _module_attr(self.pf, self._mark(s))):
            return s
        return self.atom(s, out, "i")

    def call(self, e, out):
        unwrapped = self.partial_call(e)
        if unwrapped is not None:  # functools.partial(f, a)(b) is f(a, b)
            return self.call(unwrapped, out)
        func = e.func
        helper = self.local_helpers.get(func.id) if isinstance(func, ast.Name) else None
        if helper is not None:
            args = []
            for a in e.args:
                if not isinstance(a, ast.Starred):
                    args.append(self.atom(a, out))
                    continue
                # `*xs` filling the parameters the other arguments leave: unpacked into names, as the call does
                covered = len(helper.params) - len(e.args) + 1
                names = [self.alloc.fresh("item") for _ in range(covered)]
                target = ast.Tuple(elts=[ast.Name(id=n, ctx=ast.Store()) for n in names], ctx=ast.Store())
                items = self.atom(a.value, out)
                from .inline import star_count_check
                out.append(fix_locations(ast.copy_location(star_count_check(copy.deepcopy(items), covered, helper.name), e)))
                self.assign_to(target, items, out, e, counted=True)
                args.extend(ast.Name(id=n, ctx=ast.Load()) for n in names)
            expanded = ast.copy_location(helper.expand(args), e)
            fix_locations(expanded)
            for n in walk(expanded):  # the helper's body points at the call site in errors and comments
                if hasattr(n, "lineno"):
                    ast.copy_location(n, e)
            return self.simple(expanded, out)
        if isinstance(func, ast.Name) and func.id in self.locals:
            # a function held in a local variable (an argument, a default, a list's item...): known at
            # run time only, called through s2s.call_vjp / s2s.call_jvp where an argument is active
            return self.arguments(e, func, out)
        if isinstance(func, ast.Attribute) and not _module_attr(self.pf, self._mark(func)) and \
                not annotations.is_helper(func.value):
            target = self.atom(func.value, out)
            method = ast.Attribute(value=target, attr=func.attr, ctx=ast.Load())
            if func.attr == "pop" and not e.args and not e.keywords:
                return ast.copy_location(ast.Call(func=method, args=[], keywords=[]), e)
            if func.attr == "append" and len(e.args) == 1 and not isinstance(e.args[0], ast.Starred) \
                    and not e.keywords:
                # a statement of its own, whose value is None (`[h.append(v) for v in vs]`, `h.append(v) is None`):
                # as the value of an assignment (`append = h.append(t)`) no pass read it as the list's update,
                # which ran in the forward sweep with no adjoint (a zero gradient)
                call = ast.copy_location(ast.Call(func=method, args=[self.atom(e.args[0], out)], keywords=[]), e)
                out.append(ast.copy_location(ast.Expr(value=call), e))
                return ast.copy_location(ast.Constant(None), e)
            # a method of a value (rng.normal(size=3)): constant unless an argument is active, then refused
            # or differentiated at run time like any function value
            return self.arguments(e, method, out)
        if not isinstance(func, ast.Name | ast.Attribute):  # make_act()(x), fs[0](x): the callee first
            return self.arguments(e, self.atom(func, out, "fn"), out)
        if isinstance(func, ast.Name):
            annotations.put(func, annotations.GLOBAL)
        return self.arguments(e, func, out)

    def arguments(self, e, func, out):
        """The call `e` with callee `func` and its arguments lowered to atoms (`*xs` and `**d` kept)."""
        args = [ast.copy_location(ast.Starred(value=self.atom(a.value, out), ctx=ast.Load()), a)
                if isinstance(a, ast.Starred) else self.atom(a, out) for a in e.args]
        keywords = [ast.keyword(arg=k.arg, value=self.atom(k.value, out)) for k in e.keywords]
        return ast.copy_location(ast.Call(func=func, args=args, keywords=keywords), e)

    def partial_call(self, e):
        """`functools.partial(f, a, k=v)(b)` as `f(a, b, k=v)`, or None."""
        inner = e.func
        if not (isinstance(inner, ast.Call) and inner.args and not isinstance(inner.args[0], ast.Starred)):
            return None
        root = inner.func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name) or root.id in self.locals:
            return None
        import functools
        try:
            if self.pf.resolve_expr(inner.func) is not functools.partial:
                return None
        except Exception:  # noqa: BLE001 - not a dotted name s2s can read
            return None
        called = {k.arg for k in e.keywords if k.arg is not None}
        keywords = [k for k in inner.keywords if k.arg not in called or k.arg is None] + list(e.keywords)
        return ast.copy_location(ast.Call(func=inner.args[0], args=list(inner.args[1:]) + list(e.args),
                                          keywords=keywords), e)

    def atom_of_boolop(self, e, out):
        name = self.alloc.fresh("cond")
        first = self.simple(e.values[0], out)
        out.append(ast.copy_location(ast.Assign(targets=[store(name)], value=first), e))
        for v in e.values[1:]:
            body = []
            body.append(ast.copy_location(ast.Assign(targets=[store(name)], value=self.simple(v, body)), e))
            test = load(name) if isinstance(e.op, ast.And) else None
            if test is None:
                neg = self.alloc.fresh("cond")
                out.append(ast.copy_location(ast.Assign(targets=[store(neg)],
                                                        value=ast.UnaryOp(op=ast.Not(), operand=load(name))), e))
                test = load(neg)
            else:
                tmp = self.alloc.fresh("cond")
                out.append(ast.copy_location(ast.Assign(targets=[store(tmp)], value=load(name)), e))
                test = load(tmp)
            out.append(ast.copy_location(ast.If(test=test, body=body, orelse=[]), e))
        return load(name)

    def atom_of_ifexp(self, e, out):
        name = self.alloc.fresh("choice")
        test = self.test_atom(e.test, out, assigned=set())
        body, orelse = [], []
        body.append(ast.copy_location(ast.Assign(targets=[store(name)], value=self.simple(e.body, body)), e))
        orelse.append(ast.copy_location(ast.Assign(targets=[store(name)], value=self.simple(e.orelse, orelse)), e))
        out.append(ast.copy_location(ast.If(test=test, body=body, orelse=orelse), e))
        return load(name)

    def listcomp(self, e, out, name=None):
        name = name or self.alloc.fresh("items")
        out.append(ast.copy_location(ast.Assign(targets=[store(name)], value=ast.List(elts=[], ctx=ast.Load())), e))
        renames = {}
        for gen in e.generators:
            for n in walk(gen.target):
                if isinstance(n, ast.Name):
                    renames[n.id] = self.alloc.fresh(n.id)
        first = e.generators[0].iter  # (evaluated in the enclosing scope: its names are not the loop's)
        e = _rename(copy.deepcopy(e), renames)
        e.generators[0].iter = copy.deepcopy(first)
        self.locals |= set(renames.values())
        append = ast.Expr(value=ast.Call(func=ast.Attribute(value=load(name), attr="append", ctx=ast.Load()),
                                         args=[e.elt], keywords=[]))
        inner = [ast.copy_location(append, e)]
        for gen in reversed(e.generators):
            for cond in reversed(gen.ifs):
                inner = [ast.copy_location(ast.If(test=cond, body=inner, orelse=[]), e)]
            inner = [ast.copy_location(ast.For(target=gen.target, iter=gen.iter, body=inner, orelse=[]), e)]
        for s in loops.rewrite_loops(self.pf, inner, self.locals, self.alloc):  # over range, as desugar's loops
            fix_locations(s)
            self.stmt(s, out)
        return load(name)

    def test_atom(self, test, out, assigned):
        """The test as an atom nothing after it can change: a copy where the branches bind its name again, its truth
        where the function may change its object in place (`if q: j = q.pop()`, or a pop after the `if`: the
        backward sweep reads the test after those, when q may be empty); so are such names among the operands of
        `and`/`or` (`while p or q:` would otherwise hold q itself)."""
        a = self.atom(self.truths(test), out, "cond")
        changed = isinstance(a, ast.Name) and a.id in self.changed_in_place
        if isinstance(a, ast.Name) and (a.id in assigned or changed):
            name = self.alloc.fresh("cond")
            value = ast.Call(func=builtin("bool"), args=[a], keywords=[]) if changed else a
            out.append(ast.copy_location(ast.Assign(targets=[store(name)], value=value), test))
            return load(name)
        return a

    def truths(self, test):
        """`test` with the names among the operands of its `and`/`or` that the function changes in place read as
        their truth (`p or q` would hold q itself, which a later `q.pop()` changes)."""
        if not isinstance(test, ast.BoolOp):
            return test
        return ast.copy_location(ast.BoolOp(op=test.op, values=[
            ast.copy_location(ast.Call(func=builtin("bool"), args=[v], keywords=[]), v)
            if isinstance(v, ast.Name) and v.id in self.changed_in_place else self.truths(v) for v in test.values]),
            test)

    # -- statements ---------------------------------------------------------
    def block(self, stmts):
        out = []
        for s in stmts:
            self.stmt(s, out)
        return out

    def stmt(self, s, out):
        if isinstance(s, ast.Assign):
            return self.assign(s, out)
        if isinstance(s, ast.AnnAssign):
            if s.value is None:
                return None
            return self.assign(ast.copy_location(ast.Assign(targets=[s.target], value=s.value), s), out)
        if isinstance(s, ast.Expr):
            if isinstance(s.value, ast.Constant):
                return None  # docstring
            value = self.simple(s.value, out)
            if not is_atom(value):
                out.append(ast.copy_location(ast.Expr(value=value), s))
            return None
        if isinstance(s, ast.If):
            assigned = _assigned(s.body + s.orelse)
            test = self.test_atom(s.test, out, assigned)
            out.append(ast.copy_location(ast.If(test=test, body=self.block(s.body) or [ast.Pass()],
                                                orelse=self.block(s.orelse)), s))
            return None
        if isinstance(s, ast.For):
            if not isinstance(s.target, ast.Name):
                raise self.pf.error(ctx().unsupported, "s2s needs a plain name as a range loop variable",
                                    s.target)
            rng = s.iter
            args = [self.atom(a, out, "n") for a in rng.args]
            it = ast.Call(func=rng.func, args=args, keywords=[])
            loop = ast.copy_location(ast.For(target=s.target, iter=it, body=self.block(s.body), orelse=[]), s)
            if annotations.has(s, annotations.CHECKPOINT_EVERY):
                annotations.carry(s, loop, annotations.CHECKPOINT_EVERY)
            out.append(loop)
            return None
        if isinstance(s, ast.While):
            test_stmts = []
            test = self.atom(self.truths(s.test), test_stmts, "cond")
            out.extend(copy.deepcopy(test_stmts))
            loop = ast.copy_location(ast.While(test=test, body=self.block(s.body), orelse=[]), s)
            if annotations.has(s, annotations.CHECKPOINT_EVERY):
                annotations.carry(s, loop, annotations.CHECKPOINT_EVERY)
            annotations.put(loop, annotations.LOOP_TEST, test_stmts)
            out.append(loop)
            return None
        if isinstance(s, ast.Return):
            value = self.atom(s.value, out, "out") if s.value is not None else ast.Constant(None)
            out.append(ast.copy_location(ast.Return(value=value), s))
            return None
        if isinstance(s, ast.Pass | ast.Raise | ast.Assert):
            out.append(s)
            return None
        raise self.pf.error(ctx().unsupported, f"s2s cannot differentiate this statement ({type(s).__name__})", s)

    def assign(self, s, out):
        value = s.value
        targets = s.targets
        start = len(out)
        items = len(targets) == 1 and isinstance(targets[0], ast.Tuple | ast.List) and isinstance(value, ast.Tuple | ast.List)
        if (len(targets) > 1 or not isinstance(targets[0], ast.Name)) and not items:
            value = self.atom(value, out, "t")
        for target in targets:
            self.assign_to(target, value, out, s)
        if annotations.has(s, annotations.AUGMENTED) and isinstance(targets[0], ast.Name):
            # `x += v` (in place in Python for an array) stays marked on the statement that binds x: not a new object
            for new in out[start:]:
                if isinstance(new, ast.Assign) and any(isinstance(t, ast.Name) and t.id == targets[0].id
                                                       for t in new.targets):
                    annotations.put(new, annotations.AUGMENTED)

    def assign_items(self, target, value, out, loc):
        """`a, b = e1, e2`: every item evaluated first (into a temporary where a target's name is read by a
        later item or is an item itself, as in `a, b = b, a`), then assigned in order, as Python does; where
        no item can see a target assigned (`_parallel`), each item straight into its target."""
        if not self.has_try and _parallel(target, value):
            for t, item in zip(target.elts, value.elts):  # `x, v = x0, 0.0`: two assignments
                self.assign_to(t, item, out, loc)
            return
        pairs = list(_display_pairs(target, value))
        targets = {n.id for t, _ in pairs for n in walk(t) if isinstance(n, ast.Name)}  # (a subscript's base too)
        atoms = []
        for _, item in pairs:
            atom = self.atom(item, out)
            if any(isinstance(n, ast.Name) and n.id in targets for n in walk(atom)):
                name = self.alloc.fresh("t")
                out.append(ast.copy_location(ast.Assign(targets=[store(name)], value=atom), loc))
                atom = load(name)
            atoms.append(atom)
        for (t, _), atom in zip(pairs, atoms):
            self.assign_to(t, ast.copy_location(atom, loc) if hasattr(atom, "lineno") else atom, out, loc)

    def assign_to(self, target, value, out, loc, counted=False):
        """`target = value` as primitive statements; a tuple target is read item by item, its value's count of
        items checked first (`counted`: checked already)."""
        if isinstance(target, ast.Name):
            if isinstance(value, ast.ListComp) and not _reads(value, target.id):
                self.listcomp(value, out, name=target.id)
                return
            simple = self.simple(value, out)
            if isinstance(simple, ast.Name) and simple.id == target.id:
                return
            # `b = b * 2` stays as written: reverse mode handles a target that is also an operand
            out.append(ast.copy_location(ast.Assign(targets=[store(target.id)], value=simple), loc))
            return
        if isinstance(target, ast.Tuple | ast.List):
            stars = [i for i, t in enumerate(target.elts) if isinstance(t, ast.Starred)]
            if not stars and isinstance(value, ast.Tuple | ast.List) and len(value.elts) == len(target.elts) \
                    and not any(isinstance(v, ast.Starred) for v in value.elts):
                self.assign_items(target, value, out, loc)  # `x, v = x0, 0.0`: no tuple made and taken apart
                return
            src = self.atom(value, out, "t")
            if isinstance(src, ast.Name) and any(isinstance(n, ast.Name) and n.id == src.id for n in walk(target)):
                # `x, y = x`: Python takes the items of the value x held before; the items read one by one below
                # would read the second from the first (x = x[0]; y = x[1]): the value gets a name of its own first
                held = self.alloc.fresh(src.id)
                out.append(ast.copy_location(ast.Assign(targets=[store(held)], value=load(src.id)), loc))
                src = load(held)
            if stars:  # `a, *rest, z = xs`: rest is the list of the items between, as Python makes it
                star = stars[0]
                after = len(target.elts) - star - 1
                seq = self.alloc.fresh("seq")
                list_fn = builtin("list")
                out.append(ast.copy_location(ast.Assign(targets=[store(seq)], value=ast.Call(
                    func=list_fn, args=[copy.deepcopy(src)], keywords=[])), loc))
                src = load(seq)
                out.append(_unpack_count_check(src, len(target.elts) - 1, True, loc))
                items = [ast.Subscript(value=load(seq), slice=ast.Constant(i), ctx=ast.Load()) for i in range(star)]
                middle = ast.Subscript(value=load(seq), slice=ast.Slice(lower=ast.Constant(star), upper=ast.Constant(
                    -after) if after else None, step=None), ctx=ast.Load())
                items.append(middle)
                items += [ast.Subscript(value=load(seq), slice=ast.Constant(i - after), ctx=ast.Load())
                          for i in range(after)]
                for t, item in zip(target.elts, items):
                    t = t.value if isinstance(t, ast.Starred) else t
                    self.assign_to(t, ast.copy_location(item, loc), out, loc)
                return
            if not counted:
                out.append(_unpack_count_check(src, len(target.elts), False, loc))
            for i, t in enumerate(target.elts):
                item = ast.Subscript(value=copy.deepcopy(src), slice=ast.Constant(i), ctx=ast.Load())
                if isinstance(t, ast.Name):
                    out.append(ast.copy_location(ast.Assign(targets=[store(t.id)], value=item), loc))
                else:
                    self.assign_to(t, ast.copy_location(item, loc), out, loc)
            return
        if isinstance(target, ast.Subscript):
            if not isinstance(target.value, ast.Name):
                raise self.pf.error(ctx().unsupported, "s2s can assign into x[...] only when x is a plain name",
                                    target, hint="bind the inner part to a name first and assign the row back")
            src = self.atom(value, out, "t")
            index = self.index(target.slice, out)
            new = ast.Subscript(value=load(target.value.id), slice=index, ctx=ast.Store())
            out.append(ast.copy_location(ast.Assign(targets=[new], value=src), loc))
            return
        raise self.pf.error(ctx().unsupported,
                            f"s2s cannot differentiate assignment to {type(target).__name__.lower()}", target,
                            hint="assign to a local name instead")


def _inplace_check(target, value, op, loc) -> ast.stmt:
    """`s2s.inplace_check(target, value, op)`, a statement of its own before `target op value` of the user's
    `target op= value`: Python changes an array target in place, and NumPy raises where the result does not fit it
    (another shape, a dtype it cannot take); specialised code drops it where the shapes show it fits
    (transforms/specialize.py, drop_inplace_checks)."""
    from .desugar import helper_attr
    call = ast.Call(func=helper_attr("s2s", "inplace_check", ctx().runtime.inplace_check),
                    args=[copy.deepcopy(target), copy.deepcopy(value), ast.Constant(op)], keywords=[])
    return fix_locations(ast.copy_location(ast.Expr(value=call), loc))


def _unpack_count_check(items, count, starred, loc) -> ast.stmt:
    """`s2s.unpack_count(items, count, starred)`, a statement of its own: Python's ValueError where the value
    unpacked into `count` targets (at least `count` with a starred one) holds another number of items."""
    from .desugar import helper_attr
    call = ast.Call(func=helper_attr("s2s", "unpack_count", ctx().runtime.unpack_count),
                    args=[copy.deepcopy(items), ast.Constant(count), ast.Constant(starred)], keywords=[])
    return fix_locations(ast.copy_location(ast.Expr(value=call), loc))


_OPAQUE = (ast.Call, ast.Lambda, ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom, ast.ListComp, ast.SetComp,
           ast.DictComp, ast.GeneratorExp, ast.Starred)


def _parallel(target, value) -> bool:
    """`a, b = e1, e2` that two assignments `a = e1; b = e2` do exactly: distinct plain names, as many items,
    no item reading a target name (`a, b = b, a` needs the tuple) and none calling anything (a call could see
    `a` already bound, through a closure)."""
    if not (isinstance(target, ast.Tuple | ast.List) and isinstance(value, ast.Tuple | ast.List)
            and len(target.elts) == len(value.elts) and len(target.elts) > 1
            and all(isinstance(t, ast.Name) for t in target.elts)):
        return False
    names = {t.id for t in target.elts}
    if len(names) != len(target.elts):
        return False
    return not any(isinstance(n, _OPAQUE) or (isinstance(n, ast.Name) and n.id in names)
                   for e in value.elts for n in walk(e))


def _display_pairs(target, value):
    """(target, item) pairs of `(a, b), c = (e1, e2), e3`, at every depth where both sides are displays of one
    length without stars, in Python's order: (a, e1), (b, e2), (c, e3)."""
    if isinstance(target, ast.Tuple | ast.List) and isinstance(value, ast.Tuple | ast.List) \
            and len(target.elts) == len(value.elts) \
            and not any(isinstance(e, ast.Starred) for e in target.elts + value.elts):
        for t, v in zip(target.elts, value.elts):
            yield from _display_pairs(t, v)
    else:
        yield target, value


class _LocalAllocator:
    """Allocates through `alloc` and remembers each new name as a local."""

    def __init__(self, alloc, local_names):
        self._alloc = alloc
        self._locals = local_names

    def fresh(self, base):
        name = self._alloc.fresh(base)
        self._locals.add(name)
        return name


def _reads(e, name):
    return any(isinstance(n, ast.Name) and n.id == name for n in walk(e))


def _assigned(stmts):
    return {n.id for s in stmts for n in walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _changed_in_place(nodes) -> set:
    """The names whose objects `nodes` may change in place: a method's receiver (`q.pop()`), an item or attribute
    stored into, an augmented target."""
    out = set()
    for node in nodes:
        for n in walk(node):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name):
                out.add(n.func.value.id)
            elif isinstance(n, ast.Subscript | ast.Attribute) and isinstance(n.ctx, ast.Store | ast.Del) \
                    and isinstance(n.value, ast.Name):
                out.add(n.value.id)
            elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
                out.add(n.target.id)
    return out


def _rename(tree, mapping):
    for n in walk(tree):
        if isinstance(n, ast.Name) and n.id in mapping:
            n.id = mapping[n.id]
    return tree


def _hint(simple, default):
    import builtins
    if isinstance(simple, ast.Call):
        f = simple.func
        if isinstance(f, ast.Attribute) and f.attr == "dot_method":
            return "dot"  # (`s2s.dot_method(A, x)` of `A.dot(x)`: named as np.dot's result is)
        if isinstance(f, ast.Attribute) and not hasattr(builtins, f.attr):
            return f.attr.strip("_") or default
        if isinstance(f, ast.Name):
            return f"{f.id}_out".lstrip("_")
    return default


def lower(pf, tree: ast.FunctionDef, alloc: NameAllocator, local_names: set[str]) -> ast.FunctionDef:
    """Lower a desugared function to A-normal form (in place)."""
    lw = Lowerer(pf, alloc, set(local_names))
    lw.changed_in_place = _changed_in_place(tree.body)  # (a test read again by the backward sweep after them)
    lw.local_helpers = annotations.get(tree, annotations.LOCAL_HELPERS, {})
    lw.has_try = any(isinstance(n, ast.Try | ast.TryStar) for n in walk(tree))
    tree.body = lw.block(tree.body)
    if not tree.body or not isinstance(tree.body[-1], ast.Return):
        tree.body.append(ast.Return(value=ast.Constant(None)))
    fix_locations(tree)
    return tree
