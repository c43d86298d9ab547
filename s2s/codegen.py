"""AST to source to function: render generated code, register it in linecache
so that inspect, tracebacks and pdb show it, and build the function object."""

from __future__ import annotations

import ast
import itertools
import linecache
import re
import types

_COMMENT = "S2S_COMMENT:"
_counter = itertools.count(1)


def _comments_to_markers(tree):
    class Swap(ast.NodeTransformer):
        def visit_Comment(self, node):
            return ast.Expr(value=ast.Constant(_COMMENT + node.text))

    return Swap().visit(tree)


def render(tree: ast.AST) -> str:
    """Python source for a generated AST, with `Comment` nodes as # lines."""
    tree = ast.fix_missing_locations(_comments_to_markers(tree))
    try:
        import astor
        text = astor.to_source(tree, pretty_source=lambda parts: "".join(parts))
    except Exception:  # astor lags behind new syntax; the stdlib printer is exact
        text = ast.unparse(tree) + "\n"
    out = []
    for line in text.splitlines():
        m = re.match(r"^(\s*)(\"\"\"|'''|'|\")" + re.escape(_COMMENT) + r"(.*)\2$", line)
        if m:
            out.append(m.group(1) + "# " + m.group(3))
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def compile_function(fdef: ast.FunctionDef, free_names: list[str], label: str):
    """Compile `fdef` inside a factory whose parameters are `free_names`.

    Returns (code object of the generated function, its source text, file name).
    """
    factory = ast.FunctionDef(name="_s2s_factory", args=ast.arguments(
        posonlyargs=[], args=[ast.arg(arg=n) for n in free_names], vararg=None, kwonlyargs=[], kw_defaults=[],
        kwarg=None, defaults=[]), body=[fdef, ast.Return(value=ast.Name(id=fdef.name, ctx=ast.Load()))],
        decorator_list=[], returns=None, type_params=[])
    module = ast.Module(body=[factory], type_ignores=[])
    source = render(module)
    filename = f"<s2s {next(_counter)}: {label}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    code = compile(source, filename, "exec")
    factory_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    inner = next(c for c in factory_code.co_consts if isinstance(c, types.CodeType) and c.co_name == fdef.name)
    lines = source.splitlines()
    body = "\n".join(line[4:] if line.startswith("    ") else line for line in lines[1:-1]).strip("\n") + "\n"
    return inner, body, filename


def make_function(code, globals_: dict, cells: dict, defaults=None, kwdefaults=None, source=None):
    """Build a function from a generated code object and a name -> cell mapping."""
    closure = tuple(cells[n] for n in code.co_freevars)
    fn = types.FunctionType(code, globals_, code.co_name, defaults, closure)
    if kwdefaults:
        fn.__kwdefaults__ = dict(kwdefaults)
    fn.__s2s_source__ = source
    return fn
