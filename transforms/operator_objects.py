"""Arithmetic on objects of your classes that define it (`__mul__`, `__add__`, ...): refused wherever it happens.

s2s differentiates `a * b` by the product's rule, for numbers and arrays. An object whose class defines `__mul__`
computes what its method says (`Sq() * x` may be `x ** 3`), and the product's rule would give a wrong derivative;
so would `np.add(sq, x)`, or `np.asarray(objs) * x` of a list holding one (NumPy makes an array of objects and
calls their methods). This pass follows, backwards through the lowered function, every value that may become such
an operand -- an operand of an operator, or an argument of a function with a rule -- through copies, a branch's
choice, list displays and the arguments of functions with rules, to where it comes from, and checks it there:

* a global or closure object, or a global's attribute (`CFG.op`), is refused now, at the operand's line, where its
  class does arithmetic of its own; a global list or other object is looked into now, and checked again before the
  statement that computes with it when the code runs (what it holds may change);
* a local bound to a call of such a class is refused now;
* a parameter is checked at the start of the function, `s2s.numbers_or_arrays(p, 'p')`, when the code runs;
* a value read from a list, a dict or an object (`c = objs[k]`, `s2s.field(m, 'op')`, a loop's variable), a
  helper's result s2s did not expand, a method's: checked after the statement that binds it.

NumPy calls some methods of objects by name, and s2s would differentiate what they compute by the function's rule:
a ufunc's loop over objects calls each object's method (`np.sqrt(r)` runs `r.sqrt()`), and many of its functions
hand a value that is no array to its own method (`np.sum(p)` runs `p.sum()`, `np.round(p)` `p.round()`). A value
that reaches such a function is checked for those methods too (`numpy_methods`, asked of NumPy), and only there: a
class with a method `log` of its own is no concern where its objects meet no `np.log`.

The checks are dropped where the code is made for numbers and arrays there (transforms/specialize.py
`drop_plain_operand_checks`). An object of such a class whose fields alone are read (a dataclass of parameters with
`__add__` for its optimizer, `p.W @ x`) is no operand, and is differentiated.

    >>> class Sq:
    ...     def __mul__(self, v): return v ** 3
    >>> mine = lambda func: True
    >>> class Scaled(float):
    ...     def __mul__(self, v): return 2.0 * float(self) * v
    >>> defines_arithmetic(Sq, mine), defines_arithmetic(Scaled, mine), defines_arithmetic(float, mine)
    (True, True, False)
"""

from __future__ import annotations

import ast
import copy
import functools
import types
import warnings
from collections import defaultdict

import numpy as np

from . import annotations
from .context import ctx
from .desugar import helper_attr
from .names import load
from .walk import fix_locations, statement_lists, walk

_DUNDERS = tuple(f"__{p}{name}__" for name in (
    "add", "sub", "mul", "truediv", "floordiv", "mod", "divmod", "pow", "matmul", "and", "or", "xor", "lshift",
    "rshift") for p in ("", "r", "i")) + (
    "__neg__", "__pos__", "__abs__", "__invert__", "__round__", "__floor__", "__ceil__", "__trunc__",
    "__array_ufunc__", "__array_function__")  # (NumPy's functions hand an object with these its own operations)
# (numbers, NumPy's arrays and scalars, and Python's sequences, whose `+` and `*` s2s knows)
_KNOWN_EXACT = frozenset((int, float, complex, bool, np.ndarray, str, bytes, list, tuple, dict, set, frozenset, range,
                          type(None)))
# the packages whose classes' operator methods are not the user's (their values have rules, or are refused by
# s2s/argcheck.py), for a class whose operator methods are no Python functions s2s can place
_LIBRARIES = frozenset(("builtins", "numpy", "scipy", "collections", "functools", "operator", "decimal", "fractions",
                        "datetime", "pandas", "xarray", "sympy", "jax", "jaxlib", "torch", "dask", "cupy", "cupyx",
                        "s2s"))
# s2s's own helpers that read what their first argument holds (`s2s.field(m, 'op')`, `s2s.as_sequence(objs)`), and
# those that give their first argument back, or a copy of it (`s2s.receiver(model, Layer, '__call__')`)
_READERS = frozenset(("field", "as_sequence", "zip_row", "item", "index_item", "mapping_values", "mapping_items",
                      "global_value"))
_SAME = frozenset(("receiver", "copy", "astype", "unshared", "transpose_attr"))
# s2s's own helpers that compute with their arguments as NumPy's functions would (`x.dot(y)`, `np.add.at`)
_COMPUTING = frozenset(("dot_method", "added_at", "subtracted_at", "index_concat"))
# builtins that compute nothing from what they are given: their arguments are no operands; of these, those whose
# result holds what their arguments hold (`list(objs)`, `zip(objs, ws)`), the others give numbers, strings, types
_STRUCTURAL = frozenset(("len", "isinstance", "hasattr", "getattr", "id", "range", "enumerate", "zip",
                         "print", "iter", "callable", "repr", "str", "sorted", "reversed", "list", "tuple", "dict",
                         "set", "frozenset", "issubclass", "hash", "format", "next"))
_HOLDING = frozenset(("getattr", "enumerate", "zip", "iter", "sorted", "reversed", "list", "tuple", "dict", "set",
                      "frozenset", "next"))
_HOLD_NOTHING = _KNOWN_EXACT - {list, tuple, dict, np.ndarray}  # (numbers, strings, sets: no object NumPy reads)
_PLAIN_VALUES = (int, float, bool, complex, str, bytes, type(None), np.generic, types.FunctionType,
                 types.BuiltinFunctionType, types.ModuleType, type, np.ufunc)


def defines_arithmetic(cls, user_code=None) -> bool:
    """Whether objects of `cls` do arithmetic of their own: a class (not a number, array or Python sequence) with
    an operator method of the user's code (`user_code(function)`, the run's context's by default; a library's
    classes, SciPy's sparse matrices, have rules or are refused by s2s/argcheck.py). A method behind a decorator
    (`functools.lru_cache`, `partialmethod`, one of `functools.wraps`) is read through it."""
    if not isinstance(cls, type) or not _users_class(cls):
        return False  # (a subclass of yours of float, list or np.ndarray that defines `__mul__` does its own)
    user_code = user_code or _user_code
    for klass in cls.__mro__[:-1]:
        own = vars(klass)
        if any(own.get(d) is not None and _users_method(own[d], klass, user_code) for d in _DUNDERS):
            return True
    return False


def _users_method(value, klass, user_code) -> bool:
    """Whether the operator method `value` of `klass` is the user's: its function, read through decorators, is the
    user's code; one with no function to read (a wrapper of C) where the class's methods, or its module, are."""
    for _ in range(8):  # (through `functools.wraps`' wrappers to the function they wrap, methods, partialmethods)
        inner = next((getattr(value, a) for a in ("__wrapped__", "__func__", "func") if hasattr(value, a)), None)
        if inner is None or isinstance(value, types.FunctionType) and not hasattr(value, "__wrapped__"):
            break
        value = inner
    if isinstance(value, types.FunctionType):
        return user_code(value)
    methods = [v for v in vars(klass).values() if isinstance(v, types.FunctionType)]
    if methods:
        return any(user_code(m) for m in methods)
    return _user_module(klass.__module__ or "")


def _user_module(name: str) -> bool:
    """Whether the module `name` is the user's, for a class with no Python function to tell by: `__main__`, or one
    whose file is outside the installed packages and Python's own library (a module of C, `array`, is Python's)."""
    import sys
    import sysconfig
    if name.split(".")[0] in _LIBRARIES:
        return False
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    if path is None:
        return name == "__main__"
    library = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    return not any(path.startswith(p) for p in library) and "site-packages" not in path


def _user_code(func) -> bool:
    try:
        return ctx().user_code(func)
    except RuntimeError:  # (no context installed, the pass used on its own: every class is the user's)
        return True


def check_operator_objects(pf, tree: ast.FunctionDef) -> None:
    """Refuse, or check when the code runs (see the module's docstring), every value of the lowered `tree` that may
    be an object doing arithmetic of its own where s2s differentiates arithmetic. `pf`: the parsed function
    (`resolve`, `resolve_expr`, `error`, `func`)."""
    _Flow(pf, tree).run()


class _Flow:
    """The backward flow from operands to where their values come from (by name, flow-insensitive: every binding
    of a name counts)."""

    def __init__(self, pf, tree):
        self.pf, self.tree = pf, tree
        self.params = [a.arg for a in (*tree.args.posonlyargs, *tree.args.args, *tree.args.kwonlyargs,
                                       *filter(None, (tree.args.vararg, tree.args.kwarg)))]
        self.bindings = defaultdict(list)  # name -> [(value, statement)]: value None where s2s cannot follow it
        self.stored = defaultdict(list)  # name -> [(value, statement)] stored into what it holds (`L[0] = v`,
        # `L.append(v)`, `o.a = v`): where the container is computed with whole, so are they
        self.origin = {}  # name -> (operand node, statement) its flag came from first (the line an error names)
        self.checks = []  # (where: "after" or "before", statement, name or a global's attribute chain, the
        # methods NumPy calls on it by name where it goes)
        self.todo, self.followed = [], {}  # (name -> those methods, as far as it has been followed)

    def run(self):
        for node, site, stmt, methods in self._read():
            self._mark(node, site, stmt, methods)
        while self.todo:
            self._follow(self.todo.pop())
        self._write_checks()

    # -- what the function binds and computes with --------------------------------------------------------
    def _blocks(self):
        """The function's lists of statements, a lowered while loop's test statements among them."""
        blocks = statement_lists(self.tree)
        return blocks + [test for block in blocks for s in block if isinstance(s, ast.While)
                         for test in [annotations.get(s, annotations.LOOP_TEST)] if test]

    def _read(self):
        """The bindings of the function; the operands of its arithmetic, with the node and statement of each."""
        operands = []
        for block in self._blocks():
            for stmt in block:
                for node in _own_nodes(stmt):
                    if isinstance(node, ast.BinOp):
                        operands += [(node.left, node, stmt, _NONE), (node.right, node, stmt, _NONE)]
                    elif isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
                        operands.append((node.operand, node, stmt, _NONE))
                    elif isinstance(node, ast.Call):
                        func = self._callee(node.func)
                        if self._computes(func):
                            methods = numpy_methods(func)
                            operands += [(a, node, stmt, methods)
                                         for a in (*node.args, *(k.value for k in node.keywords))]
                        if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
                            self.stored[node.func.value.id] += [
                                (a, stmt) for a in (*node.args, *(k.value for k in node.keywords))]
                if isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
                    for target in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]):
                        self._bind(target, stmt.value, stmt)
                elif isinstance(stmt, ast.AugAssign):
                    operands += [(stmt.target, stmt, stmt, _NONE), (stmt.value, stmt, stmt, _NONE)]
                    self._bind(stmt.target, None, stmt)  # (`c *= 2` of an object: its own method's result)
                elif isinstance(stmt, ast.For | ast.AsyncFor):
                    counted = isinstance(stmt.iter, ast.Call) and self._callee(stmt.iter.func) is range
                    for name in _names(stmt.target):
                        self.bindings[name].append((ast.Constant(0) if counted else None, stmt))
                elif isinstance(stmt, ast.With | ast.AsyncWith):
                    for item in stmt.items:
                        for name in _names(item.optional_vars):
                            self.bindings[name].append((None, stmt))
        return operands

    def _bind(self, target, value, stmt):
        if isinstance(target, ast.Name):
            self.bindings[target.id].append((value, stmt))
        elif isinstance(target, ast.Subscript | ast.Attribute):
            base = _base(target)
            if base is not None and value is not None:
                self.stored[base].append((value, stmt))
        else:
            for name in _names(target):
                self.bindings[name].append((None, stmt))

    # -- the flow ---------------------------------------------------------------------------------------------
    def _mark(self, node, site, stmt, methods):
        """`node`'s value (in `stmt`) flows where an object doing arithmetic would be read as a number, and where
        NumPy calls its `methods` by name."""
        if isinstance(node, ast.Name):
            if node.id in self.params and stmt is not None:  # (where it is read: a branch may read another value)
                self.origin.setdefault(node.id, (site, stmt))
                self.checks.append(("before", stmt, node.id, methods))
            known = self.followed.get(node.id)
            if known is None or not methods <= known:  # (followed again where it goes to more methods)
                self.origin.setdefault(node.id, (site, stmt))
                self.followed[node.id] = methods | (known or _NONE)
                self.todo.append(node.id)
        elif isinstance(node, ast.Attribute) and self._global_chain(node):
            self._global(node, ast.unparse(node), self.pf.resolve_expr(node), site, stmt, methods)
        elif isinstance(node, ast.Starred | ast.NamedExpr):
            self._mark(node.value, site, stmt, methods)
        elif isinstance(node, ast.List | ast.Tuple | ast.Set):
            for item in node.elts:  # (a list used as a value: NumPy makes an array of what it holds)
                self._mark(item, site, stmt, _elements(methods))
        elif isinstance(node, ast.Dict):
            for item in node.values:
                self._mark(item, site, stmt, _elements(methods))
        elif isinstance(node, ast.IfExp):
            self._mark(node.body, site, stmt, methods)
            self._mark(node.orelse, site, stmt, methods)
        elif isinstance(node, ast.BoolOp):
            for item in node.values:
                self._mark(item, site, stmt, methods)
        elif isinstance(node, ast.Call):
            self._call(node, site, stmt, None, methods)
        elif isinstance(node, ast.Subscript | ast.Attribute | ast.Lambda | ast.ListComp | ast.DictComp | ast.SetComp
                        | ast.GeneratorExp | ast.Await | ast.Yield | ast.YieldFrom):
            self._cannot_check(node)
        # (a constant, a comparison, arithmetic's result: a number or an array, its operands checked themselves)

    def _follow(self, name):
        site, stmt = self.origin[name]
        methods = self.followed[name]
        for value, store in self.stored.get(name, ()):
            self._mark(value, site, store, methods)
        if name in self.bindings:
            for value, binding in self.bindings[name]:
                self._binding(name, value, binding, site, methods)
        elif name not in self.params:
            self._global(None, name, self.pf.resolve(name), site, stmt, methods)

    def _binding(self, name, value, stmt, site, methods):
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add | ast.Mult) and _elements(methods):
            for operand in (value.left, value.right):  # (`[a] * 3`, `xs + [a]`: lists holding what they hold)
                self._mark(operand, site, stmt, _elements(methods))
            return
        if value is None or isinstance(value, ast.Lambda | ast.ListComp | ast.DictComp | ast.SetComp
                                       | ast.GeneratorExp | ast.Await | ast.Yield | ast.YieldFrom):
            self.checks.append(("after", stmt, name, methods))
        elif isinstance(value, ast.Attribute) and self._global_chain(value):
            self._mark(value, site, stmt, methods)
        elif isinstance(value, ast.Subscript | ast.Attribute):
            self.checks.append(("after", stmt, name, methods))  # (an item or attribute: what it is, when read)
        elif isinstance(value, ast.Call):
            self._call(value, site, stmt, name, methods)
        else:
            self._mark(value, site, stmt, methods)

    def _call(self, call, site, stmt, name, methods):
        """The value of `call` (bound to `name` by `stmt`, or an operand itself: no name) is computed with (and
        NumPy calls its `methods` by name)."""
        func = self._callee(call.func)
        args = [*call.args, *(k.value for k in call.keywords)]
        if func is None and isinstance(call.func, ast.Attribute) and ctx().method(call.func.attr) is not None:
            # (`z.max()`, an array's method: z computed with, and its result checked, z may be an object of yours,
            # whose own `max` s2s calls as Python would, s2s/runtime/calls.py)
            self._mark(call.func.value, site, stmt, methods)
            for a in args:
                self._mark(a, site, stmt, _elements(methods))
        helper = getattr(func, "__name__", "") if func is not None and ctx().is_runtime_helper(func) else None
        made = annotations.resolved(call.args[1]) if helper == "record" and len(call.args) > 1 else func
        if isinstance(made, type) and (defines_arithmetic(made) or _class_method(made, methods)
                                       or _conversion(made)):
            # (`s2s.record(t, Pair, 'a', 'b')`: a record built here, `np.sum(p)` running `p.sum()`, `np.exp(a)`
            # converting it by its `__array__`: its derivative is not its fields', review 257)
            shown = name if self._users(name) else f"{made.__name__}(...)" if made is not func else ast.unparse(call)
            self._refuse(site, shown, made, _class_method(made, methods) or _conversion(made))
        elif helper == "record" and methods and name is not None:
            # (a record built here: its class may gain such a method after the code is made, review 258)
            self._after(name, stmt, call, methods)
            for a in args[:1]:
                self._mark(a, site, stmt, _elements(methods))
        elif helper in _SAME and args:
            self._mark(args[0], site, stmt, methods)
        elif helper in _READERS or _builtin(func) in _HOLDING or _builtin(func) == "type":  # (`type(o)`: a class,
            # whose metaclass may do arithmetic)
            self._after(name, stmt, call, methods)  # (what a container holds: when it is read)
        elif helper is not None or func is not None and (
                _builtin(func) not in _STRUCTURAL and (ctx().has_rule(func) or _builtin(func) is not None
                                                       or getattr(func, "__module__", None) == "numpy")):
            asked = numpy_methods(func) if func is not None and ctx().has_rule(func) else _NONE
            for a in args:  # (`np.sqrt(r)`'s value is what `r.sqrt()` gives, where r is an object)
                self._mark(a, site, stmt, _elements(methods) | asked)
        elif _builtin(func) not in _STRUCTURAL:
            self._after(name, stmt, call, methods)  # (a helper s2s did not expand, an object's method: its result)

    def _after(self, name, stmt, node, methods):
        if name is None:  # (lowered code binds every call it does not compute with to a name)
            self._cannot_check(node)
        self.checks.append(("after", stmt, name, methods))

    def _global(self, node, text, obj, site, stmt, methods):
        """A global or closure value (or a global's attribute, `node`): refused now where it is or holds an object
        doing arithmetic of its own, or one with a method of `methods`; a container or object checked again before
        `stmt` runs (it may change)."""
        if obj is ctx().missing:
            return
        found = arithmetic_object(obj, lambda v: defines_arithmetic(type(v)), limit=10_000)
        if found is not None:  # (a class whose metaclass does arithmetic too)
            self._refuse(site, text, type(found))
        called = method_object(obj, methods)
        if called is not None:
            self._refuse(site, text, type(called[0]), called[1])
        if isinstance(obj, _PLAIN_VALUES) or node is not None and type(obj) is np.ndarray and not obj.dtype.hasobject:
            return  # (a global name holding an array is checked too: rebound to an array of objects, code made for
            # the numbers it held would run on, review 257)
        if stmt is not None:
            self.checks.append(("before", stmt, text if node is None else node, methods))

    def _cannot_check(self, node):
        raise self.pf.error(ctx().unsupported, f"s2s cannot differentiate this: it cannot tell what "
                            f"`{ast.unparse(node)}` is, and an object doing arithmetic of its own would be "
                            "differentiated as a number", node, hint="bind it to a name first")

    def _refuse(self, site, name, cls, method=None):
        raise self.pf.error(ctx().unsupported, refusal(name, "is or holds", cls, method), site,
                            hint=hint_for(method))

    # -- names and callees ------------------------------------------------------------------------------------
    def _callee(self, func):
        """The object the function of a call denotes, or None where it is a local's or cannot be told."""
        known = annotations.resolved(func)
        if known is not None:
            return known
        if isinstance(func, ast.Name | ast.Attribute) and self._global_chain(func):
            obj = self.pf.resolve_expr(func)
            return None if obj is ctx().missing else obj
        return None

    def _shown(self, name) -> str:
        """How an error names the value of `name`: the name where it is the user's, else what it was bound to
        (`objs[0]`, `m.op`, `make()`)."""
        if self._users(name) or name in self.params or not self.bindings.get(name):
            return name
        value = self.bindings[name][0][0]
        if isinstance(value, ast.Call) and getattr(self._callee(value.func), "__name__", None) == "field" and \
                value.args and all(isinstance(a, ast.Constant) for a in value.args[1:]):
            return ".".join([ast.unparse(value.args[0]), *(a.value for a in value.args[1:])])
        return ast.unparse(value) if value is not None else name

    def _users(self, name) -> bool:
        """Whether `name` is one of the user's function (not one s2s made up: the error names the call then)."""
        code = getattr(self.pf.func, "__code__", None)
        return name is not None and code is not None and name in code.co_varnames

    def _global_chain(self, node) -> bool:
        """Whether `node` is `a.b.c` of a name the function does not bind."""
        while isinstance(node, ast.Attribute):
            node = node.value
        return isinstance(node, ast.Name) and not (node.id in self.params or node.id in self.bindings
                                                   or annotations.is_helper(node))

    def _computes(self, func) -> bool:
        """Whether a call of `func` computes with its arguments by a rule that reads them as numbers or arrays."""
        if func is not None and ctx().is_runtime_helper(func):
            return getattr(func, "__name__", "") in _COMPUTING
        if func is None or not ctx().has_rule(func):
            return False
        return _builtin(func) not in _STRUCTURAL

    # -- the checks -------------------------------------------------------------------------------------------
    def _write_checks(self):
        """`s2s.numbers_or_arrays(value, 'value')` where `self.checks` says: after a binding s2s cannot follow (a
        loop's variable at the start of its body), before a statement that reads a parameter or a global container
        (a while loop's test statements too)."""
        placed = defaultdict(dict)  # (where, statement) -> {name or node id: the methods to look for}
        for where, stmt, name, methods in self.checks:
            key = name if isinstance(name, str) else id(name)
            found = placed[where, id(stmt)]
            found[key] = found.get(key, _NONE) | methods
        nodes = {id(n): n for _, _, n, _ in self.checks if not isinstance(n, str)}
        done = set()
        for block in self._blocks():
            for i in range(len(block) - 1, -1, -1):
                stmt = block[i]
                after = [self._check(nodes.get(name, name), methods)
                         for name, methods in placed.get(("after", id(stmt)), {}).items()]
                if isinstance(stmt, ast.For | ast.AsyncFor | ast.With | ast.AsyncWith):
                    stmt.body[:0] = after
                else:
                    block[i + 1:i + 1] = after
                block[i:i] = [self._check(nodes.get(name, name), methods)
                              for name, methods in placed.get(("before", id(stmt)), {}).items()]
                done |= {("after", id(stmt)), ("before", id(stmt))}
        missed = [key for key in placed if key not in done]
        if missed:  # (a check s2s could not place is a value it cannot vouch for)
            raise self.pf.error(ctx().unsupported, "s2s cannot differentiate this: it cannot place the check that a "
                                "value computed with is no object doing arithmetic of its own", self.tree,
                                hint="compute with the value in a statement of its own")

    def _check(self, value, methods):
        """`s2s.numbers_or_arrays(value, 'value')` (`..., ('sqrt',))` where NumPy calls methods of it by name), at
        the line of the operand it is checked for (the error it raises is told at that line of yours: the
        generated code's lines map to yours); a parameter's annotated (specialize drops it by what the parameter
        is given, where it is never bound again)."""
        name = value if isinstance(value, str) else None
        shown = self._shown(name) if name is not None else ast.unparse(value)
        call = ast.Call(func=helper_attr("s2s", "numbers_or_arrays", ctx().runtime.numbers_or_arrays),
                        args=[load(name) if name is not None else copy.deepcopy(value), ast.Constant(shown),
                              *([ast.Constant(tuple(sorted(methods)))] if methods else [])],
                        keywords=[])
        if name in self.params:
            annotations.put(call, annotations.ENTRY_CHECK)
        origin = self.origin.get(name, (value, None))[0] if name is not None else value
        return fix_locations(ast.copy_location(ast.Expr(call), origin))


HINT = ("call the method the operator runs as a function of yours (`obj.__mul__(x)` as `def apply(x): return x ** 3`), "
        "or compute with NumPy directly")


def refusal(name: str, verb: str, cls: type, method: str | None = None) -> str:
    """The message refusing `name`, which `verb` ("is", "holds") an object of `cls` doing arithmetic of its own, or
    one whose `method` NumPy calls by name (this pass's, and s2s.numbers_or_arrays's when the code runs)."""
    if method is not None:
        return (f"s2s cannot differentiate this: `{name}` {verb} an object of your class {cls.__name__}, whose "
                f"method `{method}` NumPy's function calls by name where it computes with it (as `np.sqrt(r)` runs "
                "`r.sqrt()` and `np.sum(p)` runs `p.sum()`), and s2s differentiates NumPy's functions of numbers "
                "and arrays only: its derivative would be the function's, not the method's")
    return (f"s2s cannot differentiate this: `{name}` {verb} an object of your class {cls.__name__}, which does "
            "arithmetic of its own (its operator methods), and s2s differentiates arithmetic of numbers and arrays "
            "only: its derivative would be the product's or the sum's")


def hint_for(method: str | None) -> str:
    """The hint of `refusal`'s message."""
    if method is None:
        return HINT
    return (f"call the method yourself (`r.{method}()`), where s2s reads its code, or pass numbers or arrays")


_NONE = frozenset()


def numpy_methods(func) -> frozenset:
    """The methods NumPy's `func` calls by name on what it is given, asked of NumPy itself: `"name"` on each object
    of an array of objects (a ufunc's loop: `np.sqrt` calls `sqrt`), `".name"` on a value that is no array
    (`np.sum(p)` runs `p.sum()`, `np.real(p)` reads `p.real`). Empty for a function not NumPy's, and for its
    random draws and methods of its objects (asking would draw: `np.random.normal`, `rng.normal`).

        >>> sorted(numpy_methods(np.sqrt)), sorted(numpy_methods(np.sum)), sorted(numpy_methods(np.conj))
        (['sqrt'], ['.sum'], ['conjugate'])
        >>> sorted(numpy_methods(np.square)), sorted(numpy_methods(np.round)), sorted(numpy_methods(np.real))
        ([], ['.round', 'rint'], ['.real'])
    """
    module = getattr(func, "__module__", None) or ""
    if not isinstance(func, np.ufunc) and (module.split(".")[0] != "numpy" or module.startswith("numpy.random")
                                           or getattr(func, "__self__", None) is not None or not callable(func)):
        return _NONE
    try:
        return _asked(func)
    except TypeError:  # (a function that cannot be a key: asked each time)
        return _asked.__wrapped__(func)


@functools.cache
def _asked(func) -> frozenset:
    called = set()

    class Element:
        def __getattr__(self, name):
            if not name.startswith("__"):
                called.add(name)
            raise AttributeError(name)

    class Given(Element):  # (a sequence of numbers, which NumPy converts unless it hands it to its own method)
        def __getattr__(self, name):
            if not name.startswith("__") and name not in _METADATA:
                called.add("." + name)
            raise AttributeError(name)

        def __len__(self):
            return 2

        def __getitem__(self, k):
            if not -2 <= k < 2:
                raise IndexError(k)
            return 0.5

    def objects():
        items = np.empty((2, 2), dtype=object)
        for k in np.ndindex(2, 2):
            items[k] = Element()
        return items

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for count in range(1, 4):  # (the first arguments: NumPy's functions take one to three arrays)
            for given in ([Given() for _ in range(count)], [objects() for _ in range(count)]):
                try:
                    func(*given)
                except Exception:  # (NumPy's TypeError: the probe has no such method, or the call wants others)
                    pass
    return frozenset(called)


# what NumPy reads of a value to know how to convert it, not what it computes: `p.dtype`
_METADATA = frozenset(("dtype",))


def _elements(methods) -> frozenset:
    """Of `methods`, those called on the objects a value holds (not on the value handed to a function itself)."""
    return frozenset(m for m in methods if not m.startswith(".")) if methods else _NONE


def method_object(value, methods):
    """(the object, the method) where NumPy's function, handed `value`, would call one of `methods`
    (`numpy_methods`) of an object of a class of yours: `".sum"` of `value` itself where it is no array, `"sqrt"`
    of an object NumPy keeps as one in the array it makes of `value` (of any class of yours, a subclass of float
    too); else None.

        >>> class Root:
        ...     def sqrt(self): return 2.0
        >>> Root.__module__ = "__main__"
        >>> method_object([Root(), Root()], frozenset({"sqrt"}))[1], method_object([4.0], frozenset({"sqrt"}))
        ('sqrt', None)
    """
    kind = type(value)
    if not methods or kind in _HOLD_NOTHING or isinstance(value, np.generic):
        return None
    for method in sorted(m for m in methods if m.startswith(".")):
        if kind is not np.ndarray and _users_class(kind) and _has(value, method[1:]):
            return value, method[1:]
    elements = sorted(m for m in methods if not m.startswith("."))
    if not elements:
        return None
    if kind is np.ndarray:
        held = value if value.dtype.hasobject else None
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                held = np.asarray(value)  # (as NumPy makes it: numbers, or the objects it keeps)
        except Exception:  # (NumPy's function raises there too)
            return None
        held = held if held.dtype.hasobject else None
    if held is None:
        return None
    for item in held.ravel()[:100_000].tolist() if held.ndim else [held.item()]:
        if _users_class(type(item)):
            for method in elements:
                if _has(item, method):
                    return item, method
    return None


def _conversion(cls) -> str | None:
    """The method of yours by which NumPy or Python converts an object of `cls` to numbers (`__array__`,
    `__float__`, the sequence protocol of a class that is no tuple or list), else None: what it computes is no
    field of the object, whose derivative s2s would take for it."""
    if not _users_class(cls):
        return None
    hooks = ["__array__", "__array_interface__", "__array_struct__", "__float__", "__int__", "__index__",
             "__complex__"]
    if not issubclass(cls, tuple | list):
        hooks += ["__len__", "__getitem__", "__iter__"]
    return next((h for h in hooks if _users_define(cls, h)), None)


def _users_class(cls) -> bool:
    """Whether `cls` is a class of yours: not a number, array or Python sequence, nor a library's (`_LIBRARIES`)."""
    return cls not in _KNOWN_EXACT and (cls.__module__ or "").split(".")[0] not in _LIBRARIES


def _users_define(cls, name) -> bool:
    """Whether a class of yours among `cls`'s defines `name`."""
    return any(name in vars(k) and _users_class(k) for k in cls.__mro__[:-1])


def _has(obj, name) -> bool:
    """Whether `obj` has an attribute `name` of yours: its own, its class's (not one it inherits from NumPy's or
    Python's types: `ndarray.sum` of a subclass that defines none), or one its `__getattr__` gives."""
    own = getattr(obj, "__dict__", None)
    if type(own) is dict and name in own:
        return True
    for klass in type(obj).__mro__:
        if name in vars(klass):
            return _users_class(klass)
    try:
        return hasattr(obj, name)
    except Exception:  # (a property raising other than AttributeError: NumPy's call would raise it too)
        return True


def _class_method(cls, methods) -> str | None:
    """The first of `methods` (`numpy_methods`) that objects of `cls`, a class of yours, have as a method of their
    class (an object may gain more: checked when the code runs)."""
    if not methods or not _users_class(cls):
        return None
    if issubclass(cls, tuple | list):  # (NumPy converts it to numbers: only its own methods are called)
        methods = [m for m in methods if m.startswith(".")]
    return next((m.lstrip(".") for m in sorted(methods) if _users_define(cls, m.lstrip("."))), None)


def arithmetic_object(value, does_arithmetic, limit=None):
    """The first object `does_arithmetic` says does arithmetic of its own that `value` is, or that its lists, tuples
    and other sequences, dicts and arrays of objects hold (NumPy makes arrays of them, whose operations call the
    objects' methods: `np.asarray(objs) * x`), else None. Each value is looked at once, as NumPy would; at most
    `limit` of them where one is given (the rest left to the check when the code runs). A class is asked about as
    the object it is (its metaclass may do arithmetic).

        >>> class Cube:
        ...     def __rmul__(self, v): return v ** 3
        >>> same = lambda v: defines_arithmetic(type(v), lambda f: True)
        >>> type(arithmetic_object([1.0, (2.0, Cube())], same)).__name__, arithmetic_object(np.ones(2), same)
        ('Cube', None)
    """
    import collections.abc
    todo, seen = [value], set()
    while todo and (limit is None or len(seen) < limit):
        v = todo.pop()
        kind = type(v)
        if kind in _HOLD_NOTHING or kind is np.ndarray and not v.dtype.hasobject or id(v) in seen:
            continue
        if does_arithmetic(v):
            return v
        seen.add(id(v))
        if kind is np.ndarray:
            todo.extend(v.ravel().tolist())
        elif isinstance(v, dict):
            todo.extend(v.values())
        elif isinstance(v, list | tuple | collections.abc.Sequence) and not isinstance(v, str | bytes | range):
            todo.extend(v)
        else:
            todo.extend(_as_numpy_reads(v))
    return None


def _as_numpy_reads(v) -> list:
    """What NumPy makes an array of where it converts `v`: the array its `__array__` gives, or the items of an
    object with `__len__` and `__getitem__` (the sequence protocol), else nothing; nothing for a library's values
    (a Dask array's `__array__` computes it), which hold numbers."""
    if (type(v).__module__ or "").split(".")[0] in _LIBRARIES:
        return []
    if hasattr(type(v), "__array__"):
        try:
            return [np.asarray(v)]
        except Exception:  # (NumPy would raise there too)
            return []
    if hasattr(type(v), "__len__") and hasattr(type(v), "__getitem__") and not isinstance(v, str | bytes):
        try:
            return [v[i] for i in range(len(v))]
        except Exception:
            return []
    return []


def _own_nodes(stmt):
    """The expression nodes of `stmt` itself (a compound statement's header: not the statements it holds)."""
    if isinstance(stmt, ast.If | ast.While):
        return walk(stmt.test)
    if isinstance(stmt, ast.For | ast.AsyncFor):
        return walk(stmt.iter)
    if isinstance(stmt, ast.With | ast.AsyncWith):
        return [n for item in stmt.items for n in walk(item.context_expr)]
    if isinstance(stmt, ast.Try | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return []
    return walk(stmt)


def _builtin(func) -> str | None:
    """The name of the builtin `func` is, else None."""
    return getattr(func, "__name__", None) if getattr(func, "__module__", None) == "builtins" else None


def _base(target):
    """The name whose value a store into `target` (`L[0][1] = v`, `o.a = v`) changes, else None."""
    while isinstance(target, ast.Subscript | ast.Attribute):
        target = target.value
    return target.id if isinstance(target, ast.Name) else None


def _names(target) -> list:
    return [n.id for n in walk(target) if isinstance(n, ast.Name)] if target is not None else []

