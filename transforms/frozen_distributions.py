"""SciPy's frozen distributions read as the calls they stand for.

`st.norm(m, s)` is a frozen distribution: its `logpdf(x)` is, by SciPy's definition, `st.norm.logpdf(x, m, s)`
(the frozen arguments after the method's own, keywords too; the same for `st.multivariate_normal(mean, cov)` and
the other multivariate ones). s2s writes each method call so, where it can see every use of the frozen object:

    d = st.norm(m, s)                 ->   d_0 = m; d_1 = s
    return np.sum(d.logpdf(x))        ->   return np.sum(st.norm.logpdf(x, d_0, d_1))
    st.gamma(a).cdf(x)                ->   st.gamma.cdf(x, a)

The frozen arguments are bound to names of their own where the object was made (a later rebinding of `m` does
not change `d`), and the calls then have the rules of the distributions' methods. Only where the name is bound
once, to the call, and read only as the receiver of a method call with at most one positional argument and no
keywords (the frozen methods take `x` alone: `d.logpdf(x, loc=3)` is a TypeError in Python, not rewritten); a
frozen object passed on, stored, or read for an attribute (`d.args`) is left as it is, and refused as before.
"""

from __future__ import annotations

import ast
import sys

from .walk import fix_locations, replace_child, walk

_DATA_METHODS = frozenset({"pdf", "logpdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf", "pmf", "logpmf"})
_PLAIN_METHODS = frozenset({"entropy", "mean", "var", "std", "median"})
PURE_METHODS = _DATA_METHODS | _PLAIN_METHODS  # (a frozen distribution's methods that compute: not rvs)

__all__ = ["PURE_METHODS", "is_distribution", "unfreeze_distributions"]


def is_distribution(obj) -> bool:
    """Whether `obj` is one of scipy.stats's distributions (a univariate or multivariate generator), whose call
    makes a frozen distribution (no random draw: its `rvs` draws).

        >>> is_distribution(len)
        False
    """
    if "scipy.stats" not in sys.modules:
        return False
    try:
        from scipy.stats._distn_infrastructure import rv_generic
        from scipy.stats._multivariate import multi_rv_generic
    except ImportError:  # (another SciPy layout: the frozen objects stay refused)
        return False
    return isinstance(obj, rv_generic | multi_rv_generic)


def _frozen_call(node, resolve, own) -> bool:
    """Whether `node` makes a frozen distribution: a call of a distribution (named by a dotted name whose root the
    function does not bind, `own`) without `*` or `**` arguments."""
    if not isinstance(node, ast.Call):
        return False
    root = node.func
    while isinstance(root, ast.Attribute):
        root = root.value
    return isinstance(root, ast.Name) and root.id not in own and is_distribution(resolve(node.func)) \
        and not any(isinstance(a, ast.Starred) for a in node.args) \
        and all(k.arg and k.arg != "seed" for k in node.keywords)  # (seed=: the frozen object's own, no method's)


_INERT = (ast.Name, ast.Constant, ast.Attribute, ast.Subscript, ast.BinOp, ast.UnaryOp, ast.Tuple, ast.List,
          ast.Slice, ast.keyword, ast.expr_context, ast.operator, ast.unaryop)


def _inert(nodes) -> bool:
    """Whether evaluating `nodes` calls nothing and binds nothing (names, literals, items, attributes, arithmetic):
    the order they are evaluated in changes nothing (adv224: `st.gamma(v.pop()).logpdf(v.pop())`)."""
    return all(isinstance(n, _INERT) for node in nodes for n in walk(node))


def _method_call(attribute, parents):
    """The call `d.m(...)` whose function is `attribute`, where it is one a frozen distribution's method takes
    as its distribution's (`m` a density or moment, at most one positional argument, no keywords), or None."""
    call = parents.get(id(attribute))
    if not (isinstance(call, ast.Call) and call.func is attribute and not call.keywords):
        return None
    if attribute.attr in _DATA_METHODS and len(call.args) == 1 and not isinstance(call.args[0], ast.Starred) \
            or attribute.attr in _PLAIN_METHODS and not call.args:
        return call
    return None


def _unfrozen(call, frozen: ast.Call, args, keywords) -> ast.Call:
    """`D.m(x, *args, **keywords)` for the method call `d.m(x)` of `d = D(...)`."""
    method = ast.Attribute(value=frozen.func, attr=call.func.attr, ctx=ast.Load())
    return ast.copy_location(ast.Call(func=method, args=[*call.args, *args], keywords=keywords), call)


def unfreeze_distributions(pf, tree: ast.FunctionDef, alloc) -> bool:
    """Write the method calls of frozen scipy.stats distributions in `tree` as calls of the distributions'
    methods, in place (the module docstring says where); returns whether any was.

        >>> # d = st.norm(m, s); d.logpdf(x)   ->   d_0 = m; d_1 = s; st.norm.logpdf(x, d_0, d_1)
    """
    nodes = list(walk(tree))
    parents = {id(child): parent for parent in nodes for child in ast.iter_child_nodes(parent)}
    own = {n.id for n in nodes if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)} \
        | {a.arg for a in nodes if isinstance(a, ast.arg)} \
        | {name for n in nodes if isinstance(n, ast.Global | ast.Nonlocal) for name in n.names}
    changed = False
    for node in nodes:  # st.gamma(a).cdf(x): the frozen object made and used at once
        if isinstance(node, ast.Attribute) and _frozen_call(node.value, pf.resolve_expr, own):
            call = _method_call(node, parents)
            if call is not None and _inert(call.args) and _inert(node.value.args + node.value.keywords):
                # (x is then evaluated before the frozen arguments: where neither can do anything, the same)
                new = _unfrozen(call, node.value, node.value.args, node.value.keywords)
                replace_child(parents[id(call)], call, new)
                changed = True
    stores, loads = {}, {}
    for node in walk(tree):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores).setdefault(node.id, []).append(node)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            for name in node.names:
                stores.setdefault(name, []).extend([node, node])  # (never one binding of its own)
    parents = None
    for name, bound in stores.items():
        # (the parents again after each rewrite: a call of one frozen object may be inside another's,
        # `d.logpdf(d.cdf(x))`, or among the frozen arguments of another, `e = st.norm(d.cdf(0.3))`, moved by its
        # rewrite: adv228)
        if parents is None:
            parents = {id(child): parent for parent in walk(tree) for child in ast.iter_child_nodes(parent)}
        assign = parents.get(id(bound[0]))
        if len(bound) != 1 or not (isinstance(assign, ast.Assign) and len(assign.targets) == 1
                                   and assign.targets[0] is bound[0]):
            continue
        copied = _copied_frozen(assign, stores, loads, parents, pf.resolve_expr, own)
        if copied is not None:  # (`d = make_result` of an inlined helper that returned `st.norm(m, 1.0)`)
            copy_of, assign = assign, copied
        elif _frozen_call(assign.value, pf.resolve_expr, own):
            copy_of = None
        else:
            continue
        calls = [_method_call(parents[id(n)], parents) if isinstance(parents.get(id(n)), ast.Attribute)
                 and parents[id(n)].value is n else None for n in loads.get(name, [])]
        if not calls or any(c is None for c in calls) or name in {a.arg for a in nodes if isinstance(a, ast.arg)}:
            continue
        frozen = assign.value
        names = [alloc.fresh(f"{name}_{i}") for i in range(len(frozen.args))]
        keyword_names = {k.arg: alloc.fresh(f"{name}_{k.arg}") for k in frozen.keywords}
        block, at = _statement_place(assign, parents)
        bindings = [ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store())], value=v)
                    for n, v in zip(names + list(keyword_names.values()),
                                    list(frozen.args) + [k.value for k in frozen.keywords])]
        block[at:at + 1] = [ast.copy_location(b, assign) for b in bindings] or [ast.copy_location(ast.Pass(), assign)]
        if copy_of is not None:
            copy_block, copy_at = _statement_place(copy_of, {id(child): parent for parent in walk(tree)
                                                             for child in ast.iter_child_nodes(parent)})
            copy_block[copy_at] = ast.copy_location(ast.Pass(), copy_of)
        for call in calls[::-1]:  # (the innermost first: an outer call's rewrite holds the inner one rewritten)
            new = _unfrozen(call, frozen, [ast.Name(id=n, ctx=ast.Load()) for n in names],
                            [ast.keyword(arg=k, value=ast.Name(id=n, ctx=ast.Load())) for k, n in keyword_names.items()])
            replace_child(parents[id(call)], call, new)
        changed, parents = True, None
    if changed:
        fix_locations(tree)
    return changed


def _copied_frozen(assign, stores, loads, parents, resolve, own):
    """For `d = other`, where `other` is bound once, to a frozen distribution, and read nowhere else: the
    assignment of `other` (the frozen call is then `d`'s, its arguments evaluated where `other` was bound)."""
    if not isinstance(assign.value, ast.Name):
        return None
    other = assign.value.id
    bound = stores.get(other, [])
    if len(bound) != 1 or len(loads.get(other, [])) != 1:
        return None
    source = parents.get(id(bound[0]))
    if isinstance(source, ast.Assign) and len(source.targets) == 1 and source.targets[0] is bound[0] \
            and _frozen_call(source.value, resolve, own):
        return source
    return None


def _statement_place(stmt, parents):
    """(the statement list holding `stmt`, its index there)."""
    parent = parents[id(stmt)]
    for field in ("body", "orelse", "finalbody"):
        block = getattr(parent, field, None)
        if isinstance(block, list) and any(s is stmt for s in block):
            return block, next(i for i, s in enumerate(block) if s is stmt)
    raise ValueError("a statement outside a statement list")

