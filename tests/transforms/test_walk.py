"""transforms/walk.py gives what ast.walk and ast.fix_missing_locations give, on real programs."""

import ast
import copy
import pathlib
import random

import pytest
from s2s.transforms import annotations
from s2s.transforms.walk import fix_locations, replace_nodes, statement_lists, walk, walk_nodes

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "transforms").glob("*.py"))[:12] + sorted((ROOT / "examples").glob("*.py"))[:4]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_walk_visits_the_nodes_of_ast_walk_in_its_order(path):
    tree = ast.parse(path.read_text())
    assert [id(n) for n in walk(tree)] == [id(n) for n in ast.walk(tree)]


_SHARED = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)  # (the parser's shared nodes)
MATCHES = "match p:\n    case [x, *rest] if x:\n        y = 1\n    case {'k': v, **kw}:\n        pass\n    case _:\n        z = 2"
TRIES = "try:\n    a = 1\nexcept E as e:\n    b = 2\nelse:\n    c = 3\nfinally:\n    d = 4"


def _blocks_of_every_node(tree):
    """What `statement_lists` gives, found the slow way: the statement lists of every node `walk` hands out."""
    return [block for node in walk(tree) for field in ("body", "orelse", "finalbody")
            if isinstance(block := getattr(node, field, None), list) and block and isinstance(block[0], ast.stmt)]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_walk_nodes_is_walk_without_operators_and_contexts(path):
    tree = ast.parse(path.read_text())
    assert [id(n) for n in walk_nodes(tree)] == [id(n) for n in walk(tree) if not isinstance(n, _SHARED)]


@pytest.mark.parametrize("source", [MATCHES, TRIES, "async def f():\n    async for x in y:\n        await z\n"
                                    "    async with a as b:\n        pass"])
def test_walk_nodes_and_statement_lists_on_every_statement_kind(source):
    tree = ast.parse(source)
    assert [id(n) for n in walk_nodes(tree)] == [id(n) for n in walk(tree) if not isinstance(n, _SHARED)]
    want = _blocks_of_every_node(tree)
    assert [id(b) for b in statement_lists(tree)] == [id(b) for b in want]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_statement_lists_are_those_of_every_node_in_walk_s_order(path):
    tree = ast.parse(path.read_text())
    want = _blocks_of_every_node(tree)
    assert [id(b) for b in statement_lists(tree)] == [id(b) for b in want] and want


def test_walk_reads_children_before_handing_a_node_out():
    tree = ast.parse("f(x)\ng(y)")
    seen = []
    for node in walk(tree):
        seen.append(type(node).__name__)
        if isinstance(node, ast.Call):
            node.args = []  # as with ast.walk, the children already queued are still visited
    assert seen.count("Name") == 4


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_fix_locations_fills_what_fix_missing_locations_fills(path):
    rng = random.Random(3)
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if rng.random() < 0.3:
            for attribute in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
                if hasattr(node, attribute) and rng.random() < 0.7:
                    delattr(node, attribute)
    ours, theirs = copy.deepcopy(tree), copy.deepcopy(tree)
    assert fix_locations(ours) is ours
    ast.fix_missing_locations(theirs)
    assert ast.dump(ours, include_attributes=True) == ast.dump(theirs, include_attributes=True)


def test_fix_locations_of_a_tree_built_by_hand_compiles():
    tree = ast.Module(body=[ast.Assign([ast.Name("y", ast.Store())], ast.BinOp(ast.Constant(2), ast.Mult(), ast.Constant(3)))],
                      type_ignores=[])
    space = {}
    exec(compile(fix_locations(tree), "<built>", "exec"), space)
    assert space["y"] == 6


def test_replace_nodes_replaces_in_fields_lists_and_a_while_loops_test_statements():
    tree = ast.parse("while c:\n    y = f(k, [k, 2]) + k")
    loop = tree.body[0]
    annotations.put(loop, annotations.LOOP_TEST, [ast.parse("c = k < 3").body[0]])

    def literal(n):
        return ast.Constant(7) if isinstance(n, ast.Name) and n.id == "k" and isinstance(n.ctx, ast.Load) else None
    assert replace_nodes(tree, literal)
    assert ast.unparse(tree) == "while c:\n    y = f(7, [7, 2]) + 7"
    assert ast.unparse(annotations.get(loop, annotations.LOOP_TEST)[0]) == "c = 7 < 3"
    assert not replace_nodes(tree, literal)


def test_unshare_copies_a_node_held_twice_and_keeps_annotated_objects():
    from s2s.transforms.walk import copy_tree, parent_map, unshare

    tree = ast.parse("a = f(n)\nwhile c:\n    b = g(n)")
    call = tree.body[0].value
    annotations.put(call.func, annotations.RESOLVED, len)
    loop = tree.body[1]
    loop.body[0].value = call  # one call in two statements
    test = ast.parse("c = h(n)").body[0]
    test.value.args[0] = call.args[0]  # and its argument in the loop's test statements
    annotations.put(loop, annotations.LOOP_TEST, [test])
    assert unshare(tree)
    assert loop.body[0].value is not call and ast.unparse(loop.body[0].value) == "f(n)"
    assert annotations.resolved(loop.body[0].value.func) is len  # the same object, not a copy
    assert test.value.args[0] is not call.args[0]
    ids = [id(n) for n in walk(tree) if not isinstance(n, ast.expr_context)]
    assert len(ids) == len(set(ids)) and not unshare(tree)
    parents = parent_map(tree)
    assert parents[id(loop.body[0].value)] is loop.body[0]
    assert copy_tree(tree) is not tree and ast.dump(copy_tree(tree)) == ast.dump(tree)
