"""np.einsum in both forms (subscripts or sublists, '...', repeated indices): adjoints, tangents
and their derivatives.
"""

from __future__ import annotations

import numpy as np

from s2s.runtime.adjoint import add
from s2s.runtime.arrays import _in_library_of, broadcast_to_like
from s2s.runtime.zero import ZERO, is_zero, linear_in_g


def grad_einsum(g, subscripts, operands, which):
    """Adjoint of np.einsum for the operand at position `which` (kept for old generated code: the rule
    now calls grad_einsum_parts, which also reads the sublist form, '...' and repeated indices)."""
    return grad_einsum_parts(g, [subscripts] + list(operands))[which + 1]


_EINSUM_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _einsum_spec(items):
    """np.einsum's arguments as (input subscripts, output subscripts, positions of the operands).

    Both forms: a subscripts string followed by the operands, or the sublist form
    (operand, [0, 1], operand, [1, 2], [0, 2]). '...' becomes explicit letters, and an
    implicit output (no '->') the letters used once, in alphabetical order, as NumPy does.
    """
    from s2s.errors import NoDerivativeRuleError
    if isinstance(items[0], str):
        text = items[0].replace(" ", "")
        lhs, arrow, out = text.partition("->")
        ins, positions = lhs.split(","), list(range(1, len(items)))
        explicit = bool(arrow)
    else:
        ins, positions = [], []
        k = 0
        while k + 1 < len(items):
            positions.append(k)
            ins.append(_sublist(items[k + 1]))
            k += 2
        explicit = k < len(items)
        out = _sublist(items[k]) if explicit else ""
    if len(ins) != len(positions):
        raise NoDerivativeRuleError("s2s cannot read this np.einsum call: the subscripts do not match the operands",
                                    hint="write np.einsum('ij,jk->ik', a, b)")
    used = set("".join(ins) + out)
    spare = [c for c in _EINSUM_LETTERS if c not in used]
    ell_dims = max([np.ndim(items[p]) - (len(s) - 3) for s, p in zip(ins, positions) if "..." in s] or [0])
    ell = "".join(spare[:ell_dims])
    ins = [s.replace("...", ell[len(ell) - (np.ndim(items[p]) - (len(s) - 3)):]) if "..." in s else s
           for s, p in zip(ins, positions)]
    if not explicit:
        counts = "".join(ins)
        out = ell + "".join(sorted(c for c in set(counts) if counts.count(c) == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    for s, p in zip(ins, positions):
        if len(s) != np.ndim(items[p]):
            raise NoDerivativeRuleError("s2s cannot read this np.einsum call: a subscript does not match its "
                                        "operand's number of axes", hint="write np.einsum('ij,jk->ik', a, b)")
    return ins, out, positions


def _broadcast(items, ins, positions):
    """`items` with every operand broadcast to the full size of each of its indices: NumPy's einsum lets an
    index have size 1 in one operand and n in another (`mnd,mdo->mno` with m of sizes 1 and 20); on the
    broadcast operands every index has one size, and an operand's adjoint is that of its broadcast view
    summed back over the axes where it had size 1 (np.broadcast_to's adjoint). Returns (items, shapes of
    the operands before, by position)."""
    sizes = {}
    for s, p in zip(ins, positions):
        for c, n in zip(s, np.shape(items[p])):
            if n != 1:
                if sizes.get(c, 1) not in (1, n):
                    from s2s.errors import NoDerivativeRuleError
                    raise NoDerivativeRuleError(f"s2s cannot read this np.einsum call: index {c!r} has sizes "
                                                f"{sizes[c]} and {n}", hint="check the operands' shapes")
                sizes[c] = n
    before, out = {}, list(items)
    for s, p in zip(ins, positions):
        shape = tuple(sizes.get(c, 1) for c in s)
        if tuple(np.shape(items[p])) != shape:
            before[p] = tuple(np.shape(items[p]))
            out[p] = np.broadcast_to(items[p], shape)
    return out, before


def _unbroadcast_parts(parts, before):
    """Adjoints of broadcast operands summed back to the operands' own shapes (axes of size 1)."""
    for p, shape in before.items():
        if not is_zero(parts[p]):
            axes = tuple(i for i, (n, m) in enumerate(zip(shape, np.shape(parts[p]))) if n == 1 and m != 1)
            parts[p] = np.sum(parts[p], axis=axes, keepdims=True) if axes else parts[p]
    return parts


def _sublist(sub):
    return "".join("..." if s is Ellipsis else _EINSUM_LETTERS[int(s)] for s in sub)


def _einsum_adjoint(g, ins, out, ops, which):
    """Adjoint of einsum(ins -> out, *ops) for operand `which` (repeated indices and sums included)."""
    target = ins[which]
    x = ops[which]
    others = [s for i, s in enumerate(ins) if i != which]
    other_ops = [o for i, o in enumerate(ops) if i != which]
    present = set(out) | {c for s in others for c in s}
    kept = "".join(dict.fromkeys(c for c in target if c in present))
    grad = np.einsum(",".join([out] + others) + "->" + kept, g, *other_ops)
    # spread over the target's own letters: a repeated letter is a diagonal (an identity factor per
    # extra occurrence), a letter found nowhere else was summed out (ones)
    used = set("".join(ins) + out)
    spare = iter(c for c in _EINSUM_LETTERS if c not in used)
    letters, factors, names = [], [], []
    seen = set()
    for c, n in zip(target, np.shape(x)):
        if c in seen:
            d = next(spare)
            factors.append(_in_library_of(np.eye(n), x, g))
            names.append(c + d)
            letters.append(d)
        elif c not in present:
            factors.append(_in_library_of(np.ones(n), x, g))
            names.append(c)
            letters.append(c)
            seen.add(c)
        else:
            letters.append(c)
            seen.add(c)
    return np.einsum(",".join([kept] + names) + "->" + "".join(letters), grad, *factors)


@linear_in_g(zero=lambda items, optimize=False, which=None: [ZERO] * len(items))
def grad_einsum_parts(g, items, optimize=False, which=None):
    """Adjoints of np.einsum for every positional argument (ZERO for subscripts and sublists), or for those at
    the positions `which` alone (the others ZERO: the operands nothing is differentiated through).

        >>> a, b = np.ones((2, 3)), np.ones((3, 4))
        >>> [np.shape(p) for p in grad_einsum_parts(np.ones((2, 4)), ["ij,jk->ik", a, b], which=(2,))]
        [(), (), (3, 4)]
    """
    parts = [ZERO] * len(items)
    ins, out, positions = _einsum_spec(items)
    items, before = _broadcast(items, ins, positions)
    ops = [items[p] for p in positions]
    for k, p in enumerate(positions):
        if which is None or p in which:
            parts[p] = _einsum_adjoint(g, ins, out, ops, k)
    return _unbroadcast_parts(parts, before)


def einsum_jvp(items, tangents):
    """Tangent of np.einsum (either form): the product rule over the operands."""
    ins, out, positions = _einsum_spec(items)
    items, _ = _broadcast(items, ins, positions)
    spec = ",".join(ins) + "->" + out
    ops = [items[p] for p in positions]
    tangents = [ZERO] * len(items) if is_zero(tangents) else tangents
    total = ZERO
    for k, p in enumerate(positions):
        if is_zero(tangents[p]):
            continue
        changed = list(ops)
        changed[k] = broadcast_to_like(tangents[p], ops[k])
        total = add(total, np.einsum(spec, *changed))
    return total


def _replaced(items, first, second):
    """Pairs (i, j), i != j, of operand positions both with tangents: items with i, j swapped in."""
    for i, ti in first:
        for j, tj in second:
            if i != j:
                changed = list(items)
                changed[i], changed[j] = ti, tj
                yield i, j, changed


@linear_in_g(zero=lambda items, items_dot, optimize=False, which=None: [ZERO] * len(items))
def grad_einsum_parts_dot(g, items, items_dot, optimize=False, which=None):
    """Tangent of `grad_einsum_parts(g, items, optimize, which)` for the tangents of the operands."""
    parts = [ZERO] * len(items)
    if is_zero(items_dot):
        return parts
    ins, out, positions = _einsum_spec(items)
    items, before = _broadcast(items, ins, positions)
    for k, p in enumerate(positions):
        for j, q in enumerate(positions):
            if j == k or is_zero(items_dot[q]) or which is not None and p not in which:
                continue
            ops = [items[r] for r in positions]
            ops[j] = broadcast_to_like(items_dot[q], ops[j])
            parts[p] = add(parts[p], _einsum_adjoint(g, ins, out, ops, k))
    return _unbroadcast_parts(parts, before)


def einsum_jvp_dot(items, tangents, items_dot):
    """Tangent of `einsum_jvp(items, tangents)` for the tangents of the operands (items held in tangents fixed)."""
    if is_zero(tangents) or is_zero(items_dot):
        return ZERO
    ins, out, positions = _einsum_spec(items)
    items, _ = _broadcast(items, ins, positions)
    spec = ",".join(ins) + "->" + out
    total = ZERO
    for k, p in enumerate(positions):
        for j, q in enumerate(positions):
            if j == k or is_zero(tangents[p]) or is_zero(items_dot[q]):
                continue
            ops = [items[r] for r in positions]
            ops[k] = broadcast_to_like(tangents[p], ops[k])
            ops[j] = broadcast_to_like(items_dot[q], ops[j])
            total = add(total, np.einsum(spec, *ops))
    return total


def einsum_tangent(subscripts, operands, tangents):
    """Tangent of np.einsum: the product rule over the operands."""
    total = ZERO
    for i, t in enumerate(tangents):
        if is_zero(t):
            continue
        ops = list(operands)
        ops[i] = t
        total = add(total, np.einsum(subscripts, *ops))
    return total
