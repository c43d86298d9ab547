"""Dead-code elimination in generated code.

A backward liveness analysis over the structured code deletes assignments to
names s2s made up (adjoints, backward temporaries) that nothing reads
afterwards. The user's own statements are never deleted: they may raise,
print, or be what a debugger steps through. A `pass` an earlier pass left beside
other statements goes too, and s2s's tape (`stack = []`) once no push or pop
reads it (the optimizer counts it among the removable names).
"""

from __future__ import annotations

import ast

from .names import loaded_names


def _dead(stmt, live, removable) -> bool:
    if not isinstance(stmt, ast.Assign):
        return False
    targets = []
    for t in stmt.targets:
        if isinstance(t, ast.Name):
            targets.append(t.id)
        elif isinstance(t, ast.Tuple) and all(isinstance(e, ast.Name) for e in t.elts):
            targets.extend(e.id for e in t.elts)
        else:
            return False
    return all(t in removable and t not in live for t in targets)


def _loads(node, cache):
    """loaded_names(node), remembered for the run (statements are not rewritten while it lasts)."""
    key = id(node)
    if key not in cache:
        cache[key] = loaded_names(node)
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            cache[key] = cache[key] | {node.target.id}  # (`t += e` reads t: its Name is a Store in the AST)
    return cache[key]


def _block(stmts, live, removable, apply=True, cache=None, record=None, idle_loop=None):
    """Backward liveness over one block; returns (kept statements, live-in set).

    With `apply` false the statements are left as they are (the fixed point round a loop). `record`, where
    given, gets id(statement) -> the names live after it, for each simple statement kept and each `if`.
    `idle_loop(loop)`, where given, says whether a `for` loop's header certainly cannot raise: such a loop left
    with an empty body goes where nothing reads its target after it.
    """
    cache = {} if cache is None else cache
    out = []
    for s in reversed(stmts):
        if isinstance(s, ast.If):
            if record is not None:
                record[id(s)] = frozenset(live)
            body, l1 = _block(s.body, set(live), removable, apply, cache, record, idle_loop)
            orelse, l2 = _block(s.orelse, set(live), removable, apply, cache, record, idle_loop)
            if apply:
                s.body = body or [_pass(s)]
                s.orelse = orelse
            if isinstance(s.test, ast.Name) and not orelse and all(isinstance(b, ast.Pass) for b in body):
                continue  # `if cond: pass`: nothing left to do
            live = l1 | l2 | _loads(s.test, cache)
        elif isinstance(s, ast.For | ast.While):
            loop_live = set(live) | _loads(s.iter if isinstance(s, ast.For) else s.test, cache)
            bound = _bound_by_header(s)  # (each trip binds the target before its body reads it)
            while True:
                _, inner = _block(s.body, set(loop_live), removable, False, cache)
                new = loop_live | (inner - bound)
                if new == loop_live:
                    break
                loop_live = new
            body, inner = _block(s.body, set(loop_live), removable, apply, cache, record, idle_loop)
            if apply:
                s.body = body or [_pass(s)]
                if idle_loop is not None and isinstance(s, ast.For) and not s.orelse and isinstance(s.target, ast.Name) \
                        and s.target.id not in live and all(type(b) is ast.Pass or type(b).__name__ == "Comment"
                                                            for b in s.body) and idle_loop(s):
                    continue  # (a loop left with nothing to do, whose header cannot raise, binding nothing read)
            live = loop_live | (inner - bound)
        elif isinstance(s, ast.FunctionDef):
            body, inner = _block(s.body, set(), removable, apply, cache, record)
            if apply:
                s.body = body or [_pass(s)]
            live = live | inner | {d.id for d in s.args.defaults if isinstance(d, ast.Name)}
        elif _dead(s, live, removable):
            continue
        else:
            if record is not None:
                record[id(s)] = frozenset(live)
            if isinstance(s, ast.Assign):
                for t in s.targets:
                    if isinstance(t, ast.Name):
                        live.discard(t.id)
            live |= _loads(s, cache)  # (in place: each block's `live` is a set of its own)
        out.append(s)
    out.reverse()
    if apply and any(type(x) is ast.Pass for x in out):  # (a `pass` an earlier pass left beside other statements)
        out = [x for x in out if type(x) is not ast.Pass]
    if out and all(type(x).__name__ == "Comment" for x in out):
        out.append(_pass(stmts[0]))
    return out, live


def _bound_by_header(loop) -> set:
    """The names a `for` loop's header binds on every trip (a name, or a tuple of names), else none."""
    if not isinstance(loop, ast.For):
        return set()
    target = loop.target
    elts = target.elts if isinstance(target, ast.Tuple | ast.List) else [target]
    return {e.id for e in elts if isinstance(e, ast.Name)} if all(isinstance(e, ast.Name) for e in elts) else set()


def _pass(where):
    """A `pass` at the place of the statement `where` (one left where a block's statements all went)."""
    return ast.copy_location(ast.Pass(), where)


def live_after(fdef) -> dict:
    """id(statement) -> the names some later statement may read before binding them again, for each simple
    statement and each `if` of `fdef` (a loop's and a branch's statements included).

        >>> fdef = ast.parse("def f(x):\\n    t = x * x\\n    y = t + 1\\n    return y").body[0]
        >>> [sorted(live_after(fdef)[id(s)]) for s in fdef.body]
        [['t'], ['y'], []]
    """
    record = {}
    _block(fdef.body, set(), frozenset(), False, None, record)
    return record


def eliminate_dead_code(fdef, removable, idle_loop=None):
    """Delete assignments to `removable` names that nothing reads afterwards (and, with `idle_loop`, the `for`
    loops it accepts once their bodies are empty: `_block`)."""
    body, _ = _block(fdef.body, set(), removable, idle_loop=idle_loop)
    fdef.body = body or [_pass(fdef)]
    return fdef  # (it only deletes: the statements left keep their places)
