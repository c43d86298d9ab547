"""Generators the user's code consumes at once, as lists.

* A generator function of the user's whose calls are all consumed at once and completely
  (`for W, b in layers(w):` without break/return/raise, `list(...)`, `tuple(...)`, `sum(...)`,
  `min/max/sorted(...)`, a list comprehension's source) is differentiated as the same function with
  each `yield e` adding `e` to a list that it returns at its end and at each bare `return`.
  That is what Python computes only if nothing the generator reads changes between its steps, so the
  consuming loop may not update anything in place that the generator could reach (refused otherwise).
* A generator expression given to list, tuple, sum, min, max, sorted, math.fsum or math.prod becomes a list comprehension
  (the same values in the same order: those consumers take every element anyway).
* Any other use (next(g), a generator kept in a variable, yield from, send, any/all) is refused
  at the user's line with a hint.

    >>> import ast
    >>> tree = ast.parse("def g(w):\\n    for v in w:\\n        yield v * 2").body[0]
    >>> print(ast.unparse(as_list_function(None, tree)))
    def g(w):
        yielded_ = []
        for v in w:
            yielded_ = yielded_ + [v * 2]
        return yielded_
"""

from __future__ import annotations

import ast
import builtins
import inspect

from .context import ctx
from .names import global_object
from .walk import fix_locations, parent_map, walk

CONSUMERS = ("list", "tuple", "sum", "min", "max", "sorted")  # take every element, in order
SHORT_CIRCUIT = ("any", "all")
# methods that update their receiver in place (arrays, lists, dicts)
_UPDATING = {"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "fill", "update",
             "setdefault", "put", "itemset", "resize", "partition", "popitem", "setflags", "__setitem__",
             "__iadd__", "__isub__", "__imul__", "__itruediv__"}
_HINT = "make {name} return a list (collect the values with .append) and loop over that"


def _own_nodes(tree: ast.FunctionDef):
    """The nodes of `tree`'s own body, not those of functions or lambdas defined inside it."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        stack.extend(ast.iter_child_nodes(node))


def is_generator(tree: ast.FunctionDef) -> bool:
    """Whether the function `tree` is a generator function (a yield in its own body)."""
    return any(isinstance(n, ast.Yield | ast.YieldFrom) for n in _own_nodes(tree))


def as_list_function(pf, tree: ast.FunctionDef) -> ast.FunctionDef:
    """Rewrite the generator function `tree` in place into the function returning the list of what it yields."""
    acc = _fresh_name(tree, "yielded_")
    _check_generator(pf, tree)

    class Rewrite(ast.NodeTransformer):
        def visit(self, node):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
                return node  # nested functions keep their own yields (refused or handled on their own)
            return super().visit(node)

        def visit_Expr(self, node):
            if not isinstance(node.value, ast.Yield):
                return node
            value = node.value.value or ast.Constant(value=None)
            # acc = acc + [e], a new list each time rather than acc.append(e): a list returned early is never
            # updated after, and the code differentiated again (Hessians) holds no list updated in place.
            # (Copying the list of references makes n yields cost O(n**2) pointer copies: 10**4 yields ~1 s.)
            new = ast.BinOp(left=ast.Name(id=acc, ctx=ast.Load()), op=ast.Add(),
                            right=ast.List(elts=[value], ctx=ast.Load()))
            out = ast.Assign(targets=[ast.Name(id=acc, ctx=ast.Store())], value=new)
            return ast.copy_location(out, node)

        def visit_Return(self, node):
            return ast.copy_location(ast.Return(value=ast.Name(id=acc, ctx=ast.Load())), node)

    body = [Rewrite().visit(s) for s in tree.body]
    start = 1 if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
        and isinstance(body[0].value.value, str) else 0
    init = ast.Assign(targets=[ast.Name(id=acc, ctx=ast.Store())], value=ast.List(elts=[], ctx=ast.Load()))
    end = ast.Return(value=ast.Name(id=acc, ctx=ast.Load()))
    anchor = tree.body[0]
    tree.body = body[:start] + [ast.copy_location(init, anchor)] + body[start:] + \
        [ast.copy_location(end, tree.body[-1])]
    fix_locations(tree)
    return tree


def _check_generator(pf, tree):
    """Refuse yield from, a yield whose value is used (send) and a return with a value."""
    statements = {id(n.value) for n in _own_nodes(tree) if isinstance(n, ast.Expr)}
    for node in sorted(_own_nodes(tree), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
        if isinstance(node, ast.YieldFrom):
            raise _error(pf, "s2s cannot differentiate yield from (a generator delegating to another)", node,
                         f"use a loop instead: `for v in ...: yield v`, or {_HINT.format(name=tree.name)}")
        if isinstance(node, ast.Yield) and id(node) not in statements:
            raise _error(pf, "s2s cannot differentiate a yield whose value is used (a generator driven by "
                         "send)", node, _HINT.format(name=tree.name))
        if isinstance(node, ast.Return) and node.value is not None:
            raise _error(pf, "s2s cannot differentiate a generator that returns a value (StopIteration.value)",
                         node, "use a bare `return`")


def _error(pf, message, node, hint):
    if pf is None:
        return SyntaxError(message)
    return pf.error(ctx().unsupported, message, node, hint=hint)


def _builtin(pf, func, names, local):
    """The name of the builtin among `names` that the call's function `func` is, or None."""
    if isinstance(func, ast.Name) and func.id in names and func.id not in local and \
            pf.resolve(func.id) is getattr(builtins, func.id):
        return func.id
    return None


def _local_names(tree):
    out = {a.arg for a in walk(tree.args) if isinstance(a, ast.arg)}
    out |= {n.id for n in walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return out


def _generator_function(pf, call, local):
    """The user's generator function that `call` calls, or None."""
    obj = global_object(pf, call.func, local)
    return obj if inspect.isgeneratorfunction(obj) else None


def rewrite_expressions(pf, tree: ast.FunctionDef) -> None:
    """Generator expressions given to list, tuple, sum, min, max or sorted become list comprehensions, and so
    do iterators those take at once (`list(reversed(xs))` is `list([v for v in reversed(xs)])`, a loop s2s
    differentiates); generator expressions given to any/all or to NumPy are refused with the reason."""
    local = _local_names(tree)
    for node in walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if (_builtin(pf, node.func, CONSUMERS, local) or _math_consumer(pf, node.func)) and len(node.args) == 1 \
                and not node.keywords and _plain_iterator(pf, node.args[0], local):
            item = _fresh_name(tree, "item")
            loop = ast.comprehension(target=ast.Name(id=item, ctx=ast.Store()), iter=node.args[0], ifs=[], is_async=0)
            node.args[0] = ast.copy_location(ast.ListComp(elt=ast.Name(id=item, ctx=ast.Load()), generators=[loop]),
                                             node.args[0])
        for k, arg in enumerate(node.args):
            if not isinstance(arg, ast.GeneratorExp):
                continue
            if _builtin(pf, node.func, ("min", "max"), local) and any(kw.arg == "key" for kw in node.keywords) \
                    and _changes_objects(arg):
                raise _error(pf, f"s2s cannot differentiate {node.func.id}() of this generator expression with key=: "
                             f"{node.func.id} calls the key on each element as it comes, and the elements change "
                             "objects the key may read, so computing them all first would choose another", arg,
                             f"collect the elements first, `items = [...]`, then `{node.func.id}(items, key=...)`, "
                             "where that is what you mean")
            if _builtin(pf, node.func, CONSUMERS, local) or _math_consumer(pf, node.func):
                node.args[k] = ast.copy_location(ast.ListComp(elt=arg.elt, generators=arg.generators), arg)
            elif (which := _builtin(pf, node.func, SHORT_CIRCUIT, local)) is not None:
                raise _error(pf, f"s2s cannot differentiate {which}() of a generator expression: {which} stops at "
                             "the first element that decides it, so the elements after it are never computed",
                             arg, f"use {which}([...]) where computing every element is what you mean (it may "
                             "not be: an element after the deciding one may fail), or a for loop with break")
            elif _numpy_function(pf, node.func):
                raise _error(pf, "s2s cannot differentiate a generator expression given to a NumPy function "
                             "(NumPy takes it for one object: np.sum of one is deprecated, np.array makes a 0-d "
                             "object array, np.stack refuses it)", arg,
                             "use a list comprehension [...] (or the builtin sum(...) for a sum)")
    fix_locations(tree)


# iterators that apply no function of the user's and whose loops s2s writes over sequences (transforms/loops.py):
# their items, in order, are what a loop over them binds
_PLAIN_ITERATORS = ("reversed", "enumerate")
_PLAIN_ITERTOOLS = ("chain",)


def _plain_iterator(pf, arg, local) -> bool:
    """Whether `arg` is a call of `reversed`, `enumerate` or `itertools.chain` (`.from_iterable`): taking all its
    items at once gives them in the order a loop does."""
    if not isinstance(arg, ast.Call) or any(isinstance(a, ast.Starred) for a in arg.args) \
            or any(k.arg is None for k in arg.keywords):
        return False
    if _builtin(pf, arg.func, _PLAIN_ITERATORS, local) is not None:
        return True
    if isinstance(arg.func, ast.Attribute) and arg.func.attr == "from_iterable":
        return _plain_iterator_function(pf, arg.func.value, local) == "chain"
    return _plain_iterator_function(pf, arg.func, local) in _PLAIN_ITERTOOLS


def _plain_iterator_function(pf, func, local):
    import itertools
    obj = global_object(pf, func, local)
    return next((name for name in _PLAIN_ITERTOOLS if obj is getattr(itertools, name, None)), None)


def _fresh_name(tree, stem):
    taken = {n.id for n in walk(tree) if isinstance(n, ast.Name)} | {a.arg for a in walk(tree.args)
                                                                    if isinstance(a, ast.arg)}
    name = stem
    while name in taken:
        name += "_"
    return name


def _math_consumer(pf, func) -> bool:
    """Whether `func` is math.fsum or math.prod, which take every element of an iterable, in order."""
    import math

    try:
        obj = pf.resolve_expr(func)
    except Exception:  # noqa: BLE001
        return False
    return any(obj is f for f in (math.fsum, getattr(math, "prod", None)) if f is not None)


def _changes_objects(node) -> bool:
    """Whether `node` calls a method that updates its receiver (`L.pop()`, `d.update(...)`) or assigns a name
    (`:=`)."""
    return any(isinstance(n, ast.NamedExpr) or isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
               and n.func.attr in _UPDATING for n in walk(node))


def _numpy_function(pf, func):
    root = func
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(root, ast.Name):
        return False
    try:
        obj = pf.resolve_expr(func)
    except Exception:  # noqa: BLE001
        return False
    return (getattr(obj, "__module__", None) or "").split(".")[0] == "numpy"


# code objects of the generator functions some differentiated caller consumes at once: only those are
# differentiated (as list functions) when linked from the caller; a generator function differentiated
# itself is refused, since it returns a generator
_CONSUMED: set = set()


def check_calls(pf, tree: ast.FunctionDef) -> None:
    """Refuse each call of a user generator function in `tree` whose values are not consumed at once and
    completely (see the module docstring), and any consumer that could observe the generator's steps."""
    local = _local_names(tree)
    parents = parent_map(tree)
    for node in walk(tree):
        if not isinstance(node, ast.Call):
            continue
        gen = _generator_function(pf, node, local)
        if gen is None:
            continue
        name = gen.__name__
        parent = parents.get(id(node))
        if isinstance(parent, ast.Call) and len(parent.args) == 1 and parent.args[0] is node and \
                _builtin(pf, parent.func, ("enumerate",), local):
            node, parent = parent, parents.get(id(parent))  # enumerate(g(...)) passes every value on
        if isinstance(parent, ast.For) and parent.iter is node:
            _check_loop(pf, tree, parent, node, name, local)  # (also for enumerate)
        elif isinstance(parent, ast.Call) and parent.args and parent.args[0] is node and \
                _builtin(pf, parent.func, CONSUMERS, local):
            pass
        elif isinstance(parent, ast.comprehension) and parent.iter is node and \
                isinstance(parents.get(id(parent)), ast.ListComp):
            comp = parents[id(parent)]
            for part in [comp.elt] + [i for g in comp.generators for i in g.ifs]:
                _check_effects(pf, tree, part, node, name, local)
        elif isinstance(parent, ast.Call) and _builtin(pf, parent.func, SHORT_CIRCUIT, local):
            which = parent.func.id
            raise _error(pf, f"s2s cannot differentiate {which}({name}(...)): {which} stops the generator at the "
                         "first element that decides it", node, f"use {which}(list({name}(...))) where running "
                         "the generator to its end is what you mean")
        else:
            raise _error(pf, f"s2s differentiates a call of the generator function {name} only where its values "
                         f"are consumed at once and completely: `for ... in {name}(...)` (without break or return), "
                         f"list({name}(...)), tuple, sum, min, max, sorted or a list comprehension over it; not "
                         "a generator kept in a variable, passed on, or stepped with next() or send()", node,
                         _HINT.format(name=name))
        if len(_CONSUMED) > 4096:
            _CONSUMED.clear()
        _CONSUMED.add(gen.__code__)


def _check_loop(pf, tree, loop, call, name, local):
    """A `for` loop consuming a generator must run it to its end and not change what it reads."""
    for stmt in loop.body:
        for node in _exits(stmt):
            what = {ast.Break: "break", ast.Return: "return", ast.Raise: "raise", ast.Assert: "assert"}[type(node)]
            raise _error(pf, f"s2s cannot differentiate a loop over the generator {name}(...) that may leave it "
                         f"early ({what}): the generator would stop there, but s2s runs it to its end first",
                         node, _HINT.format(name=name) + ", or leave the loop with a flag instead of " + what)
        _check_effects(pf, tree, stmt, call, name, local)


def _exits(stmt):
    """break (of this loop), return, raise and assert statements in `stmt`."""
    stack = [(stmt, False)]
    while stack:
        node, nested = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(node, ast.Return | ast.Raise | ast.Assert) or (isinstance(node, ast.Break) and not nested):
            yield node
        inner = nested or isinstance(node, ast.For | ast.While)
        stack.extend((c, inner) for c in ast.iter_child_nodes(node))


def _fresh_names(tree, passed):
    """Local names whose every binding is a new value built here (a number, a literal list, arithmetic)
    and that are not passed to the generator: an in-place update of one cannot reach the generator."""
    params = {a.arg for a in walk(tree.args) if isinstance(a, ast.arg)}
    fresh_values = ast.Constant | ast.BinOp | ast.UnaryOp | ast.List | ast.ListComp | ast.Tuple | ast.Dict
    bound, aliased = set(), set(params) | passed
    for node in walk(tree):
        targets, value = [], None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets, value = [node.target], getattr(node, "value", None)
        elif isinstance(node, ast.For | ast.comprehension):
            targets = [node.target]
        for t in targets:
            for n in walk(t):
                if isinstance(n, ast.Name):
                    bound.add(n.id)
                    if isinstance(node, ast.For | ast.comprehension) or not isinstance(t, ast.Name) or \
                            not (isinstance(node, ast.AugAssign) or isinstance(value, fresh_values)):
                        aliased.add(n.id)
    return bound - aliased


def _check_effects(pf, tree, part, call, name, local):
    """Refuse anything in `part` (run between the generator's steps) that may update in place an object the
    generator can reach: stores into items or attributes, updating methods, out=, functions of the user's
    that update an argument, and functions s2s cannot read."""
    passed = {n.id for n in walk(call) if isinstance(n, ast.Name)}
    fresh = _fresh_names(tree, passed)

    def refuse(node, what):
        raise _error(pf, f"s2s cannot differentiate a loop over the generator {name}(...) whose body {what}: "
                     "the generator runs between the body's steps and might read it, but s2s runs it to its "
                     "end first", node, _HINT.format(name=name))

    _effects(pf, part, fresh, fresh, local, refuse)
    _check_interleaving(pf, part, call, name, local)


def _check_interleaving(pf, part, call, name, local):
    """Refuse where the generator and the code run between its steps (`part`) may see each other's effects:
    both draw random numbers (or call methods of objects), or one changes an object the other reads."""
    from . import effects
    gen = _generator_function(pf, call if isinstance(call, ast.Call) and not _builtin(pf, call.func, ("enumerate",),
                                                                                          local) else call.args[0], local)
    passed = {n.id for n in walk(call) if isinstance(n, ast.Name)}
    why = effects.function_effect(gen) if gen is not None else "is a generator s2s cannot read"
    producer = [effects.Effect(call, why, passed)] if why is not None else []
    found = effects.conflict(producer, passed, effects.impure_calls(pf, part, local), effects.reads(part, pf),
                             (f"the generator {name}", "the code consuming it"))
    if found is None:
        return
    node, reason = found
    raise _error(pf, f"s2s cannot differentiate this loop over the generator {name}(...): Python runs the generator "
                 f"one step at a time, in turn with the code consuming it, but s2s runs it to its end first, and "
                 f"{reason}", node or call, _HINT.format(name=name) + " (draw random numbers and step objects in "
                 "one place, in the order you mean)")


def _check_generator_body(pf, tree):
    """Refuse in-place updates in the generator's own body: a value it yielded (or a view of one) might be
    updated after the consumer has used it, which the list of all yields would show in its final state."""
    numbers, lists = set(), set()
    bound, other = set(), set()
    for node in _own_nodes(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for n in walk(t):
                    if isinstance(n, ast.Name):
                        bound.add(n.id)
                        value = node.value
                        if isinstance(t, ast.Name) and isinstance(value, ast.Constant) and \
                                isinstance(value.value, int | float | complex):
                            numbers.add(n.id)
                        elif isinstance(t, ast.Name) and isinstance(value, ast.List | ast.ListComp):
                            lists.add(n.id)
                        else:
                            other.add(n.id)
        elif isinstance(node, ast.For | ast.comprehension):
            other |= {n.id for n in walk(node.target) if isinstance(n, ast.Name)}
    params = {a.arg for a in walk(tree.args) if isinstance(a, ast.arg)}
    yielded = {n.id for y in _own_nodes(tree) if isinstance(y, ast.Yield) and y.value is not None
               for n in walk(y.value) if isinstance(n, ast.Name)}
    numbers -= other | params | lists
    lists -= other | params | yielded

    def refuse(node, what):
        raise _error(pf, f"s2s cannot differentiate a generator that {what}: a value it yielded might change "
                     "after the loop consuming it has used it, but s2s collects every value first", node,
                     f"build a new value instead (`v = v + 1.0`, `np.concatenate`), or {_HINT.format(name=tree.name)}")

    _effects(pf, ast.Module(body=tree.body, type_ignores=[]), numbers, lists, _local_names(tree), refuse)


def _effects(pf, part, fresh_numbers, fresh_lists, local, refuse):
    """Refuse (`refuse(node, what)`) the in-place updates in `part`, except augmented assignments of the names in
    `fresh_numbers` and .append/.extend of those in `fresh_lists`."""
    from .desugar import callee_summary
    for node in walk(part):
        if isinstance(node, ast.FunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                for n in walk(t):
                    if isinstance(n, ast.Subscript | ast.Attribute) and isinstance(n.ctx, ast.Store):
                        refuse(n, "stores into an item or attribute")
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and \
                    node.target.id not in fresh_numbers:
                refuse(node, f"updates {node.target.id} in place (it may be an array)")
        elif isinstance(node, ast.For) and not isinstance(node.target, ast.Name | ast.Tuple | ast.List):
            refuse(node, "stores into an item or attribute")
        elif isinstance(node, ast.Call):
            if any(k.arg == "out" for k in node.keywords):
                refuse(node, "writes into an out= array")
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in _UPDATING:
                receiver = func.value
                if not (isinstance(receiver, ast.Name) and receiver.id in fresh_lists and
                        func.attr in ("append", "extend")):
                    refuse(node, f"calls .{func.attr}(), which updates its object in place")
            _check_callee(pf, node, local, callee_summary, refuse)


def _check_callee(pf, call, local, callee_summary, refuse):
    func = call.func
    root = func
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(root, ast.Name):
        if isinstance(func, ast.Attribute):
            return None  # a method of a computed value (w[:3].reshape(...)): updating ones are refused above
        return refuse(call, "calls a function s2s cannot read before running")
    if root.id in local:
        if isinstance(func, ast.Attribute):
            return None  # a method of a local value: updating ones are refused above
        return refuse(call, f"calls the function value {root.id}, which s2s cannot read")
    try:
        obj = pf.resolve_expr(func)
    except Exception:  # noqa: BLE001
        return refuse(call, "calls a function s2s cannot read")
    if obj is ctx().missing or ctx().has_rule(obj) or inspect.isbuiltin(obj) or isinstance(obj, type) or \
            inspect.isgeneratorfunction(obj) or not inspect.isfunction(obj) or not ctx().user_code(obj):
        return None  # NumPy, builtins, functions with rules, classes (their arguments are refused elsewhere)
    summary = callee_summary(obj)
    if summary is None or summary.updated_params or summary.changes_outside:
        what = "may update something (s2s cannot read all of it) in place" if summary is None else \
            "updates an argument in place" if summary.updated_params else summary.changes_outside
        return refuse(call, f"calls {getattr(obj, '__name__', 'a function')}, which {what}")
    return None


def partials_in_map(pf, tree: ast.FunctionDef) -> None:
    """`map(partial(g, a), xs)` becomes `map(lambda v: partial(g, a)(v), xs)`, which transforms/inline.py
    expands like any map of a lambda (and `lower` calls as `g(a, v)`): the same calls, since the partial
    is made of names and constants only (pure_partial)."""
    local = _local_names(tree)
    taken = {n.id for n in walk(tree) if isinstance(n, ast.Name)} | local
    for node in walk(tree):
        if not (isinstance(node, ast.Call) and _builtin(pf, node.func, ("map",), local) and len(node.args) >= 2
                and not node.keywords and not any(isinstance(a, ast.Starred) for a in node.args)
                and pure_partial(pf, node.args[0])):
            continue
        params = []
        for _ in node.args[1:]:
            k = len(params)
            while f"item_{k}" in taken:
                k += 1
            taken.add(f"item_{k}")
            params.append(f"item_{k}")
        body = ast.Call(func=node.args[0], args=[ast.Name(id=p, ctx=ast.Load()) for p in params], keywords=[])
        args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in params], vararg=None, kwonlyargs=[],
                             kw_defaults=[], kwarg=None, defaults=[])
        node.args[0] = ast.copy_location(ast.Lambda(args=args, body=body), node.args[0])
    fix_locations(tree)


def rewrite(pf, tree: ast.FunctionDef) -> ast.FunctionDef:
    """The pass: generator expressions of consumers become list comprehensions, map of a partial a map of a
    lambda, calls of generator functions are checked, and `tree` itself, if a generator function, becomes
    the function returning its list."""
    rewrite_expressions(pf, tree)
    partials_in_map(pf, tree)
    generator = is_generator(tree)
    if generator:
        code = getattr(getattr(pf, "func", None), "__code__", None)
        if code not in _CONSUMED:
            first = min((n for n in _own_nodes(tree) if isinstance(n, ast.Yield | ast.YieldFrom)),
                        key=lambda n: (n.lineno, n.col_offset))
            what = "yield from" if isinstance(first, ast.YieldFrom) else "yield"
            raise _error(pf, f"s2s cannot differentiate {what} (generators) in the function it differentiates "
                         f"(it returns a generator): s2s differentiates a generator function only where the code "
                         f"calling it consumes it at once (for ... in {tree.name}(...), list, tuple, sum, ...)", first,
                         f"call it from the function you differentiate, which consumes it (e.g. "
                         f"lambda x: sum({tree.name}(x))), or {_HINT.format(name=tree.name)}")
        _check_generator(pf, tree)
        _check_generator_body(pf, tree)
    check_calls(pf, tree)
    if generator:
        as_list_function(pf, tree)
    return tree


def pure_partial(pf, f: ast.expr) -> bool:
    """Whether `f` is `functools.partial(g, a, ..., k=v)` made of names, dotted names and constants only:
    evaluating it once per item then reads the same values that map's single evaluation reads, since
    nothing runs in between that could rebind them.

        map(partial(log_partition, params), data)  ->  map(lambda v: partial(log_partition, params)(v), data)
    """
    import functools

    def plain(e):
        if isinstance(e, ast.Constant):
            return True
        while isinstance(e, ast.Attribute):
            e = e.value
        return isinstance(e, ast.Name)

    if not (isinstance(f, ast.Call) and f.args and not any(isinstance(a, ast.Starred) for a in f.args)
            and all(k.arg is not None for k in f.keywords) and plain(f.func)):
        return False
    try:
        if pf.resolve_expr(f.func) is not functools.partial:
            return False
    except Exception:  # noqa: BLE001 - not a dotted name s2s can read
        return False
    return all(plain(a) or pure_partial(pf, a) for a in f.args + [k.value for k in f.keywords])
