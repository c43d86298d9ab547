"""The computation graph of a function's lowered program, as Graphviz DOT or a matplotlib drawing.

One node per primitive statement of the lowered program (the A-normal form
s2s differentiates), one per parameter and one for the output; an edge for
every value a statement reads. Nodes inside a branch or loop sit in a box
labelled with the user's line. Nodes that need a derivative (*active*:
they depend on `wrt` and reach the output) are drawn solid; the others are
the ones activity analysis prunes, drawn grey.
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass, field

from s2s.transforms import analysis, annotations


@dataclass
class Node:
    """One primitive operation (or a parameter, or the output)."""

    id: str
    label: str
    kind: str  # "input", "op", "output"
    active: bool
    line: int | None
    cluster: int | None  # index into Graph.clusters, None at top level


@dataclass
class Edge:
    """Data flows from `source` to `target`; `loop` marks a value carried round a loop."""

    source: str
    target: str
    loop: bool = False


@dataclass
class Cluster:
    """A branch or loop body: its user line and the box it sits in."""

    label: str
    parent: int | None


@dataclass
class Graph:
    """The computation graph of one function."""

    name: str
    wrt: tuple
    nodes: list = field(default_factory=list)
    edges: list = field(default_factory=list)
    clusters: list = field(default_factory=list)

    def node(self, node_id: str) -> Node:
        """The node with this id."""
        return next(n for n in self.nodes if n.id == node_id)

    def to_dot(self) -> str:
        """Graphviz DOT text: active nodes solid, pruned ones grey, loop-carried edges dashed."""
        out = [f'digraph "{self.name}" {{', "  rankdir=LR;", "  compound=true;",
               '  node [fontname="monospace", fontsize=10];',
               f'  label="{_escape(self.name)}: active nodes (need a derivative w.r.t. {", ".join(self.wrt)}) '
               'are solid, pruned nodes grey";', "  labelloc=t;"]
        children = {}
        for i, c in enumerate(self.clusters):
            children.setdefault(c.parent, []).append(i)
        by_cluster = {}
        for n in self.nodes:
            by_cluster.setdefault(n.cluster, []).append(n)

        def emit(cluster, indent):
            pad = "  " * indent
            for n in by_cluster.get(cluster, []):
                out.append(pad + _dot_node(n))
            for child in children.get(cluster, []):
                out.append(f"{pad}subgraph cluster_{child} {{")
                out.append(f'{pad}  label="{_escape(self.clusters[child].label)}"; style=rounded; color=gray50;')
                emit(child, indent + 1)
                out.append(pad + "}")

        emit(None, 1)
        for e in self.edges:
            active = self.node(e.source).active and self.node(e.target).active
            style = ["style=dashed"] if e.loop else []
            style.append("color=black" if active else "color=gray70")
            out.append(f'  {e.source} -> {e.target} [{", ".join(style)}];')
        out.append("}")
        return "\n".join(out) + "\n"

    def draw(self, ax=None):
        """Draw the graph with matplotlib (no Graphviz needed): columns by dependency depth."""
        import matplotlib.pyplot as plt
        if ax is None:
            _, ax = plt.subplots(figsize=(10, 4))
        depth = {}
        preds = {}
        for e in self.edges:
            if not e.loop:
                preds.setdefault(e.target, []).append(e.source)
        for n in self.nodes:  # nodes are in program order, so sources come first
            depth[n.id] = 1 + max((depth.get(p, 0) for p in preds.get(n.id, [])), default=-1)
        rows = {}
        pos = {}
        for n in self.nodes:
            d = depth[n.id]
            pos[n.id] = (d, -rows.get(d, 0))
            rows[d] = rows.get(d, 0) + 1
        for e in self.edges:
            (x0, y0), (x1, y1) = pos[e.source], pos[e.target]
            active = self.node(e.source).active and self.node(e.target).active
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                        arrowprops=dict(arrowstyle="->", color="black" if active else "0.75",
                                        linestyle="--" if e.loop else "-", shrinkA=12, shrinkB=12,
                                        connectionstyle="arc3,rad=0.3" if e.loop else "arc3"))
        for n in self.nodes:
            x, y = pos[n.id]
            colour = {"input": "#cfe8ff", "op": "#ffffff", "output": "#d9f2d9"}[n.kind] if n.active else "#eeeeee"
            ax.text(x, y, n.label, ha="center", va="center", fontsize=8, family="monospace",
                    color="black" if n.active else "0.55",
                    bbox=dict(boxstyle="round", fc=colour, ec="black" if n.active else "0.7"))
        ax.set_xlim(-0.7, max(depth.values(), default=0) + 0.7)
        ax.set_ylim(-max(rows.values(), default=1) + 0.3, 0.7)
        ax.axis("off")
        ax.set_title(f"{self.name}: active (solid) and pruned (grey) operations")
        return ax


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _kind_check(call) -> bool:
    """Whether `call` is `s2s.numbers_or_arrays(x, 'x')`, the check of what kind of value `x` is (no operation)."""
    return isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and \
        call.func.attr == "numbers_or_arrays" and annotations.is_helper(call.func.value)


def _dot_node(n: Node) -> str:
    shape = {"input": "ellipse", "op": "box", "output": "doubleoctagon"}[n.kind]
    if n.active:
        look = 'style="filled,bold", fillcolor="#cfe8ff"' if n.kind != "op" else 'style="filled,bold", fillcolor="white"'
    else:
        look = 'style=filled, fillcolor="#eeeeee", color=gray60, fontcolor=gray50'
    return f'{n.id} [label="{_escape(n.label)}", shape={shape}, {look}];'


class _Builder:
    def __init__(self, pf, facts, wrt):
        self.pf, self.facts, self.wrt = pf, facts, wrt
        self.graph = None
        self.defs = {}  # name -> set of node ids that may have defined it last
        self.seen_edges = set()
        self._nodes_by_stmt, self._clusters, self._loop_counters = {}, {}, {}

    def add_node(self, label, kind, active, line, cluster):
        node = Node(f"n{len(self.graph.nodes)}", label, kind, active, line, cluster)
        self.graph.nodes.append(node)
        return node

    def add_edges(self, names, target, loop=False):
        for name in names:
            for source in sorted(self.defs.get(name, ())):
                key = (source, target.id)
                if key not in self.seen_edges:
                    self.seen_edges.add(key)
                    self.graph.edges.append(Edge(source, target.id, loop))

    def user_line(self, node):
        lineno = getattr(node, "lineno", None)
        if lineno and 0 < lineno <= len(self.pf.lines):
            return self.pf.lines[lineno - 1].strip().rstrip(":")
        return ast.unparse(node)

    def block(self, stmts, cluster, loop_pass=False):
        for s in stmts:
            self.statement(s, cluster, loop_pass)

    def statement(self, s, cluster, loop_pass):
        if isinstance(s, ast.Assign):
            target = s.targets[0]
            name = target.id if isinstance(target, ast.Name) else target.value.id
            used = analysis.atom_names(s.value) + ([] if isinstance(target, ast.Name) else
                                                   [name] + analysis.atom_names(target.slice))
            self.op(s, name, used, cluster, loop_pass)
        elif isinstance(s, ast.Expr) and analysis.is_append(s.value):
            name = s.value.func.value.id
            self.op(s, name, [name] + analysis.atom_names(s.value.args), cluster, loop_pass)
        elif isinstance(s, ast.Return):
            if loop_pass:
                return
            node = self.add_node("return " + ast.unparse(s.value), "output", True, getattr(s, "lineno", None), cluster)
            self.add_edges(analysis.atom_names(s.value), node)
        elif isinstance(s, ast.If):
            self.branch(s, cluster, loop_pass)
        elif isinstance(s, ast.For | ast.While):
            self.loop(s, cluster, loop_pass)
        elif isinstance(s, ast.Expr) and not _kind_check(s.value):
            self.op(s, None, analysis.atom_names(s.value), cluster, loop_pass)

    def op(self, s, name, used, cluster, loop_pass):
        if loop_pass:  # second trip round a loop: only the values carried back from the previous trip
            node = self._nodes_by_stmt[id(s)]
            self.add_edges(used, node, loop=True)
        else:
            # per statement, not per name: `acc = 0.0` before `acc = acc + x` needs no derivative
            active = bool(name) and name in self.facts.active and any(u in self.facts.varied for u in used)
            label = getattr(s, "s2s_label", None) or ast.unparse(s)
            node = self.add_node(label, "op", active, getattr(s, "lineno", None), cluster)
            self._nodes_by_stmt[id(s)] = node
            self.add_edges(used, node)
        if name:
            self.defs[name] = {node.id}

    def branch(self, s, cluster, loop_pass):
        inner = self.cluster_for(s, cluster, "if " + ast.unparse(s.test) + "   # " + self.user_line(s), loop_pass)
        before = {k: set(v) for k, v in self.defs.items()}
        self.block(s.body, inner, loop_pass)
        after_body = self.defs
        self.defs = {k: set(v) for k, v in before.items()}
        if s.orelse:
            other = self.cluster_for(s.orelse[0], cluster, "else   # " + self.user_line(s), loop_pass, key=id(s.orelse))
            self.block(s.orelse, other, loop_pass)
        for name, ids in after_body.items():
            self.defs[name] = self.defs.get(name, set()) | ids

    def loop(self, s, cluster, loop_pass):
        head = "for " + ast.unparse(s.target) + " in " + ast.unparse(s.iter) if isinstance(s, ast.For) else \
            "while " + ast.unparse(s.test)
        inner = self.cluster_for(s, cluster, head + "   # " + self.user_line(s), loop_pass)
        body = list(s.body) + list(getattr(s, "s2s_test", []))
        if isinstance(s, ast.For):  # the loop variable is a node of its own, fed by the range's bounds
            if id(s) not in self._loop_counters:
                counter = ast.copy_location(ast.Assign(targets=[s.target], value=s.iter), s)
                counter.s2s_label = f"{ast.unparse(s.target)} in {ast.unparse(s.iter)}"
                self._loop_counters[id(s)] = counter
            body = [self._loop_counters[id(s)]] + body
        before = {k: set(v) for k, v in self.defs.items()}
        self.block(body, inner, loop_pass)
        self.block(body, inner, loop_pass=True)  # values carried from one trip to the next
        for name, ids in before.items():  # the loop may run zero times
            self.defs[name] = self.defs.get(name, set()) | ids

    def cluster_for(self, s, parent, label, loop_pass, key=None):
        head, _, comment = label.partition("   # ")
        if comment.strip() == head.strip():
            label = head
        key = id(s) if key is None else key
        if key not in self._clusters:
            self.graph.clusters.append(Cluster(label, parent))
            self._clusters[key] = len(self.graph.clusters) - 1
        return self._clusters[key]


def build(func, wrt=0) -> Graph:
    """The computation graph of `func`'s lowered program, activity computed for `wrt`."""
    from s2s import pipeline
    names = pipeline._wrt_names(func, wrt)
    low = pipeline.lowered(func)
    facts = analysis.analyze(low.pf, low.tree, list(names))
    builder = _Builder(low.pf, facts, names)
    builder.graph = Graph(low.tree.name, names)
    for p in inspect.signature(func).parameters:
        node = builder.add_node(p, "input", p in names and p in facts.useful, None, None)
        builder.defs[p] = {node.id}
    builder.block(low.tree.body, None)
    return builder.graph


def dot(func, wrt=0) -> str:
    """Graphviz DOT source of `func`'s computation graph (see `build`)."""
    return build(func, wrt).to_dot()
