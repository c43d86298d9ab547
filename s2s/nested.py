"""Gradient functions s2s made, called inside a function s2s differentiates: `grad(loglike)(r, p(r))`.

`G = s2s.grad(L, wrt=i)` is `x -> dL/dx_i (x)` for a scalar `L`. A call of G inside a differentiated
function is linked like a call of the user's own function (transforms/analysis.is_user_function
accepts G by the mark `__s2s_nested__` that `s2s.grad` puts on it), and `s2s.pipeline.derivative_code`
asks this module for G's derivative in the form the caller's code needs:

- "jvp" (forward mode): the tangent of G along tangents t of its arguments is forward mode over
  the reverse-mode code s2s generated for G (`derivative(L, wrt=i)`), one sweep, as `s2s.hvp` does.
- "split" (reverse mode): the pullback of a cotangent v is, for each differentiated argument w,
  d/dx_w <dL/dx_i, v> = d2L[v e_i, e_w] (mixed second derivatives commute for L twice
  continuously differentiable). Where every differentiated argument is a number it is one
  forward-over-forward sweep of L per argument (the "flat" function below); otherwise one
  forward sweep over the reverse-mode code of L with respect to i and the w (a Hessian-vector
  product).
- "flat" (the pullback as a function of the arguments and the cotangent, `out_bar`): generated,
  source-backed code that calls the forward-over-forward code of L, one sweep per element of each
  w, so that s2s differentiates it again: a third derivative is forward mode over it (forward over
  forward over forward of L). Forward mode over the Hessian-vector product would be forward over
  forward over reverse, which s2s refuses where L calls a function of the user's.
- The "jvp" function is marked StandIn: where it is differentiated again (forward over forward through
  G, when the caller's gradient code keeps G's pullbacks on a tape), s2s differentiates a generated
  function of the same signature instead, written with forward mode over L (_tangent_function).

Nothing else is accepted: a gradient with respect to a tuple, with has_aux, value_and_grad,
elementwise_grad and grad of grad are refused at the call (frontend.no_rule_text), and so is L
with parameters other than plain positional ones.

Example (autograd's negative_binomial_maxlike, Newton's method on a derivative)::

    loglike = lambda r, p: np.sum(negbin_loglike(r, p, x))
    rprime = lambda r: s2s.grad(loglike)(r, np.sum(x) / np.sum(r + x))
    s2s.grad(rprime)(2.0)                  # second derivatives of loglike
    s2s.grad(s2s.grad(rprime))(2.0)        # third derivatives
"""

from __future__ import annotations

import ast
import inspect
import numbers
import types
import weakref

import numpy as np

from s2s import cache, codegen, pipeline, repeated
from s2s.errors import NoDerivativeRuleError, S2SError, UnsupportedSyntaxError
from s2s.tables import Table

_FORMS = ("jvp", "split", "flat")
_made = Table("second derivatives of gradient functions", 64)  # (id(L), name, wrt, optimize) -> (L, _Second)


class Mark:
    """What `s2s.grad` puts on a gradient function it made as `__s2s_nested__`: `mark(obj)` is true for that very
    function only (functools.wraps copies the attribute onto functions that wrap it: grad of grad, jacobian)."""

    __slots__ = ("owner", "func", "wrt", "optimize")

    def __init__(self, owner, func, wrt, optimize):
        self.owner, self.func, self.wrt, self.optimize = weakref.ref(owner), func, wrt, optimize

    def __call__(self, obj) -> bool:
        return self.owner() is obj


_GRADIENTS = Table("gradient functions", 256)  # (id(f), wrt, optimize) -> (weakref to f, grad(f))


def remember(gradient, func, wrt, optimize) -> None:
    """Mark `gradient` = s2s.grad(func, wrt) (see Mark) and keep it: `remembered` returns it for the next
    s2s.grad(func, wrt), so that a gradient made inside a function at each call (`lambda r: grad(loglike)(r, p)`)
    is one function, whose derivatives are made once, not at every call."""
    gradient.__s2s_nested__ = Mark(gradient, func, wrt, optimize)
    try:
        ref = weakref.ref(func)
    except TypeError:
        return
    try:
        _GRADIENTS.put((id(func), wrt, optimize), (ref, gradient))
    except TypeError:  # an unhashable wrt: not kept
        pass


def remembered(func, wrt, optimize):
    """The gradient function `remember` kept for s2s.grad(func, wrt, optimize=optimize), or None."""
    try:
        hit = _GRADIENTS.find((id(func), wrt, optimize))
    except TypeError:  # an unhashable wrt: not kept
        return None
    return None if hit is None or hit[0]() is not func else hit[1]


class StandIn(Mark):
    """The mark of a function s2s made for a call of G (the tangent of G, one forward sweep over G's gradient
    code) that s2s differentiates as another function with the same signature: `stand_in()` gives (that
    function, the entries it is fresh with), a source-backed one written with forward over forward of L."""

    __slots__ = ("stand_in",)

    def __init__(self, owner, stand_in):
        super().__init__(owner, None, None, None)
        self.stand_in = stand_in


class _Via:
    """pipeline.derivative_code for a function marked StandIn: the derivative of its stand-in."""

    returns_value = False
    links = ()

    def __init__(self, mark, wrt, form, optimize):
        self.mark, self.wrt, self.form, self.optimize = mark, wrt, form, optimize
        fn, _ = mark.stand_in()
        self.tangent_names = pipeline.derivative_code(fn, wrt, form, optimize).tangent_names if form == "jvp" else {}

    def bind(self, func, _binding=None) -> _Bound:
        fn, entries = self.mark.stand_in()
        entry = _entry(fn, self.wrt, self.form, self.optimize)
        return _bound(entry.fn, (entry,) + tuple(entries))


def target(obj):
    """(L, the name of the parameter G differentiates, optimize) for a gradient function G that s2s made and
    differentiates when it is called inside a differentiated function; None for anything else."""
    mark = getattr(obj, "__s2s_nested__", None)
    if not isinstance(mark, Mark) or isinstance(mark, StandIn) or not mark(obj):
        return None
    return mark.func, pipeline._wrt_names(mark.func, mark.wrt)[0], mark.optimize


def _refused(message, hint=None):
    return NoDerivativeRuleError(
        message, hint=hint or "differentiate the gradient with respect to numbers, or write the derivative of "
                              "the gradient you need at the top level: s2s.hessian(f, wrt=(0, 1)), s2s.hvp(f)")


def _params(func):
    params = list(inspect.signature(func).parameters.values())
    if any(p.kind is not p.POSITIONAL_OR_KEYWORD for p in params):
        raise _refused(
            f"s2s differentiates a call of grad({func.__qualname__}) inside a differentiated function only where "
            f"{func.__qualname__} has plain parameters (no *args, **kwargs, keyword-only or positional-only ones)",
            hint=f"give {func.__qualname__} plain parameters, or pass the values it needs as arguments")
    return [p.name for p in params]


def derivative_code(func, wrt_names: tuple, form: str, optimize_code: bool) -> _Made | _Via:
    """The stand-in for pipeline.Generated of the gradient function `func` (see the module's docstring)."""
    mark = getattr(func, "__s2s_nested__", None)
    if isinstance(mark, StandIn) and mark(func):
        return _Via(mark, tuple(wrt_names), form, optimize_code)
    found = target(func)
    if found is None:
        raise TypeError(f"{func!r} is not a gradient function s2s made")
    L, name, optimize = found
    if form not in _FORMS:
        raise _refused(
            f"s2s makes the derivative of a gradient function (grad of {L.__qualname__}) for calls inside a "
            f"differentiated function only (forward and reverse mode), not as a {form!r} derivative of its own",
            hint="use s2s.grad(s2s.grad(f)) for a second derivative of one number, s2s.hessian(f) or s2s.hvp(f)")
    params = _params(L)
    if not isinstance(L, types.FunctionType):
        raise _refused(f"s2s differentiates a call of grad(f) inside a differentiated function for a Python function "
                       f"f, not for {type(L).__name__}")
    return _Made(func, L, name, tuple(wrt_names), form, optimize, params)


class _Made:
    """What pipeline.derivative_code returns for a gradient function: `bind(G)` gives its entry (_Bound)."""

    returns_value = False
    links = ()

    def __init__(self, func, L, name, wrt, form, optimize, params):
        self.func, self.L, self.name, self.wrt, self.form, self.optimize, self.params = \
            func, L, name, wrt, form, optimize, params
        self.tangent_names = {}
        if form == "jvp":
            self.tangent_names = dict(_jvp_of_gradient(L, name, wrt, optimize)[1])

    def bind(self, func, _binding=None) -> _Bound:
        if self.form == "jvp":
            return _bind_jvp(func, self.L, self.name, self.wrt, self.optimize)
        if self.form == "flat":
            fn, entries = _flat(self.L, self.name, self.wrt, self.optimize, self.params)
            return _bound(fn, entries)
        return _bind_split(func, self.L, self.name, self.wrt, self.optimize, self.params)


class _Bound:
    """A generated function with what it was made from, as the pipeline's entries are (`fn`, `fresh()`, and the
    dependencies `funcs`, `ident`, `rest` a caller's entry merges): fresh while every entry it was made from is."""

    __slots__ = ("fn", "funcs", "ident", "rest", "fresh", "__weakref__")

    def __init__(self, fn, entries):
        self.fn = fn
        self.funcs = tuple(f for e in entries for f in e.funcs)
        self.ident = tuple(i for e in entries for i in e.ident)
        self.rest = tuple(r for e in entries for r in e.rest)
        checks = tuple(e.fresh for e in entries)
        self.fresh = lambda: all(check() for check in checks)


def _bound(fn, entries) -> _Bound:
    return _Bound(fn, entries)


def _entry(func, names, form, optimize):
    from s2s import api
    return api._entry(func, tuple(names), form, optimize)


def _jvp_of_gradient(L, name, wrt, optimize):
    """(the entries, {parameter: its tangent keyword}, the jvp function) of forward mode over the gradient code."""
    grad_entry = _entry(L, (name,), "flat", optimize)
    jvp_entry = _entry(grad_entry.fn, wrt, "jvp", optimize)
    names = pipeline.derivative_code(grad_entry.fn, tuple(wrt), "jvp", optimize).tangent_names
    return (grad_entry, jvp_entry), {w: names[w] for w in wrt}, jvp_entry.fn


def _check_values(L, name, wrt, params, args, kwargs):
    """The arguments bound to L's parameters; refused where a differentiated one is not a number or an array."""
    try:
        bound = inspect.signature(L).bind(*args, **kwargs).arguments
    except TypeError as exc:
        raise TypeError(f"{L.__qualname__}(): {exc}") from None
    repeated.check(L, args, kwargs, f"a call of grad({L.__qualname__}) inside a differentiated function")
    for p in dict.fromkeys((name,) + tuple(wrt)):
        v = bound.get(p)
        if not (isinstance(v, numbers.Real | np.ndarray | np.generic)):
            raise _refused(
                f"s2s differentiates a call of grad({L.__qualname__}) inside a differentiated function for numbers "
                f"and arrays; its argument {p!r} is a {type(v).__name__}",
                hint="pass the numbers and arrays themselves (flatten a structure with s2s.flatten)")
    return bound


def _bind_jvp(G, L, name, wrt, optimize):
    entries, dots, jvp_fn = _jvp_of_gradient(L, name, wrt, optimize)
    params = _params(L)
    tangents = [dots[w] for w in wrt]

    def gradient_jvp(args, dot_values):
        bound = _check_values(L, name, wrt, params, args, {})
        value = G(*args)  # G's own checks (a scalar output) run as they do outside
        try:
            _, tangent = jvp_fn(*args, **dot_values)
        except UnsupportedSyntaxError:  # forward over the gradient code refused: forward over forward over L
            made = _second(L, name, wrt, optimize, params)
            tangent = _forward_tangent(made, name, wrt, bound, [dot_values[t] for t in tangents])
        return value, tangent

    # a signature of the parameters and the tangent keywords: callers look for the keywords in the code
    pairs = ", ".join(f"{t!r}: {t}" for t in tangents)
    text = (f"def grad_{name}_jvp({', '.join(params)}, *, {', '.join(tangents)}):\n"
            f"    return RUN(({', '.join(params)},), {{{pairs}}})\n")
    namespace = {"RUN": gradient_jvp}
    exec(compile(text, f"<s2s jvp of grad({L.__qualname__})>", "exec", dont_inherit=True), namespace)
    made = namespace[f"grad_{name}_jvp"]
    made.__defaults__ = L.__defaults__  # a call may leave out L's parameters that have default values

    def stand_in():  # forward mode over this function (forward over forward through G) differentiates that one
        second = _second(L, name, wrt, optimize, params)
        key = tuple(tangents)
        if key not in second.tangent_functions:
            second.tangent_functions[key] = _tangent_function(L, name, wrt, params, second, tangents)
        return second.tangent_functions[key], second.entries

    made.__s2s_nested__ = StandIn(made, stand_in)
    return _bound(made, entries)


def _bind_split(G, L, name, wrt, optimize, params):
    flat_fn, flat_entries = _flat(L, name, wrt, optimize, params)

    # (the globals, cells, attributes and items L's derivatives read)
    reads = [entry for entry in _entry(L, (name,), "flat", optimize).rest if entry[0] in ("d", "C", "a", "i")]

    def gradient_vjp(*args, **kwargs):
        bound = _check_values(L, name, wrt, params, args, kwargs)
        value = G(*args, **kwargs)
        now = [(kind, container, key, cache.current(kind, container, key, L)) for kind, container, key, _, _ in reads]

        def gradient_pullback(v):
            # (the pullback computes L's second derivatives when it is called: where a global or a function they
            # read was rebound after the vjp, they would be those of the new one)
            if not all(_still(cache.current(kind, container, key, L), obj) for kind, container, key, obj in now):
                raise S2SError(f"s2s cannot run this pullback of grad({L.__qualname__}): a global, closure value, "
                               f"attribute or item {L.__qualname__} reads was rebound after the vjp was taken, and "
                               "the pullback computes its second derivatives when it is called",
                               hint="call the pullback before changing what the function reads, or take the vjp "
                                    "again after the change")
            if any(np.ndim(bound[w]) != 0 for w in wrt):
                try:
                    return _hessian_vector_product(L, name, wrt, optimize, args, kwargs, v)
                except UnsupportedSyntaxError:
                    pass  # forward over L's gradient code is refused (a pullback kept on its tape): forward over forward
            out = flat_fn(*args, **kwargs, **{flat_fn.__s2s_seed__: v})
            return (out,) if len(wrt) == 1 else tuple(out)

        return value, gradient_pullback

    return _bound(gradient_vjp, flat_entries)


def _still(now, then) -> bool:
    """Whether a global (cell, attribute) read at a pullback holds what it held at the vjp: the same object, or an
    equal number or string (a property may make a new one each time it is read)."""
    return now is then or type(now) is type(then) and type(now) in (int, float, bool, str) and now == then


def _hessian_vector_product(L, name, wrt, optimize, args, kwargs, v):
    """(d/dx_w <dL/dx_name, v> for w in wrt): forward mode along v (on `name`) over the reverse-mode code of L
    with respect to `name` and `wrt` (one sweep; the Hessian is symmetric)."""
    union = tuple(dict.fromkeys((name,) + tuple(wrt)))
    grads = _entry(L, union, "flat", optimize)
    forward = _entry(grads.fn, (name,), "jvp", optimize)
    dot = pipeline.derivative_code(grads.fn, (name,), "jvp", optimize).tangent_names[name]
    x = inspect.signature(L).bind(*args, **kwargs).arguments[name]
    _, tangent = forward.fn(*args, **kwargs, **{dot: v * np.ones(np.shape(x))})  # the zero adjoint 0.0: zeros
    if len(union) == 1:
        tangent = (tangent,)
    return tuple(tangent[union.index(w)] for w in wrt)


class _Second:
    """Forward over forward over L with respect to `union` (the parameter G differentiates and the differentiated
    arguments): `fn(*args, <first_dots>=a, <second_dots>=b)[1][1]` is d2L[a, b]; `flat` the pullback as a
    generated function (_flat_function)."""

    def __init__(self, fn, union, first_dots, second_dots, flat, entries, first_fn):
        self.fn, self.union, self.first_dots, self.second_dots, self.flat, self.entries = \
            fn, union, first_dots, second_dots, flat, entries
        self.first_fn = first_fn
        self.tangent_functions = {}  # tangent keywords -> _tangent_function's function

    def along(self, bound, first, second):
        """d2L[first, second] at the arguments `bound` (parameter -> value), each direction a dict parameter ->
        tangent (a missing one: zeros)."""
        dots = {}
        for p in self.union:
            dots[self.first_dots[p]] = first.get(p, np.zeros(np.shape(bound[p])))
            dots[self.second_dots[p]] = second.get(p, np.zeros(np.shape(bound[p])))
        return self.fn(**bound, **dots)[1][1]


def _second(L, name, wrt, optimize, params) -> _Second:
    """The _Second of G = grad(L) called with `wrt` differentiated, made again when it is not fresh."""
    key = (id(L), name, tuple(wrt), optimize)
    hit = _made.find(key)
    if hit is not None and hit[0] is L and all(e.fresh() for e in hit[1].entries):
        return hit[1]
    union = tuple(p for p in params if p == name or p in wrt)
    first = _entry(L, union, "jvp", optimize)
    first_dots = pipeline.derivative_code(L, union, "jvp", optimize).tangent_names
    second = _entry(first.fn, union, "jvp", optimize)
    second_dots = pipeline.derivative_code(first.fn, union, "jvp", optimize).tangent_names
    flat = _flat_function(L, name, wrt, params, union, first_dots, second_dots, second.fn)
    made = _Second(second.fn, union, first_dots, second_dots, flat, (first, second), first.fn)
    _made.put(key, (L, made))
    return made


def _flat(L, name, wrt, optimize, params):
    """(the generated function `(*params, *, out_bar=1.0) -> d/dx_w <dL/dx_name, out_bar>` (one value for one w,
    a tuple for several), the entries it reads)."""
    made = _second(L, name, wrt, optimize, params)
    return made.flat, made.entries


def _forward_tangent(made, name, wrt, bound, tangents):
    """The tangent of G = dL/dx_name along `tangents` (one per w in wrt) by forward over forward over L: for each
    element e of x_name, d2L[e, t] (where forward mode over the gradient code is refused)."""
    x = bound[name]
    along = {w: t * np.ones(np.shape(bound[w])) for w, t in zip(wrt, tangents)}  # a zero tangent 0.0: zeros
    if np.ndim(x) == 0:
        return made.along(bound, {name: 1.0}, along)
    basis = np.eye(np.size(x))
    parts = [made.along(bound, {name: np.reshape(e, np.shape(x))}, along) for e in basis]
    return np.reshape(np.stack(parts), np.shape(x))


def _flat_function(L, name, wrt, params, union, first_dots, second_dots, second_fn):
    """The source-backed generated function _flat returns: d2L[out_bar e_name, e] for every basis element e of
    each w (forward over forward over L, one sweep per element: a number costs one)."""
    own = L.__name__ if L.__name__.isidentifier() else "f"
    taken = set(params)
    seed = "out_bar"
    while seed in taken:
        seed += "_"
    helper, numpy = "s2s_d2", "np"
    if taken & {helper, numpy, "s2s_seed"} or any(p.startswith(("s2s_d", "s2s_basis", "s2s_k")) for p in params):
        raise _refused(f"s2s cannot name its helpers: {L.__qualname__} has a parameter whose name starts with s2s_ "
                       "or is np")

    def call(w, along):
        keywords = []
        for p in union:
            keywords.append(f"{first_dots[p]}={'s2s_seed' if p == name else f'{numpy}.zeros({numpy}.shape({p}))'}")
            keywords.append(f"{second_dots[p]}={along if p == w else f'{numpy}.zeros({numpy}.shape({p}))'}")
        return f"{helper}({', '.join(params)}, {', '.join(keywords)})[1][1]"

    # times ones: where the caller's cotangent has the number 0 for its tangent, this one's is an array of zeros
    lines = [f"def grad_{own}_{name}_vjp({', '.join(params)}, *, {seed}=1.0):",
             f"    s2s_seed = {seed} * {numpy}.ones({numpy}.shape({name}))"]
    results = []
    for k, w in enumerate(wrt):
        d, basis = f"s2s_d{k}", f"s2s_basis{k}"
        element = f"{numpy}.reshape({basis}[s2s_k], {numpy}.shape({w}))"
        lines += [f"    if {numpy}.ndim({w}) == 0:",
                  f"        {d} = {call(w, '1.0')}",
                  "    else:",
                  f"        {basis} = {numpy}.eye({numpy}.size({w}))",
                  f"        {d} = {numpy}.reshape({numpy}.stack([{call(w, element)} for s2s_k in "
                  f"range({numpy}.size({w}))]), {numpy}.shape({w}))"]
        results.append(d)
    lines.append(f"    return {results[0] if len(results) == 1 else ', '.join(results)}")
    fdef = ast.parse("\n".join(lines) + "\n").body[0]
    label = f"grad_{own}_{name}_vjp"
    code, source, _ = codegen.compile_function(fdef, [numpy, helper], label)
    cells = {numpy: types.CellType(np), helper: types.CellType(second_fn)}
    fn = codegen.make_function(code, L.__globals__, cells, L.__defaults__, {seed: 1.0}, source)
    fn.__s2s_seed__ = seed
    return fn


def _tangent_function(L, name, wrt, params, second, tangents):
    """`(*params, *, <tangents>) -> (dL/dx_name, its tangent along the tangents of wrt)`, generated and
    source-backed, by forward mode over L (the value) and forward over forward (the tangent), one sweep each
    per element of x_name: s2s differentiates it again (a third derivative through forward over forward)."""
    own = L.__name__ if L.__name__.isidentifier() else "f"
    numpy, first, helper = "np", "s2s_d1", "s2s_d2"
    if set(params) & {numpy, first, helper} or any(p.startswith(("s2s_basis", "s2s_k", "s2s_t")) for p in params):
        raise _refused(f"s2s cannot name its helpers: {L.__qualname__} has a parameter whose name starts with s2s_ "
                       "or is np")
    along = dict(zip(wrt, (f"s2s_t{k}" for k in range(len(wrt)))))

    def zeros(p):
        return f"{numpy}.zeros({numpy}.shape({p}))"

    def calls(e):
        ones = [f"{second.first_dots[p]}={e if p == name else zeros(p)}" for p in second.union]
        value = f"{first}({', '.join(params)}, {', '.join(ones)})[1]"
        twos = [f"{second.second_dots[p]}={along.get(p, zeros(p))}" for p in second.union]
        tangent = f"{helper}({', '.join(params)}, {', '.join(ones + twos)})[1][1]"
        return value, tangent

    lines = [f"def grad_{own}_{name}_jvp_({', '.join(params)}, *, {', '.join(tangents)}):"]
    # times ones: a tangent the caller passes as the number 0 for an array becomes an array of zeros
    lines += [f"    {along[w]} = {t} * {numpy}.ones({numpy}.shape({w}))" for w, t in zip(wrt, tangents)]
    value, tangent = calls("1.0")
    element = f"{numpy}.reshape(s2s_basis[s2s_k], {numpy}.shape({name}))"
    values, tangents_of = calls(element)
    each = f"for s2s_k in range({numpy}.size({name}))"
    lines += [f"    if {numpy}.ndim({name}) == 0:",
              f"        s2s_value = {value}",
              f"        s2s_tangent = {tangent}",
              "    else:",
              f"        s2s_basis = {numpy}.eye({numpy}.size({name}))",
              f"        s2s_value = {numpy}.reshape({numpy}.stack([{values} {each}]), {numpy}.shape({name}))",
              f"        s2s_tangent = {numpy}.reshape({numpy}.stack([{tangents_of} {each}]), {numpy}.shape({name}))",
              "    return s2s_value, s2s_tangent"]
    fdef = ast.parse("\n".join(lines) + "\n").body[0]
    code, source, _ = codegen.compile_function(fdef, [numpy, first, helper], f"grad_{own}_{name}_jvp_")
    cells = {numpy: types.CellType(np), first: types.CellType(second.first_fn), helper: types.CellType(second.fn)}
    return codegen.make_function(code, L.__globals__, cells, L.__defaults__, None, source)
