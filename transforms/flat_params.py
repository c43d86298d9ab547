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

from .numba_lowering import NotLowerable
from .walk import parent_map, replace_child, walk


class NotFlattenable(NotLowerable):
    """A read of a container parameter other than an item of a constant key or the returned `finish`
    (`message`, and `node`: where it is in the generated code)."""


@dataclass
class Flattened:
    fdef: ast.FunctionDef
    items: list  # for each positional parameter of the new function: (position of the old parameter, key or None)
    returned: tuple  # (position of the parameter whose gradient is returned, its keys in order, its type)
    with_value: bool = False  # the code returns (value, the items' tuple): `return value, s2s.finish(...)`

    def arguments(self, args: tuple) -> list:
        """The new function's arguments for the old one's positional `args`.

            >>> flat.arguments(({'W': w, 'b': b}, X))   # [w, b, X]
        """
        return [args[i] if key is None else args[i][key] for i, key in self.items]

    def gradient(self, out: tuple, args: tuple, finish):
        """What the old function returns (the gradient, or the value and the gradient), from what the new one
        returns (the tuple of finished items, or the value and that tuple)."""
        if self.with_value:
            return out[0], self._container(out[1], args, finish)
        return self._container(out, args, finish)

    def _container(self, items, args, finish):
        position, keys, kind = self.returned
        return finish(dict(zip(keys, items)) if kind is dict else kind(items), args[position])


def flatten(fdef: ast.FunctionDef, containers: dict, runtime: str) -> Flattened:
    """`fdef` (not changed) with each parameter of `containers` (name -> the dict, list or tuple it is given:
    only its type and length are read) made one parameter per item; raises NotFlattenable."""
    import copy
    fdef = copy.deepcopy(fdef)
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
                name = leaf_names.get((param, key)) or _fresh(param, key, taken)
                leaf_names[(param, key)] = name
                replace_child(parents[id(parent)], parent, ast.Name(id=name, ctx=ast.Load()))
            elif _is_returned_finish(parent, node, runtime, parents):
                finishes.append((param, value, parent))
            else:
                raise NotFlattenable(f"a {type(value).__name__} argument read as a whole", parent)
    if len(finishes) != 1:
        raise NotFlattenable("the gradient of a container argument returned other than by one finish", fdef)
    (param, value, call), = finishes
    with_value = not isinstance(parents.get(id(call)), ast.Return)  # (`return value, s2s.finish(...)`)
    display = call.args[0]
    if isinstance(value, dict) and isinstance(display, ast.Dict) and all(
            isinstance(k, ast.Constant) for k in display.keys):
        keys = [k.value for k in display.keys]
    elif isinstance(value, list | tuple) and isinstance(display, ast.List | ast.Tuple) \
            and len(display.elts) == len(value):
        keys = list(range(len(value)))
    else:
        raise NotFlattenable("the gradient of a container argument made other than as one display", call)
    if len(set(keys)) != len(keys) or not set(keys) <= set(range(len(value)) if not isinstance(value, dict)
                                                        else value):
        raise NotFlattenable("a gradient display whose keys are not the argument's", call)
    parts = []
    for key, part in zip(keys, display.values if isinstance(display, ast.Dict) else display.elts):
        name = leaf_names.get((param, key)) or _fresh(param, key, taken)
        leaf_names[(param, key)] = name
        parts.append(ast.Call(func=call.func, args=[part, ast.Name(id=name, ctx=ast.Load())], keywords=[]))
    replace_child(parents[id(call)], call, ast.Tuple(elts=parts, ctx=ast.Load()))
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
    if fdef.args.defaults:
        raise NotFlattenable("positional parameters with defaults beside a container argument", fdef)
    fdef.args.args = new_args
    ast.fix_missing_locations(fdef)
    return Flattened(fdef, items, (positional.index(param), keys, type(display) is ast.Dict and dict
                                   or type(display) is ast.Tuple and tuple or list), with_value)


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


def _is_returned_finish(call, node, runtime, parents) -> bool:
    return isinstance(call, ast.Call) and len(call.args) == 2 and call.args[1] is node and not call.keywords \
        and isinstance(call.func, ast.Attribute) and call.func.attr == "finish" \
        and isinstance(call.func.value, ast.Name) and call.func.value.id == runtime \
        and (isinstance(parents.get(id(call)), ast.Return) or _beside_the_value(call, parents))


def _beside_the_value(call, parents) -> bool:
    """`return value, s2s.finish(g, p)`: the code returns the function's value too (its output's shape unknown)."""
    pair = parents.get(id(call))
    return isinstance(pair, ast.Tuple) and len(pair.elts) == 2 and pair.elts[1] is call \
        and isinstance(parents.get(id(pair)), ast.Return)


def _fresh(param, key, taken):
    """A new parameter's name for `param[key]`: the key's ASCII letters, digits and underscores, others `_` (a
    key's other letters may be no identifier's, `x²`, or one the parser reads as another: `ﬁ` is `fi` after NFKC
    normalisation, a name the code may already use); the parameter's name is one the parser normalised."""
    name = f"{param}_{re.sub(r'[^0-9A-Za-z_]', '_', str(key))}"
    while name in taken:
        name += "_"
    taken.add(name)
    return name
