"""Which array variables of a compiled derivative can be pushed on a preallocated array tape (s2s/compiled.py).

numba keeps a list of arrays as a list of objects: each push and pop of a row `d = P[i + 1] - P[i]` costs
more than the arithmetic around it. Where a pushed variable holds a float64 array of one fixed shape
wherever it is assigned, its tape can be one array of that row shape (`np.empty((16, 3))`, grown by
doubling). The generated code is specialised to the arguments' shapes, so those shapes are known: this
module follows them through the assignments (array arguments never reassigned, rows read with an
integer index, element-wise arithmetic of equal shapes or with numbers, unary NumPy functions, matrix
products) to a fixed point, as `compiled._scalar_kinds` does for numbers.

A wrong claim is never a wrong number: `compiled_helpers.tape_set` refuses at compile time a value of
another rank or dtype (the code is then compiled with list tapes) and raises the marked fallback at run
time for another shape.

Example::

    shapes = array_kinds(fdef, {"P": P}, kinds, {"np"})   # {"d": ("float64", (3,))}
"""

from __future__ import annotations

import ast

import numpy as np

from s2s.transforms.numba_lowering import int_constant, is_zero
from s2s.transforms.walk import walk

# NumPy functions of one array argument that keep its shape and float64 dtype
_ELEMENTWISE = {"tanh", "sin", "cos", "exp", "log", "sqrt", "abs", "negative", "square", "sinh", "cosh",
                "arctan", "log1p", "expm1", "absolute", "sign"}


_LIKE = ("zeros_like", "ones_like", "empty_like")
# NumPy functions that give bools: of masks (how many), and of one float array
_LOGICAL = {"logical_and": 2, "logical_or": 2, "logical_xor": 2, "logical_not": 1}
_TESTS = {"isnan", "isinf", "isfinite"}
_EXITS = (ast.Break, ast.Continue, ast.Return, ast.Raise)  # statements that end a loop's trip early


def _appends(fdef, name, reader):
    """(the values appended, how many appends have run where `reader` runs) for a list `name = []` bound once,
    in the function's body, whose other uses are appends `name.append(v)` and reads of the whole list
    (`np.stack(name)`, `len(name)`, an item, `s2s.grad_stack(g, name, 0)`: none changes it), every append a
    statement of the body of `for` loops over `range` of int constants, nested in one another from the
    function's body, with no `break`, `continue`, `return` or `raise` in them, and `reader` in a statement of
    the function's body after every one that appends; else None."""
    binds = [n for n in walk(fdef) if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load)]
    top = [s for s in fdef.body if isinstance(s, ast.Assign) and len(s.targets) == 1
           and isinstance(s.targets[0], ast.Name) and s.targets[0].id == name]
    if len(binds) != 1 or len(top) != 1 or not isinstance(top[0].value, ast.List) or top[0].value.elts:
        return None
    values, count = [], 0

    def visit(block, trips):
        nonlocal count
        for stmt in block:
            call = stmt.value if isinstance(stmt, ast.Expr) else None
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "append" \
                    and isinstance(call.func.value, ast.Name) and call.func.value.id == name:
                if len(call.args) != 1 or call.keywords or trips is None:
                    return False
                values.append(call.args[0])
                count += trips
            elif isinstance(stmt, ast.For) and not stmt.orelse:
                n = _constant_trips(stmt)
                inner = None if trips is None or n is None or any(isinstance(x, _EXITS) for x in walk(stmt)) \
                    else trips * n
                if visit(stmt.body, inner) is False:
                    return False
            elif any(isinstance(x, ast.Attribute) and isinstance(x.value, ast.Name) and x.value.id == name
                     and x.attr == "append" for x in walk(stmt)):
                return False  # (an append under an `if`, a `while`, a `with`...: its count unknown)
        return True

    if visit(fdef.body, 1) is False:
        return None
    where = [k for k, stmt in enumerate(fdef.body) if any(x is reader for x in walk(stmt))]
    appending = [k for k, stmt in enumerate(fdef.body) if any(
        isinstance(x, ast.Attribute) and isinstance(x.value, ast.Name) and x.value.id == name and x.attr == "append"
        for x in walk(stmt))]
    if len(where) != 1 or any(k >= where[0] for k in appending):
        return None
    for n in walk(fdef):
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == name \
                and n.attr != "append":
            return None  # (L.pop(), L.extend(...), L.sort(): it changes otherwise)
    return values, count


def _constant_trips(loop):
    """The number of trips of `for _ in range(a, b, c)` of int constants, else None."""
    it = loop.iter
    if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range" and not it.keywords
            and 1 <= len(it.args) <= 3):
        return None
    bounds = [int_constant(a) for a in it.args]
    if None in bounds or (len(bounds) == 3 and bounds[2] == 0):
        return None
    return len(range(*bounds))


def _zero_tested(e, numpy_names):
    """x, where `e` is the test `s2s.is_zero(x)` of the zero adjoint (the runtime's, not NumPy's); else None."""
    if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "is_zero" \
            and isinstance(e.func.value, ast.Name) and e.func.value.id not in numpy_names \
            and len(e.args) == 1 and not e.keywords:
        return e.args[0]
    return None


def _is_name_of(e, name) -> bool:
    return isinstance(e, ast.Name) and e.id == name


def _full_slice(e) -> bool:
    """`:` (a slice with no bounds and no step)."""
    return isinstance(e, ast.Slice) and e.lower is None and e.upper is None and e.step is None


def _list_adjoint_pop(stmt):
    """(L, g) of `L, g = s2s.append_grads_owned(L)` (or `append_grads`), else None."""
    t, v = stmt.targets[0] if len(stmt.targets) == 1 else None, stmt.value
    if isinstance(t, ast.Tuple) and len(t.elts) == 2 and all(isinstance(e, ast.Name) for e in t.elts) \
            and t.elts[0].id != t.elts[1].id and isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) \
            and v.func.attr in ("append_grads_owned", "append_grads") and isinstance(v.func.value, ast.Name) \
            and len(v.args) == 1 and not v.keywords and isinstance(v.args[0], ast.Name) \
            and v.args[0].id == t.elts[0].id:
        return t.elts[0].id, t.elts[1].id
    return None


def _stacked_rows_of(e):
    """G of `s2s.grad_stack(G, L, 0)` or `s2s.array_grad(G, L)` (the adjoints of np.stack(L), np.array(L): the
    rows of G), else None."""
    if not (isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and isinstance(e.func.value, ast.Name)
            and not e.keywords):
        return None
    if e.func.attr == "grad_stack" and len(e.args) == 3 and isinstance(e.args[2], ast.Constant) \
            and type(e.args[2].value) is int and e.args[2].value == 0:
        return e.args[0]
    return e.args[0] if e.func.attr == "array_grad" and len(e.args) == 2 else None


def array_dtype(arrays: dict) -> str:
    """The dtype of the arrays array_kinds follows: "float32" where every float array argument is float32
    (a float32 program: NumPy keeps float32 with Python numbers, and the compiled code does with its weak
    numbers, numba_lowering.weak_numbers), else "float64".

        >>> array_dtype({"x": np.ones(3, np.float32), "n": 3}), array_dtype({"x": np.ones(3)})
        ('float32', 'float64')
    """
    floats = {a.dtype for a in arrays.values() if type(a) is np.ndarray and a.dtype.kind in "fc"}
    return "float32" if floats == {np.dtype(np.float32)} else "float64"


def array_kinds(fdef: ast.FunctionDef, arrays: dict, kinds: dict, numpy_names: set, zeros: bool = False) -> dict:
    """name -> (dtype, shape) for variables that hold an array of that dtype and shape at every assignment
    (a None placeholder aside), ("bool_", shape) for those that hold a comparison of such an array and a number
    or another of its shape (a mask), and name -> "float64" for the norms of float64 ones. The dtype is
    `array_dtype(arrays)`'s: float64, or float32 in a float32 program, where the rules that make float64
    arrays of numbers (np.zeros without a dtype, np.array of numbers, np.asarray of a Python float) claim
    nothing. `arrays` maps parameters to their arguments, `kinds` names the variables known to hold Python
    floats or ints ("float64" / "int64"), `numpy_names` the names NumPy is read by. With `zeros`, an
    assignment of the number 0 is a placeholder too (see zero_arrays)."""
    dtype = array_dtype(arrays)
    wide = dtype == "float64"  # (float64 arrays: those made of float64 numbers are too)
    placeholder = _is_zero_or_none if zeros else _is_none
    started = _zero_started(fdef) if zeros else set()
    params = {a.arg for a in fdef.args.args + fdef.args.kwonlyargs}
    assigns: dict = {}
    list_pops = []  # (statement, list, item) of `L, g = s2s.append_grads_owned(L)`
    for node in walk(fdef):
        if isinstance(node, ast.Assign) and not _is_pop(node.value):
            if _list_adjoint_pop(node) is not None:
                list_pops.append((node, *_list_adjoint_pop(node)))
            for t in node.targets:
                if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name):
                    continue  # (`traj[t] = x`: an item set, the name not bound; its index is read)
                for n in walk(t):
                    if isinstance(n, ast.Name):
                        assigns.setdefault(n.id, []).append(node.value if isinstance(t, ast.Name) else False)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):  # in place: `x = x + e`'s shape
            load = ast.Name(id=node.target.id, ctx=ast.Load())
            assigns.setdefault(node.target.id, []).append(ast.BinOp(left=load, op=node.op, right=node.value))
        elif isinstance(node, ast.AugAssign | ast.AnnAssign) and isinstance(node.target, ast.Name):
            assigns.setdefault(node.target.id, []).append(False)
        elif isinstance(node, ast.For | ast.With | ast.comprehension):
            for n in walk(node.target if not isinstance(node, ast.With) else node):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    assigns.setdefault(n.id, []).append(False)
    for _, listed, item in list_pops:
        # the item popped from a list adjoint made only by `s2s.grad_stack(G, L, 0)` (and these pops): a row of G,
        # as the synthetic `G[0]` says (the list's other bindings are the pops, a list each time)
        made = [v for v in assigns[listed] if v is not False]
        if len(made) == 1 and len(assigns[listed]) - 1 == sum(1 for _, l2, _ in list_pops if l2 == listed) \
                and _stacked_rows_of(made[0]) is not None and assigns[item].count(False) >= 1:
            assigns[item][assigns[item].index(False)] = ast.Subscript(
                value=_stacked_rows_of(made[0]), slice=ast.Constant(0), ctx=ast.Load())
    shape = {p: tuple(a.shape) for p, a in arrays.items()
             if p not in assigns and type(a) is np.ndarray and a.dtype == np.dtype(dtype) and a.ndim >= 1}
    for p, a in arrays.items():  # a parameter bound again (`h = W @ h` in a loop) starts as its argument
        if p in assigns and type(a) is np.ndarray and a.dtype == np.dtype(dtype) and a.ndim >= 1:
            shape[_argument(p)] = tuple(a.shape)
            assigns[p].append(ast.Name(id=_argument(p), ctx=ast.Load()))

    # names bound only as the counters of loops over `range(...)` (or its `reversed`): ints
    def over_range(it):
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "reversed" and len(it.args) == 1:
            it = it.args[0]
        return isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"

    range_loops = [n for n in walk(fdef) if isinstance(n, ast.For) and isinstance(n.target, ast.Name)
                   and over_range(n.iter) and "range" not in assigns and "reversed" not in assigns]
    counters = {loop.target.id for loop in range_loops
                if len(assigns.get(loop.target.id, ())) == sum(1 for other in range_loops
                                                                if other.target.id == loop.target.id)
                and loop.target.id not in params}

    def integer(e):
        if isinstance(e, ast.Constant):
            return type(e.value) is int
        if isinstance(e, ast.Name):
            return kinds.get(e.id) == "int64" or e.id in counters
        return isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add | ast.Sub | ast.Mult) \
            and integer(e.left) and integer(e.right)

    constants = {n: vs[0].value for n, vs in assigns.items() if len(vs) == 1 and isinstance(vs[0], ast.Constant)
                 and type(vs[0].value) is int and n not in params}

    def int_value(e):
        """The int `e` is (a constant, or a name set once, to a constant), else None."""
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
            inner = int_value(e.operand)
            return None if inner is None else -inner
        if isinstance(e, ast.Constant):
            return e.value if type(e.value) is int else None
        return constants.get(e.id) if isinstance(e, ast.Name) else None

    def number(e):
        """A Python number: a constant, a name of `kinds`, or arithmetic of those (`loss_bar * 2`)."""
        if isinstance(e, ast.Constant):
            return type(e.value) in (int, float)
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
            return number(e.operand)
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            return number(e.left) and number(e.right)
        if isinstance(e, ast.IfExp):  # (`norm if norm != 0 else 1`, a norm's adjoint's guard)
            return number(e.body) and number(e.orelse)
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Pow):  # `r ** 3`: a real number to an int power
            return number(e.left) and isinstance(e.right, ast.Constant) and type(e.right.value) is int
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.MatMult):  # `a @ b` of float64 vectors
            a = of(e.left)
            return a is not None and len(a) == 1 and of(e.right) == a
        if isinstance(e, ast.Call):  # `np.linalg.norm(d)`: a real number, whatever d holds; `h.sum()` of float64 h
            return _is_norm(e, numpy_names) or total(e)
        if isinstance(e, ast.Subscript):
            return float_item(e)
        if isinstance(e, ast.Name) and kinds.get(e.id) not in ("float64", "int64"):
            return numeric_local(e.id)
        return isinstance(e, ast.Name) and kinds.get(e.id) in ("float64", "int64")

    valuing = set()  # names `numeric_local` is asking about

    def numeric_local(name) -> bool:
        """Whether the local `name` holds a real number wherever it is read: every assignment of it is one
        (`number`), a placeholder or a tape's restore aside (a restore gives back a value one of them gave).
        A name met again while asking about it is taken to be one (`E0_bar = E0_bar - t13_bar`): each
        assignment that runs then makes a number of numbers made before it, from the first one on.
        Asked afresh each time: it may rest on the shapes claimed so far, which only shrink."""
        if name in valuing:
            return True
        values = assigns.get(name)
        if name in params or not values or any(v is False for v in values):
            return False
        valuing.add(name)
        try:
            return all(_is_none(v) or number(v) for v in values)
        finally:
            valuing.discard(name)

    def float_item(e):
        """`v[k]` of an int k and a float64 vector v: a float64 number."""
        if not (isinstance(e, ast.Subscript) and integer(e.slice)):
            return False
        s = of(e.value)
        return s is not None and len(s) == 1

    real_asking = set()  # names `real_number` is asking about

    def total(e):
        """`x.sum()` or `np.sum(x)` of a float64 array x (no other argument; `max`, `min`, `mean`, `prod` too): a
        float64 number."""
        if not (isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute)
                and e.func.attr in ("sum", "max", "min", "mean", "prod") and not e.keywords):
            return False
        if not e.args:
            x = e.func.value
        elif len(e.args) == 1 and isinstance(e.func.value, ast.Name) and e.func.value.id in numpy_names:
            x = e.args[0]
        else:
            return False
        return of(x) is not None

    def real_number(e):
        """A Python float (a float64 once broadcast): a float constant or name, or arithmetic with one; or a
        float64 number, an item of a float64 vector (a name bound only to such items)."""
        if isinstance(e, ast.Constant):
            return type(e.value) is float
        if isinstance(e, ast.Subscript):
            return float_item(e)
        if isinstance(e, ast.Call):
            return total(e)
        if isinstance(e, ast.Name) and e.id not in params and kinds.get(e.id) is None and assigns.get(e.id) \
                and all(v is not False for v in assigns[e.id]):
            # a local bound only to float64 numbers (`t9 = h.sum() * 0.5`, `g` popped from a list adjoint); a name
            # met again while asking is taken to be one, as numeric_local takes it
            if e.id in real_asking:
                return True
            real_asking.add(e.id)
            try:
                return all(_is_none(v) or real_number(v) for v in assigns[e.id])
            finally:
                real_asking.discard(e.id)
        if isinstance(e, ast.Name):
            return kinds.get(e.id) == "float64"
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
            return real_number(e.operand)
        return isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add | ast.Sub | ast.Mult | ast.Div) \
            and number(e.left) and number(e.right) and (real_number(e.left) or real_number(e.right)
                                                        or isinstance(e.op, ast.Div))

    def unclaimed_zero(e):
        return isinstance(e, ast.Name) and e.id in started and e.id not in shape

    def scaled(e, up) -> bool:
        """Whether `up`, the parent of `e`, is `-e`, `e * c`, `c * e` or `e / c` of a number c: the number 0
        where e is, an array of zeros where e is one."""
        if isinstance(up, ast.UnaryOp) and isinstance(up.op, ast.USub):
            return True
        if isinstance(up, ast.BinOp) and isinstance(up.op, ast.Mult):
            return number(up.right if up.left is e else up.left)
        return isinstance(up, ast.BinOp) and isinstance(up.op, ast.Div) and up.left is e and number(up.right)

    def scaled_zero(e) -> bool:
        """A zero-started name, or `-e`, `e * c`, `e / c` of one (`t3_bar = -a_bar`)."""
        if isinstance(e, ast.Name):  # (not where an earlier statement of its block made it an array)
            return e.id in started and not assigned_before(e, shape.get(e.id))
        parts = [e.operand] if isinstance(e, ast.UnaryOp) else [e.left, e.right] if isinstance(e, ast.BinOp) else []
        return any(scaled(p, e) and scaled_zero(p) for p in parts)

    def mask(e, unsure):
        """The shape of a mask `e` (bools, or float64 weights of 0 to 1) of a float64 array: `t > 0.0`,
        `s2s.balanced_eq(t, m, 0.0)` (np.maximum's adjoint at ties), either of those under a condition."""
        if isinstance(e, ast.Compare) and len(e.ops) == 1 and len(e.comparators) == 1:
            a, b = of(e.left, unsure), of(e.comparators[0], unsure)
            if a is not None and (b == a or number(e.comparators[0]) or zero_d_argument(e.comparators[0])):
                return a
            return b if b is not None and (number(e.left) or zero_d_argument(e.left)) else None
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "balanced_eq" \
                and isinstance(e.func.value, ast.Name) and e.func.value.id not in numpy_names \
                and len(e.args) == 3 and not e.keywords:
            a, b = of(e.args[0], unsure), of(e.args[1], unsure)
            return a if a is not None and a == b and (number(e.args[2]) or of(e.args[2], unsure) == a) else None
        if isinstance(e, ast.IfExp):
            a, b = mask(e.body, unsure), mask(e.orelse, unsure)
            return a if a is not None and a == b else None
        if isinstance(e, ast.Name) and e.id not in params and e.id not in unsure:  # `t3` of `t3 = t2 > c`
            values = [v for v in assigns.get(e.id, [False]) if not _is_none(v)]
            if values and all(_bools(v) for v in values):
                found = {mask(v, unsure) for v in values}
                return found.pop() if len(found) == 1 else None
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.BitAnd | ast.BitOr | ast.BitXor) \
                and _bools(e.left) and _bools(e.right):  # `(z > -1.0) & (z < 1.0)`: bools of one shape
            a, b = mask(e.left, unsure), mask(e.right, unsure)
            return a if a is not None and a == b else None
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.Invert) and _bools(e.operand):
            return mask(e.operand, unsure)
        function = _numpy_call(e, numpy_names)
        if function in _LOGICAL and len(e.args) == _LOGICAL[function] and all(_bools(a) for a in e.args):
            found = {mask(a, unsure) for a in e.args}  # (`np.logical_and(t, u)` of masks of one shape)
            return found.pop() if len(found) == 1 else None
        if function in _TESTS and len(e.args) == 1:  # `np.isnan(z)` of a float array: bools of its shape
            return of(e.args[0], unsure)
        return None

    def zero_d_argument(e) -> bool:
        """`c` of a parameter never bound again given a 0-d real array or a NumPy float (a threshold): compared with
        an array, one number (the comparison's bools have the array's shape)."""
        given = arrays.get(e.id) if isinstance(e, ast.Name) and e.id in params and e.id not in assigns else None
        return isinstance(given, np.floating) or type(given) is np.ndarray and given.ndim == 0 \
            and given.dtype.kind == "f"

    def _bools(e) -> bool:
        """Whether `e` certainly evaluates to bools where `mask` gives it a shape: a comparison, `&`, `|`, `^`
        or `~` of such, or a name bound only to those (a placeholder aside)."""
        if isinstance(e, ast.Compare):
            return True
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.BitAnd | ast.BitOr | ast.BitXor):
            return _bools(e.left) and _bools(e.right)
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.Invert):
            return _bools(e.operand)
        function = _numpy_call(e, numpy_names)
        if function in _LOGICAL:
            return len(e.args) == _LOGICAL[function] and all(_bools(a) for a in e.args)
        if function in _TESTS:
            return len(e.args) == 1
        if isinstance(e, ast.Name) and e.id not in params and e.id not in bool_asking:
            values = [v for v in assigns.get(e.id, [False]) if not _is_none(v)]
            bool_asking.add(e.id)
            try:
                return bool(values) and all(_bools(v) for v in values)
            finally:
                bool_asking.discard(e.id)
        return False

    bool_asking = set()  # names `_bools` is asking about (a cycle claims nothing)

    def zero_d(e):
        """`np.asarray(x)` of a float64 number x: a 0-d float64 array, which arithmetic with a float64 array
        takes as the number."""
        return wide and isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "asarray" \
            and isinstance(e.func.value, ast.Name) and e.func.value.id in numpy_names and len(e.args) == 1 \
            and not e.keywords and real_number(e.args[0])

    def zero_test_shape(node):
        """S of `a + np.broadcast_to(g, S) if s2s.is_zero(a) else a + np.asarray(g)` (`-` too; a a name, g a name
        or a literal number (a sum's adjoint 1.0), a float64 number, S of int constants:
        specialize._add_a_number_to_a_zero_or_array), else None. An array of zeros of shape S as `a` takes the
        else branch, which gives the values and dtype the first gives for the number 0."""
        if not isinstance(node, ast.IfExp):
            return None
        test, body, other = node.test, node.body, node.orelse
        if not (isinstance(_zero_tested(test, numpy_names), ast.Name) and isinstance(body, ast.BinOp)
                and isinstance(other, ast.BinOp) and type(body.op) is type(other.op)
                and isinstance(body.op, ast.Add | ast.Sub) and _is_name_of(body.left, test.args[0].id)
                and _is_name_of(other.left, test.args[0].id)):
            return None
        spread, alone = body.right, other.right
        if not (isinstance(spread, ast.Call) and isinstance(spread.func, ast.Attribute)
                and spread.func.attr == "broadcast_to" and len(spread.args) == 2 and not spread.keywords
                and isinstance(spread.func.value, ast.Name) and spread.func.value.id in numpy_names
                and (isinstance(spread.args[0], ast.Name) or isinstance(spread.args[0], ast.Constant)
                     and type(spread.args[0].value) in (int, float))
                and zero_d(alone) and ast.dump(alone.args[0]) == ast.dump(spread.args[0])):
            return None
        size = spread.args[1]
        dims = size.elts if isinstance(size, ast.Tuple) else [size]
        if not all(isinstance(d, ast.Constant) and type(d.value) is int and d.value >= 0 for d in dims):
            return None
        return tuple(d.value for d in dims)

    asking = set()  # (tuple name, item) whose shape `of` is finding

    def of(e, unsure=frozenset()):
        """The shape of the float64 array `e` evaluates to, or None where not known (or where it may depend on
        the names of `unsure` being arrays)."""
        if isinstance(e, ast.Name):
            return None if e.id in unsure else shape.get(e.id)
        if isinstance(e, ast.Subscript) and isinstance(e.value, ast.Name) and e.value.id not in params \
                and int_value(e.slice) is not None and assigns.get(e.value.id) \
                and all(isinstance(v, ast.Tuple) for v in assigns[e.value.id]):
            # `h2_bar = t3_bar[1]` of `t3_bar = g[0:4], g[4:20]`: that item of every tuple display it is bound to
            k = int_value(e.slice)
            if (e.value.id, k) in asking:
                return None  # (`state = (state[0] + dx, ...)`: an item made from that item claims nothing)
            items = [v.elts[k] if -len(v.elts) <= k < len(v.elts) and not any(isinstance(x, ast.Starred)
                                                                               for x in v.elts) else None
                     for v in assigns[e.value.id]]
            asking.add((e.value.id, k))
            try:
                found = {None if item is None else of(item, unsure) for item in items}
            finally:
                asking.discard((e.value.id, k))
            return found.pop() if len(found) == 1 else None
        if isinstance(e, ast.Subscript) and integer(e.slice):
            s = of(e.value, unsure)
            return s[1:] if s and len(s) > 1 else None
        if isinstance(e, ast.Subscript) and isinstance(e.slice, ast.Tuple) and e.slice.elts \
                and all(integer(i) or _full_slice(i) for i in e.slice.elts):
            s = of(e.value, unsure)  # `X[:, j]`: the axes of the full slices, and those after the index
            items = e.slice.elts
            if s is None or len(items) > len(s) or all(_full_slice(i) for i in items):
                return None
            return tuple(n for n, i in zip(s, items) if _full_slice(i)) + s[len(items):]
        if isinstance(e, ast.Subscript) and isinstance(e.slice, ast.Slice):  # z[16:t11], of known bounds
            s = of(e.value, unsure)
            bounds = [None if b is None else int_value(b) for b in (e.slice.lower, e.slice.upper, e.slice.step)]
            if s and all(b is not None for b, given in zip(bounds, (e.slice.lower, e.slice.upper, e.slice.step))
                         if given is not None) and bounds[2] != 0:
                return (len(range(s[0])[slice(*bounds)]),) + s[1:]
            return None
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
            return of(e.operand, unsure)
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Pow) and real_number(e.right):
            return of(e.left, unsure)  # `x ** 3.0` of a float64 array (an int power: `integer` below)
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Pow) and isinstance(e.right, ast.Constant) \
                and type(e.right.value) is int:
            return of(e.left, unsure)  # `x ** 3`: float64 as x
        if isinstance(e, ast.Attribute) and e.attr == "T":  # `A.T` of a float64 array: its axes reversed
            s = of(e.value, unsure)
            return None if s is None else s[::-1]
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            a, b = of(e.left, unsure), of(e.right, unsure)
            if a is not None and b is not None:
                return a if a == b else None
            if zeros and (unclaimed_zero(e.left) and b is not None or unclaimed_zero(e.right) and a is not None):
                return a or b  # (the number 0 it starts as, until it is claimed)
            if a is not None and (number(e.right) or zero_d(e.right)):
                return a
            if b is not None and (number(e.left) or zero_d(e.left)):
                return b
            if isinstance(e.op, ast.Mult) and (a is not None and mask(e.right, unsure) == a
                                               or b is not None and mask(e.left, unsure) == b):
                return a or b  # (`h_bar * (t5 > 0.0)`: a float64 array times a mask of its shape)
            return None
        if isinstance(e, ast.IfExp) and zero_test_shape(e) is not None:
            # `h_bar + np.broadcast_to(g, S) if s2s.is_zero(h_bar) else h_bar + np.asarray(g)`: S, where h_bar is
            # the number 0 or an array of shape S
            s = zero_test_shape(e)
            x = e.test.args[0]
            return s if of(x, unsure) == s or zeros and unclaimed_zero(x) else None
        if isinstance(e, ast.IfExp) and isinstance(e.body, ast.Constant) and type(e.body.value) is float \
                and e.body.value == 0.0 and _zero_tested(e.test, numpy_names) is not None:
            return of(e.orelse, unsure)  # (the zero guard: numba_lowering writes zeros like E for its 0.0)
        if isinstance(e, ast.IfExp):
            a, b = of(e.body, unsure), of(e.orelse, unsure)
            return a if a is not None and a == b else None
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.MatMult):
            a, b = of(e.left, unsure), of(e.right, unsure)
            if a and b and len(a) == 2 and len(b) == 2 and a[1] == b[0]:
                return (a[0], b[1])
            if a and b and len(a) == 2 and len(b) == 1 and a[1] == b[0]:
                return (a[0],)
            if a and b and len(a) == 1 and len(b) == 2 and a[0] == b[0]:
                return (b[1],)
            return None
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "outer" \
                and isinstance(e.func.value, ast.Name) and e.func.value.id in numpy_names \
                and len(e.args) == 2 and not e.keywords:  # `np.outer(u, v)` of vectors: (len u, len v)
            a, b = of(e.args[0], unsure), of(e.args[1], unsure)
            return (a[0], b[0]) if a and b and len(a) == 1 and len(b) == 1 else None
        if isinstance(e, ast.Call) and _is_linalg_call(e, "solve", numpy_names) and len(e.args) == 2 \
                and not e.keywords:  # `np.linalg.solve(A, b)` of a square matrix and a vector or matrix: b's
            a, b = of(e.args[0], unsure), of(e.args[1], unsure)
            return b if a and b and len(a) == 2 and a[0] == a[1] and len(b) in (1, 2) and b[0] == a[0] else None
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr in ("zeros", "ones") \
                and isinstance(e.func.value, ast.Name) and e.func.value.id in numpy_names \
                and _made_dtype(e, numpy_names) == dtype:  # float64 by default
            size = e.args[0]
            if isinstance(size, ast.Name) and size.id not in params and len(assigns.get(size.id, ())) == 1 \
                    and isinstance(assigns[size.id][0], ast.Tuple):
                size = assigns[size.id][0]  # (`t3 = (100, 64); np.zeros(t3)`: a name bound once, to a tuple)
            dims = size.elts if isinstance(size, ast.Tuple) else [size]
            if dims and all(isinstance(d, ast.Constant) and type(d.value) is int and d.value >= 0 for d in dims):
                return tuple(d.value for d in dims)
            return None
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr in _LIKE \
                and isinstance(e.func.value, ast.Name) and e.func.value.id in numpy_names \
                and len(e.args) == 1 and not e.keywords:  # `np.zeros_like(b)` of a float64 array: its shape
            return of(e.args[0], unsure)
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr in ("stack", "array") \
                and isinstance(e.func.value, ast.Name) and e.func.value.id in numpy_names \
                and len(e.args) == 1 and not e.keywords and isinstance(e.args[0], ast.Name):
            # `np.stack(hs)` of the user's list appended float64 arrays of one shape a known number of times
            appended = _appends(fdef, e.args[0].id, e)
            if appended is None:
                return None
            values, count = appended
            if all(real_number(v) for v in values):
                return (count,) if wide else None  # (float64 numbers: a vector of them)
            found = {of(v, unsure) for v in values}
            return (count,) + found.pop() if len(found) == 1 and None not in found else None
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr in ("eye", "identity") \
                and isinstance(e.func.value, ast.Name) and e.func.value.id in numpy_names \
                and len(e.args) == 1 and not e.keywords and wide:  # `np.eye(2)`: float64 by default
            n = int_value(e.args[0])
            return (n, n) if n is not None and n >= 0 else None
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr in ("hstack", "concatenate") \
                and isinstance(e.func.value, ast.Name) and e.func.value.id in numpy_names \
                and len(e.args) == 1 and not e.keywords:  # `np.hstack([x, h])` of 1-d arrays: one joined 1-d array
            pieces = e.args[0]
            if isinstance(pieces, ast.Name) and pieces.id not in params and len(assigns.get(pieces.id, ())) == 1:
                pieces = assigns[pieces.id][0]  # (`t3 = [x, h]; np.hstack(t3)`: a list no statement changes)
                if any(isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == e.args[0].id
                       for n in walk(fdef)):
                    return None  # (t3.append(...), t3.pop(): it may change)
            if not isinstance(pieces, ast.List | ast.Tuple) or not pieces.elts \
                    or any(isinstance(x, ast.Starred) for x in pieces.elts):
                return None
            parts = [of(x, unsure) for x in pieces.elts]
            if any(p is None or len(p) != 1 for p in parts):
                return None
            return (sum(p[0] for p in parts),)
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "broadcast_to" \
                and isinstance(e.func.value, ast.Name) and e.func.value.id in numpy_names \
                and len(e.args) == 2 and not e.keywords:  # `np.broadcast_to(t16_bar, (5,))`: a sum's adjoint
            size = e.args[1]
            dims = size.elts if isinstance(size, ast.Tuple) else [size]
            if not dims or not all(isinstance(d, ast.Constant) and type(d.value) is int and d.value >= 0
                                   for d in dims):
                return None
            to = tuple(d.value for d in dims)
            s = of(e.args[0], unsure)
            if s is None:
                return to if wide and real_number(e.args[0]) else None
            return to if len(s) <= len(to) and all(a in (1, b) for a, b in zip(s[::-1], to[::-1])) else None
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "getitem_grad" \
                and isinstance(e.func.value, ast.Name) and e.func.value.id not in numpy_names \
                and len(e.args) == 3 and not e.keywords:  # `s2s.getitem_grad(g, x, i)`: zeros like x, g placed
            s = of(e.args[1], unsure)  # (in x's dtype where g is an array of it or a number: compiled_helpers)
            return s if s is not None and (number(e.args[0]) or of(e.args[0], unsure) is not None) else None
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr in ("maximum", "minimum") \
                and isinstance(e.func.value, ast.Name) and e.func.value.id in numpy_names \
                and len(e.args) == 2 and not e.keywords:  # `np.maximum(t, 0.0)` of a float64 array and a number
            a, b = of(e.args[0], unsure), of(e.args[1], unsure)
            if a is not None and b is not None:
                return a if a == b else None
            if a is not None and number(e.args[1]):
                return a
            return b if b is not None and number(e.args[0]) else None
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "where" \
                and isinstance(e.func.value, ast.Name) and e.func.value.id in numpy_names \
                and len(e.args) == 3 and not e.keywords:  # `np.where(t3, t4, z2)`: a mask picks between arrays
            s = mask(e.args[0], unsure)
            picks = [of(a, unsure) for a in e.args[1:]]
            if s is None or not any(p == s for p in picks) \
                    or not all(p == s or p is None and number(a) for p, a in zip(picks, e.args[1:])):
                return None
            return s
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr in _ELEMENTWISE \
                and isinstance(e.func.value, ast.Name) and e.func.value.id in numpy_names \
                and len(e.args) == 1 and not e.keywords:
            return of(e.args[0], unsure)
        return None

    candidates = [n for n in assigns if (n not in params or _argument(n) in shape)
                  and all(v is not False for v in assigns[n])]
    # optimistic: a candidate takes the one shape its assignments give where they are known (a loop's
    # state `h = h0` ... `h = np.tanh(h @ W)` needs its own shape to have one) ...
    for _ in range(len(candidates) + 2):
        changed = False
        for name in candidates:
            known = {of(v) for v in assigns[name] if not placeholder(v)} - {None}
            if len(known) == 1 and name not in shape:
                shape[name] = known.pop()
                changed = True
        if not changed:
            break
    # ... then kept only where every assignment gives exactly that shape under the claims that remain
    parents = {id(c): node for node in walk(fdef) for c in ast.iter_child_nodes(node)} if zeros else {}

    def certainly_array(e, s) -> bool:
        """Whether `e` is an array of shape s in the program as written, where the names that start as 0 may
        still be the number 0: known without them, or + - * / of such an array and a number or such a name."""
        if s is None:  # (no shape to be certain of: None == None would claim any expression)
            return False
        if of(e, started) == s:
            return True
        if zero_test_shape(e) == s and shape.get(e.test.args[0].id) == s:
            return True  # (the zero test's form gives an array of shape s whether its name is 0 or such an array)
        if isinstance(e, ast.Name) and e.id in started and shape.get(e.id) == s:
            return assigned_before(e, s)  # (`t2_bar = h_bar` just after h_bar was made an array)
        if not (isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add | ast.Sub | ast.Mult | ast.Div)):
            return False
        return any(certainly_array(a, s) and (number(b) or isinstance(b, ast.Name) and b.id in started
                                              or certainly_array(b, s))
                   for a, b in ((e.left, e.right), (e.right, e.left)))

    def assigned_before(read, s) -> bool:
        """Whether the statement list holding `read`'s statement binds its name, before it and after any other
        binding, by a statement of that list that makes it an array of shape s in the program as written."""
        stmt = read
        while stmt is not None and not isinstance(stmt, ast.stmt):
            stmt = parents.get(id(stmt))
        holder = parents.get(id(stmt)) if stmt is not None else None
        siblings = next((v for _, v in ast.iter_fields(holder) if isinstance(v, list) and any(x is stmt for x in v)),
                        None) if holder is not None else None
        if siblings is None:
            return False
        for earlier in reversed(siblings[:next(i for i, x in enumerate(siblings) if x is stmt)]):
            if not any(isinstance(n, ast.Name) and n.id == read.id and isinstance(n.ctx, ast.Store)
                       for n in walk(earlier)):
                continue
            return isinstance(earlier, ast.Assign) and len(earlier.targets) == 1 \
                and isinstance(earlier.targets[0], ast.Name) and certainly_array(earlier.value, s) \
                or isinstance(earlier, ast.AugAssign) and isinstance(earlier.target, ast.Name) \
                and isinstance(earlier.op, ast.Add | ast.Sub | ast.Mult | ast.Div) and certainly_array(earlier.value, s)
        return False

    def in_zero_test(read, s) -> bool:
        """Whether `read` is one of the three loads of a in the form `zero_test_shape` reads, of shape s."""
        node = parents.get(id(read))
        for _ in range(3):
            if isinstance(node, ast.IfExp):
                break
            node = parents.get(id(node))
        return s is not None and zero_test_shape(node) == s \
            and any(read is x for x in (node.test.args[0], node.body.left, node.orelse.left))

    def same_as_zero(read, s):
        """Whether `read`, a load of a name that may still be the number 0, gives the same values where it is
        an array of zeros of shape s: an operand of + - * / whose other operand has shape s, or finish's; or a
        read where an earlier statement of its block has made it an array (`h_bar = h_bar + g` ... `h_bar * 0.5`)."""
        if assigned_before(read, s):
            return True
        if in_zero_test(read, s):
            return True
        up = parents.get(id(read))
        while scaled(read, up):  # (-read, read * c: the number 0 or an array of zeros as read is)
            read, up = up, parents.get(id(up))
        if isinstance(up, ast.Assign) and up.value is read and len(up.targets) == 1 \
                and isinstance(up.targets[0], ast.Name) and up.targets[0].id in started \
                and shape.get(up.targets[0].id) == s and up.targets[0].id in loaded:
            return True  # a copy (or -read, read * c) into a name that may be the number 0 too, its reads checked
        if isinstance(up, ast.BinOp) and isinstance(up.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            other = up.right if up.left is read else up.left
            # (a zero-started name the other operand reads is no zero there if its block made it an array)
            made = {n.id for n in walk(other) if isinstance(n, ast.Name) and n.id in started and n.id in shape
                    and assigned_before(n, shape[n.id])}
            return of(other, started - made) == s
        if _zero_tested(up, numpy_names) is read:
            return True  # (the zero guard's test: compiled is_zero takes an array of zeros for the zero adjoint)
        if isinstance(up, ast.AugAssign) and up.value is read and isinstance(up.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            # (`q0_bar += q_bar`; `X_bar[0] += s_bar` into an item of shape s: in place, its dtype kept either way)
            return isinstance(up.target, ast.Name | ast.Subscript) and of(up.target, started) == s
        return isinstance(up, ast.Call) and isinstance(up.func, ast.Attribute) and up.func.attr == "finish" \
            and len(up.args) == 2 and up.args[0] is read and of(up.args[1], started) == s

    loaded = {n.id for n in walk(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    if zeros:  # names bound to a zero-started name scaled (`t3_bar = -a_bar`) may be the number 0 too
        scaled_copies = [(t.id, node.value) for node in walk(fdef) if isinstance(node, ast.Assign)
                         and isinstance(node.value, ast.UnaryOp | ast.BinOp) for t in node.targets
                         if isinstance(t, ast.Name)]
        while more := {t for t, v in scaled_copies if t not in started and scaled_zero(v)}:
            started |= more
    changed = True
    while changed:
        changed = False
        for name in candidates:
            if name in shape and any(not placeholder(v) and of(v) != shape[name] for v in assigns[name]):
                del shape[name]
                changed = True
        for name in started:
            if name in shape and any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
                                     and not same_as_zero(n, shape[name]) for n in walk(fdef)):
                del shape[name]
                changed = True
    out = {n: (dtype, s) for n, s in shape.items() if n in candidates and s}
    for name in candidates if not zeros else ():  # `t3 = t2 > c` of a float array: bools of its shape
        values = [v for v in assigns[name] if not placeholder(v)]
        found = {mask(v, frozenset()) if _bools(v) else None for v in values}
        if name not in out and values and len(found) == 1 and (s := found.pop()):
            out[name] = ("bool_", s)
    for name in candidates if wide else ():  # `norm = np.linalg.norm(d)` of a float64 array: a float
        values = [v for v in assigns[name] if not placeholder(v)]
        if values and all(_is_norm(v, numpy_names) and of(v.args[0]) for v in values):
            out[name] = "float64"
    return out


def _argument(param: str) -> str:
    """The name array_kinds reads a parameter's argument by, as if assigned to it first (no identifier: no
    name of the code)."""
    return f"<argument {param}>"


def zero_arrays(fdef: ast.FunctionDef, arrays: dict, kinds: dict, numpy_names: set) -> dict:
    r"""name -> shape of the variables that start as the number 0 (`c_bar = 0.0`, an adjoint before its first
    accumulation) and hold a float64 array of that one shape at every other assignment. numba gives a
    variable one type, so compiled code starts them as `np.zeros(shape)`. The same values wherever they are
    read: each read is an operand of + - * / whose other operand has that shape (or of `finish` with an
    argument of that shape), and each other assignment is, under the claims, arithmetic of equal shapes or
    with numbers.

        >>> f = ast.parse("def f(h):\n    c = 0.0\n    for i in range(3):\n        c = c + h * 2.0").body[0]
        >>> zero_arrays(f, {"h": np.ones(4)}, {}, {"np"})
        {'c': (4,)}
    """
    claims = array_kinds(fdef, arrays, kinds, numpy_names, zeros=True)
    started = _zero_started(fdef)
    return {n: claim[1] for n, claim in claims.items() if n in started and isinstance(claim, tuple)}


def _made_dtype(call, numpy_names):
    """The dtype `np.zeros(S)` / `np.ones(S)` makes: "float64" without a dtype, the name of one given as
    `np.float32` (positionally or as `dtype=`), else None.

        >>> _made_dtype(ast.parse("np.zeros(3, dtype=np.float32)", mode="eval").body, {"np"})
        'float32'
    """
    given = call.args[1:] + [k.value for k in call.keywords if k.arg == "dtype"]
    if len(call.args) < 1 or len(given) + 1 != len(call.args) + len(call.keywords) or len(given) > 1:
        return None  # (another keyword, or a dtype given twice)
    if not given:
        return "float64"
    d = given[0]
    if isinstance(d, ast.Attribute) and isinstance(d.value, ast.Name) and d.value.id in numpy_names \
            and d.attr in ("float32", "float64"):
        return d.attr
    return None


def _zero_started(fdef):
    """The names some statement sets to the number 0, or to a copy of such a name (`a_next_bar = a_bar`)."""
    started = {t.id for node in walk(fdef) if isinstance(node, ast.Assign) and is_zero(node.value)
               for t in node.targets if isinstance(t, ast.Name)}
    copies = [(t.id, node.value.id) for node in walk(fdef) if isinstance(node, ast.Assign)
              and isinstance(node.value, ast.Name) for t in node.targets if isinstance(t, ast.Name)]
    while True:
        more = {target for target, source in copies if source in started} - started
        if not more:
            return started
        started |= more


def _is_zero_or_none(e):
    return is_zero(e) or _is_none(e)


def _is_norm(e, numpy_names):
    return _is_linalg_call(e, "norm", numpy_names) and len(e.args) == 1 and not e.keywords


def _numpy_call(e, numpy_names):
    """The name of the NumPy function `e` calls as `np.<name>(...)` with positional arguments only, else None."""
    if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and isinstance(e.func.value, ast.Name) \
            and e.func.value.id in numpy_names and not e.keywords and not any(isinstance(a, ast.Starred) for a in e.args):
        return e.func.attr
    return None


def _is_linalg_call(e, name, numpy_names) -> bool:
    """Whether `e` calls `np.linalg.<name>` (np one of `numpy_names`)."""
    f = e.func if isinstance(e, ast.Call) else None
    return isinstance(f, ast.Attribute) and f.attr == name and isinstance(f.value, ast.Attribute) \
        and f.value.attr == "linalg" and isinstance(f.value.value, ast.Name) and f.value.value.id in numpy_names


def _is_pop(e):
    return isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "pop" and not e.args


def _is_none(e):
    return isinstance(e, ast.Constant) and e.value is None


__all__ = ["array_dtype", "array_kinds", "zero_arrays"]
