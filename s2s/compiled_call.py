"""The steady-state call of a compiled gradient (s2s/compiled.py): one generated function per kind of arguments.

`s2s.grad(f, compile=True)` looks up its variant by the arguments' types and shapes, checks that the
derivative is still fresh and calls numba. For a Taylor series that runs in a few hundred nanoseconds,
that work in Python would cost more than the machine code. So each variant that needs nothing but the
call gets a `hot` function written for it: cheap `type(a) is float` / shape and dtype tests of its
arguments, the variant's freshness tests inline (the same tests as `cache.Bound.fresh`, written out:
the user's function and each helper's code and defaults, every global and closure value the transform
resolved, the rule registry's version), and the call. Whatever does not pass goes to the general path,
which makes, checks and, where needed, replaces the variant.

Where every argument is a Python or NumPy float, the call skips numba's dispatcher (its type dispatch,
already done by the tests) and calls the machine code's entry point for those types.

Example::

    run = make_runner(target, state, slow)   # the function the user calls: run(x) -> state[0](x)
    state[0] = make_hot(variant, key, (0.7,), slow, on_error)
    run(0.7)               # the gradient, or slow((0.7,), None) when a test fails
"""

from __future__ import annotations

import numpy as np

from s2s import cache, rules

# argument types whose numba type is fixed by their Python type, so that the entry point compiled for them
# unboxes them exactly as the dispatcher would (arrays are not: their layout and flags are part of numba's type)
_ENTRY_TYPES = (float, np.float64, np.float32)

_MAKERS: dict = {}  # the text of a hot function -> its compiled maker (many variants share a text)


def freshness_tests(entry) -> tuple[list[str], dict]:
    """(Python expressions, the values they read by name) that are all true exactly when
    `entry.fresh()` (`cache.Bound`) is: written out so that a hot function runs them inline.
    A KeyError or ValueError raised by one means not fresh, as in Bound.fresh."""
    tests, values = ["_rules.version == _version"], {"_rules": rules, "_version": entry.version}
    for i, (func, code, defaults, kwdefaults) in enumerate(entry.funcs):
        values.update({f"_f{i}": func, f"_c{i}": code, f"_d{i}": defaults, f"_k{i}": kwdefaults})
        tests.append(f"_f{i}.__code__ is _c{i} and _f{i}.__defaults__ is _d{i} and _f{i}.__kwdefaults__ is _k{i}")
    missing = cache.MISSING
    for i, (space, key, obj) in enumerate(entry.ident):
        values.update({f"_g{i}": space, f"_n{i}": key, f"_o{i}": obj})
        # `key not in d` and `d[key] is obj` (KeyError: not fresh) are Bound.fresh's `d.get(key, M) is obj`
        tests.append(f"_n{i} not in _g{i}" if obj is missing else f"_g{i}[_n{i}] is _o{i}")
    other = []
    for i, dep in enumerate(entry.rest):
        kind, container, key, obj, mode = dep
        if kind == "d" and mode == "type" and type(obj) is not type(missing):
            values.update({f"_tg{i}": container, f"_tn{i}": key, f"_tt{i}": type(obj)})
            tests.append(f"type(_tg{i}[_tn{i}]) is _tt{i}")
        elif kind == "C" and mode == "is":
            values.update({f"_cc{i}": container, f"_co{i}": obj})
            tests.append(f"_cc{i}.cell_contents is _co{i}")
        else:
            other.append(dep)
    if other:
        values.update({"_hold": cache.deps_hold, "_other": tuple(other)})
        tests.append("_hold(_other)")
    return tests, values


def make_hot(variant, key, args: tuple, slow, on_error, data_sources=(), check_value=None, need_value=False):
    """The hot function of a compiled variant: `hot(*args)` runs the machine code when the arguments have
    the variant's kind and the variant is fresh, else returns `slow(args, None)`. A ValueError the compiled
    code raises goes to `on_error(exc, args)` (the marked fallback, or a re-raise).

    `key` is the variant's key (compiled.py: a type per scalar argument, (shape, dtype char) per array) and
    `args` the arguments it was made for;
    `data_sources` says where each value passed in after the arguments is read: ("cell", cell) or
    ("dict", namespace, name). Where the compiled code returns (value, gradient) (`variant.returns_value`),
    `check_value(value)` runs on a value that is not a float (it raises for a non-scalar output), and the
    hot function returns the gradient, or both with `need_value`."""
    n_args = len(args)
    keys = (key,) if n_args == 1 else key
    names = [f"a{i}" for i in range(n_args)]
    tests, values = [], {}
    for i, k in enumerate(keys):
        if type(k) is tuple:  # an array: (shape, dtype char)
            values.update({f"_S{i}": k[0], f"_D{i}": args[i].dtype})
            tests.append(f"type(a{i}) is _ndarray and a{i}.shape == _S{i} and a{i}.dtype is _D{i}")
        else:
            values[f"_T{i}"] = k
            tests.append(f"type(a{i}) is _T{i}")
    fresh, fresh_values = freshness_tests(variant.entry)
    values.update(fresh_values)
    tests += fresh
    call_args = list(names)
    for j, source in enumerate(data_sources):
        if source[0] == "cell":
            values[f"_cell{j}"] = source[1]
            call_args.append(f"_cell{j}.cell_contents")
        else:
            values.update({f"_ns{j}": source[1], f"_nm{j}": source[2]})
            call_args.append(f"_ns{j}[_nm{j}]")
    call = variant.call
    entry = _entry_point(call, args) if not data_sources \
        and all(type(k) is type and k in _ENTRY_TYPES for k in keys) else None
    if entry is not None:
        call, omitted = entry
        call_args += ["None"] * omitted  # the seed's default: numba's Omitted, its value unused
    values.update({"_call": call, "_slow": slow, "_on_error": on_error, "_ndarray": np.ndarray,
                   "_check_value": check_value, "_cast": variant.cast,
                   "_keep": variant.call})  # the dispatcher owns the entry point's machine code: kept alive
    params = sorted(values)
    given = f"({', '.join(names)}{',' if n_args == 1 else ''})"
    test = " and\\\n                ".join(tests)
    cast = "_cast(" if variant.cast is not None else ""  # a float32 scalar's gradient: numba returns a float
    grad = f"{cast}out[1]{')' if cast else ''}"
    if variant.returns_value:  # (value, gradient): the value must be a scalar
        result = (f"                out = _call({', '.join(call_args)})\n"
                  f"            except ValueError as exc:\n"
                  f"                return _on_error(exc, {given})\n"
                  f"            if type(out[0]) is not float:\n"
                  f"                _check_value(out[0])\n"
                  f"            return {'(out[0], ' + grad + ')' if need_value else grad}\n")
    else:
        result = (f"                return {cast}_call({', '.join(call_args)}){')' if cast else ''}\n"
                  f"            except ValueError as exc:\n"
                  f"                return _on_error(exc, {given})\n")
    text = (f"def make({', '.join(params)}):\n"
            f"    def hot({', '.join(names + [p + '=' + p for p in params])}):\n"
            f"        try:\n"
            f"            ok = ({test})\n"
            f"        except (KeyError, ValueError):  # a name deleted, a closure cell emptied\n"
            f"            ok = False\n"
            f"        if ok:\n"
            f"            try:\n"
            + result +
            f"        return _slow({given}, None)\n"
            f"    return hot\n")
    maker = _MAKERS.get(text)
    if maker is None:
        namespace: dict = {}
        exec(compile(text, "<s2s compiled call>", "exec"), namespace)  # noqa: S102 - s2s's own code
        maker = _MAKERS[text] = namespace["make"]
        if len(_MAKERS) > 256:
            _MAKERS.pop(next(iter(_MAKERS)))
    return maker(**values)


def make_runner(target, state: list, slow):
    """The function the user calls, with `target`'s own parameters (no packing of *args and **kwargs,
    which would cost more than the rest of the call): `run(x, y)` returns `state[0](x, y)`, the hot
    function of the variant called last. A parameter left out (one with a default, read by the general
    path as Python reads it) or extra positional arguments (`f.__code__` replaced by code with more
    parameters) go to `slow(args, kwargs)`. None where the signature has positional-only, keyword-only
    or variadic parameters (the caller keeps its generic `run(*args, **kwargs)`)."""
    code = target.__code__
    if code.co_posonlyargcount or code.co_kwonlyargcount or code.co_flags & 0x0C:  # CO_VARARGS | CO_VARKEYWORDS
        return None
    params = tuple(code.co_varnames[:code.co_argcount])
    if not params or any(p.startswith("_s2s_") for p in params):
        return None

    def split(values, more):
        """(args, kwargs) of a call that left some parameters out or gave more."""
        if more:
            return values + more, None
        n = next((i for i, v in enumerate(values) if v is _NO), len(values))
        return values[:n], {p: v for p, v in zip(params[n:], values[n:]) if v is not _NO}

    listed = ", ".join(params)
    text = (f"def make(_s2s_state, _s2s_slow, _s2s_no, _s2s_split):\n"
            f"    def run({', '.join(p + '=_s2s_no' for p in params)}, *_s2s_more):\n"
            f"        if {' or '.join(p + ' is _s2s_no' for p in params)} or _s2s_more:\n"
            f"            return _s2s_slow(*_s2s_split(({listed},), _s2s_more))\n"
            f"        return _s2s_state[0]({listed})\n"
            f"    return run\n")
    namespace: dict = {}
    exec(compile(text, "<s2s compiled call>", "exec"), namespace)  # noqa: S102 - s2s's own code
    return namespace["make"](state, slow, _NO, split)


class _No:
    def __repr__(self):
        return "<not given>"


_NO = _No()


def _entry_point(dispatcher, args):
    """(numba's compiled entry point for exactly these arguments' types, how many omitted defaults follow
    them), or None where the dispatcher has no such overload (or numba keeps it elsewhere)."""
    try:
        from numba.core import types as nb_types
        given = tuple(dispatcher.typeof_pyval(a) for a in args)
        for sig, cres in dispatcher.overloads.items():
            sig = tuple(sig)
            if sig[:len(given)] == given and all(isinstance(t, nb_types.Omitted) for t in sig[len(given):]):
                entry = cres.entry_point
                if callable(entry):
                    return entry, len(sig) - len(given)
    except Exception:  # noqa: BLE001 - numba internals differ: the dispatcher is the call
        return None
    return None


__all__ = ["make_hot", "make_runner", "freshness_tests"]
