"""AST to source to function: render generated code, register it in linecache
so that inspect, tracebacks and pdb show it, and build the function object."""

from __future__ import annotations

import ast
import builtins
import itertools
import linecache
import re
import types
import weakref

from s2s.transforms.walk import fix_locations

_COMMENT = "S2S_COMMENT:"
_counter = itertools.count(1)


def _comments_to_markers(tree):
    class Swap(ast.NodeTransformer):
        def visit_Comment(self, node):
            return ast.Expr(value=ast.Constant(_COMMENT + node.text))

    return Swap().visit(tree)


def render(tree: ast.AST) -> str:
    """Python source for a generated AST, with `Comment` nodes as # lines."""
    tree = fix_locations(_comments_to_markers(tree))
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
_DEF_LINES: dict = {}  # generated file name -> the line of its function's `def` (the factory's lines come first)


def function_line(filename: str, line: int) -> int:
    """The line of generated file `filename` (the factory's source, whose lines `_LINE_MAPS` counts) that line
    `line` of the generated function's own source (`def` on line 1) is.

        >>> function_line("<not made here>", 5)
        5
    """
    return line + _DEF_LINES.get(filename, 1) - 1


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
            _DEF_LINES.pop(filename, None)

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


def user_line_note(found) -> str:
    """Where in the user's file the line of generated code an exception passed through came from, for `found` of
    `raised_at(exc)`."""
    (name, line), (user_file, n) = found
    text = linecache.getline(user_file, n).strip()
    return f'The generated line {line} of "{name}" comes from your line\n  File "{user_file}", line {n}\n    {text}'


def raised_at(exc) -> tuple[tuple[str, int], tuple[str, int]] | None:
    """((generated file, line), (your file, line)) of the innermost line of generated code `exc` passed through,
    or None."""
    tb, found = exc.__traceback__, None
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name in _LINE_MAPS:
            found = (name, tb.tb_lineno)
        tb = tb.tb_next
    yours = None if found is None else user_line(*found)
    return None if yours is None else (found, yours)


def user_line(filename: str, line: int) -> tuple[str, int] | None:
    """(your file, your line) that line `line` of the generated code in `filename` was made from, or None.

        >>> user_line("<not generated>", 3) is None
        True
    """
    if filename not in _LINE_MAPS:
        return None
    user_file, mapping = _LINE_MAPS[filename]
    user = max((g for g in mapping if g <= line), default=None)
    if user is None or not user_file:
        return None
    return user_file, mapping[user]


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
        _DEF_LINES[filename] = ast.parse(source).body[0].body[0].lineno
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


# ---- printed code that runs as printed ---------------------------------------------------------

def runnable_source(fn) -> str:
    """The source of the generated function `fn` with what it needs to run when pasted into a file:
    import lines first (NumPy, math, `import s2s.runtime as s2s` -- inside generated code `s2s` is the
    runtime -- and the user's globals, from the module that defines them), then the generated
    derivatives of the user's functions it calls, then `fn` itself. The records it reads by name
    (transforms/refusals.py) are defined after the import lines: the errors its run-time checks raise
    (`s2s.unshared(t, site, ...)`) and where its calls through function values are, as dicts, the code of
    its local functions passed as values as `LocalCode(f, 'g', line)` calls.

    What cannot be imported (a variable of an enclosing function, a global of a script run as
    __main__ or of a notebook) is named in a comment instead.
    """
    imports, notes, blocks, records = [], [], [], {}
    _collect(getattr(fn, "__func__", fn), imports, notes, blocks, {}, records, {})
    head = sorted(set(imports), key=_import_order)
    head += [n for i, n in enumerate(notes) if n not in notes[:i]]
    if records:  # the records the code reads (transforms/refusals.py), by the name they go by
        head += [""] + [f"{name} = {_record_text(record)}" for name, record in records.items()]
    return ("\n".join(head) + "\n\n" if head else "") + "\n\n".join(blocks)


def _import_order(line):
    module = line.split()[1]
    return (0 if module in ("math",) else 1 if module.split(".")[0] == "numpy" else
            2 if module.split(".")[0] == "s2s" else 3, line.startswith("from"), line)


def _collect(fn, imports, notes, blocks, done, records, bound):
    """Add the import lines, comments and source blocks `fn` needs, then `fn`'s own source (once).
    `records` gathers the error records of run-time checks by name; one another function's record holds
    the name of is printed under a new name, and `fn`'s source reads it by that name. `bound`: {name: (module,
    object)} of the globals the printed blocks import; a global of `fn` whose name another block imports for
    another object (a helper's module's `X` beside the caller's) is imported under a new name, which `fn`'s
    source reads."""
    from s2s.runtime import LocalCode, Refusal
    if id(fn) in done:
        return done[id(fn)]
    name = own_name = fn.__code__.co_name
    k = 1
    while name in done.values():  # another derivative of the same function (other arguments, other shapes)
        k += 1
        name = f"{own_name}_{k}"
    done[id(fn)] = name
    aliases, renames = [], ({own_name: name} if name != own_name else {})
    for var, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if getattr(value, "__s2s_source__", None) is not None and hasattr(value, "__code__"):
            callee = _collect(value, imports, notes, blocks, done, records, bound)  # a linked derivative: before
            if callee != renames.get(var, var):  # (its own name, renamed above: the source reads the new one)
                aliases.append(f"{var} = {callee}")
            continue
        if isinstance(value, Refusal | LocalCode):
            if isinstance(value, LocalCode):
                imports.append("from s2s.runtime import LocalCode")
                line = _outer_import(value)
                (notes if line.startswith("#") else imports).append(line)
            code = fn.__code__
            taken = set(code.co_varnames) | set(code.co_names) | set(code.co_freevars)
            own, k = var, 1
            while records.get(own, value) != value or own != var and own in taken:
                k += 1
                own = f"{var}_{k}"
            records[own] = value
            if own != var:
                renames[var] = own
            continue
        if getattr(builtins, var, None) is value:
            continue  # a builtin under its own name (s2s's code binds the builtins it calls: pipeline.HELPER_VALUES)
        imports_or_note = _import_line(var, value)
        if imports_or_note.startswith("#"):
            notes.append(imports_or_note)
        else:
            imports.append(imports_or_note)
    module = fn.__globals__.get("__name__")
    reads = _global_reads(fn.__code__)
    for var in sorted(reads):
        if var not in fn.__globals__:
            continue  # a builtin
        value = fn.__globals__[var]
        own, k = var, 1
        while own in bound and bound[own] != (module, id(value)) or own != var and own in reads:
            k += 1
            own = f"{var}_{k}"
        bound[own] = (module, id(value))
        if own != var:
            renames[var] = own
        if isinstance(value, types.ModuleType):
            imports.append(_import_line(own, value))
        elif module and module != "__main__" and _importable(module):
            imports.append(f"from {_import_name(module)} import {var}" + (f" as {own}" if own != var else ""))
        else:
            what = f"{var} of {module}, read here as {own}" if own != var else \
                f"a global of {module or 'the code that defines the function'}"
            notes.append(f"# {own}: {what}; define or import it before this code")
    source = _renamed(fn.__s2s_source__, renames) if renames else fn.__s2s_source__
    blocks.append(source.rstrip("\n") + "\n" + "".join(a + "\n" for a in aliases))
    return name


def _record_text(record) -> str:
    """The expression that makes `record` (a Refusal: a dict; a LocalCode: its constructor's call)."""
    import pprint
    if isinstance(record, dict):
        return pprint.pformat(dict(record), width=110, sort_dicts=False)
    return repr(record)


def _outer_import(record) -> str:
    """The import line of the user's function a LocalCode names (its class, for a method), or a comment."""
    import sys
    outer = record.outer
    top = outer.__qualname__.split(".")[0]
    module = sys.modules.get(outer.__module__)
    value = getattr(module, top, None) if module is not None and "<locals>" not in outer.__qualname__ else None
    line = _import_line(top, value) if value is not None else "#"
    if line.startswith("#"):
        return (f"# {outer.__qualname__}: the function that defines the local function {record.name} (line "
                f"{record.line}); define it before this code")
    return line


def _renamed(source: str, renames: dict) -> str:
    """`source` reading each name in `renames` by its new name (the names of values, not attributes, not
    keyword arguments, not text in strings or comments)."""
    import io
    import tokenize
    lines = source.splitlines(True)
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    spots = [t.start for i, t in enumerate(tokens) if t.type == tokenize.NAME and t.string in renames
             and not (i and tokens[i - 1].string == ".") and not (i + 1 < len(tokens) and tokens[i + 1].string == "=")]
    for row, col in reversed(spots):
        line = lines[row - 1]
        old = re.match(r"\w+", line[col:]).group()
        lines[row - 1] = line[:col] + renames[old] + line[col + len(old):]
    return "".join(lines)


def _global_reads(code):
    """Names the code object (and the functions defined in it) reads as globals."""
    import dis
    out, todo = set(), [code]
    while todo:
        c = todo.pop()
        out.update(i.argval for i in dis.get_instructions(c) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME"))
        todo.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return out


def _importable(module: str) -> bool:
    import sys
    mod = sys.modules.get(module)
    return mod is not None and getattr(mod, "__file__", None) is not None


def _import_name(module: str) -> str:
    """The name to import `module` by: its own, unless it was loaded from a file under another name (as
    `s2s show FILE.py:FUNC` loads FILE.py), then the file's name, as `import` would find it beside it."""
    import os
    import sys
    path = getattr(sys.modules[module], "__file__", "") or ""
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem and stem != "__init__" and module.rsplit(".", 1)[-1] != stem and stem.isidentifier():
        return stem
    return module


def _import_line(var, value) -> str:
    """`import ...` / `from ... import ...` binding `var` to `value`, or a `#` comment when none does."""
    import sys
    if isinstance(value, types.ModuleType):
        mod = value.__name__
        if var == mod:
            return f"import {mod}"
        if "." in mod and var == mod.rsplit(".", 1)[1]:
            return f"from {mod.rsplit('.', 1)[0]} import {var}"
        return f"import {mod} as {var}"
    name = getattr(value, "__name__", None)
    for module in (getattr(value, "__module__", None), "numpy", "math"):
        mod = sys.modules.get(module) if module else None
        if mod is not None and name and getattr(mod, name, None) is value and (module != "__main__"):
            return f"from {_import_name(module)} import {name}" + (f" as {var}" if var != name else "")
    return (f"# {var}: a {type(value).__name__} from the function's enclosing scope; define it before this code")
