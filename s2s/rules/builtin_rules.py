"""Rules for Python builtins."""

from s2s.rules import defrule, family, nondifferentiable, power_rules

family(elementwise=False)

defrule("abs(x)", tangent_from_adjoint=True, x="g * np.sign(x)")
defrule("float(x)", tangent_from_adjoint=True, x="g")
defrule("sum(x, start=0)", x="s2s.grad_builtin_sum(g, x)", start="unbroadcast(g, start)",
        x_dot="s2s.builtin_sum_tangent(x_dot, x)", start_dot="start_dot")
defrule("max(*args)", args="s2s.grad_select(g, ans, args)", args_dot="s2s.select_tangent(ans, args, args_dot)")
defrule("min(*args)", args="s2s.grad_select(g, ans, args)", args_dot="s2s.select_tangent(ans, args, args_dot)")
power_rules("pow(x, y)", "x", "y", scalar=True, tangent_from_adjoint=True, y="g * ans * math.log(x) if x > 0 else 0.0")
# divmod(x, y) is (q, x - y * q) with the quotient q piecewise constant
defrule("divmod(x, y)", structured=True, x="s2s.grad_divmod(g, ans, x, 0)", y="s2s.grad_divmod(g, ans, y, 1)",
        x_dot="s2s.divmod_tangent(x_dot, ans, 0)", y_dot="s2s.divmod_tangent(y_dot, ans, 1)")
# list(x) and tuple(x): the same elements (the rows of an array; a dict's keys carry none)
defrule("list(x)", structured=True, x="s2s.grad_as_sequence(g, x)", x_dot="s2s.as_sequence_tangent(x_dot, x, False)")
defrule("tuple(x)", structured=True, x="s2s.grad_as_sequence(g, x)", x_dot="s2s.as_sequence_tangent(x_dot, x, True)")
nondifferentiable("len(x)", "int(x)", "bool(x)", "round(x, ndigits=None)", "range(*args)",
                  "isinstance(x, t)", "print(*args)", "str(x)", "type(x)")
