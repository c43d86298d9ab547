"""A generator of random differentiable Python/NumPy programs, written as source text.

A program is a module: up to three helper functions and a main function `f` of float and array
arguments (and sometimes an int `n`) whose output is a scalar. It is written from:

- arithmetic with broadcasting (shapes such as (3, 1) with (4,), scalars with arrays), safe powers,
  `math` and NumPy functions, reductions (with axis and keepdims), `@`/dot/einsum/outer, reshape,
  transpose, slicing and indexing, stack/concatenate, cumsum, `np.maximum`, `abs`, `np.where`, ...;
- `if`/`elif`/`else`, conditional expressions, `for` over `range` (also reversed, `len(x)`, `n`),
  over arrays, `enumerate` and `zip`, `while` loops with a counter guard, `break`/`continue`,
  early returns; calls of helpers (keyword and default arguments, tuple results), lambdas;
- local arrays updated in place (`z = np.zeros(...)`, `z = x.copy()`, `z[i] = ...`, `z[:, j] *= ...`,
  `z += ...`), and now and then an update another name may observe (s2s may refuse that one).

- the classes of issue 13, each line tagged with its class (see TAGS below): an in-place update
  through an alias made by every binding form (chained, conditional, tuple unpacking, a helper that
  returns its argument or a pair, list and dict elements, `for`/`enumerate`/`zip` loop variables,
  views, 0-d arrays, also 0-d array arguments) with a later read of the other name, and the same forms
  where the alias is dead or rebound first; in-place NumPy functions and methods; list and tuple
  concatenation and repetition; copies of lists and dicts whose items are read; and (`Program.redefs`)
  module globals (`act0 = np.sin`, a number, an array), helpers and defaults that the oracle changes
  between two gradients.

Every other construct is one s2s documents as supported. Everything that could make a derivative
ill-defined (a branch condition, `np.maximum`, `abs`, `np.max`, `np.where`, `np.clip`) is written
so that a second rendering of the same program, the *probe* rendering, records which way each
decision went; the oracle then only compares derivatives at points where no finite-difference step
flips a decision. Denominators, logarithms, square roots and fractional powers only ever see
expressions that are positive by construction. A third rendering is the same program for autograd.
`Program.features` names the constructs a program has that a known bug is tied to.

The generator draws every decision from a `Chooser`: `HypothesisChooser` (so that Hypothesis
shrinks failing programs) or `RandomChooser` (for long runs outside Hypothesis).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from hypothesis import strategies as st

# ---------------------------------------------------------------- choices


class Chooser:
    """Where the generator's decisions come from. Every decision shrinks towards its first option."""

    def integer(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""
        raise NotImplementedError

    def choice(self, options):
        """One of `options` (a sequence)."""
        return options[self.integer(0, len(options) - 1)]

    def weighted(self, options):
        """One value of `options`, a list of (weight, value) pairs."""
        options = [(w, v) for w, v in options if w > 0]
        total = sum(w for w, _ in options)
        k = self.integer(0, total - 1)
        for w, v in options:
            if k < w:
                return v
            k -= w
        raise AssertionError("unreachable")

    def chance(self, percent: int) -> bool:
        """True with probability `percent`%; shrinks to False."""
        return self.integer(0, 99) >= 100 - percent


class HypothesisChooser(Chooser):
    """Decisions drawn from a Hypothesis `draw` function."""

    def __init__(self, draw):
        self._draw = draw

    def integer(self, lo, hi):
        """An integer in [lo, hi], drawn by Hypothesis."""
        return lo if lo == hi else self._draw(st.integers(lo, hi))


class RandomChooser(Chooser):
    """Decisions from a seeded `random.Random`."""

    def __init__(self, seed):
        self._rng = random.Random(seed)

    def integer(self, lo, hi):
        """An integer in [lo, hi]."""
        return self._rng.randint(lo, hi)


# ---------------------------------------------------------------- expressions as small trees


class Node:
    """An expression or statement: a format string over child nodes, with other formats per rendering.

    Renderings: "plain" (what s2s differentiates), "probe" (records every decision in `_P`),
    "ag" (the same program in a form autograd can trace).
    """

    __slots__ = ("fmt", "kids", "alts", "fresh", "names", "shape", "tags")

    def __init__(self, fmt, *kids, probe=None, ag=None, fresh=True, tags=()):
        self.fmt = fmt
        self.kids = kids
        self.alts = {"probe": probe, "ag": ag}
        self.fresh = fresh  # the value is a new array, not a view of a variable
        self.names = set().union(*(k.names for k in kids)) if kids else set()
        self.shape = None  # set on expressions: the shape of their value (for the reducer)
        # the constructs of a class the oracle knows (see TAGS) this node contains: where s2s may refuse
        self.tags = frozenset(tags).union(*(k.tags for k in kids)) if kids else frozenset(tags)

    def render(self, mode="plain"):
        """Source text of this node in the given rendering."""
        fmt = self.alts.get(mode) or self.fmt
        return fmt.format(*(k.render(mode) for k in self.kids))


def leaf(text, fresh=True, name=None):
    """A node without children (a name or a constant)."""
    n = Node(text.replace("{", "{{").replace("}", "}}"), fresh=fresh)
    if name:
        n.names = {name}
    return n


def tag(node, *tags):
    """`node`, marked as (part of) the constructs `tags` (see TAGS)."""
    node.tags = node.tags | frozenset(tags)
    return node


def const(c):
    """A float constant."""
    return leaf(repr(float(c)))


CONSTS = [0.5, 1.5, 2.0, 0.3, 0.7, 1.2, 3.0, 0.25, 0.9, 1.1, 0.1, 2.5]


def size_of(shape):
    """Number of elements of an array of `shape`."""
    n = 1
    for d in shape:
        n *= d
    return n


# ---------------------------------------------------------------- variables and scopes


@dataclass
class Var:
    """A variable in scope: `shape` is None for an int, () for a float scalar, else an array shape."""

    name: str
    shape: tuple | None
    hi: int = 0  # ints: the value lies in [0, hi)
    param: bool = False
    zerod: bool = False  # shape (): a 0-d array (updated in place by `+=`), not a float


@dataclass
class Scope:
    """Variables visible at a point, which local arrays may be updated in place, and the enclosing context."""

    vars: list = field(default_factory=list)
    owned: set = field(default_factory=set)
    in_loop: bool = False
    ret: object = ()  # the function's return type: a shape, or a tuple of shapes
    depth: int = 0
    iterating: frozenset = frozenset()  # arrays an enclosing `for` iterates over
    lambdas: list = field(default_factory=list)  # [(name, shape)]: local `lambda t: ...` of this shape

    def child(self, **kw):
        """A nested block's scope: new variables and ownership stay inside it."""
        s = Scope(list(self.vars), set(self.owned), self.in_loop, self.ret, self.depth + 1, self.iterating,
                  list(self.lambdas))
        for k, v in kw.items():
            setattr(s, k, v)
        return s

    def floats(self, shape):
        """Variables holding a float value of this shape."""
        return [v for v in self.vars if v.shape == shape]

    def arrays(self):
        """Variables holding arrays."""
        return [v for v in self.vars if v.shape]

    def ints(self):
        """Variables holding ints."""
        return [v for v in self.vars if v.shape is None]


@dataclass
class Helper:
    """A generated helper function: its name, parameter shapes, defaults and return type."""

    name: str
    params: list  # [(name, shape)]
    default: float | None  # the last parameter (a float) has this default when not None
    ret: object  # a shape, or a tuple of two shapes
    lines: list = field(default_factory=list)
    mutates: bool = False  # may update an argument (a 0-d array) in place: its calls carry the tag


@dataclass
class Redefinition:
    """A change made to the program's module between two gradients: statements run in the module (or
    appended to its file before `importlib.reload`), and the statements that undo them."""

    apply: str
    revert: str
    what: str  # for messages: "helper h0", "global act0", "f.__defaults__", ...


@dataclass
class Program:
    """A generated module: its source in every rendering, and how to call `f`."""

    helpers: list
    main_lines: list
    params: list  # [(name, shape or None for int, int value or None, or "0d" for a 0-d array)]
    autograd_ok: bool
    features: frozenset = frozenset()  # constructs a known bug is tied to (see oracle.KNOWN_BUGS)
    header: list = field(default_factory=list)  # module-level lines before the helpers (globals)
    aux: list = field(default_factory=list)  # helpers written for the alias forms (identity, pair)
    alts: list = field(default_factory=list)  # second definitions of helpers (name__v2), for redefinition
    footer: list = field(default_factory=list)  # module-level lines between the helpers and f
    redefs: list = field(default_factory=list)  # [Redefinition] made after a first gradient
    reload: bool = False  # make them by rewriting the file (a helper's own def) and importlib.reload
    revert: bool = False  # then undo them and check a third time

    def _lines(self, mode, swapped=()):
        """[(text, tags)] of the module in one rendering; the helpers named in `swapped` with their second
        definition's body (as a rewritten file has them). A helper with a second definition takes as many
        lines either way, so that the line numbers of what follows stay the same."""
        out = [("import math", ()), ("", ()), ("import numpy as np", ()), ("", ()), ("", ())]

        def add(lines):
            for ind, n in lines:
                out.append((_render_line(ind, n, mode), n.tags))

        if self.header:
            add(self.header)
            out += [("", ()), ("", ())]
        alts = {a.name[:-len("__v2")]: a for a in self.alts}
        for h in list(self.aux) + list(self.helpers) + list(self.alts):
            lines = h.lines
            if h.name in swapped:
                head = alts[h.name].lines[0][1].render().replace(f"def {h.name}__v2(", f"def {h.name}(", 1)
                lines = [(0, leaf(head))] + alts[h.name].lines[1:]
            add(lines)
            if h.name in alts:
                out += [("", ())] * (max(len(h.lines), len(alts[h.name].lines)) - len(lines))
            out += [("", ()), ("", ())]
        if self.footer:
            add(self.footer)
            out += [("", ()), ("", ())]
        add(self.main_lines)
        return out

    def source(self, mode="plain", swapped=()):
        """The module's source text in one rendering (see _lines for `swapped`)."""
        return "\n".join(text for text, _ in self._lines(mode, swapped)) + "\n"

    def tags_at(self, lineno):
        """The tags (see TAGS) of the construct on line `lineno` (1-based) of the plain rendering."""
        lines = self._lines("plain")
        if lineno is None or not 1 <= lineno <= len(lines):
            return frozenset()
        return frozenset(lines[lineno - 1][1])

    @property
    def tags(self):
        """Every tag in the program."""
        return frozenset().union(*(frozenset(t) for _, t in self._lines("plain")))

    def redefinition_text(self):
        """The redefinitions, as the comment a failure report shows."""
        if not self.redefs:
            return ""
        how = ("rewriting the file (a redefined helper's def takes the __v2 body) and importlib.reload"
               if self.reload else "assignment in the module")
        text = [f"# after a first gradient, by {how}:"] + [f"#     {r.apply}" for r in self.redefs]
        if self.revert:
            text += ["# and then undone:"] + [f"#     {r.revert}" for r in self.redefs]
        return "\n".join(text) + "\n"

    def __repr__(self):
        return "Program(\n" + self.source() + self.redefinition_text() + ")"

    def _repr_pretty_(self, printer, cycle):
        """How Hypothesis prints a falsifying example: the source, not the node objects."""
        printer.text(repr(self))


def _render_line(indent, node, mode):
    return "    " * indent + node.render(mode)


# ---------------------------------------------------------------- the generator

# Classes of construct the oracle judges by where s2s refuses (Node.tags, Program.tags_at). A tag is
# "class:form"; every line of a construct carries it:
#   alias:*    an in-place update (`+=`, `*=`, `y[i] = ...`, `y[i] += ...`, `L.append`, ...) of an object another
#              live name shares through a binding form: chained, conditional, tuple unpacking, a helper's return,
#              a list or dict element, a loop variable, a view, a 0-d array; followed by a read of the other
#              name. Right, or refused with an "in place" UnsupportedSyntaxError.
#   ok:*       the same forms where the alias is dead or rebound before the update (or was never an alias:
#              `z[()]`, numbers): must be accepted and right; a refusal is counted as over-caution.
#   inplace:*  an in-place NumPy function or method (np.copyto, np.put, ..., ufunc.at, .fill(), .sort(), out=):
#              refused (UnsupportedSyntaxError) or right.
#   concat:*   list and tuple concatenation and repetition (`[x] + [y]`, `L += [e]`, `[x] * 2`): right or refused.
# Redefinition between two gradients (of a helper, a global, defaults; by assignment or importlib.reload)
# is Program.redefs; the oracle checks every derivative again after it.
TAG_CLASSES = ("alias", "ok", "inplace", "concat")
ALIAS_FORMS = ("chained", "cond", "tuple", "ident", "pair", "list", "dict", "view", "loop", "enumerate", "zip",
               "listalias")
ACT_PAIRS = [("np.sin", "np.cos"), ("np.tanh", "np.sin"), ("np.cos", "np.arctan"), ("np.arctan", "np.tanh"),
             ("np.sin", "np.exp")]


@dataclass
class Global:
    """A module global f or its helpers read: `kind` is "fn" (a NumPy function), "const" or "array"."""

    name: str
    kind: str
    shape: tuple | None
    old: str  # its first value, as source
    new: str  # the value a redefinition gives it


@dataclass
class Handle:
    """Something an alias form binds to an array: a name (`var`), or an element `L[0]`, `D['k']`."""

    text: str
    shape: tuple
    var: Var | None = None
    item: bool = True  # `text[...] = v` works: an array or 0-d array (not a NumPy scalar)


def _passes_through(e):
    """Whether the value of expression `e` may be the very object one of its variables holds (not a new one)."""
    if not e.kids:
        return bool(e.names)
    f = e.fmt
    if f.startswith(("max(", "min(")):
        return any(_passes_through(k) for k in e.kids)
    if " if {1} else " in f:
        return _passes_through(e.kids[0]) or _passes_through(e.kids[2])
    head = f.split("(", 1)[0]
    if head.isidentifier() and head not in ("float", "sum", "abs"):
        return True  # a call of a helper or lambda: it may return its argument
    if f.startswith("{0}[") and e.kids[0].fmt.split("(", 1)[0].isidentifier():
        return True  # an item of a helper's tuple
    return False


SHAPES = [(2,), (3,), (4,), (1,), (3, 1), (1, 4), (2, 3), (3, 4), (4, 3), (2, 2), (3, 3), (1, 3)]
MATH = ["sin", "cos", "tanh", "exp", "sin", "cos", "tanh", "exp", "atan", "sinh", "cosh", "asinh", "expm1"]
UFUNC = ["sin", "cos", "tanh", "exp", "sin", "cos", "tanh", "exp", "arctan", "sinh", "cosh", "arcsinh", "expm1"]


def broadcast(a, b):
    """The broadcast shape of two shapes (both valid)."""
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    return tuple(max(x, y) for x, y in zip(a, b))


class Generator:
    """Writes one random program; see the module docstring."""

    def __init__(self, ch: Chooser, max_depth=3, max_stmts=6):
        self.ch = ch
        self.max_depth = max_depth
        self.max_stmts = max_stmts
        self.helpers: list[Helper] = []
        self.counter = 0
        self.nprobe = 0
        self.autograd_ok = True
        self.features: set = set()
        self.flip_views: set = set()  # names that may share memory through np.flip
        self.disowned: set = set()  # arrays passed to a helper as they are
        self.in_helper = False
        self.aux: list[Helper] = []  # helpers of the alias forms (identity, pair)
        self.has_zerod = False  # f has a 0-d array argument
        self.zerod_names: set = set()  # scalars in the current function that may be a 0-d array object
        self.mutates = False  # the helper being written may update a 0-d argument in place
        self.sink = False  # f accumulates the reads of the tagged constructs into `sink`
        self.globals: list[Global] = []  # module globals the functions read

    # ---- names and probes

    def fresh(self, prefix):
        """A new variable name."""
        self.counter += 1
        return f"{prefix}{self.counter}"

    def note_zerod(self, var, e):
        """`var = e`: where e's value may be a 0-d array a variable holds, so may var's (`+=` then updates it)."""
        if var.shape == () and e.names & self.zerod_names and _passes_through(e):
            self.zerod_names.add(var.name)

    def probe_id(self):
        """A new decision-point number."""
        self.nprobe += 1
        return self.nprobe

    # ---- shapes

    def any_shape(self, scope, scalar_percent=30):
        """A type for a new value, biased towards the shapes already in scope."""
        if self.ch.chance(scalar_percent):
            return ()
        shapes = sorted({v.shape for v in scope.arrays()} | {h.ret for h in self.helpers if h.ret and isinstance(h.ret[0], int)})
        if shapes and self.ch.chance(60):
            return self.ch.choice(shapes)
        return self.ch.choice(SHAPES)

    def reduce_shape(self, shape):
        """A shape that broadcasts up to `shape` (some dimensions set to 1, maybe leading ones dropped)."""
        out = [1 if (d > 1 and self.ch.chance(30)) else d for d in shape]
        while len(out) > 1 and out[0] == 1 and self.ch.chance(50):
            out = out[1:]
        if len(out) > 1 and self.ch.chance(15):
            out = out[1:] if out[0] == shape[0] and all(o == s for o, s in zip(out[1:], shape[1:])) else out
        return tuple(out)

    def split_shape(self, shape):
        """Two shapes whose broadcast is exactly `shape`."""
        a = self.reduce_shape(shape)
        a_full = (1,) * (len(shape) - len(a)) + a
        b = [d if a_full[k] != d else (1 if (d > 1 and self.ch.chance(30)) else d) for k, d in enumerate(shape)]
        b = tuple(b)
        while len(b) > 1 and b[0] == 1 and self.ch.chance(40):
            b = b[1:]
        if broadcast(a, b) != tuple(shape):
            return shape, shape
        return (a, b) if self.ch.chance(50) else (b, a)

    # ---- index expressions

    def index(self, n, scope):
        """An int expression with a value in [-n, n)."""
        ints = [v for v in scope.ints() if not v.param and 0 < v.hi <= n]
        opts = [(3, "const")]
        if ints:
            opts.append((6, "int"))
        kind = self.ch.weighted(opts)
        if kind == "const":
            return leaf(str(self.ch.integer(-n, n - 1)))
        v = self.ch.choice(ints)
        form = self.ch.integer(0, 3)
        if form == 1:
            return Node("-1 - {0}", leaf(v.name, name=v.name))
        if form == 2 and n > 1:
            return Node("({0} + %d) %% %d" % (self.ch.integer(1, n - 1), n), leaf(v.name, name=v.name))
        return leaf(v.name, name=v.name)

    def slice_text(self, n, k, scope):
        """A slice selecting `k` of `n` elements (as a format fragment with {} for an int child), or None."""
        opts = []
        if k <= n:
            opts.append("plain")
        if k == n:
            opts += ["all", "rev"]
        if k == (n + 1) // 2 and n > 1:
            opts.append("step")
        if k < n:
            opts.append("tail")
        ints = [v for v in scope.ints() if not v.param and 0 < v.hi and v.hi - 1 + k <= n]
        if ints:
            opts.append("int")
        if not opts:
            return None
        kind = self.ch.choice(opts)
        if kind == "all":
            return ":", None
        if kind == "rev":
            return "::-1", None
        if kind == "step":
            return "::2", None
        if kind == "tail":
            return f"-{k}:", None
        if kind == "int":
            v = self.ch.choice(ints)
            return "{0}:{0} + %d" % k, leaf(v.name, name=v.name)
        o = self.ch.integer(0, n - k)
        return f"{o}:{o + k}", None

    # ---- expressions

    def expr(self, shape, scope, depth):
        """An expression with a float value of `shape` (() for a scalar)."""
        if depth <= 0 or self.ch.chance(20):
            node = self.leaf(shape, scope, depth)
        elif shape == ():
            node = self.scalar(scope, depth)
        else:
            node = self.array(shape, scope, depth)
        node.shape = shape
        return node

    def leaf(self, shape, scope, depth):
        """A variable, a part of one, or a constant of this shape."""
        opts = []
        exact = scope.floats(shape)
        if exact:
            opts.append((12, "var"))
        if shape == ():
            if any(v.shape for v in scope.arrays()):
                opts.append((5, "element"))
            if scope.ints():
                opts.append((1, "int"))
            opts.append((2, "const"))
        else:
            if any(self._can_slice(v.shape, shape) for v in scope.arrays()):
                opts.append((4, "slice"))
            if any(size_of(v.shape) == size_of(shape) and v.shape != shape for v in scope.arrays()):
                opts.append((3, "reshape"))
            if len(shape) == 2 and scope.floats(shape[::-1]):
                opts.append((3, "T"))
            if len(shape) == 1 and any(len(v.shape) == 2 and v.shape[1] == shape[0] for v in scope.arrays()):
                opts.append((2, "row"))
            if len(shape) == 1 and any(len(v.shape) == 2 and v.shape[0] == shape[0] for v in scope.arrays()):
                opts.append((2, "col"))
            opts.append((1, "const"))
        if len(opts) == 1 and depth > 0:  # only a constant fits here: build the value from variables instead
            return self.scalar(scope, depth) if shape == () else self.array(shape, scope, depth)
        if len(opts) == 1 and scope.vars and self.ch.chance(80):
            return Node("({0} * {1})", self.leaf((), scope, 0), self.constant(shape))
        kind = self.ch.weighted(opts)
        if kind == "var":
            v = self.ch.choice(exact)
            return leaf(v.name, fresh=False, name=v.name)
        if kind == "int":
            v = self.ch.choice(scope.ints())
            return Node("(0.5 * {0})", leaf(v.name, name=v.name))
        if kind == "element":
            v = self.ch.choice(scope.arrays())
            idx = [self.index(d, scope) for d in v.shape]
            base = leaf(v.name, fresh=False, name=v.name)
            if len(idx) == 2 and self.ch.chance(30):
                return Node("{0}[{1}][{2}]", base, *idx)
            return Node("{0}[" + ", ".join("{%d}" % (k + 1) for k in range(len(idx))) + "]", base, *idx)
        if kind == "slice":
            v = self.ch.choice([v for v in scope.arrays() if self._can_slice(v.shape, shape)])
            return self.sliced(leaf(v.name, fresh=False, name=v.name), v.shape, shape, scope)
        if kind == "reshape":
            v = self.ch.choice([v for v in scope.arrays() if size_of(v.shape) == size_of(shape) and v.shape != shape])
            return self.reshaped(leaf(v.name, fresh=False, name=v.name), shape)
        if kind == "T":
            v = self.ch.choice(scope.floats(shape[::-1]))
            return self.transposed(leaf(v.name, fresh=False, name=v.name))
        if kind == "row":
            v = self.ch.choice([v for v in scope.arrays() if len(v.shape) == 2 and v.shape[1] == shape[0]])
            return Node("{0}[{1}]", leaf(v.name, fresh=False, name=v.name), self.index(v.shape[0], scope), fresh=False)
        if kind == "col":
            v = self.ch.choice([v for v in scope.arrays() if len(v.shape) == 2 and v.shape[0] == shape[0]])
            return Node("{0}[:, {1}]", leaf(v.name, fresh=False, name=v.name), self.index(v.shape[1], scope), fresh=False)
        return self.constant(shape)

    def constant(self, shape):
        """A constant of this shape."""
        if shape == ():
            return const(self.ch.choice(CONSTS))
        lo, hi = self.ch.choice([(-1.0, 1.0), (0.5, 2.0), (-0.3, 0.8)])
        n = size_of(shape)
        if len(shape) == 1:
            return leaf(f"np.linspace({lo}, {hi}, {n})")
        if self.ch.chance(30):
            return leaf(f"np.ones({shape})")
        return leaf(f"np.linspace({lo}, {hi}, {n}).reshape({shape})")

    def _can_slice(self, src, dst):
        if len(src) != len(dst) or src == dst:
            return False
        return all(d <= s for s, d in zip(src, dst))

    def sliced(self, base, src, dst, scope):
        """`base[...]` of shape `dst` from `src` (same rank, each dimension no larger)."""
        parts, kids = [], [base]
        for n, k in zip(src, dst):
            text, kid = self.slice_text(n, k, scope)
            if kid is not None:
                kids.append(kid)
                text = text.replace("{0}", "{%d}" % (len(kids) - 1))
            parts.append(text)
        return Node("{0}[" + ", ".join(parts) + "]", *kids, fresh=False)

    def reshaped(self, node, shape):
        """`node` reshaped to `shape`."""
        if self.ch.chance(40):
            return Node("np.reshape({0}, %s)" % (shape,), node, fresh=False)
        return Node("{0}.reshape(%s)" % (", ".join(map(str, shape)),), node, fresh=False)

    def transposed(self, node):
        """The transpose of a 2-d `node`."""
        if self.ch.chance(40):
            return Node("np.transpose({0})", node, fresh=False)
        return Node("{0}.T", node, fresh=False)

    def positive(self, shape, scope, depth):
        """An expression that is positive (and not tiny) by construction; the probe rendering rejects the point
        where an exp is tiny (dividing by it would make rounding errors of cancelling terms huge)."""
        e = self.expr(shape, scope, depth - 1)
        form = self.ch.integer(0, 5)
        k = self.probe_id() if form == 2 else None
        if shape == ():
            return [Node("(1.0 + {0} * {0})", e), Node("(2.0 + math.sin({0}))", e),
                    Node("math.exp({0})", e, probe=f"_P.not_tiny({k}, math.exp({{0}}))"),
                    Node("(1.5 + math.tanh({0}))", e), Node("(0.5 + {0} ** 2)", e), const(self.ch.choice(CONSTS))][form]
        return [Node("(1.0 + {0} * {0})", e), Node("(2.0 + np.sin({0}))", e),
                Node("np.exp({0})", e, probe=f"_P.not_tiny({k}, np.exp({{0}}))"),
                Node("(1.5 + np.tanh({0}))", e), Node("(0.5 + {0} ** 2)", e),
                Node("(1.0 + np.square({0}))", e)][form]

    def scalar(self, scope, depth):
        """A compound scalar expression."""
        d = depth - 1
        opts = [(8, "binop"), (3, "div"), (3, "pow"), (1, "neg"), (6, "math"), (1, "npfun"), (2, "log"),
                (2, "sqrt"), (7, "reduce"), (2, "dot"), (3, "element"), (1, "abs"), (1, "max"), (1, "ifexp"),
                (1, "float"), (1, "npmax"), (1, "norm"), (1, "log1p"), (1, "hypot"), (1, "listsum"), (1, "trace")]
        if any(len(v.shape or ()) == 1 for v in scope.vars):
            opts.append((1, "comprehension"))
        if any(s_ == () for _, s_ in scope.lambdas):
            opts.append((3, "lambda"))
        if any(h.ret == () for h in self.helpers):
            opts.append((4, "call"))
        if any(isinstance(h.ret, tuple) and len(h.ret) and isinstance(h.ret[0], tuple) and () in h.ret
               for h in self.helpers):
            opts.append((1, "call_item"))
        opts.append((2, "listcat"))
        if self.globals:
            opts.append((3, "global"))
        kind = self.ch.weighted(opts)
        if kind == "binop":
            op = self.ch.choice(["+", "*", "-"])
            return Node("({0} %s {1})" % op, self.expr((), scope, d), self.expr((), scope, d))
        if kind == "listcat":
            return self.scalar_concat(scope, d)
        if kind == "global":
            return self.global_use((), scope, d)
        if kind == "div":
            return Node("({0} / {1})", self.expr((), scope, d), self.positive((), scope, d))
        if kind == "pow":
            form = self.ch.integer(0, 4)
            if form == 0:
                return Node("({0} ** 2)", self.expr((), scope, d))
            if form == 1:
                return Node("({0} ** 3)", self.expr((), scope, d))
            if form == 2:
                return Node("({0} ** %s)" % self.ch.choice(["0.5", "1.5", "-1.0", "2.5", "-0.5"]), self.positive((), scope, d))
            if form == 3:
                return Node("math.pow({0}, %s)" % self.ch.choice(["2.0", "1.5", "3"]), self.positive((), scope, d))
            return Node("({0} ** math.tanh({1}))", self.positive((), scope, d), self.expr((), scope, d))
        if kind == "neg":
            return Node("(-{0})", self.expr((), scope, d))
        if kind == "math":
            fn = self.ch.choice(MATH)
            return Node(f"math.{fn}({{0}})", self.expr((), scope, d))
        if kind == "npfun":
            fn = self.ch.choice(UFUNC)
            return Node(f"np.{fn}({{0}})", self.expr((), scope, d))
        if kind == "log":
            fn = self.ch.choice(["math.log", "np.log"])
            return Node(f"{fn}({{0}})", self.positive((), scope, d))
        if kind == "sqrt":
            fn = self.ch.choice(["math.sqrt", "np.sqrt"])
            return Node(f"{fn}({{0}})", self.positive((), scope, d))
        if kind == "reduce":
            shape = self.any_shape(scope, scalar_percent=0)
            fn = self.ch.choice(["np.sum({0})", "np.mean({0})", "{0}.sum()", "{0}.mean()", "np.sum({0})",
                                 "np.prod({0})", "np.var({0})"])
            return Node(fn, self.expr(shape, scope, d))
        if kind == "dot":
            n = self.ch.choice([1, 2, 3, 4])
            form = self.ch.choice(["np.dot({0}, {1})", "({0} @ {1})", "np.inner({0}, {1})"])
            return Node(form, self.expr((n,), scope, d), self.expr((n,), scope, d))
        if kind == "element":
            shape = self.ch.choice([(2,), (3,), (4,), (2, 3), (3, 2)])
            e = self.expr(shape, scope, d)
            idx = [self.index(k, scope) for k in shape]
            return Node("{0}[" + ", ".join("{%d}" % (k + 1) for k in range(len(idx))) + "]", e, *idx)
        if kind == "abs":
            k = self.probe_id()
            return Node("abs({0})", self.expr((), scope, d), probe=f"_P.abs({k}, {{0}})")
        if kind == "max":
            k = self.probe_id()
            fn = self.ch.choice(["max", "min"])
            return Node(f"{fn}({{0}}, {{1}})", self.expr((), scope, d), self.expr((), scope, d),
                        probe=f"_P.py{fn}({k}, {{0}}, {{1}})")
        if kind == "ifexp":
            return Node("({0} if {1} else {2})", self.expr((), scope, d), self.condition(scope, d), self.expr((), scope, d))
        if kind == "float":
            return Node("float({0})", self.expr((), scope, d), ag="({0})")
        if kind == "npmax":
            k = self.probe_id()
            shape = self.any_shape(scope, scalar_percent=0)
            fn = self.ch.choice(["max", "min"])
            return Node(f"np.{fn}({{0}})", self.expr(shape, scope, d), probe=f"_P.reduce({k}, '{fn}', {{0}}, None)")
        if kind == "norm":
            shape = self.any_shape(scope, scalar_percent=0)
            return Node("np.linalg.norm({0})", self.positive(shape, scope, d))
        if kind == "log1p":
            fn = self.ch.choice(["math.log1p", "np.log1p"])
            return Node(f"{fn}({{0}})", self.positive((), scope, d))
        if kind == "hypot":
            fn = self.ch.choice(["math.hypot", "np.hypot"])
            return Node(f"{fn}({{0}}, {{1}})", self.expr((), scope, d), self.positive((), scope, d))
        if kind == "listsum":
            parts = [self.expr((), scope, d) for _ in range(self.ch.integer(1, 3))]
            return Node("sum([" + ", ".join("{%d}" % k for k in range(len(parts))) + "])", *parts)
        if kind == "trace":
            n = self.ch.choice([1, 2, 3])
            return Node("np.trace({0})", self.expr((n, n), scope, d))
        if kind == "comprehension":
            src = self.ch.choice([v for v in scope.vars if len(v.shape or ()) == 1])
            e = Var(self.fresh("c"), ())
            inner = scope.child()
            inner.vars.append(e)
            body = self.expr((), inner, d)
            return Node(f"sum([{{0}} for {e.name} in {{1}}])", body, leaf(src.name, name=src.name))
        if kind == "lambda":
            name = self.ch.choice([n for n, s_ in scope.lambdas if s_ == ()])
            return Node(f"{name}({{0}})", self.expr((), scope, d))
        if kind == "call_item":
            h = self.ch.choice([h for h in self.helpers if isinstance(h.ret, tuple) and h.ret and isinstance(h.ret[0], tuple)
                                and () in h.ret])
            return Node("{0}[%d]" % h.ret.index(()), self.call(h, scope, d))
        h = self.ch.choice([h for h in self.helpers if h.ret == ()])
        return self.call(h, scope, d)

    def call(self, h, scope, depth):
        """A call of helper `h` with generated arguments.

        An array passed as it is (or a view of it) is never updated in place afterwards: s2s refuses
        that, as the callee could keep a reference to it."""
        args = [self.expr(shape, scope, depth) for _, shape in h.params]
        for a in args:
            if not a.fresh:
                self.disowned |= a.names
        parts = ["{%d}" % k for k in range(len(args))]
        if h.default is not None:
            form = self.ch.integer(0, 2)
            if form == 1:
                parts[-1] = f"{h.params[-1][0]}=" + parts[-1]
            elif form == 2:
                parts, args = parts[:-1], args[:-1]
        tags = ()
        if h.mutates:  # it may update a 0-d array it is passed: s2s may refuse the call
            tags = ("alias:helper-0d",)
            self.mutates = self.mutates or self.in_helper
        return Node(f"{h.name}(" + ", ".join(parts) + ")", *args, fresh=False, tags=tags)

    def array(self, shape, scope, depth):
        """A compound expression with an array value of `shape`."""
        d = depth - 1
        opts = [(10, "binop"), (4, "scalarop"), (8, "ufunc"), (2, "log"), (2, "sqrt"), (3, "div"), (3, "pow"),
                (2, "maximum"), (1, "abs"), (1, "neg"), (2, "reshape"), (1, "slice"), (1, "where"), (1, "clip"),
                (1, "copy")]
        opts += [(1, "log1p"), (1, "reciprocal"), (1, "hypot"), (1, "logaddexp"), (1, "power")]
        if len(shape) == 2:
            opts += [(4, "matmul"), (2, "T"), (2, "outer"), (1, "keepdims"), (1, "stack"), (1, "einsum"), (1, "vstack")]
            if shape[0] == shape[1]:
                opts.append((1, "diag"))
        if len(shape) == 1:
            opts += [(3, "matvec"), (3, "axis"), (1, "cumsum"), (1, "concat"), (1, "flip"), (1, "einsum"), (1, "hstack")]
        if any(s_ == shape for _, s_ in scope.lambdas):
            opts.append((3, "lambda"))
        if any(h.ret == shape for h in self.helpers):
            opts.append((4, "call"))
        opts.append((1, "listcat"))
        if self.globals:
            opts.append((2, "global"))
        kind = self.ch.weighted(opts)
        if kind == "listcat":
            return self.array_concat(shape, scope, d)
        if kind == "global":
            return self.global_use(shape, scope, d)
        if kind == "binop":
            a, b = self.split_shape(shape)
            op = self.ch.choice(["+", "*", "-"])
            return Node("({0} %s {1})" % op, self.expr(a, scope, d), self.expr(b, scope, d))
        if kind == "scalarop":
            op = self.ch.choice(["+", "*", "-"])
            s, a = self.expr((), scope, d), self.expr(shape, scope, d)
            return Node("({0} %s {1})" % op, s, a) if self.ch.chance(50) else Node("({0} %s {1})" % op, a, s)
        if kind == "ufunc":
            return Node(f"np.{self.ch.choice(UFUNC)}({{0}})", self.expr(shape, scope, d))
        if kind == "log":
            return Node("np.log({0})", self.positive(shape, scope, d))
        if kind == "sqrt":
            return Node("np.sqrt({0})", self.positive(shape, scope, d))
        if kind == "div":
            num_shape, den_shape = self.split_shape(shape)
            if self.ch.chance(30):
                den_shape = ()
            num = self.expr(num_shape if den_shape else shape, scope, d)
            return Node("({0} / {1})", num, self.positive(den_shape, scope, d))
        if kind == "pow":
            if self.ch.chance(50):
                return Node("({0} ** %s)" % self.ch.choice(["2", "3", "2.0"]), self.expr(shape, scope, d))
            return Node("({0} ** %s)" % self.ch.choice(["0.5", "1.5", "-1.0"]), self.positive(shape, scope, d))
        if kind == "maximum":
            a, b = self.split_shape(shape)
            if self.ch.chance(30):
                b = ()
            fn = self.ch.choice(["maximum", "minimum"])
            k = self.probe_id()
            return Node(f"np.{fn}({{0}}, {{1}})", self.expr(a if b != () else shape, scope, d), self.expr(b, scope, d),
                        probe=f"_P.{fn}({k}, {{0}}, {{1}})")
        if kind == "abs":
            k = self.probe_id()
            return Node("np.abs({0})", self.expr(shape, scope, d), probe=f"_P.abs({k}, {{0}})")
        if kind == "neg":
            return Node("(-{0})", self.expr(shape, scope, d))
        if kind == "reshape":
            candidates = [s for s in SHAPES if size_of(s) == size_of(shape) and s != shape]
            if not candidates:
                return Node("np.tanh({0})", self.expr(shape, scope, d))
            src = self.ch.choice(candidates)
            return self.reshaped(self.expr(src, scope, d), shape)
        if kind == "slice":
            src = tuple(n + self.ch.integer(0, 2) for n in shape)
            return self.sliced(self.expr(src, scope, d), src, shape, scope)
        if kind == "where":
            k = self.probe_id()
            c = self.expr(shape, scope, d)
            t = self.ch.choice(CONSTS)
            return Node("np.where({0} > %s, {1}, {2})" % t, c, self.expr(shape, scope, d), self.expr(shape, scope, d),
                        probe=f"_P.where({k}, {{0}}, {t}, {{1}}, {{2}})")
        if kind == "clip":
            k = self.probe_id()
            return Node("np.clip({0}, -0.5, 0.8)", self.expr(shape, scope, d), probe=f"_P.clip({k}, {{0}}, -0.5, 0.8)")
        if kind == "copy":
            e = self.expr(shape, scope, d)
            return Node("np.copy({0})", e, ag="np.array({0})") if self.ch.chance(50) else Node("({0}).copy()", e, ag="np.array({0})")
        if kind == "matmul":
            m, n = shape
            k = self.ch.choice([1, 2, 3, 4])
            form = self.ch.choice(["({0} @ {1})", "np.dot({0}, {1})", "np.matmul({0}, {1})"])
            return Node(form, self.expr((m, k), scope, d), self.expr((k, n), scope, d))
        if kind == "T":
            return self.transposed(self.expr(shape[::-1], scope, d))
        if kind == "outer":
            return Node("np.outer({0}, {1})", self.expr((shape[0],), scope, d), self.expr((shape[1],), scope, d))
        if kind == "keepdims":
            m, n = shape
            fn = self.ch.choice(["sum", "mean"])
            if m == 1:
                src = (self.ch.choice([1, 2, 3]), n)
                return Node(f"np.{fn}({{0}}, axis=0, keepdims=True)", self.expr(src, scope, d))
            if n == 1:
                src = (m, self.ch.choice([1, 2, 3]))
                return Node(f"np.{fn}({{0}}, axis=1, keepdims=True)", self.expr(src, scope, d))
            return Node("np.tanh({0})", self.expr(shape, scope, d))
        if kind == "stack":
            m, n = shape
            if m > 3:
                return Node("np.sin({0})", self.expr(shape, scope, d))
            parts = [self.expr((n,), scope, d) for _ in range(m)]
            return Node("np.stack([" + ", ".join("{%d}" % k for k in range(m)) + "])", *parts)
        if kind == "matvec":
            (m,) = shape
            k = self.ch.choice([1, 2, 3, 4])
            if self.ch.chance(50):
                return Node(self.ch.choice(["({0} @ {1})", "np.dot({0}, {1})"]), self.expr((m, k), scope, d), self.expr((k,), scope, d))
            return Node(self.ch.choice(["({0} @ {1})", "np.dot({0}, {1})"]), self.expr((k,), scope, d), self.expr((k, m), scope, d))
        if kind == "axis":
            (m,) = shape
            k = self.ch.choice([1, 2, 3])
            axis = self.ch.integer(0, 1)
            src = (k, m) if axis == 0 else (m, k)
            fn = self.ch.choice(["np.sum({0}, axis=%d)", "np.mean({0}, axis=%d)", "{0}.sum(axis=%d)", "np.max({0}, axis=%d)"])
            e = self.expr(src, scope, d)
            if fn.startswith("np.max"):
                p = self.probe_id()
                return Node(fn % axis, e, probe=f"_P.reduce({p}, 'max', {{0}}, {axis})")
            return Node(fn % axis, e)
        if kind == "cumsum":
            return Node("np.cumsum({0})", self.expr(shape, scope, d))
        if kind == "concat":
            (m,) = shape
            if m < 2:
                return Node("np.cos({0})", self.expr(shape, scope, d))
            k = self.ch.integer(1, m - 1)
            return Node("np.concatenate([{0}, {1}])", self.expr((k,), scope, d), self.expr((m - k,), scope, d))
        if kind == "flip":
            return Node("np.flip({0})", self.expr(shape, scope, d), ag="({0})[::-1]", fresh=False)
        if kind == "log1p":
            return Node("np.log1p({0})", self.positive(shape, scope, d))
        if kind == "reciprocal":
            return Node("np.reciprocal({0})", self.positive(shape, scope, d))
        if kind == "hypot":
            a, b = self.split_shape(shape)
            return Node("np.hypot({0}, {1})", self.expr(a, scope, d), self.positive(b, scope, d))
        if kind == "logaddexp":
            a, b = self.split_shape(shape)
            return Node("np.logaddexp({0}, {1})", self.expr(a, scope, d), self.expr(b, scope, d))
        if kind == "power":
            return Node("np.power({0}, %s)" % self.ch.choice(["2", "0.5", "1.5", "3.0"]), self.positive(shape, scope, d))
        if kind == "einsum":
            k = self.ch.choice([1, 2, 3])
            if len(shape) == 1:
                return Node("np.einsum('ij,j->i', {0}, {1})", self.expr((shape[0], k), scope, d), self.expr((k,), scope, d))
            return Node("np.einsum('ij,jk->ik', {0}, {1})", self.expr((shape[0], k), scope, d),
                        self.expr((k, shape[1]), scope, d))
        if kind == "vstack":
            m, n = shape
            if m > 3:
                return Node("np.cos({0})", self.expr(shape, scope, d))
            parts = [self.expr((n,), scope, d) for _ in range(m)]
            return Node("np.vstack([" + ", ".join("{%d}" % k for k in range(m)) + "])", *parts)
        if kind == "hstack":
            (m,) = shape
            if m < 2:
                return Node("np.sin({0})", self.expr(shape, scope, d))
            k = self.ch.integer(1, m - 1)
            return Node("np.hstack([{0}, {1}])", self.expr((k,), scope, d), self.expr((m - k,), scope, d))
        if kind == "diag":
            return Node("np.diag({0})", self.expr((shape[0],), scope, d))
        if kind == "lambda":
            name = self.ch.choice([n for n, s_ in scope.lambdas if s_ == shape])
            return Node(f"{name}({{0}})", self.expr(shape, scope, d))
        h = self.ch.choice([h for h in self.helpers if h.ret == shape])
        return self.call(h, scope, d)

    def condition(self, scope, depth):
        """A value-dependent boolean condition; the probe rendering records its outcome."""
        k = self.probe_id()
        op = self.ch.choice([">", "<"])
        lhs = self.expr((), scope, max(depth, 1))
        if self.ch.chance(30):
            rhs = self.expr((), scope, depth - 1)
        else:
            rhs = const(self.ch.choice([0.0, 0.5, -0.3, 1.0, 0.2]))
        c = Node("{0} %s {1}" % op, lhs, rhs, probe=f"_P.cmp({k}, {{0}}, '{op}', {{1}})")
        form = self.ch.integer(0, 9)
        if form == 1:
            return Node("not {0}", c)
        if form == 2:
            return Node("{0} and {1}", c, self.condition(scope, depth - 1))
        if form == 3:
            return Node("{0} or {1}", c, self.condition(scope, depth - 1))
        return c

    # ---- statements

    def block(self, scope, indent, n):
        """`n` statements (at least one line) in `scope`."""
        lines = []
        for _ in range(n):
            lines += self.statement(scope, indent)
        return lines or [(indent, leaf("pass"))]

    def assign_rhs(self, shape, scope, target_exists):
        """The right-hand side of an assignment of a value of `shape`; views of updatable arrays are copied."""
        e = self.expr(shape, scope, self.ch.integer(1, self.max_depth))
        if shape and not e.fresh and (target_exists or e.names & scope.owned):
            e = Node("({0}).copy()", e, ag="np.array({0})")
        return e

    def statement(self, scope, indent):
        """One statement (maybe compound), as a list of (indent, node)."""
        nested = scope.depth < 2
        owned = [v for v in scope.arrays() if v.name in scope.owned and v.name not in self.disowned]
        locals_ = [v for v in scope.vars if not v.param and v.shape is not None]
        opts = [(10, "assign"), (3, "buffer"), (1, "lambda")]
        if any(not (h.ret and isinstance(h.ret[0], tuple)) for h in self.helpers):
            opts.append((4, "callassign"))
        if locals_:
            opts += [(5, "reassign"), (3, "augment")]
        if owned or scope.arrays():
            opts += [(6 if owned else 1, "setitem")]
        if nested:
            opts += [(4, "if"), (5, "for"), (2, "forin"), (2, "while"), (2, "tuplestate")]
        if scope.in_loop:
            opts += [(2, "break")]
        opts += [(2, "return")]
        if any(isinstance(h.ret, tuple) and h.ret and isinstance(h.ret[0], tuple) for h in self.helpers):
            opts.append((2, "unpack"))
        if not self.in_helper:  # the tagged constructs (see TAGS), whose reads go into f's `sink`
            opts += [(3, "alias"), (2, "listbuild"), (1, "copybuild"), (1, "stateappend"), (1, "reusedcounter")] + \
                ([(1, "inplacefn")] if self.ch.chance(40) else [])
        kind = self.ch.weighted(opts)
        return getattr(self, "st_" + kind)(scope, indent, owned, locals_)

    def st_assign(self, scope, indent, owned, locals_):
        """`v = expr` for a new variable."""
        shape = self.any_shape(scope)
        e = self.assign_rhs(shape, scope, False)
        v = Var(self.fresh("v"), shape)
        scope.vars.append(v)
        self.note_zerod(v, e)
        if shape and e.fresh:
            scope.owned.add(v.name)
        if shape and not e.fresh and "np.flip(" in e.render():
            self.flip_views |= e.names | {v.name}  # s2s does not know np.flip returns a view
        return [(indent, Node(v.name + " = {0}", e))]

    def st_lambda(self, scope, indent, owned, locals_):
        """`lamN = lambda t: expr` (a local function; it sees the variables it uses as they are when called)."""
        shape = self.any_shape(scope, scalar_percent=50)
        name = self.fresh("lam")
        t = Var(self.fresh("t"), shape)
        inner = scope.child()
        inner.vars.append(t)
        body = self.expr(shape, inner, self.ch.integer(1, self.max_depth))
        scope.lambdas.append((name, shape))
        return [(indent, Node(f"{name} = lambda {t.name}: {{0}}", body))]

    def st_callassign(self, scope, indent, owned, locals_):
        """`v = helper(...)`."""
        h = self.ch.choice([h for h in self.helpers if not (h.ret and isinstance(h.ret[0], tuple))])
        e = self.call(h, scope, self.ch.integer(1, self.max_depth - 1))
        if h.ret and e.names & scope.owned:
            e = Node("({0}).copy()", e, ag="np.array({0})")
        v = Var(self.fresh("v"), h.ret)
        scope.vars.append(v)
        self.note_zerod(v, e)
        return [(indent, Node(v.name + " = {0}", e))]

    def st_reassign(self, scope, indent, owned, locals_):
        """`v = expr` for an existing variable (same type)."""
        v = self.ch.choice(locals_)
        e = self.assign_rhs(v.shape, scope, True)
        self.note_zerod(v, e)
        if v.shape:
            scope.owned.add(v.name)
        return [(indent, Node(v.name + " = {0}", e))]

    def st_augment(self, scope, indent, owned, locals_):
        """`v += expr` (in place on an updatable array)."""
        cands = [v for v in locals_ if v.shape == () or v in owned]
        if scope.arrays() and (not cands or self.ch.chance(5)):
            v = self.update_target(scope, [])
            self.features.add("aliased-augment")
        elif not cands:
            return self.st_assign(scope, indent, owned, locals_)
        else:
            v = self.ch.choice(cands)
        op = self.ch.choice(["+=", "-=", "*="])
        tags = ()
        if v.shape:
            self.autograd_ok = False
            if v.name in scope.iterating:
                self.features.add("update-while-iterating")
            shape = self.reduce_shape(v.shape) if self.ch.chance(50) else v.shape
        else:
            shape = ()
            if v.name in self.zerod_names:  # maybe a 0-d array another name holds: updated in place
                self.autograd_ok = False
                self.mutates = self.mutates or self.in_helper
                tags = ("alias:0d-generic",)
        node = Node(f"{v.name} {op} {{0}}", self.expr(shape, scope, self.ch.integer(1, self.max_depth)), tags=tags)
        return [(indent, node)]

    def st_buffer(self, scope, indent, owned, locals_):
        """A local array to update in place: zeros, or a copy of an array in scope."""
        arrays = scope.arrays()
        v = Var(self.fresh("z"), None)
        if arrays and self.ch.chance(50):
            src = self.ch.choice(arrays)
            v.shape = src.shape
            form = self.ch.choice(["{0}.copy()", "np.copy({0})", "np.array({0})"])
            node = Node(v.name + " = " + form, leaf(src.name, name=src.name), ag=v.name + " = np.array({0})")
        else:
            v.shape = self.ch.choice(SHAPES)
            node = leaf(f"{v.name} = np.zeros({v.shape})")
        scope.vars.append(v)
        scope.owned.add(v.name)
        return [(indent, node)]

    def update_target(self, scope, owned):
        """The array an in-place update writes to: one only this name holds, or (rarely, or when there is no
        such array) any array in scope, which another name may observe (s2s must refuse or get it right)."""
        if owned and not self.ch.chance(8):
            return self.ch.choice(owned)
        v = self.ch.choice(scope.arrays())
        if v not in owned:
            self.features.add("aliased-update")
            if v.name in self.flip_views:
                self.features.add("flip-view-update")
            if v.param and self.in_helper:
                self.features.add("helper-param-update")
        return v

    def st_setitem(self, scope, indent, owned, locals_):
        """`z[...] = expr` (or `+=`, `*=`) on an updatable local array."""
        self.autograd_ok = False
        v = self.update_target(scope, owned)
        if v.name in scope.iterating:
            self.features.add("update-while-iterating")
        op = self.ch.choice(["=", "=", "+=", "*="])
        base = leaf(v.name, name=v.name)
        form = self.ch.integer(0, 3)
        if len(v.shape) == 1:
            if form <= 1:
                idx = self.index(v.shape[0], scope)
                return [(indent, Node(f"{{0}}[{{1}}] {op} {{2}}", base, idx, self.expr((), scope, self.max_depth)))]
            k = self.ch.integer(1, v.shape[0])
            text, kid = self.slice_text(v.shape[0], k, scope)
            kids = [base] + ([kid] if kid is not None else [])
            text = text.replace("{0}", "{1}")
            val = self.expr((k,) if self.ch.chance(70) else (), scope, self.max_depth)
            return [(indent, Node(f"{{0}}[{text}] {op} {{{len(kids)}}}", *kids, val))]
        m, n = v.shape
        if form == 0:
            i, j = self.index(m, scope), self.index(n, scope)
            return [(indent, Node(f"{{0}}[{{1}}, {{2}}] {op} {{3}}", base, i, j, self.expr((), scope, self.max_depth)))]
        if form == 1:
            i = self.index(m, scope)
            return [(indent, Node(f"{{0}}[{{1}}] {op} {{2}}", base, i, self.expr(self.ch.choice([(n,), ()]), scope, self.max_depth)))]
        if form == 2:
            j = self.index(n, scope)
            return [(indent, Node(f"{{0}}[:, {{1}}] {op} {{2}}", base, j, self.expr((m,), scope, self.max_depth)))]
        return [(indent, Node(f"{{0}}[:, :] {op} {{1}}", base, self.expr(self.reduce_shape(v.shape), scope, self.max_depth)))]

    def st_if(self, scope, indent, owned, locals_):
        """if / elif / else on a value-dependent condition."""
        lines = [(indent, Node("if {0}:", self.condition(scope, 2)))]
        lines += self.block(scope.child(), indent + 1, self.ch.integer(1, 3))
        if self.ch.chance(25):
            lines.append((indent, Node("elif {0}:", self.condition(scope, 2))))
            lines += self.block(scope.child(), indent + 1, self.ch.integer(1, 2))
        if self.ch.chance(60):
            lines.append((indent, leaf("else:")))
            lines += self.block(scope.child(), indent + 1, self.ch.integer(1, 2))
        return lines

    def st_for(self, scope, indent, owned, locals_):
        """`for i in range(k)` accumulating into a variable."""
        ints = [v for v in scope.ints() if v.param]
        i = Var(self.fresh("i"), None)
        if ints and self.ch.chance(40):
            bound = self.ch.choice(ints)
            i.hi = bound.hi
            head = Node(f"for {i.name} in range({{0}}):", leaf(bound.name, name=bound.name))
        else:
            k = self.ch.integer(1, 4)
            i.hi = k
            form = self.ch.integer(0, 3)
            if form == 1:
                head = leaf(f"for {i.name} in reversed(range({k})):")
            elif form == 2:
                head = leaf(f"for {i.name} in range({k - 1}, {k}):" if k == 1 else f"for {i.name} in range(1, {k}):")
            elif form == 3 and [v for v in scope.arrays() if v.shape[0] == k]:
                v = self.ch.choice([v for v in scope.arrays() if v.shape[0] == k])
                text = self.ch.choice([f"range(len({v.name}))", f"range({v.name}.shape[0])"])
                head = Node(f"for {i.name} in {text}:".replace("{", "{{").replace("}", "}}"))
            else:
                head = leaf(f"for {i.name} in range({k}):")
        acc, lines = self.accumulator(scope, indent)
        body = self.loop_scope(scope)
        body.vars.append(i)
        return lines + [(indent, head)] + self.loop_body(body, indent + 1, acc, 2)

    def loop_scope(self, scope, **kw):
        """The scope of a loop body (and note loops nested in loops)."""
        if scope.in_loop:
            self.features.add("nested-loop")
        return scope.child(in_loop=True, **kw)

    def loop_body(self, body, indent, acc, n):
        """Up to `n` statements, then `acc = acc + expr`."""
        inner = [ln for ln in self.block(body, indent, self.ch.integer(0, n)) if ln[1].fmt != "pass"]
        inner.append((indent, Node(f"{acc.name} = {acc.name} + {{0}}", self.expr(acc.shape, body, self.max_depth))))
        return inner

    def accumulator(self, scope, indent):
        """A variable a loop accumulates into: an existing local, or a new one (with its initialisation lines)."""
        cands = [v for v in scope.vars if not v.param and v.shape is not None]
        if cands and self.ch.chance(50):
            return self.ch.choice(cands), []
        shape = self.any_shape(scope)
        v = Var(self.fresh("acc"), shape)
        init = self.expr(shape, scope, 1) if self.ch.chance(50) else (const(0.0) if shape == () else leaf(f"np.zeros({shape})"))
        if shape and not init.fresh:
            init = Node("({0}).copy()", init, ag="np.array({0})")
        scope.vars.append(v)
        self.note_zerod(v, init)
        return v, [(indent, Node(f"{v.name} = {{0}}", init))]

    def st_forin(self, scope, indent, owned, locals_):
        """`for v in x`, `for i, v in enumerate(x)` or `for a, b in zip(x, y)` over arrays."""
        cands = [v for v in scope.arrays() if len(v.shape) == 1 or v.name not in scope.owned]
        if not cands:
            return self.st_for(scope, indent, owned, locals_)
        src = self.ch.choice(cands)
        item = Var(self.fresh("e"), src.shape[1:])
        body = self.loop_scope(scope, iterating=scope.iterating | {src.name})
        body.vars.append(item)
        form = self.ch.integer(0, 2)
        if form == 1:
            i = Var(self.fresh("i"), None, hi=src.shape[0])
            body.vars.append(i)
            head = Node(f"for {i.name}, {item.name} in enumerate({{0}}):", leaf(src.name, name=src.name))
        elif form == 2:
            partners = [v for v in cands if v.shape[0] == src.shape[0]]
            other = self.ch.choice(partners)
            item2 = Var(self.fresh("e"), other.shape[1:])
            body.vars.append(item2)
            body.iterating = body.iterating | {other.name}
            head = Node(f"for {item.name}, {item2.name} in zip({{0}}, {{1}}):", leaf(src.name, name=src.name),
                        leaf(other.name, name=other.name))
        else:
            head = Node(f"for {item.name} in {{0}}:", leaf(src.name, name=src.name))
        acc, lines = self.accumulator(scope, indent)
        return lines + [(indent, head)] + self.loop_body(body, indent + 1, acc, 1)

    def st_while(self, scope, indent, owned, locals_):
        """A while loop with a counter guard and (usually) a value-dependent condition."""
        if scope.in_loop:
            self.features.add("while-in-loop")
        acc, lines = self.accumulator(scope, indent)
        k = Var(self.fresh("k"), None)
        limit = self.ch.integer(1, 5)
        lines.append((indent, leaf(f"{k.name} = 0")))
        body = self.loop_scope(scope)
        if self.ch.chance(70):
            w = Var(self.fresh("w"), ())
            lines.append((indent, Node(f"{w.name} = {{0}}", self.positive((), scope, 2))))
            p = self.probe_id()
            t = self.ch.choice([2.0, 3.0, 5.0])
            lines.append((indent, Node(f"while {k.name} < {limit} and {w.name} < {t}:",
                                       probe=f"while {k.name} < {limit} and _P.cmp({p}, {w.name}, '<', {t}):")))
            lines.append((indent + 1, leaf(f"{k.name} = {k.name} + 1")))
            lines.append((indent + 1, Node(f"{w.name} = {w.name} * 1.7 + 0.1 * math.tanh({{0}})", self.expr((), scope, 1))))
            body.vars.append(w)
        else:
            lines.append((indent, leaf(f"while {k.name} < {limit}:")))
            lines.append((indent + 1, leaf(f"{k.name} = {k.name} + 1")))
        return lines + self.loop_body(body, indent + 1, acc, 2)

    def st_break(self, scope, indent, owned, locals_):
        """`if cond: break` or `continue`."""
        word = self.ch.choice(["break", "continue"])
        return [(indent, Node("if {0}:", self.condition(scope, 1))), (indent + 1, leaf(word))]

    def st_return(self, scope, indent, owned, locals_):
        """An early return under a condition."""
        return [(indent, Node("if {0}:", self.condition(scope, 1))), (indent + 1, self.return_node(scope))]

    def return_node(self, scope):
        """`return expr` of the function's return type."""
        if isinstance(scope.ret, tuple) and scope.ret and isinstance(scope.ret[0], tuple):
            parts = [self.expr(s, scope, self.max_depth) for s in scope.ret]
            return Node("return " + ", ".join("{%d}" % k for k in range(len(parts))), *parts)
        e = self.expr(scope.ret, scope, self.max_depth)
        if scope.ret and not e.fresh:
            e = Node("({0}).copy()", e, ag="np.array({0})") if self.ch.chance(50) else Node("(1.0 * {0})", e)
        return Node("return {0}", e)

    def st_tuplestate(self, scope, indent, owned, locals_):
        """A loop carrying a pair as its state: `st = (a, b)`; each trip reads its items (unpacked, by index, or
        through a copy `prev = st`) and binds `st` to a new pair made from them; after it, a variable of the two."""
        shape = self.any_shape(scope)
        st, a, b = self.fresh("st"), Var(self.fresh("a"), shape), Var(self.fresh("b"), shape)
        lines = [(indent, Node(f"{st} = ({{0}}, {{1}})", self.expr(shape, scope, 1), self.expr(shape, scope, 1)))]
        body = self.loop_scope(scope)
        body.vars.extend([a, b])
        form = self.ch.integer(0, 2)
        if form == 0:
            reads = [(indent + 1, leaf(f"{a.name}, {b.name} = {st}"))]
        elif form == 1:
            reads = [(indent + 1, leaf(f"{a.name} = {st}[0]")), (indent + 1, leaf(f"{b.name} = {st}[1]"))]
        else:
            prev = self.fresh("prev")
            reads = [(indent + 1, leaf(f"{prev} = {st}")), (indent + 1, leaf(f"{a.name}, {b.name} = {prev}"))]
        step = Node(f"{st} = ({a.name} + 0.1 * {{0}}, 0.5 * {b.name} + {{1}})",
                    self.expr(shape, body, self.max_depth - 1), self.expr(shape, body, 1))
        v = Var(self.fresh("v"), shape)
        scope.vars.append(v)
        after = (indent, leaf(f"{v.name} = {st}[0] * {st}[1]"))
        return lines + [(indent, leaf(f"for _ in range({self.ch.integer(1, 4)}):"))] + reads + [(indent + 1, step),
                                                                                            after]

    def st_unpack(self, scope, indent, owned, locals_):
        """`p, q = helper(...)` for a helper returning a tuple."""
        h = self.ch.choice([h for h in self.helpers if isinstance(h.ret, tuple) and h.ret and isinstance(h.ret[0], tuple)])
        names = [Var(self.fresh("u"), s) for s in h.ret]
        call = self.call(h, scope, self.max_depth - 1)
        scope.vars.extend(names)
        for v in names:
            self.note_zerod(v, call)
        return [(indent, Node(", ".join(v.name for v in names) + " = {0}", call))]

    # ---- aliases (TAGS "alias" and "ok")

    def aux_helper(self, kind):
        """A helper for the alias forms: `ident` returns its argument, `pair` a tuple holding it."""
        for h in self.aux:
            if h.name.startswith(kind):
                return h
        name = f"{kind}{len(self.aux)}"
        if kind == "ident":
            body = [(1, leaf("return p"))] if self.ch.chance(60) else [(1, leaf("q = p")), (1, leaf("return q"))]
            h = Helper(name, [("p", None)], None, None, [(0, leaf(f"def {name}(p):"))] + body)
        elif kind == "pair":
            h = Helper(name, [("p", None), ("q", None)], None, None,
                       [(0, leaf(f"def {name}(p, q):")), (1, leaf("return p, q"))])
        else:  # "twice": the argument and a new array
            h = Helper(name, [("p", None)], None, None, [(0, leaf(f"def {name}(p):")), (1, leaf("return p, 2.0 * p"))])
        self.aux.append(h)
        return h

    def alias_source(self, scope, indent, mode, kind):
        """(lines, Var): the array an alias will share. In "live" mode maybe one in scope, else a new one;
        `kind` is "array", "2d", "1d" or "0d"."""
        def suits(v):
            if v.name in scope.iterating or v.name in self.flip_views or v.shape is None:
                return False
            if kind == "0d":
                return v.zerod
            if kind == "2d":
                return len(v.shape) == 2
            if kind == "1d":
                return len(v.shape) == 1
            return bool(v.shape)
        cands = [v for v in scope.vars if suits(v)] if mode == "live" else []
        if cands and self.ch.chance(50):
            return [], self.ch.choice(cands)
        name = self.fresh("y")
        if kind == "0d":
            v = Var(name, (), zerod=True)
            node = Node(f"{name} = np.array({{0}})", self.expr((), scope, 2))
            self.zerod_names.add(name)
        else:
            if kind in ("2d", "1d"):
                shape = self.ch.choice([s for s in SHAPES if len(s) == (2 if kind == "2d" else 1)])
            else:
                shape = self.any_shape(scope, scalar_percent=0)
            e = self.expr(shape, scope, 2)
            if not e.fresh:
                e = Node("({0}).copy()", e, ag="np.array({0})")
            v = Var(name, shape)
            node = Node(f"{name} = {{0}}", e)
        scope.vars.append(v)
        return [(indent, node)], v

    def alias_var(self, prefix, like, scope):
        """A new name for the object `like` holds (same shape, 0-d if it is)."""
        v = Var(self.fresh(prefix), like.shape, zerod=like.zerod)
        scope.vars.append(v)
        if v.zerod:
            self.zerod_names.add(v.name)
        return v

    def view_forms(self, y):
        """[(format, shape, item, aliased)] of views of `y` (and, for a 0-d array, `y[()]`, a number)."""
        s = y.shape
        if s == ():
            return [("{0}[...]", (), True, True), ("np.asarray({0})", (), True, True), ("{0}[()]", (), False, False)]
        n = size_of(s)
        out = [("{0}[...]", s, True, True), ("np.asarray({0})", s, True, True),
               ("{0}.reshape(-1)", (n,), True, True), ("np.reshape({0}, (%d,))" % n, (n,), True, True),
               ("{0}[::-1]", s, True, True)]
        if s[0] > 1:
            out.append(("{0}[1:]", (s[0] - 1,) + s[1:], True, True))
        if len(s) == 1:  # (the generator writes arrays of at most two dimensions)
            out.append(("{0}[None]", (1,) + s, True, True))
        if len(s) == 2:
            out += [("{0}.T", s[::-1], True, True), ("np.transpose({0})", s[::-1], True, True),
                    ("{0}[0]", s[1:], True, True), ("{0}[:, 0]", (s[0],), True, True)]
        return out

    def alias_bind(self, form, y, scope, indent):
        """Lines binding a second handle to y's object: (lines, [Handle], aliased), aliased False where the
        form certainly makes a new object (then nothing is shared)."""
        item = y.zerod or bool(y.shape)
        if form == "chained":
            a, b = self.alias_var("a", y, scope), self.alias_var("b", y, scope)
            return [(indent, leaf(f"{a.name} = {b.name} = {y.name}"))], [Handle(a.name, a.shape, a, item),
                                                                        Handle(b.name, b.shape, b, item)], True
        if form == "cond":
            c = self.condition(scope, 1)
            a = self.alias_var("a", y, scope)
            if self.ch.chance(50):
                node = Node(f"{a.name} = {y.name} if {{0}} else 2.0 * {y.name}", c)
            else:
                node = Node(f"{a.name} = 2.0 * {y.name} if {{0}} else {y.name}", c)
            return [(indent, node)], [Handle(a.name, a.shape, a, bool(y.shape))], True  # 2.0 * (0-d) is a number
        if form == "tuple":
            a = self.alias_var("a", y, scope)
            b = Var(self.fresh("b"), ())
            scope.vars.append(b)
            c = self.ch.choice(CONSTS)
            text = f"{a.name}, {b.name} = {y.name}, {c!r}" if self.ch.chance(50) else f"{b.name}, {a.name} = {c!r}, {y.name}"
            return [(indent, leaf(text))], [Handle(a.name, a.shape, a, item)], True
        if form == "ident":
            h = self.aux_helper("ident")
            a = self.alias_var("a", y, scope)
            return [(indent, leaf(f"{a.name} = {h.name}({y.name})"))], [Handle(a.name, a.shape, a, item)], True
        if form == "pair":
            a = self.alias_var("a", y, scope)
            if self.ch.chance(50):
                h = self.aux_helper("pair")
                b = Var(self.fresh("b"), ())
                c = self.ch.choice(CONSTS)
                text = (f"{a.name}, {b.name} = {h.name}({y.name}, {c!r})" if self.ch.chance(50)
                        else f"{b.name}, {a.name} = {h.name}({c!r}, {y.name})")
            else:
                h = self.aux_helper("twice")
                b = Var(self.fresh("b"), y.shape)  # 2.0 * p: a new array (a number for a 0-d p)
                text = f"{a.name}, {b.name} = {h.name}({y.name})"
            scope.vars.append(b)
            return [(indent, leaf(text))], [Handle(a.name, a.shape, a, item)], True
        if form in ("list", "dict"):
            c = self.fresh("L" if form == "list" else "D")
            if form == "dict":
                k = self.ch.choice(["'k'", "0"])
                lines = [(indent, leaf(f"{c} = {{{k}: {y.name}}}"))]
                h = Handle(f"{c}[{k}]", y.shape, None, item)
            else:
                other = self.expr(y.shape, scope, 1)
                if y.shape and not other.fresh:
                    other = Node("({0}).copy()", other, ag="np.array({0})")
                k = self.ch.integer(0, 1)
                parts = [leaf(y.name, name=y.name), other][:: 1 if k == 0 else -1]
                if self.ch.chance(50):
                    lines = [(indent, leaf(f"{c} = [{y.name}]"))]
                    k = 0
                else:
                    lines = [(indent, Node(f"{c} = [{{0}}, {{1}}]", *parts))]
                h = Handle(f"{c}[{k}]", y.shape, None, item)
            handles = [h]
            if self.ch.chance(35):  # and a name for the element
                a = self.alias_var("a", y, scope)
                lines.append((indent, leaf(f"{a.name} = {h.text}")))
                handles = [h, Handle(a.name, a.shape, a, item)]
            return lines, handles, True
        # a view
        fmt, shape, vitem, aliased = self.ch.choice(self.view_forms(y))
        a = Var(self.fresh("a"), shape, zerod=(shape == () and vitem))
        scope.vars.append(a)
        if a.zerod:
            self.zerod_names.add(a.name)
        return [(indent, leaf(f"{a.name} = " + fmt.format(y.name)))], [Handle(a.name, shape, a, vitem)], aliased

    def alias_update(self, h, scope, indent):
        """An in-place update of handle `h`: `+=`, `*=`, `h[i] = ...`, `h[i] += ...`."""
        kind = self.ch.weighted([(3, "aug")] + ([(2, "item")] if h.item else []))
        op = self.ch.choice(["+=", "-=", "*="])
        depth = self.ch.integer(1, 2)
        if kind == "aug":
            shape = () if (not h.shape or self.ch.chance(30)) else self.reduce_shape(h.shape)
            return (indent, Node(f"{h.text} {op} {{0}}", self.expr(shape, scope, depth)))
        op = self.ch.choice(["=", "=", "+=", "*="])
        if h.shape == ():
            idx = self.ch.choice(["...", "()"])
            return (indent, Node(f"{h.text}[{idx}] {op} {{0}}", self.expr((), scope, depth)))
        if len(h.shape) == 2 and self.ch.chance(40):
            i, j = self.index(h.shape[0], scope), self.index(h.shape[1], scope)
            return (indent, Node(f"{h.text}[{{1}}, {{2}}] {op} {{0}}", self.expr((), scope, depth), i, j))
        i = self.index(h.shape[0], scope)
        rest = h.shape[1:]
        shape = rest if (rest and self.ch.chance(60)) else ()
        return (indent, Node(f"{h.text}[{{1}}] {op} {{0}}", self.expr(shape, scope, depth), i))

    def alias_read(self, h, indent):
        """`sink = sink + ...` of a value that depends on every element of handle `h`."""
        if h.shape == ():
            form = self.ch.choice(["{0} * {0}", "math.sin({0})", "float({0})"])
        else:
            form = self.ch.choice(["np.sum(np.sin({0}))", "np.sum({0} * {0})", "np.mean({0})"])
        return (indent, leaf("sink = sink + " + form.format(h.text)))

    def alias_rebind(self, h, indent):
        """Rebind handle `h` to a new object of the same kind."""
        if h.shape == () and not h.item:
            return (indent, leaf(f"{h.text} = {h.text} * 2.0"))
        if h.shape == ():
            return (indent, leaf(self.ch.choice([f"{h.text} = np.array({h.text} * 2.0)", f"{h.text} = {h.text}.copy()"])))
        form = self.ch.choice(["{0} = {0} * 2.0", "{0} = {0}.copy()", "{0} = np.copy({0})", "{0} = {0} + 0.0",
                               "{0} = np.array({0})"])
        return (indent, leaf(form.format(h.text)))

    def _forget(self, scope, names):
        """The names `names` are not read again (they are dead): drop them from the scope."""
        scope.vars[:] = [v for v in scope.vars if v.name not in names]

    def _disown(self, scope, names):
        scope.owned -= set(names)
        self.disowned |= set(names)

    def st_alias(self, scope, indent, owned, locals_):
        """Another handle on an array (see ALIAS_FORMS), an in-place update through one, a read of the other.

        mode "live": the other handle is read after the update (s2s must be right or refuse "in place");
        "rebind": the updated handle is rebound to a new object first, "dead": the other handle is never read
        again (s2s must accept both, and be right)."""
        form = self.ch.choice(ALIAS_FORMS)
        mode = self.ch.weighted([(5, "live"), (2, "rebind"), (2, "dead")])
        self.sink = True
        if form in ("loop", "enumerate", "zip"):
            return self.alias_loop(scope, indent, form, mode)
        if form == "listalias":
            return self.alias_list(scope, indent, mode)
        self.autograd_ok = False
        zerod = self.ch.chance(20)
        lines, y = self.alias_source(scope, indent, mode, "0d" if zerod else "array")
        bind, handles, aliased = self.alias_bind(form, y, scope, indent)
        cls = "alias" if (mode == "live" and aliased) else "ok"
        label = f"{cls}:{'0d-' if y.zerod else ''}{form}"
        yh = Handle(y.name, y.shape, y, y.zerod or bool(y.shape))
        a = self.ch.choice(handles)
        upd, rd = (a, yh) if self.ch.chance(50) else (yh, a)
        body = []
        if mode == "rebind":
            body.append(self.alias_rebind(upd, indent))
        body.append(self.alias_update(upd, scope, indent))
        if mode == "dead":
            body.append(self.alias_read(upd, indent))
            dead = {h.var.name for h in handles + [yh] if h.var is not None and h is not upd}
            self._forget(scope, dead)
        else:
            body.append(self.alias_read(rd, indent))
            if self.ch.chance(30):
                body.append(self.alias_read(upd, indent))
        self._disown(scope, {y.name} | {h.var.name for h in handles if h.var is not None})
        return lines + [(ind, tag(n, label)) for ind, n in bind + body]

    def alias_loop(self, scope, indent, form, mode):
        """`for r in Y`, `enumerate(Y)` or `zip(Y, v)`: each row r of a 2-d Y is a view, updated in place."""
        self.autograd_ok = False
        rows = self.ch.chance(80)  # else Y is 1-d: its items are numbers, `r += ...` rebinds r
        lines, y = self.alias_source(scope, indent, mode, "2d" if rows else "1d")
        m = y.shape[0]
        body = self.loop_scope(scope, iterating=scope.iterating | {y.name})
        if mode == "dead":  # the loop body never reads Y either (a later iteration would see the update)
            self._forget(body, {y.name})
        r = Var(self.fresh("r"), y.shape[1:])
        body.vars.append(r)
        if form == "enumerate":
            i = Var(self.fresh("i"), None, hi=m)
            body.vars.append(i)
            head = leaf(f"for {i.name}, {r.name} in enumerate({y.name}):")
        elif form == "zip":
            partners = [v for v in body.vars if v.shape and v.shape[0] == m and v.name != y.name and v.name != r.name]
            s = self.fresh("s")
            if partners and self.ch.chance(60):
                p = self.ch.choice(partners)
                body.vars.append(Var(s, p.shape[1:]))
                body.iterating = body.iterating | {p.name}
                head = leaf(f"for {r.name}, {s} in zip({y.name}, {p.name}):")
            else:
                body.vars.append(Var(s, ()))
                head = leaf(f"for {r.name}, {s} in zip({y.name}, np.linspace(0.5, 1.5, {m})):")
        else:
            head = leaf(f"for {r.name} in {y.name}:")
        cls = "alias" if (rows and mode == "live") else "ok"
        label = f"{cls}:{form}" + ("" if rows else "-numbers")
        rh = Handle(r.name, r.shape, r, rows)
        inner = []
        if mode == "rebind":
            inner.append(self.alias_rebind(rh, indent + 1))
        inner.append(self.alias_update(rh, body, indent + 1))
        inner.append(self.alias_read(rh, indent + 1))
        out = [(indent, head)] + inner
        if mode == "dead":
            self._forget(scope, {y.name})
        else:
            out.append(self.alias_read(Handle(y.name, y.shape, y), indent))
        self._disown(scope, {y.name})
        return lines + [(ind, tag(n, label)) for ind, n in out]

    def alias_list(self, scope, indent, mode):
        """Two names for one list (or a shallow copy), then `append`, `+= [...]`, `*= 2`, `M[0] = ...`,
        `M[0] += ...` through one and a read of the other."""
        arrays = self.ch.chance(30)
        shape = self.any_shape(scope, scalar_percent=0) if arrays else ()
        elems = []
        for _ in range(2):
            e = self.expr(shape, scope, 2)
            if shape and not e.fresh:
                e = Node("({0}).copy()", e, ag="np.array({0})")
            elif not shape and e.names & self.zerod_names and _passes_through(e):
                e = Node("float({0})", e, ag="({0})")  # a number, not a 0-d array the list would share
            elems.append(e)
        L, M = self.fresh("L"), self.fresh("M")
        lines = [(indent, Node(f"{L} = [{{0}}, {{1}}]", *elems))]
        binding = self.ch.choice(["same", "same", "ident", "cond", "copy"])
        if binding == "same":
            lines.append((indent, leaf(f"{M} = {L}")))
        elif binding == "ident":
            lines.append((indent, leaf(f"{M} = {self.aux_helper('ident').name}({L})")))
        elif binding == "cond":
            lines.append((indent, Node(f"{M} = {L} if {{0}} else [0.5 * {L}[1]]", self.condition(scope, 1))))
        else:
            lines.append((indent, leaf(f"{M} = " + self.ch.choice(["{0}[:]", "list({0})", "{0}.copy()"]).format(L))))
        upd, rd = (M, L) if self.ch.chance(60) else (L, M)
        body = []
        if mode == "rebind":
            body.append((indent, leaf(f"{upd} = {upd} + []")))
        op = self.ch.choice(["append", "extend", "repeat", "setitem", "itemaug"])
        e = self.expr(shape, scope, 2)
        if shape and not e.fresh:
            e = Node("({0}).copy()", e, ag="np.array({0})")
        if op == "append":
            body.append((indent, Node(f"{upd}.append({{0}})", e)))
        elif op == "extend":
            body.append((indent, Node(f"{upd} += [{{0}}]", e)))
        elif op == "repeat":
            body.append((indent, leaf(f"{upd} *= 2")))
        elif op == "setitem":
            body.append((indent, Node(f"{upd}[0] = {{0}}", e)))
        else:
            body.append((indent, Node(f"{upd}[0] += {{0}}", self.expr((), scope, 2) if self.ch.chance(40) else e)))
        shares_list = binding != "copy" and mode != "rebind"
        shares_items = arrays and op == "itemaug"  # a shallow copy holds the same arrays
        aliased = mode != "dead" and (shares_list or shares_items)
        if arrays and op == "itemaug":
            self.autograd_ok = False  # autograd's arrays are immutable: M[0] += v rebinds M[0]
        read = "sum({0})" if not arrays else "np.sum(sum({0}))"
        if not arrays and self.ch.chance(40):
            read = "np.sum(np.array({0}))"
        body.append((indent, leaf("sink = sink + " + read.format(upd if mode == "dead" else rd))))
        label = f"{'alias' if aliased else 'ok'}:list-{binding}-{op}"
        return [(ind, tag(n, label)) for ind, n in lines + body]

    # ---- in-place NumPy functions (TAGS "inplace")

    def st_inplacefn(self, scope, indent, owned, locals_):
        """An in-place NumPy function or method on an array, then a read of it: refused, or right."""
        self.autograd_ok = False
        self.sink = True
        lines = []
        owned = [v for v in owned if v.name not in scope.iterating and v.name not in self.flip_views]
        params = [v for v in scope.arrays() if v.param and v.name not in scope.iterating]
        if owned and self.ch.chance(60):
            t = self.ch.choice(owned)
        elif params and self.ch.chance(20):
            t = self.ch.choice(params)  # the caller's array
        else:
            lines = self.st_buffer(scope, indent, owned, locals_)
            t = scope.vars[-1]
        s = t.shape
        n = size_of(s)
        fns = ["copyto", "put", "putmask", "place", "at", "fill", "sort", "out"]
        if len(s) == 2:
            fns.append("fill_diagonal")
        fn = self.ch.choice(fns)
        mask = [self.ch.chance(50) for _ in range(n)]
        mask_text = "np.array([%s])" % ", ".join(map(str, mask)) + (f".reshape({s})" if len(s) > 1 else "")
        base = t.name
        d = self.ch.integer(1, 2)
        if fn == "copyto":
            node = Node(f"np.copyto({base}, {{0}})", self.expr(self.reduce_shape(s) if self.ch.chance(70) else (), scope, d))
        elif fn == "fill_diagonal":
            node = Node(f"np.fill_diagonal({base}, {{0}})", self.expr((), scope, d))
        elif fn == "put":
            idx = [self.ch.integer(0, n - 1) for _ in range(self.ch.integer(1, 2))]
            vals = [self.expr((), scope, d) for _ in idx]
            node = Node(f"np.put({base}, {idx}, [" + ", ".join("{%d}" % k for k in range(len(vals))) + "])", *vals)
        elif fn == "putmask":
            node = Node(f"np.putmask({base}, {mask_text}, {{0}})", self.expr(s if self.ch.chance(60) else (), scope, d))
        elif fn == "place":
            vals = [self.expr((), scope, d) for _ in range(self.ch.integer(1, 2))]
            node = Node(f"np.place({base}, {mask_text}, [" + ", ".join("{%d}" % k for k in range(len(vals))) + "])",
                        *vals)
        elif fn == "at":
            uf = self.ch.choice(["add", "add", "subtract", "multiply"])
            idx = [self.ch.integer(0, s[0] - 1) for _ in range(self.ch.integer(1, 3))]
            val = self.expr(s[1:] if (len(s) > 1 and self.ch.chance(50)) else (), scope, d)
            node = Node(f"np.{uf}.at({base}, {idx}, {{0}})", val)
            fn = f"{uf}.at"
        elif fn == "fill":
            node = Node(f"{base}.fill({{0}})", self.expr((), scope, d))
        elif fn == "sort":
            k = self.probe_id()
            node = Node(f"{base}.sort()", probe=f"_P.sort({k}, {base})")
        else:
            uf = self.ch.choice(["add", "multiply", "sin", "tanh"])
            if uf in ("sin", "tanh"):
                node = leaf(f"np.{uf}({base}, out={base})")
            else:
                node = Node(f"np.{uf}({base}, {{0}}, out={base})", self.expr(self.reduce_shape(s), scope, d))
            fn = f"{uf}-out"
        label = f"inplace:{fn}"
        ind, read = self.alias_read(Handle(base, s), indent)
        return lines + [(indent, tag(node, label)), (ind, tag(read, label))]

    # ---- list and tuple concatenation and repetition (TAGS "concat")

    def _elements(self, shape, scope, d, k):
        out = []
        for _ in range(k):
            e = self.expr(shape, scope, d)
            if shape and not e.fresh:
                e = Node("({0}).copy()", e, ag="np.array({0})")
            out.append(e)
        return out

    def scalar_concat(self, scope, d):
        """A scalar from a list or tuple built by `+` or `*`."""
        form = self.ch.integer(0, 7)
        e = self._elements((), scope, d, 3)
        k = self.ch.choice([0, 1, -1])
        fmts = ["sum([{0}] + [{1}])", "sum([{0}, {1}] + [{2}])", "sum([{0}] * %d)" % self.ch.integer(1, 3),
                "sum(({0},) + ({1},))", "sum(({0}, {1}) * 2)", "([{0}] + [{1}])[%d]" % k, "(({0},) * 2)[%d]" % k,
                "np.sum(np.array(2 * [{0}] + [{1}]))"]
        names = ["list+", "list+", "list*", "tuple+", "tuple*", "list+item", "tuple*item", "int*list"]
        fmt = fmts[form]
        used = max(int(c) for c in "012" if "{%s}" % c in fmt) + 1
        return Node(fmt, *e[:used], tags=(f"concat:{names[form]}",))

    def array_concat(self, shape, scope, d):
        """An array of `shape` from a list or tuple built by `+` or `*`."""
        if len(shape) == 1:
            (m,) = shape
            form = self.ch.integer(0, 3)
            if form == 0 and m > 1:
                j = self.ch.integer(1, m - 1)
                e = self._elements((), scope, d, m)
                text = "np.array([%s] + [%s])" % (", ".join("{%d}" % i for i in range(j)),
                                                  ", ".join("{%d}" % i for i in range(j, m)))
                return Node(text, *e, tags=("concat:list+",))
            if form == 1:
                wrap = self.ch.choice(["np.array([{0}] * %d)", "np.array(({0},) * %d)", "np.array(%d * [{0}])"])
                return Node(wrap % m, self.expr((), scope, d), tags=("concat:list*",))
            if form == 2 and m % 2 == 0:
                return Node("np.concatenate([{0}] * 2)", self.expr((m // 2,), scope, d), tags=("concat:list*",))
            if m > 1:
                j = self.ch.integer(1, m - 1)
                return Node("np.concatenate(({0},) + ({1},))", self.expr((j,), scope, d), self.expr((m - j,), scope, d),
                            tags=("concat:tuple+",))
        elif len(shape) == 2:
            m, n = shape
            form = self.ch.integer(0, 2)
            if form == 0:
                return Node("np.array([{0}] * %d)" % m, self.expr((n,), scope, d), tags=("concat:list*",))
            if form == 1 and m > 1:
                j = self.ch.integer(1, m - 1)
                e = self._elements((n,), scope, d, m)
                text = "np.stack([%s] + [%s])" % (", ".join("{%d}" % i for i in range(j)),
                                                  ", ".join("{%d}" % i for i in range(j, m)))
                return Node(text, *e, tags=("concat:list+",))
            if m % 2 == 0:
                return Node("np.concatenate([{0}] * 2)", self.expr((m // 2, n), scope, d), tags=("concat:list*",))
        if self.ch.chance(50):
            return Node("sum([{0}] * 2)", self.expr(shape, scope, d), tags=("concat:list*",))
        return Node("sum([{0}] + [{1}])", *self._elements(shape, scope, d, 2), tags=("concat:list+",))

    def st_listbuild(self, scope, indent, owned, locals_):
        """A list (or tuple) built up by `+`, `+=`, `*`, `*=` and `append` (maybe in a loop), then read."""
        self.sink = True
        shape = () if self.ch.chance(65) else self.any_shape(scope, scalar_percent=0)
        tup = self.ch.chance(25)
        L = self.fresh("T" if tup else "L")
        lines = []
        k = self.ch.integer(0, 2)
        e = self._elements(shape, scope, 2, k)
        items = ", ".join("{%d}" % i for i in range(k))
        init = ("(" + items + ("," if k == 1 else "") + ")") if tup else "[" + items + "]"
        lines.append((indent, Node(f"{L} = {init}", *e, tags=("concat:init",))))
        one = "({0},)" if tup else "[{0}]"
        grow = [f"{L} += {one}", f"{L} = {L} + {one}", f"{L} = {one} + {L}"] + ([] if tup else [f"{L}.append({{0}})"])
        repeat = [f"{L} *= 2", f"{L} = {L} * 2", f"{L} = 2 * {L}", f"{L} = {L} + {L}"]
        reps = 0
        for _ in range(self.ch.integer(1, 3)):
            if reps < 2 and self.ch.chance(30):
                reps += 1
                lines.append((indent, Node(self.ch.choice(repeat), tags=("concat:repeat",))))
            else:
                fmt = self.ch.choice(grow)
                lines.append((indent, Node(fmt, *self._elements(shape, scope, 2, 1), tags=("concat:grow",))))
        if self.ch.chance(30):  # `out += [2 * x]` in a loop
            i = Var(self.fresh("i"), None, hi=self.ch.integer(1, 3))
            body = self.loop_scope(scope)
            body.vars.append(i)
            lines.append((indent, leaf(f"for {i.name} in range({i.hi}):", )))
            fmt = self.ch.choice(grow)
            lines.append((indent + 1, Node(fmt, *self._elements(shape, body, 2, 1), tags=("concat:grow-in-loop",))))
            lines[-2] = (indent, tag(lines[-2][1], "concat:grow-in-loop"))
        if shape:
            read = "np.sum(sum({0}))"
        else:
            read = self.ch.choice(["sum({0})", "np.sum(np.array({0}))"])
        lines.append((indent, Node("sink = sink + " + read.format(L), tags=("concat:read",))))
        return lines

    def st_stateappend(self, scope, indent, owned, locals_):
        """A state that a loop sets to a function of itself (`S = np.tanh(S)`: the value's own operand) and
        appends each trip to a new list, then the list stacked and read (TAGS "ok:stateappend"): the
        backward sweep reads each trip's state, which the tape must give back although nothing else reads
        it (helper 95 found the last state used on every trip)."""
        self.sink = True
        shape = self.any_shape(scope, scalar_percent=40)
        S, L = self.fresh("S"), self.fresh("L")
        i = Var(self.fresh("i"), None, hi=self.ch.integer(1, 4))
        start = self._elements(shape, scope, 2, 1)[0]
        step = self.ch.choice(["np.tanh({0})", "np.sin({0})", "np.sqrt({0} * {0} + 1.0)", "np.arctan({0})",
                               "np.cos({0}) * 0.9", "np.exp(-({0} * {0}))"]).format(S)
        lines = [(indent, Node(f"{S} = {{0}}", start)), (indent, leaf(f"{L} = []")),
                 (indent, leaf(f"for {i.name} in range({i.hi}):")),
                 (indent + 1, leaf(f"{S} = {step}")), (indent + 1, leaf(f"{L}.append({S})"))]
        stacked = self.ch.choice(["np.stack({0})", "np.array({0})"]).format(L)
        read = self.ch.choice([f"np.sum({stacked} ** 2)", f"np.sum(np.cos({stacked}))", f"np.sum({stacked} * {stacked}[-1])"])
        lines.append((indent, leaf("sink = sink + " + read)))
        return [(ind, tag(n, "ok:stateappend")) for ind, n in lines]

    def st_reusedcounter(self, scope, indent, owned, locals_):
        """Two loops over ranges with one counter name, the second's bounds read that name (`for i in range(3):
        ...`, then `for i in range(i + 1): ...`; TAGS "ok:reusedcounter"): the second loop rebinds the name its
        own bounds read, so its backward sweep must not read the bounds again after it (helper 96 found
        `reversed(range(i))` run with the last counter, one trip short)."""
        self.sink = True
        shape = self.any_shape(scope, scalar_percent=40)
        i = self.fresh("i")
        first, second = self._elements(shape, scope, 2, 2)
        bounds = self.ch.choice([f"range({i})", f"range({i} + 1)", f"range(1, {i} + 2)", f"range({i}, 5)",
                                 f"range({i} - 1, -1, -1)"])
        lines = [(indent, leaf(f"for {i} in range({self.ch.integer(1, 4)}):")),
                 (indent + 1, Node(f"sink = sink + np.sum({{0}}) * ({i} + 1)", first)),
                 (indent, leaf(f"for {i} in {bounds}:")),
                 (indent + 1, Node(f"sink = sink + np.sum({{0}} * {{0}}) * ({i} + 0.5)", second))]
        return [(ind, tag(n, "ok:reusedcounter")) for ind, n in lines]

    def st_copybuild(self, scope, indent, owned, locals_):
        """A list or dict of values, copied (`L.copy()`, `list(L)`, `L[:]`, `d.copy()`, `dict(d)`), maybe an
        item of the copy replaced, then two items of the copy and one of the original read (TAGS "concat"):
        the item adjoints of a copy are lists or dicts, added as such (`+` concatenated two lists)."""
        self.sink = True
        shape = () if self.ch.chance(65) else self.any_shape(scope, scalar_percent=0)
        k = self.ch.integer(1, 3)
        e = self._elements(shape, scope, 2, k)
        if self.ch.chance(50):
            src = self.fresh("D")
            init = "{{" + ", ".join("'k%d': {%d}" % (i, i) for i in range(k)) + "}}"  # (braces of a format)
            made = self.ch.choice([f"{src}.copy()", f"dict({src})"])
            keys = [f"'k{i}'" for i in range(k)]
        else:
            src = self.fresh("L")
            init = "[" + ", ".join("{%d}" % i for i in range(k)) + "]"
            made = self.ch.choice([f"{src}.copy()", f"list({src})", f"{src}[:]"])
            keys = [str(i) for i in range(k)]
        cp = self.fresh("C")
        lines = [(indent, Node(f"{src} = {init}", *e, tags=("concat:copy",))),
                 (indent, Node(f"{cp} = {made}", tags=("concat:copy",)))]
        if self.ch.chance(50):
            fmt = f"{cp}[{self.ch.choice(keys)}] = {{0}}"
            lines.append((indent, Node(fmt, *self._elements(shape, scope, 2, 1), tags=("concat:copy",))))
        reads = [f"{cp}[{self.ch.choice(keys)}]", f"{cp}[{self.ch.choice(keys)}]", f"{src}[{self.ch.choice(keys)}]"]
        read = f"{reads[0]} * {reads[1]} + {reads[2]}"
        lines.append((indent, Node("sink = sink + " + (read if not shape else f"np.sum({read})"),
                                   tags=("concat:copy",))))
        return lines

    # ---- functions

    def helper(self, name=None, like=None):
        """A helper function (it may call the helpers written before it); `like`: the signature of this one."""
        name = name or f"h{len(self.helpers)}"
        if like is not None:
            params, default, ret = like.params, like.default, like.ret
        else:
            nparams = self.ch.integer(1, 3)
            params = [(f"p{k}", self.ch.choice([(), (3,), (4,), (2, 3), (3, 4)] + SHAPES)) for k in range(nparams)]
            default = None
            if params[-1][1] == () and self.ch.chance(40):
                default = self.ch.choice(CONSTS)
            if self.ch.chance(15):
                ret = (self.ch.choice([()] + SHAPES), self.ch.choice([()] + SHAPES))
            else:
                ret = self.ch.choice([(), ()] + SHAPES)
        scope = Scope([Var(n, s, param=True) for n, s in params], set(), False, ret)
        # a float parameter may be passed a 0-d array of f's: then `v = p0; v += ...` changes it
        self.zerod_names = {n for n, s in params if s == ()} if self.has_zerod else set()
        self.mutates = False
        sig = ", ".join(n for n, _ in params)
        if default is not None:
            sig += f"={default!r}"
        lines = [(0, leaf(f"def {name}({sig}):"))]
        lines += [ln for ln in self.block(scope, 1, self.ch.integer(0, 3)) if ln[1].fmt != "pass"]
        lines.append((1, self.return_node(scope)))
        return Helper(name, params, default, ret, lines, mutates=self.mutates)

    def plan_globals(self):
        """Module globals the functions read: a NumPy function, a number, an array (each maybe)."""
        if self.ch.chance(15):
            old, new = self.ch.choice(ACT_PAIRS)
            self.globals.append(Global("act0", "fn", None, old, new))
        if self.ch.chance(10):
            old = self.ch.choice(CONSTS)
            new = self.ch.choice([c for c in CONSTS if c != old])
            self.globals.append(Global("C0", "const", (), repr(old), repr(new)))
        if self.ch.chance(8):
            shape = self.ch.choice(SHAPES)
            n = size_of(shape)
            self.globals.append(Global("W0", "array", shape, f"np.linspace(-1.0, 1.0, {n}).reshape({shape})",
                                       f"np.linspace(0.5, 2.0, {n}).reshape({shape})"))

    def global_use(self, shape, scope, d):
        """An expression of `shape` that reads a module global."""
        g = self.ch.choice(self.globals)
        if g.kind == "fn":
            return Node(f"{g.name}({{0}})", self.expr(shape, scope, d))
        if g.kind == "const":
            return Node(f"({g.name} * {{0}})", self.expr(shape, scope, d))
        if shape == ():
            return Node(f"np.sum({g.name} * {{0}})", self.expr(g.shape, scope, d))
        if len(g.shape) <= len(shape) and all(a in (1, b) for a, b in zip(g.shape[::-1], shape[::-1])):
            return Node(f"({g.name} * {{0}})", self.expr(shape, scope, d))
        return Node(f"(np.sum({g.name}) * {{0}})", self.expr(shape, scope, d))

    def plan_redefinitions(self):
        """What changes between the first gradient and the next (Program.redefs), and the reads of f that
        make every change matter: [(Redefinition, kind, object)]."""
        plan = []
        for g in self.globals:
            if self.ch.chance(70):
                plan.append((Redefinition(f"{g.name} = {g.new}", f"{g.name} = {g.old}", f"global {g.name}"), "global", g))
        if self.helpers and self.ch.chance(60):
            k = self.ch.integer(0, len(self.helpers) - 1)
            h = self.helpers[k]
            saved, self.helpers = self.helpers, self.helpers[:k]  # the new body calls only earlier helpers
            self.in_helper = True
            alt = self.helper(name=f"{h.name}__v2", like=h)
            self.in_helper = False
            self.helpers = saved
            self.alts.append(alt)
            h.mutates = h.mutates or alt.mutates
            self.footer.append((0, leaf(f"{h.name}__v1 = {h.name}")))
            plan.append((Redefinition(f"{h.name} = {h.name}__v2", f"{h.name} = {h.name}__v1", f"helper {h.name}"),
                         "helper", h))
        with_default = [h for h in self.helpers if h.default is not None]
        if with_default and self.ch.chance(30):
            h = self.ch.choice(with_default)
            new = self.ch.choice([c for c in CONSTS if c != h.default])
            plan.append((Redefinition(f"{h.name}.__defaults__ = ({new!r},)", f"{h.name}.__defaults__ = ({h.default!r},)",
                                      f"{h.name}.__defaults__"), "helper-default", h))
        if not plan or self.ch.chance(30):
            old = self.ch.choice(CONSTS)
            new = self.ch.choice([c for c in CONSTS if c != old])
            plan.append((Redefinition(f"f.__defaults__ = ({new!r},)", f"f.__defaults__ = ({old!r},)", "f.__defaults__"),
                         "f-default", old))
        return plan

    def varied(self, shape, scope):
        """An expression of `shape` that depends on one of f's differentiated arguments."""
        v = self.ch.choice([v for v in scope.vars if v.param and v.shape is not None and v.name != "c0"])
        if v.shape == shape:
            return leaf(v.name, name=v.name)
        s = Node("np.sum(np.sin({0}))", leaf(v.name, name=v.name)) if v.shape else Node("math.sin({0})", leaf(v.name))
        if shape == ():
            return s
        return Node("({0} * np.linspace(0.5, 1.5, %d).reshape(%s))" % (size_of(shape), shape), s)

    def redefinition_reads(self, plan, scope):
        """Lines at the end of f that read what `plan` changes, with arguments that depend on f's."""
        lines = []
        for _, kind, obj in plan:
            if kind == "global":
                if obj.kind == "array":
                    node = Node(f"sink = sink + np.sum(np.cos({obj.name})) * {{0}}", self.varied((), scope))
                elif obj.kind == "fn":
                    node = Node(f"sink = sink + np.sum({obj.name}({{0}}))", self.varied(self.any_shape(scope), scope))
                else:
                    node = Node(f"sink = sink + {obj.name} * {{0}}", self.varied((), scope))
            elif kind in ("helper", "helper-default"):
                args = [self.varied(s, scope) for _, s in obj.params]
                if kind == "helper-default":
                    args = args[:-1]
                call = Node(f"{obj.name}(" + ", ".join("{%d}" % k for k in range(len(args))) + ")", *args,
                            tags=("alias:helper-0d",) if obj.mutates else ())
                ret = obj.ret
                if ret and isinstance(ret[0], tuple):
                    call, ret = Node("{0}[0]", call), ret[0]
                node = Node("sink = sink + np.sum(np.sin({0}))" if ret else "sink = sink + {0}", call)
            else:
                node = Node("sink = sink + c0 * {0}", self.varied((), scope))
            lines.append((1, node))
        return lines

    def program(self):
        """A whole program: module globals, helpers and main function `f`."""
        nparams = self.ch.integer(1, 3)
        params = []
        for k in range(nparams):
            if self.ch.chance(8):
                params.append((f"x{k}", (), "0d"))  # a 0-d array
            else:
                params.append((f"x{k}", self.ch.choice([(), (3,), (4,), (2, 3), (3, 4), (2,), (3, 1)]), None))
        if self.ch.chance(25):
            params.append(("n", None, self.ch.integer(1, 3)))
        self.has_zerod = any(v == "0d" for _, _, v in params)
        self.alts, self.footer = [], []
        self.plan_globals()
        for _ in range(self.ch.weighted([(3, 0), (4, 1), (2, 2), (1, 3)])):
            self.in_helper = True
            self.helpers.append(self.helper())
            self.in_helper = False
            self.flip_views = set()
            self.disowned = set()
        plan = self.plan_redefinitions() if self.ch.chance(20) else []
        f_default = next((obj for _, kind, obj in plan if kind == "f-default"), None)
        scope = Scope([Var(n, s, hi=(v if isinstance(v, int) else 0), param=True, zerod=(v == "0d"))
                       for n, s, v in params], set(), False, ())
        if f_default is not None:
            scope.vars.append(Var("c0", (), param=True))
        self.zerod_names = {n for n, _, v in params if v == "0d"}
        self.mutates = False
        sig = [n for n, _, _ in params] + ([f"c0={f_default!r}"] if f_default is not None else [])
        lines = [(0, leaf("def f(" + ", ".join(sig) + "):"))]
        lines += [ln for ln in self.block(scope, 1, self.ch.integer(1, self.max_stmts)) if ln[1].fmt != "pass"]
        if plan:
            self.sink = True
            lines += self.redefinition_reads(plan, scope)
        if self.sink:
            lines.insert(1, (1, leaf("sink = 0.0")))
        lines.append((1, self.final_return(scope)))
        header = [(0, leaf(f"{g.name} = {g.old}")) for g in self.globals]
        return Program(self.helpers, lines, params, self.autograd_ok, frozenset(self.features), header=header,
                       aux=self.aux, alts=self.alts, footer=self.footer, redefs=[r for r, _, _ in plan],
                       reload=bool(plan) and self.ch.chance(35), revert=bool(plan) and self.ch.chance(30))

    def final_return(self, scope):
        """`return` of a scalar that depends on several variables (and on `sink`, where f has one)."""
        live = [v for v in scope.vars if v.shape is not None]
        own = [v for v in live if not v.param]
        picks = []
        for _ in range(self.ch.integer(1, 3)):
            v = self.ch.choice(own if own and self.ch.chance(75) else live)
            if v.shape:
                form = self.ch.choice(["np.sum({0})", "np.mean({0} * {0})", "np.sum(np.sin({0}))"])
                picks.append(Node(form, leaf(v.name, name=v.name)))
            else:
                picks.append(leaf(v.name, name=v.name))
        if self.ch.chance(40):
            picks.append(self.expr((), scope, 2))
        if self.sink:
            picks.append(leaf("sink"))
        return Node("return " + " + ".join("{%d}" % k for k in range(len(picks))), *picks)


def generate(ch: Chooser, **kw) -> Program:
    """One random program, its decisions drawn from `ch`."""
    return Generator(ch, **kw).program()


@st.composite
def programs(draw, **kw):
    """Hypothesis strategy of generated `Program`s."""
    return generate(HypothesisChooser(draw), **kw)
