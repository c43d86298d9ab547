"""Derivative rules: one declarative template per primitive.

A rule is written as the primitive's call signature plus, for each
differentiable parameter, a Python expression for its adjoint contribution
(reverse mode) and optionally its tangent contribution (forward mode)::

    defrule("np.sin(x)", x="g * np.cos(x)", x_dot="x_dot * np.cos(x)")

A module that states `family(..., tangent_from_adjoint=True)` (the elementwise ones) writes a tangent
only where it differs from the adjoint with `g` renamed `p_dot`; the rest is derived (`derived_tangent`).

Inside templates, `g` is the adjoint of the result, `ans` the result, each
parameter name is the argument actually passed, `p_dot` is the tangent of
parameter `p`, and `np`, `math`, `s2s` (the runtime) and `unbroadcast` are
available. The transforms parse each template once and instantiate it at
every call site, so rules show up in generated code as ordinary Python.

A parameter listed in `zero=(...)` has derivative zero (the result is piecewise
constant in it, or depends only on its shape): it gets no template, and the
transforms pass it by. `nondifferentiable(...)` declares a whole primitive so;
tests/test_rules_soundness.py checks with finite differences that every such
declaration is true.

The rule is the one record of everything s2s knows about a primitive: besides
the templates, the keywords of `defrule` state the facts the other passes read
(through `lookup`, which s2s.pipeline hands to them in its context)::

    defrule("np.sin(x)", elementwise=True, real=True, safe=True, sympy="sympy.sin(x)",
            x="g * np.cos(x)", x_dot="x_dot * np.cos(x)")

- `elementwise`: broadcasts its arguments against each other like `+` (reverse mode drops the
  `unbroadcast` of an adjoint where the shapes already agree). Each rules module states its
  default with `family(elementwise=...)`; a keyword overrides it for one rule.
- `real`: maps real floating-point arguments to real floating-point results (transforms/shapes.py:
  arithmetic on such values cannot fail on a dtype); a function of the call site where that depends
  on the arguments (`result_shapes.real_alone`: np.zeros(shape) is float64 without a dtype). Whether
  it may raise is `safe`'s to say.
- `safe`: cannot raise on real arguments of shapes that fit (transforms/specialize.py: dead-code
  elimination may drop such a statement when nothing reads its result). `safe_if_nonempty`: the
  same where the argument is not empty (np.max: an empty array has no maximum).
- `reduction`: its result has the shape of a reduction of its first argument over `axis`,
  `keepdims` honoured (transforms/shapes.py; its shape function is then `result_shapes.reduction()`).
- `result_shape`: the shape of its result, a function of the call site (`transforms.shapes.Site`) that
  returns it or None where it is not certain (transforms/shapes.py; the kinds in result_shapes.py).
  NumPy's elementwise ufuncs need none: their result broadcasts their `nin` arguments.
- `result_value`: the int or tuple of ints a call certainly evaluates to, a function of the call site
  (np.shape(x) of an array of known shape: transforms/shapes.py follows shapes through it).
- `returns_view`: True if the result may be a view of its first argument (transforms/aliasing.py
  refuses updates through it; transforms/ownership.py follows it); "sometimes" where that holds
  only for some arguments (np.diag of a 2-d array): ownership follows it, aliasing leaves it to
  the run-time guard ownership places.
- `mutates`: changes its first argument in place (np.copyto, list.sort): the hint of the error with
  which transforms/ownership.py refuses a call of it (stated with `facts`: such a function has no rule).
- `methods`: the ndarray methods that mean this function (`x.sum()` is `np.sum(x)`:
  transforms/desugar.py).
- `array_method`: the ndarray method NumPy's function itself calls for an ndarray (np.amax -> "max"),
  which then gives the same array bit for bit and takes the keywords of the function but `out`
  (transforms/reduction_methods.py calls it directly on real arrays, without NumPy's wrapper).
- `sympy`: its SymPy counterpart for s2s/symbolic.py, an expression over the parameters with
  `sympy` in scope (`"sympy.sin(x)"`); NumPy functions apply it element by element.
"""

from __future__ import annotations

import ast
import builtins
import math
import operator
import random
import sys
import types
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from s2s import patches, runtime
from s2s.rules import result_shapes
from s2s.transforms.walk import walk

_NAMESPACE = {"np": np, "numpy": np, "math": math, "operator": operator, "builtins": builtins, "s2s": runtime,
              "random": random}
_REDUCTION_SHAPE = result_shapes.reduction()


@dataclass
class Rule:
    """The derivative rule of one primitive."""

    name: str
    params: list[str]
    defaults: dict[str, object]
    vjp: dict[str, ast.expr] = field(default_factory=dict)
    jvp: dict[str, ast.expr] = field(default_factory=dict)
    varargs: str | None = None
    nondiff: bool = False
    elementwise: bool = False  # broadcasts its arguments against each other, shape-wise like `+`
    real: bool | Callable = False  # real floats in, real floats out; or a function of the call site (shapes.py)
    safe: bool = False  # cannot raise on real arguments of shapes that fit (transforms/specialize.py)
    safe_if_nonempty: bool = False  # cannot raise on a real argument that is not empty (np.max; specialize.py)
    reduction: bool = False  # shaped like a reduction of its first argument over `axis` (transforms/shapes.py)
    result_shape: Callable | None = None  # the call site -> the result's shape or None (transforms/shapes.py)
    result_value: Callable | None = None  # the call site -> the int / tuple of ints it gives, or None (shapes.py)
    returns_view: bool | str = False  # True / "sometimes": may return a view of an argument (aliasing, ownership)
    methods: tuple[str, ...] = ()  # ndarray methods that mean this function (transforms/desugar.py)
    array_method: str | None = None  # the ndarray method it calls on an ndarray (transforms/reduction_methods.py)
    mutates: str | None = None  # changes its first argument in place: the refusal's hint (transforms/ownership.py)
    sympy: str | None = None  # SymPy counterpart, an expression over the parameters (s2s/symbolic.py)
    structured: bool = False  # values may be lists/tuples: tangent terms are summed with s2s.add
    positional: int | None = None  # how many parameters take positional arguments (None: all of them)
    variant: object = None  # f(bound arguments) -> the Rule to use at that call site, or None for this one
    tangent_from_adjoint: bool = False  # a parameter's missing tangent is its adjoint with `g` renamed (`family`)
    derived: tuple[str, ...] = ()  # the parameters whose tangent was so derived
    linear: tuple[str, ...] = ()  # the parameters whose tangent is the (linear) helper itself, derived (`linear=`)
    default_only: tuple[str, ...] = ()  # parameters differentiated only at their default (a literal of it, or left out)
    choices: dict = field(default_factory=dict)  # parameter -> (test of the literals its templates take, hint)
    aliases: dict = field(default_factory=dict)  # keyword -> the parameter it also names (`aliases=`)
    shape_only: tuple[str, ...] = ()  # a runtime helper's parameters whose shapes alone it reads (`defrule_for`)

    def __post_init__(self):
        if self.reduction and self.result_shape is None:
            self.result_shape = _REDUCTION_SHAPE

    def bind(self, args: list, keywords: dict) -> dict:
        """Map a call's positional and keyword arguments onto parameter names."""
        bound = {}
        params = list(self.params)
        npos = len(params) if self.positional is None else self.positional
        for i, a in enumerate(args):
            if i < npos:
                bound[params[i]] = a
            elif self.varargs:
                bound.setdefault(self.varargs, []).append(a)
            else:
                raise TypeError(f"{self.name}() takes at most {npos} positional arguments")
        for k, v in keywords.items():
            k = self.aliases.get(k, k)  # (np.clip(a, min=0.0): NumPy 2.1's names of a_min and a_max)
            if k not in params:
                raise TypeError(f"{self.name}() has no parameter {k!r} that s2s knows")
            if k in bound:
                raise TypeError(f"{self.name}() got two values for {k!r}")
            bound[k] = v
        for k in self.default_only:
            if k in bound and not _is_literal(bound[k], self.defaults.get(k)):
                raise TypeError(f"{self.name}() is differentiated only with {k}={self.defaults.get(k)!r}, its "
                                f"default (the rule does not follow what another {k} computes); where that {k} is "
                                "what you need, give the call a rule of your own with s2s.defvjp")
        for k, (allowed, hint) in self.choices.items():
            if isinstance(bound.get(k), ast.Constant) and not allowed(bound[k].value):
                refused = TypeError(f"{self.name}() is differentiated with {k} {allowed.__doc__}, not "
                                    f"{bound[k].value!r}")
                refused.hint = hint  # (the transforms give it as the error's hint)
                raise refused
        return bound

    def zero_guard(self, p: str) -> bool:
        """Whether `p`'s adjoint template needs a guard for the zero adjoint: `g` may be `ZERO`, a Python
        0.0 standing for zeros of any shape (a list item nothing read, a value read in only some trips of
        a loop), and a template that hands `g` to a function or a matrix product (`np.reshape(g, ...)`,
        `g @ b`) would fail on it or give the wrong shape. Arithmetic of `g` (`g * np.cos(x)`, `-g / x`)
        and helpers marked `@zero_safe` are right for it as they are.

            >>> lookup(np.reshape).zero_guard("a"), lookup(np.sin).zero_guard("x")
            (True, False)
        """
        template = self.vjp.get(p)
        return template is not None and _passes_g_on(template, "g")

    def tangent_zero_guard(self, p: str) -> bool:
        """`zero_guard` for forward mode: whether `p`'s tangent template hands the tangent `p_dot`, which may
        be the zero tangent 0.0 at run time (an item of a list that holds constants too), to a function."""
        template = self.jvp.get(p)
        return template is not None and _passes_g_on(template, p + "_dot")

    def at_site(self, bound: dict) -> Rule:
        """The rule for one call site with these bound arguments (`ast` nodes): a variant where
        the arguments allow a simpler exact template (`x ** 2`), else this rule."""
        if self.variant is None:
            return self
        return self.variant(bound) or self


def _is_literal(node, value) -> bool:
    """Whether the `ast` node is the literal `value` (a constant of the same type and value)."""
    return isinstance(node, ast.Constant) and type(node.value) is type(value) and node.value == value


def _passes_g_on(template: ast.expr, g: str) -> bool:
    """True when the name `g` reaches anything but arithmetic (+ - * /, unary signs, the branches of
    `a if c else b`) or the first argument of a runtime helper marked `@zero_safe`."""
    def safe(node) -> bool:
        if isinstance(node, ast.Name):
            return True
        if node_has_no_g(node):
            return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            return safe(node.left) and safe(node.right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            return safe(node.operand)
        if isinstance(node, ast.IfExp):
            return node_has_no_g(node.test) and safe(node.body) and safe(node.orelse)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "s2s":
            helper = getattr(_NAMESPACE["s2s"], node.func.attr, None)
            return getattr(helper, "__s2s_zero_safe__", False) and bool(node.args) and safe(node.args[0]) \
                and all(node_has_no_g(a) for a in node.args[1:]) and all(node_has_no_g(k.value) for k in node.keywords)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "unbroadcast":
            return bool(node.args) and safe(node.args[0]) and all(node_has_no_g(a) for a in node.args[1:])
        return False

    def node_has_no_g(node) -> bool:
        return not any(isinstance(n, ast.Name) and n.id == g for n in walk(node))

    return not safe(template)


_RULES: dict[object, Rule] = {}

# Bumped by every registration: a cached derivative records the version it was made under and is
# made again when it differs (s2s/pipeline.py), so a rule registered later is never missed.
version = 0
_KEYED: dict[int, object] = {}  # objects whose id keys a rule, kept alive so that no other object gets that id
_FAMILY: dict[str, dict] = {}  # module name -> the defaults that module states with `family(...)`


def family(*, elementwise: bool, tangent_from_adjoint: bool = False, result_shape=None, real=False) -> None:
    """State the defaults of the rules the calling module registers (each rules module says it once,
    at its top): `family(elementwise=True)` for modules of elementwise functions. A keyword of
    `defrule` overrides it for one rule.

    `tangent_from_adjoint=True` says the module's adjoints are linear in `g` elementwise (`g * f(x)`,
    `-g / x`): a parameter `p` with an adjoint and no `p_dot` template gets the adjoint with `g`
    renamed `p_dot` as its tangent (see `derived_tangent`), so a module writes a tangent only where
    it differs. Off by default: elsewhere a rule with an adjoint and no tangent has none. `result_shape`: the
    shape function of every rule of the module that states none (`math`'s functions all give a number); `real`:
    the `real` fact of every differentiable rule of the module that states none (`math`'s give Python floats)."""
    _FAMILY[sys._getframe(1).f_globals.get("__name__", "")] = {"elementwise": elementwise,
                                                               "tangent_from_adjoint": tangent_from_adjoint,
                                                               "result_shape": result_shape, "real": real}


def _family_default(depth: int, key: str):
    """The default the module `depth` frames up stated with `family(...)` (False if it stated none)."""
    return _FAMILY.get(sys._getframe(depth + 1).f_globals.get("__name__", ""), {}).get(key, False)


def _registered(key, rule: Rule, obj=None) -> Rule:
    global version
    _RULES[key] = rule
    if not isinstance(key, str):
        _KEYED[key] = obj
    version += 1
    return rule


def restore(func, rule: Rule | None) -> None:
    """Make `rule` the rule of `func` again (None: no rule), as it was before a user's rule replaced it."""
    global version
    key = _key(func)
    if rule is not None:
        _registered(key, rule, func)
        return
    _RULES.pop(key, None)
    _KEYED.pop(key, None)
    version += 1


def _key(obj):
    if isinstance(obj, types.MethodType):  # made anew at each access (`scipy.stats.norm.logpdf`): its object and function
        return (id(obj.__self__), id(obj.__func__))
    if isinstance(obj, types.BuiltinMethodType) and isinstance(getattr(obj, "__self__", None), np.ufunc):
        return (id(obj.__self__), obj.__name__)  # (`np.add.reduce`, made anew at each access too)
    return obj if isinstance(obj, str) else id(obj)


def _parse_signature(signature: str):
    """(function name, parameters, defaults, *-parameter, how many parameters are positional).

    Keyword parameters after a *-parameter are keyword-only, as in Python."""
    call = ast.parse(signature, mode="eval").body
    assert isinstance(call, ast.Call), signature
    params, defaults, varargs = [], {}, None
    for a in call.args:
        if isinstance(a, ast.Starred):
            varargs = a.value.id
        else:
            params.append(a.id)
    positional = len(params) if varargs else None
    for kw in call.keywords:
        params.append(kw.arg)
        defaults[kw.arg] = ast.literal_eval(kw.value)
    return ast.unparse(call.func), params, defaults, varargs, positional


def derived_tangent(param: str, adjoint: str) -> str:
    """The tangent template of `param` derived from its adjoint template: every Name `g` renamed
    `param_dot` ("g * np.cos(x)" -> "x_dot * np.cos(x)"). Right where the adjoint is linear in `g`
    elementwise: the tangent of the result is then the same map applied to the parameter's tangent."""
    spots = sorted(((n.lineno, n.col_offset, n.end_col_offset) for n in walk(ast.parse(adjoint, mode="eval"))
                    if isinstance(n, ast.Name) and n.id == "g"), reverse=True)
    lines = adjoint.splitlines(keepends=True)
    for line, start, end in spots:  # from the right, so that earlier offsets stay valid (templates are ASCII)
        text = lines[line - 1]
        lines[line - 1] = text[:start] + param + "_dot" + text[end:]
    return "".join(lines)


def _fill(rule: Rule, templates: dict, zero=(), tangent_from_adjoint=False) -> Rule:
    rule.tangent_from_adjoint = tangent_from_adjoint
    for key, text in templates.items():
        if key.endswith("_dot"):
            rule.jvp[key[:-4]] = _template(text)
        else:
            rule.vjp[key] = _template(text)
            if tangent_from_adjoint and key + "_dot" not in templates:
                rule.jvp[key] = _template(derived_tangent(key, text))
                rule.derived += (key,)
    for p in zero:  # no adjoint, and None for the tangent: "carries no derivative"
        assert p in rule.params or p == rule.varargs, (rule.name, p)
        rule.vjp.pop(p, None)
        rule.jvp[p] = None
    return rule


def _template(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def defrule(signature: str, *, nondiff: bool = False, operator: bool = False, zero=(), structured=False,
            register=True, elementwise=None, real=False, safe=False, safe_if_nonempty=False, reduction=False,
            returns_view=False, methods=(), array_method=None, sympy=None, result_shape=None, result_value=None,
            tangent_from_adjoint=None, default_only=(), choices=None, aliases=None, _depth=1,
            **templates: str) -> Rule:
    """Register a rule. `signature` like "np.sum(a, axis=None, keepdims=False)".

    Operators use their name as the function: "add(x, y)", "neg(x)".
    Keyword arguments `p="..."` give adjoints, `p_dot="..."` tangents; `zero` names parameters
    whose derivative is zero. With `register=False` the rule is only returned (a call-site variant,
    see `Rule.at_site`). `elementwise`, `real`, `safe`, `safe_if_nonempty`, `reduction`, `returns_view`,
    `methods`, `array_method`, `sympy`, `result_shape` and `result_value` are the facts the other passes read (see the
    module's docstring); `elementwise` defaults to what the calling module stated with `family(...)`. `tangent_from_adjoint` (default: the
    family's) derives a missing `p_dot` from `p`'s adjoint (see `family`). `default_only` names
    parameters the templates hold only at their default: a call passing anything but that literal
    (`overwrite_b=True`, a variable) is refused where it is differentiated. `choices` maps a parameter to a test of
    the literal values its templates take (a function whose docstring names them) and the hint for another
    (`choices={"metric": (known_metric, "compute ...")}`): a call passing another literal is refused where it is
    differentiated, with that hint (a variable is left to the templates' helpers to check when they run).
    `aliases` maps a keyword to the parameter it also names (`aliases={"min": "a_min"}`: np.clip takes either).
    """
    fname, params, defaults, varargs, positional = _parse_signature(signature)
    obj = "op:" + fname if operator else eval(fname, _NAMESPACE)
    if elementwise is None:
        elementwise = _family_default(_depth, "elementwise")
    if tangent_from_adjoint is None:
        tangent_from_adjoint = _family_default(_depth, "tangent_from_adjoint")
    if result_shape is None:
        result_shape = _family_default(_depth, "result_shape") or None
    if real is False and not nondiff:  # (math.floor, a non-differentiable one, gives an int)
        real = _family_default(_depth, "real")
    rule = Rule(fname, params, defaults, varargs=varargs, nondiff=nondiff, structured=structured,
                positional=positional, elementwise=elementwise, real=real, safe=safe,
                safe_if_nonempty=safe_if_nonempty, reduction=reduction, returns_view=returns_view,
                methods=tuple(methods), array_method=array_method, sympy=sympy, result_shape=result_shape,
                result_value=result_value, default_only=tuple(default_only), choices=dict(choices or {}),
                aliases=dict(aliases or {}))
    assert all(p in params for p in default_only) and all(p in params for p in rule.choices), signature
    _fill(rule, templates, zero, tangent_from_adjoint)
    return _registered(_key(obj), rule, obj) if register else rule


def _literal_number(node):
    """The value of a number literal (`2`, `-0.5`) as an `ast` node, else None."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return sign * node.value
    return None


def power_rules(signature: str, base: str, exponent: str, /, *, operator=False, scalar=False, sympy=None,
                tangent_from_adjoint=None, **y_templates: str) -> Rule:
    """The rule of a power `x ** y` (operator, np.power, pow, math.pow), with `y`'s templates given.

    The base's slope y * x ** (y - 1) is 0 where y == 0 (x ** 0 is 1 everywhere, also at x == 0,
    where the plain formula gives 0 * inf = nan) and inf at x == 0 for 0 < y < 1 (where Python
    floats would raise ZeroDivisionError): s2s.power_slope computes both. A literal exponent picks
    its template at the call site: 0 has no base derivative at all, and y >= 1 or y < 0 keeps the
    plain formula, exact there (negative powers of 0 fail in the user's own line first). The slope's own
    derivatives go through s2s.power_term (c * x ** y, 0 where c == 0: runtime_rules.py), 0 at x == 0
    where y is 0 or 1.
    `tangent_from_adjoint` (default: the family's) derives `y`'s tangent where none is given, and
    the base's where its adjoint is `g * slope` (`scalar`).
    """
    x, y = base, exponent
    elementwise = _family_default(1, "elementwise")
    result_shape = _family_default(1, "result_shape") or None
    real = _family_default(1, "real")
    if tangent_from_adjoint is None:
        tangent_from_adjoint = _family_default(1, "tangent_from_adjoint")

    def adjoint(slope):
        return f"g * {slope}" if scalar else f"unbroadcast(g * {slope}, {x})"

    def make(register, zero=(), slope=None):
        templates = dict(y_templates)
        if slope is not None:
            templates[x] = adjoint(slope)
            if not (scalar and tangent_from_adjoint):  # else derived: the adjoint with g renamed
                templates[x + "_dot"] = f"{x}_dot * {slope}"
        return defrule(signature, operator=operator, register=register, elementwise=elementwise, zero=zero,
                       sympy=sympy, tangent_from_adjoint=tangent_from_adjoint, result_shape=result_shape, real=real,
                       **templates)

    simple = make(False, slope=f"{y} * {x} ** ({y} - 1)")
    constant = make(False, zero=(x,))

    def variant(bound):
        value = _literal_number(bound.get(y))
        if value is None:
            return None
        if value == 0:
            return constant
        return simple if value >= 1 or value < 0 else None

    general = make(True, slope=f"s2s.power_slope({x}, {y})")
    general.variant = variant
    return general


def nondifferentiable(*signatures: str, operator: bool = False, **facts) -> None:
    """Declare primitives whose derivative is zero (or that return integers/booleans).

    Only for functions verified to be so: tests/test_rules_soundness.py checks each one with
    finite differences, and a declaration missing from its table fails that test. `facts` (the
    keywords of `defrule` other than templates) apply to each of them."""
    for sig in signatures:
        defrule(sig, nondiff=True, operator=operator, _depth=2, **facts)


def nondiff_rules() -> dict:
    """Every primitive declared non-differentiable, by name ("np.floor", "op:floordiv", "stop_gradient")."""
    return {(k if isinstance(k, str) else r.name): r for k, r in _RULES.items() if r.nondiff}


def lookup(obj) -> Rule | None:
    """The rule for a function object or operator name ("op:add"), or None."""
    return _RULES.get(_key(obj))


_FACTS: dict[object, Rule] = {}  # functions without a derivative rule -> what the passes know of them (`facts`)


def facts(*signatures: str, **stated) -> None:
    """State facts about functions s2s has no derivative rule for: a record without templates, read by
    the passes through `record` (never by `lookup`, so a call of one on a differentiated value is still
    refused with NoDerivativeRuleError). `stated` takes the fact keywords of `defrule`::

        facts("np.asanyarray(a)", returns_view="sometimes")  # may return its argument itself
    """
    for signature in signatures:
        fname, params, defaults, varargs, positional = _parse_signature(signature)
        obj = eval(fname, _NAMESPACE)
        _FACTS[_key(obj)] = Rule(fname, params, defaults, varargs=varargs, positional=positional, **stated)
        _KEYED[_key(obj)] = obj


def record(obj) -> Rule | None:
    """Everything s2s knows about `obj`: its rule, else the record `facts` declared, else None."""
    key = _key(obj)
    rule = _RULES.get(key)
    return rule if rule is not None else _FACTS.get(key)


def method(name: str):
    """The function whose rule lists the ndarray method `name` (`"sum"` -> np.sum), or None."""
    for key, rule in _RULES.items():
        if name in rule.methods and not isinstance(key, str):
            return _KEYED[key]
    return None


def register(func, vjp=None, jvp=None, *, params=None) -> None:
    """Register a user rule for `func` (see `s2s.defvjp`)."""
    _registered(_key(func), Rule(getattr(func, "__name__", str(func)), list(params or []), {},
                                 vjp=dict(vjp or {}), jvp=dict(jvp or {})), func)




def linear_tangent(func, params: list[str], linear: tuple[str, ...], param: str) -> str:
    """The tangent template of `param` for a runtime helper linear in the parameters `linear` (jointly):
    the helper itself, called with `param_dot` for `param` and 0.0 for the other linear parameters.

        >>> linear_tangent(runtime.unbroadcast, ["g", "x"], ("g",), "g")
        's2s.unbroadcast(g_dot, x)'
    """
    module = func.__module__
    assert module == runtime.__name__ or module.startswith(runtime.__name__ + "."), (func, "not a runtime helper")
    path = func.__name__ if getattr(runtime, func.__name__, None) is func else \
        f"{module[len(runtime.__name__) + 1:]}.{func.__name__}"
    args = [f"{q}_dot" if q == param else "0.0" if q in linear else q for q in params]
    return f"s2s.{path}({', '.join(args)})"


def defrule_for(func, signature: str, *, shape_only=(), structured=False, nondiff=False,
                tangent_from_adjoint=False, linear=(), result_shape=None, real=False, **templates: str) -> Rule:
    """Register a rule keyed by the object `func` itself (for user primitives and runtime helpers).

    `shape_only` names parameters whose values do not change the result (only their shapes do):
    they need no tangent. `tangent_from_adjoint` derives a missing `p_dot` from `p`'s adjoint (see
    `family`). `linear` names the parameters a runtime helper is linear in (an adjoint helper in its
    adjoint `g`): a missing `p_dot` of one is the helper applied to the tangent (`linear_tangent`),
    so only a tangent that differs is written. `result_shape` and `real` are the facts of `defrule`::

        defrule_for(rt.grad_take, "grad_take(g, a, indices, axis)", shape_only=("a",), linear=("g",))
        # g's tangent: s2s.grad_take(g_dot, a, indices, axis)
    """
    _, params, defaults, varargs, positional = _parse_signature(signature)
    rule = Rule(getattr(func, "__name__", str(func)), params, defaults, varargs=varargs, nondiff=nondiff,
                structured=structured, positional=positional, result_shape=result_shape, real=real)
    assert not (linear and varargs), (signature, "linear= takes a signature without *args")
    for p in linear:
        assert p in params, (signature, p)
        if p + "_dot" not in templates:
            templates[p + "_dot"] = linear_tangent(func, params, tuple(linear), p)
            rule.linear += (p,)
    _fill(rule, templates, tangent_from_adjoint=tangent_from_adjoint)
    for p in shape_only:
        rule.jvp[p] = None
    rule.shape_only = tuple(shape_only)
    return _registered(_key(func), rule, func)


# importing the families fills the table
from s2s.rules import (  # noqa: E402,F401
    builtin_rules,
    linalg,
    math_rules,
    matrix_functions,
    numpy_elementwise,
    operators,
    reductions,
    runtime_rules,
    shape,
    signal,
    structures,
    ufunc_outer,
)

try:  # SciPy is optional (the `scipy` extra): its rules are there when it can be imported
    import scipy
except ImportError:  # pragma: no cover - the dev extra installs SciPy
    pass
else:
    _NAMESPACE["scipy"] = scipy
    from s2s.rules import scipy_linalg, scipy_matrix, scipy_signal, scipy_spatial, scipy_special, scipy_stats  # noqa: E402,F401,I001


def _stale() -> None:
    """Every cached derivative is made again before its next use (a name s2s's code calls was reassigned)."""
    global version
    version += 1


# np.cos = np.sin: the formulas above read NumPy and math by name, see s2s/patches.py
patches.listen(_stale)
