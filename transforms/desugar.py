"""Sugar to core Python: augmented assignment, array methods and attributes,
`for` over anything to `for` over `range` (transforms/loops.py), and a check that
refuses what s2s cannot differentiate."""

from __future__ import annotations

import ast
import builtins
import contextvars
import copy
import dataclasses
import inspect
import types

import numpy as np

from . import annotations, callees, context, loops, mappings, refusals, star_displays
from .context import ctx
from .local_signatures import why_not_plain
from .names import NameAllocator, as_load, load, names_in
from .sequences import joins_lists
from .walk import fix_locations, own_scope_nodes, walk

HELPER = annotations.HELPER  # attribute on Name nodes that denote s2s's own helpers

VALUE_ATTRIBUTES = {"shape", "ndim", "size", "dtype", "real", "T", "imag"}

_REFUSED = {
    ast.Try: "try/except", ast.With: "a with statement", ast.AsyncWith: "async with",
    ast.AsyncFor: "async for", ast.AsyncFunctionDef: "an async function", ast.Await: "await",
    ast.Yield: "yield (generators)", ast.YieldFrom: "yield from (generators)",
    ast.Global: "a global statement", ast.Nonlocal: "a nonlocal statement",
    ast.ClassDef: "a class definition", ast.Delete: "del", ast.Import: "an import inside the function",
    ast.ImportFrom: "an import inside the function", ast.GeneratorExp: "a generator expression",
    ast.SetComp: "a set comprehension", ast.Set: "a set", ast.NamedExpr: "the walrus operator :=",
    ast.Starred: "star-unpacking (*args)", ast.Match: "a match statement", ast.JoinedStr: None,
}
if hasattr(ast, "TryStar"):
    _REFUSED[ast.TryStar] = "try/except*"

# builtins that read the function's variables by name (s2s renames them and follows no such read)
_BY_NAME = frozenset({"locals", "vars", "eval", "exec"})

_HINTS = {
    ast.Try: "move the try statement (with its except or finally blocks) outside the differentiated function",
    ast.With: "move the with block outside the differentiated function (s2s runs the body of "
              "`with np.errstate(...)` and `with np.printoptions(...)` as it is)",
    ast.Delete: "drop the del (of a name): s2s manages the lifetime of values itself",
    ast.GeneratorExp: "use a list comprehension instead",
    ast.Global: "pass the value as an argument and return the new value",
    ast.Nonlocal: "pass the value as an argument and return the new value",
}


def _not_expanded(node, tree, resolve) -> tuple[str, str]:
    """(why s2s did not expand the local function `node` of `tree`, a hint): local functions are expanded where
    they are defined once and called or passed as values (transforms/inline.py); these are the forms that are not."""
    own = list(own_scope_nodes(node))
    if any(isinstance(n, ast.Nonlocal | ast.Global) for n in own):
        return ("it rebinds a name of the function around it (`nonlocal`/`global`), which s2s does not follow",
                "pass the value in and return the new one (`z, calls = step(z, calls)`), or define the helper at "
                "module level")
    if any(isinstance(n, ast.Yield | ast.YieldFrom) for n in own):
        return ("it is a generator", "define the generator at module level, or build a list in the function")
    if getattr(node, "decorator_list", None):
        return ("it is decorated", "define the helper at module level (s2s differentiates calls to it), or apply "
                "the decorator's effect by hand")
    star = getattr(node, "args", None)
    if star is not None and (star.vararg or star.kwarg):
        shown = ", ".join(f"{m}{a.arg}" for m, a in (("*", star.vararg), ("**", star.kwarg)) if a)
        return (f"it takes {shown} (its arguments gathered in a tuple or a dict), which s2s follows for a helper of "
                "the module only", "define the helper at module level (s2s expands its calls there, *args and "
                "**kwargs included), or give it named parameters")
    why = why_not_plain(tree, node, resolve)
    if why is not None:
        return (f"it has defaults or keyword-only parameters, which s2s writes into its calls, and {why}",
                "call it by its name with constant defaults, or define the helper at module level (s2s "
                "differentiates calls to it, keywords and defaults included)")
    if _made_per_trip(node, tree):
        return ("it is made again on each trip of a loop or comprehension (each trip's function is another object)",
                "define it once before the loop, with what varies as a parameter: `def power(z, p): return z ** p`, "
                "then `power(x, p)` in the loop")
    return ("s2s expands a local function defined once and called or passed as a value, and could not expand this "
            "one", "define the helper at module level; s2s differentiates calls to it")


def _made_per_trip(node, tree) -> bool:
    """Whether `node` lies in the body of a loop or in a comprehension of `tree` (not in a local function's)."""
    def inside(parent, found=False):
        for child in ast.iter_child_nodes(parent):
            if isinstance(child, ast.FunctionDef | ast.Lambda) and child is not node:
                continue  # (a trip of a loop in another local function makes that one's helpers, not tree's)
            trips = found or isinstance(parent, ast.For | ast.While) and child is not getattr(parent, "iter", None) \
                or isinstance(parent, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp)
            if child is node:
                return trips
            result = inside(child, trips)
            if result is not None:
                return result
        return None
    return bool(inside(tree))


def _delete_hint(node: ast.Delete) -> str | None:
    """The hint for `del L[k]`, `del L[i:j]` or `del d["key"]`: the list (or dict) built without the items, which
    keeps Python's meaning but for other names bound to the same list (they keep the old one); for `del o.attr`,
    a local name instead of the attribute. None for `del name`: dropping it changes nothing s2s differentiates.

        >>> _delete_hint(ast.parse("del L[k]").body[0]).split("`")[1]
        'L = L[:k] + L[k:][1:]'
    """
    hints = [_delete_one_hint(t) for t in node.targets]
    if all(h is None for h in hints):
        return None
    target, shown = next((t, h) for t, h in zip(node.targets, hints) if h is not None)
    return shown if len(node.targets) == 1 else \
        f"one `del` per statement (in order), each rewritten; `del {ast.unparse(target)}`: {shown}"


def _delete_one_hint(target) -> str | None:
    alike = "; other names bound to the old one do not see the change"
    if isinstance(target, ast.Attribute):
        return f"keep the value in a local name instead of `{ast.unparse(target)}`, and drop the del"
    if not isinstance(target, ast.Subscript):
        return None
    base, key = ast.unparse(target.value), target.slice
    if isinstance(key, ast.Slice):
        lo, hi, step = (ast.unparse(k) if k is not None else "" for k in (key.lower, key.upper, key.step))
        if step:
            return (f"build the list without the items: `{base} = [v for k, v in enumerate({base}) if k not in "
                    f"range(len({base}))[{lo}:{hi}:{step}]]`{alike}")
        kept = " + ".join(part for part in (f"{base}[:{lo}]" if lo else "", f"{base}[{hi}:]" if hi else "") if part)
        return f"build the list without the items: `{base} = {kept or '[]'}`{alike}"
    k = ast.unparse(key)
    as_dict = f"`{base} = {{key: v for key, v in {base}.items() if key != {k}}}`"
    if isinstance(key, ast.Constant) and isinstance(key.value, str):  # (a string key: a dict's)
        return f"build the dict without the key: {as_dict}{alike}"
    return f"build the list without the item: `{base} = {base}[:{k}] + {base}[{k}:][1:]` (a dict: {as_dict}){alike}"


def helper_attr(module_name: str, attr: str, obj) -> ast.Attribute:
    """`np.attr` referring to s2s's own handle on a module, resolved to `obj`."""
    base = load(module_name)
    setattr(base, HELPER, True)
    node = ast.Attribute(value=base, attr=attr, ctx=ast.Load())
    annotations.put(node, annotations.RESOLVED, obj)
    return node


def check_supported(pf, tree: ast.FunctionDef) -> None:
    """Raise UnsupportedSyntaxError at the first construct s2s refuses."""
    allowed = set()  # `*xs` as a call's argument or in an assignment's target
    for node in walk(tree):
        if isinstance(node, ast.Call):
            allowed.update(id(a) for a in node.args if isinstance(a, ast.Starred))
        elif isinstance(node, ast.Tuple | ast.List) and isinstance(node.ctx, ast.Store):
            allowed.update(id(a) for a in node.elts if isinstance(a, ast.Starred))
    stored = as_set = escaping = None  # the views refused below, each found once (a search of the whole tree)
    if any(mappings.is_view_call(n) for n in walk(tree)):
        stored = mappings.stored_view_of_updated_mapping(tree)
        as_set = mappings.view_read_as_set(tree)
        escaping = mappings.escaping_view(tree)
    for node in walk(tree):
        if id(node) in allowed:
            continue
        for cls, what in _REFUSED.items():
            if isinstance(node, cls) and what is not None:
                hint = _delete_hint(node) if isinstance(node, ast.Delete) else None
                if isinstance(node, ast.Try) and not node.handlers:  # (`try:` with a `finally:` block only)
                    what = "try/finally"
                raise pf.error(ctx().unsupported, f"s2s cannot differentiate {what}", node,
                               hint=hint or _HINTS.get(cls, "rewrite it without this construct, or wrap the code "
                                                       "in a function with a custom rule (s2s.defvjp)"))
        if isinstance(node, ast.FunctionDef | ast.Lambda) and node is not tree:
            why, hint = _not_expanded(node, tree, pf.resolve)
            raise pf.error(ctx().unsupported, "s2s cannot differentiate this function defined inside the "
                           f"differentiated function: {why}", node, hint=hint)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _BY_NAME \
                and not (node.func.id == "vars" and node.args) \
                and pf.resolve(node.func.id) is getattr(builtins, node.func.id):
            raise pf.error(ctx().unsupported, f"s2s cannot differentiate {node.func.id}(): it reads the function's "
                           "variables by their names, which s2s does not follow (the derivative would miss them)",
                           node, hint="read the variables themselves instead")
        if isinstance(node, ast.comprehension) and node.is_async:
            raise pf.error(ctx().unsupported, "s2s cannot differentiate async comprehensions", node)
        if stored is not None and node is stored:
            receiver = ast.unparse(node.func.value)
            raise pf.error(ctx().unsupported, f"s2s cannot differentiate this view `{ast.unparse(node)}` kept in a "
                           f"name: the function updates {receiver} afterwards, and Python's view shows the update, "
                           "s2s's list of the entries would not", node,
                           hint=f"take a list of the entries where you need them: "
                                f"`list({ast.unparse(node)})`, or call {ast.unparse(node)} where you read it")
        if as_set is not None and node is as_set:
            raise pf.error(ctx().unsupported, f"s2s cannot differentiate this view `{ast.unparse(node)}` compared, "
                           "combined, indexed or asked a method of: s2s reads it as the list of the entries, and "
                           "Python compares and combines keys and items views as sets (== ignores the order; values "
                           "views compare by identity) and indexes none", node,
                           hint=f"compare what you mean: `sorted({ast.unparse(node)}) == sorted(...)`, or "
                                f"`list({ast.unparse(node)}) == [...]` where the order matters")
        if escaping is not None and node is escaping:
            raise pf.error(ctx().unsupported, f"s2s cannot differentiate this view `{ast.unparse(node)}` handed on "
                           "(returned, yielded or stored in an object): Python's view shows the updates the caller "
                           "makes to the dict later, s2s's list of the entries would not", node,
                           hint=f"hand on a list of the entries: `list({ast.unparse(node)})`")


class Desugar(loops.LoopRewriter):
    """Rewrite sugar into the core that `lower` understands (loops over anything: loops.LoopRewriter)."""

    def __init__(self, pf, local_names: set[str], alloc: NameAllocator):
        super().__init__(pf, local_names, alloc)
        self.updates = {}  # id(statement) -> the ownership guards it needs (transforms/ownership.py)
        self.dict_params = {}  # parameters given a dict in the call the code is made for -> keys to its dicts
        self.bindings = {}  # name -> the values of its plain assignments (None: also bound otherwise): _bindings
        self.local_helpers = {}  # name -> inline.LocalHelper of a local function of one `return` (expanded later)
        self.records = {}  # parameter -> the record class it is given in the call the code is made for
        self.stored = set()  # the names the function binds

    def _is_value(self, node: ast.expr) -> bool:
        """True when `node` is a run-time value rather than a module or class."""
        return _is_value(self.pf, self.locals, node)

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        target = node.target
        before = self._index_once(target)
        read = ast.copy_location(ast.Name(id=target.id, ctx=ast.Load()), target) if isinstance(
            target, ast.Name) else as_load(target)
        value = ast.copy_location(ast.BinOp(left=read, op=node.op, right=node.value), node)
        # (Python's `Y op= v` changes an array Y in place, which NumPy refuses where the result does not fit Y:
        # lower writes the check s2s.inplace_check(Y, v, op) before the operation)
        annotations.put(value, annotations.IN_PLACE, IN_PLACE_OPS[type(node.op)])
        out = ast.Assign(targets=[target], value=self._guarded(node, value))
        annotations.put(out, annotations.AUGMENTED)
        return [*before, ast.copy_location(out, node)] if before else ast.copy_location(out, node)

    def _index_once(self, target):
        """`K[e + 1, e] += v` reads and writes one item: Python evaluates its index once. The parts of the index
        that are not names or constants get names of their own first (`i = e + 1; K[i, e] = K[i, e] + v`), so the
        read and the write share them (and the backward sweep sees one index: transforms/item_updates.py)."""
        if not isinstance(target, ast.Subscript) or not isinstance(target.value, ast.Name):
            return []
        items = target.slice.elts if isinstance(target.slice, ast.Tuple) else [target.slice]
        out, named = [], []
        for item in items:
            if isinstance(item, ast.Name | ast.Constant | ast.Slice | ast.Starred):
                named.append(item)
                continue
            name = self.alloc.fresh("i")
            out.append(ast.copy_location(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=item), item))
            named.append(ast.copy_location(ast.Name(id=name, ctx=ast.Load()), item))
        if not out:
            return []
        if isinstance(target.slice, ast.Tuple):
            target.slice = ast.copy_location(ast.Tuple(elts=named, ctx=ast.Load()), target.slice)
        else:
            target.slice = named[0]
        return out

    def visit_Assign(self, node):
        self.generic_visit(node)
        node.value = self._guarded(node, node.value)
        return node

    def visit_Expr(self, node):
        self.generic_visit(node)
        call = node.value
        if id(node) in self.updates and isinstance(call, ast.Call) and len(call.args) == 1:  # L.append(v)
            call.args = [self._guarded(node, call.args[0])]
        return node

    def _guarded(self, stmt, value):
        """`value`, wrapped in the run-time ownership check that transforms/ownership.py asks for at `stmt`."""
        for update in self.updates.get(id(stmt), ()):
            target = getattr(stmt, "target", None)
            field = target.attr if isinstance(stmt, ast.AugAssign) and isinstance(target, ast.Attribute) and \
                isinstance(target.value, ast.Name) and target.value.id == update.name else None
            records = annotations.get(self.pf.tree, annotations.RECORD_ITEMS, {})  # (`d['a']`, not s2s's `d_a`)
            others = ", ".join(f"`{records.get(o, o)}`" for o in update.others) or "another element of it"
            if update.others and isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) \
                    and target.value.id == update.name:  # (`L[0] += 1.0` of `L = [a, a]`: L[1] is that array too)
                others += f" or another item of `{update.name}`"
            updated = update.name
            if field is not None:  # `self.h += v` updates the array self.h, which self's other attributes may hold
                updated = f"{update.name}.{field}"
                others = f"another attribute of `{update.name}`" + \
                    (f" or {', '.join(f'`{o}`' for o in update.others)}" if update.others else "")
            err = self.pf.error(
                ctx().unsupported,
                f"s2s cannot differentiate `{_written(stmt)}`: it updates `{updated}` in place, "
                f"and here {others} refers to the same {'array or list' if update.others or field else 'object'}, "
                f"so in Python that changes too", stmt, hint=_update_hint(stmt, updated, others if update.others else None))
            site = {k: getattr(err, k) for k in ("message", "filename", "lineno", "col", "line", "hint")}
            others_ = [load(o) for o in update.others]
            for loop in update.loops:  # the sequence a loop runs over may hold the object (`[y] * 2`)
                others_ += [load(n) for n in self._sequence_names(loop)]
            if field is None and others_:  # the guard names the one that really holds it (of `y`, `x`, `L`)
                site["names"], site["shown"] = tuple(records.get(o.id, o.id) for o in others_), others
            args = [value, refusals.site(self.pf, self.alloc, site), ast.Constant(field or update.deep),
                    load(update.name)]
            others = others_
            value = ast.copy_location(_call_helper("s2s", "unshared", _runtime().unshared, args + others), stmt)
        return value

    def visit_Attribute(self, node):
        self.generic_visit(node)
        return _value_attribute(self.pf, self.locals, node)

    def _refuse_refused_makers(self, node):
        """Refuse a call that makes a value whose operations s2s's rules do not follow: `x.view(M)` or `M(...)` of
        an ndarray subclass of yours that redefines `dot` (the context's `makes_refused`). Reading such a class
        (`isinstance(x, M)`) is not refused."""
        makers = [node.func]
        if isinstance(node.func, ast.Attribute) and node.func.attr == "view":
            makers += node.args[:1] + [k.value for k in node.keywords if k.arg in ("type", "dtype")]
        for maker in makers:
            obj = self.pf.resolve_expr(maker) if isinstance(maker, ast.Name | ast.Attribute) else ctx().missing
            made = ctx().makes_refused(obj) if obj is not ctx().missing else None
            if made is not None:
                raise self.pf.error(
                    ctx().no_rule, f"s2s cannot differentiate `{ast.unparse(node)}`: it makes {made}, whose NumPy "
                    "operations s2s's rules do not follow, so the derivative would be wrong", node,
                    hint="make a plain array instead (np.asarray(...)), with NumPy's operations on it")

    def _held_as_dict(self, receiver, seen=frozenset()) -> str | None:
        """Whether `receiver` is a dict (whose `.get(k, v)` s2s reads as `d[k] if k in d else v`): a parameter given
        one in the call the code is made for (and never bound again) or one of its dicts (`params["l1"]`, and
        `params[name]` where all its values are dicts), a local name every binding of which is one of these or
        makes one (`{...}`, `dict(...)`, a dict comprehension: `p = params["l1"]`, a helper's parameter once
        expanded), or a global dict. "dict" where it is one wherever it is read, "item" where it is a dict the
        function may have replaced (s2s.has_key checks it); else None."""
        path, root = [], receiver
        while isinstance(root, ast.Subscript):
            path.insert(0, root.slice.value if isinstance(root.slice, ast.Constant) else "*")
            root = root.value
        if isinstance(root, ast.Name) and root.id not in self.stored and tuple(path) in self.dict_params.get(root.id, ()):
            return "item" if path else "dict"
        if isinstance(receiver, ast.Name) and receiver.id in self.locals:
            values = self.bindings.get(receiver.id)
            if not values or receiver.id in seen:
                return None
            # (a loop's variable over a list or tuple display: each of its items, `for p in [params["l1"], ...]`)
            values = [e for v in values for e in (v.sequence.elts if isinstance(v, _EachOf) and isinstance(
                v.sequence, ast.List | ast.Tuple) and not any(isinstance(e, ast.Starred) for e in v.sequence.elts)
                else [v])]
            found = {"dict" if isinstance(v, ast.Dict | ast.DictComp) or isinstance(v, ast.Call)
                     and isinstance(v.func, ast.Name) and v.func.id == "dict" and v.func.id not in self.locals
                     and self.pf.resolve("dict") is dict else self._held_as_dict(v, seen | {receiver.id})
                     for v in values}
            return None if None in found else "item" if "item" in found else "dict"
        if path and "*" not in path and isinstance(root, ast.Name) and root.id not in self.locals:
            return "dict" if type(self._global_value(receiver)) is dict else None
        return "dict" if not path and type(self._global_value(receiver)) is dict else None

    def _effect_free(self, node) -> bool:
        """Whether evaluating `node` once more, or not at all, is the same program: names, constants, attributes,
        arithmetic, displays, and calls of NumPy's functions that have derivative rules (not its random ones)."""
        for n in walk(node):
            if isinstance(n, ast.Call):
                func = self._global_value(n.func) if isinstance(n.func, ast.Attribute | ast.Name) else ctx().missing
                module = getattr(func, "__module__", None) or ""
                if func is ctx().missing or not ctx().has_rule(func) or not module.startswith("numpy") \
                        or module.startswith("numpy.random") or any(isinstance(a, ast.Starred) for a in n.args):
                    return False
            elif not isinstance(n, ast.Name | ast.Constant | ast.Attribute | ast.BinOp | ast.UnaryOp | ast.Tuple
                                | ast.List | ast.Subscript | ast.Slice | ast.operator | ast.unaryop
                                | ast.expr_context | ast.keyword):
                return False
        return True

    def _defined_by_your_class(self, receiver, name) -> bool:
        """Whether `receiver` is, wherever it is bound, an object of a class of yours that defines `name` itself
        (`Bag(2.0)`, or a name every assignment of which is one): its method, not the array method of that name."""
        if isinstance(receiver, ast.Name) and receiver.id in self.records and receiver.id not in self.stored:
            # (a parameter given a record of a class of yours in the call the code is made for: `model.sum()`; the
            # first parameter of a method of such a class, `self.sum(x)` in its `__call__`)
            cls = self.records[receiver.id]
            return _your_class(cls) and callees.defines_function(cls, name)
        if isinstance(receiver, ast.Name) and receiver.id in self.locals:
            values = self.bindings.get(receiver.id)
            return bool(values) and all(self._defined_by_your_class(v, name) for v in values)
        if isinstance(receiver, _EachOf):  # (`for b in BAGS: b.take(x)`: every item of a global list or tuple)
            items = self._global_value(receiver.sequence)
            for at, item in enumerate(items if type(items) in (list, tuple) else ()):
                context.note_read("i", items, at, item)
            return type(items) in (list, tuple) and bool(items) and all(
                _your_class(type(item)) and callees.defines_function(type(item), name) for item in items)
        if isinstance(receiver, ast.IfExp):  # (`Bag(2.0) if c else Bag(3.0)`)
            return all(self._defined_by_your_class(v, name) for v in (receiver.body, receiver.orelse))
        held = self._global_value(receiver)  # (`BAG.take(x)`, `BAGS[0].dot(x)`, `CFG["bag"].sum(x)`)
        if held is not ctx().missing:
            return _your_class(type(held)) and callees.defines_function(type(held), name)
        if not isinstance(receiver, ast.Call):
            return False
        cls = self.pf.resolve_expr(receiver.func) if isinstance(receiver.func, ast.Name | ast.Attribute) else None
        return isinstance(cls, type) and _your_class(cls) and callees.defines_function(cls, name)

    def _lists_given_to_ufuncs(self, node) -> None:
        """`np.power([a, b], 3.0)` -> `np.power(np.array([a, b]), 3.0)`: a NumPy ufunc makes an array of a list or tuple
        it is given, and so does the code now, where the rules see it (their adjoints and tangents are written for
        arrays: `[a, b] ** 3.0` is no list operation). A display, a comprehension, either of two of them, a sum or an
        int multiple of them (`[a] + [b]`, `[a] * 2`), `list(...)` or `tuple(...)`, a call of a local function of one
        `return` of one, or of a module-level function of yours each `return` of which returns one (`_returns_lists`),
        or a name every binding of which is one (None aside), given by position or as a NumPy function's array
        keyword (`np.sinc(x=[a, b])`); the array is the one NumPy makes, the same dtype and values."""
        if not (node.args or node.keywords) or not _reads_lists_as_arrays(self._global_value(node.func)):
            return

        def listed(e, seen=frozenset()) -> bool:  # (a helper expanded here binds its result to None first, then to
            # a display in each branch)
            if isinstance(e, ast.IfExp):
                return listed(e.body, seen) and listed(e.orelse, seen)
            if isinstance(e, ast.BinOp):  # (`[a] + [b]`, `[a] * 2`: a list too)
                return joins_lists(e, lambda v: listed(v, seen))
            if isinstance(e, ast.Call):
                helper = self.local_helpers.get(e.func.id) if isinstance(e.func, ast.Name) else None
                if helper is not None:  # (a local function of one `return`, expanded by `lower` later)
                    return ("def", e.func.id) not in seen and listed(helper.body, seen | {("def", e.func.id)})
                callee = self._global_value(e.func)
                return callee is list or callee is tuple or _returns_lists(callee)
            if isinstance(e, ast.Name) and e.id in self.locals:
                if e.id in seen:
                    return False
                values = [v for v in self.bindings.get(e.id) or () if not (isinstance(v, ast.Constant) and v.value is None)]
                return bool(values) and all(isinstance(v, ast.expr) and listed(v, seen | {e.id}) for v in values)
            return isinstance(e, ast.List | ast.Tuple | ast.ListComp) and not any(
                isinstance(item, ast.Starred) for item in getattr(e, "elts", ()))

        for k, arg in enumerate(node.args):
            if listed(arg):
                node.args[k] = ast.copy_location(ast.Call(func=helper_attr("np", "array", np.array), args=[arg],
                                                          keywords=[]), arg)
        for keyword in node.keywords:  # (`np.sinc(x=[a, b])`, `np.clip(v, a_min=[lo, 0.0], a_max=1.0)`)
            if keyword.arg in _ARRAY_KEYWORDS and listed(keyword.value):
                keyword.value = ast.copy_location(ast.Call(func=helper_attr("np", "array", np.array),
                                                           args=[keyword.value], keywords=[]), keyword.value)

    def _global_value(self, node):
        """The value of `node` where it is a global or closure value, an attribute of one or an item of one at a
        constant key (`BAGS[0]`), read now (and noted: code made from it is stale once the item is another object);
        the context's missing marker otherwise."""
        key = node.slice if isinstance(node, ast.Subscript) else None
        if isinstance(key, ast.UnaryOp) and isinstance(key.op, ast.USub) and isinstance(key.operand, ast.Constant) \
                and type(key.operand.value) is int:
            key = ast.Constant(-key.operand.value)  # (`BAGS[-1]`)
        if isinstance(key, ast.Constant):
            base = self._global_value(node.value)
            try:
                item = base[key.value] if base is not ctx().missing and type(base) in (list, tuple, dict) \
                    else ctx().missing
            except (LookupError, TypeError):
                return ctx().missing
            if item is not ctx().missing:  # (the code made from it is stale once the item is another object)
                context.note_read("d" if type(base) is dict else "i", base, key.value, item)
            return item
        root = node
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name) or root.id in self.locals:
            return ctx().missing
        return self.pf.resolve_expr(node)

    def visit_For(self, node):
        it = node.iter
        if mappings.is_view_call(it) and isinstance(it.func.value, ast.Name) and self._is_value(it.func.value) \
                and it.func.value.id in self.locals:  # (`self.mods.items()`: read as a list, in visit_Call)
            mappings.loop_over_keys(node, self.alloc.fresh("key"), lambda receiver: _call_helper(
                "s2s", "mapping_keys", _runtime().mapping_keys, receiver))
        return super().visit_For(node)

    def visit_DictComp(self, node):
        """`{k: v for ...}` is `dict([(k, v) for ...])`: the pairs in order, a repeated key's last one kept."""
        self.generic_visit(node)
        pairs = ast.ListComp(elt=ast.Tuple(elts=[node.key, node.value], ctx=ast.Load()), generators=node.generators)
        return ast.copy_location(loops._call_builtin("dict", [ast.copy_location(pairs, node)]), node)

    def visit_Call(self, node):
        self.generic_visit(node)
        self._refuse_refused_makers(node)
        self._lists_given_to_ufuncs(node)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "dot" and len(node.args) == 1 and not node.keywords \
                and not isinstance(node.args[0], ast.Starred) and _runtime().is_sparse(self._global_value(func.value)):
            # (`A.dot(x)` of a global SciPy sparse matrix is its product `A @ x`: no rule of the method, and np.dot
            # would compute with the matrix as one object)
            return ast.copy_location(ast.BinOp(left=func.value, op=ast.MatMult(), right=node.args[0]), node)
        if not (isinstance(func, ast.Attribute) and self._is_value(func.value)):
            return node
        if self._defined_by_your_class(func.value, func.attr):  # (`b.take(x)` of `b = Bag(2.0)`: Bag's own take)
            return node
        name, value, args = func.attr, func.value, node.args
        if mappings.is_view_call(node):  # d.items(): a list of (key, d[key])
            return mappings.view_as_list(node, self.alloc.fresh("key"), lambda receiver: _call_helper(
                "s2s", "mapping_keys", _runtime().mapping_keys, receiver))
        held = self._held_as_dict(value) if name == "get" else None
        if held:  # d.get(k, v): d[k] if k is in d, else v (a dict's item may have become another object: checked)
            # (a dict wherever it is read, with a constant default: `k in d`, else the test that also evaluates the
            # default, and checks that the object is still a dict)
            plain = held == "dict" and all(isinstance(a, ast.Constant) for a in args[1:])
            read = mappings.get_as_index(node, (lambda parts: ast.Compare(left=parts[1], ops=[ast.In()],
                                                                          comparators=[parts[0]]))
                                         if plain else
                                         lambda parts: _call_helper("s2s", "has_key", _runtime().has_key, parts),
                                         self._effect_free)
            if read is not None:
                return read
        np_func = ctx().method(name)  # the NumPy function whose rule lists this method (`methods=` in s2s/rules)
        if name in ("reshape", "transpose") and np_func is not None:  # x.reshape(2, 3) is np.reshape(x, (2, 3))
            if any(isinstance(a, ast.Starred) for a in args):  # (x.reshape(*t): t may hold ints or one tuple)
                args = [_call_helper("s2s", "shape_arguments", _runtime().shape_arguments,
                                     [star_displays.concatenation(args)])]
            elif len(args) > 1 or (len(args) == 1 and isinstance(args[0], ast.Constant) and
                                   isinstance(args[0].value, int)):
                args = [ast.Tuple(elts=list(args), ctx=ast.Load())]
            return ast.copy_location(ast.Call(func=helper_attr("np", name, np_func),
                                              args=[value, *args], keywords=node.keywords), node)
        if name == "astype":
            return ast.copy_location(ast.Call(func=helper_attr("s2s", "astype", _runtime().astype),
                                              args=[value, *args], keywords=node.keywords), node)
        if name == "copy" and not args:  # s2s.copy: x.copy() in x's own library (Dask has no np.copy)
            return ast.copy_location(ast.Call(func=helper_attr("s2s", "copy", _runtime().copy),
                                              args=[value], keywords=node.keywords), node)
        if name == "item":
            return ast.copy_location(ast.Call(func=helper_attr("s2s", "item", _runtime().item),
                                              args=[value, *args], keywords=[]), node)
        if name == "dot" and len(args) == 1 and not node.keywords and not isinstance(args[0], ast.Starred) \
                and type(self._global_value(value)) is not np.ndarray:
            # (`A.dot(x)` of a value whose kind is known only when it runs: np.dot would read a SciPy sparse matrix
            # as one object; specialised code calls np.dot where A's shape is known)
            return ast.copy_location(ast.Call(func=helper_attr("s2s", "dot_method", _runtime().dot_method),
                                              args=[value, *args], keywords=[]), node)
        if name == "clip" and len(args) <= 2 and not any(isinstance(a, ast.Starred) for a in args) \
                and all(k.arg in ("min", "max") for k in node.keywords):
            # (x.clip(0), x.clip(0, max=1.0): the method's bounds, each None where not given; np.clip(x, 0) asks
            # for both, and takes no `max=` beside a positional lower bound)
            given = {k.arg: k.value for k in node.keywords}
            for position, bound in enumerate(("min", "max")):
                if bound in given and len(args) > position:  # (NumPy: `_clip() got multiple values for argument`)
                    raise self.pf.error(ctx().unsupported, f"{ast.unparse(node)} gives its {bound} bound twice, "
                                        "by position and by keyword (NumPy raises TypeError)", node,
                                        hint=f"give the {bound} bound once: by position or as {bound}=")
            order = [k.arg for k in node.keywords]
            if order == ["max", "min"] and not all(isinstance(n, ast.Name | ast.Constant | ast.Attribute | ast.Load)
                                                   for k in node.keywords for n in walk(k.value)):
                # (np.clip(x, lo, hi) evaluates lo first; Python evaluates `max=` first here: adv228's `pop()`s)
                raise self.pf.error(ctx().unsupported, f"{ast.unparse(node)} gives its bounds max= first, which "
                                    "Python evaluates first, and s2s would evaluate min= first", node,
                                    hint="bind the bounds to names first (`hi = ...; lo = ...`), or give min= first")
            args = [args[0] if args else given.get("min", ast.Constant(None)),
                    args[1] if len(args) > 1 else given.get("max", ast.Constant(None))]
            node = ast.Call(func=node.func, args=args, keywords=[])
        if np_func is not None:
            return ast.copy_location(ast.Call(func=helper_attr("np", np_func.__name__, np_func),
                                              args=[value, *args], keywords=node.keywords), node)
        return node  # list.append and friends are handled by `lower`


def _runtime():
    return ctx().runtime


def _your_class(cls) -> bool:
    """A class defined outside NumPy, SciPy, s2s and the builtins, and no array, container or number (a namedtuple
    class of yours is one: a record, whose methods s2s reads as yours)."""
    module = (getattr(cls, "__module__", None) or "builtins").split(".")[0]
    return module not in ("builtins", "numpy", "scipy", "s2s", "collections") and (
        _runtime().is_namedtuple_type(cls) or not issubclass(
        cls, np.ndarray | np.generic | list | dict | set | tuple | str | int | float | complex))


class _EachOf:
    """The value of a loop's variable: each item of `sequence` (a `_bindings` value)."""

    def __init__(self, sequence):
        self.sequence = sequence


def _bindings(tree) -> dict:
    """{name: [value, ...]} for the names of `tree` every binding of which is a plain `name = value` (`v = u = value`
    binds both names to it) or a loop's plain variable (`for b in BAGS:`, an `_EachOf` the sequence); a name also
    bound otherwise (a tuple target, `+=`, a parameter) maps to None."""
    out: dict = {a.arg: None for a in walk(tree.args) if isinstance(a, ast.arg)}
    plain = set()
    for s in walk(tree):
        if isinstance(s, ast.Assign) and all(isinstance(t, ast.Name) for t in s.targets):  # (`v = u = [a, b]` too)
            for target in s.targets:
                plain.add(id(target))
                if out.get(target.id, []) is not None:
                    out.setdefault(target.id, []).append(s.value)
        elif isinstance(s, ast.For) and isinstance(s.target, ast.Name):
            plain.add(id(s.target))
            if out.get(s.target.id, []) is not None:
                out.setdefault(s.target.id, []).append(_EachOf(s.iter))
    for n in walk(tree):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load) and id(n) not in plain:
            out[n.id] = None
    return out


def _written(stmt) -> str:
    """The first line of the statement as you wrote it (a statement a pass rewrote: its `written_as` text)."""
    return annotations.get(stmt, annotations.WRITTEN_AS) or ast.unparse(stmt).splitlines()[0]


def _update_hint(stmt, name, others=None) -> str:
    """A pasteable rewrite of the refused in-place update `stmt` of `name`: a new value instead (which leaves
    `others`, the names that see the update in Python, as they are: said so)."""
    if isinstance(stmt, ast.AugAssign) and type(stmt.op) in _OPS:
        target = ast.unparse(stmt.target)
        value = ast.unparse(stmt.value)
        rewrite = (f"write `{target} = {target} {_OPS[type(stmt.op)]} {value}` (a new array, which nothing else "
                   f"holds) instead of `{target} {_OPS[type(stmt.op)]}= {value}`")
        if others:
            rewrite = (f"to change {others} as Python does, update it by index where it is the function's own "
                       f"(`name[i:j] {_OPS[type(stmt.op)]}= ...`); to leave it as it is, " + rewrite)
        if isinstance(stmt.target, ast.Subscript):  # (an item's array may be another item's: a copy of the list
            return rewrite                           # holds the same arrays, and the check reads them all)
        return rewrite + f", or copy first (`{name} = {name}.copy()` where it is made)"
    return (f"copy first (`{name} = {name}.copy()` where it is made), or build a new value "
            "instead of updating in place")


def _call_helper(module, attr, obj, args):
    return ast.Call(func=helper_attr(module, attr, obj), args=args, keywords=[])


def local_names(tree: ast.FunctionDef) -> set[str]:
    """Parameters and every name the function assigns."""
    args = tree.args
    out = {a.arg for a in args.args + args.kwonlyargs + args.posonlyargs + [a for a in (args.vararg, args.kwarg) if a]}
    for node in walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
    return out


def inline_helpers(pf, tree: ast.FunctionDef, alloc: NameAllocator, record_params=()) -> dict:
    """Take the local helper functions out of the body (statement helpers are expanded in place,
    single-expression ones recorded for `lower`); returns them by name."""
    from .inline import expand_statement_helpers, extract_local_helpers
    helpers = extract_local_helpers(pf, tree, alloc, record_params)
    expand_statement_helpers(pf, tree, helpers, alloc)
    annotations.put(tree, annotations.LOCAL_HELPERS, {k: h for k, h in helpers.items() if h.statements is None})
    return helpers


def rewrite(pf, tree: ast.FunctionDef, alloc: NameAllocator, updates: dict, record_params=()) -> ast.FunctionDef:
    """The desugaring proper: augmented assignments, methods, loops over sequences, guarded updates.
    `record_params`: (name, class) of parameters given records of classes of yours (their methods stay theirs)."""
    names = local_names(tree)
    # (`for k, v in {"a": u, "b": v}.items()`: the list of pairs the view iterates)
    mappings.iterated_display_views(tree, lambda func, name: name not in names
                                    and pf.resolve(name) is getattr(builtins, name))
    desugarer = Desugar(pf, names, alloc)
    desugarer.updates = updates
    desugarer.bindings = _bindings(tree)
    desugarer.local_helpers = annotations.get(tree, annotations.LOCAL_HELPERS, {})
    desugarer.records = {name: cls for name, cls in record_params if isinstance(cls, type)}
    desugarer.dict_params = {name: set(given[1]) for name, given in record_params
                             if type(given) is tuple and given[0] == "dict"}
    from .objects import _method_owner
    owner, params = _method_owner(pf), tree.args.posonlyargs + tree.args.args
    if owner is not None and params:  # (`self` of a method of a record class of yours: its methods are the class's)
        desugarer.records.setdefault(params[0].arg, owner[0])
    desugarer.stored = {n.id for n in walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    desugarer.visit(tree)
    fix_locations(tree)
    # the single-expression local helpers (adopted module helpers among them) are expanded by `lower`, after
    # this pass: their methods of values (`lambda v: v.sum()`: refused as unknown methods before stop 59),
    # `.T` and `.real` are read as the caller's own are
    modules = _names_of_modules(pf, tree)  # (`xp = np`, `def f(x, xp=np)`: `xp.mean(v)` is no method of a value)
    for helper in annotations.get(tree, annotations.LOCAL_HELPERS, {}).values():
        names = (local_names(tree) - modules) | set(helper.params)
        helper.body = Desugar(pf, names, alloc).visit(helper.body)
        helper.body = _ValueAttributes(pf, names).visit(helper.body)
    return tree


def _names_of_modules(pf, tree: ast.FunctionDef) -> set[str]:
    """The function's names that hold a module: a parameter whose default is one (`xp=np`), or a local bound once,
    to one (`xp = np`)."""
    import types

    def module(node) -> bool:
        try:
            return isinstance(pf.resolve_expr(node), types.ModuleType)
        except Exception:  # noqa: BLE001 - not a name s2s can read
            return False
    args = tree.args
    positional = [*args.posonlyargs, *args.args]
    out = {a.arg for a, d in zip(positional[len(positional) - len(args.defaults):], args.defaults) if module(d)}
    out |= {a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None and module(d)}
    bound: dict[str, list] = {}
    for n in walk(tree):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            bound.setdefault(n.id, []).append(n)
    for n in walk(tree):
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) \
                and len(bound.get(n.targets[0].id, ())) == 1 and module(n.value):
            out.add(n.targets[0].id)
    return out


def _is_value(pf, locals_, node: ast.expr) -> bool:
    """True when `node` is a run-time value rather than a module or class."""
    root = node
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(root, ast.Name) or root.id in locals_:
        return True
    obj = pf.resolve_expr(node)
    return isinstance(obj, np.ndarray | np.generic | list | tuple | dict | float | int)


def _value_attribute(pf, locals_, node: ast.Attribute):
    """`x.T` of a value as s2s.transpose_attr(x), `x.real` as np.real(x); any other attribute as it is."""
    if isinstance(node.ctx, ast.Load) and node.attr == "T" and _is_value(pf, locals_, node.value):
        # an array's transpose, or (a namedtuple, a configuration) the object's own attribute T
        return ast.copy_location(ast.Call(func=helper_attr("s2s", "transpose_attr", _runtime().transpose_attr),
                                          args=[node.value], keywords=[]), node)
    if isinstance(node.ctx, ast.Load) and node.attr == "real" and _is_value(pf, locals_, node.value):
        return ast.copy_location(ast.Call(func=helper_attr("np", "real", np.real),
                                          args=[node.value], keywords=[]), node)
    return node


class _ValueAttributes(ast.NodeTransformer):
    """Only the attribute reads of `Desugar`, for a local helper's expression."""

    def __init__(self, pf, locals_):
        self.pf, self.locals = pf, locals_

    def visit_Attribute(self, node):
        self.generic_visit(node)
        return _value_attribute(self.pf, self.locals, node)


IN_PLACE_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
                ast.Pow: "**", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<",
                ast.RShift: ">>"}  # (the operator of `x op= v`, s2s.inplace_check's `op`)
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@"}


def ownership_updates(pf, tree, helpers):
    """The updates transforms/ownership.py could not prove owned; its refusals at the user's line."""
    from . import ownership
    reads = {}  # a local function reads, when called, what its body reads
    for name, helper in helpers.items():
        body = [helper.body] if helper.statements is None else helper.statements
        reads[name] = set().union(*(names_in(b) for b in body)) - set(helper.params)
    bodies = {name: (helper.params, helper.body) for name, helper in helpers.items() if helper.statements is None}
    try:
        # (the differentiated function's own mutable defaults are read as they are and not changed, as its
        # arguments are not; a helper's, which its callers leave out, are refused: api.md, functions.md)
        return ownership.analyse(tree, pf.resolve, _rule_of, callee_summary, reads, bodies, _returns_view, _mutates)
    except ownership.OwnershipError as exc:
        raise pf.error(ctx().unsupported, exc.message, exc.node, hint=exc.hint) from None


_SUMMARY_DEPTH = 24  # callees of callees...: deeper calls are assumed to do the worst
_MUTABLE = (list, dict, set, bytearray, np.ndarray)


def _mutable_defaults(func) -> dict:
    """The parameters of `func` whose default is a list, dict, set or array, each with its default's type name:
    Python's in-place update of one changes it for every later call that leaves the parameter out."""
    code = getattr(func, "__code__", None)
    if code is None:
        return {}
    defaults = getattr(func, "__defaults__", None) or ()
    named = dict(zip(code.co_varnames[code.co_argcount - len(defaults):code.co_argcount], defaults))
    named.update(getattr(func, "__kwdefaults__", None) or {})
    return {p: type(v).__name__ for p, v in named.items() if isinstance(v, _MUTABLE)}


def callee_summary(func, _active=(), fresh_first=False, instance=None):
    """transforms/ownership.py's Summary of a user function s2s can read (None where it cannot); `fresh_first`:
    its first parameter is a new object nothing else holds (`__init__`'s self: a store into it changes none of
    the other arguments, which an argument might otherwise be); `instance`: the object a method is called on,
    whose functions held in attributes (`self.act = np.tanh`) its calls `self.act(v)` then read.

    Not kept beyond one reading: a summary depends on the functions the callee calls, which may be redefined.
    Within one (the summary of a callee and of its callees), each function's is read once (a module of modules,
    `Two(Two(a, b), c)`, reads the same classes' functions at many places), except those whose reading met a
    function being read (recursion: `_Reading`), which depend on what was assumed of it there.
    """
    code = getattr(func, "__code__", None)
    if code is None or ctx().is_runtime_helper(func) or not ctx().user_code(func):
        return None  # (s2s's own helpers and library code are not read: no summary, the caller assumes the worst)
    reading = _READING.get()
    if reading is None:
        token = _READING.set(_Reading())
        try:
            return callee_summary(func, _active, fresh_first, instance)
        finally:
            _READING.reset(token)
    # (a method read for an object is another summary than for the next object: `Two(Two(a, b), c)`'s forward
    # reads the inner Two's forward; the same code for the same object is a recursion)
    here = code if instance is None else (code, id(instance))
    if here in _active:
        return reading.recursion(here)
    if len(_active) >= _SUMMARY_DEPTH:
        return reading.cut(code)
    key = (id(func), here, fresh_first)
    if key in reading.done:
        return reading.done[key][2]
    summary, whole = reading.read(here, lambda: _read_summary(func, code, here, _active, fresh_first, instance))
    if whole:  # (the function kept beside its summary: its id is not another's while the reading lasts)
        reading.done[key] = (func, instance, summary)
    return summary


class _Reading:
    """The state of one reading of summaries (`callee_summary`): those read whole (`done`), the functions being
    read (`frames`: [here, whether it depends on a frame before it, whether a call of it was met]), and for a
    function met again while it is read (recursion) the summary assumed for that call: nothing at first, then
    the summary its reading gave, until the two agree (a fixed point; after _ROUNDS, every parameter)."""

    _ROUNDS = 4

    def __init__(self):
        self.done, self.frames, self.assumed = {}, [], {}

    def recursion(self, here):
        at = next(k for k, frame in enumerate(self.frames) if frame[0] == here)
        self.frames[at][2] = True
        for frame in self.frames[at + 1:]:  # (read assuming what `here` changes: read again where it is asked)
            frame[1] = True
        return self.assumed.get(here)

    @staticmethod
    def cut(code):
        # (what it gives is the worst, so a summary holding it may be kept: kept, a nearer call of the same
        # function is refused where it might have been read whole, and nothing is read twice)
        return _changing_everything(code, f"calls functions more than {_SUMMARY_DEPTH} calls deep, which s2s does "
                                          "not read")

    def read(self, here, read_once):
        """(the summary `read_once` gives at its fixed point, whether it holds no assumption of a caller's)."""
        frame = [here, False, False]
        self.frames.append(frame)
        try:
            for _ in range(self._ROUNDS):
                frame[2] = False
                summary = read_once()
                if not frame[2] or summary == self.assumed.get(here):
                    break
                self.assumed[here] = summary
            else:  # (no fixed point: every parameter)
                summary = _changing_everything(here[0] if isinstance(here, tuple) else here,
                                               f"calls itself in ways s2s did not settle in {self._ROUNDS} readings")
        finally:
            self.frames.pop()
            self.assumed.pop(here, None)
        return summary, not frame[1]


_READING = contextvars.ContextVar("summaries_read", default=None)


def _parameter_names(code) -> frozenset:
    """Every parameter of the function whose code is `code`, `*args` and `**kwargs` included."""
    return frozenset(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 0x04)
                                      + bool(code.co_flags & 0x08)])


def _changing_everything(code, why):
    """The Summary of a function that may change every argument, and something outside (`why`)."""
    from . import ownership
    every = _parameter_names(code)
    return ownership.Summary(False, every, True, why, certain=every)


def _read_summary(func, code, here, _active, fresh_first, instance):
    """callee_summary's reading of `func`'s code (`here`: its code, and the object it is read for)."""
    from . import ownership
    if code.co_filename.startswith("<s2s"):  # (a derivative s2s wrote: functional; what it calls checks itself)
        return ownership.Summary(False, frozenset(), True)
    try:
        pf = _parsed(func)
    except Exception:  # noqa: BLE001 - no source: the caller assumes the worst
        return None
    try:
        tree = _first_made_here(pf.tree) if fresh_first else pf.tree
        return ownership.summarise(tree, pf.resolve, _rule_of,
                                   lambda callee, **kw: callee_summary(callee, _active + (here,), **kw),
                                   _returns_view, _mutates, _mutable_defaults(func), _owner_class(func), instance)
    except ownership.OwnershipError as exc:  # an update s2s cannot follow (np.copyto, out=, ufunc.at, ...)
        line = getattr(exc.node, "lineno", None)
        # (which may be of any argument: a caller that runs the function as it is, `s2s.call_plain`, refuses)
        return _changing_everything(code, f"has an update s2s cannot follow (line {line}: {exc.message})")
    except (ctx().unsupported, ctx().no_rule):  # a refusal of what it reads (a refused global): no summary, as
        return None                               # for one without source; where it is called, that call decides
    except Exception as exc:  # noqa: BLE001 - s2s's own reading failed: it may update any argument (not "unknown",
        # which some readers take as changing nothing they must check: a failure must not hide an update)
        return _changing_everything(code, f"could not be read by s2s ({type(exc).__name__}: {exc})")


def summary_at(pf, func, call: ast.Call, is_local=lambda node: False, local_functions=None):
    """callee_summary(func) for the call `call` of it: its calls of what it is given settled by what `call`
    passes (transforms/callees.py): a global read as it is now, a lambda or a local function of yours
    (`local_functions`: name -> (parameters, statements)) by its own summary; those of a local value (a Name
    node `is_local` tells), which only the run can tell, stay in the result's `deferred` (and count as changing
    nothing here: s2s.call_plain and s2s.call_vjp check them when the call runs).

        >>> # def apply(f, v): return f(v)  -- apply(np.sin, x) updates nothing, apply(double, x) updates v
    """
    from . import ownership
    summary = callee_summary(func)
    if summary is None or not summary.deferred:
        return summary
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return dataclasses.replace(callees.settle(summary, lambda entry: set()), deferred=summary.deferred)
    try:
        signature = inspect.signature(func)
        passed = signature.bind_partial(*call.args, **{k.arg: k.value for k in call.keywords}).arguments
    except (TypeError, ValueError):
        return callees.settle(summary, lambda entry: callees.ALL)
    reader = callee_reader()

    def keys(entry):
        node = passed.get(entry.root)
        if node is None:
            default = signature.parameters.get(entry.root)
            if default is None or default.default is inspect.Parameter.empty:
                return callees.ALL
            return callees.changed_keys(callees.follow(default.default, entry.steps), reader)
        if isinstance(node, ast.Lambda) and not entry.steps:
            params, body = [a.arg for a in node.args.posonlyargs + node.args.args], [ast.Return(value=node.body)]
            outer = frozenset(n.id for n in walk(node.body) if isinstance(n, ast.Name) and is_local(n))
        elif isinstance(node, ast.Name) and node.id in (local_functions or {}) and not entry.steps:
            params, body = local_functions[node.id]
            outer = frozenset(n.id for s in body for n in walk(s) if isinstance(n, ast.Name) and is_local(n))
        else:
            root = node
            while isinstance(root, ast.Attribute):
                root = root.value
            value = pf.resolve_expr(node) if isinstance(root, ast.Name) and not is_local(root) else ctx().missing
            if value is ctx().missing:
                unseen.append(entry)  # (a value the caller computes: checked when the call runs)
                return set()
            return callees.changed_keys(callees.follow(value, entry.steps), reader)
        return ownership.function_keys(params, body, pf.resolve, _rule_of, callee_summary, _returns_view, _mutates,
                                       outer)
    unseen = []
    settled = callees.settle(summary, keys)
    return dataclasses.replace(settled, deferred=tuple(unseen))


def returned_function_keys(factory):
    """What a function the user function `factory` returns (`def make_scale(c): def scale(v): ...; return scale`,
    or a lambda) may change of its arguments (transforms/callees.py's keys), read from the returned function's
    body; callees.ALL where a return is anything else or s2s cannot read the factory.

        >>> # f = make_scale(3.0); f(x)  -- what scale's body changes of v
    """
    from . import ownership
    if not isinstance(factory, types.FunctionType) or not ctx().user_code(factory):
        return callees.ALL
    try:
        pf = _parsed(factory)
    except Exception:  # noqa: BLE001 - no source
        return callees.ALL
    scope = list(own_scope_nodes(pf.tree))
    bound = [s.name for s in scope if isinstance(s, ast.FunctionDef)] + \
        [n.id for n in scope if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)]
    # (a def the returned name is bound to once: not one shadowed under an `if`, or bound again)
    defs = {s.name: s for s in scope if isinstance(s, ast.FunctionDef) and not s.decorator_list
            and bound.count(s.name) == 1}
    returns = [s for s in scope if isinstance(s, ast.Return)]
    keys = set()
    for r in returns:
        if isinstance(r.value, ast.Lambda):
            params, body = r.value.args, [ast.Return(value=r.value.body)]
        elif isinstance(r.value, ast.Name) and r.value.id in defs:
            params, body = defs[r.value.id].args, defs[r.value.id].body
        elif isinstance(r.value, ast.Name | ast.Attribute) and not bound.count(getattr(r.value, "id", None)) \
                and (returned := pf.resolve_expr(r.value)) is not ctx().missing:  # (`return double`: a global)
            found = callees.changed_keys(returned, callee_reader())
            if found is callees.ALL:
                return callees.ALL
            keys |= found
            continue
        else:
            return callees.ALL
        if params.vararg or params.kwarg or params.kwonlyargs:
            return callees.ALL
        found = ownership.function_keys([a.arg for a in params.posonlyargs + params.args], body, pf.resolve,
                                        _rule_of, callee_summary, _returns_view, _mutates, frozenset(local_names(pf.tree)))
        if found is callees.ALL:
            return callees.ALL
        keys |= found
    return keys if returns else callees.ALL


def callee_reader():
    """A transforms/callees.Reader that reads user functions by their summaries (callee_summary) and library
    functions by their rules and facts.

        >>> # callees.changed_keys(np.copyto, callee_reader()) == {0}
    """
    from . import ownership
    return callees.Reader(callee_summary, _rule_of, _mutates, ownership.changes_nothing, ownership.changes_anything,
                          frozenset(ownership.MUTATING_METHODS), returned_function_keys)


def _first_made_here(tree):
    """A copy of the function `tree` whose first positional parameter is instead a new object made first thing
    (`self = {}`), else `tree` itself."""
    if not tree.args.args:
        return tree
    tree = copy.deepcopy(tree)
    first = tree.args.args.pop(0).arg
    tree.body.insert(0, ast.Assign(targets=[ast.Name(id=first, ctx=ast.Store())], value=ast.Dict(keys=[], values=[])))
    fix_locations(tree)
    return tree


def _owner_class(func):
    """The class of module level whose function `func` is (`Model.loss`, the getter of a property `Model.area`),
    else None."""
    owner, _, name = (getattr(func, "__qualname__", "") or "").partition(".")
    cls = getattr(func, "__globals__", {}).get(owner)
    if not name or "." in name or not isinstance(cls, type):
        return None
    found = inspect.getattr_static(cls, name, None)
    return cls if found is func or type(found) is property and found.fget is func else None


# NumPy's functions that make an array of what they are given: their rules take a list as it is (a list's
# tangent, `np.array([a_dot, b_dot])`, is made by forward mode's `s2s.array_tangent`)
_ARRAY_MAKERS = frozenset({np.array, np.asarray, np.asanyarray, np.ascontiguousarray, np.asfortranarray, np.copy,
                           np.astype, np.float32, np.float64})


# the keywords by which NumPy's elementwise functions take arrays (`np.clip(a, a_min, a_max)`, `np.real(val)`)
_ARRAY_KEYWORDS = frozenset({"x", "a", "b", "a_min", "a_max", "min", "max", "val", "condition", "y"})


def _reads_lists_as_arrays(func) -> bool:
    """Whether `func` is a NumPy ufunc or another of NumPy's elementwise functions with a rule (`np.clip`, `np.sinc`,
    `np.where`, `np.round`), which read a list they are given as the array NumPy makes of it."""
    if isinstance(func, np.ufunc):
        return True
    if not (getattr(func, "__module__", None) or "").startswith("numpy") or func in _ARRAY_MAKERS:
        return False
    return ctx().fact(func, "elementwise") and not ctx().fact(func, "structured")


def _returns_lists(func) -> bool:
    """Whether `func` is a plain function of yours each of whose own `return`s (not a nested function's) returns a list
    or tuple display or a list comprehension (`def pair(a): return [a[0], a[1] + 1.0]`): a ufunc given its value makes
    an array of that list."""
    if not isinstance(func, types.FunctionType) or _rule_of(func) is not None or not _user_function(func):
        return False
    try:
        tree = _parsed(func).tree
    except Exception:  # noqa: BLE001 - no source to read (exec'd code): not known to return lists
        return False
    returns = [n for n in own_scope_nodes(tree) if isinstance(n, ast.Return)]
    return bool(returns) and all(
        isinstance(r.value, ast.List | ast.Tuple | ast.ListComp) and not any(
            isinstance(item, ast.Starred) for item in getattr(r.value, "elts", ())) for r in returns)


_PARSED: dict = {}  # code object -> its parsed function (a code object's source never changes)


def _parsed(func):
    """frontend.parse_function(func), reusing the tree parsed for the same code object before.

    The names in it are resolved against `func` itself (its globals and closure now)."""
    import dataclasses

    parsed = _PARSED.get(func.__code__)
    if parsed is None:
        if len(_PARSED) > 512:
            _PARSED.clear()
        parsed = _PARSED[func.__code__] = ctx().parse_function(func)
    closure = {}
    for var, cell in zip(func.__code__.co_freevars, func.__closure__ or ()):
        try:
            closure[var] = cell.cell_contents
        except ValueError:
            closure[var] = ctx().missing
    return dataclasses.replace(parsed, func=func, globals=func.__globals__, closure=closure)


def _rule_of(obj):
    """The derivative rule of `obj`, or None."""
    try:
        return ctx().rule_for(obj)
    except TypeError:  # unhashable
        return None


def _mutates(obj) -> str | None:
    """The hint for a function that changes its first argument in place (the `mutates` fact of its record
    in s2s/rules: np.copyto, list.sort), else None."""
    return ctx().fact(obj, "mutates", None)


def _returns_view(obj) -> bool | str:
    """Whether a call of `obj` may return (a view of) an argument: the `returns_view` fact of its rule,
    or of the facts stated for a function without one (s2s/rules: `facts`); "sometimes" for a function of
    yours with a rule you gave it (custom_vjp, custom_jvp, s2s.defvjp): s2s does not read it, and it may
    hand its argument back (`def clip_gradient(x): return x`)."""
    fact = ctx().fact(obj, "returns_view")
    if not fact and _rule_of(obj) is not None and _user_function(obj):
        return "sometimes"
    return fact


def _user_function(obj) -> bool:
    """Whether `obj` is your own function (or wraps one, as custom_vjp does), not s2s's or a library's."""
    if ctx().is_runtime_helper(obj) or (getattr(obj, "__module__", None) or "").split(".")[0] == "s2s":
        return False
    return ctx().user_code(obj) or ctx().user_code(getattr(obj, "__wrapped__", None))
