"""Shape inference over generated code, from the shapes the arguments have in one call.

Given the shape of each parameter (`()` for a number, the array's shape for
an array), `Shapes` gives every local name the one shape all its assignments
produce, or `None` where that is not certain: assignments that disagree, a
call it does not know, anything not an array or a number. Two layers:

- `env`, flow insensitive: one shape per name for the whole function, the join
  of all its assignments (iterated to a fixed point through loops), which holds
  wherever the name is read;
- facts per program point, flow sensitive: the statements are walked in order
  (both branches of an `if` joined, a loop iterated to a fixed point at its
  head), so `v = 0.0` before a loop and `v = v + a` inside it give `v` the shape
  it has at each read. `of(name_node)` gives the fact at that read when there is
  one, else `env`'s.

The tape's restores (`v = stack.pop()`) give back a value saved from an earlier
assignment of the same name, so they take the name's flow-insensitive shape, and
the tape's placeholders (`v = t = None`) are never read as values. A tuple
(`t = x0, 0.0`, `x.shape`) has a `Seq` of item shapes: `t[0]` has the first.

The pass knows no primitive by itself: the shape of a call is what the callee's rule says, through
its `result_shape` function of the call `Site` (s2s/rules/result_shapes.py holds the shared kinds:
reductions, array creation, products of matrices, the runtime helpers), read from the context; a
NumPy ufunc without one broadcasts its `nin` arguments, as NumPy describes it. Whether a call gives
real floats is likewise its rule's `real`.

A shape of `()` may be a Python number, and the runtime treats the number
0.0 as a zero of any shape; rules over runtime helpers therefore only claim a
shape when the adjoint argument is certainly an array (a shape other than `()`).

Beside shapes it finds the names that certainly hold real floating-point values
(`reals`, from the parameters' dtypes): arithmetic on those cannot fail on a
dtype (a negative integer power, a boolean negation), which lets dead-code
elimination drop it and lets adjoints be accumulated in place.
"""

from __future__ import annotations

import ast
import contextlib
import math
import operator

import numpy as np

from . import annotations
from .context import ctx
from .definite import leaves_early, maybe_unbound_reads
from .names import assigned_names, dotted_object, name_counts
from .walk import child_parent_pairs, statement_lists, unshare, walk, walk_nodes


def broadcast(*shapes):
    """The broadcast of known shapes, or None (an unknown one, or shapes that do not broadcast)."""
    if any(s is None for s in shapes):
        return None
    known = [s for s in shapes if s != ()]
    if len({tuple(s) for s in known}) <= 1 and all(isinstance(s, tuple) for s in shapes):
        return tuple(known[0]) if known else ()  # (equal shapes and numbers: the common case, without NumPy)
    if any(type(n) is Extent for shape in known for n in shape):
        return _broadcast_extents(known)
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def _broadcast_extents(shapes):
    """`broadcast` of shapes some of whose lengths are `Extent`s: axis by axis from the end, the one length
    other than 1 (an Extent broadcast with 1 is itself, and two equal Extents are one); None where an Extent
    meets another length (it may be 1 on some trip, or that length)."""
    out = []
    for k in range(1, max(len(s) for s in shapes) + 1):
        lengths = {s[-k] for s in shapes if len(s) >= k} - {1}
        if len(lengths) > 1:
            return None
        out.append(lengths.pop() if lengths else 1)
    return tuple(reversed(out))


def matmul(a, b):
    """The shape of `a @ b`, or None: 1-d and 2-d operands, and stacks of matrices, whose leading axes broadcast
    (a 1-d operand a vector, its axis dropped from the result).

        >>> matmul((3, 4), (4,)), matmul((5, 3, 4), (4,)), matmul((2, 1, 3, 4), (5, 4, 6))
        ((3,), (5, 3), (2, 5, 3, 6))
    """
    if a is None or b is None or len(a) < 1 or len(b) < 1:
        return None
    if len(a) <= 2 and len(b) <= 2:
        return a[:-1] + b[1:] if a[-1] == b[0] else None
    if a[-1] != b[-2 if len(b) > 1 else 0]:
        return None
    if len(b) == 1:
        return a[:-1]
    if len(a) == 1:
        return b[:-2] + b[-1:]
    batch = broadcast(a[:-2], b[:-2])
    return None if batch is None else batch + (a[-2], b[-1])


def reduced(shape, axis, keepdims):
    """The shape of a reduction of an array of `shape` over `axis` (None: all axes; an int or a tuple of
    ints, negative ones counted from the end), `keepdims` honoured; None where any of them is not known
    or not valid (an axis out of range, a keepdims that is not a bool).

        >>> reduced((2, 3), -1, False), reduced((2, 3), None, True), reduced((2, 3), 2, False)
        ((2,), (1, 1), None)
    """
    if shape is None or not isinstance(keepdims, bool):
        return None
    if axis is None:
        axes = set(range(len(shape)))
    else:
        items = axis if isinstance(axis, tuple) else (axis,)
        if not all(isinstance(a, int) and not isinstance(a, bool) and -len(shape) <= a < len(shape) for a in items):
            return None
        axes = {a % len(shape) for a in items}
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def reshaped(shape, target):
    """The shape np.reshape gives an array of `shape` for `target` (an int or a tuple of ints, one may be
    -1), or None where it does not fit or is not known.

        >>> reshaped((2, 3), -1), reshaped((2, 3), (3, -1)), reshaped((2, 3), 4)
        ((6,), (3, 2), None)
    """
    if shape is None or target is None:
        return None
    target = (target,) if type(target) is int else target
    if not isinstance(target, tuple) or any(type(n) is not int or n < -1 for n in target) or target.count(-1) > 1:
        return None
    size = int(np.prod(shape, dtype=np.int64))
    known = int(np.prod([n for n in target if n != -1], dtype=np.int64))
    if -1 in target:
        if known == 0 or size % known:
            return None
        target = tuple(size // known if n == -1 else n for n in target)
    return target if int(np.prod(target, dtype=np.int64)) == size else None


def _literal(node, default):
    """The value of a literal argument (None, an int, a bool, a tuple of ints), or `default` if absent."""
    if node is None:
        return default
    try:
        return ast.literal_eval(node)
    except ValueError:
        return _NOT_LITERAL


_NOT_LITERAL = object()
NOT_LITERAL = _NOT_LITERAL  # what `Site.literal` gives for an argument that is not a literal
literal = _literal  # (for the passes that read literal arguments too: transforms/shifts.py)


class Site:
    """One call as the shape and `real` functions of its callee's rule see it (`Rule.result_shape`, `Rule.real`).

    `nargs` is the number of positional arguments and `keywords` the names of the keyword ones (a shape
    function never sees a call with `*args` or `**kw`). An argument is named by its position or by its keyword; one
    that is not there gives None (`literal`: its default). A shape function returns the call's shape or
    None where it is not certain::

        def outer(site):  # np.outer(a, b): (a.size, b.size)
            if site.nargs != 2 or site.keywords:
                return None
            a, b = site.shape(0), site.shape(1)
            return None if a is None or b is None else (math.prod(a), math.prod(b))
    """

    __slots__ = ("nargs", "keywords", "_shapes", "_args", "_kw", "_env", "_reals", "_given", "_lengths")

    def __init__(self, shapes, args, kw, env=None, reals=None, given=None, lengths=False):
        self.nargs, self.keywords = len(args), kw.keys()
        self._shapes, self._args, self._kw, self._env, self._reals = shapes, args, kw, env, reals
        self._given = given or {}  # position -> the shape to take for that argument (an array for a `ZeroOr`)
        # (a shape function marked `symbolic_lengths` sees `Extent`s, lengths that follow a loop's counter: it only
        # moves or compares lengths; to any other one a shape holding one is unknown, as no arithmetic takes one)
        self._lengths = lengths

    def _seen(self, fact):
        return fact if self._lengths or not _has_extent(fact) else _concrete(fact)

    def _all_seen(self, facts):
        return facts if facts is None or self._lengths else tuple(self._seen(f) for f in facts)

    def _node(self, which):
        if type(which) is int:
            return self._args[which] if 0 <= which < len(self._args) else None
        return self._kw.get(which)

    def shape(self, which):
        """The shape of an array or a number passed there (`()` for a number), else None."""
        if which in self._given:
            return self._seen(self._given[which])
        node = self._node(which)
        return None if node is None else self._seen(self._shapes._arr(node, self._env))

    def value(self, which):
        """The int or tuple of ints the argument certainly evaluates to (`3`, `(n, 3)`, `x.shape`), else None."""
        node = self._node(which)
        return None if node is None else self._shapes.value_of(node, self._env)

    def int_display(self, which):
        """The ints of a display of int literals passed there, nested (`((1, 2), (0, 1))`), or of the one such
        display a local bound once holds (lowering names it: `t = (1, 2), (0, 1)`), as Python values; else None.
        Through a name, tuples alone (nothing can change them), or one flat list no one changes (`Shapes.sealed`):
        `p = [1]; p.append(3)` holds (1, 3) when it is read."""
        node, shapes = self._node(which), self._shapes
        if isinstance(node, ast.Name):
            name = node.id
            if name not in shapes.local or name in shapes._params:
                return None
            values = shapes._assigned_values.get(name) or []
            made = [v for v in values if v is not None and not shapes._is_pop(v) and not shapes._placeholder(v, name)]
            node = made[0] if len(made) == 1 and shapes._bindings.get(name) == len(values) else None
            lists = [n for n in walk(node) if isinstance(n, ast.List)] if node is not None else []
            if lists and (lists != [node] or name not in shapes.sealed):
                return None  # (a list a later statement may change: `p.append(3)`)
        return _int_display(node)

    def range_length(self, which):
        """The length of `range(...)` passed there, or of a name bound once, to it (a call of the builtin, one to
        three int arguments of known value, the step not 0), else None."""
        node, shapes = self._node(which), self._shapes
        if isinstance(node, ast.Name) and node.id in shapes.local and node.id not in shapes._params \
                and shapes._bindings.get(node.id) == 1 and len(shapes._assigned_values.get(node.id) or ()) == 1:
            node = shapes._assigned_values[node.id][0]
        if not (isinstance(node, ast.Call) and self._shapes.callee(node) is range and 1 <= len(node.args) <= 3
                and not node.keywords):
            return None
        bounds = [self._shapes.value_of(a, self._env) for a in node.args]
        if any(type(b) is not int for b in bounds) or len(bounds) == 3 and bounds[2] == 0:
            return None
        return len(range(*bounds))

    def either(self, which):
        """The shapes the argument may have: two for a name holding 0.0 or an array (`ZeroOr`), else one."""
        node = self._node(which)
        return (None,) if node is None else self._all_seen(self._shapes._either(node, self._env))

    def items(self, which):
        """The shapes of the items of a tuple, or of a list no one changes (a list display passed there
        itself included), passed there, else None."""
        node = self._node(which)
        if isinstance(node, ast.List) and not any(isinstance(e, ast.Starred) for e in node.elts):
            return self._all_seen(tuple(self._shapes.of(e, self._env) for e in node.elts))
        seq = None if node is None else self._shapes.of(node, self._env)
        return self._all_seen(seq.items) if isinstance(seq, Seq) else None

    def item(self, which, index):
        """The shape of `arg[index]` of the array at `which` by the argument at `index` (ints, slices of known
        bounds, None, an Ellipsis: `Shapes._subscript`), else None."""
        node, key = self._node(which), self._node(index)
        if node is None or key is None:
            return None
        return self._seen(self._shapes._subscript(ast.Subscript(value=node, slice=key, ctx=ast.Load()), self._env))

    def item_facts(self, which):
        """`items`, where a name of a list or tuple display holding 0.0 or an array (an adjoint started at
        0.0 before a loop) gives its `ZeroOr` instead of no shape."""
        node = self._node(which)
        if not isinstance(node, ast.List | ast.Tuple) or any(isinstance(e, ast.Starred) for e in node.elts):
            return self.items(which)
        out = []
        for e in node.elts:
            fact = self._shapes._name_fact(e, self._env) if isinstance(e, ast.Name) and e.id in self._shapes.local \
                else None
            out.append(fact if type(fact) is ZeroOr else self._shapes.of(e, self._env))
        return self._all_seen(tuple(out))

    def keyed(self, which):
        """The `Keyed` fact of a dict argument (or a dict adjoint) of known items passed there, else None."""
        node = self._node(which)
        fact = None if node is None else self._shapes.of(node, self._env)
        return self._seen(fact) if isinstance(fact, Keyed) else None

    def listed(self, which):
        """The one shape of the items of a list passed there whose items all have it (its length may be
        unknown: `ListOf`), else None."""
        node = self._node(which)
        if not isinstance(node, ast.Name) or node.id not in self._shapes.local:
            return None
        return self._seen(one_item(self._shapes._name_fact(node, self._env)))

    def held(self, which):
        """The fact of the argument as a local name holds it here, or as a call gives it (a `ZeroOr`, a `ListOf`,
        a `ZeroOrItems` among them), else `shape`'s."""
        node = self._node(which)
        if isinstance(node, ast.Name) and node.id in self._shapes.local and which not in self._given:
            return self._seen(self._shapes._name_fact(node, self._env))
        if isinstance(node, ast.Call) and which not in self._given:
            return self._seen(self._shapes._call(node, self._env))
        return self.shape(which)

    def node(self, which):
        """The argument's expression itself (a literal list of names, `["logabsdet"]`), or None."""
        return self._node(which)

    def whole(self, which):
        """The fact of whatever is passed there (an array's or number's shape, a record's `Fields`, a list's
        `Seq`), else None."""
        node = self._node(which)
        return None if node is None else self._seen(self._shapes.of(node, self._env))

    def fields(self, which):
        """The field names of a namedtuple of known items passed there (`Seq.fields`), else None."""
        node = self._node(which)
        seq = None if node is None else self._shapes.of(node, self._env)
        return seq.fields if isinstance(seq, Seq) else None

    def joined_items_real(self, which) -> bool:
        """`items_real`, an item a list or tuple of real floats itself allowed (`Shapes.joined_items_real`)."""
        return self._shapes.joined_items_real(self._node(which), self._reals)

    def items_real(self, which) -> bool:
        """Whether the argument is a list no one changes (`Shapes.sealed`) whose items are all real floats
        (numbers or arrays), or a tuple display of such, or a list no one else changes (`Shapes.appended`)
        to which only real floats are appended."""
        return self._shapes.items_real(self._node(which), self._reals)

    def literal(self, which, default=None):
        """The value of a literal argument (None, an int, a bool, a tuple of ints), `default` where it is not
        there, `NOT_LITERAL` where it is not a literal."""
        return _literal(self._node(which), default)

    def real(self, which) -> bool:
        """Whether the argument certainly holds real floating-point values (a number or an array)."""
        node = self._node(which)
        return node is not None and self._shapes.real(node, self._reals)

    def real_dtype(self, which) -> bool:
        """Whether the argument is a real floating dtype: `np.float32`, `np.float64`, or `x.dtype` of an `x` that
        certainly holds real floats (an array's; a Python float has none, and raises). Not `np.float16`: a real
        value is float32 or wider where no argument is float16 (index adjoints add float32 terms in place)."""
        node = self._node(which)
        if isinstance(node, ast.Attribute) and node.attr == "dtype":
            return self._shapes.real(node.value, self._reals)
        if not isinstance(node, ast.Attribute):
            return False
        obj = self._shapes.callee(ast.Call(func=node, args=[], keywords=[]))
        return any(obj is t for t in (np.float32, np.float64))

    def int_literal(self, which) -> bool:
        """Whether the argument is an int literal (`2`)."""
        return _int_literal(self._node(which))

    def real_args(self) -> bool:
        """What `real=True` states: real floats in, real floats out (ints written as literals allowed)."""
        positions = range(self.nargs)
        return self.nargs > 0 and all(self.real(i) or self.int_literal(i) for i in positions) \
            and any(self.real(i) for i in positions)


class Seq:
    """The shape of a tuple: the shapes of its items (each a shape or None). `fields`: the field names of a
    namedtuple a rule returns (np.linalg.slogdet's `sign`, `logabsdet`), for `r.logabsdet`; not part of
    the equality (a join keeps them only where both sides have the same)."""

    __slots__ = ("items", "fields")

    def __init__(self, items, fields=None):
        self.items = tuple(items)
        self.fields = fields if fields is not None and len(fields) == len(self.items) else None

    def __eq__(self, other):
        return isinstance(other, Seq) and other.items == self.items

    def __hash__(self):
        return hash(("Seq", self.items))

    def __repr__(self):
        return f"Seq{self.items!r}"


class Record(Seq):
    """The shape of a namedtuple argument no one changes (s2s/argshapes.py): a tuple's, whose field names are part
    of its equality (code made for one class is not another's whose fields are in another order)."""

    __slots__ = ()

    def __eq__(self, other):
        return type(other) is type(self) and other.items == self.items and other.fields == self.fields

    def __hash__(self):
        return hash((type(self).__name__, self.items, self.fields))

    def __repr__(self):
        return f"{type(self).__name__}{dict(zip(self.fields or (), self.items))!r}"


class Fields(Record):
    """The shape of a dataclass argument no one changes: its fields' facts in order, with their names; read only as
    its attributes (`s2s.field(p, "W")`), never as a tuple's items (`_container_reads_hold`)."""

    __slots__ = ()


def field_fact(fact, names):
    """The fact of `s2s.field(r, *names)` of a record's fact `fact` (a `Seq` with field names: a namedtuple's or a
    dataclass's, one a rule returns), None where a name is no field of it."""
    for name in names:
        if not isinstance(fact, Seq) or fact.fields is None or name not in fact.fields:
            return None
        fact = fact.items[fact.fields.index(name)]
    return fact


def _field_items(fact, names):
    """[`field_fact`]: the facts an item read gives, as `_held_items` lists them."""
    return [field_fact(fact, names)]


def _int_display(node):
    """An int literal, or a tuple or list display of such (nested), as Python values; else None."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Tuple | ast.List) and node.elts:
        items = [_int_display(e) for e in node.elts]
        return None if any(i is None for i in items) else tuple(items)
    return None


def slices_only(index) -> bool:
    """Whether a subscript's index is slices alone (`x[:-1]`, `X[1:, ::2]`): a view with the array's axes.

        >>> slices_only(ast.parse("x[1:, ::2]", mode="eval").body.slice), slices_only(ast.parse("x[0, :]").body[0].value.slice)
        (True, False)
    """
    return all(isinstance(i, ast.Slice) for i in (index.elts if isinstance(index, ast.Tuple) else [index]))


def as_arrays(items) -> tuple:
    """The shapes `items` have as the arrays NumPy's joins make of them: a tuple's or list's shape (`Seq`) of
    numbers, or of arrays of one shape, that array's (`[0.0]`: (1,)); the others as they are.

        >>> as_arrays([(4,), Seq(((),))])
        ((4,), (1,))
    """
    return tuple((len(i.items),) + i.items[0] if isinstance(i, Seq) and i.items and type(i.items[0]) is tuple
                 and all(type(e) is tuple and e == i.items[0] for e in i.items) else i for i in items)


class Keyed:
    """The shape of a dict argument no one changes: its items' facts by key (`params["W"]`)."""

    __slots__ = ("items",)

    def __init__(self, items):
        self.items = tuple(items)  # (key, fact) pairs, in the dict's order

    def get(self, key):
        """The fact of the item under `key`, else None."""
        for k, fact in self.items:
            if k == key and type(k) is type(key):
                return fact
        return None

    def __eq__(self, other):
        return isinstance(other, Keyed) and other.items == self.items

    def __hash__(self):
        return hash(("Keyed", self.items))

    def __repr__(self):
        return f"Keyed{dict(self.items)!r}"


def items_of(structure):
    """The item facts of a `Seq` or a `Keyed`."""
    return structure.items if isinstance(structure, Seq) else tuple(fact for _, fact in structure.items)


def _common(facts):
    """The one fact all of `facts` are (none of them None), else None."""
    facts = tuple(facts)
    if not facts or facts[0] is None or any(not _same_fact(f, facts[0]) for f in facts[1:]):
        return None
    return facts[0]


class ZeroScalar(tuple):
    """The shape `()` of a name that certainly holds the float 0.0 here (the zero adjoint): equal to `()`."""

    __slots__ = ()

    def __repr__(self):
        return "ZeroScalar()"


ZERO_SCALAR = ZeroScalar()


class Counted(tuple):
    """The shape `()` of an int that is `scale * counter + offset` here (`scale` 1 or -1: `i + 2`, `n - i`),
    `counter` a name bound only by loops over ranges and `span` the range of the loop that bound it last:
    equal to `()`. A slice `x[i:i + k]` whose bounds are two such ints of one counter has `k` items wherever
    the span keeps both bounds inside the axis, `x[i:]` an `Extent` of items (`Shapes._slice_length`).
    Facts that name a counter are forgotten where the counter is bound again."""

    def __new__(cls, counter, offset, span, scale=1):
        fact = tuple.__new__(cls, ())
        fact.counter, fact.offset, fact.span, fact.scale = counter, offset, span, scale
        return fact

    def __eq__(self, other):
        if type(other) is Counted:
            return (self.counter, self.offset, self.span, self.scale) == \
                (other.counter, other.offset, other.span, other.scale)
        return tuple.__eq__(self, other)

    def __ne__(self, other):
        return not self == other

    __hash__ = tuple.__hash__

    def values(self):
        """The least and the greatest value it takes over the span (not empty)."""
        ends = (self.scale * self.span[0] + self.offset, self.scale * self.span[-1] + self.offset)
        return min(ends), max(ends)

    def __repr__(self):
        scale = "" if self.scale == 1 else "-" if self.scale == -1 else f"{self.scale}*"
        return f"Counted({scale}{self.counter}{self.offset:+d} over {self.span})"


class Extent:
    """The length of an axis that is `scale * counter + offset` items for the value the loop counter `counter`
    holds here (`x[i:]` of an axis of n: `n - i`), `span` that counter's range, the length at least 0 over all
    of it. Two are equal where all four are: two slices of that length have one shape wherever both are read
    with the counter unchanged (a fact holding one is forgotten where its counter is bound again, like a
    `Counted`'s). Only the shape inference and the questions asked under `Shapes.symbolic()` see one: to every
    other reader a shape holding one is unknown (it cannot be written into code as a number)."""

    __slots__ = ("counter", "scale", "offset", "span")

    def __init__(self, counter, scale, offset, span):
        self.counter, self.scale, self.offset, self.span = counter, scale, offset, span

    def _key(self):
        return self.counter, self.scale, self.offset, self.span

    def __eq__(self, other):
        return type(other) is Extent and self._key() == other._key()

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return f"Extent({self.scale}*{self.counter}{self.offset:+d} over {self.span})"


def _has_extent(fact) -> bool:
    """Whether a fact holds an `Extent` anywhere (an axis of an array's shape, or of an item's)."""
    if type(fact) is Extent:
        return True
    if isinstance(fact, Seq):
        return any(_has_extent(item) for item in fact.items)
    if isinstance(fact, Keyed):
        return any(_has_extent(item) for _, item in fact.items)
    if type(fact) in (ZeroOr, ListOf, ZeroOrItems):
        return _has_extent(fact.shape if type(fact) is ZeroOr else fact.item)
    return isinstance(fact, tuple) and any(type(n) is Extent for n in fact)


def _kept_counter(fact, counter):
    """The fact with only `counter`'s `Extent`s and `Counted` offsets kept (another counter's may have moved)."""
    if type(fact) is Counted:
        return fact if fact.counter == counter else ()
    if isinstance(fact, Seq):  # (a Record's or Fields' kind kept: `type(fact)`)
        return type(fact)((_kept_counter(item, counter) for item in fact.items), fact.fields)
    if _has_extent(fact):
        if isinstance(fact, tuple) and type(fact) not in (Counted, ZeroScalar):
            return fact if all(type(n) is not Extent or n.counter == counter for n in fact) else None
        return None
    return fact


def _pushed_name(call):
    """The name `tape.append(name)` saves, else None."""
    arg = call.args[0]
    return arg.id if isinstance(arg, ast.Name) else None


def _concrete(fact, counter=None):
    """The fact without `Extent`s: a shape holding one unknown (None), in a tuple's items too; with `counter`,
    only those of that counter's (the counter bound again: the lengths it gave may have changed)."""
    if fact is None or not _has_extent(fact):
        return fact
    if isinstance(fact, Seq):
        return type(fact)((_concrete(item, counter) for item in fact.items), fact.fields)
    if isinstance(fact, tuple) and type(fact) not in (Counted, ZeroScalar):
        return None if any(type(n) is Extent and (counter is None or n.counter == counter) for n in fact) else fact
    return None


class RandomGenerator:
    """The fact of an argument that is a `np.random.Generator` (its type is in the code's key): the draws
    `rng.random(size)`, `rng.normal(loc, scale, size)`, ... have the shape `size` asks for and are float64
    (`Shapes._random_draw`)."""

    __slots__ = ()

    def __eq__(self, other):
        return type(other) is RandomGenerator

    def __hash__(self):
        return hash(RandomGenerator)

    def __repr__(self):
        return "RandomGenerator()"


RANDOM_GENERATOR = RandomGenerator()

# Generator methods drawing float64 numbers: the parameters before `size`, each with its default's shape
_DRAWS = {"random": (), "standard_normal": (), "normal": ("loc", "scale"), "uniform": ("low", "high"),
          "exponential": ("scale",), "standard_exponential": (), "laplace": ("loc", "scale"),
          "logistic": ("loc", "scale"), "gumbel": ("loc", "scale")}


class ListOf:
    """The fact of a list no one else can change whose items all have the one shape `item`, its length
    unknown (a list appended to in a loop, at the loop's head). Read as unknown but by the statements
    that append to it and pop it, and by `Site.listed`."""

    __slots__ = ("item",)

    def __init__(self, item):
        self.item = item

    def __eq__(self, other):
        return type(other) is ListOf and other.item == self.item

    def __hash__(self):
        return hash(("ListOf", self.item))

    def __repr__(self):
        return f"ListOf({self.item!r})"


def _list_pops() -> set:
    """The runtime's adjoints of `L.append(v)`: `s2s.append_grads` and `s2s.append_grads_owned`."""
    runtime = ctx().runtime
    return {getattr(runtime, "append_grads", None), getattr(runtime, "append_grads_owned", None)} - {None}


def _list_step(stmt, names):
    """(the list's name, "append" or "pop") for a statement `L.append(v)` / `L.pop()` of a name in `names`."""
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)
            and call.func.value.id in names and not call.keywords):
        return None
    kind = call.func.attr
    if kind == "append" and len(call.args) == 1 and not isinstance(call.args[0], ast.Starred) \
            or kind == "pop" and not call.args:
        return call.func.value.id, kind
    return None


def one_item(fact):
    """The one shape of every item of a list's fact (a `Seq` of equal plain shapes, or a `ListOf`), else None."""
    if type(fact) is ListOf:
        return fact.item
    if isinstance(fact, Seq) and fact.items and len(set(fact.items)) == 1 and type(fact.items[0]) is tuple:
        return fact.items[0]
    return None


def _plain(fact, counter=None):
    """A fact without a counter's offset (what a value keeps once the counter may have moved on): of
    `counter`'s alone where it is given; the items of a tuple's too."""
    if type(fact) is Counted:
        return () if counter is None or fact.counter == counter else fact
    if _has_extent(fact):
        fact = _concrete(fact, counter)
    if isinstance(fact, Seq) and any(type(item) is Counted or isinstance(item, Seq) for item in fact.items):
        return Seq(_plain(item, counter) for item in fact.items)
    return fact


# the reductions transforms/reduction_methods.py writes as array methods (`z.max(axis=1)`)
_REDUCTION_METHODS = ("sum", "mean", "max", "min", "prod", "var", "std")


class _OneShapeOr:
    """A fact of a value that is one special value or an array (or number) of `shape` (ZeroOr, NoneOr)."""

    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = shape

    def __eq__(self, other):
        return type(other) is type(self) and other.shape == self.shape

    def __hash__(self):
        return hash((type(self).__name__, self.shape))

    def __repr__(self):
        return f"{type(self).__name__}({self.shape!r})"


class ZeroOr(_OneShapeOr):
    """A name's fact where it holds either the zero adjoint 0.0 or an array of `shape` (an adjoint started
    at 0.0 before a loop, `c_bar = 0.0`, that the loop's first trip makes an array). Read as unknown,
    except as an operand of an elementwise operator whose result has one shape either way
    (`c_bar + t` with t of that shape). Only facts per program point hold one (never a tuple's item)."""

    __slots__ = ()


class ZeroOrItems:
    """A name's fact where it holds either the zero adjoint 0.0 or a list of the adjoints of a list's items, each
    0.0 or an array (or number) of shape `item`: the adjoint `s2s.add_item_grad` accumulates read by read
    (transforms/list_adjoints.py). Read as unknown but by the rules of `add_item_grad`, `grad_iterated` and `add`
    (`Site.held`)."""

    __slots__ = ("item",)

    def __init__(self, item):
        self.item = item

    def __eq__(self, other):
        return type(other) is ZeroOrItems and other.item == self.item

    def __hash__(self):
        return hash(("ZeroOrItems", self.item))

    def __repr__(self):
        return f"ZeroOrItems({self.item!r})"


class NoneOr(_OneShapeOr):
    """A name's fact where it holds None or an array (or number) of `shape` (`prev = None` before a loop whose
    trips bind it to an array); `NoneOr(None)` where it holds None itself. Read as unknown, but in the branches
    of `if x is not None:` (or of `if c:` just after `c = x is not None`), where x is the one or the other
    (`Shapes._flow_if`)."""

    __slots__ = ()


NONE_VALUE = NoneOr(None)


def _none_or(a, b):
    """The join of None (or a NoneOr) and an array's or a number's shape as a NoneOr, else None."""
    if type(a) is not NoneOr and type(b) is not NoneOr:
        return None
    shapes = {x.shape if type(x) is NoneOr else x for x in (a, b)} - {None}
    if len(shapes) != 1:
        return None
    shape = shapes.pop()
    return NoneOr(shape) if type(shape) is tuple and not _has_extent(shape) else None


def _zero_or_items(a, b):
    """The join of 0.0 and a `ZeroOrItems` (the zero adjoint before a loop that accumulates item adjoints), else
    None."""
    kinds = {type(a), type(b)}
    if kinds == {ZeroScalar, ZeroOrItems}:
        return a if type(a) is ZeroOrItems else b
    return None


def _zero_or(a, b):
    """The join of 0.0 (or a ZeroOr) and an array's shape as a ZeroOr, else None."""
    def part(x):
        if type(x) is ZeroScalar:
            return "zero", None
        if type(x) is ZeroOr:
            return "either", x.shape
        if type(x) is tuple and x:
            return "array", x
        return None, None
    (ka, sa), (kb, sb) = part(a), part(b)
    if ka is None or kb is None or (ka == kb == "zero"):
        return None
    shapes = {s for s in (sa, sb) if s is not None}
    return ZeroOr(shapes.pop()) if len(shapes) == 1 else None


def _atom(node) -> bool:
    """A name, a constant, a call or the guard of the zero adjoint (an `IfExp`), or one negated: an operand whose
    fact `_zero_or` asks of without going down an expression's depth."""
    if isinstance(node, ast.UnaryOp):
        node = node.operand
    return isinstance(node, ast.Name | ast.Constant | ast.Call | ast.IfExp)


def _array(shape):
    """`shape` if it is an array's or a number's shape (not a tuple's), else None."""
    return shape if isinstance(shape, tuple) else None


def _join_shapes(a, b):
    if a == b and not isinstance(a, Seq):  # (two Seqs are equal where their items are only under `==`)
        return a if type(a) is type(b) else ()
    if type(a) is Counted or type(b) is Counted:  # two ints, not the same offset of one counter
        return () if a == () and b == () else None
    if isinstance(a, Seq) and isinstance(b, Seq) and len(a.items) == len(b.items):
        same = type(a) is type(b) and a.fields == b.fields  # (a record's kind only where both are that record)
        return (type(a) if same else Seq)((_join_shapes(x, y) for x, y in zip(a.items, b.items)),
                                          a.fields if a.fields == b.fields else None)
    if type(a) is ListOf or type(b) is ListOf or isinstance(a, Seq) and isinstance(b, Seq):
        items = {one_item(x) if x != Seq(()) else "empty" for x in (a, b)} - {"empty"}
        if len(items) == 1 and None not in items:
            return ListOf(items.pop())  # (lists of one item shape, of different lengths)
    return None


_UNBOUND = object()  # a name not yet assigned on some path (a read there would raise NameError)


def _same_fact(a, b):
    """`a == b` where a `Counted` is not `()` (nor another counter's offset), also inside a Seq."""
    if type(a) is not type(b) or a != b:
        return False
    if isinstance(a, Seq):
        return all(_same_fact(x, y) for x, y in zip(a.items, b.items))
    return True


def _same_states(a, b):
    return a.keys() == b.keys() and all(_same_fact(a[name], b[name]) for name in a)


def _join_states(a, b, lost=None, where=None):
    """The facts that hold after either state; `lost[name] = where` for a name whose two known shapes differ."""
    out = {}
    for name in a.keys() | b.keys():
        x, y = a.get(name, _UNBOUND), b.get(name, _UNBOUND)
        out[name] = y if x is _UNBOUND else x if y is _UNBOUND else _join_shapes(x, y)
        if out[name] is None and x is not _UNBOUND and y is not _UNBOUND:
            out[name] = _zero_or(x, y) or _zero_or_items(x, y) or _none_or(x, y)  # (unknown still, but to an
            # elementwise operator, or in a test for None)
        if lost is not None and (out[name] is None or type(out[name]) in (ZeroOr, NoneOr)) and x is not None \
                and y is not None and name not in lost:
            lost[name] = where
    return out


class Overrides(dict):
    """Facts for some names (name -> fact) to ask `Shapes.of` with, the other names keeping the facts at their
    reads: "what if `t` held a number here" without giving up what the flow knows of the rest.

        >>> Overrides({"t": ()})["t"]
        ()
    """

    __slots__ = ()


class _Asked:
    """A set of names that remembers which names it was asked about (`name in it`)."""

    __slots__ = ("_of", "names")

    def __init__(self, of):
        self._of, self.names = of, set()

    def __contains__(self, name):
        self.names.add(name)
        return name in self._of


_VALUE_DEPTH = 64  # names `value_of` follows through one another's values (a longer chain: not claimed)


class Shapes:
    """Shapes of the names of one generated function (`self.env`) and of its expressions (`of`)."""

    def __init__(self, fdef: ast.FunctionDef, params: dict, resolve, runtime_helpers: dict, kinds=None,
                 tapes=frozenset()):
        self.resolve = resolve
        self.tapes = tapes  # the lists s2s saves values on (tape, checkpoint snapshots): a pop restores
        self.helpers = runtime_helpers  # runtime function -> its short name ("unbroadcast", ...)
        self.assigned, self.restored = set(), set()
        self._assigned_values = {}  # name -> the value expressions bound to it (None: not a plain binding)
        self._updated_values = {}  # name -> `x op v` for each `x op= v` of it (read by `_real_names` only)
        self._bindings, loops = {}, []
        self._unpacked = {}  # name -> (call, k) for each `a, b = call(...)` binding it to the call's item k
        self._placeholders = set()  # ids of the values of the tape's placeholders (`t = t2 = None`, annotated)
        self._exits = False  # whether some loop of `fdef` breaks or continues (`leaves_early`)
        calls, reads, exprs = [], [], []  # (for `_sealed_lists` and `_appended_lists`: the one walk)
        item_bases = set()  # ids of the Names read for an item (`L[k]`), for `_sealed_lists`
        name_nodes = []  # ids of every Name node, to find one node in two places (`unshare`)
        for n in walk_nodes(fdef):
            if isinstance(n, ast.Name):
                name_nodes.append(id(n))
                if isinstance(n.ctx, ast.Store):
                    self.assigned.add(n.id)
                    self._bindings[n.id] = self._bindings.get(n.id, 0) + 1
                elif isinstance(n.ctx, ast.Load):
                    reads.append(n)
            elif isinstance(n, ast.Call):
                calls.append(n)
            elif isinstance(n, ast.Expr):
                exprs.append(n)
            elif isinstance(n, ast.Subscript):
                if isinstance(n.ctx, ast.Load) and isinstance(n.value, ast.Name):
                    item_bases.add(id(n.value))
            elif isinstance(n, ast.Break | ast.Continue):
                self._exits = True
            elif isinstance(n, ast.Assign):
                for target in n.targets:
                    names = [target.id] if isinstance(target, ast.Name) else assigned_names(target)
                    for name in names:
                        self._assigned_values.setdefault(name, []).append(n.value if isinstance(target, ast.Name) else None)
                    if isinstance(target, ast.Tuple | ast.List) and isinstance(n.value, ast.Call) \
                            and all(isinstance(e, ast.Name) for e in target.elts):
                        for k, e in enumerate(target.elts):
                            self._unpacked.setdefault(e.id, []).append((n.value, k))
                if annotations.get(n, annotations.PLACEHOLDER, False):
                    self._placeholders.add(id(n.value))
                if len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) and self._is_pop(n.value):
                    self.restored.add(n.targets[0].id)
            elif isinstance(n, ast.For | ast.AugAssign | ast.NamedExpr):
                for name in assigned_names(n.target):
                    self._assigned_values.setdefault(name, []).append(None)
                if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
                    self._updated_values.setdefault(n.target.id, []).append(
                        ast.BinOp(left=ast.Name(id=n.target.id, ctx=ast.Load()), op=n.op, right=n.value))
                if isinstance(n, ast.For):
                    loops.append(n)
        if len(set(name_nodes)) < len(name_nodes) and unshare(fdef):
            # (facts are kept per node read: a node in two places, which a pass may have put there, would get
            # the facts of one of them; a node in two places has a name in two places)
            self.__init__(fdef, params, resolve, runtime_helpers, kinds, tapes)
            return
        params_bound = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
        # (a name given that the code reads and never binds: a number or array of the closure or module, fixed for
        # the call as a parameter is: s2s/pipeline.py `_free_data`)
        params_bound |= {p for p in params if p not in self.assigned and p not in params_bound}
        self.local = self.assigned | params_bound
        range_loops, self._ranges = {}, {}
        for n in loops:
            if isinstance(n.target, ast.Name) and self._is_range(n.iter):
                range_loops[n.target.id] = range_loops.get(n.target.id, 0) + 1
                self._ranges.setdefault(n.target.id, []).append(n.iter)
        # an int: a name bound only ever by loops over ranges, or by int arithmetic on ints (`i2 = i + 1`)
        self.ints = {name for name, count in range_loops.items()
                     if self._bindings.get(name) == count and name not in params_bound}
        self.ints |= {name for name, count in range_loops.items() if name not in params_bound
                      and self._tape_bound_counter(name, count)}  # (`i` of two loops, saved and restored between)
        self._for_loops = loops  # (every `for` of fdef: `_undone_trips` looks for two over one counter)
        self._counters = set(self.ints)  # (bound by its loops and the tape alone: a `Counted` fact of one stays
        # true until its loop binds it, or the tape's restore does)
        self._param_names = params_bound
        self._fdef, self._maybe_unbound = fdef, None
        params, kinds = self._held_containers(fdef, params, kinds or {})
        self._kinds, self._early_reals = kinds, None
        self.env = dict(params)
        self._entry = dict(params)  # (what the parameters hold where the function starts, rebound later or not)
        self._generators = {p for p, fact in params.items() if type(fact) is RandomGenerator}
        self._facts = {}  # (id(obj), fact) -> (obj, what its record states): the rules read once per run
        self.sealed = self._sealed_lists(calls, reads, item_bases)
        self.appended = self._appended_lists(calls, reads, exprs, item_bases)
        self._name_reads, self._calls = reads, calls  # (for `_list_adjoints`, `_never_read_as_none`)
        self._params = set(params)
        self._valuing = set()  # names whose value `value_of` is finding (a cycle claims nothing)
        self._name_values = {}  # name -> its value, within one outermost question of `value_of` (see there)
        self._items_asked = set()  # (name, k) whose item `_real_item` is asking about (a cycle claims nothing)
        self.at = {}
        self._symbolic = False  # (`symbolic()`: the questions asked see `Extent`s)
        self._int_arrays = set()  # (asked while they are found: none yet)
        self._int_arrays = self._integer_arrays(kinds or {}, params_bound)
        self._int_arithmetic(range_loops, params_bound)
        self._none_unread = set()  # (names bound to None never read as None: known once the facts are flowed)
        self._float_list_depths = None  # (`_float_lists`, found when first asked)
        self._numpy_names = None  # (`numpy_number`'s names, found when first asked)
        self._infer(fdef)
        self.at = {}  # id(Name node read) -> (the node, its shape there): the facts per program point
        self.blame = {}  # name -> the first statement whose value's shape is unknown (for notes in the code)
        self.lost = {}  # name -> the loop or `if` after which its shape is unknown (its shapes there differ)
        self._restores = {}  # name -> the shape a tape's restore gives it (the join of what was saved)
        self._flow(fdef)
        self._none_unread = self._never_read_as_none()
        self.reals = self._real_names(kinds)

    def _placeholder_statement(self, s) -> bool:
        """Whether the assignment `s` is the tape's placeholder (`t = t2 = None`), never read as a value."""
        return annotations.get(s, annotations.PLACEHOLDER, False) \
            and all(isinstance(t, ast.Name) and t.id in self.restored for t in s.targets)

    def _tape_bound_counter(self, name, loops) -> bool:
        """Whether `name`, the counter of `loops` loops over ranges, is otherwise bound only by the tape: its
        placeholder `None` (never read as a value) and restores of what was saved from it (a counter's int)."""
        values = self._assigned_values.get(name, [])
        return self._bindings.get(name) == len(values) and sum(v is None for v in values) == loops \
            and all(v is None or self._by_tape(v, name) for v in values)

    def _by_tape(self, value, name) -> bool:
        """Whether `value`, bound to `name`, is the tape's: its placeholder `None` or a restore of what was saved."""
        return self._is_pop(value) or self._placeholder(value, name)

    def _placeholder(self, value, name) -> bool:
        """Whether `value` is the tape's placeholder `None` bound to `name` (never read as a value; a `None`
        of your own is one: `n = None` makes `x[:n]` the whole axis)."""
        return id(value) in self._placeholders and name in self.restored

    @property
    def arguments(self) -> set:
        """The generated function's parameters (the names whose facts the caller gave)."""
        return self._params

    @property
    def maybe_unbound(self) -> set:
        """The ids of the reads of local names that may be unbound there (a name a loop of no trips, or one
        branch, leaves unbound): such a read raises, so its statement is not one that cannot raise."""
        if self._maybe_unbound is None:
            # (a free name given, never bound here, is bound where the code starts, as a parameter is)
            self._maybe_unbound = maybe_unbound_reads(self._fdef, self.assigned, self._runs_a_trip)
        return self._maybe_unbound

    def _runs_a_trip(self, loop: ast.For) -> bool:
        """Whether the `for` loop certainly runs its body once at least: over a range of known bounds that is not
        empty (`_range_bounds`; bounds read before the loop: a name's one value)."""
        bounds = self._range_bounds(loop.iter)
        return bounds is not None and len(range(*bounds)) > 0

    # ---- container arguments -----------------------------------------------
    def _held_containers(self, fdef, params, kinds):
        """`params` and `kinds` where the facts of container arguments (a `Seq` or `Keyed` of their items'
        shapes, and one of their dtype characters) certainly hold wherever they are read; the other container
        arguments' facts are dropped (None). Sets `item_kinds`: name -> the dtype structures it may hold, for
        a container argument and each name bound to a part of one (`_real_item`).

        The proof follows every name that may hold a container inside an argument (its aliases: `t = params[0]`,
        `seq = s2s.as_sequence(t)`, `W = t[0]`) and accepts each read of one only where it cannot change a
        container: an item read, `len`, a tape's push, a runtime helper that reads the container's structure
        (`getitem_grad`, `finish`), or a binding of another name (an alias in turn). An item that is an array
        or a number ends the chain (an array's shape does not change in place). The argument itself is never
        bound again. Anything else (a method call, an item assignment, a call of another function) drops
        every container argument's facts."""
        self.item_kinds = {}
        self.params_held = frozenset()  # the container arguments whose facts hold
        roots = [p for p, fact in params.items() if isinstance(fact, Seq | Keyed)]
        plain_kinds = {p: k for p, k in kinds.items() if isinstance(k, str)}
        if not roots:
            return params, plain_kinds
        held = {p: [(params[p], kinds.get(p))] for p in roots}
        bound = {}  # alias -> the ids of the values that bind it to a part of a container argument
        if not any(p in self.assigned for p in roots) and self._container_reads_hold(fdef, held, params, bound):
            # (an alias bound to anything else as well has no dtype structure: only its shapes' facts follow it)
            self.item_kinds = {name: [kind for _, kind in pairs] for name, pairs in held.items()
                               if name in params or all(id(v) in bound[name] or self._is_pop(v) or (
                                   self._placeholder(v, name))
                                   for v in self._assigned_values.get(name, ()))}
            self.params_held = frozenset(roots)
            return params, plain_kinds
        return {p: (None if p in held else fact) for p, fact in params.items()}, plain_kinds

    def _container_reads_hold(self, fdef, held, params, bound) -> bool:
        """Whether every read of a name in `held` (name -> the (fact, dtype structure) pairs of the containers
        it may hold; grown with the aliases found) is one that cannot change the container (`_held_containers`)."""
        parents, reads = {}, {}
        for node, parent in child_parent_pairs(fdef):  # (every node but fdef itself, in the order of a walk)
            parents[id(node)] = parent
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                reads.setdefault(node.id, []).append(node)
        runtime = ctx().runtime
        as_sequence = getattr(runtime, "as_sequence", None)
        field_reader, finisher = getattr(runtime, "field", None), getattr(runtime, "finish", None)
        receiver, field_adjoint = getattr(runtime, "receiver", None), getattr(runtime, "field_grad", None)
        readers = {getattr(runtime, name, None) for name in _STRUCTURE_READERS} - {None}
        todo = list(held)
        while todo:
            for read in reads.get(todo.pop(), ()):
                node, pairs = read, held[read.id]
                while True:
                    parent = parents.get(id(node))
                    if isinstance(parent, ast.Call) and parent.args and parent.args[0] is node \
                            and self.callee(parent) is field_reader and not parent.keywords and len(parent.args) > 1 \
                            and all(isinstance(a, ast.Constant) and type(a.value) is str for a in parent.args[1:]):
                        names = [a.value for a in parent.args[1:]]  # (`p.W`, `p.cfg.lr` of a record: its fields)
                        pairs = [(f, k) for fact, kind in pairs
                                 for f, k in zip(_field_items(fact, names), _field_items(kind, names))]
                        if all(isinstance(fact, tuple) or kind == "U" for fact, kind in pairs):
                            break
                        node = parent
                        continue
                    if isinstance(parent, ast.Call) and parent.args and parent.args[0] is node \
                            and self.callee(parent) is receiver:
                        node = parent  # (`s2s.receiver(model, Dense, "forward")`: the record itself, as `self`)
                        continue
                    if any(isinstance(fact, Fields) for fact, _ in pairs) and not (
                            isinstance(parent, ast.Assign) or isinstance(parent, ast.Call) and (
                            self._is_push(parent) or self.callee(parent) in (finisher, field_adjoint))):
                        return False  # (a dataclass is read by its fields only: no item, length or iteration)
                    if isinstance(parent, ast.Subscript) and parent.value is node and isinstance(parent.ctx, ast.Load):
                        whole = not self._int_index(parent.slice)
                        pairs = [(f, k) for fact, kind in pairs for f, k in zip(_held_items(fact, parent.slice, whole),
                                                                                _held_items(kind, parent.slice, whole))]
                        if all(isinstance(fact, tuple) or kind == "U" for fact, kind in pairs):
                            break  # arrays, numbers and strings (argshapes: a string leaf's kind is "U")
                        node = parent
                        continue
                    if isinstance(parent, ast.Subscript) and node is not parent.value:
                        break  # read as an index
                    if isinstance(parent, ast.Attribute) and parent.value is node and parent.attr == "get" \
                            and self._leaf_get(parents.get(id(parent)), parent, pairs):
                        break  # `cfg.get("l2", 0.0)` of a dict of arrays, numbers and strings: an item or the default
                    if isinstance(parent, ast.Call) and node in parent.args:
                        callee = self.callee(parent)
                        if callee is as_sequence and len(parent.args) == 1 and not parent.keywords:
                            # (a dict's sequence is its keys)
                            pairs = [(f, k) if isinstance(f, Seq) else (None, None) for f, k in pairs]
                            node = parent
                            continue
                        if callee is len or callee in readers or self._is_push(parent):
                            break
                        return False
                    if isinstance(parent, ast.Assign) and parent.value is node and len(parent.targets) == 1 \
                            and isinstance(parent.targets[0], ast.Name) and parent.targets[0].id not in params:
                        bound.setdefault(parent.targets[0].id, set()).add(id(parent.value))
                        known = held.setdefault(parent.targets[0].id, [])
                        new = [pair for pair in pairs if pair not in known]
                        if new:
                            known.extend(new)
                            todo.append(parent.targets[0].id)
                        break
                    return False
        return True

    @staticmethod
    def _leaf_get(call, method, pairs) -> bool:
        """`d.get(k)` / `d.get(k, default)` (no keywords) where every dict `d` may be holds only arrays, numbers
        and strings: it changes nothing, and gives an item that cannot change the dict, or the default."""
        return isinstance(call, ast.Call) and call.func is method and 1 <= len(call.args) <= 2 and not call.keywords \
            and not any(isinstance(a, ast.Starred) for a in call.args) and bool(pairs) \
            and all(isinstance(fact, Keyed) and isinstance(kind, Keyed)
                    and all(isinstance(f, tuple) or k == "U" for f, k in zip(items_of(fact), items_of(kind)))
                    for fact, kind in pairs)

    def _field_read(self, node):
        """The field names of `s2s.field(r, "a", "b")` (`r.a.b` of a record), else None."""
        if isinstance(node, ast.Call) and len(node.args) > 1 and not node.keywords \
                and all(isinstance(a, ast.Constant) and type(a.value) is str for a in node.args[1:]) \
                and self.callee(node) is getattr(ctx().runtime, "field", None):
            return [a.value for a in node.args[1:]]
        return None

    def _item_kinds(self, node):
        """The dtype characters (or structures) an item read `node` of a held container may give, else None."""
        names = self._field_read(node)
        if names is not None:
            kinds = self._item_kinds(node.args[0])
            return None if kinds is None else [k for kind in kinds for k in _field_items(kind, names)]
        if isinstance(node, ast.Name):
            return self.item_kinds.get(node.id) if node.id in self.local else None
        if isinstance(node, ast.Subscript):
            kinds = self._item_kinds(node.value)
            whole = not self._int_index(node.slice)
            return None if kinds is None else [k for kind in kinds for k in _held_items(kind, node.slice, whole)]
        return None

    def _int_index(self, node, seen=()) -> bool:
        """Whether a list index certainly is no slice object (`s = slice(0, 2)`; `p[s]` is a list): a literal,
        arithmetic, `len(...)`, a counter of a loop over a range, or a local name bound only to such."""
        if isinstance(node, ast.Constant | ast.BinOp | ast.UnaryOp):
            return True
        if isinstance(node, ast.Call):
            return self.callee(node) in (len, int)
        if not isinstance(node, ast.Name) or node.id not in self.assigned or node.id in self._param_names:
            return False
        if node.id in self.ints:
            return True
        values = self._assigned_values.get(node.id)
        return node.id not in seen and bool(values) and self._bindings.get(node.id) == len(values) \
            and all(v is not None and self._int_index(v, (*seen, node.id)) for v in values)

    # ---- names -----------------------------------------------------------
    def _int_arithmetic(self, range_loops, params_bound):
        """Add to `ints` the names whose every binding is `+`, `-`, `*`, `//` or `%` of ints and int literals."""
        candidates = {n for n, values in self._assigned_values.items()
                      if n not in params_bound and n not in range_loops and values
                      and all(v is not None for v in values)
                      and self._bindings.get(n) == len(values)}
        asked, todo = {}, candidates  # (rechecked as in `_real_names`)
        while True:
            ints = self.ints | candidates
            drop = set()
            for n in todo:
                seen = _Asked(ints)
                if all(self._int_expr(v, seen) or self._by_tape(v, n) for v in self._assigned_values[n]):
                    asked[n] = seen.names
                else:
                    drop.add(n)
            if not drop:
                break
            candidates = candidates - drop
            todo = {n for n in candidates if not asked[n].isdisjoint(drop)}
        self.ints |= candidates

    def _sealed_lists(self, calls, reads, item_bases=frozenset()) -> set:
        """Names bound to one list display (`t = [a, b]`; a tape's placeholder and restores aside) and read only as
        arguments of calls to functions with a rule that does not change its argument in place (`np.array(t)`):
        no one can change that list, so its items keep the shapes they had when it was made. `calls` and `reads` are the
        function's calls and Name reads, in the order of a walk."""
        candidates = {n for n, values in self._assigned_values.items()
                      if n in self.assigned and self._bindings.get(n) == len(values)
                      and sum(isinstance(v, ast.List) for v in values) == 1
                      and all(isinstance(v, ast.List) or self._is_pop(v)
                              or self._placeholder(v, n)
                              for v in values)}
        if not candidates:
            return set()
        # names bound to one copy of such a name (`vf_value = vf_result`, a helper's result expanded in a loop):
        # the same list, sealed where every name for it is read only so (its reads by the copy included)
        copies = {n: next(v.id for v in values if isinstance(v, ast.Name))
                  for n, values in self._assigned_values.items()
                  if n in self.assigned and n not in candidates and self._bindings.get(n) == len(values)
                  and sum(isinstance(v, ast.Name) for v in values) == 1
                  and all(isinstance(v, ast.Name) and v.id in candidates or self._is_pop(v)
                          or self._placeholder(v, n) for v in values)}
        by_copy = {id(v): n for n, values in self._assigned_values.items() if n in copies
                   for v in values if isinstance(v, ast.Name)}
        candidates |= set(copies)
        as_argument = self._argument_reads(calls, candidates) | set(item_bases)  # (reading an item changes nothing)
        as_argument |= self._passed_in_tuples(calls, reads, candidates)
        while True:
            bad = {n.id for n in reads if n.id in candidates and id(n) not in as_argument
                   and by_copy.get(id(n)) not in candidates}
            bad |= {c for c, source in copies.items() if c in candidates and source not in candidates}
            if not bad:
                return candidates
            candidates -= bad

    def _passed_in_tuples(self, calls, reads, candidates) -> set:
        """The ids of the reads of `candidates` as items of a tuple or list display (`t5 = t2, t4`, lowered from
        `np.concatenate((t, [0.0]))`; `t3 = [t, t2]` from `np.concatenate([[c0], t2])`) bound to a name that holds
        such displays alone (the tape's restores and placeholder aside) and is read only by calls that cannot
        change their arguments: no one can reach the list through the tuple, or the list holding it, to change
        it."""
        holders = {}  # tuple name -> the ids of the candidates' reads in its displays
        displays = ast.Tuple | ast.List
        for name, values in self._assigned_values.items():
            if name not in self.assigned or self._bindings.get(name) != len(values) \
                    or not all(isinstance(v, displays) or self._is_pop(v) or self._placeholder(v, name) for v in values):
                continue
            inside = {id(e) for v in values if isinstance(v, displays) for e in v.elts
                      if isinstance(e, ast.Name) and e.id in candidates}
            if inside:
                holders[name] = inside
        if not holders:
            return set()
        passed = self._argument_reads(calls, set(holders))
        return {read for name, inside in holders.items()
                if all(id(n) in passed for n in reads if n.id == name) for read in inside}

    def _appended_lists(self, calls, reads, exprs, item_bases=frozenset()) -> set:
        """Names bound once, to a list display (`[]`, `[np.ones_like(x)]`), and otherwise only appended to and
        popped by statements of their own (`L.append(v)`, `L.pop()`) or read as arguments the way a sealed list
        is, or for an item (`L[i]`): no one else can change the list, so its facts follow those statements (`Seq`
        of its items; `ListOf` where only the items' one shape is known)."""
        self._appends = {}  # appended list -> the values its `L.append(v)` statements append
        candidates = {n for n, values in self._assigned_values.items()
                      if n in self.assigned and n not in self.tapes and self._bindings.get(n) == 1
                      and len(values) == 1 and isinstance(values[0], ast.List)
                      and not any(isinstance(e, ast.Starred) for e in values[0].elts)}
        if not candidates:
            return set()
        as_argument = self._argument_reads(calls, candidates) | set(item_bases)  # (reading an item changes nothing)
        for n in exprs:
            if _list_step(n, candidates) is not None:
                as_argument.add(id(n.value.func.value))
        for n in [n for n in reads if n.id in candidates]:
            if id(n) not in as_argument:
                candidates.discard(n.id)
        for name in candidates:  # (the items it starts with: `feats = [np.ones_like(x)]`)
            self._appends[name] = list(self._assigned_values[name][0].elts)
        for n in exprs:
            step = _list_step(n, candidates)
            if step is not None and step[1] == "append":
                self._appends[step[0]].append(n.value.args[0])
        return candidates

    def items_real(self, node, reals) -> bool:
        """Whether `node` is a list whose items are all known (`sealed_items`, `appended_items`) and real
        floats where `reals` are (not lists: `np.array` of lists of them is a matrix, its adjoint lists)."""
        items = self._known_items(node)
        return bool(items) and all(self.real(e, reals) for e in items)

    def joined_items_real(self, node, reals) -> bool:
        """`items_real`, where an item may also be a list or tuple of real floats itself (`[0.0]` of
        `np.concatenate(([0.0], x))`): what np.concatenate and np.stack join are real floats then."""
        items = self._known_items(node)
        return bool(items) and all(self.real(e, reals) or self.items_real(e, reals) for e in items)

    def _known_items(self, node):
        """The item expressions of a list no one changes, of one no one else changes, or of a tuple display."""
        items = self.sealed_items(node)
        if items is None:
            items = self.appended_items(node)
        return self._tuple_items(node) if items is None else items

    def _tuple_items(self, node):
        """The items of every tuple display a local name is bound to (`t = a, b, c`, lowered from
        `np.concatenate((a, b, c))`), where it is bound to nothing else (the tape's restores and placeholder
        aside), else None: a tuple's items are the objects it was made of, whoever rebinds their names."""
        if isinstance(node, ast.Tuple):
            values = [node]
        elif isinstance(node, ast.Name) and node.id in self.assigned:
            values = self._assigned_values.get(node.id, ())
            if self._bindings.get(node.id) != len(values) or not all(
                    isinstance(v, ast.Tuple) or self._is_pop(v) or self._placeholder(v, node.id) for v in values):
                return None
        else:
            return None
        displays = [v for v in values if isinstance(v, ast.Tuple)]
        if not displays or any(isinstance(e, ast.Starred) for v in displays for e in v.elts):
            return None
        return [e for v in displays for e in v.elts]

    def appended_items(self, node):
        """The values appended to a list no one else changes (`_appended_lists`), which are all it ever
        holds, else None (also where nothing is appended to it: an empty list).

            >>> # hs = []; for ...: hs.append(h) -- [h]
        """
        if not (isinstance(node, ast.Name) and node.id in self.appended):
            return None
        return self._appends.get(node.id)

    def _argument_reads(self, calls, candidates) -> set:
        """The ids of the reads of `candidates` passed to calls that cannot change them."""
        as_argument = set()
        for n in calls:
            callee = self.callee(n)  # (also where no argument is a candidate: the names it resolves are read)
            if not any(isinstance(a, ast.Name) and a.id in candidates for a in n.args) \
                    and not any(isinstance(k.value, ast.Name) and k.value.id in candidates for k in n.keywords):
                continue  # no candidate passed: which of its arguments count as such does not matter
            if not self.fact(callee, "mutates", None) and self.fact(callee, "result_shape", None) is not None \
                    or self._pure_helper(n) or self._is_push(n):
                as_argument.update(id(a) for a in n.args if isinstance(a, ast.Name))
                as_argument.update(id(k.value) for k in n.keywords if isinstance(k.value, ast.Name))
        return as_argument

    def _integer_arrays(self, kinds, params_bound) -> set:
        """Names that certainly hold integer arrays: parameters of an integer dtype never assigned, and names
        bound to one `np.arange(...)` of ints (a tape's placeholder and restores aside)."""
        out = {p for p, k in kinds.items() if k in "bhilqpBHILQP" and p not in self.assigned}
        self.aranges = {}  # name -> the range its np.arange holds
        for name, values in self._assigned_values.items():
            if name in params_bound or self._bindings.get(name) != len(values):
                continue
            made = [v for v in values if not self._by_tape(v, name)]
            if len(made) == 1 and self._triangle_item(made[0]):
                out.add(name)  # (`i = rows_cols[0]` of `rows_cols = np.triu_indices(n, 1)`)
                continue
            if len(made) == 1 and isinstance(made[0], ast.Call) and self.callee(made[0]) is np.arange \
                    and not made[0].keywords and 1 <= len(made[0].args) <= 3 \
                    and all(type(self.value_of(a)) is int for a in made[0].args) \
                    and (len(made[0].args) < 3 or self.value_of(made[0].args[2]) != 0):
                out.add(name)
                self.aranges[name] = range(*(self.value_of(a) for a in made[0].args))
        # names bound only to integer arrays computed from these and ints (`i = np.minimum(s.astype(int), K - 2)`,
        # `i + 1`), to a fixed point from all such candidates down; none where no call makes one
        names = self._INT_RESULT_NAMES
        if not out and not any(isinstance(n, ast.Call) and (
                isinstance(n.func, ast.Attribute) and (n.func.attr == "astype" or n.func.attr in names)
                or isinstance(n.func, ast.Name) and n.func.id in names)
                for values in self._assigned_values.values() for v in values if v is not None for n in walk(v)):
            return out
        candidates = {name for name, values in self._assigned_values.items()
                      if name not in params_bound and name not in out and values
                      and self._bindings.get(name) == len(values)
                      and any(v is not None and not self._by_tape(v, name) for v in values)
                      and all(v is not None for v in values)}
        while True:
            ints = out | candidates
            drop = {name for name in candidates
                    if not all(self._by_tape(v, name) or self._int_array_value(v, ints)
                               for v in self._assigned_values[name])}
            if not drop:
                return ints
            candidates -= drop

    _INT_DTYPES = (int, np.int64, np.int32, np.intp, np.int_)
    _INT_DTYPE_TEXTS = frozenset({"int", "int64", "int32", "intp", "i8", "i4", "l", "q"})
    _INT_RESULTS = (np.searchsorted, np.digitize, np.argmax, np.argmin, np.argsort, np.flatnonzero,
                    np.count_nonzero)  # (not np.bincount: with weights, a float array)
    _INT_RESULT_NAMES = frozenset(f.__name__ for f in _INT_RESULTS)

    def _int_array_value(self, value, ints) -> bool:
        """Whether `value` certainly makes an array of a signed integer dtype (or a NumPy int, which indexes as
        one of no axes) from the integer arrays `ints` and Python ints: `a.astype(int)` (np.int64, "i8", ...),
        np.searchsorted, np.digitize, np.argmax (argmin, argsort, flatnonzero), np.minimum / np.maximum /
        np.clip of such and ints, `+ - * // %` of one with ints, `-i`, one to an int's power, a name of `ints`."""
        if isinstance(value, ast.Name):
            return value.id in ints
        if isinstance(value, ast.UnaryOp):
            return isinstance(value.op, ast.USub) and self._int_array_value(value.operand, ints)
        if isinstance(value, ast.BinOp):
            sides = (value.left, value.right)
            if isinstance(value.op, ast.Pow):  # (`np.arange(n) ** 2`; a negative power of ints raises)
                return self._int_array_value(value.left, ints) and self._python_int(value.right)
            return isinstance(value.op, ast.Add | ast.Sub | ast.Mult | ast.FloorDiv | ast.Mod) \
                and all(self._int_array_value(e, ints) or self._python_int(e) for e in sides) \
                and any(self._int_array_value(e, ints) for e in sides)
        if not isinstance(value, ast.Call) or any(k.arg is None for k in value.keywords):
            return False
        if isinstance(value.func, ast.Attribute) and value.func.attr == "astype" and len(value.args) == 1 \
                and not value.keywords:
            return self._int_dtype(value.args[0])
        callee = self.callee(value)
        if callee is not None and callee is getattr(ctx().runtime, "astype", None) and len(value.args) == 2 \
                and not value.keywords:
            return self._int_dtype(value.args[1])  # (the lowered `a.astype(int)`: `s2s.astype(a, int)`)
        if value.keywords and not (callee in self._INT_RESULTS and all(k.arg in ("axis", "side", "right", "kind")
                                                                          for k in value.keywords)):
            return False
        if any(callee is f for f in self._INT_RESULTS):
            return True
        if callee is np.minimum or callee is np.maximum or callee is np.clip:
            return len(value.args) == (3 if callee is np.clip else 2) \
                and all(self._int_array_value(a, ints) or self._python_int(a) for a in value.args) \
                and any(self._int_array_value(a, ints) for a in value.args)
        return False

    def _python_int(self, node) -> bool:
        """An int (a literal, `len(...)`, a loop's counter, int arithmetic of them, an int of known value)."""
        return self._int_expr(node, self.ints)

    def _int_dtype(self, node) -> bool:
        if isinstance(node, ast.Constant):
            return node.value in self._INT_DTYPE_TEXTS
        obj = self.dotted(node) if isinstance(node, ast.Name | ast.Attribute) else None
        return obj is not None and hashable(obj) and any(obj is t for t in self._INT_DTYPES)

    def _triangle_item(self, value) -> bool:
        """Whether `value` is `t[0]` or `t[1]` of a local `t` bound once, to np.triu_indices(...) or
        np.tril_indices(...) (a tuple of two int arrays)."""
        if not (isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name)
                and isinstance(value.slice, ast.Constant) and value.slice.value in (0, 1)
                and type(value.slice.value) is int):
            return False
        bound = self._assigned_values.get(value.value.id, ())
        return len(bound) == 1 and self._bindings.get(value.value.id) == 1 and isinstance(bound[0], ast.Call) \
            and any(self.callee(bound[0]) is f for f in (np.triu_indices, np.tril_indices))

    def is_int_array(self, node) -> bool:
        """Whether `node` is a name that certainly holds an integer array (`_integer_arrays`)."""
        return isinstance(node, ast.Name) and node.id in self._int_arrays

    def sealed_items(self, node):
        """The item expressions of the list display a sealed name is bound to (`t = [a, b]`), else None."""
        if not (isinstance(node, ast.Name) and node.id in self.sealed):
            return None
        made = [v for v in self._assigned_values.get(node.id, ()) if isinstance(v, ast.List)]
        copied = [v for v in self._assigned_values.get(node.id, ()) if isinstance(v, ast.Name)]
        if not made and len(copied) == 1 and copied[0].id != node.id:
            return self.sealed_items(copied[0])  # a copy of a sealed name (`_sealed_lists`): that list's items
        if len(made) != 1 or any(isinstance(e, ast.Starred) for e in made[0].elts):
            return None
        return made[0].elts

    def _is_push(self, call) -> bool:
        """`tape.append(v)`: v saved for the backward sweep (which restores it to the same name)."""
        f = call.func
        return isinstance(f, ast.Attribute) and f.attr == "append" and isinstance(f.value, ast.Name) \
            and f.value.id in self.tapes and len(call.args) == 1 and not call.keywords

    def is_push_statement(self, stmt) -> bool:
        """`tape.append(v)` as a statement of its own (`_is_push`): it binds no name."""
        return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and self._is_push(stmt.value)

    def _pure_helper(self, call) -> bool:
        """A runtime helper that reads an argument only for its structure (s2s.array_grad(g, obj)) or its type
        (s2s.not_an_iterator(items, site))."""
        callee = self.callee(call)
        return callee is not None and any(callee is getattr(ctx().runtime, name, None)
                                          for name in ("array_grad", "not_an_iterator"))

    def _int_expr(self, node, ints):
        if isinstance(node, ast.Constant):
            return type(node.value) is int
        if isinstance(node, ast.Name):  # (or one known int however it is bound: `k = t[0]`, `t = w.shape`)
            return node.id in self.local and (node.id in ints or type(self.value_of(node)) is int)
        if isinstance(node, ast.BinOp):
            return isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.FloorDiv | ast.Mod) \
                and self._int_expr(node.left, ints) and self._int_expr(node.right, ints)
        if isinstance(node, ast.UnaryOp):
            return isinstance(node.op, ast.USub | ast.UAdd) and self._int_expr(node.operand, ints)
        if isinstance(node, ast.Call) and self.callee(node) is int and len(node.args) == 1 and not node.keywords:
            return True  # `i = int(x)`: the builtin returns an int (or raises)
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice) and self._is_range(node.value):
            return self._int_expr(node.slice, ints)  # `k = steps[step]` of a loop with a `break`, lowered
        if isinstance(node, ast.Subscript) and self.is_int_array(node.value):  # `actions[t]`: an item of ints
            base = self.aranges.get(node.value.id)
            ndim = 1 if base is not None else len(self.env.get(node.value.id) or ())
            return ndim == 1 and self._int_expr(node.slice, ints)
        return False

    def _infer(self, fdef):
        for _ in range(12):
            before = dict(self.env)
            self._block(fdef.body)
            if self.env == before:
                return
        for name in list(self.env):  # no fixed point in time: claim nothing beyond the parameters
            if name not in self._params:
                self.env[name] = None

    # ---- facts per program point ----------------------------------------------
    def _flow(self, fdef):
        """The facts per program point. A restore (`t = stack.pop()`) gives back one of the values assigned
        to its name: the first walk gives it the name's flow-insensitive shape and joins the facts at the
        name's assignments; where that join knows more, a second walk gives the restores that join."""
        state = {p: self._entry.get(p, shape) for p, shape in self.env.items() if p in self._params}
        self._bound = dict(state)  # name -> the join of its facts where it is bound (`_set`)
        self._reads = {}  # id(expression) -> (it, the Name nodes of local names it reads)
        # id(loop) -> (it, whether its body breaks or continues): a loop's body is flowed at every trip of the
        # fixed point of each loop around it, and the tree does not change while this runs
        self._early = {}
        self._trip_ends, self._trip_heads = {}, {}  # id(loop over a counter) -> its facts at a trip's end, its head
        self._pop_sources = {}  # id(a pop in a backward loop) -> the Name its forward loop's push read
        self._undoes = self._undone_trips(fdef)
        self._flow_block(fdef.body, dict(state))
        better = {name: _plain(self._bound[name]) for name in self.restored
                  if self.env.get(name) is None and self._bound.get(name) not in (None, _UNBOUND)
                  and type(self._bound[name]) is not ZeroOr}
        if better:
            self._restores = better
            self.at, self.blame, self.lost = {}, {}, {}
            self._flow_block(fdef.body, dict(state))
        del self._reads, self._early

    def _leaves_early(self, loop) -> bool:
        """`leaves_early(loop.body)`, found once per loop while the facts are flowed (and without a walk where
        the function holds no `break` or `continue` at all, as generated code seldom does)."""
        if not self._exits:
            return False
        known = self._early.get(id(loop))
        if known is None or known[0] is not loop:
            known = self._early[id(loop)] = (loop, leaves_early(loop.body))
        return known[1]

    def _set(self, state, name, fact, restore=False):
        """Bind `name` to `fact` in `state`: facts counted on `name` are forgotten; unless the value is a
        restore, `fact` joins the facts at the name's bindings."""
        if name in self._counters:  # (only a counter's facts are counted on)
            for other, held in state.items():
                state[other] = _plain(held, name)
        state[name] = fact
        if not restore:
            seen = self._bound.get(name, _UNBOUND)
            if seen is _UNBOUND:
                self._bound[name] = fact
            elif seen is not fact and (seen != fact or type(seen) is not type(fact)):
                self._bound[name] = _join_states({name: seen}, {name: fact})[name]

    def _record(self, node, state):
        """The facts at the reads of `node` (an expression, or a statement's own expressions)."""
        reads = self._reads.get(id(node))
        if reads is None or reads[0] is not node:  # (a loop's body is flowed several times: its reads found once)
            reads = self._reads[id(node)] = self._local_reads(node)
        env, at = self.env, self.at
        for n in reads[1]:
            shape = state.get(n.id, _UNBOUND)
            if type(shape) is ZeroOr and id(n) in reads[2]:
                shape = shape.shape  # (`E` of `0.0 if s2s.is_zero(g) else E`: g is no zero adjoint there)
            at[id(n)] = (n, env.get(n.id) if shape is _UNBOUND else shape)

    def _local_reads(self, node) -> tuple:
        """(node, the reads of local names in it, the ids of those of `g` in `E` of a guard `0.0 if s2s.is_zero(g)
        else E` in it): one walk."""
        reads, guards, local = [], [], self.local
        for n in walk_nodes(node):
            if n.__class__ is ast.Name:
                if n.ctx.__class__ is ast.Load and n.id in local:
                    reads.append(n)
            elif n.__class__ is ast.IfExp:
                guards.append(n)
        past = set()
        for guard in guards:
            g = self.zero_tested(guard)
            if isinstance(g, ast.Name):
                past.update(id(n) for n in walk_nodes(guard.orelse) if isinstance(n, ast.Name) and n.id == g.id
                            and isinstance(n.ctx, ast.Load))
        return node, reads, frozenset(past)

    def _flow_block(self, stmts, state):
        before = None
        for s in stmts:
            state = self._flow_if(s, state, before) if isinstance(s, ast.If) else self._flow_stmt(s, state)
            if not self.is_push_statement(s):
                before = s  # (a push binds nothing: `c = x is not None`, a push, `if c:`)
        return state

    def _flow_if(self, s, state, before):
        """Both branches, joined; a test for None (`_none_test`) of a name that holds None or an array gives each
        branch the one it holds there."""
        self._record(s.test, state)
        body, orelse = dict(state), dict(state)
        tested = self._none_test(s.test, before)
        if tested is not None:
            name, present = tested
            fact = state.get(name)
            if fact == NONE_VALUE or type(fact) is tuple:  # certainly None, or certainly an array or number
                return self._flow_block(s.body if (type(fact) is tuple) == present else s.orelse, state)
            if type(fact) is NoneOr:
                (body if present else orelse)[name] = fact.shape
                (orelse if present else body)[name] = NONE_VALUE
        return _join_states(self._flow_block(s.body, body), self._flow_block(s.orelse, orelse), self.lost, s)

    @staticmethod
    def _none_test(test, before):
        """(x, whether the test is true where x is not None) for `x is not None` / `x is None`, or for a name c
        bound to one of those by `before`, the statement just before the `if` (lowering writes
        `c = x is not None` there); else None."""
        if isinstance(test, ast.Name) and isinstance(before, ast.Assign) and len(before.targets) == 1 \
                and isinstance(before.targets[0], ast.Name) and before.targets[0].id == test.id:
            test = before.value
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Is | ast.IsNot) \
                and isinstance(test.left, ast.Name) and isinstance(test.comparators[0], ast.Constant) \
                and test.comparators[0].value is None:
            return test.left.id, isinstance(test.ops[0], ast.IsNot)
        return None

    def _flow_loop(self, s, state, head):
        """A loop: iterate the body from the join of the entry and the end of the body. A `for` loop over a
        counter's known range that is not empty is left with the facts at its body's end (`v = 0.0` before
        it and an array after its first trip is an array after it)."""
        entry = state
        counter = head[1] if head is not None and type(head[1]) is Counted else None
        if counter is not None and isinstance(counter.span, range) and not counter.span:
            # (a range known empty here, `range(len(seq))` of the empty list a loop starts from: no trip runs, and
            # an item of the empty list read in it would stand for every shape; its reads keep other visits' facts)
            return self._flow_block(s.orelse, state)
        for _ in range(12):
            end = self._flow_block(s.body, self._record_head(s, head, state))
            joined = _join_states(entry, end, self.lost, s)
            if _same_states(joined, state):  # (not `==`: a Counted equals `()`, and the loop moved its counter)
                counter = head[1] if head is not None and type(head[1]) is Counted else None
                if counter is not None:
                    self._trip_ends[id(s)] = end  # (the facts at every trip's end: a backward loop's restores)
                    self._trip_heads[id(s)] = counter
                if counter is not None and counter.span:
                    state = end  # (a trip at least, and no early exit: the loop is left from its body's end)
                if counter is not None and self.appended:
                    state = self._counted_appends(s, entry, state, len(counter.span))
                break
            state = joined
        else:  # no fixed point in time: what the loop assigns is unknown from here on
            state = dict(state)
            for name in assigned_names(ast.Module(body=s.body, type_ignores=[])):
                self._set(state, name, None)
            self._flow_block(s.body, self._record_head(s, head, state))
        return self._flow_block(s.orelse, state)

    def _record_head(self, s, head, state):
        """The facts at the start of the loop's body (its counter bound to its next item); in a backward loop, the
        names it restores hold what they held at the end of the forward trip it undoes (`_undone_trips`)."""
        if isinstance(s, ast.While):
            self._record(s.test, state)
        state = dict(state)
        if head is not None:
            self._set(state, head[0], head[1])
        undone = self._undoes.get(id(s)) if head is not None and type(head[1]) is Counted else None
        ends = None if undone is None else self._trip_ends.get(id(undone[0]))
        if ends is not None and self._trip_heads.get(id(undone[0])) == head[1]:
            for name in undone[1]:
                fact = ends.get(name)
                if fact is not None:
                    state[name] = _kept_counter(fact, head[0])
        return state

    def _undone_trips(self, fdef) -> dict:
        """id(backward loop) -> (the forward loop whose trips it undoes, the names it restores that hold, at the
        start of each of its trips, what they held at the end of that forward trip).

        A backward loop `for i in reversed(range(a, b))` undoes `for i in range(a, b)` earlier in the same block
        where every trip of the forward loop pushes its values at the top level of its body and the backward
        loop's trip pops as many at the top level of its own, the names in the reverse order, and the tape's
        pushes and pops between the two loops, all at the top level, pair off: the backward trip for `i` pops
        what the forward trip for `i` pushed. A name `t` pushed there before its one assignment in the forward
        body, popped in the backward body, and bound nowhere else but by the tape's placeholder, holds at the start
        of the backward trip for `i` the value it had at the end of the forward trip for `i` (for the last, no
        statement between the loops binds it; for the others, the pop at the end of the trip after gave it back).
        Its facts there are those at the forward body's end, with the counter holding the same value (the loops'
        heads: the same range, and neither leaves a trip early)."""
        undoes = {}
        heads = [n.target.id for n in self._for_loops if isinstance(n.target, ast.Name) and n.target.id in self._counters]
        if not self.tapes or len(set(heads)) == len(heads):  # (no counter heads two loops: no pair to find)
            return undoes
        _, stores = name_counts(fdef)  # (bound or deleted)
        placeholders = {t.id for st in walk_nodes(fdef) if isinstance(st, ast.Assign) and self._placeholder_statement(st)
                        for t in st.targets if isinstance(t, ast.Name)}
        for block in statement_lists(fdef):
            loops = [(k, st) for k, st in enumerate(block) if isinstance(st, ast.For)
                     and isinstance(st.target, ast.Name) and st.target.id in self._counters]
            for b, back in loops:
                for f, forward in loops:
                    if f >= b or forward.target.id != back.target.id:
                        continue
                    names = self._restored_from(forward, back, block[f + 1:b], stores, placeholders)
                    if names:
                        undoes[id(back)] = (forward, names)
        return undoes

    def _restored_from(self, forward, back, between, stores, placeholders) -> set:
        """The names `_undone_trips` finds for the pair of loops, or an empty set."""
        pushes = [st for st in forward.body if self.is_push_statement(st)]
        pops = [st for st in back.body if isinstance(st, ast.Assign) and self._is_pop(st.value)]
        nested = [n for loop in (forward, back) for st in loop.body if st not in pushes and st not in pops
                  for n in walk_nodes(st) if isinstance(n, ast.Call) and (self._is_push(n) or self._is_pop(n))]
        if nested or not pushes or len(pushes) != len(pops):
            return set()
        pushed = [(st.value.func.value.id, _pushed_name(st.value)) for st in pushes]
        popped = [(st.value.func.value.id, st.targets[0].id if len(st.targets) == 1
                   and isinstance(st.targets[0], ast.Name) else None) for st in pops]
        if pushed[::-1] != popped or not self._pairs_off(between):
            return set()
        for pop, push in zip(pops, pushes[::-1]):  # the backward trip for i pops what the forward trip for i pushed
            if isinstance(push.value.args[0], ast.Name):
                self._pop_sources[id(pop)] = push.value.args[0]
        names = set()
        for at, st in enumerate(forward.body):
            if not (isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name)):
                continue
            name = st.targets[0].id
            before = [k for k, p in enumerate(forward.body[:at]) if p in pushes and _pushed_name(p.value) == name]
            if before and stores.get(name, 0) == 2 + (name in placeholders) \
                    and sum(1 for _, n in pushed if n == name) == 1:
                names.add(name)
        return names

    def _pairs_off(self, statements) -> bool:
        """Whether the tape's pushes and pops in `statements` are all at their top level and pair off, each pop
        restoring the name the latest push not yet popped saved."""
        open_pushes = []
        for st in statements:
            if self.is_push_statement(st):
                open_pushes.append((st.value.func.value.id, _pushed_name(st.value)))
            elif isinstance(st, ast.Assign) and self._is_pop(st.value):
                target = st.targets[0].id if len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) else None
                if not open_pushes or open_pushes.pop() != (st.value.func.value.id, target):
                    return False
            elif any(isinstance(n, ast.Call) and (self._is_push(n) or self._is_pop(n)) for n in walk_nodes(st)):
                return False
        return not open_pushes

    def _list_after(self, fact, kind, stmt, state):
        """An appended list's fact after `L.append(v)` or `L.pop()` (`_appended_lists`)."""
        if kind == "append":
            item = _plain(_array(self.of(stmt.value.args[0], state)))  # (a list keeps no counter's offset)
            if isinstance(fact, Seq) and item is not None:
                return Seq(fact.items + (item,))
            return ListOf(item) if type(fact) is ListOf and fact.item == item else None
        if isinstance(fact, Seq) and fact.items:
            return Seq(fact.items[:-1])
        return fact if type(fact) is ListOf else None

    def _counted_appends(self, s, entry, state, trips):
        """After a loop of `trips` trips over a counter's known range whose body appends to a list a known number
        of times per trip (`_appends_per_trip`: at its top level, or in loops of known trips in it) and pops it
        nowhere: the list's entry items and that many items per trip (`Seq`)."""
        mentioned = {n.id for t in s.body for n in walk_nodes(t) if isinstance(n, ast.Name) and n.id in self.appended}
        for name in mentioned:
            per = self._appends_per_trip(s.body, name)
            before, item = entry.get(name), one_item(state.get(name))
            if per and isinstance(before, Seq) and item is not None and all(i == item for i in before.items):
                state = dict(state)
                state[name] = Seq(before.items + (item,) * (trips * per))
        return state

    def _appends_per_trip(self, body, name):
        """How many items `body` appends to the list `name` each time it runs: one per `name.append(v)` at its
        top level, and the trips times the count of a `for` loop's body over a known range it cannot leave early;
        none for a statement that only reads it; None where anything else mentions `name` (a pop, a branch, a loop
        of unknown trips)."""
        count = 0
        for t in body:
            step = _list_step(t, {name})
            if step is not None:
                if step[1] != "append":
                    return None
                count += 1
            elif any(isinstance(n, ast.Name) and n.id == name for n in walk_nodes(t)):
                if not any(isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == name
                           for n in walk_nodes(t)):
                    continue  # (read alone, `seq = s2s.as_sequence(L)`: an appended list's reads cannot change it)
                bounds = self._range_bounds(t.iter) if isinstance(t, ast.For) and not t.orelse \
                    and not self._leaves_early(t) else None
                inner = self._appends_per_trip(t.body, name) if bounds is not None else None
                if inner is None:
                    return None
                count += len(range(*bounds)) * inner
        return count

    def _counter(self, s, state):
        """The fact of a `for` loop's counter: `Counted` where it is only ever bound by loops over ranges, this
        one's bounds are known and the body cannot leave an iteration early, else `()`."""
        name = s.target.id
        bounds = self._range_bounds(s.iter, state) if name in self._counters and not self._leaves_early(s) else None
        return () if bounds is None else Counted(name, 0, range(*bounds))

    def _range_bounds(self, it, env=None):
        """The arguments of `range(...)` (Python's, or its `reversed`: the same items in the other order), each one
        int here (`value_of`), with a step that is not 0; else None."""
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id not in self.local \
                and self.resolve(it.func.id) is reversed and len(it.args) == 1:
            it = it.args[0]
        if not isinstance(it, ast.Call) or not isinstance(it.func, ast.Name) or it.func.id in self.local \
                or self.resolve(it.func.id) is not range or it.keywords or not 1 <= len(it.args) <= 3:
            return None
        bounds = [self.value_of(a, env) for a in it.args]
        if any(type(b) is not int for b in bounds) or (len(bounds) == 3 and bounds[2] == 0):
            return None
        return bounds

    def _flow_stmt(self, s, state):
        if isinstance(s, ast.Assign):
            self._record(s.value, state)
            for t in s.targets:
                if not isinstance(t, ast.Name):
                    self._record(t, state)
            return self._flow_assign(s, state)
        if isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name):
            self._record(s.value, state)
            self._record(ast.Name(id=s.target.id, ctx=ast.Load()), state)
            state = dict(state)
            self._set(state, s.target.id, broadcast(_array(state.get(s.target.id, self.env.get(s.target.id))),
                                                    _array(self.of(s.value, state))))
            return state
        if isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Subscript) and isinstance(s.target.value, ast.Name):
            self._record(s.value, state)
            self._record(s.target, state)  # (`x_bar[:i] += v`: the slice's length where the counter is known)
            name = s.target.value.id
            fact = state.get(name, self.env.get(name))
            if type(fact) is tuple and fact != ():  # an array's items updated in place: its shape stays
                return state
            state = dict(state)
            self._set(state, name, None)  # (a list's or a dict's item may take another shape)
            return state
        if isinstance(s, ast.For):
            self._record(s.iter, state)
            if isinstance(s.target, ast.Name) and s.target.id in self.ints:
                head = (s.target.id, self._counter(s, state))
            else:
                head = None
                state = dict(state)
                for name in assigned_names(s.target):
                    self._set(state, name, None)
            return self._flow_loop(s, state, head)
        if isinstance(s, ast.While):
            self._record(s.test, state)
            return self._flow_loop(s, state, None)
        if isinstance(s, ast.If):
            return self._flow_if(s, state, None)
        if isinstance(s, ast.Expr | ast.Return | ast.Assert):
            self._record(s, state)
            step = _list_step(s, self.appended) if self.appended else None
            if step is not None:
                state = dict(state)
                state[step[0]] = self._list_after(state.get(step[0]), step[1], s, state)
            return state
        if isinstance(s, ast.Pass) or type(s).__name__ == "Comment":
            return state
        state = dict(state)  # nested functions, with, try, ...: their reads get the flow-insensitive shapes
        for name in assigned_names(s):
            self._set(state, name, None)
        return state

    def _flow_assign(self, s, state):
        state = dict(state)
        if self._is_pop(s.value):  # a restore: a value saved from an earlier assignment of the same names
            pushed = self._pop_sources.get(id(s))
            saved = self.at.get(id(pushed)) if pushed is not None else None
            if saved is not None and saved[1] is not None and len(s.targets) == 1 \
                    and isinstance(s.targets[0], ast.Name) and s.targets[0].id == pushed.id:
                self._set(state, pushed.id, saved[1], restore=True)  # (what that push read, in every trip)
                return state
            for t in s.targets:
                for name in assigned_names(t):
                    self._set(state, name, self._restores.get(name, self.env.get(name)), restore=True)
            return state
        if self._placeholder_statement(s):
            return state
        value = self._list_items(s, state) if isinstance(s.value, ast.List) else self._fact(s.value, state)
        if isinstance(s.value, ast.Constant) and type(s.value.value) is float and s.value.value == 0.0:
            value = ZERO_SCALAR
        if isinstance(s.value, ast.Constant) and s.value.value is None:
            value = NONE_VALUE
        for t in s.targets:
            self._bind(t, value, state, s)
        return state

    def zero_guarded(self, node, env=None):
        """For reverse mode's guard `0.0 if s2s.is_zero(g) else E` (transforms/reverse.py): the branch
        that runs where `g`'s kind is known (E where `g` is certainly an array, the 0.0 where it is
        certainly the zero adjoint), else None."""
        zero = node.body.elts if isinstance(node.body, ast.List) else [node.body]  # (`[0.0, 0.0]`: zero parts)
        g = self.zero_tested(node)
        if g is None or not all(isinstance(z, ast.Constant) and z.value == 0.0 for z in zero):
            return None
        if isinstance(g, ast.Constant) and type(g.value) in (int, float) and g.value != 0:
            return node.orelse  # a number that is not 0 (the seed 1.0) is not the zero adjoint
        shape = self.of(g, env)
        if type(shape) is ZeroScalar or (env is None and self.is_zero(g)):
            return node.body
        return node.orelse if shape not in (None, ()) else None

    def zero_tested(self, node):
        """g, where the `IfExp` `node` is tested by `s2s.is_zero(g)` (the guard of transforms/reverse.py), else None."""
        test = node.test
        if not (isinstance(test, ast.Call) and len(test.args) == 1 and not test.keywords):
            return None
        callee = self.callee(test)
        return test.args[0] if callee is not None and hashable(callee) and self.helpers.get(callee) == "is_zero" \
            else None

    @contextlib.contextmanager
    def facts_at(self, reads, fact):
        """While the block runs, the Name nodes `reads` have the fact `fact` (a question asked as if they held it,
        `0.0 if s2s.is_zero(g) else E` of E where g is an array); their own facts come back after it."""
        saved = [(n, self.at.get(id(n))) for n in reads]
        for n in reads:
            self.at[id(n)] = (n, fact)
        try:
            yield
        finally:
            for n, held in saved:
                if held is None:
                    self.at.pop(id(n), None)
                else:
                    self.at[id(n)] = held

    def is_zero(self, node) -> bool:
        """Whether `node` certainly evaluates to the float 0.0 (the zero adjoint) where it is read."""
        if isinstance(node, ast.Constant):
            return type(node.value) is float and node.value == 0.0
        if isinstance(node, ast.Name):
            fact = self.at.get(id(node))
            return fact is not None and fact[0] is node and type(fact[1]) is ZeroScalar
        return False

    def _bind(self, target, value, state, stmt):
        if isinstance(target, ast.Name):
            self._set(state, target.id, value)
            if value is None and target.id not in self.blame:
                self.blame[target.id] = stmt
        elif isinstance(target, ast.Tuple | ast.List):
            items = value.items if isinstance(value, Seq) and len(value.items) == len(target.elts) \
                and not any(isinstance(e, ast.Starred) for e in target.elts) else None
            for k, e in enumerate(target.elts):
                self._bind(e, None if items is None else items[k], state, stmt)
        elif isinstance(target, ast.Starred):
            for name in assigned_names(target):
                self._set(state, name, None)

    # ---- real floating-point values -----------------------------------------
    def _never_read_as_none(self) -> set:
        """The local names bound to None somewhere (`m = None` before a loop that binds `m` on its first trip) whose
        every read the flow has facts for holds an array or a number there (a tape's push of it aside: the
        restore gives the value back, and its later reads are reads too): its None is no value realness asks
        about. Names read where the flow recorded nothing (a nested function) are left out."""
        nones = {n for n, values in self._assigned_values.items()
                 if any(isinstance(v, ast.Constant) and v.value is None for v in values if v is not None)
                 or self._entry.get(n) == NONE_VALUE}  # (a parameter given None, bound again: `beta = 1.0 - a`)
        if not nones:
            return set()
        pushed = {id(c.args[0]) for c in self._calls if self._is_push(c)}
        out = set(nones)
        for node in self._name_reads:
            if node.id in out and id(node) not in pushed:
                fact = self.at.get(id(node))
                if fact is None or fact[0] is not node or not isinstance(fact[1], tuple):
                    out.discard(node.id)
        return out

    def _values_read(self) -> dict:
        """name -> the values its plain bindings and `x op= v` updates give it that a read may find: a None no
        read finds (`_never_read_as_none`) left out."""
        return {n: [v for v in values if v is not None and not (
                    n in self._none_unread and isinstance(v, ast.Constant) and v.value is None)]
                + self._updated_values.get(n, []) for n, values in self._assigned_values.items()}

    def _real_names(self, kinds):
        """Names that certainly hold real floating-point numbers or arrays (greatest fixed point)."""
        reals = {p for p, k in kinds.items() if k in "efdg"}  # dtype characters of real floating types
        # `x op= v` is real where `x op v` is: an array's update keeps its dtype, a number's is `x op v`
        values_of = self._values_read()
        unpacked = self._unpacked
        candidates = {n for n, values in self._assigned_values.items()
                      if (n not in self._params or n in self._none_unread and self._entry.get(n) == NONE_VALUE)
                      and sum(v is None for v in values) == len(self._updated_values.get(n, ()))
                      + len(unpacked.get(n, ()))}
        # a list adjoint of real items stands in the sets as ("list", its name): no name of a value is that
        lists = self._list_adjoints()
        candidates |= {("list", name) for name in lists}
        item_adjoints = self._item_adjoints()  # (and one of item adjoints as ("items", its name))
        candidates |= {("items", name) for name in item_adjoints}
        # Each round checks, against the names still standing, only the candidates whose last check asked
        # about a name the round before dropped: any other's check would ask the same and answer the same.
        asked = {}  # candidate -> the names whose membership its last check read
        todo = candidates
        while True:
            env = reals | candidates
            drop = set()
            for n in todo:
                seen = _Asked(env)
                if type(n) is tuple and n[0] == "items":
                    real = all(self.real(call.args[1], seen) for call in item_adjoints[n[1]])
                elif type(n) is tuple:
                    real = all(self._real_list_adjoint(v, seen) for v in lists[n[1]])
                else:
                    real = all(self._by_tape(v, n) or self.real(v, seen) for v in values_of[n]) \
                        and all(self._real_unpacked(call, k, seen) for call, k in unpacked.get(n, ()))
                if real:
                    asked[n] = seen.names
                else:
                    drop.add(n)
            if not drop:
                return {n for n in env if type(n) is str}
            candidates = candidates - drop
            todo = {n for n in candidates if not asked[n].isdisjoint(drop)}

    def _list_adjoints(self) -> dict:
        """The local names bound only to a list of adjoints, `s2s.grad_stack(g, L, axis)`, `s2s.grad_concatenate(g, L,
        axis)` or `s2s.array_grad(g, L)` (the pieces of `g`), `L_bar, v_bar = s2s.append_grads(L_bar)` (the list less its last
        item) or `L_bar = s2s.add(L_bar, s2s.grad_iterated(N, L))` of item adjoints N (`_item_adjoints`), and read nowhere
        but as `append_grads`'s argument or that `add`'s first (no other name holds the list, so nothing
        else puts an item in it): name -> those values (`(call, 0)` for an `append_grads`).

            >>> # hs_bar = s2s.grad_stack(H_bar, hs, 0); ...; hs_bar, g = s2s.append_grads_owned(hs_bar)
        """
        runtime = ctx().runtime
        pops = _list_pops()
        stacks = {getattr(runtime, "grad_stack", None), getattr(runtime, "grad_concatenate", None),
                  getattr(runtime, "array_grad", None)} - {None}
        if not pops or not stacks:
            return {}
        out = {}
        for name, unpacked in self._unpacked.items():
            values = self._assigned_values.get(name, [])
            made = [v for v in values if v is not None]
            if name in self._params or name in self.tapes or len(values) - len(made) != len(unpacked) \
                    or not all(k == 0 and self._one_name_argument(call) and self.callee(call) in pops
                               for call, k in unpacked) \
                    or not all(isinstance(v, ast.Call) and self.callee(v) in stacks and not v.keywords
                               and len(v.args) == (2 if self.callee(v) is getattr(runtime, "array_grad", None) else 3)
                               or self._items_added(v, name) or self._item_put(v, name) for v in made):
                continue
            out[name] = made + [call for call, _ in unpacked]
        if out:
            as_argument = {id(call.args[0]) for values in out.values() for call in values
                           if self.callee(call) in pops or isinstance(call.args[0], ast.Name)
                           and (self._items_added(call, call.args[0].id) or self._item_put(call, call.args[0].id))}
            for n in self._name_reads:
                if n.id in out and id(n) not in as_argument:
                    out.pop(n.id, None)
        return out

    def _items_added(self, value, name) -> bool:
        """`s2s.add(name, s2s.grad_iterated(N, L))` of a name N of item adjoints (`_item_adjoints`)."""
        runtime = ctx().runtime
        if not (isinstance(value, ast.Call) and self.callee(value) is getattr(runtime, "add", None) and len(value.args) == 2
                and not value.keywords and isinstance(value.args[0], ast.Name) and value.args[0].id == name):
            return False
        inner = value.args[1]
        return isinstance(inner, ast.Call) and self.callee(inner) is getattr(runtime, "grad_iterated", None) \
            and len(inner.args) == 2 and isinstance(inner.args[0], ast.Name) and inner.args[0].id in self._item_adjoints()

    def _item_put(self, value, name) -> bool:
        """`s2s.add_item_grad(name, g, L, k)`: a read's adjoint put into the list adjoint `name` holds."""
        return isinstance(value, ast.Call) and self.callee(value) is getattr(ctx().runtime, "add_item_grad", None) \
            and len(value.args) == 4 and not value.keywords and isinstance(value.args[0], ast.Name) \
            and value.args[0].id == name

    def _item_adjoints(self) -> dict:
        """The local names bound only to 0.0 and to `N = s2s.add_item_grad(N, g, L, k)` (transforms/list_adjoints.py:
        0.0 or a list of the adjoints of L's items, each 0.0 or a sum of the g's): name -> those calls."""
        helper = getattr(ctx().runtime, "add_item_grad", None)
        if helper is None:
            return {}
        out = {}
        for name, values in self._assigned_values.items():
            calls = [v for v in values if isinstance(v, ast.Call) and self.callee(v) is helper and len(v.args) == 4
                     and isinstance(v.args[0], ast.Name) and v.args[0].id == name]
            if calls and name not in self._params and name not in self.tapes and all(
                    v in calls or isinstance(v, ast.Constant) and type(v.value) is float and v.value == 0.0
                    for v in values):
                out[name] = calls
        return out

    @staticmethod
    def _one_name_argument(call) -> bool:
        return len(call.args) == 1 and not call.keywords and isinstance(call.args[0], ast.Name)

    def _real_list_adjoint(self, value, reals) -> bool:
        """Whether a value `_list_adjoints` found bound to a list adjoint holds real items where `reals` are:
        the pieces of a real `g` (`s2s.grad_stack`'s and `s2s.grad_concatenate`'s; `s2s.array_grad`'s where the list's items are real
        floats, not lists, which would get lists of pieces), or an `append_grads` of a list adjoint of real items."""
        callee = self.callee(value)
        if callee is getattr(ctx().runtime, "grad_stack", None) or callee is getattr(ctx().runtime, "grad_concatenate", None):
            return self.real(value.args[0], reals)  # (slices of g, or of g raveled for axis=None: real where g is)
        if callee is getattr(ctx().runtime, "add", None):  # (`_items_added`: the list's own items and N's added)
            return ("items", value.args[1].args[0].id) in reals
        if callee is getattr(ctx().runtime, "add_item_grad", None):  # (`_item_put`: its items, one with g added)
            return ("list", value.args[0].id) in reals and self.real(value.args[1], reals)
        if callee is getattr(ctx().runtime, "array_grad", None):
            return self.real(value.args[0], reals) and self.items_real(value.args[1], reals)
        return ("list", value.args[0].id) in reals

    def _real_unpacked(self, call, k, reals) -> bool:
        """Whether item `k` of the tuple `call` gives is a real float where `reals` are: the last item of a list
        adjoint of real items that `s2s.append_grads(L_bar)` takes off (`_list_adjoints`)."""
        return k == 1 and self._one_name_argument(call) and self.callee(call) in _list_pops() \
            and ("list", call.args[0].id) in reals

    def number_names(self, numbers) -> set:
        """Names that certainly hold numbers (never an array, a list or another object that changes in place),
        given `numbers`, the parameters that receive Python numbers in this call (greatest fixed point): bound
        only to number literals, such parameters, ints, arithmetic, math functions and NumPy ufuncs of numbers.

            >>> # x a float: `xk = x; xk = xk * x` -- xk is a number, so `xk *= x` rebinds it
        """
        numbers = {p for p in numbers if p in self._param_names}
        values_of = self._values_read()
        candidates = {n for n, values in self._assigned_values.items() if (n not in self._param_names or n in numbers)
                      and sum(v is None for v in values) == len(self._updated_values.get(n, ()))}
        candidates |= numbers
        while True:
            drop = {n for n in candidates if not all(self._by_tape(v, n)
                                                     or self._certain_number(v, candidates)
                                                     for v in values_of.get(n, ()))}
            if not drop:
                return candidates
            candidates -= drop

    def python_float_names(self, floats) -> set:
        """Names that certainly hold Python floats (`type(v) is float`), given `floats`, the parameters that
        certainly receive them (greatest fixed point): bound only to float literals, such parameters and
        `Shapes.python_number_kind`'s float expressions of them, restored from the tape, never the tape's
        placeholder `None` where a read may find it, never updated in place.

            >>> # a a float: `x = a; dx = (x * x - a) / (2.0 * x); x = x - dx` -- x and dx are floats
        """
        ints = self._fixed_point(set(), lambda n, names: self.python_number_kind(n, set(), names) == "int",
                                 self._counters)
        return self._fixed_point(floats, lambda n, names: self.python_number_kind(n, names, ints) == "float")

    def numpy_number(self, node, names=None) -> bool:
        """Whether `node` certainly computes a NumPy scalar (never a Python number): an item of a real array at an
        int per axis, or `+ - * / **` and negation of one with any number, where `names` (default: the names bound
        only to such) hold them. A NumPy scalar's division by zero or overflowing power gives inf or NaN with a
        warning, where a Python float's raises.

            >>> # y of float64 (5,): y[i] - 1.0 is an np.float64, (y[i] - 1.0) ** 2 too
        """
        if names is None:
            if self._numpy_names is None:
                self._numpy_names = frozenset()  # (a question asked while they are found claims no name)
                self._numpy_names = frozenset(self._fixed_point(set(), lambda v, held: self.numpy_number(v, held)))
            names = self._numpy_names
        if isinstance(node, ast.Name):
            return node.id in names and node.id in self.local
        if isinstance(node, ast.Subscript):
            base = self.of(node.value) if isinstance(node.value, ast.Name) and node.value.id in self.local else None
            index = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return type(base) is tuple and len(base) == len(index) and not self._float_list_item(node) \
                and all(self._int_expr(i, self.ints) for i in index) and self.real(node.value)
        if isinstance(node, ast.UnaryOp):
            return isinstance(node.op, ast.USub | ast.UAdd) and self.numpy_number(node.operand, names)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow):
            sides = (node.left, node.right)
            return any(self.numpy_number(x, names) for x in sides) and all(self.of(x) == () for x in sides)
        return False

    def _fixed_point(self, given, holds, loop_bound=frozenset()) -> set:
        """The greatest set of names, parameters of `given` and locals (and names bound only by loops over
        ranges, `loop_bound`), every other binding of which `holds(value, names)` or is a restore."""
        candidates = {n for n in self.local if (n in given if n in self._param_names else n in self._assigned_values)}
        assigned = {n: self._assigned_values.get(n, []) for n in candidates}
        counted = {n: len(self._updated_values.get(n, ())) + (n in loop_bound) * len(self._ranges.get(n, ()))
                   for n in candidates}
        # (the tape's placeholder None only where no read of the name finds it: `_never_read_as_none`)
        candidates = {n for n in candidates if self._bindings.get(n, 0) == len(assigned[n])
                      and sum(v is None for v in assigned[n]) == counted[n]
                      and (n in self._none_unread or not any(self._placeholder(v, n) for v in assigned[n]))}
        values_of = {n: [v for v in assigned[n] if v is not None and not self._placeholder(v, n)]
                     + self._updated_values.get(n, []) for n in candidates}
        while True:
            drop = {n for n in candidates if not all(self._is_pop(v) or holds(v, candidates) for v in values_of[n])}
            if not drop:
                return candidates
            candidates -= drop

    def python_number_kind(self, node, floats, ints=frozenset()) -> str | None:
        """"float" where `node` certainly computes a Python float, "int" a Python int, where the names of
        `floats` hold Python floats and those of `ints` Python ints (not `Shapes.ints`: an item of an int array
        is an np.int64, and `x * k` of it an np.float64); None where it may be anything else (a NumPy scalar,
        an array, a complex: `x ** y` of floats is complex for x < 0, so only an int literal's power is known)."""
        if isinstance(node, ast.Constant):
            return {float: "float", int: "int"}.get(type(node.value))
        if isinstance(node, ast.Name):
            if node.id not in self.local:
                return None
            return "float" if node.id in floats else "int" if node.id in ints else None
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                return None
            return self.python_number_kind(node.operand, floats, ints)
        if isinstance(node, ast.IfExp):
            body = self.python_number_kind(node.body, floats, ints)
            return body if body == self.python_number_kind(node.orelse, floats, ints) else None
        if isinstance(node, ast.BinOp):
            left = self.python_number_kind(node.left, floats, ints)
            if isinstance(node.op, ast.Pow):
                right = node.right.value if isinstance(node.right, ast.Constant) else None
                if type(right) is not int or left is None:
                    return None
                return "float" if left == "float" or right < 0 else "int"
            right = self.python_number_kind(node.right, floats, ints)
            if left is None or right is None or not isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div
                                                                   | ast.FloorDiv | ast.Mod):
                return None
            return "float" if isinstance(node.op, ast.Div) or "float" in (left, right) else "int"
        if isinstance(node, ast.Call) and not node.keywords and len(node.args) == 1:
            callee = self.callee(node)
            if callee is float:
                return "float" if self.python_number_kind(node.args[0], floats, ints) else None
            if callee is abs:
                return self.python_number_kind(node.args[0], floats, ints)
            if callee is len:
                return "int"
        if isinstance(node, ast.Subscript) and self._float_list_item(node):
            return "float"
        if isinstance(node, ast.Attribute) and type(self._constant_attribute(node)) is float:
            return "float"  # (`math.pi`)
        return None

    def _one_item(self, node) -> bool:
        """Whether `node` is `x[i]` / `x[i, j]` of an array `x` of known shape, an integer index per axis: a NumPy
        scalar (not `x[..., 0]`, `x[0, None]` or a slice, which are arrays, views of x)."""
        base = self.of(node.value)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return isinstance(base, tuple) and len(base) == len(items) and all(self._int_expr(i, self.ints) for i in items)

    def _constant_attribute(self, node):
        """The number a module's attribute holds (`math.pi`, `np.e`), else None."""
        if not isinstance(node.value, ast.Name) or node.value.id in self.local:
            return None
        module = self.resolve(node.value.id)
        if getattr(module, "__name__", None) not in ("math", "numpy"):
            return None
        value = getattr(module, node.attr, None)
        return value if type(value) in (int, float) else None

    def _float_list_item(self, node) -> bool:
        """Whether `node` reads an item of a float64 array argument's `.tolist()` (`zs_items[t]`, `X_items[i][j]`,
        at integer indices): a Python float."""
        depth = 0
        while isinstance(node, ast.Subscript) and self._int_expr(node.slice, self.ints):
            node, depth = node.value, depth + 1
        if not (isinstance(node, ast.Name) and depth > 0 and node.id in self._assigned_values):
            return False
        axes = self._float_lists().get(node.id)
        if type(axes) is tuple:  # (a local array's list: its axes as the inference knows them when asked)
            shape = self.env.get(axes[1])
            axes = len(shape) if type(shape) is tuple and shape else None
        return axes == depth

    def _float_lists(self) -> dict:
        """name -> the number of axes of the float64 array argument (or of a slice of one, bound once) whose `.tolist()`
        (or `s2s.float_items`) is its one binding (its items, taken at as many integer indices, are Python floats);
        ("local", its name) for a local array bound once that `s2s.float_items` lists (its axes known later)."""
        if self._float_list_depths is None:
            self._float_list_depths = {}
            # (a list a method is called on, or an item stored into, may hold more than the array's floats:
            # `L = zs.tolist(); L.append(obj)`, review 252)
            changed = {n.func.value.id for n in walk(self._fdef) if isinstance(n, ast.Call)
                       and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name)} | {
                t.value.id for n in walk(self._fdef) if isinstance(n, ast.Assign | ast.AugAssign)
                for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)}
            for name, values in self._assigned_values.items():
                v = values[0] if len(values) == 1 and self._bindings.get(name) == 1 else None
                if not isinstance(v, ast.Call) or v.keywords or name in changed:
                    continue
                if isinstance(v.func, ast.Attribute) and v.func.attr == "tolist" and not v.args \
                        and isinstance(v.func.value, ast.Name):
                    array = v.func.value.id
                elif len(v.args) == 1 and isinstance(v.args[0], ast.Name) and hashable(self.callee(v)) \
                        and self.helpers.get(self.callee(v)) == "float_items":  # (`s2s.float_items(zs)`)
                    array = v.args[0].id
                else:
                    continue
                made = self._assigned_values.get(array, [])
                if len(made) == 1 and self._bindings.get(array) == 1 and isinstance(made[0], ast.Subscript) \
                        and isinstance(made[0].value, ast.Name) and slices_only(made[0].slice):
                    array = made[0].value.id  # (`t = x[:-1]`, read by `s2s.float_items(t)`: a slice keeps x's axes)
                shape = self._entry.get(array)
                if array in self._param_names and array not in self.assigned and self._kinds.get(array) == "d" \
                        and isinstance(shape, tuple) and len(shape) >= 1:
                    self._float_list_depths[name] = len(shape)
                elif array not in self._param_names and array in self.local and self._bindings.get(array) == 1 \
                        and self.helpers.get(self.callee(v)) == "float_items":
                    # (a local array the float_items pass listed: it proved it float64, `V = F @ w`)
                    self._float_list_depths[name] = ("local", array)
        return self._float_list_depths

    def _certain_number(self, node, names) -> bool:
        """Whether `node` certainly computes a number (a Python or NumPy scalar) where `names` hold numbers."""
        if isinstance(node, ast.Constant):
            return type(node.value) in (int, float, bool)
        if isinstance(node, ast.Name):
            return node.id in self.local and (node.id in names or node.id in self.ints)
        if isinstance(node, ast.BinOp):
            return isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow | ast.FloorDiv | ast.Mod) \
                and self._certain_number(node.left, names) and self._certain_number(node.right, names)
        if isinstance(node, ast.UnaryOp):
            return isinstance(node.op, ast.USub | ast.UAdd) and self._certain_number(node.operand, names)
        if isinstance(node, ast.IfExp):
            return self._certain_number(node.body, names) and self._certain_number(node.orelse, names)
        if isinstance(node, ast.Subscript):  # (one item of a real array, `zs[t]`: a NumPy scalar; of its list, a float)
            return self._float_list_item(node) or self._one_item(node) and self.real(node)
        if isinstance(node, ast.Attribute):  # (`math.pi`)
            return type(self._constant_attribute(node)) in (int, float)
        if not isinstance(node, ast.Call) or node.keywords or not node.args:
            return False
        callee = self.callee(node)
        if callee is getattr(ctx().runtime, "unshared", None):  # the ownership check gives its value back
            return self._certain_number(node.args[0], names)
        if callee is getattr(ctx().runtime, "item_number", None):  # (it gives back a number or raises)
            return True
        if callee in (abs, float, int) or getattr(callee, "__module__", None) == "math" \
                or isinstance(callee, np.ufunc) and callee.nout == 1:
            return all(self._certain_number(a, names) for a in node.args)
        if callee in (max, min) and len(node.args) >= 2:  # one of its arguments (`x = max(a, 1.0)`)
            return all(self._certain_number(a, names) for a in node.args)
        return False

    def real(self, node, reals=None) -> bool:
        """True when `node` certainly computes real floating-point values (its operations then cannot fail on dtype)."""
        if reals is None:
            reals = self.reals if hasattr(self, "reals") else self._reals_before_shapes()
        if isinstance(node, ast.Constant):
            return type(node.value) is float
        if isinstance(node, ast.Name):
            return node.id in reals and node.id in self.local
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow | ast.MatMult):
                return False
            sides = [node.left, node.right]
            if isinstance(node.op, ast.Pow) and not self._real_power(node, reals):
                return False
            return any(self.real(x, reals) for x in sides) and all(
                self.real(x, reals) or _int_literal(x) or self.known_int(x) or self._float_counter(x)
                or self._int_name(x) and not (isinstance(node.op, ast.Pow) and x is node.left)  # ((-2) ** 0.5: complex)
                or self._mask(x, reals) or self.is_int_array(x)  # (float * bool is float, float - int64 array too)
                or self._real_or_int_choice(x, reals) for x in sides)
        if isinstance(node, ast.IfExp):
            return self.real(node.body, reals) and self.real(node.orelse, reals)
        if isinstance(node, ast.UnaryOp):
            return isinstance(node.op, ast.USub | ast.UAdd) and self.real(node.operand, reals)
        if isinstance(node, ast.Attribute):
            return node.attr == "T" and self.real(node.value, reals) or self.number_constant(node)
        if isinstance(node, ast.Subscript):
            return self._real_item(node, reals)
        if isinstance(node, ast.Call) and self.item_kinds and self._field_read(node) is not None:
            kinds = self._item_kinds(node)  # (a record argument's field: its dtype, argshapes)
            return bool(kinds) and all(type(k) is str and k in "efdg" for k in kinds)
        if isinstance(node, ast.Call) and node.keywords \
                and getattr(self.fact(self.callee(node), "real"), "judges_keywords", False):
            return self._real_call(self.callee(node), node, reals)  # (a rule's `real` that checks keywords itself)
        if isinstance(node, ast.Call) and node.keywords and self._reduction_keywords(node):
            # np.sum(x, axis=1, keepdims=True) of real x
            return len(node.args) == 1 and self._real_call(self.callee(node), node, reals)
        if isinstance(node, ast.Call) and self._counted_as(node, reals):
            return True  # np.sum(x == m, axis=1, keepdims=True, dtype=z.dtype) with z real: a count in z's dtype
        if isinstance(node, ast.Call) and self._random_draw(node) is not None:
            return True  # (a Generator's float64 draw)
        if isinstance(node, ast.Call) and self._array_copy(node):
            return self.real(node.func.value, reals)
        method = self.method_reduction(node) if isinstance(node, ast.Call) else None
        if method is not None:  # (`z.max(axis=1)` as np.max(z, axis=1))
            as_function = ast.Call(func=node.func, args=method[1], keywords=node.keywords)
            return (not node.keywords or self.fact(method[0], "reduction")
                    and {k.arg for k in node.keywords} <= {"axis", "keepdims"}) \
                and self._real_call(method[0], as_function, reals)
        if isinstance(node, ast.Call) and (not node.keywords or [k.arg for k in node.keywords] == ["axis"]):
            # (`axis=` chooses where, never the dtype: np.cumsum(x, axis=1) of real x is real)
            return self._real_call(self.callee(node), node, reals)
        return False

    def _real_power(self, node, reals) -> bool:
        """Whether `a ** b` of real operands cannot be complex: Python's `(-2.0) ** 0.5` is, where NumPy's
        scalars and arrays give nan. So an integral exponent, a base that is a literal not below 0, or a base
        that is certainly a NumPy array or scalar (an array's shape at that point, or a NumPy function's
        result); a number that may be a Python float with any other exponent claims nothing."""
        a, b = node.left, node.right
        if _int_literal(b) or self.known_int(b) or self._int_name(b) or self._float_counter(b) \
                or isinstance(b, ast.Constant) and type(b.value) is float and b.value.is_integer():
            return True
        if isinstance(a, ast.Constant) and type(a.value) in (int, float) and a.value >= 0:
            return True
        shape = self.of(a)
        if type(shape) is tuple and shape:
            return True
        if isinstance(a, ast.Call):
            callee = self.callee(a)
            return isinstance(callee, np.ufunc) or (getattr(callee, "__module__", None) or "").startswith("numpy")
        return False

    def _reals_before_shapes(self):
        """The real names for a question asked while shapes are being found (a reduction of a real array of
        unknown shape over all its axes is a number): found once, from the parameters' shapes alone (the
        locals' shapes are not final yet); a subset of `reals`, which knows more ints' values."""
        if self._early_reals is None:
            saved = self.env, self.at, self._valuing, self._name_values  # (a question of `value_of` may be open)
            self.env, self.at = {p: fact for p, fact in self.env.items() if p in self._params}, {}
            self._valuing, self._name_values = set(), {}
            self._early_reals = frozenset()  # (a question asked while they are found claims no name real)
            try:
                self._early_reals = self._real_names(self._kinds)
            except BaseException:
                self._early_reals = None
                raise
            finally:
                self.env, self.at, self._valuing, self._name_values = saved
        return self._early_reals

    def _float_counter(self, node) -> bool:
        """A counter of loops over ranges whose bounds are int literals, `len(...)` or ints of known value
        under 2**53 (`k` of `for k in range(1, n)`): a float holds it, so `x / k` of a real `x` is real."""
        if not (isinstance(node, ast.Name) and node.id in self._counters):
            return False
        for it in self._ranges.get(node.id, ()):
            if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id not in self.local \
                    and self.resolve(it.func.id) is reversed and len(it.args) == 1:
                it = it.args[0]
            if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and self.resolve(it.func.id) is range
                    and not it.keywords and all(self._small_int(a) for a in it.args)):
                return False
        return True

    def _small_int(self, node) -> bool:
        """An int literal, `len(...)`, or an int of known value, under 2**53 in size."""
        if isinstance(node, ast.Call) and self.callee(node) is len:
            return True
        value = node.value if isinstance(node, ast.Constant) else self.value_of(node)
        return type(value) is int and abs(value) <= 2 ** 53

    def _real_or_int_choice(self, node, reals) -> bool:
        """A choice between real values and ints (`norm if norm != 0 else 1`, a norm's adjoint): real op it is real."""
        return isinstance(node, ast.IfExp) and all(self.real(b, reals) or _int_literal(b) or self.known_int(b)
                                                   for b in (node.body, node.orelse))

    def bounded_int(self, node) -> bool:
        """An int a float holds without overflow: an int literal, an int of known value or a counter of a range
        (`_float_counter`), each under 2**53 in size, or a name bound only to `+`, `-` or `*` of two such
        (`t = i + 1`, under 2**107): `x * t` and `x ** t` of a real array cannot raise converting it."""
        def small(e):
            return _int_literal(e) and abs(e.value) <= 2 ** 53 or self._float_counter(e) or self.known_int(e)

        if small(node):
            return True
        if not (isinstance(node, ast.Name) and node.id in self.local and node.id not in self._param_names):
            return False
        values = self._assigned_values.get(node.id)
        if not values or self._bindings.get(node.id) != len(values) or any(v is None for v in values):
            return False
        made = [v for v in values if not self._by_tape(v, node.id)]
        return bool(made) and all(isinstance(v, ast.BinOp) and isinstance(v.op, ast.Add | ast.Sub | ast.Mult)
                                  and small(v.left) and small(v.right) for v in made)

    def counter(self, node) -> bool:
        """A name bound only by loops over ranges (and the tape's restores of it): a Python int, of any size."""
        return isinstance(node, ast.Name) and node.id in self._counters

    def _int_name(self, node) -> bool:
        """A name that certainly holds an int number (`i = int(x)`, a loop's counter): `x - i` is real where x is."""
        return isinstance(node, ast.Name) and node.id in self.local and node.id in self.ints

    def known_int(self, node) -> bool:
        """An int of known value that a float holds exactly (`d = X.shape[1]`): `x * d` is as an int literal's."""
        value = self.value_of(node) if isinstance(node, ast.Name) else None
        return type(value) is int and abs(value) <= 2 ** 53

    def _mask(self, node, reals):
        """Booleans (a comparison, or a choice between such and real values): `real op mask` is real."""
        if isinstance(node, ast.Compare):
            return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd | ast.BitOr | ast.BitXor):
            return self._mask(node.left, reals) and self._mask(node.right, reals)  # (`(x >= lo) & (x <= hi)`)
        if isinstance(node, ast.Name) and node.id in self.local and node.id not in self._params:
            values = self._assigned_values.get(node.id)  # a name only ever bound to comparisons
            return bool(values) and all(isinstance(v, ast.Compare) for v in values)
        return isinstance(node, ast.IfExp) and all(self.real(b, reals) or self._mask(b, reals)
                                                   for b in (node.body, node.orelse))

    def _real_call(self, obj, node, reals) -> bool:
        """What the callee's rule says of a call without `*args` / `**kw`: `real=True`, real floats in
        and out (`Site.real_args`), or a function of the call (`Rule.real`)."""
        real = self.fact(obj, "real")
        if not real:
            return False
        site = Site(self, node.args, {k.arg: k.value for k in node.keywords}, None, reals)
        return real(site) if callable(real) else site.real_args() or self._real_of_ints(obj, node)

    def _real_of_ints(self, obj, node) -> bool:
        """A ufunc of ints whose values are known (`np.sqrt(x.shape[1])`): whether it gives a real float, as
        calling it on those ints says (a ufunc is a function of its arguments' values and types alone)."""
        if not isinstance(obj, np.ufunc) or node.keywords or len(node.args) != obj.nin:
            return False
        values = [self.value_of(a) for a in node.args]
        if not all(type(v) is int and abs(v) < 2 ** 53 for v in values):
            return False
        try:
            with np.errstate(all="ignore"):
                out = obj(*values)
        except Exception:
            return False
        return isinstance(out, np.floating)

    def _counted_as(self, node, reals):
        """`np.sum(b, axis=..., keepdims=..., dtype=z.dtype)` of a mask or real `b`, with `z` real: a
        reduction that takes `dtype=` (its rule says `reduction` and has the parameter)."""
        kw = {k.arg: k.value for k in node.keywords}
        dtype = kw.get("dtype")
        if not (len(node.args) == 1 and isinstance(dtype, ast.Attribute) and dtype.attr == "dtype"
                and set(kw) <= {"axis", "keepdims", "dtype"}):
            return False
        obj = self.callee(node)
        return self.fact(obj, "reduction") and "dtype" in self.fact(obj, "params", ()) \
            and self.real(dtype.value, reals) and (self.real(node.args[0], reals) or self._mask(node.args[0], reals))

    def _reduction_keywords(self, node):
        """A reduction called with only `axis=` and `keepdims=` keywords."""
        return self.fact(self.callee(node), "reduction") and {k.arg for k in node.keywords} <= {"axis", "keepdims"}

    def _real_item(self, node, reals):
        """`x[i]` of a real array or of its `s2s.float_items` list, `t[k]` of a name only ever bound to tuples whose
        item k is real, or an item
        of a container argument (or of a part of one) that is a real float or array."""
        if self.real(node.value, reals) or self._float_list_item(node):
            return True  # (an item of a float64 array's `s2s.float_items` list: a float)
        if self.item_kinds:
            kinds = self._item_kinds(node)
            if kinds and all(type(k) is str and k in "efdg" for k in kinds):
                return True
        if isinstance(node.value, ast.Name) and self._int_index(node.slice) \
                and (self._iterated_real_items(node.value.id, reals)
                     or node.value.id in self.appended and self.items_real(node.value, reals)):
            return True  # (an item of a list no one else changes, all of whose items are real floats)
        if not (isinstance(node.value, ast.Name) and node.value.id in self.local and node.value.id not in self._params
                and isinstance(node.slice, ast.Constant) and type(node.slice.value) is int):
            return False
        key = (node.value.id, node.slice.value)
        if key in self._items_asked:
            return False  # (an item of a tuple bound to one made from that item: not claimed)
        values = self._tuples_bound(node.value.id, set())
        k = node.slice.value
        self._items_asked.add(key)
        try:
            return bool(values) and all(isinstance(v, ast.Tuple) and -len(v.elts) <= k < len(v.elts)
                                        and not isinstance(v.elts[k], ast.Starred) and self.real(v.elts[k], reals)
                                        for v in values)
        finally:
            self._items_asked.discard(key)

    def _iterated_real_items(self, name, reals) -> bool:
        """Whether the local `name` is bound only to `s2s.as_sequence(L)` (what `for v in L` runs over) of lists
        whose items are all real floats (`items_real`), and by the tape: an item read by an int index is one."""
        as_sequence = getattr(ctx().runtime, "as_sequence", None)
        values = self._assigned_values.get(name)
        if name in self._params or not values or as_sequence is None:
            return False
        made = [v for v in values if v is not None and not self._by_tape(v, name)]
        return bool(made) and len(made) + sum(v is not None and self._by_tape(v, name) for v in values) == len(values) \
            and all(isinstance(v, ast.Call) and self.callee(v) is as_sequence and len(v.args) == 1 and not v.keywords
                    and self.items_real(v.args[0], reals) for v in made)

    def _tuples_bound(self, name, seen):
        """The values bound to the local `name`, through names bound to it (`state2 = state`), or None where some
        binding is not a plain one (a tape's pop restores one of the values bound before; its `None`
        placeholder is never read)."""
        values = self._assigned_values.get(name)
        if name in seen or name in self._params or not values or any(v is None for v in values):
            return None
        seen.add(name)
        out = []
        for v in values:
            if self._by_tape(v, name):
                continue
            if isinstance(v, ast.Name) and v.id in self.local:
                inner = self._tuples_bound(v.id, seen)
                if inner is None:
                    return None
                out.extend(inner)
            else:
                out.append(v)
        return out

    def _join(self, name, shape):
        shape = _plain(shape) if _has_extent(shape) else shape  # (one shape wherever the name is read: no counter's)
        if name not in self.env:
            self.env[name] = shape
        elif self.env[name] != shape:
            self.env[name] = _join_shapes(self.env[name], shape)

    def _block(self, stmts):
        for s in stmts:
            if isinstance(s, ast.Assign):
                self._assign(s)
            elif isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name):
                self._join(s.target.id, broadcast(_array(self.env.get(s.target.id)), _array(self.of(s.value))))
            elif isinstance(s, ast.For):
                if isinstance(s.target, ast.Name) and s.target.id in self.ints:
                    self._join(s.target.id, ())
                else:
                    self._unknown(s.target)
                self._block(s.body)
                self._block(s.orelse)
            elif isinstance(s, ast.While | ast.If):
                self._block(s.body)
                self._block(s.orelse)
            elif isinstance(s, ast.Expr | ast.Return | ast.Pass | ast.Assert) or type(s).__name__ == "Comment":
                continue
            else:  # nested functions, with, try, ...: what they assign is not followed
                self._unknown(s)

    def _is_pop(self, node):
        """`tape.pop()`: a value saved earlier from the same name (a user's list may hold anything)."""
        return _is_pop(node, self.tapes)

    def _is_range(self, node):
        """A range (`range(...)`, reversed or sliced, or a name only ever bound to one): its items are ints."""
        if isinstance(node, ast.Name):
            values = self._assigned_values.get(node.id)
            return bool(values) and all(v is not None and self._is_range(v) for v in values)
        if isinstance(node, ast.Subscript):
            return isinstance(node.slice, ast.Slice) and self._is_range(node.value)
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or node.func.id in self.local:
            return False
        obj = self.resolve(node.func.id)
        if obj is range:
            return True
        return obj is reversed and len(node.args) == 1 and self._is_range(node.args[0])

    def _unknown(self, node):
        for name in assigned_names(node):
            self.env[name] = None

    def _assign(self, s):
        if self._is_pop(s.value) and all(isinstance(t, ast.Tuple) and all(isinstance(e, ast.Name) for e in t.elts)
                                    for t in s.targets):
            return  # a snapshot restored (`h, t = snapshots.pop()`): earlier values of the same names
        if self._placeholder_statement(s):
            return
        if self._is_pop(s.value):
            return  # restores an earlier value of the same name
        value = self._list_items(s, None) if isinstance(s.value, ast.List) else self.of(s.value)
        for t in s.targets:
            self._join_target(t, value)

    def _list_items(self, s, env):
        """The items' shapes of a list display bound to a sealed name (`_sealed_lists`), or of the `[]` an
        appended list starts as (`_appended_lists`), else None."""
        if len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) and s.targets[0].id in self.appended \
                and s.targets[0].id not in self.sealed:  # (one never appended to: its items as they are)
            return Seq(_plain(_array(self.of(e, env))) for e in s.value.elts)  # (as `_list_after` appends them)
        if len(s.targets) != 1 or not isinstance(s.targets[0], ast.Name) or s.targets[0].id not in self.sealed \
                or any(isinstance(e, ast.Starred) for e in s.value.elts):
            return None
        return Seq(self.of(e, env) for e in s.value.elts)

    def _join_target(self, target, value):
        if isinstance(target, ast.Name):
            self._join(target.id, value)
        elif isinstance(target, ast.Tuple | ast.List) and isinstance(value, Seq) \
                and len(value.items) == len(target.elts) and not any(isinstance(e, ast.Starred) for e in target.elts):
            for e, item in zip(target.elts, value.items):
                self._join_target(e, item)
        elif not isinstance(target, ast.Subscript | ast.Attribute):
            self._unknown(target)

    # ---- expressions -----------------------------------------------------
    def of(self, node, env=None):
        """The shape of expression `node`, or None when not certain.

        Without `env` a name read has the fact at its program point (or the flow-insensitive
        shape where there is none); with `env` (name -> shape) it has env's.
        """
        if isinstance(node, ast.Constant):
            v = node.value
            return () if isinstance(v, int | float | bool) else None
        if isinstance(node, ast.Name):
            if node.id not in self.local:
                return None
            shape = self._name_fact(node, env)
            return None if type(shape) in (ZeroOr, ListOf, ZeroOrItems, NoneOr) else shape
        if isinstance(node, ast.Tuple):
            if any(isinstance(e, ast.Starred) for e in node.elts):
                return None
            return Seq(self.of(e, env) for e in node.elts)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Add | ast.Sub) and self._counters:
                counted = self._counted(node, env)
                if counted is not None:
                    return counted
            if isinstance(node.op, ast.MatMult):
                return matmul(self._arr(node.left, env), self._arr(node.right, env))
            if isinstance(node.op, ast.Add | ast.Sub) and _atom(node.left) and _atom(node.right) \
                    and type(self.of(node.left, env)) is ZeroScalar and type(self.of(node.right, env)) is ZeroScalar:
                return ZERO_SCALAR  # (0.0 + 0.0 is the zero adjoint 0.0)
            if any(_atom(value) and type(self.of(value, env)) is ZeroScalar for value in self._scaled(node)):
                return ZERO_SCALAR  # (0.0 times or over a finite nonzero number: `t_bar * dt`)
            results = {broadcast(left, right) for left in self._either(node.left, env)
                       for right in self._either(node.right, env)}
            return results.pop() if len(results) == 1 else None
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub) and self._counters:
                counted = self._counted(node, env)
                if counted is not None:
                    return counted
            inner = self._arr(node.operand, env)
            if isinstance(node.op, ast.Not):
                return () if inner == () else None  # (a bool: not the zero adjoint even of 0.0)
            return () if type(inner) is Counted else inner  # (-0.0 is the zero adjoint too; `-x[:i]` keeps its length)
        if isinstance(node, ast.Compare):
            return broadcast(self._arr(node.left, env), *(self._arr(c, env) for c in node.comparators))
        if isinstance(node, ast.IfExp):
            guarded = self.zero_guarded(node, env)
            if guarded is not None:
                return ZERO_SCALAR if isinstance(guarded, ast.Constant) else self.of(guarded, env)
            body, orelse = self.of(node.body, env), self.of(node.orelse, env)
            return _join_shapes(body, orelse)  # (certainly 0.0 only if both are)
        if isinstance(node, ast.Attribute):
            inner = self._arr(node.value, env)
            if inner is None:
                return () if self.number_constant(node) else None
            if node.attr == "T":
                return inner[::-1]
            if node.attr == "shape" and self._is_array_expr(node.value, env):
                return Seq(() for _ in inner)
            if node.attr in ("ndim", "size") and self._is_array_expr(node.value, env):
                return ()
            return None
        if isinstance(node, ast.Subscript):
            if isinstance(node.value, ast.Name | ast.Subscript) and self._float_list_item(node):
                return ()
            return self._subscript(node, env)
        if isinstance(node, ast.Call):
            shape = self._call(node, env)
            return None if type(shape) is ZeroOr or type(shape) is ZeroOrItems else shape
        return None

    def _fact(self, node, env):
        """`of(node)`, but a value that is 0.0 or an array of one shape (`s2s.grad_det` of a number adjoint, a name
        holding one, its negation, a sum of such, the guard `0.0 if s2s.is_zero(g) else E` of one) keeps that
        `ZeroOr` (for the name it is bound to, and for an elementwise operator reading it)."""
        if isinstance(node, ast.Call):
            return self._call(node, env)
        return self._zero_or(node, env) or self.of(node, env)

    def _zero_or(self, node, env):
        """The `ZeroOr` of a value that is 0.0 or an array of one shape (see `_fact`), else None."""
        if isinstance(node, ast.Name) and node.id in self.local:
            fact = self._name_fact(node, env)
            return fact if type(fact) is ZeroOr else None
        if isinstance(node, ast.Call):
            fact = self._call(node, env)
            return fact if type(fact) is ZeroOr else None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            return self._zero_or(node.operand, env)  # (-0.0 is the zero adjoint too)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub) and _atom(node.left) \
                and _atom(node.right):
            return self._zero_or_sum(node, env)  # (of atoms alone: a nested sum would be asked of at every level)
        if isinstance(node, ast.BinOp):
            # (0.0 times a finite nonzero number is 0.0, an array times it an array of its shape: `t_bar * dt`)
            for value in self._scaled(node):
                inner = self._zero_or(value, env) \
                    if isinstance(value, ast.Name | ast.UnaryOp | ast.BinOp | ast.IfExp | ast.Call) else None
                if inner is not None:
                    return inner
        if isinstance(node, ast.IfExp):
            return self._guarded_zero_or(node, env)
        return None

    def _scaled(self, node) -> list:
        """The operands `v` of `node` that it scales by a finite nonzero number c: `v * c`, `c * v`, `v / c`."""
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div)):
            return []
        return [value for value, number in ((node.left, node.right), (node.right, node.left))
                if (number is node.right or isinstance(node.op, ast.Mult)) and self._finite_nonzero(number)]

    def _finite_nonzero(self, node) -> bool:
        """A finite nonzero number literal (negated or not), or a local bound once, to one, and nowhere else."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            node = node.operand
        if isinstance(node, ast.Name) and node.id in self.local and node.id not in self._params:
            values = self._assigned_values.get(node.id)
            if not values or len(values) != 1 or self._bindings.get(node.id) != 1 or values[0] is None:
                return False
            node = values[0]
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
                node = node.operand
        return isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value != 0 \
            and math.isfinite(node.value)

    def _guarded_zero_or(self, node, env):
        """`0.0 if s2s.is_zero(g) else E` where g holds 0.0 or an array of shape s: 0.0, or E with g that array
        (`ZeroOr` of E's shape); None for anything else."""
        g = self.zero_tested(node)
        if not (isinstance(g, ast.Name) and isinstance(node.body, ast.Constant) and node.body.value == 0.0):
            return None
        either = self._either(g, env)
        if len(either) != 2:  # (g's kind unknown: E's shape whatever g holds, `unbroadcast(g / n, v)`'s of v)
            inner = _array(self.of(node.orelse, env))
            return ZeroOr(inner) if inner is not None and inner != () and not _has_extent(inner) else None
        if env is not None:
            inner = self.of(node.orelse, type(env)({**env, g.id: either[1]}))
        else:  # (the facts at E's reads of g: the array's, for this question alone)
            with self.facts_at([n for n in walk_nodes(node.orelse) if isinstance(n, ast.Name) and n.id == g.id], either[1]):
                inner = self.of(node.orelse)
        inner = _array(inner)
        return ZeroOr(inner) if inner is not None and inner != () else None

    def _zero_or_sum(self, node, env):
        """`a + b` (or `a - b`) of two values each 0.0, or 0.0 or an array of one shape s, one of them the latter: 0.0
        where both are (0.0 + 0.0 is 0.0), else an array of shape s (`ZeroOr(s)`); None for anything else."""
        sides = []
        for operand in (node.left, node.right):
            if type(self.of(operand, env)) is ZeroScalar:
                sides.append(None)  # certainly 0.0
                continue
            either = self._either(operand, env)
            if len(either) != 2:
                return None
            sides.append(either[1])
        shapes = {side for side in sides if side is not None}
        return ZeroOr(shapes.pop()) if len(shapes) == 1 else None

    def number_constant(self, node) -> bool:
        """A float constant of NumPy or `math` read by its dotted name (`np.pi`, `math.e`): a number. (Not any
        module's float: a user's module attribute may be rebound to an array.)"""
        if not isinstance(node.value, ast.Name) or node.value.id in self.local:
            return False
        base = self.resolve(node.value.id)
        return any(base is m for m in _CONSTANT_MODULES) and type(getattr(base, node.attr, None)) is float

    def fact_at(self, node: ast.Name):
        """The fact a local name holds at this read of it (a `ListOf`, `ZeroOr` or `ZeroOrItems` among them), else None.

            >>> # hs = []; for ...: hs.append(h); ...; seq = s2s.as_sequence(hs) -- fact_at(seq read): ListOf((32,))
        """
        return self._name_fact(node, None) if node.id in self.local else None

    def _name_fact(self, node, env):
        """The fact at a name's read (possibly a ZeroOr)."""
        if env is None or type(env) is Overrides and node.id not in env:
            fact = self.at.get(id(node))
            if fact is not None and fact[0] is node:
                return fact[1] if self._symbolic or not _has_extent(fact[1]) else _concrete(fact[1])
            return self.env.get(node.id)
        return env.get(node.id)

    def holds_none(self, node: ast.Name):
        """True where the name certainly holds None at this read (`prev = None`, no other binding reaching it),
        False where it certainly holds an array or a number, else None."""
        fact = self.at.get(id(node))
        if fact is None or fact[0] is not node or node.id in self._param_names and node.id not in self._params:
            return None  # (a parameter the caller gave no fact of: its read before a binding is no fact of it)
        if fact[1] == NONE_VALUE:
            return True
        return False if isinstance(fact[1], tuple) else None

    @contextlib.contextmanager
    def symbolic(self):
        """Within it, the questions asked of the facts after inference (`of`, `_either`, ...) see the `Extent`s of
        slices whose length follows a loop's counter (`x[i:]`), for comparing two shapes; outside it such a shape
        is unknown, so that no rewrite writes one into the code as a number.

            >>> # g = y_bar[i:].copy(); unbroadcast(g, t), t = y[i:] + v:  with shapes.symbolic(): of(g) == of(t)
        """
        before, self._symbolic = self._symbolic, True
        try:
            yield
        finally:
            self._symbolic = before

    def _either(self, node, env):
        """The shapes an elementwise operand may have here: both of a ZeroOr's (`()` for its 0.0), else one."""
        fact = self._zero_or(node, env)
        return ((), fact.shape) if fact is not None else (self._arr(node, env),)

    def _arr(self, node, env):
        """The shape of `node` when it is an array's or a number's (not a tuple's), else None."""
        return _array(self.of(node, env))

    def _is_array_expr(self, node, env):
        """`.shape` / `.ndim` / `.size` of a value of known non-scalar shape: an array (a number has none)."""
        shape = self._arr(node, env)
        return shape is not None and shape != ()

    def _subscript(self, node, env):
        shape = self._subscript_fact(node, env)
        return shape if env is not None or self._symbolic or not _has_extent(shape) else _concrete(shape)

    def _subscript_fact(self, node, env):
        if isinstance(node.value, ast.Name) and node.value.id in self.local:
            fact = self._name_fact(node.value, env)  # (`seq[k]` of a list whose items all have one shape)
            if type(fact) is ListOf and not isinstance(node.slice, ast.Slice) and self._int_index(node.slice):
                return fact.item
        if not isinstance(node.slice, ast.Slice) and self._is_range(node.value) and self._int_index(node.slice):
            return ()  # an item of a range: an int (or IndexError)
        base = self.of(node.value, env)
        if isinstance(base, Seq | Keyed):
            return self._item(base, node.slice, env)
        index = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if base is not None and all(self.is_int_array(i) for i in index) and len(index) <= len(base):
            # integer arrays alone: their broadcast shape, then the axes they leave (`logp[np.arange(n), y]`)
            taken = broadcast(*(self._arr(i, env) for i in index))
            return None if taken is None else tuple(taken) + base[len(index):]
        taking = [i for i in index if not self._newaxis(i)]  # the items that take axes of the base
        dots = sum(1 for i in taking if isinstance(i, ast.Constant) and i.value is Ellipsis)
        if base is None or base == () or dots > 1 or len(taking) - dots > len(base):
            return None  # (a Python number has no items: `v[None]` raises)
        out, at = [], 0
        for i in index:  # ints and slices of known bounds: an array or a bool index is not followed
            if self._newaxis(i):  # x[:, None]: a new axis of length 1
                out.append(1)
                continue
            if isinstance(i, ast.Constant) and i.value is Ellipsis:  # every axis the other items leave
                span = len(base) - (len(taking) - 1)
                out.extend(base[at:at + span])
                at += span
                continue
            n = base[at]
            at += 1
            if isinstance(i, ast.Slice):
                length = self._slice_length(i, n, env)
                if length is not None:
                    out.append(length)
                    continue
                if type(n) is not int:  # (an Extent's axis: taken whole, else not followed)
                    if i.lower is None and i.upper is None and i.step is None:
                        out.append(n)
                        continue
                    return None
                parts = [None if p is None else self.value_of(p, env) for p in (i.lower, i.upper, i.step)]
                if any(p is not None and type(p) is not int for p in parts) \
                        or any(p is None and q is not None for p, q in zip(parts, (i.lower, i.upper, i.step))) \
                        or parts[2] == 0:
                    return None
                out.append(len(range(n)[slice(*parts)]))
                continue
            if isinstance(i, ast.Constant) and type(i.value) is int:
                continue
            if isinstance(i, ast.UnaryOp) and isinstance(i.op, ast.USub) and isinstance(i.operand, ast.Constant) \
                    and type(i.operand.value) is int:
                continue
            if isinstance(i, ast.Name) and i.id in self.ints and self.of(i, env) == ():
                continue
            return None
        return tuple(out) + base[at:]

    def _item(self, base, index, env):
        """An item of a tuple (or of a container argument no one changes) of known items: by a literal
        position or key, a slice of known ints (of a `Seq`: its items), or, where every item has the one
        same fact, by any index (`seq[k]` in a loop over a list of equal layers)."""
        if isinstance(base, Keyed):
            if isinstance(index, ast.Constant) and type(index.value) in (str, int):
                return base.get(index.value)
            return _common(items_of(base))
        if isinstance(index, ast.Slice):
            parts = [None if p is None else self.value_of(p, env) for p in (index.lower, index.upper, index.step)]
            if any(p is None and q is not None or p is not None and type(p) is not int
                   for p, q in zip(parts, (index.lower, index.upper, index.step))) or parts[2] == 0:
                return None
            return Seq(base.items[slice(*parts)])
        k = self.value_of(index, env) if isinstance(index, ast.Constant | ast.UnaryOp) else None
        if type(k) is int:
            return base.items[k] if -len(base.items) <= k < len(base.items) else None
        return _common(base.items) if self._int_index(index) else None  # (`p[s]`, s = slice(0, 2): a list)

    def _counted(self, node, env):
        """`i + k`, `k + i`, `i - k`, `k - i` or `-i` of a `Counted` int `i` (a name, or such an expression)
        and an int `k` known here: its `Counted`, else None. (Reads names' facts only: no shape of a
        subexpression.)"""
        if isinstance(node, ast.Name):
            fact = self._name_fact(node, env) if node.id in self.local else None
            return fact if type(fact) is Counted else None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self._counted(node.operand, env)
            return None if inner is None else Counted(inner.counter, -inner.offset, inner.span, -inner.scale)
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub)):
            return None
        left = self._counted(node.left, env)
        if left is not None:
            k = self.value_of(node.right, env)
            return Counted(left.counter, left.offset + (k if isinstance(node.op, ast.Add) else -k), left.span,
                           left.scale) if type(k) is int else None
        right = self._counted(node.right, env)
        if right is not None:
            k = self.value_of(node.left, env)
            if type(k) is not int:
                return None
            if isinstance(node.op, ast.Add):
                return Counted(right.counter, right.offset + k, right.span, right.scale)
            return Counted(right.counter, k - right.offset, right.span, -right.scale)
        return None

    def _slice_length(self, index, n, env):
        """The length of a slice `lo:hi` (no step) of an axis of `n` items whose bounds are ints of one counter
        `i` (`Counted`), known ints or left out, one of them at least the counter's: for every `i` of its
        loop's range each bound is inside the axis, counted from its start (`0 <= b <= n`) or all of them from
        its end (`-n <= b <= -1`: `x[-i:]` of i from 1), and `lo <= hi` once both are counted from the start
        (no bound clipped, no slice of fewer than 0 items). Then the length is `hi - lo`: an int where it is one
        for every `i` (`x[i:i + k]`), else an `Extent` (`x[i:]`, `x[:n - i]`, `x[-i:]`). None otherwise."""
        if index.step is not None or type(n) is not int:
            return None
        bounds = []
        for part, missing in ((index.lower, 0), (index.upper, n)):
            if part is None:
                bounds.append((None, 0, missing))
                continue
            counted = self._counted(part, env)
            if counted is not None:
                if not counted.span:
                    return None
                low, high = counted.values()
                if 0 <= low and high <= n:
                    bounds.append((counted, counted.scale, counted.offset))
                elif -n <= low and high <= -1:
                    bounds.append((counted, counted.scale, counted.offset + n))
                else:
                    return None
                continue
            k = self.value_of(part, env)
            if type(k) is not int or not -n <= k <= n:
                return None
            bounds.append((None, 0, k + n if k < 0 else k))
        (lo, lo_scale, lo_offset), (hi, hi_scale, hi_offset) = bounds
        counters = {(b.counter, b.span) for b in (lo, hi) if b is not None}
        if len(counters) != 1:
            return None
        counter, span = counters.pop()
        scale, offset = hi_scale - lo_scale, hi_offset - lo_offset
        ends = (scale * span[0] + offset, scale * span[-1] + offset)
        if min(ends) < 0:
            return None
        return offset if scale == 0 else Extent(counter, scale, offset, span)

    def _newaxis(self, node) -> bool:
        """`None` or `np.newaxis` as an index item."""
        if isinstance(node, ast.Constant):
            return node.value is None
        return isinstance(node, ast.Attribute) and node.attr == "newaxis" and isinstance(node.value, ast.Name) \
            and node.value.id not in self.local and self.resolve(node.value.id) is np

    def value_of(self, node, env=None):
        """The int or tuple of ints `node` certainly evaluates to here (a literal, `x.shape`, `x.shape[k]`), or None."""
        if isinstance(node, ast.Constant):
            return node.value if type(node.value) is int else None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.value_of(node.operand, env)
            return -inner if type(inner) is int else None
        if isinstance(node, ast.Tuple):
            items = [self.value_of(e, env) for e in node.elts]
            return tuple(items) if all(type(i) is int for i in items) else None
        if isinstance(node, ast.BinOp) and type(node.op) in _INT_OPS:  # `x.shape[0] - k + 1`, `(3,) + x.shape`
            left, right = self.value_of(node.left, env), self.value_of(node.right, env)
            if isinstance(node.op, ast.Add) and isinstance(left, tuple) and isinstance(right, tuple):
                return left + right
            if type(left) is not int or type(right) is not int or (right == 0 and type(node.op) in _DIVIDING):
                return None
            return _INT_OPS[type(node.op)](left, right)
        if isinstance(node, ast.Attribute) and node.attr in ("shape", "size", "ndim") \
                and self._is_array_expr(node.value, env):
            shape = self._arr(node.value, env)
            if node.attr == "size":
                return math.prod(shape) if all(type(d) is int for d in shape) else None
            return shape if node.attr == "shape" else len(shape)
        if isinstance(node, ast.Subscript) and type(self.value_of(node.slice, env)) is int \
                and isinstance(node.slice, ast.Constant | ast.UnaryOp):  # (`t[1]`, `np.shape(L)[-1]`)
            base, k = self.value_of(node.value, env), self.value_of(node.slice, env)
            if isinstance(base, tuple) and -len(base) <= k < len(base):
                return base[k]
        if isinstance(node, ast.Call):  # what the callee's rule says (np.shape(x) of an array of known shape)
            value = self.fact(self.callee(node), "result_value", None)
            if value is None or any(isinstance(a, ast.Starred) for a in node.args) \
                    or any(k.arg is None for k in node.keywords):
                return None
            return value(Site(self, node.args, {k.arg: k.value for k in node.keywords}, env))
        if isinstance(node, ast.Name) and node.id in self.local and node.id not in self._params \
                and node.id not in self._valuing:
            if len(self._valuing) > _VALUE_DEPTH:
                return None  # (a chain of names bound to arithmetic of the next, `y3_bar * np.cos(y2)`: no int)
            if node.id in self._name_values:
                return self._name_values[node.id]
            values = self._assigned_values.get(node.id)  # one value however it is bound (`t = x.shape; n = t[0]`)
            if not values or any(v is None for v in values) or self._bindings.get(node.id) != len(values):
                return None
            values = [v for v in values if not self._is_pop(v)  # a pop restores the same one value
                      and not self._placeholder(v, node.id)]
            outermost = not self._valuing
            self._valuing.add(node.id)
            try:
                found = {self.value_of(v) for v in values}
            finally:
                self._valuing.discard(node.id)
                if outermost:
                    self._name_values = {}
            value = found.pop() if len(found) == 1 and None not in found else None
            # Each name is valued once per outermost question (names bound to displays of each other, a loop's
            # tuple state and its copies, were walked once per path through them: exponentially many). A name
            # found unknown where a cycle cut it short stays unknown for the question, which claims nothing;
            # nothing is kept after it (the facts `of` reads change as inference goes on).
            if not outermost:
                self._name_values[node.id] = value
            return value
        return None

    def callee(self, node):
        """The object a call's function expression denotes, or None (a local, or not a dotted name)."""
        return self.dotted(node.func)

    def dotted(self, f):
        """The object a dotted name (`np.int64`, `int`) denotes, or None (a local, or not a dotted name)."""
        return dotted_object(f, self.local, self.resolve)

    def _call(self, node, env):
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr == "astype" and len(node.args) == 1 and not node.keywords \
                and self._is_array_expr(f.value, env):
            return self._arr(f.value, env)  # an array of known shape converted (`(y == k).astype(float)`)
        if self._array_copy(node, env):
            return self._arr(f.value, env)  # (`u_bar[1:-1].copy()`: the setitem adjoint's saved slice)
        method = self.method_reduction(node, env)
        if method is not None:  # (`z.max(axis=1)`: np.max(z, axis=1)'s shape)
            shape = self.fact(method[0], "result_shape", None)
            return None if shape is None else shape(Site(self, method[1], {k.arg: k.value for k in node.keywords}, env,
                                                         lengths=getattr(shape, "symbolic_lengths", False)))
        draw = self._random_draw(node, env)
        if draw is not None:
            return draw
        obj = self.callee(node)
        if obj is None:
            return None
        args = node.args
        kw = {k.arg: k.value for k in node.keywords}
        if any(isinstance(a, ast.Starred) for a in args) or None in kw:
            return None
        if isinstance(obj, np.ufunc) and obj.signature is None:  # elementwise: NumPy's description, nin broadcast
            if kw or len(args) != obj.nin or obj.nout != 1:
                return None
            return broadcast(*(self._arr(a, env) for a in args))
        shape = self.fact(obj, "result_shape", None)  # the rule's shape function
        if shape is None:
            return None
        lengths = getattr(shape, "symbolic_lengths", False)
        if args and getattr(obj, "__s2s_zero_gives_zero__", False):
            # a helper linear in its adjoint g that returns the zero adjoint for it (runtime.linear_in_g): 0.0 for
            # 0.0, and for 0.0 or an array (an adjoint 0.0 before a loop) 0.0 or what the array gives
            if type(self.of(args[0], env)) is ZeroScalar:
                return ZERO_SCALAR
            either = self._either(args[0], env)
            if len(either) == 2:
                out = shape(Site(self, args, kw, env, given={0: either[1]}, lengths=lengths))
                out = out.shape if type(out) is ZeroOr else _array(out)
                return ZeroOr(out) if out is not None and out != () else None
        return shape(Site(self, args, kw, env, lengths=lengths))

    def method_reduction(self, node, env=None):
        """(the NumPy function, its arguments) of `x.sum(axis=1)`, a reduction of an array `x` of known shape
        written as its method (transforms/reduction_methods.py writes them so): those of `np.sum(x, axis=1)`,
        which calls that method; else None.

            >>> # z.max(axis=1, keepdims=True) of z of shape (4, 3)  ->  (np.max, [z]), its shape (4, 1)
        """
        f = node.func
        if not (isinstance(f, ast.Attribute) and f.attr in _REDUCTION_METHODS and self._is_array_expr(f.value, env)
                and not any(isinstance(a, ast.Starred) for a in node.args)
                and all(k.arg is not None for k in node.keywords)):
            return None
        return getattr(np, f.attr), [f.value, *node.args]

    def _array_copy(self, node, env=None) -> bool:
        """Whether `node` is `a.copy()` of an array expression `a` (a copy of the same shape and dtype)."""
        f = node.func
        return isinstance(f, ast.Attribute) and f.attr == "copy" and not node.args and not node.keywords \
            and self._is_array_expr(f.value, env)

    def _random_draw(self, node, env=None):
        """The shape of `s2s.call_plain(rng.normal, site, loc, scale, size)` (or of `rng.normal(loc, scale,
        size)` itself, where no local value is passed), a float64 draw of a Generator argument `rng`
        (`_DRAWS`): `size` (an int or a tuple of ints of known value), or without it the broadcast shape of
        the parameters before it; None for anything else (another method, `dtype=` or `out=`, arguments by
        `*`)."""
        if not self._generators:
            return None
        direct = isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) \
            and node.func.value.id in self._generators
        f = node.func if direct else node.args[0] if len(node.args) >= 2 \
            and self.callee(node) is getattr(ctx().runtime, "call_plain", None) else None
        if not (isinstance(f, ast.Attribute) and f.attr in _DRAWS and isinstance(f.value, ast.Name)
                and f.value.id in self._generators and f.value.id not in self.assigned):
            return None
        names = _DRAWS[f.attr] + ("size",)
        args = node.args if direct else node.args[2:]
        kw = {k.arg: k.value for k in node.keywords}
        if len(args) > len(names) or any(isinstance(a, ast.Starred) for a in args) or None in kw \
                or not set(kw) <= set(names) or any(n in kw for n in names[:len(args)]):
            return None
        given = dict(zip(names, args)) | kw
        size = given.get("size")
        if size is not None and not (isinstance(size, ast.Constant) and size.value is None):
            value = self.value_of(size, env)
            if type(value) is int and value >= 0:
                return (value,)
            if isinstance(value, tuple) and all(type(v) is int and v >= 0 for v in value):
                return value
            return None
        shapes = [self.of(given[n], env) if n in given else () for n in names[:-1]]
        return broadcast(*shapes) if all(type(x) is tuple for x in shapes) else None

    def fact(self, obj, name: str, default=False):
        """`ctx().fact(obj, name, default)`, read once per object in this run (the rules do not change
        while one function's shapes are inferred; `obj` is kept, so that its id stays its own)."""
        key = (id(obj), name)
        known = self._facts.get(key)
        if known is None:
            known = self._facts[key] = (obj, ctx().fact(obj, name, default))
        return known[1]


def _held_items(fact, index, whole=False):
    """The facts an item read `fact[index]` of a container argument's fact may give (all its items for an
    index not written as a literal, and with `whole` the list's own fact too: an index that may be a slice
    object; None for an unknown fact). Also over a dtype structure."""
    if not isinstance(fact, Seq | Keyed):
        return [None]
    if isinstance(index, ast.Constant) and type(index.value) in (int, str):
        if isinstance(fact, Keyed):
            return [fact.get(index.value)]
        if type(index.value) is int and -len(fact.items) <= index.value < len(fact.items):
            return [fact.items[index.value]]
    if isinstance(index, ast.Slice):
        if not isinstance(fact, Seq):
            return [None]
        parts = [None if p is None else _literal_index(p) for p in (index.lower, index.upper, index.step)]
        if all(q is None or type(p) is int for p, q in zip(parts, (index.lower, index.upper, index.step))) \
                and parts[2] != 0:
            return [Seq(fact.items[slice(*parts)])]
        # bounds not written as literals: an item of the slice may be any item (one Seq per item, repeated)
        return [Seq((item,) * len(fact.items)) for item in fact.items] or [fact]
    return list(items_of(fact)) + ([fact] if whole and isinstance(fact, Seq) else []) or [None]


def _literal_index(node):
    """The int an index written as a literal (`2`, `-1`) is, else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _literal_index(node.operand)
        return None if value is None else -value if isinstance(node.op, ast.USub) else value
    return node.value if isinstance(node, ast.Constant) and type(node.value) is int else None


# runtime helpers that read a container argument for its structure alone (the adjoint placed into its shape)
_STRUCTURE_READERS = ("getitem_grad", "add_item_grad", "finish", "field_grad", "grad_iterated", "grad_as_sequence",
                      "as_sequence_tangent", "mapping_keys", "has_key", "zeros_like_value", "unpack_count", "star_count",
                      "not_an_iterator", "numbers_or_arrays")  # (the last four count or test them)
_CONSTANT_MODULES = (np, math)  # (their float constants: pi, e, inf, nan, tau)
_INT_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
            ast.Mod: operator.mod}  # int op int is an int (`/` and `**` may not be)
_DIVIDING = (ast.FloorDiv, ast.Mod)


def _int_literal(node):
    return isinstance(node, ast.Constant) and type(node.value) is int


def hashable(obj) -> bool:
    """Whether `obj` can be looked up in a set or dict (NumPy functions can; some objects cannot)."""
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def _is_pop(node, tapes):
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
        and isinstance(node.func.value, ast.Name) and node.func.value.id in tapes and node.func.attr == "pop" \
        and not node.args and not node.keywords
