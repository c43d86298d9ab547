"""Instantiate a derivative rule's template at one call site."""

from __future__ import annotations

import ast
import copy

from .names import called_name, load

_AST = ast.AST


def instantiate(template: ast.expr, mapping: dict, helpers: dict) -> ast.expr:
    """Copy `template`, replacing parameter names by `mapping` and helper modules by their
    names in the generated code (`np` may have become `np_` where the user has an `np` of their own).

        >>> ast.unparse(instantiate(ast.parse("np.cos(x) * g", mode="eval").body, {"x": load("a")}, {"np": "np_"}))
        'np_.cos(a) * g'
    """

    def copied(node):  # one pass: copy and substitute (a copy of what `mapping` gives is not looked into)
        cls = node.__class__
        if cls is ast.Name:
            if node.id in mapping:
                return copy.deepcopy(mapping[node.id])
            if node.id in helpers:
                return ast.copy_location(load(helpers[node.id]), node)
        new = cls.__new__(cls)
        fields = new.__dict__
        for key, value in node.__dict__.items():
            if value.__class__ is list:
                value = [copied(item) if isinstance(item, _AST) else item for item in value]
            elif isinstance(value, _AST):
                value = copied(value)
            fields[key] = value
        return new

    return copied(template)


# functions with a pole or a branch point, by name (NumPy's, math's, s2s's runtime helpers): at finite arguments
# their value, or that of their derivative, may be infinite
_POLES = {"log", "log2", "log10", "log1p", "sqrt", "cbrt", "reciprocal", "power", "float_power", "arcsin", "arccos",
          "arctanh", "arccosh", "asin", "acos", "atanh", "acosh", "tan", "divide", "true_divide", "floor_divide", "mod",
          "remainder", "fmod", "arctan2", "atan2", "hypot", "inv", "pinv", "solve", "det", "slogdet", "norm",
          "grad_norm", "balanced_eq", "grad_extreme", "power_slope", "power_term", "fdiv", "safe_div",
          # SciPy's special functions with poles, branch points or infinite slopes at finite arguments (helper 131)
          "gamma", "gammaln", "loggamma", "rgamma", "digamma", "psi", "polygamma", "multigammaln", "beta", "betaln",
          "betainc", "betaincinv", "gammainc", "gammaincc", "gammaincinv", "erfinv", "erfcinv", "ndtri", "ndtri_exp",
          "log_ndtr", "erfcx", "logit", "xlogy", "xlog1py", "entr", "rel_entr", "kl_div", "boxcox", "y0", "y1", "yn",
          "yv", "yve", "iv", "ive", "jv", "jve", "kv", "kve", "kn", "k0", "k1", "k0e", "k1e", "zeta", "expn", "exp1",
          "expi", "lambertw", "ellipk", "ellipkm1", "ellipe", "spence"}


def has_a_pole(function_name: str) -> bool:
    """Whether the function a rule is named for (`scipy.special.erfinv`, `np.log`) has a pole, a branch point or an
    infinite slope at a finite argument, where its adjoint may be infinite though its template reads only the
    result (`g * 0.886 * np.exp(ans * ans)` of erfinv, infinite at 1).

        >>> has_a_pole("scipy.special.erfinv"), has_a_pole("np.tanh")
        (True, False)
    """
    return function_name.rsplit(".", 1)[-1] in _POLES


def may_be_infinite(expression: ast.expr) -> bool:
    """Whether an instantiated adjoint may be infinite or NaN at finite arguments, so that the zero adjoint 0.0 times
    it is NaN: a division by anything but a number literal, a power other than a natural literal, a call of a
    function with a pole or a branch point (np.log, np.sqrt, np.arcsin, ...).

        >>> may_be_infinite(ast.parse("g * 0.5 / v", mode="eval").body), may_be_infinite(ast.parse("g * 3 * x ** 2", mode="eval").body)
        (True, False)
    """
    for node in ast.walk(expression):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod) \
                and not isinstance(node.right, ast.Constant):
            return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and not _natural(node.right):
            return True
        if isinstance(node, ast.Call) and called_name(node) in _POLES:
            return True
    return False


def _natural(node: ast.expr) -> bool:
    """Whether `node` is arithmetic of int literals (`3 - 1`, a power rule's exponent) worth an int >= 0."""
    if not all(isinstance(n, ast.Constant | ast.BinOp | ast.UnaryOp | ast.Add | ast.Sub | ast.USub | ast.UAdd)
               for n in ast.walk(node)):
        return False  # (no power of powers: `10 ** 10 ** 10` would take long to find)
    if not all(type(n.value) is int for n in ast.walk(node) if isinstance(n, ast.Constant)):
        return False
    try:
        value = eval(compile(ast.Expression(body=node), "<exponent>", "eval"), {"__builtins__": {}})  # noqa: S307
    except (ArithmeticError, ValueError):
        return False
    return type(value) is int and value >= 0
