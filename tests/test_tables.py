"""s2s/tables.py: every table of things s2s keeps is bounded, listed in TABLES and emptied by cache.clear()."""

import linecache

import numpy as np

import s2s
from s2s import cache, frontend, tables
from s2s.runtime import calls


def test_a_table_drops_its_least_recently_used_entry_and_reports_it():
    evicted = []
    t = tables.Table("test table", 2, evicted.append)
    try:
        t.put("a", 1)
        t.put("b", 2)
        assert t.find("a") == 1  # "b" is now the least recently used
        t.put("c", 3)
        assert list(t) == ["a", "c"] and evicted == [2]
        assert t.find("b", "none") == "none"
        t.empty()
        assert len(t) == 0 and evicted == [2, 1, 3]
    finally:
        tables.TABLES.remove(t)


def _apply(f, x):
    return f(x) * x


def test_clear_empties_every_table_and_forgets_the_source_it_registered():
    def loss(x):
        g = np.tanh
        return _apply(g, x) + np.sin(x)

    assert s2s.grad(loss)(0.3) == s2s.grad(loss)(0.3)
    names = {t.name for t in tables.TABLES}
    assert {"derivatives by code", "call wrappers", "freshness checks", "parsed source files"} <= names
    assert any(len(t) for t in tables.TABLES)
    wrapper_files = [made[1].__code__.co_filename for made in calls._wrappers.values()]
    cache.clear()
    assert all(len(t) == 0 for t in tables.TABLES)
    assert not any(name in linecache.cache for name in wrapper_files)
    x = 0.3
    expected = (np.tanh(x) + x / np.cosh(x) ** 2) + np.cos(x)
    assert np.isclose(s2s.grad(loss)(x), expected)  # made again, same numbers


def test_every_table_is_bounded():
    for table in tables.TABLES:
        assert 0 < table.limit <= 4096, table


def test_clear_can_keep_the_parsed_source_files():
    def f(x):
        return x * x

    s2s.grad(f)(1.0)
    kept = len(frontend.SOURCES)
    assert kept
    cache.clear(keep_sources=True)
    assert len(frontend.SOURCES) == kept and len(cache.CODE) == 0
    cache.clear()
    assert len(frontend.SOURCES) == 0
