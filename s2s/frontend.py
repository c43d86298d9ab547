"""Read a user's function: its source, its AST, and what each name denotes."""

from __future__ import annotations

import ast
import builtins
import collections
import contextlib
import copy
import functools
import inspect
import linecache
import os
import re
import sys
import threading
import types
from dataclasses import dataclass, field

import numpy as np

from s2s.errors import SourceUnavailableError
from s2s.tables import Table
from s2s.transforms.walk import copy_tree, fix_locations, walk

_MISSING = object()

# Values whose identity no transform decision depends on, only their type (a global array or number
# may be rebound between calls without making the derivative code stale).
_NUMBER_KINDS = {float: "d", int: "l", bool: "?"}  # (the dtype characters api._shaped_params gives Python numbers)
_DATA = (np.ndarray, np.generic, int, float, complex, str, bytes, type(None))
# Objects made anew at each attribute access (`obj.method`): compared with ==, which for these
# types is the identity of the object they are bound to and of the function.
_BOUND_METHODS = (types.MethodType, types.BuiltinMethodType, types.MethodWrapperType)


def _mode(obj, fresh_each_access=False) -> str:
    """How a recorded dependency is compared later: by identity, by type, (bound methods) by ==, or (containers and
    objects, `_identity_mode`) by identity and what they hold."""
    if isinstance(obj, _DATA):
        return "type"
    if fresh_each_access and (type(obj) in _BOUND_METHODS
                              or type(obj) is tuple and all(type(v) is int for v in obj)):
        return "eq"  # (a bound method, or `X.shape` of an array: a new tuple each time, equal while X's shape is)
    return _identity_mode(obj)


def _identity_mode(obj) -> str:
    """"held" for a list, tuple, dict or object of a class of yours, whose items and attributes the derivative code
    reads when it runs (`LAYERS[0].W`, `CONFIG["W"]`): compared by identity and by what it holds still passing
    `argcheck.refused_kind` (cache.same), since an item or attribute may become a value s2s refuses (an array of a
    class that redefines `@`) after the code was made; else "is" (identity)."""
    from s2s import argcheck
    return "held" if isinstance(obj, list | tuple | dict | set) or argcheck.holds_fields(obj) else "is"


def _refuse_refused_kinds(name, obj, func):
    """A global or closure value of a kind s2s refuses as an argument (`argcheck.refused_kind`: a masked array, an
    np.matrix) is refused where the function reads it: its values reach the derivative as an argument's do."""
    from s2s import argcheck
    kind = argcheck.refused_kind(obj, inside=False)  # (of its items, those whose class redefines NumPy's)
    if kind is None and isinstance(obj, functools.partial):  # (what it passes its function when called)
        kind = argcheck.refused_kind((obj.args, obj.keywords), inside=False)
        kind = kind and f"which holds {kind}"
    if kind is not None:
        from s2s.errors import NoDerivativeRuleError
        name = name if isinstance(name, str) else ast.unparse(name)  # (a node: `cfg.W`, written out only here)
        if _identity_mode(obj) == "held" and argcheck.redefining(obj) is None and not kind.startswith("which holds"):
            kind = f"which holds {kind}"  # (`LAYERS[0].W`: the list is no such value itself)
        raise NoDerivativeRuleError(
            f"s2s cannot differentiate {getattr(func, '__qualname__', 'the function')}: it reads {name!r}, {kind}, "
            f"{argcheck.WHY_REFUSED}", hint=f"bind {name} to a plain array: {argcheck.plain_hint(name)}")


@dataclass
class ParsedFunction:
    """A user function ready for the transforms."""

    func: object
    tree: ast.FunctionDef
    filename: str
    first_line: int
    lines: list[str]
    globals: dict
    closure: dict = field(default_factory=dict)
    col_shift: int = 0  # columns textwrap.dedent removed: node columns + col_shift = columns in the file

    def error(self, cls, message, node=None, hint=None):
        """Build an error of class `cls` that points at `node` in the user's file."""
        lineno = getattr(node, "lineno", None)
        col = getattr(node, "col_offset", None)
        if col is not None:
            col += self.col_shift
        line = None
        if lineno is not None:
            line = self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else None
            lineno = lineno + self.first_line - 1
        return cls(message, filename=self.filename, lineno=lineno, col=col, line=line, hint=hint)

    def _note(self, kind, container, key, obj, mode, replace=False):
        """Record what a resolution read, in every `recording()` block running in this thread, so that
        code made from it can be told stale later (s2s/pipeline.py). Kinds: "g" a global of `func`
        (key: the name), "c" a closure cell of `func` (key: its index), "d" an entry of the dict
        `container`, "a" the attribute `key` of the object `container`, "f" the code, defaults and
        keyword defaults of the function `container`, "n" the function a derivative function following a partial
        (`container`) calls now."""
        records = getattr(_recording, "stack", None)
        if not records:
            return
        func = self.func
        for record in records:
            entry = (func, kind, container, key, obj, mode)
            if replace:  # (a stronger test than one recorded before: an array's shape and dtype, not its type)
                record[(id(func), kind, id(container), key)] = entry
            else:
                record.setdefault((id(func), kind, id(container), key), entry)
            _note_function(record, obj)

    def _free_value(self, name: str):
        """(kind "c" or "g", its key, the object) of a free name: a closure cell or a module global; None for a local
        or a name neither holds (nothing recorded)."""
        code = getattr(self.func, "__code__", None)
        if code is None or name in code.co_varnames or name in code.co_cellvars:
            return None
        if name in self.closure:
            return "c", code.co_freevars.index(name), self.closure[name]
        if name in self.globals:
            return "g", name, self.globals[name]
        return None

    def data_fact(self, name: str):
        """(shape, dtype character) of the number or numeric array a free name holds now (a closure cell or a module
        global: `X` of `make_loss(X, y)`), recorded so that code made from it is stale once the name holds
        another kind of value (a number: its type; an array: its type, shape and dtype, mode "shape"); None
        for a local or anything else.

            >>> # X = np.ones((3, 2)) a global: data_fact("X") == ((3, 2), "d")
        """
        found = self._free_value(name)
        if found is None:
            return None
        kind, key, obj = found
        if type(obj) in _NUMBER_KINDS:
            self._note(kind, None, key, obj, "type")
            return (), _NUMBER_KINDS[type(obj)]
        if isinstance(obj, np.generic) and type(obj).__module__ == "numpy" and obj.dtype.kind in "biufc":
            self._note(kind, None, key, obj, "type")  # (its type is its dtype)
            return (), obj.dtype.char
        if type(obj) is np.ndarray and obj.dtype.kind in "biufc":
            self._note(kind, None, key, (np.ndarray, obj.shape, obj.dtype), "shape", replace=True)
            return obj.shape, obj.dtype.char
        return None

    def int_value(self, name: str):
        """The Python int a free name (a closure cell, a module global) holds now, recorded by value (mode "eq": code
        made from it is stale once the name holds another value), else None.

            >>> # VOCAB = 27 a global: int_value("VOCAB") == 27
        """
        found = self._free_value(name)
        if found is None or type(found[2]) is not int:
            return None
        kind, key, obj = found
        self._note(kind, None, key, obj, "eq", replace=True)
        return obj

    def resolve(self, name: str):
        """The object a free name denotes: closure cell, module global or builtin; `_MISSING` for a name the
        function binds itself (a parameter or a local: never a global, even where a global has its name,
        and nothing the derivative depends on)."""
        code = getattr(self.func, "__code__", None)
        if code is not None and (name in code.co_varnames or name in code.co_cellvars
                                 or name in _comprehension_locals(code)):
            # (a comprehension's `for np in ...` binds `np` in the comprehension: s2s reads names by their text,
            # so the name is the function's own everywhere, never the module of that name)
            return _MISSING
        if name in self.closure:
            obj = self.closure[name]
            self._note("c", None, self.func.__code__.co_freevars.index(name), obj, _mode(obj))
            _refuse_refused_kinds(name, obj, self.func)
            return self._now(obj)
        if name in self.globals:
            obj = self.globals[name]
            self._note("g", None, name, obj, _mode(obj))
            _refuse_refused_kinds(name, obj, self.func)
            return self._now(obj)
        self._note("g", None, name, _MISSING, "is")  # a global of that name defined later shadows the builtin
        own = _own_builtins(self.func)
        obj = own.get(name, _MISSING)
        self._note("d", own, name, obj, "is")
        if own is not builtins.__dict__ and obj is not getattr(builtins, name, _MISSING):
            # exec(code, {"__builtins__": {...}}): the function reads `name` in builtins of its own, where it is
            # not Python's; s2s's derivative code reads Python's builtins (and their rules)
            from s2s.errors import NoDerivativeRuleError
            raise NoDerivativeRuleError(
                f"s2s cannot differentiate {getattr(self.func, '__qualname__', 'the function')}: it reads {name!r} "
                "in builtins of its own (its globals' __builtins__), where it is not Python's builtin",
                hint=f"define {name} as a global of the function's namespace instead")
        return obj

    def resolve_in(self, func, name: str):
        """The object the free `name` of another function `func` denotes (its module global, else its builtin),
        recorded as `resolve` records this function's own (kind "d": that dict's entry): code made from it is
        stale once the name there denotes another object."""
        space = self.globals if func is self.func else func.__globals__
        if name not in space:
            self._note("d", space, name, _MISSING, "is")  # (a global of that name defined later shadows the builtin)
            space = _own_builtins(func)
        obj = space.get(name, _MISSING)
        self._note("d", space, name, obj, _identity_mode(obj))
        return obj

    def resolve_expr(self, node: ast.expr):
        """Evaluate a dotted name such as `np.linalg.norm`; _MISSING if it is not one."""
        if isinstance(node, ast.Name):
            return self.resolve(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve_expr(node.value)
            if base is _MISSING:
                return _MISSING
            obj = getattr(base, node.attr, _MISSING)
            space = getattr(base, "__dict__", None) if isinstance(base, types.ModuleType) else None
            if space is not None and space.get(node.attr, _MISSING) is obj:
                self._note("d", space, node.attr, obj, _mode(obj))
            else:
                self._note("a", base, node.attr, obj, _mode(obj, fresh_each_access=True))
            _refuse_refused_kinds(node, obj, self.func)  # (`mod.W`, `CONFIG.W`: read as a global is)
            return self._now(obj)
        return _MISSING

    def _now(self, obj):
        """What `obj` computes now, where it is a derivative function that follows a functools.partial
        (`s2s.grad(partial(f, k=3.0))`, api._following): the derivative function it calls now, recorded (kind "n")
        so that code made from it is stale once the partial changed and it calls another. A function of
        autograd's NumPy wrapper is the NumPy function it calls (`autograd_twin`)."""
        follows = getattr(obj, "__s2s_follows__", None) if isinstance(obj, types.FunctionType) else None
        if follows is None:
            return autograd_twin(obj)
        now = follows()
        self._note("n", obj, None, now, "is")
        return self._now(now)


_COMPREHENSIONS = ("<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>")


@functools.lru_cache(maxsize=1024)  # (asked at every resolution of a name the function does not bind)
def _comprehension_locals(code) -> frozenset:
    """The names the comprehensions of `code` bind (their own code objects' locals, in Python before 3.12; in 3.12
    they are `code`'s own), nested comprehensions included."""
    out = set()
    for const in code.co_consts:
        if isinstance(const, types.CodeType) and const.co_name in _COMPREHENSIONS:
            out.update(v for v in const.co_varnames if not v.startswith("."))
            out |= _comprehension_locals(const)
    return frozenset(out)


_AUTOGRAD_WRAPPERS = ("array", "concatenate", "stack", "hstack", "vstack", "row_stack", "column_stack", "append",
                      "mean", "var", "std")  # (autograd.numpy's own functions that do what NumPy's of the name do)


# autograd's functions that convert their arguments and call NumPy's (its `where` gives back a list where no
# argument is an array, `norm` makes an array of a list first): NumPy's values for arrays (adv228: refused before)
_AUTOGRAD_CONVERTERS = (("autograd.numpy", "where", lambda: np.where),
                        ("autograd.numpy.linalg", "norm", lambda: np.linalg.norm))


def autograd_twin(obj):
    """The NumPy or SciPy function an autograd wrapper calls (`import autograd.numpy as np`: `np.sum` is a
    primitive of autograd's that, given no autograd box, calls `numpy.sum` itself), else `obj`. Code written for
    autograd then reads as code written for NumPy: the same numbers, NumPy's rules.

        >>> autograd_twin(len) is len
        True
    """
    if not isinstance(obj, types.FunctionType):
        return obj
    module = obj.__module__ or ""
    if module == "autograd.tracer" and getattr(obj, "_is_autograd_primitive", False) and _autograd_s_own(obj):
        inner = getattr(obj, "fun", None)
        inner_module = getattr(inner, "__module__", None) or type(inner).__module__ or ""
        if isinstance(inner, np.ufunc) or inner_module.split(".")[0] in ("numpy", "scipy") \
                or inner_module.startswith("scipy.stats"):
            return inner
    for home, name, twin in _AUTOGRAD_CONVERTERS:  # (np.where, np.linalg.norm: NumPy's, where arrays are given)
        if module == home and getattr(sys.modules.get(home), name, None) is obj:
            return twin()
    if module == "autograd.numpy.numpy_wrapper" and obj.__name__ in _AUTOGRAD_WRAPPERS + ("<lambda>",):
        name = next((n for n in _AUTOGRAD_WRAPPERS if getattr(sys.modules.get(module), n, None) is obj), None)
        if name is not None:
            return getattr(np, "vstack" if name == "row_stack" else name)
    return obj


def _autograd_s_own(primitive) -> bool:
    """Whether `primitive` is one of autograd's own wrappers (an attribute of autograd.numpy, autograd.scipy...), whose
    derivative is the NumPy function's; not `primitive(np.round)` of the user's, with a vjp of the user's own
    (a straight-through estimator: read as np.round, its gradient would be np.round's zero; adv228)."""
    name = getattr(primitive, "__name__", None)
    return name is not None and any(
        getattr(module, name, None) is primitive for key, module in list(sys.modules.items())
        if key.startswith(("autograd.numpy", "autograd.scipy")) and module is not None)


def _note_function(record, obj):
    """Record what decides how calls of `obj` are transformed: a Python function's code and defaults (kind "f");
    a functools.partial's function (kind "a": `p.__setstate__` gives it another, whose effects may differ), and
    what decides about that function, to any depth. (Its arguments and keywords are read when the call runs.)"""
    if isinstance(obj, types.FunctionType):
        record.setdefault((0, "f", id(obj), None),
                          (None, "f", obj, None, (obj.__code__, obj.__defaults__, obj.__kwdefaults__), "f"))
    elif isinstance(obj, functools.partial):
        record.setdefault((0, "a", id(obj), "func"), (None, "a", obj, "func", obj.func, "is"))
        # (what its arguments and keywords hold, read when the call runs, may become a value s2s refuses)
        record.setdefault((0, "a", id(obj), "args"), (None, "a", obj, "args", obj.args, "held"))
        record.setdefault((0, "a", id(obj), "keywords"), (None, "a", obj, "keywords", obj.keywords, "held"))
        _note_function(record, obj.func)


def _own_builtins(func) -> dict:
    """The builtins dict `func`'s code reads names in: Python's, unless exec() gave its globals others."""
    own = getattr(func, "__builtins__", None)
    if type(own) is not dict:
        own = getattr(own, "__dict__", None)
    return own if type(own) is dict else builtins.__dict__


def missing():
    """The marker `resolve` returns for names that denote nothing."""
    return _MISSING


_recording = threading.local()


def note_read(kind, container, key, value) -> None:
    """Record, in every `recording()` block running in this thread, a read a pass made without name resolution
    (transforms/callees.follow: `HOLDER.g`, `NET.act`, `LAYERS[0]`): kind "a" an attribute, "d" a dict item, "i" a
    list or tuple item of `container` (see `_note`)."""
    records = getattr(_recording, "stack", None)
    if not records:
        return
    mode = _mode(value, fresh_each_access=True)
    for record in records:
        record.setdefault((0, kind, id(container), key), (None, kind, container, key, value, mode))
        _note_function(record, value)


@contextlib.contextmanager
def recording():
    """Collect what every resolution of a name reads in this thread while the block runs (a transform's
    inputs): a dict whose values are (function, kind, container, key, object, mode), see `_note`."""
    stack = _recording.__dict__.setdefault("stack", [])
    record: dict = {}
    stack.append(record)
    try:
        yield record
    finally:
        stack.pop()


_DEF_LINE = re.compile(r"^(\s*def\s)|(\s*async\s+def\s)|(.*(?<!\w)lambda(:|\s))|^(\s*@)")  # (inspect.findsource's)


def _source_lines(code, module_globals):
    """`inspect.getsourcelines(code)`: the code's own lines (a function's would follow `__wrapped__`) and the number
    of the first. For a `.py` file on disk or text Python keeps (`linecache`: a notebook's cell), it reads them as
    inspect does, but without `inspect.getmodule`, which for a file no module in `sys.modules` was loaded from (a
    program written to a temporary file) searches every loaded module: 1.6 ms a call where SciPy, SymPy and numba
    are loaded, against 0.03 ms. Any other file goes to inspect.

        >>> _source_lines(_source_lines.__code__, globals())[1] == _source_lines.__code__.co_firstlineno
        True
    """
    filename = code.co_filename
    if not (filename in linecache.cache or filename.endswith(".py") and os.path.isfile(filename)):
        return inspect.getsourcelines(code)
    linecache.checkcache(filename)  # (a file edited since it was read is read again: the text is what is on disk)
    lines = linecache.getlines(filename, module_globals)
    if not lines:
        raise OSError("could not get source code")
    lnum = code.co_firstlineno - 1
    while lnum > 0:
        if lnum >= len(lines):
            raise OSError("lineno is out of bounds")
        if _DEF_LINE.match(lines[lnum]):
            break
        lnum -= 1
    return inspect.getblock(lines[lnum:]), lnum + 1


def parse_function(func) -> ParsedFunction:
    """Find and parse the source of `func` (also for functions defined in notebooks).

    The source is proven to be that of the code object that runs: the file's current text is
    compiled as Python compiles it and the function's code there must equal `func.__code__`.
    """
    # no inspect.unwrap: a decorated function is the wrapper that runs, not the function it wraps
    code = getattr(func, "__code__", None)
    name = getattr(func, "__name__", repr(func))
    if code is None:
        raise _no_code_error(func)
    filename = code.co_filename
    try:
        lines, first = _source_lines(code, getattr(func, "__globals__", None))
    except (OSError, TypeError) as exc:
        what = "a lambda" if name == "<lambda>" else repr(name)
        where = (f"it was made in {filename} (by exec() or compile(), or typed at an interactive prompt), "
                 "so there is no file to read it from" if filename.startswith("<")
                 else f"Python could not read it from {filename!r} ({exc}); if the file was edited or "
                      "removed since the function was defined, the text there is not the code that runs")
        raise SourceUnavailableError(
            f"s2s cannot find the source of {what} (first line {code.co_firstlineno}): {where}.",
            hint="define the function in a file or a notebook cell; functions built with exec() "
                 "or typed at a plain interpreter prompt have no source to read. If it should not be "
                 "differentiated, wrap its result in s2s.stop_gradient(...) or give it a rule with s2s.defvjp.") from None
    all_lines = linecache.getlines(filename) or lines
    source = _source_of(func, filename, "".join(all_lines), lines, first)
    if code.co_name == "<lambda>":
        tree = _lambda_node(func, source, lines, first)
    else:
        tree = _def_node(func, source, lines, first)
    closure = {}
    if func.__closure__:
        for var, cell in zip(code.co_freevars, func.__closure__):
            try:
                closure[var] = cell.cell_contents
            except ValueError:
                closure[var] = _MISSING
    return ParsedFunction(func, tree, filename, 1, all_lines, func.__globals__, closure, 0)


# ---- the source is the running code's ---------------------------------------------------------------

_CHANGED_HINT = ("reload the module (importlib.reload(module)) or re-run the notebook cell that defines it, "
                 "then differentiate the new function; restarting the kernel or interpreter also works")


class _Source:
    """One text of one file: its AST and its code objects as Python compiles them, indexed."""

    def __init__(self, filename, text):
        self.filename = filename
        self.text = text
        self.tree = ast.parse(text, filename)
        self.defs = collections.defaultdict(list)  # (name, first line incl. decorators) -> def nodes
        self.lambdas = collections.defaultdict(list)  # line -> Lambda nodes starting there
        self.classes = {}  # id(def or Lambda node) -> name of the innermost class it is written in
        todo = [(self.tree, None)]
        while todo:
            node, cls = todo.pop()
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                self.defs[(node.name, start)].append(node)
                self.classes[id(node)] = cls
            elif isinstance(node, ast.Lambda):
                self.lambdas[node.lineno].append(node)
                self.classes[id(node)] = cls
            inner = node.name if isinstance(node, ast.ClassDef) else cls
            todo.extend((child, inner) for child in ast.iter_child_nodes(node))
        self._codes = {}

    def codes(self, variant="plain"):
        """(co_name, co_firstlineno) -> code objects, for the whole text compiled (pytest: asserts rewritten)."""
        if variant not in self._codes:
            if variant == "pytest":
                from _pytest.assertion.rewrite import rewrite_asserts
                tree = ast.parse(self.text, self.filename)
                rewrite_asserts(tree, self.text.encode(), self.filename, None)
                module = compile(tree, self.filename, "exec", dont_inherit=True)
            else:
                module = compile(self.text, self.filename, "exec", dont_inherit=True)
            index = collections.defaultdict(list)
            todo = [module]
            while todo:
                c = todo.pop()
                index[(c.co_name, c.co_firstlineno)].append(c)
                todo.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
            self._codes[variant] = index
        return self._codes[variant]

    def variants(self, func):
        out = ["plain"]
        if "@py_builtins" in getattr(func, "__globals__", {}):  # a module pytest imported with its asserts rewritten
            out.append("pytest")
        return out


_SOURCES_MAX = 16
SOURCES = Table("parsed source files", _SOURCES_MAX)  # (file name, text) -> _Source


def _source_of(func, filename, text, lines, first) -> _Source:
    key = (filename, text)
    src = SOURCES.find(key)
    if src is not None:
        return src
    try:
        src = _Source(filename, text)
    except (SyntaxError, ValueError) as exc:
        raise _changed_error(func, lines, first, f"its file does not compile now ({exc.__class__.__name__}: "
                                                 f"{getattr(exc, 'msg', exc)})") from None
    SOURCES.put(key, src)
    return src


def _changed_error(func, lines, first, why, hint=_CHANGED_HINT):
    code = func.__code__
    what = "this lambda" if code.co_name == "<lambda>" else f"{code.co_name!r}"
    module = sys.modules.get(getattr(func, "__module__", None) or "")
    now = getattr(module, getattr(func, "__name__", ""), None) if module is not None else None
    if isinstance(now, types.FunctionType) and now is not func and now.__code__ is not code:
        # (its module was reloaded, and holds a new function of that name; `from m import f` elsewhere keeps the old)
        hint = (f"{func.__module__} was reloaded and holds a new {func.__name__}, but the function you differentiate "
                f"still calls the old one (a module that did `from {func.__module__} import {func.__name__}`): "
                f"import it there again, or reload that module too")
    return SourceUnavailableError(
        f"s2s cannot prove that the source it reads for {what} is the code that runs: {why}. The file has "
        "probably changed since the function was defined, and differentiating the new text would give the "
        "derivative of code that does not run.",
        filename=code.co_filename, lineno=first, line=lines[0] if lines else None, hint=hint)


def _def_node(func, src, lines, first):
    code = func.__code__
    nodes = src.defs.get((code.co_name, code.co_firstlineno), [])
    if len(nodes) == 1:
        for variant in src.variants(func):
            if any(same_code(c, code) for c in src.codes(variant).get((code.co_name, code.co_firstlineno), ())):
                tree = copy_tree(nodes[0])  # (the parsed text is kept for the next function of the file)
                tree.decorator_list = []  # an async def is refused by desugar, with its location
                return _mangled(tree, src.classes.get(id(nodes[0])))
    raise _changed_error(func, lines, first, f"the text at line {code.co_firstlineno} of {code.co_filename} "
                         f"does not compile to the code of {code.co_qualname if hasattr(code, 'co_qualname') else code.co_name}")


def _positions(code):
    """The (line, end line, column, end column) of the code's instructions that have a column."""
    get = getattr(code, "co_positions", None)
    if get is None:  # Python 3.10
        return None
    return {p for p in get() if None not in p and p[3] > 0}


def _inside(span, p):
    return (span[0], span[2]) <= (p[0], p[2]) and (p[1], p[3]) <= (span[1], span[3])


def _span(node):
    return node.lineno, node.end_lineno, node.col_offset, node.end_col_offset


def _owner(lambdas, code):
    """The Lambda node (of those on the line) that `code` was compiled from: the innermost one whose body
    holds all the code's positions. None when that cannot be told."""
    if len(lambdas) == 1 and code is not None and _positions(code) is None:
        return lambdas[0]
    positions = _positions(code)
    if not positions:
        return None
    best = None
    for node in lambdas:
        body = _span(node.body)
        if all(_inside(body, p) for p in positions):
            if best is None or _inside(_span(best.body), body):
                best = node
    return best


def _lambda_node(func, src, lines, first):
    code = func.__code__
    lambdas = src.lambdas.get(code.co_firstlineno, [])
    live_positions = _positions(code)
    found = []
    for variant in src.variants(func):
        for compiled in src.codes(variant).get((code.co_name, code.co_firstlineno), ()):
            if not same_code(compiled, code):
                continue
            node = _owner(lambdas, compiled)
            if node is not None:
                found.append((_positions(compiled) == live_positions, node))
        if found:
            break
    if not found:
        if len(lambdas) > 1 and live_positions is None:
            raise _changed_error(func, lines, first, "there are several lambdas on its line and this Python "
                                 "cannot tell which one runs", hint="give each lambda a line of its own, or define "
                                 "the function with def")
        raise _changed_error(func, lines, first, f"no lambda at line {code.co_firstlineno} of {code.co_filename} "
                             "compiles to the code of this one", hint=_CHANGED_HINT + "; if the file did not change, "
                             "give each lambda a line of its own, or define the function with def")
    found.sort(key=lambda item: not item[0])  # the lambda at the very columns of the running code first
    node = _mangled(copy.deepcopy(found[0][1]), src.classes.get(id(found[0][1])))
    fdef = ast.FunctionDef(name="lambda_", args=node.args, body=[ast.Return(node.body)], decorator_list=[],
                           returns=None, type_params=[])
    ast.copy_location(fdef, node)
    ast.copy_location(fdef.body[0], node)
    for stmt in (fdef, fdef.body[0]):  # statements keep the lambda's first line (generated code quotes it)
        stmt.end_lineno = stmt.lineno
    fix_locations(fdef)
    return fdef


def _mangled(tree, cls):
    """`tree` with private names (`self.__w`) mangled as Python does inside class `cls` (`self._Model__w`):
    the generated code is compiled outside the class, where Python would not mangle them."""
    prefix = "_" + cls.lstrip("_") if cls else None
    if not prefix or prefix == "_":
        return tree

    def mangle(name):
        if name and name.startswith("__") and not name.endswith("__") and "." not in name:
            return prefix + name
        return name

    for node in walk(tree):
        if isinstance(node, ast.Name):
            node.id = mangle(node.id)
        elif isinstance(node, ast.Attribute):
            node.attr = mangle(node.attr)
        elif isinstance(node, ast.arg | ast.keyword):
            node.arg = mangle(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node is not tree:
            node.name = mangle(node.name)
    return tree


_CO_FLAGS = 0xFFFF  # the CO_FUTURE_* bits above change nothing in a function's own code


def same_code(a: types.CodeType, b: types.CodeType) -> bool:
    """Whether two code objects compute the same thing: bytecode, names, constants (recursively), arguments."""
    if a is b:
        return True
    for attr in ("co_code", "co_names", "co_varnames", "co_freevars", "co_cellvars", "co_argcount",
                 "co_posonlyargcount", "co_kwonlyargcount", "co_name", "co_firstlineno"):
        if getattr(a, attr) != getattr(b, attr):
            return False
    if getattr(a, "co_exceptiontable", None) != getattr(b, "co_exceptiontable", None):
        return False
    if (a.co_flags ^ b.co_flags) & _CO_FLAGS:
        return False
    return _same_const(a.co_consts, b.co_consts)


def _same_const(x, y) -> bool:
    if type(x) is not type(y):
        return False
    if isinstance(x, types.CodeType):
        return same_code(x, y)
    if isinstance(x, tuple):
        return len(x) == len(y) and all(_same_const(p, q) for p, q in zip(x, y))
    if isinstance(x, frozenset):
        return sorted(map(repr, x)) == sorted(map(repr, y))
    if isinstance(x, float | complex):
        return repr(x) == repr(y)  # -0.0 and 0.0, nan
    return x == y


def _qualified(obj) -> str:
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if name is None:
        return repr(obj)
    module = getattr(obj, "__module__", None)
    return f"{module}.{name}" if module and module != "builtins" else name


def _no_code_error(func) -> SourceUnavailableError:
    """The error for a callable without Python source: a partial, a compiled function, an object."""
    if isinstance(func, functools.partial):
        inner = _qualified(func.func)
        return SourceUnavailableError(
            f"s2s cannot differentiate functools.partial({inner}, ...) directly: a partial object has no "
            "source of its own.",
            hint=f"differentiate {getattr(func.func, '__name__', inner)} itself and pass the bound arguments "
                 "in the call (choose the argument with wrt=...), or write a def that calls it.")
    kind = type(func).__name__
    if kind in ("builtin_function_or_method", "method-wrapper", "wrapper_descriptor", "method_descriptor"):
        what = "a built-in function (compiled code)"
    elif kind == "ufunc":
        what = "a NumPy ufunc (compiled code)"
    elif isinstance(func, type):
        what = "a class"
    else:
        what = f"a callable object of type {kind}"
    shown = _qualified(func)
    compiled = what.endswith("(compiled code)")
    example = f"def f(x): return {shown.replace('numpy.', 'np.')}(x)" if compiled else "def f(x): return obj(x)"
    return SourceUnavailableError(
        f"s2s cannot read the source of {shown}: it is {what}, not a function written in Python.",
        hint=f"s2s differentiates Python functions: write `{example}` and differentiate f (s2s has "
             "derivative rules for many NumPy and math functions); for one without a rule, register it "
             "with s2s.defvjp.")


# ---- whose code is it: the user's (transformed) or an installed library's (needs a rule) -------------

_LIBRARY_DIRS: tuple | None = None


def _library_dirs() -> tuple:
    """The folders of Python's standard library and of installed packages, as real paths ending in a separator."""
    global _LIBRARY_DIRS
    if _LIBRARY_DIRS is None:
        import os
        import site
        import sysconfig
        found = set()
        for scheme_paths in (sysconfig.get_paths(), sysconfig.get_paths(vars={"base": sys.base_prefix,
                                                                                 "platbase": sys.base_prefix})):
            found.update(scheme_paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib"))
        with contextlib.suppress(AttributeError):  # site of some embedded interpreters lacks these
            found.update(site.getsitepackages())
            found.add(site.getusersitepackages())
        found.add(os.path.dirname(os.path.abspath(__file__)))  # s2s itself, in an editable install too
        _LIBRARY_DIRS = tuple(sorted({os.path.join(os.path.realpath(p), "") for p in found if p}))
    return _LIBRARY_DIRS


def is_user_code(func) -> bool:
    """Whether s2s reads and transforms calls to `func` (the user's own code), or treats it as a library
    function, which needs a derivative rule (s2s.defvjp): a function whose file is in Python's standard
    library, in site-packages or dist-packages. Objects without Python code are not the user's either.

        >>> import json, numpy as np
        >>> def mine(x): return x
        >>> is_user_code(mine), is_user_code(json.dumps), is_user_code(np.sin)
        (True, False, False)
    """
    code = getattr(func, "__code__", None)
    if not isinstance(code, types.CodeType) or other_signature(func):
        return False
    filename = code.co_filename
    if filename.startswith("<frozen"):  # (the standard library's frozen modules: `<frozen _collections_abc>`)
        return False
    if filename.startswith("<"):  # exec, a notebook cell, the interactive prompt: the user's
        return True
    return not _library_file(filename)


@functools.lru_cache(maxsize=1024)
def _library_file(filename) -> bool:
    """Whether the file `filename` is in Python's standard library, site-packages or dist-packages (its real
    path, found once per file name: `os.path.realpath` costs some 60 µs a call)."""
    import os
    path = os.path.realpath(filename)
    parts = path.split(os.sep)
    return "site-packages" in parts or "dist-packages" in parts or path.startswith(_library_dirs())


def other_signature(func) -> tuple[list, list] | None:
    """(the parameters its signature shows, its code's own) for a wrapper made with functools.wraps whose own
    parameters are not those of the function it wraps (`def wrapper(*args, **kwargs)`); None otherwise. s2s
    differentiates the code that runs, but would name its parameters by the signature: such a wrapper is not
    read (a call of it needs a rule), where its derivative would be zero."""
    if getattr(func, "__wrapped__", None) is None or not isinstance(func, types.FunctionType):
        return None
    import inspect
    try:
        shown = list(inspect.signature(func).parameters)
        own = list(inspect.signature(func, follow_wrapped=False).parameters)
    except (TypeError, ValueError):
        return None
    return (shown, own) if shown != own else None


def _public(module_name: str) -> bool:
    return not any(part.startswith("_") for part in module_name.split("."))


def importable_name(obj) -> tuple[str, str] | None:
    """(module, dotted name inside it) by which `obj` can be imported again, or None: the public module
    (no part starting with `_`) with the shortest name that holds it, a bound method through the object it
    is bound to (`("scipy.stats", "norm.logpdf")`).

        >>> import scipy.special
        >>> importable_name(scipy.special.expit)
        ('scipy.special', 'expit')
    """
    if isinstance(obj, types.MethodType):
        owner = importable_name(obj.__self__)
        name = getattr(obj.__func__, "__name__", None)
        return (owner[0], f"{owner[1]}.{name}") if owner and name else None
    found = []
    for module_name, module in list(sys.modules.items()):
        if module is None or not _public(module_name) or module_name == "__main__":
            continue
        space = getattr(module, "__dict__", None) or {}
        name = getattr(obj, "__name__", None)
        if isinstance(name, str):  # a function or class: under its own name
            if space.get(name) is obj:
                found.append((module_name, name))
            continue
        for key, value in list(space.items()):  # an object (scipy.stats.norm): under any public name
            if value is obj and not key.startswith("_"):
                found.append((module_name, key))
                break
    if not found:
        return None
    home = getattr(obj, "__module__", None) or getattr(type(obj), "__module__", "") or ""
    # the module nearest the object's own home first (scipy.special for scipy.special._basic), then an installed
    # library's before a module of the user's that imported the name (`from scipy.special import expit`: a ufunc
    # has no home), then the shortest
    return min(found, key=lambda mn: (not home.startswith(mn[0]), not _installed(mn[0]), mn[0].count("."),
                                      len(mn[0]), mn[1]))


def _installed(module_name: str) -> bool:
    """Whether the module's file lies among the installed packages or the standard library (or it has no file:
    a builtin module)."""
    path = getattr(sys.modules.get(module_name), "__file__", None)
    return not path or os.path.abspath(path).startswith(_library_roots())


@functools.cache
def _library_roots() -> tuple[str, ...]:
    """The directories of the installed packages and the standard library, each ending in a separator."""
    import sysconfig
    paths = sysconfig.get_paths()
    return tuple({os.path.abspath(paths[k]) + os.sep for k in ("purelib", "platlib", "stdlib", "platstdlib")
                  if paths.get(k)})


def _hint_params(func, call) -> list[str]:
    """Parameter names for a rule's signature that a call like `call` binds to."""
    names: list[str] = []
    nin = getattr(func, "nin", None)
    if isinstance(func, np.ufunc) and isinstance(nin, int):
        names = ["x"] if nin == 1 else [f"x{i + 1}" for i in range(nin)]
    else:
        with contextlib.suppress(TypeError, ValueError):
            params = inspect.signature(func).parameters.values()
            names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            shapes = getattr(getattr(func, "__self__", None), "shapes", False)  # a scipy.stats distribution
            if any(p.kind is p.VAR_POSITIONAL for p in params) and (shapes is None or isinstance(shapes, str)):
                names += [n.strip() for n in (shapes or "").split(",") if n.strip()] + ["loc", "scale"]
    npos = len(call.args) if call is not None else max(len(names), 1)
    params = [names[i] if i < len(names) else f"arg{i + 1}" for i in range(npos)]
    for kw in getattr(call, "keywords", []):
        if kw.arg is not None and kw.arg not in params:
            params.append(f"{kw.arg}=None")
    return params


def rule_hint(func, call=None) -> str:
    """The hint of NoDerivativeRuleError for a call of `func` (an `ast.Call` node) without a rule: register
    one with s2s.defvjp on that very function, by a name that imports (the import line included).

        >>> import scipy.special
        >>> rule_hint(scipy.special.expit).split("`")[1:4]
        ['import scipy.special', ' then ', 's2s.defvjp(scipy.special.expit, "x", x="g * ...")']
    """
    where = importable_name(func)
    written = ast.unparse(call.func) if call is not None else None
    if where is not None:
        module, name = where
        target, imports = f"{module}.{name}", f"`import {module}` then "
    else:
        target, imports = written or getattr(func, "__name__", "f"), ""
    params = _hint_params(func, call)
    first = params[0].split("=")[0] if params else "x"
    register = f"s2s.defvjp({target}, \"{', '.join(params)}\", {first}=\"g * ...\")"
    return (f"register a rule on this very function: {imports}`{register}` (replace ... by the derivative, "
            f"in g, ans and the parameters); wrap the value in s2s.stop_gradient(...) "
            "if no derivative should flow through it; s2s reads and differentiates only your own code, not "
            "installed libraries")


def _made_by_s2s(func):
    """(message, hint) for a derivative function s2s made (grad(f), elementwise_grad(f)...), or None."""
    if not any(hasattr(func, a) for a in ("__s2s_target__", "__s2s_plain__", "__s2s_made__", "__s2s_derivative__")):
        return None
    inner = getattr(func, "__wrapped__", None)
    name = getattr(inner, "__qualname__", None) or getattr(func, "__qualname__", "f")
    return (f"s2s does not differentiate a derivative function it made (the derivative of {name}) called inside a "
            "function it differentiates, except s2s.grad(f) and s2s.grad(f, wrt=i) with one parameter (not a tuple "
            "of them, nor has_aux=True; not value_and_grad, elementwise_grad, grad of grad or jacobian)",
            "call s2s.grad(f, wrt=i) once per parameter there, or differentiate derivatives at the top level instead: "
            "s2s.grad(s2s.grad(f)) or "
            "s2s.elementwise_grad(s2s.elementwise_grad(f)) for one parameter, s2s.jacfwd(s2s.jacrev(f)) for the "
            "tensor of second derivatives, s2s.hessian(f, wrt=(0, 1)) for "
            "mixed second derivatives, s2s.hvp(f) for Hessian-vector products; or write the derivative out as code")


def _s2s_transformation(func):
    """(message, hint) for a call of s2s's own grad, hessian, jacobian... whose arguments carry a derivative (the
    function handed to it reads a value being differentiated from the enclosing function), or None."""
    if getattr(func, "__module__", None) != "s2s.api" or not callable(func):
        return None
    name = func.__name__
    if name != "grad":
        return (f"s2s cannot differentiate a call of s2s.{name} inside a function it differentiates: of its derivative "
                "functions, it differentiates s2s.grad(f) there (and s2s.grad(f, wrt=i)), no other",
                "take the derivatives at the top level instead: s2s.hessian(f), s2s.hvp(f), s2s.jacfwd(s2s.jacrev(f)), "
                "s2s.grad(s2s.grad(f))")
    return ("s2s cannot differentiate the call of s2s.grad itself: the function handed to it carries a derivative "
            "(it reads, from the enclosing function, a value being differentiated); s2s differentiates a gradient "
            "function made inside only where what it differentiates comes in through its arguments",
            "pass those values as arguments: `def inner(x, a): ...` and `s2s.grad(inner)(x, a)` (with the same "
            "wrt=; the enclosing derivative flows through the other arguments)")


def no_rule_text(func, call=None) -> tuple[str, str]:
    """(message, hint) of the NoDerivativeRuleError for a call of `func` without a derivative rule."""
    made = _made_by_s2s(func)
    if made is not None:
        return made
    transformation = _s2s_transformation(func)
    if transformation is not None:
        return transformation
    from s2s.transforms.frozen_distributions import is_distribution
    if is_distribution(func):  # (st.gamma(a) called where s2s could not write its methods' calls out)
        name = getattr(func, "name", None) or type(func).__name__.removesuffix("_gen")
        return (f"s2s cannot differentiate the frozen distribution made here: it reads `d = st.{name}(...)` then "
                f"`d.logpdf(x)` (or `st.{name}(...).logpdf(x)`) as the distribution's method where `d` is bound once "
                "and used only for such calls, and the arguments call nothing (nor seed=)",
                f"call the distribution's method with the arguments after x: `st.{name}.logpdf(x, *args)`")
    if isinstance(func, np.vectorize):  # (its name and module are its function's: `numpy.<lambda>` said nothing)
        inner = getattr(func.pyfunc, "__qualname__", "the function")
        return (f"s2s cannot differentiate a function np.vectorize made of {inner}: it calls {inner} once per entry "
                "in a Python loop of NumPy's, which s2s does not see into",
                f"call {inner} on the array itself where it is written with NumPy's elementwise functions, or loop "
                f"yourself: `np.array([{inner}(v) for v in x])` (s2s differentiates the comprehension); or "
                + rule_hint(func, call))
    other = other_signature(func)
    if other is not None:
        name = getattr(func, "__qualname__", "the function")
        return (f"s2s cannot differentiate a call of {name}: it is a wrapper (functools.wraps) whose own parameters "
                f"({', '.join(other[1])}) are not those of the function it wraps ({', '.join(other[0])}); s2s "
                "differentiates the code that runs and names its parameters",
                f"call the wrapped function itself ({name}.__wrapped__), or give the wrapper the parameters of the "
                "function it wraps")
    where = importable_name(func)
    if where is not None:
        shown = f"{where[0]}.{where[1]}"
    elif isinstance(getattr(func, "__self__", None), np.ufunc):
        shown = f"np.{func.__self__.__name__}.{func.__name__}"  # (`np.maximum.accumulate`, not `ufunc.accumulate`)
    else:
        shown = _qualified(func) if not isinstance(func, np.ufunc) else f"the ufunc {func.__name__}"
    if (getattr(func, "__module__", None) or "").split(".")[:2] == ["s2s", "runtime"]:
        # a helper of s2s's own generated code: a derivative of generated code, asked once more
        return (f"s2s cannot differentiate its own generated derivative code once more here: that code calls "
                f"{shown}, a helper of generated derivative code that has no derivative of its own",
                "take the derivative of the original function f instead: s2s.grad(s2s.grad(s2s.grad(f))), "
                "s2s.jacfwd(s2s.hessian(f)) and s2s.jacfwd(s2s.jacrev(f)) differentiate f itself (forward mode over "
                "forward mode where the generated code cannot be differentiated again)")
    why = ""
    if getattr(func, "_is_autograd_primitive", False) and getattr(func, "__module__", None) == "autograd.tracer":
        shown = f"autograd's primitive({_qualified(getattr(func, 'fun', func))})"
        why = " (a primitive of yours: s2s does not read the derivative autograd's defvjp gave it)"
    elif isinstance(getattr(func, "__code__", None), types.CodeType) and not is_user_code(func):
        why = " (an installed library's function: s2s differentiates your own code, and library functions by rules)"
    init = getattr(func, "__init__", None) if isinstance(func, type) else None
    if isinstance(init, types.FunctionType) and is_user_code(init):
        # (an object of your class built from differentiated values: its __init__ may do anything with them)
        return (f"s2s cannot differentiate building an object of your class {func.__name__} from differentiated "
                "values: its __init__ is code s2s does not follow into the object it makes",
                f"make {func.__name__} a dataclass (@dataclasses.dataclass, its fields the values __init__ stores) or a "
                "namedtuple: s2s differentiates the records a function builds, their fields and their methods "
                "(docs/objects.md)")
    return f"s2s has no derivative rule for {shown}{why}", rule_hint(func, call)
