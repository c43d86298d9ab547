"""Dataflow facts about a lowered function.

* activity: a name is *varied* if it depends differentiably on an input we
  differentiate, *useful* if the output depends differentiably on it, and
  *active* if both. Only active names get adjoints or tangents.
* kinds: which names may hold containers (lists, tuples, dicts) rather than
  numbers or arrays, so accumulation can use plain `+` everywhere else.
* assignment counts, used to decide which overwritten values to record.
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass, field

from . import annotations
from .context import ctx, missing
from .walk import walk

NONDIFF_ATTRS = {"shape", "ndim", "size", "dtype", "itemsize", "nbytes"}
_OP_NAMES = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mult", ast.Div: "div", ast.Pow: "pow",
             ast.MatMult: "matmul", ast.Mod: "mod", ast.FloorDiv: "floordiv", ast.USub: "usub",
             ast.UAdd: "uadd", ast.Not: "not_", ast.Invert: "invert", ast.BitAnd: "bitand",
             ast.BitOr: "bitor", ast.BitXor: "bitxor", ast.LShift: "lshift", ast.RShift: "rshift"}


def op_name(op: ast.AST) -> str:
    """The rule name of an operator node."""
    return "op:" + _OP_NAMES[type(op)]


def resolve_call(pf, call: ast.Call):
    """The object a call's function expression denotes, or `missing()` (also for a callee held in a
    local variable, known only at run time: `is_dynamic_call`)."""
    obj = annotations.resolved(call.func)
    if obj is not None:
        return obj
    if is_dynamic_call(call):
        return missing()
    return pf.resolve_expr(call.func)


def has_star(call) -> bool:
    """A call with `*xs` or `**d` among its arguments."""
    return isinstance(call, ast.Call) and (any(isinstance(a, ast.Starred) for a in call.args) or
                                           any(k.arg is None for k in call.keywords))


def is_dynamic_call(call) -> bool:
    """A lowered call whose callee is a local value (`f(x)` with `f` a parameter or local variable,
    `rng.normal(size=3)` with `rng` one): it is known only at run time (s2s.call_vjp, s2s.call_jvp)."""
    if not isinstance(call, ast.Call) or annotations.resolved(call.func) is not None or is_append(call) \
            or is_pop(call):
        return False
    root = call.func
    while isinstance(root, ast.Attribute):
        root = root.value
    return isinstance(root, ast.Name) and not annotations.is_global(root) and not annotations.is_helper(root)


def is_user_function(obj) -> bool:
    """A Python function s2s can read and transform itself (its own runtime helpers need rules), or a
    gradient function s2s made and marked `__s2s_nested__` (its derivatives come from s2s/nested.py)."""
    return inspect.isfunction(obj) and ctx().lookup(obj) is None and not ctx().is_runtime_helper(obj) \
        and (ctx().user_code(obj) or _marked(obj))


def is_callable_object(obj) -> bool:
    """An object of a class of the user's whose `__call__` is a Python function of theirs (a layer object
    called as `layer(x)`) and that has no rule of its own: called through s2s.call_vjp / call_jvp, which
    differentiate its `__call__` with the object bound first."""
    if isinstance(obj, type) or inspect.isroutine(obj) or obj is missing():
        return False
    call = inspect.getattr_static(type(obj), "__call__", None)
    if not inspect.isfunction(call) or not ctx().user_code(call):
        return False
    try:
        return ctx().lookup(obj) is None
    except TypeError:  # unhashable: no rule can name it
        return True


def _marked(obj) -> bool:
    """A gradient function s2s made, marked by s2s.grad (the mark says whether it is on that very function:
    functools.wraps copies it onto the functions that wrap one)."""
    mark = getattr(obj, "__s2s_nested__", None)
    return mark is not None and mark(obj)


def is_append(e) -> bool:
    """`L.append(v)` as it survives lowering."""
    return isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "append" \
        and not annotations.is_helper(e.func.value) and isinstance(e.func.value, ast.Name) \
        and not annotations.is_global(e.func.value)


def is_pop(e) -> bool:
    """`L.pop()` as it survives lowering (generated reverse code restores values this way)."""
    return isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "pop" \
        and not e.args and isinstance(e.func.value, ast.Name) and not annotations.is_global(e.func.value)


def atom_names(e) -> list[str]:
    """Local names an atom or a list of atoms refers to."""
    if e is None:
        return []
    if isinstance(e, ast.Name):
        return [] if annotations.is_global(e) else [e.id]
    if isinstance(e, list):
        return [n for x in e for n in atom_names(x)]
    return [n.id for n in walk(e) if isinstance(n, ast.Name) and not annotations.is_global(n)]


def diff_inputs(pf, value: ast.expr) -> list[str]:
    """Names whose derivative flows into `value` (one lowered operation)."""
    if isinstance(value, ast.Name):
        return atom_names(value)
    if isinstance(value, ast.BinOp):
        rule = ctx().lookup(op_name(value.op))
        return [] if rule.nondiff else atom_names([value.left, value.right])
    if isinstance(value, ast.UnaryOp):
        rule = ctx().lookup(op_name(value.op))
        return [] if rule.nondiff else atom_names(value.operand)
    if isinstance(value, ast.Compare | ast.JoinedStr | ast.Constant):
        return []
    if isinstance(value, ast.Call):
        if is_append(value):
            return atom_names(value.args)
        if is_pop(value):
            return atom_names(value.func.value)
        if is_dynamic_call(value) or has_star(value):  # the callee is an input too: a function made from a varied value is varied
            return atom_names(value.func) + atom_names(value.args) + atom_names([k.value for k in value.keywords])
        obj = resolve_call(pf, value)
        rule = ctx().lookup(obj) if obj is not missing() else None
        if rule is not None:
            if rule.nondiff:
                return []
            try:
                bound = rule.bind(value.args, {k.arg: k.value for k in value.keywords})
            except TypeError:
                return atom_names(value.args) + atom_names([k.value for k in value.keywords])
            # a parameter declared to carry no derivative (tangent None, no adjoint: shape-only or zero) is
            # no input; one merely without templates is (a varied value there is refused, not dropped)
            return [n for p, a in bound.items() if rule.vjp.get(p) is not None or rule.jvp.get(p, "") is not None
                    for n in atom_names(a)]
        if obj in (range, len, type, isinstance):
            return []
        return atom_names(value.args) + atom_names([k.value for k in value.keywords])
    if isinstance(value, ast.Subscript):
        return atom_names(value.value)
    if isinstance(value, ast.Attribute):
        return [] if value.attr in NONDIFF_ATTRS else atom_names(value.value)
    if isinstance(value, ast.Tuple | ast.List):
        return atom_names(value.elts)
    if isinstance(value, ast.Dict):
        return atom_names(value.values)
    return []


def param_names(tree: ast.FunctionDef) -> list[str]:
    """Every parameter of a function, `*args` and `**kwargs` included (a tuple and a dict)."""
    a = tree.args
    return [p.arg for p in a.posonlyargs + a.args + ([a.vararg] if a.vararg else []) + a.kwonlyargs +
            ([a.kwarg] if a.kwarg else [])]


@dataclass
class Facts:
    """What the analysis learned about one lowered function."""

    varied: set = field(default_factory=set)
    useful: set = field(default_factory=set)
    containers: set = field(default_factory=set)
    scalars: set = field(default_factory=set)
    assign_count: dict = field(default_factory=dict)

    @property
    def active(self) -> set:
        """Names that need an adjoint (or tangent)."""
        return self.varied & self.useful


def edges(pf, stmts, out=None):
    """(target, [inputs]) pairs for every definition in a block, recursively."""
    out = [] if out is None else out
    for s in stmts:
        if isinstance(s, ast.Assign):
            t = s.targets[0]
            if isinstance(t, ast.Name):
                out.append((t.id, diff_inputs(pf, s.value), s))
            else:  # y[i] = v
                out.append((t.value.id, [t.value.id] + atom_names(s.value), s))
        elif isinstance(s, ast.Expr) and is_append(s.value):
            name = s.value.func.value.id
            out.append((name, [name] + atom_names(s.value.args), s))
        elif isinstance(s, ast.If):
            edges(pf, s.body, out)
            edges(pf, s.orelse, out)
        elif isinstance(s, ast.For | ast.While):
            if isinstance(s, ast.For):
                out.append((s.target.id, [], s))
            edges(pf, s.body, out)
            edges(pf, annotations.get(s, annotations.LOOP_TEST, []), out)
    return out


_SCALAR_BUILTINS = {float, int, abs, len, round, min, max, bool, pow}


def _is_scalar_atom(e, scalars) -> bool:
    if isinstance(e, ast.Constant):
        return isinstance(e.value, int | float | bool) or e.value is None
    if isinstance(e, ast.UnaryOp) and isinstance(e.operand, ast.Constant):
        return True
    return isinstance(e, ast.Name) and not annotations.is_global(e) and e.id in scalars


def scalar_value(pf, v, scalars) -> bool:
    """True when the lowered expression `v` certainly produces a scalar (shape ())."""
    import math
    if isinstance(v, ast.Constant | ast.Name):
        return _is_scalar_atom(v, scalars)
    if isinstance(v, ast.BinOp):
        return not isinstance(v.op, ast.MatMult) and _is_scalar_atom(v.left, scalars) and _is_scalar_atom(v.right, scalars)
    if isinstance(v, ast.UnaryOp):
        return _is_scalar_atom(v.operand, scalars)
    if isinstance(v, ast.Compare):
        return _is_scalar_atom(v.left, scalars) and all(_is_scalar_atom(c, scalars) for c in v.comparators)
    if isinstance(v, ast.Call) and not is_append(v):
        obj = resolve_call(pf, v)
        args = list(v.args) + [k.value for k in v.keywords]
        if obj is len:
            return True
        if getattr(obj, "__module__", None) == "math" or obj is getattr(math, getattr(obj, "__name__", ""), None) \
                or any(obj is b for b in _SCALAR_BUILTINS):  # (not `in`: a dataclass object may be unhashable)
            return all(_is_scalar_atom(a, scalars) for a in args)
    return False


def _scalars(pf, es, known):
    """Greatest fixed point: names whose every assignment yields a scalar."""
    candidates = {t for t, _, _ in es} | set(known)
    while True:
        drop = set()
        for target, _, s in es:
            if target not in candidates or target in drop:
                continue
            if isinstance(s, ast.For):
                continue  # a range loop variable is an int
            if isinstance(s, ast.While):
                continue
            if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name) and scalar_value(pf, s.value, candidates):
                continue
            drop.add(target)
        if not drop:
            return candidates
        candidates -= drop


def analyze(pf, tree: ast.FunctionDef, wrt: list[str], scalar_params=()) -> Facts:
    """Activity, kinds and assignment counts for a lowered function."""
    facts = Facts()
    es = edges(pf, tree.body)
    params = param_names(tree)
    for p in params:
        facts.assign_count[p] = 1
    for target, _, _ in es:
        facts.assign_count[target] = facts.assign_count.get(target, 0) + 1
    facts.varied = set(wrt)
    changed = True
    while changed:
        changed = False
        for target, inputs, _ in es:
            if target not in facts.varied and any(i in facts.varied for i in inputs):
                facts.varied.add(target)
                changed = True
    ret = tree.body[-1]
    facts.useful = set(atom_names(ret.value))
    changed = True
    while changed:
        changed = False
        for target, inputs, _ in es:
            if target in facts.useful:
                for i in inputs:
                    if i not in facts.useful:
                        facts.useful.add(i)
                        changed = True
    numeric_uses = set()
    for _, _, s in es:
        v = getattr(s, "value", None)
        if isinstance(s, ast.Assign) and isinstance(v, ast.BinOp | ast.UnaryOp):
            numeric_uses.update(atom_names(v))
        elif isinstance(s, ast.Assign) and isinstance(v, ast.Call) and not is_append(v):
            obj = resolve_call(pf, v)
            rule = ctx().lookup(obj) if obj is not missing() else None
            # len(x), isinstance(x, t): nondifferentiable rules take lists too, so they tell nothing
            if rule is not None and not rule.varargs and not rule.nondiff and \
                    getattr(obj, "__name__", "") != "as_sequence":
                numeric_uses.update(atom_names(v.args))
    facts.containers = set(params) - numeric_uses
    changed = True
    while changed:
        changed = False
        for target, _, s in es:
            if target in facts.containers or not isinstance(s, ast.Assign) or not isinstance(s.targets[0], ast.Name):
                continue
            v = s.value
            if isinstance(v, ast.List | ast.Tuple | ast.Dict) or \
                    (isinstance(v, ast.Name | ast.Subscript) and atom_names(v)[:1] and
                     atom_names(v)[0] in facts.containers) or \
                    (isinstance(v, ast.Call) and is_user_function(resolve_call(pf, v))) or \
                    (isinstance(v, ast.Call) and is_dynamic_call(v)) or \
                    (isinstance(v, ast.Call) and getattr(resolve_call(pf, v), "__name__", "") == "as_sequence") or \
                    (isinstance(v, ast.Call) and _structured(pf, v)) or \
                    (isinstance(v, ast.Call) and _copies_a_container(pf, v, facts.containers)):
                facts.containers.add(target)
                changed = True
    params_set = set(params)
    facts.scalars = _scalars(pf, [e for e in es if e[0] not in params_set or e[0] in scalar_params], scalar_params)
    facts.scalars -= params_set - set(scalar_params)
    facts.containers -= facts.scalars
    return facts


def _copies_a_container(pf, call, containers) -> bool:
    """`s2s.copy(L)` (what `L.copy()` lowers to) of a name that may hold a list or dict: the copy may be one
    too, so its adjoint is accumulated with s2s.add (`+` would concatenate two lists of item adjoints)."""
    names = atom_names(call.args)
    return len(call.args) == 1 and names[:1] and names[0] in containers and \
        resolve_call(pf, call) is ctx().runtime.copy


def _structured(pf, call) -> bool:
    """A call of a primitive whose value may be a tuple (divmod, np.linspace(..., retstep=True)...):
    its adjoint is accumulated part by part (s2s.add), never with `+`, which would concatenate."""
    if is_append(call):
        return False
    obj = resolve_call(pf, call)
    rule = ctx().lookup(obj) if obj is not missing() else None
    return rule is not None and rule.structured and not rule.nondiff


def bind_user_call(pf, call: ast.Call):
    """Match a call to a user function against its signature.

    Returns (function, [(parameter position, parameter name, argument atom), ...]); the arguments a
    `*args` parameter collects are one ast.Tuple, those a `**kwargs` parameter collects one ast.Dict.
    """
    import inspect
    func = resolve_call(pf, call)
    sig = inspect.signature(func)
    try:
        bound = sig.bind(*range(len(call.args)), **{k.arg: ("kw", k.arg) for k in call.keywords})
    except TypeError as exc:
        raise pf.error(ctx().unsupported, f"call to {func.__name__} does not match its signature: {exc}",
                       call) from None
    params = list(sig.parameters)

    def arg_of(marker):
        if isinstance(marker, int):
            return call.args[marker]
        return next(k.value for k in call.keywords if k.arg == marker[1])

    out = []
    for pname, marker in bound.arguments.items():
        kind = sig.parameters[pname].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            arg = ast.Tuple(elts=[arg_of(m) for m in marker], ctx=ast.Load())
        elif kind is inspect.Parameter.VAR_KEYWORD:
            arg = ast.Dict(keys=[ast.Constant(k) for k in marker], values=[arg_of(m) for m in marker.values()])
        else:
            arg = arg_of(marker)
        out.append((params.index(pname), pname, arg))
    return func, out


def check_discarded_call(pf, stmt) -> None:
    """An expression statement `f(...)` of a function with a rule: its value is dropped, so it matters only for
    what it may do to its arguments; its arguments are matched to the rule as an assignment's would be, so that
    an argument the rule takes only at its default (`copy=False` of np.nan_to_num, which changes its argument in
    place and hands it back) is refused as there, and arguments given by `*` or `**` are refused."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return
    call = stmt.value
    try:
        rule = ctx().lookup(resolve_call(pf, call))
    except TypeError:  # (an object that cannot be looked up)
        return
    if rule is None or rule.nondiff:
        return
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        raise pf.error(ctx().unsupported, "s2s cannot match this call to its rule: its arguments are given by "
                       "* or ** and its value is not used, so it is called for what it may do to them", call,
                       hint="write the arguments out, or assign the call's value")
    try:
        rule.bind(call.args, {k.arg: k.value for k in call.keywords})
    except TypeError as exc:
        raise pf.error(ctx().unsupported, f"s2s cannot match this call to its rule: {exc}", call,
                       hint=getattr(exc, "hint", None)) from None
