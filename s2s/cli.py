"""Command line: `s2s show` prints the derivative s2s writes, `s2s check` compares it with SymPy and
finite differences at a point, `s2s graph` prints the computation graph as Graphviz DOT."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import types

import s2s
from s2s.errors import S2SError


class UsageError(Exception):
    """A mistake on the command line (missing file or function, bad --at value): exit status 2."""


def load_function(target: str):
    """Import FILE.py and return the function named by 'FILE.py:FUNC' or 'FILE.py:Class.method' (the plain
    function: `self` is its first parameter, see `method_class`)."""
    if ":" not in target:
        raise UsageError(f"expected FILE.py:FUNC or FILE.py:Class.method, got {target!r}")
    path, name = target.rsplit(":", 1)
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    module_name = "_s2s_cli_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None:
        raise UsageError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise UsageError(f"cannot import {path}: syntax error at line {exc.lineno}: {exc.msg}") from None
    except Exception as exc:  # the user's module failed while importing
        raise UsageError(f"cannot import {path}: {type(exc).__name__}: {exc}") from None
    func = _attribute_path(module, name)
    if func is None or not callable(func):
        defined = sorted(k for k, v in vars(module).items() if callable(v) and getattr(v, "__module__", None) == module_name)
        raise UsageError(f"{path} has no function {name!r}" + (f"; it defines {', '.join(defined)}" if defined else ""))
    if isinstance(func, type):
        raise UsageError(f"{path}:{name} is a class: name one of its methods, {path}:{name}.METHOD")
    if isinstance(func, types.MethodType) and isinstance(func.__self__, type):  # a classmethod: cls is not varied
        func = func.__func__
    return func


def _attribute_path(module, name):
    """`module.A.b` for the name "A.b" (a method of a class: the plain function, `self` its first parameter)."""
    obj = module
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def method_class(func):
    """The class a function was defined in (`Class.method` on the command line), or None for a plain function.

    Its first parameter is then `self` (or `cls`): not differentiated by default, and `s2s check` makes the
    object with `Class()`."""
    import inspect
    qualname = getattr(func, "__qualname__", "")
    if "." not in qualname or "<locals>" in qualname.rsplit(".", 1)[0]:
        return None
    module = sys.modules.get(getattr(func, "__module__", None))
    owner = _attribute_path(module, qualname.rsplit(".", 1)[0]) if module is not None else None
    if not isinstance(owner, type) or isinstance(inspect.getattr_static(owner, func.__name__, None), staticmethod):
        return None
    return owner


def _default_wrt(func, text):
    """--wrt, or for a method the parameter after self."""
    if text is not None or method_class(func) is None:
        return _wrt(text)
    import inspect
    params = list(inspect.signature(func).parameters)
    if len(params) < 2:
        raise UsageError(f"{func.__qualname__} takes no parameter besides {params[0] if params else 'self'}: nothing "
                         "to differentiate")
    return params[1]


def _wrt(text):
    if text is None:
        return 0
    items = [int(t) if t.strip().lstrip("-").isdigit() else t.strip() for t in text.split(",") if t.strip()]
    return items[0] if len(items) == 1 else tuple(items)


_COLOURS = {"keyword": "\033[1;35m", "string": "\033[32m", "number": "\033[36m", "comment": "\033[2;3m",
            "builtin": "\033[34m", "bar": "\033[33m"}
_RESET = "\033[0m"


def _highlight(text: str) -> str:
    """Python source coloured for a terminal (plain when piped): Pygments when installed, else the tokenizer."""
    if not sys.stdout.isatty() or os.environ.get("NO_COLOR"):
        return text
    try:
        from pygments import highlight
        from pygments.formatters import TerminalFormatter
        from pygments.lexers import PythonLexer
        return highlight(text, PythonLexer(), TerminalFormatter())
    except ImportError:
        return _colour_tokens(text)


def _colour_tokens(text: str) -> str:
    import builtins
    import io
    import keyword
    import tokenize
    lines = text.splitlines(True)
    out = [list(line) for line in lines]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text
    for tok in reversed(tokens):  # from the end, so earlier positions stay valid
        kind = None
        if tok.type == tokenize.NAME:
            kind = "keyword" if keyword.iskeyword(tok.string) else "bar" if tok.string.endswith(("_bar", "_dot")) \
                else "builtin" if hasattr(builtins, tok.string) else None
        elif tok.type in (tokenize.STRING, tokenize.NUMBER, tokenize.COMMENT):
            kind = {tokenize.STRING: "string", tokenize.NUMBER: "number", tokenize.COMMENT: "comment"}[tok.type]
        if kind is None or tok.start[0] != tok.end[0]:
            continue
        row, (c0, c1) = tok.start[0] - 1, (tok.start[1], tok.end[1])
        out[row][c0:c1] = [_COLOURS[kind] + tok.string + _RESET]
    return "".join("".join(chars) for chars in out)


def cmd_show(args) -> int:
    from s2s import pipeline
    func = load_function(args.target)
    wrt = _default_wrt(func, args.wrt)
    df = s2s.derivative(func, mode=args.mode, wrt=wrt, optimize=not args.no_optimize)
    if args.stages:
        previous = None
        example = parse_shapes(args.shape, func) if args.shape else None  # (with --shape: s2s.grad's code)
        for title, text in pipeline.stages(func, wrt, args.mode, not args.no_optimize, example).items():
            if text == previous:  # a pass that only checks, or found nothing to do
                print(f"# ---- {title} (no change) " + "-" * max(0, 50 - len(title)))
                continue
            print(f"# ---- {title} " + "-" * max(0, 60 - len(title)))
            print(_highlight(text.rstrip() + "\n"))
            previous = text
        return 0
    if args.compile:  # the code s2s.grad(f, compile=True) gives numba (s2s/compiled.py)
        from s2s import compiled
        example = parse_shapes(args.shape, func) if args.shape else ()
        n = len(pipeline._param_names_of(func))
        example = tuple(1.0 if a is None else a for a in example) + (1.0,) * (n - len(example))
        print(_highlight(compiled.source(func, *example, wrt=wrt, optimize=not args.no_optimize)))
        return 0
    if args.shape:
        if args.mode != "reverse":
            raise UsageError("--shape shows the shape-specialised code of s2s.grad: reverse mode only")
        example = parse_shapes(args.shape, func)
        print(_highlight(s2s.source(s2s.grad(func, wrt=wrt, optimize=not args.no_optimize), *example)), end="")
        return 0
    print(_highlight(s2s.source(df)), end="")
    return 0


def parse_shapes(items, func):
    """`--shape name=3x4` options as example positional arguments (arrays of zeros; None where not given)."""
    import inspect

    import numpy as np
    params = [p for p, v in inspect.signature(func).parameters.items()
              if v.kind in (v.POSITIONAL_ONLY, v.POSITIONAL_OR_KEYWORD)]
    given = {}
    for item in items:
        name, sep, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or name not in params:
            raise UsageError(f"--shape {item!r}: expected NAME=3x4 with NAME one of {params}")
        if text == "float":
            given[name] = 1.0
            continue
        dims = _shape_sizes(text)
        if dims is None:
            raise UsageError(f"--shape {item!r}: a shape is sizes joined by x (3x4), () for a 0-d array, or float")
        given[name] = np.zeros(tuple(int(d) for d in dims))
    last = max(params.index(n) for n in given)
    return [given.get(p) for p in params[:last + 1]]


def _shape_sizes(text: str):
    """The sizes of `3x4`, `(3, 4)`, `(3,)` or `()` (a 0-d array), else None (`3x`, `x4`, `3xx4`, ``).

        >>> _shape_sizes("3x4"), _shape_sizes("(3,)"), _shape_sizes("()"), _shape_sizes("3x")
        (['3', '4'], ['3'], [], None)
    """
    inner = text.strip()
    if inner.startswith("(") and inner.endswith(")"):
        inner = inner[1:-1].strip()
        if not inner:
            return []
        inner = inner[:-1] if inner.endswith(",") else inner  # (`(3,)`, `(3, 4,)`)
    elif not inner:
        return None
    dims = [d.strip() for d in inner.replace(",", "x").split("x")]
    return dims if all(d.isascii() and d.isdigit() for d in dims) else None


def parse_at(items, func, self_object=False):
    """`--at name=value` options as {parameter: value}: numbers, nested lists (arrays), dicts and lists of
    arrays, with np.ones/zeros/full/eye/arange/linspace/array calls of literal arguments (check.parse_value:
    nothing else is evaluated).

    The names are checked against the function's parameters (bound by name, defaults filling in the
    rest); an unknown name or a parameter without a default left out is a UsageError listing them.
    """
    import numpy as np

    from s2s import check
    values = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"bad --at {item!r}: expected NAME=VALUE, e.g. --at x=1.5 or --at y=\"[1, 2, 3]\"")
        if name in values:
            raise UsageError(f"bad --at {item!r}: {name} is given twice")
        try:
            value = check.parse_value(text)
        except (ValueError, TypeError, MemoryError, RecursionError) as exc:
            raise UsageError(f"bad --at {item!r}: {exc}") from None
        numbers = check.leaves(value)
        if not numbers or not all(isinstance(v, int | float | np.ndarray) and not isinstance(v, bool) for v in numbers):
            raise UsageError(f"bad --at {item!r}: {text!r} is not a number, an array or a dict or list of them")
        finite = all(bool(np.all(np.isfinite(v))) for v in numbers)
        if not finite:
            raise UsageError(f"bad --at {item!r}: the point must be finite (no inf or nan)")
        values[name] = value
    owner = method_class(func) if self_object else None
    if owner is not None:
        import inspect
        first = next(iter(inspect.signature(func).parameters), None)
        if first is not None and first not in values:
            try:
                values = {first: owner(), **values}
            except Exception as exc:  # noqa: BLE001 -- the user's constructor
                raise UsageError(f"s2s check calls {owner.__name__}.{func.__name__} on {owner.__name__}(), which "
                                 f"raises {type(exc).__name__}: {exc}; write a module-level function that makes the "
                                 f"object and calls the method, and check that") from None
    try:
        check.bind(func, values, option="--at ")
    except check.CheckError as exc:
        raise UsageError(exc.message) from None
    return values


def _timeout(text):
    """--timeout SECONDS: a positive number, or 0 for no limit."""
    import argparse
    import math
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (math.isfinite(seconds) and seconds >= 0):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds (0: no limit), got {text!r}")
    return seconds or None


def cmd_check(args) -> int:
    from s2s import check
    func = load_function(args.target)
    point = parse_at(args.at, func, self_object=True)
    wrt = _default_wrt(func, args.wrt)

    def echo(line):
        print(line, flush=True)  # each row as its method finishes

    report = check.compare(func, point, wrt=wrt, tolerance=args.tol, timeout=args.timeout, echo=echo)
    return {"agrees": 0, "disagrees": 1}.get(report.status, 3)


def cmd_graph(args) -> int:
    from s2s import graph
    func = load_function(args.target)
    print(graph.dot(func, wrt=_default_wrt(func, args.wrt)), end="")
    return 0


def main(argv=None) -> int:
    """Entry point of the `s2s` command."""
    from s2s.check import DEFAULT_TIMEOUT
    parser = argparse.ArgumentParser(prog="s2s", description="Source-to-source automatic differentiation: "
                                     "print the derivative code s2s writes for your function.",
                                     epilog="exit status: 0 success, 1 `check` found a disagreement, "
                                            "2 bad input or a function s2s cannot differentiate, "
                                            "3 `check` had nothing to compare s2s with")
    parser.add_argument("--version", action="version", version=f"s2s {s2s.__version__}")
    sub = parser.add_subparsers(dest="command")
    show = sub.add_parser("show", help="print the generated derivative of FILE.py:FUNC")
    show.add_argument("target", metavar="FILE.py:FUNC", help="a function, or a method as Class.method (self is not differentiated)")
    show.add_argument("--mode", default="reverse", choices=["reverse", "forward"])
    show.add_argument("--wrt", help="comma-separated parameter names or positions (default: the first)")
    show.add_argument("--no-optimize", action="store_true", help="skip the clean-up passes")
    show.add_argument("--stages", action="store_true", help="print every pass's output")
    show.add_argument("--compile", action="store_true", help="print the code s2s.grad(f, compile=True) gives numba "
                      "for --shape's arguments (a float for each parameter without one)")
    show.add_argument("--shape", action="append", metavar="NAME=3x4",
                      help="the code s2s.grad runs for arrays of these shapes (repeat per parameter; "
                           "NAME=float for a Python number)")
    show.set_defaults(run=cmd_show)
    check = sub.add_parser("check", help="compare s2s's derivative with SymPy's and finite differences at a point")
    check.add_argument("target", metavar="FILE.py:FUNC", help="a function, or a method as Class.method (self is not differentiated)")
    check.add_argument("--at", action="append", metavar="NAME=VALUE",
                       help="a parameter's value: a number or a list, e.g. --at x=1.5 --at y=\"[1, 2, 3]\"")
    check.add_argument("--wrt", help="comma-separated parameter names or positions (default: the first)")
    check.add_argument("--tol", type=float, default=1e-6,
                       help="largest relative difference from the best numeric estimate (default 1e-6)")
    check.add_argument("--timeout", type=_timeout, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                       help="time limit of each method, after which it gives up (default 10; 0: no limit)")
    check.set_defaults(run=cmd_check)
    graph = sub.add_parser("graph", help="print the computation graph of FILE.py:FUNC as Graphviz DOT")
    graph.add_argument("target", metavar="FILE.py:FUNC", help="a function, or a method as Class.method (self is not differentiated)")
    graph.add_argument("--wrt", help="which parameters activity is computed for (default: the first)")
    graph.set_defaults(run=cmd_graph)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except (S2SError, UsageError) as exc:
        print(f"s2s: error: {exc}", file=sys.stderr)
        return 2
    except (TypeError, ValueError, IndexError) as exc:
        print(f"s2s: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("s2s: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`s2s check ... | head`)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 -- so that the exit's flush cannot fail again
        return 1


if __name__ == "__main__":
    sys.exit(main())
