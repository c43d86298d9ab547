"""Higher-order differentiation: Jacobians, Hessians, Hessian-vector products and grad of grad.

Everything here is built from the first-order derivatives `s2s.api` makes: s2s differentiates
the code it generated, once more (forward mode over the reverse-mode gradient for Hessians and
Hessian-vector products, forward over forward where the gradient code calls helpers through
pullback closures, which forward mode does not transform). The public functions, with their
documentation, are in `s2s.api`; these are the functions they return.
"""

from __future__ import annotations

import ast
import functools
import types
from collections.abc import Callable

import numpy as np

from s2s import api, codegen, pipeline, pytree, repeated, runtime
from s2s.errors import NoDerivativeRuleError, NonScalarOutputError, UnsupportedSyntaxError


def _argument(func, wrt, args, kwargs):
    """(position, name, value) of the argument `wrt` names in this call."""
    name = pipeline._wrt_names(func, wrt)[0]
    index = pipeline._param_names_of(func).index(name)
    if index < len(args):
        return index, name, args[index]
    if name in kwargs:
        return index, name, kwargs[name]
    raise TypeError(f"the Jacobian with respect to {name!r} needs a value for it in the call")


def jacobian_function(func: Callable, wrt: int | str, mode: str, has_aux: bool = False,
                      out_like: Callable | None = None) -> Callable:
    """The function `s2s.jacobian(func, wrt, mode)` returns (arguments already checked).

    Inputs and outputs of any structure: the Jacobian is first made as a matrix over the flattened
    output and argument (s2s.pytree), one row per pullback or one column per tangent sweep, then cut
    into blocks of JAX's layout (pytree.pack). `out_like(args)`, where given, is a value whose
    container types the output's are restored to (the argument, for a gradient's Jacobian)."""

    @functools.wraps(func)
    def jac(*args, **kwargs):
        index, name, x = _argument(func, wrt, args, kwargs)
        x = runtime.as_given(x)  # (a dataclass the function stores into: its fields as given shape the blocks)
        aux = None
        if mode == "reverse":
            made = api.vjp(func, *args, wrt=wrt, has_aux=has_aux, **kwargs)
            value, pullback = made[0], made[1]
            aux = made[2] if has_aux else None
            rows = [pytree.flat_like(pullback(ct), x) for ct in pytree.basis(value)]
            matrix = np.stack(rows) if rows else np.zeros((0, pytree.size(x)))
        else:
            # the tangent function is looked up once; each column is one bare forward sweep
            repeated.check(func, args, kwargs, "s2s.jacfwd")
            fn, _ = api._bound(func, (index,), "jvp", args=args, kwargs=kwargs)
            api._check_args([(index, name)], args, kwargs, func)
            dot_name = next(iter(api._dot_kwargs(fn, {f"{name}_dot": None})))
            cols, value = [], None
            for t in pytree.basis(x):
                out, tout = fn(*args, **kwargs, **{dot_name: t})
                if has_aux:
                    (value, aux), tout = api._split_aux(func, out), tout[0]
                else:
                    value = out
                if out_like is not None:
                    value = pytree.restore(value, out_like(args))
                cols.append(pytree.flat_like(tout, value))
            if value is None:  # an argument with no elements: no sweep ran
                out = func(*args, **kwargs)
                value, aux = api._split_aux(func, out) if has_aux else (out, None)
            matrix = np.stack(cols, axis=-1) if cols else np.zeros((pytree.size(value), 0))
        result = pytree.pack(matrix, value, x)
        return (result, aux) if has_aux else result

    return jac


def _custom_rule_in(exc) -> str | None:
    """The name of the Python-function rule (s2s/custom.py) whose run-time call stopped a transform, or None."""
    import re

    from s2s.runtime import custom
    found = re.search(r"s2s\.custom\.\w+\('([^']+)'", str(exc))
    if found and "s2s.runtime.custom" in str(exc):
        return found.group(1)
    # the forward sweep of a gradient calls a custom_vjp function, which has no forward rule
    found = re.search(r"no forward-mode rule for (\S+) with respect to", str(exc))
    if found:
        return next((e.label for e in custom.RULES.values()
                     if getattr(e.function, "__qualname__", None) == found.group(1)), None)
    return None


def _at_your_line(exc: NoDerivativeRuleError, what: str, func=None) -> NoDerivativeRuleError | None:
    """`exc`, raised at a line of a derivative's generated code that has no rule to go through once more (an
    adjoint helper without a tangent: np.linalg.qr's), told at your line: the statement the generated code's
    comment above that line copies from your file. None where `exc` is not such an error or the line is not found.
    """
    import linecache
    import re

    file = re.search(r"from ([^<>]+?)>+$", exc.filename or "")
    if not (exc.filename or "").startswith("<s2s") or file is None or exc.lineno is None:
        return None
    generated = linecache.getlines(exc.filename)[:exc.lineno]
    comment = next((line.strip()[2:] for line in reversed(generated) if line.strip().startswith("# ")), None)
    yours = linecache.getlines(file.group(1))
    found = [k + 1 for k, line in enumerate(yours) if comment and line.strip() == comment]
    lines = _lines_of(func)  # (the differentiated function's own line first, where the text repeats in the file)
    lineno = next((k for k in found if k in lines), found[0] if found else None)
    mapped = codegen.user_line(exc.filename, exc.lineno)  # (tangent code has no comments: the line it came from)
    if lineno is None and mapped is not None and mapped[0] == file.group(1):
        lineno = mapped[1]
    if lineno is None or not 0 < lineno <= len(yours):
        return None
    called = exc.line.strip() if exc.line else "it"
    why = exc.message.removeprefix("s2s cannot differentiate its own generated derivative code once more here: ")
    return NoDerivativeRuleError(
        f"{what} differentiates the derivative of this line once more, and that derivative's code cannot be "
        f"differentiated again: {why} (in `{called}`)", filename=file.group(1), lineno=lineno,
        line=yours[lineno - 1], hint="take this second derivative by central differences of s2s.grad, "
                                     "`(s2s.grad(f)(x + h * e) - s2s.grad(f)(x - h * e)) / (2 * h)` for each unit "
                                     "vector e, or write this part with functions whose rules s2s differentiates again")


def _lines_of(func) -> range:
    """The lines of the file `func` is written on (none where it has no source)."""
    import inspect
    try:
        source, start = inspect.getsourcelines(inspect.unwrap(getattr(func, "__func__", func)))
    except (TypeError, OSError):
        return range(0)
    return range(start, start + len(source))


def refuses_custom_rules(what: str, func=None) -> Callable:
    """Decorate a second-order computation: a derivative rule written as a Python function inside is
    refused with a clear error (s2s runs such a rule; it does not differentiate it again); a rule without a
    derivative of its own met in the generated code is told at `func`'s line (`_at_your_line`)."""
    def wrap(inner):
        @functools.wraps(inner)
        def run(*args, **kwargs):
            try:
                return inner(*args, **kwargs)
            except NoDerivativeRuleError as exc:
                key = _custom_rule_in(exc)
                if key is None:
                    at_your_line = _at_your_line(exc, what, func)
                    if at_your_line is None:
                        raise
                    raise at_your_line from None
                raise NoDerivativeRuleError(
                    f"{what} differentiates a derivative once more, and that derivative calls the rule of {key}, "
                    "written as Python functions (s2s.custom_vjp, s2s.custom_jvp, or s2s.defvjp / s2s.defjvp with "
                    "functions): s2s runs such a rule but does not differentiate it again",
                    hint="give that function its rule as string templates, s2s.defvjp(f, \"x\", x=\"g * ...\", "
                         "x_dot=\"...\"), which s2s differentiates again; or take the second derivative by finite "
                         "differences of s2s.grad") from None
        return run
    return wrap


def hessian_function(func: Callable, wrt: int | str) -> Callable:
    """The function `s2s.hessian(func, wrt)` returns: forward mode over the reverse-mode gradient."""

    @refuses_custom_rules("s2s.hessian", func)
    def hess(*args):
        repeated.check(func, args, {}, "s2s.hessian")
        # the user's own function may update its arguments in place: run it on copies
        value = func(*pytree.copied(args))
        if _not_scalar(value):  # as JAX's and autograd's: the second derivatives of each output element
            return _of_any_output(func, (wrt, wrt), args)
        try:
            df = api.derivative(func, wrt=wrt)
            return jacobian_function(df, wrt, "forward", out_like=lambda a: _argument(func, wrt, a, {})[2])(*args)
        except UnsupportedSyntaxError:
            # the gradient code calls helpers through pullback closures, which forward mode does not transform,
            # or reverse mode refuses the function (list.pop()): use forward over forward instead (n * n sweeps,
            # same numbers; its own refusals where it has them)
            return _hessian_forward_over_forward(func, wrt, args)

    return hess


def _not_scalar(value) -> bool:
    return np.ndim(value) != 0 or isinstance(value, list | tuple | dict) or pytree.is_structure(value)


def _of_any_output(func, wrt, args):
    """d2 func / dwrt[0] dwrt[1] for any output (s2s/compose.py): shape out.shape + x0.shape + x1.shape."""
    from s2s import compose
    names = tuple(pipeline._wrt_names(func, w)[0] for w in wrt)
    return compose.tensor_in_layout(func, list(names), args, {})


def hessian_blocks(func: Callable, wrt: tuple) -> Callable:
    """`s2s.hessian(func, wrt=(i, j, ...))`: the tuple of tuples of blocks H[a][b] = d2f / dwrt[a] dwrt[b]
    (JAX's layout), each the forward-mode Jacobian, with respect to wrt[b], of the gradient with
    respect to wrt[a]."""

    @refuses_custom_rules("s2s.hessian", func)
    def hess(*args):
        repeated.check(func, args, {}, "s2s.hessian")
        value = func(*pytree.copied(args))
        if _not_scalar(value):
            return tuple(tuple(_of_any_output(func, (a, b), args) for b in wrt) for a in wrt)
        try:
            rows = []
            for a in wrt:
                df = api.derivative(func, wrt=a)
                like = _argument(func, a, args, {})[2]
                rows.append(tuple(jacobian_function(df, b, "forward", out_like=lambda _, like=like: like)(*args)
                                  for b in wrt))
            return tuple(rows)
        except UnsupportedSyntaxError:  # (as hessian_function: forward over forward, block by block)
            return _blocks_forward_over_forward(func, wrt, args)

    return hess


def hvp_function(func: Callable, wrt: int | str) -> Callable:
    """The function `s2s.hvp(func, wrt)` returns: one forward sweep through the gradient code."""

    refused = []  # forward over reverse was refused once: later calls go to forward over forward at once
    scalar = set()  # the argument shapes for which func's output was seen to be a scalar

    @refuses_custom_rules("s2s.hvp", func)
    def hessian_vector_product(*args_and_v):
        *args, v = args_and_v
        shapes = tuple(np.shape(a) if pytree.is_leaf(a) else type(a) for a in args)
        if shapes not in scalar:
            # (it evaluates func once more for its value: a draw there, or a state change, and the sweep would see
            # others; adv230)
            repeated.check(func, args, {}, "s2s.hvp")
            # the gradient code seeds the output's adjoint with 1.0: for an array output it would give the
            # Hessian of the output's sum, silently
            value = func(*pytree.copied(args))
            if _not_scalar(value) and not (pytree.is_leaf(value) and np.size(value) == 1):  # (1,): as grad
                raise NonScalarOutputError(
                    f"s2s.hvp needs a function with a scalar output, but {getattr(func, '__name__', 'f')} returned a "
                    f"value of shape {np.shape(value) if pytree.is_leaf(value) else 'a structure'}",
                    hint="s2s.jvp(s2s.jacrev(f), (x,), (v,)) gives each output element's Hessian times v (use "
                         "s2s.vjp for a vector-Jacobian product, s2s.hessian(f) for the whole tensor)")
            scalar.add(shapes)
        index = pipeline._param_names_of(func).index(pipeline._wrt_names(func, wrt)[0])
        if index < len(args):
            api.check_like(v, args[index], "the vector v", f"the argument {index}")
        tangents = [None] * len(args)
        tangents[index] = v
        if not refused:
            try:
                _, tangent = api.jvp(api.derivative(func, wrt=wrt), args, tangents)
                return pytree.restore(tangent, args[index])
            except UnsupportedSyntaxError:
                refused.append(True)
        # gradient code that forward mode cannot differentiate again (a pullback kept on a tape, a list
        # updated in place): forward over forward, one sweep per input element, still without forming H
        second, first_dot, second_dot, x = _forward_over_forward(func, wrt, args)
        _, unflatten = pytree.flatten(x)
        out = np.array([np.asarray(second(*args, **{first_dot: e, second_dot: v})[1][1]).item()
                        for e in pytree.basis(x)])
        return unflatten(out)

    return hessian_vector_product


def grad_of_derivative(outer: Callable, plain: Callable, wrt: int | str) -> Callable:
    """grad(grad(f)): forward mode over the code s2s generated for grad(f).

    `plain()` gives the current first derivative (made again when f or what it uses changed);
    the second derivative is made again whenever that is a different function.
    """
    if isinstance(wrt, tuple | list):
        raise TypeError("grad of a gradient takes a single wrt")
    made = {}

    @refuses_custom_rules("grad of a gradient")
    def current():
        inner = plain()
        jvp_fn, names = api._bound(inner, wrt, "jvp")
        target, prefix = api._unbind(inner)
        jvp_target = api._unbind(jvp_fn)[0]
        stamp = (target, jvp_target) + prefix
        old = made.get("stamp", ())
        if len(old) != len(stamp) or any(a is not b for a, b in zip(old, stamp)):
            index = pipeline._param_names_of(inner).index(names[0])
            dot_name = api._dot_kwargs(jvp_fn, {f"{names[0]}_dot": None}).popitem()[0]
            nested = api._rebind(_second_derivative_function(target, jvp_target, names[0], dot_name), prefix)
            made.update(stamp=stamp, inner=inner, jvp_fn=jvp_fn, names=names, index=index, dot_name=dot_name,
                        nested=nested)
        return made

    from s2s import compose
    spec = compose.of(outer)  # what `outer` computes: f's derivative of some order (a single one: outer has plain)
    try:
        source = current()["nested"].__s2s_source__
    except (UnsupportedSyntaxError, NoDerivativeRuleError):
        if spec is None:
            raise
        # the derivative code cannot be differentiated once more (forward mode over the forward-mode code
        # of a helper's generated pullback, at third order): forward mode over forward mode of f itself
        return compose.grad(spec, wrt)
    fallback = _forward_over_forward_second(outer, wrt)
    refused = []  # forward over reverse was refused once: later calls of a scalar go to forward over forward

    @functools.wraps(outer)
    def gradient(*args, **kwargs):
        if refused:
            return fallback(args, kwargs)
        try:
            m = current()
            inner, jvp_fn, names, index, dot_name = m["inner"], m["jvp_fn"], m["names"], m["index"], m["dot_name"]
            x = args[index] if index < len(args) else kwargs[names[0]]
            if np.ndim(x) == 0:
                return m["nested"](*args, **kwargs)
        except UnsupportedSyntaxError:
            # gradient code that forward mode cannot differentiate again (a pullback kept on a tape): forward
            # over forward of the original function, where the argument is a scalar
            if fallback is None or not fallback.scalar(args, kwargs):
                raise
            refused.append(True)
            return fallback(args, kwargs)
        value, _ = jvp_fn(*args, **kwargs, **{dot_name: np.zeros(np.shape(x))})
        if np.ndim(value) != 0:
            raise NonScalarOutputError(
                f"grad of a gradient needs a scalar argument: the gradient of {outer.__name__} with respect to "
                f"{names[0]!r} has shape {np.shape(value)}.",
                hint="use s2s.hessian(f) for the matrix of second derivatives")
        return jacobian_function(inner, wrt, "forward")(*args)

    gradient.__s2s_target__ = None
    gradient.__s2s_plain__ = lambda: current()["nested"]
    gradient.__s2s_plain_wrt__ = lambda: current()["names"][0]
    gradient.__s2s_source__ = source
    if spec is not None and compose.is_one(spec.names):
        compose.mark(gradient, spec.func, spec.names + compose.names_of(spec, wrt))
    return gradient


class _SecondByForwardOverForward:
    """d2f/dx2 for a scalar x by forward mode over forward mode of f itself (grad(grad(f)) where the gradient
    code cannot be differentiated again). Only for f's own gradient, differentiated again with respect to
    the same parameter."""

    def __init__(self, func, wrt):
        self.func, self.wrt = func, wrt
        self.name = pipeline._wrt_names(func, wrt)[0]
        self.index = pipeline._param_names_of(func).index(self.name)

    def value(self, args, kwargs):
        return args[self.index] if self.index < len(args) else kwargs.get(self.name)

    def scalar(self, args, kwargs) -> bool:
        x = self.value(args, kwargs)
        return isinstance(x, float | int | np.floating | np.integer | np.ndarray) and np.ndim(x) == 0 \
            and np.asarray(x).dtype.kind in "fiu"

    def __call__(self, args, kwargs):
        if not self.scalar(args, kwargs):
            raise NonScalarOutputError(
                f"grad of a gradient needs a scalar argument: {self.name!r} is not one here",
                hint="use s2s.hessian(f) for the matrix of second derivatives")
        first, _ = api._bound(self.func, self.wrt, "jvp")
        first_dot = api._dot_kwargs(first, {f"{self.name}_dot": None}).popitem()[0]
        target, prefix = api._unbind(first)
        gen = pipeline.derivative_code(target, (self.name,), "jvp", True)
        second = api._rebind(gen.bind(target).fn, prefix)
        one = np.ones((), dtype=np.result_type(np.asarray(self.value(args, kwargs)).dtype, np.float32)) \
            if isinstance(self.value(args, kwargs), np.ndarray) else 1.0
        second = refuses_custom_rules("grad of a gradient")(second)
        _, (_, second_order) = second(*args, **kwargs, **{first_dot: one, gen.tangent_names[self.name]: one})
        return second_order


def _forward_over_forward_second(outer, wrt):
    """The forward-over-forward second derivative grad(grad(f)) falls back to, or None where `outer` is not
    s2s.grad(f) of a plain f differentiated again with respect to the same parameter."""
    target = getattr(outer, "__s2s_target__", None)
    if not (isinstance(target, tuple) and len(target) == 4 and target[2] == "flat"):
        return None
    func, inner_wrt = target[0], target[1]
    if isinstance(inner_wrt, tuple | list):
        return None
    try:
        if pipeline._wrt_names(func, wrt)[0] != pipeline._wrt_names(func, inner_wrt)[0]:
            return None
    except (TypeError, ValueError, IndexError):
        return None
    return _SecondByForwardOverForward(func, inner_wrt)


def _second_derivative_function(inner, jvp_fn, name, dot_name):
    """A generated, source-backed function `x -> d/dx inner(x)` for a scalar x (so it nests again)."""
    code = inner.__code__
    positional = list(code.co_varnames[:code.co_argcount])
    call_args = ", ".join(positional)
    sig = ", ".join(positional)
    helper = f"{jvp_fn.__name__}"
    text = (f"def d{inner.__name__}_d{name}({sig}):\n"
            f"    if np.ndim({name}) != 0:\n"
            f"        raise TypeError('this second derivative is for a scalar {name}')\n"
            f"    value, tangent = {helper}({call_args}, {dot_name}=1.0)\n"
            f"    return tangent\n")
    fdef = ast.parse(text).body[0]
    gen_code, source, _ = codegen.compile_function(fdef, ["np", helper], f"d{inner.__name__}_d{name}")
    cells = {"np": types.CellType(np), helper: types.CellType(jvp_fn)}
    return codegen.make_function(gen_code, inner.__globals__, cells, inner.__defaults__, None, source)


def _forward_over_forward(func, wrt, args):
    """(second, first_dot, second_dot, x): the jvp of the jvp of `func` and its tangent keywords.

    `second(*args, first_dot=u, second_dot=v)` returns ((f, f'u), (f'v, u'Hv)).
    """
    second, first_dots, second_dots, xs = _joint_forward_over_forward(func, (wrt,), args)
    return second, first_dots[0], second_dots[0], xs[0]


def _joint_forward_over_forward(func, wrts, args):
    """(second, first_dots, second_dots, xs) for the parameters `wrts` together: `second(*args, **tangents)`
    with a first and a second tangent keyword per parameter returns ((f, f'u), (f'v, u'Hv)), u and v in the
    space of all of them."""
    names = [pipeline._wrt_names(func, w)[0] for w in wrts]
    params = pipeline._param_names_of(func)
    first, _ = api._bound(func, tuple(wrts) if len(wrts) > 1 else wrts[0], "jvp", args=args)
    dots = api._dot_kwargs(first, {f"{name}_dot": None for name in names})
    target, prefix = api._unbind(first)
    gen = pipeline.derivative_code(target, tuple(names), "jvp", True)
    return api._rebind(gen.bind(target).fn, prefix), list(dots), [gen.tangent_names[name] for name in names], \
        [args[params.index(name)] for name in names]


def _blocks_forward_over_forward(func, wrt, args):
    """s2s.hessian's blocks d2f / dwrt[a] dwrt[b] by forward over forward over all of `wrt` at once: entry (i, j)
    of a block is the second-order tangent for the i-th unit vector of wrt[a] and the j-th of wrt[b]."""
    second, first_dots, second_dots, xs = _joint_forward_over_forward(func, tuple(wrt), args)
    bases = [list(pytree.basis(x)) for x in xs]
    zeros = [pytree.map_leaves(lambda leaf: leaf * 0.0, basis[0]) for basis in bases]  # (each basis vector's kind)

    def entry(a, i, b, j):
        tangents = dict(zip(first_dots, zeros)) | dict(zip(second_dots, zeros))
        tangents[first_dots[a]], tangents[second_dots[b]] = bases[a][i], bases[b][j]
        _, (_, second_order) = second(*args, **tangents)
        return np.asarray(second_order).item()

    blocks = {}
    for a in range(len(wrt)):
        for b in range(a, len(wrt)):
            out = np.array([[entry(a, i, b, j) for j in range(len(bases[b]))] for i in range(len(bases[a]))])
            blocks[a, b], blocks[b, a] = pytree.pack(out, xs[a], xs[b]), pytree.pack(out.T, xs[b], xs[a])
    return tuple(tuple(blocks[a, b] for b in range(len(wrt))) for a in range(len(wrt)))


def _hessian_forward_over_forward(func, wrt, args):
    second, first_dot, second_dot, x = _forward_over_forward(func, wrt, args)
    basis = list(pytree.basis(x))
    n = len(basis)
    out = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            _, (_, second_order) = second(*args, **{first_dot: basis[i], second_dot: basis[j]})
            out[i, j] = out[j, i] = np.asarray(second_order).item()
    return pytree.pack(out, x, x)


def plain_wrt_name(func) -> str | None:
    """The parameter that the gradient function `func` (made by grad, elementwise_grad or grad of grad)
    differentiates, or None where it is not known."""
    found = getattr(func, "__s2s_plain_wrt__", None)
    return found() if callable(found) else found


def elementwise_of_derivative(outer: Callable, plain: Callable, wrt: int | str) -> Callable:
    """elementwise_grad of a gradient function (elementwise_grad(elementwise_grad(f)), elementwise_grad(grad(f))).

    The inner function P is the gradient, with respect to x, of a scalar function T: its Jacobian (T's Hessian)
    is symmetric, so the vector-Jacobian product with ones that elementwise_grad means is the Jacobian-vector
    product with ones: one forward sweep over P's generated code (which nests again: the result is the
    gradient of sum(P), with respect to the same x). Refused where `wrt` names another parameter than the
    one P differentiates (the Jacobian is then not symmetric)."""
    if isinstance(wrt, tuple | list):
        raise TypeError("elementwise_grad of a gradient takes a single wrt")
    made = {}

    def current():
        inner = plain()
        names = pipeline._wrt_names(inner, wrt)
        inner_name = plain_wrt_name(outer)
        if inner_name is None or names[0] != inner_name:
            raise NoDerivativeRuleError(
                f"elementwise_grad of a gradient differentiates it with respect to {names[0]!r}, but the gradient "
                f"is taken with respect to {inner_name!r}: s2s makes this product only for the same parameter "
                "(where the Jacobian of the gradient is symmetric)",
                hint="use s2s.jacobian(gradient_function, wrt=...) and sum its rows, or differentiate the same "
                     "parameter twice")
        jvp_fn, _ = api._bound(inner, wrt, "jvp")
        target, prefix = api._unbind(inner)
        jvp_target = api._unbind(jvp_fn)[0]
        stamp = (target, jvp_target) + prefix
        old = made.get("stamp", ())
        if len(old) != len(stamp) or any(a is not b for a, b in zip(old, stamp)):
            dot_name = api._dot_kwargs(jvp_fn, {f"{names[0]}_dot": None}).popitem()[0]
            nested = api._rebind(_ones_tangent_function(target, jvp_target, names[0], dot_name), prefix)
            made.update(stamp=stamp, nested=nested, name=names[0])
        return made

    @functools.wraps(outer)
    def gradient(*args, **kwargs):
        repeated.check(outer, args, kwargs, "elementwise_grad of a derivative")  # (one sweep, and f's value: adv230)
        return current()["nested"](*args, **kwargs)

    gradient.__s2s_target__ = None
    gradient.__s2s_plain__ = lambda: current()["nested"]
    gradient.__s2s_plain_wrt__ = lambda: current()["name"]
    gradient.__s2s_source__ = current()["nested"].__s2s_source__
    return gradient


def _ones_tangent_function(inner, jvp_fn, name, dot_name):
    """A generated, source-backed function: the tangent of `inner` along ones shaped like `name`."""
    code = inner.__code__
    positional = list(code.co_varnames[:code.co_argcount])
    call_args = ", ".join(positional)
    helper = f"{jvp_fn.__name__}"
    text = (f"def e{inner.__name__}_d{name}({call_args}):\n"
            f"    value, tangent = {helper}({call_args}, {dot_name}=np.ones(np.shape({name})) if np.ndim({name}) "
            f"else 1.0)\n"
            f"    return tangent\n")
    fdef = ast.parse(text).body[0]
    gen_code, source, _ = codegen.compile_function(fdef, ["np", helper], f"e{inner.__name__}_d{name}")
    cells = {"np": types.CellType(np), helper: types.CellType(jvp_fn)}
    return codegen.make_function(gen_code, inner.__globals__, cells, inner.__defaults__, None, source)


def pullback_of_ones_function(func: Callable, df: Callable, seed: str) -> Callable | None:
    """`def e_f(a, b): return DF(a, b, out_bar=ones_seed(F(a, b)))` with F = func and DF its generated
    reverse-mode code (`seed` its output adjoint's keyword): elementwise_grad(func) as a function with source
    s2s reads, so it is differentiated again. It is the gradient of np.sum(func(...)). None for a signature
    other than positional parameters."""
    import inspect
    import linecache
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return None
    if not params or any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params):
        return None
    names = [p.name for p in params]
    if {"F", "DF", "ones_seed"} & set(names):
        return None
    own = getattr(func, "__name__", "f")
    name = f"elementwise_grad_{own}" if own.isidentifier() else "elementwise_grad"
    args = ", ".join(names)
    text = f"def {name}({args}):\n    return DF({args}, {seed}=ones_seed(F({args})))\n"
    filename = f"<s2s elementwise_grad of {getattr(func, '__qualname__', own)} #{len(linecache.cache)}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    from s2s.runtime import custom
    namespace = {"F": func, "DF": df, "ones_seed": custom.ones_seed, "__name__": getattr(func, "__module__", None)}
    exec(compile(text, filename, "exec", dont_inherit=True), namespace)
    made = namespace[name]
    made.__defaults__ = getattr(func, "__defaults__", None)
    return made
