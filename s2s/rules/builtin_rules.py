"""Rules for Python builtins."""

from s2s.rules import defrule, nondifferentiable

defrule("abs(x)", x="g * np.sign(x)", x_dot="x_dot * np.sign(x)")
defrule("float(x)", x="g", x_dot="x_dot")
defrule("sum(x, start=0)", x="s2s.grad_builtin_sum(g, x)", start="unbroadcast(g, start)",
        x_dot="s2s.builtin_sum_tangent(x_dot, x)", start_dot="start_dot")
defrule("max(*args)", args="s2s.grad_select(g, ans, args)", args_dot="s2s.select_tangent(ans, args, args_dot)")
defrule("min(*args)", args="s2s.grad_select(g, ans, args)", args_dot="s2s.select_tangent(ans, args, args_dot)")
defrule("pow(x, y)", x="g * y * x ** (y - 1)", y="g * ans * math.log(x) if x > 0 else 0.0",
        x_dot="x_dot * y * x ** (y - 1)", y_dot="y_dot * ans * math.log(x) if x > 0 else 0.0")
nondifferentiable("len(x)", "int(x)", "bool(x)", "round(x, ndigits=None)", "range(*args)",
                  "isinstance(x, t)", "print(*args)", "str(x)", "type(x)", "divmod(x, y)")
