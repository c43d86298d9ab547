"""Derivative rules: one declarative template per primitive.

A rule is written as the primitive's call signature plus, for each
differentiable parameter, a Python expression for its adjoint contribution
(reverse mode) and optionally its tangent contribution (forward mode)::

    defrule("np.sin(x)", x="g * np.cos(x)", x_dot="x_dot * np.cos(x)")

Inside templates, `g` is the adjoint of the result, `ans` the result, each
parameter name is the argument actually passed, `p_dot` is the tangent of
parameter `p`, and `np`, `math`, `s2s` (the runtime) and `unbroadcast` are
available. The transforms parse each template once and instantiate it at
every call site, so rules show up in generated code as ordinary Python.
"""

from __future__ import annotations

import ast
import builtins
import math
import sys
from dataclasses import dataclass, field

import numpy as np

from s2s import runtime

_NAMESPACE = {"np": np, "numpy": np, "math": math, "builtins": builtins, "s2s": runtime}


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
    structured: bool = False  # values may be lists/tuples: tangent terms are summed with s2s.add

    def bind(self, args: list, keywords: dict) -> dict:
        """Map a call's positional and keyword arguments onto parameter names."""
        bound = {}
        params = list(self.params)
        for i, a in enumerate(args):
            if i < len(params):
                bound[params[i]] = a
            elif self.varargs:
                bound.setdefault(self.varargs, []).append(a)
            else:
                raise TypeError(f"{self.name}() takes at most {len(params)} positional arguments")
        for k, v in keywords.items():
            if k not in params:
                raise TypeError(f"{self.name}() has no parameter {k!r} that s2s knows")
            bound[k] = v
        return bound


_RULES: dict[object, Rule] = {}

# Bumped by every registration: a cached derivative records the version it was made under and is
# made again when it differs (s2s/pipeline.py), so a rule registered later is never missed.
version = 0
_KEYED: dict[int, object] = {}  # objects whose id keys a rule, kept alive so that no other object gets that id


def _registered(key, rule: Rule, obj=None) -> Rule:
    global version
    _RULES[key] = rule
    if not isinstance(key, str):
        _KEYED[key] = obj
    version += 1
    return rule


def _key(obj):
    return obj if isinstance(obj, str) else id(obj)


def _parse_signature(signature: str):
    call = ast.parse(signature, mode="eval").body
    assert isinstance(call, ast.Call), signature
    params, defaults, varargs = [], {}, None
    for a in call.args:
        if isinstance(a, ast.Starred):
            varargs = a.value.id
        else:
            params.append(a.id)
    for kw in call.keywords:
        params.append(kw.arg)
        defaults[kw.arg] = ast.literal_eval(kw.value)
    return ast.unparse(call.func), params, defaults, varargs


def _template(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def defrule(signature: str, *, nondiff: bool = False, operator: bool = False, **templates: str) -> Rule:
    """Register a rule. `signature` like "np.sum(a, axis=None, keepdims=False)".

    Operators use their name as the function: "add(x, y)", "neg(x)".
    Keyword arguments `p="..."` give adjoints, `p_dot="..."` tangents.
    """
    fname, params, defaults, varargs = _parse_signature(signature)
    obj = "op:" + fname if operator else eval(fname, _NAMESPACE)
    rule = Rule(fname, params, defaults, varargs=varargs, nondiff=nondiff)
    family = sys._getframe(1).f_globals.get("__name__", "")
    rule.elementwise = family.endswith(("operators", "numpy_elementwise", "math_rules")) and fname != "matmul"
    for key, text in templates.items():
        if key.endswith("_dot"):
            rule.jvp[key[:-4]] = _template(text)
        else:
            rule.vjp[key] = _template(text)
    return _registered(_key(obj), rule, obj)


def nondifferentiable(*signatures: str, operator: bool = False) -> None:
    """Declare primitives whose derivative is zero (or that return integers/booleans)."""
    for sig in signatures:
        defrule(sig, nondiff=True, operator=operator)


def lookup(obj) -> Rule | None:
    """The rule for a function object or operator name ("op:add"), or None."""
    return _RULES.get(_key(obj))


def register(func, vjp=None, jvp=None, *, params=None) -> None:
    """Register a user rule for `func` (see `s2s.defvjp`)."""
    _registered(_key(func), Rule(getattr(func, "__name__", str(func)), list(params or []), {},
                                 vjp=dict(vjp or {}), jvp=dict(jvp or {})), func)




def defrule_for(func, signature: str, *, shape_only=(), structured=False, nondiff=False, **templates: str) -> Rule:
    """Register a rule keyed by the object `func` itself (for user primitives and runtime helpers).

    `shape_only` names parameters whose values do not change the result (only their shapes do):
    they need no tangent.
    """
    _, params, defaults, varargs = _parse_signature(signature)
    rule = Rule(getattr(func, "__name__", str(func)), params, defaults, varargs=varargs, nondiff=nondiff,
                structured=structured)
    for key, text in templates.items():
        if key.endswith("_dot"):
            rule.jvp[key[:-4]] = _template(text)
        else:
            rule.vjp[key] = _template(text)
    for p in shape_only:
        rule.jvp[p] = None
    return _registered(_key(func), rule, func)


# importing the families fills the table
from s2s.rules import (  # noqa: E402,F401
    builtin_rules,
    linalg,
    math_rules,
    numpy_elementwise,
    operators,
    reductions,
    runtime_rules,
    shape,
)
