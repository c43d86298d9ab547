"""Library functions replaced by assignment: `np.cos = np.sin`, `mock.patch("numpy.exp", ...)`.

s2s's derivative formulas and runtime helpers call NumPy's and math's functions by name when they run
(`g * np.cos(x)` is the adjoint of `np.sin(x)`). While one of those names holds another object, such a
derivative would be silently wrong. `import s2s` imports NumPy and math and takes a snapshot of
`numpy`, `numpy.linalg` and `math`; then:

- a derivative made while a name s2s's own code reads holds another object than in the snapshot is
  refused, naming it (`refuse_replaced`, from pipeline._build); restoring the name lets s2s differentiate
  again;
- an assignment to (or deletion of) a name of NumPy's snapshot makes every cached derivative stale, as a
  new rule does (`listen`; the rules bump `rules.version`): NumPy's module class is swapped for a subclass
  that sees assignments. NumPy's module has a `__getattr__`, so Python never took a fast path for its
  attribute reads, and the swap costs them nothing;
- `numpy.linalg` and `math` are plain modules whose attribute reads Python does speed up, and a subclass
  would slow every `math.sin` of the process down by half. Their classes stay; instead a cached
  derivative depends on the `math.name` and `np.linalg.name` its code reads (`unwatched_reads`, checked
  before each call like the user's globals), and the runtime helpers call the snapshot's functions
  (`genuine`), not the module's;
- s2s's own modules are not loaded while a name is replaced (`_Finder`): their tables (the rules' keys,
  the passes' sets of functions) take the functions they find, and would keep a replacement.

Not seen: a replacement made before `import s2s`; one written into NumPy's `__dict__` directly after a
derivative was cached (one made while it lasts is refused); the raw function of `s2s.derivative(f)` or
code run from `s2s.source`, which check nothing before they run.

    >>> import numpy as np, s2s
    >>> genuine_cos = np.cos
    >>> np.cos = np.sin
    >>> s2s.grad(lambda x: np.sin(x))(1.0)
    Traceback (most recent call last):
    ...
    s2s.errors.NoDerivativeRuleError: s2s cannot differentiate '<lambda>' while np.cos is replaced ...
    >>> np.cos = genuine_cos
"""

from __future__ import annotations

import functools
import importlib
import re
import sys
import types
from typing import Callable

WATCHED = ("numpy",)  # assignments seen as they happen (the class swapped)
SNAPSHOT = ("numpy", "numpy.linalg", "math")  # the modules s2s's formulas and runtime helpers read by name
_PREFIXES = {"np": "numpy", "numpy": "numpy", "math": "math"}  # how s2s's own source names them

_snapshots: dict[str, tuple[types.ModuleType, dict]] = {}  # module name -> (module, its namespace as taken)
_listeners: list[Callable[[], None]] = []
_MISSING = object()


def install() -> None:
    """At `import s2s`: import the modules of SNAPSHOT and take their snapshot, swap NumPy's class for one
    that sees assignments, and put `_Finder` first in `sys.meta_path`.

        >>> install()  # once; again does nothing
    """
    for name in SNAPSHOT:
        module = importlib.import_module(name)
        if name in _snapshots:
            continue
        _snapshots[name] = (module, dict(vars(module)))
        if name in WATCHED:
            module.__class__ = _watched_class(type(module))
    if _Finder not in sys.meta_path:
        sys.meta_path.insert(0, _Finder)


def listen(on_change: Callable[[], None]) -> None:
    """Call `on_change` after each assignment to (or deletion of) a name of NumPy's snapshot.

        >>> listen(lambda: None)
    """
    if on_change not in _listeners:
        _listeners.append(on_change)


def genuine(module_name: str) -> types.SimpleNamespace:
    """The snapshot of `module_name` (one of SNAPSHOT) as a namespace: what the runtime helpers call, so that a
    replacement made after s2s loaded does not reach them.

        >>> genuine("math").log(1.0)
        0.0
    """
    return types.SimpleNamespace(**_snapshots[module_name][1])


_UNWATCHED_READ = re.compile(r"\b(?:(math)|(?:np|numpy)\.(linalg))\.([A-Za-z_]\w*)")


def unwatched_reads(source: str) -> list[tuple[dict, str, object]]:
    """(module namespace, name, the snapshot's object) for each `math.name` and `np.linalg.name` of the
    generated `source`: names whose assignments nothing sees, on which a cached derivative depends.

        >>> [name for _, name, _ in unwatched_reads("t_bar = g * math.cos(t)")]
        ['cos']
    """
    found = {}
    for math_name, _, name in _UNWATCHED_READ.findall(source):
        module, taken = _snapshots["math" if math_name else "numpy.linalg"]
        if name in taken:
            found[(id(module), name)] = (vars(module), name, taken[name])
    return list(found.values())


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
    """The first finder of `sys.meta_path` (`install`): finds nothing itself, and refuses to load a module of s2s
    while a name is replaced (their tables would keep the replacement after the name is restored:
    `np.cos = np.sin` while the rules load keys the rule of cos to np.sin)."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.startswith("s2s.") and name != "s2s.errors":  # (errors reads no library: refuse_replaced's own)
            refuse_replaced(name, "load")
        return None


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
    root = pathlib.Path(__file__).resolve().parent
    pattern = re.compile(r"\b(np|numpy|math)((?:\.[A-Za-z_]\w*)+)")
    read: dict[str, set] = {name: set() for name in SNAPSHOT}
    for path in [*root.rglob("*.py"), *(root.parent / "transforms").rglob("*.py")]:
        for prefix, chain in pattern.findall(path.read_text(encoding="utf-8")):
            module_name = _PREFIXES[prefix]
            for part in chain[1:].split("."):
                read[module_name].add(part)
                module_name = f"{module_name}.{part}"
                if module_name not in read:
                    break
    return {name: frozenset(names) for name, names in read.items()}
