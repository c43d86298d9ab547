"""What the passes need from the rest of s2s, handed to them by `s2s.pipeline`.

The modules of `s2s.transforms` import each other, the standard library and NumPy only; never
`s2s.api`, `s2s.rules`, `s2s.runtime`, `s2s.errors` or `s2s.frontend`. Whatever a pass needs from
there -- the rule lookup, the marker for names that denote nothing, the runtime helpers, parsing
a user function, the exception classes to raise -- it reads from the `Context` of the run it is
part of: `s2s.pipeline` builds one and runs every pass of a derivative inside `using(context)`, so
each run states the context its passes see (and a test may run a pass under a context of its own:
`with using(Context(...)): ...`). Outside any run, `ctx()` falls back to the context installed
for the process (`install`, which `s2s.pipeline` does on import for passes called on their own).

Errors are constructed, not imported: `raise pf.error(ctx().unsupported, message, node, hint=...)`,
so the exception classes stay in s2s/errors.py.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Context:
    lookup: Callable[[Any], Any]  # a callable object or an operator's name ("op:add") -> its rule, or None
    missing: Any  # the marker name resolution returns for a name that denotes nothing
    runtime: Any  # the runtime helpers, the object called `s2s` inside generated code
    parse_function: Callable[[Any], Any]  # a user function -> its parsed form (frontend.ParsedFunction)
    unsupported: type = SyntaxError  # raised for a construct s2s refuses (s2s.UnsupportedSyntaxError)
    no_rule: type = TypeError  # raised for a call without a derivative rule (s2s.NoDerivativeRuleError)
    runtime_module: str = "s2s.runtime"  # the module (or package) the runtime helpers are defined in
    method: Callable[[str], Any] = lambda name: None  # an ndarray method's name -> the function whose rule lists it
    # a function -> whether s2s reads and transforms it (the user's own code), not an installed library's
    user_code: Callable[[Any], bool] = lambda func: True
    # (function, call node) -> (message, hint) of the error for a call without a rule (frontend.no_rule_text)
    no_rule_text: Callable[[Any, Any], tuple] = lambda func, call: (
        f"s2s has no derivative rule for {getattr(func, '__qualname__', None) or func!r}",
        "register one with s2s.defvjp(...), or wrap the value in s2s.stop_gradient(...)")
    # what s2s knows about an object: its rule, or the facts stated for a function without one (rules.record);
    # None: the rule alone
    record: Callable[[Any], Any] | None = None
    # a callable -> what its call (or `x.view(it)`) makes where s2s refuses it ("an array of class M"), else None
    makes_refused: Callable[[Any], Any] = lambda obj: None
    # (kind, container, key, value): a read a pass made without name resolution (an attribute or item a callee is
    # reached through: transforms/callees.follow), noted so that code made from it is stale once it changes;
    # kinds "a" (attribute), "d" (dict item), "i" (list or tuple item)
    note_read: Callable[..., Any] = lambda kind, container, key, value: None

    def has_rule(self, obj) -> bool:
        try:
            return self.lookup(obj) is not None
        except TypeError:  # unhashable
            return False

    def rule_for(self, obj):
        """The rule of `obj`, or None (also for the missing marker)."""
        return self.lookup(obj) if obj is not self.missing else None

    def fact(self, obj, name: str, default=False):
        """One fact the rule of `obj` states (`elementwise`, `real`, `safe`, `safe_if_nonempty`, `reduction`,
        `result_shape`, `result_value`, `returns_view`, `mutates`, `methods`, `array_method`, `sympy`: see
        s2s/rules/__init__.py), or `default` where `obj` has no rule and no stated facts (`rules.facts`)."""
        if obj is None or obj is self.missing:
            return default
        try:
            rule = (self.record or self.lookup)(obj)
        except TypeError:  # unhashable
            return default
        return default if rule is None else getattr(rule, name, default)

    def is_runtime_helper(self, obj) -> bool:
        module = getattr(obj, "__module__", None) or ""
        return module == self.runtime_module or module.startswith(self.runtime_module + ".")


_current: Context | None = None
_run: contextvars.ContextVar[Context | None] = contextvars.ContextVar("transforms_context", default=None)


def install(context: Context) -> Context | None:
    """Make `context` the one passes use outside any run (`using`); returns the one it replaces."""
    global _current
    previous, _current = _current, context
    return previous


@contextlib.contextmanager
def using(context: Context):
    """Run the passes called inside the block with `context` (per thread and task; runs nest)::

        with using(Context(lookup=my_rules.get, missing=MISSING, runtime=my_runtime, parse_function=parse)):
            lower.lower(pf, tree, alloc, names)
    """
    token = _run.set(context)
    try:
        yield context
    finally:
        _run.reset(token)


def ctx() -> Context:
    """The context of the run in progress (`using`), else the one installed for the process."""
    current = _run.get()
    if current is not None:
        return current
    if _current is None:
        raise RuntimeError("s2s.transforms needs a Context: import s2s.pipeline, or call "
                           "s2s.transforms.context.install(Context(...)) first")
    return _current


def note_read(kind, container, key, value) -> None:
    """The context's `note_read(kind, container, key, value)` where one is installed or running; nothing otherwise
    (a pass called on its own, with no derivative cache to tell).

        >>> note_read("a", object(), "g", None)   # nothing to note without a context
    """
    current = _run.get() or _current
    if current is not None:
        current.note_read(kind, container, key, value)


def missing():
    """The marker name resolution returns for a name that denotes nothing (the installed context's)."""
    return ctx().missing
