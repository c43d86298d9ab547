"""The tables s2s keeps what it made in, for later calls: one kind of bounded table, and the list of them all.

The derivatives themselves and how they are kept fresh are s2s/cache.py's; this module has no imports
from the rest of s2s, so that the runtime's tables (call wrappers, lifted closures: s2s/runtime/calls.py)
and the numba dispatchers (s2s/compiled.py) are tables of the same kind, listed in the same place, and
emptied by the same `s2s.cache.clear()`.
"""

from __future__ import annotations

import collections
import threading

lock = threading.RLock()  # held while an entry is looked up or made (building one may need another)
_ABSENT = object()
TABLES: list = []  # every table of things s2s made and keeps for later calls (cache.clear() empties them all)


class Table(collections.OrderedDict):
    """A bounded table of things s2s made, listed in TABLES: the least recently used entries go first
    when it outgrows `limit` (`evicted(value)` is told of each, to forget what it registered elsewhere).
    A key made of ids keeps its objects alive in the value, so that an id is not reused while it is a key.

        >>> t = Table("example", 2)
        >>> t.put("a", 1); t.put("b", 2); t.find("a"); t.put("c", 3)
        1
        >>> list(t)
        ['a', 'c']
        >>> TABLES.remove(t)
    """

    def __init__(self, name: str, limit: int, evicted=None):
        super().__init__()
        self.name, self.limit, self.evicted = name, limit, evicted
        TABLES.append(self)

    def find(self, key, default=None):
        """The value under `key` (now the most recently used), or `default`. Without the lock: it runs on
        every call through a function value, and OrderedDict's get and move_to_end are each atomic."""
        value = self.get(key, _ABSENT)
        if value is _ABSENT:
            return default
        try:
            self.move_to_end(key)
        except KeyError:  # (another thread evicted it meanwhile: the value found is still the one made)
            pass
        return value

    def put(self, key, value) -> None:
        """Keep `value` under `key`; the least recently used entries beyond the limit go."""
        with lock:
            self[key] = value
            self.move_to_end(key)
            while len(self) > self.limit:
                _, old = self.popitem(last=False)
                if self.evicted is not None:
                    self.evicted(old)

    def empty(self) -> None:
        """Forget every entry (each evicted in turn)."""
        with lock:
            while self:
                _, old = self.popitem(last=False)
                if self.evicted is not None:
                    self.evicted(old)

    __eq__ = object.__eq__  # a table is itself, not its contents (TABLES.remove(t) removes t)
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def __repr__(self):
        return f"<s2s table {self.name!r}: {len(self)} of {self.limit}>"
