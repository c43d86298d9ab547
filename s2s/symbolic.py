"""Symbolic differentiation with SymPy, beside s2s's automatic differentiation.

`derivative(f, *args)` runs the *lowered* program of `f` (the same primitive
statements s2s differentiates) on SymPy symbols instead of numbers, so that
any function s2s accepts can be contrasted with `sympy.diff`. Array arguments
become NumPy object arrays of symbols (`x_0`, `x_1`, ...), so the shapes of
the point decide the expression.

Control flow that depends on values cannot be followed symbolically: at
`if z > 0` the symbol `z` has no truth value. Given a point (the `args`),
s2s evaluates such conditions *at that point*, follows the branch taken and
records it: the expression it returns is then valid only on the region where
every recorded condition keeps its value (`result.conditions`). Without a
point, such a condition raises `SymbolicControlFlowError` at its line.
"""

from __future__ import annotations

import ast
import builtins
import copy
import math
import sys
import time
import types
from dataclasses import dataclass, field

import numpy as np
import sympy

from s2s import rules, runtime
from s2s.errors import S2SError
from s2s.transforms.walk import fix_locations, walk


class SymbolicControlFlowError(S2SError, ValueError):
    """A condition or loop bound depends on values and no point was given to decide it."""


class SymbolicUnsupportedError(S2SError, TypeError):
    """An operation in the program has no SymPy counterpart here."""


class StopGradient(sympy.Function):
    """`s2s.stop_gradient` in SymPy: the value passes through, the derivative is zero."""

    def fdiff(self, argindex=1):
        return sympy.Integer(0)


def _elementwise(fn):
    """A NumPy-style function that applies the SymPy function `fn` element by element."""
    def apply(*args, **kwargs):
        if any(isinstance(a, np.ndarray) for a in args):
            return np.vectorize(lambda *xs: fn(*xs), otypes=[object])(*args)
        return fn(*args)
    apply.__name__ = getattr(fn, "__name__", "elementwise")
    return apply


def _sym(x):
    return sympy.sympify(x)


def _logaddexp(a, b):
    return sympy.log(sympy.exp(a) + sympy.exp(b))


def _where(c, a, b):
    return sympy.Piecewise((a, c), (b, True))


# SymPy counterparts of functions without a derivative rule of s2s's own (math.gamma, math.lgamma and Python
# 3.11's math.cbrt, math.exp2; a user may register one with s2s.defvjp); a function with a rule states its
# counterpart there (`sympy=` in s2s/rules), and that one wins
_WITHOUT_RULES = {
    "gamma": sympy.gamma, "lgamma": sympy.loggamma, "cbrt": lambda x: sympy.real_root(x, 3),
    "exp2": lambda x: 2 ** _sym(x),
}


def _counterpart(rule):
    """The SymPy function a rule's `sympy` expression stands for (a function of the rule's parameters)."""
    params = [p if p not in rule.defaults else f"{p}={rule.defaults[p]!r}" for p in rule.params]
    if rule.varargs:
        params.insert(rule.positional if rule.positional is not None else len(params), "*" + rule.varargs)
    fn = eval(f"lambda {', '.join(params)}: {rule.sympy}", {"sympy": sympy, "__name__": __name__})  # noqa: S307 - rule text
    fn.__name__ = rule.name.rsplit(".", 1)[-1]
    return fn


def _counterparts(module) -> dict:
    """{name: SymPy counterpart} for the functions of `module` (np or math) that have one."""
    out = {name: fn for name, fn in _WITHOUT_RULES.items() if hasattr(module, name)}
    for name in dir(module):
        if name.startswith("_"):
            continue
        rule = rules.lookup(getattr(module, name))
        if rule is not None and rule.sympy is not None:
            out[name] = _counterpart(rule)
    return out


def _clip(x, lo, hi):
    return _elementwise(lambda v: sympy.Min(sympy.Max(v, lo), hi))(x)


def _norm(x, ord=None, axis=None, keepdims=False):
    if ord not in (None, 2, "fro") or axis is not None or keepdims:
        raise NotImplementedError("np.linalg.norm with ord/axis/keepdims")
    flat = np.asarray(x, dtype=object).ravel()
    return sympy.sqrt(sum(v ** 2 for v in flat))


def _matrix(a):
    return sympy.Matrix(np.asarray(a, dtype=object).tolist())


def _as_object_array(m, shape):
    return np.array(m.tolist(), dtype=object).reshape(shape)


def _det(a):
    return _matrix(a).det()


def _inv(a):
    return _as_object_array(_matrix(a).inv(), np.shape(a))


def _solve(a, b):
    b_arr = np.asarray(b, dtype=object)
    column = b_arr.reshape(b_arr.shape[0], -1)
    return _as_object_array(_matrix(a).LUsolve(_matrix(column)), b_arr.shape)


def _creator(fn):
    """np.zeros & co. produce object arrays, so that symbols can be stored into them."""
    def make(*args, dtype=None, **kwargs):
        return fn(*args, dtype=object, **kwargs)
    return make


def _like(fn):
    def make(a, *args, dtype=None, **kwargs):
        return fn(np.asarray(a, dtype=object), *args, dtype=object, **kwargs)
    return make


def _array(a, dtype=None, copy=True, **kwargs):
    return np.array(a, dtype=object, **kwargs)


def _asarray(a, dtype=None, **kwargs):
    return np.asarray(a, dtype=object)


_NUMPY_OVERRIDES = {
    "zeros": _creator(np.zeros), "ones": _creator(np.ones), "empty": _creator(np.zeros), "full": _creator(np.full),
    "zeros_like": _like(np.zeros_like), "ones_like": _like(np.ones_like), "empty_like": _like(np.zeros_like),
    "full_like": _like(np.full_like), "array": _array, "asarray": _asarray, "asanyarray": _asarray, "clip": _clip,
    "float64": lambda x: x, "float32": lambda x: x,
}
_LINALG_OVERRIDES = {"norm": _norm, "det": _det, "inv": _inv, "solve": _solve}


class _Namespace(types.SimpleNamespace):
    """A stand-in for a module whose functions work on SymPy values."""


def _numpy_shim():
    shim = _Namespace()
    for name in dir(np):
        if not name.startswith("_"):
            setattr(shim, name, getattr(np, name))
    for name, fn in _counterparts(np).items():
        setattr(shim, name, _elementwise(fn))
    for name, fn in _NUMPY_OVERRIDES.items():
        setattr(shim, name, fn)
    linalg = _Namespace(**{n: getattr(np.linalg, n) for n in dir(np.linalg) if not n.startswith("_")})
    for name, fn in _LINALG_OVERRIDES.items():
        setattr(linalg, name, fn)
    shim.linalg = linalg
    shim.pi, shim.e = sympy.pi, sympy.E
    return shim


def _math_shim():
    shim = _Namespace(**{n: getattr(math, n) for n in dir(math) if not n.startswith("_")})
    for name, fn in _counterparts(math).items():
        setattr(shim, name, fn)
    shim.pi, shim.e = sympy.pi, sympy.E
    return shim


def _runtime_shim():
    shim = _Namespace(**{n: getattr(runtime, n) for n in dir(runtime) if not n.startswith("_")})
    shim.stop_gradient = _elementwise(StopGradient)
    shim.astype = lambda x, dtype: x
    return shim


_SHIMS: dict = {}  # rules.version -> (np, math, runtime) shims: a rule registered later is picked up


def _shims():
    version = rules.version
    if version not in _SHIMS:
        _SHIMS.clear()
        _SHIMS[version] = _numpy_shim(), _math_shim(), _runtime_shim()
    return _SHIMS[version]


def _builtin_max(*args, **kwargs):
    values = args[0] if len(args) == 1 else args
    if kwargs or not any(isinstance(v, sympy.Basic) for v in values):
        return builtins.max(*args, **kwargs)
    return sympy.Max(*values)


def _builtin_min(*args, **kwargs):
    values = args[0] if len(args) == 1 else args
    if kwargs or not any(isinstance(v, sympy.Basic) for v in values):
        return builtins.min(*args, **kwargs)
    return sympy.Min(*values)


def _substitute(value):
    """The SymPy-aware stand-in for a value the user's code refers to (module, NumPy function...)."""
    import s2s
    _NP, _MATH, _RUNTIME = _shims()
    if value is np:
        return _NP
    if value is np.linalg:
        return _NP.linalg
    if value is math:
        return _MATH
    if value is runtime:
        return _RUNTIME
    if value is s2s:  # (the package the user imported: its stop_gradient, and the helpers the passes write)
        return _RUNTIME
    if value is runtime.stop_gradient or value is getattr(s2s, "stop_gradient", None):
        return _elementwise(StopGradient)
    if value is builtins.max:
        return _builtin_max
    if value is builtins.min:
        return _builtin_min
    if value is builtins.float:
        return lambda x=0.0: x if isinstance(x, sympy.Basic) else float(x)
    module = getattr(value, "__module__", None) or ""
    name = getattr(value, "__name__", None)
    if name and (module == "math" or isinstance(value, np.ufunc) or module.startswith("numpy")):
        for shim, real in ((_NP, np), (_NP.linalg, np.linalg), (_MATH, math)):
            if getattr(real, name, None) is value:
                return getattr(shim, name)
    return value


@dataclass
class Condition:
    """A decision the program took at the point: `text` at `line` came out `outcome`."""

    filename: str
    line: int
    text: str
    outcome: object
    expression: object

    def __str__(self):
        return f"{_display_path(self.filename)}:{self.line}: {self.text}  ->  {self.outcome}"


def _display_path(filename: str) -> str:
    """The file name relative to the working directory when it lies below it."""
    import os
    try:
        rel = os.path.relpath(filename)
    except ValueError:
        return filename
    return rel if not rel.startswith("..") else filename


@dataclass
class _Context:
    point: dict | None  # symbol -> number, or None without a point
    conditions: list = field(default_factory=list)
    depth: int = 0


def _is_number_like(value) -> bool:
    """A number or an array (or nested list) of numbers: what becomes symbols. Booleans, None, strings,
    functions and other objects are passed to the program unchanged."""
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, int | float | np.integer | np.floating):
        return True
    if isinstance(value, np.ndarray | list | tuple):
        try:
            array = np.asarray(value)
        except (ValueError, TypeError):
            return False
        return array.dtype.kind in "iuf"
    return False


def _symbols_for(name, value, at_point=False):
    """A symbol for a number, an object array of symbols for an array (shape taken from `value`).

    At a point, a value that is not a number or an array of numbers (a flag, None, a string) is no
    variable: it is returned unchanged and the program sees it as it is."""
    if at_point and not _is_number_like(value):
        return value
    if value is None or np.ndim(value) == 0:
        return sympy.Symbol(name, real=True)
    shape = np.shape(value)
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        out[index] = sympy.Symbol(name + "_" + "_".join(map(str, index)), real=True)
    return out


def _flat_symbols(symbols):
    return [symbols] if isinstance(symbols, sympy.Basic) else list(np.asarray(symbols).ravel())


def _is_variable(symbols) -> bool:
    """True for what `_symbols_for` made symbols of (a Symbol or an object array of them)."""
    if isinstance(symbols, sympy.Symbol):
        return True
    return isinstance(symbols, np.ndarray) and symbols.dtype == object and \
        all(isinstance(s, sympy.Symbol) for s in symbols.ravel())


def _parameters(signature):
    """The named parameters (no *args or **kwargs) and which of them are keyword-only."""
    import inspect
    params = [p for p in signature.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return [p.name for p in params], {p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


def _point_of(symbols, value):
    if isinstance(symbols, sympy.Basic):
        return {symbols: float(value)}
    values = np.asarray(value, dtype=float).ravel()
    return dict(zip(np.asarray(symbols).ravel(), values))


class _Decide:
    """Called by the rewritten program wherever Python needs a concrete value (branches, loop bounds)."""

    def __init__(self, pf, nodes, ctx):
        self.pf, self.nodes, self.ctx = pf, nodes, ctx

    def _concrete(self, value, site, kind):
        if isinstance(value, bool | int | float | np.bool_ | np.integer | np.floating):
            return value
        if isinstance(value, np.ndarray):
            if value.dtype != object:
                return value
            value = value.item() if value.size == 1 else value
        expr = sympy.sympify(value) if not isinstance(value, np.ndarray) else None
        if expr is not None and not expr.free_symbols:
            return bool(expr) if kind == "branch" else int(expr)
        node = self.nodes[site]
        text = self._source_line(node)
        if self.ctx.point is None:
            raise self.pf.error(SymbolicControlFlowError,
                                f"SymPy cannot follow this {kind}: `{text}` depends on the values of the inputs, "
                                "and no point was given to decide it", node,
                                hint="pass the arguments (s2s.symbolic.derivative(f, x0, ...)) to get the expression "
                                     "valid around that point, or use s2s.numeric / s2s.grad there.")
        if expr is None:
            raise self.pf.error(SymbolicUnsupportedError, f"the {kind} `{text}` tests a whole array", node,
                                hint="reduce it to one value (np.all, np.any, np.sum) in the function.")
        at = expr.subs(self.ctx.point)
        outcome = bool(at) if kind == "branch" else int(at)
        self.ctx.conditions.append(Condition(self.pf.filename, getattr(node, "lineno", 0), text, outcome, expr))
        return outcome

    def _source_line(self, node):
        lineno = getattr(node, "lineno", 0)
        if 0 < lineno <= len(self.pf.lines):
            return self.pf.lines[lineno - 1].strip().rstrip(":")
        return ast.unparse(node)

    @staticmethod
    def equal(a, b):
        """`a == b`, as a SymPy relation when either side is symbolic."""
        if isinstance(a, sympy.Basic) or isinstance(b, sympy.Basic):
            return sympy.Eq(sympy.sympify(a), sympy.sympify(b))
        return a == b

    @staticmethod
    def unequal(a, b):
        """`a != b`, as a SymPy relation when either side is symbolic."""
        if isinstance(a, sympy.Basic) or isinstance(b, sympy.Basic):
            return sympy.Ne(sympy.sympify(a), sympy.sympify(b))
        return a != b

    def branch(self, value, site):
        """The truth value of a branch or loop condition."""
        return self._concrete(value, site, "branch")

    def count(self, value, site):
        """A loop bound or index as a Python int."""
        return self._concrete(value, site, "loop bound")


class _Rewrite(ast.NodeTransformer):
    """Route every place where Python needs a concrete value through `_Decide`."""

    def __init__(self, decide_name):
        self.decide = decide_name
        self.nodes = []

    def _call(self, method, value, site_node):
        self.nodes.append(site_node)
        call = ast.Call(func=ast.Attribute(value=ast.Name(self.decide, ast.Load()), attr=method, ctx=ast.Load()),
                        args=[value, ast.Constant(len(self.nodes) - 1)], keywords=[])
        return ast.copy_location(call, value)

    def visit_If(self, node):
        self.generic_visit(node)
        node.test = self._call("branch", node.test, node.test)
        return node

    def visit_While(self, node):
        self.generic_visit(node)
        # lowered while loops recompute their condition with statements kept on the node
        again = [self.visit(copy.deepcopy(s)) for s in getattr(node, "s2s_test", [])]
        node.body = node.body + again
        node.test = self._call("branch", node.test, node.test)
        return node

    def visit_Compare(self, node):
        # `x == 1.0` on a symbol is Python's structural equality (always False): make it a relation
        self.generic_visit(node)
        if len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq | ast.NotEq):
            method = "equal" if isinstance(node.ops[0], ast.Eq) else "unequal"
            call = ast.Call(func=ast.Attribute(value=ast.Name(self.decide, ast.Load()), attr=method, ctx=ast.Load()),
                            args=[node.left, node.comparators[0]], keywords=[])
            return ast.copy_location(call, node)
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "range":
            node.args = [self._call("count", a, a) for a in node.args]
        return node


def _run_lowered(func, args, ctx, kwargs=None):
    """Execute the lowered program of `func` on SymPy values; returns its output."""
    from s2s import pipeline
    if ctx.depth > 200:
        raise RecursionError("symbolic execution is nested more than 200 calls deep")
    low = pipeline.lowered(func)
    pf, tree = low.pf, copy.deepcopy(low.tree)
    decide_name = low.alloc.fresh("decide")
    rewrite = _Rewrite(decide_name)
    tree = rewrite.visit(tree)
    tree.decorator_list = []
    module = fix_locations(ast.Module(body=[tree], type_ignores=[]))
    namespace = {k: _substitute(v) for k, v in pf.globals.items()}
    namespace.update({k: _substitute(v) for k, v in pf.closure.items()})
    for helper, name in low.helpers.items():
        namespace[name] = _substitute(pipeline.HELPER_VALUES[helper])
    namespace.update(low.refusals)  # the errors of the run-time checks (s2s.unshared(t, site, ...))
    for name in ("max", "min", "float"):
        namespace.setdefault(name, _substitute(getattr(builtins, name)))
    namespace[decide_name] = _Decide(pf, rewrite.nodes, ctx)
    for name, value in list(namespace.items()):
        if _is_user_function(value):
            namespace[name] = _symbolic_callee(value, ctx)
        elif isinstance(value, types.ModuleType) and _is_user_module(value):
            namespace[name] = _ModuleProxy(value, ctx)
    exec(compile(module, pf.filename, "exec"), namespace)
    ctx.depth += 1
    try:
        return namespace[tree.name](*args, **(kwargs or {}))
    except S2SError:
        raise
    except Exception as exc:  # report the user's line the SymPy run failed on
        raise _located(exc, pf) from exc
    finally:
        ctx.depth -= 1


def _is_user_function(value):
    return isinstance(value, types.FunctionType) and not getattr(value, "__module__", "").startswith(("s2s", "numpy", "sympy"))


def _symbolic_callee(func, ctx):
    def call(*args, **kwargs):
        return _run_lowered(func, args, ctx, kwargs)
    return call


def _is_user_module(module) -> bool:
    """A module of the user's own (a file outside Python's installation and site-packages)."""
    path = getattr(module, "__file__", None)
    if not path or module.__name__.startswith(("s2s", "transforms")):
        return False
    installed = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    return not any(path.startswith(p) for p in installed) and "site-packages" not in path


class _ModuleProxy:
    """A user's module seen from symbolic code: its functions run symbolically too."""

    def __init__(self, module, ctx):
        self._module, self._ctx = module, ctx

    def __getattr__(self, name):
        value = getattr(self._module, name)
        return _symbolic_callee(value, self._ctx) if _is_user_function(value) else _substitute(value)


def _located(exc, pf):
    tb = exc.__traceback__
    lineno = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == pf.filename:
            lineno = tb.tb_lineno
        tb = tb.tb_next
    node = types.SimpleNamespace(lineno=lineno, col_offset=None) if lineno else None
    return pf.error(SymbolicUnsupportedError, f"SymPy could not run this line: {type(exc).__name__}: {exc}", node,
                    hint="s2s.grad and s2s.numeric still work here; the symbolic contrast covers NumPy/math "
                         "elementwise functions, sums, products, dot/matmul and small linear algebra.")


@dataclass
class SymbolicProgram:
    """The output of a function as a SymPy expression (or an object array of them)."""

    func: object
    symbols: tuple  # per parameter: a Symbol or an object array of Symbols
    expression: object
    conditions: list
    point: dict | None

    @property
    def at_point_only(self) -> bool:
        """True when the expression depends on branch decisions taken at the given point."""
        return bool(self.conditions)

    def note(self) -> str:
        """Say in words where the expression is valid."""
        if not self.conditions:
            return "the expression is valid wherever the function is defined (no value-dependent control flow)."
        lines = [f"the expression is valid only near the given point: {len(self.conditions)} value-dependent "
                 "decision(s) were taken there:"]
        runs = []  # consecutive equal decisions at one line, e.g. a while loop's test
        for c in self.conditions:
            if runs and (runs[-1][0].filename, runs[-1][0].line, runs[-1][0].outcome) == (c.filename, c.line, c.outcome):
                runs[-1][1] += 1
            else:
                runs.append([c, 1])
        for c, times in runs[:8]:
            lines.append("  " + str(c) + (f"  ({times} times)" if times > 1 else ""))
        if len(runs) > 8:
            lines.append(f"  ... and {len(runs) - 8} more")
        return "\n".join(lines)


def expression(func, *args, kwargs=None):
    """Run `func`'s lowered program on SymPy symbols.

    With `args` (and `kwargs`, by parameter name), array shapes come from them and value-dependent
    control flow is decided at that point; parameters left out take their defaults. Without, every
    parameter is a scalar symbol. At a point, values that are not numbers (flags, None, strings)
    are passed through unchanged rather than made symbols.
    """
    import inspect
    signature = inspect.signature(func)
    params, keyword_only = _parameters(signature)
    at_point = bool(args or kwargs)
    if at_point:
        try:
            bound = signature.bind(*args, **(kwargs or {}))
        except TypeError as exc:
            raise TypeError(f"{func.__name__}{signature}: {exc}") from None
        bound.apply_defaults()  # defaults take part as symbols at their default values
        extra = [("*" if p.kind is p.VAR_POSITIONAL else "**") + p.name for p in signature.parameters.values()
                 if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and bound.arguments.get(p.name)]
        if extra:
            raise SymbolicUnsupportedError(f"the symbolic run gives values to named parameters only, not to {extra[0]}")
        values = tuple(bound.arguments[p] for p in params)
    else:
        values = (None,) * len(params)
    symbols = tuple(_symbols_for(p, v, at_point) for p, v in zip(params, values))
    point = None
    if at_point:
        point = {}
        for s, v in zip(symbols, values):
            if _is_variable(s):
                point.update(_point_of(s, v))
    ctx = _Context(point)
    positional = [s for p, s in zip(params, symbols) if p not in keyword_only]
    keywords = {p: s for p, s in zip(params, symbols) if p in keyword_only}
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 10000))
    try:
        out = _run_lowered(func, positional, ctx, keywords)
    finally:
        sys.setrecursionlimit(old_limit)
    if isinstance(out, np.ndarray) and out.dtype != object:
        out = out.astype(object)
    return SymbolicProgram(func, symbols, out, ctx.conditions, point)


def count_ops(exprs) -> int:
    """SymPy's operation count of an expression, or summed over an array/list of them."""
    return int(sum(sympy.count_ops(e) for e in _flat(exprs)))


def count_ops_cse(exprs) -> int:
    """Operation count after common-subexpression elimination (shared pieces counted once)."""
    replacements, reduced = sympy.cse(_flat(exprs))
    return int(sum(sympy.count_ops(r) for _, r in replacements) + sum(sympy.count_ops(e) for e in reduced))


def _flat(exprs):
    if isinstance(exprs, tuple | list):
        return [e for x in exprs for e in _flat(x)]
    if isinstance(exprs, np.ndarray):
        return [sympy.sympify(e) for e in exprs.ravel()]
    return [sympy.sympify(exprs)]


_CODE_OPS = (ast.BinOp, ast.UnaryOp, ast.Call, ast.Compare, ast.BoolOp)


def code_ops(source: str) -> int:
    """Operations in Python source (binary/unary operators, calls, comparisons): s2s code's size."""
    return sum(isinstance(n, _CODE_OPS) for n in walk(ast.parse(source)))


@dataclass
class SymbolicDerivative:
    """A derivative found by SymPy, with its sizes next to s2s's generated code."""

    program: SymbolicProgram
    wrt: tuple  # parameter names
    gradient: tuple  # per wrt: Expr or object array of Exprs (as sympy.diff gives them)
    simplified: tuple  # the same after sympy.simplify (or the raw one when simplify=False)
    function: object  # lambdify'd: takes the same arguments as the user's function
    ops: int  # count_ops of the raw derivative
    ops_simplified: int
    ops_cse: int  # count_ops of the simplified derivative after cse
    s2s_ops: int | None  # operations in s2s's generated gradient code
    s2s_lines: int | None
    seconds: dict  # time of each step: expression, diff, simplify, lambdify

    @property
    def conditions(self):
        """Value-dependent decisions the expression relies on (empty when it holds everywhere)."""
        return self.program.conditions

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)

    def report(self) -> str:
        """A short text summary: sizes of the symbolic and generated derivatives, validity."""
        rows = [f"SymPy derivative of {self.program.func.__name__} w.r.t. {', '.join(self.wrt)}",
                f"  count_ops raw          {self.ops}",
                f"  count_ops simplified   {self.ops_simplified}",
                f"  count_ops after cse    {self.ops_cse}"]
        if self.s2s_ops is not None:
            rows.append(f"  s2s generated code     {self.s2s_ops} operations in {self.s2s_lines} lines")
        rows.append("  " + self.program.note())
        return "\n".join(rows)


def derivative(func, *args, wrt=0, simplify=True, compare=True, kwargs=None):
    """Differentiate `func` with SymPy: expression, `sympy.diff`, `simplify`, `lambdify`.

    `args` (and `kwargs`, by name: keyword-only parameters go here) is the point (needed for
    arrays and for value-dependent control flow); `wrt` as in `s2s.grad`. The result's `function`
    evaluates the derivative numerically with the same arguments as `func`, as a tuple when `wrt`
    is. With `compare`, the size of s2s's own generated gradient is measured too.
    """
    import inspect
    params, _ = _parameters(inspect.signature(func))
    single = not isinstance(wrt, tuple | list)
    wrt_items = (wrt,) if single else tuple(wrt)
    names = tuple(params[w] if isinstance(w, int) else w for w in wrt_items)
    for n in names:
        if n not in params:
            raise ValueError(f"wrt={n!r} names no parameter of {func.__name__}; its parameters are {params}")
    seconds = {}
    t0 = time.perf_counter()
    program = expression(func, *args, kwargs=kwargs)
    seconds["expression"] = time.perf_counter() - t0
    for n in names:
        if not _is_variable(program.symbols[params.index(n)]):
            raise TypeError(f"cannot differentiate {func.__name__} with respect to {n}: its value "
                            f"{program.symbols[params.index(n)]!r} is not a number")
    out = program.expression
    if isinstance(out, np.ndarray):
        if out.size != 1:
            raise TypeError(f"{func.__name__} returns an array of shape {out.shape}; differentiate a scalar "
                            "(reduce it with np.sum first)")
        out = out.item()
    out = sympy.sympify(out)
    t0 = time.perf_counter()
    grads = tuple(_diff(out, program.symbols[params.index(n)]) for n in names)
    seconds["diff"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    simplified = tuple(_map(sympy.simplify, g) for g in grads) if simplify else grads
    seconds["simplify"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    function = _lambdify(program.symbols, simplified, single, inspect.signature(func))
    seconds["lambdify"] = time.perf_counter() - t0
    s2s_ops = s2s_lines = None
    if compare:
        import s2s
        source = s2s.source(s2s.derivative(func, wrt=wrt))
        s2s_ops, s2s_lines = code_ops(source), len(source.strip().splitlines())
    return SymbolicDerivative(program, names, grads, simplified, function, count_ops(grads), count_ops(simplified),
                              count_ops_cse(simplified), s2s_ops, s2s_lines, seconds)


def _diff(out, symbols):
    if isinstance(symbols, sympy.Basic):
        return _piecewise_constant(sympy.diff(out, symbols))
    return _map(lambda s: _piecewise_constant(sympy.diff(out, s)), symbols)


def _piecewise_constant(expr):
    """floor, ceiling and sign have derivative 0 wherever they are differentiable (as s2s's rules say)."""
    # of floor(u) for an expression u, sympy's chain rule leaves Subs(Derivative(floor(_xi), _xi), _xi, u)
    expr = expr.replace(lambda e: isinstance(e, sympy.Subs) and isinstance(e.expr, sympy.Derivative)
                        and e.expr.expr.func in (sympy.floor, sympy.ceiling), lambda e: sympy.Integer(0))
    expr = expr.replace(lambda e: isinstance(e, sympy.Derivative) and e.expr.func in (sympy.floor, sympy.ceiling),
                        lambda e: sympy.Integer(0))
    return expr.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.Integer(0))


def _map(fn, value):
    if isinstance(value, np.ndarray):
        return np.vectorize(fn, otypes=[object])(value) if value.size else value
    return fn(value)


def _lambdify(symbols, grads, single, signature=None):
    variable = [_is_variable(group) for group in symbols]
    flat_symbols = [s for group, v in zip(symbols, variable) if v for s in _flat_symbols(group)]
    exprs = [list(np.asarray(g, dtype=object).ravel()) if isinstance(g, np.ndarray) else [g] for g in grads]
    modules = [{"StopGradient": lambda x: x}, "numpy"]
    compiled = sympy.lambdify(flat_symbols, [e for group in exprs for e in group], modules=modules, cse=True)
    shapes = [np.shape(g) if isinstance(g, np.ndarray) else None for g in grads]
    params = _parameters(signature)[0] if signature is not None else None

    def evaluate(*args, **kwargs):
        if params is not None and (kwargs or len(args) != len(symbols)):  # by name, or left to their defaults
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            args = tuple(bound.arguments[p] for p in params)
        args = [a for a, v in zip(args, variable) if v]
        flat_args = [float(v) for a in args for v in np.ravel(np.asarray(a, dtype=float))]
        values = compiled(*flat_args)
        results, at = [], 0
        for shape in shapes:
            if shape is None:
                results.append(float(values[at]))
                at += 1
            else:
                n = int(np.prod(shape))
                results.append(np.array(values[at:at + n], dtype=float).reshape(shape))
                at += n
        return results[0] if single else tuple(results)

    return evaluate
