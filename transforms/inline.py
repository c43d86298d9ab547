"""Local helpers: lambdas and `def`s written inside the differentiated function are expanded
at their call sites, so they see the enclosing function's current values exactly as a Python
closure does.

* `f = lambda v: ...` and `def f(v): return ...` are expanded inside expressions (`lower` does it).
* A `def` with several statements is expanded where it is called on its own line
  (`y = f(a)`, `f(a)`, `return f(a)`): its parameters and locals get fresh names and its body runs
  inside a one-trip `while True:` loop whose `break` stands for `return`.

* A call of a multi-statement `def` inside an expression (`g(x) + g(3 * x)`) is first taken out onto
  a line of its own (`g_value = g(x)`), innermost and leftmost first, as Python evaluates it; a list
  comprehension that calls one becomes a loop.
* `map`, `filter` and `zip(*xs)` whose result is consumed at once become list comprehensions (so a local
  function or lambda given to them is called, and expanded), and `sorted(xs, key=f)` the items of xs
  in the order of their keys (differentiable through the items; the keys only choose the order).

Helpers must have plain parameters and be called (directly or through map, filter, sorted), never
otherwise passed around, reassigned or recursive; anything else is refused with a clear error.
"""

from __future__ import annotations

import ast
import copy

from . import annotations, refusals
from .context import ctx
from .local_signatures import bind_local_calls
from .names import builtin, dotted_root, substituted
from .simplify import SINGLETONS, fold_identity_test
from .walk import fix_locations, walk


def spread(params, args):
    """The argument each parameter of a call's `params` gets from positional `args` (no keywords), one of which
    may be `*xs`: the parameters `*xs` fills are paired with None (it fills every parameter the other arguments
    leave: `lorenz(s, *p)` of `def lorenz(s, sigma, rho, beta)`); None where the arguments do not fill the
    parameters one each (two stars, too many arguments, too few)."""
    stars = [i for i, a in enumerate(args) if isinstance(a, ast.Starred)]
    if len(stars) > 1 or len(args) - len(stars) > len(params) or not stars and len(args) != len(params):
        return None
    if not stars:
        return list(zip(params, args))
    i, k = stars[0], len(params) - len(args) + 1
    if k == 0:
        return None  # (an empty `*xs`: left to the call)
    return list(zip(params, [*args[:i], *[None] * k, *args[i + 1:]]))


def star_count_check(items, count, func_name):
    """`s2s.star_count(items, count, 'f')`, a statement of its own: Python's TypeError where `*items` does not hold
    the `count` items the call of `f` takes (the unpacking s2s writes reads them by index)."""
    from .desugar import helper_attr
    call = ast.Call(func=helper_attr("s2s", "star_count", ctx().runtime.star_count),
                    args=[items, ast.Constant(count), ast.Constant(func_name)], keywords=[])
    return ast.Expr(value=call)


def star_bindings(pairs, args, name_of, func_name, fresh):
    """Statements binding the parameters `pairs` (from `spread`) to their arguments, in the arguments' order (the
    order Python evaluates them in): `name_of(p) = a` for a plain one (skipped where name_of gives None) and
    `(p1, p2, p3) = xs` for `*xs`, unpacked as the call unpacks it (its length checked first)."""
    out, k = [], 0
    for a in args:
        if isinstance(a, ast.Starred):
            covered = [p for p, _ in pairs[k:k + len(pairs) - len(args) + 1]]
            target = ast.Tuple(elts=[ast.Name(id=name_of(p), ctx=ast.Store()) for p in covered], ctx=ast.Store())
            if isinstance(a.value, ast.Name):
                out.append(star_count_check(copy.deepcopy(a.value), len(covered), func_name))
                out.append(ast.Assign(targets=[target], value=a.value))
            else:  # (evaluated once: into a name of its own first)
                items = ast.Name(id=fresh("items"), ctx=ast.Store())
                out.append(ast.Assign(targets=[items], value=a.value))
                out.append(star_count_check(ast.Name(id=items.id, ctx=ast.Load()), len(covered), func_name))
                out.append(ast.Assign(targets=[target], value=ast.Name(id=items.id, ctx=ast.Load())))
            k += len(covered)
        else:
            p = pairs[k][0]
            if name_of(p) is not None:
                out.append(ast.Assign(targets=[ast.Name(id=name_of(p), ctx=ast.Store())], value=a))
            k += 1
    return out


class LocalHelper:
    """A local function: parameter names and either the returned expression (`body`) or the
    statements of a longer function (`statements`)."""

    def __init__(self, name, params, body, statements=None, user_names=None):
        self.name = name
        self.params = params
        self.body = body
        self.statements = statements
        self.user_names = user_names or {}  # its names -> the names written (helpers expanded in it: renamed)

    def expand(self, args: list[ast.expr]) -> ast.expr:
        """The body with each parameter replaced by the matching argument (atoms)."""
        return substituted(self.body, dict(zip(self.params, args)))


def _single_return(fn):
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # docstring
    if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
        return body[0].value
    return None


def _gets_of_parameters(body: ast.expr, params) -> bool:
    """Whether `body` calls `.get` of one of `params` (or of its items: `p["l1"].get`)."""
    for node in walk(body):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            root = node.func.value
            while isinstance(root, ast.Subscript):
                root = root.value
            if isinstance(root, ast.Name) and root.id in params:
                return True
    return False


def _plain_params(args: ast.arguments):
    if args.vararg or args.kwarg or args.kwonlyargs or args.defaults or args.posonlyargs:
        return None
    return [a.arg for a in args.args]


def _name_returned_lambdas(tree: ast.FunctionDef):
    """`return lambda x: ...` in the function's own body becomes `s2s_lambda_k = lambda x: ...` then
    `return s2s_lambda_k`, so the lambda is a local function made as a value (a closure a helper returns)."""
    body = []
    for k, s in enumerate(tree.body):
        if isinstance(s, ast.Return) and isinstance(s.value, ast.Lambda):
            name = f"s2s_lambda_{k}"
            body.append(ast.copy_location(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=s.value), s))
            body.append(ast.copy_location(ast.Return(value=ast.Name(id=name, ctx=ast.Load())), s))
        else:
            body.append(s)
    tree.body = [fix_locations(s) for s in body]


_MADE_UP_LAMBDA = "s2s" + "_lambda"  # the prefix of the names s2s gives lambdas (not a node fact)


def _name_lambda_arguments(tree: ast.FunctionDef):
    """A lambda written inside a statement of the function's own body (`mlp(p, x, act=lambda z: z / 2)`,
    `fs = [np.sin, lambda z: z ** 3]`) is named on a line of its own just before that statement
    (`s2s_lambda_k = lambda z: z / 2`), so it becomes a local function made as a value like any other.
    Making a lambda has no effect and it reads the enclosing names when it is called, so making it one
    line earlier is the same program. Lambdas inside another lambda, a comprehension or a nested block
    keep their place (they are refused there, as before)."""
    body, count = [], 0
    for s in tree.body:
        if isinstance(s, ast.Assign) and isinstance(s.value, ast.Lambda) or \
                isinstance(s, ast.FunctionDef | ast.For | ast.While | ast.If | ast.With | ast.Try):
            body.append(s)
            continue
        found = []

        class Name(ast.NodeTransformer):
            def visit_Lambda(self, node):
                nonlocal count
                name = f"s2s_lambda_arg_{count}"
                count += 1
                found.append(ast.copy_location(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())],
                                                          value=node), node))
                return ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node)

            def visit(self, node):
                # comprehensions are scopes of their own (a lambda there may read their variables), and the
                # functions given to map, filter, sorted, min and max are expanded where they stand (below)
                if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp) or \
                        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                        node.func.id in ("map", "filter", "sorted", "min", "max"):
                    return node
                return super().visit(node)

        s = Name().visit(s)
        body.extend(found)
        body.append(s)
    tree.body = [fix_locations(s) for s in body]


def extract_local_helpers(pf, tree: ast.FunctionDef, alloc=None, record_params=()) -> dict[str, LocalHelper]:
    """Remove expandable local helpers from `tree.body` and return them by name (`alloc` names the code of
    those used as values; None: the allocator the pipeline recorded, transforms/refusals.py). `record_params`:
    as transforms/objects.py takes them (the methods of records passed in may be adopted)."""
    from .adopt import adopt_module_helpers
    adopt_module_helpers(pf, tree, alloc, record_params)
    rewrite_iteration(pf, tree)
    _name_returned_lambdas(tree)
    _name_lambda_arguments(tree)
    bind_local_calls(tree, pf.resolve)  # (`def g(y, *, s=2.0)` called by name only: plain parameters)
    helpers = {}
    kept = []
    for s in tree.body:
        helper = None
        if isinstance(s, ast.FunctionDef) and not s.decorator_list:
            body, params = _single_return(s), _plain_params(s.args)
            if body is not None and params is not None and _gets_of_parameters(body, params) \
                    and _expandable_statements(s):
                body = None  # (`p.get(k, v)` of a parameter: expanded before desugaring, which reads p's binding)
            if body is not None and params is not None:
                helper = LocalHelper(s.name, params, body)
            elif params is not None and _expandable_statements(s):
                helper = LocalHelper(s.name, params, None, s.body,
                                     user_names=annotations.get(s, annotations.USER_NAMES, {}))
        elif isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and isinstance(s.value, ast.Lambda):
            params = _plain_params(s.value.args)
            if params is not None:
                helper = LocalHelper(s.targets[0].id, params, s.value.body)
        if helper is None:
            kept.append(s)
            continue
        if helper.name in helpers:
            raise pf.error(ctx().unsupported, f"s2s cannot differentiate the local helper {helper.name!r} "
                           "defined twice", s, hint="give each helper its own name")
        helpers[helper.name] = helper
        helpers[helper.name].node = s
        kept.append(helper)  # where its value is made, if it is used as a value
    tree.body = [s for s in kept if not isinstance(s, LocalHelper)]
    values = _value_uses(tree, helpers)
    _check_uses(pf, tree, helpers, allowed=values)
    if values:
        tree.body = [_function_value(pf, tree, s, kept, alloc) if isinstance(s, LocalHelper) else s
                     for s in kept if not isinstance(s, LocalHelper) or s.name in values]
    return helpers


def _movable(pf, call, helpers) -> bool:
    """Whether a call can be moved after a local function's call on the same line: a primitive with a rule,
    a pure builtin, or a user function that updates none of its arguments."""
    import types

    import numpy as np
    if isinstance(call.func, ast.Name) and call.func.id in helpers:
        return True
    if isinstance(call.func, ast.Attribute) and annotations.is_helper(call.func.value):
        # (s2s's own helper, `s2s.receiver(model, Dense, "__call__")` of a record's method: a primitive with a rule)
        return ctx().has_rule(getattr(ctx().runtime, call.func.attr, None))
    try:
        obj = pf.resolve_expr(call.func)
    except Exception:  # noqa: BLE001
        return False
    if obj is ctx().missing:
        return False
    if ctx().has_rule(obj) or isinstance(obj, np.ufunc) or any(obj is b for b in _PURE_BUILTINS):
        return True
    module = str(getattr(obj, "__module__", None) or "")
    if module.startswith("numpy") and not module.startswith("numpy.random"):
        return True
    if isinstance(obj, types.FunctionType):
        from .desugar import local_names, summary_at
        names = local_names(pf.tree)
        bodies = {name: (h.params, h.statements if h.statements is not None else [ast.Return(value=h.body)])
                  for name, h in helpers.items()} if isinstance(helpers, dict) else {}
        summary = summary_at(pf, obj, call, lambda node: node.id in names, bodies)
        return summary is not None and not summary.updated_params and not summary.changes_outside
    return False


def _expands_in_place(pf, tree, name, helpers) -> bool:
    """Whether every statement of `tree` that calls `name` lets the expansion take the call out of its line:
    no other call there that may change what it reads, and the call not inside a lambda or comprehension."""
    scoped = (ast.Lambda, ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)
    for stmt in walk(tree):
        if not isinstance(stmt, ast.stmt) or stmt is tree:
            continue
        exprs = [v for f, v in ast.iter_fields(stmt) if isinstance(v, ast.expr)] + \
            [e for f, v in ast.iter_fields(stmt) if isinstance(v, list) for e in v if isinstance(e, ast.expr)]
        nodes = [n for e in exprs for n in walk(e)]
        if not any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name for n in nodes):
            continue
        if any(isinstance(n, scoped) for n in nodes):
            return False
        if not all(_movable(pf, n, helpers | {name}) for n in nodes if isinstance(n, ast.Call)):
            return False
    return True


def _value_uses(tree, helpers) -> set:
    """Names of local helpers used as values (passed on, stored, returned), not only called."""
    called = {id(n.func) for n in walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return {n.id for n in walk(tree) if isinstance(n, ast.Name) and n.id in helpers and
            isinstance(n.ctx, ast.Load) and id(n) not in called}


def _function_value(pf, tree, helper, kept, alloc=None):
    """`g = s2s.local_function(g_code, (w, b))` in place of the local `def g` (or `g = lambda ...`) whose
    value is used: the function Python would make, from your own code object (`g_code`, a runtime.LocalCode
    the generated code holds in its closure: transforms/refusals.py), its closure holding the values of
    the names it reads from the enclosing function. Python's closure would see a later rebinding of those
    names, this one would not, so each must be bound once, before the definition."""
    node = helper.node
    is_lambda = not isinstance(node, ast.FunctionDef)
    line = (node.value.lineno if is_lambda else node.lineno) + pf.first_line - 1
    name = "<lambda>" if is_lambda else node.name
    codes = _nested_codes(pf.func.__code__, name, line)
    if len(codes) > 1:  # two lambdas on one line: their code objects cannot be told apart by name and line
        which = "this lambda" if helper.name.startswith(_MADE_UP_LAMBDA) else repr(helper.name)
        raise pf.error(ctx().unsupported, f"s2s cannot tell which of the {len(codes)} functions defined on this line "
                       f"is {which}, to pass it as a value", node,
                       hint="write each lambda or def on a line of its own")
    code = codes[0] if codes else None
    if code is None:
        raise pf.error(ctx().unsupported, f"s2s cannot find the code of the local function {helper.name!r} to pass "
                       "it as a value", node, hint="define it at module level instead")
    params = {a.arg for a in walk(tree.args) if isinstance(a, ast.arg)}
    position = kept.index(helper)
    before = set(params)
    for s in kept[:position]:
        if not isinstance(s, LocalHelper):
            before |= {n.id for n in walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    stores = {}
    for s in tree.body:
        for n in walk(s):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                stores[n.id] = stores.get(n.id, 0) + 1
    for var in code.co_freevars:
        if var not in before or stores.get(var, 0) + (var in params) != 1 or \
                any(isinstance(s, ast.For | ast.While) and var in {n.id for n in walk(s) if isinstance(n, ast.Name)
                                                                   and isinstance(n.ctx, ast.Store)} for s in kept
                    if not isinstance(s, LocalHelper)):
            raise pf.error(ctx().unsupported, f"s2s passes the local function {helper.name!r} as a value only where "
                           f"each name it reads from the enclosing function is bound once, before it is defined; "
                           f"`{var}` is not", node,
                           hint=f"bind `{var}` once before defining {helper.name}, or pass it as an argument")
    from .desugar import helper_attr
    runtime = ctx().runtime
    record = refusals.site(pf, alloc, runtime.LocalCode(pf.func, code.co_name, code.co_firstlineno, code),
                           base=f"{helper.name}_code")
    cells = ast.Tuple(elts=[ast.Name(id=v, ctx=ast.Load()) for v in code.co_freevars], ctx=ast.Load())
    call = ast.Call(func=helper_attr("s2s", "local_function", runtime.local_function),
                    args=[record, cells], keywords=[])
    out = ast.Assign(targets=[ast.Name(id=helper.name, ctx=ast.Store())], value=call)
    return fix_locations(ast.copy_location(out, node))


def _nested_codes(code, name, line):
    """The code objects of the functions `name` defined at `line` inside `code` (searched through nested
    functions): more than one where several lambdas share a line."""
    import types
    out = []
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            if const.co_name == name and const.co_firstlineno == line:
                out.append(const)
            out.extend(_nested_codes(const, name, line))
    return out


def _check_uses(pf, tree, helpers, allowed=frozenset()):
    calls = set()
    for node in walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in helpers:
            calls.add(id(node.func))
            helper = helpers[node.func.id]
            if node.keywords or spread(helper.params, node.args) is None:
                raise pf.error(ctx().unsupported, f"s2s expands the local helper {helper.name!r} only when "
                               "it is called with one positional argument per parameter (or `*xs` for the "
                               "ones the others leave)", node)
    for node in walk(tree):
        if isinstance(node, ast.Name) and node.id in helpers and id(node) not in calls and \
                not (node.id in allowed and isinstance(node.ctx, ast.Load)):
            raise pf.error(ctx().unsupported, f"s2s can only call the local helper {node.id!r}; here it is "
                           "used as a value or reassigned", node, hint="define it at module level instead")
    for helper in helpers.values():
        for node in walk(helper.body if helper.body is not None else ast.Module(body=helper.statements)):
            if isinstance(node, ast.Name) and node.id in helpers:
                raise pf.error(ctx().unsupported, "s2s cannot expand a local helper that calls a local helper "
                               "(or itself)", helper.node, hint="define the helpers at module level")


def _expandable_statements(fn: ast.FunctionDef) -> bool:
    """No nested functions, no global/nonlocal, and no `return` inside a loop of the helper."""
    for node in walk(fn):
        if node is not fn and isinstance(node, ast.FunctionDef | ast.Lambda | ast.Global | ast.Nonlocal |
                                         ast.Yield | ast.YieldFrom):
            return False
    for loop in (n for n in walk(fn) if isinstance(n, ast.For | ast.While)):
        if any(isinstance(n, ast.Return) for n in walk(loop)):
            return False
    return True


class _Expander(ast.NodeTransformer):
    """Replaces statement-level calls of multi-statement local helpers by their bodies."""

    def __init__(self, pf, helpers, alloc, locals_=frozenset(), host_names=None):
        self.pf = pf
        self.helpers = {k: h for k, h in helpers.items() if h.statements is not None}
        self.alloc = alloc
        self.fixed = locals_  # the host's parameters it never binds again: one object each throughout
        self.host_names = host_names  # the host's own names (None: no function given is read in place)
        self.expanded_names = set()  # the names given the helpers' parameters and locals (code you wrote)
        self.results = set()  # the names the helpers' results are bound to
        self.user_names = {}  # the names given the helpers' parameters and locals -> the names written there

    def _helper_call(self, value):
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in self.helpers:
            return self.helpers[value.func.id]
        return None

    def visit_Assign(self, node):
        helper = self._helper_call(node.value)
        if helper is None or len(node.targets) != 1:
            return node
        result, stmts = self.expand(helper, node.value, node)
        return stmts + [ast.copy_location(ast.Assign(targets=node.targets, value=ast.Name(id=result, ctx=ast.Load())),
                                          node)]

    def visit_Expr(self, node):
        helper = self._helper_call(node.value)
        if helper is None:
            return node
        return self.expand(helper, node.value, node)[1]

    def visit_Return(self, node):
        helper = self._helper_call(node.value)
        if helper is None:
            return node
        result, stmts = self.expand(helper, node.value, node)
        return stmts + [ast.copy_location(ast.Return(value=ast.Name(id=result, ctx=ast.Load())), node)]

    def _functions_given(self, helper, call, assigned, taken) -> dict:
        """The parameters the helper only calls (`act(h @ W + b)`), given a module-level name or attributes of
        one (`np.tanh`, `relu`: adopt.py checked what they denote) that the host does not bind: read in place,
        `np.tanh(h @ W + b)`, so the call is the function's own (its rule, or its expansion)."""
        if self.host_names is None:
            return {}
        calls = {id(n.func) for s in helper.statements for n in walk(s) if isinstance(n, ast.Call)}
        out = {}
        for p, a in spread(helper.params, call.args):
            root = a and dotted_root(a)
            if p in assigned or p in taken or root is None or root.id in self.host_names:
                continue
            if root.id in assigned or root.id in helper.params:
                continue  # the helper names it itself (`relu = h @ W; act(relu)` given relu): the renaming that
                # follows would rename the function substituted with its own name
            reads = [n for s in helper.statements for n in walk(s) if isinstance(n, ast.Name) and n.id == p]
            if reads and all(id(n) in calls for n in reads):
                out[p] = a
        return out

    def expand(self, helper, call, where):
        """Statements running the helper's body on the call's arguments; the name holding its result."""
        assigned = {n.id for s in helper.statements for n in walk(s)
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del)}
        # a parameter given a constant and never bound again reads the constant itself (`axis=-1` stays a
        # literal axis for the passes after this one, as where the helper is written out by hand)
        # (`p is None` reads the constant only where it is None, True, False or ...: `0.5 is None` is False, but
        # compiled it warns, and a number's or tuple's identity is not the literal's)
        identity = _compared_by_identity(helper.statements)
        pairs = spread(helper.params, call.args)  # (a parameter `*xs` fills is paired with None)
        constants = {p: a for p, a in pairs
                     if a is not None and p not in assigned and _constant(a) and (p not in identity or _singleton(a))}
        # a parameter given a parameter of the host that the host never binds again, and never bound again
        # itself, is that name: both denote one object throughout (`params2 = params` would be an alias to
        # track, and its item reads would not be the argument's). (A local's value, `u` of a loop, keeps a
        # name of its own: the reads of it inside one call then add into an adjoint made afresh.)
        # (not where the helper renames that name as one of its own, a local or another parameter: the renaming
        # that follows would rename the substituted name with them, `x = 3.0; y = p * x` of a call given the
        # caller's `x` reading 3.0 * 3.0)
        named = {p: a for p, a in pairs if p not in assigned and p not in constants
                 and isinstance(a, ast.Name) and a.id in self.fixed}
        while True:
            renamed = assigned | {p for p in helper.params if p not in constants and p not in named}
            clash = {p for p, a in named.items() if a.id in renamed}
            if not clash:
                break
            named = {p: a for p, a in named.items() if p not in clash}
        constants.update(named)
        constants.update(self._functions_given(helper, call, assigned, constants))
        renames = {p: self.alloc.fresh(p) for p in helper.params if p not in constants}
        renames.update({n: self.alloc.fresh(n) for n in sorted(assigned) if n not in renames})
        self.expanded_names.update(renames.values())
        self.user_names.update({new: helper.user_names.get(old, old) for old, new in renames.items()})
        result = self.alloc.fresh(f"{helper.name}_result")
        self.results.add(result)
        body = []
        for s in helper.statements:
            for piece in _listed(_Substitute(constants).visit(copy.deepcopy(s))):
                body.extend(_listed(_Rename(renames, result).visit(piece)))
        body = _constants_propagated([s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))],
                                     kept=result)  # (the result is read after the body: its binding stays)
        stmts = star_bindings(pairs, call.args, lambda p: None if p in constants else renames[p], helper.name,
                              self.alloc.fresh)
        if _returns_at_end(helper.statements):  # straight on: no loop for its one `return` to leave
            stmts.extend(s for s in body if not isinstance(s, ast.Break))
        else:
            body.append(ast.Break())
            stmts.append(ast.Assign(targets=[ast.Name(id=result, ctx=ast.Store())], value=ast.Constant(None)))
            stmts.append(ast.While(test=ast.Constant(True), body=body, orelse=[]))
        for node in (n for piece in body for n in walk(piece)):  # (a helper of its own expanded in it: renamed too)
            inner = annotations.get(node, annotations.FRESH_LOCALS, None)
            if inner:
                annotations.put(node, annotations.FRESH_LOCALS, frozenset(renames.get(n, n) for n in inner))
        locals_ = {renames[n] for n in assigned if n in renames and n not in helper.params}
        if stmts and locals_:
            annotations.put(stmts[0], annotations.FRESH_LOCALS, frozenset(locals_))
        for s in stmts:
            ast.copy_location(s, where)
            fix_locations(s)
        return result, stmts


def _constant(node) -> bool:
    """A literal number, string, bool or None, or a tuple of them (`-1`, `(0, 1)`, `True`)."""
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return not any(isinstance(n, ast.List | ast.Dict | ast.Set) for n in walk(node))


def _constants_propagated(body: list, kept: str) -> list:
    """`axis2 = -1` at the top level of an expanded body (a helper's own helper given a constant), its name
    bound nowhere else and read only after it: the reads take the constant and the binding goes. The name
    `kept` (the helper's result, read after the body) keeps its binding."""
    stores, loads_before = {}, {}
    for k, s in enumerate(body):
        for n in walk(s):
            if isinstance(n, ast.Name):
                if isinstance(n.ctx, ast.Store | ast.Del):
                    stores[n.id] = stores.get(n.id, 0) + 1
                else:
                    loads_before.setdefault(n.id, k)
    values = {}
    identity = _compared_by_identity(body)
    for k, s in enumerate(body):
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and _constant(s.value):
            name = s.targets[0].id
            if name != kept and stores.get(name) == 1 and loads_before.get(name, k + 1) > k \
                    and (name not in identity or _singleton(s.value)):
                values[name] = s.value
    if not values:
        return body
    out = []
    for s in body:
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and s.targets[0].id in values:
            continue
        out.extend(_listed(_Substitute(values).visit(s)))
    return out


def _singleton(node) -> bool:
    """The literal None, True, False or `...`: the one object of its kind, so `is` compares it as `==` would."""
    return isinstance(node, ast.Constant) and any(node.value is v for v in SINGLETONS)


def _compared_by_identity(statements) -> set:
    """Names that are an operand of `is` or `is not` in `statements`."""
    return {n.id for s in statements for c in walk(s) if isinstance(c, ast.Compare)
            and any(isinstance(o, ast.Is | ast.IsNot) for o in c.ops)
            for n in [c.left, *c.comparators] if isinstance(n, ast.Name)}


def _listed(node_or_nodes) -> list:
    return node_or_nodes if isinstance(node_or_nodes, list) else [node_or_nodes]


class _Substitute(ast.NodeTransformer):
    """Loads of the names in `values` replaced by (copies of) their expressions; a condition that is then a
    constant (`out if True else np.squeeze(out)`, `if True:`) keeps only the branch Python takes."""

    def __init__(self, values):
        self.values = values

    def visit_Name(self, node):
        if node.id in self.values and isinstance(node.ctx, ast.Load):
            return ast.copy_location(copy.deepcopy(self.values[node.id]), node)
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        folded = fold_identity_test(node) if self.values else None  # `None is None`, `-1 is None`
        return node if folded is None else ast.copy_location(folded, node)

    def visit_IfExp(self, node):
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant) and self.values:
            return node.body if node.test.value else node.orelse
        return node

    def visit_If(self, node):
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant) and self.values:
            return (node.body if node.test.value else node.orelse) or ast.copy_location(ast.Pass(), node)
        return node


def fixed_parameters(fdef: ast.FunctionDef) -> set:
    """The parameters of `fdef` that its body never binds again (nor deletes)."""
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    bound = {n.id for n in walk(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del)}
    return params - bound


def _returns_at_end(statements) -> bool:
    """The helper's one `return` (with a value) is its last statement, at its top level."""
    returns = [n for s in statements for n in walk(s) if isinstance(n, ast.Return)]
    return len(returns) == 1 and returns[0] is statements[-1] and returns[0].value is not None


class _Rename(ast.NodeTransformer):
    def __init__(self, renames, result):
        self.renames = renames
        self.result = result

    def visit_Name(self, node):
        if node.id in self.renames:
            node.id = self.renames[node.id]
        return node

    def visit_Return(self, node):
        self.generic_visit(node)
        value = node.value or ast.Constant(None)
        out = [ast.Assign(targets=[ast.Name(id=self.result, ctx=ast.Store())], value=value), ast.Break()]
        return [ast.copy_location(s, node) for s in out]


def expand_statement_helpers(pf, tree: ast.FunctionDef, helpers: dict, alloc) -> None:
    """Expand the multi-statement helpers where they are called (calls inside expressions are first taken
    out onto lines of their own)."""
    multi = {k for k, h in helpers.items() if h.statements is not None}
    simple = {k: h for k, h in helpers.items() if h.statements is None}
    tree.body = hoist_block(pf, tree.body, multi, alloc, simple)
    if not multi:
        fix_locations(tree)
        return
    from .desugar import local_names
    expander = _Expander(pf, helpers, alloc, fixed_parameters(tree), local_names(tree) | set(pf.closure))
    expander.visit(tree)
    annotations.put(tree, annotations.EXPANDED_NAMES,
                    annotations.get(tree, annotations.EXPANDED_NAMES, frozenset()) | expander.expanded_names)
    annotations.put(tree, annotations.USER_NAMES,
                    {**annotations.get(tree, annotations.USER_NAMES, {}), **expander.user_names})
    annotations.put(tree, annotations.EXPANDED_RESULTS,
                    annotations.get(tree, annotations.EXPANDED_RESULTS, frozenset()) | expander.results)
    for node in walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in helpers \
                and helpers[node.func.id].statements is not None:
            raise pf.error(ctx().unsupported, f"s2s expands the local function {node.func.id!r} only where "
                           "it is called on its own line", node,
                           hint=f"write `y = {node.func.id}(...)` as a statement of its own, then use y")
    fix_locations(tree)


# ---- map, filter, zip(*...), sorted(key=...) and local functions inside expressions ---------------------

_CONSUMERS = ("list", "tuple", "sum", "sorted", "zip", "enumerate", "min", "max", "any", "all", "dict")


def _builtin_named(pf, node, name, local):
    """`node` is the builtin `name`, not shadowed by a local variable."""
    import builtins
    return isinstance(node, ast.Name) and node.id == name and node.id not in local and \
        pf.resolve(node.id) is getattr(builtins, name)


class _Fresh:
    def __init__(self, taken):
        self.taken = set(taken)

    def __call__(self, base):
        k = 0
        while f"{base}{k}" in self.taken:
            k += 1
        self.taken.add(f"{base}{k}")
        return f"{base}{k}"


def _called(pf, f, args, fresh):
    """The expression calling the function expression `f` on the argument expressions `args`: a lambda's
    body with its parameters replaced, else a call."""
    if isinstance(f, ast.Lambda):
        params = _plain_params(f.args)
        if params is None or len(params) != len(args):
            raise pf.error(ctx().unsupported, "s2s expands a lambda given to map, filter or sorted only with one "
                           "plain parameter per sequence", f, hint="write a list comprehension instead")
        mapping = dict(zip(params, args))

        class Sub(ast.NodeTransformer):
            def visit_Name(self, node):
                if node.id in mapping and isinstance(node.ctx, ast.Load):
                    return copy.deepcopy(mapping[node.id])
                return node

        return Sub().visit(copy.deepcopy(f.body))
    return ast.Call(func=copy.deepcopy(f), args=list(args), keywords=[])


def _zip_row(pf, call, row):
    """`s2s.zip_row(row, site)`: a row of `zip(*rows)` as read by position, refused at `call` where an iterator."""
    from .desugar import helper_attr
    text = ast.unparse(call)
    err = pf.error(ctx().unsupported, f"s2s cannot differentiate `{text}` where a row is a {{kind}}, which gives its "
                   "items once (an iterator): s2s reads each row by position, where zip takes one item of each per "
                   "step", call, hint=f"make each row a list first: `zip(*[list(row) for row in "
                                      f"{ast.unparse(call.args[0].value)}])`")
    site = {k: getattr(err, k) for k in ("message", "filename", "lineno", "col", "line", "hint")}
    return ast.Call(func=helper_attr("s2s", "zip_row", ctx().runtime.zip_row),
                    args=[row, refusals.site(pf, None, site)], keywords=[])


def _comprehension(pf, call, kind, fresh):
    """`map(f, a, b)` as `[f(u, v) for u, v in zip(a, b)]`, `filter(f, a)` as `[v for v in a if f(v)]`,
    `zip(a, b)` ("pairs") as `[(u, v) for u, v in zip(a, b)]`,
    `zip(*xs)` as `[tuple([s2s.zip_row(s, site)[k] for s in xs]) for k in range(min([len(s2s.zip_row(s, site))
    for s in xs], default=0))]` (zip_row: the row itself where indexing it gives its items, a dict's keys...)."""
    def name(n, ctx_=None):
        return ast.Name(id=n, ctx=ctx_ or ast.Load())

    if kind == "pairs":
        items = [fresh("item_") for _ in call.args]
        target = ast.Tuple(elts=[name(i, ast.Store()) for i in items], ctx=ast.Store())
        gen = ast.comprehension(target=target, iter=call, ifs=[], is_async=0)
        out = ast.ListComp(elt=ast.Tuple(elts=[name(i) for i in items], ctx=ast.Load()), generators=[gen])
        return ast.copy_location(out, call)
    if kind == "zip":
        seqs, s, k = call.args[0].value, fresh("seq_"), fresh("k_")
        inner = ast.ListComp(elt=ast.Subscript(value=_zip_row(pf, call, name(s)), slice=name(k), ctx=ast.Load()),
                             generators=[ast.comprehension(target=name(s, ast.Store()), iter=copy.deepcopy(seqs),
                                                           ifs=[], is_async=0)])
        lengths = ast.ListComp(elt=ast.Call(func=builtin("len"), args=[_zip_row(pf, call, name(s))], keywords=[]),
                               generators=[ast.comprehension(target=name(s, ast.Store()), iter=copy.deepcopy(seqs),
                                                             ifs=[], is_async=0)])
        count = ast.Call(func=builtin("min"), args=[lengths], keywords=[ast.keyword(arg="default", value=ast.Constant(0))])
        out = ast.ListComp(elt=ast.Call(func=builtin("tuple"), args=[inner], keywords=[]),
                           generators=[ast.comprehension(target=name(k, ast.Store()),
                                                         iter=ast.Call(func=builtin("range"), args=[count], keywords=[]),
                                                         ifs=[], is_async=0)])
        return ast.copy_location(out, call)
    f, seqs = call.args[0], call.args[1:]
    if call.keywords or not seqs or any(isinstance(a, ast.Starred) for a in call.args) or \
            (kind == "filter" and len(seqs) != 1):
        raise pf.error(ctx().unsupported, f"s2s expands {kind}(function, sequence{', ...' if kind == 'map' else ''}) "
                       "only", call, hint="write a list comprehension instead")
    if not isinstance(f, ast.Name | ast.Attribute | ast.Lambda) and not (kind == "filter" and
                                                                          isinstance(f, ast.Constant)):
        raise pf.error(ctx().unsupported, f"s2s expands {kind}(f, ...) where f is a name, a dotted name or a lambda",
                       f, hint=f"bind the function to a name first: `g = ...` then `{kind}(g, ...)`")
    items = [fresh("item_") for _ in seqs]
    target = name(items[0], ast.Store()) if len(items) == 1 else \
        ast.Tuple(elts=[name(i, ast.Store()) for i in items], ctx=ast.Store())
    source = copy.deepcopy(seqs[0]) if len(seqs) == 1 else ast.Call(func=builtin("zip"), args=copy.deepcopy(seqs),
                                                                      keywords=[])
    gen = ast.comprehension(target=target, iter=source, ifs=[], is_async=0)
    if kind == "map":
        out = ast.ListComp(elt=_called(pf, f, [name(i) for i in items], fresh), generators=[gen])
    else:
        test = name(items[0]) if isinstance(f, ast.Constant) and f.value is None else \
            _called(pf, f, [name(items[0])], fresh)
        gen.ifs = [test]
        out = ast.ListComp(elt=name(items[0]), generators=[gen])
    return ast.copy_location(out, call)


def rewrite_iteration(pf, tree: ast.FunctionDef) -> None:
    """map, filter and zip(*xs) where their result is consumed at once (by list, tuple, sum, sorted, zip,
    enumerate, min, max, any, all, a for loop, a comprehension or tuple unpacking) become list comprehensions; elsewhere
    (a map object kept in a variable, which Python would exhaust once) they are left alone."""
    local = {n.id for n in walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    local |= {a.arg for a in walk(tree.args) if isinstance(a, ast.arg)}
    fresh = _Fresh({n.id for n in walk(tree) if isinstance(n, ast.Name)} | local)

    def kind_of(node, plain_zip=False):
        if not isinstance(node, ast.Call):
            return None
        for kind in ("map", "filter"):
            if _builtin_named(pf, node.func, kind, local) and node.args:
                return kind
        if _builtin_named(pf, node.func, "zip", local) and len(node.args) == 1 and \
                isinstance(node.args[0], ast.Starred) and not node.keywords:
            return "zip"
        if plain_zip and _builtin_named(pf, node.func, "zip", local) and node.args and not node.keywords and \
                not any(isinstance(a, ast.Starred) for a in node.args):
            return "pairs"  # list(zip(a, b)): the list of tuples a comprehension over the zip makes
        return None

    made = {}  # id() of the comprehensions made here -> (comprehension, kind)
    # `for i, (a, b) in enumerate(zip(xs, ys))`: the loop runs over xs and ys themselves (transforms/loops.py),
    # the zip not made a list of tuples first (whose length shape inference does not know)
    loop_heads = {id(n.iter) for n in walk(tree) if isinstance(n, ast.For)}

    def consumed(e, plain_zip=False):
        kind = kind_of(e, plain_zip)
        if not kind:
            return e
        out = _comprehension(pf, e, kind, fresh)
        made[id(out)] = (out, kind)
        return out

    for node in walk(tree):
        if isinstance(node, ast.Call) and id(node) in loop_heads and _builtin_named(pf, node.func, "enumerate", local) \
                and node.args and kind_of(node.args[0], plain_zip=True) == "pairs":
            node.args = [node.args[0]] + [consumed(a, plain_zip=True) for a in node.args[1:]]
        elif isinstance(node, ast.Call) and any(_builtin_named(pf, node.func, c, local) for c in _CONSUMERS):
            node.args = [consumed(a, plain_zip=True) for a in node.args]
        elif isinstance(node, ast.Call):
            node.args = [ast.copy_location(ast.Starred(value=consumed(a.value), ctx=ast.Load()), a)
                         if isinstance(a, ast.Starred) else a for a in node.args]
        elif isinstance(node, ast.For):
            node.iter = consumed(node.iter)
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Tuple | ast.List) for t in node.targets):
            node.value = consumed(node.value, plain_zip=True)  # `a, b = zip(*pairs)` unpacks it at once
        elif isinstance(node, ast.comprehension):
            node.iter = consumed(node.iter)
    if made:
        _check_lazy_loops(pf, tree, made)
        _check_eager(pf, tree, made, local)
    fix_locations(tree)


def _local_defs(tree):
    """The local functions of `tree` (def and `name = lambda`) by name."""
    out = {}
    for s in walk(tree):
        if isinstance(s, ast.FunctionDef) and s is not tree:
            out[s.name] = s
        elif isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) and \
                isinstance(s.value, ast.Lambda):
            out[s.targets[0].id] = s.value
    return out


def _with_helpers(nodes, local_defs):
    """`nodes` and the bodies of the local functions they call, transitively."""
    out, seen, stack = [], set(), list(nodes)
    while stack:
        node = stack.pop()
        out.append(node)
        for n in walk(node):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in local_defs and \
                    n.func.id not in seen:
                seen.add(n.func.id)
                helper = local_defs[n.func.id]
                stack.extend(helper.body if isinstance(helper.body, list) else [helper.body])
    return out


class _Code:
    """What a piece of code run at another time than Python runs it does (effects) and reads."""

    def __init__(self, pf, nodes, local, local_defs, own=()):
        from . import effects
        nodes = _with_helpers(nodes, local_defs)
        self.nodes = nodes
        self.effects = [e for n in nodes for e in effects.impure_calls(pf, n, local)
                        if not (isinstance(e.node.func, ast.Name) and e.node.func.id in local_defs)]
        self.reads = set().union(*(effects.reads(n, pf) for n in nodes)) - set(own) if nodes else set()
        self.total = not self.effects and all(_total_call(pf, c, local, local_defs)
                                              for n in nodes for c in walk(n) if isinstance(c, ast.Call))


def _total_call(pf, call, local, local_defs):
    """Whether `call` is one that does not raise on an argument Python would not have given it: NumPy (values
    out of a domain give nan) or an array method."""
    import numpy as np
    func = call.func
    if isinstance(func, ast.Name) and func.id in local_defs:
        return True  # its body is checked on its own
    root = func
    while isinstance(root, ast.Attribute):
        root = root.value
    if isinstance(root, ast.Name) and root.id in local:
        return isinstance(func, ast.Attribute)  # an array method (others are effects, refused before)
    try:
        obj = pf.resolve_expr(func)
    except Exception:  # noqa: BLE001
        return False
    return isinstance(obj, np.ufunc) or (str(getattr(obj, "__module__", None) or "").split(".")[0] == "numpy")


def _comp_targets(comp):
    return {n.id for g in comp.generators for n in walk(g.target) if isinstance(n, ast.Name)}


def _base_sequence(node, made):
    """The sequence whose length is that of the zip argument `node`, as ast.dump text; None where unknown."""
    if id(node) in made:
        comp, kind = made[id(node)]
        if kind != "map":
            return None
        source = comp.generators[0].iter
        if isinstance(source, ast.Call) and isinstance(source.func, ast.Name) and source.func.id == "zip":
            bases = {_base_sequence(a, made) for a in source.args}
            return bases.pop() if len(bases) == 1 else None
        return _base_sequence(source, made)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range" and \
            len(node.args) == 1 and isinstance(node.args[0], ast.Call) and isinstance(node.args[0].func, ast.Name) \
            and node.args[0].func.id == "len" and len(node.args[0].args) == 1:
        node = node.args[0].args[0]
    if all(isinstance(n, ast.Name | ast.Attribute | ast.Subscript | ast.Constant | ast.Load | ast.expr_context)
           for n in walk(node)):
        return ast.dump(node)
    return None


def _exits_of_loop(loop):
    """break (of `loop`), return and raise statements in its body."""
    stack = [(s, False) for s in loop.body]
    while stack:
        node, nested = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(node, ast.Return | ast.Raise) or (isinstance(node, ast.Break) and not nested):
            yield node
        inner = nested or isinstance(node, ast.For | ast.While)
        stack.extend((c, inner) for c in ast.iter_child_nodes(node))


def _check_eager(pf, tree, made, local):
    """A map or filter made a list here calls its function on every item before the code consuming it runs.
    Refuse where Python would call it at other times with a result that could differ: the function and the
    code consuming the values (a loop body, a comprehension, another map zipped with it) may see each other's
    effects (random draws, methods of objects), or Python would not reach every item (a loop left by break,
    a zip with a sequence of another length, any/all) and the function draws random numbers or may fail
    on an item Python never gives it."""
    from . import effects
    parents = {id(c): p for p in walk(tree) for c in ast.iter_child_nodes(p)}
    local_defs = _local_defs(tree)

    def builtin(node, names):
        return isinstance(node, ast.Call) and any(_builtin_named(pf, node.func, n, local) for n in names)

    def producer(comp, kind):
        nodes = [comp.elt] if kind == "map" else list(comp.generators[0].ifs)
        return _Code(pf, nodes, local, local_defs, _comp_targets(comp))

    def refuse(node, why, hint):
        raise pf.error(ctx().unsupported, f"s2s cannot differentiate this {kind}(...): Python calls the function "
                       f"one item at a time, as the values are used, but s2s calls it on every item first, and "
                       f"{why}", node, hint=hint)

    for comp, kind in list(made.values()):
        if kind in ("zip", "pairs"):  # no function of its own to call
            continue
        mine = producer(comp, kind)
        node, siblings = comp, []
        while True:
            parent = parents.get(id(node))
            if builtin(parent, ("enumerate",)) and parent.args and parent.args[0] is node:
                node = parent
            elif builtin(parent, ("zip",)) and node in parent.args:
                siblings.append(parent)
                node = parent
            else:
                break
        hint = "loop over the sequence and call the function in the loop body (`for v in xs: a = f(v)`)"
        reach_all, consumer = True, None
        if isinstance(parent, ast.For) and parent.iter is node:
            consumer = _Code(pf, parent.body, local, local_defs)
            if next(_exits_of_loop(parent), None) is not None:
                reach_all = False
        elif isinstance(parent, ast.comprehension) and parent.iter is node:
            owner = parents[id(parent)]
            parts = [owner.elt] if hasattr(owner, "elt") else [owner.key, owner.value]
            k = owner.generators.index(parent)
            parts += [i for g in owner.generators[k:] for i in g.ifs] + [g.iter for g in owner.generators[k + 1:]]
            consumer = _Code(pf, parts, local, local_defs)
            if isinstance(owner, ast.GeneratorExp):
                reach_all = False  # a lazy generator expression: its consumer decides
        elif builtin(parent, ("list", "tuple", "sum", "sorted", "min", "max")) or \
                isinstance(parent, ast.Starred | ast.Assign):
            pass
        else:
            reach_all = False  # any/all, or a zip kept for later
        for z in siblings:
            others = [a for a in z.args if a is not comp and not any(a is s for s in siblings)]
            bases = {_base_sequence(a, made) for a in z.args if not any(n is comp for n in walk(a))}
            bases.add(_base_sequence(comp, made))
            if None in bases or len(bases) != 1:
                reach_all = False
            for other in others:
                if id(other) in made and made[id(other)][1] not in ("zip", "pairs"):
                    lazy = producer(*made[id(other)])
                elif isinstance(other, ast.GeneratorExp):
                    lazy = _Code(pf, [other], local, local_defs)
                else:
                    continue  # evaluated before zip runs, in Python too
                found = effects.conflict(mine.effects, mine.reads, lazy.effects, lazy.reads,
                                         ("its function", "the other sequence zipped with it"))
                if found:
                    refuse(found[0] or comp, found[1], "compute the values in one loop, in the order you mean "
                           "(`for u, v in zip(xs, ys): a = f(u); b = g(v)`)")
        if consumer is not None:
            found = effects.conflict(mine.effects, mine.reads, consumer.effects, consumer.reads,
                                     ("its function", "the code using the values"))
            if found:
                refuse(found[0] or comp, found[1], hint)
        if not reach_all and not mine.total:
            what = mine.effects[0].reason if mine.effects else "may fail on an item Python never gives it"
            refuse(comp, f"Python may stop before the last item (break, return, any/all, or zip with a sequence "
                   f"s2s cannot tell is as long), while the function {what}", hint)


def _check_lazy_loops(pf, tree, made):
    """`for v in map(f, xs):` calls f lazily, one item per trip; the list s2s makes calls it before the loop.
    That is the same only if the loop body changes nothing f or xs read: otherwise refused."""
    local = {n.id for n in walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    local |= {a.arg for a in walk(tree.args) if isinstance(a, ast.arg)}
    local_defs = {}
    for s in tree.body:
        if isinstance(s, ast.FunctionDef):
            local_defs[s.name] = s
        elif isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) and \
                isinstance(s.value, ast.Lambda):
            local_defs[s.targets[0].id] = s.value
    for loop in walk(tree):
        if not isinstance(loop, ast.For):
            continue
        comps = [n for n in walk(loop.iter) if id(n) in made]
        if not comps:
            continue
        reads = set()
        for comp in comps:
            for n in walk(comp):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                    reads.add(n.id)
                    if n.id in local_defs:
                        reads |= {m.id for m in walk(local_defs[n.id]) if isinstance(m, ast.Name)}
        changed = set()
        for st in loop.body:
            for n in walk(st):
                target = None
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    target = n
                elif isinstance(n, ast.Subscript | ast.Attribute) and isinstance(n.ctx, ast.Store):
                    target = n
                    while isinstance(target, ast.Subscript | ast.Attribute):
                        target = target.value
                elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):
                    target = n.func.value  # xs.append(...) and the like
                    while isinstance(target, ast.Subscript | ast.Attribute):
                        target = target.value
                if isinstance(target, ast.Name):
                    changed.add(target.id)
        clash = sorted(reads & changed & local)
        if clash:
            raise pf.error(ctx().unsupported, f"s2s cannot differentiate this loop over map/filter: Python calls the "
                           f"function one item at a time while the loop runs, and the loop changes `{clash[0]}`, which "
                           "the function or its sequence reads", loop.iter,
                           hint="call the function inside the loop body instead (`for x in xs: v = f(x)`)")


_PURE_BUILTINS = tuple(getattr(__import__("builtins"), n) for n in (
    "abs", "len", "range", "float", "int", "bool", "round", "min", "max", "sum", "list", "tuple", "zip", "enumerate",
    "sorted", "reversed", "isinstance", "dict", "pow", "map", "filter", "divmod", "complex"))


_READING_METHODS = ("keys", "values", "items")


def _reads_its_object(call) -> bool:
    """`d.keys()`, `d.values()`, `d.items()`: a dict's views, which change nothing `sorted` could read."""
    return isinstance(call.func, ast.Attribute) and call.func.attr in _READING_METHODS


class _Hoist(ast.NodeTransformer):
    """Inside one statement's expressions: each call of a multi-statement local function becomes a name
    assigned just before the statement (innermost and leftmost first, as Python evaluates them), a list
    comprehension holding one becomes a loop, and `sorted(xs, key=f)` becomes the items of xs in the
    order of the keys (differentiable through the items, not the keys)."""

    def __init__(self, pf, helpers, alloc, keep_top=None, simple=None):
        self.pf = pf
        self.helpers = helpers
        self.simple = simple or {}  # the local helpers of one returned expression, expanded where they stand
        self.alloc = alloc
        self.pre = []
        self.blocked = 0
        self.keep_top = keep_top
        self.impure = None  # the first call on the line that may have side effects, once it has run
        self.sources = True  # whether a comprehension's first source is rewritten where the comprehension is
        self.changing = None  # the first call on the line that may change an object, once it has run

    def _has_helper_call(self, node):
        return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in self.helpers
                   for n in walk(node))

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id == "sorted" and not self.blocked and \
                _builtin_named(self.pf, node.func, "sorted", set()) and len(node.args) == 1 and \
                all(k.arg in ("key", "reverse") for k in node.keywords):
            self._after_changing(node)  # (before its own argument's calls, which run before it anyway)
            node.args[0] = self.visit(node.args[0])
            return self._sorted(node)
        if isinstance(node.func, ast.Name) and node.func.id in ("min", "max") and not self.blocked and node.args \
                and _builtin_named(self.pf, node.func, node.func.id, set()) \
                and any(k.arg == "key" for k in node.keywords) and all(k.arg in ("key", "default") for k in node.keywords) \
                and not any(isinstance(a, ast.Starred) for a in node.args) \
                and (len(node.args) == 1 or not any(k.arg == "default" for k in node.keywords)) \
                and (len(node.args) > 1 or not self._lazy_with_effects(node.args[0])):
            self._after_changing(node)
            node.args = [self.visit(a) for a in node.args]
            return self._extreme_by_key(node)
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in self.helpers and node is not self.keep_top:
            if self.blocked:
                raise self.pf.error(ctx().unsupported, f"s2s cannot expand the local function {node.func.id!r} "
                                    "here (inside a lambda, a generator expression, or a comprehension that "
                                    "is itself inside a condition)", node,
                                    hint=f"compute `{node.func.id}(...)` in a statement of its own first")
            if self.impure:
                raise self.pf.error(ctx().unsupported, f"s2s cannot take the call of the local function "
                                    f"{node.func.id!r} out of this line: `{self.impure}(...)` runs before it here "
                                    "and may change what it reads", node,
                                    hint=f"compute `{node.func.id}(...)` in a statement of its own, before or after "
                                         f"the call of {self.impure} as you mean it")
            return self._bind(node, f"{node.func.id}_value")
        if not self.impure and not self._pure(node):
            self.impure = ast.unparse(node.func)
        if not self.changing and not self._pure(node) and not _reads_its_object(node):
            self.changing = ast.unparse(node.func)
        return node

    def _pure(self, call):
        if isinstance(call.func, ast.Name) and call.func.id in self.simple:
            # a local helper of one returned expression runs what that expression calls, and nothing else
            return all(_movable(self.pf, c, self.helpers) for c in walk(self.simple[call.func.id].body)
                       if isinstance(c, ast.Call))
        return _movable(self.pf, call, self.helpers)

    def _bind(self, value, base):
        name = self.alloc.fresh(base)
        self.pre.append(ast.copy_location(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=value),
                                          value))
        return ast.copy_location(ast.Name(id=name, ctx=ast.Load()), value)

    def _after_changing(self, node):
        """Refuse a `sorted(...)` or `max(..., key=)` whose items would be listed before the statement where a call
        earlier on the line may change them (`(L.append(0), sorted(L))`)."""
        if self.changing:
            what = f"{node.func.id}(...)"
            raise self.pf.error(ctx().unsupported, f"s2s cannot take `{what}` out of this line: "
                                f"`{self.changing}(...)` runs before it here and may change what it reads", node,
                                hint=f"compute `{what}` in a statement of its own, before or after the call of "
                                     f"{self.changing} as you mean it")

    def _sorted(self, node):
        key = next((k.value for k in node.keywords if k.arg == "key"), None)
        reverse = self.visit(next((k.value for k in node.keywords if k.arg == "reverse"), ast.Constant(False)))
        items = self._bind(ast.Call(func=builtin("list"), args=[node.args[0]], keywords=[]),
                           "items")
        v, i = self.alloc.fresh("v"), self.alloc.fresh("i")
        if key is None or isinstance(key, ast.Constant) and key.value is None:
            keys = items
        else:
            elt = _called(self.pf, key, [ast.Name(id=v, ctx=ast.Load())], None)
            comp = ast.ListComp(elt=elt, generators=[ast.comprehension(
                target=ast.Name(id=v, ctx=ast.Store()), iter=copy.deepcopy(items), ifs=[], is_async=0)])
            keys = self.visit(ast.copy_location(comp, node))
            if not isinstance(keys, ast.Name):  # (a comprehension calling a local function is a loop's list already)
                keys = self._bind(keys, "keys")
        order = ast.Call(func=builtin("sorted"), args=[ast.Call(
            func=builtin("range"), args=[ast.Call(func=builtin("len"),
                                                                     args=[copy.deepcopy(keys)], keywords=[])],
            keywords=[])], keywords=[ast.keyword(arg="key", value=ast.Attribute(value=copy.deepcopy(keys),
                                                                                attr="__getitem__", ctx=ast.Load())),
                                     ast.keyword(arg="reverse", value=reverse)])
        perm = self._bind(ast.copy_location(order, node), "order")
        out = ast.ListComp(elt=ast.Subscript(value=copy.deepcopy(items), slice=ast.Name(id=i, ctx=ast.Load()),
                                             ctx=ast.Load()),
                           generators=[ast.comprehension(target=ast.Name(id=i, ctx=ast.Store()), iter=perm, ifs=[],
                                                         is_async=0)])
        return ast.copy_location(out, node)

    def _lazy_with_effects(self, seq) -> bool:
        """Whether `seq` may be an iterator whose items run code as they come (a generator expression calling
        anything but range or len, `map(...)`, `filter(...)`, `iter(...)`): max and min call the key on each item as
        it comes, and a key may read what the next item changes. Such a sequence keeps the general path (a
        generator expression given to max with a key that changes objects is refused: transforms/generators.py)."""
        if isinstance(seq, ast.GeneratorExp):
            return any(isinstance(n, ast.Call) and not (isinstance(n.func, ast.Name) and n.func.id in ("range", "len")
                                                        and _builtin_named(self.pf, n.func, n.func.id, set()))
                       for n in walk(seq))
        if isinstance(seq, ast.Call) and isinstance(seq.func, ast.Name) and seq.func.id in ("map", "filter", "iter"):
            return _builtin_named(self.pf, seq.func, seq.func.id, set())  # (lazy, running code per item)
        return False

    def _extreme_by_key(self, node):
        """`max(seq, key=f)` (min, or of several arguments, `default=` of one sequence) as `sorted` is written (see
        `_sorted`): the items in a list, their keys in another, and the item at the position `max` (`min`) of the
        positions by their keys gives, the first of the greatest as Python's: the derivative goes to that item,
        the key only chooses it."""
        key = next(k.value for k in node.keywords if k.arg == "key")
        default = next((k.value for k in node.keywords if k.arg == "default"), None)
        listed = ast.Call(func=builtin("list"), args=[node.args[0]], keywords=[]) if len(node.args) == 1 \
            else ast.List(elts=list(node.args), ctx=ast.Load())
        items = self._bind(ast.copy_location(listed, node), "items")
        if not isinstance(key, ast.Lambda | ast.Name | ast.Attribute | ast.Constant):
            key = self._bind(self.visit(key), "key")  # (evaluated once, as Python does, not once per item)
        if default is not None:  # (evaluated whether the sequence is empty or not, before any key is called)
            default = self._bind(self.visit(default), "default")
        if isinstance(key, ast.Constant) and key.value is None:
            keys = items
        else:
            v = self.alloc.fresh("v")
            elt = _called(self.pf, key, [ast.Name(id=v, ctx=ast.Load())], None)
            comp = ast.ListComp(elt=elt, generators=[ast.comprehension(
                target=ast.Name(id=v, ctx=ast.Store()), iter=copy.deepcopy(items), ifs=[], is_async=0)])
            keys = self.visit(ast.copy_location(comp, node))
            if not isinstance(keys, ast.Name):
                keys = self._bind(keys, "keys")
        keywords = [ast.keyword(arg="key", value=ast.Attribute(value=copy.deepcopy(keys), attr="__getitem__",
                                                               ctx=ast.Load()))]
        if default is not None:
            keywords.append(ast.keyword(arg="default", value=ast.Constant(-1)))
        positions = ast.Call(func=builtin("range"), args=[ast.Call(func=builtin("len"), args=[copy.deepcopy(keys)],
                                                                   keywords=[])], keywords=[])
        at = self._bind(ast.copy_location(ast.Call(func=builtin(node.func.id), args=[positions], keywords=keywords),
                                          node), "at")
        chosen = ast.Subscript(value=copy.deepcopy(items), slice=copy.deepcopy(at), ctx=ast.Load())
        if default is not None:
            chosen = ast.IfExp(test=ast.Compare(left=copy.deepcopy(at), ops=[ast.GtE()], comparators=[ast.Constant(0)]),
                               body=chosen, orelse=default)
        return ast.copy_location(chosen, node)

    def _blocked(self, node):
        self.blocked += 1
        try:
            return self.generic_visit(node)
        finally:
            self.blocked -= 1

    def visit_Lambda(self, node):
        return self._blocked(node)

    def _comprehension(self, node):
        """A comprehension's first source is evaluated once, in the enclosing scope, where the comprehension is
        (`sum(v for k, v in sorted(d.items()))` sorts the items there); the rest is blocked."""
        if not self.sources:
            return self._blocked(node)
        node.generators[0].iter = self.visit(node.generators[0].iter)
        first, node.generators[0].iter = node.generators[0].iter, ast.Constant(value=None)
        try:
            return self._blocked(node)
        finally:
            node.generators[0].iter = first

    def visit_GeneratorExp(self, node):
        return self._comprehension(node)

    def visit_SetComp(self, node):
        return self._comprehension(node)

    def visit_DictComp(self, node):
        return self._comprehension(node)

    def visit_ListComp(self, node):
        if self.blocked or not self._has_helper_call(node):
            return self._comprehension(node)
        # [g(v) for v in xs if c] -> acc = []; for v' in xs: if c: acc.append(g(v'))
        renames = {n.id: self.alloc.fresh(n.id) for gen in node.generators for n in walk(gen.target)
                   if isinstance(n, ast.Name)}
        first = node.generators[0].iter  # (evaluated in the enclosing scope: its names are not the loop's)
        node = _Rename(renames, None).visit(copy.deepcopy(node))
        node.generators[0].iter = copy.deepcopy(first)
        acc = self.alloc.fresh("items")
        append = ast.Expr(value=ast.Call(func=ast.Attribute(value=ast.Name(id=acc, ctx=ast.Load()), attr="append",
                                                            ctx=ast.Load()), args=[node.elt], keywords=[]))
        body = [ast.copy_location(append, node)]
        for gen in reversed(node.generators):
            for cond in reversed(gen.ifs):
                body = [ast.copy_location(ast.If(test=cond, body=body, orelse=[]), node)]
            body = [ast.copy_location(ast.For(target=gen.target, iter=gen.iter, body=body, orelse=[]), node)]
        self.pre.append(ast.copy_location(ast.Assign(targets=[ast.Name(id=acc, ctx=ast.Store())],
                                                     value=ast.List(elts=[], ctx=ast.Load())), node))
        self.pre.extend(hoist_block(self.pf, body, self.helpers, self.alloc, self.simple))
        return ast.copy_location(ast.Name(id=acc, ctx=ast.Load()), node)

    def _branch(self, value, target):
        """Statements computing `value` into `target`, its local function calls taken out in front."""
        assign = ast.copy_location(ast.Assign(targets=[ast.Name(id=target, ctx=ast.Store())], value=value), value)
        return hoist_block(self.pf, [fix_locations(assign)], self.helpers, self.alloc, self.simple)

    def visit_IfExp(self, node):
        node.test = self.visit(node.test)
        if not self.blocked and (self._has_helper_call(node.body) or self._has_helper_call(node.orelse)):
            # `g(x) if c else h` -> if c: r = g(x) else: r = h  (only the branch taken runs, as in Python)
            name = self.alloc.fresh("choice")
            branch = ast.If(test=node.test, body=self._branch(node.body, name), orelse=self._branch(node.orelse, name))
            self.pre.append(fix_locations(ast.copy_location(branch, node)))
            return ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node)
        self.blocked += 1
        try:
            node.body = self.visit(node.body)
            node.orelse = self.visit(node.orelse)
        finally:
            self.blocked -= 1
        return node

    def visit_BoolOp(self, node):
        node.values[0] = self.visit(node.values[0])
        if not self.blocked and any(self._has_helper_call(v) for v in node.values[1:]):
            # `a and g(x)` -> r = a; if r: r = g(x)   (`or`: if not r), one value at a time
            name = self.alloc.fresh("cond")
            self.pre.append(fix_locations(ast.copy_location(
                ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=node.values[0]), node)))
            for v in node.values[1:]:
                test = ast.Name(id=name, ctx=ast.Load()) if isinstance(node.op, ast.And) else \
                    ast.UnaryOp(op=ast.Not(), operand=ast.Name(id=name, ctx=ast.Load()))
                self.pre.append(fix_locations(ast.copy_location(
                    ast.If(test=test, body=self._branch(v, name), orelse=[]), node)))
            return ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node)
        self.blocked += 1
        try:
            node.values[1:] = [self.visit(v) for v in node.values[1:]]
        finally:
            self.blocked -= 1
        return node


def hoist_block(pf, stmts, helpers, alloc, simple=None):
    """The statements with the calls of multi-statement local functions inside expressions (and sorted with
    a key) taken out in front of the statement that holds them."""
    out = []
    for s in stmts:
        top = s.value if isinstance(s, ast.Assign | ast.Expr | ast.Return) and isinstance(s.value, ast.Call) and \
            isinstance(s.value.func, ast.Name) and s.value.func.id in helpers and \
            (not isinstance(s, ast.Assign) or len(s.targets) == 1) else None
        h = _Hoist(pf, helpers, alloc, keep_top=top, simple=simple)
        if isinstance(s, ast.If):
            s.test = h.visit(s.test)
            s.body = hoist_block(pf, s.body, helpers, alloc, simple)
            s.orelse = hoist_block(pf, s.orelse, helpers, alloc, simple)
        elif isinstance(s, ast.For):
            s.iter = h.visit(s.iter)
            s.body = hoist_block(pf, s.body, helpers, alloc, simple)
        elif isinstance(s, ast.While):
            probe = _Hoist(pf, helpers, alloc)
            probe.sources = False  # (a comprehension's sorted source there stays where it is, as before)
            probe.visit(copy.deepcopy(s.test))
            if probe.pre:
                raise pf.error(ctx().unsupported, "s2s cannot expand a local function or sorted(...) in a while "
                               "loop's condition", s.test, hint="compute it in a variable before the loop and again "
                                                                "at the end of its body")
            s.body = hoist_block(pf, s.body, helpers, alloc, simple)
        elif isinstance(s, ast.FunctionDef | ast.ClassDef):
            pass
        else:
            for field_name, value in ast.iter_fields(s):
                if isinstance(value, ast.expr):
                    setattr(s, field_name, h.visit(value))
                elif isinstance(value, list):
                    setattr(s, field_name, [h.visit(v) if isinstance(v, ast.expr) else v for v in value])
        for p in h.pre:
            fix_locations(p)
        out.extend(h.pre)
        out.append(s)
    return out
