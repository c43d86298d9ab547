"""Objects in differentiated code: attribute reads, records built and replaced.

Runs after `desugar` and `exits`, before `lower`. It writes the object operations as calls of
runtime helpers that have derivative rules (s2s/runtime/structures.py, s2s/rules/structures.py):

- `obj.a.b` (a value's attribute, read) -> `s2s.field(obj, "a", "b")`. Its adjoint places the
  adjoint into a zero record of `obj`'s type; an object that is not a namedtuple or dataclass and
  is differentiated is refused when the adjoint is made. A non-differentiated object (`self`,
  a configuration, a random generator) is a constant, and so are its attributes.
- `P(a, b)` / `P(w=a, b=b)` for a namedtuple class or dataclass `P` -> `s2s.record((a, b), P, "w", "b")`;
- `obj._replace(w=v)` and `dataclasses.replace(obj, w=v)` -> `s2s.replace(obj, (v,), "w")`.
- `self.h = v` ... `self.h`: an attribute the function stores is a local variable `self_h` of the
  derivative code (so what is read back carries its derivative), and every store is still made
  (`s2s.store_field(self, "h", self_h)`, the side effect Python has). Only where nothing else can
  see or change `self.h` in between: `self` is a plain name that is never rebound and only used as
  `self.attribute`, no other object's `.h` is read, and the function calls nothing that could
  reach `self` (only functions with derivative rules), and its other attributes read are plain ones
  (`s2s.plain_attribute` checks that when it runs: no property, method or `__getattr__`). Anything
  else is refused.

Attributes of globals and modules (`np.pi`, a global object's `model.W`) are left alone (constants),
and so are method calls on values (`rng.normal(...)`: s2s's calls of values, s2s/runtime/calls.py)
and the array attributes that carry no derivative (`x.shape`, `x.dtype`...). A method of a global
object of yours (`layer.forward_pass(x, w)`) becomes a call of its function with the object first
(`layer.forward_pass.__func__(layer, x, w)`), linked like any helper.

    def f(p, x):                               def f(p, x):
        return np.sum(p.w * x + p.b)    ->         return np.sum(s2s.field(p, 'w') * x + s2s.field(p, 'b'))
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import inspect
import types

from . import annotations, callees
from .context import ctx, missing
from .desugar import VALUE_ATTRIBUTES, helper_attr, local_names
from .walk import child_parent_pairs, fix_locations, parent_map, replace_child, walk

# an array's data attributes stay attribute reads: the shape-like ones have no derivative, and the others
# (x.flat, x.data) are refused where they are differentiated, as before (a record's field of such a name too)
_PLAIN_ATTRIBUTES = VALUE_ATTRIBUTES | {"itemsize", "nbytes", "strides", "flags", "base", "ctypes", "data", "device",
                                        "flat", "mT"}
# fields that s2s reads as an array's (no derivative, or desugared to np.transpose / np.real): a record with one is
# refused (s2s/runtime/structures.py checks the same names at run time)
ARRAY_NAMES = VALUE_ATTRIBUTES | {"itemsize", "nbytes"}


def record_type(obj) -> str | None:
    """"namedtuple" or "dataclass" for a record class s2s can build in differentiated code, else None."""
    if not isinstance(obj, type):
        return None
    if issubclass(obj, tuple) and isinstance(getattr(obj, "_fields", None), tuple):
        return "namedtuple"
    if dataclasses.is_dataclass(obj):
        return "dataclass"
    return None


def rewrite(pf, tree: ast.FunctionDef, alloc=None, record_params=()) -> ast.FunctionDef:
    """Rewrite the object operations of `tree` (in place; returned). `record_params`: (name, class) of parameters
    given a record with methods in the call the code is made for (its method calls are read as the class's)."""
    if alloc is not None:
        _StoredAttributes(pf, tree, alloc).run()
    objects = _Objects(pf, local_names(tree))
    objects.receivers = _known_receivers(pf, tree, objects._resolve, record_params)
    property_reads(pf, tree, objects.receivers)
    objects.visit(tree)
    # the single-expression local helpers (adopted methods of records among them: `self.W`) are expanded by `lower`,
    # after this pass: their attribute reads of values are read as the caller's own are
    for helper in annotations.get(tree, annotations.LOCAL_HELPERS, {}).values():
        if helper.body is not None:
            inner = _Objects(pf, local_names(tree) | set(helper.params))
            inner.in_helper = True
            helper.body = inner.visit(helper.body)
    fix_locations(tree)
    return tree


def _call(attr, args, like):
    node = ast.Call(func=helper_attr("s2s", attr, getattr(ctx().runtime, attr)), args=args, keywords=[])
    return ast.copy_location(node, like)


def _names(names):
    return [ast.Constant(n) for n in names]


class _Objects(ast.NodeTransformer):
    def __init__(self, pf, locals_):
        self.pf = pf
        self.locals = locals_
        self.receivers = {}  # local name -> (its record class, an expression of the class, its exact type known)
        # (a local helper's body: a global object's method it calls stays a call of a value, s2s/runtime/calls.py,
        # as it was before its attribute reads were read here)
        self.in_helper = False

    def _is_value(self, node) -> bool:
        """A run-time value of the function (rooted at a local name, a call, a subscript...), not a
        module, class or global object."""
        root = node
        while isinstance(root, ast.Attribute):
            root = root.value
        return not isinstance(root, ast.Name) or root.id in self.locals

    def _resolve(self, node):
        if self._is_value(node) or annotations.is_helper(_root(node)):
            return missing()
        try:
            return self.pf.resolve_expr(node)
        except Exception:  # noqa: BLE001 - a property that raises: not a record class
            return missing()

    def visit_Attribute(self, node):
        if not isinstance(node.ctx, ast.Load):
            self.generic_visit(node)
            return node
        if node.attr in _PLAIN_ATTRIBUTES or not self._is_value(node):
            self.generic_visit(node)
            return node
        inner = self.visit(node.value)
        if isinstance(inner, ast.Call) and _is_field_call(inner):  # obj.a.b: one call with the path
            inner.args.append(ast.Constant(node.attr))
            return ast.copy_location(inner, node)
        return _call("field", [inner, ast.Constant(node.attr)], node)

    def visit_Call(self, node):
        func = node.func
        held = self._held_receiver(func)  # (before its object's parts are read: `net.encoder`, `net.layers[0]`)
        if isinstance(func, ast.Attribute):  # a method call: its object's parts are read, the method is not
            func.value = self.visit(func.value)
        else:
            node.func = self.visit(func)
        node.args = [self.visit(a) for a in node.args]
        for k in node.keywords:
            k.value = self.visit(k.value)
        if isinstance(func, ast.Attribute) and func.attr == "_replace" and self._is_value(func.value):
            return self._replace(node, func.value, node.args, node.keywords)
        method = self._record_method(node, held)
        if method is not None:
            return method
        obj = self._resolve(func)
        if obj is missing():
            return node
        if obj is getattr and len(node.args) == 2 and not node.keywords and self._is_value(node.args[0]) \
                and not any(isinstance(a, ast.Starred) for a in node.args):
            # `getattr(p, name)` of a value is the read `p.<name>`, its name known when it runs (`for name in
            # ("W", "b")`): s2s.field, whose adjoint places g at that field of a record and refuses anything else;
            # of a literal name, the attribute as written (`getattr(x, "shape")` is `x.shape`)
            name = node.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and name.value.isidentifier():
                return self.visit(ast.copy_location(ast.Attribute(value=node.args[0], attr=name.value, ctx=ast.Load()),
                                                    node))
            return _call("field", list(node.args), node)
        if isinstance(func, ast.Attribute | ast.Name) and _is_user_method(obj) and not self.in_helper:
            # `layer.forward_pass(x, w)` with `layer` a global object (or `G(x)` of a global `G = net.loss`, a
            # bound method): the method's function with the object first, which s2s reads and links like any helper
            # of yours (the object is not differentiated)
            self._refuse_changing_method(
                node, obj.__func__, f"{obj.__func__.__qualname__} of a global object", "that object would then",
                "return the new values from the method instead of storing them, or pass the object as an argument",
                instance=obj.__self__)  # (`self.act` read on this object)
            plain = ast.copy_location(ast.Attribute(value=func, attr="__func__", ctx=ast.Load()), func)
            # (the object the method is bound to: `layer` of `layer.forward`, but `CFG.loss = net.loss` is net's)
            receiver = copy.deepcopy(func.value) if isinstance(func, ast.Attribute) \
                and self._resolve(func.value) is obj.__self__ else \
                ast.copy_location(ast.Attribute(value=copy.deepcopy(func), attr="__self__", ctx=ast.Load()), func)
            return ast.copy_location(ast.Call(func=plain, args=[receiver, *node.args],
                                              keywords=node.keywords), node)
        if obj is dataclasses.replace:
            if len(node.args) != 1:
                raise self.pf.error(ctx().unsupported, "s2s understands dataclasses.replace(obj, field=value, ...)",
                                    node, hint="pass the object positionally and the fields by keyword")
            return self._replace(node, node.args[0], [], node.keywords)
        kind = record_type(obj)
        if kind is not None:
            return self._record(node, obj, kind)
        return node

    def _refuse_changing_method(self, node, function, shown, reads, hint, instance=None):
        """Refuse the call `node` of the method `function` where its summary says it changes its object, an argument
        or something outside, or cannot be read (`_changes`)."""
        what = _changes(function, instance)
        if what is not None:
            raise self.pf.error(ctx().unsupported, f"s2s cannot differentiate this call of the method {shown}: it "
                                f"{what}, and what the rest of the function reads of {reads} carry no derivative",
                                node, hint=hint)

    def _held_receiver(self, func):
        """(the known record's entry, its expression, the method) where `func` calls a method of a record held in a
        field of a parameter (`net.encoder(x)`, `net.encoder.forward(x)`, `net.layers[0](x)`: `_known_receivers`'
        "net.encoder" and "net.layers"), else None. The expression is read here (`s2s.field(net, "encoder")`)."""
        for receiver, method in ((func, "__call__"), (getattr(func, "value", None), getattr(func, "attr", None))):
            if isinstance(receiver, ast.Attribute) and isinstance(receiver.value, ast.Name) \
                    and _listed_key(receiver) in self.receivers and receiver.value.id in self.locals:
                known = self.receivers[_listed_key(receiver)]
            elif isinstance(receiver, ast.Subscript) and isinstance(receiver.value, ast.Attribute) \
                    and (_LISTED, _listed_key(receiver.value)) in self.receivers:
                known = self.receivers[(_LISTED, _listed_key(receiver.value))]
            else:
                continue
            if method == "__call__" and receiver is not func or method_of(known[0], method) is None:
                continue
            return known, self.visit(copy.deepcopy(receiver)), method
        return None

    def _record_method(self, node, held=None):
        """`p.forward(x)` / `p(x)` with `p` a record of a known class C (`_known_receivers`) -> `C.forward(p, x)` /
        `C.__call__(p, x)`: the method's function, which s2s reads and differentiates like any function of
        yours. `p` goes through `s2s.receiver(p, C, "forward")` where Python might call another function when it
        runs (a dataclass instance may hold an attribute `forward` of its own; `self` of a method may be of a
        subclass): that checks it is C's. `held` is `_held_receiver`'s for a record a parameter's field holds. None
        where the call is no such method call."""
        func = node.func
        receiver, method = (func.value, func.attr) if isinstance(func, ast.Attribute) else (func, "__call__")
        if held is not None:
            known, receiver, method = held
        elif isinstance(receiver, ast.Name):
            known = self.receivers.get(receiver.id)
        elif isinstance(receiver, ast.Subscript) and isinstance(receiver.value, ast.Name):  # `layers[0](h)`
            known = self.receivers.get((_LISTED, receiver.value.id))
        else:
            return None
        if known is None:
            return None
        cls, cls_expr, exact = known
        function = method_of(cls, method)
        if function is None and method in record_fields(cls) and isinstance(func, ast.Attribute):
            # (`self.f(z)` of a field holding a function, `f: object = np.tanh`: the field's value called, a
            # function value read from the record, `s2s.field(self, "f")(z)`)
            read = _call("field", [copy.deepcopy(receiver), ast.Constant(method)], func)
            return ast.copy_location(ast.Call(func=read, args=node.args, keywords=node.keywords), node)
        if function is None:
            return None
        # (a method that changes its object or an argument: what the caller reads of them afterwards would carry no
        # derivative of the change, and this pass runs after the ownership checks of calls)
        self._refuse_changing_method(node, function, f"{cls.__name__}.{method}", "them would",
                                     "return the new values from the method instead of changing the object or its "
                                     "arguments (a new record: `return dataclasses.replace(self, W=...)`)")
        explicit = isinstance(func, ast.Attribute) and func.attr == method  # (`p.__call__(x)`, not `p(x)`)
        obj = checked_receiver(receiver, cls, cls_expr, method, exact, node, explicit)
        callee = ast.Attribute(value=copy.deepcopy(cls_expr), attr=method, ctx=ast.Load())
        self.pf.resolve_expr(callee)  # (noted: the code is made again once `C.forward` is another function)
        return ast.copy_location(ast.Call(func=ast.copy_location(callee, func), args=[obj, *node.args],
                                          keywords=node.keywords), node)

    def _replace(self, node, obj, args, keywords):
        if args or any(k.arg is None for k in keywords):
            raise self.pf.error(ctx().unsupported, "s2s understands ._replace(field=value, ...) with keywords only",
                                node, hint="pass each field by name: p._replace(w=new_w)")
        names = [k.arg for k in keywords]
        values = ast.Tuple(elts=[k.value for k in keywords], ctx=ast.Load())
        return _call("replace", [obj, values, *_names(names)], node)

    def _record(self, node, cls, kind):
        """`cls(...)` -> `s2s.record(cls, values, names)`, after checking that building it runs no code of
        the user's besides storing the fields (which is what the derivative assumes)."""
        if kind == "namedtuple":
            own = [c for c in cls.__mro__[:cls.__mro__.index(tuple)] if "_fields" not in c.__dict__]
            custom = next((c for c in own if "__new__" in c.__dict__ or "__init__" in c.__dict__), None)
            fields = list(cls._fields)
        else:
            # the __init__ dataclasses writes is compiled from a string; one of the user's (in the class or a
            # subclass, which dataclasses leaves alone) has a file
            init = getattr(cls.__init__, "__code__", None)
            custom = cls if (not cls.__dataclass_params__.init or hasattr(cls, "__post_init__") or init is None
                             or init.co_filename != "<string>"
                             or any("__new__" in c.__dict__ for c in cls.__mro__[:-1])) else None
            fields = [f.name for f in dataclasses.fields(cls) if f.init]
        clash = sorted(ARRAY_NAMES & set(fields))
        if clash:
            raise self.pf.error(ctx().unsupported, f"s2s cannot differentiate building {cls.__name__}: s2s reads "
                                f"`.{clash[0]}` of a value as an array's attribute, not as a field", node,
                                hint=f"use another name for the field {clash[0]!r} (a record's fields may not be named like "
                                     f"an array's attributes {sorted(ARRAY_NAMES)})")
        if custom is not None:
            raise self.pf.error(ctx().unsupported,
                                f"s2s cannot differentiate building {cls.__name__}: its constructor runs code of its "
                                f"own (__new__, __init__ or __post_init__), not only storing the fields", node,
                                hint="build the values first and pass them to a plain namedtuple or dataclass")
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise self.pf.error(ctx().unsupported, f"s2s cannot differentiate building {cls.__name__} with * or **",
                                node, hint="pass each field by position or by name")
        if len(node.args) > len(fields):
            raise self.pf.error(ctx().unsupported, f"{cls.__name__} takes {len(fields)} fields, not "
                                f"{len(node.args)}", node)
        names = fields[:len(node.args)] + [k.arg for k in node.keywords]
        values = ast.Tuple(elts=list(node.args) + [k.value for k in node.keywords], ctx=ast.Load())
        annotations.put(node.func, annotations.RESOLVED, cls)  # (a callee given it has its code made for it)
        return _call("record", [values, node.func, *_names(names)], node)


def record_fields(cls) -> tuple:
    """The field names of a namedtuple or dataclass class."""
    if record_type(cls) == "namedtuple":
        return tuple(cls._fields)
    return tuple(f.name for f in dataclasses.fields(cls))


def method_of(cls, method):
    """The plain function of yours that `cls.method` is (not a field of the record, a staticmethod, a property or a
    library's method), else None."""
    function = inspect.getattr_static(cls, method, None)
    return function if method not in record_fields(cls) and _user_function(function) else None


def property_reads(pf, tree, receivers) -> set:
    """Each read `p.area` in `tree` of a record `p` whose class C s2s knows (`receivers`, `_known_receivers`' name ->
    (class, an expression of it, whether its type is exactly it)) and whose `area` is a property of yours, written
    in place as the call of its getter, `C.area.fget(s2s.receiver(p, C, 'area'))`: its code read and
    differentiated as a function of yours (the receiver checked as a method call's is). Returns the names of the
    class expressions written.

        d.area + d.r    ->    Disc.area.fget(s2s.receiver(d, Disc, 'area')) + d.r
    """
    written = set()
    for node, parent in list(child_parent_pairs(tree)):
        if not (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and isinstance(node.value, ast.Name)
                and node.value.id in receivers) or isinstance(parent, ast.Call) and parent.func is node:
            continue  # (`p.area(x)`: a method call, or a property's value called: left as it is)
        cls, cls_expr, exact = receivers[node.value.id]
        getter = property_getter(cls, node.attr)
        if getter is None:
            continue
        _refuse_changing_property(pf, node, getter, f"{cls.__name__}.{node.attr}")
        obj = checked_receiver(node.value, cls, cls_expr, node.attr, exact, node)
        prop = ast.Attribute(value=copy.deepcopy(cls_expr), attr=node.attr, ctx=ast.Load())
        callee = ast.copy_location(ast.Attribute(value=prop, attr="fget", ctx=ast.Load()), node)
        pf.resolve_expr(callee)  # (noted: the code is made again once the getter is another function)
        replace_child(parent, node, fix_locations(ast.copy_location(ast.Call(func=callee, args=[obj], keywords=[]),
                                                                     node)))
        written.add(_root(cls_expr).id)
    return written


def _refuse_changing_property(pf, node, getter, shown):
    """Refuse the read `node` of a property whose getter changes its object, an argument or something outside (what
    the function reads of them afterwards would carry no derivative of the change), or cannot be read."""
    what = _changes(getter)
    if what is not None:
        raise pf.error(ctx().unsupported, f"s2s cannot differentiate this read of the property {shown}: its getter "
                       f"{what}", node, hint="compute the value from the record's fields without changing them")


def _changes(function, instance=None) -> str | None:
    """What the method `function` (of `instance`, where given) changes by its summary, said as "changes W in
    place", or that its summary cannot be read; None where it changes nothing."""
    from .desugar import callee_summary
    summary = callee_summary(function, instance=instance)
    if summary is not None and summary.deferred:
        # (its calls of what its object holds, `for l in self.layers: x = l(x)`: the method is differentiated,
        # and each such call is checked where it runs, s2s.call_vjp)
        summary = callees.settle(summary, lambda entry: set())
    if summary is None:
        return "cannot be read to show it changes nothing"
    if summary.updated_params:
        return f"changes {', '.join(sorted(summary.updated_params))} in place"
    return summary.changes_outside or None


def property_getter(cls, name):
    """The getter of yours of the property `name` of the record class `cls` (no field; one without a setter or
    deleter: a store of it raises), else None: `Disc.area.fget` for `area = property(lambda self: 3.14 * self.r ** 2)`
    of a dataclass `Disc` of yours with a field `r`, None for `r`.
    """
    prop = inspect.getattr_static(cls, name, None)
    if type(prop) is not property or name in record_fields(cls) or prop.fset is not None or prop.fdel is not None \
            or inspect.getattr_static(cls, "__getattr__", None) is not None:  # (a getter's AttributeError goes there)
        return None
    return prop.fget if _user_function(prop.fget) else None


def checked_receiver(receiver, cls, cls_expr, method, exact, like, explicit=False):
    """The record a call of `cls.method` is given: `receiver` itself where its type is exactly `cls`, whose instances
    hold no attribute of their own (`__slots__`), else `s2s.receiver(receiver, cls, "method")`, which checks when it
    runs that Python would call `cls.method` there (`explicit`: a special method written as an attribute,
    `p.__call__(x)`, which an attribute of the object's own would hide)."""
    obj = copy.deepcopy(receiver)
    if exact and _slotted(cls):
        return obj
    named = copy.deepcopy(cls_expr)
    annotations.put(named, annotations.RESOLVED, cls)  # (the callee's code is made for it: s2s/pipeline.py)
    args = [obj, named, ast.Constant(method)]
    if explicit and method.startswith("__"):
        args.append(ast.Constant(True))
    return _call("receiver", args, like)


def _slotted(cls) -> bool:
    """Whether instances of `cls` have no `__dict__` (every class of its MRO below object lists `__slots__` without
    one): an instance then holds no attribute that would hide a method."""
    return all("__slots__" in c.__dict__ and "__dict__" not in c.__slots__ for c in cls.__mro__[:-1]
               if c.__module__ != "builtins")  # (tuple's instances hold no attributes)


def _user_function(obj) -> bool:
    """A plain function of the user's (not a staticmethod, classmethod, property or a library's method)."""
    if not isinstance(obj, types.FunctionType) or ctx().has_rule(obj) or ctx().is_runtime_helper(obj):
        return False
    user_code = getattr(ctx(), "user_code", None)
    return user_code(obj) if user_code is not None else True


def _plain_lookup(cls) -> bool:
    """Whether attribute lookup on instances of `cls` is Python's own (no `__getattribute__` of the class's)."""
    return cls.__getattribute__ in (object.__getattribute__, tuple.__getattribute__)


def _known_receivers(pf, tree, resolve, record_params=()) -> dict:
    """Local names whose record class s2s knows: name -> (class, an expression of the class, whether the value's
    type is certainly exactly it), and (_LISTED, name) -> the same for a local list of such records.

    - a name every binding of which (at least one) is `name = C(...)`, for one namedtuple or dataclass class C
      (a record built here, of exactly that class);
    - a name every binding of which is `name = layers[k]` or `for name in layers`, of lists of records of one class
      (`_record_lists`; `s2s.receiver` checks each where a method is called);
    - a list parameter given records of one such class (`record_params`' ("items", class)), looped over or indexed
      as a list of records is (each checked by `s2s.receiver` where called);
    - the first parameter of the function being differentiated where it is a method of such a class
      (`C.__dict__["forward"] is the function`) and never bound again (`self`; any type may be passed, so
      `s2s.receiver` checks it where it is used);
    - a parameter given such a record in the call the code is made for (`record_params`), never bound again and
      whose class the function can name (`Dense` or `models.Dense` among its globals), checked the same way.
    """
    stores = {}
    for node in walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1
        elif isinstance(node, ast.Global | ast.Nonlocal):
            return {}
        elif isinstance(node, ast.arg):
            stores[node.arg] = stores.get(node.arg, 0) + 1
    # (a name a nested function, lambda or comprehension binds is another variable there, whose reads are its own)
    nested = {n.id if isinstance(n, ast.Name) else n.arg for scope in walk(tree) if scope is not tree
              and isinstance(scope, _NESTED_SCOPES) for n in walk(scope)
              if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load) or isinstance(n, ast.arg)}
    # (a field of a parameter given a record, `net.layers`: named "net.layers", where the function binds neither
    # `net` nor the field)
    fields_stored = {_listed_key(n) for n in walk(tree) if isinstance(n, ast.Attribute) and not isinstance(n.ctx, ast.Load)}
    held = {name for name, _ in record_params if "." in name and name not in fields_stored
            and stores.get(name.partition(".")[0]) == 1 and name.partition(".")[0] not in nested}
    seeds = {}  # a list parameter given records of one class: looped over or indexed as a list of records is
    for name, given in record_params:
        if type(given) is tuple and given[0] == "items" and (stores.get(name) == 1 and name not in nested
                                                             or name in held):
            expr = _class_named(pf, given[1])
            if expr is not None:
                seeds[name] = (given[1], expr)
    lists = _record_lists(tree, resolve, stores, nested, seeds)
    bindings = {}  # name -> (class, expression, exact) of each binding, None for a binding of anything else
    for node in walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            bindings.setdefault(node.targets[0].id, []).append(_record_made(node.value, resolve, lists))
        elif isinstance(node, ast.For) and isinstance(node.target, ast.Name):
            listed = lists.get(_listed_key(_iterated_list(node.iter, resolve)))
            bindings.setdefault(node.target.id, []).append(None if listed is None else (*listed, False))
        elif isinstance(node, ast.For):  # (`for layer, act in zip(...)`, `for i, layer in enumerate(layers, 1)`)
            for target, iterated in _loop_parts(node, resolve):
                if isinstance(target, ast.Name):
                    listed = lists.get(_listed_key(_iterated_list(iterated, resolve))) if iterated is not None else None
                    bindings.setdefault(target.id, []).append(None if listed is None else (*listed, False))
    out = {(_LISTED, name): (*made, False) for name, made in lists.items()}
    for name, made in bindings.items():
        if name not in nested and len(made) == stores.get(name) and None not in made \
                and all(m[0] is made[0][0] for m in made):
            out[name] = (made[0][0], made[0][1], all(m[2] for m in made))
    owner = _method_owner(pf)
    params = tree.args.posonlyargs + tree.args.args
    if owner is not None and params and stores.get(params[0].arg) == 1 and params[0].arg not in nested:
        out[params[0].arg] = (*owner, False)
    for name, cls in record_params:
        if not isinstance(cls, type):
            continue
        expr = _class_named(pf, cls)
        if expr is not None and (stores.get(name) == 1 and name not in nested or name in held) and name not in out:
            out[name] = (cls, expr, False)
    return out


def _loop_parts(loop, resolve):
    """(target, what it goes through) for the names a loop binds by unpacking: each name of `zip(a, b)`'s target
    goes through its list, `enumerate(layers)`'s second through `layers`; None for anything else it binds."""
    targets, it = getattr(loop.target, "elts", None), loop.iter
    if targets is None:
        return []
    if isinstance(it, ast.Call) and not it.keywords and resolve(it.func) is zip and len(it.args) == len(targets) \
            and not any(isinstance(a, ast.Starred) for a in it.args):
        return list(zip(targets, it.args))
    if isinstance(it, ast.Call) and resolve(it.func) is enumerate and len(targets) == 2 and it.args \
            and len(it.args) + len(it.keywords) <= 2 and all(k.arg == "start" for k in it.keywords):
        return [(targets[0], None), (targets[1], it.args[0])]
    return [(t, None) for t in targets]


def _iterated_list(node, resolve):
    """The list a loop over `node` goes through the items of: `layers` of `layers[1:]` or `reversed(layers)`."""
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        return node.value
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords and resolve(node.func) is reversed:
        return node.args[0]
    return node


def _listed_key(node):
    """The key `_known_receivers` gives what `node` reads: a name, or "net.layers" for the field `net.layers` of a
    name; else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def _class_named(pf, cls):
    """An expression of `cls` the function's globals resolve (`Dense`, or `models.Dense` of an imported module),
    else None. (Resolved through `pf`: the code is made again once the name holds another class.)"""
    path = cls.__qualname__.split(".")
    if "<locals>" in path or record_type(cls) is None or not _plain_lookup(cls):
        return None
    starts = [ast.Name(id=path[0], ctx=ast.Load())]
    module = next((name for name, value in pf.globals.items() if isinstance(value, types.ModuleType)
                   and value.__name__ == cls.__module__), None)
    if module is not None:
        starts.append(ast.Attribute(value=ast.Name(id=module, ctx=ast.Load()), attr=path[0], ctx=ast.Load()))
    for expr in starts:
        for part in path[1:]:
            expr = ast.Attribute(value=expr, attr=part, ctx=ast.Load())
        try:
            if pf.resolve_expr(expr) is cls:
                return expr
        except Exception:  # noqa: BLE001 - a module attribute that raises: not this one
            continue
    return None


def _record_made(value, resolve, lists):
    """(class, expression of it, exact) where `value` is `C(...)` of a record class (exactly C) or `layers[k]` of a
    list of records (`_record_lists`: C's, checked where used), else None."""
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name | ast.Attribute):
        cls = resolve(value.func)
        return (cls, value.func, True) if record_type(cls) is not None and _plain_lookup(cls) else None
    if isinstance(value, ast.Subscript) and _listed_key(value.value) in lists:
        return (*lists[_listed_key(value.value)], False)
    return None


_LISTED = "list of records"  # (a key of `_known_receivers`' result beside names: (_LISTED, name) for such a list)
_SEQUENCE_HELPERS = ("as_sequence", "not_an_iterator")  # (what `for v in layers` is desugared into reads the list)


def _record_lists(tree, resolve, stores, nested, seeds=None) -> dict:
    """Local names bound once to a list or tuple display (or a list comprehension) of records built of one class,
    the parameters in `seeds` (given a list of them), or names bound to `s2s.as_sequence` of such a name (a loop over
    it, desugared), each read only as a loop's iterable, by index (`layers[0]`), by `len` or by those helpers:
    name -> (class, expression of it)."""
    out = dict(seeds or {})
    for node in walk(tree):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        name, value = node.targets[0].id, node.value
        if stores.get(name) != 1 or name in nested:
            continue
        if _sequence_helper(value) and len(value.args) == 1 \
                and _listed_key(_iterated_list(value.args[0], resolve)) in out:  # (a slice or reversed: its items)
            out[name] = out[_listed_key(_iterated_list(value.args[0], resolve))]
            continue
        items = value.elts if isinstance(value, ast.List | ast.Tuple) else \
            [value.elt] if isinstance(value, ast.ListComp) else []
        if not items or not all(isinstance(i, ast.Call) and isinstance(i.func, ast.Name | ast.Attribute) for i in items) \
                or len({ast.dump(i.func) for i in items}) != 1:
            continue
        cls = resolve(items[0].func)
        if record_type(cls) is not None and _plain_lookup(cls):
            out[name] = (cls, items[0].func)
    if out:
        parents = parent_map(tree)
        for node in walk(tree):
            if isinstance(node, ast.Name | ast.Attribute) and _listed_key(node) in out and isinstance(node.ctx, ast.Load):
                parent = parents.get(id(node))
                if not (isinstance(parent, ast.For) and parent.iter is node
                        or isinstance(parent, ast.Subscript) and parent.value is node and isinstance(parent.ctx, ast.Load)
                        or isinstance(parent, ast.Call) and node in parent.args
                        and (_sequence_helper(parent) or annotations.resolved(parent.func) is len
                             or resolve(parent.func) in (len, reversed, zip, enumerate))):
                    out.pop(_listed_key(node), None)
    return out


def _sequence_helper(node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _SEQUENCE_HELPERS \
        and annotations.is_helper(node.func.value)


_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp,
                  ast.DictComp, ast.GeneratorExp)


def _method_owner(pf):
    """(the record class, an expression of it) of which the function `pf.func` is a method, found by its
    qualified name in its module, else None."""
    func = getattr(pf, "func", None)
    path = getattr(func, "__qualname__", "").split(".")
    if len(path) < 2 or "<locals>" in path:
        return None
    expr = ast.Name(id=path[0], ctx=ast.Load())
    for part in path[1:-1]:
        expr = ast.Attribute(value=expr, attr=part, ctx=ast.Load())
    try:
        cls = pf.resolve_expr(expr)
    except Exception:  # noqa: BLE001 - a class attribute that raises: no class of a method here
        return None
    if record_type(cls) is None or not _plain_lookup(cls) or cls.__dict__.get(path[-1]) is not func:
        return None
    return cls, expr


# builtins that call no code of the user's (map, filter, sorted, getattr... may: not here)
_PLAIN_BUILTINS = (range, len, enumerate, zip, reversed, float, int, bool, abs, min, max, sum, round, isinstance,
                   print, list, tuple, dict, divmod, pow)


def _hashable_in(obj, options) -> bool:
    return any(obj is o for o in options)


def _is_user_method(obj) -> bool:
    """A bound method of an object of the user's (not a library's), without a derivative rule of its own."""
    if not isinstance(obj, types.MethodType) or not isinstance(obj.__func__, types.FunctionType):
        return False
    if ctx().has_rule(obj) or ctx().has_rule(obj.__func__) or ctx().is_runtime_helper(obj.__func__):
        return False
    user_code = getattr(ctx(), "user_code", None)
    return user_code(obj.__func__) if user_code is not None else True


def _root(node):
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _is_field_call(node) -> bool:
    f = node.func
    return isinstance(f, ast.Attribute) and f.attr == "field" and annotations.is_helper(f.value)


def as_written(node: ast.expr) -> str:
    """The source of a lowered expression with this pass's helper calls shown as the user wrote them
    (`s2s.field(p, 'w')` -> `p.w`, `s2s.transpose_attr(x)` -> `x.T`), for hints that are pasted back into the
    user's code."""
    class _Back(ast.NodeTransformer):
        def visit_Call(self, call):
            self.generic_visit(call)
            if _is_field_call(call) and all(isinstance(a, ast.Constant) for a in call.args[1:]):
                out = call.args[0]
                for a in call.args[1:]:
                    out = ast.Attribute(value=out, attr=a.value, ctx=ast.Load())
                return out
            if isinstance(call.func, ast.Attribute) and call.func.attr == "transpose_attr" and len(call.args) == 1:
                return ast.Attribute(value=call.args[0], attr="T", ctx=ast.Load())  # (`x.T`, transforms/desugar.py)
            return call

    import copy
    return ast.unparse(_Back().visit(copy.deepcopy(node)))


def _new_record(name, attr) -> str:
    """The hint's other way: a new record, not a store into one."""
    return (f"where `{name}` is a dataclass the function builds, make a new one holding the value instead of storing "
            f"it: `{name} = dataclasses.replace({name}, {attr}=...)`")


class _StoredAttributes:
    """`obj.attr = v` and later reads of `obj.attr`, as a local variable plus the store (module docstring)."""

    def __init__(self, pf, tree, alloc):
        self.pf = pf
        self.tree = tree
        self.alloc = alloc
        self.locals = local_names(tree)

    def refuse(self, node, why, hint):
        raise self.pf.error(ctx().unsupported, f"s2s cannot differentiate this assignment to attribute: {why}",
                            node, hint=hint)

    def built_records(self) -> set:
        """The names the function binds to a dataclass it builds (`t = Pair(x, y)`): for those, a new record in
        place of a store into one keeps what Python does (no caller holds it)."""
        out = set()
        for node in walk(self.tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and isinstance(node.value, ast.Call) and _root(node.value.func) not in self.locals:
                try:
                    cls = self.pf.resolve_expr(node.value.func)
                except Exception:  # noqa: BLE001 - not a name s2s can read
                    continue
                if isinstance(cls, type) and dataclasses.is_dataclass(cls):
                    out.add(node.targets[0].id)
        return out

    def stores(self):
        """(statement, target) for every attribute store target."""
        out = []
        for node in walk(self.tree):
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For) else []
            for t in targets:
                for part in walk(t):
                    if isinstance(part, ast.Attribute) and isinstance(part.ctx, ast.Store):
                        out.append((node, part))
        return out

    def run(self):
        stores = self.stores()
        if not stores:
            return
        keep = "assign the value to a local variable and the attribute once, after the computation " \
               "(or return it)"
        for loop in walk(self.tree):
            if isinstance(loop, ast.For | ast.While) and annotations.has(loop, annotations.CHECKPOINT_EVERY) and \
                    any(isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store) for n in walk(loop)):
                self.refuse(loop, "a checkpointed loop is run again, segment by segment, for the derivative, and "
                                  "its stores would be made again, leaving the object as an early segment left it",
                            "assign the value to a local variable in the loop and the attribute after it")
        pairs = {}
        for stmt, t in stores:
            if not isinstance(stmt, ast.Assign) or not isinstance(t.value, ast.Name):
                self.refuse(t, "s2s stores attributes of a plain name only, in a plain assignment "
                               "(`self.h = value`)", keep)
            name = t.value.id
            if name not in self.locals:
                self.refuse(t, f"`{name}` is a global object: other code may read `{name}.{t.attr}` without s2s "
                               "seeing it", "pass the object as an argument, or return the value")
            pairs.setdefault((name, t.attr), []).append(stmt)
        roots = {n for n, _ in pairs}
        attrs = {a for _, a in pairs}
        self.check_uses(roots, attrs, pairs)
        names = {pair: self.alloc.fresh(f"{pair[0]}_{pair[1]}") for pair in pairs}
        first = self.first_touch(pairs)
        inits = []
        for pair, local in names.items():
            if first.get(pair) != "store":  # a read may come first: it reads the attribute as it was
                init = ast.Assign(targets=[ast.Name(id=local, ctx=ast.Store())],
                                  value=_call("field_if_set", [ast.Name(id=pair[0], ctx=ast.Load()),
                                                               ast.Constant(pair[1])], self.tree.body[0]))
                inits.append(ast.copy_location(init, self.tree.body[0]))
        _Rename(names, self.alloc, self.pf, roots, self.locals).visit(self.tree)
        self.tree.body[:0] = inits

    def check_uses(self, roots, attrs, pairs):
        """Refuse what could see or change a stored attribute behind s2s's back."""
        built = self.built_records()
        attribute_values = set()
        for node in walk(self.tree):
            if isinstance(node, ast.Call) and annotations.is_helper(_root(node.func)) and \
                    isinstance(node.func, ast.Attribute) and node.func.attr == "unshared":
                # the run-time ownership guard desugar placed (s2s.unshared(value, ..., self)): it only checks
                attribute_values.update(id(a) for a in node.args if isinstance(a, ast.Name))
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                attribute_values.add(id(node.value))
                if node.attr in attrs and node.value.id not in roots:
                    stored_into = sorted(r for r in roots if (r, node.attr) in pairs)[0]
                    self.refuse(node, f"`{node.value.id}.{node.attr}` may be the same attribute of the same object "
                                      f"as `{stored_into}.{node.attr}`, which it stores",
                                "use one name to store and read the attribute" + (
                                    f", or {_new_record(stored_into, node.attr)}" if stored_into in built else ""))
        for node in walk(self.tree):
            if isinstance(node, ast.Name) and node.id in roots:
                if isinstance(node.ctx, ast.Store):
                    attr = sorted(a for r, a in pairs if r == node.id)[0]
                    self.refuse(node, f"`{node.id}` is rebound in the function, and it stores `{node.id}.{attr}`",
                                "use another name for the new value" + (
                                    f", or {_new_record(node.id, attr)}" if node.id in built else ""))
                if id(node) not in attribute_values:
                    self.refuse(node, f"`{node.id}` is used other than as `{node.id}.attribute` (passed on, held "
                                      "elsewhere), so other code could read or change its attributes",
                                "pass the attributes' values (read into local variables) instead of the object")
            if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and \
                    isinstance(node.value, ast.Attribute) and isinstance(node.value.value, ast.Name) and \
                    node.value.value.id in roots:
                attribute = ast.unparse(node.value)
                self.refuse(node, "it updates an attribute's array in place",
                            f"update a copy and assign it back: `new = {attribute}.copy()`, then "
                            f"`new{ast.unparse(node)[len(attribute):]} = ...` and `{attribute} = new`")
            if isinstance(node, ast.Call):
                self.check_call(node)

    def check_call(self, call):
        func = call.func
        if annotations.is_helper(_root(func)) or annotations.has(func, annotations.RESOLVED):
            return  # s2s's own helpers (desugared code)
        root = _root(func)
        obj = missing()
        if isinstance(root, ast.Name) and root.id not in self.locals:
            try:
                obj = self.pf.resolve_expr(func)
            except Exception:  # noqa: BLE001
                obj = missing()
        takes_functions = any(k.arg == "key" for k in call.keywords)  # min/max/sorted(key=f) call code of yours
        if obj is not missing() and not takes_functions and (ctx().has_rule(obj) or _hashable_in(obj, _PLAIN_BUILTINS)):
            return
        self.refuse(call, f"the function stores attributes and calls `{ast.unparse(func)}`, which s2s cannot show "
                          "leaves them alone (a method or helper may read or change them)",
                    "move the attribute stores after the calls, holding the values in local variables until then")

    def first_touch(self, pairs):
        """pair -> "store" where the first top-level statement touching `obj.attr` stores it without
        reading it (so it needs no starting value)."""
        out = {}
        for stmt in self.tree.body:
            for pair in pairs:
                if pair in out:
                    continue
                reads = any(isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load) and
                            isinstance(n.value, ast.Name) and (n.value.id, n.attr) == pair for n in walk(stmt))
                stores = any(isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store) and
                             isinstance(n.value, ast.Name) and (n.value.id, n.attr) == pair for n in walk(stmt))
                if reads or (stores and not isinstance(stmt, ast.Assign)):
                    out[pair] = "read"
                elif stores:
                    out[pair] = "store"
        return out


class _Rename(ast.NodeTransformer):
    """Reads and stores of the stored attributes become the local variables; each store is followed by
    `s2s.store_field(obj, attr, local)`."""

    def __init__(self, names, alloc, pf, roots=(), locals_=()):
        self.names = names
        self.alloc = alloc
        self.pf = pf
        self.roots = set(roots)
        self.locals = set(locals_)

    def unguarded(self, value, roots, before):
        """The stored value without the ownership guards desugar put on it for the update of `obj`: the
        store is no in-place update of a value any more (the local variable is rebound), and a guard around
        a tuple would hide that the value is one. A guard that also names other objects still runs, as a
        statement of its own appended to `before` (`s2s.unshared(None, ..., obj, *others)`)."""
        while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
                value.func.attr == "unshared" and annotations.is_helper(value.func.value) and len(value.args) >= 4 \
                and isinstance(value.args[3], ast.Name) and value.args[3].id in roots:
            if len(value.args) > 4 or isinstance(value.args[2], ast.Constant) and isinstance(value.args[2].value, str):
                # (an update of the attribute's own array, `self.h += v`: checked against self's other attributes)
                check = ast.Call(func=value.func, args=[ast.Constant(None), *value.args[1:]], keywords=[])
                before.append(ast.copy_location(ast.Assign(targets=[ast.Name(id=self.alloc.fresh("checked"),
                                                                             ctx=ast.Store())], value=check), value))
            value = value.args[0]
        return value

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and (node.value.id, node.attr) in self.names:
            return ast.copy_location(ast.Name(id=self.names[(node.value.id, node.attr)], ctx=node.ctx), node)
        if isinstance(node.value, ast.Name) and isinstance(node.ctx, ast.Load) and node.attr not in _PLAIN_ATTRIBUTES \
                and (node.value.id in self.roots or self.global_object(node.value)):
            # another attribute of an object the function stores into, or of a global object (which may be
            # that very object): checked to be no computed one
            return _call("plain_attribute", [node.value, ast.Constant(node.attr)], node)
        return node

    def global_object(self, name) -> bool:
        """A global name bound to an object that is no module, class or function (which could be `self`)."""
        if annotations.is_helper(name) or name.id in self.locals:
            return False
        try:
            obj = self.pf.resolve(name.id)
        except Exception:  # noqa: BLE001
            return False
        return obj is not missing() and not isinstance(obj, types.ModuleType | type | types.FunctionType |
                                                       types.BuiltinFunctionType)

    def visit_Assign(self, node):
        stored = [(t.value.id, t.attr) for t in node.targets for t in walk(t)
                  if isinstance(t, ast.Attribute) and isinstance(t.ctx, ast.Store) and isinstance(t.value, ast.Name)
                  and (t.value.id, t.attr) in self.names]
        node = self.generic_visit(node)
        out = []
        if stored:
            node.value = self.unguarded(node.value, {obj for obj, _ in stored}, out)
        out.append(node)
        for obj, attr in stored:
            effect = ast.Assign(targets=[ast.Name(id=self.alloc.fresh("stored"), ctx=ast.Store())],
                                value=_call("store_field", [ast.Name(id=obj, ctx=ast.Load()), ast.Constant(attr),
                                                            ast.Name(id=self.names[(obj, attr)], ctx=ast.Load())],
                                            node))
            out.append(ast.copy_location(effect, node))
        return out


def as_attributes(fdef: ast.FunctionDef, s2s_name: str) -> ast.FunctionDef:
    """The generated function with each `s2s.field(obj, "a", "b")` written `obj.a.b` again (in place;
    returned). In generated code the call is only the primal read (its adjoint is `s2s.field_grad`, a
    call of its own), so the two are the same; the attribute reads as the user wrote it, and costs less.
    Forward mode over this code (Hessians) lowers it again, through this pass."""
    class _Back(ast.NodeTransformer):
        def visit_Call(self, call):
            self.generic_visit(call)
            f = call.func
            if isinstance(f, ast.Attribute) and f.attr == "field" and isinstance(f.value, ast.Name) and \
                    f.value.id == s2s_name and len(call.args) >= 2 and not call.keywords and \
                    all(isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.isidentifier()
                        for a in call.args[1:]):
                out = call.args[0]
                for a in call.args[1:]:
                    out = ast.copy_location(ast.Attribute(value=out, attr=a.value, ctx=ast.Load()), call)
                return out
            return call

    return _Back().visit(fdef)
