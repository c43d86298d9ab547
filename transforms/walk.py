"""`ast.walk` and `ast.fix_missing_locations`, the same results in about half the time.

Every pass walks the program several times, and the two standard functions were about a third of
a transform's time (docs/benchmarks.md, time to the first derivative): they go through two
generators per node (`iter_child_nodes`, `iter_fields`). These read each class's fields once.

    >>> tree = ast.parse("y = x + 1")
    >>> [type(n).__name__ for n in walk(tree)] == [type(n).__name__ for n in ast.walk(tree)]
    True
"""

from __future__ import annotations

import ast
from collections import deque

from . import annotations

_AST = ast.AST
_LOCATED = {}  # class -> (whether it has the four location attributes, the fields `_fix` looks into)


def walk(node: ast.AST):
    """Every node under `node`, itself first, in the order `ast.walk` gives (breadth first); a node's
    children are read before it is handed out, as `ast.walk` does.

        >>> [type(n).__name__ for n in walk(ast.parse("f(x)").body[0])]
        ['Expr', 'Call', 'Name', 'Name', 'Load', 'Load']
    """
    todo = deque((node,))
    pop, push = todo.popleft, todo.append
    while todo:
        node = pop()
        for name in node._fields:
            try:
                value = getattr(node, name)
            except AttributeError:
                continue
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, _AST):
                        push(item)
            elif isinstance(value, _AST):
                push(value)
        yield node


# fields that hold an operator or a context (`op`, `ops`, `ctx`: nodes the parser shares, with no children) or,
# in every class that has them, a plain value: `walk_nodes` does not look into them (not `name`, a string but in
# Python 3.12's `type X = ...`, whose `name` is a Name)
_NOT_WALKED = {"ctx", "op", "ops", "id", "attr", "arg", "module", "level", "kind", "type_comment", "conversion",
               "is_async"}
_WALKED_FIELDS = {}  # class -> its fields but those


def walk_nodes(node: ast.AST):
    """`walk(node)` without the operators and contexts (`ast.Add`, `ast.Load`, ...): every other node, in the same
    order, for the many walks that look for names, calls or statements (four nodes in ten are operators and
    contexts, which a walk of them hands out for nothing). A node's `op` or `ctx` is still read as an attribute.

        >>> [type(n).__name__ for n in walk_nodes(ast.parse("y = x + 1").body[0])]
        ['Assign', 'Name', 'BinOp', 'Name', 'Constant']
    """
    # (`walk`'s loop, written again: one generator for both, reading each class's fields from a table, made `walk`
    # 16% slower)
    todo = deque((node,))
    pop, push, fields_of = todo.popleft, todo.append, _WALKED_FIELDS
    while todo:
        node = pop()
        cls = node.__class__
        fields = fields_of.get(cls)
        if fields is None:
            fields = fields_of[cls] = tuple(f for f in cls._fields if f not in _NOT_WALKED)
        for name in fields:
            try:
                value = getattr(node, name)
            except AttributeError:
                continue
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, _AST):
                        push(item)
            elif isinstance(value, _AST):
                push(value)
        yield node


def child_parent_pairs(node: ast.AST):
    """(child, parent) for every node under `node`, in the order of
    `for parent in walk(node): for child in ast.iter_child_nodes(parent)` (which is `walk(node)`'s order
    after `node` itself), without a generator per node: for the parent maps the passes build.

        >>> [(type(c).__name__, type(p).__name__) for c, p in child_parent_pairs(ast.parse("f(x)").body[0])][:2]
        [('Call', 'Expr'), ('Name', 'Call')]
    """
    todo = deque((node,))
    pop, push = todo.popleft, todo.append
    while todo:
        parent = pop()
        for name in parent._fields:
            try:
                value = getattr(parent, name)
            except AttributeError:
                continue
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, _AST):
                        push(item)
                        yield item, parent
            elif isinstance(value, _AST):
                push(value)
                yield value, parent


def fix_locations(node: ast.AST) -> ast.AST:
    """`ast.fix_missing_locations`: a node without a line or column takes its parent's, in the same
    (depth-first) order.

        >>> tree = ast.Module(body=[ast.Expr(ast.Name("x", ast.Load()))], type_ignores=[])
        >>> fix_locations(tree).body[0].value.lineno
        1
    """
    _fix(node, 1, 0, 1, 0)
    return node


def _fix(node, lineno, col, end_lineno, end_col):
    cls = node.__class__
    known = _LOCATED.get(cls)
    if known is None:  # (operators and contexts have no location and no children: `_NOT_WALKED`)
        attributes = cls._attributes
        known = _LOCATED[cls] = ("lineno" in attributes and "end_col_offset" in attributes,
                                 tuple(f for f in cls._fields if f not in _NOT_WALKED))
    has, fields = known
    if has:  # (the classes with locations have all four)
        d = node.__dict__
        if "lineno" in d:
            lineno = d["lineno"]
        else:
            node.lineno = lineno
        value = d.get("end_lineno")
        if value is None:
            node.end_lineno = end_lineno
        else:
            end_lineno = value
        if "col_offset" in d:
            col = d["col_offset"]
        else:
            node.col_offset = col
        value = d.get("end_col_offset")
        if value is None:
            node.end_col_offset = end_col
        else:
            end_col = value
    for name in fields:
        value = node.__dict__.get(name)
        if value.__class__ is list:
            for item in value:
                if isinstance(item, _AST):
                    _fix(item, lineno, col, end_lineno, end_col)
        elif isinstance(value, _AST):
            _fix(value, lineno, col, end_lineno, end_col)


def statement_lists(tree: ast.AST) -> list:
    """Every list of statements in `tree`: bodies of functions, loops, branches and handlers, `else` and
    `finally` blocks, in `walk`'s order.

        >>> [len(b) for b in statement_lists(ast.parse("for i in y:\\n    x = 1\\n    z = 2\\nelse:\\n    pass"))]
        [1, 2, 1]
    """
    blocks = []
    todo = deque((tree,))
    pop, push = todo.popleft, todo.append
    while todo:  # (`walk`'s order, through the nodes that hold statements only: no expression holds one)
        node = pop()
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if block.__class__ is list and block and isinstance(block[0], ast.stmt):
                blocks.append(block)
        for name in node._fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, _HOLDS_STATEMENTS):
                        push(item)
    return blocks


_HOLDS_STATEMENTS = (ast.stmt, ast.excepthandler, ast.match_case)



def rewrite_statements_one_at_a_time(tree: ast.AST, site_of, rewrite) -> None:
    """Replace, one at a time, each statement `stmt` of `tree` (not a function or class definition) for which
    `site_of(stmt)` gives a site, by the statements `rewrite(stmt, site)` returns; the blocks are found again after
    each, as a rewrite may write statements that hold more sites.

        >>> tree = ast.parse("a = 1; b = 2")
        >>> rewrite_statements_one_at_a_time(tree, lambda s: s.targets[0].id if s.targets[0].id == "b" else None,
        ...                                  lambda s, site: [ast.parse("c = 3").body[0]])
        >>> [ast.unparse(s) for s in tree.body]
        ['a = 1', 'c = 3']
    """
    while True:
        found = next(((block, k, site) for block in statement_lists(tree) for k, stmt in enumerate(block)
                      if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                      and (site := site_of(stmt)) is not None), None)
        if found is None:
            return
        block, k, site = found
        block[k:k + 1] = rewrite(block[k], site)

def rewrite_statements(fdef: ast.FunctionDef, rewrite) -> None:
    """Replace each statement of `fdef`'s body, and of every statement list nested in it (a loop's or
    branch's body, not a nested function's), by the statements `rewrite(stmt)` gives (a list; `[stmt]`
    keeps it), the lists inside a statement first.

        >>> fdef = ast.parse("def f(x):\\n    for i in y:\\n        x = 1\\n    return x").body[0]
        >>> rewrite_statements(fdef, lambda s: [s, s] if isinstance(s, ast.Assign) else [s])
        >>> len(fdef.body[0].body)
        2
    """
    def block(stmts):
        out = []
        for s in stmts:
            if not isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                for field in ("body", "orelse", "finalbody"):
                    inner = getattr(s, field, None)
                    if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                        setattr(s, field, block(inner))
            out.extend(rewrite(s))
        return out

    fdef.body = block(fdef.body)


_SINGLETONS = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)  # (the parser shares these)


def unshare(tree: ast.AST) -> bool:
    """Copy every node that `tree` holds in two places (a pass that put one node in the forward and the
    backward sweep, `range(n)` heading two loops), so that each node has one place: analyses key facts by
    a node's identity (`parent_map`, a read's shape at its program point), and a node in two places would
    get the facts of one of them. The first place keeps the node; a while loop's test statements count
    (`walk_with_tests`). Returns whether anything was copied.

        >>> x = ast.Name(id="x", ctx=ast.Load())
        >>> tree = ast.BinOp(left=x, op=ast.Add(), right=x)
        >>> unshare(tree), tree.left is tree.right
        (True, False)
    """
    seen, copied = {id(tree)}, False
    todo = deque((tree,))
    while todo:
        node = todo.popleft()
        lists = [(name, getattr(node, name, None)) for name in node._fields]
        if isinstance(node, ast.While):
            lists.append((None, annotations.get(node, annotations.LOOP_TEST, None) or []))
        for name, value in lists:
            items = value if value.__class__ is list else (value,)
            for j, item in enumerate(items):
                if not isinstance(item, _AST) or isinstance(item, _SINGLETONS):
                    continue
                if id(item) in seen:
                    item = copy_tree(item)
                    if items is value:
                        value[j] = item
                    else:
                        setattr(node, name, item)
                    copied = True
                seen.add(id(item))
                todo.append(item)
    return copied


def copy_tree(node):
    """A copy of the tree `node` (and of lists of nodes) in which each node is new; every other value an
    attribute holds (the object an annotation says a call resolves to) is the same object, not a copy.

        >>> call = ast.parse("f(x)").body[0].value
        >>> twin = copy_tree(call)
        >>> ast.dump(twin) == ast.dump(call), twin.args[0] is call.args[0]
        (True, False)
    """
    if isinstance(node, list):
        return [copy_tree(item) for item in node]
    if not isinstance(node, _AST) or isinstance(node, _SINGLETONS):
        return node
    twin = node.__class__.__new__(node.__class__)
    twin.__dict__.update({k: copy_tree(v) if isinstance(v, _AST | list) else v for k, v in node.__dict__.items()})
    return twin


def parent_map(tree: ast.AST) -> dict:
    """id(node) -> the node that holds it, for every node below `tree` (by id: the map keeps no node alive).

        >>> call = ast.parse("f(x)").body[0].value
        >>> parent_map(call)[id(call.args[0])] is call
        True

    A node `tree` held in two places is copied first (`unshare`), so that each has one parent.
    """
    unshare(tree)
    return {id(child): parent for child, parent in child_parent_pairs(tree)}


def replace_child(parent: ast.AST, old: ast.AST, new: ast.AST) -> bool:
    """Put `new` where `parent` holds the node `old` (a field or an item of a list field); whether it held it.

        >>> call = ast.parse("f(x)").body[0].value
        >>> replace_child(call, call.args[0], ast.Name(id="y", ctx=ast.Load())), ast.unparse(call)
        (True, 'f(y)')
    """
    for field, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, field, new)
            return True
        if isinstance(value, list):
            for j, item in enumerate(value):
                if item is old:
                    value[j] = new
                    return True
    return False


def own_scope_nodes(node: ast.AST):
    """Every node under `node` (not `node` itself) outside the bodies of the functions, lambdas and classes defined
    in it (those nodes themselves included): what runs where `node` runs.

        >>> [type(n).__name__ for n in own_scope_nodes(ast.parse("f(lambda v: g(v))").body[0])]
        ['Call', 'Name', 'Load', 'Lambda']
    """
    todo = list(ast.iter_child_nodes(node))[::-1]
    while todo:
        n = todo.pop()
        yield n
        if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            todo.extend(list(ast.iter_child_nodes(n))[::-1])


def walk_with_tests(node: ast.AST):
    """`walk(node)`, and the statements of each while loop's test, which lowering holds beside the loop
    (`annotations.LOOP_TEST`: run before each test after the first) where `walk` does not see them."""
    for n in walk(node):
        yield n
        if isinstance(n, ast.While):
            for s in annotations.get(n, annotations.LOOP_TEST, None) or ():
                yield from walk_with_tests(s)


def replace_nodes(node: ast.AST, new_for) -> bool:
    """Replace each node under `node` (a while loop's test statements too, `walk_with_tests`) for which
    `new_for(child)` gives a node by that node, at the child's location; returns whether any was.

        >>> tree = ast.parse("y = k + 1")
        >>> replace_nodes(tree, lambda n: ast.Constant(2) if isinstance(n, ast.Name) and n.id == "k" else None)
        True
        >>> ast.unparse(tree)
        'y = 2 + 1'
    """
    changed = False
    for parent in walk_with_tests(node):
        for field, child in ast.iter_fields(parent):
            if isinstance(child, _AST):
                new = new_for(child)
                if new is not None:
                    setattr(parent, field, ast.copy_location(new, child))
                    changed = True
            elif isinstance(child, list):
                for j, item in enumerate(child):
                    new = new_for(item) if isinstance(item, _AST) else None
                    if new is not None:
                        child[j] = ast.copy_location(new, item)
                        changed = True
    return changed


def binding_counts(nodes) -> dict:
    """name -> how many times the statements or expressions `nodes` bind or delete it (a while loop's test
    statements too).

        >>> binding_counts(ast.parse("x = 1; x += y; del z").body)
        {'x': 2, 'z': 1}
    """
    out = {}
    for node in nodes:
        for n in walk_with_tests(node):
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
                out[n.id] = out.get(n.id, 0) + 1
    return out
