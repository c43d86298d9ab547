"""Algebraic simplification and constant folding of generated code.

`x * 1`, `1 * x`, `x / 1`, `x + 0`, `x - 0` become `x`; an operator applied
to two number literals is replaced by its value (`2 - 1` -> `1`); and
`x ** 1` inside a larger expression becomes `x`. Only literals are folded:
names could hold arrays whose shape a rewrite would change.
"""

from __future__ import annotations

import ast
import math
import operator

from .names import loaded_names, name_counts
from .walk import child_parent_pairs, fix_locations, replace_child, statement_lists, walk_nodes

_FOLDABLE = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
             ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}


def is_number(node, value=None) -> bool:
    """True for an int/float literal (equal to `value` when given); booleans are not numbers here."""
    ok = isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool)
    return ok and (value is None or node.value == value)


def _fold(node):
    """The literal for `number op number`, or None when folding is unsafe (errors, huge powers)."""
    fn = _FOLDABLE.get(type(node.op))
    if fn is None or not (is_number(node.left) and is_number(node.right)):
        return None
    if isinstance(node.op, ast.Pow) and abs(node.right.value) > 64:
        return None
    try:
        value = fn(node.left.value, node.right.value)
    except (ArithmeticError, ValueError):
        return None
    if isinstance(value, complex):
        return None
    return _literal(value, node)


SINGLETONS = (None, True, False, Ellipsis)  # (the one object of its kind each: `is` compares them as `==`)


def _literal_value(node):
    """The value of a literal (`3`, `-1`, `None`, `'a'`), or the marker `_literal_value` where it is none."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd) and is_number(node.operand):
        return -node.operand.value if isinstance(node.op, ast.USub) else +node.operand.value
    return _literal_value


def fold_identity_test(node) -> ast.Constant | None:
    """`-1 is None` (a literal put where a fixed int or a helper's argument was read, `axis is None`) as its
    value, or None where `node` is no such test: Python warns of `is` with a literal (a SyntaxWarning, an error
    under `-W error`). Only where one side is None, True, False or `...`, the one object of its kind, so that
    identity is equality of kind and value.

        >>> ast.unparse(fold_identity_test(ast.parse("-1 is not None", mode="eval").body))
        'True'
    """
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Is | ast.IsNot)):
        return None
    left, right = _literal_value(node.left), _literal_value(node.comparators[0])
    if left is _literal_value or right is _literal_value \
            or not any(side is v for side in (left, right) for v in SINGLETONS):
        return None
    return ast.Constant((left is right) == isinstance(node.ops[0], ast.Is))


def _literal(value, like):
    # a negative number stays `-(2.0)`: a negative Constant prints as `-2.0`, which `** k` would bind first
    node = ast.Constant(abs(value)) if value < 0 else ast.Constant(value)
    if value < 0:
        node = ast.UnaryOp(op=ast.USub(), operand=node)
    return ast.copy_location(node, like)


class _Simplify(ast.NodeTransformer):
    def __init__(self):
        self.depth = 0  # > 0 inside an operand of another operator

    def visit_BinOp(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1
        folded = _fold(node)
        if folded is not None:
            return folded
        left, right, op = node.left, node.right, node.op
        if isinstance(op, ast.Mult) and is_number(left, 1):
            return right
        if isinstance(op, ast.Mult | ast.Div) and is_number(right, 1):
            return left
        if isinstance(op, ast.Add | ast.Sub) and is_number(right, 0):
            return left
        # `x ** 1` is x; as a whole right-hand side it would alias x, so only inside an expression
        if isinstance(op, ast.Pow) and is_number(right, 1) and self.depth > 0:
            return left
        return node

    def visit_UnaryOp(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.UnaryOp) and isinstance(node.operand.op, ast.USub):
            return node.operand.operand
        return node


class _FoldLiterals(ast.NodeTransformer):
    def __init__(self, keeps_itself):
        self.changed, self.keeps_itself = False, keeps_itself

    def visit_BinOp(self, node):
        self.generic_visit(node)
        folded = _fold(node)
        if folded is None and self.keeps_itself is not None and isinstance(node.op, ast.Mult):
            # (`1.0 * e` of an expression e, not a name: e's new array, which nothing else holds)
            for one, other in ((node.left, node.right), (node.right, node.left)):
                if is_number(one, 1) and type(one.value) is float and not isinstance(other, ast.Name) \
                        and self.keeps_itself(other):
                    folded = other
                    break
        if folded is None:
            return node
        self.changed = True
        return folded


def fold_literals(fdef: ast.FunctionDef, keeps_itself=None) -> bool:
    """Fold `number op number` of literals, as Python computes it at run time (`1.0 * 0.5 * 2 * z` is `1.0 * z`:
    left to right, the literals' product first); with `keeps_itself(e)` (whether `1.0 * e` is e exactly: a real
    float array, say), `1.0 * e` of an expression e is e. Whether anything changed.

        >>> f = ast.parse("def f(z): return 1.0 * 0.5 * 2 * z").body[0]
        >>> fold_literals(f), ast.unparse(f.body[0])
        (True, 'return 1.0 * z')
    """
    folder = _FoldLiterals(keeps_itself)
    folder.visit(fdef)
    if folder.changed:
        fix_locations(fdef)
    return folder.changed


def drop_unit_updates(fdef: ast.FunctionDef, keeps_itself) -> bool:
    r"""`t *= 1.0` and `t /= 1.0` (what folding `0.5 * 2` leaves) go where `t` is itself times 1.0 exactly
    (`keeps_itself(t)`: real floating point; an int array would become float, or refuse). Whether any went.

        >>> f = ast.parse("def f(e):\n    t = e - 1.0\n    t *= 1.0\n    return t").body[0]
        >>> drop_unit_updates(f, lambda e: True), len(f.body)
        (True, 2)
    """
    changed = False
    for block in statement_lists(fdef):
        kept = [s for s in block if not (isinstance(s, ast.AugAssign) and isinstance(s.op, ast.Mult | ast.Div)
                                         and isinstance(s.target, ast.Name) and isinstance(s.value, ast.Constant)
                                         and type(s.value.value) is float and s.value.value == 1.0
                                         and keeps_itself(s.target))]
        if len(kept) < len(block):
            block[:] = kept or [ast.Pass()]
            changed = True
    return changed


def fold_unit_copies(fdef: ast.FunctionDef, keeps_itself) -> bool:
    r"""`t = 1.0 * e` (a copy of e's array that `t` may update in place) followed at once by `t op= v` becomes
    `t = e op v` (op one of + - * /): the same numbers (`1.0 * e` is e exactly, `keeps_itself(e)`: a real float
    array), one array made instead of a copy and an update. Whether anything changed.

        >>> f = ast.parse("def f(e, v):\n    t = 1.0 * e\n    t *= v\n    return t").body[0]
        >>> fold_unit_copies(f, lambda e: True), ast.unparse(f.body[0])
        (True, 't = e * v')
    """
    changed = False
    for block in statement_lists(fdef):
        k = 0
        while k < len(block):
            first, n = block[k], _next_statement(block, k)
            then = block[n] if n < len(block) else None
            copied = _unit_copy(first)
            if copied is not None and isinstance(then, ast.AugAssign) and isinstance(then.target, ast.Name) \
                    and then.target.id == first.targets[0].id and isinstance(then.op, ast.Add | ast.Sub | ast.Mult | ast.Div) \
                    and copied.id != then.target.id and then.target.id not in loaded_names(then.value) \
                    and keeps_itself(copied):
                first.value = ast.BinOp(left=copied, op=then.op, right=then.value)
                del block[n]
                changed = True
            k += 1
    if changed:
        fix_locations(fdef)
    return changed


def _next_statement(block, k) -> int:
    """The index of the statement after `block[k]`, the `#` lines of generated code between skipped (len(block) where
    none is)."""
    from .reverse import Comment

    n = k + 1
    while n < len(block) and isinstance(block[n], Comment):
        n += 1
    return n


def _unit_copy(stmt):
    """e of `t = 1.0 * e` (or `e * 1.0`), e a name, t a name; else None."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.BinOp) and isinstance(stmt.value.op, ast.Mult)):
        return None
    for one, other in ((stmt.value.left, stmt.value.right), (stmt.value.right, stmt.value.left)):
        if is_number(one, 1) and type(one.value) is float and isinstance(other, ast.Name):
            return other
    return None


def _power_of_two(value) -> bool:
    """Whether `value` is ± 2**k, |k| <= 64 (a product of such is exact, and scaling by one commutes with rounding)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value == 0 or not math.isfinite(value):
        return False
    mantissa, exponent = math.frexp(abs(value))
    return mantissa == 0.5 and -64 <= exponent <= 66


def _stripped(node, counts):
    """(the product of the number literals of the product chain `node`, the chain without them, its other factors
    in their places: `a * (2 * b)` is (2, `a * b`); None where only literals are left). A negation counts as the
    factor -1, a division by a power-of-two literal as its reciprocal; `counts` gathers the powers of two taken
    out, the literals that are none (left in place) and the other factors."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        (a, left), (b, right) = _stripped(node.left, counts), _stripped(node.right, counts)
        rest = right if left is None else left if right is None else ast.BinOp(left=left, op=ast.Mult(), right=right)
        return a * b, rest
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and is_number(node.right) \
            and _power_of_two(node.right.value):
        counts["numbers"].append(node.right.value)
        a, left = _stripped(node.left, counts)
        return a / node.right.value, left
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        counts["numbers"].append(-1)
        a, operand = _stripped(node.operand, counts)
        return -a, operand
    if is_number(node) and _power_of_two(node.value):
        counts["numbers"].append(node.value)
        return node.value, None
    counts["general" if is_number(node) else "others"].append(node)  # (a literal no power of two stays in its place)
    return 1, node


def _folded_product(node, keeps_itself):
    """`node`, a product chain, with its power-of-two literals multiplied into one, or None where that changes
    nothing or may change a number: scaling by a power of two is exact and commutes with rounding, so taking such
    literals out (`2.0 * (0.5 * alpha * w)` is `alpha * w`) or into another literal where the chain has one that is
    no power of two (`2.0 * (0.001 * w)` is `0.002 * w`, that literal left in its place) gives the same numbers bit
    for bit, barring a product that over- or underflows on the way; every other factor `keeps_itself` (real floats
    that a Python number times leaves of their dtype), left in its place."""
    counts = {"numbers": [], "others": [], "general": []}
    scale, product = _stripped(node, counts)
    numbers, general = counts["numbers"], counts["general"]
    if product is None or not numbers or not all(keeps_itself(f) for f in counts["others"]) \
            or not general and len(numbers) == 1 and abs(scale) != 1 or not _power_of_two(scale):
        return None
    if general:  # (the powers of two into the first literal that is none: its place, its product, exact)
        import copy
        target = general[0]
        scaled = _literal(target.value * scale, target)
        if product is target:
            return scaled
        memo = {}  # (a copy, the literal's copy found by identity: a literal of the same value elsewhere, in a
        product = copy.deepcopy(product, memo)  # call's arguments, is another number)
        target = memo.get(id(target))
        return product if target is not None and _put(product, target, scaled) else None
    if scale == 1:
        return product
    if scale == -1:
        return None if len(numbers) == 1 and isinstance(node, ast.UnaryOp) else ast.UnaryOp(op=ast.USub(), operand=product)
    return ast.BinOp(left=_literal(float(scale), node), op=ast.Mult(), right=product)


def _pure_literal(node) -> bool:
    """A number literal, or one negated (`-1.0`)."""
    return is_number(node) or isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and _pure_literal(node.operand)


def _literal_count(node) -> int:
    """How many number literals (a negation counting as one) the product chain `node` has among its factors."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return _literal_count(node.left) + _literal_count(node.right)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and is_number(node.right):
        return 1 + _literal_count(node.left)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return 1 + _literal_count(node.operand)
    return 1 if is_number(node) else 0


class _FoldPowers(ast.NodeTransformer):
    def __init__(self, keeps_itself, operands, numbers=frozenset()):
        self.keeps_itself, self.changed = keeps_itself, False
        self.operands = operands  # ids of the nodes read only by arithmetic (an operand, `+=`'s value)
        self.numbers = numbers  # ids of the nodes that are numbers and passed to a call (`np.where(c, 1.0 * g, 0.0)`)

    def _fold(self, node):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and any(
                _literal_count(side) == 0 and not _pure_literal(other)
                for side, other in ((node.left, node.right), (node.right, node.left))):
            # (every literal on one side: folded there, where it scales the smaller operand it was written on,
            # `x * (g * 2.0 / 32)` as `x * (g * 0.0625)`, not the whole product)
            return self.generic_visit(node)
        folded = _folded_product(node, self.keeps_itself)
        if folded is not None and not isinstance(folded, ast.BinOp | ast.UnaryOp) and id(node) not in self.operands \
                and id(node) not in self.numbers:
            # (`y = 2.0 * (0.5 * x)` made a new array: `y = x` would make y the array x is, which an update of y
            # in place changes too; `1.0 * x` keeps a new one)
            folded = ast.BinOp(left=ast.Constant(1.0), op=ast.Mult(), right=folded)
        if folded is None:
            return self.generic_visit(node)
        self.changed = True
        return ast.copy_location(folded, node)

    def visit_BinOp(self, node):
        return self._fold(node) if isinstance(node.op, ast.Mult | ast.Div) else self.generic_visit(node)

    def visit_UnaryOp(self, node):
        return self._fold(node) if isinstance(node.op, ast.USub) else self.generic_visit(node)


def fold_power_of_two_factors(fdef: ast.FunctionDef, keeps_itself, made_up=frozenset(), is_number=None) -> bool:
    r"""The number literals of each product chain multiplied into one where all are powers of two (`t8 = -0.5 * g;
    z_bar = t8 * 2 * z` is `z_bar = -(g * z)`, the adjoint of `-0.5 * z ** 2`): a name in `made_up`, bound once to a
    product with a literal and read once, in a product with a literal of the next statement, is read as its product
    there (the next statement computes its value before anything else runs). `keeps_itself(e)`: whether e is real
    floats that a Python number times keeps of their dtype; `is_number(e)`: whether e is a number (a bare name it
    folds to where it is a call's argument needs no `1.0 *` to be an array of its own). Whether anything changed.

        >>> f = ast.parse("def f(k, t):\n    a = 0.5 * k\n    t *= a * 2\n    return 2.0 * (0.5 * k * t)").body[0]
        >>> fold_power_of_two_factors(f, lambda e: True, {"a"}), ast.unparse(f).splitlines()[1:]
        (True, ['    t *= k', '    return k * t'])
    """
    loads, stores = name_counts(fdef)
    changed = False
    for block in statement_lists(fdef):
        k = 0
        while k < len(block):
            first, n = block[k], _next_statement(block, k)
            if n < len(block) and _substitute_product(first, block[n], made_up, loads, stores, keeps_itself):
                del block[k]
                changed = True
                continue
            k += 1
    if _scale_into_bindings(fdef, made_up, loads, stores, keeps_itself):
        changed = True
    operands, numbers = set(), set()
    for n in walk_nodes(fdef):
        if isinstance(n, ast.AugAssign):
            operands.add(id(n.value))
        elif isinstance(n, ast.BinOp):
            operands.update((id(n.left), id(n.right)))
        elif isinstance(n, ast.UnaryOp):
            operands.add(id(n.operand))
        elif isinstance(n, ast.Compare):
            operands.update(id(c) for c in [n.left, *n.comparators])
        elif isinstance(n, ast.Call) and is_number is not None:
            # (a number handed to a call, `np.where(c, t * 0.5 * 2, 0.0)`: the bare name it folds to is held nowhere else)
            numbers.update(id(a) for a in n.args if is_number(a))
    folder = _FoldPowers(keeps_itself, operands, numbers)
    folder.visit(fdef)
    if changed or folder.changed:
        fix_locations(fdef)
    return changed or folder.changed


def _substitute_product(first, then, made_up, loads, stores, keeps_itself) -> bool:
    """Put the value of `first` (`t = c * e`, t made up, bound and read once, c a power-of-two literal) in place of
    its one read in `then` where that read is a factor of a product with a literal whose folding then succeeds."""
    if not (isinstance(first, ast.Assign) and len(first.targets) == 1 and isinstance(first.targets[0], ast.Name)):
        return False
    name = first.targets[0].id
    if name not in made_up or loads.get(name) != 1 or stores.get(name) != 1 \
            or not isinstance(first.value, ast.BinOp | ast.UnaryOp):
        return False
    value = then.value if isinstance(then, ast.Assign | ast.AugAssign) else None
    if value is None:
        return False
    for chain in ast.walk(value):
        if not isinstance(chain, ast.BinOp | ast.UnaryOp):
            continue
        counts = {"numbers": [], "others": [], "general": []}
        _stripped(chain, counts)
        if not any(isinstance(f, ast.Name) and f.id == name for f in counts["others"]):
            continue
        trial = _replaced(chain, name, first.value)
        if not counts["numbers"] or _folded_product(trial, keeps_itself) is None:
            return False
        return _put(then, chain, trial)
    return False


def _scale_into_bindings(fdef, made_up, loads, stores, keeps_itself) -> bool:
    """`t = a * e` (or `a / e`; t made up, bound once) whose every read, two or more, is a factor of `t * c` with
    one power-of-two literal c: `t = a * e * c` and the reads `t`, the product each read made computed once, bit
    for bit; where a is `X * k` with k * c == 1, `t = X * e` (`t8_bar = lam * 0.5 / s` read as `t8_bar * 2 * dx` and
    `t8_bar * 2 * dy`, the adjoints of a norm's squares: `t8_bar = lam / s`, read as `t8_bar * dx`: the same numbers,
    scaling by a power of two commuting with rounding, `lam * 0.5` neither overflowing nor, but for subnormal
    numbers, losing a bit). Whether anything changed."""
    params = {a.arg for a in fdef.args.posonlyargs + fdef.args.args + fdef.args.kwonlyargs}
    reads, read_nodes = {}, {}
    for child, parent in child_parent_pairs(fdef):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load) and child.id in made_up \
                and loads.get(child.id, 0) >= 2 and stores.get(child.id) == 1 and child.id not in params:
            reads.setdefault(child.id, []).append(parent)
            read_nodes.setdefault(child.id, []).append(child)
    bindings = {s.targets[0].id: s for s in walk_nodes(fdef) if isinstance(s, ast.Assign) and len(s.targets) == 1
                and isinstance(s.targets[0], ast.Name) and s.targets[0].id in reads}
    changed = False
    for name, parents in reads.items():
        binding = bindings.get(name)
        scale = {_literal_factor(p, name) for p in parents}
        c = scale.pop() if len(scale) == 1 else None
        if binding is None or c is None or len(parents) != loads[name] \
                or not (isinstance(binding.value, ast.BinOp) and isinstance(binding.value.op, ast.Mult | ast.Div)) \
                or not keeps_itself(binding.value.left) or not keeps_itself(binding.value.right) \
                or not _read_after(fdef, binding, read_nodes[name]):
            continue
        v = binding.value
        unit = _cancelled_factor(v.left, c)
        if unit is not None:  # (`lam * 0.5 / s` times 2 is `lam / s`: the same number, 0.5 * 2 being 1)
            v.left = unit
        else:  # (`t = lam / s * 2`: the product each read made, made once, in the same order)
            binding.value = ast.BinOp(left=v, op=ast.Mult(), right=ast.Constant(c))
        for p in parents:  # (`t * c` as `1.0 * t`, which the folding below drops where t needs no copy)
            p.left, p.op, p.right = ast.Constant(1.0), ast.Mult(), ast.Name(id=name, ctx=ast.Load())
        changed = True
    return changed


def _read_after(fdef, binding, reads) -> bool:
    """Whether each of `reads` runs after `binding` has run, and sees its value: it lies in a statement after the
    binding in the binding's own block (in a loop's body, after it in the same trip; adv225: `x_bar += s_bar * 2 * x;
    s_bar = s_bar * 2.0` in a loop read the trip before's s_bar, and the seed parameter's on the first trip)."""
    for block in statement_lists(fdef):
        for k, stmt in enumerate(block):
            if stmt is binding:
                later = {id(n) for s in block[k + 1:] for n in walk_nodes(s)}
                return all(id(r) in later for r in reads)
    return False


def _cancelled_factor(node, c):
    """X of a product `X * k` or `k * X` whose literal k times c is 1, else None."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        for k, other in ((node.right, node.left), (node.left, node.right)):
            if is_number(k) and k.value * c == 1:
                return other
    return None


def _literal_factor(parent, name):
    """c of a product `t * c` / `c * t` (c a power-of-two number literal, not 1) where `parent` is it, else None."""
    if not (isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Mult)):
        return None
    for one, other in ((parent.left, parent.right), (parent.right, parent.left)):
        if isinstance(one, ast.Name) and one.id == name and is_number(other) and _power_of_two(other.value) \
                and other.value not in (1, -1):
            return other.value
    return None


def _put(tree, old, new) -> bool:
    """`new` in `tree` where it holds the node `old` (`walk.replace_child` on each parent); whether it held it."""
    return any(replace_child(parent, old, new) for parent in ast.walk(tree))


def _replaced(chain, name, value):
    """A copy of `chain` with the Name `name` in it replaced by `value`."""
    import copy

    class Put(ast.NodeTransformer):
        def visit_Name(self, node):
            return copy.deepcopy(value) if node.id == name else node

    return Put().visit(copy.deepcopy(chain))


def simplify(fdef: ast.FunctionDef, names: set[str] | None = None) -> ast.FunctionDef:
    """Apply the rewrites above to assignments to `names` (all assignments when None).

    The user's own statements are left alone: `m = (x > 0) * 1.0` turns a mask into floats, and
    dropping the `* 1.0` would change its dtype. Adjoint code has no such idioms.
    """
    if names is None:
        return fix_locations(_Simplify().visit(fdef))

    class Targets(ast.NodeTransformer):
        def visit_Assign(self, node):
            if any(isinstance(t, ast.Name) and t.id in names for t in node.targets):
                node.value = _Simplify().visit(node.value)
            return node

    return fix_locations(Targets().visit(fdef))
