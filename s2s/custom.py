"""Derivative rules written as Python functions: JAX's `custom_vjp` / `custom_jvp` decorators and
autograd's `defvjp(f, lambda ans, x: lambda g: ...)` / `defjvp` forms.

A rule is registered for the function object (s2s/rules, `rules.lookup`), as a string-template rule
is; its templates call the run-time helpers of `s2s.runtime.custom` by the rule's name, so the
generated code stays readable and the user's functions run as they are::

    x_bar = s2s.custom.vjp('mymodule.clip_gradient', 0, g, ans, x)

The makers, fwd, bwd and jvp functions are ordinary Python functions: their names resolve in the
module where they were written. Free names of *string* templates are resolved there too
(`localise`).

s2s runs such a rule; it does not differentiate it again: a Hessian, hvp or grad of grad through a
Python-function rule is refused (string templates are differentiated again and do have them).
"""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from s2s import rules
from s2s.runtime import custom as rt
from s2s.transforms.walk import fix_locations, walk

_NOT_PASSED = "<s2s: not passed>"  # the default a Python-function rule gives an optional parameter
_TEMPLATE_NAMES = {"g", "ans", "np", "numpy", "math", "s2s", "unbroadcast", "builtins"}


class PythonRule:
    """What the run-time helpers need about one function's Python-function rule."""

    def __init__(self, function, label):
        self.function = function
        self.key = label
        self.label = label
        self.vjp_makers: dict[int, Callable] = {}
        self.jvp_makers: dict[int, Callable] = {}
        self.fwd = self.bwd = self.jvp = None
        self.nondiff_argnums: tuple[int, ...] = ()
        self.params = _parameters(function)
        self.previous = None  # the rule the function had before this one (its own, for a NumPy function)

    def arguments(self, values, maker=None, lead=1) -> tuple[list, dict]:
        """(positional, keywords) to call the user's makers with: what the call passed, in order; a
        parameter it left out is passed as its default. Where `maker` (called with `lead` values first:
        `ans`, or the tangent and `ans`) takes no such parameter (autograd's `lambda ans, x: ...` for
        `np.tanh`, whose signature goes on with `out=None, *, where=True, ...`), the ones left out are left
        out of its call too, as autograd calls it with what the call passed."""
        full, given = ([], {}), ([], {})
        for (name, kind, default), v in zip(self.params, values):
            passed = not (isinstance(v, str) and v == _NOT_PASSED)
            for (positional, keywords), value in ((full, v if passed else default), (given, v)):
                if kind == inspect.Parameter.KEYWORD_ONLY:
                    keywords[name] = value
                else:
                    positional.append(value)
        if maker is None or _fits(maker, lead + len(full[0]), tuple(full[1])):
            return full
        positional, keywords = given
        while positional and isinstance(positional[-1], str) and positional[-1] == _NOT_PASSED:
            positional.pop()  # (the trailing ones left out; one before a passed value keeps its default)
        positional = [self.params[i][2] if isinstance(v, str) and v == _NOT_PASSED else v
                      for i, v in enumerate(positional)]
        return positional, {k: v for k, v in keywords.items() if not (isinstance(v, str) and v == _NOT_PASSED)}


def _fits(maker, n_positional, keywords) -> bool:
    """Whether `maker` takes `n_positional` values by position and the `keywords` by name (where its
    signature is unknown: yes, the call says)."""
    try:
        return _fits_cached(maker, n_positional, keywords)
    except TypeError:  # (an unhashable maker)
        return _fits_cached.__wrapped__(maker, n_positional, keywords)


@functools.lru_cache(maxsize=512)  # (per call site's pattern: binding a signature costs microseconds)
def _fits_cached(maker, n_positional, keywords) -> bool:
    try:
        inspect.signature(maker).bind(*([None] * n_positional), **dict.fromkeys(keywords))
    except ValueError:
        return True
    except TypeError:
        return False
    return True


def _parameters(function):
    try:
        sig = inspect.signature(function)
    except (TypeError, ValueError):
        raise TypeError(f"s2s cannot read the parameters of {function!r}: a Python-function rule needs them "
                        "(inspect.signature)") from None
    out = []
    for p in sig.parameters.values():
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise TypeError(f"s2s takes no Python-function rule for {function.__qualname__}, which has *{p.name} "
                            "or **" + p.name + ": give the rule to a function with named parameters")
        if p.name in _TEMPLATE_NAMES:
            raise TypeError(f"{function.__qualname__} has a parameter named {p.name!r}, which s2s's rule templates "
                            "use for themselves; rename it to register a rule")
        out.append((p.name, p.kind, p.default))
    return out


def _label(function) -> str:
    """A readable name, unique among the registered Python-function rules, for the generated code."""
    base = f"{getattr(function, '__module__', None) or 'rule'}.{getattr(function, '__qualname__', 'f')}"
    label, n = base, 1
    while label in rt.RULES and rt.RULES[label].function is not function:
        n += 1
        label = f"{base}#{n}"
    return label


def _entry(function) -> PythonRule:
    for entry in rt.RULES.values():
        if entry.function is function:
            return entry
    entry = PythonRule(function, _label(function))
    entry.previous = rules.lookup(function)  # (s2s's own rule for a NumPy function: back when the makers go)
    rt.RULES[entry.key] = entry
    return entry


def _register_or_restore(entry) -> rules.Rule | None:
    """The autograd-form rule of `entry`; where it has no maker left (`defvjp(f, None)`), the rule `f` had
    before its first maker instead (s2s's own for `np.tanh`), or none (s2s then reads `f`'s source again)."""
    if entry.vjp_makers or entry.jvp_makers or entry.fwd is not None or entry.bwd is not None \
            or entry.jvp is not None:
        return _register_autograd_form(entry)
    del rt.RULES[entry.key]
    rules.restore(entry.function, entry.previous)
    return entry.previous


# ---------------------------------------------------------------- autograd's forms


def _signature_text(entry) -> str:
    parts, defaulted = [], False
    for name, _, default in entry.params:
        defaulted = defaulted or default is not inspect.Parameter.empty
        parts.append(f"{name}={_NOT_PASSED!r}" if defaulted else name)
    return f"{getattr(entry.function, '__name__', 'f')}({', '.join(parts)})"


def _register_autograd_form(entry) -> rules.Rule:
    key = repr(entry.key)
    names = ", ".join(name for name, _, _ in entry.params)
    templates = {}
    for i, (name, _, _) in enumerate(entry.params):
        if i in entry.vjp_makers:
            templates[name] = f"s2s.custom.vjp({key}, {i}, g, ans, {names})"
        if i in entry.jvp_makers:
            templates[name + "_dot"] = f"s2s.custom.jvp({key}, {i}, {name}_dot, ans, {names})"
    # structured: the value may be a tuple or dict, whose adjoint is accumulated part by part (s2s.add)
    return rules.defrule_for(entry.function, _signature_text(entry), structured=True, **templates)


def _positions(entry, count, argnums, form):
    n = len(entry.params)
    positions = tuple(range(count)) if argnums is None else tuple(
        (argnums,) if isinstance(argnums, int) else argnums)
    if len(positions) != count:
        raise TypeError(f"{form} got {count} rule(s) for argnums={argnums!r}: give one per argument number")
    for p in positions:
        if not (isinstance(p, int) and 0 <= p < n):
            raise TypeError(f"{form}: argument number {p!r} is not one of the {n} parameters of "
                            f"{entry.function.__qualname__}")
    return positions


def defvjp(function: Callable, *makers: Callable | None, argnums=None) -> rules.Rule | None:
    """autograd's `defvjp(f, lambda ans, x, y: lambda g: ..., lambda ans, x, y: lambda g: ...)`: one
    maker per argument (`argnums` says which, default 0, 1, ...; None for an argument without one).
    A maker is called with the function's value and arguments and returns the function from the
    output's cotangent `g` to that argument's. See `s2s.defvjp`."""
    entry = _entry(function)
    for i, maker in zip(_positions(entry, len(makers), argnums, "defvjp"), makers):
        if maker is None:
            entry.vjp_makers.pop(i, None)
        elif not callable(maker):
            raise TypeError(f"defvjp takes functions (lambda ans, *args: lambda g: ...), not {type(maker).__name__}")
        else:
            entry.vjp_makers[i] = maker
    return _register_or_restore(entry)


def defjvp(function: Callable, *makers: Callable | None, argnums=None) -> rules.Rule | None:
    """autograd's `defjvp(f, lambda g, ans, x, y: ..., ...)`: one tangent maker per argument, called with
    that argument's tangent `g`, the value and the arguments; returns the output's tangent from it.

    Example::

        def cube(x):
            return x ** 3

        s2s.defjvp(cube, lambda g, ans, x: 3 * x ** 2 * g)
        s2s.jvp(cube, (2.0,), (1.0,))       # (8.0, 12.0)
    """
    entry = _entry(function)
    for i, maker in zip(_positions(entry, len(makers), argnums, "defjvp"), makers):
        if maker is None:
            entry.jvp_makers.pop(i, None)
        elif not callable(maker):
            raise TypeError(f"defjvp takes functions (lambda g, ans, *args: ...), not {type(maker).__name__}")
        else:
            entry.jvp_makers[i] = maker
    return _register_or_restore(entry)


def primitive(function: Callable) -> Callable:
    """autograd's `@primitive`, kept so that autograd code ports by changing its imports: returns
    `function` itself. s2s needs no marker: a function with a rule (`s2s.defvjp`) is called and its rule
    used; one without is read and differentiated like the rest of your code.

    Example::

        @s2s.primitive
        def logsumexp(x):
            return np.log(np.sum(np.exp(x)))

        s2s.defvjp(logsumexp, lambda ans, x: lambda g: g * np.exp(x - ans))
    """
    return function


# ---------------------------------------------------------------- JAX's decorators


@dataclass
class _JaxRule(rules.Rule):
    """The rule of a custom_vjp / custom_jvp function: every argument in one list (`args`), so that the
    user's bwd runs once per call; keyword arguments are placed by the function's signature."""

    names: list = field(default_factory=list)  # the function's parameters that take positional arguments
    literal_defaults: dict = field(default_factory=dict)
    nondiff_positions: tuple = ()  # nondiff_argnums: transforms/reverse.py refuses a differentiated value there

    def bind(self, args: list, keywords: dict) -> dict:
        values = list(args)
        rest = dict(keywords)
        for name in self.names[len(values):]:
            if not rest:
                break
            if name in rest:
                values.append(rest.pop(name))
            elif name in self.literal_defaults:
                values.append(ast.Constant(self.literal_defaults[name]))
            else:
                raise TypeError(f"{self.name}() is called with a keyword after {name!r}, whose default s2s cannot "
                                "write into the generated code; pass the arguments positionally")
        if rest:
            raise TypeError(f"{self.name}() has no parameter {next(iter(rest))!r} that s2s can pass positionally")
        return {"args": values}


def _register_jax_form(entry) -> rules.Rule:
    key = repr(entry.key)
    names, literal = [], {}
    for name, kind, default in entry.params:
        if kind == inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(f"s2s.custom_vjp / custom_jvp take functions whose parameters are positional "
                            f"({entry.function.__qualname__} has the keyword-only {name!r}), as JAX does")
        names.append(name)
        if default is not inspect.Parameter.empty and isinstance(default, int | float | str | bool | type(None)):
            literal[name] = default
    rule = _JaxRule(getattr(entry.function, "__qualname__", "f"), [], {}, varargs="args", positional=0,
                    names=names, literal_defaults=literal, structured=True,
                    nondiff_positions=tuple(getattr(entry, "nondiff_argnums", ())))
    templates = {}
    if entry.bwd is not None or entry.jvp is not None:
        templates["args"] = f"s2s.custom.cotangents({key}, g, ans, args)"
    if entry.jvp is not None:
        templates["args_dot"] = f"s2s.custom.tangent({key}, args, args_dot)"
    rules._fill(rule, templates)
    return rules._registered(rules._key(entry.function_object), rule, entry.function_object)


class _Custom:
    """A function with a derivative rule of its own (JAX's custom_vjp / custom_jvp); calling it calls
    the function."""

    def __init__(self, fun: Callable, nondiff_argnums: tuple[int, ...] = ()) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self._through = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fun(*args, **kwargs)

    def _entry(self) -> PythonRule:
        entry = _entry(self)
        entry.params = _parameters(self.fun)
        entry.function_object = self
        entry.nondiff_argnums = self.nondiff_argnums
        return entry

    @property
    def __s2s_function__(self) -> Callable:
        """A plain function with source that calls this one: what s2s.grad(f) transforms for f itself."""
        if self._through is None:
            self._through = _through(self)
        return self._through


class custom_vjp(_Custom):  # noqa: N801 - JAX's name
    """JAX's `custom_vjp`: a function whose reverse-mode derivative you give as `f.defvjp(fwd, bwd)`.

    `fwd(*args)` returns `(output, residuals)`; `bwd(residuals, g)` returns a tuple with one cotangent
    per argument (None for zero). With `nondiff_argnums=(i, ...)` those arguments get no cotangent
    (no derivative flows through them) and are passed to `bwd` first, as in JAX. s2s calls `fwd`
    again in the backward sweep to get the residuals, so `fwd` must be deterministic (a fwd whose
    output differs from the forward sweep's value is refused). Forward mode through it is refused,
    as in JAX.

    Example::

        @s2s.custom_vjp
        def clip_gradient(x):
            return x

        def fwd(x):
            return x, None

        def bwd(res, g):
            return (np.clip(g, -1.0, 1.0),)

        clip_gradient.defvjp(fwd, bwd)
        s2s.grad(lambda x: np.sum(clip_gradient(x) * 5.0))(np.ones(2))   # [1. 1.]
    """

    def __new__(cls, fun: Callable | None = None, nondiff_argnums: tuple[int, ...] = ()) -> Any:
        if fun is None:
            return functools.partial(cls, nondiff_argnums=nondiff_argnums)
        return super().__new__(cls)

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        """Register `fwd` and `bwd` (see the class)."""
        if not (callable(fwd) and callable(bwd)):
            raise TypeError("custom_vjp.defvjp(fwd, bwd) takes two functions")
        entry = self._entry()
        entry.fwd, entry.bwd = fwd, bwd
        _register_jax_form(entry)


class custom_jvp(_Custom):  # noqa: N801 - JAX's name
    """JAX's `custom_jvp`: a function whose forward-mode derivative you give with `@f.defjvp`.

    The rule `jvp(primals, tangents)` returns `(output, tangent_out)`. Reverse mode uses it too: the
    cotangent of each argument is computed from one jvp per element of that argument (exact, and
    cheap for the small arguments such rules usually have).

    Example::

        @s2s.custom_jvp
        def safe_log(x):
            return np.log(x)

        @safe_log.defjvp
        def safe_log_jvp(primals, tangents):
            (x,), (t,) = primals, tangents
            return np.log(x), t / np.maximum(x, 1e-8)

        s2s.jvp(safe_log, (2.0,), (1.0,))   # (log 2, 0.5)
    """

    def __new__(cls, fun: Callable | None = None, nondiff_argnums: tuple[int, ...] = ()) -> Any:
        if fun is None:
            return functools.partial(cls, nondiff_argnums=nondiff_argnums)
        return super().__new__(cls)

    def defjvp(self, jvp: Callable) -> Callable:
        """Register `jvp(primals, tangents) -> (output, tangent_out)`; returns `jvp` (a decorator)."""
        if not callable(jvp):
            raise TypeError("custom_jvp.defjvp(jvp) takes a function")
        entry = self._entry()
        entry.jvp = jvp
        _register_jax_form(entry)
        return jvp


def _through(custom: _Custom) -> Callable:
    """`def f(x, y): return <custom>(x, y)`, compiled from source s2s can read (kept in linecache)."""
    names = [name for name, _, _ in _parameters(custom.fun)]
    name = custom.fun.__name__ if custom.fun.__name__.isidentifier() else "f"
    text = f"def {name}({', '.join(names)}):\n    return __s2s_custom__({', '.join(names)})\n"
    filename = f"<s2s: {_entry(custom).label}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = {"__s2s_custom__": custom, "__name__": getattr(custom.fun, "__module__", None)}
    exec(compile(text, filename, "exec"), namespace)
    fn = namespace[name]
    fn.__defaults__ = custom.fun.__defaults__
    return fn


# ---------------------------------------------------------------- string templates: names where written


def localise(rule: rules.Rule, scope: dict) -> rules.Rule:
    """Make the free names of a string rule's templates mean what they mean in `scope` (the globals of
    the module where the rule was written): `helper(x)` becomes `s2s.custom.name('mymodule', 'helper')(x)`.
    Parameters, `g`, `ans`, tangents and the names every template has (`np`, `math`, `s2s`,
    `unbroadcast`) stay; a name the module does not define stays too (builtins such as `max`)."""
    own = set(rule.params) | {f"{p}_dot" for p in rule.params} | _TEMPLATE_NAMES
    if rule.varargs:
        own |= {rule.varargs, rule.varargs + "_dot"}
    label = _scope_label(scope)

    class Localise(ast.NodeTransformer):
        def __init__(self, keep):
            self.keep = keep

        def visit_Name(self, node):
            if isinstance(node.ctx, ast.Load) and node.id not in self.keep and node.id in scope:
                ref = ast.parse(f"s2s.custom.name({label!r}, {node.id!r})", mode="eval").body
                return ast.copy_location(ref, node)
            return node

    for table in (rule.vjp, rule.jvp):
        for p, template in list(table.items()):
            if template is None:
                continue
            # names bound inside the template (a lambda's parameters, a comprehension's variable) stay
            bound = {a.arg for n in walk(template) if isinstance(n, ast.Lambda) for a in n.args.args}
            bound |= {t.id for n in walk(template) if isinstance(n, ast.comprehension)
                      for t in walk(n.target) if isinstance(t, ast.Name)}
            table[p] = fix_locations(Localise(own | bound).visit(template))
    return rule


def _scope_label(scope: dict) -> str:
    base = scope.get("__name__") or "module"
    label, n = base, 1
    while label in rt.SCOPES and rt.SCOPES[label] is not scope:
        n += 1
        label = f"{base}#{n}"
    rt.SCOPES[label] = scope
    return label
