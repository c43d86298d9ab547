"""Read a user's function: its source, its AST, and what each name denotes."""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import linecache
import textwrap
from dataclasses import dataclass, field

from s2s.errors import SourceUnavailableError

_MISSING = object()


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

    def resolve(self, name: str):
        """The object a free name denotes: closure cell, module global or builtin."""
        if name in self.closure:
            return self.closure[name]
        if name in self.globals:
            return self.globals[name]
        return getattr(builtins, name, _MISSING)

    def resolve_expr(self, node: ast.expr):
        """Evaluate a dotted name such as `np.linalg.norm`; _MISSING if it is not one."""
        if isinstance(node, ast.Name):
            return self.resolve(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve_expr(node.value)
            if base is _MISSING:
                return _MISSING
            return getattr(base, node.attr, _MISSING)
        return _MISSING


def missing():
    """The marker `resolve` returns for names that denote nothing."""
    return _MISSING


def parse_function(func) -> ParsedFunction:
    """Find and parse the source of `func` (also for functions defined in notebooks)."""
    # no inspect.unwrap: a decorated function is the wrapper that runs, not the function it wraps
    code = getattr(func, "__code__", None)
    name = getattr(func, "__name__", repr(func))
    if code is None:
        raise _no_code_error(func)
    filename = code.co_filename
    try:
        lines, first = inspect.getsourcelines(code)  # the code's own lines (a function's would follow __wrapped__)
    except (OSError, TypeError) as exc:
        what = "a lambda" if name == "<lambda>" else repr(name)
        where = (f"it was made in {filename} (by exec() or compile(), or typed at an interactive prompt), "
                 "so there is no file to read it from" if filename.startswith("<")
                 else f"Python could not read it from {filename!r} ({exc})")
        raise SourceUnavailableError(
            f"s2s cannot find the source of {what} (first line {code.co_firstlineno}): {where}.",
            hint="define the function in a file or a notebook cell; functions built with exec() "
                 "or typed at a plain interpreter prompt have no source to read. If it should not be "
                 "differentiated, wrap its result in s2s.stop_gradient(...) or give it a rule with s2s.defvjp.") from None
    source = textwrap.dedent("".join(lines))
    # a method or a nested def is parsed dedented; errors add the margin back to point at the right column
    col_shift = len(lines[0]) - len(source.splitlines(True)[0]) if lines and source else 0
    try:
        module = ast.parse(source)
    except SyntaxError:
        # a lambda or a def that is part of a larger expression
        module = None
    tree = _find_def(module, func) if module is not None else None
    if tree is None:
        tree = _lambda_as_def(func, source, lines)
        col_shift = 0  # the lambda's nodes carry the columns of the file itself
    if tree is None:
        raise SourceUnavailableError(
            f"s2s could not isolate the source of {name!r}: it starts at line {first} of {filename!r}, "
            "but s2s could not tell which expression on those lines it is.",
            filename=filename, lineno=first, line=lines[0] if lines else None,
            hint="define it with def on its own lines, or write the lambda on a single line.")
    all_lines = linecache.getlines(filename) or lines
    closure = {}
    if func.__closure__:
        for var, cell in zip(code.co_freevars, func.__closure__):
            try:
                closure[var] = cell.cell_contents
            except ValueError:
                closure[var] = _MISSING
    pf = ParsedFunction(func, tree, filename, 1, all_lines, func.__globals__, closure, col_shift)
    ast.increment_lineno(tree, first - 1)
    return pf


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


def _find_def(module, func):
    for node in ast.walk(module):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == func.__code__.co_name:
            node.decorator_list = []  # an async def is refused by desugar, with its location
            return node
    return None


def _lambda_as_def(func, source, lines):
    if func.__code__.co_name != "<lambda>":
        return None
    raw = "".join(lines)
    lead = len(raw) - len(raw.lstrip())
    text = raw.strip()
    for start in range(len(text)):
        if text.startswith("lambda", start):
            for end in range(len(text), start, -1):
                try:
                    expr = ast.parse(text[start:end], mode="eval").body
                except SyntaxError:
                    continue
                if isinstance(expr, ast.Lambda) and len(expr.args.args) == func.__code__.co_argcount:
                    fdef = ast.FunctionDef(name="lambda_", args=expr.args, body=[ast.Return(expr.body)],
                                           decorator_list=[], returns=None, type_params=[])
                    ast.copy_location(fdef, expr)
                    ast.fix_missing_locations(fdef)
                    _place_in_file(fdef, raw, lead + start)
                    return fdef
    return None


def _place_in_file(fdef, raw, offset):
    """Move the positions of a lambda parsed on its own to where it stands in `raw` (the source lines).

    Statements keep the lambda's first line (generated code quotes that line); expressions get their
    own line and column, so that errors point at the right place.
    """
    line0 = raw.count("\n", 0, offset)
    col0 = offset - (raw.rfind("\n", 0, offset) + 1)
    for n in ast.walk(fdef):
        if not hasattr(n, "lineno"):
            continue
        rel = n.lineno
        if isinstance(n, ast.stmt):
            n.lineno = n.end_lineno = line0 + 1
        else:
            n.lineno = line0 + rel
            n.end_lineno = line0 + (getattr(n, "end_lineno", None) or rel)
        if getattr(n, "col_offset", None) is not None and rel == 1:
            n.col_offset += col0
