"""Rules for Python builtins."""

from s2s.rules import Rule, _key, _registered, defrule, facts, family, nondifferentiable, power_rules
from s2s.rules import result_shapes as shapes

family(elementwise=False)

defrule("abs(x)", tangent_from_adjoint=True, real=True, safe=True, result_shape=shapes.number_of_number,
        x="g * np.sign(x)")
defrule("float(x)", result_shape=shapes.number_of_number, real=shapes.python_float, x="s2s.cast_back(g, x)",
        x_dot="x_dot")
defrule("sum(x, start=0)", x="s2s.grad_builtin_sum(g, x)", start="unbroadcast(g, start)",
        x_dot="s2s.builtin_sum_tangent(x_dot, x)", start_dot="start_dot", result_shape=shapes.builtin_sum)
defrule("max(*args)", args="s2s.grad_select(g, ans, args)", args_dot="s2s.select_tangent(ans, args, args_dot)",
        result_shape=shapes.number_of_numbers, real=shapes.real_of_numbers, result_value=shapes.greatest)
defrule("min(*args)", args="s2s.grad_select(g, ans, args)", args_dot="s2s.select_tangent(ans, args, args_dot)",
        result_shape=shapes.number_of_numbers, real=shapes.real_of_numbers, result_value=shapes.least)
power_rules("pow(x, y)", "x", "y", scalar=True, tangent_from_adjoint=True, y="g * ans * math.log(x) if x > 0 else 0.0")
# divmod(x, y) is (q, x - y * q) with the quotient q piecewise constant
defrule("divmod(x, y)", structured=True, x="s2s.grad_divmod(g, ans, x, 0)", y="s2s.grad_divmod(g, ans, y, 1)",
        x_dot="s2s.divmod_tangent(x_dot, ans, 0)", y_dot="s2s.divmod_tangent(y_dot, ans, 1)")
# list(x) and tuple(x): the same elements (the rows of an array; a dict's keys carry none)
defrule("list(x)", structured=True, x="s2s.grad_as_sequence(g, x)", x_dot="s2s.as_sequence_tangent(x_dot, x, False)")
defrule("tuple(x)", structured=True, x="s2s.grad_as_sequence(g, x)", x_dot="s2s.as_sequence_tangent(x_dot, x, True)")
nondifferentiable("len(x)", result_shape=shapes.number, result_value=shapes.length)
nondifferentiable("int(x)", "bool(x)", "round(x, ndigits=None)", result_shape=shapes.number_of_number)
nondifferentiable("range(*args)",
                  "isinstance(x, t)", "print(*args)", "str(x)", "type(x)")


# methods of lists and dicts that change them in place: refused (transforms/ownership.py), with the hint
facts("list.sort(self)", mutates="use `L = sorted(L)`")
facts("list.reverse(self)", mutates="use `L = L[::-1]`")
facts("list.extend(self, items)", mutates="use `L = L + list(items)`")
facts("list.insert(self, i, v)", mutates="use `L = L[:i] + [v] + L[i:]`")
facts("list.remove(self, v)", mutates="build a new list without the element")
facts("list.clear(self)", mutates="use `L = []`")
facts("dict.update(self, other)", mutates="set the items one at a time: `for k in other: d[k] = other[k]`")
facts("dict.clear(self)", mutates="use `d = {}`")

_PAIRS = "pairs_"
_DICT_OF_PAIRS = defrule(f"dict({_PAIRS})", register=False, structured=True, elementwise=False,
                         **{_PAIRS: f"s2s.grad_dict_pairs(g, {_PAIRS})",
                            f"{_PAIRS}_dot": f"s2s.dict_pairs_tangent({_PAIRS}_dot, {_PAIRS})"})


class _KeywordDictRule(Rule):
    """`dict(a=x, b=y)`: a dict of the keyword arguments. Each call site gets a rule whose parameters are
    its keywords (adjoint: that key's part of the dict's adjoint; tangent: a dict of that key)."""

    _RESERVED = frozenset({"g", "ans", "np", "numpy", "math", "s2s", "unbroadcast", "builtins"})

    def bind(self, args, keywords):
        if len(args) == 1 and not keywords:  # dict(pairs): a list of (key, value), what {k: v for ...} becomes
            return {_PAIRS: args[0]}
        if args:
            raise TypeError("s2s differentiates dict(...) with one list of (key, value) pairs or with keyword "
                            "arguments (dict(a=x, b=y)), not both")
        if any(not isinstance(k, str) for k in keywords):
            raise TypeError("s2s does not differentiate dict(**mapping): write the keys out, dict(a=x, b=y)")
        clash = [k for k in keywords if k in self._RESERVED or k.endswith("_dot") or k == _PAIRS]
        if clash:
            raise TypeError(f"dict() with the keyword {clash[0]!r}: write a dict display {{{clash[0]!r}: ...}}")
        return dict(keywords)

    def at_site(self, bound):
        if not bound:
            return self
        if _PAIRS in bound:
            return _DICT_OF_PAIRS
        return defrule(f"dict({', '.join(bound)})", register=False, structured=True, elementwise=False,
                       **{k: f"s2s.part(g, {k!r})" for k in bound},
                       **{f"{k}_dot": f"{{{k!r}: {k}_dot}}" for k in bound})


_registered(_key(dict), _KeywordDictRule("dict", [], {}, structured=True), dict)
