"""A pre-pass for compiled derivatives: parameters given a dict, list or tuple become one parameter per item.

numba takes numbers and arrays, not a dict of them. Where the generated gradient reads a container
parameter `p` only by items of constant keys (`p['W1']`, `p[0]`, `p[-1]`) and hands it only to the
`finish` that the function returns (`return s2s.finish({'W1': W1_bar, 'b1': b1_bar}, p)`, or beside the
value where the output's shape is not known: `return value, s2s.finish(...)`), the code is the same program
with each item a parameter of its own:

    def d(p, X, *, out_bar=1.0):            def d(p_W1, p_b1, X, *, out_bar=1.0):
        t = p['W1']                             t = p_W1
        ...                           ->        ...
        return s2s.finish({'W1': a,             return (s2s.finish(a, p_W1), s2s.finish(b, p_b1))
                           'b1': b}, p)

The caller passes `p['W1'], p['b1']` (`Flattened.items`) and rebuilds the gradient's container from the
tuple returned (`Flattened.gradient`): `finish` of the container of finished items, as the NumPy code's own
`finish` makes it. Anything else (a slice, a loop over `p`, `len(p)`, `p` passed to a helper, another
return) is refused with the node.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from . import container_structs
from .numba_lowering import NotLowerable
from .walk import parent_map, replace_child, walk


class NotFlattenable(NotLowerable):
    """A read of a container parameter other than an item of a constant key or the returned `finish`
    (`message`, and `node`: where it is in the generated code)."""


@dataclass
class Flattened:
    fdef: ast.FunctionDef
    # for each positional parameter of the new function: (position of the old parameter, key or None); an item of an
    # item (`enc[0][1]`) has a Path of keys
    items: list
    # (position of the parameter whose gradient is returned, its keys (Paths) in order, its type); for a tuple of
    # gradients, a list with one per gradient, (place in the tuple, position or None where it is not a container's);
    # None where no container argument's gradient is returned
    returned: tuple | list | None
    with_value: bool = False  # the code returns (value, the items' tuple): `return value, s2s.finish(...)`

    def arguments(self, args: tuple) -> list:
        """The new function's arguments for the old one's positional `args`.

            >>> flat.arguments(({'W': w, 'b': b}, X))   # [w, b, X]
        """
        return [args[i] if key is None else _at(args[i], key) for i, key in self.items]

    def gradient(self, out: tuple, args: tuple, finish):
        """What the old function returns (the gradient, or the value and the gradient), from what the new one
        returns (the tuple of finished items, or the value and that tuple)."""
        if self.returned is None:  # (no container argument's gradient: as the code returns it)
            return out
        if self.with_value:
            return out[0], self._container(out[1], args, finish, self.returned)
        if isinstance(self.returned, list):
            return tuple(g if returned[1] is None else self._container(g, args, finish, returned[1:])
                         for g, returned in zip(out, self.returned))
        return self._container(out, args, finish, self.returned)

    def _container(self, items, args, finish, returned):
        position, keys, kind = returned
        if any(isinstance(k, Path) for k in keys):  # items of items: the argument's own nesting, each leaf finished
            build = self.__dict__.get(("build", position))
            if build is None:  # (the structure is the variant's: the same on every call)
                build = self.__dict__[("build", position)] = _builder(args[position], keys)
            return build(items, args[position], finish)
        return finish(dict(zip(keys, items)) if kind is dict else kind(items), args[position])


class Path(tuple):
    """The keys from a container argument down to an item of one of its items (`enc[0][1]`: Path((0, 1)))."""


def _at(value, key):
    if isinstance(key, Path):
        for k in key:
            value = value[k]
        return value
    return value[key]


def _builder(value, keys):
    """A function `(items, argument, finish)` -> the gradient's container shaped as `value` (its lists, tuples and
    dicts), each leaf the item of its key (Path) among `keys`, finished for the argument's leaf as the NumPy
    code's `finish` finishes it; made once for a structure, run on every call."""
    where = {k: i for i, k in enumerate(keys)}

    def plan(v, prefix):
        if type(v) in (list, tuple, dict):
            ks = list(v) if type(v) is dict else range(len(v))
            return (type(v), [(k, plan(v[k], prefix + (k,))) for k in ks])
        return where[Path(prefix) if len(prefix) > 1 else prefix[0]]

    shape = plan(value, ())

    def build(items, argument, finish):
        def make(node, x):
            if type(node) is int:
                return finish(items[node], x)
            kind, parts = node
            if kind is dict:
                return {k: make(p, x[k]) for k, p in parts}
            out = [make(p, x[k]) for k, p in parts]
            return out if kind is list else kind(out)
        return make(shape, argument)
    return build


def _is_container(v) -> bool:
    return type(v) in (list, tuple, dict)


def flatten(fdef: ast.FunctionDef, containers: dict, runtime: str, returns_value: bool | None = None) -> Flattened:
    """`fdef` (not changed) with each parameter of `containers` (name -> the dict, list or tuple it is given:
    its type, length, and the nesting of containers in it are read) made one parameter per item (per item of
    an item, for lists, tuples and dicts of them); raises NotFlattenable. `returns_value`: whether the code
    returns the value beside the gradient (None: read from the return); where it does not, a returned tuple may
    hold the finish of several arguments (`wrt=(0, 1)`)."""
    import copy
    fdef = copy.deepcopy(container_structs.resolve(fdef, containers, runtime))
    parents = parent_map(fdef)
    positional = [a.arg for a in fdef.args.args]
    # (every name the code binds or reads: a nested function's parameters and name too)
    taken = {n.id if isinstance(n, ast.Name) else n.arg if isinstance(n, ast.arg) else n.name for n in walk(fdef)
             if isinstance(n, ast.Name | ast.arg | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    leaf_names: dict = {}  # (param, key) -> the new parameter's name
    finishes = []
    for param, value in containers.items():
        if param not in positional:
            raise NotFlattenable(f"a {type(value).__name__} argument given to *args, **kwargs or a keyword-only "
                                 "parameter", fdef)
        shadow = next((n for n in walk(fdef) if isinstance(n, ast.arg) and n.arg == param
                       and not any(n is a for a in fdef.args.args)), None)
        if shadow is not None:  # (a nested function's or lambda's own `p`: its `p[0]` is not the argument's)
            raise NotFlattenable(f"a nested function's parameter named as the {type(value).__name__} argument "
                                 f"{param}", shadow)
        for node in [n for n in walk(fdef) if isinstance(n, ast.Name) and n.id == param]:
            if not isinstance(node.ctx, ast.Load):
                raise NotFlattenable(f"the {type(value).__name__} argument {param} assigned to", node)
            parent = parents[id(node)]
            if isinstance(parent, ast.Subscript) and parent.value is node:
                key = _key(parent.slice, value)
                if key is None and isinstance(value, dict) and isinstance(parent.slice, ast.Constant):
                    raise NotFlattenable(f"a key the dict argument does not have ({parent.slice.value!r}: the "
                                         "NumPy code raises KeyError)", parent)
                if key is None:
                    raise NotFlattenable(f"a {type(value).__name__} argument read other than by a constant key",
                                         parent)
                path, item, read = (key,), value[key], parent
                while _is_container(item):  # `enc[0][1]`: down to an item that is no container
                    up = parents.get(id(read))
                    inner = _key(up.slice, item) if isinstance(up, ast.Subscript) and up.value is read else None
                    if inner is None:
                        raise NotFlattenable(f"an item of the {type(value).__name__} argument {param} read other than "
                                             "by a constant key", up if isinstance(up, ast.Subscript) else read)
                    path, item, read = path + (inner,), item[inner], up
                key = Path(path) if len(path) > 1 else key
                name = leaf_names.get((param, key)) or _fresh(param, key, taken)
                leaf_names[(param, key)] = name
                replace_child(parents[id(read)], read, ast.Name(id=name, ctx=ast.Load()))
            elif _is_returned_finish(parent, node, runtime, parents, returns_value):
                finishes.append((param, value, parent))
            else:
                raise NotFlattenable(f"a {type(value).__name__} argument read as a whole", parent)
    several = returns_value is False and len(finishes) > 1
    if finishes or several:
        return _with_finished_items(fdef, containers, finishes, several, leaf_names, taken, parents, positional,
                                    returns_value)
    # (no container argument differentiated, `wrt` an array beside a list of layers: the gradient as the code makes it)
    return Flattened(fdef, _flat_arguments(fdef, containers, leaf_names), None)


def _with_finished_items(fdef, containers, finishes, several, leaf_names, taken, parents, positional, returns_value):
    """`flatten`'s result where container arguments' gradients are returned (`finishes`: their finishes)."""
    if len(finishes) != 1 and not several:
        raise NotFlattenable("the gradient of a container argument returned other than by one finish", fdef)
    if several and len({param for param, _, _ in finishes}) != len(finishes):
        raise NotFlattenable("the gradient of a container argument returned twice", fdef)
    returned, made = [], {}
    for param, value, call in finishes:
        keys, parts = _finished_items(param, value, call, leaf_names, taken)
        tup = ast.Tuple(elts=parts, ctx=ast.Load())
        replace_child(parents[id(call)], call, tup)
        made[id(tup)] = (param, keys, type(call.args[0]) is ast.Dict and dict
                         or type(call.args[0]) is ast.Tuple and tuple or list)
        returned.append((param, keys, call))
    with_value = not several and not isinstance(parents.get(id(finishes[0][2])), ast.Return)
    returned_list = None
    if several or (returns_value is False and with_value):  # a tuple of gradients, some of container arguments
        whole = parents[id(finishes[0][2])]
        returned_list = [(place,) + ((positional.index(made[id(e)][0]),) + made[id(e)][1:] if id(e) in made
                                     else (None, None, None)) for place, e in enumerate(whole.elts)]
        with_value = False
    items = _flat_arguments(fdef, containers, leaf_names)
    if returned_list is not None:
        return Flattened(fdef, items, returned_list)
    (param, keys, call), = returned
    return Flattened(fdef, items, (positional.index(param), keys, type(call.args[0]) is ast.Dict and dict
                                   or type(call.args[0]) is ast.Tuple and tuple or list), with_value)


def _flat_arguments(fdef, containers, leaf_names) -> list:
    """`fdef`'s parameters made one per item of each container argument, in place; (position of the old parameter,
    key or None) for each new one."""
    items, new_args = [], []
    for i, a in enumerate(fdef.args.args):
        if a.arg in containers:
            for (p, key), name in leaf_names.items():
                if p == a.arg:
                    items.append((i, key))
                    new_args.append(ast.arg(arg=name))
        else:
            items.append((i, None))
            new_args.append(a)
    # (the caller passes every positional argument, defaults completed: s2s/compiled.py; after the items the
    # defaults would stand for other parameters)
    fdef.args.defaults = []
    fdef.args.args = new_args
    ast.fix_missing_locations(fdef)
    return items


def _finished_items(param, value, call, leaf_names, taken):
    """(the keys (Paths) of the items of `value` the display `call.args[0]` gives, in order; the finish of each item,
    of its parameter): a display of displays for items that are lists, tuples or dicts, a zero for an item whose
    gradient is zero throughout."""
    keys, parts = [], []

    def visit(display, item, path):
        if not _is_container(item):
            key = Path(path) if len(path) > 1 else path[0]
            name = leaf_names.get((param, key)) or _fresh(param, key, taken)
            leaf_names[(param, key)] = name
            keys.append(key)
            parts.append(ast.Call(func=copy.deepcopy(call.func), args=[display, ast.Name(id=name, ctx=ast.Load())],
                                  keywords=[]))
            return
        if path and isinstance(display, ast.Constant) and type(display.value) in (int, float) and display.value == 0:
            for k in (item if type(item) is dict else range(len(item))):  # the zero of a whole item
                visit(ast.Constant(0.0), item[k], path + (k,))
            return
        if isinstance(item, dict) and isinstance(display, ast.Dict) and all(
                isinstance(k, ast.Constant) for k in display.keys):
            pairs = [(k.value, v) for k, v in zip(display.keys, display.values)]
        elif isinstance(item, list | tuple) and isinstance(display, ast.List | ast.Tuple) \
                and len(display.elts) == len(item):
            pairs = list(enumerate(display.elts))
        else:
            raise NotFlattenable("the gradient of a container argument made other than as one display", call)
        ks = [k for k, _ in pairs]
        if len(set(ks)) != len(ks) or not set(ks) <= set(range(len(item)) if not isinstance(item, dict) else item):
            raise NotFlattenable("a gradient display whose keys are not the argument's", call)
        if path and set(ks) != set(range(len(item)) if not isinstance(item, dict) else item):
            raise NotFlattenable("a gradient display of an item whose keys are not the item's", call)
        for k, part in pairs:
            visit(part, item[k], path + (k,))

    import copy
    visit(call.args[0], value, ())
    return keys, parts


def _key(node, value):
    """The item a constant subscript reads, as a key of `value` (a negative index made positive), or None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and type(node.operand.value) is int:
        node = ast.Constant(-node.operand.value)  # p[-1]
    if not isinstance(node, ast.Constant) or type(node.value) not in (str, int):
        return None
    key = node.value
    if isinstance(value, dict):
        return key if key in value else None
    if type(key) is not int or not -len(value) <= key < len(value):
        return None
    return key % len(value)


def _is_returned_finish(call, node, runtime, parents, returns_value=None) -> bool:
    return isinstance(call, ast.Call) and len(call.args) == 2 and call.args[1] is node and not call.keywords \
        and isinstance(call.func, ast.Attribute) and call.func.attr == "finish" \
        and isinstance(call.func.value, ast.Name) and call.func.value.id == runtime \
        and (isinstance(parents.get(id(call)), ast.Return) or _beside_the_value(call, parents)
             or returns_value is False and _in_the_returned_tuple(call, parents))


def _in_the_returned_tuple(call, parents) -> bool:
    """`return s2s.finish(g, p), s2s.finish(h, q)`: the gradients of several arguments (`wrt=(0, 1)`)."""
    whole = parents.get(id(call))
    return isinstance(whole, ast.Tuple) and isinstance(parents.get(id(whole)), ast.Return)


def _beside_the_value(call, parents) -> bool:
    """`return value, s2s.finish(g, p)`: the code returns the function's value too (its output's shape unknown)."""
    pair = parents.get(id(call))
    return isinstance(pair, ast.Tuple) and len(pair.elts) == 2 and pair.elts[1] is call \
        and isinstance(parents.get(id(pair)), ast.Return)


def _fresh(param, key, taken):
    """A new parameter's name for `param[key]`: the key's ASCII letters, digits and underscores, others `_` (a
    key's other letters may be no identifier's, `x²`, or one the parser reads as another: `ﬁ` is `fi` after NFKC
    normalisation, a name the code may already use); the parameter's name is one the parser normalised."""
    text = "_".join(str(k) for k in key) if isinstance(key, Path) else str(key)
    name = f"{param}_{re.sub(r'[^0-9A-Za-z_]', '_', text)}"
    while name in taken:
        name += "_"
    taken.add(name)
    return name
