"""The steady-state call of a compiled gradient (s2s/compiled.py): one generated function per kind of arguments.

`s2s.grad(f, compile=True)` looks up its variant by the arguments' types and shapes, checks that the
derivative is still fresh and calls numba. For a Taylor series that runs in a few hundred nanoseconds,
that work in Python would cost more than the machine code. So each variant that needs nothing but the
call gets a `hot` code written for it: cheap `type(a) is float` / shape and dtype tests of its
arguments, the variant's freshness tests inline (the same tests as `cache.Bound.fresh`, written out:
the user's function and each helper's code and defaults, every global and closure value the transform
resolved, the rule registry's version), and the call. Whatever does not pass goes to the general path,
which makes, checks and, where needed, replaces the variant.

The function the user calls (`make_runner`) has the user's parameters. Its code is swapped for the hot
code of the variant called last (`install`: one attribute store, so a call in another thread runs either
code whole), and every object the tests read is a constant of that code, not a default or a global: no
second Python call, nothing copied into the frame. The hot code has the runner's signature, so it takes
keywords and left-out parameters as the runner does (they go to the general path).

Where every argument is a Python or NumPy float, the call skips numba's dispatcher (its type dispatch,
already done by the tests) and calls the machine code's entry point for those types.

Example::

    run = make_runner(target, slow)        # the function the user calls: slow(args, kwargs) at first
    install(run, make_hot(variant, key, (0.7,), params, run, on_error))
    run(0.7)               # the gradient, or slow((0.7,), None) when a test fails
"""

from __future__ import annotations

import keyword
import re
import types
import warnings
import weakref

import numpy as np

from s2s import argcheck, cache, rules
from s2s.argshapes import dataclass_fields, structure_key
from s2s.tables import Table

# argument types whose numba type is fixed by their Python type, so that the entry point compiled for them
# unboxes them exactly as the dispatcher would (arrays are not: their layout and flags are part of numba's type)
_ENTRY_TYPES = (float, np.float64, np.float32)

# a gradient of these types is a number no one can change; with ndarray, the leaves a tuple of gradients is
# returned as it is when no array is in it twice (api._unshared)
FLOAT_TYPES = frozenset({float, np.float64, np.float32, np.float16})
LEAF_TYPES = FLOAT_TYPES | {np.ndarray}
_CODES = Table("hot call code", 256)  # the text of a hot function -> its code with placeholders (variants share a text)
FILENAME = "<s2s compiled call>"  # the file name of every code made here (api._made_here: s2s's own code)
_P = "_s2s_"  # the prefix of every name the generated code reads a value by; no parameter of a runner has it


def freshness_tests(entry, given=None, names=None) -> tuple[list[str], dict]:
    """(Python expressions, the values they read by name) that are all true exactly when
    `entry.fresh()` (`cache.Bound`) is: written out so that a hot function runs them inline.
    A KeyError, ValueError or NameError raised by one means not fresh, as in Bound.fresh.

    `names`: (globals, builtins, parameters) of the code the tests run in. A global name the derivative
    resolved in those globals (or, missing there, in those builtins) is then tested as Python reads it,
    `range is <builtins.range>`, which CPython answers from its cache of global names: one test in place of
    Bound.fresh's two dict lookups. It holds exactly when the name resolves to that object, which is what the
    derivative read (where Bound.fresh would also see the name moved between the two dicts, same object).

    `given`: the function whose every parameter the caller passes (the runner's hot code, which goes to the
    general path when one is left out). Where its code has no keyword-only parameters and the derivative
    never reads the function itself (a recursive call, which could use its defaults, reads it by its own
    name or by any other: a global alias, a closure cell, a module attribute; compiled code has none, as
    numba cannot call the user's functions, but the test costs nothing), its `__defaults__` and
    `__kwdefaults__` cannot change the result: their tests are left out, its `__code__` test stays."""
    tests, values = [f"{_P}rules.version == {_P}version"], {f"{_P}rules": rules, f"{_P}version": entry.version}
    for i, (func, code, defaults, kwdefaults) in enumerate(entry.funcs):
        values.update({f"{_P}f{i}": func, f"{_P}c{i}": code})
        test = f"{_P}f{i}.__code__ is {_P}c{i}"
        if not (func is given and not code.co_kwonlyargcount and not _reads_itself(entry, func, code)):
            values.update({f"{_P}d{i}": defaults, f"{_P}k{i}": kwdefaults})
            test += f" and {_P}f{i}.__defaults__ is {_P}d{i} and {_P}f{i}.__kwdefaults__ is {_P}k{i}"
        tests.append(test)
    missing = cache.MISSING
    ident = entry.ident
    if names is not None:
        global_tests, ident = _as_global_names(ident, names)
        for i, (key, obj) in enumerate(global_tests):
            values[f"{_P}go{i}"] = obj
            tests.append(f"{key} is {_P}go{i}")
    for i, (space, key, obj) in enumerate(ident):
        values.update({f"{_P}g{i}": space, f"{_P}n{i}": key, f"{_P}o{i}": obj})
        # `key not in d` and `d[key] is obj` (KeyError: not fresh) are Bound.fresh's `d.get(key, M) is obj`
        tests.append(f"{_P}n{i} not in {_P}g{i}" if obj is missing else f"{_P}g{i}[{_P}n{i}] is {_P}o{i}")
    other = []
    for i, dep in enumerate(entry.rest):
        kind, container, key, obj, mode = dep
        if kind == "d" and mode == "type" and type(obj) is not type(missing):
            values.update({f"{_P}tg{i}": container, f"{_P}tn{i}": key, f"{_P}tt{i}": type(obj)})
            tests.append(f"{_P}type({_P}tg{i}[{_P}tn{i}]) is {_P}tt{i}")
            values[f"{_P}type"] = type
        elif kind == "C" and mode == "is":
            values.update({f"{_P}cc{i}": container, f"{_P}co{i}": obj})
            tests.append(f"{_P}cc{i}.cell_contents is {_P}co{i}")
        else:
            other.append(dep)
    if other:
        values.update({f"{_P}hold": cache.deps_hold, f"{_P}other": tuple(other)})
        tests.append(f"{_P}hold({_P}other)")
    return tests, values


def _reads_itself(entry, func, code) -> bool:
    """Whether the derivative `entry` may call `func` itself (with its defaults): a name of its code is the
    function's own name, or a global, closure cell or attribute the derivative resolved holds the function."""
    if func.__name__ in code.co_names + code.co_freevars:
        return True
    return any(obj is func for *_, obj in entry.ident) or any(dep[3] is func for dep in entry.rest)


def _as_global_names(ident, names):
    """([(name, object)] of the `ident` entries (dict, name, object) that a global name read in `names` =
    (globals, builtins, parameters) tests, the entries left)."""
    space, builtin, params = names
    by_key: dict = {}
    for entry in ident:
        by_key.setdefault(entry[1], []).append(entry)
    tested, rest = [], []
    for key, entries in by_key.items():
        readable = type(key) is str and key.isidentifier() and not keyword.iskeyword(key) \
            and key not in params and not key.startswith(_P)
        kinds = {(d is space, d is builtin, o is cache.MISSING) for d, _, o in entries}
        objs = [o for d, _, o in entries if o is not cache.MISSING]
        if readable and len(entries) == 2 and kinds == {(True, False, True), (False, True, False)}:
            tested.append((key, objs[0]))  # missing from the globals, this object in the builtins
        elif readable and len(entries) == 1 and kinds == {(True, False, False)}:
            tested.append((key, objs[0]))  # this object in the globals
        else:
            rest.extend(entries)
    return tested, tuple(rest)


def _call_errors():
    """What a compiled variant's call may raise that grad's on_error takes: the marked fallback (a ValueError),
    numba's `/` of NumPy floats by zero, an index out of bounds (the compiled code checks them), and numba's
    typing of an argument the key does not tell apart (a big-endian float64 array has a native one's dtype
    char), and an int argument beyond int64 (`10**30`: "int too big to convert", before the code's own check)."""
    from numba.core.errors import TypingError
    return ValueError, ZeroDivisionError, IndexError, TypingError, OverflowError


def make_hot(variant, key, args: tuple, params: tuple, run, on_error, data_sources=(), check_value=None,
             need_value=False, given=None, space=None, passed=None, post=None) -> types.CodeType | None:
    """The hot code of a compiled variant, for the runner `run` of `params` (make_runner; `install(run,
    code)`): `run(*args)` runs the machine code when the arguments have the variant's kind and the variant is
    fresh, else returns `slow(args, kwargs)` as the runner's own code does. A ValueError the compiled code
    raises goes to `on_error(exc, args)` (the marked fallback, or a re-raise), which the code holds weakly:
    the caller keeps it. None where this Python does not compile the code as expected (the runner then
    keeps its own code: the general path on every call).

    `key` is the variant's key (compiled.py: a type per scalar argument, (shape, dtype char) per array) and
    `args` the arguments it was made for; `given` the user's function whose parameters `params` are and
    `space` the runner's (globals, builtins) (freshness_tests); `passed` how many of `args` the call gave
    (the rest are the defaults of parameters left out, which the hot code passes where they are left out);
    `data_sources` says where each value passed in after the arguments is read: ("cell", cell) or
    ("dict", namespace, name). Where the compiled code returns (value, gradient) (`variant.returns_value`),
    `check_value(value)` runs on a value that is not a float (it raises for a non-scalar output), and the
    hot code returns the gradient, or both with `need_value`. `post`: what the hot code does to the gradient
    the compiled code returns before returning it (a tuple of gradients: float32 numbers made so, arrays shared
    between them copied), or None for nothing (`variant.cast` aside)."""
    n_args = len(args)
    keys = (key,) if n_args == 1 else key
    names = list(params)
    passed = n_args if passed is None else passed
    tests, values = _guard(variant.entry, keys, args, names, given, space, passed)
    call_args = _arguments(names, args, passed, values)
    given_ = f"({', '.join(call_args)}{',' if n_args == 1 else ''})"
    for j, source in enumerate(data_sources):
        if source[0] == "cell":
            values[f"{_P}cell{j}"] = source[1]
            call_args.append(f"{_P}cell{j}.cell_contents")
        else:
            values.update({f"{_P}ns{j}": source[1], f"{_P}nm{j}": source[2]})
            call_args.append(f"{_P}ns{j}[{_P}nm{j}]")
    call = variant.call
    entry = _entry_point(call, args) if not data_sources \
        and all(type(k) is type and k in _ENTRY_TYPES for k in keys) else None
    if entry is not None:
        call, omitted = entry
        call_args += ["None"] * omitted  # the seed's default: numba's Omitted, its value unused
    values.update({f"{_P}call": call, f"{_P}slow": _slow_of(run), f"{_P}on_error": weakref.proxy(on_error),
                   f"{_P}check_value": check_value, f"{_P}cast": variant.cast,
                   f"{_P}float": float, f"{_P}errors": (KeyError, ValueError, NameError),
                   f"{_P}call_errors": _call_errors()})
    if post is not None:
        values[f"{_P}cast"] = post
    cast = f"{_P}cast(" if variant.cast is not None or post is not None else ""  # (numba returns float32 as float)
    grad = f"{cast}{_P}out[1]{')' if cast else ''}"
    if variant.returns_value:  # (value, gradient): the value must be a scalar
        result = (f"            {_P}out = {_P}call({', '.join(call_args)})\n"
                  f"        except {_P}call_errors as {_P}exc:\n"
                  f"            return {_P}on_error({_P}exc, {given_})\n"
                  f"        if {_P}type({_P}out[0]) is not {_P}float:\n"
                  f"            {_P}check_value({_P}out[0])\n"
                  f"        return {'(' + _P + 'out[0], ' + grad + ')' if need_value else grad}\n")
    else:
        pair = "(None, " if need_value else ""  # no value to give: the general path's (None, gradient)
        result = (f"            return {pair}{cast}{_P}call({', '.join(call_args)}){')' if cast else ''}"
                  f"{')' if need_value else ''}\n"
                  f"        except {_P}call_errors as {_P}exc:\n"
                  f"            return {_P}on_error({_P}exc, {given_})\n")
    text = _hot_text(names, tests, result)
    keep = (variant.call,)  # the dispatcher owns the entry point's machine code: kept alive by the code
    return _with_constants(text, values, keep)


def _arguments(names, args, passed, values) -> list[str]:
    """The expressions a hot code passes for `args`: the first `passed` parameters, then each later argument
    (a left-out parameter's default, as the general call completes it) read as a constant of the code."""
    out = list(names[:passed])
    for i in range(passed, len(args)):
        values[f"{_P}dv{i}"] = args[i]
        out.append(f"{_P}dv{i}")
    return out


def _guard(entry, keys, args, names, given, space, passed) -> tuple[list[str], dict]:
    """(the tests a hot code runs before its call, the values they read): no extra positional arguments, each
    of the first `passed` arguments of the kind its key says (a type, an array's (shape, dtype char): the
    array's exact type, shape and dtype object, which for an array of another dtype object with the same char
    only sends the call to the general path, or a container's `argshapes.structure_key`), each later parameter
    left out (the runner's marker), the shape
    and dtype of each default array passed for one as its key says, and the variant fresh (freshness_tests; a
    left-out parameter's default is then part of it)."""
    tests, values = [f"not {_P}more"], {f"{_P}type": type, f"{_P}ndarray": np.ndarray}
    if passed < len(names):
        values[f"{_P}NO"] = _NO
        tests += [f"{a} is {_P}NO" for a in names[passed:]]
        given = None
    for i, k in enumerate(keys[:passed]):
        inline = _kind_tests(names[i], k, args[i], f"{i}", values, [_INLINE_LEAVES])
        if inline is not None:
            tests += inline
        else:  # (a list, tuple or dict of more leaves: its structure key, one call)
            values.update({f"{_P}structure": structure_key, f"{_P}K{i}": k})
            tests.append(f"{_P}structure({names[i]}) == {_P}K{i}")
    for i in range(passed, len(args)):  # a default array the code was made for may be reshaped in place
        if type(keys[i]) is tuple and isinstance(args[i], np.ndarray):  # (not a list default: adv230)
            values.update({f"{_P}dv{i}": args[i], f"{_P}S{i}": keys[i][0], f"{_P}D{i}": args[i].dtype})
            tests.append(f"{_P}dv{i}.shape == {_P}S{i} and {_P}dv{i}.dtype is {_P}D{i}")
    fresh, fresh_values = freshness_tests(entry, given, space and (*space, set(names)))
    values.update(fresh_values)
    return tests + fresh, values


_INLINE_LEAVES = 12  # (a container with more leaves is tested by argshapes.structure_key, one call)
_CONTAINER_OF = {"[": list, "(": tuple, "{": dict}


def _kind_tests(ref, key, value, tag, values, budget):
    """Tests that the value `ref` names is of the kind `key` says (`value`, the one the variant was made for, is):
    an array's (shape, dtype char): its exact type, shape and dtype object; a list's, tuple's or dict's structure
    (`_structure_tests`); else a type, that of a number, a string or another object (false for the runner's
    marker of a left-out parameter). None where a container holds more than `budget` leaves."""
    if type(key) is tuple and key and type(key[0]) is str:
        return _structure_tests(ref, key, value, tag, values, budget)
    if type(key) is tuple:
        values.update({f"{_P}S{tag}": key[0], f"{_P}D{tag}": value.dtype})
        return [f"{_P}type({ref}) is {_P}ndarray and {ref}.shape == {_P}S{tag} and {ref}.dtype is {_P}D{tag}"]
    values[f"{_P}T{tag}"] = key
    if argcheck.may_change(value):  # (an object's attributes may change between calls: api._runner's `watched`)
        values[f"{_P}settled"] = argcheck.settled
        return [f"{_P}type({ref}) is {_P}T{tag} and {_P}settled({ref}) is not False"]
    return [f"{_P}type({ref}) is {_P}T{tag}"]


def _structure_tests(ref, key, value, tag, values, budget):
    """Tests that hold exactly where `argshapes.structure_key` of the value `ref` names would equal `key` (that
    of `value`, the argument the variant was made for), written out: the container's type and length, a dict's
    keys in order, each array item's exact type, shape and dtype object, each number's and string's type; a
    nested list, tuple or dict the same way (`_kind_tests` of each item). One Python expression per test, in the
    hot code's guard: a few hundred nanoseconds where the call costs a microsecond or more. None where `key`
    holds more leaves than `budget` has left."""
    if key[0] in ("N", "."):
        return _record_tests(ref, key, value, tag, values, budget)
    container = _CONTAINER_OF.get(key[0])
    if container is None or type(value) is not container or len(value) != len(key) - 1:
        return None
    values.update({f"{_P}C{tag}": container, f"{_P}len": len, f"{_P}tuple": tuple})
    tests = [f"{_P}type({ref}) is {_P}C{tag}", f"{_P}len({ref}) == {len(key) - 1}"]
    if container is dict:
        keys = tuple(k for k, _ in key[1:])
        if keys != tuple(value):
            return None
        values[f"{_P}keys{tag}"] = keys
        tests.append(f"{_P}tuple({ref}) == {_P}keys{tag}")
        values.update({f"{_P}key{tag}_{j}": k for j, k in enumerate(keys)})  # (one constant each: `'...'[0]` folds)
        parts = [(f"{ref}[{_P}key{tag}_{j}]", item, value[k]) for j, (k, item) in enumerate(key[1:])]
    else:
        parts = [(f"{ref}[{j}]", item, value[j]) for j, item in enumerate(key[1:])]
    for j, (item_ref, item, item_value) in enumerate(parts):
        budget[0] -= 1
        inner = _kind_tests(item_ref, item, item_value, f"{tag}_{j}", values, budget) if budget[0] >= 0 else None
        if inner is None:
            return None
        tests += inner
    return tests


def _record_tests(ref, key, value, tag, values, budget):
    """`_structure_tests` of a namedtuple's or dataclass's key: its exact class, then each field read as the
    derivative reads it (`p.W`) tested as `_kind_tests` says."""
    if type(value) is not key[1]:
        return None
    values.update({f"{_P}C{tag}": key[1], f"{_P}getattr": getattr})
    tests = [f"{_P}type({ref}) is {_P}C{tag}"]
    names = key[1]._fields if key[0] == "N" else dataclass_fields(key[1])
    for j, (name, item) in enumerate(zip(names, key[2:])):
        budget[0] -= 1
        # (read as the derivative reads it; a field not set on this instance is None, no value a key holds)
        read = f"{_P}getattr({ref}, {name!r}, None)"
        inner = _kind_tests(read, item, getattr(value, name), f"{tag}_{j}", values, budget) \
            if budget[0] >= 0 else None
        if inner is None:
            return None
        tests += inner
    return tests


def make_hot_numpy(entry, key, args: tuple, params: tuple, run, failed, done, plain: bool, given=None,
                   space=None, passed=None, value_first=False) -> types.CodeType | None:
    """The hot code of a variant of the NumPy path (s2s.api's grad and value_and_grad), for the runner `run`
    of `params` (make_runner): where the arguments have the variant's kind (`key`: a type per number, (shape, dtype char) per
    array) and the variant (`entry`, a cache.Bound) is fresh, it calls `entry.fn` and returns
    `done(out, args)` (the general call's handling of what the generated function returned) or, where
    `plain` (its gradient is given as the generated function returns it, unless it is a list or dict, or a
    tuple of other than numbers and distinct arrays: api._unshared), the output itself, or with `value_first`
    (the generated function returns (value, gradient), and the call the gradient) its gradient where the
    value is a float; an exception from the call goes to `failed(exc, args)`. Else `slow(args, kwargs)`, as
    the runner's own code. None where this Python does not compile the code as expected. `passed`: how many
    of `args` the call gave, as make_hot's (by default all of them; fewer than `params`: the rest left out).

    Example::

        run = make_runner(target, slow)
        install(run, make_hot_numpy(entry, float, (2.3,), ("a",), run, failed, done, True, target))
        run(2.3)               # entry.fn(2.3), or slow((2.3,), None) when a test fails
    """
    keys = (key,) if len(args) == 1 else key
    names = list(params)
    passed = len(args) if passed is None else passed
    tests, values = _guard(entry, keys, args, names, given, space, passed)
    call_args = _arguments(names, args, passed, values)
    values.update({f"{_P}call": entry.fn, f"{_P}slow": _slow_of(run), f"{_P}failed": failed,
                   f"{_P}done": done, f"{_P}containers": (list, tuple, dict), f"{_P}exception": Exception,
                   f"{_P}errors": (KeyError, ValueError, NameError), f"{_P}tuple": tuple,
                   f"{_P}floats": FLOAT_TYPES, f"{_P}leaves": LEAF_TYPES, f"{_P}map": map, f"{_P}id": id,
                   f"{_P}set": set, f"{_P}len": len})
    given_ = f"({', '.join(call_args)}{',' if len(call_args) == 1 else ''})"
    result = ""
    if plain:
        g = f"{_P}g" if value_first else f"{_P}out"
        kinds = f"{_P}map({_P}type, {g})"
        as_is = (f"{_P}type({g}) not in {_P}containers or {_P}type({g}) is {_P}tuple and ("
                 f"{_P}floats.issuperset({kinds}) or {_P}leaves.issuperset({kinds}) and "
                 f"{_P}len({_P}set({_P}map({_P}id, {g}))) == {_P}len({g}))")
        if value_first:
            result = (f"        if {_P}type({_P}out[0]) in {_P}floats:\n"
                      f"            {g} = {_P}out[1]\n"
                      f"            if {as_is}:\n"
                      f"                return {g}\n")
        else:
            result = (f"        if {as_is}:\n"
                      f"            return {g}\n")
    text = _hot_text(names, tests,
                     f"            {_P}out = {_P}call({', '.join(call_args)})\n"
                     f"        except {_P}exception as {_P}exc:\n"
                     f"            return {_P}failed({_P}exc, {given_})\n"
                     + result +
                     f"        return {_P}done({_P}out, {given_})\n")
    return _with_constants(text, values)


def _hot_text(names, tests, call) -> str:
    """The text of a hot code: `tests` (each a Python expression; one raising KeyError, ValueError or
    NameError counts as false), then `call` (the lines of a `try:` block and its handlers, indented eight
    spaces) where they all hold, else the runner's general call."""
    given = f"({', '.join(names)}{',' if len(names) == 1 else ''})"
    test = " and\\\n            ".join(tests)
    return (f"def run({', '.join(names)}, *{_P}more):\n"
            f"    try:\n"
            f"        {_P}ok = ({test})\n"
            f"    except {_P}errors:  # a name deleted, a closure cell emptied\n"
            f"        {_P}ok = False\n"
            f"    if {_P}ok:\n"
            f"        try:\n"
            + call +
            f"    return {_P}slow({given}, {_P}more)\n")


def install(run, code) -> None:
    """Make `code` (make_hot's, or the runner's first code) the code of the runner `run`."""
    run.__code__ = code


def make_runner(target, slow):
    """The function the user calls, with `target`'s own parameters (no packing of *args and **kwargs,
    which would cost more than the rest of the call), or None where the signature has positional-only,
    keyword-only or variadic parameters (the caller keeps its generic `run(*args, **kwargs)`). Its first
    code calls `slow(args, kwargs)`; `install` gives it a variant's hot code. A parameter left out (one with
    a default, read by the general path as Python reads it) or extra positional arguments (`f.__code__`
    replaced by code with more parameters) go to `slow` from any code."""
    code = target.__code__
    if code.co_posonlyargcount or code.co_kwonlyargcount or code.co_flags & 0x0C:  # CO_VARARGS | CO_VARKEYWORDS
        return None
    params = tuple(code.co_varnames[:code.co_argcount])
    if not params or any(p.startswith(_P) for p in params):
        return None
    listed = ", ".join(params)
    text = (f"def run({listed}, *{_P}more):\n"
            f"    return {_P}slow(({listed},), {_P}more)\n")
    cold = _cold(slow, params)
    first = _with_constants(text, {f"{_P}slow": weakref.proxy(cold)})
    if first is None:
        return None
    # the user's globals: a global name in a hot code resolves as in the user's function (freshness_tests)
    run = types.FunctionType(first, target.__globals__, target.__name__, (_NO,) * len(params))
    # The runner holds its general call, which holds the runner: a cycle the collector frees. Its codes read
    # the call through a weak reference, as the collector does not look into a code's constants.
    run.__s2s_cold__ = cold
    run.__s2s_params__ = params  # (s2s.grad(f) again makes a new runner where f's code names others)
    return run


def _slow_of(run):
    """The general call of the runner `run`, as its codes read it (weakly)."""
    return weakref.proxy(run.__s2s_cold__)


def global_names(run):
    """(globals, builtins) the codes of the runner `run` read global names in, or None where unknown."""
    builtin = getattr(run, "__builtins__", None)  # Python 3.10+
    return (run.__globals__, builtin) if type(builtin) is dict else None


def _cold(slow, params):
    """slow(args, kwargs) for the runner's values (each given, or the marker of a left-out parameter) and the
    positional arguments past them."""
    def cold(values, more):
        if more:
            return slow(values + more, None)
        n = next((i for i, v in enumerate(values) if v is _NO), len(values))
        if n == len(values):
            return slow(values, None)
        return slow(values[:n], {p: v for p, v in zip(params[n:], values[n:]) if v is not _NO})
    return cold


def _with_constants(text, values, keep=()):
    """The code of the one function `text` defines, each name of `values` read as a constant of the code
    (the name's placeholder string in the text, replaced by the object); `keep` are objects held by the
    code besides. None where the compiled code does not hold each placeholder as one constant.

    A code object hashes its constants, and s2s keys tables by code (runtime/calls.py, cache.py): a value
    that is not hashable (a namespace dict, an array a derivative read) is read as an attribute of one
    hashable holder, the constant in its place."""
    held = {name: obj for name, obj in values.items() if not _hashable(obj)}
    if not all(_hashable(obj) for obj in keep):
        held[f"{_P}keep"], keep = tuple(keep), ()
    values = {name: obj for name, obj in values.items() if name not in held}
    if held:
        values[f"{_P}held"] = holder = _Held()
        holder.__dict__.update(held)

    def placeholder(m):
        name = m.group(0)
        if name in values:
            return repr(f"\x00{name}")
        return f"{repr(chr(0) + _P + 'held')}.{name}" if name in held else name

    placeholders = {f"\x00{name}": obj for name, obj in values.items()}
    body = re.sub(r"\b" + re.escape(_P) + r"\w+", placeholder, text)
    code = _CODES.find(body)
    if code is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # `x is <a constant>`: the constant is not a literal
            module = compile(body, FILENAME, "exec")
        code = next(c for c in module.co_consts if isinstance(c, types.CodeType))
        _CODES.put(body, code)
    used = {c for c in code.co_consts if type(c) is str and c.startswith("\x00")}
    words = set(re.findall(r"\w+", text))  # (one scan: a name is read where it is one of the text's words)
    read = {name for name in (*values, *held) if name in words}
    if any(f"\x00{name}" not in used for name in values if name in read) \
            or (read & held.keys() and f"\x00{_P}held" not in used) or not used <= placeholders.keys():
        return None
    consts = tuple(placeholders[c] if type(c) is str and c in placeholders else c for c in code.co_consts)
    return code.replace(co_consts=consts + tuple(keep))


class _Held:
    """The values a hot code reads that are not hashable, as attributes (hashed, as compared, by identity)."""


def _hashable(obj) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


class _No:
    def __repr__(self):
        return "<not given>"


_NO = _No()


def _entry_point(dispatcher, args):
    """(numba's compiled entry point for exactly these arguments' types, how many omitted defaults follow
    them), or None where the dispatcher has no such overload (or numba keeps it elsewhere).

    The dispatcher's own entry point releases the GIL around the machine code (s2s compiles with
    nogil=True), which costs about 40 ns a call. Where a call takes under `_KEEP_GIL_S` (the best of three,
    timed here), the entry point is a wrapper of the same machine code that keeps the GIL: other threads
    gain nothing from so short a release."""
    try:
        from numba.core import types as nb_types
        given = tuple(dispatcher.typeof_pyval(a) for a in args)
        for sig, cres in dispatcher.overloads.items():
            sig = tuple(sig)
            if sig[:len(given)] == given and all(isinstance(t, nb_types.Omitted) for t in sig[len(given):]):
                entry = cres.entry_point
                if callable(entry):
                    omitted = len(sig) - len(given)
                    if _short(entry, args + (None,) * omitted):
                        entry = _holding_gil(cres) or entry
                    return entry, omitted
    except Exception:  # noqa: BLE001 - numba internals differ: the dispatcher is the call
        return None
    return None


_KEEP_GIL_S = 20e-6


def _short(entry, args) -> bool:
    import time
    best = 1.0
    for _ in range(3):
        start = time.perf_counter()
        try:
            entry(*args)
        except Exception:  # noqa: BLE001 - the call will raise it again, where it is handled
            return False
        best = min(best, time.perf_counter() - start)
        if best > _KEEP_GIL_S:
            return False
    return best <= _KEEP_GIL_S


def _holding_gil(cres):
    """numba's CPython wrapper of the compiled function `cres`, made again with `release_gil=False`, or None
    where numba's internals are not as expected."""
    try:
        from numba import _dynfunc
        from numba.core.compiler_lock import global_compiler_lock
        context, fndesc = cres.target_context, cres.fndesc
        with global_compiler_lock:
            library = context.codegen().create_library(f"s2s_gil_{fndesc.mangled_name}")
            library.add_linking_library(cres.library)
            context.create_cpython_wrapper(library, fndesc, cres.environment, cres.call_helper, release_gil=False)
            library.finalize()
            pointer = library.get_pointer_to_function(fndesc.llvm_cpython_wrapper_name)
        return _dynfunc.make_function(fndesc.lookup_module(), fndesc.qualname.split(".")[-1],
                                      f"s2s: {fndesc.qualname}, the GIL kept", pointer, cres.environment,
                                      (library, cres.library))
    except Exception:  # noqa: BLE001 - numba internals differ: the dispatcher's own entry point
        return None


__all__ = ["make_hot", "make_hot_numpy", "make_runner", "install", "freshness_tests"]
