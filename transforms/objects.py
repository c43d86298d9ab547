"""Objects in differentiated code: attribute reads, records built and replaced.

Runs after `desugar` and `exits`, before `lower`. It writes the object operations as calls of
runtime helpers that have derivative rules (s2s/runtime/structures.py, s2s/rules/structures.py):

- `obj.a.b` (a value's attribute, read) -> `s2s.field(obj, "a", "b")`. Its adjoint places the
  adjoint into a zero record of `obj`'s type; an object that is not a namedtuple or dataclass and
  is differentiated is refused when the adjoint is made. A non-differentiated object (`self`,
  a configuration, a random generator) is a constant, and so are its attributes.
- `P(a, b)` / `P(w=a, b=b)` for a namedtuple class or dataclass `P` -> `s2s.record((a, b), P, "w", "b")`;
- `obj._replace(w=v)` and `dataclasses.replace(obj, w=v)` -> `s2s.replace(obj, (v,), "w")`.

Attributes of globals and modules (`np.pi`, a global object's `model.W`) are left alone (constants),
and so are method calls (`rng.normal(...)`: the call itself is another pass's business) and the
array attributes that carry no derivative (`x.shape`, `x.dtype`...).

    def f(p, x):                               def f(p, x):
        return np.sum(p.w * x + p.b)    ->         return np.sum(s2s.field(p, 'w') * x + s2s.field(p, 'b'))
"""

from __future__ import annotations

import ast
import dataclasses

from . import annotations
from .context import ctx, missing
from .desugar import VALUE_ATTRIBUTES, helper_attr, local_names

# attributes with no derivative that stay attribute reads (analysis.NONDIFF_ATTRS and desugar's array attributes)
_PLAIN_ATTRIBUTES = VALUE_ATTRIBUTES | {"itemsize", "nbytes", "strides", "flags", "base"}


def record_type(obj) -> str | None:
    """"namedtuple" or "dataclass" for a record class s2s can build in differentiated code, else None."""
    if not isinstance(obj, type):
        return None
    if issubclass(obj, tuple) and isinstance(getattr(obj, "_fields", None), tuple):
        return "namedtuple"
    if dataclasses.is_dataclass(obj):
        return "dataclass"
    return None


def rewrite(pf, tree: ast.FunctionDef) -> ast.FunctionDef:
    """Rewrite the object operations of `tree` (in place; returned)."""
    _Objects(pf, local_names(tree)).visit(tree)
    ast.fix_missing_locations(tree)
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
        if isinstance(func, ast.Attribute):  # a method call: its object's parts are read, the method is not
            func.value = self.visit(func.value)
        else:
            node.func = self.visit(func)
        node.args = [self.visit(a) for a in node.args]
        for k in node.keywords:
            k.value = self.visit(k.value)
        if isinstance(func, ast.Attribute) and func.attr == "_replace" and self._is_value(func.value):
            return self._replace(node, func.value, node.args, node.keywords)
        obj = self._resolve(func)
        if obj is missing():
            return node
        if obj is dataclasses.replace:
            if len(node.args) != 1:
                raise self.pf.error(ctx().unsupported, "s2s understands dataclasses.replace(obj, field=value, ...)",
                                    node, hint="pass the object positionally and the fields by keyword")
            return self._replace(node, node.args[0], [], node.keywords)
        kind = record_type(obj)
        if kind is not None:
            return self._record(node, obj, kind)
        return node

    def _replace(self, node, obj, args, keywords):
        if args or any(k.arg is None for k in keywords):
            raise self.pf.error(ctx().unsupported, "s2s understands ._replace(field=value, ...) with keywords only",
                                node, hint="name each field: p._replace(w=new_w)")
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
            params = cls.__dataclass_params__
            custom = cls if (not params.init or hasattr(cls, "__post_init__") or
                             "__init__" in cls.__dict__ and
                             getattr(cls.__init__, "__qualname__", "") != f"{cls.__qualname__}.__init__") else None
            fields = [f.name for f in dataclasses.fields(cls) if f.init and f._field_type is dataclasses._FIELD]
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
        return _call("record", [values, node.func, *_names(names)], node)


def _root(node):
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _is_field_call(node) -> bool:
    f = node.func
    return isinstance(f, ast.Attribute) and f.attr == "field" and annotations.is_helper(f.value)


def as_written(node: ast.expr) -> str:
    """The source of a lowered expression with this pass's helper calls shown as the user wrote them
    (`s2s.field(p, 'w')` -> `p.w`), for hints that are pasted back into the user's code."""
    class _Back(ast.NodeTransformer):
        def visit_Call(self, call):
            self.generic_visit(call)
            if _is_field_call(call) and all(isinstance(a, ast.Constant) for a in call.args[1:]):
                out = call.args[0]
                for a in call.args[1:]:
                    out = ast.Attribute(value=out, attr=a.value, ctx=ast.Load())
                return out
            return call

    import copy
    return ast.unparse(_Back().visit(copy.deepcopy(node)))
