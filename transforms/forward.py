"""Forward mode: interleave tangent statements (`x_dot`) with the primal ones.

No tape is needed: each statement `y = op(a, b)` is followed by
`y_dot = <sum of the rule's tangent terms for the active operands>`.
Control flow is kept as it is, so the tangent follows exactly the primal path.
"""

from __future__ import annotations

import ast
import copy

from . import analysis, annotations, templates
from .analysis import is_append, is_user_function, op_name, resolve_call
from .context import ctx, missing
from .names import NameAllocator, assigned_names, bound_values, load, store
from .sequences import Sequences, joins_lists
from .walk import walk


def _passes_through(template, p) -> bool:
    """Whether a tangent template is the argument's tangent itself, `p_dot` or `-p_dot` (as in `+`, `-`,
    `%`): of an elementwise rule, such a term keeps the argument's shape, which may be smaller than the
    result's where the other arguments broadcast it."""
    if isinstance(template, ast.UnaryOp) and isinstance(template.op, ast.USub):
        template = template.operand
    return isinstance(template, ast.Name) and template.id == p + "_dot"


def _bound_to_displays(tree) -> set:
    """The names `tree` binds only to list or tuple displays (`t3 = [t, t2]`, as lowering writes `np.sqrt([a, b])`),
    to names so bound (`v = u = [x, C]`, `u = v`), or to sums and int multiples of them (`feats = t + t3`)."""
    bound = bound_values(tree)
    found = {name for name, values in bound.items() if all(isinstance(v, ast.List | ast.Tuple) for v in values)}

    def listed(v) -> bool:  # (`t + t3` of two displays, `t * 2`: lists too)
        return joins_lists(v, listed) or isinstance(v, ast.List | ast.Tuple) or isinstance(v, ast.Name) and v.id in found

    while True:
        more = {name for name, values in bound.items() if name not in found and all(listed(v) for v in values)}
        if not more:
            return found
        found |= more



def _assign(target, value, like):
    node = ast.Assign(targets=[store(target) if isinstance(target, str) else target], value=value)
    return ast.copy_location(node, like)


class Forward:
    """Builds the tangent program of one lowered function."""

    def __init__(self, pf, tree, wrt, alloc: NameAllocator, helpers: dict, link, scalar_params=(), plain_params=(),
                 facts=None):
        self.pf = pf
        self.tree = tree
        self.wrt = wrt
        self.alloc = alloc
        self.helpers = helpers
        self.link = link  # (function, wrt positions) -> helper name of its jvp
        # the pipeline's `analysis` step hands its facts in (s2s/pipeline.py); alone, the pass runs it itself
        self.facts = facts if facts is not None else analysis.analyze(pf, tree, wrt, scalar_params)
        self.sequences = Sequences(pf, tree, self.facts, plain_params)  # `+` / `*` that may act on lists
        self.facts.containers |= self.sequences.containers
        self.active = self.facts.active | set(wrt)
        self.dots = {}
        self.callee_tangents = {}
        self.maybe_zero = _maybe_zero_tangents(pf, tree)
        self.displays = _bound_to_displays(tree)

    def dot(self, name):
        if name not in self.dots:
            self.dots[name] = self.alloc.fresh(f"{name}_dot")
        return self.dots[name]

    def tangent_of(self, atom):
        """The tangent of an atom: its `_dot` name, or None when it is constant."""
        if isinstance(atom, ast.Name) and not annotations.is_global(atom) and atom.id in self.active:
            return load(self.dot(atom.id))
        return None

    def s2s_call(self, attr, args):
        return ast.Call(func=ast.Attribute(value=load(self.helpers["s2s"]), attr=attr, ctx=ast.Load()),
                        args=args, keywords=[])

    def run(self):
        """Return (statements, output atom, output tangent expression)."""
        body, ret = self.tree.body[:-1], self.tree.body[-1]
        stmts = self.block(body)
        params = analysis.param_names(self.tree)
        start = []
        for p in params:  # a parameter we do not vary but that becomes varied later starts at zero
            if p in self.active and p not in self.wrt:
                start.append(_assign(self.dot(p), self.s2s_call("dense_tangent", [ast.Constant(0.0), load(p)]),
                                     self.tree.body[0]))
        stmts = start + stmts
        out_dot = self.tangent_of(ret.value) or ast.Constant(0.0)
        return stmts, ret.value, out_dot

    def block(self, stmts):
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def stmt(self, s):
        if isinstance(s, ast.Assign):
            t = s.targets[0]
            if isinstance(t, ast.Subscript):
                return self.setitem(s)
            return self.assign(t.id, s.value, s)
        analysis.check_discarded_call(self.pf, s)
        if isinstance(s, ast.Expr) and is_append(s.value):
            name = s.value.func.value.id
            out = [s]
            if name in self.active:
                v = self.tangent_of(s.value.args[0]) or ast.Constant(0.0)
                out.append(ast.copy_location(ast.Expr(value=ast.Call(
                    func=ast.Attribute(value=load(self.dot(name)), attr="append", ctx=ast.Load()),
                    args=[v], keywords=[])), s))
            return out
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and isinstance(s.value.func, ast.Attribute) \
                and s.value.func.attr == "pop" and isinstance(s.value.func.value, ast.Name) \
                and s.value.func.value.id in self.active:  # (`L.pop(0)`: the tangents' list drops the same item)
            pop = ast.Call(func=ast.Attribute(value=load(self.dot(s.value.func.value.id)), attr="pop", ctx=ast.Load()),
                           args=copy.deepcopy(s.value.args), keywords=copy.deepcopy(s.value.keywords))
            return [s, ast.copy_location(ast.Expr(value=pop), s)]
        if isinstance(s, ast.If):
            return [ast.copy_location(ast.If(test=s.test, body=self.block(s.body) or [ast.Pass()],
                                             orelse=self.block(s.orelse)), s)]
        if isinstance(s, ast.For):
            body = self.block(s.body)
            if isinstance(s.target, ast.Name) and s.target.id in self.active:
                # (a counter the name's other values make active: the loop binds an int, whose tangent is 0;
                # without this, `i = a * b; for i in range(3): s = s + i` read a * b's tangent for i)
                body = [_assign(self.dot(s.target.id), ast.Constant(0.0), s)] + body
            return [ast.copy_location(ast.For(target=s.target, iter=s.iter, body=body or [ast.Pass()],
                                              orelse=[]), s)]
        if isinstance(s, ast.While):
            body = self.block(s.body) + self.block(annotations.get(s, annotations.LOOP_TEST))
            return [ast.copy_location(ast.While(test=s.test, body=body or [ast.Pass()], orelse=[]), s)]
        return [s]

    def setitem(self, s):
        t = s.targets[0]
        y = t.value.id
        from .reverse import _index_expr
        index = _index_expr(t.slice)
        primal = _assign(y, self.s2s_call("setitem", [load(y), index, s.value]), s)
        if y not in self.active:
            return [primal]
        v_dot = self.tangent_of(s.value) or ast.Constant(0.0)
        if y not in self.sequences.plain:  # a list's slice takes an iterable: zeros shaped like v, not 0.0
            v_dot = self.s2s_call("dense_tangent", [v_dot, s.value])
        v_dot = self.s2s_call("written_into", [v_dot, load(y)])  # (an integer array truncates what it takes)
        dense = self.s2s_call("dense_tangent", [load(self.dot(y)), load(y)])
        return [primal, _assign(self.dot(y), self.s2s_call("setitem", [dense, copy.deepcopy(index), v_dot]), s)]

    def assign(self, y, value, s):
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in self.pullback_names():
            return self.pullback_call(y, value, s)
        if isinstance(value, ast.Call) and y in self.active and resolve_call(self.pf, value) in (
                getattr(ctx().runtime, "call_vjp", None), getattr(ctx().runtime, "call_star_vjp", None)):
            return self.vjp_call(y, value, s)
        if isinstance(value, ast.Call) and y in self.active and \
                resolve_call(self.pf, value) is getattr(ctx().runtime, "call_closure_vjp", None):
            return self.closure_vjp_call(y, value, s)
        if isinstance(value, ast.Call) and y in self.active and _split_of(resolve_call(self.pf, value)):
            return self.split_call(y, value, s)
        from .reverse import checked_plain_call
        s = checked_plain_call(self.pf, s, self.helpers["s2s"])
        if y not in self.active:
            if analysis.is_pop(value) and value.func.value.id in self.active:
                pop = ast.Call(func=ast.Attribute(value=load(self.dot(value.func.value.id)), attr="pop",
                                                  ctx=ast.Load()), args=[], keywords=[])
                return [s, ast.copy_location(ast.Expr(value=pop), s)]
            return [s]
        if analysis.is_pop(value) and value.func.value.id not in self.active:  # (an item of no derivative)
            return [s, _assign(self.dot(y), ast.Constant(0.0), s)]
        if analysis.is_pop(value):
            lst = value.func.value.id
            pop = ast.Call(func=ast.Attribute(value=load(self.dot(lst)), attr="pop", ctx=ast.Load()), args=[],
                           keywords=[])
            return [s, _assign(self.dot(y), pop, s)]
        from .reverse import via_dispatcher
        if isinstance(value, ast.Call) and via_dispatcher(self.pf, value):
            return self.dynamic(y, value, s)
        if isinstance(value, ast.Call) and resolve_call(self.pf, value) is getattr(ctx().runtime, "call_jvp", None):
            return self.jvp_of_jvp(y, value, s)
        if isinstance(value, ast.Call) and resolve_call(self.pf, value) is getattr(ctx().runtime, "call_star_jvp", None):
            return self.star_jvp_of_jvp(y, value, s)
        if isinstance(value, ast.Call) and resolve_call(self.pf, value) is getattr(ctx().runtime, "call_closure_jvp", None):
            return self.closure_jvp_of_jvp(y, value, s)
        if isinstance(value, ast.Call) and is_user_function(resolve_call(self.pf, value)):
            return self.call(y, value, s)
        operands = analysis.diff_inputs(self.pf, value)
        if y in operands:
            new = self.alloc.fresh(f"{y}_new")
            tangent = self.tangent(value, load(new), s)
            return [_assign(new, value, s), _assign(self.dot(y), tangent, s), _assign(y, load(new), s)]
        tangent = self.tangent(value, load(y), s)
        if isinstance(tangent, ast.Constant):
            # an active name that starts from a constant: a real zero of its shape, so later
            # operations such as `w @ h_dot` see an array
            tangent = self.s2s_call("dense_tangent", [tangent, load(y)])
        return [s, _assign(self.dot(y), tangent, s)]

    def dynamic(self, y, call, s):
        """A call through a function value, or with `*xs` / `**d`: s2s.call_jvp differentiates the callee
        it is given at run time."""
        from .reverse import active_closure_call, closure_jvp_plan, dynamic_plan, refuse_active_callee
        closure = active_closure_call(call, self.active)
        if not closure:
            refuse_active_callee(self.pf, call, self.active)
        plan = dynamic_plan(self.pf, call, self.active, self.helpers["s2s"], "jvp", self.tangent_of)
        if closure:
            plan = closure_jvp_plan(self.pf, call, plan, self.helpers["s2s"], self.tangent_of(call.func))
        if plan is None:
            return [s, _assign(self.dot(y), self.s2s_call("dense_tangent", [ast.Constant(0.0), load(y)]), s)]
        target = ast.Tuple(elts=[store(y), store(self.dot(y))], ctx=ast.Store())
        return [ast.copy_location(ast.Assign(targets=[target], value=plan[0]), s)]

    def need_runtime(self, name, call):
        """Refuse where the run-time helper `name` is missing (s2s.runtime not exporting it)."""
        if getattr(ctx().runtime, name, None) is None:
            raise self.pf.error(ctx().unsupported, "s2s does not differentiate a second time through this call of a "
                                f"function value (no run-time helper {name})", call)

    def pullback_names(self):
        """Names that only ever hold the pullback `call_vjp` returned (`pb = r[1]`, `r` only ever assigned
        `s2s.call_vjp(...)` or `s2s.call_star_vjp(...)`): forward mode over reverse-mode code calls them
        through s2s.pullback_jvp. A name assigned anything else (or bound by a loop, a parameter) is not one."""
        if getattr(self, "_pullback_names", None) is not None:
            return self._pullback_names
        values, plain = {}, set()
        for node in walk(self.tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                values.setdefault(node.targets[0].id, []).append(node.value)
                plain.add(id(node.targets[0]))
        unknown = set(analysis.param_names(self.tree))
        for node in walk(self.tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del) and id(node) not in plain:
                unknown.add(node.id)
            elif isinstance(node, ast.arg):
                unknown.add(node.arg)
        dispatchers = (getattr(ctx().runtime, "call_vjp", None), getattr(ctx().runtime, "call_star_vjp", None),
                       getattr(ctx().runtime, "call_closure_vjp", None))
        results = {n for n, vs in values.items() if n not in unknown and all(
            isinstance(v, ast.Call) and (resolve_call(self.pf, v) in dispatchers or _split_of(resolve_call(self.pf, v)))
            for v in vs)}
        self._pullback_names = {n for n, vs in values.items() if n not in unknown and all(
            isinstance(v, ast.Subscript) and isinstance(v.value, ast.Name) and v.value.id in results
            and isinstance(v.slice, ast.Constant) and v.slice.value == 1 for v in vs)}
        return self._pullback_names

    def vjp_call(self, y, call, s):
        """`r = s2s.call_vjp(f, site, active, *args)` (or call_star_vjp) in reverse-mode code differentiated
        again (forward over reverse, for Hessian-vector products): s2s.call_vjp_jvp gives `r` and its
        tangent, the value's tangent and the pullback's (which s2s.pullback_jvp applies)."""
        from .reverse import refuse_active_callee
        star = resolve_call(self.pf, call) is getattr(ctx().runtime, "call_star_vjp", None)
        head = call.args[:4 if star else 3]
        f, rest = call.args[0], call.args[len(head):]
        if self.tangent_of(f) is not None and not star and getattr(ctx().runtime, "call_vjp_closure_jvp", None):
            # a closure whose values only this derivative differentiates (a mixed second derivative)
            return self.closure_vjp_call(y, call, s, "call_vjp_closure_jvp")
        if self.tangent_of(f) is not None or any(isinstance(a, ast.Starred) for a in rest) or \
                any(k.arg is None for k in call.keywords):
            refuse_active_callee(self.pf, ast.Call(func=f, args=[], keywords=[]), self.active)
            raise self.pf.error(ctx().unsupported, "s2s cannot differentiate this call of a function value again "
                                "(arguments unpacked with * or ** in generated code)", call)
        picked = [(i, a) for i, a in enumerate(rest) if self.tangent_of(a) is not None]
        picked += [(k.arg, k.value) for k in call.keywords if self.tangent_of(k.value) is not None]
        if not picked:
            raise self.pf.error(ctx().unsupported, "s2s cannot differentiate this call of a function value again "
                                "(its value varies but none of its arguments does)", call)
        extra = [ast.Tuple(elts=[ast.Constant(k) for k, _ in picked], ctx=ast.Load()),
                 ast.Tuple(elts=[self.tangent_of(a) for _, a in picked], ctx=ast.Load())]
        name = "call_star_vjp_jvp" if star else "call_vjp_jvp"
        self.need_runtime(name, call)
        self.need_runtime("pullback_jvp", call)
        new = ast.Call(func=ast.Attribute(value=load(self.helpers["s2s"]), attr=name, ctx=ast.Load()),
                       args=list(head) + extra + list(rest), keywords=list(call.keywords))
        target = ast.Tuple(elts=[store(y), store(self.dot(y))], ctx=ast.Store())
        return [ast.copy_location(ast.Assign(targets=[target], value=ast.copy_location(new, call)), s)]

    def closure_vjp_call(self, y, call, s, helper="call_closure_vjp_jvp"):
        """`r = s2s.call_closure_vjp(f, site, active, *args)` (a call through a closure over differentiated
        values) in reverse-mode code differentiated again: s2s.call_closure_vjp_jvp gives `r` and its tangent,
        along the closure's own tangent (a FunctionAdjoint of its cells' tangents) and the arguments'."""
        f, site, active, *rest = call.args
        if any(isinstance(a, ast.Starred) for a in rest) or any(k.arg is None for k in call.keywords):
            raise self.pf.error(ctx().unsupported, "s2s cannot differentiate this call of a function value again "
                                "(arguments unpacked with * or ** in generated code)", call)
        picked = [(i, a) for i, a in enumerate(rest) if self.tangent_of(a) is not None]
        picked += [(k.arg, k.value) for k in call.keywords if self.tangent_of(k.value) is not None]
        self.need_runtime(helper, call)
        self.need_runtime("pullback_jvp", call)
        extra = [self.tangent_of(f) or ast.Constant(0.0), ast.Tuple(elts=[ast.Constant(k) for k, _ in picked],
                                                                     ctx=ast.Load()),
                 ast.Tuple(elts=[self.tangent_of(a) for _, a in picked], ctx=ast.Load())]
        new = self.s2s_call(helper, [f, site, active] + extra + list(rest))
        new.keywords = list(call.keywords)
        target = ast.Tuple(elts=[store(y), store(self.dot(y))], ctx=ast.Store())
        return [ast.copy_location(ast.Assign(targets=[target], value=ast.copy_location(new, call)), s)]

    def closure_jvp_of_jvp(self, y, call, s):
        """`t = s2s.call_closure_jvp(f, site, active, tangents, f_tangent, *args)` in tangent code differentiated
        again (forward over forward): its own tangent comes from s2s.call_closure_jvp_of_jvp, along the
        closure's tangent, the arguments' and those of the first-order tangents."""
        f, site, active, tangents, f_tangent, *rest = call.args
        if any(isinstance(a, ast.Starred) for a in rest) or any(k.arg is None for k in call.keywords):
            raise self.pf.error(ctx().unsupported, "s2s cannot differentiate this call of a function value again "
                                "(arguments unpacked in generated code)", call)
        picked = [(i, a) for i, a in enumerate(rest) if self.tangent_of(a) is not None]
        picked += [(k.arg, k.value) for k in call.keywords if self.tangent_of(k.value) is not None]
        f_dot2, tangents_dot, f_tangent_dot = self.tangent_of(f), self.tangent_of(tangents), self.tangent_of(f_tangent)
        if not picked and f_dot2 is None and tangents_dot is None and f_tangent_dot is None:
            return [s, _assign(self.dot(y), self.s2s_call("dense_tangent", [ast.Constant(0.0), load(y)]), s)]
        self.need_runtime("call_closure_jvp_of_jvp", call)
        head = [f, site, active, tangents, f_tangent, ast.Tuple(elts=[ast.Constant(k) for k, _ in picked],
                                                                  ctx=ast.Load()),
                ast.Tuple(elts=[self.tangent_of(a) for _, a in picked], ctx=ast.Load()),
                f_dot2 or ast.Constant(0.0), tangents_dot or ast.Constant(None), f_tangent_dot or ast.Constant(None)]
        new = self.s2s_call("call_closure_jvp_of_jvp", head + list(rest))
        new.keywords = list(call.keywords)
        target = ast.Tuple(elts=[store(y), store(self.dot(y))], ctx=ast.Store())
        return [ast.copy_location(ast.Assign(targets=[target], value=ast.copy_location(new, call)), s)]

    def split_call(self, y, call, s):
        """`r = f_vjp(*args)`, the linked split derivative of a user function, in reverse-mode code differentiated
        again: s2s.split_vjp_jvp gives `r` and its tangent (the pullback's, which s2s.pullback_jvp applies)."""
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            raise self.pf.error(ctx().unsupported, "s2s cannot differentiate this call again (arguments unpacked "
                                "with * or ** in generated code)", call)
        picked = [(i, a) for i, a in enumerate(call.args) if self.tangent_of(a) is not None]
        picked += [(k.arg, k.value) for k in call.keywords if self.tangent_of(k.value) is not None]
        if not picked:
            raise self.pf.error(ctx().unsupported, "s2s cannot differentiate this call again (its value varies but "
                                "none of its arguments does)", call)
        self.need_runtime("split_vjp_jvp", call)
        self.need_runtime("pullback_jvp", call)
        extra = [call.func, ast.Tuple(elts=[ast.Constant(k) for k, _ in picked], ctx=ast.Load()),
                 ast.Tuple(elts=[self.tangent_of(a) for _, a in picked], ctx=ast.Load())]
        new = ast.Call(func=ast.Attribute(value=load(self.helpers["s2s"]), attr="split_vjp_jvp", ctx=ast.Load()),
                       args=extra + list(call.args), keywords=list(call.keywords))
        target = ast.Tuple(elts=[store(y), store(self.dot(y))], ctx=ast.Store())
        return [ast.copy_location(ast.Assign(targets=[target], value=ast.copy_location(new, call)), s)]

    def pullback_call(self, y, call, s):
        """`grads = pb(g)` with `pb` a pullback of call_vjp: s2s.pullback_jvp gives the gradients and their
        tangent (pb's tangent from call_vjp_jvp; without one, pb is linear in g)."""
        pb = call.func.id
        if len(call.args) != 1 or call.keywords or isinstance(call.args[0], ast.Starred):
            raise self.pf.error(ctx().unsupported, "s2s cannot differentiate this pullback call again", call)
        g = call.args[0]
        pb_dot, g_dot = self.tangent_of(ast.Name(id=pb, ctx=ast.Load())), self.tangent_of(g)
        if y not in self.active or (pb_dot is None and g_dot is None):
            return [s]
        self.need_runtime("pullback_jvp", call)
        new = self.s2s_call("pullback_jvp", [load(pb), pb_dot or ast.Constant(None), g, g_dot or ast.Constant(None)])
        target = ast.Tuple(elts=[store(y), store(self.dot(y))], ctx=ast.Store())
        return [ast.copy_location(ast.Assign(targets=[target], value=ast.copy_location(new, call)), s)]

    def star_jvp_of_jvp(self, y, call, s):
        """`t = s2s.call_star_jvp(f, site, layout, active, tangents, *values)` in tangent code differentiated
        again (forward over forward): its tangent comes from s2s.call_star_jvp_of_jvp."""
        from .reverse import refuse_active_callee
        f, site, layout, active, tangents, *rest = call.args
        if self.tangent_of(f) is not None or any(isinstance(a, ast.Starred) for a in rest) or call.keywords:
            refuse_active_callee(self.pf, ast.Call(func=f, args=[], keywords=[]), self.active)
            raise self.pf.error(ctx().unsupported, "s2s cannot differentiate this call of a function value again "
                                "(arguments unpacked in generated code)", call)
        picked = [(i, a) for i, a in enumerate(rest) if self.tangent_of(a) is not None]
        tangents_dot = self.tangent_of(tangents) or ast.Constant(None)
        if not picked and isinstance(tangents_dot, ast.Constant):
            return [s, _assign(self.dot(y), self.s2s_call("dense_tangent", [ast.Constant(0.0), load(y)]), s)]
        head = [f, site, layout, active, tangents, ast.Tuple(elts=[ast.Constant(k) for k, _ in picked], ctx=ast.Load()),
                ast.Tuple(elts=[self.tangent_of(a) for _, a in picked], ctx=ast.Load()), tangents_dot]
        self.need_runtime("call_star_jvp_of_jvp", call)
        new = self.s2s_call("call_star_jvp_of_jvp", head + list(rest))
        target = ast.Tuple(elts=[store(y), store(self.dot(y))], ctx=ast.Store())
        return [ast.copy_location(ast.Assign(targets=[target], value=ast.copy_location(new, call)), s)]

    def jvp_of_jvp(self, y, call, s):
        """`t = s2s.call_jvp(f, site, active, tangents, *args)` in tangent code differentiated again (forward
        over forward, for Hessians): its own tangent comes from s2s.call_jvp_of_jvp."""
        from .reverse import refuse_active_callee
        f, site, active, tangents, *rest = call.args
        if self.tangent_of(f) is not None or any(isinstance(a, ast.Starred) for a in rest):
            refuse_active_callee(self.pf, ast.Call(func=f, args=[], keywords=[]), self.active)
        picked = [(i, a) for i, a in enumerate(rest) if self.tangent_of(a) is not None]
        picked += [(k.arg, k.value) for k in call.keywords if self.tangent_of(k.value) is not None]
        tangents_dot = self.tangent_of(tangents) or ast.Constant(None)
        if not picked and isinstance(tangents_dot, ast.Constant):
            return [s, _assign(self.dot(y), self.s2s_call("dense_tangent", [ast.Constant(0.0), load(y)]), s)]
        head = [f, site, active, tangents, ast.Tuple(elts=[ast.Constant(k) for k, _ in picked], ctx=ast.Load()),
                ast.Tuple(elts=[self.tangent_of(a) for _, a in picked], ctx=ast.Load()), tangents_dot]
        new = ast.Call(func=ast.Attribute(value=load(self.helpers["s2s"]), attr="call_jvp_of_jvp", ctx=ast.Load()),
                       args=head + list(rest), keywords=list(call.keywords))
        target = ast.Tuple(elts=[store(y), store(self.dot(y))], ctx=ast.Store())
        return [ast.copy_location(ast.Assign(targets=[target], value=ast.copy_location(new, call)), s)]

    def arg_tangent(self, a):
        """The tangent of an argument atom; for the arguments a `*args` / `**kwargs` parameter collects, a
        tuple / dict of theirs (zero for constants), or None when none is active."""
        if isinstance(a, ast.Tuple):
            parts = [self.tangent_of(x) for x in a.elts]
            if all(p is None for p in parts):
                return None
            return ast.Tuple(elts=[p or ast.Constant(0.0) for p in parts], ctx=ast.Load())
        if isinstance(a, ast.Dict):
            parts = [self.tangent_of(x) for x in a.values]
            if all(p is None for p in parts):
                return None
            return ast.Dict(keys=a.keys, values=[p or ast.Constant(0.0) for p in parts])
        return self.tangent_of(a)

    def call(self, y, call, s):
        func, arguments = analysis.bind_user_call(self.pf, call)
        tangents = [(pos, name, self.arg_tangent(a)) for pos, name, a in arguments if self.arg_tangent(a) is not None]
        if not tangents:  # a real zero of the result's shape, as for a constant (`w @ y_dot` needs an array)
            return [s, _assign(self.dot(y), self.s2s_call("dense_tangent", [ast.Constant(0.0), load(y)]), s)]
        helper = self.link(func, tuple(p for p, _, _ in tangents), call)
        names = self.callee_tangents.get(helper)
        if names is None:  # a recursive call: the callee is this very function
            names = {p: self.dot(p) for _, p, _ in tangents}
        kws = list(call.keywords) + [ast.keyword(arg=names[p], value=td) for _, p, td in tangents]
        new_call = ast.Call(func=load(helper), args=call.args, keywords=kws)
        target = ast.Tuple(elts=[store(y), store(self.dot(y))], ctx=ast.Store())
        return [ast.copy_location(ast.Assign(targets=[target], value=new_call), s)]

    def tangent(self, value, ans, s):
        if isinstance(value, ast.Name):
            return self.tangent_of(value) or ast.Constant(0.0)
        if isinstance(value, ast.BinOp | ast.UnaryOp):
            # (x_dot * y is already right for a repeated list: only `+` needs the sequence-aware tangent)
            key = (self.sequences.op_key(value) if isinstance(value.op, ast.Add) else None) or op_name(value.op)
            rule = ctx().lookup(key)
            args = [value.left, value.right] if isinstance(value, ast.BinOp) else [value.operand]
            return self.apply_rule(rule, args, {}, ans, value)
        if isinstance(value, ast.Subscript):
            td = self.tangent_of(value.value)
            if td is None:
                return ast.Constant(0.0)
            from .reverse import _index_expr
            return self.s2s_call("part", [td, _index_expr(value.slice)])
        if isinstance(value, ast.Tuple | ast.List):
            return type(value)(elts=[self.tangent_of(e) or ast.Constant(0.0) for e in value.elts], ctx=ast.Load())
        if isinstance(value, ast.Dict):
            return ast.Dict(keys=value.keys, values=[self.tangent_of(v) or ast.Constant(0.0) for v in value.values])
        if isinstance(value, ast.Compare | ast.Constant | ast.JoinedStr):
            return ast.Constant(0.0)
        if isinstance(value, ast.Attribute):
            if value.attr in analysis.NONDIFF_ATTRS or not self.active.intersection(analysis.atom_names(value)):
                return ast.Constant(0.0)  # (`np.pi`, `math.inf` of no active name: a constant)
            raise self.pf.error(ctx().no_rule, f"s2s has no derivative for the attribute .{value.attr}", value)
        if isinstance(value, ast.Call):
            func = resolve_call(self.pf, value)
            from .reverse import local_function_tangent, refuse_active_partial, refuse_dispatch_again
            if func is getattr(ctx().runtime, "local_function", None):
                return local_function_tangent(value, self.tangent_of, self.helpers["s2s"])
            refuse_dispatch_again(self.pf, value, func)
            refuse_active_partial(self.pf, value, func, self.active)
            rule = ctx().lookup(func) if func is not missing() else None
            if rule is None and func is not missing():
                message, hint = ctx().no_rule_text(func, value)
                raise self.pf.error(ctx().no_rule, message, value, hint=hint)
            if rule is None:
                raise self.pf.error(ctx().no_rule, f"s2s has no derivative rule for {ast.unparse(value.func)}",
                                    value, hint="register one with s2s.defvjp(func, ..., x_dot=...) or use "
                                                "s2s.stop_gradient(...)")
            kws = {k.arg: k.value for k in value.keywords}
            return self.apply_rule(rule, value.args, kws, ans, value)
        return ast.Constant(0.0)

    def apply_rule(self, rule, args, kws, ans, node):
        if rule.nondiff:
            return ast.Constant(0.0)
        try:
            bound = rule.bind(args, kws)
        except TypeError as exc:
            raise self.pf.error(ctx().unsupported, f"s2s cannot match this call to its rule: {exc}", node,
                                hint=getattr(exc, "hint", None)) from None
        rule = rule.at_site(bound)  # a simpler exact template where the arguments allow it
        mapping = {"ans": ans}
        for p in rule.params:
            mapping[p] = bound.get(p, ast.Constant(rule.defaults.get(p)))
        if rule.varargs:
            items = list(bound.get(rule.varargs, []))
            mapping[rule.varargs] = ast.List(elts=items, ctx=ast.Load())
            mapping[rule.varargs + "_dot"] = ast.List(elts=[self.tangent_of(x) or ast.Constant(0.0) for x in items],
                                                      ctx=ast.Load())
        terms = []
        for p, a in bound.items():
            if p == rule.varargs:
                if rule.jvp.get(p, "") is not None and any(self.tangent_of(x) is not None for x in a):
                    if p not in rule.jvp:
                        raise self._no_tangent(rule, p, node)
                    terms.append(self.instantiate(rule.jvp[p], mapping))
                continue
            if rule.jvp.get(p, "") is None:
                continue  # the result does not depend on this argument's value (only its shape)
            td = self.tangent_of(a)
            if td is None and isinstance(a, ast.Name) and not annotations.is_global(a) and \
                    a.id in self.facts.containers and a.id in self.active:
                td = load(self.dot(a.id))
            if td is None:
                continue
            if p not in rule.jvp:
                raise self._no_tangent(rule, p, node)
            if rule.elementwise and not rule.structured and isinstance(node, ast.Call) and rule.name.startswith("np.") \
                    and (isinstance(a, ast.List | ast.Tuple) or isinstance(a, ast.Name) and a.id in self.displays):
                # (`np.array([a, b])`: NumPy reads the list as an array, and its tangent, a list, must be one too;
                # desugaring gives the other elementwise functions `np.array(...)` of a list: transforms/desugar.py)
                td = self.s2s_call("array_tangent", [td, copy.deepcopy(a)])
            mapping[p + "_dot"] = td
            term = self.instantiate(rule.jvp[p], mapping)
            if rule.tangent_zero_guard(p) and not (isinstance(a, ast.Name) and a.id not in self.maybe_zero):
                # the zero tangent 0.0 stands for zeros of any shape
                term = ast.IfExp(test=self.s2s_call("is_zero", [copy.deepcopy(td)]), body=ast.Constant(0.0),
                                 orelse=term)
            others = [x for q, x in bound.items() if q != p]
            if rule.elementwise and _passes_through(rule.jvp[p], p) and not all(
                    analysis._is_scalar_atom(x, self.facts.scalars)
                    or (isinstance(x, ast.Name) and isinstance(a, ast.Name) and x.id == a.id) for x in others):
                # `x_dot` of `x + Y` (`x % Y`) has x's shape: the result's tangent has the broadcast one
                term = self.s2s_call("broadcast_like", [term, copy.deepcopy(ans)])
            terms.append(term)
        if not terms:
            return ast.Constant(0.0)
        total = terms[0]
        for t in terms[1:]:
            if rule.structured:
                total = self.s2s_call("add", [total, t])
            else:
                total = ast.BinOp(left=total, op=ast.Add(), right=t)
        return total

    def _no_tangent(self, rule, p, node):
        return self.pf.error(ctx().no_rule, f"s2s has no forward-mode rule for {rule.name} with respect to "
                                                    f"{p!r}", node, hint="use reverse mode, or register the rule "
                                                                         "with a p_dot template")

    def instantiate(self, template, mapping):
        return templates.instantiate(template, mapping, self.helpers)


def _maybe_zero_tangents(pf, tree) -> set[str]:
    """The names whose tangent may be the zero tangent 0.0 at run time although they vary: items taken
    out of containers (a list that holds constants too), results of calls the transform does not see
    into, and whatever is computed from those. Parameters get dense tangents from the entry points, and
    branches meet through s2s.dense_tangent. Flow-insensitive, so every trip of a loop is covered.

        >>> t = ast.parse("def f(x, xs):\n    v = xs[0]\n    y = v * x\n    z = x * 2.0\n    return z").body[0]
        >>> sorted(_maybe_zero_tangents(None, t))
        ['v', 'y']
    """
    sources = {}  # name -> the values assigned to it
    for node in walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for name in assigned_names(target):
                    sources.setdefault(name, []).append(node.value)
        elif isinstance(node, ast.For) and not (isinstance(node.iter, ast.Call) and isinstance(node.iter.func, ast.Name)
                                                and node.iter.func.id == "range"):  # (counters carry no tangent)
            for name in assigned_names(node.target):
                sources.setdefault(name, []).append(node.target)  # an item of what it iterates

    def opaque(value) -> bool:
        if isinstance(value, ast.Subscript | ast.Starred) or isinstance(value, ast.Name | ast.Tuple) and \
                isinstance(value.ctx, ast.Store):
            return True
        for call in (n for n in walk(value) if isinstance(n, ast.Call)):
            func = resolve_call(pf, call) if pf is not None else missing()
            rule = ctx_lookup(func) if func is not missing() else None
            if rule is None or any(_may_give_zero(t) for t in rule.jvp.values() if t is not None):
                return True
        return False

    zero = {name for name, values in sources.items() if any(opaque(v) for v in values)}
    changed = True
    while changed:
        changed = False
        for name, values in sources.items():
            if name not in zero and any(n.id in zero for v in values for n in walk(v)
                                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)):
                zero.add(name)
                changed = True
    return zero


def _may_give_zero(template) -> bool:
    """Whether a tangent template may evaluate to the zero tangent 0.0 itself (`t if which == 1 else 0.0`,
    the tangent of an adjoint helper that one of its arguments does not reach): what it gives is then
    not dense although its arguments' tangents are.

        >>> _may_give_zero(ast.parse("x_dot * 2.0 if which == 1 else 0.0", mode="eval").body)
        True
    """
    if isinstance(template, ast.Constant):
        return isinstance(template.value, int | float) and not isinstance(template.value, bool) and template.value == 0
    if isinstance(template, ast.IfExp):
        return _may_give_zero(template.body) or _may_give_zero(template.orelse)
    return False


def ctx_lookup(func):
    """The rule of `func`, or None (also for objects that cannot be looked up)."""
    try:
        return ctx().lookup(func)
    except TypeError:
        return None


def _split_of(func) -> bool:
    """Whether `func` is the linked split derivative (value, pullback) of a user function (pipeline's Link)."""
    return getattr(func, "__s2s_split_of__", None) is not None
