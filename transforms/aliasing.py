"""Refuse in-place updates that another name could observe.

s2s writes `y[i] = v` and `L.append(v)` functionally in the forward sweep
(the user's arrays are never modified). That matches Python exactly unless
another name refers to the same array or list, or to a view of it, and is
read after the update. This pass finds every such place and raises
ctx().unsupported, so aliasing can never produce a wrong derivative.
"""

from __future__ import annotations

import ast
import re

from . import annotations, objects, refusals
from .analysis import atom_names, is_append, is_pop, resolve_call
from .context import ctx
from .desugar import helper_attr
from .names import called_name, load, loaded_names, name_counts
from .ownership import out_hint
from .walk import fix_locations, walk


def _returns_view(obj) -> bool:
    """Whether `obj`'s result is a view of its first argument (True, not "sometimes"), as its rule, or the
    facts stated for a function without one, says (s2s/rules: `returns_view`)."""
    return ctx().fact(obj, "returns_view") is True


def _mutated_name(s):
    if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Subscript):
        return s.targets[0].value.id
    if isinstance(s, ast.Expr) and is_append(s.value):
        return s.value.func.value.id
    if isinstance(s, ast.Assign | ast.Expr) and (is_pop(s.value) or _pop_call(s.value)):
        return s.value.func.value.id  # (`t.pop()` with its value dropped, `t.pop(0)`: t changes all the same)
    return None


def _pop_call(e) -> bool:
    """`L.pop(...)` of a local name, with or without an index."""
    return isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "pop" \
        and isinstance(e.func.value, ast.Name) and not annotations.is_global(e.func.value) \
        and not annotations.is_helper(e.func.value)


def _mutations(stmts):
    out = set()
    for s in stmts:
        for n in walk(s):
            if isinstance(n, ast.stmt):
                m = _mutated_name(n)
                if m:
                    out.add(m)
    return out


def check_aliasing(pf, tree: ast.FunctionDef) -> None:
    """Raise UnsupportedSyntaxError where an in-place update could be seen through an alias."""
    for node in walk(tree):
        if isinstance(node, ast.Call) and any(k.arg == "out" for k in node.keywords):
            raise pf.error(ctx().unsupported, "s2s cannot differentiate a call that writes its result into an "
                           "existing array (out=...)", node,
                           hint=out_hint(node, node.args, next(k.value for k in node.keywords if k.arg == "out")))
    _check_block(pf, tree.body, _mutations(tree.body), views=_view_bindings(pf, tree), handed_on=_handed_on(pf, tree),
                 lists=_lists_only(tree), built=_built_lists(pf, tree), unpacked=_unpacked_results(pf, tree),
                 private=_private_temporaries(pf, tree))


def _private_temporaries(pf, tree) -> frozenset:
    """The names lowering made for a nested expression's new object (`np.linspace(...)` of
    `v = np.linspace(...).reshape(1, 4)`): bound once to a certainly new value and read once, so a view of it
    is the only way to its array, and updating the view changes nothing anyone reads."""
    loads, stores = name_counts(tree)
    values = {n.targets[0].id: n.value for n in walk(tree)
              if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)}
    params = {a.arg for a in walk(tree.args) if isinstance(a, ast.arg)}
    return frozenset(name for name, v in values.items() if stores.get(name) == 1 and loads.get(name) == 1
                     and name not in params and not _named_by_user(pf, name) and _certainly_new(pf, v))


def _unpacked_results(pf, tree) -> set[str]:
    """The names s2s made for the result of a NumPy function that gives new arrays in a tuple or list (`A, B =
    np.meshgrid(x, y)`, `U, s, Vt = np.linalg.svd(X)`: its rule returns no view and `copy=` is not passed but as
    True), bound once and read only to be unpacked, each item into a name of its own: an item is no view of
    anything another name holds."""
    binding, reads, items, plain = {}, {}, {}, set()
    for n in walk(tree):
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
            name = n.targets[0].id
            plain.add(id(n.targets[0]))
            binding[name] = n.value if name not in binding else None
            v = n.value
            if isinstance(v, ast.Subscript) and isinstance(v.value, ast.Name) and isinstance(v.slice, ast.Constant) \
                    and type(v.slice.value) is int:
                items.setdefault(v.value.id, []).append(v.slice.value)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            reads[n.id] = reads.get(n.id, 0) + 1
        elif isinstance(n, ast.Name) and id(n) not in plain or isinstance(n, ast.arg):
            binding[getattr(n, "id", getattr(n, "arg", None))] = None  # (bound otherwise: a loop, a parameter)
    out = set()
    for name, value in binding.items():
        if not isinstance(value, ast.Call) or _named_by_user(pf, name) or name not in items:
            continue
        func = resolve_call(pf, value)
        module = (getattr(func, "__module__", None) or "").split(".")[0]
        counted = sum(1 for c in walk(tree) if isinstance(c, ast.Call) and called_name(c) == "unpack_count"
                      and c.args and isinstance(c.args[0], ast.Name) and c.args[0].id == name)
        if module == "numpy" and ctx().fact(func, "structured") and _new_value(pf, value) \
                and len(set(items[name])) == len(items[name]) and reads.get(name) == len(items[name]) + counted:
            out.add(name)
    return out


def _refuse(pf, node, name, how, update=None):
    if _yours(pf, name):
        # (a variable s2s made for a key of a dict used as a record: the item as written, `d['a']`)
        name = annotations.get(getattr(pf, "tree", None), annotations.RECORD_ITEMS, {}).get(name, name)
        raise pf.error(ctx().unsupported,
                       f"s2s cannot differentiate this in-place update: {how} `{name}`, so the update"
                       f"{_where(pf, update)} would be visible through another name", node,
                       hint=f"make an explicit copy first (`{name} = {name}.copy()`), "
                            "or build a new value instead of updating in place")
    # a name s2s made (the list of a comprehension or of a dict view, `items`): not one to show
    raise pf.error(ctx().unsupported,
                   f"s2s cannot differentiate this in-place update: {how} a value s2s builds for one of your "
                   "expressions (such as the list of a comprehension or of a dict view), so the update would be "
                   "visible through it", node,
                   hint="keep a copy (`list(...)`) of what you read before the update, or build a new value "
                        "instead of updating in place")


def _where(pf, update) -> str:
    """` at line N (`text`)` of the user's line of the update statement `update`, or ""."""
    text = _source_line(pf, update)
    return f" at line {update.lineno + pf.first_line - 1} (`{text.strip()}`)" if text else ""


def _source_line(pf, node) -> str:
    """The user's source line of `node` (its `lineno` counted in the function's own lines), or ""."""
    line = getattr(node, "lineno", None)
    lines = getattr(pf, "lines", None)
    return lines[line - 1] if type(line) is int and lines and 0 < line <= len(lines) else ""


def _yours(pf, name) -> bool:
    """Whether `name` is one of the function's own names, or one given a parameter or local of a helper expanded
    in it (not one s2s made while lowering it)."""
    code = getattr(getattr(pf, "func", None), "__code__", None)
    return code is None or name in code.co_varnames + code.co_cellvars + code.co_freevars + code.co_names \
        or name in annotations.get(getattr(pf, "tree", None), annotations.EXPANDED_NAMES, ())


def _named_by_user(pf, name) -> bool:
    """Whether the user's code names `name` as a variable: a local, cell or free name of the function, a global
    of its module, or a name of a helper expanded in it (`_yours` counts attribute names too: `cumsum` of
    `np.cumsum`, which lowering also gives the temporary it makes)."""
    code = getattr(getattr(pf, "func", None), "__code__", None)
    return code is None or name in code.co_varnames + code.co_cellvars + code.co_freevars \
        or name in code.co_names and name in getattr(pf, "globals", {}) \
        or name in annotations.get(getattr(pf, "tree", None), annotations.EXPANDED_NAMES, ())


def _view_bindings(pf, tree):
    """{name: the name it may be a view of} for `v = y[...]` and `v = np.reshape(y, ...)`-like lines."""
    out = {}
    for s in walk(tree):
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
            v = s.value
            if isinstance(v, ast.Subscript) and atom_names(v.value):
                out[s.targets[0].id] = atom_names(v.value)[0]
            elif isinstance(v, ast.Call) and _returns_view(resolve_call(pf, v)) and v.args and atom_names(v.args[0]):
                out[s.targets[0].id] = atom_names(v.args[0])[0]
    return out


def _new_value(pf, v) -> bool:
    """Whether the lowered expression `v` makes a new object: arithmetic, or a call with a rule whose result is
    never a view of an argument."""
    if isinstance(v, ast.Call):
        func = resolve_call(pf, v)
        if any(k.arg in ("copy", None) and not (isinstance(k.value, ast.Constant) and k.value.value is True)
               for k in v.keywords):
            return False  # (`np.meshgrid(x, y, copy=False)`, or `**opts` that may say so: views)
        try:
            return ctx().lookup(func) is not None and not ctx().fact(func, "returns_view")
        except TypeError:  # (an object that cannot be looked up)
            return False
    return isinstance(v, ast.BinOp | ast.UnaryOp)


def _certainly_new(pf, v) -> bool:
    """`_new_value`, less the calls that may give back an argument itself: with `copy=` other than True
    (`x.astype(t, copy=False)`, `np.nan_to_num(x, copy=False)`), or one of s2s's own helpers (stop_gradient and
    the run-time checks give their argument back) but its copy."""
    if isinstance(v, ast.Call):
        if any(k.arg in ("copy", None) and not (isinstance(k.value, ast.Constant) and k.value.value is True)
               for k in v.keywords):
            return False
        func = resolve_call(pf, v)
        if ctx().is_runtime_helper(func) and func is not getattr(ctx().runtime, "copy", None):
            return False
    return _new_value(pf, v)


def _lists_only(tree) -> set[str]:
    """Names every binding of which is a list display or comprehension (not a parameter, a loop's target or
    anything else): they certainly hold lists, so `L[a:b]` of one is a new list, not a view."""
    kinds, seen = {}, set()
    for n in walk(tree):
        if isinstance(n, ast.Assign):
            for t in n.targets:
                listed = isinstance(t, ast.Name) and isinstance(n.value, ast.List | ast.ListComp)
                for name in (x for x in walk(t) if isinstance(x, ast.Name)):
                    seen.add(id(name))
                    kinds[name.id] = kinds.get(name.id, True) and listed
    for n in walk(tree):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load) and id(n) not in seen or isinstance(n, ast.arg):
            kinds[n.id if isinstance(n, ast.Name) else n.arg] = False
    return {name for name, listed in kinds.items() if listed}


def _built_lists(pf, tree) -> set[str]:
    """Names s2s made that are bound only to list displays (the list a comprehension builds, `items = []` then
    `items.append(v)`): a new list at each binding, whose updates follow the flow as a name of yours does (unlike
    a list s2s made of a dict view, which stands for a view of the dict)."""
    return {name for name in _lists_only(tree) if not _yours(pf, name)} & {
        t.id for n in walk(tree) if isinstance(n, ast.Assign) and isinstance(n.value, ast.List)
        for t in n.targets if isinstance(t, ast.Name)}


def _list_copy(value, lists) -> bool:
    """`L[a:b]` of a name that certainly holds a list: a new list (whose items are L's own)."""
    return isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Slice) and isinstance(value.value, ast.Name) \
        and value.value.id in lists


def _handed_on(pf, tree) -> set[str]:
    """Names read at one place only and bound only to new values (arithmetic, or calls with a rule whose
    result is never a view of an argument): `x = name` there hands the value on to x alone."""
    loads, bindings = name_counts(tree)
    fresh = {}
    for n in walk(tree):
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) \
                and _new_value(pf, n.value):
            fresh[n.targets[0].id] = fresh.get(n.targets[0].id, 0) + 1
    params = {a.arg for a in walk(tree.args) if isinstance(a, ast.arg)}
    return {name for name, k in fresh.items() if loads.get(name) == 1 and bindings.get(name) == k and name not in params}


def _bound_before(stmts, name) -> bool:
    """Whether one of `stmts` (earlier in the same block) binds `name`: then each run of the block binds it anew
    before it is handed on (in a loop too: a value bound outside the loop would be handed on at every trip)."""
    return any(isinstance(s, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in s.targets)
               for s in stmts)


def _fresh_binding(pf, s, name) -> bool:
    """Whether `s` binds `name` to a new object: a list, dict or set (a display or comprehension), the result of
    arithmetic (not `x += v`, which updates an array in place) or of a call that never returns a view nor its
    argument (`_certainly_new`): the object the name held before is out of its reach."""
    return (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
            and s.targets[0].id == name and not annotations.has(s, annotations.AUGMENTED)  # (`x += v`: in place)
            and (isinstance(s.value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp)
                 or _certainly_new(pf, s.value)))


def _binds(loop, name) -> bool:
    """Whether the loop's target binds `name` (`for z in rows:`): a statement the block scan does not go into."""
    return isinstance(loop, ast.For) and any(isinstance(t, ast.Name) and t.id == name for t in walk(loop.target))


def _runs_a_whole_trip(pf, loop) -> bool:
    """Whether `loop` is `for ... in range(...)` of int literals giving at least one trip, with no break or continue:
    its body's first trip runs to its end."""
    call = loop.iter if isinstance(loop, ast.For) else None
    if not (isinstance(call, ast.Call) and not call.keywords and 1 <= len(call.args) <= 3
            and all(isinstance(a, ast.Constant) and type(a.value) is int for a in call.args)
            and isinstance(call.func, ast.Name) and pf.resolve_expr(call.func) is range) \
            or any(isinstance(n, ast.Break | ast.Continue) for n in walk(loop)):
        return False
    args = [a.value for a in call.args]
    return (len(args) < 3 or args[2] != 0) and len(range(*args)) > 0


def _updated_later(pf, name, frames):
    """The statement of an update through `name` that may run after the statement `frames` point at, before `name` is bound
    to a new object. `frames`: (statements, index) of that statement's block, then of each enclosing
    statement in its block, innermost first, with whether the block is a loop's body (it runs again)."""
    return _before_a_new_object(pf, name, frames, lambda s: name in _mutations([s]))


def _read_later(pf, name, frames):
    """The statement of a read of `name` that may come after the statement `frames` point at (as for `_updated_later`) before it is
    bound to a new object."""
    return _before_a_new_object(pf, name, frames, lambda s: name in loaded_names(s))


def _before_a_new_object(pf, name, frames, hit):
    """The first statement `hit` accepts that may run after the statement `frames` point at, before one binds
    `name` to a new object (a statement that does both: `hit` first); else False."""
    def header_hits(*exprs):
        return any(e is not None and hit(ast.Expr(value=e)) for e in exprs)

    def scan(stmts):
        """The statement of a hit that may come first; False: every way through binds a new object first; None:
        neither."""
        for s in stmts:
            if isinstance(s, ast.If):
                if header_hits(s.test):
                    return s
                body, orelse = scan(s.body), scan(s.orelse)
                if body or orelse:
                    return body or orelse
                if body is False and orelse is False:
                    return False
            elif isinstance(s, ast.For | ast.While) and not _binds(s, name):
                # (the body's first trip decides each trip: one that binds first leaves the next trip a new object;
                # no trip at all, a break or the else block leave the way on open, unless a trip certainly runs)
                if header_hits(getattr(s, "iter", None), getattr(s, "test", None)):
                    return s
                body = scan(s.body)
                if body:
                    return body
                if body is False and _runs_a_whole_trip(pf, s):
                    return False
                orelse = scan(s.orelse)
                if orelse:
                    return orelse
            elif hit(s):
                return s
            elif _fresh_binding(pf, s, name):
                return False
        return None
    for stmts, i, loop in frames:
        verdict = scan(stmts[i + 1:])
        if verdict is not None:
            return verdict
        again = scan(stmts) if loop else None  # the next trip (new bindings there leave the way out of the loop open)
        if again:
            return again
    return False


def _check_block(pf, stmts, mutated, views=None, handed_on=frozenset(), frames=(), lists=frozenset(),
                 built=frozenset(), unpacked=frozenset(), private=frozenset()):
    views = views or {}
    for i, s in enumerate(stmts):
        here = ((stmts, i, frames[0][2]),) + frames[1:] if frames else ((stmts, i, False),)
        for child in (getattr(s, "body", None), getattr(s, "orelse", None)):
            if isinstance(child, list):
                loop = isinstance(s, ast.For | ast.While) and child is s.body
                _check_block(pf, child, mutated, views, handed_on, ((child, -1, loop),) + here, lists, built, unpacked,
                             private)

        def updated_later(name, here=here):
            # (a list s2s made, `items` of `held = (d.values(), 1)`, stands for a view of what it was read from:
            # an update of that follows no flow of its own, so any update of it refuses, as before; one a
            # comprehension builds, bound only to new lists, follows the flow). The update's statement, or True.
            return name in mutated and (not _yours(pf, name) and name not in built or _updated_later(pf, name, here))
        if not isinstance(s, ast.Assign | ast.Expr):
            continue
        value = s.value
        target = s.targets[0] if isinstance(s, ast.Assign) else None
        # a plain copy between names, either direction
        # (`x = x_new` where nothing else reads x_new and nothing updates it hands the value on: one name is left,
        # as where forward mode computes a tangent from the old x before x is rebound, `x = np.stack(x)`)
        # (the list a comprehension built, `ps = items`, read by nothing after before a new list: handed on too)
        if isinstance(target, ast.Name) and isinstance(value, ast.Name) and atom_names(value) and \
                not (value.id in handed_on and value.id not in mutated and _bound_before(stmts[:i], value.id)) and \
                not (value.id in built and not _read_later(pf, value.id, here)):
            # (an update before the names are joined, or after the updated one is bound to a new list, is
            # seen by neither: `new = []; new.append(h); hs = new` in a loop)
            for n in (value.id, target.id):
                if update := updated_later(n):
                    _refuse(pf, s, n, "another name is bound to", update)
        # stored inside a container or handed to a user function
        if isinstance(value, ast.List | ast.Tuple | ast.Dict):
            elts = value.elts if not isinstance(value, ast.Dict) else value.values
            for n in atom_names(elts):
                if update := updated_later(n):
                    _refuse(pf, s, n, "a container holds", update)
        if isinstance(value, ast.Call):
            if is_append(value):
                for n in atom_names(value.args):
                    if update := updated_later(n):
                        _refuse(pf, s, n, "a list holds", update)
        # a view of a mutated array must be used up before the next update
        view_of = None
        if isinstance(target, ast.Name):
            if isinstance(value, ast.Subscript) and atom_names(value.value) and value.value.id not in unpacked:
                view_of = value.value.id
            elif isinstance(value, ast.Call) and _returns_view(resolve_call(pf, value)) and value.args:
                names = atom_names(value.args[0])
                view_of = names[0] if names else None
        if view_of == getattr(target, "id", None):
            view_of = None  # `x = np.asarray(x)`: x is rebound; the ownership analysis follows the old value
        # (an update before it held the view changes no base; one of a slice of a list changes that new list alone,
        # and an item of it read and updated is a view of the list in turn)
        if view_of is not None and updated_later(target.id) and not _list_copy(value, lists) \
                and view_of not in private:  # (a view of a new array nothing else reads: `np.linspace(...).reshape(...)`)
            written = objects.as_written(value)
            if _yours(pf, target.id) and not _named_by_user(pf, view_of):
                # (a view of a value s2s named, `cumsum` of `c = np.cumsum(x[::-1])[::-1]`: the user wrote no name)
                what, hint = f"`{target.id}`", (f"take a copy where the view is made: end the expression bound to "
                                                f"`{target.id}` on this line with `.copy()`")
            elif _yours(pf, target.id):
                what, hint = f"`{target.id}`", f"take a copy where the view is made: `{target.id} = {written}.copy()`"
            else:  # (a name s2s made for `d['vals']` of `d['vals'].append(v)`: the user wrote the expression)
                what = f"`{written}`"
                hint = (f"update a name of your own (`part = {written}.copy()`, or a new list or array), and store it "
                        f"back (`{written} = part`) after the updates")
            base = f"`{view_of}`" if _named_by_user(pf, view_of) else "an array or list this line reads"
            raise pf.error(ctx().unsupported,
                           f"s2s cannot differentiate an update of {what}: it may be a view of {base}, "
                           f"so updating it would change {'that' if base[0] != '`' else base} too", s, hint=hint)
        root, seen = view_of, {view_of}  # a view of a view (np.transpose(np.reshape(x, ...))) views x too
        while root not in mutated and root in views and views[root] not in seen:
            root = views[root]
            seen.add(root)
        if root in mutated:
            _check_view_use(pf, stmts, i, target.id, root, mutated)


def _check_view_use(pf, stmts, i, view, base, mutated, seen=None):
    if view in mutated:
        _refuse(pf, stmts[i], base, "this updates a view of")
    seen = {view} if seen is None else seen
    for j, later in enumerate(stmts[i + 1:], i + 1):
        holder = _holder(later, view)
        if holder is not None and holder not in seen:  # `t = (v, w)`: t's items are views of base too
            seen.add(holder)
            _check_view_use(pf, stmts, j, holder, base, mutated, seen)
        uses = view in loaded_names(later)
        updates = base in _mutations([later])
        if uses and not (updates and _only_reads_before_update(later, view)):
            if updates:
                _refuse_view(pf, stmts, later, base, stmts[i], "a view is read after an update of")
                return  # (an item checked to be a number when the code runs: no view)
            continue
        if updates:
            # after the update the view is stale; any later read is refused
            for rest in stmts[stmts.index(later) + 1:]:
                if view in loaded_names(rest):
                    _refuse_view(pf, stmts, rest, base, stmts[i], "a view taken before an update is read after it, of")
                    return
            return
    # the view lives past the end of this block (e.g. into the next loop iteration)


def _refuse_view(pf, stmts, node, base, made, how):
    """`_refuse`, for a view of `base` read after an update of base: the copy to take is the view's, where the
    statement `made` takes it (`B[0], B[1] = B[1], B[0]` reads the row B[0] after it was written, in Python).

    Where `made` reads one item (`t = y[i]`, no slice), the read is a number where `y` has as many axes as the
    index reads (the swap `y[i], y[j] = y[j], y[i]` of a 1-d array), which no update changes, and a view
    otherwise: s2s cannot know the axes when it transforms, so the read is checked when the code runs
    (`s2s.item_number`, which raises this error where it is not a number), and is a number after it."""
    if not (_yours(pf, base) and isinstance(made, ast.Assign) and made.value is not None):
        _refuse(pf, node, base, how)
    written = objects.as_written(made.value)
    line = _source_line(pf, made)
    swap = re.match(r"\s*(\w+)\[(.+)\],\s*\1\[(.+)\]\s*=\s*\1\[\3\],\s*\1\[\2\]\s*$", line)
    item = isinstance(made.value, ast.Subscript) and not any(
        isinstance(i, ast.Slice) for i in (made.value.slice.elts if isinstance(made.value.slice, ast.Tuple)
                                           else [made.value.slice]))
    # (the item's kind, `{kind}`, is put in when the check raises it)
    why = f"`{written}` is {{kind}} here, not a number (an item of an array with more axes than the index reads " \
          "is a row or a block, a view of it), and in Python a view shows the update" if item \
        else f"in Python the view `{written}` shows the update"
    error = pf.error(ctx().unsupported,
                     f"s2s cannot differentiate this in-place update: {how} `{base}`: {why}, so what is read from "
                     "it changes", node,
                     hint=f"copy it where it is read, `{written}.copy()`, if the value from before the update is "
                          "what you mean, or build a new value instead of updating in place"
                          + (f" (a swap: `{swap[1]}[[{swap[2]}, {swap[3]}]] = {swap[1]}[[{swap[3]}, {swap[2]}]]`)"
                             if swap else ""))
    if not item:
        raise error
    record = {k: getattr(error, k) for k in ("message", "filename", "lineno", "col", "line", "hint")}
    check = ctx().runtime.item_number
    name = made.targets[0].id  # (`t = y[i]` then `t = s2s.item_number(t, site)`: the check's argument is a name)
    checked = ast.Assign(targets=[ast.Name(name, ast.Store())], value=ast.Call(
        func=helper_attr("s2s", "item_number", check), args=[load(name), refusals.site(pf, None, record)],
        keywords=[]))
    stmts.insert(stmts.index(made) + 1, fix_locations(ast.copy_location(checked, made)))


def _holder(stmt, view):
    """The name `stmt` binds to a tuple, list or dict display that holds the name `view`, or None."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
        return None
    value = stmt.value
    if isinstance(value, ast.List | ast.Tuple | ast.Dict):
        elts = value.elts if not isinstance(value, ast.Dict) else value.values
        if view in atom_names(elts):
            return stmt.targets[0].id
    return None


def _only_reads_before_update(stmt, view):
    # `y[i] = view * 2` reads the view before writing
    return isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Subscript)
