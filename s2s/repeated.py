"""Refuse derivatives that evaluate the user's function several times where the evaluations may differ.

jacfwd (one forward sweep per input direction), hessian (one sweep per row), and a call of
`s2s.grad(L)` inside a differentiated function (its value and its derivative sweeps) run the
function more than once with the same arguments. Where the function draws random numbers
(`rng.normal()`, `np.random.*`) or calls a method that changes an argument object, each run sees
other values and the columns would come from different functions. s2s reads the function
(transforms/effects.py, with the objects its arguments are bound to) and refuses it then.

    >>> import numpy as np
    >>> def f(x, rng):
    ...     return np.sum(x * rng.normal(size=3))
    >>> check(f, (np.ones(3), np.random.default_rng(0)), {}, "s2s.jacfwd")
    Traceback (most recent call last):
    ...
    s2s.errors.UnsupportedSyntaxError: s2s.jacfwd evaluates f once per direction ...
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator

from s2s.errors import UnsupportedSyntaxError

_HINT = ("draw the random numbers outside the function and pass them in as an argument "
         "(`noise = rng.normal(size=n); jacfwd(f)(x, noise)`), or use s2s.jacrev / s2s.grad, which "
         "evaluate the function once")

_STORE_HINT = ("store the attribute as the function's first statement (`self.h = ...` before anything reads "
               "self.h), so that no evaluation reads what the last one stored, or keep the value in a local "
               "name and store it after differentiating; s2s.jacrev / s2s.grad evaluate the function once")


_ITERATOR_HINT = ("chain lists or arrays (`chain(list(part), ...)`, made in the function from what an iterator "
                  "gives), or use s2s.jacrev / s2s.grad, which evaluate the function once")

_MODULE_ITERATOR_HINT = ("keep a list of its items at module level (`items = list(...)`) and read that, or pass "
                         "them in as an argument; s2s.jacrev / s2s.grad evaluate the function once")

_CONSTRUCT_HINT = ("construct the object outside the function and pass it in as an argument (`obj = YourClass(...); "
                   "hessian(f)(x, obj)`), or use s2s.jacrev / s2s.grad, which evaluate the function once")

_GLOBAL_HINT = ("pass the global's value in as an argument and return its new value, or update it outside the "
                "function; s2s.jacrev / s2s.grad evaluate the function once")

_METHOD_HINT = ("where the method only reads its object, write what it reads with indexing (a dict's "
                "`d.get(k, v)` as `d[k] if k in d else v`), or call it outside the function and pass its result in; "
                "s2s.jacrev / s2s.grad evaluate the function once")

_SHARED_HINT = ("make the list or dict inside the function (`def f(x, memo=None): memo = [] if memo is None else "
                "list(memo)`), or use s2s.jacrev / s2s.grad, which evaluate the function once")


def check(func: Callable, args: tuple, kwargs: dict, what: str) -> None:
    """Raise UnsupportedSyntaxError where `func(*args, **kwargs)`, evaluated several times by `what`, may
    see other values each time (random draws, methods that change an argument)."""
    from s2s import compose
    from s2s.transforms import effects
    spec = compose.of(func)
    if spec is not None:
        func = spec.func
    # (a derivative s2s made of the user's function, elementwise_grad(f) or grad(f), takes f's arguments and
    # evaluates f: f is what may see other values each time; adv230)
    while getattr(func, "__s2s_made__", False) and callable(getattr(func, "__wrapped__", None)):
        func = func.__wrapped__
    target = getattr(func, "__func__", func)  # a bound method: its function, with self bound
    if not inspect.isfunction(target) or not _user_code(target):
        return  # s2s's own generated code: the function it was made from is checked where it is given
    try:
        bound = inspect.signature(func).bind_partial(*args, **kwargs).arguments
    except TypeError:
        return  # the call itself is refused elsewhere with its own message
    if target is not func:
        first = next(iter(inspect.signature(target).parameters), None)
        if first is not None:
            bound = {first: func.__self__, **bound}
    for name, value in bound.items():
        inner = _held_iterator(value)
        if inner is None:
            continue
        if inner is not value:
            raise UnsupportedSyntaxError(
                f"{what} evaluates {target.__name__} once per direction (and once for its value), with the same "
                f"arguments, and its argument {name} holds a {type(inner).__name__}, an iterator: the first "
                "evaluation may take its items, and the next would find them gone",
                hint=f"pass lists of its items instead (`list(it)` for each iterator in {name}), or use s2s.jacrev / "
                     "s2s.grad, which evaluate the function once")
        raise UnsupportedSyntaxError(
            f"{what} evaluates {target.__name__} once per direction (and once for its value), with the same "
            f"arguments, and its argument {name} is a {type(value).__name__}, an iterator: the first evaluation "
            "takes its items, and the next would find them gone",
            hint=f"pass a list of its items (`list({name})`), or use s2s.jacrev / s2s.grad, which evaluate the "
                 "function once")
    found = effects.known_effect(target, bindings=dict(bound))
    if found is None or found[0] is None and found[2] == "has no source s2s can read":
        return  # (the transform says so itself, with its own hint: SourceUnavailableError)
    pf, node, reason = found
    message = (f"{what} evaluates {target.__name__} once per direction (and once for its value), with the "
               f"same arguments, and {target.__name__} {reason}: each evaluation would see other values, and "
               "the derivative would mix them")
    hint = _STORE_HINT if "attribute" in reason else _SHARED_HINT if "in place" in reason else \
        _CONSTRUCT_HINT if "constructs a" in reason else \
        _ITERATOR_HINT if "iterator made outside" in reason else \
        _MODULE_ITERATOR_HINT if "an iterator of its module" in reason else \
        _METHOD_HINT if "a method of an object" in reason else _GLOBAL_HINT if "global name" in reason else _HINT
    if pf is not None and node is not None:
        raise pf.error(UnsupportedSyntaxError, message, node, hint=hint)
    raise UnsupportedSyntaxError(message, hint=hint)


def _held_iterator(value, depth=3):
    """The first iterator `value` is or holds in its lists, tuples and dicts (a few levels deep), else None."""
    if isinstance(value, Iterator):
        return value
    if depth and isinstance(value, list | tuple | dict):
        for item in value.values() if isinstance(value, dict) else value:
            found = _held_iterator(item, depth - 1)
            if found is not None:
                return found
    return None


def _user_code(func) -> bool:
    from s2s.transforms.context import ctx
    return ctx().user_code(func) and not getattr(func, "__s2s_made__", False) and \
        not func.__code__.co_filename.startswith("<s2s")  # code s2s generated
