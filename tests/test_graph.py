"""s2s.graph: the computation graph of the lowered program, its activity, DOT text and drawing."""

import ast
import inspect
import re
import shutil
import subprocess

import numpy as np
import pytest

import s2s
from s2s import graph, pipeline


def line_of(func, text):
    lines, start = inspect.getsourcelines(func)
    for i, line in enumerate(lines):
        if text in line:
            return start + i
    raise AssertionError(f"{text!r} not in {func.__name__}")


def lowered_statement_count(func):
    """Primitive statements of the lowered program, as the graph sees them.

    Assignments and expression statements count once; a `for` adds one node for its loop variable;
    a `while` adds the statements that recompute its condition (kept on the node as `s2s_test`).
    """
    count = 0

    def walk(stmts):
        nonlocal count
        for s in stmts:
            if isinstance(s, ast.Expr) and "numbers_or_arrays" in ast.unparse(s):
                continue  # (a check of what kind of value a parameter is: no node)
            if isinstance(s, ast.Assign | ast.Expr | ast.Return):
                count += 1
            elif isinstance(s, ast.If):
                walk(s.body)
                walk(s.orelse)
            elif isinstance(s, ast.For):
                count += 1
                walk(s.body)
            elif isinstance(s, ast.While):
                walk(s.body)
                walk(getattr(s, "s2s_test", []))
            else:
                raise AssertionError(f"unexpected lowered statement {ast.dump(s)}")

    walk(pipeline.lowered(func).tree.body)
    return count


def product(x, y):
    return np.sin(x) * y


def straight(x, w, b):
    h = np.tanh(x @ w + b)
    loss = np.mean(h * h) + 0.1 * np.sum(w * w)
    return loss


def detached(x):
    u = s2s.stop_gradient(x * x)
    return np.sum(u * x)


def accumulate(x, n):
    acc = 0.0
    for i in range(n):
        acc = acc + x * i
    return acc


def nested(x, n):
    acc = 0.0
    for i in range(n):
        for v in x:
            if v > 0:
                acc = acc + v * i
            else:
                acc = acc - v
    k = 0
    while k < 3:
        acc = acc * 1.5
        k = k + 1
    return acc


def seed(a):
    b = a * 2
    while np.linalg.norm(b) < 1000:
        b = b * 2
    if np.sum(b) > 0:
        c = b
    else:
        c = 100 * b
    return np.sum(c)


def lists(x):
    ys = [x[i] * 2.0 for i in range(3)]
    z = np.zeros(3)
    z[1] = ys[0] + ys[2]
    return np.sum(z) + sum(ys)


def quoting(x):
    s = np.einsum("i,i->", x, x)
    t = dict([("it's", s)])  # (a dict display of literal keys would be a name per key: transforms/records.py)
    return t["it's"] * 2.0


ALL = [product, straight, detached, accumulate, nested, seed, lists, quoting]


@pytest.mark.parametrize("f", ALL, ids=lambda f: f.__name__)
def test_node_count_is_statements_plus_params(f):
    g = graph.build(f)
    params = list(inspect.signature(f).parameters)
    assert len(g.nodes) == lowered_statement_count(f) + len(params)
    assert [n.label for n in g.nodes if n.kind == "input"] == params
    outputs = [n for n in g.nodes if n.kind == "output"]
    assert len(outputs) == 1 and outputs[0].label.startswith("return ") and outputs[0] is g.nodes[-1]
    assert len({n.id for n in g.nodes}) == len(g.nodes)
    ids = {n.id for n in g.nodes}
    assert all(e.source in ids and e.target in ids for e in g.edges)
    assert len({(e.source, e.target) for e in g.edges}) == len(g.edges)
    assert all(n.cluster is None or 0 <= n.cluster < len(g.clusters) for n in g.nodes)
    assert g.name == f.__name__


def test_straight_line_nodes_follow_the_lowered_program():
    g = graph.build(straight, wrt=("w", "b"))
    lowered = pipeline.lowered(straight).stage_text["lower"]
    ops = [n for n in g.nodes if n.kind == "op"]
    for n in ops:
        assert n.label in lowered
        assert n.line in (line_of(straight, "h = np.tanh"), line_of(straight, "loss = np.mean"))
    assert g.wrt == ("w", "b")
    by_label = {n.label: n for n in g.nodes}
    assert by_label["w"].active and by_label["b"].active and not by_label["x"].active


def test_inactive_parameter_is_pruned():
    g = graph.build(product, wrt="x")
    x, y = g.node("n0"), g.node("n1")
    assert (x.label, y.label) == ("x", "y")
    assert x.active and not y.active
    assert all(n.active for n in g.nodes if n.kind != "input")  # sin(x) and the product need a derivative
    # with respect to y instead: sin(x) is pruned, y and the product are active
    g = graph.build(product, wrt=1)
    active = {n.label: n.active for n in g.nodes}
    assert active["y"] and not active["x"]
    assert not next(n for n in g.nodes if "np.sin" in n.label).active
    # both
    g = graph.build(product, wrt=(0, 1))
    assert all(n.active for n in g.nodes)


def test_stop_gradient_node_is_pruned():
    g = graph.build(detached)
    sg = next(n for n in g.nodes if "stop_gradient" in n.label)
    assert not sg.active
    inside = next(n for n in g.edges if n.target == sg.id)
    assert not g.node(inside.source).active  # x * x feeds only the detached value
    assert next(n for n in g.nodes if n.label.endswith("= u * x")).active
    dot = g.to_dot()
    assert re.search(rf'{sg.id} \[label="[^"]*stop_gradient[^"]*",[^\]]*fillcolor="#eeeeee"', dot)


def test_loop_carried_edges_are_dashed():
    g = graph.build(accumulate)
    acc = next(n for n in g.nodes if n.label.startswith("acc = acc +"))
    loops = [e for e in g.edges if e.loop]
    assert any(e.source == acc.id and e.target == acc.id for e in loops)
    init = next(n for n in g.nodes if n.label == "acc = 0.0")
    assert not init.active  # a constant start value needs no derivative
    assert any(e.source == init.id and e.target == acc.id and not e.loop for e in g.edges)
    counter = next(n for n in g.nodes if n.label == "i in range(n)")
    assert counter.cluster == acc.cluster is not None and not counter.active
    dot = g.to_dot()
    assert f"{acc.id} -> {acc.id} [style=dashed" in dot
    solid = [line for line in dot.splitlines() if "->" in line and "dashed" not in line]
    assert len(solid) == len([e for e in g.edges if not e.loop])


def test_clusters_are_labelled_with_the_users_line():
    g = graph.build(nested)
    labels = [c.label for c in g.clusters]
    assert labels[0] == "for i in range(n)"  # the lowered loop is the user's: no second copy of the line
    assert labels[1].startswith("for ") and labels[1].endswith("   # for v in x")
    assert labels[2].startswith("if ") and labels[2].endswith("   # if v > 0")
    assert labels[3] == "else   # if v > 0"
    assert labels[4].startswith("while ") and labels[4].endswith("   # while k < 3")
    assert [c.parent for c in g.clusters] == [None, 0, 1, 1, None]
    in_else = next(n for n in g.nodes if n.label == "acc = acc - v")
    assert in_else.cluster == 3 and in_else.line == line_of(nested, "acc = acc - v")
    in_while = next(n for n in g.nodes if n.label == "acc = acc * 1.5")
    assert in_while.cluster == 4 and in_while.active
    # the while condition is recomputed inside the loop body
    assert sum(1 for n in g.nodes if n.cluster == 4 and "k < 3" in n.label) == 1

    g = graph.build(seed)
    labels = [c.label for c in g.clusters]
    assert len(labels) == 3
    assert labels[0].startswith("while ") and labels[0].endswith("   # while np.linalg.norm(b) < 1000")
    assert labels[1].startswith("if ") and labels[1].endswith("   # if np.sum(b) > 0")
    assert labels[2] == "else   # if np.sum(b) > 0"
    # only values the output needs a derivative of are active: the loop test is pruned
    assert not any(n.active for n in g.nodes if "norm" in n.label)


def _dot_tokens(text):
    """Split DOT into quoted strings and the rest; checks every string is closed."""
    pieces, i, outside = [], 0, []
    while i < len(text):
        if text[i] == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            pieces.append(text[i + 1:j])
            outside.append(" ")
            i = j + 1
        else:
            outside.append(text[i])
            i += 1
    return pieces, "".join(outside)


@pytest.mark.parametrize("f", ALL, ids=lambda f: f.__name__)
def test_dot_is_plausible(f):
    g = graph.build(f)
    dot = g.to_dot()
    assert dot == graph.dot(f)
    assert dot.startswith(f'digraph "{f.__name__}" {{') and dot.rstrip().endswith("}")
    strings, bare = _dot_tokens(dot)
    depth = 0
    for ch in bare:  # braces outside quoted strings balance and never go negative
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    declared = set(re.findall(r"^\s*(n\d+) \[", bare, flags=re.M))
    assert declared == {n.id for n in g.nodes}
    edges = re.findall(r"^\s*(n\d+) -> (n\d+) \[", bare, flags=re.M)
    assert len(edges) == len(g.edges)
    assert all(a in declared and b in declared for a, b in edges)
    assert bare.count("subgraph cluster_") == len(g.clusters)
    for n in g.nodes:  # labels survive escaping
        assert n.label.replace("\\", "\\\\").replace('"', '\\"') in strings
    for line in bare.splitlines()[1:]:
        assert line.rstrip().endswith((";", "{", "}")), line


def test_dot_escapes_quotes_in_labels():
    dot = graph.dot(quoting)
    assert 'label="t2 = (\\"it\'s\\", s)"' in dot  # the label holds quotes of both kinds


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
@pytest.mark.parametrize("f", [nested, seed, quoting], ids=lambda f: f.__name__)
def test_dot_renders_with_graphviz(f, tmp_path):
    out = subprocess.run(["dot", "-Tsvg"], input=graph.dot(f), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "<svg" in out.stdout


def test_draw_with_matplotlib():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for f in (nested, seed):
        g = graph.build(f)
        fig, ax = plt.subplots()
        try:
            assert g.draw(ax) is ax
            texts = [t.get_text() for t in ax.texts]
            assert all(n.label in texts for n in g.nodes)
            assert len(ax.texts) == len(g.nodes) + len(g.edges)  # one arrow (an annotation) per edge
            assert f.__name__ in ax.get_title()
            fig.canvas.draw()
        finally:
            plt.close(fig)
    ax = graph.build(product).draw()  # makes its own figure
    plt.close(ax.figure)


def test_unknown_wrt_is_refused():
    with pytest.raises(ValueError, match="names no parameter"):
        graph.build(product, wrt="z")
    with pytest.raises(IndexError):
        graph.build(product, wrt=5)
