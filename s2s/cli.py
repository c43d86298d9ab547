"""Command line: `s2s show FILE.py:FUNC` prints the derivative s2s generates."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

import s2s
from s2s.errors import S2SError


def load_function(target: str):
    """Import FILE.py and return the function FUNC named by 'FILE.py:FUNC'."""
    if ":" not in target:
        raise SystemExit(f"s2s: expected FILE.py:FUNC, got {target!r}")
    path, name = target.rsplit(":", 1)
    if not os.path.isfile(path):
        raise SystemExit(f"s2s: no such file: {path}")
    module_name = "_s2s_cli_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec.loader.exec_module(module)
    func = getattr(module, name, None)
    if func is None or not callable(func):
        raise SystemExit(f"s2s: {path} has no function {name!r}")
    return func


def _wrt(text):
    if text is None:
        return 0
    items = [int(t) if t.strip().lstrip("-").isdigit() else t.strip() for t in text.split(",") if t.strip()]
    return items[0] if len(items) == 1 else tuple(items)


def _highlight(text: str) -> str:
    if not sys.stdout.isatty():
        return text
    try:
        from pygments import highlight
        from pygments.formatters import TerminalFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        return text
    return highlight(text, PythonLexer(), TerminalFormatter())


def cmd_show(args) -> int:
    from s2s import pipeline
    func = load_function(args.target)
    wrt = _wrt(args.wrt)
    df = s2s.derivative(func, mode=args.mode, wrt=wrt, optimize=not args.no_optimize)
    if args.stages:
        for title, text in pipeline.stages(func, wrt, args.mode, not args.no_optimize).items():
            print(f"# ---- {title} " + "-" * max(0, 60 - len(title)))
            print(_highlight(text.rstrip() + "\n"))
        return 0
    print(_highlight(s2s.source(df)), end="")
    return 0


def main(argv=None) -> int:
    """Entry point of the `s2s` command."""
    parser = argparse.ArgumentParser(prog="s2s", description="Source-to-source automatic differentiation: "
                                     "print the derivative code s2s writes for your function.")
    parser.add_argument("--version", action="version", version=f"s2s {s2s.__version__}")
    sub = parser.add_subparsers(dest="command")
    show = sub.add_parser("show", help="print the generated derivative of FILE.py:FUNC")
    show.add_argument("target", metavar="FILE.py:FUNC")
    show.add_argument("--mode", default="reverse", choices=["reverse", "forward"])
    show.add_argument("--wrt", help="comma-separated parameter names or positions (default: the first)")
    show.add_argument("--no-optimize", action="store_true", help="skip the clean-up passes")
    show.add_argument("--stages", action="store_true", help="print every pass's output")
    show.set_defaults(run=cmd_show)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except S2SError as exc:
        print(f"s2s: error: {exc}", file=sys.stderr)
        return 2
    except (TypeError, ValueError, IndexError) as exc:
        print(f"s2s: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
