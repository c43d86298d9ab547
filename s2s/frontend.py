"""Read a user's function: its source, its AST, and what each name denotes."""

from __future__ import annotations

import ast
import builtins
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

    def error(self, cls, message, node=None, hint=None):
        """Build an error of class `cls` that points at `node` in the user's file."""
        lineno = getattr(node, "lineno", None)
        col = getattr(node, "col_offset", None)
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
    func = inspect.unwrap(func)
    code = getattr(func, "__code__", None)
    name = getattr(func, "__name__", repr(func))
    if code is None:
        raise SourceUnavailableError(
            f"s2s cannot read the source of {name!r}: it is not a Python function "
            "(a builtin, a C extension or a callable object).",
            hint="give it a derivative rule with s2s.defvjp/s2s.defjvp, or wrap it in a Python function.")
    filename = code.co_filename
    try:
        lines, first = inspect.getsourcelines(func)
    except (OSError, TypeError) as exc:
        raise SourceUnavailableError(
            f"s2s cannot find the source of {name!r} (defined in {filename!r}): {exc}.",
            hint="define the function in a file or a notebook cell; functions built with exec() "
                 "or typed at a plain interpreter prompt have no source to read.") from None
    source = textwrap.dedent("".join(lines))
    try:
        module = ast.parse(source)
    except SyntaxError:
        # a lambda or a def that is part of a larger expression
        module = None
    tree = _find_def(module, func) if module is not None else None
    if tree is None:
        tree = _lambda_as_def(func, source, lines)
    if tree is None:
        raise SourceUnavailableError(f"s2s could not isolate the source of {name!r} in {filename!r}.",
                                     hint="define it with def on its own lines.")
    all_lines = linecache.getlines(filename) or lines
    closure = {}
    if func.__closure__:
        for var, cell in zip(code.co_freevars, func.__closure__):
            try:
                closure[var] = cell.cell_contents
            except ValueError:
                closure[var] = _MISSING
    pf = ParsedFunction(func, tree, filename, 1, all_lines, func.__globals__, closure)
    ast.increment_lineno(tree, first - 1)
    return pf


def _find_def(module, func):
    for node in ast.walk(module):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == func.__name__:
            node.decorator_list = []  # an async def is refused by desugar, with its location
            return node
    return None


def _lambda_as_def(func, source, lines):
    if func.__name__ != "<lambda>":
        return None
    text = "".join(lines).strip()
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
                    for n in ast.walk(fdef):
                        n.lineno = 1
                    return fdef
    return None
