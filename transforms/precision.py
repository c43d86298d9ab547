"""Whether a function's code computes in float64 only: no other floating dtype is named, and none arises.

Several rewrites hold only where every floating value is float64: a Python number in place of a float64
broadcast of it (`t_bar = np.sum(1.0 * w)` for `np.sum(np.ones_like(t2) * w)`), an adjoint accumulated in place
into an array of an argument's dtype. NumPy's promotion (NEP 50) keeps a Python float "weak": `1.0 * w32` stays
float32 where `ones64 * w32` is float64, and a sum over float32 values rounds as float32 (2.5 where 3.5 is
right for [1e8, 1, -1e8, 2, 0.5]). So a float32 array the function makes itself (`v.astype(np.float32)`,
`np.ones(n, DT)`, `np.asarray(v, "f4")`, `np.sqrt(x > 0)`, which is float16) must turn those rewrites off as
surely as a float32 argument does. The code is read for every way such a value can be made:

- an attribute naming another floating dtype (`np.float32`, `np.half`), or `np.dtype`;
- a string that NumPy reads as one (`"f4"`, `"float32"`, `"e"`) where a dtype may go, or a complex literal;
- a free name holding one (`DT = np.float32` of the module, `from numpy import float32`, called too);
- a dtype given to `dtype=`, `astype`, `view` or a NumPy function's dtype position that is not certainly float64,
  an integer or a boolean one, or an array's `.dtype` (a parameter `dt` given "float32" at the call);
- a call of a function of yours that s2s did not inline, or of a function held by a local name;
- a ufunc with a floating result given booleans or small integers (`np.sqrt(x > 0)`, `np.exp(mask)` of a bool
  argument, `np.exp(v.astype(np.int8))`: float16), followed through names, indexing, arithmetic and calls. A boolean
  or int8 array used otherwise (multiplied, an index) makes no narrower float.

`Dtypes` says which dtype each name certainly has, for float32 code (see `specialize.Context`).

    >>> import numpy as np
    >>> tree = ast.parse("def f(x, v):\\n    w = v.astype(np.float32)\\n    return np.sum(x[0] * w)").body[0]
    >>> names_only_float64(tree, "np", {"np": np}.get)
    False
"""
from __future__ import annotations

import ast
import enum
import functools
import itertools
import operator
import types
import warnings

import numpy as np

from .context import ctx
from .names import bound_values, dotted_object
from .shapes import Keyed, Seq
from .walk import walk, walk_nodes

__all__ = ["FLOAT64", "NARROW_KINDS", "NOT_FLOAT64", "Dtypes", "Once", "hidden_read_site", "names_only_float64",
           "other_dtype_site", "plain_dtype_text"]

# dtype attributes (`np.float32`) whose values NumPy computes in another floating dtype (booleans and small integers
# make one only through a floating ufunc, which `_float_ufunc_of_narrow` looks for)
NOT_FLOAT64 = frozenset({"float16", "half", "float32", "single", "longdouble", "float128", "complex64",
                         "complex128", "complex_", "csingle", "cdouble", "clongdouble"})
FLOAT64 = np.dtype(np.float64)
# dtype characters of booleans and integers narrower than 32 bits: a ufunc with a floating result makes float16 of them
NARROW_KINDS = frozenset("?bhBH")
_BOOL_UFUNCS = frozenset({"less", "less_equal", "greater", "greater_equal", "equal", "not_equal", "logical_and",
                          "logical_or", "logical_not", "logical_xor", "isnan", "isinf", "isfinite", "signbit"})
# NumPy functions and array methods whose result is boolean
_BOOL_RESULTS = frozenset({"all", "any", "isclose", "isin", "in1d", "isreal", "iscomplex", "isneginf", "isposinf",
                           "isnat", "iscomplexobj", "isrealobj", "isfortran"})
# functions and methods whose result is int64 or float64 for booleans and small integers
_WIDENING = frozenset({"sum", "mean", "cumsum", "cumprod", "prod", "count_nonzero", "argmax", "argmin", "argsort",
                       "nonzero", "flatnonzero", "average", "var", "std", "nansum", "nanmean", "len"})
# ufuncs whose result is floating whatever they are given (their result is no boolean or small integer)
_FLOAT_UFUNCS = frozenset({"true_divide", "divide", "sqrt", "exp", "log", "sin", "cos", "tan", "tanh", "arctan",
                           "log1p", "expm1", "cbrt", "exp2", "log2", "log10", "sinh", "cosh", "arcsin", "arccos",
                           "arctan2", "hypot", "arcsinh", "arccosh", "arctanh", "deg2rad", "rad2deg"})


def names_only_float64(fdef: ast.FunctionDef, np_name: str, resolve, narrow=frozenset()) -> bool:
    """Whether `fdef`'s code names no floating dtype but float64, holds no complex literal, calls no function it does
    not read, and gives no ufunc with a floating result booleans or small integers (`narrow`: the parameters that
    hold them, by their dtypes). `resolve(name)` gives a free name's value (a module's global, a closure's cell).

        >>> import numpy as np
        >>> tree = ast.parse("def f(x):\\n    return np.sum(np.exp(x) * 2.0)").body[0]
        >>> names_only_float64(tree, "np", {"np": np}.get)
        True
    """
    return other_dtype_site(fdef, np_name, resolve, narrow) is None


def other_dtype_site(fdef: ast.FunctionDef, np_name: str, resolve, narrow=frozenset(),
                     narrowest: np.dtype = FLOAT64) -> ast.AST | None:
    """The first node of `fdef` that names or may make another dtype than float64 (see `names_only_float64`), or None.
    With `narrowest` float32, float32 may be named too: the first node that may make a floating dtype narrower than
    float32 (float16, by name or by a ufunc of booleans or small integers).

        >>> import numpy as np
        >>> tree = ast.parse("def f(x, v):\\n    return np.sum(x * np.asarray(v, 'f4'))").body[0]
        >>> ast.unparse(other_dtype_site(tree, "np", {"np": np}.get))
        "'f4'"
    """
    local = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)} | {
        n.id for n in walk_nodes(fdef) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    code = _Code(local, resolve)
    site = _float_ufunc_of_narrow(fdef, code, set(narrow))
    if site is not None:
        return site
    called = {id(n.func) for n in walk_nodes(fdef) if isinstance(n, ast.Call)}
    parents = Once(lambda: {id(child): n for n in walk_nodes(fdef) for child in ast.iter_child_nodes(n)})
    array_dtypes = Once(lambda: _array_dtype_names(fdef, np_name))
    for n in walk_nodes(fdef):
        if isinstance(n, ast.Constant) and (isinstance(n.value, complex) or isinstance(n.value, str)
                                            and not plain_dtype_text(n.value, narrowest)
                                            and _dtype_place(n, parents(), code, fdef)):
            return n
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in local \
                and (id(n) not in called or _numpy_type(code, n.id)) and _names_another_dtype(code, n.id, narrowest):
            return n  # (`DT = np.float32` of the module: `np.zeros(3, DT)`; `from numpy import float32`: `float32(v)`)
        if isinstance(n, ast.Attribute) and (n.attr in NOT_FLOAT64 and not _allowed(n.attr, narrowest)
                                             or n.attr == "dtype" and isinstance(n.value, ast.Name)
                                             and n.value.id == np_name):
            return n  # (`np.float32`, `np.dtype(...)`)
        if isinstance(n, ast.Call) and not all(_float64_dtype(v, np_name, code, narrowest)
                                               or isinstance(v, ast.Name) and v.id in array_dtypes()
                                               for v in _dtypes_given(n, code)):
            return n
        if isinstance(n, ast.Call) and _opaque(n, code):
            return n  # (a function of yours s2s did not inline, its value not differentiated: any dtype)
    return None


def hidden_read_site(fdef: ast.FunctionDef, resolve, known) -> ast.expr | None:
    """The first read in `fdef` of a value whose dtype s2s does not see, or None: a parameter none of the `known` names
    (those given an array, a number or a container of them: a keyword-only argument, an object whose `m.w` is read),
    a free name holding an array, a container or an object not known (`G["w"]` of a module's dict), an attribute of
    a module, class or function holding one (`wmod.W`, `Cfg.w`), or a NumPy scalar of another dtype than float64.
    Functions, classes, modules, Python numbers and strings, and immutable tuples, ranges and slices of those, are
    known; a name called is left to `other_dtype_site`. The read is given as the attribute or item chain it heads.

        >>> import numpy as np
        >>> tree = ast.parse("def f(x, m):\\n    return np.dot(x, m.w)").body[0]
        >>> ast.unparse(hidden_read_site(tree, {"np": np}.get, {"x"}))
        'm.w'
    """
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    local = params | {n.id for n in walk_nodes(fdef) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    code = _Code(local, resolve)
    called = {id(n.func) for n in walk_nodes(fdef) if isinstance(n, ast.Call)}
    parents = Once(lambda: {id(child): n for n in walk_nodes(fdef) for child in ast.iter_child_nodes(n)})

    def chain(node):  # (the attribute or item chain `node` heads, for the printed note: `m.w`, `G["w"]`)
        while isinstance(parents().get(id(node)), ast.Attribute | ast.Subscript) \
                and parents()[id(node)].value is node and id(parents()[id(node)]) not in called:
            node = parents()[id(node)]
        return node

    for n in walk_nodes(fdef):
        if id(n) in called or not isinstance(getattr(n, "ctx", None), ast.Load):
            continue
        if isinstance(n, ast.Name) and n.id not in known:
            if n.id in params:
                return chain(n)
            if n.id not in local and _dtype_unknown(code.dotted(n)):
                return chain(n)
        elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name | ast.Attribute) \
                and _root_name(n) not in local and _root_name(n) not in known and _dtype_unknown(code.dotted(n)):
            return chain(n)  # (`wmod.W`, `Cfg.w` of a module's or a class's float32 array)
    return None


def _root_name(node):
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dtype_unknown(obj) -> bool:
    """Whether a free value may hold floating values of a dtype nobody has looked at (None: nothing the code could
    name, s2s's own records)."""
    if obj is None or obj is ctx().missing or ctx().is_runtime_helper(type(obj)):
        return False
    if isinstance(obj, bool | int | float | str | bytes | range | slice | types.ModuleType | type | np.dtype
                  | types.FunctionType | types.BuiltinFunctionType | types.MethodType | np.ufunc | functools.partial):
        return False
    if isinstance(obj, np.generic):
        return not _plain_dtype(obj.dtype, FLOAT64)
    if isinstance(obj, enum.Enum):
        return _dtype_unknown(obj.value)
    if type(obj) in (tuple, frozenset):  # (immutable: what they hold now they hold when the code runs)
        return any(_dtype_unknown(v) for v in obj)
    return True


class Once:
    """A value computed when first asked for (most callers never need it).

        >>> answer = Once(lambda: 6 * 7)
        >>> answer(), answer()
        (42, 42)
    """

    def __init__(self, make):
        self.make, self.value, self.made = make, None, False

    def __call__(self):
        if not self.made:
            self.value, self.made = self.make(), True
        return self.value


def _opaque(call, code) -> bool:
    """Whether `call` runs code this analysis does not read: a Python function of yours (not NumPy's, SciPy's,
    `math`'s or s2s's), or a function held by a local name (a parameter `act`). Methods are not counted (an
    object's attributes are not read either: see docs/specialisation.md)."""
    if isinstance(call.func, ast.Name) and call.func.id in code.local:
        return True
    callee = code.callee(call)
    if not isinstance(callee, types.FunctionType | functools.partial):
        return False
    module = (getattr(callee, "__module__", None) or "").split(".")[0]
    return module not in ("numpy", "scipy", "math", "builtins") and not ctx().is_runtime_helper(callee)


def _array_dtype_names(fdef, np_name) -> set:
    """The names `fdef` binds only to an array's `.dtype` (`t = x.dtype`, as desugaring writes `astype(x.dtype)`)."""
    return {name for name, values in bound_values(fdef).items() if all(
        isinstance(v, ast.Attribute) and v.attr == "dtype" and isinstance(v.value, ast.Name) and v.value.id != np_name
        for v in values)}


def _allowed(attr: str, narrowest: np.dtype) -> bool:
    """Whether NumPy's dtype attribute `attr` (one of NOT_FLOAT64) is real floating and no narrower than `narrowest`."""
    dtype = np.dtype(getattr(np, attr, object))
    return dtype.kind == "f" and dtype.itemsize >= narrowest.itemsize


def _numpy_type(code, name) -> bool:
    """Whether the free name `name` holds one of NumPy's scalar types (`float32(v)` converts: a float32 array)."""
    try:
        obj = code.resolve(name)
    except Exception:  # noqa: BLE001 - none of the function's: s2s's own (a record of a check, a linked derivative)
        return False
    return isinstance(obj, type) and issubclass(obj, np.generic) or obj is complex


class _Code:
    """The names a function binds and how its free names resolve: what a dotted name denotes."""

    def __init__(self, local, resolve):
        self.local, self.resolve = local, resolve
        self.known: dict = {}  # id(node) -> (node, what it denotes): each dotted name resolved once

    def callee(self, call):
        return self.dotted(call.func)

    def dotted(self, f):
        """The object a dotted name (`np.float32`) denotes, or None (a local, or not a dotted name)."""
        known = self.known.get(id(f))
        if known is not None and known[0] is f:
            return known[1]
        obj = self._dotted(f)
        self.known[id(f)] = (f, obj)
        return obj

    def _dotted(self, f):
        try:
            return dotted_object(f, self.local, self.resolve)
        except Exception:  # noqa: BLE001 - none of the function's: s2s's own (a record of a check, a linked derivative)
            return None


def _dtypes_given(call, code):
    """The dtype expressions a call is given: its `dtype=`, an `astype`'s or `view`'s (`x.astype(d)`, or
    `s2s.astype(x, d)` as desugaring writes it), and a NumPy function's positional one (`np.ones(n, dt)`)."""
    given = [k.value for k in call.keywords if k.arg == "dtype"]
    if isinstance(call.func, ast.Attribute) and call.func.attr in ("astype", "view"):
        helper = code.callee(call) is getattr(ctx().runtime, "astype", None)
        given += call.args[1:2] if helper else call.args[:1]
    callee = code.callee(call)
    position = _DTYPE_POSITIONS.get(getattr(callee, "__name__", None)) if _from_numpy(callee) else None
    if position is not None:
        given += call.args[position:position + 1]
    return given


# NumPy functions -> the position of their dtype parameter (`np.full(shape, value, dtype)`)
_DTYPE_POSITIONS = {"zeros": 1, "ones": 1, "empty": 1, "full": 2, "zeros_like": 1, "ones_like": 1, "empty_like": 1,
                    "full_like": 2, "array": 1, "asarray": 1, "asanyarray": 1, "ascontiguousarray": 1, "arange": 3,
                    "linspace": 5, "logspace": 5, "geomspace": 4, "eye": 3, "identity": 1, "frombuffer": 1,
                    "fromiter": 1, "sum": 2, "mean": 2, "prod": 2, "cumsum": 2, "cumprod": 2, "nansum": 2,
                    "nanmean": 2, "std": 2, "var": 2, "trace": 4, "einsum": None, "tri": 3, "ndarray": 1}


def _float64_dtype(v, np_name, code, narrowest=FLOAT64) -> bool:
    """Whether a dtype expression certainly gives no other floating dtype than float64 (or a real floating one no
    narrower than `narrowest`): such a dtype by name (`np.float64`, `"f8"`, `float`), an integer or boolean dtype (a
    narrow one's values are followed to the ufuncs that would make float16 of them: `_float_ufunc_of_narrow`), or
    an array's `.dtype` (an argument's, or one of these)."""
    if isinstance(v, ast.Attribute) and v.attr == "dtype" and not (isinstance(v.value, ast.Name) and v.value.id == np_name):
        return True
    dtype = _denoted_dtype(v, code)
    return dtype is not None and _plain_dtype(dtype, narrowest)


def _denoted_dtype(v, code) -> np.dtype | None:
    """The dtype a dtype expression certainly denotes (`np.float32`, `DT` of the module, `"f4"`, `bool`), or None."""
    if isinstance(v, ast.Constant) and isinstance(v.value, str):
        obj = v.value
    elif isinstance(v, ast.Name) and v.id in ("int", "float", "bool", "complex") and v.id not in code.local:
        obj = {"int": int, "float": float, "bool": bool, "complex": complex}[v.id]
    elif isinstance(v, ast.Attribute | ast.Name):
        obj = code.dotted(v)
        if not (isinstance(obj, np.dtype | str) or isinstance(obj, type) and issubclass(obj, np.generic)):
            return None
    else:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return np.dtype(obj)
    except (TypeError, ValueError, SyntaxError):
        return None


def _narrow_dtype(dtype: np.dtype | None) -> bool:
    """Booleans and integers narrower than 32 bits: a floating ufunc makes float16 of them."""
    return dtype is not None and dtype.kind in "biu" and dtype.itemsize < 4


def _float_ufunc_of_narrow(fdef, code, narrow: set) -> ast.Call | None:
    """A call of a ufunc with a floating result that may be given booleans or small integers (`np.sqrt(x > 0)` is
    float16, which a weak Python float keeps), or None: a comparison, `~`/`not` of one, a boolean ufunc, a `narrow`
    parameter, or a value made of one of these by indexing, arithmetic with integers or a call (a fixed point over
    the names bound to them: `m = mask[1:]`, then `np.exp(m)`). Over-approximated: `np.max(mask)` counts too."""
    named = set(narrow)

    def made_narrow(node) -> bool:
        if isinstance(node, ast.Compare) or isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert):
            return True
        if isinstance(node, ast.Constant):
            return type(node.value) is bool  # (`np.where(c, True, False)`, `np.full(5, True)`)
        if isinstance(node, ast.Name):
            if node.id in named:
                return True
            value = code.dotted(node)  # (a module's int8 array, or a bool: not among the arguments' facts)
            return isinstance(value, np.ndarray | np.generic) and _narrow_dtype(value.dtype) or type(value) is bool
        if isinstance(node, ast.Subscript | ast.Attribute | ast.Starred):
            return made_narrow(node.value)
        if isinstance(node, ast.UnaryOp):
            return made_narrow(node.operand)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Div):
                return False
            sides = (node.left, node.right)
            return any(made_narrow(s) for s in sides) and all(
                made_narrow(s) or isinstance(s, ast.Constant) and type(s.value) in (int, bool) for s in sides)
        if isinstance(node, ast.BoolOp | ast.Tuple | ast.List | ast.Set):
            return any(made_narrow(v) for v in getattr(node, "values", None) or node.elts)
        if isinstance(node, ast.IfExp):
            return made_narrow(node.body) or made_narrow(node.orelse)
        if isinstance(node, ast.Call):
            callee = code.callee(node)
            if any(_narrow_dtype(_denoted_dtype(v, code)) or made_narrow(v) for v in _dtypes_given(node, code)):
                return True  # (`np.ones(n, dtype=bool)`, `v.astype(np.int8)`, `np.zeros(n, mask.dtype)`)
            if isinstance(callee, type) and issubclass(callee, np.generic) and _narrow_dtype(np.dtype(callee)):
                return True  # (`np.int8(3)`)
            if isinstance(getattr(callee, "__self__", None), np.ufunc) and callee.__self__.__name__ in _BOOL_UFUNCS:
                return True  # (`np.greater.outer(a, b)`)
            if _from_numpy(callee) and getattr(callee, "__name__", None) in _BOOL_RESULTS or callee is None and isinstance(
                    node.func, ast.Attribute) and node.func.attr in _BOOL_RESULTS:
                return True  # (`np.isclose(a, b)`, `mask.all(axis=0)`)
            if isinstance(callee, np.ufunc):
                return callee.__name__ in _BOOL_UFUNCS or callee.__name__ not in _FLOAT_UFUNCS and any(
                    made_narrow(a) for a in node.args)
            name = callee.__name__ if callable(callee) and _from_numpy(callee) else \
                node.func.attr if isinstance(node.func, ast.Attribute) and callee is None else None
            if name in _WIDENING:  # (`np.sum(mask)`, `mask.mean()`: int64 and float64)
                return False
            parts = node.args[1:] if name == "where" and callee is not None else node.args  # (np.where(c, a, b): a, b)
            return any(made_narrow(a) for a in (*parts, *(k.value for k in node.keywords), node.func))
        return False

    bindings = []
    for n in walk_nodes(fdef):
        if isinstance(n, ast.Assign | ast.AugAssign | ast.AnnAssign) and n.value is not None:
            targets = n.targets if isinstance(n, ast.Assign) else [n.target]
            bindings += [(t.id, n.value) for target in targets for t in walk_nodes(target) if isinstance(t, ast.Name)]
        elif isinstance(n, ast.For | ast.comprehension):
            bindings += [(t.id, n.iter) for t in walk_nodes(n.target) if isinstance(t, ast.Name)]
        elif isinstance(n, ast.NamedExpr):
            bindings.append((n.target.id, n.value))
    changed = True
    while changed:
        changed = False
        for name, value in bindings:
            if name not in named and made_narrow(value):
                named.add(name)
                changed = True
    for n in walk_nodes(fdef):
        if isinstance(n, ast.Call) and n.args:
            callee = code.callee(n)
            if isinstance(callee, np.ufunc) and callee.__name__ not in _BOOL_UFUNCS and any(made_narrow(a) for a in n.args):
                return n
    return None


def _from_numpy(obj) -> bool:
    return (getattr(obj, "__module__", None) or "").split(".")[0] == "numpy"


def _dtype_place(node, parents, code, fdef) -> bool:
    """Whether a string may be read as a dtype where it stands: not a subscript's key (`params["b1"]`), a dict's
    key, a comparison's operand, a keyword's other than `dtype=` (`mode="same"`), anything inside a call of one of
    s2s's runtime helpers that take no dtype (`s2s.field_grad(g, p, ["b"])`: a field named b), or the default of a
    parameter the code only compares (`mode="f"`, read as `if mode == "f":`)."""
    parent = parents.get(id(node))
    if isinstance(parent, ast.Subscript) and parent.slice is node or isinstance(parent, ast.Compare):
        return False
    if isinstance(parent, ast.Dict) and any(k is node for k in parent.keys):
        return False
    if isinstance(parent, ast.keyword) and parent.arg != "dtype":
        return False
    if isinstance(parent, ast.arguments):
        return not _only_compared(fdef, _defaulted(parent, node))
    above = parent
    while above is not None and not isinstance(above, ast.stmt):
        if isinstance(above, ast.Call):
            callee = code.callee(above)
            if callee is not None and ctx().is_runtime_helper(callee) and getattr(callee, "__name__", "") not in (
                    "astype", "as_array_like"):
                return False
        above = parents.get(id(above))
    return True


def _defaulted(arguments: ast.arguments, default) -> str | None:
    """The name of the parameter whose default is `default`."""
    positional = [*arguments.posonlyargs, *arguments.args]
    for arg, value in zip(positional[len(positional) - len(arguments.defaults):], arguments.defaults, strict=True):
        if value is default:
            return arg.arg
    for arg, value in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
        if value is default:
            return arg.arg
    return None


def _only_compared(fdef, name) -> bool:
    """Whether every read of `name` in `fdef` is an operand of a comparison (`mode == "f"`)."""
    compared = {id(operand) for n in walk_nodes(fdef) if isinstance(n, ast.Compare) for operand in (n.left, *n.comparators)}
    return name is not None and all(id(n) in compared for n in walk_nodes(fdef)
                                    if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load))


def _names_another_dtype(code, name, narrowest=FLOAT64) -> bool:
    """Whether the free name `name` holds a dtype other than float64's (or a real floating one no narrower than
    `narrowest`) and the wide integers' (`np.float32`, `bool`, `complex`, `np.dtype("f")`, `"float32"`)."""
    try:
        obj = code.resolve(name)
    except Exception:  # noqa: BLE001 - none of the function's: s2s's own (a record of a check, a linked derivative)
        return False
    if isinstance(obj, str):
        return not plain_dtype_text(obj, narrowest)
    if isinstance(obj, np.dtype) or isinstance(obj, type) and (issubclass(obj, np.generic) or obj in (bool, complex)):
        try:
            dtype = np.dtype(obj)
        except TypeError:
            return True
        return not _plain_dtype(dtype, narrowest)
    return False


def plain_dtype_text(text: str, narrowest: np.dtype = FLOAT64) -> bool:
    """Whether a string is no dtype, or float64 (or a real floating dtype no narrower than `narrowest`) or an integer
    of 32 or 64 bits (`"f"`, `"float32"`, `"F"` are not, where `narrowest` is float64).

        >>> plain_dtype_text("f4"), plain_dtype_text("float64"), plain_dtype_text("ij,jk->ik")
        (False, True, True)
    """
    try:
        with warnings.catch_warnings():  # (a field's name "a" reads as NumPy 2's deprecated alias of "S")
            warnings.simplefilter("ignore", DeprecationWarning)
            dtype = np.dtype(text)
    except (TypeError, ValueError, SyntaxError):
        return True
    return _plain_dtype(dtype, narrowest)


def _plain_dtype(dtype: np.dtype, narrowest: np.dtype) -> bool:
    """Whether values of `dtype` are float64 (or real floats no narrower than `narrowest`), or no floats at all."""
    return dtype == np.float64 or dtype.kind == "f" and dtype.itemsize >= narrowest.itemsize or dtype.kind not in "fc"


class Dtypes:
    """The dtype each name and expression of a function's code certainly has, by NumPy 2's promotion (NEP 50), or
    None where the code does not say: found by running each operation on samples, a 0-d array of the operands' dtypes
    for arrays and NumPy scalars, a Python number for Python's ("weak": `x32 * 2.0` stays float32). A name bound more
    than once has a dtype only where every binding gives the same; a loop's target, a tuple's item, a call of
    anything but a NumPy ufunc or reduction have none.

        >>> import numpy as np
        >>> tree = ast.parse("def f(x, a):\\n    t = np.sin(x) * a + 1.0\\n    return np.sum(t)").body[0]
        >>> Dtypes(tree, {"x": "f", "a": "d"}, {"a"}, {"np": np}.get).of(ast.Name("t", ast.Load()))
        dtype('float32')
    """

    _UNKNOWN = object()

    def __init__(self, fdef: ast.FunctionDef, kinds: dict, weak, resolve, tapes=frozenset(), either: bool = False):
        self.kinds, self.weak = kinds, set(weak)
        # (`either`: a name bound to a Python number and to a NumPy value of one dtype, `s = 0.0` then `s = s + v[i]`,
        # has the sample `_Either`, each operation run on both; else such a name has no dtype)
        self.either = either
        self.params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
        self.bindings: dict = {}
        restored = _restored(fdef, tapes)
        for n in walk_nodes(fdef):
            if isinstance(n, ast.Assign | ast.AnnAssign | ast.AugAssign) and n.value is not None:
                targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                value = ast.BinOp(n.target, n.op, n.value) if isinstance(n, ast.AugAssign) else n.value
                if isinstance(value, ast.Constant) and value.value is None or id(value) in restored:
                    continue  # (`t8 = None` before a loop, `t8 = t8_saved` from the tape: values the name has had)
                for target in targets:
                    self._bind(target, value)
            elif isinstance(n, ast.For | ast.comprehension):
                self._bind(n.target, _Item(n.iter))
            elif isinstance(n, ast.withitem | ast.NamedExpr | ast.ExceptHandler):
                target = getattr(n, "target", None) or getattr(n, "optional_vars", None)
                names = [t.id for t in walk_nodes(target) if isinstance(t, ast.Name)] if target is not None else \
                    [n.name] if isinstance(getattr(n, "name", None), str) else []
                for name in names:
                    self.bindings.setdefault(name, []).append(None)
        local = self.params | set(self.bindings)
        self.code = _Code(local, resolve)
        self.displays = _displays_read_whole(fdef, self.bindings, self.code)
        # (a fixed point from below: a name's sample joins those of its bindings, each computed from the samples of
        # the round before; a loop's `h = np.tanh(U @ h)` keeps h's dtype)
        self.env = {name: self._param(name) for name in self.params}
        for _ in range(_ROUNDS):
            new = {name: self._join(self.env.get(name, _BOTTOM),
                                    *(self._UNKNOWN if v is None else self._sample(v) for v in values))
                   for name, values in self.bindings.items()}
            if all(_same_sample(new[name], self.env.get(name, _BOTTOM)) for name in new):
                break
            self.env.update(new)
        else:
            self.env = {name: self._UNKNOWN for name in self.env}

    def _bind(self, target, value) -> None:
        """Record that `target` takes `value` (None: unknown): a name, or the items of a tuple or list of targets; an
        item or attribute assigned (`a[i] = v`) binds no name (it keeps the array's dtype)."""
        if isinstance(target, ast.Name):
            self.bindings.setdefault(target.id, []).append(value)
        elif isinstance(target, ast.Tuple | ast.List):
            for k, element in enumerate(target.elts):
                self._bind(element, None if isinstance(element, ast.Starred) or value is None else _Part(value, k))
        elif isinstance(target, ast.Starred):
            self._bind(target.value, None)

    def of(self, node) -> np.dtype | None:
        """The dtype of an array or NumPy scalar `node` certainly has, or None (unknown, or a Python number)."""
        sample = self._sample(node)
        return sample.dtype if isinstance(sample, np.ndarray | np.generic) else None

    def numpy_or_number(self, node) -> np.dtype | type | None:
        """The dtype `node` has where it is a NumPy value, the Python type (`float`) where it is always a Python
        number, or None (unknown): with `either`, `s` of `s = 0.0; for ...: s = s + v[i]` has v's dtype."""
        sample = self._sample(node)
        if isinstance(sample, _Either):
            sample = sample.array
        if isinstance(sample, np.ndarray | np.generic):
            return sample.dtype
        return type(sample) if type(sample) in (float, int, bool) else None

    def _join(self, first, *others):
        return _join(first, *others, either=self.either)

    def _param(self, name):
        kind = self.kinds.get(name)
        if not isinstance(kind, str):
            return _container_sample(kind)
        if name in self.weak:
            return {"d": 1.0, "l": 1, "?": True}.get(kind, self._UNKNOWN)
        return np.ones((), kind)

    def _name(self, name):
        if name in self.env:
            return self.env[name]
        return _BOTTOM if name in self.bindings else self._free(name)

    def _free(self, name):
        kind = self.kinds.get(name)
        if isinstance(kind, str) and name not in self.weak:
            return np.ones((), kind)
        try:
            obj = self.code.resolve(name)
        except Exception:  # noqa: BLE001 - none of the function's: s2s's own
            return self._UNKNOWN
        if type(obj) in (float, int, bool):
            return type(obj)(1)
        if isinstance(obj, np.ndarray | np.generic) and obj.dtype.kind in "biuf":
            return np.ones((), obj.dtype)
        return self._UNKNOWN

    def _sample(self, node):
        unknown = self._UNKNOWN
        if isinstance(node, _Item):  # (a loop's target: an array's rows, a tuple's items, range's ints)
            return self._item(node.iterable)
        if isinstance(node, _Part):  # (an item of an unpacked value)
            whole = self._sample(node.value)
            if isinstance(whole, tuple):
                return whole[node.index] if node.index < len(whole) else unknown
            if isinstance(whole, dict):
                return whole.get(node.index, unknown)
            if whole is _INTS:  # (`n, d = X.shape`)
                return 1
            return whole if whole is _BOTTOM else unknown
        if isinstance(node, ast.Compare) and len(node.comparators) == 1 and type(node.ops[0]) in _COMPARISONS:
            return self._apply(_COMPARISONS[type(node.ops[0])], self._sample(node.left), self._sample(node.comparators[0]))
        if isinstance(node, ast.Attribute) and node.attr in ("shape", "ndim", "size", "dtype"):
            array = self._sample(node.value)  # (an array's: ints, `n = x.shape[0]`; its dtype itself, for astype)
            if array is _BOTTOM:
                return _BOTTOM
            if isinstance(array, np.ndarray | np.generic):
                return array.dtype if node.attr == "dtype" else _INTS if node.attr == "shape" else 1
            if node.attr == "dtype":
                return unknown
        if isinstance(node, ast.Attribute) and node.attr != "T":
            value = self.code.dotted(node)  # (`np.pi`: a Python float; a record argument's field)
            if type(value) in (float, int):
                return type(value)(1)
            record = self._sample(node.value)
            return record.get(node.attr, unknown) if isinstance(record, dict) else \
                record if record is _BOTTOM else unknown
        if isinstance(node, ast.Constant):
            return type(node.value)(1) if type(node.value) in (float, int, bool) else unknown
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.BinOp):
            return self._apply(_BINARY.get(type(node.op)), self._sample(node.left), self._sample(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            return self._sample(node.operand)
        if isinstance(node, ast.Tuple):  # (a helper's returned `(h, y)`, read item by item)
            return tuple(self._sample(e) for e in node.elts) if not any(isinstance(e, ast.Starred)
                                                                         for e in node.elts) else unknown
        if isinstance(node, ast.Subscript | ast.Attribute) and (isinstance(node, ast.Subscript) or node.attr == "T"):
            value = self._sample(node.value)  # (an item, a slice, a fancy index or the transpose of an array)
            if value is _INTS:  # (an item of a shape: an int; a slice of one: ints)
                return _INTS if isinstance(node, ast.Attribute) or isinstance(node.slice, ast.Slice) else 1
            index = node.slice.value if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) else None
            if isinstance(value, tuple):
                return value[index] if type(index) is int and -len(value) <= index < len(value) else \
                    self._join(_BOTTOM, *value) if value and not isinstance(node.slice, ast.Slice) else unknown
            if isinstance(value, dict):
                return value.get(index, unknown)
            return value if isinstance(value, np.ndarray | np.generic) or value is _BOTTOM else unknown
        if isinstance(node, ast.IfExp):
            return self._join(_BOTTOM, self._sample(node.body), self._sample(node.orelse))
        if isinstance(node, ast.Call) and _from_numpy(self.code.callee(node)) and \
                getattr(self.code.callee(node), "__name__", None) in _MADE:
            return self._made(node)
        if isinstance(node, ast.Call) and not any(k.arg in ("dtype", "out") or k.arg is None for k in node.keywords) \
                and not any(isinstance(a, ast.Starred) for a in node.args):
            return self._call(node)
        return unknown

    def _made(self, node):
        """A new array's dtype: `np.zeros(n, dtype=np.float32)`, `np.zeros(n)` (float64), `np.zeros_like(x)`."""
        name = self.code.callee(node).__name__
        given = [k.value for k in node.keywords if k.arg == "dtype"] + node.args[_MADE[name]:_MADE[name] + 1]
        if any(k.arg is None for k in node.keywords) or any(isinstance(a, ast.Starred) for a in node.args):
            return self._UNKNOWN
        if not given:
            if name.endswith("_like"):
                return self._sample(node.args[0]) if node.args else self._UNKNOWN
            return self._UNKNOWN if name == "full" else np.ones((), np.float64)  # (np.full's: its value's)
        dtype = self.code.dotted(given[0]) if isinstance(given[0], ast.Attribute | ast.Name) else None
        if isinstance(given[0], ast.Attribute) and given[0].attr == "dtype":  # (`np.zeros(n, dtype=x.dtype)`)
            return self._sample(given[0].value)
        return np.ones((), dtype) if isinstance(dtype, type) and issubclass(dtype, np.number) else self._UNKNOWN

    def _call(self, node):
        callee = self.code.callee(node)
        if isinstance(callee, type) and issubclass(callee, np.floating) and len(node.args) == 1:
            return np.ones((), callee)  # (`eps = np.float32(1e-6)`)
        name = getattr(callee, "__name__", None)
        converted = self._converted(node, callee)
        if converted is not None:
            return converted
        if callee is len and len(node.args) == 1:
            return 1
        if callee in (abs, float, int) and len(node.args) == 1:  # (`abs(d)` keeps d's dtype; float() and int() Python's)
            return self._apply(callee, self._sample(node.args[0]))
        if callee in (min, max) and len(node.args) >= 2:  # (one of its arguments, as it is)
            return self._join(_BOTTOM, *(self._sample(a) for a in node.args))
        if name == "field" and ctx().is_runtime_helper(callee) and len(node.args) == 2 \
                and isinstance(node.args[1], ast.Constant):  # (`s2s.field(p, "W")`: a record argument's field)
            record = self._sample(node.args[0])
            return record.get(node.args[1].value, self._UNKNOWN) if isinstance(record, dict) else \
                record if record is _BOTTOM else self._UNKNOWN
        if _from_numpy(callee) and name in _ON_SAMPLES and node.args:
            return self._numpy(node, name)
        if isinstance(callee, np.ufunc) and len(node.args) == callee.nin:
            return self._apply(callee, *(self._sample(a) for a in node.args))
        if callee is not None and _from_numpy(callee) and getattr(callee, "__name__", None) in _KEEPING and node.args:
            if callee.__name__ not in _SHAPING and len(node.args) > 2:  # (`np.sum(a, 0, np.float64)`: a dtype, `out`)
                return self._UNKNOWN
            return self._apply(lambda a: getattr(np, callee.__name__)(np.ones(1, a.dtype) if isinstance(a, np.ndarray)
                                                                      else a), self._sample(node.args[0]))
        method = node.func.attr if callee is None and isinstance(node.func, ast.Attribute) else None
        if method in _KEEPING:  # (`t.sum()`, `t.reshape(3, 4)` of an array t: a local's method)
            if method not in _SHAPING and len(node.args) > 1:  # (`t.sum(0, np.float64)`: a dtype, `out`)
                return self._UNKNOWN
            receiver = self._sample(node.func.value)
            if not isinstance(receiver, np.ndarray | np.generic):
                return receiver if receiver is _BOTTOM else self._UNKNOWN
            return receiver if method in _SHAPING else self._apply(lambda a: getattr(np.ones(1, a.dtype), method)(),
                                                                   receiver)
        return self._UNKNOWN

    def _converted(self, node, callee):
        """An array converted to a dtype: `x.astype(d)`, `s2s.astype(x, d)` (desugaring's), of a dtype `d` that is
        a NumPy type (`np.float32`) or another array's (`y.dtype`, `t` of `t = y.dtype`); else None."""
        if callee is None and isinstance(node.func, ast.Attribute) and node.func.attr == "astype" and len(node.args) == 1:
            given = node.args[0]
        elif callee is getattr(ctx().runtime, "astype", None) and len(node.args) == 2:
            given = node.args[1]
        else:
            return None
        dotted = self.code.dotted(given) if isinstance(given, ast.Attribute | ast.Name) else None
        if isinstance(dotted, type) and issubclass(dotted, np.floating):
            return np.ones((), dotted)
        dtype = self._sample(given)
        if isinstance(dtype, np.dtype):
            return np.ones((), dtype) if dtype.kind in "biuf" else self._UNKNOWN
        return dtype if dtype is _BOTTOM else self._UNKNOWN

    def _item(self, iterable):
        """The sample of the items a loop over `iterable` takes."""
        if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name) and iterable.func.id not in \
                self.code.local and len(iterable.args) == 1 and iterable.func.id == "reversed":
            return self._item(iterable.args[0])
        if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name) and iterable.func.id == "range" \
                and "range" not in self.code.local:
            return 1
        whole = self._sample(iterable)
        if isinstance(whole, tuple):
            return self._join(_BOTTOM, *whole) if whole else self._UNKNOWN
        return whole if isinstance(whole, np.ndarray) or whole is _BOTTOM else self._UNKNOWN

    def _numpy(self, node, name):
        """NumPy's function `name` run on samples of its arguments, where their shapes do not change its dtype."""
        if any(isinstance(a, ast.Starred) for a in node.args) or node.keywords and not all(
                k.arg in ("axis", "keepdims", "ord") for k in node.keywords):
            return self._UNKNOWN
        if name in _JOINED:  # (`np.concatenate([a, b])`: a display of arrays, or a name bound only to one)
            display = node.args[0] if len(node.args) == 1 else None
            if isinstance(display, ast.Name):
                display = self.displays.get(display.id)
            if not isinstance(display, ast.List | ast.Tuple):
                return self._UNKNOWN
            parts = [self._sample(e) for e in display.elts]
            if any(p is _BOTTOM for p in parts):
                return _BOTTOM
            if not parts or not all(isinstance(p, np.ndarray | np.generic) for p in parts):
                return self._UNKNOWN
            return np.ones((), np.result_type(*parts))
        if name in ("array", "asarray", "asanyarray") and len(node.args) == 1:
            element = node.args[0]
            if isinstance(element, ast.List | ast.Tuple):  # (a display: NumPy finds the dtype of its items)
                return self._apply(lambda *items: np.array(list(items)), *(self._sample(e) for e in element.elts)) \
                    if element.elts else self._UNKNOWN
            whole = self._sample(element)
            return whole if isinstance(whole, np.ndarray | np.generic) or whole is _BOTTOM else self._UNKNOWN
        if name == "einsum":
            operands = [self._sample(a) for a in node.args[1:]]
            if any(p is _BOTTOM for p in operands):
                return _BOTTOM
            ok = operands and all(isinstance(p, np.ndarray | np.generic) for p in operands)
            return np.ones((), np.result_type(*operands)) if ok else self._UNKNOWN
        if name in _FIRST_ARGUMENTS:  # (`np.roll(x, 1)`, `np.diff(x)`: x's dtype)
            first = self._sample(node.args[0])
            return first if isinstance(first, np.ndarray | np.generic) or first is _BOTTOM else self._UNKNOWN
        shape = _SAMPLE_SHAPES.get(name, ())
        samples = [self._sample(a) for a in node.args]
        return self._apply(lambda *xs: getattr(np.linalg if name in _LINALG else np, name)(
            *(np.ones(shape[k] if k < len(shape) else (), x.dtype) if isinstance(x, np.ndarray | np.generic) else x
              for k, x in enumerate(xs))), *samples)

    def _apply(self, operation, *samples):
        if any(s is _BOTTOM for s in samples):
            return _BOTTOM
        if any(isinstance(s, _Either) for s in samples):  # (each alternative's result, joined)
            options = itertools.product(*((s.number, s.array) if isinstance(s, _Either) else (s,) for s in samples))
            return self._join(_BOTTOM, *(self._apply(operation, *option) for option in options))
        if operation is None or any(s is self._UNKNOWN or isinstance(s, tuple | dict) for s in samples):
            return self._UNKNOWN
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = operation(*samples)
        except Exception:  # noqa: BLE001 - an operation NumPy refuses on these dtypes: none known
            return self._UNKNOWN
        if isinstance(out, np.ndarray | np.generic):
            return np.ones((), out.dtype) if out.dtype.kind in "biuf" else self._UNKNOWN
        return out if type(out) in (float, int, bool) else self._UNKNOWN


def _restored(fdef, tapes) -> set:
    """ids of the values of `fdef` that restore a name's earlier value from a tape: `t8_saved` of `for ..., t8_saved in
    reversed(saved)`, `saved.pop()`, where `saved` is one of `tapes`."""
    def of_tape(e):
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and e.func.id == "reversed" and len(e.args) == 1:
            e = e.args[0]
        return isinstance(e, ast.Name) and e.id in tapes

    items = {t.id for n in walk_nodes(fdef) if isinstance(n, ast.For) and of_tape(n.iter)
             for t in walk_nodes(n.target) if isinstance(t, ast.Name)}
    out = set()
    for n in walk_nodes(fdef):
        if isinstance(n, ast.Assign):
            v = n.value
            if isinstance(v, ast.Name) and v.id in items or isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) \
                    and v.func.attr == "pop" and not v.args and of_tape(v.func.value):
                out.add(id(v))
    return out


def _displays_read_whole(fdef, bindings, code) -> dict:
    """name -> the list or tuple display it is bound to, for the names bound once to one whose every read is the
    argument of NumPy's `np.concatenate`, `np.stack`, `np.linalg.multi_dot`, ... or of an adjoint helper of s2s's
    (`s2s.grad_multi_dot(g, t)`): nothing appends to it or holds it, its items are the display's."""
    reads: dict = {}
    for n in walk_nodes(fdef):
        if isinstance(n, ast.Call):
            callee = code.callee(n)
            name = getattr(callee, "__name__", "") or ""
            joined = _from_numpy(callee) and name in _JOINED or name.startswith("grad_") and \
                ctx().is_runtime_helper(callee)
            for a in n.args:
                if isinstance(a, ast.Name):
                    reads.setdefault(a.id, []).append(joined)
    loads: dict = {}
    for n in walk_nodes(fdef):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            loads[n.id] = loads.get(n.id, 0) + 1
    return {name: values[0] for name, values in bindings.items()
            if len(values) == 1 and isinstance(values[0], ast.List | ast.Tuple)
            and all(reads.get(name, [False])) and len(reads.get(name, [])) == loads.get(name, 0)}


class _Item:
    """The value a loop's target takes from `iterable`."""

    def __init__(self, iterable):
        self.iterable = iterable


class _Part:
    """Item `index` of `value`, unpacked (`h, y = step`)."""

    def __init__(self, value, index):
        self.value, self.index = value, index


def _container_sample(kind):
    """The sample of a container argument from its facts (`Seq`: a tuple of its items', `Keyed`: a dict), else
    Dtypes._UNKNOWN."""
    if isinstance(kind, Seq):
        items = tuple(np.ones((), k) if isinstance(k, str) else _container_sample(k) for k in kind.items)
        if kind.fields:  # (a namedtuple's: by index and by field, `p.W`)
            return {**dict(enumerate(items)), **dict(zip(kind.fields, items, strict=True))}
        return items
    if isinstance(kind, Keyed):
        return {key: np.ones((), k) if isinstance(k, str) else _container_sample(k) for key, k in kind.items}
    return Dtypes._UNKNOWN


_COMPARISONS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
                ast.Eq: operator.eq, ast.NotEq: operator.ne}
# NumPy functions whose dtype the samples give (linear algebra on 1 x 1 and 1-vectors)
_LINALG = frozenset({"norm", "inv", "solve", "det", "cholesky"})
_SAMPLE_SHAPES = {"norm": ((1,),), "inv": ((1, 1),), "solve": ((1, 1), (1,)), "det": ((1, 1),),
                  "cholesky": ((1, 1),)}
_ON_SAMPLES = frozenset({"where", "clip", "dot", "outer", "inner", "vdot", "kron", "concatenate", "stack", "vstack",
                         "hstack", "column_stack", "array", "asarray", "asanyarray", "einsum", "roll", "diff", "flip",
                         "fliplr", "flipud", "sort", "tile", "repeat", "atleast_1d", "atleast_2d", "squeeze",
                         "expand_dims", "broadcast_to", "triu", "tril", "diag", "diagonal", "moveaxis", "rot90",
                         "ravel", "reshape", "transpose", "copy", "ascontiguousarray", "swapaxes",
                         "multi_dot"}) | _LINALG
_JOINED = frozenset({"concatenate", "stack", "vstack", "hstack", "column_stack", "multi_dot"})
_FIRST_ARGUMENTS = frozenset({"roll", "diff", "flip", "fliplr", "flipud", "sort", "tile", "repeat", "atleast_1d",
                              "atleast_2d", "squeeze", "expand_dims", "broadcast_to", "triu", "tril", "diag",
                              "diagonal", "moveaxis", "rot90", "ravel", "reshape", "transpose", "copy",
                              "ascontiguousarray", "swapaxes"})
_BOTTOM = object()  # (no binding has given the name a value yet)
_ROUNDS = 64


_INTS = object()  # (the sample of an array's `.shape`: a tuple of ints of a length not known)


def _same_sample(a, b) -> bool:
    """Whether two samples stand for the same dtypes (arrays of one dtype, Python numbers of one type, tuples of
    such, or the same marker)."""
    if a is b:
        return True
    if isinstance(a, np.ndarray | np.generic) and isinstance(b, np.ndarray | np.generic):
        return a.dtype == b.dtype
    if isinstance(a, np.dtype) and isinstance(b, np.dtype):  # (`t = x.dtype`)
        return a == b
    if isinstance(a, _Either) or isinstance(b, _Either):
        return isinstance(a, _Either) and isinstance(b, _Either) and _same_sample(a.number, b.number) \
            and _same_sample(a.array, b.array)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same_sample(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_sample(a[k], b[k]) for k in a)
    return type(a) is type(b) and type(a) in (float, int, bool)


class _Either:
    """The sample of a value that is a Python number (`number`, a sample such as 1.0) or a NumPy value of one dtype
    (`array`), as `s` of `s = 0.0; for ...: s = s + v[i]` (Dtypes with `either`). Not a tuple: a tuple's sample is
    its items'."""

    __slots__ = ("number", "array")

    def __init__(self, number, array):
        self.number, self.array = number, array


def _join(first, *others, either=False):
    """The sample that stands for all of them: `_BOTTOM` gives way to any, different dtypes make Dtypes._UNKNOWN
    (with `either`, a Python number and a NumPy value of one dtype make `_Either`)."""
    out = first
    for other in others:
        if out is _BOTTOM:
            out = other
        elif isinstance(out, tuple) and isinstance(other, tuple) and len(out) == len(other):
            out = tuple(_join(a, b, either=either) for a, b in zip(out, other, strict=True))
        elif other is not _BOTTOM and not _same_sample(out, other):
            out = _either(out, other) if either else Dtypes._UNKNOWN
            if out is Dtypes._UNKNOWN:
                return out
    return out


def _either(a, b):
    """The `_Either` of two samples of which neither stands for the other (a number and an array, an `_Either` and
    one of its kinds), or Dtypes._UNKNOWN."""
    parts = [p for s in (a, b) for p in ((s.number, s.array) if isinstance(s, _Either) else (s,))]
    numbers = [p for p in parts if type(p) in (float, int, bool)]
    arrays = [p for p in parts if isinstance(p, np.ndarray | np.generic)]
    if len(numbers) + len(arrays) != len(parts) or not numbers or not arrays \
            or any(not _same_sample(numbers[0], n) for n in numbers) or any(not _same_sample(arrays[0], r) for r in arrays):
        return Dtypes._UNKNOWN
    return _Either(numbers[0], arrays[0])


_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
           ast.MatMult: lambda a, b: np.ones((), np.result_type(a, b)) if isinstance(a, np.ndarray | np.generic)
           or isinstance(b, np.ndarray | np.generic) else None}
# NumPy functions that make an array -> the position of their dtype argument (`np.full(shape, value, dtype)`)
_MADE = {"zeros": 1, "ones": 1, "empty": 1, "full": 2, "zeros_like": 1, "ones_like": 1, "empty_like": 1,
         "full_like": 2, "eye": 3, "identity": 1}
# NumPy functions and array methods whose result's dtype their first argument's decides (reductions run on a sample)
_SHAPING = frozenset({"reshape", "ravel", "flatten", "copy", "transpose", "squeeze", "swapaxes"})
_KEEPING = _SHAPING | frozenset({"sum", "mean", "max", "min", "amax", "amin", "prod", "cumsum", "cumprod", "std", "var"})
