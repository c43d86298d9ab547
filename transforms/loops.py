"""`for` over anything becomes `for` over `range`, over sequences made explicit.

    for i, (a, b) in enumerate(zip(xs, ys)): ...
becomes
    seq = s2s.as_sequence(xs); seq_ = s2s.as_sequence(ys)
    for k in range(min(len(seq), len(seq_))):
        i, (a, b) = (k + 0, (seq[k], seq_[k])); ...

All the items of what the loop runs over are taken before it runs. An iterator (a generator, `iter(...)`,
`map`, one passed in) would show that where anything else takes its items meanwhile (another name for it,
`next`, a nested loop), where the loop may leave early, or where `zip` takes items of it in turn: so the value
a loop runs over is first checked to be none (`s2s.not_an_iterator(xs, site)`, which raises the error recorded
at the user's line): what else could take items meanwhile cannot be told from the code (NumPy functions take
iterables, your objects' methods run your code). A new iterator made in the loop statement has what it runs over
checked instead.

The desugar pass rewrites every loop of the function with it (`Desugar` is a LoopRewriter), and
lower the loops it writes for list comprehensions: a loop is rewritten by the same code wherever
it comes from, and no pass calls another. A loop over a sequence it updates is refused, and
`s2s.checkpoint(iterable, every=k)` is unwrapped into a node fact on the loop.
"""

from __future__ import annotations

import ast
import copy
import inspect
import itertools

import numpy as np

from . import annotations, refusals
from .context import ctx
from .loop_else import own_breaks
from .names import NameAllocator, assign, builtin, load
from .walk import fix_locations, walk

_CHECKPOINT_REFUSAL = ("s2s cannot differentiate this checkpointed loop: s2s runs it again, segment by segment, "
                       "for the derivative, and it ")
_CHECKPOINT_HINT = ("draw the random numbers before the loop (e.g. `noise = rng.normal(size=(n, ...))`, then "
                    "`noise[t]` in the loop) and pass them in, or leave out s2s.checkpoint")


class LoopRewriter(ast.NodeTransformer):
    """Rewrites every `for` it visits (its body first) into a loop over `range`.

    `local_names`: the function's own names (a local called `range` or `zip` is not the builtin).
    """

    def __init__(self, pf, local_names: set[str], alloc: NameAllocator):
        self.pf = pf
        self.locals = local_names
        self.alloc = alloc
        self.loop_sequences = {}  # id(for loop) -> names of the sequences it will run over
        self.held = {}  # a fresh name a chained loop's part or argument is bound to -> the expression it holds

    def _sequence_names(self, loop):
        """The names `visit_For` will give the sequences `loop` runs over (one per zip argument)."""
        if id(loop) not in self.loop_sequences:
            zipped = self._zipped(loop.iter)
            count = 1 if zipped is None else sum(not self._counted(a) for a in zipped.args)
            self.loop_sequences[id(loop)] = [self.alloc.fresh("seq") for _ in range(count)]
        return list(self.loop_sequences[id(loop)])

    def _builtin_call(self, node, obj) -> bool:
        """Whether `node` is a call of the builtin `obj` (by a name that is not one of the function's own)."""
        return isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in self.locals) \
            and self.pf.resolve_expr(node.func) is obj

    def _zipped(self, it):
        """The `zip(a, b, ...)` call whose sequences the loop over `it` runs over item by item: `it` itself, or
        the argument of `enumerate(zip(a, b, ...))` (of no keyword but `start`); else None."""
        if self._builtin_call(it, enumerate) and it.args and not any(k.arg != "start" for k in it.keywords):
            it = it.args[0]
        return it if self._builtin_call(it, zip) and it.args else None

    def _counted(self, node) -> bool:
        """Whether `node`, an argument of zip, is `range(...)` of one to three positional arguments: its items
        are written as arithmetic of the loop's counter (`start + k * step`), so that a loop written out gets
        them as known ints, not read from a sequence."""
        return self._builtin_call(node, range) and 1 <= len(node.args) <= 3 and not node.keywords \
            and not any(isinstance(a, ast.Starred) for a in node.args)

    def _refuse_update_of_iterated(self, node):
        """`for e in v:` with `v -= 1` or `v[i] = ...` in the body: Python's loop sees the update, s2s's would not."""
        if isinstance(node.iter, ast.Call) and self.pf.resolve_expr(node.iter.func) is range:
            return
        iterated = {n.id for n in walk(node.iter) if isinstance(n, ast.Name)}
        for n in walk(ast.Module(body=node.body, type_ignores=[])):
            base = None
            if isinstance(n, ast.AugAssign):
                base = n.target
            elif isinstance(n, ast.Assign):
                base = next((t for t in n.targets if isinstance(t, ast.Subscript)), None)
            elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and \
                    n.func.attr in ("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "fill"):
                base = n.func.value
            while isinstance(base, ast.Subscript | ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in iterated:
                raise self.pf.error(ctx().unsupported, f"s2s cannot differentiate a loop over `{base.id}` that "
                                    f"updates `{base.id}` in place while it iterates", n,
                                    hint=f"iterate over a copy (`for e in {base.id}.copy():`) or over "
                                         f"`range(len({base.id}))` and index it")

    def _checkpoint_marker(self, node):
        """For `for ... in s2s.checkpoint(iterable, every=k)`: unwrap it and return k ("sqrt" by default)."""
        it = node.iter
        if not (isinstance(it, ast.Call) and getattr(self.pf.resolve_expr(it.func), "__s2s_checkpoint__", False)):
            return None
        every = "sqrt"
        extra = list(it.args[1:]) + [k.value for k in it.keywords]
        if not it.args or len(it.args) + len(it.keywords) > 2 or any(k.arg != "every" for k in it.keywords):
            raise self.pf.error(ctx().unsupported, "s2s.checkpoint takes the loop's iterable and every=", it,
                                hint="write `for t in s2s.checkpoint(range(n))` or `s2s.checkpoint(range(n), every=10)`")
        if extra:
            value = extra[0]
            if not (isinstance(value, ast.Constant) and (value.value is None or (isinstance(value.value, int) and
                                                                                  not isinstance(value.value, bool)
                                                                                  and value.value > 0))):
                raise self.pf.error(ctx().unsupported, "every= of s2s.checkpoint must be a positive int literal",
                                    value, hint="write every=10, or leave it out for a sqrt(n) schedule")
            every = value.value if value.value is not None else "sqrt"
        node.iter = it.args[0]
        self._refuse_effects_in_checkpoint(node)
        return every

    def _refuse_effects_in_checkpoint(self, node):
        """A checkpointed loop runs again, segment by segment, for the derivative: a random draw or a method
        of an object in it would give other values the second time (the derivative of another function)."""
        from . import effects
        found = [e for s in node.body for e in effects.impure_calls(self.pf, s, self.locals)]
        rebound = {n.id for n in walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        checks = {}  # function values called in the loop: s2s reads them when the loop is about to run
        for effect in found:
            func = effect.node.func
            if not (isinstance(func, ast.Name) and func.id not in rebound and
                    effect.reason.startswith("calls the function value")):
                break
            checks.setdefault(func.id, effect.node)
        else:
            self.checkpoint_checks = [self._effect_check(name, call) for name, call in checks.items()]
            return
        raise self.pf.error(ctx().unsupported, f"{_CHECKPOINT_REFUSAL}{effect.reason}, which may give other "
                            "values the second time", effect.node, hint=_CHECKPOINT_HINT)

    def _reversed_range(self, it):
        """`range(b - 1, a - 1, -1)` for `reversed(range(a, b))` (`range(n - 1, -1, -1)` for `reversed(range(n))`):
        the same ints in the same order, a loop over a range the shape inference follows, not over a sequence of
        them. Only where the bounds call nothing but the builtin `len` (their order of evaluation changes)."""
        if not (self._builtin_call(it, reversed) and len(it.args) == 1 and not it.keywords):
            return None
        inner = it.args[0]
        if not (self._builtin_call(inner, range) and 1 <= len(inner.args) <= 2 and not inner.keywords
                and not any(isinstance(a, ast.Starred) for a in inner.args)):
            return None
        for a in inner.args:
            if any(isinstance(n, ast.Call) and not self._builtin_call(n, len) for n in walk(a)) \
                    or any(isinstance(n, ast.NamedExpr | ast.Await | ast.Yield | ast.YieldFrom) for n in walk(a)):
                return None
        start, stop = (ast.Constant(0), inner.args[0]) if len(inner.args) == 1 else inner.args

        def less_one(bound):
            return ast.Constant(bound.value - 1) if isinstance(bound, ast.Constant) and type(bound.value) is int \
                else ast.BinOp(left=copy.deepcopy(bound), op=ast.Sub(), right=ast.Constant(1))

        call = ast.Call(func=copy.deepcopy(inner.func), args=[less_one(stop), less_one(start), ast.Constant(-1)],
                        keywords=[])
        return ast.copy_location(call, it)

    def _checked(self, loop, expr, before, early, reversing=False, bounded=False):
        """`expr`, what `loop` runs over, for `s2s.as_sequence` to take all of its items before the loop runs, with
        the checks (put in `before`) that this gives Python's loop. Taking an iterator's items first (a generator,
        `iter(...)`, `map`, an iterator argument) shows where anything else steps it during the loop (`next`,
        another name for it, a nested loop) or reads it after a loop that left early: so the value of a name, an
        attribute or a call of yours is checked to be no iterator when it runs (`s2s.not_an_iterator`). A new
        iterator made there (`map(int, xs)`, `iter(range(n))`, `np.ndindex(...)`) is held by no one else: what it
        runs over is checked instead. One without an end (`itertools.count()`) is refused, and so is one applying a
        function of yours to items a loop that may leave early (`early`: also `zip`, which stops at the shortest)
        may never reach."""
        if self._never_an_iterator(expr) or self._generator_call(expr):
            return expr
        maker = self._iterator_maker(expr)
        if maker is None or maker[1] != () and any(isinstance(a, ast.Starred) for a in expr.args):
            if not isinstance(expr, ast.Name):
                held = self.alloc.fresh("items")
                before.append(assign(held, expr, like=loop))
                expr = load(held)
            before.append(self._iterator_check(loop, expr))
            return expr
        name, iterables, applied = maker
        if reversing:
            raise self.pf.error(ctx().unsupported, f"reversed() takes a sequence, and {ast.unparse(expr)} is an "
                                "iterator: Python raises TypeError here", expr,
                                hint=f"reverse a list of its items: `reversed(list({ast.unparse(expr)}))`")
        if name in _ENDLESS and not (name == "repeat" and len(expr.args) + len(expr.keywords) > 1) and not bounded:
            raise self.pf.error(ctx().unsupported, f"s2s takes all the items of what a loop runs over before the "
                                f"loop runs, and {ast.unparse(expr)} has no end", expr,
                                hint="loop over a `range(...)` and compute each item in the loop")
        function = next((a for k, a in enumerate(expr.args) if k in applied),
                        next((k.value for k in expr.keywords if k.arg == "func"), None))
        if early and function is not None and not _known_builtin(self._resolved(function)):
            raise self.pf.error(ctx().unsupported, f"s2s takes all the items of {ast.unparse(expr)} before the loop "
                                f"runs, and the loop may stop before Python's would have called "
                                f"{ast.unparse(function)} on them all", expr,
                                hint="loop over what it runs over and call the function in the loop's body")
        args = []
        for k, a in enumerate(expr.args):
            if (k not in applied) if iterables == "all" else (k in iterables):
                a = self._checked(loop, a, before, early, bounded=name == "islice" and _stops(expr))
            elif any(isinstance(n, ast.Call | ast.NamedExpr) for n in walk(a)):  # (kept in Python's order)
                held = self.alloc.fresh("arg")
                before.append(assign(held, a, like=loop))
                a = load(held)
            args.append(a)
        return ast.copy_location(ast.Call(func=expr.func, args=args, keywords=expr.keywords), expr)

    def _chained_loops(self, loop):
        """A loop over `itertools.chain(a, b, ...)` as a loop over each in turn, what it chains evaluated first
        (`part = a; part2 = b; for v in part: ...; for v in part2: ...`), and one over `itertools.chain(*parts)` or
        `itertools.chain.from_iterable(parts)` as a loop over each of parts (`for part in parts: for v in part:
        ...`): the same trips in the same order, each over a sequence s2s reads as it reads any. A `break` of the
        loop sets a flag the loops after it test (`stopped = True; break`). None for another loop (one with an
        `else` is refused before), or where an ownership guard in the body reads the loop's sequence."""
        it = loop.iter
        if not isinstance(it, ast.Call) or it.keywords or loop.orelse or self.loop_sequences.get(id(loop)):
            return None
        func = self._resolved(it.func)
        from_iterable = getattr(func, "__self__", None) is itertools.chain and getattr(func, "__name__", "") == \
            "from_iterable"  # (a bound method: made anew at each access)
        nested = from_iterable and len(it.args) == 1 or func is itertools.chain \
            and len(it.args) == 1 and isinstance(it.args[0], ast.Starred)
        if not nested and (func is not itertools.chain or not it.args
                           or any(isinstance(a, ast.Starred) for a in it.args)):
            return None
        breaks = _own_breaks(loop.body)
        stopped = self.alloc.fresh("stopped") if breaks else None
        out = [assign(stopped, ast.Constant(False), like=loop)] if stopped else []

        def body():
            """A copy of the loop's body whose own breaks set the flag first."""
            copied = copy.deepcopy(loop.body)
            if breaks:
                _flag_breaks(copied, stopped)
            return copied

        def unless_stopped(stmts):
            if not breaks:
                return stmts
            test = ast.UnaryOp(op=ast.Not(), operand=load(stopped))
            return [ast.copy_location(ast.If(test=test, body=stmts, orelse=[]), loop)]

        if nested:
            parts = it.args[0].value if isinstance(it.args[0], ast.Starred) else it.args[0]
            part = self.alloc.fresh("part")
            inner = ast.copy_location(ast.For(target=copy.deepcopy(loop.target), iter=load(part), body=body(),
                                              orelse=[]), loop)
            outer_body = [inner] + ([ast.copy_location(ast.If(test=load(stopped), body=[ast.Break()], orelse=[]),
                                                       loop)] if breaks else [])
            out.append(ast.copy_location(ast.For(target=ast.Name(id=part, ctx=ast.Store()), iter=parts,
                                                 body=outer_body, orelse=[]), loop))
        else:
            # (each part evaluated before the first loop, as chain's call evaluates them; a new iterator made
            # there, `zip(a, b)`, is left in its loop's statement, where its own checks are made, with what it is
            # made of evaluated before the first loop too)
            parts = []
            for a in it.args:
                if self._iterator_maker(a) is None:
                    name = self.alloc.fresh("part")
                    out.append(assign(name, a, like=loop))
                    a = load(name)
                else:
                    a = self._arguments_first(a, out, loop)
                parts.append(a)
            for k, part in enumerate(parts):
                step = ast.copy_location(ast.For(target=copy.deepcopy(loop.target), iter=part, body=body(),
                                                 orelse=[]), loop)
                out.extend([step] if k == 0 else unless_stopped([step]))
        return out

    def _arguments_first(self, call, out, loop):
        """`call` with each argument but a literal (and those of an iterator made in one, in Python's order) bound
        to a fresh name by statements appended to `out`: evaluated where the call's statement is."""
        def held(value):
            if isinstance(value, ast.Call) and self._iterator_maker(value) is not None:
                return self._arguments_first(value, out, loop)
            if isinstance(value, ast.Constant):
                return value
            name = self.alloc.fresh("arg")
            out.append(assign(name, value, like=loop))
            self.held[name] = value
            return load(name)

        args = [ast.copy_location(ast.Starred(value=held(a.value), ctx=ast.Load()), a) if isinstance(a, ast.Starred)
                else held(a) for a in call.args]
        keywords = [ast.keyword(arg=k.arg, value=held(k.value)) for k in call.keywords]
        return ast.copy_location(ast.Call(func=call.func, args=args, keywords=keywords), call)

    def _generator_call(self, expr) -> bool:
        """Whether `expr` calls a generator function of yours: transforms/generators.py differentiates the loop over
        it where its values are consumed at once and completely, and refuses it elsewhere."""
        return isinstance(expr, ast.Call) and inspect.isgeneratorfunction(self._resolved(expr.func))

    def _resolved(self, func):
        """The object the dotted name `func` reads where it is no local's (a method of a local value: None); of a
        name a chained loop's argument is bound to, what that argument reads."""
        if isinstance(func, ast.Name) and func.id in self.held:
            return self._resolved(self.held[func.id])
        known = annotations.resolved(func)
        if known is not None:
            return known
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name) or root.id in self.locals:
            return None
        obj = self.pf.resolve_expr(func)
        return None if obj is ctx().missing else obj

    def _iterator_maker(self, expr):
        """(name, positions of the iterables it runs over or "all", positions of the function it applies) of a
        call making a new iterator (`map(f, xs)`, `iter(xs)`, `itertools.islice(xs, 3)`, `np.ndindex(3, 4)`),
        else None."""
        if not isinstance(expr, ast.Call):
            return None
        func = self._resolved(expr.func)
        for maker, spec in _ITERATOR_MAKERS:
            if func is maker:
                if maker is iter and len(expr.args) != 1:
                    return None  # (iter(callable, sentinel))
                return spec
        return None

    def _never_an_iterator(self, expr) -> bool:
        """Whether `expr` is certainly not an iterator: a display or comprehension, arithmetic, a slice
        (`x[:-1]`), a call of list, tuple, sorted, dict, set or range, of a NumPy function that makes arrays, of
        s2s's `mapping_keys`, or of itertools' combinatoric makers (a new iterator of items made from inputs it
        read whole when made: no one else holds it, and taking all its items shows nothing)."""
        if isinstance(expr, ast.List | ast.Tuple | ast.Set | ast.Dict | ast.ListComp | ast.SetComp | ast.DictComp
                      | ast.Constant | ast.JoinedStr | ast.BinOp | ast.UnaryOp) \
                or isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Slice):
            return True
        if not isinstance(expr, ast.Call):
            return False
        func = self._resolved(expr.func)
        if getattr(func, "__module__", None) == "numpy" and getattr(func, "__name__", None) not in _NUMPY_ITERATORS:
            return True
        return any(func is f for f in _NEVER_ITERATORS) or func is getattr(ctx().runtime, "mapping_keys", None)

    def _iterator_check(self, loop, items):
        """`s2s.not_an_iterator(items, site)`: before the loop runs, refused where `items` is an iterator."""
        text = ast.unparse(loop.iter)
        err = self.pf.error(ctx().unsupported, f"s2s cannot differentiate this loop over `{text}`, here a {{kind}}, "
                            "which gives its items once (an iterator): s2s takes all of them before the loop runs, "
                            "where Python takes one per trip (another name for it, `next(...)` or a `break` would "
                            "see the difference)", loop.iter,
                            hint=f"make a list of the items before the loop (`items = list({ast.unparse(items)})`, "
                                 "then `for ... in items:`) and read from that list what the code takes from the "
                                 "iterator")
        site = {k: getattr(err, k) for k in ("message", "filename", "lineno", "col", "line", "hint")}
        check = _call_helper("s2s", "not_an_iterator", ctx().runtime.not_an_iterator,
                             [copy.deepcopy(items), refusals.site(self.pf, self.alloc, site)])
        return ast.copy_location(ast.Expr(check), loop)

    def _effect_check(self, name, call):
        """`s2s.effect_free(site, name)`: before the loop runs, the function value `name` is read, and
        refused at `call` if it draws random numbers or changes objects."""
        err = self.pf.error(ctx().unsupported, f"{_CHECKPOINT_REFUSAL}calls the function value {name}, which "
                            "{why}, which may give other values the second time", call, hint=_CHECKPOINT_HINT)
        site = {k: getattr(err, k) for k in ("message", "filename", "lineno", "col", "line", "hint")}
        check = _call_helper("s2s", "effect_free", ctx().runtime.effect_free,
                             [refusals.site(self.pf, self.alloc, site), load(name)])
        return ast.copy_location(ast.Expr(check), call)

    def visit_For(self, node):
        self._refuse_update_of_iterated(node)
        self.checkpoint_checks = []
        every = self._checkpoint_marker(node)
        if every is not None:
            checks = self.checkpoint_checks
            out = self.visit_For(node)
            loops = [s for s in (out if isinstance(out, list) else [out]) if isinstance(s, ast.For)]
            annotations.put(loops[-1], annotations.CHECKPOINT_EVERY, every)
            return checks + (out if isinstance(out, list) else [out])
        self.generic_visit(node)
        chained = self._chained_loops(node)
        if chained is not None:
            out = []
            for s in chained:  # (a loop of a later part in `if not stopped:`: visited through the `if`)
                visited = self.visit(s) if isinstance(s, ast.For | ast.If) else s
                out.extend(visited if isinstance(visited, list) else [visited])
            return out
        it = node.iter
        if isinstance(it, ast.Call) and self.pf.resolve_expr(it.func) is range and it.func.id not in self.locals:
            return node
        backwards = self._reversed_range(it)
        if backwards is not None:
            node.iter = backwards
            return node
        before, index_name = [], self.alloc.fresh("k")
        bind = []  # statements at the top of the body that bind the loop target

        reserved = self.loop_sequences.get(id(node), [])  # names the ownership guards in the body already use

        early = _leaves_early(node)

        def seq(expr, zipped=False, reversing=False):
            """`seq = s2s.as_sequence(expr)`, after the checks that taking all the items first gives Python's loop."""
            expr = self._checked(node, expr, before, early or zipped, reversing)
            name = reserved.pop(0) if reserved else self.alloc.fresh("seq")
            before.append(assign(name, _call_helper("s2s", "as_sequence", ctx().runtime.as_sequence, [expr]),
                                 like=node))
            return name

        def length(name):
            return _call_builtin("len", [load(name)])

        def item(name):
            return ast.Subscript(value=load(name), slice=load(index_name), ctx=ast.Load())

        def counted(call):
            """The item at the counter and the length of `range(...)` zipped with sequences: `start + k * step`
            and `len(range(start, stop, step))`, its arguments evaluated once, before the loop."""
            args = []
            for a, role in zip(call.args, ("start", "stop", "step") if len(call.args) > 1 else ("stop",)):
                if not (isinstance(a, ast.Constant) and type(a.value) is int):
                    name = self.alloc.fresh(role)
                    before.append(assign(name, a, like=node))
                    a = load(name)
                args.append(a)
            value = load(index_name)
            if len(args) == 3:
                value = ast.BinOp(left=value, op=ast.Mult(), right=copy.deepcopy(args[2]))
            if len(args) > 1:
                value = ast.BinOp(left=copy.deepcopy(args[0]), op=ast.Add(), right=value)
            bound = _call_builtin("len", [_call_builtin("range", [copy.deepcopy(a) for a in args])])
            return value, bound

        def items(a, zipped=False):
            """The item at the counter and the length of a sequence `a` the loop runs over beside others, or of
            `reversed(y)`: y's items from its end, `y[len(y) - 1 - k]` (`zip(x, reversed(y))`,
            `enumerate(reversed(y))`)."""
            if self._builtin_call(a, reversed) and len(a.args) == 1 and not a.keywords:
                s = seq(a.args[0], zipped=zipped, reversing=True)
                back = ast.BinOp(left=ast.BinOp(left=length(s), op=ast.Sub(), right=ast.Constant(1)),
                                 op=ast.Sub(), right=load(index_name))
                return ast.Subscript(value=load(s), slice=back, ctx=ast.Load()), length(s)
            s = seq(a, zipped=zipped)
            return item(s), length(s)

        def zipped(call):
            """The loop target's value at the counter (a tuple of the items) and the number of trips of a loop
            over `call`, zip(a, b, ...): the shortest length (a range's items are counted, not read)."""
            strict = [k for k in call.keywords if not (k.arg == "strict" and isinstance(k.value, ast.Constant)
                                                       and k.value.value is False)]
            if strict or any(isinstance(a, ast.Starred) for a in call.args):
                raise self.pf.error(ctx().unsupported, "s2s understands zip(a, b, ...) of its arguments alone: "
                                    "s2s's loop runs to the shortest sequence, and zip(..., strict=True) raises "
                                    "where the lengths differ", call,
                                    hint="check the lengths before the loop (`if len(a) != len(b): raise "
                                         "ValueError(...)`) and write zip(a, b)")
            values, lengths = [], []
            for a in call.args:
                value, bound = counted(a) if self._counted(a) else items(a, zipped=True)
                values.append(value)
                lengths.append(bound)
            bound = _call_builtin("min", lengths) if len(lengths) > 1 else lengths[0] if lengths else ast.Constant(0)
            return ast.Tuple(elts=values, ctx=ast.Load()), bound

        fn = self.pf.resolve_expr(it.func) if isinstance(it, ast.Call) else None
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id in self.locals:
            fn = None
        if fn is enumerate:
            if len(it.args) + len(it.keywords) > 2 or any(k.arg != "start" for k in it.keywords) or not it.args:
                raise self.pf.error(ctx().unsupported, "s2s understands enumerate(sequence) and "
                                    "enumerate(sequence, start)", it, hint="write enumerate(seq, start=k)")
            if self._zipped(it) is not None:  # enumerate(zip(a, b)): over a and b themselves
                value, bound = zipped(it.args[0])
            else:
                value, bound = items(it.args[0])
            start = it.args[1] if len(it.args) > 1 else next((k.value for k in it.keywords), ast.Constant(0))
            if not (isinstance(start, ast.Constant) and type(start.value) is int):
                # (evaluated once, as enumerate's call does, and an int: `range(start)` raises Python's TypeError
                # for a float, as enumerate does)
                name = self.alloc.fresh("start")
                before.append(assign(name, start, like=node))
                before.append(ast.copy_location(ast.Expr(_call_builtin("range", [load(name)])), node))
                start = load(name)
            counter = ast.BinOp(left=load(index_name), op=ast.Add(), right=start)
            bind.append(ast.Assign(targets=[node.target], value=ast.Tuple(elts=[counter, value], ctx=ast.Load())))
            bounds = [bound]
        elif fn is zip:
            value, bound = zipped(it)
            bind.append(ast.Assign(targets=[node.target], value=value))
            bounds = [bound]
        elif fn is reversed:
            s = seq(it.args[0], reversing=True)
            bind.append(ast.Assign(targets=[node.target], value=item(s)))
            bounds = [ast.BinOp(left=length(s), op=ast.Sub(), right=ast.Constant(1)),
                      ast.Constant(-1), ast.Constant(-1)]
        else:
            s = seq(it)
            bind.append(ast.Assign(targets=[node.target], value=item(s)))
            bounds = [length(s)]
        for b in bind:
            ast.copy_location(b, node)
        loop = ast.For(target=ast.Name(id=index_name, ctx=ast.Store()),
                       iter=_call_builtin("range", bounds), body=bind + node.body, orelse=[])
        ast.copy_location(loop, node)
        fix_locations(loop)
        return before + [loop]


def _stops(islice) -> bool:
    """Whether `itertools.islice(...)` is given a stop (`islice(it, 3)`, `islice(it, 1, 9)`), not None."""
    args = islice.args
    stop = args[1] if len(args) == 2 else args[2] if len(args) >= 3 else None
    return stop is not None and not (isinstance(stop, ast.Constant) and stop.value is None) \
        and not any(isinstance(a, ast.Starred) for a in args) and not islice.keywords


def _own_breaks(stmts) -> bool:
    """Whether `stmts` hold a `break` of the loop they are the body of (not one of a loop inside them)."""
    return any(True for _ in own_breaks(stmts))


def _flag_breaks(stmts, flag) -> None:
    """Put `flag = True` before each `break` of the loop `stmts` are the body of, in place."""
    k = 0
    while k < len(stmts):
        s = stmts[k]
        if isinstance(s, ast.Break):
            stmts.insert(k, ast.copy_location(ast.Assign(targets=[ast.Name(id=flag, ctx=ast.Store())],
                                                         value=ast.Constant(True)), s))
            k += 2
            continue
        if not isinstance(s, ast.For | ast.While | ast.AsyncFor | ast.FunctionDef | ast.AsyncFunctionDef |
                          ast.ClassDef):
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(s, field, None)
                if isinstance(inner, list):
                    for item in inner:
                        if isinstance(item, ast.ExceptHandler):
                            _flag_breaks(item.body, flag)
                    if inner and isinstance(inner[0], ast.stmt):
                        _flag_breaks(inner, flag)
            for case in getattr(s, "cases", ()):
                _flag_breaks(case.body, flag)
        k += 1


def _leaves_early(loop) -> bool:
    """Whether `loop`'s body has a `break` of its own or a `return`."""
    return any(isinstance(n, ast.Break | ast.Return) for stmt in loop.body for n in _own_nodes(stmt))


def _known_builtin(func) -> bool:
    """Whether `func` is a function of Python or NumPy written in C (`int`, `abs`, `np.sqrt`): no effect, and
    nothing of yours that calling it on more items could run."""
    return isinstance(func, type) and func.__module__ == "builtins" or isinstance(func, np.ufunc) \
        or type(func).__name__ == "builtin_function_or_method" and getattr(func, "__module__", None) in ("builtins", "math")


def _own_nodes(stmt):
    """The nodes of `stmt` but those of the loops, functions and classes in it (a `break` there is their own;
    a `return` in a nested loop still leaves the loop around it); of a loop, its returns alone."""
    if isinstance(stmt, ast.For | ast.While | ast.AsyncFor):
        yield from (r for r in walk(stmt) if isinstance(r, ast.Return))
        return
    stack = [stmt]
    while stack:
        n = stack.pop()
        yield n
        for child in ast.iter_child_nodes(n):
            if isinstance(child, ast.For | ast.While | ast.AsyncFor):
                stack.extend(r for r in walk(child) if isinstance(r, ast.Return))
            elif not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
                stack.append(child)


_ITERATOR_MAKERS = (  # (maker, (name, positions of the iterables it runs over or "all", of the function it applies))
    (map, ("map", "all", (0,))), (filter, ("filter", (1,), (0,))), (iter, ("iter", (0,), ())),
    (enumerate, ("enumerate", (0,), ())), (zip, ("zip", "all", ())), (reversed, ("reversed", (0,), ())),
    (itertools.islice, ("islice", (0,), ())), (itertools.chain, ("chain", "all", ())),
    (itertools.accumulate, ("accumulate", (0,), (1,))), (itertools.starmap, ("starmap", (1,), (0,))),
    (itertools.compress, ("compress", "all", ())), (itertools.takewhile, ("takewhile", (1,), (0,))),
    (itertools.dropwhile, ("dropwhile", (1,), (0,))), (itertools.filterfalse, ("filterfalse", (1,), (0,))),
    (itertools.zip_longest, ("zip_longest", "all", ())), (itertools.pairwise, ("pairwise", (0,), ())),
    (np.ndindex, ("ndindex", (), ())), (np.ndenumerate, ("ndenumerate", (), ())),
    (itertools.count, ("count", (), ())), (itertools.cycle, ("cycle", (0,), ())),
    (itertools.repeat, ("repeat", (), ())),
)
_ENDLESS = ("count", "cycle", "repeat")
_NEVER_ITERATORS = (list, tuple, sorted, dict, set, range, itertools.product, itertools.combinations,
                    itertools.combinations_with_replacement, itertools.permutations)
_NUMPY_ITERATORS = ("nditer", "ndenumerate", "ndindex", "nested_iters", "broadcast", "flatiter")


def rewrite_loops(pf, stmts: list[ast.stmt], local_names: set[str], alloc: NameAllocator) -> list[ast.stmt]:
    """`stmts` with every loop in them over `range` (for the loops `lower` writes for comprehensions):
    `[v * 2 for v in xs]`, which lower writes `items = []; for v in xs: items.append(v * 2)`, gets
    `seq = s2s.as_sequence(xs); for k in range(len(seq)): v = seq[k]; items.append(v * 2)`."""
    rewriter = LoopRewriter(pf, local_names, alloc)
    out = []
    for s in stmts:
        r = rewriter.visit(s)
        out.extend(r if isinstance(r, list) else [r])
    return out


def _call_builtin(name, args):
    return ast.Call(func=builtin(name), args=args, keywords=[])


def _call_helper(module, attr, obj, args):
    base = load(module)
    setattr(base, annotations.HELPER, True)
    node = ast.Attribute(value=base, attr=attr, ctx=ast.Load())
    annotations.put(node, annotations.RESOLVED, obj)
    return ast.Call(func=node, args=args, keywords=[])
