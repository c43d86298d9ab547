"""AST to source to function: render generated code, register it in linecache
so that inspect, tracebacks and pdb show it, and build the function object."""

from __future__ import annotations

import ast
import itertools
import linecache
import re
import types
import weakref

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


_LINE_MAPS: dict = {}  # generated file name -> (user's file, {generated line: user's line})


def _release_when_unused(code, filename):
    """Drop the linecache entry and line map of `filename` once `code` and every code object inside it
    are gone (a pullback's code may outlive the function that made it), so neither grows without bound."""
    codes, todo = [], [code]
    while todo:
        c = todo.pop()
        codes.append(c)
        todo.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    left = [len(codes)]

    def gone():
        left[0] -= 1
        if left[0] == 0:
            linecache.cache.pop(filename, None)
            _LINE_MAPS.pop(filename, None)

    for c in codes:
        weakref.finalize(c, gone)


def _statements(node):
    """Statements below `node` in source order (the generated `Comment` lines are not statements)."""
    out = []
    for field in ("body", "orelse"):
        for s in getattr(node, field, None) or []:
            if isinstance(s, ast.stmt) and type(s).__name__ != "Comment":
                out.append(s)
                out.extend(_statements(s))
    return out


def _line_map(user_lines, source):
    """{line of the generated source: line of the user's file} from the locations the passes kept."""
    factory = ast.parse(source).body[0]
    generated = _statements(factory.body[0])
    if len(generated) != len(user_lines):  # should not happen; then only what is known for sure
        return {}
    return {g.lineno: u for g, u in zip(generated, user_lines) if u and u > 1}


def user_line_note(exc) -> str | None:
    """For an exception raised inside generated code: where in the user's file that line came from."""
    tb, found = exc.__traceback__, None
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name in _LINE_MAPS:
            found = (name, tb.tb_lineno)
        tb = tb.tb_next
    if found is None:
        return None
    name, line = found
    user_file, mapping = _LINE_MAPS[name]
    user = max((g for g in mapping if g <= line), default=None)
    if user is None or not user_file:
        return None
    n = mapping[user]
    text = linecache.getline(user_file, n).strip()
    return f'The generated line {line} of "{name}" comes from your line\n  File "{user_file}", line {n}\n    {text}'


def compile_function(fdef: ast.FunctionDef, free_names: list[str], label: str, user_file: str | None = None):
    """Compile `fdef` inside a factory whose parameters are `free_names`.

    Returns (code object of the generated function, its source text, file name).
    """
    factory = ast.FunctionDef(name="_s2s_factory", args=ast.arguments(
        posonlyargs=[], args=[ast.arg(arg=n) for n in free_names], vararg=None, kwonlyargs=[], kw_defaults=[],
        kwarg=None, defaults=[]), body=[fdef, ast.Return(value=ast.Name(id=fdef.name, ctx=ast.Load()))],
        decorator_list=[], returns=None, type_params=[])
    module = ast.Module(body=[factory], type_ignores=[])
    user_lines = [getattr(s, "lineno", None) for s in _statements(fdef)]  # before rendering fills the gaps
    source = render(module)
    filename = f"<s2s {next(_counter)}: {label}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        _LINE_MAPS[filename] = (user_file, _line_map(user_lines, source))
    except SyntaxError:
        pass
    code = compile(source, filename, "exec")
    factory_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    inner = next(c for c in factory_code.co_consts if isinstance(c, types.CodeType) and c.co_name == fdef.name)
    _release_when_unused(inner, filename)
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
