"""Library functions replaced by assignment: `np.cos = np.sin`, `mock.patch("numpy.exp", ...)`.

s2s's derivative formulas and runtime helpers call NumPy's and math's functions by name when they run
(`g * np.cos(x)` is the adjoint of `np.sin(x)`). While one of those names holds another object, such a
derivative would be silently wrong, so s2s watches the modules its own code reads:

- an assignment to (or deletion of) a name the module had when s2s took its snapshot makes every cached
  derivative stale, as a new rule does (`on_change`, which bumps `rules.version`);
- a derivative made while a name s2s's code reads holds another object than in the snapshot is refused,
  naming it (`refuse_replaced`); restoring the name lets s2s differentiate again.

The snapshot is taken when s2s is imported, for the modules already loaded then (`math` is imported
then), or else the moment NumPy's own import ends (`import s2s` before `import numpy`: `install`'s finder
sees it end). A replacement made before that is not seen; nor is one written into the module's `__dict__`
directly after a derivative was cached (that skips the assignment the watch sees). The same finder
refuses to load s2s's own modules while a name is replaced: their tables (the rules' keys, the passes'
sets of functions) take NumPy's and math's functions as they find them, and would keep a replacement.

    >>> import numpy as np, s2s
    >>> genuine = np.cos
    >>> np.cos = np.sin
    >>> s2s.grad(lambda x: np.sin(x))(1.0)
    Traceback (most recent call last):
    ...
    s2s.errors.NoDerivativeRuleError: s2s cannot differentiate '<lambda>' while np.cos is replaced ...
    >>> np.cos = genuine
"""

from __future__ import annotations

import functools
import importlib
import math
import sys
import types
from typing import Callable

WATCHED = ("numpy", "numpy.linalg", "math")  # the modules s2s's formulas and runtime helpers read by name
_PREFIXES = {"np": "numpy", "numpy": "numpy", "math": "math"}  # how s2s's own source names them

_snapshots: dict[str, tuple[types.ModuleType, dict]] = {}  # module name -> (module, its namespace as taken)
_listeners: list[Callable[[], None]] = []
_MISSING = object()


def watch_loaded(on_change: Callable[[], None] | None = None) -> None:
    """Take the snapshot of every watched module already imported that has none yet, and watch its
    assignments; `on_change` (once) is called after each assignment to a name in a snapshot.

        >>> watch_loaded()  # at `import s2s`, and again when the rules load
    """
    if on_change is not None and on_change not in _listeners:
        _listeners.append(on_change)
    for name in WATCHED:
        module = sys.modules.get(name)
        if module is None or name in _snapshots:
            continue
        _snapshots[name] = (module, dict(vars(module)))
        module.__class__ = _watched_class(type(module))


@functools.lru_cache(maxsize=None)
def _watched_class(base: type) -> type:
    """`base` (a module type) whose instances tell the listeners when a name of their snapshot changes."""

    class Watched(base):
        __slots__ = ()

        def __setattr__(self, name, value):
            super().__setattr__(name, value)
            _changed(self, name)

        def __delattr__(self, name):
            super().__delattr__(name)
            _changed(self, name)

        def __reduce__(self):  # by name, as cloudpickle does a module, whose table has `type(np) is ModuleType`
            return importlib.import_module, (self.__name__,)

    Watched.__name__ = Watched.__qualname__ = base.__name__  # type(np) still reads <class 'module'>
    Watched.__module__ = base.__module__
    return Watched


def _changed(module, name: str) -> None:
    taken = _snapshots.get(getattr(module, "__name__", None))
    if taken is not None and taken[0] is module and name in taken[1]:
        for listener in _listeners:
            listener()


def replaced() -> list[tuple[str, object]]:
    """(dotted name, what it holds now) for each name s2s's code reads that holds another object than in
    the snapshot (an empty list while nothing is replaced).

        >>> replaced()
        []
    """
    found = []
    for module_name, (module, taken) in _snapshots.items():
        now = vars(module)
        changed = [name for name, obj in taken.items() if now.get(name, _MISSING) is not obj]
        if changed:
            read = _read_by_s2s().get(module_name, frozenset())
            found.extend((f"{_short(module_name)}.{name}", now.get(name, _MISSING))
                         for name in changed if name in read)
    return found


def refuse_replaced(func, doing: str = "differentiate") -> None:
    """Raise NoDerivativeRuleError, naming `func` and each name, while `replaced()` finds one.

        >>> refuse_replaced(len)  # nothing replaced: returns
    """
    found = replaced()
    if not found:
        return
    from s2s.errors import NoDerivativeRuleError
    names = ", ".join(name for name, _ in found)
    now = "; ".join(f"{name} is {'deleted' if obj is _MISSING else _describe(obj)}" for name, obj in found)
    code = getattr(func, "__code__", None)
    raise NoDerivativeRuleError(
        f"s2s cannot {doing} {getattr(func, '__qualname__', func)!r} while {names} "
        f"{'is' if len(found) == 1 else 'are'} replaced ({now}): s2s's derivative code calls "
        f"{'it' if len(found) == 1 else 'them'} by name, so its derivatives would be wrong",
        filename=code.co_filename if code else None, lineno=code.co_firstlineno if code else None,
        hint=f"restore {names} before differentiating (a `with mock.patch(...)` block, or save and assign the "
             f"original back); to differentiate a replacement, give it a name of its own and call that")


class _Finder:
    """The first finder of `sys.meta_path` (`install`): finds nothing itself. It takes the snapshot as NumPy's
    import ends (before any user code can replace a name), and refuses to load a module of s2s while a name
    is replaced: its tables would keep the replacement after the name is restored (`np.cos = np.sin` while
    the rules load keys the rule of cos to np.sin)."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.startswith("s2s.") and name != "s2s.errors":  # (errors reads no library: refuse_replaced's own)
            refuse_replaced(name, "load")
        if name != "numpy" or name in _snapshots:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None) if finder is not cls else None
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        run = getattr(loader, "exec_module", None)
        if run is None or not hasattr(loader, "__dict__"):
            return spec

        def exec_module(module):  # NumPy's loader, for this one import: its own, then the snapshot
            try:
                run(module)
            finally:
                vars(loader).pop("exec_module", None)
            watch_loaded()

        loader.exec_module = exec_module
        return spec


def install() -> None:
    """At `import s2s`: the snapshot of the watched modules loaded (math always: it is built in), and `_Finder`
    first in `sys.meta_path`, which takes NumPy's as its import ends."""
    assert math  # imported here for the snapshot: `import s2s; import math; math.cos = math.sin` is seen
    watch_loaded()
    if _Finder not in sys.meta_path:
        sys.meta_path.insert(0, _Finder)


def _short(module_name: str) -> str:
    return module_name.replace("numpy", "np", 1)


def _describe(obj) -> str:
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    return f"{type(obj).__name__} {name}" if name else repr(obj)[:60]


@functools.lru_cache(maxsize=1)
def _read_by_s2s() -> dict[str, frozenset]:
    """module name -> the names of it that s2s's own source (s2s/ and its transforms/) reads as
    `np.name`, `np.linalg.name`, `math.name`: what the rules' templates and runtime helpers may call."""
    import pathlib
    import re
    root = pathlib.Path(__file__).resolve().parent
    pattern = re.compile(r"\b(np|numpy|math)((?:\.[A-Za-z_]\w*)+)")
    read: dict[str, set] = {name: set() for name in WATCHED}
    for path in [*root.rglob("*.py"), *(root.parent / "transforms").rglob("*.py")]:
        for prefix, chain in pattern.findall(path.read_text(encoding="utf-8")):
            module_name = _PREFIXES[prefix]
            for part in chain[1:].split("."):
                read[module_name].add(part)
                module_name = f"{module_name}.{part}"
                if module_name not in read:
                    break
    return {name: frozenset(names) for name, names in read.items()}
