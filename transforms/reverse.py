"""Reverse mode: generate adjoint code for a lowered function.

The forward sweep is the user's lowered statements, plus a push onto
`stack` of every overwritten value the backward sweep reads. The backward
sweep visits the statements in reverse; at each one every name holds the
value it had right after that statement ran, because the sweep restores
overwritten values (`y = stack.pop()`) as it passes their assignments.
Branch decisions are ordinary recorded names; `while` trip counts are
counted; `for` loops over a fixed range are replayed with
`reversed(range(...))` and no tape.
"""

from __future__ import annotations

import ast
import copy

import numpy as np

from . import analysis, annotations, raw_calls, refusals, templates
from .analysis import (
    atom_names,
    has_star,
    is_append,
    is_callable_object,
    is_dynamic_call,
    is_user_function,
    op_name,
    resolve_call,
)
from .context import ctx, missing
from .names import NameAllocator, builtin, expr, load, mark_builtins, store
from .sequences import Sequences
from .walk import fix_locations, walk

ZERO = ast.Constant(0.0)


def _assign(target, value, like=None):
    node = ast.Assign(targets=[store(target) if isinstance(target, str) else target], value=value)
    return ast.copy_location(node, like) if like is not None else node


def _src_comment(pf, s):
    line = getattr(s, "lineno", None)
    if line is None or not (0 < line <= len(pf.lines)):
        return None
    return pf.lines[line - 1].strip()


_POP_HINT = ("use forward mode (`s2s.jacfwd(f)` gives the gradient, `s2s.jvp`, and `s2s.hessian(f, wrt=i)` of one "
             "argument goes forward over forward), or index the list instead of popping")


class Comment(ast.stmt):
    """A `# ...` line in generated code (rendered by s2s.codegen)."""

    _fields = ("text",)


class Reverse:
    """Builds the forward and backward sweeps of one lowered function."""

    def __init__(self, pf, tree, wrt, alloc: NameAllocator, helpers: dict, link, scalar_params=(), plain_params=(),
                 facts=None):
        self.pf = pf
        self.tree = tree
        self.wrt = wrt
        self.alloc = alloc
        self.helpers = helpers  # template name -> name in generated code
        self.link = link  # (function, wrt positions) -> helper name of its vjp
        # the pipeline's `analysis` step hands its facts in (s2s/pipeline.py); alone, the pass runs it itself
        self.facts = facts if facts is not None else analysis.analyze(pf, tree, wrt, scalar_params)
        self.active = self.facts.active
        # `+` / `*` that may concatenate or repeat lists; names whose adjoints may then be lists
        self.sequences = Sequences(pf, tree, self.facts, plain_params)
        self.facts.containers |= self.sequences.containers
        self.read_by_items = _read_by_items(pf, tree)
        self.bar = {}
        self.stack = None
        self.needed = None  # None on the first run: record every overwritten name
        self.reads = set()
        self.pullbacks = {}  # id(call statement) -> (pullback name, vjp helper name, new call)
        self.pullback_args = {}  # id(call statement) -> [(parameter position, argument atom)]
        self.counters = set()
        self.temp_names = set()  # temporaries of the backward sweep (g, parts, grads)
        self.param_names = analysis.param_names(tree)
        self.first_defs = self.first_definitions()
        self.pushed = set()  # names the forward sweep pushes (they may need a None start value)
        self.no_tape = False  # True while writing a checkpointed loop's forward sweep, which records nothing

    # -- names --------------------------------------------------------------
    def adj(self, name: str) -> str:
        if name not in self.bar:
            self.bar[name] = self.alloc.fresh(f"{name}_bar")
        return self.bar[name]

    def temp(self, base):
        name = self.alloc.fresh(base)
        self.temp_names.add(name)
        return name

    def stack_name(self):
        if self.stack is None:
            self.stack = self.alloc.fresh("stack")
        return self.stack

    def first_definitions(self):
        """Top-level assignments that give a name its first value (nothing to save there)."""
        seen = set(self.param_names)
        first = set()
        for s in self.tree.body:
            if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name) and s.targets[0].id not in seen:
                first.add(id(s))
            for n in walk(s):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    seen.add(n.id)
        return first

    def records_at(self, name, s, in_loop):
        """Whether the assignment statement `s` must save the old value of `name`."""
        if id(s) in self.first_defs:
            return False
        return self.records(name, in_loop)

    def saves_target(self, loop, in_loop) -> bool:
        """Whether the forward sweep saves the variable of the `for` loop before it binds it: where the name is bound
        again (another binding, or this loop's next run inside an enclosing loop) and read after the loop, the
        backward sweep of what follows the loop needs the value the loop left, not the one its reversed replay or
        a later trip leaves."""
        name = loop.target.id
        if not self.records(name, True):
            return False
        if self.facts.assign_count.get(name, 0) > 1:
            return True
        if not in_loop:
            return False
        inside = {id(n) for n in walk(loop)}
        return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) and id(n) not in inside
                   for n in walk(self.tree))

    def records(self, name: str, in_loop: bool) -> bool:
        """Whether an assignment to `name` must save the old value for the backward sweep."""
        if self.no_tape or name in self.counters:
            return False
        if self.needed is not None and name not in self.needed:
            return False
        return in_loop or self.facts.assign_count.get(name, 0) > 1

    # -- templates ----------------------------------------------------------
    def instantiate(self, template, mapping):
        return templates.instantiate(template, mapping, self.helpers)

    def note_reads(self, node):
        """Record the forward values an emitted backward expression reads."""
        for n in walk(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                self.reads.add(n.id)

    # -- entry --------------------------------------------------------------
    def run(self):
        """Return (forward statements, backward statements, output atom)."""
        body, ret = self.tree.body[:-1], self.tree.body[-1]
        out_atom = ret.value
        snapshot = set(self.alloc.taken)
        # the lists appended to: the backward sweep undoes each append with a pop, so a pop of your own of one
        # (even of a list no derivative reads) leaves those pops one item short (IndexError), or out of step
        self.appended = {n.value.func.value.id for n in walk(self.tree)
                         if isinstance(n, ast.Expr) and is_append(n.value)}
        # (the backward trip loops count with `_` unless the function has a name `_` of its own, which they would
        # overwrite)
        self.underscore_taken = any(isinstance(n, ast.Name) and n.id == "_" for n in walk(self.tree))
        for attempt in range(2):  # the second run knows which names the backward sweep reads
            self.alloc.taken = snapshot | set(self.bar.values()) | self.counters | {
                pb for pb, _, _ in self.pullbacks.values()} | ({self.stack} if self.stack else set())
            self.reads = set()
            self.zero = set(self.active)
            # adjoints that may be the zero adjoint 0.0 at run time, not certainly (materialized before a branch or
            # loop, reset in a loop's trip): a contribution of one is guarded (`g * 0.5 / v` of v = 0 is NaN there)
            self.maybe = set()
            self.g_maybe = False  # whether the adjoint the contributions being written read is one of those
            seed = None
            out_names = atom_names(out_atom) if isinstance(out_atom, ast.Name) else []
            if out_names and out_names[0] in self.active:
                seed = out_names[0]
                self.zero.discard(seed)
            backward = self.bwd_block(body, in_loop=False)
            if attempt == 0:
                # the forward sweep must record by the same `needed` as the final backward sweep pops by
                # (a superset of what it reads: a second run only drops restores, which read nothing)
                self.needed = set(self.reads)
            self.zero_at_end = set(self.zero)
        forward = self.fwd_block(body, in_loop=False)
        return forward, backward, out_atom, seed

    # -- forward sweep ------------------------------------------------------
    def fwd_block(self, stmts, in_loop):
        out = []
        for s in stmts:
            out.extend(self.fwd(s, in_loop))
        return out

    def push(self, name, like):
        self.pushed.add(name)
        return ast.copy_location(ast.Expr(value=ast.Call(
            func=ast.Attribute(value=load(self.stack_name()), attr="append", ctx=ast.Load()),
            args=[load(name)], keywords=[])), like)

    def pop(self, name, like=None):
        node = _assign(name, ast.Call(func=ast.Attribute(value=load(self.stack_name()), attr="pop", ctx=ast.Load()),
                                      args=[], keywords=[]))
        return ast.copy_location(node, like) if like is not None else node

    def fwd(self, s, in_loop):
        if isinstance(s, ast.Assign):
            t = s.targets[0]
            name = t.id if isinstance(t, ast.Name) else t.value.id
            pre = [self.push(name, s)] if self.records_at(name, s, in_loop) else []
            if isinstance(t, ast.Subscript):
                value = ast.Call(func=load(self.helpers["s2s"]), args=[], keywords=[])
                value.func = ast.Attribute(value=load(self.helpers["s2s"]), attr="setitem", ctx=ast.Load())
                value.args = [load(name), _index_expr(t.slice), self.kept_length(name, t.slice, s.value)]
                return pre + [_assign(name, value, s)]
            if id(s) in self.pullbacks:
                pb, helper, call = self.pullbacks[id(s)]
                pre += [self.push(pb, s)] if self.records_at(pb, s, in_loop) else []
                tup = ast.Tuple(elts=[store(name), store(pb)], ctx=ast.Store())
                return pre + [ast.copy_location(ast.Assign(targets=[tup], value=call), s)]
            checked = raw_calls.copied_arguments(self.pf, s, self.helpers["s2s"])
            return pre + [checked if checked is not s else checked_plain_call(self.pf, s, self.helpers["s2s"])]
        if isinstance(s, ast.Expr) and is_append(s.value):
            return [s]
        if isinstance(s, ast.If):
            s2 = ast.If(test=s.test, body=self.fwd_block(s.body, in_loop) or [ast.Pass()],
                        orelse=self.fwd_block(s.orelse, in_loop))
            return [ast.copy_location(s2, s)]
        if isinstance(s, ast.For):
            pre = [self.push(s.target.id, s)] if self.saves_target(s, in_loop) else []
            if annotations.has(s, annotations.CHECKPOINT_CARRIED) and not in_loop:
                return pre + self.checkpointed_forward(s)
            loop = ast.For(target=s.target, iter=s.iter, body=self.fwd_block(s.body, True) or [ast.Pass()], orelse=[])
            return pre + [ast.copy_location(loop, s)]
        if isinstance(s, ast.While):
            counter = annotations.get(s, annotations.TRIP_COUNTER)
            if self.needed is not None and counter not in self.needed:
                body = self.fwd_block(s.body, True) + self.fwd_block(annotations.get(s, annotations.LOOP_TEST), True)
                return [ast.copy_location(ast.While(test=s.test, body=body or [ast.Pass()], orelse=[]), s)]
            body = [_assign(counter, ast.BinOp(left=load(counter), op=ast.Add(), right=ast.Constant(1)), s)]
            body += self.fwd_block(s.body, True) + self.fwd_block(annotations.get(s, annotations.LOOP_TEST), True)
            out = [_assign(counter, ast.Constant(0), s), ast.copy_location(
                ast.While(test=s.test, body=body, orelse=[]), s)]
            if in_loop and not self.no_tape:
                out.append(self.push(counter, s))
            return out
        return [raw_calls.copied_arguments(self.pf, s, self.helpers["s2s"])]  # (`assert apply(double, w) > 0`)

    # -- backward sweep -----------------------------------------------------
    def bwd_block(self, stmts, in_loop):
        out = []
        last_line = None
        for s in reversed(stmts):
            code = self.bwd(s, in_loop)
            if code and isinstance(code[0], Comment):
                if code[0].lineno == last_line:
                    code = code[1:]
                else:
                    last_line = code[0].lineno
            out.extend(code)
        return out

    def trips(self, stmts, reset_each_trip, write=None):
        """The backward sweep of a loop's body, written where the adjoints that may be the zero adjoint at the start
        of a trip are known: those that may be at the loop's start, and those a trip leaves zero or maybe zero (reset
        there, or `reset_each_trip`) for the next. Each try writes the body afresh (the set only grows, within the
        names the body touches, so the tries end)."""
        write = write or (lambda: self.bwd_block(stmts, True))
        touched = self.touched(stmts)
        zero, head = set(self.zero), set(self.maybe)
        while True:
            self.zero, self.maybe = set(zero), set(head)
            body = write()
            more = (self.maybe | self.zero | reset_each_trip) & (touched | reset_each_trip)
            if more <= head:
                break
            head |= more
        self.maybe |= head  # (after the loop: its start's state, or a trip's end)
        return body

    def touched(self, stmts):
        names = set()
        for target, inputs, _ in analysis.edges(self.pf, stmts):
            if target in self.active:
                names.add(target)
                names.update(i for i in inputs if i in self.active)
        return names

    def materialize(self, stmts):
        """Zero-initialise adjoints a compound statement may touch."""
        out = []
        for name in sorted(self.touched(stmts) & self.zero):
            out.append(_assign(self.adj(name), ast.Constant(0.0)))
            self.zero.discard(name)
            self.maybe.add(name)
        return out

    def accumulate(self, name, contribution, like):
        """`name_bar += contribution`, written as plain assignment when it is known to be zero; with s2s.add
        where the adjoints may be lists: `name` may hold a list (a container, or not proven an array or a
        number: a parameter given a list has list adjoints from `L[0]`, `max(L)`, `zip(L, L)`)."""
        bar = self.adj(name)
        self.note_reads(contribution)
        if name in self.zero:
            self.zero.discard(name)
            (self.maybe.add if self.g_maybe else self.maybe.discard)(name)
            return [_assign(bar, contribution, like)]
        if not self.g_maybe:
            self.maybe.discard(name)
        if name in self.facts.containers or name not in self.sequences.plain and name in self.read_by_items:
            value = ast.Call(func=ast.Attribute(value=load(self.helpers["s2s"]), attr="add", ctx=ast.Load()),
                             args=[load(bar), contribution], keywords=[])
        else:
            value = ast.BinOp(left=load(bar), op=ast.Add(), right=contribution)
        return [_assign(bar, value, like)]

    def reset(self, name, like):
        self.maybe.discard(name)
        if name in self.zero:
            return []
        self.zero.add(name)
        return [_assign(self.adj(name), ast.Constant(0.0), like)]

    def kept_length(self, name, index, v):
        """The value written by `name[index] = v`, checked by s2s.slice_kept where `name` may be a list: the
        backward sweep (bwd_setitem) reads the list after the write, whose adjoint splits into the old list's
        and v's only where a slice of it was replaced by as many items (a plain index always is)."""
        if name not in self.active or name in self.sequences.plain or _int_literal(index) \
                or isinstance(index, ast.Tuple):  # (a list takes neither a tuple nor, replacing one item, a check)
            return v
        return ast.Call(func=ast.Attribute(value=load(self.helpers["s2s"]), attr="slice_kept", ctx=ast.Load()),
                        args=[load(name), _index_expr(index), v], keywords=[])

    def bwd(self, s, in_loop):
        comment = _src_comment(self.pf, s)
        out = self._bwd(s, in_loop)
        if out and comment and not isinstance(s, ast.If | ast.For | ast.While):
            note = Comment(comment)
            note.lineno = s.lineno
            out.insert(0, note)
        return out

    def _bwd(self, s, in_loop):
        if isinstance(s, ast.Assign):
            t = s.targets[0]
            if isinstance(t, ast.Subscript):
                return self.bwd_setitem(s, in_loop)
            return self.bwd_assign(t.id, s.value, s, in_loop)
        analysis.check_discarded_call(self.pf, s)
        if isinstance(s, ast.Expr) and _list_pop(s.value) in self.active | self.appended:
            # (the backward sweep would need the popped item's adjoint back in the list at its place)
            raise self._pop_error(s.value)
        if isinstance(s, ast.Expr) and is_append(s.value):
            name = s.value.func.value.id
            out = []
            if name in self.active and name not in self.zero:
                v = s.value.args[0]
                gv = self.temp("g")
                out.append(_assign(ast.Tuple(elts=[store(self.adj(name)), store(gv)], ctx=ast.Store()),
                                   expr(f"{self.helpers['s2s']}.append_grads({self.adj(name)})"), s))
                for n in atom_names(v):
                    if n in self.active:
                        out += self.accumulate(n, load(gv), s)
            self.reads.add(name)
            out.append(ast.copy_location(ast.Expr(value=ast.Call(
                func=ast.Attribute(value=load(name), attr="pop", ctx=ast.Load()), args=[], keywords=[])), s))
            return out
        if isinstance(s, ast.If):
            pre = self.materialize(s.body + s.orelse)
            zero, maybe = set(self.zero), set(self.maybe)
            body = self.bwd_block(s.body, in_loop)
            z1, self.zero = self.zero, set(zero)
            m1, self.maybe = self.maybe, set(maybe)
            orelse = self.bwd_block(s.orelse, in_loop)
            self.maybe = m1 | self.maybe | (z1 ^ self.zero)  # (zero on one path only: 0.0 there)
            self.zero = z1 & self.zero
            self.reads.update(atom_names(s.test))
            if not body and not orelse:
                return pre
            node = ast.If(test=s.test, body=body or [ast.Pass()], orelse=orelse)
            return pre + [ast.copy_location(node, s)]
        if isinstance(s, ast.For):
            pre = self.materialize(s.body)
            counter_zero = s.target.id in self.zero
            reset_counter = s.target.id in self.active and not (counter_zero and s.target.id not in
                                                                 self.touched(s.body))
            body = self.trips(s.body, {s.target.id} if reset_counter else set())
            if reset_counter:
                # (each trip binds the counter: what flowed into its adjoint stops there, never reaching a
                # value the name held before the loop, `i = a * b; for i in range(3): ...; return s * i`)
                body.append(_assign(self.adj(s.target.id), ast.Constant(0.0), s))
            self.zero -= self.touched(s.body)
            post = []
            if self.saves_target(s, in_loop):
                post = [self.pop(s.target.id, s)]
            if not body:
                return pre + post
            self.reads.update(atom_names(s.iter.args))
            if annotations.get(s, annotations.CHECKPOINT_EVERY) is not None:
                return pre + self.checkpointed_backward(s, body, in_loop) + post
            rev = ast.Call(func=builtin("reversed"), args=[s.iter], keywords=[])
            node = ast.For(target=s.target, iter=rev, body=body, orelse=[])
            return pre + [ast.copy_location(node, s)] + post
        if isinstance(s, ast.While):
            if annotations.get(s, annotations.CHECKPOINT_EVERY) is not None:
                raise self.pf.error(ctx().unsupported, "s2s.checkpoint needs a loop that runs to its end: this "
                                    "one has break or return, or changes its own bounds", s,
                                    hint="move the early exit out of the checkpointed loop, or drop s2s.checkpoint")
            if not annotations.has(s, annotations.TRIP_COUNTER):
                annotations.put(s, annotations.TRIP_COUNTER, self.alloc.fresh("trips"))
                self.counters.add(annotations.get(s, annotations.TRIP_COUNTER))
            pre = self.materialize(s.body + annotations.get(s, annotations.LOOP_TEST))
            body = self.trips(s.body + annotations.get(s, annotations.LOOP_TEST), set(),
                              lambda: self.bwd_block(annotations.get(s, annotations.LOOP_TEST), True)
                              + self.bwd_block(s.body, True))
            self.zero -= self.touched(s.body + annotations.get(s, annotations.LOOP_TEST))
            if not body:
                # the forward sweep pushes the trip count by `needed`; every push needs its pop
                pushed = in_loop and (self.needed is None or annotations.get(s, annotations.TRIP_COUNTER) in self.needed)
                return pre + ([self.pop(annotations.get(s, annotations.TRIP_COUNTER), s)] if pushed else [])
            self.reads.add(annotations.get(s, annotations.TRIP_COUNTER))
            out = pre + ([self.pop(annotations.get(s, annotations.TRIP_COUNTER), s)] if in_loop else [])
            trips = ast.Call(func=builtin("range"), args=[load(annotations.get(s, annotations.TRIP_COUNTER))], keywords=[])
            counter = self.temp("trip") if self.underscore_taken else "_"
            loop = ast.For(target=store(counter), iter=trips, body=body, orelse=[])
            return out + [ast.copy_location(loop, s)]
        return []

    # -- checkpointing ------------------------------------------------------
    def checkpoint_names(self, s):
        """Names of a checkpointed loop's range, segment length, snapshot list and segment start."""
        if not annotations.has(s, annotations.CHECKPOINT_NAMES):
            annotations.put(s, annotations.CHECKPOINT_NAMES, {k: self.alloc.fresh(k) for k in ("steps", "segment", "snapshots", "start")})
            self.counters.update(annotations.get(s, annotations.CHECKPOINT_NAMES).values())
        return annotations.get(s, annotations.CHECKPOINT_NAMES)

    def carried(self, s):
        """The variables a loop body assigns (its state), the loop variable excepted, and the lists it updates."""
        stored, lists = set(), set()
        for n in walk(ast.Module(body=s.body, type_ignores=[])):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                stored.add(n.id)
            elif isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Subscript):
                stored.add(n.targets[0].value.id)  # y[i] = v rebinds y to an updated copy in the sweeps
            elif isinstance(n, ast.Call) and (is_append(n) or analysis.is_pop(n)):
                lists.add(n.func.value.id)
        stored.discard(s.target.id)
        return sorted(stored | lists), lists

    def segment(self, s, names):
        """`steps[start:start + segment]`: the iterations of one segment."""
        stop = ast.BinOp(left=load(names["start"]), op=ast.Add(), right=load(names["segment"]))
        return ast.Subscript(value=load(names["steps"]), slice=ast.Slice(lower=load(names["start"]), upper=stop),
                             ctx=ast.Load())

    def checkpointed_backward(self, s, body, in_loop):
        """Backward sweep of a checkpointed loop: per segment, last first, restore, re-record, reverse."""
        if in_loop:
            raise self.pf.error(ctx().unsupported, "s2s.checkpoint marks an outermost loop only: this loop is "
                                "inside another loop", s, hint="put s2s.checkpoint on the outer loop")
        names = self.checkpoint_names(s)
        carried, lists = self.carried(s)
        self.pushed.update(carried)  # defined before the loop (None if not yet), so the first snapshot can take them
        rerun = self.fwd_block(s.body, True)
        for stmt in rerun:
            self.note_reads(stmt)
        annotations.put(s, annotations.CHECKPOINT_CARRIED, (carried, lists))
        pop = ast.Call(func=ast.Attribute(value=load(names["snapshots"]), attr="pop", ctx=ast.Load()), args=[],
                       keywords=[])
        restore = ast.Assign(targets=[ast.Tuple(elts=[store(n) for n in carried], ctx=ast.Store())], value=pop) \
            if carried else ast.Expr(value=pop)
        forward = ast.For(target=s.target, iter=self.segment(s, names), body=rerun or [ast.Pass()], orelse=[])
        backward = ast.For(target=s.target, iter=ast.Call(func=builtin("reversed"), args=[self.segment(s, names)],
                                                           keywords=[]), body=body, orelse=[])
        starts = mark_builtins(expr(f"reversed(range(0, len({names['steps']}), {names['segment']}))"))
        outer = ast.For(target=store(names["start"]), iter=starts, body=[restore, forward, backward], orelse=[])
        self.reads.update(names.values())
        return [ast.copy_location(fix_locations(outer), s)]

    def checkpointed_forward(self, s):
        """Forward sweep of a checkpointed loop: no tape, a snapshot of the loop's state every segment."""
        names = self.checkpoint_names(s)
        carried, lists = annotations.get(s, annotations.CHECKPOINT_CARRIED)
        self.no_tape = True
        plain = self.fwd_block(s.body, True)
        self.no_tape = False
        saved = [mark_builtins(expr(f"None if {n} is None else list({n})")) if n in lists else load(n) for n in carried]
        snapshot = ast.Expr(value=ast.Call(
            func=ast.Attribute(value=load(names["snapshots"]), attr="append", ctx=ast.Load()),
            args=[ast.Tuple(elts=saved, ctx=ast.Load())], keywords=[]))
        every = annotations.get(s, annotations.CHECKPOINT_EVERY)
        seg = ast.Constant(every) if isinstance(every, int) else \
            mark_builtins(expr(f"max(1, {self.helpers['math']}.isqrt(len({names['steps']})))"))
        inner = ast.For(target=s.target, iter=self.segment(s, names), body=plain or [ast.Pass()], orelse=[])
        outer = ast.For(target=store(names["start"]),
                        iter=mark_builtins(expr(f"range(0, len({names['steps']}), {names['segment']})")),
                        body=[snapshot, inner], orelse=[])
        out = [_assign(names["steps"], s.iter, s), _assign(names["segment"], seg, s),
               _assign(names["snapshots"], ast.List(elts=[], ctx=ast.Load()), s), outer]
        return [ast.copy_location(fix_locations(n), s) for n in out]

    def _pop_error(self, call):
        """The error for `L.pop(...)` of a list, or `d.pop(key)` of a dict, that carries derivatives."""
        name = call.func.value.id
        if not _popped_from_a_dict(self.pf.tree, call):
            return self.pf.error(ctx().unsupported, "s2s differentiates list.pop() in forward mode only", call,
                                 hint=_POP_HINT)
        key = ast.unparse(call.args[0]) if call.args else "key"
        return self.pf.error(ctx().unsupported, "s2s does not differentiate dict.pop() (nor `del` of a dict's item)",
                             call, hint=f"read the item and make the dict again without it: `v = {name}[{key}]; "
                                        f"{name} = {{k_: v_ for k_, v_ in {name}.items() if k_ != {key}}}` (other names "
                                        "bound to the old dict do not see the change)")

    def restore(self, name, s, in_loop):
        return [self.pop(name, s)] if self.records_at(name, s, in_loop) else []

    def bwd_assign(self, y, value, s, in_loop):
        # (a popped list that carries derivatives: its adjoint would need the item's place back, used or not)
        popped = _list_pop(value)
        if popped is not None and popped in self.active:
            raise self._pop_error(value)
        if popped is not None and (popped in self.appended or y in self.active):
            # a worklist of values no derivative reads (`i = stack.pop()`, `queue.pop(0)`, `stack.append(i + 1)`): the
            # item goes back where the forward sweep took it, so the pops that undo the appends stay in step; a
            # name that held a value of a derivative before has none from here (its adjoint ends, as for a constant)
            put_back = _put_back(value, y) if popped in self.appended else None
            if popped in self.appended and put_back is None:
                raise self.pf.error(ctx().unsupported, "s2s differentiates list.pop(i) of a list the function also "
                                    "appends to in forward mode only where i is not an int written in the code",
                                    value, hint=_POP_HINT)
            if put_back is not None:
                self.reads.update((popped, y))
            return ([ast.copy_location(put_back, s)] if put_back is not None else []) \
                + (self.reset(y, s) if y in self.active else []) + self.restore_pullback(s, in_loop) \
                + self.restore(y, s, in_loop)
        if y not in self.active or y in self.zero:
            return self.restore_pullback(s, in_loop) + self.restore(y, s, in_loop)
        operands = analysis.diff_inputs(self.pf, value)
        out = []
        g = load(self.adj(y))
        ans = load(y)
        before, self.g_maybe = self.g_maybe, y in self.maybe
        try:
            return self._assign_adjoint(y, value, s, in_loop, operands, out, g, ans)
        finally:
            self.g_maybe = before

    def _assign_adjoint(self, y, value, s, in_loop, operands, out, g, ans):
        if y in operands:
            gname = self.temp("g")
            out.append(_assign(gname, load(self.adj(y)), s))
            g = load(gname)
            self.zero.discard(y)
            out += self.reset(y, s)
            if isinstance(value, ast.Call) and (via_dispatcher(self.pf, value) or
                                                is_user_function(resolve_call(self.pf, value))):
                # the callee's pullback holds what it needs: no old value of y is read
                out += self.contributions(value, g, ans, s)
                return out + self.restore_pullback(s, in_loop) + self.restore(y, s, in_loop)
            aname = self.temp(f"{y}_new")
            out.append(_assign(aname, load(y), s))
            self.reads.add(y)  # (the value y holds after this statement: the tape must give it back on each trip)
            ans = load(aname)
            out += self.restore(y, s, in_loop)
            out += self.contributions(value, g, ans, s)
            return out
        out += self.contributions(value, g, ans, s)
        out += self.reset(y, s)
        out += self.restore_pullback(s, in_loop)
        out += self.restore(y, s, in_loop)
        return out

    def restore_pullback(self, s, in_loop):
        """Pop the callee's pullback that the forward sweep pushed with this call."""
        if id(s) not in self.pullbacks:
            return []
        pb = self.pullbacks[id(s)][0]
        return [self.pop(pb, s)] if self.records_at(pb, s, in_loop) else []

    def bwd_setitem(self, s, in_loop):
        t = s.targets[0]
        y = t.value.id
        out = []
        if y in self.active and y not in self.zero:
            gv = self.temp("g")
            index = _index_expr(t.slice)
            out.append(_assign(ast.Tuple(elts=[store(self.adj(y)), store(gv)], ctx=ast.Store()),
                               ast.Call(func=ast.Attribute(value=load(self.helpers["s2s"]), attr="setitem_grads",
                                                           ctx=ast.Load()),
                                        args=[load(self.adj(y)), load(y), index], keywords=[]), s))
            self.reads.update(atom_names(index))
            self.reads.add(y)
            # (an item of a list or dict stored and never read has the zero adjoint; an array's item, its array's)
            before = self.g_maybe
            self.g_maybe = y in self.maybe or y in self.facts.containers or y not in self.sequences.plain
            for n in atom_names(s.value):
                if n in self.active:
                    contrib = self.instantiate(expr("unbroadcast(g, v)"), {"g": load(gv), "v": s.value})
                    out += self.accumulate(n, contrib, s)
            self.g_maybe = before
        out += self.restore(y, s, in_loop)
        return out

    def plan_call(self, call, s):
        """Arrange for the forward sweep to call the callee's vjp and keep its pullback."""
        if id(s) in self.pullbacks:
            return self.pullbacks[id(s)]
        func, arguments = analysis.bind_user_call(self.pf, call)
        wrt_params = [(pos, a) for pos, _, a in arguments if any(n in self.active for n in atom_names(a))]
        helper = self.link(func, tuple(p for p, _ in wrt_params), call)
        pb = self.alloc.fresh(f"{func.__name__}_pullback")
        new_call = ast.Call(func=load(helper), args=call.args, keywords=call.keywords)
        self.pullbacks[id(s)] = (pb, helper, new_call)
        self.pullback_args[id(s)] = wrt_params
        return self.pullbacks[id(s)]

    def is_scalar(self, atom) -> bool:
        """The atom is certainly a scalar (shape ())."""
        return analysis._is_scalar_atom(atom, self.facts.scalars)

    def strip_unbroadcast(self, node, operand):
        """`unbroadcast(e, operand)` -> `e` where the shapes are known to agree."""
        helper = self.helpers["unbroadcast"]

        class Strip(ast.NodeTransformer):
            def visit_Call(inner, call):  # noqa: N805
                inner.generic_visit(call)
                if isinstance(call.func, ast.Name) and call.func.id == helper and len(call.args) == 2 \
                        and isinstance(call.args[1], ast.Name) and isinstance(operand, ast.Name) \
                        and call.args[1].id == operand.id:
                    return call.args[0]
                return call

        return Strip().visit(node)

    def contributions(self, value, g, ans, s):
        out = []
        if isinstance(value, ast.Name):
            if value.id in self.active:
                out += self.accumulate(value.id, g, s)
            return out
        if isinstance(value, ast.BinOp | ast.UnaryOp):
            rule = ctx().lookup(self.sequences.op_key(value) or op_name(value.op))
            args = [value.left, value.right] if isinstance(value, ast.BinOp) else [value.operand]
            return self.apply_rule(rule, args, {}, g, ans, s, value)
        if isinstance(value, ast.Subscript):
            x = value.value
            if isinstance(x, ast.Name) and x.id in self.active:
                contrib = ast.Call(func=ast.Attribute(value=load(self.helpers["s2s"]), attr="getitem_grad",
                                                      ctx=ast.Load()),
                                   args=[g, x, _index_expr(value.slice)], keywords=[])
                self.reads.update(atom_names(x))
                self.reads.update(atom_names(_index_expr(value.slice)))
                out += self.accumulate(x.id, contrib, s)
            return out
        if isinstance(value, ast.Tuple | ast.List | ast.Dict):
            items = list(enumerate(value.elts)) if not isinstance(value, ast.Dict) else list(zip(value.keys, value.values))
            self.g_maybe = True  # (an item nothing read has the zero adjoint in its container's)
            for key, v in items:
                if isinstance(v, ast.Name) and v.id in self.active:
                    k = ast.Constant(key) if isinstance(key, int) else key
                    part = ast.Call(func=ast.Attribute(value=load(self.helpers["s2s"]), attr="part", ctx=ast.Load()),
                                    args=[g, k], keywords=[])
                    self.reads.update(atom_names(k))
                    out += self.accumulate(v.id, part, s)
            return out
        if isinstance(value, ast.Attribute):
            if not self.active.intersection(atom_names(value)):
                return out  # (`np.pi`, `math.inf`, `cfg.rate` of no active name: a constant, `E = np.pi` before a loop)
            raise self.pf.error(ctx().no_rule, f"s2s has no derivative for the attribute .{value.attr}", value)
        if isinstance(value, ast.Call) and via_dispatcher(self.pf, value):
            return self.dynamic_contributions(value, g, s)
        if isinstance(value, ast.Call):
            func = resolve_call(self.pf, value)
            if func is getattr(ctx().runtime, "local_function", None):
                return local_function_contributions(self.pf, value, g, self.active, self.helpers["s2s"],
                                                    lambda n, c: self.accumulate(n, c, s), self.reads)
            refuse_dispatch_again(self.pf, value, func)
            refuse_active_partial(self.pf, value, func, self.active)
            if func is missing():
                raise self.pf.error(ctx().no_rule, f"s2s cannot tell what {ast.unparse(value.func)} is",
                                    value, hint="make sure the name is defined before differentiating")
            rule = ctx().lookup(func)
            if rule is not None:
                kws = {k.arg: k.value for k in value.keywords}
                return self.apply_rule(rule, value.args, kws, g, ans, s, value)
            if is_user_function(func):
                return self.call_contributions(value, g, s)
            message, hint = ctx().no_rule_text(func, value)
            raise self.pf.error(ctx().no_rule, message, value, hint=hint)
        return out

    def maybe_zero_call(self, pb, g, count):
        """`pb(g)`, the pullback of a call; `(0.0, ...) if s2s.is_zero(g) else pb(g)` where g may be the zero adjoint
        (`g_maybe`): the callee's own backward sweep takes its seed for an adjoint, never for the zero one."""
        call = ast.Call(func=load(pb), args=[g], keywords=[])
        if not self.g_maybe:
            return call
        zeros = ast.Tuple(elts=[ast.Constant(0.0) for _ in range(count)], ctx=ast.Load())
        return ast.IfExp(test=self.zero_test(g), body=zeros, orelse=call)

    def zero_test(self, g):
        """`s2s.is_zero(g)`: whether the adjoint `g` is the zero adjoint 0.0 at run time."""
        return ast.Call(func=ast.Attribute(value=load(self.helpers["s2s"]), attr="is_zero", ctx=ast.Load()),
                        args=[copy.deepcopy(g)], keywords=[])

    def call_contributions(self, call, g, s):
        pb, helper, _ = self.plan_call(call, s)
        wrt_params = self.pullback_args[id(s)]
        out = []
        self.reads.add(pb)
        if not wrt_params:
            return out
        grads = self.temp("grads")
        out.append(_assign(grads, self.maybe_zero_call(pb, g, len(wrt_params)), s))
        self.g_maybe = True  # (an argument the callee's result does not depend on has the zero adjoint)
        for i, (_, a) in enumerate(wrt_params):
            item = ast.Subscript(value=load(grads), slice=ast.Constant(i), ctx=ast.Load())
            if isinstance(a, ast.Tuple | ast.Dict):  # the arguments a `*args` or `**kwargs` parameter collects
                pairs = enumerate(a.elts) if isinstance(a, ast.Tuple) else zip((k.value for k in a.keys), a.values)
                for key, x in pairs:
                    if isinstance(x, ast.Name) and x.id in self.active:
                        part = ast.Call(func=ast.Attribute(value=load(self.helpers["s2s"]), attr="part",
                                                           ctx=ast.Load()), args=[item, ast.Constant(key)], keywords=[])
                        out += self.accumulate(x.id, part, s)
                continue
            for n in atom_names(a):
                if n in self.active:
                    out += self.accumulate(n, item, s)
        return out

    def dynamic_contributions(self, call, g, s):
        """A call whose callee is known at run time only, or that unpacks `*xs` / `**d`: the forward sweep
        calls s2s.call_vjp (s2s.call_star_vjp), which differentiates the callee it is given."""
        closure = active_closure_call(call, self.active)
        if not closure:
            refuse_active_callee(self.pf, call, self.active)
        plan = dynamic_plan(self.pf, call, self.active, self.helpers["s2s"], "vjp")
        if closure:
            plan = closure_plan(self.pf, call, plan, self.helpers["s2s"])
        if plan is None:
            return []
        new_call, actives = plan
        if id(s) not in self.pullbacks:
            pb = self.alloc.fresh("call_pullback")
            self.pullbacks[id(s)] = (pb, None, new_call)
        pb = self.pullbacks[id(s)][0]
        self.reads.add(pb)
        grads = self.temp("grads")
        out = [_assign(grads, self.maybe_zero_call(pb, g, len(actives)), s)]
        for i, a in enumerate(actives):
            item = ast.Subscript(value=load(grads), slice=ast.Constant(i), ctx=ast.Load())
            out += self.accumulate(a.id, item, s)
        return out

    def guard_zero(self, rule, p, g, contribution, parts=None):
        """`0.0 if s2s.is_zero(g) else contribution` where the rule's template would fail on the zero
        adjoint (rules.Rule.zero_guard): `g` may be that Python 0.0 at run time (a list item nothing
        read, a value read in only some trips of a loop), standing for zeros of any shape. For the
        adjoints of `parts` arguments (`*args`, read by position) the zero is a list of that many 0.0.
        Also for an adjoint that may be infinite (`templates.may_be_infinite`, or the rule's function has a pole:
        `templates.has_a_pole`) where `g` may be the zero adjoint here
        (`g_maybe`): the value the statement made was not used on that path, and its partial may be infinite
        there (`g * 0.5 / v` of v = np.sqrt(0.0)), 0.0 times which is NaN."""
        if not (rule.zero_guard(p) or self.g_maybe and (templates.may_be_infinite(contribution)
                                                         or templates.has_a_pole(rule.name))):
            return contribution
        zero = ast.Constant(0.0) if parts is None else ast.List(elts=[ast.Constant(0.0)] * parts, ctx=ast.Load())
        return ast.IfExp(test=self.zero_test(g), body=zero, orelse=contribution)

    def apply_rule(self, rule, args, kws, g, ans, s, node):
        if rule.nondiff:
            return []
        try:
            bound = rule.bind(args, kws)
        except TypeError as exc:
            raise self.pf.error(ctx().unsupported, f"s2s cannot match this call to its rule: {exc}", node,
                                hint=getattr(exc, "hint", None)) from None
        rule = rule.at_site(bound)  # a simpler exact template where the arguments allow it
        mapping = {"g": g, "ans": ans}
        for p in rule.params:
            if p in bound:
                mapping[p] = bound[p]
            else:
                mapping[p] = ast.Constant(rule.defaults.get(p))
        if rule.varargs:
            mapping[rule.varargs] = ast.List(elts=list(bound.get(rule.varargs, [])), ctx=ast.Load())
        out = []
        for p, template in rule.vjp.items():
            a = bound.get(p)
            if a is None:
                continue
            if p == rule.varargs:
                active = [(i, x) for i, x in enumerate(a) if any(n in self.active for n in atom_names(x))]
                fixed = getattr(rule, "nondiff_positions", ())
                for i, x in active:
                    if i in fixed:  # as JAX: the rule gives it no cotangent, so the derivative through it would be lost
                        raise self.pf.error(ctx().unsupported, f"s2s cannot differentiate this call of {rule.name}: "
                                            f"its argument {i} is in nondiff_argnums, but it depends on the "
                                            f"input being differentiated (through {ast.unparse(x)})", node,
                                            hint="pass a value that does not depend on the input there, wrap it in "
                                                 "s2s.stop_gradient(...) if its derivative should be ignored, or "
                                                 "take that argument out of nondiff_argnums and give it a "
                                                 "cotangent in bwd")
                if not active:
                    continue
                # (`active` in a template: the positions of the arguments differentiated through, whose parts
                # the helper computes alone: np.einsum's adjoint of an operand that is data is never read)
                if "active" not in mapping:  # (a parameter of that name keeps its own meaning)
                    mapping["active"] = ast.Tuple(elts=[ast.Constant(i) for i, _ in active], ctx=ast.Load())
                parts = self.temp("parts")
                parts_value = self.guard_zero(rule, p, g, self.instantiate(template, mapping), parts=len(a))
                self.note_reads(parts_value)
                out.append(_assign(parts, parts_value, s))
                for i, x in active:
                    out += self.accumulate(x.id, ast.Subscript(value=load(parts), slice=ast.Constant(i),
                                                               ctx=ast.Load()), s)
                continue
            if not (isinstance(a, ast.Name) and a.id in self.active):
                continue
            contribution = self.guard_zero(rule, p, g, self.instantiate(template, mapping))
            mark_extreme_masks(rule, contribution)
            if rule.elementwise:
                others = [x for q, x in bound.items() if q != p]
                target_scalar = isinstance(ans, ast.Name) and ans.id in self.facts.scalars
                same = [x for x in others if not (isinstance(x, ast.Name) and x.id == a.id)]
                if all(self.is_scalar(x) for x in same) or (self.is_scalar(a) and target_scalar):
                    contribution = self.strip_unbroadcast(contribution, a)
            if isinstance(contribution, ast.IfExp) and self.g_maybe and not rule.zero_guard(p):
                # (the guard of an adjoint that may be infinite, bound to a name of its own: the shapes know such a
                # name as 0.0 or an array of one shape, which `s2s.add(a_bar, ...)` of the guard itself hid)
                part = self.temp(f"{a.id}_part")
                self.note_reads(contribution)
                out.append(_assign(part, contribution, s))
                contribution = load(part)
            out += self.accumulate(a.id, contribution, s)
        active_params = [p for p, a in bound.items() if any(n in self.active for n in atom_names(a))]
        for p in active_params:
            if p not in rule.vjp and not (p in rule.jvp and rule.jvp[p] is None):  # None: declared constant
                raise self.pf.error(ctx().no_rule,
                                    f"s2s has no derivative of {rule.name} with respect to its argument {p!r}", node,
                                    hint="wrap that argument in s2s.stop_gradient(...) if it should not be "
                                         "differentiated")
        return out


_EXTREMES = {"np.maximum": np.maximum, "np.minimum": np.minimum}


def mark_extreme_masks(rule, contribution) -> None:
    """Record on each `s2s.balanced_eq(x, ans, c)` of np.maximum's (np.minimum's) adjoint which of the two made
    ans: where the adjoint runs, x and ans hold that statement's values (annotations.EXTREME_OF)."""
    op = _EXTREMES.get(rule.name)
    if op is None:
        return
    for node in walk(contribution):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "balanced_eq" \
                and len(node.args) == 3:
            annotations.put(node, annotations.EXTREME_OF, op)


# methods of arrays with no NumPy function of the name, and what to write instead
_METHOD_INSTEAD = {"tolist": "iterate over the array itself (`for v in {x}`), or use `list({x})`",
                   "item": "index it (`{x}[0]`, `{x}[()]` of a 0-d array)", "fill": "use `{x} = np.full_like({x}, value)`",
                   "get": "index the dict, with a test where the key may be missing: `{x}[key] if key in {x} else "
                          "default` (s2s differentiates both)"}


def _receiver_as_written(pf, call) -> str:
    """The object of the method call `call` as the user's line writes it (`params['l1']` for the temporary `t4`
    lowering made of it), where the call kept its place; else its code."""
    lines = getattr(pf, "lines", None)
    line, end = getattr(call, "lineno", None), getattr(call, "end_lineno", None)
    if lines and line is not None and line == end and 0 < line <= len(lines):
        shift = getattr(pf, "col_shift", 0)  # (the user's lines as written; the code parsed dedented)
        try:
            written = ast.parse(lines[line - 1][call.col_offset + shift:call.end_col_offset + shift], mode="eval").body
        except SyntaxError:  # (a place that is not the call's own)
            written = None
        if isinstance(written, ast.Call) and isinstance(written.func, ast.Attribute) \
                and written.func.attr == call.func.attr:
            return ast.unparse(written.func.value)
    return ast.unparse(call.func.value)


def _method_hint(call, x=None) -> str:
    """The hint for an unknown method `x.f(...)` of a differentiated value: the NumPy function of the name where
    NumPy has one, what to write instead for a few that have none (`.tolist()`, a dict's `.get`), else a rule of
    your own."""
    import numpy as np

    name, x = call.func.attr, x or ast.unparse(call.func.value)
    if name in _METHOD_INSTEAD:
        return _METHOD_INSTEAD[name].format(x=x)
    if callable(getattr(np, name, None)):
        return f"call the NumPy function instead (`np.{name}({x}, ...)` rather than `{x}.{name}(...)`), or register " \
               "a rule for the function with s2s.defvjp"
    if x.startswith(("super_out", "super(")):  # (`super().f(...)`, lowered: `super_out = super(__class__, self)`)
        return f"call the base class's method through the class, `BaseClass.{name}(self, ...)`, which s2s reads like " \
               "any function of yours"
    if hasattr(np.ndarray, name):  # (an array's method, most likely)
        return f"rewrite `{x}.{name}(...)` with NumPy functions, or wrap the code in a function with a rule of " \
               "your own (s2s.defvjp)"
    return f"call it through its class if it is a method of yours (`YourClass.{name}({x}, ...)`, which s2s reads " \
           f"like any function of yours), or rewrite `{x}.{name}(...)` with NumPy functions, or wrap the code in a " \
           "function with a rule of your own (s2s.defvjp)"


def refuse_active_callee(pf, call, active):
    """A function value that depends on a differentiated input (a closure over it, a partial of it): s2s
    would miss the derivative through the values it holds, so it refuses."""
    names = [n for n in atom_names(call.func) if n in active] if is_dynamic_call(call) else []
    if names:
        what = ast.unparse(call.func)
        method = isinstance(call.func, ast.Attribute)
        if method:
            receiver = _receiver_as_written(pf, call)
            raise pf.error(ctx().unsupported, f"s2s does not know the method .{call.func.attr}() here: it is called "
                           f"on `{receiver}`, which depends on the differentiated input", call,
                           hint=_method_hint(call, receiver))
        raise pf.error(ctx().unsupported, f"s2s cannot differentiate a call through `{what}`: the function it holds "
                       f"depends on the differentiated input (through `{names[0]}`), and s2s does not differentiate "
                       "through the values a function value holds", call,
                       hint="pass those values to the function as arguments instead of capturing them "
                            "(def f(w, x) rather than a closure or functools.partial over w)")


def active_closure_call(call, active) -> bool:
    """`g(...)` where the local name `g` holds a function value that depends on the differentiated input (a
    closure over such a value): differentiated through s2s.call_closure_vjp, reverse mode only."""
    return (is_dynamic_call(call) and isinstance(call.func, ast.Name) and call.func.id in active
            and not annotations.is_global(call.func) and not has_star(call))


def closure_plan(pf, call, plan, s2s_name):
    """dynamic_plan's (call, actives) for a call through an active closure: s2s.call_closure_vjp, whose
    pullback returns the closure's adjoint (a FunctionAdjoint) after the arguments' gradients."""
    if plan is None:
        new, actives = ast.Call(func=None, args=[call.func, call_site(pf, call),
                                                 ast.Tuple(elts=[], ctx=ast.Load())] + list(call.args),
                                keywords=list(call.keywords)), []
    else:
        new, actives = plan
    new = ast.Call(func=ast.Attribute(value=load(s2s_name), attr="call_closure_vjp", ctx=ast.Load()),
                   args=new.args, keywords=new.keywords)
    return ast.copy_location(new, call), actives + [call.func]


def closure_jvp_plan(pf, call, plan, s2s_name, f_tangent):
    """dynamic_plan's forward-mode call for a call through an active closure: s2s.call_closure_jvp, given the
    closure's tangent (a FunctionAdjoint) after the arguments' tangents."""
    if plan is None:
        args = [call.func, call_site(pf, call), ast.Tuple(elts=[], ctx=ast.Load()),
                ast.Tuple(elts=[], ctx=ast.Load())] + list(call.args)
        keywords = list(call.keywords)
    else:
        args, keywords = list(plan[0].args), plan[0].keywords
    args = args[:4] + [f_tangent] + args[4:]
    new = ast.Call(func=ast.Attribute(value=load(s2s_name), attr="call_closure_jvp", ctx=ast.Load()),
                   args=args, keywords=keywords)
    return ast.copy_location(new, call), []


def local_function_tangent(value, tangent_of, s2s_name):
    """The tangent of `s2s.local_function(g_code, values)`: a FunctionAdjoint of the values' tangents, by the
    free names of `g_code` (the record, read when the code runs)."""
    held = value.args[1]
    if isinstance(held, ast.Tuple):
        t = ast.Tuple(elts=[tangent_of(e) or ast.Constant(0.0) for e in held.elts], ctx=ast.Load())
    else:
        t = tangent_of(held) or ast.Constant(0.0)
    return ast.Call(func=ast.Attribute(value=load(s2s_name), attr="function_tangent", ctx=ast.Load()),
                    args=[t, copy.deepcopy(value.args[0])], keywords=[])


def refuse_active_partial(pf, call, func, active):
    """functools.partial(f, w) with w depending on the differentiated input: the partial object's adjoint is
    not defined (only closures a local def or lambda makes carry FunctionAdjoints), so it is refused."""
    import functools
    values = list(call.args[1:]) + [k.value for k in call.keywords]
    names = [n for v in values for n in atom_names(v) if n in active]
    if func is functools.partial and names:
        raise pf.error(ctx().unsupported, f"s2s cannot differentiate through `{ast.unparse(call)}`: the partial "
                       f"holds `{names[0]}`, which depends on the differentiated input, and s2s differentiates "
                       "only through the values a closure (a local def or lambda) holds", call,
                       hint="use a lambda instead (g = lambda t: f(w, t) for functools.partial(f, w)), or pass the value as an argument")


def local_function_contributions(pf, value, g, active, s2s_name, accumulate, reads):
    """`f = s2s.local_function(f_code, (w, b))` (a local function made as a value, its closure holding w and
    b): the adjoint of f is a FunctionAdjoint by free-variable name; w's part of it flows back to w."""
    names = _local_code(pf, value.args[0]).names
    held = value.args[1]
    reads.update(atom_names(g))
    if isinstance(held, ast.Name):  # the tuple of values, named by the lowering: its adjoint is a tuple too
        if held.id not in active:
            return []
        parts = ast.Call(func=ast.Attribute(value=load(s2s_name), attr="function_adjoint_parts", ctx=ast.Load()),
                         args=[g, ast.Constant(tuple(names))], keywords=[])
        return accumulate(held.id, parts)
    out = []
    for name, v in zip(names, held.elts):
        if isinstance(v, ast.Name) and v.id in active:
            part = ast.Call(func=ast.Attribute(value=load(s2s_name), attr="function_adjoint_parts", ctx=ast.Load()),
                            args=[g, ast.Constant((name,))], keywords=[])
            out += accumulate(v.id, ast.Subscript(value=part, slice=ast.Constant(0), ctx=ast.Load()))
    return out


def _local_code(pf, node):
    """The runtime.LocalCode that `node`, the first argument of s2s.local_function, names: a record of this
    transform (transforms/refusals.py), or one a derivative differentiated again holds in its closure."""
    if isinstance(node, ast.Name):
        record = refusals.sites(pf.tree).get(node.id)
        return record if record is not None else pf.resolve(node.id)
    raise pf.error(ctx().unsupported, "s2s cannot tell which local function this makes", node)


def via_dispatcher(pf, call) -> bool:
    """Calls differentiated at run time by s2s.call_vjp / call_jvp: through a local variable, with `*xs` or
    `**d`, of a functools.partial object (a global one: its function and bound arguments are read then), or
    of an object of your class with a `__call__` (a global layer object)."""
    import functools
    if is_dynamic_call(call) or has_star(call):
        return True
    callee = resolve_call(pf, call)
    return isinstance(callee, functools.partial) or is_callable_object(callee)


def checked_plain_call(pf, s, s2s_name):
    """The assignment `s`, its call through a function value (whose arguments carry no derivative here)
    made through s2s.call_plain where it passes local values: a Python function that would update one
    in place is refused at run time (the derivative code reads those values later)."""
    call = s.value
    if not (isinstance(s, ast.Assign) and isinstance(call, ast.Call) and via_dispatcher(pf, call)):
        return s
    values = [a.value if isinstance(a, ast.Starred) else a for a in call.args] + [k.value for k in call.keywords]
    held = isinstance(call.func, ast.Name) and not annotations.is_global(call.func)  # (`g()` of a partial over w)
    if not held and not any(isinstance(v, ast.Name) and not annotations.is_global(v) for v in values):
        return s
    func = ast.Attribute(value=load(s2s_name), attr="call_plain", ctx=ast.Load())
    new = ast.Call(func=func, args=[call.func, call_site(pf, call)] + list(call.args),
                   keywords=list(call.keywords))
    return ast.copy_location(ast.Assign(targets=s.targets, value=ast.copy_location(new, call)), s)


_DISPATCHERS = ("call_vjp", "call_closure_vjp", "call_closure_jvp", "call_jvp", "call_star_vjp", "call_star_jvp", "call_plain",
                "call_copied")


def refuse_dispatch_again(pf, call, func):
    """Generated code that calls a function value through s2s.call_vjp / call_jvp is not differentiated
    again (Hessians through function values): refused, so s2s.hessian can try forward over forward. A
    local function made as a value (s2s.local_function) that reads a differentiated value is refused too."""
    if func is getattr(ctx().runtime, "local_function", None):
        raise pf.error(ctx().unsupported, "s2s cannot pass this local function as a value: it reads a value that "
                       "depends on the differentiated input, and s2s does not differentiate through the values a "
                       "function value holds", call,
                       hint="pass that value to the function as an argument instead of reading it from the "
                            "enclosing function (or call the local function directly, which s2s expands)")
    if any(func is getattr(ctx().runtime, name, None) for name in _DISPATCHERS):
        raise pf.error(ctx().unsupported, "s2s does not differentiate a second time through a call of a function "
                       f"value ({func.__name__}): higher derivatives through functions passed as values are not "
                       "supported yet", call,
                       hint="call the function by its module-level name instead of through a variable, so that "
                            "s2s can link its derivative")


def call_site(pf, node) -> ast.Name:
    """The name under which generated code passes where the user's call `node` is (errors at run time name
    it): a record in the generated function's closure (transforms/refusals.py)."""
    err = pf.error(ctx().unsupported, "", node)
    site = {"filename": err.filename, "lineno": err.lineno, "col": err.col, "line": err.line,
            "text": ast.unparse(node)}
    return refusals.site(pf, None, site)


def dynamic_plan(pf, call, active, s2s_name, mode, tangent_of=None):
    """(the call of s2s.call_vjp / call_jvp / call_star_vjp / call_star_jvp that replaces `call`, the active
    argument atoms in the order its pullback returns their gradients), or None when none is active.

    For `f(a, b, k=c)`: `s2s.call_vjp(f, site, (0, 'k'), a, b, k=c)`; with `*xs` or `**d`:
    `s2s.call_star_vjp(f, site, ('', '*', '=k', '**'), (1,), a, xs, c, d)`, the layout saying how each
    value is passed. Forward mode (`mode="jvp"`) passes the active arguments' tangents as a tuple after
    the active positions."""
    def is_active(a):
        return isinstance(a, ast.Name) and not annotations.is_global(a) and a.id in active

    values, layout = [], []
    for a in call.args:
        if isinstance(a, ast.Starred):
            values.append(a.value)
            layout.append("*")
        else:
            values.append(a)
            layout.append("")
    for k in call.keywords:
        values.append(k.value)
        layout.append("**" if k.arg is None else "=" + k.arg)
    picked = [i for i, v in enumerate(values) if is_active(v)]
    if not picked:
        return None
    actives = [values[i] for i in picked]
    star = has_star(call)
    if star:
        marks = list(picked)
    else:
        marks = [i if layout[i] == "" else layout[i][1:] for i in picked]
    head = [call.func, call_site(pf, call)]
    if star:
        head.append(ast.Tuple(elts=[ast.Constant(x) for x in layout], ctx=ast.Load()))
    head.append(ast.Tuple(elts=[ast.Constant(m) for m in marks], ctx=ast.Load()))
    if mode == "jvp":
        head.append(ast.Tuple(elts=[tangent_of(a) for a in actives], ctx=ast.Load()))
    name = ("call_star_" if star else "call_") + mode
    func = ast.Attribute(value=load(s2s_name), attr=name, ctx=ast.Load())
    if star:
        new = ast.Call(func=func, args=head + values, keywords=[])
    else:
        new = ast.Call(func=func, args=head + list(call.args), keywords=list(call.keywords))
    return ast.copy_location(new, call), actives


def _int_literal(node) -> bool:
    """`3` or `-1`."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


def _index_expr(sl):
    if isinstance(sl, ast.Slice):
        return ast.Call(func=builtin("slice"), args=[sl.lower or ast.Constant(None), sl.upper or ast.Constant(None),
                                                  sl.step or ast.Constant(None)], keywords=[])
    if isinstance(sl, ast.Tuple):
        return ast.Tuple(elts=[_index_expr(e) for e in sl.elts], ctx=ast.Load())
    return sl


def _read_by_items(pf, tree) -> set:
    """Names the function reads other than whole: not only as operands of arithmetic or arguments of NumPy
    and math functions, but indexed (`L[0]`), iterated, unpacked, handed to a builtin that walks their items
    (max, min, zip...) or to a function of yours. Given a list, their adjoints may be lists, which `+` would
    concatenate; read only whole, they get arrays or numbers."""
    whole = set()
    for node in walk(tree):
        if isinstance(node, ast.BinOp | ast.UnaryOp | ast.Compare):
            whole.update(id(c) for c in ast.iter_child_nodes(node) if isinstance(c, ast.Name))
        elif isinstance(node, ast.Call):
            obj = analysis.resolve_call(pf, node)
            module = getattr(obj, "__module__", None) or ""
            if isinstance(obj, np.ufunc) or module == "math" or module.split(".")[0] == "numpy" \
                    or obj is getattr(ctx().runtime, "inplace_check", None) \
                    or obj is getattr(ctx().runtime, "numbers_or_arrays", None):  # (of `y op= v`: y and v read
                # whole; the check that a value computed with is no object doing arithmetic of its own)
                whole.update(id(a) for a in [*node.args, *(k.value for k in node.keywords)] if isinstance(a, ast.Name))
    return {n.id for n in walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in whole}


def _put_back(pop, item: str):
    """The statement that undoes `item = L.pop()` (`L.append(item)`) or `item = L.pop(k)` of an int k written in
    the code (`L.insert(k, item)`; from the end, `L.insert(len(L) + 1 + k, item)`), else None."""
    name = pop.func.value.id
    if not pop.args and not pop.keywords:
        return ast.Expr(value=ast.Call(func=ast.Attribute(value=load(name), attr="append", ctx=ast.Load()),
                                       args=[load(item)], keywords=[]))
    k = pop.args[0] if len(pop.args) == 1 and not pop.keywords else None
    if isinstance(k, ast.UnaryOp) and isinstance(k.op, ast.USub) and isinstance(k.operand, ast.Constant):
        k = ast.Constant(value=-k.operand.value) if type(k.operand.value) is int else None
    if not (isinstance(k, ast.Constant) and type(k.value) is int):
        return None
    if k.value == -1:
        return _put_back(ast.Call(func=pop.func, args=[], keywords=[]), item)
    where = expr(f"len({name}) + {1 + k.value}") if k.value < 0 else ast.Constant(value=k.value)
    return ast.Expr(value=ast.Call(func=ast.Attribute(value=load(name), attr="insert", ctx=ast.Load()),
                                   args=[where, load(item)], keywords=[]))


def _popped_from_a_dict(tree, call) -> bool:
    """Whether `d.pop(...)` is a dict's: its key a constant other than an int (`d.pop("a")`), or `d` bound only to
    dict displays, comprehensions or `dict(...)` in `tree`."""
    if call.args and isinstance(call.args[0], ast.Constant) and not isinstance(call.args[0].value, int):
        return True
    name = call.func.value.id
    values = [s.value for s in walk(tree) if isinstance(s, ast.Assign)
              and any(isinstance(t, ast.Name) and t.id == name for t in s.targets)]
    return bool(values) and all(isinstance(v, ast.Dict | ast.DictComp) or isinstance(v, ast.Call)
                                and isinstance(v.func, ast.Name) and v.func.id == "dict" for v in values)


def _list_pop(e):
    """The name of the list `L` of a call `L.pop(...)`, else None."""
    if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "pop" \
            and isinstance(e.func.value, ast.Name):
        return e.func.value.id
    return None
